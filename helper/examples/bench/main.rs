//! Helper benchmark, not a test: the real `airlockd` in a network namespace
//! of its own, measured from the outside; see [`bench`]. Linux only
//! (network namespaces, nftables, /proc): elsewhere it says so and fails.

#[cfg(target_os = "linux")]
mod bench;

#[cfg(target_os = "linux")]
fn main() -> anyhow::Result<()> {
    bench::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> anyhow::Result<()> {
    anyhow::bail!("the helper benchmark needs Linux (network namespaces, nftables, /proc)")
}
