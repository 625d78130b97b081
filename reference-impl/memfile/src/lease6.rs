//! DHCPv6 lease rows (`CSVLeaseFile6`, schema 4.0 as Kea 2.2 writes it).

use std::net::Ipv6Addr;

/// The header line Kea 2.2 writes at the top of a DHCPv6 lease file.
pub const HEADER6: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source";

/// What a DHCPv6 lease is for: Kea's `Lease::Type`, written as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LeaseType {
    /// An address of an IA_NA (0).
    Na,
    /// An address of an IA_TA (1).
    Ta,
    /// A prefix of an IA_PD (2).
    Pd,
}

impl LeaseType {
    /// The number Kea writes in the `lease_type` column.
    pub fn code(self) -> u8 {
        match self {
            LeaseType::Na => 0,
            LeaseType::Ta => 1,
            LeaseType::Pd => 2,
        }
    }

    /// The type a `lease_type` number stands for.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(LeaseType::Na),
            1 => Some(LeaseType::Ta),
            2 => Some(LeaseType::Pd),
            _ => None,
        }
    }
}

/// The client's hardware address as a DHCPv6 lease keeps it (DHCPv6 has no chaddr: Kea takes
/// it from the DUID, the link-local address or a relay's option).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HwAddr6 {
    /// The address bytes.
    pub bytes: Vec<u8>,
    /// The hardware type (1: Ethernet).
    pub htype: u16,
    /// Where it came from: one of the `HWADDR_SOURCE_*` values.
    pub source: u32,
}

/// `hwaddr_source`: not known.
pub const HWADDR_SOURCE_UNKNOWN: u32 = 0;
/// `hwaddr_source`: the raw socket's frame.
pub const HWADDR_SOURCE_RAW: u32 = 1;
/// `hwaddr_source`: the client's DUID (type LLT or LL).
pub const HWADDR_SOURCE_DUID: u32 = 2;
/// `hwaddr_source`: the client's EUI-64 link-local address.
pub const HWADDR_SOURCE_IPV6_LINK_LOCAL: u32 = 4;
/// `hwaddr_source`: a relay's Client Link-Layer Address option (79, RFC 6939).
pub const HWADDR_SOURCE_CLIENT_ADDR_RELAY_OPTION: u32 = 8;
/// `hwaddr_source`: a relay's Remote-Id option (37).
pub const HWADDR_SOURCE_REMOTE_ID: u32 = 16;
/// `hwaddr_source`: a relay's Subscriber-Id option (38).
pub const HWADDR_SOURCE_SUBSCRIBER_ID: u32 = 32;
/// `hwaddr_source`: a DOCSIS CMTS's option.
pub const HWADDR_SOURCE_DOCSIS_CMTS: u32 = 64;
/// `hwaddr_source`: a DOCSIS modem's option.
pub const HWADDR_SOURCE_DOCSIS_MODEM: u32 = 128;

/// One DHCPv6 lease (an address or a delegated prefix) as a row holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease6 {
    /// The leased address, or the delegated prefix's first address.
    pub address: Ipv6Addr,
    /// The client's DUID; empty only in a declined lease.
    pub duid: Vec<u8>,
    /// Valid lifetime in seconds; 0 in a row deletes the lease.
    pub valid_lifetime: u32,
    /// Expiry, seconds since the epoch: client last transmission time plus valid lifetime.
    pub expire: u64,
    /// The subnet's `id`.
    pub subnet_id: u32,
    /// Preferred lifetime in seconds.
    pub preferred_lifetime: u32,
    /// IA_NA, IA_TA or IA_PD.
    pub lease_type: LeaseType,
    /// The IAID of the client's IA.
    pub iaid: u32,
    /// Prefix length: 128 for an address, the delegated length for a prefix.
    pub prefix_len: u8,
    /// A forward DNS update was done.
    pub fqdn_fwd: bool,
    /// A reverse DNS update was done.
    pub fqdn_rev: bool,
    /// Host name, unescaped.
    pub hostname: String,
    /// The client's hardware address, when known.
    pub hwaddr: Option<HwAddr6>,
    /// [`crate::STATE_DEFAULT`], [`crate::STATE_DECLINED`] or
    /// [`crate::STATE_EXPIRED_RECLAIMED`].
    pub state: u32,
    /// User context: a JSON map as text, unescaped; `None` when absent.
    pub user_context: Option<String>,
}
