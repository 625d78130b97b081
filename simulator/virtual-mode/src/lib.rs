//! Virtual mode: a scenario's hosts run in one process on the virtual network, in virtual
//! time. Servers are the reference server core, clients the reference client core, peers send
//! what the scenario crafts. The clock jumps from one deadline to the next, so a week of lease
//! life takes milliseconds, and everything random comes from the seed: the same seed, scenario
//! and build give the same timeline and the same pcap bytes.
//!
//! Whatever its steps say, a run fails when two clients configure one address while they can
//! reach each other, when it gets stuck (hosts working without time passing), or when it goes
//! past [`dhcplab_runner::MAX_VIRTUAL_TIME`] or [`MAX_WORK`]. The steps are played by [`dhcplab_runner`], the
//! same way as in TAP mode.
//!
//! What virtual mode simplifies, on purpose:
//! - ARP is answered from the table of addresses hosts hold (as if every cache were warm), and
//!   an ARP probe is answered at once, by a host that can reach the prober;
//! - a broadcast reaches only the hosts with a socket on its UDP port;
//! - the event program exits as soon as it starts;
//! - the pcap records each frame once, when it is put on the link, not once per receiver;
//! - HA peers' HTTP runs over a TCP without retransmission ([`peer_http`]);
//! - DHCPv6: neighbour discovery is answered from the table of addresses hosts hold, and
//!   duplicate address detection happens at once: a client that configures an address
//!   another host it can reach already holds is told so (`HostEvent::Duplicate`) and
//!   Declines it; a relay agent has one link address for its two segments.
//!
//! Hosts sit on named segments: a broadcast or multicast reaches only the hosts of the
//! sender's segments, and a unicast frame to a host on none of them is not sent. DHCPv6
//! servers, clients and relay agents are the reference cores (`dhcplab-server6`,
//! `dhcplab-client6`, `dhcplab-relay6`), driven as the DHCPv4 ones are.
//!
//! Servers of an HA pair are checked beyond the rule above: no address may be leased to two
//! clients at once by the servers' lease tables, nor by the ACKs on the link. DHCPv6 is
//! checked the same way: no address, and no delegated prefix overlapping another, held by two
//! clients (DUIDs) at once, by the servers' Replies and by their Lease6 rows; no client may
//! configure a prefix overlapping another client's.

mod minimize;
mod peer_http;
mod world;

pub use minimize::{MAX_RUNS, Minimized, minimize};
pub use world::MAX_WORK;

use dhcplab_runner::{Outcome, play};
use dhcplab_scenario::{Expect, Scenario, What};
use std::time::{Duration, UNIX_EPOCH};
use world::World;

/// Virtual time zero: 2027-01-15 08:00:00 UTC, a fixed instant so runs repeat.
pub const START_SECS: u64 = 1_800_000_000;

/// How a run is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The seed for every random draw.
    pub seed: u64,
    /// Record the run on the timeline (frames, events, actions, checks), for the pcap and the
    /// ladder.
    pub record: bool,
}

/// Runs `scenario` in virtual time.
pub fn run(scenario: &Scenario, options: Options) -> Outcome {
    let start = UNIX_EPOCH + Duration::from_secs(START_SECS);
    let keep_log = scenario.steps.iter().any(|s| {
        matches!(
            s.what,
            What::Expect(Expect::Message { .. } | Expect::Nothing { .. })
        )
    });
    let mut world = World::new(scenario, options.seed, start, options.record, keep_log);
    play(scenario, &mut world)
}
