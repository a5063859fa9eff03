//! Linux: the resolver files watched with inotify. Resolvers change
//! without any rtnetlink message (a DHCP renewal that hands out other DNS
//! servers), and a DHCP client may write them only after configuring the
//! address whose event made the helper look (NetworkManager does), so the
//! snapshot taken then still held the old ones. Watched: `/etc/resolv.conf`
//! itself (through its symlink, for in-place writes), its folder and the
//! folder of its target (for a new file renamed over it), and
//! systemd-resolved's list of upstreams. A watch follows an inode, and a
//! rename replaces it, so the watches are made afresh after every event.

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use airlock_shared::network::resolv::RESOLVED_UPSTREAMS;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

const RESOLV_CONF: &str = "/etc/resolv.conf";

/// What a file watch reports: written, or the file itself replaced/gone.
fn file_events() -> AddWatchFlags {
    AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
}

/// What a folder watch reports: a name created, renamed in or removed.
fn folder_events() -> AddWatchFlags {
    AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_FROM
}

/// The files to watch: `resolv_conf`, the symlink's target when it is
/// one (`/run/systemd/resolve/stub-resolv.conf`,
/// `/run/NetworkManager/resolv.conf`), and systemd-resolved's list of
/// upstreams, `upstreams`. Looked up afresh for every new set of watches:
/// the link may change.
fn watched_files(resolv_conf: &Path, upstreams: &Path) -> Vec<PathBuf> {
    let mut files = vec![resolv_conf.to_path_buf(), upstreams.to_path_buf()];
    if let Ok(target) = std::fs::canonicalize(resolv_conf) {
        if target != resolv_conf {
            files.push(target);
        }
    }
    files
}

/// A fresh inotify instance watching `files` and their folders; the file
/// names that matter in those folders.
fn watch(files: &[PathBuf]) -> std::io::Result<(Inotify, Vec<std::ffi::OsString>)> {
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    let mut names = Vec::new();
    for file in files {
        // A file that does not exist yet is seen through its folder.
        let _ = inotify.add_watch(file, file_events());
        if let (Some(folder), Some(name)) = (file.parent(), file.file_name()) {
            if inotify.add_watch(folder, folder_events()).is_ok() {
                names.push(name.to_owned());
            }
        }
    }
    Ok((inotify, names))
}

/// Whether an event is about a resolver file (a folder's other files
/// change too: /etc has many).
fn matters(name: Option<&OsStr>, names: &[std::ffi::OsString]) -> bool {
    name.is_none_or(|n| names.iter().any(|w| w == n))
}

/// An inotify instance as tokio's reactor wants it.
struct Watch(Inotify);

impl AsRawFd for Watch {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Sends `()` on `tx` after each burst of changes to the resolver files,
/// until the receiver is gone.
pub async fn run(coalesce: Duration, tx: mpsc::Sender<()>) -> std::io::Result<()> {
    let files = || watched_files(Path::new(RESOLV_CONF), Path::new(RESOLVED_UPSTREAMS));
    run_on(files, coalesce, tx).await
}

/// [`run`] for the files `files` names each time (tests watch their own).
async fn run_on(
    files: impl Fn() -> Vec<PathBuf>,
    coalesce: Duration,
    tx: mpsc::Sender<()>,
) -> std::io::Result<()> {
    let mut watching = Watching::new(&files())?;
    loop {
        watching.changed().await?;
        // Let the writer finish (write, then rename). Then watch afresh
        // before telling: the snapshot that follows reads the files after
        // the new watches exist, so no later change can fall in between.
        tokio::time::sleep(coalesce).await;
        watching = Watching::new(&files())?;
        if tx.send(()).await.is_err() {
            return Ok(());
        }
    }
}

/// One set of watches, registered with tokio's reactor.
struct Watching {
    afd: AsyncFd<Watch>,
    names: Vec<std::ffi::OsString>,
}

impl Watching {
    fn new(files: &[PathBuf]) -> std::io::Result<Watching> {
        let (inotify, names) = watch(files)?;
        // SAFETY: the Inotify owns its descriptor and keeps it open, the
        // same one, for as long as the AsyncFd owns the Inotify.
        let afd = unsafe { AsyncFd::register(Watch(inotify)) }?;
        Ok(Watching { afd, names })
    }

    /// Returns at the first event about a resolver file.
    async fn changed(&self) -> std::io::Result<()> {
        loop {
            let mut guard = self.afd.readable().await?;
            let events = match self.afd.get_ref().0.read_events() {
                Ok(events) => events,
                Err(nix::errno::Errno::EAGAIN) => {
                    guard.clear_ready();
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if events
                .iter()
                .any(|e| matters(e.name.as_deref(), &self.names))
            {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_resolver_files_of_a_folder_matter() {
        let names = vec!["resolv.conf".into()];
        assert!(matters(Some(OsStr::new("resolv.conf")), &names));
        assert!(!matters(Some(OsStr::new("passwd")), &names));
        assert!(matters(None, &names), "a file watch's own event");
    }

    #[test]
    fn a_symlinks_target_is_watched_too() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("stub-resolv.conf");
        std::fs::write(&target, "nameserver 127.0.0.53\n").unwrap();
        let link = dir.path().join("resolv.conf");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let upstreams = dir.path().join("upstreams.conf");
        let files = watched_files(&link, &upstreams);
        assert!(
            files.contains(&link) && files.contains(&target),
            "{files:?}"
        );
        let plain = dir.path().join("plain.conf");
        std::fs::write(&plain, "nameserver 192.0.2.1\n").unwrap();
        assert_eq!(
            watched_files(&plain, &upstreams)
                .iter()
                .filter(|f| **f == plain)
                .count(),
            1
        );
    }

    /// Whether a notification comes within `ms`.
    async fn told(rx: &mut mpsc::Receiver<()>, ms: u64) -> bool {
        tokio::time::timeout(Duration::from_millis(ms), rx.recv())
            .await
            .is_ok()
    }

    /// Against the kernel's inotify, in a folder of its own: an in-place
    /// write and a new file renamed over it are told, a neighbour's change
    /// is not, a write to the renamed-in file (a new inode, so new
    /// watches) is told again, and so is systemd-resolved's list of
    /// upstreams once it appears.
    #[test]
    fn every_way_of_rewriting_the_file_is_told_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("resolv.conf");
        let upstreams = dir.path().join("upstreams.conf");
        std::fs::write(&conf, "nameserver 192.0.2.1\n").unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (tx, mut rx) = mpsc::channel(4);
            let files = {
                let (conf, upstreams) = (conf.clone(), upstreams.clone());
                move || watched_files(&conf, &upstreams)
            };
            tokio::spawn(async move { run_on(files, Duration::from_millis(5), tx).await });
            // Let the watches be made before the first change.
            tokio::time::sleep(Duration::from_millis(50)).await;
            std::fs::write(&conf, "nameserver 192.0.2.2\n").unwrap();
            assert!(told(&mut rx, 2000).await, "an in-place write was not told");
            std::fs::write(dir.path().join("passwd"), "x\n").unwrap();
            assert!(!told(&mut rx, 300).await, "another file's change was told");
            let new = dir.path().join("resolv.conf.new");
            std::fs::write(&new, "nameserver 192.0.2.3\n").unwrap();
            std::fs::rename(&new, &conf).unwrap();
            assert!(told(&mut rx, 2000).await, "a rename over it was not told");
            // Drain what the rename's several events may have added.
            while told(&mut rx, 100).await {}
            std::fs::write(&conf, "nameserver 192.0.2.4\n").unwrap();
            assert!(
                told(&mut rx, 2000).await,
                "a write after the rename was not told"
            );
            while told(&mut rx, 100).await {}
            std::fs::write(&upstreams, "nameserver 192.0.2.5\n").unwrap();
            assert!(
                told(&mut rx, 2000).await,
                "systemd-resolved's upstreams appearing were not told"
            );
        });
    }
}
