//! The TAP driver of the crash and flood runs ([`crate::crash`] holds their checks): the
//! server in its namespace as for a trial, the generator on its TAP device, the server killed
//! with SIGKILL and restarted on the same lease file and configuration, or flooded.

use super::{
    DROP_AFTER, Driven, START_WAIT, Server, address_server, drive, io, not_answering, plan, probe,
    run_dir, spawn_server,
};
use crate::crash::{self, CrashRun, Flood, Kill};
use crate::stacks::{GENERATOR_MAC, SERVER_MAC, Stack};
use crate::{BenchError, Options};
use dhcplab_load::{Exchange, Family, Load, Plan};
use dhcplab_tap::{Lab, SyncDevice};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The shortest and longest time the server serves between its restart and its next kill.
const KILL_AFTER: (Duration, Duration) = (Duration::from_millis(300), Duration::from_millis(2500));
/// After a kill, the generator goes on reading the device this long, so every answer the
/// server sent before it died reaches the clients before the file is checked.
const DRAIN: Duration = Duration::from_millis(300);
/// The crash run's load lasts at most this long (a bound, never reached: the run ends after
/// its last kill).
const CRASH_LOAD: Duration = Duration::from_secs(3600);
/// The flood's small pool, 256 addresses.
const FLOOD_POOL: (Ipv4Addr, Ipv4Addr) =
    (Ipv4Addr::new(198, 18, 1, 0), Ipv4Addr::new(198, 18, 1, 255));
/// The flood's clients are numbered from here, apart from the renewing clients, their link
/// addresses scattered over the block above it (at most 2^20 clients: a multiple of the block).
const FLOOD_FIRST_CLIENT: u32 = 1 << 20;
/// Renewals started per second by the clients that hold leases during a flood.
const RENEW_RATE: f64 = 200.0;
/// How long the renewing clients take their leases before the flood starts.
const WARM_UP: Duration = Duration::from_secs(2);

/// The stacks whose lease file is Kea's memfile CSV, which the check reads.
fn memfile(stack: Stack) -> bool {
    matches!(stack, Stack::Reference | Stack::Kea | Stack::KeaMt)
}

/// Seconds since the epoch now.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// ACKs (DHCPv6: Replies granting) clients have received so far.
fn acks(load: &Load) -> u64 {
    [Exchange::Second, Exchange::Renew]
        .iter()
        .map(|&e| {
            let c = load.counts(e);
            c.received.saturating_sub(c.refused)
        })
        .sum()
}

/// Reads the lease file in `dir` and checks it against the leases `load` holds: the check,
/// the rows read and the rows skipped.
fn check_file(
    options: &Options,
    dir: &Path,
    load: &Load,
) -> Result<(crash::Check, usize, usize), BenchError> {
    let name = if options.v6 {
        "leases6.csv"
    } else {
        "leases4.csv"
    };
    let path = dir.join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
    };
    let unreadable = |e: dhcplab_memfile::RowError| {
        BenchError::Unsupported(format!("{}: not a lease file: {e}", path.display()))
    };
    let (file, rows, bad) = if options.v6 {
        let l = dhcplab_memfile::load6(&text).map_err(unreadable)?;
        (crash::file_leases6(&l), l.rows, l.errors.len())
    } else {
        let l = dhcplab_memfile::load4(&text).map_err(unreadable)?;
        (crash::file_leases4(&l), l.rows, l.errors.len())
    };
    Ok((
        crash::check(load.held_leases(), &file, unix_now()),
        rows,
        bad,
    ))
}

/// The server started alone in a lab of its own and answering, and the generator's end of
/// its link. The lab (and with it the namespace) and the run directory last as long as this.
struct Alone {
    lab: Lab,
    iface: String,
    dir: tempfile::TempDir,
    device: Arc<SyncDevice>,
    server: Server,
}

/// Starts the server alone on its TAP device (with `pool4` as its DHCPv4 pool when given) and
/// waits until it answers.
fn start_alone(
    options: &Options,
    pool4: Option<(Ipv4Addr, Ipv4Addr)>,
) -> Result<Alone, BenchError> {
    let mut lab = Lab::new();
    lab.add_host("bench", SERVER_MAC)?;
    let host = &lab.hosts()[0];
    let iface = host.tap.clone();
    address_server(host, &iface, options.v6)?;
    let dir = run_dir(&lab)?;
    let device = host.device();
    device
        .set_nonblocking(true)
        .map_err(io("setting the TAP device non-blocking"))?;
    let mut server = spawn_server(options, &lab, &iface, dir.path(), pool4)?;
    probe(options, &mut server, &device)?;
    Ok(Alone {
        lab,
        iface,
        dir,
        device,
        server,
    })
}

/// SIGKILLs the server and reaps it.
fn kill(server: &mut Server) {
    let _ = server.child.kill();
    let _ = server.child.wait();
}

/// Runs the load at `rate` against the server and, at `kills` seeded moments (each between
/// 0.3 and 2.5 s after the server answers again), kills it with SIGKILL, checks its lease file
/// against the leases clients hold, and restarts it on the same file and configuration.
/// `seen` gets every kill once its record is complete. A server that keeps its leases in
/// memory only (`persist` off) is run too: it shows what the check catches.
pub fn crash_run(
    options: &Options,
    rate: f64,
    kills: u32,
    mut seen: impl FnMut(usize, &Kill),
) -> Result<CrashRun, BenchError> {
    if !memfile(options.stack) {
        return Err(BenchError::Unsupported(format!(
            "{}: crash runs read Kea's memfile lease file (reference, kea, kea-mt)",
            options.stack.name()
        )));
    }
    let program = options.stack.program(options.v6);
    if options.stack != Stack::Reference && !super::installed(program) {
        return Err(BenchError::Missing(program));
    }
    let mut load = Load::new(plan(options, rate, CRASH_LOAD))?;
    let Alone {
        lab,
        iface,
        dir,
        device,
        mut server,
    } = start_alone(options, None)?;
    let start = Instant::now();
    let mut serving_since = start;
    let mut conflicts_seen = 0;
    let mut run = CrashRun {
        kills: Vec::new(),
        conflicts_before_first_kill: 0,
        renewals_refused: 0,
        report: load.report(Duration::ZERO),
    };
    // Conflicts the clients saw since the last count: the last restart's doing (before the
    // first kill, the first start's), and that kill's record is then complete.
    let mut settle = |run: &mut CrashRun, load: &Load, seen: &mut dyn FnMut(usize, &Kill)| {
        let (conflicts, _) = load.conflicts();
        let new = conflicts - conflicts_seen;
        conflicts_seen = conflicts;
        let n = run.kills.len();
        match run.kills.last_mut() {
            Some(last) => {
                last.conflicts += new;
                seen(n, last);
            }
            None => run.conflicts_before_first_kill += new,
        }
    };
    let delays = crash::kill_delays(options.seed, kills, KILL_AFTER.0, KILL_AFTER.1);
    for delay in delays {
        let alive = drive(
            &mut [Driven::new(&mut load, start)],
            &device,
            serving_since + delay,
            |_| false,
            || !server.exited(),
        )?;
        if !alive && server.exited() {
            return Err(BenchError::Exited {
                stack: options.stack.name(),
                output: server.output(),
            });
        }
        kill(&mut server);
        let at = start.elapsed();
        drive(
            &mut [Driven::new(&mut load, start)],
            &device,
            Instant::now() + DRAIN,
            |_| false,
            || true,
        )?;
        settle(&mut run, &load, &mut seen);
        let (check, file_rows, bad_rows) = check_file(options, dir.path(), &load)?;
        let restarted = Instant::now();
        server = spawn_server(options, &lab, &iface, dir.path(), None)?;
        let acks_before = acks(&load);
        let answering = drive(
            &mut [Driven::new(&mut load, start)],
            &device,
            restarted + START_WAIT,
            |l| acks(l[0].load) > acks_before,
            || !server.exited(),
        )?;
        run.kills.push(Kill {
            at_seconds: at.as_secs_f64(),
            check,
            conflicts: 0,
            file_rows,
            bad_rows,
            answering_after_seconds: answering.then(|| restarted.elapsed().as_secs_f64()),
        });
        if !answering {
            settle(&mut run, &load, &mut seen);
            return Err(not_answering(options, &server));
        }
        serving_since = Instant::now();
    }
    // The last restart serves a while: conflicts after it count against the last kill.
    drive(
        &mut [Driven::new(&mut load, start)],
        &device,
        Instant::now() + KILL_AFTER.1 + DROP_AFTER,
        |_| false,
        || !server.exited(),
    )?;
    settle(&mut run, &load, &mut seen);
    run.renewals_refused = load.counts(Exchange::Renew).refused;
    run.report = load.report(start.elapsed());
    Ok(run)
}

/// Resident and peak resident memory of process `pid`, in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Floods the server, whose pool is 256 addresses, with `discovers` DISCOVERs at `rate` per
/// second, each from a new client with a link address drawn from the seed (scattered over
/// 2^20 of them) that completes its exchange when offered (so the pool runs out), while 100 clients that took leases before the flood go on at 200 exchanges a second:
/// half of them renewals, half DORAs again (which the server answers with the client's own
/// lease, pool exhausted or not).
pub fn flood(options: &Options, discovers: u32, rate: f64) -> Result<Flood, BenchError> {
    if options.v6 || !memfile(options.stack) {
        return Err(BenchError::Unsupported(
            "a flood runs in DHCPv4 against a Kea-configured server (reference, kea, kea-mt)"
                .into(),
        ));
    }
    let program = options.stack.program(false);
    if options.stack != Stack::Reference && !super::installed(program) {
        return Err(BenchError::Missing(program));
    }
    let renewing_clients = 100;
    let flood_seconds = f64::from(discovers) / rate;
    let mut renewing = Load::new(Plan {
        family: Family::V4,
        rate: RENEW_RATE,
        clients: renewing_clients,
        duration: WARM_UP + Duration::from_secs_f64(flood_seconds),
        renew_percent: 50,
        release_percent: 0,
        drop_after: DROP_AFTER,
        mac: GENERATOR_MAC,
        seed: options.seed,
    })?;
    let mut flooding = Load::new(Plan {
        family: Family::V4,
        rate,
        clients: discovers,
        duration: Duration::from_secs_f64(flood_seconds),
        renew_percent: 0,
        release_percent: 0,
        drop_after: DROP_AFTER,
        mac: GENERATOR_MAC,
        seed: options.seed ^ 0xf100d,
    })?
    .numbered_from(FLOOD_FIRST_CLIENT)?
    .scattered(options.seed as u32 ^ 0xf100d)?;
    // Bound, not `..`: the lab and the run directory must live to the end of the flood.
    let Alone {
        lab: _lab,
        iface: _iface,
        dir: _dir,
        device,
        mut server,
    } = start_alone(options, Some(FLOOD_POOL))?;
    let pid = server.pid();
    let start = Instant::now();
    drive(
        &mut [Driven::new(&mut renewing, start)],
        &device,
        start + WARM_UP,
        |_| false,
        || !server.exited(),
    )?;
    let bound = renewing.held_leases().count();
    if bound < renewing_clients as usize {
        return Err(BenchError::Unsupported(format!(
            "only {bound} of {renewing_clients} clients took a lease before the flood"
        )));
    }
    let (rss_before_kib, _) = memory(pid);
    let before: Vec<_> = [Exchange::First, Exchange::Second, Exchange::Renew]
        .iter()
        .map(|&e| renewing.counts(e).clone())
        .collect();
    let flood_start = Instant::now();
    drive(
        &mut [
            Driven::new(&mut renewing, start),
            Driven::new(&mut flooding, flood_start),
        ],
        &device,
        flood_start + Duration::from_secs_f64(flood_seconds) + DROP_AFTER + START_WAIT,
        |l| l[1].load.finished(),
        || !server.exited(),
    )?;
    let seconds = flood_start.elapsed().as_secs_f64();
    // The renewals started during the flood get their answers or time out.
    drive(
        &mut [Driven::new(&mut renewing, start)],
        &device,
        Instant::now() + DROP_AFTER + START_WAIT,
        |_| false,
        || !server.exited(),
    )?;
    if server.exited() {
        return Err(BenchError::Exited {
            stack: options.stack.name(),
            output: server.output(),
        });
    }
    let (rss_after_kib, rss_peak_kib) = memory(pid);
    let during = |e: Exchange, i: usize| {
        let (c, b) = (renewing.counts(e), &before[i]);
        let refused = c.refused - b.refused;
        (
            c.sent - b.sent,
            (c.received - b.received).saturating_sub(refused),
            refused,
            c.drops - b.drops,
        )
    };
    let (renewals_sent, renewals_acked, renewals_refused, renewals_dropped) =
        during(Exchange::Renew, 2);
    let (again_discovers, again_offers, _, discovers_dropped) = during(Exchange::First, 0);
    let (again_requests, again_acked, _, requests_dropped) = during(Exchange::Second, 1);
    let first = flooding.counts(Exchange::First);
    Ok(Flood {
        pool: u32::from(FLOOD_POOL.1) - u32::from(FLOOD_POOL.0) + 1,
        renewing_clients,
        discovers: first.sent,
        offers: first.received,
        flood_leases: flooding.leases_made(),
        renewals_sent,
        renewals_acked,
        renewals_refused,
        renewals_dropped,
        again_discovers,
        again_offers,
        again_requests,
        again_acked,
        again_dropped: discovers_dropped + requests_dropped,
        rss_before_kib,
        rss_after_kib,
        rss_peak_kib,
        seconds,
    })
}
