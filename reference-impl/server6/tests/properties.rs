//! Properties over arbitrary input: no datagram makes the server panic, and an address or a
//! prefix is never leased to two clients at once, whatever the clients do.

mod common;

use common::*;
use dhcplab_wire::v6::{MessageType, code};
use proptest::prelude::*;
use std::collections::HashMap;
use std::net::{Ipv6Addr, SocketAddrV6};

/// A small configuration: 4 addresses, 4 prefixes /58 of a /56, short lifetimes.
fn small() -> dhcplab_kea_config::dhcp6::Dhcp6 {
    let mut cfg = config();
    cfg.subnets[0].pools[0].last = ip("2001:db8:1::103");
    cfg.subnets[0].pd_pools[0].prefix = prefix("2001:db8:8000::/56");
    cfg.subnets[0].pd_pools[0].delegated_len = 58;
    cfg.timers.base.valid_lifetime = Some(300);
    cfg.timers.preferred_lifetime = Some(200);
    cfg.timers.base.renew_timer = Some(100);
    cfg.timers.base.rebind_timer = Some(150);
    cfg.expired_leases.reclaim_timer_wait_time = 7;
    cfg.decline_probation_period = 50;
    cfg.subnets[0].rapid_commit = Some(true);
    cfg
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_datagrams_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..300),
                                       relayed in any::<bool>(), unicast in any::<bool>()) {
        let mut s = server(small());
        let bytes = if relayed {
            relay(&payload, 0, "2001:db8:1::ff", "fe80::9", &[(code::INTERFACE_ID, vec![1])])
        } else {
            payload
        };
        let dest = if unicast { ip("2001:db8:1::1") } else { dhcplab_server6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS };
        let _ = deliver(&mut s, at(0), SocketAddrV6::new(ip("fe80::9"), 546, 0, 0), dest, &bytes);
        s.handle_timeout(at(1000));
        while s.poll_action().is_some() {}
    }

    #[test]
    fn mutated_client_messages_never_panic(flip in proptest::collection::vec((0usize..200, any::<u8>()), 1..6),
                                           t in 1u8..14) {
        let mut s = server(small());
        let mut bytes = msg(MessageType(t), 1, &[
            sid(),
            (code::IA_NA, ia(1, &[iaaddr("2001:db8:1::100")])),
            (code::IA_PD, ia(2, &[iaprefix("2001:db8:8000::/58")])),
            (code::ORO, vec![0, 23]),
        ]);
        for (at_, b) in flip {
            let n = bytes.len();
            bytes[at_ % n] = b;
        }
        let _ = send(&mut s, at(0), 1, &bytes);
    }

    #[test]
    fn a_resource_is_never_leased_to_two_clients_at_once(
        steps in proptest::collection::vec((0u8..7, 1u8..6, 1u32..3, 0u8..6, 0u64..120), 1..60)
    ) {
        let mut s = server(small());
        let mut now = 0u64;
        // Resource -> (client, valid until), from Replies that gave it.
        let mut holders: HashMap<(u16, Ipv6Addr), (u8, u64)> = HashMap::new();
        for (op, n, iaid, hint, wait) in steps {
            now += wait;
            s.handle_timeout(at(now));
            while s.poll_action().is_some() {}
            let hint_addr = format!("2001:db8:1::{:x}", 0x100 + u16::from(hint));
            let hint_pfx = format!("2001:db8:8000:{:x}::/58", u16::from(hint) * 0x40);
            let ias = [
                (code::IA_NA, ia(iaid, &[iaaddr(&hint_addr)])),
                (code::IA_PD, ia(iaid, &[iaprefix(&hint_pfx)])),
            ];
            let (t, with_sid) = match op {
                0 => (MessageType::SOLICIT, false),
                1 => (MessageType::REQUEST, true),
                2 => (MessageType::RENEW, true),
                3 => (MessageType::REBIND, false),
                4 => (MessageType::RELEASE, true),
                5 => (MessageType::DECLINE, true),
                _ => (MessageType::SOLICIT, false),
            };
            let mut options = ias.to_vec();
            if with_sid {
                options.push(sid());
            }
            if op == 6 {
                options.push((code::RAPID_COMMIT, vec![]));
            }
            let Some(m) = exchange(&mut s, at(now), n, &msg(t, n, &options)) else { continue };
            if m.msg_type() != MessageType::REPLY {
                continue;
            }
            if matches!(op, 4 | 5) {
                // What the client gave back (with Success) is no longer its own.
                for i in ia_nas(&m) {
                    if i.options.status_code().ok().flatten().is_some_and(|c| c.code == 0) {
                        holders.retain(|(c, a), (h, _)| !(*c == code::IA_NA && *h == n && a.to_string() == hint_addr));
                    }
                }
                for i in ia_pds(&m) {
                    if i.options.status_code().ok().flatten().is_some_and(|c| c.code == 0) {
                        holders.retain(|(c, _), (h, _)| !(*c == code::IA_PD && *h == n));
                    }
                }
                continue;
            }
            let mut given: Vec<(u16, Ipv6Addr, u32)> = Vec::new();
            for i in ia_nas(&m) {
                given.extend(addresses(&i).into_iter().filter(|a| a.2 > 0).map(|a| (code::IA_NA, a.0, a.2)));
            }
            for i in ia_pds(&m) {
                given.extend(prefixes(&i).into_iter().filter(|p| p.3 > 0).map(|p| (code::IA_PD, p.0, p.3)));
            }
            for (c, a, valid) in given {
                if let Some((h, until)) = holders.get(&(c, a)) {
                    prop_assert!(*h == n || *until < now,
                        "{a} given to client {n} at {now} while client {h} holds it until {until}");
                }
                holders.insert((c, a), (n, now + u64::from(valid)));
            }
        }
        // The store agrees: one lease per resource, and it belongs to whom the replies said.
        for l in s.leases().into_iter().filter(|l| l.state == 0 && l.expire >= common::T0 + now) {
            let c = if l.lease_type == dhcplab_server6::LeaseType::Pd { code::IA_PD } else { code::IA_NA };
            if let Some((h, _)) = holders.get(&(c, l.address)) {
                prop_assert_eq!(&l.duid, &duid(*h));
            }
        }
    }
}
