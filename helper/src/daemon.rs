//! `airlockd run`: wires the engine thread, the socket server, the network
//! monitor and the tamper watchdog together.
//!
//! Start-up order is the point: the persisted state is loaded into the
//! kernel *before* the socket exists, so at boot the kill switch is back
//! before anyone can log in and ask. Shutdown (SIGTERM/SIGINT) leaves the
//! firewall exactly as it is: a kill switch that is on stays on.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use airlock_shared::network::NetworkSnapshot;
use airlock_shared::platform::Platform;
use airlock_shared::settings::Settings;
use tokio::sync::watch;

use crate::engine::Engine;
use crate::firewall::Firewall;
use crate::inbox::Msg;
use crate::network::{live, monitor};
use crate::persist::Store;
use crate::server::{self, Limits, Shared};
use crate::{learn, socket, watchdog};

pub struct Config {
    pub platform: Platform,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    pub admin_group: String,
    /// Code-signing requirement for clients that change settings.
    pub signing: crate::client_signature::SigningPolicy,
    pub limits: Limits,
}

/// Unix time in whole seconds, rounded UP: the one rounding of "now",
/// [`airlock_shared::time::unix_secs`], which says why (pauses err
/// toward closed).
pub fn now() -> u64 {
    airlock_shared::time::unix_secs(SystemTime::now())
}

/// The engine re-locks this long before a pause's announced end, so the
/// new rules are in the kernel by then, not a reload later.
const RELOCK_AHEAD: Duration = Duration::from_millis(250);

fn snapshot(platform: Platform, settings: &Settings) -> NetworkSnapshot {
    match live::snapshot(platform, &settings.tunnel_patterns) {
        Ok(s) => s,
        Err(e) => {
            // Without a view of the network the policy still blocks
            // everything but loopback and tunnels: fail closed.
            tracing::warn!("cannot read the network state: {e}");
            NetworkSnapshot::default()
        }
    }
}

/// Runs until SIGTERM/SIGINT.
pub fn run(config: Config, firewall: Firewall) -> anyhow::Result<()> {
    let platform = config.platform;
    let tamper_watch = firewall.tamper_watch();
    let store = Store::new(&config.state_dir);
    let engine = Engine::start(
        platform,
        firewall,
        store,
        |settings| snapshot(platform, settings),
        now(),
    );
    let first = engine.status(now());
    tracing::info!(
        "started: kill switch {:?}, protection {:?}{}",
        first.kill_switch,
        first.protection,
        first
            .reason
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );

    crate::blocked::start(airlock_shared::policy::BlockLog::default());
    let (status_tx, status_rx) = watch::channel(first);
    let (view_tx, view_rx) = watch::channel(engine.resolver_view(now()));
    let (jobs_tx, jobs_rx) = mpsc::channel::<Msg>();
    let engine_thread = std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || engine_loop(engine, platform, jobs_rx, status_tx, view_tx))?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let listener = socket::bind(&config.socket)?;
        tracing::info!("listening on {}", config.socket.display());
        crate::sd_notify::ready();
        let shared = Arc::new(Shared {
            jobs: jobs_tx.clone(),
            status: status_rx,
            admin_gid: crate::auth::group_gid(&config.admin_group),
            admin_group: config.admin_group.clone(),
            signing: config.signing.clone(),
            limits: config.limits.clone(),
            server_name: format!("airlockd {}", env!("CARGO_PKG_VERSION")),
        });
        let net_tx = jobs_tx.clone();
        let net_task = tokio::spawn(async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel(1);
            let fd = match monitor::open() {
                Ok(fd) => fd,
                Err(e) => {
                    tracing::warn!("no network change notifications ({e}); status may lag");
                    return;
                }
            };
            let resolvers_tx = tx.clone();
            tokio::spawn(async move {
                if let Err(e) = monitor::run(fd, tx).await {
                    tracing::warn!("network monitor stopped: {e}");
                }
            });
            tokio::spawn(async move {
                if let Err(e) = monitor::watch_resolvers(resolvers_tx).await {
                    tracing::warn!("resolver settings no longer watched: {e}");
                }
            });
            while rx.recv().await.is_some() {
                if net_tx.send(Msg::Network).is_err() {
                    return;
                }
            }
        });
        let watch_task = tokio::spawn(watchdog::run(tamper_watch, jobs_tx.clone()));
        // Whether the resolver holds its IPv4 UDP port: the macOS DNS
        // switch points the system there only then.
        let (listening_tx, listening_rx) = watch::channel(false);
        #[cfg(target_os = "macos")]
        let switch_task = tokio::spawn(run_dns_switch(view_rx.clone(), listening_rx));
        #[cfg(not(target_os = "macos"))]
        drop(listening_rx);
        let resolver_task = tokio::spawn(run_resolver(view_rx, jobs_tx.clone(), listening_tx));
        let server_task = tokio::spawn(server::serve(listener, shared));
        wait_for_signal().await?;
        tracing::info!("stopping; the firewall rules stay as they are");
        server_task.abort();
        net_task.abort();
        watch_task.abort();
        resolver_task.abort();
        // Stopping is not the end of Blocking: the kill switch stays on
        // and so does the DNS switch; the next start keeps or restores it.
        #[cfg(target_os = "macos")]
        switch_task.abort();
        let _ = std::fs::remove_file(&config.socket);
        anyhow::Ok(())
    });
    let _ = jobs_tx.send(Msg::Shutdown);
    let _ = engine_thread.join();
    result
}

/// Runs the filtering resolver on its loopback ports (UDP and TCP, IPv4
/// and IPv6), relaying its pin requests to the engine thread. A listener
/// that cannot bind is logged and left out (IPv6 may be disabled); the
/// kill switch still blocks, only that shortcut back online is missing.
async fn run_resolver(
    view: watch::Receiver<crate::resolver::ResolverView>,
    jobs: mpsc::Sender<Msg>,
    listening: watch::Sender<bool>,
) {
    use crate::resolver::{self, LISTEN};
    let (pin_tx, mut pin_rx) = tokio::sync::mpsc::channel(resolver::MAX_IN_FLIGHT);
    tokio::spawn(async move {
        while let Some(p) = pin_rx.recv().await {
            if jobs.send(Msg::Pin(p)).is_err() {
                return;
            }
        }
    });
    let config = resolver::Config::default();
    let connections = std::sync::Arc::new(tokio::sync::Semaphore::new(
        airlock_shared::dns::MAX_TCP_CONNECTIONS,
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for addr in LISTEN {
        match tokio::net::UdpSocket::bind(addr).await {
            Ok(socket) => {
                if addr.is_ipv4() {
                    let _ = listening.send(true);
                }
                let (view, pin_tx, config) = (view.clone(), pin_tx.clone(), config.clone());
                tasks.spawn(async move {
                    let r = resolver::serve(socket, view, pin_tx, config).await;
                    (format!("udp {addr}"), r)
                });
            }
            Err(e) => tracing::error!(
                "resolver: cannot listen on udp {addr}: {e}; DNS redirected there stays unanswered"
            ),
        }
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => {
                let (view, pin_tx, config) = (view.clone(), pin_tx.clone(), config.clone());
                let connections = connections.clone();
                tasks.spawn(async move {
                    let r = resolver::serve_tcp(listener, connections, view, pin_tx, config).await;
                    (format!("tcp {addr}"), r)
                });
            }
            Err(e) => tracing::error!(
                "resolver: cannot listen on tcp {addr}: {e}; DNS over TCP redirected there is refused"
            ),
        }
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok((which, Err(e))) = done {
            tracing::error!("resolver on {which} stopped: {e}");
            if which.starts_with("udp 127.") {
                let _ = listening.send(false);
            }
        }
    }
}

/// macOS: keeps the system's DNS pointed at the resolver exactly while
/// Blocking and the resolver holds 127.0.0.1:53 (otherwise another
/// program on that port would get every query; see
/// `airlock_shared::dns_switch`). The first pass runs at start, which
/// restores what a crash left behind unless Blocking; later passes run
/// when that changes or the network's resolvers do. A failed pass is
/// logged and tried again at the next change: while it fails, DNS stays
/// where it was, and the kill switch blocks regardless.
#[cfg(target_os = "macos")]
async fn run_dns_switch(
    mut view: watch::Receiver<crate::resolver::ResolverView>,
    mut listening: watch::Receiver<bool>,
) {
    use crate::dns_switch_macos::{DnsSwitch, SwitchConfig};
    let switch = std::sync::Arc::new(DnsSwitch::new(SwitchConfig::default()));
    let mut done: Option<(bool, Vec<std::net::IpAddr>)> = None;
    loop {
        let v = view.borrow_and_update().clone();
        let on = v.active && *listening.borrow_and_update();
        let want = (on, v.upstreams.clone());
        if done.as_ref() != Some(&want) {
            let s = switch.clone();
            match tokio::task::spawn_blocking(move || s.apply(on)).await {
                Ok(Ok(applied)) => {
                    if applied.changed > 0 {
                        tracing::info!(
                            "DNS switch: {} service(s) changed (pointed at the resolver: {on})",
                            applied.changed
                        );
                    }
                    done = Some(want);
                }
                Ok(Err(e)) => tracing::warn!("DNS switch: {e}"),
                Err(e) => tracing::warn!("DNS switch: {e}"),
            }
        }
        tokio::select! {
            r = view.changed() => if r.is_err() { return },
            r = listening.changed() => if r.is_err() { return },
        }
    }
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

/// The engine thread: one message at a time, waking by itself only for
/// the end of a pause.
fn engine_loop(
    mut engine: Engine,
    platform: Platform,
    rx: mpsc::Receiver<Msg>,
    status: watch::Sender<airlock_shared::status::Status>,
    resolver: watch::Sender<crate::resolver::ResolverView>,
) {
    loop {
        // Wake at an exact instant shortly before the deadline, not after
        // whole seconds of a truncated clock: a pause must be over when it
        // says it is.
        let wait = engine.next_deadline().map(|t| {
            (UNIX_EPOCH + Duration::from_secs(t))
                .checked_sub(RELOCK_AHEAD)
                .and_then(|at| at.duration_since(SystemTime::now()).ok())
                .unwrap_or(Duration::ZERO)
        });
        let msg = match wait {
            Some(d) => rx.recv_timeout(d),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(Msg::Request(job)) => {
                let reply = engine.handle(job.body, now());
                let _ = job.reply.send(reply);
            }
            Ok(Msg::Network) => {
                let snap = snapshot(platform, engine.settings());
                // Listing connections costs a `conntrack` run (a process
                // and the whole table) and delays the status push.
                let learned = if engine.would_learn_from(&snap) {
                    learn::endpoints(&snap, engine.flows())
                } else {
                    Vec::new()
                };
                engine.on_network(snap, learned, now());
            }
            Ok(Msg::CheckFirewall) => {
                if engine.check_firewall(now()) {
                    tracing::warn!("someone changed the firewall; Airlock's rules were restored");
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = engine.on_deadline(now()) {
                    // nft's own element timeout re-locks the kernel anyway;
                    // retry without spinning on a deadline in the past.
                    tracing::error!("a change due now (pause end, expiry) failed, retrying: {e}");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            Ok(Msg::Pin(p)) => {
                let done = engine
                    .pin_answer(&p.name, &p.answer, now())
                    .map_err(|e| e.to_string());
                let _ = p.done.send(done);
            }
            Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
        }
        engine.expire_pins(now());
        let view = engine.resolver_view(now());
        resolver.send_if_modified(|old| {
            if *old != view {
                *old = view;
                true
            } else {
                false
            }
        });
        let st = engine.status(now());
        status.send_if_modified(|old| {
            if *old != st {
                *old = st;
                true
            } else {
                false
            }
        });
    }
}
