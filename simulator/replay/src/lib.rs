//! Pcap replay: a capture's DHCPv4 conversations re-enacted against a server under test.
//!
//! [`plan`] takes what [`dhcplab_conversations::find`] found and decides the run: one scripted
//! peer per recorded client (and per relay agent), each recorded request rewritten into the
//! run (transaction ids drawn from the seed, link addresses from 02:00:5e:00:53:11 on, every
//! subnet moved to a documentation range with its host numbers kept, server identifiers to
//! the run's server) and sent at its recorded time, or, where the recorded client sent it
//! only after an answer, once the server under test has answered (after the recorded pause).
//! The server's configuration is derived from the recorded answers (subnet, pool, a
//! reservation per client, the options sent, lifetimes and timers) unless one is given.
//!
//! The plan is written out as a scenario ([`Plan::scenario`]): with checks taken from the
//! recorded answers it is what `dhcplab pcap2scenario` writes; without them it is what a
//! replay plays, in either mode. [`compare`] then pairs each recorded answer with the answer
//! the server under test gave in the run's own capture and reports the differences, field by
//! field and option by option.
//!
//! The server side ([`Side::Server`]) turns it around: the recorded server is a peer that
//! answers a client under test with the recorded answers in the client's own transaction, and
//! the report sets the client's requests beside the recorded ones.
//!
//! DHCPv6 conversations are planned alike ([`v6`]): one scripted peer per recorded client,
//! or per relay agent for relayed requests (RELAY-FORW with every relay layer kept),
//! addresses and prefixes moved into 2001:db8::/32 with their low 80 bits kept, link
//! addresses in DUIDs and EUI-64 identifiers rewritten alike, a Request's server identifier
//! captured from the run's Advertise; the `Dhcp6` configuration derived from the recorded
//! answers ([`Plan6::config`]). A capture may mix both. The server side replays DHCPv4 only.

mod compare;
mod compare6;
mod config;
mod config6;
mod map;
mod text;
mod text6;
pub mod v6;

pub use compare::{
    Answer as AnswerReport, ConversationReport, Difference, Report, Verdict, compare,
};
pub use map::{AddressMap, Net};
pub use v6::{AddressMap6, Answer6, Item6, Plan6, Send6};

/// A scripted peer of a run's DHCPv6 part.
pub type Peer6 = Peer<std::net::Ipv6Addr>;

use dhcplab_conversations::{Family, Found, Role};
use dhcplab_wire::v4::{Hex, Message};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

/// What can stop a replay from being planned.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The capture holds nothing the chosen side can replay.
    #[error("the capture holds nothing to replay{0}")]
    NothingToReplay(String),
    /// More subnets than the documentation ranges hold.
    #[error(
        "subnet {0} has no place left in the run's ranges (242 subnets of a /24 or less fit, and larger ones, up to a /15, in 198.18.0.0/15)"
    )]
    TooManySubnets(Net),
    /// The configuration given is not JSON.
    #[error("the configuration given is not JSON: {0}")]
    Config(String),
    /// The scenario written for the run does not read back (a configuration given that the
    /// server cannot take, most likely).
    #[error("{0}")]
    Scenario(String),
    /// The run's own capture could not be written or read back.
    #[error("the run's capture: {0}")]
    RunCapture(String),
}

/// How fast recorded pauses pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As recorded.
    Original,
    /// No pause: each request goes as soon as the one before went or its answer came.
    Asap,
    /// Pauses divided by this factor.
    Times(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "original" => Ok(Speed::Original),
            "asap" => Ok(Speed::Asap),
            _ => match s.strip_prefix('x').and_then(|n| n.parse::<f64>().ok()) {
                Some(f) if (0.001..=1_000_000.0).contains(&f) => Ok(Speed::Times(f)),
                _ => Err(format!(
                    "{s:?}: give original, asap or xN with N from 0.001 to 1000000 (x10 plays ten times as fast)"
                )),
            },
        }
    }
}

impl Speed {
    fn scale(self, d: Duration) -> Duration {
        match self {
            Speed::Original => d,
            Speed::Asap => Duration::ZERO,
            Speed::Times(f) => {
                Duration::try_from_secs_f64(d.as_secs_f64() / f).unwrap_or(Duration::MAX)
            }
        }
    }
}

/// The side of the capture a replay plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Side {
    /// The recorded clients, against a server under test.
    #[default]
    Client,
    /// The recorded server, answering a client under test with the recorded answers (its
    /// transaction id and hardware address put in), the client's requests compared with the
    /// recorded ones.
    Server,
}

/// How a replay is planned.
#[derive(Debug, Clone)]
pub struct Options {
    /// The side the capture plays.
    pub side: Side,
    /// The seed transaction ids are drawn from.
    pub seed: u64,
    /// How fast recorded pauses pass.
    pub speed: Speed,
    /// The server's configuration (Kea's JSON); `None` derives it from the capture.
    pub config: Option<String>,
    /// How long to wait for an answer a recorded client waited for, and for the last answers.
    pub wait: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            side: Side::Client,
            seed: 1,
            speed: Speed::Original,
            config: None,
            wait: Duration::from_secs(2),
        }
    }
}

/// A scripted peer of the run: a recorded client or relay agent; `A` is its address's
/// family (a DHCPv6 peer is a [`Peer6`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer<A = Ipv4Addr> {
    /// Its host name in the run (`c1`, `r1`; `v6-c1` beside DHCPv4 peers).
    pub name: String,
    /// Its link address in the run (a DHCPv6 peer's link-local address is made from it).
    pub mac: [u8; 6],
    /// Its address in the run, when it has one: a DHCPv4 client sending from its lease, a
    /// relay (a DHCPv6 relay's RELAY-FORW goes from it); a DHCPv6 client's is 2001:db8::/64
    /// with its EUI-64 identifier, which makes the peer a DHCPv6 host of the scenario (so its
    /// REQUEST, RELEASE and DECLINE are DHCPv6's) while its messages go from its link-local
    /// address as recorded.
    pub address: Option<A>,
    /// Who it was in the capture: its link address or DUID, or a relay's address.
    pub recorded: String,
    /// It is a relay agent (it forwards requests from port 67 or 547 and takes the answers).
    pub relay: bool,
}

impl<A: std::fmt::Display> Peer<A> {
    /// Its line in a plan's mapping: who it was in the capture, and its link address,
    /// address and name in the run.
    pub fn mapping_line(&self) -> String {
        let address = self
            .address
            .as_ref()
            .map_or(String::new(), |a| format!(", {a}"));
        format!(
            "{} {} -> {}{address} ({})",
            if self.relay { "relay" } else { "client" },
            self.recorded,
            Hex(&self.mac),
            self.name
        )
    }
}

/// A recorded request, as the run sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    /// Its frame's number in the capture.
    pub record: u64,
    /// Its capture time (ns since 1970).
    pub at_ns: i128,
    /// The peer that sends it (index into [`Plan::peers`]).
    pub peer: usize,
    /// Its conversation (index into [`Plan::conversations`]).
    pub conversation: usize,
    /// Its type's name.
    pub kind: String,
    /// UDP source in the run.
    pub src: SocketAddrV4,
    /// UDP destination in the run.
    pub dst: SocketAddrV4,
    /// The rewritten payload.
    pub payload: Vec<u8>,
}

/// A recorded answer, rewritten into the run for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Its frame's number in the capture.
    pub record: u64,
    /// Its capture time (ns since 1970).
    pub at_ns: i128,
    /// The peer it went to.
    pub peer: usize,
    /// Its conversation.
    pub conversation: usize,
    /// Its type's name.
    pub kind: String,
    /// Its UDP destination in the run.
    pub dst: SocketAddrV4,
    /// The rewritten payload.
    pub payload: Vec<u8>,
    /// The recorded client sent its next request only after it: the run waits for the
    /// server's answer there.
    pub waited: bool,
}

/// One step of the re-enactment, in capture order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A request to send.
    Send(Send),
    /// An answer the recorded server gave.
    Answer(Answer),
}

impl Item {
    fn at_ns(&self) -> i128 {
        match self {
            Item::Send(s) => s.at_ns,
            Item::Answer(a) => a.at_ns,
        }
    }
}

/// A replayed conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// Its transaction id in the capture.
    pub recorded_xid: u32,
    /// Its transaction id in the run.
    pub xid: u32,
    /// Its client's peer.
    pub client: usize,
}

/// Everything a replay needs: the run's hosts, what to send when, and what was answered.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The capture's name, for titles.
    pub capture: String,
    /// The server under test's address in the run.
    pub server: Ipv4Addr,
    /// The addresses the recorded servers answered from.
    pub recorded_servers: Vec<Ipv4Addr>,
    /// The server's configuration (Kea's JSON).
    pub config: String,
    /// It was derived from the capture (not given).
    pub derived: bool,
    /// The scripted peers.
    pub peers: Vec<Peer>,
    /// The conversations replayed.
    pub conversations: Vec<Replayed>,
    /// Requests and answers in capture order.
    pub items: Vec<Item>,
    /// What is not replayed, and why.
    pub left_out: Vec<String>,
    /// Where the capture's addresses went.
    pub map: AddressMap,
    /// How it was planned.
    pub options: Options,
    /// The DHCPv6 conversations' part, when the capture holds any.
    pub v6: Option<Plan6>,
}

/// Plans the replay of the client side of `found` (read from a capture named `capture`).
pub fn plan(found: &Found, capture: &str, options: Options) -> Result<Plan, ReplayError> {
    let mut left_out = Vec::new();
    let mut chosen = Vec::new();
    for (i, c) in found.conversations.iter().enumerate() {
        let first = c.messages.first().and_then(|m| found.messages.get(*m));
        let record = first.map_or(0, |m| m.record);
        if c.family == Family::V6 {
            if options.side == Side::Server {
                left_out.push(format!(
                    "#{record}: a DHCPv6 conversation (the server side replays DHCPv4 only)"
                ));
            }
            continue;
        }
        let requests = c
            .messages
            .iter()
            .filter(|m| is_request(&found.messages[**m]))
            .count();
        if requests == 0 {
            left_out.push(format!(
                "#{record}: answers whose request the capture does not hold (xid {:#010x})",
                c.xid
            ));
            continue;
        }
        chosen.push(i);
    }
    let chosen6 = if options.side == Side::Client {
        v6::choose(found, &mut left_out)
    } else {
        Vec::new()
    };
    if chosen.is_empty() && chosen6.is_empty() {
        let why = if left_out.is_empty() {
            String::new()
        } else {
            format!(": {}", left_out.join("; "))
        };
        return Err(ReplayError::NothingToReplay(format!(
            ": no DHCPv4 or DHCPv6 request{why}"
        )));
    }
    // A configuration given is the server's of its family: its `Dhcp4` map the DHCPv4
    // server's, its `Dhcp6` map the DHCPv6 server's (one file may hold both, as Kea's could).
    let (config4, config6) = match &options.config {
        Some(text) => {
            let json = serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| ReplayError::Config(e.to_string()))?;
            let only = |key: &str| {
                json.get(key).map(|m| {
                    serde_json::to_string_pretty(&serde_json::json!({ key: m })).unwrap_or_default()
                })
            };
            match (only("Dhcp4"), only("Dhcp6")) {
                (None, None) => (Some(text.clone()), None),
                (Some(_), None) => (Some(text.clone()), None),
                (None, Some(_)) => (None, Some(text.clone())),
                both => both,
            }
        }
        None => (None, None),
    };
    let mut plan = if chosen.is_empty() {
        Plan {
            capture: capture.to_string(),
            server: Ipv4Addr::UNSPECIFIED,
            recorded_servers: Vec::new(),
            config: String::new(),
            derived: true,
            peers: Vec::new(),
            conversations: Vec::new(),
            items: Vec::new(),
            left_out,
            map: AddressMap::default(),
            options: options.clone(),
            v6: None,
        }
    } else {
        plan4(found, capture, &chosen, left_out, &options, config4)?
    };
    if !chosen6.is_empty() {
        let p6 = v6::plan6(
            found,
            &chosen6,
            options.seed,
            config6.as_deref(),
            plan.map.macs.len(),
            plan.peers.len(),
            &mut plan.left_out,
        )?;
        plan.v6 = Some(p6);
    }
    Ok(plan)
}

/// Plans the DHCPv4 conversations `chosen` of `found`; `config` is a `Dhcp4` configuration
/// given.
fn plan4(
    found: &Found,
    capture: &str,
    chosen: &[usize],
    mut left_out: Vec<String>,
    options: &Options,
    config: Option<String>,
) -> Result<Plan, ReplayError> {
    let decoded = |i: usize| Message::decode(&found.messages[i].payload).ok();
    let mut map = AddressMap::default();
    // Subnets: from answers that give an address and a mask, then from giaddr, requested and
    // client addresses (as /24s) the answers did not place.
    let mut seen_addresses = Vec::new();
    for &c in chosen {
        let given = found.conversations[c].messages.iter().any(|&i| {
            decoded(i).is_some_and(|m| m.op == Message::BOOTREPLY && !m.yiaddr.is_unspecified())
        });
        for &i in &found.conversations[c].messages {
            let Some(m) = decoded(i) else { continue };
            if !given {
                seen_addresses.push(m.giaddr);
            }
            if m.op == Message::BOOTREPLY && !m.yiaddr.is_unspecified() {
                let len = m
                    .subnet_mask()
                    .ok()
                    .flatten()
                    .and_then(prefix_len)
                    .unwrap_or(24);
                map.add_subnet(Net::of(m.yiaddr, len))?;
            }
            seen_addresses.push(m.ciaddr);
            if let Ok(Some(a)) = m.requested_ip() {
                seen_addresses.push(a);
            }
        }
    }
    for a in seen_addresses {
        if !a.is_unspecified() && map.subnet(a).is_none() {
            map.add_subnet(Net::of(a, 24))?;
        }
    }
    // The server the run's server stands in for: the first to answer. Answers of others (a
    // second server, a rogue one) are left out: the run has one server.
    let mut recorded_servers: Vec<Ipv4Addr> = Vec::new();
    for &c in chosen {
        for &i in &found.conversations[c].messages {
            if let Some(a) = answered_by(&found.messages[i])
                && !recorded_servers.contains(&a)
            {
                recorded_servers.push(a);
            }
        }
    }
    for other in recorded_servers.iter().skip(1) {
        left_out.push(format!(
            "the answers of server {other}: the run's server stands in for {} only",
            recorded_servers[0]
        ));
    }
    recorded_servers.truncate(1);
    if map.subnets.is_empty() {
        map.add_subnet(Net::of(Ipv4Addr::new(192, 0, 2, 0), 24))?;
    }
    let mut rng = dhcplab_rng::Rng::fork(options.seed, "replay");
    let mut peers: Vec<Peer> = Vec::new();
    let mut conversations = Vec::new();
    let mut xids = BTreeSet::new();
    let mut items = Vec::new();
    let mut relays: Vec<(Ipv4Addr, usize)> = Vec::new();
    let mut under_test: Option<[u8; 6]> = None;
    for &c in chosen {
        let conv = &found.conversations[c];
        let first = conv
            .messages
            .iter()
            .find(|m| is_request(&found.messages[**m]))
            .and_then(|m| decoded(*m));
        let recorded_mac = first
            .as_ref()
            .map(|m| {
                let mut mac = [0u8; 6];
                let hw = &m.chaddr[..6];
                mac.copy_from_slice(hw);
                mac
            })
            .unwrap_or_default();
        if options.side == Side::Server {
            match under_test {
                Some(mac) if mac != recorded_mac => {
                    left_out.push(format!(
                        "the conversation of client {} (xid {:#010x}): one client is under test, {}",
                        Hex(&recorded_mac),
                        conv.xid,
                        Hex(&mac)
                    ));
                    continue;
                }
                _ => under_test = Some(recorded_mac),
            }
        }
        let lab_mac = map.mac(recorded_mac);
        let client = match peers.iter().position(|p| p.mac == lab_mac) {
            Some(p) => p,
            None => {
                peers.push(Peer {
                    name: format!("c{}", peers.iter().filter(|p| !p.relay).count() + 1),
                    mac: lab_mac,
                    address: None,
                    recorded: Hex(&recorded_mac).to_string(),
                    relay: false,
                });
                peers.len() - 1
            }
        };
        let mut xid = rng.next_u32();
        while !xids.insert(xid) {
            xid = rng.next_u32();
        }
        let index = conversations.len();
        conversations.push(Replayed {
            recorded_xid: conv.xid,
            xid,
            client,
        });
        let relayed_requests = conv
            .messages
            .iter()
            .any(|m| is_relayed(&found.messages[*m]));
        let server_answers = conv.messages.iter().any(|m| {
            let m = &found.messages[*m];
            m.sender == Role::Server && !is_request(m)
        });
        let mut last_peer = client;
        for &i in &conv.messages {
            let m = &found.messages[i];
            let (SocketAddr::V4(src), SocketAddr::V4(dst)) = (m.src, m.dst) else {
                continue;
            };
            if is_request(m) {
                if relayed_requests && !is_relayed(m) {
                    continue;
                }
                let peer = if is_relayed(m) {
                    let giaddr = decoded(i).map_or(*src.ip(), |d| d.giaddr);
                    relay_peer(&mut peers, &mut relays, giaddr, |n| Peer {
                        name: format!("r{}", n + 1),
                        mac: map::relay_mac(n),
                        address: Some(map.address(giaddr)),
                        recorded: giaddr.to_string(),
                        relay: true,
                    })
                } else {
                    client
                };
                last_peer = peer;
                let payload = map.rewrite(&m.payload, xid);
                let lab_src = SocketAddrV4::new(map.address(*src.ip()), src.port());
                if peer == client && peers[peer].address.is_none() && !lab_src.ip().is_unspecified()
                {
                    peers[peer].address = Some(*lab_src.ip());
                }
                items.push(Item::Send(Send {
                    record: m.record,
                    at_ns: m.at_ns,
                    peer,
                    conversation: index,
                    kind: m.kind.clone(),
                    src: lab_src,
                    dst: SocketAddrV4::new(map.address(*dst.ip()), dst.port()),
                    payload,
                }));
            } else if (m.sender == Role::Server || !server_answers)
                && answered_by(m).is_none_or(|a| recorded_servers.contains(&a))
            {
                items.push(Item::Answer(Answer {
                    record: m.record,
                    at_ns: m.at_ns,
                    peer: last_peer,
                    conversation: index,
                    kind: m.kind.clone(),
                    dst: SocketAddrV4::new(map.address(*dst.ip()), dst.port()),
                    payload: {
                        let mut p = map.rewrite(&m.payload, xid);
                        // Captured on the client's side of a relay while the run's client
                        // talks to the server directly: the server's answer has no giaddr.
                        if m.sender == Role::Relay && !relayed_requests && p.len() >= 28 {
                            p[24..28].fill(0);
                        }
                        p
                    },
                    waited: false,
                }));
            }
        }
    }
    items.sort_by_key(Item::at_ns);
    mark_waited(&mut items);
    let relayed_only = items.iter().all(|it| match it {
        Item::Send(s) => peers[s.peer].relay,
        Item::Answer(_) => true,
    });
    // Without a recorded answer, the server is where the requests went (a relay's unicast,
    // a server identifier), else a fresh address for relayed requests, else the top of the
    // first subnet.
    let asked: Option<Ipv4Addr> = chosen.iter().find_map(|&c| {
        found.conversations[c].messages.iter().find_map(|&i| {
            let m = &found.messages[i];
            let to = match m.dst.ip() {
                IpAddr::V4(a) if is_request(m) && !a.is_broadcast() => Some(a),
                _ => None,
            };
            to.or_else(|| decoded(i).and_then(|d| d.server_id().ok().flatten()))
        })
    });
    let top_of_first = map.subnets[0]
        .1
        .nth(254.min((1u64 << (32 - u32::from(map.subnets[0].1.len))).saturating_sub(2)));
    let server = match recorded_servers.first().copied().or(asked) {
        // Clients on the server's link reach only a server with an address in their subnet
        // (Kea selects the subnet by the interface's address): one the capture shows behind a
        // relay moves there.
        Some(a) if relayed_only || map.subnet(a).is_some() => map.address(a),
        Some(_) if !relayed_only => top_of_first,
        Some(a) => map.address(a),
        None if relayed_only => map.fresh(),
        None => top_of_first,
    };
    if options.side == Side::Server && !items.iter().any(|i| matches!(i, Item::Answer(_))) {
        return Err(ReplayError::NothingToReplay(
            ": the server side needs a server's answers, and the capture holds none".into(),
        ));
    }
    let (config, derived) = match config {
        Some(text) => (text, false),
        None => (config::derive(&items, &map), true),
    };
    Ok(Plan {
        capture: capture.to_string(),
        server,
        recorded_servers,
        config,
        derived,
        peers,
        conversations,
        items,
        left_out,
        map,
        options: options.clone(),
        v6: None,
    })
}

/// The scenario a replay plays, read back as the runner takes it.
pub fn scenario_of(plan: &Plan) -> Result<dhcplab_scenario::Scenario, ReplayError> {
    let text = plan.scenario(false);
    let name = format!("replay-of-{}", plan.capture);
    dhcplab_scenario::parse(&text, std::path::Path::new(&name))
        .map_err(|e| ReplayError::Scenario(e.to_string()))
}

/// The report of a run of [`scenario_of`] (in either mode, recorded): the run's capture read
/// back by the conversation finder and compared with the plan's recorded answers.
pub fn report(
    plan: &Plan,
    outcome: &dhcplab_runner::Outcome,
    against: &str,
) -> Result<Report, ReplayError> {
    let pcap = outcome
        .timeline
        .pcap()
        .map_err(|e| ReplayError::RunCapture(e.to_string()))?;
    let reader = dhcplab_capture::CaptureReader::new(std::io::Cursor::new(pcap))
        .map_err(|e| ReplayError::RunCapture(e.to_string()))?;
    let run = dhcplab_conversations::find(reader);
    let stopped =
        (outcome.status == dhcplab_runner::Status::Failed).then(|| outcome.message.clone());
    Ok(match plan.options.side {
        Side::Client => compare(plan, &run, against, stopped),
        Side::Server => compare::requests(plan, &run, against, stopped),
    })
}

/// Replays `plan` against the reference server (or, for the server side, the reference
/// client) in virtual time.
pub fn replay_virtual(plan: &Plan) -> Result<(Report, dhcplab_runner::Outcome), ReplayError> {
    let scenario = scenario_of(plan)?;
    let outcome = dhcplab_virtual_mode::run(
        &scenario,
        dhcplab_virtual_mode::Options {
            seed: plan.options.seed,
            record: true,
        },
    );
    let against = match plan.options.side {
        Side::Client => "the reference server (virtual mode)",
        Side::Server => "the reference client (virtual mode)",
    };
    let report = report(plan, &outcome, against)?;
    Ok((report, outcome))
}

/// A request or an answer of either family, as [`mark_waited`] reads it.
pub(crate) trait Step {
    /// The peer that sends it or that it went to.
    fn peer(&self) -> usize;
    /// Whether it is a request.
    fn is_send(&self) -> bool;
    /// An answer's `waited`.
    fn waited(&mut self) -> Option<&mut bool>;
}

impl Step for Item {
    fn peer(&self) -> usize {
        match self {
            Item::Send(s) => s.peer,
            Item::Answer(a) => a.peer,
        }
    }
    fn is_send(&self) -> bool {
        matches!(self, Item::Send(_))
    }
    fn waited(&mut self) -> Option<&mut bool> {
        match self {
            Item::Send(_) => None,
            Item::Answer(a) => Some(&mut a.waited),
        }
    }
}

/// Marks each answer of `items` (in capture order) waited for when the peer it went to sends
/// again next: the run waits for the server's answer there.
pub(crate) fn mark_waited<T: Step>(items: &mut [T]) {
    for i in 0..items.len() {
        if items[i].is_send() {
            continue;
        }
        let peer = items[i].peer();
        let waits = items[i + 1..]
            .iter()
            .find(|it| it.peer() == peer)
            .is_some_and(Step::is_send);
        if let Some(w) = items[i].waited() {
            *w = waits;
        }
    }
}

/// The peer standing in for the relay agent known by `key` (its giaddr, its address), made by
/// `new` from its number among the relays the first time it is seen.
pub(crate) fn relay_peer<A, K: PartialEq>(
    peers: &mut Vec<Peer<A>>,
    relays: &mut Vec<(K, usize)>,
    key: K,
    new: impl FnOnce(usize) -> Peer<A>,
) -> usize {
    if let Some((_, p)) = relays.iter().find(|(k, _)| *k == key) {
        return *p;
    }
    peers.push(new(relays.len()));
    relays.push((key, peers.len() - 1));
    peers.len() - 1
}

/// The bytes of a `sname` or `file` field up to its first NUL.
pub(crate) fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// Bytes as lower-case hexadecimal digits.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The option codes of `messages`, each once, in order of first appearance, without `skip`.
pub(crate) fn codes(messages: &[&Message], skip: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for o in messages.iter().flat_map(|m| m.options()) {
        if !out.contains(&o.code) && !skip.contains(&o.code) {
            out.push(o.code);
        }
    }
    out
}

/// The server a recorded answer came from: its server identifier, else its source address
/// (an answer a relay passed on has the relay's).
fn answered_by(m: &dhcplab_conversations::Message) -> Option<Ipv4Addr> {
    if m.sender == Role::Client || is_request(m) {
        return None;
    }
    if m.sender == Role::Relay {
        return Message::decode(&m.payload)
            .ok()
            .and_then(|d| d.server_id().ok().flatten());
    }
    let id = Message::decode(&m.payload)
        .ok()
        .and_then(|d| d.server_id().ok().flatten());
    match (id, m.src.ip()) {
        (Some(a), _) => Some(a),
        (None, IpAddr::V4(a)) if !a.is_unspecified() => Some(a),
        _ => None,
    }
}

/// A BOOTREQUEST a relay agent forwarded (from port 67, with giaddr set).
fn is_relayed(m: &dhcplab_conversations::Message) -> bool {
    m.sender == Role::Relay
        && is_request(m)
        && Message::decode(&m.payload).is_ok_and(|d| !d.giaddr.is_unspecified())
}

/// A BOOTREQUEST (from a client, or forwarded by a relay).
fn is_request(m: &dhcplab_conversations::Message) -> bool {
    m.family == Family::V4 && m.payload.first() == Some(&Message::BOOTREQUEST)
}

/// The prefix length of a contiguous mask.
fn prefix_len(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let len = m.leading_ones();
    (m.checked_shl(len).unwrap_or(0) == 0 && (8..=30).contains(&len)).then_some(len as u8)
}

impl Plan {
    /// The scenario that re-enacts the capture. The client side: with `checks`, every
    /// recorded answer is an expectation on type, address and options (what `pcap2scenario`
    /// writes); without, only the answers a recorded client waited for are waited for (what a
    /// replay plays). The server side: a client under test, and the recorded answers sent
    /// to each of its requests in its transaction; with `checks`, its requests must carry
    /// the recorded `ciaddr`, and in a REQUEST the recorded requested address and server.
    pub fn scenario(&self, checks: bool) -> String {
        match self.options.side {
            Side::Client => text::scenario(self, checks),
            Side::Server => text::server_side(self, checks),
        }
    }

    /// What may go wrong with a configuration given (`--config`): the run's server address,
    /// or a relay's, outside every subnet it declares (the capture's addresses were moved:
    /// see [`Plan::mapping`]).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.v6.as_ref().map_or_else(Vec::new, |p| p.warnings(self));
        out.extend(self.warnings4());
        out
    }

    /// [`Plan::warnings`] of the DHCPv4 part.
    fn warnings4(&self) -> Vec<String> {
        if self.derived || self.conversations.is_empty() {
            return Vec::new();
        }
        let subnets: Vec<Net> = serde_json::from_str::<serde_json::Value>(&self.config)
            .ok()
            .and_then(|j| j["Dhcp4"]["subnet4"].as_array().cloned())
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let (a, len) = s["subnet"].as_str()?.split_once('/')?;
                Some(Net::of(a.parse().ok()?, len.parse().ok()?))
            })
            .collect();
        let mut out = Vec::new();
        let relays = self
            .peers
            .iter()
            .filter(|p| p.relay)
            .filter_map(|p| p.address);
        let server_needed = !self.peers.iter().any(|p| p.relay);
        for (what, a) in std::iter::once(("the server's address", self.server))
            .filter(|_| server_needed)
            .chain(relays.map(|a| ("a relay's address", a)))
        {
            if !subnets.iter().any(|n| n.contains(a)) {
                out.push(format!(
                    "the configuration given has no subnet holding {what} {a}: the capture's addresses moved ({})",
                    self.mapping().join("; ")
                ));
            }
        }
        out
    }

    /// The items of each conversation, in capture order, indexed as [`Plan::conversations`].
    pub fn items_by_conversation(&self) -> Vec<Vec<&Item>> {
        let mut out = vec![Vec::new(); self.conversations.len()];
        for item in &self.items {
            let c = match item {
                Item::Send(s) => s.conversation,
                Item::Answer(a) => a.conversation,
            };
            if let Some(list) = out.get_mut(c) {
                list.push(item);
            }
        }
        out
    }

    /// The lines that say where the capture's addresses went in the run.
    pub fn mapping(&self) -> Vec<String> {
        let mut out = self.mapping4();
        if let Some(p) = &self.v6 {
            out.extend(p.mapping());
        }
        out
    }

    /// The DHCPv4 part's lines of [`Plan::mapping`] (none when it has no conversation).
    fn mapping4(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.conversations.is_empty() {
            return out;
        }
        for (r, l) in &self.map.subnets {
            out.push(format!("subnet {r} -> {l}"));
        }
        for a in &self.recorded_servers {
            out.push(format!("server {a} -> {} (srv)", self.server));
        }
        if self.recorded_servers.is_empty() {
            out.push(format!(
                "server (not in the capture) -> {} (srv)",
                self.server
            ));
        }
        out.extend(self.peers.iter().map(Peer::mapping_line));
        for (r, l) in &self.map.elsewhere {
            out.push(format!("address {r} -> {l}"));
        }
        out
    }
}
