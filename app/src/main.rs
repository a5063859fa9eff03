//! `airlock`: the tray app. `AIRLOCK_SOCKET` points it at another helper
//! socket (tests, development).

use std::process::ExitCode;

fn main() -> ExitCode {
    let socket = airlock::ipc::paths::socket_path_from_env();
    match airlock_app::app::run(socket) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("airlock: {e}");
            ExitCode::from(2)
        }
    }
}
