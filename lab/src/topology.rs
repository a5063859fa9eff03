//! The lab's three namespaces and the wiring between them:
//!
//! ```text
//!  guest (VM)                client (laptop)                    inet (internet + router)
//!  eth0 192.168.122.2  ---  virbr1 192.168.122.1                lo: 198.51.100.7 (VPN server)
//!       fd00:122::2              fd00:122::1                        203.0.113.80, 2001:db8:80::80 (web)
//!                           eth0 192.168.1.20    ---  to-client     192.0.2.53, 2001:db8:53::53 (resolver)
//!                                2001:db8:1::20       192.168.1.1, 2001:db8:1::1 (default gateway)
//!                           tunX 10.8.0.x / fd00:8::x (OpenVPN)     tun0 10.8.0.1 (OpenVPN server)
//!                           NAT: table inet lab_nat                 tcpdump -Q in on to-client (the meter)
//!                                                                   lo: 198.51.100.8-.15 (moved VPN servers)
//!                                                                   dnsmasq (DHCP labs): DHCP on to-client,
//!                                                                   DNS at 192.0.2.53 for lab.test
//! ```
//!
//! Addresses are from documentation ranges only. Names carry the owning PID
//! so parallel tests never collide and a later run can sweep what a killed
//! run left. Everything is torn down in `Drop`, processes first.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::addr::{self, CLIENT_WAN, GUEST_BRIDGE, INET_WIRE};
use crate::classify::Classifier;
use crate::dhcp::{self, Lease};
use crate::dnsmasq::{self, Dnsmasq};
use crate::error::{LabError, Result};
use crate::meter::{Meter, MeterConfig, MARKER};
use crate::netns::{self, Netns, Proc};
use crate::openvpn::{self, Pki, TunnelNet};
use crate::probes::{Outcome, Probe, WebConn};
use crate::web::WebServer;

/// Which namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    Inet,
    Client,
    Guest,
}

static LAB_SEQ: AtomicUsize = AtomicUsize::new(0);

/// How [`Lab::start_with`] builds the lab.
#[derive(Debug, Clone, Copy, Default)]
pub struct LabOptions {
    /// The client's IPv4 address, default route and resolvers come from a
    /// real DHCP lease ([`Lab::start_dnsmasq`], then [`Lab::dhcp_lease`])
    /// instead of being configured by the lab. IPv6 stays static.
    pub dhcp: bool,
}

/// A running lab. Processes and namespaces go away when it is dropped,
/// including while a failed assertion unwinds.
#[derive(Debug)]
pub struct Lab {
    vpn_client: Option<Proc>,
    vpn_server: Option<Proc>,
    /// The servers the provider moved to, by number (see
    /// [`addr::moved_vpn_server`]).
    vpn_servers_moved: Vec<(u8, Proc)>,
    dnsmasq: Option<Dnsmasq>,
    web: Option<WebServer>,
    extra: Vec<Proc>,
    guest: Netns,
    client: Netns,
    inet: Netns,
    pki: Option<Pki>,
    tunnel: TunnelNet,
    options: LabOptions,
    /// `/etc/netns/<client>/`, when the lab made it (DHCP): `ip netns exec`
    /// shows its resolv.conf as the client's /etc/resolv.conf.
    netns_etc: Option<std::path::PathBuf>,
    // Last: configs and certs outlive every process that reads them.
    dir: tempfile::TempDir,
}

impl Lab {
    /// Creates the namespaces and wiring and starts the web service.
    /// Fails with [`LabError::NotRoot`] / [`LabError::MissingTool`] when the
    /// machine can't host the lab (tests turn those into a skip).
    pub fn start() -> Result<Lab> {
        Lab::start_with(LabOptions::default())
    }

    /// The lab for a test, or `None` (said on stderr) when this machine
    /// cannot host it: not root, or a tool missing. Under CI (`CI=true`)
    /// that is a failure instead, so a test never passes there by
    /// skipping. Any other trouble starting the lab panics.
    pub fn start_or_skip(options: LabOptions) -> Option<Lab> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        match Lab::start_with(options) {
            Ok(lab) => Some(lab),
            Err(e @ (LabError::NotRoot | LabError::MissingTool(_))) if !ci => {
                eprintln!("SKIPPED: {e}");
                None
            }
            Err(e) => panic!("the lab cannot start (CI={ci}): {e}"),
        }
    }

    /// [`Lab::start`] with options (DHCP needs `dnsmasq` and `udhcpc`).
    pub fn start_with(options: LabOptions) -> Result<Lab> {
        if !nix::unistd::geteuid().is_root() {
            return Err(LabError::NotRoot);
        }
        let dhcp_tools: &[&str] = if options.dhcp {
            &["dnsmasq", "udhcpc"]
        } else {
            &[]
        };
        for &tool in ["ip", "nft", "tcpdump", "openvpn", "openssl", "sysctl"]
            .iter()
            .chain(dhcp_tools)
        {
            if !netns::have_tool(tool) {
                return Err(LabError::MissingTool(tool.into()));
            }
        }
        netns::sweep_stale();
        let base = format!(
            "{}{}-{}",
            netns::PREFIX,
            std::process::id(),
            LAB_SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let dir = tempfile::Builder::new()
            .prefix("airlock-lab-")
            .tempdir()
            .map_err(LabError::io("creating the lab's temp dir"))?;
        // Built in this order so that an early `?` drops what exists.
        let inet = Netns::create(&format!("{base}-inet"))?;
        let client = Netns::create(&format!("{base}-client"))?;
        let guest = Netns::create(&format!("{base}-guest"))?;
        let mut lab = Lab {
            vpn_client: None,
            vpn_server: None,
            vpn_servers_moved: Vec::new(),
            dnsmasq: None,
            web: None,
            extra: Vec::new(),
            guest,
            client,
            inet,
            pki: None,
            tunnel: TunnelNet {
                server_addr: addr::VPN_SERVER,
                port: addr::VPN_PORT,
                v4_net: "10.8.0.0".into(),
                v4_mask: "255.255.255.0",
                v6_net: "fd00:8::/64".into(),
                server_dev: "tun0".into(),
            },
            options,
            netns_etc: None,
            dir,
        };
        if options.dhcp {
            // Before anything runs in the client: the lease fills it in.
            lab.set_client_resolv_conf("")?;
        }
        lab.wire()?;
        let tcp = [
            SocketAddr::new(addr::WEB_V4.into(), addr::WEB_TCP_PORT),
            SocketAddr::new(addr::WEB_V6.into(), addr::WEB_TCP_PORT),
        ];
        let udp = [
            SocketAddr::new(addr::WEB_V4.into(), addr::WEB_UDP_PORT),
            SocketAddr::new(addr::WEB_V6.into(), addr::WEB_UDP_PORT),
        ];
        lab.web = Some(WebServer::start(&lab.inet, &tcp, &udp)?);
        Ok(lab)
    }

    fn wire(&self) -> Result<()> {
        let (inet, guest) = (self.inet.name(), self.guest.name());
        // Both veths are created inside the client namespace, so no name
        // ever exists in the host's namespace.
        self.client.ip_batch(&[
            &format!("link add {CLIENT_WAN} type veth peer name {INET_WIRE} netns {inet}"),
            &format!("link add {GUEST_BRIDGE} type veth peer name eth0 netns {guest}"),
        ])?;
        self.inet.ip_batch(&[
            &format!("addr add {}/32 dev lo", addr::VPN_SERVER),
            &format!("addr add {}/32 dev lo", addr::WEB_V4),
            &format!("addr add {}/128 dev lo", addr::WEB_V6),
            &format!("addr add {}/32 dev lo", addr::RESOLVER_V4),
            &format!("addr add {}/128 dev lo", addr::RESOLVER_V6),
            &format!("addr add {}/24 dev {INET_WIRE}", addr::ROUTER_V4),
            &format!("addr add {}/64 dev {INET_WIRE}", addr::ROUTER_V6),
            &format!("link set {INET_WIRE} up"),
        ])?;
        let moved: Vec<String> = (1..=addr::MOVED_VPN_SERVERS)
            .map(|n| format!("addr add {}/32 dev lo", addr::moved_vpn_server(n)))
            .collect();
        self.inet
            .ip_batch(&moved.iter().map(String::as_str).collect::<Vec<_>>())?;
        self.client.sysctl(&[
            ("net.ipv4.ip_forward", "1"),
            ("net.ipv6.conf.all.forwarding", "1"),
        ])?;
        self.client.ip_batch(&[
            &format!("addr add {}/64 dev {CLIENT_WAN}", addr::CLIENT_V6),
            &format!("addr add {}/24 dev {GUEST_BRIDGE}", addr::GUEST_GW_V4),
            &format!("addr add {}/64 dev {GUEST_BRIDGE}", addr::GUEST_GW_V6),
            &format!("link set {CLIENT_WAN} up"),
            &format!("link set {GUEST_BRIDGE} up"),
            &format!("route add default via {} dev {CLIENT_WAN}", addr::ROUTER_V6),
        ])?;
        if !self.options.dhcp {
            self.client.ip_batch(&[
                &format!("addr add {}/24 dev {CLIENT_WAN}", addr::CLIENT_V4),
                &format!("route add default via {} dev {CLIENT_WAN}", addr::ROUTER_V4),
            ])?;
        }
        self.guest.ip_batch(&[
            &format!("addr add {}/24 dev eth0", addr::GUEST_V4),
            &format!("addr add {}/64 dev eth0", addr::GUEST_V6),
            "link set eth0 up",
            &format!("route add default via {} dev eth0", addr::GUEST_GW_V4),
            &format!("route add default via {} dev eth0", addr::GUEST_GW_V6),
        ])?;
        // The guest's NAT lives in its own table so it never touches (nor
        // is touched by) Airlock's `table inet airlock`.
        self.client
            .exec_with_input(&["nft", "-f", "-"], Some(&nat_ruleset()))?;
        Ok(())
    }

    /// The namespace `which`.
    pub fn ns(&self, which: Ns) -> &Netns {
        match which {
            Ns::Inet => &self.inet,
            Ns::Client => &self.client,
            Ns::Guest => &self.guest,
        }
    }

    /// Scratch directory of this lab (certs, configs); removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Loads the guest's NAT table again: a scenario that runs `nft flush
    /// ruleset` in the client (tamper) takes it with Airlock's table.
    pub fn reload_nat(&self) -> Result<()> {
        self.client
            .exec_with_input(&["nft", "-f", "-"], Some(&nat_ruleset()))
            .map(drop)
    }

    /// Runs a command in the client namespace; its stdout.
    pub fn client_exec(&self, argv: &[&str]) -> Result<String> {
        self.client.exec(argv)
    }

    /// Runs a command in the guest namespace; its stdout.
    pub fn guest_exec(&self, argv: &[&str]) -> Result<String> {
        self.guest.exec(argv)
    }

    /// Runs a command in the inet namespace; its stdout.
    pub fn inet_exec(&self, argv: &[&str]) -> Result<String> {
        self.inet.exec(argv)
    }

    /// A command prepared to run in `which` (for callers that need to set
    /// env or args before [`Lab::spawn`]).
    pub fn command(&self, which: Ns, argv: &[&str]) -> Command {
        self.ns(which).command(argv)
    }

    /// Starts a long-running process (airlockd, iperf3 -s) in `which`,
    /// owned by the lab: killed by PID before the namespaces go. Returns
    /// its index for [`Lab::process`] and [`Lab::kill_process`].
    pub fn spawn(&mut self, label: &str, cmd: Command) -> Result<usize> {
        self.extra.push(Proc::spawn(label, cmd)?);
        Ok(self.extra.len() - 1)
    }

    /// [`Lab::spawn`] of `argv` in namespace `which`.
    pub fn spawn_in(&mut self, which: Ns, label: &str, argv: &[&str]) -> Result<usize> {
        let cmd = self.command(which, argv);
        self.spawn(label, cmd)
    }

    /// A process started with [`Lab::spawn`] (for its log, PID, signals).
    pub fn process(&self, index: usize) -> Option<&Proc> {
        self.extra.get(index)
    }

    /// Sends `signal` to a process from [`Lab::spawn`] and waits for its
    /// exit (SIGKILL after `grace`). The slot stays, its process gone.
    pub fn kill_process(&mut self, index: usize, signal: Signal, grace: Duration) {
        if let Some(p) = self.extra.get_mut(index) {
            let _ = p.signal(signal);
            let start = Instant::now();
            while p.is_running() && start.elapsed() < grace {
                std::thread::sleep(Duration::from_millis(10));
            }
            if p.is_running() {
                let _ = p.signal(Signal::SIGKILL);
            }
        }
    }

    fn pki(&mut self) -> Result<Pki> {
        if let Some(pki) = &self.pki {
            return Ok(pki.clone());
        }
        let pki = openvpn::generate_pki(self.dir.path())?;
        self.pki = Some(pki.clone());
        Ok(pki)
    }

    /// Generates certificates and starts the OpenVPN server in inet;
    /// returns once it is listening.
    pub fn start_vpn_server(&mut self) -> Result<Duration> {
        let start = Instant::now();
        let pki = self.pki()?;
        let conf = self.dir.path().join("server.conf");
        write(&conf, &openvpn::server_config(&pki, &self.tunnel))?;
        let server = Proc::spawn(
            "openvpn server",
            self.inet
                .command(&["openvpn", "--config", &conf.to_string_lossy()]),
        )?;
        server.wait_for_line(openvpn::READY_LINE, Duration::from_secs(10))?;
        self.vpn_server = Some(server);
        Ok(start.elapsed())
    }

    /// Starts the provider's OpenVPN server number `n` (1 to
    /// [`addr::MOVED_VPN_SERVERS`]) at [`addr::moved_vpn_server`]`(n)`, with
    /// its own device (`tun<n>`) and pools (`10.<8+n>.0.0/24`,
    /// `fd00:<8+n>::/64`) and the same CA; returns once it is listening.
    pub fn start_moved_vpn_server(&mut self, n: u8) -> Result<Duration> {
        let start = Instant::now();
        if !(1..=addr::MOVED_VPN_SERVERS).contains(&n) || self.moved_slot(n).is_some() {
            return Err(LabError::Command {
                cmd: format!("start_moved_vpn_server({n})"),
                status: "no such server, or already running".into(),
                stderr: String::new(),
            });
        }
        let pki = self.pki()?;
        let net = TunnelNet {
            server_addr: addr::moved_vpn_server(n),
            port: addr::VPN_PORT,
            v4_net: format!("10.{}.0.0", 8 + n),
            v4_mask: "255.255.255.0",
            v6_net: format!("fd00:{}::/64", 8 + n),
            server_dev: format!("tun{n}"),
        };
        let conf = self.dir.path().join(format!("server-moved-{n}.conf"));
        write(&conf, &openvpn::server_config(&pki, &net))?;
        let server = Proc::spawn(
            &format!("openvpn server (moved, {n})"),
            self.inet
                .command(&["openvpn", "--config", &conf.to_string_lossy()]),
        )?;
        server.wait_for_line(openvpn::READY_LINE, Duration::from_secs(10))?;
        self.vpn_servers_moved.push((n, server));
        Ok(start.elapsed())
    }

    fn moved_slot(&self, n: u8) -> Option<usize> {
        self.vpn_servers_moved.iter().position(|(m, _)| *m == n)
    }

    /// Stops the first OpenVPN server with `signal` (SIGTERM: it tells its
    /// clients first) and waits for it to exit (SIGKILL after 5 s).
    pub fn stop_vpn_server(&mut self, signal: Signal) {
        if let Some(server) = self.vpn_server.take() {
            server.stop(signal, Duration::from_secs(5));
        }
    }

    /// Takes the first server's process out of the lab, still running, so
    /// a scenario can signal it at a measured instant (and drop it, which
    /// kills it by PID, when done).
    pub fn take_vpn_server(&mut self) -> Option<Proc> {
        self.vpn_server.take()
    }

    /// [`Lab::take_vpn_server`] for moved server number `n`.
    pub fn take_moved_vpn_server(&mut self, n: u8) -> Option<Proc> {
        let i = self.moved_slot(n)?;
        Some(self.vpn_servers_moved.swap_remove(i).1)
    }

    /// Writes a client config for device `dev` that names its server
    /// ([`dnsmasq::VPN_NAME`]) instead of an address; its path, for
    /// `airlockctl endpoints import` and [`Lab::spawn_vpn_client_config`].
    pub fn named_client_config(&mut self, dev: &str) -> Result<std::path::PathBuf> {
        let pki = self.pki()?;
        let conf = self.dir.path().join(format!("client-named-{dev}.conf"));
        write(
            &conf,
            &openvpn::named_client_config(&pki, dnsmasq::VPN_NAME, addr::VPN_PORT, dev),
        )?;
        Ok(conf)
    }

    /// Starts the OpenVPN client with the config file `conf` without
    /// waiting. Replaces (kills) a running client.
    pub fn spawn_vpn_client_config(&mut self, conf: &Path) -> Result<()> {
        self.kill_vpn_client();
        self.vpn_client = Some(Proc::spawn(
            "openvpn client",
            self.client
                .command(&["openvpn", "--config", &conf.to_string_lossy()]),
        )?);
        Ok(())
    }

    /// Waits until the client has reported its tunnel up `n` times in all
    /// (the first connect is 1; each reconnect adds one).
    pub fn wait_vpn_ready_nth(&self, n: usize, timeout: Duration) -> Result<Duration> {
        let client = self.vpn_client.as_ref().ok_or_else(|| LabError::Exited {
            what: "openvpn client (never started)".into(),
            log: String::new(),
        })?;
        client.wait_for_nth_line(openvpn::READY_LINE, n, timeout)
    }

    /// Starts the network's dnsmasq (DHCP on the client's wire, DNS at
    /// [`addr::RESOLVER_V4`]) with [`dnsmasq::VPN_NAME`] at the first VPN
    /// server; returns once it serves.
    pub fn start_dnsmasq(&mut self) -> Result<Duration> {
        let (d, took) = Dnsmasq::start(&self.inet, self.dir.path(), addr::VPN_SERVER)?;
        self.dnsmasq = Some(d);
        Ok(took)
    }

    /// The running dnsmasq ([`Lab::start_dnsmasq`]).
    pub fn dnsmasq(&self) -> Option<&Dnsmasq> {
        self.dnsmasq.as_ref()
    }

    /// Takes a DHCP lease on the client's wire with udhcpc (lab started
    /// with [`LabOptions::dhcp`], dnsmasq running): address, default route
    /// and the client's resolv.conf come from it.
    pub fn dhcp_lease(&self) -> Result<Lease> {
        let etc = self.netns_etc.as_ref().ok_or_else(|| LabError::Command {
            cmd: "dhcp_lease".into(),
            status: "the lab was not started with LabOptions { dhcp: true }".into(),
            stderr: String::new(),
        })?;
        dhcp::obtain(
            &self.client,
            CLIENT_WAN,
            self.dir.path(),
            &etc.join("resolv.conf"),
        )
    }

    /// Writes the client's resolv.conf (`/etc/netns/<client>/resolv.conf`,
    /// removed with the lab), in place once it exists: what a DHCP client
    /// or NetworkManager does, with no routing message to announce it.
    /// `ip netns exec` binds the file at exec time, and only if it exists
    /// then: processes started before the first call see the machine's.
    pub fn set_client_resolv_conf(&mut self, text: &str) -> Result<()> {
        let etc = match &self.netns_etc {
            Some(etc) => etc.clone(),
            None => {
                let etc = std::path::PathBuf::from("/etc/netns").join(self.client.name());
                std::fs::create_dir_all(&etc)
                    .map_err(LabError::io(format!("creating {}", etc.display())))?;
                self.netns_etc = Some(etc.clone());
                etc
            }
        };
        write(&etc.join("resolv.conf"), text)
    }

    /// The client's resolv.conf as its processes see it (DHCP labs).
    pub fn client_resolv_conf(&self) -> String {
        self.netns_etc
            .as_ref()
            .and_then(|e| std::fs::read_to_string(e.join("resolv.conf")).ok())
            .unwrap_or_default()
    }

    /// Starts the OpenVPN client on tunnel device `dev` without waiting
    /// (for "connects through the kill switch": call
    /// [`Lab::wait_vpn_ready`] next). Replaces (kills) a running client.
    pub fn spawn_vpn_client(&mut self, dev: &str) -> Result<()> {
        let pki = self.pki()?;
        let conf = self.dir.path().join(format!("client-{dev}.conf"));
        write(&conf, &openvpn::client_config(&pki, &self.tunnel, dev))?;
        self.spawn_vpn_client_config(&conf)
    }

    /// Waits until the client's tunnel is up with its routes in place.
    pub fn wait_vpn_ready(&self, timeout: Duration) -> Result<Duration> {
        let client = self.vpn_client.as_ref().ok_or_else(|| LabError::Exited {
            what: "openvpn client (never started)".into(),
            log: String::new(),
        })?;
        client.wait_for_line(openvpn::READY_LINE, timeout)
    }

    /// Connects the VPN on device `dev` and returns the connect time: from
    /// starting the client to OpenVPN reporting routes and addresses set.
    pub fn connect_vpn(&mut self, dev: &str) -> Result<Duration> {
        let start = Instant::now();
        self.spawn_vpn_client(dev)?;
        self.wait_vpn_ready(Duration::from_secs(20))?;
        Ok(start.elapsed())
    }

    /// SIGKILLs the OpenVPN client (by PID) and reaps it: the tunnel
    /// device and its routes vanish without OpenVPN cleaning up, as in a
    /// crash. No-op without a client.
    pub fn kill_vpn_client(&mut self) {
        drop(self.vpn_client.take());
    }

    /// Stops the OpenVPN client the polite way (SIGTERM: it removes its
    /// routes and tells the server).
    pub fn disconnect_vpn(&mut self) {
        if let Some(client) = self.vpn_client.take() {
            client.stop(Signal::SIGTERM, Duration::from_secs(3));
        }
    }

    /// PIDs of every process the lab owns right now (VPN server and
    /// client, [`Lab::spawn`]ed ones), for "nothing left behind" checks.
    pub fn process_ids(&self) -> Vec<u32> {
        self.vpn_server
            .iter()
            .chain(self.vpn_servers_moved.iter().map(|(_, p)| p))
            .chain(&self.vpn_client)
            .chain(&self.extra)
            .map(Proc::pid)
            .chain(self.dnsmasq.iter().map(Dnsmasq::pid))
            .collect()
    }

    /// The client's OpenVPN output so far (for failure messages).
    pub fn vpn_client_log(&self) -> String {
        self.vpn_client
            .as_ref()
            .map(Proc::output)
            .unwrap_or_default()
    }

    /// The server's OpenVPN output so far.
    pub fn vpn_server_log(&self) -> String {
        self.vpn_server
            .as_ref()
            .map(Proc::output)
            .unwrap_or_default()
    }

    /// Moved server `n`'s OpenVPN output so far.
    pub fn moved_vpn_server_log(&self, n: u8) -> String {
        self.moved_slot(n)
            .map(|i| self.vpn_servers_moved[i].1.output())
            .unwrap_or_default()
    }

    /// Starts the leak meter on the client's wire; returns when tcpdump is
    /// listening. Stop it with [`Meter::stop`] to get the [`crate::Capture`].
    pub fn meter_start(&self) -> Result<Meter> {
        Meter::start(
            &self.inet,
            MeterConfig {
                capture_iface: INET_WIRE.into(),
                marker_ns: self.client.name().into(),
                marker_dev: CLIENT_WAN.into(),
                classifier: Classifier {
                    // Every address the lab may run a VPN server on.
                    vpn_endpoints: std::iter::once(self.tunnel.server_addr)
                        .chain((1..=addr::MOVED_VPN_SERVERS).map(addr::moved_vpn_server))
                        .map(|a| SocketAddr::new(a.into(), addr::VPN_PORT))
                        .collect(),
                    marker: MARKER.to_vec(),
                },
            },
        )
    }

    /// Runs `probe` from namespace `from` (client or guest).
    pub fn probe(&self, from: Ns, probe: &Probe, timeout: Duration) -> Result<Outcome> {
        self.ns(from).enter(|| probe.run(timeout))
    }

    /// Opens a TCP connection to the web service from `from`, which stays
    /// open (see [`WebConn`]); the socket lives in `from`'s namespace.
    pub fn web_connect(&self, from: Ns, ip: IpAddr, timeout: Duration) -> Result<WebConn> {
        let dst = SocketAddr::new(ip, addr::WEB_TCP_PORT);
        self.ns(from)
            .enter(|| WebConn::open(dst, timeout))?
            .map_err(LabError::io(format!("connecting to the web service {dst}")))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Processes before namespaces; `Netns::drop` also kills whatever
        // else is still inside by PID.
        self.kill_vpn_client();
        drop(self.vpn_server.take());
        self.vpn_servers_moved.clear();
        drop(self.dnsmasq.take());
        self.extra.clear();
        drop(self.web.take());
        if let Some(etc) = self.netns_etc.take() {
            let _ = std::fs::remove_dir_all(etc);
        }
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(LabError::io(format!("writing {}", path.display())))
}

/// The guest's masquerade, out of eth0 and out of any tunnel.
fn nat_ruleset() -> String {
    format!(
        "\
table inet lab_nat {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr {v4}/24 oifname != \"{br}\" masquerade
        ip6 saddr {v6}/64 oifname != \"{br}\" masquerade
    }}
}}
",
        v4 = Ipv4Addr::new(192, 168, 122, 0),
        v6 = Ipv6Addr::new(0xfd00, 0x122, 0, 0, 0, 0, 0, 0),
        br = GUEST_BRIDGE,
    )
}
