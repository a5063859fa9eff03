//! Every macOS property list Airlock ships, built as `plist` values so
//! the XML is well formed by construction and the tests (on Linux) parse
//! them back. The committed files under `resources/macos/` are these,
//! rendered with the placeholders the packaging scripts fill in.

use std::path::Path;

use plist::{Dictionary, Value};

use super::names;

/// Filled in by `packaging/macos/build-app.sh` (version from Cargo).
pub const VERSION_PLACEHOLDER: &str = "@VERSION@";
/// Filled in by `build-app.sh` with the helper's designated requirement
/// once it is signed (`codesign -d -r-`); SMJobBless compares it.
pub const HELPER_REQUIREMENT_PLACEHOLDER: &str = "@HELPER_REQUIREMENT@";
/// Filled in with the app's designated requirement (`SMAuthorizedClients`).
pub const APP_REQUIREMENT_PLACEHOLDER: &str = "@APP_REQUIREMENT@";
/// Filled in by `build-app.sh` with the requirement a client must satisfy
/// to change settings (`airlockd run --client-requirement`): the signed
/// app's designated requirement, or nothing for an unsigned build.
pub const CLIENT_REQUIREMENT_PLACEHOLDER: &str = "@CLIENT_REQUIREMENT@";

/// `run`'s arguments in the shipped launchd jobs. The requirement is one
/// `--client-requirement=VALUE` word so that an unsigned build, whose
/// placeholder is filled with nothing, still parses (as "no check").
fn run_args(program: &str, client_requirement: Option<&str>) -> Value {
    let mut args = vec![s(program), s("run")];
    if let Some(req) = client_requirement {
        args.push(s(format!("--client-requirement={req}")));
    }
    Value::Array(args)
}

/// Where SMJobBless (and `airlockd install`) put the helper: root-owned,
/// so a LaunchDaemon never runs a binary a user could replace.
pub fn privileged_helper_path() -> String {
    format!("/Library/PrivilegedHelperTools/{}", names::HELPER_LABEL)
}

/// The helper inside the bundle, where SMJobBless looks for it (its file
/// name must be its label).
pub fn bundled_helper_relative() -> String {
    format!("Contents/Library/LaunchServices/{}", names::HELPER_LABEL)
}

fn dict(entries: Vec<(&str, Value)>) -> Value {
    let mut d = Dictionary::new();
    for (k, v) in entries {
        d.insert(k.to_string(), v);
    }
    Value::Dictionary(d)
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

/// The LaunchDaemon `airlockd install` writes to
/// /Library/LaunchDaemons: start at boot (RunAtLoad) and again whenever
/// it exits (KeepAlive), like systemd's Restart= but unconditional,
/// because a helper that is not running cannot put tampered rules back.
/// `client_requirement`: see [`CLIENT_REQUIREMENT_PLACEHOLDER`]; `None`
/// for `airlockd install`, which does not know whether the app is signed.
pub fn launch_daemon(helper: &Path, client_requirement: Option<&str>) -> Value {
    dict(vec![
        ("Label", s(names::HELPER_LABEL)),
        (
            "ProgramArguments",
            run_args(&helper.to_string_lossy(), client_requirement),
        ),
        ("RunAtLoad", Value::Boolean(true)),
        ("KeepAlive", Value::Boolean(true)),
        ("StandardErrorPath", s(names::MACOS_LOG_PATH)),
    ])
}

/// The LaunchDaemon shipped inside the bundle
/// (`Contents/Library/LaunchDaemons/`) for SMAppService (macOS 13+):
/// `BundleProgram` is relative to the bundle, and
/// `AssociatedBundleIdentifiers` names the app in System Settings' Login
/// Items list.
pub fn bundled_launch_daemon() -> Value {
    dict(vec![
        ("Label", s(names::HELPER_LABEL)),
        ("BundleProgram", s(bundled_helper_relative())),
        (
            "ProgramArguments",
            run_args(names::HELPER_BINARY, Some(CLIENT_REQUIREMENT_PLACEHOLDER)),
        ),
        (
            "AssociatedBundleIdentifiers",
            Value::Array(vec![s(names::APP_BUNDLE_ID)]),
        ),
        ("RunAtLoad", Value::Boolean(true)),
        ("KeepAlive", Value::Boolean(true)),
        ("StandardErrorPath", s(names::MACOS_LOG_PATH)),
    ])
}

/// The app's Info.plist: a menu-bar app (LSUIElement, no Dock icon) that
/// may bless exactly our helper (SMPrivilegedExecutables).
pub fn app_info(version: &str, helper_requirement: &str) -> Value {
    dict(vec![
        ("CFBundleDevelopmentRegion", s("en")),
        ("CFBundleDisplayName", s(names::APP_NAME)),
        ("CFBundleExecutable", s(names::APP_BINARY)),
        ("CFBundleIdentifier", s(names::APP_BUNDLE_ID)),
        ("CFBundleInfoDictionaryVersion", s("6.0")),
        ("CFBundleName", s(names::APP_NAME)),
        ("CFBundlePackageType", s("APPL")),
        ("CFBundleShortVersionString", s(version)),
        ("CFBundleVersion", s(version)),
        ("LSMinimumSystemVersion", s(names::MACOS_MINIMUM)),
        ("LSUIElement", Value::Boolean(true)),
        ("NSHighResolutionCapable", Value::Boolean(true)),
        (
            "SMPrivilegedExecutables",
            dict(vec![(names::HELPER_LABEL, s(helper_requirement))]),
        ),
    ])
}

/// The helper's own Info.plist (SMJobBless reads it from the binary's
/// `__TEXT,__info_plist` section): its identity and which app may
/// install it.
pub fn helper_info(version: &str, app_requirement: &str) -> Value {
    dict(vec![
        ("CFBundleIdentifier", s(names::HELPER_LABEL)),
        ("CFBundleInfoDictionaryVersion", s("6.0")),
        ("CFBundleName", s(names::HELPER_BINARY)),
        ("CFBundleShortVersionString", s(version)),
        ("CFBundleVersion", s(version)),
        (
            "SMAuthorizedClients",
            Value::Array(vec![s(app_requirement)]),
        ),
    ])
}

/// The launchd job SMJobBless installs, embedded in the helper
/// (`__TEXT,__launchd_plist`). SMJobBless supplies the program path
/// (it copies the helper to /Library/PrivilegedHelperTools/<label>).
pub fn helper_launchd() -> Value {
    launch_daemon(
        Path::new(&privileged_helper_path()),
        Some(CLIENT_REQUIREMENT_PLACEHOLDER),
    )
}

/// XML text of `value`, as the files are committed.
pub fn to_xml(value: &Value) -> Result<String, plist::Error> {
    let mut out = Vec::new();
    value.to_writer_xml(&mut out)?;
    out.push(b'\n');
    // plist writes UTF-8, so nothing is lost here.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(v: &'a Value, key: &str) -> &'a Value {
        v.as_dictionary()
            .and_then(|d| d.get(key))
            .unwrap_or_else(|| panic!("no {key}"))
    }

    #[test]
    fn launch_daemon_round_trips_through_xml() {
        let xml = to_xml(&launch_daemon(Path::new("/x/air&lock<d>"), None)).unwrap();
        let back = Value::from_reader_xml(xml.as_bytes()).unwrap();
        let args: Vec<_> = get(&back, "ProgramArguments")
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_string().unwrap())
            .collect();
        assert_eq!(args, ["/x/air&lock<d>", "run"]);
        assert_eq!(get(&back, "Label").as_string(), Some("org.airlock.helper"));
        assert_eq!(get(&back, "KeepAlive").as_boolean(), Some(true));
    }

    fn args(v: &Value) -> Vec<&str> {
        get(v, "ProgramArguments")
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_string().unwrap())
            .collect()
    }

    /// The jobs packaging ships carry the requirement as one word the
    /// build fills in; the one `airlockd install` writes carries none.
    #[test]
    fn shipped_jobs_pass_the_client_requirement_placeholder() {
        let word = "--client-requirement=@CLIENT_REQUIREMENT@";
        assert_eq!(
            args(&helper_launchd()),
            [
                "/Library/PrivilegedHelperTools/org.airlock.helper",
                "run",
                word
            ]
        );
        assert_eq!(args(&bundled_launch_daemon()), ["airlockd", "run", word]);
        assert_eq!(
            args(&launch_daemon(Path::new("/usr/local/bin/airlockd"), None)),
            ["/usr/local/bin/airlockd", "run"]
        );
        // A requirement's quotes survive the XML round trip.
        let req = r#"identifier "org.airlock.app" and anchor apple generic"#;
        let xml = to_xml(&launch_daemon(Path::new("/h"), Some(req))).unwrap();
        let back = Value::from_reader_xml(xml.as_bytes()).unwrap();
        assert_eq!(args(&back)[2], format!("--client-requirement={req}"));
    }

    #[test]
    fn app_and_helper_name_each_other() {
        let app = app_info("1.2.3", "REQ");
        let privileged = get(&app, "SMPrivilegedExecutables")
            .as_dictionary()
            .unwrap();
        let helper = helper_info("1.2.3", "APPREQ");
        // The key SMJobBless looks up is the helper's bundle id / label.
        let helper_id = get(&helper, "CFBundleIdentifier").as_string().unwrap();
        assert_eq!(
            privileged.get(helper_id).and_then(Value::as_string),
            Some("REQ")
        );
        let bundled = bundled_launch_daemon();
        let assoc = get(&bundled, "AssociatedBundleIdentifiers")
            .as_array()
            .unwrap();
        assert_eq!(
            assoc[0].as_string(),
            get(&app, "CFBundleIdentifier").as_string()
        );
        let program = get(&bundled, "BundleProgram").as_string().unwrap();
        assert!(program.ends_with(helper_id), "{program}");
        assert_eq!(get(&app, "LSUIElement").as_boolean(), Some(true));
    }
}
