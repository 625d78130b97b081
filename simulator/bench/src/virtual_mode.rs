//! Virtual mode: the generator against the reference server core in this process, on a
//! virtual clock. Nothing waits: the clock jumps to the generator's next deadline, each frame
//! goes through the server core and its answers straight back. What it measures is the time
//! the core takes: a rate is sustained when the core's time for it fits in the run's own time
//! on one core (and nothing is dropped), so a search finds the core's capacity, without the
//! kernel and the lease file of a real server.

use crate::stacks::{self, GENERATOR_MAC, SERVER_MAC, SERVER4, SERVER6, Setup, Stack};
use crate::{BenchError, DROPS_PERCENT, Options, ServerUse, Trial};
use dhcplab_frame::{BROADCAST_MAC, Decoded, LinkType, encode_udp};
use dhcplab_load::{Family, Load, Plan};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The interface's name in the configuration.
const IFACE: &str = "bench0";

/// One server core, either family.
enum Core {
    V4(Box<dhcplab_server::Server>),
    V6(Box<dhcplab_server6::Server>),
}

fn config_error(errors: Vec<dhcplab_kea_config::ConfigError>) -> BenchError {
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    BenchError::Unsupported(format!(
        "the benchmark's configuration: {}",
        text.join("; ")
    ))
}

impl Core {
    fn new(options: &Options, epoch: SystemTime) -> Result<Self, BenchError> {
        let dir = std::env::temp_dir();
        let setup = Setup {
            iface: IFACE,
            v6: options.v6,
            persist: options.persist,
            dir: &dir,
            dhcplab: &options.dhcplab,
            pool4: None,
        };
        let text = stacks::kea_config(Stack::Reference, &setup).to_string();
        if options.v6 {
            let (config, json) =
                dhcplab_kea_config::dhcp6::parse_document(&text).map_err(config_error)?;
            let mut s = dhcplab_server6::Server::new(config, json, Vec::new(), None, epoch)
                .map_err(|e| BenchError::Unsupported(e.to_string()))?;
            s.attach(dhcplab_server6::Interface {
                index: 1,
                name: IFACE.into(),
                link_local: dhcplab_load::link_local(SERVER_MAC),
                addresses: vec![SERVER6],
            });
            Ok(Core::V6(Box::new(s)))
        } else {
            let (config, json) =
                dhcplab_kea_config::dhcp4::parse_document(&text).map_err(config_error)?;
            let mut s = dhcplab_server::Server::new(config, json, Vec::new(), epoch)
                .map_err(|e| BenchError::Unsupported(e.to_string()))?;
            s.attach(dhcplab_server::Interface {
                index: 1,
                name: IFACE.into(),
                address: SERVER4,
                direct_response: true,
            });
            Ok(Core::V4(Box::new(s)))
        }
    }

    /// Hands the core a frame and returns the frames it answers with.
    fn exchange(&mut self, now: SystemTime, frame: &[u8], out: &mut Vec<Vec<u8>>) {
        let Ok(Decoded::Udp(u)) = dhcplab_frame::decode(LinkType::Ethernet, frame) else {
            return;
        };
        match (self, u.src, u.dst) {
            (Core::V4(s), SocketAddr::V4(source), SocketAddr::V4(dst)) => {
                s.handle_datagram(
                    now,
                    dhcplab_server::Datagram {
                        interface: 1,
                        source,
                        destination: *dst.ip(),
                        payload: u.payload,
                    },
                );
                while let Some(a) = s.poll_action() {
                    if let dhcplab_server::Action::Transmit(t) = a {
                        // Unicast without a link address goes out as a broadcast: the
                        // generator tells its clients apart by chaddr, not by address.
                        let mac = t.link_destination.unwrap_or(BROADCAST_MAC);
                        let (src, dst) = (t.source.into(), t.destination.into());
                        if let Ok(f) = encode_udp(SERVER_MAC, mac, src, dst, 64, &t.payload) {
                            out.push(f);
                        }
                    }
                }
            }
            (Core::V6(s), SocketAddr::V6(source), SocketAddr::V6(dst)) => {
                s.handle_datagram(
                    now,
                    dhcplab_server6::Datagram {
                        interface: 1,
                        source,
                        destination: *dst.ip(),
                        payload: u.payload,
                    },
                );
                while let Some(a) = s.poll_action() {
                    if let dhcplab_server6::Action::Transmit(t) = a {
                        let (src, dst) = (t.source.into(), t.destination.into());
                        if let Ok(f) =
                            encode_udp(SERVER_MAC, GENERATOR_MAC, src, dst, 64, &t.payload)
                        {
                            out.push(f);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The CPU time this thread has had.
fn thread_cpu() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map_or(Duration::ZERO, Duration::from)
}

/// Runs one trial at `rate` exchanges a second of virtual time against a new reference
/// server core.
pub fn trial(options: &Options, rate: f64) -> Result<Trial, BenchError> {
    if options.stack != Stack::Reference {
        return Err(BenchError::Unsupported(format!(
            "virtual mode runs the reference server's core; {} runs in TAP mode (--mode tap)",
            options.stack.name()
        )));
    }
    let epoch = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut core = Core::new(options, epoch)?;
    let mut load = Load::new(Plan {
        family: if options.v6 { Family::V6 } else { Family::V4 },
        rate,
        clients: options.clients,
        duration: options.duration,
        renew_percent: options.renew_percent,
        release_percent: options.release_percent,
        drop_after: Duration::from_secs(1),
        mac: GENERATOR_MAC,
        seed: options.seed,
    })?;
    let mut frame = vec![0u8; 2048];
    let mut answers = Vec::new();
    let mut in_core = Duration::ZERO;
    let mut t = Duration::ZERO;
    let (wall0, cpu0) = (Instant::now(), thread_cpu());
    while !load.finished() {
        while let Some(n) = load.poll_transmit(t, &mut frame) {
            let started = Instant::now();
            core.exchange(epoch + t, &frame[..n], &mut answers);
            in_core += started.elapsed();
            for a in answers.drain(..) {
                load.handle_frame(t, &a);
            }
        }
        match load.poll_timeout() {
            Some(next) => t = next.max(t),
            None => break,
        }
    }
    // The core's share of the loop's wall time, of the CPU time this thread had: time the
    // thread spent preempted (a busy machine) is not the core's.
    let (wall, cpu_all) = (wall0.elapsed(), thread_cpu().saturating_sub(cpu0));
    let share = in_core.as_secs_f64() / wall.as_secs_f64().max(1e-9);
    let report = load.report(options.duration);
    let leases = (report.rate_leases * report.seconds).max(1.0);
    let cpu = cpu_all.as_secs_f64() * share.min(1.0);
    let server = ServerUse {
        cpu_seconds: cpu,
        cpu_percent: 100.0 * cpu / report.seconds,
        cpu_us_per_lease: 1e6 * cpu / leases,
        rss_kib: 0,
        rss_bytes_per_lease: 0.0,
        rcvbuf_drops: 0,
        generator_rcvbuf_drops: 0,
    };
    Ok(Trial {
        sustained: report.sustained(DROPS_PERCENT) && server.cpu_percent < 100.0,
        generator_bound: false,
        report,
        server,
    })
}
