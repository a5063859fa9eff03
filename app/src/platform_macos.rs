//! macOS shims. UNVERIFIED: type-checked and linted here
//! (scripts/check-macos), never linked or run; every decision lives
//! elsewhere.

#![cfg(target_os = "macos")]

use crate::notify_rules::Notification;

/// No Dock icon: the Accessory activation policy (the bundle's
/// Info.plist also sets LSUIElement, see app/macos/Info.plist).
pub fn hide_dock_icon<T: 'static>(event_loop: &mut tao::event_loop::EventLoop<T>) {
    use tao::platform::macos::{ActivationPolicy, EventLoopExtMacOS};
    event_loop.set_activation_policy(ActivationPolicy::Accessory);
}

fn applescript_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Notification Center through osascript (no entitlement needed).
pub fn notify(n: &Notification) {
    let script = format!(
        "display notification {} with title \"Airlock\" subtitle {}",
        applescript_string(&n.body),
        applescript_string(&n.title)
    );
    crate::desktop::spawn_detached(crate::desktop::Invocation {
        program: "/usr/bin/osascript".into(),
        args: vec!["-e".into(), script.into()],
    });
}

/// Fallback when SMAppService and SMJobBless fail (`helper_install`), and the way in for
/// development builds: `airlockd install` with administrator rights
/// through the standard authorization prompt.
pub fn install_helper() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let helper = exe
        .parent()
        .map(|d| d.join("airlockd"))
        .filter(|p| p.is_file())
        .ok_or_else(|| crate::desktop::INSTALL_BY_HAND.to_string())?;
    let command = format!(
        "'{}' install",
        helper.display().to_string().replace('\'', "'\\''")
    );
    let script = format!(
        "do shell script {} with administrator privileges",
        applescript_string(&command)
    );
    crate::desktop::spawn_detached(crate::desktop::Invocation {
        program: "/usr/bin/osascript".into(),
        args: vec!["-e".into(), script.into()],
    });
    Ok(())
}
