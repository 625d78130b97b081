//! The parts of Kea's configuration that `Dhcp4` and `Dhcp6` share: hooks libraries, the
//! lease database, expired-leases processing, the control socket, loggers, lease times,
//! interface lists and `option-data` entries, with their readers. Each family's module
//! re-exports the types, so `dhcp4::Logger` and `dhcp6::Logger` are the same type.

use crate::json::{self, Spanned};
use crate::reader::{ConfigError, Faults, Obj, as_string};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;

/// One `hooks-libraries` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct HookLibrary {
    /// `library`: the path of the shared object (Kea's own file names name built-in hooks,
    /// such as `libdhcp_run_script.so`).
    pub library: String,
    /// `parameters`, as written (null when absent): handed to the library when it loads.
    pub parameters: serde_json::Value,
    /// The entry's JSON path, for errors (`Dhcp4.hooks-libraries[1]`, `Dhcp6.hooks-libraries[0]`).
    pub path: String,
    /// Where the entry starts in the text, for errors.
    pub pos: crate::json::Pos,
}

/// One entry of `interfaces`; `A` is the address family (`Ipv4Addr` or `Ipv6Addr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface<A = Ipv4Addr> {
    /// Interface name, or `*` for all.
    pub name: String,
    /// The one address to use, when given as `name/address`.
    pub address: Option<A>,
}

/// One `option-data` entry; `C` is the option code type of the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionData<C = u8> {
    /// Option code (`u8` for DHCPv4, `u16` for DHCPv6).
    pub code: C,
    /// Option bytes, from `data` by the option's format or as hex.
    pub data: Vec<u8>,
    /// `always-send`: include it even when the client did not ask.
    pub always_send: bool,
}

/// Lease times at one level (global or subnet); `None` inherits from the level above.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timers {
    /// `valid-lifetime`, seconds.
    pub valid_lifetime: Option<u32>,
    /// `renew-timer` (T1), seconds.
    pub renew_timer: Option<u32>,
    /// `rebind-timer` (T2), seconds.
    pub rebind_timer: Option<u32>,
    /// `calculate-tee-times`.
    pub calculate_tee_times: Option<bool>,
    /// `t1-percent`.
    pub t1_percent: Option<f64>,
    /// `t2-percent`.
    pub t2_percent: Option<f64>,
}

/// `lease-database` (memfile only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseDatabase {
    /// `name`: the CSV lease file; `None` leaves the choice to the daemon (never Kea's default
    /// under /var).
    pub name: Option<PathBuf>,
    /// `persist` (default true).
    pub persist: bool,
    /// `lfc-interval` in seconds (default 3600; 0 disables lease file cleanup).
    pub lfc_interval: u32,
}

/// `expired-leases-processing`, with Kea 2.2's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiredLeasesProcessing {
    /// Seconds between reclamation runs (default 10).
    pub reclaim_timer_wait_time: u32,
    /// Seconds between removals of reclaimed leases (default 25; 0 keeps them).
    pub flush_reclaimed_timer_wait_time: u32,
    /// Seconds a reclaimed lease is kept (default 3600).
    pub hold_reclaimed_time: u32,
    /// Most leases reclaimed in one run (default 100; 0 means no limit).
    pub max_reclaim_leases: u32,
    /// Most milliseconds one run takes (default 250; 0 means no limit).
    pub max_reclaim_time: u32,
    /// Runs that may leave leases behind before a warning (default 5).
    pub unwarned_reclaim_cycles: u32,
}

impl Default for ExpiredLeasesProcessing {
    fn default() -> Self {
        Self {
            reclaim_timer_wait_time: 10,
            flush_reclaimed_timer_wait_time: 25,
            hold_reclaimed_time: 3600,
            max_reclaim_leases: 100,
            max_reclaim_time: 250,
            unwarned_reclaim_cycles: 5,
        }
    }
}

/// `control-socket` (unix sockets only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlSocket {
    /// `socket-name`: the socket's path.
    pub path: PathBuf,
}

/// One `loggers` entry. Of `output_options`, only `output` is kept; `flush`, `maxsize`,
/// `maxver` and `pattern` are accepted, because nearly every Kea configuration has them, and
/// have no effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logger {
    /// `name`, e.g. `kea-dhcp4` or `kea-dhcp6`.
    pub name: String,
    /// `severity`: FATAL, ERROR, WARN, INFO or DEBUG (default INFO).
    pub severity: String,
    /// `debuglevel`, 0 to 99.
    pub debug_level: u8,
    /// `output_options[].output`: `stdout`, `stderr`, `syslog...` or a file path.
    pub outputs: Vec<String>,
}

pub(crate) fn read_timers(o: &mut Obj<'_>, faults: &mut Faults) -> Timers {
    let secs = |o: &mut Obj<'_>, key: &str, faults: &mut Faults| {
        o.uint(key, 0..=u64::from(u32::MAX), faults)
            .map(|v| v as u32)
    };
    let timers = Timers {
        valid_lifetime: secs(o, "valid-lifetime", faults),
        renew_timer: secs(o, "renew-timer", faults),
        rebind_timer: secs(o, "rebind-timer", faults),
        calculate_tee_times: o.bool("calculate-tee-times", faults),
        t1_percent: o.float("t1-percent", 0.0..=1.0, faults),
        t2_percent: o.float("t2-percent", 0.0..=1.0, faults),
    };
    if let (Some(t1), Some(t2)) = (timers.renew_timer, timers.rebind_timer) {
        if t1 > t2 {
            faults.add(
                &o.child("renew-timer"),
                o.pos_of("renew-timer"),
                format!("renew-timer {t1} is above rebind-timer {t2}"),
            );
        }
    }
    timers
}

fn read_lease_database(v: &Spanned, path: &str, faults: &mut Faults) -> LeaseDatabase {
    let mut db = LeaseDatabase {
        name: None,
        persist: true,
        lfc_interval: 3600,
    };
    let Some(mut o) = Obj::new(v, path, faults) else {
        return db;
    };
    match o.string("type", faults).as_deref() {
        Some("memfile") => {}
        Some(other) => faults.add(
            &o.child("type"),
            o.pos_of("type"),
            format!("lease database type {other:?} is not implemented (only memfile)"),
        ),
        None => faults.add(path, v.pos, "lease-database needs \"type\": \"memfile\""),
    }
    db.name = o.string("name", faults).map(PathBuf::from);
    db.persist = o.bool("persist", faults).unwrap_or(true);
    db.lfc_interval = o
        .uint("lfc-interval", 0..=u64::from(u32::MAX), faults)
        .map_or(3600, |v| v as u32);
    o.finish(
        &[
            ("max-row-errors", "every bad row is skipped and reported"),
            ("readonly", "not implemented"),
        ],
        faults,
    );
    db
}

fn read_expired(v: &Spanned, path: &str, faults: &mut Faults) -> ExpiredLeasesProcessing {
    let mut e = ExpiredLeasesProcessing::default();
    let Some(mut o) = Obj::new(v, path, faults) else {
        return e;
    };
    let mut get = |key: &str, slot: &mut u32, faults: &mut Faults| {
        if let Some(v) = o.uint(key, 0..=u64::from(u32::MAX), faults) {
            *slot = v as u32;
        }
    };
    get(
        "reclaim-timer-wait-time",
        &mut e.reclaim_timer_wait_time,
        faults,
    );
    get(
        "flush-reclaimed-timer-wait-time",
        &mut e.flush_reclaimed_timer_wait_time,
        faults,
    );
    get("hold-reclaimed-time", &mut e.hold_reclaimed_time, faults);
    get("max-reclaim-leases", &mut e.max_reclaim_leases, faults);
    get("max-reclaim-time", &mut e.max_reclaim_time, faults);
    get(
        "unwarned-reclaim-cycles",
        &mut e.unwarned_reclaim_cycles,
        faults,
    );
    o.finish(&[], faults);
    e
}

fn read_control_socket(v: &Spanned, path: &str, faults: &mut Faults) -> Option<ControlSocket> {
    let mut o = Obj::new(v, path, faults)?;
    match o.string("socket-type", faults).as_deref() {
        Some("unix") => {}
        Some(other) => faults.add(
            &o.child("socket-type"),
            o.pos_of("socket-type"),
            format!("socket type {other:?} is not implemented (only unix)"),
        ),
        None => faults.add(
            path,
            v.pos,
            "control-socket needs \"socket-type\": \"unix\"",
        ),
    }
    let name = o.string("socket-name", faults);
    if name.is_none() {
        faults.add(path, v.pos, "control-socket needs \"socket-name\"");
    }
    o.finish(&[], faults);
    name.map(|n| ControlSocket {
        path: PathBuf::from(n),
    })
}

fn read_hook_library(v: &Spanned, path: &str, faults: &mut Faults) -> Option<HookLibrary> {
    let mut o = Obj::new(v, path, faults)?;
    let has_library = o.has("library");
    let library = o.string("library", faults);
    let parameters = match o.take("parameters", faults) {
        Some((p, at)) if !matches!(p.value, json::Value::Object(_)) => {
            faults.add(&at, p.pos, "parameters must be a map");
            None
        }
        Some((p, _)) => Some(p.to_serde()),
        None => Some(serde_json::Value::Null),
    };
    o.finish(&[], faults);
    match (&library, &parameters) {
        (None, _) if !has_library => {
            faults.add(path, v.pos, "a hooks library needs \"library\": its path");
        }
        (Some(l), _) if l.is_empty() => faults.add(
            &format!("{path}.library"),
            v.pos,
            "the library path is empty",
        ),
        _ => {}
    }
    Some(HookLibrary {
        library: library.filter(|l| !l.is_empty())?,
        parameters: parameters?,
        path: path.to_string(),
        pos: v.pos,
    })
}

/// One `loggers` entry; `default_name` (the daemon's own logger) stands in for a missing name.
fn read_logger(v: &Spanned, path: &str, default_name: &str, faults: &mut Faults) -> Option<Logger> {
    let mut o = Obj::new(v, path, faults)?;
    let name = o
        .string("name", faults)
        .unwrap_or_else(|| default_name.into());
    let severity = o
        .string("severity", faults)
        .unwrap_or_else(|| "INFO".into());
    if !["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "NONE"].contains(&severity.as_str()) {
        faults.add(
            &o.child("severity"),
            o.pos_of("severity"),
            format!("{severity:?} is not a Kea severity"),
        );
    }
    let debug_level = o.uint("debuglevel", 0..=99, faults).map_or(0, |d| d as u8);
    let mut outputs = Vec::new();
    for (item, p) in o
        .array("output_options", faults)
        .into_iter()
        .chain(o.array("output-options", faults))
    {
        let Some(mut out) = Obj::new(item, &p, faults) else {
            continue;
        };
        if let Some(target) = out.string("output", faults) {
            outputs.push(target);
        }
        let _ = (
            out.bool("flush", faults),
            out.uint("maxsize", 0..=u64::MAX, faults),
            out.uint("maxver", 0..=u64::MAX, faults),
            out.string("pattern", faults),
        );
        out.finish(&[], faults);
    }
    o.finish(&[], faults);
    Some(Logger {
        name,
        severity,
        debug_level,
        outputs,
    })
}

/// `interfaces-config.interfaces`: names, `*`, or `name/address` (one address of the interface;
/// `family` names the address family in errors, e.g. `IPv6`).
pub(crate) fn read_interface_list<A: FromStr>(
    o: &mut Obj<'_>,
    family: &str,
    faults: &mut Faults,
) -> Vec<Interface<A>> {
    let mut interfaces = Vec::new();
    for (item, p) in o.array("interfaces", faults) {
        let Some(text) = as_string(item, &p, faults) else {
            continue;
        };
        match text.split_once('/') {
            Some((name, addr)) => match addr.parse() {
                Ok(address) => interfaces.push(Interface {
                    name: name.to_string(),
                    address: Some(address),
                }),
                Err(_) => faults.add(&p, item.pos, format!("{addr:?} is not an {family} address")),
            },
            None => interfaces.push(Interface {
                name: text,
                address: None,
            }),
        }
    }
    interfaces
}

/// `interfaces-config` keys Kea 2.2 has in both families and dhcplab does not implement.
pub(crate) const UNSUPPORTED_INTERFACES: &[(&str, &str)] = &[
    ("re-detect", "interfaces are detected once at start"),
    ("service-sockets-require-all", "not implemented"),
    ("service-sockets-max-retries", "not implemented"),
    ("service-sockets-retry-wait-time", "not implemented"),
];

/// What `option-data` needs to know of a family's options.
pub(crate) trait OptionFamily {
    /// The option code type.
    type Code: Copy + PartialEq + std::fmt::Display + TryFrom<u64>;
    /// The option space of the family's standard options (`dhcp4`, `dhcp6`).
    const SPACE: &'static str;
    /// The family as errors name it (`DHCPv4`, `DHCPv6`).
    const NAME: &'static str;
    /// The highest option code `code` takes.
    const MAX_CODE: u64;
    /// The most bytes an option's data holds.
    const MAX_LEN: usize;
    /// The code of a standard option named as Kea names it.
    fn code_of(name: &str) -> Option<Self::Code>;
    /// The `data` text in the option's format (`csv-format: true`) as bytes.
    fn csv(code: Self::Code, text: &str) -> Result<Vec<u8>, String>;
}

/// Every entry of an object's `option-data` that reads; the others become faults.
pub(crate) fn read_option_data<F: OptionFamily>(
    o: &mut Obj<'_>,
    faults: &mut Faults,
) -> Vec<OptionData<F::Code>> {
    o.array("option-data", faults)
        .into_iter()
        .filter_map(|(v, p)| read_option::<F>(v, &p, faults))
        .collect()
}

fn read_option<F: OptionFamily>(
    v: &Spanned,
    path: &str,
    faults: &mut Faults,
) -> Option<OptionData<F::Code>> {
    let mut o = Obj::new(v, path, faults)?;
    let name = o.take("name", faults);
    let code = o.uint("code", 1..=F::MAX_CODE, faults);
    let space = o.string("space", faults);
    let csv_format = o.bool("csv-format", faults).unwrap_or(true);
    let always_send = o.bool("always-send", faults).unwrap_or(false);
    let data = o.take("data", faults);
    o.finish(&[], faults);
    if let Some(space) = space.filter(|s| s != F::SPACE) {
        faults.add(
            &format!("{path}.space"),
            v.pos,
            format!(
                "option space {space:?} is not implemented (only {})",
                F::SPACE
            ),
        );
        return None;
    }
    let by_name = match name {
        Some((n, p)) => {
            let text = as_string(n, &p, faults)?;
            match F::code_of(&text) {
                Some(c) => Some(c),
                None => {
                    faults.add(
                        &p,
                        n.pos,
                        format!("{text:?} is not a standard {} option name", F::NAME),
                    );
                    return None;
                }
            }
        }
        None => None,
    };
    let code = match (by_name, code.and_then(|c| F::Code::try_from(c).ok())) {
        (Some(a), Some(b)) if a != b => {
            faults.add(
                path,
                v.pos,
                format!("name means option {a} but code says {b}"),
            );
            return None;
        }
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => {
            faults.add(path, v.pos, "option-data needs a name or a code");
            return None;
        }
    };
    let bytes = match data {
        None => Vec::new(),
        Some((d, p)) => {
            let text = as_string(d, &p, faults)?;
            let converted = if csv_format {
                F::csv(code, &text)
            } else {
                hex(&text)
            };
            match converted {
                Ok(b) if b.len() <= F::MAX_LEN => b,
                Ok(b) => {
                    faults.add(
                        &p,
                        d.pos,
                        format!("option data is {} bytes; at most {}", b.len(), F::MAX_LEN),
                    );
                    return None;
                }
                Err(e) => {
                    faults.add(&p, d.pos, e);
                    return None;
                }
            }
        }
    };
    Some(OptionData {
        code,
        data: bytes,
        always_send,
    })
}

/// Reads hex as Kea does for binary data and identifiers: bytes of one or two digits between
/// `:` or space separators (`1:2:a` is 01 02 0a), or a run of digits without separators,
/// optionally after `0x`, where an odd count gets a leading zero.
pub fn hex(text: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("{text:?} is not hex bytes");
    let body = text.trim();
    if body.contains([':', ' ']) {
        return body
            .split([':', ' '])
            .filter(|part| !part.is_empty() || body.contains(':'))
            .map(|part| match part.len() {
                1 | 2 if part.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    u8::from_str_radix(part, 16).map_err(|_| bad())
                }
                _ => Err(bad()),
            })
            .collect();
    }
    let digits = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))
        .unwrap_or(body);
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits.to_string()
    };
    (0..padded.len())
        .step_by(2)
        .map(|i| {
            padded
                .get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

/// What [`check_subnets`] needs of one subnet.
pub(crate) struct SubnetKey {
    /// `id`.
    pub(crate) id: u32,
    /// The prefix as a number (an IPv4 address in the low 32 bits) and its length.
    pub(crate) prefix: (u128, u8),
    /// Where the subnet starts in the text.
    pub(crate) pos: json::Pos,
}

/// One kind of pool of every subnet, for [`check_subnets`]: its key (`pools`), how errors name
/// one (`pool`), and each pool's first and last address as numbers with the indexes of its
/// subnet and of the pool in the subnet.
pub(crate) type PoolSet<'a> = (&'a str, &'a str, Vec<(u128, u128, usize, usize)>);

/// Faults between subnets (`list` names them in errors: `subnet4`, `subnet6`): a repeated id
/// or prefix, and pools of one kind that overlap (within a subnet or across subnets), found by
/// one sweep over the pools sorted by first address.
pub(crate) fn check_subnets(
    list: &str,
    path: &str,
    subnets: &[SubnetKey],
    pool_sets: &[PoolSet<'_>],
    faults: &mut Faults,
) {
    let mut seen_ids = std::collections::HashMap::new();
    let mut seen_prefixes = std::collections::HashMap::new();
    for (j, s) in subnets.iter().enumerate() {
        if let Some(i) = seen_ids.insert(s.id, j) {
            faults.add(
                &format!("{path}[{j}].id"),
                s.pos,
                format!("subnet id {} is also used by {list}[{i}]", s.id),
            );
        }
        if let Some(i) = seen_prefixes.insert(s.prefix, j) {
            faults.add(
                &format!("{path}[{j}].subnet"),
                s.pos,
                format!("the same prefix as {list}[{i}]"),
            );
        }
    }
    for (key, noun, pools) in pool_sets {
        let mut pools = pools.clone();
        pools.sort_unstable();
        let mut widest: Option<(u128, usize, usize)> = None;
        for (first, last, i, a) in pools {
            if let Some((end, wi, wa)) = widest {
                if first <= end {
                    let at = subnets.get(i).map_or_else(json::Pos::default, |s| s.pos);
                    faults.add(
                        &format!("{path}[{i}].{key}[{a}]"),
                        at,
                        format!("{noun} overlaps {list}[{wi}].{key}[{wa}]"),
                    );
                }
                if last <= end {
                    continue;
                }
            }
            widest = Some((last, i, a));
        }
    }
}

/// Parses `text` as JSON with comments and reads its root with `read_root`: the configuration
/// with its JSON (for `config-get`), or every fault, in the order of the text.
pub(crate) fn parse_with<T>(
    text: &str,
    read_root: impl FnOnce(&Spanned, &mut Faults) -> Option<T>,
) -> Result<(T, serde_json::Value), Vec<ConfigError>> {
    let root = json::parse(text).map_err(|e| {
        vec![ConfigError {
            path: String::new(),
            pos: e.pos,
            message: e.message,
        }]
    })?;
    let mut faults = Faults::default();
    let config = read_root(&root, &mut faults);
    match config {
        Some(c) if faults.0.is_empty() => Ok((c, root.to_serde())),
        _ => {
            let mut list = faults.0;
            list.sort_by_key(|f| f.pos.offset);
            Err(list)
        }
    }
}

/// The daemon-level keys both families have, read by [`read_daemon`].
pub(crate) struct Daemon {
    pub(crate) lease_database: LeaseDatabase,
    pub(crate) expired_leases: ExpiredLeasesProcessing,
    pub(crate) control_socket: Option<ControlSocket>,
    pub(crate) loggers: Vec<Logger>,
    pub(crate) hooks_libraries: Vec<HookLibrary>,
    pub(crate) parked_packet_limit: u32,
}

/// Reads `lease-database`, `expired-leases-processing`, `control-socket`, `loggers` (whose
/// default name is `daemon`), `hooks-libraries` and `parked-packet-limit`, with Kea 2.2's
/// defaults.
pub(crate) fn read_daemon(d: &mut Obj<'_>, daemon: &str, faults: &mut Faults) -> Daemon {
    let lease_database = match d.take("lease-database", faults) {
        Some((v, p)) => read_lease_database(v, &p, faults),
        None => LeaseDatabase {
            name: None,
            persist: true,
            lfc_interval: 3600,
        },
    };
    let expired_leases = match d.take("expired-leases-processing", faults) {
        Some((v, p)) => read_expired(v, &p, faults),
        None => ExpiredLeasesProcessing::default(),
    };
    let control_socket = d
        .take("control-socket", faults)
        .and_then(|(v, p)| read_control_socket(v, &p, faults));
    let loggers = d
        .array("loggers", faults)
        .into_iter()
        .filter_map(|(v, p)| read_logger(v, &p, daemon, faults))
        .collect();
    let hooks_libraries = d
        .array("hooks-libraries", faults)
        .into_iter()
        .filter_map(|(v, p)| read_hook_library(v, &p, faults))
        .collect();
    let parked_packet_limit = d
        .uint("parked-packet-limit", 0..=u64::from(u32::MAX), faults)
        .map_or(256, |n| u32::try_from(n).unwrap_or(u32::MAX));
    Daemon {
        lease_database,
        expired_leases,
        control_socket,
        loggers,
        hooks_libraries,
        parked_packet_limit,
    }
}

/// The addresses of an array of address strings (`family` names the family in errors, e.g.
/// `IPv6`), each with where it is; a bad one is a fault and left out.
pub(crate) fn read_addresses_at<A: FromStr>(
    o: &mut Obj<'_>,
    key: &str,
    family: &str,
    faults: &mut Faults,
) -> Vec<(A, json::Pos)> {
    let mut out = Vec::new();
    for (item, p) in o.array(key, faults) {
        if let Some(t) = as_string(item, &p, faults) {
            match t.parse() {
                Ok(a) => out.push((a, item.pos)),
                Err(_) => faults.add(&p, item.pos, format!("{t:?} is not an {family} address")),
            }
        }
    }
    out
}

/// [`read_addresses_at`] without the positions.
pub(crate) fn read_addresses<A: FromStr>(
    o: &mut Obj<'_>,
    key: &str,
    family: &str,
    faults: &mut Faults,
) -> Vec<A> {
    read_addresses_at(o, key, family, faults)
        .into_iter()
        .map(|(a, _)| a)
        .collect()
}

/// A subnet's `relay` map: the addresses of `ip-addresses`.
pub(crate) fn read_relay<A: FromStr>(
    v: &Spanned,
    path: &str,
    family: &str,
    faults: &mut Faults,
) -> Vec<A> {
    let Some(mut o) = Obj::new(v, path, faults) else {
        return Vec::new();
    };
    let out = read_addresses(&mut o, "ip-addresses", family, faults);
    o.finish(
        &[(
            "ip-address",
            "the single relay address of Kea 1.x: use ip-addresses",
        )],
        faults,
    );
    out
}

/// Takes a pool's `pool` key: `first - last`, or a prefix that `prefix` turns into its first
/// and last address; a range outside the subnet (`inside` says false for an end) is a fault.
pub(crate) fn read_pool_range<A: Copy + Ord + FromStr>(
    o: &mut Obj<'_>,
    prefix: impl Fn(&str) -> Result<(A, A), String>,
    inside: impl Fn(A) -> bool,
    faults: &mut Faults,
) -> Option<(A, A)> {
    let Some((p, pp)) = o.take("pool", faults) else {
        faults.add(&o.path, o.pos, "a pool needs \"pool\"");
        return None;
    };
    let text = as_string(p, &pp, faults)?;
    let parsed = if let Some((a, b)) = text.split_once('-') {
        match (a.trim().parse::<A>(), b.trim().parse::<A>()) {
            (Ok(a), Ok(b)) if a <= b => Ok((a, b)),
            (Ok(_), Ok(_)) => Err(format!("{text:?}: the first address is above the last")),
            _ => Err(format!("{text:?} is not \"first - last\"")),
        }
    } else {
        prefix(&text)
    };
    match parsed {
        Ok((first, last)) if inside(first) && inside(last) => Some((first, last)),
        Ok(_) => {
            faults.add(
                &pp,
                p.pos,
                format!("pool {text:?} is not inside the subnet"),
            );
            None
        }
        Err(e) => {
            faults.add(&pp, p.pos, e);
            None
        }
    }
}

/// A subnet's `id` (required: dhcplab does not number subnets itself) and its `subnet`, read
/// with `read_prefix`.
pub(crate) fn read_subnet_head<P>(
    o: &mut Obj<'_>,
    read_prefix: impl Fn(&str) -> Result<P, String>,
    faults: &mut Faults,
) -> (Option<u32>, Option<P>) {
    let has_id = o.has("id");
    let id = o
        .uint("id", 1..=u64::from(u32::MAX), faults)
        .and_then(|n| u32::try_from(n).ok());
    if !has_id {
        faults.add(
            &o.path,
            o.pos,
            "a subnet needs an \"id\" (dhcplab does not number subnets itself)",
        );
    }
    let prefix = match o.take("subnet", faults) {
        Some((s, p)) => as_string(s, &p, faults)
            .and_then(|t| read_prefix(&t).map_err(|e| faults.add(&p, s.pos, e)).ok()),
        None => {
            faults.add(&o.path, o.pos, "a subnet needs \"subnet\"");
            None
        }
    };
    (id, prefix)
}
