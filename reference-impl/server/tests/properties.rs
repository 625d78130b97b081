//! Properties of the server under random client behaviour, in virtual time:
//! - no address is ever leased to two clients at once: whenever an ACK gives a client an
//!   address, no other client holds an unexpired ACK for it that it has not given back;
//! - every ACKed lease survives a restart: the rows the server asked to persist, loaded again
//!   as Kea's memfile, give a server that holds every lease a client was ACKed, with the same
//!   client and expiry.

mod common;

use common::*;
use dhcplab_memfile::{HEADER4, load4};
use dhcplab_wire::v4::MessageType;
use proptest::prelude::*;
use std::collections::HashMap;
use std::net::Ipv4Addr;

const SID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

#[derive(Debug, Clone)]
enum Step {
    Dora { client: u8, requested: Option<u8> },
    Select { client: u8, address: u8 },
    Reboot { client: u8, address: u8 },
    Renew { client: u8 },
    Release { client: u8 },
    Decline { client: u8 },
    Wait { secs: u16 },
    Reclaim,
}

fn step() -> impl Strategy<Value = Step> {
    let client = 1u8..12;
    let address = 95u8..110;
    prop_oneof![
        4 => (client.clone(), proptest::option::of(address.clone())).prop_map(|(client, requested)| Step::Dora { client, requested }),
        2 => (client.clone(), address.clone()).prop_map(|(client, address)| Step::Select { client, address }),
        2 => (client.clone(), address).prop_map(|(client, address)| Step::Reboot { client, address }),
        2 => client.clone().prop_map(|client| Step::Renew { client }),
        1 => client.clone().prop_map(|client| Step::Release { client }),
        1 => client.prop_map(|client| Step::Decline { client }),
        2 => (1u16..700).prop_map(|secs| Step::Wait { secs }),
        1 => Just(Step::Reclaim),
    ]
}

/// What each client believes it holds: address and expiry, from the ACKs it got.
type Held = HashMap<u8, (Ipv4Addr, u64)>;

fn client(n: u8) -> Client {
    // Half the clients identify by client-id, so both lookups are exercised.
    if n % 2 == 0 {
        Client::new(n).with_client_id()
    } else {
        Client::new(n)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_address_is_leased_to_two_clients_and_acks_survive_restart(steps in proptest::collection::vec(step(), 1..80)) {
        let pool = "192.0.2.100 - 192.0.2.105";
        let text = config(pool, r#""valid-lifetime": 600, "reservations": [ { "hw-address": "02:00:00:00:00:03", "ip-address": "192.0.2.104" } ]"#,
            r#""expired-leases-processing": { "reclaim-timer-wait-time": 0, "flush-reclaimed-timer-wait-time": 0 }"#);
        let mut s = server(&text);
        let mut now = 0u64;
        let mut held: Held = HashMap::new();
        let mut file = format!("{HEADER4}\n");
        for st in steps {
            let (n, msg) = match &st {
                Step::Dora { client: n, requested } => {
                    let c = client(*n);
                    let d = match requested { Some(a) => c.discover_requesting(Ipv4Addr::new(192, 0, 2, *a)), None => c.discover() };
                    let out = send(&mut s, at(now), &d);
                    prop_assert!(out.rows.is_empty());
                    let Some((_, o)) = out.sent.first() else { continue };
                    (*n, c.select(o.yiaddr, SID))
                }
                Step::Select { client: n, address } => (*n, client(*n).select(Ipv4Addr::new(192, 0, 2, *address), SID)),
                Step::Reboot { client: n, address } => (*n, client(*n).reboot(Ipv4Addr::new(192, 0, 2, *address))),
                Step::Renew { client: n } => match held.get(n) {
                    Some((a, _)) => (*n, client(*n).renew(*a)),
                    None => continue,
                },
                Step::Release { client: n } => {
                    if let Some((a, _)) = held.remove(n) {
                        let out = send(&mut s, at(now), &client(*n).release(a, SID));
                        for r in &out.rows { file.push_str(&r.to_row()); file.push('\n'); }
                    }
                    continue;
                }
                Step::Decline { client: n } => {
                    if let Some((a, _)) = held.remove(n) {
                        let out = send(&mut s, at(now), &client(*n).decline(a, SID));
                        for r in &out.rows { file.push_str(&r.to_row()); file.push('\n'); }
                    }
                    continue;
                }
                Step::Wait { secs } => { now += u64::from(*secs); continue; }
                Step::Reclaim => {
                    s.handle_command(at(now), r#"{"command": "leases-reclaim", "arguments": {"remove": false}}"#);
                    let out = drain(&mut s);
                    for r in &out.rows { file.push_str(&r.to_row()); file.push('\n'); }
                    continue;
                }
            };
            let out = send(&mut s, at(now), &msg);
            for r in &out.rows { file.push_str(&r.to_row()); file.push('\n'); }
            if let Some((_, reply)) = out.sent.first() {
                if reply.message_type() == Ok(Some(MessageType::Ack)) {
                    let a = reply.yiaddr;
                    let expire = (T0 + now) + 600;
                    for (other, (b, e)) in &held {
                        prop_assert!(!(*other != n && *b == a && *e >= T0 + now),
                            "{a} ACKed to client {n} while client {other} holds it until {e} (now {})", T0 + now);
                    }
                    held.insert(n, (a, expire));
                } else if reply.message_type() == Ok(Some(MessageType::Nak)) {
                    held.remove(&n);
                }
            }
        }
        // Restart: load the rows as a lease file and build a new server from them.
        let load = load4(&file).expect("the server's rows form a lease file");
        prop_assert!(load.errors.is_empty(), "{:?}", load.errors);
        let again = server_with(&text, load.leases.into_values().collect(), at(now));
        for (n, (a, e)) in &held {
            if *e < T0 + now { continue; }
            let l = again.lease(*a);
            prop_assert!(l.is_some(), "client {n}'s lease of {a} lost in the restart");
            let l = l.expect("checked");
            prop_assert_eq!(l.expire, *e);
            prop_assert_eq!(&l.hwaddr, &client(*n).mac.to_vec());
        }
        prop_assert_eq!(again.leases(), s.leases());
    }
}

proptest! {
    /// Any bytes, and real client messages with bytes changed or cut, are answered or dropped
    /// and counted; nothing panics.
    #[test]
    fn any_datagram_is_handled(noise in proptest::collection::vec(any::<u8>(), 0..600),
                               flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..8),
                               cut in 0usize..400) {
        let mut s = server(&config("192.0.2.100 - 192.0.2.103", "", ""));
        let c = Client::new(1).with_client_id();
        let mut packets = vec![noise];
        for m in [c.discover(), c.select(Ipv4Addr::new(192, 0, 2, 100), SID), c.renew(Ipv4Addr::new(192, 0, 2, 100)), c.inform(Ipv4Addr::new(192, 0, 2, 9))] {
            let mut b = m.encode();
            for (at, v) in &flips {
                if let Some(x) = b.get_mut(*at) { *x = *v; }
            }
            packets.push(b.clone());
            b.truncate(cut);
            packets.push(b);
        }
        for p in &packets {
            s.handle_datagram(at(0), dhcplab_server::Datagram {
                interface: 1,
                source: std::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
                destination: Ipv4Addr::BROADCAST,
                payload: p,
            });
            let out = drain(&mut s);
            for (t, _) in &out.sent {
                prop_assert_eq!(t.source.port(), 67);
            }
        }
        prop_assert_eq!(s.stats().get(dhcplab_server::stats::Counter::Received), packets.len() as i64);
    }
}
