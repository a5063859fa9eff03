//! The WireGuard parser on arbitrary text (checks in `common`), plus: every
//! endpoint is UDP.
#![no_main]

mod common;

use airlock_shared::endpoint::Transport;
use airlock_shared::import::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::check_config(data, Format::WireGuard, |spec| {
        assert_eq!(spec.transport, Transport::Udp, "WireGuard is UDP only");
    });
});
