//! libFuzzer entry of the `capture` target: [`dhcplab_fuzz_targets::capture`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcplab_fuzz_targets::capture(data));
