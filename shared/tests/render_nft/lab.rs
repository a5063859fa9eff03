//! Network namespaces for the nft tests: each test makes its own and a
//! Drop guard removes it, so nothing touches the host's firewall or
//! network. Without root, `ip` or `nft` the tests skip (and fail on CI).

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Whether this machine can run the namespace tests; says why not.
pub fn available() -> bool {
    let works = |cmd: &str, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let root = nix::unistd::Uid::effective().is_root();
    if root && works("nft", "--version") && works("ip", "-V") {
        return true;
    }
    let why = format!("needs root ({root}), nft and ip");
    // Linux CI (root, nftables installed by scripts/deps) must run them
    // (this module is compiled only on Linux).
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if ci {
        panic!("CI must run the nft namespace tests: {why}");
    }
    eprintln!("skipping nft namespace test: {why}");
    false
}

/// A network namespace that exists as long as this value.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// None (after saying why) when the machine cannot run namespace tests.
    pub fn new(tag: &str) -> Option<Netns> {
        if !available() {
            return None;
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("airlock-test-{}-{tag}{n}", std::process::id());
        let out = run(&["ip", "netns", "add", &name], "");
        assert!(out.ok, "ip netns add {name}: {}", out.stderr);
        let ns = Netns { name };
        // Addresses must be usable at once: no duplicate address detection.
        for conf in ["all", "default"] {
            ns.sysctl(&format!("net.ipv6.conf.{conf}.accept_dad"), "0");
        }
        ns.ip(&["link", "set", "lo", "up"]);
        Some(ns)
    }

    /// `ip -n NS ARGS`, which must succeed.
    pub fn ip(&self, args: &[&str]) {
        let mut argv = vec!["ip", "-n", &self.name];
        argv.extend_from_slice(args);
        let out = run(&argv, "");
        assert!(out.ok, "{}: {}", argv.join(" "), out.stderr);
    }

    pub fn sysctl(&self, key: &str, value: &str) {
        let out = self.exec(&["sysctl", "-qw", &format!("{key}={value}")], "");
        assert!(out.ok, "sysctl {key}: {}", out.stderr);
    }

    /// `ip netns exec NS CMD...` with `stdin`.
    pub fn exec(&self, cmd: &[&str], stdin: &str) -> Output {
        let mut argv = vec!["ip", "netns", "exec", &self.name];
        argv.extend_from_slice(cmd);
        run(&argv, stdin)
    }

    pub fn nft(&self, args: &[&str], stdin: &str) -> Output {
        let mut cmd = vec!["nft"];
        cmd.extend_from_slice(args);
        self.exec(&cmd, stdin)
    }

    /// `nft -j list ...` parsed.
    pub fn nft_json(&self, args: &[&str]) -> serde_json::Value {
        let mut cmd = vec!["-j", "list"];
        cmd.extend_from_slice(args);
        let out = self.nft(&cmd, "");
        assert!(out.ok, "nft {}: {}", cmd.join(" "), out.stderr);
        serde_json::from_str(&out.stdout).expect("nft -j prints JSON")
    }

    /// The elements of a set in table `inet airlock` as `a . b . c` text,
    /// read back from the kernel.
    pub fn set_elements(&self, set: &str) -> Vec<String> {
        let json = self.nft_json(&["set", "inet", "airlock", set]);
        let items = json["nftables"].as_array().expect("nftables array");
        let mut out = Vec::new();
        for item in items {
            let Some(elems) = item["set"]["elem"].as_array() else {
                continue;
            };
            for e in elems {
                let parts = e["concat"].as_array().expect("concatenated element");
                let text: Vec<String> = parts
                    .iter()
                    .map(|p| match p {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                out.push(text.join(" . "));
            }
        }
        out
    }

    /// Runs `f` on a thread that has entered this namespace (setns is per
    /// thread), so sockets `f` opens live in it.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                // SAFETY: setns on a namespace file we hold open; it only
                // changes this (short-lived, scoped) thread's namespace.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let out = run(&["ip", "netns", "del", &self.name], "");
        if !out.ok {
            eprintln!("ip netns del {}: {}", self.name, out.stderr);
        }
    }
}

fn run(argv: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", argv[0]));
    let mut pipe = child.stdin.take().expect("piped stdin");
    let input = stdin.as_bytes().to_vec();
    // Write on another thread: a big script must not deadlock against a
    // child that fills its stdout pipe first.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for child");
    let _ = writer.join();
    Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
