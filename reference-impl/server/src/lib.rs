//! The reference DHCPv4 server as a pure state machine that behaves like Kea 2.2.
//!
//! It never reads a clock, a socket or a file. The driver (the daemon, or the simulator in
//! virtual time) feeds it received datagrams, timer expiries and control commands, each with
//! the time, and carries out the [`Action`]s it returns: send a datagram, append a lease row,
//! compact the lease file, stop. [`Server::poll_timeout`] says when it next needs the clock.
//!
//! Durability contract: a [`Action::Transmit`] must not leave before the [`Action::Persist`]s
//! that the same call (`handle_datagram`, `handle_timeout`, `handle_command`) returned before
//! it are on disk, and with them every row persisted earlier: rows are appended in order. A
//! reply with no row before it (OFFER, NAK, INFORM's ACK) promises nothing durable and may
//! leave at once. A driver may batch (group commit): write the rows of many messages, sync
//! once, then send the replies that waited for them.
//!
//! Where Kea's behaviour is the model, the module that implements it names Kea's function.
//!
//! Deliberate differences from Kea 2.2, each documented where it is implemented:
//! - a NAK through a relay has the broadcast flag set, and a NAK to a client with `ciaddr` is
//!   broadcast, as RFC 2131 4.1 and 4.3.2 say (Kea copies the client's flags and unicasts);
//! - `lease4-add` refuses `valid-lft` 0, since a row of lifetime 0 in the lease file deletes;
//! - statistics keep their latest sample only, and times in answers are UTC;
//! - the client FQDN option (81) is not processed, and a BOOTP request without the magic
//!   cookie (RFC 951) is answered.

mod alloc;
mod bytes;
pub mod command;
mod config;
mod control;
pub mod ha;
pub mod hooks;
mod process;
mod reclaim;
mod reply;
pub mod stats;
pub mod store;
pub mod timers;

pub use control::CommandOutcome;
pub use dhcplab_memfile::Lease4;

use config::Config;
use dhcplab_kea_config::dhcp4::Dhcp4;
use stats::{Counter, Stats};
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::SystemTime;
use store::LeaseStore;

/// An interface the server listens on, as the driver found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The driver's number for it (the kernel's ifindex in the daemon).
    pub index: u32,
    /// Its name, for subnets selected by `interface`.
    pub name: String,
    /// The address the server uses on it: source of replies and server identifier.
    pub address: Ipv4Addr,
    /// The driver can send to a client's link address without ARP (Kea's raw sockets); when
    /// not, replies to clients without an address are broadcast.
    pub direct_response: bool,
}

/// A UDP datagram received on port 67.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    /// [`Interface::index`] of the interface it came in on.
    pub interface: u32,
    /// Sender address and port.
    pub source: SocketAddrV4,
    /// Destination address (a broadcast or the server's own).
    pub destination: Ipv4Addr,
    /// The UDP payload.
    pub payload: &'a [u8],
}

/// A datagram to send, from port 67 of the interface's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// [`Interface::index`] to send it from.
    pub interface: u32,
    /// Source address and port.
    pub source: SocketAddrV4,
    /// Destination address and port.
    pub destination: SocketAddrV4,
    /// `Some(mac)`: deliver to this link address without ARP (a client that has no address
    /// yet, or `ff:ff:ff:ff:ff:ff` for a broadcast). `None`: route it as a normal unicast.
    pub link_destination: Option<[u8; 6]>,
    /// The DHCP message.
    pub payload: Vec<u8>,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a datagram (after every earlier [`Action::Persist`] is durable).
    Transmit(Transmit),
    /// Append this row to the lease file (Kea's memfile: the last row of an address wins, a
    /// valid lifetime of 0 deletes).
    Persist(Lease4),
    /// Rewrite the lease file with [`Server::leases`] only (Kea's lease file cleanup).
    CompactLeaseFile,
    /// Stop the server (the `shutdown` command).
    Shutdown,
    /// Start this program and do not wait for it (the run-script hook).
    RunScript(hooks::Script),
    /// POST this HA peer command to the peer and give the answer (or why there is none, once
    /// the request's timeout has passed) to [`Server::handle_peer_answer`].
    PeerRequest(dhcplab_ha::Request),
    /// The HA state changed (Kea's HA_STATE_TRANSITION): for the log and the timeline.
    HaTransition(ha::Transition),
}

/// Why a configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// Faults in the configuration text, each with its place and JSON path.
    #[error("{}", .0.join("; "))]
    Config(Vec<String>),
    /// A hooks library could not be loaded.
    #[error("{0}")]
    Hooks(#[from] hooks::HookError),
    /// A `dhcp4_srv_configured` callout set DROP: the configuration is refused.
    #[error("a dhcp4_srv_configured callout refused the configuration")]
    RefusedByHook,
}

pub(crate) use timers::epoch_secs;

/// The server.
#[derive(Debug)]
pub struct Server {
    config: Config,
    leases: LeaseStore,
    stats: Stats,
    /// Shared with each query handled on them, so handling one copies no name.
    interfaces: Vec<std::sync::Arc<Interface>>,
    actions: VecDeque<Action>,
    timers: timers::LeaseTimers,
    /// Per subnet, in configuration order: where the iterative allocator goes on from.
    cursors: Vec<alloc::Cursor>,
    started: SystemTime,
    reloaded: SystemTime,
    /// Reclamation runs in a row that left expired leases behind.
    unfinished_reclaims: u32,
    /// The process id `status-get` reports, when the driver gives one.
    pid: Option<u32>,
    /// The hooks libraries in force, in configuration order.
    hooks: hooks::Chain,
    /// How native libraries are loaded (the driver's).
    loader: Box<dyn hooks::Loader>,
    /// Replies a callout of the libraries in force parked (leases4_committed); ABI version
    /// 1 has no way to release them, so they stay, as in Kea when no library unparks.
    parked: usize,
    /// The HA service, when `libdhcp_ha.so` is configured.
    ha: Option<dhcplab_ha::Ha>,
    /// Replies (or nothing, for RELEASE and DECLINE) waiting for the HA partner's
    /// acknowledgement of their lease updates, by the HA service's ticket.
    held: std::collections::BTreeMap<u64, Option<process::Held>>,
    /// dhcp-disable by an administrator: until when (`None`: until dhcp-enable).
    user_disabled: dhcplab_ha::Disable,
}

impl Server {
    /// A server with configuration `config` (`json` is its text, for `config-get`) and the
    /// leases loaded from the lease file, starting at `now`, that loads no native hooks
    /// library ([`hooks::NoNativeLibraries`]). Leases the store refuses (no client identity,
    /// unknown state) are skipped; the driver has already reported bad rows.
    pub fn new(
        config: Dhcp4,
        json: serde_json::Value,
        leases: impl IntoIterator<Item = Lease4>,
        now: SystemTime,
    ) -> Result<Self, ServerError> {
        Self::with_loader(
            config,
            json,
            leases,
            now,
            Box::new(hooks::NoNativeLibraries),
        )
    }

    /// [`Server::new`] with the driver's loader of native hooks libraries: the libraries
    /// `config` lists are loaded now, in order, and `dhcp4_srv_configured` is called.
    pub fn with_loader(
        config: Dhcp4,
        json: serde_json::Value,
        leases: impl IntoIterator<Item = Lease4>,
        now: SystemTime,
        mut loader: Box<dyn hooks::Loader>,
    ) -> Result<Self, ServerError> {
        let chain = hooks::Chain::load(&config.hooks_libraries, loader.as_mut())?;
        let config = Config::new(config, json);
        let mut store = LeaseStore::new(&config.pools());
        for lease in leases {
            if let Err(e) = store.put(&lease) {
                tracing::warn!("lease not loaded: {e}");
            }
        }
        let mut server = Self {
            cursors: Vec::new(),
            config,
            leases: store,
            stats: Stats::new(now),
            interfaces: Vec::new(),
            actions: VecDeque::new(),
            timers: timers::LeaseTimers::default(),
            started: now,
            reloaded: now,
            unfinished_reclaims: 0,
            pid: None,
            hooks: chain,
            loader,
            parked: 0,
            ha: None,
            held: std::collections::BTreeMap::new(),
            user_disabled: dhcplab_ha::Disable::default(),
        };
        let json = server.config.json.clone();
        if server.configured(&json) == hooks::NextStep::Drop {
            server.hooks.unload();
            return Err(ServerError::RefusedByHook);
        }
        server.reset_cursors();
        server.arm_timers(now);
        server.start_ha(now);
        Ok(server)
    }

    /// Tells the server about an interface it receives on; an interface of the same index is
    /// replaced.
    pub fn attach(&mut self, interface: Interface) {
        self.interfaces.retain(|i| i.index != interface.index);
        self.interfaces.push(std::sync::Arc::new(interface));
    }

    /// The configuration in force, as read.
    pub fn config(&self) -> &Dhcp4 {
        &self.config.kea
    }

    /// The lease of `address`.
    pub fn lease(&self, address: Ipv4Addr) -> Option<Lease4> {
        self.leases.get(address)
    }

    /// Every lease, by address.
    pub fn leases(&self) -> Vec<Lease4> {
        self.leases.all()
    }

    /// Number of leases held.
    pub fn lease_count(&self) -> usize {
        self.leases.len()
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Handles a datagram received on port 67.
    pub fn handle_datagram(&mut self, now: SystemTime, datagram: Datagram<'_>) {
        // As Kea's DHCP4_PACKET_DROP_0008: a disabled service drops before any callout and
        // counts nothing.
        if !self.service_enabled(now) {
            tracing::debug!(source = %datagram.source, "dropped: the DHCP service is disabled");
            return;
        }
        self.stats.bump(Counter::Received, now);
        process::handle(self, now, datagram);
    }

    /// Runs every timer whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: SystemTime) {
        reclaim::on_timeout(self, now);
        if let Some(ha) = self.ha.as_mut() {
            ha.handle_timeout(now);
        }
        self.drain_ha(now);
    }

    /// The next deadline, if any timer is armed.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        let timers = self.timers.next();
        match self.ha.as_ref().and_then(dhcplab_ha::Ha::poll_timeout) {
            Some(ha) => Some(timers.map_or(ha, |t| t.min(ha))),
            None => timers,
        }
    }

    /// The next action to carry out, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Replaces the configuration (`config-set`, `config-reload`, SIGHUP). Leases stay; the
    /// timers restart from `now`. As Kea does, the libraries in force are unloaded (last
    /// first) and the new list loaded in order, even when it did not change. When a library
    /// fails to load or a `dhcp4_srv_configured` callout refuses, the old configuration stays
    /// in force with its libraries loaded again, and the error says why.
    pub fn reconfigure(
        &mut self,
        now: SystemTime,
        config: Dhcp4,
        json: serde_json::Value,
    ) -> Result<(), ServerError> {
        self.hooks.unload();
        let refused = match hooks::Chain::load(&config.hooks_libraries, self.loader.as_mut()) {
            Ok(chain) => {
                self.hooks = chain;
                if self.configured(&json) == hooks::NextStep::Drop {
                    self.hooks.unload();
                    Some(ServerError::RefusedByHook)
                } else {
                    None
                }
            }
            Err(e) => Some(ServerError::Hooks(e)),
        };
        if let Some(e) = refused {
            match hooks::Chain::load(&self.config.kea.hooks_libraries, self.loader.as_mut()) {
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
        // Replies parked by the libraries just unloaded stay parked for good.
        self.parked = 0;
        self.config = Config::new(config, json);
        self.leases = self.leases.with_pools(&self.config.pools());
        self.reset_cursors();
        self.stats.reset_subnets(now);
        self.reloaded = now;
        self.arm_timers(now);
        self.start_ha(now);
        Ok(())
    }

    /// Calls `dhcp4_srv_configured` with the configuration's JSON.
    fn configured(&mut self, json: &serde_json::Value) -> hooks::NextStep {
        let args = hooks::Args {
            json_config: Some(json),
            ..hooks::Args::default()
        };
        self.callout(hooks::HookPoint::Dhcp4SrvConfigured, &args)
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

    /// Number of replies parked by callouts.
    pub fn parked(&self) -> usize {
        self.parked
    }

    fn reset_cursors(&mut self) {
        self.cursors = vec![alloc::Cursor::default(); self.config.subnets.len()];
    }

    fn arm_timers(&mut self, now: SystemTime) {
        let kea = &self.config.kea;
        self.timers = timers::LeaseTimers::armed(now, &kea.expired_leases, &kea.lease_database);
    }

    /// Stores a lease and, when leases persist, queues its row.
    fn commit(&mut self, lease: Lease4) -> Result<(), store::StoreError> {
        self.leases.put(&lease)?;
        self.persist(lease);
        Ok(())
    }

    /// Removes the lease of `address` and queues the deleting row: Kea writes the lease with
    /// valid lifetime 0, so its expiry column holds the client's last transmission time.
    fn delete(&mut self, address: Ipv4Addr) -> Option<Lease4> {
        let old = self.leases.remove(address)?;
        let mut row = old.clone();
        row.valid_lifetime = 0;
        row.expire = old.cltt();
        self.persist(row);
        Some(old)
    }

    fn persist(&mut self, row: Lease4) {
        if self.config.kea.lease_database.persist {
            self.actions.push_back(Action::Persist(row));
        }
    }

    fn transmit(&mut self, t: Transmit) {
        self.actions.push_back(Action::Transmit(t));
    }
}
