//! One interface's sockets. A packet socket hears replies on port 68 before the interface has
//! an address and sends broadcasts with the client's own link and IP source addresses; it
//! also sends unicasts (RENEWING, RELEASE) to a server whose replies came from its own link
//! address, as whole frames to that address, so they need no ARP and a RELEASE leaves even as
//! the address is being removed. A UDP socket bound to the interface and port 68 sends other
//! unicasts (to servers behind a relay) through the kernel's routing and ARP, and receives
//! nothing (a filter drops all); an ARP packet socket probes offered addresses (RFC 5227).

use dhcplab_client::Transmit;
use dhcplab_frame::{BROADCAST_MAC, Decoded, LinkType};
use dhcplab_packet_socket::{AsyncPacketSocket, PacketSocket, PacketSocketError, drop_all};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::UdpSocket;

/// The port DHCPv4 clients listen on.
pub const CLIENT_PORT: u16 = 68;
/// The port DHCPv4 servers listen on.
const SERVER_PORT: u16 = 67;
/// Probes sent for one address (RFC 5227 PROBE_NUM).
const PROBES: u32 = 3;
/// How long a probe listens for a conflict: dhcpagent's ARP_WAIT, over which the probes
/// are spread.
pub const PROBE_WAIT: Duration = Duration::from_millis(1000);
/// The IP time to live of sent datagrams.
const TTL: u8 = 64;

/// Why an interface cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A packet socket could not be opened.
    #[error(transparent)]
    Packet(#[from] PacketSocketError),
    /// The UDP socket could not be opened.
    #[error("UDP socket on port 68: {0}")]
    Udp(#[source] io::Error),
}

/// The sockets of one interface.
#[derive(Debug)]
pub struct Link {
    mac: [u8; 6],
    packet: AsyncPacketSocket,
    udp: UdpSocket,
    arp: AsyncPacketSocket,
    /// Link addresses of the hosts replies came from, by IP address (a few at most).
    heard: Mutex<BTreeMap<Ipv4Addr, [u8; 6]>>,
}

/// How many senders' link addresses are kept.
const HEARD_MAX: usize = 16;

impl Link {
    /// Opens the sockets on interface `name` (index `index`, link address `mac`).
    pub fn open(name: &str, index: u32, mac: [u8; 6]) -> Result<Self, NetError> {
        let packet = AsyncPacketSocket::new(PacketSocket::open(index, CLIENT_PORT)?)
            .map_err(|e| NetError::Packet(PacketSocketError::Open(e)))?;
        let arp = AsyncPacketSocket::new(PacketSocket::open_arp(index)?)
            .map_err(|e| NetError::Packet(PacketSocketError::Open(e)))?;
        let udp = udp_socket(name).map_err(NetError::Udp)?;
        let udp = UdpSocket::from_std(std::net::UdpSocket::from(udp)).map_err(NetError::Udp)?;
        Ok(Self {
            mac,
            packet,
            udp,
            arp,
            heard: Mutex::new(BTreeMap::new()),
        })
    }

    /// Sends `t`: broadcasts and unicasts to a server heard on the link as whole frames,
    /// other unicasts through the kernel.
    pub async fn transmit(&self, t: &Transmit) -> io::Result<()> {
        let to = if t.destination == Ipv4Addr::BROADCAST {
            Some(BROADCAST_MAC)
        } else {
            self.heard
                .lock()
                .ok()
                .and_then(|h| h.get(&t.destination).copied())
        };
        if let Some(to) = to {
            let frame = dhcplab_frame::encode_udp(
                self.mac,
                to,
                SocketAddr::from((t.source, CLIENT_PORT)),
                SocketAddr::from((t.destination, SERVER_PORT)),
                TTL,
                &t.payload,
            )
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            self.packet.send(&frame).map(drop)
        } else {
            self.udp
                .send_to(&t.payload, SocketAddrV4::new(t.destination, SERVER_PORT))
                .await
                .map(drop)
        }
    }

    /// Waits for DHCP datagrams and returns the payloads of those waiting.
    pub async fn receive(&self, buf: &mut [u8]) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        self.packet
            .recv_batch(buf, 64, |frame| {
                if let Ok(Decoded::Udp(d)) = dhcplab_frame::decode(LinkType::Ethernet, frame)
                    && d.dst.port() == CLIENT_PORT
                {
                    if let (dhcplab_frame::Link::Ethernet { src, .. }, IpAddr::V4(ip)) =
                        (&d.link, d.src.ip())
                        && let Ok(mut heard) = self.heard.lock()
                    {
                        if heard.len() >= HEARD_MAX && !heard.contains_key(&ip) {
                            heard.clear();
                        }
                        heard.insert(ip, *src);
                    }
                    out.push(d.payload.to_vec());
                }
            })
            .await?;
        Ok(out)
    }

    /// Probes `address` with ARP (RFC 5227 2.1.1): true when another host answers for it or
    /// probes for it too.
    pub async fn probe(&self, address: Ipv4Addr) -> io::Result<bool> {
        let frame = arp_probe(self.mac, address);
        let mut buf = vec![0u8; 2048];
        // Frames queued before this probe are old news: an earlier holder of the address
        // answering long ago is no conflict now.
        while self.arp.try_recv(&mut buf).is_ok() {}
        let start = tokio::time::Instant::now();
        for n in 0..PROBES {
            self.arp.send(&frame)?;
            let until = start + PROBE_WAIT * (n + 1) / PROBES;
            let mut conflict = false;
            loop {
                let heard = tokio::time::timeout_at(
                    until,
                    self.arp.recv_batch(&mut buf, 64, |f| {
                        conflict |= is_conflict(f, self.mac, address);
                    }),
                )
                .await;
                match heard {
                    Err(_) => break,
                    Ok(r) => {
                        r?;
                        if conflict {
                            return Ok(true);
                        }
                    }
                }
            }
        }
        Ok(false)
    }
}

/// The UDP socket on port 68 of interface `name`, for sending only.
fn udp_socket(name: &str) -> io::Result<Socket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_broadcast(true)?;
    s.bind_device(Some(name.as_bytes()))?;
    s.attach_filter(&drop_all())?;
    s.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT).into())?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// An ARP probe for `address` from `mac` (sender address zero), padded to 60 bytes.
fn arp_probe(mac: [u8; 6], address: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&BROADCAST_MAC);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&address.octets());
    f.resize(60, 0);
    f
}

/// True when ARP frame `f` shows another host using `address`: a request or reply from it,
/// or another host's probe for it.
fn is_conflict(f: &[u8], mac: [u8; 6], address: Ipv4Addr) -> bool {
    let Some(arp) = f.get(14..42) else {
        return false;
    };
    let sender_mac = &arp[8..14];
    let sender_ip = &arp[14..18];
    let target_ip = &arp[24..28];
    if sender_mac == mac {
        return false;
    }
    sender_ip == address.octets() || (sender_ip == [0; 4] && target_ip == address.octets())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0x5e, 0, 0x53, 1];
    const OTHER: [u8; 6] = [2, 0, 0x5e, 0, 0x53, 2];
    const ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

    #[test]
    fn a_probe_is_a_request_from_zero_for_the_address() {
        let p = arp_probe(MAC, ADDRESS);
        assert_eq!(p.len(), 60);
        assert_eq!(&p[12..14], [8, 6]);
        assert_eq!(&p[20..22], [0, 1], "request");
        assert_eq!(&p[28..32], [0; 4], "sender address zero");
        assert_eq!(&p[38..42], ADDRESS.octets());
        assert!(!is_conflict(&p, MAC, ADDRESS), "our own probe");
    }

    #[test]
    fn conflicts_are_answers_from_the_address_and_probes_of_others() {
        let mut other_probe = arp_probe(OTHER, ADDRESS);
        other_probe[6..12].copy_from_slice(&OTHER);
        assert!(is_conflict(&other_probe, MAC, ADDRESS));
        let mut reply = arp_probe(OTHER, Ipv4Addr::new(192, 0, 2, 1));
        reply[21] = 2;
        reply[28..32].copy_from_slice(&ADDRESS.octets());
        assert!(is_conflict(&reply, MAC, ADDRESS));
        let unrelated = arp_probe(OTHER, Ipv4Addr::new(192, 0, 2, 7));
        assert!(!is_conflict(&unrelated, MAC, ADDRESS));
        assert!(
            !is_conflict(&[0; 20], MAC, ADDRESS),
            "short frames are no conflict"
        );
    }
}
