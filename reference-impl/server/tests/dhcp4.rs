//! The server's answers to each kind of client message, in virtual time, against RFC 2131/2132
//! and Kea 2.2's behaviour.

mod common;

use common::*;
use dhcplab_memfile::{STATE_DECLINED, STATE_DEFAULT};
use dhcplab_server::stats::Counter;
use dhcplab_wire::v4::{Message, MessageType, code};
use std::net::{Ipv4Addr, SocketAddrV4};

const SID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const POOL: &str = "192.0.2.100 - 192.0.2.109";

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, last)
}

#[test]
fn dora_offers_then_acks_and_persists_before_the_ack() {
    let mut s = server(&config(POOL, "", ""));
    let c = Client::new(1);
    let offer = send(&mut s, at(0), &c.discover());
    assert!(offer.rows.is_empty(), "an OFFER writes no lease (Kea 2.2)");
    let (t, o) = offer.reply();
    assert_eq!(o.op, Message::BOOTREPLY);
    assert_eq!(o.xid, c.xid);
    assert_eq!(o.yiaddr, ip(100));
    assert_eq!(o.hardware_address(), &c.mac);
    // Kea's order: 53 first, then by code.
    assert_eq!(codes(o), vec![53, 1, 3, 6, 42, 51, 54, 58, 59]);
    assert_eq!(o.lease_time(), Ok(Some(3600)));
    assert_eq!(o.renewal_time(), Ok(Some(1800)));
    assert_eq!(o.rebinding_time(), Ok(Some(3150)));
    assert_eq!(o.subnet_mask(), Ok(Some(Ipv4Addr::new(255, 255, 255, 0))));
    assert_eq!(o.server_id(), Ok(Some(SID)));
    // No broadcast flag, no address yet: unicast to chaddr and yiaddr without ARP.
    assert_eq!(t.destination, SocketAddrV4::new(ip(100), 68));
    assert_eq!(t.link_destination, Some(c.mac));
    assert_eq!(t.source, SocketAddrV4::new(SID, 67));

    let ack = send(&mut s, at(1), &c.select(ip(100), SID));
    assert_eq!(ack.rows.len(), 1);
    let row = &ack.rows[0];
    assert_eq!(
        (row.address, row.valid_lifetime, row.expire),
        (ip(100), 3600, T0 + 1 + 3600)
    );
    assert_eq!(row.hwaddr, c.mac.to_vec());
    assert_eq!(row.state, STATE_DEFAULT);
    let (_, a) = ack.reply();
    assert_eq!(a.message_type(), Ok(Some(MessageType::Ack)));
    assert_eq!(a.yiaddr, ip(100));
    assert_eq!(s.lease(ip(100)), Some(row.clone()));
    assert_eq!(s.stats().get(Counter::AckSent), 1);
    assert_eq!(s.stats().get(Counter::OfferSent), 1);
}

#[test]
fn broadcast_flag_makes_replies_broadcast() {
    let mut s = server(&config(POOL, "", ""));
    let c = Client::new(2);
    let mut d = c.discover();
    d.flags = Message::FLAG_BROADCAST;
    let out = send(&mut s, at(0), &d);
    let (t, o) = out.reply();
    assert_eq!(t.destination, SocketAddrV4::new(Ipv4Addr::BROADCAST, 68));
    assert_eq!(t.link_destination, Some([0xff; 6]));
    assert!(o.broadcast(), "the reply keeps the client's flags");
}

#[test]
fn requested_address_is_honoured_when_free_and_not_when_taken() {
    let mut s = server(&config(POOL, "", ""));
    let a = Client::new(1);
    a.dora(&mut s, at(0));
    let b = Client::new(2);
    let out = send(&mut s, at(1), &b.discover_requesting(ip(105)));
    assert_eq!(out.reply().1.yiaddr, ip(105));
    // 192.0.2.100 is a's: b is offered another one.
    let out = send(&mut s, at(1), &b.discover_requesting(ip(100)));
    assert_ne!(out.reply().1.yiaddr, ip(100));
    // Outside every pool: not honoured.
    let out = send(&mut s, at(1), &b.discover_requesting(ip(50)));
    assert!((100..=109).contains(&out.reply().1.yiaddr.octets()[3]));
}

#[test]
fn returning_client_gets_its_address_back() {
    let mut s = server(&config(POOL, "", ""));
    let c = Client::new(7).with_client_id();
    let first = c.dora(&mut s, at(0)).yiaddr;
    for n in 1..5 {
        Client::new(n).dora(&mut s, at(1));
    }
    // Same client, new transaction: the lease it has is offered again and extended.
    let mut again = c.clone();
    again.xid += 99;
    let ack = again.dora(&mut s, at(100));
    assert_eq!(ack.yiaddr, first);
    assert_eq!(s.lease(first).map(|l| l.expire), Some(T0 + 100 + 3600));
}

#[test]
fn pool_exhaustion_is_silence_and_counted() {
    let mut s = server(&config("192.0.2.100 - 192.0.2.101", "", ""));
    Client::new(1).dora(&mut s, at(0));
    Client::new(2).dora(&mut s, at(0));
    let out = send(&mut s, at(1), &Client::new(3).discover());
    assert!(out.silent());
    assert_eq!(s.stats().get(Counter::AllocationFail), 1);
    assert_eq!(s.stats().get(Counter::AllocationFailSubnet), 1);
    // After the first lease expires, its address goes to the new client.
    let ack = Client::new(3).dora(&mut s, at(3601 + 1));
    assert_eq!(ack.yiaddr, ip(100));
}

#[test]
fn request_selecting_another_server_is_ignored() {
    let mut s = server(&config(POOL, "", ""));
    let out = send(
        &mut s,
        at(0),
        &Client::new(1).select(ip(100), Ipv4Addr::new(192, 0, 2, 2)),
    );
    assert!(out.silent() && out.rows.is_empty());
    assert_eq!(s.stats().get(Counter::ReceiveDrop), 1);
}

#[test]
fn request_for_a_taken_address_is_naked() {
    let mut s = server(&config(POOL, "", ""));
    Client::new(1).dora(&mut s, at(0));
    let out = send(&mut s, at(1), &Client::new(2).select(ip(100), SID));
    let (t, n) = out.reply();
    assert_eq!(n.message_type(), Ok(Some(MessageType::Nak)));
    assert_eq!(n.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(codes(n), vec![53, 54]);
    assert_eq!(t.destination, SocketAddrV4::new(Ipv4Addr::BROADCAST, 68));
    assert!(out.rows.is_empty());
    assert_eq!(
        s.lease(ip(100)).map(|l| l.hwaddr),
        Some(vec![2, 0, 0, 0, 0, 1])
    );
}

#[test]
fn init_reboot_rules() {
    let mut s = server(&config(POOL, "", ""));
    let c = Client::new(1);
    let got = c.dora(&mut s, at(0)).yiaddr;
    // Its own address: ACK, extended.
    let out = send(&mut s, at(10), &c.reboot(got));
    assert_eq!(out.reply().1.message_type(), Ok(Some(MessageType::Ack)));
    assert_eq!(out.rows[0].expire, T0 + 10 + 3600);
    // Another address than its lease: NAK.
    let out = send(&mut s, at(11), &c.reboot(ip(107)));
    assert_eq!(out.reply().1.message_type(), Ok(Some(MessageType::Nak)));
    // Another network: NAK.
    let out = send(&mut s, at(12), &c.reboot(Ipv4Addr::new(198, 51, 100, 7)));
    assert_eq!(out.reply().1.message_type(), Ok(Some(MessageType::Nak)));
    // A client the server has no record of: silence (not authoritative)...
    let out = send(&mut s, at(13), &Client::new(9).reboot(ip(108)));
    assert!(out.silent());
    // ... and an ACK from an authoritative server when the address is free.
    let mut s = server(&config(POOL, "", r#""authoritative": true"#));
    let out = send(&mut s, at(13), &Client::new(9).reboot(ip(108)));
    assert_eq!(out.reply().1.message_type(), Ok(Some(MessageType::Ack)));
}

#[test]
fn renew_is_unicast_to_ciaddr_and_extends() {
    let mut s = server(&config(POOL, "", ""));
    let c = Client::new(1);
    let got = c.dora(&mut s, at(0)).yiaddr;
    let out = send(&mut s, at(1800), &c.renew(got));
    let (t, a) = out.reply();
    assert_eq!(a.message_type(), Ok(Some(MessageType::Ack)));
    assert_eq!(a.ciaddr, got);
    assert_eq!(t.destination, SocketAddrV4::new(got, 68));
    assert_eq!(t.link_destination, None, "routed by the host, ARP and all");
    assert_eq!(out.rows[0].expire, T0 + 1800 + 3600);
    // Another client renewing someone else's address is told no.
    let out = send(&mut s, at(1801), &Client::new(2).renew(got));
    assert_eq!(out.reply().1.message_type(), Ok(Some(MessageType::Nak)));
}

#[test]
fn decline_puts_the_address_in_probation_without_a_client() {
    let mut s = server(&config(POOL, "", ""));
    let c = Client::new(1);
    let got = c.dora(&mut s, at(0)).yiaddr;
    let out = send(&mut s, at(5), &c.decline(got, SID));
    assert!(out.silent());
    let row = &out.rows[0];
    assert_eq!(row.state, STATE_DECLINED);
    assert!(row.hwaddr.is_empty() && row.client_id.is_empty());
    assert_eq!((row.valid_lifetime, row.expire), (86_400, T0 + 5 + 86_400));
    // Nobody gets it during probation, the client that declined it included.
    let mut again = c.clone();
    again.xid += 1;
    assert_ne!(again.dora(&mut s, at(6)).yiaddr, got);
    // Another client cannot decline an address that is not its.
    let other = s.lease(ip(101)).expect("lease");
    let out = send(&mut s, at(7), &Client::new(5).decline(other.address, SID));
    assert!(out.rows.is_empty());
}

#[test]
fn release_deletes_only_the_owners_lease() {
    let mut s = server(&config(POOL, "", ""));
    let c = Client::new(1);
    let got = c.dora(&mut s, at(0)).yiaddr;
    let out = send(&mut s, at(5), &Client::new(2).release(got, SID));
    assert!(out.rows.is_empty() && s.lease(got).is_some());
    let out = send(&mut s, at(6), &c.release(got, SID));
    assert!(out.silent());
    assert_eq!(out.rows.len(), 1);
    assert_eq!(
        out.rows[0].valid_lifetime, 0,
        "Kea deletes with a row of lifetime 0"
    );
    assert!(s.lease(got).is_none());
}

#[test]
fn inform_gets_options_without_a_lease() {
    let mut s = server(&config(POOL, "", ""));
    let out = send(&mut s, at(0), &Client::new(1).inform(ip(20)));
    let (t, a) = out.reply();
    assert_eq!(a.message_type(), Ok(Some(MessageType::Ack)));
    assert_eq!(a.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(a.ciaddr, ip(20));
    assert_eq!(a.lease_time(), Ok(None));
    assert_eq!(a.routers(), Ok(Some(vec![SID])));
    assert_eq!(t.destination, SocketAddrV4::new(ip(20), 68));
    assert!(out.rows.is_empty() && s.lease_count() == 0);
}

#[test]
fn relayed_discover_is_answered_to_the_relay_with_option_82() {
    let text = r#"{ "Dhcp4": { "interfaces-config": { "interfaces": [ "eth0" ] },
        "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.100 - 192.0.2.109" } ] },
                     { "id": 2, "subnet": "198.51.100.0/24", "pools": [ { "pool": "198.51.100.10 - 198.51.100.19" } ] } ] } }"#;
    let mut s = server(text);
    let c = Client::new(1);
    let mut d = c.discover();
    d.giaddr = Ipv4Addr::new(198, 51, 100, 1);
    d.hops = 1;
    d.options
        .push(code::RELAY_AGENT_INFO, &[1, 3, b'p', b'o', b'1'])
        .expect("82");
    let relay = SocketAddrV4::new(d.giaddr, 67);
    let out = send_from(&mut s, at(0), &d, relay);
    let (t, o) = out.reply();
    assert_eq!(
        o.yiaddr,
        Ipv4Addr::new(198, 51, 100, 10),
        "subnet chosen by giaddr"
    );
    assert_eq!(o.giaddr, d.giaddr);
    assert_eq!(t.destination, relay);
    assert_eq!(t.link_destination, None);
    assert_eq!(codes(o).last(), Some(&82), "option 82 echoed, last");
    assert_eq!(
        o.option(82).map(|d| d.data.to_vec()),
        Some(vec![1, 3, b'p', b'o', b'1'])
    );
    let mut r = c.select(o.yiaddr, SID);
    r.giaddr = d.giaddr;
    let out = send_from(&mut s, at(1), &r, relay);
    assert_eq!(out.reply().1.message_type(), Ok(Some(MessageType::Ack)));
    // A NAK through the relay carries the broadcast flag (RFC 2131 4.3.2).
    let mut r = Client::new(2).select(o.yiaddr, SID);
    r.giaddr = d.giaddr;
    let out = send_from(&mut s, at(2), &r, relay);
    let (t, n) = out.reply();
    assert_eq!(n.message_type(), Ok(Some(MessageType::Nak)));
    assert!(n.broadcast());
    assert_eq!(t.destination, relay);
    // An address in no pool of the server is left alone (Kea 2.2: silence, not a NAK).
    let mut r = Client::new(3).select(Ipv4Addr::new(198, 51, 100, 99), SID);
    r.giaddr = d.giaddr;
    assert!(send_from(&mut s, at(3), &r, relay).silent());
}

#[test]
fn bootp_client_gets_an_infinite_lease_and_a_300_byte_reply() {
    let mut s = server(&config(POOL, "", ""));
    let mut m = Message::new(Message::BOOTREQUEST, 77, [2, 0, 0, 0, 0, 0x42]);
    m.options.set_tail(vec![0; 60]);
    let out = send(&mut s, at(0), &m);
    let (_, r) = out.reply();
    assert_eq!(r.message_type(), Ok(None));
    assert_eq!(r.lease_time(), Ok(None));
    assert!(r.encode().len() >= 300);
    assert_eq!(r.yiaddr, ip(100));
    assert_eq!(out.rows[0].valid_lifetime, u32::MAX);
}

#[test]
fn rfc951_bootp_client_without_the_magic_cookie_is_answered() {
    let mut s = server(&config(POOL, "", ""));
    let mut m = Message::new(Message::BOOTREQUEST, 78, [2, 0, 0, 0, 0, 0x43]);
    m.vend = Some([0; 64]);
    assert_eq!(m.encode().len(), 300);
    let out = send(&mut s, at(0), &m);
    let (_, r) = out.reply();
    assert_eq!(r.op, Message::BOOTREPLY);
    assert_eq!(r.yiaddr, ip(100));
    assert_eq!(r.xid, 78);
    assert!(r.encode().len() >= 300);
    assert_eq!(out.rows[0].valid_lifetime, u32::MAX);
}

#[test]
fn reservations_by_hw_address_and_client_id() {
    let extra = r#""reservations": [
        { "hw-address": "02:00:00:00:00:05", "ip-address": "192.0.2.50", "hostname": "five" },
        { "client-id": "01:02:00:00:00:00:06", "ip-address": "192.0.2.105" } ]"#;
    let mut s = server(&config(POOL, extra, ""));
    let five = Client::new(5).dora(&mut s, at(0));
    assert_eq!(five.yiaddr, ip(50), "outside the pool, reserved");
    assert_eq!(five.host_name(), Ok(None), "not asked for");
    assert_eq!(s.lease(ip(50)).map(|l| l.hostname), Some("five".into()));
    let mut asks = Client::new(5).discover();
    asks.options
        .set(code::PARAMETER_REQUEST_LIST, &[1, 3, 12])
        .expect("55");
    let out = send(&mut s, at(0), &asks);
    assert_eq!(out.reply().1.host_name(), Ok(Some(b"five".to_vec())));
    // 192.0.2.105 is reserved for client-id 01:02:..:06: others never get it.
    for n in 10..19 {
        assert_ne!(Client::new(n).dora(&mut s, at(1)).yiaddr, ip(105));
    }
    let six = Client::new(6).with_client_id().dora(&mut s, at(2));
    assert_eq!(six.yiaddr, ip(105));
    // A reserved client asking for another address is told no.
    let out = send(&mut s, at(3), &Client::new(5).select(ip(101), SID));
    assert_eq!(out.reply().1.message_type(), Ok(Some(MessageType::Nak)));
}

#[test]
fn malformed_packets_are_counted_and_dropped() {
    let mut s = server(&config(POOL, "", ""));
    let garbage: &[&[u8]] = &[b"", b"\x01\x01\x06", &[0u8; 300], &[1u8; 241]];
    for g in garbage {
        s.handle_datagram(
            at(0),
            dhcplab_server::Datagram {
                interface: 1,
                source: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
                destination: Ipv4Addr::BROADCAST,
                payload: g,
            },
        );
    }
    // A well-framed DISCOVER whose client identifier is too short (RFC 2132: at least 2).
    let mut m = Client::new(1).discover();
    m.options.push(code::CLIENT_ID, &[1]).expect("61");
    let out = send(&mut s, at(0), &m);
    assert!(out.silent());
    // A reply sent to the server.
    let mut r = Client::new(1).discover();
    r.op = Message::BOOTREPLY;
    assert!(send(&mut s, at(0), &r).silent());
    assert_eq!(s.stats().get(Counter::Received), 6);
    // Kea counts a packet it cannot unpack twice: parse failed and dropped. The all-zero
    // packet decodes (RFC 951 size) but its op is 0; the reply is not a client message.
    assert_eq!(s.stats().get(Counter::ParseFailed), 4);
    assert_eq!(s.stats().get(Counter::ReceiveDrop), 6);
    assert_eq!(s.lease_count(), 0);
    // The server still works.
    Client::new(1).dora(&mut s, at(1));
}

/// Kea's next-server, server-hostname and boot-file-name fill siaddr, sname and file of OFFERs
/// and ACKs (the subnet's over the global ones); echo-client-id false keeps option 61 out.
#[test]
fn boot_fields_and_echo_client_id_follow_the_configuration() {
    let text = config(
        POOL,
        r#""next-server": "192.0.2.9", "boot-file-name": "pxelinux.0""#,
        r#""next-server": "192.0.2.8", "server-hostname": "boot.example", "echo-client-id": false"#,
    );
    let mut s = server(&text);
    let c = Client::new(3).with_client_id();
    let offer = send(&mut s, at(0), &c.discover()).reply().1.clone();
    assert_eq!(
        offer.siaddr,
        Ipv4Addr::new(192, 0, 2, 9),
        "the subnet's next-server"
    );
    assert!(
        offer.sname.starts_with(b"boot.example\0"),
        "the global server-hostname"
    );
    assert!(offer.file.starts_with(b"pxelinux.0\0"));
    assert!(offer.option(61).is_none(), "echo-client-id false");
    let ack = c.dora(&mut s, at(1));
    assert_eq!(ack.siaddr, Ipv4Addr::new(192, 0, 2, 9));

    let mut plain = server(&config(POOL, "", ""));
    let offer = send(&mut plain, at(0), &c.discover()).reply().1.clone();
    assert_eq!(offer.siaddr, Ipv4Addr::UNSPECIFIED);
    assert!(offer.option(61).is_some(), "echoed by default (RFC 6842)");
}
