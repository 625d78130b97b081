//! Linux packet sockets for DHCP daemons.
//!
//! A DHCP server must hear clients that have no IPv4 address yet and answer them at their
//! link address without ARP; a DHCP client must do both before its interface has an address.
//! Kea calls this its raw socket mode. [`PacketSocket`] is an `AF_PACKET` socket bound to one
//! interface with a classic BPF program that passes only IPv4 UDP datagrams to one port (not
//! fragments, not the host's own outgoing frames), so the kernel copies nothing else to it.
//! [`AsyncPacketSocket`] is the same socket in a tokio reactor. [`interfaces`] lists the
//! interfaces with their index, link address and IPv4 addresses.

use nix::ifaddrs::getifaddrs;
use socket2::{Domain, Protocol, SockFilter, Socket, Type};
use std::collections::BTreeMap;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

/// Receive buffer of a packet socket, in bytes.
pub const RECV_BUFFER: usize = 8 << 20;

/// Gives `socket` a receive buffer of [`RECV_BUFFER`] bytes, so it rides out bursts while its
/// reader is busy: as root past the system's limit (`net.core.rmem_max`), else up to it.
pub fn enlarge_receive_buffer(socket: &Socket) {
    if nix::sys::socket::setsockopt(socket, nix::sys::socket::sockopt::RcvBufForce, &RECV_BUFFER)
        .is_err()
    {
        let _ = socket.set_recv_buffer_size(RECV_BUFFER);
    }
}

/// `ETH_P_IP`: the EtherType of IPv4.
const ETH_P_IP: u16 = 0x0800;
/// `ETH_P_ARP`: the EtherType of ARP.
const ETH_P_ARP: u16 = 0x0806;
/// `ETH_P_ALL`: every protocol, in network byte order as `socket(2)` wants it.
const ETH_P_ALL_BE: i32 = (libc::ETH_P_ALL as u16).to_be() as i32;

/// Why a packet socket could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PacketSocketError {
    /// `socket(AF_PACKET)` failed (needs CAP_NET_RAW).
    #[error("cannot open a packet socket (needs CAP_NET_RAW): {0}")]
    Open(#[source] io::Error),
    /// Attaching the filter failed.
    #[error("cannot attach the packet filter: {0}")]
    Filter(#[source] io::Error),
    /// Binding to the interface failed.
    #[error("cannot bind the packet socket to interface index {index}: {source}")]
    Bind {
        /// The interface index.
        index: u32,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Listing interfaces failed.
    #[error("cannot list interfaces: {0}")]
    Interfaces(#[source] io::Error),
}

/// An interface as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Name, as `eth0`.
    pub name: String,
    /// Kernel index.
    pub index: u32,
    /// Link-layer (MAC) address; zero when the interface has none.
    pub mac: [u8; 6],
    /// IPv4 addresses with their prefix lengths, in the kernel's order.
    pub addresses: Vec<(Ipv4Addr, u8)>,
    /// The interface is up.
    pub up: bool,
}

/// Every interface of the current network namespace, by name.
pub fn interfaces() -> Result<BTreeMap<String, InterfaceInfo>, PacketSocketError> {
    let mut out: BTreeMap<String, InterfaceInfo> = BTreeMap::new();
    let list = getifaddrs().map_err(|e| PacketSocketError::Interfaces(e.into()))?;
    for ifa in list {
        let entry = out
            .entry(ifa.interface_name.clone())
            .or_insert_with(|| InterfaceInfo {
                name: ifa.interface_name.clone(),
                index: 0,
                mac: [0; 6],
                addresses: Vec::new(),
                up: false,
            });
        entry.up |= ifa.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP);
        let Some(addr) = ifa.address else { continue };
        if let Some(link) = addr.as_link_addr() {
            entry.index = u32::try_from(link.ifindex()).unwrap_or(0);
            if let Some(mac) = link.addr() {
                entry.mac = mac;
            }
        } else if let Some(v4) = addr.as_sockaddr_in() {
            let len = ifa
                .netmask
                .and_then(|m| {
                    m.as_sockaddr_in()
                        .map(|m| u32::from(m.ip()).count_ones() as u8)
                })
                .unwrap_or(32);
            entry.addresses.push((v4.ip(), len));
        }
    }
    for info in out.values_mut().filter(|i| i.index == 0) {
        info.index = nix::net::if_::if_nametoindex(info.name.as_str()).unwrap_or(0);
    }
    Ok(out)
}

/// Classic BPF opcodes from linux/filter.h.
mod op {
    pub const LD_B_ABS: u16 = 0x30;
    pub const LD_H_ABS: u16 = 0x28;
    pub const LD_H_IND: u16 = 0x48;
    pub const LDX_B_MSH: u16 = 0xb1;
    pub const JEQ: u16 = 0x15;
    pub const JSET: u16 = 0x45;
    pub const RET: u16 = 0x06;
}

/// The classic BPF program as (code, jump if true, jump if false, k): IPv4 UDP to `port`, not
/// a fragment, not one of the host's own outgoing frames.
fn program(port: u16) -> [(u16, u8, u8, u32); 13] {
    // SKF_AD_OFF + SKF_AD_PKTTYPE: the ancillary load of the packet type.
    const PKTTYPE: u32 = 0xffff_f004;
    const PACKET_OUTGOING: u32 = 4;
    [
        (op::LD_B_ABS, 0, 0, PKTTYPE),
        (op::JEQ, 10, 0, PACKET_OUTGOING),
        (op::LD_H_ABS, 0, 0, 12),
        (op::JEQ, 0, 8, ETH_P_IP as u32),
        (op::LD_B_ABS, 0, 0, 23),
        (op::JEQ, 0, 6, libc::IPPROTO_UDP as u32),
        (op::LD_H_ABS, 0, 0, 20),
        (op::JSET, 4, 0, 0x1fff),
        (op::LDX_B_MSH, 0, 0, 14),
        (op::LD_H_IND, 0, 0, 16),
        (op::JEQ, 0, 1, u32::from(port)),
        (op::RET, 0, 0, 0x0004_0000),
        (op::RET, 0, 0, 0),
    ]
}

/// The classic BPF program for ARP: every ARP frame that is not one of the host's own.
fn arp_program() -> [(u16, u8, u8, u32); 6] {
    const PKTTYPE: u32 = 0xffff_f004;
    const PACKET_OUTGOING: u32 = 4;
    [
        (op::LD_B_ABS, 0, 0, PKTTYPE),
        (op::JEQ, 3, 0, PACKET_OUTGOING),
        (op::LD_H_ABS, 0, 0, 12),
        (op::JEQ, 0, 1, ETH_P_ARP as u32),
        (op::RET, 0, 0, 0x0004_0000),
        (op::RET, 0, 0, 0),
    ]
}

fn to_filter(program: &[(u16, u8, u8, u32)]) -> Vec<SockFilter> {
    program
        .iter()
        .map(|(code, jt, jf, k)| SockFilter::new(*code, *jt, *jf, *k))
        .collect()
}

/// A BPF program that passes nothing: for a UDP socket that only sends.
pub fn drop_all() -> [SockFilter; 1] {
    [SockFilter::new(op::RET, 0, 0, 0)]
}

/// An `AF_PACKET` socket on one interface that receives Ethernet frames carrying IPv4 UDP to
/// one port and sends whole Ethernet frames. Non-blocking.
#[derive(Debug)]
pub struct PacketSocket {
    socket: Socket,
    index: u32,
}

impl PacketSocket {
    /// Opens a socket on interface `index` for UDP datagrams to `port`.
    pub fn open(index: u32, port: u16) -> Result<Self, PacketSocketError> {
        Self::with_program(index, &program(port), true)
    }

    /// Opens a socket on interface `index` for ARP frames (RFC 5227 address probes).
    pub fn open_arp(index: u32) -> Result<Self, PacketSocketError> {
        Self::with_program(index, &arp_program(), false)
    }

    /// A socket on interface `index` that passes what `program` accepts; `large_buffer` for
    /// sockets that must ride out bursts.
    fn with_program(
        index: u32,
        program: &[(u16, u8, u8, u32)],
        large_buffer: bool,
    ) -> Result<Self, PacketSocketError> {
        // Protocol 0 receives nothing until bound, so no frame of another interface slips in
        // between socket() and bind().
        let socket = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))
            .map_err(PacketSocketError::Open)?;
        socket
            .attach_filter(&to_filter(program))
            .map_err(PacketSocketError::Filter)?;
        bind(&socket, index).map_err(|source| PacketSocketError::Bind { index, source })?;
        if large_buffer {
            enlarge_receive_buffer(&socket);
        }
        socket
            .set_nonblocking(true)
            .map_err(PacketSocketError::Open)?;
        Ok(Self { socket, index })
    }

    /// The interface index the socket is bound to.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Reads one frame into `buf`; `WouldBlock` when none is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        nix::sys::socket::recv(
            self.socket.as_raw_fd(),
            buf,
            nix::sys::socket::MsgFlags::empty(),
        )
        .map_err(io::Error::from)
    }

    /// Sends one whole Ethernet frame on the interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
        send_after_link_flap(&self.socket, frame)
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// A [`PacketSocket`] registered with the tokio reactor of the calling task.
#[derive(Debug)]
pub struct AsyncPacketSocket {
    fd: tokio::io::unix::AsyncFd<PacketSocket>,
}

impl AsyncPacketSocket {
    /// Registers `socket` with the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    #[allow(unsafe_code)]
    pub fn new(socket: PacketSocket) -> io::Result<Self> {
        // SAFETY: a `PacketSocket` owns its descriptor (a socket2 `Socket`), never replaces
        // it, and closes it only when dropped, which the `AsyncFd` does after deregistering.
        let fd = unsafe { tokio::io::unix::AsyncFd::register(socket) }.map_err(io::Error::from)?;
        Ok(Self { fd })
    }

    /// The interface index the socket is bound to.
    pub fn index(&self) -> u32 {
        self.fd.get_ref().index()
    }

    /// Waits for frames and reads those waiting, at most `max`, handing each to `each`;
    /// returns how many were read. The error a link that went down leaves on the socket
    /// (ENETDOWN, reported once by the next read) is taken and reading goes on.
    pub async fn recv_batch(
        &self,
        buf: &mut [u8],
        max: usize,
        mut each: impl FnMut(&[u8]),
    ) -> io::Result<usize> {
        let mut guard = self.fd.readable().await?;
        let mut count = 0;
        while count < max {
            match guard.get_inner().recv(buf) {
                Ok(n) => {
                    count += 1;
                    each(buf.get(..n).unwrap_or_default());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    guard.clear_ready();
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(nix::libc::ENETDOWN) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(count)
    }

    /// Sends one whole Ethernet frame on the interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
        self.fd.get_ref().send(frame)
    }

    /// Reads one waiting frame without waiting; `WouldBlock` when none is queued.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.get_ref().recv(buf)
    }
}

/// Sends `frame`. A link that went down leaves its packet sockets an error (ENETDOWN) that the
/// first send after the link is back up still reports, and that frame is lost: a client's
/// INIT-REBOOT REQUEST on link up, for one. The error is taken and the frame sent once more.
fn send_after_link_flap(socket: &Socket, frame: &[u8]) -> io::Result<usize> {
    match socket.send(frame) {
        Err(e) if e.raw_os_error() == Some(nix::libc::ENETDOWN) => {
            let _ = socket.take_error();
            socket.send(frame)
        }
        other => other,
    }
}

/// Binds `socket` to interface `index` for every protocol (the filter selects).
#[allow(unsafe_code)]
fn bind(socket: &Socket, index: u32) -> io::Result<()> {
    let ifindex = i32::try_from(index).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `try_init` hands a zeroed `sockaddr_storage` of sufficient size; we write a
    // `sockaddr_ll`, which fits in it, through a properly typed pointer and report its exact
    // length, so the address the kernel reads is fully initialised.
    let ((), addr) = unsafe {
        socket2::SockAddr::try_init(|storage, len| {
            let ll = storage.cast::<libc::sockaddr_ll>();
            (*ll).sll_family = libc::AF_PACKET as u16;
            (*ll).sll_protocol = ETH_P_ALL_BE as u16;
            (*ll).sll_ifindex = ifindex;
            *len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            Ok(())
        })?
    };
    socket.bind(&addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every jump stays inside `prog`, and every test that fails leads to the reject return
    /// (the last instruction; accept is the one before it).
    fn check_jumps(prog: &[(u16, u8, u8, u32)]) {
        let accept = prog.len() - 2;
        let reject = prog.len() - 1;
        assert_eq!(prog[accept], (op::RET, 0, 0, 0x0004_0000));
        assert_eq!(prog[reject], (op::RET, 0, 0, 0));
        for (i, (code, jt, jf, _)) in prog.iter().enumerate() {
            if matches!(*code, op::JEQ | op::JSET) {
                for target in [i + 1 + usize::from(*jt), i + 1 + usize::from(*jf)] {
                    assert!(
                        target < prog.len(),
                        "instruction {i} jumps out of the program"
                    );
                }
                // Instruction 1 rejects the host's own frames when its test holds.
                let on_fail = if *code == op::JSET || i == 1 {
                    *jt
                } else {
                    *jf
                };
                assert_eq!(i + 1 + usize::from(on_fail), reject, "instruction {i}");
            }
        }
    }

    #[test]
    fn every_jump_of_the_filters_lands_on_the_right_return() {
        let prog = program(67);
        check_jumps(&prog);
        assert_eq!(prog[10].3, 67, "the port is the one asked for");
        let arp = arp_program();
        check_jumps(&arp);
        assert_eq!(arp[3].3, 0x0806);
    }
}
