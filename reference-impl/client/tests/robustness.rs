//! Retransmission within RFC 2131's bounds, and replies that are not for this client (wrong
//! xid, wrong chaddr, no server identifier, malformed) ignored, counted and logged.

mod common;

use common::*;
use dhcplab_client::{Action, Client, Level, State};
use dhcplab_wire::v4::{Message, MessageType, code};
use proptest::prelude::*;
use std::net::Ipv4Addr;

/// An OFFER answering `request`, built by hand so a test can spoil it.
fn offer_for(request: &Message) -> Message {
    let mut m = Message::new(Message::BOOTREPLY, request.xid, MAC);
    m.yiaddr = Ipv4Addr::new(192, 0, 2, 150);
    m.options
        .push(code::MESSAGE_TYPE, &[u8::from(MessageType::Offer)])
        .expect("53");
    m.options
        .push(code::SERVER_ID, &SERVER.octets())
        .expect("54");
    m.options
        .push(code::LEASE_TIME, &600u32.to_be_bytes())
        .expect("51");
    m
}

fn warnings(client: &mut Client) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(a) = client.poll_action() {
        if let Action::Log {
            level: Level::Warning,
            text,
        } = a
        {
            out.push(text);
        }
    }
    out
}

#[test]
fn spoofed_and_malformed_replies_are_ignored_and_logged() {
    // A client whose DISCOVER went nowhere.
    let mut client = Client::new(Lab::config(), 5, None, at(0.0));
    let discover = loop {
        match client.poll_action() {
            Some(Action::Transmit(t)) => break Message::decode(&t.payload).expect("discover"),
            Some(_) => {}
            None => panic!("no DISCOVER"),
        }
    };
    let good = offer_for(&discover);
    let mut wrong_xid = good.clone();
    wrong_xid.xid ^= 1;
    let mut wrong_chaddr = good.clone();
    wrong_chaddr.chaddr[5] ^= 0xff;
    let mut no_server_id = good.clone();
    no_server_id.options.remove(code::SERVER_ID);
    let mut a_request = good.clone();
    a_request.op = Message::BOOTREQUEST;
    let bad: Vec<(Vec<u8>, &str)> = vec![
        (wrong_xid.encode(), "xid"),
        (wrong_chaddr.encode(), "chaddr"),
        (no_server_id.encode(), "without a server identifier"),
        (a_request.encode(), "not a BOOTREPLY"),
        (good.encode()[..100].to_vec(), "malformed"),
    ];
    for (i, (bytes, why)) in bad.iter().enumerate() {
        client.handle_datagram(at(1.0), bytes);
        assert_eq!(client.ignored(), i as u64 + 1, "{why}");
        let logged = warnings(&mut client);
        assert!(logged.iter().any(|t| t.contains(why)), "{why}: {logged:?}");
        assert_eq!(client.state(), State::Selecting);
    }
    // The genuine offer is taken when OFFER_WAIT ends.
    client.handle_datagram(at(1.0), &good.encode());
    assert_eq!(client.ignored(), bad.len() as u64);
    client.handle_timeout(at(3.0));
    assert_eq!(client.state(), State::Requesting);
}

proptest! {
    #[test]
    fn discover_retransmissions_follow_rfc2131_backoff(seed in any::<u64>()) {
        let mut lab = Lab::without_server(Lab::config(), seed);
        lab.run_until(400.0);
        let discovers = lab.sent_of(MessageType::Discover);
        prop_assert!(discovers.len() >= 7);
        let xid = discovers[0].message.xid;
        for (i, pair) in discovers.windows(2).enumerate() {
            let base: i64 = [4000, 8000, 16000, 32000, 64000].get(i).copied().unwrap_or(64000);
            let gap = ((pair[1].at - pair[0].at) * 1000.0).round() as i64;
            prop_assert!((gap - base).abs() <= 1000, "retransmission {}: {} ms", i + 1, gap);
            prop_assert_eq!(pair[1].message.xid, xid);
            prop_assert_eq!(f64::from(pair[1].message.secs), pair[1].at.floor());
        }
    }

    #[test]
    fn any_datagram_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut client = Client::new(Lab::config(), 1, None, at(0.0));
        client.handle_datagram(at(0.5), &bytes);
        while client.poll_action().is_some() {}
        prop_assert_eq!(client.state(), State::Selecting);
    }
}
