//! A private desktop for driving the real `airlock` binary: an Xvfb
//! display with its own auth cookie, a private D-Bus session, a private
//! XDG_RUNTIME_DIR and HOME, an XEmbed tray host (`trayer`), and a fake
//! `airlockd` speaking the shared protocol on a temp socket. Every process
//! started here is killed by PID when the [`Desktop`] drops.
//!
//! Shared by `tests/ui_xvfb.rs` and `examples/ui_bench.rs`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use airlock::ipc::frame::{read_message, write_frame};
use airlock::ipc::protocol::{
    ErrorCode, IpcError, OptionName, Request, RequestBody, ResponseBody, ServerMessage,
    PROTOCOL_VERSION,
};
use airlock::status::{KillSwitch, Status, TunnelState};
use airlock_app::icons::{AMBER, GREEN, GREY, RED};

pub const TOOLS: [&str; 6] = [
    "Xvfb",
    "xauth",
    "xdotool",
    "import",
    "dbus-daemon",
    "trayer",
];

/// Whether a UI test can run here. Says why not and returns false
/// (skip) on a developer machine; panics under `CI=true`, where
/// `scripts/deps` installs everything and a skip would hide a regression.
pub fn ui_prerequisites(test: &str) -> bool {
    let Some(why) = missing_prerequisite() else {
        return true;
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test} cannot run on CI: {why} (scripts/deps installs the tools)"
    );
    eprintln!("skipping {test}: {why}");
    false
}

/// Why the UI test cannot run here, if it cannot.
pub fn missing_prerequisite() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for tool in TOOLS {
        if !std::env::split_paths(&path).any(|d| d.join(tool).is_file()) {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

// ---------------------------------------------------------------- statuses

#[path = "../../src/test_status.rs"]
mod test_status;

/// A pause, if any, ends five minutes from now.
pub fn status(kill_switch: KillSwitch, tunnel_up: bool, healthy: bool) -> Status {
    test_status::build(kill_switch, tunnel_up, healthy, now() + 300)
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

// ------------------------------------------------------------- fake helper

#[derive(Default)]
struct FakeState {
    status: Option<Status>,
    tunnel_up: bool,
    subscribers: Vec<UnixStream>,
    requests: Vec<RequestBody>,
    refuse: Option<IpcError>,
    /// Simulates a stopped helper: connections are closed at once.
    down: bool,
}

/// Enough of `airlockd` for the app: handshake, subscribe + events,
/// and the changes the menu makes, each answered with `Done(status)`.
#[derive(Clone)]
pub struct FakeHelper {
    state: Arc<Mutex<FakeState>>,
    pub socket: PathBuf,
}

impl FakeHelper {
    pub fn start(socket: &Path, initial: Status) -> FakeHelper {
        let listener = UnixListener::bind(socket).expect("bind fake helper socket");
        let state = Arc::new(Mutex::new(FakeState {
            tunnel_up: initial.tunnel.state == TunnelState::Up,
            status: Some(initial),
            ..FakeState::default()
        }));
        let s = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = Arc::clone(&s);
                thread::spawn(move || serve(stream, &s));
            }
        });
        FakeHelper {
            state,
            socket: socket.to_path_buf(),
        }
    }

    /// Changes the status and pushes it to every subscriber.
    pub fn set(&self, status: Status) {
        let mut st = self.state.lock().unwrap();
        st.tunnel_up = status.tunnel.state == TunnelState::Up;
        st.status = Some(status);
        broadcast(&mut st);
    }

    pub fn status(&self) -> Status {
        self.state.lock().unwrap().status.clone().unwrap()
    }

    pub fn requests(&self) -> Vec<RequestBody> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn refuse_changes(&self, error: Option<IpcError>) {
        self.state.lock().unwrap().refuse = error;
    }

    /// Stops answering (closes every connection), like a stopped helper.
    pub fn stop(&self) {
        let mut st = self.state.lock().unwrap();
        st.down = true;
        for s in st.subscribers.drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn restart(&self) {
        self.state.lock().unwrap().down = false;
    }

    pub fn subscribers(&self) -> usize {
        self.state.lock().unwrap().subscribers.len()
    }
}

fn broadcast(st: &mut FakeState) {
    let Some(status) = st.status.clone() else {
        return;
    };
    let event = ServerMessage::Event { status };
    st.subscribers
        .retain_mut(|s| write_frame(s, &event).is_ok());
}

fn serve(stream: UnixStream, state: &Mutex<FakeState>) {
    let Ok(mut reader) = stream.try_clone() else {
        return;
    };
    let mut writer = stream;
    loop {
        let req: Request = match read_message(&mut reader) {
            Ok(Some(r)) => r,
            _ => return,
        };
        let mut st = state.lock().unwrap();
        if st.down {
            return;
        }
        st.requests.push(req.body.clone());
        let current = st.status.clone().unwrap();
        let refuse = st.refuse.clone();
        let change = |st: &mut FakeState, ks: KillSwitch, f: &dyn Fn(&mut Status)| {
            let mut s = status(ks, st.tunnel_up, true);
            s.options = current.options.clone();
            f(&mut s);
            st.status = Some(s.clone());
            broadcast(st);
            ServerMessage::ok(req.id, ResponseBody::Done(s))
        };
        let reply = match (&req.body, refuse) {
            (RequestBody::Hello { .. }, _) => ServerMessage::ok(
                req.id,
                ResponseBody::Hello {
                    version: PROTOCOL_VERSION,
                    server: "fake-airlockd".into(),
                },
            ),
            (RequestBody::Subscribe, _) => {
                if let Ok(s) = writer.try_clone() {
                    st.subscribers.push(s);
                }
                ServerMessage::ok(req.id, ResponseBody::Subscribed(current))
            }
            (RequestBody::GetStatus, _) => ServerMessage::ok(req.id, ResponseBody::Status(current)),
            (RequestBody::GetRules, _) => ServerMessage::ok(
                req.id,
                ResponseBody::Rules {
                    backend: "nft".into(),
                    text: "table inet airlock {\n}\n".into(),
                },
            ),
            (b, Some(e)) if b.is_mutating() => ServerMessage::err(req.id, e),
            (RequestBody::Enable | RequestBody::Resume, None) => {
                change(&mut st, KillSwitch::On, &|_| {})
            }
            (RequestBody::Disable, None) => change(&mut st, KillSwitch::Off, &|_| {}),
            (RequestBody::Pause { .. }, None) => change(&mut st, KillSwitch::Paused, &|_| {}),
            (RequestBody::SetOption { option, value }, None) => {
                let (option, value) = (*option, *value);
                let ks = current.kill_switch;
                change(&mut st, ks, &|s| match option {
                    OptionName::AllowLan => s.options.allow_lan = value,
                    OptionName::AllowAirdrop => s.options.allow_airdrop = value,
                    _ => {}
                })
            }
            _ => ServerMessage::err(
                req.id,
                IpcError::new(ErrorCode::BadRequest, "not in the fake helper"),
            ),
        };
        drop(st);
        if write_frame(&mut writer, &reply).is_err() {
            return;
        }
    }
}

// ----------------------------------------------------------------- desktop

/// Kills its process by PID on drop.
pub struct Proc {
    pub name: &'static str,
    pub child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Desktop {
    pub dir: tempfile::TempDir,
    pub display: String,
    pub xauthority: PathBuf,
    pub dbus_address: String,
    pub runtime_dir: PathBuf,
    pub home: PathBuf,
    /// Where the fake `notify-send` appends what it was asked to show.
    pub notifications: PathBuf,
    pub bin_dir: PathBuf,
    // Drop order: tray host, bus, then the X server.
    tray_host: Option<Proc>,
    dbus: Option<Proc>,
    xvfb: Option<Proc>,
}

pub const SCREEN: (u32, u32) = (640, 480);

impl Desktop {
    pub fn start() -> Desktop {
        let dir = tempfile::Builder::new()
            .prefix("airlock-ui-")
            .tempdir()
            .expect("temp dir");
        let runtime_dir = dir.path().join("run");
        let home = dir.path().join("home");
        let bin_dir = dir.path().join("bin");
        for d in [&runtime_dir, &home, &bin_dir] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::set_permissions(
            &runtime_dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        // A notify-send that records instead of showing.
        let notifications = dir.path().join("notifications.log");
        let fake = bin_dir.join("notify-send");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n",
                notifications.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();

        let number = free_display();
        let display = format!(":{number}");
        let xauthority = dir.path().join("Xauthority");
        let cookie: String = std::fs::read("/proc/sys/kernel/random/uuid")
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .replace('-', "")
                    .trim()
                    .to_string()
            })
            .unwrap();
        std::fs::write(&xauthority, b"").unwrap();
        let ok = Command::new("xauth")
            .args(["-q", "-f"])
            .arg(&xauthority)
            .args(["add", &display, ".", &cookie])
            .status()
            .unwrap()
            .success();
        assert!(ok, "xauth add failed");
        let xvfb = Command::new("Xvfb")
            .arg(&display)
            .arg("-auth")
            .arg(&xauthority)
            .args(["-nolisten", "tcp", "-noreset", "-screen", "0"])
            .arg(format!("{}x{}x24", SCREEN.0, SCREEN.1))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb");
        let xvfb = Proc {
            name: "Xvfb",
            child: xvfb,
        };
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        wait_for(Duration::from_secs(10), "the X server", || socket.exists());

        let mut dbus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon");
        let mut line = String::new();
        BufReader::new(dbus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let dbus_address = line.trim().to_string();
        assert!(dbus_address.starts_with("unix:"), "dbus said {line:?}");

        let mut desktop = Desktop {
            dir,
            display,
            xauthority,
            dbus_address,
            runtime_dir,
            home,
            notifications,
            bin_dir,
            tray_host: None,
            dbus: Some(Proc {
                name: "dbus-daemon",
                child: dbus,
            }),
            xvfb: Some(xvfb),
        };
        let trayer = desktop
            .command("trayer")
            .args([
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "request",
                "--height",
                "32",
                "--SetDockType",
                "true",
                "--transparent",
                "false",
                "--tint",
                "0xffffff",
                "--expand",
                "false",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("trayer");
        desktop.tray_host = Some(Proc {
            name: "trayer",
            child: trayer,
        });
        // trayer owns the system tray selection once its window exists.
        wait_for(Duration::from_secs(10), "the tray host", || {
            desktop
                .command("xdotool")
                .args(["search", "--class", "trayer"])
                .output()
                .is_ok_and(|o| o.status.success())
        });
        desktop
    }

    /// A command that runs inside this private desktop.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        let path = format!(
            "{}:{}",
            self.bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env_clear()
            .env("PATH", path)
            .env("DISPLAY", &self.display)
            .env("XAUTHORITY", &self.xauthority)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.dbus_address)
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("HOME", &self.home)
            .env("LANG", "C.UTF-8")
            .env("NO_AT_BRIDGE", "1")
            .env("GTK_A11Y", "none");
        c
    }

    /// Starts the real app binary `exe` against `socket`.
    pub fn start_app(&self, exe: &Path, socket: &Path) -> Proc {
        let child = self
            .command(exe)
            .env("AIRLOCK_SOCKET", socket)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("airlock.stderr")).unwrap())
            .spawn()
            .expect("airlock");
        Proc {
            name: "airlock",
            child,
        }
    }

    pub fn app_stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("airlock.stderr")).unwrap_or_default()
    }

    /// A full-screen screenshot, saved as `path` and decoded.
    pub fn screenshot(&self, path: &Path) -> Image {
        let ok = self
            .command("import")
            .args(["-window", "root"])
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "import failed");
        Image::load(path)
    }

    pub fn xdotool(&self, args: &[&str]) {
        let ok = self
            .command("xdotool")
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "xdotool {args:?} failed");
    }

    pub fn notifications(&self) -> String {
        std::fs::read_to_string(&self.notifications).unwrap_or_default()
    }
}

fn free_display() -> u32 {
    (100..400)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .expect("a free X display number")
}

pub fn wait_for(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

// ------------------------------------------------------------------ images

pub struct Image {
    pub width: u32,
    pub height: u32,
    /// RGB, row-major.
    pub rgb: Vec<u8>,
}

impl Image {
    pub fn load(path: &Path) -> Image {
        let mut decoder = png::Decoder::new(BufReader::new(std::fs::File::open(path).unwrap()));
        // Palette or 16-bit screenshots become plain 8-bit samples.
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = reader.output_color_type().0.samples();
        let rgb = buf[..info.buffer_size()]
            .chunks(channels)
            .flat_map(|p| match channels {
                1 | 2 => [p[0], p[0], p[0]],
                _ => [p[0], p[1], p[2]],
            })
            .collect();
        Image {
            width: info.width,
            height: info.height,
            rgb,
        }
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Bounding box (x0, y0, x1, y1) and count of pixels near `colour`.
    pub fn find(&self, colour: [u8; 3], tolerance: i32) -> Option<((u32, u32, u32, u32), usize)> {
        let mut bbox: Option<(u32, u32, u32, u32)> = None;
        let mut n = 0;
        for y in 0..self.height {
            for x in 0..self.width {
                let p = self.pixel(x, y);
                let close = (0..3).all(|c| (p[c] as i32 - colour[c] as i32).abs() <= tolerance);
                if close {
                    n += 1;
                    bbox = Some(match bbox {
                        None => (x, y, x, y),
                        Some((a, b, c, d)) => (a.min(x), b.min(y), c.max(x), d.max(y)),
                    });
                }
            }
        }
        bbox.map(|b| (b, n))
    }
}

// ------------------------------------------------------------ tray checks

/// Colour match tolerance: the panel scales the 32 px icon.
pub const TOL: i32 = 10;
/// Pixels of a colour that make an icon (a 22+ px shield is > 60).
pub const MIN_PIXELS: usize = 30;

/// `<target>/ui-screenshots/<name>/`, kept after the run for people to
/// look at. Examples have no CARGO_TARGET_TMPDIR; they use the temp dir.
pub fn shots_dir(name: &str) -> PathBuf {
    let tmp = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tmp
        .parent()
        .unwrap_or(&tmp)
        .join("ui-screenshots")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Takes screenshots into `shots` until one shows `colour` in the tray
/// (and none of the other state colours), or fails after `limit`.
/// Returns the image and the icon's bounding box.
pub fn wait_for_icon(
    desktop: &Desktop,
    shots: &Path,
    colour: [u8; 3],
    name: &str,
    limit: Duration,
) -> (Image, (u32, u32, u32, u32)) {
    let path = shots.join(format!("{name}.png"));
    let start = Instant::now();
    loop {
        let img = desktop.screenshot(&path);
        let found = img.find(colour, TOL).filter(|(_, n)| *n >= MIN_PIXELS);
        let others = [GREEN, RED, GREY, AMBER]
            .into_iter()
            .filter(|c| *c != colour)
            .any(|c| img.find(c, TOL).is_some_and(|(_, n)| n >= MIN_PIXELS));
        if let (Some((bbox, _)), false) = (found, others) {
            return (img, bbox);
        }
        assert!(
            start.elapsed() < limit,
            "no {name} icon ({colour:?}) after {limit:?}; see {}; app stderr:\n{}",
            path.display(),
            desktop.app_stderr()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// Clicks the middle of the icon, which opens its menu.
pub fn open_menu(desktop: &Desktop, bbox: (u32, u32, u32, u32)) {
    let (x, y) = ((bbox.0 + bbox.2) / 2, (bbox.1 + bbox.3) / 2);
    desktop.xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
    // The menu is a new override-redirect window; give GTK a moment to map it.
    thread::sleep(Duration::from_millis(600));
}

pub fn wait_until(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    wait_for(limit, what, &mut ok);
}

/// Waits up to `limit` for `child` to exit; panics with the app's stderr.
pub fn wait_exit(
    desktop: &Desktop,
    child: &mut Child,
    limit: Duration,
) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "airlock did not quit; stderr:\n{}",
            desktop.app_stderr()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a line to stderr right away (test output is captured otherwise).
pub fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}
