//! A DHCP message sent in IPv4 fragments is read whole, in whatever order the fragments were
//! captured; a datagram missing a fragment is reported, not read.

use dhcplab_capture::{CaptureReader, CaptureWriter};
use dhcplab_conversations::find;
use dhcplab_wire::v4::Message;
use std::io::Cursor;
use std::net::{Ipv4Addr, SocketAddr};

const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x11];

/// A DISCOVER with a long option (600 bytes of host name, RFC 3396 split), framed, and cut
/// into IPv4 fragments of `piece` payload bytes.
fn fragments(piece: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut m = Message::new(1, 0x1234, MAC);
    m.options.push(53, &[1]).expect("type");
    m.options.push_long(12, &[b'h'; 600]).expect("long option");
    let payload = m.encode();
    let src: SocketAddr = (Ipv4Addr::UNSPECIFIED, 68).into();
    let dst: SocketAddr = (Ipv4Addr::BROADCAST, 67).into();
    let frame = dhcplab_frame::encode_udp(MAC, [0xff; 6], src, dst, 64, &payload).expect("frame");
    let (eth, ip) = frame.split_at(14);
    let (header, data) = ip.split_at(20);
    let mut out = Vec::new();
    for (i, chunk) in data.chunks(piece).enumerate() {
        let offset = i * piece;
        let more = offset + chunk.len() < data.len();
        let mut h = header.to_vec();
        let len = u16::try_from(20 + chunk.len()).expect("fits");
        h[2..4].copy_from_slice(&len.to_be_bytes());
        let flags = (u16::from(more) << 13) | u16::try_from(offset / 8).expect("fits");
        h[6..8].copy_from_slice(&flags.to_be_bytes());
        out.push([eth, &h, chunk].concat());
    }
    (payload, out)
}

fn read(frames: &[Vec<u8>]) -> dhcplab_conversations::Found {
    let mut w = CaptureWriter::new(Vec::new()).expect("writer");
    for (i, f) in frames.iter().enumerate() {
        w.write(1_000_000_000 * (i as u64 + 1), f).expect("write");
    }
    find(CaptureReader::new(Cursor::new(w.into_inner())).expect("reader"))
}

#[test]
fn a_fragmented_discover_is_read_whole_in_any_order() {
    let (payload, mut pieces) = fragments(256);
    assert_eq!(pieces.len(), 4);
    let found = read(&pieces);
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    assert_eq!(found.messages.len(), 1);
    assert_eq!(found.messages[0].payload, payload);
    assert_eq!(found.messages[0].kind, "DISCOVER");
    assert_eq!(found.messages[0].record, 4);
    pieces.swap(0, 3);
    pieces.swap(1, 2);
    let found = read(&pieces);
    assert_eq!(found.messages.len(), 1, "{:?}", found.skipped);
    assert_eq!(found.messages[0].payload, payload);
}

#[test]
fn a_datagram_missing_a_fragment_is_reported_and_not_read() {
    let (_, mut pieces) = fragments(256);
    pieces.remove(2);
    let found = read(&pieces);
    assert!(found.messages.is_empty());
    assert_eq!(found.skipped.len(), 1, "{:?}", found.skipped);
    assert_eq!(found.skipped[0].record, 1);
    assert!(
        found.skipped[0].why.contains("fragments"),
        "{:?}",
        found.skipped
    );
}
