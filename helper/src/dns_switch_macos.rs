//! The macOS DNS switch's thin shim: runs `scutil` (and, after a change,
//! the documented cache flush: `dscacheutil -flushcache`, `killall -HUP
//! mDNSResponder`) and leaves every decision to
//! [`airlock_shared::dns_switch`]. Compiled on every platform so its tests
//! run against a recording stand-in (tests/fixtures/scutil); only the
//! macOS daemon uses it. UNVERIFIED on a Mac.

use std::net::IpAddr;
use std::path::PathBuf;

use airlock_shared::dns_switch::{
    network_resolvers, parse_list, parse_primary_service, parse_show, plan, script, setup_dns_key,
    valid_service_id, ScutilParseError, Service, LIST_SETUP_DNS, LIST_STATE_DNS, PRIMARY_KEY,
};

/// Where the tools are; tests point these at the stand-in.
#[derive(Debug, Clone)]
pub struct SwitchConfig {
    pub scutil: PathBuf,
    pub dscacheutil: PathBuf,
    pub killall: PathBuf,
}

impl Default for SwitchConfig {
    fn default() -> SwitchConfig {
        SwitchConfig {
            scutil: "/usr/sbin/scutil".into(),
            dscacheutil: "/usr/bin/dscacheutil".into(),
            killall: "/usr/bin/killall".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("running {tool}: {source}")]
    Spawn {
        tool: String,
        source: std::io::Error,
    },
    #[error("{tool} failed ({status}): {stderr}")]
    Failed {
        tool: String,
        status: String,
        stderr: String,
    },
    #[error(transparent)]
    Parse(#[from] ScutilParseError),
    #[error("{left} of {of} DNS changes did not take (configd refused them?)")]
    NotApplied { left: usize, of: usize },
    /// A backup that could not be written exactly: nothing was changed.
    #[error("not switching DNS: {0}")]
    Unrestorable(String),
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Services switched or restored (0: they were as wanted already).
    pub changed: usize,
    /// The network's own resolvers, read past the override (for the
    /// filtering resolver's upstreams).
    pub resolvers: Vec<IpAddr>,
}

pub struct DnsSwitch {
    config: SwitchConfig,
}

impl DnsSwitch {
    pub fn new(config: SwitchConfig) -> DnsSwitch {
        DnsSwitch { config }
    }

    /// Brings the system's DNS to `blocking`'s state: switched to the
    /// resolver while blocking, restored otherwise. Idempotent; run at
    /// start (restores what a crash left unless blocking), on every
    /// change of Blocking and on every network change.
    pub fn apply(&self, blocking: bool) -> Result<Applied, SwitchError> {
        let services = self.read()?;
        let steps = plan(blocking, &services);
        if !steps.is_empty() {
            let text = script(&steps).map_err(SwitchError::Unrestorable)?;
            self.scutil(&text)?;
            self.flush();
            // scutil reports a refused `set` on its output and still exits
            // 0: read back, and say so when the store is not as planned.
            let left = plan(blocking, &self.read()?).len();
            if left > 0 {
                return Err(SwitchError::NotApplied {
                    left,
                    of: steps.len(),
                });
            }
        }
        Ok(Applied {
            changed: steps.len(),
            resolvers: network_resolvers(&services),
        })
    }

    /// Every service that has DNS published, is primary, or carries a
    /// `Setup:` DNS dictionary (where a leftover override would be).
    pub fn read(&self) -> Result<Vec<Service>, SwitchError> {
        let ids = |text: &str, prefix: &str| -> Vec<String> {
            parse_list(text)
                .into_iter()
                .filter_map(|k| {
                    let id = k.strip_prefix(prefix)?.strip_suffix("/DNS")?.to_string();
                    valid_service_id(&id).then_some(id)
                })
                .collect()
        };
        let state = ids(
            &self.scutil(&format!("list {LIST_STATE_DNS}\nquit\n"))?,
            "State:/Network/Service/",
        );
        let setup = ids(
            &self.scutil(&format!("list {LIST_SETUP_DNS}\nquit\n"))?,
            "Setup:/Network/Service/",
        );
        let primary = parse_primary_service(&self.scutil(&format!("show {PRIMARY_KEY}\nquit\n"))?)
            .filter(|p| valid_service_id(p));
        let mut all: Vec<String> = Vec::new();
        for id in primary.iter().chain(&state).chain(&setup) {
            if !all.contains(id) {
                all.push(id.clone());
            }
        }
        let mut out = Vec::with_capacity(all.len());
        for id in all {
            let setup = parse_show(&self.scutil(&format!("show {}\nquit\n", setup_dns_key(&id)))?)?;
            let state_servers = if state.contains(&id) {
                let key = format!("State:/Network/Service/{id}/DNS");
                parse_show(&self.scutil(&format!("show {key}\nquit\n"))?)?
                    .and_then(|d| d.servers)
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            out.push(Service {
                active: state.contains(&id) || primary.as_ref() == Some(&id),
                id,
                setup,
                state_servers,
            });
        }
        Ok(out)
    }

    /// Cached answers from before the switch (or the placeholder, after
    /// it) must not outlive it. A failed flush is logged, not fatal: the
    /// cache expires by itself (the placeholder's TTL is short).
    fn flush(&self) {
        let dscacheutil = (self.config.dscacheutil.clone(), vec!["-flushcache"]);
        let killall = (self.config.killall.clone(), vec!["-HUP", "mDNSResponder"]);
        for (tool, args) in [dscacheutil, killall] {
            if let Err(e) = run(&tool, &args, None) {
                tracing::warn!("DNS switch: flushing the DNS cache: {e}");
            }
        }
    }

    fn scutil(&self, stdin: &str) -> Result<String, SwitchError> {
        run(&self.config.scutil, &[], Some(stdin))
    }
}

/// Runs `tool args` with `stdin`; its stdout, or why it failed.
fn run(tool: &PathBuf, args: &[&str], stdin: Option<&str>) -> Result<String, SwitchError> {
    let name = tool.display().to_string();
    let output = crate::tool::run(tool, args, stdin).map_err(|failure| {
        let (crate::tool::Failure::Start(source) | crate::tool::Failure::Wait(source)) = failure;
        SwitchError::Spawn {
            tool: name.clone(),
            source,
        }
    })?;
    if !output.success {
        return Err(SwitchError::Failed {
            tool: name,
            status: output.status,
            stderr: output.stderr.trim().to_string(),
        });
    }
    Ok(output.stdout)
}
