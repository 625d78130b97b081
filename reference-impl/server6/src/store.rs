//! The lease store: every DHCPv6 lease the server knows, found by kind and address, by
//! client binding (DUID, IAID, kind, subnet), and ordered by expiry for reclamation. Nothing
//! here iterates a hash table, so what the server does never depends on hash order.
//!
//! Records are compact (112 bytes, no heap for DUIDs and hardware addresses up to 22 bytes)
//! and the indexes hold 4-byte slot numbers, because a server may hold millions of leases: a
//! map of whole [`Lease6`] values and a set per binding held about 760 heap bytes per lease.

use hashbrown::HashTable;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, RandomState};
use std::net::Ipv6Addr;

pub(crate) use dhcplab_memfile::{
    HwAddr6, Lease6, LeaseType, STATE_DECLINED, STATE_DEFAULT, STATE_EXPIRED_RECLAIMED,
};

/// Short byte strings kept inline: DUIDs and hardware addresses are almost always under 23
/// bytes, so a record needs no heap allocation for them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ShortBytes {
    Inline { len: u8, data: [u8; 22] },
    Heap(Box<[u8]>),
}

impl ShortBytes {
    fn new(bytes: &[u8]) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= 22 => {
                let mut data = [0; 22];
                data[..bytes.len()].copy_from_slice(bytes);
                Self::Inline { len, data }
            }
            _ => Self::Heap(bytes.into()),
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline { len, data } => &data[..usize::from(*len)],
            Self::Heap(b) => b,
        }
    }
}

/// A hardware address as a record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hw {
    bytes: ShortBytes,
    htype: u16,
    source: u32,
}

/// The rarely set text columns, kept out of line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Extra {
    hostname: String,
    user_context: Option<String>,
}

/// One lease as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    address: u128,
    expire: u64,
    valid_lifetime: u32,
    preferred_lifetime: u32,
    subnet_id: u32,
    iaid: u32,
    state: u32,
    duid: ShortBytes,
    hwaddr: Option<Hw>,
    extra: Option<Box<Extra>>,
    kind: LeaseType,
    prefix_len: u8,
    fqdn_fwd: bool,
    fqdn_rev: bool,
}

impl Record {
    fn from_lease(l: Lease6) -> Self {
        let extra = (!l.hostname.is_empty() || l.user_context.is_some()).then(|| {
            Box::new(Extra {
                hostname: l.hostname,
                user_context: l.user_context,
            })
        });
        Self {
            address: u128::from(l.address),
            expire: l.expire,
            valid_lifetime: l.valid_lifetime,
            preferred_lifetime: l.preferred_lifetime,
            subnet_id: l.subnet_id,
            iaid: l.iaid,
            state: l.state,
            duid: ShortBytes::new(&l.duid),
            hwaddr: l.hwaddr.map(|h| Hw {
                bytes: ShortBytes::new(&h.bytes),
                htype: h.htype,
                source: h.source,
            }),
            extra,
            kind: l.lease_type,
            prefix_len: l.prefix_len,
            fqdn_fwd: l.fqdn_fwd,
            fqdn_rev: l.fqdn_rev,
        }
    }

    fn to_lease(&self) -> Lease6 {
        Lease6 {
            address: Ipv6Addr::from(self.address),
            duid: self.duid.as_slice().to_vec(),
            valid_lifetime: self.valid_lifetime,
            expire: self.expire,
            subnet_id: self.subnet_id,
            preferred_lifetime: self.preferred_lifetime,
            lease_type: self.kind,
            iaid: self.iaid,
            prefix_len: self.prefix_len,
            fqdn_fwd: self.fqdn_fwd,
            fqdn_rev: self.fqdn_rev,
            hostname: self
                .extra
                .as_ref()
                .map(|e| e.hostname.clone())
                .unwrap_or_default(),
            hwaddr: self.hwaddr.as_ref().map(|h| HwAddr6 {
                bytes: h.bytes.as_slice().to_vec(),
                htype: h.htype,
                source: h.source,
            }),
            state: self.state,
            user_context: self.extra.as_ref().and_then(|e| e.user_context.clone()),
        }
    }

    fn binds(&self, kind: LeaseType, duid: &[u8], iaid: u32, subnet: u32) -> bool {
        self.kind == kind
            && self.iaid == iaid
            && self.subnet_id == subnet
            && self.duid.as_slice() == duid
    }

    /// The record's place in its expiry queue.
    fn due(&self) -> (u64, LeaseType, u128) {
        (self.expire, self.kind, self.address)
    }
}

/// Leases per subnet, as the statistics count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub assigned_nas: u64,
    pub assigned_pds: u64,
    pub declined: u64,
}

/// Every lease.
#[derive(Debug, Clone, Default)]
pub(crate) struct LeaseStore {
    /// The records; a removed one leaves its slot to the next.
    slots: Vec<Option<Record>>,
    free: Vec<u32>,
    /// Slots by address, one map per kind (IA_NA, IA_TA, IA_PD): ordered, for the
    /// allocator's walk to the next free address.
    by_address: [BTreeMap<u128, u32>; 3],
    /// Slots by binding: kind, DUID, IAID, subnet.
    by_binding: HashTable<u32>,
    /// Leases in use or declined, by expiry.
    active: BTreeSet<(u64, LeaseType, u128)>,
    /// Reclaimed leases, by expiry.
    reclaimed: BTreeSet<(u64, LeaseType, u128)>,
    hasher: RandomState,
    len: usize,
}

/// Where a kind's address map is in [`LeaseStore::by_address`], in the order [`LeaseStore::all`]
/// lists them.
fn kind_index(kind: LeaseType) -> usize {
    match kind {
        LeaseType::Na => 0,
        LeaseType::Ta => 1,
        LeaseType::Pd => 2,
    }
}

fn record(slots: &[Option<Record>], slot: u32) -> Option<&Record> {
    slots.get(slot as usize).and_then(Option::as_ref)
}

impl LeaseStore {
    pub fn len(&self) -> usize {
        self.len
    }

    fn binding_hash(&self, kind: LeaseType, duid: &[u8], iaid: u32, subnet: u32) -> u64 {
        self.hasher.hash_one((kind, duid, iaid, subnet))
    }

    fn addresses(&self, kind: LeaseType) -> Option<&BTreeMap<u128, u32>> {
        self.by_address.get(kind_index(kind))
    }

    fn slot_of(&self, kind: LeaseType, address: u128) -> Option<u32> {
        self.addresses(kind)?.get(&address).copied()
    }

    fn lease_at(&self, kind: LeaseType, address: u128) -> Option<Lease6> {
        self.slot_of(kind, address)
            .and_then(|s| record(&self.slots, s))
            .map(Record::to_lease)
    }

    pub fn get(&self, kind: LeaseType, address: Ipv6Addr) -> Option<Lease6> {
        self.lease_at(kind, u128::from(address))
    }

    /// Stores a lease, replacing the one of its address; the old one is returned.
    pub fn put(&mut self, lease: Lease6) -> Option<Lease6> {
        let old = self.remove(lease.lease_type, lease.address);
        let r = Record::from_lease(lease);
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let hb = self.binding_hash(r.kind, r.duid.as_slice(), r.iaid, r.subnet_id);
        self.queue(r.state).insert(r.due());
        if let Some(map) = self.by_address.get_mut(kind_index(r.kind)) {
            map.insert(r.address, slot);
        }
        if let Some(place) = self.slots.get_mut(slot as usize) {
            *place = Some(r);
        }
        let hasher = &self.hasher;
        let slots = &self.slots;
        self.by_binding.insert_unique(hb, slot, |s| {
            record(slots, *s).map_or(0, |r| {
                hasher.hash_one((r.kind, r.duid.as_slice(), r.iaid, r.subnet_id))
            })
        });
        self.len += 1;
        old
    }

    fn queue(&mut self, state: u32) -> &mut BTreeSet<(u64, LeaseType, u128)> {
        if state == STATE_EXPIRED_RECLAIMED {
            &mut self.reclaimed
        } else {
            &mut self.active
        }
    }

    pub fn remove(&mut self, kind: LeaseType, address: Ipv6Addr) -> Option<Lease6> {
        let slot = self.slot_of(kind, u128::from(address))?;
        let r = self.slots.get_mut(slot as usize)?.take()?;
        if let Some(map) = self.by_address.get_mut(kind_index(r.kind)) {
            map.remove(&r.address);
        }
        let hb = self.binding_hash(r.kind, r.duid.as_slice(), r.iaid, r.subnet_id);
        if let Ok(e) = self.by_binding.find_entry(hb, |s| *s == slot) {
            e.remove();
        }
        self.queue(r.state).remove(&r.due());
        self.free.push(slot);
        self.len -= 1;
        Some(r.to_lease())
    }

    /// The leases of one binding, by address.
    pub fn of_binding(&self, kind: LeaseType, duid: &[u8], iaid: u32, subnet: u32) -> Vec<Lease6> {
        let mut found: Vec<&Record> = self
            .by_binding
            .iter_hash(self.binding_hash(kind, duid, iaid, subnet))
            .filter_map(|s| record(&self.slots, *s))
            .filter(|r| r.binds(kind, duid, iaid, subnet))
            .collect();
        found.sort_unstable_by_key(|r| r.address);
        found.into_iter().map(Record::to_lease).collect()
    }

    /// The first of `from`, `from + step`, ... up to `last` that has no lease.
    pub fn first_free(&self, kind: LeaseType, from: u128, last: u128, step: u128) -> Option<u128> {
        let mut candidate = from;
        for a in self.addresses(kind)?.range(from..=last).map(|(a, _)| *a) {
            if a < candidate {
                continue;
            }
            if a != candidate {
                break;
            }
            candidate = candidate.checked_add(step)?;
        }
        (candidate <= last).then_some(candidate)
    }

    /// The lease of `first ..= last` that expired first, before `now`.
    pub fn oldest_expired_in(
        &self,
        kind: LeaseType,
        first: u128,
        last: u128,
        now: u64,
    ) -> Option<u128> {
        self.active
            .iter()
            .chain(self.reclaimed.iter())
            .filter(|(e, k, a)| *e < now && *k == kind && (first..=last).contains(a))
            .min_by_key(|(e, _, a)| (*e, *a))
            .map(|(_, _, a)| *a)
    }

    /// Up to `limit` (0: all) leases in use or declined whose lifetime is over at `now`.
    pub fn expired(&self, now: u64, limit: usize) -> Vec<Lease6> {
        let limit = if limit == 0 { usize::MAX } else { limit };
        self.active
            .iter()
            .take_while(|(e, _, _)| *e < now)
            .take(limit)
            .filter_map(|(_, k, a)| self.lease_at(*k, *a))
            .collect()
    }

    /// Reclaimed leases that expired before `before`.
    pub fn reclaimed_before(&self, before: u64) -> Vec<Lease6> {
        self.reclaimed
            .iter()
            .take_while(|(e, _, _)| *e < before)
            .filter_map(|(_, k, a)| self.lease_at(*k, *a))
            .collect()
    }

    /// Every lease, addresses first, each kind by address.
    pub fn all(&self) -> Vec<Lease6> {
        self.by_address
            .iter()
            .flat_map(|map| map.values())
            .filter_map(|s| record(&self.slots, *s))
            .map(Record::to_lease)
            .collect()
    }

    /// Every lease of a subnet.
    pub fn counts(&self, subnet_id: u32) -> Counts {
        let mut c = Counts::default();
        for r in self
            .slots
            .iter()
            .flatten()
            .filter(|r| r.subnet_id == subnet_id)
        {
            match (r.state, r.kind) {
                (STATE_DECLINED, _) => {
                    c.declined += 1;
                    c.assigned_nas += 1;
                }
                (STATE_EXPIRED_RECLAIMED, _) => {}
                (_, LeaseType::Pd) => c.assigned_pds += 1,
                (_, _) => c.assigned_nas += 1,
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(addr: &str, expire: u64) -> Lease6 {
        Lease6 {
            address: addr.parse().expect("address"),
            duid: vec![0, 3, 0, 1, 2],
            valid_lifetime: 100,
            expire,
            subnet_id: 1,
            preferred_lifetime: 50,
            lease_type: LeaseType::Na,
            iaid: 7,
            prefix_len: 128,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            hwaddr: None,
            state: STATE_DEFAULT,
            user_context: None,
        }
    }

    #[test]
    fn first_free_skips_leased_runs() {
        let mut s = LeaseStore::default();
        for a in ["2001:db8::10", "2001:db8::11", "2001:db8::13"] {
            s.put(lease(a, 1000));
        }
        let at = |a: &str| u128::from(a.parse::<Ipv6Addr>().expect("address"));
        let last = at("2001:db8::14");
        assert_eq!(
            s.first_free(LeaseType::Na, at("2001:db8::10"), last, 1),
            Some(at("2001:db8::12"))
        );
        assert_eq!(
            s.first_free(LeaseType::Na, at("2001:db8::13"), last, 1),
            Some(at("2001:db8::14"))
        );
        assert_eq!(
            s.first_free(LeaseType::Pd, at("2001:db8::10"), last, 1),
            Some(at("2001:db8::10"))
        );
        s.put(lease("2001:db8::14", 1000));
        assert_eq!(
            s.first_free(LeaseType::Na, at("2001:db8::13"), last, 1),
            None
        );
    }

    #[test]
    fn bindings_and_expiry_follow_replacement() {
        let mut s = LeaseStore::default();
        s.put(lease("2001:db8::10", 1000));
        let mut moved = lease("2001:db8::10", 2000);
        moved.iaid = 8;
        s.put(moved);
        assert!(
            s.of_binding(LeaseType::Na, &[0, 3, 0, 1, 2], 7, 1)
                .is_empty()
        );
        assert_eq!(s.of_binding(LeaseType::Na, &[0, 3, 0, 1, 2], 8, 1).len(), 1);
        assert!(s.expired(1500, 0).is_empty());
        assert_eq!(s.expired(2001, 0).len(), 1);
        assert_eq!(s.len(), 1);
    }
}
