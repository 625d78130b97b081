//! `dhcplab replay` and `dhcplab pcap2scenario`: a capture's conversations (DHCPv4, DHCPv6 or
//! both) re-enacted against a server under test, with a divergence report; or written out as
//! a scenario file.

use crate::run::tap_outcome;
use dhcplab_replay::{Options, Plan, Side, Speed};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Exit status for input that cannot be read or planned.
const BAD_INPUT: u8 = 2;

/// What shapes a plan, for both commands.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// The capture (pcap or pcapng).
    pcap: PathBuf,
    /// The server's configuration (Kea's JSON: a `Dhcp4` map for the DHCPv4 conversations, a
    /// `Dhcp6` map for the DHCPv6 ones); by default it is derived from the capture's answers
    /// (subnet, pools and pd-pools, a reservation per client, options, lifetimes, timers).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Recorded pauses: original, asap, or xN (N times as fast).
    #[arg(long, default_value = "original", value_parser = str::parse::<Speed>)]
    speed: Speed,
    /// The seed the run's transaction ids are drawn from.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How long to wait for an answer the recorded client waited for.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = dhcplab_scenario::parse_duration)]
    wait: Duration,
}

/// `dhcplab replay`.
#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// The stack under test: a server (reference, kea) for `--role client`, a client
    /// (reference, dhclient, udhcpc, dhcpcd) for `--role server`.
    #[arg(long, default_value = "reference", value_parser = ["reference", "kea", "dhclient", "udhcpc", "dhcpcd"])]
    against: String,
    /// The side the capture plays: its clients against a server under test, or its server
    /// against a client under test.
    #[arg(long, default_value = "client", value_parser = ["client", "server"])]
    role: String,
    /// virtual (the reference stack, in virtual time) or tap (namespaces, real time, root);
    /// by default virtual for a reference stack and tap for a real one.
    #[arg(long, value_parser = ["virtual", "tap"])]
    mode: Option<String>,
    /// Write the report as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the run's pcap, ladder diagram and scenario here.
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
}

/// `dhcplab pcap2scenario`.
#[derive(clap::Args, Debug)]
pub struct ToScenarioArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// The scenario file to write.
    #[arg(short = 'o', long = "output", value_name = "FILE.toml")]
    output: PathBuf,
    /// The side the capture plays: its clients against the scenario's server, or its server
    /// against the scenario's client.
    #[arg(long, default_value = "client", value_parser = ["client", "server"])]
    role: String,
}

/// Reads the capture (reporting each frame skipped) and plans its replay of `side`.
fn plan(args: &PlanArgs, side: Side) -> Result<Plan, String> {
    let reader = dhcplab_capture::CaptureReader::open(&args.pcap)
        .map_err(|e| format!("{}: {e}", args.pcap.display()))?;
    let found = dhcplab_conversations::find(reader);
    for s in &found.skipped {
        eprintln!(
            "{}: frame {} skipped: {}",
            args.pcap.display(),
            s.record,
            s.why
        );
    }
    if let Some(why) = &found.stopped {
        eprintln!("{}: read up to a fault: {why}", args.pcap.display());
    }
    let config = match &args.config {
        Some(f) => Some(std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?),
        None => None,
    };
    let name = args.pcap.file_name().map_or_else(
        || args.pcap.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    dhcplab_replay::plan(
        &found,
        &name,
        Options {
            side,
            seed: args.seed,
            speed: args.speed,
            config,
            wait: args.wait,
        },
    )
    .map_err(|e| format!("{}: {e}", args.pcap.display()))
}

/// Runs `dhcplab replay`: 0 when nothing diverges beyond the tolerated differences, 1 when
/// something does, 2 when the capture or configuration cannot be used.
pub fn replay(args: &ReplayArgs) -> ExitCode {
    let side = if args.role == "server" {
        Side::Server
    } else {
        Side::Client
    };
    let servers = ["reference", "kea"];
    let clients = ["reference", "dhclient", "udhcpc", "dhcpcd"];
    let fits = match side {
        Side::Client => servers.contains(&args.against.as_str()),
        Side::Server => clients.contains(&args.against.as_str()),
    };
    if !fits {
        eprintln!(
            "dhcplab replay: --role {} plays against a {}, not {} (one of: {})",
            args.role,
            if side == Side::Client {
                "server"
            } else {
                "client"
            },
            args.against,
            if side == Side::Client {
                servers.join(", ")
            } else {
                clients.join(", ")
            }
        );
        return ExitCode::from(BAD_INPUT);
    }
    let mode = args.mode.clone().unwrap_or_else(|| {
        if args.against == "reference" {
            "virtual"
        } else {
            "tap"
        }
        .to_string()
    });
    if mode == "virtual" && args.against != "reference" {
        eprintln!(
            "dhcplab replay: {} runs in TAP mode only (--mode tap, as root)",
            args.against
        );
        return ExitCode::from(BAD_INPUT);
    }
    let plan = match plan(&args.plan, side) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("dhcplab replay: {e}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    for w in plan.warnings() {
        eprintln!("dhcplab replay: warning: {w}");
    }
    let run = if mode == "virtual" {
        dhcplab_replay::replay_virtual(&plan).map_err(|e| e.to_string())
    } else {
        tap_replay(&plan, args, side)
    };
    let (report, outcome) = match run {
        Ok(r) => r,
        Err(e) => {
            let kept = match &args.artifacts {
                Some(dir) => {
                    let file = dir.join("replay.toml");
                    let written = std::fs::create_dir_all(dir)
                        .and_then(|()| std::fs::write(&file, plan.scenario(false)));
                    match written {
                        Ok(()) => format!(" (the scenario it wrote is {})", file.display()),
                        Err(_) => String::new(),
                    }
                }
                None => " (--artifacts DIR keeps the scenario it wrote as DIR/replay.toml)".into(),
            };
            eprintln!("dhcplab replay: the run cannot be made: {e}{kept}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    print!("{}", report.text());
    if let Some(dir) = &args.artifacts
        && let Err(e) = artifacts(dir, &plan, &outcome, &report.text())
    {
        eprintln!(
            "dhcplab replay: artifacts not written to {}: {e}",
            dir.display()
        );
    }
    if let Some(file) = &args.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|j| std::fs::write(file, j + "\n").map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("dhcplab replay: {}: {e}", file.display());
            return ExitCode::from(BAD_INPUT);
        }
    }
    if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Replays `plan` in TAP mode against the stack `args` names: only that stack is started,
/// the side the capture plays is scripted peers.
fn tap_replay(
    plan: &Plan,
    args: &ReplayArgs,
    side: Side,
) -> Result<(dhcplab_replay::Report, dhcplab_runner::Outcome), String> {
    let scenario = dhcplab_replay::scenario_of(plan).map_err(|e| e.to_string())?;
    let dir = args.artifacts.as_ref().map(|d| d.join("hosts"));
    let stacks = match side {
        Side::Client => (args.against.as_str(), "reference"),
        Side::Server => ("reference", args.against.as_str()),
    };
    let outcome = tap_outcome(
        &scenario,
        plan.options.seed,
        stacks,
        (dir.as_deref(), true),
        Duration::from_secs(3600),
    )
    .map_err(|(_, why)| format!("the TAP run could not be made: {why}"))?;
    let against = format!("{} (tap mode)", args.against);
    let report = dhcplab_replay::report(plan, &outcome, &against).map_err(|e| e.to_string())?;
    Ok((report, outcome))
}

/// The run's pcap, ladder and scenario in `dir`.
fn artifacts(
    dir: &Path,
    plan: &Plan,
    outcome: &dhcplab_runner::Outcome,
    summary: &str,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let pcap = outcome.timeline.pcap().map_err(|e| e.to_string())?;
    std::fs::write(dir.join("capture.pcap"), pcap).map_err(|e| e.to_string())?;
    let page = dhcplab_timeline::ladder::html(&outcome.timeline, &plan.capture, summary);
    std::fs::write(dir.join("ladder.html"), page).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("replay.toml"), plan.scenario(false)).map_err(|e| e.to_string())
}

/// Runs `dhcplab pcap2scenario`.
pub fn to_scenario(args: &ToScenarioArgs) -> ExitCode {
    let side = if args.role == "server" {
        Side::Server
    } else {
        Side::Client
    };
    let plan = match plan(&args.plan, side) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("dhcplab pcap2scenario: {e}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    let text = plan.scenario(true);
    if let Err(e) = dhcplab_scenario::parse(&text, &args.output) {
        eprintln!("dhcplab pcap2scenario: the scenario written does not read back: {e}");
        return ExitCode::from(BAD_INPUT);
    }
    if let Err(e) = std::fs::write(&args.output, &text) {
        eprintln!("dhcplab pcap2scenario: {}: {e}", args.output.display());
        return ExitCode::from(BAD_INPUT);
    }
    let items6 = plan.v6.as_ref().map_or(&[][..], |p| p.items.as_slice());
    let sends = plan
        .items
        .iter()
        .filter(|i| matches!(i, dhcplab_replay::Item::Send(_)))
        .count()
        + items6
            .iter()
            .filter(|i| matches!(i, dhcplab_replay::Item6::Send(_)))
            .count();
    let answers = plan.items.len() + items6.len() - sends;
    let (sent, expected) = match side {
        Side::Client => (format!("{sends} requests"), format!("{answers} answers")),
        Side::Server => (format!("{answers} answers"), format!("{sends} requests")),
    };
    println!(
        "wrote {}: {sent} sent, {expected} expected as recorded, {} left out; run it with: dhcplab run {}",
        args.output.display(),
        plan.left_out.len(),
        args.output.display()
    );
    ExitCode::SUCCESS
}
