//! TCP segments over Ethernet and IPv4, for the HTTP exchanges of HA peers on the virtual
//! link: framed with every checksum, and read back.

use crate::EncodeError;
use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The flags of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    /// SYN.
    pub syn: bool,
    /// ACK (with [`Segment::ack`]).
    pub ack: bool,
    /// PSH.
    pub psh: bool,
    /// FIN.
    pub fin: bool,
    /// RST.
    pub rst: bool,
}

/// A TCP segment found in an Ethernet frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port.
    pub dst: SocketAddrV4,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags.
    pub flags: Flags,
    /// The data.
    pub payload: &'a [u8],
}

/// Frames a TCP segment in Ethernet II and IPv4, with every checksum computed.
pub fn encode_tcp(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    segment: &Segment<'_>,
) -> Result<Vec<u8>, EncodeError> {
    let (s, d) = (segment.src, segment.dst);
    let mut b = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(s.ip().octets(), d.ip().octets(), 64)
        .tcp(s.port(), d.port(), segment.seq, 65_535);
    let f = segment.flags;
    if f.syn {
        b = b.syn();
    }
    if f.ack {
        b = b.ack(segment.ack);
    }
    if f.psh {
        b = b.psh();
    }
    if f.fin {
        b = b.fin();
    }
    if f.rst {
        b = b.rst();
    }
    let mut out = Vec::with_capacity(b.size(segment.payload.len()));
    b.write(&mut out, segment.payload)
        .map_err(|_| EncodeError::TooLarge(segment.payload.len()))?;
    Ok(out)
}

/// The TCP segment an Ethernet frame carries over IPv4, if it carries one.
pub fn decode_tcp(frame: &[u8]) -> Option<Segment<'_>> {
    let p = SlicedPacket::from_ethernet(frame).ok()?;
    let Some(NetSlice::Ipv4(ip)) = p.net else {
        return None;
    };
    let Some(TransportSlice::Tcp(t)) = p.transport else {
        return None;
    };
    let h = ip.header();
    let (src, dst): (Ipv4Addr, Ipv4Addr) = (h.source_addr(), h.destination_addr());
    Some(Segment {
        src: SocketAddrV4::new(src, t.source_port()),
        dst: SocketAddrV4::new(dst, t.destination_port()),
        seq: t.sequence_number(),
        ack: t.acknowledgment_number(),
        flags: Flags {
            syn: t.syn(),
            ack: t.ack(),
            psh: t.psh(),
            fin: t.fin(),
            rst: t.rst(),
        },
        payload: t.payload(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_round_trips() {
        let seg = Segment {
            src: "192.0.2.1:49152".parse().expect("address"),
            dst: "192.0.2.2:8000".parse().expect("address"),
            seq: 7,
            ack: 9,
            flags: Flags {
                ack: true,
                psh: true,
                ..Flags::default()
            },
            payload: b"POST / HTTP/1.1\r\n",
        };
        let frame = encode_tcp([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], &seg).expect("framed");
        assert_eq!(decode_tcp(&frame), Some(seg));
        assert_eq!(decode_tcp(&frame[..20]), None);
        let udp = crate::encode_udp(
            [2; 6],
            [3; 6],
            "192.0.2.1:68".parse().expect("a"),
            "192.0.2.2:67".parse().expect("a"),
            64,
            b"x",
        )
        .expect("framed");
        assert_eq!(decode_tcp(&udp), None);
    }
}
