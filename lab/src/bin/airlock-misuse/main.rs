//! The misuser of `lab/tests/misuse.rs`: sends one packet through one of
//! the kill switch's holes, the way a local program could, and says what
//! the kernel answered. It never decides whether that was right: the leak
//! meter on the wire does.
//!
//! ```text
//! airlock-misuse udp  --bind ADDR:PORT --to ADDR:PORT [--dev IF] [--as UID]
//! airlock-misuse tcp  --to ADDR:PORT
//! airlock-misuse join --group ADDR --dev IF [--hold-ms N]
//! airlock-misuse icmpv6 --type T --hops H --to ADDR [--target ADDR] [--dev IF]
//! airlock-misuse igmp --ttl T --to ADDR [--group ADDR] [--dev IF]
//! ```
//!
//! `udp --as UID` binds as root (a privileged port such as 68 or 546) and
//! then drops to `UID` before sending: a program that got the port (on
//! macOS any program may bind it) and sends as that user would. Without
//! `--as` it runs as whoever started it (`setpriv --reuid 65534 ...`).
//! `icmpv6` and `igmp` need a raw socket (root): they show what the rules
//! themselves let through, whoever could make such packets.
//!
//! Prints one line, `sent ...` or `refused ...` (the send failed: the
//! firewall's reject is `EPERM`; for `tcp`, `connected` or `no
//! connection`), and exits 0 either way; exits 2 when it
//! could not even try (a bad argument, a bind that failed), so a test
//! can never mistake "nothing tried" for "nothing got out".

#[cfg(target_os = "linux")]
mod send;

#[cfg(target_os = "linux")]
fn main() {
    match send::run() {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("airlock-misuse: {e:#}");
            std::process::exit(2);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("airlock-misuse: the lab needs Linux (network namespaces, nftables)");
    std::process::exit(2);
}
