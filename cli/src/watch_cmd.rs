//! `airlockctl watch [--json]`: the helper's status stream, one line per
//! change, written and flushed the moment it arrives (scripts and the
//! end-to-end tests time events by it).

use std::io::{self, Write};
use std::path::Path;

use airlock_client::ClientError;
use airlock_shared::platform::Platform;
use airlock_shared::status::Status;
use airlock_shared::time::Clock;
use anyhow::Context;
use clap::Args;

use crate::helper::{explain, Helper};
use crate::status_text::event_line;

/// Follow the status: one line per change, until interrupted.
#[derive(Debug, Args)]
#[command(
    long_about = "Follow the helper's status: print the current status, then one line each \
time it changes (tunnel up or down, kill switch changed, pause over, rules tampered with), \
until interrupted or the helper stops. Each line is written at once, so it can be piped.",
    after_long_help = "Examples:\n  airlockctl watch\n  airlockctl watch --json | jq -r .protection\n\n\
Text lines start with the local time the change arrived. With --json every line is one \
JSON object (the same fields as `airlockctl status --json`) and nothing else is printed.\n\n\
Exit status: 1 when the helper cannot be reached or closes the stream; 0 when the reader of \
the output goes away."
)]
pub struct WatchArgs {
    /// One JSON status object per line.
    #[arg(long)]
    json: bool,
}

/// How one status becomes one line.
fn line(status: &Status, json: bool, clock: &Clock) -> anyhow::Result<String> {
    if json {
        serde_json::to_string(status).context("encoding the status")
    } else {
        let at = clock.time_of_day(clock.now);
        Ok(format!("{at}  {}", event_line(status, clock)))
    }
}

/// Writes and flushes one line. `Ok(false)` when stdout is gone (`watch |
/// head -1`): that reader is done, which is not an error.
fn emit(out: &mut impl Write, text: &str) -> anyhow::Result<bool> {
    let written = out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("writing to stdout"),
    }
}

pub fn run(args: WatchArgs, socket: &Path) -> anyhow::Result<()> {
    let (client, path) = Helper::connect(socket)?.into_client();
    let fail = |e: ClientError| anyhow::anyhow!(explain(&e, &path, Platform::current()));
    let (first, events) = client.subscribe().map_err(fail)?;
    let mut out = io::stdout().lock();
    if !emit(&mut out, &line(&first, args.json, &crate::clock::system())?)? {
        return Ok(());
    }
    for event in events {
        let status = event.map_err(fail)?;
        if !emit(
            &mut out,
            &line(&status, args.json, &crate::clock::system())?,
        )? {
            return Ok(());
        }
    }
    anyhow::bail!("the Airlock helper closed the status stream (stopped or restarted?)")
}
