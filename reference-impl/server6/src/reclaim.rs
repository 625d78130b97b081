//! Expired leases processing, after Kea's `AllocEngine::reclaimExpiredLeases6` and
//! `deleteExpiredReclaimedLeases6`, driven by `expired-leases-processing`:
//! - every `reclaim-timer-wait-time` seconds, up to `max-reclaim-leases` expired leases are
//!   reclaimed: kept for lease affinity in state expired-reclaimed (host name and DNS flags
//!   cleared), or deleted at once when `flush-reclaimed-timer-wait-time` is 0; a declined
//!   address whose probation is over is deleted (recovered);
//! - every `flush-reclaimed-timer-wait-time` seconds, reclaimed leases that expired more than
//!   `hold-reclaimed-time` seconds ago are deleted;
//! - every `lfc-interval` seconds the lease file is compacted.
//!
//! As in the v4 core, a run takes no time in virtual time, so the next run is exactly the
//! wait time later, and only `max-reclaim-leases` bounds a run.

use crate::hooks::{Args, HookPoint};
use crate::store::{Lease6, STATE_DECLINED, STATE_EXPIRED_RECLAIMED};
use crate::{Action, Server, epoch_secs};
use std::time::SystemTime;

/// Runs the timers that are due at `now` (they re-arm themselves).
pub(crate) fn on_timeout(server: &mut Server, now: SystemTime) {
    let e = server.config.kea.expired_leases;
    let db = server.config.kea.lease_database.clone();
    let due = server.timers.take_due(now, &e, &db);
    if due.reclaim {
        reclaim(server, now, e.max_reclaim_leases as usize, None);
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
/// affinity is off.
pub(crate) fn reclaim(server: &mut Server, now: SystemTime, limit: usize, remove: Option<bool>) {
    let remove = remove.unwrap_or(
        server
            .config
            .kea
            .expired_leases
            .flush_reclaimed_timer_wait_time
            == 0,
    );
    for lease in server.leases.expired(epoch_secs(now), limit) {
        let declined = lease.state == STATE_DECLINED;
        let Some(recovered) = reclaim_callouts(server, &lease, remove, declined) else {
            continue;
        };
        server.stats.bump("reclaimed-leases", now);
        server
            .stats
            .add_subnet(lease.subnet_id, "reclaimed-leases", 1, now);
        if recovered {
            server.stats.bump("reclaimed-declined-addresses", now);
            server
                .stats
                .add_subnet(lease.subnet_id, "reclaimed-declined-addresses", 1, now);
        }
        if remove || recovered {
            server.delete(lease.lease_type, lease.address);
        } else {
            let mut r = lease.clone();
            r.state = STATE_EXPIRED_RECLAIMED;
            r.hostname.clear();
            r.fqdn_fwd = false;
            r.fqdn_rev = false;
            server.commit(r);
        }
        tracing::debug!(address = %lease.address, "lease reclaimed");
    }
}

/// Deletes reclaimed leases that expired more than `hold-reclaimed-time` seconds ago.
pub(crate) fn flush(server: &mut Server, now: SystemTime) {
    let hold = u64::from(server.config.kea.expired_leases.hold_reclaimed_time);
    let before = epoch_secs(now).saturating_sub(hold);
    for lease in server.leases.reclaimed_before(before) {
        server.delete(lease.lease_type, lease.address);
    }
}

/// lease6_expire, then lease6_recover for a declined lease, in Kea's order
/// ([`dhcplab_server::hooks::reclaim_steps`]).
fn reclaim_callouts(
    server: &mut Server,
    lease: &Lease6,
    remove: bool,
    declined: bool,
) -> Option<bool> {
    dhcplab_server::hooks::reclaim_steps(declined, |recover| {
        let (point, remove_lease) = if recover {
            (HookPoint::Lease6Recover, None)
        } else {
            (HookPoint::Lease6Expire, Some(remove))
        };
        let args = Args {
            lease: Some(lease),
            remove_lease,
            ..Args::default()
        };
        server.callout(point, &args).next_step
    })
}
