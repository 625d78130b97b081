//! The scenario language: a TOML file that declares hosts (servers, clients, scripted peers)
//! on one link, with their link faults, and a list of steps: actions on hosts and links, and
//! expectations on messages, client events and states, and server leases.
//!
//! [`load`] reads a file into a [`Scenario`] whose every name, address, duration and matcher
//! is checked; a file that cannot be used gets a [`ScenarioError`] listing each fault with its
//! line and column, so one run reports them all. The language is described for users in
//! `scenarios/README.md`; the types here are what both modes (virtual and TAP) run.

mod build;
pub mod conformance;
mod raw;
pub mod text;
pub mod v6;
mod vary;

pub use conformance::{Conformance, Level, UnderTest};
pub use text::{Place, format_duration, parse_duration};
pub use v6::{
    Client6Host, Family, IaKind, Leaf6, Message6, Path6, PrefixRef, RelayHost, Send6,
    Server6Config, Server6Host, link_local,
};
pub use vary::Vary;

use dhcplab_kea_config::dhcp4::Dhcp4;
use dhcplab_vnet::Faults;
use dhcplab_wire::v4::MessageType;
use std::fmt;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest duration a scenario may write, and the longest run: 400 days of virtual time
/// (a year of leases with room to spare), so no file can make a run overflow the clock.
pub const MAX_DURATION: Duration = Duration::from_secs(400 * 86_400);

/// A scenario, checked and ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `topic/NAME`: the file's folder and stem.
    pub name: String,
    /// The file it was read from.
    pub file: PathBuf,
    /// What it proves (`[scenario] description`).
    pub description: String,
    /// The seed the file asks for; `dhcplab run --seed` overrides it.
    pub seed: Option<u64>,
    /// Features a stack must have to run it (`v6`, `hooks`, `ha`, `short-lifetimes`, ...).
    pub requires: Vec<String>,
    /// Its conformance header (`[check]`), when it is a conformance check.
    pub check: Option<Conformance>,
    /// The hosts, client groups expanded, in file order.
    pub hosts: Vec<Host>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The ranges a randomized scenario draws from (`[vary]`); empty for a fixed one. The hosts
    /// and steps above are then those of the smallest values: run [`Scenario::instance`].
    pub vary: Vec<Vary>,
    /// The file's text (an instance's: values written in, no `[vary]` table).
    pub source: String,
    /// Recorded differences of real stacks (`[[differs]]`): where a stack other than the
    /// reference is known to fail the scenario, and why.
    pub differs: Vec<Difference>,
}

/// A real stack's known difference from what a scenario expects (`[[differs]]`): a finding,
/// kept with the scenario, so that a run on that stack reports it as such and fails when the
/// stack fails otherwise, or (unless `sometimes`) no longer differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The stack that differs, by its name in `dhcplab stacks` (`kea`, `dhclient`, ...).
    pub stack: String,
    /// The step it fails at, counted from 1 as reports count.
    pub step: usize,
    /// Text the failure's message contains (`but saw OFFER`).
    pub saw: String,
    /// What the stack does and why it differs.
    pub why: String,
    /// It shows in some runs only (a stack's own randomness, as dhclient's T1 fuzz).
    pub sometimes: bool,
    /// Where it is recorded.
    pub place: Place,
}

/// The IPv4 ranges a run may use (RFC 5737 documentation, RFC 2544 benchmarking): every
/// address a scenario gives a host, a datagram or a server's subnet lies in one of them.
pub const LAB_RANGES: [(Ipv4Addr, u8); 4] = [
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
];

/// Whether `a` lies in one of [`LAB_RANGES`].
pub fn in_lab_ranges(a: Ipv4Addr) -> bool {
    LAB_RANGES.iter().any(|(base, len)| {
        let mask = u32::MAX << (32 - u32::from(*len));
        u32::from(a) & mask == u32::from(*base)
    })
}

/// The stacks a `[[differs]]` record may name: the real ones (the reference stacks are what
/// scenarios are written against, and must pass).
pub const REAL_STACKS: [&str; 6] = ["kea", "dhcpd", "dnsmasq", "dhclient", "udhcpc", "dhcpcd"];

/// What the recorded differences say of a run's outcome on some stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// No record applies: the outcome stands.
    AsRun,
    /// The run failed as this record says it does.
    Differs(&'a Difference),
    /// The run passed, but this record says the stack always fails it: the difference is
    /// gone, and the record must go too.
    Gone(&'a Difference),
}

impl Scenario {
    /// What the `[[differs]]` records of `stacks` (the names of the stacks the run used) say
    /// of a run that failed at `failed_step` (counted from 0, as the runner reports it) with
    /// `message`, or passed (`None`).
    pub fn verdict(
        &self,
        stacks: &[&str],
        failed_step: Option<usize>,
        message: &str,
    ) -> Verdict<'_> {
        let mut mine = self
            .differs
            .iter()
            .filter(|d| stacks.contains(&d.stack.as_str()));
        match failed_step {
            Some(n) => mine
                .find(|d| d.step == n + 1 && message.contains(&d.saw))
                .map_or(Verdict::AsRun, Verdict::Differs),
            None => mine
                .find(|d| !d.sometimes)
                .map_or(Verdict::AsRun, Verdict::Gone),
        }
    }

    /// The longest its steps can take, each expectation waiting to the end of its window: what
    /// the run covers at most, and in TAP mode how long it takes in real time.
    pub fn longest(&self) -> Duration {
        let mut end = Duration::ZERO;
        for step in &self.steps {
            let t = match step.when {
                When::Now => end,
                When::At(d) => d.max(end),
                When::After(d) => end + d,
            };
            end = t + match &step.what {
                What::Expect(Expect::Message { window, .. }) => window.within,
                What::Expect(Expect::Nothing { within, .. }) => *within,
                _ => Duration::ZERO,
            };
        }
        end
    }

    /// Values for every `[vary]` range, picked by `seed`.
    pub fn draw(&self, seed: u64) -> Vec<f64> {
        vary::draw(&self.vary, seed)
    }

    /// The fixed scenario with `values` (one per range, in [`Scenario::vary`]'s order) written
    /// in; its `source` is a file a person can keep and run.
    pub fn instance(&self, values: &[f64]) -> Result<Scenario, ScenarioError> {
        let err = |faults| ScenarioError {
            file: self.file.clone(),
            faults,
        };
        let text = vary::strip(&vary::substitute(&self.source, &self.vary, values).map_err(err)?);
        let mut s = build::build(&text, &self.file).map_err(err)?;
        s.source = text;
        Ok(s)
    }

    /// `name = value` for each range, as a run reports the values it used.
    pub fn describe_values(&self, values: &[f64]) -> String {
        let parts: Vec<String> = self
            .vary
            .iter()
            .zip(values)
            .map(|(v, x)| format!("{} = {}", v.name, v.write(*x)))
            .collect();
        parts.join(", ")
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
}

/// One host on the link.
#[derive(Debug, Clone)]
pub struct Host {
    /// Its name, unique in the scenario (`c7` for the seventh member of group `c`).
    pub name: String,
    /// Its link address.
    pub mac: [u8; 6],
    /// The faults of its link.
    pub link: Faults,
    /// What runs on it.
    pub role: Role,
    /// Where it is declared.
    pub place: Place,
    /// The segment it sits on (`segment`, default `lan`): a broadcast or a multicast reaches
    /// only the hosts of its segment. A relay agent sits on its client side's segment and on
    /// [`RelayHost::server_side`].
    pub segment: String,
}

impl Host {
    /// Its IPv6 link-local address, from its link address ([`link_local`]).
    pub fn link_local(&self) -> Ipv6Addr {
        link_local(self.mac)
    }

    /// The DHCP version it speaks; `None` for a peer, which crafts what it sends.
    pub fn family(&self) -> Option<Family> {
        match &self.role {
            Role::Server(_) | Role::Client(_) => Some(Family::V4),
            Role::Server6(_) | Role::Client6(_) | Role::Relay(_) => Some(Family::V6),
            Role::Peer(_) => None,
        }
    }

    /// The segments it sits on: one, or a relay agent's two.
    pub fn segments(&self) -> Vec<&str> {
        match &self.role {
            Role::Relay(r) => vec![self.segment.as_str(), r.server_side.as_str()],
            _ => vec![self.segment.as_str()],
        }
    }
}

/// What runs on a host.
#[derive(Debug, Clone)]
pub enum Role {
    /// A DHCPv4 server.
    Server(Box<ServerHost>),
    /// A DHCPv6 server (its `config` holds a `Dhcp6` map).
    Server6(Box<Server6Host>),
    /// A DHCPv4 client.
    Client(ClientHost),
    /// A DHCPv6 client (`family = "v6"`).
    Client6(Client6Host),
    /// A DHCPv6 relay agent (`role = "relay"`).
    Relay(RelayHost),
    /// A scripted peer: it sends what `send` steps craft and takes whatever reaches it.
    Peer(PeerHost),
}

/// A server: its address and Kea configuration.
#[derive(Debug, Clone)]
pub struct ServerHost {
    /// The address it serves from (interface `eth0`).
    pub address: Ipv4Addr,
    /// Its configuration.
    pub config: ServerConfig,
    /// How far its clock is ahead of the run's (negative: behind), in seconds; only virtual
    /// mode sets a host's clock (HA's clock-skew checks).
    pub clock_offset: i64,
}

/// A Kea configuration as written and as read.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The JSON text.
    pub text: String,
    /// The `Dhcp4` map read from it.
    pub dhcp4: Dhcp4,
    /// The whole document, for `config-get`.
    pub json: serde_json::Value,
}

/// A client and how it behaves.
#[derive(Debug, Clone)]
pub struct ClientHost {
    /// The group it belongs to (`count` > 1), if any.
    pub group: Option<String>,
    /// When it starts, drawn from this range by the run's seed.
    pub start: Span,
    /// Whether it comes and goes by itself.
    pub churn: Option<Churn>,
    /// It checks offered addresses with ARP before using them.
    pub probe: bool,
    /// It speaks BOOTP.
    pub bootp: bool,
    /// Option 61 it sends, if any.
    pub client_id: Option<Vec<u8>>,
    /// Option 12 it sends, if any.
    pub hostname: Option<String>,
    /// How long it collects offers.
    pub offer_wait: Option<Duration>,
}

/// A client that comes and goes: online for a time drawn from `up`, then gone for one drawn
/// from `down`, again and again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Churn {
    /// How long it stays.
    pub up: Span,
    /// How long it is away.
    pub down: Span,
    /// How it leaves.
    pub leave: Leave,
}

/// How a churning client leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    /// It releases its lease.
    Release,
    /// It drops its lease silently and keeps its lease file (a laptop that is shut).
    Drop,
    /// Either, by a coin toss each time.
    Either,
}

/// A range of durations; a fixed value is a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// The shortest.
    pub min: Duration,
    /// The longest.
    pub max: Duration,
}

impl Span {
    /// A duration from this range, drawn by `rng` (a host's fork of the run's seed), so that
    /// both modes give a host the same start from the same seed.
    pub fn draw(self, rng: &mut dhcplab_rng::Rng) -> Duration {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rng.between(millis(self.min), millis(self.max)))
    }
}

/// A scripted peer.
#[derive(Debug, Clone)]
pub struct PeerHost {
    /// Its IPv4 address, if it has one (it then answers ARP probes for it).
    pub address: Option<Ipv4Addr>,
    /// Its global IPv6 address, if it has one (`address` written as an IPv6 address); it has
    /// its link-local address anyway.
    pub address6: Option<Ipv6Addr>,
}

/// One step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Where it is in the file.
    pub place: Place,
    /// When it happens.
    pub when: When,
    /// What it does or checks.
    pub what: What,
    /// A note shown on the timeline.
    pub note: Option<String>,
}

/// When a step happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// When the step before it ended.
    Now,
    /// At this time since the start of the run.
    At(Duration),
    /// This long after the step before it ended.
    After(Duration),
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum What {
    /// Only let time pass (a step with `at` or `after` and nothing else).
    Wait,
    /// Act on hosts or links.
    Act(Act),
    /// Check something.
    Expect(Expect),
}

/// An action.
#[derive(Debug, Clone)]
pub enum Act {
    /// Start hosts that are stopped (clients start from their lease file).
    Start(Vec<String>),
    /// Stop hosts: a server stops answering; a client drops its lease (dhcpagent on SIGTERM).
    Stop(Vec<String>),
    /// Kill hosts: nothing more from them, no event; files stay as they are.
    Kill(Vec<String>),
    /// Stop and start again (a server reloads its leases from its lease file).
    Restart(Vec<String>),
    /// Take carrier away from hosts' links.
    LinkDown(Vec<String>),
    /// Give carrier back.
    LinkUp(Vec<String>),
    /// Suspend hosts: a server stops; a client sleeps.
    Suspend(Vec<String>),
    /// Wake them.
    Resume(Vec<String>),
    /// Clients release their leases and stop.
    Release(Vec<String>),
    /// Clients drop their leases and stop.
    Drop(Vec<String>),
    /// A client asks for configuration for an address it has (DHCPINFORM).
    Inform {
        /// The client.
        host: String,
        /// Its address.
        address: Ipv4Addr,
    },
    /// Cut every pair of these hosts off from each other.
    Partition(Vec<String>),
    /// Join these hosts again; none named: remove every partition.
    Heal(Vec<String>),
    /// Change the faults of hosts' links.
    Faults {
        /// The hosts.
        hosts: Vec<String>,
        /// The new faults.
        faults: Faults,
    },
    /// A peer sends a crafted DHCPv4 datagram.
    Send(Send),
    /// A peer sends a crafted DHCPv6 datagram.
    Send6(Send6),
    /// A server is sent a control command (its control socket in TAP mode); the answer's
    /// `result` must be the one given.
    Command {
        /// The server.
        host: String,
        /// The command, Kea's JSON (`{"command": "ha-maintenance-start"}`).
        command: String,
        /// The result code the answer must carry.
        result: i64,
    },
    /// A server takes a new configuration (`config-set`); its leases stay.
    Reconfigure {
        /// The server.
        host: String,
        /// The configuration.
        config: Box<ServerConfig>,
        /// The server must refuse it (and keep the configuration in force).
        refused: bool,
    },
}

/// A crafted datagram a peer sends.
#[derive(Debug, Clone)]
pub struct Send {
    /// The peer.
    pub from: String,
    /// Where to.
    pub to: To,
    /// The DHCP payload, possibly malformed on purpose.
    pub payload: Vec<u8>,
    /// From port 68 to 67 (a request) or from 67 to 68 (a reply).
    pub request: bool,
    /// The datagram's source, when not the peer's own address and the port `request` implies
    /// (a replayed client sends from 0.0.0.0 before it has an address, a relay from port 67).
    pub src: Option<SocketAddrV4>,
    /// The datagram's destination, when not the addressed host's address (or the broadcast
    /// address) and the port `request` implies.
    pub dst: Option<SocketAddrV4>,
    /// Fields filled when the step runs from variables an earlier step captured: the byte
    /// offset in the payload (4: `xid`, 4 bytes; 28: `chaddr`, up to 16) and the variable.
    /// A scripted server answers a client under test this way, in its transaction.
    pub vars: Vec<(usize, String)>,
}

/// Where `xid` sits in a DHCPv4 message, for [`Send::vars`].
pub const XID_OFFSET: usize = 4;
/// Where `chaddr` sits in a DHCPv4 message, for [`Send::vars`].
pub const CHADDR_OFFSET: usize = 28;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// Every host (broadcast link address).
    Broadcast,
    /// One host: frames to its link address, and broadcast replies that carry its link
    /// address in `chaddr`.
    Host(String),
}

/// An expectation.
#[derive(Debug, Clone)]
pub enum Expect {
    /// A message matching the filter and checks arrives in the window; its values may be
    /// captured into variables.
    Message {
        /// Which messages are candidates.
        filter: Filter,
        /// When, counted from the step's time.
        window: Window,
        /// Checks on fields and options.
        checks: Vec<Check>,
        /// Variables set from the matched message.
        capture: Vec<(String, Target)>,
        /// The run goes on when it does not come (the timeline notes it): a wait for an
        /// answer rather than a check of it, as a replay needs.
        optional: bool,
    },
    /// No message matching the filter within this long.
    Nothing {
        /// Which messages must not appear.
        filter: Filter,
        /// For how long.
        within: Duration,
    },
    /// A client's event program ran for exactly these events, in order, since the run began.
    Events {
        /// The client.
        host: String,
        /// The event names (BOUND, EXTEND, ...).
        events: Vec<String>,
    },
    /// A client's state and configured address now.
    Client {
        /// The client.
        host: String,
        /// Its state (`bound`, `renewing`, ..., or `stopped`).
        state: Option<String>,
        /// The address on its interface (a DHCPv6 client: one of its IA_NA addresses):
        /// `None` for no address.
        address: Option<Option<AddrRef>>,
        /// An address it must not hold (one it gave up, while it keeps others).
        not_address: Option<AddrRef>,
        /// A prefix delegated to it (DHCPv6): `None` for no prefix at all.
        prefix: Option<Option<PrefixRef>>,
    },
    /// A server's lease of one address or delegated prefix now.
    Lease {
        /// The server.
        host: String,
        /// The address or prefix.
        of: LeaseOf,
        /// Its state.
        state: LeaseState,
        /// The client it belongs to, when given.
        owner: Option<String>,
    },
    /// How many leases a server holds in the active state now.
    Leases {
        /// The server.
        host: String,
        /// Fewest.
        min: u64,
        /// Most.
        max: u64,
    },
    /// The calls the trace hook library wrote to `${trace}` since the previous such check of
    /// the server: exactly these, in order, each `LIBRARY HOOK` (`A pkt4_receive`, `A load`).
    HookCalls {
        /// The server.
        host: String,
        /// The calls.
        calls: Vec<String>,
    },
    /// A server's HA state (`status-get`'s local state): it must hold at some moment within
    /// `within` of the step's time.
    HaState {
        /// The server.
        host: String,
        /// Kea's state name (`hot-standby`, `partner-down`, ...).
        state: String,
        /// How long it may take to come.
        within: Duration,
    },
    /// The run-script hook's runs on the server since the previous such check: exactly these
    /// hook points, each with the variables given, in any order (scripts run without waiting
    /// for each other, as Kea runs them, so their records may swap).
    Scripts {
        /// The server.
        host: String,
        /// The runs.
        runs: Vec<ScriptCheck>,
    },
}

/// One run of the run-script hook an expectation looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCheck {
    /// The hook point (the script's `$1`).
    pub hook: String,
    /// Variables of its environment and their values: text, or `$var` for a captured value
    /// (an address as `192.0.2.100`, anything else as `aa:bb:...`).
    pub env: Vec<(String, String)>,
}

/// The states of a server's lease an expectation can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// Assigned and not expired.
    Active,
    /// Past its expiry, not yet reclaimed.
    Expired,
    /// Reclaimed and kept for lease affinity.
    Reclaimed,
    /// Declined.
    Declined,
    /// No lease at all.
    Absent,
}

impl LeaseState {
    /// The names a scenario uses.
    pub const NAMES: [(&'static str, LeaseState); 5] = [
        ("active", LeaseState::Active),
        ("expired", LeaseState::Expired),
        ("reclaimed", LeaseState::Reclaimed),
        ("declined", LeaseState::Declined),
        ("absent", LeaseState::Absent),
    ];

    /// The name a scenario uses.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("?", |(n, _)| n)
    }
}

/// What a lease expectation looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOf {
    /// The lease of an address (IPv4, or an IA_NA address).
    Address(AddrRef),
    /// The lease of a delegated prefix (IA_PD).
    Prefix(PrefixRef),
}

/// An address written out or taken from a captured variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrRef {
    /// This address.
    Literal(IpAddr),
    /// The address captured under this name.
    Var(String),
}

/// Which messages an expectation looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Sent by this host.
    pub from: Option<String>,
    /// Sent to this host or to everyone.
    pub to: Option<To>,
    /// Of this kind.
    pub kind: Option<Kind>,
}

/// A message's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A DHCP message of this type (option 53).
    Dhcp(MessageType),
    /// A DHCPv6 message of this type.
    Dhcp6(dhcplab_wire::v6::MessageType),
    /// A BOOTP request (no option 53).
    BootRequest,
    /// A BOOTP reply (no option 53).
    BootReply,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Dhcp(t) => write!(f, "{t}"),
            Kind::Dhcp6(t) => write!(f, "{t}"),
            Kind::BootRequest => f.write_str("BOOTREQUEST"),
            Kind::BootReply => f.write_str("BOOTREPLY"),
        }
    }
}

/// A time window after a step's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The message may not come earlier than this.
    pub not_before: Duration,
    /// It must come no later than this.
    pub within: Duration,
}

/// One check on a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What is checked.
    pub target: Target,
    /// How.
    pub matcher: Matcher,
    /// Where the check is written.
    pub place: Place,
}

impl Kind {
    /// The DHCP version of messages of this kind.
    pub fn family(self) -> Family {
        match self {
            Kind::Dhcp6(_) => Family::V6,
            _ => Family::V4,
        }
    }
}

/// A part of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A fixed field, or an address of the datagram.
    Field(Field),
    /// A DHCPv4 option, by code.
    Option(u8),
    /// A DHCPv6 option or a path into an IA, of the client's message (the innermost one of
    /// a relayed message).
    Option6(Path6),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Field(x) => f.write_str(x.name()),
            Target::Option(c) => write!(
                f,
                "option {c} ({})",
                dhcplab_kea_config::options4::name_of(*c)
                    .unwrap_or_else(|| dhcplab_wire::v4::catalogue::name(*c))
            ),
            Target::Option6(p) => write!(f, "{p}"),
        }
    }
}

/// The fixed fields of a DHCPv4 message, the header fields of a DHCPv6 message (`xid`; a
/// relay message's `hops`, `link-address`, `peer-address`, its Interface-Id and the type of
/// the message it carries), and the datagram's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Field {
    Op,
    Htype,
    Hlen,
    Hops,
    Xid,
    Secs,
    Flags,
    /// The BROADCAST bit of `flags`, as 0 or 1 (or true/false).
    Broadcast,
    Ciaddr,
    Yiaddr,
    Siaddr,
    Giaddr,
    /// The client's hardware address (`hlen` bytes of `chaddr`).
    Chaddr,
    Sname,
    File,
    /// The IP source address.
    Src,
    /// The IP destination address.
    Dst,
    /// A DHCPv6 relay message's link-address.
    LinkAddress,
    /// A DHCPv6 relay message's peer-address.
    PeerAddress,
    /// A DHCPv6 relay message's Interface-Id option (18).
    InterfaceId,
    /// The type of the client message inside a DHCPv6 relay message, through every layer.
    Inner,
}

impl Field {
    /// Every field with its name in scenario files.
    pub const ALL: [(&'static str, Field); 21] = [
        ("op", Field::Op),
        ("htype", Field::Htype),
        ("hlen", Field::Hlen),
        ("hops", Field::Hops),
        ("xid", Field::Xid),
        ("secs", Field::Secs),
        ("flags", Field::Flags),
        ("broadcast", Field::Broadcast),
        ("ciaddr", Field::Ciaddr),
        ("yiaddr", Field::Yiaddr),
        ("siaddr", Field::Siaddr),
        ("giaddr", Field::Giaddr),
        ("chaddr", Field::Chaddr),
        ("sname", Field::Sname),
        ("file", Field::File),
        ("src", Field::Src),
        ("dst", Field::Dst),
        ("link-address", Field::LinkAddress),
        ("peer-address", Field::PeerAddress),
        ("interface-id", Field::InterfaceId),
        ("inner", Field::Inner),
    ];

    /// The fields a DHCPv6 message has.
    pub const V6: [Field; 8] = [
        Field::Xid,
        Field::Src,
        Field::Dst,
        Field::Hops,
        Field::LinkAddress,
        Field::PeerAddress,
        Field::InterfaceId,
        Field::Inner,
    ];

    /// The fields only a DHCPv6 relay message has.
    pub const RELAY: [Field; 5] = [
        Field::Hops,
        Field::LinkAddress,
        Field::PeerAddress,
        Field::InterfaceId,
        Field::Inner,
    ];

    /// Whether a message of `family` has this field.
    pub fn in_family(self, family: Family) -> bool {
        match family {
            Family::V6 => Self::V6.contains(&self),
            Family::V4 => !Self::RELAY.contains(&self) || self == Field::Hops,
        }
    }

    /// Its name in scenario files.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }
}

/// How a value is checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// The option is there.
    Present,
    /// The option is not there.
    Absent,
    /// The value as a big-endian number equals this.
    Int(u64),
    /// The value as a number lies in this range.
    Range {
        /// Lowest allowed.
        min: Option<u64>,
        /// Highest allowed.
        max: Option<u64>,
    },
    /// The value written out equals this text: an address (or, with `/len`, lies in that
    /// prefix), a list of addresses separated by commas, a message type, text, or hex bytes
    /// (`0x...`, `aa:bb`).
    Text(String),
    /// The value's bytes equal these.
    Bytes(Vec<u8>),
    /// The value's bytes equal those captured under this name.
    Var(String),
}

/// Why a scenario file cannot be run: every fault found, each with its place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.lines())]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// The faults, in file order.
    pub faults: Vec<Fault>,
}

impl ScenarioError {
    fn lines(&self) -> String {
        let lines: Vec<String> = self
            .faults
            .iter()
            .map(|f| format!("{}:{}: {}", self.file.display(), f.place, f.message))
            .collect();
        lines.join("\n")
    }
}

/// One fault in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Where.
    pub place: Place,
    /// What is wrong.
    pub message: String,
}

/// A scenario's name, `topic/NAME`, from its file's folder and stem.
pub fn name_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    match path.parent().and_then(|p| p.file_name()) {
        Some(topic) => format!("{}/{stem}", topic.to_string_lossy()),
        None => stem,
    }
}

/// The longest scenario file read (4 MiB): a scenario of a thousand hosts with their Kea
/// configurations is a few hundred KiB, while the TOML reader takes seconds and hundreds of
/// MiB over tens of MiB of text before it reports a fault.
pub const MAX_FILE: u64 = 4 << 20;

/// Reads the scenario in `path`; its name is `topic/NAME` from the folder and file stem. A
/// file longer than [`MAX_FILE`] is refused unread.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let fault = |place, message| ScenarioError {
        file: path.to_path_buf(),
        faults: vec![Fault { place, message }],
    };
    let cannot =
        |e: std::io::Error| fault(Place { line: 0, column: 0 }, format!("cannot read: {e}"));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(fault(
            Place { line: 1, column: 1 },
            format!("the file is longer than {MAX_FILE} bytes, the most a scenario may be"),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        // The place of the first byte that is not UTF-8: the text before it is good.
        let offset = e.utf8_error().valid_up_to();
        let good = e.as_bytes().get(..offset).unwrap_or_default();
        let place = Place::of(std::str::from_utf8(good).unwrap_or_default(), offset);
        let byte = e.as_bytes().get(offset).copied().unwrap_or_default();
        fault(
            place,
            format!("not UTF-8 text: byte 0x{byte:02x} at byte offset {offset}"),
        )
    })?;
    parse(&text, path)
}

/// Reads a scenario from `text`, as if from the file `path`.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let err = |faults| ScenarioError {
        file: path.to_path_buf(),
        faults,
    };
    let ranges = vary::ranges(text).map_err(err)?;
    if ranges.is_empty() {
        vary::substitute(text, &[], &[]).map_err(err)?;
        let mut s = build::build(text, path).map_err(err)?;
        s.source = text.to_string();
        return Ok(s);
    }
    let ends = |pick: fn(&Vary) -> f64| -> Vec<f64> { ranges.iter().map(pick).collect() };
    let template = Scenario {
        source: text.to_string(),
        vary: ranges.clone(),
        ..build::build(&vary::substitute(text, &ranges, &[]).map_err(err)?, path).map_err(err)?
    };
    // Both ends of every range must make a good file; a fault says which values it came with.
    for values in [ends(|v| v.min), ends(|v| v.max)] {
        if let Err(mut e) = template.instance(&values) {
            let with = template.describe_values(&values);
            for f in &mut e.faults {
                f.message = format!("with {with}: {}", f.message);
            }
            return Err(e);
        }
    }
    Ok(template)
}

/// The scenario files under `path` (a file, or a folder searched to any depth for `*.toml`),
/// sorted, so a suite always runs in the same order.
pub fn discover(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let p = entry?.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "toml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}
