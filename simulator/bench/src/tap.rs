//! TAP mode: the server in a namespace of its own, its one link a TAP device whose other end
//! is the generator in this process.

use crate::stacks::{self, GENERATOR_MAC, SERVER_MAC, SERVER4, SERVER6, Setup, Stack};
use crate::{BenchError, DROPS_PERCENT, Generator, Options, ServerUse, Trial};
use dhcplab_load::{Exchange, Family, Load, Plan};
use dhcplab_tap::{Host, Lab, SyncDevice};
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::time::TimeSpec;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod crash;

pub use crash::{crash_run, flood};

/// perfdhcp's address (DHCPv4: it acts as a relay on the served subnet).
const PERFDHCP4: std::net::Ipv4Addr = std::net::Ipv4Addr::new(198, 18, 0, 2);
/// How long a started server has to answer its first exchange.
const START_WAIT: Duration = Duration::from_secs(20);
/// A message without an answer after this long is dropped (perfdhcp's default).
const DROP_AFTER: Duration = Duration::from_secs(1);
/// Frames the TAP device queues for the generator to read.
const TX_QUEUE: u32 = 16_384;
/// Linux reports process CPU times in ticks of 1/100 s (USER_HZ).
const TICKS_PER_SECOND: f64 = 100.0;

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Io { what, source }
}

/// True when `program` is found on PATH.
fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// The server process, stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
    stack: Stack,
    out: std::path::PathBuf,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The end of what it printed, without the frames of a backtrace (`#3 0x... in ??`),
    /// which would hide why it stopped.
    fn output(&self) -> String {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !(l.starts_with('#') && l.contains(" 0x")))
            .collect();
        lines[lines.len().saturating_sub(12)..].join("\n")
    }

    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(0));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (user + system CPU seconds of every thread, resident KiB) of process `pid`.
fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name in parentheses: fields 3 on; utime and stime are 14 and 15.
    let ticks: f64 = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|t| t.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    (ticks / TICKS_PER_SECOND, rss)
}

/// Pins the calling thread to `cpu`.
fn pin_here(cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

/// A load the driver runs and the moment its time counts from.
struct Driven<'a> {
    load: &'a mut Load,
    start: Instant,
}

impl<'a> Driven<'a> {
    fn new(load: &'a mut Load, start: Instant) -> Self {
        Self { load, start }
    }
}

/// Moves frames between the loads and the device (every frame read goes to every load, each
/// takes its own clients' answers) until `done` holds, every load has finished, or `until`
/// has passed; false when `until` or `alive` failing ended it.
fn drive(
    loads: &mut [Driven<'_>],
    device: &SyncDevice,
    until: Instant,
    mut done: impl FnMut(&[Driven<'_>]) -> bool,
    mut alive: impl FnMut() -> bool,
) -> Result<bool, BenchError> {
    let mut out = vec![0u8; 2048];
    let mut inbox = vec![0u8; 65_536];
    let mut checked = Instant::now();
    loop {
        if Instant::now() > until {
            return Ok(false);
        }
        let mut busy = false;
        for d in loads.iter_mut() {
            for _ in 0..256 {
                let Some(n) = d.load.poll_transmit(d.start.elapsed(), &mut out) else {
                    break;
                };
                busy = true;
                // A frame the TAP device refuses (its queue full) is a message lost on the
                // way: the generator counts it as a drop when its answer does not come.
                let _ = device.send(&out[..n]);
            }
        }
        for _ in 0..1024 {
            match device.recv(&mut inbox) {
                Ok(n) => {
                    busy = true;
                    for d in loads.iter_mut() {
                        d.load.handle_frame(d.start.elapsed(), &inbox[..n]);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io("reading the TAP device")(e)),
            }
        }
        if done(loads) || loads.iter().all(|d| d.load.finished()) {
            return Ok(true);
        }
        if checked.elapsed() > Duration::from_millis(200) {
            checked = Instant::now();
            if !alive() {
                return Ok(false);
            }
        }
        if busy {
            continue;
        }
        let wait = loads
            .iter()
            .filter_map(|d| {
                d.load
                    .poll_timeout()
                    .map(|t| t.saturating_sub(d.start.elapsed()))
            })
            .min()
            .unwrap_or(Duration::from_millis(10))
            .min(Duration::from_millis(10));
        let mut fds = [PollFd::new(device.as_fd(), PollFlags::POLLIN)];
        let _ = ppoll(&mut fds, Some(TimeSpec::from_duration(wait)), None);
    }
}

/// The command that runs `command` in `netns`, pinned to `cpu` when given.
fn in_namespace(netns: &str, cpu: Option<usize>, command: &Command) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", netns]);
    if let Some(cpu) = cpu {
        c.args(["taskset", "-c", &cpu.to_string()]);
    }
    c.arg(command.get_program()).args(command.get_args());
    for (k, v) in command.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c
}

/// UDP datagrams dropped for a full receive buffer in `netns` (IPv4 and IPv6 sockets).
fn rcvbuf_errors(netns: &str) -> u64 {
    let read = |file: &str| {
        Command::new("ip")
            .args(["netns", "exec", netns, "cat", file])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let snmp = read("/proc/net/snmp");
    let udp: Vec<&str> = snmp.lines().filter(|l| l.starts_with("Udp:")).collect();
    let v4 = match udp.as_slice() {
        [names, values, ..] => names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == "RcvbufErrors")
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or(0),
        _ => 0,
    };
    let v6 = read("/proc/net/snmp6")
        .lines()
        .find_map(|l| l.strip_prefix("Udp6RcvbufErrors"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    v4 + v6
}

/// Readies the server's host: a long queue on its TAP device and the server's address on
/// `iface` (its TAP device, or perfdhcp's veth).
fn address_server(host: &Host, iface: &str, v6: bool) -> Result<(), BenchError> {
    // The device's queue towards the generator holds a burst of answers (the reference
    // server releases each lease-file sync's answers at once) while the generator is
    // writing: 1,000 frames by default, a few milliseconds at these rates.
    host.ip(&[
        "link",
        "set",
        "dev",
        &host.tap,
        "txqueuelen",
        &TX_QUEUE.to_string(),
    ])?;
    if v6 {
        host.ip(&[
            "addr",
            "add",
            &format!("{SERVER6}/64"),
            "dev",
            iface,
            "nodad",
        ])?;
    } else {
        host.ip(&["addr", "add", &format!("{SERVER4}/15"), "dev", iface])?;
    }
    Ok(())
}

/// The run's directory (configuration, lease file, output), removed with the value or on
/// an interrupt.
/// The generator's plan for `options` at `rate` for `duration`.
fn plan(options: &Options, rate: f64, duration: Duration) -> Plan {
    Plan {
        family: if options.v6 { Family::V6 } else { Family::V4 },
        rate,
        clients: options.clients,
        duration,
        renew_percent: options.renew_percent,
        release_percent: options.release_percent,
        drop_after: DROP_AFTER,
        mac: GENERATOR_MAC,
        seed: options.seed,
    }
}

fn run_dir(lab: &Lab) -> Result<tempfile::TempDir, BenchError> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("dhcplab-{}-bench-", lab.run()))
        .tempdir()
        .map_err(io("creating the run directory"))?;
    dhcplab_tap::remove_dir_on_interrupt(dir.path());
    Ok(dir)
}

/// Starts the server on `iface` in the first host's namespace.
fn spawn_server(
    options: &Options,
    lab: &Lab,
    iface: &str,
    dir: &Path,
    pool4: Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)>,
) -> Result<Server, BenchError> {
    let host = &lab.hosts()[0];
    let setup = Setup {
        iface,
        v6: options.v6,
        persist: options.persist,
        dir,
        dhcplab: &options.dhcplab,
        pool4,
    };
    let command =
        stacks::command(options.stack, &setup).map_err(io("writing the configuration"))?;
    let out = dir.join("server.out");
    let file = std::fs::File::create(&out).map_err(io("creating server.out"))?;
    let err = file.try_clone().map_err(io("creating server.out"))?;
    let child = in_namespace(&host.netns, options.pin.map(|p| p.0), &command)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(io(format!("starting {}", options.stack.name())))?;
    Ok(Server {
        child,
        stack: options.stack,
        out,
    })
}

/// Waits for the server to grant a first lease to a probe client of the generator's on the
/// TAP device: its sockets are open and its leases loaded.
fn probe(options: &Options, server: &mut Server, device: &SyncDevice) -> Result<(), BenchError> {
    let mut probe = Load::new(Plan {
        family: if options.v6 { Family::V6 } else { Family::V4 },
        rate: 20.0,
        clients: 1,
        duration: START_WAIT,
        renew_percent: 0,
        release_percent: 0,
        drop_after: Duration::from_millis(200),
        mac: GENERATOR_MAC,
        seed: options.seed ^ 0x5eed,
    })?;
    let answered = drive(
        &mut [Driven::new(&mut probe, Instant::now())],
        device,
        Instant::now() + START_WAIT,
        |l| {
            let second = l[0].load.counts(Exchange::Second);
            second.received > second.refused
        },
        || !server.exited(),
    )?;
    if !answered || server.exited() {
        return Err(not_answering(options, server));
    }
    Ok(())
}

fn not_answering(options: &Options, server: &Server) -> BenchError {
    BenchError::NotAnswering {
        stack: options.stack.name(),
        waited: START_WAIT,
        output: server.output(),
    }
}

/// Runs perfdhcp in `netns` and waits for it, at most its duration and half a minute more;
/// its report (standard output and error).
fn run_perfdhcp(
    netns: &str,
    cpu: Option<usize>,
    command: &Command,
    limit: Duration,
) -> Result<String, BenchError> {
    let mut child = in_namespace(netns, cpu, command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io("starting perfdhcp"))?;
    let end = Instant::now() + limit;
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child
        .wait_with_output()
        .map_err(io("reading perfdhcp's report"))?;
    Ok(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Waits for the server to grant perfdhcp a first lease (one exchange at a time).
fn probe_perfdhcp(
    options: &Options,
    server: &mut Server,
    netns: &str,
    iface: &str,
) -> Result<(), BenchError> {
    let family = if options.v6 { Family::V6 } else { Family::V4 };
    let end = Instant::now() + START_WAIT;
    while Instant::now() < end && !server.exited() {
        let c = crate::perfdhcp::command(family, 10.0, 1, 1, (0, 0), iface, &SERVER4.to_string());
        let text = run_perfdhcp(netns, None, &c, Duration::from_secs(10))?;
        let report = crate::perfdhcp::parse(&text, family, 10.0, 1.0, 1);
        if report.is_some_and(|r| r.exchanges.get(1).is_some_and(|e| e.received > 0)) {
            return Ok(());
        }
    }
    Err(not_answering(options, server))
}

/// Runs one trial at `rate` exchanges a second against a freshly started server, with the
/// generator of `options`.
pub fn trial(options: &Options, rate: f64) -> Result<Trial, BenchError> {
    let program = options.stack.program(options.v6);
    if options.stack != Stack::Reference && !installed(program) {
        return Err(BenchError::Missing(program));
    }
    if options.generator == Generator::Perfdhcp && !installed("perfdhcp") {
        return Err(BenchError::Missing("perfdhcp"));
    }
    if options.v6 && options.stack == Stack::Dnsmasq {
        return Err(BenchError::Unsupported(
            "dnsmasq answers DHCPv6 only with router advertisements, which the lab never sends"
                .into(),
        ));
    }
    let family = if options.v6 { Family::V6 } else { Family::V4 };
    let mut load = Load::new(plan(options, rate, options.duration))?;
    let mut lab = Lab::new();
    lab.add_host("bench", SERVER_MAC)?;
    let mut iface = lab.hosts()[0].tap.clone();
    let mut perfdhcp = None;
    if options.generator == Generator::Perfdhcp {
        lab.add_host("perfdhcp", GENERATOR_MAC)?;
        let (server_end, perfdhcp_end) = lab.add_link(0, 1)?;
        if !options.v6 {
            lab.hosts()[1].ip(&[
                "addr",
                "add",
                &format!("{PERFDHCP4}/15"),
                "dev",
                &perfdhcp_end,
            ])?;
        }
        iface = server_end;
        perfdhcp = Some((lab.hosts()[1].netns.clone(), perfdhcp_end));
    }
    let host = &lab.hosts()[0];
    address_server(host, &iface, options.v6)?;
    let dir = run_dir(&lab)?;
    let device = host.device();
    device
        .set_nonblocking(true)
        .map_err(io("setting the TAP device non-blocking"))?;
    let mut server = spawn_server(options, &lab, &iface, dir.path(), None)?;
    match &perfdhcp {
        None => probe(options, &mut server, &device)?,
        Some((netns, end)) => probe_perfdhcp(options, &mut server, netns, end)?,
    }
    let pid = server.pid();
    let server_ns = host.netns.clone();
    let (cpu0, rss0) = usage(pid);
    let drops0 = rcvbuf_errors(&server_ns);
    let generator_drops0 = perfdhcp.as_ref().map_or(0, |(ns, _)| rcvbuf_errors(ns));
    let report = match &perfdhcp {
        None => {
            if let Some((_, cpu)) = options.pin {
                pin_here(cpu);
            }
            let limit = options.duration + DROP_AFTER + Duration::from_secs(5);
            let start = Instant::now();
            drive(
                &mut [Driven::new(&mut load, start)],
                &device,
                start + limit,
                |_| false,
                || !server.exited(),
            )?;
            load.report(options.duration)
        }
        Some((netns, end)) => {
            let seconds = options.duration.as_secs().max(1);
            let c = crate::perfdhcp::command(
                family,
                rate,
                seconds,
                options.clients,
                (options.renew_percent, options.release_percent),
                end,
                &SERVER4.to_string(),
            );
            let text = run_perfdhcp(
                netns,
                options.pin.map(|p| p.1),
                &c,
                options.duration + Duration::from_secs(30),
            )?;
            crate::perfdhcp::parse(&text, family, rate, seconds as f64, options.clients)
                .ok_or_else(|| {
                    BenchError::Unsupported(format!("perfdhcp gave no report: {}", text.trim()))
                })?
        }
    };
    let (cpu1, rss1) = usage(pid);
    let rcvbuf_drops = rcvbuf_errors(&server_ns).saturating_sub(drops0);
    let generator_rcvbuf_drops = perfdhcp.as_ref().map_or(0, |(ns, _)| {
        rcvbuf_errors(ns).saturating_sub(generator_drops0)
    });
    if server.exited() {
        return Err(BenchError::Exited {
            stack: server.stack.name(),
            output: server.output(),
        });
    }
    drop(server);
    let leases = (report.rate_leases * report.seconds).max(1.0);
    let made = if perfdhcp.is_some() {
        leases.min(f64::from(options.clients))
    } else {
        load.leases_made().max(1) as f64
    };
    let cpu = cpu1 - cpu0;
    let server = ServerUse {
        cpu_seconds: cpu,
        cpu_percent: 100.0 * cpu / report.seconds,
        cpu_us_per_lease: 1e6 * cpu / leases,
        rss_kib: rss1,
        rss_bytes_per_lease: (rss1.saturating_sub(rss0) * 1024) as f64 / made.max(1.0),
        rcvbuf_drops,
        generator_rcvbuf_drops,
    };
    let generator_bound = report.rate_offered < 0.99 * report.rate_asked;
    Ok(Trial {
        sustained: report.sustained(DROPS_PERCENT),
        generator_bound,
        report,
        server,
    })
}
