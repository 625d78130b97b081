//! Expired leases processing, after Kea's `AllocEngine::reclaimExpiredLeases4` and
//! `deleteExpiredReclaimedLeases4`, driven by `expired-leases-processing`:
//! - every `reclaim-timer-wait-time` seconds, up to `max-reclaim-leases` expired leases are
//!   reclaimed: kept for lease affinity in state expired-reclaimed (host name and DNS flags
//!   cleared), or deleted at once when `flush-reclaimed-timer-wait-time` is 0 (affinity off);
//!   a declined address whose probation is over is reclaimed the same way;
//! - every `flush-reclaimed-timer-wait-time` seconds, reclaimed leases that expired more than
//!   `hold-reclaimed-time` seconds ago are deleted;
//! - every `lfc-interval` seconds the lease file is compacted.
//!
//! Kea re-arms each timer when its run ends; in virtual time a run takes no time, so the next
//! run is exactly the wait time later. `max-reclaim-time` bounds a run's duration in Kea; the
//! core has no notion of how long work takes, so only `max-reclaim-leases` bounds a run.

use crate::hooks::{Args, HookPoint};
use crate::stats::{Counter, SubnetCounter};
use crate::{Action, Server, epoch_secs};
use dhcplab_memfile::{Lease4, STATE_DECLINED, STATE_EXPIRED_RECLAIMED};
use std::time::SystemTime;

/// Runs the timers that are due at `now` and re-arms them.
pub(crate) fn on_timeout(server: &mut Server, now: SystemTime) {
    let e = server.config.kea.expired_leases;
    let db = server.config.kea.lease_database.clone();
    let due = server.timers.take_due(now, &e, &db);
    if due.reclaim {
        let left = reclaim(server, now, e.max_reclaim_leases as usize, None);
        if left {
            server.unfinished_reclaims += 1;
            if e.unwarned_reclaim_cycles > 0
                && server.unfinished_reclaims >= e.unwarned_reclaim_cycles
            {
                tracing::warn!(
                    cycles = server.unfinished_reclaims,
                    "expired leases remain after {} reclamation runs; consider raising max-reclaim-leases",
                    server.unfinished_reclaims
                );
            }
        } else {
            server.unfinished_reclaims = 0;
        }
    }
    if due.flush {
        flush(server, now);
    }
    if due.lease_file_cleanup {
        server.actions.push_back(Action::CompactLeaseFile);
    }
}

/// Reclaims up to `limit` expired leases (0: all). `remove` overrides whether reclaimed leases
/// are deleted (`leases-reclaim`'s argument); by default they are deleted only when lease
/// affinity is off. Returns true when expired leases remain.
pub(crate) fn reclaim(
    server: &mut Server,
    now: SystemTime,
    limit: usize,
    remove: Option<bool>,
) -> bool {
    let secs_now = epoch_secs(now);
    let remove = remove.unwrap_or(
        server
            .config
            .kea
            .expired_leases
            .flush_reclaimed_timer_wait_time
            == 0,
    );
    let expired = server.leases.expired(secs_now, limit);
    for lease in &expired {
        let declined = lease.state == STATE_DECLINED;
        let Some(recovered) = reclaim_callouts(server, lease, remove, declined) else {
            continue;
        };
        server.stats.bump(Counter::ReclaimedLeases, now);
        server
            .stats
            .bump_subnet(lease.subnet_id, SubnetCounter::ReclaimedLeases, now);
        if recovered {
            server.stats.bump(Counter::ReclaimedDeclinedAddresses, now);
            server.stats.bump_subnet(
                lease.subnet_id,
                SubnetCounter::ReclaimedDeclinedAddresses,
                now,
            );
        }
        if remove || recovered {
            server.delete(lease.address);
        } else {
            let mut r = lease.clone();
            r.state = STATE_EXPIRED_RECLAIMED;
            r.hostname.clear();
            r.fqdn_fwd = false;
            r.fqdn_rev = false;
            if let Err(e) = server.commit(r) {
                tracing::error!("lease not stored: {e}");
            }
        }
        tracing::debug!(address = %lease.address, "lease reclaimed");
    }
    limit != 0 && server.leases.expired(secs_now, 1).len() == 1
}

/// lease4_expire, then lease4_recover for a declined lease, in Kea's order
/// ([`crate::hooks::reclaim_steps`]).
fn reclaim_callouts(
    server: &mut Server,
    lease: &Lease4,
    remove: bool,
    declined: bool,
) -> Option<bool> {
    let out = crate::hooks::reclaim_steps(declined, |recover| {
        let (point, remove_lease) = if recover {
            (HookPoint::Lease4Recover, None)
        } else {
            (HookPoint::Lease4Expire, Some(remove))
        };
        let args = Args {
            lease: Some(lease),
            remove_lease,
            ..Args::default()
        };
        server.callout(point, &args).next_step
    });
    tracing::debug!(address = %lease.address, ?out, "reclamation callouts");
    out
}

/// Deletes reclaimed leases that expired more than `hold-reclaimed-time` seconds ago.
pub(crate) fn flush(server: &mut Server, now: SystemTime) {
    let hold = u64::from(server.config.kea.expired_leases.hold_reclaimed_time);
    let before = epoch_secs(now).saturating_sub(hold);
    for lease in server.leases.reclaimed_before(before, 0) {
        server.delete(lease.address);
    }
}
