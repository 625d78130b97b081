//! What a run did, in numbers a perfdhcp user reads (rate, then per exchange: sent, received,
//! drops, drops ratio, orphans, min/avg/max delay) and the percentiles perfdhcp lacks, as text
//! and as JSON.

use crate::{Exchange, Family, Load};
use std::fmt;
use std::time::Duration;

/// One exchange's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExchangeReport {
    /// Its name, perfdhcp's (`DISCOVER-OFFER`, `REQUEST-REPLY`, ...).
    pub name: String,
    /// Messages sent.
    pub sent: u64,
    /// Answers received in time.
    pub received: u64,
    /// Of them, refusals (DHCPNAK, or no address in a DHCPv6 answer).
    pub refused: u64,
    /// Messages with no answer in time.
    pub drops: u64,
    /// Drops as a percentage of the messages sent.
    pub drops_percent: f64,
    /// Answers that matched no waiting message.
    pub orphans: u64,
    /// Delays in milliseconds: min, mean, p50, p99, p99.9, max (absent without answers).
    pub delay_ms: Option<Delays>,
    /// Whether any answer is expected (a DHCPv4 RELEASE has none).
    pub answered: bool,
}

/// Delay statistics, in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delays {
    /// The shortest.
    pub min: f64,
    /// The mean.
    pub avg: f64,
    /// The median (absent from perfdhcp's figures).
    pub p50: Option<f64>,
    /// The 99th percentile (absent from perfdhcp's figures).
    pub p99: Option<f64>,
    /// The 99.9th percentile (absent from perfdhcp's figures).
    pub p99_9: Option<f64>,
    /// The longest.
    pub max: f64,
}

/// A run's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// DHCPv4 or DHCPv6.
    pub family: Family,
    /// The rate asked, exchanges started per second.
    pub rate_asked: f64,
    /// Exchanges started per second over the sending time: what the generator offered.
    pub rate_offered: f64,
    /// Leases granted per second (ACKs or Replies to a first Request, perfdhcp's "Rate").
    pub rate_leases: f64,
    /// Seconds of sending.
    pub seconds: f64,
    /// Clients taking turns.
    pub clients: u32,
    /// Exchanges started.
    pub started: u64,
    /// Starts skipped because every client was busy.
    pub skipped: u64,
    /// Each exchange kind that took place.
    pub exchanges: Vec<ExchangeReport>,
    /// The largest drop percentage of any exchange that expects an answer.
    pub worst_drops_percent: f64,
}

fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

impl Report {
    pub(crate) fn of(load: &Load, elapsed: Duration) -> Self {
        let family = load.plan.family;
        let last_start = load.last_start as f64 / 1e9;
        let seconds = elapsed.as_secs_f64().max(last_start).max(1e-9);
        let exchanges: Vec<ExchangeReport> = Exchange::ALL
            .iter()
            .map(|&e| {
                let c = load.counts(e);
                let d = &c.delays;
                let delay_ms = match (d.min(), d.mean(), d.max()) {
                    (Some(min), Some(avg), Some(max)) => Some(Delays {
                        min: ms(min),
                        avg: ms(avg),
                        p50: d.quantile(0.5).map(ms),
                        p99: d.quantile(0.99).map(ms),
                        p99_9: d.quantile(0.999).map(ms),
                        max: ms(max),
                    }),
                    _ => None,
                };
                ExchangeReport {
                    name: e.name(family).to_string(),
                    sent: c.sent,
                    received: c.received,
                    refused: c.refused,
                    drops: c.drops,
                    drops_percent: if c.sent == 0 {
                        0.0
                    } else {
                        100.0 * c.drops as f64 / c.sent as f64
                    },
                    orphans: c.orphans,
                    delay_ms,
                    answered: !(family == Family::V4 && e == Exchange::Release),
                }
            })
            .filter(|r| r.sent > 0 || r.orphans > 0)
            .collect();
        let worst = exchanges
            .iter()
            .filter(|r| r.answered)
            .map(|r| r.drops_percent)
            .fold(0.0, f64::max);
        let leases = load.counts(Exchange::Second);
        Self {
            family,
            rate_asked: load.plan.rate,
            rate_offered: load.started as f64 / seconds,
            rate_leases: (leases.received - leases.refused) as f64 / seconds,
            seconds,
            clients: load.plan.clients,
            started: load.started,
            skipped: load.skipped,
            exchanges,
            worst_drops_percent: worst,
        }
    }

    /// True when every exchange dropped under `percent` and the generator offered at least
    /// 99% of the rate asked: a rate the server sustains.
    pub fn sustained(&self, percent: f64) -> bool {
        self.worst_drops_percent < percent && self.rate_offered >= 0.99 * self.rate_asked
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "***Rate statistics***")?;
        writeln!(
            f,
            "Rate: {:.1} 4-way exchanges/second, expected rate: {:.0}",
            self.rate_leases, self.rate_asked
        )?;
        writeln!(
            f,
            "Offered: {:.1} exchanges/second started by {} clients over {:.2} s{}",
            self.rate_offered,
            self.clients,
            self.seconds,
            if self.skipped > 0 {
                format!(" ({} starts skipped: every client busy)", self.skipped)
            } else {
                String::new()
            }
        )?;
        for r in &self.exchanges {
            writeln!(f, "\n***Statistics for: {}***", r.name)?;
            writeln!(f, "sent packets: {}", r.sent)?;
            if !r.answered {
                continue;
            }
            writeln!(f, "received packets: {}", r.received)?;
            if r.refused > 0 {
                writeln!(f, "refused (NAK or no address): {}", r.refused)?;
            }
            writeln!(f, "drops: {}", r.drops)?;
            writeln!(f, "drops ratio: {:.3} %", r.drops_percent)?;
            writeln!(f, "orphans: {}", r.orphans)?;
            if let Some(d) = &r.delay_ms {
                writeln!(f, "min delay: {:.3} ms", d.min)?;
                writeln!(f, "avg delay: {:.3} ms", d.avg)?;
                for (name, value) in [("p50", d.p50), ("p99", d.p99), ("p99.9", d.p99_9)] {
                    if let Some(v) = value {
                        writeln!(f, "{name} delay: {v:.3} ms")?;
                    }
                }
                writeln!(f, "max delay: {:.3} ms", d.max)?;
            }
        }
        Ok(())
    }
}
