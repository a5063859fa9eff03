//! `airlockctl status [--json]`: the helper's answer to "am I protected?".

use std::io::Write;
use std::path::Path;

use airlock_shared::ipc::protocol::RequestBody;
use anyhow::Context;
use clap::Args;

use crate::helper::Helper;
use crate::status_text::describe;

const LONG_ABOUT: &str = "\
Show whether this machine is protected: the kill switch, the VPN tunnel, the
options, how many VPN servers are let through, the firewall's health (with what to
do about each problem) and the last time someone else changed the rules.

Anyone may run it; no sudo needed.";

const EXAMPLES: &str = "\
Examples:
  airlockctl status
  airlockctl status --json | jq -r .protection

With --json the output is one JSON object (the helper's status), with at least:
  kill_switch       on | off | paused   (paused_until: Unix time the pause ends)
  protection        protected | blocking | off | paused | fault   (reason: why)
  tunnel            {state: up | down, interface, endpoint}
  firewall          {backend, healthy, problems[], last_tamper (Unix time), blocked_packets}
  options           {allow_lan, allow_airdrop, allow_airprint, allow_dns}
  endpoints         how many VPN servers are let through

Exit status: 0 shown (whatever the protection), 1 the helper cannot be asked.";

/// Show whether you are protected (kill switch, tunnel, firewall health).
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT, after_long_help = EXAMPLES)]
pub struct StatusArgs {
    /// Print the helper's status as one JSON object, for scripts.
    #[arg(long)]
    json: bool,
}

pub fn run(args: StatusArgs, socket: &Path) -> anyhow::Result<()> {
    let mut helper = Helper::connect(socket)?;
    let status = helper.status_of(RequestBody::GetStatus)?;
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&status).context("encoding the status")?;
        json.push('\n');
        json
    } else {
        describe(&status, &crate::clock::system())
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing to stdout")
}
