//! `airlockctl blocked`: what the kill switch refused recently, by whom.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use airlock_shared::blocked::suggest::{self, Suggestion};
use airlock_shared::blocked::words::{line, text};
use airlock_shared::blocked::{BlockedEntry, BlockedReport};
use airlock_shared::ipc::protocol::{RequestBody, ResponseBody};
use airlock_shared::status::Protection;
use anyhow::Context;
use clap::Args;

use crate::helper::{unexpected, Helper};

/// Show what the kill switch blocked recently.
#[derive(Debug, Args)]
#[command(
    long_about = "Show what Airlock's firewall refused recently: destination, port, \
protocol, direction, interface, who sent it (the user id on Linux) and how often, \
then what to do about it where the answer is obvious (DNS or a VPN server blocked \
while the VPN is down). The helper keeps a bounded table in memory (nothing is written to disk); the kernel \
logs at most a sample per second, so counts under a flood are a lower bound.",
    after_long_help = "Examples:\n  airlockctl blocked\n  airlockctl blocked --json\n  \
airlockctl blocked --follow\n\n\
Exit status: 0 printed, 1 the helper cannot be asked."
)]
pub struct BlockedArgs {
    /// Print the helper's answer as JSON.
    #[arg(long)]
    json: bool,
    /// Keep printing rows as they are blocked (every 2 seconds) until interrupted.
    #[arg(long)]
    follow: bool,
}

fn fetch(helper: &mut Helper) -> anyhow::Result<BlockedReport> {
    match helper.request(RequestBody::GetBlocked)? {
        ResponseBody::Blocked(r) => Ok(r),
        other => Err(unexpected("the blocked list", &other)),
    }
}

pub fn run(args: BlockedArgs, socket: &Path) -> anyhow::Result<()> {
    let mut helper = Helper::connect(socket)?;
    let mut out = std::io::stdout().lock();
    let report = fetch(&mut helper)?;
    let now = crate::clock::now_ms();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?).context("writing to stdout")?;
    } else {
        let suggestions = suggestions(&mut helper, &report)?;
        out.write_all(text(&report, &suggestions, now).as_bytes())
            .context("writing to stdout")?;
    }
    if !args.follow {
        return Ok(());
    }
    let mut seen = report
        .entries
        .iter()
        .map(|e| e.last_seen_ms)
        .max()
        .unwrap_or(0);
    loop {
        std::thread::sleep(Duration::from_secs(2));
        let report = fetch(&mut helper)?;
        let now = crate::clock::now_ms();
        let mut fresh: Vec<&BlockedEntry> = report
            .entries
            .iter()
            .filter(|e| e.last_seen_ms > seen)
            .collect();
        fresh.reverse(); // oldest first, like a log
        for e in &fresh {
            if args.json {
                writeln!(out, "{}", serde_json::to_string(e)?)
            } else {
                writeln!(out, "{}", line(e, now))
            }
            .context("writing to stdout")?;
        }
        seen = seen.max(fresh.iter().map(|e| e.last_seen_ms).max().unwrap_or(0));
    }
}

/// The suggestions for this report, judged against the helper's state
/// now (see `airlock_shared::blocked::suggest`).
fn suggestions(helper: &mut Helper, report: &BlockedReport) -> anyhow::Result<Vec<Suggestion>> {
    let status = helper.status_of(RequestBody::GetStatus)?;
    let allowed = match helper.request(RequestBody::ListEndpoints)? {
        ResponseBody::Endpoints(list) => list,
        other => return Err(unexpected("the allowed servers", &other)),
    };
    Ok(suggest::suggest(
        &report.entries,
        &suggest::Context {
            blocking: status.protection == Protection::Blocking,
            allow_dns: status.options.allow_dns,
            allowed: &allowed,
        },
    ))
}
