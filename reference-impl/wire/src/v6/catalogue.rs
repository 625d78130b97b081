//! Names and formats of DHCPv6 options, message types and status codes (RFC 8415 and others).

/// How an option's data is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// No data.
    Empty,
    /// A DUID (client, server and relay identifiers).
    Duid,
    /// IA_NA or IA_PD: IAID, T1, T2, options.
    Ia,
    /// IA_TA: IAID, options.
    IaTa,
    /// IA Address: address, lifetimes, options.
    IaAddress,
    /// IA Prefix: lifetimes, prefix length, prefix, options.
    IaPrefix,
    /// A list of option codes (ORO, ERO).
    Codes,
    /// One byte.
    U8,
    /// Elapsed time in hundredths of a second.
    Elapsed,
    /// A duration in seconds.
    Seconds,
    /// A time in seconds where 0xffffffff means infinity (information refresh time).
    Lifetime,
    /// One or more 16-bit values.
    U16s,
    /// One IPv6 address.
    Addr,
    /// One or more IPv6 addresses.
    Addrs,
    /// UTF-8 or ASCII text.
    Text,
    /// Bytes without structure known here.
    Bytes,
    /// Status code and message.
    StatusCode,
    /// A whole DHCPv6 message (relay message option).
    RelayMessage,
    /// Length-prefixed opaque items (user class).
    UserClass,
    /// Enterprise number and length-prefixed items (vendor class).
    VendorClass,
    /// Enterprise number and options (vendor-specific information).
    VendorOpts,
    /// A list of fully qualified domain names, uncompressed.
    DomainList,
    /// One domain name, fully qualified.
    DomainName,
    /// Client FQDN (RFC 4704): flags and a possibly partial name.
    Fqdn,
    /// Enterprise number and remote ID (RFC 4649).
    RemoteId,
    /// Hardware type and link-layer address (RFC 6939).
    LinkLayerAddress,
    /// DHCPv6 options nested in the data, in the global code space (RSOO, client data).
    Nested,
    /// Sub-options in a code space of the option's own (NTP server, RFC 5908).
    SubOptions,
}

/// Option codes this crate reads by name.
#[allow(missing_docs)]
pub mod code {
    pub const CLIENT_ID: u16 = 1;
    pub const SERVER_ID: u16 = 2;
    pub const IA_NA: u16 = 3;
    pub const IA_TA: u16 = 4;
    pub const IA_ADDR: u16 = 5;
    pub const ORO: u16 = 6;
    pub const PREFERENCE: u16 = 7;
    pub const ELAPSED_TIME: u16 = 8;
    pub const RELAY_MSG: u16 = 9;
    pub const AUTH: u16 = 11;
    pub const UNICAST: u16 = 12;
    pub const STATUS_CODE: u16 = 13;
    pub const RAPID_COMMIT: u16 = 14;
    pub const USER_CLASS: u16 = 15;
    pub const VENDOR_CLASS: u16 = 16;
    pub const VENDOR_OPTS: u16 = 17;
    pub const INTERFACE_ID: u16 = 18;
    pub const RECONF_MSG: u16 = 19;
    pub const RECONF_ACCEPT: u16 = 20;
    pub const DNS_SERVERS: u16 = 23;
    pub const DOMAIN_LIST: u16 = 24;
    pub const IA_PD: u16 = 25;
    pub const IA_PREFIX: u16 = 26;
    pub const INFORMATION_REFRESH_TIME: u16 = 32;
    pub const REMOTE_ID: u16 = 37;
    pub const SUBSCRIBER_ID: u16 = 38;
    pub const CLIENT_FQDN: u16 = 39;
    pub const RELAY_ID: u16 = 53;
    pub const CLIENT_LINKLAYER_ADDR: u16 = 79;
    pub const SOL_MAX_RT: u16 = 82;
    pub const INF_MAX_RT: u16 = 83;
}

/// Name and format of a known option, or `None` for a code this table does not know.
pub fn lookup(code: u16) -> Option<(&'static str, Format)> {
    use Format::*;
    Some(match code {
        1 => ("Client Identifier", Duid),
        2 => ("Server Identifier", Duid),
        3 => ("IA_NA", Ia),
        4 => ("IA_TA", IaTa),
        5 => ("IA Address", IaAddress),
        6 => ("Option Request", Codes),
        7 => ("Preference", U8),
        8 => ("Elapsed Time", Elapsed),
        9 => ("Relay Message", RelayMessage),
        11 => ("Authentication", Bytes),
        12 => ("Server Unicast", Addr),
        13 => ("Status Code", StatusCode),
        14 => ("Rapid Commit", Empty),
        15 => ("User Class", UserClass),
        16 => ("Vendor Class", VendorClass),
        17 => ("Vendor-specific Information", VendorOpts),
        18 => ("Interface-Id", Bytes),
        19 => ("Reconfigure Message", U8),
        20 => ("Reconfigure Accept", Empty),
        21 => ("SIP Server Domain Names", DomainList),
        22 => ("SIP Server Addresses", Addrs),
        23 => ("DNS Recursive Name Server", Addrs),
        24 => ("Domain Search List", DomainList),
        25 => ("IA_PD", Ia),
        26 => ("IA Prefix", IaPrefix),
        27 => ("NIS Servers", Addrs),
        28 => ("NIS+ Servers", Addrs),
        29 => ("NIS Domain Name", DomainList),
        30 => ("NIS+ Domain Name", DomainList),
        31 => ("SNTP Servers", Addrs),
        32 => ("Information Refresh Time", Lifetime),
        33 => ("BCMCS Domain Names", DomainList),
        34 => ("BCMCS Addresses", Addrs),
        37 => ("Remote-Id", RemoteId),
        38 => ("Subscriber-Id", Bytes),
        39 => ("Client FQDN", Fqdn),
        40 => ("PANA Agent", Addrs),
        41 => ("POSIX Timezone", Text),
        42 => ("TZDB Timezone", Text),
        43 => ("Echo Request", Codes),
        44 => ("Lease Query", Bytes),
        45 => ("Client Data", Nested),
        46 => ("Client Last Transaction Time", Seconds),
        47 => ("Lease Query Relay Data", Bytes),
        48 => ("Lease Query Client Link", Addrs),
        53 => ("Relay-Id", Duid),
        56 => ("NTP Server", SubOptions),
        59 => ("Boot File URL", Text),
        60 => ("Boot File Parameters", UserClass),
        61 => ("Client Architecture Type", U16s),
        62 => ("Client Network Interface Identifier", Bytes),
        64 => ("AFTR Name", DomainName),
        65 => ("ERP Local Domain Name", DomainList),
        66 => ("Relay Supplied Options", Nested),
        79 => ("Client Link-Layer Address", LinkLayerAddress),
        82 => ("SOL_MAX_RT", Seconds),
        83 => ("INF_MAX_RT", Seconds),
        103 => ("Captive Portal", Text),
        112 => ("MUD URL", Text),
        _ => return None,
    })
}

/// Name of an option code, `"Unknown"` when the table does not know it.
pub fn name(code: u16) -> &'static str {
    lookup(code).map_or("Unknown", |(n, _)| n)
}

/// A DHCPv6 message type; any byte is kept, known ones have names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType(pub u8);

#[allow(missing_docs)]
impl MessageType {
    pub const SOLICIT: Self = Self(1);
    pub const ADVERTISE: Self = Self(2);
    pub const REQUEST: Self = Self(3);
    pub const CONFIRM: Self = Self(4);
    pub const RENEW: Self = Self(5);
    pub const REBIND: Self = Self(6);
    pub const REPLY: Self = Self(7);
    pub const RELEASE: Self = Self(8);
    pub const DECLINE: Self = Self(9);
    pub const RECONFIGURE: Self = Self(10);
    pub const INFORMATION_REQUEST: Self = Self(11);
    pub const RELAY_FORW: Self = Self(12);
    pub const RELAY_REPL: Self = Self(13);
    pub const LEASEQUERY: Self = Self(14);
    pub const LEASEQUERY_REPLY: Self = Self(15);

    /// True for RELAY-FORW and RELAY-REPL, whose header differs from all others.
    pub fn is_relay(self) -> bool {
        self == Self::RELAY_FORW || self == Self::RELAY_REPL
    }

    /// The RFC name, or `None` for an unassigned value.
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 37] = [
            "SOLICIT",
            "ADVERTISE",
            "REQUEST",
            "CONFIRM",
            "RENEW",
            "REBIND",
            "REPLY",
            "RELEASE",
            "DECLINE",
            "RECONFIGURE",
            "INFORMATION-REQUEST",
            "RELAY-FORW",
            "RELAY-REPL",
            "LEASEQUERY",
            "LEASEQUERY-REPLY",
            "LEASEQUERY-DONE",
            "LEASEQUERY-DATA",
            "RECONFIGURE-REQUEST",
            "RECONFIGURE-REPLY",
            "DHCPV4-QUERY",
            "DHCPV4-RESPONSE",
            "ACTIVELEASEQUERY",
            "STARTTLS",
            "BNDUPD",
            "BNDREPLY",
            "POOLREQ",
            "POOLRESP",
            "UPDREQ",
            "UPDREQALL",
            "UPDDONE",
            "CONNECT",
            "CONNECTREPLY",
            "DISCONNECT",
            "STATE",
            "CONTACT",
            "ADDR-REG-INFORM",
            "ADDR-REG-REPLY",
        ];
        usize::from(self.0)
            .checked_sub(1)
            .and_then(|i| NAMES.get(i))
            .copied()
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "unknown({})", self.0),
        }
    }
}

/// Name of a status code (RFC 8415 21.13 and later), `None` for an unassigned one.
pub fn status_name(code: u16) -> Option<&'static str> {
    const NAMES: [&str; 23] = [
        "Success",
        "UnspecFail",
        "NoAddrsAvail",
        "NoBinding",
        "NotOnLink",
        "UseMulticast",
        "NoPrefixAvail",
        "UnknownQueryType",
        "MalformedQuery",
        "NotConfigured",
        "NotAllowed",
        "QueryTerminated",
        "DataMissing",
        "CatchUpComplete",
        "NotSupported",
        "TLSConnectionRefused",
        "AddressInUse",
        "ConfigurationConflict",
        "MissingBindingInformation",
        "OutdatedBindingInformation",
        "ServerShuttingDown",
        "DNSUpdateNotSupported",
        "ExcessiveTimeSkew",
    ];
    NAMES.get(usize::from(code)).copied()
}

/// Name of a DUID type (RFC 8415 11, RFC 6355).
pub fn duid_type_name(kind: u16) -> &'static str {
    match kind {
        1 => "DUID-LLT",
        2 => "DUID-EN",
        3 => "DUID-LL",
        4 => "DUID-UUID",
        _ => "DUID-unknown",
    }
}
