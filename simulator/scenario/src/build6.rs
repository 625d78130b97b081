//! The DHCPv6 part of building a scenario: v6 servers, clients and relay agents, segments,
//! addresses in 2001:db8::/32, crafted v6 messages and the matchers of v6 paths.

use super::{Builder, RoleKind};
use crate::raw::{self, S};
use crate::text::parse_hex;
use crate::v6::{
    ALL_DHCP_RELAY_AGENTS_AND_SERVERS, DEFAULT_SEGMENT, Header6, Leaf6, Message6, Option6, Piece,
    datagram_addr6_allowed, in_lab_range6, message_type6_named, option6_code, parse_prefix6,
    status_code_named,
};
use crate::*;
use dhcplab_kea_config::json::{self, Spanned};
use dhcplab_wire::v6::catalogue::{self, Format, MessageType as Type6};
use std::net::SocketAddrV6;
use toml::Value;

/// The ORO a DHCPv6 client sends when the file gives none: DNS servers and the domain
/// search list (RFC 3646), as dhcpagent asks for them.
pub(crate) const DEFAULT_REQUEST: [u16; 2] = [23, 24];

/// The most IAs of one kind a client may ask for.
const MAX_IAS: i64 = 8;

/// Whether a server's configuration is a DHCPv6 one: JSON whose top holds a `Dhcp6` map.
pub(super) fn is_dhcp6(text: &str) -> bool {
    json::parse(text).is_ok_and(|root| match &root.value {
        json::Value::Object(members) => members.iter().any(|(k, _)| k.name == "Dhcp6"),
        _ => false,
    })
}

/// The ports a crafted v6 message of type `t` goes from and to (RFC 8415 7.2): a client's
/// message from 546 to 547, a server's answer to a client from 547 to 546, relay messages
/// from 547 to 547.
fn ports_of(t: Type6) -> (u16, u16) {
    match t {
        Type6::ADVERTISE | Type6::REPLY | Type6::RECONFIGURE => (547, 546),
        Type6::RELAY_FORW | Type6::RELAY_REPL => (547, 547),
        _ => (546, 547),
    }
}

impl Builder<'_> {
    /// The family of the host or group named `name`, if it has one.
    pub(super) fn family_of(&self, name: &str) -> Option<Family> {
        self.families.get(name).copied().flatten()
    }

    /// A host's segment (`segment`, default `lan`; a relay's first entry of `segments`).
    pub(super) fn segment_of(&mut self, h: &raw::Host, kind: RoleKind) -> Option<String> {
        let check = |b: &mut Self, s: &S<String>| -> Option<String> {
            let name = s.get_ref();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                b.fault(
                    s.span().start,
                    format!("segment name {name:?}: use letters, digits, '-' and '_'"),
                );
                return None;
            }
            Some(name.clone())
        };
        if kind == RoleKind::Relay {
            if let Some(s) = &h.segment {
                self.fault(
                    s.span().start,
                    "a relay sits on two segments: give segments = [\"client-side\", \"server-side\"]",
                );
                return None;
            }
            let Some(list) = &h.segments else {
                self.fault(
                    h.name.span().start,
                    "a relay needs segments = [\"client-side\", \"server-side\"]",
                );
                return None;
            };
            let [client, server] = list.get_ref().as_slice() else {
                self.fault(
                    list.span().start,
                    "segments is two names: the clients' side, then the server's",
                );
                return None;
            };
            let c = check(self, client)?;
            let s = check(self, server)?;
            if c == s {
                self.fault(server.span().start, "a relay's two segments must differ");
                return None;
            }
            return Some(c);
        }
        match &h.segment {
            Some(s) => check(self, s),
            None => Some(DEFAULT_SEGMENT.to_string()),
        }
    }

    /// Faults for the relay-only keys on another host.
    pub(super) fn only_for_relays(&mut self, h: &raw::Host, kind: RoleKind) {
        if kind == RoleKind::Relay {
            return;
        }
        for (key, at) in [
            ("segments", h.segments.as_ref().map(|v| v.span().start)),
            ("upstream", h.upstream.as_ref().map(|v| v.span().start)),
            (
                "link-address",
                h.link_address.as_ref().map(|v| v.span().start),
            ),
            (
                "interface-id",
                h.interface_id.as_ref().map(|v| v.span().start),
            ),
        ] {
            self.refuse(at, key, "relays");
        }
    }

    /// Faults for DHCPv6 client keys on a host that is not one.
    pub(super) fn refuse_v6_client_keys(&mut self, h: &raw::Host) {
        for (key, at) in [
            ("ia-na", h.ia_na.as_ref().map(|v| v.span().start)),
            ("ia-pd", h.ia_pd.as_ref().map(|v| v.span().start)),
            (
                "rapid-commit",
                h.rapid_commit.as_ref().map(|v| v.span().start),
            ),
            (
                "information-only",
                h.information_only.as_ref().map(|v| v.span().start),
            ),
            ("duid", h.duid.as_ref().map(|v| v.span().start)),
            ("request", h.request.as_ref().map(|v| v.span().start)),
        ] {
            self.refuse(at, key, "DHCPv6 clients (family = \"v6\")");
        }
    }

    /// Faults for DHCPv4 client keys on a host that is not one.
    pub(super) fn refuse_v4_client_keys(&mut self, h: &raw::Host, who: &str) {
        for (key, at) in [
            ("probe", h.probe.as_ref().map(|v| v.span().start)),
            ("bootp", h.bootp.as_ref().map(|v| v.span().start)),
            ("client-id", h.client_id.as_ref().map(|v| v.span().start)),
            ("hostname", h.hostname.as_ref().map(|v| v.span().start)),
            ("offer-wait", h.offer_wait.as_ref().map(|v| v.span().start)),
        ] {
            if let Some(at) = at {
                self.fault(at, format!("{key} is for DHCPv4 {who}"));
            }
        }
    }

    /// A DHCPv6 client (`family = "v6"`).
    pub(super) fn client6(
        &mut self,
        h: &raw::Host,
        start: Span,
        churn: Option<Churn>,
    ) -> Option<Role> {
        let before = self.faults.len();
        self.refuse_v4_client_keys(h, "clients (this one is family = \"v6\")");
        let count = |b: &mut Self, v: &Option<S<i64>>, default: u8, key: &str| -> u8 {
            match v {
                None => default,
                Some(n) if (0..=MAX_IAS).contains(n.get_ref()) => *n.get_ref() as u8,
                Some(n) => {
                    b.fault(
                        n.span().start,
                        format!("{key} is how many to ask for, 0 to {MAX_IAS}"),
                    );
                    default
                }
            }
        };
        let ia_na = count(self, &h.ia_na, 1, "ia-na");
        let ia_pd = count(self, &h.ia_pd, 0, "ia-pd");
        let information_only = h.information_only.as_ref().is_some_and(|b| *b.get_ref());
        if information_only
            && let Some(at) = h
                .ia_na
                .as_ref()
                .filter(|n| *n.get_ref() > 0)
                .or(h.ia_pd.as_ref().filter(|n| *n.get_ref() > 0))
                .map(|n| n.span().start)
        {
            self.fault(
                at,
                "an information-only client asks for no IA (RFC 8415 18.2.6): leave out ia-na and ia-pd",
            );
        }
        if !information_only && ia_na == 0 && ia_pd == 0 {
            self.fault(
                h.name.span().start,
                "a DHCPv6 client asks for an IA_NA or an IA_PD (ia-na, ia-pd), or is information-only",
            );
        }
        let duid = match &h.duid {
            Some(d) => match parse_hex(d.get_ref()) {
                Ok(b) if (3..=130).contains(&b.len()) => Some(b),
                Ok(_) => {
                    self.fault(
                        d.span().start,
                        "a DUID is 3 to 130 bytes (RFC 8415 11.1): a 2-byte type and its data",
                    );
                    None
                }
                Err(e) => {
                    self.fault(d.span().start, e);
                    None
                }
            },
            None => None,
        };
        let request = match &h.request {
            None => DEFAULT_REQUEST.to_vec(),
            Some(list) => {
                let mut out = Vec::new();
                for c in list.get_ref() {
                    match u16::try_from(*c.get_ref()) {
                        Ok(code) if code > 0 => out.push(code),
                        _ => self.fault(c.span().start, "an option code is 1 to 65535"),
                    }
                }
                out
            }
        };
        if self.faults.len() > before {
            return None;
        }
        Some(Role::Client6(Client6Host {
            group: None,
            start,
            churn,
            ia_na: if information_only { 0 } else { ia_na },
            ia_pd: if information_only { 0 } else { ia_pd },
            rapid_commit: h.rapid_commit.as_ref().is_some_and(|b| *b.get_ref()),
            information_only,
            duid,
            request,
        }))
    }

    /// A DHCPv6 relay agent.
    pub(super) fn relay(&mut self, h: &raw::Host, at: usize, segment: &str) -> Option<Role> {
        let before = self.faults.len();
        for (key, who, v) in [
            (
                "config",
                "servers",
                h.config.as_ref().map(|v| v.span().start),
            ),
            ("clock", "servers", h.clock.as_ref().map(|v| v.span().start)),
            ("start", "clients", h.start.as_ref().map(|v| v.span().start)),
            ("churn", "clients", h.churn.as_ref().map(|v| v.span().start)),
        ] {
            self.refuse(v, key, who);
        }
        self.refuse_v4_client_keys(h, "clients");
        self.refuse_v6_client_keys(h);
        let Some(up) = &h.upstream else {
            self.fault(
                at,
                "a relay needs upstream: the server or relay it forwards to",
            );
            return None;
        };
        let Some(link) = &h.link_address else {
            self.fault(
                at,
                "a relay needs link-address: the address (2001:db8::/32) that names its clients' link in Relay-forw",
            );
            return None;
        };
        let link_address = self.lab_addr6(link, "a relay's link-address");
        let interface_id = match &h.interface_id {
            Some(i) => match i.get_ref().strip_prefix("0x") {
                Some(_) => self.hex(i),
                None if i.get_ref().is_empty() => {
                    self.fault(i.span().start, "an Interface-Id has at least one byte");
                    None
                }
                None => Some(i.get_ref().as_bytes().to_vec()),
            },
            None => None,
        };
        let address = match &h.address {
            Some(a) => self.lab_addr6(a, "a relay's"),
            None => None,
        };
        let server_side = h
            .segments
            .as_ref()
            .and_then(|s| s.get_ref().get(1))
            .map(|s| s.get_ref().clone())
            .unwrap_or_default();
        if self.faults.len() > before {
            return None;
        }
        Some(Role::Relay(RelayHost {
            client_side: segment.to_string(),
            server_side,
            upstream: up.get_ref().clone(),
            link_address: link_address?,
            interface_id,
            address,
        }))
    }

    /// Every relay's upstream is a DHCPv6 server or relay on the relay's server side, and
    /// following upstreams ends at a server.
    pub(super) fn check_relays(&mut self, hosts: &[Host]) {
        let find = |name: &str| hosts.iter().find(|h| h.name == name);
        for h in hosts {
            let Role::Relay(r) = &h.role else { continue };
            let problem = match find(&r.upstream) {
                None => Some(format!("no host named {:?}", r.upstream)),
                Some(u) => match &u.role {
                    Role::Server6(_) if u.segment != r.server_side => Some(format!(
                        "upstream {:?} is on segment {:?}, not on this relay's server side {:?}",
                        u.name, u.segment, r.server_side
                    )),
                    Role::Relay(ur) if ur.client_side != r.server_side => Some(format!(
                        "upstream {:?} has its clients' side on segment {:?}, not on this relay's server side {:?}",
                        u.name, ur.client_side, r.server_side
                    )),
                    Role::Server6(_) | Role::Relay(_) => None,
                    _ => Some(format!(
                        "upstream {:?} is not a DHCPv6 server or relay",
                        u.name
                    )),
                },
            };
            // Following upstreams must reach a server without coming back.
            let mut seen = vec![h.name.as_str()];
            let mut next = r.upstream.as_str();
            let mut cycle = None;
            while let Some(Role::Relay(nr)) = find(next).map(|x| &x.role) {
                if seen.contains(&next) {
                    cycle = Some(format!(
                        "relays forward to each other in a loop: {} -> {next}",
                        seen.join(" -> ")
                    ));
                    break;
                }
                seen.push(next);
                next = nr.upstream.as_str();
            }
            if let Some(message) = problem.or(cycle) {
                self.faults.push(Fault {
                    place: h.place,
                    message: format!("relay {:?}: {message}", h.name),
                });
            }
        }
    }

    /// Reads an IPv6 address.
    pub(super) fn addr6(&mut self, s: &S<String>) -> Option<Ipv6Addr> {
        match s.get_ref().parse() {
            Ok(a) => Some(a),
            Err(_) => {
                self.fault(
                    s.span().start,
                    format!("{:?} is not an IPv6 address", s.get_ref()),
                );
                None
            }
        }
    }

    /// An IPv6 address a host holds: in 2001:db8::/32.
    pub(super) fn lab_addr6(&mut self, s: &S<String>, whose: &str) -> Option<Ipv6Addr> {
        let a = match s.get_ref().parse::<Ipv6Addr>() {
            Ok(a) => a,
            Err(_) => {
                self.fault(
                    s.span().start,
                    format!("{:?}: {whose} address is an IPv6 address", s.get_ref()),
                );
                return None;
            }
        };
        if in_lab_range6(a) {
            Some(a)
        } else {
            self.fault(s.span().start, outside6(a));
            None
        }
    }

    /// A prefix written out (`2001:db8:8::/56`) or captured (`$pfx`).
    pub(super) fn prefix_ref(&mut self, s: &S<String>) -> Option<PrefixRef> {
        if let Some(var) = s.get_ref().strip_prefix('$') {
            self.check_var(var, s.span().start)?;
            return Some(PrefixRef::Var(var.to_string()));
        }
        match parse_prefix6(s.get_ref()) {
            Ok((a, len)) if in_lab_range6(a) => Some(PrefixRef::Literal(a, len)),
            Ok((a, _)) => {
                self.fault(s.span().start, outside6(a));
                None
            }
            Err(e) => {
                self.fault(s.span().start, e);
                None
            }
        }
    }

    /// Reads a `Dhcp6` configuration, placing its faults in the scenario file.
    pub(super) fn kea6(&mut self, s: &S<String>) -> Option<Server6Config> {
        match read_dhcp6(s.get_ref()) {
            Ok(config) => Some(config),
            Err(errors) => {
                self.config_faults(s, errors);
                None
            }
        }
    }

    /// The DHCP version a `send` step's message is of: its type's (REQUEST, RELEASE and
    /// DECLINE are in both), else the addressed host's, else the peer's.
    pub(super) fn send_family(&self, s: &raw::Step) -> Family {
        let by_hosts =
            s.to.as_ref()
                .and_then(|t| self.family_of(t.get_ref()))
                .or_else(|| s.from.as_ref().and_then(|f| self.family_of(f.get_ref())))
                .unwrap_or(Family::V4);
        let Some(m) = &s.message else { return by_hosts };
        let Some(k) = &m.get_ref().kind else {
            return by_hosts;
        };
        let name = k.get_ref().as_str();
        match (
            super::message_type_named(name).is_some() || name.starts_with("BOOT"),
            message_type6_named(name).is_some(),
        ) {
            (true, false) => Family::V4,
            (false, true) => Family::V6,
            _ => by_hosts,
        }
    }

    /// A crafted DHCPv6 datagram.
    pub(super) fn send6(&mut self, s: &raw::Step, at: usize) -> Option<Send6> {
        let (from, to, m) = self.send_parts(s, at)?;
        let message = self.message6(m)?;
        let kind = match &message.header {
            _ if message.payload.is_some() => message
                .payload
                .as_ref()
                .and_then(|p| p.first())
                .map_or(Type6::SOLICIT, |t| Type6(*t)),
            Header6::Client { kind, .. } | Header6::Relay { kind, .. } => Type6(*kind),
        };
        let (sport, dport) = ports_of(kind);
        let mac = self.macs.get(&from).copied().unwrap_or_default();
        let relaying = kind.is_relay();
        let own = self
            .addresses6
            .get(&from)
            .copied()
            .filter(|_| relaying)
            .unwrap_or_else(|| link_local(mac));
        let default_dst = match &to {
            To::Broadcast => ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            To::Host(h) => self
                .addresses6
                .get(h)
                .copied()
                .filter(|_| relaying)
                .unwrap_or_else(|| link_local(self.macs.get(h).copied().unwrap_or_default())),
        };
        let src = match &s.src {
            Some(a) => self.endpoint6(a)?,
            None => SocketAddrV6::new(own, sport, 0, 0),
        };
        let dst = match &s.dst {
            Some(a) => self.endpoint6(a)?,
            None => SocketAddrV6::new(default_dst, dport, 0, 0),
        };
        Some(Send6 {
            from,
            to,
            message,
            src,
            dst,
        })
    }

    fn endpoint6(&mut self, s: &S<String>) -> Option<SocketAddrV6> {
        match s.get_ref().parse::<SocketAddrV6>() {
            Ok(a) if datagram_addr6_allowed(*a.ip()) => Some(a),
            Ok(a) => {
                self.fault(s.span().start, outside6(*a.ip()));
                None
            }
            Err(_) => {
                self.fault(
                    s.span().start,
                    format!(
                        "{:?} is not an IPv6 address and port ([2001:db8::1]:547)",
                        s.get_ref()
                    ),
                );
                None
            }
        }
    }

    /// A crafted DHCPv6 message: header, options as written (IAs as tables), raw options,
    /// truncation, or a whole payload.
    fn message6(&mut self, m: &S<raw::Message>) -> Option<Message6> {
        let at = m.span().start;
        let m = m.get_ref();
        let v4_only = [
            ("op", m.op.as_ref().map(|v| v.span().start)),
            ("htype", m.htype.as_ref().map(|v| v.span().start)),
            ("hlen", m.hlen.as_ref().map(|v| v.span().start)),
            ("secs", m.secs.as_ref().map(|v| v.span().start)),
            ("flags", m.flags.as_ref().map(|v| v.span().start)),
            ("ciaddr", m.ciaddr.as_ref().map(|v| v.span().start)),
            ("yiaddr", m.yiaddr.as_ref().map(|v| v.span().start)),
            ("siaddr", m.siaddr.as_ref().map(|v| v.span().start)),
            ("giaddr", m.giaddr.as_ref().map(|v| v.span().start)),
            ("chaddr", m.chaddr.as_ref().map(|v| v.span().start)),
            ("cookie", m.cookie.as_ref().map(|v| v.span().start)),
            ("padding", m.padding.as_ref().map(|v| v.span().start)),
            ("end", m.end.map(|_| at)),
        ];
        let before = self.faults.len();
        for (key, place) in v4_only {
            if let Some(p) = place {
                self.fault(
                    p,
                    format!("{key} is a DHCPv4 field; this message is DHCPv6"),
                );
            }
        }
        if self.faults.len() > before {
            return None;
        }
        if let Some(p) = &m.payload {
            let others = [
                ("type", m.kind.is_some()),
                ("xid", m.xid.is_some()),
                ("hops", m.hops.is_some()),
                ("link-address", m.link_address.is_some()),
                ("peer-address", m.peer_address.is_some()),
                ("options", m.options.is_some()),
                ("raw-options", m.raw_options.is_some()),
                ("truncate", m.truncate.is_some()),
            ];
            if !self.alone_with_payload(p.span().start, &others, "") {
                return None;
            }
            return Some(Message6 {
                header: Header6::Client {
                    kind: 0,
                    xid: Piece::Bytes(Vec::new()),
                },
                options: Vec::new(),
                payload: Some(self.hex(p)?),
                truncate: None,
            });
        }
        let Some(k) = &m.kind else {
            self.fault(
                at,
                "a DHCPv6 message needs type (SOLICIT, REPLY, RELAY-FORW, ...)",
            );
            return None;
        };
        let Some(kind) = message_type6_named(k.get_ref()) else {
            self.fault(
                k.span().start,
                format!("unknown DHCPv6 message type {:?}", k.get_ref()),
            );
            return None;
        };
        let header = if kind.is_relay() {
            if let Some(x) = &m.xid {
                self.fault(
                    x.span().start,
                    "a relay message has no xid (it has hops, link-address and peer-address)",
                );
                return None;
            }
            let hops = self.int(&m.hops, 255, 0)? as u8;
            let addr = |b: &mut Self, v: &Option<S<String>>| -> Option<Ipv6Addr> {
                match v {
                    None => Some(Ipv6Addr::UNSPECIFIED),
                    Some(a) => {
                        let x = b.addr6(a)?;
                        if datagram_addr6_allowed(x) {
                            Some(x)
                        } else {
                            b.fault(a.span().start, outside6(x));
                            None
                        }
                    }
                }
            };
            Header6::Relay {
                kind: kind.0,
                hops,
                link_address: addr(self, &m.link_address)?,
                peer_address: addr(self, &m.peer_address)?,
            }
        } else {
            for (key, v) in [
                ("hops", m.hops.as_ref().map(|v| v.span().start)),
                (
                    "link-address",
                    m.link_address.as_ref().map(|v| v.span().start),
                ),
                (
                    "peer-address",
                    m.peer_address.as_ref().map(|v| v.span().start),
                ),
            ] {
                if let Some(p) = v {
                    self.fault(
                        p,
                        format!("{key} is a field of RELAY-FORW and RELAY-REPL, not of {kind}"),
                    );
                }
            }
            let xid = match &m.xid {
                None => Piece::Bytes(0x5eedu32.to_be_bytes()[1..].to_vec()),
                Some(v) => match v.get_ref() {
                    Value::String(s) if s.starts_with('$') => {
                        self.check_var(&s[1..], v.span().start)?;
                        Piece::Var(s[1..].to_string(), Some(3))
                    }
                    Value::Integer(n) if (0..=0xff_ffff).contains(n) => {
                        Piece::Bytes((*n as u32).to_be_bytes()[1..].to_vec())
                    }
                    _ => {
                        self.fault(
                            v.span().start,
                            "a DHCPv6 xid is a number from 0 to 16777215, or \"$name\" for a captured one",
                        );
                        return None;
                    }
                },
            };
            Header6::Client { kind: kind.0, xid }
        };
        let mut options = Vec::new();
        for (key, value) in m.options.iter().flatten() {
            let Some(code) = option6_code(key) else {
                self.fault(
                    value.span().start,
                    format!("unknown DHCPv6 option {key:?}: give its code or Kea's name (clientid, ia-na, dns-servers, ...)"),
                );
                continue;
            };
            // A list of tables is the option as many times (two IA_NAs: `ia-na = [{...}, {...}]`).
            let (items, listed): (Vec<&Value>, bool) = match value.get_ref() {
                Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_table) => {
                    (a.iter().collect(), true)
                }
                one => (vec![one], false),
            };
            self.nest_at = value.span().start;
            for (i, item) in items.into_iter().enumerate() {
                if listed {
                    self.nest.push(Seg::Item(i));
                }
                let data = self.option6_data(code, item, value.span().start);
                self.nest.clear();
                if let Some(data) = data {
                    options.push(Option6 {
                        code,
                        len: None,
                        data,
                    });
                }
            }
        }
        for o in m.raw_options.iter().flatten() {
            let o = o.get_ref();
            let Some(code) = self.int(&Some(o.code.clone()), 65535, 0) else {
                continue;
            };
            let Some(data) = self.hex(&o.data) else {
                continue;
            };
            let Some(len) = self.int(&o.len, 65535, data.len() as u64) else {
                continue;
            };
            options.push(Option6 {
                code: code as u16,
                len: Some(len as u16),
                data: vec![Piece::Bytes(data)],
            });
        }
        let truncate = match &m.truncate {
            Some(t) => Some(self.int(&Some(t.clone()), 65_507, 0)? as usize),
            None => None,
        };
        if self.faults.len() > before {
            return None;
        }
        Some(Message6 {
            header,
            options,
            payload: None,
            truncate,
        })
    }

    /// A crafted v6 option's data from its TOML value, as the option's format reads it.
    fn option6_data(&mut self, code: u16, v: &Value, at: usize) -> Option<Vec<Piece>> {
        let name = crate::v6::option6_name(code);
        let format = catalogue::lookup(code).map(|(_, f)| f);
        let u32_of = |b: &mut Self, v: Option<&Value>, key: &str, default: u32| -> Option<u32> {
            match v {
                None => Some(default),
                Some(Value::Integer(n)) if u32::try_from(*n).is_ok() => Some(*n as u32),
                Some(_) => {
                    b.within(Seg::Key(key.to_string()), |b| {
                        b.fault(
                            at,
                            format!("{name}: {key} is a number from 0 to 4294967295"),
                        );
                    });
                    None
                }
            }
        };
        if let Value::String(s) = v
            && let Some(var) = s.strip_prefix('$')
        {
            self.check_var(var, at)?;
            return Some(vec![Piece::Var(var.to_string(), None)]);
        }
        if let Value::String(s) = v
            && s.starts_with("0x")
        {
            return Some(vec![Piece::Bytes(self.hex(&S::new(at..at, s.clone()))?)]);
        }
        match (format, v) {
            (Some(Format::Ia), Value::Table(t)) => {
                let lease = if code == catalogue::code::IA_PD {
                    "iaprefix"
                } else {
                    "iaaddr"
                };
                let mut pieces = vec![match t.get("iaid") {
                    Some(Value::String(s)) if s.starts_with('$') => {
                        self.within(Seg::Key("iaid".into()), |b| b.check_var(&s[1..], at))?;
                        Piece::Var(s[1..].to_string(), Some(4))
                    }
                    other => Piece::Bytes(u32_of(self, other, "iaid", 1)?.to_be_bytes().to_vec()),
                }];
                pieces.push(Piece::Bytes(
                    u32_of(self, t.get("t1"), "t1", 0)?.to_be_bytes().to_vec(),
                ));
                pieces.push(Piece::Bytes(
                    u32_of(self, t.get("t2"), "t2", 0)?.to_be_bytes().to_vec(),
                ));
                let mut nested = Vec::new();
                for (k, x) in t {
                    if matches!(k.as_str(), "iaid" | "t1" | "t2") {
                        continue;
                    }
                    if k != lease && k != "status-code" {
                        self.within(Seg::Key(k.clone()), |b| {
                            b.fault(
                                at,
                                format!(
                                    "{name} takes iaid, t1, t2, {lease} and status-code, not {k}"
                                ),
                            );
                        });
                        return None;
                    }
                    let inner = option6_code(k).unwrap_or_default();
                    let items: Vec<(Option<usize>, &Value)> = match x {
                        Value::Array(a) if k == lease => {
                            a.iter().enumerate().map(|(i, v)| (Some(i), v)).collect()
                        }
                        other => vec![(None, other)],
                    };
                    for (i, item) in items {
                        self.nest.push(Seg::Key(k.clone()));
                        if let Some(i) = i {
                            self.nest.push(Seg::Item(i));
                        }
                        let data = self.option6_data(inner, item, at);
                        self.nest
                            .truncate(self.nest.len() - 1 - usize::from(i.is_some()));
                        nested.push(Option6 {
                            code: inner,
                            len: None,
                            data: data?,
                        });
                    }
                }
                pieces.push(Piece::Options(nested));
                Some(pieces)
            }
            (Some(Format::IaAddress), Value::Table(t)) => {
                self.known_keys(
                    t,
                    &["address", "preferred", "valid", "status-code"],
                    name,
                    at,
                )?;
                let Some(Value::String(a)) = t.get("address") else {
                    self.fault(at, format!("{name} needs address = \"2001:db8::...\""));
                    return None;
                };
                let mut pieces = vec![if let Some(var) = a.strip_prefix('$') {
                    self.within(Seg::Key("address".into()), |b| b.check_var(var, at))?;
                    Piece::Var(var.to_string(), Some(16))
                } else {
                    Piece::Bytes(
                        self.within(Seg::Key("address".into()), |b| {
                            b.lab_addr6(&S::new(at..at, a.clone()), "an IA Address's")
                        })?
                        .octets()
                        .to_vec(),
                    )
                }];
                for key in ["preferred", "valid"] {
                    pieces.push(Piece::Bytes(
                        u32_of(self, t.get(key), key, 0)?.to_be_bytes().to_vec(),
                    ));
                }
                self.status_in(t, &mut pieces, at)?;
                Some(pieces)
            }
            (Some(Format::IaPrefix), Value::Table(t)) => {
                self.known_keys(
                    t,
                    &["prefix", "preferred", "valid", "status-code"],
                    name,
                    at,
                )?;
                let mut pieces = Vec::new();
                for key in ["preferred", "valid"] {
                    pieces.push(Piece::Bytes(
                        u32_of(self, t.get(key), key, 0)?.to_be_bytes().to_vec(),
                    ));
                }
                let Some(Value::String(p)) = t.get("prefix") else {
                    self.fault(at, format!("{name} needs prefix = \"2001:db8:8::/56\""));
                    return None;
                };
                pieces.push(if let Some(var) = p.strip_prefix('$') {
                    // A captured ia-pd.iaprefix is its length, then its 16 bytes, as here.
                    self.within(Seg::Key("prefix".into()), |b| b.check_var(var, at))?;
                    Piece::Var(var.to_string(), Some(17))
                } else {
                    match self.within(Seg::Key("prefix".into()), |b| {
                        b.prefix_ref(&S::new(at..at, p.clone()))
                    })? {
                        PrefixRef::Literal(a, len) => {
                            Piece::Bytes([&[len][..], &a.octets()].concat())
                        }
                        PrefixRef::Var(_) => return None,
                    }
                });
                self.status_in(t, &mut pieces, at)?;
                Some(pieces)
            }
            (Some(Format::StatusCode), Value::Table(t)) => {
                self.known_keys(t, &["code", "message"], name, at)?;
                let code = match t.get("code") {
                    Some(c) => self.within(Seg::Key("code".into()), |b| b.status_value(c, at))?,
                    None => {
                        self.fault(
                            at,
                            "status-code needs code (Success, NoPrefixAvail, ..., or a number)",
                        );
                        return None;
                    }
                };
                let message = match t.get("message") {
                    None => String::new(),
                    Some(Value::String(m)) => m.clone(),
                    Some(_) => {
                        self.fault(at, "a status message is text");
                        return None;
                    }
                };
                Some(vec![Piece::Bytes(
                    [&code.to_be_bytes()[..], message.as_bytes()].concat(),
                )])
            }
            (Some(Format::StatusCode), other) => {
                let code = self.status_value(other, at)?;
                Some(vec![Piece::Bytes(code.to_be_bytes().to_vec())])
            }
            (Some(Format::Empty), Value::Boolean(true)) => Some(vec![Piece::Bytes(Vec::new())]),
            (Some(Format::Empty), _) => {
                self.fault(
                    at,
                    format!(
                        "{name} has no data: write {name} = true (to leave it out, leave it out)"
                    ),
                );
                None
            }
            (Some(Format::Codes | Format::U16s), Value::Array(items)) => {
                let mut out = Vec::new();
                for i in items {
                    match i.as_integer().and_then(|n| u16::try_from(n).ok()) {
                        Some(c) => out.extend(c.to_be_bytes()),
                        None => {
                            self.fault(at, format!("{name} is a list of numbers from 0 to 65535"));
                            return None;
                        }
                    }
                }
                Some(vec![Piece::Bytes(out)])
            }
            (Some(Format::Addr | Format::Addrs), Value::String(s)) => {
                let mut out = Vec::new();
                for part in s.split(',') {
                    out.extend(
                        self.lab_addr6(&S::new(at..at, part.trim().to_string()), "an option's")?
                            .octets(),
                    );
                }
                if format == Some(Format::Addr) && out.len() != 16 {
                    self.fault(at, format!("{name} is one address"));
                    return None;
                }
                Some(vec![Piece::Bytes(out)])
            }
            (Some(Format::DomainList | Format::DomainName), Value::String(s)) => {
                let mut out = Vec::new();
                for part in s.split(',') {
                    match dhcplab_wire::dns::DomainName::from_dotted(part.trim(), true) {
                        Ok(n) => n.encode_into(&mut out),
                        Err(e) => {
                            self.fault(
                                at,
                                format!("{name}: {:?} is not a domain name: {e}", part.trim()),
                            );
                            return None;
                        }
                    }
                }
                Some(vec![Piece::Bytes(out)])
            }
            (Some(f), Value::Integer(n)) => {
                let width = match f {
                    Format::U8 => 1,
                    Format::Elapsed | Format::U16s => 2,
                    Format::Seconds | Format::Lifetime => 4,
                    _ => {
                        self.fault(
                            at,
                            format!("{name} is not a number: give its bytes as \"0x...\""),
                        );
                        return None;
                    }
                };
                if *n < 0 || (width < 4 && *n >= 1 << (8 * width)) || *n > i64::from(u32::MAX) {
                    self.fault(at, format!("{n} does not fit {name}'s {width} bytes"));
                    return None;
                }
                Some(vec![Piece::Bytes(
                    (*n as u32).to_be_bytes()[4 - width..].to_vec(),
                )])
            }
            (_, Value::Array(items)) => {
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
                Some(vec![Piece::Bytes(out)])
            }
            (Some(Format::Duid), Value::String(s)) => {
                Some(vec![Piece::Bytes(self.hex(&S::new(at..at, s.clone()))?)])
            }
            (_, Value::String(s)) => Some(vec![Piece::Bytes(s.as_bytes().to_vec())]),
            (_, other) => {
                self.fault(
                    at,
                    format!(
                        "{name}: a number, a string, a table or a list of bytes, not {}",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    fn known_keys(&mut self, t: &toml::Table, keys: &[&str], name: &str, at: usize) -> Option<()> {
        match t.keys().find(|k| !keys.contains(&k.as_str())) {
            Some(k) => {
                self.within(Seg::Key(k.clone()), |b| {
                    b.fault(at, format!("{name} takes {}, not {k}", keys.join(", ")));
                });
                None
            }
            None => Some(()),
        }
    }

    /// Runs `f` one step deeper into the crafted option being read, so its faults are placed
    /// there.
    fn within<T>(&mut self, seg: Seg, f: impl FnOnce(&mut Self) -> T) -> T {
        self.nest.push(seg);
        let out = f(self);
        self.nest.pop();
        out
    }

    /// A Status Code option nested in an IA Address or IA Prefix, when the table has one.
    fn status_in(&mut self, t: &toml::Table, pieces: &mut Vec<Piece>, at: usize) -> Option<()> {
        if let Some(sc) = t.get("status-code") {
            let code = catalogue::code::STATUS_CODE;
            let data = self.within(Seg::Key("status-code".into()), |b| {
                b.option6_data(code, sc, at)
            })?;
            pieces.push(Piece::Options(vec![Option6 {
                code,
                len: None,
                data,
            }]));
        }
        Some(())
    }

    /// A status code written by name or number.
    fn status_value(&mut self, v: &Value, at: usize) -> Option<u16> {
        let code = match v {
            Value::String(s) => status_code_named(s),
            Value::Integer(n) => u16::try_from(*n).ok(),
            _ => None,
        };
        if code.is_none() {
            self.fault(at, format!("{v} is not a status code: Success, UnspecFail, NoAddrsAvail, NoBinding, NotOnLink, UseMulticast, NoPrefixAvail, or a number"));
        }
        code
    }

    /// The matcher of a check on a v6 path, where the path's own form says more than the
    /// generic matcher: status codes by name, ORO as a list of codes, addresses and prefixes
    /// checked as written. `None` when the generic reading applies.
    pub(super) fn matcher6(&mut self, v: &S<Value>, p: Path6) -> Option<Option<Matcher>> {
        let at = v.span().start;
        let is_status = p.leaf == Leaf6::Option(catalogue::code::STATUS_CODE);
        match v.get_ref() {
            Value::String(s) if s.starts_with('$') || s == "present" || s == "absent" => None,
            Value::String(_) | Value::Integer(_) if is_status => Some(
                self.status_value(v.get_ref(), at)
                    .map(|c| Matcher::Int(u64::from(c))),
            ),
            Value::Array(items)
                if matches!(
                    p.option_code().and_then(catalogue::lookup).map(|(_, f)| f),
                    Some(Format::Codes | Format::U16s)
                ) =>
            {
                let mut out = Vec::new();
                for i in items {
                    match i.as_integer().and_then(|n| u16::try_from(n).ok()) {
                        Some(c) => out.extend(c.to_be_bytes()),
                        None => {
                            self.fault(at, "a list of option codes (0 to 65535)");
                            return Some(None);
                        }
                    }
                }
                Some(Some(Matcher::Bytes(out)))
            }
            Value::String(s) if p.leaf == Leaf6::Lease => {
                let ok = if s.contains('/') {
                    parse_prefix6(s).map(|_| ())
                } else if p.ia.is_some_and(|(k, _)| k == IaKind::Pd) {
                    Err(format!(
                        "{s:?}: a delegated prefix is matched by a prefix (2001:db8:8::/56)"
                    ))
                } else {
                    s.parse::<Ipv6Addr>()
                        .map(|_| ())
                        .map_err(|_| format!("{s:?} is not an IPv6 address or prefix"))
                };
                match ok {
                    Ok(()) => None,
                    Err(e) => {
                        self.fault(at, e);
                        Some(None)
                    }
                }
            }
            _ => None,
        }
    }
}

/// One step into a TOML value: an item of a list, or a key of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    /// The item at this index.
    Item(usize),
    /// The value of this key.
    Key(String),
}

/// Where the part of `value` (a TOML value read again with its places, toml's values carry
/// none inside) that `path` leads to is written, from the value's start; as far as the path
/// goes when the value has no such part.
pub(super) fn locate(value: &toml::Spanned<toml::de::DeValue<'_>>, path: &[Seg]) -> usize {
    use toml::de::DeValue;
    let mut here = value;
    for seg in path {
        let next = match (seg, here.get_ref()) {
            (Seg::Item(i), DeValue::Array(items)) => items.get(*i),
            (Seg::Key(k), DeValue::Table(t)) => t
                .iter()
                .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                .map(|(_, v)| v),
            _ => None,
        };
        match next {
            Some(v) => here = v,
            None => break,
        }
    }
    here.span().start
}

/// Reads a `Dhcp6` configuration into what a v6 server host keeps: Kea's configuration
/// language as `dhcplab_kea_config::dhcp6` reads it, then the ranges of its subnets, pools and
/// prefix pools, each fault at its place in the JSON.
fn read_dhcp6(text: &str) -> Result<Server6Config, Vec<dhcplab_kea_config::ConfigError>> {
    let (dhcp6, json) = dhcplab_kea_config::dhcp6::parse_document(text)?;
    let faults = ranges6(text);
    if !faults.is_empty() {
        return Err(faults);
    }
    Ok(Server6Config {
        text: text.to_string(),
        dhcp6,
        json,
    })
}

/// Every subnet, pool and prefix pool of a `Dhcp6` configuration (that reads) outside
/// 2001:db8::/32, placed at its text.
fn ranges6(text: &str) -> Vec<dhcplab_kea_config::ConfigError> {
    use dhcplab_kea_config::ConfigError;
    let Ok(root) = json::parse(text) else {
        return Vec::new();
    };
    let member = |v: &Spanned, key: &str| -> Option<Spanned> {
        match &v.value {
            json::Value::Object(m) => m
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(_, x)| x.clone()),
            _ => None,
        }
    };
    let items = |v: Option<Spanned>| -> Vec<Spanned> {
        match v.map(|v| v.value) {
            Some(json::Value::Array(a)) => a,
            _ => Vec::new(),
        }
    };
    let mut faults = Vec::new();
    let mut outside = |path: String, at: &Spanned, a: Ipv6Addr, what: String| {
        if !in_lab_range6(a) {
            faults.push(ConfigError {
                path,
                pos: at.pos,
                message: format!("{what} is outside the range a run may use (2001:db8::/32)"),
            });
        }
    };
    let text_of = |v: &Spanned| match &v.value {
        json::Value::String(s) => s.clone(),
        _ => String::new(),
    };
    let Some(dhcp6) = member(&root, "Dhcp6") else {
        return Vec::new();
    };
    for (i, subnet) in items(member(&dhcp6, "subnet6")).iter().enumerate() {
        let path = format!("Dhcp6.subnet6[{i}]");
        if let Some(v) = member(subnet, "subnet")
            && let Ok((a, _)) = parse_prefix6(&text_of(&v))
        {
            outside(format!("{path}.subnet"), &v, a, text_of(&v));
        }
        for (k, pool) in items(member(subnet, "pools")).iter().enumerate() {
            if let Some(v) = member(pool, "pool") {
                let t = text_of(&v);
                for end in t.split(['-', '/']).take(1).chain(t.split('-').nth(1)) {
                    if let Ok(a) = end.trim().parse::<Ipv6Addr>() {
                        outside(format!("{path}.pools[{k}].pool"), &v, a, t.clone());
                    }
                }
            }
        }
        for (k, pool) in items(member(subnet, "pd-pools")).iter().enumerate() {
            if let Some(v) = member(pool, "prefix")
                && let Ok(a) = text_of(&v).parse::<Ipv6Addr>()
            {
                outside(format!("{path}.pd-pools[{k}].prefix"), &v, a, text_of(&v));
            }
        }
    }
    faults
}

/// The fault of an IPv6 address outside the range a run may use.
pub(super) fn outside6(a: Ipv6Addr) -> String {
    format!("{a} is outside the range a run may use (2001:db8::/32)")
}
