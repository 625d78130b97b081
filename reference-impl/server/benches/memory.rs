//! Memory per lease: heap bytes the server holds per lease after N clients each complete a
//! DISCOVER/REQUEST exchange through `handle_datagram`, measured with a counting allocator
//! (dhat's count of bytes asked for) and as resident memory (what the process holds from the
//! system, allocator overhead included).
//!
//! `cargo bench -p dhcplab-server --bench memory`. The pool is the whole of 198.18.0.0/15
//! (RFC 2544's benchmarking range, 131,072 addresses): the largest the project's address
//! rules allow, so 1M leases are not measured but extrapolated from the per-lease cost at
//! 16k to 131k leases.

use dhcplab_server::{Datagram, Interface, Server};
use dhcplab_wire::v4::{Message, MessageType, code};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, UNIX_EPOCH};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Heap bytes in use now, as dhat counts them.
fn heap() -> u64 {
    dhat::HeapStats::get().curr_bytes as u64
}

/// Resident set size of the process, from /proc/self/statm, in bytes.
fn rss() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| {
            t.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .unwrap_or(0);
    pages * 4096
}

const CONFIG: &str = r#"{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "eth0" ] },
    "lease-database": { "type": "memfile", "persist": true, "lfc-interval": 0 },
    "valid-lifetime": 3600,
    "subnet4": [ { "id": 1, "subnet": "198.18.0.0/15",
        "pools": [ { "pool": "198.18.0.1 - 198.19.255.254" } ],
        "option-data": [ { "name": "routers", "data": "198.18.0.1" } ] } ] } }"#;

fn message(kind: MessageType, n: u32, extra: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let b = n.to_be_bytes();
    let mac = [0x02, 0x00, b[0], b[1], b[2], b[3]];
    let mut m = Message::new(Message::BOOTREQUEST, n, mac);
    m.giaddr = Ipv4Addr::new(198, 18, 0, 2);
    let _ = m.options.push(code::MESSAGE_TYPE, &[u8::from(kind)]);
    // A client identifier as most clients send it: type 1 and the MAC.
    let mut cid = vec![1];
    cid.extend_from_slice(&mac);
    let _ = m.options.push(code::CLIENT_ID, &cid);
    for (c, d) in extra {
        let _ = m.options.push(*c, d);
    }
    m.encode()
}

fn main() {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let _profiler = dhat::Profiler::builder().testing().build();
    println!("| leases | heap bytes held | heap bytes per lease | resident bytes per lease |");
    println!("|---|---|---|---|");
    for n in [16_384u32, 32_768, 65_536, 131_070] {
        let (config, json) = dhcplab_kea_config::dhcp4::parse_document(CONFIG).expect("config");
        let mut s = Server::new(config, json, Vec::new(), now).expect("server starts");
        s.attach(Interface {
            index: 1,
            name: "eth0".into(),
            address: Ipv4Addr::new(198, 18, 0, 1),
            direct_response: true,
        });
        let (empty, empty_rss) = (heap(), rss());
        let relay = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 67);
        for i in 0..n {
            let d = message(MessageType::Discover, i, &[]);
            s.handle_datagram(
                now,
                Datagram {
                    interface: 1,
                    source: relay,
                    destination: Ipv4Addr::new(198, 18, 0, 1),
                    payload: &d,
                },
            );
            let mut offered = None;
            while let Some(a) = s.poll_action() {
                if let dhcplab_server::Action::Transmit(t) = a {
                    offered = Message::decode(&t.payload).ok().map(|m| m.yiaddr);
                }
            }
            let Some(addr) = offered else {
                panic!("no offer for client {i}")
            };
            let r = message(
                MessageType::Request,
                i,
                &[
                    (code::REQUESTED_IP, addr.octets().to_vec()),
                    (code::SERVER_ID, vec![198, 18, 0, 1]),
                ],
            );
            s.handle_datagram(
                now,
                Datagram {
                    interface: 1,
                    source: relay,
                    destination: Ipv4Addr::new(198, 18, 0, 1),
                    payload: &r,
                },
            );
            while s.poll_action().is_some() {}
        }
        assert_eq!(s.lease_count(), n as usize);
        let held = heap() - empty;
        let resident = rss().saturating_sub(empty_rss);
        println!(
            "| {n} | {held} | {:.1} | {:.1} |",
            held as f64 / f64::from(n),
            resident as f64 / f64::from(n)
        );
    }
}
