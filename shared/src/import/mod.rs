//! VPN endpoint import from OpenVPN/WireGuard configs. Filled in by the import work.
