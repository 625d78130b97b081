//! DHCPv6: RFC 8415 messages and options, RFC 3646 DNS, RFC 4704 FQDN, RFC 6355 DUID-UUID.

mod access;
pub mod catalogue;
mod message;
mod options;
mod raw;
mod value;

pub use catalogue::{MessageType, code};
pub use message::{ClientMessage, MAX_DEPTH, Message, RelayMessage};
pub use options::{Iter, OptionRef, Options, OptionsRef, TooLong};
pub use raw::RawBuilder;
pub use value::{
    Duid, Fqdn, Ia, IaAddress, IaPrefix, IaTa, OptionValue, StatusCode, parse_addrs, parse_codes,
    parse_length_prefixed,
};

/// UDP port of DHCPv6 clients.
pub const CLIENT_PORT: u16 = 546;
/// UDP port of DHCPv6 servers and relays.
pub const SERVER_PORT: u16 = 547;
