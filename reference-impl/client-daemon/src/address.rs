//! The interface's configuration through rtnetlink: the leased address with its prefix (the
//! kernel adds the broadcast address and the subnet route) and a default route through the
//! first router (protocol `dhcp`, as other clients mark theirs, metric 1000 + index); and carrier changes, which
//! the client hears as link down and link up.

use dhcplab_client::Configuration;
use futures_util::{StreamExt, TryStreamExt};
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::LinkFlags;
use rtnetlink::packet_route::route::RouteProtocol;
use rtnetlink::{Handle, MulticastGroup, RouteMessageBuilder};
use std::io;
use std::net::{IpAddr, Ipv4Addr};
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
        self.handle
            .address()
            .add(index, IpAddr::V4(c.address), c.prefix_len)
            .replace()
            .execute()
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
        let found: Vec<_> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .set_address_filter(IpAddr::V4(c.address))
            .execute()
            .try_collect()
            .await?;
        for message in found {
            self.handle.address().del(message).execute().await?;
        }
        Ok(())
    }
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
