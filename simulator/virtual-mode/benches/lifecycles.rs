//! Throughput of virtual mode in client lifecycles: N reference client cores (1,000 and
//! 10,000) and the reference server core on the virtual link, each client doing one whole
//! lifecycle: DORA, one renewal at T1 (a unicast REQUEST and its ACK), then a RELEASE (7
//! frames). The run is the engine's own path, as `dhcplab run` takes it without artifacts:
//! the scenario is read once, then each iteration builds the world and plays it
//! ([`dhcplab_virtual_mode::run`]: segment, host timers, clock jumps, the invariant checks).
//!
//! Before measuring, one run per size is recorded and checked: every client's event program
//! ran for BOUND, EXTEND and RELEASE, in that order and nothing else, the server holds no
//! active lease at the end, and the link carried exactly DISCOVER, REQUEST, REQUEST, RELEASE
//! from each client and OFFER, ACK, ACK to it; every measured run must pass and carry the same
//! number of frames, so the figure cannot be of a broken run.
//!
//! The peer, measured in the same run: the server core alone (no engine) handling the same
//! client messages, taken from the recorded run, each at its recorded time, through
//! `handle_datagram`, its actions drained. Run:
//! `cargo bench -p dhcplab-virtual-mode --bench lifecycles`. Both run with the allocator
//! `dhcplab` has (mimalloc).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dhcplab_frame::{Decoded, LinkType};
use dhcplab_runner::Status;
use dhcplab_scenario::{Role, Scenario};
use dhcplab_server::{Action, Datagram, Interface, Server};
use dhcplab_timeline::Entry;
use dhcplab_virtual_mode::{Options, START_SECS};
use dhcplab_wire::v4::{Message, MessageType};
use std::hint::black_box;
use std::net::{SocketAddr, SocketAddrV4};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// The allocator `dhcplab` runs with, so the figure is the shipped engine's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Frames one lifecycle puts on the link.
const FRAMES_PER_LIFECYCLE: u64 = 7;
const SEED: u64 = 13;

/// The scenario: `clients` clients that start in the first second, renew at T1 (30 min into a
/// 1 h lease), leave by RELEASE 40 to 45 min after they start (before T2, 52.5 min) and stay
/// away longer than the run.
fn scenario(clients: usize) -> Scenario {
    let text = format!(
        r#"
[scenario]
description = "{clients} client lifecycles: DORA, renew at T1, release"

[[host]]
name = "srv"
role = "server"
address = "198.18.0.1"
config = '''
{{ "Dhcp4": {{
    "interfaces-config": {{ "interfaces": [ "eth0" ] }},
    "valid-lifetime": 3600,
    "lease-database": {{ "type": "memfile", "lfc-interval": 0 }},
    "subnet4": [ {{ "id": 1, "subnet": "198.18.0.0/16",
                   "pools": [ {{ "pool": "198.18.0.10 - 198.18.255.250" }} ],
                   "option-data": [ {{ "name": "routers", "data": "198.18.0.1" }} ] }} ] }} }}
'''

[[host]]
name = "c"
role = "client"
count = {clients}
start = {{ min = "0s", max = "1s" }}
churn = {{ up = {{ min = "40m", max = "45m" }}, down = {{ min = "30d", max = "30d" }}, leave = "release" }}

[[step]]
at = "1h"
expect = "leases"
host = "srv"
count = 0
"#
    );
    dhcplab_scenario::parse(&text, Path::new("lifecycles.toml")).expect("the scenario reads")
}

/// A client message as the server received it.
struct Received {
    at: SystemTime,
    source: SocketAddrV4,
    destination: std::net::Ipv4Addr,
    payload: Vec<u8>,
}

/// Runs the scenario once, recorded, checks what went over the link and which events each
/// client's event program ran, and returns the client messages in the order the server got
/// them.
fn checked_run(scenario: &Scenario, clients: usize) -> Vec<Received> {
    let outcome = dhcplab_virtual_mode::run(
        scenario,
        Options {
            seed: SEED,
            record: true,
        },
    );
    assert_eq!(outcome.status, Status::Passed, "{}", outcome.message);
    assert_eq!(outcome.timeline.entries_dropped, 0);
    let mut sent = [0usize; 8];
    let mut received = Vec::new();
    // Host 0 is the server, hosts 1 to N the clients.
    let mut events = vec![Vec::new(); clients + 1];
    for (at, entry) in &outcome.timeline.entries {
        let frame = match entry {
            Entry::Frame { frame, .. } => frame,
            // The event program's runs; notes (`leaves (release)`) are not in capitals.
            Entry::Event { host, text } if text.chars().all(|c| c.is_ascii_uppercase()) => {
                events[*host].push(text.as_str());
                continue;
            }
            _ => continue,
        };
        let Ok(Decoded::Udp(u)) = dhcplab_frame::decode(LinkType::Ethernet, frame) else {
            panic!("a frame that is no UDP datagram");
        };
        let message = Message::decode(u.payload).expect("a DHCP message");
        let kind = message.message_type().expect("type").expect("a type");
        let slot = match kind {
            MessageType::Discover => 0,
            MessageType::Offer => 1,
            MessageType::Request => 2,
            MessageType::Ack => 3,
            MessageType::Release => 4,
            other => panic!("unexpected {other:?}"),
        };
        sent[slot] += 1;
        if let (SocketAddr::V4(source), SocketAddr::V4(destination)) = (u.src, u.dst)
            && destination.port() == 67
        {
            received.push(Received {
                at: *at,
                source,
                destination: *destination.ip(),
                payload: u.payload.to_vec(),
            });
        }
    }
    for (host, seen) in events.iter().enumerate().skip(1) {
        assert_eq!(
            seen,
            &["BOUND", "EXTEND", "RELEASE"],
            "events of host {host}"
        );
    }
    let n = clients;
    assert_eq!(sent[..5], [n, n, 2 * n, 2 * n, n], "frames by type");
    assert_eq!(received.len(), 4 * n);
    received
}

/// The server core of the scenario, fresh, on its interface.
fn server(scenario: &Scenario) -> Server {
    let Some(Role::Server(s)) = scenario.hosts.first().map(|h| &h.role) else {
        panic!("the first host is the server");
    };
    let start = UNIX_EPOCH + Duration::from_secs(START_SECS);
    let mut core = Server::new(s.config.dhcp4.clone(), s.config.json.clone(), [], start)
        .expect("the server starts");
    core.attach(Interface {
        index: 1,
        name: "eth0".into(),
        address: "198.18.0.1".parse().expect("address"),
        direct_response: true,
    });
    core
}

/// The peer: the server core alone handles `messages`; returns how many datagrams it sent.
fn server_alone(scenario: &Scenario, messages: &[Received]) -> usize {
    let mut core = server(scenario);
    let mut transmits = 0;
    for m in messages {
        core.handle_datagram(
            m.at,
            Datagram {
                interface: 1,
                source: m.source,
                destination: m.destination,
                payload: &m.payload,
            },
        );
        while let Some(action) = core.poll_action() {
            if matches!(action, Action::Transmit(_)) {
                transmits += 1;
            }
        }
    }
    transmits
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("lifecycles");
    group.sample_size(10);
    for clients in [1_000usize, 10_000] {
        let plain = scenario(clients);
        let messages = checked_run(&plain, clients);
        assert_eq!(server_alone(&plain, &messages), 3 * clients);
        let options = Options {
            seed: SEED,
            record: false,
        };
        let frames = FRAMES_PER_LIFECYCLE * clients as u64;
        group.throughput(Throughput::Elements(clients as u64));
        group.bench_with_input(
            BenchmarkId::new("server core alone (peer)", clients),
            &messages,
            |b, messages| b.iter(|| server_alone(black_box(&plain), messages)),
        );
        group.bench_with_input(
            BenchmarkId::new("virtual-mode engine", clients),
            &plain,
            |b, scenario| {
                b.iter(|| {
                    let outcome = dhcplab_virtual_mode::run(black_box(scenario), options);
                    assert_eq!(outcome.status, Status::Passed, "{}", outcome.message);
                    assert_eq!(outcome.timeline.frames_seen, frames);
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
