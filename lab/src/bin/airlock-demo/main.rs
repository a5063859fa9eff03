//! `airlock-demo`: Airlock for real, in a sandbox, in one command
//! (`sudo scripts/run`); see [`demo`]. Linux only (network namespaces,
//! nftables): elsewhere it says so and exits 1.

#[cfg(target_os = "linux")]
mod demo;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    demo::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("airlock-demo: the lab needs Linux (network namespaces, nftables)");
    std::process::ExitCode::FAILURE
}
