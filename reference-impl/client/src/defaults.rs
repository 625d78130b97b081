//! The agent's configuration file in the form of Solaris /etc/default/dhcpagent.
//!
//! Lines are `PARAM=value` for every interface or `IF.PARAM=value` for one (an `IF.PARAM`
//! wins over `PARAM`); `#` starts a comment line; the last of repeated keys wins; parameter
//! names are read without regard to case, interface names with it; `.v6.PARAM` and
//! `IF.v6.PARAM` are DHCPv6 settings, kept for the DHCPv6 client. Booleans are
//! yes/no/true/false/1/0.
//!
//! Where dhcpagent's own parser and its manual page disagree, this follows the manual page:
//! a quoted CLIENT_ID loses its quotes (the manual says `"Sun"` and `0x53756E` are the same),
//! and the DUID forms take the fields the manual lists (`1,hwtype,time,lla`,
//! `2,enterprise,hex`, `3,hwtype,lla`, `type,hex`), lla being a MAC address or an interface
//! name. dhcpagent ignores unknown parameters and bad values silently or with a log line;
//! here every such line is a [`Fault`] with its line and column, and the built-in default
//! is used, so the agent still starts.

use crate::inittab;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds between 1970-01-01 and 2000-01-01 UTC, the epoch of DUID-LLT times.
const DUID_EPOCH: u64 = 946_684_800;

/// A line of the file that cannot be used as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct Fault {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// What is wrong, and what is done instead.
    pub message: String,
}

/// Where a DUID's link-layer address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAddress {
    /// Written out as hex bytes separated by colons.
    Bytes(Vec<u8>),
    /// The address of the named interface.
    Interface(String),
}

/// CLIENT_ID as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientIdSpec {
    /// DUID-LLT (type 1): hardware type (1 when taken from an interface), time since 2000
    /// (the current time when omitted), link-layer address.
    Llt {
        /// Hardware type.
        hardware_type: Option<u16>,
        /// Seconds since 2000-01-01 UTC.
        time: Option<u32>,
        /// Link-layer address.
        address: LinkAddress,
    },
    /// DUID-LL (type 3): hardware type and link-layer address.
    Ll {
        /// Hardware type.
        hardware_type: Option<u16>,
        /// Link-layer address.
        address: LinkAddress,
    },
    /// Any other DUID: its type and the bytes after it (DUID-EN's enterprise number
    /// included).
    Other {
        /// DUID type.
        duid_type: u16,
        /// Bytes after the type.
        data: Vec<u8>,
    },
    /// A raw client identifier (`0xHEX` or a string), sent as it is.
    Raw(Vec<u8>),
}

impl ClientIdSpec {
    /// The DUID this names, or `None` for a raw identifier. `now` fills an omitted DUID-LLT
    /// time; `mac_of` gives an interface's link address.
    pub fn duid(
        &self,
        now: SystemTime,
        mac_of: &dyn Fn(&str) -> Option<[u8; 6]>,
    ) -> Result<Option<Vec<u8>>, String> {
        let lla = |a: &LinkAddress, hw: Option<u16>| -> Result<(u16, Vec<u8>), String> {
            match a {
                LinkAddress::Bytes(b) => {
                    Ok((hw.ok_or("a MAC address needs a hardware type")?, b.clone()))
                }
                LinkAddress::Interface(name) => mac_of(name)
                    .map(|m| (hw.unwrap_or(1), m.to_vec()))
                    .ok_or_else(|| format!("interface {name:?} has no link address")),
            }
        };
        Ok(Some(match self {
            ClientIdSpec::Raw(_) => return Ok(None),
            ClientIdSpec::Llt {
                hardware_type,
                time,
                address,
            } => {
                let (hw, bytes) = lla(address, *hardware_type)?;
                let time = time.unwrap_or_else(|| duid_time(now));
                let mut out = vec![0, 1];
                out.extend_from_slice(&hw.to_be_bytes());
                out.extend_from_slice(&time.to_be_bytes());
                out.extend_from_slice(&bytes);
                out
            }
            ClientIdSpec::Ll {
                hardware_type,
                address,
            } => {
                let (hw, bytes) = lla(address, *hardware_type)?;
                let mut out = vec![0, 3];
                out.extend_from_slice(&hw.to_be_bytes());
                out.extend_from_slice(&bytes);
                out
            }
            ClientIdSpec::Other { duid_type, data } => {
                let mut out = duid_type.to_be_bytes().to_vec();
                out.extend_from_slice(data);
                out
            }
        }))
    }
}

/// A DUID-LLT time for `now`: seconds since 2000-01-01 UTC, modulo 2^32 (RFC 8415 11.2).
pub fn duid_time(now: SystemTime) -> u32 {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(DUID_EPOCH);
    (secs & u64::from(u32::MAX)) as u32
}

/// A DUID-LLT for an Ethernet interface at `now` (what the agent writes to its DUID file
/// when it has none).
pub fn new_duid(mac: [u8; 6], now: SystemTime) -> Vec<u8> {
    let mut out = vec![0, 1, 0, 1];
    out.extend_from_slice(&duid_time(now).to_be_bytes());
    out.extend_from_slice(&mac);
    out
}

/// The RFC 4361 client identifier: type 255, the IAID, the DUID.
pub fn rfc4361_client_id(iaid: u32, duid: &[u8]) -> Vec<u8> {
    let mut out = vec![255];
    out.extend_from_slice(&iaid.to_be_bytes());
    out.extend_from_slice(duid);
    out
}

/// A parameter's value, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Bool(bool),
    Seconds(u64),
    List(Vec<u8>),
    ClientId(ClientIdSpec),
}

/// The parameters dhcplab reads, with how their values are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    ReleaseOnSigterm,
    OfferWait,
    ClientId,
    RequestList,
    RequestHostname,
    V4DefaultIaidDuid,
}

const PARAMS: &[(&str, Param)] = &[
    ("RELEASE_ON_SIGTERM", Param::ReleaseOnSigterm),
    ("OFFER_WAIT", Param::OfferWait),
    ("CLIENT_ID", Param::ClientId),
    ("PARAM_REQUEST_LIST", Param::RequestList),
    ("REQUEST_HOSTNAME", Param::RequestHostname),
    ("V4_DEFAULT_IAID_DUID", Param::V4DefaultIaidDuid),
];

/// dhcpagent parameters dhcplab does not act on, with why.
const NOT_USED: &[(&str, &str)] = &[
    ("IGNORE_FAILED_ARP", "obsolete in dhcpagent"),
    ("ARP_WAIT", "obsolete in dhcpagent"),
    ("DEBUG_LEVEL", "use -d"),
    ("VERBOSE", "use -v"),
    ("VERIFIED_LEASE_ONLY", "not implemented"),
    ("PARAM_IGNORE_LIST", "not implemented"),
    ("REQUEST_FQDN", "not implemented"),
    ("DNS_DOMAINNAME", "not implemented"),
    ("ADOPT_DOMAINNAME", "not implemented"),
    ("SET_MTU", "not implemented"),
];

/// The file, read: each parameter's value for all interfaces and per interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defaults {
    /// Key: (interface or "" for all, parameter).
    values: BTreeMap<(String, &'static str), Value>,
}

/// What the file says for one interface, with dhcpagent's built-in defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// CLIENT_ID, if given.
    pub client_id: Option<ClientIdSpec>,
    /// PARAM_REQUEST_LIST, as option codes.
    pub param_request_list: Vec<u8>,
    /// REQUEST_HOSTNAME: send the host's name in option 12.
    pub request_hostname: bool,
    /// RELEASE_ON_SIGTERM: release (not drop) leases when the agent is told to stop.
    pub release_on_sigterm: bool,
    /// OFFER_WAIT.
    pub offer_wait: Duration,
    /// V4_DEFAULT_IAID_DUID: without CLIENT_ID, send an RFC 4361 identifier from the
    /// agent's DUID and the interface's IAID.
    pub v4_default_iaid_duid: bool,
}

impl Default for Settings {
    /// dhcpagent's built-in defaults and its shipped PARAM_REQUEST_LIST. REQUEST_HOSTNAME is
    /// off: dhcpagent sends a name only when /etc/hostname.IF names one, which has no
    /// counterpart here.
    fn default() -> Self {
        Self {
            client_id: None,
            param_request_list: vec![1, 3, 6, 12, 15, 28, 43],
            request_hostname: false,
            release_on_sigterm: false,
            offer_wait: Duration::from_secs(3),
            v4_default_iaid_duid: false,
        }
    }
}

/// Reads the file's text. Lines that cannot be used are returned as faults and left out.
pub fn parse(text: &str) -> (Defaults, Vec<Fault>) {
    let mut defaults = Defaults::default();
    let mut faults = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let lead = raw.len() - raw.trim_start().len();
        let body = raw.trim();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let fault = |column: usize, message: String| Fault {
            line,
            column,
            message,
        };
        let Some((key, value)) = body.split_once('=') else {
            faults.push(fault(lead + 1, "not PARAM=value; line ignored".into()));
            continue;
        };
        let value_column = lead + key.len() + 2;
        let key = key.trim_end();
        let (interface, name) = match key.split_once('.') {
            Some((interface, rest)) => (interface, rest),
            None => ("", key),
        };
        let name = name.to_ascii_uppercase();
        if name.starts_with("V6.") {
            continue;
        }
        let param = PARAMS.iter().find(|(n, _)| *n == name);
        let Some((canonical, param)) = param else {
            let why = NOT_USED
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("unknown parameter", |(_, why)| why);
            faults.push(fault(lead + 1, format!("{name}: {why}; line ignored")));
            continue;
        };
        match check(*param, value.trim()) {
            Ok(v) => {
                defaults
                    .values
                    .insert((interface.to_string(), canonical), v);
            }
            Err(why) => faults.push(fault(
                value_column,
                format!("{name}: {why}; the default is used"),
            )),
        }
    }
    (defaults, faults)
}

impl Defaults {
    /// The settings for interface `name`.
    pub fn settings(&self, name: &str) -> Settings {
        let get = |param: &'static str| {
            self.values
                .get(&(name.to_string(), param))
                .or_else(|| self.values.get(&(String::new(), param)))
        };
        let mut s = Settings::default();
        if let Some(Value::ClientId(c)) = get("CLIENT_ID") {
            s.client_id = Some(c.clone());
        }
        if let Some(Value::List(l)) = get("PARAM_REQUEST_LIST") {
            s.param_request_list = l.clone();
        }
        if let Some(Value::Bool(b)) = get("REQUEST_HOSTNAME") {
            s.request_hostname = *b;
        }
        if let Some(Value::Bool(b)) = get("RELEASE_ON_SIGTERM") {
            s.release_on_sigterm = *b;
        }
        if let Some(Value::Seconds(secs)) = get("OFFER_WAIT") {
            s.offer_wait = Duration::from_secs(*secs);
        }
        if let Some(Value::Bool(b)) = get("V4_DEFAULT_IAID_DUID") {
            s.v4_default_iaid_duid = *b;
        }
        s
    }
}

fn check(param: Param, value: &str) -> Result<Value, String> {
    match param {
        Param::ReleaseOnSigterm | Param::RequestHostname | Param::V4DefaultIaidDuid => {
            boolean(value).map(Value::Bool)
        }
        Param::OfferWait => match value.parse::<u64>() {
            Ok(s @ 1..=20) => Ok(Value::Seconds(s)),
            _ => Err(format!("{value:?} is not a number of seconds from 1 to 20")),
        },
        Param::RequestList => param_list(value).map(Value::List),
        Param::ClientId => client_id(value).map(Value::ClientId),
    }
}

fn boolean(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" => Ok(false),
        _ => Err(format!("{value:?} is not yes or no")),
    }
}

/// Codes (decimal or 0x hex) or inittab names, separated by commas; empty items skipped.
fn param_list(value: &str) -> Result<Vec<u8>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            if item.starts_with(|c: char| c.is_ascii_alphabetic()) {
                inittab::by_name(item)
                    .map(|e| e.code)
                    .ok_or_else(|| format!("unknown option name {item:?}"))
            } else {
                number(item)
                    .and_then(|n| u8::try_from(n).ok())
                    .filter(|n| (1..=254).contains(n))
                    .ok_or_else(|| format!("{item:?} is not an option code from 1 to 254"))
            }
        })
        .collect()
}

fn number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn hex(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    match crate::hex::decode(text) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        Ok(_) | Err(crate::hex::HexError::Odd) => {
            Err(format!("{text:?} is not an even number of hex digits"))
        }
        Err(crate::hex::HexError::Digit(_)) => Err(format!("{text:?} is not hex")),
    }
}

fn client_id(value: &str) -> Result<ClientIdSpec, String> {
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && value.as_bytes().get(digits) == Some(&b',') {
        return duid(value);
    }
    if let Some(h) = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        return hex(h).map(ClientIdSpec::Raw);
    }
    let text = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if text.is_empty() {
        return Err("an empty client identifier".into());
    }
    Ok(ClientIdSpec::Raw(text.as_bytes().to_vec()))
}

fn duid(value: &str) -> Result<ClientIdSpec, String> {
    let fields: Vec<&str> = value.split(',').map(str::trim).collect();
    let duid_type = fields
        .first()
        .and_then(|t| t.parse::<u16>().ok())
        .ok_or("the DUID type is not a number from 0 to 65535")?;
    let optional_u16 = |f: &str, what: &str| -> Result<Option<u16>, String> {
        if f.is_empty() {
            Ok(None)
        } else {
            number(f)
                .and_then(|n| u16::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| format!("{what} {f:?} is not a number from 0 to 65535"))
        }
    };
    match (duid_type, fields.as_slice()) {
        (1, [_, hw, time, lla]) => {
            let time = if time.is_empty() {
                None
            } else {
                Some(
                    number(time)
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| format!("time {time:?} is not seconds since 2000"))?,
                )
            };
            let address = link_address(lla)?;
            let hardware_type = optional_u16(hw, "hardware type")?;
            needs_type(&address, hardware_type)?;
            Ok(ClientIdSpec::Llt {
                hardware_type,
                time,
                address,
            })
        }
        (1, _) => Err("DUID-LLT is 1,hwtype,time,lla".into()),
        (3, [_, hw, lla]) => {
            let address = link_address(lla)?;
            let hardware_type = optional_u16(hw, "hardware type")?;
            needs_type(&address, hardware_type)?;
            Ok(ClientIdSpec::Ll {
                hardware_type,
                address,
            })
        }
        (3, _) => Err("DUID-LL is 3,hwtype,lla".into()),
        (2, [_, enterprise, data]) => {
            let enterprise: u32 = enterprise
                .parse()
                .map_err(|_| format!("enterprise number {enterprise:?} is not a number"))?;
            let mut bytes = enterprise.to_be_bytes().to_vec();
            bytes.extend(hex(data)?);
            Ok(ClientIdSpec::Other {
                duid_type: 2,
                data: bytes,
            })
        }
        (2, _) => Err("DUID-EN is 2,enterprise,hex".into()),
        (t, [_, data]) => Ok(ClientIdSpec::Other {
            duid_type: t,
            data: hex(data)?,
        }),
        _ => Err(format!("a DUID of type {duid_type} is {duid_type},hex")),
    }
}

fn needs_type(address: &LinkAddress, hardware_type: Option<u16>) -> Result<(), String> {
    if matches!(address, LinkAddress::Bytes(_)) && hardware_type.is_none() {
        return Err(
            "a MAC address needs a hardware type (only an interface name may omit it)".into(),
        );
    }
    Ok(())
}

/// Colon-separated hex bytes, or an interface name.
fn link_address(text: &str) -> Result<LinkAddress, String> {
    if text.contains(':') {
        text.split(':')
            .map(|b| {
                u8::from_str_radix(b, 16).map_err(|_| format!("{text:?} is not a MAC address"))
            })
            .collect::<Result<Vec<u8>, String>>()
            .map(LinkAddress::Bytes)
    } else if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    {
        Ok(LinkAddress::Interface(text.to_string()))
    } else {
        Err(format!(
            "{text:?} is neither a MAC address nor an interface name"
        ))
    }
}

impl Settings {
    /// The client identifier to send (option 61): CLIENT_ID as given (a DUID becomes an
    /// RFC 4361 identifier with `iaid`), else with V4_DEFAULT_IAID_DUID the agent's own
    /// DUID from `agent_duid`, else none. `now` and `mac_of` resolve DUID fields left to the
    /// agent.
    pub fn client_identifier(
        &self,
        now: SystemTime,
        iaid: u32,
        agent_duid: &mut dyn FnMut() -> Vec<u8>,
        mac_of: &dyn Fn(&str) -> Option<[u8; 6]>,
    ) -> Result<Option<Vec<u8>>, String> {
        match &self.client_id {
            Some(ClientIdSpec::Raw(raw)) => Ok(Some(raw.clone())),
            Some(spec) => Ok(spec
                .duid(now, mac_of)?
                .map(|duid| rfc4361_client_id(iaid, &duid))),
            None if self.v4_default_iaid_duid => Ok(Some(rfc4361_client_id(iaid, &agent_duid()))),
            None => Ok(None),
        }
    }
}
