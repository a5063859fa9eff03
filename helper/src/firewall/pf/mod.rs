//! macOS backend: pf, through `pfctl` only.
//!
//! Our rules live in the anchor `com.apple/0.airlock`, below the
//! `anchor "com.apple/*"` hook macOS's stock main ruleset already has, so
//! /etc/pf.conf is never touched and an OS update cannot remove the hook we
//! rely on; its name sorts before Apple's own sub-anchors, so it is read
//! first. The anchor is replaced atomically with `pfctl -a ANCHOR -f -`.
//! When another program's main ruleset drops the hook, [`hook`] puts it
//! back (unless the user manages pf.conf); [`legacy`] empties the anchor
//! older versions used; [`pflog`] keeps `pflog0` while our rules log.
//!
//! pf is switched on with the reference-counted `pfctl -E`, whose token is
//! kept in a file in the state directory (so a restarted helper can still
//! release it) and given back with `pfctl -X TOKEN` on [`Firewall::remove`].
//! This driver never runs `pfctl -d` (that would switch pf off under every
//! other program using it) nor `-F all` (that flushes everyone's rules).
//!
//! Removing flushes the anchor by loading an empty ruleset into it, the same
//! atomic `-f -` path as a load: it empties every ruleset kind in the
//! anchor at once (filter, nat/rdr, scrub), where `-F rules` would empty
//! only the filter rules and leave anything else a future ruleset adds.
//!
//! States are killed per host pair with `pfctl -k SRC -k DST`, macOS's only
//! form; a pair that also carries a connection the policy keeps (a second
//! connection to the VPN server, say) is left alone, because cutting the
//! VPN's own connection is the one thing this must never do.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use airlock_shared::network::NetworkSnapshot;
use airlock_shared::policy::Policy;

use super::command::{self, Output};
use super::flow::{self, Flow};
use super::{Backend, DriverError, Problem};
use airlock_shared::firewall_kind::FirewallKind;

pub mod hook;
mod legacy;
pub mod parse;
pub mod pflog;

/// Our anchor, below Apple's `com.apple/*` hook, and the one we used before.
pub use airlock_shared::render::pf::{ANCHOR, LEGACY_ANCHOR};
/// The file in the state directory holding our `pfctl -E` token.
pub const TOKEN_FILE: &str = "pf-token";

const PFCTL_HINT: &str = "pfctl ships with macOS in /sbin; is this a Mac?";

#[derive(Debug, Clone)]
pub struct PfConfig {
    pub pfctl: PathBuf,
    /// For creating and destroying `pflog0`.
    pub ifconfig: PathBuf,
    /// Where the enable token is kept across helper restarts.
    pub state_dir: PathBuf,
}

impl PfConfig {
    pub fn new(state_dir: impl Into<PathBuf>) -> PfConfig {
        PfConfig {
            pfctl: "/sbin/pfctl".into(),
            ifconfig: "/sbin/ifconfig".into(),
            state_dir: state_dir.into(),
        }
    }
}

pub struct PfDriver {
    config: PfConfig,
    /// The anchor's rules as pfctl printed them right after our last load.
    loaded: Option<Vec<String>>,
    /// Put the `com.apple/*` hook back when it is gone (the setting
    /// `pf_restore_hook`).
    restore_hook: bool,
    /// The old anchor was found empty or emptied since we started.
    legacy_gone: bool,
    /// `pflog0` was made sure of since the last remove.
    pflog_up: bool,
    /// Hook restores lately, against a program that keeps replacing it.
    hook_budget: hook::Budget,
    started: std::time::Instant,
}

impl PfDriver {
    pub fn new(config: PfConfig) -> PfDriver {
        PfDriver {
            config,
            loaded: None,
            restore_hook: true,
            legacy_gone: false,
            pflog_up: false,
            hook_budget: hook::Budget::default(),
            started: std::time::Instant::now(),
        }
    }

    fn token_path(&self) -> PathBuf {
        self.config.state_dir.join(TOKEN_FILE)
    }

    fn argv(&self, args: &[&str]) -> Vec<String> {
        let mut argv = vec![self.config.pfctl.display().to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        argv
    }

    fn pfctl(&self, args: &[&str], stdin: Option<&str>) -> Result<Output, DriverError> {
        command::run_ok(&self.argv(args), stdin, PFCTL_HINT)
    }

    /// Our saved token; `None` also when the file holds no valid token, so
    /// `load` takes a fresh reference instead of relying on a damaged one.
    fn saved_token(&self) -> Result<Option<String>, DriverError> {
        let path = self.token_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text.trim().to_string()).filter(|t| parse::is_token(t))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(DriverError::State {
                action: "read the pf token from",
                path,
                source,
            }),
        }
    }

    /// Written to a temporary file and renamed, so a crash never leaves a
    /// half-written token we could not release.
    fn save_token(&self, token: &str) -> Result<(), DriverError> {
        let path = self.token_path();
        let tmp = self.config.state_dir.join(format!("{TOKEN_FILE}.tmp"));
        let state = |action, path: &PathBuf| {
            let path = path.clone();
            move |source| DriverError::State {
                action,
                path,
                source,
            }
        };
        std::fs::create_dir_all(&self.config.state_dir)
            .map_err(state("create the state directory", &self.config.state_dir))?;
        let mut file = std::fs::File::create(&tmp).map_err(state("write the pf token to", &tmp))?;
        writeln!(file, "{token}")
            .and_then(|_| file.sync_all())
            .map_err(state("write the pf token to", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(state("write the pf token to", &path))
    }

    fn forget_token(&self) -> Result<(), DriverError> {
        let path = self.token_path();
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DriverError::State {
                action: "remove the pf token file",
                path,
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// `pfctl -E`: takes a reference on pf being enabled; keeps the token.
    fn enable(&self) -> Result<(), DriverError> {
        let out = self.pfctl(&["-E"], None)?;
        let both = format!("{}\n{}", out.stdout, out.stderr);
        let token = parse::enable_token(&both).ok_or_else(|| DriverError::Parse {
            command: "pfctl -E".into(),
            reason: format!("no \"Token : N\" line in {:?}", both.trim()),
        })?;
        self.save_token(&token)
    }

    fn enabled(&self) -> Result<bool, DriverError> {
        let out = self.pfctl(&["-s", "info"], None)?;
        parse::status_enabled(&out.stdout).ok_or_else(|| DriverError::Parse {
            command: "pfctl -s info".into(),
            reason: "no \"Status: Enabled|Disabled\" line".into(),
        })
    }

    /// Empties [`LEGACY_ANCHOR`] once per run (see `legacy`).
    fn remove_legacy(&mut self) -> Result<(), DriverError> {
        if !self.legacy_gone {
            legacy::remove(&|args, stdin| self.pfctl(args, stdin))?;
            self.legacy_gone = true;
        }
        Ok(())
    }

    fn pflog(&self) -> pflog::Pflog<'_> {
        pflog::Pflog {
            ifconfig: &self.config.ifconfig,
            state_dir: &self.config.state_dir,
        }
    }

    fn anchor_rules(&self) -> Result<Vec<String>, DriverError> {
        let out = self.pfctl(&["-a", ANCHOR, "-s", "rules"], None)?;
        Ok(parse::rule_lines(&out.stdout))
    }
}

impl Backend for PfDriver {
    fn kind(&self) -> FirewallKind {
        FirewallKind::Pf
    }

    fn use_settings(&mut self, settings: &airlock_shared::settings::Settings) {
        self.restore_hook = settings.pf_restore_hook;
    }

    /// Loads the anchor first and enables pf second, so the moment pf
    /// switches on our rules are already in it.
    fn load(&mut self, ruleset: &str) -> Result<(), DriverError> {
        self.pfctl(&["-a", ANCHOR, "-f", "-"], Some(ruleset))?;
        let had_token = self.saved_token()?.is_some();
        if !had_token {
            self.enable()?;
        }
        if !self.enabled()? {
            if !had_token {
                return Err(DriverError::Verification(
                    "pf is still disabled right after `pfctl -E`".into(),
                ));
            }
            // Our token is stale: someone ran `pfctl -d` (which drops every
            // reference) or the machine rebooted. Take a new reference.
            self.enable()?;
            if !self.enabled()? {
                return Err(DriverError::Verification(
                    "pf is still disabled right after `pfctl -E`".into(),
                ));
            }
        }
        let rules = self.anchor_rules()?;
        if rules.is_empty() && parse::has_rules(ruleset) {
            return Err(DriverError::Verification(format!(
                "anchor {ANCHOR} is empty after `pfctl -a {ANCHOR} -f -` succeeded"
            )));
        }
        self.loaded = Some(rules);
        // The blocked list needs pflog0; the rules block without it, so a
        // failure here is said, not a failed load (the list says it too).
        if !self.pflog_up && pflog::logs(ruleset) {
            match self.pflog().ensure() {
                Ok(()) => self.pflog_up = true,
                Err(e) => tracing::warn!("blocked packets cannot be logged: {e}"),
            }
        }
        // Only now: our new anchor is read first, so the old one's rules
        // decide nothing from here on, and there is no moment without one.
        self.remove_legacy()
    }

    fn remove(&mut self) -> Result<(), DriverError> {
        self.pfctl(&["-a", ANCHOR, "-f", "-"], Some(""))?;
        self.loaded = None;
        if !self.anchor_rules()?.is_empty() {
            return Err(DriverError::Verification(format!(
                "anchor {ANCHOR} still holds rules after loading an empty ruleset into it"
            )));
        }
        // Checked again on every remove; a failure is returned once the
        // token and pflog0 are given back too.
        self.legacy_gone = false;
        let legacy = self.remove_legacy();
        if let Some(token) = self.saved_token()? {
            let released = self.pfctl(&["-X", &token], None);
            // A token pf refuses (e.g. from before a reboot) is worth
            // nothing: forget it either way so the next remove is clean,
            // but still report the failure.
            self.forget_token()?;
            released?;
        }
        self.pflog_up = false;
        if let Err(e) = self.pflog().release() {
            tracing::warn!("could not destroy pflog0 (left as it is): {e}");
        }
        legacy
    }

    fn check(&mut self, expect_loaded: bool) -> Result<Vec<Problem>, DriverError> {
        let mut problems = Vec::new();
        if expect_loaded {
            if !self.enabled()? {
                problems.push(Problem::PfDisabled);
            }
            let main = self.pfctl(&["-s", "rules"], None)?;
            if !parse::references_anchor(&main.stdout, ANCHOR) {
                let now = self.started.elapsed().as_secs();
                problems.push(if !self.restore_hook {
                    Problem::AnchorNotReferenced
                } else if !self.hook_budget.allow(now) {
                    Problem::HookNotRestored {
                        reason: hook::fought(),
                    }
                } else {
                    match hook::restore(&|args, stdin| self.pfctl(args, stdin), &main.stdout) {
                        Ok(kept) => Problem::HookRestored { kept: kept.rules },
                        Err(e) => Problem::HookNotRestored {
                            reason: e.to_string(),
                        },
                    }
                });
            }
        }
        let rules = self.anchor_rules()?;
        match (expect_loaded, rules.is_empty()) {
            (true, true) => problems.push(Problem::AnchorEmpty),
            (true, false) => {
                if self.loaded.as_ref().is_some_and(|loaded| *loaded != rules) {
                    problems.push(Problem::AnchorChanged);
                }
            }
            (false, false) => problems.push(Problem::LeftOver {
                kind: FirewallKind::Pf,
            }),
            (false, true) => {}
        }
        Ok(problems)
    }

    fn kill_forbidden(
        &mut self,
        policy: &Policy,
        snapshot: &NetworkSnapshot,
    ) -> Result<usize, DriverError> {
        let flows = self.tracked_flows()?;
        let mut kept: BTreeSet<(IpAddr, IpAddr)> = BTreeSet::new();
        let mut doomed: Vec<(IpAddr, IpAddr)> = Vec::new();
        for f in &flows {
            let pair = (f.src, f.dst);
            if flow::allowed(policy, snapshot, f) {
                kept.insert(pair);
            } else if !doomed.contains(&pair) {
                doomed.push(pair);
            }
        }
        let mut killed = 0;
        for (src, dst) in doomed.into_iter().filter(|p| !kept.contains(p)) {
            let (src, dst) = (src.to_string(), dst.to_string());
            let out = self.pfctl(&["-k", &src, "-k", &dst], None)?;
            let n = parse::killed_count(&out.stderr).ok_or_else(|| DriverError::Parse {
                command: format!("pfctl -k {src} -k {dst}"),
                reason: format!("no \"killed N states\" in {:?}", out.stderr.trim()),
            })?;
            killed = n.saturating_add(killed);
        }
        Ok(killed)
    }

    fn tracked_flows(&mut self) -> Result<Vec<Flow>, DriverError> {
        let out = self.pfctl(&["-s", "states"], None)?;
        parse::parse_states(&out.stdout).map_err(|reason| DriverError::Parse {
            command: "pfctl -s states".into(),
            reason,
        })
    }

    fn blocked_packets(&mut self) -> Result<Option<u64>, DriverError> {
        let out = self.pfctl(&["-a", ANCHOR, "-v", "-s", "rules"], None)?;
        if parse::rule_lines(&out.stdout).is_empty() {
            return Ok(None);
        }
        parse::blocked_packets(&out.stdout)
            .map(Some)
            .map_err(|reason| DriverError::Parse {
                command: format!("pfctl -a {ANCHOR} -v -s rules"),
                reason,
            })
    }

    fn loaded_text(&mut self) -> Result<String, DriverError> {
        Ok(self.pfctl(&["-a", ANCHOR, "-s", "rules"], None)?.stdout)
    }
}
