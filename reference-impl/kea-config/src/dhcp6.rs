//! The `Dhcp6` configuration the reference DHCPv6 server implements, read from Kea's language.
//!
//! Defaults are Kea 2.2's. A key Kea knows but dhcplab does not implement is refused with its
//! JSON path and the reason; a key Kea does not know is refused as unknown. Every fault of a
//! file is reported at once. The parts both families share (hooks libraries, lease database,
//! loggers ...) are the [`crate::common`] types, re-exported here.

use crate::common::{self, read_timers};
pub use crate::common::{
    ControlSocket, ExpiredLeasesProcessing, HookLibrary, LeaseDatabase, Logger, Timers,
};
use crate::json::{self, Spanned};
use crate::options6;
use crate::reader::{ConfigError, Faults, Obj, as_string};
use std::collections::HashMap;
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
    /// The rapid commit a subnet without `rapid-commit` has: answer a Solicit carrying Rapid
    /// Commit with a Reply at once (RFC 8415 §18.3.1). Always false: Kea 2.2 has no global
    /// `rapid-commit` (kea-dhcp6 refuses the key in the Dhcp6 map), so neither does this
    /// reader.
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// Kea 2.2 `Dhcp6` keys the reference server does not implement, and why.
const UNSUPPORTED_DHCP6: &[(&str, &str)] = &[
    (
        "rapid-commit",
        "not a Dhcp6 key in Kea 2.2 (kea-dhcp6 refuses it): set rapid-commit per subnet",
    ),
    (
        "relay-supplied-options",
        "relay-supplied options (RSOO) are not implemented",
    ),
    (
        "high-availability",
        "not a Dhcp6 key: high availability is configured in the parameters of libdhcp_ha.so in hooks-libraries",
    ),
    ("shared-networks", "shared networks are not implemented"),
    ("client-classes", "client classification is not implemented"),
    (
        "hosts-database",
        "host databases are not implemented; use reservations",
    ),
    (
        "hosts-databases",
        "host databases are not implemented; use reservations",
    ),
    ("dhcp-ddns", "DNS updates are not implemented"),
    (
        "option-def",
        "custom option definitions are not implemented",
    ),
    ("multi-threading", "the reference server is single-threaded"),
    (
        "dhcp-queue-control",
        "the reference server has no packet queue",
    ),
    ("sanity-checks", "lease sanity checks are not implemented"),
    (
        "host-reservation-identifiers",
        "reservations match duid and hw-address only",
    ),
    (
        "mac-sources",
        "the client's hardware address comes from its DUID only",
    ),
    (
        "reservations-lookup-first",
        "host databases are not implemented",
    ),
    (
        "early-global-reservations-lookup",
        "global reservations are not implemented",
    ),
    (
        "ip-reservations-unique",
        "reserved addresses are always unique",
    ),
    ("server-tag", "configuration backends are not implemented"),
    (
        "config-control",
        "configuration backends are not implemented",
    ),
    (
        "statistic-default-sample-count",
        "statistics sampling is not implemented",
    ),
    (
        "statistic-default-sample-age",
        "statistics sampling is not implemented",
    ),
    ("dhcp4o6-port", "DHCPv4-over-DHCPv6 is not implemented"),
    ("compatibility", "lenient option parsing is not implemented"),
];

/// Kea 2.2 keys of both the `Dhcp6` map and `subnet6` entries (a subnet's override of the
/// global value) that the reference server does not implement, and why.
const UNSUPPORTED_NETWORK6: &[(&str, &str)] = &[
    ("reservation-mode", "reservation modes are not implemented"),
    (
        "reservations-global",
        "global reservations are not implemented",
    ),
    (
        "reservations-in-subnet",
        "reservations are always in subnets",
    ),
    (
        "reservations-out-of-pool",
        "reservation modes are not implemented",
    ),
    ("min-valid-lifetime", "lifetime bounds are not implemented"),
    ("max-valid-lifetime", "lifetime bounds are not implemented"),
    (
        "min-preferred-lifetime",
        "lifetime bounds are not implemented",
    ),
    (
        "max-preferred-lifetime",
        "lifetime bounds are not implemented",
    ),
    ("cache-threshold", "lease caching is not implemented"),
    ("cache-max-age", "lease caching is not implemented"),
    (
        "store-extended-info",
        "extended lease information is not implemented",
    ),
    ("ddns-send-updates", "DNS updates are not implemented"),
    ("ddns-override-no-update", "DNS updates are not implemented"),
    (
        "ddns-override-client-update",
        "DNS updates are not implemented",
    ),
    (
        "ddns-replace-client-name",
        "DNS updates are not implemented",
    ),
    ("ddns-generated-prefix", "DNS updates are not implemented"),
    ("ddns-qualifying-suffix", "DNS updates are not implemented"),
    ("ddns-update-on-renew", "DNS updates are not implemented"),
    (
        "ddns-use-conflict-resolution",
        "DNS updates are not implemented",
    ),
    (
        "hostname-char-set",
        "host name sanitising is not implemented",
    ),
    (
        "hostname-char-replacement",
        "host name sanitising is not implemented",
    ),
];

/// Kea 2.2 keys of `subnet6` entries only that the reference server does not implement.
const UNSUPPORTED_SUBNET6: &[(&str, &str)] = &[
    ("client-class", "client classification is not implemented"),
    (
        "require-client-classes",
        "client classification is not implemented",
    ),
];

/// `unsupported` and [`UNSUPPORTED_NETWORK6`] together, for `Obj::finish`.
fn with_network_keys(
    unsupported: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    unsupported
        .iter()
        .chain(UNSUPPORTED_NETWORK6)
        .copied()
        .collect()
}

/// Pool keys (of `pools` and `pd-pools`) the reference server does not implement.
const UNSUPPORTED_POOL6: &[(&str, &str)] = &[
    ("client-class", "client classification is not implemented"),
    (
        "require-client-classes",
        "client classification is not implemented",
    ),
    (
        "excluded-prefix",
        "excluded prefixes (PD_EXCLUDE, RFC 6603) are not implemented",
    ),
    (
        "excluded-prefix-len",
        "excluded prefixes (PD_EXCLUDE, RFC 6603) are not implemented",
    ),
];

/// The whole file read, or every fault found in it.
pub fn parse(text: &str) -> Result<Dhcp6, Vec<ConfigError>> {
    parse_document(text).map(|(config, _)| config)
}

/// The whole file read, with its JSON (comments dropped) for `config-get`; or every fault
/// found in it.
pub fn parse_document(text: &str) -> Result<(Dhcp6, serde_json::Value), Vec<ConfigError>> {
    common::parse_with(text, read_root)
}

/// DHCPv6's options for `option-data`.
struct V6;

impl common::OptionFamily for V6 {
    type Code = u16;
    const SPACE: &'static str = "dhcp6";
    const NAME: &'static str = "DHCPv6";
    const MAX_CODE: u64 = 65535;
    const MAX_LEN: usize = 65535;
    fn code_of(name: &str) -> Option<u16> {
        options6::code_of(name)
    }
    fn csv(code: u16, text: &str) -> Result<Vec<u8>, String> {
        options6::csv(code, text)
    }
}

fn read_option_data(o: &mut Obj<'_>, faults: &mut Faults) -> Vec<OptionData6> {
    common::read_option_data::<V6>(o, faults)
}

fn read_root(root: &Spanned, faults: &mut Faults) -> Option<Dhcp6> {
    let mut top = Obj::new(root, "", faults)?;
    let Some((dhcp6, path)) = top.take("Dhcp6", faults) else {
        faults.add("Dhcp6", root.pos, "the file has no Dhcp6 map");
        return None;
    };
    top.finish(
        &[
            ("Dhcp4", "this is a DHCPv6 server configuration"),
            ("Control-agent", "run by kea-ctrl-agent, not the server"),
        ],
        faults,
    );
    let mut d = Obj::new(dhcp6, &path, faults)?;
    let interfaces = match d.take("interfaces-config", faults) {
        Some((v, p)) => read_interfaces(v, &p, faults),
        None => InterfacesConfig6::default(),
    };
    let option_data = read_option_data(&mut d, faults);
    let timers = read_timers6(&mut d, faults);
    let subnets: Vec<(Subnet6, json::Pos)> = d
        .array("subnet6", faults)
        .into_iter()
        .filter_map(|(v, p)| read_subnet(v, &p, faults).map(|s| (s, v.pos)))
        .collect();
    check_subnets(&subnets, &d.child("subnet6"), faults);
    let subnets = subnets.into_iter().map(|(s, _)| s).collect();
    let decline_probation_period = d
        .uint("decline-probation-period", 0..=u64::from(u32::MAX), faults)
        .map_or(DEFAULT_DECLINE_PROBATION_PERIOD, |n| n as u32);
    let server_id = match d.take("server-id", faults) {
        Some((v, p)) => read_server_id(v, &p, faults),
        None => ServerId::default(),
    };
    let data_directory = d.string("data-directory", faults).map(PathBuf::from);
    let daemon = common::read_daemon(&mut d, "kea-dhcp6", faults);
    d.finish(&with_network_keys(UNSUPPORTED_DHCP6), faults);
    Some(Dhcp6 {
        interfaces,
        option_data,
        timers,
        rapid_commit: false,
        subnets,
        lease_database: daemon.lease_database,
        expired_leases: daemon.expired_leases,
        decline_probation_period,
        control_socket: daemon.control_socket,
        loggers: daemon.loggers,
        hooks_libraries: daemon.hooks_libraries,
        parked_packet_limit: daemon.parked_packet_limit,
        server_id,
        data_directory,
    })
}

fn read_interfaces(v: &Spanned, path: &str, faults: &mut Faults) -> InterfacesConfig6 {
    let Some(mut o) = Obj::new(v, path, faults) else {
        return InterfacesConfig6::default();
    };
    let interfaces = common::read_interface_list(&mut o, "IPv6", faults);
    let mut unsupported = vec![(
        "dhcp-socket-type",
        "a DHCPv4 key: DHCPv6 always uses UDP sockets",
    )];
    unsupported.extend_from_slice(common::UNSUPPORTED_INTERFACES);
    o.finish(&unsupported, faults);
    InterfacesConfig6 { interfaces }
}

/// The lease times of one level; a preferred lifetime above the valid one at the same level is
/// a fault (RFC 8415 §21.6: a client discards such an address).
fn read_timers6(o: &mut Obj<'_>, faults: &mut Faults) -> Timers6 {
    let base = read_timers(o, faults);
    let preferred_lifetime = o
        .uint("preferred-lifetime", 0..=u64::from(u32::MAX), faults)
        .map(|v| v as u32);
    if let (Some(p), Some(v)) = (preferred_lifetime, base.valid_lifetime) {
        if p > v {
            faults.add(
                &o.child("preferred-lifetime"),
                o.pos_of("preferred-lifetime"),
                format!("preferred-lifetime {p} is above valid-lifetime {v}"),
            );
        }
    }
    Timers6 {
        base,
        preferred_lifetime,
    }
}

fn read_prefix(text: &str) -> Result<Prefix6, String> {
    let (addr, len) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not address/length"))?;
    let network = read_address(addr)?;
    let len = read_len(len)?;
    prefix(network, len).map_err(|()| format!("{text} has host bits set"))
}

fn read_address(text: &str) -> Result<Ipv6Addr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{:?} is not an IPv6 address", text.trim()))
}

fn read_len(text: &str) -> Result<u8, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|l| *l <= 128)
        .ok_or_else(|| format!("{text:?} is not a prefix length"))
}

/// The prefix, or `Err` when `network` has bits set beyond `len`.
fn prefix(network: Ipv6Addr, len: u8) -> Result<Prefix6, ()> {
    let p = Prefix6 { network, len };
    if p.contains(network) { Ok(p) } else { Err(()) }
}

fn read_subnet(v: &Spanned, path: &str, faults: &mut Faults) -> Option<Subnet6> {
    let mut o = Obj::new(v, path, faults)?;
    let (id, prefix) = common::read_subnet_head(&mut o, read_prefix, faults);
    let pools = o
        .array("pools", faults)
        .into_iter()
        .filter_map(|(pv, pp)| read_pool(pv, &pp, prefix, faults))
        .collect();
    let pd_pools = o
        .array("pd-pools", faults)
        .into_iter()
        .filter_map(|(pv, pp)| read_pd_pool(pv, &pp, faults))
        .collect();
    let option_data = read_option_data(&mut o, faults);
    let reservations = read_reservations(&mut o, prefix, faults);
    let timers = read_timers6(&mut o, faults);
    let rapid_commit = o.bool("rapid-commit", faults);
    let interface = o.string("interface", faults);
    let interface_id = o.string("interface-id", faults);
    if let (Some(i), Some(_)) = (&interface, &interface_id) {
        faults.add(
            &o.child("interface-id"),
            o.pos_of("interface-id"),
            format!(
                "interface ({i}, for directly connected clients) and interface-id (for relayed \
                 ones) cannot both be given"
            ),
        );
    }
    let relays = match o.take("relay", faults) {
        Some((r, p)) => common::read_relay(r, &p, "IPv6", faults),
        None => Vec::new(),
    };
    o.finish(&with_network_keys(UNSUPPORTED_SUBNET6), faults);
    Some(Subnet6 {
        id: id?,
        prefix: prefix?,
        pools,
        pd_pools,
        option_data,
        reservations,
        timers,
        rapid_commit,
        interface,
        // Kea takes the text's bytes as the option's data (Subnet6ConfigParser::initSubnet
        // in src/lib/dhcpsrv/parsers/dhcp_parsers.cc).
        interface_id: interface_id
            .filter(|t| !t.is_empty())
            .map(String::into_bytes),
        relays,
    })
}

fn read_pool(
    v: &Spanned,
    path: &str,
    subnet: Option<Prefix6>,
    faults: &mut Faults,
) -> Option<Pool6> {
    let mut o = Obj::new(v, path, faults)?;
    let range = common::read_pool_range(
        &mut o,
        |text| read_prefix(text).map(|p| (p.network, p.last())),
        |a| subnet.is_none_or(|s| s.contains(a)),
        faults,
    );
    let option_data = read_option_data(&mut o, faults);
    o.finish(UNSUPPORTED_POOL6, faults);
    let (first, last) = range?;
    Some(Pool6 {
        first,
        last,
        option_data,
    })
}

/// One `pd-pools` entry. Its prefix need not be inside the subnet (as in Kea: delegated
/// prefixes are routed to the client, not on its link).
fn read_pd_pool(v: &Spanned, path: &str, faults: &mut Faults) -> Option<PdPool6> {
    let mut o = Obj::new(v, path, faults)?;
    let network = match o.take("prefix", faults) {
        Some((p, pp)) => as_string(p, &pp, faults)
            .and_then(|t| read_address(&t).map_err(|e| faults.add(&pp, p.pos, e)).ok()),
        None => {
            faults.add(path, v.pos, "a pd-pool needs \"prefix\"");
            None
        }
    };
    let has_len = o.has("prefix-len");
    let len = o.uint("prefix-len", 1..=128, faults).map(|l| l as u8);
    let has_delegated = o.has("delegated-len");
    let delegated_len = o.uint("delegated-len", 1..=128, faults).map(|l| l as u8);
    for (present, key) in [(has_len, "prefix-len"), (has_delegated, "delegated-len")] {
        if !present {
            faults.add(path, v.pos, format!("a pd-pool needs \"{key}\""));
        }
    }
    let prefix = match (network, len) {
        (Some(n), Some(l)) => match prefix(n, l) {
            Ok(p) => Some(p),
            Err(()) => {
                faults.add(
                    &o.child("prefix"),
                    o.pos_of("prefix"),
                    format!("{n}/{l} has host bits set"),
                );
                None
            }
        },
        _ => None,
    };
    if let (Some(l), Some(d)) = (len, delegated_len) {
        if d < l {
            faults.add(
                &o.child("delegated-len"),
                o.pos_of("delegated-len"),
                format!("delegated-len {d} is shorter than prefix-len {l}"),
            );
        }
    }
    let option_data = read_option_data(&mut o, faults);
    o.finish(UNSUPPORTED_POOL6, faults);
    let delegated_len = delegated_len.filter(|d| len.is_none_or(|l| *d >= l))?;
    Some(PdPool6 {
        prefix: prefix?,
        delegated_len,
        option_data,
    })
}

/// A subnet's `reservations`, with the checks across them Kea makes: one reservation per
/// client, an address or prefix reserved once (Kea's `ip-reservations-unique`), addresses
/// inside the subnet.
fn read_reservations(
    o: &mut Obj<'_>,
    subnet: Option<Prefix6>,
    faults: &mut Faults,
) -> Vec<Reservation6> {
    let mut clients = HashMap::new();
    let mut reserved: HashMap<(Ipv6Addr, u8), usize> = HashMap::new();
    let mut out = Vec::new();
    for (j, (rv, rp)) in o.array("reservations", faults).into_iter().enumerate() {
        let Some((r, held)) = read_reservation(rv, &rp, faults) else {
            continue;
        };
        if let Some(i) = clients.insert(r.identifier.clone(), j) {
            faults.add(&rp, rv.pos, format!("the same client as reservations[{i}]"));
        }
        for (path, prefix, at) in held {
            if prefix.len == 128 && subnet.is_some_and(|s| !s.contains(prefix.network)) {
                faults.add(
                    &path,
                    at,
                    format!("{} is not inside the subnet", prefix.network),
                );
            }
            if let Some(i) = reserved.insert((prefix.network, prefix.len), j) {
                faults.add(
                    &path,
                    at,
                    format!("{prefix} is also reserved by reservations[{i}]"),
                );
            }
        }
        out.push(r);
    }
    out
}

/// What a reservation holds, each with its JSON path and place: addresses as /128 prefixes.
type Held = Vec<(String, Prefix6, json::Pos)>;

fn read_reservation(v: &Spanned, path: &str, faults: &mut Faults) -> Option<(Reservation6, Held)> {
    let mut o = Obj::new(v, path, faults)?;
    let duid = o.take("duid", faults);
    let hw = o.take("hw-address", faults);
    let hex_of = |(value, p): (&Spanned, String), faults: &mut Faults| {
        as_string(value, &p, faults).and_then(|t| {
            common::hex(&t)
                .map_err(|e| faults.add(&p, value.pos, e))
                .ok()
        })
    };
    let identifier = match (duid, hw) {
        (Some(d), None) => hex_of(d, faults).map(Identifier6::Duid),
        (None, Some(h)) => hex_of(h, faults).map(Identifier6::HwAddress),
        (Some(_), Some(_)) => {
            faults.add(
                path,
                v.pos,
                "a reservation takes one identifier, not both duid and hw-address",
            );
            None
        }
        (None, None) => {
            faults.add(path, v.pos, "a reservation needs duid or hw-address");
            None
        }
    };
    let mut held = Held::new();
    let mut addresses = Vec::new();
    for (n, (a, at)) in common::read_addresses_at(&mut o, "ip-addresses", "IPv6", faults)
        .into_iter()
        .enumerate()
    {
        let host = Prefix6 {
            network: a,
            len: 128,
        };
        held.push((format!("{path}.ip-addresses[{n}]"), host, at));
        addresses.push(a);
    }
    let mut prefixes = Vec::new();
    for (item, p) in o.array("prefixes", faults) {
        if let Some(t) = as_string(item, &p, faults) {
            match read_prefix(&t) {
                Ok(prefix) => {
                    held.push((p, prefix, item.pos));
                    prefixes.push(prefix);
                }
                Err(e) => faults.add(&p, item.pos, e),
            }
        }
    }
    let hostname = o.string("hostname", faults);
    if hostname.as_deref() == Some("") {
        faults.add(
            &o.child("hostname"),
            o.pos_of("hostname"),
            "an empty hostname",
        );
    }
    let option_data = read_option_data(&mut o, faults);
    o.finish(
        &[
            ("flex-id", "reservations match duid and hw-address only"),
            ("client-classes", "client classification is not implemented"),
        ],
        faults,
    );
    if addresses.is_empty() && prefixes.is_empty() && hostname.is_none() && option_data.is_empty() {
        faults.add(
            path,
            v.pos,
            "a reservation needs something to reserve: ip-addresses, prefixes, hostname or option-data",
        );
    }
    let reservation = Reservation6 {
        identifier: identifier?,
        addresses,
        prefixes,
        hostname,
        option_data,
    };
    Some((reservation, held))
}

/// Faults between subnets and pools ([`common::check_subnets`]): address pools may not
/// overlap, nor may prefix pools.
fn check_subnets(subnets: &[(Subnet6, json::Pos)], path: &str, faults: &mut Faults) {
    let keys: Vec<common::SubnetKey> = subnets
        .iter()
        .map(|(s, at)| common::SubnetKey {
            id: s.id,
            prefix: (u128::from(s.prefix.network), s.prefix.len),
            pos: *at,
        })
        .collect();
    let pools = subnets
        .iter()
        .enumerate()
        .flat_map(|(i, (s, _))| {
            s.pools
                .iter()
                .enumerate()
                .map(move |(a, p)| (u128::from(p.first), u128::from(p.last), i, a))
        })
        .collect();
    let pd_pools = subnets
        .iter()
        .enumerate()
        .flat_map(|(i, (s, _))| {
            s.pd_pools.iter().enumerate().map(move |(a, p)| {
                (
                    u128::from(p.prefix.network),
                    u128::from(p.prefix.last()),
                    i,
                    a,
                )
            })
        })
        .collect();
    common::check_subnets(
        "subnet6",
        path,
        &keys,
        &[("pools", "pool", pools), ("pd-pools", "pd-pool", pd_pools)],
        faults,
    );
}

/// `server-id`, with Kea 2.2's defaults.
fn read_server_id(v: &Spanned, path: &str, faults: &mut Faults) -> ServerId {
    let mut id = ServerId::default();
    let Some(mut o) = Obj::new(v, path, faults) else {
        return id;
    };
    match o.string("type", faults).as_deref() {
        None | Some("LLT") => {}
        Some("EN") => id.kind = DuidType::En,
        Some("LL") => id.kind = DuidType::Ll,
        Some(other) => faults.add(
            &o.child("type"),
            o.pos_of("type"),
            format!("{other:?} is not LLT, EN or LL"),
        ),
    }
    if let Some(text) = o.string("identifier", faults) {
        // Kea decodes this one as plain hex digits (util::encode::decodeHex): no colons.
        let plain = text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit());
        match common::hex(&text) {
            Ok(bytes) if plain => id.identifier = bytes,
            _ => faults.add(
                &o.child("identifier"),
                o.pos_of("identifier"),
                format!("{text:?} is not an even number of hex digits (Kea takes no colons here)"),
            ),
        }
    }
    if let Some(t) = o.uint("time", 0..=u64::from(u32::MAX), faults) {
        id.time = t as u32;
    }
    if let Some(h) = o.uint("htype", 0..=u64::from(u16::MAX), faults) {
        id.htype = h as u16;
    }
    if let Some(e) = o.uint("enterprise-id", 0..=u64::from(u32::MAX), faults) {
        id.enterprise_id = e as u32;
    }
    if let Some(p) = o.bool("persist", faults) {
        id.persist = p;
    }
    o.finish(&[], faults);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Prefix6 {
        read_prefix(text).expect("test prefix")
    }

    #[test]
    fn prefixes() {
        let net = p("2001:db8:8000::/48");
        assert!(net.contains("2001:db8:8000:ffff::1".parse().expect("addr")));
        assert!(!net.contains("2001:db8:8001::".parse().expect("addr")));
        assert_eq!(
            net.last().to_string(),
            "2001:db8:8000:ffff:ffff:ffff:ffff:ffff"
        );
        assert!(net.covers(&p("2001:db8:8000:100::/56")));
        assert!(!net.covers(&p("2001:db8::/32")));
        assert!(!p("2001:db8:8000:100::/56").covers(&net));
        assert_eq!(
            p("::/0").last().to_string(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        let host = p("2001:db8::1/128");
        assert_eq!(
            (host.last(), host.to_string()),
            (host.network, "2001:db8::1/128".into())
        );
        assert_eq!(
            read_prefix("2001:db8::1/64"),
            Err("2001:db8::1/64 has host bits set".into())
        );
        assert_eq!(
            read_prefix("2001:db8::/129"),
            Err("\"129\" is not a prefix length".into())
        );
    }

    #[test]
    fn subnet_times_over_global_ones() {
        let global = Timers6 {
            base: Timers {
                valid_lifetime: Some(4000),
                t1_percent: Some(0.3),
                ..Timers::default()
            },
            preferred_lifetime: Some(3000),
        };
        let subnet = Timers6 {
            base: Timers {
                valid_lifetime: Some(900),
                calculate_tee_times: Some(false),
                ..Timers::default()
            },
            preferred_lifetime: None,
        };
        let times = subnet.over(&global).resolve();
        assert_eq!((times.valid, times.preferred), (900, 3000));
        assert!(!times.calculate_tee_times);
        assert_eq!(
            (times.t1_percent, times.t2_percent),
            (0.3, DEFAULT_T2_PERCENT)
        );
    }
}
