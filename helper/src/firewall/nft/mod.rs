//! Linux backend: one nftables table, `inet airlock`, and its tamper
//! guard `inet airlock_guard`.
//!
//! Loading is one `nft -f -` transaction with the rendered script on stdin
//! (the renderer emits `table inet airlock` + `delete table inet airlock` +
//! the full definition), so the kernel never holds a moment without the
//! table. Afterwards the table is read back as JSON and its shape (chains,
//! rule counts, sets, counters) becomes the reference [`Firewall::check`]
//! compares against, which is how `nft flush chain` or `nft delete table`
//! by someone else gets noticed.
//!
//! In the helper's own namespace the commands run in-process through
//! libnftables (`library_linux.rs`), falling back to the `nft` command
//! when the library cannot be opened. Every command can also run inside
//! another network namespace (`ip netns exec NS nft ...`), which is how
//! the tests drive a real kernel without touching the host; that always
//! uses the command.
//!
//! The guard (the same rules in a table with the kernel's `owner` flag,
//! see [`airlock_shared::render::nft::render_guard`]) needs the library:
//! the kernel ties an owned table to the netlink socket that created it,
//! and libnftables keeps one socket per context, open for as long as the
//! helper runs. Every later change and the delete go through that socket;
//! anyone else's are refused with EPERM. Why not `NFT_TABLE_F_PERSIST`,
//! which keeps an owned table when its owner dies: nft 1.0.6 cannot spell
//! it, kernels before 6.9 lack it, and an owned table alone would vanish
//! with a crashed helper. Beside the unowned table it need not persist:
//! whichever of the two survives blocks.

use std::path::PathBuf;

use airlock_shared::network::NetworkSnapshot;
use airlock_shared::policy::Policy;

use super::command::{self, Output};
use super::flow::{self, Flow};
use super::{Backend, DriverError, Problem};
use airlock_shared::firewall_kind::FirewallKind;
use airlock_shared::status::{Guard, GuardGap};
use shape::TableShape;

pub mod conntrack;
#[cfg(target_os = "linux")]
#[path = "events_linux.rs"]
mod events;
#[cfg(target_os = "linux")]
#[path = "library_linux.rs"]
mod library;
pub mod shape;

/// Opens a socket that becomes readable on every change to the kernel's
/// nftables ruleset (the tamper watch's event source).
pub fn open_events() -> std::io::Result<std::os::fd::OwnedFd> {
    #[cfg(target_os = "linux")]
    return events::open();
    #[cfg(not(target_os = "linux"))]
    return Err(std::io::Error::from(std::io::ErrorKind::Unsupported));
}

/// Our table's name in family `inet`.
pub const TABLE: &str = "airlock";
/// The tamper guard's, its owned copy
/// ([`airlock_shared::render::nft::render_guard`]).
pub const GUARD: &str = "airlock_guard";
/// The named counters the renderer puts on its final reject/drop rules.
pub const BLOCK_COUNTERS: [&str; 2] = ["blocked_in", "blocked_out"];

const NFT_HINT: &str = "install nftables (Debian/Ubuntu: apt-get install nftables)";
const CONNTRACK_HINT: &str =
    "install the conntrack tool (Debian/Ubuntu: apt-get install conntrack)";
const IP_HINT: &str = "install iproute2 (Debian/Ubuntu: apt-get install iproute2)";

/// Same line format as `conntrack -L -o extended`, for the calling
/// thread's namespace (`/proc/net` would be the main thread's). Reading it takes well under a millisecond; spawning
/// `conntrack -L` took ~30 ms, the largest cost of turning the kill
/// switch on after the load itself.
pub const PROC_CONNTRACK: &str = "/proc/thread-self/net/nf_conntrack";

/// Where the tools are and which network namespace to act in.
#[derive(Debug, Clone)]
pub struct NftConfig {
    pub nft: PathBuf,
    pub conntrack: PathBuf,
    /// `ip`, used only to enter `netns`.
    pub ip: PathBuf,
    /// Act inside this named network namespace instead of our own.
    pub netns: Option<String>,
    /// The kernel's text listing of tracked connections, read instead of
    /// spawning `conntrack -L` when acting in our own namespace. `None`,
    /// or a file that cannot be read (no CONFIG_NF_CONNTRACK_PROCFS, or
    /// conntrack not loaded yet), falls back to the tool.
    pub proc_conntrack: Option<PathBuf>,
    /// libnftables, to run nft commands in-process when acting in our own
    /// namespace; `None`, or a library that cannot be opened, runs `nft`.
    pub library: Option<String>,
    /// Whether to load the tamper guard beside the table.
    pub guard: bool,
}

/// The soname every nftables install provides (`nft` links it).
pub const LIBRARY: &str = "libnftables.so.1";

impl Default for NftConfig {
    fn default() -> Self {
        NftConfig {
            nft: "nft".into(),
            conntrack: "conntrack".into(),
            ip: "ip".into(),
            netns: None,
            proc_conntrack: Some(PROC_CONNTRACK.into()),
            library: Some(LIBRARY.into()),
            guard: true,
        }
    }
}

pub struct NftDriver {
    config: NftConfig,
    /// The table's shape right after our last successful load.
    loaded: Option<TableShape>,
    /// Whether our socket holds the guard (no one else can change it, so
    /// only its presence is ever checked).
    holds_guard: bool,
    /// libnftables, when in use (see [`NftConfig::library`]), and the
    /// network namespace its netlink socket was opened in.
    #[cfg(target_os = "linux")]
    library: Option<(std::sync::Mutex<library::Libnftables>, u64)>,
}

/// The calling thread's network namespace (the inode of its ns link).
#[cfg(target_os = "linux")]
fn this_netns() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/thread-self/ns/net")
        .ok()
        .map(|m| m.ino())
}

impl NftDriver {
    pub fn new(config: NftConfig) -> NftDriver {
        #[cfg(target_os = "linux")]
        let library = match (&config.netns, &config.library, this_netns()) {
            (None, Some(path), Some(netns)) => match library::Libnftables::open(path) {
                Ok(lib) => Some((std::sync::Mutex::new(lib), netns)),
                Err(e) => {
                    tracing::warn!("cannot use {path} ({e}); running the nft command instead");
                    None
                }
            },
            _ => None,
        };
        NftDriver {
            config,
            loaded: None,
            holds_guard: false,
            #[cfg(target_os = "linux")]
            library,
        }
    }

    /// Whether commands run in-process (libnftables) rather than `nft`.
    pub fn in_process(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.library.is_some();
        #[cfg(not(target_os = "linux"))]
        return false;
    }

    fn argv(&self, program: &std::path::Path, args: &[&str]) -> (Vec<String>, &'static str) {
        let mut argv = Vec::new();
        if let Some(ns) = &self.config.netns {
            argv.extend([
                self.config.ip.display().to_string(),
                "netns".into(),
                "exec".into(),
                ns.clone(),
            ]);
        }
        argv.push(program.display().to_string());
        argv.extend(args.iter().map(|a| a.to_string()));
        let hint = if self.config.netns.is_some() {
            IP_HINT
        } else if program == self.config.nft {
            NFT_HINT
        } else {
            CONNTRACK_HINT
        };
        (argv, hint)
    }

    fn nft(
        &self,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<(Vec<String>, Output), DriverError> {
        // The library's socket belongs to the namespace it was opened in;
        // a command from a thread in another one (tests) runs the tool,
        // which acts where the caller is, as every command always did.
        #[cfg(target_os = "linux")]
        if let Some((lib, netns)) = &self.library {
            if this_netns() == Some(*netns) {
                return Ok(in_process(lib, args, stdin));
            }
        }
        let (argv, hint) = self.argv(&self.config.nft, args);
        let out = command::run(&argv, stdin, hint)?;
        Ok((argv, out))
    }

    /// Runs an `nft list ...` about our table; `None` when the table does
    /// not exist (nft reports ENOENT as "No such file or directory").
    fn list(&self, args: &[&str]) -> Result<Option<String>, DriverError> {
        let (argv, out) = self.nft(args, None)?;
        if out.success {
            Ok(Some(out.stdout))
        } else if out.stderr.contains("No such file or directory") {
            Ok(None)
        } else {
            Err(command::failed(&argv, &out))
        }
    }

    /// The table's shape as the kernel holds it now, `None` if it is gone.
    pub fn read_shape(&self) -> Result<Option<TableShape>, DriverError> {
        self.read_table(TABLE)
    }

    /// The shape of our table `name` (ours or the guard).
    fn read_table(&self, name: &str) -> Result<Option<TableShape>, DriverError> {
        let args = ["-j", "list", "table", "inet", name];
        match self.list(&args)? {
            None => Ok(None),
            Some(json) => {
                shape::parse(&json, name)
                    .map(Some)
                    .map_err(|reason| DriverError::Parse {
                        command: format!("nft -j list table inet {name}"),
                        reason,
                    })
            }
        }
    }

    /// Reads table `name` back after a load of `script` succeeded: `Ok`
    /// with its shape once it holds everything the script declares.
    fn verify(&self, name: &str, script: &str) -> Result<TableShape, DriverError> {
        let found = self.read_table(name)?.ok_or_else(|| {
            DriverError::Verification(format!(
                "`nft -f -` succeeded but table `inet {name}` does not exist afterwards \
                 (does the script define it?)"
            ))
        })?;
        let missing = shape::missing(&shape::declared(script), &found);
        if !missing.is_empty() {
            return Err(DriverError::Verification(format!(
                "table `inet {name}` lacks {} after `nft -f -` succeeded",
                missing.join(", ")
            )));
        }
        Ok(found)
    }

    /// Whether nft commands run in this process, in the namespace the
    /// library's socket belongs to: the only way to own a table.
    fn owns_tables(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Some((_, netns)) = &self.library {
            return this_netns() == Some(*netns);
        }
        false
    }

    /// Deletes a guard of ours that a new load could not replace: one of
    /// older rules would block what the new ones allow. If even that
    /// fails it stays and blocks more than the rules do, never less.
    fn drop_guard(&mut self) {
        let delete = ["delete", "table", "inet", GUARD];
        match self.nft(&delete, None) {
            Ok((_, out)) if out.success || out.stderr.contains("No such file or directory") => {
                self.holds_guard = false;
            }
            Ok((argv, out)) => {
                tracing::warn!("{}", command::failed(&argv, &out));
            }
            Err(e) => tracing::warn!("{e}"),
        }
    }

    fn list_flows(&self) -> Result<Vec<Flow>, DriverError> {
        // /proc/net is this process's namespace: only valid without netns.
        let proc_file = self.config.proc_conntrack.as_ref();
        if let (None, Some(path)) = (&self.config.netns, proc_file) {
            if let Ok(text) = std::fs::read_to_string(path) {
                return conntrack::parse_listing(&text).map_err(|reason| DriverError::Parse {
                    command: format!("reading {}", path.display()),
                    reason,
                });
            }
        }
        let (argv, hint) = self.argv(&self.config.conntrack, &["-L", "-o", "extended"]);
        let out = command::run_ok(&argv, None, hint)?;
        conntrack::parse_listing(&out.stdout).map_err(|reason| DriverError::Parse {
            command: command::display(&argv),
            reason,
        })
    }

    fn delete_flow(&self, flow: &Flow) -> Result<usize, DriverError> {
        let args = conntrack::delete_args(flow);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (argv, hint) = self.argv(&self.config.conntrack, &args);
        let out = command::run(&argv, None, hint)?;
        // conntrack exits 1 when nothing matched: the connection ended on
        // its own between listing and deleting, which is what we wanted.
        match conntrack::deleted_count(&out.stderr) {
            Some(n) if out.success || n == 0 => Ok(n),
            _ => Err(command::failed(&argv, &out)),
        }
    }
}

/// `nft ARGS` (with `-f -` meaning the script on `stdin`, `-j` JSON
/// output) run through libnftables; the same output and messages.
#[cfg(target_os = "linux")]
fn in_process(
    lib: &std::sync::Mutex<library::Libnftables>,
    args: &[&str],
    stdin: Option<&str>,
) -> (Vec<String>, Output) {
    let json = args.first() == Some(&"-j");
    let words: Vec<&str> = args.iter().copied().filter(|a| *a != "-j").collect();
    let command = match (words.as_slice(), stdin) {
        (["-f", "-"], Some(script)) => script.to_string(),
        _ => words.join(" "),
    };
    // A poisoned lock means a panic mid-command on another thread, which
    // cannot happen (one engine thread); the context is still usable.
    let mut lib = lib.lock().unwrap_or_else(|p| p.into_inner());
    let ran = lib.run(&command, json);
    let mut argv = vec!["nft (libnftables)".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let out = Output {
        stdout: ran.output,
        stderr: ran.error,
        success: ran.ok,
        status: if ran.ok { "ok" } else { "failed" }.into(),
    };
    (argv, out)
}

impl Backend for NftDriver {
    fn kind(&self) -> FirewallKind {
        FirewallKind::Nft
    }

    fn load(&mut self, ruleset: &str) -> Result<(), DriverError> {
        let (argv, out) = self.nft(&["-f", "-"], Some(ruleset))?;
        if !out.success {
            return Err(command::failed(&argv, &out));
        }
        self.loaded = Some(self.verify(TABLE, ruleset)?);
        Ok(())
    }

    /// Both tables in one transaction, so there is no moment in which the
    /// guard still holds older rules than the main table (the two block
    /// what either blocks). When that fails, the main table alone, so a
    /// kernel without owned tables (or any other trouble with the guard)
    /// costs the guard, never the rules.
    fn load_with_guard(&mut self, ruleset: &str, guard: &str) -> Result<Guard, DriverError> {
        if !self.config.guard {
            self.load(ruleset)?;
            return Ok(Guard::Unavailable {
                why: GuardGap::TurnedOff,
            });
        }
        if !self.owns_tables() {
            self.load(ruleset)?;
            return Ok(Guard::Unavailable {
                why: GuardGap::NoLibrary,
            });
        }
        let both = format!("{ruleset}\n{guard}");
        let (argv, out) = self.nft(&["-f", "-"], Some(&both))?;
        if out.success {
            // Held from here on, whatever the read-back finds: a later
            // remove must delete it too, or the guard would block on
            // with the kill switch off.
            self.holds_guard = true;
            self.loaded = Some(self.verify(TABLE, ruleset)?);
            return Ok(match self.verify(GUARD, guard) {
                Ok(_) => Guard::On,
                Err(e) => {
                    self.drop_guard();
                    Guard::Unavailable {
                        why: GuardGap::LoadFailed {
                            error: e.to_string(),
                        },
                    }
                }
            });
        }
        self.load(ruleset)?;
        self.drop_guard();
        // The main table loads alone, so the guard was what failed.
        let why = if out.stderr.contains("Operation not supported") {
            GuardGap::KernelLacksOwner
        } else {
            GuardGap::LoadFailed {
                error: command::failed(&argv, &out).to_string(),
            }
        };
        tracing::warn!("tamper guard not loaded: {why}");
        Ok(Guard::Unavailable { why })
    }

    fn remove(&mut self) -> Result<(), DriverError> {
        if self.holds_guard {
            let both = airlock_shared::render::nft::removal();
            let (argv, out) = self.nft(&["-f", "-"], Some(&both))?;
            if !out.success {
                return Err(command::failed(&argv, &out));
            }
            self.holds_guard = false;
        } else {
            let (argv, out) = self.nft(&["delete", "table", "inet", TABLE], None)?;
            if !out.success && !out.stderr.contains("No such file or directory") {
                return Err(command::failed(&argv, &out));
            }
        }
        self.loaded = None;
        if self.read_shape()?.is_some() {
            return Err(DriverError::Verification(
                "table `inet airlock` is still there after `nft delete table inet airlock`".into(),
            ));
        }
        Ok(())
    }

    fn check(&mut self, expect_loaded: bool) -> Result<Vec<Problem>, DriverError> {
        let found = self.read_shape()?;
        // No one else can change the guard; only its loss is looked for.
        let guard_gone = expect_loaded && self.holds_guard && self.read_table(GUARD)?.is_none();
        let mut problems = match (expect_loaded, found) {
            (true, None) => vec![Problem::TableMissing],
            (true, Some(found)) => match &self.loaded {
                Some(loaded) => shape::compare(loaded, &found),
                None => shape::empty_base_chains(&found),
            },
            (false, Some(_)) => vec![Problem::LeftOver {
                kind: FirewallKind::Nft,
            }],
            (false, None) => Vec::new(),
        };
        if guard_gone {
            problems.push(Problem::GuardMissing);
        }
        Ok(problems)
    }

    fn kill_forbidden(
        &mut self,
        policy: &Policy,
        snapshot: &NetworkSnapshot,
    ) -> Result<usize, DriverError> {
        let mut killed = 0;
        for flow in self.list_flows()? {
            if !flow::allowed(policy, snapshot, &flow) {
                killed = self.delete_flow(&flow)?.saturating_add(killed);
            }
        }
        Ok(killed)
    }

    fn tracked_flows(&mut self) -> Result<Vec<Flow>, DriverError> {
        self.list_flows()
    }

    fn blocked_packets(&mut self) -> Result<Option<u64>, DriverError> {
        let args = ["-j", "list", "counters", "table", "inet", TABLE];
        match self.list(&args)? {
            None => Ok(None),
            Some(json) => shape::counter_packets(&json, &BLOCK_COUNTERS).map_err(|reason| {
                DriverError::Parse {
                    command: "nft -j list counters table inet airlock".into(),
                    reason,
                }
            }),
        }
    }

    fn loaded_text(&mut self) -> Result<String, DriverError> {
        Ok(self
            .list(&["list", "table", "inet", TABLE])?
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two lines as the kernel writes them in /proc/net/nf_conntrack.
    const PROC_LINES: &str = "\
ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.20 dst=203.0.113.80 sport=52000 dport=443 src=203.0.113.80 dst=192.168.1.20 sport=443 dport=52000 [ASSURED] mark=0 zone=0 use=2
ipv4     2 udp      17 170 src=192.168.1.20 dst=198.51.100.7 sport=40000 dport=1194 src=198.51.100.7 dst=192.168.1.20 sport=1194 dport=40000 [ASSURED] mark=0 zone=0 use=2
";

    fn driver(proc_file: Option<PathBuf>, netns: Option<&str>) -> NftDriver {
        NftDriver::new(NftConfig {
            // If the tool were run, these would fail and say so.
            conntrack: "/nonexistent/conntrack".into(),
            ip: "/nonexistent/ip".into(),
            netns: netns.map(String::from),
            proc_conntrack: proc_file,
            ..NftConfig::default()
        })
    }

    /// `text` as a conntrack listing file in a temp folder (kept alive
    /// by the returned guard).
    fn proc_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nf_conntrack");
        std::fs::write(&file, text).unwrap();
        (dir, file)
    }

    #[test]
    fn flows_come_from_the_proc_file_without_spawning_conntrack() {
        let (_dir, file) = proc_file(PROC_LINES);
        let flows = driver(Some(file), None).tracked_flows().unwrap();
        let ports: Vec<Option<u16>> = flows.iter().map(|f| f.dst_port).collect();
        assert_eq!(ports, [Some(443), Some(1194)]);
    }

    #[test]
    fn an_unreadable_proc_file_falls_back_to_the_tool() {
        let err = driver(Some("/nonexistent/nf_conntrack".into()), None)
            .tracked_flows()
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/conntrack"), "{err}");
    }

    #[test]
    fn another_namespace_is_never_read_from_our_proc_file() {
        let (_dir, file) = proc_file(PROC_LINES);
        let err = driver(Some(file), Some("elsewhere"))
            .tracked_flows()
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/ip"), "{err}");
    }

    #[test]
    fn a_garbled_proc_file_is_an_error_naming_it() {
        let (_dir, file) = proc_file("ipv4 2 tcp 6 garbage\n");
        let err = driver(Some(file.clone()), None)
            .tracked_flows()
            .unwrap_err()
            .to_string();
        assert!(err.contains(&file.display().to_string()), "{err}");
    }
}
