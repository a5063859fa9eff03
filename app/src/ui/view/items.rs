//! The menu's vocabulary: the rows of its dynamic parts, the items a click
//! names (with the ids the toolkit carries), and the commands they become.

use std::path::PathBuf;

use crate::ui::model::{Action, Allowing};
use crate::ui::servers::Source;

/// A row of a dynamic part of the menu (the servers submenu, the
/// question's choices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// Disabled text.
    Label(String),
    Separator,
    Button {
        item: Item,
        label: String,
        enabled: bool,
    },
    /// A nested submenu.
    Submenu {
        label: String,
        rows: Vec<Row>,
    },
}

/// Which menu item was clicked, independent of the toolkit: each has a
/// text id ([`Item::id`]) the tray gives the toolkit's item and reads
/// back ([`Item::from_id`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Item {
    KillSwitch,
    AllowLan,
    AllowAirdrop,
    AllowAirprint,
    AllowDns,
    Pause,
    ShowRules,
    StartAtLogin,
    InstallHelper,
    Quit,
    /// Allow a connection found on disk (by its config's path).
    AllowFound(PathBuf),
    /// The question's choice: allow it, then turn the kill switch on.
    AllowFoundAndEnable(PathBuf),
    /// "Remove" of an allowed entry: its endpoints, as shown.
    Remove(Vec<String>),
    Import,
    ImportAndEnable,
    EnableAnyway,
    NotNow,
    AllowConnectedNow,
    /// "Show All…" of Recently Blocked.
    ShowBlocked,
    TestProtection,
    /// A suggestion of Recently Blocked, by its key
    /// ([`blocked::suggestion_key`]).
    Suggested(String),
}

pub(super) const FIXED_IDS: [(&str, Item); 17] = [
    ("kill_switch", Item::KillSwitch),
    ("allow_lan", Item::AllowLan),
    ("allow_airdrop", Item::AllowAirdrop),
    ("allow_airprint", Item::AllowAirprint),
    ("allow_dns", Item::AllowDns),
    ("pause", Item::Pause),
    ("show_rules", Item::ShowRules),
    ("start_at_login", Item::StartAtLogin),
    ("install_helper", Item::InstallHelper),
    ("quit", Item::Quit),
    ("import", Item::Import),
    ("import_and_enable", Item::ImportAndEnable),
    ("enable_anyway", Item::EnableAnyway),
    ("not_now", Item::NotNow),
    ("allow_connected_now", Item::AllowConnectedNow),
    ("show_blocked", Item::ShowBlocked),
    ("test_protection", Item::TestProtection),
];

impl Item {
    pub fn id(&self) -> String {
        match self {
            Item::AllowFound(p) => format!("allow:{}", p.display()),
            Item::AllowFoundAndEnable(p) => format!("allow_and_enable:{}", p.display()),
            Item::Remove(keys) => format!("remove:{}", keys.join(" ")),
            Item::Suggested(key) => format!("suggest:{key}"),
            fixed => FIXED_IDS
                .iter()
                .find(|(_, i)| i == fixed)
                .map(|(id, _)| id.to_string())
                .unwrap_or_default(),
        }
    }

    pub fn from_id(id: &str) -> Option<Item> {
        if let Some(p) = id.strip_prefix("allow:") {
            return Some(Item::AllowFound(p.into()));
        }
        if let Some(p) = id.strip_prefix("allow_and_enable:") {
            return Some(Item::AllowFoundAndEnable(p.into()));
        }
        if let Some(key) = id.strip_prefix("suggest:") {
            return Some(Item::Suggested(key.into()));
        }
        if let Some(keys) = id.strip_prefix("remove:") {
            return Some(Item::Remove(keys.split(' ').map(String::from).collect()));
        }
        FIXED_IDS
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, item)| item.clone())
    }
}

/// What a click means, decided from the last real status, never from the
/// toolkit's check mark (GTK flips it on click before we hear of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Helper(Action),
    /// Ask the "no VPN server" question before turning the kill switch on.
    Ask,
    /// Close the question.
    Dismiss,
    /// Open the file dialog; allow what is picked (and turn on).
    PickFile {
        then_enable: bool,
    },
    SetLoginItem(bool),
    InstallHelper,
    /// Write the whole blocked list to a file and open it.
    ShowBlocked,
    /// Run the self-test (off the UI thread).
    TestProtection,
    Quit,
}

/// Whether `item` is an enabled button somewhere in `rows`: a click on
/// anything else (gone since the menu was drawn, disabled) does nothing.
pub(super) fn shown_enabled(rows: &[Row], item: &Item) -> bool {
    rows.iter().any(|r| match r {
        Row::Button {
            item: i, enabled, ..
        } => *enabled && i == item,
        Row::Submenu { rows, .. } => shown_enabled(rows, item),
        Row::Label(_) | Row::Separator => false,
    })
}

/// What the app's own record calls a file picked for import.
pub fn imported(path: &std::path::Path) -> Allowing {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Allowing::Config {
        label: file.clone(),
        path: path.to_path_buf(),
        source: Source::Imported { file },
    }
}
