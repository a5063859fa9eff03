//! The privileged helper of Airlock, as a library so its parts can be
//! tested on their own. The binary (`main.rs`) is a thin shell over it.
//!
//! [`driver`] is the only code that touches the kernel firewall: it loads
//! the ruleset text the shared renderers produce, verifies it by reading it
//! back, reports tampering, and cuts connections a stricter policy forbids.

pub mod driver;
