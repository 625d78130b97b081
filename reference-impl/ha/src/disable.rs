//! A dhcp-disable of one origin (an administrator, or the HA partner while it syncs).

use std::time::{Duration, SystemTime};

/// Whether one origin has the DHCP service off: until dhcp-enable, or until the
/// `max-period` its dhcp-disable gave ends (Kea's NetworkState, one origin of it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Disable(Option<Option<SystemTime>>);

impl Disable {
    /// dhcp-disable at `now`, for `max_period` when given.
    pub fn set(&mut self, now: SystemTime, max_period: Option<Duration>) {
        self.0 = Some(max_period.map(|p| now + p));
    }

    /// dhcp-enable.
    pub fn clear(&mut self) {
        self.0 = None;
    }

    /// Whether the service is off at `now`.
    pub fn active(&self, now: SystemTime) -> bool {
        match self.0 {
            Some(None) => true,
            Some(Some(until)) => now < until,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disable_lasts_until_enable_or_its_period() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let mut d = Disable::default();
        assert!(!d.active(t));
        d.set(t, Some(Duration::from_secs(5)));
        assert!(d.active(t + Duration::from_secs(4)));
        assert!(!d.active(t + Duration::from_secs(5)));
        d.set(t, None);
        assert!(d.active(t + Duration::from_secs(1_000_000)));
        d.clear();
        assert!(!d.active(t));
    }
}
