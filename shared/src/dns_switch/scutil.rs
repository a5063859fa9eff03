//! The text `scutil` reads and prints (scutil(8)): its `show` and `list`
//! output parsed, and the command script that switches and restores.
//! Only top-level keys and arrays of strings are read: that is all a DNS
//! dictionary's `ServerAddresses` and Airlock's markers need. The script
//! edits dictionaries in place (`get`, `d.add`, `d.remove`, `set`), so
//! every other key keeps its exact value and type.
//!
//! Sample output in the tests is written by hand from scutil(8) and
//! published transcripts; UNVERIFIED against a Mac.

use std::fmt::Write;
use std::net::IpAddr;

use super::dict::{DnsDict, KEY_ORIGINAL, KEY_ORIGINAL_SERVERS, OVERRIDE_SERVERS};
use super::plan::{Original, Step};

/// `list` pattern for the services whose DNS the network published.
pub const LIST_STATE_DNS: &str = "State:/Network/Service/[^/]+/DNS";
/// `list` pattern for the services' `Setup:` DNS dictionaries (where the
/// override and its marker live).
pub const LIST_SETUP_DNS: &str = "Setup:/Network/Service/[^/]+/DNS";
/// Where configd names the primary service.
pub const PRIMARY_KEY: &str = "State:/Network/Global/IPv4";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScutilParseError {
    #[error("scutil output line {line}: {why}")]
    Line { line: usize, why: &'static str },
}

/// A service id that may go into a key and a command line: configd's ids
/// are UUIDs; anything else (spaces, slashes, newlines) is never used.
pub fn valid_service_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub fn setup_dns_key(id: &str) -> String {
    format!("Setup:/Network/Service/{id}/DNS")
}

/// `show KEY`: `None` for "No such key", else the dictionary's
/// top-level strings and arrays of strings.
pub fn parse_show(text: &str) -> Result<Option<DnsDict>, ScutilParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((n, first)) = lines.next() else {
        return Err(ScutilParseError::Line {
            line: 1,
            why: "no output",
        });
    };
    if first.trim() == "No such key" {
        return Ok(None);
    }
    if first.trim() != "<dictionary> {" {
        return Err(ScutilParseError::Line {
            line: n + 1,
            why: "expected `<dictionary> {`",
        });
    }
    let mut dict = DnsDict::default();
    // (key, values) of the array being read, and how deep inside
    // nested values we are (those are skipped).
    let mut array: Option<(String, Vec<String>)> = None;
    let mut skip_depth = 0usize;
    let mut closed = false;
    for (n, raw) in lines {
        let line = raw.trim();
        let err = |why| ScutilParseError::Line { line: n + 1, why };
        if closed {
            return Err(err("text after the dictionary"));
        }
        if skip_depth > 0 {
            if line.ends_with('{') {
                skip_depth += 1;
            } else if line == "}" {
                skip_depth -= 1;
            }
            continue;
        }
        if line == "}" {
            match array.take() {
                Some((key, values)) => assign(&mut dict, &key, values),
                None => closed = true,
            }
            continue;
        }
        let Some((key, value)) = line.split_once(" : ") else {
            return Err(err("expected `KEY : VALUE`"));
        };
        let (key, value) = (key.trim(), value.trim());
        if let Some((_, values)) = &mut array {
            // `N : value` inside an array.
            if key.parse::<usize>().is_err() {
                return Err(err("array entry without an index"));
            }
            if value.ends_with('{') {
                // A nested value inside an array: not a DNS string list.
                values.push(String::new());
                skip_depth = 1;
            } else {
                values.push(value.to_string());
            }
            continue;
        }
        match value {
            "<array> {" => array = Some((key.to_string(), Vec::new())),
            v if v.ends_with('{') => skip_depth = 1,
            v => {
                if key == KEY_ORIGINAL {
                    dict.original = Some(v.to_string());
                }
            }
        }
    }
    if !closed {
        return Err(ScutilParseError::Line {
            line: text.lines().count(),
            why: "dictionary not closed",
        });
    }
    Ok(Some(dict))
}

fn assign(dict: &mut DnsDict, key: &str, values: Vec<String>) {
    match key {
        "ServerAddresses" => dict.servers = Some(values),
        KEY_ORIGINAL_SERVERS => dict.original_servers = Some(values),
        _ => {}
    }
}

/// `list PATTERN`: the keys, from lines `  subKey [N] = KEY`.
pub fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let (left, key) = l.split_once(" = ")?;
            left.trim_start()
                .starts_with("subKey [")
                .then(|| key.trim().to_string())
        })
        .collect()
}

/// `PrimaryService : ID` in `show State:/Network/Global/IPv4`.
pub fn parse_primary_service(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(" : ")?;
        (k.trim() == "PrimaryService").then(|| v.trim().to_string())
    })
}

/// Only addresses go on a `d.add` line: a value with a space would be
/// two values, so anything that does not parse as an address (a scoped
/// IPv6 `fe80::1%en0` is kept) is not written. `None` if any is bad, so
/// a backup is never silently shortened.
fn address_words(values: &[String]) -> Option<String> {
    let ok = values.iter().all(|v| {
        let bare = v.split('%').next().unwrap_or("");
        bare.parse::<IpAddr>().is_ok() && !v.contains(char::is_whitespace)
    });
    ok.then(|| values.join(" "))
}

/// The scutil commands that carry out `steps`, or why not: a backup that
/// could not be written word for word fails the whole script, so nothing
/// is overridden that could not be put back. Starts with `open`, ends
/// with `quit`.
pub fn script(steps: &[Step]) -> Result<String, String> {
    let mut out = String::from("open\n");
    for step in steps {
        match step {
            Step::Override {
                service,
                original,
                keep_backup,
            } => {
                let key = setup_dns_key(service);
                // `d.init` first: should the key vanish between the read
                // and this script, `get` fails and the dictionary stays
                // empty instead of holding the previous step's.
                out.push_str("d.init\n");
                if *original != Original::Created || *keep_backup {
                    let _ = writeln!(out, "get {key}");
                }
                if !keep_backup {
                    match original {
                        Original::Created => {
                            let _ = writeln!(out, "d.add {KEY_ORIGINAL} created");
                        }
                        Original::NoServers => {
                            let _ = writeln!(out, "d.add {KEY_ORIGINAL} none");
                        }
                        Original::Servers(s) => {
                            let words = address_words(s).ok_or_else(|| {
                                format!("{key}: ServerAddresses {s:?} cannot be backed up exactly")
                            })?;
                            let _ = writeln!(out, "d.add {KEY_ORIGINAL} servers");
                            let _ = writeln!(out, "d.add {KEY_ORIGINAL_SERVERS} * {words}");
                        }
                    }
                }
                let _ = writeln!(
                    out,
                    "d.add ServerAddresses * {}\nset {key}",
                    OVERRIDE_SERVERS.join(" ")
                );
            }
            Step::Restore { service, original } => {
                let key = setup_dns_key(service);
                match original {
                    Original::Created => {
                        let _ = writeln!(out, "remove {key}");
                        continue;
                    }
                    Original::NoServers => {
                        let _ = writeln!(out, "d.init\nget {key}\nd.remove ServerAddresses");
                    }
                    Original::Servers(s) => {
                        let words = address_words(s)
                            .ok_or_else(|| format!("{key}: backup {s:?} is not addresses"))?;
                        let _ = writeln!(out, "d.init\nget {key}\nd.add ServerAddresses * {words}");
                    }
                }
                let _ = writeln!(
                    out,
                    "d.remove {KEY_ORIGINAL}\nd.remove {KEY_ORIGINAL_SERVERS}\nset {key}"
                );
            }
        }
    }
    out.push_str("quit\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manual DNS setting, as `show Setup:/Network/Service/ID/DNS` prints it.
    pub(crate) const MANUAL: &str = "<dictionary> {
  SearchDomains : <array> {
    0 : home.arpa
  }
  ServerAddresses : <array> {
    0 : 1.1.1.1
    1 : 2606:4700:4700::1111
  }
  SearchOrder : 5000
}
";

    #[test]
    fn show_reads_servers_and_markers_and_skips_the_rest() {
        let d = parse_show(MANUAL).unwrap().unwrap();
        assert_eq!(
            d.servers.as_deref(),
            Some(&["1.1.1.1".to_string(), "2606:4700:4700::1111".to_string()][..])
        );
        assert_eq!(d.original, None);
        let ours = "<dictionary> {
  AirlockOriginal : servers
  AirlockOriginalServerAddresses : <array> {
    0 : 1.1.1.1
  }
  Nested : <dictionary> {
    Inner : <array> {
      0 : x
    }
  }
  ServerAddresses : <array> {
    0 : 127.0.0.1
  }
}
";
        let d = parse_show(ours).unwrap().unwrap();
        assert_eq!(d.original.as_deref(), Some("servers"));
        assert_eq!(d.original_servers, Some(vec!["1.1.1.1".to_string()]));
        assert_eq!(d.servers, Some(vec!["127.0.0.1".to_string()]));
        assert_eq!(parse_show("  No such key\n").unwrap(), None);
    }

    #[test]
    fn show_output_that_is_not_a_dictionary_is_an_error_not_a_guess() {
        for bad in [
            "",
            "garbage\n",
            "<dictionary> {\n  ServerAddresses : <array> {\n",
            "<dictionary> {\n  no separator\n}\n",
            "<dictionary> {\n}\n}\n",
        ] {
            assert!(parse_show(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn list_and_primary_service() {
        let list = "  subKey [0] = State:/Network/Service/8C3F2D1A-1111-4C2B-9A63-0123456789AB/DNS
  subKey [1] = State:/Network/Service/B2E4-77/DNS
";
        assert_eq!(
            parse_list(list),
            [
                "State:/Network/Service/8C3F2D1A-1111-4C2B-9A63-0123456789AB/DNS",
                "State:/Network/Service/B2E4-77/DNS"
            ]
        );
        assert!(parse_list("  No such key\n").is_empty());
        let ipv4 = "<dictionary> {\n  PrimaryInterface : en0\n  PrimaryService : 8C3F-AB\n  Router : 192.168.1.1\n}\n";
        assert_eq!(parse_primary_service(ipv4).as_deref(), Some("8C3F-AB"));
        assert!(valid_service_id("8C3F2D1A-1111-4C2B-9A63-0123456789AB"));
        for bad in ["", "a b", "a/DNS", "x\nset y", &"a".repeat(65)] {
            assert!(!valid_service_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_script_edits_in_place_and_keeps_the_backup_beside_the_override() {
        let steps = [
            Step::Override {
                service: "S1".into(),
                original: Original::Servers(vec!["1.1.1.1".into(), "fe80::1%en0".into()]),
                keep_backup: false,
            },
            Step::Override {
                service: "S2".into(),
                original: Original::Created,
                keep_backup: false,
            },
            Step::Restore {
                service: "S3".into(),
                original: Original::NoServers,
            },
            Step::Restore {
                service: "S4".into(),
                original: Original::Created,
            },
        ];
        assert_eq!(
            script(&steps).unwrap(),
            "open
d.init
get Setup:/Network/Service/S1/DNS
d.add AirlockOriginal servers
d.add AirlockOriginalServerAddresses * 1.1.1.1 fe80::1%en0
d.add ServerAddresses * 127.0.0.1
set Setup:/Network/Service/S1/DNS
d.init
d.add AirlockOriginal created
d.add ServerAddresses * 127.0.0.1
set Setup:/Network/Service/S2/DNS
d.init
get Setup:/Network/Service/S3/DNS
d.remove ServerAddresses
d.remove AirlockOriginal
d.remove AirlockOriginalServerAddresses
set Setup:/Network/Service/S3/DNS
remove Setup:/Network/Service/S4/DNS
quit
"
        );
        let bad = Step::Override {
            service: "S1".into(),
            original: Original::Servers(vec!["1.1.1.1 set x".into()]),
            keep_backup: false,
        };
        assert!(script(&[bad]).is_err());
    }
}
