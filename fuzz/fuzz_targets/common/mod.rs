//! The checks every config-parser target shares: a config is untrusted input
//! the user picked from anywhere, so parsing must never panic and what it
//! returns must hold together (real ports, lines that exist, resolvable specs).

use std::io;
use std::net::IpAddr;

use airlock_shared::import::{self, Format, ImportError, RemoteSpec};

/// Parses `data` as `format` and checks the result; `each` adds the
/// format's own checks on every spec.
pub fn check_config(data: &[u8], format: Format, each: impl Fn(&RemoteSpec)) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Format::detect(text);
    let lines = text.lines().count();
    match import::parse(text, format) {
        Ok(specs) => {
            assert!(!specs.is_empty(), "Ok with no remote");
            for spec in &specs {
                assert_ne!(spec.port, 0);
                assert!(
                    (1..=lines).contains(&spec.line),
                    "line {} of {lines}",
                    spec.line
                );
                each(spec);
                let dns = |_: &str| -> io::Result<Vec<IpAddr>> {
                    Ok(vec![
                        IpAddr::from([192, 0, 2, 1]),
                        "2001:db8::1".parse().expect("literal"),
                    ])
                };
                if let Ok(eps) = spec.resolve(&dns) {
                    assert!(eps.iter().all(|e| e.port == spec.port));
                }
            }
        }
        Err(ImportError::Syntax(e)) => {
            if let Some(line) = e.line() {
                assert!((1..=lines).contains(&line), "line {line} of {lines}: {e}");
            }
            let _ = e.to_string();
        }
        Err(other) => panic!("parse gave a non-syntax error: {other}"),
    }
}
