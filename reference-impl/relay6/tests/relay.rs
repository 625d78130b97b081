//! The relay agent against RFC 8415 section 19: what goes up, what comes down, what is dropped.

use dhcplab_relay6::{Config, Downlink, Dropped, Forward, HOP_COUNT_LIMIT, Received, Relay};
use dhcplab_wire::v6::{Message, MessageType, RawBuilder, code};
use proptest::prelude::*;
use std::net::{Ipv6Addr, SocketAddrV6};

const CLIENT_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0x5eff, 0xfe00, 0x5302);
const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x02];
const LINK_A: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 1);
const RELAY1_UP: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xb, 0, 0, 0, 0, 1);
const LINK_B: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xb, 0, 0, 0, 0, 2);
const SERVER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 1);

fn relay(link_address: Option<Ipv6Addr>, interface_id: Option<&[u8]>, upstream: Ipv6Addr) -> Relay {
    Relay::new(Config {
        downlinks: vec![Downlink {
            index: 1,
            link_address,
            interface_id: interface_id.map(<[u8]>::to_vec),
        }],
        uplink: 2,
        upstream,
        client_link_layer: false,
    })
}

fn solicit() -> Vec<u8> {
    RawBuilder::new(MessageType::SOLICIT, 0x00ab_cdef)
        .option(code::CLIENT_ID, &[0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 2])
        .option(code::ELAPSED_TIME, &[0, 0])
        .build()
}

fn from_client(payload: &[u8]) -> Received<'_> {
    Received {
        interface: 1,
        source: SocketAddrV6::new(CLIENT_LL, 546, 0, 1),
        source_mac: Some(CLIENT_MAC),
        payload,
    }
}

fn relay_parts(bytes: &[u8]) -> (u8, Ipv6Addr, Ipv6Addr, Message) {
    match Message::decode(bytes).expect("a relay message") {
        Message::Relay(r) => (
            r.hop_count,
            r.link_address,
            r.peer_address,
            Message::Relay(r),
        ),
        other => panic!("expected a relay message, got {other:?}"),
    }
}

#[test]
fn a_client_message_goes_up_in_a_relay_forw_naming_the_link_and_the_client() {
    let payload = solicit();
    let out = relay(Some(LINK_A), None, SERVER)
        .handle(from_client(&payload))
        .expect("relayed");
    assert_eq!(out.interface, 2);
    assert_eq!(out.destination, SocketAddrV6::new(SERVER, 547, 0, 0));
    let (hops, link, peer, m) = relay_parts(&out.payload);
    assert_eq!((hops, link, peer), (0, LINK_A, CLIENT_LL));
    assert_eq!(m.msg_type(), MessageType::RELAY_FORW);
    // 19.1.1: the client's message is carried byte for byte.
    assert_eq!(
        m.options().get(code::RELAY_MSG).expect("relay-msg").data,
        &payload[..]
    );
    assert!(m.options().get(code::INTERFACE_ID).is_none());
}

#[test]
fn a_configured_interface_id_is_sent_and_a_link_without_address_is_named_by_one() {
    let payload = solicit();
    let out = relay(Some(LINK_A), Some(b"port-7"), SERVER)
        .handle(from_client(&payload))
        .expect("relayed");
    let m = Message::decode(&out.payload).expect("decodes");
    assert_eq!(m.options().interface_id(), Some(&b"port-7"[..]));

    let out = relay(None, None, SERVER)
        .handle(from_client(&payload))
        .expect("relayed");
    let (_, link, _, m) = relay_parts(&out.payload);
    assert_eq!(link, Ipv6Addr::UNSPECIFIED);
    assert_eq!(m.options().interface_id(), Some(&1u32.to_be_bytes()[..]));
}

#[test]
fn the_client_link_layer_address_is_added_on_the_first_hop_only() {
    let mut config = relay(Some(LINK_A), None, LINK_B).config().clone();
    config.client_link_layer = true;
    let first = Relay::new(config.clone());
    let payload = solicit();
    let out = first.handle(from_client(&payload)).expect("relayed");
    let m = Message::decode(&out.payload).expect("decodes");
    let lla = m
        .options()
        .get(code::CLIENT_LINKLAYER_ADDR)
        .expect("option 79");
    assert_eq!(lla.data, &[0, 1, 2, 0, 0x5e, 0, 0x53, 2][..]);

    let second = Relay::new(config);
    let out = second
        .handle(Received {
            interface: 1,
            source: SocketAddrV6::new(RELAY1_UP, 547, 0, 0),
            source_mac: Some([2, 0, 0x5e, 0, 0x53, 9]),
            payload: &out.payload,
        })
        .expect("relayed");
    let m = Message::decode(&out.payload).expect("decodes");
    assert!(m.options().get(code::CLIENT_LINKLAYER_ADDR).is_none());
}

/// Two relays in a row, as the relayed scenario has them: the Solicit reaches the
/// server in two RELAY-FORW layers, and the server's nested RELAY-REPL comes back down to the
/// client, one layer per relay.
#[test]
fn two_relays_nest_on_the_way_up_and_unwrap_on_the_way_down() {
    let first = relay(Some(LINK_A), Some(b"r1-port"), LINK_B);
    let second = relay(Some(LINK_B), None, SERVER);
    let payload = solicit();
    let hop1 = first.handle(from_client(&payload)).expect("first hop");
    assert_eq!(hop1.destination.ip(), &LINK_B);
    let hop2 = second
        .handle(Received {
            interface: 1,
            source: SocketAddrV6::new(RELAY1_UP, 547, 0, 0),
            source_mac: None,
            payload: &hop1.payload,
        })
        .expect("second hop");
    let (hops, link, peer, outer) = relay_parts(&hop2.payload);
    // 19.1.2: one more hop; a global source address means link-address 0.
    assert_eq!((hops, link, peer), (1, Ipv6Addr::UNSPECIFIED, RELAY1_UP));
    let inner = outer.relayed().expect("valid").expect("inner");
    assert_eq!(inner.encode(), hop1.payload);
    assert_eq!(
        outer.innermost().expect("innermost").encode(),
        payload,
        "the client's Solicit is inside both layers"
    );

    let advertise = RawBuilder::new(MessageType::ADVERTISE, 0x00ab_cdef)
        .option(code::SERVER_ID, &[0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 1])
        .build();
    let inner_repl = RawBuilder::relay(MessageType::RELAY_REPL, 0, LINK_A, CLIENT_LL)
        .option(code::INTERFACE_ID, b"r1-port")
        .option(code::RELAY_MSG, &advertise)
        .build();
    let outer_repl =
        RawBuilder::relay(MessageType::RELAY_REPL, 1, Ipv6Addr::UNSPECIFIED, RELAY1_UP)
            .option(code::INTERFACE_ID, &1u32.to_be_bytes())
            .option(code::RELAY_MSG, &inner_repl)
            .build();
    fn up(payload: &[u8]) -> Received<'_> {
        Received {
            interface: 2,
            source: SocketAddrV6::new(SERVER, 547, 0, 0),
            source_mac: None,
            payload,
        }
    }
    // The second relay has no Interface-Id configured, so it named its link by its index.
    let down1 = second
        .handle(up(&outer_repl))
        .expect("second relay unwraps");
    assert_eq!(
        down1,
        Forward {
            interface: 1,
            destination: SocketAddrV6::new(RELAY1_UP, 547, 0, 0),
            payload: inner_repl.clone(),
        }
    );
    let down2 = first
        .handle(up(&down1.payload))
        .expect("first relay unwraps");
    assert_eq!(
        down2,
        Forward {
            interface: 1,
            destination: SocketAddrV6::new(CLIENT_LL, 546, 0, 1),
            payload: advertise,
        }
    );
}

#[test]
fn a_relay_repl_is_routed_by_link_address_when_it_has_no_interface_id() {
    let r = relay(Some(LINK_A), None, SERVER);
    let reply = RawBuilder::new(MessageType::REPLY, 1).build();
    let repl = RawBuilder::relay(MessageType::RELAY_REPL, 0, LINK_A, CLIENT_LL)
        .option(code::RELAY_MSG, &reply)
        .build();
    let out = r
        .handle(Received {
            interface: 2,
            source: SocketAddrV6::new(SERVER, 547, 0, 0),
            source_mac: None,
            payload: &repl,
        })
        .expect("unwrapped");
    assert_eq!(out.destination, SocketAddrV6::new(CLIENT_LL, 546, 0, 1));
    assert_eq!(out.payload, reply);
}

#[test]
fn what_cannot_be_relayed_is_dropped_with_the_reason() {
    let r = relay(Some(LINK_A), None, SERVER);
    let at = |interface, payload: &[u8]| {
        r.handle(Received {
            interface,
            source: SocketAddrV6::new(CLIENT_LL, 546, 0, 1),
            source_mac: None,
            payload,
        })
    };
    let advertise = RawBuilder::new(MessageType::ADVERTISE, 1).build();
    assert_eq!(
        at(1, &advertise),
        Err(Dropped::WrongDirection(MessageType::ADVERTISE))
    );
    assert_eq!(
        at(2, &solicit()),
        Err(Dropped::WrongDirection(MessageType::SOLICIT))
    );
    assert_eq!(at(9, &solicit()), Err(Dropped::UnknownInterface(9)));
    assert!(matches!(at(1, &[1, 2]), Err(Dropped::Malformed(_))));

    let limit = RawBuilder::relay(MessageType::RELAY_FORW, HOP_COUNT_LIMIT, LINK_A, CLIENT_LL)
        .option(code::RELAY_MSG, &solicit())
        .build();
    assert_eq!(at(1, &limit), Err(Dropped::HopLimit(HOP_COUNT_LIMIT)));
    let below = RawBuilder::relay(
        MessageType::RELAY_FORW,
        HOP_COUNT_LIMIT - 1,
        LINK_A,
        CLIENT_LL,
    )
    .option(code::RELAY_MSG, &solicit())
    .build();
    let (hops, ..) = relay_parts(&at(1, &below).expect("relayed").payload);
    assert_eq!(hops, HOP_COUNT_LIMIT);

    let empty = RawBuilder::relay(MessageType::RELAY_REPL, 0, LINK_A, CLIENT_LL).build();
    assert_eq!(at(2, &empty), Err(Dropped::NoRelayMessage));
    let elsewhere = RawBuilder::relay(
        MessageType::RELAY_REPL,
        0,
        Ipv6Addr::new(0x2001, 0xdb8, 0xf, 0, 0, 0, 0, 1),
        CLIENT_LL,
    )
    .option(code::RELAY_MSG, &advertise)
    .build();
    assert_eq!(at(2, &elsewhere), Err(Dropped::UnknownLink));
}

proptest! {
    #[test]
    fn no_input_makes_the_relay_panic(payload in proptest::collection::vec(any::<u8>(), 0..300), up in any::<bool>()) {
        let r = relay(None, Some(b"x"), SERVER);
        let _ = r.handle(Received {
            interface: if up { 2 } else { 1 },
            source: SocketAddrV6::new(CLIENT_LL, 546, 0, 1),
            source_mac: Some(CLIENT_MAC),
            payload: &payload,
        });
    }
}
