//! The fuzz targets of dhcplab: one function per target, each taking arbitrary bytes, driving a
//! real entry point of the project with them and checking the cheap invariants that hold for
//! every input. `fuzz/` (cargo-fuzz, run by `ci/fuzz`) calls them from libFuzzer; the
//! proptest versions in `tests/proptest.rs` call them from `ci/test`. A target fails by
//! panicking: the code under test panicked, or an invariant did not hold.
//!
//! The cores' targets read their input as [`records`]: a flags byte, then datagrams each with
//! a control byte that varies what goes around it (addresses, host events, timers).

mod client;
mod files;
mod input;
mod server;
mod wire;

pub use client::{client4, client6};
pub use files::{capture, kea_config, scenario};
pub use input::{Record, Records, encode_records, records};
pub use server::{server4, server6};
pub use wire::{wire_v4, wire_v6};

/// A fuzz target: its name (the name of its file in `fuzz/fuzz_targets/`) and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target by its name, so the seed builder and the tests name them one way.
pub const TARGETS: [Target; 9] = [
    ("wire_v4", wire_v4),
    ("wire_v6", wire_v6),
    ("server4", server4),
    ("server6", server6),
    ("client4", client4),
    ("client6", client6),
    ("capture", capture),
    ("scenario", scenario),
    ("kea_config", kea_config),
];
