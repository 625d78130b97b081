//! Throughput of reading a capture and finding its conversations: a 100,000-frame pcap held
//! in memory (the frames of `pcaps/public/zeek-dhcp.pcap` repeated, each copy with its own
//! xids so that conversations keep growing in number), read record by record, every frame
//! decoded down to its DHCP message, classified and grouped. The peer measured in the same
//! run is reading the records alone. Run: `cargo bench -p dhcplab-conversations --bench find`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dhcplab_capture::{CaptureReader, CaptureWriter};
use dhcplab_testkit::own_pcaps;
use std::hint::black_box;
use std::io::Cursor;

const FRAMES: usize = 100_000;

/// The pcap: zeek's frames over and over, the xid (bytes 4-7 of the DHCP payload) changed per
/// copy; the UDP checksum is left as it is (a bad checksum is reported, not refused).
fn capture() -> Vec<u8> {
    let source = own_pcaps().join("public/zeek-dhcp.pcap");
    let frames: Vec<Vec<u8>> = CaptureReader::open(&source)
        .expect("zeek-dhcp.pcap")
        .map(|r| r.expect("record").data)
        .collect();
    let mut writer = CaptureWriter::new(Vec::new()).expect("writer");
    let mut at = 1_700_000_000_000_000_000u64;
    for n in 0..FRAMES {
        let mut frame = frames[n % frames.len()].clone();
        let copy = u32::try_from(n / frames.len()).unwrap_or(u32::MAX);
        // Ethernet 14 + IPv4 20 + UDP 8, then op, htype, hlen, hops, xid.
        if let Some(xid) = frame.get_mut(46..50) {
            xid.copy_from_slice(&copy.to_be_bytes());
        }
        at += 1_000_000;
        writer.write(at, &frame).expect("write");
    }
    writer.into_inner()
}

fn bench(c: &mut Criterion) {
    let bytes = capture();
    let mut group = c.benchmark_group("100k frames");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.sample_size(10);
    group.bench_function("read records (peer)", |b| {
        b.iter(|| {
            CaptureReader::new(Cursor::new(black_box(bytes.clone())))
                .expect("pcap")
                .count()
        })
    });
    group.bench_function("read, decode, classify, group", |b| {
        b.iter(|| {
            let reader = CaptureReader::new(Cursor::new(black_box(bytes.clone()))).expect("pcap");
            dhcplab_conversations::find(reader).messages.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
