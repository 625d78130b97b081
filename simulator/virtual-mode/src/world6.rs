//! The DHCPv6 hosts of the virtual link: the reference server6, client6 and relay6 cores,
//! driven in virtual time as the DHCPv4 cores are (see the parent module), with UDP/IPv6
//! frames from link-local addresses and multicast to ff02::1:2 (33:33:00:01:00:02).
//!
//! What virtual mode simplifies for DHCPv6, on purpose:
//! - neighbour discovery is answered from the table of addresses hosts hold on the sender's
//!   segments (link-local ones made from each host's link address, servers' and relays'
//!   global addresses, peers' `address6`, and the addresses clients configured);
//! - duplicate address detection is done at once when a client configures an address: when
//!   another host that the client can reach already holds it, the client is told
//!   [`HostEvent::Duplicate`] (real DAD takes about a second), so it Declines it; the address
//!   is never counted as the second client's; otherwise it is told [`HostEvent::DadDone`] at
//!   once, so BOUND6 comes with the Reply;
//! - a relay agent has one link address for both its interfaces; a frame reaches it on its
//!   clients' side when the sender shares that segment (a RELAY-REPL from a host on both of
//!   its segments comes in on its server side).

use super::{Node, World, epoch, shift};
use dhcplab_client::Order;
use dhcplab_client6::{
    Action as ClientAction, Binding, Client, Config as ClientConfig, Configuration, HostEvent,
    IaKind,
};
use dhcplab_hook_loader::{NativeLoader, Scripts};
use dhcplab_memfile::{Lease6, LeaseType};
use dhcplab_relay6::{Config as RelayConfig, Downlink, Received, Relay};
use dhcplab_rng::Rng;
use dhcplab_runner::hookfiles::ScriptRun;
use dhcplab_runner::{ClientView, LeaseRecord};
use dhcplab_scenario::v6::multicast_mac;
use dhcplab_scenario::{Client6Host, RelayHost, Scenario, Server6Config};
use dhcplab_server6::{Action as ServerAction, Datagram, Interface, Server};
use dhcplab_wire::v6::{Duid, MessageType};
use std::collections::BTreeMap;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

/// The interface number of a relay's clients' side.
const DOWNLINK: u32 = 1;
/// The interface number of a relay's server side.
const UPLINK: u32 = 2;

/// A DHCPv6 server host.
pub(crate) struct Server6Node {
    pub core: Option<Server>,
    pub address: Ipv6Addr,
    pub link_local: Ipv6Addr,
    pub config: Server6Config,
    /// The lease file: every row appended, in order.
    pub rows: Vec<Lease6>,
    /// `kea-dhcp6-serverid`'s text, once the server wrote it (kept across restarts).
    pub server_id_file: Option<String>,
    pub suspended: bool,
    /// The run-script hook's runs, recorded instead of run.
    pub scripts: Vec<ScriptRun>,
    /// How far its clock is ahead of the run's, in seconds.
    pub clock_offset: i64,
}

/// A DHCPv6 client host.
pub(crate) struct Client6Node {
    pub spec: Client6Host,
    pub core: Option<Client>,
    /// The addresses and prefixes on its interface.
    pub configured: Vec<Configuration>,
    /// The binding file.
    pub saved: Option<Binding>,
    /// The DUID the client made, kept for its next starts.
    pub duid: Option<Duid>,
    pub events: Vec<String>,
    pub starts: u64,
    /// When it starts (first start, or back from churn).
    pub start_at: Option<std::time::SystemTime>,
    /// When churn makes it leave.
    pub leave_at: Option<std::time::SystemTime>,
    pub rng: Rng,
}

/// A DHCPv6 relay agent host.
pub(crate) struct RelayNode {
    pub core: Relay,
    pub spec: RelayHost,
    pub link_local: Ipv6Addr,
    /// Stopped or suspended: it relays nothing.
    pub down: bool,
}

/// The address `host`'s frames to its upstream go to: a server's address, a relay's global
/// address, else its link-local one.
fn upstream_address(scenario: &Scenario, name: &str) -> Ipv6Addr {
    let Some(h) = scenario.hosts.iter().find(|h| h.name == name) else {
        return Ipv6Addr::UNSPECIFIED;
    };
    match &h.role {
        dhcplab_scenario::Role::Server6(s) => s.address,
        dhcplab_scenario::Role::Relay(r) => r.address.unwrap_or_else(|| h.link_local()),
        _ => h.link_local(),
    }
}

/// The node of DHCPv6 host `host` of `scenario`.
pub(crate) fn node6(
    scenario: &Scenario,
    host: &dhcplab_scenario::Host,
    seed: u64,
    start: std::time::SystemTime,
) -> Node {
    let link_local = host.link_local();
    match &host.role {
        dhcplab_scenario::Role::Server6(s) => Node::Server6(Box::new(Server6Node {
            core: None,
            address: s.address,
            link_local,
            config: s.config.clone(),
            rows: Vec::new(),
            server_id_file: None,
            suspended: false,
            scripts: Vec::new(),
            clock_offset: s.clock_offset,
        })),
        dhcplab_scenario::Role::Client6(c) => {
            let mut rng = Rng::fork(seed, &host.name);
            let start_at = start + c.start.draw(&mut rng);
            Node::Client6(Box::new(Client6Node {
                spec: c.clone(),
                core: None,
                configured: Vec::new(),
                saved: None,
                duid: None,
                events: Vec::new(),
                starts: 0,
                start_at: Some(start_at),
                leave_at: None,
                rng,
            }))
        }
        dhcplab_scenario::Role::Relay(r) => Node::Relay(Box::new(RelayNode {
            core: Relay::new(RelayConfig {
                downlinks: vec![Downlink {
                    index: DOWNLINK,
                    link_address: Some(r.link_address),
                    interface_id: r.interface_id.clone(),
                }],
                uplink: UPLINK,
                upstream: upstream_address(scenario, &r.upstream),
                client_link_layer: false,
            }),
            spec: r.clone(),
            link_local,
            down: false,
        })),
        // Only DHCPv6 roles come here; anything else takes what reaches it, as a peer.
        _ => Node::Peer(None),
    }
}

/// The configuration of a client core for `spec` on a host with link address `mac`: as many
/// IA_NAs and IA_PDs as asked, their IAIDs counting up from the default one (RFC 8415 12:
/// stable across restarts).
fn client_config(spec: &Client6Host, mac: [u8; 6], kept: Option<&Duid>) -> ClientConfig {
    let mut config = ClientConfig::new(mac);
    let first = dhcplab_client6::default_iaid(mac);
    let iaids = |n: u8| (0..u32::from(n)).map(|k| first.wrapping_add(k)).collect();
    config.na_iaids = iaids(spec.ia_na);
    config.pd_iaids = iaids(spec.ia_pd);
    config.rapid_commit = spec.rapid_commit;
    config.information_only = spec.information_only;
    config.oro.clone_from(&spec.request);
    config.duid = spec
        .duid
        .as_deref()
        .and_then(|d| Duid::parse(d).ok())
        .or_else(|| kept.cloned());
    config
}

/// The leases a v6 lease file holds: the last row of each lease (type and address) wins, a
/// row of lifetime 0 deletes (Kea's memfile).
fn replay_rows6(rows: &[Lease6]) -> Vec<Lease6> {
    let mut by: BTreeMap<(u8, Ipv6Addr), Lease6> = BTreeMap::new();
    for r in rows {
        let key = (r.lease_type as u8, r.address);
        if r.valid_lifetime == 0 {
            by.remove(&key);
        } else {
            by.insert(key, r.clone());
        }
    }
    by.into_values().collect()
}

impl World {
    /// Starts DHCPv6 host `i` (a server from its lease file, a client from its binding file).
    pub(crate) fn start6(&mut self, i: usize) -> Result<(), String> {
        let now = self.now;
        let name = self.names[i].clone();
        let mac = self.macs[i];
        let seed = self.seed;
        let config = match &self.nodes[i] {
            Node::Server6(s) if !s.config.dhcp6.hooks_libraries.is_empty() => {
                let mut config = s.config.dhcp6.clone();
                self.placeholders(i)?
                    .apply_libraries(&mut config.hooks_libraries);
                Some(config)
            }
            Node::Server6(s) => Some(s.config.dhcp6.clone()),
            _ => None,
        };
        match &mut self.nodes[i] {
            Node::Server6(s) => {
                let leases = replay_rows6(&s.rows);
                let config = config.ok_or("no configuration")?;
                let at = shift(now, s.clock_offset);
                // Native code runs in this process; scripts are recorded, not run.
                let loader = Box::new(NativeLoader::new(Scripts::Record));
                let mut core = Server::with_loader(
                    config,
                    s.config.json.clone(),
                    leases,
                    s.server_id_file.as_deref(),
                    at,
                    loader,
                )
                .map_err(|e| format!("{name} does not start: {e}"))?;
                core.attach(Interface {
                    index: 1,
                    name: "eth0".into(),
                    link_local: s.link_local,
                    addresses: vec![s.address],
                });
                s.core = Some(core);
                s.suspended = false;
                self.drain_server6(i);
            }
            Node::Client6(c) => {
                let config = client_config(&c.spec, mac, c.duid.as_ref());
                c.starts += 1;
                let seed = Rng::fork(seed, &format!("{name}#{}", c.starts)).next_u64();
                for conf in std::mem::take(&mut c.configured) {
                    if self.owners6.get(&conf.address) == Some(&i) {
                        self.owners6.remove(&conf.address);
                    }
                }
                c.core = Some(Client::new(config, seed, c.saved.clone(), now));
                c.start_at = None;
                c.leave_at = c.spec.churn.map(|ch| now + ch.up.draw(&mut c.rng));
                self.drain_client6(i);
            }
            Node::Relay(r) => r.down = false,
            _ => {}
        }
        self.rearm(i);
        Ok(())
    }

    /// Whether DHCPv6 host `i` runs (a client: and has not ended).
    pub(crate) fn running6(&self, i: usize) -> bool {
        match &self.nodes[i] {
            Node::Server6(s) => s.core.is_some(),
            Node::Client6(c) => c
                .core
                .as_ref()
                .is_some_and(|core| core.state() != dhcplab_client6::State::Idle),
            Node::Relay(r) => !r.down,
            _ => false,
        }
    }

    /// Stops DHCPv6 host `i`: `graceful` lets a client drop its leases as dhcpagent does on
    /// SIGTERM (its binding file stays, so the next start confirms them).
    pub(crate) fn stop6(&mut self, i: usize, graceful: bool) {
        if graceful && matches!(&self.nodes[i], Node::Client6(c) if c.core.is_some()) {
            self.host_event6(i, HostEvent::Drop);
        }
        match &mut self.nodes[i] {
            Node::Server6(s) => s.core = None,
            Node::Client6(c) => {
                c.core = None;
                c.start_at = None;
                c.leave_at = None;
            }
            Node::Relay(r) => r.down = true,
            _ => {}
        }
    }

    /// Hands a host event to a DHCPv6 client core.
    pub(crate) fn host_event6(&mut self, i: usize, event: HostEvent) {
        let now = self.now;
        if let Node::Client6(c) = &mut self.nodes[i]
            && let Some(core) = c.core.as_mut()
        {
            core.handle_host(now, event);
            self.drain_client6(i);
        }
        self.rearm(i);
    }

    /// A UDP/IPv6 datagram from host `from` reached host `port`.
    pub(crate) fn deliver6(
        &mut self,
        port: usize,
        from: usize,
        src: SocketAddrV6,
        dst: SocketAddrV6,
        payload: &[u8],
    ) {
        let now = self.clock_of(port);
        let from_client_side = self.on_client_side(port, from, payload);
        match &mut self.nodes[port] {
            Node::Server6(s) if dst.port() == 547 && !s.suspended => {
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
                self.drain_server6(port);
            }
            Node::Client6(c) if dst.port() == 546 => {
                if let Some(core) = c.core.as_mut() {
                    core.handle_datagram(now, payload);
                }
                self.drain_client6(port);
            }
            Node::Relay(r) if dst.port() == 547 && !r.down => {
                let interface = if from_client_side { DOWNLINK } else { UPLINK };
                let outcome = r.core.handle(Received {
                    interface,
                    source: src,
                    source_mac: Some(self.macs[from]),
                    payload,
                });
                match outcome {
                    Ok(f) => {
                        let source = match (f.interface, r.spec.address) {
                            (UPLINK, Some(a)) => a,
                            _ => r.link_local,
                        };
                        let side = if f.interface == UPLINK {
                            r.spec.server_side.clone()
                        } else {
                            r.spec.client_side.clone()
                        };
                        let dst_mac = self.resolve6_on(&side, *f.destination.ip());
                        self.send(
                            port,
                            dst_mac,
                            SocketAddr::V6(SocketAddrV6::new(source, 547, 0, 0)),
                            SocketAddr::V6(SocketAddrV6::new(
                                *f.destination.ip(),
                                f.destination.port(),
                                0,
                                0,
                            )),
                            &f.payload,
                        );
                    }
                    Err(why) => self.note(port, &format!("relays nothing: {why}")),
                }
            }
            _ => {}
        }
        self.rearm(port);
    }

    /// Whether a frame from `from` reaches relay `relay` on its clients' side.
    fn on_client_side(&self, relay: usize, from: usize, payload: &[u8]) -> bool {
        let Node::Relay(r) = &self.nodes[relay] else {
            return false;
        };
        let on = |seg: &str| self.segments[from].iter().any(|s| s == seg);
        let client = on(&r.spec.client_side);
        let server = on(&r.spec.server_side);
        let repl = payload.first() == Some(&MessageType::RELAY_REPL.0);
        client && !(server && repl)
    }

    /// The link address of `address` for a frame from host `i`: the multicast group's, or that
    /// of the host holding it on one of `i`'s segments (neighbour discovery, answered from
    /// the table).
    pub(crate) fn resolve6(&self, i: usize, address: Ipv6Addr) -> Option<[u8; 6]> {
        if address.is_multicast() {
            return Some(multicast_mac(address));
        }
        self.holder6(address)
            .filter(|j| self.share(i, *j))
            .map(|j| self.macs[j])
    }

    /// [`World::resolve6`] on segment `segment` (a relay's one side).
    fn resolve6_on(&self, segment: &str, address: Ipv6Addr) -> Option<[u8; 6]> {
        if address.is_multicast() {
            return Some(multicast_mac(address));
        }
        self.holder6(address)
            .filter(|j| self.segments[*j].iter().any(|s| s == segment))
            .map(|j| self.macs[j])
    }

    /// The host that holds `address`: its link-local address, or a global one.
    fn holder6(&self, address: Ipv6Addr) -> Option<usize> {
        self.link_locals
            .get(&address)
            .or_else(|| self.owners6.get(&address))
            .copied()
    }

    pub(crate) fn drain_server6(&mut self, i: usize) {
        loop {
            let Node::Server6(s) = &mut self.nodes[i] else {
                return;
            };
            let Some(core) = s.core.as_mut() else { return };
            let Some(action) = core.poll_action() else {
                return;
            };
            match action {
                ServerAction::Transmit(t) => {
                    let dst_mac = self.resolve6(i, *t.destination.ip());
                    let strip = |a: SocketAddrV6| {
                        SocketAddr::V6(SocketAddrV6::new(*a.ip(), a.port(), 0, 0))
                    };
                    self.send(
                        i,
                        dst_mac,
                        strip(t.source),
                        strip(t.destination),
                        &t.payload,
                    );
                }
                ServerAction::Persist(row) => {
                    s.rows.push(row.clone());
                    self.check_lease_tables6(i, &row);
                }
                ServerAction::CompactLeaseFile => s.rows = core.leases(),
                ServerAction::WriteServerId(text) => s.server_id_file = Some(text),
                ServerAction::Shutdown => {
                    s.core = None;
                    self.note(i, "shut down");
                }
                ServerAction::RunScript(script) => s.scripts.push(ScriptRun {
                    hook: script.args.first().cloned().unwrap_or_default(),
                    env: script.env,
                }),
            }
        }
    }

    pub(crate) fn drain_client6(&mut self, i: usize) {
        let now = self.now;
        loop {
            let Node::Client6(c) = &mut self.nodes[i] else {
                return;
            };
            let Some(core) = c.core.as_mut() else { return };
            let Some(action) = core.poll_action() else {
                return;
            };
            match action {
                ClientAction::Transmit(t) => {
                    let dst_mac = self.resolve6(i, t.destination);
                    self.send(
                        i,
                        dst_mac,
                        SocketAddr::V6(SocketAddrV6::new(t.source, 546, 0, 0)),
                        SocketAddr::V6(SocketAddrV6::new(t.destination, 547, 0, 0)),
                        &t.payload,
                    );
                }
                ClientAction::Configure(conf) => {
                    c.configured.push(conf.clone());
                    self.configure6(i, &conf);
                }
                ClientAction::Unconfigure(conf) => {
                    c.configured.retain(|k| *k != conf);
                    if self.owners6.get(&conf.address) == Some(&i) {
                        self.owners6.remove(&conf.address);
                    }
                }
                ClientAction::SaveBinding(b) => c.saved = Some(b),
                ClientAction::ForgetBinding => c.saved = None,
                ClientAction::SaveDuid(d) => c.duid = Some(d),
                ClientAction::Program(Order::Run { run, event }) => {
                    c.events.push(event.name().to_string());
                    core.handle_program_exit(now, run);
                    self.note(i, event.name());
                }
                ClientAction::Program(Order::Signal { .. }) | ClientAction::Log { .. } => {}
            }
        }
    }

    /// Client `i` configured an address or prefix: DAD for an address (a holder it can reach
    /// makes it a duplicate, reported to the client), and the invariant for a prefix (no
    /// other client may have one overlapping it).
    fn configure6(&mut self, i: usize, conf: &Configuration) {
        let now = self.now;
        match conf.kind {
            IaKind::Na => {
                let holder = self
                    .holder6(conf.address)
                    .filter(|o| *o != i && self.share(i, *o) && self.segment.reachable(i, *o));
                match holder {
                    Some(o) => {
                        let text = format!("DAD: {} is in use by {}", conf.address, self.names[o]);
                        self.note(i, &text);
                        if let Node::Client6(c) = &mut self.nodes[i]
                            && let Some(core) = c.core.as_mut()
                        {
                            core.handle_host(now, HostEvent::Duplicate(conf.address));
                        }
                    }
                    None => {
                        self.owners6.insert(conf.address, i);
                        // DAD found no holder: it is over at once, so the client reports its
                        // binding now, not after its DAD timeout (dhcpagent's PRE_BOUND waits
                        // for the kernel's answer; here there is nothing to wait for).
                        if let Node::Client6(c) = &mut self.nodes[i]
                            && let Some(core) = c.core.as_mut()
                        {
                            core.handle_host(now, HostEvent::DadDone(conf.address));
                        }
                    }
                }
            }
            IaKind::Pd => {
                let other = (0..self.nodes.len()).find(|j| {
                    *j != i
                        && matches!(&self.nodes[*j], Node::Client6(c) if c.configured.iter().any(|k| {
                            k.kind == IaKind::Pd
                                && dhcplab_runner::invariant::overlap6(
                                    k.address,
                                    k.prefix_len,
                                    conf.address,
                                    conf.prefix_len,
                                )
                        }))
                });
                if let Some(o) = other {
                    let text = format!(
                        "{} configured {}/{} while {} has a prefix overlapping it",
                        self.names[i], conf.address, conf.prefix_len, self.names[o]
                    );
                    self.violate(text);
                }
            }
        }
    }

    /// The invariant on DHCPv6 servers' lease tables: a lease server `i` just wrote must not
    /// cover an address another running server leases, now, to another client.
    fn check_lease_tables6(&mut self, i: usize, row: &Lease6) {
        let mut broken = Vec::new();
        for (j, node) in self.nodes.iter().enumerate() {
            let Node::Server6(s) = node else { continue };
            let Some(core) = s.core.as_ref().filter(|_| j != i) else {
                continue;
            };
            let now = epoch(shift(self.now, s.clock_offset));
            for other in core.leases() {
                if dhcplab_runner::invariant::leases_conflict(row, &other, now) {
                    broken.push(dhcplab_runner::invariant::lease_conflict_text(
                        &self.names[i],
                        row,
                        &self.names[j],
                        &other,
                    ));
                }
            }
        }
        for text in broken {
            self.violate(text);
        }
    }

    /// Server `i`'s DHCPv6 lease of `kind` at `address` (of length `len`) now.
    pub(crate) fn lease_state6(
        &self,
        i: usize,
        kind: LeaseType,
        address: Ipv6Addr,
        len: u8,
    ) -> Result<(dhcplab_scenario::LeaseState, Option<LeaseRecord>), String> {
        let Node::Server6(s) = &self.nodes[i] else {
            return Err(format!("{} is not a DHCPv6 server", self.names[i]));
        };
        let Some(core) = &s.core else {
            return Err(format!("{} is not running", self.names[i]));
        };
        let lease = core
            .lease(kind, address)
            .filter(|l| l.prefix_len == len)
            .map(LeaseRecord::V6);
        Ok(dhcplab_runner::lease_state(lease, epoch(self.now)))
    }

    /// How many DHCPv6 leases (IA_NA and IA_PD) server `i` holds in force now.
    pub(crate) fn active_leases6(&self, i: usize) -> Result<u64, String> {
        let Node::Server6(s) = &self.nodes[i] else {
            return Err(format!("{} is not a server", self.names[i]));
        };
        let Some(core) = &s.core else {
            return Err(format!("{} is not running", self.names[i]));
        };
        let now = epoch(self.now);
        Ok(core
            .leases()
            .iter()
            .filter(|l| dhcplab_runner::in_force(l, now))
            .count() as u64)
    }

    /// What a DHCPv6 client holds and its state.
    pub(crate) fn client_view6(c: &Client6Node) -> ClientView {
        let state = match &c.core {
            Some(core) => dhcplab_runner::state_name(&format!("{:?}", core.state())),
            None => "stopped".to_string(),
        };
        let of = |kind: IaKind| c.configured.iter().filter(move |k| k.kind == kind);
        ClientView {
            state,
            address: None,
            addresses6: of(IaKind::Na).map(|k| k.address).collect(),
            prefixes: of(IaKind::Pd).map(|k| (k.address, k.prefix_len)).collect(),
        }
    }
}

/// The client6 host event for a runner's host event, or why a DHCPv6 client has none.
pub(crate) fn host_event_of(event: dhcplab_client::HostEvent) -> Result<HostEvent, String> {
    use dhcplab_client::HostEvent as V4;
    Ok(match event {
        V4::LinkDown => HostEvent::LinkDown,
        V4::LinkUp => HostEvent::LinkUp,
        V4::Suspend => HostEvent::Suspend,
        V4::Resume => HostEvent::Resume,
        V4::Release => HostEvent::Release,
        V4::Drop => HostEvent::Drop,
        other => {
            return Err(format!(
                "{other:?} is for DHCPv4 clients (a DHCPv6 client asks with information-only = true)"
            ));
        }
    })
}
