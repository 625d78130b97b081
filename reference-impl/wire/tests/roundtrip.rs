//! Property tests of losslessness: decode(encode(m)) == m for generated messages, and
//! encode(decode(b)) == b for every byte string that decodes, mutated packets included.

use dhcplab_wire::dns::DomainName;
use dhcplab_wire::v4::{self, ClasslessRoute, ClientFqdn, ClientId, FqdnName, OptionArea};
use dhcplab_wire::v6::{self, ClientMessage, MessageType, Options, RelayMessage};
use proptest::collection::vec;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone)]
enum Item {
    Pad,
    Opt(u8, Vec<u8>),
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        1 => Just(Item::Pad),
        6 => ((1u8..=254).prop_filter("not overload", |c| *c != 52), vec(any::<u8>(), 0..40))
            .prop_map(|(c, d)| Item::Opt(c, d)),
    ]
}

fn area(max_items: usize, max_tail: usize) -> impl Strategy<Value = OptionArea> {
    (vec(item(), 0..max_items), vec(any::<u8>(), 0..max_tail)).prop_map(|(items, tail)| {
        let mut area = OptionArea::new();
        for i in items {
            match i {
                Item::Pad => {
                    area.push_pad();
                }
                Item::Opt(c, d) => {
                    area.push(c, &d).expect("generated option fits");
                }
            }
        }
        area.set_tail(tail);
        area
    })
}

fn array<const N: usize>() -> impl Strategy<Value = [u8; N]> {
    vec(any::<u8>(), N).prop_map(|v| {
        let mut a = [0u8; N];
        a.copy_from_slice(&v);
        a
    })
}

fn addr4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

prop_compose! {
    fn message_v4()(
        fixed in (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u32>(), any::<u16>(), any::<u16>()),
        addrs in (addr4(), addr4(), addr4(), addr4()),
        chaddr in array::<16>(),
        sname in array::<64>(),
        file in array::<128>(),
        options in area(12, 20),
        overload in prop_oneof![Just(0u8), 1u8..=3],
        rfc951 in proptest::option::weighted(0.1, array::<64>().prop_filter("no cookie", |v| v[..4] != v4::MAGIC_COOKIE)),
        file_area in area(4, 8),
        sname_area in area(2, 4),
    ) -> v4::Message {
        let (op, htype, hlen, hops, xid, secs, flags) = fixed;
        let mut m = v4::Message::new(op, xid, [0; 6]);
        (m.htype, m.hlen, m.hops, m.secs, m.flags) = (htype, hlen, hops, secs, flags);
        (m.ciaddr, m.yiaddr, m.siaddr, m.giaddr) = addrs;
        (m.chaddr, m.sname, m.file, m.options) = (chaddr, sname, file, options);
        if let Some(vend) = rfc951 {
            m.vend = Some(vend);
            m.options = OptionArea::new();
        } else if overload != 0 {
            m.options.push(v4::code::OVERLOAD, &[overload]).expect("52");
            if overload & 1 != 0 {
                if let Ok(field) = file_area.to_field() { m.file = field } else { m.file = OptionArea::new().to_field().expect("empty") }
            }
            if overload & 2 != 0 {
                if let Ok(field) = sname_area.to_field() { m.sname = field } else { m.sname = OptionArea::new().to_field().expect("empty") }
            }
        }
        m
    }
}

/// Up to `max` options of any code but those in `except`.
fn options_v6(max: usize, except: &'static [u16]) -> impl Strategy<Value = Options> {
    vec((any::<u16>(), vec(any::<u8>(), 0..40)), 0..max).prop_map(move |list| {
        let mut o = Options::new();
        for (code, data) in list.into_iter().filter(|(c, _)| !except.contains(c)) {
            o.push(code, &data).expect("fits");
        }
        o
    })
}

fn client_v6() -> impl Strategy<Value = v6::Message> {
    (
        any::<u8>().prop_filter("not relay", |t| *t != 12 && *t != 13),
        0u32..(1 << 24),
        options_v6(10, &[]),
    )
        .prop_map(|(t, xid, options)| {
            v6::Message::Client(ClientMessage {
                msg_type: MessageType(t),
                xid,
                options,
            })
        })
}

fn message_v6() -> impl Strategy<Value = v6::Message> {
    (
        client_v6(),
        0usize..3,
        any::<u8>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        // A relay's own options: a second Relay Message option would make another message.
        options_v6(3, &[v6::code::RELAY_MSG]),
    )
        .prop_map(|(inner, layers, hops, link, peer, extra)| {
            let mut m = inner;
            for layer in 0..layers {
                let mut options = if layer == 0 {
                    extra.clone()
                } else {
                    Options::new()
                };
                options
                    .push(v6::code::RELAY_MSG, &m.encode())
                    .expect("fits");
                m = v6::Message::Relay(RelayMessage {
                    msg_type: MessageType::RELAY_FORW,
                    hop_count: hops,
                    link_address: Ipv6Addr::from(link),
                    peer_address: Ipv6Addr::from(peer),
                    options,
                });
            }
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn v4_decode_of_encode_is_identity(m in message_v4()) {
        let bytes = m.encode();
        prop_assert_eq!(bytes.len(), m.encoded_len());
        prop_assert_eq!(v4::Message::decode(&bytes), Ok(m));
    }

    #[test]
    fn v4_mutated_packets_decode_losslessly_or_fail_cleanly(m in message_v4(), at in any::<prop::sample::Index>(), value in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut bytes = m.encode();
        let i = at.index(bytes.len());
        bytes[i] = value;
        if let Ok(decoded) = v4::Message::decode(&bytes) {
            prop_assert_eq!(decoded.encode(), bytes.clone());
            let _ = decoded.validate();
        }
        let cut = cut.index(bytes.len());
        if let Ok(decoded) = v4::Message::decode(&bytes[..cut]) {
            prop_assert_eq!(decoded.encode(), bytes[..cut].to_vec());
        }
    }

    #[test]
    fn v4_arbitrary_bytes_never_panic(header in vec(any::<u8>(), 236), rest in vec(any::<u8>(), 0..300)) {
        let mut bytes = header;
        bytes.extend_from_slice(&v4::MAGIC_COOKIE);
        bytes.extend_from_slice(&rest);
        if let Ok(m) = v4::Message::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
            for code in 1..=254 {
                let _ = m.value(code);
            }
        }
    }

    #[test]
    fn v6_decode_of_encode_is_identity(m in message_v6()) {
        let bytes = m.encode();
        let back = v6::Message::decode(&bytes);
        prop_assert_eq!(&back, &Ok(m.clone()));
        if let v6::Message::Relay(_) = m {
            prop_assert!(back.expect("decoded").innermost().is_ok());
        }
    }

    #[test]
    fn v6_mutated_packets_decode_losslessly_or_fail_cleanly(m in message_v6(), at in any::<prop::sample::Index>(), value in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut bytes = m.encode();
        let i = at.index(bytes.len());
        bytes[i] = value;
        if let Ok(decoded) = v6::Message::decode(&bytes) {
            prop_assert_eq!(decoded.encode(), bytes.clone());
            let _ = decoded.validate();
            let _ = decoded.innermost();
        }
        let cut = cut.index(bytes.len());
        if let Ok(decoded) = v6::Message::decode(&bytes[..cut]) {
            prop_assert_eq!(decoded.encode(), bytes[..cut].to_vec());
        }
    }

    #[test]
    fn v6_arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..400)) {
        if let Ok(m) = v6::Message::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
            let _ = m.validate();
        }
    }

    #[test]
    fn classless_routes_round_trip(routes in vec((any::<u32>(), 0u8..=32, addr4()), 1..8)) {
        // Only the significant octets of a destination travel; the rest must be zero.
        let routes: Vec<ClasslessRoute> = routes
            .into_iter()
            .map(|(dest, prefix_len, router)| {
                let mut octets = dest.to_be_bytes();
                octets[usize::from(prefix_len).div_ceil(8)..].fill(0);
                ClasslessRoute { destination: Ipv4Addr::from(octets), prefix_len, router }
            })
            .collect();
        let bytes = ClasslessRoute::list_to_bytes(&routes);
        prop_assert_eq!(ClasslessRoute::parse_list(&bytes), Ok(routes));
    }

    #[test]
    fn client_id_and_fqdn_round_trip(htype in 1u8..=254, addr in vec(any::<u8>(), 1..20), labels in vec("[a-z0-9]{1,12}", 0..4), absolute in any::<bool>(), flags in any::<u8>()) {
        let id = ClientId::Hardware { htype, addr };
        prop_assert_eq!(ClientId::parse(&id.to_bytes()), Ok(id));
        let name = DomainName::new(labels.into_iter().map(String::into_bytes).collect(), absolute).expect("valid name");
        let fqdn = ClientFqdn { flags: flags | ClientFqdn::FLAG_E, rcode1: 0, rcode2: 255, name: FqdnName::Wire(name.clone()) };
        prop_assert_eq!(ClientFqdn::parse(&fqdn.to_bytes()), Ok(fqdn));
        let v6fqdn = v6::Fqdn { flags, name };
        prop_assert_eq!(v6::Fqdn::parse(&v6fqdn.to_bytes()), Ok(v6fqdn));
    }
}
