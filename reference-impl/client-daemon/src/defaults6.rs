//! The DHCPv6 settings of the agent's configuration file: the `.v6.PARAM=value` (every
//! interface) and `IF.v6.PARAM=value` (one interface; it wins) lines of
//! /etc/default/dhcpagent, which the DHCPv4 reader leaves to this one. Names are read without
//! regard to case, the last of repeated keys wins, and every line that cannot be used is a
//! [`Fault`] with its line and column while the built-in default is used.
//!
//! dhcpagent's own v6 parameters read here:
//! - `RELEASE_ON_SIGTERM` (yes/no, default no): release (not drop) the binding when the agent
//!   is told to stop;
//! - `PARAM_REQUEST_LIST`: the options asked for in the ORO, by code or inittab6 name
//!   (default `23,24`, DNSAddresses and DNSSearch, the client core's; the file Solaris ships
//!   sets `.v6.PARAM_REQUEST_LIST=7,12,23,24,27,29`, which may be written here as well).
//!
//! dhcplab's own, named `DHCPLAB_*` so no one takes them for dhcpagent's:
//! - `DHCPLAB_IA_NA` (0-8, default 1): how many IA_NAs to ask for;
//! - `DHCPLAB_IA_PD` (0-8, default 0): how many IA_PDs to ask for;
//! - `DHCPLAB_RAPID_COMMIT` (yes/no, default no): ask for rapid commit (RFC 8415 18.2.1);
//! - `DHCPLAB_INFORMATION_ONLY` (yes/no, default no): only Information-request (stateless,
//!   RFC 8415 18.2.6), no addresses or prefixes.

use dhcplab_client::defaults::Fault;
use dhcplab_client6::inittab6;
use std::collections::BTreeMap;

/// A v6 parameter's value, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value6 {
    Bool(bool),
    Count(u8),
    Codes(Vec<u16>),
}

/// How a parameter's value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Bool,
    Count,
    Codes,
}

/// The v6 parameters read, with their checks.
const PARAMS6: &[(&str, Check)] = &[
    ("RELEASE_ON_SIGTERM", Check::Bool),
    ("PARAM_REQUEST_LIST", Check::Codes),
    ("DHCPLAB_IA_NA", Check::Count),
    ("DHCPLAB_IA_PD", Check::Count),
    ("DHCPLAB_RAPID_COMMIT", Check::Bool),
    ("DHCPLAB_INFORMATION_ONLY", Check::Bool),
];

/// dhcpagent's v6 parameters that are not acted on, with why.
const NOT_USED6: &[(&str, &str)] = &[
    (
        "CLIENT_ID",
        "the agent's DUID (file duid) is the client identifier",
    ),
    ("OFFER_WAIT", "RFC 8415's SOL_TIMEOUT governs"),
    ("VERIFIED_LEASE_ONLY", "not implemented"),
    ("PARAM_IGNORE_LIST", "not implemented"),
    ("REQUEST_FQDN", "not implemented"),
    ("REQUEST_HOSTNAME", "not implemented"),
    ("DNS_DOMAINNAME", "not implemented"),
    ("ADOPT_DOMAINNAME", "not implemented"),
];

/// The most IAs of one kind asked for on an interface.
pub const MAX_IAS: u8 = 8;

/// The file's v6 lines, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defaults6 {
    /// Key: (interface or "" for all, parameter).
    values: BTreeMap<(String, &'static str), Value6>,
}

/// The v6 settings of one interface, with the built-in defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings6 {
    /// `.v6.RELEASE_ON_SIGTERM`.
    pub release_on_sigterm: bool,
    /// `.v6.PARAM_REQUEST_LIST`: the ORO's option codes.
    pub oro: Vec<u16>,
    /// `.v6.DHCPLAB_IA_NA`: IA_NAs asked for.
    pub ia_na: u8,
    /// `.v6.DHCPLAB_IA_PD`: IA_PDs asked for.
    pub ia_pd: u8,
    /// `.v6.DHCPLAB_RAPID_COMMIT`.
    pub rapid_commit: bool,
    /// `.v6.DHCPLAB_INFORMATION_ONLY`.
    pub information_only: bool,
}

impl Default for Settings6 {
    fn default() -> Self {
        Self {
            release_on_sigterm: false,
            oro: vec![23, 24],
            ia_na: 1,
            ia_pd: 0,
            rapid_commit: false,
            information_only: false,
        }
    }
}

/// Reads the v6 lines of the file's text; other lines are the DHCPv4 reader's.
pub fn parse6(text: &str) -> (Defaults6, Vec<Fault>) {
    let mut defaults = Defaults6::default();
    let mut faults = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let body = raw.trim_start();
        let lead = raw.len() - body.len();
        let Some((key, value)) = body.split_once('=') else {
            continue;
        };
        let Some((interface, name)) = v6_key(key.trim_end()) else {
            continue;
        };
        let fault = |column: usize, message: String| Fault {
            line: i + 1,
            column,
            message,
        };
        let Some((canonical, check)) = PARAMS6.iter().find(|(n, _)| *n == name) else {
            let why = NOT_USED6
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("unknown parameter", |(_, why)| why);
            faults.push(fault(lead + 1, format!("v6.{name}: {why}; line ignored")));
            continue;
        };
        match read(*check, value.trim()) {
            Ok(v) => {
                defaults.values.insert((interface, canonical), v);
            }
            Err(why) => faults.push(fault(
                lead + key.len() + 2,
                format!("v6.{name}: {why}; the default is used"),
            )),
        }
    }
    (defaults, faults)
}

/// `IF.v6.NAME` or `.v6.NAME` as (IF or "", NAME in capitals); `None` for other keys.
fn v6_key(key: &str) -> Option<(String, String)> {
    let (interface, rest) = key.split_once('.')?;
    let (v6, name) = rest.split_once('.')?;
    v6.eq_ignore_ascii_case("v6")
        .then(|| (interface.to_string(), name.to_ascii_uppercase()))
}

fn read(check: Check, value: &str) -> Result<Value6, String> {
    match check {
        Check::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" | "true" | "1" => Ok(Value6::Bool(true)),
            "no" | "false" | "0" => Ok(Value6::Bool(false)),
            _ => Err(format!("{value:?} is not yes or no")),
        },
        Check::Count => value
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= MAX_IAS)
            .map(Value6::Count)
            .ok_or_else(|| format!("{value:?} is not a count from 0 to {MAX_IAS}")),
        Check::Codes => value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                if item.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    inittab6::by_name(item)
                        .map(|e| e.code)
                        .ok_or_else(|| format!("unknown inittab6 name {item:?}"))
                } else {
                    item.parse::<u16>()
                        .ok()
                        .filter(|c| *c > 0)
                        .ok_or_else(|| format!("{item:?} is not an option code from 1 to 65535"))
                }
            })
            .collect::<Result<Vec<u16>, String>>()
            .map(Value6::Codes),
    }
}

impl Defaults6 {
    /// The v6 settings of interface `name`.
    pub fn settings(&self, name: &str) -> Settings6 {
        let get = |param: &'static str| {
            self.values
                .get(&(name.to_string(), param))
                .or_else(|| self.values.get(&(String::new(), param)))
        };
        let flag = |param, default| match get(param) {
            Some(Value6::Bool(b)) => *b,
            _ => default,
        };
        let count = |param, default| match get(param) {
            Some(Value6::Count(n)) => *n,
            _ => default,
        };
        let d = Settings6::default();
        Settings6 {
            release_on_sigterm: flag("RELEASE_ON_SIGTERM", d.release_on_sigterm),
            oro: match get("PARAM_REQUEST_LIST") {
                Some(Value6::Codes(c)) => c.clone(),
                _ => d.oro,
            },
            ia_na: count("DHCPLAB_IA_NA", d.ia_na),
            ia_pd: count("DHCPLAB_IA_PD", d.ia_pd),
            rapid_commit: flag("DHCPLAB_RAPID_COMMIT", d.rapid_commit),
            information_only: flag("DHCPLAB_INFORMATION_ONLY", d.information_only),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v6_lines_for_all_and_for_one_interface() {
        let text = "\
# dhcpagent's v6 names
.v6.RELEASE_ON_SIGTERM=yes
.v6.param_request_list=DNSAddresses, 24 ,SNTPServers
eth1.v6.RELEASE_ON_SIGTERM=no
eth1.v6.DHCPLAB_IA_NA=2
eth1.v6.DHCPLAB_IA_PD=1
eth1.V6.DHCPLAB_RAPID_COMMIT=true
eth2.v6.DHCPLAB_INFORMATION_ONLY=1
RELEASE_ON_SIGTERM=no
OFFER_WAIT=5
";
        let (d, faults) = parse6(text);
        assert!(faults.is_empty(), "{faults:?}");
        let eth0 = d.settings("eth0");
        assert_eq!(
            eth0,
            Settings6 {
                release_on_sigterm: true,
                oro: vec![23, 24, 31],
                ..Settings6::default()
            }
        );
        let eth1 = d.settings("eth1");
        assert!(!eth1.release_on_sigterm, "IF.v6.PARAM wins over .v6.PARAM");
        assert_eq!((eth1.ia_na, eth1.ia_pd, eth1.rapid_commit), (2, 1, true));
        assert!(d.settings("eth2").information_only);
        assert_eq!(Defaults6::default().settings("eth0"), Settings6::default());
    }

    #[test]
    fn faults_name_the_line_and_column_and_the_default_is_used() {
        let text = ".v6.DHCPLAB_IA_NA=9\n  eth0.v6.PARAM_REQUEST_LIST=23,Bogus\n.v6.CLIENT_ID=0x01\n.v6.NOPE=1\n.v6.RAPID=x\n";
        let (d, faults) = parse6(text);
        let shown: Vec<String> = faults.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "1:19: v6.DHCPLAB_IA_NA: \"9\" is not a count from 0 to 8; the default is used",
                "2:30: v6.PARAM_REQUEST_LIST: unknown inittab6 name \"Bogus\"; the default is used",
                "3:1: v6.CLIENT_ID: the agent's DUID (file duid) is the client identifier; line ignored",
                "4:1: v6.NOPE: unknown parameter; line ignored",
                "5:1: v6.RAPID: unknown parameter; line ignored",
            ]
        );
        assert_eq!(d.settings("eth0"), Settings6::default());
    }
}
