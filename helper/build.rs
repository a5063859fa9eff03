//! On macOS, embeds the helper's Info.plist and launchd plist into the
//! `airlockd` binary (`__TEXT,__info_plist`, `__TEXT,__launchd_plist`), as
//! SMJobBless requires of a privileged helper tool. The plists are filled by
//! `packaging/macos/build-app.sh` (version, code-signing requirements) and
//! passed here by path; on other targets this does nothing.
//!
//! UNVERIFIED on a Mac: the ld64 `-sectcreate` flag is documented in ld(1).

use std::env;

fn main() {
    println!("cargo:rerun-if-env-changed=AIRLOCK_HELPER_INFO_PLIST");
    println!("cargo:rerun-if-env-changed=AIRLOCK_HELPER_LAUNCHD_PLIST");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("macos") {
        return;
    }
    let sections = [
        ("AIRLOCK_HELPER_INFO_PLIST", "__info_plist"),
        ("AIRLOCK_HELPER_LAUNCHD_PLIST", "__launchd_plist"),
    ];
    for (var, section) in sections {
        match env::var(var) {
            Ok(path) if !path.is_empty() => {
                println!("cargo:rerun-if-changed={path}");
                println!(
                    "cargo:rustc-link-arg-bin=airlockd=-Wl,-sectcreate,__TEXT,{section},{path}"
                );
            }
            _ => println!(
                "cargo:warning={var} is not set: airlockd is built without its embedded \
                 {section}, so SMJobBless will refuse it (packaging/macos/build-app.sh sets it)"
            ),
        }
    }
}
