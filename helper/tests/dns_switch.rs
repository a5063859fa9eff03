//! The macOS DNS switch against a recording stand-in `scutil`
//! (tests/fixtures/scutil): the exact commands and scripts it sends, what
//! the dynamic store holds after each pass, exact restore when Blocking
//! ends and at the next start after a crash, and what it does when
//! configd refuses. The store's contents are written after scutil(8) and
//! published transcripts, not captured on a Mac.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use airlock_helper::dns_switch_macos::{DnsSwitch, SwitchConfig, SwitchError};

const WIFI: &str = "8C3F2D1A-1111-4C2B-9A63-0123456789AB";
const ETHERNET: &str = "0D5E8B7C-2222-4F1A-8E21-BA9876543210";

const GLOBAL_IPV4: &str = "<dictionary> {
  PrimaryInterface : en0
  PrimaryService : 8C3F2D1A-1111-4C2B-9A63-0123456789AB
  Router : 192.168.1.1
}
";
/// What DHCP published for Wi-Fi.
const WIFI_STATE_DNS: &str = "<dictionary> {
  DomainName : home.arpa
  ServerAddresses : <array> {
    0 : 192.168.1.1
    1 : fd00::1
  }
}
";
/// The user's manual DNS on Ethernet (also published under State:).
const ETHERNET_SETUP_DNS: &str = "<dictionary> {
  SearchDomains : <array> {
    0 : corp.example
  }
  ServerAddresses : <array> {
    0 : 1.1.1.1
    1 : 9.9.9.9
  }
  SearchOrder : 5000
}
";
const ETHERNET_STATE_DNS: &str = "<dictionary> {
  ServerAddresses : <array> {
    0 : 10.0.0.1
  }
}
";

struct Bench {
    dir: tempfile::TempDir,
}

impl Bench {
    fn new(env: &str) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let standin = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scutil");
        for name in ["scutil", "dscacheutil", "killall"] {
            std::os::unix::fs::symlink(&standin, dir.path().join(name)).unwrap();
        }
        std::fs::write(
            dir.path().join("env"),
            format!("SCUTIL_STANDIN_DIR='{}'\n{env}\n", dir.path().display()),
        )
        .unwrap();
        let b = Bench { dir };
        b.seed("State:/Network/Global/IPv4", GLOBAL_IPV4);
        b.seed(
            &format!("State:/Network/Service/{WIFI}/DNS"),
            WIFI_STATE_DNS,
        );
        b.seed(
            &format!("State:/Network/Service/{ETHERNET}/DNS"),
            ETHERNET_STATE_DNS,
        );
        b.seed(
            &format!("Setup:/Network/Service/{ETHERNET}/DNS"),
            ETHERNET_SETUP_DNS,
        );
        b
    }

    fn path(&self, key: &str) -> std::path::PathBuf {
        self.dir.path().join("store").join(key.replace('/', "%"))
    }

    fn seed(&self, key: &str, text: &str) {
        std::fs::create_dir_all(self.dir.path().join("store")).unwrap();
        std::fs::write(self.path(key), text).unwrap();
    }

    fn unseed(&self, key: &str) {
        std::fs::remove_file(self.path(key)).unwrap();
    }

    fn get(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.path(key)).ok()
    }

    fn switch(&self) -> DnsSwitch {
        DnsSwitch::new(SwitchConfig {
            scutil: self.dir.path().join("scutil"),
            dscacheutil: self.dir.path().join("dscacheutil"),
            killall: self.dir.path().join("killall"),
        })
    }

    /// Calls so far as (argv line, stdin); clears the log.
    fn take_calls(&self) -> Vec<(String, String)> {
        let log = self.dir.path().join("calls.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let calls = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                let stdin = self.dir.path().join(format!("stdin.{}", i + 1));
                let input = std::fs::read_to_string(&stdin).unwrap_or_default();
                (l.to_string(), input)
            })
            .collect();
        let _ = std::fs::remove_file(&log);
        for e in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with("stdin.") {
                let _ = std::fs::remove_file(e.path());
            }
        }
        calls
    }
}

/// A dictionary's top-level entries, order ignored (configd prints a
/// dictionary in its own order; "exactly as before" is the same entries).
fn entries(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cur = String::new();
    let mut depth = 0;
    for line in text.lines() {
        let t = line.trim();
        if depth == 1 && !t.is_empty() && t != "}" && cur.is_empty() {
            cur = t.to_string();
            if t.ends_with('{') {
                depth += 1;
            } else {
                out.insert(std::mem::take(&mut cur));
            }
            continue;
        }
        if t.ends_with('{') {
            depth += 1;
            if depth > 1 {
                cur.push('\n');
                cur.push_str(t);
            }
        } else if t == "}" {
            depth -= 1;
            if depth == 1 {
                cur.push_str("\n}");
                out.insert(std::mem::take(&mut cur));
            }
        } else if depth > 1 {
            cur.push('\n');
            cur.push_str(t);
        }
    }
    out
}

const READS: [&str; 3] = [
    "list State:/Network/Service/[^/]+/DNS\nquit\n",
    "list Setup:/Network/Service/[^/]+/DNS\nquit\n",
    "show State:/Network/Global/IPv4\nquit\n",
];

fn read_calls() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = READS
        .iter()
        .map(|s| ("'scutil'".to_string(), s.to_string()))
        .collect();
    // Primary first, then the other services in list order.
    for id in [WIFI, ETHERNET] {
        v.push((
            "'scutil'".into(),
            format!("show Setup:/Network/Service/{id}/DNS\nquit\n"),
        ));
        v.push((
            "'scutil'".into(),
            format!("show State:/Network/Service/{id}/DNS\nquit\n"),
        ));
    }
    v
}

#[test]
fn blocking_switches_every_service_once_with_its_backup_and_flushes() {
    let b = Bench::new("");
    let applied = b.switch().apply(true).unwrap();
    assert_eq!(applied.changed, 2);
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        applied.resolvers,
        [
            ip("192.168.1.1"),
            ip("fd00::1"),
            ip("1.1.1.1"),
            ip("9.9.9.9")
        ],
        "DHCP's for Wi-Fi, the manual ones for Ethernet"
    );
    let mut want = read_calls();
    want.push((
        "'scutil'".into(),
        format!(
            "open
d.init
d.add AirlockOriginal created
d.add ServerAddresses * 127.0.0.1
set Setup:/Network/Service/{WIFI}/DNS
d.init
get Setup:/Network/Service/{ETHERNET}/DNS
d.add AirlockOriginal servers
d.add AirlockOriginalServerAddresses * 1.1.1.1 9.9.9.9
d.add ServerAddresses * 127.0.0.1
set Setup:/Network/Service/{ETHERNET}/DNS
quit
"
        ),
    ));
    want.push(("'dscacheutil' '-flushcache'".into(), String::new()));
    want.push(("'killall' '-HUP' 'mDNSResponder'".into(), String::new()));
    // The read-back after the change.
    want.extend(read_calls());
    assert_eq!(b.take_calls(), want);
    let wifi = b
        .get(&format!("Setup:/Network/Service/{WIFI}/DNS"))
        .unwrap();
    assert_eq!(
        entries(&wifi),
        entries(
            "<dictionary> {\n  AirlockOriginal : created\n  ServerAddresses : <array> {\n    0 : 127.0.0.1\n  }\n}\n"
        )
    );
    let eth = b
        .get(&format!("Setup:/Network/Service/{ETHERNET}/DNS"))
        .unwrap();
    let eth = entries(&eth);
    assert!(eth.contains("SearchOrder : 5000") && eth.contains("AirlockOriginal : servers"));
    assert!(
        eth.contains("SearchDomains : <array> {\n0 : corp.example\n}"),
        "{eth:?}"
    );
    // DHCP's State: keys are never written.
    assert_eq!(
        b.get(&format!("State:/Network/Service/{WIFI}/DNS"))
            .as_deref(),
        Some(WIFI_STATE_DNS)
    );

    // The next pass (a network change while blocking): reads only.
    let again = b.switch().apply(true).unwrap();
    assert_eq!(again.changed, 0);
    assert_eq!(again.resolvers, applied.resolvers);
    assert_eq!(b.take_calls(), read_calls());
}

#[test]
fn ending_blocking_restores_exactly_and_a_new_start_after_a_crash_does_too() {
    let b = Bench::new("");
    b.switch().apply(true).unwrap();
    b.take_calls();
    // The helper "crashes": a new DnsSwitch (a new process) finds only
    // what the store holds. It starts not blocking.
    let restored = DnsSwitch::new(SwitchConfig {
        scutil: b.dir.path().join("scutil"),
        dscacheutil: b.dir.path().join("dscacheutil"),
        killall: b.dir.path().join("killall"),
    })
    .apply(false)
    .unwrap();
    assert_eq!(restored.changed, 2);
    let calls = b.take_calls();
    assert_eq!(
        calls[read_calls().len()].1,
        format!(
            "open
remove Setup:/Network/Service/{WIFI}/DNS
d.init
get Setup:/Network/Service/{ETHERNET}/DNS
d.add ServerAddresses * 1.1.1.1 9.9.9.9
d.remove AirlockOriginal
d.remove AirlockOriginalServerAddresses
set Setup:/Network/Service/{ETHERNET}/DNS
quit
"
        )
    );
    assert_eq!(b.get(&format!("Setup:/Network/Service/{WIFI}/DNS")), None);
    assert_eq!(
        entries(
            &b.get(&format!("Setup:/Network/Service/{ETHERNET}/DNS"))
                .unwrap()
        ),
        entries(ETHERNET_SETUP_DNS),
        "the user's manual DNS is back, entry for entry"
    );
    // Nothing left to do, and nothing is touched that is not ours.
    assert_eq!(b.switch().apply(false).unwrap().changed, 0);
    assert_eq!(b.take_calls(), read_calls());
}

#[test]
fn a_service_that_went_away_while_overridden_is_still_restored() {
    let b = Bench::new("");
    b.switch().apply(true).unwrap();
    // Ethernet unplugged: its State: key goes, Wi-Fi stays primary.
    b.unseed(&format!("State:/Network/Service/{ETHERNET}/DNS"));
    let r = b.switch().apply(true).unwrap();
    assert_eq!(r.changed, 1, "the unused override is put back");
    assert_eq!(
        entries(
            &b.get(&format!("Setup:/Network/Service/{ETHERNET}/DNS"))
                .unwrap()
        ),
        entries(ETHERNET_SETUP_DNS)
    );
    assert!(b
        .get(&format!("Setup:/Network/Service/{WIFI}/DNS"))
        .unwrap()
        .contains("127.0.0.1"));
}

#[test]
fn when_configd_refuses_the_switch_says_so() {
    let b = Bench::new("SCUTIL_STANDIN_FAIL=set");
    let e = b.switch().apply(true).unwrap_err();
    assert!(matches!(e, SwitchError::Failed { .. }), "{e}");
    assert!(e.to_string().contains("Permission denied"), "{e}");
    assert_eq!(b.get(&format!("Setup:/Network/Service/{WIFI}/DNS")), None);
    // Refused on scutil's output with exit 0: found by reading back.
    let b = Bench::new("SCUTIL_STANDIN_FAIL=ignore-set");
    let e = b.switch().apply(true).unwrap_err();
    assert!(
        matches!(e, SwitchError::NotApplied { left: 2, of: 2 }),
        "{e}"
    );
}

#[test]
fn a_backup_that_cannot_be_written_exactly_means_no_switch_at_all() {
    let b = Bench::new("");
    b.seed(
        &format!("Setup:/Network/Service/{ETHERNET}/DNS"),
        "<dictionary> {\n  ServerAddresses : <array> {\n    0 : dns.example\n  }\n}\n",
    );
    let e = b.switch().apply(true).unwrap_err();
    assert!(matches!(e, SwitchError::Unrestorable(_)), "{e}");
    let calls = b.take_calls();
    assert!(
        calls.iter().all(|(_, stdin)| !stdin.contains("set ")),
        "{calls:?}"
    );
}
