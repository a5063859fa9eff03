//! The judgement behind `airlockctl doctor`: facts gathered elsewhere in,
//! one verdict line per check out, each with what to do. Pure, so every
//! verdict is tested without a broken machine to test on.

use std::path::{Path, PathBuf};

use airlock_shared::platform::Platform;
use airlock_shared::status::{Guard, KillSwitch, Protection, Status};
use airlock_shared::time::Clock;

use crate::vpn_daemons::Daemon;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub level: Level,
    pub name: &'static str,
    pub detail: String,
}

fn check(level: Level, name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        level,
        name,
        detail: detail.into(),
    }
}

/// Ownership and mode of a file, as `stat` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFacts {
    pub is_socket: bool,
    /// Permission bits, including setuid/setgid/sticky.
    pub mode: u32,
    pub uid: u32,
}

/// Everything doctor looked at.
#[derive(Debug, Clone)]
pub struct Facts {
    pub platform: Platform,
    pub socket_path: PathBuf,
    /// `None`: there is no socket (or it cannot be stat'ed).
    pub socket: Option<FileFacts>,
    pub socket_dir: Option<(PathBuf, FileFacts)>,
    /// The helper's name and status, or why it could not be asked.
    pub helper: Result<(String, Status), String>,
    /// The firewall tool's name and where it was found.
    pub backend: (&'static str, Option<PathBuf>),
    /// The VPN daemons running, and as whom.
    pub vpn_daemons: Vec<Daemon>,
}

/// The firewall tool the helper drives on `platform`.
pub fn backend_program(platform: Platform) -> &'static str {
    airlock_shared::firewall_kind::FirewallKind::choose(platform, None).program()
}

/// The first of `dirs` holding an executable `name` (what a shell's PATH
/// search would find).
pub fn find_program(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    dirs.iter().map(|d| d.join(name)).find(|p| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

pub fn judge(facts: &Facts, clock: &Clock) -> Vec<Check> {
    let mut out = vec![helper_check(facts)];
    out.extend(socket_checks(facts));
    out.push(backend_check(facts));
    match &facts.helper {
        Ok((_, status)) => {
            out.extend(status_checks(status, clock));
            out.extend(root_only_check(status, &facts.vpn_daemons));
        }
        Err(_) => out.push(check(
            Level::Warn,
            "rules",
            "not checked: the helper is not reachable (see above)",
        )),
    }
    out
}

fn helper_check(facts: &Facts) -> Check {
    match &facts.helper {
        Ok((server, _)) => check(
            Level::Ok,
            "helper",
            format!("{server} answers on {}", facts.socket_path.display()),
        ),
        Err(why) => check(Level::Fail, "helper", why.clone()),
    }
}

fn socket_checks(facts: &Facts) -> Vec<Check> {
    let path = facts.socket_path.display();
    let Some(sock) = facts.socket else {
        // The helper check already failed on this and says how to start it.
        return vec![check(
            Level::Warn,
            "socket",
            format!("not checked: no socket at {path}"),
        )];
    };
    let mut out = Vec::new();
    let restart = "remove it and restart the helper";
    if !sock.is_socket {
        out.push(check(
            Level::Fail,
            "socket",
            format!("{path} is not a socket; {restart}"),
        ));
        return out;
    }
    if sock.uid != 0 {
        out.push(check(
            Level::Fail,
            "socket",
            format!(
                "{path} is owned by uid {}, not root: another program may be posing as the \
                 helper; {restart}",
                sock.uid
            ),
        ));
    }
    if let Some((dir, d)) = &facts.socket_dir {
        let writable_by_others = d.mode & 0o022 != 0;
        let sticky = d.mode & 0o1000 != 0;
        if d.uid != 0 || (writable_by_others && !sticky) {
            out.push(check(
                Level::Fail,
                "socket",
                format!(
                    "{} (mode {:04o}, uid {}) can be written by others than root, who could \
                     replace the socket; make it root-owned and not group/world-writable, or \
                     use the default socket path",
                    dir.display(),
                    d.mode & 0o7777,
                    d.uid
                ),
            ));
        }
    }
    if sock.mode & 0o006 != 0o006 {
        out.push(check(
            Level::Warn,
            "socket",
            format!(
                "{path} has mode {:04o}: users outside its group cannot read the status; the \
                 helper sets 0666 when it starts, so restart it",
                sock.mode & 0o7777
            ),
        ));
    }
    if out.is_empty() {
        out.push(check(
            Level::Ok,
            "socket",
            format!(
                "{path} mode {:04o}, owned by root, in a directory only root can change",
                sock.mode & 0o7777
            ),
        ));
    }
    out
}

fn backend_check(facts: &Facts) -> Check {
    let (name, found) = &facts.backend;
    match (found, facts.platform) {
        (Some(p), _) => check(
            Level::Ok,
            "backend",
            format!("{name} found at {}", p.display()),
        ),
        (None, Platform::Linux) => check(
            Level::Fail,
            "backend",
            "nft not found in PATH, /usr/sbin or /sbin; install nftables \
             (`sudo apt install nftables` or `sudo dnf install nftables`)",
        ),
        (None, Platform::Macos) => check(
            Level::Fail,
            "backend",
            "pfctl not found in PATH, /usr/sbin or /sbin; it ships with macOS, so /sbin/pfctl \
             missing means a damaged system",
        ),
    }
}

fn status_checks(status: &Status, clock: &Clock) -> Vec<Check> {
    let mut out = Vec::new();
    let fw = &status.firewall;
    if !fw.healthy {
        if fw.problems.is_empty() && fw.faults.is_empty() {
            let why = status
                .reason
                .clone()
                .unwrap_or_else(|| "no reason given".to_string());
            out.push(check(
                Level::Fail,
                "rules",
                format!("the helper reports the firewall unhealthy: {why}"),
            ));
        }
        for issue in fw.issues() {
            out.push(check(Level::Fail, "rules", issue));
        }
    } else if status.kill_switch == KillSwitch::Off {
        out.push(check(
            Level::Ok,
            "rules",
            "none loaded, as expected with the kill switch off",
        ));
    } else {
        out.push(check(
            Level::Ok,
            "rules",
            format!(
                "{} rules loaded and verified by the helper; {} packets blocked",
                fw.backend, fw.blocked_packets
            ),
        ));
    }
    out.push(match (status.kill_switch, status.protection) {
        (KillSwitch::On, Protection::Protected) => {
            check(Level::Ok, "kill switch", "on, VPN tunnel up: protected")
        }
        (KillSwitch::On, Protection::Blocking) => check(
            Level::Ok,
            "kill switch",
            "on, no VPN tunnel up: blocking everything but the VPN servers until it connects",
        ),
        (KillSwitch::On, _) => check(Level::Ok, "kill switch", "on"),
        (KillSwitch::Off, _) => check(
            Level::Warn,
            "kill switch",
            "off: traffic is not protected; turn it on with `sudo airlockctl enable`",
        ),
        (KillSwitch::Paused, _) => {
            let until = status
                .paused_until
                .map(|t| {
                    let left = crate::duration::format_seconds(t.saturating_sub(clock.now));
                    format!(" ({left} left)")
                })
                .unwrap_or_default();
            check(
                Level::Warn,
                "kill switch",
                format!(
                    "paused{until}: traffic is not protected; `sudo airlockctl resume` ends \
                     the pause"
                ),
            )
        }
    });
    if status.endpoints == 0 && status.kill_switch != KillSwitch::Off {
        out.push(check(
            Level::Warn,
            "endpoints",
            "no VPN server is let through, so the VPN cannot connect unless the helper \
             learns it from a tunnel; add it with `sudo airlockctl endpoints add ADDR:PORT/udp`",
        ));
    }
    if let Some(r) = status.resolver.as_deref().filter(|r| r.active) {
        out.push(if r.vpn_server_names == 0 {
            check(
                Level::Warn,
                "resolver",
                format!(
                    "{}: a VPN configured by name cannot look up its server while blocking; \
                     import its config with `sudo airlockctl endpoints import FILE`",
                    r.summary()
                ),
            )
        } else {
            check(Level::Ok, "resolver", r.summary())
        });
    }
    if let Guard::Unavailable { why } = &fw.guard {
        out.push(check(
            Level::Warn,
            "tamper guard",
            format!(
                "off ({why}): a root process deleting Airlock's rules opens a gap of a few \
                 milliseconds until the helper puts them back"
            ),
        ));
    } else if fw.guard == Guard::On {
        out.push(check(
            Level::Ok,
            "tamper guard",
            "on: only the helper may change or delete its copy of the rules \
             (table inet airlock_guard)",
        ));
    }
    if let Some(t) = fw.last_tamper {
        out.push(check(
            Level::Warn,
            "tamper",
            format!(
                "something else changed Airlock's rules at {} and the helper restored them; \
                 look for another firewall tool (ufw, firewalld, a VPN client's own kill switch)",
                clock.datetime(t)
            ),
        ));
    }
    out
}

/// Whether `vpn-root-only` suits the VPN daemons running: it lets only
/// root's sockets reach the VPN servers, so a daemon running as another
/// user cannot connect with it on.
fn root_only_check(status: &Status, daemons: &[Daemon]) -> Option<Check> {
    let name = "vpn-root-only";
    let on = status.options.vpn_root_only;
    let who = |d: &Daemon| match d.uid {
        0 => format!("{} ({}) runs as root", d.product, d.process),
        uid => format!("{} ({}) runs as uid {uid}", d.product, d.process),
    };
    let not_root: Vec<String> = daemons.iter().filter(|d| d.uid != 0).map(who).collect();
    let all: Vec<String> = daemons.iter().map(who).collect();
    Some(match (on, daemons.is_empty(), not_root.is_empty()) {
        (false, true, _) => return None,
        (true, true, _) => check(
            Level::Ok,
            name,
            "on: only root's programs may reach the VPN servers (no known VPN daemon is \
             running to check against)",
        ),
        (true, false, true) => check(
            Level::Ok,
            name,
            format!(
                "on: only root's programs may reach the VPN servers, and {}",
                all.join(", ")
            ),
        ),
        (true, false, false) => check(
            Level::Warn,
            name,
            format!(
                "on, but {}: the kill switch refuses its packets to the VPN server, so it \
                 cannot connect; turn it off: `sudo airlockctl set vpn-root-only off`",
                not_root.join(", ")
            ),
        ),
        (false, false, true) => check(
            Level::Ok,
            name,
            format!(
                "off; {}, so `sudo airlockctl set vpn-root-only on` would keep every other \
                 program away from the VPN servers",
                all.join(", ")
            ),
        ),
        (false, false, false) => check(
            Level::Ok,
            name,
            format!("off, as it must stay: {}", not_root.join(", ")),
        ),
    })
}

/// `ok    helper       airlockd 0.1.0 answers on ...`: aligned columns.
pub fn format(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    checks
        .iter()
        .map(|c| format!("{:<4}  {:<width$}  {}\n", c.level.word(), c.name, c.detail))
        .collect()
}

/// Where doctor looks for the firewall tool: PATH, then the sbin
/// directories an unprivileged user's PATH often lacks.
pub fn search_dirs(path_var: Option<&std::ffi::OsStr>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = path_var
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    for d in ["/usr/sbin", "/sbin"] {
        if !dirs.iter().any(|x| x == Path::new(d)) {
            dirs.push(PathBuf::from(d));
        }
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_shared::status::{Fault, Problem};
    use airlock_test_support::StatusBuilder;

    fn clock() -> Clock {
        airlock_test_support::clock::utc(1_000_000)
    }

    /// The CLI's sample helper answer, with no tamper on record: a
    /// healthy machine.
    fn status() -> Status {
        builder().build()
    }

    /// [`status`] still under construction.
    fn builder() -> StatusBuilder {
        StatusBuilder::protected().last_tamper(None)
    }

    const ROOT_SOCKET: FileFacts = FileFacts {
        is_socket: true,
        mode: 0o666,
        uid: 0,
    };
    const ROOT_DIR: FileFacts = FileFacts {
        is_socket: false,
        mode: 0o755,
        uid: 0,
    };

    fn healthy() -> Facts {
        Facts {
            platform: Platform::Linux,
            socket_path: "/run/airlock/airlock.sock".into(),
            socket: Some(ROOT_SOCKET),
            socket_dir: Some(("/run/airlock".into(), ROOT_DIR)),
            helper: Ok(("airlockd 0.1.0".into(), status())),
            backend: ("nft", Some("/usr/sbin/nft".into())),
            vpn_daemons: vec![],
        }
    }

    fn levels(checks: &[Check]) -> Vec<(Level, &'static str)> {
        checks.iter().map(|c| (c.level, c.name)).collect()
    }

    #[test]
    fn a_healthy_machine_is_all_ok() {
        let checks = judge(&healthy(), &clock());
        assert_eq!(
            levels(&checks),
            [
                (Level::Ok, "helper"),
                (Level::Ok, "socket"),
                (Level::Ok, "backend"),
                (Level::Ok, "rules"),
                (Level::Ok, "kill switch"),
            ]
        );
        assert_eq!(
            format(&checks).lines().next(),
            Some("ok    helper       airlockd 0.1.0 answers on /run/airlock/airlock.sock")
        );
    }

    #[test]
    fn each_firewall_problem_is_a_fail_line_in_the_helpers_words() {
        let mut f = healthy();
        let s = builder()
            .faults(&[Fault::CutFailed {
                error: "conntrack: not found".into(),
            }])
            .problems(&[Problem::PfDisabled, Problem::AnchorNotReferenced])
            .build();
        assert_eq!(s.protection, Protection::Fault);
        f.helper = Ok(("airlockd 0.1.0".into(), s));
        let checks = judge(&f, &clock());
        let fails: Vec<&str> = checks
            .iter()
            .filter(|c| c.level == Level::Fail)
            .map(|c| c.detail.as_str())
            .collect();
        assert_eq!(
            fails,
            [
                "could not cut connections the kill switch forbids: conntrack: not found"
                    .to_string(),
                Problem::PfDisabled.to_string(),
                Problem::AnchorNotReferenced.to_string(),
            ],
            "faults first, then the kernel's problems"
        );
    }

    #[test]
    fn unreachable_helper_fails_and_skips_the_status_checks() {
        let mut f = healthy();
        f.socket = None;
        f.helper = Err("the Airlock helper is not running (no socket at X)".into());
        let checks = judge(&f, &clock());
        assert_eq!(
            levels(&checks),
            [
                (Level::Fail, "helper"),
                (Level::Warn, "socket"),
                (Level::Ok, "backend"),
                (Level::Warn, "rules"),
            ]
        );
    }

    #[test]
    fn socket_ownership_and_modes() {
        let judge_socket = |sock: FileFacts, dir: FileFacts| {
            let mut f = healthy();
            f.socket = Some(sock);
            f.socket_dir = Some(("/run/airlock".into(), dir));
            judge(&f, &clock())
                .into_iter()
                .filter(|c| c.name == "socket")
                .map(|c| c.level)
                .collect::<Vec<_>>()
        };
        let user_socket = FileFacts {
            uid: 1000,
            ..ROOT_SOCKET
        };
        assert_eq!(judge_socket(user_socket, ROOT_DIR), [Level::Fail]);
        let tight = FileFacts {
            mode: 0o660,
            ..ROOT_SOCKET
        };
        assert_eq!(judge_socket(tight, ROOT_DIR), [Level::Warn]);
        let open_dir = FileFacts {
            mode: 0o777,
            ..ROOT_DIR
        };
        assert_eq!(judge_socket(ROOT_SOCKET, open_dir), [Level::Fail]);
        // /tmp-like: world-writable but sticky, so the socket cannot be
        // replaced while it is there.
        let tmp = FileFacts {
            mode: 0o1777,
            ..ROOT_DIR
        };
        assert_eq!(judge_socket(ROOT_SOCKET, tmp), [Level::Ok]);
        let not_socket = FileFacts {
            is_socket: false,
            ..ROOT_SOCKET
        };
        assert_eq!(judge_socket(not_socket, ROOT_DIR), [Level::Fail]);
    }

    #[test]
    fn the_resolver_is_reported_while_blocking() {
        let mut f = healthy();
        let mut s = status();
        let mut r = airlock_shared::status::ResolverStatus {
            active: true,
            network_check_names: 2,
            vpn_server_names: 2,
            pinned: vec![],
            upstreams: vec![],
        };
        s.resolver = Some(Box::new(r.clone()));
        f.helper = Ok(("airlockd".into(), s.clone()));
        let checks = judge(&f, &clock());
        let c = checks.iter().find(|c| c.name == "resolver").unwrap();
        assert_eq!(c.level, Level::Ok);
        assert_eq!(
            c.detail,
            "answering the network check; 2 VPN server names allowed"
        );
        r.vpn_server_names = 0;
        s.resolver = Some(Box::new(r.clone()));
        f.helper = Ok(("airlockd".into(), s.clone()));
        let checks = judge(&f, &clock());
        let c = checks.iter().find(|c| c.name == "resolver").unwrap();
        assert_eq!(c.level, Level::Warn);
        r.active = false;
        s.resolver = Some(Box::new(r));
        f.helper = Ok(("airlockd".into(), s));
        assert!(judge(&f, &clock()).iter().all(|c| c.name != "resolver"));
    }

    /// The guard's state is told, and only a missing one is a warning:
    /// on Debian 11's kernel, say, a deleted table opens a short gap.
    #[test]
    fn the_tamper_guard_is_told_and_its_absence_warned_of() {
        use airlock_shared::status::GuardGap;
        let name = "tamper guard";
        let level_of = |guard: Guard| {
            let mut s = status();
            s.firewall.guard = guard;
            let mut f = healthy();
            f.helper = Ok(("airlockd".into(), s));
            judge(&f, &clock())
                .iter()
                .find(|c| c.name == name)
                .map(|c| (c.level, c.detail.clone()))
        };
        assert_eq!(
            level_of(Guard::Off),
            None,
            "off with the kill switch: not a check"
        );
        assert_eq!(level_of(Guard::On).map(|c| c.0), Some(Level::Ok));
        let (level, detail) = level_of(Guard::Unavailable {
            why: GuardGap::KernelLacksOwner,
        })
        .unwrap();
        assert_eq!(level, Level::Warn);
        assert!(detail.contains("Linux 5.12"), "{detail}");
    }

    /// Said from the daemons' users, warned of only when the option would
    /// keep the VPN from connecting.
    #[test]
    fn vpn_root_only_is_judged_against_the_daemons_users() {
        let daemon = |uid| Daemon {
            product: "OpenVPN",
            process: "openvpn".into(),
            uid,
        };
        let verdict = |on: bool, daemons: Vec<Daemon>| {
            let mut s = status();
            s.options.vpn_root_only = on;
            let mut f = healthy();
            f.helper = Ok(("airlockd".into(), s));
            f.vpn_daemons = daemons;
            judge(&f, &clock())
                .into_iter()
                .find(|c| c.name == "vpn-root-only")
                .map(|c| (c.level, c.detail))
        };
        assert_eq!(verdict(false, vec![]), None);
        let (level, detail) = verdict(false, vec![daemon(0)]).unwrap();
        assert_eq!(level, Level::Ok);
        assert!(detail.contains("runs as root") && detail.contains("set vpn-root-only on"));
        let (level, detail) = verdict(true, vec![daemon(0), daemon(501)]).unwrap();
        assert_eq!(level, Level::Warn);
        assert!(
            detail.contains("uid 501") && detail.contains("vpn-root-only off"),
            "{detail}"
        );
        assert_eq!(verdict(true, vec![daemon(0)]).unwrap().0, Level::Ok);
        let (level, detail) = verdict(false, vec![daemon(1000)]).unwrap();
        assert_eq!(level, Level::Ok);
        assert!(
            detail.contains("must stay") && detail.contains("uid 1000"),
            "{detail}"
        );
    }

    #[test]
    fn missing_backend_and_risky_states() {
        let mut f = healthy();
        f.backend = ("nft", None);
        let mut s = status();
        s.kill_switch = KillSwitch::Paused;
        s.protection = Protection::Paused;
        s.paused_until = Some(1_000_300);
        s.endpoints = 0;
        s.firewall.last_tamper = Some(999_000);
        f.helper = Ok(("airlockd".into(), s));
        let checks = judge(&f, &clock());
        assert_eq!(
            levels(&checks),
            [
                (Level::Ok, "helper"),
                (Level::Ok, "socket"),
                (Level::Fail, "backend"),
                (Level::Ok, "rules"),
                (Level::Warn, "kill switch"),
                (Level::Warn, "endpoints"),
                (Level::Warn, "tamper"),
            ]
        );
        assert!(checks[2].detail.contains("install nftables"));
        assert!(checks[4].detail.contains("5m left"), "{}", checks[4].detail);
        assert!(checks[6].detail.contains("1970-01-12 13:30:00 +00:00"));
    }

    #[test]
    fn program_search_finds_only_executables() {
        use std::os::unix::fs::PermissionsExt;
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let plain = a.path().join("nft");
        std::fs::write(&plain, "").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let exe = b.path().join("nft");
        std::fs::write(&exe, "").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let dirs = [a.path().to_path_buf(), b.path().to_path_buf()];
        assert_eq!(find_program("nft", &dirs), Some(exe));
        assert_eq!(find_program("pfctl", &dirs), None);
    }

    #[test]
    fn sbin_is_always_searched() {
        let dirs = search_dirs(Some(std::ffi::OsStr::new("/usr/bin:/sbin")));
        assert_eq!(
            dirs,
            [
                PathBuf::from("/usr/bin"),
                PathBuf::from("/sbin"),
                PathBuf::from("/usr/sbin")
            ]
        );
    }
}
