//! Processes the tests start, and everything those start in turn, killed
//! by PID: the panel's plugin wrapper, the bus's activated `xfconfd` and
//! the helper's `nft monitor` would otherwise outlive the test.

use std::process::Child;

/// Kills its process, and the processes below it, by PID on drop.
pub struct Proc {
    pub name: &'static str,
    pub child: Child,
}

impl Proc {
    pub fn new(name: &'static str, child: Child) -> Proc {
        Proc { name, child }
    }

    /// SIGKILL to the whole tree under this process, children first
    /// listed before the parent dies (they are reparented after, and
    /// their PIDs would be harder to find).
    pub fn kill_tree(&mut self) {
        let Ok(pid) = i32::try_from(self.child.id()) else {
            return;
        };
        let below = descendants(pid);
        let _ = self.child.kill();
        let _ = self.child.wait();
        for p in below {
            // SAFETY: kill(2) by PID on a process this test started
            // (directly or not); reparented to init, not reaped by us.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill_tree();
    }
}

/// PIDs of `pid`'s children, recursively (from `/proc/PID/task/*/children`).
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(pid) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let text = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for c in text.split_whitespace().filter_map(|c| c.parse().ok()) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}
