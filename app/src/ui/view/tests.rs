//! The view from the model: every menu state, in words.

use super::items::FIXED_IDS;
use super::*;
use crate::ui::servers::Source;
use airlock_shared::ipc::protocol::OptionName;
use airlock_shared::status::Protection;
use airlock_shared::time::hour_minute;
use airlock_test_support::status::for_protection as status;

fn model(link: Link) -> Model {
    let mut m = Model::new(LoginItem::Disabled);
    m.link = link;
    m
}

fn connected(p: Protection) -> Model {
    model(Link::Connected(status(p)))
}

/// Every protection state: icon, words, check marks, pause label.
#[test]
fn every_protection_state_renders_fully() {
    // (state, icon, status line, kill switch checked, pause label, pause enabled)
    let table = [
        (
            Protection::Protected,
            IconKind::Protected,
            "Protected — VPN utun4 → 198.51.100.7",
            true,
            PAUSE_LABEL,
            true,
        ),
        (
            Protection::Blocking,
            IconKind::Blocking,
            "Blocking — VPN is down, internet is off",
            true,
            PAUSE_LABEL,
            true,
        ),
        (
            Protection::Off,
            IconKind::Off,
            "Kill switch is off — traffic is not protected",
            false,
            PAUSE_LABEL,
            false,
        ),
        (
            Protection::Paused,
            IconKind::Paused,
            "Paused until 14:05",
            true,
            RESUME_LABEL,
            true,
        ),
        (
            Protection::Fault,
            IconKind::Fault,
            "Fault — the nftables table airlock is missing",
            true,
            PAUSE_LABEL,
            true,
        ),
    ];
    for (p, icon, line, ks, pause, pause_enabled) in table {
        let v = render(&connected(p), 0);
        assert_eq!(v.icon, icon, "{p:?}");
        assert_eq!(v.status_line, line, "{p:?}");
        assert_eq!(v.tooltip, format!("Airlock: {line}"), "{p:?}");
        assert_eq!(v.detail, None, "{p:?}");
        assert_eq!(
            v.kill_switch,
            Toggle {
                checked: ks,
                enabled: true
            },
            "{p:?}"
        );
        assert_eq!(v.pause.label, pause, "{p:?}");
        assert_eq!(v.pause.enabled, pause_enabled, "{p:?}");
        assert!(v.show_rules.enabled, "{p:?}");
        assert!(v.allow_lan.enabled && v.allow_airdrop.enabled, "{p:?}");
        assert_eq!(v.install_helper, None, "{p:?}");
    }
}

#[test]
fn icon_mapping_is_one_to_one() {
    let all = [
        Protection::Protected,
        Protection::Blocking,
        Protection::Off,
        Protection::Paused,
        Protection::Fault,
    ];
    let mut icons: Vec<_> = all.iter().map(|p| icon_for(*p)).collect();
    icons.push(IconKind::Unreachable);
    for (i, a) in icons.iter().enumerate() {
        assert!(!icons[i + 1..].contains(a), "{a:?} used twice");
    }
}

#[test]
fn options_are_checked_from_the_status() {
    for (lan, airdrop) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut s = status(Protection::Protected);
        s.options.allow_lan = lan;
        s.options.allow_airdrop = airdrop;
        let v = render(&model(Link::Connected(s)), 0);
        assert_eq!(v.allow_lan.checked, lan);
        assert_eq!(v.allow_airdrop.checked, airdrop);
    }
}

#[test]
fn unreachable_helper_is_amber_with_words_and_nothing_clickable() {
    let cases = [
        (Link::Connecting, "Connecting to the helper…", false),
        (
            Link::Unreachable(Unreachable::NotRunning),
            "Helper not running — Install Helper… sets it up",
            true,
        ),
        (
            Link::Unreachable(Unreachable::PermissionDenied),
            "Helper refused the connection — permission denied",
            false,
        ),
        (
            Link::Unreachable(Unreachable::VersionMismatch("1 vs 2".into())),
            "Helper version does not match — reinstall Airlock",
            false,
        ),
        (
            Link::Unreachable(Unreachable::Other("timed out".into())),
            "Helper not reachable — timed out",
            false,
        ),
    ];
    for (link, line, install) in cases {
        let v = render(&model(link.clone()), 0);
        assert_eq!(v.icon, IconKind::Unreachable, "{link:?}");
        assert_eq!(v.status_line, line);
        for t in [v.kill_switch, v.allow_lan, v.allow_airdrop] {
            // Unknown is shown unchecked and cannot be clicked: a
            // check mark must never claim a state nobody confirmed.
            assert_eq!(
                t,
                Toggle {
                    checked: false,
                    enabled: false
                },
                "{link:?}"
            );
        }
        assert!(!v.pause.enabled && !v.show_rules.enabled);
        assert_eq!(v.install_helper.is_some(), install, "{link:?}");
        // The login item is ours, not the helper's: still usable.
        assert!(v.start_at_login.enabled);
    }
}

#[test]
fn a_request_in_flight_freezes_the_menu_and_says_so() {
    let mut m = connected(Protection::Off);
    m.pending = Some(Action::SetKillSwitch(true));
    m.refusal = Some("old refusal".into());
    let v = render(&m, 0);
    assert_eq!(v.detail.as_deref(), Some("Turning on the kill switch…"));
    // Still the real state until the helper answers.
    assert_eq!(v.icon, IconKind::Off);
    assert!(!v.kill_switch.checked);
    for t in [v.kill_switch, v.allow_lan, v.allow_airdrop] {
        assert!(!t.enabled);
    }
    assert!(!v.pause.enabled && !v.show_rules.enabled);
    assert!(v.tooltip.ends_with("\nTurning on the kill switch…"));
}

#[test]
fn a_refusal_is_shown_under_the_unchanged_state() {
    let mut m = connected(Protection::Off);
    m.refusal = Some("Couldn't turn on the kill switch: not authorized — ask an admin".into());
    let v = render(&m, 0);
    assert_eq!(v.icon, IconKind::Off);
    assert!(!v.kill_switch.checked);
    assert!(v.kill_switch.enabled);
    assert_eq!(v.detail, m.refusal);
    assert!(v.tooltip.contains("not authorized"));
}

#[test]
fn login_item_reflects_the_system() {
    for (item, checked, enabled) in [
        (LoginItem::Enabled, true, true),
        (LoginItem::Disabled, false, true),
        (LoginItem::Unavailable("no home".into()), false, false),
        (LoginItem::RequiresApproval, false, true),
    ] {
        let mut m = connected(Protection::Protected);
        m.login_item = item.clone();
        let v = render(&m, 0);
        assert_eq!(v.start_at_login, Toggle { checked, enabled }, "{item:?}");
        let hint = item == LoginItem::RequiresApproval;
        assert_eq!(v.detail.is_some(), hint, "{item:?}: {:?}", v.detail);
    }
}

/// Awaiting approval: unchecked, says where to approve, and a click
/// asks to turn it on (which opens System Settings on macOS).
#[test]
fn a_login_item_awaiting_approval_says_where_to_approve() {
    let mut m = connected(Protection::Protected);
    m.login_item = LoginItem::RequiresApproval;
    let v = render(&m, 0);
    let detail = v.detail.clone().unwrap();
    assert!(
        detail.contains("System Settings → General → Login Items"),
        "{detail}"
    );
    assert!(v.tooltip.ends_with(&format!("\n{detail}")), "{}", v.tooltip);
    assert_eq!(
        command_for(Item::StartAtLogin, &m),
        Some(Command::SetLoginItem(true))
    );
    // A request in flight or a refusal is more urgent than the hint.
    m.refusal = Some("Couldn't turn on the kill switch: x".into());
    assert_eq!(render(&m, 0).detail, m.refusal);
    m.pending = Some(Action::Resume);
    assert_eq!(
        render(&m, 0).detail.as_deref(),
        Some(Action::Resume.progressive().as_str())
    );
}

#[test]
fn protected_line_copes_with_missing_tunnel_details() {
    let mut s = status(Protection::Protected);
    s.tunnel.endpoint = None;
    assert_eq!(status_line(&s, 0), "Protected — VPN utun4");
    s.tunnel.interface = None;
    assert_eq!(status_line(&s, 0), "Protected — VPN is up");
    s.tunnel.endpoint = Some("[2001:db8::1]:51820/udp".into());
    assert_eq!(status_line(&s, 0), "Protected — VPN → 2001:db8::1");
}

#[test]
fn paused_line_uses_local_time() {
    let mut s = status(Protection::Paused);
    // 14:05 UTC; two hours east it is 16:05, five west 09:05.
    assert_eq!(status_line(&s, 7200), "Paused until 16:05");
    assert_eq!(status_line(&s, -5 * 3600), "Paused until 09:05");
    s.paused_until = None;
    assert_eq!(status_line(&s, 0), "Paused — traffic is not protected");
}

#[test]
fn fault_line_falls_back_from_reason_to_problems_to_generic() {
    let mut s = status(Protection::Fault);
    s.reason = None;
    s.firewall.problems.clear();
    s.firewall.faults = vec![airlock_shared::status::Fault::CannotReadFirewall {
        error: "pfctl: not found".into(),
    }];
    assert_eq!(
        status_line(&s, 0),
        "Fault — cannot read the firewall: pfctl: not found"
    );
    s.firewall.faults.clear();
    assert_eq!(
        status_line(&s, 0),
        "Fault — the firewall rules are not in place"
    );
    s.reason = Some("x".repeat(500));
    let v = render(&model(Link::Connected(s)), 0);
    assert_eq!(v.status_line.chars().count(), MAX_LINE);
    assert!(v.status_line.ends_with('…'));
    // The tooltip keeps the whole reason.
    assert!(v.tooltip.contains(&"x".repeat(500)));
}

#[test]
fn endpoint_hosts() {
    for (e, h) in [
        ("198.51.100.7:1194/udp", "198.51.100.7"),
        ("198.51.100.7", "198.51.100.7"),
        ("vpn.example.com:443/tcp", "vpn.example.com"),
        ("[2001:db8::1]:51820/udp", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("host:", "host:"),
    ] {
        assert_eq!(endpoint_host(e), h, "{e}");
    }
}

#[test]
fn clock_wraps_days_and_negative_offsets() {
    assert_eq!(hour_minute(0, 0), "00:00");
    assert_eq!(hour_minute(0, -60), "23:59");
    assert_eq!(hour_minute(86_399, 0), "23:59");
    assert_eq!(hour_minute(50_700, 0), "14:05");
    assert_eq!(hour_minute(50_700, 45 * 60 + 5 * 3600), "19:50");
}

#[test]
fn clicks_follow_the_real_state_not_the_check_mark() {
    use Command::Helper;
    let cases = [
        (
            Protection::Off,
            Item::KillSwitch,
            Some(Helper(Action::SetKillSwitch(true))),
        ),
        (
            Protection::Protected,
            Item::KillSwitch,
            Some(Helper(Action::SetKillSwitch(false))),
        ),
        (
            Protection::Blocking,
            Item::KillSwitch,
            Some(Helper(Action::SetKillSwitch(false))),
        ),
        (
            Protection::Paused,
            Item::KillSwitch,
            Some(Helper(Action::SetKillSwitch(false))),
        ),
        (
            Protection::Fault,
            Item::KillSwitch,
            Some(Helper(Action::SetKillSwitch(false))),
        ),
        (
            Protection::Protected,
            Item::Pause,
            Some(Helper(Action::Pause {
                seconds: PAUSE_SECONDS,
            })),
        ),
        (
            Protection::Paused,
            Item::Pause,
            Some(Helper(Action::Resume)),
        ),
        (Protection::Off, Item::Pause, None),
        (
            Protection::Protected,
            Item::AllowLan,
            Some(Helper(Action::SetOption(OptionName::AllowLan, true))),
        ),
        (
            Protection::Protected,
            Item::AllowAirdrop,
            Some(Helper(Action::SetOption(OptionName::AllowAirdrop, false))),
        ),
        (
            Protection::Off,
            Item::ShowRules,
            Some(Helper(Action::ShowRules)),
        ),
        (
            Protection::Off,
            Item::StartAtLogin,
            Some(Command::SetLoginItem(true)),
        ),
        (Protection::Off, Item::InstallHelper, None),
        (Protection::Off, Item::Quit, Some(Command::Quit)),
    ];
    for (p, item, want) in cases {
        let mut s = status(p);
        s.options.allow_airdrop = true;
        let m = model(Link::Connected(s));
        assert_eq!(command_for(item.clone(), &m), want, "{p:?} {item:?}");
    }
}

#[test]
fn clicks_do_nothing_while_busy_or_unreachable() {
    let mut busy = connected(Protection::Protected);
    busy.pending = Some(Action::Resume);
    let down = model(Link::Unreachable(Unreachable::NotRunning));
    for m in [&busy, &down] {
        for item in [
            Item::KillSwitch,
            Item::AllowLan,
            Item::AllowAirdrop,
            Item::Pause,
            Item::ShowRules,
        ] {
            assert_eq!(command_for(item.clone(), m), None, "{item:?} {:?}", m.link);
        }
        assert_eq!(command_for(Item::Quit, m), Some(Command::Quit));
    }
    assert_eq!(
        command_for(Item::InstallHelper, &down),
        Some(Command::InstallHelper)
    );
    let mut login = down.clone();
    login.login_item = LoginItem::Enabled;
    assert_eq!(
        command_for(Item::StartAtLogin, &login),
        Some(Command::SetLoginItem(false))
    );
}

mod servers_menu {
    use super::*;
    use crate::ui::servers::{FoundConnection, Provenance};
    use airlock_shared::endpoint::Transport;
    use airlock_shared::import::{Client, RemoteSpec};
    use airlock_shared::status::TunnelState;

    fn found(client: Client, name: &str, path: &str, host: &str) -> FoundConnection {
        FoundConnection {
            client,
            name: name.into(),
            path: path.into(),
            servers: Ok(vec![RemoteSpec {
                host: host.into(),
                port: 1194,
                transport: Transport::Udp,
                family: None,
                line: 1,
            }]),
        }
    }

    /// Kill switch off, no tunnel, nothing allowed; two connections on
    /// disk and one unreadable.
    fn fresh() -> Model {
        let mut s = status(Protection::Off);
        s.tunnel.state = TunnelState::Down;
        s.tunnel.interface = None;
        s.tunnel.endpoint = None;
        s.endpoints = 0;
        let mut m = model(Link::Connected(s));
        m.servers.allowed = Some(vec![]);
        m.servers.found = vec![
            found(
                Client::Viscosity,
                "Office VPN",
                "/v/1/config.conf",
                "198.51.100.7",
            ),
            found(
                Client::Tunnelblick,
                "Acme",
                "/t/Acme.tblk/config.ovpn",
                "203.0.113.7",
            ),
            FoundConnection {
                servers: Err("permission denied".into()),
                ..found(Client::WireGuard, "wg0", "/etc/wireguard/wg0.conf", "x")
            },
        ];
        m
    }

    fn labels(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                Row::Label(t) => format!("({t})"),
                Row::Separator => "---".into(),
                Row::Button { label, enabled, .. } => {
                    format!("{label}{}", if *enabled { "" } else { " [off]" })
                }
                Row::Submenu { label, rows } => format!("{label} > {:?}", labels(rows)),
            })
            .collect()
    }

    #[test]
    fn lists_what_was_found_by_app_name_and_offers_the_import() {
        let v = render(&fresh(), 0);
        assert_eq!(
            labels(&v.servers),
            [
                "(No VPN server allowed yet: the VPN cannot connect while the kill switch blocks)",
                "---",
                "(Found on this computer:)",
                "Allow Office VPN (Viscosity)",
                "Allow Acme (Tunnelblick)",
                "(wg0 (WireGuard) — permission denied)",
                "---",
                "Import VPN Configuration…",
            ]
        );
        let m = fresh();
        assert_eq!(
            command_for(Item::AllowFound("/v/1/config.conf".into()), &m),
            Some(Command::Helper(Action::Allow {
                what: Allowing::Config {
                    label: "Office VPN (Viscosity)".into(),
                    path: "/v/1/config.conf".into(),
                    source: Source::Found {
                        client: "Viscosity".into(),
                        name: "Office VPN".into()
                    },
                },
                then_enable: false,
            }))
        );
        // Not shown (unreadable, unknown): nothing happens.
        for path in ["/etc/wireguard/wg0.conf", "/nowhere"] {
            assert_eq!(command_for(Item::AllowFound(path.into()), &m), None);
        }
        assert_eq!(
            command_for(Item::Import, &m),
            Some(Command::PickFile { then_enable: false })
        );
        // One dialog at a time.
        let mut m = m;
        m.picking = true;
        assert_eq!(command_for(Item::Import, &m), None);
    }

    #[test]
    fn allowed_entries_say_where_from_and_since_when_and_remove() {
        let mut m = fresh();
        let e: Endpoint = "198.51.100.7:1194/udp".parse().unwrap();
        m.servers.allowed = Some(vec![e.clone()]);
        m.servers.ledger.insert(
            e.to_string(),
            Provenance {
                source: m.servers.found[0].source(),
                since: 1_796_295_720,
            },
        );
        let v = render(&m, 0);
        let rows = labels(&v.servers);
        assert_eq!(rows[0], "(Allowed while the kill switch blocks:)");
        assert_eq!(
            rows[1],
            "Office VPN (Viscosity) > [\"(198.51.100.7:1194/udp)\", \"(Viscosity, since 2026-12-03 11:02)\", \"---\", \"Remove\"]"
        );
        // Allowed now: no longer among the found ones.
        assert!(!rows.iter().any(|r| r == "Allow Office VPN (Viscosity)"));
        assert!(rows.iter().any(|r| r == "Allow Acme (Tunnelblick)"));
        assert_eq!(
            command_for(Item::Remove(vec![e.to_string()]), &m),
            Some(Command::Helper(Action::Remove {
                label: "Office VPN (Viscosity)".into(),
                endpoints: vec![e.clone()],
            }))
        );
        assert_eq!(
            command_for(Item::Remove(vec!["203.0.113.1:1/udp".into()]), &m),
            None
        );
        // Busy: shown, not clickable.
        m.pending = Some(Action::Resume);
        assert_eq!(command_for(Item::Remove(vec![e.to_string()]), &m), None);
    }

    /// A learned server says so with its dates (the helper's, not a
    /// guess), and one pinned from a DNS answer is shown beside the
    /// others with no "Remove": it is the helper's and goes by itself.
    #[test]
    fn learned_and_pinned_servers_are_worded_by_the_helper() {
        use airlock_shared::endpoint::Origin;
        let mut m = fresh();
        let mut learned: Endpoint = "203.0.113.5:51820/udp".parse().unwrap();
        learned = learned.with_origin(Origin::Learned);
        learned.added_at = Some(1_796_295_720);
        learned.last_seen = Some(1_796_295_720 + 600);
        let mut named: Endpoint = "198.51.100.9:1194/udp".parse().unwrap();
        named.host = Some("vpn.example.com".into());
        m.servers.allowed = Some(vec![learned.clone(), named.clone()]);
        let mut pinned = named.clone();
        pinned.address = "198.51.100.10".parse().unwrap();
        if let Link::Connected(s) = &mut m.link {
            s.resolver = Some(Box::new(airlock_shared::status::ResolverStatus {
                active: true,
                network_check_names: 0,
                vpn_server_names: 1,
                pinned: vec![airlock_shared::dns::AnsweredPin {
                    endpoint: pinned.clone(),
                    expires_at: 1_796_295_720 + 300,
                }],
                upstreams: vec![],
            }));
        }
        let rows = labels(&render(&m, 0).servers);
        assert_eq!(
            &rows[1..4],
            [
                "198.51.100.9:1194/udp (vpn.example.com) > [\"(198.51.100.9:1194/udp (vpn.example.com))\", \"(Added by hand)\", \"---\", \"Remove\"]",
                "203.0.113.5:51820/udp > [\"(203.0.113.5:51820/udp)\", \"(Learned from the VPN, since 2026-12-03 11:02, last seen 2026-12-03 11:12)\", \"---\", \"Remove\"]",
                "198.51.100.10:1194/udp (vpn.example.com) > [\"(198.51.100.10:1194/udp (vpn.example.com))\", \"(Pinned by a DNS answer until 2026-12-03 11:07)\"]",
            ]
        );
        assert_eq!(
            command_for(Item::Remove(vec![pinned.to_string()]), &m),
            None,
            "a pin cannot be removed"
        );
    }

    #[test]
    fn turning_on_with_nothing_allowed_and_no_tunnel_asks_first() {
        let mut m = fresh();
        assert!(m.enabling_dead_ends());
        assert_eq!(command_for(Item::KillSwitch, &m), Some(Command::Ask));
        m.asking = true;
        let v = render(&m, 0);
        assert_eq!(
            v.detail.as_deref(),
            Some(
                "Your VPN won't be able to connect. Allow a VPN connection found on this computer?"
            )
        );
        assert_eq!(
            labels(&v.choices),
            [
                "Allow Office VPN (Viscosity) and Turn On",
                "Allow Acme (Tunnelblick) and Turn On",
                IMPORT_AND_ENABLE_LABEL,
                ENABLE_ANYWAY_LABEL,
                NOT_NOW_LABEL,
            ]
        );
        assert!(matches!(
            command_for(
                Item::AllowFoundAndEnable("/t/Acme.tblk/config.ovpn".into()),
                &m
            ),
            Some(Command::Helper(Action::Allow {
                then_enable: true,
                ..
            }))
        ));
        assert_eq!(
            command_for(Item::EnableAnyway, &m),
            Some(Command::Helper(Action::SetKillSwitch(true)))
        );
        assert_eq!(command_for(Item::NotNow, &m), Some(Command::Dismiss));
        assert_eq!(
            command_for(Item::ImportAndEnable, &m),
            Some(Command::PickFile { then_enable: true })
        );
        // Nothing found: the question says to import instead.
        m.servers.found.clear();
        assert!(render(&m, 0)
            .detail
            .unwrap()
            .ends_with("Import its configuration?"));
        // A tunnel up (the helper can learn its server) or a server
        // allowed: no question, the switch just turns on, and an old
        // question disappears.
        for change in [0, 1] {
            let mut m = fresh();
            m.asking = true;
            if let Link::Connected(s) = &mut m.link {
                if change == 0 {
                    s.tunnel.state = TunnelState::Up;
                } else {
                    s.endpoints = 1;
                }
            }
            assert_eq!(
                command_for(Item::KillSwitch, &m),
                Some(Command::Helper(Action::SetKillSwitch(true)))
            );
            let v = render(&m, 0);
            assert!(v.choices.is_empty() && v.detail.is_none(), "{v:?}");
        }
        // Outside the question its choices do nothing.
        let m = fresh();
        assert_eq!(command_for(Item::EnableAnyway, &m), None);
        assert_eq!(command_for(Item::NotNow, &m), None);
    }

    #[test]
    fn a_tunnel_whose_server_is_unknown_can_be_allowed_in_one_click() {
        let mut m = fresh();
        let has = |m: &Model| {
            labels(&render(m, 0).servers)
                .iter()
                .any(|l| l == ALLOW_CONNECTED_LABEL)
        };
        assert!(!has(&m), "no tunnel");
        if let Link::Connected(s) = &mut m.link {
            s.tunnel.state = TunnelState::Up;
        }
        assert!(has(&m));
        assert_eq!(
            command_for(Item::AllowConnectedNow, &m),
            Some(Command::Helper(Action::AllowConnectedNow))
        );
        assert_eq!(
            Action::AllowConnectedNow.request(),
            Some(airlock_shared::ipc::protocol::RequestBody::LearnEndpoints)
        );
        // Its server is known (and so allowed): nothing to offer.
        if let Link::Connected(s) = &mut m.link {
            s.tunnel.endpoint = Some("198.51.100.7:1194/udp".into());
        }
        assert!(!has(&m));
        assert_eq!(command_for(Item::AllowConnectedNow, &m), None);
    }

    #[test]
    fn airprint_and_dns_are_toggles_of_their_own() {
        let mut s = status(Protection::Protected);
        s.options.allow_airprint = true;
        let m = model(Link::Connected(s));
        let v = render(&m, 0);
        assert!(v.allow_airprint.checked && !v.allow_dns.checked);
        assert_eq!(
            command_for(Item::AllowAirprint, &m),
            Some(Command::Helper(Action::SetOption(
                OptionName::AllowAirprint,
                false
            )))
        );
        assert_eq!(
            command_for(Item::AllowDns, &m),
            Some(Command::Helper(Action::SetOption(
                OptionName::AllowDns,
                true
            )))
        );
    }

    #[test]
    fn every_item_id_reads_back() {
        let items = FIXED_IDS.iter().map(|(_, i)| i.clone()).chain([
            Item::AllowFound("/home/a b/Library/x:y/config.conf".into()),
            Item::AllowFoundAndEnable("/etc/wireguard/wg0.conf".into()),
            Item::Remove(vec![
                "198.51.100.7:1194/udp".into(),
                "[2001:db8::1]:51820/udp".into(),
            ]),
            Item::Suggested("dns".into()),
            Item::Suggested("203.0.113.9:500/udp 203.0.113.9:4500/udp".into()),
        ]);
        for item in items {
            assert_eq!(
                Item::from_id(&item.id()),
                Some(item.clone()),
                "{}",
                item.id()
            );
        }
        assert_eq!(Item::from_id("status"), None);
    }

    #[test]
    fn after_install_the_status_says_what_happens_next() {
        let mut m = model(Link::Unreachable(Unreachable::NotRunning));
        m.installing = Some(crate::helper_install::NEXT_STEP.into());
        let v = render(&m, 0);
        assert_eq!(v.detail.as_deref(), Some(crate::helper_install::NEXT_STEP));
    }
}

mod blocked_menu {
    use super::*;
    use crate::ui::model::Blocked;
    use crate::ui::protection_test::ProtectionTest;
    use airlock_shared::blocked::{
        BlockedDirection, BlockedEntry, BlockedReport, InterfaceRef, Sender,
    };
    use airlock_shared::policy::Protocol;
    use airlock_shared::selftest::{CheckResult, Plan, Report};

    fn entry(dst: &str, port: u16, count: u64) -> BlockedEntry {
        BlockedEntry {
            dst: dst.parse().unwrap(),
            dst_port: Some(port),
            protocol: Protocol::Udp,
            direction: BlockedDirection::Out,
            interface: InterfaceRef::Name("eth0".into()),
            sender: Sender {
                uid: Some(1000),
                ..Sender::default()
            },
            name: None,
            last_src: "192.168.1.20".parse().unwrap(),
            count,
            first_seen_ms: 0,
            last_seen_ms: 100_000,
        }
    }

    /// Blocking, nothing allowed, the list read 10 s after the packets.
    fn blocking(entries: Vec<BlockedEntry>) -> Model {
        let mut m = connected(Protection::Blocking);
        if let Link::Connected(s) = &mut m.link {
            s.options.allow_dns = false;
        }
        m.servers.allowed = Some(vec![]);
        m.blocked = Some(Blocked {
            report: BlockedReport {
                reading: true,
                entries,
                ..BlockedReport::default()
            },
            at_ms: 110_000,
        });
        m
    }

    fn texts(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                Row::Label(t) => format!("({t})"),
                Row::Separator => "--".into(),
                Row::Button { label, enabled, .. } => {
                    format!("{label}{}", if *enabled { "" } else { " [off]" })
                }
                Row::Submenu { label, .. } => format!("{label} >"),
            })
            .collect()
    }

    #[test]
    fn top_rows_then_suggestions_then_show_all() {
        let m = blocking(vec![
            entry("192.168.1.1", 53, 14),
            entry("198.51.100.7", 1194, 3),
            entry("224.0.0.251", 5353, 40),
        ]);
        assert_eq!(
            texts(&render(&m, 0).blocked),
            [
                "(uid 1000 → 192.168.1.1:53 (DNS) ×14, 10 s ago)",
                "(uid 1000 → 198.51.100.7:1194 (OpenVPN?) ×3, 10 s ago)",
                "(uid 1000 → 224.0.0.251:5353/udp ×40, 10 s ago)",
                "--",
                "Turn On DNS While Disconnected (DNS to 192.168.1.1 blocked)",
                "Allow 198.51.100.7:1194/udp as a VPN Server? (OpenVPN's port)",
                "--",
                "Show All…",
            ]
        );
        // Each suggestion's click is its change, through the helper.
        assert_eq!(
            command_for(Item::Suggested("dns".into()), &m),
            Some(Command::Helper(Action::SetOption(
                OptionName::AllowDns,
                true
            )))
        );
        match command_for(Item::Suggested("198.51.100.7:1194/udp".into()), &m) {
            Some(Command::Helper(a @ Action::Allow { .. })) => assert_eq!(
                a.request(),
                Some(airlock_shared::ipc::protocol::RequestBody::AddEndpoints {
                    endpoints: vec!["198.51.100.7:1194/udp".parse().unwrap()]
                })
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            command_for(Item::ShowBlocked, &m),
            Some(Command::ShowBlocked)
        );
        // A suggestion not shown (any more) does nothing.
        assert_eq!(
            command_for(Item::Suggested("203.0.113.1:1194/udp".into()), &m),
            None
        );
    }

    #[test]
    fn suggestions_only_while_blocking_and_frozen_while_busy() {
        let entries = vec![entry("192.168.1.1", 53, 1)];
        let mut m = blocking(entries.clone());
        m.pending = Some(Action::Resume);
        let rows = render(&m, 0).blocked;
        assert!(texts(&rows).contains(
            &"Turn On DNS While Disconnected (DNS to 192.168.1.1 blocked) [off]".to_string()
        ));
        assert_eq!(command_for(Item::Suggested("dns".into()), &m), None);
        for p in [Protection::Protected, Protection::Off, Protection::Paused] {
            let mut m = blocking(entries.clone());
            if let Link::Connected(s) = &mut m.link {
                s.protection = p;
            }
            let t = texts(&render(&m, 0).blocked);
            assert!(!t.iter().any(|r| r.starts_with("Turn On")), "{p:?}: {t:?}");
        }
        // The allowed list unknown: no suggestion (it might be allowed).
        let mut m = blocking(vec![entry("198.51.100.7", 1194, 1)]);
        m.servers.allowed = None;
        assert!(m.suggestions().is_empty());
    }

    #[test]
    fn before_the_first_read_empty_unread_and_long_lists() {
        let m = connected(Protection::Blocking);
        assert_eq!(
            texts(&render(&m, 0).blocked),
            ["(Reading what was blocked…)"]
        );
        assert_eq!(command_for(Item::ShowBlocked, &m), None);
        let m = model(Link::Connecting);
        assert_eq!(
            texts(&render(&m, 0).blocked),
            ["(Unknown until the helper answers)"]
        );
        let mut m = blocking(vec![]);
        if let Some(b) = &mut m.blocked {
            b.report.reading = false;
            b.report.problem = Some("NFLOG group 7: permission denied".into());
        }
        assert_eq!(
            texts(&render(&m, 0).blocked),
            [
                "(Not reading the firewall's log: NFLOG group 7: permission denied)",
                "(Nothing blocked recently)",
                "--",
                "Show All…"
            ]
        );
        let m = blocking(
            (0..12)
                .map(|i| entry(&format!("10.0.0.{i}"), 8000, 1))
                .collect(),
        );
        let t = texts(&render(&m, 0).blocked);
        assert_eq!(t.iter().filter(|r| r.contains(" → 10.0.0.")).count(), 8);
        assert!(t.contains(&"(… and 4 more)".to_string()), "{t:?}");
    }

    #[test]
    fn test_protection_runs_once_and_says_the_result_under_the_status() {
        let mut m = connected(Protection::Blocking);
        let v = render(&m, 0);
        assert!(v.test_protection.enabled);
        assert_eq!(v.test_protection.label, "Test Protection");
        assert_eq!(
            command_for(Item::TestProtection, &m),
            Some(Command::TestProtection)
        );
        m.protection_test = Some(ProtectionTest::Running);
        let v = render(&m, 0);
        assert!(!v.test_protection.enabled);
        assert_eq!(v.detail.as_deref(), Some("Testing protection…"));
        assert_eq!(command_for(Item::TestProtection, &m), None);
        let checks = (0..6)
            .map(|i| CheckResult {
                what: format!("check {i}"),
                pass: true,
                words: "blocked by Airlock's rule".into(),
            })
            .collect();
        m.protection_test = Some(ProtectionTest::Done {
            result: Ok(Report::new(checks, &Plan::default())),
            protection: Protection::Blocking,
        });
        let v = render(&m, 0);
        assert!(v.test_protection.enabled);
        assert_eq!(
            v.detail.as_deref(),
            Some("Protection test: all 6 checks passed")
        );
        // A refusal or a request in flight says more about now.
        m.refusal = Some("Couldn't resume the kill switch: nope".into());
        assert_eq!(
            render(&m, 0).detail.as_deref(),
            Some("Couldn't resume the kill switch: nope")
        );
        // No helper: nothing to test against.
        let m = model(Link::Unreachable(Unreachable::NotRunning));
        assert!(!render(&m, 0).test_protection.enabled);
    }
}

/// While blocking, the second line says what the filtering resolver does
/// (and the tooltip with it); idle, it says nothing.
#[test]
fn blocking_says_what_the_resolver_does() {
    let mut s = status(Protection::Blocking);
    let mut r = airlock_shared::status::ResolverStatus {
        active: true,
        network_check_names: 2,
        vpn_server_names: 1,
        pinned: vec![],
        upstreams: vec![],
    };
    s.resolver = Some(Box::new(r.clone()));
    let v = render(&model(Link::Connected(s.clone())), 0);
    assert_eq!(
        v.detail.as_deref(),
        Some("DNS: answering the network check; 1 VPN server name allowed")
    );
    assert!(v
        .tooltip
        .ends_with("\nDNS: answering the network check; 1 VPN server name allowed"));
    r.active = false;
    s.resolver = Some(Box::new(r));
    assert_eq!(render(&model(Link::Connected(s)), 0).detail, None);
}
