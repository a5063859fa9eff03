//! When to interrupt the user. [`decide`] is a pure function of the
//! previous and the new status, so every rule is a table row in a test.
//!
//! Only things the user did not just do themselves, and that change what
//! their traffic is doing, earn a notification: the VPN dropping while the
//! kill switch blocks (and coming back), a pause running out, someone
//! tampering with the rules, a fault and its end. Turning the kill switch
//! on or off from the menu does not: the icon already answered the click.

use airlock_shared::status::{KillSwitch, Protection, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    VpnDropped,
    VpnRestored,
    PauseEnded,
    Tampered,
    Fault,
    FaultCleared,
    /// A change the user asked for was refused.
    Refused,
    /// The kill switch was asked on with no VPN server allowed: the
    /// menu asks what to do.
    NoServerAllowed,
    /// "Test Protection" finished.
    ProtectionTest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    /// Shown until dismissed: traffic is blocked or unprotected.
    pub urgent: bool,
}

/// Slack for "the pause ran out by itself": the helper's timer and our
/// clock may disagree by a moment.
const PAUSE_SLACK_SECS: u64 = 5;

/// `now` (Unix seconds) tells a pause that ran out from one the user ended
/// early with "Resume Now", which needs no notification.
pub fn decide(prev: &Status, new: &Status, now: u64) -> Option<Notification> {
    if tampered(prev, new) {
        let body = if new.protection == Protection::Fault {
            format!("The rules are not in place: {}", fault_reason(new))
        } else {
            "Another program changed or removed Airlock's firewall rules; Airlock put them back."
                .to_string()
        };
        return Some(Notification {
            kind: NotificationKind::Tampered,
            title: "Firewall rules were tampered with".into(),
            body,
            urgent: new.protection == Protection::Fault,
        });
    }
    if new.protection == Protection::Fault && prev.protection != Protection::Fault {
        return Some(Notification {
            kind: NotificationKind::Fault,
            title: "Kill switch fault — traffic may not be protected".into(),
            body: fault_reason(new),
            urgent: true,
        });
    }
    if prev.protection == Protection::Fault
        && matches!(new.protection, Protection::Protected | Protection::Blocking)
    {
        return Some(Notification {
            kind: NotificationKind::FaultCleared,
            title: "Kill switch working again".into(),
            body: after_state(new),
            urgent: false,
        });
    }
    if prev.kill_switch == KillSwitch::Paused && new.kill_switch == KillSwitch::On {
        let ran_out = prev
            .paused_until
            .is_some_and(|t| now.saturating_add(PAUSE_SLACK_SECS) >= t);
        return ran_out.then(|| Notification {
            kind: NotificationKind::PauseEnded,
            title: "Pause over — kill switch is back on".into(),
            body: after_state(new),
            urgent: new.protection == Protection::Blocking,
        });
    }
    match (prev.protection, new.protection) {
        (Protection::Protected, Protection::Blocking) => Some(Notification {
            kind: NotificationKind::VpnDropped,
            title: "VPN disconnected — traffic blocked".into(),
            body: "Airlock blocks internet traffic until the VPN is back.".into(),
            urgent: true,
        }),
        (Protection::Blocking, Protection::Protected) => Some(Notification {
            kind: NotificationKind::VpnRestored,
            title: "VPN connected — traffic protected".into(),
            body: after_state(new),
            urgent: false,
        }),
        _ => None,
    }
}

/// A refused change, for the user who clicked and whose menu has closed.
pub fn refused(text: &str) -> Notification {
    Notification {
        kind: NotificationKind::Refused,
        title: "Airlock did not make the change".into(),
        body: text.to_string(),
        urgent: false,
    }
}

/// The "no VPN server" question, for the user whose menu closed on the
/// click; the choices are in the menu.
pub fn no_server_allowed(question: &str) -> Notification {
    Notification {
        kind: NotificationKind::NoServerAllowed,
        title: "Airlock did not turn on the kill switch yet".into(),
        body: format!("{question} Open the Airlock menu to choose."),
        urgent: false,
    }
}

/// A new tamper timestamp; the first status we see after a tamper that
/// happened before we started does not count (it is old news).
fn tampered(prev: &Status, new: &Status) -> bool {
    match (prev.firewall.last_tamper, new.firewall.last_tamper) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(a), Some(b)) => b > a,
    }
}

fn fault_reason(s: &Status) -> String {
    s.reason
        .clone()
        .or_else(|| s.firewall.issues().next())
        .unwrap_or_else(|| "the firewall rules are not in place".into())
}

fn after_state(s: &Status) -> String {
    match s.protection {
        Protection::Protected => match &s.tunnel.interface {
            Some(i) => format!("Traffic goes through the VPN ({i})."),
            None => "Traffic goes through the VPN.".into(),
        },
        Protection::Blocking => "The VPN is down: internet traffic is blocked.".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_test_support::status::{for_protection as status, PAUSE_END};
    use NotificationKind as N;
    use Protection as P;

    const ALL: [Protection; 5] = [P::Protected, P::Blocking, P::Off, P::Paused, P::Fault];

    /// Every pair of states, with the pause (if any) having run out.
    #[test]
    fn every_transition_between_states() {
        let expected = |from: P, to: P| -> Option<N> {
            match (from, to) {
                (a, b) if a == b => None,
                (P::Fault, P::Protected | P::Blocking) => Some(N::FaultCleared),
                (_, P::Fault) => Some(N::Fault),
                (P::Paused, P::Protected | P::Blocking) => Some(N::PauseEnded),
                (P::Protected, P::Blocking) => Some(N::VpnDropped),
                (P::Blocking, P::Protected) => Some(N::VpnRestored),
                _ => None,
            }
        };
        let mut rows = 0;
        for from in ALL {
            for to in ALL {
                let got = decide(&status(from), &status(to), PAUSE_END).map(|n| n.kind);
                assert_eq!(got, expected(from, to), "{from:?} -> {to:?}");
                rows += 1;
            }
        }
        assert_eq!(rows, 25);
    }

    #[test]
    fn vpn_drop_wording_and_urgency() {
        let n = decide(&status(P::Protected), &status(P::Blocking), 0).unwrap();
        assert_eq!(n.title, "VPN disconnected — traffic blocked");
        assert!(n.urgent);
        let n = decide(&status(P::Blocking), &status(P::Protected), 0).unwrap();
        assert_eq!(n.title, "VPN connected — traffic protected");
        assert_eq!(n.body, "Traffic goes through the VPN (utun4).");
        assert!(!n.urgent);
    }

    #[test]
    fn resuming_early_is_not_announced_but_running_out_is() {
        let (paused, protected) = (status(P::Paused), status(P::Protected));
        assert_eq!(decide(&paused, &protected, PAUSE_END - 120), None);
        let n = decide(&paused, &protected, PAUSE_END - 2).unwrap();
        assert_eq!(n.kind, N::PauseEnded);
        let n = decide(&paused, &status(P::Blocking), PAUSE_END + 1).unwrap();
        assert_eq!(n.kind, N::PauseEnded);
        assert!(n.urgent, "back to blocking: the internet just went off");
        assert_eq!(n.body, "The VPN is down: internet traffic is blocked.");
        // Turned off while paused: the user's doing.
        assert_eq!(decide(&paused, &status(P::Off), PAUSE_END + 1), None);
    }

    #[test]
    fn tampering_is_announced_once_per_new_timestamp() {
        let mut before = status(P::Protected);
        let mut after = status(P::Protected);
        after.firewall.last_tamper = Some(1000);
        let n = decide(&before, &after, 0).unwrap();
        assert_eq!(n.kind, N::Tampered);
        assert!(!n.urgent, "rules restored: informative");
        assert_eq!(decide(&after, &after, 0), None, "same tamper again");
        before.firewall.last_tamper = Some(1000);
        after.firewall.last_tamper = Some(2000);
        assert_eq!(decide(&before, &after, 0).unwrap().kind, N::Tampered);
        // A tamper that left a fault outranks the plain fault message.
        let mut faulty = status(P::Fault);
        faulty.firewall.last_tamper = Some(3000);
        let n = decide(&after, &faulty, 0).unwrap();
        assert_eq!(n.kind, N::Tampered);
        assert!(n.urgent);
        assert!(n.body.contains("the nftables table airlock is missing"));
        // An older timestamp (helper restarted with stale state) is not news.
        let mut older = status(P::Protected);
        older.firewall.last_tamper = Some(500);
        assert_eq!(decide(&after, &older, 0), None);
    }

    #[test]
    fn fault_carries_its_reason() {
        let n = decide(&status(P::Protected), &status(P::Fault), 0).unwrap();
        assert_eq!(n.body, "the nftables table airlock is missing");
        assert!(n.urgent);
    }

    #[test]
    fn unrelated_changes_are_quiet() {
        let a = status(P::Protected);
        let mut b = a.clone();
        b.options.allow_lan = true;
        b.firewall.blocked_packets = 99;
        b.endpoints = 3;
        b.tunnel.interface = Some("tun0".into());
        assert_eq!(decide(&a, &b, 0), None);
    }
}
