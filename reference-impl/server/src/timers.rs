//! The timers of the lease database both server families run, after Kea's
//! `expired-leases-processing` and `lfc-interval`: reclamation of expired leases, removal of
//! reclaimed ones, and lease file cleanup. Kea re-arms each timer when its run ends; in
//! virtual time a run takes no time, so the next run is exactly the wait time later.

use dhcplab_kea_config::common::{ExpiredLeasesProcessing, LeaseDatabase};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch of `t` (0 before the epoch).
pub fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The deadlines of the three timers; `None` when a timer is off (a wait time of 0, or no
/// lease file for the cleanup).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseTimers {
    /// Next reclamation of expired leases (`reclaim-timer-wait-time`).
    pub reclaim: Option<SystemTime>,
    /// Next removal of reclaimed leases (`flush-reclaimed-timer-wait-time`).
    pub flush: Option<SystemTime>,
    /// Next lease file cleanup (`lfc-interval`, when leases persist).
    pub lease_file_cleanup: Option<SystemTime>,
}

/// Which timers are due now; each was re-armed for its next run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Due {
    /// Reclaim expired leases.
    pub reclaim: bool,
    /// Remove reclaimed leases held long enough.
    pub flush: bool,
    /// Compact the lease file.
    pub lease_file_cleanup: bool,
}

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

impl LeaseTimers {
    /// The timers started at `now` (server start, new configuration).
    pub fn armed(now: SystemTime, e: &ExpiredLeasesProcessing, db: &LeaseDatabase) -> Self {
        // A deadline past what SystemTime holds is never reached: no timer, not a panic.
        let after = |s: u32| (s > 0).then(|| now.checked_add(secs(s))).flatten();
        Self {
            reclaim: after(e.reclaim_timer_wait_time),
            flush: after(e.flush_reclaimed_timer_wait_time),
            lease_file_cleanup: if db.persist {
                after(db.lfc_interval)
            } else {
                None
            },
        }
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<SystemTime> {
        // Written out: this runs after every message the server handles.
        let earlier = |a: Option<SystemTime>, b: Option<SystemTime>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        };
        earlier(earlier(self.reclaim, self.flush), self.lease_file_cleanup)
    }

    /// The timers due at `now`, each re-armed from `now`.
    pub fn take_due(
        &mut self,
        now: SystemTime,
        e: &ExpiredLeasesProcessing,
        db: &LeaseDatabase,
    ) -> Due {
        let fire = |deadline: &mut Option<SystemTime>, wait: u32| {
            let due = deadline.is_some_and(|t| t <= now);
            if due {
                *deadline = now.checked_add(secs(wait));
            }
            due
        };
        Due {
            reclaim: fire(&mut self.reclaim, e.reclaim_timer_wait_time),
            flush: fire(&mut self.flush, e.flush_reclaimed_timer_wait_time),
            lease_file_cleanup: fire(&mut self.lease_file_cleanup, db.lfc_interval),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_and_rearm_from_now() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000);
        let e = ExpiredLeasesProcessing::default();
        let db = LeaseDatabase {
            name: None,
            persist: true,
            lfc_interval: 0,
        };
        let mut t = LeaseTimers::armed(t0, &e, &db);
        assert_eq!(t.lease_file_cleanup, None);
        assert_eq!(t.next(), Some(t0 + secs(10)));
        let due = t.take_due(t0 + secs(12), &e, &db);
        assert_eq!((due.reclaim, due.flush), (true, false));
        assert_eq!(t.reclaim, Some(t0 + secs(22)));
        assert_eq!(epoch_secs(t0), 1_000);
    }

    #[test]
    fn a_clock_at_the_end_of_time_arms_no_timer_instead_of_panicking() {
        let end = UNIX_EPOCH
            .checked_add(Duration::from_secs(i64::MAX as u64 - 5))
            .expect("Linux's SystemTime holds i64::MAX seconds");
        let e = ExpiredLeasesProcessing::default();
        let db = LeaseDatabase {
            name: None,
            persist: true,
            lfc_interval: 1,
        };
        let mut t = LeaseTimers::armed(end, &e, &db);
        assert_eq!(t.reclaim, None, "10 s after the end of time");
        assert_eq!(t.lease_file_cleanup, end.checked_add(secs(1)));
        let later = end.checked_add(secs(1)).expect("1 s fits");
        let due = t.take_due(later, &e, &db);
        assert!(due.lease_file_cleanup);
        assert_eq!(t.lease_file_cleanup, later.checked_add(secs(1)));
    }
}
