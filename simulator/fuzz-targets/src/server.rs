//! The server cores' targets: a server with a small fixed configuration receives the input's
//! datagrams, its actions are drained after each, and its timers fire as the control bytes
//! say. Every datagram it sends must decode.
//!
//! Control byte of a record: bits 0-1 the source (a client without an address, a client with
//! one, a relay, the server's own address), bit 2 the destination (broadcast or multicast, or
//! the server's unicast address), bit 3 the interface (the served one or a second one with no
//! subnet), bits 4-5 how many timers fire after it, bit 6 a jump of one lease time first.

use crate::input::records;
use dhcplab_server::{Datagram, Interface, Server};
use dhcplab_server6::{Datagram as Datagram6, Interface as Interface6, Server as Server6};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Virtual time zero of every run: 2027-01-15 08:00:00 UTC.
pub(crate) fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// The longest a timer jump goes: ten days, so a far deadline cannot overflow the clock.
pub(crate) const MAX_JUMP: Duration = Duration::from_secs(10 * 86_400);

/// The jump bit 6 of a control byte asks for: the configured lease time.
const LEASE_JUMP: Duration = Duration::from_secs(60);

/// Moves `now` to `next` (never back, never more than [`MAX_JUMP`] ahead); false when no
/// timer is armed.
pub(crate) fn advance(now: &mut SystemTime, next: Option<SystemTime>) -> bool {
    let Some(next) = next else {
        return false;
    };
    if next > *now {
        *now = next.min(*now + MAX_JUMP);
    }
    true
}

const CONFIG4: &str = r#"{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "eth0" ] },
    "valid-lifetime": 60, "renew-timer": 20, "rebind-timer": 40,
    "expired-leases-processing": { "reclaim-timer-wait-time": 5, "hold-reclaimed-time": 30,
        "flush-reclaimed-timer-wait-time": 10 },
    "lease-database": { "type": "memfile", "name": "/nonexistent/leases4.csv", "lfc-interval": 0 },
    "option-data": [ { "name": "domain-name", "data": "example.com" } ],
    "subnet4": [
      { "id": 1, "subnet": "192.0.2.0/24", "interface": "eth0",
        "pools": [ { "pool": "192.0.2.100 - 192.0.2.103" } ],
        "option-data": [ { "name": "routers", "data": "192.0.2.1" },
                         { "name": "domain-name-servers", "data": "192.0.2.53" } ],
        "reservations": [ { "hw-address": "02:00:5e:00:53:01", "ip-address": "192.0.2.20",
                            "hostname": "reserved" } ] },
      { "id": 2, "subnet": "198.51.100.0/24",
        "relay": { "ip-addresses": [ "198.51.100.1" ] },
        "pools": [ { "pool": "198.51.100.10 - 198.51.100.11" } ] } ]
} }"#;

const CONFIG6: &str = r#"{ "Dhcp6": {
    "interfaces-config": { "interfaces": [ "eth0" ] },
    "preferred-lifetime": 40, "valid-lifetime": 60, "renew-timer": 20, "rebind-timer": 32,
    "expired-leases-processing": { "reclaim-timer-wait-time": 5, "hold-reclaimed-time": 30,
        "flush-reclaimed-timer-wait-time": 10 },
    "lease-database": { "type": "memfile", "persist": true, "lfc-interval": 0 },
    "option-data": [ { "name": "dns-servers", "data": "2001:db8::53" } ],
    "subnet6": [
      { "id": 1, "subnet": "2001:db8:1::/64", "interface": "eth0",
        "pools": [ { "pool": "2001:db8:1::100 - 2001:db8:1::103" } ],
        "pd-pools": [ { "prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 50 } ],
        "reservations": [ { "duid": "00:03:00:01:02:00:5e:10:00:01",
                            "ip-addresses": [ "2001:db8:1::20" ] } ] },
      { "id": 2, "subnet": "2001:db8:2::/64",
        "relay": { "ip-addresses": [ "2001:db8:2::1" ] },
        "pools": [ { "pool": "2001:db8:2::10 - 2001:db8:2::11" } ] } ]
} }"#;

/// The server DUID file every run starts with, so the server writes none.
const SERVER_ID_FILE: &str = "00:01:00:01:2b:4c:5d:6e:02:00:5e:00:53:01\n";

const SERVER4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// A fresh v4 server serving `eth0` (index 1, 192.0.2.1) and `eth1` (index 2, no subnet).
fn server4_core() -> Option<Server> {
    static PARSED: OnceLock<Option<(dhcplab_kea_config::dhcp4::Dhcp4, serde_json::Value)>> =
        OnceLock::new();
    let (config, json) = PARSED
        .get_or_init(|| dhcplab_kea_config::dhcp4::parse_document(CONFIG4).ok())
        .clone()?;
    let mut s = Server::new(config, json, Vec::new(), t0()).ok()?;
    s.attach(Interface {
        index: 1,
        name: "eth0".into(),
        address: SERVER4,
        direct_response: true,
    });
    s.attach(Interface {
        index: 2,
        name: "eth1".into(),
        address: Ipv4Addr::new(203, 0, 113, 1),
        direct_response: false,
    });
    Some(s)
}

/// A fresh v6 server serving `eth0` (index 1) and `eth1` (index 2, no subnet).
fn server6_core() -> Option<Server6> {
    static PARSED: OnceLock<Option<(dhcplab_kea_config::dhcp6::Dhcp6, serde_json::Value)>> =
        OnceLock::new();
    let (config, json) = PARSED
        .get_or_init(|| dhcplab_kea_config::dhcp6::parse_document(CONFIG6).ok())
        .clone()?;
    let mut s = Server6::new(config, json, Vec::new(), Some(SERVER_ID_FILE), t0()).ok()?;
    s.attach(Interface6 {
        index: 1,
        name: "eth0".into(),
        link_local: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
        addresses: vec![SERVER6],
    });
    s.attach(Interface6 {
        index: 2,
        name: "eth1".into(),
        link_local: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2),
        addresses: vec![Ipv6Addr::new(0x2001, 0xdb8, 3, 0, 0, 0, 0, 1)],
    });
    Some(s)
}

/// Takes every action of a v4 server; every datagram it sends must decode.
fn drain4(s: &mut Server) {
    while let Some(a) = s.poll_action() {
        if let dhcplab_server::Action::Transmit(t) = a {
            assert!(
                dhcplab_wire::v4::Message::decode(&t.payload).is_ok(),
                "server4 sent a datagram that does not decode: {:02x?}",
                t.payload
            );
        }
    }
}

/// Takes every action of a v6 server; every datagram it sends must decode.
fn drain6(s: &mut Server6) {
    while let Some(a) = s.poll_action() {
        if let dhcplab_server6::Action::Transmit(t) = a {
            assert!(
                dhcplab_wire::v6::Message::decode(&t.payload).is_ok(),
                "server6 sent a datagram that does not decode: {:02x?}",
                t.payload
            );
        }
    }
}

/// The v4 server core given the input's datagrams (see the module's control byte).
pub fn server4(data: &[u8]) {
    let Some(mut s) = server4_core() else {
        return;
    };
    let mut now = t0();
    drain4(&mut s);
    let (_, recs) = records(data);
    for r in recs {
        let c = r.control;
        if c & 0x40 != 0 {
            now += LEASE_JUMP;
            s.handle_timeout(now);
            drain4(&mut s);
        }
        let source = match c & 3 {
            0 => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            1 => SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 100), 68),
            2 => SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 1), 67),
            _ => SocketAddrV4::new(SERVER4, 68),
        };
        let destination = if c & 4 == 0 {
            Ipv4Addr::BROADCAST
        } else {
            SERVER4
        };
        s.handle_datagram(
            now,
            Datagram {
                interface: if c & 8 == 0 { 1 } else { 2 },
                source,
                destination,
                payload: r.payload,
            },
        );
        drain4(&mut s);
        for _ in 0..(c >> 4) & 3 {
            if !advance(&mut now, s.poll_timeout()) {
                break;
            }
            s.handle_timeout(now);
            drain4(&mut s);
        }
    }
    for _ in 0..3 {
        if !advance(&mut now, s.poll_timeout()) {
            break;
        }
        s.handle_timeout(now);
        drain4(&mut s);
    }
}

/// The v6 server core given the input's datagrams (see the module's control byte).
pub fn server6(data: &[u8]) {
    let Some(mut s) = server6_core() else {
        return;
    };
    let mut now = t0();
    drain6(&mut s);
    let (_, recs) = records(data);
    for r in recs {
        let c = r.control;
        if c & 0x40 != 0 {
            now += LEASE_JUMP;
            s.handle_timeout(now);
            drain6(&mut s);
        }
        let source = match c & 3 {
            0 => SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100), 546, 0, 1),
            1 => SocketAddrV6::new(
                Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x100),
                546,
                0,
                0,
            ),
            2 => SocketAddrV6::new(Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1), 547, 0, 0),
            _ => SocketAddrV6::new(SERVER6, 546, 0, 0),
        };
        let destination = if c & 4 == 0 { ALL_SERVERS } else { SERVER6 };
        s.handle_datagram(
            now,
            Datagram6 {
                interface: if c & 8 == 0 { 1 } else { 2 },
                source,
                destination,
                payload: r.payload,
            },
        );
        drain6(&mut s);
        for _ in 0..(c >> 4) & 3 {
            if !advance(&mut now, s.poll_timeout()) {
                break;
            }
            s.handle_timeout(now);
            drain6(&mut s);
        }
    }
    for _ in 0..3 {
        if !advance(&mut now, s.poll_timeout()) {
            break;
        }
        s.handle_timeout(now);
        drain6(&mut s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_configurations_make_servers() {
        if let Err(e) = dhcplab_kea_config::dhcp4::parse_document(CONFIG4) {
            panic!("{e:?}");
        }
        if let Err(e) = dhcplab_kea_config::dhcp6::parse_document(CONFIG6) {
            panic!("{e:?}");
        }
        assert!(server4_core().is_some(), "CONFIG4 must build a server");
        assert!(server6_core().is_some(), "CONFIG6 must build a server");
    }
}
