//! perfdhcp (ISC's, from Debian's kea-admin) as the load generator, for the comparison of the
//! two generators against the same server: its command line for a trial and its report read
//! back into the generator's own figures.

use dhcplab_load::{Delays, ExchangeReport, Family, Report};
use std::process::Command;

/// perfdhcp's arguments for a trial at `rate` exchanges a second for `seconds`, `clients`
/// taking turns, on interface `iface`: DHCPv4 as a relay to `server` (perfdhcp's way: from
/// port 67 with giaddr set), DHCPv6 as clients on the link. Renewals and releases at their
/// shares of the rate (perfdhcp's -f and -F take rates).
pub fn command(
    family: Family,
    rate: f64,
    seconds: u64,
    clients: u32,
    shares: (u8, u8),
    iface: &str,
    server: &str,
) -> Command {
    let rate = rate.round().max(1.0) as u64;
    let mut c = Command::new("perfdhcp");
    c.arg(if family == Family::V6 { "-6" } else { "-4" })
        .args(["-g", "single", "-r", &rate.to_string(), "-R"])
        .arg(clients.to_string())
        .args(["-p", &seconds.to_string(), "-n"])
        .arg((rate * seconds).to_string());
    let share = |pct: u8| (rate * u64::from(pct)) / 100;
    if shares.0 > 0 {
        c.args(["-f", &share(shares.0).to_string()]);
    }
    if shares.1 > 0 {
        c.args(["-F", &share(shares.1).to_string()]);
    }
    c.args(["-l", iface]);
    if family == Family::V4 {
        c.arg(server);
    }
    c
}

/// Reads perfdhcp's report: its exchanges (sent, received, drops, orphans, min/avg/max
/// delay), as the generator's own report for a run of `seconds` at `rate`; `None` when it
/// holds no statistics.
pub fn parse(text: &str, family: Family, rate: f64, seconds: f64, clients: u32) -> Option<Report> {
    let mut exchanges: Vec<ExchangeReport> = Vec::new();
    let number = |line: &str, key: &str| -> Option<f64> {
        line.strip_prefix(key)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    for line in text.lines().map(str::trim) {
        if let Some(name) = line
            .strip_prefix("***Statistics for: ")
            .and_then(|r| r.strip_suffix("***"))
        {
            exchanges.push(ExchangeReport {
                name: name.to_string(),
                sent: 0,
                received: 0,
                refused: 0,
                drops: 0,
                drops_percent: 0.0,
                orphans: 0,
                delay_ms: None,
                answered: true,
            });
            continue;
        }
        let Some(e) = exchanges.last_mut() else {
            continue;
        };
        let delays = e.delay_ms.get_or_insert(Delays {
            min: 0.0,
            avg: 0.0,
            p50: None,
            p99: None,
            p99_9: None,
            max: 0.0,
        });
        if let Some(v) = number(line, "sent packets:") {
            e.sent = v as u64;
        } else if let Some(v) = number(line, "received packets:") {
            e.received = v as u64;
        } else if let Some(v) = number(line, "drops:") {
            e.drops = v as u64;
        } else if let Some(v) = number(line, "drops ratio:") {
            e.drops_percent = v;
        } else if let Some(v) = number(line, "orphans:") {
            e.orphans = v as u64;
        } else if let Some(v) = number(line, "min delay:") {
            delays.min = v;
        } else if let Some(v) = number(line, "avg delay:") {
            delays.avg = v;
        } else if let Some(v) = number(line, "max delay:") {
            delays.max = v;
        }
    }
    for e in &mut exchanges {
        if e.received == 0 {
            e.delay_ms = None;
        }
    }
    let first = exchanges.first()?;
    let started = first.sent;
    let leases = exchanges.get(1).map_or(0, |e| e.received);
    let worst = exchanges
        .iter()
        .map(|e| e.drops_percent)
        .fold(0.0, f64::max);
    Some(Report {
        family,
        rate_asked: rate,
        rate_offered: started as f64 / seconds,
        rate_leases: leases as f64 / seconds,
        seconds,
        clients,
        started,
        skipped: 0,
        exchanges,
        worst_drops_percent: worst,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "\
Running: perfdhcp -4 -g single -r 1000 -R 100 -p 2 -n 2000 -l v 198.18.0.1
***Rate statistics***
Rate: 999.7 4-way exchanges/second, expected rate: 1000

***Statistics for: DISCOVER-OFFER***
sent packets: 2000
received packets: 1998
drops: 2
drops ratio: 0.1 %
orphans: 0
rejected leases: 0
non unique addresses: 0
min delay: 0.052 ms
avg delay: 0.131 ms
max delay: 3.215 ms
std deviation: 0.055 ms
collected packets: 0

***Statistics for: REQUEST-ACK***
sent packets: 1998
received packets: 1998
drops: 0
drops ratio: 0 %
orphans: 0
min delay: 0.061 ms
avg delay: 0.140 ms
max delay: 2.000 ms
";

    #[test]
    fn perfdhcps_report_reads_as_the_generators() {
        let r = parse(REPORT, Family::V4, 1000.0, 2.0, 100).expect("report");
        assert_eq!(r.exchanges.len(), 2);
        assert_eq!(r.exchanges[0].name, "DISCOVER-OFFER");
        assert_eq!(
            (
                r.exchanges[0].sent,
                r.exchanges[0].received,
                r.exchanges[0].drops
            ),
            (2000, 1998, 2)
        );
        assert!((r.worst_drops_percent - 0.1).abs() < 1e-9);
        assert!((r.rate_offered - 1000.0).abs() < 1e-9);
        assert!((r.rate_leases - 999.0).abs() < 1e-9);
        let d = r.exchanges[1].delay_ms.as_ref().expect("delays");
        assert!((d.max - 2.0).abs() < 1e-9 && d.p99.is_none());
        assert!(!r.sustained(0.1));
    }

    #[test]
    fn a_report_without_statistics_is_none() {
        assert!(parse("perfdhcp: cannot open socket", Family::V4, 1.0, 1.0, 1).is_none());
    }
}
