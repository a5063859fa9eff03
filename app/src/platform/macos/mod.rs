//! The desktop API on macOS: thin shims, every decision lives elsewhere.
//! Type-checked on Linux for the Apple targets; never run here.

#![cfg(target_os = "macos")]

use crate::ui::notify_rules::Notification;

/// No Dock icon: the Accessory activation policy (the bundle's
/// Info.plist also sets LSUIElement, see resources/macos/Info.plist).
pub fn hide_dock_icon<T: 'static>(event_loop: &mut tao::event_loop::EventLoop<T>) {
    use tao::platform::macos::{ActivationPolicy, EventLoopExtMacOS};
    event_loop.set_activation_policy(ActivationPolicy::Accessory);
}

mod notify_macos;

/// Notification Center through UserNotifications (shown as Airlock); a
/// run without a bundle identifier (`cargo run`) falls back to osascript,
/// which shows it as Script Editor, since UserNotifications would abort it.
pub fn notify(n: &Notification) {
    match notify_macos::route() {
        crate::platform::notify_gate::Route::Native => notify_macos::notify(n),
        crate::platform::notify_gate::Route::Fallback => notify_osascript(n),
    }
}

/// Notification Center through osascript (no bundle needed).
fn notify_osascript(n: &Notification) {
    let script = format!(
        "display notification {} with title \"Airlock\" subtitle {}",
        applescript_string(&n.body),
        applescript_string(&n.title)
    );
    crate::platform::spawn_detached(crate::platform::Invocation {
        program: "/usr/bin/osascript".into(),
        args: vec!["-e".into(), script.into()],
    });
}

/// A string literal for AppleScript source.
pub(crate) fn applescript_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
