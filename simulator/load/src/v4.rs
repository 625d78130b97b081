//! DHCPv4 clients' frames: DISCOVER and REQUEST broadcast, renewal and RELEASE unicast from
//! the client's address, answers read from the server's frames, and ARP replies for the
//! addresses clients hold.

use crate::{Exchange, Load, Phase, Send};
use dhcplab_frame::{BROADCAST_MAC, Decoded, LinkType, encode_udp};
use dhcplab_wire::v4::{Message, MessageType, code};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
/// Parameters asked for: subnet mask, routers, DNS servers, lease time, server identifier.
const PARAMETERS: [u8; 5] = [1, 3, 6, 51, 54];

fn v4(a: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a), port))
}

/// The frame of `send`, `None` when it cannot be addressed yet.
pub(crate) fn build(load: &Load, send: Send) -> Option<Vec<u8>> {
    let (i, kind) = match send {
        Send::Discover(i) => (i, MessageType::Discover),
        Send::Request(i) | Send::Renew(i) => (i, MessageType::Request),
        Send::Release(i) => (i, MessageType::Release),
    };
    let c = load.clients.get(i as usize)?;
    let mac = load.mac(i);
    let mut m = Message::new(1, c.xid, mac);
    let addr = [c.addr[0], c.addr[1], c.addr[2], c.addr[3]];
    let o = &mut m.options;
    o.push(code::MESSAGE_TYPE, &[u8::from(kind)]).ok()?;
    match send {
        Send::Discover(_) => {}
        Send::Request(_) => {
            o.push(code::REQUESTED_IP, &addr).ok()?;
            o.push(code::SERVER_ID, &c.server).ok()?;
        }
        Send::Renew(_) => m.ciaddr = Ipv4Addr::from(addr),
        Send::Release(_) => {
            o.push(code::SERVER_ID, &c.server).ok()?;
            m.ciaddr = Ipv4Addr::from(addr);
        }
    }
    if !matches!(send, Send::Release(_)) {
        m.options
            .push(code::PARAMETER_REQUEST_LIST, &PARAMETERS)
            .ok()?;
    }
    let payload = m.encode();
    match send {
        Send::Discover(_) | Send::Request(_) => encode_udp(
            mac,
            BROADCAST_MAC,
            v4([0; 4], 68),
            v4([255; 4], 67),
            64,
            &payload,
        ),
        Send::Renew(_) | Send::Release(_) => encode_udp(
            mac,
            load.server_mac?,
            v4(addr, 68),
            v4(c.server, 67),
            64,
            &payload,
        ),
    }
    .ok()
}

/// Takes a frame from the server's side; false when it is none of the generator's business.
pub(crate) fn handle(load: &mut Load, now: u64, frame: &[u8]) -> bool {
    if frame.get(12..14) == Some(&ETHERTYPE_ARP[..]) {
        return arp(load, frame);
    }
    let Ok(Decoded::Udp(d)) = dhcplab_frame::decode(LinkType::Ethernet, frame) else {
        return false;
    };
    if d.src.port() != 67 || d.dst.port() != 68 {
        return false;
    }
    let Ok(m) = Message::decode(d.payload) else {
        return false;
    };
    let (Some(i), Ok(Some(kind))) = (load.client_of(m.hardware_address()), m.message_type()) else {
        return false;
    };
    if m.op != 2 {
        return false;
    }
    let phase = load.clients.get(i as usize).map(|c| c.phase);
    match kind {
        MessageType::Offer => {
            if !load.answered(i, m.xid, Phase::Discovering, now) {
                return true;
            }
            let server = match (m.server_id(), d.src) {
                (Ok(Some(s)), _) => s.octets(),
                (_, SocketAddr::V4(s)) => s.ip().octets(),
                _ => [0; 4],
            };
            if let Some(src) = frame.get(6..12).and_then(|s| <[u8; 6]>::try_from(s).ok()) {
                load.server_mac.get_or_insert(src);
            }
            let c = &mut load.clients[i as usize];
            c.addr[..4].copy_from_slice(&m.yiaddr.octets());
            c.server = server;
            load.sends.push_back(Send::Request(i));
        }
        MessageType::Ack | MessageType::Nak => {
            let (expected, exchange) = match phase {
                Some(Phase::Renewing) => (Phase::Renewing, Exchange::Renew),
                _ => (Phase::Requesting, Exchange::Second),
            };
            if !load.answered(i, m.xid, expected, now) {
                return true;
            }
            if kind == MessageType::Ack {
                load.bind(i);
            } else {
                load.idle(i, exchange, true);
            }
        }
        _ => return false,
    }
    true
}

/// Answers an ARP request for an address a client holds, as that client.
fn arp(load: &mut Load, frame: &[u8]) -> bool {
    // Ethernet (14) then ARP: htype 2, ptype 2, hlen 1, plen 1, op 2, sha 6, spa 4, tha 6, tpa 4.
    let Some(a) = frame.get(14..42) else {
        return false;
    };
    if a[0..2] != [0, 1] || a[2..4] != [8, 0] || a[4] != 6 || a[5] != 4 || a[6..8] != [0, 1] {
        return false;
    }
    let target = [a[24], a[25], a[26], a[27]];
    let mut key = [0; 16];
    key[..4].copy_from_slice(&target);
    let Some(&i) = load.holders.get(&key) else {
        return true;
    };
    let mac = load.mac(i);
    let mut reply = Vec::with_capacity(42);
    reply.extend_from_slice(&a[8..14]);
    reply.extend_from_slice(&mac);
    reply.extend_from_slice(&ETHERTYPE_ARP);
    reply.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
    reply.extend_from_slice(&mac);
    reply.extend_from_slice(&target);
    reply.extend_from_slice(&a[8..18]);
    load.control.push_back(reply);
    true
}
