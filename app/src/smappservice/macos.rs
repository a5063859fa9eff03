//! SMAppService (ServiceManagement, macOS 13+) through the
//! `objc2-service-management` bindings: the app's own login item
//! (`mainAppService`) and the helper's LaunchDaemon shipped in
//! `Contents/Library/LaunchDaemons/` (`daemonServiceWithPlistName:`).
//! Only calls and reports; `login_item::policy` and `helper_install`
//! decide. Callers must check `smappservice::smappservice_available`
//! first: the class does not exist before macOS 13.
//!
//! UNVERIFIED: type-checked and linted here (scripts/check-macos), never
//! linked or run.

#![cfg(target_os = "macos")]

use objc2::rc::Retained;
use objc2_foundation::{NSError, NSString};
use objc2_service_management::SMAppService;

use super::{ServiceStatus, SmError};

/// Which SMAppService.
#[derive(Debug, Clone, Copy)]
pub enum Service {
    /// The app itself, started at login.
    MainApp,
    /// A LaunchDaemon plist in the bundle's `Contents/Library/LaunchDaemons/`.
    Daemon(&'static str),
}

fn service(which: Service) -> Retained<SMAppService> {
    // SAFETY: class methods without preconditions on macOS 13+, which the
    // callers check; the plist name is a valid NSString.
    unsafe {
        match which {
            Service::MainApp => SMAppService::mainAppService(),
            Service::Daemon(plist) => {
                SMAppService::daemonServiceWithPlistName(&NSString::from_str(plist))
            }
        }
    }
}

/// `status`; `None` for a value newer than this code knows.
pub fn status(which: Service) -> Option<ServiceStatus> {
    // SAFETY: a getter on a live SMAppService.
    let raw = unsafe { service(which).status() };
    ServiceStatus::from_raw(raw.0 as i64)
}

/// `registerAndReturnError:`.
pub fn register(which: Service) -> Result<(), SmError> {
    // SAFETY: as `status`; errors come back as NSError, not exceptions.
    unsafe { service(which).registerAndReturnError() }.map_err(|e| sm_error(&e))
}

/// `unregisterAndReturnError:`.
pub fn unregister(which: Service) -> Result<(), SmError> {
    // SAFETY: as `register`.
    unsafe { service(which).unregisterAndReturnError() }.map_err(|e| sm_error(&e))
}

/// `+openSystemSettingsLoginItems`: where the user approves login items
/// and background daemons.
pub fn open_login_items_settings() {
    // SAFETY: a class method without arguments (macOS 13+).
    unsafe { SMAppService::openSystemSettingsLoginItems() }
}

fn sm_error(e: &NSError) -> SmError {
    SmError {
        code: e.code() as i64,
        message: e.localizedDescription().to_string(),
    }
}

/// `sysctl kern.osproductversion` ("14.4.1"); parsed by
/// `smappservice::parse_version`. `None` if the sysctl fails.
pub fn os_version() -> Option<String> {
    let name = c"kern.osproductversion";
    let mut buf = [0u8; 64];
    let mut len = buf.len();
    // SAFETY: `buf` is `len` bytes long and outlives the call; no new
    // value is set (null, 0).
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return None;
    }
    let bytes = buf.get(..len.min(buf.len()))?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}
