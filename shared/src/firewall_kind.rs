//! Which kernel packet filter holds Airlock's rules, and the one place
//! that maps a platform to it.
//!
//! Everything that depends on the kind asks this type: the helper's
//! firewall facade (which driver, how tampering is noticed), `airlockctl
//! render` (which ruleset language), `airlockctl doctor` (which tool must
//! be installed) and the status (what `firewall.backend` says).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::platform::Platform;
use crate::policy::Policy;
use crate::render;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FirewallKind {
    /// Linux nftables: one `inet airlock` table, loaded with `nft -f`,
    /// and its owned copy `inet airlock_guard`.
    Nft,
    /// macOS pf: one anchor under `com.apple/`, loaded with `pfctl -a`.
    Pf,
}

impl FirewallKind {
    /// The firewall for `platform`, unless the user asked for another one
    /// (`airlockd run --backend`, used by the tests to drive pf's logic
    /// against a stand-in `pfctl` on Linux).
    pub fn choose(platform: Platform, chosen: Option<FirewallKind>) -> FirewallKind {
        chosen.unwrap_or(match platform {
            Platform::Macos => FirewallKind::Pf,
            Platform::Linux => FirewallKind::Nft,
        })
    }

    /// The ruleset in this firewall's language. Renderers decide nothing:
    /// every decision is already in `policy`.
    pub fn render(self, policy: &Policy) -> String {
        match self {
            FirewallKind::Nft => render::nft::render(policy),
            FirewallKind::Pf => render::pf::render(policy),
        }
    }

    /// The script of the kernel-protected copy of the rules, where the
    /// firewall has such a thing: nftables' owned table
    /// ([`render::nft::render_guard`]). pf has no owner for an anchor.
    pub fn render_guard(self, policy: &Policy) -> Option<String> {
        self.has_guard().then(|| render::nft::render_guard(policy))
    }

    /// Whether this firewall has a kernel-protected copy of the rules.
    pub fn has_guard(self) -> bool {
        match self {
            FirewallKind::Nft => true,
            FirewallKind::Pf => false,
        }
    }

    /// The command-line tool the helper drives (and `doctor` looks for).
    pub fn program(self) -> &'static str {
        match self {
            FirewallKind::Nft => "nft",
            FirewallKind::Pf => "pfctl",
        }
    }

    /// `nft` or `pf`, as the status and logs say it.
    pub fn as_str(self) -> &'static str {
        match self {
            FirewallKind::Nft => "nft",
            FirewallKind::Pf => "pf",
        }
    }
}

impl fmt::Display for FirewallKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platform_gets_its_own_firewall_unless_another_is_chosen() {
        use FirewallKind::*;
        assert_eq!(FirewallKind::choose(Platform::Macos, None), Pf);
        assert_eq!(FirewallKind::choose(Platform::Linux, None), Nft);
        assert_eq!(FirewallKind::choose(Platform::Linux, Some(Pf)), Pf);
        assert_eq!(FirewallKind::choose(Platform::Macos, Some(Nft)), Nft);
    }

    #[test]
    fn the_status_spelling_round_trips() {
        for kind in [FirewallKind::Nft, FirewallKind::Pf] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<FirewallKind>(&json).unwrap(), kind);
        }
    }
}
