//! Engine behaviour with a fake kernel: what is loaded when, what is
//! persisted, what the status says, and that failures leave the previous
//! rules in force.

use std::sync::{Arc, Mutex};

use airlock_shared::endpoint::Endpoint;
use airlock_shared::ipc::protocol::{ErrorCode, OptionName, RequestBody, ResponseBody};
use airlock_shared::network::NetworkSnapshot;
use airlock_shared::platform::Platform;
use airlock_shared::policy::Policy;
use airlock_shared::settings::Settings;
use airlock_shared::status::{Fault, Guard, GuardGap, KillSwitch, Protection};

use super::Engine;
use crate::firewall::test_support::{iface, route};
use crate::firewall::{Backend, DriverError, Firewall, Problem};
use crate::persist::Store;
use airlock_shared::firewall_kind::FirewallKind;

/// What the fake kernel holds and what was asked of it.
#[derive(Default)]
struct Kernel {
    rules: Option<String>,
    loads: usize,
    removes: usize,
    kills: usize,
    fail_next_load: bool,
    /// pf whose main ruleset does not evaluate `com.apple/*` (a custom
    /// pf.conf): our rules load, but every check finds them unreferenced.
    unreferenced: bool,
    fail_kill: bool,
    /// What the block counters say on top of 7 (the self-test's reading).
    more_blocked: u64,
    /// The tamper guard's script, while held.
    guard: Option<String>,
    /// Why this kernel cannot hold a guard (`None`: it can).
    no_guard: Option<GuardGap>,
}

struct FakeDriver(Arc<Mutex<Kernel>>);

impl Backend for FakeDriver {
    fn kind(&self) -> FirewallKind {
        FirewallKind::Nft
    }
    fn load(&mut self, ruleset: &str) -> Result<(), DriverError> {
        let mut k = self.0.lock().unwrap();
        if std::mem::take(&mut k.fail_next_load) {
            return Err(DriverError::Verification("fake kernel refused".into()));
        }
        k.rules = Some(ruleset.to_string());
        k.loads += 1;
        Ok(())
    }
    fn load_with_guard(&mut self, ruleset: &str, guard: &str) -> Result<Guard, DriverError> {
        self.load(ruleset)?;
        let mut k = self.0.lock().unwrap();
        Ok(match k.no_guard.clone() {
            Some(why) => Guard::Unavailable { why },
            None => {
                k.guard = Some(guard.to_string());
                Guard::On
            }
        })
    }
    fn remove(&mut self) -> Result<(), DriverError> {
        let mut k = self.0.lock().unwrap();
        k.rules = None;
        k.guard = None;
        k.removes += 1;
        Ok(())
    }
    fn check(&mut self, expect_loaded: bool) -> Result<Vec<Problem>, DriverError> {
        let k = self.0.lock().unwrap();
        Ok(match (expect_loaded, k.rules.is_some()) {
            (true, false) => vec![Problem::TableMissing],
            (true, true) if k.unreferenced => vec![Problem::AnchorNotReferenced],
            (false, true) => vec![Problem::LeftOver {
                kind: FirewallKind::Nft,
            }],
            _ => vec![],
        })
    }
    fn kill_forbidden(&mut self, _: &Policy, _: &NetworkSnapshot) -> Result<usize, DriverError> {
        let mut k = self.0.lock().unwrap();
        k.kills += 1;
        if k.fail_kill {
            return Err(DriverError::Verification("fake conntrack refused".into()));
        }
        Ok(0)
    }
    fn tracked_flows(&mut self) -> Result<Vec<crate::firewall::flow::Flow>, DriverError> {
        Ok(vec![])
    }
    fn blocked_packets(&mut self) -> Result<Option<u64>, DriverError> {
        let k = self.0.lock().unwrap();
        Ok(k.rules.as_ref().map(|_| 7 + k.more_blocked))
    }
    fn loaded_text(&mut self) -> Result<String, DriverError> {
        Ok(self.0.lock().unwrap().rules.clone().unwrap_or_default())
    }
}

const T0: u64 = 1_800_000_000;

fn net(tunnel: bool) -> NetworkSnapshot {
    let mut s = NetworkSnapshot {
        interfaces: vec![
            iface("lo", &["127.0.0.1/8"]),
            iface("eth0", &["192.168.1.20/24"]),
        ],
        routes: vec![route("0.0.0.0/0", Some("192.168.1.1"), "eth0")],
        dns: vec![],
    };
    if tunnel {
        s.interfaces.push(iface("tun0", &["10.8.0.2/24"]));
        s.routes
            .push(route("198.51.100.7/32", Some("192.168.1.1"), "eth0"));
    }
    s
}

struct Rig {
    kernel: Arc<Mutex<Kernel>>,
    dir: tempfile::TempDir,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            kernel: Arc::default(),
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn engine(&self) -> Engine {
        Engine::start(
            Platform::Linux,
            Firewall::new(Box::new(FakeDriver(self.kernel.clone()))),
            Store::new(self.dir.path()),
            |_| net(false),
            T0,
        )
    }
    fn k(&self) -> std::sync::MutexGuard<'_, Kernel> {
        self.kernel.lock().unwrap()
    }
    /// (loads, removes) read under one lock.
    fn calls(&self) -> (usize, usize) {
        let k = self.k();
        (k.loads, k.removes)
    }
    fn persisted(&self) -> Settings {
        Settings::load(&self.dir.path().join("settings.toml")).unwrap()
    }
}

fn endpoint() -> Endpoint {
    "198.51.100.7:1194/udp".parse().unwrap()
}

fn ok(e: &mut Engine, body: RequestBody) -> ResponseBody {
    e.handle(body, T0).unwrap()
}

#[test]
fn first_start_is_off_and_loads_nothing() {
    let rig = Rig::new();
    let e = rig.engine();
    let st = e.status(T0);
    assert_eq!(
        (st.kill_switch, st.protection),
        (KillSwitch::Off, Protection::Off)
    );
    assert_eq!(rig.calls(), (0, 0));
    assert!(st.firewall.healthy);
}

#[test]
fn enable_loads_persists_cuts_and_reports_blocking() {
    let rig = Rig::new();
    let mut e = rig.engine();
    ok(
        &mut e,
        RequestBody::AddEndpoints {
            endpoints: vec![endpoint()],
        },
    );
    assert_eq!(
        rig.k().loads,
        0,
        "adding an endpoint while off loads nothing"
    );
    let ResponseBody::Done(st) = ok(&mut e, RequestBody::Enable) else {
        panic!()
    };
    assert_eq!(
        (st.kill_switch, st.protection),
        (KillSwitch::On, Protection::Blocking)
    );
    let k = rig.k();
    assert_eq!((k.loads, k.kills), (1, 1));
    assert!(k.rules.as_deref().unwrap().contains("198.51.100.7"));
    drop(k);
    let saved = rig.persisted();
    assert!(saved.kill_switch);
    assert_eq!(saved.endpoints, vec![endpoint()]);
}

#[test]
fn a_refused_load_changes_nothing() {
    let rig = Rig::new();
    let mut e = rig.engine();
    ok(&mut e, RequestBody::Enable);
    let before = rig.k().rules.clone();
    rig.k().fail_next_load = true;
    let err = e
        .handle(
            RequestBody::SetOption {
                option: OptionName::AllowLan,
                value: true,
            },
            T0,
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Firewall);
    assert!(
        err.message.contains("previous ones stay in force"),
        "{}",
        err.message
    );
    assert!(!e.settings().allow_lan);
    assert!(!rig.persisted().allow_lan, "nothing persisted");
    assert_eq!(rig.k().rules, before, "kernel keeps the old rules");
}

#[test]
fn tunnel_up_turns_green_without_reloading_wildcard_rules() {
    let rig = Rig::new();
    let mut e = rig.engine();
    ok(
        &mut e,
        RequestBody::AddEndpoints {
            endpoints: vec![endpoint()],
        },
    );
    ok(&mut e, RequestBody::Enable);
    let loads = rig.k().loads;
    e.on_network(net(true), vec![], T0 + 1);
    let st = e.status(T0 + 1);
    assert_eq!(st.protection, Protection::Protected);
    assert_eq!(st.tunnel.interface.as_deref(), Some("tun0"));
    assert_eq!(st.tunnel.endpoint.as_deref(), Some("198.51.100.7:1194/udp"));
    // The tunnel coming up reloads once: Blocking's DNS redirect to the
    // filtering resolver must go (Airlock leaves DNS alone while a tunnel
    // is up). A further tunnel is covered by the wildcard: no reload.
    assert_eq!(rig.k().loads, loads + 1, "only the DNS redirect goes");
    let loads = rig.k().loads;
    let mut two = net(true);
    two.interfaces.push(iface("tun1", &["10.8.1.2/24"]));
    e.on_network(two, vec![], T0 + 1);
    assert_eq!(
        rig.k().loads,
        loads,
        "nft's tun* wildcard covers tun1 already"
    );
    e.on_network(net(false), vec![], T0 + 2);
    assert_eq!(e.status(T0 + 2).protection, Protection::Blocking);
}

#[test]
fn learned_endpoints_are_added_loaded_and_persisted() {
    let rig = Rig::new();
    let mut e = rig.engine();
    ok(&mut e, RequestBody::Enable);
    assert!(
        e.would_learn_from(&net(true)),
        "a new server route: worth listing flows"
    );
    e.on_network(net(true), vec![endpoint()], T0 + 1);
    assert!(
        !e.would_learn_from(&net(true)),
        "the same route again: nothing to learn"
    );
    assert!(!e.would_learn_from(&net(false)), "no route at all");
    assert_eq!(e.settings().endpoints, vec![endpoint()]);
    assert_eq!(rig.persisted().endpoints, vec![endpoint()]);
    assert!(rig.k().rules.as_deref().unwrap().contains("198.51.100.7"));
    // Learning the same one again changes nothing.
    let loads = rig.k().loads;
    e.on_network(net(true), vec![endpoint()], T0 + 2);
    assert_eq!(rig.k().loads, loads);
}

#[test]
fn pause_relocks_at_the_deadline_by_itself() {
    let rig = Rig::new();
    let mut e = rig.engine();
    ok(&mut e, RequestBody::Enable);
    let ResponseBody::Done(st) = ok(&mut e, RequestBody::Pause { seconds: 300 }) else {
        panic!()
    };
    assert_eq!(
        (st.kill_switch, st.protection),
        (KillSwitch::Paused, Protection::Paused)
    );
    assert_eq!(st.paused_until, Some(T0 + 300));
    assert_eq!(e.next_deadline(), Some(T0 + 300));
    let kills = rig.k().kills;
    e.on_deadline(T0 + 299).unwrap();
    assert_eq!(e.status(T0 + 299).kill_switch, KillSwitch::Paused);
    e.on_deadline(T0 + 300).unwrap();
    let st = e.status(T0 + 300);
    assert_eq!(st.kill_switch, KillSwitch::On);
    assert_eq!(e.next_deadline(), None);
    assert_eq!(rig.persisted().pause_until, None);
    assert_eq!(
        rig.k().kills,
        kills + 1,
        "connections opened during the pause are cut"
    );
}

#[test]
fn bad_requests_are_refused_and_change_nothing() {
    let rig = Rig::new();
    let mut e = rig.engine();
    let err = e
        .handle(RequestBody::Pause { seconds: 60 }, T0)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadRequest);
    ok(&mut e, RequestBody::Enable);
    for body in [
        RequestBody::Pause { seconds: 0 },
        RequestBody::Pause { seconds: 90_000 },
        RequestBody::RemoveEndpoints {
            endpoints: vec![endpoint()],
        },
        RequestBody::AddEndpoints { endpoints: vec![] },
    ] {
        let err = e.handle(body, T0).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest, "{}", err.message);
    }
    assert_eq!(
        rig.persisted(),
        Settings {
            kill_switch: true,
            ..Settings::default()
        }
    );
}

#[test]
fn tamper_is_repaired_and_reported() {
    let rig = Rig::new();
    let mut e = rig.engine();
    ok(&mut e, RequestBody::Enable);
    assert!(!e.check_firewall(T0 + 1), "healthy: nothing to do");
    let loaded = rig.k().rules.clone();
    rig.k().rules = None; // someone ran `nft delete table inet airlock`
    assert!(e.check_firewall(T0 + 5));
    assert_eq!(rig.k().rules, loaded, "the same rules are back");
    let st = e.status(T0 + 5);
    assert_eq!(st.firewall.last_tamper, Some(T0 + 5));
    assert!(st.firewall.healthy);
    assert_eq!(st.protection, Protection::Blocking);
}

/// The guard goes in with every load, of the same policy, survives the
/// repair of a deleted table, and is off once the rules are removed; a
/// kernel that cannot hold one still gets the rules, and the status says
/// why it is missing.
#[test]
fn the_tamper_guard_follows_the_rules_and_its_absence_is_reported() {
    let rig = Rig::new();
    let mut e = rig.engine();
    assert_eq!(e.status(T0).firewall.guard, Guard::Off);
    ok(
        &mut e,
        RequestBody::AddEndpoints {
            endpoints: vec![endpoint()],
        },
    );
    ok(&mut e, RequestBody::Enable);
    assert_eq!(e.status(T0).firewall.guard, Guard::On);
    let guard = rig.k().guard.clone().unwrap();
    assert!(
        guard.contains("table inet airlock_guard") && guard.contains("198.51.100.7"),
        "{guard}"
    );
    rig.k().rules = None; // someone ran `nft delete table inet airlock`
    assert!(e.check_firewall(T0 + 5));
    assert_eq!(e.status(T0 + 5).firewall.guard, Guard::On);
    assert_eq!(rig.k().guard.as_ref(), Some(&guard), "the same guard");
    ok(&mut e, RequestBody::Disable);
    assert_eq!(e.status(T0).firewall.guard, Guard::Off);
    assert_eq!(rig.k().guard, None);

    rig.k().no_guard = Some(GuardGap::KernelLacksOwner);
    ok(&mut e, RequestBody::Enable);
    let st = e.status(T0);
    assert_eq!(
        st.firewall.guard,
        Guard::Unavailable {
            why: GuardGap::KernelLacksOwner
        }
    );
    assert!(rig.k().rules.is_some(), "the rules are in all the same");
    assert!(st.firewall.healthy, "a missing guard is no fault: {st:?}");

    // A guard that failed for a passing reason is tried again at the next
    // apply, although the rules are the same; a kernel that lacks owned
    // tables is not asked again.
    let loads = rig.k().loads;
    e.on_network(net(false), vec![], T0 + 1);
    assert_eq!(
        rig.k().loads,
        loads,
        "the same rules, a lasting gap: nothing run"
    );
    ok(&mut e, RequestBody::Disable);
    rig.k().no_guard = Some(GuardGap::LoadFailed {
        error: "EBUSY".into(),
    });
    ok(&mut e, RequestBody::Enable);
    rig.k().no_guard = None;
    let loads = rig.k().loads;
    e.on_network(net(false), vec![], T0 + 2);
    assert_eq!(rig.k().loads, loads + 1, "the guard was tried again");
    assert_eq!(e.status(T0 + 2).firewall.guard, Guard::On);
}

#[test]
fn disable_removes_the_rules() {
    let rig = Rig::new();
    let mut e = rig.engine();
    ok(&mut e, RequestBody::Enable);
    ok(&mut e, RequestBody::Disable);
    let k = rig.k();
    assert_eq!((k.rules.is_none(), k.removes), (true, 1));
    drop(k);
    assert!(!rig.persisted().kill_switch);
}

#[test]
fn restart_restores_the_persisted_state_before_serving() {
    let rig = Rig::new();
    {
        let mut e = rig.engine();
        ok(
            &mut e,
            RequestBody::AddEndpoints {
                endpoints: vec![endpoint()],
            },
        );
        ok(&mut e, RequestBody::Enable);
    }
    rig.k().rules = None; // a reboot: the kernel starts empty
    let e = rig.engine();
    assert!(rig.k().rules.as_deref().unwrap().contains("198.51.100.7"));
    assert_eq!(e.status(T0).kill_switch, KillSwitch::On);
}

#[test]
fn corrupt_state_keeps_the_kernel_rules_and_faults() {
    let rig = Rig::new();
    {
        let mut e = rig.engine();
        ok(&mut e, RequestBody::Enable);
    }
    // No last-good copy either (e.g. a state dir from an older helper):
    // nothing to restore, so the kernel's rules are all that is left.
    std::fs::remove_file(rig.dir.path().join("settings.toml.last-good")).unwrap();
    std::fs::write(
        rig.dir.path().join("settings.toml"),
        "kill_switch = yes please\n",
    )
    .unwrap();
    let before = rig.calls();
    let e = rig.engine();
    assert_eq!(rig.calls(), before, "kernel untouched");
    let st = e.status(T0);
    assert_eq!(st.protection, Protection::Fault);
    assert_eq!(
        st.kill_switch,
        KillSwitch::On,
        "the rules in the kernel still block"
    );
    assert_eq!(
        st.firewall.guard,
        Guard::Unavailable {
            why: GuardGap::Adopted
        },
        "no guard of rules the helper did not load"
    );
    assert!(
        matches!(
            &st.firewall.faults[..],
            [Fault::SettingsLost {
                kept_kernel_rules: true,
                moved_to: Some(_),
                ..
            }]
        ),
        "{:?}",
        st.firewall.faults
    );
    let reason = st.reason.unwrap();
    assert!(
        reason.contains("settings.toml:1:") && reason.contains("moved to"),
        "{reason}"
    );
    // The next start does not trip over the same file again; the rules
    // are still there (never opened on a guess) and that is reported.
    let e = rig.engine();
    assert_eq!(rig.calls(), before, "kernel still untouched");
    let st = e.status(T0);
    assert_eq!(st.protection, Protection::Fault);
    let reason = st.reason.unwrap();
    assert!(
        !reason.contains("settings.toml") && reason.contains("still in the kernel"),
        "{reason}"
    );
}

#[test]
fn corrupt_state_is_restored_from_the_last_good_copy() {
    let rig = Rig::new();
    let saved = {
        let mut e = rig.engine();
        ok(&mut e, RequestBody::Enable);
        e.settings().clone()
    };
    std::fs::write(
        rig.dir.path().join("settings.toml"),
        "kill_switch = yes please\n",
    )
    .unwrap();
    let e = rig.engine();
    assert_eq!(e.settings(), &saved, "the user's settings survive");
    let st = e.status(T0);
    assert_eq!(st.protection, Protection::Fault);
    assert!(
        matches!(
            &st.firewall.faults[..],
            [Fault::SettingsRestored {
                save_error: None,
                ..
            }]
        ),
        "{:?}",
        st.firewall.faults
    );
    let reason = st.reason.unwrap();
    assert!(
        reason.contains("settings.toml:1:") && reason.contains("last-good"),
        "{reason}"
    );
    // The restored copy became the main file again: a further start
    // loads it cleanly, with no fault.
    drop(e);
    let e = rig.engine();
    assert_eq!(e.settings(), &saved);
    assert!(e.status(T0).reason.is_none());
}

#[test]
fn unsaveable_settings_roll_the_kernel_back() {
    let rig = Rig::new();
    let blocker = rig.dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let mut e = Engine::start(
        Platform::Linux,
        Firewall::new(Box::new(FakeDriver(rig.kernel.clone()))),
        Store::new(blocker.join("state")),
        |_| net(false),
        T0,
    );
    let err = e.handle(RequestBody::Enable, T0).unwrap_err();
    assert_eq!(err.code, ErrorCode::Internal);
    assert!(
        rig.k().rules.is_none(),
        "kernel rolled back to the old (empty) state"
    );
    assert_eq!(e.status(T0).kill_switch, KillSwitch::Off);
}

/// The page of the rules at `offset`: (text, total, digest).
fn rules_at(e: &mut Engine, offset: u64) -> (String, u64, String) {
    match ok(e, RequestBody::GetRules { offset }) {
        ResponseBody::Rules {
            backend,
            text,
            offset: got,
            total,
            digest,
        } => {
            assert_eq!((backend.as_str(), got), ("nft", offset));
            (text, total, digest)
        }
        other => panic!("{other:?}"),
    }
}

/// A listing several pages long, as `nft list table` would print it.
fn big_listing(blocked: u64) -> String {
    let mut text = format!(
        "table inet airlock {{\n\tcounter blocked_out {{\n\t\tpackets {blocked} bytes 0\n\t}}\n"
    );
    for i in 0..3_000 {
        text.push_str(&format!(
            "\t\tip daddr 198.51.{}.{} udp dport 1194 accept\n",
            i / 256,
            i % 256
        ));
    }
    text.push_str("}\n");
    text
}

/// The counters in the kernel's listing tick between pages; the pages of
/// one read still come from one listing, so they agree.
#[test]
fn rules_pages_of_one_read_come_from_one_listing() {
    let rig = Rig::new();
    let mut e = rig.engine();
    ok(&mut e, RequestBody::Enable);
    let first = big_listing(0);
    rig.k().rules = Some(first.clone());
    let (mut text, total, digest) = rules_at(&mut e, 0);
    assert_eq!(total, first.len() as u64);
    assert!(text.len() < first.len(), "more than one page");
    rig.k().rules = Some(big_listing(12_345));
    while (text.len() as u64) < total {
        let (page, t, d) = rules_at(&mut e, text.len() as u64);
        assert_eq!((t, &d), (total, &digest));
        text.push_str(&page);
    }
    assert!(text == first, "pages of the first listing");
    // A new read asks the kernel again.
    let (_, total, digest2) = rules_at(&mut e, 0);
    assert_eq!(total, big_listing(12_345).len() as u64);
    assert_ne!(digest2, digest);
}

/// A change between pages: the next page comes from the new rules, so the
/// client sees the digest change (or, the new rules being shorter, its
/// offset refused) and starts over.
#[test]
fn rules_pages_after_a_change_describe_the_new_rules() {
    let rig = Rig::new();
    let mut e = rig.engine();
    ok(&mut e, RequestBody::Enable);
    rig.k().rules = Some(big_listing(0));
    let (page, _, digest) = rules_at(&mut e, 0);
    ok(
        &mut e,
        RequestBody::AddEndpoints {
            endpoints: vec![endpoint()],
        },
    );
    let loaded = rig.k().rules.clone().unwrap();
    assert!(
        loaded.len() < page.len(),
        "the test wants shorter new rules"
    );
    let err = e
        .handle(
            RequestBody::GetRules {
                offset: page.len() as u64,
            },
            T0,
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadRequest);
    assert!(
        err.message.contains(&format!("{} bytes", loaded.len())),
        "{}",
        err.message
    );
    let (_, total, after) = rules_at(&mut e, 10);
    assert_eq!(total, loaded.len() as u64);
    assert_ne!(after, digest);
}

#[test]
fn a_rules_offset_that_is_no_page_start_is_a_bad_request() {
    let rig = Rig::new();
    let mut e = rig.engine();
    ok(&mut e, RequestBody::Enable);
    rig.k().rules = Some("table ✓ {\n}\n".into());
    for (offset, words) in [
        (15, "no page at byte 15"),
        (u64::MAX, "no page"),
        (7, "inside a UTF-8 character"),
    ] {
        let err = e.handle(RequestBody::GetRules { offset }, T0).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
        assert!(err.message.contains(words), "{offset}: {}", err.message);
    }
    let (text, total, _) = rules_at(&mut e, 0);
    assert_eq!((text.as_str(), total), ("table ✓ {\n}\n", 14));
    // Off: nothing loaded, one empty page.
    ok(&mut e, RequestBody::Disable);
    assert_eq!(rules_at(&mut e, 0).0, "");
}

/// pf with a main ruleset that does not evaluate `com.apple/*`: no load can
/// fix that, so it is reported (amber, in pf's words) but never taken for
/// a tamper, neither after the first load nor after a later change. Before
/// problems were typed, `apply()` cleared it and the next check counted a
/// tamper and reloaded after every change.
#[test]
fn an_unreferenced_pf_anchor_is_reported_not_reloaded_after_each_change() {
    let rig = Rig::new();
    rig.k().unreferenced = true;
    let mut e = rig.engine();
    ok(&mut e, RequestBody::Enable);
    let loads = rig.k().loads;
    assert!(!e.check_firewall(T0 + 1), "not a tamper");
    let ResponseBody::Done(st) = ok(
        &mut e,
        RequestBody::SetOption {
            option: OptionName::AllowLan,
            value: true,
        },
    ) else {
        panic!()
    };
    let unreferenced = Problem::AnchorNotReferenced;
    assert_eq!(
        st.firewall.problems,
        std::slice::from_ref(&unreferenced),
        "the change's answer still says so"
    );
    assert_eq!(st.reason, Some(unreferenced.to_string()));
    assert!(!e.check_firewall(T0 + 2), "not a tamper after a change");
    assert_eq!(rig.k().loads, loads + 1, "only the change loaded");
    let st = e.status(T0 + 2);
    assert_eq!(st.firewall.last_tamper, None);
    assert_eq!(st.firewall.problems, [unreferenced]);
    assert_eq!(st.protection, Protection::Fault);
}

/// A failed cut is an engine fault: the next (healthy) check keeps it.
#[test]
fn a_failed_cut_survives_the_next_check() {
    let rig = Rig::new();
    rig.k().fail_kill = true;
    let mut e = rig.engine();
    ok(&mut e, RequestBody::Enable);
    assert!(!e.check_firewall(T0 + 1));
    let st = e.status(T0 + 1);
    assert!(!st.firewall.healthy);
    assert!(
        matches!(&st.firewall.faults[..], [Fault::CutFailed { .. }]),
        "a cut fault, not a kernel problem: {:?}",
        st.firewall
    );
    assert!(st.firewall.problems.is_empty());
    let reason = st.reason.unwrap();
    assert!(reason.contains("could not cut connections"), "{reason}");
}

// The filtering resolver's pins (engine/pins.rs).

fn vpn_answer(addr: &str, ttl: u32) -> airlock_shared::dns::UpstreamAnswer {
    airlock_shared::dns::UpstreamAnswer {
        rcode: airlock_shared::dns::Rcode::NoError,
        truncated: false,
        addresses: vec![(addr.parse().unwrap(), ttl)],
        omitted: 0,
    }
}

fn blocking_with_named_endpoint(rig: &Rig) -> Engine {
    let mut e = rig.engine();
    e.change(T0, |s| {
        s.kill_switch = true;
        let mut ep = endpoint();
        ep.host = Some("vpn.lab.test".into());
        s.endpoints.push(ep);
        Ok(())
    })
    .unwrap();
    e
}

#[test]
fn an_answer_is_in_the_kernel_before_pin_answer_returns_and_never_on_disk() {
    let rig = Rig::new();
    let mut e = blocking_with_named_endpoint(&rig);
    assert!(e.resolver_view(T0).active);
    let name = airlock_shared::dns::Name::from_dotted("VPN.lab.test").unwrap();
    e.pin_answer(&name, &vpn_answer("203.0.113.9", 300), T0)
        .unwrap();
    let rules = rig.k().rules.clone().unwrap();
    assert!(rules.contains("203.0.113.9"), "{rules}");
    assert_eq!(e.pins().endpoints()[0].to_string(), "203.0.113.9:1194/udp");
    assert_eq!(rig.persisted().endpoints.len(), 1);
    // Expired, it leaves the kernel.
    e.expire_pins(T0 + 301);
    assert!(!rig.k().rules.clone().unwrap().contains("203.0.113.9"));
}

#[test]
fn a_failed_load_leaves_no_pin_behind() {
    let rig = Rig::new();
    let mut e = blocking_with_named_endpoint(&rig);
    rig.k().fail_next_load = true;
    let name = airlock_shared::dns::Name::from_dotted("vpn.lab.test").unwrap();
    assert!(e
        .pin_answer(&name, &vpn_answer("203.0.113.9", 300), T0)
        .is_err());
    assert!(e.pins().pins().is_empty());
}

#[test]
fn nothing_is_pinned_and_the_resolver_is_off_unless_blocking() {
    let rig = Rig::new();
    let mut e = rig.engine();
    assert!(!e.resolver_view(T0).active);
    let name = airlock_shared::dns::Name::from_dotted("vpn.lab.test").unwrap();
    e.pin_answer(&name, &vpn_answer("203.0.113.9", 300), T0)
        .unwrap();
    assert!(e.pins().pins().is_empty());
    // Blocking, pinned, then a tunnel comes up: the pins go.
    let mut e = blocking_with_named_endpoint(&rig);
    e.pin_answer(&name, &vpn_answer("203.0.113.9", 300), T0)
        .unwrap();
    assert_eq!(e.pins().pins().len(), 1);
    e.on_network(net(true), vec![], T0);
    assert!(!e.resolver_view(T0).active);
    e.expire_pins(T0);
    assert!(e.pins().pins().is_empty());
}

/// The self-test reads the counters before and after each attempt, within
/// the same second: `GetCounters` must read the kernel each time, where
/// the status keeps a reading for a second.
#[test]
fn counters_are_read_afresh_for_the_self_test() {
    let rig = Rig::new();
    let mut e = rig.engine();
    let counters = |e: &mut Engine| match e.handle(RequestBody::GetCounters, T0) {
        Ok(ResponseBody::Counters { blocked_packets }) => blocked_packets,
        other => panic!("{other:?}"),
    };
    assert_eq!(counters(&mut e), None, "nothing loaded, nothing counted");
    ok(&mut e, RequestBody::Enable);
    assert_eq!(counters(&mut e), Some(7));
    rig.k().more_blocked = 3;
    assert_eq!(
        counters(&mut e),
        Some(10),
        "the same second, a fresh reading"
    );
    let ResponseBody::Status(st) = ok(&mut e, RequestBody::GetStatus) else {
        panic!()
    };
    assert_eq!(st.firewall.blocked_packets, 10);
    assert!(!RequestBody::GetCounters.is_mutating());
}

#[test]
fn the_engine_wakes_for_the_first_pin_to_expire_and_drops_it_then() {
    let rig = Rig::new();
    let mut e = blocking_with_named_endpoint(&rig);
    assert_eq!(e.next_deadline(), None);
    let name = airlock_shared::dns::Name::from_dotted("vpn.lab.test").unwrap();
    e.pin_answer(&name, &vpn_answer("203.0.113.9", 300), T0)
        .unwrap();
    e.pin_answer(&name, &vpn_answer("203.0.113.10", 120), T0 + 10)
        .unwrap();
    assert_eq!(e.next_deadline(), Some(T0 + 130));
    // Woken early (the daemon wakes a little ahead): nothing changes.
    let loads = rig.k().loads;
    e.on_deadline(T0 + 129).unwrap();
    assert_eq!(rig.k().loads, loads);
    assert_eq!(e.pins().pins().len(), 2);
    // At the deadline the expired pin leaves the kernel, the other stays,
    // and the next wake-up is the other's expiry.
    e.on_deadline(T0 + 130).unwrap();
    let rules = rig.k().rules.clone().unwrap();
    assert!(!rules.contains("203.0.113.10"), "{rules}");
    assert!(rules.contains("203.0.113.9"), "{rules}");
    assert_eq!(e.next_deadline(), Some(T0 + 300));
    // Seen again in an answer: the deadline moves with it.
    e.pin_answer(&name, &vpn_answer("203.0.113.9", 300), T0 + 200)
        .unwrap();
    assert_eq!(e.next_deadline(), Some(T0 + 500));
    e.on_deadline(T0 + 499).unwrap();
    assert!(rig.k().rules.clone().unwrap().contains("203.0.113.9"));
    e.on_deadline(T0 + 500).unwrap();
    assert!(!rig.k().rules.clone().unwrap().contains("203.0.113.9"));
    assert!(e.pins().pins().is_empty());
    assert_eq!(e.next_deadline(), None);
}

#[test]
fn a_pause_and_a_pin_wake_the_engine_at_whichever_comes_first() {
    let rig = Rig::new();
    let mut e = blocking_with_named_endpoint(&rig);
    let name = airlock_shared::dns::Name::from_dotted("vpn.lab.test").unwrap();
    e.pin_answer(&name, &vpn_answer("203.0.113.9", 100), T0)
        .unwrap();
    assert_eq!(e.next_deadline(), Some(T0 + 100));
    // A pause leaves Blocking: the pins go (the daemon expires pins after
    // every message), and the pause's end is next.
    e.handle(RequestBody::Pause { seconds: 300 }, T0 + 1)
        .unwrap();
    e.expire_pins(T0 + 1);
    assert!(e.pins().pins().is_empty());
    assert_eq!(e.next_deadline(), Some(T0 + 301));
}

/// "Allow the Server of the VPN Connected Now" with nothing to learn (no
/// tunnel, or no connection to its server): refused with the reason, and
/// nothing is changed or loaded.
#[test]
fn learning_on_request_with_nothing_to_learn_says_why() {
    let rig = Rig::new();
    let mut e = rig.engine();
    ok(&mut e, RequestBody::Enable);
    e.on_network(net(true), vec![], T0 + 1);
    let loads = rig.k().loads;
    let err = e.handle(RequestBody::LearnEndpoints, T0 + 2).unwrap_err();
    assert_eq!(err.code, ErrorCode::BadRequest);
    assert!(err.message.starts_with("no VPN server to learn"), "{err}");
    assert!(e.settings().endpoints.is_empty());
    assert_eq!(rig.k().loads, loads);
}

mod learned;
