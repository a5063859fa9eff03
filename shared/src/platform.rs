//! Which operating system a ruleset or an interface name belongs to.
//!
//! This is data, not `cfg`: the CLI renders macOS rulesets on Linux and the
//! tests classify macOS interface names everywhere.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// pf, `utun*` tunnels, `en*` physical interfaces.
    Macos,
    /// nftables, `tun*`/`wg*` tunnels, `eth*`/`en*`/`wl*` physical interfaces.
    Linux,
}

impl Platform {
    /// The platform this binary was built for; anything that is not macOS
    /// is treated as Linux (the only other target Airlock supports).
    pub fn current() -> Self {
        if cfg!(target_os = "macos") {
            Platform::Macos
        } else {
            Platform::Linux
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Macos => "macos",
            Platform::Linux => "linux",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown platform {0:?} (expected macos or linux)")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "macos" | "darwin" | "mac" => Ok(Platform::Macos),
            "linux" => Ok(Platform::Linux),
            _ => Err(UnknownPlatform(s.to_string())),
        }
    }
}
