//! Checks a message against an expectation's filter and checks, and reads the values that
//! captures keep. Written against decoded messages and the datagram's addresses only, so TAP
//! mode can check what real stacks send the same way.

use dhcplab_scenario::text::{format_hex, parse_hex};
use dhcplab_scenario::{Check, Field, Filter, Kind, Matcher, Target, To};
use dhcplab_wire::v4::catalogue::{self, Format};
use dhcplab_wire::v4::{Message, MessageType};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// A DHCPv4 message seen on the link, with who sent it and where it went.
#[derive(Debug, Clone)]
pub struct Seen {
    /// When it was sent, in nanoseconds since the start of the run.
    pub at_ns: u128,
    /// The sending host.
    pub from: String,
    /// The host owning the destination link address, or none for a broadcast.
    pub to: Option<String>,
    /// True for a broadcast frame.
    pub broadcast: bool,
    /// IP source address.
    pub src: Ipv4Addr,
    /// IP destination address.
    pub dst: Ipv4Addr,
    /// The message.
    pub message: Message,
    /// The client host whose link address is in `chaddr`, if any.
    pub chaddr_host: Option<String>,
}

/// The kind of a message as an expectation names it.
pub fn kind_of(m: &Message) -> Option<Kind> {
    match m.message_type() {
        Ok(Some(t)) => Some(Kind::Dhcp(t)),
        Ok(None) if m.op == Message::BOOTREPLY => Some(Kind::BootReply),
        Ok(None) => Some(Kind::BootRequest),
        Err(_) => None,
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
                && seen.message.op == Message::BOOTREPLY
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

/// The bytes of `target` in `seen`; `None` when the option is absent.
pub fn value(seen: &Seen, target: Target) -> Option<Vec<u8>> {
    let m = &seen.message;
    Some(match target {
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
            Field::Src => seen.src.octets().to_vec(),
            Field::Dst => seen.dst.octets().to_vec(),
        },
    })
}

fn until_nul(b: &[u8]) -> Vec<u8> {
    b.iter().copied().take_while(|c| *c != 0).collect()
}

/// The value of `target` written out for a person: an address, a number, a type, text or hex.
pub fn show(target: Target, bytes: &[u8]) -> String {
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
        }),
    }
}

fn number(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))
}

/// Why a check failed, for the report; `None` when it held.
pub fn check(seen: &Seen, c: &Check, vars: &BTreeMap<String, Vec<u8>>) -> Option<String> {
    let got = value(seen, c.target);
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

fn text_matches(target: Target, text: &str, bytes: &[u8]) -> bool {
    let t = text.trim();
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
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::BROADCAST,
            message: m,
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
        own.message.op = Message::BOOTREQUEST;
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
