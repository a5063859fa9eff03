//! "Recently blocked": the helper's side. The kernel reports what the
//! final block rules refused; the pure parsers and the bounded table live
//! in `airlock_shared::blocked`, and the files here only read the bytes.
//!
//! - Linux: NFLOG over a netlink socket ([`nflog_linux`]), the group named
//!   by the policy's `log_blocked`.
//! - macOS: pf `log` to `pflog0`, read with BPF ([`pflog_macos`]); the
//!   pf driver creates `pflog0` while our rules log, and the reader waits
//!   for it while it is not there.

#[cfg(target_os = "linux")]
pub mod nflog_linux;
#[cfg(target_os = "macos")]
pub mod pflog_macos;

use airlock_shared::blocked::{BlockedEvent, InterfaceRef};

/// Turns an interface index from NFLOG into its name, where the interface
/// still exists (it may be gone by the time the helper reads the log).
pub fn name_interface(event: &mut BlockedEvent) {
    if let InterfaceRef::Index(i) = event.interface {
        if let Ok(name) = nix::net::if_::if_indextoname(i) {
            event.interface = InterfaceRef::Name(name.to_string_lossy().into_owned());
        }
    }
}

use std::sync::{Mutex, OnceLock};

use airlock_shared::blocked::{BlockedReport, BlockedTable, Limits, NameHint, NoNames};
use airlock_shared::policy::BlockLog;

/// The table and whether the reader runs. One per process: the kernel
/// lets only one socket bind an NFLOG group anyway.
struct State {
    table: BlockedTable,
    reading: bool,
    problem: Option<String>,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(|| {
        Mutex::new(State {
            table: BlockedTable::new(Limits::default()),
            reading: false,
            problem: Some("the helper has not started reading the firewall's log".into()),
        })
    })
}

fn lock() -> std::sync::MutexGuard<'static, State> {
    // A panic while holding the lock leaves a table that is still sound
    // (every update is a few field writes): keep serving it.
    state().lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> u64 {
    airlock_shared::time::unix_millis(std::time::SystemTime::now())
}

/// Where names for blocked addresses come from. None yet: the hook for
/// the helper's own DNS resolver, which will know what it answered.
fn names() -> &'static dyn NameHint {
    &NoNames
}

/// Records one event (from whichever platform reader).
pub fn record(event: &BlockedEvent) {
    lock().table.record(event, now_ms(), names());
}

fn set_reading(reading: bool, problem: Option<String>) {
    let mut s = lock();
    s.reading = reading;
    s.problem = problem;
}

/// What `GetBlocked` answers.
pub fn report() -> BlockedReport {
    let s = lock();
    BlockedReport {
        reading: s.reading,
        entries: s.table.snapshot(),
        rate_dropped: s.table.rate_dropped(),
        evicted: s.table.evicted(),
        problem: s.problem.clone(),
    }
}

/// Starts reading the kernel's log of blocked packets on a thread of its
/// own. Failing to read is not a firewall problem (the rules block either
/// way): it is reported in [`report`] and the list stays empty.
pub fn start(log: BlockLog) {
    #[cfg(target_os = "linux")]
    {
        let spawned = std::thread::Builder::new()
            .name("blocked-log".into())
            .spawn(move || read_nflog(log));
        if let Err(e) = spawned {
            set_reading(false, Some(format!("starting the log reader: {e}")));
        }
    }
    #[cfg(target_os = "macos")]
    {
        let spawned = std::thread::Builder::new()
            .name("blocked-log".into())
            .spawn(move || read_pflog(log));
        if let Err(e) = spawned {
            set_reading(false, Some(format!("starting the log reader: {e}")));
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = log;
        set_reading(
            false,
            Some("reading blocked packets is not implemented on this platform yet".into()),
        );
    }
}

#[cfg(target_os = "linux")]
fn read_nflog(log: BlockLog) {
    use airlock_shared::blocked::nflog::Message;
    let mut sock = match nflog_linux::NflogSocket::open(log.group, log.snaplen) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("blocked list unavailable: {e}");
            set_reading(false, Some(e.to_string()));
            return;
        }
    };
    // The open's acknowledgements needed a timeout; the reader does not:
    // a read that returns every few seconds with nothing is a wakeup of
    // an idle laptop for nothing.
    if let Err(e) = sock.set_timeout(std::time::Duration::ZERO) {
        tracing::warn!("blocked list: cannot wait without a timeout ({e}); polling instead");
    }
    set_reading(true, None);
    loop {
        match sock.read() {
            Ok(messages) => {
                for m in messages {
                    if let Ok(Message::Packet(mut p)) = m {
                        name_interface(&mut p.event);
                        record(&p.event);
                    }
                }
            }
            Err(e) => {
                tracing::warn!("blocked list stopped: {e}");
                set_reading(false, Some(e.to_string()));
                return;
            }
        }
    }
}

/// Reads `pflog0` for as long as the helper runs: while it does not exist
/// (kill switch off) the reader waits and says so; when it goes away the
/// reader goes back to waiting.
#[cfg(target_os = "macos")]
fn read_pflog(log: BlockLog) {
    use std::collections::HashMap;
    use std::time::Duration;

    use airlock_shared::blocked::bpf;
    use airlock_shared::render::pf::ANCHOR_NAME;
    use pflog_macos::{PflogBpf, PflogReadError};

    let cfg = bpf::ReaderConfig::new(log.snaplen);
    let Some(filter) = bpf::pflog_filter(ANCHOR_NAME, cfg.snaplen) else {
        set_reading(
            false,
            Some(format!("cannot filter pflog records for {ANCHOR_NAME}")),
        );
        return;
    };
    // pid -> process name; bounded, and emptied when full, so a flood from
    // many short-lived processes costs at most one lookup per new pid.
    let mut names: HashMap<u32, Option<String>> = HashMap::new();
    loop {
        let mut dev = match PflogBpf::open(&cfg, &filter) {
            Ok(d) => d,
            Err(e) => {
                if !matches!(e, PflogReadError::NoInterface) {
                    tracing::warn!("blocked list unavailable: {e}");
                }
                set_reading(false, Some(e.to_string()));
                std::thread::sleep(Duration::from_secs(2));
                continue;
            }
        };
        set_reading(true, None);
        loop {
            let batch = match dev.read() {
                Ok(buf) => bpf::events_from_bpf(buf, ANCHOR_NAME),
                Err(e) => {
                    if !matches!(e, PflogReadError::Gone) {
                        tracing::warn!("blocked list interrupted: {e}");
                    }
                    set_reading(false, Some(e.to_string()));
                    break;
                }
            };
            for mut event in batch.events {
                if let Some(pid) = event.sender.pid {
                    if names.len() >= 256 {
                        names.clear();
                    }
                    event.sender.process = names
                        .entry(pid)
                        .or_insert_with(|| pflog_macos::process_name(pid))
                        .clone();
                }
                record(&event);
            }
        }
    }
}
