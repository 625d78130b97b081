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
//! - HA peers' HTTP runs over a TCP without retransmission ([`peer_http`]).
//!
//! Servers of an HA pair are checked beyond the rule above: no address may be leased to two
//! clients at once by the servers' lease tables, nor by the ACKs on the link.

mod minimize;
mod peer_http;
mod world;

pub use minimize::{MAX_RUNS, Minimized, minimize};
pub use world::MAX_WORK;

use dhcplab_runner::{Outcome, Status, play};
use dhcplab_scenario::{Act, Expect, Scenario, What, v6::DEFAULT_SEGMENT};
use dhcplab_timeline::Timeline;
use std::time::{Duration, UNIX_EPOCH};
use world::World;

/// Why a scenario with DHCPv6 hosts does not run here yet.
pub const NOT_WIRED_V6: &str = "DHCPv6 hosts are not wired into virtual mode yet";

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
    if let Some(why) = unsupported(scenario) {
        return Outcome {
            status: Status::Failed,
            message: why,
            covered: Duration::ZERO,
            steps_done: 0,
            failed_step: None,
            timeline: Timeline::new(start, Vec::new(), false),
        };
    }
    let keep_log = scenario.steps.iter().any(|s| {
        matches!(
            s.what,
            What::Expect(Expect::Message { .. } | Expect::Nothing { .. })
        )
    });
    let mut world = World::new(scenario, options.seed, start, options.record, keep_log);
    play(scenario, &mut world)
}

/// What in `scenario` virtual mode does not run yet: DHCPv6 hosts, crafted DHCPv6 messages,
/// and hosts on segments other than the default one.
fn unsupported(scenario: &Scenario) -> Option<String> {
    if let Some(h) = scenario
        .hosts
        .iter()
        .find(|h| h.family() == Some(dhcplab_scenario::Family::V6))
    {
        return Some(format!("{NOT_WIRED_V6} ({} is one)", h.name));
    }
    if scenario
        .steps
        .iter()
        .any(|s| matches!(s.what, What::Act(Act::Send6(_))))
    {
        return Some(format!("{NOT_WIRED_V6} (a step sends a DHCPv6 message)"));
    }
    scenario
        .hosts
        .iter()
        .find(|h| h.segment != DEFAULT_SEGMENT)
        .map(|h| {
            format!(
                "segments are not wired into virtual mode yet ({} is on {:?})",
                h.name, h.segment
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dhcpv6_hosts_and_segments_are_refused_until_they_are_wired() {
        let v6 = r#"
[[host]]
name = "c1"
role = "client"
family = "v6"
"#;
        let s = dhcplab_scenario::parse(v6, std::path::Path::new("t/v6.toml")).expect("reads");
        let o = run(
            &s,
            Options {
                seed: 1,
                record: false,
            },
        );
        assert_eq!(o.status, Status::Failed);
        assert_eq!(o.message, format!("{NOT_WIRED_V6} (c1 is one)"));
        let segment = r#"
[[host]]
name = "c1"
role = "client"
segment = "far"
"#;
        let s = dhcplab_scenario::parse(segment, std::path::Path::new("t/s.toml")).expect("reads");
        let o = run(
            &s,
            Options {
                seed: 1,
                record: false,
            },
        );
        assert_eq!(
            o.message,
            "segments are not wired into virtual mode yet (c1 is on \"far\")"
        );
    }
}
