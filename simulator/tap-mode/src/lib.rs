//! TAP mode: a scenario's hosts are network namespaces on the simulator's switch, running real
//! processes in real time. Servers are the reference server (`dhcplab server`) or kea-dhcp4,
//! given the scenario's own Kea configuration, or ISC dhcpd or dnsmasq, given its translation
//! ([`dhcplab_adapters::translate`]; DHCPv4 only, and a scenario whose configuration or steps
//! need what the translation cannot carry is skipped with the key that stops it); clients are the reference agent (`dhcplab
//! agent`) or a real client (dhclient, udhcpc, dhcpcd: their hook's reasons read as dhcpagent's
//! events); scripted peers send through the switch. The steps are played by
//! [`dhcplab_runner`], as in virtual mode, against what the switch captured, what the clients'
//! event programs logged, what their control sockets say and what the servers' lease files
//! hold.
//!
//! DHCPv6 hosts run the same way: a v6 server is the reference server or kea-dhcp6 on the
//! scenario's `Dhcp6` map, with its global address on its interface; a v6 client is the
//! reference agent (`dhcplab agent -6`, told what the host asks for) or dhclient -6 / dhcpcd
//! -6; the namespaces have IPv6 with DAD off, and ff02::1:2 reaches every host on the switch.
//! Relays need hosts on two segments, which TAP mode's one switch does not have yet: such
//! scenarios are skipped.
//!
//! Time is real: a scenario runs as long as its steps say, so TAP mode suits scenarios written
//! with short lifetimes. What TAP mode cannot do yet is found before the run starts, and the
//! scenario is skipped with the reason ([`Unsupported`]).

use dhcplab_adapters::clients::{self, Client};
use dhcplab_adapters::clients6::{self, Ask6};
use dhcplab_adapters::servers::Server;
use dhcplab_adapters::wait_until;
use dhcplab_client::HostEvent;
use dhcplab_memfile::{Lease4, Lease6};
use dhcplab_runner::hookfiles::{Placeholders, ScriptRun};
use dhcplab_runner::{ClientView, LeaseKey, LeaseRecord, Network, Payload, Seen};
use dhcplab_scenario::{Act, LeaseState, Role, Scenario, ServerConfig, What};
use dhcplab_tap::{Control, Lab};
use dhcplab_timeline::{Dest, Entry, Timeline};
use dhcplab_vnet::{Faults, Sent};
use dhcplab_wire::v6;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, SystemTime};

/// How long a server may take to listen on port 67.
const READY: Duration = Duration::from_secs(10);
/// How often the hosts' state is read while time passes.
const POLL: Duration = Duration::from_millis(10);
/// What real processes may take beyond a step's window: scheduling, the switch's tick, the
/// capture being read.
pub const SLACK: Duration = Duration::from_millis(500);
/// How long a state expectation may take to hold: the reference agent's ARP probe (1 s) before
/// it binds, its event program, and the lease file being written.
pub const SETTLE: Duration = Duration::from_secs(2);

/// How long before its time a state expectation may already hold: lease files keep whole
/// seconds (a lease written at 2.98 s expires a second early), a server's reclaim timer runs
/// from its own start, before time zero, and the step the time counts from may have ended
/// late by up to the slack (a kill right after an ACK the runner saw a little late).
pub const LOOKBACK: Duration = Duration::from_secs(1).saturating_add(SLACK);

/// The scenario features (`requires`) TAP mode runs: short lifetimes, and DHCPv6 with
/// prefix delegation and rapid commit. Relays (`relay`, hosts on two segments), DAD against a
/// defending peer (`dad`) and DHCPv6 hooks libraries (`hooks`) are not run yet.
pub const FEATURES: &[&str] = &["short-lifetimes", "v6", "pd", "rapid-commit"];

/// The most clients a TAP run starts: each is a namespace, a TAP device on the switch and a
/// process, and with more than one server the clients' interfaces are read every
/// [`SAMPLE`].
pub const MAX_CLIENTS: usize = 64;

/// How often, with more than one server, the servers' lease files and the clients'
/// interfaces are checked for an address two clients hold at once while time passes (beside
/// the check after every step).
pub const SAMPLE: Duration = Duration::from_secs(2);

/// The stacks a TAP run puts on the scenario's hosts.
#[derive(Debug, Clone)]
pub struct Stacks {
    /// The server on every server host: the reference server or kea-dhcp4 (kea-dhcp6 on a
    /// DHCPv6 server host), or ISC dhcpd or dnsmasq on a translation of the configuration.
    pub server: Server,
    /// The client on every client host: the reference agent or a real client (its DHCPv6
    /// form on a DHCPv6 client host).
    pub client: Client,
    /// The `dhcplab` binary, for the reference stacks.
    pub dhcplab: PathBuf,
}

/// Why a scenario cannot run in TAP mode (yet): it is skipped with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unsupported(pub String);

/// Why a TAP run could not start.
#[derive(Debug, thiserror::Error)]
pub enum TapModeError {
    /// The scenario asks for what TAP mode does not do.
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
    /// The network could not be built (no root, no /dev/net/tun).
    #[error("cannot build the TAP network: {0}")]
    Network(#[from] dhcplab_tap::TapError),
    /// A stack could not be set up or started.
    #[error("{0}")]
    Stack(String),
}

/// Checks that TAP mode can run `scenario` with `stacks` in at most `longest` of real time;
/// the reason when it cannot.
pub fn supports(
    scenario: &Scenario,
    stacks: &Stacks,
    longest: Duration,
) -> Result<(), Unsupported> {
    let no = |why: String| Err(Unsupported(why));
    let takes = scenario.longest();
    if takes > longest {
        return no(format!(
            "takes up to {} of real time in TAP mode, more than {} (--max-real-time)",
            dhcplab_scenario::format_duration(takes),
            dhcplab_scenario::format_duration(longest)
        ));
    }
    if let Some(why) = not_translated(scenario, stacks.server) {
        return no(why);
    }
    if stacks.server == Server::Kea {
        if let Some(lib) = foreign_hooks(scenario).next() {
            return no(format!(
                "lists the hooks library {lib}, which kea-dhcp4 cannot load (only Kea's own, libdhcp_*.so)"
            ));
        }
    }
    if let Some(r) = scenario
        .requires
        .iter()
        .find(|r| !FEATURES.contains(&r.as_str()))
    {
        return no(format!("requires {r}, which TAP mode does not run yet"));
    }
    if let Some(why) = not_wired_v6(scenario, stacks.client) {
        return no(why);
    }
    if let Some(h) = scenario.hosts.iter().find(|h| match &h.role {
        Role::Server(s) => s.clock_offset != 0,
        Role::Server6(s) => s.clock_offset != 0,
        _ => false,
    }) {
        return no(format!(
            "server {} has a clock offset, which only virtual mode gives a host",
            h.name
        ));
    }
    let clients = scenario
        .hosts
        .iter()
        .filter(|h| matches!(h.role, Role::Client(_) | Role::Client6(_)))
        .count();
    if clients > MAX_CLIENTS {
        return no(format!(
            "{clients} clients: TAP mode runs a namespace per host, {MAX_CLIENTS} clients at most"
        ));
    }
    for h in &scenario.hosts {
        if let Role::Client(c) = &h.role {
            let real = matches!(stacks.client, Client::Real(_));
            let unsupported = [
                (c.churn.is_some() && real, "churn"),
                (c.bootp, "bootp"),
                (!c.probe, "probe = false"),
                (c.client_id.is_some(), "client-id"),
                (c.hostname.is_some(), "hostname"),
                (c.offer_wait.is_some(), "offer-wait"),
            ];
            if let Some((_, what)) = unsupported.iter().find(|(on, _)| *on) {
                return no(format!(
                    "client {} has {what}, which TAP mode does not give {} yet",
                    h.name,
                    if real { "a real client" } else { "a client" }
                ));
            }
        }
    }
    if let Client::Real(r) = stacks.client {
        for step in &scenario.steps {
            let what = match &step.what {
                What::Act(Act::Drop(_)) => "drop",
                What::Act(Act::Inform { .. }) => "inform",
                _ => continue,
            };
            return no(format!(
                "step at line {} asks for {what}, which TAP mode orders only the reference agent to do, not {}",
                step.place.line,
                r.program()
            ));
        }
    }
    Ok(())
}

/// Why `scenario` cannot run on `server` when it is a server that takes a translation of
/// the scenario's Kea configuration (ISC dhcpd, dnsmasq; [`dhcplab_adapters::translate`]): a
/// DHCPv6 server host, a configuration (at the start or in a reconfigure step) with a key the
/// translation cannot carry, or a step that needs what only Kea has (its control socket, HA,
/// hooks libraries, a refused reload). None for the servers that read Kea's configuration.
fn not_translated(scenario: &Scenario, server: Server) -> Option<String> {
    let target = server.translation()?;
    let program = server.program();
    let mut reserves = false;
    for h in &scenario.hosts {
        match &h.role {
            Role::Server6(_) => {
                return Some(format!(
                    "server {} is a DHCPv6 server: TAP mode runs {program} on DHCPv4 scenarios only",
                    h.name
                ));
            }
            Role::Server(s) => {
                if let Err(u) =
                    dhcplab_adapters::translate::check(&s.config.json, target, s.address)
                {
                    return Some(format!(
                        "server {}'s configuration has {}, which TAP mode cannot give {program}: {}",
                        h.name, u.key, u.why
                    ));
                }
                reserves |= dhcplab_adapters::translate::has_reservations(&s.config.json);
            }
            _ => {}
        }
    }
    for step in &scenario.steps {
        let line = step.place.line;
        let (needs, because) = match &step.what {
            What::Act(Act::Command { .. }) => ("a control command", " (Kea's control socket)"),
            What::Expect(dhcplab_scenario::Expect::HaState { .. }) => {
                ("an HA state", " (Kea's HA hook)")
            }
            What::Expect(dhcplab_scenario::Expect::HookCalls { .. }) => {
                ("hook calls", " (hooks libraries)")
            }
            What::Expect(dhcplab_scenario::Expect::Scripts { .. }) => {
                ("run-script hook runs", " (hooks libraries)")
            }
            What::Act(Act::Reconfigure { refused: true, .. }) => {
                ("a configuration the server refuses", " (Kea's config-set)")
            }
            What::Act(Act::Reconfigure { host, config, .. }) => {
                let address = scenario.hosts.iter().find_map(|h| match &h.role {
                    Role::Server(s) if &h.name == host => Some(s.address),
                    _ => None,
                })?;
                if let Err(u) = dhcplab_adapters::translate::check(&config.json, target, address) {
                    return Some(format!(
                        "the configuration of the step at line {line} has {}, which TAP mode cannot give {program}: {}",
                        u.key, u.why
                    ));
                }
                reserves |= dhcplab_adapters::translate::has_reservations(&config.json);
                continue;
            }
            What::Expect(dhcplab_scenario::Expect::Lease {
                state: LeaseState::Expired | LeaseState::Reclaimed,
                ..
            }) => (
                "a lease expired or reclaimed",
                ": it frees a lease the moment it ends, with no reclaim timer and no expired-reclaimed state (Kea's expired-leases-processing)",
            ),
            What::Expect(dhcplab_scenario::Expect::Lease {
                state: LeaseState::Declined,
                ..
            }) if server == Server::Dnsmasq => (
                "a declined lease",
                ": it keeps no lease of a declined address in its lease file",
            ),
            What::Expect(
                dhcplab_scenario::Expect::Lease { .. } | dhcplab_scenario::Expect::Leases { .. },
            ) if reserves && server == Server::Dhcpd => (
                "a lease while the configuration has reservations",
                ": it keeps no lease of a fixed-address host in dhcpd.leases",
            ),
            _ => continue,
        };
        return Some(format!(
            "the step at line {line} asks for {needs}, which {program} does not have{because}"
        ));
    }
    None
}

/// Why TAP mode cannot run the DHCPv6 part of `scenario` with `client` on its client hosts
/// yet: relays and hosts on segments other than the default one (TAP mode has one switch),
/// a churning client, a client without DHCPv6, or a real client asked for what only the
/// reference agent is told (more than one IA_NA, IA_PDs, rapid commit, information-only, a
/// given DUID).
fn not_wired_v6(scenario: &Scenario, client: Client) -> Option<String> {
    for h in &scenario.hosts {
        let Role::Client6(c) = &h.role else {
            if let Role::Relay(_) = &h.role {
                return Some(format!(
                    "{} is a relay: relays need segments, which TAP mode does not wire yet",
                    h.name
                ));
            }
            continue;
        };
        if c.churn.is_some() {
            return Some(format!(
                "client {} has churn, which TAP mode does not give a client yet",
                h.name
            ));
        }
        if let Some(why) = client.v6_unsupported() {
            return Some(format!("client {} is a DHCPv6 client: {why}", h.name));
        }
        if let Client::Real(r) = client {
            let unsupported = [
                (c.ia_pd != 0, "ia-pd"),
                (c.rapid_commit, "rapid-commit"),
                (c.information_only, "information-only"),
                (c.duid.is_some(), "duid"),
                (c.ia_na != 1, "an IA_NA count other than 1"),
            ];
            if let Some((_, what)) = unsupported.iter().find(|(on, _)| *on) {
                return Some(format!(
                    "client {} has {what}, which TAP mode gives only the reference agent, not {} -6",
                    h.name,
                    r.program()
                ));
            }
        }
    }
    scenario
        .hosts
        .iter()
        .find(|h| h.segment != dhcplab_scenario::v6::DEFAULT_SEGMENT)
        .map(|h| {
            format!(
                "segments are not wired into TAP mode yet ({} is on {:?})",
                h.name, h.segment
            )
        })
}

/// The hooks libraries the scenario's server configurations list (at the start or in a
/// reconfigure step) that are not Kea's own (`libdhcp_*.so`).
fn foreign_hooks(scenario: &Scenario) -> impl Iterator<Item = String> + '_ {
    let initial = scenario.hosts.iter().flat_map(|h| match &h.role {
        Role::Server(s) => s.config.dhcp4.hooks_libraries.iter(),
        Role::Server6(s) => s.config.dhcp6.hooks_libraries.iter(),
        _ => [].iter(),
    });
    let reloaded = scenario.steps.iter().flat_map(|s| match &s.what {
        What::Act(Act::Reconfigure { config, .. }) => config.dhcp4.hooks_libraries.iter(),
        _ => [].iter(),
    });
    initial
        .chain(reloaded)
        .map(|l| l.library.clone())
        .filter(|l| {
            !l.rsplit('/')
                .next()
                .is_some_and(|f| f.starts_with("libdhcp_"))
        })
}

/// A host's process and files.
enum Node {
    Server {
        /// Its address: IPv4 for a DHCPv4 server, its global IPv6 address for a DHCPv6 one.
        address: IpAddr,
        /// Its Kea configuration: a `Dhcp4` or a `Dhcp6` map.
        config: serde_json::Value,
        dir: PathBuf,
        child: Option<Child>,
        /// Its kea-ctrl-agent, when its kea-dhcp4 loads Kea's high availability hook
        /// ([`Server::ctrl_agent_command`]): the partner's HA commands reach the server
        /// through it. It runs in the host's namespace, starts, stops, is signalled and dies
        /// with `child`, as one machine.
        agent: Option<Child>,
    },
    Client {
        dir: PathBuf,
        child: Option<Child>,
        /// The events its program logged, read so far, each with when it ran (from time zero;
        /// when it was read if the hook did not say) and the dhcpagent event it stands for.
        events: Vec<(Duration, String, Option<String>)>,
        /// The length of its hook log when it was last read.
        log_len: u64,
        /// When it is started, from time zero, until it is.
        start_at: Option<Duration>,
        /// What it asks for, when it is a DHCPv6 client.
        v6: Option<Ask6>,
        /// How it comes and goes, when it churns (a DHCPv4 reference agent).
        churn: Option<Churning>,
    },
    Peer(Option<Ipv4Addr>),
}

/// A churning client's schedule: it leaves (releases or drops its lease, and its process
/// ends) a time drawn from `up` after it starts, and starts again on its lease file a time
/// drawn from `down` later, as in virtual mode.
struct Churning {
    churn: dhcplab_scenario::Churn,
    rng: dhcplab_rng::Rng,
    /// When it leaves next, from time zero, while it runs.
    leave_at: Option<Duration>,
}

/// A scenario's hosts on TAP hosts, with their stacks running.
pub struct TapNetwork {
    lab: Lab,
    stacks: Stacks,
    names: Vec<String>,
    macs: Vec<[u8; 6]>,
    nodes: Vec<Node>,
    start: SystemTime,
    /// Frames of the capture already read.
    read: usize,
    /// The hosts whose process is stopped (SIGSTOP) by a suspend.
    suspended: Vec<bool>,
    /// The hosts whose process may end by itself (a real client after its release).
    may_exit: Vec<bool>,
    /// What went wrong while time passed or an action was carried out (a client that did not
    /// start, a restart or a carrier change that failed): it fails the run.
    trouble: Option<String>,
    log: Vec<Seen>,
    timeline: Timeline,
    /// When the lease files and clients' interfaces were last checked ([`SAMPLE`]).
    sampled: SystemTime,
    /// The first address found held by two clients at once while time passed.
    broken: Option<String>,
}

impl std::fmt::Debug for TapNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapNetwork")
            .field("lab", &self.lab)
            .field("hosts", &self.names)
            .finish_non_exhaustive()
    }
}

/// The prefix length of the subnet in the Kea configuration `config` that holds `address`
/// (a `subnet4` of its `Dhcp4` map, or a `subnet6` of its `Dhcp6` map); 24 (IPv4) or 64
/// (IPv6) if none does.
fn prefix_of(config: &serde_json::Value, address: IpAddr) -> u8 {
    let (pointer, bits, default) = match address {
        IpAddr::V4(_) => ("/Dhcp4/subnet4", 32u32, 24),
        IpAddr::V6(_) => ("/Dhcp6/subnet6", 128, 64),
    };
    let number = |a: IpAddr| match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    config
        .pointer(pointer)
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("subnet").and_then(serde_json::Value::as_str))
        .filter_map(|s| {
            let (net, len) = s.split_once('/')?;
            let (net, len): (IpAddr, u8) = (net.parse().ok()?, len.parse().ok()?);
            if net.is_ipv4() != address.is_ipv4() {
                return None;
            }
            let low = bits.checked_sub(u32::from(len))?;
            let mask = (u128::MAX >> (128 - bits)).checked_shl(low).unwrap_or(0)
                & (u128::MAX >> (128 - bits));
            (number(address) & mask == number(net) & mask).then_some(len)
        })
        .next()
        .unwrap_or(default)
}

impl TapNetwork {
    /// Builds the hosts of `scenario` under the run directory `dir` and starts its servers
    /// (ready when they listen on port 67) and clients; time zero is when the clients start.
    pub fn new(
        scenario: &Scenario,
        stacks: Stacks,
        dir: &Path,
        seed: u64,
        record: bool,
    ) -> Result<Self, TapModeError> {
        supports(scenario, &stacks, Duration::MAX)?;
        let mut lab = Lab::new();
        for h in &scenario.hosts {
            lab.add_host(&h.name, h.mac)?;
        }
        lab.start_switch(seed, scenario.hosts.iter().map(|h| h.link).collect())?;
        let mut nodes = Vec::new();
        for (i, h) in scenario.hosts.iter().enumerate() {
            let host = &lab.hosts()[i];
            let here = dir.join(&h.name);
            if here.exists() {
                std::fs::remove_dir_all(&here)
                    .map_err(|e| TapModeError::Stack(format!("{}: {e}", here.display())))?;
            }
            std::fs::create_dir_all(&here)
                .map_err(|e| TapModeError::Stack(format!("{}: {e}", here.display())))?;
            let start_at = |start: &dhcplab_scenario::Span| {
                Some(start.draw(&mut dhcplab_rng::Rng::fork(seed, &h.name)))
            };
            let client = |start_at, v6, churn: Option<dhcplab_scenario::Churn>| Node::Client {
                dir: here.clone(),
                child: None,
                events: Vec::new(),
                log_len: 0,
                start_at,
                v6,
                churn: churn.map(|churn| Churning {
                    churn,
                    rng: dhcplab_rng::Rng::fork(seed, &format!("{}/churn", h.name)),
                    leave_at: None,
                }),
            };
            let server =
                |address: IpAddr, config: &serde_json::Value| -> Result<Node, TapModeError> {
                    host_address(host, address, prefix_of(config, address))?;
                    Ok(Node::Server {
                        address,
                        config: config.clone(),
                        dir: here.clone(),
                        child: None,
                        agent: None,
                    })
                };
            nodes.push(match &h.role {
                Role::Server(s) => server(s.address.into(), &s.config.json)?,
                Role::Server6(s) => server(s.address.into(), &s.config.json)?,
                Role::Client(c) => client(start_at(&c.start), None, c.churn),
                Role::Client6(c) => client(
                    start_at(&c.start),
                    Some(Ask6 {
                        ia_na: c.ia_na,
                        ia_pd: c.ia_pd,
                        rapid_commit: c.rapid_commit,
                        information_only: c.information_only,
                        request: c.request.clone(),
                        duid: c.duid.clone(),
                    }),
                    None,
                ),
                Role::Peer(p) => {
                    if let Some(a) = p.address {
                        host_address(host, a.into(), 24)?;
                    }
                    if let Some(a) = p.address6 {
                        host_address(host, a.into(), 64)?;
                    }
                    Node::Peer(p.address)
                }
                Role::Relay(_) => {
                    return Err(TapModeError::Unsupported(Unsupported(format!(
                        "{} is a relay: relays need segments, which TAP mode does not wire yet",
                        h.name
                    ))));
                }
            });
        }
        let names: Vec<String> = scenario.hosts.iter().map(|h| h.name.clone()).collect();
        let mut net = TapNetwork {
            lab,
            stacks,
            macs: scenario.hosts.iter().map(|h| h.mac).collect(),
            timeline: Timeline::new(SystemTime::now(), names.clone(), record),
            names,
            nodes,
            start: SystemTime::now(),
            read: 0,
            suspended: vec![false; scenario.hosts.len()],
            trouble: None,
            may_exit: vec![false; scenario.hosts.len()],
            log: Vec::new(),
            sampled: SystemTime::now(),
            broken: None,
        };
        for i in 0..net.nodes.len() {
            if matches!(net.nodes[i], Node::Server { .. }) {
                net.spawn(i)?;
            }
        }
        net.start = SystemTime::now();
        net.timeline.start = net.start;
        net.start_due_clients()?;
        Ok(net)
    }
}

/// Puts `address`/`prefix` on `host`'s TAP device (an IPv6 one without duplicate address
/// detection, which the lab's namespaces do not run).
fn host_address(host: &dhcplab_tap::Host, address: IpAddr, prefix: u8) -> Result<(), TapModeError> {
    let with = format!("{address}/{prefix}");
    let mut args = vec!["addr", "add", &with, "dev", &host.tap];
    if address.is_ipv6() {
        args.push("nodad");
    }
    host.ip(&args)?;
    Ok(())
}

impl TapNetwork {
    /// Starts the clients whose start time has come.
    fn start_due_clients(&mut self) -> Result<(), TapModeError> {
        let now = SystemTime::now()
            .duration_since(self.start)
            .unwrap_or_default();
        for i in 0..self.nodes.len() {
            if let Node::Client { start_at, .. } = &mut self.nodes[i]
                && start_at.is_some_and(|at| at <= now)
            {
                *start_at = None;
                self.spawn(i)?;
            }
        }
        Ok(())
    }

    /// Makes the churning clients whose time to leave has come leave: each releases its lease
    /// (ordered on its agent's control socket) or drops it (drawn as virtual mode draws it:
    /// `either` by a coin toss), and its agent is stopped with SIGTERM, to start again on its
    /// lease file when the time drawn from its churn's `down` has passed
    /// ([`Self::start_due_clients`]).
    fn churn_due(&mut self) {
        let now = SystemTime::now()
            .duration_since(self.start)
            .unwrap_or_default();
        for i in 0..self.nodes.len() {
            let Node::Client {
                child: Some(_),
                churn: Some(c),
                ..
            } = &mut self.nodes[i]
            else {
                continue;
            };
            if c.leave_at.is_none_or(|at| at > now) {
                continue;
            }
            c.leave_at = None;
            let release = match c.churn.leave {
                dhcplab_scenario::Leave::Drop => false,
                dhcplab_scenario::Leave::Either => c.rng.chance(0.5),
                dhcplab_scenario::Leave::Release => true,
            };
            let down = c.churn.down.draw(&mut c.rng);
            self.note(
                i,
                format!(
                    "leaves ({}), back in {}",
                    if release { "release" } else { "drop" },
                    dhcplab_scenario::format_duration(down)
                ),
            );
            // The agent takes orders and SIGTERM in the order they come, and drops its lease
            // on SIGTERM: a release is ordered first. It ends once it has given the address
            // back (RELEASE sent, address off its interface, event program run); killed at
            // once, it could leave the address configured in its namespace.
            if release && let Err(e) = self.host_event(i, HostEvent::Release) {
                self.note(i, format!("leaving: {e}"));
            }
            self.halt(i, true);
            if let Node::Client { start_at, .. } = &mut self.nodes[i] {
                *start_at = Some(now + down);
            }
        }
    }

    /// The indices of the server hosts.
    fn servers(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| matches!(self.nodes[*i], Node::Server { .. }))
            .collect()
    }

    /// An address that two running DHCPv4 clients have configured on their interfaces at
    /// once, as a text naming both.
    fn interface_conflict(&self) -> Option<String> {
        let mut held: Vec<(Ipv4Addr, usize)> = Vec::new();
        for i in 0..self.nodes.len() {
            if !matches!(
                self.nodes[i],
                Node::Client {
                    child: Some(_),
                    v6: None,
                    ..
                }
            ) {
                continue;
            }
            let Some(a) = self.configured(i) else {
                continue;
            };
            if let Some((_, k)) = held.iter().find(|(b, _)| *b == a) {
                return Some(format!(
                    "{a} is configured on the interfaces of both {} and {}",
                    self.names[*k], self.names[i]
                ));
            }
            held.push((a, i));
        }
        None
    }

    /// With more than one server, every [`SAMPLE`]: the first address found held by two
    /// clients at once, by the servers' lease files or the clients' interfaces, is kept in
    /// `broken` and fails the run after the step under way.
    fn sample(&mut self) {
        let now = SystemTime::now();
        if self.broken.is_some()
            || now.duration_since(self.sampled).unwrap_or_default() < SAMPLE
            || self.servers().len() < 2
        {
            return;
        }
        self.sampled = now;
        let at = now.duration_since(self.start).unwrap_or_default();
        self.broken = self
            .table_conflict()
            .or_else(|| self.interface_conflict())
            .map(|v| format!("at {:.1} s: {v}", at.as_secs_f64()));
    }

    /// The first address the running servers' lease files lease to two clients at once.
    fn table_conflict(&self) -> Option<String> {
        let (v6, v4): (Vec<usize>, Vec<usize>) = self
            .servers()
            .into_iter()
            .partition(|i| self.is_server6(*i));
        let tables: Vec<(String, Vec<Lease4>)> = v4
            .iter()
            .filter_map(|i| self.leases(*i).ok().map(|l| (self.names[*i].clone(), l)))
            .collect();
        let tables6: Vec<(String, Vec<Lease6>)> = v6
            .iter()
            .filter_map(|i| self.leases6(*i).ok().map(|l| (self.names[*i].clone(), l)))
            .collect();
        let now = Self::epoch_secs();
        dhcplab_runner::invariant::table_conflicts(&tables, now)
            .into_iter()
            .chain(dhcplab_runner::invariant::table_conflicts(&tables6, now))
            .next()
    }

    /// Starts host `i`'s stack; a server is waited for until it listens, and then its control
    /// agent, when it has one, until that listens on its HA peer url.
    fn spawn(&mut self, i: usize) -> Result<(), TapModeError> {
        let now = SystemTime::now()
            .duration_since(self.start)
            .unwrap_or_default();
        let host = &self.lab.hosts()[i];
        let in_ns = |p: &str| host.command(p);
        let fail = |e: String| TapModeError::Stack(format!("{}: {e}", self.names[i]));
        match &mut self.nodes[i] {
            Node::Server {
                address,
                config,
                dir,
                child,
                agent,
            } => {
                let mark = self.stacks.server.log_mark(dir);
                let config = hooked(config, dir).map_err(fail)?;
                let (server, dhcplab) = (self.stacks.server, &self.stacks.dhcplab);
                let v6 = address.is_ipv6();
                if let (IpAddr::V4(a), Some(_)) = (&address, server.translation()) {
                    // dhcpd and dnsmasq answer a relay (or a client of a subnet tied to the
                    // interface) through the kernel: its subnet is on the link.
                    for (net, len) in dhcplab_adapters::translate::other_subnets(&config, *a) {
                        let to = format!("{net}/{len}");
                        host.ip(&["route", "replace", &to, "dev", &host.tap])
                            .map_err(|e| fail(e.to_string()))?;
                    }
                }
                let mut c = match address {
                    IpAddr::V6(_) => server.kea_command6(config, &host.tap, dir, dhcplab, &in_ns),
                    IpAddr::V4(a) if server.translation().is_some() => {
                        server.translated_command(&config, &host.tap, *a, dir, &in_ns)
                    }
                    IpAddr::V4(_) => server.kea_command(config, &host.tap, dir, dhcplab, &in_ns),
                }
                .map_err(|e| fail(e.to_string()))?;
                c.stdout(append_to(dir, "server.out").map_err(fail)?)
                    .stderr(append_to(dir, "server.err").map_err(fail)?);
                *child = Some(c.spawn().map_err(|e| fail(e.to_string()))?);
                self.may_exit[i] = false;
                let ready = || {
                    if v6 {
                        server.ready6(dir, mark, &in_ns)
                    } else {
                        server.ready(dir, mark, &in_ns)
                    }
                };
                if !wait_until(READY, POLL, ready) {
                    return Err(fail(format!(
                        "{} was not ready (port {}, its start logged) within {} s",
                        if v6 {
                            server.program6()
                        } else {
                            server.program()
                        },
                        if v6 { 547 } else { 67 },
                        READY.as_secs()
                    )));
                }
                // After the server: the agent passes commands on to its control socket.
                if let Some(mut a) = server.ctrl_agent_command(dir, &in_ns) {
                    a.stdout(append_to(dir, "ctrl-agent.out").map_err(fail)?)
                        .stderr(append_to(dir, "ctrl-agent.err").map_err(fail)?);
                    *agent = Some(
                        a.spawn()
                            .map_err(|e| fail(format!("kea-ctrl-agent: {e}")))?,
                    );
                    if !wait_until(READY, POLL, || server.ctrl_agent_ready(dir, &in_ns)) {
                        return Err(fail(format!(
                            "kea-ctrl-agent was not listening on this server's HA peer url within {} s (see ctrl-agent.log)",
                            READY.as_secs()
                        )));
                    }
                }
            }
            Node::Client {
                dir,
                child,
                start_at,
                v6,
                churn,
                ..
            } => {
                *start_at = None;
                if let Some(c) = churn {
                    c.leave_at = Some(now + c.churn.up.draw(&mut c.rng));
                }
                let (dhcplab, tap) = (&self.stacks.dhcplab, &host.tap);
                let daemon = clients::Persistence::Daemon;
                let mut c = match (self.stacks.client, v6) {
                    (Client::Reference, None) => {
                        clients::reference_command(dhcplab, dir, tap, false, &in_ns)
                    }
                    (Client::Reference, Some(ask)) => {
                        clients6::reference_command6_asking(dhcplab, dir, tap, false, ask, &in_ns)
                    }
                    (Client::Real(r), None) => r.command(dir, tap, daemon, &in_ns),
                    (Client::Real(r), Some(_)) => r.command6(dir, tap, daemon, &in_ns),
                }
                .map_err(|e| fail(e.to_string()))?;
                c.stdout(append_to(dir, "client.out").map_err(fail)?)
                    .stderr(append_to(dir, "client.err").map_err(fail)?);
                *child = Some(c.spawn().map_err(|e| fail(e.to_string()))?);
                self.may_exit[i] = false;
            }
            Node::Peer(_) => {}
        }
        Ok(())
    }

    /// Sends `signal` to host `i`'s processes that run: its stack, and a server's control
    /// agent (a suspended or stopped host is the whole machine).
    fn signal(&self, i: usize, signal: nix::sys::signal::Signal) {
        let processes = match &self.nodes[i] {
            Node::Server { child, agent, .. } => [child.as_ref(), agent.as_ref()],
            Node::Client { child, .. } => [child.as_ref(), None],
            Node::Peer(_) => [None, None],
        };
        for c in processes.into_iter().flatten() {
            send(c, signal);
        }
    }

    /// A server or client process that ended though nothing stopped it (a crash, or a real
    /// client giving up), said once.
    fn ended_by_itself(&mut self) -> Option<String> {
        for i in 0..self.nodes.len() {
            if self.may_exit[i] {
                continue;
            }
            if let Node::Server { child: Some(c), .. } | Node::Client { child: Some(c), .. } =
                &mut self.nodes[i]
                && let Ok(Some(status)) = c.try_wait()
            {
                self.may_exit[i] = true;
                return Some(format!(
                    "{}'s process ended by itself: {status}",
                    self.names[i]
                ));
            }
            if let Node::Server { agent: Some(a), .. } = &mut self.nodes[i]
                && let Ok(Some(status)) = a.try_wait()
            {
                self.may_exit[i] = true;
                return Some(format!(
                    "{}'s kea-ctrl-agent ended by itself: {status}",
                    self.names[i]
                ));
            }
        }
        None
    }

    /// Records a note about host `i` on the timeline.
    fn note(&mut self, i: usize, text: String) {
        self.timeline
            .push(SystemTime::now(), Entry::Event { host: i, text });
    }

    /// Reads what happened since the last call: frames the switch carried (onto the timeline,
    /// and DHCP messages into the log) and events the clients' programs logged.
    fn ingest(&mut self) {
        for c in self.lab.captured_since(self.read) {
            self.read += 1;
            let dst: [u8; 6] = c
                .frame
                .get(..6)
                .and_then(|d| d.try_into().ok())
                .unwrap_or([0; 6]);
            let broadcast = dst[0] & 1 == 1;
            let to = self.macs.iter().position(|m| *m == dst);
            let message = match dhcplab_frame::decode(dhcplab_frame::LinkType::Ethernet, &c.frame) {
                Ok(dhcplab_frame::Decoded::Udp(u)) => {
                    Payload::from_udp(u.src, u.dst, u.payload).map(|m| (u.src.ip(), u.dst.ip(), m))
                }
                _ => None,
            };
            let label = message
                .as_ref()
                .map_or_else(|| "frame".to_string(), |(_, _, m)| m.describe());
            self.timeline.push(
                c.at,
                Entry::Frame {
                    from: c.from,
                    to: if broadcast {
                        Dest::Broadcast
                    } else {
                        to.map_or(Dest::Nowhere, Dest::Host)
                    },
                    frame: c.frame.clone(),
                    label,
                    fates: dhcplab_runner::fates(&c.sent, c.at),
                },
            );
            if let Some((src, dst, m)) = message.filter(|_| c.sent != Sent::NoCarrier) {
                let chaddr_host = m
                    .v4()
                    .and_then(|m| <[u8; 6]>::try_from(m.hardware_address()).ok())
                    .and_then(|mac| self.macs.iter().position(|x| *x == mac))
                    .map(|k| self.names[k].clone());
                self.log.push(Seen {
                    at_ns: c
                        .at
                        .duration_since(self.start)
                        .unwrap_or_default()
                        .as_nanos(),
                    from: self.names[c.from].clone(),
                    to: if broadcast {
                        None
                    } else {
                        to.map(|k| self.names[k].clone())
                    },
                    broadcast,
                    src,
                    dst,
                    message: m,
                    chaddr_host,
                });
            }
        }
        let now = SystemTime::now()
            .duration_since(self.start)
            .unwrap_or_default();
        for i in 0..self.nodes.len() {
            let Node::Client {
                dir,
                events,
                log_len,
                ..
            } = &mut self.nodes[i]
            else {
                continue;
            };
            let len = std::fs::metadata(dir.join(clients::HOOK_LOG)).map_or(0, |m| m.len());
            if len == *log_len {
                continue;
            }
            *log_len = len;
            let logged = clients::events(dir);
            if logged.len() <= events.len() {
                continue;
            }
            let agent: Vec<Option<String>> = match self.stacks.client {
                Client::Reference => logged.iter().map(|(e, _)| Some(e.clone())).collect(),
                Client::Real(r) => r
                    .agent_events(&logged)
                    .into_iter()
                    .map(|e| e.map(str::to_string))
                    .collect(),
            };
            let start = self.start;
            let new: Vec<String> = logged
                .into_iter()
                .zip(agent)
                .skip(events.len())
                .map(|(logged, agent)| {
                    let at = clients::logged_at(&logged)
                        .and_then(|t| t.duration_since(start).ok())
                        .unwrap_or(now);
                    let reason = logged.0;
                    let text = match (&agent, self.stacks.client) {
                        (Some(a), Client::Real(_)) => format!("{a} ({reason})"),
                        (None, _) => format!("({reason})"),
                        (Some(a), Client::Reference) => a.clone(),
                    };
                    events.push((at, reason, agent));
                    text
                })
                .collect();
            for text in new {
                self.note(i, text);
            }
        }
    }

    /// A real client's state as its hook and its messages show it: what the last message it
    /// sent after its last event says it is doing (`selecting` after a DISCOVER, `renewing`
    /// after a unicast REQUEST from its address, ...), else what its last event left it in
    /// (`bound` after BOUND or EXTEND, `init` after EXPIRE or DROP, `idle` after RELEASE).
    fn real_client_state(&self, i: usize) -> String {
        let Node::Client { events, .. } = &self.nodes[i] else {
            return "unknown".into();
        };
        let last_event = events
            .iter()
            .rev()
            .find_map(|(at, _, a)| a.as_ref().map(|a| (at, a)));
        let after = last_event.map_or(0, |(at, _)| at.as_nanos());
        let name = &self.names[i];
        let sent = self
            .log
            .iter()
            .rev()
            .take_while(|s| s.at_ns >= after)
            .find(|s| s.from == *name);
        if let Some(m) = sent.and_then(|s| s.message.v6()) {
            // The states of dhcplab_client6::State, as the message sent shows them.
            return match m.msg_type() {
                v6::MessageType::SOLICIT => "soliciting",
                v6::MessageType::REQUEST => "requesting",
                v6::MessageType::RENEW => "renewing",
                v6::MessageType::REBIND => "rebinding",
                v6::MessageType::CONFIRM => "confirming",
                v6::MessageType::RELEASE => "idle",
                v6::MessageType::DECLINE => "declining",
                v6::MessageType::INFORMATION_REQUEST => "informing",
                _ => "unknown",
            }
            .into();
        }
        if let Some((s, m)) = sent.and_then(|s| s.message.v4().map(|m| (s, m))) {
            use dhcplab_wire::v4::MessageType;
            let server_id = m.option(54).is_some();
            return match m.message_type() {
                Ok(Some(MessageType::Discover)) => "selecting",
                Ok(Some(MessageType::Request)) if server_id => "requesting",
                Ok(Some(MessageType::Request)) if m.ciaddr.is_unspecified() => "init-reboot",
                Ok(Some(MessageType::Request)) if s.broadcast => "rebinding",
                Ok(Some(MessageType::Request)) => "renewing",
                Ok(Some(MessageType::Decline)) => "declined",
                Ok(Some(MessageType::Release)) => "idle",
                _ => "unknown",
            }
            .into();
        }
        match last_event.map(|(_, a)| a.as_str()) {
            Some("BOUND" | "EXTEND" | "BOUND6" | "EXTEND6") => "bound",
            Some("EXPIRE" | "DROP" | "EXPIRE6" | "DROP6") => "init",
            Some("RELEASE" | "RELEASE6") => "idle",
            _ => "unknown",
        }
        .into()
    }

    /// Restarts client `i` if it is a real client that a system restarts on link up and
    /// resume ([`clients::RealClient::restarted_on_wake`]).
    fn wake(&mut self, i: usize) {
        if let Client::Real(r) = self.stacks.client
            && r.restarted_on_wake()
            && matches!(self.nodes[i], Node::Client { child: Some(_), .. })
        {
            self.note(
                i,
                format!(
                    "{} restarted, as a system does on link up and resume",
                    r.program()
                ),
            );
            self.halt(i, true);
            if let Err(e) = self.spawn(i) {
                self.trouble
                    .get_or_insert(format!("{} cannot restart: {e}", self.names[i]));
            }
        }
    }

    /// The address on host `i`'s TAP device, as its client configured it.
    fn configured(&self, i: usize) -> Option<Ipv4Addr> {
        let host = &self.lab.hosts()[i];
        let out = host
            .command("ip")
            .args(["-4", "-o", "addr", "show", "dev", &host.tap])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .skip_while(|w| *w != "inet")
            .nth(1)
            .and_then(|a| a.split('/').next())
            .and_then(|a| a.parse().ok())
    }

    /// The global IPv6 addresses on host `i`'s TAP device, as its client configured them.
    fn configured6(&self, i: usize) -> Vec<Ipv6Addr> {
        let host = &self.lab.hosts()[i];
        let Ok(out) = host
            .command("ip")
            .args([
                "-6", "-o", "addr", "show", "dev", &host.tap, "scope", "global",
            ])
            .output()
        else {
            return Vec::new();
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let words: Vec<&str> = text.split_whitespace().collect();
        words
            .windows(2)
            .filter(|w| w[0] == "inet6")
            .filter_map(|w| w[1].split('/').next()?.parse().ok())
            .collect()
    }

    /// The text of server `i`'s lease file `name` (empty when it has none yet), if it runs.
    fn lease_file(&self, i: usize, name: &str) -> Result<String, String> {
        let Node::Server { dir, child, .. } = &self.nodes[i] else {
            return Err(format!("{} is not a server", self.names[i]));
        };
        if child.is_none() {
            return Err(format!("{} is not running", self.names[i]));
        }
        Ok(std::fs::read_to_string(dir.join(name)).unwrap_or_default())
    }

    /// Server `i`'s DHCPv4 leases as its lease file holds them, if it runs: Kea's memfile,
    /// or dhcpd's or dnsmasq's own lease file read into Kea's form ([`file_lease`]).
    fn leases(&self, i: usize) -> Result<Vec<Lease4>, String> {
        if self.stacks.server.translation().is_some() {
            let Node::Server { dir, child, .. } = &self.nodes[i] else {
                return Err(format!("{} is not a server", self.names[i]));
            };
            if child.is_none() {
                return Err(format!("{} is not running", self.names[i]));
            }
            return self
                .stacks
                .server
                .file_leases(dir)
                .map(|l| l.into_iter().filter_map(file_lease).collect())
                .map_err(|e| format!("{}'s lease file: {e}", self.names[i]));
        }
        dhcplab_memfile::load4(&self.lease_file(i, "leases4.csv")?)
            .map(|l| l.leases.into_values().collect())
            .map_err(|e| format!("{}'s lease file: {e}", self.names[i]))
    }

    /// Server `i`'s DHCPv6 leases as its lease file (`leases6.csv`) holds them, if it runs.
    fn leases6(&self, i: usize) -> Result<Vec<Lease6>, String> {
        dhcplab_memfile::load6(&self.lease_file(i, "leases6.csv")?)
            .map(|l| l.leases.into_values().collect())
            .map_err(|e| format!("{}'s lease file: {e}", self.names[i]))
    }

    /// Whether host `i` is a DHCPv6 server.
    fn is_server6(&self, i: usize) -> bool {
        matches!(
            &self.nodes[i],
            Node::Server {
                address: IpAddr::V6(_),
                ..
            }
        )
    }

    /// The DHCPv6 view of client `i` running the reference agent, from the `lease6` answer
    /// of its control socket: its v6 state, IA_NA addresses and IA_PD prefixes.
    fn agent_view6(&self, i: usize, dir: &Path) -> ClientView {
        let interface = &self.lab.hosts()[i].tap;
        let request = serde_json::json!({"command": "lease6", "interface": interface});
        let Ok(answer) = agent_request(&dir.join("agent.sock"), &request) else {
            return ClientView {
                state: "unknown".into(),
                ..ClientView::default()
            };
        };
        let args = answer.get("arguments");
        let state = args
            .and_then(|a| a.get("state"))
            .and_then(serde_json::Value::as_str)
            .map_or_else(|| "unknown".into(), dhcplab_runner::state_name);
        let mut view = ClientView {
            state,
            ..ClientView::default()
        };
        let leases = args
            .and_then(|a| a.get("leases"))
            .and_then(serde_json::Value::as_array);
        for l in leases.into_iter().flatten() {
            let address = l.get("address").and_then(serde_json::Value::as_str);
            let Some(address) = address.and_then(|a| a.parse::<Ipv6Addr>().ok()) else {
                continue;
            };
            match l.get("kind").and_then(serde_json::Value::as_str) {
                Some("pd") => {
                    let len = l.get("prefix_len").and_then(serde_json::Value::as_u64);
                    if let Some(len) = len.and_then(|n| u8::try_from(n).ok()) {
                        view.prefixes.push((address, len));
                    }
                }
                _ => view.addresses6.push(address),
            }
        }
        view
    }

    /// Seconds since 1970 now, as lease expiries count.
    fn epoch_secs() -> u64 {
        SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Stops host `i`'s process: SIGTERM and a wait when `graceful` (continued after the
    /// signal if suspended, so that it acts on it), else SIGKILL. It is no longer suspended.
    ///
    /// A server's control agent stops with it, and is killed with it too: a kill models a
    /// crashed server machine, so its partner loses the HA endpoint (connection refused) as
    /// well as the DHCP service, rather than an agent that answers for a dead kea-dhcp4.
    fn halt(&mut self, i: usize, graceful: bool) {
        if graceful {
            self.signal(i, nix::sys::signal::Signal::SIGTERM);
            if self.suspended[i] {
                self.signal(i, nix::sys::signal::Signal::SIGCONT);
            }
        }
        self.suspended[i] = false;
        let limit = if graceful {
            Duration::from_secs(5)
        } else {
            Duration::ZERO
        };
        if let Node::Server { child, .. } | Node::Client { child, .. } = &mut self.nodes[i]
            && let Some(mut c) = child.take()
        {
            end_within(&mut c, limit);
        }
        if let Node::Server { agent, .. } = &mut self.nodes[i]
            && let Some(mut a) = agent.take()
        {
            end_within(&mut a, limit);
        }
    }

    /// After server `i` took a new configuration: its control agent follows it, told to read
    /// its rewritten configuration (SIGHUP) when it runs and still has one, stopped when it
    /// has none now, started when it has one now and ran none.
    fn follow_agent(&mut self, i: usize) -> Result<(), String> {
        let host = &self.lab.hosts()[i];
        let in_ns = |p: &str| host.command(p);
        let server = self.stacks.server;
        let Node::Server { dir, agent, .. } = &mut self.nodes[i] else {
            return Ok(());
        };
        match (agent.as_mut(), server.ctrl_agent_command(dir, &in_ns)) {
            (Some(a), Some(_)) => send(a, nix::sys::signal::Signal::SIGHUP),
            (Some(_), None) => {
                if let Some(mut a) = agent.take() {
                    send(&a, nix::sys::signal::Signal::SIGTERM);
                    end_within(&mut a, Duration::from_secs(5));
                }
            }
            (None, Some(mut c)) => {
                c.stdout(append_to(dir, "ctrl-agent.out")?)
                    .stderr(append_to(dir, "ctrl-agent.err")?);
                *agent = Some(c.spawn().map_err(|e| format!("kea-ctrl-agent: {e}"))?);
                if !wait_until(READY, POLL, || server.ctrl_agent_ready(dir, &in_ns)) {
                    return Err(format!(
                        "kea-ctrl-agent was not listening on this server's HA peer url within {} s (see ctrl-agent.log)",
                        READY.as_secs()
                    ));
                }
            }
            (None, None) => {}
        }
        Ok(())
    }
}

/// A lease of dhcpd's or dnsmasq's lease file as Kea's memfile would hold it: an active
/// lease as a lease in force until its end (a lease that never ends, until the end of
/// time), an expired one as reclaimed, an abandoned one as declined; a free (released,
/// never leased) address as no lease, as Kea deletes a released lease.
fn file_lease(l: dhcplab_adapters::leasefiles::FileLease) -> Option<Lease4> {
    use dhcplab_adapters::leasefiles::Binding;
    let state = match l.binding {
        Binding::Active => dhcplab_memfile::STATE_DEFAULT,
        Binding::Expired => dhcplab_memfile::STATE_EXPIRED_RECLAIMED,
        Binding::Abandoned => dhcplab_memfile::STATE_DECLINED,
        Binding::Free => return None,
    };
    let expire = l.ends.unwrap_or(u64::MAX);
    let valid = l.starts.map_or(0, |s| {
        u32::try_from(expire.saturating_sub(s)).unwrap_or(u32::MAX)
    });
    Some(Lease4 {
        address: l.address,
        hwaddr: l.hwaddr,
        client_id: l.client_id,
        valid_lifetime: valid,
        expire,
        subnet_id: 0,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: l.hostname,
        state,
        user_context: None,
    })
}

/// `config` with the placeholders of its hooks libraries replaced for a server whose files
/// are in `dir`, and the `${script}` script written there when it lists libraries.
fn hooked(config: &serde_json::Value, dir: &Path) -> Result<serde_json::Value, String> {
    let mut config = config.clone();
    let Some(pointer) = ["/Dhcp4/hooks-libraries", "/Dhcp6/hooks-libraries"]
        .into_iter()
        .find(|p| config.pointer(p).is_some())
    else {
        return Ok(config);
    };
    let Some(list) = config.pointer_mut(pointer) else {
        return Ok(config);
    };
    let p = Placeholders::in_dir(dir);
    p.write_script()
        .map_err(|e| format!("{}: {e}", p.script.display()))?;
    *list = p.apply_json(list);
    Ok(config)
}

/// The file `name` in `dir`, opened to append a process's output to.
fn append_to(dir: &Path, name: &str) -> Result<Stdio, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name))
        .map(Stdio::from)
        .map_err(|e| format!("{}: {e}", dir.join(name).display()))
}

/// Sends `signal` to `child` (whether it still runs or not: a pid not reaped yet is not
/// reused).
fn send(child: &Child, signal: nix::sys::signal::Signal) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
    }
}

/// Waits up to `limit` for `child` to end and gives how it ended; one still running then is
/// killed (and reaped), and there is no status.
fn end_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let mut status = None;
    wait_until(limit, POLL, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}

impl Drop for TapNetwork {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.halt(i, false);
        }
    }
}

impl Network for TapNetwork {
    fn start(&self) -> SystemTime {
        self.start
    }

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn run_until(&mut self, target: SystemTime, done: &mut dyn FnMut(&[Seen]) -> bool) -> bool {
        loop {
            self.churn_due();
            if let Err(e) = self.start_due_clients() {
                self.trouble.get_or_insert(e.to_string());
                return false;
            }
            if let Some(ended) = self.ended_by_itself() {
                self.trouble.get_or_insert(ended);
                return false;
            }
            self.ingest();
            self.sample();
            if done(&self.log) {
                return true;
            }
            let now = SystemTime::now();
            let Ok(left) = target.duration_since(now) else {
                return false;
            };
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(left.min(POLL));
        }
    }

    fn log(&self) -> &[Seen] {
        &self.log
    }

    fn timeline(&mut self) -> &mut Timeline {
        self.ingest();
        &mut self.timeline
    }

    fn violation(&self) -> Option<String> {
        // With more than one server: no address held by two clients, by the ACKs in the
        // switch's capture, by the running servers' lease files or on the running clients'
        // interfaces (now, and at every sample while time passed).
        let servers = self.servers();
        if servers.len() < 2 {
            return None;
        }
        if let Some(b) = &self.broken {
            return Some(b.clone());
        }
        let mut ledger = dhcplab_runner::invariant::AckLedger::default();
        for s in &self.log {
            let server = self
                .names
                .iter()
                .position(|n| *n == s.from)
                .is_some_and(|i| servers.contains(&i));
            let broken = match &s.message {
                Payload::V4(m) => ledger.observe(s.at_ns, &s.from, server, m),
                Payload::V6(m) => ledger.observe6(s.at_ns, &s.from, server, m),
            };
            if broken.is_some() {
                return broken;
            }
        }
        self.table_conflict().or_else(|| self.interface_conflict())
    }

    fn stuck(&self) -> Option<String> {
        self.trouble.clone()
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    fn mac(&self, i: usize) -> [u8; 6] {
        self.macs[i]
    }

    fn address_of(&self, i: usize) -> Option<Ipv4Addr> {
        match &self.nodes[i] {
            Node::Server { address, .. } => match address {
                IpAddr::V4(a) => Some(*a),
                IpAddr::V6(_) => None,
            },
            Node::Client { v6: Some(_), .. } => None,
            Node::Client { .. } => self.configured(i),
            Node::Peer(a) => *a,
        }
    }

    fn start_host(&mut self, i: usize) -> Result<(), String> {
        let running = matches!(
            &self.nodes[i],
            Node::Server { child: Some(_), .. } | Node::Client { child: Some(_), .. }
        );
        if running {
            self.note(i, "already running: start does nothing".into());
            return Ok(());
        }
        self.spawn(i).map_err(|e| format!("cannot start: {e}"))
    }

    fn stop_host(&mut self, i: usize, graceful: bool) {
        self.halt(i, graceful);
    }

    fn carrier(&mut self, i: usize, up: bool) {
        self.lab.control(Control::Carrier(i, up));
        let host = &self.lab.hosts()[i];
        let state = if up { "up" } else { "down" };
        if let Err(e) = host.ip(&["link", "set", "dev", &host.tap, state]) {
            self.trouble
                .get_or_insert(format!("{}: link {state}: {e}", self.names[i]));
        }
        if up {
            self.wake(i);
        }
    }

    fn suspend(&mut self, i: usize, suspended: bool) {
        use nix::sys::signal::Signal;
        self.suspended[i] = suspended;
        if suspended {
            self.lab.control(Control::Carrier(i, false));
            self.signal(i, Signal::SIGSTOP);
        } else {
            self.lab.control(Control::Carrier(i, true));
            self.signal(i, Signal::SIGCONT);
            self.wake(i);
        }
    }

    fn host_event(&mut self, i: usize, event: HostEvent) -> Result<(), String> {
        let Node::Client { dir, child, v6, .. } = &self.nodes[i] else {
            return Err(format!("{} is not a client", self.names[i]));
        };
        if child.is_none() {
            return Err(format!("{} is not running", self.names[i]));
        }
        let v6 = v6.is_some();
        let interface = &self.lab.hosts()[i].tap;
        if let Client::Real(r) = self.stacks.client {
            if event != HostEvent::Release {
                return Err(format!(
                    "{event:?}: TAP mode orders {} only to release",
                    r.program()
                ));
            }
            // It releases and ends (dhclient -r, dhcpcd -k, udhcpc on SIGTERM).
            self.may_exit[i] = true;
            let host = &self.lab.hosts()[i];
            let in_ns = |p: &str| host.command(p);
            let release = if v6 {
                r.release_command6(dir, interface, &in_ns)
            } else {
                r.release_command(dir, interface, &in_ns)
            };
            return match release {
                Some(mut c) => {
                    let mut child = c
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .map_err(|e| format!("{} release: {e}", r.program()))?;
                    match end_within(&mut child, READY) {
                        Some(s) if s.success() => Ok(()),
                        Some(s) => Err(format!("{} release: {s}", r.program())),
                        None => Err(format!(
                            "{} release did not end within {} s",
                            r.program(),
                            READY.as_secs()
                        )),
                    }
                }
                None => {
                    self.signal(i, nix::sys::signal::Signal::SIGTERM);
                    Ok(())
                }
            };
        }
        let request = match event {
            HostEvent::Release if v6 => {
                serde_json::json!({"command": "release6", "interface": interface})
            }
            HostEvent::Drop if v6 => {
                serde_json::json!({"command": "drop6", "interface": interface})
            }
            HostEvent::Release => serde_json::json!({"command": "release", "interface": interface}),
            HostEvent::Drop => serde_json::json!({"command": "drop", "interface": interface}),
            HostEvent::Inform(a) => serde_json::json!({"command": "inform", "interface": interface,
                                                       "address": a.to_string()}),
            other => return Err(format!("{other:?} is not an order")),
        };
        let answer = agent_request(&dir.join("agent.sock"), &request)?;
        match answer.get("result").and_then(serde_json::Value::as_i64) {
            Some(0) => Ok(()),
            _ => Err(format!("the agent refused {request}: {answer}")),
        }
    }

    fn partition(&mut self, hosts: &[usize]) {
        self.lab.control(Control::Partition(hosts.to_vec()));
    }

    fn heal(&mut self, hosts: &[usize]) {
        self.lab.control(Control::Heal(hosts.to_vec()));
    }

    fn set_faults(&mut self, i: usize, faults: Faults) {
        self.lab.control(Control::Faults(i, faults));
    }

    fn inject(
        &mut self,
        i: usize,
        dst_mac: [u8; 6],
        src: std::net::SocketAddr,
        dst: std::net::SocketAddr,
        payload: &[u8],
    ) {
        match dhcplab_frame::encode_udp(self.macs[i], dst_mac, src, dst, 64, payload) {
            Ok(frame) => {
                self.lab.control(Control::Inject(i, frame));
            }
            Err(e) => self.note(i, format!("cannot frame the crafted message: {e}")),
        }
    }

    fn reconfigure(&mut self, i: usize, new: &ServerConfig) -> Result<(), String> {
        let tap = self.lab.hosts()[i].tap.clone();
        let Node::Server {
            config, dir, child, ..
        } = &mut self.nodes[i]
        else {
            return Err(format!("{} is not a server", self.names[i]));
        };
        let json = hooked(&new.json, dir)?;
        let running = child.is_some();
        if self.stacks.server.translation().is_some() {
            // dhcpd and dnsmasq reload no subnets: the server starts again on its new
            // configuration, and reloads its leases from its lease file.
            *config = new.json.clone();
            if running {
                self.halt(i, true);
                self.spawn(i).map_err(|e| e.to_string())?;
            }
            return Ok(());
        }
        if running {
            self.stacks.server.reconfigure(json, &tap, dir)?;
        }
        *config = new.json.clone();
        if running {
            self.follow_agent(i)?;
        }
        Ok(())
    }

    fn hook_calls(&self, i: usize) -> Result<Vec<String>, String> {
        match &self.nodes[i] {
            Node::Server { dir, .. } => Placeholders::in_dir(dir).hook_calls(),
            _ => Err(format!("{} is not a server", self.names[i])),
        }
    }

    fn command(&mut self, i: usize, command: &str) -> Result<serde_json::Value, String> {
        let Node::Server { dir, .. } = &self.nodes[i] else {
            return Err(format!("{} is not a server", self.names[i]));
        };
        let socket = self.stacks.server.control_socket(dir);
        let answer = dhcplab_adapters::exchange(&socket, Duration::from_secs(10), command)
            .map_err(|e| format!("{}: {e}", self.names[i]))?;
        serde_json::from_str(&answer)
            .map_err(|e| format!("{}: answer is not JSON: {e}: {answer}", self.names[i]))
    }

    fn ha_state(&self, i: usize) -> Result<String, String> {
        let Node::Server { dir, child, .. } = &self.nodes[i] else {
            return Err(format!("{} is not a server", self.names[i]));
        };
        if child.is_none() {
            return Err(format!("{} is not running", self.names[i]));
        }
        let socket = self.stacks.server.control_socket(dir);
        let answer = dhcplab_adapters::exchange(
            &socket,
            Duration::from_secs(5),
            r#"{"command": "status-get"}"#,
        )
        .map_err(|e| format!("{}: status-get: {e}", self.names[i]))?;
        let v: serde_json::Value = serde_json::from_str(&answer)
            .map_err(|e| format!("{}: status-get answer is not JSON: {e}", self.names[i]))?;
        v.pointer("/arguments/high-availability/0/ha-servers/local/state")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("{} reports no HA state: {answer}", self.names[i]))
    }

    fn script_runs(&self, i: usize) -> Result<Vec<ScriptRun>, String> {
        match &self.nodes[i] {
            Node::Server { dir, .. } => Placeholders::in_dir(dir).script_runs(),
            _ => Err(format!("{} is not a server", self.names[i])),
        }
    }

    fn events(&self, i: usize) -> Vec<String> {
        let Node::Client { events, .. } = &self.nodes[i] else {
            return Vec::new();
        };
        events.iter().filter_map(|(_, _, a)| a.clone()).collect()
    }

    fn client(&self, i: usize) -> Option<ClientView> {
        let Node::Client { dir, child, v6, .. } = &self.nodes[i] else {
            return None;
        };
        if v6.is_some() {
            return Some(match (child, self.stacks.client) {
                (None, _) => ClientView {
                    state: "stopped".into(),
                    ..ClientView::default()
                },
                (Some(_), Client::Reference) => self.agent_view6(i, dir),
                (Some(_), Client::Real(_)) => ClientView {
                    state: self.real_client_state(i),
                    addresses6: self.configured6(i),
                    ..ClientView::default()
                },
            });
        }
        let state = match (child, self.stacks.client) {
            (None, _) => "stopped".into(),
            (Some(_), Client::Reference) => {
                agent_state(&dir.join("agent.sock")).unwrap_or_else(|| "unknown".into())
            }
            (Some(_), Client::Real(_)) => self.real_client_state(i),
        };
        Some(ClientView {
            state,
            address: self.configured(i),
            ..ClientView::default()
        })
    }

    fn lease_state(
        &self,
        i: usize,
        of: LeaseKey,
    ) -> Result<(LeaseState, Option<LeaseRecord>), String> {
        let now = Self::epoch_secs();
        let lease = match of {
            LeaseKey::Address(IpAddr::V4(address)) => self
                .leases(i)?
                .into_iter()
                .find(|l| l.address == address)
                .map(LeaseRecord::V4),
            LeaseKey::Address(IpAddr::V6(address)) => self
                .leases6(i)?
                .into_iter()
                .find(|l| l.address == address && l.prefix_len == 128)
                .map(LeaseRecord::V6),
            LeaseKey::Prefix(prefix, len) => self
                .leases6(i)?
                .into_iter()
                .find(|l| l.address == prefix && l.prefix_len == len)
                .map(LeaseRecord::V6),
        };
        Ok(dhcplab_runner::lease_state(lease, now))
    }

    fn slack(&self) -> Duration {
        SLACK
    }

    fn settle(&self) -> Duration {
        SETTLE
    }

    fn lookback(&self) -> Duration {
        LOOKBACK
    }

    fn clock_kind(&self) -> &'static str {
        "real time"
    }

    fn active_leases(&self, i: usize) -> Result<u64, String> {
        let now = Self::epoch_secs();
        let count = if self.is_server6(i) {
            self.leases6(i)?
                .iter()
                .filter(|l| dhcplab_runner::in_force(l, now))
                .count()
        } else {
            self.leases(i)?
                .iter()
                .filter(|l| dhcplab_runner::in_force(l, now))
                .count()
        };
        Ok(count as u64)
    }
}

/// The reference agent's answer to `request` on its control socket, or why there is none.
fn agent_request(socket: &Path, request: &serde_json::Value) -> Result<serde_json::Value, String> {
    let text = dhcplab_adapters::exchange(socket, Duration::from_secs(2), &format!("{request}\n"))
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}: the answer is not JSON: {e}", socket.display()))
}

/// The reference agent's state on its first interface, as scenarios name states
/// (`init-reboot`), from its control socket.
fn agent_state(socket: &Path) -> Option<String> {
    let answer = agent_request(socket, &serde_json::json!({"command": "status"})).ok()?;
    let debug = answer
        .pointer("/arguments/interfaces/0/state")
        .and_then(serde_json::Value::as_str)?;
    Some(dhcplab_runner::state_name(debug))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_prefix_is_its_subnets_in_either_family() {
        let config = serde_json::json!({
            "Dhcp4": { "subnet4": [ { "subnet": "198.51.100.0/25" }, { "subnet": "192.0.2.0/26" } ] },
            "Dhcp6": { "subnet6": [ { "subnet": "2001:db8:2::/48" }, { "subnet": "2001:db8:1::/64" } ] }
        });
        let at = |a: &str| prefix_of(&config, a.parse().expect("address"));
        assert_eq!(at("192.0.2.1"), 26);
        assert_eq!(at("198.51.100.127"), 25);
        assert_eq!(at("2001:db8:1::1"), 64);
        assert_eq!(at("2001:db8:2:ffff::1"), 48);
        // In no subnet: the family's usual prefix.
        assert_eq!(at("203.0.113.1"), 24);
        assert_eq!(at("2001:db8:9::1"), 64);
        assert_eq!(
            prefix_of(&serde_json::json!({}), "2001:db8::1".parse().expect("a")),
            64
        );
    }
    /// The scenario repository's file `name` (under scenarios/), parsed.
    fn scenario(name: &str) -> Scenario {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scenarios")
            .join(name);
        dhcplab_scenario::load(&path).expect("scenario")
    }

    fn reason(name: &str, server: Server) -> Option<String> {
        not_translated(&scenario(name), server)
    }

    #[test]
    fn dhcpd_and_dnsmasq_skip_what_their_translation_cannot_carry_with_the_key() {
        let plain = "lease-expiry/release-frees-the-address-at-once.toml";
        for server in [
            Server::Reference,
            Server::Kea,
            Server::Dhcpd,
            Server::Dnsmasq,
        ] {
            assert_eq!(reason(plain, server), None, "{server:?}");
        }
        let r = reason("lease-expiry/renew-at-t1.toml", Server::Dnsmasq).expect("skipped");
        assert!(
            r.contains("Dhcp4/valid-lifetime") && r.contains("shorter than 120 s"),
            "{r}"
        );
        assert_eq!(reason("lease-expiry/renew-at-t1.toml", Server::Dhcpd), None);
        let r =
            reason("hook-ordering/run-script-lease4-renew.toml", Server::Dhcpd).expect("skipped");
        assert!(r.contains("Dhcp4/hooks-libraries"), "{r}");
        let r = reason("ha-failover/primary-killed.toml", Server::Dhcpd).expect("skipped");
        assert!(r.contains("hooks-libraries"), "{r}");
        let r = reason("dhcpv6/v6-release-frees-the-lease.toml", Server::Dnsmasq).expect("skipped");
        assert!(r.contains("DHCPv6 server"), "{r}");
        let r = reason(
            "lease-expiry/reclaim-at-the-right-second.toml",
            Server::Dhcpd,
        )
        .expect("skipped");
        assert!(
            r.contains("line 54") && r.contains("a lease expired or reclaimed"),
            "{r}"
        );
        let r = reason(
            "robustness/address-in-use-is-declined.toml",
            Server::Dnsmasq,
        )
        .expect("skipped");
        assert!(r.contains("a declined lease"), "{r}");
        assert_eq!(
            reason("robustness/address-in-use-is-declined.toml", Server::Dhcpd),
            None
        );
        // A reconfigure step's configuration is checked too, and a restart carries it.
        assert_eq!(
            reason(
                "suspend-resume/nak-on-resume-after-renumbering.toml",
                Server::Dhcpd
            ),
            None
        );
    }

    #[test]
    fn file_leases_read_as_kea_states() {
        use dhcplab_adapters::leasefiles::{Binding, FileLease};
        let lease = |binding| FileLease {
            address: Ipv4Addr::new(192, 0, 2, 100),
            hwaddr: vec![2, 0, 0x5e, 0, 0x53, 2],
            client_id: Vec::new(),
            hostname: String::new(),
            starts: Some(1000),
            ends: Some(4600),
            binding,
        };
        let active = file_lease(lease(Binding::Active)).expect("a lease");
        assert_eq!(
            (active.state, active.expire, active.valid_lifetime),
            (dhcplab_memfile::STATE_DEFAULT, 4600, 3600)
        );
        assert_eq!(
            file_lease(lease(Binding::Abandoned)).map(|l| l.state),
            Some(dhcplab_memfile::STATE_DECLINED)
        );
        assert_eq!(file_lease(lease(Binding::Free)), None);
        let forever = file_lease(FileLease {
            ends: None,
            starts: None,
            ..lease(Binding::Active)
        })
        .expect("a lease");
        assert_eq!(forever.expire, u64::MAX);
    }
}
