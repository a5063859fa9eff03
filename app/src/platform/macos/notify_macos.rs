//! Notifications through UserNotifications: shown as Airlock, with its
//! icon, and listed in System Settings → Notifications. A thin shim: what
//! to show, when to ask and where to go unbundled is decided in
//! `platform::notify_gate` (tested on Linux); this reports what the
//! system says and carries the decision out. Type-checked for the Apple
//! targets, never run here.
//!
//! Every call into UserNotifications is asynchronous: its completion
//! handlers run on a queue of the system's, so the gate sits behind a
//! mutex, and nothing here blocks the UI thread.

use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard};

use block2::RcBlock;
use objc2::runtime::Bool;
use objc2_foundation::{NSBundle, NSError, NSString};
use objc2_user_notifications::{
    UNAuthorizationOptions, UNAuthorizationStatus, UNMutableNotificationContent,
    UNNotificationRequest, UNNotificationSettings, UNNotificationSound, UNUserNotificationCenter,
};

use crate::platform::notify_gate::{self, Effect, Gate, Permission, Route};
use crate::ui::notify_rules::Notification;

static GATE: Mutex<Gate> = Mutex::new(Gate::new());

fn gate() -> MutexGuard<'static, Gate> {
    // A panic while holding it leaves a gate that is still consistent.
    GATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The route for this process: `NSBundle mainBundle` without a bundle
/// identifier means UserNotifications would raise instead of answering.
pub fn route() -> Route {
    let id = NSBundle::mainBundle().bundleIdentifier();
    notify_gate::route(id.map(|s| s.to_string()).as_deref())
}

/// Asks the system for the current permission, then lets the gate decide.
pub fn notify(n: &Notification) {
    let center = UNUserNotificationCenter::currentNotificationCenter();
    let n = n.clone();
    let handler = RcBlock::new(move |settings: NonNull<UNNotificationSettings>| {
        // SAFETY: the system passes a valid settings object for the
        // duration of the call.
        let status = unsafe { settings.as_ref() }.authorizationStatus();
        let effect = gate().offer(n.clone(), permission(status));
        match effect {
            Effect::Show(n) => show(&n),
            Effect::Ask => ask(),
            Effect::Wait => {}
            Effect::Skip(why) => eprintln!("airlock: notification not shown: {why}"),
        }
    });
    center.getNotificationSettingsWithCompletionHandler(&handler);
}

fn permission(status: UNAuthorizationStatus) -> Permission {
    if status == UNAuthorizationStatus::NotDetermined {
        Permission::NotDetermined
    } else if status == UNAuthorizationStatus::Denied {
        Permission::Denied
    } else {
        // Authorized, Provisional, Ephemeral, and any later kind of yes.
        Permission::Allowed
    }
}

fn ask() {
    let center = UNUserNotificationCenter::currentNotificationCenter();
    let handler = RcBlock::new(|granted: Bool, error: *mut NSError| {
        if !error.is_null() {
            // SAFETY: non-null, so the system passed an NSError.
            let error = unsafe { &*error };
            eprintln!(
                "airlock: asking for notification permission failed: {}",
                error.localizedDescription()
            );
        }
        if let Some(n) = gate().answered(granted.as_bool()) {
            show(&n);
        }
    });
    center.requestAuthorizationWithOptions_completionHandler(
        UNAuthorizationOptions::Alert | UNAuthorizationOptions::Sound,
        &handler,
    );
}

fn show(n: &Notification) {
    let content = UNMutableNotificationContent::new();
    content.setTitle(&NSString::from_str(&n.title));
    content.setBody(&NSString::from_str(&n.body));
    if n.urgent {
        content.setSound(Some(&UNNotificationSound::defaultSound()));
    }
    let id = NSString::from_str(notify_gate::identifier(n.kind));
    let request = UNNotificationRequest::requestWithIdentifier_content_trigger(&id, &content, None);
    let done = RcBlock::new(|error: *mut NSError| {
        if !error.is_null() {
            // SAFETY: non-null, so the system passed an NSError.
            let error = unsafe { &*error };
            eprintln!(
                "airlock: the notification was not delivered: {}",
                error.localizedDescription()
            );
        }
    });
    UNUserNotificationCenter::currentNotificationCenter()
        .addNotificationRequest_withCompletionHandler(&request, Some(&done));
}
