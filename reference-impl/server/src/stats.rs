//! Kea's statistics: packet counters by message type, allocation failures, reclamation, and
//! per-subnet address counts, under Kea's names so `statistic-get-all` reads like Kea's.

use std::collections::BTreeMap;
use std::time::SystemTime;

/// A global counter, named as Kea names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Counter {
    /// `pkt4-received`: every datagram read.
    Received,
    /// `pkt4-discover-received`.
    DiscoverReceived,
    /// `pkt4-offer-received`.
    OfferReceived,
    /// `pkt4-request-received`.
    RequestReceived,
    /// `pkt4-ack-received`.
    AckReceived,
    /// `pkt4-nak-received`.
    NakReceived,
    /// `pkt4-release-received`.
    ReleaseReceived,
    /// `pkt4-decline-received`.
    DeclineReceived,
    /// `pkt4-inform-received`.
    InformReceived,
    /// `pkt4-unknown-received`: a message type the server does not handle.
    UnknownReceived,
    /// `pkt4-parse-failed`: a datagram that is not a DHCPv4 message.
    ParseFailed,
    /// `pkt4-receive-drop`: a message dropped (malformed options, no subnet, not for us).
    ReceiveDrop,
    /// `pkt4-sent`.
    Sent,
    /// `pkt4-offer-sent`.
    OfferSent,
    /// `pkt4-ack-sent`.
    AckSent,
    /// `pkt4-nak-sent`.
    NakSent,
    /// `v4-allocation-fail`: no address could be found for a client.
    AllocationFail,
    /// `v4-allocation-fail-subnet`: the pools of the client's subnet are exhausted.
    AllocationFailSubnet,
    /// `v4-allocation-fail-no-pools`: the client's subnet has no pool.
    AllocationFailNoPools,
    /// `v4-allocation-fail-classes`: Kea counts every failure here too (every client is in
    /// class `ALL`).
    AllocationFailClasses,
    /// `v4-allocation-fail-shared-network`: never counted (no shared networks), kept for
    /// Kea's list.
    AllocationFailSharedNetwork,
    /// `v4-reservation-conflicts`: a client's reserved address was held by another client.
    ReservationConflicts,
    /// `cumulative-assigned-addresses`: leases created (not renewals of active ones).
    CumulativeAssigned,
    /// `reclaimed-leases`.
    ReclaimedLeases,
    /// `reclaimed-declined-addresses`.
    ReclaimedDeclinedAddresses,
}

impl Counter {
    const ALL: [Counter; 25] = [
        Counter::Received,
        Counter::DiscoverReceived,
        Counter::OfferReceived,
        Counter::RequestReceived,
        Counter::AckReceived,
        Counter::NakReceived,
        Counter::ReleaseReceived,
        Counter::DeclineReceived,
        Counter::InformReceived,
        Counter::UnknownReceived,
        Counter::ParseFailed,
        Counter::ReceiveDrop,
        Counter::Sent,
        Counter::OfferSent,
        Counter::AckSent,
        Counter::NakSent,
        Counter::AllocationFail,
        Counter::AllocationFailSubnet,
        Counter::AllocationFailNoPools,
        Counter::AllocationFailClasses,
        Counter::AllocationFailSharedNetwork,
        Counter::ReservationConflicts,
        Counter::CumulativeAssigned,
        Counter::ReclaimedLeases,
        Counter::ReclaimedDeclinedAddresses,
    ];

    /// Kea's name.
    pub fn name(self) -> &'static str {
        match self {
            Counter::Received => "pkt4-received",
            Counter::DiscoverReceived => "pkt4-discover-received",
            Counter::OfferReceived => "pkt4-offer-received",
            Counter::RequestReceived => "pkt4-request-received",
            Counter::AckReceived => "pkt4-ack-received",
            Counter::NakReceived => "pkt4-nak-received",
            Counter::ReleaseReceived => "pkt4-release-received",
            Counter::DeclineReceived => "pkt4-decline-received",
            Counter::InformReceived => "pkt4-inform-received",
            Counter::UnknownReceived => "pkt4-unknown-received",
            Counter::ParseFailed => "pkt4-parse-failed",
            Counter::ReceiveDrop => "pkt4-receive-drop",
            Counter::Sent => "pkt4-sent",
            Counter::OfferSent => "pkt4-offer-sent",
            Counter::AckSent => "pkt4-ack-sent",
            Counter::NakSent => "pkt4-nak-sent",
            Counter::AllocationFail => "v4-allocation-fail",
            Counter::AllocationFailSubnet => "v4-allocation-fail-subnet",
            Counter::AllocationFailNoPools => "v4-allocation-fail-no-pools",
            Counter::AllocationFailClasses => "v4-allocation-fail-classes",
            Counter::AllocationFailSharedNetwork => "v4-allocation-fail-shared-network",
            Counter::ReservationConflicts => "v4-reservation-conflicts",
            Counter::CumulativeAssigned => "cumulative-assigned-addresses",
            Counter::ReclaimedLeases => "reclaimed-leases",
            Counter::ReclaimedDeclinedAddresses => "reclaimed-declined-addresses",
        }
    }
}

/// Per-subnet counters that are not counts of leases (those come from the lease store).
/// The first four exist from the start, as in Kea; the allocation failures appear when first
/// counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SubnetCounter {
    /// `subnet[id].cumulative-assigned-addresses`.
    CumulativeAssigned,
    /// `subnet[id].reclaimed-leases`.
    ReclaimedLeases,
    /// `subnet[id].reclaimed-declined-addresses`.
    ReclaimedDeclinedAddresses,
    /// `subnet[id].v4-reservation-conflicts`.
    ReservationConflicts,
    /// `subnet[id].v4-allocation-fail`.
    AllocationFail,
    /// `subnet[id].v4-allocation-fail-subnet`.
    AllocationFailSubnet,
    /// `subnet[id].v4-allocation-fail-no-pools`.
    AllocationFailNoPools,
    /// `subnet[id].v4-allocation-fail-classes`.
    AllocationFailClasses,
}

impl SubnetCounter {
    const STANDING: [SubnetCounter; 4] = [
        SubnetCounter::CumulativeAssigned,
        SubnetCounter::ReclaimedLeases,
        SubnetCounter::ReclaimedDeclinedAddresses,
        SubnetCounter::ReservationConflicts,
    ];

    /// Kea's name, without the `subnet[id].` prefix.
    pub fn name(self) -> &'static str {
        match self {
            SubnetCounter::CumulativeAssigned => "cumulative-assigned-addresses",
            SubnetCounter::ReclaimedLeases => "reclaimed-leases",
            SubnetCounter::ReclaimedDeclinedAddresses => "reclaimed-declined-addresses",
            SubnetCounter::ReservationConflicts => "v4-reservation-conflicts",
            SubnetCounter::AllocationFail => "v4-allocation-fail",
            SubnetCounter::AllocationFailSubnet => "v4-allocation-fail-subnet",
            SubnetCounter::AllocationFailNoPools => "v4-allocation-fail-no-pools",
            SubnetCounter::AllocationFailClasses => "v4-allocation-fail-classes",
        }
    }
}

/// One value and when it last changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The value.
    pub value: i64,
    /// When it was set.
    pub at: SystemTime,
}

/// Every counter of a server.
#[derive(Debug, Clone)]
pub struct Stats {
    global: [Sample; Counter::ALL.len()],
    subnets: BTreeMap<(u32, SubnetCounter), Sample>,
    reset_at: SystemTime,
}

impl Stats {
    /// All counters at zero, as of `now`.
    pub fn new(now: SystemTime) -> Self {
        let zero = Sample { value: 0, at: now };
        Self {
            global: [zero; Counter::ALL.len()],
            subnets: BTreeMap::new(),
            reset_at: now,
        }
    }

    /// Adds one to `c`.
    pub fn bump(&mut self, c: Counter, now: SystemTime) {
        if let Some(s) = self.global.get_mut(c as usize) {
            s.value += 1;
            s.at = now;
        }
    }

    /// Adds one to subnet `id`'s counter `c`.
    pub fn bump_subnet(&mut self, id: u32, c: SubnetCounter, now: SystemTime) {
        let s = self.subnets.entry((id, c)).or_insert(Sample {
            value: 0,
            at: self.reset_at,
        });
        s.value += 1;
        s.at = now;
    }

    /// Forgets every per-subnet counter (a reconfiguration recreates them, as Kea does).
    pub fn reset_subnets(&mut self, now: SystemTime) {
        self.subnets.clear();
        self.reset_at = now;
    }

    /// The value of `c`.
    pub fn get(&self, c: Counter) -> i64 {
        self.global.get(c as usize).map_or(0, |s| s.value)
    }

    /// The value of subnet `id`'s counter `c`.
    pub fn get_subnet(&self, id: u32, c: SubnetCounter) -> i64 {
        self.subnets.get(&(id, c)).map_or(0, |s| s.value)
    }

    /// Every global counter by Kea's name.
    pub fn global(&self) -> impl Iterator<Item = (&'static str, Sample)> + '_ {
        Counter::ALL
            .iter()
            .zip(self.global.iter())
            .map(|(c, s)| (c.name(), *s))
    }

    /// Subnet `id`'s counters by Kea's name (without the `subnet[id].` prefix): the standing
    /// ones always, the others once counted.
    pub fn subnet(&self, id: u32) -> Vec<(&'static str, Sample)> {
        let zero = Sample {
            value: 0,
            at: self.reset_at,
        };
        let mut out: Vec<(&'static str, Sample)> = SubnetCounter::STANDING
            .iter()
            .map(|c| {
                (
                    c.name(),
                    self.subnets.get(&(id, *c)).copied().unwrap_or(zero),
                )
            })
            .collect();
        out.extend(
            self.subnets
                .range(
                    (id, SubnetCounter::AllocationFail)
                        ..=(id, SubnetCounter::AllocationFailClasses),
                )
                .map(|((_, c), s)| (c.name(), *s)),
        );
        out
    }
}
