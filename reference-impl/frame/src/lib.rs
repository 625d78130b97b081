//! The frame layer under DHCP: link headers (Ethernet II with 802.1Q/802.1ad tags, Linux cooked
//! v1 and v2, BSD null, raw IP), IPv4 and IPv6, and UDP, decoded with checksums checked and
//! encoded with checksums computed.
//!
//! A bad checksum is reported, not refused: field captures taken on the sending host carry
//! checksums the NIC had not yet filled in, and the harness must still read them.

pub mod tcp;

use etherparse::{IpNumber, Ipv4Slice, Ipv6Slice, UdpSlice};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Link-layer framings a capture can use, by their pcap LINKTYPE numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_NULL (0) and LINKTYPE_LOOP (108): a 4-byte address family.
    Null,
    /// LINKTYPE_RAW (101), and the old DLT_RAW values 12 and 14: an IP packet, no link header.
    RawIp,
    /// LINKTYPE_IPV4 (228).
    RawIpv4,
    /// LINKTYPE_IPV6 (229).
    RawIpv6,
    /// LINKTYPE_LINUX_SLL (113): Linux cooked capture v1.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276): Linux cooked capture v2.
    LinuxSll2,
}

impl LinkType {
    /// The framing for a pcap/pcapng LINKTYPE value, `None` when this crate cannot read it.
    pub fn from_linktype(value: u32) -> Option<Self> {
        Some(match value {
            1 => LinkType::Ethernet,
            0 | 108 => LinkType::Null,
            12 | 14 | 101 => LinkType::RawIp,
            228 => LinkType::RawIpv4,
            229 => LinkType::RawIpv6,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }
}

/// The link header of a decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II, with any VLAN IDs in outer-to-inner order.
    Ethernet {
        /// Source MAC.
        src: [u8; 6],
        /// Destination MAC.
        dst: [u8; 6],
        /// VLAN IDs from 802.1Q / 802.1ad tags.
        vlans: Vec<u16>,
    },
    /// A Linux cooked header: the sender's link address when it was recorded.
    Cooked {
        /// Link-layer address of the sender, as long as the header says.
        src: Vec<u8>,
    },
    /// No link header (raw IP or BSD null).
    None,
}

/// A checksum as found on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// It matches the computed value.
    Valid,
    /// UDP over IPv4 with checksum 0: the sender computed none (RFC 768).
    Absent,
    /// It does not match.
    Invalid {
        /// Value on the wire.
        found: u16,
        /// Value computed from the packet.
        expected: u16,
    },
}

/// A UDP datagram found in a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    /// The link header.
    pub link: Link,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub hop_limit: u8,
    /// The IPv4 header checksum (`None` for IPv6, which has none).
    pub ip_checksum: Option<Checksum>,
    /// The UDP checksum.
    pub udp_checksum: Checksum,
    /// The UDP payload, cut to the UDP length field.
    pub payload: &'a [u8],
    /// Offset of the payload's first byte in the frame.
    pub payload_offset: usize,
}

/// Which DHCP a datagram carries, judged by its UDP ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dhcp {
    /// DHCPv4 or BOOTP (ports 67 and 68).
    V4,
    /// DHCPv6 (ports 546 and 547).
    V6,
}

impl UdpDatagram<'_> {
    /// The DHCP protocol by the destination port, else the source port; `None` when neither
    /// is a DHCP port.
    pub fn dhcp(&self) -> Option<Dhcp> {
        [self.dst.port(), self.src.port()]
            .iter()
            .find_map(|p| match p {
                67 | 68 => Some(Dhcp::V4),
                546 | 547 => Some(Dhcp::V6),
                _ => None,
            })
    }
}

/// What a frame holds, when it is not a UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A UDP datagram.
    Udp(UdpDatagram<'a>),
    /// Something else, described in a few words (`"ARP"`, `"IPv6 protocol 58"`, ...).
    Other(String),
}

/// Why a frame could not be decoded, and where in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset} of the frame: {kind}")]
pub struct FrameError {
    /// Offset from the first byte of the frame.
    pub offset: usize,
    /// What was wrong.
    pub kind: FrameErrorKind,
}

/// The kinds of frame fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameErrorKind {
    /// A header or a length field asks for more bytes than the frame has.
    #[error("{layer} needs {needed} bytes, {available} present")]
    Truncated {
        /// The layer cut off.
        layer: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// A header whose fields are invalid, as the header parser describes it.
    #[error("bad {layer} header: {detail}")]
    Malformed {
        /// The layer.
        layer: &'static str,
        /// The parser's description.
        detail: String,
    },
    /// An IP fragment: DHCP is read from whole datagrams only.
    #[error("IP fragment (not reassembled)")]
    Fragment,
}

fn err(offset: usize, kind: FrameErrorKind) -> FrameError {
    FrameError { offset, kind }
}

fn truncated(offset: usize, layer: &'static str, needed: usize, available: usize) -> FrameError {
    err(
        offset,
        FrameErrorKind::Truncated {
            layer,
            needed,
            available,
        },
    )
}

/// Converts an IP slicing error: length faults become `Truncated` at their layer's offset.
fn ip_error(
    base: usize,
    layer: &'static str,
    len: Option<&etherparse::err::LenError>,
    detail: String,
) -> FrameError {
    match len {
        Some(l) => truncated(base + l.layer_start_offset, layer, l.required_len, l.len),
        None => err(base, FrameErrorKind::Malformed { layer, detail }),
    }
}

/// Offset of `inner` within `outer`, where `inner` is a sub-slice of `outer`.
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_ARP: u16 = 0x0806;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Decodes one frame of the given link type down to UDP.
pub fn decode(link_type: LinkType, frame: &[u8]) -> Result<Decoded<'_>, FrameError> {
    let (link, ethertype, offset) = match link_type {
        LinkType::Ethernet => decode_ethernet(frame)?,
        LinkType::LinuxSll => {
            if frame.len() < 16 {
                return Err(truncated(0, "Linux cooked header", 16, frame.len()));
            }
            let addr_len = usize::from(be16(frame, 4).unwrap_or_default()).min(8);
            let src = frame.get(6..6 + addr_len).unwrap_or_default().to_vec();
            (Link::Cooked { src }, be16(frame, 14), 16)
        }
        LinkType::LinuxSll2 => {
            if frame.len() < 20 {
                return Err(truncated(0, "Linux cooked v2 header", 20, frame.len()));
            }
            let addr_len = usize::from(*frame.get(11).unwrap_or(&0)).min(8);
            let src = frame.get(12..12 + addr_len).unwrap_or_default().to_vec();
            (Link::Cooked { src }, be16(frame, 0), 20)
        }
        LinkType::Null => {
            let family: [u8; 4] = frame
                .first_chunk()
                .copied()
                .ok_or_else(|| truncated(0, "null/loopback header", 4, frame.len()))?;
            // The family is in the capturing host's byte order; AF_INET is 2 everywhere and
            // AF_INET6 is 10, 24, 28 or 30 depending on the OS.
            let value = u32::from_le_bytes(family).min(u32::from_be_bytes(family));
            let ethertype = match value {
                2 => Some(ETHERTYPE_IPV4),
                10 | 24 | 28 | 30 => Some(ETHERTYPE_IPV6),
                _ => None,
            };
            (Link::None, ethertype, 4)
        }
        LinkType::RawIp => {
            let ethertype = match frame.first().map(|b| b >> 4) {
                Some(4) => Some(ETHERTYPE_IPV4),
                Some(6) => Some(ETHERTYPE_IPV6),
                _ => None,
            };
            (Link::None, ethertype, 0)
        }
        LinkType::RawIpv4 => (Link::None, Some(ETHERTYPE_IPV4), 0),
        LinkType::RawIpv6 => (Link::None, Some(ETHERTYPE_IPV6), 0),
    };
    let rest = frame.get(offset..).unwrap_or_default();
    match ethertype {
        Some(ETHERTYPE_IPV4) => decode_ipv4(link, rest, offset),
        Some(ETHERTYPE_IPV6) => decode_ipv6(link, rest, offset),
        Some(ETHERTYPE_ARP) => Ok(Decoded::Other("ARP".into())),
        Some(other) => Ok(Decoded::Other(format!("ethertype {other:#06x}"))),
        None => Ok(Decoded::Other("unknown network protocol".into())),
    }
}

fn decode_ethernet(frame: &[u8]) -> Result<(Link, Option<u16>, usize), FrameError> {
    let header: &[u8; 14] = frame
        .first_chunk()
        .ok_or_else(|| truncated(0, "Ethernet header", 14, frame.len()))?;
    let mut dst = [0u8; 6];
    dst.copy_from_slice(&header[0..6]);
    let mut src = [0u8; 6];
    src.copy_from_slice(&header[6..12]);
    let mut vlans = Vec::new();
    let mut at = 12;
    let mut ethertype = be16(frame, at);
    while matches!(ethertype, Some(0x8100 | 0x88a8 | 0x9100)) {
        let tci =
            be16(frame, at + 2).ok_or_else(|| truncated(at, "VLAN tag", 4, frame.len() - at))?;
        vlans.push(tci & 0x0fff);
        at += 4;
        ethertype =
            Some(be16(frame, at).ok_or_else(|| truncated(at, "VLAN tag", 2, frame.len() - at))?);
    }
    Ok((Link::Ethernet { src, dst, vlans }, ethertype, at + 2))
}

fn decode_ipv4(link: Link, data: &[u8], base: usize) -> Result<Decoded<'_>, FrameError> {
    let ip = Ipv4Slice::from_slice(data).map_err(|e| {
        let len = match &e {
            etherparse::err::ipv4::SliceError::Len(l) => Some(l),
            _ => None,
        };
        ip_error(base, "IPv4", len, e.to_string())
    })?;
    let header = ip.header();
    let expected = header.to_header().calc_header_checksum();
    let ip_layer = IpLayer {
        name: "IPv4",
        fragmented: ip.is_payload_fragmented(),
        addrs: Addrs::V4(header.source(), header.destination()),
        hop_limit: header.ttl(),
        ip_checksum: Some(checksum(header.header_checksum(), expected)),
        payload: ip.payload().clone(),
    };
    decode_udp(link, data, base, ip_layer)
}

fn decode_ipv6(link: Link, data: &[u8], base: usize) -> Result<Decoded<'_>, FrameError> {
    let ip = Ipv6Slice::from_slice(data).map_err(|e| {
        let len = match &e {
            etherparse::err::ipv6::SliceError::Len(l) => Some(l),
            _ => None,
        };
        ip_error(base, "IPv6", len, e.to_string())
    })?;
    let header = ip.header();
    let ip_layer = IpLayer {
        name: "IPv6",
        fragmented: ip.is_payload_fragmented(),
        addrs: Addrs::V6(header.source(), header.destination()),
        hop_limit: header.hop_limit(),
        ip_checksum: None,
        payload: ip.payload().clone(),
    };
    decode_udp(link, data, base, ip_layer)
}

/// Source and destination, as the UDP pseudo-header needs them.
enum Addrs {
    V4([u8; 4], [u8; 4]),
    V6([u8; 16], [u8; 16]),
}

/// What the UDP layer needs from either IP version.
struct IpLayer<'a> {
    name: &'static str,
    fragmented: bool,
    addrs: Addrs,
    hop_limit: u8,
    ip_checksum: Option<Checksum>,
    payload: etherparse::IpPayloadSlice<'a>,
}

fn decode_udp<'a>(
    link: Link,
    data: &'a [u8],
    base: usize,
    ip: IpLayer<'a>,
) -> Result<Decoded<'a>, FrameError> {
    if ip.fragmented {
        return Err(err(base, FrameErrorKind::Fragment));
    }
    if ip.payload.ip_number != IpNumber::UDP {
        return Ok(Decoded::Other(format!(
            "{} protocol {}",
            ip.name, ip.payload.ip_number.0
        )));
    }
    let udp_base = base + offset_in(data, ip.payload.payload);
    let udp = UdpSlice::from_slice(ip.payload.payload).map_err(|l| {
        truncated(
            udp_base + l.layer_start_offset,
            "UDP",
            l.required_len,
            l.len,
        )
    })?;
    let header = udp.to_header();
    let (src, dst, udp_checksum) = match ip.addrs {
        Addrs::V4(s, d) => {
            let expected = header
                .calc_checksum_ipv4_raw(s, d, udp.payload())
                .unwrap_or_default();
            let found = match udp.checksum() {
                0 => Checksum::Absent,
                found => checksum(found, expected),
            };
            (
                IpAddr::V4(Ipv4Addr::from(s)),
                IpAddr::V4(Ipv4Addr::from(d)),
                found,
            )
        }
        Addrs::V6(s, d) => {
            let expected = header
                .calc_checksum_ipv6_raw(s, d, udp.payload())
                .unwrap_or_default();
            let found = checksum(udp.checksum(), expected);
            (
                IpAddr::V6(Ipv6Addr::from(s)),
                IpAddr::V6(Ipv6Addr::from(d)),
                found,
            )
        }
    };
    Ok(Decoded::Udp(UdpDatagram {
        link,
        src: SocketAddr::new(src, udp.source_port()),
        dst: SocketAddr::new(dst, udp.destination_port()),
        hop_limit: ip.hop_limit,
        ip_checksum: ip.ip_checksum,
        udp_checksum,
        payload: udp.payload(),
        payload_offset: udp_base + 8,
    }))
}

fn checksum(found: u16, expected: u16) -> Checksum {
    if found == expected {
        Checksum::Valid
    } else {
        Checksum::Invalid { found, expected }
    }
}

/// Why a datagram could not be framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Source and destination are of different IP versions.
    #[error("source {src} and destination {dst} are of different IP versions")]
    MixedVersions {
        /// Source address.
        src: IpAddr,
        /// Destination address.
        dst: IpAddr,
    },
    /// The payload does not fit one UDP datagram.
    #[error("payload of {0} bytes does not fit a UDP datagram")]
    TooLarge(usize),
}

/// Frames a UDP payload in Ethernet II, IPv4 or IPv6, and UDP, with every checksum computed.
pub fn encode_udp(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: SocketAddr,
    dst: SocketAddr,
    hop_limit: u8,
    payload: &[u8],
) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_udp_into(&mut out, src_mac, dst_mac, src, dst, hop_limit, payload)?;
    Ok(out)
}

/// [`encode_udp`] appending to `out`: a sender that frames many datagrams reuses one buffer.
/// The headers are written field by field (no IP options, identification 0, DF set, TTL or
/// hop limit `hop_limit`), the same bytes etherparse's `PacketBuilder` writes, without its
/// per-layer bookkeeping: virtual mode frames every datagram it carries.
pub fn encode_udp_into(
    out: &mut Vec<u8>,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: SocketAddr,
    dst: SocketAddr,
    hop_limit: u8,
    payload: &[u8],
) -> Result<(), EncodeError> {
    let udp_len = u16::try_from(payload.len() + UDP_HEADER)
        .map_err(|_| EncodeError::TooLarge(payload.len()))?;
    let (ether_type, ip_header) = match (src.ip(), dst.ip()) {
        (IpAddr::V4(_), IpAddr::V4(_)) => (0x0800u16, IPV4_HEADER),
        (IpAddr::V6(_), IpAddr::V6(_)) => (0x86dd, IPV6_HEADER),
        (s, d) => return Err(EncodeError::MixedVersions { src: s, dst: d }),
    };
    if usize::from(udp_len) + ip_header > usize::from(u16::MAX) {
        return Err(EncodeError::TooLarge(payload.len()));
    }
    out.reserve(ETHERNET_HEADER + ip_header + usize::from(udp_len));
    out.extend_from_slice(&dst_mac);
    out.extend_from_slice(&src_mac);
    out.extend_from_slice(&ether_type.to_be_bytes());
    // The pseudo-header's sum (RFC 768; RFC 8200 8.1), before the UDP header's.
    let mut sum = u32::from(udp_len) + 17;
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = udp_len + IPV4_HEADER as u16;
            let mut ip = [0u8; IPV4_HEADER];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            // Don't Fragment, as etherparse and Linux set it.
            ip[6] = 0x40;
            ip[8] = hop_limit;
            ip[9] = 17;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let check = !fold(sum_words(&ip, 0));
            ip[10..12].copy_from_slice(&check.to_be_bytes());
            out.extend_from_slice(&ip);
            sum = sum_words(&s.octets(), sum);
            sum = sum_words(&d.octets(), sum);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&udp_len.to_be_bytes());
            out.push(17);
            out.push(hop_limit);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            sum = sum_words(&s.octets(), sum);
            sum = sum_words(&d.octets(), sum);
        }
        _ => {}
    }
    let mut udp = [0u8; UDP_HEADER];
    udp[0..2].copy_from_slice(&src.port().to_be_bytes());
    udp[2..4].copy_from_slice(&dst.port().to_be_bytes());
    udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
    sum = sum_words(&udp, sum);
    // RFC 768: a computed checksum of 0 is sent as all ones (0 means none).
    let check = match !fold(sum_payload(payload, sum)) {
        0 => 0xffff,
        c => c,
    };
    udp[6..8].copy_from_slice(&check.to_be_bytes());
    out.extend_from_slice(&udp);
    out.extend_from_slice(payload);
    Ok(())
}

const ETHERNET_HEADER: usize = 14;
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const UDP_HEADER: usize = 8;

/// Adds the big-endian 16-bit words of `bytes` (even length) to `sum`.
fn sum_words(bytes: &[u8], sum: u32) -> u32 {
    bytes
        .chunks_exact(2)
        .fold(sum, |s, w| s + u32::from(u16::from_be_bytes([w[0], w[1]])))
}

/// Adds the 16-bit words of `bytes` to `sum` (an odd last byte padded with zero, RFC 768), 8
/// bytes at a time as one 64-bit word: in one's complement arithmetic a carry out of bit 63
/// counts as 1 (2^64 = 1 modulo 2^16 - 1), so the carries are counted and added back.
fn sum_payload(bytes: &[u8], sum: u32) -> u32 {
    let mut acc = u64::from(sum);
    let mut carries = 0u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let (next, carried) = acc.overflowing_add(u64::from_be_bytes(word));
        acc = next;
        carries += u64::from(carried);
    }
    // 2^32 = 1 as well: the high half adds to the low one.
    let mut total = (acc >> 32) + (acc & 0xffff_ffff) + carries;
    let mut rest = chunks.remainder().chunks(2);
    for w in &mut rest {
        total += u64::from(u16::from_be_bytes([w[0], w.get(1).copied().unwrap_or(0)]));
    }
    fold64(total)
}

/// Folds a 64-bit one's complement sum to 32 bits without losing carries.
fn fold64(mut acc: u64) -> u32 {
    while acc > u64::from(u32::MAX) {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    // The loop leaves acc within u32.
    acc as u32
}

/// Folds a one's complement sum to 16 bits.
fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves sum within u16.
    sum as u16
}

/// The broadcast MAC address.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// The IPv4 limited broadcast address, where DHCPv4 clients without an address send.
pub const LIMITED_BROADCAST: Ipv4Addr = Ipv4Addr::BROADCAST;

/// All_DHCP_Relay_Agents_and_Servers (ff02::1:2), where DHCPv6 clients send (RFC 8415 7.1).
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What etherparse's `PacketBuilder` writes for the same datagram: the oracle of
    /// `encode_udp_into`.
    fn etherparse_frame(
        src_mac: [u8; 6],
        dst_mac: [u8; 6],
        src: SocketAddr,
        dst: SocketAddr,
        hop_limit: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let builder = etherparse::PacketBuilder::ethernet2(src_mac, dst_mac);
        let builder = match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => builder.ipv4(s.octets(), d.octets(), hop_limit),
            (IpAddr::V6(s), IpAddr::V6(d)) => builder.ipv6(s.octets(), d.octets(), hop_limit),
            _ => panic!("mixed versions"),
        };
        let builder = builder.udp(src.port(), dst.port());
        let mut out = Vec::new();
        builder
            .write(&mut out, payload)
            .expect("etherparse writes it");
        out
    }

    proptest! {
        #[test]
        fn udp_frames_are_the_bytes_etherparse_writes(
            macs in any::<([u8; 6], [u8; 6])>(),
            v4 in any::<([u8; 4], [u8; 4])>(),
            v6 in any::<([u8; 16], [u8; 16])>(),
            ports in any::<(u16, u16)>(),
            hop_limit in any::<u8>(),
            six in any::<bool>(),
            payload in proptest::collection::vec(any::<u8>(), 0..1600),
        ) {
            let (src, dst): (SocketAddr, SocketAddr) = if six {
                ((Ipv6Addr::from(v6.0), ports.0).into(), (Ipv6Addr::from(v6.1), ports.1).into())
            } else {
                ((Ipv4Addr::from(v4.0), ports.0).into(), (Ipv4Addr::from(v4.1), ports.1).into())
            };
            let mut ours = vec![0xee];
            encode_udp_into(&mut ours, macs.0, macs.1, src, dst, hop_limit, &payload)
                .expect("it frames");
            prop_assert_eq!(ours[0], 0xee, "it appends");
            prop_assert_eq!(
                &ours[1..],
                &etherparse_frame(macs.0, macs.1, src, dst, hop_limit, &payload)[..]
            );
        }
    }

    #[test]
    fn a_udp_checksum_that_sums_to_zero_is_sent_as_all_ones() {
        // Find a payload whose checksum field comes out as 0xffff, computed or not: the
        // oracle agrees either way, and decoding finds it valid.
        let src = sock("192.0.2.1:67");
        let dst = sock("192.0.2.2:68");
        let mut found = false;
        for a in 0..=u16::MAX {
            let payload = a.to_be_bytes();
            let frame = encode_udp([2; 6], [4; 6], src, dst, 64, &payload).expect("frame");
            if frame[40..42] == [0xff, 0xff] {
                assert_eq!(
                    frame,
                    etherparse_frame([2; 6], [4; 6], src, dst, 64, &payload)
                );
                let Decoded::Udp(d) = decode(LinkType::Ethernet, &frame).expect("decode") else {
                    panic!("not UDP")
                };
                assert_eq!(d.udp_checksum, Checksum::Valid);
                found = true;
                break;
            }
        }
        assert!(found, "some two-byte payload sums to zero");
    }

    #[test]
    fn a_payload_too_large_for_one_datagram_is_refused() {
        let big = vec![0u8; 65_536];
        assert_eq!(
            encode_udp(
                [2; 6],
                [4; 6],
                sock("192.0.2.1:67"),
                sock("192.0.2.2:68"),
                64,
                &big
            ),
            Err(EncodeError::TooLarge(65_536))
        );
    }

    fn sock(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn v4_round_trip_with_valid_checksums() {
        let frame = encode_udp(
            [2, 0, 0, 0, 0, 1],
            BROADCAST_MAC,
            sock("0.0.0.0:68"),
            sock("255.255.255.255:67"),
            64,
            b"hello",
        )
        .expect("encode");
        let Decoded::Udp(d) = decode(LinkType::Ethernet, &frame).expect("decode") else {
            panic!("not UDP")
        };
        assert_eq!(d.payload, b"hello");
        assert_eq!(d.payload_offset, 14 + 20 + 8);
        assert_eq!(d.ip_checksum, Some(Checksum::Valid));
        assert_eq!(d.udp_checksum, Checksum::Valid);
        assert_eq!(d.dst, sock("255.255.255.255:67"));
    }

    #[test]
    fn v6_round_trip_and_bad_checksum_is_reported() {
        let mut frame = encode_udp(
            [2, 0, 0, 0, 0, 1],
            [0x33, 0x33, 0, 1, 0, 2],
            sock("[fe80::1]:546"),
            sock("[ff02::1:2]:547"),
            1,
            b"x",
        )
        .expect("encode");
        let last = frame.len() - 1;
        frame[last] ^= 0xff;
        let Decoded::Udp(d) = decode(LinkType::Ethernet, &frame).expect("decode") else {
            panic!("not UDP")
        };
        assert!(matches!(d.udp_checksum, Checksum::Invalid { .. }));
        assert_eq!(d.ip_checksum, None);
    }

    #[test]
    fn truncated_ip_is_an_error_with_offset() {
        let frame = encode_udp(
            [2; 6],
            BROADCAST_MAC,
            sock("192.0.2.1:67"),
            sock("192.0.2.2:68"),
            64,
            &[0; 300],
        )
        .expect("encode");
        let e = decode(LinkType::Ethernet, &frame[..100]).expect_err("cut");
        assert_eq!(e.offset, 14);
        assert!(matches!(
            e.kind,
            FrameErrorKind::Truncated { layer: "IPv4", .. }
        ));
        let e = decode(LinkType::Ethernet, &frame[..10]).expect_err("cut");
        assert_eq!(e.offset, 0);
    }

    #[test]
    fn vlan_and_raw_ip() {
        let frame = encode_udp(
            [2; 6],
            BROADCAST_MAC,
            sock("192.0.2.1:67"),
            sock("192.0.2.2:68"),
            64,
            b"abc",
        )
        .expect("encode");
        let mut tagged = frame[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a]);
        tagged.extend_from_slice(&frame[12..]);
        let Decoded::Udp(d) = decode(LinkType::Ethernet, &tagged).expect("decode") else {
            panic!("not UDP")
        };
        assert!(matches!(d.link, Link::Ethernet { ref vlans, .. } if vlans == &[42]));
        let Decoded::Udp(raw) = decode(LinkType::RawIp, &frame[14..]).expect("raw") else {
            panic!("not UDP")
        };
        assert_eq!(raw.payload, b"abc");
        assert_eq!(raw.payload_offset, 28);
    }

    #[test]
    fn mixed_versions_refused() {
        assert!(matches!(
            encode_udp(
                [0; 6],
                [0; 6],
                sock("192.0.2.1:67"),
                sock("[2001:db8::1]:547"),
                1,
                b""
            ),
            Err(EncodeError::MixedVersions { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(link in 0u32..300, bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Some(lt) = LinkType::from_linktype(link) {
                let _ = decode(lt, &bytes);
            }
        }
    }
}
