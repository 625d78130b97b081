//! Hooks libraries: the chain of libraries `hooks-libraries` lists, called in that order at
//! Kea's hook points, and the built-in ones.
//!
//! As in Kea 2.2 every callout of a hook point runs, whatever the ones before decided, and the
//! status the last one leaves is what the server does; a callout's failure is logged and its
//! status stands. Loading native code is the driver's business ([`Loader`]): the core only
//! calls what it is given.
//!
//! Built in, by Kea's file names (the directory does not matter):
//! - `libdhcp_run_script.so`: runs the script `name` with the hook point's name as `$1` and
//!   Kea's variables as its only environment ([`crate::Action::RunScript`]), at lease4_renew,
//!   lease4_expire, lease4_recover, leases4_committed, lease4_release and lease4_decline (and
//!   in the DHCPv6 server at their lease6 counterparts and lease6_rebind, each family giving
//!   its variables through [`CallArgs::env`]). As in Kea, it does not run when a library
//!   before it set SKIP or DROP, and `sync` is read but Kea never waits for the script.
//!
//! The chain is family-neutral: a hook point call hands the libraries a [`CallArgs`] (the
//! DHCPv4 server's `Args`, or the DHCPv6 server's), so `dhcplab-server6` uses it as it is.
//! - `libdhcp_ha.so`: high availability ([`crate::ha`]), with its `high-availability`
//!   parameters. Wherever it is listed, its query filter runs after every library's
//!   buffer4_receive callouts (once the packet is parsed) and its lease updates after every
//!   library's leases4_committed callouts (Kea calls it in configuration order).
//! - `libdhcp_lease_cmds.so`, `libdhcp_stat_cmds.so`, `libdhcp_bootp.so`: accepted and inert;
//!   the lease and statistics commands and BOOTP are always there.
//!
//! Deliberate differences from Kea 2.2:
//! - a reload whose libraries do not load is refused and the libraries in force are loaded
//!   again (with dhcp4_srv_configured); kea-dhcp4 2.2.0 refuses it too but goes on without
//!   any library;
//! - a Rust callout that panics sets DROP (the helper crate's doing); Kea only logs a
//!   callout that throws and keeps its status.
//!
//! Removing `hooks-libraries` unloads the libraries, as kea-dhcp4 2.2.0 does, though Kea's
//! documentation says the removal is ignored.

use crate::config::Subnet;
use dhcplab_hooks::Call;
pub use dhcplab_hooks::{HookPoint, Library, Loader, NextStep};
use dhcplab_kea_config::dhcp4::HookLibrary;
use dhcplab_memfile::{Lease4, STATE_DECLINED, STATE_EXPIRED_RECLAIMED};
use dhcplab_wire::v4::{Hex, Message, MessageType, code};
use serde_json::Value;
use std::ffi::CString;
use std::net::SocketAddrV4;

/// A loader that loads no native code: a configuration that lists a native library is
/// refused. For drivers and tests without hooks; run-script scripts are taken as given.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoNativeLibraries;

impl Loader for NoNativeLibraries {
    fn load(
        &mut self,
        library: &str,
        _parameters: &Value,
        _index: u32,
    ) -> Result<Box<dyn Library>, String> {
        Err(format!(
            "{library}: this server was started without a native library loader"
        ))
    }

    fn check_script(&mut self, _path: &str) -> Result<(), String> {
        Ok(())
    }
}

/// The run-script hook, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunScript {
    /// `name`: the script.
    name: String,
}

impl RunScript {
    /// Kea's run_script hook handles these hook points.
    const POINTS: [HookPoint; 13] = [
        HookPoint::Lease4Renew,
        HookPoint::Lease4Expire,
        HookPoint::Lease4Recover,
        HookPoint::Leases4Committed,
        HookPoint::Lease4Release,
        HookPoint::Lease4Decline,
        HookPoint::Lease6Renew,
        HookPoint::Lease6Rebind,
        HookPoint::Lease6Expire,
        HookPoint::Lease6Recover,
        HookPoint::Leases6Committed,
        HookPoint::Lease6Release,
        HookPoint::Lease6Decline,
    ];

    fn configure(parameters: &Value) -> Result<Self, String> {
        let name = match parameters.get("name") {
            Some(Value::String(n)) => n.clone(),
            Some(_) => return Err("the 'name' parameter must be a string".into()),
            None => return Err("the 'name' parameter is mandatory".into()),
        };
        // Kea reads `sync` and never waits for the script all the same.
        if parameters.get("sync").is_some_and(|v| !v.is_boolean()) {
            return Err("the 'sync' parameter must be a boolean".into());
        }
        Ok(Self { name })
    }
}

/// One library of the chain.
#[derive(Debug)]
enum Link {
    Native(Box<dyn Library>),
    RunScript(RunScript),
    /// A Kea library whose work the server does anyway.
    Inert,
}

impl Link {
    fn serves(&self, point: HookPoint) -> bool {
        match self {
            Link::Native(l) => l.implements(point),
            Link::RunScript(_) => RunScript::POINTS.contains(&point),
            Link::Inert => false,
        }
    }
}

/// Why a configuration's libraries cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}: {path} ({library}): {why}", pos.line, pos.column)]
pub struct HookError {
    /// The entry's JSON path.
    pub path: String,
    /// Where the entry is in the configuration's text.
    pub pos: dhcplab_kea_config::json::Pos,
    /// The library as configured.
    pub library: String,
    /// What went wrong.
    pub why: String,
}

/// Checks `libraries` as the server loads them, with a loader that checks rather than runs
/// (`dhcplab server -t`): built-in names and parameters, refused Kea libraries, and what
/// `loader` checks of the others.
pub fn check(libraries: &[HookLibrary], loader: &mut dyn Loader) -> Result<(), HookError> {
    Chain::load(libraries, loader).map(drop)
}

/// The libraries in force, in configuration order.
#[derive(Debug, Default)]
pub struct Chain {
    links: Vec<Link>,
    /// By [`HookPoint::index`]: some library serves the hook point.
    served: [bool; HookPoint::ALL.len()],
    /// Hook point calls made so far.
    sequence: u64,
    /// The HA configuration, when `libdhcp_ha.so` is listed.
    pub ha: Option<dhcplab_ha::HaConfig>,
}

/// A script to run: what the run-script hook asks of the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The program (the hook's `name`).
    pub program: String,
    /// Its arguments: the hook point's name.
    pub args: Vec<String>,
    /// Its whole environment, in Kea's order.
    pub env: Vec<(String, String)>,
}

/// What the callouts of one hook point call decided.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The status the last callout left.
    pub next_step: NextStep,
    /// A user context a library set on the lease.
    pub lease_context: Option<String>,
    /// Scripts the run-script hook asks to run.
    pub scripts: Vec<Script>,
}

/// Kea's names of the library files whose work the server does without them.
const INERT: [&str; 3] = [
    "libdhcp_lease_cmds.so",
    "libdhcp_stat_cmds.so",
    "libdhcp_bootp.so",
];

/// Kea libraries the server cannot stand in for, and why.
const REFUSED: [(&str, &str); 3] = [
    (
        "libdhcp_flex_option.so",
        "flexible options are not implemented",
    ),
    (
        "libdhcp_mysql_cb.so",
        "configuration backends are not implemented",
    ),
    (
        "libdhcp_pgsql_cb.so",
        "configuration backends are not implemented",
    ),
];

impl Chain {
    /// Loads `libraries` in order. On a failure the ones already loaded are unloaded again
    /// (last first) and the failure is the answer.
    pub fn load(libraries: &[HookLibrary], loader: &mut dyn Loader) -> Result<Self, HookError> {
        let mut chain = Chain::default();
        for (index, lib) in libraries.iter().enumerate() {
            let fail = |why: String| HookError {
                path: lib.path.clone(),
                pos: lib.pos,
                library: lib.library.clone(),
                why,
            };
            let file = lib.library.rsplit('/').next().unwrap_or(&lib.library);
            let link = if file == "libdhcp_run_script.so" {
                RunScript::configure(&lib.parameters)
                    .and_then(|r| loader.check_script(&r.name).map(|()| r))
                    .map(Link::RunScript)
                    .map_err(fail)
            } else if file == dhcplab_ha::LIBRARY {
                if chain.ha.is_some() {
                    Err(fail("libdhcp_ha.so is listed twice".into()))
                } else {
                    dhcplab_ha::HaConfig::parse(&lib.parameters)
                        .map(|c| {
                            chain.ha = Some(c);
                            Link::Inert
                        })
                        .map_err(|e| {
                            fail(format!(
                                "failed to configure High Availability hooks library: {e}"
                            ))
                        })
                }
            } else if INERT.contains(&file) {
                Ok(Link::Inert)
            } else if let Some((_, why)) = REFUSED.iter().find(|(f, _)| *f == file) {
                Err(fail((*why).to_string()))
            } else {
                let index = u32::try_from(index).unwrap_or(u32::MAX);
                loader
                    .load(&lib.library, &lib.parameters, index)
                    .map(Link::Native)
                    .map_err(fail)
            };
            match link {
                Ok(l) => {
                    for p in HookPoint::ALL.into_iter().filter(|p| l.serves(*p)) {
                        chain.served[p.index()] = true;
                    }
                    chain.links.push(l);
                }
                Err(e) => {
                    chain.unload();
                    return Err(e);
                }
            }
        }
        Ok(chain)
    }

    /// Unloads every library, last first (Kea's order).
    pub fn unload(&mut self) {
        while let Some(link) = self.links.pop() {
            drop(link);
        }
        self.served = Default::default();
        self.ha = None;
    }

    /// True when some library serves `point`: the arguments need building.
    pub fn present(&self, point: HookPoint) -> bool {
        self.served[point.index()]
    }

    /// Calls every library that serves `point`, in order, with `args`.
    pub fn call(&mut self, point: HookPoint, args: &dyn CallArgs) -> Outcome {
        let mut out = Outcome::default();
        if !self.present(point) {
            return out;
        }
        self.sequence += 1;
        let native = self
            .links
            .iter()
            .any(|l| matches!(l, Link::Native(n) if n.implements(point)));
        // Built for native libraries only (run-script reads the arguments itself). JSON
        // escapes every control character: the text holds no NUL.
        let (arguments, response) = if native {
            let text = CString::new(args.json()).unwrap_or_default();
            (text, args.response_bytes())
        } else {
            (CString::default(), std::borrow::Cow::Borrowed(&[][..]))
        };
        for link in &mut self.links {
            match link {
                Link::Native(lib) if lib.implements(point) => {
                    let mut call = Call {
                        point,
                        sequence: self.sequence,
                        query: args.query_bytes(),
                        response: &response,
                        arguments: &arguments,
                        next_step: out.next_step,
                        lease_context: None,
                    };
                    if let Err(e) = lib.call(&mut call) {
                        tracing::error!(
                            library = lib.name(),
                            hook = point.name(),
                            "callout failed: {e}"
                        );
                    }
                    out.next_step = call.next_step;
                    if call.lease_context.is_some() {
                        out.lease_context = call.lease_context;
                    }
                }
                // Kea's run_script callouts return at once after a SKIP or DROP.
                Link::RunScript(r)
                    if RunScript::POINTS.contains(&point)
                        && !matches!(out.next_step, NextStep::Skip | NextStep::Drop) =>
                {
                    out.scripts.push(Script {
                        program: r.name.clone(),
                        args: vec![point.name().to_string()],
                        env: args.env(point),
                    });
                }
                _ => {}
            }
        }
        out
    }
}

/// What one hook point call hands the libraries, whatever the family: the packets as bytes,
/// the other arguments as JSON with Kea's names, and run-script's variables.
pub trait CallArgs {
    /// The client's message as received, or empty.
    fn query_bytes(&self) -> &[u8];
    /// The answer's bytes as they stand, or empty.
    fn response_bytes(&self) -> std::borrow::Cow<'_, [u8]>;
    /// The arguments other than the packets, as JSON text with Kea's names.
    fn json(&self) -> String;
    /// Kea's run_script variables for `point`, in its order.
    fn env(&self, point: HookPoint) -> Vec<(String, String)>;
}

/// A query as the hooks see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    pub raw: &'a [u8],
    pub msg: Option<&'a Message>,
    /// Where it came from and where it went.
    pub remote: SocketAddrV4,
    pub local: SocketAddrV4,
    pub interface: (u32, &'a str),
}

/// A hook point's arguments, named as Kea names them.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Args<'a> {
    pub query: Option<Query<'a>>,
    pub response: Option<&'a Message>,
    /// Bytes of the response when it is already packed (buffer4_send).
    pub packed: Option<&'a [u8]>,
    pub subnet: Option<&'a Subnet>,
    pub lease: Option<&'a Lease4>,
    pub leases: Option<&'a [Lease4]>,
    pub deleted: Option<&'a [Lease4]>,
    pub fake_allocation: Option<bool>,
    pub remove_lease: Option<bool>,
    /// lease4_renew's `clientid` (sent only with `match-client-id`) and `hwaddr`.
    pub renew_ids: Option<(&'a [u8], &'a [u8])>,
    /// command_processed: name, arguments, response.
    pub command: Option<(&'a str, &'a Value, &'a Value)>,
    /// dhcp4_srv_configured: the configuration.
    pub json_config: Option<&'a Value>,
}

impl CallArgs for Args<'_> {
    fn query_bytes(&self) -> &[u8] {
        self.query.map_or(&[], |q| q.raw)
    }

    fn response_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match (self.packed, self.response) {
            (Some(p), _) => std::borrow::Cow::Borrowed(p),
            (None, Some(r)) => std::borrow::Cow::Owned(r.encode()),
            (None, None) => std::borrow::Cow::Borrowed(&[]),
        }
    }

    /// The arguments other than the packets, as JSON text with Kea's names (written out
    /// directly: it is built at every hook point call).
    fn json(&self) -> String {
        let mut o = JsonObject::default();
        if let Some(s) = self.subnet {
            o.field(
                "subnet4",
                &format!(r#"{{"id":{},"subnet":"{}"}}"#, s.id, prefix_text(s)),
            );
        }
        if let Some(l) = self.lease {
            o.field("lease4", &lease_text(l));
        }
        for (name, list) in [("leases4", self.leases), ("deleted_leases4", self.deleted)] {
            if let Some(ls) = list {
                let items: Vec<String> = ls.iter().map(lease_text).collect();
                o.field(name, &format!("[{}]", items.join(",")));
            }
        }
        if let Some(f) = self.fake_allocation {
            o.field("fake_allocation", if f { "true" } else { "false" });
        }
        if let Some(r) = self.remove_lease {
            o.field("remove_lease", if r { "true" } else { "false" });
        }
        if let Some((client_id, hwaddr)) = self.renew_ids {
            o.field("clientid", &format!(r#""{}""#, hex(client_id)));
            o.field("hwaddr", &format!(r#""{}""#, hex(hwaddr)));
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

    /// Kea's run_script variables for `point`, in its order.
    fn env(&self, point: HookPoint) -> Vec<(String, String)> {
        let mut env = Vec::new();
        match point {
            HookPoint::Lease4Renew => {
                self.query_env(&mut env);
                let s = self.subnet;
                push(&mut env, "SUBNET4_ID", s.map(|s| s.id.to_string()));
                push(&mut env, "SUBNET4_NAME", s.map(prefix_text));
                push(
                    &mut env,
                    "SUBNET4_PREFIX",
                    s.map(|s| s.prefix.network.to_string()),
                );
                push(
                    &mut env,
                    "SUBNET4_PREFIX_LEN",
                    s.map(|s| s.prefix.len.to_string()),
                );
                let (client_id, hwaddr) = self.renew_ids.unwrap_or_default();
                push(
                    &mut env,
                    "PKT4_CLIENT_ID",
                    (!client_id.is_empty()).then(|| hex(client_id)),
                );
                let hw = (!hwaddr.is_empty()).then_some(hwaddr);
                push(&mut env, "PKT4_HWADDR", hw.map(hex));
                let htype = self.query.and_then(|q| q.msg).map(|m| m.htype);
                push(
                    &mut env,
                    "PKT4_HWADDR_TYPE",
                    hw.and(htype).map(|t| t.to_string()),
                );
                lease_env(&mut env, "LEASE4", self.lease);
            }
            HookPoint::Lease4Expire => {
                lease_env(&mut env, "LEASE4", self.lease);
                push(
                    &mut env,
                    "REMOVE_LEASE",
                    Some(self.remove_lease.unwrap_or(false).to_string()),
                );
            }
            HookPoint::Lease4Recover => lease_env(&mut env, "LEASE4", self.lease),
            HookPoint::Leases4Committed => {
                self.query_env(&mut env);
                leases_env(&mut env, "LEASES4", self.leases, lease_env);
                leases_env(&mut env, "DELETED_LEASES4", self.deleted, lease_env);
            }
            HookPoint::Lease4Release | HookPoint::Lease4Decline => {
                self.query_env(&mut env);
                lease_env(&mut env, "LEASE4", self.lease);
            }
            _ => {}
        }
        env
    }
}

impl Args<'_> {
    /// Kea's `extractPkt4` with prefix QUERY4.
    fn query_env(&self, env: &mut Vec<(String, String)>) {
        let q = self.query;
        let m = q.and_then(|q| q.msg);
        let v = |f: &dyn Fn(&Query<'_>, &Message) -> String| q.zip(m).map(|(q, m)| f(&q, m));
        let kind = |m: &Message| match m.message_type().ok().flatten() {
            Some(k) => type_name(k).to_string(),
            None => "UNKNOWN".to_string(),
        };
        push(env, "QUERY4_TYPE", v(&|_, m| kind(m)));
        push(env, "QUERY4_TXID", v(&|_, m| m.xid.to_string()));
        push(
            env,
            "QUERY4_LOCAL_ADDR",
            v(&|q, _| q.local.ip().to_string()),
        );
        push(
            env,
            "QUERY4_LOCAL_PORT",
            v(&|q, _| q.local.port().to_string()),
        );
        push(
            env,
            "QUERY4_REMOTE_ADDR",
            v(&|q, _| q.remote.ip().to_string()),
        );
        push(
            env,
            "QUERY4_REMOTE_PORT",
            v(&|q, _| q.remote.port().to_string()),
        );
        push(
            env,
            "QUERY4_IFACE_INDEX",
            v(&|q, _| q.interface.0.to_string()),
        );
        push(
            env,
            "QUERY4_IFACE_NAME",
            v(&|q, _| q.interface.1.to_string()),
        );
        push(env, "QUERY4_HOPS", v(&|_, m| m.hops.to_string()));
        push(env, "QUERY4_SECS", v(&|_, m| m.secs.to_string()));
        push(env, "QUERY4_FLAGS", v(&|_, m| m.flags.to_string()));
        push(env, "QUERY4_CIADDR", v(&|_, m| m.ciaddr.to_string()));
        push(env, "QUERY4_SIADDR", v(&|_, m| m.siaddr.to_string()));
        push(env, "QUERY4_YIADDR", v(&|_, m| m.yiaddr.to_string()));
        push(env, "QUERY4_GIADDR", v(&|_, m| m.giaddr.to_string()));
        push(
            env,
            "QUERY4_RELAYED",
            v(&|_, m| (!m.giaddr.is_unspecified()).to_string()),
        );
        push(env, "QUERY4_HWADDR", v(&|_, m| hex(m.hardware_address())));
        push(env, "QUERY4_HWADDR_TYPE", v(&|_, m| m.htype.to_string()));
        // The link addresses of the frame: the core sees datagrams only, as Kea does with
        // UDP sockets; Kea fills these from the raw socket's frame.
        push(env, "QUERY4_LOCAL_HWADDR", None);
        push(env, "QUERY4_LOCAL_HWADDR_TYPE", None);
        push(env, "QUERY4_REMOTE_HWADDR", None);
        push(env, "QUERY4_REMOTE_HWADDR_TYPE", None);
        if let Some(rai) = m.and_then(|m| m.option(code::RELAY_AGENT_INFO)) {
            push(env, "QUERY4_OPTION_82", Some(upper_hex(&rai.data)));
            let subs = m.and_then(|m| m.relay_agent_info().ok().flatten());
            for sub in subs.iter().flatten().filter(|s| s.code == 1 || s.code == 2) {
                push(
                    env,
                    &format!("QUERY4_OPTION_82_SUB_OPTION_{}", sub.code),
                    Some(upper_hex(&sub.data)),
                );
            }
        }
    }
}

/// Kea's `extractLeases4` and `extractLeases6`: `NAME_SIZE`, then each lease with prefix
/// `NAME_AT<i>` (`one` writes one lease's variables).
pub fn leases_env<L>(
    env: &mut Vec<(String, String)>,
    name: &str,
    list: Option<&[L]>,
    one: impl Fn(&mut Vec<(String, String)>, &str, Option<&L>),
) {
    let list = list.unwrap_or_default();
    push(env, &format!("{name}_SIZE"), Some(list.len().to_string()));
    for (i, l) in list.iter().enumerate() {
        one(env, &format!("{name}_AT{i}"), Some(l));
    }
}

/// Kea's order of callouts when it reclaims a lease (`reclaimExpiredLease`,
/// `reclaimDeclined`): the expire hook point (`call(false)`), whose SKIP means the callout
/// reclaimed the lease and the server leaves it (`None`); then, for a declined lease, the
/// recover hook point (`call(true)`), whose SKIP keeps the lease reclaimed rather than
/// deleted. `Some(recovered)` otherwise.
pub fn reclaim_steps(declined: bool, mut call: impl FnMut(bool) -> NextStep) -> Option<bool> {
    if call(false) == NextStep::Skip {
        return None;
    }
    if !declined {
        return Some(false);
    }
    Some(call(true) != NextStep::Skip)
}

/// Appends run-script variable `name`, empty when `value` is `None` (Kea's empty variables).
pub fn push(env: &mut Vec<(String, String)>, name: &str, value: Option<String>) {
    env.push((name.to_string(), value.unwrap_or_default()));
}

/// Kea's `extractLease4` with `prefix`.
fn lease_env(env: &mut Vec<(String, String)>, prefix: &str, lease: Option<&Lease4>) {
    let l = lease;
    push(
        env,
        &format!("{prefix}_ADDRESS"),
        l.map(|l| l.address.to_string()),
    );
    push(
        env,
        &format!("{prefix}_CLTT"),
        l.map(|l| l.cltt().to_string()),
    );
    push(
        env,
        &format!("{prefix}_HOSTNAME"),
        l.map(|l| l.hostname.clone()),
    );
    let hw = l.filter(|l| !l.hwaddr.is_empty());
    push(env, &format!("{prefix}_HWADDR"), hw.map(|l| hex(&l.hwaddr)));
    // A lease keeps no hardware type (nor does Kea's lease file, read back as Ethernet).
    push(
        env,
        &format!("{prefix}_HWADDR_TYPE"),
        hw.map(|_| "1".to_string()),
    );
    push(
        env,
        &format!("{prefix}_STATE"),
        l.map(|l| state_name(l.state)),
    );
    push(
        env,
        &format!("{prefix}_SUBNET_ID"),
        l.map(|l| l.subnet_id.to_string()),
    );
    push(
        env,
        &format!("{prefix}_VALID_LIFETIME"),
        l.map(|l| l.valid_lifetime.to_string()),
    );
    push(
        env,
        &format!("{prefix}_CLIENT_ID"),
        l.filter(|l| !l.client_id.is_empty())
            .map(|l| hex(&l.client_id)),
    );
}

/// Kea's `Lease::statesToText`.
pub fn state_name(state: u32) -> String {
    match state {
        0 => "default".into(),
        STATE_DECLINED => "declined".into(),
        STATE_EXPIRED_RECLAIMED => "expired-reclaimed".into(),
        n => format!("unknown ({n})"),
    }
}

/// Kea's `Pkt4::getName`.
fn type_name(k: MessageType) -> &'static str {
    match k {
        MessageType::Discover => "DHCPDISCOVER",
        MessageType::Offer => "DHCPOFFER",
        MessageType::Request => "DHCPREQUEST",
        MessageType::Decline => "DHCPDECLINE",
        MessageType::Ack => "DHCPACK",
        MessageType::Nak => "DHCPNAK",
        MessageType::Release => "DHCPRELEASE",
        MessageType::Inform => "DHCPINFORM",
        _ => "UNKNOWN",
    }
}

/// Lower-case colon-separated hex, as Kea writes link addresses and client identifiers.
pub fn hex(b: &[u8]) -> String {
    Hex(b).to_string()
}

/// An option's data as Kea's `Option::toHexString` writes it for run-script (without the
/// code and length): `0x` and upper-case hex.
fn upper_hex(data: &[u8]) -> String {
    let digits: String = data.iter().map(|x| format!("{x:02X}")).collect();
    format!("0x{digits}")
}

/// A subnet's prefix as Kea writes it: `192.0.2.0/24`.
fn prefix_text(s: &Subnet) -> String {
    format!("{}/{}", s.prefix.network, s.prefix.len)
}

/// A JSON object written field by field.
#[derive(Default)]
pub struct JsonObject(String);

impl JsonObject {
    /// Adds `key` (plain text, no escaping needed) with the JSON text `value`.
    pub fn field(&mut self, key: &str, value: &str) {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        self.0.push('"');
        self.0.push_str(key);
        self.0.push_str("\":");
        self.0.push_str(value);
    }

    /// The object's text.
    pub fn finish(mut self) -> String {
        if self.0.is_empty() {
            self.0.push('{');
        }
        self.0.push('}');
        self.0
    }
}

/// A lease as JSON text, with the fields of Kea's `lease4-get` ([`lease_json`]).
fn lease_text(l: &Lease4) -> String {
    let mut o = JsonObject::default();
    o.field("ip-address", &format!(r#""{}""#, l.address));
    o.field("hw-address", &format!(r#""{}""#, hex(&l.hwaddr)));
    o.field("valid-lft", &l.valid_lifetime.to_string());
    o.field("cltt", &l.cltt().to_string());
    o.field("subnet-id", &l.subnet_id.to_string());
    o.field("fqdn-fwd", if l.fqdn_fwd { "true" } else { "false" });
    o.field("fqdn-rev", if l.fqdn_rev { "true" } else { "false" });
    o.field("hostname", &Value::from(l.hostname.as_str()).to_string());
    o.field("state", &l.state.to_string());
    if !l.client_id.is_empty() {
        o.field("client-id", &format!(r#""{}""#, hex(&l.client_id)));
    }
    if let Some(c) = l.user_context.as_deref() {
        if let Ok(v) = serde_json::from_str::<Value>(c) {
            o.field("user-context", &v.to_string());
        }
    }
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn lease_text_is_the_json_of_lease4_get() {
        let mut l = Lease4 {
            address: Ipv4Addr::new(192, 0, 2, 100),
            hwaddr: vec![2, 0, 0x5e, 0, 0x53, 0xab],
            client_id: vec![1, 2, 0, 0x5e, 0, 0x53, 0xab],
            valid_lifetime: 3600,
            expire: 1_800_003_600,
            subnet_id: 7,
            fqdn_fwd: true,
            fqdn_rev: false,
            hostname: "a \"quoted\"\nname\u{0}".into(),
            state: 0,
            user_context: Some(r#"{"tag": ["x", 1]}"#.into()),
        };
        let parsed: Value = serde_json::from_str(&lease_text(&l)).expect("JSON");
        assert_eq!(parsed, crate::control::lease_json(&l));
        l.client_id.clear();
        l.user_context = None;
        let parsed: Value = serde_json::from_str(&lease_text(&l)).expect("JSON");
        assert_eq!(parsed, crate::control::lease_json(&l));
        assert!(!lease_text(&l).contains('\0'));
    }

    #[test]
    fn an_empty_object_is_written_whole() {
        assert_eq!(JsonObject::default().finish(), "{}");
        let mut o = JsonObject::default();
        o.field("a", "1");
        o.field("b", "[]");
        assert_eq!(o.finish(), r#"{"a":1,"b":[]}"#);
    }
}
