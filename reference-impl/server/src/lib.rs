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
mod config;
mod control;
mod process;
mod reclaim;
mod reply;
pub mod stats;
pub mod store;

pub use control::CommandOutcome;
pub use dhcplab_memfile::Lease4;

use config::Config;
use dhcplab_kea_config::dhcp4::Dhcp4;
use stats::{Counter, Stats};
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// Why a configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// Faults in the configuration text, each with its place and JSON path.
    #[error("{}", .0.join("; "))]
    Config(Vec<String>),
}

/// Seconds since the epoch of `t` (0 before the epoch).
pub(crate) fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Timers the server runs, each at its deadline.
#[derive(Debug, Clone, Default)]
struct Timers {
    reclaim: Option<SystemTime>,
    flush: Option<SystemTime>,
    lease_file_cleanup: Option<SystemTime>,
}

/// The server.
#[derive(Debug)]
pub struct Server {
    config: Config,
    leases: LeaseStore,
    stats: Stats,
    interfaces: Vec<Interface>,
    actions: VecDeque<Action>,
    timers: Timers,
    /// Per subnet, in configuration order: where the iterative allocator goes on from.
    cursors: Vec<alloc::Cursor>,
    started: SystemTime,
    reloaded: SystemTime,
    /// Reclamation runs in a row that left expired leases behind.
    unfinished_reclaims: u32,
    /// The process id `status-get` reports, when the driver gives one.
    pid: Option<u32>,
}

impl Server {
    /// A server with configuration `config` (`json` is its text, for `config-get`) and the
    /// leases loaded from the lease file, starting at `now`. Leases the store refuses (no
    /// client identity, unknown state) are skipped; the driver has already reported bad rows.
    pub fn new(
        config: Dhcp4,
        json: serde_json::Value,
        leases: impl IntoIterator<Item = Lease4>,
        now: SystemTime,
    ) -> Self {
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
            timers: Timers::default(),
            started: now,
            reloaded: now,
            unfinished_reclaims: 0,
            pid: None,
        };
        server.reset_cursors();
        server.arm_timers(now);
        server
    }

    /// Tells the server about an interface it receives on; an interface of the same index is
    /// replaced.
    pub fn attach(&mut self, interface: Interface) {
        self.interfaces.retain(|i| i.index != interface.index);
        self.interfaces.push(interface);
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
        self.stats.bump(Counter::Received, now);
        process::handle(self, now, datagram);
    }

    /// Runs every timer whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: SystemTime) {
        reclaim::on_timeout(self, now);
    }

    /// The next deadline, if any timer is armed.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        [
            self.timers.reclaim,
            self.timers.flush,
            self.timers.lease_file_cleanup,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next action to carry out, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Replaces the configuration (`config-set`, `config-reload`, SIGHUP). Leases stay; the
    /// timers restart from `now`.
    pub fn reconfigure(&mut self, now: SystemTime, config: Dhcp4, json: serde_json::Value) {
        self.config = Config::new(config, json);
        self.leases = self.leases.with_pools(&self.config.pools());
        self.reset_cursors();
        self.stats.reset_subnets(now);
        self.reloaded = now;
        self.arm_timers(now);
    }

    fn reset_cursors(&mut self) {
        self.cursors = vec![alloc::Cursor::default(); self.config.subnets.len()];
    }

    fn arm_timers(&mut self, now: SystemTime) {
        let e = &self.config.kea.expired_leases;
        let after = |secs: u32| (secs > 0).then(|| now + Duration::from_secs(secs.into()));
        self.timers.reclaim = after(e.reclaim_timer_wait_time);
        self.timers.flush = after(e.flush_reclaimed_timer_wait_time);
        let db = &self.config.kea.lease_database;
        self.timers.lease_file_cleanup = if db.persist {
            after(db.lfc_interval)
        } else {
            None
        };
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
