//! "Show Rules…": the ruleset the helper loaded, as a text file the
//! desktop's editor opens. Written fresh each time, readable only by the
//! user (it names their VPN servers), into the per-user runtime folder.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A header so the file explains itself when found later.
pub fn document(backend: &str, text: &str) -> String {
    let comment = "#";
    let mut out = format!(
        "{comment} Airlock kill switch rules as loaded by the helper ({backend}).\n\
         {comment} Read-only copy: editing this file changes nothing.\n\n"
    );
    out.push_str(text);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// `XDG_RUNTIME_DIR` (per-user, private) or the system temp folder.
pub fn rules_dir() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(std::env::temp_dir)
}

/// Writes the document to `dir/airlock-rules-<backend>.txt`, mode 0600,
/// replacing any earlier copy (never following a planted symlink: the
/// old file is removed and the new one created exclusively).
pub fn write(dir: &Path, backend: &str, text: &str) -> io::Result<PathBuf> {
    let safe: String = backend
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    write_private(
        dir,
        &format!("airlock-rules-{safe}.txt"),
        &document(backend, text),
    )
}

/// Writes `contents` to `dir/name`, mode 0600, replacing any earlier copy
/// without following a planted symlink (see [`write`]). `name` is ours,
/// never the user's or the helper's.
pub fn write_private(dir: &Path, name: &str, contents: &str) -> io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(name);
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    f.write_all(contents.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_a_private_file_and_replaces_the_old_one() {
        let tmp = tempfile::tempdir().unwrap();
        let p = write(tmp.path(), "nft", "table inet airlock {\n}").unwrap();
        assert_eq!(p, tmp.path().join("airlock-rules-nft.txt"));
        let text = fs::read_to_string(&p).unwrap();
        assert!(text.contains("(nft)"));
        assert!(text.ends_with("table inet airlock {\n}\n"));
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let p2 = write(tmp.path(), "nft", "second").unwrap();
        assert_eq!(p, p2);
        assert!(fs::read_to_string(&p2).unwrap().ends_with("second\n"));
    }

    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, tmp.path().join("airlock-rules-pf.txt")).unwrap();
        write(tmp.path(), "pf", "rules").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }

    #[test]
    fn backend_name_cannot_escape_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let p = write(tmp.path(), "../../etc/x", "r").unwrap();
        assert_eq!(p.parent(), Some(tmp.path()));
    }
}
