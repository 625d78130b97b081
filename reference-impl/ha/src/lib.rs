//! High availability as Kea 2.2's libdhcp_ha.so does it, as a pure state machine.
//!
//! [`Ha`] is one server's side of an HA setup. It never opens a socket or reads a clock: the
//! server feeds it the time, the client queries it must filter, the lease changes it must send
//! to the partner, the peer commands it receives and the answers to the requests it made; it
//! hands back [`Request`]s (peer commands to POST to a partner's URL) and [`Effect`]s (replies
//! to release or drop, leases to merge, state transitions). The driver carries the requests
//! over HTTP ([`http`]), in virtual time or on real sockets.
//!
//! Kea's names are kept: states, parameters, commands, answer texts and log message ids.
//! Differences from Kea 2.2 are documented where they are implemented.

mod config;
mod disable;
mod hash;
pub mod http;
mod service;
mod state;

pub use config::{BasicAuth, ConfigError, HaConfig, Mode, Peer, Role};
pub use disable::Disable;
pub use hash::load_balance_hash;
pub use service::{Client, Effect, Ha, Request, Verdict};
pub use state::{PartnerState, State};

/// The file name of Kea's HA hook library, which a configuration lists to turn HA on.
pub const LIBRARY: &str = "libdhcp_ha.so";
