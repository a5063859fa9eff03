//! The desktop API on Linux (and other free desktops): notifications
//! through `notify-send` (libnotify's command, which speaks the
//! freedesktop notification protocol), no Dock to hide.

use std::path::PathBuf;

use super::{spawn_detached, which, Invocation};
use crate::ui::notify_rules::Notification;

/// `notify-send` arguments: urgent notifications stay until dismissed,
/// because they mean the internet is off or unprotected.
pub fn notify_send(program: PathBuf, n: &Notification) -> Invocation {
    let urgency = if n.urgent { "critical" } else { "normal" };
    Invocation {
        program,
        args: vec![
            "--app-name=Airlock".into(),
            format!("--urgency={urgency}").into(),
            "--icon=network-vpn".into(),
            "--".into(),
            n.title.clone().into(),
            n.body.clone().into(),
        ],
    }
}

/// Shows a desktop notification if the desktop can; silently skips when
/// there is no `notify-send` (the icon and menu already tell the state).
pub fn notify(n: &Notification) {
    if let Some(program) = which("notify-send") {
        spawn_detached(notify_send(program, n));
    } else {
        eprintln!(
            "airlock: {}: {} (notify-send not installed)",
            n.title, n.body
        );
    }
}

/// Nothing to hide: a tray icon has no Dock entry.
pub fn hide_dock_icon<T: 'static>(_event_loop: &mut tao::event_loop::EventLoop<T>) {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::notify_rules::NotificationKind;

    #[test]
    fn notify_send_arguments() {
        let n = Notification {
            kind: NotificationKind::VpnDropped,
            title: "-VPN down".into(),
            body: "blocked".into(),
            urgent: true,
        };
        let inv = notify_send("/usr/bin/notify-send".into(), &n);
        let args: Vec<_> = inv.args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "--app-name=Airlock",
                "--urgency=critical",
                "--icon=network-vpn",
                "--",
                "-VPN down",
                "blocked"
            ]
        );
    }
}
