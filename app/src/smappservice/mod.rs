//! The SMAppService vocabulary (ServiceManagement, macOS 13+), mirrored
//! so that both users of the service decide in code the Linux tests
//! reach: the helper daemon (`helper_install`) and Start at Login
//! (`login_item`). `macos.rs` is the thin shim over the real API.

#[cfg(target_os = "macos")]
pub mod macos;
/// First macOS with `SMAppService` (ServiceManagement, macOS 13.0).
pub const SMAPPSERVICE_MIN_MAJOR: u32 = 13;

/// What the user is told when macOS holds the login item (or the helper
/// daemon) until they approve it.
pub const APPROVE_LOGIN_ITEM: &str =
    "Approve Airlock in System Settings → General → Login Items to start it at login";

/// A macOS version, from `kern.osproductversion` ("14.4.1").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MacVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// Parses "13", "13.4" or "13.4.1" (surrounding blanks and a trailing
/// NUL from sysctl tolerated). Anything else is `None`: an unknown
/// version is treated as "too old for SMAppService", which is safe, since
/// the LaunchAgent works everywhere.
pub fn parse_version(text: &str) -> Option<MacVersion> {
    let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let mut parts = text.split('.');
    let mut next = |required: bool| -> Option<u32> {
        match parts.next() {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
            Some(_) => None,
            None if required => None,
            None => Some(0),
        }
    };
    let version = MacVersion {
        major: next(true)?,
        minor: next(false)?,
        patch: next(false)?,
    };
    parts.next().is_none().then_some(version)
}

/// Whether SMAppService may be asked at all: macOS 13+ (the class does
/// not exist before) and running from an app bundle (it registers the
/// bundle, so a bare development binary has nothing to register).
pub fn smappservice_available(version: Option<MacVersion>, bundled: bool) -> bool {
    bundled && version.is_some_and(|v| v.major >= SMAPPSERVICE_MIN_MAJOR)
}

/// `SMAppServiceStatus`, mirrored so the decisions compile everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceStatus {
    /// 0: never registered, or unregistered.
    NotRegistered,
    /// 1: registered and allowed to run.
    Enabled,
    /// 2: registered, but the user must allow it in System Settings (or
    /// switched it off there).
    RequiresApproval,
    /// 3: the system cannot find the service (e.g. unsigned bundle).
    NotFound,
}

impl ServiceStatus {
    /// From the raw `SMAppServiceStatus` value; an unknown future value
    /// is `None`, which the decisions treat like "not registered".
    pub fn from_raw(raw: i64) -> Option<ServiceStatus> {
        match raw {
            0 => Some(ServiceStatus::NotRegistered),
            1 => Some(ServiceStatus::Enabled),
            2 => Some(ServiceStatus::RequiresApproval),
            3 => Some(ServiceStatus::NotFound),
            _ => None,
        }
    }

    /// Registered with the system, approved or not: what unregistering
    /// would undo.
    pub fn is_registered(self) -> bool {
        matches!(
            self,
            ServiceStatus::Enabled | ServiceStatus::RequiresApproval
        )
    }
}

/// `SMErrors.h` codes that change what happens next.
pub const SM_ERROR_JOB_NOT_FOUND: i64 = 6;
pub const SM_ERROR_LAUNCH_DENIED_BY_USER: i64 = 11;
pub const SM_ERROR_ALREADY_REGISTERED: i64 = 12;

/// A failed `registerAndReturnError` / `unregisterAndReturnError` (the
/// `NSError`'s code and localized description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmError {
    pub code: i64,
    pub message: String,
}

impl std::fmt::Display for SmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (error {})", self.message, self.code)
    }
}
