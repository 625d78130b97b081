//! libFuzzer entry of the `client4` target: [`dhcplab_fuzz_targets::client4`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcplab_fuzz_targets::client4(data));
