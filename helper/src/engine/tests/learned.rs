//! Learned endpoints on the fake clock: they expire exactly
//! `learned_endpoint_ttl` after the VPN last used them, leave the kernel
//! and the file then, and nothing the user added or imported ever does.

use airlock_shared::endpoint::{Endpoint, Origin};
use airlock_shared::ipc::protocol::{RequestBody, ResponseBody};
use airlock_shared::status::Fault;

use super::{endpoint, net, ok, Rig, T0};

/// A rig whose settings file turns the kill switch on with this TTL.
fn rig_with_ttl(ttl: &str) -> Rig {
    let rig = Rig::new();
    std::fs::write(
        rig.dir.path().join("settings.toml"),
        format!("kill_switch = true\nlearned_endpoint_ttl = \"{ttl}\"\n"),
    )
    .unwrap();
    rig
}

fn rules(rig: &Rig) -> String {
    rig.k().rules.clone().unwrap_or_default()
}

#[test]
fn a_learned_endpoint_expires_exactly_at_the_ttl_and_leaves_kernel_and_file() {
    let rig = rig_with_ttl("100s");
    let mut e = rig.engine();
    e.on_network(net(true), vec![endpoint()], T0);
    let saved = &rig.persisted().endpoints[0];
    assert_eq!(
        (saved.origin, saved.added_at, saved.last_seen),
        (Origin::Learned, Some(T0), Some(T0))
    );
    assert!(rules(&rig).contains("198.51.100.7"));
    assert_eq!(e.next_deadline(), Some(T0 + 100));
    // The tunnel goes down: the server is no longer in use.
    e.on_network(net(false), vec![], T0 + 10);
    let loads = rig.k().loads;
    e.on_deadline(T0 + 99).unwrap();
    assert_eq!(rig.k().loads, loads, "one second early: nothing");
    assert!(rules(&rig).contains("198.51.100.7"));
    e.on_deadline(T0 + 100).unwrap();
    let r = rules(&rig);
    assert!(!r.contains("198.51.100.7"), "{r}");
    assert!(e.settings().endpoints.is_empty());
    assert!(rig.persisted().endpoints.is_empty());
    assert_eq!(e.next_deadline(), None);
    assert!(e.status(T0 + 100).firewall.healthy);
}

#[test]
fn what_the_user_added_or_imported_never_expires() {
    let rig = rig_with_ttl("100s");
    let mut e = rig.engine();
    let typed: Endpoint = "203.0.113.1:443/tcp".parse().unwrap();
    let mut imported = endpoint().with_origin(Origin::Imported);
    imported.host = Some("vpn.example.com".into());
    ok(
        &mut e,
        RequestBody::AddEndpoints {
            endpoints: vec![typed, imported],
        },
    );
    assert_eq!(e.next_deadline(), None, "nothing to wake for");
    let later = T0 + 10 * 365 * 86_400;
    e.on_deadline(later).unwrap();
    let saved = rig.persisted().endpoints;
    let record: Vec<_> = saved.iter().map(|x| (x.origin, x.added_at)).collect();
    assert_eq!(
        record,
        [(Origin::Added, Some(T0)), (Origin::Imported, Some(T0))]
    );
    let r = rules(&rig);
    assert!(
        r.contains("203.0.113.1") && r.contains("198.51.100.7"),
        "{r}"
    );
}

#[test]
fn seen_again_the_expiry_starts_over() {
    let rig = rig_with_ttl("100s");
    let mut e = rig.engine();
    e.on_network(net(true), vec![endpoint()], T0);
    e.on_network(net(false), vec![], T0 + 10);
    // The VPN reconnects to the same server.
    assert!(e.would_learn_from(&net(true)));
    e.on_network(net(true), vec![endpoint()], T0 + 60);
    e.on_network(net(false), vec![], T0 + 70);
    assert_eq!(rig.persisted().endpoints[0].last_seen, Some(T0 + 60));
    assert_eq!(rig.persisted().endpoints[0].added_at, Some(T0));
    assert_eq!(e.next_deadline(), Some(T0 + 160));
    e.on_deadline(T0 + 100).unwrap();
    assert!(rules(&rig).contains("198.51.100.7"));
    e.on_deadline(T0 + 160).unwrap();
    assert!(!rules(&rig).contains("198.51.100.7"));
}

#[test]
fn the_server_of_a_tunnel_still_up_is_kept_and_seen_at_the_deadline() {
    let rig = rig_with_ttl("100s");
    let mut e = rig.engine();
    e.on_network(net(true), vec![endpoint()], T0);
    let loads = rig.k().loads;
    e.on_deadline(T0 + 100).unwrap();
    assert_eq!(rig.k().loads, loads, "kept: the rules do not change");
    assert_eq!(rig.persisted().endpoints[0].last_seen, Some(T0 + 100));
    assert_eq!(e.next_deadline(), Some(T0 + 200));
}

#[test]
fn a_refused_expiry_keeps_everything_says_so_and_succeeds_on_retry() {
    let rig = rig_with_ttl("100s");
    let mut e = rig.engine();
    e.on_network(net(true), vec![endpoint()], T0);
    e.on_network(net(false), vec![], T0 + 1);
    rig.k().fail_next_load = true;
    assert!(e.on_deadline(T0 + 100).is_err());
    assert!(rules(&rig).contains("198.51.100.7"));
    assert_eq!(rig.persisted().endpoints.len(), 1);
    assert_eq!(e.settings().endpoints.len(), 1, "disk and kernel agree");
    let st = e.status(T0 + 100);
    assert!(st
        .firewall
        .faults
        .iter()
        .any(|f| matches!(f, Fault::LearnedExpiryFailed { .. })));
    assert_eq!(e.next_deadline(), Some(T0 + 100), "still due: retried");
    e.on_deadline(T0 + 101).unwrap();
    assert!(!rules(&rig).contains("198.51.100.7"));
    assert!(e.status(T0 + 101).firewall.healthy);
}

#[test]
fn an_endpoint_that_expired_while_the_helper_was_down_goes_at_the_first_deadline() {
    let rig = rig_with_ttl("100s");
    let mut e = rig.engine();
    e.on_network(net(true), vec![endpoint()], T0);
    drop(e);
    // Restarted much later, no tunnel: the record survived the restart,
    // and the endpoint is overdue.
    let restart = T0 + 1000;
    let mut e = engine_at(&rig, restart);
    assert_eq!(e.settings().endpoints[0].origin, Origin::Learned);
    assert_eq!(e.next_deadline(), Some(T0 + 100));
    e.on_deadline(restart).unwrap();
    assert!(e.settings().endpoints.is_empty());
    assert!(!rules(&rig).contains("198.51.100.7"));
}

fn engine_at(rig: &Rig, now: u64) -> super::Engine {
    super::Engine::start(
        airlock_shared::platform::Platform::Linux,
        crate::firewall::Firewall::new(Box::new(super::FakeDriver(rig.kernel.clone()))),
        crate::persist::Store::new(rig.dir.path()),
        |_| net(false),
        now,
    )
}

#[test]
fn asking_for_a_learned_server_makes_it_the_users_and_the_list_shows_the_record() {
    let rig = rig_with_ttl("100s");
    let mut e = rig.engine();
    e.on_network(net(true), vec![endpoint()], T0);
    let ResponseBody::Endpoints(list) = ok(&mut e, RequestBody::ListEndpoints) else {
        panic!()
    };
    assert_eq!(
        (list[0].origin, list[0].added_at, list[0].last_seen),
        (Origin::Learned, Some(T0), Some(T0))
    );
    e.handle(
        RequestBody::AddEndpoints {
            endpoints: vec![endpoint()],
        },
        T0 + 5,
    )
    .unwrap();
    let saved = &rig.persisted().endpoints[0];
    assert_eq!(
        (saved.origin, saved.added_at, saved.last_seen),
        (Origin::Added, Some(T0 + 5), None)
    );
    assert_eq!(e.next_deadline(), None);
}

#[test]
fn ttl_never_keeps_learned_endpoints_for_good() {
    let rig = rig_with_ttl("never");
    let mut e = rig.engine();
    e.on_network(net(true), vec![endpoint()], T0);
    e.on_network(net(false), vec![], T0 + 1);
    assert_eq!(e.next_deadline(), None);
    e.on_deadline(T0 + 10 * 365 * 86_400).unwrap();
    assert_eq!(rig.persisted().endpoints.len(), 1);
}
