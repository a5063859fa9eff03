//! What the menu's fixed items say, and the limits of its text.

/// How long "Pause" pauses.
pub const PAUSE_SECONDS: u64 = 5 * 60;

/// Longest status line; a fault reason can be a paragraph, and a menu item
/// that wide is unusable. The full text is in the tooltip.
pub(super) const MAX_LINE: usize = 90;

pub const KILL_SWITCH_LABEL: &str = "Kill Switch";
pub const ALLOW_LAN_LABEL: &str = "Allow LAN";
pub const ALLOW_AIRDROP_LABEL: &str = "Allow AirDrop";
pub const ALLOW_AIRPRINT_LABEL: &str = "Allow AirPrint";
pub const ALLOW_DNS_LABEL: &str = "DNS While Disconnected";
pub const SERVERS_LABEL: &str = "VPN Servers";
pub const IMPORT_LABEL: &str = "Import VPN Configuration…";
pub const IMPORT_AND_ENABLE_LABEL: &str = "Import VPN Configuration and Turn On…";
pub const ENABLE_ANYWAY_LABEL: &str = "Turn On Anyway (Block Everything)";
pub const NOT_NOW_LABEL: &str = "Not Now";
pub const REMOVE_LABEL: &str = "Remove";
pub const ALLOW_CONNECTED_LABEL: &str = "Allow the Server of the VPN Connected Now";
/// What this machine is called in questions.
pub const THIS_MACHINE: &str = if cfg!(target_os = "macos") {
    "this Mac"
} else {
    "this computer"
};
pub const PAUSE_LABEL: &str = "Pause for 5 Minutes";
pub const RESUME_LABEL: &str = "Resume Now";
pub const SHOW_RULES_LABEL: &str = "Show Rules…";
pub const TEST_PROTECTION_LABEL: &str = "Test Protection";
pub const START_AT_LOGIN_LABEL: &str = "Start at Login";
pub const INSTALL_HELPER_LABEL: &str = "Install Helper…";
pub const QUIT_LABEL: &str = "Quit Airlock";
