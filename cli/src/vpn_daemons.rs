//! Which VPN daemons run, and as whom: what `airlockctl doctor` needs to
//! say whether `vpn-root-only` would keep the VPN connecting. The rule
//! matches the owner of the socket that sends, and a daemon's socket is
//! owned by the user the daemon runs as; VPN clients keep their server's
//! UDP socket unconnected (OpenVPN does), so the kernel's socket tables
//! cannot name the process, and its name and user are what is left. The
//! list of names is what the menu's "VPN Servers" knows plus the common
//! command-line and vendor daemons. Reading the process table is the
//! per-platform part (`vpn_daemons_linux.rs`, `vpn_daemons_macos.rs`).

#[cfg(target_os = "linux")]
#[path = "vpn_daemons_linux.rs"]
mod table;
#[cfg(target_os = "macos")]
#[path = "vpn_daemons_macos.rs"]
mod table;

/// A VPN daemon found running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    /// The product, as users know it.
    pub product: &'static str,
    /// The process name it was found by.
    pub process: String,
    /// The user its sockets belong to (its effective uid).
    pub uid: u32,
}

/// Process names of VPN daemons, and their products. Names are matched
/// whole (the kernel's 15-character `comm` on Linux is matched as a
/// prefix of the longer ones).
const KNOWN: &[(&str, &str)] = &[
    ("openvpn", "OpenVPN"),
    ("openconnect", "OpenConnect"),
    ("vpnc", "vpnc"),
    ("charon", "strongSwan"),
    ("wireguard-go", "WireGuard (userspace)"),
    ("boringtun", "WireGuard (BoringTun)"),
    ("tailscaled", "Tailscale"),
    ("mullvad-daemon", "Mullvad"),
    ("nordvpnd", "NordVPN"),
    ("expressvpnd", "ExpressVPN"),
    ("protonvpn-daemon", "Proton VPN"),
    ("ViscosityHelper", "Viscosity"),
    ("WireGuardNetworkExtension", "WireGuard"),
];

/// The VPN daemons among `processes` (effective uid, name).
pub fn find(processes: &[(u32, String)]) -> Vec<Daemon> {
    processes
        .iter()
        .filter_map(|(uid, name)| {
            let (_, product) = KNOWN.iter().find(|(known, _)| {
                name == known || (name.len() == 15 && known.starts_with(name.as_str()))
            })?;
            Some(Daemon {
                product,
                process: name.clone(),
                uid: *uid,
            })
        })
        .collect()
}

/// The VPN daemons running on this machine; empty where the process
/// table cannot be read.
pub fn running() -> Vec<Daemon> {
    find(&table::processes())
}

/// `ps -axo uid=,comm=` (macOS): one process per line, the uid, then the
/// executable's path, whose last part is the name.
#[cfg_attr(
    all(not(target_os = "macos"), not(test)),
    expect(dead_code, reason = "macOS's parser, tested everywhere")
)]
pub fn parse_ps(text: &str) -> Vec<(u32, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let (uid, path) = line.split_once(char::is_whitespace)?;
            let name = path.trim().rsplit('/').next()?.to_string();
            Some((uid.parse().ok()?, name))
        })
        .collect()
}

/// The effective uid and name from a Linux `/proc/PID/status`.
#[cfg_attr(
    all(not(target_os = "linux"), not(test)),
    expect(dead_code, reason = "Linux's parser, tested everywhere")
)]
pub fn parse_status(text: &str) -> Option<(u32, String)> {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
    };
    let name = field("Name:")?.to_string();
    let uid = field("Uid:")?.split_whitespace().nth(1)?.parse().ok()?;
    Some((uid, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemons_are_found_by_name_with_their_user() {
        let ps = [
            (0, "openvpn".to_string()),
            (501, "Safari".to_string()),
            (501, "WireGuardNetworkExtension".to_string()),
            (0, "mullvad-daemon".to_string()),
            (1000, "openvpn-gui".to_string()),
        ];
        let found = find(&ps);
        let got: Vec<(&str, u32)> = found.iter().map(|d| (d.product, d.uid)).collect();
        assert_eq!(got, [("OpenVPN", 0), ("WireGuard", 501), ("Mullvad", 0)]);
    }

    /// Linux cuts `comm` to 15 bytes: "protonvpn-daemon" is "protonvpn-daemo".
    #[test]
    fn a_name_the_kernel_cut_short_is_still_found() {
        let found = find(&[(0, "protonvpn-daemo".to_string())]);
        assert_eq!(found[0].product, "Proton VPN");
        assert!(
            find(&[(0, "openvp".to_string())]).is_empty(),
            "only 15-byte names"
        );
    }

    #[test]
    fn ps_lines_give_uid_and_the_executables_name() {
        let text = "    0 /usr/sbin/syslogd\n  \
                    0 /Library/Application Support/Tunnelblick/openvpn/openvpn-2.6.8/openvpn\n\
                    501 /Applications/Viscosity.app/Contents/MacOS/ViscosityHelper\n\
                    garbage\n";
        assert_eq!(
            parse_ps(text),
            [
                (0, "syslogd".to_string()),
                (0, "openvpn".to_string()),
                (501, "ViscosityHelper".to_string())
            ]
        );
    }

    #[test]
    fn proc_status_gives_the_effective_uid() {
        let text = "Name:\topenvpn\nUmask:\t0022\nState:\tS (sleeping)\n\
                    Uid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(parse_status(text), Some((0, "openvpn".to_string())));
        assert_eq!(parse_status("Name:\tx\n"), None);
    }
}
