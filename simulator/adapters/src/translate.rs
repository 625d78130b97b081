//! A scenario's Kea `Dhcp4` configuration as ISC dhcpd's `dhcpd.conf` or dnsmasq's options,
//! so that TAP mode can run DHCPv4 scenarios on those servers too.
//!
//! Only the subset both can say faithfully is carried: subnets (`subnet4` with `id`,
//! `subnet`, `pools` as ranges or prefixes, `interface`), lifetimes (`valid-lifetime`) and
//! timers (`renew-timer`, `rebind-timer`), `option-data` of common options by name or code
//! (global and per subnet), reservations by `hw-address` with `ip-address` and `hostname`,
//! `match-client-id`, `echo-client-id`, and `authoritative`.
//!
//! Authority is where the three differ most. Kea (2.2, `authoritative` false by default)
//! NAKs an INIT-REBOOT request for an address outside the subnets of the client's link when
//! it holds a lease of that client, and says nothing to a client it holds no lease of;
//! `authoritative` true makes it answer those too. dnsmasq without `dhcp-authoritative` does
//! the same, and with it answers unknown clients: it gets `dhcp-authoritative` exactly when
//! Kea is authoritative. dhcpd NAKs a request from the wrong network only when it is
//! authoritative, and then for any client: it is always made `authoritative;`, which keeps
//! the NAK a known client gets from Kea (an unknown client's request is answered where Kea
//! would say nothing: a difference left to the runs to show). dhcpd also gets
//! `dhcp-cache-threshold 0`: by default it answers a request within the first quarter of a
//! lease with the time left, where Kea gives a whole lease. Keys that only place Kea's own files and sockets
//! (`interfaces-config`, `lease-database`, `loggers`, `control-socket`, ...) are TAP mode's
//! to set and are left out. Anything else (hooks libraries, HA, client classes, relays,
//! shared networks, DHCPv6, ...) is [`Untranslatable`], naming the key: the scenario is
//! skipped rather than run on a configuration that says something else.

use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

/// Kea's `valid-lifetime` when a configuration does not give one.
const KEA_VALID_LIFETIME: u32 = 7200;
/// The shortest lease dnsmasq gives: it raises shorter lease times to this.
pub const DNSMASQ_MIN_LEASE: u32 = 120;

/// A key of a Kea configuration that a translation cannot carry faithfully, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {why}")]
pub struct Untranslatable {
    /// Where the key is, as a path into the document (`Dhcp4/subnet4[0]/client-class`).
    pub key: String,
    /// Why it cannot be carried.
    pub why: String,
}

/// A server a Kea configuration is translated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// ISC dhcpd 4.4.
    Dhcpd,
    /// dnsmasq 2.90.
    Dnsmasq,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Dhcpd => "dhcpd",
            Target::Dnsmasq => "dnsmasq",
        }
    }
}

/// How an option's data is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One IPv4 address.
    Address,
    /// A comma-separated list of IPv4 addresses.
    Addresses,
    /// Text.
    Text,
    /// An unsigned 16-bit number.
    U16,
    /// A signed 32-bit number.
    I32,
}

/// The options carried: Kea's (and dhcpd's) name, code, and how their data reads.
const OPTIONS: &[(&str, u8, Kind)] = &[
    ("subnet-mask", 1, Kind::Address),
    ("time-offset", 2, Kind::I32),
    ("routers", 3, Kind::Addresses),
    ("time-servers", 4, Kind::Addresses),
    ("domain-name-servers", 6, Kind::Addresses),
    ("log-servers", 7, Kind::Addresses),
    ("host-name", 12, Kind::Text),
    ("domain-name", 15, Kind::Text),
    ("interface-mtu", 26, Kind::U16),
    ("broadcast-address", 28, Kind::Address),
    ("ntp-servers", 42, Kind::Addresses),
    ("netbios-name-servers", 44, Kind::Addresses),
];

/// Global keys that only say where Kea keeps its files, sockets and logs, or how fast it
/// works: TAP mode sets them itself, and they change nothing a client sees.
const ENVIRONMENT: &[&str] = &[
    "interfaces-config",
    "lease-database",
    "loggers",
    "control-socket",
    "expired-leases-processing",
    "sanity-checks",
    "multi-threading",
    "server-tag",
    "comment",
    "user-context",
];

/// One option to send.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Opt {
    name: &'static str,
    code: u8,
    kind: Kind,
    /// The data, as Kea reads it: each value of a list trimmed.
    values: Vec<String>,
}

/// A reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reservation {
    mac: [u8; 6],
    address: Ipv4Addr,
    hostname: Option<String>,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Subnet {
    id: u32,
    network: Ipv4Addr,
    len: u8,
    pools: Vec<(Ipv4Addr, Ipv4Addr)>,
    valid: Option<u32>,
    renew: Option<u32>,
    rebind: Option<u32>,
    options: Vec<Opt>,
    reservations: Vec<Reservation>,
    /// It names an interface: it is on the server's link whatever its addresses.
    on_interface: bool,
    match_client_id: Option<bool>,
    authoritative: Option<bool>,
}

impl Subnet {
    fn mask(&self) -> Ipv4Addr {
        mask(self.len)
    }

    fn holds(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & u32::from(self.mask()) == u32::from(self.network)
    }
}

/// What a `Dhcp4` map says, in the subset carried.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Model {
    valid: u32,
    renew: Option<u32>,
    rebind: Option<u32>,
    options: Vec<Opt>,
    match_client_id: bool,
    echo_client_id: bool,
    authoritative: bool,
    subnets: Vec<Subnet>,
}

fn mask(len: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0))
}

fn no(key: &str, why: impl Into<String>) -> Untranslatable {
    Untranslatable {
        key: key.to_string(),
        why: why.into(),
    }
}

/// The map at `key`, or why it is not one.
fn map<'a>(v: &'a Value, key: &str) -> Result<&'a Map<String, Value>, Untranslatable> {
    v.as_object().ok_or_else(|| no(key, "not a map"))
}

fn list<'a>(v: &'a Value, key: &str) -> Result<&'a [Value], Untranslatable> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| no(key, "not a list"))
}

fn seconds(v: &Value, key: &str) -> Result<u32, Untranslatable> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| no(key, "not a number of seconds"))
}

fn flag(v: &Value, key: &str) -> Result<bool, Untranslatable> {
    v.as_bool().ok_or_else(|| no(key, "not true or false"))
}

fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str, Untranslatable> {
    v.as_str().ok_or_else(|| no(key, "not a string"))
}

fn address(s: &str, key: &str) -> Result<Ipv4Addr, Untranslatable> {
    s.trim()
        .parse()
        .map_err(|_| no(key, format!("{s:?} is not an IPv4 address")))
}

/// Reads the `Dhcp4` map of `config` in the subset carried.
fn read(config: &Value) -> Result<Model, Untranslatable> {
    let top = map(config, "(document)")?;
    if let Some(other) = top.keys().find(|k| k.as_str() != "Dhcp4") {
        return Err(no(other, "only a Dhcp4 map is translated"));
    }
    let d4 = map(
        top.get("Dhcp4").ok_or_else(|| no("Dhcp4", "missing"))?,
        "Dhcp4",
    )?;
    let mut model = Model {
        valid: KEA_VALID_LIFETIME,
        renew: None,
        rebind: None,
        options: Vec::new(),
        match_client_id: true,
        echo_client_id: true,
        authoritative: false,
        subnets: Vec::new(),
    };
    for (k, v) in d4 {
        let key = format!("Dhcp4/{k}");
        match k.as_str() {
            _ if ENVIRONMENT.contains(&k.as_str()) => {}
            "valid-lifetime" => model.valid = seconds(v, &key)?,
            "renew-timer" => model.renew = Some(seconds(v, &key)?),
            "rebind-timer" => model.rebind = Some(seconds(v, &key)?),
            "option-data" => model.options = options(v, &key)?,
            "match-client-id" => model.match_client_id = flag(v, &key)?,
            "authoritative" => model.authoritative = flag(v, &key)?,
            "echo-client-id" => model.echo_client_id = flag(v, &key)?,
            "calculate-tee-times" if v == &Value::Bool(false) => {}
            "hooks-libraries" if v.as_array().is_some_and(Vec::is_empty) => {}
            "hooks-libraries" => {
                return Err(no(&key, "hooks libraries run only in Kea"));
            }
            "subnet4" => {
                for (n, s) in list(v, &key)?.iter().enumerate() {
                    model.subnets.push(subnet(s, &format!("{key}[{n}]"))?);
                }
            }
            _ => return Err(no(&key, "not carried by the translation")),
        }
    }
    Ok(model)
}

/// Reads one `subnet4` entry.
fn subnet(v: &Value, key: &str) -> Result<Subnet, Untranslatable> {
    let m = map(v, key)?;
    let prefix = text(
        m.get("subnet")
            .ok_or_else(|| no(&format!("{key}/subnet"), "missing"))?,
        &format!("{key}/subnet"),
    )?;
    let (network, len) = cidr(prefix, &format!("{key}/subnet"))?;
    let mut s = Subnet {
        id: 0,
        network,
        len,
        pools: Vec::new(),
        valid: None,
        renew: None,
        rebind: None,
        options: Vec::new(),
        reservations: Vec::new(),
        on_interface: false,
        match_client_id: None,
        authoritative: None,
    };
    for (k, v) in m {
        let key = format!("{key}/{k}");
        match k.as_str() {
            "subnet" | "comment" | "user-context" => {}
            "id" => {
                s.id = v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| no(&key, "not a subnet id"))?;
            }
            "valid-lifetime" => s.valid = Some(seconds(v, &key)?),
            "renew-timer" => s.renew = Some(seconds(v, &key)?),
            "rebind-timer" => s.rebind = Some(seconds(v, &key)?),
            "option-data" => s.options = options(v, &key)?,
            "match-client-id" => s.match_client_id = Some(flag(v, &key)?),
            "authoritative" => s.authoritative = Some(flag(v, &key)?),
            "interface" => {
                text(v, &key)?;
                s.on_interface = true;
            }
            "pools" => {
                for (n, p) in list(v, &key)?.iter().enumerate() {
                    let key = format!("{key}[{n}]");
                    let pm = map(p, &key)?;
                    if let Some(other) = pm.keys().find(|k| k.as_str() != "pool") {
                        return Err(no(
                            &format!("{key}/{other}"),
                            "not carried by the translation",
                        ));
                    }
                    let pool = text(
                        pm.get("pool")
                            .ok_or_else(|| no(&format!("{key}/pool"), "missing"))?,
                        &format!("{key}/pool"),
                    )?;
                    let range = pool_range(pool, &format!("{key}/pool"))?;
                    if !s.holds(range.0) || !s.holds(range.1) {
                        return Err(no(&key, format!("{pool} is not inside {prefix}")));
                    }
                    s.pools.push(range);
                }
            }
            "reservations" => {
                for (n, r) in list(v, &key)?.iter().enumerate() {
                    s.reservations.push(reservation(r, &format!("{key}[{n}]"))?);
                }
            }
            _ => return Err(no(&key, "not carried by the translation")),
        }
    }
    Ok(s)
}

/// Reads a reservation: by `hw-address`, with `ip-address` and perhaps `hostname`.
fn reservation(v: &Value, key: &str) -> Result<Reservation, Untranslatable> {
    let m = map(v, key)?;
    let mut mac = None;
    let mut addr = None;
    let mut hostname = None;
    for (k, v) in m {
        let key = format!("{key}/{k}");
        match k.as_str() {
            "hw-address" => mac = Some(hw_address(text(v, &key)?, &key)?),
            "ip-address" => addr = Some(address(text(v, &key)?, &key)?),
            "hostname" => {
                let h = text(v, &key)?;
                if h.is_empty()
                    || !h
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                {
                    return Err(no(&key, format!("{h:?} is not a plain host name")));
                }
                hostname = Some(h.to_string());
            }
            "comment" | "user-context" => {}
            _ => return Err(no(&key, "only reservations by hw-address are carried")),
        }
    }
    Ok(Reservation {
        mac: mac.ok_or_else(|| no(&format!("{key}/hw-address"), "missing"))?,
        address: addr.ok_or_else(|| no(&format!("{key}/ip-address"), "missing"))?,
        hostname,
    })
}

fn hw_address(s: &str, key: &str) -> Result<[u8; 6], Untranslatable> {
    let bad = || no(key, format!("{s:?} is not an Ethernet address"));
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (b, p) in mac.iter_mut().zip(parts) {
        *b = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(mac)
}

/// `a.b.c.d/len`.
fn cidr(s: &str, key: &str) -> Result<(Ipv4Addr, u8), Untranslatable> {
    let bad = || no(key, format!("{s:?} is not an IPv4 prefix"));
    let (net, len) = s.trim().split_once('/').ok_or_else(bad)?;
    let net: Ipv4Addr = net.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32).ok_or_else(bad)?;
    Ok((Ipv4Addr::from(u32::from(net) & u32::from(mask(len))), len))
}

/// A pool, `a - b` or a prefix, as its first and last address.
fn pool_range(s: &str, key: &str) -> Result<(Ipv4Addr, Ipv4Addr), Untranslatable> {
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (address(a, key)?, address(b, key)?);
        if a > b {
            return Err(no(key, format!("{s:?} ends before it starts")));
        }
        return Ok((a, b));
    }
    let (net, len) = cidr(s, key)?;
    let last = u32::from(net) | !u32::from(mask(len));
    Ok((net, Ipv4Addr::from(last)))
}

/// Reads an `option-data` list.
fn options(v: &Value, key: &str) -> Result<Vec<Opt>, Untranslatable> {
    let mut out = Vec::new();
    for (n, o) in list(v, key)?.iter().enumerate() {
        let key = format!("{key}[{n}]");
        let m = map(o, &key)?;
        let mut name = None;
        let mut code = None;
        let mut data = None;
        for (k, v) in m {
            let key = format!("{key}/{k}");
            match k.as_str() {
                "name" => name = Some(text(v, &key)?),
                "code" => {
                    code = Some(
                        v.as_u64()
                            .and_then(|c| u8::try_from(c).ok())
                            .ok_or_else(|| no(&key, "not an option code"))?,
                    );
                }
                "data" => data = Some(text(v, &key)?),
                "space" if v.as_str() == Some("dhcp4") => {}
                "csv-format" if v == &Value::Bool(true) => {}
                "always-send" if v == &Value::Bool(false) => {}
                "comment" | "user-context" => {}
                _ => return Err(no(&key, "not carried by the translation")),
            }
        }
        let known = OPTIONS
            .iter()
            .find(|(n, c, _)| name.is_none_or(|x| x == *n) && code.is_none_or(|x| x == *c));
        let Some(&(oname, ocode, kind)) = known else {
            let what = name.map_or_else(
                || format!("option code {}", code.unwrap_or_default()),
                |n| format!("option {n}"),
            );
            return Err(no(
                &key,
                format!("{what} is not carried by the translation"),
            ));
        };
        if name.is_none() && code.is_none() {
            return Err(no(&key, "an option without a name or code"));
        }
        let data = data.ok_or_else(|| no(&format!("{key}/data"), "missing"))?;
        let values: Vec<String> = match kind {
            Kind::Text => vec![data.to_string()],
            _ => data.split(',').map(|s| s.trim().to_string()).collect(),
        };
        let dkey = format!("{key}/data");
        for value in &values {
            let ok = match kind {
                Kind::Address | Kind::Addresses => value.parse::<Ipv4Addr>().is_ok(),
                Kind::Text => !value.contains(['"', '\\', '\n', ',']),
                Kind::U16 => value.parse::<u16>().is_ok(),
                Kind::I32 => value.parse::<i32>().is_ok(),
            };
            if !ok {
                return Err(no(&dkey, format!("{value:?} does not suit option {oname}")));
            }
        }
        if kind != Kind::Addresses && values.len() != 1 {
            return Err(no(&dkey, format!("option {oname} takes one value")));
        }
        out.push(Opt {
            name: oname,
            code: ocode,
            kind,
            values,
        });
    }
    Ok(out)
}

/// The subnets the server's link carries: those that hold its address or name an interface.
fn on_link(model: &Model, server: Ipv4Addr) -> impl Iterator<Item = &Subnet> {
    model
        .subnets
        .iter()
        .filter(move |s| s.on_interface || s.holds(server))
}

/// `first..=last` without the addresses of `holes`, as ranges.
fn without(first: Ipv4Addr, last: Ipv4Addr, holes: &[Ipv4Addr]) -> Vec<(Ipv4Addr, Ipv4Addr)> {
    let number = |a: Ipv4Addr| u64::from(u32::from(a));
    let back = |n: u64| Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX));
    let (mut from, last) = (number(first), number(last));
    let mut holes: Vec<u64> = holes
        .iter()
        .map(|h| number(*h))
        .filter(|h| (from..=last).contains(h))
        .collect();
    holes.sort_unstable();
    holes.dedup();
    let mut out = Vec::new();
    for h in holes {
        if h > from {
            out.push((back(from), back(h - 1)));
        }
        from = h + 1;
    }
    if from <= last {
        out.push((back(from), back(last)));
    }
    out
}

fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Checks that `config` (a whole Kea document with a `Dhcp4` map) translates for `target`
/// served from `server`: the first key it cannot carry, and why.
pub fn check(config: &Value, target: Target, server: Ipv4Addr) -> Result<(), Untranslatable> {
    match target {
        Target::Dhcpd => dhcpd_conf(config, server).map(drop),
        Target::Dnsmasq => {
            dnsmasq_conf(config, "eth0", server, Path::new("/run/dhcplab")).map(drop)
        }
    }
}

/// The `dhcpd.conf` that serves what the Kea configuration `config` says, from `server`
/// (the address on the served interface).
pub fn dhcpd_conf(config: &Value, server: Ipv4Addr) -> Result<String, Untranslatable> {
    let m = read(config)?;
    let mut out = String::from(
        "# Translated from the scenario's Kea configuration by dhcplab.\n\
         authoritative;\nddns-update-style none;\nping-check false;\ndhcp-cache-threshold 0;\n",
    );
    let lifetimes = |out: &mut String, indent: &str, valid: u32| {
        let _ = writeln!(
            out,
            "{indent}default-lease-time {valid};\n{indent}max-lease-time {valid};\n{indent}min-lease-time {valid};"
        );
    };
    let timers = |out: &mut String, indent: &str, renew: Option<u32>, rebind: Option<u32>| {
        if let Some(t) = renew {
            let _ = writeln!(out, "{indent}option dhcp-renewal-time {t};");
        }
        if let Some(t) = rebind {
            let _ = writeln!(out, "{indent}option dhcp-rebinding-time {t};");
        }
    };
    let opts = |out: &mut String, indent: &str, options: &[Opt]| {
        for o in options {
            let data = match o.kind {
                Kind::Text => format!("\"{}\"", o.values.join("")),
                _ => o.values.join(", "),
            };
            let _ = writeln!(out, "{indent}option {} {data};", o.name);
        }
    };
    lifetimes(&mut out, "", m.valid);
    let _ = writeln!(out, "echo-client-id {};", m.echo_client_id);
    if !m.match_client_id {
        out.push_str("ignore-client-uids true;\n");
    }
    timers(&mut out, "", m.renew, m.rebind);
    opts(&mut out, "", &m.options);
    let reserved: Vec<Ipv4Addr> = m
        .subnets
        .iter()
        .flat_map(|s| s.reservations.iter().map(|r| r.address))
        .collect();
    let block = |out: &mut String, indent: &str, s: &Subnet| {
        let _ = writeln!(out, "{indent}subnet {} netmask {} {{", s.network, s.mask());
        let inner = format!("{indent}  ");
        for &(a, b) in &s.pools {
            // A reserved address is no one else's (Kea's default); dhcpd would lend it.
            for (a, b) in without(a, b, &reserved) {
                let _ = writeln!(out, "{inner}range {a} {b};");
            }
        }
        if let Some(v) = s.valid {
            lifetimes(out, &inner, v);
        }
        if let Some(false) = s.match_client_id {
            let _ = writeln!(out, "{inner}ignore-client-uids true;");
        } else if s.match_client_id == Some(true) && !m.match_client_id {
            let _ = writeln!(out, "{inner}ignore-client-uids false;");
        }
        timers(out, &inner, s.renew, s.rebind);
        opts(out, &inner, &s.options);
        for (n, r) in s.reservations.iter().enumerate() {
            let _ = writeln!(
                out,
                "{inner}host s{}-r{n} {{ hardware ethernet {}; fixed-address {};{} }}",
                s.id,
                mac_text(&r.mac),
                r.address,
                r.hostname
                    .as_ref()
                    .map(|h| format!(" option host-name \"{h}\";"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(out, "{indent}}}");
    };
    let link: Vec<&Subnet> = on_link(&m, server).collect();
    out.push_str("shared-network link {\n");
    for s in &link {
        block(&mut out, "  ", s);
    }
    if !link.iter().any(|s| s.holds(server)) {
        // dhcpd serves an interface only when a subnet declares its address: the server's
        // own network, with nothing to lend, beside the subnets tied to its interface.
        let _ = writeln!(out, "  subnet {} netmask 255.255.255.255 {{\n  }}", server);
    }
    out.push_str("}\n");
    for s in m.subnets.iter().filter(|s| !link.contains(s)) {
        block(&mut out, "", s);
    }
    Ok(out)
}

/// The dnsmasq configuration file that serves what the Kea configuration `config` says on
/// `iface`, from `server` (its address there), with its lease and pid files in `dir`: no DNS
/// (`port=0`), no ICMP probe before an offer (Kea sends none), authoritative when Kea is.
pub fn dnsmasq_conf(
    config: &Value,
    iface: &str,
    server: Ipv4Addr,
    dir: &Path,
) -> Result<String, Untranslatable> {
    let m = read(config)?;
    let short = |key: String, v: u32| {
        if v < DNSMASQ_MIN_LEASE {
            Err(no(
                &key,
                format!(
                    "{v} s: dnsmasq gives no lease shorter than {DNSMASQ_MIN_LEASE} s (it would lengthen it)"
                ),
            ))
        } else {
            Ok(())
        }
    };
    short("Dhcp4/valid-lifetime".into(), m.valid)?;
    for (n, s) in m.subnets.iter().enumerate() {
        if let Some(v) = s.valid {
            short(format!("Dhcp4/subnet4[{n}]/valid-lifetime"), v)?;
        }
        if s.match_client_id.is_some_and(|x| x != m.match_client_id) {
            return Err(no(
                &format!("Dhcp4/subnet4[{n}]/match-client-id"),
                "dnsmasq ignores client identifiers for all subnets or none",
            ));
        }
        if s.authoritative.is_some_and(|x| x != m.authoritative) {
            return Err(no(
                &format!("Dhcp4/subnet4[{n}]/authoritative"),
                "dnsmasq is authoritative for all subnets or none",
            ));
        }
    }
    let mut out = format!(
        "# Translated from the scenario's Kea configuration by dhcplab.\n\
         port=0\nno-resolv\nno-hosts\ninterface={iface}\nbind-interfaces\n\
         no-ping\nlog-dhcp\nlog-facility=-\n\
         dhcp-leasefile={}\npid-file={}\n",
        dir.join("dnsmasq.leases").display(),
        dir.join("dnsmasq.pid").display()
    );
    if m.authoritative {
        out.push_str("dhcp-authoritative\n");
    }
    if !m.match_client_id {
        out.push_str("dhcp-ignore-clid\n");
    }
    let opt_line = |out: &mut String, tag: &str, o: &Opt| {
        let _ = writeln!(out, "dhcp-option={tag}{},{}", o.code, o.values.join(","));
    };
    // dnsmasq sends itself as router and DNS server unless told otherwise; Kea sends only
    // what is configured.
    for code in [3u8, 6] {
        if !m.options.iter().any(|o| o.code == code) {
            let _ = writeln!(out, "dhcp-option={code}");
        }
    }
    for o in &m.options {
        opt_line(&mut out, "", o);
    }
    if let Some(t) = m.renew {
        let _ = writeln!(out, "dhcp-option=58,{t}");
    }
    if let Some(t) = m.rebind {
        let _ = writeln!(out, "dhcp-option=59,{t}");
    }
    // Every subnet: dnsmasq serves a relayed request from the range its giaddr is in.
    for s in &m.subnets {
        let tag = format!("s{}", s.id);
        let lease = s.valid.unwrap_or(m.valid);
        if s.on_interface && !s.holds(server) {
            let _ = writeln!(out, "shared-network={iface},{}", s.network);
        }
        if s.pools.is_empty() {
            let _ = writeln!(
                out,
                "dhcp-range=set:{tag},{},static,{},{lease}",
                s.network,
                s.mask()
            );
        }
        for (a, b) in &s.pools {
            let _ = writeln!(out, "dhcp-range=set:{tag},{a},{b},{},{lease}", s.mask());
        }
        for o in &s.options {
            opt_line(&mut out, &format!("tag:{tag},"), o);
        }
        if let Some(t) = s.renew {
            let _ = writeln!(out, "dhcp-option=tag:{tag},58,{t}");
        }
        if let Some(t) = s.rebind {
            let _ = writeln!(out, "dhcp-option=tag:{tag},59,{t}");
        }
        for r in &s.reservations {
            let _ = writeln!(
                out,
                "dhcp-host={},{}{}",
                mac_text(&r.mac),
                r.address,
                r.hostname
                    .as_ref()
                    .map(|h| format!(",{h}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(out)
}

/// The subnets of `config` (a whole Kea document) that do not hold `server`, the address on
/// the served interface, as network and prefix length: reached through relays (or tied to
/// the interface), whose addresses dhcpd and dnsmasq answer through the kernel's routes,
/// where Kea answers on its raw socket. None when the configuration does not translate.
pub fn other_subnets(config: &Value, server: Ipv4Addr) -> Vec<(Ipv4Addr, u8)> {
    read(config)
        .map(|m| {
            m.subnets
                .iter()
                .filter(|s| !s.holds(server))
                .map(|s| (s.network, s.len))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `config`'s subnets hold reservations: dhcpd keeps no lease of a reserved
/// (`fixed-address`) host in its lease file.
pub fn has_reservations(config: &Value) -> bool {
    config
        .pointer("/Dhcp4/subnet4")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|s| {
            s.get("reservations")
                .and_then(Value::as_array)
                .is_some_and(|r| !r.is_empty())
        })
}

impl Target {
    /// Translates `config` for this server; see [`dhcpd_conf`] and [`dnsmasq_conf`].
    pub fn translate(
        self,
        config: &Value,
        iface: &str,
        server: Ipv4Addr,
        dir: &Path,
    ) -> Result<String, Untranslatable> {
        match self {
            Target::Dhcpd => dhcpd_conf(config, server),
            Target::Dnsmasq => dnsmasq_conf(config, iface, server, dir),
        }
        .map_err(|u| Untranslatable {
            why: format!("{} ({})", u.why, self.name()),
            ..u
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Value {
        serde_json::from_str(text).expect("json")
    }

    const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    const FULL: &str = r#"{ "Dhcp4": {
        "interfaces-config": { "interfaces": [ "eth0" ] },
        "lease-database": { "type": "memfile", "lfc-interval": 0 },
        "valid-lifetime": 600, "renew-timer": 150, "rebind-timer": 450,
        "authoritative": false,
        "option-data": [ { "name": "domain-name", "data": "example.org" },
                         { "code": 6, "data": "192.0.2.53, 192.0.2.54" } ],
        "subnet4": [ { "id": 7, "subnet": "192.0.2.0/24",
            "pools": [ { "pool": "192.0.2.100 - 192.0.2.110" }, { "pool": "192.0.2.128/30" } ],
            "option-data": [ { "name": "routers", "data": "192.0.2.1" } ],
            "reservations": [ { "hw-address": "02:00:5e:00:53:09", "ip-address": "192.0.2.105",
                                "hostname": "printer" } ] },
          { "id": 8, "subnet": "198.51.100.0/24", "valid-lifetime": 900,
            "pools": [ { "pool": "198.51.100.10 - 198.51.100.20" } ] } ] } }"#;

    #[test]
    fn a_common_configuration_becomes_an_authoritative_dhcpd_conf() {
        let conf = dhcpd_conf(&cfg(FULL), SERVER).expect("translated");
        let want = "# Translated from the scenario's Kea configuration by dhcplab.
authoritative;
ddns-update-style none;
ping-check false;
dhcp-cache-threshold 0;
default-lease-time 600;
max-lease-time 600;
min-lease-time 600;
echo-client-id true;
option dhcp-renewal-time 150;
option dhcp-rebinding-time 450;
option domain-name \"example.org\";
option domain-name-servers 192.0.2.53, 192.0.2.54;
shared-network link {
  subnet 192.0.2.0 netmask 255.255.255.0 {
    range 192.0.2.100 192.0.2.104;
    range 192.0.2.106 192.0.2.110;
    range 192.0.2.128 192.0.2.131;
    option routers 192.0.2.1;
    host s7-r0 { hardware ethernet 02:00:5e:00:53:09; fixed-address 192.0.2.105; option host-name \"printer\"; }
  }
}
subnet 198.51.100.0 netmask 255.255.255.0 {
  range 198.51.100.10 198.51.100.20;
  default-lease-time 900;
  max-lease-time 900;
  min-lease-time 900;
}
";
        assert_eq!(conf, want);
    }

    #[test]
    fn a_common_configuration_becomes_dnsmasq_options_on_the_interface() {
        let conf = dnsmasq_conf(&cfg(FULL), "tap0", SERVER, Path::new("/d")).expect("ok");
        let want = "# Translated from the scenario's Kea configuration by dhcplab.
port=0
no-resolv
no-hosts
interface=tap0
bind-interfaces
no-ping
log-dhcp
log-facility=-
dhcp-leasefile=/d/dnsmasq.leases
pid-file=/d/dnsmasq.pid
dhcp-option=3
dhcp-option=15,example.org
dhcp-option=6,192.0.2.53,192.0.2.54
dhcp-option=58,150
dhcp-option=59,450
dhcp-range=set:s7,192.0.2.100,192.0.2.110,255.255.255.0,600
dhcp-range=set:s7,192.0.2.128,192.0.2.131,255.255.255.0,600
dhcp-option=tag:s7,3,192.0.2.1
dhcp-host=02:00:5e:00:53:09,192.0.2.105,printer
dhcp-range=set:s8,198.51.100.10,198.51.100.20,255.255.255.0,900
";
        assert_eq!(conf, want);
    }

    #[test]
    fn a_subnet_tied_to_the_interface_is_served_on_the_link_beside_the_servers_own_address() {
        let c = cfg(
            r#"{ "Dhcp4": { "valid-lifetime": 3600, "match-client-id": false,
            "authoritative": true, "echo-client-id": false,
            "subnet4": [ { "id": 1, "subnet": "198.51.100.0/24", "interface": "eth0",
                "pools": [ { "pool": "198.51.100.100 - 198.51.100.199" } ] } ] } }"#,
        );
        let conf = dhcpd_conf(&c, SERVER).expect("ok");
        assert!(conf.contains("ignore-client-uids true;"), "{conf}");
        assert!(conf.contains("echo-client-id false;"), "{conf}");
        assert!(
            conf.contains(
                "shared-network link {\n  subnet 198.51.100.0 netmask 255.255.255.0 {\n    range 198.51.100.100 198.51.100.199;\n  }\n  subnet 192.0.2.1 netmask 255.255.255.255 {\n  }\n}\n"
            ),
            "{conf}"
        );
        let conf = dnsmasq_conf(&c, "tap0", SERVER, Path::new("/d")).expect("ok");
        assert!(conf.contains("dhcp-ignore-clid\n"), "{conf}");
        assert!(conf.contains("dhcp-authoritative\n"), "{conf}");
        assert_eq!(
            other_subnets(&c, SERVER),
            [(Ipv4Addr::new(198, 51, 100, 0), 24)]
        );
        assert!(
            conf.contains("shared-network=tap0,198.51.100.0\ndhcp-range=set:s1,198.51.100.100,198.51.100.199,255.255.255.0,3600\n"),
            "{conf}"
        );
    }

    #[test]
    fn what_cannot_be_carried_is_named_with_its_key() {
        let cases = [
            (
                r#"{ "Dhcp4": { "hooks-libraries": [ { "library": "libdhcp_ha.so" } ] } }"#,
                "Dhcp4/hooks-libraries",
                "only in Kea",
            ),
            (
                r#"{ "Dhcp4": { "client-classes": [ { "name": "a" } ] } }"#,
                "Dhcp4/client-classes",
                "not carried",
            ),
            (
                r#"{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
                    "pools": [ { "pool": "192.0.2.10 - 192.0.2.20", "client-class": "a" } ] } ] } }"#,
                "Dhcp4/subnet4[0]/pools[0]/client-class",
                "not carried",
            ),
            (
                r#"{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
                    "relay": { "ip-addresses": [ "192.0.2.9" ] } } ] } }"#,
                "Dhcp4/subnet4[0]/relay",
                "not carried",
            ),
            (
                r#"{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
                    "reservations": [ { "client-id": "01:02", "ip-address": "192.0.2.5" } ] } ] } }"#,
                "Dhcp4/subnet4[0]/reservations[0]/client-id",
                "by hw-address",
            ),
            (
                r#"{ "Dhcp4": { "option-data": [ { "name": "vendor-encapsulated-options", "data": "01" } ] } }"#,
                "Dhcp4/option-data[0]",
                "option vendor-encapsulated-options",
            ),
            (
                r#"{ "Dhcp4": { "option-data": [ { "code": 3, "data": "not an address" } ] } }"#,
                "Dhcp4/option-data[0]/data",
                "does not suit option routers",
            ),
            (
                r#"{ "Dhcp4": { "option-data": [ { "name": "routers", "data": "192.0.2.1", "always-send": true } ] } }"#,
                "Dhcp4/option-data[0]/always-send",
                "not carried",
            ),
            (r#"{ "Dhcp6": { } }"#, "Dhcp6", "only a Dhcp4 map"),
            (
                r#"{ "Dhcp4": { "shared-networks": [ ] } }"#,
                "Dhcp4/shared-networks",
                "not carried",
            ),
        ];
        for (text, key, why) in cases {
            for target in [Target::Dhcpd, Target::Dnsmasq] {
                let e = target
                    .translate(&cfg(text), "tap0", SERVER, Path::new("/d"))
                    .expect_err(text);
                assert_eq!(e.key, key, "{text}");
                assert!(e.why.contains(why), "{e}");
                assert!(e.why.contains(target.name()), "{e}");
            }
        }
    }

    #[test]
    fn dnsmasq_refuses_leases_shorter_than_it_gives_and_authority_per_subnet() {
        let c = cfg(r#"{ "Dhcp4": { "valid-lifetime": 30,
            "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ] } }"#);
        let e = check(&c, Target::Dnsmasq, SERVER).expect_err("too short");
        assert_eq!(e.key, "Dhcp4/valid-lifetime");
        assert!(e.why.contains("shorter than 120 s"), "{e}");
        assert!(check(&c, Target::Dhcpd, SERVER).is_ok());
        let c = cfg(
            r#"{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
            "valid-lifetime": 60 } ] } }"#,
        );
        let e = check(&c, Target::Dnsmasq, SERVER).expect_err("too short");
        assert_eq!(e.key, "Dhcp4/subnet4[0]/valid-lifetime");
        let c = cfg(
            r#"{ "Dhcp4": { "authoritative": true, "subnet4": [ { "id": 1,
            "subnet": "192.0.2.0/24", "authoritative": false } ] } }"#,
        );
        let e = check(&c, Target::Dnsmasq, SERVER).expect_err("authority per subnet");
        assert_eq!(e.key, "Dhcp4/subnet4[0]/authoritative");
        assert!(check(&c, Target::Dhcpd, SERVER).is_ok());
    }

    #[test]
    fn ranges_lose_reserved_addresses_at_either_end_and_inside() {
        let a = |s: &str| s.parse::<Ipv4Addr>().expect("address");
        assert_eq!(
            without(
                a("192.0.2.10"),
                a("192.0.2.12"),
                &[a("192.0.2.10"), a("192.0.2.12")]
            ),
            [(a("192.0.2.11"), a("192.0.2.11"))]
        );
        assert_eq!(
            without(a("192.0.2.10"), a("192.0.2.10"), &[a("192.0.2.10")]),
            []
        );
        assert_eq!(
            without(a("192.0.2.10"), a("192.0.2.20"), &[a("198.51.100.1")]),
            [(a("192.0.2.10"), a("192.0.2.20"))]
        );
    }

    #[test]
    fn reservations_are_seen() {
        assert!(has_reservations(&cfg(FULL)));
        assert!(!has_reservations(&cfg(r#"{ "Dhcp4": {} }"#)));
    }
}
