//! The configuration as the server uses it: Kea's `Dhcp4` with inheritance resolved (global
//! lifetimes and options into each subnet) and reservations indexed.

use dhcplab_kea_config::dhcp4::{
    DEFAULT_T1_PERCENT, DEFAULT_T2_PERCENT, DEFAULT_VALID_LIFETIME, Dhcp4, Identifier, OptionData,
    Pool4, Prefix4, Reservation4, Subnet4,
};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// A subnet with everything it inherits.
#[derive(Debug, Clone)]
pub(crate) struct Subnet {
    pub id: u32,
    pub prefix: Prefix4,
    pub pools: Vec<Pool4>,
    /// Subnet options, then global ones; the first of a code wins.
    pub options: Vec<OptionData>,
    pub valid_lifetime: u32,
    pub renew_timer: Option<u32>,
    pub rebind_timer: Option<u32>,
    pub calculate_tee_times: bool,
    pub t1_percent: f64,
    pub t2_percent: f64,
    pub interface: Option<String>,
    pub relays: Vec<Ipv4Addr>,
    pub match_client_id: bool,
    pub authoritative: bool,
    /// `next-server`, `server-hostname`, `boot-file-name`: the subnet's over the global ones.
    pub boot: dhcplab_kea_config::dhcp4::Boot,
    pub reservations: Vec<Reservation4>,
    by_hwaddr: HashMap<Vec<u8>, usize>,
    by_client_id: HashMap<Vec<u8>, usize>,
    by_address: HashMap<Ipv4Addr, usize>,
}

impl Subnet {
    fn new(s: &Subnet4, global: &Dhcp4) -> Self {
        let mut options = s.option_data.clone();
        options.extend(global.option_data.iter().cloned());
        let g = &global.timers;
        let t = &s.timers;
        let mut by_hwaddr = HashMap::new();
        let mut by_client_id = HashMap::new();
        let mut by_address = HashMap::new();
        for (i, r) in s.reservations.iter().enumerate() {
            match &r.identifier {
                Identifier::HwAddress(h) => by_hwaddr.entry(h.clone()).or_insert(i),
                Identifier::ClientId(c) => by_client_id.entry(c.clone()).or_insert(i),
            };
            if let Some(a) = r.address {
                by_address.entry(a).or_insert(i);
            }
        }
        Self {
            id: s.id,
            prefix: s.prefix,
            pools: s.pools.clone(),
            options,
            valid_lifetime: t
                .valid_lifetime
                .or(g.valid_lifetime)
                .unwrap_or(DEFAULT_VALID_LIFETIME),
            renew_timer: t.renew_timer.or(g.renew_timer),
            rebind_timer: t.rebind_timer.or(g.rebind_timer),
            calculate_tee_times: t
                .calculate_tee_times
                .or(g.calculate_tee_times)
                .unwrap_or(false),
            t1_percent: t.t1_percent.or(g.t1_percent).unwrap_or(DEFAULT_T1_PERCENT),
            t2_percent: t.t2_percent.or(g.t2_percent).unwrap_or(DEFAULT_T2_PERCENT),
            interface: s.interface.clone(),
            relays: s.relays.clone(),
            match_client_id: s.match_client_id.unwrap_or(global.match_client_id),
            authoritative: s.authoritative.unwrap_or(global.authoritative),
            boot: s.boot.over(&global.boot),
            reservations: s.reservations.clone(),
            by_hwaddr,
            by_client_id,
            by_address,
        }
    }

    /// The reservation of a client, by client identifier first, then hardware address.
    pub fn reservation_for(
        &self,
        hwaddr: &[u8],
        client_id: Option<&[u8]>,
    ) -> Option<&Reservation4> {
        client_id
            .and_then(|c| self.by_client_id.get(c))
            .or_else(|| self.by_hwaddr.get(hwaddr))
            .and_then(|i| self.reservations.get(*i))
    }

    /// The reservation that holds `address`, whoever it is for.
    pub fn reservation_of(&self, address: Ipv4Addr) -> Option<&Reservation4> {
        self.by_address
            .get(&address)
            .and_then(|i| self.reservations.get(*i))
    }

    /// The pool holding `address`.
    pub fn pool_of(&self, address: Ipv4Addr) -> Option<&Pool4> {
        self.pools
            .iter()
            .find(|p| (p.first..=p.last).contains(&address))
    }

    /// T1 and T2 to send with a lease of `valid` seconds, as Kea 2.2's `setTeeTimes`: an
    /// explicit timer, else a computed one when `calculate-tee-times` is on; T2 only when below
    /// the lifetime, T1 only when below T2 (or the lifetime when T2 is not sent).
    pub fn tee_times(&self, valid: u32) -> (Option<u32>, Option<u32>) {
        let pick = |explicit: Option<u32>, percent: f64| {
            explicit.unwrap_or_else(|| {
                if self.calculate_tee_times {
                    (percent * f64::from(valid)).round() as u32
                } else {
                    0
                }
            })
        };
        let t2 = pick(self.rebind_timer, self.t2_percent);
        let t2 = (t2 > 0 && t2 < valid).then_some(t2);
        let ceiling = t2.unwrap_or(valid);
        let t1 = pick(self.renew_timer, self.t1_percent);
        let t1 = (t1 > 0 && t1 < ceiling).then_some(t1);
        (t1, t2)
    }

    /// The subnet mask's bytes.
    pub fn mask(&self) -> [u8; 4] {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix.len))
            .unwrap_or(0)
            .to_be_bytes()
    }
}

/// The whole configuration in force.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub kea: Dhcp4,
    /// The configuration as JSON, for `config-get`.
    pub json: serde_json::Value,
    /// Shared, so a handler can hold its subnet while it changes the server.
    pub subnets: Vec<Arc<Subnet>>,
}

impl Config {
    pub fn new(kea: Dhcp4, json: serde_json::Value) -> Self {
        let subnets = kea
            .subnets
            .iter()
            .map(|s| Arc::new(Subnet::new(s, &kea)))
            .collect();
        Self { kea, json, subnets }
    }

    /// Every pool, as (first, last).
    pub fn pools(&self) -> Vec<(Ipv4Addr, Ipv4Addr)> {
        self.subnets
            .iter()
            .flat_map(|s| s.pools.iter().map(|p| (p.first, p.last)))
            .collect()
    }

    pub fn subnet(&self, id: u32) -> Option<&Subnet> {
        self.subnets.iter().find(|s| s.id == id).map(|s| s.as_ref())
    }

    /// The subnet holding `address`.
    pub fn subnet_of(&self, address: Ipv4Addr) -> Option<&Subnet> {
        self.subnets
            .iter()
            .find(|s| s.prefix.contains(address))
            .map(|s| s.as_ref())
    }
}
