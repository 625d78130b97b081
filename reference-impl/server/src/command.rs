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
