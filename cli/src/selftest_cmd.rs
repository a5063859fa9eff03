//! `airlockctl selftest`: proves, from the user's side and right now,
//! that the kill switch holds. Plans the attempts and judges them with
//! `airlock_shared::selftest`, makes them with `probe`, and reads the
//! helper's block counters around each one to tell Airlock's refusal
//! apart from a missing route or a timeout.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use airlock_helper::network::live;
use airlock_shared::ipc::protocol::{RequestBody, ResponseBody};
use airlock_shared::platform::Platform;
use airlock_shared::selftest::{self, Attempt, Report, Target, Verdict};
use anyhow::Context;
use clap::Args;

use crate::helper::{unexpected, Helper};
use crate::probe;

const LONG_ABOUT: &str = "\
Prove that the kill switch holds, right now, on this machine. From every physical
interface, sockets bound to it try TCP, UDP and DNS, over IPv4 and IPv6, to a test
address; each must be refused by Airlock's own rule (its block counter moves) or, for
DNS while blocking, by Airlock's own resolver. When a VPN tunnel is up, the same
attempts through the tunnel must not be refused by Airlock. Needs no root.

The default test addresses are documentation addresses (192.0.2.1, 2001:db8::1),
routed nowhere: if the kill switch let one out, it would go nowhere.";

const EXAMPLES: &str = "\
Examples:
  airlockctl selftest
  airlockctl selftest --json
  airlockctl selftest --target-v4 203.0.113.10 --port 80

Exit status: 0 every check passed, 1 a check failed or nothing could be tested,
2 bad arguments.";

/// Prove that the kill switch blocks traffic outside the tunnel now.
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT, after_long_help = EXAMPLES)]
pub struct SelftestArgs {
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// IPv4 address the attempts go to.
    #[arg(long, value_name = "ADDR", default_value_t = Target::default().v4)]
    target_v4: Ipv4Addr,
    /// IPv6 address the attempts go to.
    #[arg(long, value_name = "ADDR", default_value_t = Target::default().v6)]
    target_v6: Ipv6Addr,
    /// TCP and UDP port of the attempts.
    #[arg(long, value_name = "PORT", default_value_t = Target::default().port)]
    port: u16,
    /// How long one attempt waits for an answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1500)]
    timeout_ms: u64,
}

pub fn run(args: SelftestArgs, socket: &Path) -> anyhow::Result<()> {
    let mut helper = Helper::connect(socket)?;
    let status = helper.status_of(RequestBody::GetStatus)?;
    let patterns = match helper.request(RequestBody::GetSettings)? {
        ResponseBody::Settings(s) => s.tunnel_patterns,
        other => return Err(unexpected("the settings", &other)),
    };
    let snapshot = live::snapshot(Platform::current(), &patterns)
        .context("reading this machine's interfaces")?;
    let target = Target {
        v4: args.target_v4,
        v6: args.target_v6,
        port: args.port,
    };
    let plan = selftest::plan(&status, &snapshot, &target);
    let resolver_active = status.resolver.as_ref().is_some_and(|r| r.active);
    let timeout = Duration::from_millis(args.timeout_ms.max(1));
    let mut checks = Vec::with_capacity(plan.attempts.len());
    for planned in &plan.attempts {
        let before = counters(&mut helper)?;
        let outcome = probe::attempt(planned, timeout, resolver_active);
        let after = counters(&mut helper)?;
        checks.push(selftest::judge(&Attempt {
            what: planned.what(),
            via: planned.via,
            outcome,
            counter_delta: after.saturating_sub(before),
        }));
    }
    let report = Report::new(checks, &plan);
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)
    } else {
        out.write_all(text(&report).as_bytes())
    }
    .context("writing to stdout")?;
    drop(out);
    if !report.pass {
        std::process::exit(1);
    }
    Ok(())
}

/// The block counters now; 0 when none of our rules are loaded (then
/// nothing of ours can have refused anything).
fn counters(helper: &mut Helper) -> anyhow::Result<u64> {
    match helper.request(RequestBody::GetCounters)? {
        ResponseBody::Counters { blocked_packets } => Ok(blocked_packets.unwrap_or(0)),
        other => Err(unexpected("the block counters", &other)),
    }
}

/// The result in plain words: one line per check, then the verdict.
pub fn text(report: &Report) -> String {
    let mut s = String::new();
    if let Some(why) = &report.cannot {
        s.push_str(&format!("Cannot test: {why}\n"));
    }
    for c in &report.checks {
        let mark = if c.pass { "pass" } else { "FAIL" };
        s.push_str(&format!("{mark}  {}: {}\n", c.what, c.words));
    }
    for skipped in &report.skipped {
        s.push_str(&format!("skip  {skipped}\n"));
    }
    s.push_str(&match report.verdict() {
        Verdict::Passed { checks } => {
            format!("Protected: all {checks} checks passed; nothing got out outside the tunnel.\n")
        }
        Verdict::NothingTested => "NOT PROVEN: no check could be made.\n".to_string(),
        Verdict::Failed { failed, checks } => {
            format!(
                "NOT PROTECTED: {} of {checks} checks failed.\n",
                failed.len()
            )
        }
    });
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_shared::selftest::{CheckResult, Plan};

    fn check(what: &str, pass: bool) -> CheckResult {
        CheckResult {
            what: what.into(),
            pass,
            words: if pass {
                "blocked by Airlock's rule"
            } else {
                "got through"
            }
            .into(),
        }
    }

    #[test]
    fn the_verdict_is_the_last_line_and_counts_failures() {
        let plan = Plan::default();
        let ok = Report::new(
            vec![check("TCP over IPv4 on eth0 to 192.0.2.1:443", true)],
            &plan,
        );
        assert_eq!(
            text(&ok),
            "pass  TCP over IPv4 on eth0 to 192.0.2.1:443: blocked by Airlock's rule\n\
             Protected: all 1 checks passed; nothing got out outside the tunnel.\n"
        );
        let bad = Report::new(vec![check("a", true), check("b", false)], &plan);
        assert!(text(&bad).ends_with("NOT PROTECTED: 1 of 2 checks failed.\n"));
        assert!(text(&bad).contains("FAIL  b: got through\n"));
        let none = Report::new(
            vec![],
            &Plan {
                cannot: Some("the kill switch is off".into()),
                ..Plan::default()
            },
        );
        assert_eq!(
            text(&none),
            "Cannot test: the kill switch is off\nNOT PROVEN: no check could be made.\n"
        );
    }
}
