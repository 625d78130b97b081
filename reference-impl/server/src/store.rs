//! The lease store: every DHCPv4 lease the server knows, found by address, by hardware address
//! and by client identifier (each within a subnet), ordered by expiry for reclamation, with the
//! occupancy of every pool kept as a bitmap so the allocator finds a free address in a few
//! word reads.
//!
//! Records are compact (about 80 bytes, no heap for identifiers up to 22 bytes) because a
//! server may hold millions of them; the indexes hold only 4-byte slot numbers. Nothing here
//! iterates a hash table, so what the server does never depends on hash order.

use crate::bytes::ShortBytes;
use dhcplab_memfile::{Lease4, STATE_DECLINED, STATE_DEFAULT, STATE_EXPIRED_RECLAIMED};
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::net::Ipv4Addr;

/// One lease as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    expire: u64,
    address: u32,
    valid_lifetime: u32,
    subnet_id: u32,
    state: u8,
    fqdn_fwd: bool,
    fqdn_rev: bool,
    hwaddr: ShortBytes,
    client_id: ShortBytes,
    extra: Option<Box<Extra>>,
}

/// The rarely set text columns, kept out of line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Extra {
    hostname: String,
    user_context: Option<String>,
}

impl Record {
    fn from_lease(l: &Lease4) -> Self {
        let extra = (!l.hostname.is_empty() || l.user_context.is_some()).then(|| {
            Box::new(Extra {
                hostname: l.hostname.clone(),
                user_context: l.user_context.clone(),
            })
        });
        Self {
            expire: l.expire,
            address: u32::from(l.address),
            valid_lifetime: l.valid_lifetime,
            subnet_id: l.subnet_id,
            state: u8::try_from(l.state).unwrap_or(u8::MAX),
            fqdn_fwd: l.fqdn_fwd,
            fqdn_rev: l.fqdn_rev,
            hwaddr: ShortBytes::new(&l.hwaddr),
            client_id: ShortBytes::new(&l.client_id),
            extra,
        }
    }

    fn to_lease(&self) -> Lease4 {
        Lease4 {
            address: Ipv4Addr::from(self.address),
            hwaddr: self.hwaddr.as_slice().to_vec(),
            client_id: self.client_id.as_slice().to_vec(),
            valid_lifetime: self.valid_lifetime,
            expire: self.expire,
            subnet_id: self.subnet_id,
            fqdn_fwd: self.fqdn_fwd,
            fqdn_rev: self.fqdn_rev,
            hostname: self
                .extra
                .as_ref()
                .map(|e| e.hostname.clone())
                .unwrap_or_default(),
            state: u32::from(self.state),
            user_context: self.extra.as_ref().and_then(|e| e.user_context.clone()),
        }
    }

    /// The expiry queue a record waits in: leases in use and declined ones wait for
    /// reclamation, reclaimed ones for removal.
    fn queue(&self) -> Queue {
        if u32::from(self.state) == STATE_EXPIRED_RECLAIMED {
            Queue::Reclaimed
        } else {
            Queue::Active
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Queue {
    Active,
    Reclaimed,
}

/// An address range whose occupancy the store tracks (a pool).
#[derive(Debug, Clone)]
struct Range {
    first: u32,
    last: u32,
    bits: Vec<u64>,
    occupied: u32,
}

impl Range {
    fn new(first: u32, last: u32) -> Self {
        let size = u64::from(last - first) + 1;
        Self {
            first,
            last,
            bits: vec![0; size.div_ceil(64) as usize],
            occupied: 0,
        }
    }

    fn size(&self) -> u64 {
        u64::from(self.last - self.first) + 1
    }

    fn set(&mut self, address: u32, on: bool) {
        let i = (address - self.first) as usize;
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        if let Some(w) = self.bits.get_mut(word) {
            let was = *w & bit != 0;
            if was != on {
                *w ^= bit;
                if on {
                    self.occupied += 1;
                } else {
                    self.occupied -= 1;
                }
            }
        }
    }

    /// The first unoccupied address at or after `from` (an offset), without wrapping.
    fn first_free_from(&self, from: u64) -> Option<u32> {
        let size = self.size();
        let mut i = from;
        while i < size {
            let word = self
                .bits
                .get((i / 64) as usize)
                .copied()
                .unwrap_or(u64::MAX);
            let free = !word >> (i % 64);
            if free != 0 {
                let at = i + u64::from(free.trailing_zeros());
                return (at < size).then(|| self.first + at as u32);
            }
            i = (i / 64 + 1) * 64;
        }
        None
    }
}

/// Why a lease cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A lease in use (state default) must name its client.
    #[error("lease {0} has neither a hardware address nor a client identifier")]
    NoIdentifier(Ipv4Addr),
    /// Kea knows states 0, 1 and 2 only.
    #[error(
        "lease {address} has state {state}; Kea knows 0 (default), 1 (declined), 2 (expired-reclaimed)"
    )]
    BadState {
        /// The lease's address.
        address: Ipv4Addr,
        /// The state asked for.
        state: u32,
    },
}

/// Every lease, indexed.
#[derive(Debug, Clone)]
pub struct LeaseStore {
    slots: Vec<Option<Record>>,
    free: Vec<u32>,
    by_address: HashTable<u32>,
    by_hwaddr: HashTable<u32>,
    by_client_id: HashTable<u32>,
    active: BTreeSet<(u64, u32)>,
    reclaimed: BTreeSet<(u64, u32)>,
    ranges: Vec<Range>,
    counts: HashMap<u32, Counts>,
    hasher: DefaultHashBuilder,
    len: usize,
}

/// How many leases of a subnet are in each state, counted as Kea's `recountLeaseStats4` does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Leases in state default or declined, expired or not: Kea counts a declined address
    /// as assigned until it is reclaimed.
    pub assigned: u64,
    /// Declined addresses.
    pub declined: u64,
    /// Reclaimed leases kept for affinity.
    pub reclaimed: u64,
}

impl Counts {
    fn add(&mut self, state: u8, up: bool) {
        let step = |v: &mut u64| *v = if up { *v + 1 } else { v.saturating_sub(1) };
        match u32::from(state) {
            STATE_DEFAULT => step(&mut self.assigned),
            STATE_DECLINED => {
                step(&mut self.assigned);
                step(&mut self.declined);
            }
            _ => step(&mut self.reclaimed),
        }
    }
}

impl Default for LeaseStore {
    fn default() -> Self {
        Self::new(&[])
    }
}

impl LeaseStore {
    /// An empty store that tracks the occupancy of `pools` (first and last address, both
    /// included; they must not overlap, which the configuration reader guarantees).
    pub fn new(pools: &[(Ipv4Addr, Ipv4Addr)]) -> Self {
        let mut ranges: Vec<Range> = pools
            .iter()
            .map(|(a, b)| Range::new(u32::from(*a), u32::from(*b)))
            .collect();
        ranges.sort_by_key(|r| r.first);
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            by_address: HashTable::new(),
            by_hwaddr: HashTable::new(),
            by_client_id: HashTable::new(),
            active: BTreeSet::new(),
            reclaimed: BTreeSet::new(),
            ranges,
            counts: HashMap::new(),
            hasher: DefaultHashBuilder::default(),
            len: 0,
        }
    }

    /// The same leases, tracking another set of pools (after a reconfiguration).
    pub fn with_pools(&self, pools: &[(Ipv4Addr, Ipv4Addr)]) -> Self {
        let mut store = Self::new(pools);
        for r in self.slots.iter().flatten() {
            store.insert(r.clone());
        }
        store
    }

    /// Number of leases.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no lease.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn record(&self, slot: u32) -> Option<&Record> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    fn hash_address(&self, a: u32) -> u64 {
        self.hasher.hash_one(a)
    }

    fn hash_id(&self, subnet_id: u32, id: &[u8]) -> u64 {
        self.hasher.hash_one((subnet_id, id))
    }

    fn slot_of(&self, address: u32) -> Option<u32> {
        let slots = &self.slots;
        self.by_address
            .find(self.hash_address(address), |s| {
                slots
                    .get(*s as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|r| r.address == address)
            })
            .copied()
    }

    /// The lease of `address`.
    pub fn get(&self, address: Ipv4Addr) -> Option<Lease4> {
        self.slot_of(u32::from(address))
            .and_then(|s| self.record(s))
            .map(Record::to_lease)
    }

    /// True when a lease (in any state) exists for `address`.
    pub fn contains(&self, address: Ipv4Addr) -> bool {
        self.slot_of(u32::from(address)).is_some()
    }

    /// Leases in subnet `subnet_id` whose hardware address is `hwaddr`, in slot order.
    pub fn by_hwaddr(&self, subnet_id: u32, hwaddr: &[u8]) -> Vec<Lease4> {
        self.by_id(&self.by_hwaddr, subnet_id, hwaddr, |r| r.hwaddr.as_slice())
    }

    /// Leases in subnet `subnet_id` whose client identifier is `client_id`, in slot order.
    pub fn by_client_id(&self, subnet_id: u32, client_id: &[u8]) -> Vec<Lease4> {
        self.by_id(&self.by_client_id, subnet_id, client_id, |r| {
            r.client_id.as_slice()
        })
    }

    fn by_id(
        &self,
        table: &HashTable<u32>,
        subnet_id: u32,
        id: &[u8],
        key: impl Fn(&Record) -> &[u8],
    ) -> Vec<Lease4> {
        if id.is_empty() {
            return Vec::new();
        }
        let hash = self.hash_id(subnet_id, id);
        let mut slots: Vec<u32> = table
            .iter_hash(hash)
            .copied()
            .filter(|s| {
                self.record(*s)
                    .is_some_and(|r| r.subnet_id == subnet_id && key(r) == id)
            })
            .collect();
        slots.sort_unstable();
        slots
            .into_iter()
            .filter_map(|s| self.record(s).map(Record::to_lease))
            .collect()
    }

    /// Stores `lease`, replacing any lease of its address.
    pub fn put(&mut self, lease: &Lease4) -> Result<(), StoreError> {
        if lease.state > STATE_EXPIRED_RECLAIMED {
            return Err(StoreError::BadState {
                address: lease.address,
                state: lease.state,
            });
        }
        // Declined and reclaimed leases need no client (a declined lease whose recovery a
        // callout skipped is reclaimed without one, as in Kea).
        if lease.hwaddr.is_empty() && lease.client_id.is_empty() && lease.state == STATE_DEFAULT {
            return Err(StoreError::NoIdentifier(lease.address));
        }
        self.take(u32::from(lease.address));
        self.insert(Record::from_lease(lease));
        Ok(())
    }

    fn insert(&mut self, r: Record) {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        let address = r.address;
        let ha = self.hash_address(address);
        let hh = (!r.hwaddr.is_empty()).then(|| self.hash_id(r.subnet_id, r.hwaddr.as_slice()));
        let hc =
            (!r.client_id.is_empty()).then(|| self.hash_id(r.subnet_id, r.client_id.as_slice()));
        match r.queue() {
            Queue::Active => self.active.insert((r.expire, address)),
            Queue::Reclaimed => self.reclaimed.insert((r.expire, address)),
        };
        self.counts
            .entry(r.subnet_id)
            .or_default()
            .add(r.state, true);
        if let Some(slot_ref) = self.slots.get_mut(slot as usize) {
            *slot_ref = Some(r);
        }
        let hasher = self.hasher.clone();
        let slots = &self.slots;
        let rehash_address = |s: &u32| {
            slots
                .get(*s as usize)
                .and_then(Option::as_ref)
                .map_or(0, |r| hasher.hash_one(r.address))
        };
        self.by_address.insert_unique(ha, slot, rehash_address);
        if let Some(h) = hh {
            self.by_hwaddr.insert_unique(h, slot, |s| {
                slots
                    .get(*s as usize)
                    .and_then(Option::as_ref)
                    .map_or(0, |r| hasher.hash_one((r.subnet_id, r.hwaddr.as_slice())))
            });
        }
        if let Some(h) = hc {
            self.by_client_id.insert_unique(h, slot, |s| {
                slots
                    .get(*s as usize)
                    .and_then(Option::as_ref)
                    .map_or(0, |r| {
                        hasher.hash_one((r.subnet_id, r.client_id.as_slice()))
                    })
            });
        }
        if let Some(range) = self.range_mut(address) {
            range.set(address, true);
        }
        self.len += 1;
    }

    /// Removes the lease of `address`; returns it.
    pub fn remove(&mut self, address: Ipv4Addr) -> Option<Lease4> {
        self.take(u32::from(address)).map(|r| r.to_lease())
    }

    /// Takes the record of `address` out of every index.
    fn take(&mut self, address: u32) -> Option<Record> {
        let slot = self.slot_of(address)?;
        let r = self.slots.get_mut(slot as usize)?.take()?;
        let ha = self.hash_address(address);
        if let Ok(e) = self.by_address.find_entry(ha, |s| *s == slot) {
            e.remove();
        }
        if !r.hwaddr.is_empty() {
            let h = self.hash_id(r.subnet_id, r.hwaddr.as_slice());
            if let Ok(e) = self.by_hwaddr.find_entry(h, |s| *s == slot) {
                e.remove();
            }
        }
        if !r.client_id.is_empty() {
            let h = self.hash_id(r.subnet_id, r.client_id.as_slice());
            if let Ok(e) = self.by_client_id.find_entry(h, |s| *s == slot) {
                e.remove();
            }
        }
        match r.queue() {
            Queue::Active => self.active.remove(&(r.expire, address)),
            Queue::Reclaimed => self.reclaimed.remove(&(r.expire, address)),
        };
        self.counts
            .entry(r.subnet_id)
            .or_default()
            .add(r.state, false);
        if let Some(range) = self.range_mut(address) {
            range.set(address, false);
        }
        self.free.push(slot);
        self.len -= 1;
        Some(r)
    }

    fn range_index(&self, address: u32) -> Option<usize> {
        let i = self.ranges.partition_point(|r| r.first <= address);
        let i = i.checked_sub(1)?;
        self.ranges
            .get(i)
            .is_some_and(|r| address <= r.last)
            .then_some(i)
    }

    fn range_mut(&mut self, address: u32) -> Option<&mut Range> {
        let i = self.range_index(address)?;
        self.ranges.get_mut(i)
    }

    /// The first address of the pool `[first, last]` at or after `from` that has no lease, not
    /// wrapping; `None` when there is none. The pool must be one the store was made with.
    pub fn first_free(&self, first: Ipv4Addr, last: Ipv4Addr, from: Ipv4Addr) -> Option<Ipv4Addr> {
        let i = self.range_index(u32::from(first))?;
        let range = self.ranges.get(i).filter(|r| r.last == u32::from(last))?;
        if u64::from(range.occupied) == range.size() || u32::from(from) > range.last {
            return None;
        }
        let start = u64::from(u32::from(from).max(range.first) - range.first);
        range.first_free_from(start).map(Ipv4Addr::from)
    }

    /// How many addresses of the pool `[first, last]` have a lease.
    pub fn occupied(&self, first: Ipv4Addr) -> u64 {
        self.range_index(u32::from(first))
            .and_then(|i| self.ranges.get(i))
            .map_or(0, |r| u64::from(r.occupied))
    }

    /// Leases in use or declined that expired before `now` (Kea's test: expiry < now), oldest
    /// first, at most `limit` (0: no limit).
    pub fn expired(&self, now: u64, limit: usize) -> Vec<Lease4> {
        self.queued(&self.active, now, limit)
    }

    /// Reclaimed leases whose expiry is before `before`, oldest first, at most `limit` (0: no
    /// limit).
    pub fn reclaimed_before(&self, before: u64, limit: usize) -> Vec<Lease4> {
        self.queued(&self.reclaimed, before, limit)
    }

    fn queued(&self, queue: &BTreeSet<(u64, u32)>, before: u64, limit: usize) -> Vec<Lease4> {
        let limit = if limit == 0 { usize::MAX } else { limit };
        queue
            .range(..(before, 0))
            .take(limit)
            .filter_map(|(_, a)| self.get(Ipv4Addr::from(*a)))
            .collect()
    }

    /// The earliest expiry among leases in use or declined.
    pub fn next_expiry(&self) -> Option<u64> {
        self.active.first().map(|(e, _)| *e)
    }

    /// Expired leases (in use past their expiry, or reclaimed) within `[first, last]`, oldest
    /// first: addresses the allocator may take from their former clients.
    pub fn expired_in(&self, first: Ipv4Addr, last: Ipv4Addr, now: u64) -> Option<Ipv4Addr> {
        let inside = |a: &u32| (u32::from(first)..=u32::from(last)).contains(a);
        let oldest = |q: &BTreeSet<(u64, u32)>| {
            q.range(..(now, 0))
                .find(|(_, a)| inside(a))
                .map(|(e, a)| (*e, *a))
        };
        match (oldest(&self.reclaimed), oldest(&self.active)) {
            (Some(a), Some(b)) => Some(a.min(b).1),
            (a, b) => a.or(b).map(|(_, addr)| addr),
        }
        .map(Ipv4Addr::from)
    }

    /// Every lease, by address.
    pub fn all(&self) -> Vec<Lease4> {
        let mut out: Vec<Lease4> = self.slots.iter().flatten().map(Record::to_lease).collect();
        out.sort_by_key(|l| l.address);
        out
    }

    /// How many leases of subnet `subnet_id` are in each state.
    pub fn counts(&self, subnet_id: u32) -> Counts {
        self.counts.get(&subnet_id).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(addr: [u8; 4], mac: u8, cid: &[u8], expire: u64) -> Lease4 {
        Lease4 {
            address: Ipv4Addr::from(addr),
            hwaddr: vec![2, 0, 0, 0, 0, mac],
            client_id: cid.to_vec(),
            valid_lifetime: 100,
            expire,
            subnet_id: 1,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            state: STATE_DEFAULT,
            user_context: None,
        }
    }

    #[test]
    fn indexes_follow_puts_and_removes() {
        let pool = (Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(192, 0, 2, 12));
        let mut s = LeaseStore::new(&[pool]);
        let a = lease([192, 0, 2, 10], 1, &[1, 2], 500);
        assert_eq!(s.put(&a), Ok(()));
        assert_eq!(s.by_hwaddr(1, &[2, 0, 0, 0, 0, 1]), vec![a.clone()]);
        assert_eq!(s.by_client_id(1, &[1, 2]), vec![a.clone()]);
        assert!(s.by_client_id(2, &[1, 2]).is_empty());
        assert_eq!(
            s.first_free(pool.0, pool.1, pool.0),
            Some(Ipv4Addr::new(192, 0, 2, 11))
        );
        // Replacing the address's lease moves it in every index.
        let b = lease([192, 0, 2, 10], 2, &[], 700);
        assert_eq!(s.put(&b), Ok(()));
        assert_eq!(s.get(b.address), Some(b.clone()));
        assert!(s.by_hwaddr(1, &[2, 0, 0, 0, 0, 1]).is_empty());
        assert!(s.by_client_id(1, &[1, 2]).is_empty());
        assert_eq!(s.expired(700, 0), vec![]);
        assert_eq!(s.expired(701, 0), vec![b.clone()]);
        s.put(&lease([192, 0, 2, 11], 3, &[], 1)).expect("put");
        s.put(&lease([192, 0, 2, 12], 4, &[], 1)).expect("put");
        assert_eq!(s.first_free(pool.0, pool.1, pool.0), None);
        assert_eq!(
            s.remove(Ipv4Addr::new(192, 0, 2, 11)).map(|l| l.expire),
            Some(1)
        );
        assert_eq!(
            s.first_free(pool.0, pool.1, Ipv4Addr::new(192, 0, 2, 12)),
            None
        );
        assert_eq!(
            s.first_free(pool.0, pool.1, pool.0),
            Some(Ipv4Addr::new(192, 0, 2, 11))
        );
        assert_eq!(s.occupied(pool.0), 2);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn refuses_leases_it_could_not_index() {
        let mut s = LeaseStore::default();
        let mut l = lease([192, 0, 2, 1], 1, &[], 5);
        l.hwaddr.clear();
        assert!(matches!(s.put(&l), Err(StoreError::NoIdentifier(_))));
        l.state = STATE_DECLINED;
        assert_eq!(s.put(&l), Ok(()));
        l.state = 7;
        assert!(matches!(s.put(&l), Err(StoreError::BadState { .. })));
    }

    #[test]
    fn bitmap_search_crosses_words_and_wraps() {
        let first = Ipv4Addr::new(198, 18, 0, 0);
        let last = Ipv4Addr::new(198, 18, 1, 43); // 300 addresses
        let mut s = LeaseStore::new(&[(first, last)]);
        for i in 0..300u32 {
            if i != 7 && i != 200 {
                s.put(&lease(
                    (u32::from(first) + i).to_be_bytes(),
                    1,
                    &i.to_be_bytes(),
                    9,
                ))
                .expect("put");
            }
        }
        let at = |i: u32| Ipv4Addr::from(u32::from(first) + i);
        assert_eq!(s.first_free(first, last, at(8)), Some(at(200)));
        assert_eq!(s.first_free(first, last, at(201)), None);
        assert_eq!(s.first_free(first, last, at(0)), Some(at(7)));
        assert_eq!(s.expired_in(first, last, 10), Some(first));
    }
}
