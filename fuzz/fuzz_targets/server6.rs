//! libFuzzer entry of the `server6` target: [`dhcplab_fuzz_targets::server6`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcplab_fuzz_targets::server6(data));
