//! Putting Apple's `anchor "com.apple/*"` hook back into pf's main
//! ruleset when another program replaced the main ruleset without it
//! (Internet Sharing and vmnet-based VM tools load their own; so does a
//! `pfctl -f` of a custom file). Without the hook our anchor is loaded but
//! never read, and a kill switch that is never read fails open.
//!
//! What the other program loaded must stay. The sequence:
//!
//! 1. `pfctl -s rules` (the caller's check already read it): the main
//!    ruleset's scrub and filter rules, as pfctl prints them.
//! 2. `pfctl -s nat` and `pfctl -s Tables`: its nat/rdr rules and table
//!    names, kept only to prove afterwards that they did not change.
//! 3. `pfctl -R -o none -f -` with the printed scrub rules, the hook, then
//!    the printed filter rules. `-R` loads *only* the filter rules: pfctl
//!    opens its transaction for the scrub and filter rulesets alone
//!    (`pfctl_ruleset_trans` adds nat/binat/rdr only with
//!    `PFCTL_FLAG_NAT`, tables only with `PFCTL_FLAG_TABLE`), skips
//!    options (`pfctl_load_options` returns early without
//!    `PFCTL_FLAG_OPTION`) and leaves `set skip` interfaces alone, so the
//!    other program's nat/rdr rules, tables (and their addresses: rules
//!    naming `<t>` attach to the existing table) and options stay exactly
//!    as they are. The load is one transaction: a line pfctl cannot parse
//!    changes nothing. `-o none` keeps the optimizer from rewriting the
//!    other program's rules on the way back in.
//! 4. Read all three again: the hook is there, every filter rule of the
//!    other program is there in its order, nat/rdr and tables unchanged.
//!
//! The hook goes first among the filter rules (after scrub, which pf
//! requires first), where macOS's stock `/etc/pf.conf` has it: our
//! rules are all `quick`, so they decide before the other program's, as
//! they would on a stock Mac.
//!
//! Only the filter hook is restored: our anchor holds filter rules only,
//! and adding Apple's `nat-anchor`/`rdr-anchor` hooks back could change
//! the other program's NAT, which is not ours to touch.
//!
//! Not verified on a Mac: that Apple's pfctl (derived from the
//! FreeBSD/OpenBSD 4.x one the points above are read from) handles `-R`
//! the same way, including its own dummynet rules; that every line Apple's
//! `pfctl -s rules` prints parses back; and the exact rulesets Internet
//! Sharing and VM tools load. Between reading the ruleset and loading it
//! back another program could load a newer one, which this would replace
//! (pf has no compare-and-swap for a ruleset).

use airlock_shared::render::pf::ANCHOR;

use super::legacy::Pfctl;
use super::parse as pf_parse;
use super::DriverError;

/// The hook as pfctl prints it (and as we load it).
pub const APPLE_HOOK: &str = "anchor \"com.apple/*\" all";

/// The arguments of the load in step 3.
pub const LOAD_ARGS: [&str; 5] = ["-R", "-o", "none", "-f", "-"];

/// At most this many restores in [`WINDOW_SECS`]: a program that puts its
/// own ruleset back every time (it watches pf, or reloads on a timer) is
/// not fought every second, with a tamper notification each time; the
/// missing hook is then reported as a problem instead.
pub const MAX_RESTORES: usize = 3;
pub const WINDOW_SECS: u64 = 600;

/// The restores of the last [`WINDOW_SECS`].
#[derive(Debug, Default)]
pub struct Budget {
    at: std::collections::VecDeque<u64>,
}

impl Budget {
    /// Whether a restore may run at `now` (seconds, any fixed origin);
    /// counts it if so.
    pub fn allow(&mut self, now: u64) -> bool {
        while self
            .at
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= WINDOW_SECS)
        {
            self.at.pop_front();
        }
        if self.at.len() >= MAX_RESTORES {
            return false;
        }
        self.at.push_back(now);
        true
    }
}

/// Why the budget refused, in words for the user.
pub fn fought() -> String {
    format!(
        "another program replaced the main ruleset again each time, {MAX_RESTORES} times \
         within {} minutes; Airlock stopped putting the hook back so as not to fight it",
        WINDOW_SECS / 60
    )
}

/// What a restore kept of the other program's main ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Its filter and scrub rules (now after the hook).
    pub rules: usize,
    /// Its nat/rdr/binat rules, untouched.
    pub nat: usize,
    /// Its tables, untouched.
    pub tables: usize,
}

/// Whether a printed rule line is a scrub rule, which pf wants before any
/// filter rule.
fn is_scrub(line: &str) -> bool {
    line.starts_with("scrub ") || line.starts_with("scrub-anchor ")
}

/// The text for `pfctl -R -o none -f -`: `main_rules` (a `pfctl -s rules`
/// listing) with the hook in front of its first filter rule.
pub fn with_hook(main_rules: &str) -> String {
    let lines = pf_parse::rule_lines(main_rules);
    let scrub = lines.iter().take_while(|l| is_scrub(l)).count();
    let mut out = String::from(
        "# The main ruleset another program loaded, as pfctl printed it, with\n\
         # Apple's anchor hook put back by Airlock in front of its filter rules.\n",
    );
    for line in &lines[..scrub] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("# Evaluates com.apple/* (Airlock's ");
    out.push_str(ANCHOR);
    out.push_str(" first), as the stock /etc/pf.conf does.\n");
    out.push_str(APPLE_HOOK);
    out.push('\n');
    for line in &lines[scrub..] {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Step 4: what the kernel holds after the load against what it held
/// before. `Err` says what is wrong, in words for the user.
pub fn verify(
    before_rules: &str,
    after_rules: &str,
    before_nat: &str,
    after_nat: &str,
    before_tables: &str,
    after_tables: &str,
) -> Result<Kept, String> {
    let after = pf_parse::rule_lines(after_rules);
    if !after.iter().any(|l| l.starts_with(APPLE_HOOK)) {
        return Err(
            "the main ruleset still has no `anchor \"com.apple/*\"` after loading it".into(),
        );
    }
    let before = pf_parse::rule_lines(before_rules);
    let others: Vec<&String> = after
        .iter()
        .filter(|l| !l.starts_with(APPLE_HOOK))
        .collect();
    if others.len() != before.len() || others.iter().zip(&before).any(|(a, b)| *a != b) {
        return Err(format!(
            "the other program's filter rules changed while the hook was put back \
             ({} before, {} after besides the hook)",
            before.len(),
            others.len()
        ));
    }
    let nat = pf_parse::rule_lines(before_nat);
    if nat != pf_parse::rule_lines(after_nat) {
        return Err("the main ruleset's nat/rdr rules changed while the hook was put back".into());
    }
    let tables = pf_parse::rule_lines(before_tables);
    if tables != pf_parse::rule_lines(after_tables) {
        return Err("the main ruleset's tables changed while the hook was put back".into());
    }
    Ok(Kept {
        rules: before.len(),
        nat: nat.len(),
        tables: tables.len(),
    })
}

/// Runs the whole sequence; `main_rules` is the `pfctl -s rules` listing
/// the caller found without the hook.
pub(super) fn restore(pfctl: Pfctl<'_>, main_rules: &str) -> Result<Kept, DriverError> {
    let nat = pfctl(&["-s", "nat"], None)?.stdout;
    let tables = pfctl(&["-s", "Tables"], None)?.stdout;
    pfctl(&LOAD_ARGS, Some(&with_hook(main_rules)))?;
    let rules_now = pfctl(&["-s", "rules"], None)?.stdout;
    let nat_now = pfctl(&["-s", "nat"], None)?.stdout;
    let tables_now = pfctl(&["-s", "Tables"], None)?.stdout;
    verify(main_rules, &rules_now, &nat, &nat_now, &tables, &tables_now)
        .map_err(DriverError::Verification)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A main ruleset in the shape a program that replaces it loads (here
    /// like Internet Sharing's, plus a VM tool's table): its own anchors,
    /// no `com.apple/*`.
    const REPLACED: &str = "\
scrub-anchor \"com.apple.internet-sharing/*\" all fragment reassemble
anchor \"com.apple.internet-sharing/*\" all
pass quick on bridge100 all flags S/SA keep state
block drop in quick on en0 proto tcp from <vm_blocklist> to any
";

    #[test]
    fn the_hook_goes_after_scrub_and_before_every_filter_rule() {
        let text = with_hook(REPLACED);
        let statements: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        assert_eq!(
            statements,
            [
                "scrub-anchor \"com.apple.internet-sharing/*\" all fragment reassemble",
                "anchor \"com.apple/*\" all",
                "anchor \"com.apple.internet-sharing/*\" all",
                "pass quick on bridge100 all flags S/SA keep state",
                "block drop in quick on en0 proto tcp from <vm_blocklist> to any",
            ]
        );
        // No nat, no table definitions, no options: -R loads none of them,
        // and defining a table here would replace its addresses.
        assert!(!text.contains("\nnat") && !text.contains("\ntable") && !text.contains("\nset "));
    }

    #[test]
    fn restores_are_limited_per_window_so_a_program_that_fights_is_not_fought() {
        let mut b = Budget::default();
        assert!(b.allow(100) && b.allow(101) && b.allow(102));
        assert!(!b.allow(103), "the fourth within ten minutes");
        assert!(!b.allow(100 + WINDOW_SECS - 1));
        assert!(b.allow(100 + WINDOW_SECS), "the first one has aged out");
        assert!(!b.allow(100 + WINDOW_SECS));
        assert!(fought().contains("10 minutes"), "{}", fought());
    }

    #[test]
    fn an_empty_main_ruleset_gets_just_the_hook() {
        let text = with_hook("");
        assert_eq!(
            pf_parse::rule_lines(&text)
                .into_iter()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>(),
            [APPLE_HOOK]
        );
    }

    #[test]
    fn verification_wants_the_hook_every_old_rule_in_order_and_nat_and_tables_unchanged() {
        let after = pf_parse::rule_lines(&with_hook(REPLACED))
            .into_iter()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        let nat = "nat-anchor \"com.apple.internet-sharing/*\" all\nnat on en0 inet from 192.168.64.0/24 to any -> (en0) round-robin\n";
        let tables = "vm_blocklist\n";
        assert_eq!(
            verify(REPLACED, &after, nat, nat, tables, tables),
            Ok(Kept {
                rules: 4,
                nat: 2,
                tables: 1
            })
        );
        let no_hook = verify(REPLACED, REPLACED, nat, nat, tables, tables).unwrap_err();
        assert!(no_hook.contains("still has no"), "{no_hook}");
        let lost = after.replace("pass quick on bridge100 all flags S/SA keep state\n", "");
        let err = verify(REPLACED, &lost, nat, nat, tables, tables).unwrap_err();
        assert!(err.contains("filter rules changed"), "{err}");
        let swapped = after.replace("anchor \"com.apple.internet-sharing/*\" all\npass quick on bridge100 all flags S/SA keep state", "pass quick on bridge100 all flags S/SA keep state\nanchor \"com.apple.internet-sharing/*\" all");
        assert_ne!(swapped, after);
        assert!(verify(REPLACED, &swapped, nat, nat, tables, tables).is_err());
        let err = verify(REPLACED, &after, nat, "", tables, tables).unwrap_err();
        assert!(err.contains("nat/rdr"), "{err}");
        let err = verify(REPLACED, &after, nat, nat, tables, "").unwrap_err();
        assert!(err.contains("tables"), "{err}");
    }
}
