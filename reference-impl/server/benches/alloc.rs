//! The allocation engine in a large pool: a new client's address when the pool is empty,
//! half full and 99% full, and the renewal of an existing lease, through the server core as
//! the daemon drives it (`handle_datagram`, then `poll_action` until empty), with the
//! allocator's own primitive (the lease store's occupancy bitmap, `LeaseStore::first_free`)
//! measured beside it in the same run, so its share of an exchange is visible.
//!
//! `cargo bench -p dhcplab-server --bench alloc`. The pool is the whole of 198.18.0.0/15
//! (RFC 2544's benchmarking range): 198.18.0.1 to 198.19.255.254, 131,070 addresses. A pool
//! is filled by DISCOVER/REQUEST exchanges (so the iterative allocator fills it in order),
//! then every second address (half full) or every hundredth (99% full) is released: the free
//! addresses are scattered over the whole pool, as they are on a server that has run for a
//! while. Leases are persisted (`persist: true`), so every committed lease is also a
//! `Persist` action, as in the daemon.
//!
//! Cases, each at the three fill levels:
//! - `discover`: a new client's DISCOVER and the OFFER (Kea 2.2 keeps no lease for an offer;
//!   the allocator's cursor moves on);
//! - `dora`: a new client's DISCOVER, REQUEST (the lease is committed) and RELEASE (so the
//!   pool stays at its fill level);
//! - `renew`: a bound client's REQUEST with `ciaddr` (RENEWING), which extends its lease;
//! - `first_free`: the store alone, finding the next free address after a moving cursor
//!   (wrapping at the pool's end) as the iterative allocator does.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dhcplab_server::store::LeaseStore;
use dhcplab_server::{Action, Datagram, Interface, Lease4, Server};
use dhcplab_wire::v4::{Message, MessageType, code};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CONFIG: &str = r#"{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "eth0" ] },
    "lease-database": { "type": "memfile", "persist": true, "lfc-interval": 0 },
    "valid-lifetime": 3600,
    "subnet4": [ { "id": 1, "subnet": "198.18.0.0/15",
        "pools": [ { "pool": "198.18.0.1 - 198.19.255.254" } ],
        "option-data": [ { "name": "routers", "data": "198.18.0.1" } ] } ] } }"#;

const FIRST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const LAST: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 254);
const POOL: u32 = 131_070;
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const RELAY: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// The fill levels: a name and "release one address in `k`" (`None`: the pool stays empty).
const LEVELS: [(&str, Option<u32>); 3] = [("empty", None), ("half", Some(2)), ("99pct", Some(100))];

fn mac(n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0x02, 0x00, b[0], b[1], b[2], b[3]]
}

/// Client `n`'s message of `kind`, relayed from 198.18.0.2, with a client identifier (type 1
/// and the MAC) as most clients send it.
fn message(kind: MessageType, n: u32, ciaddr: Ipv4Addr, extra: &[(u8, [u8; 4])]) -> Vec<u8> {
    let mut m = Message::new(Message::BOOTREQUEST, n, mac(n));
    m.giaddr = RELAY;
    m.ciaddr = ciaddr;
    let _ = m.options.push(code::MESSAGE_TYPE, &[u8::from(kind)]);
    let mut cid = vec![1];
    cid.extend_from_slice(&mac(n));
    let _ = m.options.push(code::CLIENT_ID, &cid);
    for (c, d) in extra {
        let _ = m.options.push(*c, d);
    }
    m.encode()
}

/// Hands `payload` to the server and takes every action; the reply's `yiaddr`, if any.
fn feed(s: &mut Server, payload: &[u8]) -> Option<Ipv4Addr> {
    s.handle_datagram(
        now(),
        Datagram {
            interface: 1,
            source: SocketAddrV4::new(RELAY, 67),
            destination: SERVER,
            payload,
        },
    );
    let mut yiaddr = None;
    while let Some(a) = s.poll_action() {
        if let Action::Transmit(t) = a {
            yiaddr = Message::decode(&t.payload).ok().map(|m| m.yiaddr);
        }
    }
    yiaddr
}

fn discover(s: &mut Server, n: u32) -> Option<Ipv4Addr> {
    feed(
        s,
        &message(MessageType::Discover, n, Ipv4Addr::UNSPECIFIED, &[]),
    )
}

/// Client `n` gets a lease by DISCOVER and REQUEST; its address.
fn bind(s: &mut Server, n: u32) -> Ipv4Addr {
    let offered = discover(s, n).unwrap_or_else(|| panic!("no OFFER for client {n}"));
    let request = message(
        MessageType::Request,
        n,
        Ipv4Addr::UNSPECIFIED,
        &[
            (code::REQUESTED_IP, offered.octets()),
            (code::SERVER_ID, SERVER.octets()),
        ],
    );
    let acked = feed(s, &request);
    assert_eq!(acked, Some(offered), "client {n} ACKed");
    offered
}

fn release(s: &mut Server, n: u32, address: Ipv4Addr) {
    feed(
        s,
        &message(
            MessageType::Release,
            n,
            address,
            &[(code::SERVER_ID, SERVER.octets())],
        ),
    );
}

/// Client `n`'s RENEWING REQUEST (`ciaddr` set, no server identifier, no requested address).
fn renew(s: &mut Server, n: u32, address: Ipv4Addr) -> Option<Ipv4Addr> {
    feed(s, &message(MessageType::Request, n, address, &[]))
}

/// A server whose pool is filled and then has one address in `every` released; the bound
/// client kept for renewals (number 0) and its address.
fn server(every: Option<u32>) -> (Server, u32, Ipv4Addr) {
    let (config, json) = dhcplab_kea_config::dhcp4::parse_document(CONFIG).expect("config");
    let mut s = Server::new(config, json, Vec::new(), now()).expect("server starts");
    s.attach(Interface {
        index: 1,
        name: "eth0".into(),
        address: SERVER,
        direct_response: true,
    });
    let Some(k) = every else {
        let a = bind(&mut s, 0);
        return (s, 0, a);
    };
    let addresses: Vec<Ipv4Addr> = (0..POOL).map(|n| bind(&mut s, n)).collect();
    // Client 0 keeps its lease (k > 1): it is the one that renews.
    for (n, a) in (0..POOL).zip(&addresses) {
        if n % k == k - 1 {
            release(&mut s, n, *a);
        }
    }
    let expected = POOL - POOL / k;
    assert_eq!(s.lease_count(), expected as usize, "fill level");
    (s, 0, addresses[0])
}

/// The same occupancy in a bare lease store.
fn store(every: Option<u32>) -> LeaseStore {
    let mut store = LeaseStore::new(&[(FIRST, LAST)]);
    let kept = |i: u32| every.is_some_and(|k| i % k != k - 1);
    for i in (0..POOL).filter(|i| kept(*i)) {
        let lease = Lease4 {
            address: Ipv4Addr::from(u32::from(FIRST) + i),
            hwaddr: mac(i).to_vec(),
            client_id: Vec::new(),
            valid_lifetime: 3600,
            expire: 1_800_003_600,
            subnet_id: 1,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            state: 0,
            user_context: None,
        };
        store.put(&lease).expect("a valid lease");
    }
    store
}

/// The iterative allocator's step: the next free address at or after `cursor`, wrapping
/// once to the pool's start; the cursor moves past it.
fn next_free(store: &LeaseStore, cursor: &mut Ipv4Addr) -> Option<Ipv4Addr> {
    let found = store
        .first_free(FIRST, LAST, *cursor)
        .or_else(|| store.first_free(FIRST, LAST, FIRST))?;
    *cursor = if found == LAST {
        FIRST
    } else {
        Ipv4Addr::from(u32::from(found) + 1)
    };
    Some(found)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("alloc4");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (level, every) in LEVELS {
        let (mut s, bound, address) = server(every);
        // New clients are numbered past every client the fill used.
        let mut n = POOL;
        group.bench_function(BenchmarkId::new("discover", level), |b| {
            b.iter(|| {
                n += 1;
                black_box(discover(&mut s, n).expect("an OFFER"))
            });
        });
        group.bench_function(BenchmarkId::new("dora", level), |b| {
            b.iter(|| {
                n += 1;
                let a = bind(&mut s, n);
                release(&mut s, n, a);
                black_box(a)
            });
        });
        group.bench_function(BenchmarkId::new("renew", level), |b| {
            b.iter(|| black_box(renew(&mut s, bound, address).expect("an ACK")));
        });
        let st = store(every);
        let mut cursor = FIRST;
        group.bench_function(BenchmarkId::new("first_free", level), |b| {
            b.iter(|| black_box(next_free(&st, &mut cursor).expect("a free address")));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
