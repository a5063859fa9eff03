//! Copies a [`ViewModel`] onto the tray icon and its muda menu. No
//! decisions here: everything shown comes from `view::render`.

use muda::{CheckMenuItem, IsMenuItem, Menu, MenuId, MenuItem, PredefinedMenuItem, Submenu};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use crate::ui::icons::{self, IconKind};
use crate::ui::view::{self, Button, Item, Row, Toggle, ViewModel};

/// Pixels of the icon handed to the tray: the SNI host on Linux scales it
/// to the panel; macOS draws it at 18 pt, 36 px on Retina.
#[cfg(target_os = "macos")]
const ICON_PX: u32 = 44;
#[cfg(not(target_os = "macos"))]
const ICON_PX: u32 = 32;

pub struct Tray {
    icon: TrayIcon,
    menu: Menu,
    status: MenuItem,
    detail: MenuItem,
    kill_switch: CheckMenuItem,
    allow_lan: CheckMenuItem,
    allow_airdrop: CheckMenuItem,
    allow_airprint: CheckMenuItem,
    allow_dns: CheckMenuItem,
    servers: Submenu,
    blocked: Submenu,
    pause: MenuItem,
    show_rules: MenuItem,
    test_protection: MenuItem,
    start_at_login: CheckMenuItem,
    install_helper: MenuItem,
    shown: Option<Shown>,
}

/// What is on screen now, to skip work that changes nothing: a new icon
/// means a PNG written and a D-Bus signal; menu rows mean layout updates.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    icon: IconKind,
    detail: bool,
    install_helper: bool,
    choices: Vec<Row>,
    servers: Vec<Row>,
    blocked: Vec<Row>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrayError {
    #[error("cannot build the tray icon: {0}")]
    Icon(#[from] tray_icon::BadIcon),
    #[error("cannot create the tray icon: {0}")]
    Tray(#[from] tray_icon::Error),
    #[error("cannot build the menu: {0}")]
    Menu(#[from] muda::Error),
}

pub fn icon(kind: IconKind) -> Result<Icon, tray_icon::BadIcon> {
    Icon::from_rgba(icons::render(kind, ICON_PX), ICON_PX, ICON_PX)
}

impl Tray {
    /// Must run on the event loop's thread after it started (GTK, AppKit).
    pub fn new(first: &ViewModel) -> Result<Tray, TrayError> {
        let status = MenuItem::with_id("status", &first.status_line, false, None);
        let detail = MenuItem::with_id("detail", "", false, None);
        let check =
            |item: Item, label: &str| CheckMenuItem::with_id(item.id(), label, false, false, None);
        let button =
            |item: Item, label: &str, enabled| MenuItem::with_id(item.id(), label, enabled, None);
        let kill_switch = check(Item::KillSwitch, view::KILL_SWITCH_LABEL);
        let allow_lan = check(Item::AllowLan, view::ALLOW_LAN_LABEL);
        let allow_airdrop = check(Item::AllowAirdrop, view::ALLOW_AIRDROP_LABEL);
        let allow_airprint = check(Item::AllowAirprint, view::ALLOW_AIRPRINT_LABEL);
        let allow_dns = check(Item::AllowDns, view::ALLOW_DNS_LABEL);
        let servers = Submenu::with_id("servers", view::SERVERS_LABEL, true);
        let blocked = Submenu::with_id("blocked", crate::ui::blocked::LABEL, true);
        let pause = button(Item::Pause, view::PAUSE_LABEL, false);
        let show_rules = button(Item::ShowRules, view::SHOW_RULES_LABEL, false);
        let test_protection = button(Item::TestProtection, view::TEST_PROTECTION_LABEL, false);
        let start_at_login = check(Item::StartAtLogin, view::START_AT_LOGIN_LABEL);
        let install_helper = button(Item::InstallHelper, view::INSTALL_HELPER_LABEL, true);
        let quit = button(Item::Quit, view::QUIT_LABEL, true);
        let menu = Menu::new();
        let separator = PredefinedMenuItem::separator;
        menu.append_items(&[
            &status,
            &separator(),
            &kill_switch,
            &allow_lan,
            &allow_airdrop,
            &allow_airprint,
            &allow_dns,
            &servers,
            &blocked,
            &separator(),
            &pause,
            &show_rules,
            &test_protection,
            &separator(),
            &start_at_login,
            &separator(),
            &quit,
        ])?;
        let icon = TrayIconBuilder::new()
            .with_id("airlock")
            .with_icon(icon(first.icon)?)
            .with_tooltip(&first.tooltip)
            .with_menu(Box::new(menu.clone()))
            .build()?;
        let mut tray = Tray {
            icon,
            menu,
            status,
            detail,
            kill_switch,
            allow_lan,
            allow_airdrop,
            allow_airprint,
            allow_dns,
            servers,
            blocked,
            pause,
            show_rules,
            test_protection,
            start_at_login,
            install_helper,
            shown: Some(Shown {
                icon: first.icon,
                detail: false,
                install_helper: false,
                choices: Vec::new(),
                servers: Vec::new(),
                blocked: Vec::new(),
            }),
        };
        tray.apply(first)?;
        Ok(tray)
    }

    /// Which of our items a menu event is about.
    pub fn item(&self, id: &MenuId) -> Option<Item> {
        Item::from_id(id.as_ref())
    }

    /// Sets every label, check mark and enabled state, always: after a
    /// click GTK has already flipped the check mark, and only this puts
    /// it back to what the helper said.
    pub fn apply(&mut self, v: &ViewModel) -> Result<(), TrayError> {
        let shown = self.shown.clone();
        if shown.as_ref().map(|s| s.icon) != Some(v.icon) {
            self.icon.set_icon(Some(icon(v.icon)?))?;
        }
        let _ = self.icon.set_tooltip(Some(&v.tooltip));
        self.status.set_text(&v.status_line);
        // Rows shown only sometimes: insert/remove keeps the order.
        let had_detail = shown.as_ref().is_some_and(|s| s.detail);
        match (&v.detail, had_detail) {
            (Some(text), false) => {
                self.detail.set_text(text);
                self.menu.insert(&self.detail, 1)?;
            }
            (Some(text), true) => self.detail.set_text(text),
            (None, true) => self.menu.remove(&self.detail)?,
            (None, false) => {}
        }
        set_toggle(&self.kill_switch, v.kill_switch);
        set_toggle(&self.allow_lan, v.allow_lan);
        set_toggle(&self.allow_airdrop, v.allow_airdrop);
        set_toggle(&self.allow_airprint, v.allow_airprint);
        set_toggle(&self.allow_dns, v.allow_dns);
        // The question's choices sit under the status and detail lines.
        let old_choices = shown.as_ref().map(|s| s.choices.as_slice()).unwrap_or(&[]);
        if old_choices != v.choices.as_slice() {
            let at = 1 + usize::from(v.detail.is_some());
            for _ in old_choices {
                self.menu.remove_at(at);
            }
            for (n, item) in build(&v.choices)?.iter().enumerate() {
                self.menu.insert(item.as_ref(), at + n)?;
            }
        }
        // Rebuilt only when a row changed: it is a menu layout update.
        if shown.as_ref().map(|s| s.servers.as_slice()) != Some(v.servers.as_slice()) {
            while self.servers.remove_at(0).is_some() {}
            for item in build(&v.servers)? {
                self.servers.append(item.as_ref())?;
            }
        }
        if shown.as_ref().map(|s| s.blocked.as_slice()) != Some(v.blocked.as_slice()) {
            while self.blocked.remove_at(0).is_some() {}
            for item in build(&v.blocked)? {
                self.blocked.append(item.as_ref())?;
            }
        }
        set_button(&self.pause, &v.pause);
        set_button(&self.show_rules, &v.show_rules);
        set_button(&self.test_protection, &v.test_protection);
        set_toggle(&self.start_at_login, v.start_at_login);
        let had_install = shown.as_ref().is_some_and(|s| s.install_helper);
        match (&v.install_helper, had_install) {
            (Some(b), false) => {
                set_button(&self.install_helper, b);
                let at = self.position(&self.start_at_login)? + 1;
                self.menu.insert(&self.install_helper, at)?;
            }
            (Some(b), true) => set_button(&self.install_helper, b),
            (None, true) => self.menu.remove(&self.install_helper)?,
            (None, false) => {}
        }
        self.shown = Some(Shown {
            icon: v.icon,
            detail: v.detail.is_some(),
            install_helper: v.install_helper.is_some(),
            choices: v.choices.clone(),
            servers: v.servers.clone(),
            blocked: v.blocked.clone(),
        });
        Ok(())
    }

    fn position(&self, item: &dyn IsMenuItem) -> Result<usize, TrayError> {
        let id = item.id();
        self.menu
            .items()
            .iter()
            .position(|i| i.id() == id)
            .ok_or(TrayError::Menu(muda::Error::NotAChildOfThisMenu))
    }
}

/// The toolkit's items for `rows`; buttons carry their [`Item::id`].
fn build(rows: &[Row]) -> Result<Vec<Box<dyn IsMenuItem>>, TrayError> {
    rows.iter()
        .map(|r| -> Result<Box<dyn IsMenuItem>, TrayError> {
            Ok(match r {
                Row::Label(text) => Box::new(MenuItem::new(text, false, None)),
                Row::Separator => Box::new(PredefinedMenuItem::separator()),
                Row::Button {
                    item,
                    label,
                    enabled,
                } => Box::new(MenuItem::with_id(item.id(), label, *enabled, None)),
                Row::Submenu { label, rows } => {
                    let sub = Submenu::new(label, true);
                    for item in build(rows)? {
                        sub.append(item.as_ref())?;
                    }
                    Box::new(sub)
                }
            })
        })
        .collect()
}

fn set_toggle(item: &CheckMenuItem, t: Toggle) {
    item.set_checked(t.checked);
    item.set_enabled(t.enabled);
}

fn set_button(item: &MenuItem, b: &Button) {
    item.set_text(&b.label);
    item.set_enabled(b.enabled);
}
