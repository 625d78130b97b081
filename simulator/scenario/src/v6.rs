//! The DHCPv6 part of the language: v6 hosts (servers, clients, relay agents), the addresses
//! a run may use, Kea's v6 option names, paths into IA_NA and IA_PD for checks and captures,
//! and crafted v6 messages, which are encoded when their step runs (a captured DUID or IAID
//! goes in then, whatever its length).

use crate::{Churn, Span};
use dhcplab_kea_config::dhcp6::Dhcp6;
use dhcplab_kea_config::options6;
use dhcplab_wire::v6::catalogue;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv6Addr, SocketAddrV6};

/// The DHCP version a host, a step or a datagram speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// DHCPv4 (RFC 2131), UDP ports 67 and 68.
    V4,
    /// DHCPv6 (RFC 8415), UDP ports 546 and 547.
    V6,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "DHCPv4",
            Family::V6 => "DHCPv6",
        })
    }
}

/// The IPv6 range a run may use (RFC 3849 documentation): every global address a scenario
/// gives a host, a datagram, a relay's link-address or a server's subnet lies in it.
pub const LAB_RANGE6: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32);

/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 7.1): where clients and relays send.
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// The segment a host sits on when its file names none.
pub const DEFAULT_SEGMENT: &str = "lan";

/// Whether `a` lies in `prefix`/`len`.
pub fn in_prefix6(a: Ipv6Addr, prefix: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0);
    u128::from(a) & mask == u128::from(prefix) & mask
}

/// Whether `a` lies in [`LAB_RANGE6`].
pub fn in_lab_range6(a: Ipv6Addr) -> bool {
    in_prefix6(a, LAB_RANGE6.0, LAB_RANGE6.1)
}

/// Whether a datagram may carry `a` as its source or destination: the lab range, a
/// link-local address (fe80::/10), ff02::1:2 or the unspecified address.
pub fn datagram_addr6_allowed(a: Ipv6Addr) -> bool {
    in_lab_range6(a)
        || in_prefix6(a, Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10)
        || a == ALL_DHCP_RELAY_AGENTS_AND_SERVERS
        || a.is_unspecified()
}

/// The link-local address of a host with link address `mac`: fe80::/64 with the interface
/// identifier made from the MAC by modified EUI-64 (RFC 4291 appendix A). The client core's,
/// so that the modes, the scenario and the client agree.
pub use dhcplab_client6::link_local;

/// The link address multicast `group` maps to on Ethernet (RFC 2464 7): 33:33 and its last
/// four bytes.
pub fn multicast_mac(group: Ipv6Addr) -> [u8; 6] {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// The code of the v6 option named `name`: a number, Kea's name (`dhcplab_kea_config::options6`,
/// from Kea's `STANDARD_V6_OPTION_DEFINITIONS`), or `client-id` and `server-id` for Kea's
/// `clientid` and `serverid`.
pub fn option6_code(name: &str) -> Option<u16> {
    if let Ok(n) = name.parse::<u16>() {
        return Some(n);
    }
    let name = match name {
        "client-id" => "clientid",
        "server-id" => "serverid",
        other => other,
    };
    options6::code_of(name)
}

/// Kea's name of v6 option `code`, else the catalogue's.
pub fn option6_name(code: u16) -> &'static str {
    options6::name_of(code).unwrap_or_else(|| catalogue::name(code))
}

/// The DHCPv6 message type named `name` (`SOLICIT`, `RELAY-FORW`, ...).
pub fn message_type6_named(name: &str) -> Option<catalogue::MessageType> {
    (1..=255u8)
        .map(catalogue::MessageType)
        .find(|t| t.name().is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// The status code named `name` (`NoPrefixAvail`) or written as a number.
pub fn status_code_named(name: &str) -> Option<u16> {
    if let Ok(n) = name.parse::<u16>() {
        return Some(n);
    }
    (0..=u16::MAX)
        .take_while(|c| catalogue::status_name(*c).is_some())
        .find(|c| catalogue::status_name(*c).is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// A DHCPv6 server: its global address and Kea configuration.
#[derive(Debug, Clone)]
pub struct Server6Host {
    /// Its global address on interface `eth0` (2001:db8::/32); it has its link-local address
    /// too ([`link_local`]).
    pub address: Ipv6Addr,
    /// Its configuration.
    pub config: Server6Config,
    /// How far its clock is ahead of the run's (negative: behind), in seconds.
    pub clock_offset: i64,
}

/// A Kea `Dhcp6` configuration as written and as read.
#[derive(Debug, Clone)]
pub struct Server6Config {
    /// The JSON text.
    pub text: String,
    /// The `Dhcp6` map read from it.
    pub dhcp6: Dhcp6,
    /// The whole document, for `config-get`.
    pub json: serde_json::Value,
}

/// A DHCPv6 client and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client6Host {
    /// The group it belongs to (`count` > 1), if any.
    pub group: Option<String>,
    /// When it starts, drawn from this range by the run's seed.
    pub start: Span,
    /// Whether it comes and goes by itself.
    pub churn: Option<Churn>,
    /// How many IA_NA it asks for (`ia-na`, default 1).
    pub ia_na: u8,
    /// How many IA_PD it asks for (`ia-pd`, default 0).
    pub ia_pd: u8,
    /// It asks for rapid commit (RFC 8415 18.2.1).
    pub rapid_commit: bool,
    /// It asks for configuration only, with Information-request (RFC 8415 18.2.6).
    pub information_only: bool,
    /// Its DUID, when the file gives one; else the client makes its own (and keeps it).
    pub duid: Option<Vec<u8>>,
    /// The option codes of its Option Request option (`request`, default 23 and 24).
    pub request: Vec<u16>,
}

/// A DHCPv6 relay agent (RFC 8415 19) between two segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayHost {
    /// The segment of the clients it relays for (the host's `segment`).
    pub client_side: String,
    /// The segment towards its upstream.
    pub server_side: String,
    /// The server or relay it forwards to.
    pub upstream: String,
    /// The address it puts in Relay-forw's link-address field (2001:db8::/32): it names the
    /// clients' link to the server.
    pub link_address: Ipv6Addr,
    /// The Interface-Id option it adds, if any.
    pub interface_id: Option<Vec<u8>>,
    /// Its global address on the server side, if it has one (else it sends from its
    /// link-local address).
    pub address: Option<Ipv6Addr>,
}

/// Which kind of IA a path goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IaKind {
    /// IA_NA (option 3): addresses.
    Na,
    /// IA_PD (option 25): delegated prefixes.
    Pd,
}

impl IaKind {
    /// Its option code.
    pub fn code(self) -> u16 {
        match self {
            IaKind::Na => catalogue::code::IA_NA,
            IaKind::Pd => catalogue::code::IA_PD,
        }
    }
}

/// What a v6 path reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf6 {
    /// A whole option: at the top, the client message's option of this code (a status code
    /// reads as its code); under an IA, the option inside the IA (`ia-pd.status-code`).
    Option(u16),
    /// The IA option itself (`ia-na`, `ia-pd[2]`).
    Ia,
    /// The IA's IAID.
    Iaid,
    /// The IA's T1.
    T1,
    /// The IA's T2.
    T2,
    /// The first address (`iaaddr`: 16 bytes) or delegated prefix (`iaprefix`: 16 bytes of
    /// prefix, then its length) of the IA.
    Lease,
    /// Its valid lifetime.
    Valid,
    /// Its preferred lifetime.
    Preferred,
    /// The prefix length of the first delegated prefix.
    Length,
}

/// A part of a DHCPv6 message a check reads or a capture keeps: an option of the client's
/// message (the innermost one of a relayed message), or a path into one of its IAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path6 {
    /// The IA it goes into (kind, and which one, counted from 1), or none for a top-level
    /// option.
    pub ia: Option<(IaKind, u8)>,
    /// What it reads.
    pub leaf: Leaf6,
}

impl Path6 {
    /// Reads a path as written in a file: `dns-servers`, `23`, `status-code`, `ia-na`,
    /// `ia-na[2].iaaddr`, `ia-na.t1`, `ia-na.iaaddr.valid`, `ia-pd.iaprefix`,
    /// `ia-pd.iaprefix.length`, `ia-pd.status-code`.
    pub fn parse(text: &str) -> Result<Path6, String> {
        let bad = |why: &str| format!("{text:?}: {why}");
        let mut parts = text.split('.');
        let head = parts.next().unwrap_or_default();
        let (name, index) = match head.split_once('[') {
            Some((n, rest)) => {
                let i = rest
                    .strip_suffix(']')
                    .and_then(|i| i.parse::<u8>().ok())
                    .filter(|i| *i >= 1)
                    .ok_or_else(|| bad("an IA's number is written [1], [2], ... up to [255]"))?;
                (n, Some(i))
            }
            None => (head, None),
        };
        let ia = match name {
            "ia-na" => Some(IaKind::Na),
            "ia-pd" => Some(IaKind::Pd),
            _ => None,
        };
        let rest: Vec<&str> = parts.collect();
        let Some(kind) = ia else {
            if index.is_some() || !rest.is_empty() {
                return Err(bad(
                    "only ia-na and ia-pd have parts (ia-na.iaaddr, ia-pd[2].iaprefix)",
                ));
            }
            let code = option6_code(name).ok_or_else(|| {
                bad("not a DHCPv6 option: give its code or Kea's name (dns-servers, status-code, ...)")
            })?;
            return Ok(Path6 {
                ia: None,
                leaf: Leaf6::Option(code),
            });
        };
        let ia = Some((kind, index.unwrap_or(1)));
        let lease = match kind {
            IaKind::Na => "iaaddr",
            IaKind::Pd => "iaprefix",
        };
        let leaf = match rest.as_slice() {
            [] => Leaf6::Ia,
            ["iaid"] => Leaf6::Iaid,
            ["t1"] => Leaf6::T1,
            ["t2"] => Leaf6::T2,
            ["status-code"] => Leaf6::Option(catalogue::code::STATUS_CODE),
            [l] if *l == lease => Leaf6::Lease,
            [l, "valid"] if *l == lease => Leaf6::Valid,
            [l, "preferred"] if *l == lease => Leaf6::Preferred,
            ["iaprefix", "length"] if kind == IaKind::Pd => Leaf6::Length,
            _ => {
                return Err(bad(&format!(
                    "{name} has iaid, t1, t2, status-code, {lease}, {lease}.valid, {lease}.preferred{}",
                    if kind == IaKind::Pd {
                        ", iaprefix.length"
                    } else {
                        ""
                    }
                )));
            }
        };
        Ok(Path6 { ia, leaf })
    }

    /// The option whose format a value of this path has, for reading and writing it: `None`
    /// for the numbers and addresses the path itself defines.
    pub fn option_code(self) -> Option<u16> {
        match self.leaf {
            Leaf6::Option(c) => Some(c),
            _ => None,
        }
    }
}

impl fmt::Display for Path6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((kind, index)) = self.ia else {
            return match self.leaf {
                Leaf6::Option(c) => f.write_str(option6_name(c)),
                _ => f.write_str("?"),
            };
        };
        let (name, lease) = match kind {
            IaKind::Na => ("ia-na", "iaaddr"),
            IaKind::Pd => ("ia-pd", "iaprefix"),
        };
        f.write_str(name)?;
        if index != 1 {
            write!(f, "[{index}]")?;
        }
        match self.leaf {
            Leaf6::Ia => Ok(()),
            Leaf6::Iaid => f.write_str(".iaid"),
            Leaf6::T1 => f.write_str(".t1"),
            Leaf6::T2 => f.write_str(".t2"),
            Leaf6::Option(c) => write!(f, ".{}", option6_name(c)),
            Leaf6::Lease => write!(f, ".{lease}"),
            Leaf6::Valid => write!(f, ".{lease}.valid"),
            Leaf6::Preferred => write!(f, ".{lease}.preferred"),
            Leaf6::Length => write!(f, ".{lease}.length"),
        }
    }
}

/// A prefix written out or taken from a captured variable (`ia-pd.iaprefix`: 16 bytes of
/// prefix and its length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixRef {
    /// This prefix and length.
    Literal(Ipv6Addr, u8),
    /// The prefix captured under this name.
    Var(String),
}

/// Reads `2001:db8:8::/56`.
pub fn parse_prefix6(text: &str) -> Result<(Ipv6Addr, u8), String> {
    let bad = || format!("{text:?} is not an IPv6 prefix (2001:db8:8::/56)");
    let (a, len) = text.trim().split_once('/').ok_or_else(bad)?;
    let a: Ipv6Addr = a.trim().parse().map_err(|_| bad())?;
    let len: u8 = len.trim().parse().map_err(|_| bad())?;
    if len > 128 {
        return Err(bad());
    }
    Ok((a, len))
}

/// A crafted DHCPv6 datagram a peer sends (`do = "send"` from a peer to or as a v6 host).
#[derive(Debug, Clone)]
pub struct Send6 {
    /// The peer.
    pub from: String,
    /// Where to: a host (its link address), or `broadcast` (the ff02::1:2 group).
    pub to: crate::To,
    /// The message.
    pub message: Message6,
    /// The datagram's source: the peer's link-local address (its global one, if it has one,
    /// for a relay message) and the port the message type implies (RFC 8415 7.2: 546 for a
    /// client's message, 547 for a server's or a relay's), unless the step gives `src`.
    pub src: SocketAddrV6,
    /// The datagram's destination: ff02::1:2 for `to = "broadcast"`, else the addressed
    /// host's link-local address (its global one, if it has one, for a relay message), and
    /// the port the type implies; unless the step gives `dst`.
    pub dst: SocketAddrV6,
}

/// A crafted DHCPv6 message: a header and options whose values may wait for variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message6 {
    /// The header.
    pub header: Header6,
    /// The options, in the order written.
    pub options: Vec<Option6>,
    /// Bytes of the whole payload given instead (`payload`); options are then empty.
    pub payload: Option<Vec<u8>>,
    /// Cut the encoded message to this many bytes.
    pub truncate: Option<usize>,
}

/// A crafted message's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header6 {
    /// A client or server message: type and transaction id (3 bytes).
    Client {
        /// The message type.
        kind: u8,
        /// The transaction id.
        xid: Piece,
    },
    /// RELAY-FORW or RELAY-REPL.
    Relay {
        /// The message type.
        kind: u8,
        /// The hop count.
        hops: u8,
        /// The link-address field.
        link_address: Ipv6Addr,
        /// The peer-address field.
        peer_address: Ipv6Addr,
    },
}

/// One crafted option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Option6 {
    /// Its code.
    pub code: u16,
    /// A length field that lies (`raw-options`' `len`); else the data's length.
    pub len: Option<u16>,
    /// Its data, in pieces.
    pub data: Vec<Piece>,
}

/// A piece of a crafted option's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// These bytes.
    Bytes(Vec<u8>),
    /// The bytes captured under this name; with a width, they must have exactly that many
    /// (a transaction id 3, an IAID 4).
    Var(String, Option<usize>),
    /// Options nested in this one (IA Address in IA_NA, Status Code in IA_PD).
    Options(Vec<Option6>),
}

impl Message6 {
    /// The message's bytes, with variables filled from `vars`; an error names a variable that
    /// is missing or does not fit.
    pub fn encode(&self, vars: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, String> {
        let mut out = match &self.payload {
            Some(p) => p.clone(),
            None => {
                let mut out = Vec::new();
                match &self.header {
                    Header6::Client { kind, xid } => {
                        out.push(*kind);
                        out.extend(piece_bytes(xid, vars)?);
                    }
                    Header6::Relay {
                        kind,
                        hops,
                        link_address,
                        peer_address,
                    } => {
                        out.push(*kind);
                        out.push(*hops);
                        out.extend(link_address.octets());
                        out.extend(peer_address.octets());
                    }
                }
                out.extend(encode_options(&self.options, vars)?);
                out
            }
        };
        if let Some(n) = self.truncate {
            out.truncate(n);
        }
        Ok(out)
    }

    /// The variables it uses.
    pub fn vars(&self) -> Vec<&str> {
        fn walk<'a>(pieces: &'a [Piece], out: &mut Vec<&'a str>) {
            for p in pieces {
                match p {
                    Piece::Var(v, _) => out.push(v),
                    Piece::Options(o) => {
                        for x in o {
                            walk(&x.data, out);
                        }
                    }
                    Piece::Bytes(_) => {}
                }
            }
        }
        let mut out = Vec::new();
        if let Header6::Client { xid, .. } = &self.header {
            walk(std::slice::from_ref(xid), &mut out);
        }
        for o in &self.options {
            walk(&o.data, &mut out);
        }
        out
    }
}

fn piece_bytes(p: &Piece, vars: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, String> {
    Ok(match p {
        Piece::Bytes(b) => b.clone(),
        Piece::Var(v, width) => {
            let b = vars
                .get(v)
                .ok_or_else(|| format!("${v} was never captured"))?;
            if let Some(w) = width
                && b.len() != *w
            {
                return Err(format!("${v} has {} bytes, where {w} go", b.len()));
            }
            b.clone()
        }
        Piece::Options(o) => encode_options(o, vars)?,
    })
}

fn encode_options(
    options: &[Option6],
    vars: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for o in options {
        let mut data = Vec::new();
        for p in &o.data {
            data.extend(piece_bytes(p, vars)?);
        }
        let len = match o.len {
            Some(l) => l,
            None => u16::try_from(data.len())
                .map_err(|_| format!("option {} is longer than 65535 bytes", o.code))?,
        };
        out.extend(o.code.to_be_bytes());
        out.extend(len.to_be_bytes());
        out.extend(data);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_is_modified_eui64() {
        // RFC 4291 appendix A: 02:00:5e:00:53:01 gives interface id 0000:5eff:fe00:5301 (the
        // universal/local bit of the first byte inverted).
        assert_eq!(
            link_local([0x02, 0x00, 0x5e, 0x00, 0x53, 0x01]),
            "fe80::5eff:fe00:5301".parse::<Ipv6Addr>().expect("addr")
        );
        assert_eq!(
            link_local([0x00, 0x1b, 0x21, 0x3c, 0x9d, 0xf8]),
            "fe80::21b:21ff:fe3c:9df8"
                .parse::<Ipv6Addr>()
                .expect("addr")
        );
        assert_eq!(
            multicast_mac(ALL_DHCP_RELAY_AGENTS_AND_SERVERS),
            [0x33, 0x33, 0, 1, 0, 2]
        );
    }

    #[test]
    fn ranges() {
        let a = |s: &str| s.parse::<Ipv6Addr>().expect("addr");
        assert!(in_lab_range6(a("2001:db8:ffff::1")));
        assert!(!in_lab_range6(a("2001:db9::1")));
        assert!(datagram_addr6_allowed(a("fe80::1")));
        assert!(datagram_addr6_allowed(a("ff02::1:2")));
        assert!(!datagram_addr6_allowed(a("ff05::1:3")));
        assert!(in_prefix6(a("2001:db8:8:ff::"), a("2001:db8:8::"), 56));
        assert!(!in_prefix6(a("2001:db8:8:100::"), a("2001:db8:8::"), 56));
        assert!(in_prefix6(a("2001:db8::1"), a("::"), 0));
    }

    #[test]
    fn paths_read_and_write_back() {
        for text in [
            "dns-servers",
            "status-code",
            "ia-na",
            "ia-na[2].iaaddr",
            "ia-na.t1",
            "ia-na.t2",
            "ia-na.iaid",
            "ia-na.iaaddr.valid",
            "ia-na.iaaddr.preferred",
            "ia-na.status-code",
            "ia-pd.iaprefix",
            "ia-pd.iaprefix.length",
            "ia-pd[3].status-code",
        ] {
            let p = Path6::parse(text).expect(text);
            assert_eq!(p.to_string(), text);
        }
        assert_eq!(
            Path6::parse("client-id").expect("alias").to_string(),
            "clientid"
        );
        assert_eq!(
            Path6::parse("23").expect("code"),
            Path6 {
                ia: None,
                leaf: Leaf6::Option(23)
            }
        );
        for bad in [
            "ia-na.iaprefix",
            "ia-pd.iaaddr",
            "ia-na[0].iaaddr",
            "ia-na.iaaddr.length",
            "dns-servers.x",
            "no-such-option",
            "ia-na[x]",
        ] {
            assert!(Path6::parse(bad).is_err(), "{bad}");
        }
        // An IA number past what a u8 holds says the range, not just the form.
        assert_eq!(
            Path6::parse("ia-na[999]").err().as_deref(),
            Some("\"ia-na[999]\": an IA's number is written [1], [2], ... up to [255]")
        );
    }

    #[test]
    fn names_of_types_codes_and_statuses() {
        assert_eq!(
            message_type6_named("relay-forw"),
            Some(catalogue::MessageType::RELAY_FORW)
        );
        assert_eq!(
            message_type6_named("INFORMATION-REQUEST"),
            Some(catalogue::MessageType::INFORMATION_REQUEST)
        );
        assert_eq!(message_type6_named("DISCOVER"), None);
        assert_eq!(status_code_named("NoPrefixAvail"), Some(6));
        assert_eq!(status_code_named("3"), Some(3));
        assert_eq!(status_code_named("Nope"), None);
        assert_eq!(option6_code("server-id"), Some(2));
        assert_eq!(option6_code("inf-max-rt"), Some(83));
        assert_eq!(option6_name(83), "inf-max-rt");
        assert_eq!(option6_name(24), "domain-search");
    }

    #[test]
    fn crafted_messages_take_variables_when_encoded() {
        let m = Message6 {
            header: Header6::Client {
                kind: 7,
                xid: Piece::Var("x".into(), Some(3)),
            },
            options: vec![Option6 {
                code: 25,
                len: None,
                data: vec![
                    Piece::Var("iaid".into(), Some(4)),
                    Piece::Bytes(vec![0; 8]),
                    Piece::Options(vec![Option6 {
                        code: 13,
                        len: None,
                        data: vec![Piece::Bytes(vec![0, 6])],
                    }]),
                ],
            }],
            payload: None,
            truncate: None,
        };
        let mut vars = BTreeMap::new();
        assert!(m.encode(&vars).is_err_and(|e| e.contains("$x")));
        vars.insert("x".to_string(), vec![1, 2, 3]);
        vars.insert("iaid".to_string(), vec![0, 0, 0, 9]);
        let bytes = m.encode(&vars).expect("encodes");
        assert_eq!(
            bytes,
            [
                &[7, 1, 2, 3, 0, 25, 0, 18, 0, 0, 0, 9][..],
                &[0; 8],
                &[0, 13, 0, 2, 0, 6]
            ]
            .concat()
        );
        let decoded = dhcplab_wire::v6::Message::decode(&bytes).expect("decodes");
        let pd = decoded.options().ia_pd().expect("ia_pd");
        assert_eq!(pd[0].iaid, 9);
        vars.insert("iaid".to_string(), vec![9]);
        assert!(m.encode(&vars).is_err_and(|e| e.contains("4 go")));
        assert_eq!(m.vars(), vec!["x", "iaid"]);
    }
}
