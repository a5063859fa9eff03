//! What the app knows: the helper's last real answer, the request in
//! flight, the last refusal and the login item. The menu and the icon are
//! rendered from this alone (see [`crate::ui::view`]), never from a click, so
//! a check mark cannot claim a change the helper did not make.

use std::path::PathBuf;

use airlock_client::{ClientError, ConnectFailure};
use airlock_shared::blocked::suggest::{self, Suggestion};
use airlock_shared::blocked::BlockedReport;
use airlock_shared::endpoint::Endpoint;
use airlock_shared::import::ImportError;
use airlock_shared::ipc::protocol::{ErrorCode, OptionName, RequestBody};
use airlock_shared::status::{KillSwitch, Protection, Status};

use crate::ui::protection_test::ProtectionTest;
use crate::ui::servers::{FoundConnection, Ledger, Source};

/// The connection to the helper as the subscription thread last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Before the first answer (the first connect is under a second).
    Connecting,
    Connected(Status),
    Unreachable(Unreachable),
}

impl Link {
    pub fn status(&self) -> Option<&Status> {
        match self {
            Link::Connected(s) => Some(s),
            _ => None,
        }
    }
}

/// Why there is no status, in terms the user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// No socket or nobody listening: not installed, or not running.
    NotRunning,
    PermissionDenied,
    /// App and helper from different releases.
    VersionMismatch(String),
    Other(String),
}

impl Unreachable {
    pub fn from_error(error: &ClientError) -> Unreachable {
        match error {
            ClientError::VersionMismatch(m) => Unreachable::VersionMismatch(m.clone()),
            // The helper went away mid-stream: stopped or restarting.
            ClientError::Disconnected => Unreachable::NotRunning,
            e => match e.connect_failure() {
                Some(ConnectFailure::NotRunning) => Unreachable::NotRunning,
                Some(ConnectFailure::PermissionDenied) => Unreachable::PermissionDenied,
                _ => Unreachable::Other(e.to_string()),
            },
        }
    }
}

/// A change or query the user asked the helper for from the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    SetKillSwitch(bool),
    SetOption(OptionName, bool),
    Pause {
        seconds: u64,
    },
    Resume,
    ShowRules,
    /// Let a VPN's servers through, then (from the "no VPN server"
    /// question) turn the kill switch on.
    Allow {
        what: Allowing,
        then_enable: bool,
    },
    /// Take an entry of the allowed list away.
    Remove {
        label: String,
        endpoints: Vec<Endpoint>,
    },
    /// A read: the allowed list, after the helper's count changed.
    ListEndpoints,
    /// Have the helper learn the server of the tunnel up now.
    AllowConnectedNow,
}

/// What "allow" is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowing {
    /// A config file (found on disk, or picked): read and resolved by the
    /// worker, off the UI thread, then added.
    Config {
        label: String,
        path: PathBuf,
        source: Source,
    },
    /// Servers already known (the connected VPN's).
    Endpoints {
        label: String,
        endpoints: Vec<Endpoint>,
        source: Source,
    },
}

impl Allowing {
    pub fn label(&self) -> &str {
        match self {
            Allowing::Config { label, .. } | Allowing::Endpoints { label, .. } => label,
        }
    }

    pub fn source(&self) -> &Source {
        match self {
            Allowing::Config { source, .. } | Allowing::Endpoints { source, .. } => source,
        }
    }
}

impl Action {
    /// The one request this action is, when it is one: Show Rules is its
    /// first page (the worker reads the rest), allowing a config needs the
    /// file read first, and an allow that turns the kill switch on is two.
    pub fn request(&self) -> Option<RequestBody> {
        Some(match self {
            Action::SetKillSwitch(true) => RequestBody::Enable,
            Action::SetKillSwitch(false) => RequestBody::Disable,
            Action::SetOption(option, value) => RequestBody::SetOption {
                option: *option,
                value: *value,
            },
            Action::Pause { seconds } => RequestBody::Pause { seconds: *seconds },
            Action::Resume => RequestBody::Resume,
            Action::ShowRules => RequestBody::GetRules { offset: 0 },
            Action::Allow {
                what: Allowing::Endpoints { endpoints, .. },
                then_enable: false,
            } => RequestBody::AddEndpoints {
                endpoints: endpoints.clone(),
            },
            Action::Allow { .. } => return None,
            Action::Remove { endpoints, .. } => RequestBody::RemoveEndpoints {
                endpoints: endpoints.clone(),
            },
            Action::ListEndpoints => RequestBody::ListEndpoints,
            Action::AllowConnectedNow => RequestBody::LearnEndpoints,
        })
    }

    /// A read the user did not ask for: neither freezes the menu nor
    /// shows "…ing" or a refusal.
    pub fn is_background(&self) -> bool {
        matches!(self, Action::ListEndpoints)
    }

    /// "Couldn't {this}: …" and "{Doing this}…" read naturally.
    pub fn infinitive(&self) -> String {
        match self {
            Action::SetKillSwitch(true) => "turn on the kill switch".into(),
            Action::SetKillSwitch(false) => "turn off the kill switch".into(),
            Action::SetOption(o, v) => {
                format!(
                    "{} {}",
                    if *v { "allow" } else { "stop allowing" },
                    option_words(*o)
                )
            }
            Action::Pause { seconds } => {
                format!("pause the kill switch for {}", duration(*seconds))
            }
            Action::Resume => "resume the kill switch".into(),
            Action::ShowRules => "show the rules".into(),
            Action::Allow {
                what,
                then_enable: false,
            } => format!("allow {}", what.label()),
            Action::Allow {
                what,
                then_enable: true,
            } => format!("allow {} and turn on the kill switch", what.label()),
            Action::Remove { label, .. } => format!("remove {label}"),
            Action::ListEndpoints => "list the allowed VPN servers".into(),
            Action::AllowConnectedNow => "allow the server of the VPN connected now".into(),
        }
    }

    pub fn progressive(&self) -> String {
        match self {
            Action::SetKillSwitch(true) => "Turning on the kill switch…".into(),
            Action::SetKillSwitch(false) => "Turning off the kill switch…".into(),
            Action::SetOption(o, true) => format!("Allowing {}…", option_words(*o)),
            Action::SetOption(o, false) => format!("Blocking {}…", option_words(*o)),
            Action::Pause { .. } => "Pausing…".into(),
            Action::Resume => "Resuming…".into(),
            Action::ShowRules => "Fetching the rules…".into(),
            Action::Allow { what, .. } => format!("Allowing {}…", what.label()),
            Action::Remove { label, .. } => format!("Removing {label}…"),
            Action::ListEndpoints => "Listing the allowed VPN servers…".into(),
            Action::AllowConnectedNow => "Allowing the server of the VPN connected now…".into(),
        }
    }
}

fn option_words(o: OptionName) -> &'static str {
    match o {
        OptionName::AllowLan => "the local network",
        OptionName::AllowAirdrop => "AirDrop",
        OptionName::AllowAirprint => "AirPrint",
        OptionName::AllowDns => "DNS while disconnected",
        // No menu item sends it (`airlockctl set pf-restore-hook`).
        OptionName::PfRestoreHook => "the pf hook repair",
        // Nor this one (`airlockctl set vpn-root-only`).
        OptionName::VpnRootOnly => "VPN servers for root's programs only",
    }
}

fn duration(seconds: u64) -> String {
    match seconds {
        60 => "1 minute".into(),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// Why an action did not happen: the helper's answer, or the config file
/// that could not be read before the helper was asked.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Helper(#[from] ClientError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("{0} names no VPN server")]
    NoServers(String),
}

/// A refused or failed action, worded for the menu: what did not happen
/// and why.
pub fn failure_text(action: &Action, failure: &Failure) -> String {
    match failure {
        Failure::Helper(e) => refusal_text(action, e),
        Failure::Import(e) => format!("Couldn't {}: {e}", action.infinitive()),
        Failure::NoServers(what) => format!(
            "Couldn't {}: {what} names no VPN server",
            action.infinitive()
        ),
    }
}

/// A refused or failed request, worded for the menu: what did not happen
/// and why.
pub fn refusal_text(action: &Action, error: &ClientError) -> String {
    let why = match error {
        ClientError::Remote(e) => match e.code {
            ErrorCode::NotAuthorized => format!("not authorized — {}", e.message),
            ErrorCode::Busy => format!("the helper is busy — {}", e.message),
            ErrorCode::Firewall => format!("the firewall refused — {}", e.message),
            _ => e.to_string(),
        },
        e if e.connect_failure() == Some(ConnectFailure::NotRunning) => {
            "the helper is not running".into()
        }
        e => e.to_string(),
    };
    format!("Couldn't {}: {why}", action.infinitive())
}

/// Whether the login item is registered, as read back from the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginItem {
    Enabled,
    Disabled,
    /// macOS 13+: registered, but the system will not start it until the
    /// user approves Airlock in System Settings → General → Login Items
    /// (or after they switched it off there). Not "on": it will not start.
    RequiresApproval,
    /// Cannot be read or changed here (no home directory...): why.
    Unavailable(String),
}

/// What the "VPN Servers" submenu is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Servers {
    /// The helper's list; `None` until it answered.
    pub allowed: Option<Vec<Endpoint>>,
    /// VPN connections found on this machine, allowed or not.
    pub found: Vec<FoundConnection>,
    /// Where each allowed server came from (see [`crate::ui::servers`]).
    pub ledger: Ledger,
}

impl Servers {
    /// Found connections not (fully) allowed yet, readable or not.
    pub fn not_allowed(&self) -> impl Iterator<Item = &FoundConnection> {
        let allowed = self.allowed.as_deref().unwrap_or_default();
        self.found.iter().filter(move |f| !f.is_allowed(allowed))
    }
}

/// Everything the view is rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub link: Link,
    /// The request in flight; one at a time, so clicks cannot race.
    pub pending: Option<Action>,
    /// The last refusal, until the next request or reconnect.
    pub refusal: Option<String>,
    pub login_item: LoginItem,
    pub servers: Servers,
    /// The kill switch was asked on while no VPN server is allowed and
    /// no tunnel is up: the menu asks what to do first.
    pub asking: bool,
    /// What happens next after "Install Helper…" started the install,
    /// until the helper answers.
    pub installing: Option<String>,
    /// The file dialog is open: one at a time.
    pub picking: bool,
    /// The helper's blocked list as last polled; `None` before the first
    /// answer and while the helper is not connected.
    pub blocked: Option<Blocked>,
    /// "Test Protection": running, or its last result.
    pub protection_test: Option<ProtectionTest>,
}

/// The blocked list and when it was read (app clock, Unix milliseconds;
/// "10 s ago" is counted from the helper's time of the packet to this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub report: BlockedReport,
    pub at_ms: u64,
}

impl Model {
    pub fn new(login_item: LoginItem) -> Model {
        Model {
            link: Link::Connecting,
            pending: None,
            refusal: None,
            login_item,
            servers: Servers::default(),
            asking: false,
            installing: None,
            picking: false,
            blocked: None,
            protection_test: None,
        }
    }

    /// What to suggest about what was blocked, judged against the
    /// helper's state now; none until both the list and the allowed
    /// servers are known (else an allowed server could be suggested).
    pub fn suggestions(&self) -> Vec<Suggestion> {
        let (Some(status), Some(blocked), Some(allowed)) = (
            self.link.status(),
            &self.blocked,
            self.servers.allowed.as_deref(),
        ) else {
            return Vec::new();
        };
        suggest::suggest(
            &blocked.report.entries,
            &suggest::Context {
                blocking: status.protection == Protection::Blocking,
                allow_dns: status.options.allow_dns,
                allowed,
            },
        )
    }

    /// Turning the kill switch on now would block the VPN itself: nothing
    /// allowed for it to reach its server, and no tunnel up to learn one
    /// from. (The CLI's `enable` warns on the same rule.)
    pub fn enabling_dead_ends(&self) -> bool {
        self.link.status().is_some_and(would_dead_end)
    }
}

/// `true` when the kill switch is off and turning it on would leave the
/// VPN unable to connect ([`Status::vpn_cannot_connect`]).
pub fn would_dead_end(s: &Status) -> bool {
    s.kill_switch == KillSwitch::Off && s.vpn_cannot_connect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_shared::ipc::protocol::IpcError;
    use std::io;

    #[test]
    fn every_action_maps_to_its_request() {
        let cases = [
            (Action::SetKillSwitch(true), RequestBody::Enable),
            (Action::SetKillSwitch(false), RequestBody::Disable),
            (
                Action::SetOption(OptionName::AllowLan, true),
                RequestBody::SetOption {
                    option: OptionName::AllowLan,
                    value: true,
                },
            ),
            (
                Action::Pause { seconds: 300 },
                RequestBody::Pause { seconds: 300 },
            ),
            (Action::Resume, RequestBody::Resume),
            (Action::ShowRules, RequestBody::GetRules { offset: 0 }),
        ];
        for (action, want) in cases {
            assert_eq!(action.request(), Some(want));
            // Only reads may skip authorization; every toggle is a change.
            assert_eq!(
                action.request().unwrap().is_mutating(),
                action != Action::ShowRules,
                "{action:?}"
            );
        }
    }

    #[test]
    fn unreachable_classification() {
        let connect = |kind| ClientError::Connect {
            path: "/run/airlock/airlock.sock".into(),
            source: io::Error::from(kind),
        };
        assert_eq!(
            Unreachable::from_error(&connect(io::ErrorKind::NotFound)),
            Unreachable::NotRunning
        );
        assert_eq!(
            Unreachable::from_error(&connect(io::ErrorKind::ConnectionRefused)),
            Unreachable::NotRunning
        );
        assert_eq!(
            Unreachable::from_error(&connect(io::ErrorKind::PermissionDenied)),
            Unreachable::PermissionDenied
        );
        assert_eq!(
            Unreachable::from_error(&ClientError::Disconnected),
            Unreachable::NotRunning
        );
        assert_eq!(
            Unreachable::from_error(&ClientError::VersionMismatch("1 vs 2".into())),
            Unreachable::VersionMismatch("1 vs 2".into())
        );
        assert!(matches!(
            Unreachable::from_error(&ClientError::Protocol("junk".into())),
            Unreachable::Other(m) if m.contains("junk")
        ));
    }

    #[test]
    fn refusals_say_what_did_not_happen_and_why() {
        let e = ClientError::Remote(IpcError::new(
            ErrorCode::NotAuthorized,
            "changes need an administrator",
        ));
        assert_eq!(
            refusal_text(&Action::SetKillSwitch(true), &e),
            "Couldn't turn on the kill switch: not authorized — changes need an administrator"
        );
        let e = ClientError::Remote(IpcError::new(ErrorCode::Firewall, "nft: syntax error"));
        let t = refusal_text(&Action::SetOption(OptionName::AllowLan, false), &e);
        assert_eq!(
            t,
            "Couldn't stop allowing the local network: the firewall refused — nft: syntax error"
        );
        let e = ClientError::Connect {
            path: "/x".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        assert_eq!(
            refusal_text(&Action::Pause { seconds: 300 }, &e),
            "Couldn't pause the kill switch for 5 minutes: the helper is not running"
        );
        let e = ClientError::Timeout {
            after: std::time::Duration::from_secs(15),
        };
        assert!(refusal_text(&Action::Resume, &e).starts_with("Couldn't resume the kill switch: "));
    }
}
