//! SMJobBless through security-framework's `Authorization` (feature
//! `job-bless`). UNVERIFIED: this file cannot be compiled on the Linux
//! machines Airlock is developed on, and has never run. It only reports
//! what happened; `helper_install::install` decides what follows.
//!
//! Blessing copies `Contents/Library/LaunchServices/org.airlock.helper`
//! to `/Library/PrivilegedHelperTools/` and loads its embedded launchd
//! job, if the app's `SMPrivilegedExecutables` and the helper's
//! `SMAuthorizedClients` requirements match their signatures
//! (`packaging/macos/build-app.sh`).

#![cfg(target_os = "macos")]

use std::path::Path;

use security_framework::authorization::{Authorization, AuthorizationItemSetBuilder, Flags};

use crate::helper_install::{bundled_helper, BlessFailure, HELPER_LABEL};

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
