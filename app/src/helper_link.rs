//! The two threads that talk to the helper, so the UI thread never blocks
//! on a socket:
//! - the subscriber holds one `Subscribe` connection and forwards every
//!   pushed status (no polling); when the helper goes away it reports
//!   that once and reconnects with [`Backoff`];
//! - the worker sends the user's requests, one at a time, each on a fresh
//!   connection, and reports each answer;
//! - the blocked poller reads the "Recently Blocked" list every
//!   [`BLOCKED_POLL`] while (and only while) the helper is connected.
//!
//! Both hand results to a sink that wakes the UI loop (tao's
//! `EventLoopProxy`); a sink returning `false` means the app is gone and
//! the thread ends.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use airlock_client::{Client, ClientError, ClientOptions, LoadedRules};
use airlock_shared::blocked::BlockedReport;
use airlock_shared::endpoint::Endpoint;
use airlock_shared::import::{self, Resolve, SystemResolver};
use airlock_shared::ipc::protocol::{RequestBody, ResponseBody};
use airlock_shared::status::Status;

use crate::backoff::Backoff;
use crate::ui::model::{Action, Allowing, Failure, Link, Unreachable};

fn options() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(2),
        // Changes wait for the kernel to have the new rules.
        request_timeout: Some(Duration::from_secs(20)),
        client_name: format!("airlock {}", env!("CARGO_PKG_VERSION")),
    }
}

pub fn spawn_subscriber(
    socket: PathBuf,
    sink: impl Fn(Link) -> bool + Send + 'static,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name("airlock-subscriber".into())
        .spawn(move || subscribe_forever(&socket, &sink, thread::sleep))
}

/// The subscriber's loop, with the sleep injected so tests run fast.
pub fn subscribe_forever(
    socket: &std::path::Path,
    sink: &dyn Fn(Link) -> bool,
    sleep: impl Fn(Duration),
) {
    let mut backoff = Backoff::default();
    // Report "unreachable" only when it changes: a helper that stays down
    // must not wake the UI every few seconds.
    let mut last_down: Option<Unreachable> = None;
    loop {
        let why = match Client::connect_with(socket, &options()).and_then(Client::subscribe) {
            Ok((status, mut events)) => {
                backoff.reset();
                last_down = None;
                if !sink(Link::Connected(status)) {
                    return;
                }
                loop {
                    match events.next_event() {
                        Ok(Some(status)) => {
                            if !sink(Link::Connected(status)) {
                                return;
                            }
                        }
                        Ok(None) => break Unreachable::NotRunning,
                        Err(e) => break Unreachable::from_error(&e),
                    }
                }
            }
            Err(e) => Unreachable::from_error(&e),
        };
        if last_down.as_ref() != Some(&why) {
            if !sink(Link::Unreachable(why.clone())) {
                return;
            }
            last_down = Some(why);
        }
        sleep(backoff.next_delay());
    }
}

/// What the helper answered an action with.
#[derive(Debug)]
pub enum Answer {
    /// The answer to the action's one request.
    Response(ResponseBody),
    /// Show Rules: every page of the ruleset, assembled and checked.
    Rules(LoadedRules),
    /// An allow or a remove: the status once the kernel has the change,
    /// the servers this action added, and the helper's list after it.
    Servers {
        status: Status,
        added: Vec<Endpoint>,
        list: Vec<Endpoint>,
    },
}

/// What the worker reports for each action.
pub type Reply = (Action, Result<Answer, Failure>);

/// The servers a config names, resolved now (off the UI thread): the one
/// step of an allow that needs no helper, so a broken file is reported as
/// such before the helper is asked anything.
pub fn servers_of(allowing: &Allowing, resolver: &dyn Resolve) -> Result<Vec<Endpoint>, Failure> {
    let endpoints = match allowing {
        Allowing::Config { path, .. } => import::import_file(path, resolver)?,
        Allowing::Endpoints { endpoints, .. } => endpoints.clone(),
    };
    if endpoints.is_empty() {
        return Err(Failure::NoServers(allowing.label().to_string()));
    }
    Ok(endpoints)
}

/// Runs one action, connecting with `connect` once whatever needs no
/// helper is done. Show Rules reads the ruleset through [`Client::rules`],
/// since a large one spans several requests; an allow adds the servers,
/// turns the kill switch on if asked, and lists what is allowed after it,
/// so the menu shows the helper's list, not the app's idea of it.
pub fn perform(
    connect: impl FnOnce() -> Result<Client, ClientError>,
    action: &Action,
    resolver: &dyn Resolve,
) -> Result<Answer, Failure> {
    let added = match action {
        Action::Allow { what, .. } => Some(servers_of(what, resolver)?),
        _ => None,
    };
    let mut client = connect()?;
    let done = |client: &mut Client, body| -> Result<Status, Failure> {
        match client.request(body)? {
            ResponseBody::Done(s) | ResponseBody::Status(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    };
    let list = |client: &mut Client| -> Result<Vec<Endpoint>, Failure> {
        match client.request(RequestBody::ListEndpoints)? {
            ResponseBody::Endpoints(list) => Ok(list),
            other => Err(unexpected(&other)),
        }
    };
    match action {
        Action::ShowRules => Ok(Answer::Rules(client.rules()?)),
        Action::Allow { then_enable, .. } => {
            let added = added.unwrap_or_default();
            let mut status = done(
                &mut client,
                RequestBody::AddEndpoints {
                    endpoints: added.clone(),
                },
            )?;
            if *then_enable {
                status = done(&mut client, RequestBody::Enable)?;
            }
            let list = list(&mut client)?;
            Ok(Answer::Servers {
                status,
                added,
                list,
            })
        }
        Action::Remove { .. } | Action::AllowConnectedNow => {
            let body = action.request().ok_or_else(|| unexpected_action(action))?;
            let status = done(&mut client, body)?;
            let list = list(&mut client)?;
            Ok(Answer::Servers {
                status,
                added: Vec::new(),
                list,
            })
        }
        other => {
            let body = other.request().ok_or_else(|| unexpected_action(other))?;
            Ok(Answer::Response(client.request(body)?))
        }
    }
}

fn unexpected_action(action: &Action) -> Failure {
    Failure::Helper(ClientError::Protocol(format!(
        "{action:?} is not one request"
    )))
}

fn unexpected(body: &ResponseBody) -> Failure {
    Failure::Helper(ClientError::Protocol(format!(
        "unexpected answer from the helper: {}",
        body.kind()
    )))
}

/// Starts the worker; send it actions through the returned channel.
pub fn spawn_worker(
    socket: PathBuf,
    sink: impl Fn(Reply) -> bool + Send + 'static,
) -> std::io::Result<mpsc::Sender<Action>> {
    let (tx, rx) = mpsc::channel::<Action>();
    thread::Builder::new()
        .name("airlock-worker".into())
        .spawn(move || {
            for action in rx {
                let result = perform(
                    || Client::connect_with(&socket, &options()),
                    &action,
                    &SystemResolver,
                );
                if !sink((action, result)) {
                    return;
                }
            }
        })?;
    Ok(tx)
}

/// How often the blocked list is read while the helper is connected.
/// The helper pushes status but not the list (it changes with every
/// refused packet, so pushing it would cost the helper what the kernel's
/// rate limit saved). 3 s: someone who just tried something and opens
/// the menu sees it as if live, while a read (a snapshot of at most 256
/// rows, a few ms) every 3 s costs the helper nothing measurable; faster
/// buys nothing a person notices.
pub const BLOCKED_POLL: Duration = Duration::from_secs(3);

/// With nothing new, the UI still hears every this often, so "10 s ago"
/// ages (the menu's rows count in 10 s steps).
const BLOCKED_REFRESH: Duration = Duration::from_secs(10);

/// Whether a freshly read list goes to the UI: when it changed, or when
/// the shown one's ages are due to move on.
pub fn forward_blocked(
    last: Option<&BlockedReport>,
    new: &BlockedReport,
    since_sent: Duration,
) -> bool {
    last != Some(new) || since_sent >= BLOCKED_REFRESH
}

/// Starts the blocked poller. Tell it through the returned channel
/// whether the helper is connected (it reads only while it is); dropping
/// the channel ends it. It keeps one connection and opens a new one
/// after an error; a failed read is not shown (the status link already
/// says when the helper is gone).
pub fn spawn_blocked_poller(
    socket: PathBuf,
    sink: impl Fn(BlockedReport) -> bool + Send + 'static,
) -> std::io::Result<mpsc::Sender<bool>> {
    let (tx, rx) = mpsc::channel::<bool>();
    thread::Builder::new()
        .name("airlock-blocked".into())
        .spawn(move || {
            let mut connected = false;
            let mut client: Option<Client> = None;
            let mut last: Option<BlockedReport> = None;
            let mut sent_at = Instant::now();
            loop {
                let told = if connected {
                    match rx.recv_timeout(BLOCKED_POLL) {
                        Ok(v) => Some(v),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                } else {
                    match rx.recv() {
                        Ok(v) => Some(v),
                        Err(_) => return,
                    }
                };
                if let Some(v) = told {
                    connected = v;
                    if !connected {
                        client = None;
                        last = None;
                        continue;
                    }
                }
                let read = match client.take() {
                    Some(c) => Ok(c),
                    None => Client::connect_with(&socket, &options()),
                }
                .and_then(|mut c| c.request(RequestBody::GetBlocked).map(|r| (c, r)));
                match read {
                    Ok((c, ResponseBody::Blocked(report))) => {
                        client = Some(c);
                        if forward_blocked(last.as_ref(), &report, sent_at.elapsed()) {
                            sent_at = Instant::now();
                            last = Some(report.clone());
                            if !sink(report) {
                                return;
                            }
                        }
                    }
                    Ok((_, other)) => {
                        eprintln!("airlock: unexpected answer to GetBlocked: {}", other.kind())
                    }
                    Err(e) => eprintln!("airlock: cannot read the blocked list: {e}"),
                }
            }
        })?;
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_shared::ipc::protocol::RequestBody;
    use airlock_test_support::{status, FakeHelper};

    /// Show Rules on a ruleset larger than a frame: the worker's action
    /// reads every page, not just the one `Action::request` names.
    #[test]
    fn show_rules_reads_every_page() {
        let full: String = (0..5_000)
            .map(|i| {
                format!(
                    "\t\tip daddr 10.{}.{}.1 udp dport 1194 accept\n",
                    i / 250,
                    i % 250
                )
            })
            .collect();
        let fake = FakeHelper::in_temp_dir(status::protected());
        fake.set_rules(&full);
        let connect = || Client::connect_with(&fake.socket, &options());
        match perform(connect, &Action::ShowRules, &SystemResolver) {
            Ok(Answer::Rules(rules)) => {
                assert_eq!(rules.backend, "nft");
                assert!(rules.text == full, "not the whole ruleset");
            }
            other => panic!("{other:?}"),
        }
        // Nothing but pages was asked, the first from byte 0.
        let asked: Vec<u64> = fake
            .requests()
            .into_iter()
            .map(|r| match r {
                RequestBody::GetRules { offset } => offset,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert!(asked.len() > 1, "{asked:?}");
        assert_eq!(asked[0], 0);
    }

    #[test]
    fn the_blocked_list_goes_to_the_ui_when_it_changed_or_ages() {
        let a = BlockedReport::default();
        let b = BlockedReport {
            reading: true,
            ..BlockedReport::default()
        };
        let soon = Duration::from_secs(3);
        assert!(forward_blocked(None, &a, soon), "the first read");
        assert!(!forward_blocked(Some(&a), &a, soon), "nothing new");
        assert!(forward_blocked(Some(&a), &b, soon), "changed");
        assert!(
            forward_blocked(Some(&a), &a, BLOCKED_REFRESH),
            "ages move on"
        );
    }
}
