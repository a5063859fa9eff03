//! The app's menu as the StatusNotifier host sees it: the item the
//! watcher has registered, its `Menu` object, and that object's
//! `com.canonical.dbusmenu.GetLayout`, read with `busctl --json`. This is
//! what the panel draws, so the test reads words and check marks without
//! OCR.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Desktop;

/// One visible entry of the top-level menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Separator,
    Item {
        id: i32,
        label: String,
        enabled: bool,
        /// `Some` for check items: whether the mark is shown.
        checked: Option<bool>,
    },
}

/// The app's registered StatusNotifierItem and its menu object. Found
/// once; each read after that is a single D-Bus call.
#[derive(Debug, Clone)]
pub struct Item {
    pub bus: String,
    pub path: String,
    pub menu: String,
}

impl Item {
    /// The one item the watcher has registered.
    pub fn find(desktop: &Desktop) -> Result<Item, String> {
        let v = desktop.busctl(&[
            "get-property",
            "org.kde.StatusNotifierWatcher",
            "/StatusNotifierWatcher",
            "org.kde.StatusNotifierWatcher",
            "RegisteredStatusNotifierItems",
        ])?;
        let items: Vec<&str> = v["data"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let [one] = items.as_slice() else {
            return Err(format!("expected one registered item, got {items:?}"));
        };
        // "<bus name><object path>", the path starting at the first '/'.
        let slash = one.find('/').ok_or(format!("no path in {one:?}"))?;
        let mut item = Item {
            bus: one[..slash].to_string(),
            path: one[slash..].to_string(),
            menu: String::new(),
        };
        let menu = item.property(desktop, "Menu")?;
        item.menu = menu.as_str().ok_or(format!("Menu is {menu}"))?.to_string();
        Ok(item)
    }

    /// A property of the item (e.g. "IconName").
    pub fn property(&self, desktop: &Desktop, name: &str) -> Result<Value, String> {
        let v = desktop.busctl(&[
            "get-property",
            &self.bus,
            &self.path,
            "org.kde.StatusNotifierItem",
            name,
        ])?;
        Ok(v["data"].clone())
    }

    /// The top-level menu entries, in order, hidden ones left out.
    pub fn menu(&self, desktop: &Desktop) -> Result<Vec<Entry>, String> {
        // GetLayout(parentId 0, recursionDepth -1, no property filter).
        let v = desktop.busctl(&[
            "call",
            &self.bus,
            &self.menu,
            "com.canonical.dbusmenu",
            "GetLayout",
            "iias",
            "0",
            "-1",
            "0",
        ])?;
        // (u revision, (i id, a{sv} props, av children))
        let children = v["data"][1][2]
            .as_array()
            .ok_or(format!("unexpected layout: {v}"))?;
        Ok(children.iter().filter_map(|c| entry(&c["data"])).collect())
    }

    /// Clicks the visible entry labelled `label` the way a host does: a
    /// dbusmenu "clicked" event.
    pub fn click(&self, desktop: &Desktop, label: &str) -> Result<(), String> {
        let entries = self.menu(desktop)?;
        let id =
            id_of(&entries, label).ok_or_else(|| format!("no {label:?} in\n{}", text(&entries)))?;
        self.clicked(desktop, id)
    }
}

impl Item {
    /// Sends the dbusmenu "clicked" event for entry `id`, as a host does.
    fn clicked(&self, desktop: &Desktop, id: impl std::fmt::Display) -> Result<(), String> {
        desktop
            .busctl(&[
                "call",
                &self.bus,
                &self.menu,
                "com.canonical.dbusmenu",
                "Event",
                "isvu",
                &id.to_string(),
                "clicked",
                "i",
                "0",
                "0",
            ])
            .map(drop)
    }

    /// The whole layout tree (submenus included), as busctl gives it.
    fn layout(&self, desktop: &Desktop) -> Result<Value, String> {
        let v = desktop.busctl(&[
            "call",
            &self.bus,
            &self.menu,
            "com.canonical.dbusmenu",
            "GetLayout",
            "iias",
            "0",
            "-1",
            "0",
        ])?;
        Ok(v["data"][1].clone())
    }

    /// The node reached by following visible labels from the top:
    /// `["VPN Servers", "Office VPN (Viscosity)", "Remove"]`.
    fn node(&self, desktop: &Desktop, path: &[&str]) -> Result<Value, String> {
        let mut node = self.layout(desktop)?;
        for label in path {
            let children = node[2].as_array().cloned().unwrap_or_default();
            node = children
                .iter()
                .map(|c| c["data"].clone())
                .find(|c| matches!(entry(c), Some(Entry::Item { label: l, .. }) if l == *label))
                .ok_or_else(|| format!("no {label:?} on the way to {path:?}"))?;
        }
        Ok(node)
    }

    /// The entries of the submenu at `path`, as [`text`].
    pub fn submenu(&self, desktop: &Desktop, path: &[&str]) -> Result<String, String> {
        let node = self.node(desktop, path)?;
        let children = node[2].as_array().cloned().unwrap_or_default();
        let entries: Vec<Entry> = children.iter().filter_map(|c| entry(&c["data"])).collect();
        Ok(text(&entries))
    }

    /// Clicks the entry at `path` (see [`Item::submenu`]), as a host does.
    pub fn click_path(&self, desktop: &Desktop, path: &[&str]) -> Result<(), String> {
        let node = self.node(desktop, path)?;
        let id = node[0].as_i64().ok_or("no id")?;
        self.clicked(desktop, id)
    }
}

/// Waits until the submenu at `path` reads as `ok` wants; fails with the
/// submenu as last read.
pub fn wait_for_submenu(
    desktop: &Desktop,
    path: &[&str],
    limit: Duration,
    wanted: &str,
    ok: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        let got = Item::find(desktop).and_then(|i| i.submenu(desktop, path));
        if let Ok(text) = &got {
            if ok(text) {
                return text.clone();
            }
        }
        assert!(
            start.elapsed() < limit,
            "the submenu {path:?} after {limit:?}:\n{}\n{wanted}\napp stderr:\n{}",
            got.unwrap_or_else(|e| format!("(unreadable: {e})")),
            desktop.app_stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The menu as it is now, as [`text`] (finding the item first).
pub fn read(desktop: &Desktop) -> Result<String, String> {
    Ok(text(&Item::find(desktop)?.menu(desktop)?))
}

/// One `(ia{sv}av)` layout node; `None` when hidden. Defaults are the
/// dbusmenu spec's: visible, enabled, type "standard", no toggle.
fn entry(node: &Value) -> Option<Entry> {
    let props = &node[1];
    let prop = |k: &str| props.get(k).map(|p| &p["data"]);
    if prop("visible").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    if prop("type").and_then(Value::as_str) == Some("separator") {
        return Some(Entry::Separator);
    }
    let checked = match prop("toggle-type").and_then(Value::as_str) {
        Some("checkmark") | Some("radio") => {
            Some(prop("toggle-state").and_then(Value::as_i64) == Some(1))
        }
        _ => None,
    };
    Some(Entry::Item {
        id: node[0].as_i64().and_then(|i| i32::try_from(i).ok())?,
        label: prop("label")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        enabled: prop("enabled").and_then(Value::as_bool) != Some(false),
        checked,
    })
}

/// The menu as lines a person reads: `[x] Kill Switch`, `[ ] Allow LAN`,
/// `Show Rules…`, a disabled entry with ` (disabled)`, `---` between
/// groups.
pub fn text(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        match e {
            Entry::Separator => out.push_str("---"),
            Entry::Item {
                label,
                enabled,
                checked,
                ..
            } => {
                match checked {
                    Some(true) => out.push_str("[x] "),
                    Some(false) => out.push_str("[ ] "),
                    None => {}
                }
                out.push_str(label);
                if !enabled {
                    out.push_str(" (disabled)");
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Whether `actual` matches `expected` line by line, `?` in `expected`
/// standing for any one character (the clock in "Paused until ??:??").
pub fn matches(expected: &str, actual: &str) -> bool {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    e.len() == a.len()
        && e.iter().zip(&a).all(|(e, a)| {
            e.chars().count() == a.chars().count()
                && e.chars().zip(a.chars()).all(|(x, y)| x == '?' || x == y)
        })
}

/// The id of the visible item labelled `label`.
fn id_of(entries: &[Entry], label: &str) -> Option<i32> {
    entries.iter().find_map(|e| match e {
        Entry::Item { id, label: l, .. } if l == label => Some(*id),
        _ => None,
    })
}

/// Waits until the menu reads `expected` (see [`matches`]).
pub fn wait_for_menu(desktop: &Desktop, expected: &str, limit: Duration) {
    wait_until(desktop, limit, &format!("expected:\n{expected}"), |menu| {
        matches(expected, menu)
    });
}

/// Waits until the menu's text satisfies `ok`; fails with the menu as it
/// was last read, `wanted` (what `ok` looks for) and the app's stderr.
pub fn wait_until(desktop: &Desktop, limit: Duration, wanted: &str, ok: impl Fn(&str) -> bool) {
    let start = Instant::now();
    loop {
        let got = read(desktop);
        if got.as_deref().is_ok_and(&ok) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "the menu over dbusmenu after {limit:?}:\n{}\n{wanted}\napp stderr:\n{}",
            got.unwrap_or_else(|e| format!("(unreadable: {e})")),
            desktop.app_stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
