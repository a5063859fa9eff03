//! Processes the tests start, and everything those start in turn, killed
//! by PID: the panel's plugin wrapper, the bus's activated `xfconfd` and
//! the helper's `nft monitor` would otherwise outlive the test.

use std::process::Child;

use airlock_lab::netns::descendants;

/// Kills its process, and the processes below it, by PID on drop.
pub struct Proc {
    pub name: &'static str,
    pub child: Child,
}

impl Proc {
    pub fn new(name: &'static str, child: Child) -> Proc {
        Proc { name, child }
    }

    /// Stops the whole tree under this process: SIGTERM first, so that
    /// e.g. Xvfb removes its lock file and socket, then SIGKILL to
    /// whatever is still there after a second. The tree is listed before
    /// the parent dies: reparented children are harder to find.
    pub fn kill_tree(&mut self) {
        let Ok(pid) = i32::try_from(self.child.id()) else {
            return;
        };
        let below = descendants(pid);
        let signal = |sig| {
            for p in below.iter().copied().chain([pid]) {
                // SAFETY: kill(2) by PID on processes this test started
                // (directly or not), not yet reaped by us.
                unsafe { libc::kill(p, sig) };
            }
        };
        signal(libc::SIGTERM);
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(1) {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        signal(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill_tree();
    }
}

/// PIDs of processes whose environment has `key=value`: how to find what
/// the desktop's bus activated (`xfconfd`), which the bus daemon
/// double-forks away so that it is nobody's child.
pub fn with_environment(key: &str, value: &str) -> Vec<i32> {
    let wanted = format!("{key}={value}");
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|p| p.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == wanted.as_bytes()))
        })
        .collect()
}
