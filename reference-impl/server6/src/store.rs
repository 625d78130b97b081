//! The lease store: every DHCPv6 lease the server knows, found by kind and address, by
//! client binding (DUID, IAID, kind, subnet), and ordered by expiry for reclamation. Nothing
//! here iterates a hash table, so what the server does never depends on hash order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv6Addr;

pub(crate) use dhcplab_memfile::{
    HwAddr6, Lease6, LeaseType, STATE_DECLINED, STATE_DEFAULT, STATE_EXPIRED_RECLAIMED,
};

type Key = (LeaseType, u128);
/// A client's binding: kind, DUID, IAID, subnet.
type Binding = (LeaseType, Vec<u8>, u32, u32);

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
    leases: BTreeMap<Key, Lease6>,
    bindings: HashMap<Binding, BTreeSet<u128>>,
    /// Leases in use or declined, by expiry.
    active: BTreeSet<(u64, LeaseType, u128)>,
    /// Reclaimed leases, by expiry.
    reclaimed: BTreeSet<(u64, LeaseType, u128)>,
}

fn binding(l: &Lease6) -> Binding {
    (l.lease_type, l.duid.clone(), l.iaid, l.subnet_id)
}

impl LeaseStore {
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    pub fn get(&self, kind: LeaseType, address: Ipv6Addr) -> Option<&Lease6> {
        self.leases.get(&(kind, u128::from(address)))
    }

    /// Stores a lease, replacing the one of its address; the old one is returned.
    pub fn put(&mut self, lease: Lease6) -> Option<Lease6> {
        let key = (lease.lease_type, u128::from(lease.address));
        let old = self.remove(key.0, lease.address);
        self.bindings
            .entry(binding(&lease))
            .or_default()
            .insert(key.1);
        self.timeline(&lease).insert((lease.expire, key.0, key.1));
        self.leases.insert(key, lease);
        old
    }

    fn timeline(&mut self, l: &Lease6) -> &mut BTreeSet<(u64, LeaseType, u128)> {
        if l.state == STATE_EXPIRED_RECLAIMED {
            &mut self.reclaimed
        } else {
            &mut self.active
        }
    }

    pub fn remove(&mut self, kind: LeaseType, address: Ipv6Addr) -> Option<Lease6> {
        let key = (kind, u128::from(address));
        let old = self.leases.remove(&key)?;
        let b = binding(&old);
        if let Some(set) = self.bindings.get_mut(&b) {
            set.remove(&key.1);
            if set.is_empty() {
                self.bindings.remove(&b);
            }
        }
        self.timeline(&old).remove(&(old.expire, key.0, key.1));
        Some(old)
    }

    /// The leases of one binding, by address.
    pub fn of_binding(&self, kind: LeaseType, duid: &[u8], iaid: u32, subnet: u32) -> Vec<Lease6> {
        self.bindings
            .get(&(kind, duid.to_vec(), iaid, subnet))
            .into_iter()
            .flatten()
            .filter_map(|a| self.leases.get(&(kind, *a)).cloned())
            .collect()
    }

    /// The first of `from`, `from + step`, ... up to `last` that has no lease.
    pub fn first_free(&self, kind: LeaseType, from: u128, last: u128, step: u128) -> Option<u128> {
        let mut candidate = from;
        for (k, _) in self.leases.range((kind, from)..=(kind, last)) {
            if k.1 < candidate {
                continue;
            }
            if k.1 != candidate {
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
            .filter_map(|(_, k, a)| self.leases.get(&(*k, *a)).cloned())
            .collect()
    }

    /// Reclaimed leases that expired before `before`.
    pub fn reclaimed_before(&self, before: u64) -> Vec<Lease6> {
        self.reclaimed
            .iter()
            .take_while(|(e, _, _)| *e < before)
            .filter_map(|(_, k, a)| self.leases.get(&(*k, *a)).cloned())
            .collect()
    }

    /// Every lease, addresses first, each kind by address.
    pub fn all(&self) -> Vec<Lease6> {
        self.leases.values().cloned().collect()
    }

    /// Every lease of a subnet.
    pub fn counts(&self, subnet_id: u32) -> Counts {
        let mut c = Counts::default();
        for l in self.leases.values().filter(|l| l.subnet_id == subnet_id) {
            match (l.state, l.lease_type) {
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
