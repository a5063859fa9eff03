//! The two threads that talk to the helper, so the UI thread never blocks
//! on a socket:
//! - the subscriber holds one `Subscribe` connection and forwards every
//!   pushed status (no polling); when the helper goes away it reports
//!   that once and reconnects with [`Backoff`];
//! - the worker sends the user's requests, one at a time, each on a fresh
//!   connection, and reports each answer.
//!
//! Both hand results to a sink that wakes the UI loop (tao's
//! `EventLoopProxy`); a sink returning `false` means the app is gone and
//! the thread ends.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use airlock_client::{Client, ClientError, ClientOptions, LoadedRules};
use airlock_shared::ipc::protocol::ResponseBody;

use crate::backoff::Backoff;
use crate::ui::model::{Action, Link, Unreachable};

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
}

/// What the worker reports for each action.
pub type Reply = (Action, Result<Answer, ClientError>);

/// Runs one action. Show Rules reads the ruleset through
/// [`Client::rules`], since a large one spans several requests (its
/// [`Action::request`] is only the first); every other action is the
/// one request it maps to.
pub fn perform(client: &mut Client, action: Action) -> Result<Answer, ClientError> {
    match action {
        Action::ShowRules => client.rules().map(Answer::Rules),
        _ => client.request(action.request()).map(Answer::Response),
    }
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
                let result = Client::connect_with(&socket, &options())
                    .and_then(|mut c| perform(&mut c, action));
                if !sink((action, result)) {
                    return;
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
        let mut client = Client::connect_with(&fake.socket, &options()).unwrap();
        match perform(&mut client, Action::ShowRules) {
            Ok(Answer::Rules(rules)) => {
                assert_eq!(rules.backend, "nft");
                assert!(rules.text == full, "not the whole ruleset");
            }
            other => panic!("{other:?}"),
        }
        drop(client);
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
}
