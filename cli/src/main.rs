//! `airlockctl`: Airlock's command-line client. Thin over the `airlock`
//! library: each subcommand lives in its own file and returns
//! `anyhow::Result`; this file only parses arguments, dispatches, and
//! turns errors into one stderr line and an exit status.
//!
//! To add a subcommand: a variant in [`Command`] holding its clap `Args`
//! struct, a file `NAME_cmd.rs` with `pub fn run(args) -> anyhow::Result<()>`,
//! and one arm in [`run`].

mod exit;
mod interfaces_arg;
mod render_cmd;

use clap::{Parser, Subcommand};

use exit::BadInput;

#[derive(Debug, Parser)]
#[command(
    name = "airlockctl",
    version,
    about = "Command-line client for Airlock, the VPN kill switch",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Render(render_cmd::RenderArgs),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Render(args) => render_cmd::run(args),
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
