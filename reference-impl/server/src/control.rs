//! Control commands in Kea's JSON: `{"command": NAME, "arguments": {...}}` in,
//! `{"result": CODE, "text": ..., "arguments": ...}` out, with Kea's result codes (0 success,
//! 1 error, 2 unsupported, 3 empty) and answer texts. Every fault in a command is answered with
//! result 1 and a text that names the argument; nothing a client sends can stop the server,
//! except `shutdown`.

use crate::command::{
    self, Args, Bad, EMPTY, ERROR, SUCCESS, answer, answer_with, arguments_only, boolean, hex,
    sample, string, uint,
};
use crate::reclaim;
use crate::{Action, Server, epoch_secs};
use dhcplab_kea_config::dhcp4;
use dhcplab_memfile::Lease4;
use dhcplab_wire::v4::Hex;
use serde_json::{Map, Value, json};
use std::net::Ipv4Addr;
use std::time::SystemTime;

/// The commands the server answers, in `list-commands` order.
pub const COMMANDS: [&str; 20] = [
    "config-get",
    "config-reload",
    "config-set",
    "config-test",
    "dhcp-disable",
    "dhcp-enable",
    "lease4-add",
    "lease4-del",
    "lease4-get",
    "lease4-get-all",
    "lease4-get-page",
    "lease4-update",
    "lease4-wipe",
    "leases-reclaim",
    "list-commands",
    "shutdown",
    "statistic-get",
    "statistic-get-all",
    "status-get",
    "version-get",
];

/// The commands the HA library adds, in `list-commands` order.
pub const HA_COMMANDS: [&str; 9] = [
    "ha-continue",
    "ha-heartbeat",
    "ha-maintenance-cancel",
    "ha-maintenance-notify",
    "ha-maintenance-start",
    "ha-reset",
    "ha-scopes",
    "ha-sync",
    "ha-sync-complete-notify",
];

/// What a command asks of the driver besides its answer.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandOutcome {
    /// Send this answer.
    Answer(Value),
    /// `config-reload`: read the configuration file again and call [`Server::reload`], whose
    /// value is the answer.
    ReloadFromFile,
}

/// The answer's text for a configuration the server refused to take, with Kea's wording.
fn refusal(e: &crate::ServerError) -> String {
    match e {
        crate::ServerError::Hooks(h) => command::hooks_refusal(h),
        other => other.to_string(),
    }
}

fn address(args: Args<'_>, name: &str) -> Result<Option<Ipv4Addr>, Bad> {
    command::address(args, name, "IPv4", |a| match a {
        std::net::IpAddr::V4(a) => Some(a),
        _ => None,
    })
}

/// A lease as Kea's lease commands show it.
pub(crate) fn lease_json(l: &Lease4) -> Value {
    let mut v = json!({
        "ip-address": l.address.to_string(),
        "hw-address": Hex(&l.hwaddr).to_string(),
        "valid-lft": l.valid_lifetime,
        "cltt": l.cltt(),
        "subnet-id": l.subnet_id,
        "fqdn-fwd": l.fqdn_fwd,
        "fqdn-rev": l.fqdn_rev,
        "hostname": l.hostname,
        "state": l.state,
    });
    if !l.client_id.is_empty() {
        v["client-id"] = json!(Hex(&l.client_id).to_string());
    }
    if let Some(ctx) = l
        .user_context
        .as_deref()
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
    {
        v["user-context"] = ctx;
    }
    v
}

impl Server {
    /// Tells the server its process id, for `status-get`.
    pub fn set_process_id(&mut self, pid: u32) {
        self.pid = Some(pid);
    }

    /// Answers one control command (the text a client sent on the control socket).
    pub fn handle_command(&mut self, now: SystemTime, text: &str) -> CommandOutcome {
        let command = match crate::command::read(text) {
            Ok(c) => c,
            Err(answer) => return CommandOutcome::Answer(answer),
        };
        let name = command.name.as_str();
        let given = command.given.as_ref();
        let args = &command.args;
        if name == "config-reload" {
            return CommandOutcome::ReloadFromFile;
        }
        if let Some(ha) = self.ha.as_mut() {
            if let Some(response) = ha.handle_command(now, name, args) {
                self.drain_ha(now);
                self.command_processed(name, given, &response);
                return CommandOutcome::Answer(response);
            }
        }
        let result = match name {
            "list-commands" => {
                let mut names: Vec<&str> = COMMANDS.to_vec();
                if self.ha.is_some() {
                    names.extend(HA_COMMANDS.iter().filter(|c| **c != "ha-sync"));
                    names.sort_unstable();
                }
                Ok(arguments_only(json!(names)))
            }
            "dhcp-disable" => self.dhcp_disable(args, now),
            "dhcp-enable" => self.dhcp_enable(args),
            "lease4-update" => self.lease_update(args, now),
            "lease4-get-page" => self.lease_get_page(args),
            "version-get" => Ok(answer_with(
                SUCCESS,
                concat!("dhcplab ", env!("CARGO_PKG_VERSION")),
                json!({ "extended": "dhcplab reference DHCPv4 server (Kea 2.2 behaviour)" }),
            )),
            "lease4-get" if given.is_none() => {
                Err(Bad("Parameters missing or are not a map.".into()))
            }
            "lease4-get" => self.lease_get(args),
            "lease4-get-all" => self.lease_get_all(given.is_some(), args),
            "lease4-add" if args.is_empty() => {
                Err(Bad("no parameters specified for the command".into()))
            }
            "lease4-add" => self.lease_add(args, now),
            "lease4-del" => self.lease_del(args),
            "lease4-wipe" => self.lease_wipe(args),
            _ => command::fallback(self, now, &command),
        };
        CommandOutcome::Answer(command::respond(self, &command, result))
    }

    /// Calls the command_processed callouts with a command and its answer. The core calls it
    /// for the commands it answers; a driver calls it for `config-reload`, whose answer it
    /// makes with [`Server::reload`].
    pub fn command_processed(&mut self, name: &str, arguments: Option<&Value>, response: &Value) {
        let none = Value::Null;
        let args = crate::hooks::Args {
            command: Some((name, arguments.unwrap_or(&none), response)),
            ..crate::hooks::Args::default()
        };
        self.callout(crate::hooks::HookPoint::CommandProcessed, &args);
    }

    /// Applies a configuration file's text read again (`config-reload`, SIGHUP); the answer to
    /// send. A faulty file leaves the configuration in force as it was.
    pub fn reload(&mut self, now: SystemTime, text: &str) -> Value {
        command::reload(self, now, text)
    }

    fn status_arguments(&self, now: SystemTime) -> Value {
        let mut args = crate::command::status(now, self.started, self.reloaded, self.pid);
        if let Some(ha) = &self.ha {
            args["high-availability"] = ha.status(now);
        }
        args
    }

    /// dhcp-disable: by the HA partner (`origin` `ha-partner`) or an administrator, for
    /// `max-period` seconds when given.
    fn dhcp_disable(&mut self, args: Args<'_>, now: SystemTime) -> Result<Value, Bad> {
        let period = command::max_period(args)?;
        match command::origin(args)? {
            command::Origin::HaPartner => match self.ha.as_mut() {
                Some(ha) => ha.disable_by_partner(now, period),
                None => return Err(Bad("origin 'ha-partner' needs high availability".into())),
            },
            command::Origin::User => self.user_disabled.set(now, period),
        }
        Ok(answer(SUCCESS, "DHCPv4 service disabled."))
    }

    /// dhcp-enable: ends a dhcp-disable of the same origin.
    fn dhcp_enable(&mut self, args: Args<'_>) -> Result<Value, Bad> {
        match command::origin(args)? {
            command::Origin::HaPartner => {
                if let Some(ha) = self.ha.as_mut() {
                    ha.enable_by_partner();
                }
            }
            command::Origin::User => self.user_disabled.clear(),
        }
        Ok(answer(SUCCESS, command::ENABLED))
    }

    /// lease4-update: replaces the lease of `ip-address`; with `force-create` (the HA
    /// partner's updates) a lease that does not exist is added.
    fn lease_update(&mut self, args: Args<'_>, now: SystemTime) -> Result<Value, Bad> {
        let lease = self.lease_from_args(args, now)?;
        let address = lease.address;
        if !self.leases.contains(address) && boolean(args, "force-create")? != Some(true) {
            return Ok(answer(
                ERROR,
                format!("failed to update the lease with address {address} - no such lease"),
            ));
        }
        self.commit(lease).map_err(|e| Bad(e.to_string()))?;
        Ok(answer(SUCCESS, "IPv4 lease updated."))
    }

    /// lease4-get-page: up to `limit` leases after the address `from` (`start`: from the
    /// first), by address.
    fn lease_get_page(&self, args: Args<'_>) -> Result<Value, Bad> {
        let (from, limit) = crate::command::page(args, address)?;
        let leases: Vec<Value> = self
            .leases
            .all()
            .iter()
            .filter(|l| from.is_none_or(|f| l.address > f))
            .take(limit)
            .map(lease_json)
            .collect();
        Ok(crate::command::page_found("IPv4", leases))
    }

    /// The lease `lease4-get` and `lease4-del` name: by `ip-address`, else by identifier
    /// (`identifier-type` and `identifier`) in `subnet-id`.
    fn find_lease(&self, args: Args<'_>) -> Result<Option<Lease4>, Bad> {
        Ok(if let Some(a) = address(args, "ip-address")? {
            self.leases.get(a)
        } else {
            let (kind, id, subnet) = identifier(args)?;
            match kind {
                "hw-address" => self.leases.by_hwaddr(subnet, &id).into_iter().next(),
                _ => self.leases.by_client_id(subnet, &id).into_iter().next(),
            }
        })
    }

    fn lease_get(&self, args: Args<'_>) -> Result<Value, Bad> {
        Ok(match self.find_lease(args)? {
            Some(l) => answer_with(SUCCESS, "IPv4 lease found.", lease_json(&l)),
            None => answer(EMPTY, "Lease not found."),
        })
    }

    fn lease_get_all(&self, given: bool, args: Args<'_>) -> Result<Value, Bad> {
        let subnets = crate::command::subnets_filter(given, args)?;
        let leases: Vec<Value> = self
            .leases
            .all()
            .iter()
            .filter(|l| {
                subnets
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&l.subnet_id))
            })
            .map(lease_json)
            .collect();
        Ok(crate::command::leases_found("IPv4", leases))
    }

    /// The lease lease4-add and lease4-update describe (and the leases of a partner's lease
    /// page, which carry `cltt` where the commands carry `expire`).
    pub(crate) fn lease_from_args(&self, args: Args<'_>, now: SystemTime) -> Result<Lease4, Bad> {
        let address = address(args, "ip-address")?
            .ok_or_else(|| Bad("missing parameter 'ip-address'".into()))?;
        let subnet_id = match uint(args, "subnet-id", u64::from(u32::MAX))? {
            Some(0) | None => self
                .config
                .subnet_of(address)
                .map(|s| s.id)
                .ok_or_else(|| {
                    Bad(format!(
                        "subnet-id not specified and failed to find a subnet for address {address}"
                    ))
                })?,
            Some(id) => {
                let id = id as u32;
                let s = self.config.subnet(id).ok_or_else(|| Bad(format!("Invalid subnet-id: No IPv4 subnet with subnet-id={id} currently configured.")))?;
                if !s.prefix.contains(address) {
                    return Err(Bad(format!(
                        "The address {address} does not belong to subnet {}/{}, subnet-id={id}",
                        s.prefix.network, s.prefix.len
                    )));
                }
                id
            }
        };
        let default = self
            .config
            .subnet(subnet_id)
            .map_or(7200, |s| s.valid_lifetime);
        let valid = crate::command::valid_lifetime(args, default)?;
        let expire = crate::command::expiry(args, valid, epoch_secs(now), address)?;
        let state = crate::command::lease_state(args)?;
        let hwaddr = match string(args, "hw-address")? {
            Some(h) => hex(h, "hw-address")?,
            None => return Err(Bad("missing parameter 'hw-address'".into())),
        };
        let client_id = string(args, "client-id")?
            .map(|c| hex(c, "client-id"))
            .transpose()?
            .unwrap_or_default();
        let user_context = crate::command::user_context(args)?;
        let (fqdn_fwd, fqdn_rev, hostname) = crate::command::dns_names(args)?;
        let lease = Lease4 {
            address,
            hwaddr,
            client_id,
            valid_lifetime: valid,
            expire,
            subnet_id,
            fqdn_fwd,
            fqdn_rev,
            hostname,
            state,
            user_context,
        };
        Ok(lease)
    }

    fn lease_add(&mut self, args: Args<'_>, now: SystemTime) -> Result<Value, Bad> {
        let lease = self.lease_from_args(args, now)?;
        let (address, subnet_id) = (lease.address, lease.subnet_id);
        if self.leases.contains(address) {
            return Ok(answer(ERROR, "IPv4 lease already exists."));
        }
        self.commit(lease).map_err(|e| Bad(e.to_string()))?;
        Ok(answer(
            SUCCESS,
            format!("Lease for address {address}, subnet-id {subnet_id} added."),
        ))
    }

    fn lease_del(&mut self, args: Args<'_>) -> Result<Value, Bad> {
        Ok(match self.find_lease(args)? {
            Some(l) => {
                self.delete(l.address);
                answer(SUCCESS, "IPv4 lease deleted.")
            }
            None => answer(EMPTY, "IPv4 lease not found."),
        })
    }

    fn lease_wipe(&mut self, args: Args<'_>) -> Result<Value, Bad> {
        let ids = crate::command::wipe_subnets(args, self.config.subnets.iter().map(|s| s.id))?;
        let doomed: Vec<Ipv4Addr> = self
            .leases
            .all()
            .iter()
            .filter(|l| ids.contains(&l.subnet_id))
            .map(|l| l.address)
            .collect();
        for a in &doomed {
            self.delete(*a);
        }
        Ok(crate::command::wiped("IPv4", doomed.len(), &ids))
    }

    fn statistics_map(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, s) in self.stats.global() {
            out.insert(name.to_string(), sample(s.value, s.at));
        }
        let mut declined_all = 0i64;
        for subnet in &self.config.subnets {
            let at = self.reloaded;
            let total: u64 = subnet
                .pools
                .iter()
                .map(|p| u64::from(u32::from(p.last) - u32::from(p.first)) + 1)
                .sum();
            let counts = self.leases.counts(subnet.id);
            declined_all += counts.declined as i64;
            let key = |n: &str| format!("subnet[{}].{n}", subnet.id);
            out.insert(key("total-addresses"), sample(total as i64, at));
            out.insert(
                key("assigned-addresses"),
                sample(counts.assigned as i64, at),
            );
            out.insert(
                key("declined-addresses"),
                sample(counts.declined as i64, at),
            );
            for (name, s) in self.stats.subnet(subnet.id) {
                out.insert(key(name), sample(s.value, s.at));
            }
        }
        out.insert(
            "declined-addresses".into(),
            sample(declined_all, self.reloaded),
        );
        out
    }
}

/// `identifier-type`, `identifier` and `subnet-id` of a lease command that names a client.
fn identifier(args: Args<'_>) -> Result<(&'static str, Vec<u8>, u32), Bad> {
    let subnet = uint(args, "subnet-id", u64::from(u32::MAX))?
        .ok_or_else(|| Bad("Mandatory 'subnet-id' parameter missing.".into()))?;
    let kind = match string(args, "identifier-type")? {
        Some("hw-address") => "hw-address",
        Some("client-id") => "client-id",
        Some(other @ ("duid" | "circuit-id" | "flex-id")) => {
            return Err(Bad(format!("Query by {other} is not allowed in v4.")));
        }
        Some(other) => return Err(Bad(format!("Incorrect identifier type: {other}"))),
        None => return Err(Bad("No 'identifier-type' parameter specified.".into())),
    };
    let id = string(args, "identifier")?
        .ok_or_else(|| Bad("No 'identifier' parameter specified.".into()))?;
    Ok((kind, hex(id, "identifier")?, subnet as u32))
}

/// The DHCPv4 server's side of the commands both families answer alike.
impl command::Commands for Server {
    type Config = dhcp4::Dhcp4;
    const KEY: &'static str = "Dhcp4";

    fn parse(text: &str) -> Result<(dhcp4::Dhcp4, Value), Vec<dhcplab_kea_config::ConfigError>> {
        dhcp4::parse_document(text)
    }

    fn apply(&mut self, now: SystemTime, config: dhcp4::Dhcp4, json: Value) -> Result<(), String> {
        self.reconfigure(now, config, json).map_err(|e| refusal(&e))
    }

    fn config_json(&self) -> Value {
        self.config.json.clone()
    }

    fn status(&self, now: SystemTime) -> Value {
        self.status_arguments(now)
    }

    fn statistics(&self) -> Map<String, Value> {
        self.statistics_map()
    }

    fn reclaim_all(&mut self, now: SystemTime, remove: bool) {
        reclaim::reclaim(self, now, 0, Some(remove));
    }

    fn shutdown(&mut self) {
        self.actions.push_back(Action::Shutdown);
    }

    fn processed(&mut self, name: &str, arguments: Option<&Value>, response: &Value) {
        self.command_processed(name, arguments, response);
    }
}
