//! "Start at Login" on macOS: observes the system (macOS version, bundle,
//! SMAppService status, LaunchAgent) and carries out what
//! `policy.rs` decides, through `smappservice::macos` and
//! `launch_agent.rs`.
//!
//! UNVERIFIED: type-checked and linted here (scripts/check-macos), never
//! linked or run.

#![cfg(target_os = "macos")]

use super::launch_agent as autostart_macos;
use super::policy::{self as login_item_policy, Mechanisms, Situation};
use crate::helper_install;
use crate::smappservice::macos::{self as sm, Service};
use crate::smappservice::{parse_version, SmError};
use crate::ui::model::LoginItem;

fn smappservice_available() -> bool {
    let version = sm::os_version().and_then(|v| parse_version(&v));
    let bundled = std::env::current_exe()
        .ok()
        .and_then(|exe| helper_install::bundle_contents(&exe))
        .is_some();
    crate::smappservice::smappservice_available(version, bundled)
}

fn situation() -> Result<Situation, String> {
    Ok(Situation {
        service: smappservice_available().then(|| sm::status(Service::MainApp)),
        legacy_agent: autostart_macos::agent_exists()?,
    })
}

/// The check mark. Also removes a LaunchAgent an older Airlock left when
/// SMAppService already starts the app, so it does not start twice (the
/// app reads this at startup).
pub fn read() -> LoginItem {
    let s = match situation() {
        Ok(s) => s,
        Err(e) => return LoginItem::Unavailable(e),
    };
    if login_item_policy::stale_agent(&s) {
        if let Err(e) = autostart_macos::remove_agent() {
            eprintln!("airlock: cannot remove the old LaunchAgent: {e}");
        }
    }
    let s = situation().unwrap_or(s);
    login_item_policy::shown(&s)
}

pub fn set(enabled: bool) -> Result<Option<String>, String> {
    login_item_policy::set(enabled, &situation()?, &mut System)
}

struct System;

impl Mechanisms for System {
    fn register(&mut self) -> Result<(), SmError> {
        sm::register(Service::MainApp)
    }
    fn unregister(&mut self) -> Result<(), SmError> {
        sm::unregister(Service::MainApp)
    }
    fn write_agent(&mut self) -> Result<(), String> {
        autostart_macos::write_agent()
    }
    fn remove_agent(&mut self) -> Result<(), String> {
        autostart_macos::remove_agent()
    }
    fn open_login_items_settings(&mut self) {
        sm::open_login_items_settings()
    }
}
