//! The client's side of DHCP: a real `udhcpc` (busybox) in the client
//! namespace takes a lease from the lab's dnsmasq, and its hook script
//! configures what a distribution's would: the resolvers first (the
//! namespace's own resolv.conf), then the address and the default route.
//! Resolvers first, because the address appearing is what makes airlockd
//! read the network again, and it must find the new resolv.conf then.
//!
//! The script never writes the machine's /etc/resolv.conf: it writes
//! `/etc/netns/<client>/resolv.conf` by its full path, in place, so the
//! processes `ip netns exec` started (which see that file bind-mounted
//! on /etc/resolv.conf) see the new contents.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};
use crate::netns::Netns;

/// What the lease handed out, as the hook script recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub router: Ipv4Addr,
    /// The resolvers (DHCP option 6), in the lease's order.
    pub dns: Vec<Ipv4Addr>,
    /// From starting udhcpc to the configured address.
    pub took: Duration,
}

/// The hook udhcpc runs (`-s`): `$1` is the event, the lease is in the
/// environment (`ip`, `mask`, `router`, `dns`, `interface`).
pub fn hook_script(resolv_conf: &Path, lease_file: &Path) -> String {
    format!(
        r#"#!/bin/sh
# airlock-lab udhcpc hook: resolvers, then address and default route.
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ;;
bound|renew)
    : > '{resolv}.new'
    for d in $dns; do echo "nameserver $d" >> '{resolv}.new'; done
    # In place (cat >), not mv: the bind mounts see the same file.
    cat '{resolv}.new' > '{resolv}'
    rm -f '{resolv}.new'
    echo "ip=$ip mask=$mask router=$router dns=$dns" > '{lease}'
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    ;;
esac
exit 0
"#,
        resolv = resolv_conf.display(),
        lease = lease_file.display(),
    )
}

/// Parses the line the hook script wrote.
pub fn parse_lease(text: &str, took: Duration) -> Option<Lease> {
    let field = |key: &str| {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    };
    // `dns=a b` has spaces: everything from `dns=` to the end of the line.
    let dns = text.split_once("dns=")?.1.lines().next()?;
    Some(Lease {
        address: field("ip")?.parse().ok()?,
        prefix_len: field("mask")?.parse().ok()?,
        router: field("router")?.parse().ok()?,
        dns: dns
            .split_whitespace()
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()
            .ok()?,
        took,
    })
}

/// Takes a lease on `dev` in `client` with udhcpc (at most 5 tries of a
/// second each) and returns it once the script has configured it.
/// `resolv_conf` is the client namespace's `/etc/netns/<ns>/resolv.conf`.
pub fn obtain(client: &Netns, dev: &str, dir: &Path, resolv_conf: &Path) -> Result<Lease> {
    let script: PathBuf = dir.join("udhcpc-hook.sh");
    let lease_file = dir.join("udhcpc.lease");
    let _ = std::fs::remove_file(&lease_file);
    std::fs::write(&script, hook_script(resolv_conf, &lease_file))
        .map_err(LabError::io(format!("writing {}", script.display())))?;
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(LabError::io("making the udhcpc hook executable"))?;
    let start = Instant::now();
    let script_s = script.to_string_lossy();
    // -f foreground, -q quit once bound, -n fail if no lease, -t 5 tries
    // -T 1 s apart; -S logs to syslog too (off: stderr is enough).
    client.exec(&[
        "udhcpc", "-i", dev, "-f", "-q", "-n", "-t", "5", "-T", "1", "-s", &script_s,
    ])?;
    let took = start.elapsed();
    let text = std::fs::read_to_string(&lease_file)
        .map_err(LabError::io(format!("reading {}", lease_file.display())))?;
    parse_lease(&text, took).ok_or_else(|| LabError::Command {
        cmd: "udhcpc".into(),
        status: "no usable lease".into(),
        stderr: text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_line_is_read_back() {
        let l = parse_lease(
            "ip=192.168.1.20 mask=24 router=192.168.1.1 dns=192.0.2.53 192.0.2.54\n",
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(l.address, Ipv4Addr::new(192, 168, 1, 20));
        assert_eq!(l.prefix_len, 24);
        assert_eq!(l.router, Ipv4Addr::new(192, 168, 1, 1));
        assert_eq!(
            l.dns,
            [Ipv4Addr::new(192, 0, 2, 53), Ipv4Addr::new(192, 0, 2, 54)]
        );
        assert!(parse_lease("ip=x mask=24 router=1.1.1.1 dns=", Duration::ZERO).is_none());
    }

    #[test]
    fn the_script_writes_resolvers_before_the_address() {
        let s = hook_script(Path::new("/etc/netns/n/resolv.conf"), Path::new("/t/l"));
        let resolv = s.find("> '/etc/netns/n/resolv.conf'").unwrap();
        let address = s.find("ip addr add").unwrap();
        assert!(resolv < address);
    }
}
