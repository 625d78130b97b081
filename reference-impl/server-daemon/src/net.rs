//! The server's sockets on each configured interface, as Kea opens them: in raw mode a packet
//! socket receives every DHCP query (clients without an address included) and sends to
//! clients at their link address, and a UDP socket on port 67 sends routed replies (to relays
//! and to clients' own addresses) while receiving nothing; in UDP mode one UDP socket does
//! both, and replies to clients without an address are broadcast.

use dhcplab_frame::{Decoded, LinkType};
use dhcplab_kea_config::dhcp4::{InterfacesConfig, SocketType};
use dhcplab_packet_socket::{
    AsyncPacketSocket, InterfaceInfo, PacketSocket, PacketSocketError, drop_all, interfaces,
};
use dhcplab_server::{Interface, Transmit};
use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrLike, recvmsg, setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// The port DHCPv4 servers listen on.
const SERVER_PORT: u16 = 67;

/// Why the interfaces cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A configured interface does not exist.
    #[error("interface {0:?} does not exist")]
    NoSuchInterface(String),
    /// A configured interface has no IPv4 address to serve from.
    #[error("interface {0:?} has no IPv4 address")]
    NoAddress(String),
    /// The address given as `name/address` is not on the interface.
    #[error("interface {name:?} does not have the address {address}")]
    AddressNotOnInterface {
        /// Interface name.
        name: String,
        /// The address asked for.
        address: Ipv4Addr,
    },
    /// A packet socket could not be opened.
    #[error("interface {name:?}: {source}")]
    Packet {
        /// Interface name.
        name: String,
        /// Why.
        #[source]
        source: PacketSocketError,
    },
    /// A UDP socket could not be opened.
    #[error("interface {name:?}: UDP socket on port 67: {source}")]
    Udp {
        /// Interface name.
        name: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Interfaces could not be listed.
    #[error(transparent)]
    List(#[from] PacketSocketError),
}

/// A datagram as the sockets hand it to the server loop; `A` is the sender's socket address
/// and `D` the destination address of the family (DHCPv6's is [`crate::net6::Received`]).
#[derive(Debug)]
pub struct Received<A = SocketAddrV4, D = Ipv4Addr> {
    /// Interface index.
    pub interface: u32,
    /// Sender.
    pub source: A,
    /// Destination address.
    pub destination: D,
    /// UDP payload.
    pub payload: Vec<u8>,
}

/// One served interface and its sockets.
#[derive(Debug)]
pub struct Link {
    /// What the server core knows of it.
    pub interface: Interface,
    mac: [u8; 6],
    packet: Option<AsyncPacketSocket>,
    udp: UdpSocket,
}

/// Opens the sockets of every interface `config` names (`*`: every interface with an IPv4
/// address except loopback). An interface that cannot be served is an error: a server that
/// silently serves fewer interfaces than configured is worse than one that does not start.
pub fn open(config: &InterfacesConfig) -> Result<Vec<Link>, NetError> {
    let all = interfaces()?;
    let raw = config.socket_type == SocketType::Raw;
    let mut wanted: Vec<(InterfaceInfo, Option<Ipv4Addr>)> = Vec::new();
    for i in &config.interfaces {
        if i.name == "*" {
            for info in all
                .values()
                .filter(|x| !x.addresses.is_empty() && x.name != "lo")
            {
                wanted.push((info.clone(), None));
            }
            continue;
        }
        let info = all
            .get(&i.name)
            .ok_or_else(|| NetError::NoSuchInterface(i.name.clone()))?;
        wanted.push((info.clone(), i.address));
    }
    wanted.dedup_by(|a, b| a.0.index == b.0.index);
    wanted
        .into_iter()
        .map(|(info, address)| open_link(&info, address, raw))
        .collect()
}

fn open_link(info: &InterfaceInfo, address: Option<Ipv4Addr>, raw: bool) -> Result<Link, NetError> {
    let address = match address {
        Some(a) if info.addresses.iter().any(|(x, _)| *x == a) => a,
        Some(a) => {
            return Err(NetError::AddressNotOnInterface {
                name: info.name.clone(),
                address: a,
            });
        }
        None => info
            .addresses
            .first()
            .map(|(a, _)| *a)
            .ok_or_else(|| NetError::NoAddress(info.name.clone()))?,
    };
    let udp_error = |source| NetError::Udp {
        name: info.name.clone(),
        source,
    };
    let packet = if raw {
        let p = PacketSocket::open(info.index, SERVER_PORT).map_err(|source| NetError::Packet {
            name: info.name.clone(),
            source,
        })?;
        Some(AsyncPacketSocket::new(p).map_err(udp_error)?)
    } else {
        None
    };
    let udp = udp_socket(
        &info.name,
        if raw { address } else { Ipv4Addr::UNSPECIFIED },
        raw,
    )
    .map_err(udp_error)?;
    Ok(Link {
        interface: Interface {
            index: info.index,
            name: info.name.clone(),
            address,
            direct_response: raw,
        },
        mac: info.mac,
        packet,
        udp: UdpSocket::from_std(std::net::UdpSocket::from(udp)).map_err(udp_error)?,
    })
}

/// The UDP socket of an interface: bound to it and to port 67; in raw mode it only sends, so
/// a filter drops everything the kernel would queue on it.
fn udp_socket(name: &str, address: Ipv4Addr, raw: bool) -> io::Result<Socket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_broadcast(true)?;
    s.bind_device(Some(name.as_bytes()))?;
    if raw {
        s.attach_filter(&drop_all())?;
    } else {
        setsockopt(&s, sockopt::Ipv4PacketInfo, &true).map_err(io::Error::from)?;
        dhcplab_packet_socket::enlarge_receive_buffer(&s);
    }
    s.bind(&SocketAddrV4::new(address, SERVER_PORT).into())?;
    s.set_nonblocking(true)?;
    Ok(s)
}

impl Link {
    /// Reads datagrams for ever, handing each to `out`; ends when `out` is closed or the
    /// socket fails.
    pub async fn receive(&self, out: mpsc::Sender<Received>) -> io::Result<()> {
        let mut buf = vec![0u8; 65_536];
        let index = self.interface.index;
        let Some(p) = &self.packet else {
            return receive_udp(&self.udp, index, out, |buf| recv_udp(&self.udp, buf)).await;
        };
        loop {
            let mut batch = Vec::new();
            p.recv_batch(&mut buf, 256, |frame| {
                batch.extend(datagram(frame, index));
            })
            .await?;
            if !forward(batch, &out).await {
                return Ok(());
            }
        }
    }

    /// Sends a reply as the server asked: a frame to a link address when the interface has a
    /// packet socket, else a routed datagram.
    pub fn send(&self, t: &Transmit) -> io::Result<()> {
        match (&self.packet, t.link_destination) {
            (Some(p), Some(mac)) => {
                let frame = dhcplab_frame::encode_udp(
                    self.mac,
                    mac,
                    t.source.into(),
                    t.destination.into(),
                    64,
                    &t.payload,
                )
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                p.send(&frame).map(|_| ())
            }
            _ => self
                .udp
                .try_send_to(&t.payload, t.destination.into())
                .map(|_| ()),
        }
    }
}

/// Reads datagrams from a UDP socket of interface `index` for ever with `recv` (which fills
/// the buffer and says how many bytes, from where, to where), handing them to `out` in
/// batches; ends when `out` is closed or the socket fails.
pub(crate) async fn receive_udp<A, D>(
    udp: &UdpSocket,
    index: u32,
    out: mpsc::Sender<Received<A, D>>,
    mut recv: impl FnMut(&mut [u8]) -> io::Result<(usize, A, D)>,
) -> io::Result<()> {
    let mut buf = vec![0u8; 65_536];
    loop {
        let batch = read_batch(udp, || {
            let (n, source, destination) = recv(&mut buf)?;
            Ok(Received {
                interface: index,
                source,
                destination,
                payload: buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default(),
            })
        })
        .await?;
        if !forward(batch, &out).await {
            return Ok(());
        }
    }
}

/// Reads one datagram with `recvmsg`, `cmsg` room for its control messages; the byte count,
/// the sender, and what `pick` finds in the control messages (the packet info).
pub(crate) fn recv_with_info<A: SockaddrLike, D>(
    socket: &UdpSocket,
    buf: &mut [u8],
    cmsg: &mut [u8],
    pick: impl Fn(ControlMessageOwned) -> Option<D>,
) -> io::Result<(usize, Option<A>, Option<D>)> {
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<A>(socket.as_raw_fd(), &mut iov, Some(cmsg), MsgFlags::empty())
        .map_err(io::Error::from)?;
    let info = msg.cmsgs().ok().into_iter().flatten().find_map(pick);
    Ok((msg.bytes, msg.address, info))
}

/// Waits until `udp` is readable, then reads datagrams with `read` until none is left or 256
/// are read (one batch for the server loop's group commit).
async fn read_batch<R>(
    udp: &UdpSocket,
    mut read: impl FnMut() -> io::Result<R>,
) -> io::Result<Vec<R>> {
    udp.readable().await?;
    let mut batch = Vec::new();
    while batch.len() < 256 {
        match udp.try_io(Interest::READABLE, &mut read) {
            Ok(r) => batch.push(r),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(batch)
}

/// Hands a batch to the server loop; false when the loop is gone.
pub(crate) async fn forward<R>(batch: Vec<R>, out: &mpsc::Sender<R>) -> bool {
    for r in batch {
        if out.send(r).await.is_err() {
            return false;
        }
    }
    true
}

/// The DHCP datagram of an Ethernet frame the filter passed.
fn datagram(frame: &[u8], interface: u32) -> Option<Received> {
    let Ok(Decoded::Udp(d)) = dhcplab_frame::decode(LinkType::Ethernet, frame) else {
        return None;
    };
    let (std::net::SocketAddr::V4(source), std::net::SocketAddr::V4(destination)) = (d.src, d.dst)
    else {
        return None;
    };
    Some(Received {
        interface,
        source,
        destination: *destination.ip(),
        payload: d.payload.to_vec(),
    })
}

/// Reads one datagram from a UDP socket with the address it was sent to (`IP_PKTINFO`).
fn recv_udp(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddrV4, Ipv4Addr)> {
    let mut cmsg = nix::cmsg_space!(nix::libc::in_pktinfo);
    let (n, source, destination) =
        recv_with_info::<SockaddrIn, _>(socket, buf, &mut cmsg, |c| match c {
            ControlMessageOwned::Ipv4PacketInfo(info) => {
                Some(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)))
            }
            _ => None,
        })?;
    let source = source.map_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68), |a| {
        SocketAddrV4::new(a.ip(), a.port())
    });
    Ok((n, source, destination.unwrap_or(Ipv4Addr::BROADCAST)))
}
