//! libFuzzer entry of the `kea_config` target: [`dhcplab_fuzz_targets::kea_config`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcplab_fuzz_targets::kea_config(data));
