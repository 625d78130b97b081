use super::*;
use dhcplab_frame::{Decoded, LinkType, encode_udp};
use dhcplab_wire::v4;
use dhcplab_wire::v6;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

const SERVER_MAC: [u8; 6] = [2, 0, 0x5e, 0, 0x53, 1];
const GENERATOR_MAC: [u8; 6] = [2, 0, 0x5e, 0, 0x53, 2];

fn plan(family: Family, rate: f64, clients: u32) -> Plan {
    Plan {
        family,
        rate,
        clients,
        duration: Duration::from_secs(1),
        renew_percent: 0,
        release_percent: 0,
        drop_after: Duration::from_millis(100),
        mac: GENERATOR_MAC,
        seed: 7,
    }
}

/// A scripted DHCPv4 server on 192.0.2.1: offers 192.0.2.(10 + client % 200) and acks every
/// REQUEST, but stays silent on the REQUESTs `drop` picks (by their count).
fn server4(frame: &[u8], count: &mut u64, drop: impl Fn(u64) -> bool) -> Option<Vec<u8>> {
    let Ok(Decoded::Udp(d)) = dhcplab_frame::decode(LinkType::Ethernet, frame) else {
        return None;
    };
    let m = v4::Message::decode(d.payload).ok()?;
    let kind = match m.message_type().ok()?? {
        v4::MessageType::Discover => v4::MessageType::Offer,
        v4::MessageType::Request => {
            *count += 1;
            if drop(*count) {
                return None;
            }
            v4::MessageType::Ack
        }
        _ => return None,
    };
    let mac: [u8; 6] = m.chaddr[..6].try_into().ok()?;
    let mut a = v4::Message::new(2, m.xid, mac);
    a.yiaddr = if m.ciaddr.is_unspecified() {
        Ipv4Addr::new(192, 0, 2, 10 + mac[5] % 200)
    } else {
        m.ciaddr
    };
    a.options.push(53, &[u8::from(kind)]).ok()?;
    a.options.push(54, &[192, 0, 2, 1]).ok()?;
    a.options.push(51, &3600u32.to_be_bytes()).ok()?;
    let dst: SocketAddr = SocketAddr::new(a.yiaddr.into(), 68);
    encode_udp(
        SERVER_MAC,
        mac,
        "192.0.2.1:67".parse().ok()?,
        dst,
        64,
        &a.encode(),
    )
    .ok()
}

/// A scripted DHCPv6 server: advertises and replies with 2001:db8::(client) to everything.
fn server6(frame: &[u8]) -> Option<Vec<u8>> {
    let Ok(Decoded::Udp(d)) = dhcplab_frame::decode(LinkType::Ethernet, frame) else {
        return None;
    };
    let v6::Message::Client(m) = v6::Message::decode(d.payload).ok()? else {
        return None;
    };
    let kind = if m.msg_type == v6::MessageType::SOLICIT {
        v6::MessageType::ADVERTISE
    } else {
        v6::MessageType::REPLY
    };
    let client = v6::Message::Client(m.clone());
    let duid = client.options().get(v6::code::CLIENT_ID)?.data.to_vec();
    let mut a = v6::ClientMessage::new(kind, m.xid);
    a.options.push(v6::code::CLIENT_ID, &duid).ok()?;
    a.options
        .push(v6::code::SERVER_ID, &[0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 1])
        .ok()?;
    let mut ia = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 24];
    ia.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(duid[9])).octets());
    ia.extend_from_slice(&[0, 0, 0, 100, 0, 0, 0, 200]);
    a.options.push(v6::code::IA_NA, &ia).ok()?;
    encode_udp(
        SERVER_MAC,
        GENERATOR_MAC,
        "[fe80::1]:547".parse().ok()?,
        d.src,
        64,
        &v6::Message::Client(a).encode(),
    )
    .ok()
}

/// Runs `load` to its end in steps of 100 µs, each frame it sends answered at once by `serve`.
fn run(load: &mut Load, mut serve: impl FnMut(&[u8]) -> Option<Vec<u8>>) {
    let mut buf = vec![0u8; 2048];
    let mut t = Duration::ZERO;
    while !load.finished() {
        while let Some(n) = load.poll_transmit(t, &mut buf) {
            if let Some(answer) = serve(&buf[..n]) {
                load.handle_frame(t + Duration::from_micros(50), &answer);
            }
        }
        t += Duration::from_micros(100);
        assert!(t < Duration::from_secs(5), "the run never ends");
    }
}

#[test]
fn every_dora_is_counted_at_the_rate_asked() {
    let mut load = Load::new(plan(Family::V4, 1000.0, 100)).expect("plan");
    let mut count = 0;
    run(&mut load, |f| server4(f, &mut count, |_| false));
    let r = load.report(Duration::from_secs(1));
    assert_eq!(r.started, 1000);
    let first = load.counts(Exchange::First);
    let second = load.counts(Exchange::Second);
    assert_eq!((first.sent, first.received, first.drops), (1000, 1000, 0));
    assert_eq!(
        (second.sent, second.received, second.drops),
        (1000, 1000, 0)
    );
    assert_eq!(second.delays.count(), 1000);
    assert_eq!(first.delays.quantile(0.5), Some(50_000));
    assert!(r.sustained(0.1));
    assert!((r.rate_leases - 1000.0).abs() < 1e-6);
    assert_eq!(load.holding(), 100);
    let text = r.to_string();
    assert!(text.contains("***Statistics for: REQUEST-ACK***"), "{text}");
    assert!(text.contains("drops ratio: 0.000 %"), "{text}");
}

#[test]
fn unanswered_requests_are_drops_and_fail_the_rate() {
    let mut load = Load::new(plan(Family::V4, 1000.0, 100)).expect("plan");
    let mut count = 0;
    run(&mut load, |f| server4(f, &mut count, |n| n % 10 == 0));
    let second = load.counts(Exchange::Second);
    assert_eq!(second.drops, 100);
    assert_eq!(second.received, 900);
    let r = load.report(Duration::from_secs(1));
    assert!((r.worst_drops_percent - 10.0).abs() < 1e-9);
    assert!(!r.sustained(0.1));
}

#[test]
fn renewals_and_releases_take_their_shares_and_arp_is_answered() {
    let mut p = plan(Family::V4, 2000.0, 50);
    p.renew_percent = 30;
    p.release_percent = 10;
    let mut load = Load::new(p).expect("plan");
    let mut count = 0;
    run(&mut load, |f| server4(f, &mut count, |_| false));
    let renew = load.counts(Exchange::Renew);
    let release = load.counts(Exchange::Release);
    assert!(
        renew.sent > 400 && renew.sent < 800,
        "renewals {}",
        renew.sent
    );
    assert_eq!(renew.received, renew.sent);
    assert!(
        release.sent > 100 && release.sent < 300,
        "releases {}",
        release.sent
    );
    // Who has the address of a client holding one? That client.
    let (&key, &holder) = load.holders.iter().next().expect("a holder");
    let addr = [key[0], key[1], key[2], key[3]];
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&SERVER_MAC);
    arp.extend_from_slice(&[8, 6, 0, 1, 8, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&SERVER_MAC);
    arp.extend_from_slice(&[192, 0, 2, 1]);
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&addr);
    load.handle_frame(Duration::from_secs(2), &arp);
    let mut buf = [0u8; 128];
    let n = load
        .poll_transmit(Duration::from_secs(2), &mut buf)
        .expect("ARP reply");
    assert_eq!(&buf[..6], &SERVER_MAC);
    assert_eq!(&buf[6..12], &client_mac(holder));
    assert_eq!(&buf[20..22], &[0, 2]);
    assert_eq!(&buf[28..32], &addr);
    assert_eq!(n, 42);
}

#[test]
fn dhcpv6_sarr_is_counted_and_its_neighbor_solicitation_answered() {
    let mut p = plan(Family::V6, 1000.0, 300);
    p.renew_percent = 20;
    p.release_percent = 20;
    let mut load = Load::new(p).expect("plan");
    run(&mut load, server6);
    let first = load.counts(Exchange::First);
    let second = load.counts(Exchange::Second);
    assert!(first.sent > 500);
    assert_eq!(first.received, first.sent);
    assert_eq!(second.received, second.sent);
    assert_eq!(second.sent, first.sent);
    assert!(load.counts(Exchange::Renew).received > 100);
    assert!(load.counts(Exchange::Release).received > 100);
    assert_eq!(load.counts(Exchange::Release).drops, 0);
    // A Neighbor Solicitation for the generator's link-local address, from fe80::1.
    let own = link_local(GENERATOR_MAC);
    let mut ns = vec![0x33, 0x33, 0xff, 0, 0x53, 2];
    ns.extend_from_slice(&SERVER_MAC);
    ns.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 32, 58, 255]);
    ns.extend_from_slice(&"fe80::1".parse::<Ipv6Addr>().expect("addr").octets());
    ns.extend_from_slice(&[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0x53, 2]);
    ns.extend_from_slice(&[135, 0, 0, 0, 0, 0, 0, 0]);
    ns.extend_from_slice(&own.octets());
    ns.extend_from_slice(&[1, 1]);
    ns.extend_from_slice(&SERVER_MAC);
    load.handle_frame(Duration::from_secs(2), &ns);
    let mut buf = [0u8; 128];
    let n = load
        .poll_transmit(Duration::from_secs(2), &mut buf)
        .expect("NA");
    assert_eq!(&buf[..6], &SERVER_MAC);
    assert_eq!(buf[54], 136);
    assert_eq!(&buf[62..78], &own.octets());
    // The checksum verifies: the sum over pseudo-header and message is all ones.
    let src: [u8; 16] = buf[22..38].try_into().expect("src");
    let dst: [u8; 16] = buf[38..54].try_into().expect("dst");
    assert_eq!(crate::v6::checksum6(&src, &dst, 58, &buf[54..n]), 0);
}

#[test]
fn bad_plans_are_refused() {
    let mut p = plan(Family::V4, 0.0, 1);
    assert_eq!(Load::new(p.clone()).err(), Some(PlanError::Rate(0.0)));
    p.rate = 10.0;
    p.clients = 0;
    assert_eq!(Load::new(p.clone()).err(), Some(PlanError::Clients(0)));
    p.clients = 1;
    p.renew_percent = 60;
    p.release_percent = 50;
    assert!(matches!(Load::new(p).err(), Some(PlanError::Shares { .. })));
}

proptest! {
    #[test]
    fn no_frame_makes_it_panic(frame in proptest::collection::vec(any::<u8>(), 0..400), v6 in any::<bool>()) {
        let family = if v6 { Family::V6 } else { Family::V4 };
        let mut load = Load::new(plan(family, 1000.0, 10)).expect("plan");
        let mut buf = [0u8; 2048];
        let _ = load.poll_transmit(Duration::from_millis(5), &mut buf);
        load.handle_frame(Duration::from_millis(6), &frame);
        let _ = load.poll_transmit(Duration::from_millis(7), &mut buf);
    }
}

#[test]
fn an_address_granted_to_two_clients_at_once_is_a_conflict() {
    let mut load = Load::new(plan(Family::V4, 100.0, 10)).expect("plan");
    let mut count = 0;
    // Every client is offered and acked 192.0.2.10 (as if the server forgot its leases).
    run(&mut load, |f| {
        let mut a = server4(f, &mut count, |_| false)?;
        let Ok(Decoded::Udp(d)) = dhcplab_frame::decode(LinkType::Ethernet, &a) else {
            return None;
        };
        let at = d.payload_offset + 16;
        a[at..at + 4].copy_from_slice(&[192, 0, 2, 10]);
        Some(a)
    });
    let (n, samples) = load.conflicts();
    assert!(n >= 9, "{n} conflicts");
    assert_eq!(samples[0].address[..4], [192, 0, 2, 10]);
    assert_ne!(samples[0].holder, samples[0].granted_to);
    // Only the last client granted it holds it.
    assert_eq!(load.held_leases().count(), 1);
}

#[test]
fn a_released_lease_is_held_no_more() {
    let mut p = plan(Family::V4, 1000.0, 20);
    p.release_percent = 50;
    let mut load = Load::new(p).expect("plan");
    let mut count = 0;
    run(&mut load, |f| server4(f, &mut count, |_| false));
    let (conflicts, _) = load.conflicts();
    assert_eq!(conflicts, 0);
    let holding = load.held_leases().count();
    assert_eq!(
        holding,
        load.holding(),
        "held leases are the bound clients'"
    );
    assert!(holding < 20);
}

#[test]
fn generators_numbered_apart_take_only_their_own_answers() {
    let mut a = Load::new(plan(Family::V4, 100.0, 10)).expect("plan");
    let mut b = Load::new(plan(Family::V4, 100.0, 10))
        .and_then(|l| l.numbered_from(1 << 20))
        .expect("plan");
    let mut buf = vec![0u8; 2048];
    let mut count = 0;
    let mut t = Duration::ZERO;
    while !(a.finished() && b.finished()) {
        let mut frames = Vec::new();
        for sender in [&mut a, &mut b] {
            while let Some(n) = sender.poll_transmit(t, &mut buf) {
                frames.push(buf[..n].to_vec());
            }
        }
        for frame in frames {
            if let Some(answer) = server4(&frame, &mut count, |_| false) {
                // Both see every answer, as on one link.
                a.handle_frame(t + Duration::from_micros(50), &answer);
                b.handle_frame(t + Duration::from_micros(50), &answer);
            }
        }
        t += Duration::from_micros(100);
        assert!(t < Duration::from_secs(5), "the runs never end");
    }
    for load in [&a, &b] {
        let second = load.counts(Exchange::Second);
        assert_eq!(
            (second.sent, second.received, second.orphans),
            (100, 100, 0)
        );
        assert_eq!(load.held_leases().count(), 10);
    }
    assert!(b.held_leases().all(|(mac, _)| mac[3] == 0x10));
    assert!(a.held_leases().all(|(mac, _)| mac[3] == 0));
    // Each ignored the other's answers: not orphans of its own, frames of no concern.
    assert!(a.other_frames() >= 200 && b.other_frames() >= 200);
    assert!(
        Load::new(plan(Family::V4, 1.0, 10))
            .and_then(|l| l.numbered_from(MAX_CLIENTS - 5))
            .is_err()
    );
}

#[test]
fn scattered_clients_have_link_addresses_that_look_random_and_still_their_own() {
    let load = Load::new(plan(Family::V4, 100.0, 1000))
        .and_then(|l| l.numbered_from(1 << 20))
        .and_then(|l| l.scattered(0x5eed))
        .expect("plan");
    let macs: Vec<[u8; 6]> = (0..1000).map(|i| load.mac(i)).collect();
    // Each its own, in the block of 1024 numbers from 2^20, and known back as its client.
    let distinct: std::collections::BTreeSet<_> = macs.iter().collect();
    assert_eq!(distinct.len(), 1000);
    for (i, mac) in macs.iter().enumerate() {
        let n = client_of(mac).expect("the generator's");
        assert!(((1 << 20)..(1 << 20) + 1024).contains(&n), "{mac:02x?}");
        assert_eq!(load.client_of(mac), Some(i as u32));
    }
    // Not in order: consecutive clients' addresses are far apart more often than not.
    let jumps = macs
        .windows(2)
        .filter(|w| {
            client_of(&w[0])
                .unwrap_or(0)
                .abs_diff(client_of(&w[1]).unwrap_or(0))
                > 16
        })
        .count();
    assert!(jumps > 900, "{jumps}");
    // A number of the block no client has is no client's.
    let unused: Vec<u32> = ((1 << 20)..(1 << 20) + 1024)
        .filter(|n| !macs.iter().any(|m| client_of(m) == Some(*n)))
        .collect();
    assert_eq!(unused.len(), 24);
    assert!(
        unused
            .iter()
            .all(|&n| load.client_of(&client_mac(n)).is_none())
    );
    // The block must start at a multiple of its size.
    assert!(
        Load::new(plan(Family::V4, 1.0, 1000))
            .and_then(|l| l.numbered_from(3))
            .and_then(|l| l.scattered(1))
            .is_err()
    );
}
