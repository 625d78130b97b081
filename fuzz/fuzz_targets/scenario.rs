//! libFuzzer entry of the `scenario` target: [`dhcplab_fuzz_targets::scenario`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcplab_fuzz_targets::scenario(data));
