//! The end-to-end lab for Airlock's leak suite: three network namespaces
//! (`inet` = internet + router, `client` = the laptop, `guest` = a VM behind
//! it), a real OpenVPN 2.6 server and client with TLS, a web service that
//! says which source address it saw, leaky probes, and a tcpdump-based leak
//! meter that classifies every packet the client puts on the wire.
//!
//! ```no_run
//! use airlock_lab::{Lab, Ns, Probe};
//! use std::time::Duration;
//! # fn main() -> airlock_lab::Result<()> {
//! let mut lab = Lab::start()?;
//! lab.start_vpn_server()?;
//! let connect_time = lab.connect_vpn("tun0")?;
//! let meter = lab.meter_start()?;
//! for probe in Probe::leaky_set() {
//!     lab.probe(Ns::Client, &probe, Duration::from_secs(1))?;
//! }
//! let capture = meter.stop()?;
//! assert!(capture.leaks.is_empty(), "{}", capture.report());
//! # let _ = connect_time;
//! # Ok(())
//! # }
//! ```
//!
//! Everything the lab creates is removed when the [`Lab`] is dropped, also
//! while a failing test unwinds; processes are killed by PID.
//!
//! Linux only (network namespaces, `SO_BINDTODEVICE`, nftables): elsewhere
//! the crate is empty, so that the workspace still builds on macOS.

#![cfg(target_os = "linux")]

pub mod addr;
pub mod airlock;
pub mod classify;
pub mod dhcp;
pub mod dnsmasq;
pub mod error;
pub mod meter;
pub mod netns;
pub mod openvpn;
pub mod plumbing;
pub mod probes;
pub mod timed;
pub mod topology;
pub mod web;
pub mod wire_dns;

pub use addr::{CLIENT_WAN, GUEST_BRIDGE, INET_WIRE};
pub use airlock::{Airlock, Binaries};
pub use classify::{Class, PacketSummary, Proto};
pub use error::{LabError, Result};
pub use meter::{Capture, Meter};
pub use probes::{Outcome, Probe, ProbeKind, WebConn};
pub use topology::{Lab, LabOptions, Ns};
