//! `dhcplab bench`: DORA/SARR load from many simulated clients against one server stack, at a
//! rate or searching for the highest rate it sustains (every exchange under 0.1% drops), with
//! perfdhcp's figures and latency percentiles. With `--kills` a crash-consistency run (the
//! server SIGKILLed and restarted on its lease file, which must hold every lease acknowledged),
//! with `--flood` a flood of new clients against a small pool while others renew.

use dhcplab_bench::{BenchError, Generator, Options, Search, Stack, Trial};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The longest trial allowed, in seconds: every load stops by itself.
const MAX_DURATION: u64 = 600;

/// Arguments of `dhcplab bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server to load: reference, kea, kea-mt (kea with multi-threading), dhcpd, dnsmasq.
    #[arg(long, value_name = "STACK")]
    server: String,
    /// tap: the server in a namespace of its own, the generator on its TAP device (root);
    /// virtual: the reference server's core in process on a virtual clock, a rate sustained
    /// when the core's time for it fits in one core.
    #[arg(long, value_enum, default_value = "tap")]
    mode: Mode,
    /// The load generator: dhcplab's own on the server's TAP device, or ISC's perfdhcp in a
    /// second namespace joined by a veth pair (TAP mode only; for comparing the two).
    #[arg(long, value_enum, default_value = "dhcplab")]
    generator: GeneratorArg,
    /// DHCPv6 (Solicit-Advertise-Request-Reply) instead of DHCPv4 (DORA).
    #[arg(long)]
    v6: bool,
    /// Exchanges started per second (with --max: the first rate tried, default 1000; with
    /// --kills default 2000; with --flood the flood's DISCOVERs per second, default 5000).
    #[arg(long, value_name = "R", required_unless_present_any = ["max", "kills", "flood"])]
    rate: Option<f64>,
    /// Search for the highest rate the server sustains with under 0.1% drops: doubling, then
    /// halving the gap, at most 14 trials, each on a freshly started server.
    #[arg(long)]
    max: bool,
    /// Distinct clients taking turns (default: 100,000 in DHCPv4, under the pool's 130,815
    /// addresses; 1,000,000 in DHCPv6).
    #[arg(long, value_name = "N")]
    clients: Option<u32>,
    /// Seconds of load per trial (at most 600).
    #[arg(long, value_name = "S", default_value_t = 10)]
    duration: u64,
    /// Percent of the exchanges started that renew a lease a client holds.
    #[arg(long, value_name = "PCT", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    renew: u8,
    /// Percent of the exchanges started that release a lease a client holds.
    #[arg(long, value_name = "PCT", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    release: u8,
    /// The server keeps leases in memory only (memfile persist false, dnsmasq leasefile-ro;
    /// dhcpd always writes its file).
    #[arg(long)]
    no_persist: bool,
    /// Pin the server to one CPU and the generator to another: `--pin 0,1`.
    #[arg(long, value_name = "SERVER,GENERATOR", value_parser = parse_pin)]
    pin: Option<(usize, usize)>,
    /// Write every trial and the result as JSON to this file (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Seed of the generator's transaction ids and choices (and of the kill moments).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Crash consistency: during one run of load, kill the server N times with SIGKILL (each
    /// 0.3 to 2.5 s after it answers again, seeded), check after each kill that its lease file
    /// holds every lease whose ACK reached a client and gives no address to two clients, and
    /// restart it on the same file. Reference, kea, kea-mt (memfile); exit 1 on a violation
    /// (with --no-persist every lease is lost: the check's negative case).
    #[arg(long, value_name = "N", conflicts_with_all = ["max", "flood"],
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    kills: Option<u32>,
    /// Flood: N DISCOVERs at --rate, each from a new client (link addresses drawn from the
    /// seed, up to 2^20 clients), against a pool of 256 addresses,
    /// while 100 clients that hold leases renew (or DORA again); reports their exchanges
    /// answered and the server's memory (exit 1 when one of theirs went unanswered). DHCPv4;
    /// reference, kea, kea-mt.
    #[arg(long, value_name = "N", conflicts_with_all = ["max", "v6"],
          value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    flood: Option<u32>,
}

/// Where the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// A real server process in its own namespace.
    Tap,
    /// The reference server's core in this process.
    Virtual,
}

/// The load generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GeneratorArg {
    /// dhcplab's own.
    Dhcplab,
    /// ISC's perfdhcp.
    Perfdhcp,
}

fn parse_pin(text: &str) -> Result<(usize, usize), String> {
    let (a, b) = text
        .split_once(',')
        .ok_or_else(|| format!("{text:?}: expected SERVER,GENERATOR CPU numbers, like 0,1"))?;
    let cpu = |s: &str| s.trim().parse::<usize>().map_err(|e| format!("{s:?}: {e}"));
    Ok((cpu(a)?, cpu(b)?))
}

/// Runs the benchmark. Exit 0 when the rate (or, with --max, some rate) was sustained, 1 when
/// not, 2 for bad arguments or a server that would not start.
pub fn run(args: &Args) -> ExitCode {
    let fail = |message: String| {
        eprintln!("dhcplab bench: {message}");
        ExitCode::from(2)
    };
    let Some(stack) = Stack::from_name(&args.server) else {
        let names: Vec<&str> = Stack::ALL.iter().map(|s| s.name()).collect();
        return fail(format!(
            "unknown server {:?}: one of {}",
            args.server,
            names.join(", ")
        ));
    };
    if args.duration == 0 || args.duration > MAX_DURATION {
        return fail(format!(
            "--duration {}: between 1 and {MAX_DURATION} seconds",
            args.duration
        ));
    }
    let dhcplab = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return fail(format!("cannot find the dhcplab binary: {e}")),
    };
    if args.mode == Mode::Virtual && args.generator == GeneratorArg::Perfdhcp {
        return fail("--generator perfdhcp runs in TAP mode only".into());
    }
    let options = Options {
        stack,
        generator: match args.generator {
            GeneratorArg::Dhcplab => Generator::Dhcplab,
            GeneratorArg::Perfdhcp => Generator::Perfdhcp,
        },
        v6: args.v6,
        clients: args
            .clients
            .unwrap_or(if args.v6 { 1_000_000 } else { 100_000 }),
        duration: Duration::from_secs(args.duration),
        renew_percent: args.renew,
        release_percent: args.release,
        persist: !args.no_persist,
        pin: args.pin,
        dhcplab,
        seed: args.seed,
    };
    if args.mode == Mode::Tap
        && let Err(e) = dhcplab_tap::remove_on_interrupt()
    {
        return fail(e.to_string());
    }
    if (args.kills.is_some() || args.flood.is_some())
        && (args.mode != Mode::Tap || args.generator != GeneratorArg::Dhcplab)
    {
        return fail("--kills and --flood run in TAP mode with dhcplab's generator".into());
    }
    if let Some(kills) = args.kills {
        return crash(
            &options,
            args.rate.unwrap_or(2000.0),
            kills,
            args.json.as_deref(),
        );
    }
    if let Some(n) = args.flood {
        return flood(
            &options,
            n,
            args.rate.unwrap_or(5000.0),
            args.json.as_deref(),
        );
    }
    let trial = |rate: f64| match args.mode {
        Mode::Tap => dhcplab_bench::tap::trial(&options, rate),
        Mode::Virtual => dhcplab_bench::virtual_mode::trial(&options, rate),
    };
    let searched: Result<Search, BenchError> = if args.max {
        dhcplab_bench::search(args.rate.unwrap_or(1000.0), trial, |t: &Trial| {
            eprintln!("{}", t.summary())
        })
    } else {
        let rate = args.rate.unwrap_or(1000.0);
        trial(rate).map(|t| Search {
            max_rate: t.sustained.then_some(rate),
            stopped: "one rate asked".into(),
            trials: vec![t],
        })
    };
    let search = match searched {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    let best = search
        .trials
        .iter()
        .filter(|t| t.sustained)
        .max_by(|a, b| a.report.rate_asked.total_cmp(&b.report.rate_asked))
        .or(search.trials.last());
    if let Some(t) = best {
        print!("{}", t.report);
        println!(
            "\n***Server: {}***\nCPU: {:.1}% of a core, {:.1} µs per lease",
            stack.name(),
            t.server.cpu_percent,
            t.server.cpu_us_per_lease,
        );
        if args.mode == Mode::Tap {
            println!(
                "resident memory: {} KiB, growth {:.0} bytes per lease\nUDP receive-buffer drops: server {}, generator {}",
                t.server.rss_kib,
                t.server.rss_bytes_per_lease,
                t.server.rcvbuf_drops,
                t.server.generator_rcvbuf_drops
            );
        }
    }
    if args.max {
        match search.max_rate {
            Some(r) => println!(
                "\nHighest rate sustained (every exchange under 0.1% drops): {r:.0}/s ({})",
                search.stopped
            ),
            None => println!("\nNo rate sustained ({})", search.stopped),
        }
    }
    if let Some(path) = &args.json {
        let mut out = serde_json::json!({
            "server": stack,
            "family": if args.v6 { "v6" } else { "v4" },
            "mode": if args.mode == Mode::Tap { "tap" } else { "virtual" },
            "generator": options.generator,
            "persist": options.persist,
            "clients": options.clients,
            "duration_seconds": args.duration,
            "renew_percent": args.renew,
            "release_percent": args.release,
        });
        if let (Some(o), Ok(serde_json::Value::Object(s))) =
            (out.as_object_mut(), serde_json::to_value(&search))
        {
            o.extend(s);
        }
        if let Err(e) = write_json(path, &out) {
            return fail(e);
        }
    }
    if search.max_rate.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Writes `value` as pretty JSON to `path` (`-`: standard output).
fn write_json(path: &std::path::Path, value: &serde_json::Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    if path.as_os_str() == "-" {
        print!("{text}");
        Ok(())
    } else {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// `--kills`: the crash-consistency run. Exit 0 when no kill found a violation, 1 when one
/// did, 2 when the run could not be made.
fn crash(options: &Options, rate: f64, kills: u32, json: Option<&std::path::Path>) -> ExitCode {
    let stack = options.stack.name();
    eprintln!(
        "dhcplab bench: {stack}, {rate}/s, {} clients, renew {}%, release {}%, {kills} kills (seed {})",
        options.clients, options.renew_percent, options.release_percent, options.seed
    );
    let run = match dhcplab_bench::tap::crash_run(options, rate, kills, |n, k| {
        eprintln!("{}", k.summary(n))
    }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dhcplab bench: {e}");
            return ExitCode::from(2);
        }
    };
    for k in run.kills.iter().filter(|k| k.violations() > 0) {
        for v in &k.check.samples {
            eprintln!(
                "  violation at {:.2} s: client {} address {}: {:?}",
                k.at_seconds,
                mac_text(&v.client),
                address_text(&v.address, options.v6),
                v.fault
            );
        }
    }
    let checked: Vec<usize> = run.kills.iter().map(|k| k.check.checked).collect();
    let restart: Vec<f64> = run
        .kills
        .iter()
        .filter_map(|k| k.answering_after_seconds)
        .collect();
    println!(
        "crash consistency ({stack}, {}): {} kills, leases checked per kill {}..{} (total {}), missing {}, double-leased {}, conflicts {} (before the first kill {}), renewals refused {}, answering again after {:.2}..{:.2} s; {} exchanges started over {:.1} s",
        if options.v6 { "DHCPv6" } else { "DHCPv4" },
        run.kills.len(),
        checked.iter().min().copied().unwrap_or(0),
        checked.iter().max().copied().unwrap_or(0),
        checked.iter().sum::<usize>(),
        run.kills.iter().map(|k| k.check.missing).sum::<usize>(),
        run.kills
            .iter()
            .map(|k| k.check.double_leased)
            .sum::<usize>(),
        run.kills.iter().map(|k| k.conflicts).sum::<u64>() + run.conflicts_before_first_kill,
        run.conflicts_before_first_kill,
        run.renewals_refused,
        restart.iter().copied().fold(f64::INFINITY, f64::min),
        restart.iter().copied().fold(0.0, f64::max),
        run.report.started,
        run.report.seconds,
    );
    let violations = run.violations();
    println!(
        "{}",
        if violations == 0 {
            "no violation".to_string()
        } else {
            format!("{violations} violations")
        }
    );
    if let Some(path) = json {
        let value = serde_json::json!({
            "server": options.stack,
            "family": if options.v6 { "v6" } else { "v4" },
            "rate": rate,
            "clients": options.clients,
            "renew_percent": options.renew_percent,
            "release_percent": options.release_percent,
            "seed": options.seed,
            "violations": violations,
            "run": run,
        });
        if let Err(e) = write_json(path, &value) {
            eprintln!("dhcplab bench: {e}");
            return ExitCode::from(2);
        }
    }
    if violations == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `--flood`: exit 0 when every exchange of the clients that held leases was answered during
/// the flood, 1 when not, 2 when the run could not be made.
fn flood(options: &Options, discovers: u32, rate: f64, json: Option<&std::path::Path>) -> ExitCode {
    let f = match dhcplab_bench::tap::flood(options, discovers, rate) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("dhcplab bench: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "flood ({}): {} DISCOVERs from new clients in {:.1} s against a pool of {}: {} offers, {} leases taken by the flood; renewals by {} clients during it: {} sent, {} acked, {} refused, {} unanswered; their DORAs again: {} DISCOVERs, {} offered, {} REQUESTs, {} acked, {} unanswered; server resident memory {} KiB before, {} KiB after, peak {} KiB",
        options.stack.name(),
        f.discovers,
        f.seconds,
        f.pool,
        f.offers,
        f.flood_leases,
        f.renewing_clients,
        f.renewals_sent,
        f.renewals_acked,
        f.renewals_refused,
        f.renewals_dropped,
        f.again_discovers,
        f.again_offers,
        f.again_requests,
        f.again_acked,
        f.again_dropped,
        f.rss_before_kib,
        f.rss_after_kib,
        f.rss_peak_kib,
    );
    if let Some(path) = json {
        let value = serde_json::json!({ "server": options.stack, "rate": rate, "flood": f });
        if let Err(e) = write_json(path, &value) {
            eprintln!("dhcplab bench: {e}");
            return ExitCode::from(2);
        }
    }
    if f.existing_clients_served() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A link address as text, `02:dc:00:00:00:01`.
fn mac_text(mac: &[u8; 6]) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

/// An address as the generator keys it (DHCPv4 in the first four bytes), as text.
fn address_text(address: &[u8; 16], v6: bool) -> String {
    if v6 {
        std::net::Ipv6Addr::from(*address).to_string()
    } else {
        std::net::Ipv4Addr::new(address[0], address[1], address[2], address[3]).to_string()
    }
}
