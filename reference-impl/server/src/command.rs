//! The parts of Kea's control channel every server family shares: reading a command
//! (`{"command": NAME, "arguments": {...}}`), Kea's result codes and answer shapes, typed
//! readers of arguments that name the faulty one, `status-get`'s arguments, statistic
//! samples, and reading the configuration of `config-set` and `config-test`. The DHCPv4 core
//! (`control`) and the DHCPv6 core (`dhcplab-server6`) answer their commands with these.

use dhcplab_kea_config::ConfigError;
use serde_json::{Map, Value, json};
use std::time::SystemTime;

/// Kea's result code: success.
pub const SUCCESS: i64 = 0;
/// Kea's result code: error.
pub const ERROR: i64 = 1;
/// Kea's result code: the command is not supported.
pub const UNSUPPORTED: i64 = 2;
/// Kea's result code: success, but nothing found.
pub const EMPTY: i64 = 3;

/// An answer with a result code and a text.
pub fn answer(result: i64, text: impl Into<String>) -> Value {
    json!({ "result": result, "text": text.into() })
}

/// An answer with a result code, a text and arguments.
pub fn answer_with(result: i64, text: impl Into<String>, arguments: Value) -> Value {
    json!({ "result": result, "text": text.into(), "arguments": arguments })
}

/// An answer with arguments and no text, as Kea gives for `list-commands`, `status-get`,
/// `config-get` and the statistics commands.
pub fn arguments_only(arguments: Value) -> Value {
    json!({ "result": SUCCESS, "arguments": arguments })
}

/// A fault in a command's arguments: the answer's text (result 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad(pub String);

/// A command's arguments.
pub type Args<'a> = &'a Map<String, Value>;

/// A command read from the control channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// `command`.
    pub name: String,
    /// `arguments` as sent, when sent.
    pub given: Option<Value>,
    /// `arguments` as a map (empty when not sent).
    pub args: Map<String, Value>,
}

/// Reads a command's text; a fault is answered with result 1 and Kea's wording.
pub fn read(text: &str) -> Result<Command, Value> {
    let request: Value = serde_json::from_str(text).map_err(|e| {
        answer(
            ERROR,
            format!(
                "invalid command: not JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let Value::Object(mut request) = request else {
        return Err(answer(
            ERROR,
            "Error during command processing: Invalid command Element specified, expected map",
        ));
    };
    let Some(Value::String(name)) = request.remove("command") else {
        return Err(answer(
            ERROR,
            "Error during command processing: Invalid answer specified, does not contain mandatory 'command'",
        ));
    };
    let given = request.remove("arguments");
    let args = match &given {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(answer(
                ERROR,
                "Error during command processing: 'arguments' is not a map",
            ));
        }
    };
    Ok(Command { name, given, args })
}

/// The string argument `name`, if sent.
pub fn string<'a>(args: Args<'a>, name: &str) -> Result<Option<&'a str>, Bad> {
    match args.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Bad(format!("'{name}' is not a string"))),
    }
}

/// The integer argument `name` (0 to `max`), if sent.
pub fn uint(args: Args<'_>, name: &str, max: u64) -> Result<Option<u64>, Bad> {
    match args.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= max)
            .map(Some)
            .ok_or_else(|| Bad(format!("'{name}' is not an integer from 0 to {max}"))),
    }
}

/// The boolean argument `name`, if sent.
pub fn boolean(args: Args<'_>, name: &str) -> Result<Option<bool>, Bad> {
    match args.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Bad(format!("'{name}' is not a boolean"))),
    }
}

/// Hex bytes of argument `name`, read as Kea reads identifiers.
pub fn hex(text: &str, name: &str) -> Result<Vec<u8>, Bad> {
    dhcplab_kea_config::common::hex(text).map_err(|e| Bad(format!("'{name}': {e}")))
}

/// A statistic as Kea shows it: its latest sample and the sample's time.
pub fn sample(value: i64, at: SystemTime) -> Value {
    let ns = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    json!([[value, dhcplab_utc::format_kea(ns)]])
}

/// `statistic-get`'s answer from every statistic.
pub fn statistic_get(args: Args<'_>, mut all: Map<String, Value>) -> Result<Value, Bad> {
    let name =
        string(args, "name")?.ok_or_else(|| Bad("Missing mandatory 'name' parameter.".into()))?;
    let mut one = Map::new();
    if let Some(v) = all.remove(name) {
        one.insert(name.to_string(), v);
    }
    Ok(arguments_only(Value::Object(one)))
}

/// `status-get`'s arguments common to both families.
pub fn status(
    now: SystemTime,
    started: SystemTime,
    reloaded: SystemTime,
    pid: Option<u32>,
) -> Value {
    let since = |t: SystemTime| now.duration_since(t).map_or(0, |d| d.as_secs());
    let mut args = json!({
        "uptime": since(started),
        "reload": since(reloaded),
        "multi-threading-enabled": false,
        "sockets": { "status": "ready" },
    });
    if let Some(pid) = pid {
        args["pid"] = json!(pid);
    }
    args
}

/// The configuration of `config-set` and `config-test` (`arguments` holding the `key` map,
/// `Dhcp4` or `Dhcp6`), read by `parse` with the same checks as a file.
pub fn config_from<T>(
    given: Option<&Value>,
    args: Args<'_>,
    key: &str,
    parse: impl FnOnce(&str) -> Result<(T, Value), Vec<ConfigError>>,
) -> Result<(T, Value), String> {
    if given.is_none() {
        return Err("Missing mandatory 'arguments' parameter.".into());
    }
    if !args.contains_key(key) {
        return Err(format!("Missing mandatory '{key}' parameter."));
    }
    let text = Value::Object(args.clone()).to_string();
    parse(&text).map_err(|faults| {
        // Positions in a one-line rendering mean little; the JSON path says where.
        let list: Vec<String> = faults
            .iter()
            .map(|f| format!("{}: {}", f.path, f.message))
            .collect();
        list.join("; ")
    })
}

/// The address argument `name` of one family (`family` is `IPv4` or `IPv6`, `pick` takes the
/// family's addresses), if sent, with Kea's texts for a wrong family or no address.
pub fn address<A>(
    args: Args<'_>,
    name: &str,
    family: &str,
    pick: impl Fn(std::net::IpAddr) -> Option<A>,
) -> Result<Option<A>, Bad> {
    string(args, name)?
        .map(|s| match s.parse::<std::net::IpAddr>() {
            Ok(a) => pick(a).ok_or_else(|| Bad(format!("Invalid {family} address specified: {s}"))),
            Err(_) => Err(Bad(format!(
                "Failed to convert string to address '{s}': Invalid argument"
            ))),
        })
        .transpose()
}

/// Who asks `dhcp-disable` or `dhcp-enable` (`origin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An administrator (`user`, the default).
    User,
    /// The HA partner (`ha-partner`).
    HaPartner,
}

/// `origin` of `dhcp-disable` and `dhcp-enable`.
pub fn origin(args: Args<'_>) -> Result<Origin, Bad> {
    match string(args, "origin")? {
        Some("ha-partner") => Ok(Origin::HaPartner),
        Some("user") | None => Ok(Origin::User),
        Some(other) => Err(Bad(format!(
            "invalid value used for 'origin' parameter: {other}"
        ))),
    }
}

/// `max-period` of `dhcp-disable`: how long, when given (0 is refused).
pub fn max_period(args: Args<'_>) -> Result<Option<std::time::Duration>, Bad> {
    match uint(args, "max-period", u64::from(u32::MAX))? {
        Some(0) => Err(Bad("'max-period' must be positive integer".into())),
        p => Ok(p.map(std::time::Duration::from_secs)),
    }
}

/// `dhcp-enable`'s answer.
pub const ENABLED: &str = "DHCP service successfully enabled";

/// The answer listing `leases` of `family` (`IPv4`, `IPv6`): result 3 when none.
pub fn leases_found(family: &str, leases: Vec<Value>) -> Value {
    let n = leases.len();
    let code = if n == 0 { EMPTY } else { SUCCESS };
    answer_with(
        code,
        format!("{n} {family} lease(s) found."),
        json!({ "leases": leases }),
    )
}

/// The `subnets` of `leaseN-get-all`: `None` (every subnet) when no arguments were sent.
pub fn subnets_filter(given: bool, args: Args<'_>) -> Result<Option<Vec<u32>>, Bad> {
    match args.get("subnets") {
        None if given => Err(Bad("'subnets' parameter not specified".into())),
        None => Ok(None),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()))
            .collect::<Option<Vec<u32>>>()
            .map(Some)
            .ok_or_else(|| Bad("listed subnet identifiers must be numbers".into())),
        Some(_) => Err(Bad("'subnets' parameter must be a list".into())),
    }
}

/// `from` (`None` for `start`, read by `address`) and `limit` of `leaseN-get-page`.
pub fn page<A>(
    args: Args<'_>,
    address: impl Fn(Args<'_>, &str) -> Result<Option<A>, Bad>,
) -> Result<(Option<A>, usize), Bad> {
    let from = match string(args, "from")? {
        None => return Err(Bad("'from' parameter is mandatory".into())),
        Some("start") => None,
        Some(_) => address(args, "from")?,
    };
    let limit = match uint(args, "limit", u64::from(u32::MAX))? {
        None => return Err(Bad("'limit' parameter is mandatory".into())),
        Some(0) => return Err(Bad("page size of the retrieved leases must not be 0".into())),
        Some(l) => l as usize,
    };
    Ok((from, limit))
}

/// `leaseN-get-page`'s answer: the page and its `count`.
pub fn page_found(family: &str, leases: Vec<Value>) -> Value {
    let n = leases.len();
    let mut a = leases_found(family, leases);
    a["arguments"]["count"] = json!(n);
    a
}

/// The subnets `leaseN-wipe` empties: `subnet-id`, or every configured one when it is 0 or
/// missing.
pub fn wipe_subnets(
    args: Args<'_>,
    configured: impl Iterator<Item = u32>,
) -> Result<Vec<u32>, Bad> {
    Ok(match uint(args, "subnet-id", u64::from(u32::MAX))? {
        Some(0) | None => configured.collect(),
        Some(id) => vec![id as u32],
    })
}

/// `leaseN-wipe`'s answer for `n` leases deleted from `ids`.
pub fn wiped(family: &str, n: usize, ids: &[u32]) -> Value {
    let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    answer(
        if n == 0 { EMPTY } else { SUCCESS },
        format!(
            "Deleted {n} {family} lease(s) from subnet(s) {}",
            list.join(" ")
        ),
    )
}

/// `valid-lft` of `leaseN-add` and `leaseN-update`, `default` when not sent. 0 is refused:
/// a row of lifetime 0 in the lease file deletes the lease (Kea 2.2 accepts it).
pub fn valid_lifetime(args: Args<'_>, default: u32) -> Result<u32, Bad> {
    match uint(args, "valid-lft", u64::from(u32::MAX))? {
        Some(0) => Err(Bad(
            "'valid-lft' must not be 0 (a row of lifetime 0 deletes the lease)".into(),
        )),
        Some(v) => Ok(v as u32),
        None => Ok(default),
    }
}

/// `state` of `leaseN-add` and `leaseN-update` (default 0).
pub fn lease_state(args: Args<'_>) -> Result<u32, Bad> {
    match uint(args, "state", u64::MAX)?.unwrap_or(0) {
        s if s <= u64::from(dhcplab_memfile::STATE_EXPIRED_RECLAIMED) => Ok(s as u32),
        s => Err(Bad(format!(
            "Invalid state value: {s}, supported values are: 0 (default), 1 (declined) and 2 (expired-reclaimed)"
        ))),
    }
}

/// `fqdn-fwd`, `fqdn-rev` and `hostname` of `leaseN-add` and `leaseN-update` (the host name
/// lowercased, as Kea's `Lease` keeps it); a DNS flag without a host name is refused, as
/// Kea 2.2's `Lease4Parser` and `Lease6Parser` do.
pub fn dns_names(args: Args<'_>) -> Result<(bool, bool, String), Bad> {
    let fwd = boolean(args, "fqdn-fwd")?.unwrap_or(false);
    let rev = boolean(args, "fqdn-rev")?.unwrap_or(false);
    let hostname = string(args, "hostname")?
        .unwrap_or_default()
        .to_ascii_lowercase();
    if hostname.is_empty() && (fwd || rev) {
        return Err(Bad(
            "No hostname specified and either forward or reverse fqdn was set to true.".into(),
        ));
    }
    Ok((fwd, rev, hostname))
}

/// `user-context` of `leaseN-add` and `leaseN-update`, as JSON text.
pub fn user_context(args: Args<'_>) -> Result<Option<String>, Bad> {
    match args.get("user-context") {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.to_string())),
        Some(_) => Err(Bad("'user-context' is not a map".into())),
    }
}

/// The expiry a lease command gives: `expire`, else `cltt` plus `valid`, else `now` plus
/// `valid`. As Kea 2.2's lease parsers: an expiry of 0 is refused, and so is one below the
/// lifetime (one equal to it is a lease whose client last spoke at the epoch).
pub fn expiry(
    args: Args<'_>,
    valid: u32,
    now: u64,
    address: impl std::fmt::Display,
) -> Result<u64, Bad> {
    let cltt = uint(args, "cltt", u64::MAX)?;
    match uint(args, "expire", u64::MAX)?.or(cltt.map(|c| c.saturating_add(u64::from(valid)))) {
        Some(0) => Err(Bad(format!(
            "expiration time must be positive for address {address}"
        ))),
        Some(e) if e < u64::from(valid) => Err(Bad(format!(
            "expiration time must be greater than valid lifetime for address {address}"
        ))),
        Some(e) => Ok(e),
        None => Ok(now + u64::from(valid)),
    }
}

/// The answer's text for hooks libraries that failed to load, in Kea's wording.
pub fn hooks_refusal(e: &crate::hooks::HookError) -> String {
    format!("One or more hook libraries failed to load: {e}")
}

/// What a server family gives the commands both families answer alike.
pub trait Commands {
    /// The family's configuration.
    type Config;
    /// The configuration's top-level key: `Dhcp4` or `Dhcp6`.
    const KEY: &'static str;
    /// Reads the family's configuration text, as from a file.
    fn parse(text: &str) -> Result<(Self::Config, Value), Vec<ConfigError>>;
    /// Takes a new configuration at `now`; the refusal's text, in Kea's wording, when it
    /// cannot.
    fn apply(&mut self, now: SystemTime, config: Self::Config, json: Value) -> Result<(), String>;
    /// The configuration in force as JSON (`config-get`).
    fn config_json(&self) -> Value;
    /// `status-get`'s arguments.
    fn status(&self, now: SystemTime) -> Value;
    /// Every statistic by Kea's name, as `statistic-get-all` shows them.
    fn statistics(&self) -> Map<String, Value>;
    /// Reclaims every expired lease now; `remove` deletes them rather than keeping them.
    fn reclaim_all(&mut self, now: SystemTime, remove: bool);
    /// Queues the server's stop.
    fn shutdown(&mut self);
    /// Calls the command_processed callouts with a command and its answer.
    fn processed(&mut self, name: &str, arguments: Option<&Value>, response: &Value);
}

/// The answer to a command the family does not answer itself: the common one
/// ([`common`]), else result 2, not supported.
pub fn fallback<S: Commands>(
    server: &mut S,
    now: SystemTime,
    command: &Command,
) -> Result<Value, Bad> {
    common(server, now, command).unwrap_or_else(|| {
        Ok(answer(
            UNSUPPORTED,
            format!("'{}' command not supported.", command.name),
        ))
    })
}

/// The answer to send for a command's `result` (a fault is result 1), after the
/// command_processed callouts have seen it.
pub fn respond<S: Commands>(
    server: &mut S,
    command: &Command,
    result: Result<Value, Bad>,
) -> Value {
    let response = result.unwrap_or_else(|Bad(e)| answer(ERROR, e));
    server.processed(&command.name, command.given.as_ref(), &response);
    response
}

/// Answers the commands both families answer alike (`config-get`, `config-test`,
/// `config-set`, `status-get`, `statistic-get`, `statistic-get-all`, `leases-reclaim`,
/// `shutdown`); `None` for any other.
pub fn common<S: Commands>(
    server: &mut S,
    now: SystemTime,
    command: &Command,
) -> Option<Result<Value, Bad>> {
    let (given, args) = (command.given.as_ref(), &command.args);
    Some(match command.name.as_str() {
        "config-get" => Ok(arguments_only(server.config_json())),
        "status-get" => Ok(arguments_only(server.status(now))),
        "config-test" => Ok(match config_from(given, args, S::KEY, S::parse) {
            Ok(_) => answer(SUCCESS, CONFIG_SANE),
            Err(e) => answer(ERROR, e),
        }),
        "config-set" => Ok(match config_from(given, args, S::KEY, S::parse) {
            Ok((config, json)) => match server.apply(now, config, json) {
                Ok(()) => answer(SUCCESS, "Configuration successful."),
                Err(e) => answer(ERROR, e),
            },
            Err(e) => answer(ERROR, e),
        }),
        "leases-reclaim" => match args.get("remove") {
            None => Err(Bad("Missing mandatory 'remove' parameter.".into())),
            Some(Value::Bool(remove)) => {
                server.reclaim_all(now, *remove);
                Ok(answer(
                    SUCCESS,
                    "Reclamation of expired leases is complete.",
                ))
            }
            Some(_) => Err(Bad("'remove' parameter expected to be a boolean.".into())),
        },
        "statistic-get-all" => Ok(arguments_only(Value::Object(server.statistics()))),
        "statistic-get" => statistic_get(args, server.statistics()),
        "shutdown" => {
            server.shutdown();
            Ok(answer(SUCCESS, "Shutting down."))
        }
        _ => return None,
    })
}

/// `config-reload`'s answer (and SIGHUP's): the configuration file's text read again and
/// applied; a faulty file leaves the configuration in force as it was.
pub fn reload<S: Commands>(server: &mut S, now: SystemTime, text: &str) -> Value {
    match S::parse(text) {
        Ok((config, json)) => match server.apply(now, config, json) {
            Ok(()) => answer(SUCCESS, "Configuration successful."),
            Err(e) => answer(ERROR, format!("Config reload failed: {e}")),
        },
        Err(faults) => {
            let list: Vec<String> = faults.iter().map(ToString::to_string).collect();
            answer(ERROR, format!("Config reload failed: {}", list.join("; ")))
        }
    }
}

/// `config-test`'s answer to a configuration that reads well.
pub const CONFIG_SANE: &str = "Configuration seems sane. Control-socket, hook-libraries, and D2 configuration were sanity checked, but not applied.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faulty_commands_are_answered_with_kea_texts() {
        assert_eq!(
            read("[1]").map_err(|a| a["result"].clone()),
            Err(json!(ERROR))
        );
        assert!(read("{\"arguments\": {}}").is_err());
        assert!(read("{\"command\": \"x\", \"arguments\": 3}").is_err());
        let c = read("{\"command\": \"x\"}").expect("reads");
        assert_eq!((c.name.as_str(), c.given, c.args.len()), ("x", None, 0));
    }
}
