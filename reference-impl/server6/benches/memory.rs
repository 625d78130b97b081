//! Memory per lease of the DHCPv6 server core at up to 1,000,000 IA_NA leases: heap bytes the
//! server holds per lease after N clients (distinct DUIDs) each complete a Solicit/Request
//! exchange through `handle_datagram`, and resident memory per lease (what the process holds
//! from the system, allocator overhead included), at 125k, 250k, 500k and 1M leases of one
//! server.
//!
//! `cargo bench -p dhcplab-server6 --bench memory`. The pool is 2001:db8::1:0 to
//! 2001:db8::ffff:ffff in 2001:db8::/64 (RFC 3849's documentation prefix), large enough for
//! a million addresses; the DHCPv4 server cannot hold a million leases inside the project's
//! address ranges (198.18.0.0/15 is 131,072 addresses), the DHCPv6 one can.
//!
//! Three modes, by the argument after `--`:
//! - none: heap bytes held as dhat counts them (bytes asked for and not yet freed) and
//!   resident bytes; dhat keeps a record of every live block, so the resident figure then
//!   includes dhat's own table (tens of bytes per live block) and overstates the server's;
//! - `rss`: no profiler, so resident bytes are the server's alone (and the run is fast);
//! - `profile`: dhat's full heap profile up to the first step, written to `dhat-heap.json`
//!   for dhat's viewer: where the bytes go.

use dhcplab_server6::{ALL_DHCP_RELAY_AGENTS_AND_SERVERS, Action, Datagram, Interface, Server};
use dhcplab_wire::v6::{ClientMessage, Message, MessageType, code};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::time::{Duration, Instant, UNIX_EPOCH};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Heap bytes in use now, as dhat counts them (0 when no profiler runs).
fn heap(counting: bool) -> u64 {
    if counting {
        dhat::HeapStats::get().curr_bytes as u64
    } else {
        0
    }
}

/// Resident set size of the process, from /proc/self/statm, in bytes.
fn rss() -> i64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| {
            t.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<i64>().ok())
        })
        .unwrap_or(0);
    pages * 4096
}

const CONFIG: &str = r#"{ "Dhcp6": {
    "interfaces-config": { "interfaces": [ "eth0" ] },
    "lease-database": { "type": "memfile", "persist": true, "lfc-interval": 0 },
    "preferred-lifetime": 3000, "valid-lifetime": 4000,
    "renew-timer": 1000, "rebind-timer": 2000,
    "subnet6": [ { "id": 1, "subnet": "2001:db8::/64", "interface": "eth0",
        "pools": [ { "pool": "2001:db8::1:0 - 2001:db8::ffff:ffff" } ] } ] } }"#;

/// The server DUID file the server starts with (DUID-LLT), so it writes none.
const SERVER_ID_FILE: &str = "00:01:00:01:2b:4c:5d:6e:02:00:5e:00:53:01\n";

/// Client `n`'s message of `t`: DUID-LL of hardware address 02:00 and `n`, then `options`.
fn message(t: MessageType, n: u32, options: &[(u16, &[u8])]) -> Vec<u8> {
    let b = n.to_be_bytes();
    let mut m = ClientMessage::new(t, n & 0x00ff_ffff);
    let _ = m
        .options
        .push(code::CLIENT_ID, &[0, 3, 0, 1, 2, 0, b[0], b[1], b[2], b[3]]);
    for (c, d) in options {
        let _ = m.options.push(*c, d);
    }
    Message::Client(m).encode()
}

/// IA_NA data: IAID 1, T1 and T2 0, then an IA Address option for `address` when given.
fn ia_na(address: Option<Ipv6Addr>) -> Vec<u8> {
    let mut d = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    if let Some(a) = address {
        d.extend_from_slice(&code::IA_ADDR.to_be_bytes());
        d.extend_from_slice(&24u16.to_be_bytes());
        d.extend_from_slice(&a.octets());
        d.extend_from_slice(&[0; 8]);
    }
    d
}

/// Client `n`'s `payload` by multicast from its link-local address; the address of the
/// reply's first IA_NA, if any.
fn exchange(s: &mut Server, n: u32, payload: &[u8]) -> Option<Ipv6Addr> {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let ll = Ipv6Addr::from((0xfe80u128 << 112) | u128::from(n));
    s.handle_datagram(
        now,
        Datagram {
            interface: 1,
            source: SocketAddrV6::new(ll, 546, 0, 0),
            destination: ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            payload,
        },
    );
    let mut got = None;
    while let Some(a) = s.poll_action() {
        if let Action::Transmit(t) = a {
            got = Message::decode(&t.payload).ok().and_then(|m| {
                let ias = m.options().ia_na().ok()?;
                let first = ias.first()?;
                let addresses = first.options.ia_addresses().ok()?;
                addresses.first().map(|a| a.addr)
            });
        }
    }
    got
}

/// Client `n` gets an IA_NA lease by Solicit and Request.
fn bind(s: &mut Server, n: u32, server_id: &[u8]) {
    let solicit = message(MessageType::SOLICIT, n, &[(code::IA_NA, &ia_na(None))]);
    let offered = exchange(s, n, &solicit).unwrap_or_else(|| panic!("no Advertise for {n}"));
    let request = message(
        MessageType::REQUEST,
        n,
        &[
            (code::SERVER_ID, server_id),
            (code::IA_NA, &ia_na(Some(offered))),
        ],
    );
    let got = exchange(s, n, &request);
    assert_eq!(got, Some(offered), "client {n} got what it was offered");
}

fn main() {
    let mode = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let (profiler, steps): (Option<dhat::Profiler>, &[u32]) = match mode.as_deref() {
        Some("rss") => (None, &[125_000, 250_000, 500_000, 1_000_000]),
        Some("profile") => (Some(dhat::Profiler::new_heap()), &[125_000]),
        _ => (
            Some(dhat::Profiler::builder().testing().build()),
            &[125_000, 250_000, 500_000, 1_000_000],
        ),
    };
    let counting = profiler.is_some();
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let (config, json) = dhcplab_kea_config::dhcp6::parse_document(CONFIG).expect("config");
    let mut s =
        Server::new(config, json, Vec::new(), Some(SERVER_ID_FILE), now).expect("server starts");
    s.attach(Interface {
        index: 1,
        name: "eth0".into(),
        link_local: "fe80::1".parse().expect("an address"),
        addresses: vec!["2001:db8::1".parse().expect("an address")],
    });
    while s.poll_action().is_some() {}
    let server_id = s.server_duid().to_vec();
    let (empty, empty_rss) = (heap(counting), rss());
    println!(
        "| leases | heap bytes held | heap bytes per lease | resident bytes per lease | seconds to make them |"
    );
    println!("|---|---|---|---|---|");
    let started = Instant::now();
    let mut made = 0u32;
    for &n in steps {
        while made < n {
            bind(&mut s, made, &server_id);
            made += 1;
        }
        assert_eq!(s.lease_count(), n as usize);
        let held = heap(counting) - empty;
        let resident = rss() - empty_rss;
        let per_lease = if counting {
            format!("{:.1}", held as f64 / f64::from(n))
        } else {
            "not counted".to_string()
        };
        println!(
            "| {n} | {held} | {per_lease} | {:.1} | {:.1} |",
            resident as f64 / f64::from(n),
            started.elapsed().as_secs_f64()
        );
    }
    drop(profiler);
}
