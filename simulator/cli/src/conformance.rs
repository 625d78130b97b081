//! `dhcplab conformance`: runs the conformance checks (`conformance/`, scenario files with a
//! `[check]` header) against a server or a client, sums them up by RFC section, and exits 0
//! only when every MUST check held. `--partition K/N` runs a fixed 1/N of the checks so N
//! machines share the suite; `dhcplab report merge` joins their JSON.

use crate::run::{self, Progress};
use dhcplab_report::merge::{RunInfo, parse_partition};
use dhcplab_report::{Status, Suite, html, sections};
use dhcplab_scenario::{Level, UnderTest};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `dhcplab conformance`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("side").required(true).args(["server", "client"])))]
pub struct Args {
    /// Check folders or files (default: conformance/).
    paths: Vec<PathBuf>,
    /// Test this server: the checks' server hosts run it, the harness plays the clients
    /// (virtual mode: reference; TAP mode: reference, kea, dhcpd or dnsmasq).
    #[arg(long, value_name = "STACK")]
    server: Option<String>,
    /// Test this client: the checks' client hosts run it, the harness plays the server
    /// (virtual mode: reference; TAP mode: reference, dhclient, udhcpc or dhcpcd).
    #[arg(long, value_name = "STACK")]
    client: Option<String>,
    /// virtual (in one process, virtual time) or tap (namespaces and real processes; root).
    #[arg(long, default_value = "virtual", value_parser = ["virtual", "tap"])]
    mode: String,
    /// Which checks: must (MUST only), should (MUST and SHOULD) or all.
    #[arg(long, default_value = "all", value_parser = ["must", "should", "all"])]
    level: String,
    /// Run part K of N (`2/4`): the checks in name order, every Nth from the Kth, so N CI
    /// machines split the suite; `dhcplab report merge` joins the parts' JSON.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    partition: Option<(u32, u32)>,
    #[command(flatten)]
    outputs: Outputs,
    /// Write each check's pcap and ladder diagram under DIR.
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// Seed for every random draw (default: each check's own, else 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Run only checks whose name (folder/NAME) contains this text.
    #[arg(long, value_name = "PATTERN")]
    filter: Option<String>,
    /// TAP mode: skip checks whose steps may take longer than this in real time.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = dhcplab_scenario::parse_duration)]
    max_real_time: Duration,
    /// Run this many checks at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
}

/// The files a conformance run, or a merge of one's parts, writes.
#[derive(Debug, clap::Args)]
pub(crate) struct Outputs {
    /// Write results as JSON (with the run's description, for `report merge`).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write results as JUnit XML.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the HTML report (the checks' ladders and pcaps it links to go under --artifacts
    /// of a run, by default a folder beside it).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

/// The stacks each side can run, by mode.
fn stacks(tests: UnderTest, mode: &str) -> &'static [&'static str] {
    match (tests, mode) {
        (_, "virtual") => &["reference"],
        (UnderTest::Server, _) => &["reference", "kea", "dhcpd", "dnsmasq"],
        (UnderTest::Client, _) => &["reference", "dhclient", "udhcpc", "dhcpcd"],
    }
}

/// Runs the checks.
pub fn run(args: &Args) -> ExitCode {
    let (tests, stack) = match (&args.server, &args.client) {
        (Some(s), None) => (UnderTest::Server, s.clone()),
        (None, Some(c)) => (UnderTest::Client, c.clone()),
        _ => {
            eprintln!("dhcplab conformance: give --server STACK or --client STACK");
            return ExitCode::from(2);
        }
    };
    let can = stacks(tests, &args.mode);
    if !can.contains(&stack.as_str()) {
        eprintln!(
            "dhcplab conformance: --{} {stack}: {} mode runs {} as the {} under test",
            tests.name(),
            args.mode,
            can.join(", "),
            tests.name()
        );
        return ExitCode::from(2);
    }
    if args.mode == "tap"
        && let Err(e) = dhcplab_tap::remove_on_interrupt()
    {
        eprintln!("dhcplab conformance: {e}");
        return ExitCode::from(2);
    }
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from("conformance")]
    } else {
        args.paths.clone()
    };
    let loaded = match run::load(&roots, args.filter.as_deref(), args.seed) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("dhcplab conformance: {e}");
            return ExitCode::from(2);
        }
    };
    let bad_input = !loaded.unread.is_empty();
    let highest = match args.level.as_str() {
        "must" => Level::Must,
        "should" => Level::Should,
        _ => Level::May,
    };
    let mut not_checks = Vec::new();
    let mut selected = Vec::new();
    for s in loaded.scenarios {
        match &s.check {
            None => not_checks.push(s.file.clone()),
            Some(k) if k.tests == tests && k.level <= highest => selected.push(s),
            Some(_) => {}
        }
    }
    if !not_checks.is_empty() {
        for f in &not_checks {
            eprintln!(
                "{}: not a conformance check: it has no [check] table (reference, level, tests)",
                f.display()
            );
        }
        return ExitCode::from(2);
    }
    let total = selected.len();
    let (k, n) = args.partition.unwrap_or((1, 1));
    let part: Vec<_> = selected
        .into_iter()
        .enumerate()
        .filter(|(i, _)| u32::try_from(i % usize::try_from(n).unwrap_or(1)).ok() == Some(k - 1))
        .map(|(_, s)| s)
        .collect();
    let artifacts = args.artifacts.clone().or_else(|| {
        args.outputs.html.as_ref().map(|h| {
            let stem = h.file_stem().unwrap_or_default().to_string_lossy();
            h.with_file_name(format!("{stem}-artifacts"))
        })
    });
    let (server, client) = match tests {
        UnderTest::Server => (stack.clone(), "reference".to_string()),
        UnderTest::Client => ("reference".to_string(), stack.clone()),
    };
    let plan = run::Args {
        paths: Vec::new(),
        mode: args.mode.clone(),
        server,
        client,
        max_real_time: args.max_real_time,
        seed: args.seed,
        json: None,
        junit: None,
        artifacts: artifacts.clone(),
        filter: None,
        jobs: args.jobs,
    };
    let began = Instant::now();
    let progress = Progress::new(part.len());
    let mut suite = Suite {
        cases: loaded.unread,
    };
    suite
        .cases
        .extend(run::run_all(&part, &plan, &progress, began));
    progress.finish();
    let info = RunInfo {
        tests,
        stack,
        mode: args.mode.clone(),
        level: args.level.clone(),
        part: (k, n),
        selected: total,
    };
    print!("{}", sections::table(&suite));
    println!(
        "{} {} checks of {} selected (part {k}/{n}) in {:.2} s",
        part.len(),
        tests.name(),
        total,
        began.elapsed().as_secs_f64()
    );
    report_cases(&suite, &plan);
    let written = write_outputs(&info, &suite, &args.outputs, "dhcplab conformance");
    verdict(&suite, bad_input || !written)
}

/// Prints the checks that were skipped and those that did not hold, each failure with the
/// command that reproduces it and its artifacts.
fn report_cases(suite: &Suite, plan: &run::Args) {
    for c in suite.cases.iter().filter(|c| c.status == Status::Skipped) {
        println!("skipped {}: {}", c.name, c.message);
    }
    for c in suite
        .cases
        .iter()
        .filter(|c| matches!(c.status, Status::Failed | Status::Differs))
    {
        let level = c.check.as_ref().map_or("MUST", |k| k.level.name());
        let reference = c
            .check
            .as_ref()
            .map_or_else(|| "unreadable".to_string(), |k| k.reference());
        println!(
            "\n{} {level} {reference} {} ({})\n  {}",
            if c.status == Status::Failed {
                "FAILED"
            } else {
                "DIFFERS"
            },
            c.name,
            c.file.display(),
            c.message.replace('\n', "\n  ")
        );
        run::reproduction(c, plan, c.check.is_some());
    }
}

/// Writes the JSON (results and the run's description), JUnit and HTML files asked for;
/// false when one could not be written (said on stderr).
pub(crate) fn write_outputs(info: &RunInfo, suite: &Suite, outputs: &Outputs, who: &str) -> bool {
    let (json, junit, page) = (
        outputs.json.as_deref(),
        outputs.junit.as_deref(),
        outputs.html.as_deref(),
    );
    let mut ok = true;
    let mut write = |path: &Path, text: String| {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        let result = dir
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, text));
        if let Err(e) = result {
            eprintln!("{who}: {}: {e}", path.display());
            ok = false;
        }
    };
    if let Some(p) = json {
        let mut v = suite.json();
        if let Some(m) = v.as_object_mut() {
            m.insert("run".into(), info.json());
        }
        write(
            p,
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n",
        );
    }
    if let Some(p) = junit {
        write(p, suite.junit(who));
    }
    if let Some(p) = page {
        let base = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        write(p, html::page(info, suite, base));
    }
    ok
}

/// 2 when input or output failed (a file that is no check, a report not written), else 1
/// when a MUST check did not hold, else 0.
pub(crate) fn verdict(suite: &Suite, bad: bool) -> ExitCode {
    if bad {
        ExitCode::from(2)
    } else if !sections::every_must_held(suite) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
