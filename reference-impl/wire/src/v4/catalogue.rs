//! Names and formats of DHCPv4 options (RFC 2132 and later RFCs) and message types.
//!
//! One table drives typed reading of any known option ([`super::OptionValue`]) and the names
//! a dissector prints, so a code is described in one place only.

/// How an option's data is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// No data (rapid commit, RFC 4039).
    Empty,
    /// One IPv4 address.
    Addr,
    /// One or more IPv4 addresses.
    Addrs,
    /// Zero or more IPv4 addresses (option 68 may be empty).
    AddrsOrEmpty,
    /// Pairs of IPv4 addresses (policy filter, static routes).
    AddrPairs,
    /// One unsigned byte.
    U8,
    /// One unsigned 16-bit integer.
    U16,
    /// One unsigned 32-bit integer.
    U32,
    /// A duration in seconds.
    Seconds,
    /// A lease time or timer in seconds, where 0xffffffff means infinite (51, 58, 59).
    Lifetime,
    /// An absolute time in seconds since 1970 (RFC 6926 timestamps).
    EpochTime,
    /// One signed 32-bit integer.
    I32,
    /// One or more unsigned 16-bit integers.
    U16s,
    /// One byte, 0 or 1.
    Bool,
    /// NVT ASCII text.
    Text,
    /// Bytes without further structure known here.
    Bytes,
    /// Option 53.
    MessageType,
    /// Option 52.
    Overload,
    /// Option 55: a list of option codes.
    ParamList,
    /// Option 61 (RFC 2132, 4361).
    ClientId,
    /// Option 82 with its sub-options (RFC 3046).
    RelayAgent,
    /// Options 121 and 249 (RFC 3442).
    ClasslessRoutes,
    /// Option 81 (RFC 4702).
    ClientFqdn,
    /// Option 119 (RFC 3397).
    DomainSearch,
    /// Option 124 (RFC 3925).
    VendorClasses,
    /// Option 125 (RFC 3925).
    VendorOptions,
}

/// Option codes this crate reads by name.
#[allow(missing_docs)]
pub mod code {
    pub const PAD: u8 = 0;
    pub const SUBNET_MASK: u8 = 1;
    pub const ROUTER: u8 = 3;
    pub const DNS_SERVERS: u8 = 6;
    pub const HOST_NAME: u8 = 12;
    pub const DOMAIN_NAME: u8 = 15;
    pub const BROADCAST_ADDRESS: u8 = 28;
    pub const STATIC_ROUTES: u8 = 33;
    pub const NTP_SERVERS: u8 = 42;
    pub const VENDOR_SPECIFIC: u8 = 43;
    pub const REQUESTED_IP: u8 = 50;
    pub const LEASE_TIME: u8 = 51;
    pub const OVERLOAD: u8 = 52;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const SERVER_ID: u8 = 54;
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    pub const MESSAGE: u8 = 56;
    pub const MAX_MESSAGE_SIZE: u8 = 57;
    pub const RENEWAL_TIME: u8 = 58;
    pub const REBINDING_TIME: u8 = 59;
    pub const VENDOR_CLASS_ID: u8 = 60;
    pub const CLIENT_ID: u8 = 61;
    pub const USER_CLASS: u8 = 77;
    pub const RAPID_COMMIT: u8 = 80;
    pub const CLIENT_FQDN: u8 = 81;
    pub const RELAY_AGENT_INFO: u8 = 82;
    pub const SUBNET_SELECTION: u8 = 118;
    pub const DOMAIN_SEARCH: u8 = 119;
    pub const CLASSLESS_ROUTES: u8 = 121;
    pub const VI_VENDOR_CLASS: u8 = 124;
    pub const VI_VENDOR_INFO: u8 = 125;
    pub const END: u8 = 255;
}

/// Name and format of a known option, or `None` for a code this table does not know.
pub fn lookup(code: u8) -> Option<(&'static str, Format)> {
    use Format::*;
    Some(match code {
        1 => ("Subnet Mask", Addr),
        2 => ("Time Offset", I32),
        3 => ("Router", Addrs),
        4 => ("Time Server", Addrs),
        5 => ("Name Server", Addrs),
        6 => ("Domain Name Server", Addrs),
        7 => ("Log Server", Addrs),
        8 => ("Cookie Server", Addrs),
        9 => ("LPR Server", Addrs),
        10 => ("Impress Server", Addrs),
        11 => ("Resource Location Server", Addrs),
        12 => ("Host Name", Text),
        13 => ("Boot File Size", U16),
        14 => ("Merit Dump File", Text),
        15 => ("Domain Name", Text),
        16 => ("Swap Server", Addr),
        17 => ("Root Path", Text),
        18 => ("Extensions Path", Text),
        19 => ("IP Forwarding", Bool),
        20 => ("Non-Local Source Routing", Bool),
        21 => ("Policy Filter", AddrPairs),
        22 => ("Maximum Datagram Reassembly Size", U16),
        23 => ("Default IP Time-to-live", U8),
        24 => ("Path MTU Aging Timeout", Seconds),
        25 => ("Path MTU Plateau Table", U16s),
        26 => ("Interface MTU", U16),
        27 => ("All Subnets are Local", Bool),
        28 => ("Broadcast Address", Addr),
        29 => ("Perform Mask Discovery", Bool),
        30 => ("Mask Supplier", Bool),
        31 => ("Perform Router Discovery", Bool),
        32 => ("Router Solicitation Address", Addr),
        33 => ("Static Route", AddrPairs),
        34 => ("Trailer Encapsulation", Bool),
        35 => ("ARP Cache Timeout", Seconds),
        36 => ("Ethernet Encapsulation", Bool),
        37 => ("TCP Default TTL", U8),
        38 => ("TCP Keepalive Interval", Seconds),
        39 => ("TCP Keepalive Garbage", Bool),
        40 => ("NIS Domain", Text),
        41 => ("NIS Servers", Addrs),
        42 => ("NTP Servers", Addrs),
        43 => ("Vendor-Specific Information", Bytes),
        44 => ("NetBIOS Name Server", Addrs),
        45 => ("NetBIOS Datagram Distribution Server", Addrs),
        46 => ("NetBIOS Node Type", U8),
        47 => ("NetBIOS Scope", Text),
        48 => ("X Window Font Server", Addrs),
        49 => ("X Window Display Manager", Addrs),
        50 => ("Requested IP Address", Addr),
        51 => ("IP Address Lease Time", Lifetime),
        52 => ("Option Overload", Overload),
        53 => ("DHCP Message Type", MessageType),
        54 => ("Server Identifier", Addr),
        55 => ("Parameter Request List", ParamList),
        56 => ("Message", Text),
        57 => ("Maximum DHCP Message Size", U16),
        58 => ("Renewal (T1) Time", Lifetime),
        59 => ("Rebinding (T2) Time", Lifetime),
        60 => ("Vendor Class Identifier", Text),
        61 => ("Client Identifier", ClientId),
        64 => ("NIS+ Domain", Text),
        65 => ("NIS+ Servers", Addrs),
        66 => ("TFTP Server Name", Text),
        67 => ("Bootfile Name", Text),
        68 => ("Mobile IP Home Agent", AddrsOrEmpty),
        69 => ("SMTP Server", Addrs),
        70 => ("POP3 Server", Addrs),
        71 => ("NNTP Server", Addrs),
        72 => ("WWW Server", Addrs),
        73 => ("Finger Server", Addrs),
        74 => ("IRC Server", Addrs),
        75 => ("StreetTalk Server", Addrs),
        76 => ("StreetTalk Directory Assistance Server", Addrs),
        77 => ("User Class", Bytes),
        80 => ("Rapid Commit", Empty),
        81 => ("Client FQDN", ClientFqdn),
        82 => ("Relay Agent Information", RelayAgent),
        90 => ("Authentication", Bytes),
        91 => ("Client Last Transaction Time", Seconds),
        92 => ("Associated IP", Addrs),
        93 => ("Client System Architecture", U16s),
        94 => ("Client Network Device Interface", Bytes),
        97 => ("Client Machine Identifier", Bytes),
        100 => ("PCode", Text),
        101 => ("TCode", Text),
        108 => ("IPv6-Only Preferred", Seconds),
        114 => ("Captive Portal", Text),
        116 => ("Auto-Configure", U8),
        118 => ("Subnet Selection", Addr),
        119 => ("Domain Search", DomainSearch),
        120 => ("SIP Servers", Bytes),
        121 => ("Classless Static Route", ClasslessRoutes),
        124 => ("V-I Vendor Class", VendorClasses),
        125 => ("V-I Vendor-Specific Information", VendorOptions),
        150 => ("TFTP Server Address", Addrs),
        151 => ("Status Code", Bytes),
        152 => ("Base Time", EpochTime),
        153 => ("Start Time of State", Seconds),
        154 => ("Query Start Time", EpochTime),
        155 => ("Query End Time", EpochTime),
        156 => ("DHCP State", U8),
        157 => ("Data Source", U8),
        161 => ("MUD URL", Text),
        249 => ("Classless Static Route (Microsoft)", ClasslessRoutes),
        252 => ("Web Proxy Auto-Discovery", Text),
        _ => return None,
    })
}

/// Name of an option code, `"Unknown"` when the table does not know it.
pub fn name(code: u8) -> &'static str {
    match code {
        0 => "Pad",
        255 => "End",
        _ => lookup(code).map_or("Unknown", |(n, _)| n),
    }
}

/// Name of a relay agent information sub-option (RFC 3046 and successors).
pub fn relay_sub_option_name(code: u8) -> &'static str {
    match code {
        1 => "Agent Circuit ID",
        2 => "Agent Remote ID",
        4 => "DOCSIS Device Class",
        5 => "Link Selection",
        6 => "Subscriber ID",
        7 => "RADIUS Attributes",
        8 => "Authentication",
        9 => "Vendor-Specific Information",
        10 => "Relay Agent Flags",
        11 => "Server Identifier Override",
        12 => "Relay Agent Identifier",
        13 => "Access Technology Type",
        14 => "Access Network Name",
        15 => "Access Point Name",
        16 => "Access Point BSSID",
        17 => "Operator Identifier",
        18 => "Operator Realm",
        19 => "Relay Source Port",
        151 => "Virtual Subnet Selection",
        152 => "Virtual Subnet Selection Control",
        _ => "Unknown",
    }
}

/// The value of option 53, known types named and the rest kept as their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum MessageType {
    Discover,
    Offer,
    Request,
    Decline,
    Ack,
    Nak,
    Release,
    Inform,
    ForceRenew,
    LeaseQuery,
    LeaseUnassigned,
    LeaseUnknown,
    LeaseActive,
    BulkLeaseQuery,
    LeaseQueryDone,
    ActiveLeaseQuery,
    LeaseQueryStatus,
    Tls,
    /// A value no RFC assigns.
    Unknown(u8),
}

const MESSAGE_TYPES: [(MessageType, &str); 18] = [
    (MessageType::Discover, "DISCOVER"),
    (MessageType::Offer, "OFFER"),
    (MessageType::Request, "REQUEST"),
    (MessageType::Decline, "DECLINE"),
    (MessageType::Ack, "ACK"),
    (MessageType::Nak, "NAK"),
    (MessageType::Release, "RELEASE"),
    (MessageType::Inform, "INFORM"),
    (MessageType::ForceRenew, "FORCERENEW"),
    (MessageType::LeaseQuery, "LEASEQUERY"),
    (MessageType::LeaseUnassigned, "LEASEUNASSIGNED"),
    (MessageType::LeaseUnknown, "LEASEUNKNOWN"),
    (MessageType::LeaseActive, "LEASEACTIVE"),
    (MessageType::BulkLeaseQuery, "BULKLEASEQUERY"),
    (MessageType::LeaseQueryDone, "LEASEQUERYDONE"),
    (MessageType::ActiveLeaseQuery, "ACTIVELEASEQUERY"),
    (MessageType::LeaseQueryStatus, "LEASEQUERYSTATUS"),
    (MessageType::Tls, "DHCPTLS"),
];

impl From<u8> for MessageType {
    fn from(v: u8) -> Self {
        usize::from(v)
            .checked_sub(1)
            .and_then(|i| MESSAGE_TYPES.get(i))
            .map_or(MessageType::Unknown(v), |(t, _)| *t)
    }
}

impl From<MessageType> for u8 {
    fn from(t: MessageType) -> u8 {
        match t {
            MessageType::Unknown(v) => v,
            known => MESSAGE_TYPES
                .iter()
                .position(|(k, _)| *k == known)
                .map_or(0, |i| i as u8 + 1),
        }
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MessageType::Unknown(v) => write!(f, "unknown({v})"),
            known => {
                let name = MESSAGE_TYPES
                    .iter()
                    .find(|(k, _)| k == known)
                    .map_or("?", |(_, n)| n);
                f.write_str(name)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_numbers_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(MessageType::from(v)), v);
        }
        assert_eq!(MessageType::from(5), MessageType::Ack);
        assert_eq!(MessageType::from(106).to_string(), "unknown(106)");
    }
}
