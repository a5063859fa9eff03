//! The pf driver against a recording stand-in `pfctl` (tests/fixtures/pfctl):
//! the exact commands and stdin it sends, how it keeps and releases its pf
//! enable token, what it reports, and that it never runs anything that would
//! disturb other pf users (`-d`, `-F all`, /etc/pf.conf).

use std::path::{Path, PathBuf};

use airlock_helper::firewall::pf::{PfConfig, PfDriver, ANCHOR, LEGACY_ANCHOR, TOKEN_FILE};
use airlock_helper::firewall::{Backend, DriverError, Problem};
use airlock_shared::endpoint::Endpoint;
use airlock_shared::firewall_kind::FirewallKind;
use airlock_shared::network::NetworkSnapshot;
use airlock_shared::platform::Platform;
use airlock_shared::policy;
use airlock_shared::settings::Settings;
use airlock_test_support::network;

const RULES: &str = "\
# loopback: this machine talking to itself
pass quick on lo0 all
# VPN tunnel: everything inside the tunnel is protected
pass quick on utun4 all
block return out log (user) quick all
block drop in log quick all
";

/// One stand-in pfctl with its own log and state directory.
struct Bench {
    dir: tempfile::TempDir,
    state: PathBuf,
}

impl Bench {
    /// `env` is extra `NAME=value` settings for the stand-in.
    fn new(env: &[&str]) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let standin = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pfctl");
        // A symlink to the committed stand-in plus an `env` file it reads:
        // no executable is written at test time (see the stand-in's header).
        std::os::unix::fs::symlink(&standin, dir.path().join("pfctl")).unwrap();
        std::os::unix::fs::symlink(
            standin.with_file_name("ifconfig"),
            dir.path().join("ifconfig"),
        )
        .unwrap();
        let mut settings = format!(
            "PFCTL_STANDIN_DIR={}\n",
            quote(&dir.path().display().to_string())
        );
        for e in env {
            let (name, value) = e.split_once('=').unwrap();
            settings.push_str(&format!("{name}={}\n", quote(value)));
        }
        std::fs::write(dir.path().join("env"), settings).unwrap();
        let state = dir.path().join("state");
        Bench { dir, state }
    }

    fn driver(&self) -> PfDriver {
        PfDriver::new(PfConfig {
            pfctl: self.dir.path().join("pfctl"),
            ifconfig: self.dir.path().join("ifconfig"),
            state_dir: self.state.clone(),
        })
    }

    /// Calls so far, each as (argv line, stdin if it read one); clears the log.
    fn take_calls(&self) -> Vec<(String, Option<String>)> {
        let log = self.dir.path().join("calls.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let calls = text
            .lines()
            .enumerate()
            .map(|(i, line)| {
                let stdin = self.dir.path().join(format!("stdin.{}", i + 1));
                let input = std::fs::read_to_string(&stdin).ok();
                let _ = std::fs::remove_file(stdin);
                (line.to_string(), input)
            })
            .collect::<Vec<_>>();
        let _ = std::fs::remove_file(log);
        assert_harmless(&calls);
        calls
    }

    /// ifconfig calls so far, argv lines; clears the log.
    fn take_ifconfig_calls(&self) -> Vec<String> {
        let log = self.dir.path().join("ifconfig-calls.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(log);
        text.lines().map(str::to_string).collect()
    }

    fn token(&self) -> Option<String> {
        std::fs::read_to_string(self.state.join(TOKEN_FILE)).ok()
    }

    fn standin_state(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// An argv line as the stand-in logs it.
fn call(args: &[&str]) -> String {
    args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

fn plain(args: &[&str]) -> (String, Option<String>) {
    (call(args), None)
}

/// Nothing that switches pf off for everyone, flushes everyone's rules or
/// touches the system's pf.conf.
fn assert_harmless(calls: &[(String, Option<String>)]) {
    for (line, _) in calls {
        let words: Vec<&str> = line.split(' ').collect();
        assert!(!words.contains(&"'-d'"), "pfctl -d: {line}");
        assert!(!line.contains("pf.conf"), "mentions pf.conf: {line}");
        for pair in words.windows(2) {
            assert!(
                !(pair[0] == "'-F'" && pair[1] == "'all'"),
                "pfctl -F all: {line}"
            );
        }
        assert!(!line.contains("'-Fa'"), "pfctl -Fa: {line}");
    }
}

fn load_anchor(stdin: &str) -> (String, Option<String>) {
    (call(&["-a", ANCHOR, "-f", "-"]), Some(stdin.to_string()))
}

#[test]
fn first_load_loads_then_enables_and_verifies() {
    let bench = Bench::new(&[]);
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    assert_eq!(
        bench.take_calls(),
        vec![
            load_anchor(RULES),
            plain(&["-E"]),
            plain(&["-s", "info"]),
            plain(&["-a", ANCHOR, "-s", "rules"]),
            plain(&["-a", LEGACY_ANCHOR, "-s", "rules"]),
        ]
    );
    assert_eq!(bench.token().as_deref(), Some("13580866039543779071\n"));
    assert_eq!(pf.check(true).unwrap(), vec![]);
}

#[test]
fn second_load_takes_no_second_reference() {
    let bench = Bench::new(&[]);
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    bench.take_calls();
    let stricter = RULES.replace("pass quick on utun4 all\n", "");
    pf.load(&stricter).unwrap();
    assert_eq!(
        bench.take_calls(),
        vec![
            load_anchor(&stricter),
            plain(&["-s", "info"]),
            plain(&["-a", ANCHOR, "-s", "rules"]),
        ]
    );
    assert_eq!(bench.token().as_deref(), Some("13580866039543779071\n"));
}

#[test]
fn a_restarted_helper_reuses_the_saved_token() {
    let bench = Bench::new(&[]);
    bench.driver().load(RULES).unwrap();
    bench.take_calls();
    let mut restarted = bench.driver();
    restarted.load(RULES).unwrap();
    assert!(!bench.take_calls().contains(&plain(&["-E"])));
    restarted.remove().unwrap();
    assert!(bench
        .take_calls()
        .contains(&plain(&["-X", "13580866039543779071"])));
}

#[test]
fn a_damaged_token_file_is_replaced_by_a_fresh_reference() {
    let bench = Bench::new(&[]);
    std::fs::create_dir_all(&bench.state).unwrap();
    std::fs::write(bench.state.join(TOKEN_FILE), "-F all\n").unwrap();
    // pf already enabled by someone else: a damaged token taken at face
    // value would leave us holding no reference of our own.
    std::fs::write(bench.standin_state("enabled"), "").unwrap();
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    assert!(bench.take_calls().contains(&plain(&["-E"])));
    assert_eq!(bench.token().as_deref(), Some("13580866039543779071\n"));
}

#[test]
fn remove_empties_the_anchor_then_releases_the_token() {
    let bench = Bench::new(&[]);
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    bench.take_calls();
    pf.remove().unwrap();
    assert_eq!(
        bench.take_calls(),
        vec![
            load_anchor(""),
            plain(&["-a", ANCHOR, "-s", "rules"]),
            plain(&["-a", LEGACY_ANCHOR, "-s", "rules"]),
            plain(&["-X", "13580866039543779071"]),
        ]
    );
    assert_eq!(bench.token(), None);
    assert_eq!(pf.check(false).unwrap(), vec![]);
    bench.take_calls();
    pf.remove().unwrap();
    assert_eq!(
        bench.take_calls(),
        vec![
            load_anchor(""),
            plain(&["-a", ANCHOR, "-s", "rules"]),
            plain(&["-a", LEGACY_ANCHOR, "-s", "rules"]),
        ],
        "no token left: nothing to release"
    );
}

fn settings(pf_restore_hook: bool) -> Settings {
    Settings {
        pf_restore_hook,
        ..Settings::default()
    }
}

#[test]
fn custom_main_ruleset_without_the_apple_hook_is_only_reported_with_the_setting_off() {
    let bench = Bench::new(&["PFCTL_STANDIN_MAIN=custom"]);
    let mut pf = bench.driver();
    pf.use_settings(&settings(false));
    pf.load(RULES).unwrap();
    bench.take_calls();
    let problems = pf.check(true).unwrap();
    assert_eq!(problems, vec![Problem::AnchorNotReferenced]);
    let text = problems[0].to_string();
    assert!(text.contains("anchor \"com.apple/*\""), "{text}");
    assert!(
        text.contains("sudo pfctl -f /etc/pf.conf"),
        "says how: {text}"
    );
    assert_eq!(
        bench.take_calls(),
        vec![
            plain(&["-s", "info"]),
            plain(&["-s", "rules"]),
            plain(&["-a", ANCHOR, "-s", "rules"]),
        ]
    );
}

#[test]
fn failing_enable_carries_stderr_and_writes_no_token() {
    let bench = Bench::new(&["PFCTL_STANDIN_FAIL=-E"]);
    let err = bench.driver().load(RULES).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, DriverError::Failed { .. }), "{err:?}");
    assert!(text.contains("pfctl -E"), "{text}");
    assert!(text.contains("/dev/pf: Permission denied"), "{text}");
    assert_eq!(bench.token(), None);
    assert!(!bench.state.exists(), "state directory untouched");
}

#[test]
fn failing_load_carries_stderr_and_keeps_the_token() {
    let bench = Bench::new(&["PFCTL_STANDIN_FAIL=-a com.apple/0.airlock -f -"]);
    std::fs::create_dir_all(&bench.state).unwrap();
    std::fs::write(bench.state.join(TOKEN_FILE), "424242\n").unwrap();
    let err = bench
        .driver()
        .load("pass quick on lo0 all\nnonsense\n")
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Syntax error in config file"), "{text}");
    assert!(text.contains("stdin:3: syntax error"), "{text}");
    assert_eq!(bench.token().as_deref(), Some("424242\n"));
    assert_eq!(
        bench.take_calls(),
        vec![load_anchor("pass quick on lo0 all\nnonsense\n")],
        "nothing after a failed load"
    );
}

#[test]
fn pf_disabled_by_someone_else_is_reported_and_reenabled_on_load() {
    let bench = Bench::new(&[]);
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    std::fs::remove_file(bench.standin_state("enabled")).unwrap();
    assert_eq!(pf.check(true).unwrap(), vec![Problem::PfDisabled]);
    bench.take_calls();
    pf.load(RULES).unwrap();
    assert_eq!(
        bench.take_calls(),
        vec![
            load_anchor(RULES),
            plain(&["-s", "info"]),
            plain(&["-E"]),
            plain(&["-s", "info"]),
            plain(&["-a", ANCHOR, "-s", "rules"]),
        ]
    );
    assert_eq!(bench.token().as_deref(), Some("13580866039543779072\n"));
}

#[test]
fn emptied_or_replaced_anchor_is_tamper() {
    let bench = Bench::new(&[]);
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    let anchor = bench.standin_state("anchor");
    std::fs::write(&anchor, "pass all\n").unwrap();
    assert_eq!(pf.check(true).unwrap(), vec![Problem::AnchorChanged]);
    std::fs::write(&anchor, "").unwrap();
    assert_eq!(pf.check(true).unwrap(), vec![Problem::AnchorEmpty]);
    std::fs::write(&anchor, RULES).unwrap();
    assert_eq!(
        pf.check(false).unwrap(),
        vec![Problem::LeftOver {
            kind: FirewallKind::Pf
        }]
    );
}

#[test]
fn counters_and_text_come_from_the_anchor() {
    let bench = Bench::new(&[]);
    let mut pf = bench.driver();
    assert_eq!(pf.blocked_packets().unwrap(), None, "nothing loaded yet");
    pf.load(RULES).unwrap();
    assert_eq!(pf.blocked_packets().unwrap(), Some(42 + 19));
    let text = pf.loaded_text().unwrap();
    assert!(text.starts_with("pass quick on lo0 all\n"), "{text}");
    assert!(!text.contains('#'), "pfctl prints no comments: {text}");
}

fn mac_snapshot() -> NetworkSnapshot {
    let iface = |name, addrs| network::iface(Platform::Macos, name, addrs);
    let route = |dst, dev| network::route(dst, None, dev);
    NetworkSnapshot {
        interfaces: vec![
            iface("lo0", &["127.0.0.1/8", "::1/128"]),
            iface("en0", &["192.168.1.20/24", "2001:db8:1::20/64"]),
            iface("utun4", &["10.8.0.2/24"]),
        ],
        routes: vec![
            route("0.0.0.0/0", "en0"),
            route("0.0.0.0/1", "utun4"),
            route("128.0.0.0/1", "utun4"),
        ],
        dns: vec![],
    }
}

#[test]
fn kills_forbidden_states_by_host_pair_but_never_the_vpns() {
    let bench = Bench::new(&[]);
    let mut pf = bench.driver();
    let snapshot = mac_snapshot();
    let settings = Settings {
        kill_switch: true,
        endpoints: vec!["198.51.100.7:1194/udp".parse::<Endpoint>().unwrap()],
        ..Settings::default()
    };
    let policy = policy::build(&settings, &snapshot, Platform::Macos, 1_795_694_400);
    let killed = pf.kill_forbidden(&policy, &snapshot).unwrap();
    // states.txt: two HTTPS states over Wi-Fi to one host, SSH in from the
    // LAN, IPv6 HTTPS over Wi-Fi die; the VPN, the tunnel's state and mDNS
    // stay, and so does a forbidden HTTPS state to the VPN server's
    // address, since killing that host pair would cut the VPN too.
    assert_eq!(
        bench.take_calls(),
        vec![
            plain(&["-s", "states"]),
            plain(&["-k", "192.168.1.20", "-k", "203.0.113.80"]),
            plain(&["-k", "192.168.1.50", "-k", "192.168.1.20"]),
            plain(&["-k", "2001:db8:1::20", "-k", "2001:db8:ff::80"]),
        ]
    );
    assert_eq!(killed, 4);
}

#[test]
fn an_anchor_left_by_a_helper_from_before_the_rename_is_emptied_once() {
    let bench = Bench::new(&[]);
    // The old helper's rules, as it loaded them into com.apple/airlock.
    std::fs::write(bench.standin_state("legacy-anchor"), RULES).unwrap();
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    assert_eq!(
        bench.take_calls(),
        vec![
            load_anchor(RULES),
            plain(&["-E"]),
            plain(&["-s", "info"]),
            plain(&["-a", ANCHOR, "-s", "rules"]),
            // Our new anchor is in and read first: only now the old one goes.
            plain(&["-a", LEGACY_ANCHOR, "-s", "rules"]),
            (call(&["-a", LEGACY_ANCHOR, "-f", "-"]), Some(String::new())),
            plain(&["-a", LEGACY_ANCHOR, "-s", "rules"]),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(bench.standin_state("legacy-anchor")).unwrap(),
        ""
    );
    pf.load(RULES).unwrap();
    assert!(
        !bench
            .take_calls()
            .iter()
            .any(|(c, _)| c.contains(LEGACY_ANCHOR)),
        "checked once per run"
    );
}

/// What the driver loads with `pfctl -R -o none -f -` for the replaced
/// ruleset in pfctl-out/rules-main-replaced.txt: its scrub rule, the hook,
/// its filter rules, nothing else (no nat, no tables, no options).
const REPLACED_WITH_HOOK: &str = "\
# The main ruleset another program loaded, as pfctl printed it, with
# Apple's anchor hook put back by Airlock in front of its filter rules.
scrub-anchor \"com.apple.internet-sharing/*\" all fragment reassemble
# Evaluates com.apple/* (Airlock's com.apple/0.airlock first), as the stock /etc/pf.conf does.
anchor \"com.apple/*\" all
anchor \"com.apple.internet-sharing/*\" all
pass quick on bridge100 all flags S/SA keep state
block drop in quick on en0 proto tcp from <vm_blocklist> to any
";

#[test]
fn a_replaced_main_ruleset_gets_the_hook_back_and_keeps_its_rules_nat_and_tables() {
    let bench = Bench::new(&["PFCTL_STANDIN_MAIN=replaced"]);
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    bench.take_calls();
    let problems = pf.check(true).unwrap();
    assert_eq!(problems, vec![Problem::HookRestored { kept: 4 }]);
    assert!(
        problems[0].is_repairable(),
        "counted as a tamper: the user hears of it"
    );
    let text = problems[0].to_string();
    assert!(
        text.contains("4 filter rules") && text.contains("airlockctl set pf-restore-hook off"),
        "{text}"
    );
    assert_eq!(
        bench.take_calls(),
        vec![
            plain(&["-s", "info"]),
            plain(&["-s", "rules"]),
            plain(&["-s", "nat"]),
            plain(&["-s", "Tables"]),
            (
                call(&["-R", "-o", "none", "-f", "-"]),
                Some(REPLACED_WITH_HOOK.to_string())
            ),
            plain(&["-s", "rules"]),
            plain(&["-s", "nat"]),
            plain(&["-s", "Tables"]),
            plain(&["-a", ANCHOR, "-s", "rules"]),
        ]
    );
    // The next check finds the hook and nothing to do.
    assert_eq!(pf.check(true).unwrap(), vec![]);
    assert_eq!(
        bench.take_calls(),
        vec![
            plain(&["-s", "info"]),
            plain(&["-s", "rules"]),
            plain(&["-a", ANCHOR, "-s", "rules"]),
        ]
    );
}

#[test]
fn a_main_ruleset_pfctl_cannot_load_back_is_reported_and_left_as_it_was() {
    let bench = Bench::new(&[
        "PFCTL_STANDIN_MAIN=replaced",
        "PFCTL_STANDIN_FAIL=-R -o none -f -",
    ]);
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    bench.take_calls();
    let problems = pf.check(true).unwrap();
    let [Problem::HookNotRestored { reason }] = problems.as_slice() else {
        panic!("{problems:?}");
    };
    assert!(reason.contains("Syntax error in config file"), "{reason}");
    assert!(!problems[0].is_repairable(), "a reload would not fix it");
    assert!(problems[0]
        .to_string()
        .contains("sudo pfctl -f /etc/pf.conf"));
    let calls: Vec<String> = bench.take_calls().into_iter().map(|c| c.0).collect();
    assert_eq!(
        calls[calls.len() - 2..],
        [
            call(&["-R", "-o", "none", "-f", "-"]),
            call(&["-a", ANCHOR, "-s", "rules"])
        ],
        "nothing read back after a failed load"
    );
    assert!(!bench.standin_state("main-rules").exists());
}

#[test]
fn with_the_kill_switch_off_the_hook_is_left_alone() {
    let bench = Bench::new(&["PFCTL_STANDIN_MAIN=replaced"]);
    let mut pf = bench.driver();
    assert_eq!(pf.check(false).unwrap(), vec![]);
    assert_eq!(
        bench.take_calls(),
        vec![plain(&["-a", ANCHOR, "-s", "rules"])]
    );
}

#[test]
fn pflog0_is_created_for_rules_that_log_and_destroyed_with_them() {
    let bench = Bench::new(&[]);
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    assert_eq!(
        bench.take_ifconfig_calls(),
        [call(&["pflog0"]), call(&["pflog0", "create"])]
    );
    assert!(bench.standin_state("pflog0").exists());
    assert!(
        bench.state.join("pflog-created").exists(),
        "remembered as ours"
    );
    pf.load(RULES).unwrap();
    assert_eq!(
        bench.take_ifconfig_calls(),
        Vec::<String>::new(),
        "once per enable"
    );
    // A restarted helper still knows it is ours.
    let mut restarted = bench.driver();
    restarted.remove().unwrap();
    assert_eq!(bench.take_ifconfig_calls(), [call(&["pflog0", "destroy"])]);
    assert!(!bench.standin_state("pflog0").exists());
    assert!(!bench.state.join("pflog-created").exists());
    restarted.remove().unwrap();
    assert_eq!(bench.take_ifconfig_calls(), Vec::<String>::new());
}

#[test]
fn a_pflog0_that_was_there_before_is_used_and_left_alone() {
    let bench = Bench::new(&[]);
    // Someone's own, for tcpdump.
    std::fs::write(bench.standin_state("pflog0"), "").unwrap();
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    assert_eq!(bench.take_ifconfig_calls(), [call(&["pflog0"])]);
    pf.remove().unwrap();
    assert_eq!(bench.take_ifconfig_calls(), Vec::<String>::new());
    assert!(bench.standin_state("pflog0").exists());
}

#[test]
fn rules_that_do_not_log_need_no_pflog0_and_a_failed_create_is_not_a_failed_load() {
    let bench = Bench::new(&[]);
    let mut pf = bench.driver();
    pf.load("pass quick on lo0 all\nblock drop in quick all\n")
        .unwrap();
    assert_eq!(bench.take_ifconfig_calls(), Vec::<String>::new());

    let bench = Bench::new(&["IFCONFIG_STANDIN_FAIL=pflog0 create"]);
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    assert_eq!(
        bench.take_ifconfig_calls(),
        [call(&["pflog0"]), call(&["pflog0", "create"])]
    );
    assert!(
        !bench.state.join("pflog-created").exists(),
        "not ours: nothing to destroy"
    );
    assert_eq!(
        pf.check(true).unwrap(),
        vec![],
        "the rules are in and block"
    );
}

#[test]
fn a_program_that_keeps_replacing_the_ruleset_is_not_fought_every_second() {
    let bench = Bench::new(&["PFCTL_STANDIN_MAIN=replaced"]);
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    for round in 0..airlock_helper::firewall::pf::hook::MAX_RESTORES {
        assert_eq!(
            pf.check(true).unwrap(),
            vec![Problem::HookRestored { kept: 4 }],
            "round {round}"
        );
        // The other program loads its ruleset again.
        std::fs::remove_file(bench.standin_state("main-rules")).unwrap();
    }
    bench.take_calls();
    let problems = pf.check(true).unwrap();
    let [Problem::HookNotRestored { reason }] = problems.as_slice() else {
        panic!("{problems:?}");
    };
    assert!(reason.contains("so as not to fight it"), "{reason}");
    assert!(
        !bench
            .take_calls()
            .iter()
            .any(|(c, _)| c.starts_with("'-R'")),
        "no fourth reload"
    );
}

#[test]
fn an_old_anchor_that_cannot_be_emptied_is_reported_after_pf_is_given_back() {
    let bench = Bench::new(&["PFCTL_STANDIN_FAIL=-a com.apple/airlock -f -"]);
    let mut pf = bench.driver();
    pf.load(RULES).unwrap();
    std::fs::write(bench.standin_state("legacy-anchor"), RULES).unwrap();
    bench.take_calls();
    let err = pf.remove().unwrap_err();
    assert!(err.to_string().contains(LEGACY_ANCHOR), "{err}");
    let calls = bench.take_calls();
    assert_eq!(
        calls.last(),
        Some(&plain(&["-X", "13580866039543779071"])),
        "the token is released anyway: {calls:?}"
    );
    assert_eq!(bench.token(), None);
    assert_eq!(
        bench.take_ifconfig_calls().last().map(String::as_str),
        Some("'pflog0' 'destroy'")
    );
}

/// The whole way through the engine: a replaced main ruleset is found by
/// the engine's check, repaired, counted as a tamper (what the app turns
/// into a notification) and leaves the status healthy; with the option
/// off it stays a problem, the status amber, and nothing is reloaded.
#[test]
fn the_engine_reports_a_put_back_hook_as_a_tamper_and_a_kept_off_one_as_a_fault() {
    use airlock_helper::engine::Engine;
    use airlock_helper::firewall::Firewall;
    use airlock_helper::persist::Store;
    use airlock_shared::status::Protection;

    let bench = Bench::new(&["PFCTL_STANDIN_MAIN=replaced"]);
    let store = Store::new(bench.dir.path().join("settings"));
    let on = Settings {
        kill_switch: true,
        endpoints: vec!["198.51.100.7:1194/udp".parse::<Endpoint>().unwrap()],
        ..Settings::default()
    };
    store.save(&on).unwrap();
    let now = 1_795_694_400;
    let mut engine = Engine::start(
        Platform::Macos,
        Firewall::new(Box::new(bench.driver())),
        store,
        |_| mac_snapshot(),
        now,
    );
    let status = engine.status(now);
    assert_eq!(status.firewall.last_tamper, Some(now), "{status:?}");
    assert!(status.firewall.healthy, "{:?}", status.firewall.problems);
    let calls = bench.take_calls();
    assert!(
        calls
            .iter()
            .any(|(c, stdin)| *c == call(&["-R", "-o", "none", "-f", "-"])
                && stdin.as_deref() == Some(REPLACED_WITH_HOOK)),
        "{calls:?}"
    );

    // The user manages pf.conf: the other program's ruleset comes back,
    // and this time it stays as it is.
    engine
        .change(now + 1, |s| {
            s.pf_restore_hook = false;
            Ok(())
        })
        .unwrap();
    std::fs::remove_file(bench.standin_state("main-rules")).unwrap();
    bench.take_calls();
    assert!(!engine.check_firewall(now + 2), "not a tamper");
    let status = engine.status(now + 2);
    assert_eq!(status.protection, Protection::Fault);
    assert!(
        status
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("pf-restore-hook on"),
        "{status:?}"
    );
    assert!(!bench
        .take_calls()
        .iter()
        .any(|(c, _)| c.starts_with("'-R'") || c.contains("'-f'")));
}
