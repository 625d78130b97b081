//! Control commands in Kea's JSON, with Kea's names, result codes and answer texts: the
//! lease6 commands of Kea 2.2's `libdhcp_lease_cmds.so` and the server's own commands. The
//! command reading, answers and argument readers are the v4 core's
//! ([`dhcplab_server::command`]).

use crate::store::{HwAddr6, Lease6, LeaseType};
use crate::{Action, Server, epoch_secs, reclaim};
use dhcplab_kea_config::dhcp6;
use dhcplab_server::command::{
    self, Args, Bad, EMPTY, ERROR, SUCCESS, answer, answer_with, arguments_only, boolean, hex,
    sample, string, uint,
};
use dhcplab_wire::v4::Hex;
use serde_json::{Map, Value, json};
use std::net::Ipv6Addr;
use std::time::SystemTime;

/// The commands the server answers, in `list-commands` order.
pub const COMMANDS: [&str; 22] = [
    "build-report",
    "config-get",
    "config-reload",
    "config-set",
    "config-test",
    "dhcp-disable",
    "dhcp-enable",
    "lease6-add",
    "lease6-del",
    "lease6-get",
    "lease6-get-all",
    "lease6-get-by-duid",
    "lease6-get-page",
    "lease6-update",
    "lease6-wipe",
    "leases-reclaim",
    "list-commands",
    "shutdown",
    "statistic-get",
    "statistic-get-all",
    "status-get",
    "version-get",
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

/// Kea's name of a lease type (`Lease::typeToText`).
pub(crate) fn type_name(t: LeaseType) -> &'static str {
    match t {
        LeaseType::Na => "IA_NA",
        LeaseType::Ta => "IA_TA",
        LeaseType::Pd => "IA_PD",
    }
}

/// A lease as Kea's lease commands show it (`Lease6::toElement`).
pub(crate) fn lease_json(l: &Lease6) -> Value {
    let mut v = json!({
        "ip-address": l.address.to_string(),
        "type": type_name(l.lease_type),
        "iaid": l.iaid,
        "duid": Hex(&l.duid).to_string(),
        "subnet-id": l.subnet_id,
        "cltt": l.cltt(),
        "preferred-lft": l.preferred_lifetime,
        "valid-lft": l.valid_lifetime,
        "fqdn-fwd": l.fqdn_fwd,
        "fqdn-rev": l.fqdn_rev,
        "hostname": l.hostname,
        "state": l.state,
    });
    if l.lease_type == LeaseType::Pd {
        v["prefix-len"] = json!(l.prefix_len);
    }
    if let Some(h) = &l.hwaddr {
        v["hw-address"] = json!(Hex(&h.bytes).to_string());
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

fn address(args: Args<'_>, name: &str) -> Result<Option<Ipv6Addr>, Bad> {
    command::address(args, name, "IPv6", |a| match a {
        std::net::IpAddr::V6(a) => Some(a),
        _ => None,
    })
}

/// The `type` argument: `IA_NA` (the default) or `IA_PD`.
fn lease_type(args: Args<'_>) -> Result<LeaseType, Bad> {
    match string(args, "type")? {
        None | Some("IA_NA") => Ok(LeaseType::Na),
        Some("IA_PD") => Ok(LeaseType::Pd),
        Some(other) => Err(Bad(format!(
            "Incorrect lease type: {other}, the only supported values are: IA_NA, IA_TA and IA_PD"
        ))),
    }
}

impl Server {
    /// Tells the server its process id, for `status-get`.
    pub fn set_process_id(&mut self, pid: u32) {
        self.pid = Some(pid);
    }

    /// Answers one control command (the text a client sent on the control socket).
    pub fn handle_command(&mut self, now: SystemTime, text: &str) -> CommandOutcome {
        let c = match command::read(text) {
            Ok(c) => c,
            Err(a) => return CommandOutcome::Answer(a),
        };
        let (name, given, args) = (c.name.as_str(), c.given.as_ref(), &c.args);
        let result = match name {
            "config-reload" => return CommandOutcome::ReloadFromFile,
            "list-commands" => Ok(arguments_only(json!(COMMANDS))),
            "version-get" => Ok(answer_with(
                SUCCESS,
                concat!("dhcplab ", env!("CARGO_PKG_VERSION")),
                json!({ "extended": "dhcplab reference DHCPv6 server (Kea 2.2 behaviour)" }),
            )),
            "build-report" => Ok(answer(
                SUCCESS,
                concat!(
                    "dhcplab-server6 ",
                    env!("CARGO_PKG_VERSION"),
                    ": sans-IO DHCPv6 core, memfile lease database"
                ),
            )),
            "dhcp-disable" => command::max_period(args).and_then(|period| {
                match command::origin(args)? {
                    command::Origin::User => self.disabled.set(now, period),
                    command::Origin::HaPartner => {
                        return Err(Bad("origin 'ha-partner' needs high availability".into()));
                    }
                }
                Ok(answer(SUCCESS, "DHCPv6 service disabled."))
            }),
            "dhcp-enable" => command::origin(args).map(|o| {
                if o == command::Origin::User {
                    self.disabled.clear();
                }
                answer(SUCCESS, command::ENABLED)
            }),
            "lease6-add" if args.is_empty() => {
                Err(Bad("no parameters specified for the command".into()))
            }
            "lease6-add" => self.lease_add(args, now),
            "lease6-update" => self.lease_update(args, now),
            "lease6-get" if given.is_none() => {
                Err(Bad("Parameters missing or are not a map.".into()))
            }
            "lease6-get" => self.lease_get(args),
            "lease6-get-all" => self.lease_get_all(given.is_some(), args),
            "lease6-get-page" => self.lease_get_page(args),
            "lease6-get-by-duid" => self.lease_get_by_duid(args),
            "lease6-del" => self.lease_del(args),
            "lease6-wipe" => self.lease_wipe(args),
            _ => command::fallback(self, now, &c),
        };
        CommandOutcome::Answer(command::respond(self, &c, result))
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

    /// The lease lease6-add and lease6-update describe.
    fn lease_from_args(&self, args: Args<'_>, now: SystemTime) -> Result<Lease6, Bad> {
        let address = address(args, "ip-address")?
            .ok_or_else(|| Bad("missing parameter 'ip-address'".into()))?;
        let kind = lease_type(args)?;
        let subnet_id = match uint(args, "subnet-id", u64::from(u32::MAX))? {
            // Kea 2.2's lease_cmds: only an address lease finds its subnet by its address.
            Some(0) | None if kind == LeaseType::Pd => {
                return Err(Bad(
                    "Subnet-id is 0 or not specified. This is allowed for address leases only, not prefix leases."
                        .into(),
                ));
            }
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
                let s = self.config.subnet(id).ok_or_else(|| {
                    Bad(format!(
                        "Invalid subnet-id: No IPv6 subnet with subnet-id={id} currently configured."
                    ))
                })?;
                if kind == LeaseType::Na && !s.prefix.contains(address) {
                    return Err(Bad(format!(
                        "The address {address} does not belong to subnet {}, subnet-id={id}",
                        s.prefix
                    )));
                }
                id
            }
        };
        let duid = match string(args, "duid")? {
            Some(d) => hex(d, "duid")?,
            None => return Err(Bad("missing parameter 'duid'".into())),
        };
        let iaid = uint(args, "iaid", u64::from(u32::MAX))?
            .ok_or_else(|| Bad("missing parameter 'iaid'".into()))? as u32;
        let prefix_len = match (kind, uint(args, "prefix-len", 128)?) {
            (LeaseType::Pd, None) => {
                return Err(Bad("prefix-len is mandatory for IA_PD leases".into()));
            }
            (LeaseType::Pd, Some(l)) => l as u8,
            _ => 128,
        };
        let subnet = self.config.subnet(subnet_id);
        let valid = command::valid_lifetime(
            args,
            subnet.map_or(dhcp6::DEFAULT_VALID_LIFETIME, |s| s.life.valid),
        )?;
        // Kea 2.2's Lease6Parser gives a lease without `preferred-lft` the subnet's *valid*
        // lifetime as its preferred one (not the subnet's preferred lifetime).
        let preferred = match uint(args, "preferred-lft", u64::from(u32::MAX))? {
            Some(p) => p as u32,
            None => subnet.map_or(dhcp6::DEFAULT_VALID_LIFETIME, |s| s.life.valid),
        };
        let expire = command::expiry(args, valid, epoch_secs(now), address)?;
        let state = command::lease_state(args)?;
        if state == dhcplab_memfile::STATE_DECLINED && kind == LeaseType::Pd {
            return Err(Bad("Invalid declined state for PD prefix.".into()));
        }
        let (fqdn_fwd, fqdn_rev, hostname) = command::dns_names(args)?;
        let hwaddr = string(args, "hw-address")?
            .map(|h| hex(h, "hw-address"))
            .transpose()?
            .map(|bytes| HwAddr6 {
                bytes,
                htype: 1,
                source: dhcplab_memfile::HWADDR_SOURCE_UNKNOWN,
            });
        let user_context = command::user_context(args)?;
        Ok(Lease6 {
            address,
            duid,
            valid_lifetime: valid,
            expire,
            subnet_id,
            preferred_lifetime: preferred,
            lease_type: kind,
            iaid,
            prefix_len,
            fqdn_fwd,
            fqdn_rev,
            hostname,
            hwaddr,
            state,
            user_context,
        })
    }

    fn lease_add(&mut self, args: Args<'_>, now: SystemTime) -> Result<Value, Bad> {
        let lease = self.lease_from_args(args, now)?;
        let (address, subnet_id) = (lease.address, lease.subnet_id);
        if self.leases.get(lease.lease_type, address).is_some() {
            return Ok(answer(ERROR, "IPv6 lease already exists."));
        }
        self.commit(lease);
        Ok(answer(
            SUCCESS,
            format!("Lease for address {address}, subnet-id {subnet_id} added."),
        ))
    }

    /// lease6-update: replaces the lease of `ip-address`; with `force-create` a lease that
    /// does not exist is added.
    fn lease_update(&mut self, args: Args<'_>, now: SystemTime) -> Result<Value, Bad> {
        let lease = self.lease_from_args(args, now)?;
        let address = lease.address;
        if self.leases.get(lease.lease_type, address).is_none()
            && boolean(args, "force-create")? != Some(true)
        {
            return Ok(answer(
                ERROR,
                format!("failed to update the lease with address {address} - no such lease"),
            ));
        }
        self.commit(lease);
        Ok(answer(SUCCESS, "IPv6 lease updated."))
    }

    /// The lease lease6-get and lease6-del name: by `ip-address` (and `type`), else by
    /// `identifier-type` `duid`, `identifier`, `iaid` and `subnet-id`.
    fn find_lease(&self, args: Args<'_>) -> Result<Option<Lease6>, Bad> {
        let kind = lease_type(args)?;
        if let Some(a) = address(args, "ip-address")? {
            return Ok(self.leases.get(kind, a));
        }
        let subnet = uint(args, "subnet-id", u64::from(u32::MAX))?
            .ok_or_else(|| Bad("Mandatory 'subnet-id' parameter missing.".into()))?;
        match string(args, "identifier-type")? {
            Some("duid") => {}
            Some(other @ ("hw-address" | "circuit-id" | "client-id" | "flex-id")) => {
                return Err(Bad(format!("Query by {other} is not allowed in v6.")));
            }
            Some(other) => return Err(Bad(format!("Incorrect identifier type: {other}"))),
            None => return Err(Bad("No 'identifier-type' parameter specified.".into())),
        }
        let id = string(args, "identifier")?
            .ok_or_else(|| Bad("No 'identifier' parameter specified.".into()))?;
        let iaid = uint(args, "iaid", u64::from(u32::MAX))?
            .ok_or_else(|| Bad("Parameter 'iaid' not specified.".into()))?;
        Ok(self
            .leases
            .of_binding(kind, &hex(id, "identifier")?, iaid as u32, subnet as u32)
            .into_iter()
            .next())
    }

    fn lease_get(&self, args: Args<'_>) -> Result<Value, Bad> {
        Ok(match self.find_lease(args)? {
            Some(l) => answer_with(SUCCESS, "IPv6 lease found.", lease_json(&l)),
            None => answer(EMPTY, "Lease not found."),
        })
    }

    fn lease_get_all(&self, given: bool, args: Args<'_>) -> Result<Value, Bad> {
        let subnets = command::subnets_filter(given, args)?;
        let leases = self
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
        Ok(command::leases_found("IPv6", leases))
    }

    /// lease6-get-page: up to `limit` leases after the address `from` (`start`: from the
    /// first), by address.
    fn lease_get_page(&self, args: Args<'_>) -> Result<Value, Bad> {
        let (from, limit) = command::page(args, address)?;
        let mut all = self.leases.all();
        all.sort_by_key(|l| l.address);
        let leases: Vec<Value> = all
            .iter()
            .filter(|l| from.is_none_or(|f| l.address > f))
            .take(limit)
            .map(lease_json)
            .collect();
        Ok(command::page_found("IPv6", leases))
    }

    fn lease_get_by_duid(&self, args: Args<'_>) -> Result<Value, Bad> {
        let duid =
            string(args, "duid")?.ok_or_else(|| Bad("'duid' parameter not specified".into()))?;
        let duid = hex(duid, "duid")?;
        let leases = self
            .leases
            .all()
            .iter()
            .filter(|l| l.duid == duid)
            .map(lease_json)
            .collect();
        Ok(command::leases_found("IPv6", leases))
    }

    fn lease_del(&mut self, args: Args<'_>) -> Result<Value, Bad> {
        Ok(match self.find_lease(args)? {
            Some(l) => {
                self.delete(l.lease_type, l.address);
                answer(SUCCESS, "IPv6 lease deleted.")
            }
            None => answer(EMPTY, "IPv6 lease not found."),
        })
    }

    fn lease_wipe(&mut self, args: Args<'_>) -> Result<Value, Bad> {
        let ids = command::wipe_subnets(args, self.config.subnets.iter().map(|s| s.id))?;
        let doomed: Vec<(LeaseType, Ipv6Addr)> = self
            .leases
            .all()
            .iter()
            .filter(|l| ids.contains(&l.subnet_id))
            .map(|l| (l.lease_type, l.address))
            .collect();
        for (k, a) in &doomed {
            self.delete(*k, *a);
        }
        Ok(command::wiped("IPv6", doomed.len(), &ids))
    }

    /// Every statistic by Kea's name: the counters, and per subnet the pool sizes and the
    /// lease counts of the store (`total-nas`, `assigned-nas`, `total-pds`, `assigned-pds`,
    /// `declined-addresses`), as of the last reconfiguration.
    pub(crate) fn statistics_map(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, v, at) in self.stats.all() {
            out.insert(name.to_string(), sample(v, at));
        }
        let mut declined_all = 0i64;
        for s in &self.config.subnets {
            let total = |kind: LeaseType| -> i64 {
                let n: u128 = s
                    .ranges
                    .iter()
                    .filter(|r| r.kind == kind)
                    .map(crate::config::Range::size)
                    .fold(0u128, u128::saturating_add);
                i64::try_from(n).unwrap_or(i64::MAX)
            };
            let c = self.leases.counts(s.id);
            declined_all += c.declined as i64;
            let at = self.reloaded;
            let key = |n: &str| format!("subnet[{}].{n}", s.id);
            out.insert(key("total-nas"), sample(total(LeaseType::Na), at));
            out.insert(key("total-pds"), sample(total(LeaseType::Pd), at));
            out.insert(key("assigned-nas"), sample(c.assigned_nas as i64, at));
            out.insert(key("assigned-pds"), sample(c.assigned_pds as i64, at));
            out.insert(key("declined-addresses"), sample(c.declined as i64, at));
        }
        out.insert(
            "declined-addresses".into(),
            sample(declined_all, self.reloaded),
        );
        out
    }
}

/// The DHCPv6 server's side of the commands both families answer alike.
impl command::Commands for Server {
    type Config = dhcp6::Dhcp6;
    const KEY: &'static str = "Dhcp6";

    fn parse(text: &str) -> Result<(dhcp6::Dhcp6, Value), Vec<dhcplab_kea_config::ConfigError>> {
        dhcp6::parse_document(text)
    }

    fn apply(&mut self, now: SystemTime, config: dhcp6::Dhcp6, json: Value) -> Result<(), String> {
        self.reconfigure(now, config, json).map_err(|e| match e {
            crate::ServerError::Hooks(h) => command::hooks_refusal(&h),
            other => other.to_string(),
        })
    }

    fn config_json(&self) -> Value {
        self.config.json.clone()
    }

    fn status(&self, now: SystemTime) -> Value {
        command::status(now, self.started, self.reloaded, self.pid)
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
