//! Talking to the helper: where its socket is, connecting, one request,
//! and every way that fails put as one sentence a user can act on.

use std::path::{Path, PathBuf};

use airlock_client::{Client, ClientError, ClientOptions, LoadedRules};
use airlock_shared::ipc::paths::{resolve_socket_path, SOCKET_ENV};
use airlock_shared::ipc::protocol::{ErrorCode, IpcError, RequestBody, ResponseBody};
use airlock_shared::platform::Platform;
use airlock_shared::status::Status;

/// `--socket`, else `AIRLOCK_SOCKET`, else the platform default.
pub fn socket_path(explicit: Option<&Path>) -> PathBuf {
    resolve_socket_path(explicit, std::env::var_os(SOCKET_ENV), Platform::current())
}

/// How to start the helper, for the "not running" message.
pub fn start_hint(platform: Platform) -> &'static str {
    match platform {
        Platform::Linux => "start it with `sudo systemctl start airlockd`",
        Platform::Macos => "open the Airlock app to install or restart it",
    }
}

/// What to tell the user about a failed exchange with the helper at `path`.
pub fn explain(error: &ClientError, path: &Path, platform: Platform) -> String {
    let shown = path.display();
    match error {
        ClientError::Connect { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => format!(
                "the Airlock helper is not running (no socket at {shown}); {}",
                start_hint(platform)
            ),
            std::io::ErrorKind::ConnectionRefused => format!(
                "the Airlock helper is not running (nothing listens on {shown}); {}",
                start_hint(platform)
            ),
            std::io::ErrorKind::PermissionDenied => format!(
                "permission denied connecting to the Airlock helper at {shown}; the socket \
                 should be connectable by everyone (mode 0666, restarting the helper resets it), \
                 or try sudo"
            ),
            _ => format!("cannot connect to the Airlock helper at {shown}: {source}"),
        },
        ClientError::Remote(e) => remote_message(e),
        other => other.to_string(),
    }
}

/// The helper's refusal as it worded it. Its messages usually start with
/// their own code ("not authorized: uid 1000 ..."); the code is added
/// only when they do not, so it is never said twice.
pub fn remote_message(e: &IpcError) -> String {
    let code = e.code.as_str();
    if e.message.starts_with(code) {
        e.message.clone()
    } else if e.code == ErrorCode::BadRequest {
        // "bad request: ..." blames the user for what is usually the
        // helper's judgement of a value (a pause too long): just say it.
        e.message.clone()
    } else {
        e.to_string()
    }
}

/// A connection to the helper, remembering where it is for messages.
pub struct Helper {
    client: Client,
    path: PathBuf,
}

impl Helper {
    pub fn connect(path: &Path) -> anyhow::Result<Helper> {
        let options = ClientOptions {
            client_name: format!("airlockctl {}", env!("CARGO_PKG_VERSION")),
            ..ClientOptions::default()
        };
        let client = Client::connect_with(path, &options)
            .map_err(|e| anyhow::anyhow!(explain(&e, path, Platform::current())))?;
        Ok(Helper {
            client,
            path: path.to_path_buf(),
        })
    }

    pub fn server(&self) -> &str {
        self.client.server()
    }

    pub fn request(&mut self, body: RequestBody) -> anyhow::Result<ResponseBody> {
        self.client
            .request(body)
            .map_err(|e| anyhow::anyhow!(explain(&e, &self.path, Platform::current())))
    }

    /// The whole loaded ruleset, read page by page and checked by
    /// [`Client::rules`]: one frame cannot hold a large one.
    pub fn rules(&mut self) -> anyhow::Result<LoadedRules> {
        self.client
            .rules()
            .map_err(|e| anyhow::anyhow!(explain(&e, &self.path, Platform::current())))
    }

    /// A request whose answer is a status (`get_status` or any change).
    pub fn status_of(&mut self, body: RequestBody) -> anyhow::Result<Status> {
        match self.request(body)? {
            ResponseBody::Status(s) | ResponseBody::Done(s) => Ok(s),
            other => Err(unexpected("a status", &other)),
        }
    }

    pub fn into_client(self) -> (Client, PathBuf) {
        (self.client, self.path)
    }
}

/// The helper answered with the wrong kind of response: a version skew
/// the handshake did not catch, or a bug. Either way, say what came.
pub fn unexpected(wanted: &str, got: &ResponseBody) -> anyhow::Error {
    anyhow::anyhow!(
        "the Airlock helper answered with {} where {wanted} was expected",
        got.kind()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn connect_error(kind: io::ErrorKind) -> ClientError {
        ClientError::Connect {
            path: PathBuf::from("/run/airlock/airlock.sock"),
            source: io::Error::from(kind),
        }
    }

    #[test]
    fn connect_failures_say_what_to_do() {
        let path = Path::new("/run/airlock/airlock.sock");
        let text = |k| explain(&connect_error(k), path, Platform::Linux);
        assert_eq!(
            text(io::ErrorKind::NotFound),
            "the Airlock helper is not running (no socket at /run/airlock/airlock.sock); \
             start it with `sudo systemctl start airlockd`"
        );
        assert!(text(io::ErrorKind::ConnectionRefused).contains("nothing listens on"));
        assert!(text(io::ErrorKind::PermissionDenied).starts_with("permission denied"));
    }

    #[test]
    fn remote_errors_name_their_code_once() {
        let e = IpcError::new(
            ErrorCode::NotAuthorized,
            "not authorized: uid 1000 is neither root nor in the `sudo` group (try sudo)",
        );
        assert_eq!(remote_message(&e), e.message);
        let e = IpcError::new(ErrorCode::Firewall, "nft: syntax error");
        assert_eq!(remote_message(&e), "firewall error: nft: syntax error");
        let e = IpcError::new(ErrorCode::BadRequest, "a pause lasts at most 24 hours");
        assert_eq!(remote_message(&e), "a pause lasts at most 24 hours");
    }
}
