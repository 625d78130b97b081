//! libFuzzer entry of the `wire_v6` target: [`dhcplab_fuzz_targets::wire_v6`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcplab_fuzz_targets::wire_v6(data));
