//! libFuzzer entry of the `server4` target: [`dhcplab_fuzz_targets::server4`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcplab_fuzz_targets::server4(data));
