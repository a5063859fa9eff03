//! The OpenVPN parser on arbitrary text (checks in `common`).
#![no_main]

mod common;

use airlock_shared::import::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::check_config(data, Format::OpenVpn, |_| {});
});
