//! DHCPv6 clients' frames: Solicit, Request, Renew and Release to ff02::1:2 from the
//! generator's link-local address, each client with its own DUID; answers read from the
//! server's frames; Neighbor Advertisements for the generator's address.

use crate::{Exchange, Load, Phase, Send};
use dhcplab_frame::{ALL_DHCP_RELAY_AGENTS_AND_SERVERS, Decoded, LinkType, encode_udp};
use dhcplab_wire::v6::{ClientMessage, Message, MessageType, code};
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];
/// The IAID every client uses for its one IA_NA.
const IAID: u32 = 1;

/// The link-local address of link address `mac` (modified EUI-64, RFC 4291 appendix A).
pub fn link_local(mac: [u8; 6]) -> Ipv6Addr {
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 2,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ])
}

/// Client `i`'s DUID: DUID-LL (type 3) of Ethernet (1) and its link address.
fn duid(load: &Load, i: u32) -> [u8; 10] {
    let m = load.mac(i);
    [0, 3, 0, 1, m[0], m[1], m[2], m[3], m[4], m[5]]
}

/// IA_NA data: IAID, T1 and T2 of 0 (the server's choice), and the address when there is one.
fn ia_na(addr: Option<[u8; 16]>) -> Vec<u8> {
    let mut d = Vec::with_capacity(40);
    d.extend_from_slice(&IAID.to_be_bytes());
    d.extend_from_slice(&[0; 8]);
    if let Some(a) = addr {
        d.extend_from_slice(&code::IA_ADDR.to_be_bytes());
        d.extend_from_slice(&24u16.to_be_bytes());
        d.extend_from_slice(&a);
        d.extend_from_slice(&[0; 8]);
    }
    d
}

/// The frame of `send`, `None` before the server's DUID is known for a message that names it.
pub(crate) fn build(load: &Load, send: Send) -> Option<Vec<u8>> {
    let (i, kind) = match send {
        Send::Discover(i) => (i, MessageType::SOLICIT),
        Send::Request(i) => (i, MessageType::REQUEST),
        Send::Renew(i) => (i, MessageType::RENEW),
        Send::Release(i) => (i, MessageType::RELEASE),
    };
    let c = load.clients.get(i as usize)?;
    let mut m = ClientMessage::new(kind, c.xid);
    let o = &mut m.options;
    o.push(code::CLIENT_ID, &duid(load, i)).ok()?;
    if !matches!(send, Send::Discover(_)) {
        o.push(code::SERVER_ID, load.server_duid.as_deref()?).ok()?;
    }
    let addr = (!matches!(send, Send::Discover(_))).then_some(c.addr);
    o.push(code::IA_NA, &ia_na(addr)).ok()?;
    o.push(code::ELAPSED_TIME, &[0, 0]).ok()?;
    if !matches!(send, Send::Release(_)) {
        o.push(code::ORO, &code::DNS_SERVERS.to_be_bytes()).ok()?;
    }
    let payload = Message::Client(m).encode();
    let src = SocketAddr::V6(SocketAddrV6::new(link_local(load.plan.mac), 546, 0, 0));
    let dst = SocketAddr::V6(SocketAddrV6::new(
        ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        547,
        0,
        0,
    ));
    encode_udp(
        load.plan.mac,
        [0x33, 0x33, 0, 1, 0, 2],
        src,
        dst,
        1,
        &payload,
    )
    .ok()
}

/// Takes a frame from the server's side; false when it is none of the generator's business.
pub(crate) fn handle(load: &mut Load, now: u64, frame: &[u8]) -> bool {
    if frame.get(12..14) != Some(&ETHERTYPE_IPV6[..]) {
        return false;
    }
    // IPv6 next header 58 (ICMPv6), type 135: a Neighbor Solicitation.
    if frame.get(20) == Some(&58) && frame.get(54) == Some(&135) {
        return neighbor(load, frame);
    }
    let Ok(Decoded::Udp(d)) = dhcplab_frame::decode(LinkType::Ethernet, frame) else {
        return false;
    };
    if d.src.port() != 547 || d.dst.port() != 546 {
        return false;
    }
    let Ok(Message::Client(m)) = Message::decode(d.payload) else {
        return false;
    };
    let message = Message::Client(m);
    let options = message.options();
    let Some(i) = options
        .get(code::CLIENT_ID)
        .and_then(|o| o.data.get(4..10))
        .and_then(|mac| load.client_of(mac))
    else {
        return false;
    };
    let xid = match &message {
        Message::Client(m) => m.xid,
        Message::Relay(_) => return false,
    };
    // The first address of the first IA_NA with a valid lifetime.
    let address = options.ia_na().ok().and_then(|ias| {
        ias.iter().find_map(|ia| {
            ia.options
                .ia_addresses()
                .ok()?
                .into_iter()
                .find(|a| a.valid > 0)
                .map(|a| a.addr.octets())
        })
    });
    let phase = load.clients.get(i as usize).map(|c| c.phase);
    match message.msg_type() {
        MessageType::ADVERTISE => {
            if !load.answered(i, xid, Phase::Discovering, now) {
                return true;
            }
            if load.server_duid.is_none() {
                load.server_duid = options.get(code::SERVER_ID).map(|o| o.data.to_vec());
            }
            match address {
                Some(a) => {
                    load.clients[i as usize].addr = a;
                    load.sends.push_back(Send::Request(i));
                }
                None => load.idle(i, Exchange::First, true),
            }
        }
        MessageType::REPLY => {
            let (expected, exchange) = match phase {
                Some(Phase::Renewing) => (Phase::Renewing, Exchange::Renew),
                Some(Phase::Releasing) => (Phase::Releasing, Exchange::Release),
                _ => (Phase::Requesting, Exchange::Second),
            };
            if !load.answered(i, xid, expected, now) {
                return true;
            }
            match (exchange, address) {
                (Exchange::Release, _) => load.idle(i, exchange, false),
                (_, Some(a)) => {
                    load.clients[i as usize].addr = a;
                    load.bind(i);
                }
                (_, None) => load.idle(i, exchange, true),
            }
        }
        _ => return false,
    }
    true
}

/// Answers a Neighbor Solicitation for the generator's link-local address.
fn neighbor(load: &mut Load, frame: &[u8]) -> bool {
    let own = link_local(load.plan.mac);
    // Ethernet 14 + IPv6 40; ICMPv6: type, code, checksum, reserved (4), target (16).
    let (Some(src_mac), Some(src_ip), Some(target)) =
        (frame.get(6..12), frame.get(22..38), frame.get(62..78))
    else {
        return false;
    };
    if target != own.octets() {
        return true;
    }
    let to: [u8; 16] = if src_ip.iter().all(|b| *b == 0) {
        [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    } else {
        let mut a = [0; 16];
        a.copy_from_slice(src_ip);
        a
    };
    let solicited = to[0] != 0xff;
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[136, 0, 0, 0]);
    // Flags: Solicited (when answering a unicast source), Override.
    icmp.extend_from_slice(&[if solicited { 0x60 } else { 0x20 }, 0, 0, 0]);
    icmp.extend_from_slice(&own.octets());
    // Target link-layer address option.
    icmp.extend_from_slice(&[2, 1]);
    icmp.extend_from_slice(&load.plan.mac);
    let sum = checksum6(&own.octets(), &to, 58, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut reply = Vec::with_capacity(14 + 40 + icmp.len());
    if solicited {
        reply.extend_from_slice(src_mac);
    } else {
        reply.extend_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    }
    reply.extend_from_slice(&load.plan.mac);
    reply.extend_from_slice(&ETHERTYPE_IPV6);
    reply.extend_from_slice(&[0x60, 0, 0, 0]);
    reply.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    reply.extend_from_slice(&[58, 255]);
    reply.extend_from_slice(&own.octets());
    reply.extend_from_slice(&to);
    reply.extend_from_slice(&icmp);
    load.control.push_back(reply);
    true
}

/// The Internet checksum over IPv6's pseudo-header and `data` (RFC 8200 section 8.1).
pub(crate) fn checksum6(src: &[u8; 16], dst: &[u8; 16], next: u8, data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    };
    add(src);
    add(dst);
    add(&(data.len() as u32).to_be_bytes());
    add(&[0, 0, 0, next]);
    add(data);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
