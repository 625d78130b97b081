//! The DHCPv6 server's sockets, as kea-dhcp6 opens them: on each configured interface a UDP
//! socket on port 547, bound to the interface, joined to `ff02::1:2` there, that learns each
//! datagram's destination address and interface from `IPV6_RECVPKTINFO`. Replies to clients
//! leave from the interface's link-local address to the client's link-local address with the
//! interface as its scope; replies to relays from the address the core chose (a global one) to
//! the relay's. Both go through `IPV6_PKTINFO`, so the source is the one the core named.

use crate::net::{receive_udp, recv_with_info};
use dhcplab_kea_config::dhcp6::InterfacesConfig6;
use dhcplab_server6::{ALL_DHCP_RELAY_AGENTS_AND_SERVERS, Interface, Transmit};
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn6, sendmsg, setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::BTreeMap;
use std::io::{self, IoSlice};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// The port DHCPv6 servers and relays listen on (RFC 8415 7.2).
pub const SERVER_PORT: u16 = 547;

/// Why the interfaces cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A configured interface does not exist.
    #[error("interface {0:?} does not exist")]
    NoSuchInterface(String),
    /// A configured interface has no link-local address to answer clients from (IPv6 off,
    /// or duplicate address detection still running).
    #[error("interface {0:?} has no IPv6 link-local address")]
    NoLinkLocal(String),
    /// The address given as `name/address` is not on the interface.
    #[error("interface {name:?} does not have the address {address}")]
    AddressNotOnInterface {
        /// Interface name.
        name: String,
        /// The address asked for.
        address: Ipv6Addr,
    },
    /// The socket could not be opened.
    #[error("interface {name:?}: UDP socket on port 547: {source}")]
    Udp {
        /// Interface name.
        name: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Interfaces could not be listed.
    #[error("listing interfaces: {0}")]
    List(#[source] io::Error),
}

/// A datagram as the sockets hand it to the server loop: the sender with the interface as
/// scope when it is link-local, and the address it was sent to (`ff02::1:2` or one of the
/// server's).
pub type Received = crate::net::Received<SocketAddrV6, Ipv6Addr>;

/// One served interface and its socket.
#[derive(Debug)]
pub struct Link {
    /// What the server core knows of it.
    pub interface: Interface,
    socket: UdpSocket,
}

/// An interface's IPv6 addresses as the kernel lists them.
#[derive(Debug, Clone, Default)]
struct Found {
    index: u32,
    link_local: Option<Ipv6Addr>,
    globals: Vec<Ipv6Addr>,
}

/// True for an address of fe80::/10.
pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Every interface with its IPv6 addresses, by name.
fn list() -> Result<BTreeMap<String, Found>, NetError> {
    let mut out: BTreeMap<String, Found> = BTreeMap::new();
    let addrs = nix::ifaddrs::getifaddrs().map_err(|e| NetError::List(e.into()))?;
    for ifa in addrs {
        let entry = out.entry(ifa.interface_name.clone()).or_default();
        if entry.index == 0 {
            entry.index = nix::net::if_::if_nametoindex(ifa.interface_name.as_str()).unwrap_or(0);
        }
        let Some(a) = ifa.address.as_ref().and_then(|a| a.as_sockaddr_in6()) else {
            continue;
        };
        let ip = a.ip();
        if is_link_local(&ip) {
            entry.link_local.get_or_insert(ip);
        } else if !ip.is_loopback() && !ip.is_unspecified() {
            entry.globals.push(ip);
        }
    }
    Ok(out)
}

/// Opens the socket of every interface `config` names (`*`: every interface with a
/// link-local address except loopback). An interface that cannot be served is an error, as
/// in [`crate::net::open`].
pub fn open(config: &InterfacesConfig6) -> Result<Vec<Link>, NetError> {
    let all = list()?;
    let mut wanted: Vec<(String, Found, Option<Ipv6Addr>)> = Vec::new();
    for i in &config.interfaces {
        if i.name == "*" {
            for (name, found) in all
                .iter()
                .filter(|(n, f)| f.link_local.is_some() && n.as_str() != "lo")
            {
                wanted.push((name.clone(), found.clone(), None));
            }
            continue;
        }
        let found = all
            .get(&i.name)
            .ok_or_else(|| NetError::NoSuchInterface(i.name.clone()))?;
        wanted.push((i.name.clone(), found.clone(), i.address));
    }
    wanted.sort_by_key(|w| w.1.index);
    wanted.dedup_by(|a, b| a.1.index == b.1.index);
    wanted
        .into_iter()
        .map(|(name, found, unicast)| open_link(name, found, unicast))
        .collect()
}

fn open_link(name: String, found: Found, unicast: Option<Ipv6Addr>) -> Result<Link, NetError> {
    if let Some(a) = unicast.filter(|a| !found.globals.contains(a) && found.link_local != Some(*a))
    {
        return Err(NetError::AddressNotOnInterface { name, address: a });
    }
    let link_local = found
        .link_local
        .ok_or_else(|| NetError::NoLinkLocal(name.clone()))?;
    let udp_error = |source| NetError::Udp {
        name: name.clone(),
        source,
    };
    let socket = udp_socket(&name, found.index).map_err(udp_error)?;
    let socket = UdpSocket::from_std(std::net::UdpSocket::from(socket)).map_err(udp_error)?;
    Ok(Link {
        interface: Interface {
            index: found.index,
            name,
            link_local,
            addresses: found.globals,
        },
        socket,
    })
}

/// The interface's socket: bound to it and to `[::]:547` (so both `ff02::1:2` and the
/// interface's own addresses reach it), joined to `ff02::1:2` on it, with the destination of
/// each datagram reported.
fn udp_socket(name: &str, index: u32) -> io::Result<Socket> {
    let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_only_v6(true)?;
    s.set_reuse_address(true)?;
    s.bind_device(Some(name.as_bytes()))?;
    setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true).map_err(io::Error::from)?;
    s.join_multicast_v6(&ALL_DHCP_RELAY_AGENTS_AND_SERVERS, index)?;
    s.set_multicast_loop_v6(false)?;
    dhcplab_packet_socket::enlarge_receive_buffer(&s);
    s.bind(&SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, SERVER_PORT, 0, 0).into())?;
    s.set_nonblocking(true)?;
    Ok(s)
}

impl Link {
    /// Reads datagrams for ever, handing each to `out`; ends when `out` is closed or the
    /// socket fails.
    pub async fn receive(&self, out: mpsc::Sender<Received>) -> io::Result<()> {
        let index = self.interface.index;
        receive_udp(&self.socket, index, out, |buf| {
            recv(&self.socket, buf, index)
        })
        .await
    }

    /// Sends a datagram from the source address the core chose, out of this interface.
    pub fn send(&self, t: &Transmit) -> io::Result<()> {
        let mut destination = t.destination;
        if is_link_local(destination.ip()) && destination.scope_id() == 0 {
            destination.set_scope_id(self.interface.index);
        }
        let info = nix::libc::in6_pktinfo {
            ipi6_addr: nix::libc::in6_addr {
                s6_addr: t.source.ip().octets(),
            },
            ipi6_ifindex: self.interface.index,
        };
        let cmsgs = [ControlMessage::Ipv6PacketInfo(&info)];
        let cmsgs: &[ControlMessage<'_>] = if t.source.ip().is_unspecified() {
            &[]
        } else {
            &cmsgs
        };
        let iov = [IoSlice::new(&t.payload)];
        let to = SockaddrIn6::from(destination);
        sendmsg(
            self.socket.as_raw_fd(),
            &iov,
            cmsgs,
            MsgFlags::empty(),
            Some(&to),
        )
        .map(|_| ())
        .map_err(io::Error::from)
    }
}

/// Reads one datagram with the address it was sent to (`IPV6_PKTINFO`); a link-local sender
/// gets the interface as its scope.
fn recv(
    socket: &UdpSocket,
    buf: &mut [u8],
    index: u32,
) -> io::Result<(usize, SocketAddrV6, Ipv6Addr)> {
    let mut cmsg = nix::cmsg_space!(nix::libc::in6_pktinfo);
    let (n, source, destination) =
        recv_with_info::<SockaddrIn6, _>(socket, buf, &mut cmsg, |c| match c {
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                Some(Ipv6Addr::from(info.ipi6_addr.s6_addr))
            }
            _ => None,
        })?;
    let mut source = source.map_or(
        SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 546, 0, 0),
        SocketAddrV6::from,
    );
    if is_link_local(source.ip()) && source.scope_id() == 0 {
        source.set_scope_id(index);
    }
    Ok((
        n,
        source,
        destination.unwrap_or(ALL_DHCP_RELAY_AGENTS_AND_SERVERS),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_is_fe80_slash_10() {
        assert!(is_link_local(&"fe80::1".parse().expect("address")));
        assert!(is_link_local(&"febf::1".parse().expect("address")));
        assert!(!is_link_local(&"fec0::1".parse().expect("address")));
        assert!(!is_link_local(&"2001:db8::1".parse().expect("address")));
        assert!(!is_link_local(&ALL_DHCP_RELAY_AGENTS_AND_SERVERS));
    }

    #[test]
    fn a_missing_interface_is_named() {
        let config = InterfacesConfig6 {
            interfaces: vec![dhcplab_kea_config::common::Interface {
                name: "dlab-none-such0".into(),
                address: None,
            }],
        };
        let e = open(&config).expect_err("no such interface");
        assert!(
            matches!(&e, NetError::NoSuchInterface(n) if n == "dlab-none-such0"),
            "{e}"
        );
    }
}
