//! The configuration as the server uses it: Kea's `Dhcp6` with inheritance resolved (global
//! lifetimes into each subnet) and reservations indexed.

use crate::ServerError;
use crate::store::LeaseType;
use dhcplab_kea_config::dhcp6::{
    Dhcp6, Identifier6, Lifetimes6, OptionData6, Pool6, Prefix6, Reservation6, Subnet6,
};
use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::sync::Arc;

/// One range of leasable resources: addresses of a pool (step 1, length 128), or the
/// delegated prefixes of a pd-pool (step 2^(128 - delegated length)).
#[derive(Debug, Clone)]
pub(crate) struct Range {
    pub kind: LeaseType,
    pub first: u128,
    pub last: u128,
    pub step: u128,
    /// 128, or the delegated length.
    pub len: u8,
    /// The pool's `option-data`.
    pub options: Vec<OptionData6>,
}

impl Range {
    fn pool(p: &Pool6) -> Self {
        Self {
            kind: LeaseType::Na,
            first: u128::from(p.first),
            last: u128::from(p.last),
            step: 1,
            len: 128,
            options: p.option_data.clone(),
        }
    }

    fn pd_pool(p: &dhcplab_kea_config::dhcp6::PdPool6) -> Self {
        let len = p.delegated_len.clamp(p.prefix.len, 128);
        Self {
            kind: LeaseType::Pd,
            first: u128::from(p.prefix.network),
            last: u128::from(p.prefix.last()),
            step: 1u128.checked_shl(128 - u32::from(len)).unwrap_or(1),
            len,
            options: p.option_data.clone(),
        }
    }

    /// How many resources the range has; a range of all 2^128 addresses saturates at
    /// `u128::MAX`.
    pub fn size(&self) -> u128 {
        (self.last.saturating_sub(self.first) / self.step).saturating_add(1)
    }

    /// True when `a` is one of the range's resources (for prefixes: the start of one).
    pub fn holds(&self, a: u128) -> bool {
        (self.first..=self.last).contains(&a) && (a - self.first) % self.step == 0
    }
}

/// A subnet with everything it inherits.
#[derive(Debug, Clone)]
pub(crate) struct Subnet {
    pub id: u32,
    pub prefix: Prefix6,
    /// Address pools then pd-pools, in configuration order.
    pub ranges: Vec<Range>,
    /// The subnet's own `option-data`.
    pub options: Vec<OptionData6>,
    pub life: Lifetimes6,
    pub rapid_commit: bool,
    pub interface: Option<String>,
    pub interface_id: Option<Vec<u8>>,
    pub relays: Vec<Ipv6Addr>,
    pub reservations: Vec<Reservation6>,
    by_duid: HashMap<Vec<u8>, usize>,
    by_hwaddr: HashMap<Vec<u8>, usize>,
    by_resource: HashMap<(LeaseType, Ipv6Addr), usize>,
}

impl Subnet {
    fn new(s: &Subnet6, global: &Dhcp6) -> Self {
        let mut by_duid = HashMap::new();
        let mut by_hwaddr = HashMap::new();
        let mut by_resource = HashMap::new();
        for (i, r) in s.reservations.iter().enumerate() {
            match &r.identifier {
                Identifier6::Duid(d) => by_duid.entry(d.clone()).or_insert(i),
                Identifier6::HwAddress(h) => by_hwaddr.entry(h.clone()).or_insert(i),
            };
            for a in &r.addresses {
                by_resource.entry((LeaseType::Na, *a)).or_insert(i);
            }
            for p in &r.prefixes {
                by_resource.entry((LeaseType::Pd, p.network)).or_insert(i);
            }
        }
        let ranges = s
            .pools
            .iter()
            .map(Range::pool)
            .chain(s.pd_pools.iter().map(Range::pd_pool))
            .collect();
        Self {
            id: s.id,
            prefix: s.prefix,
            ranges,
            options: s.option_data.clone(),
            life: s.timers.over(&global.timers).resolve(),
            rapid_commit: s.rapid_commit.unwrap_or(global.rapid_commit),
            interface: s.interface.clone(),
            interface_id: s.interface_id.clone(),
            relays: s.relays.clone(),
            reservations: s.reservations.clone(),
            by_duid,
            by_hwaddr,
            by_resource,
        }
    }

    /// The reservation of a client: by hardware address first, then by DUID, Kea 2.2's
    /// default `host-reservation-identifiers` order for DHCPv6.
    pub fn reservation_for(&self, duid: &[u8], hwaddr: Option<&[u8]>) -> Option<&Reservation6> {
        hwaddr
            .and_then(|h| self.by_hwaddr.get(h))
            .or_else(|| self.by_duid.get(duid))
            .and_then(|i| self.reservations.get(*i))
    }

    /// The reservation that holds an address or prefix, whoever it is for.
    pub fn reservation_of(&self, kind: LeaseType, a: Ipv6Addr) -> Option<&Reservation6> {
        self.by_resource
            .get(&(kind, a))
            .and_then(|i| self.reservations.get(*i))
    }

    /// The range (pool or pd-pool) holding `a`.
    pub fn range_of(&self, kind: LeaseType, a: Ipv6Addr) -> Option<&Range> {
        let a = u128::from(a);
        self.ranges.iter().find(|r| r.kind == kind && r.holds(a))
    }

    /// T1 and T2 for an IA whose shortest preferred lifetime is `preferred`, as Kea 2.2's
    /// `Dhcpv6Srv::setTeeTimes`: an explicit timer, else one computed from the preferred
    /// lifetime when `calculate-tee-times` is on, else 0; T1 is sent only when below T2.
    pub fn tee_times(&self, preferred: u32) -> (u32, u32) {
        let pick = |explicit: Option<u32>, percent: f64| {
            explicit.unwrap_or_else(|| {
                if self.life.calculate_tee_times {
                    (percent * f64::from(preferred)).round() as u32
                } else {
                    0
                }
            })
        };
        let t2 = pick(self.life.rebind, self.life.t2_percent);
        let t1 = pick(self.life.renew, self.life.t1_percent);
        (if t1 < t2 { t1 } else { 0 }, t2)
    }
}

/// The whole configuration in force.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub kea: Dhcp6,
    /// The configuration as JSON, for `config-get`.
    pub json: serde_json::Value,
    /// Shared, so a handler can hold its subnet while it changes the server.
    pub subnets: Vec<Arc<Subnet>>,
}

impl Config {
    pub fn new(kea: Dhcp6, json: serde_json::Value) -> Result<Self, ServerError> {
        let mut faults = Vec::new();
        for (i, s) in kea.subnets.iter().enumerate() {
            for (j, p) in s.pd_pools.iter().enumerate() {
                if p.delegated_len < p.prefix.len || p.delegated_len > 128 {
                    faults.push(format!(
                        "Dhcp6/subnet6[{i}]/pd-pools[{j}]: delegated-len {} is not between prefix-len {} and 128",
                        p.delegated_len, p.prefix.len
                    ));
                }
            }
        }
        if !faults.is_empty() {
            return Err(ServerError::Config(faults));
        }
        let subnets = kea
            .subnets
            .iter()
            .map(|s| Arc::new(Subnet::new(s, &kea)))
            .collect();
        Ok(Self { kea, json, subnets })
    }

    pub fn subnet(&self, id: u32) -> Option<&Arc<Subnet>> {
        self.subnets.iter().find(|s| s.id == id)
    }

    /// The subnet whose prefix holds `a`.
    pub fn subnet_of(&self, a: Ipv6Addr) -> Option<&Arc<Subnet>> {
        self.subnets.iter().find(|s| s.prefix.contains(a))
    }
}
