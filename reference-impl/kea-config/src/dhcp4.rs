//! The `Dhcp4` configuration the reference server implements, read from Kea's language.
//!
//! Defaults are Kea 2.2's. A key Kea knows but dhcplab does not implement is refused with its
//! JSON path and the reason; a key Kea does not know is refused as unknown. Every fault of a
//! file is reported at once.

use crate::common::{self, read_timers};
pub use crate::common::{
    ControlSocket, ExpiredLeasesProcessing, HookLibrary, Interface, LeaseDatabase, Logger,
    OptionData, Timers,
};
use crate::json::{self, Spanned};
use crate::options4;
use crate::reader::{ConfigError, Faults, Obj, as_string};
use std::net::Ipv4Addr;

/// A whole configuration file: its `Dhcp4` map.
#[derive(Debug, Clone, PartialEq)]
pub struct Dhcp4 {
    /// `interfaces-config`.
    pub interfaces: InterfacesConfig,
    /// Global `option-data`.
    pub option_data: Vec<OptionData>,
    /// Global lease times, inherited by subnets.
    pub timers: Timers,
    /// `match-client-id` (default true): identify clients by client identifier when sent.
    pub match_client_id: bool,
    /// `authoritative` (default false): NAK requests for addresses the server does not know.
    pub authoritative: bool,
    /// `echo-client-id` (default true): answers carry the client identifier back (RFC 6842).
    pub echo_client_id: bool,
    /// Global `next-server`, `server-hostname`, `boot-file-name`.
    pub boot: Boot,
    /// `subnet4`.
    pub subnets: Vec<Subnet4>,
    /// `lease-database`.
    pub lease_database: LeaseDatabase,
    /// `expired-leases-processing`.
    pub expired_leases: ExpiredLeasesProcessing,
    /// `control-socket`, when given.
    pub control_socket: Option<ControlSocket>,
    /// `loggers`.
    pub loggers: Vec<Logger>,
    /// `hooks-libraries`, in the order their callouts run.
    pub hooks_libraries: Vec<HookLibrary>,
    /// `parked-packet-limit` (default 256): how many packets callouts may hold parked at
    /// once; a packet parked beyond it is dropped. 0: no limit.
    pub parked_packet_limit: u32,
}

/// `siaddr`, `server-hostname` for `sname`, `boot-file-name` for `file`), for network boot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Boot {
    /// `next-server`.
    pub next_server: Option<Ipv4Addr>,
    /// `server-hostname` (at most 63 bytes).
    pub server_hostname: Option<String>,
    /// `boot-file-name` (at most 127 bytes).
    pub boot_file_name: Option<String>,
}

impl Boot {
    /// These fields, each taken from `self` when set there, else from `outer`.
    pub fn over(&self, outer: &Boot) -> Boot {
        Boot {
            next_server: self.next_server.or(outer.next_server),
            server_hostname: self
                .server_hostname
                .clone()
                .or_else(|| outer.server_hostname.clone()),
            boot_file_name: self
                .boot_file_name
                .clone()
                .or_else(|| outer.boot_file_name.clone()),
        }
    }
}

/// `interfaces-config`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfacesConfig {
    /// Interfaces to serve: `"eth0"`, `"eth0/192.0.2.1"` (one address of it) or `"*"`.
    pub interfaces: Vec<Interface>,
    /// `dhcp-socket-type`: raw (default) or udp.
    pub socket_type: SocketType,
}

/// `dhcp-socket-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SocketType {
    /// Raw sockets: can answer clients that have no address yet (Kea's default).
    #[default]
    Raw,
    /// UDP sockets: relayed traffic only, in practice.
    Udp,
}

/// Kea 2.2's default `valid-lifetime` for DHCPv4, seconds.
pub const DEFAULT_VALID_LIFETIME: u32 = 7200;
/// Kea 2.2's default `t1-percent` for DHCPv4.
pub const DEFAULT_T1_PERCENT: f64 = 0.5;
/// Kea 2.2's default `t2-percent` for DHCPv4.
pub const DEFAULT_T2_PERCENT: f64 = 0.875;

/// An IPv4 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix4 {
    /// Network address (host bits zero).
    pub network: Ipv4Addr,
    /// Prefix length, 0 to 32.
    pub len: u8,
}

impl Prefix4 {
    /// True when `addr` is in the prefix.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
        u32::from(addr) & mask == u32::from(self.network)
    }
}

/// One `subnet4` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Subnet4 {
    /// `id`, unique, 1 or more.
    pub id: u32,
    /// `subnet`.
    pub prefix: Prefix4,
    /// `pools`.
    pub pools: Vec<Pool4>,
    /// `option-data`.
    pub option_data: Vec<OptionData>,
    /// `reservations`.
    pub reservations: Vec<Reservation4>,
    /// Lease times that override the global ones.
    pub timers: Timers,
    /// `interface`: the subnet is served on this interface.
    pub interface: Option<String>,
    /// `relay.ip-addresses`: relays (giaddr) whose clients belong here.
    pub relays: Vec<Ipv4Addr>,
    /// `match-client-id` override.
    pub match_client_id: Option<bool>,
    /// `authoritative` override.
    pub authoritative: Option<bool>,
    /// `next-server`, `server-hostname`, `boot-file-name` (over the global ones).
    pub boot: Boot,
}

/// One pool: an address range, both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool4 {
    /// First address.
    pub first: Ipv4Addr,
    /// Last address.
    pub last: Ipv4Addr,
    /// The pool's `option-data`.
    pub option_data: Vec<OptionData>,
    /// `client-class`: only clients of this class get its addresses. Only the classes
    /// libdhcp_ha.so gives (`HA_` and a server name) are known.
    pub client_class: Option<String>,
}

/// How a reservation recognises its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    /// `hw-address`.
    HwAddress(Vec<u8>),
    /// `client-id`: option 61's data.
    ClientId(Vec<u8>),
}

/// One host reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation4 {
    /// The client.
    pub identifier: Identifier,
    /// `ip-address`.
    pub address: Option<Ipv4Addr>,
    /// `hostname`.
    pub hostname: Option<String>,
    /// `option-data`.
    pub option_data: Vec<OptionData>,
}

const UNSUPPORTED_DHCP4: &[(&str, &str)] = &[
    (
        "high-availability",
        "not a Dhcp4 key: high availability is configured in the parameters of libdhcp_ha.so in hooks-libraries",
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
    ("sanity-checks", "lease sanity checks are not implemented"),
    (
        "host-reservation-identifiers",
        "reservations match hw-address and client-id only",
    ),
    ("reservation-mode", "reservation modes are not implemented"),
    (
        "reservations-global",
        "global reservations are not implemented",
    ),
    (
        "decline-probation-period",
        "the probation period is fixed at Kea's default",
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
    ("min-valid-lifetime", "lifetime bounds are not implemented"),
    ("max-valid-lifetime", "lifetime bounds are not implemented"),
    ("cache-threshold", "lease caching is not implemented"),
    ("cache-max-age", "lease caching is not implemented"),
    ("ddns-send-updates", "DNS updates are not implemented"),
];

/// The whole file read, or every fault found in it.
pub fn parse(text: &str) -> Result<Dhcp4, Vec<ConfigError>> {
    parse_document(text).map(|(config, _)| config)
}

/// The whole file read, with its JSON (comments dropped) for `config-get`; or every fault
/// found in it.
pub fn parse_document(text: &str) -> Result<(Dhcp4, serde_json::Value), Vec<ConfigError>> {
    common::parse_with(text, read_root)
}

fn read_root(root: &Spanned, faults: &mut Faults) -> Option<Dhcp4> {
    let mut top = Obj::new(root, "", faults)?;
    let Some((dhcp4, path)) = top.take("Dhcp4", faults) else {
        faults.add("Dhcp4", root.pos, "the file has no Dhcp4 map");
        return None;
    };
    top.finish(
        &[
            ("Dhcp6", "this is a DHCPv4 server configuration"),
            ("Control-agent", "run by kea-ctrl-agent, not the server"),
        ],
        faults,
    );
    let mut d = Obj::new(dhcp4, &path, faults)?;
    let interfaces = match d.take("interfaces-config", faults) {
        Some((v, p)) => read_interfaces(v, &p, faults),
        None => InterfacesConfig::default(),
    };
    let option_data = read_option_data(&mut d, faults);
    let timers = read_timers(&mut d, faults);
    let boot = read_boot(&mut d, faults);
    let match_client_id = d.bool("match-client-id", faults).unwrap_or(true);
    let authoritative = d.bool("authoritative", faults).unwrap_or(false);
    let echo_client_id = d.bool("echo-client-id", faults).unwrap_or(true);
    let subnets: Vec<(Subnet4, json::Pos)> = d
        .array("subnet4", faults)
        .into_iter()
        .filter_map(|(v, p)| read_subnet(v, &p, faults).map(|s| (s, v.pos)))
        .collect();
    check_subnets(&subnets, &d.child("subnet4"), faults);
    let subnets = subnets.into_iter().map(|(s, _)| s).collect();
    let daemon = common::read_daemon(&mut d, "kea-dhcp4", faults);
    d.finish(UNSUPPORTED_DHCP4, faults);
    Some(Dhcp4 {
        interfaces,
        option_data,
        timers,
        match_client_id,
        authoritative,
        echo_client_id,
        boot,
        subnets,
        lease_database: daemon.lease_database,
        expired_leases: daemon.expired_leases,
        control_socket: daemon.control_socket,
        loggers: daemon.loggers,
        hooks_libraries: daemon.hooks_libraries,
        parked_packet_limit: daemon.parked_packet_limit,
    })
}

fn read_interfaces(v: &Spanned, path: &str, faults: &mut Faults) -> InterfacesConfig {
    let Some(mut o) = Obj::new(v, path, faults) else {
        return InterfacesConfig::default();
    };
    let interfaces = common::read_interface_list(&mut o, "IPv4", faults);
    let socket_type = match o.string("dhcp-socket-type", faults).as_deref() {
        None | Some("raw") => SocketType::Raw,
        Some("udp") => SocketType::Udp,
        Some(other) => {
            faults.add(
                &o.child("dhcp-socket-type"),
                o.pos_of("dhcp-socket-type"),
                format!("{other:?} is neither \"raw\" nor \"udp\""),
            );
            SocketType::Raw
        }
    };
    let mut unsupported = vec![(
        "outbound-interface",
        "replies leave by the interface the query came in on",
    )];
    unsupported.extend_from_slice(common::UNSUPPORTED_INTERFACES);
    o.finish(&unsupported, faults);
    InterfacesConfig {
        interfaces,
        socket_type,
    }
}

/// DHCPv4's options for `option-data`.
struct V4;

impl common::OptionFamily for V4 {
    type Code = u8;
    const SPACE: &'static str = "dhcp4";
    const NAME: &'static str = "DHCPv4";
    const MAX_CODE: u64 = 254;
    const MAX_LEN: usize = 255;
    fn code_of(name: &str) -> Option<u8> {
        options4::code_of(name)
    }
    fn csv(code: u8, text: &str) -> Result<Vec<u8>, String> {
        options4::csv(code, text)
    }
}

fn read_option_data(o: &mut Obj<'_>, faults: &mut Faults) -> Vec<OptionData> {
    common::read_option_data::<V4>(o, faults)
}

fn read_boot(o: &mut Obj<'_>, faults: &mut Faults) -> Boot {
    let next_server = o
        .string("next-server", faults)
        .and_then(|t| match t.parse() {
            Ok(a) => Some(a),
            Err(_) => {
                faults.add(
                    &o.child("next-server"),
                    o.pos_of("next-server"),
                    format!("{t:?} is not an IPv4 address"),
                );
                None
            }
        });
    let mut text = |key: &str, max: usize, faults: &mut Faults| {
        let t = o.string(key, faults)?;
        if t.len() > max {
            faults.add(
                &o.child(key),
                o.pos_of(key),
                format!("{} bytes; the field holds {max}", t.len()),
            );
            return None;
        }
        Some(t)
    };
    Boot {
        next_server,
        server_hostname: text("server-hostname", 63, faults),
        boot_file_name: text("boot-file-name", 127, faults),
    }
}

fn read_prefix(text: &str) -> Result<Prefix4, String> {
    let (addr, len) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not address/length"))?;
    let network: Ipv4Addr = addr
        .trim()
        .parse()
        .map_err(|_| format!("{addr:?} is not an IPv4 address"))?;
    let len: u8 = len
        .trim()
        .parse()
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(|| format!("{len:?} is not a prefix length"))?;
    let prefix = Prefix4 { network, len };
    if !prefix.contains(network)
        || u32::from(network) & !u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0) != 0
    {
        return Err(format!("{text} has host bits set"));
    }
    Ok(prefix)
}

fn read_subnet(v: &Spanned, path: &str, faults: &mut Faults) -> Option<Subnet4> {
    let mut o = Obj::new(v, path, faults)?;
    let (id, prefix) = common::read_subnet_head(&mut o, read_prefix, faults);
    let pools = o
        .array("pools", faults)
        .into_iter()
        .filter_map(|(pv, pp)| read_pool(pv, &pp, prefix, faults))
        .collect();
    let option_data = read_option_data(&mut o, faults);
    let reservations = o
        .array("reservations", faults)
        .into_iter()
        .filter_map(|(rv, rp)| {
            let r = read_reservation(rv, &rp, faults)?;
            if let (Some(addr), Some(p)) = (r.address, prefix) {
                if !p.contains(addr) {
                    faults.add(
                        &format!("{rp}.ip-address"),
                        rv.pos,
                        format!("{addr} is not inside the subnet"),
                    );
                }
            }
            Some(r)
        })
        .collect();
    let timers = read_timers(&mut o, faults);
    let boot = read_boot(&mut o, faults);
    let interface = o.string("interface", faults);
    let relays = match o.take("relay", faults) {
        Some((r, p)) => common::read_relay(r, &p, "IPv4", faults),
        None => Vec::new(),
    };
    let match_client_id = o.bool("match-client-id", faults);
    let authoritative = o.bool("authoritative", faults);
    o.finish(
        &[
            ("client-class", "client classification is not implemented"),
            (
                "require-client-classes",
                "client classification is not implemented",
            ),
            ("4o6-interface", "DHCPv4-over-DHCPv6 is not implemented"),
            ("4o6-subnet", "DHCPv4-over-DHCPv6 is not implemented"),
            ("reservation-mode", "reservation modes are not implemented"),
        ],
        faults,
    );
    Some(Subnet4 {
        id: id?,
        prefix: prefix?,
        pools,
        option_data,
        reservations,
        timers,
        interface,
        relays,
        match_client_id,
        authoritative,
        boot,
    })
}

fn read_pool(
    v: &Spanned,
    path: &str,
    subnet: Option<Prefix4>,
    faults: &mut Faults,
) -> Option<Pool4> {
    let mut o = Obj::new(v, path, faults)?;
    let range = common::read_pool_range(
        &mut o,
        |text| {
            read_prefix(text).map(|p| {
                let first = u32::from(p.network);
                let size = 1u64 << (32 - u32::from(p.len));
                (
                    p.network,
                    Ipv4Addr::from((u64::from(first) + size - 1) as u32),
                )
            })
        },
        |a| subnet.is_none_or(|s| s.contains(a)),
        faults,
    );
    let option_data = read_option_data(&mut o, faults);
    let client_class = o.string("client-class", faults).and_then(|c| {
        if c.starts_with("HA_") {
            Some(c)
        } else {
            faults.add(
                &format!("{path}/client-class"),
                v.pos,
                "client classification is not implemented: only the HA_<server> classes of libdhcp_ha.so",
            );
            None
        }
    });
    o.finish(&[], faults);
    let (first, last) = range?;
    Some(Pool4 {
        first,
        last,
        option_data,
        client_class,
    })
}

fn read_reservation(v: &Spanned, path: &str, faults: &mut Faults) -> Option<Reservation4> {
    let mut o = Obj::new(v, path, faults)?;
    let hw = o.take("hw-address", faults);
    let cid = o.take("client-id", faults);
    let identifier = match (hw, cid) {
        (Some((h, p)), None) => as_string(h, &p, faults)
            .and_then(|t| options4::hex(&t).map_err(|e| faults.add(&p, h.pos, e)).ok())
            .map(Identifier::HwAddress),
        (None, Some((c, p))) => as_string(c, &p, faults)
            .and_then(|t| options4::hex(&t).map_err(|e| faults.add(&p, c.pos, e)).ok())
            .map(Identifier::ClientId),
        (Some(_), Some(_)) => {
            faults.add(
                path,
                v.pos,
                "a reservation takes one identifier, not both hw-address and client-id",
            );
            None
        }
        (None, None) => {
            faults.add(path, v.pos, "a reservation needs hw-address or client-id");
            None
        }
    };
    let address = match o.take("ip-address", faults) {
        Some((a, p)) => as_string(a, &p, faults).and_then(|t| {
            t.parse()
                .map_err(|_| faults.add(&p, a.pos, format!("{t:?} is not an IPv4 address")))
                .ok()
        }),
        None => None,
    };
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
            ("duid", "reservations match hw-address and client-id only"),
            (
                "circuit-id",
                "reservations match hw-address and client-id only",
            ),
            (
                "flex-id",
                "reservations match hw-address and client-id only",
            ),
            ("client-classes", "client classification is not implemented"),
            ("next-server", "next-server is not implemented"),
            ("boot-file-name", "boot-file-name is not implemented"),
            ("server-hostname", "server-hostname is not implemented"),
        ],
        faults,
    );
    Some(Reservation4 {
        identifier: identifier?,
        address,
        hostname,
        option_data,
    })
}

/// Faults between subnets and pools ([`common::check_subnets`]).
fn check_subnets(subnets: &[(Subnet4, json::Pos)], path: &str, faults: &mut Faults) {
    let keys: Vec<common::SubnetKey> = subnets
        .iter()
        .map(|(s, at)| common::SubnetKey {
            id: s.id,
            prefix: (u128::from(u32::from(s.prefix.network)), s.prefix.len),
            pos: *at,
        })
        .collect();
    let pools = subnets
        .iter()
        .enumerate()
        .flat_map(|(i, (s, _))| {
            s.pools.iter().enumerate().map(move |(a, p)| {
                (
                    u128::from(u32::from(p.first)),
                    u128::from(u32::from(p.last)),
                    i,
                    a,
                )
            })
        })
        .collect();
    common::check_subnets("subnet4", path, &keys, &[("pools", "pool", pools)], faults);
}
