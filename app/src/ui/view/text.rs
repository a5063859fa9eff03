//! The state in words: the icon, the status line, and the helper's
//! unreachability, each cut to a menu's width.

use airlock_shared::status::{Protection, Status};
use airlock_shared::time::hour_minute;

use super::labels::MAX_LINE;
use crate::ui::icons::IconKind;
use crate::ui::model::Unreachable;

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

pub(super) fn fault_reason(s: &Status) -> String {
    s.reason
        .clone()
        .or_else(|| s.firewall.issues().next())
        .unwrap_or_else(|| "the firewall rules are not in place".into())
}

pub(super) fn unreachable_line(u: &Unreachable) -> String {
    match u {
        Unreachable::NotRunning => "Helper not running — Install Helper… sets it up".into(),
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

pub(super) fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_LINE {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_LINE - 1).collect();
    out.push('…');
    out
}
