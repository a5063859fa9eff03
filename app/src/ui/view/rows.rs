//! The dynamic parts of the menu: the "no VPN server" question and its
//! choices, the "VPN Servers" and "Recently Blocked" submenus.

use airlock_shared::endpoint::Endpoint;

use super::items::{Item, Row};
use super::labels::*;
use super::text::shorten;
use crate::ui::blocked;
use crate::ui::model::Model;
use crate::ui::servers;

/// The question is up while it still applies: it goes away by itself
/// once a server is allowed or a tunnel comes up.
pub(super) fn asking(model: &Model) -> bool {
    model.asking && model.enabling_dead_ends()
}

/// Found connections that one click can allow (their servers readable).
pub(super) fn allowable(model: &Model) -> impl Iterator<Item = &servers::FoundConnection> {
    model.servers.not_allowed().filter(|f| f.servers.is_ok())
}

pub(super) fn question(model: &Model) -> String {
    if allowable(model).next().is_some() {
        format!(
            "Your VPN won't be able to connect. Allow a VPN connection found on {THIS_MACHINE}?"
        )
    } else {
        "Your VPN won't be able to connect: no VPN server is allowed. Import its configuration?"
            .into()
    }
}

pub(super) fn choices(model: &Model) -> Vec<Row> {
    let button = |item: Item, label: String| Row::Button {
        item,
        label,
        enabled: true,
    };
    let mut rows: Vec<Row> = allowable(model)
        .map(|f| {
            button(
                Item::AllowFoundAndEnable(f.path.clone()),
                format!("Allow {} and Turn On", f.label()),
            )
        })
        .collect();
    rows.push(button(
        Item::ImportAndEnable,
        IMPORT_AND_ENABLE_LABEL.into(),
    ));
    rows.push(button(Item::EnableAnyway, ENABLE_ANYWAY_LABEL.into()));
    rows.push(button(Item::NotNow, NOT_NOW_LABEL.into()));
    rows
}

/// The "VPN Servers" submenu: what is allowed (one entry per source,
/// each with where it came from, since when, and "Remove"), what was
/// found on this machine and is not allowed (one click each), and the
/// file import.
/// The helper's pinned-by-answer endpoints (memory only, in the status).
pub(super) fn pins(model: &Model) -> &[airlock_shared::dns::AnsweredPin] {
    model
        .link
        .status()
        .and_then(|s| s.resolver.as_deref())
        .map_or(&[], |r| r.pinned.as_slice())
}

pub(super) fn servers_rows(model: &Model, can_change: bool, utc_offset: i64) -> Vec<Row> {
    let mut rows = Vec::new();
    match &model.servers.allowed {
        None => rows.push(Row::Label(
            if model.link.status().is_some() {
                "Reading the allowed VPN servers…"
            } else {
                "Allowed VPN servers: unknown until the helper answers"
            }
            .into(),
        )),
        Some(list) if list.is_empty() => rows.push(Row::Label(
            "No VPN server allowed yet: the VPN cannot connect while the kill switch blocks".into(),
        )),
        Some(list) => {
            rows.push(Row::Label("Allowed while the kill switch blocks:".into()));
            for e in servers::entries(list, pins(model), &model.servers.ledger, utc_offset) {
                let mut sub: Vec<Row> = e
                    .endpoints
                    .iter()
                    .map(|x| Row::Label(servers::server_words(x)))
                    .collect();
                sub.push(Row::Label(e.origin.clone()));
                if e.removable {
                    sub.push(Row::Separator);
                    sub.push(Row::Button {
                        item: Item::Remove(e.endpoints.iter().map(Endpoint::to_string).collect()),
                        label: REMOVE_LABEL.into(),
                        enabled: can_change,
                    });
                }
                rows.push(Row::Submenu {
                    label: e.label,
                    rows: sub,
                });
            }
        }
    }
    let found: Vec<&servers::FoundConnection> = model.servers.not_allowed().collect();
    if !found.is_empty() {
        rows.push(Row::Separator);
        rows.push(Row::Label(format!("Found on {THIS_MACHINE}:")));
        for f in found {
            rows.push(match &f.servers {
                Ok(_) => Row::Button {
                    item: Item::AllowFound(f.path.clone()),
                    label: format!("Allow {}", f.label()),
                    enabled: can_change,
                },
                Err(why) => Row::Label(shorten(&format!("{} — {why}", f.label()))),
            });
        }
    }
    rows.push(Row::Separator);
    // A tunnel whose server the helper does not know (it names only an
    // allowed one): the helper can learn it on request.
    let unknown_tunnel = model.link.status().is_some_and(|s| {
        s.tunnel.state == airlock_shared::status::TunnelState::Up && s.tunnel.endpoint.is_none()
    });
    if unknown_tunnel {
        rows.push(Row::Button {
            item: Item::AllowConnectedNow,
            label: ALLOW_CONNECTED_LABEL.into(),
            enabled: can_change,
        });
    }
    rows.push(Row::Button {
        item: Item::Import,
        label: IMPORT_LABEL.into(),
        enabled: can_change && !model.picking,
    });
    rows
}

/// The "Recently Blocked" submenu: the top rows (most recent first), the
/// suggestions (one click each, through the helper), "Show All…".
pub(super) fn blocked_rows(model: &Model, can_change: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    let Some(b) = &model.blocked else {
        rows.push(Row::Label(
            if model.link.status().is_some() {
                "Reading what was blocked…"
            } else {
                "Unknown until the helper answers"
            }
            .into(),
        ));
        return rows;
    };
    if !b.report.reading {
        let why = b.report.problem.as_deref().unwrap_or("unknown reason");
        rows.push(Row::Label(shorten(&format!(
            "Not reading the firewall's log: {why}"
        ))));
    }
    if b.report.entries.is_empty() {
        rows.push(Row::Label("Nothing blocked recently".into()));
    }
    for e in b.report.entries.iter().take(blocked::MAX_ROWS) {
        rows.push(Row::Label(shorten(&blocked::menu_line(e, b.at_ms))));
    }
    let more = b.report.entries.len().saturating_sub(blocked::MAX_ROWS);
    if more > 0 {
        rows.push(Row::Label(format!("… and {more} more")));
    }
    let suggestions = model.suggestions();
    if !suggestions.is_empty() {
        rows.push(Row::Separator);
        for sg in &suggestions {
            rows.push(Row::Button {
                item: Item::Suggested(blocked::suggestion_key(sg)),
                label: shorten(&blocked::suggestion_label(sg)),
                enabled: can_change,
            });
        }
    }
    rows.push(Row::Separator);
    rows.push(Row::Button {
        item: Item::ShowBlocked,
        label: blocked::SHOW_ALL_LABEL.into(),
        enabled: true,
    });
    rows
}
