//! What the user chose. Persisted by the helper as TOML; every field has a
//! documented default, unknown keys are errors (a typo must never silently
//! weaken the kill switch), and a bad file is reported with its line and key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dns::{default_network_check_names, Name, ResolverNames};
use crate::endpoint::expiry::LearnedTtl;
use crate::endpoint::Endpoint;
use crate::network::classify::valid_pattern;
use crate::platform::Platform;

/// Everything the user can choose. A missing key takes the default below.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The kill switch itself. Off by default: installing Airlock must not
    /// cut anyone off before they have added their VPN.
    pub kill_switch: bool,
    /// Let traffic to the local network's own subnets through (printers,
    /// NAS, SSH to the router), plus link-local and multicast.
    pub allow_lan: bool,
    /// Let AirDrop/AWDL (`awdl0`, `llw0`) through; macOS only in effect.
    pub allow_airdrop: bool,
    /// Let IPP (port 631) to the local subnets through, for AirPrint.
    pub allow_airprint: bool,
    /// Let DNS to the network's own resolvers through, so a VPN configured
    /// by host name can look up its server while disconnected.
    pub allow_dns: bool,
    /// Everything passes until this Unix time (seconds); then the kill
    /// switch locks again by itself. For captive-portal logins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_until: Option<u64>,
    /// VPN servers that may be reached on physical interfaces, each with
    /// where it came from and when (`endpoint::Origin`).
    pub endpoints: Vec<Endpoint>,
    /// How long a learned endpoint stays after the VPN last used it
    /// (`"30d"`, `"12h"`, `"never"`; see `endpoint::expiry`). Added and
    /// imported endpoints never expire.
    #[serde(skip_serializing_if = "LearnedTtl::is_default")]
    pub learned_endpoint_ttl: LearnedTtl,
    /// Extra interface-name patterns to treat as tunnels (`name` or
    /// `prefix*`), for VPN clients with unusual interface names.
    pub tunnel_patterns: Vec<String>,
    /// Names the OS looks up to decide it is online; while blocking they get
    /// an immediate placeholder answer (see `dns::decide`). Unset means the
    /// platform's defaults (`dns::default_network_check_names`); an empty
    /// list turns the placeholder answers off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_check_names: Option<Vec<String>>,
    /// VPN server names to resolve while blocking, beyond the `host` kept on
    /// every endpoint (for VPN clients whose configs were not imported).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vpn_server_names: Vec<String>,
    /// macOS: when another program replaces pf's main ruleset without
    /// Apple's `anchor "com.apple/*"` hook (Internet Sharing, VM tools),
    /// put the hook back, keeping that program's rules, nat and tables.
    /// On by default: without the hook the kill switch is never consulted.
    /// Turn it off to manage /etc/pf.conf yourself; a missing hook is then
    /// only reported.
    #[serde(skip_serializing_if = "is_true")]
    pub pf_restore_hook: bool,
    /// Let only root's sockets reach the VPN servers outside the tunnel.
    /// Off by default. For VPN clients whose tunnel daemon runs as root
    /// (OpenVPN and WireGuard from the command line, Tunnelblick's and
    /// Viscosity's helpers): any other program could otherwise send data
    /// to the VPN server's address and port while everything is blocked.
    /// A client that connects as the user (some GUI apps) cannot connect
    /// with it on; `airlockctl doctor` says which kind is running.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub vpn_root_only: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            kill_switch: false,
            allow_lan: false,
            allow_airdrop: false,
            allow_airprint: false,
            allow_dns: false,
            pause_until: None,
            endpoints: Vec::new(),
            learned_endpoint_ttl: LearnedTtl::default(),
            tunnel_patterns: Vec::new(),
            network_check_names: None,
            vpn_server_names: Vec::new(),
            pf_restore_hook: true,
            vpn_root_only: false,
        }
    }
}

fn is_true(b: &bool) -> bool {
    *b
}

/// Why a settings file could not be used. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {key}{message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        /// `key `name`: ` when the offending key is known, else empty.
        key: String,
        message: String,
    },
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// A value that is well-formed TOML but makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct Invalid {
    pub key: String,
    pub message: String,
}

impl Settings {
    /// Reads and validates a settings file.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Settings::parse(&text, path)
    }

    /// Parses TOML text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Settings, SettingsError> {
        let settings: Settings = toml::from_str(text).map_err(|e| {
            let (line, column, key) = match e.span() {
                Some(span) => locate(text, span.start),
                None => (0, 0, None),
            };
            SettingsError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                key: key.map(|k| format!("key `{k}`: ")).unwrap_or_default(),
                message: e.message().trim().to_string(),
            }
        })?;
        settings.validate().map_err(|e| SettingsError::Invalid {
            path: path.to_path_buf(),
            key: e.key,
            message: e.message,
        })?;
        Ok(settings)
    }

    /// Checks what serde cannot: sane patterns, no port 0.
    pub fn validate(&self) -> Result<(), Invalid> {
        for (i, p) in self.tunnel_patterns.iter().enumerate() {
            if !valid_pattern(p) {
                return Err(Invalid {
                    key: format!("tunnel_patterns[{i}]"),
                    message: format!(
                        "{p:?} is not an interface name or `prefix*` pattern (letters, digits, `_.-`, at most 15 characters, one trailing `*`)"
                    ),
                });
            }
        }
        for (i, e) in self.endpoints.iter().enumerate() {
            if e.port == 0 {
                return Err(Invalid {
                    key: format!("endpoints[{i}].port"),
                    message: "port 0 is not a port a VPN server listens on".into(),
                });
            }
        }
        let lists = [
            (
                "network_check_names",
                self.network_check_names.as_deref().unwrap_or_default(),
            ),
            ("vpn_server_names", self.vpn_server_names.as_slice()),
        ];
        for (key, names) in lists {
            for (i, n) in names.iter().enumerate() {
                if let Err(e) = Name::from_dotted(n) {
                    return Err(Invalid {
                        key: format!("{key}[{i}]"),
                        message: format!("{e}"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The names the filtering resolver answers while blocking: the
    /// network-check names (the settings' own or `platform`'s defaults) and
    /// every VPN server name (each endpoint's `host`, then the user's own).
    /// Names that do not parse are left out (`validate` refuses them in a
    /// settings file; a `host` is a name the importer resolved).
    pub fn resolver_names(&self, platform: Platform) -> ResolverNames {
        let network_check = match &self.network_check_names {
            Some(names) => names
                .iter()
                .filter_map(|n| Name::from_dotted(n).ok())
                .collect(),
            None => default_network_check_names(platform)
                .iter()
                .filter_map(|n| Name::from_dotted(n).ok())
                .collect(),
        };
        let mut vpn_servers: Vec<Name> = Vec::new();
        let hosts = self.endpoints.iter().filter_map(|e| e.host.as_deref());
        for n in hosts.chain(self.vpn_server_names.iter().map(String::as_str)) {
            // A host that is an address literal is not a name to resolve.
            if n.parse::<std::net::IpAddr>().is_ok() {
                continue;
            }
            if let Ok(name) = Name::from_dotted(n) {
                if !vpn_servers.contains(&name) {
                    vpn_servers.push(name);
                }
            }
        }
        ResolverNames {
            network_check,
            vpn_servers,
        }
    }

    /// TOML text for persisting; infallible for this type.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| {
            // Only reachable if the struct gains a type TOML cannot hold.
            unreachable!("Settings must serialize to TOML: {e}")
        })
    }

    /// Whether a pause is in force at `now` (Unix seconds).
    pub fn paused_at(&self, now: u64) -> bool {
        self.kill_switch && self.pause_until.is_some_and(|t| t > now)
    }
}

/// 1-based line and column of a byte offset, plus the key on that line.
fn locate(text: &str, offset: usize) -> (usize, usize, Option<String>) {
    // The offset comes from the TOML parser's error span; never slice
    // mid-character, whatever it says.
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let line_text = text[line_start..].lines().next().unwrap_or("");
    let key = line_text
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    (line, column, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Transport;

    fn parse(text: &str) -> Result<Settings, SettingsError> {
        Settings::parse(text, Path::new("/etc/airlock/settings.toml"))
    }

    #[test]
    fn empty_file_is_all_defaults_and_kill_switch_off() {
        assert_eq!(parse("").unwrap(), Settings::default());
        assert!(!Settings::default().kill_switch);
    }

    #[test]
    fn full_file_round_trips() {
        let text = r#"
kill_switch = true
allow_lan = true
allow_dns = true
pause_until = 1700000000
tunnel_patterns = ["zt*", "nordlynx"]

[[endpoints]]
address = "198.51.100.7"
port = 1194
protocol = "udp"
host = "vpn.example.com"
"#;
        let s = parse(text).unwrap();
        assert!(s.kill_switch && s.allow_lan && s.allow_dns && !s.allow_airdrop);
        assert_eq!(s.endpoints[0].protocol, Transport::Udp);
        assert_eq!(s.endpoints[0].host.as_deref(), Some("vpn.example.com"));
        assert_eq!(parse(&s.to_toml()).unwrap(), s);
    }

    #[test]
    fn the_pf_hook_is_restored_unless_turned_off_and_only_off_is_written() {
        assert!(parse("").unwrap().pf_restore_hook);
        assert!(!Settings::default().to_toml().contains("pf_restore_hook"));
        let off = parse("pf_restore_hook = false\n").unwrap();
        assert!(!off.pf_restore_hook);
        assert!(off.to_toml().contains("pf_restore_hook = false"));
        assert_eq!(parse(&off.to_toml()).unwrap(), off);
    }

    #[test]
    fn learned_endpoint_ttl_defaults_to_30_days_and_is_written_only_when_changed() {
        let d = parse("").unwrap();
        assert_eq!(d.learned_endpoint_ttl.secs(), Some(30 * 86_400));
        assert!(!d.to_toml().contains("learned_endpoint_ttl"));
        for (text, secs) in [
            ("learned_endpoint_ttl = \"2s\"\n", Some(2)),
            ("learned_endpoint_ttl = \"never\"\n", None),
            ("learned_endpoint_ttl = 0\n", None),
            ("learned_endpoint_ttl = 3600\n", Some(3600)),
        ] {
            let s = parse(text).unwrap();
            assert_eq!(s.learned_endpoint_ttl.secs(), secs, "{text}");
            assert_eq!(parse(&s.to_toml()).unwrap(), s);
        }
        let msg = parse("learned_endpoint_ttl = \"a while\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(":1:") && msg.contains("learned_endpoint_ttl"),
            "{msg}"
        );
    }

    #[test]
    fn an_old_file_without_origins_loads_as_added_and_the_record_is_saved() {
        use crate::endpoint::Origin;
        let old = "kill_switch = true\n\n[[endpoints]]\naddress = \"198.51.100.7\"\nport = 1194\nprotocol = \"udp\"\n";
        let mut s = parse(old).unwrap();
        assert_eq!(s.endpoints[0].origin, Origin::Added);
        assert_eq!(s.endpoints[0].added_at, None);
        s.endpoints[0].origin = Origin::Learned;
        s.endpoints[0].added_at = Some(1_800_000_000);
        s.endpoints[0].last_seen = Some(1_800_000_060);
        let back = parse(&s.to_toml()).unwrap();
        let e = &back.endpoints[0];
        assert_eq!(
            (e.origin, e.added_at, e.last_seen),
            (Origin::Learned, Some(1_800_000_000), Some(1_800_000_060))
        );
    }

    #[test]
    fn type_error_names_file_line_and_key() {
        let err = parse("kill_switch = true\nallow_lan = \"yes\"\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("/etc/airlock/settings.toml:2:"), "{msg}");
        assert!(msg.contains("key `allow_lan`"), "{msg}");
    }

    #[test]
    fn unknown_key_is_an_error_not_ignored() {
        let msg = parse("kill_switch = true\nalow_lan = true\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains(":2:"), "{msg}");
        assert!(msg.contains("alow_lan"), "{msg}");
    }

    #[test]
    fn bad_endpoint_and_pattern_are_rejected() {
        let msg =
            parse("[[endpoints]]\naddress = \"vpn.example.com\"\nport = 1\nprotocol = \"udp\"\n")
                .unwrap_err()
                .to_string();
        assert!(msg.contains(":2:") || msg.contains(":1:"), "{msg}");
        let msg =
            parse("[[endpoints]]\naddress = \"198.51.100.7\"\nport = 0\nprotocol = \"udp\"\n")
                .unwrap_err()
                .to_string();
        assert!(msg.contains("endpoints[0].port"), "{msg}");
        let msg = parse("tunnel_patterns = [\"tun*x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("tunnel_patterns[0]"), "{msg}");
    }

    #[test]
    fn pause_only_counts_while_kill_switch_on_and_before_deadline() {
        let mut s = Settings {
            kill_switch: true,
            pause_until: Some(100),
            ..Settings::default()
        };
        assert!(s.paused_at(99));
        assert!(!s.paused_at(100));
        s.kill_switch = false;
        assert!(!s.paused_at(99));
    }

    #[test]
    fn an_offset_inside_a_character_locates_its_start() {
        // "é" is two bytes; the offset falls between them.
        let text = "x = 1\nname = \"é\"";
        let inside = text.find('é').unwrap() + 1;
        assert_eq!(super::locate(text, inside).0, 2);
        assert_eq!(super::locate(text, usize::MAX).0, 2);
    }

    #[test]
    fn resolver_names_default_per_platform_and_gather_endpoint_hosts() {
        let s = parse(
            "endpoints = [\n\
             { address = \"10.9.0.2\", port = 1194, protocol = \"udp\", host = \"vpn.lab.test\" },\n\
             { address = \"10.9.0.2\", port = 443, protocol = \"tcp\", host = \"VPN.lab.test.\" },\n\
             { address = \"10.9.0.3\", port = 1194, protocol = \"udp\", host = \"10.9.0.3\" },\n\
             ]\n\
             vpn_server_names = [\"wg.lab.test\"]\n",
        )
        .unwrap();
        let mac = s.resolver_names(Platform::Macos);
        let shown: Vec<String> = mac.vpn_servers.iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, ["vpn.lab.test", "wg.lab.test"]);
        assert!(mac
            .network_check
            .contains(&Name::from_dotted("captive.apple.com").unwrap()));
        let linux = s.resolver_names(Platform::Linux);
        assert!(!linux
            .network_check
            .contains(&Name::from_dotted("captive.apple.com").unwrap()));
        assert!(!linux.network_check.is_empty());
        // An explicit empty list turns the placeholder answers off.
        let off = parse("network_check_names = []\n").unwrap();
        assert!(off.resolver_names(Platform::Macos).network_check.is_empty());
        assert_eq!(parse(&off.to_toml()).unwrap(), off);
    }

    #[test]
    fn bad_resolver_names_are_rejected_with_their_key() {
        let e = parse("vpn_server_names = [\"ok.test\", \"a..b\"]\n").unwrap_err();
        assert!(e.to_string().contains("vpn_server_names[1]"), "{e}");
        let e = parse("network_check_names = [\"\"]\n").unwrap_err();
        assert!(e.to_string().contains("network_check_names[0]"), "{e}");
    }
}
