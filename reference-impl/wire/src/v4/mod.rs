//! DHCPv4 and BOOTP: RFC 951, 2131, 2132, 3046, 3396, 3442, 4039, 4361, 4702, 6842.

mod area;
pub mod catalogue;
mod glance;
mod message;
mod raw;
mod value;

pub use area::{Area, BuildError, CodeSet, Entries, Entry, OptionArea, OptionRef};
pub use catalogue::{MessageType, code};
pub use glance::Glance;
pub use message::{MAGIC_COOKIE, Message, OptionData};
pub use raw::RawBuilder;
pub use value::{
    ClasslessRoute, ClientFqdn, ClientId, FqdnName, Hex, Lifetime, OptionValue, Overload, Seconds,
    SubOption, Text, VendorBlock, parse_addr, parse_addrs,
};

/// UDP port of DHCPv4 servers and relays.
pub const SERVER_PORT: u16 = 67;
/// UDP port of DHCPv4 clients.
pub const CLIENT_PORT: u16 = 68;
