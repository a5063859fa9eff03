//! Something Airlock failed to do, as opposed to a [`super::Problem`],
//! which is something wrong in the kernel. Kept apart because they live
//! differently: a problem is replaced by every firewall check, a fault
//! stays until the action it is about succeeds again (so the next check
//! cannot wipe "could not cut connections").
//!
//! The `error` fields carry the underlying error in words: they come from
//! the kernel's tools and the file system, and are only ever shown.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The settings file could not be read at start and there was no
    /// usable last-good copy: the defaults are in use (the VPN servers are
    /// lost). The kernel's rules were kept when there were any, so the
    /// machine stays blocked.
    SettingsLost {
        reason: String,
        moved_to: Option<String>,
        kept_kernel_rules: bool,
    },
    /// The settings file could not be read at start; the last-good copy
    /// was restored (and applied). `save_error`: it could not be put back
    /// as the main file.
    SettingsRestored {
        reason: String,
        moved_to: Option<String>,
        save_error: Option<String>,
    },
    /// The rules could not be loaded at start; what the kernel held stays.
    StartLoadFailed { error: String },
    /// A change was loaded but could not be saved, and the previous rules
    /// could not be put back either: kernel and disk disagree.
    RollbackFailed {
        save_error: String,
        load_error: String,
    },
    /// The rules for a new network view could not be loaded; the previous
    /// ones stay in force.
    NetworkUpdateFailed { error: String },
    /// The firewall could not be read (its tool failed): nothing is known
    /// about the kernel's rules right now.
    CannotReadFirewall { error: String },
    /// Someone removed or changed our rules and they could not be put back.
    RestoreFailed { error: String },
    /// A stricter policy is loaded, but the connections it forbids could
    /// not be cut: they may still flow until they end.
    CutFailed { error: String },
    /// VPN endpoints learned from the routing table could not be added.
    LearnFailed { error: String },
    /// Endpoints pinned from DNS answers expired but could not be dropped.
    PinExpiryFailed { error: String },
    /// Learned VPN endpoints expired but could not be dropped: they stay
    /// allowed until a retry succeeds.
    LearnedExpiryFailed { error: String },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let moved = |m: &Option<String>| {
            m.as_ref()
                .map(|p| format!("; it was moved to {p}"))
                .unwrap_or_default()
        };
        match self {
            Fault::SettingsLost {
                reason,
                moved_to,
                kept_kernel_rules,
            } => {
                let kept = if *kept_kernel_rules {
                    "the rules already in the kernel were kept"
                } else {
                    "no rules were loaded"
                };
                write!(f, "{reason}{}; {kept}", moved(moved_to))
            }
            Fault::SettingsRestored {
                reason,
                moved_to,
                save_error,
            } => {
                write!(
                    f,
                    "{reason}{}; restored the last-good copy",
                    moved(moved_to)
                )?;
                match save_error {
                    Some(e) => write!(f, "; the restored copy could not be saved ({e})"),
                    None => Ok(()),
                }
            }
            Fault::StartLoadFailed { error } => {
                write!(f, "could not load the rules at start: {error}")
            }
            Fault::RollbackFailed {
                save_error,
                load_error,
            } => write!(
                f,
                "settings could not be saved ({save_error}) nor the previous rules restored \
                 ({load_error})"
            ),
            Fault::NetworkUpdateFailed { error } => {
                write!(f, "could not update the rules for the new network: {error}")
            }
            Fault::CannotReadFirewall { error } => write!(f, "cannot read the firewall: {error}"),
            Fault::RestoreFailed { error } => {
                write!(f, "rules were removed and could not be restored: {error}")
            }
            Fault::CutFailed { error } => write!(
                f,
                "could not cut connections the kill switch forbids: {error}"
            ),
            Fault::LearnFailed { error } => {
                write!(f, "could not add the learned VPN endpoints: {error}")
            }
            Fault::PinExpiryFailed { error } => {
                write!(f, "could not drop expired pinned endpoints: {error}")
            }
            Fault::LearnedExpiryFailed { error } => {
                write!(f, "could not drop expired learned endpoints: {error}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_cross_the_socket_as_tagged_objects_and_read_as_before() {
        let f = Fault::SettingsRestored {
            reason: "settings.toml:1: expected a boolean".into(),
            moved_to: Some("/var/lib/airlock/settings.toml.corrupt".into()),
            save_error: Some("read-only file system".into()),
        };
        let json = serde_json::to_string(&f).unwrap();
        assert!(
            json.starts_with(r#"{"fault":"settings_restored","#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Fault>(&json).unwrap(), f);
        assert_eq!(
            f.to_string(),
            "settings.toml:1: expected a boolean; it was moved to \
             /var/lib/airlock/settings.toml.corrupt; restored the last-good copy; the restored \
             copy could not be saved (read-only file system)"
        );
        let lost = Fault::SettingsLost {
            reason: "unreadable".into(),
            moved_to: None,
            kept_kernel_rules: true,
        };
        assert_eq!(
            lost.to_string(),
            "unreadable; the rules already in the kernel were kept"
        );
    }
}
