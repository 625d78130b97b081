//! Crash consistency and flood: what must hold after the server is killed, and what a run
//! reports. Pure decisions only (the kill moments, the check of a lease file against the
//! leases clients hold); the TAP driver (`tap::crash`) kills, reads and restarts.
//!
//! The property: every lease whose ACK (DHCPv6: Reply) left the server is in its lease file
//! when the server is killed, live (not expired) and the holder's, so the server restarted on
//! that file grants the address to no one else. "Left the server" is what the generator read
//! from the server's link: a client holds a lease from the moment its ACK arrived until it
//! released it ([`dhcplab_load::Load::held_leases`]).

use dhcplab_memfile::{Load4, Load6};
use dhcplab_rng::Rng;
use std::collections::BTreeMap;
use std::time::Duration;

/// How many violations of each check a report lists (the counts are whole).
const MAX_SAMPLES: usize = 10;

/// A lease as the server's lease file holds it, by address, for the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLease {
    /// The client's link address, when the row names one (DHCPv4 `hwaddr`; DHCPv6 the
    /// DUID-LL's or `hwaddr`).
    pub owner: Option<[u8; 6]>,
    /// Expiry, seconds since the epoch.
    pub expire: u64,
}

/// The leases in force in a loaded DHCPv4 lease file, keyed as the generator keys addresses
/// (the IPv4 address in the first four bytes).
pub fn file_leases4(load: &Load4) -> BTreeMap<[u8; 16], FileLease> {
    load.leases
        .values()
        .map(|l| {
            let mut key = [0; 16];
            key[..4].copy_from_slice(&l.address.octets());
            let owner = <[u8; 6]>::try_from(l.hwaddr.as_slice()).ok();
            (
                key,
                FileLease {
                    owner,
                    expire: l.expire,
                },
            )
        })
        .collect()
}

/// The leases in force in a loaded DHCPv6 lease file, by address; the owner is the link
/// address of a DUID-LL or DUID-LLT of Ethernet, else the row's hardware address.
pub fn file_leases6(load: &Load6) -> BTreeMap<[u8; 16], FileLease> {
    load.leases
        .values()
        .map(|l| {
            let from_duid = match l.duid.as_slice() {
                [0, 3, 0, 1, mac @ ..] | [0, 1, 0, 1, _, _, _, _, mac @ ..] => {
                    <[u8; 6]>::try_from(mac).ok()
                }
                _ => None,
            };
            let owner = from_duid.or_else(|| {
                l.hwaddr
                    .as_ref()
                    .and_then(|h| <[u8; 6]>::try_from(h.bytes.as_slice()).ok())
            });
            (
                l.address.octets(),
                FileLease {
                    owner,
                    expire: l.expire,
                },
            )
        })
        .collect()
}

/// What is wrong with one lease a client holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The file has no lease of the address: its ACK left the server, its row was not durable.
    Missing,
    /// The file's lease of the address has expired: the server would grant it again.
    Expired {
        /// Its expiry, seconds since the epoch.
        expire: u64,
    },
    /// The file gives the address to another client: it is leased twice.
    OtherOwner {
        /// The client the file names.
        owner: [u8; 6],
    },
}

/// A lease a client holds that the file does not keep for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// The client's link address.
    pub client: [u8; 6],
    /// The address (DHCPv4 in the first four bytes).
    pub address: [u8; 16],
    /// What is wrong.
    pub fault: Fault,
}

/// The check of one lease file against the leases clients hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// Leases clients held, each checked.
    pub checked: usize,
    /// Held leases the file lacks, or has expired ([`Fault::Missing`], [`Fault::Expired`]).
    pub missing: usize,
    /// Held leases whose address the file gives another client ([`Fault::OtherOwner`]).
    pub double_leased: usize,
    /// The first few violations.
    pub samples: Vec<Violation>,
}

/// Checks that every lease in `held` (client link address, address) is in `file`, live at
/// `now` (seconds since the epoch) and the client's.
pub fn check(
    held: impl IntoIterator<Item = ([u8; 6], [u8; 16])>,
    file: &BTreeMap<[u8; 16], FileLease>,
    now: u64,
) -> Check {
    let mut c = Check::default();
    for (client, address) in held {
        c.checked += 1;
        let fault = match file.get(&address) {
            None => Fault::Missing,
            Some(l) if l.owner.is_some_and(|o| o != client) => Fault::OtherOwner {
                owner: l.owner.unwrap_or_default(),
            },
            Some(l) if l.expire < now => Fault::Expired { expire: l.expire },
            Some(_) => continue,
        };
        match fault {
            Fault::OtherOwner { .. } => c.double_leased += 1,
            Fault::Missing | Fault::Expired { .. } => c.missing += 1,
        }
        if c.samples.len() < MAX_SAMPLES {
            c.samples.push(Violation {
                client,
                address,
                fault,
            });
        }
    }
    c
}

/// How long the server runs before each kill, from the moment it answers again: `kills`
/// delays drawn from `seed`, each in `low ..= high` (whole milliseconds).
pub fn kill_delays(seed: u64, kills: u32, low: Duration, high: Duration) -> Vec<Duration> {
    let mut rng = Rng::fork(seed, "kills");
    let (low, high) = (low.as_millis() as u64, high.as_millis() as u64);
    (0..kills)
        .map(|_| Duration::from_millis(rng.between(low, high)))
        .collect()
}

/// One kill and its check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Kill {
    /// Seconds from the start of the load to the SIGKILL.
    pub at_seconds: f64,
    /// The lease file's check against the leases clients held.
    pub check: Check,
    /// Addresses granted to a client while another held it since the previous kill (the
    /// generator's count, across the restart).
    pub conflicts: u64,
    /// Rows the file had, and rows it could not read (a row cut short by the kill).
    pub file_rows: usize,
    /// Rows skipped as unreadable.
    pub bad_rows: usize,
    /// Seconds from the restart to the first ACK after it; `None` when the server did not
    /// answer (then the run stops with an error).
    pub answering_after_seconds: Option<f64>,
}

impl Kill {
    /// Violations this kill found: missing, double-leased, and conflicts.
    pub fn violations(&self) -> u64 {
        (self.check.missing + self.check.double_leased) as u64 + self.conflicts
    }

    /// One line for a person following the run.
    pub fn summary(&self, n: usize) -> String {
        format!(
            "kill {n} at {:.2} s: {} leases checked, {} missing, {} double-leased ({} conflicts seen by clients), {} rows in the file ({} unreadable), answering again after {}",
            self.at_seconds,
            self.check.checked,
            self.check.missing,
            self.check.double_leased,
            self.conflicts,
            self.file_rows,
            self.bad_rows,
            self.answering_after_seconds
                .map_or("-".into(), |s| format!("{s:.2} s")),
        )
    }
}

/// A run of kills.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CrashRun {
    /// Every kill, in order.
    pub kills: Vec<Kill>,
    /// Addresses granted to a client while another held it before the first kill (a fault
    /// of the server's without any crash).
    pub conflicts_before_first_kill: u64,
    /// The generator's report over the whole run.
    pub report: dhcplab_load::Report,
    /// Renewals refused (NAK, or a status code) over the run.
    pub renewals_refused: u64,
}

impl CrashRun {
    /// Violations over every kill.
    pub fn violations(&self) -> u64 {
        self.kills.iter().map(Kill::violations).sum::<u64>() + self.conflicts_before_first_kill
    }
}

/// A flood of new clients against a small pool while clients that hold leases renew.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Flood {
    /// Addresses in the pool.
    pub pool: u32,
    /// Clients holding a lease before the flood, renewing (or DORA again) during it.
    pub renewing_clients: u32,
    /// DISCOVERs (DHCPv6: Solicits) the flood sent, each from a new client.
    pub discovers: u64,
    /// Offers the flood received.
    pub offers: u64,
    /// Leases the flood's clients took.
    pub flood_leases: u64,
    /// Renewals sent during the flood.
    pub renewals_sent: u64,
    /// Renewals answered with an ACK.
    pub renewals_acked: u64,
    /// Renewals refused (NAK).
    pub renewals_refused: u64,
    /// Renewals with no answer in time.
    pub renewals_dropped: u64,
    /// Their DISCOVERs and REQUESTs (of their DORAs again) with no answer in time.
    pub again_dropped: u64,
    /// DISCOVERs the clients holding leases sent again during the flood.
    pub again_discovers: u64,
    /// Offers they received.
    pub again_offers: u64,
    /// REQUESTs they sent after those offers.
    pub again_requests: u64,
    /// ACKs they received.
    pub again_acked: u64,
    /// The server's resident memory before the flood, KiB.
    pub rss_before_kib: u64,
    /// Its resident memory after the flood, KiB.
    pub rss_after_kib: u64,
    /// Its peak resident memory (VmHWM) at the end, KiB.
    pub rss_peak_kib: u64,
    /// The flood's seconds.
    pub seconds: f64,
}

impl Flood {
    /// The clients that held leases were served throughout: renewals were sent and none went
    /// unanswered or was refused, and no DISCOVER or REQUEST of theirs went unanswered. (The
    /// counts of answers are of the flood's time: an answer to an exchange started just
    /// before it counts there too, so answers may outnumber what was sent.)
    pub fn existing_clients_served(&self) -> bool {
        self.renewals_sent > 0
            && self.renewals_dropped == 0
            && self.renewals_refused == 0
            && self.again_dropped == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcplab_memfile::{HEADER4, load4};

    const A: [u8; 6] = [2, 0xdc, 0, 0, 0, 1];
    const B: [u8; 6] = [2, 0xdc, 0, 0, 0, 2];

    fn addr(last: u8) -> [u8; 16] {
        let mut a = [0; 16];
        a[..4].copy_from_slice(&[198, 18, 1, last]);
        a
    }

    fn file(rows: &str) -> BTreeMap<[u8; 16], FileLease> {
        file_leases4(&load4(&format!("{HEADER4}\n{rows}")).expect("a lease file"))
    }

    #[test]
    fn every_held_lease_in_the_file_passes() {
        let f = file(
            "198.18.1.1,02:dc:00:00:00:01,,3600,2000,1,0,0,,0,\n\
             198.18.1.2,02:dc:00:00:00:02,,3600,2000,1,0,0,,0,\n",
        );
        let c = check([(A, addr(1)), (B, addr(2))], &f, 1000);
        assert_eq!((c.checked, c.missing, c.double_leased), (2, 0, 0));
        assert!(c.samples.is_empty());
    }

    #[test]
    fn a_missing_lease_is_reported() {
        // B's ACK left the server but its row did not reach the file.
        let f = file("198.18.1.1,02:dc:00:00:00:01,,3600,2000,1,0,0,,0,\n");
        let c = check([(A, addr(1)), (B, addr(2))], &f, 1000);
        assert_eq!((c.checked, c.missing, c.double_leased), (2, 1, 0));
        assert_eq!(
            c.samples,
            vec![Violation {
                client: B,
                address: addr(2),
                fault: Fault::Missing
            }]
        );
    }

    #[test]
    fn a_deleted_or_expired_lease_is_missing() {
        // A's row deleted (valid lifetime 0), B's expired before now.
        let f = file(
            "198.18.1.1,02:dc:00:00:00:01,,3600,2000,1,0,0,,0,\n\
             198.18.1.1,02:dc:00:00:00:01,,0,2000,1,0,0,,0,\n\
             198.18.1.2,02:dc:00:00:00:02,,3600,900,1,0,0,,0,\n",
        );
        let c = check([(A, addr(1)), (B, addr(2))], &f, 1000);
        assert_eq!((c.missing, c.double_leased), (2, 0));
        assert_eq!(c.samples[1].fault, Fault::Expired { expire: 900 });
    }

    #[test]
    fn an_address_the_file_gives_another_client_is_double_leased() {
        let f = file("198.18.1.1,02:dc:00:00:00:02,,3600,2000,1,0,0,,0,\n");
        let c = check([(A, addr(1))], &f, 1000);
        assert_eq!((c.missing, c.double_leased), (0, 1));
        assert_eq!(c.samples[0].fault, Fault::OtherOwner { owner: B });
        let kill = Kill {
            at_seconds: 1.0,
            check: c,
            conflicts: 2,
            file_rows: 1,
            bad_rows: 0,
            answering_after_seconds: Some(0.1),
        };
        assert_eq!(kill.violations(), 3);
        assert!(kill.summary(1).contains("1 double-leased (2 conflicts"));
    }

    #[test]
    fn a_dhcpv6_lease_is_owned_by_its_duid_ll() {
        let text = format!(
            "{}\n2001:db8::1:0:1,00:03:00:01:02:dc:00:00:00:01,4000,2000,1,3000,0,1,128,0,0,,,0,,,\n",
            dhcplab_memfile::HEADER6
        );
        let f = file_leases6(&dhcplab_memfile::load6(&text).expect("a lease file"));
        let a: [u8; 16] = "2001:db8::1:0:1"
            .parse::<std::net::Ipv6Addr>()
            .expect("address")
            .octets();
        assert_eq!(f[&a].owner, Some(A));
        assert_eq!(check([(A, a)], &f, 1000).missing, 0);
        assert_eq!(check([(B, a)], &f, 1000).double_leased, 1);
    }

    #[test]
    fn kill_delays_are_seeded_and_within_bounds() {
        let (low, high) = (Duration::from_millis(300), Duration::from_millis(1500));
        let d = kill_delays(7, 20, low, high);
        assert_eq!(d.len(), 20);
        assert!(d.iter().all(|d| (low..=high).contains(d)));
        assert_eq!(d, kill_delays(7, 20, low, high));
        assert_ne!(d, kill_delays(8, 20, low, high));
    }
}
