//! TAP mode's network: every host is a network namespace holding one TAP device, and this
//! process holds every TAP's file descriptor and switches frames between them through the
//! virtual network's segment (the same fault model as virtual mode, in real time), recording
//! every frame for the run's pcap.
//!
//! Hygiene: every namespace a [`Lab`] creates is named `dhcplab-RUN-HOST` (RUN is unique to
//! the run), TAP devices `dlRUNtN`. Dropping the lab stops the switch, kills every process
//! left in its namespaces and deletes them (the TAP devices close with them). A killed run
//! leaves namespaces behind: [`clean`] removes every `dhcplab-` namespace and what runs in it.
//! An interrupted run (Ctrl-C, SIGTERM, SIGHUP) cleans up after itself when its program called
//! [`remove_on_interrupt`] first.
//! DHCP traffic never touches the default namespace: a TAP device is created there down, and
//! moved into its host's namespace before it is brought up.
//!
//! IPv6: every namespace has it on with duplicate address detection off, so a TAP device's
//! link-local address is usable as it comes up and DHCPv6 stacks start at once. The switch
//! floods every frame whose destination is a group address (the I/G bit), so a DHCPv6
//! Solicit to ff02::1:2, Ethernet 33:33:00:01:00:02, reaches every other host as a
//! broadcast does.

use dhcplab_vnet::{Faults, Segment, Sent};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::net::Ipv6Addr;
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};
use tun_rs::{DeviceBuilder, Layer};

/// A TAP device as [`Host::device`] gives it.
pub use tun_rs::SyncDevice;

/// What every namespace of a run starts with.
pub const PREFIX: &str = "dhcplab-";

/// Why the network could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    /// An `ip` command failed.
    #[error("ip {args}: {message}")]
    Ip {
        /// Its arguments.
        args: String,
        /// What it said.
        message: String,
    },
    /// The TAP device could not be created (no /dev/net/tun, or no CAP_NET_ADMIN).
    #[error("cannot create TAP device {name}: {source}")]
    Tap {
        /// The device's name.
        name: String,
        /// The error.
        source: std::io::Error,
    },
    /// The switch thread could not start.
    #[error("cannot start the switch: {0}")]
    Switch(std::io::Error),
    /// An IPv6 setting of a namespace or device could not be made.
    #[error("sysctl in {netns}: {message}")]
    Sysctl {
        /// The namespace.
        netns: String,
        /// What sysctl said.
        message: String,
    },
    /// The TAP device had no usable (non-tentative) IPv6 link-local address in time.
    #[error("{tap} in {netns} has no usable IPv6 link-local address within {LINK_LOCAL_WAIT:?}")]
    LinkLocal {
        /// The namespace.
        netns: String,
        /// The device.
        tap: String,
    },
    /// The capture could not be written.
    #[error("cannot write the capture {path}: {message}")]
    Pcap {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The signals that end a run could not be caught.
    #[error("cannot catch SIGINT, SIGTERM and SIGHUP: {0}")]
    Signals(std::io::Error),
}

/// Runs `command`; what it said on stderr (or why it did not run) when it failed.
fn run(command: &mut Command) -> Result<(), String> {
    let out = command.output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

fn ip(args: &[&str]) -> Result<(), TapError> {
    run(Command::new("ip").args(args)).map_err(|message| TapError::Ip {
        args: args.join(" "),
        message,
    })
}

/// One host: its namespace and its TAP device.
pub struct Host {
    /// The scenario's name for it.
    pub name: String,
    /// Its namespace.
    pub netns: String,
    /// Its TAP device's name, inside the namespace.
    pub tap: String,
    /// Its TAP device's link address.
    pub mac: [u8; 6],
    device: Arc<SyncDevice>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("name", &self.name)
            .field("netns", &self.netns)
            .field("tap", &self.tap)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// The IPv6 link-local address of the host's TAP device, once it is usable (not
    /// tentative); None before, or without IPv6.
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        link_local(&self.netns, &self.tap)
    }

    /// A command that runs `program` inside the host's namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.netns, program]);
        c
    }

    /// The host's TAP device, for a program that is the host's one link partner (the load
    /// generator of `dhcplab bench`) instead of the switch: frames it sends arrive at the host,
    /// frames the host sends are read from it. Not for a lab whose switch runs.
    pub fn device(&self) -> Arc<SyncDevice> {
        Arc::clone(&self.device)
    }

    /// Runs `ip -n NETNS args...`.
    pub fn ip(&self, args: &[&str]) -> Result<(), TapError> {
        let mut all = vec!["-n", self.netns.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }
}

/// A frame the switch saw.
#[derive(Debug, Clone)]
pub struct Captured {
    /// When it arrived from its host (or was injected).
    pub at: SystemTime,
    /// The port (host) it came from.
    pub from: usize,
    /// The Ethernet frame.
    pub frame: Vec<u8>,
    /// What the segment did with it.
    pub sent: Sent,
}

/// What the switch is told to do while it runs.
#[derive(Debug, Clone)]
pub enum Control {
    /// Puts a port's carrier up or down (the segment stops carrying its frames).
    Carrier(usize, bool),
    /// Cuts these ports off from the others.
    Partition(Vec<usize>),
    /// Heals the partitions of these ports, or all of them when empty.
    Heal(Vec<usize>),
    /// Sets a port's faults.
    Faults(usize, Faults),
    /// Puts a frame on the segment as if the port's host had sent it (a scripted peer).
    Inject(usize, Vec<u8>),
}

struct Running {
    orders: std::sync::mpsc::Sender<(Control, std::sync::mpsc::Sender<()>)>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The hosts of one run and the switch between them.
pub struct Lab {
    run: String,
    hosts: Vec<Host>,
    switch: Option<Running>,
    capture: Arc<Mutex<Vec<Captured>>>,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("run", &self.run)
            .field("hosts", &self.hosts)
            .finish_non_exhaustive()
    }
}

static RUNS: AtomicU32 = AtomicU32::new(0);

/// The namespaces of this process's labs that exist or are being made: what an interrupt
/// removes.
static LIVE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Held while a namespace is made, so that an interrupt removes it whole.
static MAKING: Mutex<()> = Mutex::new(());

/// Kills this process's children (stacks started in a namespace as it was being removed run
/// on in an anonymous one).
fn kill_children() {
    let me = std::process::id().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for p in procs.filter_map(Result::ok) {
        let pid = p.file_name().to_string_lossy().into_owned();
        let stat = std::fs::read_to_string(p.path().join("stat")).unwrap_or_default();
        // After the command name in parentheses: state, then the parent's pid.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1));
        if let (Some(true), Ok(pid)) = (parent.map(|p| p == me), pid.parse::<i32>()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Directories an interrupt removes too.
static LIVE_DIRS: Mutex<Vec<std::path::PathBuf>> = Mutex::new(Vec::new());

/// Makes an interrupt (see [`remove_on_interrupt`]) remove `dir` too: a run's temporary
/// directory, which its owner's drop would have removed had the run ended.
pub fn remove_dir_on_interrupt(dir: &std::path::Path) {
    if let Ok(mut l) = LIVE_DIRS.lock() {
        l.push(dir.to_path_buf());
    }
}

fn live(netns: &str, alive: bool) {
    if let Ok(mut l) = LIVE.lock() {
        l.retain(|n| n != netns);
        if alive {
            l.push(netns.to_string());
        }
    }
}

/// Set once an interrupt is being handled: from then on the run's own outcome no longer
/// counts, only the signal does.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Never returns once an interrupt is being handled ([`remove_on_interrupt`]), so that the
/// process ends with the signal's status: a run that failed because the interrupt took its
/// namespaces and stacks away must not exit with a failure of its own. Returns at once
/// otherwise.
pub fn await_interrupt() {
    while INTERRUPTED.load(Ordering::SeqCst) {
        std::thread::park();
    }
}

/// Points standard output and error at /dev/null: what the run prints while its namespaces
/// are being taken away (a server gone, a link down) is not what happened to it. Returns the
/// standard error it had, for what the interrupt itself has to say.
fn silence() -> Option<std::fs::File> {
    use std::os::fd::AsFd;
    let kept = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(std::fs::File::from);
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
    kept
}

/// Makes SIGINT, SIGTERM and SIGHUP remove this process's namespaces, with what runs in them,
/// before it exits with status 128 + the signal's number; from the signal on, the run prints
/// nothing more, and a program that ends its run meanwhile waits in [`await_interrupt`]. A
/// thread of its own waits for the signals; no signal is blocked, so the stacks a run starts
/// get theirs as usual.
pub fn remove_on_interrupt() -> Result<(), TapError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(TapError::Signals)?;
    std::thread::Builder::new()
        .name("dhcplab-interrupt".into())
        .spawn(move || {
            let Some(signal) = signals.forever().next() else {
                return;
            };
            INTERRUPTED.store(true, Ordering::SeqCst);
            let stderr = silence();
            let making = MAKING.lock();
            let names = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
            let left: Vec<&str> = names
                .iter()
                .filter(|n| !remove_namespace(n))
                .map(String::as_str)
                .collect();
            if let (false, Some(mut e)) = (left.is_empty(), stderr) {
                use std::io::Write;
                let _ = writeln!(
                    e,
                    "dhcplab: namespaces {} could not be deleted; `dhcplab clean` removes them",
                    left.join(", ")
                );
            }
            kill_children();
            for d in LIVE_DIRS.lock().map(|l| l.clone()).unwrap_or_default() {
                let _ = std::fs::remove_dir_all(d);
            }
            drop(making);
            std::process::exit(128 + signal);
        })
        .map_err(TapError::Signals)?;
    Ok(())
}

impl Lab {
    /// An empty lab with a run name unique on this machine ([`run_name`] of this process and
    /// a counter).
    pub fn new() -> Self {
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        Self {
            run: run_name(std::process::id(), n),
            hosts: Vec::new(),
            switch: None,
            capture: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The run's name, in every namespace and device it creates.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// The hosts, in the order they were added (their switch ports).
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// Adds a host: its namespace (loopback up, IPv6 on with duplicate address detection
    /// off) and a TAP device with link address `mac`, moved into it and up, its IPv6
    /// link-local address usable at once (not tentative). Returns its port on the switch.
    ///
    /// DAD off is what lets DHCPv6 stacks start at once: while the link-local address is
    /// tentative (a second or two with DAD on) kea-dhcp6 silently opens no socket and
    /// `dhclient -6` exits (../shared/realstacks.md).
    pub fn add_host(&mut self, name: &str, mac: [u8; 6]) -> Result<usize, TapError> {
        let port = self.hosts.len();
        let netns = format!("{PREFIX}{}-{name}", self.run);
        let tap = format!("dl{}t{port}", self.run);
        let making = MAKING.lock();
        live(&netns, true);
        if let Err(e) = ip(&["netns", "add", &netns]) {
            live(&netns, false);
            return Err(e);
        }
        let ns_ip = |args: &[&str]| {
            let mut all = vec!["-n", netns.as_str()];
            all.extend_from_slice(args);
            ip(&all)
        };
        let made = ns_ip(&["link", "set", "lo", "up"]).and_then(|()| {
            // Before the device comes in: a device takes its namespace's `default` settings.
            ipv6_without_dad(&netns, "default")?;
            ipv6_without_dad(&netns, "all")?;
            let device = DeviceBuilder::new()
                .name(tap.as_str())
                .layer(Layer::L2)
                .mac_addr(mac)
                .enable(false)
                .build_sync()
                .map_err(|source| TapError::Tap {
                    name: tap.clone(),
                    source,
                })?;
            ip(&["link", "set", "dev", &tap, "netns", &netns])?;
            ipv6_without_dad(&netns, &tap)?;
            ns_ip(&["link", "set", "dev", &tap, "up"])?;
            if ipv6_available() && !wait_link_local(&netns, &tap, LINK_LOCAL_WAIT) {
                return Err(TapError::LinkLocal {
                    netns: netns.clone(),
                    tap: tap.clone(),
                });
            }
            Ok(device)
        });
        match made {
            Ok(device) => {
                self.hosts.push(Host {
                    name: name.to_string(),
                    netns,
                    tap,
                    mac,
                    device: Arc::new(device),
                });
                Ok(port)
            }
            Err(e) => {
                drop(making);
                delete_namespace(&netns);
                live(&netns, false);
                Err(e)
            }
        }
    }

    /// Joins hosts `a` and `b` with a veth pair, beside their TAP devices and outside the
    /// switch: for a peer that needs a kernel interface of its own, such as perfdhcp as the
    /// load generator of `dhcplab bench`. Both ends are up, their IPv6 link-local addresses
    /// usable; they go with the namespaces. Returns the names of the ends in `a` and in `b`.
    pub fn add_link(&mut self, a: usize, b: usize) -> Result<(String, String), TapError> {
        let (Some(ha), Some(hb)) = (self.hosts.get(a), self.hosts.get(b)) else {
            return Err(TapError::Ip {
                args: format!("link between hosts {a} and {b}"),
                message: "no such host".into(),
            });
        };
        let (na, nb) = (format!("dl{}v{a}", self.run), format!("dl{}v{b}", self.run));
        ha.ip(&[
            "link", "add", &na, "type", "veth", "peer", "name", &nb, "netns", &hb.netns,
        ])?;
        for (host, dev) in [(ha, &na), (hb, &nb)] {
            ipv6_without_dad(&host.netns, dev)?;
            host.ip(&["link", "set", "dev", dev, "up"])?;
        }
        for (host, dev) in [(ha, &na), (hb, &nb)] {
            if ipv6_available() && !wait_link_local(&host.netns, dev, LINK_LOCAL_WAIT) {
                return Err(TapError::LinkLocal {
                    netns: host.netns.clone(),
                    tap: dev.clone(),
                });
            }
        }
        Ok((na, nb))
    }

    /// Starts switching frames between the hosts' TAP devices, each port with its faults,
    /// drawing from `seed`.
    pub fn start_switch(&mut self, seed: u64, faults: Vec<Faults>) -> Result<(), TapError> {
        let devices: Vec<Arc<SyncDevice>> =
            self.hosts.iter().map(|h| Arc::clone(&h.device)).collect();
        let macs: Vec<[u8; 6]> = self.hosts.iter().map(|h| h.mac).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let capture = Arc::clone(&self.capture);
        let flag = Arc::clone(&stop);
        let (orders, inbox) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("dhcplab-switch-{}", self.run))
            .spawn(move || {
                switch(
                    &Ports {
                        devices: &devices,
                        macs: &macs,
                        faults: &faults,
                    },
                    seed,
                    &flag,
                    &inbox,
                    &capture,
                );
            })
            .map_err(TapError::Switch)?;
        self.switch = Some(Running {
            orders,
            stop,
            thread: Some(thread),
        });
        Ok(())
    }

    /// Every frame the switch has seen so far, in order.
    pub fn captured(&self) -> Vec<Captured> {
        self.captured_since(0)
    }

    /// The frames the switch has seen from the `first`-th on.
    pub fn captured_since(&self, first: usize) -> Vec<Captured> {
        self.capture
            .lock()
            .map(|c| c.get(first..).map(<[Captured]>::to_vec).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Writes every frame the switch has seen so far to `path` as a pcap file (Ethernet,
    /// nanosecond timestamps, as each frame arrived): a run's capture to open in Wireshark.
    pub fn write_pcap(&self, path: &std::path::Path) -> Result<(), TapError> {
        let fail = |message: String| TapError::Pcap {
            path: path.display().to_string(),
            message,
        };
        let file = std::fs::File::create(path).map_err(|e| fail(e.to_string()))?;
        let mut w = dhcplab_capture::CaptureWriter::new(std::io::BufWriter::new(file))
            .map_err(|e| fail(e.to_string()))?;
        for c in self.captured() {
            let ns =
                c.at.duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
            w.write(ns, &c.frame).map_err(|e| fail(e.to_string()))?;
        }
        std::io::Write::flush(&mut w.into_inner()).map_err(|e| fail(e.to_string()))
    }

    /// Tells the running switch what to do and waits until it has done it (so a host that
    /// acts next, a client resumed after its carrier is back, finds it done); false when no
    /// switch runs or it did not answer within a second.
    pub fn control(&self, order: Control) -> bool {
        let (done, wait) = std::sync::mpsc::channel();
        self.switch.as_ref().is_some_and(|s| {
            s.orders.send((order, done)).is_ok()
                && wait.recv_timeout(Duration::from_secs(1)).is_ok()
        })
    }
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut s) = self.switch.take() {
            s.stop.store(true, Ordering::Relaxed);
            if let Some(t) = s.thread.take() {
                let _ = t.join();
            }
        }
        for h in &self.hosts {
            remove_namespace(&h.netns);
            live(&h.netns, false);
        }
    }
}

/// How long a new TAP device may take to get its link-local address (with DAD off it is
/// there as the device comes up).
pub const LINK_LOCAL_WAIT: Duration = Duration::from_secs(2);

/// True when the kernel has IPv6 (`ipv6.disable=1` removes `/proc/sys/net/ipv6`): without it
/// a lab still serves DHCPv4.
fn ipv6_available() -> bool {
    std::path::Path::new("/proc/sys/net/ipv6").exists()
}

/// Turns IPv6 on and duplicate address detection off for `conf` (`all`, `default` or a
/// device) in `netns`: `disable_ipv6=0`, `accept_dad=0`, `dad_transmits=0`, and no router
/// advertisements taken (`accept_ra=0`: nothing in a lab sends them, and a stray one must not
/// configure addresses outside 2001:db8::/32). Nothing to do without IPv6.
fn ipv6_without_dad(netns: &str, conf: &str) -> Result<(), TapError> {
    if !ipv6_available() {
        return Ok(());
    }
    let settings: Vec<String> = [
        "disable_ipv6=0",
        "accept_dad=0",
        "dad_transmits=0",
        "accept_ra=0",
    ]
    .iter()
    .map(|s| format!("net.ipv6.conf.{conf}.{s}"))
    .collect();
    run(Command::new("ip")
        .args(["netns", "exec", netns, "sysctl", "-qw"])
        .args(&settings))
    .map_err(|message| TapError::Sysctl {
        netns: netns.to_string(),
        message,
    })
}

/// The usable (not tentative) link-local address of `dev` in `netns`, as `ip -6 -o addr`
/// lists it.
fn link_local(netns: &str, dev: &str) -> Option<Ipv6Addr> {
    let out = Command::new("ip")
        .args([
            "-n",
            netns,
            "-6",
            "-o",
            "addr",
            "show",
            "dev",
            dev,
            "scope",
            "link",
            "-tentative",
        ])
        .output()
        .ok()?;
    parse_link_local(&String::from_utf8_lossy(&out.stdout))
}

/// The first `fe80::/10` address in `ip -6 -o addr` output.
fn parse_link_local(listing: &str) -> Option<Ipv6Addr> {
    listing
        .split_whitespace()
        .filter_map(|w| w.split('/').next()?.parse::<Ipv6Addr>().ok())
        .find(|a| a.segments()[0] & 0xffc0 == 0xfe80)
}

/// Waits at most `limit` for `dev` in `netns` to have a usable link-local address.
fn wait_link_local(netns: &str, dev: &str, limit: Duration) -> bool {
    let end = std::time::Instant::now() + limit;
    loop {
        if link_local(netns, dev).is_some() {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills every process in `netns` and deletes it: whether it is gone.
fn remove_namespace(netns: &str) -> bool {
    let pids = Command::new("ip")
        .args(["netns", "pids", netns])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for pid in pids.split_whitespace() {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
    delete_namespace(netns)
}

/// Deletes `netns`, trying again for a while when it stays: with many runs making and deleting
/// namespaces at once, `ip netns del` now and then fails (its mount busy) and left an empty
/// namespace behind (seen with 24 conformance runs side by side). It takes no lock: the
/// interrupt handler calls it holding [`MAKING`]. Whether it is gone.
fn delete_namespace(netns: &str) -> bool {
    let file = std::path::Path::new("/run/netns").join(netns);
    for attempt in 0..20u64 {
        let _ = ip(&["netns", "del", netns]);
        if !file.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20 * (attempt + 1)));
    }
    eprintln!("dhcplab: namespace {netns} could not be deleted; `dhcplab clean` removes it");
    false
}

/// The name of lab `n` of process `pid`: both in hex (the counter's last 4096 values), short
/// enough that a TAP device's name (`dl` + run + `t` + port) fits IFNAMSIZ for any process id
/// Linux gives (below 2^22) and two-digit ports.
pub fn run_name(pid: u32, n: u32) -> String {
    format!("{pid:x}r{:x}", n & 0xfff)
}

/// Removes what killed runs left: every `dhcplab-` namespace, with the processes in it.
/// Returns the namespaces removed.
pub fn clean() -> Vec<String> {
    let list = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(PREFIX))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for ns in &list {
        remove_namespace(ns);
    }
    list
}

/// The longest a frame may be (jumbo frames are not switched).
const MAX_FRAME: usize = 9216;
/// How long the switch sleeps at most between checks of its stop flag.
const TICK: Duration = Duration::from_millis(20);

/// The switch's ports: each host's TAP device, link address and first faults.
struct Ports<'a> {
    devices: &'a [Arc<SyncDevice>],
    macs: &'a [[u8; 6]],
    faults: &'a [Faults],
}

/// Puts a frame on the segment and records it.
fn carry(segment: &mut Segment, capture: &Mutex<Vec<Captured>>, from: usize, frame: Vec<u8>) {
    let at = SystemTime::now();
    let sent = segment.transmit(at, from, frame.clone());
    if let Ok(mut c) = capture.lock() {
        c.push(Captured {
            at,
            from,
            frame,
            sent,
        });
    }
}

/// The switch loop: carry out orders, deliver frames that are due, wait for frames from any
/// TAP (or the next delivery, or the tick), feed what arrives to the segment.
fn switch(
    ports: &Ports<'_>,
    seed: u64,
    stop: &AtomicBool,
    inbox: &std::sync::mpsc::Receiver<(Control, std::sync::mpsc::Sender<()>)>,
    capture: &Mutex<Vec<Captured>>,
) {
    let devices = ports.devices;
    let mut segment = Segment::new(seed);
    for (k, mac) in ports.macs.iter().enumerate() {
        segment.attach(*mac, ports.faults.get(k).copied().unwrap_or_default());
    }
    let mut buf = vec![0u8; MAX_FRAME];
    while !stop.load(Ordering::Relaxed) {
        while let Ok((order, done)) = inbox.try_recv() {
            match order {
                Control::Carrier(p, up) => segment.set_carrier(p, up),
                Control::Partition(ps) => segment.partition(&ps),
                Control::Heal(ps) if ps.is_empty() => segment.heal_all(),
                Control::Heal(ps) => segment.heal(&ps),
                Control::Faults(p, f) => segment.set_faults(p, f),
                Control::Inject(p, frame) => carry(&mut segment, capture, p, frame),
            }
            let _ = done.send(());
        }
        let now = SystemTime::now();
        while let Some(d) = segment.poll_delivery(now) {
            if let Some(dev) = devices.get(d.port) {
                let _ = dev.send(&d.frame);
            }
        }
        let wait = segment.poll_timeout().map_or(TICK, |t| {
            t.duration_since(now).unwrap_or_default().min(TICK)
        });
        let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        let mut fds: Vec<PollFd<'_>> = devices
            .iter()
            .map(|d| PollFd::new(d.as_fd(), PollFlags::POLLIN))
            .collect();
        if poll(&mut fds, PollTimeout::from(ms)).is_err() {
            continue;
        }
        let ready: Vec<usize> = fds
            .iter()
            .enumerate()
            .filter(|(_, f)| f.revents().is_some_and(|r| r.contains(PollFlags::POLLIN)))
            .map(|(k, _)| k)
            .collect();
        drop(fds);
        for port in ready {
            let Ok(n) = devices[port].recv(&mut buf) else {
                continue;
            };
            carry(&mut segment, capture, port, buf[..n].to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_differ_within_a_process_and_fit_device_names() {
        let a = Lab::new();
        let b = Lab::new();
        assert_ne!(a.run(), b.run());
        assert_eq!(run_name(0x1234, 5), "1234r5");
        assert_ne!(run_name(0x1234, 0x10), run_name(0x1235, 0));
        let longest = run_name((1 << 22) - 1, 0xfff);
        let device = format!("dl{longest}t{}", 99);
        assert!(device.len() <= 15, "{device}");
    }

    #[test]
    fn the_link_local_address_is_read_from_ip_addr_output() {
        let listing = "7: dl1r0t1    inet6 fe80::ff:fe00:5302/64 scope link \\       valid_lft forever preferred_lft forever\n";
        assert_eq!(
            parse_link_local(listing),
            Some("fe80::ff:fe00:5302".parse().expect("address"))
        );
        let global = "7: dl1r0t1    inet6 2001:db8:1::1/64 scope global \\       valid_lft forever preferred_lft forever\n";
        assert_eq!(parse_link_local(global), None);
        assert_eq!(parse_link_local(""), None);
    }
}
