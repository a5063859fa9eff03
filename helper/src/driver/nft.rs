//! Linux backend: one nftables table, `inet airlock`.
//!
//! Loading is one `nft -f -` transaction with the rendered script on stdin
//! (the renderer emits `table inet airlock` + `delete table inet airlock` +
//! the full definition), so the kernel never holds a moment without the
//! table. Afterwards the table is read back as JSON and its shape (chains,
//! rule counts, sets, counters) becomes the reference [`Firewall::check`]
//! compares against, which is how `nft flush chain` or `nft delete table`
//! by someone else gets noticed.
//!
//! Every command can run inside a network namespace (`ip netns exec NS`),
//! which is how the tests drive a real kernel without touching the host.

use std::path::PathBuf;

use airlock::network::NetworkSnapshot;
use airlock::policy::Policy;

use super::command::{self, Output};
use super::flow::{self, Flow};
use super::nft_shape::{self, TableShape};
use super::{conntrack, DriverError, Firewall, Problem};

/// Our table's name in family `inet`.
pub const TABLE: &str = "airlock";
/// The named counters the renderer puts on its final reject/drop rules.
pub const BLOCK_COUNTERS: [&str; 2] = ["blocked_in", "blocked_out"];

const NFT_HINT: &str = "install nftables (Debian/Ubuntu: apt-get install nftables)";
const CONNTRACK_HINT: &str =
    "install the conntrack tool (Debian/Ubuntu: apt-get install conntrack)";
const IP_HINT: &str = "install iproute2 (Debian/Ubuntu: apt-get install iproute2)";

/// Where the tools are and which network namespace to act in.
#[derive(Debug, Clone)]
pub struct NftConfig {
    pub nft: PathBuf,
    pub conntrack: PathBuf,
    /// `ip`, used only to enter `netns`.
    pub ip: PathBuf,
    /// Act inside this named network namespace instead of our own.
    pub netns: Option<String>,
}

impl Default for NftConfig {
    fn default() -> Self {
        NftConfig {
            nft: "nft".into(),
            conntrack: "conntrack".into(),
            ip: "ip".into(),
            netns: None,
        }
    }
}

pub struct NftDriver {
    config: NftConfig,
    /// The table's shape right after our last successful load.
    loaded: Option<TableShape>,
}

impl NftDriver {
    pub fn new(config: NftConfig) -> NftDriver {
        NftDriver {
            config,
            loaded: None,
        }
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
        let args = ["-j", "list", "table", "inet", TABLE];
        match self.list(&args)? {
            None => Ok(None),
            Some(json) => {
                nft_shape::parse(&json, TABLE)
                    .map(Some)
                    .map_err(|reason| DriverError::Parse {
                        command: "nft -j list table inet airlock".into(),
                        reason,
                    })
            }
        }
    }

    fn list_flows(&self) -> Result<Vec<Flow>, DriverError> {
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

impl Firewall for NftDriver {
    fn backend(&self) -> &'static str {
        "nft"
    }

    fn load(&mut self, ruleset: &str) -> Result<(), DriverError> {
        let (argv, out) = self.nft(&["-f", "-"], Some(ruleset))?;
        if !out.success {
            return Err(command::failed(&argv, &out));
        }
        let found = self.read_shape()?.ok_or_else(|| {
            DriverError::Verification(
                "`nft -f -` succeeded but table `inet airlock` does not exist afterwards \
                 (does the script define it?)"
                    .into(),
            )
        })?;
        let missing = nft_shape::missing(&nft_shape::declared(ruleset), &found);
        if !missing.is_empty() {
            return Err(DriverError::Verification(format!(
                "table `inet airlock` lacks {} after `nft -f -` succeeded",
                missing.join(", ")
            )));
        }
        self.loaded = Some(found);
        Ok(())
    }

    fn remove(&mut self) -> Result<(), DriverError> {
        let (argv, out) = self.nft(&["delete", "table", "inet", TABLE], None)?;
        if !out.success && !out.stderr.contains("No such file or directory") {
            return Err(command::failed(&argv, &out));
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
        Ok(match (expect_loaded, found) {
            (true, None) => vec![Problem::TableMissing],
            (true, Some(found)) => match &self.loaded {
                Some(loaded) => nft_shape::compare(loaded, &found),
                None => nft_shape::empty_base_chains(&found),
            },
            (false, Some(_)) => vec![Problem::LeftOver { backend: "nft" }],
            (false, None) => Vec::new(),
        })
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
            Some(json) => nft_shape::counter_packets(&json, &BLOCK_COUNTERS).map_err(|reason| {
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
