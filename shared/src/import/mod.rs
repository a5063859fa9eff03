//! VPN endpoint import: the servers named in OpenVPN (also Viscosity and
//! Tunnelblick) and WireGuard configs, turned into the [`Endpoint`]s the
//! kill switch lets through.
//!
//! Three steps, kept apart so each can be tested and each failure reported
//! for what it is:
//! 1. [`parse`]: text -> [`RemoteSpec`]s (name, port, protocol), pure;
//! 2. [`RemoteSpec::resolve`]: names -> addresses, through a [`Resolve`]r
//!    the caller passes in;
//! 3. [`resolve::dedup`]: one endpoint per address, port and protocol.
//!
//! [`import_file`] does all three for one file; [`discover`] lists the
//! configs Viscosity and Tunnelblick keep on a Mac.

pub mod error;
pub mod locations;
pub mod openvpn;
pub mod resolve;
pub mod wireguard;

use std::fs;
use std::path::Path;

use crate::endpoint::{Endpoint, Transport};
use crate::policy::Family;

pub use error::{ImportError, ResolveError, SyntaxError};
pub use locations::{discover, Client, FoundConfig};
pub use resolve::{dedup, resolve_all, Resolve, SystemResolver};

/// The kind of VPN config a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    OpenVpn,
    WireGuard,
}

impl Format {
    /// WireGuard if any line is an `[Interface]` or `[Peer]` header, else
    /// OpenVPN. File names do not help (`config.conf` and `wg0.conf` are both
    /// `.conf`), but the two syntaxes never share these lines: an OpenVPN
    /// line cannot start with `[`.
    pub fn detect(text: &str) -> Format {
        let wireguard = text.lines().any(|line| {
            let line = line.split('#').next().unwrap_or("").trim();
            line.eq_ignore_ascii_case("[interface]") || line.eq_ignore_ascii_case("[peer]")
        });
        if wireguard {
            Format::WireGuard
        } else {
            Format::OpenVpn
        }
    }
}

/// A server as the config names it, before any name is resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RemoteSpec {
    /// A host name or an IP literal, exactly as written.
    pub host: String,
    pub port: u16,
    pub transport: Transport,
    /// Set when the config allows only one address family (`udp6`, `tcp4`,
    /// ...); `None` means whichever the name resolves to.
    pub family: Option<Family>,
    /// The line that named the server, for showing where it came from.
    pub line: usize,
}

/// The servers a config names, in the order the VPN client would try them.
pub fn parse(text: &str, format: Format) -> Result<Vec<RemoteSpec>, ImportError> {
    let specs = match format {
        Format::OpenVpn => openvpn::parse(text)?,
        Format::WireGuard => wireguard::parse(text)?,
    };
    Ok(specs)
}

/// Reads and parses one config file; `format: None` detects it from the
/// content. Errors name the file.
pub fn load(path: &Path, format: Option<Format>) -> Result<Vec<RemoteSpec>, ImportError> {
    let bytes = fs::read(path).map_err(|error| ImportError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    // Lossy: a stray Latin-1 byte in a comment must not hide the servers.
    let text = String::from_utf8_lossy(&bytes);
    let format = format.unwrap_or_else(|| Format::detect(&text));
    parse(&text, format).map_err(|e| e.in_file(path))
}

/// The endpoints one config file names, resolved and deduplicated, with the
/// format detected from the content. Fails on the first name that does not
/// resolve; use [`load`] and [`RemoteSpec::resolve`] to skip such servers.
pub fn import_file<R: Resolve + ?Sized>(
    path: &Path,
    resolver: &R,
) -> Result<Vec<Endpoint>, ImportError> {
    import_file_as(path, None, resolver)
}

/// [`import_file`] with the format given instead of detected.
pub fn import_file_as<R: Resolve + ?Sized>(
    path: &Path,
    format: Option<Format>,
    resolver: &R,
) -> Result<Vec<Endpoint>, ImportError> {
    let specs = load(path, format)?;
    resolve_all(&specs, resolver).map_err(|e| ImportError::from(e).in_file(path))
}
