//! "Test Protection": what the menu and the notification say about a
//! self-test run (`airlockctl selftest --json`, run by `crate::selftest_run`
//! off the UI thread). Pure, so every wording is a test row.

use airlock_shared::selftest::{Report, Verdict};
use airlock_shared::status::Protection;

use crate::ui::notify_rules::{Notification, NotificationKind};

/// The self-test from the menu: running, or its last result, kept while
/// the protection state is the one it was run in (a result about
/// "Blocking" says nothing once the VPN is up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtectionTest {
    Running,
    Done {
        /// The report, or why there is none (airlockctl missing, ...).
        result: Result<Report, String>,
        protection: Protection,
    },
}

pub const RUNNING: &str = "Testing protection…";

/// The one line under the status line.
pub fn line(t: &ProtectionTest) -> String {
    match t {
        ProtectionTest::Running => RUNNING.into(),
        ProtectionTest::Done { result, .. } => match result {
            Err(e) => format!("Couldn't test protection: {e}"),
            Ok(r) => summary(r),
        },
    }
}

/// "Protection test: all 6 checks passed", "Protection test: 1 of 6
/// FAILED: UDP over IPv4 on eth0 to 192.0.2.1:443: got through …".
pub fn summary(r: &Report) -> String {
    match (r.verdict(), &r.cannot) {
        (Verdict::NothingTested, Some(why)) => format!("Protection test: nothing tested — {why}"),
        (Verdict::NothingTested, None) => "Protection test: nothing could be tested".into(),
        (Verdict::Passed { checks }, _) => format!("Protection test: all {checks} checks passed"),
        (Verdict::Failed { failed, checks }, _) => format!(
            "Protection test: {} of {checks} FAILED: {}: {}",
            failed.len(),
            failed[0].what,
            failed[0].words
        ),
    }
}

/// The notification for a finished run: the menu closed on the click.
/// Urgent when a check failed: something may be getting out.
pub fn notification(result: &Result<Report, String>) -> Notification {
    let (title, urgent) = match result.as_ref().map(Report::verdict) {
        Ok(Verdict::Passed { .. }) => ("Protection test passed", false),
        Ok(Verdict::Failed { .. }) => ("Protection test FAILED", true),
        Ok(Verdict::NothingTested) => ("Protection test: nothing tested", false),
        Err(_) => ("Protection test did not run", false),
    };
    let body = match result {
        Err(e) => format!("Couldn't test protection: {e}"),
        Ok(r) => {
            let mut lines = vec![summary(r)];
            lines.extend(
                r.checks
                    .iter()
                    .filter(|c| !c.pass)
                    .map(|c| format!("{}: {}", c.what, c.words)),
            );
            lines.join("\n")
        }
    };
    Notification {
        kind: NotificationKind::ProtectionTest,
        title: title.into(),
        body,
        urgent,
    }
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
                "blocked by Airlock's rule".into()
            } else {
                "got through outside the tunnel: the kill switch has a hole".into()
            },
        }
    }

    fn report(passes: &[bool]) -> Report {
        let checks = passes
            .iter()
            .enumerate()
            .map(|(i, p)| check(&format!("UDP over IPv4 on eth{i} to 192.0.2.1:443"), *p))
            .collect();
        Report::new(checks, &Plan::default())
    }

    #[test]
    fn every_outcome_in_one_line() {
        let done = |r: Result<Report, String>| ProtectionTest::Done {
            result: r,
            protection: Protection::Blocking,
        };
        assert_eq!(line(&ProtectionTest::Running), "Testing protection…");
        assert_eq!(
            line(&done(Ok(report(&[true; 6])))),
            "Protection test: all 6 checks passed"
        );
        assert_eq!(
            line(&done(Ok(report(&[true, true, false, true, true, true])))),
            "Protection test: 1 of 6 FAILED: UDP over IPv4 on eth2 to 192.0.2.1:443: \
             got through outside the tunnel: the kill switch has a hole"
        );
        let off = Report::new(
            vec![],
            &Plan {
                cannot: Some("the kill switch is off".into()),
                ..Plan::default()
            },
        );
        assert_eq!(
            line(&done(Ok(off))),
            "Protection test: nothing tested — the kill switch is off"
        );
        assert_eq!(
            line(&done(Ok(report(&[])))),
            "Protection test: nothing could be tested"
        );
        assert_eq!(
            line(&done(Err("airlockctl is not installed".into()))),
            "Couldn't test protection: airlockctl is not installed"
        );
    }

    #[test]
    fn a_failure_is_urgent_and_lists_what_failed() {
        let n = notification(&Ok(report(&[true; 6])));
        assert_eq!(
            (n.title.as_str(), n.body.as_str(), n.urgent),
            (
                "Protection test passed",
                "Protection test: all 6 checks passed",
                false
            )
        );
        let n = notification(&Ok(report(&[false, true, false])));
        assert!(n.urgent);
        assert_eq!(n.title, "Protection test FAILED");
        assert_eq!(n.body.lines().count(), 3, "{}", n.body);
        let n = notification(&Err("no airlockctl".into()));
        assert!(!n.urgent);
        assert_eq!(n.body, "Couldn't test protection: no airlockctl");
    }
}
