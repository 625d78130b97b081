//! `dhcplab bench`: the load generator ([`dhcplab_load`]) against one server stack, and the
//! search for the highest rate the server sustains.
//!
//! TAP mode ([`tap`]) puts the server in a network namespace of its own whose one link is a
//! TAP device this process holds: the generator writes the simulated clients' frames into it
//! and reads the server's, with no switch, bridge or second namespace between them, so the
//! kernel work of delivering a frame falls on the generator's side. Every trial starts the
//! server afresh on an empty lease file in a run directory that is removed afterwards, and the
//! namespace goes with the trial (or on Ctrl-C, see `dhcplab_tap::remove_on_interrupt`).
//!
//! Every load is bounded: a trial lasts its duration plus the drop time, and a search tries
//! at most [`MAX_TRIALS`] rates.

pub mod crash;
pub mod perfdhcp;
pub mod stacks;
pub mod tap;
pub mod virtual_mode;

pub use stacks::Stack;

use dhcplab_load::Report;
use std::time::Duration;

/// The most trials a search for the highest rate makes.
pub const MAX_TRIALS: usize = 14;
/// A search stops refining once the rates passed and failed are this close (5%).
const PRECISION: f64 = 0.05;
/// The drop ratio a sustained rate stays under, in percent (0.1%).
pub const DROPS_PERCENT: f64 = 0.1;

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The network could not be made.
    #[error("{0}")]
    Tap(#[from] dhcplab_tap::TapError),
    /// A file of the run could not be written or read.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The server's program is not installed.
    #[error("{0} is not installed")]
    Missing(&'static str),
    /// The server did not answer a probe in time after its start.
    #[error("{stack} did not answer within {waited:?} of its start; its output: {output}")]
    NotAnswering {
        /// The stack.
        stack: &'static str,
        /// How long it was given.
        waited: Duration,
        /// The end of what it printed.
        output: String,
    },
    /// The server stopped during the trial.
    #[error("{stack} exited during the trial: {output}")]
    Exited {
        /// The stack.
        stack: &'static str,
        /// The end of what it printed.
        output: String,
    },
    /// The plan is not one the generator runs.
    #[error("{0}")]
    Plan(#[from] dhcplab_load::PlanError),
    /// The combination asked for is not measured.
    #[error("{0}")]
    Unsupported(String),
}

/// The program that offers the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Generator {
    /// dhcplab's own ([`dhcplab_load`]), on the server's TAP device.
    Dhcplab,
    /// ISC's perfdhcp in a second namespace, joined to the server's by a veth pair.
    Perfdhcp,
}

/// What a benchmark offers the server, besides the rate.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server stack.
    pub stack: Stack,
    /// The load generator.
    pub generator: Generator,
    /// DHCPv6 instead of DHCPv4.
    pub v6: bool,
    /// Distinct clients.
    pub clients: u32,
    /// Seconds of load per trial.
    pub duration: Duration,
    /// Renewals, in percent of the exchanges started.
    pub renew_percent: u8,
    /// Releases, in percent of the exchanges started.
    pub release_percent: u8,
    /// Whether the server writes its lease file.
    pub persist: bool,
    /// CPUs to pin the server and the generator to, when set (server, generator).
    pub pin: Option<(usize, usize)>,
    /// The `dhcplab` binary (the reference server).
    pub dhcplab: std::path::PathBuf,
    /// The seed of the generator's transaction ids and choices.
    pub seed: u64,
}

/// What the server spent during a trial.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ServerUse {
    /// CPU seconds (user and system, every thread) during the load.
    pub cpu_seconds: f64,
    /// Its CPU as a share of one core over the load, in percent.
    pub cpu_percent: f64,
    /// CPU microseconds per lease granted.
    pub cpu_us_per_lease: f64,
    /// Resident memory at the end, in KiB.
    pub rss_kib: u64,
    /// Resident memory growth over the trial, in bytes per lease granted.
    pub rss_bytes_per_lease: f64,
    /// UDP datagrams dropped for a full receive buffer in the server's namespace.
    pub rcvbuf_drops: u64,
    /// UDP datagrams dropped for a full receive buffer in perfdhcp's namespace (its own
    /// sockets not read in time: the generator's loss, not the server's).
    pub generator_rcvbuf_drops: u64,
}

/// One rate tried.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Trial {
    /// The generator's report.
    pub report: Report,
    /// The server's use of CPU and memory.
    pub server: ServerUse,
    /// Whether the server sustained the rate: every exchange under 0.1% drops, and the
    /// generator offered 99% of the rate.
    pub sustained: bool,
    /// The generator could not offer the rate (under 99% of it started).
    pub generator_bound: bool,
}

impl Trial {
    /// One line for a person following a search.
    pub fn summary(&self) -> String {
        let r = &self.report;
        let drops: Vec<String> = r
            .exchanges
            .iter()
            .filter(|e| e.answered)
            .map(|e| format!("{} {:.3}%", e.name, e.drops_percent))
            .collect();
        let p99 = r
            .exchanges
            .iter()
            .filter(|e| e.answered)
            .filter_map(|e| e.delay_ms.as_ref().and_then(|d| d.p99))
            .fold(0.0, f64::max);
        format!(
            "rate {:.0}/s: offered {:.1}/s, leases {:.1}/s, drops {}, worst p99 {:.3} ms, server CPU {:.0}% of a core ({:.1} µs per lease): {}",
            r.rate_asked,
            r.rate_offered,
            r.rate_leases,
            drops.join(", "),
            p99,
            self.server.cpu_percent,
            self.server.cpu_us_per_lease,
            if self.sustained {
                "sustained"
            } else if self.generator_bound {
                "generator could not offer the rate"
            } else {
                "not sustained"
            }
        )
    }
}

/// The result of a search for the highest rate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Search {
    /// Every trial, in the order made.
    pub trials: Vec<Trial>,
    /// The highest rate sustained, if any.
    pub max_rate: Option<f64>,
    /// Why the search stopped where it did.
    pub stopped: String,
}

/// Searches for the highest rate `trial` sustains: from `start`, doubling until a rate fails,
/// then halving the gap between the highest sustained and the lowest failed until they are
/// within 5%, at most [`MAX_TRIALS`] trials. A rate the generator could not offer counts as
/// failed, and the reason says so when the lowest failed rate was one: beyond it the
/// generator, not the server, would be measured.
pub fn search(
    start: f64,
    mut trial: impl FnMut(f64) -> Result<Trial, BenchError>,
    mut seen: impl FnMut(&Trial),
) -> Result<Search, BenchError> {
    let mut trials = Vec::new();
    let (mut passed, mut failed): (Option<f64>, Option<(f64, bool)>) = (None, None);
    let mut rate = start;
    let stopped = loop {
        if trials.len() >= MAX_TRIALS {
            break format!("{MAX_TRIALS} trials made");
        }
        let t = trial(rate)?;
        seen(&t);
        if t.sustained {
            passed = Some(rate);
        } else {
            failed = Some((rate, t.generator_bound));
        }
        trials.push(t);
        rate = match (passed, failed) {
            (Some(p), None) => p * 2.0,
            (None, Some((f, _))) => f / 2.0,
            (Some(p), Some((f, _))) if (f - p) / p > PRECISION => ((p + f) / 2.0).round(),
            (Some(_), Some((f, true))) => {
                break format!(
                    "within 5% of {f:.0}/s, which the generator could not offer: the generator's limit"
                );
            }
            (Some(_), Some(_)) => {
                break "the highest passed and lowest failed are within 5%".into();
            }
            (None, None) => break "no trial".into(),
        };
        if rate < 1.0 {
            break "not even 1 exchange per second was sustained".into();
        }
    };
    Ok(Search {
        trials,
        max_rate: passed,
        stopped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcplab_load::{Family, Load, Plan};

    fn trial_at(rate: f64, limit: f64, generator: f64) -> Trial {
        let load = Load::new(Plan {
            family: Family::V4,
            rate,
            clients: 1,
            duration: Duration::from_secs(1),
            renew_percent: 0,
            release_percent: 0,
            drop_after: Duration::from_secs(1),
            mac: [2, 0, 0, 0, 0, 1],
            seed: 1,
        })
        .expect("plan");
        Trial {
            report: load.report(Duration::from_secs(1)),
            server: ServerUse::default(),
            sustained: rate <= limit && rate <= generator,
            generator_bound: rate > generator,
        }
    }

    #[test]
    fn the_search_brackets_the_limit_within_five_percent() {
        let s = search(1000.0, |r| Ok(trial_at(r, 23_000.0, 1e9)), |_| {}).expect("search");
        let max = s.max_rate.expect("a rate passed");
        assert!((23_000.0 * 0.95..=23_000.0).contains(&max), "max {max}");
        assert!(s.trials.len() <= MAX_TRIALS);
    }

    #[test]
    fn the_search_stops_where_the_generator_cannot_follow() {
        let s = search(1000.0, |r| Ok(trial_at(r, 1e9, 5000.0)), |_| {}).expect("search");
        let max = s.max_rate.expect("a rate passed");
        assert!((4750.0..=5000.0).contains(&max), "max {max}");
        assert!(s.stopped.contains("generator's limit"), "{}", s.stopped);
    }

    #[test]
    fn a_server_that_sustains_nothing_ends_the_search() {
        let s = search(1000.0, |r| Ok(trial_at(r, 0.0, 1e9)), |_| {}).expect("search");
        assert_eq!(s.max_rate, None);
        assert!(s.trials.len() <= MAX_TRIALS);
    }
}
