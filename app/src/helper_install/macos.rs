//! "Install Helper…" on macOS: SMJobBless through security-framework's
//! `Authorization` (feature `job-bless`), the probes `helper_install`
//! decides from (macOS version, bundle, Developer ID signature) and the
//! [`Installers`] it drives (SMAppService through `smappservice::macos`).
//! It only reports what happened; `helper_install::install_helper`
//! decides what follows.
//!
//! UNVERIFIED: type-checked and linted here (scripts/check-macos), never
//! linked or run.
//!
//! Blessing copies `Contents/Library/LaunchServices/org.airlock.helper`
//! to `/Library/PrivilegedHelperTools/` and loads its embedded launchd
//! job, if the app's `SMPrivilegedExecutables` and the helper's
//! `SMAuthorizedClients` requirements match their signatures
//! (`packaging/macos/build-app.sh`).

#![cfg(target_os = "macos")]

use std::path::Path;

use security_framework::authorization::{Authorization, AuthorizationItemSetBuilder, Flags};
use security_framework::os::macos::code_signing::{self, SecCode, SecRequirement};

use super::{
    bundle_contents, bundled_helper, smappservice_daemon_available, BlessFailure, Installers,
    HELPER_LABEL, HELPER_PLIST,
};
use crate::smappservice::macos::{self as sm, Service};
use crate::smappservice::{parse_version, ServiceStatus, SmError};

/// `kSMRightBlessPrivilegedHelper` (ServiceManagement's SMErrors.h).
const BLESS_RIGHT: &str = "com.apple.ServiceManagement.blesshelper";

/// Asks for the right to bless (the system's administrator prompt), then
/// blesses the helper the bundle carries.
pub fn bless(own_exe: Option<&Path>) -> Result<(), BlessFailure> {
    let helper = own_exe
        .and_then(bundled_helper)
        .filter(|p| p.is_file())
        .ok_or(BlessFailure::NotBundled)?;
    let auth_failure = |e: security_framework::base::Error| BlessFailure::Authorization {
        code: e.code(),
        message: e.to_string(),
    };
    let rights = AuthorizationItemSetBuilder::new()
        .add_right(BLESS_RIGHT)
        .map_err(auth_failure)?
        .build();
    let auth = Authorization::new(
        Some(rights),
        None,
        Flags::INTERACTION_ALLOWED | Flags::EXTEND_RIGHTS | Flags::PREAUTHORIZE,
    )
    .map_err(auth_failure)?;
    auth.job_bless(HELPER_LABEL)
        .map_err(|e| BlessFailure::Bless {
            code: e.code() as i64,
            message: format!("{} ({})", e.description(), helper.display()),
        })
}

/// Whether this process is signed with an Apple-issued certificate
/// (Developer ID or Apple Development), not ad hoc or unsigned:
/// SMAppService only registers daemons of such apps.
pub fn developer_signed() -> bool {
    let Ok(requirement) = "anchor apple generic".parse::<SecRequirement>() else {
        return false;
    };
    SecCode::for_self(code_signing::Flags::NONE)
        .and_then(|code| code.check_validity(code_signing::Flags::NONE, &requirement))
        .is_ok()
}

/// Whether "Install Helper…" should try SMAppService first.
pub fn smappservice_usable(own_exe: Option<&Path>) -> bool {
    let version = sm::os_version().and_then(|v| parse_version(&v));
    let bundled = own_exe.and_then(bundle_contents).is_some();
    smappservice_daemon_available(version, bundled, bundled && developer_signed())
}

/// The real installers, for `helper_install::install_helper`.
pub struct MacInstallers<'a> {
    pub own_exe: Option<&'a Path>,
}

impl Installers for MacInstallers<'_> {
    fn daemon_status(&mut self) -> Option<ServiceStatus> {
        sm::status(Service::Daemon(HELPER_PLIST))
    }
    fn register_daemon(&mut self) -> Result<(), SmError> {
        sm::register(Service::Daemon(HELPER_PLIST))
    }
    fn unregister_daemon(&mut self) -> Result<(), SmError> {
        sm::unregister(Service::Daemon(HELPER_PLIST))
    }
    fn open_login_items_settings(&mut self) {
        sm::open_login_items_settings()
    }
    fn bless(&mut self) -> Result<(), BlessFailure> {
        bless(self.own_exe)
    }
    fn install_as_admin(&mut self) -> Result<(), String> {
        install_as_admin()
    }
}

/// Fallback when SMAppService and SMJobBless fail (`helper_install`), and the way in for
/// development builds: `airlockd install` with administrator rights
/// through the standard authorization prompt.
pub fn install_as_admin() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let helper = exe
        .parent()
        .map(|d| d.join("airlockd"))
        .filter(|p| p.is_file())
        .ok_or_else(|| super::INSTALL_BY_HAND.to_string())?;
    let command = format!(
        "'{}' install",
        helper.display().to_string().replace('\'', "'\\''")
    );
    let script = format!(
        "do shell script {} with administrator privileges",
        crate::platform::macos::applescript_string(&command)
    );
    crate::platform::spawn_detached(crate::platform::Invocation {
        program: "/usr/bin/osascript".into(),
        args: vec!["-e".into(), script.into()],
    });
    Ok(())
}
