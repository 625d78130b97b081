//! From the TOML shapes to checked types: names resolved, groups expanded, durations,
//! addresses and matchers read, variables used only after they are captured. Faults are
//! collected, not stopped at, so one run of `dhcplab run` names them all.

#[path = "build6.rs"]
mod build6;

use crate::raw::{self, S};
use crate::text::{format_duration, parse_duration, parse_hex, parse_mac};
use crate::*;
use dhcplab_kea_config::options4;
use dhcplab_wire::v4::catalogue::{self, Format};
use dhcplab_wire::v4::{Message, RawBuilder};
use std::collections::{BTreeMap, BTreeSet};
use toml::Value;

/// Reads the whole file.
pub(crate) fn build(text: &str, path: &Path) -> Result<Scenario, Vec<Fault>> {
    let file: raw::File = toml::from_str(text).map_err(|e| {
        let place = e
            .span()
            .map_or(Place { line: 1, column: 1 }, |s| Place::of(text, s.start));
        vec![Fault {
            place,
            message: e.message().trim().to_string(),
        }]
    })?;
    let mut b = Builder {
        text,
        faults: Vec::new(),
        groups: BTreeMap::new(),
        roles: BTreeMap::new(),
        macs: BTreeMap::new(),
        families: BTreeMap::new(),
        captured: BTreeSet::new(),
        any_v6: false,
        addresses6: BTreeMap::new(),
        nest: Vec::new(),
        nest_at: 0,
        nest_value: None,
    };
    let header = file.scenario;
    let hosts = b.hosts(file.host);
    b.check_relays(&hosts);
    let steps: Vec<Step> = file.step.into_iter().filter_map(|s| b.step(s)).collect();
    let differs = b.differs(file.differs, steps.len());
    if b.faults.is_empty() && hosts.is_empty() {
        b.fault(0, "a scenario needs at least one [[host]]");
    }
    let mut seed = None;
    let mut requires = Vec::new();
    let mut description = String::new();
    if let Some(h) = header {
        description = h.description.unwrap_or_default();
        if let Some(s) = h.seed {
            match u64::try_from(*s.get_ref()) {
                Ok(v) => seed = Some(v),
                Err(_) => b.fault(s.span().start, "seed must be 0 or more"),
            }
        }
        for r in h.requires.unwrap_or_default() {
            requires.push(r.into_inner());
        }
    }
    let check = file.check.and_then(|c| b.check(c));
    if !b.faults.is_empty() {
        b.faults.sort_by_key(|f| (f.place.line, f.place.column));
        return Err(b.faults);
    }
    Ok(Scenario {
        name: crate::name_of(path),
        file: path.to_path_buf(),
        description,
        seed,
        requires,
        check,
        hosts,
        steps,
        vary: Vec::new(),
        source: String::new(),
        differs,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoleKind {
    Server,
    Client,
    Peer,
    Relay,
}

struct Builder<'a> {
    text: &'a str,
    faults: Vec<Fault>,
    /// Group name to member names.
    groups: BTreeMap<String, Vec<String>>,
    roles: BTreeMap<String, RoleKind>,
    macs: BTreeMap<String, [u8; 6]>,
    /// The DHCP version of each host and group (none for a peer without an address).
    families: BTreeMap<String, Option<Family>>,
    captured: BTreeSet<String>,
    /// Some host speaks DHCPv6: a step must then say which version its message types are.
    any_v6: bool,
    /// Global IPv6 addresses of hosts that have one.
    addresses6: BTreeMap<String, Ipv6Addr>,
    /// Where inside the TOML value at `nest_at` a crafted option is being read (list items
    /// and keys), so a fault there is placed at the part it is about.
    nest: Vec<build6::Seg>,
    /// The start of the value `nest` goes into.
    nest_at: usize,
    /// That value read again with its places, once a fault inside it needed them.
    nest_value: Option<(usize, toml::Spanned<toml::de::DeValue<'a>>)>,
}

/// The largest client group, a bound on what one scenario asks of memory.
const MAX_GROUP: u64 = 100_000;

impl<'a> Builder<'a> {
    fn fault(&mut self, offset: usize, message: impl Into<String>) {
        let offset = if !self.nest.is_empty() && offset == self.nest_at {
            // Read once per value, however many of its parts are faulty.
            if self.nest_value.as_ref().is_none_or(|(at, _)| *at != offset) {
                let rest = self.text.get(offset..).unwrap_or_default();
                self.nest_value = Some((offset, toml::de::DeValue::parse_recoverable(rest).0));
            }
            self.nest_value
                .as_ref()
                .map_or(offset, |(_, v)| offset + build6::locate(v, &self.nest))
        } else {
            offset
        };
        self.faults.push(Fault {
            place: Place::of(self.text, offset),
            message: message.into(),
        });
    }

    /// Whether a crafted message's `payload` comes alone: a fault at `at` names the `others`
    /// given beside it (a whole payload leaves nothing to set), with `can` saying what may.
    fn alone_with_payload(&mut self, at: usize, others: &[(&str, bool)], can: &str) -> bool {
        let given: Vec<&str> = others.iter().filter(|(_, g)| *g).map(|(k, _)| *k).collect();
        if !given.is_empty() {
            self.fault(
                at,
                format!(
                    "payload gives the whole message: {} cannot go with it{can}",
                    given.join(", ")
                ),
            );
        }
        given.is_empty()
    }

    fn place(&self, offset: usize) -> Place {
        Place::of(self.text, offset)
    }

    /// Reads `[check]`; every fault is reported at its value.
    fn check(&mut self, raw: S<raw::CheckTable>) -> Option<crate::Conformance> {
        let c = raw.into_inner();
        let reference = crate::conformance::split_reference(c.reference.get_ref());
        if reference.is_none() {
            self.fault(
                c.reference.span().start,
                "reference: name the document and section, as \"RFC 2131 4.3.1\"",
            );
        }
        let level = crate::Level::parse(c.level.get_ref());
        if level.is_none() {
            self.fault(
                c.level.span().start,
                format!("level {:?}: MUST, SHOULD or MAY", c.level.get_ref()),
            );
        }
        let tests = match c.tests.get_ref().as_str() {
            "server" => Some(crate::UnderTest::Server),
            "client" => Some(crate::UnderTest::Client),
            other => {
                self.fault(
                    c.tests.span().start,
                    format!("tests {other:?}: the side under test, server or client"),
                );
                None
            }
        };
        let ((document, section), level, tests) = (reference?, level?, tests?);
        Some(crate::Conformance {
            document,
            section,
            level,
            tests,
            quote: c.quote.unwrap_or_default().trim().to_string(),
        })
    }

    fn differs(&mut self, raw: Vec<S<raw::Differs>>, steps: usize) -> Vec<Difference> {
        let mut out = Vec::new();
        for d in raw {
            let at = d.span().start;
            let d = d.into_inner();
            let stack = d.stack.get_ref().clone();
            if !crate::REAL_STACKS.contains(&stack.as_str()) {
                self.fault(
                    d.stack.span().start,
                    format!(
                        "stack {stack:?}: a difference is recorded for a real stack, one of {}",
                        crate::REAL_STACKS.join(", ")
                    ),
                );
                continue;
            }
            let step = match usize::try_from(*d.step.get_ref()) {
                Ok(n) if (1..=steps).contains(&n) => n,
                _ => {
                    self.fault(
                        d.step.span().start,
                        format!(
                            "step {}: the scenario has steps 1 to {steps}",
                            d.step.get_ref()
                        ),
                    );
                    continue;
                }
            };
            let mut text = |v: &S<String>, what: &str| {
                let t = v.get_ref().trim().to_string();
                if t.is_empty() {
                    self.fault(v.span().start, format!("{what} must not be empty"));
                }
                t
            };
            let saw = text(&d.saw, "saw");
            let why = text(&d.why, "why");
            out.push(Difference {
                stack,
                step,
                saw,
                why,
                sometimes: d.sometimes,
                place: self.place(at),
            });
        }
        out
    }

    fn hosts(&mut self, raw: Vec<S<raw::Host>>) -> Vec<Host> {
        let mut out: Vec<Host> = Vec::new();
        for h in raw {
            let at = h.span().start;
            let h = h.into_inner();
            let name = h.name.get_ref().clone();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                self.fault(
                    h.name.span().start,
                    format!("host name {name:?}: use letters, digits, '-' and '_'"),
                );
                continue;
            }
            if self.roles.contains_key(&name) || name == "broadcast" {
                self.fault(
                    h.name.span().start,
                    format!("host {name:?} is declared twice"),
                );
                continue;
            }
            let kind = match h.role.get_ref().as_str() {
                "server" => RoleKind::Server,
                "client" => RoleKind::Client,
                "peer" => RoleKind::Peer,
                "relay" => RoleKind::Relay,
                other => {
                    self.fault(
                        h.role.span().start,
                        format!(
                            "role {other:?}: expected \"server\", \"client\", \"relay\" or \"peer\""
                        ),
                    );
                    continue;
                }
            };
            let Some(segment) = self.segment_of(&h, kind) else {
                continue;
            };
            let link = h
                .link
                .as_ref()
                .map_or_else(Faults::default, |l| self.link(l));
            let count = match &h.count {
                None => 1,
                Some(c) => match (kind, c.get_ref().as_integer()) {
                    (RoleKind::Client, Some(n)) if (1..=MAX_GROUP as i64).contains(&n) => n as u64,
                    (RoleKind::Client, _) => {
                        self.fault(
                            c.span().start,
                            format!("count is a number from 1 to {MAX_GROUP}"),
                        );
                        continue;
                    }
                    _ => {
                        self.fault(c.span().start, "only clients come in groups (count)");
                        continue;
                    }
                },
            };
            let grouped = h.count.is_some();
            let place = self.place(at);
            if kind != RoleKind::Client
                && let Some(f) = &h.family
            {
                self.fault(
                    f.span().start,
                    "family is for clients only (a server's is its config's: a Dhcp4 or a Dhcp6 map)",
                );
            }
            self.only_for_relays(&h, kind);
            let role = match kind {
                RoleKind::Server => self.server(&h, at),
                RoleKind::Client => self.client(&h),
                RoleKind::Peer => self.peer(&h),
                RoleKind::Relay => self.relay(&h, at, &segment),
            };
            let Some(role) = role else { continue };
            let family = match &role {
                Role::Server(_) | Role::Client(_) => Some(Family::V4),
                Role::Server6(_) | Role::Client6(_) | Role::Relay(_) => Some(Family::V6),
                Role::Peer(p) => match (p.address, p.address6) {
                    (Some(_), None) => Some(Family::V4),
                    (None, Some(_)) => Some(Family::V6),
                    _ => None,
                },
            };
            self.any_v6 |= family == Some(Family::V6);
            let address6 = match &role {
                Role::Server6(s) => Some(s.address),
                Role::Relay(r) => r.address,
                Role::Peer(p) => p.address6,
                _ => None,
            };
            if grouped && h.mac.is_some() {
                self.fault(
                    h.name.span().start,
                    "a client group gets its link addresses assigned; leave out mac",
                );
                continue;
            }
            let fixed_mac = h.mac.as_ref().and_then(|m| match parse_mac(m.get_ref()) {
                Ok(mac) => Some(mac),
                Err(e) => {
                    self.fault(m.span().start, e);
                    None
                }
            });
            let mut members = Vec::new();
            for i in 1..=count {
                let member = if grouped {
                    format!("{name}{i}")
                } else {
                    name.clone()
                };
                let ordinal = out.len() as u32 + 1;
                let mac = fixed_mac.unwrap_or_else(|| default_mac(ordinal));
                let mut role = role.clone();
                match &mut role {
                    Role::Client(c) => c.group = grouped.then(|| name.clone()),
                    Role::Client6(c) => c.group = grouped.then(|| name.clone()),
                    _ => {}
                }
                self.roles.insert(member.clone(), kind);
                self.macs.insert(member.clone(), mac);
                self.families.insert(member.clone(), family);
                if let Some(a) = address6 {
                    self.addresses6.insert(member.clone(), a);
                }
                members.push(member.clone());
                out.push(Host {
                    name: member,
                    mac,
                    link,
                    role,
                    place,
                    segment: segment.clone(),
                });
            }
            if grouped {
                self.roles.insert(name.clone(), kind);
                self.families.insert(name.clone(), family);
                self.groups.insert(name, members);
            }
        }
        let mut seen: BTreeMap<[u8; 6], &str> = BTreeMap::new();
        let mut dup = Vec::new();
        for h in &out {
            if let Some(other) = seen.insert(h.mac, &h.name) {
                dup.push((
                    h.place,
                    format!(
                        "hosts {other:?} and {:?} have the same link address",
                        h.name
                    ),
                ));
            }
        }
        for (place, message) in dup {
            self.faults.push(Fault { place, message });
        }
        out
    }

    fn server(&mut self, h: &raw::Host, at: usize) -> Option<Role> {
        self.refuse(h.start.as_ref().map(|s| s.span().start), "start", "clients");
        self.refuse(h.churn.as_ref().map(|s| s.span().start), "churn", "clients");
        self.refuse_v6_client_keys(h);
        let Some(address) = h.address.as_ref() else {
            self.fault(at, "a server needs an address");
            return None;
        };
        let Some(config) = h.config.as_ref() else {
            self.fault(
                at,
                "a server needs a config (Kea's JSON, in a '''...''' string)",
            );
            return None;
        };
        let clock_offset = self.clock_offset(h)?;
        if build6::is_dhcp6(config.get_ref()) {
            let address = self.lab_addr6(address, "a DHCPv6 server's");
            let config = self.kea6(config);
            return Some(Role::Server6(Box::new(Server6Host {
                address: address?,
                config: config?,
                clock_offset,
            })));
        }
        let address = self.lab_addr(address)?;
        let config = self.kea(config)?;
        Some(Role::Server(Box::new(ServerHost {
            address,
            config,
            clock_offset,
        })))
    }

    /// A server's `clock`: how many seconds its clock is off.
    fn clock_offset(&mut self, h: &raw::Host) -> Option<i64> {
        Some(match &h.clock {
            None => 0,
            Some(c) => {
                let text = c.get_ref().as_str();
                let (sign, rest) = match text.strip_prefix('-') {
                    Some(r) => (-1, r),
                    None => (1, text.strip_prefix('+').unwrap_or(text)),
                };
                match parse_duration(rest) {
                    Ok(d) if d <= Duration::from_secs(365 * 86_400) => sign * d.as_secs() as i64,
                    Ok(_) => {
                        self.fault(c.span().start, "clock: at most a year off");
                        return None;
                    }
                    Err(e) => {
                        self.fault(
                            c.span().start,
                            format!("clock is how far the server's clock is off, such as \"+70s\" or \"-2m\": {e}"),
                        );
                        return None;
                    }
                }
            }
        })
    }

    fn client(&mut self, h: &raw::Host) -> Option<Role> {
        self.refuse(h.clock.as_ref().map(|s| s.span().start), "clock", "servers");
        if let Some(a) = &h.address {
            self.fault(
                a.span().start,
                "a client gets its address by DHCP; leave out address",
            );
        }
        self.refuse(
            h.config.as_ref().map(|s| s.span().start),
            "config",
            "servers",
        );
        let start = match &h.start {
            Some(s) => self.span(s)?,
            None => Span::default(),
        };
        let v6 = match &h.family {
            None => false,
            Some(f) if f.get_ref() == "v4" => false,
            Some(f) if f.get_ref() == "v6" => true,
            Some(f) => {
                self.fault(
                    f.span().start,
                    format!("family {:?}: expected \"v4\" or \"v6\"", f.get_ref()),
                );
                return None;
            }
        };
        let churn = match &h.churn {
            Some(c) => {
                let c = c.get_ref();
                let up = self.span(&c.up)?;
                let down = self.span(&c.down)?;
                let leave = match c
                    .leave
                    .as_ref()
                    .map(|l| (l.get_ref().as_str(), l.span().start))
                {
                    None | Some(("release", _)) => Leave::Release,
                    Some(("drop", _)) => Leave::Drop,
                    Some(("either", _)) => Leave::Either,
                    Some((other, at)) => {
                        self.fault(
                            at,
                            format!(
                                "leave {other:?}: expected \"release\", \"drop\" or \"either\""
                            ),
                        );
                        return None;
                    }
                };
                if up.min.is_zero() {
                    self.fault(c.up.span().start, "churn up must be longer than 0");
                    return None;
                }
                Some(Churn { up, down, leave })
            }
            None => None,
        };
        if v6 {
            return self.client6(h, start, churn);
        }
        self.refuse_v6_client_keys(h);
        let client_id = match &h.client_id {
            Some(id) => Some(self.hex(id)?),
            None => None,
        };
        let offer_wait = match &h.offer_wait {
            Some(w) => Some(self.duration(w)?),
            None => None,
        };
        Some(Role::Client(ClientHost {
            group: None,
            start,
            churn,
            probe: h.probe.as_ref().is_none_or(|p| *p.get_ref()),
            bootp: h.bootp.as_ref().is_some_and(|b| *b.get_ref()),
            client_id,
            hostname: h.hostname.as_ref().map(|n| n.get_ref().clone()),
            offer_wait,
        }))
    }

    fn peer(&mut self, h: &raw::Host) -> Option<Role> {
        self.refuse(h.clock.as_ref().map(|s| s.span().start), "clock", "servers");
        self.refuse(
            h.config.as_ref().map(|s| s.span().start),
            "config",
            "servers",
        );
        self.refuse(h.start.as_ref().map(|s| s.span().start), "start", "clients");
        self.refuse(h.churn.as_ref().map(|s| s.span().start), "churn", "clients");
        self.refuse_v4_client_keys(h, "clients");
        self.refuse_v6_client_keys(h);
        let (address, address6) = match &h.address {
            Some(a) if a.get_ref().contains(':') => (None, Some(self.lab_addr6(a, "a peer's")?)),
            Some(a) => (Some(self.lab_addr(a)?), None),
            None => (None, None),
        };
        Some(Role::Peer(PeerHost { address, address6 }))
    }

    fn refuse(&mut self, at: Option<usize>, key: &str, who: &str) {
        if let Some(at) = at {
            self.fault(at, format!("{key} is for {who} only"));
        }
    }

    /// Reads a Kea configuration, placing its faults in the scenario file.
    fn kea(&mut self, s: &S<String>) -> Option<ServerConfig> {
        let text = s.get_ref();
        match dhcplab_kea_config::dhcp4::parse_document(text) {
            Ok((dhcp4, json)) => {
                let outside_subnets: Vec<String> = dhcp4
                    .subnets
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| {
                        let last = u32::from(n.prefix.network)
                            | u32::MAX.checked_shr(u32::from(n.prefix.len)).unwrap_or(0);
                        !in_lab_ranges(n.prefix.network) || !in_lab_ranges(Ipv4Addr::from(last))
                    })
                    .map(|(i, n)| {
                        format!("Dhcp4.subnet4[{i}] ({}/{})", n.prefix.network, n.prefix.len)
                    })
                    .collect();
                if !outside_subnets.is_empty() {
                    self.fault(
                        s.span().start,
                        format!(
                            "server config: {} outside the ranges a run may use (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15)",
                            outside_subnets.join(", ")
                        ),
                    );
                    return None;
                }
                Some(ServerConfig {
                    text: text.clone(),
                    dhcp4,
                    json,
                })
            }
            Err(errors) => {
                self.config_faults(s, errors);
                None
            }
        }
    }

    /// Faults of the Kea configuration in `s`, each at its place in the scenario file, with
    /// its JSON path.
    fn config_faults(&mut self, s: &S<String>, errors: Vec<dhcplab_kea_config::ConfigError>) {
        let base = self.config_start(s);
        for e in errors {
            self.fault(
                base + e.pos.offset,
                format!(
                    "server config: {}: {}",
                    if e.path.is_empty() {
                        "(syntax)"
                    } else {
                        &e.path
                    },
                    e.message
                ),
            );
        }
    }

    /// Where the text of a configuration string starts in the file (after its opening quotes
    /// and, for a multi-line string, the newline TOML drops), so that offsets in the JSON
    /// are places in the file.
    fn config_start(&self, s: &S<String>) -> usize {
        let start = s.span().start;
        let opener = self.text.get(start..).unwrap_or("");
        let skip = if opener.starts_with("'''") || opener.starts_with("\"\"\"") {
            let after = opener.get(3..).unwrap_or("");
            let nl = if after.starts_with("\r\n") {
                2
            } else {
                usize::from(after.starts_with('\n'))
            };
            3 + nl
        } else {
            1
        };
        start + skip
    }

    fn link(&mut self, l: &S<raw::Link>) -> Faults {
        let l = l.get_ref().clone();
        let mut f = Faults::default();
        if let Some(v) = &l.loss {
            f.loss = self.probability(v).unwrap_or(0.0);
        }
        if let Some(v) = &l.duplicate {
            f.duplicate = self.probability(v).unwrap_or(0.0);
        }
        if let Some(v) = &l.reorder {
            f.reorder = self.probability(v).unwrap_or(0.0);
        }
        if let Some(v) = &l.delay {
            f.delay = self.duration(v).unwrap_or_default();
        }
        if let Some(v) = &l.jitter {
            f.jitter = self.duration(v).unwrap_or_default();
        }
        f
    }

    fn probability(&mut self, v: &S<Value>) -> Option<f64> {
        let p = match v.get_ref() {
            Value::Float(f) => Some(*f),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        };
        match p {
            Some(p) if (0.0..=1.0).contains(&p) => Some(p),
            _ => {
                self.fault(v.span().start, "a probability is a number from 0 to 1");
                None
            }
        }
    }

    fn duration(&mut self, v: &S<Value>) -> Option<Duration> {
        let d = match v.get_ref() {
            Value::String(s) => parse_duration(s),
            Value::Integer(i) if *i >= 0 => Ok(Duration::from_secs(*i as u64)),
            other => Err(format!(
                "a duration is a string such as \"90s\" or a number of seconds, not {}",
                other.type_str()
            )),
        };
        match d {
            Ok(d) if d <= MAX_DURATION => Some(d),
            Ok(_) => {
                self.fault(
                    v.span().start,
                    format!("a duration is at most {}", format_duration(MAX_DURATION)),
                );
                None
            }
            Err(e) => {
                self.fault(v.span().start, e);
                None
            }
        }
    }

    /// A duration or `{ min = ..., max = ... }`.
    fn span(&mut self, v: &S<Value>) -> Option<Span> {
        if let Value::Table(t) = v.get_ref() {
            let at = v.span().start;
            let get = |b: &mut Self, key: &str| -> Option<Duration> {
                match t.get(key) {
                    Some(x) => b.duration(&S::new(at..at, x.clone())),
                    None => {
                        b.fault(at, format!("a range needs {key}"));
                        None
                    }
                }
            };
            let min = get(self, "min")?;
            let max = get(self, "max")?;
            if let Some(k) = t.keys().find(|k| *k != "min" && *k != "max") {
                self.fault(at, format!("unknown key {k:?} in a range (min, max)"));
                return None;
            }
            if max < min {
                self.fault(at, "a range's max is below its min");
                return None;
            }
            return Some(Span { min, max });
        }
        let d = self.duration(v)?;
        Some(Span { min: d, max: d })
    }

    fn addr(&mut self, s: &S<String>) -> Option<Ipv4Addr> {
        match s.get_ref().parse() {
            Ok(a) => Some(a),
            Err(_) => {
                self.fault(
                    s.span().start,
                    format!("{:?} is not an IPv4 address", s.get_ref()),
                );
                None
            }
        }
    }

    /// An address a host holds: in the ranges a run may use.
    fn lab_addr(&mut self, s: &S<String>) -> Option<Ipv4Addr> {
        let a = self.addr(s)?;
        if in_lab_ranges(a) {
            Some(a)
        } else {
            self.fault(s.span().start, outside(a));
            None
        }
    }

    fn hex(&mut self, s: &S<String>) -> Option<Vec<u8>> {
        match parse_hex(s.get_ref()) {
            Ok(b) => Some(b),
            Err(e) => {
                self.fault(s.span().start, e);
                None
            }
        }
    }

    /// One host name (a group name is refused where one host is meant).
    fn one_host(&mut self, s: &S<String>, want: Option<RoleKind>) -> Option<String> {
        let name = s.get_ref();
        match self.roles.get(name) {
            None => {
                self.fault(s.span().start, format!("no host named {name:?}"));
                None
            }
            Some(_) if self.groups.contains_key(name) => {
                self.fault(
                    s.span().start,
                    format!("{name:?} is a group; name one member, as {name}1"),
                );
                None
            }
            Some(k) if want.is_some_and(|w| w != *k) => {
                let w = match want {
                    Some(RoleKind::Server) => "server",
                    Some(RoleKind::Client) => "client",
                    _ => "peer",
                };
                self.fault(s.span().start, format!("{name:?} is not a {w}"));
                None
            }
            Some(_) => Some(name.clone()),
        }
    }

    /// `host` or `hosts`, groups expanded.
    fn many_hosts(
        &mut self,
        step: &raw::Step,
        at: usize,
        want: Option<RoleKind>,
    ) -> Option<Vec<String>> {
        let mut names: Vec<S<String>> = Vec::new();
        if let Some(h) = &step.host {
            names.push(h.clone());
        }
        if let Some(hs) = &step.hosts {
            names.extend(hs.get_ref().iter().cloned());
        }
        if names.is_empty() {
            self.fault(at, "this step needs host or hosts");
            return None;
        }
        let mut out = Vec::new();
        for n in names {
            match self.groups.get(n.get_ref()) {
                Some(members) => out.extend(members.iter().cloned()),
                None => out.push(self.one_host(&n, None)?),
            }
            if let Some(w) = want
                && self.roles.get(n.get_ref()).is_some_and(|k| *k != w)
            {
                self.fault(
                    n.span().start,
                    format!(
                        "{:?} cannot do this: it is not a {}",
                        n.get_ref(),
                        if w == RoleKind::Client {
                            "client"
                        } else {
                            "server"
                        }
                    ),
                );
                return None;
            }
        }
        Some(out)
    }

    fn step(&mut self, s: S<raw::Step>) -> Option<Step> {
        let at = s.span().start;
        let s = s.into_inner();
        let before = self.faults.len();
        let when = match (&s.at, &s.after) {
            (Some(_), Some(b)) => {
                self.fault(b.span().start, "a step has at or after, not both");
                When::Now
            }
            (Some(a), None) => When::At(self.duration(a)?),
            (None, Some(b)) => When::After(self.duration(b)?),
            (None, None) => When::Now,
        };
        let what = match (&s.act, &s.expect) {
            (Some(_), Some(e)) => {
                self.fault(
                    e.span().start,
                    "a step does one thing: do or expect, not both",
                );
                return None;
            }
            (Some(a), None) => {
                self.only_keys(&s, allowed_for_action(a.get_ref()), a.get_ref(), at);
                What::Act(self.act(a, &s, at)?)
            }
            (None, Some(e)) => {
                self.only_keys(&s, allowed_for_expectation(e.get_ref()), e.get_ref(), at);
                What::Expect(self.expect(e, &s, at)?)
            }
            (None, None) if when != When::Now => What::Wait,
            (None, None) => {
                self.fault(
                    at,
                    "an empty step: give do, expect, or at/after to let time pass",
                );
                return None;
            }
        };
        if self.faults.len() > before {
            return None;
        }
        Some(Step {
            place: self.place(at),
            when,
            what,
            note: s.note,
        })
    }

    /// Faults for keys a step gives that its action or expectation does not read, so nothing
    /// written is silently left unchecked. `allowed` is `None` for an unknown verb (reported
    /// on its own).
    fn only_keys(&mut self, s: &raw::Step, allowed: Option<&[&str]>, verb: &str, at: usize) {
        let Some(allowed) = allowed else { return };
        let first = |m: &Option<BTreeMap<String, S<Value>>>| {
            m.as_ref()
                .and_then(|m| m.values().next())
                .map_or(at, |v| v.span().start)
        };
        let given: [(&str, Option<usize>); 28] = [
            ("host", s.host.as_ref().map(|v| v.span().start)),
            ("hosts", s.hosts.as_ref().map(|v| v.span().start)),
            ("from", s.from.as_ref().map(|v| v.span().start)),
            ("to", s.to.as_ref().map(|v| v.span().start)),
            ("type", s.kind.as_ref().map(|v| v.span().start)),
            ("within", s.within.as_ref().map(|v| v.span().start)),
            ("not-before", s.not_before.as_ref().map(|v| v.span().start)),
            ("fields", s.fields.as_ref().map(|_| first(&s.fields))),
            ("options", s.options.as_ref().map(|_| first(&s.options))),
            (
                "capture",
                s.capture
                    .as_ref()
                    .map(|m| m.values().next().map_or(at, |v| v.span().start)),
            ),
            ("events", s.events.as_ref().map(|v| v.span().start)),
            ("state", s.state.as_ref().map(|v| v.span().start)),
            ("address", s.address.as_ref().map(|v| v.span().start)),
            ("prefix", s.prefix.as_ref().map(|v| v.span().start)),
            (
                "not-address",
                s.not_address.as_ref().map(|v| v.span().start),
            ),
            ("count", s.count.as_ref().map(|v| v.span().start)),
            ("config", s.config.as_ref().map(|v| v.span().start)),
            ("link", s.link.as_ref().map(|v| v.span().start)),
            ("message", s.message.as_ref().map(|v| v.span().start)),
            ("src", s.src.as_ref().map(|v| v.span().start)),
            ("dst", s.dst.as_ref().map(|v| v.span().start)),
            ("optional", s.optional.as_ref().map(|v| v.span().start)),
            ("calls", s.calls.as_ref().map(|v| v.span().start)),
            ("runs", s.runs.as_ref().map(|v| v.span().start)),
            ("refused", s.refused.as_ref().map(|v| v.span().start)),
            ("at", None),
            ("after", None),
            ("note", None),
        ];
        for (key, offset) in given {
            if let Some(offset) = offset
                && !allowed.contains(&key)
            {
                self.fault(
                    offset,
                    format!(
                        "{verb:?} does not use {key} (it takes: {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn act(&mut self, verb: &S<String>, s: &raw::Step, at: usize) -> Option<Act> {
        use RoleKind::{Client, Server};
        Some(match verb.get_ref().as_str() {
            "start" => Act::Start(self.many_hosts(s, at, None)?),
            "stop" => Act::Stop(self.many_hosts(s, at, None)?),
            "kill" => Act::Kill(self.many_hosts(s, at, None)?),
            "restart" => Act::Restart(self.many_hosts(s, at, None)?),
            "link-down" => Act::LinkDown(self.many_hosts(s, at, None)?),
            "link-up" => Act::LinkUp(self.many_hosts(s, at, None)?),
            "suspend" => Act::Suspend(self.many_hosts(s, at, None)?),
            "resume" => Act::Resume(self.many_hosts(s, at, None)?),
            "release" => Act::Release(self.many_hosts(s, at, Some(Client))?),
            "drop" => Act::Drop(self.many_hosts(s, at, Some(Client))?),
            "inform" => {
                let host = self.need_host(s, at, Client)?;
                if self.family_of(&host) == Some(Family::V6) {
                    self.fault(
                        s.host.as_ref().map_or(at, |h| h.span().start),
                        format!("inform is for DHCPv4 clients; {host:?} is a DHCPv6 client (information-only = true makes it send Information-request)"),
                    );
                    return None;
                }
                let Some(a) = &s.address else {
                    self.fault(at, "inform needs the address the client has (address)");
                    return None;
                };
                Act::Inform {
                    host,
                    address: self.addr(a)?,
                }
            }
            "partition" => {
                let hosts = self.many_hosts(s, at, None)?;
                if hosts.len() < 2 {
                    self.fault(at, "partition needs two hosts or more");
                    return None;
                }
                Act::Partition(hosts)
            }
            "heal" => {
                if s.host.is_none() && s.hosts.is_none() {
                    Act::Heal(Vec::new())
                } else {
                    Act::Heal(self.many_hosts(s, at, None)?)
                }
            }
            "faults" => {
                let hosts = self.many_hosts(s, at, None)?;
                let Some(l) = &s.link else {
                    self.fault(at, "faults needs link = { loss = ..., delay = ..., ... } (what is not given is perfect)");
                    return None;
                };
                Act::Faults {
                    hosts,
                    faults: self.link(l),
                }
            }
            "send" if self.send_family(s) == Family::V6 => Act::Send6(self.send6(s, at)?),
            "send" => Act::Send(self.send(s, at)?),
            "reconfigure" => {
                let host = match &s.host {
                    Some(h) => self.one_host(h, Some(Server))?,
                    None => {
                        self.fault(at, "reconfigure needs host");
                        return None;
                    }
                };
                if self.family_of(&host) == Some(Family::V6) {
                    self.fault(
                        s.host.as_ref().map_or(at, |h| h.span().start),
                        format!(
                            "reconfigure is for DHCPv4 servers yet; {host:?} is a DHCPv6 server"
                        ),
                    );
                    return None;
                }
                let Some(c) = &s.config else {
                    self.fault(at, "reconfigure needs config");
                    return None;
                };
                Act::Reconfigure {
                    host,
                    config: Box::new(self.kea(c)?),
                    refused: s.refused.as_ref().is_some_and(|r| *r.get_ref()),
                }
            }
            "command" => {
                let host = match &s.host {
                    Some(h) => self.one_host(h, Some(Server))?,
                    None => {
                        self.fault(at, "command needs host (a server)");
                        return None;
                    }
                };
                let Some(c) = &s.command else {
                    self.fault(
                        at,
                        "command needs command (Kea's JSON: '{ \"command\": \"status-get\" }')",
                    );
                    return None;
                };
                match serde_json::from_str::<serde_json::Value>(c.get_ref()) {
                    Ok(v) if v.get("command").is_some_and(serde_json::Value::is_string) => {}
                    Ok(_) => {
                        self.fault(
                            c.span().start,
                            "command is a JSON map with a \"command\" string",
                        );
                        return None;
                    }
                    Err(e) => {
                        self.fault(c.span().start, format!("command is not JSON: {e}"));
                        return None;
                    }
                }
                Act::Command {
                    host,
                    command: c.get_ref().clone(),
                    result: s.result.as_ref().map_or(0, |r| *r.get_ref()),
                }
            }
            other => {
                self.fault(
                    verb.span().start,
                    format!("unknown action {other:?}: expected start, stop, kill, restart, link-down, link-up, suspend, resume, release, drop, inform, partition, heal, faults, send, reconfigure or command"),
                );
                return None;
            }
        })
    }

    fn to(&mut self, s: &S<String>) -> Option<To> {
        if s.get_ref() == "broadcast" {
            return Some(To::Broadcast);
        }
        Some(To::Host(self.one_host(s, None)?))
    }

    /// What every `send` step gives: the peer that sends, where to, and the message.
    fn send_parts<'s>(
        &mut self,
        s: &'s raw::Step,
        at: usize,
    ) -> Option<(String, To, &'s S<raw::Message>)> {
        let from = match &s.from {
            Some(f) => self.one_host(f, Some(RoleKind::Peer))?,
            None => {
                self.fault(at, "send needs from (a peer)");
                return None;
            }
        };
        let to = match &s.to {
            Some(t) => self.to(t)?,
            None => To::Broadcast,
        };
        let Some(m) = &s.message else {
            self.fault(at, "send needs a [step.message]");
            return None;
        };
        Some((from, to, m))
    }

    fn send(&mut self, s: &raw::Step, at: usize) -> Option<Send> {
        let (from, to, m) = self.send_parts(s, at)?;
        let mac = self.macs.get(&from).copied().unwrap_or_default();
        let Crafted {
            payload,
            request,
            vars,
        } = self.message(m, mac)?;
        let src = match &s.src {
            Some(a) => Some(self.endpoint(a)?),
            None => None,
        };
        let dst = match &s.dst {
            Some(a) => Some(self.endpoint(a)?),
            None => None,
        };
        Some(Send {
            from,
            to,
            payload,
            request,
            src,
            dst,
            vars,
        })
    }

    fn endpoint(&mut self, s: &S<String>) -> Option<SocketAddrV4> {
        match s.get_ref().parse::<SocketAddrV4>() {
            Ok(a) if a.ip().is_unspecified() || a.ip().is_broadcast() || in_lab_ranges(*a.ip()) => {
                Some(a)
            }
            Ok(a) => {
                self.fault(s.span().start, outside(*a.ip()));
                None
            }
            Err(_) => {
                self.fault(
                    s.span().start,
                    format!(
                        "{:?} is not an IPv4 address and port (192.0.2.1:67)",
                        s.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn int(&mut self, v: &Option<S<i64>>, max: u64, default: u64) -> Option<u64> {
        match v {
            None => Some(default),
            Some(x) => match u64::try_from(*x.get_ref()) {
                Ok(n) if n <= max => Some(n),
                _ => {
                    self.fault(x.span().start, format!("a number from 0 to {max}"));
                    None
                }
            },
        }
    }

    /// A crafted message: typed fields and options, then what makes it malformed; with the
    /// fields a variable fills when the step runs.
    fn message(&mut self, m: &S<raw::Message>, own_mac: [u8; 6]) -> Option<Crafted> {
        let m = m.get_ref();
        let op = self.int(&m.op, 255, 1)? as u8;
        let mut vars = Vec::new();
        let mac = match &m.chaddr {
            Some(c) if c.get_ref().starts_with('$') => {
                let var = &c.get_ref()[1..];
                self.check_var(var, c.span().start)?;
                vars.push((CHADDR_OFFSET, var.to_string()));
                own_mac
            }
            Some(c) => match parse_mac(c.get_ref()) {
                Ok(mac) => mac,
                Err(e) => {
                    self.fault(c.span().start, e);
                    return None;
                }
            },
            None => own_mac,
        };
        let xid = match &m.xid {
            None => 0x5eed,
            Some(v) => match v.get_ref() {
                Value::String(s) if s.starts_with('$') => {
                    self.check_var(&s[1..], v.span().start)?;
                    vars.push((XID_OFFSET, s[1..].to_string()));
                    0
                }
                Value::Integer(n) if u32::try_from(*n).is_ok() => *n as u32,
                _ => {
                    self.fault(
                        v.span().start,
                        "xid is a number from 0 to 4294967295, or \"$name\" for a captured one",
                    );
                    return None;
                }
            },
        };
        if let Some(p) = &m.payload {
            // The whole message is given: only a captured xid or chaddr may be put in it.
            let numeric_xid = m.xid.as_ref().is_some_and(|x| x.get_ref().is_integer());
            let fixed_chaddr = m
                .chaddr
                .as_ref()
                .is_some_and(|c| !c.get_ref().starts_with('$'));
            let others = [
                ("type", m.kind.is_some()),
                ("op", m.op.is_some()),
                ("htype", m.htype.is_some()),
                ("hlen", m.hlen.is_some()),
                ("hops", m.hops.is_some()),
                ("secs", m.secs.is_some()),
                ("flags", m.flags.is_some()),
                ("ciaddr", m.ciaddr.is_some()),
                ("yiaddr", m.yiaddr.is_some()),
                ("siaddr", m.siaddr.is_some()),
                ("giaddr", m.giaddr.is_some()),
                ("options", m.options.is_some()),
                ("cookie", m.cookie.is_some()),
                ("raw-options", m.raw_options.is_some()),
                ("end", m.end.is_some()),
                ("truncate", m.truncate.is_some()),
                ("padding", m.padding.is_some()),
                ("a numeric xid", numeric_xid),
                ("a fixed chaddr", fixed_chaddr),
            ];
            if !self.alone_with_payload(
                p.span().start,
                &others,
                " (only xid = \"$name\" and chaddr = \"$name\" can)",
            ) {
                return None;
            }
            let bytes = self.hex(p)?;
            let request = bytes.first().is_none_or(|op| *op != Message::BOOTREPLY);
            return Some(Crafted {
                payload: bytes,
                request,
                vars,
            });
        }
        let mut msg = Message::new(op, xid, mac);
        msg.htype = self.int(&m.htype, 255, 1)? as u8;
        msg.hlen = self.int(&m.hlen, 255, 6)? as u8;
        msg.hops = self.int(&m.hops, 255, 0)? as u8;
        msg.secs = self.int(&m.secs, 65535, 0)? as u16;
        msg.flags = self.int(&m.flags, 65535, 0)? as u16;
        for (field, value) in [
            (&mut msg.ciaddr, &m.ciaddr),
            (&mut msg.yiaddr, &m.yiaddr),
            (&mut msg.siaddr, &m.siaddr),
            (&mut msg.giaddr, &m.giaddr),
        ] {
            if let Some(v) = value {
                *field = self.addr(v)?;
            }
        }
        let mut options: Vec<(u8, Vec<u8>)> = Vec::new();
        if let Some(k) = &m.kind {
            options.push((53, vec![u8::from(self.message_type(k)?)]));
        }
        for (key, value) in m.options.iter().flatten() {
            let code = self.option_code(key, value.span().start)?;
            let data = self.option_data(code, value)?;
            options.push((code, data));
        }
        let raw = m.cookie.is_some()
            || m.raw_options.is_some()
            || m.end == Some(false)
            || m.truncate.is_some();
        let padding = self.int(&m.padding, 65_507, 0)? as usize;
        let padded = |mut bytes: Vec<u8>| {
            bytes.resize(bytes.len() + padding, 0);
            bytes
        };
        if !raw {
            for (code, data) in &options {
                if let Err(e) = msg.options.push_long(*code, data) {
                    self.fault(
                        m.options
                            .as_ref()
                            .and_then(|o| o.values().next())
                            .map_or(0, |v| v.span().start),
                        format!("option {code}: {e}"),
                    );
                    return None;
                }
            }
            return Some(Crafted {
                payload: padded(msg.encode()),
                request: op != Message::BOOTREPLY,
                vars,
            });
        }
        let mut builder = RawBuilder::from_header(&msg);
        builder = match &m.cookie {
            Some(c) => {
                let bytes = self.hex(c)?;
                builder.bytes(&bytes)
            }
            None => builder.magic(),
        };
        for (code, data) in &options {
            builder = builder.option(*code, data);
        }
        for o in m.raw_options.iter().flatten() {
            let o = o.get_ref();
            let code = self.int(&Some(o.code.clone()), 255, 0)? as u8;
            let data = self.hex(&o.data)?;
            let len = self.int(&o.len, 255, data.len() as u64)? as u8;
            builder = builder.option_with_len(code, len, &data);
        }
        if m.end != Some(false) {
            builder = builder.end();
        }
        if let Some(t) = &m.truncate {
            let n = self.int(&Some(t.clone()), 65_507, 0)?;
            builder = builder.truncate(n as usize);
        }
        Some(Crafted {
            payload: padded(builder.build()),
            request: op != Message::BOOTREPLY,
            vars,
        })
    }

    fn message_type(&mut self, k: &S<String>) -> Option<dhcplab_wire::v4::MessageType> {
        match message_type_named(k.get_ref()) {
            Some(t) => Some(t),
            None => {
                self.fault(k.span().start, format!("unknown message type {:?} (DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM, ...)", k.get_ref()));
                None
            }
        }
    }

    fn option_code(&mut self, key: &str, at: usize) -> Option<u8> {
        if let Ok(n) = key.parse::<u8>() {
            return Some(n);
        }
        match options4::code_of(key) {
            Some(c) => Some(c),
            None => {
                self.fault(at, format!("unknown option {key:?}: give its code or Kea's name (dhcp-lease-time, routers, ...)"));
                None
            }
        }
    }

    /// An option's bytes from a TOML value, as the option's format reads it.
    fn option_data(&mut self, code: u8, v: &S<Value>) -> Option<Vec<u8>> {
        let format = catalogue::lookup(code).map(|(_, f)| f);
        let at = v.span().start;
        match v.get_ref() {
            Value::Integer(i) => {
                let n = *i;
                let width = match format {
                    Some(Format::U8 | Format::Bool | Format::MessageType | Format::Overload) => 1,
                    Some(Format::U16) => 2,
                    _ => 4,
                };
                if n < 0 || (width < 4 && n >= 1 << (8 * width)) || n > i64::from(u32::MAX) {
                    self.fault(
                        at,
                        format!("{n} does not fit option {code}'s {width} bytes"),
                    );
                    return None;
                }
                Some((n as u32).to_be_bytes()[4 - width..].to_vec())
            }
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item.as_integer().and_then(|i| u8::try_from(i).ok()) {
                        Some(b) => out.push(b),
                        None => {
                            self.fault(at, "a list is of byte values (0 to 255)");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Value::String(s) if s.starts_with("0x") || (s.contains(':') && !s.contains('.')) => {
                self.hex(&S::new(at..at, s.clone()))
            }
            Value::String(s)
                if matches!(
                    format,
                    Some(Format::Addr | Format::Addrs | Format::AddrsOrEmpty)
                ) =>
            {
                let mut out = Vec::new();
                for part in s.split(',') {
                    out.extend(
                        self.addr(&S::new(at..at, part.trim().to_string()))?
                            .octets(),
                    );
                }
                Some(out)
            }
            Value::String(s) if format == Some(Format::MessageType) => Some(vec![u8::from(
                self.message_type(&S::new(at..at, s.clone()))?,
            )]),
            Value::String(s) => Some(s.as_bytes().to_vec()),
            other => {
                self.fault(
                    at,
                    format!(
                        "option {code}: a number, a string or a list of bytes, not {}",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    /// Which messages a step looks at, and the DHCP version they are of, when the step's
    /// type or hosts say it (or the scenario has no DHCPv6 host).
    fn filter(&mut self, s: &raw::Step) -> Option<(Filter, Option<Family>)> {
        let from = match &s.from {
            Some(f) => Some(self.one_host(f, None)?),
            None => None,
        };
        let to = match &s.to {
            Some(t) => Some(self.to(t)?),
            None => None,
        };
        let named = from
            .as_deref()
            .map(|h| (h, self.family_of(h)))
            .filter(|(_, f)| f.is_some())
            .or_else(|| match &to {
                Some(To::Host(h)) => Some((h.as_str(), self.family_of(h))),
                _ => None,
            })
            .and_then(|(h, f)| Some((h.to_string(), f?)));
        let hosts_family = named
            .as_ref()
            .map(|(_, f)| *f)
            .or((!self.any_v6).then_some(Family::V4));
        let kind = match &s.kind {
            Some(k) => Some(self.kind(k, hosts_family)?),
            None => None,
        };
        if let (Some(k), Some((host, f))) = (kind, &named)
            && k.family() != *f
            && let Some(at) = s.kind.as_ref().map(|k| k.span().start)
        {
            self.fault(
                at,
                format!("{k} is a {} message, and {host:?} speaks {f}", k.family()),
            );
            return None;
        }
        let family = kind.map(Kind::family).or(hosts_family);
        Some((Filter { from, to, kind }, family))
    }

    /// A message type by name in the step's DHCP version: REQUEST, RELEASE and DECLINE are
    /// names in both, and take the version of the step's hosts.
    fn kind(&mut self, k: &S<String>, family: Option<Family>) -> Option<Kind> {
        let name = k.get_ref().as_str();
        let v4 = match name {
            "BOOTREQUEST" => Some(Kind::BootRequest),
            "BOOTREPLY" => Some(Kind::BootReply),
            _ => message_type_named(name).map(Kind::Dhcp),
        };
        let v6 = crate::v6::message_type6_named(name).map(Kind::Dhcp6);
        match (v4, v6, family) {
            (Some(a), Some(_), Some(Family::V4)) | (Some(a), None, _) => Some(a),
            (Some(_), Some(b), Some(Family::V6)) | (None, Some(b), _) => Some(b),
            (Some(_), Some(_), None) => {
                self.fault(
                    k.span().start,
                    format!("{name} is a DHCPv4 and a DHCPv6 type: give from or to a host of one version to say which"),
                );
                None
            }
            (None, None, _) => {
                self.fault(k.span().start, format!("unknown message type {name:?} (DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM, ...; SOLICIT, ADVERTISE, REQUEST, RENEW, REBIND, REPLY, RELAY-FORW, ...)"));
                None
            }
        }
    }

    fn target(&mut self, key: &str, at: usize, family: Option<Family>) -> Option<Target> {
        if let Some((_, f)) = Field::ALL.iter().find(|(n, _)| *n == key) {
            return self.field_of(*f, key, at, family);
        }
        match family {
            Some(Family::V4) => self.option_code(key, at).map(Target::Option),
            Some(Family::V6) => match Path6::parse(key) {
                Ok(p) => Some(Target::Option6(p)),
                Err(e) => {
                    self.fault(at, e);
                    None
                }
            },
            None => {
                self.fault(at, format!("{key}: give type, or from or to a host of one version, so that the option can be read as DHCPv4's or DHCPv6's"));
                None
            }
        }
    }

    /// A field, if messages of the step's version have it.
    fn field_of(
        &mut self,
        f: Field,
        key: &str,
        at: usize,
        family: Option<Family>,
    ) -> Option<Target> {
        match family {
            Some(fam) if !f.in_family(fam) => {
                self.fault(at, format!("a {fam} message has no field {key}"));
                None
            }
            None if !f.in_family(Family::V4) || !f.in_family(Family::V6) => {
                self.fault(at, format!("{key}: give type, or from or to a host of one version, so that the field can be read"));
                None
            }
            _ => Some(Target::Field(f)),
        }
    }

    fn expect(&mut self, kind: &S<String>, s: &raw::Step, at: usize) -> Option<Expect> {
        Some(match kind.get_ref().as_str() {
            "message" => {
                let (filter, family) = self.filter(s)?;
                if let (Some(Kind::Dhcp6(t)), Some(fields)) = (filter.kind, &s.fields)
                    && !t.is_relay()
                {
                    for (key, value) in fields {
                        if Field::ALL
                            .iter()
                            .any(|(n, f)| n == key && Field::RELAY.contains(f))
                        {
                            self.fault(
                                value.span().start,
                                format!(
                                    "{key} is a field of RELAY-FORW and RELAY-REPL, not of {t}"
                                ),
                            );
                        }
                    }
                }
                let Some(w) = &s.within else {
                    self.fault(
                        at,
                        "expect = \"message\" needs within: how long to wait for it",
                    );
                    return None;
                };
                let within = self.duration(w)?;
                let not_before = match &s.not_before {
                    Some(n) => self.duration(n)?,
                    None => Duration::ZERO,
                };
                if not_before > within {
                    self.fault(at, "not-before is later than within");
                    return None;
                }
                let mut checks = Vec::new();
                let options = s.options.as_ref().map(flatten_paths);
                for (table, only_fields) in [(&s.fields, true), (&options, false)] {
                    for (key, value) in table.iter().flatten() {
                        let vat = value.span().start;
                        let target = if only_fields {
                            match Field::ALL.iter().find(|(n, _)| *n == key) {
                                Some((_, f)) => match self.field_of(*f, key, vat, family) {
                                    Some(t) => t,
                                    None => continue,
                                },
                                None => {
                                    let names: Vec<&str> =
                                        Field::ALL.iter().map(|(n, _)| *n).collect();
                                    self.fault(
                                        vat,
                                        format!(
                                            "unknown field {key:?}: expected one of {}",
                                            names.join(", ")
                                        ),
                                    );
                                    continue;
                                }
                            }
                        } else {
                            match self.target(key, vat, family) {
                                Some(t @ (Target::Option(_) | Target::Option6(_))) => t,
                                Some(Target::Field(_)) => {
                                    self.fault(
                                        vat,
                                        format!("{key} is a field: check it in [step.fields]"),
                                    );
                                    continue;
                                }
                                None => continue,
                            }
                        };
                        if let Some(matcher) = self.matcher(value, target) {
                            checks.push(Check {
                                target,
                                matcher,
                                place: self.place(vat),
                            });
                        }
                    }
                }
                let mut capture = Vec::new();
                for (var, what) in s.capture.iter().flatten() {
                    if let Some(t) = self.target(what.get_ref(), what.span().start, family) {
                        capture.push((var.clone(), t));
                    }
                }
                for (var, _) in &capture {
                    self.captured.insert(var.clone());
                }
                if s.optional.as_ref().is_some_and(|o| *o.get_ref()) && !capture.is_empty() {
                    self.fault(
                        at,
                        "an optional message cannot capture: a later step would use what may not have come",
                    );
                }
                Expect::Message {
                    filter,
                    window: Window { not_before, within },
                    checks,
                    capture,
                    optional: s.optional.as_ref().is_some_and(|o| *o.get_ref()),
                }
            }
            "nothing" => {
                let (filter, _) = self.filter(s)?;
                let Some(w) = &s.within else {
                    self.fault(
                        at,
                        "expect = \"nothing\" needs within: how long nothing may come",
                    );
                    return None;
                };
                Expect::Nothing {
                    filter,
                    within: self.duration(w)?,
                }
            }
            "hook-calls" => {
                let host = self.need_host(s, at, RoleKind::Server)?;
                let Some(c) = &s.calls else {
                    self.fault(at, "expect = \"hook-calls\" needs calls = [\"A pkt4_receive\", ...] (every call since the previous such check, in order)");
                    return None;
                };
                for call in c.get_ref() {
                    let known = call.get_ref().split_once(' ').is_some_and(|(_, hook)| {
                        hook == "load"
                            || hook == "unload"
                            || dhcplab_hooks::HookPoint::from_name(hook).is_some()
                    });
                    if !known {
                        self.fault(
                            call.span().start,
                            format!(
                                "{:?} is not \"LIBRARY HOOK\" with a hook point of Kea's, load or unload",
                                call.get_ref()
                            ),
                        );
                    }
                }
                Expect::HookCalls {
                    host,
                    calls: c.get_ref().iter().map(|x| x.get_ref().clone()).collect(),
                }
            }
            "script" => {
                let host = self.need_host(s, at, RoleKind::Server)?;
                let Some(r) = &s.runs else {
                    self.fault(at, "expect = \"script\" needs runs = [\"lease4_renew\", { hook = \"leases4_committed\", env = { ... } }, ...] (every run since the previous such check, in order)");
                    return None;
                };
                // Every run checked, so that every fault is reported.
                let checked: Vec<Option<ScriptCheck>> =
                    r.get_ref().iter().map(|v| self.script_check(v)).collect();
                let runs = checked.into_iter().collect::<Option<Vec<_>>>()?;
                Expect::Scripts { host, runs }
            }
            "events" => {
                let host = self.need_host(s, at, RoleKind::Client)?;
                let Some(e) = &s.events else {
                    self.fault(at, "expect = \"events\" needs events = [\"BOUND\", ...] (every event since the start, in order)");
                    return None;
                };
                Expect::Events {
                    host,
                    events: e.get_ref().iter().map(|x| x.get_ref().clone()).collect(),
                }
            }
            "client" => {
                let host = self.need_host(s, at, RoleKind::Client)?;
                let family = self.family_of(&host).unwrap_or(Family::V4);
                let states: &[&str] = match family {
                    Family::V4 => &CLIENT_STATES,
                    Family::V6 => &CLIENT6_STATES,
                };
                let state = match &s.state {
                    Some(st) if states.contains(&st.get_ref().as_str()) => {
                        Some(st.get_ref().clone())
                    }
                    Some(st) => {
                        self.fault(
                            st.span().start,
                            format!(
                                "unknown {family} client state {:?}: expected one of {}",
                                st.get_ref(),
                                states.join(", ")
                            ),
                        );
                        return None;
                    }
                    None => None,
                };
                let address = match &s.address {
                    Some(a) if a.get_ref() == "none" => Some(None),
                    Some(a) => Some(Some(self.addr_ref_of(a, family)?)),
                    None => None,
                };
                let prefix = match &s.prefix {
                    Some(p) if family == Family::V4 => {
                        self.fault(
                            p.span().start,
                            format!("prefix is for DHCPv6 clients; {host:?} is a DHCPv4 client"),
                        );
                        return None;
                    }
                    Some(p) if p.get_ref() == "none" => Some(None),
                    Some(p) => Some(Some(self.prefix_ref(p)?)),
                    None => None,
                };
                let not_address = match &s.not_address {
                    Some(a) => Some(self.addr_ref_of(a, family)?),
                    None => None,
                };
                if state.is_none() && address.is_none() && prefix.is_none() && not_address.is_none()
                {
                    self.fault(
                        at,
                        "expect = \"client\" needs state, address, not-address or prefix",
                    );
                    return None;
                }
                Expect::Client {
                    host,
                    state,
                    address,
                    not_address,
                    prefix,
                }
            }
            "lease" => {
                let host = self.need_host(s, at, RoleKind::Server)?;
                let family = self.family_of(&host).unwrap_or(Family::V4);
                let of = match (&s.address, &s.prefix) {
                    (Some(a), None) => LeaseOf::Address(self.addr_ref_of(a, family)?),
                    (None, Some(p)) if family == Family::V6 => LeaseOf::Prefix(self.prefix_ref(p)?),
                    (None, Some(p)) => {
                        self.fault(
                            p.span().start,
                            format!("prefix is for DHCPv6 servers; {host:?} is a DHCPv4 server"),
                        );
                        return None;
                    }
                    (Some(_), Some(p)) => {
                        self.fault(
                            p.span().start,
                            "a lease is of an address or of a prefix, not both",
                        );
                        return None;
                    }
                    (None, None) => {
                        self.fault(
                            at,
                            "expect = \"lease\" needs address (or prefix, for a delegated prefix)",
                        );
                        return None;
                    }
                };
                let state = match &s.state {
                    None => LeaseState::Active,
                    Some(st) => match LeaseState::NAMES.iter().find(|(n, _)| *n == st.get_ref()) {
                        Some((_, x)) => *x,
                        None => {
                            self.fault(st.span().start, format!("unknown lease state {:?}: expected active, expired, reclaimed, declined or absent", st.get_ref()));
                            return None;
                        }
                    },
                };
                let owner = match &s.to {
                    Some(o) => Some(self.one_host(o, Some(RoleKind::Client))?),
                    None => None,
                };
                Expect::Lease {
                    host,
                    of,
                    state,
                    owner,
                }
            }
            "leases" => {
                let host = self.need_host(s, at, RoleKind::Server)?;
                let Some(c) = &s.count else {
                    self.fault(
                        at,
                        "expect = \"leases\" needs count (a number or { min, max })",
                    );
                    return None;
                };
                let (min, max) = match self.matcher(c, Target::Option(0))? {
                    Matcher::Int(n) => (n, n),
                    Matcher::Range { min, max } => (min.unwrap_or(0), max.unwrap_or(u64::MAX)),
                    _ => {
                        self.fault(c.span().start, "count is a number or { min, max }");
                        return None;
                    }
                };
                Expect::Leases { host, min, max }
            }
            "ha-state" => {
                let host = self.need_host(s, at, RoleKind::Server)?;
                let Some(st) = &s.state else {
                    self.fault(
                        at,
                        "expect = \"ha-state\" needs state (hot-standby, partner-down, ...)",
                    );
                    return None;
                };
                if !HA_STATES.contains(&st.get_ref().as_str()) {
                    self.fault(
                        st.span().start,
                        format!(
                            "unknown HA state {:?}: expected {}",
                            st.get_ref(),
                            HA_STATES.join(", ")
                        ),
                    );
                    return None;
                }
                let within = match &s.within {
                    Some(w) => self.duration(w)?,
                    None => Duration::ZERO,
                };
                Expect::HaState {
                    host,
                    state: st.get_ref().clone(),
                    within,
                }
            }
            other => {
                self.fault(kind.span().start, format!("unknown expectation {other:?}: expected message, nothing, events, client, lease, leases, ha-state, hook-calls or script"));
                return None;
            }
        })
    }

    fn need_host(&mut self, s: &raw::Step, at: usize, want: RoleKind) -> Option<String> {
        match &s.host {
            Some(h) => self.one_host(h, Some(want)),
            None => {
                self.fault(at, "this expectation needs host");
                None
            }
        }
    }

    /// One entry of a script expectation's `runs`: a hook point's name, or a table with
    /// `hook` and `env`.
    fn script_check(&mut self, v: &S<toml::Value>) -> Option<ScriptCheck> {
        let at = v.span().start;
        let (hook, env) = match v.get_ref() {
            toml::Value::String(h) => (h.clone(), Vec::new()),
            toml::Value::Table(t) => {
                if let Some(k) = t.keys().find(|k| *k != "hook" && *k != "env") {
                    self.fault(
                        at,
                        format!("unknown key {k:?} in a run: expected hook and env"),
                    );
                    return None;
                }
                let Some(toml::Value::String(h)) = t.get("hook") else {
                    self.fault(at, "a run needs hook = \"...\"");
                    return None;
                };
                let mut env = Vec::new();
                match t.get("env") {
                    None => {}
                    Some(toml::Value::Table(e)) => {
                        for (k, x) in e {
                            let Some(text) = x.as_str() else {
                                self.fault(at, format!("env {k}: the value must be a string"));
                                return None;
                            };
                            if let Some(var) = text.strip_prefix('$') {
                                self.check_var(var, at)?;
                            }
                            env.push((k.clone(), text.to_string()));
                        }
                    }
                    Some(_) => {
                        self.fault(at, "env must be a table of variable = \"value\"");
                        return None;
                    }
                }
                (h.clone(), env)
            }
            _ => {
                self.fault(
                    at,
                    "a run is a hook point's name or { hook = ..., env = { ... } }",
                );
                return None;
            }
        };
        if dhcplab_hooks::HookPoint::from_name(&hook).is_none() {
            self.fault(at, format!("{hook:?} is not a hook point of Kea's"));
            return None;
        }
        Some(ScriptCheck { hook, env })
    }

    /// An address of a host of `family`, or a captured one.
    fn addr_ref_of(&mut self, s: &S<String>, family: Family) -> Option<AddrRef> {
        match s.get_ref().strip_prefix('$') {
            Some(var) => {
                self.check_var(var, s.span().start)?;
                Some(AddrRef::Var(var.to_string()))
            }
            None if family == Family::V6 => self
                .addr6(s)
                .map(|a| AddrRef::Literal(std::net::IpAddr::V6(a))),
            None => self
                .addr(s)
                .map(|a| AddrRef::Literal(std::net::IpAddr::V4(a))),
        }
    }

    fn check_var(&mut self, var: &str, at: usize) -> Option<()> {
        if self.captured.contains(var) {
            Some(())
        } else {
            self.fault(at, format!("${var} is used before any step captures it"));
            None
        }
    }

    fn matcher(&mut self, v: &S<Value>, target: Target) -> Option<Matcher> {
        let at = v.span().start;
        if let Target::Option6(p) = target
            && let Some(m) = self.matcher6(v, p)
        {
            return m;
        }
        Some(match v.get_ref() {
            Value::String(s) if s == "present" || s == "absent" => {
                if matches!(target, Target::Field(_)) {
                    self.fault(
                        at,
                        "present and absent are for options; a field is always there",
                    );
                    return None;
                }
                if s == "present" {
                    Matcher::Present
                } else {
                    Matcher::Absent
                }
            }
            Value::String(s) if s.starts_with('$') => {
                let var = &s[1..];
                self.check_var(var, at)?;
                Matcher::Var(var.to_string())
            }
            Value::String(s) => Matcher::Text(s.clone()),
            Value::Integer(n) if *n >= 0 => Matcher::Int(*n as u64),
            Value::Boolean(b) => Matcher::Int(u64::from(*b)),
            Value::Array(items) => {
                let mut bytes = Vec::new();
                for i in items {
                    match i.as_integer().and_then(|n| u8::try_from(n).ok()) {
                        Some(b) => bytes.push(b),
                        None => {
                            self.fault(at, "a list is of byte values (0 to 255)");
                            return None;
                        }
                    }
                }
                Matcher::Bytes(bytes)
            }
            Value::Table(t) => {
                let get = |k: &str| {
                    t.get(k)
                        .and_then(Value::as_integer)
                        .and_then(|n| u64::try_from(n).ok())
                };
                if let Some(k) = t.keys().find(|k| *k != "min" && *k != "max") {
                    self.fault(at, format!("unknown key {k:?}: a range has min and max"));
                    return None;
                }
                let (min, max) = (get("min"), get("max"));
                let given = t.len();
                if (min.is_none() && max.is_none())
                    || given != usize::from(min.is_some()) + usize::from(max.is_some())
                {
                    self.fault(at, "a range has min, max or both, numbers 0 or more");
                    return None;
                }
                if let (Some(a), Some(b)) = (min, max)
                    && a > b
                {
                    self.fault(at, "a range's max is below its min");
                    return None;
                }
                Matcher::Range { min, max }
            }
            other => {
                self.fault(at, format!("cannot match against {}", other.type_str()));
                return None;
            }
        })
    }
}

/// The checks of `[step.options]` with TOML's dotted keys undone: `ia-na.iaaddr.valid = 60`
/// reaches here as a table in a table, and is the path `ia-na.iaaddr.valid` again. A table of
/// `min` and `max` is a range, not a path.
fn flatten_paths(options: &BTreeMap<String, S<Value>>) -> BTreeMap<String, S<Value>> {
    fn walk(
        prefix: &str,
        v: &Value,
        span: std::ops::Range<usize>,
        out: &mut Vec<(String, S<Value>)>,
    ) {
        match v {
            Value::Table(t) if !t.is_empty() && !t.keys().all(|k| k == "min" || k == "max") => {
                for (k, x) in t {
                    walk(&format!("{prefix}.{k}"), x, span.clone(), out);
                }
            }
            _ => out.push((prefix.to_string(), S::new(span, v.clone()))),
        }
    }
    let mut out = Vec::new();
    for (k, v) in options {
        walk(k, v.get_ref(), v.span(), &mut out);
    }
    out.into_iter().collect()
}

/// The fault of an address outside the ranges a run may use.
fn outside(a: Ipv4Addr) -> String {
    format!(
        "{a} is outside the ranges a run may use (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15)"
    )
}

/// A crafted message as [`Send`] carries it.
struct Crafted {
    payload: Vec<u8>,
    request: bool,
    vars: Vec<(usize, String)>,
}

/// The keys each action reads; `None` for an unknown action.
fn allowed_for_action(verb: &str) -> Option<&'static [&'static str]> {
    Some(match verb {
        "start" | "stop" | "kill" | "restart" | "link-down" | "link-up" | "suspend" | "resume"
        | "release" | "drop" | "partition" | "heal" => &["host", "hosts"],
        "inform" => &["host", "address"],
        "faults" => &["host", "hosts", "link"],
        "send" => &["from", "to", "message", "src", "dst"],
        "reconfigure" => &["host", "config", "refused"],
        "command" => &["host", "command", "result"],
        _ => return None,
    })
}

/// The keys each expectation reads; `None` for an unknown expectation.
fn allowed_for_expectation(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "message" => &[
            "from",
            "to",
            "type",
            "within",
            "not-before",
            "fields",
            "options",
            "capture",
            "optional",
        ],
        "nothing" => &["from", "to", "type", "within"],
        "events" => &["host", "events"],
        "hook-calls" => &["host", "calls"],
        "script" => &["host", "runs"],
        "client" => &["host", "state", "address", "not-address", "prefix"],
        "lease" => &["host", "address", "prefix", "state", "to"],
        "leases" => &["host", "count"],
        "ha-state" => &["host", "state", "within"],
        _ => return None,
    })
}

/// The HA states an expectation can name (Kea's).
pub(crate) const HA_STATES: [&str; 12] = [
    "backup",
    "communication-recovery",
    "hot-standby",
    "load-balancing",
    "in-maintenance",
    "partner-down",
    "partner-in-maintenance",
    "passive-backup",
    "ready",
    "syncing",
    "terminated",
    "waiting",
];

/// The client states an expectation can name.
pub(crate) const CLIENT_STATES: [&str; 13] = [
    "init",
    "selecting",
    "requesting",
    "probing",
    "declined",
    "bound",
    "renewing",
    "rebinding",
    "init-reboot",
    "rebooting",
    "informing",
    "idle",
    "stopped",
];

/// The DHCPv6 client states an expectation can name.
pub(crate) const CLIENT6_STATES: [&str; 13] = [
    "init",
    "soliciting",
    "requesting",
    "bound",
    "renewing",
    "rebinding",
    "confirming",
    "declining",
    "releasing",
    "informing",
    "informed",
    "idle",
    "stopped",
];

/// The message type named `name` (`DISCOVER`, `ACK`, ...).
pub fn message_type_named(name: &str) -> Option<dhcplab_wire::v4::MessageType> {
    (1..=255u8)
        .map(dhcplab_wire::v4::MessageType::from)
        .find(|t| t.to_string().eq_ignore_ascii_case(name))
}

/// The link address of the `n`th host when the file gives none: 02:00:5e:00:53:01 for the
/// first, counting up.
fn default_mac(n: u32) -> [u8; 6] {
    let v = 0x5300 + n;
    [0x02, 0x00, 0x5e, (v >> 16) as u8, (v >> 8) as u8, v as u8]
}
