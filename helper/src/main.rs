//! `airlockd`: Airlock's privileged helper. Thin: parses arguments, opens
//! the firewall `FirewallKind::choose` picks and hands over to `airlock_helper::daemon`.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_helper::client_signature::SigningPolicy;
use airlock_helper::daemon::{self, Config};
use airlock_helper::dns_switch_macos::{DnsSwitch, SwitchConfig};
use airlock_helper::firewall;
use airlock_helper::install::{self, names, SystemRunner, Target};
use airlock_helper::server::Limits;
use airlock_shared::firewall_kind::FirewallKind;
use airlock_shared::ipc::paths;
use airlock_shared::platform::Platform;
use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "airlockd",
    version,
    about = "Airlock's privileged helper: owns the firewall rules of the VPN kill switch",
    long_about = "Airlock's privileged helper. It is the only process that touches the \
                  firewall (pf on macOS, nftables on Linux); the menu-bar app and airlockctl \
                  ask it over a Unix socket. launchd/systemd start it as `airlockd run`."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run in the foreground (as launchd and systemd do). Restores the saved
    /// kill-switch state before accepting clients; SIGTERM/SIGINT stop it
    /// and leave the firewall rules exactly as they are.
    Run {
        /// Socket to serve [default: /run/airlock/airlock.sock on Linux,
        /// /var/run/airlock.sock on macOS, or $AIRLOCK_SOCKET]
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Where settings persist [default: /var/lib/airlock on Linux,
        /// /Library/Application Support/Airlock on macOS]
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Firewall backend [default: pf on macOS, nft on Linux]
        #[arg(long, value_enum)]
        backend: Option<BackendArg>,
        /// Members of this group may change settings (root always may)
        /// [default: admin on macOS, sudo on Linux]
        #[arg(long, value_name = "GROUP")]
        admin_group: Option<String>,
        /// macOS: changes (not reads) from non-root clients also need a
        /// code signature satisfying this requirement, checked from the
        /// client's audit token. Packaging sets it when it signs the app;
        /// empty or absent: no signature check
        #[arg(long, value_name = "REQUIREMENT")]
        client_requirement: Option<String>,
        /// Linux: load no tamper guard (the owned copy of the rules that
        /// keeps blocking while someone deletes `inet airlock`). For
        /// measuring what it is worth; the status then says it is off
        #[arg(long)]
        no_tamper_guard: bool,
    },
    /// Install the helper as a system service that starts at boot, before
    /// the network (systemd unit on Linux, LaunchDaemon on macOS), and
    /// start it. Needs root.
    Install,
    /// Stop and remove the service and remove the kill switch's firewall
    /// rules (pf: also release pf's enable token), leaving the machine as
    /// it was. Saved settings stay in the state folder. Needs root.
    Uninstall {
        /// Only remove the firewall rules; leave the service alone (for
        /// packages, whose own scripts stop the service)
        #[arg(long)]
        rules_only: bool,
        /// Where the pf enable token was kept [default: as `run`]
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Firewall backend [default: pf on macOS, nft on Linux]
        #[arg(long, value_enum)]
        backend: Option<BackendArg>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Pf,
    Nft,
}

impl BackendArg {
    fn kind(self) -> FirewallKind {
        match self {
            BackendArg::Pf => FirewallKind::Pf,
            BackendArg::Nft => FirewallKind::Nft,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    airlock_helper::log::init();
    let result = match cli.command {
        Command::Run {
            socket,
            state_dir,
            backend,
            admin_group,
            client_requirement,
            no_tamper_guard,
        } => run(
            socket,
            state_dir,
            backend,
            admin_group,
            client_requirement.as_deref(),
            !no_tamper_guard,
        ),
        Command::Install => install_service(),
        Command::Uninstall {
            rules_only,
            state_dir,
            backend,
        } => uninstall_service(rules_only, state_dir, backend),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    socket: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    backend: Option<BackendArg>,
    admin_group: Option<String>,
    client_requirement: Option<&str>,
    tamper_guard: bool,
) -> anyhow::Result<()> {
    let platform = Platform::current();
    let signing = SigningPolicy::new(client_requirement, platform)?;
    let kind = FirewallKind::choose(platform, backend.map(BackendArg::kind));
    let state_dir = state_dir.unwrap_or_else(|| names::default_state_dir(platform));
    let firewall = firewall::open(kind, &state_dir, tamper_guard);
    let config = Config {
        platform,
        socket: socket.unwrap_or_else(paths::socket_path_from_env),
        state_dir,
        admin_group: admin_group.unwrap_or_else(|| names::default_admin_group(platform).into()),
        signing,
        limits: Limits::default(),
    };
    daemon::run(config, firewall)
}

fn require_root() -> anyhow::Result<()> {
    if !nix::unistd::Uid::effective().is_root() {
        bail!("this needs root: run it with sudo");
    }
    Ok(())
}

fn system_target() -> anyhow::Result<Target> {
    let helper = std::env::current_exe().context("cannot find our own binary")?;
    Ok(Target {
        platform: Platform::current(),
        root: "/".into(),
        helper,
    })
}

fn install_service() -> anyhow::Result<()> {
    require_root()?;
    let target = system_target()?;
    // launchd runs a root-owned copy; systemd runs this very file.
    if target.platform == Platform::Linux {
        install::check_helper_path(&target.helper)?;
    }
    for w in install::install(&target, &mut SystemRunner)? {
        tracing::warn!("{w}");
    }
    tracing::info!("installed and started");
    Ok(())
}

fn uninstall_service(
    rules_only: bool,
    state_dir: Option<PathBuf>,
    backend: Option<BackendArg>,
) -> anyhow::Result<()> {
    require_root()?;
    let platform = Platform::current();
    let state_dir = state_dir.unwrap_or_else(|| names::default_state_dir(platform));
    let kind = FirewallKind::choose(platform, backend.map(BackendArg::kind));
    // Loads nothing, so no guard; a running helper's goes with its socket.
    let mut firewall = firewall::open(kind, &state_dir, false);
    let mut remove_rules = || {
        firewall.remove().map_err(|e| e.to_string())?;
        // A helper that died while blocking left the Mac's DNS pointed at
        // its resolver (the dynamic store keeps that until a reboot); the
        // next start would have restored it, but none will come.
        if platform == Platform::Macos {
            DnsSwitch::new(SwitchConfig::default())
                .apply(false)
                .map_err(|e| format!("restoring the DNS settings: {e}"))?;
        }
        Ok(())
    };
    if rules_only {
        remove_rules().map_err(anyhow::Error::msg)?;
        tracing::info!("firewall rules removed");
        return Ok(());
    }
    let target = system_target()?;
    for w in install::uninstall(&target, &mut SystemRunner, &mut remove_rules)? {
        tracing::warn!("{w}");
    }
    tracing::info!("uninstalled; firewall rules removed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_requirement(args: &[&str]) -> Option<String> {
        let cli = Cli::try_parse_from(["airlockd", "run"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Run {
                client_requirement, ..
            } => client_requirement,
            _ => panic!("not run"),
        }
    }

    /// The shipped plists pass `--client-requirement=VALUE` as one word,
    /// filled with nothing for unsigned builds: that must parse and mean
    /// "no check", and a real requirement must arrive intact.
    #[test]
    fn the_client_requirement_word_from_the_plists_parses() {
        assert_eq!(client_requirement(&[]), None);
        let empty = client_requirement(&["--client-requirement="]);
        assert_eq!(empty.as_deref(), Some(""));
        assert_eq!(
            SigningPolicy::new(empty.as_deref(), Platform::Macos),
            Ok(SigningPolicy::NotRequired)
        );
        let req = r#"identifier "org.airlock.app" and anchor apple generic and certificate leaf[subject.OU] = "AB12CD34EF""#;
        let word = format!("--client-requirement={req}");
        assert_eq!(client_requirement(&[&word]).as_deref(), Some(req));
    }
}
