//! `ui_bench`: start-to-icon time, idle cost and reply-to-menu latency of
//! the real `airlock` binary in the UI tests' private Xvfb desktop; see
//! [`bench`]. Linux only (Xvfb, D-Bus, /proc): elsewhere it says so and
//! exits 1.

#[cfg(target_os = "linux")]
mod bench;

#[cfg(target_os = "linux")]
fn main() {
    bench::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("ui_bench: needs Linux (the UI tests' Xvfb desktop, /proc)");
    std::process::exit(1);
}
