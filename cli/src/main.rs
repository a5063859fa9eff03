//! `airlockctl`: Airlock's command-line client. Thin over the `airlock`
//! library: each subcommand lives in its own file and returns
//! `anyhow::Result`; this file only parses arguments, dispatches, and
//! turns errors into one stderr line and an exit status.
//!
//! To add a subcommand: a variant in [`Command`] holding its clap `Args`
//! struct, a file `NAME_cmd.rs` with `pub fn run(args, ...) -> anyhow::Result<()>`,
//! and one arm in [`run`].

mod blocked_cmd;
mod change_cmd;
mod clock;
mod doctor;
mod doctor_cmd;
mod duration;
mod endpoints_cmd;
mod exit;
mod helper;
mod interfaces_arg;
mod probe;
mod render_cmd;
mod rules_cmd;
mod selftest_cmd;
mod status_cmd;
mod status_text;
mod vpn_daemons;
mod watch_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use change_cmd::Change;
use exit::BadInput;

const AFTER_HELP: &str = "\
Reading (status, watch, rules, endpoints list, doctor, blocked, selftest) is open to
every local user; changes (enable, disable, set, pause, resume, endpoints
add/remove/import) need root or the helper's admin group: use sudo. `airlockctl COMMAND --help` tells more.

Exit status: 0 ok, 1 refused or failed (one line on stderr says why), 2 bad arguments.";

#[derive(Debug, Parser)]
#[command(
    name = "airlockctl",
    version,
    about = "Command-line client for Airlock, the VPN kill switch",
    after_help = AFTER_HELP,
    propagate_version = true
)]
struct Cli {
    /// The helper's socket [default: $AIRLOCK_SOCKET, else /run/airlock/airlock.sock
    /// on Linux, /var/run/airlock.sock on macOS].
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Status(status_cmd::StatusArgs),
    Enable(change_cmd::EnableArgs),
    Disable(change_cmd::DisableArgs),
    Set(change_cmd::SetArgs),
    Pause(change_cmd::PauseArgs),
    Resume(change_cmd::ResumeArgs),
    Endpoints(endpoints_cmd::EndpointsArgs),
    Rules(rules_cmd::RulesArgs),
    Watch(watch_cmd::WatchArgs),
    Doctor(doctor_cmd::DoctorArgs),
    Render(render_cmd::RenderArgs),
    Blocked(blocked_cmd::BlockedArgs),
    Selftest(selftest_cmd::SelftestArgs),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let socket = helper::socket_path(cli.socket.as_deref());
    match cli.command {
        Command::Status(args) => status_cmd::run(args, &socket),
        Command::Enable(_) => change_cmd::run(Change::Enable, &socket),
        Command::Disable(_) => change_cmd::run(Change::Disable, &socket),
        Command::Set(args) => change_cmd::run(Change::Set(args), &socket),
        Command::Pause(args) => change_cmd::run(Change::Pause(args), &socket),
        Command::Resume(_) => change_cmd::run(Change::Resume, &socket),
        Command::Endpoints(args) => endpoints_cmd::run(args, &socket),
        Command::Rules(args) => rules_cmd::run(args, &socket),
        Command::Watch(args) => watch_cmd::run(args, &socket),
        Command::Doctor(args) => doctor_cmd::run(args, &socket),
        Command::Render(args) => render_cmd::run(args),
        Command::Blocked(args) => blocked_cmd::run(args, &socket),
        Command::Selftest(args) => selftest_cmd::run(args, &socket),
    }
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => exit::clap_error(e),
    };
    if let Err(e) = run(cli) {
        let status = if e.is::<BadInput>() { 2 } else { 1 };
        exit::fail(status, &format!("{e:#}"));
    }
}
