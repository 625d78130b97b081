//! The DHCPv6 captures of the shared corpus replayed against the core: Wireshark's SARR with
//! prefix delegation, Kea's DOCSIS relayed Solicit and its doubly relayed Solicit. Every
//! client message gets the answer Kea gives it (type, transaction id, relay layers mirrored
//! with their Interface-Id, leases from the configured pools). The corpus is outside the
//! repository: without it (and outside CI) the tests pass without checking.

mod common;

use common::*;
use dhcplab_capture::CaptureReader;
use dhcplab_frame::Decoded;
use dhcplab_wire::v6::{Message, MessageType, code};
use std::net::{IpAddr, Ipv6Addr, SocketAddrV6};
use std::path::PathBuf;

/// A DHCPv6 datagram of a capture: source, destination, payload.
type Datagram6 = (SocketAddrV6, Ipv6Addr, Vec<u8>);

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("DHCPLAB_SHARED_PCAPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pcaps"));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the shared capture corpus is missing"
    );
    None
}

/// The DHCPv6 datagrams of `file`, in order.
fn datagrams(file: &str) -> Option<Vec<Datagram6>> {
    let path = corpus()?.join(file);
    let mut out = Vec::new();
    for record in CaptureReader::open(&path).expect("the capture opens") {
        let record = record.expect("a record");
        let Some(link) = record.link_type else {
            continue;
        };
        if let Ok(Decoded::Udp(d)) = dhcplab_frame::decode(link, &record.data) {
            if let (IpAddr::V6(src), IpAddr::V6(dst)) = (d.src.ip(), d.dst.ip()) {
                if d.dst.port() == 547 {
                    out.push((
                        SocketAddrV6::new(src, d.src.port(), 0, 0),
                        dst,
                        d.payload.to_vec(),
                    ));
                }
            }
        }
    }
    Some(out)
}

/// The server DUID the capture's clients talk to (in their Requests), as the DUID file text.
fn server_id_of(datagrams: &[Datagram6]) -> Option<String> {
    datagrams.iter().find_map(|(_, _, p)| {
        let m = Message::decode(p).ok()?.innermost().ok()?;
        let sid = m.options().get(code::SERVER_ID)?;
        Some(format!("{}\n", dhcplab_wire::v4::Hex(sid.data)))
    })
}

fn replay(file: &str, cfg: dhcplab_kea_config::dhcp6::Dhcp6) -> Option<Vec<(Message, Message)>> {
    let grams = datagrams(file)?;
    assert!(!grams.is_empty(), "{file}: no DHCPv6 query");
    let sid = server_id_of(&grams);
    let mut s =
        dhcplab_server6::Server::new(cfg, serde_json::json!({}), vec![], sid.as_deref(), at(0))
            .expect("starts");
    s.attach(eth0());
    let mut out = Vec::new();
    for (i, (src, dst, payload)) in grams.iter().enumerate() {
        // Sent to the captured server's unicast address: to ours instead.
        let to = if dst.is_multicast() {
            *dst
        } else {
            ip("2001:db8:1::1")
        };
        let actions = deliver(&mut s, at(i as u64), *src, to, payload);
        let t = transmits(&actions);
        assert_eq!(t.len(), 1, "{file}: datagram {i} gets one answer");
        assert_eq!(t[0].destination.ip(), src.ip());
        out.push((
            Message::decode(payload).expect("the query decodes"),
            Message::decode(&t[0].payload).expect("the answer decodes"),
        ));
    }
    Some(out)
}

fn xid(m: &Message) -> u32 {
    match m {
        Message::Client(c) => c.xid,
        Message::Relay(_) => m.innermost().map(|i| xid(&i)).unwrap_or(u32::MAX),
    }
}

#[test]
fn wireshark_sarr_with_prefix_delegation() {
    let Some(pairs) = replay("arkime/wireshark-dhcpv6.pcap", config()) else {
        return;
    };
    let types: Vec<(MessageType, MessageType)> = pairs
        .iter()
        .map(|(q, a)| (q.msg_type(), a.msg_type()))
        .collect();
    assert_eq!(
        types,
        vec![
            (MessageType::SOLICIT, MessageType::ADVERTISE),
            (MessageType::REQUEST, MessageType::REPLY),
            (MessageType::RELEASE, MessageType::REPLY),
        ]
    );
    for (q, a) in &pairs {
        assert_eq!(xid(q), xid(a));
    }
    // Our pd-pool's first /56 is advertised. The Request asks for the prefix the captured
    // server gave, which is not ours: a new one, the next, since the iterative allocator
    // moved on when it advertised (Kea's IterativeAllocator does so for Solicits too).
    let adv = &pairs[0].1;
    assert_eq!(prefixes(&ia_pds(adv)[0])[0].0, ip("2001:db8:8000::"));
    let rep = &pairs[1].1;
    assert_eq!(
        prefixes(&ia_pds(rep)[0])[0],
        (ip("2001:db8:8000:100::"), 56, 3000, 4000)
    );
    // The Release names the captured server's prefix, unknown here.
    let rel = &pairs[2].1;
    assert_eq!(
        status(ia_pds(rel)[0].options.status_code().expect("ok")).map(|s| s.0),
        Some(3)
    );
    assert_eq!(
        status(rel.options().status_code().expect("ok")).map(|s| s.0),
        Some(3)
    );
}

#[test]
fn docsis_relayed_solicit_is_answered_through_its_relay() {
    let mut cfg = config();
    cfg.subnets[0].interface = None;
    let Some(pairs) = replay("kea-pkt-captures/captureDocsisRelayedSolicit.pcap", cfg) else {
        return;
    };
    let (q, a) = &pairs[0];
    let (Message::Relay(fq), Message::Relay(ra)) = (q, a) else {
        panic!("a Relay-forw answered with a Relay-repl")
    };
    assert_eq!(ra.msg_type, MessageType::RELAY_REPL);
    assert_eq!(
        (ra.hop_count, ra.link_address, ra.peer_address),
        (fq.hop_count, fq.link_address, fq.peer_address)
    );
    assert_eq!(a.options().interface_id(), q.options().interface_id());
    let inner = a.innermost().expect("inner answer");
    // The modem asks for Rapid Commit; the subnet does not allow it: an Advertise.
    assert_eq!(inner.msg_type(), MessageType::ADVERTISE);
    assert_eq!(xid(q), xid(a));
}

#[test]
fn doubly_relayed_solicit_gets_two_relay_layers_back() {
    let mut cfg = config();
    cfg.subnets[0].interface = None;
    let Some(pairs) = replay("kea-pkt-captures/captureRelayed2xRSOO.pcap", cfg) else {
        return;
    };
    let (q, a) = &pairs[0];
    let mut depth_q = 0;
    let mut depth_a = 0;
    let (mut mq, mut ma) = (q.clone(), a.clone());
    while let (Message::Relay(rq), Message::Relay(ra)) = (&mq, &ma) {
        assert_eq!(
            (ra.hop_count, ra.link_address, ra.peer_address),
            (rq.hop_count, rq.link_address, rq.peer_address)
        );
        assert_eq!(ma.options().interface_id(), mq.options().interface_id());
        depth_q += 1;
        depth_a += 1;
        let next_q = mq.relayed().expect("ok").expect("inner");
        let next_a = ma.relayed().expect("ok").expect("inner");
        mq = next_q;
        ma = next_a;
    }
    assert_eq!((depth_q, depth_a), (2, 2));
    assert_eq!(ma.msg_type(), MessageType::ADVERTISE);
}

#[test]
fn a_pxe_solicit_with_an_odd_user_class_is_answered() {
    // Its User Class (15) holds an item longer than the option: Kea reads user-class as
    // opaque bytes (OPT_BINARY_TYPE in its option definitions), so the Solicit is answered;
    // only the options the server reads drop a message when malformed.
    let Some(grams) = datagrams("PcapPlusPlus/dhcpv6.pcap") else {
        return;
    };
    let (src, dst, p) = &grams[0];
    assert!(
        !Message::decode(p)
            .expect("framing is fine")
            .validate()
            .is_empty()
    );
    let mut s = dhcplab_server6::Server::new(config(), serde_json::json!({}), vec![], None, at(0))
        .expect("starts");
    s.attach(eth0());
    let actions = deliver(&mut s, at(0), *src, *dst, p);
    let t = transmits(&actions);
    let m = Message::decode(&t[0].payload).expect("decodes");
    assert_eq!(m.msg_type(), MessageType::ADVERTISE);
}
