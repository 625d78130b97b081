//! Walks a parsed configuration with its JSON path, taking typed fields out of objects and
//! collecting every fault (wrong type, out of range, unknown or unsupported key) with the path
//! and the line and column where it is, instead of stopping at the first.

use crate::json::{Key, Pos, Spanned, Value};
use std::fmt;

/// One fault in a configuration: where (JSON path and position) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON path of the faulty key or value, as `Dhcp4.subnet4[0].pools[1].pool`.
    pub path: String,
    /// Line and column in the file.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(syntax)"
        } else {
            &self.path
        };
        write!(f, "{}: {path}: {}", self.pos, self.message)
    }
}

/// Where faults are collected while a configuration is read.
#[derive(Debug, Default)]
pub(crate) struct Faults(pub(crate) Vec<ConfigError>);

impl Faults {
    pub(crate) fn add(&mut self, path: &str, pos: Pos, message: impl Into<String>) {
        self.0.push(ConfigError {
            path: path.to_string(),
            pos,
            message: message.into(),
        });
    }
}

/// Keys Kea accepts in every map and that carry no configuration.
const FREE_KEYS: [&str; 2] = ["comment", "user-context"];

/// An object being read: each key taken is marked, and `finish` reports the rest.
pub(crate) struct Obj<'a> {
    members: &'a [(Key, Spanned)],
    taken: Vec<bool>,
    pub(crate) path: String,
    pub(crate) pos: Pos,
}

impl<'a> Obj<'a> {
    /// Reads `value` as an object at `path`, or records that it is not one.
    pub(crate) fn new(value: &'a Spanned, path: &str, faults: &mut Faults) -> Option<Self> {
        match &value.value {
            Value::Object(members) => Some(Self {
                members,
                taken: vec![false; members.len()],
                path: path.to_string(),
                pos: value.pos,
            }),
            other => {
                faults.add(
                    path,
                    value.pos,
                    format!("expected an object, found {}", other.kind()),
                );
                None
            }
        }
    }

    /// The JSON path of a member.
    pub(crate) fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Where the value of `key` starts, or the object itself when the key is absent.
    pub(crate) fn pos_of(&self, key: &str) -> Pos {
        self.members
            .iter()
            .find(|(k, _)| k.name == key)
            .map_or(self.pos, |(_, v)| v.pos)
    }

    /// True when the object has `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.members.iter().any(|(k, _)| k.name == key)
    }

    /// Takes a member's value; a key given twice is a fault, as in Kea 2.2.
    pub(crate) fn take(&mut self, key: &str, faults: &mut Faults) -> Option<(&'a Spanned, String)> {
        let mut found = None;
        for (i, (k, v)) in self.members.iter().enumerate() {
            if k.name == key {
                if found.is_some() {
                    faults.add(&self.child(key), k.pos, "key given twice");
                }
                self.taken[i] = true;
                found = Some(v);
            }
        }
        found.map(|v| (v, self.child(key)))
    }

    /// Reports every member not taken: `unsupported` names Kea keys this reader knows but does
    /// not implement, with the reason; anything else is unknown.
    pub(crate) fn finish(self, unsupported: &[(&str, &str)], faults: &mut Faults) {
        for (i, (k, _)) in self.members.iter().enumerate() {
            if self.taken[i] || FREE_KEYS.contains(&k.name.as_str()) {
                continue;
            }
            let path = self.child(&k.name);
            match unsupported.iter().find(|(name, _)| *name == k.name) {
                Some((_, why)) => {
                    faults.add(&path, k.pos, format!("not supported by dhcplab: {why}"))
                }
                None => faults.add(&path, k.pos, "unknown key"),
            }
        }
    }

    pub(crate) fn string(&mut self, key: &str, faults: &mut Faults) -> Option<String> {
        let (v, path) = self.take(key, faults)?;
        as_string(v, &path, faults)
    }

    pub(crate) fn bool(&mut self, key: &str, faults: &mut Faults) -> Option<bool> {
        let (v, path) = self.take(key, faults)?;
        match v.value {
            Value::Bool(b) => Some(b),
            ref other => {
                faults.add(
                    &path,
                    v.pos,
                    format!("expected a boolean, found {}", other.kind()),
                );
                None
            }
        }
    }

    /// An unsigned integer in `range`.
    pub(crate) fn uint(
        &mut self,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
        faults: &mut Faults,
    ) -> Option<u64> {
        let (v, path) = self.take(key, faults)?;
        match v.value.as_u64() {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                let shown = match &v.value {
                    Value::Number(n) => n.clone(),
                    other => other.kind().to_string(),
                };
                faults.add(
                    &path,
                    v.pos,
                    format!(
                        "expected an integer from {} to {}, found {shown}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// A number in `range` (Kea's percentages).
    pub(crate) fn float(
        &mut self,
        key: &str,
        range: std::ops::RangeInclusive<f64>,
        faults: &mut Faults,
    ) -> Option<f64> {
        let (v, path) = self.take(key, faults)?;
        match v.value.as_f64() {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                faults.add(
                    &path,
                    v.pos,
                    format!(
                        "expected a number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// An array's items with their paths.
    pub(crate) fn array(&mut self, key: &str, faults: &mut Faults) -> Vec<(&'a Spanned, String)> {
        let Some((v, path)) = self.take(key, faults) else {
            return Vec::new();
        };
        match &v.value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (item, format!("{path}[{i}]")))
                .collect(),
            other => {
                faults.add(
                    &path,
                    v.pos,
                    format!("expected an array, found {}", other.kind()),
                );
                Vec::new()
            }
        }
    }
}

/// Reads a value as a string, or records that it is not one.
pub(crate) fn as_string(v: &Spanned, path: &str, faults: &mut Faults) -> Option<String> {
    match &v.value {
        Value::String(s) => Some(s.clone()),
        other => {
            faults.add(
                path,
                v.pos,
                format!("expected a string, found {}", other.kind()),
            );
            None
        }
    }
}
