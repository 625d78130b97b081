//! What hooks libraries cost the server: DHCPv4 exchanges (DISCOVER, REQUEST, RELEASE) through
//! the server core with no hooks library, and with three libraries loaded that do nothing at
//! every DHCPv4 hook point (the `noop` example, each an instance of its own), measured in the
//! same run.
//!
//! `cargo bench -p dhcplab-hook-loader --bench overhead`. Each exchange is one client's
//! DISCOVER, REQUEST of the offered address and RELEASE, relayed from 198.18.0.2; the pool is
//! 198.18.0.0/16 (RFC 2544). Leases are kept in memory only (`persist: false`): the lease file
//! is the daemon's, and would hide what the callouts cost.

use criterion::{Criterion, criterion_group, criterion_main};
use dhcplab_hook_loader::{NativeLoader, Scripts};
use dhcplab_server::{Action, Datagram, Interface, Server};
use dhcplab_wire::v4::{Message, MessageType, code};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, UNIX_EPOCH};

fn config(libraries: usize) -> String {
    let noop = dhcplab_testkit::hooks::example("noop");
    let list: Vec<String> = (0..libraries)
        .map(|_| format!(r#"{{ "library": "{}" }}"#, noop.display()))
        .collect();
    format!(
        r#"{{ "Dhcp4": {{
    "interfaces-config": {{ "interfaces": [ "eth0" ] }},
    "lease-database": {{ "type": "memfile", "persist": false }},
    "valid-lifetime": 3600,
    "hooks-libraries": [ {} ],
    "subnet4": [ {{ "id": 1, "subnet": "198.18.0.0/16",
        "pools": [ {{ "pool": "198.18.0.10 - 198.18.255.254" }} ],
        "option-data": [ {{ "name": "routers", "data": "198.18.0.1" }} ] }} ] }} }}"#,
        list.join(", ")
    )
}

fn server(libraries: usize) -> Server {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let (c, json) = dhcplab_kea_config::dhcp4::parse_document(&config(libraries)).expect("config");
    let mut s = Server::with_loader(
        c,
        json,
        Vec::new(),
        now,
        Box::new(NativeLoader::new(Scripts::Run)),
    )
    .expect("server starts");
    s.attach(Interface {
        index: 1,
        name: "eth0".into(),
        address: Ipv4Addr::new(198, 18, 0, 1),
        direct_response: true,
    });
    s
}

fn message(kind: MessageType, n: u32, ciaddr: Ipv4Addr, extra: &[(u8, [u8; 4])]) -> Vec<u8> {
    let b = n.to_be_bytes();
    let mut m = Message::new(
        Message::BOOTREQUEST,
        n,
        [0x02, 0x00, b[0], b[1], b[2], b[3]],
    );
    m.giaddr = Ipv4Addr::new(198, 18, 0, 2);
    m.ciaddr = ciaddr;
    let _ = m.options.push(code::MESSAGE_TYPE, &[u8::from(kind)]);
    for (c, d) in extra {
        let _ = m.options.push(*c, d);
    }
    m.encode()
}

/// One client's DISCOVER, REQUEST and RELEASE; the number of replies.
fn exchange(s: &mut Server, n: u32) -> usize {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let relay = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 67);
    let feed = |s: &mut Server, payload: &[u8]| -> Option<Message> {
        s.handle_datagram(
            now,
            Datagram {
                interface: 1,
                source: relay,
                destination: Ipv4Addr::new(198, 18, 0, 1),
                payload,
            },
        );
        let mut reply = None;
        while let Some(a) = s.poll_action() {
            if let Action::Transmit(t) = a {
                reply = Message::decode(&t.payload).ok();
            }
        }
        reply
    };
    let sid = Ipv4Addr::new(198, 18, 0, 1).octets();
    let Some(offer) = feed(
        s,
        &message(MessageType::Discover, n, Ipv4Addr::UNSPECIFIED, &[]),
    ) else {
        return 0;
    };
    let request = message(
        MessageType::Request,
        n,
        Ipv4Addr::UNSPECIFIED,
        &[
            (code::REQUESTED_IP, offer.yiaddr.octets()),
            (code::SERVER_ID, sid),
        ],
    );
    let acked = feed(s, &request).is_some();
    feed(
        s,
        &message(
            MessageType::Release,
            n,
            offer.yiaddr,
            &[(code::SERVER_ID, sid)],
        ),
    );
    1 + usize::from(acked)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("exchange");
    for libraries in [0, 3] {
        let mut s = server(libraries);
        let mut n = 0u32;
        group.bench_function(format!("{libraries} no-op libraries"), |b| {
            b.iter(|| {
                n = n.wrapping_add(1);
                assert_eq!(exchange(&mut s, n), 2, "OFFER and ACK");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
