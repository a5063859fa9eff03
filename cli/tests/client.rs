//! The built `airlockctl` against a fake helper (airlock-test-support's
//! `FakeHelper`): a Unix socket served by a thread, speaking the shared
//! protocol, recording every request and answering from a script. Checks the exact request each command sends,
//! what it prints, and its exit status.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use airlock_shared::endpoint::listing::{Listed, Why};
use airlock_shared::endpoint::Endpoint;
use airlock_shared::ipc::protocol::{
    ErrorCode, IpcError, OptionName, Outcome, RequestBody, ResponseBody,
};
use airlock_shared::status::{KillSwitch, Problem, Protection, Status, Tunnel, TunnelState};
use airlock_test_support::status::{protected, TAMPER};
use airlock_test_support::{FakeHelper, StatusBuilder};

const BIN: &str = env!("CARGO_BIN_EXE_airlockctl");
/// What the CLI tells a user whose helper is not running, by platform.
const START_HINT: &str = if cfg!(target_os = "macos") {
    "open the Airlock app to install or restart it"
} else {
    "start it with `sudo systemctl start airlockd`"
};
const NOT_AUTHORIZED: &str =
    "not authorized: uid 1000 is neither root nor in the `sudo` group (try sudo)";

fn endpoint(s: &str) -> Endpoint {
    s.parse().expect("endpoint")
}

/// The default script: reads answer with their kind, changes with `Done`.
fn answer_normally(body: &RequestBody) -> Outcome {
    let ok = |b| Outcome::Ok(b);
    match body {
        RequestBody::GetStatus => ok(ResponseBody::Status(protected())),
        RequestBody::GetSettings => ok(ResponseBody::Settings(Default::default())),
        RequestBody::GetRules { offset } => rules_page(SMALL_RULES, *offset),
        RequestBody::ListEndpoints => {
            let mut named = endpoint("198.51.100.7:1194/udp");
            named.host = Some("vpn.example.com".into());
            ok(ResponseBody::Endpoints(vec![
                named,
                endpoint("[2001:db8::7]:443/tcp"),
            ]))
        }
        _ => ok(ResponseBody::Done(protected())),
    }
}

const SMALL_RULES: &str = "table inet airlock {\n\tchain output {\n\t}\n}";

/// The real helper's answer to `GetRules { offset }` for `full`.
fn rules_page(full: &str, offset: u64) -> Outcome {
    airlock_shared::ipc::rules_page::response("nft", full, offset)
        .map_err(IpcError::from)
        .into()
}

/// The fake helper (airlock-test-support's) serving the CLI's sample,
/// with `answer` scripting every answer but the handshake and the
/// subscriptions (which get the status `set` last, pushed as events).
fn fake_with(answer: impl Fn(&RequestBody) -> Outcome + Send + Sync + 'static) -> FakeHelper {
    FakeHelper::in_temp_dir(protected()).answer_with(move |body| Some(answer(body)))
}

fn fake() -> FakeHelper {
    fake_with(answer_normally)
}

trait RunAgainst {
    /// Runs `airlockctl --socket <fake> ARGS`.
    fn run(&self, args: &[&str]) -> Output;
}

impl RunAgainst for FakeHelper {
    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--socket", self.socket.to_str().unwrap()];
        all.extend_from_slice(args);
        run_env(&all, &[])
    }
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    // SUDO_USER too: `enable` would look in that user's home.
    cmd.args(args)
        .env_remove("AIRLOCK_SOCKET")
        .env_remove("SUDO_USER")
        .env("TZ", "UTC");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run airlockctl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Exit `code`, nothing on stdout, one `airlockctl: ` line on stderr.
fn assert_one_line_failure(out: &Output, code: i32, what: &str) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{what}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{what}: stdout {:?}",
        text(&out.stdout)
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: {stderr:?}");
    let line = lines[0]
        .strip_prefix("airlockctl: ")
        .unwrap_or_else(|| panic!("{what}: {stderr:?}"));
    line.to_string()
}

#[test]
fn each_change_command_sends_exactly_its_request() {
    let cases: Vec<(Vec<&str>, RequestBody)> = vec![
        (vec!["enable"], RequestBody::Enable),
        (vec!["disable"], RequestBody::Disable),
        (
            vec!["set", "allow-lan", "on"],
            RequestBody::SetOption {
                option: OptionName::AllowLan,
                value: true,
            },
        ),
        (
            vec!["set", "allow-airdrop", "off"],
            RequestBody::SetOption {
                option: OptionName::AllowAirdrop,
                value: false,
            },
        ),
        (
            vec!["set", "allow-airprint", "on"],
            RequestBody::SetOption {
                option: OptionName::AllowAirprint,
                value: true,
            },
        ),
        (
            vec!["set", "allow-dns", "off"],
            RequestBody::SetOption {
                option: OptionName::AllowDns,
                value: false,
            },
        ),
        (
            vec!["set", "pf-restore-hook", "off"],
            RequestBody::SetOption {
                option: OptionName::PfRestoreHook,
                value: false,
            },
        ),
        (vec!["pause", "5m"], RequestBody::Pause { seconds: 300 }),
        (vec!["pause", "90s"], RequestBody::Pause { seconds: 90 }),
        (
            vec!["pause", "1h30m"],
            RequestBody::Pause { seconds: 5_400 },
        ),
        (vec!["resume"], RequestBody::Resume),
        (
            vec![
                "endpoints",
                "add",
                "198.51.100.7:1194/udp",
                "[2001:db8::7]:443/tcp",
                "203.0.113.9:51820",
            ],
            RequestBody::AddEndpoints {
                endpoints: vec![
                    endpoint("198.51.100.7:1194/udp"),
                    endpoint("[2001:db8::7]:443/tcp"),
                    endpoint("203.0.113.9:51820/udp"),
                ],
            },
        ),
        (
            vec!["endpoints", "remove", "198.51.100.7:1194/udp"],
            RequestBody::RemoveEndpoints {
                endpoints: vec![endpoint("198.51.100.7:1194/udp")],
            },
        ),
        (vec!["status"], RequestBody::GetStatus),
        (vec!["status", "--json"], RequestBody::GetStatus),
        (vec!["rules"], RequestBody::GetRules { offset: 0 }),
    ];
    for (args, want) in cases {
        let fake = fake();
        let out = fake.run(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
        assert_eq!(fake.requests(), [want], "{args:?}");
        let hellos = fake.hellos();
        assert_eq!(hellos.len(), 1, "{args:?}");
        assert!(hellos[0].starts_with("airlockctl "), "{hellos:?}");
    }
}

/// `enable` with nothing for the VPN to get through: it turns on (the user
/// may want everything blocked) and warns, naming the connections found
/// under `$HOME` with the command that allows each.
#[test]
fn enable_with_no_server_allowed_warns_and_goes_on() {
    let blocking = || {
        let s = StatusBuilder::protected()
            .tunnel_up(false)
            .endpoint(None)
            .endpoints(0)
            .build();
        assert_eq!(s.protection, Protection::Blocking);
        s
    };
    let fake = fake_with(move |_: &RequestBody| Outcome::Ok(ResponseBody::Done(blocking())));
    let home = tempfile::tempdir().unwrap();
    let vis = home
        .path()
        .join("Library/Application Support/Viscosity/OpenVPN/1");
    std::fs::create_dir_all(&vis).unwrap();
    std::fs::write(
        vis.join("config.conf"),
        "#viscosity name Office VPN\nremote 198.51.100.7 1194\n",
    )
    .unwrap();
    let socket = fake.socket.to_str().unwrap();
    let home_dir = home.path().to_str().unwrap();
    // No shared Tunnelblick or WireGuard folder of this machine counts.
    let root = tempfile::tempdir().unwrap();
    let root_dir = root.path().to_str().unwrap();
    let out = run_env(
        &["--socket", socket, "enable"],
        &[("HOME", home_dir), ("AIRLOCK_VPN_CONFIG_ROOT", root_dir)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(fake.requests(), [RequestBody::Enable]);
    assert!(
        text(&out.stdout).starts_with("Blocking"),
        "{}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.starts_with("Warning: your VPN won't be able to connect: no VPN server is allowed"),
        "{err}"
    );
    let want = format!(
        "  Office VPN (Viscosity): sudo airlockctl endpoints import '{}'\n",
        vis.join("config.conf").display()
    );
    assert!(err.contains(&want), "{err}");

    // Nothing found: the general command.
    let empty = tempfile::tempdir().unwrap();
    let out = run_env(
        &["--socket", socket, "enable"],
        &[
            ("HOME", empty.path().to_str().unwrap()),
            ("AIRLOCK_VPN_CONFIG_ROOT", root_dir),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).ends_with("sudo airlockctl endpoints import FILE\n"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn changes_print_the_resulting_status() {
    let fake = fake();
    let out = fake.run(&["set", "allow-lan", "on"]);
    assert_eq!(
        text(&out.stdout),
        "allow-lan is on\nProtected — VPN tun0 → 198.51.100.7:1194/udp\n"
    );
    let out = fake.run(&["pause", "1h30m"]);
    assert!(
        text(&out.stdout).starts_with("Paused for 1h 30m\n"),
        "{}",
        text(&out.stdout)
    );
    let out = fake.run(&["endpoints", "add", "198.51.100.7:1194/udp"]);
    assert_eq!(
        text(&out.stdout),
        "Added 1 VPN server; 2 VPN servers let through now\n"
    );
}

#[test]
fn refusals_are_the_helpers_words_and_exit_1() {
    let fake = fake_with(|body: &RequestBody| {
        if body.is_mutating() {
            Outcome::Err(IpcError::new(ErrorCode::NotAuthorized, NOT_AUTHORIZED))
        } else {
            answer_normally(body)
        }
    });
    for args in [
        vec!["enable"],
        vec!["disable"],
        vec!["set", "allow-lan", "on"],
        vec!["pause", "5m"],
        vec!["resume"],
        vec!["endpoints", "add", "198.51.100.7:1194"],
    ] {
        let line = assert_one_line_failure(&fake.run(&args), 1, &format!("{args:?}"));
        assert_eq!(line, NOT_AUTHORIZED, "{args:?}");
    }
    // Reading is still allowed.
    assert_eq!(fake.run(&["status"]).status.code(), Some(0));

    let fake = fake_with(|_: &RequestBody| {
        Outcome::Err(IpcError::new(
            ErrorCode::Firewall,
            "nft refused the ruleset: Error: No such file or directory; the previous rules stay",
        ))
    });
    let line = assert_one_line_failure(&fake.run(&["enable"]), 1, "firewall");
    assert_eq!(
        line,
        "firewall error: nft refused the ruleset: Error: No such file or directory; the \
         previous rules stay"
    );
}

#[test]
fn helper_absent_says_not_running_and_how_to_start_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("airlock.sock");
    let shown = missing.to_str().unwrap();
    for args in [
        vec!["status"],
        vec!["enable"],
        vec!["watch", "--json"],
        vec!["rules"],
    ] {
        let mut all = vec!["--socket", shown];
        all.extend(&args);
        let line = assert_one_line_failure(&run_env(&all, &[]), 1, &format!("{args:?}"));
        assert_eq!(
            line,
            format!("the Airlock helper is not running (no socket at {shown}); {START_HINT}")
        );
    }
    // A socket file left behind by a dead helper: nothing listens.
    drop(UnixListener::bind(&missing).unwrap());
    let line = assert_one_line_failure(&run_env(&["--socket", shown, "status"], &[]), 1, "stale");
    assert!(line.contains("not running (nothing listens on"), "{line}");
}

#[test]
fn usage_errors_exit_2_and_never_reach_the_helper() {
    let fake = fake();
    for (args, mention) in [
        (vec!["pause", "5"], "without a unit"),
        (vec!["pause", "0s"], "resume"),
        (vec!["pause", "5x"], "unknown unit"),
        (vec!["pause"], "DURATION"),
        (vec!["set", "allow-lan", "maybe"], "on, off"),
        (vec!["set", "allow-ipv6", "on"], "allow-lan"),
        (vec!["endpoints", "add"], "ADDR:PORT"),
        (vec!["endpoints", "add", "198.51.100.7"], "ADDR:PORT"),
        (
            vec!["endpoints", "remove", "198.51.100.7:1194/sctp"],
            "sctp",
        ),
        (vec!["status", "--yaml"], "--yaml"),
        (vec![], "missing command"),
    ] {
        let line = assert_one_line_failure(&fake.run(&args), 2, &format!("{args:?}"));
        assert!(line.contains(mention), "{args:?}: {line}");
    }
    assert_eq!(fake.requests(), []);
    assert!(fake.hellos().is_empty());
}

#[test]
fn import_reads_the_config_and_sends_its_endpoints() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("office.ovpn");
    std::fs::write(
        &conf,
        "client\ndev tun\nremote 198.51.100.7 1194 udp\nremote 2001:db8::7 443 tcp-client\n",
    )
    .unwrap();
    let out = fake.run(&["endpoints", "import", conf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let want: Vec<Endpoint> = vec![
        "198.51.100.7:1194/udp".parse().unwrap(),
        "[2001:db8::7]:443/tcp".parse().unwrap(),
    ];
    let sent = fake.requests();
    assert_eq!(sent, [RequestBody::AddEndpoints { endpoints: want }]);
    // Equality ignores the record: the helper is told they are imported.
    let RequestBody::AddEndpoints { endpoints } = &sent[0] else {
        unreachable!()
    };
    assert!(endpoints
        .iter()
        .all(|e| e.origin == airlock_shared::endpoint::Origin::Imported));
}

#[test]
fn import_asks_the_helper_to_resolve_names_and_sends_what_it_found() {
    // The helper resolves (it can while the kill switch blocks DNS); the
    // CLI only turns its addresses into endpoints with the config's port.
    let fake = fake_with(|body: &RequestBody| match body {
        RequestBody::Resolve { host } if host == "vpn.example.com" => {
            Outcome::Ok(ResponseBody::Addresses(vec![
                "198.51.100.9".parse().unwrap(),
                "2001:db8::9".parse().unwrap(),
            ]))
        }
        RequestBody::Resolve { host } => Outcome::Err(IpcError::new(
            ErrorCode::Unresolved,
            format!("no addresses for {host}"),
        )),
        other => answer_normally(other),
    });
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("office.ovpn");
    std::fs::write(&conf, "client\nremote vpn.example.com 1194 udp\n").unwrap();
    let out = fake.run(&["endpoints", "import", conf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut v4: Endpoint = "198.51.100.9:1194/udp".parse().unwrap();
    let mut v6: Endpoint = "[2001:db8::9]:1194/udp".parse().unwrap();
    v4.host = Some("vpn.example.com".into());
    v6.host = Some("vpn.example.com".into());
    assert_eq!(
        fake.requests(),
        [
            RequestBody::Resolve {
                host: "vpn.example.com".into()
            },
            RequestBody::AddEndpoints {
                endpoints: vec![v4, v6]
            }
        ]
    );

    // A name the helper cannot resolve: exit 1, nothing added.
    let fake = fake_with(|body: &RequestBody| match body {
        RequestBody::Resolve { .. } => Outcome::Err(IpcError::new(
            ErrorCode::Unresolved,
            "no resolver answered (192.0.2.53:53: timed out)",
        )),
        other => answer_normally(other),
    });
    let line = assert_one_line_failure(
        &fake.run(&["endpoints", "import", conf.to_str().unwrap()]),
        1,
        "unresolved",
    );
    assert!(
        line.contains("office.ovpn")
            && line.contains("vpn.example.com")
            && line.contains("no resolver answered"),
        "{line}"
    );
    assert_eq!(
        fake.requests(),
        [RequestBody::Resolve {
            host: "vpn.example.com".into()
        }]
    );
}

#[test]
fn import_of_a_broken_or_missing_config_sends_nothing() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broken.ovpn");
    std::fs::write(&conf, "client\nremote 198.51.100.7 notaport\n").unwrap();
    let line = assert_one_line_failure(
        &fake.run(&["endpoints", "import", conf.to_str().unwrap()]),
        2,
        "broken",
    );
    assert!(
        line.contains("broken.ovpn") && line.contains("line 2"),
        "{line}"
    );
    let line = assert_one_line_failure(
        &fake.run(&["endpoints", "import", "/nonexistent/office.ovpn"]),
        1,
        "missing",
    );
    assert!(line.contains("/nonexistent/office.ovpn"), "{line}");
    assert_eq!(fake.requests(), []);
}

#[test]
fn status_json_is_the_helpers_status() {
    let fake = fake();
    let out = fake.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json");
    assert_eq!(v["kill_switch"], "on");
    assert_eq!(v["protection"], "protected");
    assert_eq!(v["tunnel"]["state"], "up");
    assert_eq!(v["tunnel"]["interface"], "tun0");
    assert_eq!(v["tunnel"]["endpoint"], "198.51.100.7:1194/udp");
    assert_eq!(v["firewall"]["healthy"], true);
    assert_eq!(v["firewall"]["last_tamper"], TAMPER);
    let back: Status = serde_json::from_value(v).expect("a Status");
    assert_eq!(back, protected());
}

#[test]
fn status_text_in_the_local_time_zone() {
    let fake = fake();
    let path = fake.socket.to_str().unwrap();
    // Through AIRLOCK_SOCKET this time, in UTC+2 (POSIX TZ signs are inverted).
    let out = run_env(&["status"], &[("AIRLOCK_SOCKET", path), ("TZ", "EET-2")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "Protected — VPN tun0 → 198.51.100.7:1194/udp");
    assert!(lines.contains(&"Kill switch:  on"), "{stdout}");
    assert!(
        lines.contains(&"Firewall:     nft, healthy, 1234 packets blocked"),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Last tamper:  2024-02-29 14:34:56 +02:00")),
        "{stdout}"
    );
}

/// Zones by name come from the system's zone database (jiff reads it, as
/// the C library did): the same tamper in Helsinki and in Newfoundland.
#[test]
fn status_text_in_a_named_time_zone() {
    let fake = fake();
    for (zone, want) in [
        (
            "Europe/Helsinki",
            "Last tamper:  2024-02-29 14:34:56 +02:00",
        ),
        (
            "America/St_Johns",
            "Last tamper:  2024-02-29 09:04:56 -03:30",
        ),
    ] {
        let out = run_env(
            &["--socket", fake.socket.to_str().unwrap(), "status"],
            &[("TZ", zone)],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.lines().any(|l| l.starts_with(want)),
            "{zone}: {stdout}"
        );
    }
}

#[test]
fn socket_flag_beats_the_environment() {
    let fake = fake();
    let out = run_env(
        &["--socket", fake.socket.to_str().unwrap(), "status"],
        &[("AIRLOCK_SOCKET", "/nonexistent/airlock.sock")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(fake.requests(), [RequestBody::GetStatus]);
}

#[test]
fn rules_and_endpoint_list_print_what_the_helper_holds() {
    let fake = fake();
    let out = fake.run(&["rules"]);
    assert_eq!(
        text(&out.stdout),
        "table inet airlock {\n\tchain output {\n\t}\n}\n"
    );
    let out = fake.run(&["endpoints", "list"]);
    assert_eq!(
        text(&out.stdout),
        "198.51.100.7:1194/udp (vpn.example.com)  added, date unknown\n\
         [2001:db8::7]:443/tcp  added, date unknown\n"
    );
    let out = fake.run(&["endpoints", "list", "--json"]);
    let list: Vec<Listed> = serde_json::from_slice(&out.stdout).expect("json list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].host.as_deref(), Some("vpn.example.com"));
    assert_eq!(list[0].origin, Why::Added);
}

/// `endpoints list` asks for the list, the TTL and the pins, and shows a
/// learned endpoint with its dates and a pinned one beside the saved ones.
#[test]
fn endpoints_list_shows_learned_and_pinned_ones_with_their_dates() {
    use airlock_shared::endpoint::Origin;
    // 2026-12-03 11:02:00 UTC.
    let t = 1_796_295_720;
    let fake = fake_with(move |body: &RequestBody| match body {
        RequestBody::ListEndpoints => {
            let mut learned = endpoint("198.51.100.7:1194/udp").with_origin(Origin::Learned);
            learned.added_at = Some(t);
            learned.last_seen = Some(t);
            Outcome::Ok(ResponseBody::Endpoints(vec![learned]))
        }
        RequestBody::GetSettings => {
            Outcome::Ok(ResponseBody::Settings(airlock_shared::settings::Settings {
                learned_endpoint_ttl: "1d".parse().unwrap(),
                ..Default::default()
            }))
        }
        RequestBody::GetStatus => {
            let mut s = protected();
            let mut pinned = endpoint("203.0.113.9:1194/udp");
            pinned.host = Some("vpn.lab.test".into());
            s.resolver = Some(Box::new(airlock_shared::status::ResolverStatus {
                active: true,
                network_check_names: 0,
                vpn_server_names: 1,
                pinned: vec![airlock_shared::dns::AnsweredPin {
                    endpoint: pinned,
                    expires_at: t + 300,
                }],
                upstreams: vec![],
            }));
            Outcome::Ok(ResponseBody::Status(s))
        }
        other => answer_normally(other),
    });
    let out = run_env(
        &[
            "--socket",
            fake.socket.to_str().unwrap(),
            "endpoints",
            "list",
        ],
        &[("TZ", "UTC")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        fake.requests(),
        [
            RequestBody::ListEndpoints,
            RequestBody::GetSettings,
            RequestBody::GetStatus
        ]
    );
    assert_eq!(
        text(&out.stdout),
        "198.51.100.7:1194/udp  learned 2026-12-03 11:02:00 +00:00, \
         expires 2026-12-04 11:02:00 +00:00 unless seen again\n\
         203.0.113.9:1194/udp (vpn.lab.test)  pinned by a DNS answer until 2026-12-03 11:07:00 +00:00\n"
    );
    let out = run_env(
        &[
            "--socket",
            fake.socket.to_str().unwrap(),
            "endpoints",
            "list",
            "--json",
        ],
        &[],
    );
    let list: Vec<Listed> = serde_json::from_slice(&out.stdout).expect("json list");
    let origins: Vec<(Why, Option<u64>)> = list.iter().map(|l| (l.origin, l.expires_at)).collect();
    assert_eq!(
        origins,
        [
            (Why::Learned, Some(t + 86_400)),
            (Why::Pinned, Some(t + 300))
        ]
    );
}

/// A ruleset of thousands of endpoints is larger than a frame: `rules`
/// reads it in pages and prints all of it, once.
#[test]
fn rules_prints_a_ruleset_larger_than_a_frame() {
    let mut big = String::from("table inet airlock {\n");
    for i in 0..6_000 {
        big.push_str(&format!(
            "\t\tip daddr 10.{}.{}.1 udp dport 1194 accept\n",
            i / 256,
            i % 256
        ));
    }
    big.push_str("}\n");
    assert!(big.len() > 2 * airlock_shared::ipc::MAX_FRAME_LEN);
    let served = big.clone();
    let fake = fake_with(move |body: &RequestBody| match body {
        RequestBody::GetRules { offset } => rules_page(&served, *offset),
        other => answer_normally(other),
    });
    let out = fake.run(&["rules"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout) == big, "stdout is not the ruleset");
    let asked = fake.requests();
    assert!(asked.len() > 1, "{asked:?}");
    assert_eq!(asked[0], RequestBody::GetRules { offset: 0 });
}

/// Kills a child we started, by its PID, however the test ends.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `watch ARGS` and hands back its stdout lines as they come.
fn watch(fake: &FakeHelper, args: &[&str]) -> (ChildGuard, Receiver<String>) {
    let mut child = Command::new(BIN)
        .arg("--socket")
        .arg(&fake.socket)
        .arg("watch")
        .args(args)
        .env("TZ", "UTC")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watch");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (ChildGuard(child), rx)
}

const PROMPT: Duration = Duration::from_secs(5);

#[test]
fn watch_json_prints_each_event_at_once_one_object_a_line() {
    let fake = fake();
    let (mut child, lines) = watch(&fake, &["--json"]);
    let first = lines.recv_timeout(PROMPT).expect("the current status");
    assert_eq!(
        serde_json::from_str::<Status>(&first).expect("json"),
        protected()
    );

    let mut blocking = protected();
    blocking.protection = Protection::Blocking;
    blocking.tunnel = Tunnel {
        state: TunnelState::Down,
        interface: None,
        endpoint: None,
    };
    let mut off = blocking.clone();
    off.kill_switch = KillSwitch::Off;
    off.protection = Protection::Off;
    let mut delays = Vec::new();
    // One event at a time, each awaited before the next is sent: a line
    // held in a buffer would never arrive.
    for status in [blocking, off, protected()] {
        let sent = Instant::now();
        fake.set(status.clone());
        let line = lines.recv_timeout(PROMPT).expect("event line in time");
        delays.push(sent.elapsed());
        assert_eq!(serde_json::from_str::<Status>(&line).expect("json"), status);
    }
    eprintln!("watch --json event-to-line delays: {delays:?}");

    // The helper goes away: the stream ends, exit 1 with one line.
    fake.end_subscriptions();
    let status = child.0.wait().expect("wait");
    assert_eq!(status.code(), Some(1));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(
        stderr,
        "airlockctl: the Airlock helper closed the status stream (stopped or restarted?)\n"
    );
    assert!(lines.recv_timeout(Duration::from_millis(200)).is_err());
    assert_eq!(fake.requests(), [RequestBody::Subscribe]);
}

#[test]
fn watch_text_prints_a_line_per_event() {
    let fake = fake();
    let (_child, lines) = watch(&fake, &[]);
    let first = lines.recv_timeout(PROMPT).expect("the current status");
    // `HH:MM:SS  headline; health`
    let (time, rest) = first.split_once("  ").expect("time prefix");
    assert_eq!(time.len(), 8, "{first}");
    assert_eq!(
        rest,
        "Protected — VPN tun0 → 198.51.100.7:1194/udp; firewall healthy"
    );
    let fault = StatusBuilder::protected()
        .reason("the airlock table was deleted")
        .problems(&[Problem::TableMissing])
        .build();
    assert_eq!(fault.protection, Protection::Fault);
    fake.set(fault);
    let line = lines.recv_timeout(PROMPT).expect("event line");
    assert!(
        line.ends_with("Fault — the airlock table was deleted; firewall NOT healthy (1 problems)"),
        "{line}"
    );
}

/// The firewall tool `doctor` looks for on this platform.
const BACKEND: &str = if cfg!(target_os = "macos") {
    "pfctl"
} else {
    "nft"
};

/// A folder with a do-nothing [`BACKEND`], to put first in `PATH`.
fn fake_backend_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let tool = dir.path().join(BACKEND);
    std::fs::File::create(&tool)
        .and_then(|mut f| f.write_all(b"#!/bin/sh\nexit 0\n"))
        .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn doctor(fake: &FakeHelper, path_dir: &Path) -> Output {
    run_env(
        &["--socket", fake.socket.to_str().unwrap(), "doctor"],
        &[("PATH", path_dir.to_str().unwrap())],
    )
}

#[test]
fn doctor_turns_each_helper_problem_into_a_fail_line() {
    let problems = [
        Problem::TableMissing,
        Problem::ChainPolicyChanged {
            chain: "output".into(),
            loaded: "drop".into(),
            found: "accept".into(),
        },
    ];
    let expected: Vec<String> = problems.iter().map(Problem::to_string).collect();
    let fake = fake_with(move |body: &RequestBody| {
        let s = StatusBuilder::protected().problems(&problems).build();
        match body {
            RequestBody::GetStatus => Outcome::Ok(ResponseBody::Status(s)),
            other => answer_normally(other),
        }
    });
    let backend = fake_backend_dir();
    let out = doctor(&fake, backend.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let fails: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("FAIL  rules"))
        .map(str::trim_start)
        .collect();
    assert_eq!(fails, expected, "{stdout}");
    assert!(
        stdout.contains("ok    helper       fake-airlockd 0.0.0 answers on"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "ok    backend      {BACKEND} found at {}",
            backend.path().join(BACKEND).display()
        )),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("airlockctl: 2 of "), "{stderr}");
    assert_eq!(fake.requests(), [RequestBody::GetStatus]);
}

#[test]
fn doctor_passes_on_a_healthy_helper() {
    let fake = fake();
    let backend = fake_backend_dir();
    let out = doctor(&fake, backend.path());
    let stdout = text(&out.stdout);
    // The socket check wants a root-owned socket: only then is all ok.
    if !nix_is_root() {
        eprintln!("skipping the exit-0 half: not root, so the test socket is not root-owned");
        return;
    }
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let levels: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert!(
        levels.iter().all(|l| *l == "ok" || *l == "warn"),
        "{stdout}"
    );
    // The status has a tamper time: reported, but only as a warning.
    assert!(stdout.contains("warn  tamper"), "{stdout}");
    assert!(stdout.contains("2024-02-29 12:34:56 +00:00"), "{stdout}");
}

#[test]
fn doctor_without_a_helper_fails() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("airlock.sock");
    let out = run_env(&["--socket", sock.to_str().unwrap(), "doctor"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    let first = stdout.lines().next().unwrap_or("");
    assert!(first.starts_with("FAIL  helper"), "{stdout}");
    assert!(first.contains("not running"), "{stdout}");
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn every_subcommand_has_help_with_exit_codes() {
    for cmd in [
        "status",
        "enable",
        "disable",
        "set",
        "pause",
        "resume",
        "endpoints",
        "rules",
        "watch",
        "doctor",
    ] {
        let out = run_env(&[cmd, "--help"], &[]);
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        let help = text(&out.stdout);
        assert!(help.contains("Exit status"), "{cmd} --help: {help}");
        assert!(help.contains("--socket"), "{cmd} --help: {help}");
    }
}
