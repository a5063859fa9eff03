//! Something wrong with the firewall as the kernel holds it, found by the
//! helper's read-back. Typed, so that the helper decides "tampered" on
//! kinds (see [`Problem::is_repairable`]) and clients can act on them;
//! each one's text says what is wrong, the likely cause, and the fix,
//! because it is shown to the user as is (status, `airlockctl doctor`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::firewall_kind::FirewallKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case", deny_unknown_fields)]
pub enum Problem {
    /// nft: the `inet airlock` table is gone.
    TableMissing,
    /// nft: the tamper guard `inet airlock_guard`, which only the helper's
    /// own socket may delete, is gone all the same.
    GuardMissing,
    /// nft: a chain we loaded is gone.
    ChainMissing { chain: String },
    /// nft: a chain holds a different number of rules than we loaded
    /// (0 after `nft flush chain` / `nft flush table`).
    ChainChanged {
        chain: String,
        loaded: usize,
        found: usize,
    },
    /// nft: a base chain holds no rules (found without knowing what was
    /// loaded, e.g. after the helper restarted).
    ChainEmpty { chain: String },
    /// nft: a chain's default policy is not what we loaded.
    ChainPolicyChanged {
        chain: String,
        loaded: String,
        found: String,
    },
    /// nft: a named set or counter we loaded is gone.
    ObjectMissing { kind: String, name: String },
    /// pf: our anchor holds no rules.
    AnchorEmpty,
    /// pf: our anchor holds other rules than we loaded.
    AnchorChanged,
    /// pf: the packet filter is disabled, so no rule applies.
    PfDisabled,
    /// pf: the main ruleset does not evaluate `anchor "com.apple/*"`, so
    /// our anchor is loaded but never consulted, and the user manages
    /// pf.conf themselves (`pf_restore_hook = false`).
    AnchorNotReferenced,
    /// pf: another program had replaced the main ruleset without the
    /// `com.apple/*` hook; the check put it back, keeping that program's
    /// `kept` filter rules (and its nat/rdr rules and tables).
    HookRestored { kept: usize },
    /// pf: the hook is gone and putting it back failed.
    HookNotRestored { reason: String },
    /// Our rules are in the kernel although the kill switch is off.
    LeftOver { kind: FirewallKind },
}

impl Problem {
    /// Whether loading our rules again fixes it, so Airlock does that by
    /// itself; finding one that was not there before while our rules
    /// should be loaded means someone changed them (a tamper). Every
    /// variant is listed, no `_`: a new problem must be classified here.
    pub fn is_repairable(&self) -> bool {
        match self {
            Problem::TableMissing
            | Problem::GuardMissing
            | Problem::ChainMissing { .. }
            | Problem::ChainChanged { .. }
            | Problem::ChainEmpty { .. }
            | Problem::ChainPolicyChanged { .. }
            | Problem::ObjectMissing { .. }
            | Problem::AnchorEmpty
            | Problem::AnchorChanged
            // A load re-enables pf with `pfctl -E`.
            | Problem::PfDisabled
            // Already repaired by the check that found it; counted as a
            // tamper so the user hears of it, and the reload is harmless.
            | Problem::HookRestored { .. } => true,
            // Airlock never edits /etc/pf.conf: a load leaves it as it is.
            Problem::AnchorNotReferenced
            | Problem::HookNotRestored { .. }
            // Only `airlockctl disable` removes rules; the engine never
            // does on a guess.
            | Problem::LeftOver { .. } => false,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TableMissing => write!(
                f,
                "the nftables table `inet airlock` is gone (someone ran `nft flush ruleset` or \
                 `nft delete table inet airlock`), so only the tamper guard blocks, where it is \
                 on; fix: Airlock reloads it by itself, or run `airlockctl enable`"
            ),
            Problem::GuardMissing => write!(
                f,
                "the tamper guard `inet airlock_guard` is gone although airlockd owns it (the \
                 kernel removed it); fix: Airlock loads it again by itself"
            ),
            Problem::ChainMissing { chain } => write!(
                f,
                "chain `{chain}` of table `inet airlock` is gone (someone edited the table); \
                 fix: Airlock reloads the whole table by itself, or run `airlockctl enable`"
            ),
            Problem::ChainChanged {
                chain,
                loaded,
                found,
            } => write!(
                f,
                "chain `{chain}` of table `inet airlock` holds {found} rules but {loaded} were \
                 loaded (someone ran `nft flush chain`/`nft flush table` or edited it); fix: \
                 Airlock reloads the whole table by itself, or run `airlockctl enable`"
            ),
            Problem::ChainEmpty { chain } => write!(
                f,
                "chain `{chain}` of table `inet airlock` holds no rules (someone ran `nft flush \
                 chain`/`nft flush table`); fix: Airlock reloads the whole table by itself, or \
                 run `airlockctl enable`"
            ),
            Problem::ChainPolicyChanged {
                chain,
                loaded,
                found,
            } => write!(
                f,
                "chain `{chain}` of table `inet airlock` has policy {found} but {loaded} was \
                 loaded (someone edited it); fix: Airlock reloads the whole table by itself, \
                 or run `airlockctl enable`"
            ),
            Problem::ObjectMissing { kind, name } => write!(
                f,
                "{kind} `{name}` of table `inet airlock` is gone (someone edited the table); \
                 fix: Airlock reloads the whole table by itself, or run `airlockctl enable`"
            ),
            Problem::AnchorEmpty => write!(
                f,
                "the pf anchor `com.apple/0.airlock` holds no rules (someone flushed it), so \
                 nothing is blocked; fix: Airlock reloads it by itself, or run `airlockctl enable`"
            ),
            Problem::AnchorChanged => write!(
                f,
                "the pf anchor `com.apple/0.airlock` holds other rules than Airlock loaded \
                 (someone loaded into it); fix: Airlock reloads it by itself, or run \
                 `airlockctl enable`"
            ),
            Problem::PfDisabled => write!(
                f,
                "pf is disabled (someone ran `pfctl -d`, which drops every program's enable \
                 reference), so no rule applies; fix: Airlock re-enables it with `pfctl -E` on \
                 its next load, or run `airlockctl enable`"
            ),
            Problem::AnchorNotReferenced => write!(
                f,
                "the main pf ruleset does not evaluate `anchor \"com.apple/*\"` (a custom \
                 /etc/pf.conf), so Airlock's rules are loaded but never consulted; fix: add the \
                 line `anchor \"com.apple/*\"` to /etc/pf.conf before your own filter rules, as \
                 in macOS's stock file, then run `sudo pfctl -f /etc/pf.conf` (Airlock never \
                 edits that file; it puts the hook back by itself after `sudo airlockctl set \
                 pf-restore-hook on`)"
            ),
            Problem::HookRestored { kept } => write!(
                f,
                "another program (Internet Sharing or a VM tool, say) had loaded its own main pf \
                 ruleset without `anchor \"com.apple/*\"`, so Airlock's rules were not consulted; \
                 Airlock put the hook back in front of that program's {kept} filter rules and kept \
                 them, its nat/rdr rules and its tables (if you manage pf.conf yourself: `sudo \
                 airlockctl set pf-restore-hook off`)"
            ),
            Problem::HookNotRestored { reason } => write!(
                f,
                "the main pf ruleset does not evaluate `anchor \"com.apple/*\"` (another program \
                 loaded its own, or a custom /etc/pf.conf), so Airlock's rules are loaded but never \
                 consulted, and putting the hook back failed: {reason}; fix: reload a ruleset that \
                 has `anchor \"com.apple/*\"` before its filter rules (macOS's stock one: `sudo \
                 pfctl -f /etc/pf.conf`), or turn off the program that replaced it"
            ),
            Problem::LeftOver { kind } => write!(
                f,
                "Airlock's {kind} rules are still in the kernel although the kill switch is \
                 off, so traffic is still blocked; fix: run `airlockctl disable` again"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clients receive problems as tagged objects (protocol 3) and must
    /// get back exactly what the helper found, kind and fields.
    #[test]
    fn problems_cross_the_socket_as_tagged_objects() {
        let all = [
            Problem::TableMissing,
            Problem::ChainChanged {
                chain: "output".into(),
                loaded: 12,
                found: 0,
            },
            Problem::ObjectMissing {
                kind: "set".into(),
                name: "endpoints4".into(),
            },
            Problem::AnchorNotReferenced,
            Problem::LeftOver {
                kind: FirewallKind::Pf,
            },
        ];
        for p in &all {
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(
                &serde_json::from_str::<Problem>(&json).unwrap(),
                p,
                "{json}"
            );
        }
        assert_eq!(
            serde_json::to_string(&all[1]).unwrap(),
            r#"{"problem":"chain_changed","chain":"output","loaded":12,"found":0}"#
        );
        assert_eq!(
            serde_json::to_string(&all[4]).unwrap(),
            r#"{"problem":"left_over","kind":"pf"}"#
        );
        assert!(serde_json::from_str::<Problem>(
            r#"{"problem":"chain_missing","chain":"x","y":1}"#
        )
        .is_err());
        assert!(serde_json::from_str::<Problem>(r#"{"problem":"on_fire"}"#).is_err());
    }
}
