//! "Recently Blocked" and "Test Protection" for real: the real `airlock`
//! under Xvfb (xfce4-panel, dbusmenu) and the REAL `airlockd` (nft),
//! both in a network namespace of our own with an `eth0` (a veth) and
//! routes out, the kill switch on and no tunnel (Blocking).
//!
//! - A process running as nobody sends UDP datagrams to an outside
//!   address on OpenVPN's port: the kernel refuses them, and "Recently
//!   Blocked" shows who sent them, where, and how often ("uid 65534 →
//!   198.51.100.7:1194 (OpenVPN?) ×3"), with "Allow … as a VPN Server?",
//!   whose click allows it in the helper and the kernel's set (and the
//!   suggestion goes); "Show All…" opens the whole list as a file.
//! - "Test Protection" runs `airlockctl selftest` (beside the app, as a
//!   user would have it) in that namespace: every check passes, shown as
//!   a notification and under the status line; with the kill switch off
//!   it says there is nothing to test.
//! - Against the fake helper, which refuses changes: the suggestion's
//!   click is refused with the helper's reason (menu and notification),
//!   and a sender's process name is shown where the platform gives one.
//!
//! Printed: packet to menu row, and the Test Protection run.
//! Needs what `ui_real_helper` needs (and `setpriv`); skips (fails under
//! CI=true) without. Uses target/debug/airlockd and airlockctl.

#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use airlock_shared::status::Protection;
use common::dbusmenu::{self, wait_for_submenu};
use common::procs::Proc;
use common::real_helper::{real_helper_ready, workspace_binary, Netns, RealHelper};
use common::*;

const WAIT: Duration = Duration::from_secs(10);
const BLOCKED: &str = "Recently Blocked";
const SUGGESTION: &str = "Allow 198.51.100.7:1194/udp as a VPN Server? (OpenVPN's port)";

fn item(desktop: &Desktop) -> dbusmenu::Item {
    dbusmenu::Item::find(desktop).expect("the app's StatusNotifierItem")
}

fn click(desktop: &Desktop, path: &[&str]) {
    item(desktop)
        .click_path(desktop, path)
        .unwrap_or_else(|e| panic!("click {path:?}: {e}"));
}

fn wait_menu(desktop: &Desktop, limit: Duration, wanted: &str, ok: impl Fn(&str) -> bool) {
    dbusmenu::wait_until(desktop, limit, wanted, ok);
}

#[test]
fn blocked_traffic_and_the_protection_test_in_the_menu() {
    if !real_helper_ready("the blocked UI test") {
        return;
    }
    // The app finds airlockctl beside itself, as packages install it.
    workspace_binary("airlockctl");
    // Drop order: app, desktop, helper, namespace.
    let ns = Netns::new();
    // A wire out: eth0 (both ends of the veth stay in the namespace, so
    // nothing that got out could reach anything), with IPv4 and IPv6
    // routes for every address the self-test and the datagrams use.
    ns.exec(&[
        "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
    ]);
    ns.exec(&["ip", "addr", "add", "10.66.0.2/24", "dev", "eth0"]);
    ns.exec(&["ip", "addr", "add", "fd66::2/64", "dev", "eth0", "nodad"]);
    ns.exec(&["ip", "link", "set", "peer0", "up"]);
    ns.exec(&["ip", "link", "set", "eth0", "up"]);
    ns.exec(&["ip", "route", "add", "default", "via", "10.66.0.1"]);
    ns.exec(&["ip", "-6", "route", "add", "default", "via", "fd66::1"]);
    let dir = tempfile::Builder::new()
        .prefix("airlock-ui-blocked-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut helper = RealHelper::new(&ns, dir.path());
    helper.start();
    helper.ctl(&["enable"]);
    assert_eq!(helper.ctl_status().protection, Protection::Blocking);

    let desktop = Desktop::start(TrayHost::StatusNotifier);
    // The app in the namespace too: its self-test probes the namespace's
    // interfaces (X and D-Bus are path sockets, reachable from there).
    let child = desktop
        .command("ip")
        .args(["netns", "exec", ns.name(), env!("CARGO_BIN_EXE_airlock")])
        .env("AIRLOCK_SOCKET", &helper.socket)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(desktop.dir.path().join("airlock.stderr")).unwrap())
        .spawn()
        .expect("airlock");
    let _app = Proc::new("airlock", child);
    wait_menu(&desktop, WAIT, "blocking", |m| {
        m.starts_with("Blocking — VPN is down, internet is off")
    });
    let before = wait_for_submenu(&desktop, &[BLOCKED], WAIT, "the first read", |m| {
        m.contains("Show All…")
    });
    assert!(!before.contains("198.51.100.7"), "{before}");

    // Three datagrams from nobody to the outside, on OpenVPN's port.
    let sent = Instant::now();
    ns.exec(&[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "bash",
        "-c",
        "for i in 1 2 3; do echo x 2>/dev/null > /dev/udp/198.51.100.7/1194; done; true",
    ]);
    let row = "uid 65534 → 198.51.100.7:1194 (OpenVPN?) ×3, just now (disabled)";
    let shown = wait_for_submenu(&desktop, &[BLOCKED], WAIT, row, |m| {
        m.lines().any(|l| l == row) && m.contains(SUGGESTION)
    });
    let to_menu = sent.elapsed();
    say(&format!(
        "blocked packet to its menu row: {to_menu:.2?} (poll every 3 s)\n{shown}"
    ));
    // What the helper itself says, independently of the app.
    let listed = helper.ctl(&["blocked"]);
    assert!(
        listed.contains("uid 65534 → 198.51.100.7:1194 udp (OpenVPN?) out on eth0 ×3"),
        "{listed}"
    );
    assert!(
        listed.contains("sudo airlockctl endpoints add 198.51.100.7:1194/udp"),
        "{listed}"
    );

    // "Show All…": the whole list as a private file the desktop opens.
    click(&desktop, &[BLOCKED, "Show All…"]);
    wait_for(WAIT, "the list opened", || {
        desktop.opened().contains("airlock-blocked.txt")
    });
    let path = desktop.opened().lines().last().unwrap().to_string();
    let doc = std::fs::read_to_string(&path).unwrap();
    assert!(
        doc.contains("uid 65534 → 198.51.100.7:1194 udp (OpenVPN?) out on eth0 ×3"),
        "{doc}"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The suggestion, one click: allowed in the helper and the kernel.
    click(&desktop, &[BLOCKED, SUGGESTION]);
    wait_for(WAIT, "the server allowed", || {
        helper
            .endpoints()
            .iter()
            .any(|e| e.to_string() == "198.51.100.7:1194/udp")
    });
    wait_for(WAIT, "the kernel's set", || {
        ns.endpoint_set()
            .iter()
            .any(|e| e == "198.51.100.7 . udp . 1194")
    });
    wait_for_submenu(&desktop, &[BLOCKED], WAIT, "the suggestion gone", |m| {
        !m.contains(SUGGESTION) && m.contains("198.51.100.7:1194")
    });

    // "Test Protection": the CLI's self-test, in the namespace.
    let clicked = Instant::now();
    click(&desktop, &["Test Protection"]);
    wait_for(Duration::from_secs(60), "the test's notification", || {
        desktop.notifications().contains("Protection test")
    });
    let took = clicked.elapsed();
    let notes = desktop.notifications();
    assert!(
        notes.contains("Protection test passed"),
        "{notes}\n{}",
        desktop.app_stderr()
    );
    let menu = dbusmenu::read(&desktop).unwrap();
    let line = menu
        .lines()
        .find(|l| l.starts_with("Protection test:"))
        .unwrap_or_else(|| panic!("no result line:\n{menu}"));
    say(&format!("Test Protection run: {took:.2?}: {line}"));
    let n: usize = line
        .strip_prefix("Protection test: all ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a pass: {line}"));
    // TCP and UDP over IPv4 and IPv6 from eth0, DNS over both.
    assert_eq!(n, 6, "{line}");

    // Off: the old result goes (it was about Blocking), and a new run
    // says there is nothing to test.
    helper.ctl(&["disable"]);
    wait_menu(&desktop, WAIT, "off, old result gone", |m| {
        m.starts_with("Kill switch is off") && !m.contains("Protection test:")
    });
    click(&desktop, &["Test Protection"]);
    wait_menu(&desktop, Duration::from_secs(30), "nothing to test", |m| {
        m.contains("Protection test: nothing tested — the kill switch is off")
    });
    wait_for(WAIT, "its notification", || {
        desktop
            .notifications()
            .contains("Protection test: nothing tested")
    });
}

/// A suggestion is a change like any other: needing an administrator, a
/// refusal is shown with the helper's reason (menu and notification) and
/// the suggestion stays. Against the fake helper, which refuses changes.
#[test]
fn a_refused_suggestion_says_why() {
    use airlock_shared::blocked::{
        BlockedDirection, BlockedEntry, BlockedReport, InterfaceRef, Sender,
    };
    use airlock_shared::ipc::protocol::{ErrorCode, IpcError, Outcome, RequestBody, ResponseBody};
    use airlock_shared::policy::Protocol;
    use airlock_shared::status::KillSwitch;

    if !ui_prerequisites("the refused-suggestion UI test") {
        return;
    }
    let desktop = Desktop::start(TrayHost::StatusNotifier);
    let blocked = BlockedReport {
        reading: true,
        entries: vec![BlockedEntry {
            dst: "198.51.100.7".parse().unwrap(),
            dst_port: Some(1194),
            protocol: Protocol::Udp,
            direction: BlockedDirection::Out,
            interface: InterfaceRef::Name("en0".into()),
            sender: Sender {
                uid: Some(0),
                pid: Some(412),
                process: Some("openvpn".into()),
            },
            name: None,
            last_src: "192.168.1.20".parse().unwrap(),
            count: 14,
            first_seen_ms: now() * 1000,
            last_seen_ms: now() * 1000,
        }],
        ..BlockedReport::default()
    };
    // Blocking: on, no tunnel.
    let fake = FakeHelper::beside(&desktop, status(KillSwitch::On, false, true)).answer_with(
        move |body| match body {
            RequestBody::GetBlocked => Some(Outcome::Ok(ResponseBody::Blocked(blocked.clone()))),
            RequestBody::ListEndpoints => Some(Outcome::Ok(ResponseBody::Endpoints(vec![]))),
            _ => None,
        },
    );
    let why = "uid 1000 is neither root nor in the `admin` group (try sudo)";
    fake.refuse_changes(Some(IpcError::new(ErrorCode::NotAuthorized, why)));
    let _app = desktop.start_app(Path::new(env!("CARGO_BIN_EXE_airlock")), &fake.socket);
    // The process name, where the platform gives it (macOS).
    let rows = wait_for_submenu(&desktop, &[BLOCKED], WAIT, "the suggestion", |m| {
        m.contains(SUGGESTION)
    });
    assert!(
        rows.contains("openvpn → 198.51.100.7:1194 (OpenVPN?) ×14, "),
        "{rows}"
    );
    click(&desktop, &[BLOCKED, SUGGESTION]);
    let said = format!("Couldn't allow 198.51.100.7:1194/udp: not authorized — {why}");
    wait_for(WAIT, "the refusal notification", || {
        desktop.notifications().contains(&said)
    });
    wait_menu(&desktop, WAIT, "the refusal in the menu", |m| {
        m.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("Couldn't allow 198.51.100.7:1194/udp: not authorized"))
    });
    assert!(fake.requests().iter().any(|r| matches!(
        r,
        RequestBody::AddEndpoints { endpoints }
            if endpoints.iter().map(ToString::to_string).eq(["198.51.100.7:1194/udp"])
    )));
    // Still suggested: nothing was allowed.
    wait_for_submenu(&desktop, &[BLOCKED], WAIT, "still suggested", |m| {
        m.contains(SUGGESTION)
    });
}
