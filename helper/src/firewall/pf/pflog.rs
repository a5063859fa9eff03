//! `pflog0`, the interface pf writes `log` records to, exists only while
//! Airlock's logging rules are loaded: macOS does not create it by itself
//! (hence "tcpdump: pflog0: No such device"), and pf builds no record for a
//! `pflog0` nobody reads, so creating it costs nothing until the helper's
//! reader attaches (`blocked/pflog_macos.rs`).
//!
//! Created with `ifconfig pflog0 create` after a load whose rules log;
//! destroyed with `ifconfig pflog0 destroy` when the rules are removed,
//! but only if Airlock created it: one that was there before (the user's
//! own, for tcpdump) is left alone. Which one it is survives a helper
//! restart in the file `pflog-created` in the state directory.

use std::path::{Path, PathBuf};

use super::command::{self, Output};
use super::DriverError;

pub const PFLOG_IF: &str = "pflog0";
/// In the state directory while `pflog0` is ours to destroy.
pub const CREATED_FILE: &str = "pflog-created";

const IFCONFIG_HINT: &str = "ifconfig ships with macOS in /sbin; is this a Mac?";

/// What `ifconfig pflog0` said about the interface.
pub(crate) fn exists(out: &Output) -> Result<bool, String> {
    if out.success {
        Ok(true)
    } else if out.stderr.contains("does not exist") {
        Ok(false)
    } else {
        Err(out.stderr.trim().to_string())
    }
}

/// Whether an anchor text has a rule that logs (then `pflog0` is needed).
pub fn logs(ruleset: &str) -> bool {
    ruleset
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.split_whitespace().any(|w| w == "log"))
}

pub(super) struct Pflog<'a> {
    pub ifconfig: &'a Path,
    pub state_dir: &'a Path,
}

impl Pflog<'_> {
    fn run(&self, args: &[&str]) -> Result<Output, DriverError> {
        let mut argv = vec![self.ifconfig.display().to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        command::run(&argv, None, IFCONFIG_HINT)
    }

    fn marker(&self) -> PathBuf {
        self.state_dir.join(CREATED_FILE)
    }

    fn state_error(&self, action: &'static str) -> impl FnOnce(std::io::Error) -> DriverError {
        let path = self.marker();
        move |source| DriverError::State {
            action,
            path,
            source,
        }
    }

    /// Creates `pflog0` unless it exists; remembers that it is ours.
    pub fn ensure(&self) -> Result<(), DriverError> {
        let out = self.run(&[PFLOG_IF])?;
        let there = exists(&out).map_err(|reason| DriverError::Parse {
            command: format!("ifconfig {PFLOG_IF}"),
            reason,
        })?;
        if there {
            return Ok(());
        }
        // The marker first: a crash after `create` must not leave an
        // interface we would later take for someone else's.
        std::fs::create_dir_all(self.state_dir)
            .and_then(|_| std::fs::write(self.marker(), "ifconfig pflog0 create\n"))
            .map_err(self.state_error("record pflog0 as Airlock's in"))?;
        let argv = [
            self.ifconfig.display().to_string(),
            PFLOG_IF.into(),
            "create".into(),
        ];
        let out = self.run(&[PFLOG_IF, "create"])?;
        if !out.success {
            let _ = std::fs::remove_file(self.marker());
            return Err(command::failed(&argv, &out));
        }
        Ok(())
    }

    /// Destroys `pflog0` if Airlock created it.
    pub fn release(&self) -> Result<(), DriverError> {
        if !self.marker().exists() {
            return Ok(());
        }
        let argv = [
            self.ifconfig.display().to_string(),
            PFLOG_IF.into(),
            "destroy".into(),
        ];
        let out = self.run(&[PFLOG_IF, "destroy"])?;
        // Already gone is as good as destroyed.
        if !out.success && !out.stderr.contains("does not exist") {
            return Err(command::failed(&argv, &out));
        }
        std::fs::remove_file(self.marker()).map_err(self.state_error("remove"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(success: bool, stdout: &str, stderr: &str) -> Output {
        Output {
            stdout: stdout.into(),
            stderr: stderr.into(),
            success,
            status: if success {
                "exit status: 0"
            } else {
                "exit status: 1"
            }
            .into(),
        }
    }

    #[test]
    fn ifconfig_says_whether_pflog0_exists() {
        assert_eq!(
            exists(&out(true, "pflog0: flags=0<> mtu 33072\n", "")),
            Ok(true)
        );
        assert_eq!(
            exists(&out(
                false,
                "",
                "ifconfig: interface pflog0 does not exist\n"
            )),
            Ok(false)
        );
        assert_eq!(
            exists(&out(
                false,
                "",
                "ifconfig: ioctl (SIOCGIFFLAGS): Operation not permitted\n"
            )),
            Err("ifconfig: ioctl (SIOCGIFFLAGS): Operation not permitted".into())
        );
    }

    #[test]
    fn only_rules_that_log_need_pflog0() {
        assert!(logs(
            "pass quick on lo0 all\nblock return out log (user) quick all\n"
        ));
        assert!(logs("block drop in log quick all\n"));
        assert!(!logs(
            "# Logged to pflog0: log\npass quick all\nblock drop in quick all\n"
        ));
        assert!(!logs("pass quick on logger0 all\n"));
        assert!(!logs(""));
    }
}
