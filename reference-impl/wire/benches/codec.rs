//! Decode and encode of typical messages (a real DISCOVER, ACK, SOLICIT and REPLY from
//! `pcaps/public/`), with dhcproto's decode of the same bytes measured in the same run as the
//! peer. Run: `cargo bench -p dhcplab-wire --bench codec`.

use criterion::{Criterion, criterion_group, criterion_main};
use dhcplab_testkit::{dhcp_payloads, own_pcaps};
use dhcplab_wire::{v4, v6};
use dhcproto::{Decodable, Decoder};
use std::hint::black_box;

/// The payload of frame `frame` of `pcaps/public/<file>`.
fn payload(file: &str, frame: u64) -> Vec<u8> {
    dhcp_payloads(&own_pcaps().join("public").join(file))
        .expect("capture readable")
        .into_iter()
        .find(|p| p.frame == frame)
        .expect("frame present")
        .bytes
}

fn bench(c: &mut Criterion) {
    let v4_messages = [
        ("DISCOVER", payload("zeek-dhcp.pcap", 1)),
        ("ACK", payload("zeek-dhcp.pcap", 6)),
    ];
    let v6_messages = [
        ("SOLICIT", payload("tcpdump-dhcpv6-ia-pd.pcap", 1)),
        ("REPLY", payload("tcpdump-dhcpv6-ia-pd.pcap", 4)),
    ];
    let mut group = c.benchmark_group("v4");
    for (name, bytes) in &v4_messages {
        let message = v4::Message::decode(bytes).expect("decodes");
        group.bench_function(format!("decode {name}"), |b| {
            b.iter(|| v4::Message::decode(black_box(bytes)))
        });
        group.bench_function(format!("decode+typed {name}"), |b| {
            b.iter(|| {
                let m = v4::Message::decode(black_box(bytes)).expect("decodes");
                (
                    m.message_type(),
                    m.server_id(),
                    m.requested_ip(),
                    m.lease_time(),
                    m.client_id(),
                )
            })
        });
        group.bench_function(format!("encode {name}"), |b| {
            b.iter(|| black_box(&message).encode())
        });
        group.bench_function(format!("dhcproto decode {name}"), |b| {
            b.iter(|| dhcproto::v4::Message::decode(&mut Decoder::new(black_box(bytes))))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("v6");
    for (name, bytes) in &v6_messages {
        let message = v6::Message::decode(bytes).expect("decodes");
        group.bench_function(format!("decode {name}"), |b| {
            b.iter(|| v6::Message::decode(black_box(bytes)))
        });
        group.bench_function(format!("decode+typed {name}"), |b| {
            b.iter(|| {
                let m = v6::Message::decode(black_box(bytes)).expect("decodes");
                let o = m.options();
                (
                    o.client_id(),
                    o.server_id(),
                    o.ia_na().map(|v| v.len()),
                    o.ia_pd().map(|v| v.len()),
                )
            })
        });
        group.bench_function(format!("encode {name}"), |b| {
            b.iter(|| black_box(&message).encode())
        });
        group.bench_function(format!("dhcproto decode {name}"), |b| {
            b.iter(|| dhcproto::v6::Message::decode(&mut Decoder::new(black_box(bytes))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
