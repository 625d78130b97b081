//! IPv4 fragment reassembly (RFC 791), so a DHCP message sent in fragments (a large option
//! set over a small MTU) is read like any other: fragments are kept by source, destination,
//! protocol and identification until the pieces cover the datagram from its first byte to the
//! fragment without "more fragments", then the whole datagram is rebuilt with the first
//! fragment's header. Bounded: at most [`MAX_PENDING`] datagrams wait, each holding at most
//! [`MAX_HELD`] bytes of pieces (overlapping ones count twice).

use std::collections::BTreeMap;

/// Datagrams waiting for their fragments at once; the oldest is dropped beyond this.
pub const MAX_PENDING: usize = 256;

/// Bytes of pieces one datagram may hold: a datagram whose fragments overlap past this is
/// given up.
pub const MAX_HELD: usize = 2 * 65_535;

type Key = ([u8; 4], [u8; 4], u8, u16);

#[derive(Default)]
struct Pending {
    /// The first fragment's header (offset 0), when it came.
    header: Option<Vec<u8>>,
    /// Pieces by their offset in the payload, in bytes.
    pieces: BTreeMap<usize, Vec<u8>>,
    /// The payload's length, known from the last fragment.
    total: Option<usize>,
    /// When it began, for dropping the oldest.
    order: u64,
    /// The capture record of its first fragment seen.
    record: u64,
    /// Bytes held in its pieces.
    held: usize,
}

/// Fragments waiting for the rest of their datagram.
#[derive(Default)]
pub struct Reassembler {
    pending: BTreeMap<Key, Pending>,
    seen: u64,
}

/// What became of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum Fragment {
    /// It completed a datagram: the whole IPv4 packet.
    Complete(Vec<u8>),
    /// It waits for more.
    Waiting,
    /// It is not a well-formed IPv4 fragment (the reason).
    Bad(String),
}

impl Reassembler {
    /// Takes one fragment, `packet` being its IPv4 header and payload, from capture record
    /// `record`.
    pub fn add(&mut self, record: u64, packet: &[u8]) -> Fragment {
        let Some(&first) = packet.first() else {
            return Fragment::Bad("empty IP packet".into());
        };
        if first >> 4 != 4 {
            return Fragment::Bad("an IPv6 fragment (only IPv4 fragments are reassembled)".into());
        }
        let ihl = usize::from(first & 0x0f) * 4;
        let Some(header) = packet.get(..ihl).filter(|_| ihl >= 20) else {
            return Fragment::Bad("IPv4 header cut short".into());
        };
        let total_len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let Some(payload) = packet.get(ihl..total_len.max(ihl)) else {
            return Fragment::Bad(format!(
                "IPv4 total length {total_len} is more than the {} bytes captured",
                packet.len()
            ));
        };
        let id = u16::from_be_bytes([header[4], header[5]]);
        let flags_offset = u16::from_be_bytes([header[6], header[7]]);
        let more = flags_offset & 0x2000 != 0;
        let offset = usize::from(flags_offset & 0x1fff) * 8;
        if offset + payload.len() > 65_535 {
            return Fragment::Bad("fragment reaches past 64 KiB".into());
        }
        let key = (
            [header[12], header[13], header[14], header[15]],
            [header[16], header[17], header[18], header[19]],
            header[9],
            id,
        );
        if !self.pending.contains_key(&key) && self.pending.len() >= MAX_PENDING {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.order)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.pending.remove(&k);
            }
        }
        self.seen += 1;
        let order = self.seen;
        let p = self.pending.entry(key).or_insert_with(|| Pending {
            order,
            record,
            ..Pending::default()
        });
        if offset == 0 {
            p.header = Some(header.to_vec());
        }
        if !more {
            p.total = Some(offset + payload.len());
        }
        p.held += payload.len();
        if p.held > MAX_HELD {
            self.pending.remove(&key);
            return Fragment::Bad(format!(
                "fragments of datagram {id:#06x} overlap past {MAX_HELD} bytes: given up"
            ));
        }
        p.pieces.insert(offset, payload.to_vec());
        let (Some(total), Some(header)) = (p.total, p.header.as_ref()) else {
            return Fragment::Waiting;
        };
        let mut data = Vec::with_capacity(total);
        for (at, piece) in &p.pieces {
            if *at > data.len() {
                return Fragment::Waiting;
            }
            let skip = data.len() - at;
            data.extend(piece.iter().skip(skip));
        }
        if data.len() < total {
            return Fragment::Waiting;
        }
        data.truncate(total);
        let mut whole = header.clone();
        let len = u16::try_from(whole.len() + data.len()).unwrap_or(u16::MAX);
        whole[2..4].copy_from_slice(&len.to_be_bytes());
        whole[6] = 0;
        whole[7] = 0;
        whole[10] = 0;
        whole[11] = 0;
        let sum = checksum(&whole);
        whole[10..12].copy_from_slice(&sum.to_be_bytes());
        whole.extend_from_slice(&data);
        self.pending.remove(&key);
        Fragment::Complete(whole)
    }

    /// The first records of datagrams still missing fragments, in capture order.
    pub fn incomplete(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self.pending.values().map(|p| p.record).collect();
        out.sort_unstable();
        out
    }
}

/// The IPv4 header checksum (RFC 1071).
fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
