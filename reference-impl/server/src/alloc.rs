//! The allocation engine, after Kea 2.2's `AllocEngine`: which lease a client already has,
//! whether an address may go to it, and which address to give, in Kea's order of preference:
//! a reserved address, the client's current lease, the address it asks for, then the next
//! free address of the subnet's pools (the iterative allocator), then an expired lease of
//! another client.

use crate::config::Subnet;
use crate::store::LeaseStore;
use dhcplab_kea_config::dhcp4::Identifier;
use dhcplab_memfile::{Lease4, STATE_DECLINED};
use std::net::Ipv4Addr;

/// How the server recognises a client within a subnet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientKey<'a> {
    /// `chaddr` cut to `hlen`.
    pub hwaddr: &'a [u8],
    /// Option 61's data, when sent and `match-client-id` is on.
    pub client_id: Option<&'a [u8]>,
    /// The class libdhcp_ha.so gave the query (`HA_server1`), for pools limited to one.
    pub class: Option<&'a str>,
}

impl ClientKey<'_> {
    /// Whether the client may get addresses of `pool` (its `client-class`, if any, is the
    /// client's).
    pub fn may_use(&self, pool: &dhcplab_kea_config::dhcp4::Pool4) -> bool {
        pool.client_class
            .as_deref()
            .is_none_or(|c| Some(c) == self.class)
    }
}

impl ClientKey<'_> {
    /// Kea's `Lease4::belongsToClient`: the client identifiers match when both are known;
    /// otherwise the hardware addresses must match.
    pub fn owns(&self, lease: &Lease4) -> bool {
        if lease.state == STATE_DECLINED {
            return false;
        }
        match self.client_id {
            Some(c) if !lease.client_id.is_empty() => lease.client_id == c,
            _ => !lease.hwaddr.is_empty() && lease.hwaddr == self.hwaddr,
        }
    }
}

/// The client's lease in `subnet`, found by client identifier, then by hardware address.
pub(crate) fn client_lease(
    store: &LeaseStore,
    subnet: &Subnet,
    key: ClientKey<'_>,
) -> Option<Lease4> {
    key.client_id
        .and_then(|c| {
            store
                .by_client_id(subnet.id, c)
                .into_iter()
                .find(|l| key.owns(l))
        })
        .or_else(|| {
            store
                .by_hwaddr(subnet.id, key.hwaddr)
                .into_iter()
                .find(|l| key.owns(l))
        })
}

/// True when the reservation of `address` (if any) is this client's.
fn reserved_for(subnet: &Subnet, address: Ipv4Addr, key: ClientKey<'_>) -> Option<bool> {
    let r = subnet.reservation_of(address)?;
    Some(match &r.identifier {
        Identifier::HwAddress(h) => h == key.hwaddr,
        Identifier::ClientId(c) => key.client_id == Some(c.as_slice()),
    })
}

/// The address reserved for the client in `subnet`, when there is one.
pub(crate) fn reserved_address(subnet: &Subnet, key: ClientKey<'_>) -> Option<Ipv4Addr> {
    subnet
        .reservation_for(key.hwaddr, key.client_id)
        .and_then(|r| r.address)
}

/// Why `address` cannot go to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not inside the subnet.
    WrongSubnet,
    /// Neither in a pool nor reserved for the client.
    NotAllocatable,
    /// Reserved for another client.
    ReservedForOther,
    /// Leased to another client, not expired.
    InUse,
}

/// Whether `address` may be leased to the client at `now` (seconds).
pub(crate) fn check(
    store: &LeaseStore,
    subnet: &Subnet,
    key: ClientKey<'_>,
    address: Ipv4Addr,
    now: u64,
) -> Result<(), Refusal> {
    if !subnet.prefix.contains(address) {
        return Err(Refusal::WrongSubnet);
    }
    match reserved_for(subnet, address, key) {
        Some(false) => return Err(Refusal::ReservedForOther),
        Some(true) => {}
        None if !subnet.pool_of(address).is_some_and(|p| key.may_use(p)) => {
            return Err(Refusal::NotAllocatable);
        }
        None => {}
    }
    match store.get(address) {
        Some(l) if !key.owns(&l) && l.expire >= now => Err(Refusal::InUse),
        _ => Ok(()),
    }
}

/// Why no address could be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exhaustion {
    /// The subnet has no pool.
    NoPools,
    /// Every pool address is leased or reserved.
    Full,
}

/// Where the iterative allocator of one subnet goes on from: a pool and an address in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Cursor {
    pub pool: usize,
    pub next: Option<Ipv4Addr>,
}

/// The address to give a client that needs a new one: reserved, current, requested, next
/// free, then the oldest expired lease of another client in the pools.
pub(crate) fn pick(
    store: &LeaseStore,
    subnet: &Subnet,
    cursor: &mut Cursor,
    key: ClientKey<'_>,
    current: Option<&Lease4>,
    requested: Option<Ipv4Addr>,
    now: u64,
) -> Result<Ipv4Addr, Exhaustion> {
    let usable = |a: Ipv4Addr| check(store, subnet, key, a, now).is_ok();
    if let Some(a) = reserved_address(subnet, key).filter(|a| usable(*a)) {
        return Ok(a);
    }
    if let Some(a) = current.map(|l| l.address).filter(|a| usable(*a)) {
        return Ok(a);
    }
    if let Some(a) = requested.filter(|a| usable(*a)) {
        return Ok(a);
    }
    if subnet.pools.is_empty() {
        return Err(Exhaustion::NoPools);
    }
    if let Some(a) = next_free(store, subnet, cursor, key) {
        return Ok(a);
    }
    subnet
        .pools
        .iter()
        .filter(|p| key.may_use(p))
        .filter_map(|p| store.expired_in(p.first, p.last, now))
        .find(|a| reserved_for(subnet, *a, key) != Some(false))
        .ok_or(Exhaustion::Full)
}

/// The iterative allocator: the next address without a lease after the cursor, pool after
/// pool, wrapping once; addresses reserved for others are skipped.
fn next_free(
    store: &LeaseStore,
    subnet: &Subnet,
    cursor: &mut Cursor,
    key: ClientKey<'_>,
) -> Option<Ipv4Addr> {
    let n = subnet.pools.len();
    let start = cursor.pool.min(n.saturating_sub(1));
    // The starting pool is visited twice: from the cursor, then from its start.
    for k in 0..=n {
        let i = (start + k) % n;
        let pool = subnet.pools.get(i)?;
        if !key.may_use(pool) {
            continue;
        }
        let mut from = match (k, cursor.next) {
            (0, Some(next)) => next,
            _ => pool.first,
        };
        while let Some(a) = store.first_free(pool.first, pool.last, from) {
            if reserved_for(subnet, a, key) != Some(false) {
                *cursor = Cursor {
                    pool: i,
                    next: u32::from(a).checked_add(1).map(Ipv4Addr::from),
                };
                return Some(a);
            }
            from = Ipv4Addr::from(u32::from(a).checked_add(1)?);
        }
    }
    None
}
