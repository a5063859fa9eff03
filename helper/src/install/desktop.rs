//! The XDG desktop entries the Linux package ships: one for the
//! applications menu, one for autostart (system-wide, in
//! /etc/xdg/autostart). Both start the installed app by absolute path.

use super::names;

fn entry(exec: &str, extra: &str) -> String {
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name={name}\n\
         GenericName=VPN Kill Switch\n\
         Comment=VPN kill switch status and controls\n\
         Exec={exec}\n\
         Icon={icon}\n\
         Terminal=false\n\
         Categories=Network;Security;\n\
         Keywords=VPN;firewall;kill switch;\n\
         {extra}",
        name = names::APP_NAME,
        icon = names::ICON_NAME,
    )
}

/// `/usr/share/applications/airlock.desktop`. Single instance: the app
/// is a tray icon, so launching it twice should not add a second icon
/// (StartupNotify=false: there is no window to wait for).
pub fn applications_entry(exec: &str) -> String {
    entry(exec, "StartupNotify=false\n")
}

/// `/etc/xdg/autostart/airlock.desktop`: started in every graphical
/// session; a user turns it off with a same-named entry in
/// ~/.config/autostart carrying `Hidden=true` (XDG autostart spec).
pub fn autostart_entry(exec: &str) -> String {
    entry(
        exec,
        "StartupNotify=false\nNoDisplay=true\nX-GNOME-Autostart-enabled=true\n",
    )
}

/// The app as the package installs it.
pub fn packaged_exec() -> String {
    format!("/usr/bin/{}", names::APP_BINARY)
}
