//! Endpoint import against the sample configs in tests/data. Every expected
//! endpoint below was written by reading the sample file, with a fake DNS
//! whose answers are listed in `dns()`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use airlock_shared::endpoint::{Endpoint, Origin, Transport};
use airlock_shared::import::{
    self, Client, Format, FoundConfig, ImportError, RemoteSpec, Resolve, ResolveError, SyntaxError,
    SystemResolver,
};
use airlock_shared::policy::Family;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A resolver with fixed answers that remembers what it was asked.
struct FakeDns {
    answers: HashMap<&'static str, Vec<IpAddr>>,
    asked: RefCell<Vec<String>>,
}

impl Resolve for FakeDns {
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self.asked.borrow_mut().push(host.to_string());
        self.answers
            .get(host)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "NXDOMAIN"))
    }
}

fn dns() -> FakeDns {
    let table: &[(&str, &[&str])] = &[
        ("nl1.vpn.example.com", &["203.0.113.10", "2001:db8:10::1"]),
        ("nl2.vpn.example.com", &["203.0.113.11"]),
        ("nl-alias.vpn.example.com", &["203.0.113.10"]),
        ("office.example.net", &["192.0.2.10"]),
        ("gw.example.com", &["192.0.2.7", "2001:db8::7"]),
        ("a.example.com", &["203.0.113.1"]),
        ("b.example.com", &["203.0.113.2"]),
        ("c.example.com", &["203.0.113.3", "2001:db8::3"]),
        ("unused.example.com", &["203.0.113.99"]),
        ("tcp.example.net", &["198.51.100.8", "2001:db8:8::8"]),
        ("dual.example.net", &["198.51.100.9", "2001:db8:9::9"]),
        ("ams.wg.example.com", &["203.0.113.50"]),
        ("old.wg.example.com", &["203.0.113.49"]),
        ("new.wg.example.net", &["203.0.113.51"]),
        ("v4only.example.com", &["192.0.2.200"]),
    ];
    FakeDns {
        answers: table
            .iter()
            .map(|(h, a)| (*h, a.iter().map(|s| ip(s)).collect()))
            .collect(),
        asked: RefCell::new(Vec::new()),
    }
}

fn ep(addr: &str, port: u16, protocol: Transport, host: Option<&str>) -> Endpoint {
    Endpoint {
        host: host.map(str::to_string),
        ..Endpoint::new(ip(addr), port, protocol)
    }
}

use Transport::{Tcp, Udp};

fn import(rel: &str, resolver: &FakeDns) -> Vec<Endpoint> {
    let got = import::import_file(&data(rel), resolver).unwrap_or_else(|e| panic!("{rel}: {e}"));
    // Equality ignores the record: check it here, for every import.
    for e in &got {
        assert_eq!(e.origin, Origin::Imported, "{rel}: {e}");
    }
    got
}

#[test]
fn provider_config_with_several_remotes_and_inline_certs() {
    let path = data("openvpn/provider-nl.ovpn");
    let bytes = fs::read(&path).unwrap();
    assert!(
        bytes.windows(2).any(|w| w == b"\r\n"),
        "sample must stay CRLF"
    );

    let specs = import::load(&path, None).unwrap();
    let spec = |host: &str, port, transport, line| RemoteSpec {
        host: host.into(),
        port,
        transport,
        family: None,
        line,
    };
    assert_eq!(
        specs,
        [
            spec("nl1.vpn.example.com", 1194, Udp, 11),
            spec("nl2.vpn.example.com", 1194, Udp, 12),
            spec("nl-alias.vpn.example.com", 1194, Udp, 13),
            spec("198.51.100.20", 443, Tcp, 14),
        ]
    );

    let dns = dns();
    let got = import::import_file(&path, &dns).unwrap();
    let nl1 = Some("nl1.vpn.example.com");
    assert_eq!(
        got,
        [
            ep("203.0.113.10", 1194, Udp, nl1),
            ep("2001:db8:10::1", 1194, Udp, nl1),
            ep("203.0.113.11", 1194, Udp, Some("nl2.vpn.example.com")),
            // nl-alias is nl1's first address again: deduplicated away.
            ep("198.51.100.20", 443, Tcp, None),
        ]
    );
    assert!(
        !dns.asked.borrow().iter().any(|h| h == "198.51.100.20"),
        "IP literals must not be resolved: {:?}",
        dns.asked.borrow()
    );
}

#[test]
fn viscosity_config() {
    assert_eq!(
        import("viscosity/OpenVPN/1/config.conf", &dns()),
        [
            ep("192.0.2.10", 1194, Udp, Some("office.example.net")),
            ep("192.0.2.44", 1194, Udp, None),
        ]
    );
}

#[test]
fn tunnelblick_config_remote_proto_overrides_top_level() {
    let gw = Some("gw.example.com");
    assert_eq!(
        import(
            "tunnelblick/Acme Corp.tblk/Contents/Resources/config.ovpn",
            &dns()
        ),
        [
            ep("192.0.2.7", 443, Tcp, gw),
            ep("2001:db8::7", 443, Tcp, gw),
            ep("192.0.2.7", 1194, Udp, gw),
            ep("2001:db8::7", 1194, Udp, gw),
        ]
    );
}

#[test]
fn connection_blocks_replace_top_level_remotes() {
    let dns = dns();
    assert_eq!(
        import("openvpn/connection-blocks.ovpn", &dns),
        [
            ep("203.0.113.1", 1194, Udp, Some("a.example.com")),
            // Inherits `proto tcp` and `port 443` from above the block.
            ep("203.0.113.2", 443, Tcp, Some("b.example.com")),
            // Its own port and udp4: the IPv6 address is not used.
            ep("203.0.113.3", 1195, Udp, Some("c.example.com")),
        ]
    );
    assert!(!dns.asked.borrow().iter().any(|h| h == "unused.example.com"));
}

#[test]
fn tcp_client_config_with_quoted_host() {
    let tcp = Some("tcp.example.net");
    assert_eq!(
        import("openvpn/tcp-client.ovpn", &dns()),
        [
            ep("198.51.100.8", 443, Tcp, tcp),
            ep("2001:db8:8::8", 443, Tcp, tcp),
            ep("198.51.100.8", 80, Tcp, tcp),
            ep("2001:db8:8::8", 80, Tcp, tcp),
            ep("203.0.113.80", 8443, Tcp, None),
        ]
    );
}

#[test]
fn udp6_keeps_only_ipv6_addresses() {
    let dual = Some("dual.example.net");
    assert_eq!(
        import("openvpn/ipv6.ovpn", &dns()),
        [
            ep("2001:db8:9::9", 1196, Udp, dual),
            ep("2001:db8::53", 1194, Udp, None),
            ep("2001:db8:9::9", 1194, Udp, dual),
            ep("198.51.100.9", 1197, Udp, dual),
        ]
    );
}

#[test]
fn wireguard_ipv6_endpoint() {
    assert_eq!(
        import("wireguard/wg0.conf", &dns()),
        [ep("2001:db8:5::1", 51820, Udp, None)]
    );
}

#[test]
fn wireguard_several_peers() {
    let dns = dns();
    assert_eq!(
        import("wireguard/multi-peer.conf", &dns),
        [
            ep("203.0.113.50", 51820, Udp, Some("ams.wg.example.com")),
            ep("198.51.100.77", 4500, Udp, None),
            ep("203.0.113.51", 51821, Udp, Some("new.wg.example.net")),
        ]
    );
    assert!(!dns.asked.borrow().iter().any(|h| h == "old.wg.example.com"));
}

#[test]
fn format_is_detected_from_content_and_can_be_overridden() {
    let detect = |rel: &str| Format::detect(&fs::read_to_string(data(rel)).unwrap());
    for rel in [
        "openvpn/provider-nl.ovpn",
        "openvpn/connection-blocks.ovpn",
        "viscosity/OpenVPN/1/config.conf",
        "broken/no-remote.ovpn",
    ] {
        assert_eq!(detect(rel), Format::OpenVpn, "{rel}");
    }
    for rel in [
        "wireguard/wg0.conf",
        "wireguard/multi-peer.conf",
        "broken/wg-no-endpoint.conf",
    ] {
        assert_eq!(detect(rel), Format::WireGuard, "{rel}");
    }
    // Read as OpenVPN, a WireGuard file names no `remote`.
    let err = import::import_file_as(&data("wireguard/wg0.conf"), Some(Format::OpenVpn), &dns())
        .unwrap_err();
    assert!(matches!(
        err.innermost(),
        ImportError::Syntax(SyntaxError::NoRemote)
    ));
}

fn syntax_error(rel: &str) -> SyntaxError {
    match import::load(&data(rel), None) {
        Err(ImportError::InFile { path, error }) => {
            assert_eq!(path, data(rel));
            match *error {
                ImportError::Syntax(e) => e,
                other => panic!("{rel}: not a syntax error: {other}"),
            }
        }
        other => panic!("{rel}: expected an error naming the file, got {other:?}"),
    }
}

#[test]
fn broken_configs_report_the_line() {
    use SyntaxError::*;
    let cases: Vec<(&str, SyntaxError)> = vec![
        (
            "broken/bad-port.ovpn",
            BadPort {
                line: 4,
                value: "11940x".into(),
            },
        ),
        (
            "broken/unknown-proto.ovpn",
            UnknownProto {
                line: 4,
                value: "sctp".into(),
            },
        ),
        (
            "broken/proto-directive.ovpn",
            UnknownProto {
                line: 5,
                value: "quic".into(),
            },
        ),
        ("broken/no-remote.ovpn", NoRemote),
        (
            "broken/unclosed-inline.ovpn",
            UnclosedBlock {
                line: 3,
                tag: "key".into(),
            },
        ),
        (
            "broken/connection-no-remote.ovpn",
            ConnectionWithoutRemote { line: 5 },
        ),
        (
            "broken/wg-bad-endpoint.conf",
            BadEndpoint {
                line: 6,
                value: "2001:db8::1".into(),
            },
        ),
        ("broken/wg-no-endpoint.conf", NoEndpoint),
    ];
    for (rel, want) in cases {
        assert_eq!(syntax_error(rel), want, "{rel}");
    }
}

#[test]
fn error_messages_name_file_and_line() {
    let path = data("broken/bad-port.ovpn");
    let msg = import::import_file(&path, &dns()).unwrap_err().to_string();
    assert!(msg.contains("bad-port.ovpn"), "{msg}");
    assert!(msg.contains("line 4"), "{msg}");
    assert!(msg.contains("11940x"), "{msg}");

    let msg = import::load(&data("broken/no-remote.ovpn"), None)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("no-remote.ovpn") && msg.contains("no `remote`"),
        "{msg}"
    );

    let missing = data("does-not-exist.ovpn");
    let err = import::import_file(&missing, &dns()).unwrap_err();
    assert!(
        matches!(&err, ImportError::Read { path, .. } if *path == missing),
        "{err:?}"
    );
}

#[test]
fn openvpn_defaults_follow_openvpn() {
    let parse = |text: &str| import::parse(text, Format::OpenVpn);
    let one = |text: &str| {
        let specs = parse(text).unwrap();
        assert_eq!(specs.len(), 1, "{text:?}");
        let s = &specs[0];
        (s.host.clone(), s.port, s.transport, s.family)
    };
    // Nothing said: 1194/udp, any family.
    assert_eq!(
        one("remote vpn.example.com"),
        ("vpn.example.com".into(), 1194, Udp, None)
    );
    // Top-level port/proto apply even when they come after the remote.
    assert_eq!(
        one("remote vpn.example.com\nport 1300\nproto tcp6\n"),
        ("vpn.example.com".into(), 1300, Tcp, Some(Family::V6))
    );
    // rport and port set the same thing; the last one wins.
    assert_eq!(
        one("port 1\nrport 2\nremote vpn.example.com"),
        ("vpn.example.com".into(), 2, Udp, None)
    );
    // `--` prefixes, a byte-order mark and single quotes are all accepted.
    assert_eq!(
        one("\u{feff}--remote 'vpn.example.com' 443 TCP-Client"),
        ("vpn.example.com".into(), 443, Tcp, None)
    );
    // A protocol can only follow a port: OpenVPN reads `tcp` as the port.
    assert_eq!(
        parse("client\nremote vpn.example.com tcp")
            .unwrap_err()
            .to_string(),
        SyntaxError::BadPort {
            line: 2,
            value: "tcp".into()
        }
        .to_string()
    );
    assert!(matches!(
        parse("remote a.example.com 1194 udp extra"),
        Err(ImportError::Syntax(SyntaxError::TooManyArguments {
            line: 1,
            ..
        }))
    ));
    assert!(matches!(
        parse("remote\n"),
        Err(ImportError::Syntax(SyntaxError::MissingArgument {
            line: 1,
            ..
        }))
    ));
    assert!(matches!(
        parse("remote a.example.com\nproto tcp-server\n"),
        Err(ImportError::Syntax(SyntaxError::UnknownProto {
            line: 2,
            ..
        }))
    ));
    assert!(matches!(
        parse("remote \"a.example.com 1194\n"),
        Err(ImportError::Syntax(SyntaxError::UnterminatedQuote {
            line: 1
        }))
    ));
    assert!(matches!(
        parse("<connection>\nremote a.example.com\n<connection>\n"),
        Err(ImportError::Syntax(SyntaxError::NestedConnection {
            line: 3
        }))
    ));
    assert!(matches!(
        parse("remote a.example.com\n</connection>\n"),
        Err(ImportError::Syntax(SyntaxError::StrayConnectionEnd {
            line: 2
        }))
    ));
    assert!(matches!(
        parse("<connection>\nremote a.example.com\n"),
        Err(ImportError::Syntax(SyntaxError::UnclosedBlock {
            line: 1,
            ..
        }))
    ));
}

#[test]
fn failed_lookup_is_a_typed_error_naming_the_host() {
    let mut dns = dns();
    dns.answers.remove("nl2.vpn.example.com");
    let err = import::import_file(&data("openvpn/provider-nl.ovpn"), &dns).unwrap_err();
    let msg = err.to_string();
    match err.innermost() {
        ImportError::Resolve(ResolveError::Lookup { host, .. }) => {
            assert_eq!(host, "nl2.vpn.example.com")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        msg.contains("provider-nl.ovpn") && msg.contains("nl2.vpn.example.com"),
        "{msg}"
    );

    // The caller can skip what fails and keep the rest.
    let specs = import::load(&data("openvpn/provider-nl.ovpn"), None).unwrap();
    let mut failed = Vec::new();
    let kept = import::dedup(specs.iter().flat_map(|s| match s.resolve(&dns) {
        Ok(eps) => eps,
        Err(e) => {
            failed.push(e.host().to_string());
            Vec::new()
        }
    }));
    assert_eq!(failed, ["nl2.vpn.example.com"]);
    assert_eq!(kept.len(), 3, "{kept:?}");
}

#[test]
fn family_restriction_with_no_matching_address_is_an_error() {
    let specs = import::parse(
        "proto udp6\nremote v4only.example.com 1194\n",
        Format::OpenVpn,
    )
    .unwrap();
    match specs[0].resolve(&dns()) {
        Err(ResolveError::NoAddressOfFamily { host, family }) => {
            assert_eq!((host.as_str(), family), ("v4only.example.com", Family::V6))
        }
        other => panic!("{other:?}"),
    }
    // A literal of the wrong family is refused the same way, without DNS.
    let specs = import::parse("remote 192.0.2.1 1194 udp6", Format::OpenVpn).unwrap();
    assert!(matches!(
        specs[0].resolve(&dns()),
        Err(ResolveError::NoAddressOfFamily { .. })
    ));
}

#[test]
fn closures_are_resolvers_and_names_stay_in_host() {
    let resolver = |host: &str| -> io::Result<Vec<IpAddr>> {
        assert_eq!(host, "vpn.example.com");
        Ok(vec![
            ip("2001:db8::2"),
            ip("203.0.113.2"),
            ip("2001:db8::2"),
        ])
    };
    let specs = import::parse("remote vpn.example.com 443 udp6", Format::OpenVpn).unwrap();
    let got = import::resolve_all(&specs, &resolver).unwrap();
    assert_eq!(got, [ep("2001:db8::2", 443, Udp, Some("vpn.example.com"))]);
}

#[test]
fn system_resolver_passes_literals_through() {
    // getaddrinfo answers numeric hosts without any DNS traffic.
    let got = SystemResolver.resolve("192.0.2.33").unwrap();
    assert_eq!(got, [ip("192.0.2.33")]);
}

/// Lays out a home folder and a filesystem root the way a Mac has them.
struct MacTree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
}

fn put(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn mac_tree() -> MacTree {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let home = root.join("Users/alice");
    let support = home.join("Library/Application Support");
    let vis = support.join("Viscosity/OpenVPN");
    fs::create_dir_all(&vis).unwrap();
    fs::copy(data("viscosity/OpenVPN/1/config.conf"), {
        fs::create_dir_all(vis.join("1")).unwrap();
        vis.join("1/config.conf")
    })
    .unwrap();
    put(
        &vis.join("10/config.conf"),
        "#viscosity name Tenth\nremote 198.51.100.10 1194\n",
    );
    put(&vis.join("2/config.conf"), "remote 198.51.100.2 443 tcp\n");
    fs::create_dir_all(vis.join("3")).unwrap(); // deleted connection: no config

    let tb = support.join("Tunnelblick/Configurations");
    put(
        &tb.join("Acme Corp.tblk/Contents/Resources/config.ovpn"),
        &fs::read_to_string(data(
            "tunnelblick/Acme Corp.tblk/Contents/Resources/config.ovpn",
        ))
        .unwrap(),
    );
    put(
        &tb.join("Flat.tblk/config.ovpn"),
        "remote 203.0.113.7 1194\n",
    );
    fs::create_dir_all(tb.join("Empty.tblk/Contents/Resources")).unwrap();
    put(&tb.join("Loose/config.ovpn"), "remote 203.0.113.8 1194\n");
    put(&tb.join("Stray.tblk"), "a file, not a bundle");

    put(
        &root.join(
            "Library/Application Support/Tunnelblick/Shared/Team.tblk/Contents/Resources/config.ovpn",
        ),
        "remote 203.0.113.9 1194\n",
    );

    let wg =
        "[Interface]\nPrivateKey = x\n\n[Peer]\nPublicKey = y\nEndpoint = 203.0.113.20:51820\n";
    put(&root.join("etc/wireguard/wg0.conf"), wg);
    put(&root.join("etc/wireguard/.conf"), wg); // no name: wg-quick skips it
    put(&root.join("etc/wireguard/notes.txt"), "not a config");
    put(
        &root.join("opt/homebrew/etc/wireguard/home.conf"),
        &wg.replace("203.0.113.20", "203.0.113.21"),
    );
    put(
        &root.join("usr/local/etc/wireguard/office.conf"),
        &wg.replace("203.0.113.20", "203.0.113.22"),
    );
    MacTree {
        _dir: dir,
        root,
        home,
    }
}

#[test]
fn discovers_viscosity_tunnelblick_and_wireguard_configs() {
    let t = mac_tree();
    let found = import::discover(&t.home, &t.root);
    let support = t.home.join("Library/Application Support");
    let vis = support.join("Viscosity/OpenVPN");
    let tb = support.join("Tunnelblick/Configurations");
    let shared = t
        .root
        .join("Library/Application Support/Tunnelblick/Shared");
    let cfg = |client, name: &str, path: PathBuf, shared| FoundConfig {
        client,
        name: name.into(),
        path,
        shared,
    };
    assert_eq!(
        found,
        [
            cfg(
                Client::Viscosity,
                "Office VPN",
                vis.join("1/config.conf"),
                false
            ),
            cfg(Client::Viscosity, "2", vis.join("2/config.conf"), false),
            cfg(
                Client::Viscosity,
                "Tenth",
                vis.join("10/config.conf"),
                false
            ),
            cfg(
                Client::Tunnelblick,
                "Acme Corp",
                tb.join("Acme Corp.tblk/Contents/Resources/config.ovpn"),
                false
            ),
            cfg(
                Client::Tunnelblick,
                "Flat",
                tb.join("Flat.tblk/config.ovpn"),
                false
            ),
            cfg(
                Client::Tunnelblick,
                "Team",
                shared.join("Team.tblk/Contents/Resources/config.ovpn"),
                true
            ),
            cfg(
                Client::WireGuard,
                "wg0",
                t.root.join("etc/wireguard/wg0.conf"),
                true
            ),
            cfg(
                Client::WireGuard,
                "home",
                t.root.join("opt/homebrew/etc/wireguard/home.conf"),
                true
            ),
            cfg(
                Client::WireGuard,
                "office",
                t.root.join("usr/local/etc/wireguard/office.conf"),
                true
            ),
        ]
    );

    // And every one found imports.
    let all = import::dedup(
        found
            .iter()
            .flat_map(|f| import::import_file(&f.path, &dns()).unwrap()),
    );
    assert_eq!(all.len(), 2 + 1 + 1 + 4 + 1 + 1 + 3, "{all:#?}");
}

#[test]
fn discovery_on_a_machine_without_clients_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(import::discover(&dir.path().join("Users/bob"), dir.path()).is_empty());
}
