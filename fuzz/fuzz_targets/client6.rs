//! libFuzzer entry of the `client6` target: [`dhcplab_fuzz_targets::client6`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcplab_fuzz_targets::client6(data));
