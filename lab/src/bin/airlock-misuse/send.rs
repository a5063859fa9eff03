//! The Linux sockets behind `airlock-misuse` (see `main.rs`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use airlock_lab::probes::checksum;
use anyhow::{anyhow, bail, Context, Result};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};

/// Runs the mode the arguments name; the line to print.
pub fn run() -> Result<String> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or_else(|| anyhow!("no mode"))?;
    let rest: Vec<String> = args.collect();
    let opts = options(&rest)?;
    match mode.as_str() {
        "udp" => udp(&opts),
        "tcp" => tcp(&opts),
        "join" => join(&opts),
        "icmpv6" => icmpv6(&opts),
        "igmp" => igmp(&opts),
        other => bail!("unknown mode {other}"),
    }
}

/// `--key value` pairs.
fn options(rest: &[String]) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    let mut it = rest.iter();
    while let Some(k) = it.next() {
        let key = k
            .strip_prefix("--")
            .ok_or_else(|| anyhow!("expected --option, got {k}"))?;
        let v = it.next().ok_or_else(|| anyhow!("--{key} needs a value"))?;
        out.insert(key.to_string(), v.clone());
    }
    Ok(out)
}

fn get<'a>(o: &'a HashMap<String, String>, key: &str) -> Result<&'a str> {
    o.get(key)
        .map(String::as_str)
        .ok_or_else(|| anyhow!("--{key} is required"))
}

fn ifindex(dev: &str) -> Result<u32> {
    nix::net::if_::if_nametoindex(dev).with_context(|| format!("no interface {dev}"))
}

/// Link-local and link-scope multicast IPv6 addresses need the interface.
fn scoped(addr: SocketAddr, dev: Option<&str>) -> Result<SocketAddr> {
    match (addr, dev) {
        (SocketAddr::V6(a), Some(dev)) if needs_scope(a.ip()) => Ok(SocketAddr::V6(
            SocketAddrV6::new(*a.ip(), a.port(), 0, ifindex(dev)?),
        )),
        _ => Ok(addr),
    }
}

fn needs_scope(ip: &Ipv6Addr) -> bool {
    let s = ip.segments()[0];
    (s & 0xffc0) == 0xfe80 || (s & 0xff0f) == 0xff02
}

fn outcome(r: std::io::Result<usize>, what: &str) -> String {
    let uid = nix::unistd::geteuid();
    match r {
        Ok(n) => format!("sent {n} bytes {what} as uid {uid}"),
        Err(e) => format!("refused {what} as uid {uid}: {e}"),
    }
}

fn udp(o: &HashMap<String, String>) -> Result<String> {
    let dev = o.get("dev").map(String::as_str);
    let bind: SocketAddr = get(o, "bind")?.parse().context("--bind")?;
    let to: SocketAddr = get(o, "to")?.parse().context("--to")?;
    let (bind, to) = (scoped(bind, dev)?, scoped(to, dev)?);
    let domain = Domain::for_address(bind);
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).context("socket")?;
    if let IpAddr::V4(ip) = to.ip() {
        if ip.is_broadcast() {
            s.set_broadcast(true).context("SO_BROADCAST")?;
        }
    }
    if let Some(dev) = dev {
        s.bind_device(Some(dev.as_bytes()))
            .context("SO_BINDTODEVICE")?;
    }
    s.bind(&bind.into())
        .with_context(|| format!("binding {bind}"))?;
    if let Some(uid) = o.get("as") {
        drop_to(uid.parse().context("--as")?)?;
    }
    let payload = b"airlock-misuse: data through a hole";
    Ok(outcome(
        s.send_to(payload, &to.into()),
        &format!("from {bind} to {to}"),
    ))
}

/// A TCP connection attempt (the SYN is what the meter looks for); it
/// waits at most 300 ms for an answer.
fn tcp(o: &HashMap<String, String>) -> Result<String> {
    let to: SocketAddr = get(o, "to")?.parse().context("--to")?;
    let s = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))?;
    let r = s.connect_timeout(&to.into(), Duration::from_millis(300));
    let what = format!("TCP connect to {to}");
    let uid = nix::unistd::geteuid();
    Ok(match r {
        Ok(()) => format!("connected: {what} as uid {uid}"),
        Err(e) => format!("no connection: {what} as uid {uid}: {e}"),
    })
}

/// Drops root for good: no groups, then the group, then the user.
fn drop_to(uid: u32) -> Result<()> {
    use nix::unistd::{setgid, setgroups, setuid, Gid, Uid};
    setgroups(&[]).context("setgroups")?;
    setgid(Gid::from_raw(uid)).context("setgid")?;
    setuid(Uid::from_raw(uid)).context("setuid")?;
    if nix::unistd::geteuid().is_root() {
        bail!("still root after dropping to {uid}");
    }
    Ok(())
}

/// Joins a multicast group (what any program may do), which makes the
/// kernel report the membership to the link; holds it, then leaves.
fn join(o: &HashMap<String, String>) -> Result<String> {
    let dev = get(o, "dev")?;
    let group: IpAddr = get(o, "group")?.parse().context("--group")?;
    let hold: u64 = o
        .get("hold-ms")
        .map(|s| s.parse())
        .transpose()
        .context("--hold-ms")?
        .unwrap_or(300);
    let index = ifindex(dev)?;
    let s = match group {
        IpAddr::V4(g) => {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            s.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(index))
                .with_context(|| format!("joining {g} on {dev}"))?;
            s
        }
        IpAddr::V6(g) => {
            let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
            s.join_multicast_v6(&g, index)
                .with_context(|| format!("joining {g} on {dev}"))?;
            s
        }
    };
    std::thread::sleep(Duration::from_millis(hold));
    drop(s);
    Ok(format!(
        "joined {group} on {dev} for {hold} ms as uid {}",
        nix::unistd::geteuid()
    ))
}

fn icmpv6(o: &HashMap<String, String>) -> Result<String> {
    let dev = o.get("dev").map(String::as_str);
    let ty: u8 = get(o, "type")?.parse().context("--type")?;
    let hops: u32 = get(o, "hops")?.parse().context("--hops")?;
    let to: Ipv6Addr = get(o, "to")?.parse().context("--to")?;
    let target: Ipv6Addr = match o.get("target") {
        Some(t) => t.parse().context("--target")?,
        None => to,
    };
    let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6)).context("raw socket")?;
    s.set_unicast_hops_v6(hops)?;
    s.set_multicast_hops_v6(hops)?;
    let mut scope = 0;
    if let Some(dev) = dev {
        s.bind_device(Some(dev.as_bytes()))?;
        scope = ifindex(dev)?;
        s.set_multicast_if_v6(scope)?;
    }
    // The kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets.
    let mut msg = vec![ty, 0, 0, 0];
    if ty == 143 {
        // MLDv2 report: one record, CHANGE_TO_EXCLUDE for `target`.
        msg.extend_from_slice(&[0, 0, 0, 1, 4, 0, 0, 0]);
    } else {
        msg.extend_from_slice(&[0, 0, 0, 0]);
    }
    msg.extend_from_slice(&target.octets());
    let dst = SocketAddrV6::new(to, 0, 0, if needs_scope(&to) { scope } else { 0 });
    Ok(outcome(
        s.send_to(&msg, &SockAddr::from(dst)),
        &format!("ICMPv6 type {ty} hop limit {hops} to {to}"),
    ))
}

fn igmp(o: &HashMap<String, String>) -> Result<String> {
    let ttl: u32 = get(o, "ttl")?.parse().context("--ttl")?;
    let to: Ipv4Addr = get(o, "to")?.parse().context("--to")?;
    let group: Ipv4Addr = match o.get("group") {
        Some(g) => g.parse().context("--group")?,
        None => to,
    };
    let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(2))).context("raw socket")?;
    s.set_ttl_v4(ttl)?;
    s.set_multicast_ttl_v4(ttl)?;
    if let Some(dev) = o.get("dev") {
        s.bind_device(Some(dev.as_bytes()))?;
        s.set_multicast_if_v4(&iface_v4(dev)?)?;
    }
    // IGMPv2 membership report (type 0x16) for `group`.
    let mut msg = vec![0x16, 0, 0, 0];
    msg.extend_from_slice(&group.octets());
    let sum = checksum(&msg);
    msg[2..4].copy_from_slice(&sum.to_be_bytes());
    let dst = SocketAddr::new(IpAddr::V4(to), 0);
    Ok(outcome(
        s.send_to(&msg, &dst.into()),
        &format!("IGMP report TTL {ttl} to {to}"),
    ))
}

/// The first IPv4 address of `dev` (IP_MULTICAST_IF takes an address).
fn iface_v4(dev: &str) -> Result<Ipv4Addr> {
    nix::ifaddrs::getifaddrs()?
        .filter(|i| i.interface_name == dev)
        .find_map(|i| i.address?.as_sockaddr_in().map(|a| a.ip()))
        .ok_or_else(|| anyhow!("{dev} has no IPv4 address"))
}
