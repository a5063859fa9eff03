//! The tamper guard: a second copy of the rules that the kernel itself
//! keeps others from changing (nftables' owned table, see
//! [`crate::render::nft::render_guard`]). Reported in the status so the
//! user and `airlockctl doctor` can tell whether a root process deleting
//! `inet airlock` would open a gap until the helper repairs it.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum Guard {
    /// Not wanted: the kill switch is off, or the firewall has no such
    /// thing (pf: an anchor has no owner).
    #[default]
    Off,
    /// In the kernel, owned by the helper's netlink socket.
    On,
    /// Wanted but not in the kernel; the main rules and the tamper watch
    /// still stand, so a deleted table is put back within milliseconds,
    /// but packets may pass in between.
    Unavailable { why: GuardGap },
}

/// Why the guard could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "gap", rename_all = "snake_case", deny_unknown_fields)]
pub enum GuardGap {
    /// The helper runs the `nft` command (libnftables could not be
    /// opened): a table that command creates would be owned by its socket
    /// and vanish the moment it exits.
    NoLibrary,
    /// The kernel refused the `owner` flag (it needs Linux 5.12).
    KernelLacksOwner,
    /// The helper took over rules it did not load (a start that could not
    /// read the settings): a guard of other rules could block what the
    /// kernel's rules allow.
    Adopted,
    /// `airlockd run --no-tamper-guard`.
    TurnedOff,
    /// Loading it failed for another reason.
    LoadFailed { error: String },
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Guard::Off => f.write_str("off"),
            Guard::On => f.write_str(
                "on: a copy of the rules that only airlockd may change (table inet \
                 airlock_guard) keeps blocking if someone deletes or flushes inet airlock",
            ),
            Guard::Unavailable { why } => write!(
                f,
                "unavailable ({why}); if someone deletes inet airlock, packets may pass \
                 for the few milliseconds until airlockd puts it back"
            ),
        }
    }
}

impl fmt::Display for GuardGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuardGap::NoLibrary => f.write_str(
                "airlockd could not open libnftables and runs the nft command, whose \
                 tables die with it",
            ),
            GuardGap::KernelLacksOwner => {
                f.write_str("the kernel lacks owned nftables tables (Linux 5.12 or newer has them)")
            }
            GuardGap::Adopted => f.write_str(
                "airlockd kept rules it could not read the settings of, and guards only \
                 rules it loaded",
            ),
            GuardGap::TurnedOff => f.write_str("airlockd runs with --no-tamper-guard"),
            GuardGap::LoadFailed { error } => write!(f, "loading it failed: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Old statuses have no `guard`; new ones carry the gap as a type.
    #[test]
    fn the_guard_crosses_the_socket_as_a_tagged_object() {
        let all = [
            Guard::Off,
            Guard::On,
            Guard::Unavailable {
                why: GuardGap::KernelLacksOwner,
            },
            Guard::Unavailable {
                why: GuardGap::LoadFailed {
                    error: "EPERM".into(),
                },
            },
        ];
        for g in all {
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(serde_json::from_str::<Guard>(&json).unwrap(), g, "{json}");
        }
        assert_eq!(
            serde_json::to_string(&Guard::Unavailable {
                why: GuardGap::NoLibrary
            })
            .unwrap(),
            r#"{"state":"unavailable","why":{"gap":"no_library"}}"#
        );
    }
}
