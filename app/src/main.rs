//! `airlock`: the tray app. `AIRLOCK_SOCKET` points it at another helper
//! socket (tests, development).

use std::process::ExitCode;

fn main() -> ExitCode {
    // A tray icon and a menu never draw with OpenGL, but GDK's X11 start-up
    // probes GLX, which maps the whole Mesa driver: under llvmpipe that is
    // libLLVM, ~55 MB of the app's ~83 MB RSS (examples/ui_bench/). Set
    // before any thread exists and before GTK starts; a user's own GDK_GL
    // wins.
    #[cfg(not(target_os = "macos"))]
    if std::env::var_os("GDK_GL").is_none() {
        std::env::set_var("GDK_GL", "disable");
    }
    let socket = airlock_shared::ipc::paths::socket_path_from_env();
    match airlock_app::run(socket) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("airlock: {e}");
            ExitCode::from(2)
        }
    }
}
