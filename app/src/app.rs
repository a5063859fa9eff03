//! The event loop: owns the [`Model`] and the tray, applies every event
//! (helper status, request answer, menu click) to the model, re-renders.
//!
//! The loop never polls. It sleeps in `ControlFlow::Wait` and wakes only
//! through the `EventLoopProxy` (tao's `WaitUntil` does not wake an idle
//! GTK loop), which the helper threads and muda's menu handler use. The
//! one poll is the blocked list's, on its own thread and only while the
//! helper is connected (`helper_link::BLOCKED_POLL`); it wakes the loop
//! only when the list changed, or every 10 s so its ages move on. Its
//! measured cost (ui_bench, 30 s idle, connected): 0.9 wakeups/s and
//! 0.03 % CPU, against none without it.

use std::path::PathBuf;
use std::sync::mpsc;

use airlock_client::LoadedRules;
use airlock_shared::blocked::BlockedReport;
use airlock_shared::ipc::protocol::ResponseBody;
use airlock_shared::selftest::Report;
use airlock_shared::status::Status;
use muda::{MenuEvent, MenuId};
use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoopBuilder};
use tray_icon::TrayIconEvent;

use crate::clock;
use crate::helper_install;
use crate::helper_link::{self, Answer, Reply};
use crate::login_item;
use crate::platform;
use crate::selftest_run;
use crate::ui::blocked;
use crate::ui::model::Failure;
use crate::ui::model::{failure_text, Action, Blocked, Link, Model};
use crate::ui::notify_rules;
use crate::ui::protection_test::{self, ProtectionTest};
use crate::ui::servers;
use crate::ui::show_rules;
use crate::ui::tray::Tray;
use crate::ui::view::{self, Command};
use crate::vpn_configs;

/// Everything that wakes the loop.
#[derive(Debug)]
pub enum AppEvent {
    Link(Link),
    Reply(Reply),
    Menu(MenuId),
    /// The file dialog closed: what was picked, and whether to turn the
    /// kill switch on after allowing it.
    Picked(Option<PathBuf>, bool),
    /// The blocked poller read the list.
    Blocked(BlockedReport),
    /// "Test Protection" finished.
    Tested(Result<Report, String>),
}

struct App {
    model: Model,
    /// The last status seen, kept across helper restarts, so a VPN that
    /// dropped while the helper was restarting is still announced.
    last_status: Option<Status>,
    tray: Option<Tray>,
    worker: mpsc::Sender<Action>,
    /// A background read of the allowed list is queued.
    listing: bool,
    ledger_path: Option<PathBuf>,
    /// Wakes the loop from the file dialog's thread.
    proxy: tao::event_loop::EventLoopProxy<AppEvent>,
    /// Tells the blocked poller whether the helper is connected.
    blocked_poller: mpsc::Sender<bool>,
    polling: bool,
    socket: PathBuf,
}

pub fn run(socket: PathBuf) -> anyhow::Result<()> {
    platform::preflight::check()?;
    let mut event_loop = EventLoopBuilder::<AppEvent>::with_user_event().build();
    platform::hide_dock_icon(&mut event_loop);

    let proxy = event_loop.create_proxy();
    MenuEvent::set_event_handler(Some(move |e: MenuEvent| {
        let _ = proxy.send_event(AppEvent::Menu(e.id));
    }));
    // Clicks on the icon itself open the menu natively; without a handler
    // tray-icon would queue them in a channel nobody reads.
    TrayIconEvent::set_event_handler(Some(|_| {}));

    let proxy = event_loop.create_proxy();
    let worker = helper_link::spawn_worker(socket.clone(), move |reply| {
        proxy.send_event(AppEvent::Reply(reply)).is_ok()
    })?;
    let proxy = event_loop.create_proxy();
    let blocked_poller = helper_link::spawn_blocked_poller(socket.clone(), move |report| {
        proxy.send_event(AppEvent::Blocked(report)).is_ok()
    })?;
    let proxy = event_loop.create_proxy();
    helper_link::spawn_subscriber(socket.clone(), move |link| {
        proxy.send_event(AppEvent::Link(link)).is_ok()
    })?;

    let ledger_path = vpn_configs::ledger_path();
    let mut model = Model::new(login_item::read());
    model.servers.found = vpn_configs::scan();
    model.servers.ledger = ledger_path
        .as_deref()
        .map(vpn_configs::load_ledger)
        .unwrap_or_default();
    let mut app = App {
        model,
        last_status: None,
        tray: None,
        worker,
        listing: false,
        ledger_path,
        proxy: event_loop.create_proxy(),
        blocked_poller,
        polling: false,
        socket,
    };
    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        match event {
            Event::NewEvents(StartCause::Init) => {
                // The tray must be created once the loop runs (GTK/AppKit).
                match Tray::new(&app.view()) {
                    Ok(tray) => app.tray = Some(tray),
                    Err(e) => {
                        eprintln!("airlock: {e}");
                        *control_flow = ControlFlow::ExitWithCode(1);
                    }
                }
            }
            Event::UserEvent(e) => {
                if app.handle(e) == Flow::Quit {
                    // Drop the tray first so the icon leaves the panel.
                    app.tray = None;
                    *control_flow = ControlFlow::Exit;
                } else {
                    app.render();
                }
            }
            _ => {}
        }
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

impl App {
    fn view(&self) -> view::ViewModel {
        let at = self
            .model
            .link
            .status()
            .and_then(|s| s.paused_until)
            .unwrap_or_else(clock::now_unix);
        view::render(&self.model, clock::utc_offset_at(at))
    }

    fn render(&mut self) {
        let v = self.view();
        if let Some(tray) = &mut self.tray {
            if let Err(e) = tray.apply(&v) {
                eprintln!("airlock: cannot update the tray: {e}");
            }
        }
    }

    fn handle(&mut self, event: AppEvent) -> Flow {
        match event {
            AppEvent::Link(link) => self.on_link(link),
            AppEvent::Reply((action, result)) => self.on_reply(action, result),
            AppEvent::Menu(id) => {
                let item = self.tray.as_ref().and_then(|t| t.item(&id));
                let command = item.and_then(|i| view::command_for(i, &self.model));
                if let Some(c) = command {
                    return self.on_command(c);
                }
            }
            AppEvent::Blocked(report) => {
                // A read that raced a disconnect is about a helper gone.
                if self.model.link.status().is_some() {
                    self.model.blocked = Some(Blocked {
                        report,
                        at_ms: clock::now_ms(),
                    });
                }
            }
            AppEvent::Tested(result) => {
                platform::notify(&protection_test::notification(&result));
                self.model.protection_test =
                    self.model.link.status().map(|s| ProtectionTest::Done {
                        result,
                        protection: s.protection,
                    });
            }
            AppEvent::Picked(picked, then_enable) => {
                self.model.picking = false;
                if let Some(path) = picked {
                    let action = Action::Allow {
                        what: view::imported(&path),
                        then_enable,
                    };
                    // The helper may have gone, or another change begun,
                    // while the dialog was open.
                    if self.model.link.status().is_some() && self.model.pending.is_none() {
                        self.send(action);
                    } else {
                        self.model.refusal = Some(format!(
                            "Couldn't {}: the helper is not ready; try again",
                            action.infinitive()
                        ));
                    }
                }
            }
        }
        Flow::Continue
    }

    /// Sends an action to the worker; the user's own ones freeze the menu
    /// until answered.
    fn send(&mut self, action: Action) {
        let background = action.is_background();
        if !background {
            self.model.refusal = None;
        }
        match self.worker.send(action.clone()) {
            Ok(()) if background => self.listing = true,
            Ok(()) => self.model.pending = Some(action),
            Err(_) => {
                self.model.refusal = Some(format!(
                    "Couldn't {}: internal error (worker stopped)",
                    action.infinitive()
                ))
            }
        }
    }

    /// The allowed list is read again when the helper's count of it
    /// differs from ours (a server learned, one added with airlockctl),
    /// and the connections on disk looked at again with it.
    fn refresh_servers(&mut self, status: &Status) {
        let known = self.model.servers.allowed.as_ref().map(Vec::len);
        if known != Some(status.endpoints) && !self.listing {
            self.send(Action::ListEndpoints);
        }
    }

    fn on_servers(&mut self, list: Vec<airlock_shared::endpoint::Endpoint>) {
        if servers::reconcile(&mut self.model.servers.ledger, &list) {
            self.save_ledger();
        }
        self.model.servers.allowed = Some(list);
        self.model.servers.found = vpn_configs::scan();
    }

    fn save_ledger(&self) {
        if let Some(path) = &self.ledger_path {
            if let Err(e) = vpn_configs::save_ledger(path, &self.model.servers.ledger) {
                eprintln!("airlock: cannot save {}: {e}", path.display());
            }
        }
    }

    fn on_link(&mut self, link: Link) {
        let connected = matches!(link, Link::Connected(_));
        if connected != self.polling {
            // The poller reads only while the helper is there.
            let _ = self.blocked_poller.send(connected);
            self.polling = connected;
        }
        // A result says something only about the state it was made in.
        if let Some(ProtectionTest::Done { protection, .. }) = &self.model.protection_test {
            if link.status().map(|s| s.protection) != Some(*protection) {
                self.model.protection_test = None;
            }
        }
        if let Link::Connected(new) = &link {
            if let Some(prev) = &self.last_status {
                if let Some(n) = notify_rules::decide(prev, new, clock::now_unix()) {
                    platform::notify(&n);
                }
            }
            self.last_status = Some(new.clone());
            self.model.installing = None;
        } else {
            // The refusal was about a helper that is gone, and so is its
            // list.
            self.model.refusal = None;
            self.model.servers.allowed = None;
            self.model.blocked = None;
        }
        self.model.link = link;
        if let Link::Connected(new) = &self.model.link {
            let new = new.clone();
            self.refresh_servers(&new);
        }
    }

    fn on_reply(&mut self, action: Action, result: Result<Answer, Failure>) {
        if action.is_background() {
            self.listing = false;
            match result {
                Ok(Answer::Response(ResponseBody::Endpoints(list))) => self.on_servers(list),
                Ok(other) => eprintln!("airlock: unexpected answer to the list: {other:?}"),
                // Shown as "Reading…" until the next status retries.
                Err(e) => eprintln!("airlock: cannot list the VPN servers: {e}"),
            }
            return;
        }
        self.model.pending = None;
        let failure = match result {
            Ok(Answer::Servers {
                status,
                added,
                list,
            }) => {
                match &action {
                    Action::Allow { what, .. } => servers::record(
                        &mut self.model.servers.ledger,
                        &added,
                        what.source(),
                        clock::now_unix(),
                    ),
                    // What the helper learned on request: new in its list.
                    Action::AllowConnectedNow => {
                        let before = self.model.servers.allowed.as_deref().unwrap_or_default();
                        let new = servers::newly_allowed(before, &list);
                        servers::record(
                            &mut self.model.servers.ledger,
                            &new,
                            &servers::Source::Connected,
                            clock::now_unix(),
                        );
                    }
                    _ => {}
                }
                // The list first, so the status's count matches it and
                // asks for no second read.
                self.model.servers.allowed = Some(list.clone());
                self.on_link(Link::Connected(status));
                self.on_servers(list);
                self.save_ledger();
                None
            }
            // The status with the change already in the kernel: show it
            // now rather than waiting for the pushed event.
            Ok(Answer::Response(ResponseBody::Done(status) | ResponseBody::Status(status))) => {
                self.on_link(Link::Connected(status));
                None
            }
            Ok(Answer::Rules(LoadedRules { backend, text, .. })) => {
                show_rules::write(&show_rules::rules_dir(), &backend, &text)
                    .map_err(|e| format!("cannot write the rules file: {e}"))
                    .and_then(|path| platform::open(&path))
                    .err()
                    .map(|e| format!("Couldn't {}: {e}", action.infinitive()))
            }
            Ok(_) => Some(format!(
                "Couldn't {}: unexpected answer from the helper",
                action.infinitive()
            )),
            Err(e) => Some(failure_text(&action, &e)),
        };
        if let Some(text) = &failure {
            platform::notify(&notify_rules::refused(text));
        }
        self.model.refusal = failure;
    }

    fn on_command(&mut self, command: Command) -> Flow {
        match command {
            Command::Quit => return Flow::Quit,
            Command::Helper(action) => {
                // Any answer to the question (or a change past it) ends it.
                self.model.asking = false;
                self.send(action);
            }
            Command::Ask => {
                self.model.refusal = None;
                self.model.asking = true;
                // The menu closed on the click: say it where it is seen.
                platform::notify(&notify_rules::no_server_allowed(
                    &view::render(&self.model, 0).detail.unwrap_or_default(),
                ));
            }
            Command::Dismiss => self.model.asking = false,
            Command::PickFile { then_enable } => {
                self.model.asking = false;
                self.model.picking = true;
                let proxy = self.proxy.clone();
                let spawned = std::thread::Builder::new()
                    .name("airlock-file-dialog".into())
                    .spawn(move || {
                        let picked = vpn_configs::pick_file();
                        let _ = proxy.send_event(AppEvent::Picked(picked, then_enable));
                    });
                if let Err(e) = spawned {
                    self.model.picking = false;
                    self.model.refusal = Some(format!("Couldn't open the file dialog: {e}"));
                }
            }
            Command::SetLoginItem(enabled) => {
                self.model.refusal = match login_item::set(enabled) {
                    // A note (macOS: the LaunchAgent fallback, an
                    // approval to give) uses the same line as a refusal.
                    Ok(note) => note,
                    Err(e) => {
                        let verb = if enabled { "start" } else { "stop starting" };
                        Some(format!("Couldn't {verb} Airlock at login: {e}"))
                    }
                };
                // Whatever we meant, show what is on disk now.
                self.model.login_item = login_item::read();
            }
            Command::ShowBlocked => {
                if let Some(b) = &self.model.blocked {
                    let doc = blocked::document(b, &self.model.suggestions());
                    self.model.refusal = blocked::write(&show_rules::rules_dir(), &doc)
                        .map_err(|e| format!("cannot write the list: {e}"))
                        .and_then(|path| platform::open(&path))
                        .err()
                        .map(|e| format!("Couldn't show what was blocked: {e}"));
                }
            }
            Command::TestProtection => {
                self.model.protection_test = Some(ProtectionTest::Running);
                let (proxy, socket) = (self.proxy.clone(), self.socket.clone());
                let spawned = std::thread::Builder::new()
                    .name("airlock-selftest".into())
                    .spawn(move || {
                        let result = selftest_run::run(&socket);
                        let _ = proxy.send_event(AppEvent::Tested(result));
                    });
                if let Err(e) = spawned {
                    self.model.protection_test = None;
                    self.model.refusal = Some(format!("Couldn't test protection: {e}"));
                }
            }
            Command::InstallHelper => match helper_install::run() {
                Ok(()) => {
                    self.model.refusal = None;
                    self.model.installing = Some(helper_install::NEXT_STEP.into());
                }
                Err(e) => self.model.refusal = Some(e),
            },
        }
        Flow::Continue
    }
}
