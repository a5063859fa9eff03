//! `airlockctl rules`: the ruleset the helper has loaded right now, read
//! back from the kernel by the helper (compare with `airlockctl render`,
//! which shows what it would load).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::Args;

use crate::helper::Helper;

/// Print the firewall rules loaded now (nftables table or pf anchor).
#[derive(Debug, Args)]
#[command(
    long_about = "Print the firewall rules the helper has loaded now, as the kernel holds \
them: the `inet airlock` nftables table on Linux, the `com.apple/0.airlock` pf anchor on \
macOS. Empty when the kill switch is off. To see what would be loaded without loading it, \
use `airlockctl render`.",
    after_long_help = "Examples:\n  airlockctl rules\n  airlockctl rules | less\n\n\
Exit status: 0 printed, 1 the helper cannot be asked or cannot read the rules."
)]
pub struct RulesArgs {}

pub fn run(_args: RulesArgs, socket: &Path) -> anyhow::Result<()> {
    let mut helper = Helper::connect(socket)?;
    let text = helper.rules()?.text;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| {
            if text.is_empty() || text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .context("writing to stdout")
}
