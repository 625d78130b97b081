//! The interface's configuration through rtnetlink: the leased address with its prefix (the
//! kernel adds the broadcast address and the subnet route) and a default route through the
//! first router (protocol `dhcp`, as other clients mark theirs, metric 1000 + index); DHCPv6
//! addresses as /128 with the lease's lifetimes (IFA_CACHEINFO), so the kernel deprecates and
//! removes them on its own should the agent die; the interface's usable link-local address;
//! carrier changes, which the client hears as link down and link up; and the outcome of
//! duplicate address detection on IPv6 addresses: failed (IFA_F_DADFAILED) or over
//! (IFA_F_TENTATIVE cleared).

use dhcplab_client::Configuration;
use futures_util::{StreamExt, TryStreamExt};
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope, CacheInfo,
};
use rtnetlink::packet_route::link::LinkFlags;
use rtnetlink::packet_route::route::RouteProtocol;
use rtnetlink::{Handle, MulticastGroup, RouteMessageBuilder};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tokio::sync::mpsc;

/// Default routes get metric 1000 + interface index (as dhcpcd's), so each interface has its
/// own and replacing one never replaces another interface's or the administrator's.
const ROUTE_METRIC_BASE: u32 = 1000;

/// A netlink connection for changing addresses and routes.
#[derive(Debug, Clone)]
pub struct Addresses {
    handle: Handle,
}

impl Addresses {
    /// Opens the connection; its driver runs as a task of the current runtime.
    pub fn new() -> io::Result<Self> {
        let (connection, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(connection);
        Ok(Self { handle })
    }

    /// Puts `c` on interface `index`: the address, then the default route.
    pub async fn configure(&self, index: u32, c: &Configuration) -> Result<(), rtnetlink::Error> {
        self.add(index, IpAddr::V4(c.address), c.prefix_len, None)
            .await?;
        if let Some(router) = c.routers.first() {
            let route = RouteMessageBuilder::<Ipv4Addr>::new()
                .output_interface(index)
                .gateway(*router)
                .protocol(RouteProtocol::Dhcp)
                .priority(ROUTE_METRIC_BASE + index)
                .build();
            self.handle.route().add(route).replace().execute().await?;
        }
        Ok(())
    }

    /// Takes `c`'s address off interface `index` (its routes go with it).
    pub async fn unconfigure(&self, index: u32, c: &Configuration) -> Result<(), rtnetlink::Error> {
        self.remove(index, IpAddr::V4(c.address)).await
    }

    /// Adds `address/len` to interface `index`, or replaces it (so its lifetimes are renewed);
    /// with `lifetimes` (preferred, valid; seconds, `u32::MAX` for infinite) the kernel
    /// deprecates the address at the first and removes it at the second.
    pub async fn add(
        &self,
        index: u32,
        address: IpAddr,
        len: u8,
        lifetimes: Option<(u32, u32)>,
    ) -> Result<(), rtnetlink::Error> {
        let mut request = self.handle.address().add(index, address, len).replace();
        if let Some((preferred, valid)) = lifetimes {
            let mut info = CacheInfo::default();
            info.ifa_preferred = preferred;
            info.ifa_valid = valid;
            request
                .message_mut()
                .attributes
                .push(AddressAttribute::CacheInfo(info));
        }
        request.execute().await
    }

    /// Takes `address` off interface `index`.
    pub async fn remove(&self, index: u32, address: IpAddr) -> Result<(), rtnetlink::Error> {
        let found: Vec<_> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .set_address_filter(address)
            .execute()
            .try_collect()
            .await?;
        for message in found {
            self.handle.address().del(message).execute().await?;
        }
        Ok(())
    }

    /// What DAD has said so far of `address` on interface `index`: `None` while it is
    /// tentative or when the interface does not have it.
    pub async fn dad(
        &self,
        index: u32,
        address: Ipv6Addr,
    ) -> Result<Option<Dad>, rtnetlink::Error> {
        let found: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .set_address_filter(IpAddr::V6(address))
            .execute()
            .try_collect()
            .await?;
        Ok(found
            .iter()
            .filter_map(|m| dad_outcome(m, false))
            .find(|(a, _)| *a == address)
            .map(|(_, outcome)| outcome))
    }

    /// The link-local address of interface `index` that can be used now: not tentative (duplicate
    /// address detection is over) and not found duplicate.
    pub async fn link_local(&self, index: u32) -> Result<Option<Ipv6Addr>, rtnetlink::Error> {
        let found: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_collect()
            .await?;
        Ok(found.iter().find_map(|m| {
            let (address, flags) = v6_address(m)?;
            let unusable = AddressFlags::Tentative | AddressFlags::Dadfailed;
            (m.header.scope == AddressScope::Link
                && address.is_unicast_link_local()
                && !flags.intersects(unusable))
            .then_some(address)
        }))
    }
}

/// An IPv6 address message's address and flags (IFA_FLAGS when present, else the header's).
fn v6_address(m: &AddressMessage) -> Option<(Ipv6Addr, AddressFlags)> {
    if m.header.family != AddressFamily::Inet6 {
        return None;
    }
    let mut flags = AddressFlags::from_bits_retain(u32::from(m.header.flags.bits()));
    let mut address = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Address(IpAddr::V6(x)) => address = Some(*x),
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    Some((address?, flags))
}

/// What duplicate address detection (RFC 4862 5.4) said of an IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dad {
    /// Over, and no other holder found: the address is no longer tentative.
    Done,
    /// Another host holds it (IFA_F_DADFAILED).
    Failed,
}

/// The DAD outcome an address message (RTM_NEWADDR, or RTM_DELADDR when `deleted`) tells of,
/// if any. A permanent address stays with IFA_F_DADFAILED (RTM_NEWADDR); one with lifetimes,
/// as the agent's are, is deleted with it (RTM_DELADDR; Linux's addrconf_dad_stop). An
/// address added or changed without IFA_F_TENTATIVE has passed DAD (or has none: nodad,
/// accept_dad 0); Linux sends RTM_NEWADDR when DAD completes (addrconf_dad_completed).
fn dad_outcome(m: &AddressMessage, deleted: bool) -> Option<(Ipv6Addr, Dad)> {
    let (address, flags) = v6_address(m)?;
    if flags.contains(AddressFlags::Dadfailed)
        || m.header.flags.contains(AddressHeaderFlags::Dadfailed)
    {
        return Some((address, Dad::Failed));
    }
    let tentative = flags.contains(AddressFlags::Tentative)
        || m.header.flags.contains(AddressHeaderFlags::Tentative);
    (!deleted && !tentative).then_some((address, Dad::Done))
}

/// Reports (interface index, address, outcome) for every IPv6 address whose duplicate address
/// detection ends, until `out` closes.
pub async fn watch_dad(out: mpsc::Sender<(u32, Ipv6Addr, Dad)>) -> io::Result<()> {
    let (connection, _handle, mut messages) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Ipv6Ifaddr])?;
    tokio::spawn(connection);
    while let Some((message, _)) = messages.next().await {
        let (m, deleted) = match message.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) => (m, false),
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) => (m, true),
            _ => continue,
        };
        if let Some((address, outcome)) = dad_outcome(&m, deleted)
            && out.send((m.header.index, address, outcome)).await.is_err()
        {
            break;
        }
    }
    Ok(())
}

/// Reports (interface index, has carrier) for every link change until `out` closes.
pub async fn watch_links(out: mpsc::Sender<(u32, bool)>) -> io::Result<()> {
    let (connection, _handle, mut messages) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Link])?;
    tokio::spawn(connection);
    while let Some((message, _)) = messages.next().await {
        if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) = message.payload {
            let carrier = link.header.flags.contains(LinkFlags::LowerUp)
                && link.header.flags.contains(LinkFlags::Up);
            if out.send((link.header.index, carrier)).await.is_err() {
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(flags: AddressFlags) -> AddressMessage {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet6;
        m.header.index = 3;
        m.attributes.push(AddressAttribute::Address(IpAddr::V6(
            "2001:db8::100".parse().expect("ip"),
        )));
        m.attributes.push(AddressAttribute::Flags(flags));
        m
    }

    #[test]
    fn dad_outcomes_of_address_messages() {
        let a: Ipv6Addr = "2001:db8::100".parse().expect("ip");
        // Added tentative: DAD runs, nothing to say yet.
        assert_eq!(dad_outcome(&message(AddressFlags::Tentative), false), None);
        // RTM_NEWADDR without IFA_F_TENTATIVE: DAD is over (or off).
        assert_eq!(
            dad_outcome(&message(AddressFlags::Permanent), false),
            Some((a, Dad::Done))
        );
        // IFA_F_DADFAILED, whether the address stays or is deleted.
        let failed = AddressFlags::Tentative | AddressFlags::Dadfailed;
        assert_eq!(dad_outcome(&message(failed), false), Some((a, Dad::Failed)));
        assert_eq!(dad_outcome(&message(failed), true), Some((a, Dad::Failed)));
        // Deleting a good address says nothing of DAD.
        assert_eq!(dad_outcome(&message(AddressFlags::empty()), true), None);
        let mut v4 = message(AddressFlags::empty());
        v4.header.family = AddressFamily::Inet;
        v4.attributes.clear();
        v4.attributes
            .push(AddressAttribute::Address(IpAddr::V4(Ipv4Addr::new(
                192, 0, 2, 1,
            ))));
        assert_eq!(dad_outcome(&v4, false), None);
    }
}
