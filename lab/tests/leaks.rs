//! The end-to-end leak suite (issue 4): the real `airlockd` (nft backend)
//! in the lab's client namespace, driven only through `airlockctl`, against
//! a real OpenVPN tunnel, with the tcpdump meter counting every packet the
//! laptop puts on the wire. Scenarios 2-13 of the issue run in sequence on
//! one lab (scenario 1, the control, is `tests/control.rs`); each has its
//! own capture and prints its leak count. The run ends with a summary table
//! and the ratios the issue asks for (printed, not asserted: they are
//! measurements of a shared, busy machine, not pass/fail facts).
//!
//! The suite fails on any leak outside the tamper window and the simulated
//! reboot's window before the helper has loaded (scenario 9). Needs root; skips
//! with a message otherwise, except under `CI=true`, where it fails.
//! Run: `cargo test -p airlock-lab --test leaks -- --nocapture`.

#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use airlock_lab::netns::{enter_by_name, Netns, PREFIX};
use airlock_lab::plumbing::Plumbing;
use airlock_lab::timed::TimedLines;
use airlock_lab::web::WebServer;
use airlock_lab::{
    addr, Airlock, Binaries, Capture, Class, Lab, LabError, LabOptions, Ns, Outcome, PacketSummary,
    Probe, WebConn, CLIENT_WAN,
};
use airlock_shared::status::{Guard, KillSwitch, Protection, Status, TunnelState};
use nix::sys::signal::Signal;

/// Probes against a kill switch fail fast (reject); this only bounds a drop.
const PROBE: Duration = Duration::from_millis(600);
/// What "within 100 ms" means for status events (the number).
const EVENT_BUDGET: Duration = Duration::from_millis(100);
/// What "back within 1 s" means for a tampered ruleset.
const RESTORE_BUDGET: Duration = Duration::from_secs(1);
const LAN_V4: Ipv4Addr = addr::ROUTER_V4;

type R<T> = std::result::Result<T, String>;

trait Ctx<T> {
    fn ctx(self, what: &str) -> R<T>;
}

impl<T> Ctx<T> for Result<T, LabError> {
    fn ctx(self, what: &str) -> R<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> R<()> {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// What a scenario hands back for the table.
struct Done {
    leaks: usize,
    note: String,
}

struct Row {
    name: &'static str,
    leaks: Option<usize>,
    pass: bool,
    note: String,
}

/// Numbers measured along the way, printed as ratios at the end.
#[derive(Default)]
struct Numbers {
    connect_off: Vec<Duration>,
    connect_on: Vec<Duration>,
    iperf_off: Option<f64>,
    iperf_on: Option<f64>,
    iperf_note: String,
    enable: Vec<Duration>,
    bare_nft: Vec<Duration>,
    /// `airlockctl status` round trips: the fixed cost in every enable.
    status_rtt: Vec<Duration>,
    enable_note: String,
}

struct Suite {
    lab: Lab,
    al: Airlock,
    rows: Vec<Row>,
    numbers: Numbers,
    /// Capture reports and notes, written out when something fails.
    log: Vec<String>,
    /// Every scenario's capture, written as pcaps when something fails.
    captures: Vec<(String, Capture)>,
}

impl Suite {
    fn run(&mut self, name: &'static str, f: fn(&mut Suite) -> R<Done>) {
        eprintln!("\n=== {name}");
        let started = Instant::now();
        let result = f(self);
        let took = started.elapsed();
        let row = match result {
            Ok(done) => {
                eprintln!(
                    "--- {name}: PASS, {} leaked packets ({took:.1?}) {}",
                    done.leaks, done.note
                );
                Row {
                    name,
                    leaks: Some(done.leaks),
                    pass: true,
                    note: done.note,
                }
            }
            Err(e) => {
                let msg = format!("scenario `{name}` FAILED: {e}");
                eprintln!("--- {msg}");
                self.log.push(msg.clone());
                Row {
                    name,
                    leaks: None,
                    pass: false,
                    note: msg,
                }
            }
        };
        self.rows.push(row);
    }

    fn capture_note(&mut self, label: &str, capture: &Capture) {
        let text = format!("[{label}] {}", capture.report());
        let mut lines = text.lines();
        for line in lines.by_ref().take(13) {
            eprintln!("    {line}");
        }
        let rest = lines.count();
        if rest > 0 {
            eprintln!("    ... {rest} more (all in the log kept on failure)");
        }
        self.log.push(text);
        self.captures.push((label.to_string(), capture.clone()));
    }

    fn ctl(&self, args: &[&str]) -> R<String> {
        self.al
            .ctl(&self.lab, args)
            .ctx(&format!("airlockctl {}", args.join(" ")))
    }

    fn status(&self) -> R<Status> {
        self.al.status(&self.lab).ctx("airlockctl status --json")
    }

    fn wait_status(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Status) -> bool,
    ) -> R<Status> {
        self.al
            .wait_status(&self.lab, what, timeout, pred)
            .map(|(s, _)| s)
            .ctx(what)
    }
}

fn start_or_skip() -> Option<Lab> {
    Lab::start_or_skip(LabOptions::default())
}

#[test]
fn end_to_end_leak_suite() {
    let started = Instant::now();
    let Some(mut lab) = start_or_skip() else {
        return;
    };
    let bins = Binaries::locate().unwrap_or_else(|e| panic!("{e}"));
    lab.start_vpn_server()
        .unwrap_or_else(|e| panic!("setup: VPN server: {e}"));
    let al = Airlock::new(&lab, bins);
    let mut s = Suite {
        lab,
        al,
        rows: Vec::new(),
        numbers: Numbers::default(),
        log: Vec::new(),
        captures: Vec::new(),
    };
    eprintln!("lab up in {:.1?}", started.elapsed());

    s.run(
        "baseline without Airlock (connect time, throughput)",
        baseline,
    );
    s.run(
        "7 connection outside the tunnel cut by enable",
        s07_enable_cuts,
    );
    s.run("2 kill switch on, tunnel down", s02_blocking);
    s.run("3 VPN connects through the kill switch", s03_connect);
    s.run("4 kill -9 OpenVPN with live TCP (client+guest)", s04_kill9);
    s.run(
        "6 reconnect on tun1 without touching Airlock",
        s06_reconnect,
    );
    s.run("5 TunnelVision route with live TCP", s05_tunnelvision);
    s.run("13 watch --json sees tunnel down/up", s13_watch);
    s.run(
        "8 airlockd SIGKILL: rules stay, restart same state",
        s08_helper_killed,
    );
    s.run(
        "9 restart with persisted state blocks before serving",
        s09_boot,
    );
    s.run("10 tamper: delete table / flush ruleset", s10_tamper);
    s.run(
        "11 allow-LAN on, then off cuts the LAN connection",
        s11_allow_lan,
    );
    s.run("12 pause 3 s re-locks by itself", s12_pause);
    s.run("enable latency vs bare nft -f", enable_latency);

    let total = started.elapsed();
    print_summary(&s, total);
    let failed: Vec<&Row> = s.rows.iter().filter(|r| !r.pass).collect();
    if !failed.is_empty() {
        let dir = keep_logs(&s);
        let names: Vec<String> = failed.iter().map(|r| r.note.clone()).collect();
        panic!(
            "{} scenario(s) failed (logs kept in {}):\n{}",
            failed.len(),
            dir.display(),
            names.join("\n")
        );
    }
}

// ---------------------------------------------------------------- helpers

fn leaky_outcomes(lab: &Lab, from: Ns) -> R<Vec<(Probe, Outcome)>> {
    Probe::leaky_set()
        .into_iter()
        .map(|p| {
            lab.probe(from, &p, PROBE)
                .map(|o| (p, o))
                .ctx(&format!("probe {p} from {from:?}"))
        })
        .collect()
}

/// Every leaky probe from `from` must fail at the sender.
fn none_answered(lab: &Lab, from: Ns) -> R<()> {
    for (p, o) in leaky_outcomes(lab, from)? {
        ensure(!matches!(o, Outcome::Answered { .. }), || {
            format!("{p} from {from:?} got an answer: {o:?}")
        })?;
    }
    Ok(())
}

fn zero_leaks(capture: &Capture, what: &str) -> R<()> {
    ensure(capture.leaks.is_empty(), || {
        format!(
            "{what}: {} packets leaked\n{}",
            capture.leaks.len(),
            capture.report()
        )
    })
}

fn seen_ip(seen_as: &str) -> Option<IpAddr> {
    seen_as.parse::<SocketAddr>().ok().map(|a| a.ip())
}

fn is_tunnel(seen_as: &str) -> bool {
    seen_ip(seen_as).is_some_and(|ip| {
        let s = ip.to_string();
        s.starts_with(addr::TUNNEL_V4_PREFIX) || s.starts_with(addr::TUNNEL_V6_PREFIX)
    })
}

fn meter(s: &Suite) -> R<airlock_lab::Meter> {
    s.lab.meter_start().ctx("starting the meter")
}

fn stop(m: airlock_lab::Meter) -> R<Capture> {
    m.stop()
        .ctx("stopping the meter (marker not seen: is mDNS blocked?)")
}

fn connect(s: &mut Suite, dev: &str) -> R<Duration> {
    let start = Instant::now();
    s.lab
        .spawn_vpn_client(dev)
        .ctx("starting the OpenVPN client")?;
    s.lab.wait_vpn_ready(Duration::from_secs(20)).map_err(|e| {
        format!(
            "OpenVPN on {dev} did not connect: {e}\nclient log:\n{}",
            s.lab.vpn_client_log()
        )
    })?;
    Ok(start.elapsed())
}

/// Web service over v4 and v6 through the tunnel: the server must see a
/// tunnel address.
fn web_through_tunnel(lab: &Lab, from: Ns) -> R<()> {
    for ip in [IpAddr::V4(addr::WEB_V4), IpAddr::V6(addr::WEB_V6)] {
        let p = Probe::tcp(ip);
        let o = lab
            .probe(from, &p, Duration::from_secs(2))
            .ctx("web probe")?;
        let seen = o.seen_as().unwrap_or_default().to_string();
        ensure(is_tunnel(&seen), || {
            format!("{p} from {from:?} was not seen through the tunnel: {o:?}")
        })?;
    }
    Ok(())
}

/// A background sender of TCP probes (every few ms) from the client, for
/// windows where a leak would be brief: tamper and the end of a pause.
struct Traffic {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
    sent: Arc<AtomicUsize>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Traffic {
    fn start(lab: &Lab, every: Duration) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicUsize::new(0));
        let ns = lab.ns(Ns::Client).name().to_string();
        let (st, an, se) = (Arc::clone(&stop), Arc::clone(&answered), Arc::clone(&sent));
        let handle = std::thread::spawn(move || {
            let _ = enter_by_name(&ns, || {
                let p = Probe::tcp(addr::WEB_V4.into());
                while !st.load(Ordering::SeqCst) {
                    se.fetch_add(1, Ordering::SeqCst);
                    if matches!(p.run(Duration::from_millis(200)), Outcome::Answered { .. }) {
                        an.fetch_add(1, Ordering::SeqCst);
                    }
                    std::thread::sleep(every);
                }
            });
        });
        Traffic {
            stop,
            answered,
            sent,
            handle: Some(handle),
        }
    }

    /// Stops; (sent, answered).
    fn finish(mut self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        (
            self.sent.load(Ordering::SeqCst),
            self.answered.load(Ordering::SeqCst),
        )
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn conn_packets(capture: &Capture, local: SocketAddr, after: f64) -> Vec<&PacketSummary> {
    capture.leaks_where(|p| p.src == local.ip() && p.sport == Some(local.port()) && p.time > after)
}

fn iperf(lab: &Lab) -> R<f64> {
    let mut last = String::new();
    for _ in 0..3 {
        match lab.client_exec(&["iperf3", "-c", &addr::WEB_V4.to_string(), "-J", "-t", "3"]) {
            Ok(json) => {
                let v: serde_json::Value =
                    serde_json::from_str(&json).map_err(|e| format!("iperf3 JSON: {e}"))?;
                return v["end"]["sum_received"]["bits_per_second"]
                    .as_f64()
                    .ok_or_else(|| format!("iperf3 JSON without end.sum_received: {json}"));
            }
            Err(e) => {
                last = e.to_string();
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }
    Err(format!("iperf3 client failed: {last}"))
}

fn median(v: &[Duration]) -> Option<Duration> {
    let mut v = v.to_vec();
    v.sort();
    v.get(v.len() / 2).copied()
}

// ---------------------------------------------------------------- scenarios

/// Without Airlock: connect time and tunnel throughput, the denominators
/// of the ratios. Then the helper starts (kill switch off).
fn baseline(s: &mut Suite) -> R<Done> {
    // Connects take tens of milliseconds here: one sample is noise.
    for _ in 0..3 {
        let t = connect(s, "tun0")?;
        s.numbers.connect_off.push(t);
    }
    let have_iperf = airlock_lab::netns::have_tool("iperf3");
    if have_iperf {
        let slot = s
            .lab
            .spawn_in(
                Ns::Inet,
                "iperf3 server",
                &["iperf3", "-s", "-B", &addr::WEB_V4.to_string()],
            )
            .ctx("iperf3 -s")?;
        if let Some(p) = s.lab.process(slot) {
            // iperf3 may buffer its banner when not on a tty; the client retries.
            let _ = p.wait_for_line("listening", Duration::from_millis(500));
        }
        s.numbers.iperf_off = Some(iperf(&s.lab)?);
    } else {
        s.numbers.iperf_note = "iperf3 not installed".into();
    }
    web_through_tunnel(&s.lab, Ns::Client)?;
    s.lab.disconnect_vpn();
    let up =
        s.al.start(&mut s.lab)
            .map_err(|e| format!("airlockd did not start: {e}"))?;
    let st = s.status()?;
    ensure(st.kill_switch == KillSwitch::Off, || {
        format!("fresh helper is not off: {st:?}")
    })?;
    s.ctl(&["endpoints", "add", "198.51.100.7:1194/udp"])?;
    Ok(Done {
        leaks: 0,
        note: format!(
            "connects {:.0?}, airlockd listening after {up:.0?}",
            s.numbers.connect_off
        ),
    })
}

/// 7. A TCP connection opened on the wire while the kill switch is off is
///    cut by `enable`: none of its packets reach the wire after the reply.
fn s07_enable_cuts(s: &mut Suite) -> R<Done> {
    let mut conn = s
        .lab
        .web_connect(Ns::Client, addr::WEB_V4.into(), PROBE)
        .ctx("connection on the wire")?;
    ensure(
        seen_ip(&conn.seen_as) == Some(addr::CLIENT_V4.into()),
        || {
            format!(
                "connection should be outside the tunnel, seen as {}",
                conn.seen_as
            )
        },
    )?;
    conn.echo("before enable")
        .map_err(|e| format!("echo before enable: {e}"))?;
    let local = conn.local_addr().map_err(|e| e.to_string())?;
    let m = meter(s)?;
    let (replied, took) =
        s.al.ctl_timed(&s.lab, &["enable"])
            .ctx("airlockctl enable")?;
    let _ = conn.set_timeout(Duration::from_millis(400));
    let echo = conn.echo("after enable");
    let capture = stop(m)?;
    s.capture_note("enable with a live wire connection", &capture);
    let after = conn_packets(&capture, local, epoch(replied));
    ensure(echo.is_err(), || {
        "the connection still echoes after enable".into()
    })?;
    ensure(after.is_empty(), || {
        format!(
            "{} packets of the connection {local} reached the wire after enable replied:\n{}",
            after.len(),
            capture.report()
        )
    })?;
    // The kill switch was off until the reply: only what came after it counts.
    let late: Vec<_> = capture.leaks_where(|p| p.time > epoch(replied));
    ensure(late.is_empty(), || {
        format!(
            "{} packets leaked after enable replied\n{}",
            late.len(),
            capture.report()
        )
    })?;
    let late = late.len();
    Ok(Done {
        leaks: late,
        note: format!(
            "echo after enable: {}; enable took {}",
            echo.err().map(|e| e.kind().to_string()).unwrap_or_default(),
            ms(took)
        ),
    })
}

/// 2. Kill switch on, tunnel down: nothing leaks, from the laptop or the
///    guest, while DHCPv4/v6, mDNS, NDP and the VPN endpoint still reach
///    the wire.
fn s02_blocking(s: &mut Suite) -> R<Done> {
    let st = s.wait_status("blocking", Duration::from_secs(2), |st| {
        st.protection == Protection::Blocking
    })?;
    ensure(st.firewall.healthy, || {
        format!("firewall not healthy: {st:?}")
    })?;
    let m = meter(s)?;
    none_answered(&s.lab, Ns::Client)?;
    none_answered(&s.lab, Ns::Guest)?;
    for p in Plumbing::ALL {
        s.lab
            .ns(Ns::Client)
            .enter(|| p.send(CLIENT_WAN))
            .ctx("entering the client")?
            .map_err(|e| format!("sending {p:?}: {e}"))?;
    }
    let capture = stop(m)?;
    s.capture_note("kill switch on, tunnel down", &capture);
    zero_leaks(&capture, "kill switch on, tunnel down")?;
    for (class, what) in [
        (Class::Dhcpv4, "DHCPv4"),
        (Class::Dhcpv6, "DHCPv6"),
        (Class::Mdns, "mDNS"),
        (Class::Ndp, "NDP"),
        (Class::Vpn, "the VPN endpoint"),
    ] {
        ensure(capture.count(class) > 0, || {
            format!(
                "{what} did not reach the wire: the kill switch blocks plumbing\n{}",
                capture.report()
            )
        })?;
    }
    Ok(Done {
        leaks: capture.leaks.len(),
        note: format!(
            "dhcpv4={} dhcpv6={} mdns={} ndp={} vpn={}",
            capture.count(Class::Dhcpv4),
            capture.count(Class::Dhcpv6),
            capture.count(Class::Mdns),
            capture.count(Class::Ndp),
            capture.count(Class::Vpn)
        ),
    })
}

/// 3. OpenVPN connects with the kill switch on and no change to Airlock;
///    HTTP then goes through the tunnel over v4 and v6.
fn s03_connect(s: &mut Suite) -> R<Done> {
    let m = meter(s)?;
    let t = connect(s, "tun0")?;
    s.numbers.connect_on.push(t);
    web_through_tunnel(&s.lab, Ns::Client)?;
    web_through_tunnel(&s.lab, Ns::Guest)?;
    let capture = stop(m)?;
    s.capture_note("connect through the kill switch", &capture);
    zero_leaks(&capture, "connecting")?;
    ensure(capture.count(Class::Vpn) > 0, || {
        "no VPN packets on the wire".into()
    })?;
    let st = s.wait_status("protected", Duration::from_secs(2), |st| {
        st.protection == Protection::Protected
    })?;
    if airlock_lab::netns::have_tool("iperf3") {
        s.numbers.iperf_on = Some(iperf(&s.lab)?);
    }
    Ok(Done {
        leaks: capture.leaks.len(),
        note: format!("connect {t:.0?}; status tunnel {:?}", st.tunnel.interface),
    })
}

/// 4. kill -9 of OpenVPN with live TCP connections through the tunnel from
///    the laptop and the guest: nothing leaks.
fn s04_kill9(s: &mut Suite) -> R<Done> {
    let mut live: Vec<(Ns, WebConn)> = Vec::new();
    for from in [Ns::Client, Ns::Guest] {
        let mut c = s
            .lab
            .web_connect(from, addr::WEB_V4.into(), Duration::from_secs(2))
            .ctx("live connection")?;
        c.echo("before")
            .map_err(|e| format!("echo from {from:?}: {e}"))?;
        live.push((from, c));
    }
    let m = meter(s)?;
    s.lab.kill_vpn_client();
    let mut echoes = Vec::new();
    for (from, c) in &mut live {
        let _ = c.set_timeout(Duration::from_millis(300));
        echoes.push((*from, c.echo("after").is_ok()));
    }
    none_answered(&s.lab, Ns::Client)?;
    none_answered(&s.lab, Ns::Guest)?;
    let capture = stop(m)?;
    s.capture_note("kill -9 of OpenVPN", &capture);
    zero_leaks(&capture, "after kill -9 of OpenVPN")?;
    for (from, ok) in &echoes {
        ensure(!ok, || {
            format!("the live connection from {from:?} still echoes with the tunnel gone")
        })?;
    }
    Ok(Done {
        leaks: capture.leaks.len(),
        note: String::new(),
    })
}

/// 6. OpenVPN comes back on another device name (tun1): traffic flows
///    again without any airlockctl call.
fn s06_reconnect(s: &mut Suite) -> R<Done> {
    let m = meter(s)?;
    let t = connect(s, "tun1")?;
    s.numbers.connect_on.push(t);
    web_through_tunnel(&s.lab, Ns::Client)?;
    web_through_tunnel(&s.lab, Ns::Guest)?;
    let capture = stop(m)?;
    s.capture_note("reconnect on tun1", &capture);
    zero_leaks(&capture, "reconnecting on tun1")?;
    let st = s.wait_status("protected on tun1", Duration::from_secs(2), |st| {
        st.protection == Protection::Protected && st.tunnel.interface.as_deref() == Some("tun1")
    })?;
    Ok(Done {
        leaks: capture.leaks.len(),
        note: format!("connect {t:.0?}, status {:?}", st.protection),
    })
}

/// 5. TunnelVision: a more specific route to the web service via eth0 while
///    the tunnel is up (what a hostile DHCP server's option 121 does), with
///    a live TCP connection: nothing leaks. The route stays a while, as an
///    attacker's would, so the helper has seen it before the probes run.
fn s05_tunnelvision(s: &mut Suite) -> R<Done> {
    let endpoints_before = endpoint_list(s)?;
    let mut live = s
        .lab
        .web_connect(Ns::Client, addr::WEB_V4.into(), Duration::from_secs(2))
        .ctx("live connection")?;
    ensure(is_tunnel(&live.seen_as), || {
        format!("not through the tunnel: {}", live.seen_as)
    })?;
    let m = meter(s)?;
    let routes = [
        format!(
            "{}/32 via {} dev {CLIENT_WAN}",
            addr::WEB_V4,
            addr::ROUTER_V4
        ),
        format!(
            "{}/128 via {} dev {CLIENT_WAN}",
            addr::WEB_V6,
            addr::ROUTER_V6
        ),
    ];
    for r in &routes {
        let mut argv = vec!["ip", "route", "add"];
        argv.extend(r.split(' '));
        s.lab
            .client_exec(&argv)
            .ctx("adding the TunnelVision route")?;
    }
    std::thread::sleep(Duration::from_millis(500));
    let _ = live.set_timeout(Duration::from_millis(300));
    let echo = live.echo("after the route");
    let outcomes = leaky_outcomes(&s.lab, Ns::Client)?;
    let endpoints_during = endpoint_list(s)?;
    for r in &routes {
        let mut argv = vec!["ip", "route", "del"];
        argv.extend(r.split(' '));
        let _ = s.lab.client_exec(&argv);
    }
    let capture = stop(m)?;
    s.capture_note("TunnelVision", &capture);
    let learned: Vec<String> = endpoints_during
        .iter()
        .filter(|e| !endpoints_before.contains(e))
        .cloned()
        .collect();
    let mut problems = Vec::new();
    if !learned.is_empty() {
        problems.push(format!(
            "the TunnelVision host route made airlockd learn {learned:?} as VPN endpoints \
             (helper/src/learn.rs must only learn flows from a physical address), which the kill \
             switch would then let out on eth0; the lab removes them with `airlockctl endpoints \
             remove` so later scenarios test their own thing"
        ));
        let mut argv = vec!["endpoints", "remove"];
        argv.extend(
            learned
                .iter()
                .map(|e| e.split_whitespace().next().unwrap_or(e)),
        );
        s.ctl(&argv)?;
    }
    if !capture.leaks.is_empty() {
        problems.push(format!(
            "{} packets leaked\n{}",
            capture.leaks.len(),
            capture.report()
        ));
    }
    for (p, o) in &outcomes {
        let via_wire = o
            .seen_as()
            .is_some_and(|seen| seen_ip(seen).is_some() && !is_tunnel(seen));
        if via_wire {
            problems.push(format!("{p} reached the service outside the tunnel: {o:?}"));
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    Ok(Done {
        leaks: capture.leaks.len(),
        note: format!(
            "live echo after the route: {}",
            if echo.is_ok() { "ok" } else { "cut" }
        ),
    })
}

/// The endpoints only (`ADDR:PORT/PROTO (host)`), without the record the
/// list prints after two spaces: a server seen again has a new "last
/// seen", and is no new endpoint.
fn endpoint_list(s: &Suite) -> R<Vec<String>> {
    Ok(s.ctl(&["endpoints", "list"])?
        .lines()
        .map(|l| l.split("  ").next().unwrap_or(l).trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// 13. `airlockctl watch --json` reports tunnel down and up within 100 ms
///     of the kernel's change, timed against `ip monitor` in the same
///     process.
fn s13_watch(s: &mut Suite) -> R<Done> {
    let ns = s.lab.ns(Ns::Client).name().to_string();
    let kernel = TimedLines::spawn(&[
        "ip".into(),
        "netns".into(),
        "exec".into(),
        ns,
        "ip".into(),
        "monitor".into(),
        "link".into(),
        "address".into(),
    ])
    .ctx("ip monitor")?;
    let watch = TimedLines::spawn(&s.al.watch_argv(&s.lab)).ctx("airlockctl watch --json")?;
    let parse = |line: &str| serde_json::from_str::<Status>(line).ok();
    watch
        .wait_for("first watch line", 0, Duration::from_secs(3), |l| {
            parse(l).is_some()
        })
        .ctx("airlockctl watch")?;
    // Let `ip monitor` subscribe before the change it must see.
    std::thread::sleep(Duration::from_millis(200));
    let dev = s
        .status()?
        .tunnel
        .interface
        .ok_or("no tunnel up before the watch scenario")?;

    let (k0, w0) = (kernel.lines().len(), watch.lines().len());
    s.lab.kill_vpn_client();
    let down = watch
        .wait_for("watch: tunnel down", w0, Duration::from_secs(3), |l| {
            parse(l).is_some_and(|st| st.tunnel.state == TunnelState::Down)
        })
        .ctx("airlockctl watch")?;
    let gone = kernel
        .wait_for(
            "ip monitor: device deleted",
            k0,
            Duration::from_secs(3),
            |l| l.starts_with("Deleted") && l.contains(&dev),
        )
        .ctx("ip monitor")?;
    let down_delay = down.at.saturating_duration_since(gone.at);

    let (k1, w1) = (kernel.lines().len(), watch.lines().len());
    let new_dev = "tun0";
    let t = connect(s, new_dev)?;
    s.numbers.connect_on.push(t);
    let up = watch
        .wait_for("watch: tunnel up", w1, Duration::from_secs(3), |l| {
            parse(l).is_some_and(|st| st.tunnel.state == TunnelState::Up)
        })
        .ctx("airlockctl watch")?;
    // The kernel change that made it up: the last event on the device
    // before the helper's line (link up or address added).
    let changes: Vec<_> = kernel
        .lines()
        .into_iter()
        .skip(k1)
        .filter(|l| l.line.contains(new_dev) && l.at <= up.at)
        .collect();
    let last = changes
        .last()
        .ok_or_else(|| format!("ip monitor saw no change on {new_dev} before the watch event"))?;
    let up_delay = up.at.saturating_duration_since(last.at);
    eprintln!(
        "    watch delays: down {} (after `{}`), up {} (after `{}`)",
        ms(down_delay),
        gone.line,
        ms(up_delay),
        last.line
    );
    ensure(
        down_delay <= EVENT_BUDGET && up_delay <= EVENT_BUDGET,
        || {
            format!(
                "status events too slow: down {}, up {} (budget {})",
                ms(down_delay),
                ms(up_delay),
                ms(EVENT_BUDGET)
            )
        },
    )?;
    Ok(Done {
        leaks: 0,
        note: format!("event delay down {}, up {}", ms(down_delay), ms(up_delay)),
    })
}

/// 8. airlockd SIGKILLed: the rules stay in the kernel, and they hold when
///    the tunnel dies with no helper running; restarted, it reports the
///    same state.
fn s08_helper_killed(s: &mut Suite) -> R<Done> {
    let before = s.status()?;
    s.al.stop(&mut s.lab, Signal::SIGKILL);
    let dead = helper_dead_phase(s);
    // Restart whatever happened, so later scenarios have a helper.
    s.al.start(&mut s.lab)
        .map_err(|e| format!("restart: {e}"))?;
    let capture = dead?;
    let after = s.wait_status("restarted: blocking", Duration::from_secs(2), |st| {
        st.protection == Protection::Blocking
    })?;
    ensure(
        after.kill_switch == before.kill_switch
            && after.options == before.options
            && after.endpoints == before.endpoints,
        || format!("restarted helper reports another state:\nbefore {before:?}\nafter  {after:?}"),
    )?;
    Ok(Done {
        leaks: capture.leaks.len(),
        note: format!(
            "restart: kill switch {:?}, {} endpoints",
            after.kill_switch, after.endpoints
        ),
    })
}

/// The part of scenario 8 with no helper running. On failure the error
/// carries the kernel's table, which is what is under test here.
fn helper_dead_phase(s: &mut Suite) -> R<Capture> {
    let m = meter(s)?;
    // The tunnel dies while nobody is there to react: only the rules left
    // in the kernel stand between the probes and the wire.
    s.lab.kill_vpn_client();
    let probed = none_answered(&s.lab, Ns::Client).and_then(|()| none_answered(&s.lab, Ns::Guest));
    let capture = stop(m)?;
    s.capture_note("airlockd SIGKILLed, then tunnel killed", &capture);
    probed
        .and_then(|()| zero_leaks(&capture, "with airlockd dead"))
        .map_err(|e| {
            let table = s
                .lab
                .client_exec(&["nft", "list", "table", "inet", "airlock"])
                .unwrap_or_else(|e| format!("(no table: {e})"));
            format!("{e}\nthe kernel's table with airlockd dead:\n{table}")
        })?;
    Ok(capture)
}

/// 9. Boot: the kernel has no rules (as after a reboot) and the persisted
///    state says "on": the helper loads the rules before its socket
///    exists. The first thing sent once the socket appears is refused,
///    and nothing leaks from then on. Before that the kernel holds no
///    rules by construction (the "reboot" kept the network up, which a
///    real boot does not before the helper's unit): what the kernel sends
///    then (an ICMP error to the VPN server's keepalive, say) is reported
///    as the window, not failed.
fn s09_boot(s: &mut Suite) -> R<Done> {
    s.al.stop(&mut s.lab, Signal::SIGTERM);
    ensure(!s.al.socket.exists(), || {
        "airlockd left its socket behind on SIGTERM".into()
    })?;
    // A reboot wipes the kernel's rules; nft stands in for the reboot.
    s.lab
        .client_exec(&["nft", "delete", "table", "inet", "airlock"])
        .ctx("simulating a reboot (nft delete table inet airlock)")?;
    let m = meter(s)?;
    s.al.spawn(&mut s.lab).ctx("starting airlockd")?;
    let start = Instant::now();
    while !s.al.socket.exists() {
        if start.elapsed() > Duration::from_secs(10) {
            return Err(format!("no socket after 10 s; log:\n{}", s.al.log(&s.lab)));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let socket_after = start.elapsed();
    let socket_wall = epoch(SystemTime::now());
    let first = s
        .lab
        .probe(Ns::Client, &Probe::tcp(addr::WEB_V4.into()), PROBE)
        .ctx("probe right after the socket appeared")?;
    s.al.wait_listening(&s.lab).ctx("airlockd")?;
    none_answered(&s.lab, Ns::Client)?;
    let capture = stop(m)?;
    s.capture_note("boot with persisted state", &capture);
    ensure(!matches!(first, Outcome::Answered { .. }), || {
        format!("the first probe after the socket appeared got out: {first:?}")
    })?;
    let before_rules = capture.leaks_where(|p| p.time <= socket_wall).len();
    let after = capture.leaks_where(|p| p.time > socket_wall);
    ensure(after.is_empty(), || {
        format!(
            "boot: {} packets leaked after the socket appeared: {after:?}",
            after.len()
        )
    })?;
    let log = s.al.log(&s.lab);
    let last_start = log.rsplit("--- restart ---").next().unwrap_or_default();
    let started = last_start.find("started: kill switch On");
    let listening = last_start.find("listening on");
    ensure(
        matches!((started, listening), (Some(a), Some(b)) if a < b),
        || format!("airlockd did not report kill switch On before listening:\n{last_start}"),
    )?;
    let st = s.status()?;
    ensure(
        st.kill_switch == KillSwitch::On && st.firewall.healthy,
        || format!("after boot: {st:?}"),
    )?;
    Ok(Done {
        leaks: capture.leaks.len(),
        note: format!(
            "socket after {}; first probe {first:?}; {before_rules} sent by the kernel before \
             the rules were in (the simulated reboot's window)",
            ms(socket_after)
        ),
    })
}

/// One tamper round: run `argv` in the client, wait until the table is
/// back, count leaks. Returns (restore time, leaks in window, leaks after).
fn tamper_round(s: &mut Suite, argv: &[&str]) -> R<(Duration, usize, usize)> {
    let m = meter(s)?;
    let traffic = Traffic::start(&s.lab, Duration::from_millis(5));
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    s.lab.client_exec(argv).ctx(&argv.join(" "))?;
    let restored = loop {
        if s.lab
            .client_exec(&["nft", "list", "table", "inet", "airlock"])
            .is_ok()
        {
            break t0.elapsed();
        }
        if t0.elapsed() > Duration::from_secs(3) {
            return Err(format!(
                "`{}`: the table was not back after 3 s; log:\n{}",
                argv.join(" "),
                s.al.log(&s.lab)
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let restored_wall = epoch(SystemTime::now());
    std::thread::sleep(Duration::from_millis(300));
    let (sent, answered) = traffic.finish();
    let capture = stop(m)?;
    s.capture_note(&format!("tamper: {}", argv.join(" ")), &capture);
    let after = capture.leaks_where(|p| p.time > restored_wall).len();
    let window = capture.leaks.len() - after;
    eprintln!(
        "    `{}`: restored after {}; {sent} probes sent, {answered} answered; leaks in window {window}, after {after}",
        argv.join(" "),
        ms(restored)
    );
    Ok((restored, window, after))
}

/// 10. Tamper: `nft delete table inet airlock` and `nft flush ruleset` in
///     the client, by another root process. With the tamper guard (the
///     default) nothing may leak at all, and deleting the guard itself is
///     refused. Then once more with `airlockd --no-tamper-guard`: the
///     rules come back within 1 s and the leaks in that window are counted
///     and reported, not failed (what the guard is worth). Either way the
///     status reports the tamper and nothing may leak after the repair.
fn s10_tamper(s: &mut Suite) -> R<Done> {
    let mut failures = Vec::new();
    let guard = s.status()?.firewall.guard;
    if guard != Guard::On {
        failures.push(format!("the tamper guard is not on: {guard}"));
    }
    let refused = s
        .lab
        .client_exec(&["nft", "delete", "table", "inet", "airlock_guard"]);
    if refused.is_ok() {
        failures.push("another root process could delete the tamper guard".into());
    }
    let (guarded, leaked) = tamper_rounds(s, &mut failures)?;
    if leaked > 0 {
        failures.push(format!(
            "{leaked} packets leaked with the tamper guard on ({guarded})"
        ));
    }
    restart_with(s, &["--no-tamper-guard"])?;
    let (bare, _window) = tamper_rounds(s, &mut failures)?;
    restart_with(s, &[])?;
    ensure(failures.is_empty(), || failures.join("; "))?;
    Ok(Done {
        leaks: leaked,
        note: format!(
            "guard on: {guarded}; guard off: {bare} (tamper window, reported not failed)"
        ),
    })
}

/// Restarts the helper with `args` added to `airlockd run`, and waits for
/// it to protect as before (the rules stayed in the kernel meanwhile).
fn restart_with(s: &mut Suite, args: &[&str]) -> R<()> {
    let was = s.status()?.protection;
    s.al.stop(&mut s.lab, Signal::SIGTERM);
    s.al.run_args = args.iter().map(|a| a.to_string()).collect();
    s.al.start(&mut s.lab)
        .map_err(|e| format!("restart with {args:?}: {e}"))?;
    s.wait_status(
        "restarted: protecting as before",
        Duration::from_secs(2),
        |st| st.protection == was,
    )
    .map(drop)
}

/// Both tampers once: a note of restore times and window leaks, and the
/// leaks in the windows. What must not happen goes to `failures`.
fn tamper_rounds(s: &mut Suite, failures: &mut Vec<String>) -> R<(String, usize)> {
    let before = SystemTime::now();
    let mut notes = Vec::new();
    let mut window_total = 0;
    for argv in [
        &["nft", "delete", "table", "inet", "airlock"][..],
        &["nft", "flush", "ruleset"][..],
    ] {
        let (restored, window, after) = tamper_round(s, argv)?;
        if argv[1] == "flush" {
            s.lab.reload_nat().ctx("reloading the lab's NAT")?;
        }
        window_total += window;
        notes.push(format!(
            "{}: back in {}, {window} in window",
            argv[1],
            ms(restored)
        ));
        if restored > RESTORE_BUDGET {
            failures.push(format!(
                "`{}`: rules back only after {}",
                argv.join(" "),
                ms(restored)
            ));
        }
        if after > 0 {
            failures.push(format!(
                "`{}`: {after} packets leaked after the rules were back",
                argv.join(" ")
            ));
        }
    }
    let st = s.status()?;
    let tamper_seen = st
        .firewall
        .last_tamper
        .is_some_and(|t| t + 1 >= epoch(before) as u64);
    if !tamper_seen {
        failures.push(format!(
            "status does not report the tamper: {:?}",
            st.firewall
        ));
    }
    if !st.firewall.healthy {
        failures.push(format!(
            "status not healthy after the restore: {:?}",
            st.firewall
        ));
    }
    Ok((notes.join(", "), window_total))
}

/// 11. allow-LAN: on, a TCP connection to a LAN service (the router's
///     192.168.1.1) passes while everything else stays blocked; off, that
///     live connection is cut and nothing of it reaches the wire.
fn s11_allow_lan(s: &mut Suite) -> R<Done> {
    let lan_svc = SocketAddr::new(LAN_V4.into(), addr::WEB_TCP_PORT);
    let _service = WebServer::start(s.lab.ns(Ns::Inet), &[lan_svc], &[]).ctx("LAN service")?;
    let is_lan = |p: &PacketSummary| p.dst == IpAddr::V4(LAN_V4);
    let m = meter(s)?;
    s.ctl(&["set", "allow-lan", "on"])?;
    let mut conn = s
        .lab
        .ns(Ns::Client)
        .enter(|| WebConn::open(lan_svc, Duration::from_secs(2)))
        .ctx("entering the client")?
        .map_err(|e| format!("LAN connection with allow-LAN on: {e}"))?;
    conn.echo("lan on")
        .map_err(|e| format!("LAN echo with allow-LAN on: {e}"))?;
    let local = conn.local_addr().map_err(|e| e.to_string())?;
    none_answered(&s.lab, Ns::Client)?;
    let (off_at, _) =
        s.al.ctl_timed(&s.lab, &["set", "allow-lan", "off"])
            .ctx("airlockctl set allow-lan off")?;
    let _ = conn.set_timeout(Duration::from_millis(400));
    let echo = conn.echo("lan off");
    let after_off = s
        .lab
        .ns(Ns::Client)
        .enter(|| WebConn::open(lan_svc, PROBE))
        .ctx("entering the client")?;
    let capture = stop(m)?;
    s.capture_note("allow-LAN on then off", &capture);
    let lan_packets = capture.leaks_where(|p| is_lan(p)).len();
    let other = capture.leaks_where(|p| !is_lan(p));
    let late = conn_packets(&capture, local, epoch(off_at));
    let late_lan = capture
        .leaks_where(|p| is_lan(p) && p.time > epoch(off_at))
        .len();
    ensure(lan_packets > 0, || {
        "no LAN packet on the wire with allow-LAN on".into()
    })?;
    ensure(other.is_empty(), || {
        format!(
            "{} non-LAN packets leaked with allow-LAN on\n{}",
            other.len(),
            capture.report()
        )
    })?;
    ensure(echo.is_err(), || {
        "the LAN connection still echoes after allow-LAN off".into()
    })?;
    ensure(after_off.is_err(), || {
        "a new LAN connection opened after allow-LAN off".into()
    })?;
    ensure(late.is_empty() && late_lan == 0, || {
        format!(
            "{late_lan} LAN packets ({} of the live connection) reached the wire after allow-LAN off\n{}",
            late.len(),
            capture.report()
        )
    })?;
    Ok(Done {
        leaks: other.len() + late_lan,
        note: format!("{lan_packets} LAN packets allowed while on; live connection cut by off"),
    })
}

/// 12. `pause 3s`: traffic passes, then the kill switch re-locks by itself
///     and nothing leaks after the deadline the helper announced.
fn s12_pause(s: &mut Suite) -> R<Done> {
    let m = meter(s)?;
    let traffic = Traffic::start(&s.lab, Duration::from_millis(20));
    let (paused_at, pause_took) =
        s.al.ctl_timed(&s.lab, &["pause", "3s"])
            .ctx("airlockctl pause 3s")?;
    let st = s.status()?;
    let until = st
        .paused_until
        .ok_or_else(|| format!("paused without paused_until: {st:?}"))?;
    let during = s
        .lab
        .probe(
            Ns::Client,
            &Probe::tcp(addr::WEB_V4.into()),
            Duration::from_secs(1),
        )
        .ctx("probe during the pause")?;
    // Nobody talks to the helper until well after the deadline: a status
    // request wakes its engine loop, which would hide a late timer.
    let quiet_until = until as f64 + 1.5;
    let wait = (quiet_until - epoch(SystemTime::now())).max(0.0);
    std::thread::sleep(Duration::from_secs_f64(wait));
    let relocked = s.status()?;
    ensure(relocked.kill_switch == KillSwitch::On, || {
        format!("still not re-locked 1.5 s after paused_until {until}: {relocked:?}")
    })?;
    let (sent, answered) = traffic.finish();
    none_answered(&s.lab, Ns::Client)?;
    none_answered(&s.lab, Ns::Guest)?;
    let capture = stop(m)?;
    s.capture_note("pause 3 s", &capture);
    let deadline = until as f64;
    let late: Vec<_> = capture.leaks_where(|p| p.time >= deadline);
    let during_count = capture.leaks.len() - late.len();
    // When the wire really closed: the last packet that got out.
    let overrun = late.iter().map(|p| p.time - deadline).fold(0.0, f64::max);
    eprintln!(
        "    pause took {}; paused_until {until} ({:+.2} s after reply+3 s); last packet out {overrun:+.3} s after paused_until; {sent} probes, {answered} answered; {during_count} packets passed during the pause",
        ms(pause_took),
        deadline - (epoch(paused_at) + 3.0)
    );
    ensure(matches!(during, Outcome::Answered { .. }), || {
        format!("traffic did not pass during the pause: {during:?}")
    })?;
    ensure(relocked.protection == Protection::Blocking, || {
        format!("after pause: {relocked:?}")
    })?;
    ensure(late.is_empty(), || {
        let list: Vec<String> = late
            .iter()
            .take(10)
            .map(|p| format!("{p} at {:+.3} s", p.time - deadline))
            .collect();
        format!(
            "{} packets leaked after the pause deadline {until} that `status` announced \
             (traffic kept passing until {overrun:+.3} s after it; the engine must re-lock before \
             the deadline and nft's kernel timeout must not outlast it):\n{}",
            late.len(),
            list.join("\n")
        )
    })?;
    Ok(Done {
        leaks: late.len(),
        note: format!("{during_count} passed during the pause (allowed); none after paused_until"),
    })
}

/// Enable latency (airlockctl enable until its reply) vs a bare `nft -f`
/// of the same ruleset: `airlockctl render --settings <state>/settings.toml`
/// in the client namespace (the helper's own pipeline on the same network),
/// loaded by nft in a scratch namespace so it does not disturb the helper.
/// Both go through `ip netns exec`. Medians of 5.
fn enable_latency(s: &mut Suite) -> R<Done> {
    for _ in 0..5 {
        s.ctl(&["disable"])?;
        let (_, took) =
            s.al.ctl_timed(&s.lab, &["enable"])
                .ctx("airlockctl enable")?;
        s.numbers.enable.push(took);
    }
    for _ in 0..5 {
        let (_, took) =
            s.al.ctl_timed(&s.lab, &["status"])
                .ctx("airlockctl status")?;
        s.numbers.status_rtt.push(took);
    }
    let settings = s.al.state_dir.join("settings.toml");
    let ctl = s.al.bins.airlockctl.display().to_string();
    let ruleset = s
        .lab
        .client_exec(&[
            &ctl,
            "render",
            "--settings",
            &settings.display().to_string(),
        ])
        .ctx("airlockctl render")?;
    let file = s.lab.dir().join("rendered.nft");
    std::fs::write(&file, &ruleset).map_err(|e| format!("writing {}: {e}", file.display()))?;
    let scratch = Netns::create(&format!("{PREFIX}{}-nftbench", std::process::id()))
        .ctx("scratch namespace")?;
    for _ in 0..5 {
        let start = Instant::now();
        scratch
            .exec(&["nft", "-f", &file.display().to_string()])
            .ctx("bare nft -f")?;
        s.numbers.bare_nft.push(start.elapsed());
    }
    drop(scratch);
    s.numbers.enable_note = format!("{} lines of nft", ruleset.lines().count());
    let st = s.status()?;
    ensure(st.kill_switch == KillSwitch::On, || format!("left {st:?}"))?;
    Ok(Done {
        leaks: 0,
        note: format!(
            "enable median {}, bare nft -f median {}",
            median(&s.numbers.enable).map(ms).unwrap_or_default(),
            median(&s.numbers.bare_nft).map(ms).unwrap_or_default()
        ),
    })
}

// ---------------------------------------------------------------- output

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.3}", a / b),
        _ => "n/a".into(),
    }
}

fn print_summary(s: &Suite, total: Duration) {
    eprintln!("\n================ leak suite summary ================");
    eprintln!("{:<58} {:>7}  {:<5}  notes", "scenario", "leaked", "");
    for r in &s.rows {
        let leaks = r.leaks.map_or("-".into(), |n| n.to_string());
        let verdict = if r.pass { "PASS" } else { "FAIL" };
        eprintln!(
            "{:<58} {:>7}  {:<5}  {}",
            r.name,
            leaks,
            verdict,
            r.note.lines().next().unwrap_or("")
        );
    }
    let n = &s.numbers;
    let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
    let (on, off) = (median(&n.connect_on), median(&n.connect_off));
    eprintln!(
        "VPN connect time on/off: {} (medians {} / {} of {:?} / {:?}; goal <= 1.1)",
        ratio(secs(on), secs(off)),
        on.map(ms).unwrap_or_default(),
        off.map(ms).unwrap_or_default(),
        n.connect_on,
        n.connect_off
    );
    eprintln!(
        "iperf3 throughput on/off: {} ({:.1} / {:.1} Mbit/s, 3 s each, meter off; goal >= 0.98) {}",
        ratio(n.iperf_on, n.iperf_off),
        n.iperf_on.unwrap_or(0.0) / 1e6,
        n.iperf_off.unwrap_or(0.0) / 1e6,
        n.iperf_note
    );
    let (e, b) = (median(&n.enable), median(&n.bare_nft));
    eprintln!(
        "enable latency / bare nft -f: {} (medians {} / {} of {:?} / {:?}; {}; goal <= 1.5)",
        ratio(secs(e), secs(b)),
        e.map(ms).unwrap_or_default(),
        b.map(ms).unwrap_or_default(),
        n.enable,
        n.bare_nft,
        n.enable_note
    );
    eprintln!(
        "  (for scale: `airlockctl status` round trip median {}, the fixed cost of any airlockctl call)",
        median(&n.status_rtt).map(ms).unwrap_or_default()
    );
    eprintln!("total {total:.1?}");
}

fn keep_logs(s: &Suite) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("airlock-leaks-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("captures-and-failures.txt"), s.log.join("\n\n"));
    let _ = std::fs::write(dir.join("airlockd.log"), s.al.log(&s.lab));
    let _ = std::fs::write(dir.join("openvpn-client.log"), s.lab.vpn_client_log());
    let _ = std::fs::write(dir.join("openvpn-server.log"), s.lab.vpn_server_log());
    for (i, (label, capture)) in s.captures.iter().enumerate() {
        let name: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let _ = capture.write_pcap(&dir.join(format!("{i:02}-{name}.pcap")));
    }
    let unique: BTreeSet<&str> = s.rows.iter().filter(|r| !r.pass).map(|r| r.name).collect();
    let _ = std::fs::write(
        dir.join("failed.txt"),
        unique.into_iter().collect::<Vec<_>>().join("\n"),
    );
    dir
}
