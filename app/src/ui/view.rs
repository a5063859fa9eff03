//! The one place that decides what the tray shows: [`render`] maps the
//! [`Model`] to a [`ViewModel`] (icon, tooltip, status line, every menu
//! item's label, check mark, enabled and visible state). `tray.rs` only
//! copies the result onto the toolkit's objects.

use airlock_shared::status::{KillSwitch, Protection, Status};
use airlock_shared::time::hour_minute;

use crate::smappservice::APPROVE_LOGIN_ITEM;
use crate::ui::icons::IconKind;
use crate::ui::model::{Action, Link, LoginItem, Model, Unreachable};

/// How long "Pause" pauses.
pub const PAUSE_SECONDS: u64 = 5 * 60;

/// Longest status line; a fault reason can be a paragraph, and a menu item
/// that wide is unusable. The full text is in the tooltip.
const MAX_LINE: usize = 90;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewModel {
    pub icon: IconKind,
    pub tooltip: String,
    /// The first, disabled menu item: the state in words.
    pub status_line: String,
    /// A second, disabled line: a refusal or the request in flight.
    pub detail: Option<String>,
    pub kill_switch: Toggle,
    pub allow_lan: Toggle,
    pub allow_airdrop: Toggle,
    /// "Pause for 5 Minutes" or "Resume Now".
    pub pause: Button,
    pub show_rules: Button,
    pub start_at_login: Toggle,
    /// `None` hides "Install Helper…".
    pub install_helper: Option<Button>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toggle {
    pub checked: bool,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub enabled: bool,
}

pub const KILL_SWITCH_LABEL: &str = "Kill Switch";
pub const ALLOW_LAN_LABEL: &str = "Allow LAN";
pub const ALLOW_AIRDROP_LABEL: &str = "Allow AirDrop";
pub const PAUSE_LABEL: &str = "Pause for 5 Minutes";
pub const RESUME_LABEL: &str = "Resume Now";
pub const SHOW_RULES_LABEL: &str = "Show Rules…";
pub const START_AT_LOGIN_LABEL: &str = "Start at Login";
pub const INSTALL_HELPER_LABEL: &str = "Install Helper…";
pub const QUIT_LABEL: &str = "Quit Airlock";

/// `utc_offset` is the local zone's offset in seconds at the pause's end,
/// so "Paused until 14:05" is in the user's wall-clock time.
pub fn render(model: &Model, utc_offset: i64) -> ViewModel {
    let status = model.link.status();
    // Changes are possible only with a live helper and nothing in flight:
    // one request at a time keeps every answer tied to its click.
    let can_change = status.is_some() && model.pending.is_none();
    let (icon, line) = match &model.link {
        Link::Connecting => (
            IconKind::Unreachable,
            "Connecting to the helper…".to_string(),
        ),
        Link::Unreachable(u) => (IconKind::Unreachable, unreachable_line(u)),
        Link::Connected(s) => (icon_for(s.protection), status_line(s, utc_offset)),
    };
    let detail = match (model.pending, &model.refusal) {
        (Some(action), _) => Some(action.progressive()),
        (None, Some(refusal)) => Some(refusal.clone()),
        // Otherwise the user would never learn why the check mark stays
        // off after they turned it on.
        (None, None) if model.login_item == LoginItem::RequiresApproval => {
            Some(APPROVE_LOGIN_ITEM.to_string())
        }
        (None, None) => None,
    };
    let tooltip = match &detail {
        Some(d) => format!("Airlock: {line}\n{d}"),
        None => format!("Airlock: {line}"),
    };
    let toggle = |checked: bool| Toggle {
        checked,
        enabled: can_change,
    };
    let kill_switch_on = status.is_some_and(|s| s.kill_switch != KillSwitch::Off);
    let pause = match status.map(|s| s.kill_switch) {
        Some(KillSwitch::Paused) => Button {
            label: RESUME_LABEL.into(),
            enabled: can_change,
        },
        Some(KillSwitch::On) => Button {
            label: PAUSE_LABEL.into(),
            enabled: can_change,
        },
        // Nothing to pause while off or unknown.
        Some(KillSwitch::Off) | None => Button {
            label: PAUSE_LABEL.into(),
            enabled: false,
        },
    };
    ViewModel {
        icon,
        tooltip,
        status_line: shorten(&line),
        detail: detail.map(|d| shorten(&d)),
        kill_switch: toggle(kill_switch_on),
        allow_lan: toggle(status.is_some_and(|s| s.options.allow_lan)),
        allow_airdrop: toggle(status.is_some_and(|s| s.options.allow_airdrop)),
        pause,
        show_rules: Button {
            label: SHOW_RULES_LABEL.into(),
            enabled: can_change,
        },
        start_at_login: Toggle {
            checked: model.login_item == LoginItem::Enabled,
            enabled: !matches!(model.login_item, LoginItem::Unavailable(_)),
        },
        install_helper: matches!(model.link, Link::Unreachable(Unreachable::NotRunning)).then(
            || Button {
                label: INSTALL_HELPER_LABEL.into(),
                enabled: true,
            },
        ),
    }
}

pub fn icon_for(protection: Protection) -> IconKind {
    match protection {
        Protection::Protected => IconKind::Protected,
        Protection::Blocking => IconKind::Blocking,
        Protection::Off => IconKind::Off,
        Protection::Paused => IconKind::Paused,
        Protection::Fault => IconKind::Fault,
    }
}

/// The state in words, for the first menu line and the tooltip.
pub fn status_line(s: &Status, utc_offset: i64) -> String {
    match s.protection {
        Protection::Protected => {
            let iface = s.tunnel.interface.as_deref();
            let host = s.tunnel.endpoint.as_deref().map(endpoint_host);
            match (iface, host) {
                (Some(i), Some(h)) => format!("Protected — VPN {i} → {h}"),
                (Some(i), None) => format!("Protected — VPN {i}"),
                (None, Some(h)) => format!("Protected — VPN → {h}"),
                (None, None) => "Protected — VPN is up".into(),
            }
        }
        Protection::Blocking => "Blocking — VPN is down, internet is off".into(),
        Protection::Off => "Kill switch is off — traffic is not protected".into(),
        Protection::Paused => match s.paused_until {
            Some(t) => format!("Paused until {}", hour_minute(t, utc_offset)),
            None => "Paused — traffic is not protected".into(),
        },
        Protection::Fault => format!("Fault — {}", fault_reason(s)),
    }
}

fn fault_reason(s: &Status) -> String {
    s.reason
        .clone()
        .or_else(|| s.firewall.issues().next())
        .unwrap_or_else(|| "the firewall rules are not in place".into())
}

fn unreachable_line(u: &Unreachable) -> String {
    match u {
        Unreachable::NotRunning => "Helper not running".into(),
        Unreachable::PermissionDenied => "Helper refused the connection — permission denied".into(),
        Unreachable::VersionMismatch(_) => {
            "Helper version does not match — reinstall Airlock".into()
        }
        Unreachable::Other(e) => format!("Helper not reachable — {e}"),
    }
}

/// `198.51.100.7:1194/udp` -> `198.51.100.7`; `[2001:db8::1]:51820` ->
/// `2001:db8::1`. The user recognises the server, not its port.
pub fn endpoint_host(endpoint: &str) -> &str {
    let no_proto = endpoint.split('/').next().unwrap_or(endpoint);
    if let Some(rest) = no_proto.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match no_proto.rsplit_once(':') {
        // One colon: host:port. More: a bare IPv6 address.
        Some((host, port))
            if !host.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        _ => no_proto,
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_LINE {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_LINE - 1).collect();
    out.push('…');
    out
}

/// Which menu item was clicked, independent of the toolkit's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    KillSwitch,
    AllowLan,
    AllowAirdrop,
    Pause,
    ShowRules,
    StartAtLogin,
    InstallHelper,
    Quit,
}

/// What a click means, decided from the last real status, never from the
/// toolkit's check mark (GTK flips it on click before we hear of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Helper(Action),
    SetLoginItem(bool),
    InstallHelper,
    Quit,
}

pub fn command_for(item: Item, model: &Model) -> Option<Command> {
    let view = render(model, 0);
    let status = model.link.status();
    let enabled = |t: Toggle| t.enabled.then_some(!t.checked);
    match item {
        Item::Quit => Some(Command::Quit),
        Item::KillSwitch => {
            enabled(view.kill_switch).map(|on| Command::Helper(Action::SetKillSwitch(on)))
        }
        Item::AllowLan => enabled(view.allow_lan).map(|v| {
            Command::Helper(Action::SetOption(
                airlock_shared::ipc::protocol::OptionName::AllowLan,
                v,
            ))
        }),
        Item::AllowAirdrop => enabled(view.allow_airdrop).map(|v| {
            Command::Helper(Action::SetOption(
                airlock_shared::ipc::protocol::OptionName::AllowAirdrop,
                v,
            ))
        }),
        Item::Pause if !view.pause.enabled => None,
        Item::Pause => match status.map(|s| s.kill_switch) {
            Some(KillSwitch::Paused) => Some(Command::Helper(Action::Resume)),
            Some(KillSwitch::On) => Some(Command::Helper(Action::Pause {
                seconds: PAUSE_SECONDS,
            })),
            _ => None,
        },
        Item::ShowRules => view
            .show_rules
            .enabled
            .then_some(Command::Helper(Action::ShowRules)),
        Item::StartAtLogin => enabled(view.start_at_login).map(Command::SetLoginItem),
        Item::InstallHelper => view.install_helper.map(|_| Command::InstallHelper),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_shared::ipc::protocol::OptionName;
    use airlock_test_support::status::for_protection as status;

    fn model(link: Link) -> Model {
        Model {
            link,
            pending: None,
            refusal: None,
            login_item: LoginItem::Disabled,
        }
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
                "Helper not running",
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
            assert_eq!(command_for(item, &m), want, "{p:?} {item:?}");
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
                assert_eq!(command_for(item, m), None, "{item:?} {:?}", m.link);
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
}
