//! `dhcplab run`: runs scenario files and reports, as a table, JSON, JUnit XML and artifacts.
//! Exit code 0 only when every scenario passed; 1 when one failed; 2 when a file could not be
//! read as a scenario (the others still run) or an argument is wrong.

use dhcplab_report::{Case, Status, Suite};
use dhcplab_scenario::{Scenario, Verdict};
use dhcplab_virtual_mode::Options;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `dhcplab run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files or folders searched for *.toml (default: scenarios/).
    pub(crate) paths: Vec<PathBuf>,
    /// How to run the network: virtual (in one process, virtual time) or tap (a namespace
    /// per host on dhcplab's switch, real processes in real time; needs root).
    #[arg(long, default_value = "virtual", value_parser = ["virtual", "tap"])]
    pub(crate) mode: String,
    /// TAP mode: the server on the scenario's server hosts (reference or kea; dhcpd or
    /// dnsmasq on a translation of the scenario's DHCPv4 Kea configuration).
    #[arg(long, default_value = "reference", value_parser = ["reference", "kea", "dhcpd", "dnsmasq"])]
    pub(crate) server: String,
    /// TAP mode: the client on the scenario's client hosts (reference, dhclient, udhcpc or
    /// dhcpcd).
    #[arg(long, default_value = "reference", value_parser = ["reference", "dhclient", "udhcpc", "dhcpcd"])]
    pub(crate) client: String,
    /// TAP mode: skip scenarios whose steps may take longer than this in real time.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = dhcplab_scenario::parse_duration)]
    pub(crate) max_real_time: Duration,
    /// Seed for every random draw (default: the scenario's own, else 1).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Write results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Write results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Write each scenario's pcap and ladder diagram (and the suite's results) under DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) artifacts: Option<PathBuf>,
    /// Run only scenarios whose name (topic/NAME) contains this text.
    #[arg(long, value_name = "PATTERN")]
    pub(crate) filter: Option<String>,
    /// Run this many scenarios at once (TAP mode spends most of a run waiting for real
    /// time, and each run has its own namespaces). Results are reported in file order.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) jobs: u16,
}

/// Runs the suite.
pub fn run(args: &Args) -> ExitCode {
    if args.mode == "tap"
        && let Err(e) = dhcplab_tap::remove_on_interrupt()
    {
        eprintln!("dhcplab run: {e}");
        return ExitCode::from(2);
    }
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    let loaded = match load(&roots, args.filter.as_deref(), args.seed) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("dhcplab run: {e}");
            return ExitCode::from(2);
        }
    };
    let bad_input = !loaded.unread.is_empty();
    let load_failed: Vec<PathBuf> = loaded.unread.iter().map(|c| c.file.clone()).collect();
    let mut suite = Suite {
        cases: loaded.unread,
    };
    let runnable = loaded.scenarios;
    let began = Instant::now();
    let progress = Progress::new(runnable.len());
    suite
        .cases
        .extend(run_all(&runnable, args, &progress, began));
    progress.finish();
    print!("{}", suite.table());
    for c in suite.cases.iter().filter(|c| c.status == Status::Skipped) {
        println!("skipped {}: {}", c.name, c.message);
    }
    for c in suite.cases.iter().filter(|c| c.status == Status::Differs) {
        println!("differs {}: {}", c.name, c.message);
    }
    for c in suite.cases.iter().filter(|c| c.status == Status::Failed) {
        println!(
            "\nFAILED {} ({})\n  {}",
            c.name,
            c.file.display(),
            c.message.replace('\n', "\n  ")
        );
        reproduction(c, args, !load_failed.contains(&c.file));
    }
    let mut write_failed = false;
    let mut write = |path: &Path, text: String| {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            eprintln!("dhcplab run: {}: {e}", parent.display());
            write_failed = true;
            return;
        }
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("dhcplab run: {}: {e}", path.display());
            write_failed = true;
        }
    };
    let json = serde_json::to_string_pretty(&suite.json()).unwrap_or_default() + "\n";
    let junit = suite.junit("dhcplab run");
    if let Some(p) = &args.json {
        write(p, json.clone());
    }
    if let Some(p) = &args.junit {
        write(p, junit.clone());
    }
    if let Some(dir) = &args.artifacts {
        write(&dir.join("results.json"), json);
        write(&dir.join("junit.xml"), junit);
    }
    if suite.count(Status::Failed) > 0 && !bad_input {
        ExitCode::from(1)
    } else if bad_input || write_failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints how to run a failed case again (when `runnable`: a file that could be read) and
/// where its artifacts are.
pub(crate) fn reproduction(c: &Case, args: &Args, runnable: bool) {
    if runnable {
        let mode = if args.mode == "tap" {
            format!(
                " --mode tap --server {} --client {}",
                args.server, args.client
            )
        } else {
            String::new()
        };
        println!(
            "  reproduce: dhcplab run {}{mode} --seed {}",
            c.file.display(),
            c.seed
        );
    }
    for a in &c.artifacts {
        println!("  artifact: {}", a.display());
    }
}

/// The scenario files found under some roots: those read, and a failed case for each file
/// that could not be (its faults printed).
pub(crate) struct Loaded {
    /// The scenarios read, in file order.
    pub(crate) scenarios: Vec<Scenario>,
    /// A failed case per file that could not be read.
    pub(crate) unread: Vec<Case>,
}

/// Finds the `*.toml` files under `roots` whose name contains `filter`, in file order, and
/// reads them; an error when a root cannot be searched or no file is left.
pub(crate) fn load(
    roots: &[PathBuf],
    filter: Option<&str>,
    seed: Option<u64>,
) -> Result<Loaded, String> {
    let mut files = Vec::new();
    for root in roots {
        files.extend(
            dhcplab_scenario::discover(root).map_err(|e| format!("{}: {e}", root.display()))?,
        );
    }
    if files.is_empty() {
        return Err(format!(
            "no scenario files (*.toml) under {}",
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    files.sort();
    files.dedup();
    files.retain(|f| filter.is_none_or(|p| dhcplab_scenario::name_of(f).contains(p)));
    if files.is_empty() {
        return Err(format!(
            "no scenario name contains {:?}",
            filter.unwrap_or_default()
        ));
    }
    let mut loaded = Loaded {
        scenarios: Vec::new(),
        unread: Vec::new(),
    };
    for f in &files {
        match dhcplab_scenario::load(f) {
            Ok(s) => loaded.scenarios.push(s),
            Err(e) => {
                eprintln!("{e}");
                loaded.unread.push(Case {
                    name: dhcplab_scenario::name_of(f),
                    file: f.clone(),
                    status: Status::Failed,
                    message: e.to_string(),
                    artifacts: Vec::new(),
                    covered: Duration::ZERO,
                    wall: Duration::ZERO,
                    seed: seed.unwrap_or(1),
                    check: None,
                });
            }
        }
    }
    Ok(loaded)
}

/// Runs every scenario of `runnable`, `--jobs` at a time, and gives their cases in order.
pub(crate) fn run_all(
    runnable: &[Scenario],
    args: &Args,
    progress: &Progress,
    began: Instant,
) -> Vec<Case> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::with_capacity(runnable.len()));
    std::thread::scope(|scope| {
        for _ in 0..usize::from(args.jobs).min(runnable.len()) {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(s) = runnable.get(k) else { break };
                    progress.tick(&s.name, began);
                    let case = run_one(s, args);
                    done.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((k, case));
                }
            });
        }
    });
    let mut cases = done
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cases.sort_by_key(|(k, _)| *k);
    cases.into_iter().map(|(_, c)| c).collect()
}

fn run_one(template: &Scenario, args: &Args) -> Case {
    let seed = args.seed.or(template.seed).unwrap_or(1);
    let began = Instant::now();
    let values = template.draw(seed);
    let instance = if template.vary.is_empty() {
        Ok(template.clone())
    } else {
        template.instance(&values)
    };
    let s = match instance {
        Ok(s) => s,
        Err(e) => {
            return Case {
                name: template.name.clone(),
                file: template.file.clone(),
                status: Status::Failed,
                message: format!(
                    "{} with seed {seed}: {e}",
                    template.describe_values(&values)
                ),
                artifacts: Vec::new(),
                covered: Duration::ZERO,
                wall: began.elapsed(),
                seed,
                check: template.check.clone(),
            };
        }
    };
    let outcome = if args.mode == "tap" {
        match tap_run(&s, seed, args) {
            Ok(o) => o,
            Err((status, message)) => {
                return Case {
                    name: s.name.clone(),
                    file: s.file.clone(),
                    status,
                    message,
                    artifacts: Vec::new(),
                    covered: Duration::ZERO,
                    wall: began.elapsed(),
                    seed,
                    check: s.check.clone(),
                };
            }
        }
    } else {
        dhcplab_virtual_mode::run(
            &s,
            Options {
                seed,
                record: args.artifacts.is_some(),
            },
        )
    };
    let mut status = match outcome.status {
        dhcplab_runner::Status::Passed => Status::Passed,
        dhcplab_runner::Status::Failed => Status::Failed,
    };
    let mut message = outcome.message.clone();
    if args.mode == "tap" {
        let stacks = [args.server.as_str(), args.client.as_str()];
        // The template's records: their lines are the file's (an instance has no [vary]).
        match template.verdict(&stacks, outcome.failed_step, &outcome.message) {
            Verdict::AsRun => {}
            Verdict::Differs(d) => {
                status = Status::Differs;
                message = format!(
                    "{} differs as line {} records: {} [{}]",
                    d.stack, d.place.line, d.why, outcome.message
                );
            }
            Verdict::Gone(d) => {
                status = Status::Failed;
                message = format!(
                    "passed on {}, but line {} records that it fails at step {} ({}): the difference is gone, remove the record [{}]",
                    d.stack, d.place.line, d.step, d.why, outcome.message
                );
            }
        }
    }
    if !template.vary.is_empty() {
        message = format!("{} ({})", message, template.describe_values(&values));
    }
    let here = args.artifacts.as_ref().map(|dir| dir.join(&s.name));
    if status == Status::Failed
        && args.mode == "virtual"
        && !template.vary.is_empty()
        && let Some(m) = dhcplab_virtual_mode::minimize(template, &values, seed)
    {
        message.push_str(&format!(
            "\nminimized in {} runs: {}, {} of {} steps left out: {}",
            m.runs,
            template.describe_values(&m.values),
            m.steps_removed,
            s.steps.len(),
            m.message
        ));
        if let Some(here) = &here {
            let file = here.join("minimized.toml");
            let written = std::fs::create_dir_all(here)
                .and_then(|()| std::fs::write(&file, &m.scenario.source));
            match written {
                Ok(()) => message.push_str(&format!(
                    "\nminimized reproduction: dhcplab run {} --seed {seed}",
                    file.display()
                )),
                Err(e) => message.push_str(&format!("\n(minimized file not written: {e})")),
            }
        } else {
            message.push_str("\n(--artifacts DIR writes the minimized scenario file)");
        }
    }
    let wall = began.elapsed();
    let mut artifacts = Vec::new();
    if let Some(here) = &here {
        let pcap = here.join("capture.pcap");
        let ladder = here.join("ladder.html");
        let summary = format!(
            "{}: {}\nseed {seed}, {}",
            status.name(),
            outcome.message,
            s.description.trim()
        );
        let written = std::fs::create_dir_all(here)
            .map_err(|e| e.to_string())
            .and_then(|()| outcome.timeline.pcap().map_err(|e| e.to_string()))
            .and_then(|bytes| std::fs::write(&pcap, bytes).map_err(|e| e.to_string()))
            .and_then(|()| {
                let page = dhcplab_timeline::ladder::html(&outcome.timeline, &s.name, &summary);
                std::fs::write(&ladder, page).map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => artifacts = vec![pcap, ladder],
            Err(e) => message.push_str(&format!(
                " (artifacts not written to {}: {e})",
                here.display()
            )),
        }
    }
    Case {
        name: s.name.clone(),
        file: s.file.clone(),
        status,
        message,
        artifacts,
        covered: outcome.covered,
        wall,
        seed,
        check: s.check.clone(),
    }
}

/// Runs `s` in TAP mode: its hosts' files go under the artifacts directory when there is one
/// (`HOST/` beside the pcap), else a temporary one. A scenario TAP mode cannot run is skipped
/// with the reason; a network or stack that cannot start fails it.
fn tap_run(
    s: &Scenario,
    seed: u64,
    args: &Args,
) -> Result<dhcplab_runner::Outcome, (Status, String)> {
    let dir = args.artifacts.as_ref().map(|d| d.join(&s.name));
    tap_outcome(
        s,
        seed,
        (&args.server, &args.client),
        (dir.as_deref(), dir.is_some()),
        args.max_real_time,
    )
}

/// Plays `s` in TAP mode with the `(server, client)` stacks named, the hosts' files in `dir`
/// (else a temporary directory), recording frames for the pcap and ladder when `record`.
pub fn tap_outcome(
    s: &Scenario,
    seed: u64,
    (server, client): (&str, &str),
    (dir, record): (Option<&std::path::Path>, bool),
    max_real_time: Duration,
) -> Result<dhcplab_runner::Outcome, (Status, String)> {
    use dhcplab_adapters::clients::Client;
    use dhcplab_adapters::servers::Server;
    use dhcplab_tap_mode::{Stacks, TapModeError, TapNetwork};
    let server = Server::ALL
        .into_iter()
        .find(|s| s.name() == server)
        .unwrap_or(Server::Reference);
    let dhcplab = std::env::current_exe().map_err(|e| (Status::Failed, e.to_string()))?;
    let client = Client::ALL
        .into_iter()
        .find(|c| c.name() == client)
        .unwrap_or(Client::Reference);
    let stacks = Stacks {
        server,
        client,
        dhcplab,
    };
    dhcplab_tap_mode::supports(s, &stacks, max_real_time).map_err(|e| (Status::Skipped, e.0))?;
    let temp;
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => {
            temp = tempfile::Builder::new()
                .prefix("dhcplab-run-")
                .tempdir()
                .map_err(|e| (Status::Failed, e.to_string()))?;
            dhcplab_tap::remove_dir_on_interrupt(temp.path());
            temp.path().to_path_buf()
        }
    };
    let mut net = TapNetwork::new(s, stacks, &dir, seed, record).map_err(|e| match e {
        TapModeError::Unsupported(u) => (Status::Skipped, u.0),
        other => (Status::Failed, other.to_string()),
    })?;
    Ok(dhcplab_runner::play(s, &mut net))
}

/// A progress bar that shows itself only once a suite has taken more than a second, and only
/// on a terminal.
pub(crate) struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    pub(crate) fn new(len: usize) -> Self {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(len as u64),
            indicatif::ProgressDrawTarget::hidden(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        Self { bar }
    }

    fn tick(&self, name: &str, began: Instant) {
        if self.bar.is_hidden() && began.elapsed() > Duration::from_secs(1) {
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        self.bar.set_message(name.to_string());
        self.bar.inc(1);
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
