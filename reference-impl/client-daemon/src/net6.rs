//! One interface's DHCPv6 sockets. The main socket is bound to the interface's link-local
//! address and port 546 (with its scope id, and to the device): multicasts to
//! All_DHCP_Relay_Agents_and_Servers (ff02::1:2, port 547) leave through this interface
//! (IPV6_MULTICAST_IF) from the link-local address, as RFC 8415 13.1 asks, and servers answer
//! to it. A message the core sends from another address (a Renew unicast to a server that sent
//! the Server Unicast option, RFC 8415 18.2.4, from an address the client holds) goes through
//! a second socket bound to that address and port 546, which then also listens, since the
//! server answers to it.
//!
//! Hop limit: RFC 8415 does not set one for clients; ff02::1:2 is link-scoped (RFC 8415 7.1)
//! and is never forwarded, and hop limit 1 on multicast (the kernel's default, set here
//! explicitly) says so on the wire. Unicasts keep the kernel's default hop limit, as a server
//! behind a relay may be further away.

use dhcplab_client6::Transmit;
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;

/// The port DHCPv6 clients listen on (RFC 8415 7.2).
pub const CLIENT_PORT6: u16 = 546;
/// The port DHCPv6 servers and relay agents listen on.
pub const SERVER_PORT6: u16 = 547;

/// The DHCPv6 sockets of one interface.
#[derive(Debug)]
pub struct Link6 {
    name: String,
    index: u32,
    link_local: Ipv6Addr,
    main: UdpSocket,
    /// The socket bound to a held address, for unicasts from it, with that address.
    other: Mutex<Option<(Ipv6Addr, Arc<UdpSocket>)>>,
}

impl Link6 {
    /// Opens the main socket on interface `name` (index `index`) bound to `link_local`.
    pub fn open(name: &str, index: u32, link_local: Ipv6Addr) -> io::Result<Self> {
        let s = socket(name, index, link_local)?;
        s.set_multicast_if_v6(index)?;
        s.set_multicast_hops_v6(1)?;
        Ok(Self {
            name: name.to_string(),
            index,
            link_local,
            main: UdpSocket::from_std(s.into())?,
            other: Mutex::new(None),
        })
    }

    /// The link-local address the main socket is bound to.
    pub fn link_local(&self) -> Ipv6Addr {
        self.link_local
    }

    /// Sends `t` to its destination's port 547: from the link-local socket, or from a socket
    /// bound to `t.source` when that is another address.
    pub async fn transmit(&self, t: &Transmit) -> io::Result<()> {
        let scope = if t.destination.is_unicast_link_local() || t.destination.is_multicast() {
            self.index
        } else {
            0
        };
        let to = SocketAddr::V6(SocketAddrV6::new(t.destination, SERVER_PORT6, 0, scope));
        if t.source == self.link_local || t.source.is_unspecified() {
            self.main.send_to(&t.payload, to).await?;
            return Ok(());
        }
        let other = self.other_socket(t.source)?;
        other.send_to(&t.payload, to).await?;
        Ok(())
    }

    /// The socket bound to `source`, opened (and the previous one closed) when needed.
    fn other_socket(&self, source: Ipv6Addr) -> io::Result<Arc<UdpSocket>> {
        let mut other = self
            .other
            .lock()
            .map_err(|_| io::Error::other("socket table poisoned"))?;
        if let Some((a, s)) = other.as_ref()
            && *a == source
        {
            return Ok(s.clone());
        }
        let s = socket(&self.name, 0, source)?;
        let s = Arc::new(UdpSocket::from_std(s.into())?);
        *other = Some((source, s.clone()));
        Ok(s)
    }

    /// Waits for a datagram on either socket; its payload.
    pub async fn receive(&self, buf: &mut [u8]) -> io::Result<Vec<u8>> {
        let other = self
            .other
            .lock()
            .ok()
            .and_then(|o| o.as_ref().map(|(_, s)| s.clone()));
        let n = match other {
            None => self.main.recv(buf).await?,
            Some(o) => loop {
                let ready = tokio::select! {
                    r = self.main.readable() => r.map(|()| &self.main),
                    r = o.readable() => r.map(|()| &*o),
                }?;
                match ready.try_recv(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    r => break r?,
                }
            },
        };
        Ok(buf[..n].to_vec())
    }
}

/// A UDP socket on interface `name` bound to `address` port 546 (`scope` for a link-local
/// one). Freebind lets it bind an address whose duplicate address detection is not over.
fn socket(name: &str, scope: u32, address: Ipv6Addr) -> io::Result<Socket> {
    let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_only_v6(true)?;
    s.set_reuse_address(true)?;
    s.bind_device(Some(name.as_bytes()))?;
    s.set_freebind_v6(true)?;
    s.bind(&SocketAddrV6::new(address, CLIENT_PORT6, 0, scope).into())?;
    s.set_nonblocking(true)?;
    Ok(s)
}
