//! Kea's DHCPv6 statistics under Kea's names (`pkt6-received`, `pkt6-reply-sent`,
//! `subnet[1].assigned-nas` ...): counters with their latest sample and its time.

use std::collections::BTreeMap;
use std::time::SystemTime;

/// The counters Kea 2.2's kea-dhcp6 creates at start, at 0.
const GLOBAL: [&str; 18] = [
    "pkt6-received",
    "pkt6-solicit-received",
    "pkt6-advertise-received",
    "pkt6-request-received",
    "pkt6-reply-received",
    "pkt6-renew-received",
    "pkt6-rebind-received",
    "pkt6-release-received",
    "pkt6-decline-received",
    "pkt6-infrequest-received",
    "pkt6-unknown-received",
    "pkt6-parse-failed",
    "pkt6-receive-drop",
    "pkt6-sent",
    "pkt6-advertise-sent",
    "pkt6-reply-sent",
    "reclaimed-leases",
    "reclaimed-declined-addresses",
];

/// Counters by name.
#[derive(Debug, Clone)]
pub(crate) struct Stats {
    values: BTreeMap<String, (i64, SystemTime)>,
}

impl Stats {
    pub fn new(now: SystemTime) -> Self {
        Self {
            values: GLOBAL.iter().map(|n| (n.to_string(), (0, now))).collect(),
        }
    }

    /// Adds `by` to a counter, creating it at 0 first.
    pub fn add(&mut self, name: &str, by: i64, now: SystemTime) {
        // Looked up first: most counters exist, and a new key costs an allocation.
        match self.values.get_mut(name) {
            Some(e) => *e = (e.0.saturating_add(by), now),
            None => {
                self.values.insert(name.to_string(), (by, now));
            }
        }
    }

    /// Adds 1 to a counter.
    pub fn bump(&mut self, name: &str, now: SystemTime) {
        self.add(name, 1, now);
    }

    /// Adds `by` to a subnet's counter `subnet[id].name`.
    pub fn add_subnet(&mut self, id: u32, name: &str, by: i64, now: SystemTime) {
        self.add(&format!("subnet[{id}].{name}"), by, now);
    }

    /// Every counter, by name.
    pub fn all(&self) -> impl Iterator<Item = (&str, i64, SystemTime)> {
        self.values.iter().map(|(n, (v, t))| (n.as_str(), *v, *t))
    }

    /// Resets the counters of subnets (a new configuration).
    pub fn reset_subnets(&mut self) {
        self.values.retain(|n, _| !n.starts_with("subnet["));
    }
}
