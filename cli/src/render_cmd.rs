//! `airlockctl render`: prints the ruleset Airlock would load, without
//! loading it and without root. The same pure pipeline the helper runs
//! (settings + snapshot -> policy -> pf/nft text), so what it prints is
//! what the helper would hand to `pfctl`/`nft`.

use std::path::PathBuf;

use airlock_helper::network::live;
use airlock_shared::endpoint::Endpoint;
use airlock_shared::firewall_kind::FirewallKind;
use airlock_shared::platform::Platform;
use airlock_shared::policy;
use airlock_shared::settings::Settings;
use anyhow::Context;
use clap::Args;

use crate::exit::BadInput;
use crate::interfaces_arg::Described;

const LONG_ABOUT: &str = "\
Print the firewall ruleset Airlock would load on this machine, without loading it
and without root: a pf anchor on macOS, an nftables table on Linux.

The kill switch is always rendered ON, whatever the settings file says, because the
point is to see the rules that enforce it. A pause in the settings file is rendered
as it is (a paused ruleset lets everything through until it ends).

Without --interfaces the interfaces, routes and resolvers are read from this machine.";

const EXAMPLES: &str = "\
Examples:
  airlockctl render
      the ruleset for this machine, with no VPN endpoints yet
  airlockctl render --endpoint 198.51.100.7:1194/udp
      ... letting an OpenVPN server through
  airlockctl render --guard
      the same rules as the tamper guard the helper loads beside them (Linux)
  airlockctl render --settings /etc/airlock/settings.toml
      ... with the helper's saved settings
  airlockctl render --platform macos --interfaces en0=192.168.1.20/24,utun4=10.8.0.2/24 \\
      --endpoint 198.51.100.7:1194/udp
      a Mac's pf anchor, rendered on any machine

Exit status: 0 printed, 2 bad arguments or settings file, 1 anything else.";

/// Render the ruleset Airlock would load (kill switch forced on).
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT, after_long_help = EXAMPLES)]
pub struct RenderArgs {
    /// Render for this OS instead of the current one: `macos` (pf anchor) or
    /// `linux` (nftables). Example: --platform macos
    #[arg(long, value_name = "macos|linux")]
    platform: Option<Platform>,

    /// Read settings from this TOML file (the helper's format): LAN, AirDrop,
    /// DNS options, endpoints, tunnel patterns. Example: --settings ./settings.toml
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,

    /// Add a VPN server to let through; repeat for more. Protocol defaults to
    /// udp. Examples: --endpoint 198.51.100.7:1194/udp --endpoint [2001:db8::7]:443/tcp
    #[arg(long = "endpoint", value_name = "ADDR:PORT[/udp|/tcp]")]
    endpoints: Vec<Endpoint>,

    /// Render for these interfaces instead of this machine's, classified by
    /// name for the chosen platform (no routes, no resolvers). Comma-separated
    /// NAME[=ADDR/PREFIX[+ADDR/PREFIX...]]. Example:
    /// --interfaces en0=192.168.1.20/24+2001:db8::20/64,utun4=10.8.0.2/24,lo0=127.0.0.1/8
    #[arg(long, value_name = "LIST")]
    interfaces: Option<Described>,

    /// Linux: print the tamper guard instead, the owned copy of the same
    /// rules the helper loads beside them (table inet airlock_guard)
    #[arg(long)]
    guard: bool,
}

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let platform = args.platform.unwrap_or_else(Platform::current);
    let mut settings = match &args.settings {
        Some(path) => Settings::load(path).map_err(|e| BadInput(e.to_string()))?,
        None => Settings::default(),
    };
    settings.kill_switch = true;
    settings.endpoints.extend(args.endpoints);

    let snapshot = match &args.interfaces {
        Some(described) => described.snapshot(platform, &settings.tunnel_patterns),
        None => live::snapshot(platform, &settings.tunnel_patterns)
            .context("reading this machine's network (use --interfaces to describe one)")?,
    };
    let now = crate::clock::now();
    let policy = policy::build(&settings, &snapshot, platform, now);
    let kind = FirewallKind::choose(platform, None);
    let text = if args.guard {
        kind.render_guard(&policy)
            .ok_or_else(|| BadInput(format!("{kind} has no tamper guard (only nft does)")))?
    } else {
        kind.render(&policy)
    };
    print!("{text}");
    Ok(())
}
