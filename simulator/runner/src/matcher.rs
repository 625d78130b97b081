//! Checks a message against an expectation's filter and checks, and reads the values that
//! captures keep. Written against decoded messages and the datagram's addresses only, so TAP
//! mode can check what real stacks send the same way.

use dhcplab_scenario::text::{format_hex, parse_hex};
use dhcplab_scenario::v6::{IaKind, Leaf6, in_prefix6, parse_prefix6, status_code_named};
use dhcplab_scenario::{Check, Family, Field, Filter, Kind, Matcher, Path6, Target, To};
use dhcplab_wire::v4::catalogue::{self, Format};
use dhcplab_wire::v4::{Message, MessageType};
use dhcplab_wire::v6;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A DHCP message seen on the link, with who sent it and where it went.
#[derive(Debug, Clone)]
pub struct Seen {
    /// When it was sent, in nanoseconds since the start of the run.
    pub at_ns: u128,
    /// The sending host.
    pub from: String,
    /// The host owning the destination link address, or none for a broadcast or multicast.
    pub to: Option<String>,
    /// True for a broadcast frame, and for a multicast one (DHCPv6's ff02::1:2).
    pub broadcast: bool,
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address.
    pub dst: IpAddr,
    /// The message.
    pub message: Payload,
    /// The client host whose link address is in `chaddr`, if any (DHCPv4).
    pub chaddr_host: Option<String>,
}

/// A DHCP message of either version: a mode decodes a datagram to UDP ports 67 and 68 as
/// DHCPv4, to 546 and 547 as DHCPv6.
// Unboxed on purpose: the log holds mostly DHCPv4 messages, and boxing them would cost an
// allocation each to save space on the fewer DHCPv6 ones.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A DHCPv4 message.
    V4(Message),
    /// A DHCPv6 message (a relay message with what it carries).
    V6(v6::Message),
}

impl Payload {
    /// The DHCP message a UDP datagram carries, by its ports: 67 and 68 are DHCPv4's, 546 and
    /// 547 DHCPv6's (RFC 2131 4.1, RFC 8415 7.2). `None` for other ports or a payload that
    /// does not decode (a mode logs only what decodes, and labels the rest MALFORMED).
    pub fn from_udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Option<Payload> {
        let ports = [src.port(), dst.port()];
        if ports.iter().any(|p| *p == 546 || *p == 547) {
            v6::Message::decode(payload).ok().map(Payload::V6)
        } else if ports.iter().any(|p| *p == 67 || *p == 68) {
            Message::decode(payload).ok().map(Payload::V4)
        } else {
            None
        }
    }

    /// Its DHCP version.
    pub fn family(&self) -> Family {
        match self {
            Payload::V4(_) => Family::V4,
            Payload::V6(_) => Family::V6,
        }
    }

    /// The DHCPv4 message, if it is one.
    pub fn v4(&self) -> Option<&Message> {
        match self {
            Payload::V4(m) => Some(m),
            Payload::V6(_) => None,
        }
    }

    /// The DHCPv6 message, if it is one.
    pub fn v6(&self) -> Option<&v6::Message> {
        match self {
            Payload::V6(m) => Some(m),
            Payload::V4(_) => None,
        }
    }

    /// One line for a timeline or a report: `ACK 192.0.2.100`, `SOLICIT xid 0x0a0b0c`,
    /// `RELAY-FORW (hops 1, SOLICIT)`.
    pub fn describe(&self) -> String {
        match self {
            Payload::V4(m) => dhcplab_timeline::describe_message(m),
            Payload::V6(m) => match (m, m.innermost()) {
                (v6::Message::Relay(r), Ok(inner)) => format!(
                    "{} (hops {}, {})",
                    r.msg_type,
                    r.hop_count,
                    inner.msg_type()
                ),
                (v6::Message::Relay(r), Err(_)) => format!("{} (hops {})", r.msg_type, r.hop_count),
                (v6::Message::Client(c), _) => format!("{} xid {:#08x}", c.msg_type, c.xid),
            },
        }
    }
}

/// The kind of a message as an expectation names it.
pub fn kind_of(m: &Payload) -> Option<Kind> {
    match m {
        Payload::V6(m) => Some(Kind::Dhcp6(m.msg_type())),
        Payload::V4(m) => match m.message_type() {
            Ok(Some(t)) => Some(Kind::Dhcp(t)),
            Ok(None) if m.op == Message::BOOTREPLY => Some(Kind::BootReply),
            Ok(None) => Some(Kind::BootRequest),
            Err(_) => None,
        },
    }
}

/// True when `seen` is one of the messages `filter` looks at.
pub fn passes(filter: &Filter, seen: &Seen) -> bool {
    if filter.from.as_ref().is_some_and(|f| *f != seen.from) {
        return false;
    }
    match &filter.to {
        None => {}
        Some(To::Broadcast) if !seen.broadcast => return false,
        Some(To::Broadcast) => {}
        Some(To::Host(h)) => {
            let direct = seen.to.as_ref() == Some(h);
            let for_it = seen.broadcast
                && seen
                    .message
                    .v4()
                    .is_some_and(|m| m.op == Message::BOOTREPLY)
                && seen.chaddr_host.as_ref() == Some(h);
            if !(direct || for_it) {
                return false;
            }
        }
    }
    match filter.kind {
        None => true,
        Some(k) => kind_of(&seen.message) == Some(k),
    }
}

/// The bytes of `target` in `seen`; `None` when the option is absent, or the message has no
/// such part (a DHCPv4 option of a DHCPv6 message, a relay field of a client's message).
pub fn value(seen: &Seen, target: Target) -> Option<Vec<u8>> {
    let ip = |a: IpAddr| match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    match (target, &seen.message) {
        (Target::Field(Field::Src), _) => return Some(ip(seen.src)),
        (Target::Field(Field::Dst), _) => return Some(ip(seen.dst)),
        (_, Payload::V6(m)) => return value6(m, target),
        (Target::Option6(_), Payload::V4(_)) => return None,
        (_, Payload::V4(_)) => {}
    }
    let m = seen.message.v4()?;
    Some(match target {
        Target::Option6(_) => return None,
        Target::Option(code) => m.option(code)?.data.into_owned(),
        Target::Field(f) => match f {
            Field::Op => vec![m.op],
            Field::Htype => vec![m.htype],
            Field::Hlen => vec![m.hlen],
            Field::Hops => vec![m.hops],
            Field::Xid => m.xid.to_be_bytes().to_vec(),
            Field::Secs => m.secs.to_be_bytes().to_vec(),
            Field::Flags => m.flags.to_be_bytes().to_vec(),
            Field::Broadcast => vec![u8::from(m.broadcast())],
            Field::Ciaddr => m.ciaddr.octets().to_vec(),
            Field::Yiaddr => m.yiaddr.octets().to_vec(),
            Field::Siaddr => m.siaddr.octets().to_vec(),
            Field::Giaddr => m.giaddr.octets().to_vec(),
            Field::Chaddr => m.hardware_address().to_vec(),
            Field::Sname => until_nul(&m.sname),
            Field::File => until_nul(&m.file),
            Field::Src | Field::Dst => return None,
            Field::LinkAddress | Field::PeerAddress | Field::InterfaceId | Field::Inner => {
                return None;
            }
        },
    })
}

/// The bytes of `target` in a DHCPv6 message: header fields of the outermost message (a
/// relay's), options and IA paths of the client's message inside (RFC 8415 9: the relay
/// message option carries it, through every relay).
fn value6(m: &v6::Message, target: Target) -> Option<Vec<u8>> {
    let relay = match m {
        v6::Message::Relay(r) => Some(r),
        v6::Message::Client(_) => None,
    };
    let inner = m.innermost().ok()?;
    match target {
        Target::Option(_) => None,
        Target::Field(f) => match f {
            Field::Xid => match &inner {
                v6::Message::Client(c) => Some(c.xid.to_be_bytes()[1..].to_vec()),
                v6::Message::Relay(_) => None,
            },
            Field::Hops => relay.map(|r| vec![r.hop_count]),
            Field::LinkAddress => relay.map(|r| r.link_address.octets().to_vec()),
            Field::PeerAddress => relay.map(|r| r.peer_address.octets().to_vec()),
            Field::InterfaceId => {
                relay.and_then(|_| m.options().interface_id().map(<[u8]>::to_vec))
            }
            Field::Inner => relay.map(|_| vec![inner.msg_type().0]),
            _ => None,
        },
        Target::Option6(p) => path_value(&inner, p),
    }
}

/// The bytes a v6 path reads in a client message (see [`Path6`]): a status code's two bytes
/// of code, an IA prefix as its length and its 16 bytes.
fn path_value(m: &v6::Message, p: Path6) -> Option<Vec<u8>> {
    let options = m.options();
    let status = |data: &[u8]| data.get(..2).map(<[u8]>::to_vec);
    let Some((kind, index)) = p.ia else {
        let Leaf6::Option(code) = p.leaf else {
            return None;
        };
        let o = options.get(code)?;
        return if code == v6::code::STATUS_CODE {
            status(o.data)
        } else {
            Some(o.data.to_vec())
        };
    };
    let o = options
        .get_all(kind.code())
        .nth(usize::from(index).checked_sub(1)?)?;
    let ia = v6::Ia::parse(o.data, o.data_offset()).ok()?;
    let lease = || -> Option<(Vec<u8>, u32, u32, u8)> {
        match kind {
            IaKind::Na => {
                let a = ia.options.get(v6::code::IA_ADDR)?;
                let a = v6::IaAddress::parse(a.data, a.data_offset()).ok()?;
                Some((a.addr.octets().to_vec(), a.valid, a.preferred, 128))
            }
            IaKind::Pd => {
                let x = ia.options.get(v6::code::IA_PREFIX)?;
                let x = v6::IaPrefix::parse(x.data, x.data_offset()).ok()?;
                let bytes = [&[x.prefix_len][..], &x.prefix.octets()].concat();
                Some((bytes, x.valid, x.preferred, x.prefix_len))
            }
        }
    };
    match p.leaf {
        Leaf6::Ia => Some(o.data.to_vec()),
        Leaf6::Iaid => Some(ia.iaid.to_be_bytes().to_vec()),
        Leaf6::T1 => Some(ia.t1.to_be_bytes().to_vec()),
        Leaf6::T2 => Some(ia.t2.to_be_bytes().to_vec()),
        Leaf6::Option(code) => {
            let x = ia.options.get(code)?;
            if code == v6::code::STATUS_CODE {
                status(x.data)
            } else {
                Some(x.data.to_vec())
            }
        }
        Leaf6::Lease => lease().map(|l| l.0),
        Leaf6::Valid => lease().map(|l| l.1.to_be_bytes().to_vec()),
        Leaf6::Preferred => lease().map(|l| l.2.to_be_bytes().to_vec()),
        Leaf6::Length => lease().map(|l| vec![l.3]),
    }
}

/// How a DHCPv6 value is written out and read back in a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape6 {
    /// One address (or several, 16 bytes each).
    Addrs,
    /// An IA prefix: length, then 16 bytes.
    Prefix,
    /// A number.
    Number,
    /// A status code, by name.
    Status,
    /// A message type, by name.
    Type,
    /// A list of 16-bit codes.
    Codes,
    /// Text.
    Text,
    /// Bytes, in hex.
    Hex,
    /// As the option's format reads (domain lists and the like).
    Option(v6::catalogue::Format),
}

fn shape6(target: Target) -> Option<Shape6> {
    use v6::catalogue::Format as F;
    Some(match target {
        Target::Option(_) => return None,
        Target::Field(f) => match f {
            Field::LinkAddress | Field::PeerAddress => Shape6::Addrs,
            Field::Inner => Shape6::Type,
            Field::InterfaceId => Shape6::Hex,
            Field::Hops | Field::Xid => Shape6::Number,
            _ => return None,
        },
        Target::Option6(p) => match p.leaf {
            Leaf6::Iaid
            | Leaf6::T1
            | Leaf6::T2
            | Leaf6::Valid
            | Leaf6::Preferred
            | Leaf6::Length => Shape6::Number,
            Leaf6::Ia => Shape6::Hex,
            Leaf6::Lease => match p.ia {
                Some((IaKind::Pd, _)) => Shape6::Prefix,
                _ => Shape6::Addrs,
            },
            Leaf6::Option(v6::code::STATUS_CODE) => Shape6::Status,
            Leaf6::Option(code) => match v6::catalogue::lookup(code).map(|(_, f)| f) {
                Some(F::Addr | F::Addrs) => Shape6::Addrs,
                Some(F::Codes | F::U16s) => Shape6::Codes,
                Some(F::U8 | F::Elapsed | F::Seconds | F::Lifetime) => Shape6::Number,
                Some(F::Text) => Shape6::Text,
                Some(F::Duid | F::Bytes | F::Ia | F::IaTa | F::Empty) | None => Shape6::Hex,
                Some(f) => Shape6::Option(f),
            },
        },
    })
}

/// A DHCPv6 value written out; `None` for a DHCPv4 target.
fn show6(target: Target, bytes: &[u8]) -> Option<String> {
    let addrs = |b: &[u8]| -> Option<Vec<Ipv6Addr>> {
        (b.len() % 16 == 0 && !b.is_empty()).then(|| {
            b.chunks_exact(16)
                .map(|c| {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(c);
                    Ipv6Addr::from(o)
                })
                .collect()
        })
    };
    Some(match shape6(target)? {
        Shape6::Addrs => match addrs(bytes) {
            Some(list) => {
                let l: Vec<String> = list.iter().map(ToString::to_string).collect();
                l.join(",")
            }
            None => format_hex(bytes),
        },
        Shape6::Prefix => match (bytes.first(), bytes.get(1..).and_then(addrs)) {
            (Some(len), Some(a)) if a.len() == 1 => format!("{}/{len}", a[0]),
            _ => format_hex(bytes),
        },
        Shape6::Number if bytes.len() <= 8 => number(bytes).to_string(),
        Shape6::Status if bytes.len() == 2 => {
            let c = u16::from_be_bytes([bytes[0], bytes[1]]);
            v6::catalogue::status_name(c).map_or_else(|| c.to_string(), str::to_string)
        }
        Shape6::Type if bytes.len() == 1 => v6::MessageType(bytes[0]).to_string(),
        Shape6::Codes if bytes.len() % 2 == 0 => {
            let l: Vec<String> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]).to_string())
                .collect();
            l.join(",")
        }
        Shape6::Text => String::from_utf8_lossy(bytes).into_owned(),
        Shape6::Option(f) => match v6::OptionValue::parse(f, bytes, 0) {
            Ok(v) => v.to_string(),
            Err(_) => format_hex(bytes),
        },
        _ => format_hex(bytes),
    })
}

/// Whether a DHCPv6 value matches a check's text; `None` for a DHCPv4 target.
fn text_matches6(target: Target, t: &str, bytes: &[u8]) -> Option<bool> {
    let shape = shape6(target)?;
    Some(match shape {
        Shape6::Addrs if t.contains('/') => match (parse_prefix6(t), <[u8; 16]>::try_from(bytes)) {
            (Ok((net, len)), Ok(a)) => in_prefix6(Ipv6Addr::from(a), net, len),
            _ => false,
        },
        Shape6::Addrs => {
            let want: Result<Vec<u8>, _> = t
                .split(',')
                .map(|p| p.trim().parse::<Ipv6Addr>().map(|a| a.octets()))
                .collect::<Result<Vec<_>, _>>()
                .map(|v| v.concat());
            want.is_ok_and(|w| w == bytes)
        }
        // A delegated prefix matches a prefix it lies in (its length at least that long).
        Shape6::Prefix => match (parse_prefix6(t), bytes.split_first()) {
            (Ok((net, len)), Some((plen, rest))) => <[u8; 16]>::try_from(rest)
                .is_ok_and(|a| *plen >= len && in_prefix6(Ipv6Addr::from(a), net, len)),
            _ => false,
        },
        Shape6::Status => {
            bytes.len() == 2
                && status_code_named(t) == Some(u16::from_be_bytes([bytes[0], bytes[1]]))
        }
        Shape6::Type => {
            bytes.len() == 1
                && v6::MessageType(bytes[0])
                    .name()
                    .is_some_and(|n| n.eq_ignore_ascii_case(t))
        }
        _ => {
            let shown = show6(target, bytes).unwrap_or_default();
            shown == t
                || shown.replace(", ", ",") == t.replace(", ", ",")
                || bytes == t.as_bytes()
                || parse_hex(t).is_ok_and(|b| b == bytes)
        }
    })
}

fn until_nul(b: &[u8]) -> Vec<u8> {
    b.iter().copied().take_while(|c| *c != 0).collect()
}

/// The value of `target` written out for a person: an address, a number, a type, text or hex.
pub fn show(target: Target, bytes: &[u8]) -> String {
    if let Some(s) = show6(target, bytes) {
        return s;
    }
    if matches!(target, Target::Field(Field::Src | Field::Dst)) && bytes.len() == 16 {
        let mut o = [0u8; 16];
        o.copy_from_slice(bytes);
        return Ipv6Addr::from(o).to_string();
    }
    match format_of(target) {
        Some(Format::Addr | Format::Addrs | Format::AddrsOrEmpty) if bytes.len() % 4 == 0 => {
            let list: Vec<String> = bytes
                .chunks_exact(4)
                .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]).to_string())
                .collect();
            list.join(",")
        }
        Some(Format::MessageType) if bytes.len() == 1 => MessageType::from(bytes[0]).to_string(),
        Some(Format::Text) => String::from_utf8_lossy(bytes).into_owned(),
        Some(
            Format::U8
            | Format::U16
            | Format::U32
            | Format::Seconds
            | Format::Lifetime
            | Format::Bool,
        ) if bytes.len() <= 8 => number(bytes).to_string(),
        _ => format_hex(bytes),
    }
}

/// How a target's bytes are laid out, for reading a check's text.
fn format_of(target: Target) -> Option<Format> {
    match target {
        Target::Option6(_) => None,
        Target::Option(code) => catalogue::lookup(code).map(|(_, f)| f),
        Target::Field(f) => Some(match f {
            Field::Ciaddr
            | Field::Yiaddr
            | Field::Siaddr
            | Field::Giaddr
            | Field::Src
            | Field::Dst => Format::Addr,
            Field::Sname | Field::File => Format::Text,
            Field::Chaddr => Format::Bytes,
            Field::Op | Field::Htype | Field::Hlen | Field::Hops | Field::Broadcast => Format::U8,
            Field::Secs | Field::Flags => Format::U16,
            Field::Xid => Format::U32,
            Field::LinkAddress | Field::PeerAddress | Field::InterfaceId | Field::Inner => {
                Format::Bytes
            }
        }),
    }
}

fn number(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))
}

/// Why a check failed, for the report; `None` when it held.
pub fn check(seen: &Seen, c: &Check, vars: &BTreeMap<String, Vec<u8>>) -> Option<String> {
    let got = value(seen, c.target).or_else(|| implied_success(seen, c));
    let shown = got
        .as_ref()
        .map_or_else(|| "absent".to_string(), |b| show(c.target, b));
    let ok = match (&c.matcher, &got) {
        (Matcher::Present, g) => g.is_some(),
        (Matcher::Absent, g) => g.is_none(),
        (_, None) => false,
        (Matcher::Int(n), Some(b)) => b.len() <= 8 && number(b) == *n,
        (Matcher::Range { min, max }, Some(b)) => {
            let v = number(b);
            b.len() <= 8 && min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
        }
        (Matcher::Bytes(want), Some(b)) => want == b,
        (Matcher::Var(v), Some(b)) => match vars.get(v) {
            Some(want) => want == b,
            None => return Some(format!("{} : ${v} was never captured", c.target)),
        },
        (Matcher::Text(t), Some(b)) => text_matches(c.target, t, b),
    };
    if ok {
        return None;
    }
    let want = match &c.matcher {
        Matcher::Present => "present".to_string(),
        Matcher::Absent => "absent".to_string(),
        Matcher::Int(n) if status_path(c.target).is_some() => u16::try_from(*n).map_or_else(
            |_| n.to_string(),
            |code| show(c.target, &code.to_be_bytes()),
        ),
        Matcher::Int(n) => n.to_string(),
        Matcher::Range { min, max } => format!(
            "in {}..={}",
            min.map_or(String::new(), |m| m.to_string()),
            max.map_or(String::new(), |m| m.to_string())
        ),
        Matcher::Bytes(b) => format_hex(b),
        Matcher::Var(v) => format!(
            "${v} = {}",
            vars.get(v).map_or("?".into(), |b| show(c.target, b))
        ),
        Matcher::Text(t) => t.clone(),
    };
    Some(format!(
        "{} is {shown}, expected {want} (line {})",
        c.target, c.place.line
    ))
}

/// The path of a DHCPv6 Status Code check (the message's, or an IA's), if `target` is one.
fn status_path(target: Target) -> Option<Path6> {
    match target {
        Target::Option6(p) if p.leaf == Leaf6::Option(v6::code::STATUS_CODE) => Some(p),
        _ => None,
    }
}

/// A status check by value where the Status Code option is left out reads Success: RFC 8415
/// 21.13, "If the Status Code option does not appear in a message in which the option could
/// appear, the status of the message is assumed to be Success" (Kea leaves it out of the IAs
/// it grants). Only when the message, or the IA the path names, is there; `present` and
/// `absent` still ask about the option itself.
fn implied_success(seen: &Seen, c: &Check) -> Option<Vec<u8>> {
    if matches!(c.matcher, Matcher::Present | Matcher::Absent) {
        return None;
    }
    let p = status_path(c.target)?;
    let Payload::V6(m) = &seen.message else {
        return None;
    };
    let inner = m.innermost().ok()?;
    if p.ia.is_some() {
        // An IA's status: only when that IA is in the message.
        path_value(
            &inner,
            Path6 {
                ia: p.ia,
                leaf: Leaf6::Ia,
            },
        )?;
    }
    Some(vec![0, 0])
}

fn text_matches(target: Target, text: &str, bytes: &[u8]) -> bool {
    let t = text.trim();
    if let Some(ok) = text_matches6(target, t, bytes) {
        return ok;
    }
    if matches!(target, Target::Field(Field::Src | Field::Dst)) && bytes.len() == 16 {
        return match <[u8; 16]>::try_from(bytes) {
            Ok(a) if t.contains('/') => {
                parse_prefix6(t).is_ok_and(|(net, len)| in_prefix6(Ipv6Addr::from(a), net, len))
            }
            Ok(a) => t.parse::<Ipv6Addr>().is_ok_and(|w| w == Ipv6Addr::from(a)),
            Err(_) => false,
        };
    }
    if (t.starts_with("0x") || (t.contains(':') && !t.contains('.')))
        && let Ok(b) = parse_hex(t)
    {
        return b == bytes;
    }
    match format_of(target) {
        Some(Format::Addr) if t.contains('/') => in_prefix(t, bytes),
        Some(Format::Addr | Format::Addrs | Format::AddrsOrEmpty) => {
            let want: Result<Vec<u8>, _> = t
                .split(',')
                .map(|p| p.trim().parse::<Ipv4Addr>().map(|a| a.octets()))
                .collect::<Result<Vec<_>, _>>()
                .map(|v| v.concat());
            want.is_ok_and(|w| w == bytes)
        }
        Some(Format::MessageType) => {
            bytes.len() == 1
                && MessageType::from(bytes[0])
                    .to_string()
                    .eq_ignore_ascii_case(t)
        }
        _ => show(target, bytes) == t || bytes == t.as_bytes(),
    }
}

/// True when the address in `bytes` lies in the prefix `text` (`198.51.100.0/24`).
fn in_prefix(text: &str, bytes: &[u8]) -> bool {
    let Some((net, len)) = text.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(len), Ok(addr)) = (
        net.trim().parse::<Ipv4Addr>(),
        len.trim().parse::<u32>(),
        <[u8; 4]>::try_from(bytes),
    ) else {
        return false;
    };
    if len > 32 {
        return false;
    }
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(net) & mask == u32::from(Ipv4Addr::from(addr)) & mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcplab_scenario::Place;

    fn seen() -> Seen {
        let mut m = Message::new(Message::BOOTREPLY, 0x1234, [2, 0, 0x5e, 0, 0x53, 1]);
        m.yiaddr = Ipv4Addr::new(192, 0, 2, 100);
        m.flags = Message::FLAG_BROADCAST;
        m.options.push(53, &[5]).expect("push");
        m.options.push(51, &3600u32.to_be_bytes()).expect("push");
        m.options
            .push(6, &[192, 0, 2, 1, 192, 0, 2, 2])
            .expect("push");
        m.options.push(15, b"example.test").expect("push");
        Seen {
            at_ns: 0,
            from: "srv".into(),
            to: None,
            broadcast: true,
            src: Ipv4Addr::new(192, 0, 2, 1).into(),
            dst: Ipv4Addr::BROADCAST.into(),
            message: Payload::V4(m),
            chaddr_host: Some("c1".into()),
        }
    }

    fn c(target: Target, matcher: Matcher) -> Check {
        Check {
            target,
            matcher,
            place: Place { line: 9, column: 1 },
        }
    }

    #[test]
    fn filters_by_sender_receiver_and_kind() {
        let s = seen();
        let f = |from: Option<&str>, to: Option<To>, kind: Option<Kind>| Filter {
            from: from.map(str::to_string),
            to,
            kind,
        };
        assert!(passes(
            &f(
                Some("srv"),
                Some(To::Host("c1".into())),
                Some(Kind::Dhcp(MessageType::Ack))
            ),
            &s
        ));
        assert!(passes(&f(None, Some(To::Broadcast), None), &s));
        assert!(!passes(&f(Some("c1"), None, None), &s));
        assert!(!passes(&f(None, Some(To::Host("c2".into())), None), &s));
        assert!(!passes(
            &f(None, None, Some(Kind::Dhcp(MessageType::Offer))),
            &s
        ));
        assert!(!passes(&f(None, None, Some(Kind::BootReply)), &s));
        let mut own = seen();
        if let Payload::V4(m) = &mut own.message {
            m.op = Message::BOOTREQUEST;
        }
        own.from = "c1".into();
        assert!(
            !passes(&f(None, Some(To::Host("c1".into())), None), &own),
            "a client's own broadcast is not to it"
        );
    }

    #[test]
    fn every_matcher_passes_and_fails() {
        let s = seen();
        let mut vars = BTreeMap::new();
        vars.insert("a".to_string(), vec![192, 0, 2, 100]);
        let yi = Target::Field(Field::Yiaddr);
        let lt = Target::Option(51);
        let holds = |ch: Check| check(&s, &ch, &vars);
        assert_eq!(holds(c(yi, Matcher::Text("192.0.2.100".into()))), None);
        assert_eq!(holds(c(yi, Matcher::Var("a".into()))), None);
        assert_eq!(holds(c(yi, Matcher::Text("192.0.2.0/24".into()))), None);
        assert_eq!(holds(c(yi, Matcher::Text("0.0.0.0/0".into()))), None);
        assert!(holds(c(yi, Matcher::Text("198.51.100.0/24".into()))).is_some());
        assert!(holds(c(yi, Matcher::Text("192.0.2.0/33".into()))).is_some());
        assert_eq!(holds(c(lt, Matcher::Int(3600))), None);
        assert_eq!(
            holds(c(
                lt,
                Matcher::Range {
                    min: Some(3000),
                    max: Some(4000)
                }
            )),
            None
        );
        assert_eq!(
            holds(c(
                Target::Option(6),
                Matcher::Text("192.0.2.1, 192.0.2.2".into())
            )),
            None
        );
        assert_eq!(
            holds(c(Target::Option(15), Matcher::Text("example.test".into()))),
            None
        );
        assert_eq!(
            holds(c(Target::Option(53), Matcher::Text("ack".into()))),
            None
        );
        assert_eq!(
            holds(c(Target::Field(Field::Broadcast), Matcher::Int(1))),
            None
        );
        assert_eq!(
            holds(c(
                Target::Field(Field::Chaddr),
                Matcher::Text("02:00:5e:00:53:01".into())
            )),
            None
        );
        assert_eq!(holds(c(Target::Option(54), Matcher::Absent)), None);
        assert_eq!(holds(c(Target::Option(51), Matcher::Present)), None);
        assert_eq!(
            holds(c(lt, Matcher::Int(7200))).as_deref(),
            Some("option 51 (dhcp-lease-time) is 3600, expected 7200 (line 9)")
        );
        assert!(
            holds(c(
                lt,
                Matcher::Range {
                    min: Some(4000),
                    max: None
                }
            ))
            .is_some()
        );
        assert!(holds(c(yi, Matcher::Text("192.0.2.101".into()))).is_some());
        assert!(holds(c(Target::Option(54), Matcher::Present)).is_some());
        assert!(holds(c(Target::Option(51), Matcher::Absent)).is_some());
        assert!(
            holds(c(yi, Matcher::Var("b".into()))).is_some_and(|m| m.contains("never captured"))
        );
        assert!(
            holds(c(Target::Option(54), Matcher::Int(1))).is_some_and(|m| m.contains("absent"))
        );
    }
}
