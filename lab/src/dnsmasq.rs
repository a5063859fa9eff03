//! A real `dnsmasq` in the inet namespace: the network's DHCP server on the
//! client's wire and its DNS server at [`addr::RESOLVER_V4`] (and
//! [`addr::RESOLVER_V6`], for a network that names an IPv6 resolver), serving the
//! lab zone `lab.test` where [`VPN_NAME`] names the OpenVPN server. The
//! lease hands out [`addr::RESOLVER_V4`] as the resolver (not the router's
//! own address, dnsmasq's default), so a client that uses it can only have
//! learned it from the lease.
//!
//! The VPN name lives in an `addn-hosts` file: "the provider moves the
//! server" is rewriting that file and a SIGHUP, which dnsmasq answers by
//! reading it again (and saying so in its log, which [`Dnsmasq::point`]
//! waits for).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::addr::{self, INET_WIRE};
use crate::error::{LabError, Result};
use crate::netns::{Netns, Proc};

/// The lab's DNS zone; dnsmasq is authoritative for it (`local=`), so a
/// name in it that is not in the hosts file is NXDOMAIN, never forwarded.
pub const ZONE: &str = "lab.test";
/// The OpenVPN server's name in the zone.
pub const VPN_NAME: &str = "vpn.lab.test";
/// The only address the lease can hand out: the lab's usual client address.
pub const LEASE_V4: Ipv4Addr = addr::CLIENT_V4;
/// TTL of the zone's answers (dnsmasq's `local-ttl`): short, as providers
/// that move servers use, so a cache never hides a move for long.
pub const TTL_SECS: u32 = 5;

/// What dnsmasq logs once it serves.
const READY_LINE: &str = "started, version";

/// The running dnsmasq; killed by PID when dropped.
#[derive(Debug)]
pub struct Dnsmasq {
    proc: Proc,
    hosts: PathBuf,
    leases: PathBuf,
}

/// dnsmasq's configuration (pure, so a reader can see what the lab runs).
pub fn config(hosts: &Path, leases: &Path) -> String {
    format!(
        "\
# airlock-lab network: DHCP on the client's wire, DNS at the lab resolver
keep-in-foreground
log-facility=-
log-queries
log-dhcp
user=root
pid-file=
# Only the lab zone: no /etc/resolv.conf, no /etc/hosts of this machine,
# nothing forwarded anywhere.
no-resolv
no-hosts
local=/{zone}/
addn-hosts={hosts}
local-ttl={ttl}
# DNS on the lab resolver's addresses, IPv4 and IPv6 (and the router's,
# on the wire); DHCP on the wire only.
bind-interfaces
listen-address={resolver},{resolver6}
interface={wire}
no-dhcp-interface=lo
dhcp-authoritative
# Offer at once: no ICMP check that the address is free (3 s each time).
no-ping
dhcp-range={lease},{lease},255.255.255.0,1h
dhcp-option=option:router,{router}
dhcp-option=option:dns-server,{resolver}
dhcp-leasefile={leases}
",
        zone = ZONE,
        hosts = hosts.display(),
        ttl = TTL_SECS,
        resolver = addr::RESOLVER_V4,
        resolver6 = addr::RESOLVER_V6,
        wire = INET_WIRE,
        lease = LEASE_V4,
        router = addr::ROUTER_V4,
        leases = leases.display(),
    )
}

fn hosts_text(vpn: Ipv4Addr) -> String {
    format!("{vpn} {VPN_NAME}\n")
}

impl Dnsmasq {
    /// Starts dnsmasq in `ns` with [`VPN_NAME`] at `vpn`; returns once it
    /// serves, with the time that took.
    pub fn start(ns: &Netns, dir: &Path, vpn: Ipv4Addr) -> Result<(Dnsmasq, Duration)> {
        let (conf, hosts, leases) = (
            dir.join("dnsmasq.conf"),
            dir.join("lab.hosts"),
            dir.join("dnsmasq.leases"),
        );
        write(&hosts, &hosts_text(vpn))?;
        write(&leases, "")?;
        write(&conf, &config(&hosts, &leases))?;
        let proc = Proc::spawn(
            "dnsmasq",
            ns.command(&["dnsmasq", &format!("--conf-file={}", conf.display())]),
        )?;
        let took = proc.wait_for_line(READY_LINE, Duration::from_secs(5))?;
        Ok((
            Dnsmasq {
                proc,
                hosts,
                leases,
            },
            took,
        ))
    }

    /// Points [`VPN_NAME`] at `vpn` (the provider moved the server) and
    /// returns once dnsmasq has read the new hosts file.
    pub fn point(&self, vpn: Ipv4Addr) -> Result<Duration> {
        let needle = format!("read {}", self.hosts.display());
        let seen = self.proc.count_lines(&needle);
        write(&self.hosts, &hosts_text(vpn))?;
        self.proc.signal(Signal::SIGHUP)?;
        self.proc
            .wait_for_nth_line(&needle, seen + 1, Duration::from_secs(5))
    }

    /// The leases dnsmasq has handed out (its lease file).
    pub fn leases(&self) -> String {
        std::fs::read_to_string(&self.leases).unwrap_or_default()
    }

    /// Queries dnsmasq logged for `name` so far, and from whom: lines such
    /// as `query[A] vpn.lab.test from 192.168.1.20`.
    pub fn queries_for(&self, name: &str) -> Vec<String> {
        let needle = format!("] {name} from ");
        self.proc
            .output()
            .lines()
            .filter(|l| l.contains("query[") && l.contains(&needle))
            .map(str::to_string)
            .collect()
    }

    /// Everything dnsmasq logged (for failure messages).
    pub fn log(&self) -> String {
        self.proc.output()
    }

    /// dnsmasq's PID.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(LabError::io(format!("writing {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_names_the_lab_resolver_and_the_zone_is_never_forwarded() {
        let c = config(Path::new("/d/h"), Path::new("/d/l"));
        assert!(c.contains("dhcp-option=option:dns-server,192.0.2.53\n"));
        assert!(c.contains("listen-address=192.0.2.53,2001:db8:53::53\n"));
        assert!(c.contains("dhcp-range=192.168.1.20,192.168.1.20,"));
        assert!(c.contains("no-resolv\n") && c.contains("local=/lab.test/\n"));
        assert_eq!(hosts_text(addr::VPN_SERVER), "198.51.100.7 vpn.lab.test\n");
    }
}
