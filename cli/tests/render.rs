//! `airlockctl render` as a user runs it: the built binary, its exit
//! status, stdout and stderr.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_airlockctl");

/// A described laptop, so no test depends on this machine's interfaces.
const LAPTOP: &str = "lo=127.0.0.1/8,wlan0=192.168.1.20/24+2001:db8:1::20/64,tun0=10.8.0.2/24";

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run airlockctl")
}

/// Exit status 2, nothing on stdout, exactly one `airlockctl: ` line on
/// stderr that contains every one of `mentions`.
fn assert_bad_input(args: &[&str], mentions: &[&str]) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: want one line, got {stderr:?}");
    assert!(lines[0].starts_with("airlockctl: "), "{:?}", lines[0]);
    for m in mentions {
        assert!(
            lines[0].contains(m),
            "{args:?}: {:?} does not mention {m:?}",
            lines[0]
        );
    }
}

/// Exit status 0 and nothing on stderr; `what` names the case on failure.
fn assert_ok(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{what}: {stderr}");
    assert!(stderr.is_empty(), "{what}: {stderr}");
}

#[test]
fn bad_endpoints_are_one_line_exit_2() {
    let base = ["render", "--interfaces", LAPTOP];
    for (endpoint, mention) in [
        ("198.51.100.7", "ADDR:PORT"),
        ("vpn.example.com:1194", "vpn.example.com"),
        ("198.51.100.7:1194/sctp", "sctp"),
        ("198.51.100.7:0/udp", "port 0"),
        ("198.51.100.7:99999", "198.51.100.7:99999"),
    ] {
        let mut args = base.to_vec();
        args.extend(["--endpoint", endpoint]);
        assert_bad_input(&args, &["--endpoint", mention]);
    }
}

#[test]
fn bad_interfaces_are_one_line_exit_2() {
    for (list, mention) in [
        ("en0=192.168.1.20", "prefix length"),
        ("en0=192.168.1.20/33", "192.168.1.20/33"),
        ("en0=banana/24", "banana"),
        ("en0,,utun4", "empty entry"),
        ("=10.0.0.1/24", "interface name"),
        ("en0,en0", "twice"),
        ("tun*", "interface name"),
    ] {
        assert_bad_input(
            &["render", "--interfaces", list],
            &["--interfaces", mention],
        );
    }
}

#[test]
fn bad_platform_and_unknown_options_are_one_line_exit_2() {
    assert_bad_input(
        &["render", "--platform", "windows", "--interfaces", LAPTOP],
        &["windows", "macos or linux"],
    );
    assert_bad_input(
        &["render", "--interfaces", LAPTOP, "--kill-switch"],
        &["--kill-switch"],
    );
    assert_bad_input(&["frobnicate"], &["frobnicate"]);
    assert_bad_input(&[], &["--help"]);
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write settings");
    path.to_string_lossy().into_owned()
}

#[test]
fn bad_settings_files_are_one_line_exit_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.toml").to_string_lossy().into_owned();
    assert_bad_input(
        &["render", "--interfaces", LAPTOP, "--settings", &missing],
        &[&missing, "cannot read"],
    );

    // (file, contents, what follows the path in the message, key named)
    for (name, text, at, key) in [
        (
            "typed.toml",
            "kill_switch = true\nallow_lan = \"yes\"\n",
            ":2:",
            "allow_lan",
        ),
        (
            "typo.toml",
            "allow_lan = true\nalow_dns = true\n",
            ":2:",
            "alow_dns",
        ),
        (
            "invalid.toml",
            "tunnel_patterns = [\"tun*x\"]\n",
            "",
            "tunnel_patterns[0]",
        ),
    ] {
        let path = write(dir.path(), name, text);
        assert_bad_input(
            &["render", "--interfaces", LAPTOP, "--settings", &path],
            &[&format!("{path}{at}"), key],
        );
    }
}

#[test]
fn good_input_exits_0_with_nothing_on_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    // kill_switch = false in the file: render still forces it on.
    let settings = write(
        dir.path(),
        "ok.toml",
        "kill_switch = false\nallow_lan = true\ntunnel_patterns = [\"zt*\"]\n\n[[endpoints]]\naddress = \"203.0.113.9\"\nport = 51820\nprotocol = \"udp\"\n",
    );
    for platform in ["linux", "macos"] {
        let out = run(&[
            "render",
            "--platform",
            platform,
            "--interfaces",
            LAPTOP,
            "--settings",
            &settings,
            "--endpoint",
            "198.51.100.7:1194/udp",
            "--endpoint",
            "[2001:db8:7::1]:443/tcp",
        ]);
        assert_ok(&out, platform);
    }
}

#[test]
fn help_describes_every_option_with_an_example() {
    let out = run(&["render", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--platform",
        "macos",
        "linux",
        "--settings",
        "--endpoint",
        "198.51.100.7:1194/udp",
        "/tcp",
        "--interfaces",
        "en0=192.168.1.20/24",
        "kill switch is always rendered ON",
        "Exit status",
    ] {
        assert!(
            help.contains(needle),
            "render --help lacks {needle:?}:\n{help}"
        );
    }
    let top = run(&["--help"]);
    assert_eq!(top.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&top.stdout).contains("render"));
}

/// With --interfaces the output must not depend on the machine it runs
/// on: the same command in an empty network namespace (only `lo`, no
/// routes, no resolv.conf of ours) prints the same bytes as here.
/// Needs root for the namespace; skips otherwise.
#[test]
fn described_interfaces_do_not_depend_on_this_machine() {
    if !root_with_iproute2() {
        eprintln!("SKIPPED: needs root to create a network namespace");
        return;
    }
    let ns = Netns::new();
    for platform in ["linux", "macos"] {
        let args = [
            "render",
            "--platform",
            platform,
            "--interfaces",
            LAPTOP,
            "--endpoint",
            "198.51.100.7:1194/udp",
        ];
        let here = run(&args);
        let there = Command::new("ip")
            .args(["netns", "exec", &ns.0, BIN])
            .args(args)
            .output()
            .expect("ip netns exec");
        assert_eq!(
            here.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&here.stderr)
        );
        assert_eq!(
            there.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&there.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&here.stdout),
            String::from_utf8_lossy(&there.stdout),
            "{platform}: output changed with the machine's network"
        );
    }
}

/// The rendered ruleset must name the endpoint the user added.
#[test]
fn render_output_names_the_endpoint_on_both_platforms() {
    for platform in ["linux", "macos"] {
        let out = run(&[
            "render",
            "--platform",
            platform,
            "--interfaces",
            LAPTOP,
            "--endpoint",
            "198.51.100.7:1194/udp",
        ]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("198.51.100.7"),
            "{platform} ruleset lacks the endpoint:\n{text}"
        );
    }
}

fn root_with_iproute2() -> bool {
    // `id -u` keeps the CLI crate free of a nix dependency just for tests.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        && Command::new("ip").arg("-V").output().is_ok()
}

/// A network namespace removed when dropped.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let name = format!("airlock-test-cli-{}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name}");
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}
