//! The hosts on the virtual link and the loop that moves virtual time: deliver frames due,
//! fire host timers due, carry out what the cores ask (send, configure, persist, run the event
//! program), and record it all on the timeline and in the message log.

#[path = "world6.rs"]
mod world6;

use dhcplab_client::{Action as ClientAction, Client, Config as ClientConfig, HostEvent, Lease};
use dhcplab_frame::{BROADCAST_MAC, Decoded, LinkType};
use dhcplab_hook_loader::{NativeLoader, Scripts};
use dhcplab_kea_config::dhcp4::Dhcp4;
use dhcplab_memfile::{Lease4, LeaseType};
use dhcplab_rng::Rng;
use dhcplab_runner::Payload;
use dhcplab_runner::hookfiles::{Placeholders, ScriptRun};
use dhcplab_runner::{ClientView, LeaseKey, LeaseRecord, Network, Seen};
use dhcplab_scenario::{Churn, ClientHost, Leave, Role, Scenario, ServerConfig};
use dhcplab_server::{Action as ServerAction, CommandOutcome, Datagram, Interface, Server};
use dhcplab_timeline::{Dest, Entry, Timeline};
use dhcplab_vnet::{Faults, Segment, Sent};
use dhcplab_wire::v4::Message;
use hashbrown::HashMap;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, SystemTime};

/// Work at one instant beyond which the run is declared stuck (a core that keeps asking for
/// the same instant).
const MAX_WORK_PER_INSTANT: u32 = 1_000_000;
/// Work (frames delivered and host timers fired) one run may do: about 30 times what a week of
/// 1,000 churning clients needs, so no scenario, however written, runs for ever.
pub const MAX_WORK: u64 = 20_000_000;

pub(crate) struct ServerNode {
    pub core: Option<Server>,
    pub address: Ipv4Addr,
    pub config: ServerConfig,
    /// The lease file: every row appended, in order.
    pub rows: Vec<Lease4>,
    pub suspended: bool,
    /// The run-script hook's runs, recorded instead of run.
    pub scripts: Vec<ScriptRun>,
    /// How far its clock is ahead of the run's, in seconds.
    pub clock_offset: i64,
}

pub(crate) struct ClientNode {
    pub spec: ClientHost,
    pub core: Option<Client>,
    pub configured: Option<Ipv4Addr>,
    pub saved: Option<Lease>,
    pub events: Vec<String>,
    pub starts: u64,
    /// When it starts (first start, or back from churn).
    pub start_at: Option<SystemTime>,
    /// When churn makes it leave.
    pub leave_at: Option<SystemTime>,
    pub rng: Rng,
}

pub(crate) enum Node {
    Server(Box<ServerNode>),
    Client(Box<ClientNode>),
    Server6(Box<world6::Server6Node>),
    Client6(Box<world6::Client6Node>),
    Relay(Box<world6::RelayNode>),
    Peer(Option<Ipv4Addr>),
}

/// What the loop asks of every core, whatever its version: when it next needs the clock,
/// and to run what is due.
pub(crate) trait Timed {
    /// The next deadline.
    fn next(&self) -> Option<SystemTime>;
    /// Runs the timers due at `now`.
    fn run_due(&mut self, now: SystemTime);
}

macro_rules! timed {
    ($($core:ty),*) => {$(
        impl Timed for $core {
            fn next(&self) -> Option<SystemTime> {
                self.poll_timeout()
            }
            fn run_due(&mut self, now: SystemTime) {
                self.handle_timeout(now);
            }
        }
    )*};
}
timed!(
    Server,
    Client,
    dhcplab_server6::Server,
    dhcplab_client6::Client
);

/// A server of either version as time sees it: its core, whether it is suspended, how far
/// its clock is off.
struct ServerClock<'a> {
    core: Option<&'a mut dyn Timed>,
    suspended: &'a mut bool,
    offset: i64,
}

/// A client of either version as time and churn see it.
struct ClientClock<'a> {
    core: Option<&'a mut dyn Timed>,
    start_at: &'a mut Option<SystemTime>,
    leave_at: &'a mut Option<SystemTime>,
    churn: Option<Churn>,
    rng: &'a mut Rng,
}

impl Node {
    /// Its parts time needs, if it is a server.
    fn server_clock(&mut self) -> Option<ServerClock<'_>> {
        match self {
            Node::Server(s) => Some(ServerClock {
                core: s.core.as_mut().map(|c| c as &mut dyn Timed),
                suspended: &mut s.suspended,
                offset: s.clock_offset,
            }),
            Node::Server6(s) => Some(ServerClock {
                core: s.core.as_mut().map(|c| c as &mut dyn Timed),
                suspended: &mut s.suspended,
                offset: s.clock_offset,
            }),
            _ => None,
        }
    }

    /// Its parts time and churn need, if it is a client.
    fn client_clock(&mut self) -> Option<ClientClock<'_>> {
        match self {
            Node::Client(c) => Some(ClientClock {
                core: c.core.as_mut().map(|c| c as &mut dyn Timed),
                start_at: &mut c.start_at,
                leave_at: &mut c.leave_at,
                churn: c.spec.churn,
                rng: &mut c.rng,
            }),
            Node::Client6(c) => Some(ClientClock {
                core: c.core.as_mut().map(|c| c as &mut dyn Timed),
                start_at: &mut c.start_at,
                leave_at: &mut c.leave_at,
                churn: c.spec.churn,
                rng: &mut c.rng,
            }),
            _ => None,
        }
    }

    /// When it next needs the clock (in the run's time).
    fn deadline(&self) -> Option<SystemTime> {
        let server = |core: Option<&dyn Timed>, suspended: bool, offset: i64| {
            core.filter(|_| !suspended)
                .and_then(Timed::next)
                .map(|t| shift(t, -offset))
        };
        let client = |core: Option<&dyn Timed>, start_at, leave_at| {
            earliest(earliest(core.and_then(Timed::next), start_at), leave_at)
        };
        match self {
            Node::Server(s) => server(s.core.as_ref().map(|c| c as _), s.suspended, s.clock_offset),
            Node::Server6(s) => {
                server(s.core.as_ref().map(|c| c as _), s.suspended, s.clock_offset)
            }
            Node::Client(c) => client(c.core.as_ref().map(|c| c as _), c.start_at, c.leave_at),
            Node::Client6(c) => client(c.core.as_ref().map(|c| c as _), c.start_at, c.leave_at),
            Node::Relay(_) | Node::Peer(_) => None,
        }
    }

    /// Ends a client's agent (churn took it away).
    fn end_client(&mut self) {
        match self {
            Node::Client(c) => c.core = None,
            Node::Client6(c) => c.core = None,
            _ => {}
        }
    }
}

/// An instant of the run, in nanoseconds since its start: 584 years fit.
type Tick = u64;

pub(crate) struct World {
    pub seed: u64,
    pub start: SystemTime,
    pub now: SystemTime,
    pub segment: Segment,
    pub names: Vec<String>,
    pub macs: Vec<[u8; 6]>,
    pub nodes: Vec<Node>,
    /// Hosts' deadlines as (tick, host): a small key, cheap to compare, for the heap every
    /// timer goes through.
    wakeups: BinaryHeap<Reverse<(Tick, u32)>>,
    /// Per host, the deadline of its latest entry still in `wakeups`, if any: a host that
    /// re-arms for the deadline it already waits for adds no entry (a server's next
    /// reclamation would otherwise be pushed again after every message it handles).
    armed: Vec<Option<Tick>>,
    /// Who holds each address on the link (the ARP table every host shares). This map and
    /// `by_mac` are looked up for every frame and never iterated, so hash order cannot reach
    /// what a run does.
    owners: HashMap<Ipv4Addr, usize>,
    by_mac: HashMap<[u8; 6], usize>,
    servers: Vec<usize>,
    peers: Vec<usize>,
    /// DHCPv6 servers and relay agents (they listen on port 547), and clients (546).
    servers6: Vec<usize>,
    clients6: Vec<usize>,
    /// Who holds each global IPv6 address (servers', relays', peers', clients' configured).
    owners6: BTreeMap<Ipv6Addr, usize>,
    /// Whose each link-local address is.
    link_locals: BTreeMap<Ipv6Addr, usize>,
    /// The segments each host sits on.
    segments: Vec<Vec<String>>,
    /// Every host is on one segment (no filtering by segment needed).
    one_segment: bool,
    /// DHCP messages seen, for expectations; kept only when some step looks at messages.
    pub log: Vec<Seen>,
    pub keep_log: bool,
    pub timeline: Timeline,
    /// Broken invariants (two clients on one address), each once.
    pub violations: Vec<String>,
    pub stuck: Option<String>,
    work: u64,
    /// Where servers' hook files go (trace files), made when a server first needs one.
    hook_files: Option<tempfile::TempDir>,
    /// HA peer requests in flight.
    pub(crate) exchanges: crate::peer_http::Exchanges,
    /// Who holds which address by the ACKs on the link, for the invariant.
    ledger: dhcplab_runner::invariant::AckLedger,
    /// The frame being sent, its buffer reused from one frame to the next.
    frame: Vec<u8>,
}

impl World {
    pub(crate) fn new(
        scenario: &Scenario,
        seed: u64,
        start: SystemTime,
        record: bool,
        keep_log: bool,
    ) -> Self {
        let mut segment = Segment::new(seed);
        let mut nodes = Vec::new();
        let mut owners = HashMap::new();
        let mut owners6 = BTreeMap::new();
        let mut link_locals = BTreeMap::new();
        let mut by_mac = HashMap::new();
        for (i, h) in scenario.hosts.iter().enumerate() {
            segment.attach(h.mac, h.link);
            by_mac.insert(h.mac, i);
            link_locals.entry(h.link_local()).or_insert(i);
            match &h.role {
                Role::Server6(s) => {
                    owners6.insert(s.address, i);
                }
                Role::Relay(r) => {
                    if let Some(a) = r.address {
                        owners6.insert(a, i);
                    }
                }
                Role::Peer(p) => {
                    if let Some(a) = p.address6 {
                        owners6.insert(a, i);
                    }
                }
                _ => {}
            }
            nodes.push(match &h.role {
                Role::Server(s) => {
                    owners.insert(s.address, i);
                    Node::Server(Box::new(ServerNode {
                        core: None,
                        address: s.address,
                        config: s.config.clone(),
                        rows: Vec::new(),
                        suspended: false,
                        scripts: Vec::new(),
                        clock_offset: s.clock_offset,
                    }))
                }
                Role::Client(c) => {
                    let mut rng = Rng::fork(seed, &h.name);
                    let start_at = start + c.start.draw(&mut rng);
                    Node::Client(Box::new(ClientNode {
                        spec: c.clone(),
                        core: None,
                        configured: None,
                        saved: None,
                        events: Vec::new(),
                        starts: 0,
                        start_at: Some(start_at),
                        leave_at: None,
                        rng,
                    }))
                }
                Role::Peer(p) => {
                    if let Some(a) = p.address {
                        owners.insert(a, i);
                    }
                    Node::Peer(p.address)
                }
                Role::Server6(_) | Role::Client6(_) | Role::Relay(_) => {
                    world6::node6(scenario, h, seed, start)
                }
            });
        }
        let names: Vec<String> = scenario.hosts.iter().map(|h| h.name.clone()).collect();
        let of_kind = |kind: fn(&Node) -> bool| -> Vec<usize> {
            (0..nodes.len()).filter(|i| kind(&nodes[*i])).collect()
        };
        let servers = of_kind(|n| matches!(n, Node::Server(_)));
        let peers = of_kind(|n| matches!(n, Node::Peer(_)));
        let servers6 = of_kind(|n| matches!(n, Node::Server6(_) | Node::Relay(_)));
        let clients6 = of_kind(|n| matches!(n, Node::Client6(_)));
        let segments: Vec<Vec<String>> = scenario
            .hosts
            .iter()
            .map(|h| h.segments().into_iter().map(str::to_string).collect())
            .collect();
        let one_segment = segments
            .iter()
            .flatten()
            .all(|s| Some(s) == segments.first().and_then(|f| f.first()));
        let mut w = Self {
            seed,
            start,
            now: start,
            segment,
            macs: scenario.hosts.iter().map(|h| h.mac).collect(),
            timeline: Timeline::new(start, names.clone(), record),
            names,
            nodes,
            wakeups: BinaryHeap::new(),
            armed: vec![None; scenario.hosts.len()],
            owners,
            servers,
            peers,
            servers6,
            clients6,
            owners6,
            link_locals,
            segments,
            one_segment,
            by_mac,
            log: Vec::new(),
            keep_log,
            violations: Vec::new(),
            stuck: None,
            work: 0,
            hook_files: None,
            exchanges: crate::peer_http::Exchanges::default(),
            ledger: dhcplab_runner::invariant::AckLedger::default(),
            frame: Vec::new(),
        };
        for i in 0..w.nodes.len() {
            if matches!(w.nodes[i], Node::Server(_) | Node::Server6(_)) {
                if let Err(e) = w.start_host(i) {
                    w.stuck.get_or_insert(e);
                }
            }
            w.rearm(i);
        }
        w
    }

    /// `config` for server `i` with the placeholders of its hooks libraries replaced.
    fn hooked(&mut self, i: usize, config: &Dhcp4) -> Result<Dhcp4, String> {
        if config.hooks_libraries.is_empty() {
            return Ok(config.clone());
        }
        Ok(self.placeholders(i)?.apply_config(config))
    }

    /// The placeholders of server `i`'s configuration; its files go in a directory of the
    /// run's own, removed with the world.
    fn placeholders(&mut self, i: usize) -> Result<Placeholders, String> {
        if self.hook_files.is_none() {
            let dir = tempfile::Builder::new()
                .prefix(&dhcplab_runner::hookfiles::hook_dir_prefix())
                .tempdir()
                .map_err(|e| format!("a directory for hook files: {e}"))?;
            self.hook_files = Some(dir);
        }
        let base = self
            .hook_files
            .as_ref()
            .map(|d| d.path().join(&self.names[i]));
        let dir = base.ok_or("no directory for hook files")?;
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Placeholders::in_dir(&dir))
    }

    /// Server `i`'s clock (the run's, shifted by its `clock` offset).
    pub(crate) fn clock_of(&self, i: usize) -> SystemTime {
        match &self.nodes[i] {
            Node::Server(s) => shift(self.now, s.clock_offset),
            Node::Server6(s) => shift(self.now, s.clock_offset),
            _ => self.now,
        }
    }

    /// The host that holds `address` on the link.
    pub(crate) fn owners_of(&self, address: Ipv4Addr) -> Option<usize> {
        self.owners.get(&address).copied()
    }

    fn deadline(&self, i: usize) -> Option<SystemTime> {
        self.nodes[i].deadline()
    }

    pub(crate) fn rearm(&mut self, i: usize) {
        match self.deadline(i).map(|t| self.tick(t)) {
            Some(t) if self.armed[i] != Some(t) => {
                self.armed[i] = Some(t);
                if let Ok(host) = u32::try_from(i) {
                    self.wakeups.push(Reverse((t, host)));
                }
            }
            Some(_) => {}
            // Its entries still in `wakeups` are stale.
            None => self.armed[i] = None,
        }
    }

    /// Host `i`'s entry for `t` left `wakeups`: when it was the latest, the host waits for
    /// nothing until it re-arms.
    fn disarm(&mut self, t: Tick, i: usize) {
        if self.armed[i] == Some(t) {
            self.armed[i] = None;
        }
    }

    /// Runs until `target`, or until `done` says to stop after an instant; the clock ends at
    /// `target` in the first case and at the instant `done` held in the second. Returns true
    /// when `done` held.
    fn advance(&mut self, target: SystemTime, done: &mut dyn FnMut(&[Seen]) -> bool) -> bool {
        let mut work_here = 0u32;
        if self.stuck.is_some() {
            return false;
        }
        loop {
            if done(&self.log) {
                return true;
            }
            // An entry is stale when its host re-armed since (for a later or earlier
            // deadline): `armed` says so without asking the host's core; the host is asked
            // again before it fires.
            let wake = loop {
                match self.wakeups.peek() {
                    Some(&Reverse((t, i))) if self.armed[i as usize] != Some(t) => {
                        self.wakeups.pop();
                        self.disarm(t, i as usize);
                    }
                    Some(&Reverse((t, _))) => break Some(self.time_of(t)),
                    None => break None,
                }
            };
            let next = earliest(
                earliest(wake, self.segment.poll_timeout()),
                self.exchanges.deadline(),
            );
            let Some(next) = next.filter(|n| *n <= target) else {
                break;
            };
            if self.work > MAX_WORK {
                self.stuck = Some(format!(
                    "the run did {MAX_WORK} units of work by {} without ending: too many hosts for too long",
                    dhcplab_scenario::format_duration(self.offset())
                ));
                return false;
            }
            if next <= self.now {
                work_here += 1;
                if work_here > MAX_WORK_PER_INSTANT {
                    self.stuck = Some(format!(
                        "the run is stuck at {}: hosts keep working without time passing",
                        dhcplab_scenario::format_duration(self.offset())
                    ));
                    return false;
                }
            } else {
                work_here = 0;
                self.now = next;
            }
            let now = self.now;
            while let Some(d) = self.segment.poll_delivery(now) {
                self.work += 1;
                self.deliver(d.port, d.from, &d.frame);
            }
            self.expire_exchanges();
            let now_tick = self.tick(now);
            while let Some(Reverse((t, i))) = self.wakeups.peek().copied() {
                if t > now_tick {
                    break;
                }
                let i = i as usize;
                self.wakeups.pop();
                self.disarm(t, i);
                if self.deadline(i).map(|d| self.tick(d)) == Some(t) {
                    self.work += 1;
                    self.fire(i);
                }
            }
        }
        self.now = self.now.max(target);
        done(&self.log)
    }

    /// `t` as a tick: nanoseconds since the start of the run (an instant before it counts as
    /// the start, when it is due all the same).
    fn tick(&self, t: SystemTime) -> Tick {
        let ns = t.duration_since(self.start).unwrap_or_default().as_nanos();
        Tick::try_from(ns).unwrap_or(Tick::MAX)
    }

    /// The instant of a tick.
    fn time_of(&self, t: Tick) -> SystemTime {
        self.start + Duration::from_nanos(t)
    }

    /// Time since the start of the run.
    pub(crate) fn offset(&self) -> Duration {
        self.now.duration_since(self.start).unwrap_or_default()
    }

    fn fire(&mut self, i: usize) {
        let now = self.now;
        if let Some(s) = self.nodes[i].server_clock() {
            if let Some(core) = s.core {
                core.run_due(shift(now, s.offset));
            }
            self.drain(i);
        } else if let Some(c) = self.nodes[i].client_clock() {
            if c.start_at.is_some_and(|t| t <= now) {
                *c.start_at = None;
                if let Err(e) = self.start_host(i) {
                    self.stuck.get_or_insert(e);
                }
                return;
            }
            if c.leave_at.is_some_and(|t| t <= now) {
                *c.leave_at = None;
                let (release, down) = leave(c.churn, c.rng);
                self.note(
                    i,
                    if release {
                        "leaves (release)"
                    } else {
                        "leaves (drop)"
                    },
                );
                let event = if release {
                    HostEvent::Release
                } else {
                    HostEvent::Drop
                };
                self.client_host_event(i, event);
                self.nodes[i].end_client();
                if let Some(c) = self.nodes[i].client_clock() {
                    *c.start_at = Some(now + down);
                }
                self.rearm(i);
                return;
            }
            if let Some(core) = c.core {
                core.run_due(now);
            }
            self.drain(i);
        }
        self.rearm(i);
    }

    /// Carries out what host `i`'s core asks, whatever its kind.
    fn drain(&mut self, i: usize) {
        match self.nodes[i] {
            Node::Server(_) => self.drain_server(i),
            Node::Client(_) => self.drain_client(i),
            Node::Server6(_) => self.drain_server6(i),
            Node::Client6(_) => self.drain_client6(i),
            Node::Relay(_) | Node::Peer(_) => {}
        }
    }

    /// Starts a stopped host (or a client whose agent ended); a server whose hooks libraries
    /// do not load stays down.
    pub(crate) fn start_host(&mut self, i: usize) -> Result<(), String> {
        let now = self.now;
        let running = match &self.nodes[i] {
            Node::Server(s) => s.core.is_some(),
            Node::Client(c) => c
                .core
                .as_ref()
                .is_some_and(|core| core.state() != dhcplab_client::State::Idle),
            Node::Server6(_) | Node::Client6(_) | Node::Relay(_) => self.running6(i),
            Node::Peer(_) => false,
        };
        if running {
            self.note(i, "already running: start does nothing");
            return Ok(());
        }
        if matches!(
            self.nodes[i],
            Node::Server6(_) | Node::Client6(_) | Node::Relay(_)
        ) {
            return self.start6(i);
        }
        let config = match &self.nodes[i] {
            Node::Server(s) => Some(self.hooked(i, &s.config.dhcp4.clone())?),
            _ => None,
        };
        let name = self.names[i].clone();
        match &mut self.nodes[i] {
            Node::Server(s) => {
                let leases = replay_rows(&s.rows);
                let config = config.ok_or("no configuration")?;
                // Native code runs in this process; scripts are recorded, not run.
                let loader = Box::new(NativeLoader::new(Scripts::Record));
                let at = shift(now, s.clock_offset);
                let mut core =
                    Server::with_loader(config, s.config.json.clone(), leases, at, loader)
                        .map_err(|e| format!("{name} does not start: {e}"))?;
                core.attach(Interface {
                    index: 1,
                    name: "eth0".into(),
                    address: s.address,
                    direct_response: true,
                });
                s.core = Some(core);
                s.suspended = false;
                self.drain_server(i);
            }
            Node::Client(c) => {
                let mut config = ClientConfig::new(self.macs[i]);
                config.probe = c.spec.probe;
                config.bootp = c.spec.bootp;
                config.client_id = c.spec.client_id.clone();
                // The world drops the client's log messages.
                config.log = false;
                config.hostname = c.spec.hostname.clone();
                if let Some(w) = c.spec.offer_wait {
                    config.offer_wait = w;
                }
                c.starts += 1;
                let seed =
                    Rng::fork(self.seed, &format!("{}#{}", self.names[i], c.starts)).next_u64();
                if let Some(a) = c.configured.take()
                    && self.owners.get(&a) == Some(&i)
                {
                    self.owners.remove(&a);
                }
                c.core = Some(Client::new(config, seed, c.saved.clone(), now));
                c.start_at = None;
                c.leave_at = c.spec.churn.map(|ch| now + ch.up.draw(&mut c.rng));
                self.drain_client(i);
            }
            _ => {}
        }
        self.rearm(i);
        Ok(())
    }

    /// Stops a host: `graceful` lets a client drop its lease as dhcpagent does on SIGTERM.
    pub(crate) fn stop_host(&mut self, i: usize, graceful: bool) {
        if matches!(
            self.nodes[i],
            Node::Server6(_) | Node::Client6(_) | Node::Relay(_)
        ) {
            return self.stop6(i, graceful);
        }
        if graceful && self.client_running(i) {
            self.client_host_event(i, HostEvent::Drop);
        }
        if matches!(self.nodes[i], Node::Server(_)) {
            self.forget_exchanges(i);
        }
        match &mut self.nodes[i] {
            Node::Server(s) => s.core = None,
            Node::Client(c) => {
                c.core = None;
                c.start_at = None;
                c.leave_at = None;
            }
            _ => {}
        }
    }

    fn client_running(&self, i: usize) -> bool {
        matches!(&self.nodes[i], Node::Client(c) if c.core.is_some())
    }

    /// Hands a host event to a client core.
    pub(crate) fn client_host_event(&mut self, i: usize, event: HostEvent) {
        if matches!(self.nodes[i], Node::Client6(_)) {
            // Every event but DHCPINFORM has its DHCPv6 twin; the runner refuses that one.
            if let Ok(event) = world6::host_event_of(event) {
                self.host_event6(i, event);
            }
            return;
        }
        let now = self.now;
        if let Node::Client(c) = &mut self.nodes[i]
            && let Some(core) = c.core.as_mut()
        {
            core.handle_host(now, event);
            self.drain_client(i);
        }
        self.rearm(i);
    }

    /// Suspends or resumes a host.
    pub(crate) fn suspend(&mut self, i: usize, suspended: bool) {
        let now = self.now;
        if let Some(s) = self.nodes[i].server_clock() {
            *s.suspended = suspended;
            if !suspended {
                let now = shift(now, s.offset);
                if let Some(core) = s.core
                    && core.next().is_some_and(|t| t <= now)
                {
                    core.run_due(now);
                }
                self.drain(i);
            }
            self.rearm(i);
            return;
        }
        match &mut self.nodes[i] {
            Node::Client(_) | Node::Client6(_) => self.client_host_event(
                i,
                if suspended {
                    HostEvent::Suspend
                } else {
                    HostEvent::Resume
                },
            ),
            Node::Relay(r) => r.down = suspended,
            _ => {}
        }
    }

    /// Records a note about one host on the timeline.
    pub(crate) fn note(&mut self, i: usize, text: &str) {
        // A timeline that keeps nothing counts frames only: no text to copy.
        if !self.timeline.record {
            return;
        }
        self.timeline.push(
            self.now,
            Entry::Event {
                host: i,
                text: text.to_string(),
            },
        );
    }

    /// The address a host answers for, as other hosts would find it with ARP.
    pub(crate) fn address_of(&self, i: usize) -> Option<Ipv4Addr> {
        match &self.nodes[i] {
            Node::Server(s) => Some(s.address),
            Node::Client(c) => c.configured,
            Node::Peer(a) => *a,
            Node::Server6(_) | Node::Client6(_) | Node::Relay(_) => None,
        }
    }

    fn deliver(&mut self, port: usize, from: usize, frame: &[u8]) {
        // Only an IPv4 TCP segment (EtherType 0x0800, protocol 6) can be an HA peer
        // exchange's: the others are not decoded as one first.
        let tcp = frame.get(12..14) == Some(&[0x08, 0x00][..]) && frame.get(23) == Some(&6);
        if tcp && self.deliver_tcp(port, frame) {
            return;
        }
        let (src, dst, payload) = match udp4(frame) {
            Some(u) => u,
            None => {
                let Ok(Decoded::Udp(u)) = dhcplab_frame::decode(LinkType::Ethernet, frame) else {
                    return;
                };
                match (u.src, u.dst) {
                    (SocketAddr::V4(src), SocketAddr::V4(dst)) => (src, dst, u.payload),
                    (SocketAddr::V6(src), SocketAddr::V6(dst)) => {
                        return self.deliver6(port, from, src, dst, u.payload);
                    }
                    _ => return,
                }
            }
        };
        let now = self.clock_of(port);
        match &mut self.nodes[port] {
            Node::Server(s) if dst.port() == 67 && !s.suspended => {
                if let Some(core) = s.core.as_mut() {
                    core.handle_datagram(
                        now,
                        Datagram {
                            interface: 1,
                            source: src,
                            destination: *dst.ip(),
                            payload,
                        },
                    );
                }
                self.drain_server(port);
            }
            Node::Client(c) if dst.port() == 68 => {
                if let Some(core) = c.core.as_mut() {
                    core.handle_datagram(self.now, payload);
                }
                self.drain_client(port);
            }
            _ => {}
        }
        self.rearm(port);
    }

    pub(crate) fn drain_server(&mut self, i: usize) {
        loop {
            let Node::Server(s) = &mut self.nodes[i] else {
                return;
            };
            let Some(core) = s.core.as_mut() else { return };
            let Some(action) = core.poll_action() else {
                return;
            };
            match action {
                ServerAction::Transmit(t) => {
                    let dst_mac = match t.link_destination {
                        Some(mac) => Some(mac),
                        None => self.resolve(*t.destination.ip()),
                    };
                    self.send(
                        i,
                        dst_mac,
                        t.source.into(),
                        t.destination.into(),
                        &t.payload,
                    );
                }
                ServerAction::Persist(row) => {
                    self.check_lease_tables(i, &row);
                    if let Node::Server(s) = &mut self.nodes[i] {
                        s.rows.push(row);
                    }
                }
                ServerAction::CompactLeaseFile => s.rows = core.leases(),
                ServerAction::Shutdown => {
                    s.core = None;
                    self.note(i, "shut down");
                }
                ServerAction::RunScript(script) => s.scripts.push(ScriptRun {
                    hook: script.args.first().cloned().unwrap_or_default(),
                    env: script.env,
                }),
                ServerAction::PeerRequest(r) => self.peer_request(i, r),
                ServerAction::HaTransition(t) => {
                    let text = format!(
                        "HA {} -> {} (partner {})",
                        t.from.name(),
                        t.to.name(),
                        t.partner.name()
                    );
                    self.note(i, &text);
                }
            }
        }
    }

    fn drain_client(&mut self, i: usize) {
        let now = self.now;
        loop {
            let Node::Client(c) = &mut self.nodes[i] else {
                return;
            };
            let Some(core) = c.core.as_mut() else { return };
            let Some(action) = core.poll_action() else {
                return;
            };
            match action {
                ClientAction::Transmit(t) => {
                    let dst_mac = if t.destination == Ipv4Addr::BROADCAST {
                        Some(BROADCAST_MAC)
                    } else {
                        self.resolve(t.destination)
                    };
                    self.send(
                        i,
                        dst_mac,
                        SocketAddrV4::new(t.source, 68).into(),
                        SocketAddrV4::new(t.destination, 67).into(),
                        &t.payload,
                    );
                }
                ClientAction::Probe(address) => {
                    let in_use = self
                        .owners
                        .get(&address)
                        .is_some_and(|o| *o != i && self.segment.reachable(i, *o));
                    if let Node::Client(c) = &mut self.nodes[i]
                        && let Some(core) = c.core.as_mut()
                    {
                        core.handle_probe(now, address, in_use);
                    }
                }
                ClientAction::Configure(conf) => {
                    c.configured = Some(conf.address);
                    if let Some(other) = self.owners.get(&conf.address).copied()
                        && other != i
                        && self.segment.reachable(i, other)
                    {
                        let text = format!(
                            "{} configured {} while {} has it",
                            self.names[i], conf.address, self.names[other]
                        );
                        self.timeline.push(
                            now,
                            Entry::Check {
                                passed: false,
                                text: text.clone(),
                            },
                        );
                        self.violations.push(text);
                    } else {
                        self.owners.insert(conf.address, i);
                    }
                }
                ClientAction::Unconfigure(conf) => {
                    c.configured = None;
                    if self.owners.get(&conf.address) == Some(&i) {
                        self.owners.remove(&conf.address);
                    }
                }
                ClientAction::SaveLease(l) => c.saved = Some(l),
                ClientAction::ForgetLease => c.saved = None,
                ClientAction::RunProgram { run, event } => {
                    c.events.push(event.name().to_string());
                    core.handle_program_exit(now, run);
                    self.note(i, event.name());
                }
                ClientAction::SignalProgram { .. } | ClientAction::Log { .. } => {}
            }
        }
    }

    /// The hosts of `i`'s segments a broadcast or multicast to UDP `port` is handed to:
    /// servers for port 67; for port 68 the client whose link address a reply's `chaddr`
    /// names (the others would read and drop it); DHCPv6 servers and relay agents for 547,
    /// DHCPv6 clients for 546; peers always.
    fn listeners(&self, i: usize, port: u16, message: Option<&Message>) -> Vec<usize> {
        let mut out = self.peers.clone();
        match port {
            547 => out.extend(&self.servers6),
            546 => out.extend(&self.clients6),
            67 => out.extend(&self.servers),
            68 => {
                let chaddr = message
                    .filter(|m| m.op == Message::BOOTREPLY)
                    .and_then(|m| <[u8; 6]>::try_from(m.hardware_address()).ok());
                match chaddr {
                    Some(mac) => out.extend(self.by_mac.get(&mac).filter(|c| self.is_client(**c))),
                    None => out.extend((0..self.nodes.len()).filter(|c| self.is_client(*c))),
                }
            }
            _ => {}
        }
        if !self.one_segment {
            out.retain(|j| self.share(i, *j));
        }
        out.sort_unstable();
        out
    }

    /// Whether hosts `a` and `b` sit on a common segment.
    fn share(&self, a: usize, b: usize) -> bool {
        self.one_segment
            || self.segments[a]
                .iter()
                .any(|s| self.segments[b].contains(s))
    }

    fn is_client(&self, i: usize) -> bool {
        matches!(self.nodes[i], Node::Client(_))
    }

    /// The link address of whoever holds `address` (ARP, answered from the table).
    fn resolve(&self, address: Ipv4Addr) -> Option<[u8; 6]> {
        self.owners.get(&address).map(|i| self.macs[*i])
    }

    /// Frames a datagram from host `i` and puts it on the link (or notes why it could not go).
    pub(crate) fn send(
        &mut self,
        i: usize,
        dst_mac: Option<[u8; 6]>,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) {
        let now = self.now;
        let broadcast = dst_mac.is_some_and(|m| m[0] & 1 == 1);
        // The message is decoded when the timeline, the log or a broadcast to clients reads
        // it; the ACK ledger alone reads a DHCPv4 message in place.
        let ports = [src.port(), dst.port()];
        let v4_only = !ports.iter().any(|p| *p == 546 || *p == 547);
        let to_clients = broadcast && dst.port() == 68;
        let decoded = (self.timeline.record || self.keep_log || !v4_only || to_clients)
            .then(|| Payload::from_udp(src, dst, payload));
        let message = decoded.as_ref().and_then(Option::as_ref);
        // The label is for the timeline and for notes: made only when one needs it.
        let label = |message: Option<&Payload>| match message {
            Some(m) => m.describe(),
            None => Payload::from_udp(src, dst, payload).map_or_else(
                || format!("MALFORMED ({} bytes)", payload.len()),
                |m| m.describe(),
            ),
        };
        let Some(dst_mac) = dst_mac else {
            let how = if dst.is_ipv4() { "ARP" } else { "neighbour" };
            let text = format!(
                "no {how} answer for {}: {} not sent",
                dst.ip(),
                label(message)
            );
            self.note(i, &text);
            return;
        };
        // Multicast (DHCPv6's link-scoped ff02::1:2) goes with hop limit 1, as hosts send it
        // (Linux's IPV6_MULTICAST_HOPS default; the reference agent sets 1 too).
        let hops = if dst.ip().is_multicast() { 1 } else { 64 };
        self.frame.clear();
        if let Err(e) = dhcplab_frame::encode_udp_into(
            &mut self.frame,
            self.macs[i],
            dst_mac,
            src,
            dst,
            hops,
            payload,
        ) {
            let text = format!("cannot frame {}: {e}", label(message));
            self.note(i, &text);
            return;
        }
        let to = if broadcast {
            None
        } else {
            self.by_mac.get(&dst_mac).copied()
        };
        if let Some(t) = to
            && !self.share(i, t)
        {
            let text = format!(
                "{} is not on its segment: {} not sent",
                self.names[t],
                label(message)
            );
            self.note(i, &text);
            return;
        }
        // The segment reads listeners for broadcasts only.
        let listeners = if broadcast {
            self.listeners(i, dst.port(), message.and_then(Payload::v4))
        } else {
            Vec::new()
        };
        let record = self.timeline.record;
        let sent = self
            .segment
            .transmit_to(now, i, self.frame.as_slice(), &listeners);
        if sent == Sent::NoCarrier {
            let text = format!("no carrier: {} not sent", label(message));
            self.note(i, &text);
            return;
        }
        let at = now
            .duration_since(self.start)
            .unwrap_or_default()
            .as_nanos();
        let broken = match &decoded {
            Some(Some(Payload::V4(m))) => {
                let server = self.servers.contains(&i);
                self.ledger.observe(at, &self.names[i], server, m)
            }
            Some(Some(Payload::V6(m))) => {
                let server = matches!(self.nodes[i], Node::Server6(_));
                self.ledger.observe6(at, &self.names[i], server, m)
            }
            Some(None) => None,
            None if ports.iter().any(|p| *p == 67 || *p == 68) => {
                let server = self.servers.contains(&i);
                self.ledger
                    .observe_bytes(at, &self.names[i], server, payload)
            }
            None => None,
        };
        if let Some(broken) = broken {
            self.violate(broken);
        }
        let dest = match (broadcast, to) {
            (true, _) => Dest::Broadcast,
            (false, Some(t)) => Dest::Host(t),
            (false, None) => Dest::Nowhere,
        };
        if record {
            let label = label(message);
            self.timeline.push(
                now,
                Entry::Frame {
                    from: i,
                    to: dest,
                    frame: self.frame.clone(),
                    label,
                    fates: dhcplab_runner::fates(&sent, now),
                },
            );
        } else {
            // Counted all the same (the summary's frame count).
            self.timeline.frames_seen += 1;
        }
        if self.keep_log
            && let Some(Some(m)) = decoded
        {
            let chaddr_host = m
                .v4()
                .and_then(|m| <[u8; 6]>::try_from(m.hardware_address()).ok())
                .and_then(|mac| self.by_mac.get(&mac))
                .map(|h| self.names[*h].clone());
            self.log.push(Seen {
                at_ns: at,
                from: self.names[i].clone(),
                to: to.map(|t| self.names[t].clone()),
                broadcast,
                src: src.ip(),
                dst: dst.ip(),
                message: m,
                chaddr_host,
            });
        }
    }

    /// The state of a server's lease of `address` now.
    pub(crate) fn lease_state(
        &self,
        i: usize,
        address: Ipv4Addr,
    ) -> Result<(dhcplab_scenario::LeaseState, Option<LeaseRecord>), String> {
        let (core, now) = self.running_server(i)?;
        Ok(dhcplab_runner::lease_state(
            core.lease(address).map(LeaseRecord::V4),
            now,
        ))
    }

    /// Host `i`'s server core, if it is a running server, and the clock in seconds since 1970
    /// as lease expiries count.
    fn running_server(&self, i: usize) -> Result<(&Server, u64), String> {
        let Node::Server(s) = &self.nodes[i] else {
            return Err(format!("{} is not a server", self.names[i]));
        };
        let Some(core) = &s.core else {
            return Err(format!("{} is not running", self.names[i]));
        };
        let now = self
            .now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok((core, now))
    }

    /// How many active leases a server holds now.
    pub(crate) fn active_leases(&self, i: usize) -> Result<u64, String> {
        let (core, now) = self.running_server(i)?;
        Ok(core
            .leases()
            .iter()
            .filter(|l| dhcplab_runner::in_force(l, now))
            .count() as u64)
    }
}

impl World {
    /// The invariant on the servers' lease tables: a lease server `i` just wrote must not be
    /// an address another running server leases, now, to another client. An HA peer that
    /// serves no scope now (waiting, syncing, ready, the standby of hot-standby, a backup) is
    /// left out: it answers no client from its table, which may hold rows its partner has
    /// since changed (a peer killed while a lease was released and given again holds the first
    /// client's row until the partner's lease update or its own sync replaces it, and Kea's
    /// sync deletes no row). Once it serves, an ACK of an address another client holds is
    /// caught on the link ([`dhcplab_runner::invariant::AckLedger`]).
    fn check_lease_tables(&mut self, i: usize, row: &Lease4) {
        for k in 0..self.servers.len() {
            let j = self.servers[k];
            let Node::Server(s) = &self.nodes[j] else {
                continue;
            };
            let Some(core) = s.core.as_ref().filter(|_| j != i) else {
                continue;
            };
            if core.ha().is_some_and(|h| h.scopes().is_empty()) {
                continue;
            }
            let now = epoch(shift(self.now, s.clock_offset));
            let Some(other) = core.lease(row.address) else {
                continue;
            };
            if dhcplab_runner::invariant::leases_conflict(row, &other, now) {
                let text = dhcplab_runner::invariant::lease_conflict_text(
                    &self.names[i],
                    row,
                    &self.names[j],
                    &other,
                );
                self.violate(text);
            }
        }
    }

    fn violate(&mut self, text: String) {
        if self.violations.contains(&text) {
            return;
        }
        self.timeline.push(
            self.now,
            Entry::Check {
                passed: false,
                text: text.clone(),
            },
        );
        self.violations.push(text);
    }
}

/// How a churning client leaves: whether it releases (`either`: drawn), and how long it stays
/// away.
fn leave(churn: Option<Churn>, rng: &mut Rng) -> (bool, Duration) {
    let release = match churn.map(|ch| ch.leave) {
        Some(Leave::Drop) => false,
        Some(Leave::Either) => rng.chance(0.5),
        _ => true,
    };
    let down = churn.map(|ch| ch.down.draw(rng)).unwrap_or_default();
    (release, down)
}

/// An Ethernet frame's IPv4 UDP datagram, read by offsets: the frames virtual mode makes
/// (an IPv4 header without options, not fragmented, the datagram filling the rest). Anything
/// else (IPv6, VLAN tags, IP options) is `None`, for the full decoder.
fn udp4(frame: &[u8]) -> Option<(SocketAddrV4, SocketAddrV4, &[u8])> {
    let ip = frame.get(14..34)?;
    let plain = frame.get(12..14)? == [0x08, 0x00]
        && ip[0] == 0x45
        && ip[9] == 17
        && u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff == 0
        && usize::from(u16::from_be_bytes([ip[2], ip[3]])) == frame.len() - 14;
    if !plain {
        return None;
    }
    let udp = frame.get(34..42)?;
    if usize::from(u16::from_be_bytes([udp[4], udp[5]])) != frame.len() - 34 {
        return None;
    }
    let addr = |at: usize| Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]);
    let src = SocketAddrV4::new(addr(12), u16::from_be_bytes([udp[0], udp[1]]));
    let dst = SocketAddrV4::new(addr(16), u16::from_be_bytes([udp[2], udp[3]]));
    Some((src, dst, frame.get(42..)?))
}

/// The earlier of two deadlines, either of which may be missing.
fn earliest(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// `t` moved by `secs` seconds (a server's clock offset).
fn shift(t: SystemTime, secs: i64) -> SystemTime {
    let d = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        t + d
    } else {
        t.checked_sub(d).unwrap_or(t)
    }
}

/// Seconds since 1970 of `t`.
fn epoch(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The leases a lease file holds: the last row of each address wins, a row of lifetime 0
/// deletes (Kea's memfile).
fn replay_rows(rows: &[Lease4]) -> Vec<Lease4> {
    let mut by: BTreeMap<Ipv4Addr, Lease4> = BTreeMap::new();
    for r in rows {
        if r.valid_lifetime == 0 {
            by.remove(&r.address);
        } else {
            by.insert(r.address, r.clone());
        }
    }
    by.into_values().collect()
}

impl Network for World {
    fn start(&self) -> SystemTime {
        self.start
    }

    fn now(&self) -> SystemTime {
        self.now
    }

    fn run_until(&mut self, target: SystemTime, done: &mut dyn FnMut(&[Seen]) -> bool) -> bool {
        self.advance(target, done)
    }

    fn log(&self) -> &[Seen] {
        &self.log
    }

    fn timeline(&mut self) -> &mut Timeline {
        &mut self.timeline
    }

    fn violation(&self) -> Option<String> {
        self.violations.first().cloned()
    }

    fn stuck(&self) -> Option<String> {
        self.stuck.clone()
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    fn mac(&self, i: usize) -> [u8; 6] {
        self.macs[i]
    }

    fn address_of(&self, i: usize) -> Option<Ipv4Addr> {
        World::address_of(self, i)
    }

    fn start_host(&mut self, i: usize) -> Result<(), String> {
        World::start_host(self, i)
    }

    fn stop_host(&mut self, i: usize, graceful: bool) {
        World::stop_host(self, i, graceful);
    }

    fn carrier(&mut self, i: usize, up: bool) {
        self.segment.set_carrier(i, up);
        self.client_host_event(
            i,
            if up {
                HostEvent::LinkUp
            } else {
                HostEvent::LinkDown
            },
        );
    }

    fn suspend(&mut self, i: usize, suspended: bool) {
        World::suspend(self, i, suspended);
    }

    fn host_event(&mut self, i: usize, event: HostEvent) -> Result<(), String> {
        if matches!(self.nodes[i], Node::Client6(_)) {
            let event = world6::host_event_of(event)?;
            self.host_event6(i, event);
        } else {
            self.client_host_event(i, event);
        }
        Ok(())
    }

    fn partition(&mut self, hosts: &[usize]) {
        self.segment.partition(hosts);
    }

    fn heal(&mut self, hosts: &[usize]) {
        if hosts.is_empty() {
            self.segment.heal_all();
        } else {
            self.segment.heal(hosts);
        }
    }

    fn set_faults(&mut self, i: usize, faults: Faults) {
        self.segment.set_faults(i, faults);
    }

    fn inject(
        &mut self,
        i: usize,
        dst_mac: [u8; 6],
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) {
        self.send(i, Some(dst_mac), src, dst, payload);
    }

    fn reconfigure(&mut self, i: usize, config: &ServerConfig) -> Result<(), String> {
        let now = self.now;
        let json = if config.dhcp4.hooks_libraries.is_empty() {
            config.json.clone()
        } else {
            self.placeholders(i)?.apply_json(&config.json)
        };
        if let Node::Server(s) = &mut self.nodes[i] {
            if let Some(core) = s.core.as_mut() {
                // As a control command, the way TAP mode and an operator reconfigure.
                let command = serde_json::json!({ "command": "config-set", "arguments": json });
                match core.handle_command(now, &command.to_string()) {
                    CommandOutcome::Answer(a) if a["result"] == 0 => {}
                    CommandOutcome::Answer(a) => {
                        return Err(a["text"].as_str().unwrap_or("refused").to_string());
                    }
                    CommandOutcome::ReloadFromFile => {
                        return Err("config-set answered as config-reload".into());
                    }
                }
            }
            s.config = config.clone();
        }
        self.drain_server(i);
        Ok(())
    }

    fn hook_calls(&self, i: usize) -> Result<Vec<String>, String> {
        match &self.hook_files {
            Some(d) => dhcplab_runner::hookfiles::read_trace(
                &Placeholders::in_dir(&d.path().join(&self.names[i])).trace,
            ),
            None => Ok(Vec::new()),
        }
    }

    fn command(&mut self, i: usize, command: &str) -> Result<serde_json::Value, String> {
        let now = self.clock_of(i);
        if let Node::Server6(s) = &mut self.nodes[i] {
            let Some(core) = s.core.as_mut() else {
                return Err(format!("{} is not running", self.names[i]));
            };
            let answer = match core.handle_command(now, command) {
                dhcplab_server6::CommandOutcome::Answer(a) => a,
                dhcplab_server6::CommandOutcome::ReloadFromFile => {
                    serde_json::json!({ "result": 1, "text": "config-reload: virtual servers have no configuration file" })
                }
            };
            self.drain_server6(i);
            self.rearm(i);
            return Ok(answer);
        }
        let Node::Server(s) = &mut self.nodes[i] else {
            return Err(format!("{} is not a server", self.names[i]));
        };
        let Some(core) = s.core.as_mut() else {
            return Err(format!("{} is not running", self.names[i]));
        };
        let answer = match core.handle_command(now, command) {
            CommandOutcome::Answer(a) => a,
            CommandOutcome::ReloadFromFile => {
                serde_json::json!({ "result": 1, "text": "config-reload: virtual servers have no configuration file" })
            }
        };
        self.drain_server(i);
        self.rearm(i);
        Ok(answer)
    }

    fn ha_state(&self, i: usize) -> Result<String, String> {
        let (core, _) = self.running_server(i)?;
        core.ha()
            .map(|h| h.state().name().to_string())
            .ok_or_else(|| format!("{} runs no HA (libdhcp_ha.so)", self.names[i]))
    }

    fn script_runs(&self, i: usize) -> Result<Vec<ScriptRun>, String> {
        match &self.nodes[i] {
            Node::Server(s) => Ok(s.scripts.clone()),
            Node::Server6(s) => Ok(s.scripts.clone()),
            _ => Err(format!("{} is not a server", self.names[i])),
        }
    }

    fn events(&self, i: usize) -> Vec<String> {
        match &self.nodes[i] {
            Node::Client(c) => c.events.clone(),
            Node::Client6(c) => c.events.clone(),
            _ => Vec::new(),
        }
    }

    fn client(&self, i: usize) -> Option<ClientView> {
        if let Node::Client6(c) = &self.nodes[i] {
            return Some(World::client_view6(c));
        }
        let Node::Client(c) = &self.nodes[i] else {
            return None;
        };
        let state = match &c.core {
            Some(core) => dhcplab_runner::state_name(&format!("{:?}", core.state())),
            None => "stopped".to_string(),
        };
        Some(ClientView {
            state,
            address: c.configured,
            ..ClientView::default()
        })
    }

    fn lease_state(
        &self,
        i: usize,
        of: LeaseKey,
    ) -> Result<(dhcplab_scenario::LeaseState, Option<LeaseRecord>), String> {
        match of {
            LeaseKey::Address(IpAddr::V4(a)) => World::lease_state(self, i, a),
            LeaseKey::Address(IpAddr::V6(a)) => self.lease_state6(i, LeaseType::Na, a, 128),
            LeaseKey::Prefix(p, len) => self.lease_state6(i, LeaseType::Pd, p, len),
        }
    }

    fn active_leases(&self, i: usize) -> Result<u64, String> {
        if matches!(self.nodes[i], Node::Server6(_)) {
            return self.active_leases6(i);
        }
        World::active_leases(self, i)
    }
}
