//! `airlock-demo`: Airlock for real, in a sandbox, in one command
//! (`sudo scripts/run`). It drives the same lab the leak suite uses — three
//! network namespaces, a real OpenVPN tunnel, the real `airlockd` with the
//! nft backend and `airlockctl` — so what it shows is what the suite checks,
//! narrated instead of asserted. Nothing touches the host's own network, and
//! everything is removed on exit or Ctrl-C: the signal only sets a flag, so
//! the lab's `Drop` guards (kill by PID, delete namespaces) always run.
//!
//! Exit status: 0 nothing leaked and nothing left behind; 1 a leak while the
//! kill switch was on (or any failure); 130 interrupted.

use std::io::{BufRead, BufReader, IsTerminal};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use airlock_lab::plumbing::Plumbing;
use airlock_lab::{addr, Airlock, Binaries, Capture, Lab, Ns, Outcome, Probe, CLIENT_WAN};
use airlock_shared::status::Protection;
use anyhow::{bail, Context};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The VPN server the helper is told about (the lab's OpenVPN server).
const ENDPOINT: &str = "198.51.100.7:1194/udp";
/// A kill switch rejects at once; this only bounds a silent drop.
const PROBE: Duration = Duration::from_millis(500);

/// Set by SIGINT/SIGTERM; checked between steps.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
struct Interrupted;

#[derive(Debug, thiserror::Error)]
#[error("{0} packet(s) leaked or probe(s) answered while the kill switch was on")]
struct Leaked(usize);

/// The numbered narration; each step is also where an interrupt stops us.
#[derive(Default)]
struct Steps(u32);

impl Steps {
    fn step(&mut self, what: &str) -> anyhow::Result<()> {
        if STOP.load(Ordering::SeqCst) {
            return Err(Interrupted.into());
        }
        self.0 += 1;
        // A person at a terminal gets a moment per step (the whole run
        // takes about a second); a pipe (the test) does not wait.
        if self.0 > 1 && std::io::stdout().is_terminal() {
            std::thread::sleep(Duration::from_millis(400));
        }
        println!("\n{:>2}. {what}", self.0);
        Ok(())
    }
}

fn say(text: impl AsRef<str>) {
    for line in text.as_ref().lines() {
        println!("    {line}");
    }
}

/// What the run created, to check afterwards that all of it is gone.
#[derive(Default)]
struct Trace {
    namespaces: Vec<String>,
    pids: Vec<u32>,
    dir: Option<PathBuf>,
}

pub fn main() -> ExitCode {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic (async-signal-safe).
        if let Err(e) = unsafe { sigaction(sig, &action) } {
            eprintln!("airlock-demo: installing the {sig} handler: {e}");
            return ExitCode::from(1);
        }
    }
    let mut trace = Trace::default();
    let result = run(&mut trace);
    let clean = report_leftovers(&trace);
    match result {
        // Children share our terminal's Ctrl-C, so a step may fail because
        // they died of it: the interrupt is the real reason then.
        Err(_) if STOP.load(Ordering::SeqCst) => {
            println!("\nInterrupted: cleaned up.");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("\nairlock-demo: {e:#}");
            ExitCode::from(1)
        }
        Ok(()) if clean => ExitCode::SUCCESS,
        Ok(()) => ExitCode::from(1),
    }
}

/// Starts the lab and runs the steps; the lab is dropped (everything
/// killed and removed) before this returns, whatever happened.
fn run(trace: &mut Trace) -> anyhow::Result<()> {
    let bins = Binaries::locate().context("finding airlockd and airlockctl beside this binary")?;
    let mut steps = Steps::default();
    steps.step("Sandbox: three network namespaces (internet, laptop, guest VM behind it)")?;
    let mut lab = Lab::start().context("starting the lab")?;
    trace.namespaces = [Ns::Inet, Ns::Client, Ns::Guest]
        .map(|ns| lab.ns(ns).name().to_string())
        .to_vec();
    trace.dir = Some(lab.dir().to_path_buf());
    say(trace.namespaces.join("\n"));
    say(format!("scratch dir {}", lab.dir().display()));
    let result = steps_in(&mut lab, &bins, &mut steps, trace);
    trace.pids.extend(lab.process_ids());
    // Announced, not a step: cleanup runs even after an interrupt.
    println!(
        "\n{:>2}. Cleaning up: processes by PID, then the namespaces",
        steps.0 + 1
    );
    drop(lab);
    result
}

fn steps_in(
    lab: &mut Lab,
    bins: &Binaries,
    steps: &mut Steps,
    trace: &mut Trace,
) -> anyhow::Result<()> {
    steps.step("OpenVPN server in the internet namespace, 198.51.100.7:1194/udp")?;
    let t = lab
        .start_vpn_server()
        .context("starting the OpenVPN server")?;
    say(format!("listening after {t:.1?}"));

    steps.step("airlockd (nft backend) in the laptop namespace")?;
    let mut al = Airlock::new(lab, bins.clone());
    let t = al.start(lab).context("starting airlockd")?;
    say(format!(
        "listening on {} after {t:.1?}",
        al.socket.display()
    ));

    steps.step(&format!(
        "Kill switch on: airlockctl endpoints add {ENDPOINT}; airlockctl enable"
    ))?;
    al.ctl(lab, &["endpoints", "add", ENDPOINT])?;
    al.ctl(lab, &["enable"])?;

    steps.step("Connecting the VPN through the kill switch (OpenVPN client, tun0)")?;
    let t = lab.connect_vpn("tun0").context("connecting the VPN")?;
    al.wait_status(lab, "protected", Duration::from_secs(5), |s| {
        s.protection == Protection::Protected
    })?;
    say(format!("connected in {t:.1?}"));

    steps.step("airlockctl status")?;
    say(al.ctl(lab, &["status"])?);

    let follow = follow(lab, &al, steps, trace)?;

    steps.step("Leak meter on: tcpdump on the laptop's wire, every packet classified")?;
    let meter = lab.meter_start().context("starting the leak meter")?;

    steps.step("Browsing through the tunnel: the web server says which address it saw")?;
    for (from, ip) in [
        (Ns::Client, IpAddr::V4(addr::WEB_V4)),
        (Ns::Client, IpAddr::V6(addr::WEB_V6)),
        (Ns::Guest, IpAddr::V4(addr::WEB_V4)),
    ] {
        let probe = Probe::tcp(ip);
        let outcome = lab.probe(from, &probe, Duration::from_secs(2))?;
        let seen = outcome.seen_as().unwrap_or_default();
        let ip = seen.trim_start_matches('[');
        if !(ip.starts_with(addr::TUNNEL_V4_PREFIX) || ip.starts_with(addr::TUNNEL_V6_PREFIX)) {
            bail!("{from:?} {probe}: not through the tunnel: {outcome:?}");
        }
        say(format!(
            "{:<7} {probe:<28} seen as {seen} (tunnel)",
            who(from)
        ));
    }

    steps.step("Dropping the tunnel: kill -9 of the OpenVPN client")?;
    lab.kill_vpn_client();
    let (_, t) = al.wait_status(lab, "blocking", Duration::from_secs(5), |s| {
        s.protection == Protection::Blocking
    })?;
    say(format!("airlockd reports Blocking after {t:.0?}"));

    steps.step(
        "Leaky probes, laptop and guest VM: tcp/udp/icmp/dns over v4 and v6 (all must fail)",
    )?;
    let mut answered = 0;
    for from in [Ns::Client, Ns::Guest] {
        for probe in Probe::leaky_set() {
            if STOP.load(Ordering::SeqCst) {
                return Err(Interrupted.into());
            }
            let outcome = lab.probe(from, &probe, PROBE)?;
            answered += usize::from(matches!(outcome, Outcome::Answered { .. }));
            say(format!(
                "{:<7} {probe:<28} {}",
                who(from),
                describe(&outcome)
            ));
        }
    }
    // What a laptop must still send with the tunnel down (DHCP, NDP, mDNS):
    // the meter counts them as allowed, showing the kill switch is selective.
    for p in Plumbing::ALL {
        lab.ns(Ns::Client)
            .enter(|| p.send(CLIENT_WAN))?
            .with_context(|| format!("sending {p:?}"))?;
    }

    steps.step("Leak meter off: every packet the laptop put on the wire, by class")?;
    let capture = meter.stop().context("stopping the leak meter")?;
    say(counts(&capture));
    say(format!("{} leaked", capture.leaks.len()));
    for leak in &capture.leaks {
        say(format!("  LEAK {leak}"));
    }
    if !capture.leaks.is_empty() || answered > 0 {
        return Err(Leaked(capture.leaks.len() + answered).into());
    }

    steps.step("Proving the meter: airlockctl disable, then the same TCP probe")?;
    al.ctl(lab, &["disable"])?;
    al.wait_status(lab, "off", Duration::from_secs(5), |s| {
        s.protection == Protection::Off
    })?;
    let meter = lab.meter_start().context("starting the leak meter")?;
    let probe = Probe::tcp(IpAddr::V4(addr::WEB_V4));
    let outcome = lab.probe(Ns::Client, &probe, Duration::from_secs(2))?;
    let capture = meter.stop().context("stopping the leak meter")?;
    say(format!("laptop  {probe:<28} {}", describe(&outcome)));
    say(format!(
        "{} leaked with the kill switch off (expected: the meter sees leaks)",
        capture.leaks.len()
    ));
    if capture.leaks.is_empty() {
        bail!("the meter saw no leak with the kill switch off, so its zero proves nothing");
    }
    drop(follow);
    Ok(())
}

/// Shows the helper's state live: the tray app on a display (owned by the
/// lab, killed by PID with it), else `airlockctl watch`, its lines
/// prefixed (stopped when the returned guard is dropped).
fn follow(
    lab: &mut Lab,
    al: &Airlock,
    steps: &mut Steps,
    trace: &mut Trace,
) -> anyhow::Result<Option<Watch>> {
    let tray = al.bins.airlockd.with_file_name("airlock");
    let display = std::env::var("DISPLAY").is_ok_and(|d| !d.is_empty());
    if display && tray.is_file() {
        steps.step("Tray app on your desktop (AIRLOCK_SOCKET = the sandbox's helper)")?;
        // It talks only to the socket (a path, reachable from any
        // namespace), so it runs in the host's namespace, on the display.
        // It runs as whoever runs the demo (root under sudo).
        let mut cmd = Command::new(&tray);
        cmd.env("AIRLOCK_SOCKET", &al.socket);
        lab.spawn("airlock tray app", cmd)?;
        say("watch its icon turn red when the tunnel drops");
        return Ok(None);
    }
    steps.step("airlockctl watch in the laptop namespace (its lines appear live, `watch |`)")?;
    let watch = Watch::start(lab, al)?;
    trace.pids.push(watch.child.id());
    Ok(Some(watch))
}

/// `airlockctl watch`, its stdout printed as it arrives.
struct Watch {
    child: Child,
    reader: Option<JoinHandle<()>>,
}

impl Watch {
    fn start(lab: &Lab, al: &Airlock) -> anyhow::Result<Watch> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", lab.ns(Ns::Client).name()])
            .arg(&al.bins.airlockctl)
            .arg("--socket")
            .arg(&al.socket)
            .arg("watch")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting airlockctl watch")?;
        let out = child.stdout.take().context("airlockctl watch: no stdout")?;
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                println!("      watch | {line}");
            }
        });
        Ok(Watch {
            child,
            reader: Some(reader),
        })
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

fn who(ns: Ns) -> &'static str {
    match ns {
        Ns::Client => "laptop",
        Ns::Guest => "guest",
        Ns::Inet => "inet",
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Answered { seen_as: Some(a) } => format!("ANSWERED, seen as {a}"),
        Outcome::Answered { seen_as: None } => "ANSWERED".into(),
        Outcome::Rejected(why) => format!("blocked ({why})"),
        Outcome::TimedOut => "blocked (no answer)".into(),
    }
}

fn counts(capture: &Capture) -> String {
    let by_class: Vec<String> = capture
        .allowed
        .iter()
        .map(|(class, n)| format!("{}={n}", class.name()))
        .collect();
    format!(
        "{} packets on the wire; allowed: {}",
        capture.packets.len(),
        by_class.join(" ")
    )
}

/// Checks that every namespace, process and file the run created is gone;
/// prints what is left, if anything.
fn report_leftovers(trace: &Trace) -> bool {
    let listed = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut left: Vec<String> = trace
        .namespaces
        .iter()
        .filter(|ns| {
            listed
                .lines()
                .any(|l| l.split_whitespace().next() == Some(ns.as_str()))
        })
        .map(|ns| format!("namespace {ns}"))
        .collect();
    left.extend(
        trace
            .pids
            .iter()
            .filter(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
            .map(|pid| format!("process {pid}")),
    );
    left.extend(
        trace
            .dir
            .iter()
            .filter(|d| d.exists())
            .map(|d| format!("directory {}", d.display())),
    );
    if trace.namespaces.is_empty() {
        return true;
    }
    if left.is_empty() {
        say(format!(
            "left behind: nothing ({} namespaces, {} processes removed)",
            trace.namespaces.len(),
            trace.pids.len()
        ));
        true
    } else {
        say(format!("LEFT BEHIND: {}", left.join(", ")));
        false
    }
}
