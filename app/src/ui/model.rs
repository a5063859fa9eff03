//! What the app knows: the helper's last real answer, the request in
//! flight, the last refusal and the login item. The menu and the icon are
//! rendered from this alone (see [`crate::ui::view`]), never from a click, so
//! a check mark cannot claim a change the helper did not make.

use airlock_client::{ClientError, ConnectFailure};
use airlock_shared::ipc::protocol::{ErrorCode, OptionName, RequestBody};
use airlock_shared::status::Status;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SetKillSwitch(bool),
    SetOption(OptionName, bool),
    Pause { seconds: u64 },
    Resume,
    ShowRules,
}

impl Action {
    pub fn request(self) -> RequestBody {
        match self {
            Action::SetKillSwitch(true) => RequestBody::Enable,
            Action::SetKillSwitch(false) => RequestBody::Disable,
            Action::SetOption(option, value) => RequestBody::SetOption { option, value },
            Action::Pause { seconds } => RequestBody::Pause { seconds },
            Action::Resume => RequestBody::Resume,
            // The first page; the worker reads the rest (`Client::rules`).
            Action::ShowRules => RequestBody::GetRules { offset: 0 },
        }
    }

    /// "Couldn't {this}: …" and "{Doing this}…" read naturally.
    pub fn infinitive(self) -> String {
        match self {
            Action::SetKillSwitch(true) => "turn on the kill switch".into(),
            Action::SetKillSwitch(false) => "turn off the kill switch".into(),
            Action::SetOption(o, v) => {
                format!(
                    "{} {}",
                    if v { "allow" } else { "stop allowing" },
                    option_words(o)
                )
            }
            Action::Pause { seconds } => format!("pause the kill switch for {}", duration(seconds)),
            Action::Resume => "resume the kill switch".into(),
            Action::ShowRules => "show the rules".into(),
        }
    }

    pub fn progressive(self) -> String {
        match self {
            Action::SetKillSwitch(true) => "Turning on the kill switch…".into(),
            Action::SetKillSwitch(false) => "Turning off the kill switch…".into(),
            Action::SetOption(o, true) => format!("Allowing {}…", option_words(o)),
            Action::SetOption(o, false) => format!("Blocking {}…", option_words(o)),
            Action::Pause { .. } => "Pausing…".into(),
            Action::Resume => "Resuming…".into(),
            Action::ShowRules => "Fetching the rules…".into(),
        }
    }
}

fn option_words(o: OptionName) -> &'static str {
    match o {
        OptionName::AllowLan => "the local network",
        OptionName::AllowAirdrop => "AirDrop",
        OptionName::AllowAirprint => "AirPrint",
        OptionName::AllowDns => "DNS outside the VPN",
        // No menu item sends it (`airlockctl set pf-restore-hook`).
        OptionName::PfRestoreHook => "the pf hook repair",
    }
}

fn duration(seconds: u64) -> String {
    match seconds {
        60 => "1 minute".into(),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// A refused or failed request, worded for the menu: what did not happen
/// and why.
pub fn refusal_text(action: Action, error: &ClientError) -> String {
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

/// Everything the view is rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub link: Link,
    /// The request in flight; one at a time, so clicks cannot race.
    pub pending: Option<Action>,
    /// The last refusal, until the next request or reconnect.
    pub refusal: Option<String>,
    pub login_item: LoginItem,
}

impl Model {
    pub fn new(login_item: LoginItem) -> Model {
        Model {
            link: Link::Connecting,
            pending: None,
            refusal: None,
            login_item,
        }
    }
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
            assert_eq!(action.request(), want);
            // Only reads may skip authorization; every toggle is a change.
            assert_eq!(
                action.request().is_mutating(),
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
            refusal_text(Action::SetKillSwitch(true), &e),
            "Couldn't turn on the kill switch: not authorized — changes need an administrator"
        );
        let e = ClientError::Remote(IpcError::new(ErrorCode::Firewall, "nft: syntax error"));
        let t = refusal_text(Action::SetOption(OptionName::AllowLan, false), &e);
        assert_eq!(
            t,
            "Couldn't stop allowing the local network: the firewall refused — nft: syntax error"
        );
        let e = ClientError::Connect {
            path: "/x".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        assert_eq!(
            refusal_text(Action::Pause { seconds: 300 }, &e),
            "Couldn't pause the kill switch for 5 minutes: the helper is not running"
        );
        let e = ClientError::Timeout {
            after: std::time::Duration::from_secs(15),
        };
        assert!(refusal_text(Action::Resume, &e).starts_with("Couldn't resume the kill switch: "));
    }
}
