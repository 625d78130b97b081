//! Hooks libraries at Kea's DHCPv6 hook points, through the v4 core's machinery
//! ([`dhcplab_server::hooks::Chain`]): the same libraries, loader and ABI (the packets as
//! bytes, the other arguments as JSON with Kea's names: `query6`, `response6`, `subnet6`,
//! `lease6`, `leases6`, `deleted_leases6`, `ia_na`/`ia_pd`, `fake_allocation`,
//! `remove_lease`, `json_config`), and the built-in run-script hook with Kea's DHCPv6
//! variables (`QUERY6_*`, `LEASE6_*`, `PKT6_IA_*`, `LEASES6_*`, `DELETED_LEASES6_*`). The HA
//! library serves DHCPv4 only: a DHCPv6 configuration that lists it is refused.

use crate::config::Subnet;
use crate::control::lease_json;
use crate::store::{Lease6, LeaseType};
pub use dhcplab_server::hooks::{
    CallArgs, Chain, HookError, HookPoint, Library, Loader, NextStep, NoNativeLibraries, Outcome,
    Script,
};
use dhcplab_server::hooks::{JsonObject, hex, leases_env, push, state_name};
use dhcplab_wire::v6::MessageType;
use serde_json::Value;
use std::net::SocketAddrV6;

/// A query as the hooks see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    /// The datagram as received (relay layers included).
    pub raw: &'a [u8],
    /// The client message's type and transaction id, once parsed.
    pub parsed: Option<(MessageType, u32)>,
    /// The client's DUID, when it sent one.
    pub duid: Option<&'a [u8]>,
    pub remote: SocketAddrV6,
    pub local: SocketAddrV6,
    pub interface: (u32, &'a str),
}

/// An IA of the query as `ia_na`/`ia_pd` show it: kind, IAID, T1, T2.
pub(crate) type IaArg = (LeaseType, u32, u32, u32);

/// A DHCPv6 hook point's arguments, named as Kea names them.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Args<'a> {
    pub query: Option<Query<'a>>,
    /// The answer's bytes (pkt6_send, buffer6_send).
    pub response: Option<&'a [u8]>,
    pub subnet: Option<&'a Subnet>,
    pub lease: Option<&'a Lease6>,
    pub leases: Option<&'a [Lease6]>,
    pub deleted: Option<&'a [Lease6]>,
    pub ia: Option<IaArg>,
    pub fake_allocation: Option<bool>,
    pub remove_lease: Option<bool>,
    /// command_processed: name, arguments, response.
    pub command: Option<(&'a str, &'a Value, &'a Value)>,
    /// dhcp6_srv_configured: the configuration.
    pub json_config: Option<&'a Value>,
}

fn flag(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

impl CallArgs for Args<'_> {
    fn query_bytes(&self) -> &[u8] {
        self.query.map_or(&[], |q| q.raw)
    }

    fn response_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(self.response.unwrap_or_default())
    }

    fn json(&self) -> String {
        let mut o = JsonObject::default();
        if let Some(s) = self.subnet {
            o.field(
                "subnet6",
                &format!(r#"{{"id":{},"subnet":"{}"}}"#, s.id, s.prefix),
            );
        }
        if let Some(l) = self.lease {
            o.field("lease6", &lease_json(l).to_string());
        }
        for (name, list) in [("leases6", self.leases), ("deleted_leases6", self.deleted)] {
            if let Some(ls) = list {
                let items: Vec<Value> = ls.iter().map(lease_json).collect();
                o.field(name, &Value::Array(items).to_string());
            }
        }
        if let Some((kind, iaid, t1, t2)) = self.ia {
            let name = if kind == LeaseType::Pd {
                "ia_pd"
            } else {
                "ia_na"
            };
            o.field(name, &format!(r#"{{"iaid":{iaid},"t1":{t1},"t2":{t2}}}"#));
        }
        if let Some(f) = self.fake_allocation {
            o.field("fake_allocation", flag(f));
        }
        if let Some(r) = self.remove_lease {
            o.field("remove_lease", flag(r));
        }
        if let Some(c) = self.json_config {
            o.field("json_config", &c.to_string());
        }
        if let Some((name, arguments, response)) = self.command {
            o.field("name", &Value::from(name).to_string());
            o.field("arguments", &arguments.to_string());
            o.field("response", &response.to_string());
        }
        o.finish()
    }

    /// Kea's run_script callouts (`run_script_callouts.cc`) for the DHCPv6 hook points.
    fn env(&self, point: HookPoint) -> Vec<(String, String)> {
        let mut env = Vec::new();
        match point {
            HookPoint::Lease6Renew | HookPoint::Lease6Rebind => {
                self.query_env(&mut env);
                lease_env(&mut env, "LEASE6", self.lease);
                let ia = self.ia;
                push(&mut env, "PKT6_IA_IAID", ia.map(|i| i.1.to_string()));
                push(
                    &mut env,
                    "PKT6_IA_IA_TYPE",
                    ia.map(|i| {
                        let code = if i.0 == LeaseType::Pd { 25 } else { 3 };
                        code.to_string()
                    }),
                );
                push(&mut env, "PKT6_IA_IA_T1", ia.map(|i| i.2.to_string()));
                push(&mut env, "PKT6_IA_IA_T2", ia.map(|i| i.3.to_string()));
            }
            HookPoint::Lease6Expire => {
                lease_env(&mut env, "LEASE6", self.lease);
                push(
                    &mut env,
                    "REMOVE_LEASE",
                    Some(self.remove_lease.unwrap_or(false).to_string()),
                );
            }
            HookPoint::Lease6Recover => lease_env(&mut env, "LEASE6", self.lease),
            HookPoint::Leases6Committed => {
                self.query_env(&mut env);
                leases_env(&mut env, "LEASES6", self.leases, lease_env);
                leases_env(&mut env, "DELETED_LEASES6", self.deleted, lease_env);
            }
            HookPoint::Lease6Release | HookPoint::Lease6Decline => {
                self.query_env(&mut env);
                lease_env(&mut env, "LEASE6", self.lease);
            }
            _ => {}
        }
        env
    }
}

impl Args<'_> {
    /// Kea's `extractPkt6` with prefix QUERY6.
    fn query_env(&self, env: &mut Vec<(String, String)>) {
        let q = self.query;
        let p = q.and_then(|q| q.parsed);
        push(env, "QUERY6_TYPE", p.map(|(t, _)| type_name(t).to_string()));
        push(env, "QUERY6_TXID", p.map(|(_, x)| x.to_string()));
        push(
            env,
            "QUERY6_LOCAL_ADDR",
            q.map(|q| q.local.ip().to_string()),
        );
        push(
            env,
            "QUERY6_LOCAL_PORT",
            q.map(|q| q.local.port().to_string()),
        );
        push(
            env,
            "QUERY6_REMOTE_ADDR",
            q.map(|q| q.remote.ip().to_string()),
        );
        push(
            env,
            "QUERY6_REMOTE_PORT",
            q.map(|q| q.remote.port().to_string()),
        );
        push(
            env,
            "QUERY6_IFACE_INDEX",
            q.map(|q| q.interface.0.to_string()),
        );
        push(
            env,
            "QUERY6_IFACE_NAME",
            q.map(|q| q.interface.1.to_string()),
        );
        // The frame's link address: the core sees datagrams only, as Kea's UDP sockets do.
        push(env, "QUERY6_REMOTE_HWADDR", None);
        push(env, "QUERY6_REMOTE_HWADDR_TYPE", None);
        push(env, "QUERY6_PROTO", q.map(|_| "UDP".to_string()));
        push(env, "QUERY6_CLIENT_ID", q.and_then(|q| q.duid).map(hex));
    }
}

/// Kea's `extractLease6` with `prefix`.
fn lease_env(env: &mut Vec<(String, String)>, prefix: &str, l: Option<&Lease6>) {
    let var = |n: &str| format!("{prefix}_{n}");
    push(env, &var("ADDRESS"), l.map(|l| l.address.to_string()));
    push(env, &var("CLTT"), l.map(|l| l.cltt().to_string()));
    push(env, &var("HOSTNAME"), l.map(|l| l.hostname.clone()));
    let hw = l.and_then(|l| l.hwaddr.as_ref());
    push(env, &var("HWADDR"), hw.map(|h| hex(&h.bytes)));
    push(env, &var("HWADDR_TYPE"), hw.map(|h| h.htype.to_string()));
    push(env, &var("STATE"), l.map(|l| state_name(l.state)));
    push(env, &var("SUBNET_ID"), l.map(|l| l.subnet_id.to_string()));
    push(
        env,
        &var("VALID_LIFETIME"),
        l.map(|l| l.valid_lifetime.to_string()),
    );
    push(env, &var("DUID"), l.map(|l| hex(&l.duid)));
    push(env, &var("IAID"), l.map(|l| l.iaid.to_string()));
    push(
        env,
        &var("PREFERRED_LIFETIME"),
        l.map(|l| l.preferred_lifetime.to_string()),
    );
    push(env, &var("PREFIX_LEN"), l.map(|l| l.prefix_len.to_string()));
    push(
        env,
        &var("TYPE"),
        l.map(|l| crate::control::type_name(l.lease_type).to_string()),
    );
}

/// Kea's `Pkt6::getName`.
fn type_name(t: MessageType) -> &'static str {
    match t {
        MessageType::SOLICIT => "SOLICIT",
        MessageType::ADVERTISE => "ADVERTISE",
        MessageType::REQUEST => "REQUEST",
        MessageType::CONFIRM => "CONFIRM",
        MessageType::RENEW => "RENEW",
        MessageType::REBIND => "REBIND",
        MessageType::REPLY => "REPLY",
        MessageType::RELEASE => "RELEASE",
        MessageType::DECLINE => "DECLINE",
        MessageType::RECONFIGURE => "RECONFIGURE",
        MessageType::INFORMATION_REQUEST => "INFORMATION_REQUEST",
        MessageType::RELAY_FORW => "RELAY_FORWARD",
        MessageType::RELAY_REPL => "RELAY_REPLY",
        _ => "UNKNOWN",
    }
}
