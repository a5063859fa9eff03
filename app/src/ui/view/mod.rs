//! The one place that decides what the tray shows: [`render`] maps the
//! [`Model`] to a [`ViewModel`] (icon, tooltip, status line, every menu
//! item's label, check mark, enabled and visible state). `tray.rs` only
//! copies the result onto the toolkit's objects.

use airlock_shared::endpoint::Endpoint;
use airlock_shared::ipc::protocol::OptionName;
use airlock_shared::status::KillSwitch;

use crate::smappservice::APPROVE_LOGIN_ITEM;
use crate::ui::blocked;
use crate::ui::icons::IconKind;
use crate::ui::model::{Action, Allowing, Link, LoginItem, Model, Unreachable};
use crate::ui::protection_test::{self, ProtectionTest};
use crate::ui::servers;

mod items;
mod labels;
mod rows;
mod text;

pub use items::{imported, Command, Item, Row};
pub use labels::*;
pub use text::{endpoint_host, icon_for, status_line};

use items::shown_enabled;
use rows::{asking, blocked_rows, choices, pins, question, servers_rows};
use text::{shorten, unreachable_line};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewModel {
    pub icon: IconKind,
    pub tooltip: String,
    /// The first, disabled menu item: the state in words.
    pub status_line: String,
    /// A second, disabled line: a refusal or the request in flight.
    pub detail: Option<String>,
    /// The "no VPN server" question's choices, shown under the detail
    /// line (which asks it); empty otherwise.
    pub choices: Vec<Row>,
    pub kill_switch: Toggle,
    pub allow_lan: Toggle,
    pub allow_airdrop: Toggle,
    pub allow_airprint: Toggle,
    pub allow_dns: Toggle,
    /// The "VPN Servers" submenu's rows.
    pub servers: Vec<Row>,
    /// The "Recently Blocked" submenu's rows.
    pub blocked: Vec<Row>,
    /// "Pause for 5 Minutes" or "Resume Now".
    pub pause: Button,
    pub show_rules: Button,
    pub test_protection: Button,
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

/// `utc_offset` is the local zone's offset in seconds at the pause's end,
/// so "Paused until 14:05" is in the user's wall-clock time.
pub fn render(model: &Model, utc_offset: i64) -> ViewModel {
    let status = model.link.status();
    // Changes are possible only with a live helper and nothing in flight:
    // one request at a time keeps every answer tied to its click.
    let can_change = status.is_some() && model.pending.as_ref().is_none_or(Action::is_background);
    let (icon, line) = match &model.link {
        Link::Connecting => (
            IconKind::Unreachable,
            "Connecting to the helper…".to_string(),
        ),
        Link::Unreachable(u) => (IconKind::Unreachable, unreachable_line(u)),
        Link::Connected(s) => (icon_for(s.protection), status_line(s, utc_offset)),
    };
    let asking = asking(model);
    let pending = model.pending.as_ref().filter(|a| !a.is_background());
    let detail = match (pending, &model.refusal) {
        (Some(action), _) => Some(action.progressive()),
        (None, Some(refusal)) => Some(refusal.clone()),
        (None, None) if asking => Some(question(model)),
        (None, None) if model.protection_test.is_some() => {
            model.protection_test.as_ref().map(protection_test::line)
        }
        (None, None) if model.installing.is_some() && status.is_none() => model.installing.clone(),
        // Otherwise the user would never learn why the check mark stays
        // off after they turned it on.
        (None, None) if model.login_item == LoginItem::RequiresApproval => {
            Some(APPROVE_LOGIN_ITEM.to_string())
        }
        // While blocking, why Wi-Fi still "has internet" for the OS and
        // what DNS the VPN client gets: the filtering resolver's work.
        (None, None) => status
            .and_then(|s| s.resolver.as_deref())
            .filter(|r| r.active)
            .map(|r| format!("DNS: {}", r.summary())),
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
        choices: if asking && can_change {
            choices(model)
        } else {
            Vec::new()
        },
        kill_switch: toggle(kill_switch_on),
        allow_lan: toggle(status.is_some_and(|s| s.options.allow_lan)),
        allow_airdrop: toggle(status.is_some_and(|s| s.options.allow_airdrop)),
        allow_airprint: toggle(status.is_some_and(|s| s.options.allow_airprint)),
        allow_dns: toggle(status.is_some_and(|s| s.options.allow_dns)),
        servers: servers_rows(model, can_change, utc_offset),
        blocked: blocked_rows(model, can_change),
        pause,
        show_rules: Button {
            label: SHOW_RULES_LABEL.into(),
            enabled: can_change,
        },
        // Independent of the helper's one-at-a-time requests: the test is
        // its own process; one run at a time.
        test_protection: Button {
            label: TEST_PROTECTION_LABEL.into(),
            enabled: status.is_some() && model.protection_test != Some(ProtectionTest::Running),
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

pub fn command_for(item: Item, model: &Model) -> Option<Command> {
    let view = render(model, 0);
    let status = model.link.status();
    let enabled = |t: Toggle| t.enabled.then_some(!t.checked);
    let option =
        |t: Toggle, o: OptionName| enabled(t).map(|v| Command::Helper(Action::SetOption(o, v)));
    let shown = |rows: &[Row], item: &Item| shown_enabled(rows, item);
    match item {
        Item::Quit => Some(Command::Quit),
        Item::KillSwitch => enabled(view.kill_switch).map(|on| {
            if on && model.enabling_dead_ends() {
                Command::Ask
            } else {
                Command::Helper(Action::SetKillSwitch(on))
            }
        }),
        Item::AllowLan => option(view.allow_lan, OptionName::AllowLan),
        Item::AllowAirdrop => option(view.allow_airdrop, OptionName::AllowAirdrop),
        Item::AllowAirprint => option(view.allow_airprint, OptionName::AllowAirprint),
        Item::AllowDns => option(view.allow_dns, OptionName::AllowDns),
        Item::AllowFound(ref path) | Item::AllowFoundAndEnable(ref path) => {
            let then_enable = matches!(item, Item::AllowFoundAndEnable(_));
            let rows = if then_enable {
                &view.choices
            } else {
                &view.servers
            };
            if !shown(rows, &item) {
                return None;
            }
            let f = model.servers.found.iter().find(|f| &f.path == path)?;
            Some(Command::Helper(Action::Allow {
                what: Allowing::Config {
                    label: f.label(),
                    path: f.path.clone(),
                    source: f.source(),
                },
                then_enable,
            }))
        }
        Item::Remove(ref keys) => {
            if !shown(&view.servers, &item) {
                return None;
            }
            let list = model.servers.allowed.as_deref()?;
            let entry = servers::entries(list, pins(model), &model.servers.ledger, 0)
                .into_iter()
                .find(|e| {
                    e.removable
                        && e.endpoints
                            .iter()
                            .map(Endpoint::to_string)
                            .eq(keys.iter().cloned())
                })?;
            Some(Command::Helper(Action::Remove {
                label: entry.label,
                endpoints: entry.endpoints,
            }))
        }
        Item::Import => {
            shown(&view.servers, &item).then_some(Command::PickFile { then_enable: false })
        }
        Item::ImportAndEnable => {
            shown(&view.choices, &item).then_some(Command::PickFile { then_enable: true })
        }
        Item::EnableAnyway => {
            shown(&view.choices, &item).then_some(Command::Helper(Action::SetKillSwitch(true)))
        }
        Item::NotNow => shown(&view.choices, &item).then_some(Command::Dismiss),
        Item::AllowConnectedNow => {
            shown(&view.servers, &item).then_some(Command::Helper(Action::AllowConnectedNow))
        }
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
        Item::ShowBlocked => {
            (shown(&view.blocked, &item) && model.blocked.is_some()).then_some(Command::ShowBlocked)
        }
        Item::TestProtection => view
            .test_protection
            .enabled
            .then_some(Command::TestProtection),
        Item::Suggested(ref key) => {
            if !shown(&view.blocked, &item) {
                return None;
            }
            model
                .suggestions()
                .iter()
                .find(|s| &blocked::suggestion_key(s) == key)
                .map(|s| Command::Helper(blocked::action(s)))
        }
        Item::InstallHelper => view.install_helper.map(|_| Command::InstallHelper),
    }
}

#[cfg(test)]
mod tests;
