//! The pure core reads no clock and no time zone: "now" and the zone come
//! in as arguments (`airlock_shared::time` says why), so everything in it
//! is tested with fixed values. A call that reads either, added anywhere
//! under `shared/src`, fails here.

use std::path::{Path, PathBuf};

/// Calls that read the clock or the system's zone (std, jiff, libc).
const FORBIDDEN: [&str; 9] = [
    "SystemTime::now",
    "Instant::now",
    "Timestamp::now",
    "Zoned::now",
    "ZonedDateTime::now",
    "TimeZone::system",
    "try_system",
    "tz::db(",
    "localtime",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read shared/src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn nothing_in_the_core_reads_the_clock_or_the_zone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(files.len() > 20, "found only {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for call in FORBIDDEN {
                if code.contains(call) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the pure core reads the clock or the zone:\n{}",
        found.join("\n")
    );
}
