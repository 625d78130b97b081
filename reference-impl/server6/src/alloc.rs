//! The allocation engine, after Kea 2.2's `AllocEngine::allocateLeases6` and
//! `renewLeases6`: a client's binding (DUID, IAID, kind, subnet) keeps its leases; a
//! reservation wins over them; a client without a lease gets its hint when free, else the
//! next free address or prefix of the subnet's pools (the iterative allocator), else the
//! lease that expired first.

use crate::config::Subnet;
use crate::store::{HwAddr6, Lease6, LeaseStore, LeaseType, STATE_DEFAULT};
use dhcplab_kea_config::dhcp6::{Identifier6, Reservation6};
use std::net::Ipv6Addr;

/// How the server knows a client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Client<'a> {
    /// The Client Identifier's data.
    pub duid: &'a [u8],
    /// Its hardware address, when the query shows one.
    pub hwaddr: Option<&'a HwAddr6>,
}

impl Client<'_> {
    fn owns(&self, r: &Reservation6) -> bool {
        match &r.identifier {
            Identifier6::Duid(d) => d == self.duid,
            Identifier6::HwAddress(h) => self.hwaddr.is_some_and(|m| m.bytes == *h),
        }
    }
}

/// Where the iterative allocator of one kind goes on from: a range and a resource in it.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    range: usize,
    next: Option<u128>,
}

/// The iterative allocator's place in one subnet, for addresses and for prefixes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cursors {
    na: Cursor,
    pd: Cursor,
}

/// What the engine decided for one IA.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    /// The leases the IA holds now, with their new lifetimes.
    pub leases: Vec<Lease6>,
    /// The client's leases the IA no longer holds (Kea's `old_leases_`).
    pub old: Vec<Lease6>,
}

/// Everything the engine needs about one IA of a query.
pub(crate) struct Request<'a> {
    pub subnet: &'a Subnet,
    pub client: Client<'a>,
    pub kind: LeaseType,
    pub iaid: u32,
    /// Addresses or prefixes the client sent, in order.
    pub hints: &'a [(Ipv6Addr, u8)],
    /// Renew or Rebind: leases outside the subnet's pools are let go (Kea's `extendLease6`).
    pub renewing: bool,
    /// Seconds since the epoch.
    pub now: u64,
    /// Resources already given to other IAs of the same query.
    pub taken: &'a [(LeaseType, Ipv6Addr)],
}

fn reserved_for_other(r: &Request<'_>, a: Ipv6Addr) -> bool {
    r.subnet
        .reservation_of(r.kind, a)
        .is_some_and(|res| !r.client.owns(res))
}

/// True when no lease of another binding holds `a` at `now`.
fn free_for(store: &LeaseStore, r: &Request<'_>, a: Ipv6Addr) -> bool {
    store.get(r.kind, a).is_none_or(|l| {
        l.expire < r.now
            || (l.duid == r.client.duid && l.iaid == r.iaid && l.state == STATE_DEFAULT)
    }) && !r.taken.contains(&(r.kind, a))
}

/// The client's reserved resources of the request's kind, with their lengths.
fn reserved(r: &Request<'_>) -> Vec<(Ipv6Addr, u8)> {
    let Some(res) = r
        .subnet
        .reservation_for(r.client.duid, r.client.hwaddr.map(|h| h.bytes.as_slice()))
    else {
        return Vec::new();
    };
    match r.kind {
        LeaseType::Na | LeaseType::Ta => res.addresses.iter().map(|a| (*a, 128)).collect(),
        LeaseType::Pd => res.prefixes.iter().map(|p| (p.network, p.len)).collect(),
    }
}

/// A lease of `a` for the request's client, with the subnet's lifetimes from `now`.
fn new_lease(r: &Request<'_>, a: Ipv6Addr, len: u8) -> Lease6 {
    let mut l = Lease6 {
        address: a,
        duid: r.client.duid.to_vec(),
        valid_lifetime: 0,
        expire: 0,
        subnet_id: r.subnet.id,
        preferred_lifetime: 0,
        lease_type: r.kind,
        iaid: r.iaid,
        prefix_len: len,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: String::new(),
        hwaddr: r.client.hwaddr.cloned(),
        state: STATE_DEFAULT,
        user_context: None,
    };
    extend(r, &mut l);
    l
}

/// Gives a lease the subnet's lifetimes from now (Kea's `updateLeaseData`, `extendLease6`),
/// and the host name of the client's reservation (Kea's `processClientFqdn` for a client
/// that sends no Client FQDN option).
fn extend(r: &Request<'_>, l: &mut Lease6) {
    let hwaddr = r.client.hwaddr.map(|h| h.bytes.as_slice());
    if let Some(name) = r
        .subnet
        .reservation_for(r.client.duid, hwaddr)
        .and_then(|res| res.hostname.as_ref())
    {
        l.hostname.clone_from(name);
    }
    l.valid_lifetime = r.subnet.life.valid;
    // Capped at the valid lifetime (RFC 8415 21.6); Kea 2.2 is not (see the crate's doc).
    l.preferred_lifetime = r.subnet.life.preferred.min(r.subnet.life.valid);
    l.expire = r.now + u64::from(l.valid_lifetime);
    l.state = STATE_DEFAULT;
    if let Some(h) = r.client.hwaddr {
        l.hwaddr = Some(h.clone());
    }
}

/// Decides the leases of one IA. The store is only read: the caller commits what it keeps.
pub(crate) fn allocate(store: &LeaseStore, cursors: &mut Cursors, r: &Request<'_>) -> Outcome {
    let mut out = Outcome::default();
    let mut kept = Vec::new();
    // Kea's removeNonmatchingReservedLeases6: a lease reserved for another client goes.
    for l in store.of_binding(r.kind, r.client.duid, r.iaid, r.subnet.id) {
        if reserved_for_other(r, l.address) {
            out.old.push(l);
        } else {
            kept.push(l);
        }
    }
    let reservations = reserved(r);
    if !reservations.is_empty() {
        // Kea's allocateReservedLeases6: a reserved resource the IA holds already stays;
        // else the first reserved one free, one per IA.
        let holds = kept
            .iter()
            .any(|l| reservations.iter().any(|(a, _)| *a == l.address));
        let chosen = if holds {
            None
        } else {
            reservations
                .iter()
                .find(|(a, _)| free_for(store, r, *a) && !held_by_other_ia(store, r, *a))
                .copied()
        };
        if holds || chosen.is_some() {
            // Kea's removeNonreservedLeases6: the dynamic leases of the IA go.
            let (res, dynamic): (Vec<Lease6>, Vec<Lease6>) = kept
                .into_iter()
                .partition(|l| reservations.iter().any(|(a, _)| *a == l.address));
            out.old.extend(dynamic);
            kept = res;
            if let Some((a, len)) = chosen {
                kept.push(new_lease(r, a, len));
            }
        }
    }
    if r.renewing {
        // Kea's extendLease6: a lease no longer in a pool (nor reserved) is let go.
        let (stay, gone): (Vec<Lease6>, Vec<Lease6>) = kept.into_iter().partition(|l| {
            r.subnet.range_of(r.kind, l.address).is_some()
                || reservations.iter().any(|(a, _)| *a == l.address)
        });
        out.old.extend(gone);
        kept = stay;
    }
    if kept.is_empty() {
        if let Some((a, len)) = pick_new(store, cursors, r) {
            kept.push(new_lease(r, a, len));
        }
    }
    for l in &mut kept {
        extend(r, l);
    }
    out.leases = kept;
    out
}

/// True when another IA of the same client holds `a` now.
fn held_by_other_ia(store: &LeaseStore, r: &Request<'_>, a: Ipv6Addr) -> bool {
    store
        .get(r.kind, a)
        .is_some_and(|l| l.duid == r.client.duid && l.iaid != r.iaid && l.expire >= r.now)
}

/// A resource for a client that holds none: the hint when it is free in a pool, the next
/// free one of the pools, then the one of the pools whose lease expired first.
fn pick_new(store: &LeaseStore, cursors: &mut Cursors, r: &Request<'_>) -> Option<(Ipv6Addr, u8)> {
    let usable = |a: Ipv6Addr| !reserved_for_other(r, a) && free_for(store, r, a);
    if let Some((hint, _)) = r.hints.first() {
        if let Some(range) = r.subnet.range_of(r.kind, *hint) {
            if usable(*hint) {
                return Some((*hint, range.len));
            }
        }
    }
    let ranges: Vec<usize> = (0..r.subnet.ranges.len())
        .filter(|i| r.subnet.ranges.get(*i).is_some_and(|x| x.kind == r.kind))
        .collect();
    if ranges.is_empty() {
        return None;
    }
    let cursor = match r.kind {
        LeaseType::Na | LeaseType::Ta => &mut cursors.na,
        LeaseType::Pd => &mut cursors.pd,
    };
    let start = ranges.iter().position(|i| *i == cursor.range).unwrap_or(0);
    // The starting range is visited twice: from the cursor, then from its start.
    for k in 0..=ranges.len() {
        let i = ranges[(start + k) % ranges.len()];
        let range = r.subnet.ranges.get(i)?;
        let mut from = match (k, cursor.next) {
            (0, Some(n)) if range.holds(n) => n,
            _ => range.first,
        };
        while let Some(a) = store.first_free(r.kind, from, range.last, range.step) {
            let addr = Ipv6Addr::from(a);
            if usable(addr) {
                *cursor = Cursor {
                    range: i,
                    next: a.checked_add(range.step),
                };
                return Some((addr, range.len));
            }
            from = a.checked_add(range.step)?;
        }
    }
    ranges.iter().find_map(|i| {
        let range = r.subnet.ranges.get(*i)?;
        let a = Ipv6Addr::from(store.oldest_expired_in(r.kind, range.first, range.last, r.now)?);
        usable(a).then_some((a, range.len))
    })
}
