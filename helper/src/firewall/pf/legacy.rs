//! The anchor Airlock used before it was renamed to sort first among
//! Apple's (`com.apple/airlock`, see [`airlock_shared::render::pf::ANCHOR`]).
//!
//! After an upgrade the old helper's rules can still be in it. While our
//! new anchor is loaded they never decide anything (the new anchor ends in
//! `block ... quick all`, and it is read first), but once the kill switch
//! is turned off they would go on blocking. So the driver empties the old
//! anchor after its first successful load and on every remove, with the
//! same atomic "load an empty ruleset" it uses for its own anchor, and
//! reads it back.

use airlock_shared::render::pf::LEGACY_ANCHOR;

use super::command::Output;
use super::parse as pf_parse;
use super::DriverError;

/// How the pf driver runs `pfctl` (argv after the program, stdin).
pub(super) type Pfctl<'a> = &'a dyn Fn(&[&str], Option<&str>) -> Result<Output, DriverError>;

/// Empties the old anchor if it holds rules. `Ok(true)` when it did.
pub(super) fn remove(pfctl: Pfctl<'_>) -> Result<bool, DriverError> {
    let rules = |pfctl: Pfctl<'_>| -> Result<Vec<String>, DriverError> {
        let out = pfctl(&["-a", LEGACY_ANCHOR, "-s", "rules"], None)?;
        Ok(pf_parse::rule_lines(&out.stdout))
    };
    if rules(pfctl)?.is_empty() {
        return Ok(false);
    }
    pfctl(&["-a", LEGACY_ANCHOR, "-f", "-"], Some(""))?;
    if !rules(pfctl)?.is_empty() {
        return Err(DriverError::Verification(format!(
            "the old anchor {LEGACY_ANCHOR} still holds rules after loading an empty ruleset into it"
        )));
    }
    Ok(true)
}
