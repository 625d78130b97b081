//! The shapes of a scenario file as TOML gives them, each value with its span, before any
//! check beyond types and known keys.

use indexmap::IndexMap;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::{Spanned, Value};

/// A value with its place in the file.
pub(crate) type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    pub scenario: Option<Header>,
    pub check: Option<S<CheckTable>>,
    /// Read by [`crate::vary`]; its placeholders are already replaced here.
    #[allow(dead_code)]
    pub vary: Option<toml::Table>,
    #[serde(default)]
    pub host: Vec<S<Host>>,
    #[serde(default)]
    pub step: Vec<S<Step>>,
    #[serde(default)]
    pub differs: Vec<S<Differs>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Differs {
    pub stack: S<String>,
    pub step: S<i64>,
    pub saw: S<String>,
    pub why: S<String>,
    #[serde(default)]
    pub sometimes: bool,
}

/// `[check]`: a conformance check's reference, level and side under test.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckTable {
    pub reference: S<String>,
    pub level: S<String>,
    pub tests: S<String>,
    pub quote: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    pub description: Option<String>,
    pub seed: Option<S<i64>>,
    pub requires: Option<Vec<S<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Host {
    pub name: S<String>,
    pub role: S<String>,
    pub address: Option<S<String>>,
    pub mac: Option<S<String>>,
    pub config: Option<S<String>>,
    pub count: Option<S<Value>>,
    pub start: Option<S<Value>>,
    pub churn: Option<S<Churn>>,
    pub link: Option<S<Link>>,
    pub probe: Option<S<bool>>,
    pub bootp: Option<S<bool>>,
    pub client_id: Option<S<String>>,
    pub hostname: Option<S<String>>,
    pub offer_wait: Option<S<Value>>,
    pub clock: Option<S<String>>,
    pub family: Option<S<String>>,
    pub ia_na: Option<S<i64>>,
    pub ia_pd: Option<S<i64>>,
    pub rapid_commit: Option<S<bool>>,
    pub information_only: Option<S<bool>>,
    pub duid: Option<S<String>>,
    pub request: Option<S<Vec<S<i64>>>>,
    pub segment: Option<S<String>>,
    pub segments: Option<S<Vec<S<String>>>>,
    pub upstream: Option<S<String>>,
    pub link_address: Option<S<String>>,
    pub interface_id: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Churn {
    pub up: S<Value>,
    pub down: S<Value>,
    pub leave: Option<S<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Link {
    pub loss: Option<S<Value>>,
    pub delay: Option<S<Value>>,
    pub jitter: Option<S<Value>>,
    pub duplicate: Option<S<Value>>,
    pub reorder: Option<S<Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Step {
    pub at: Option<S<Value>>,
    pub after: Option<S<Value>>,
    #[serde(rename = "do")]
    pub act: Option<S<String>>,
    pub expect: Option<S<String>>,
    pub note: Option<String>,
    pub host: Option<S<String>>,
    pub hosts: Option<S<Vec<S<String>>>>,
    pub from: Option<S<String>>,
    pub to: Option<S<String>>,
    #[serde(rename = "type")]
    pub kind: Option<S<String>>,
    pub within: Option<S<Value>>,
    pub not_before: Option<S<Value>>,
    pub fields: Option<BTreeMap<String, S<Value>>>,
    pub options: Option<BTreeMap<String, S<Value>>>,
    pub capture: Option<BTreeMap<String, S<String>>>,
    pub events: Option<S<Vec<S<String>>>>,
    pub state: Option<S<String>>,
    pub address: Option<S<String>>,
    pub prefix: Option<S<String>>,
    pub not_address: Option<S<String>>,
    pub count: Option<S<Value>>,
    pub config: Option<S<String>>,
    pub link: Option<S<Link>>,
    pub message: Option<S<Message>>,
    pub src: Option<S<String>>,
    pub dst: Option<S<String>>,
    pub optional: Option<S<bool>>,
    pub calls: Option<S<Vec<S<String>>>>,
    pub runs: Option<S<Vec<S<Value>>>>,
    pub refused: Option<S<bool>>,
    pub command: Option<S<String>>,
    pub result: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Message {
    #[serde(rename = "type")]
    pub kind: Option<S<String>>,
    pub op: Option<S<i64>>,
    pub htype: Option<S<i64>>,
    pub hlen: Option<S<i64>>,
    pub hops: Option<S<i64>>,
    pub xid: Option<S<Value>>,
    pub secs: Option<S<i64>>,
    pub flags: Option<S<i64>>,
    pub ciaddr: Option<S<String>>,
    pub yiaddr: Option<S<String>>,
    pub siaddr: Option<S<String>>,
    pub giaddr: Option<S<String>>,
    pub chaddr: Option<S<String>>,
    pub link_address: Option<S<String>>,
    pub peer_address: Option<S<String>>,
    /// In the file's order: a crafted message carries its options as written.
    pub options: Option<IndexMap<String, S<Value>>>,
    pub cookie: Option<S<String>>,
    pub raw_options: Option<Vec<S<RawOption>>>,
    pub end: Option<bool>,
    pub truncate: Option<S<i64>>,
    pub padding: Option<S<i64>>,
    pub payload: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOption {
    pub code: S<i64>,
    pub len: Option<S<i64>>,
    pub data: S<String>,
}
