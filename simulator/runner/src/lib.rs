//! Plays a scenario's steps on a network of hosts and checks its expectations: waits, actions
//! (start, stop, carrier, suspend, release, partitions, faults, crafted messages) and
//! expectations (messages in a window, nothing within a time, client events and state, server
//! leases). The network is anything that implements [`Network`]: virtual mode's hosts in
//! virtual time, or TAP mode's real stacks in real time; the steps and their checks are the same.

pub mod hookfiles;
pub mod invariant;
mod matcher;

pub use matcher::{Payload, Seen, check, kind_of, passes, show, value};

use dhcplab_client::HostEvent;
use dhcplab_memfile::{Lease4, Lease6};
use dhcplab_scenario::{
    Act, AddrRef, Expect, Filter, LeaseOf, LeaseState, PrefixRef, Scenario, ServerConfig, Step, To,
    What, When, format_duration,
};
use dhcplab_timeline::{Entry, Fate, Timeline};
use dhcplab_vnet::{Faults, Sent};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, SystemTime};

/// A client's state and what it holds, as a [`Network`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientView {
    /// Its state as scenarios name it (`bound`, `init-reboot`, `stopped`; for DHCPv6
    /// `soliciting`, `confirming`, ...).
    pub state: String,
    /// The IPv4 address on its interface (a DHCPv4 client).
    pub address: Option<Ipv4Addr>,
    /// The addresses of its IA_NAs (a DHCPv6 client).
    pub addresses6: Vec<Ipv6Addr>,
    /// The prefixes delegated to it in its IA_PDs (a DHCPv6 client).
    pub prefixes: Vec<(Ipv6Addr, u8)>,
}

/// What a lease expectation asks a server about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseKey {
    /// The lease of an address: an IPv4 lease, or a DHCPv6 IA_NA lease.
    Address(IpAddr),
    /// The lease of a delegated prefix (a DHCPv6 IA_PD lease).
    Prefix(Ipv6Addr, u8),
}

/// A server's lease row of either version.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaseRecord {
    /// A DHCPv4 lease (Kea's lease4 CSV row).
    V4(Lease4),
    /// A DHCPv6 lease (Kea's lease6 CSV row).
    V6(Lease6),
}

/// What the runner reads of a lease row of either version: Kea's state and expiry, which
/// lease4 and lease6 CSV rows share.
pub trait LeaseRow {
    /// Its state field (`STATE_DEFAULT`, `STATE_DECLINED`, `STATE_EXPIRED_RECLAIMED`).
    fn state(&self) -> u32;
    /// When it expires, in seconds since 1970.
    fn expire(&self) -> u64;
}

impl<T: LeaseRow + ?Sized> LeaseRow for &T {
    fn state(&self) -> u32 {
        (**self).state()
    }
    fn expire(&self) -> u64 {
        (**self).expire()
    }
}

impl LeaseRow for Lease4 {
    fn state(&self) -> u32 {
        self.state
    }
    fn expire(&self) -> u64 {
        self.expire
    }
}

impl LeaseRow for Lease6 {
    fn state(&self) -> u32 {
        self.state
    }
    fn expire(&self) -> u64 {
        self.expire
    }
}

impl LeaseRow for LeaseRecord {
    fn state(&self) -> u32 {
        match self {
            LeaseRecord::V4(l) => l.state,
            LeaseRecord::V6(l) => l.state,
        }
    }
    fn expire(&self) -> u64 {
        match self {
            LeaseRecord::V4(l) => l.expire,
            LeaseRecord::V6(l) => l.expire,
        }
    }
}

impl LeaseRecord {
    /// Whether it belongs to the host with link address `mac`: by the lease's hardware
    /// address, or (DHCPv6) by a DUID-LL or DUID-LLT made from that address, which ends with
    /// it (RFC 8415 11.2, 11.4).
    pub fn belongs_to(&self, mac: [u8; 6]) -> bool {
        match self {
            LeaseRecord::V4(l) => l.hwaddr == mac,
            LeaseRecord::V6(l) => {
                l.hwaddr.as_ref().is_some_and(|h| h.bytes == mac)
                    || (l.duid.len() >= 10
                        && matches!(l.duid.get(..2), Some([0, 1] | [0, 3]))
                        && l.duid.ends_with(&mac))
            }
        }
    }
}

/// The longest run: a step later than this fails the scenario.
pub const MAX_VIRTUAL_TIME: Duration = dhcplab_scenario::MAX_DURATION;

/// What the runner needs of a network to play a scenario on it. Hosts are numbered in the
/// scenario's order.
pub trait Network {
    /// Time zero of the run.
    fn start(&self) -> SystemTime;
    /// The run's clock now.
    fn now(&self) -> SystemTime;
    /// Lets the hosts run until `target`, or until `done`, given the message log, holds after
    /// an instant; the clock ends at `target` in the first case and at that instant in the
    /// second. Returns true when `done` held.
    fn run_until(&mut self, target: SystemTime, done: &mut dyn FnMut(&[Seen]) -> bool) -> bool;
    /// The DHCP messages seen so far, in order.
    fn log(&self) -> &[Seen];
    /// The record of the run, where the runner adds its actions and checks.
    fn timeline(&mut self) -> &mut Timeline;
    /// The first invariant that broke (two clients on one address), if one did.
    fn violation(&self) -> Option<String>;
    /// Why the run cannot go on, if it got stuck (hosts working without time passing, or
    /// working too long; in real time, a process that could not be started or restarted).
    fn stuck(&self) -> Option<String>;
    /// The index of the host named `name`.
    fn index(&self, name: &str) -> Option<usize>;
    /// Host `i`'s link address.
    fn mac(&self, i: usize) -> [u8; 6];
    /// The address host `i` answers for, as other hosts would find it with ARP.
    fn address_of(&self, i: usize) -> Option<Ipv4Addr>;
    /// Starts a stopped host.
    fn start_host(&mut self, i: usize) -> Result<(), String>;
    /// Stops a host: `graceful` lets a client drop its lease as dhcpagent does on SIGTERM.
    fn stop_host(&mut self, i: usize, graceful: bool);
    /// Puts host `i`'s carrier up or down.
    fn carrier(&mut self, i: usize, up: bool);
    /// Suspends or resumes host `i`.
    fn suspend(&mut self, i: usize, suspended: bool);
    /// Tells client `i` to release, drop or inform.
    fn host_event(&mut self, i: usize, event: HostEvent) -> Result<(), String>;
    /// Cuts the hosts `hosts` off from the others.
    fn partition(&mut self, hosts: &[usize]);
    /// Heals the partitions of `hosts`, or every partition when it is empty.
    fn heal(&mut self, hosts: &[usize]);
    /// Sets the faults of host `i`'s link.
    fn set_faults(&mut self, i: usize, faults: Faults);
    /// Puts a crafted datagram from host `i` on the link (UDP over IPv4 or IPv6, as the
    /// addresses are).
    fn inject(
        &mut self,
        i: usize,
        dst_mac: [u8; 6],
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    );
    /// Gives server `i` a new configuration.
    fn reconfigure(&mut self, i: usize, config: &ServerConfig) -> Result<(), String>;
    /// The events client `i` has run its event program for, in order.
    fn events(&self, i: usize) -> Vec<String>;
    /// Client `i`'s state as scenarios name it (`bound`, `init-reboot`, `stopped`) and what
    /// it holds; none when host `i` is not a client.
    fn client(&self, i: usize) -> Option<ClientView>;
    /// The state of server `i`'s lease of an address or a delegated prefix now, with the
    /// lease.
    fn lease_state(
        &self,
        i: usize,
        of: LeaseKey,
    ) -> Result<(LeaseState, Option<LeaseRecord>), String>;
    /// How many active leases server `i` holds now (of its DHCP version: a DHCPv6 server
    /// counts its IA_NA and IA_PD leases).
    fn active_leases(&self, i: usize) -> Result<u64, String>;
    /// The calls server `i`'s trace hook library wrote to `${trace}`, in order, each as
    /// `LIBRARY HOOK`.
    fn hook_calls(&self, i: usize) -> Result<Vec<String>, String>;
    /// Sends server `i` a control command: its answer.
    fn command(&mut self, i: usize, command: &str) -> Result<serde_json::Value, String>;
    /// Server `i`'s HA state, by Kea's name (`status-get`'s local state).
    fn ha_state(&self, i: usize) -> Result<String, String>;
    /// The runs of server `i`'s run-script hook, in order.
    fn script_runs(&self, i: usize) -> Result<Vec<hookfiles::ScriptRun>, String>;
    /// How long a state expectation (events, client, lease, leases) may take to hold: zero in
    /// virtual time; in real time, what a host's own waits take (the reference agent probes
    /// an address with ARP for a second before it binds; virtual mode answers at once).
    fn settle(&self) -> Duration {
        Duration::ZERO
    }
    /// How far real processes may be off what a step's times say: zero in virtual time; in
    /// real time, what processes and the switch take to react, and what the runner's own
    /// actions and polling take. A message window is widened by it at both ends (messages
    /// already matched never match again), and a step may start that late.
    fn slack(&self) -> Duration {
        Duration::ZERO
    }
    /// How long before its time a state expectation (events, client, lease, leases) may
    /// already hold: zero in virtual time; in real time, servers keep lease times in whole
    /// seconds and run their reclaim timers from their own start, so a lease may change state
    /// up to a second before the scenario's clock says.
    fn lookback(&self) -> Duration {
        Duration::ZERO
    }
    /// What its clock is, for reports: `virtual time` or `real time`.
    fn clock_kind(&self) -> &'static str {
        "virtual time"
    }
}

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every expectation held.
    Passed,
    /// An expectation failed, or an invariant broke.
    Failed,
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Passed or failed.
    pub status: Status,
    /// Why it failed (step, line, expected, seen), or a one-line summary when it passed.
    pub message: String,
    /// Time the run covered.
    pub covered: Duration,
    /// Steps carried out.
    pub steps_done: usize,
    /// The index of the step that failed, or after which an invariant broke.
    pub failed_step: Option<usize>,
    /// Everything that happened.
    pub timeline: Timeline,
}

/// A client state as scenarios name it (`init-reboot`), from its Rust name (`InitReboot`).
pub fn state_name(debug: &str) -> String {
    let mut out = String::new();
    for (k, ch) in debug.chars().enumerate() {
        if ch.is_uppercase() && k > 0 {
            out.push('-');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

/// What became of a frame sent at `now`, per receiving host, as the timeline records it:
/// none when it never left.
pub fn fates(sent: &Sent, now: SystemTime) -> Vec<(usize, Fate)> {
    match sent {
        Sent::NoCarrier | Sent::NoSuchHost => Vec::new(),
        Sent::Left(f) => f
            .iter()
            .map(|(p, fate)| {
                let fate = match fate {
                    dhcplab_vnet::Fate::Arrives(t) => {
                        Fate::Arrived(t.duration_since(now).unwrap_or_default())
                    }
                    dhcplab_vnet::Fate::Duplicated(_) => Fate::Duplicated,
                    dhcplab_vnet::Fate::Lost => Fate::Lost,
                    dhcplab_vnet::Fate::Partitioned => Fate::Partitioned,
                    dhcplab_vnet::Fate::NoCarrier => Fate::NoCarrier,
                };
                (*p, fate)
            })
            .collect(),
    }
}

/// The state of a server's lease (none: no lease) at `now`, in seconds since 1970 as lease
/// expiries count, with the lease. Both versions keep Kea's states (lease4 and lease6 CSV
/// share them).
pub fn lease_state(lease: Option<LeaseRecord>, now: u64) -> (LeaseState, Option<LeaseRecord>) {
    use dhcplab_memfile::{STATE_DECLINED, STATE_EXPIRED_RECLAIMED};
    match lease {
        None => (LeaseState::Absent, None),
        Some(l) => {
            let st = match l.state() {
                STATE_DECLINED => LeaseState::Declined,
                STATE_EXPIRED_RECLAIMED => LeaseState::Reclaimed,
                _ if l.expire() <= now => LeaseState::Expired,
                _ => LeaseState::Active,
            };
            (st, Some(l))
        }
    }
}

/// True when `lease` is in force at `now` (seconds since 1970): what a leases expectation
/// counts.
pub fn in_force(lease: &impl LeaseRow, now: u64) -> bool {
    lease.state() == dhcplab_memfile::STATE_DEFAULT && lease.expire() > now
}

/// Time since the start of the run.
fn offset<N: Network>(net: &N) -> Duration {
    net.now().duration_since(net.start()).unwrap_or_default()
}

/// Plays `scenario`'s steps on `net`, which holds its hosts; stops at the first step that
/// fails, after which an invariant broke, or where the network got stuck.
pub fn play<N: Network>(scenario: &Scenario, net: &mut N) -> Outcome {
    let step_end = net.start();
    let mut r = Runner {
        net,
        vars: BTreeMap::new(),
        hooks_seen: BTreeMap::new(),
        scripts_seen: BTreeMap::new(),
        cursor: 0,
        step_end,
        scheduled_end: step_end,
        matched_at: None,
        acted_at: step_end,
        just_acted: false,
        right_after_action: false,
    };
    let mut failure = None;
    let mut done = 0;
    for (n, step) in scenario.steps.iter().enumerate() {
        if let Err(why) = r.step(step) {
            let why = r.net.stuck().unwrap_or(why);
            let text = format!("step {} (line {}): {why}", n + 1, step.place.line);
            let now = r.net.now();
            r.net.timeline().push(
                now,
                Entry::Check {
                    passed: false,
                    text: text.clone(),
                },
            );
            failure = Some((n, text));
            break;
        }
        done += 1;
        if let Some(v) = r.net.violation() {
            failure = Some((
                n,
                format!("after step {} (line {}): {v}", n + 1, step.place.line),
            ));
            break;
        }
        if let Some(s) = r.net.stuck() {
            failure = Some((n, s));
            break;
        }
    }
    let covered = offset(r.net);
    let failed_step = failure.as_ref().map(|(n, _)| *n);
    let start = r.net.start();
    let clock_kind = r.net.clock_kind();
    let timeline = std::mem::replace(r.net.timeline(), Timeline::new(start, Vec::new(), false));
    let (status, message) = match failure {
        Some((_, f)) => (Status::Failed, f),
        None => (
            Status::Passed,
            format!(
                "{} steps, {} frames, {} {}",
                done,
                timeline.frames_seen,
                format_duration(covered),
                clock_kind
            ),
        ),
    };
    Outcome {
        status,
        message,
        covered,
        steps_done: done,
        failed_step,
        timeline,
    }
}

struct Runner<'a, N: Network> {
    net: &'a mut N,
    vars: BTreeMap<String, Vec<u8>>,
    /// Per server: trace calls and script runs earlier checks matched.
    hooks_seen: BTreeMap<usize, usize>,
    scripts_seen: BTreeMap<usize, usize>,
    /// Messages before this index in the log have been matched past.
    cursor: usize,
    /// When the step before ended.
    step_end: SystemTime,
    /// When the step before ended as the scenario tells it: its action or state check at
    /// its own time, however long real time took to carry it out. A lower bound counts from
    /// here, so that the runner's own slowness never makes a message early.
    scheduled_end: SystemTime,
    /// When the message the current step matched was sent.
    matched_at: Option<SystemTime>,
    /// When the last action began.
    acted_at: SystemTime,
    /// The step before was an action: what follows it at once counts from when it began.
    just_acted: bool,
    /// The current step follows an action at once.
    right_after_action: bool,
}

impl<N: Network> Runner<'_, N> {
    fn step(&mut self, step: &Step) -> Result<(), String> {
        let (t, scheduled) = match step.when {
            When::Now => (self.step_end, self.scheduled_end),
            When::At(d) => (self.net.start() + d, self.net.start() + d),
            When::After(d) => (self.step_end + d, self.scheduled_end + d),
        };
        let end = |e: Option<Duration>| e.unwrap_or_default() > MAX_VIRTUAL_TIME;
        let window = match &step.what {
            What::Expect(Expect::Message { window, .. }) => window.within,
            What::Expect(Expect::Nothing { within, .. }) => *within,
            _ => Duration::ZERO,
        };
        if end(t.duration_since(self.net.start()).ok().map(|d| d + window)) {
            return Err(format!(
                "the step reaches past {}, the longest run virtual mode makes",
                format_duration(MAX_VIRTUAL_TIME)
            ));
        }
        // A step at a time since the start is out of order when that time has passed (real
        // time allows its slack, and what the step before spent settling); a step after
        // the one before never is.
        if matches!(step.when, When::At(_))
            && t + self.net.slack() + self.net.settle() < self.net.now()
        {
            return Err(format!(
                "at {} is in the past: the run is already at {}",
                format_duration(t.duration_since(self.net.start()).unwrap_or_default()),
                format_duration(offset(self.net))
            ));
        }
        let state_check = matches!(
            &step.what,
            What::Expect(e) if !matches!(e, Expect::Message { .. } | Expect::Nothing { .. })
        );
        // Lease files and timers may run ahead of the scenario's clock; what hooks did is
        // judged at the step's time, so that "nothing ran" is not judged before it could.
        let counts_calls = matches!(
            &step.what,
            What::Expect(
                Expect::HookCalls { .. } | Expect::Scripts { .. } | Expect::HaState { .. }
            )
        );
        let from = if state_check && !counts_calls {
            t.checked_sub(self.net.lookback()).unwrap_or(t)
        } else {
            t
        };
        self.net.run_until(from, &mut |_| false);
        if let Some(note) = &step.note {
            self.net.timeline().push(
                t,
                Entry::Action {
                    hosts: Vec::new(),
                    text: note.clone(),
                },
            );
        }
        // A step ends when its action was carried out (messages it causes count from when it
        // began), at its state check's time, or when the message it waited for came: in
        // virtual time that is the clock after it; in real time the clock has moved on by what
        // the settling or the polling took, and a quick answer may already be in.
        let began = self.net.now();
        self.matched_at = None;
        self.right_after_action = self.just_acted && matches!(step.when, When::Now);
        match &step.what {
            What::Wait => {}
            What::Act(a) => self.act(a)?,
            What::Expect(e) => match self.expect(e, t, scheduled) {
                Err(why) if matches!(e, Expect::Message { optional: true, .. }) => {
                    let now = self.net.now();
                    self.net.timeline().push(
                        now,
                        Entry::Action {
                            hosts: Vec::new(),
                            text: format!("optional, went on: {why}"),
                        },
                    );
                }
                other => other?,
            },
        }
        self.step_end = match (&step.what, self.matched_at) {
            (What::Act(_), _) => {
                self.acted_at = began;
                self.net.now()
            }
            (_, Some(at)) => at,
            (What::Expect(Expect::Message { .. } | Expect::Nothing { .. }) | What::Wait, None) => {
                self.net.now()
            }
            // A state check takes no time of its own (in real time it may wait to settle).
            (What::Expect(_), None) => began.max(t),
        };
        let closed = match &step.what {
            What::Expect(Expect::Message { window, .. }) => scheduled + window.within,
            What::Expect(Expect::Nothing { within, .. }) => scheduled + *within,
            _ => scheduled,
        };
        self.scheduled_end = self.matched_at.unwrap_or(closed).min(self.step_end);
        self.just_acted = matches!(step.what, What::Act(_));
        Ok(())
    }

    fn index(&self, name: &str) -> Result<usize, String> {
        self.net
            .index(name)
            .ok_or_else(|| format!("no host {name:?}"))
    }

    fn indices(&self, names: &[String]) -> Result<Vec<usize>, String> {
        names.iter().map(|n| self.index(n)).collect()
    }

    fn action(&mut self, hosts: &[usize], text: String) {
        let now = self.net.now();
        self.net.timeline().push(
            now,
            Entry::Action {
                hosts: hosts.to_vec(),
                text,
            },
        );
    }

    fn act(&mut self, a: &Act) -> Result<(), String> {
        match a {
            Act::Start(h) | Act::Stop(h) | Act::Kill(h) | Act::Restart(h) => {
                let ids = self.indices(h)?;
                let verb = match a {
                    Act::Start(_) => "start",
                    Act::Stop(_) => "stop",
                    Act::Kill(_) => "kill",
                    _ => "restart",
                };
                self.action(&ids, format!("{verb} {}", h.join(", ")));
                for i in ids {
                    match a {
                        Act::Start(_) => self.net.start_host(i)?,
                        Act::Stop(_) => self.net.stop_host(i, true),
                        Act::Kill(_) => self.net.stop_host(i, false),
                        _ => {
                            self.net.stop_host(i, true);
                            self.net.start_host(i)?;
                        }
                    }
                }
            }
            Act::LinkDown(h) | Act::LinkUp(h) => {
                let up = matches!(a, Act::LinkUp(_));
                let ids = self.indices(h)?;
                self.action(
                    &ids,
                    format!("link {} {}", if up { "up" } else { "down" }, h.join(", ")),
                );
                for i in ids {
                    self.net.carrier(i, up);
                }
            }
            Act::Suspend(h) | Act::Resume(h) => {
                let suspend = matches!(a, Act::Suspend(_));
                let ids = self.indices(h)?;
                self.action(
                    &ids,
                    format!(
                        "{} {}",
                        if suspend { "suspend" } else { "resume" },
                        h.join(", ")
                    ),
                );
                for i in ids {
                    self.net.suspend(i, suspend);
                }
            }
            Act::Release(h) | Act::Drop(h) => {
                let release = matches!(a, Act::Release(_));
                let ids = self.indices(h)?;
                self.action(
                    &ids,
                    format!(
                        "{} {}",
                        if release { "release" } else { "drop" },
                        h.join(", ")
                    ),
                );
                for i in ids {
                    self.net.host_event(
                        i,
                        if release {
                            HostEvent::Release
                        } else {
                            HostEvent::Drop
                        },
                    )?;
                }
            }
            Act::Inform { host, address } => {
                let i = self.index(host)?;
                self.action(&[i], format!("inform {host} {address}"));
                self.net.host_event(i, HostEvent::Inform(*address))?;
            }
            Act::Partition(h) => {
                let ids = self.indices(h)?;
                self.action(&ids, format!("partition {}", h.join(" | ")));
                self.net.partition(&ids);
            }
            Act::Heal(h) => {
                let ids = self.indices(h)?;
                if ids.is_empty() {
                    self.action(&[], "heal every partition".into());
                    self.net.heal(&[]);
                } else {
                    self.action(&ids, format!("heal {}", h.join(", ")));
                    self.net.heal(&ids);
                }
            }
            Act::Faults { hosts, faults } => {
                let ids = self.indices(hosts)?;
                self.action(&ids, format!("faults on {}: {faults}", hosts.join(", ")));
                for i in ids {
                    self.net.set_faults(i, *faults);
                }
            }
            Act::Send(s) => {
                let i = self.index(&s.from)?;
                let (dst_mac, dst_ip) = match &s.to {
                    To::Broadcast => (dhcplab_frame::BROADCAST_MAC, Ipv4Addr::BROADCAST),
                    To::Host(h) => {
                        let j = self.index(h)?;
                        let ip = self.net.address_of(j).unwrap_or(Ipv4Addr::BROADCAST);
                        (self.net.mac(j), ip)
                    }
                };
                let w = &mut *self.net;
                let (sport, dport) = if s.request { (68, 67) } else { (67, 68) };
                let src = s.src.unwrap_or_else(|| {
                    SocketAddrV4::new(w.address_of(i).unwrap_or(Ipv4Addr::UNSPECIFIED), sport)
                });
                let dst = s.dst.unwrap_or_else(|| SocketAddrV4::new(dst_ip, dport));
                let mut payload = s.payload.clone();
                for (at, var) in &s.vars {
                    let bytes = self
                        .vars
                        .get(var)
                        .ok_or_else(|| format!("${var} was never captured"))?;
                    let fits = match *at {
                        dhcplab_scenario::XID_OFFSET => bytes.len() == 4,
                        _ => bytes.len() <= 16,
                    };
                    match payload.get_mut(*at..*at + bytes.len()) {
                        Some(field) if fits => field.copy_from_slice(bytes),
                        _ => {
                            return Err(format!(
                                "${var} ({} bytes) does not fit the field at byte {at} of the message",
                                bytes.len()
                            ));
                        }
                    }
                }
                fits_udp(&payload, MAX_UDP4)?;
                self.net.inject(
                    i,
                    dst_mac,
                    SocketAddr::V4(src),
                    SocketAddr::V4(dst),
                    &payload,
                );
            }
            Act::Send6(s) => {
                let i = self.index(&s.from)?;
                let dst_mac = match &s.to {
                    To::Host(h) => self.net.mac(self.index(h)?),
                    To::Broadcast => dhcplab_scenario::v6::multicast_mac(*s.dst.ip()),
                };
                let payload = s.message.encode(&self.vars)?;
                fits_udp(&payload, MAX_UDP6)?;
                self.net.inject(
                    i,
                    dst_mac,
                    SocketAddr::V6(s.src),
                    SocketAddr::V6(s.dst),
                    &payload,
                );
            }
            Act::Command {
                host,
                command,
                result,
            } => {
                let i = self.index(host)?;
                self.action(&[i], format!("{host}: {command}"));
                let answer = self.net.command(i, command)?;
                let got = answer.get("result").and_then(serde_json::Value::as_i64);
                if got != Some(*result) {
                    return Err(format!(
                        "{host} answered {answer}, expected result {result}"
                    ));
                }
                self.pass(format!("{host} answered: {answer}"));
            }
            Act::Reconfigure {
                host,
                config,
                refused,
            } => {
                let i = self.index(host)?;
                self.action(&[i], format!("reconfigure {host}"));
                match (self.net.reconfigure(i, config), refused) {
                    (Ok(()), false) => {}
                    (Err(e), false) => return Err(format!("reconfigure {host}: {e}")),
                    (Ok(()), true) => {
                        return Err(format!(
                            "reconfigure {host}: expected the server to refuse the configuration, it took it"
                        ));
                    }
                    (Err(e), true) => self.pass(format!("{host} refused the configuration: {e}")),
                }
            }
        }
        Ok(())
    }

    /// Why `run` lacks a variable `check` asks for, if it does.
    fn env_faults(
        &self,
        check: &dhcplab_scenario::ScriptCheck,
        run: &hookfiles::ScriptRun,
    ) -> Result<(), String> {
        for (name, value) in &check.env {
            let want = self.env_value(value)?;
            let got = run.env.iter().find(|(k, _)| k == name).map(|(_, v)| v);
            if got != Some(&want) {
                return Err(format!(
                    "expected {name}={want} in the {} run of the script, got {}",
                    run.hook,
                    got.map_or("no such variable".to_string(), |v| format!("{name}={v}"))
                ));
            }
        }
        Ok(())
    }

    /// A script expectation's value: the text, or a captured value written as Kea writes
    /// it (an address dotted, anything else as colon hex).
    fn env_value(&self, value: &str) -> Result<String, String> {
        let Some(var) = value.strip_prefix('$') else {
            return Ok(value.to_string());
        };
        let bytes = self
            .vars
            .get(var)
            .ok_or_else(|| format!("${var} was never captured"))?;
        Ok(match address_of(bytes) {
            Some(a) => a.to_string(),
            None => dhcplab_wire::v4::Hex(bytes).to_string(),
        })
    }

    fn addr(&self, a: &AddrRef) -> Result<IpAddr, String> {
        match a {
            AddrRef::Literal(a) => Ok(*a),
            AddrRef::Var(v) => match self.vars.get(v).map(|b| address_of(b)) {
                Some(Some(a)) => Ok(a),
                Some(None) => Err(format!("${v} is not an address")),
                None => Err(format!("${v} was never captured")),
            },
        }
    }

    /// A prefix written out or captured (`ia-pd.iaprefix`: its length, then 16 bytes).
    fn prefix(&self, p: &PrefixRef) -> Result<(Ipv6Addr, u8), String> {
        match p {
            PrefixRef::Literal(a, len) => Ok((*a, *len)),
            PrefixRef::Var(v) => match self.vars.get(v).map(|b| b.split_first()) {
                Some(Some((len, rest))) if *len <= 128 => match <[u8; 16]>::try_from(rest) {
                    Ok(a) => Ok((Ipv6Addr::from(a), *len)),
                    Err(_) => Err(format!("${v} is not a prefix")),
                },
                Some(_) => Err(format!("${v} is not a prefix")),
                None => Err(format!("${v} was never captured")),
            },
        }
    }

    fn pass(&mut self, text: String) {
        let now = self.net.now();
        self.net
            .timeline()
            .push(now, Entry::Check { passed: true, text });
    }

    /// Checks expectation `e` of the step at `t`, which the scenario puts at `scheduled`
    /// (earlier in real time, when actions before it took a while).
    fn expect(&mut self, e: &Expect, t: SystemTime, scheduled: SystemTime) -> Result<(), String> {
        let start = self.net.start();
        let at_ns = |s: SystemTime| s.duration_since(start).unwrap_or_default().as_nanos();
        match e {
            Expect::Message {
                filter,
                window,
                checks,
                capture,
                optional: _,
            } => {
                let slack = self.net.slack();
                // Never before the last action began: what came earlier is not its effect; right
                // after an action, from when it began (in real time it takes a while).
                let from = if self.right_after_action {
                    at_ns(self.acted_at)
                } else {
                    at_ns(t.checked_sub(slack).unwrap_or(t).max(self.acted_at.min(t)))
                };
                let earliest = at_ns(
                    (scheduled + window.not_before)
                        .checked_sub(slack)
                        .unwrap_or(scheduled),
                );
                let deadline = t + window.within + slack;
                let what = describe_filter(filter);
                let mut scan = self.cursor;
                let mut near_misses: Vec<String> = Vec::new();
                let mut found = None;
                let vars = self.vars.clone();
                self.net.run_until(deadline, &mut |log| {
                    while scan < log.len() {
                        let s = &log[scan];
                        scan += 1;
                        if s.at_ns < from || !passes(filter, s) {
                            continue;
                        }
                        let faults: Vec<String> =
                            checks.iter().filter_map(|c| check(s, c, &vars)).collect();
                        if faults.is_empty() {
                            found = Some(scan - 1);
                            return true;
                        }
                        if near_misses.len() < 3 {
                            near_misses.push(format!(
                                "{} at {}: {}",
                                s.message.describe(),
                                clock(s.at_ns),
                                faults.join("; ")
                            ));
                        }
                    }
                    false
                });
                let Some(k) = found else {
                    let seen = if near_misses.is_empty() {
                        "none came".to_string()
                    } else {
                        format!("saw {}", near_misses.join(" | "))
                    };
                    return Err(format!(
                        "expected {what} within {} of {}: {seen}",
                        format_duration(window.within),
                        clock(from)
                    ));
                };
                let s = self.net.log()[k].clone();
                // Real time may run behind: what the capture holds can be later than the
                // window, and is then too late.
                if s.at_ns > at_ns(deadline) {
                    return Err(format!(
                        "expected {what} within {} of {}, but it came at {}, after the window",
                        format_duration(window.within),
                        clock(from),
                        clock(s.at_ns)
                    ));
                }
                if s.at_ns < earliest {
                    return Err(format!(
                        "expected {what} no earlier than {} after {}, but it came at {}",
                        format_duration(window.not_before),
                        clock(at_ns(scheduled)),
                        clock(s.at_ns)
                    ));
                }
                for (var, target) in capture {
                    match value(&s, *target) {
                        Some(v) => {
                            self.vars.insert(var.clone(), v);
                        }
                        None => {
                            return Err(format!("capture {var}: {target} is absent in the {what}"));
                        }
                    }
                }
                self.cursor = k + 1;
                self.matched_at = Some(
                    self.net.start()
                        + Duration::from_nanos(u64::try_from(s.at_ns).unwrap_or(u64::MAX)),
                );
                self.pass(format!(
                    "{what}: {} at {}",
                    s.message.describe(),
                    clock(s.at_ns)
                ));
                Ok(())
            }
            Expect::Nothing { filter, within } => {
                // Right after an action, from when it began: an answer can come before the
                // action is done (real time: the switch acknowledges an injected frame late).
                let from = if self.right_after_action {
                    at_ns(self.acted_at)
                } else {
                    at_ns(t)
                };
                let until = at_ns(t + *within);
                let what = describe_filter(filter);
                let mut scan = self.cursor;
                let mut hit = None;
                let held = !self.net.run_until(t + *within, &mut |log| {
                    while scan < log.len() {
                        let s = &log[scan];
                        scan += 1;
                        // What came after the window (real time may run behind) is not in it.
                        if s.at_ns >= from && s.at_ns <= until && passes(filter, s) {
                            hit = Some(format!("{} at {}", s.message.describe(), clock(s.at_ns)));
                            return true;
                        }
                    }
                    false
                });
                if !held {
                    return Err(format!(
                        "expected no {what} for {} after {}, but saw {}",
                        format_duration(*within),
                        clock(from),
                        hit.unwrap_or_default()
                    ));
                }
                self.pass(format!("no {what} for {}", format_duration(*within)));
                Ok(())
            }
            state => {
                let within = match state {
                    Expect::HaState { within, .. } => *within,
                    _ => Duration::ZERO,
                };
                let deadline = t.max(self.net.now()) + within + self.net.settle();
                // In real time the state may change while it is checked: every state seen
                // is told, in order.
                let mut seen: Vec<String> = Vec::new();
                loop {
                    match self.state(state) {
                        Ok(text) => {
                            // A state waited for ends its step when it came.
                            if !within.is_zero() {
                                self.matched_at = Some(self.net.now());
                            }
                            self.consume(state);
                            self.pass(text);
                            return Ok(());
                        }
                        Err(why) => {
                            if seen.last() != Some(&why) {
                                seen.push(why);
                            }
                            let now = self.net.now();
                            if now >= deadline {
                                return Err(seen.join("; later: "));
                            }
                            self.net.run_until(
                                (now + Duration::from_millis(20)).min(deadline),
                                &mut |_| false,
                            );
                            // A network that cannot move on (stuck) ends the wait.
                            if let Some(why) = self.net.stuck() {
                                seen.push(why);
                                return Err(seen.join("; later: "));
                            }
                        }
                    }
                }
            }
        }
    }

    /// After a hook-calls or script expectation held: what it matched is behind the next.
    fn consume(&mut self, e: &Expect) {
        match e {
            Expect::HookCalls { host, calls } => {
                if let Ok(i) = self.index(host) {
                    *self.hooks_seen.entry(i).or_default() += calls.len();
                }
            }
            Expect::Scripts { host, runs } => {
                if let Ok(i) = self.index(host) {
                    *self.scripts_seen.entry(i).or_default() += runs.len();
                }
            }
            _ => {}
        }
    }

    /// Checks a state expectation (events, client, lease, leases) once: what held, or why not.
    fn state(&self, e: &Expect) -> Result<String, String> {
        match e {
            Expect::Events { host, events } => {
                let i = self.index(host)?;
                let got = self.net.events(i);
                if &got != events {
                    return Err(format!(
                        "expected events of {host} [{}], got [{}]",
                        events.join(", "),
                        got.join(", ")
                    ));
                }
                Ok(format!("events of {host}: [{}]", got.join(", ")))
            }
            Expect::Client {
                host,
                state,
                address,
                not_address,
                prefix,
            } => {
                let i = self.index(host)?;
                let Some(view) = self.net.client(i) else {
                    return Err(format!("{host} is not a client"));
                };
                let now_state = &view.state;
                if let Some(want) = state
                    && want != now_state
                {
                    return Err(format!("expected {host} {want}, it is {now_state}"));
                }
                let held: Vec<IpAddr> = view
                    .address
                    .map(IpAddr::V4)
                    .into_iter()
                    .chain(view.addresses6.iter().copied().map(IpAddr::V6))
                    .collect();
                let list = |items: Vec<String>, none: &str| {
                    if items.is_empty() {
                        none.to_string()
                    } else {
                        items.join(", ")
                    }
                };
                let held_text = list(held.iter().map(ToString::to_string).collect(), "no address");
                if let Some(want) = address {
                    let want = match want {
                        None => None,
                        Some(a) => Some(self.addr(a)?),
                    };
                    let ok = match want {
                        None => held.is_empty(),
                        Some(a) => held.contains(&a),
                    };
                    if !ok {
                        return Err(format!(
                            "expected {host} with {}, it has {held_text}",
                            want.map_or("no address".to_string(), |a| a.to_string()),
                        ));
                    }
                }
                if let Some(gone) = not_address {
                    let gone = self.addr(gone)?;
                    if held.contains(&gone) {
                        return Err(format!(
                            "expected {host} without {gone}, it has {held_text}"
                        ));
                    }
                }
                let prefixes_text = list(
                    view.prefixes
                        .iter()
                        .map(|(a, l)| format!("{a}/{l}"))
                        .collect(),
                    "no prefix",
                );
                if let Some(want) = prefix {
                    let want = match want {
                        None => None,
                        Some(p) => Some(self.prefix(p)?),
                    };
                    let ok = match want {
                        None => view.prefixes.is_empty(),
                        Some(p) => view.prefixes.contains(&p),
                    };
                    if !ok {
                        return Err(format!(
                            "expected {host} with {}, it has {prefixes_text}",
                            want.map_or("no prefix".to_string(), |(a, l)| format!("{a}/{l}")),
                        ));
                    }
                }
                let mut text = format!("{host} {now_state}");
                if !held.is_empty() {
                    text.push_str(&format!(" with {held_text}"));
                }
                if !view.prefixes.is_empty() {
                    text.push_str(&format!(", prefixes {prefixes_text}"));
                }
                Ok(text)
            }
            Expect::Lease {
                host,
                of,
                state,
                owner,
            } => {
                let i = self.index(host)?;
                let (key, a) = match of {
                    LeaseOf::Address(a) => {
                        let a = self.addr(a)?;
                        (LeaseKey::Address(a), a.to_string())
                    }
                    LeaseOf::Prefix(p) => {
                        let (p, len) = self.prefix(p)?;
                        (LeaseKey::Prefix(p, len), format!("{p}/{len}"))
                    }
                };
                let (got, lease) = self.net.lease_state(i, key)?;
                if got != *state {
                    return Err(format!(
                        "expected {host}'s lease of {a} {}, it is {}",
                        state.name(),
                        got.name()
                    ));
                }
                if let Some(o) = owner {
                    let j = self.index(o)?;
                    let mac = self.net.mac(j);
                    if lease.as_ref().is_none_or(|l| !l.belongs_to(mac)) {
                        return Err(format!("expected {host}'s lease of {a} to belong to {o}"));
                    }
                }
                Ok(format!("{host}: lease of {a} {}", got.name()))
            }
            Expect::Leases { host, min, max } => {
                let i = self.index(host)?;
                let n = self.net.active_leases(i)?;
                if n < *min || n > *max {
                    let want = if min == max {
                        min.to_string()
                    } else {
                        format!("{min} to {max}")
                    };
                    return Err(format!(
                        "expected {want} active leases on {host}, it has {n}"
                    ));
                }
                Ok(format!("{host}: {n} active leases"))
            }
            Expect::HookCalls { host, calls } => {
                let i = self.index(host)?;
                let all = self.net.hook_calls(i)?;
                let seen = self.hooks_seen.get(&i).copied().unwrap_or(0);
                let new = all.get(seen..).unwrap_or_default();
                if new != calls.as_slice() {
                    return Err(format!(
                        "expected {host}'s hooks to be called [{}] since the last check, they were called [{}]",
                        calls.join(", "),
                        new.join(", ")
                    ));
                }
                Ok(format!("{host}'s hook calls: [{}]", calls.join(", ")))
            }
            Expect::Scripts { host, runs } => {
                let i = self.index(host)?;
                let all = self.net.script_runs(i)?;
                let seen = self.scripts_seen.get(&i).copied().unwrap_or(0);
                let new = all.get(seen..).unwrap_or_default();
                let listed = |hooks: Vec<&str>| hooks.join(", ");
                fn sorted(mut hooks: Vec<&str>) -> Vec<&str> {
                    hooks.sort_unstable();
                    hooks
                }
                let want: Vec<&str> = runs.iter().map(|r| r.hook.as_str()).collect();
                let got: Vec<&str> = new.iter().map(|r| r.hook.as_str()).collect();
                if sorted(want.clone()) != sorted(got.clone()) {
                    return Err(format!(
                        "expected {host}'s script to run for [{}] since the last check, it ran for [{}]",
                        listed(want),
                        listed(got)
                    ));
                }
                // Scripts run without waiting for each other: their records may come in any
                // order. Each expected run is matched with one recorded run of its hook point.
                let mut free: Vec<&hookfiles::ScriptRun> = new.iter().collect();
                for check in runs {
                    let mut faults = Vec::new();
                    let mut matched = None;
                    for (k, run) in free
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.hook == check.hook)
                    {
                        match self.env_faults(check, run) {
                            Ok(()) => {
                                matched = Some(k);
                                break;
                            }
                            Err(f) => faults.push(f),
                        }
                    }
                    match matched {
                        Some(k) => {
                            free.remove(k);
                        }
                        None => return Err(faults.join("; ")),
                    }
                }
                Ok(format!("{host}'s script ran for [{}]", listed(want)))
            }
            Expect::HaState { host, state, .. } => {
                let i = self.index(host)?;
                let got = self.net.ha_state(i)?;
                if got != *state {
                    return Err(format!(
                        "expected {host} in HA state {state}, it is in {got}"
                    ));
                }
                Ok(format!("{host}: HA state {got}"))
            }
            Expect::Message { .. } | Expect::Nothing { .. } => {
                Err("not a state expectation".into())
            }
        }
    }
}

/// The address in captured bytes: 4 of them IPv4, 16 IPv6.
/// The most a UDP datagram over IPv4 carries (65,535 less the IPv4 and UDP headers).
const MAX_UDP4: usize = 65_535 - 20 - 8;
/// The most a UDP datagram over IPv6 carries without a jumbogram (the payload length field's
/// 65,535 less the UDP header, RFC 8200 3).
const MAX_UDP6: usize = 65_535 - 8;

/// A crafted message a datagram cannot carry fails its step: a mode could not frame it, and
/// a step that sends nothing must not pass as if it had sent it.
fn fits_udp(payload: &[u8], max: usize) -> Result<(), String> {
    if payload.len() > max {
        return Err(format!(
            "the crafted message has {} bytes; a UDP datagram carries at most {max}",
            payload.len()
        ));
    }
    Ok(())
}

fn address_of(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(a) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::V4(Ipv4Addr::from(a)));
    }
    <[u8; 16]>::try_from(bytes)
        .ok()
        .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
}

/// `+1h2m3.004s`-style time since the start, from nanoseconds.
fn clock(ns: u128) -> String {
    format!(
        "+{}",
        format_duration(Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
    )
}

/// The messages a filter looks at, in words: `ACK from srv to c1`, `message from c1`.
fn describe_filter(f: &Filter) -> String {
    let mut s = f.kind.map_or("message".to_string(), |k| k.to_string());
    if let Some(from) = &f.from {
        s.push_str(&format!(" from {from}"));
    }
    match &f.to {
        Some(To::Broadcast) => s.push_str(" to broadcast"),
        Some(To::Host(h)) => s.push_str(&format!(" to {h}")),
        None => {}
    }
    s
}
