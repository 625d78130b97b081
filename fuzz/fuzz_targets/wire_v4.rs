//! libFuzzer entry of the `wire_v4` target: [`dhcplab_fuzz_targets::wire_v4`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcplab_fuzz_targets::wire_v4(data));
