//! `airlockctl doctor`: gathers the facts (stat the socket, ask the
//! helper, look for the firewall tool) and prints [`doctor::judge`]'s
//! verdicts.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use airlock_shared::ipc::protocol::RequestBody;
use airlock_shared::platform::Platform;
use anyhow::Context;
use clap::Args;

use crate::doctor::{self, backend_program, find_program, search_dirs, Facts, FileFacts, Level};
use crate::helper::Helper;

/// Check the helper, its socket, the firewall and the rules; say how to fix each.
#[derive(Debug, Args)]
#[command(
    long_about = "Check that Airlock can protect this machine, one line per check:\n\
\n  ok|warn|FAIL  CHECK  what was found, and what to do about it\n\n\
Checks: the helper answers on its socket; the socket's owner and permissions (and its \
directory's) keep impostors out and let users read status; the firewall tool (nft on \
Linux, pfctl on macOS) is installed; the helper's rules are loaded and verified (each \
problem it reports is a FAIL line with its fix); the kill switch state, VPN servers let \
through, and the last time someone else changed the rules.",
    after_long_help = "Examples:\n  airlockctl doctor\n  sudo airlockctl doctor\n\n\
Exit status: 0 no FAIL line (warnings allowed), 1 at least one FAIL."
)]
pub struct DoctorArgs {}

fn file_facts(path: &Path) -> Option<FileFacts> {
    let m = std::fs::symlink_metadata(path).ok()?;
    Some(FileFacts {
        is_socket: m.file_type().is_socket(),
        mode: m.mode(),
        uid: m.uid(),
    })
}

pub fn run(_args: DoctorArgs, socket: &Path) -> anyhow::Result<()> {
    let platform = Platform::current();
    let helper = Helper::connect(socket).and_then(|mut h| {
        let status = h.status_of(RequestBody::GetStatus)?;
        Ok((h.server().to_string(), status))
    });
    let socket_dir = socket
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .and_then(|d| file_facts(d).map(|f| (d.to_path_buf(), f)));
    let program = backend_program(platform);
    let path_var = std::env::var_os("PATH");
    let facts = Facts {
        platform,
        socket_path: socket.to_path_buf(),
        socket: file_facts(socket),
        socket_dir,
        helper: helper.map_err(|e| format!("{e:#}")),
        backend: (
            program,
            find_program(program, &search_dirs(path_var.as_deref())),
        ),
        vpn_daemons: crate::vpn_daemons::running(),
    };
    let checks = doctor::judge(&facts, &crate::clock::system());
    std::io::stdout()
        .lock()
        .write_all(doctor::format(&checks).as_bytes())
        .context("writing to stdout")?;
    let failed = checks.iter().filter(|c| c.level == Level::Fail).count();
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} checks failed (the FAIL lines above say how to fix them)",
            checks.len()
        );
    }
    Ok(())
}
