//! The self-test's judgement ("does the kill switch hold, right now?"),
//! pure so every rule of it is tested. The attempts themselves (sockets
//! bound to one interface) are made by platform code; this decides what
//! an attempt's result means.
//!
//! An attempt off the tunnel passes only when Airlock's own rule refused
//! it: the block counter of our rule moved during the attempt and nothing
//! got through. A failure with the counter still is not proof (no route,
//! a timeout, another firewall) and is reported as such. An attempt
//! through the tunnel passes when our rule did not refuse it.
//!
//! Not wired to a command yet.

use serde::{Deserialize, Serialize};

/// What one connection attempt ended in, as the socket reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// TCP connected, or a UDP/DNS answer came back.
    Reached,
    /// Refused at once (EPERM, ECONNREFUSED, a reset, ICMP unreachable).
    Refused,
    /// Nothing came back in time.
    TimedOut,
    /// The kernel had no route for it.
    NoRoute,
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// A physical interface: must be refused by Airlock.
    OffTunnel,
    /// The tunnel: must not be refused by Airlock.
    InTunnel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// "TCP over IPv4 on wlan0 to 192.0.2.1:443".
    pub what: String,
    pub via: Via,
    pub outcome: Outcome,
    /// How far our rule's block counter moved during the attempt.
    pub counter_delta: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub what: String,
    pub pass: bool,
    /// Plain words: what happened and what it means.
    pub words: String,
}

pub fn judge(a: &Attempt) -> CheckResult {
    let ours = a.counter_delta > 0;
    let (pass, words) = match (a.via, &a.outcome, ours) {
        (Via::OffTunnel, Outcome::Reached, _) => (
            false,
            "got through outside the tunnel: the kill switch has a hole".to_string(),
        ),
        (Via::OffTunnel, _, true) => (true, "blocked by Airlock's rule".to_string()),
        (Via::OffTunnel, o, false) => (
            false,
            format!(
                "did not get through ({}), but Airlock's rule did not count it, so this \
                 does not prove the kill switch blocked it",
                describe(o)
            ),
        ),
        (Via::InTunnel, Outcome::Refused, true) => (
            false,
            "refused by Airlock's rule inside the tunnel".to_string(),
        ),
        (Via::InTunnel, o, _) => (true, format!("not refused by Airlock ({})", describe(o))),
    };
    CheckResult {
        what: a.what.clone(),
        pass,
        words,
    }
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Reached => "it got through".into(),
        Outcome::Refused => "refused".into(),
        Outcome::TimedOut => "timed out".into(),
        Outcome::NoRoute => "no route".into(),
        Outcome::Other(e) => e.clone(),
    }
}

/// The whole test passes when every check does (and there was one).
pub fn all_pass(results: &[CheckResult]) -> bool {
    !results.is_empty() && results.iter().all(|r| r.pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(via: Via, outcome: Outcome, counter_delta: u64) -> Attempt {
        Attempt {
            what: "UDP over IPv4 on eth0 to 192.0.2.1:443".into(),
            via,
            outcome,
            counter_delta,
        }
    }

    #[test]
    fn off_tunnel_passes_only_when_our_rule_refused_it() {
        assert!(judge(&attempt(Via::OffTunnel, Outcome::Refused, 1)).pass);
        assert!(judge(&attempt(Via::OffTunnel, Outcome::TimedOut, 2)).pass);
        let hole = judge(&attempt(Via::OffTunnel, Outcome::Reached, 0));
        assert!(!hole.pass);
        assert!(hole.words.contains("hole"), "{}", hole.words);
        // Reached with the counter moving: something else was counted.
        assert!(!judge(&attempt(Via::OffTunnel, Outcome::Reached, 5)).pass);
        for o in [Outcome::NoRoute, Outcome::TimedOut, Outcome::Refused] {
            let r = judge(&attempt(Via::OffTunnel, o, 0));
            assert!(!r.pass, "not ours, not proof: {}", r.words);
        }
    }

    #[test]
    fn in_tunnel_fails_only_when_our_rule_refused_it() {
        assert!(judge(&attempt(Via::InTunnel, Outcome::Reached, 0)).pass);
        assert!(judge(&attempt(Via::InTunnel, Outcome::TimedOut, 0)).pass);
        assert!(judge(&attempt(Via::InTunnel, Outcome::Refused, 0)).pass);
        assert!(!judge(&attempt(Via::InTunnel, Outcome::Refused, 1)).pass);
    }

    #[test]
    fn no_checks_is_no_pass() {
        assert!(!all_pass(&[]));
        let ok = judge(&attempt(Via::OffTunnel, Outcome::Refused, 1));
        let bad = judge(&attempt(Via::OffTunnel, Outcome::Reached, 0));
        assert!(all_pass(std::slice::from_ref(&ok)));
        assert!(!all_pass(&[ok, bad]));
    }
}
