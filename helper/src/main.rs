//! `airlockd`: Airlock's privileged helper. Thin: parses arguments, picks
//! the firewall backend and hands over to `airlockd::daemon`.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock::ipc::paths;
use airlock::platform::Platform;
use airlockd::daemon::{self, Config};
use airlockd::driver::nft::{NftConfig, NftDriver};
use airlockd::driver::pf::{PfConfig, PfDriver};
use airlockd::driver::Firewall;
use airlockd::engine::Backend;
use airlockd::server::Limits;
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
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Pf,
    Nft,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            socket,
            state_dir,
            backend,
            admin_group,
        } => run(socket, state_dir, backend, admin_group),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("airlockd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    socket: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    backend: Option<BackendArg>,
    admin_group: Option<String>,
) -> anyhow::Result<()> {
    let platform = Platform::current();
    let backend = match backend {
        Some(BackendArg::Pf) => Backend::Pf,
        Some(BackendArg::Nft) => Backend::Nft,
        None if platform == Platform::Macos => Backend::Pf,
        None => Backend::Nft,
    };
    let state_dir = state_dir.unwrap_or_else(|| default_state_dir(platform));
    let driver: Box<dyn Firewall> = match backend {
        Backend::Nft => Box::new(NftDriver::new(NftConfig::default())),
        Backend::Pf => Box::new(PfDriver::new(PfConfig::new(&state_dir))),
    };
    let config = Config {
        platform,
        socket: socket.unwrap_or_else(paths::socket_path_from_env),
        state_dir,
        backend,
        admin_group: admin_group.unwrap_or_else(|| default_admin_group(platform).into()),
        limits: Limits::default(),
    };
    daemon::run(config, driver)
}

fn default_state_dir(platform: Platform) -> PathBuf {
    match platform {
        Platform::Macos => "/Library/Application Support/Airlock".into(),
        Platform::Linux => "/var/lib/airlock".into(),
    }
}

fn default_admin_group(platform: Platform) -> &'static str {
    match platform {
        Platform::Macos => "admin",
        Platform::Linux => "sudo",
    }
}
