//! The commands that change the kill switch: `enable`, `disable`, `set`,
//! `pause`, `resume`. Each is one request; the helper answers only once
//! the kernel holds the new rules, so the line printed after it is true.

use std::path::{Path, PathBuf};

use airlock_shared::import::{self, FoundConfig};
use airlock_shared::ipc::protocol::{OptionName, RequestBody};
use clap::{Args, ValueEnum};

use crate::duration::{self, format_seconds};
use crate::helper::Helper;
use crate::status_text::headline;

pub const CHANGE_FOOTER: &str = "\
Changing anything needs root or membership of the helper's admin group (on Linux
`sudo` by default): run it with sudo. The helper answers once the new rules are in
the kernel, and this prints the resulting status.

Exit status: 0 done, 1 refused or failed (the message says why), 2 bad arguments.";

/// Turn the kill switch on (and end a pause).
#[derive(Debug, Args)]
#[command(
    long_about = "Turn the kill switch on: from now on nothing leaves this machine except \
through a VPN tunnel, to the VPN servers listed by `airlockctl endpoints list`, and what \
the options allow. Ends a pause. Stays on across reboots until `airlockctl disable`.",
    after_long_help = CHANGE_FOOTER
)]
pub struct EnableArgs {}

/// Turn the kill switch off.
#[derive(Debug, Args)]
#[command(
    long_about = "Turn the kill switch off: the helper removes its rules and traffic flows \
without the VPN. To let traffic through for a while and re-lock by itself, use \
`airlockctl pause` instead.",
    after_long_help = CHANGE_FOOTER
)]
pub struct DisableArgs {}

/// An option as typed on the command line.
// The shared prefix is the point: variant names are the CLI spellings.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptionArg {
    /// The local network (printers, NAS, router admin page) stays reachable.
    AllowLan,
    /// AirDrop keeps working (macOS; awdl interfaces).
    AllowAirdrop,
    /// Printers found with Bonjour/mDNS stay usable.
    AllowAirprint,
    /// DNS to the network's resolvers is allowed outside the tunnel
    /// (needed by some VPN clients to resolve their server).
    AllowDns,
    /// macOS: when another program (Internet Sharing, a VM tool) loads a pf
    /// ruleset without `anchor "com.apple/*"`, put it back (on by default;
    /// off if you manage /etc/pf.conf yourself).
    PfRestoreHook,
    /// Only root's programs may reach the VPN servers outside the tunnel
    /// (off by default; for VPN clients whose daemon runs as root, which
    /// `airlockctl doctor` tells).
    VpnRootOnly,
}

impl From<OptionArg> for OptionName {
    fn from(o: OptionArg) -> Self {
        match o {
            OptionArg::AllowLan => OptionName::AllowLan,
            OptionArg::AllowAirdrop => OptionName::AllowAirdrop,
            OptionArg::AllowAirprint => OptionName::AllowAirprint,
            OptionArg::AllowDns => OptionName::AllowDns,
            OptionArg::PfRestoreHook => OptionName::PfRestoreHook,
            OptionArg::VpnRootOnly => OptionName::VpnRootOnly,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// Turn one option on or off.
#[derive(Debug, Args)]
#[command(
    long_about = "Turn one of the kill switch's exceptions on or off. `airlockctl status` \
shows the current values.",
    after_long_help = concat!(
        "Examples:\n",
        "  sudo airlockctl set allow-lan on\n",
        "  sudo airlockctl set allow-dns off\n\n",
        "Changing anything needs root or membership of the helper's admin group (on Linux\n",
        "`sudo` by default): run it with sudo.\n\n",
        "Exit status: 0 done, 1 refused or failed (the message says why), 2 bad arguments."
    )
)]
pub struct SetArgs {
    /// Which option.
    #[arg(value_enum)]
    option: OptionArg,
    /// Its new value.
    #[arg(value_enum)]
    value: OnOff,
}

/// Let traffic through for a while, then re-lock by itself.
#[derive(Debug, Args)]
#[command(
    long_about = "Pause the kill switch: everything is let through until DURATION has \
passed, then the helper turns the kill switch back on by itself, even if nobody is \
connected to it. For a captive portal (hotel, airport Wi-Fi) before the VPN can connect. \
`airlockctl resume` ends the pause early. The kill switch must be on.",
    after_long_help = concat!(
        "Examples:\n",
        "  sudo airlockctl pause 90s\n",
        "  sudo airlockctl pause 5m\n",
        "  sudo airlockctl pause 1h30m\n\n",
        "DURATION is numbers with units, largest first: d, h, m, s. A bare number is\n",
        "refused (seconds or minutes?). The helper caps a pause at 24h.\n\n",
        "Exit status: 0 paused, 1 refused or failed (the message says why), 2 bad arguments."
    )
)]
pub struct PauseArgs {
    /// How long: 90s, 5m, 1h, 1h30m.
    #[arg(value_name = "DURATION", value_parser = parse_duration)]
    seconds: u64,
}

fn parse_duration(text: &str) -> Result<u64, duration::DurationError> {
    duration::parse_seconds(text)
}

/// End a pause now.
#[derive(Debug, Args)]
#[command(
    long_about = "End a pause now: the kill switch is back on at once.",
    after_long_help = CHANGE_FOOTER
)]
pub struct ResumeArgs {}

/// One of the change commands, as a request.
pub enum Change {
    Enable,
    Disable,
    Set(SetArgs),
    Pause(PauseArgs),
    Resume,
}

impl Change {
    /// The exact request a command sends; pure, so the mapping is tested.
    pub fn request(&self) -> RequestBody {
        match self {
            Change::Enable => RequestBody::Enable,
            Change::Disable => RequestBody::Disable,
            Change::Set(a) => RequestBody::SetOption {
                option: a.option.into(),
                value: a.value == OnOff::On,
            },
            Change::Pause(a) => RequestBody::Pause { seconds: a.seconds },
            Change::Resume => RequestBody::Resume,
        }
    }

    /// What to say before the resulting status, when the status alone
    /// would not show what changed.
    fn preface(&self) -> Option<String> {
        match self {
            Change::Set(a) => Some(format!(
                "{} is {}",
                OptionName::from(a.option).as_str().replace('_', "-"),
                if a.value == OnOff::On { "on" } else { "off" }
            )),
            Change::Pause(a) => Some(format!("Paused for {}", format_seconds(a.seconds))),
            _ => None,
        }
    }
}

pub fn run(change: Change, socket: &Path) -> anyhow::Result<()> {
    let mut helper = Helper::connect(socket)?;
    let status = helper.status_of(change.request())?;
    if let Some(p) = change.preface() {
        println!("{p}");
    }
    println!("{}", headline(&status, &crate::clock::system()));
    // On, yet nothing lets the VPN through: say so, and how to fix it.
    // Not refused: a user may want everything blocked.
    if matches!(change, Change::Enable) && status.vpn_cannot_connect() {
        eprint!("{}", dead_end_warning(&found_here()));
    }
    Ok(())
}

/// The VPN connections on this machine (Viscosity, Tunnelblick, WireGuard),
/// looked up under the user's home and `/` (`AIRLOCK_VPN_CONFIG_ROOT`
/// stands for `/` in tests, as for the app).
fn found_here() -> Vec<FoundConfig> {
    let dir = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let sudo_home = std::env::var("SUDO_USER")
        .ok()
        .and_then(|name| nix::unistd::User::from_name(&name).ok().flatten())
        .map(|user| user.dir);
    let home = users_home(sudo_home, dir("HOME"));
    let root = dir("AIRLOCK_VPN_CONFIG_ROOT").unwrap_or_else(|| PathBuf::from("/"));
    import::discover(&home, &root)
}

/// Under `sudo` (as changes are run) `$HOME` may be root's (Debian's
/// sudo resets it): the connections are in the invoking user's home.
fn users_home(sudo_users_home: Option<PathBuf>, home: Option<PathBuf>) -> PathBuf {
    sudo_users_home
        .filter(|p| p.is_absolute())
        .or(home)
        .unwrap_or_else(|| PathBuf::from("/nonexistent"))
}

/// The app's question, as a warning with the commands that answer it.
pub fn dead_end_warning(found: &[FoundConfig]) -> String {
    let mut out = String::from(
        "Warning: your VPN won't be able to connect: no VPN server is allowed and no \
         tunnel is up, so everything is blocked, the VPN too.\n",
    );
    if found.is_empty() {
        out.push_str("Allow your VPN's servers: sudo airlockctl endpoints import FILE\n");
        return out;
    }
    out.push_str("Allow a VPN connection found on this machine:\n");
    for f in found {
        out.push_str(&format!(
            "  {} ({}): sudo airlockctl endpoints import {}\n",
            f.name,
            f.client.name(),
            shell_quote(&f.path.to_string_lossy())
        ));
    }
    out
}

/// `'…'` with any `'` spelled `'\''`, so a path with spaces pastes.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invoking_users_home_wins_under_sudo() {
        let p = PathBuf::from;
        assert_eq!(
            users_home(Some(p("/home/alice")), Some(p("/root"))),
            p("/home/alice")
        );
        assert_eq!(users_home(None, Some(p("/home/bob"))), p("/home/bob"));
        assert_eq!(users_home(Some(p("relative")), None), p("/nonexistent"));
    }

    #[test]
    fn paths_are_quoted_for_pasting() {
        assert_eq!(shell_quote("/a b/it's"), "'/a b/it'\\''s'");
    }
}
