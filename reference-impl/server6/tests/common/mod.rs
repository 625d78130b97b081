//! A DHCPv6 server in virtual time and crafted client messages for the core's tests.
#![allow(dead_code)]

use dhcplab_kea_config::dhcp6::{
    Dhcp6, ExpiredLeasesProcessing, Identifier6, InterfacesConfig6, LeaseDatabase, OptionData6,
    PdPool6, Pool6, Prefix6, Reservation6, ServerId, Subnet6, Timers, Timers6,
};
use dhcplab_server6::{Action, Datagram, Interface, Lease6, Server, Transmit};
use dhcplab_wire::v6::{ClientMessage, Ia, Message, MessageType, RelayMessage, StatusCode, code};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Virtual time zero of every test: 2027-01-15 08:00:00 UTC.
pub const T0: u64 = 1_800_000_000;

/// The time `secs` seconds after [`T0`].
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

/// An address from its text.
pub fn ip(s: &str) -> Ipv6Addr {
    s.parse().expect("test address")
}

/// The server's interface: index 1, `eth0`, fe80::1 and 2001:db8:1::1.
pub fn eth0() -> Interface {
    Interface {
        index: 1,
        name: "eth0".into(),
        link_local: ip("fe80::1"),
        addresses: vec![ip("2001:db8:1::1")],
    }
}

/// A prefix from `a/len`.
pub fn prefix(s: &str) -> Prefix6 {
    let (a, len) = s.split_once('/').expect("a/len");
    Prefix6 {
        network: ip(a),
        len: len.parse().expect("length"),
    }
}

/// Subnet 1: 2001:db8:1::/64 on eth0, addresses ::100 to ::1ff, prefixes /56 of
/// 2001:db8:8000::/48.
pub fn subnet1() -> Subnet6 {
    Subnet6 {
        id: 1,
        prefix: prefix("2001:db8:1::/64"),
        pools: vec![Pool6 {
            first: ip("2001:db8:1::100"),
            last: ip("2001:db8:1::1ff"),
            option_data: Vec::new(),
        }],
        pd_pools: vec![PdPool6 {
            prefix: prefix("2001:db8:8000::/48"),
            delegated_len: 56,
            option_data: Vec::new(),
        }],
        option_data: Vec::new(),
        reservations: Vec::new(),
        timers: Timers6::default(),
        rapid_commit: None,
        interface: Some("eth0".into()),
        interface_id: None,
        relays: Vec::new(),
    }
}

/// The base configuration: subnet 1, preferred 3000 s, valid 4000 s, T1 1000, T2 2000,
/// leases persisted, lease file cleanup off.
pub fn config() -> Dhcp6 {
    Dhcp6 {
        interfaces: InterfacesConfig6::default(),
        option_data: Vec::new(),
        timers: Timers6 {
            base: Timers {
                valid_lifetime: Some(4000),
                renew_timer: Some(1000),
                rebind_timer: Some(2000),
                ..Timers::default()
            },
            preferred_lifetime: Some(3000),
        },
        rapid_commit: false,
        subnets: vec![subnet1()],
        lease_database: LeaseDatabase {
            name: None,
            persist: true,
            lfc_interval: 0,
        },
        expired_leases: ExpiredLeasesProcessing::default(),
        decline_probation_period: 86400,
        control_socket: None,
        loggers: Vec::new(),
        hooks_libraries: Vec::new(),
        parked_packet_limit: 256,
        server_id: ServerId::default(),
        data_directory: None,
    }
}

/// One option-data entry.
pub fn option(code: u16, data: &[u8], always_send: bool) -> OptionData6 {
    OptionData6 {
        code,
        data: data.to_vec(),
        always_send,
    }
}

/// A reservation of `addresses` and `prefixes` for `identifier`.
pub fn reservation(
    identifier: Identifier6,
    addresses: &[&str],
    prefixes: &[&str],
    options: Vec<OptionData6>,
) -> Reservation6 {
    Reservation6 {
        identifier,
        addresses: addresses.iter().map(|a| ip(a)).collect(),
        prefixes: prefixes.iter().map(|p| prefix(p)).collect(),
        hostname: None,
        option_data: options,
    }
}

/// The server DUID file every test server starts with (DUID-LLT).
pub const SERVER_ID_FILE: &str = "00:01:00:01:2b:4c:5d:6e:02:00:5e:00:53:01\n";

/// The server DUID of [`SERVER_ID_FILE`].
pub fn server_duid() -> Vec<u8> {
    vec![0, 1, 0, 1, 0x2b, 0x4c, 0x5d, 0x6e, 2, 0, 0x5e, 0, 0x53, 1]
}

/// A server from `config` with `leases`, started at [`at`]`(0)`, serving [`eth0`].
pub fn server_with(config: Dhcp6, leases: Vec<Lease6>) -> Server {
    let mut s = Server::new(
        config,
        serde_json::json!({}),
        leases,
        Some(SERVER_ID_FILE),
        at(0),
    )
    .expect("server starts");
    s.attach(eth0());
    assert_eq!(s.poll_action(), None, "nothing to do at start");
    s
}

/// A server from `config`.
pub fn server(config: Dhcp6) -> Server {
    server_with(config, Vec::new())
}

/// Client `n`'s DUID: DUID-LL of hardware address 02:00:00:00:00:n.
pub fn duid(n: u8) -> Vec<u8> {
    vec![0, 3, 0, 1, 2, 0, 0, 0, 0, n]
}

/// IA_NA or IA_PD data: IAID, T1 and T2 0, and `inner` options.
pub fn ia(iaid: u32, inner: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut d = iaid.to_be_bytes().to_vec();
    d.extend_from_slice(&[0; 8]);
    for (c, data) in inner {
        d.extend_from_slice(&c.to_be_bytes());
        d.extend_from_slice(&(data.len() as u16).to_be_bytes());
        d.extend_from_slice(data);
    }
    d
}

/// IA Address option (5) with lifetimes 0.
pub fn iaaddr(a: &str) -> (u16, Vec<u8>) {
    let mut d = ip(a).octets().to_vec();
    d.extend_from_slice(&[0; 8]);
    (code::IA_ADDR, d)
}

/// IA Prefix option (26) with lifetimes 0.
pub fn iaprefix(p: &str) -> (u16, Vec<u8>) {
    let p = prefix(p);
    let mut d = vec![0; 8];
    d.push(p.len);
    d.extend_from_slice(&p.network.octets());
    (code::IA_PREFIX, d)
}

/// A client message of `t` from client `n` with `options` after its Client Identifier.
pub fn msg(t: MessageType, n: u8, options: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut m = ClientMessage::new(t, 0x00_1000 + u32::from(n));
    m.options.push(code::CLIENT_ID, &duid(n)).expect("fits");
    for (c, d) in options {
        m.options.push(*c, d).expect("fits");
    }
    Message::Client(m).encode()
}

/// The Server Identifier option of this server.
pub fn sid() -> (u16, Vec<u8>) {
    (code::SERVER_ID, server_duid())
}

/// One Relay-forw layer around `inner`.
pub fn relay(inner: &[u8], hop: u8, link: &str, peer: &str, options: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut r = RelayMessage {
        msg_type: MessageType::RELAY_FORW,
        hop_count: hop,
        link_address: ip(link),
        peer_address: ip(peer),
        options: dhcplab_wire::v6::Options::new(),
    };
    for (c, d) in options {
        r.options.push(*c, d).expect("fits");
    }
    r.options.push(code::RELAY_MSG, inner).expect("fits");
    Message::Relay(r).encode()
}

/// Client `n`'s link-local address.
pub fn client_ll(n: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(n))
}

/// Sends `payload` from `source` to `destination` on eth0 and returns every action.
pub fn deliver(
    s: &mut Server,
    now: SystemTime,
    source: SocketAddrV6,
    destination: Ipv6Addr,
    payload: &[u8],
) -> Vec<Action> {
    s.handle_datagram(
        now,
        Datagram {
            interface: 1,
            source,
            destination,
            payload,
        },
    );
    std::iter::from_fn(|| s.poll_action()).collect()
}

/// Sends client `n`'s `payload` by multicast and returns every action.
pub fn send(s: &mut Server, now: SystemTime, n: u8, payload: &[u8]) -> Vec<Action> {
    deliver(
        s,
        now,
        SocketAddrV6::new(client_ll(n), 546, 0, 0),
        dhcplab_server6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        payload,
    )
}

/// The datagrams among `actions`.
pub fn transmits(actions: &[Action]) -> Vec<Transmit> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Transmit(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// The lease rows among `actions`.
pub fn rows(actions: &[Action]) -> Vec<Lease6> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Persist(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

/// The one reply among `actions`, decoded.
pub fn reply(actions: &[Action]) -> Message {
    let t = transmits(actions);
    assert_eq!(t.len(), 1, "one datagram expected: {actions:?}");
    Message::decode(&t[0].payload).expect("the reply decodes")
}

/// Client `n`'s exchange: sends by multicast, returns the decoded reply, if any.
pub fn exchange(s: &mut Server, now: SystemTime, n: u8, payload: &[u8]) -> Option<Message> {
    let actions = send(s, now, n, payload);
    let t = transmits(&actions);
    assert!(t.len() <= 1, "at most one reply: {actions:?}");
    t.first()
        .map(|t| Message::decode(&t.payload).expect("the reply decodes"))
}

/// A reply's IA_NAs or IA_PDs.
pub fn ia_nas(m: &Message) -> Vec<Ia<'_>> {
    m.options().ia_na().expect("IA_NAs decode")
}

/// A reply's IA_PDs.
pub fn ia_pds(m: &Message) -> Vec<Ia<'_>> {
    m.options().ia_pd().expect("IA_PDs decode")
}

/// (address, preferred, valid) of an IA's addresses.
pub fn addresses(ia: &Ia<'_>) -> Vec<(Ipv6Addr, u32, u32)> {
    ia.options
        .ia_addresses()
        .expect("addresses decode")
        .iter()
        .map(|a| (a.addr, a.preferred, a.valid))
        .collect()
}

/// (prefix, length, preferred, valid) of an IA's prefixes.
pub fn prefixes(ia: &Ia<'_>) -> Vec<(Ipv6Addr, u8, u32, u32)> {
    ia.options
        .ia_prefixes()
        .expect("prefixes decode")
        .iter()
        .map(|p| (p.prefix, p.prefix_len, p.preferred, p.valid))
        .collect()
}

/// A status code as (code, text).
pub fn status(s: Option<StatusCode>) -> Option<(u16, String)> {
    s.map(|s| (s.code, String::from_utf8_lossy(&s.message).into_owned()))
}

/// Client `n` gets its IA_NA (IAID 1) with Solicit and Request; the address it got.
pub fn bind(s: &mut Server, now: SystemTime, n: u8) -> Ipv6Addr {
    let adv = exchange(
        s,
        now,
        n,
        &msg(MessageType::SOLICIT, n, &[(code::IA_NA, ia(1, &[]))]),
    )
    .expect("an Advertise");
    let a = addresses(&ia_nas(&adv)[0])[0].0;
    let rep = exchange(
        s,
        now,
        n,
        &msg(
            MessageType::REQUEST,
            n,
            &[sid(), (code::IA_NA, ia(1, &[iaaddr(&a.to_string())]))],
        ),
    )
    .expect("a Reply");
    assert_eq!(addresses(&ia_nas(&rep)[0])[0].0, a);
    a
}

/// The leases of a lease file made of Kea 2.2's header and `rows` (a row of lifetime 0
/// deletes, the last row of an address wins, as `dhcplab_memfile::load6` reads it).
pub fn lease_file(rows: &[String]) -> Vec<Lease6> {
    let text = std::iter::once(dhcplab_memfile::HEADER6.to_string())
        .chain(rows.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n");
    dhcplab_memfile::load6(&text)
        .expect("a lease file")
        .leases
        .into_values()
        .collect()
}
