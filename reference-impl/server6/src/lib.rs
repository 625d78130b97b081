//! The reference DHCPv6 server (RFC 8415) as a pure state machine that behaves like
//! kea-dhcp6 2.2.
//!
//! It never reads a clock, a socket or a file. The driver (the daemon, or the simulator in
//! virtual time) feeds it received datagrams ([`Server::handle_datagram`]), timer expiries
//! ([`Server::handle_timeout`]) and control commands ([`Server::handle_command`]), each with
//! the time, and carries out the [`Action`]s it then takes from [`Server::poll_action`]: send
//! a datagram, append a lease row, compact the lease file, write the server DUID file, stop.
//! [`Server::poll_timeout`] says when it next needs the clock. This is the v4 core's shape
//! (`dhcplab_server`), so one driver loop serves both.
//!
//! Durability contract (the v4 core's): a [`Action::Transmit`] must not leave before the
//! [`Action::Persist`]s queued before it are on disk, and with them every row persisted
//! earlier: rows are appended in order. An Advertise has no row before it and may leave at
//! once. A driver may batch (group commit).
//!
//! The server DUID: Kea keeps it in `kea-dhcp6-serverid` in its data directory. The core
//! reads no file, so [`Server::new`] takes that file's text when the driver found one. The
//! DUID is then, as Kea's `DUIDFactory` makes it: the file's when it agrees with the
//! `server-id` configuration (same type, and every field the configuration sets equal), else
//! a new one from the configured fields, the file's, and generated ones (the time from `now`,
//! a link-layer address or enterprise identifier drawn from a generator seeded with `now`,
//! since the core knows no hardware address at start). A new DUID with `persist` on is
//! handed to the driver as [`Action::WriteServerId`] with the file's text.
//!
//! Using it: [`Server::new`] (or [`Server::with_loader`] for native hooks libraries) with
//! the parsed `Dhcp6` configuration, its JSON, the leases of the lease file
//! (`dhcplab_memfile::load6`) and the DUID file's text; [`Server::attach`] each interface
//! (its link-local address answers multicast queries; a unicast query must be sent to one
//! of its addresses); then the loop: `handle_datagram` / `handle_timeout` /
//! `handle_command`, draining `poll_action` after each, sleeping until `poll_timeout`.
//! Replies go to the client at port 546 or, through relays, to the relay next to the server
//! at port 547 (its source port when it sent Relay Source Port, RFC 8357).
//!
//! Where Kea's behaviour is the model, the module that implements it names Kea's function.
//! Kea 2.2 behaviours an RFC 8415 reader might not expect, all followed here:
//! - options go out sorted by option code (Kea keeps them in a multimap), inside IAs too: a
//!   Status Code (13) comes before an IA Prefix (26);
//! - UseMulticast is never sent: unicast Requests, Renews, Releases and Declines are
//!   answered; Solicit, Confirm, Rebind and Information-request sent by unicast (not
//!   relayed) are dropped;
//! - a Request, Renew, Release or Decline without our Server Identifier, and a Solicit,
//!   Rebind or Confirm with any, is dropped; so is any message whose Server Identifier is
//!   another server's, an Information-request included;
//! - a Renew or Rebind for a binding the server does not know gets a new lease (the address
//!   asked for when it is free), and every address asked for that it does not get comes
//!   back with lifetimes 0; a Rebind's IA_PD with no subnet for the client drops the whole
//!   Rebind, its IA_NA gets NoBinding;
//! - Confirm with no subnet for the client answers NotOnLink "No subnet selected"; with no
//!   address, no answer;
//! - Release's answer has a top-level Status Code summing up the IAs; Decline's has none, and
//!   Decline ignores IA_PDs;
//! - T1 and T2 come from the shortest preferred lifetime (not the valid one), with
//!   calculate-tee-times on by default (0.5, 0.8); T1 is 0 unless below T2;
//! - a directly connected client only gets a subnet whose `interface` names the receiving
//!   interface (or whose prefix holds its source address); relayed ones are placed by
//!   Interface-Id first, then by the link-address of the relay nearest the client, but only
//!   when some relay gives a link-address neither unspecified nor link-local (else the
//!   query is placed as a direct one and its Interface-Id is not used);
//! - an Advertise moves the iterative allocator on, so a client that asks for nothing in its
//!   Request may get the next address rather than the one advertised.
//!
//! Deliberate differences from Kea 2.2, each documented where it is implemented:
//! - the HA hooks library is DHCPv4 only, and hook callouts cannot change packets or leases
//!   (the hooks ABI hands them bytes and JSON), only decide the next step;
//! - the Client FQDN option (39) is not processed, and there are no client classes, shared
//!   networks or IA_TA (ignored, as Kea ignores IA_TA);
//! - an IA_PD hint is taken only when it is the start of a delegated prefix of a pool;
//! - only the options the server reads drop a message when malformed;
//! - a preferred lifetime above the valid one (a subnet's `valid-lifetime` below the
//!   inherited or default `preferred-lifetime`) is capped at the valid lifetime, and T1/T2
//!   follow the capped value: kea-dhcp6 2.2 sends it as configured (preferred 3600 with valid
//!   900 when only `valid-lifetime: 900` is set), which RFC 8415 21.6 has clients discard;
//! - `lease6-add` refuses `valid-lft` 0 (a row of lifetime 0 deletes);
//! - leases are keyed by type and address (Kea's memfile by address alone);
//! - statistics keep their latest sample only.

mod alloc;
mod config;
mod control;
mod duid;
pub mod hooks;
mod process;
mod reclaim;
mod reply;
mod stats;
mod store;

pub use control::{COMMANDS, CommandOutcome};
pub use dhcplab_memfile::{Lease6, LeaseType};

use config::Config;
use dhcplab_kea_config::dhcp6::Dhcp6;
use std::collections::VecDeque;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::time::SystemTime;
use store::LeaseStore;

/// The multicast address of all DHCPv6 relays and servers (RFC 8415 7.1): `ff02::1:2`.
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// An interface the server listens on, as the driver found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The driver's number for it (the kernel's ifindex in the daemon).
    pub index: u32,
    /// Its name, for subnets selected by `interface`.
    pub name: String,
    /// Its link-local address: the source of replies to multicast queries.
    pub link_local: Ipv6Addr,
    /// Its global addresses; a query sent to one of them is answered from it.
    pub addresses: Vec<Ipv6Addr>,
}

/// A UDP datagram received on port 547.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    /// [`Interface::index`] of the interface it came in on.
    pub interface: u32,
    /// Sender address and port (a client's link-local address and 546, or a relay and 547).
    pub source: SocketAddrV6,
    /// Destination address: [`ALL_DHCP_RELAY_AGENTS_AND_SERVERS`] or one of the server's.
    pub destination: Ipv6Addr,
    /// The UDP payload.
    pub payload: &'a [u8],
}

/// A datagram to send from port 547.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// [`Interface::index`] to send it from.
    pub interface: u32,
    /// Source address and port.
    pub source: SocketAddrV6,
    /// Destination address and port (a client at 546, a relay at 547).
    pub destination: SocketAddrV6,
    /// The DHCPv6 message.
    pub payload: Vec<u8>,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a datagram (after every earlier [`Action::Persist`] is durable).
    Transmit(Transmit),
    /// Append this row to the lease file (Kea's memfile: the last row of an address wins, a
    /// valid lifetime of 0 deletes).
    Persist(Lease6),
    /// Rewrite the lease file with [`Server::leases`] only (Kea's lease file cleanup).
    CompactLeaseFile,
    /// Write this text (the server DUID as colon hex, no line end, as Kea) to `kea-dhcp6-serverid`
    /// in the data directory, replacing what is there.
    WriteServerId(String),
    /// Stop the server (the `shutdown` command).
    Shutdown,
    /// Start this program and do not wait for it (the run-script hook).
    RunScript(hooks::Script),
}

/// Why a configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// Faults in the configuration, each with its JSON path.
    #[error("{}", .0.join("; "))]
    Config(Vec<String>),
    /// A hooks library could not be loaded.
    #[error("{0}")]
    Hooks(#[from] hooks::HookError),
    /// A `dhcp6_srv_configured` callout set DROP: the configuration is refused.
    #[error("a dhcp6_srv_configured callout refused the configuration")]
    RefusedByHook,
}

use dhcplab_server::timers::{LeaseTimers, epoch_secs};

/// The server.
#[derive(Debug)]
pub struct Server {
    config: Config,
    leases: LeaseStore,
    stats: stats::Stats,
    interfaces: Vec<Interface>,
    actions: VecDeque<Action>,
    timers: LeaseTimers,
    /// Per subnet, in configuration order: where the iterative allocator goes on from.
    cursors: Vec<alloc::Cursors>,
    /// The server DUID (option 2's data).
    duid: Vec<u8>,
    started: SystemTime,
    reloaded: SystemTime,
    /// The process id `status-get` reports, when the driver gives one.
    pid: Option<u32>,
    /// The hooks libraries in force, in configuration order.
    hooks: hooks::Chain,
    /// How native libraries are loaded (the driver's).
    loader: Box<dyn hooks::Loader>,
    /// dhcp-disable by an administrator: until when (`None`: until dhcp-enable).
    disabled: dhcplab_ha::Disable,
    /// Replies a leases6_committed callout parked; the ABI has no way to release them, so
    /// they stay, as in Kea when no library unparks.
    parked: usize,
}

impl Server {
    /// A server with configuration `config` (`json` is its text, for `config-get`), the
    /// leases loaded from the lease file and `server_id_file`, the text of
    /// `kea-dhcp6-serverid` when the driver found one, starting at `now`, that loads no
    /// native hooks library ([`hooks::NoNativeLibraries`]).
    pub fn new(
        config: Dhcp6,
        json: serde_json::Value,
        leases: impl IntoIterator<Item = Lease6>,
        server_id_file: Option<&str>,
        now: SystemTime,
    ) -> Result<Self, ServerError> {
        Self::with_loader(
            config,
            json,
            leases,
            server_id_file,
            now,
            Box::new(hooks::NoNativeLibraries),
        )
    }

    /// [`Server::new`] with the driver's loader of native hooks libraries: the libraries
    /// `config` lists are loaded now, in order, and `dhcp6_srv_configured` is called.
    pub fn with_loader(
        config: Dhcp6,
        json: serde_json::Value,
        leases: impl IntoIterator<Item = Lease6>,
        server_id_file: Option<&str>,
        now: SystemTime,
        mut loader: Box<dyn hooks::Loader>,
    ) -> Result<Self, ServerError> {
        let config = Config::new(config, json)?;
        let chain = load_hooks(&config.kea, loader.as_mut())?;
        let mut store = LeaseStore::default();
        for lease in leases {
            store.put(lease);
        }
        let made = duid::server_duid(&config.kea.server_id, server_id_file, now);
        let mut server = Self {
            cursors: Vec::new(),
            config,
            leases: store,
            stats: stats::Stats::new(now),
            interfaces: Vec::new(),
            actions: VecDeque::new(),
            timers: LeaseTimers::default(),
            duid: made.duid,
            started: now,
            reloaded: now,
            pid: None,
            hooks: chain,
            loader,
            parked: 0,
            disabled: dhcplab_ha::Disable::default(),
        };
        let json = server.config.json.clone();
        if server.configured(&json) == hooks::NextStep::Drop {
            server.hooks.unload();
            return Err(ServerError::RefusedByHook);
        }
        if let Some(text) = made.write {
            server.actions.push_back(Action::WriteServerId(text));
        }
        server.reset_cursors();
        server.arm_timers(now);
        Ok(server)
    }

    /// Tells the server about an interface it receives on; an interface of the same index is
    /// replaced.
    pub fn attach(&mut self, interface: Interface) {
        self.interfaces.retain(|i| i.index != interface.index);
        self.interfaces.push(interface);
    }

    /// The configuration in force, as read.
    pub fn config(&self) -> &Dhcp6 {
        &self.config.kea
    }

    /// The server DUID: the Server Identifier option's data.
    pub fn server_duid(&self) -> &[u8] {
        &self.duid
    }

    /// The lease of `address` (an address, or a delegated prefix's first address).
    pub fn lease(&self, kind: LeaseType, address: Ipv6Addr) -> Option<Lease6> {
        self.leases.get(kind, address)
    }

    /// Every lease, addresses first, each kind by address.
    pub fn leases(&self) -> Vec<Lease6> {
        self.leases.all()
    }

    /// Number of leases held.
    pub fn lease_count(&self) -> usize {
        self.leases.len()
    }

    /// The latest value of a statistic, by Kea's name (`pkt6-reply-sent`,
    /// `subnet[1].assigned-nas` ...), as `statistic-get` shows it.
    pub fn statistic(&self, name: &str) -> Option<i64> {
        self.statistics_map()
            .get(name)
            .and_then(|v| v.get(0))
            .and_then(|v| v.get(0))
            .and_then(serde_json::Value::as_i64)
    }

    /// Handles a datagram received on port 547.
    pub fn handle_datagram(&mut self, now: SystemTime, datagram: Datagram<'_>) {
        // As Kea's DHCP6_PACKET_DROP_DHCP_DISABLED: a disabled service drops before any
        // callout and counts nothing.
        if self.disabled.active(now) {
            tracing::debug!(source = %datagram.source, "dropped: the DHCP service is disabled");
            return;
        }
        self.stats.bump("pkt6-received", now);
        process::handle(self, now, datagram);
    }

    /// Runs every timer whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: SystemTime) {
        reclaim::on_timeout(self, now);
    }

    /// The next deadline, if any timer is armed.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        self.timers.next()
    }

    /// The next action to carry out, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Replaces the configuration (`config-set`, `config-reload`, SIGHUP). Leases stay; the
    /// timers restart from `now`; the server DUID stays (Kea makes it once per process). As
    /// in the v4 core, the libraries in force are unloaded and the new list loaded; when one
    /// fails or a `dhcp6_srv_configured` callout refuses, the old configuration stays with
    /// its libraries loaded again.
    pub fn reconfigure(
        &mut self,
        now: SystemTime,
        config: Dhcp6,
        json: serde_json::Value,
    ) -> Result<(), ServerError> {
        let config = Config::new(config, json)?;
        self.hooks.unload();
        let refused = match load_hooks(&config.kea, self.loader.as_mut()) {
            Ok(chain) => {
                self.hooks = chain;
                if self.configured(&config.json) == hooks::NextStep::Drop {
                    self.hooks.unload();
                    Some(ServerError::RefusedByHook)
                } else {
                    None
                }
            }
            Err(e) => Some(e),
        };
        if let Some(e) = refused {
            match load_hooks(&self.config.kea, self.loader.as_mut()) {
                Ok(chain) => {
                    self.hooks = chain;
                    let json = self.config.json.clone();
                    self.configured(&json);
                }
                Err(again) => {
                    tracing::error!("the libraries in force do not load again: {again}");
                }
            }
            return Err(e);
        }
        self.parked = 0;
        self.config = config;
        self.stats.reset_subnets();
        self.reset_cursors();
        self.reloaded = now;
        self.arm_timers(now);
        Ok(())
    }

    /// Number of replies parked by callouts.
    pub fn parked(&self) -> usize {
        self.parked
    }

    /// Calls `dhcp6_srv_configured` with the configuration's JSON.
    fn configured(&mut self, json: &serde_json::Value) -> hooks::NextStep {
        let args = hooks::Args {
            json_config: Some(json),
            ..hooks::Args::default()
        };
        self.callout(hooks::HookPoint::Dhcp6SrvConfigured, &args)
            .next_step
    }

    /// Calls the libraries at `point` and queues the scripts they ask for.
    fn callout(&mut self, point: hooks::HookPoint, args: &hooks::Args<'_>) -> hooks::Outcome {
        let mut out = self.hooks.call(point, args);
        for s in out.scripts.drain(..) {
            self.actions.push_back(Action::RunScript(s));
        }
        out
    }

    fn reset_cursors(&mut self) {
        self.cursors = vec![alloc::Cursors::default(); self.config.subnets.len()];
    }

    fn arm_timers(&mut self, now: SystemTime) {
        let kea = &self.config.kea;
        self.timers = LeaseTimers::armed(now, &kea.expired_leases, &kea.lease_database);
    }

    /// Stores a lease and, when leases persist, queues its row.
    fn commit(&mut self, lease: Lease6) {
        self.leases.put(lease.clone());
        self.persist(lease);
    }

    /// Removes a lease and queues the deleting row: Kea 2.2 writes the v6 lease with valid and
    /// preferred lifetimes 0 (`Memfile_LeaseMgr::deleteLeaseInternal`), so its expiry column
    /// holds the client's last transmission time.
    fn delete(&mut self, kind: LeaseType, address: Ipv6Addr) -> Option<Lease6> {
        let old = self.leases.remove(kind, address)?;
        let mut row = old.clone();
        row.valid_lifetime = 0;
        row.preferred_lifetime = 0;
        row.expire = old.cltt();
        self.persist(row);
        Some(old)
    }

    fn persist(&mut self, row: Lease6) {
        if self.config.kea.lease_database.persist {
            self.actions.push_back(Action::Persist(row));
        }
    }

    fn transmit(&mut self, t: Transmit) {
        self.actions.push_back(Action::Transmit(t));
    }
}

/// The hooks libraries of `kea`, loaded in order; `libdhcp_ha.so` is refused (DHCPv4 only).
fn load_hooks(kea: &Dhcp6, loader: &mut dyn hooks::Loader) -> Result<hooks::Chain, ServerError> {
    let mut chain = hooks::Chain::load(&kea.hooks_libraries, loader)?;
    if chain.ha.is_some() {
        chain.unload();
        return Err(ServerError::Config(vec![
            "Dhcp6/hooks-libraries: libdhcp_ha.so is not implemented for DHCPv6".into(),
        ]));
    }
    Ok(chain)
}
