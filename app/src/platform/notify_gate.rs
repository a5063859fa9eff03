//! Whether a native notification may be shown now, and when to ask for
//! permission. The macOS shim (`macos/notify_macos.rs`) only reports what
//! the system says and carries out the [`Effect`] decided here, so every
//! rule is tested on Linux.
//!
//! - Running unbundled (`cargo run`, a bare binary), `NSBundle mainBundle`
//!   has no bundle identifier, and UserNotifications is reported to raise
//!   an Objective-C exception then (`bundleProxyForCurrentProcess is nil`),
//!   which would abort the app: such a run takes the [`Route::Fallback`]
//!   and never touches UserNotifications.
//! - Permission is asked once per run, the first time there is something
//!   to say, not at start: the prompt then comes with a reason. The
//!   notification that prompted it is held and shown if the user allows.
//!   The system remembers the answer; it never prompts twice anyway.
//! - Denied (now or later, in System Settings → Notifications): nothing
//!   is shown and nothing is asked. The menu's status line and icon say
//!   everything a notification would, so nothing is lost but the nudge.

use crate::ui::notify_rules::{Notification, NotificationKind};

/// What the system says about Airlock's notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Never asked (or the answer is not known yet).
    NotDetermined,
    Denied,
    /// Authorized, provisional or ephemeral: notifications are delivered.
    Allowed,
}

/// Where notifications go in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// UserNotifications: shown as Airlock, with its icon.
    Native,
    /// No bundle identifier: UserNotifications would abort the app.
    Fallback,
}

/// `bundle_identifier` is `NSBundle.mainBundle.bundleIdentifier`.
pub fn route(bundle_identifier: Option<&str>) -> Route {
    match bundle_identifier {
        Some(id) if !id.trim().is_empty() => Route::Native,
        _ => Route::Fallback,
    }
}

/// What to do with one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Show(Notification),
    /// Ask for permission; the notification waits for the answer.
    Ask,
    /// Nothing, while the permission is being asked (it waits).
    Wait,
    /// Not shown, and why (for the log).
    Skip(&'static str),
}

/// The state of asking, for one run of the app.
#[derive(Debug, Default)]
pub struct Gate {
    asked: bool,
    waiting: bool,
    pending: Option<Notification>,
}

impl Gate {
    pub const fn new() -> Gate {
        Gate {
            asked: false,
            waiting: false,
            pending: None,
        }
    }

    /// A notification to show, with the permission the system reports now.
    pub fn offer(&mut self, n: Notification, permission: Permission) -> Effect {
        match permission {
            Permission::Allowed => Effect::Show(n),
            Permission::Denied => {
                Effect::Skip("notifications are turned off for Airlock; the menu shows the status")
            }
            Permission::NotDetermined if self.waiting => {
                self.hold(n);
                Effect::Wait
            }
            Permission::NotDetermined if self.asked => {
                Effect::Skip("permission was asked once this run and not given")
            }
            Permission::NotDetermined => {
                self.asked = true;
                self.waiting = true;
                self.hold(n);
                Effect::Ask
            }
        }
    }

    /// The user's answer: the held notification, if it may be shown.
    pub fn answered(&mut self, granted: bool) -> Option<Notification> {
        self.waiting = false;
        let held = self.pending.take();
        held.filter(|_| granted)
    }

    /// One notification waits: the newest, unless that would drop an
    /// urgent one (traffic blocked or unprotected) for a calm one.
    fn hold(&mut self, n: Notification) {
        let keep_old = self
            .pending
            .as_ref()
            .is_some_and(|old| old.urgent && !n.urgent);
        if !keep_old {
            self.pending = Some(n);
        }
    }
}

/// The request identifier: one per kind, so a newer notification of a kind
/// replaces the older one in Notification Center instead of piling up.
pub fn identifier(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::VpnDropped => "org.airlock.app.vpn-dropped",
        NotificationKind::VpnRestored => "org.airlock.app.vpn-restored",
        NotificationKind::PauseEnded => "org.airlock.app.pause-ended",
        NotificationKind::Tampered => "org.airlock.app.tampered",
        NotificationKind::Fault => "org.airlock.app.fault",
        NotificationKind::FaultCleared => "org.airlock.app.fault-cleared",
        NotificationKind::Refused => "org.airlock.app.refused",
        NotificationKind::NoServerAllowed => "org.airlock.app.no-server-allowed",
        NotificationKind::ProtectionTest => "org.airlock.app.protection-test",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(kind: NotificationKind, urgent: bool) -> Notification {
        Notification {
            kind,
            title: format!("{kind:?}"),
            body: String::new(),
            urgent,
        }
    }

    #[test]
    fn unbundled_runs_never_touch_user_notifications() {
        assert_eq!(route(Some("org.airlock.app")), Route::Native);
        assert_eq!(route(None), Route::Fallback);
        assert_eq!(route(Some("")), Route::Fallback);
        assert_eq!(route(Some("  ")), Route::Fallback);
    }

    #[test]
    fn asked_once_at_the_first_notification_which_is_shown_if_allowed() {
        let mut gate = Gate::new();
        let first = note(NotificationKind::VpnDropped, true);
        assert_eq!(
            gate.offer(first.clone(), Permission::NotDetermined),
            Effect::Ask
        );
        // More arrives before the answer: it waits, no second prompt.
        let calm = note(NotificationKind::Tampered, false);
        assert_eq!(gate.offer(calm, Permission::NotDetermined), Effect::Wait);
        assert_eq!(gate.answered(true), Some(first), "the urgent one is kept");
        assert_eq!(gate.answered(true), None, "shown once");
        let later = note(NotificationKind::VpnRestored, false);
        assert_eq!(
            gate.offer(later.clone(), Permission::Allowed),
            Effect::Show(later)
        );
    }

    #[test]
    fn a_newer_notification_replaces_a_held_one_of_the_same_urgency() {
        let mut gate = Gate::new();
        gate.offer(
            note(NotificationKind::Tampered, false),
            Permission::NotDetermined,
        );
        let newer = note(NotificationKind::Fault, true);
        gate.offer(newer.clone(), Permission::NotDetermined);
        assert_eq!(gate.answered(true), Some(newer));
    }

    #[test]
    fn denied_shows_nothing_and_never_asks_again() {
        let mut gate = Gate::new();
        assert_eq!(
            gate.offer(
                note(NotificationKind::Fault, true),
                Permission::NotDetermined
            ),
            Effect::Ask
        );
        assert_eq!(gate.answered(false), None);
        // The system now says denied; or still "not determined" (the
        // request failed): either way, no second prompt in this run.
        assert!(matches!(
            gate.offer(note(NotificationKind::Fault, true), Permission::Denied),
            Effect::Skip(_)
        ));
        assert!(matches!(
            gate.offer(
                note(NotificationKind::Fault, true),
                Permission::NotDetermined
            ),
            Effect::Skip(_)
        ));
        // Turned on later in System Settings: shown again.
        let n = note(NotificationKind::VpnDropped, true);
        assert_eq!(gate.offer(n.clone(), Permission::Allowed), Effect::Show(n));
    }

    #[test]
    fn denied_from_the_start_never_prompts() {
        let mut gate = Gate::new();
        let effect = gate.offer(note(NotificationKind::Fault, true), Permission::Denied);
        let Effect::Skip(why) = effect else {
            panic!("{effect:?}");
        };
        assert!(why.contains("menu"), "{why}");
        assert_eq!(gate.answered(true), None, "nothing was held");
    }

    #[test]
    fn each_kind_has_its_own_identifier() {
        use NotificationKind as K;
        let kinds = [
            K::VpnDropped,
            K::VpnRestored,
            K::PauseEnded,
            K::Tampered,
            K::Fault,
            K::FaultCleared,
            K::Refused,
            K::NoServerAllowed,
            K::ProtectionTest,
        ];
        let ids: std::collections::BTreeSet<&str> = kinds.iter().map(|k| identifier(*k)).collect();
        assert_eq!(ids.len(), kinds.len());
        assert!(ids.iter().all(|id| id.starts_with("org.airlock.app.")));
    }
}
