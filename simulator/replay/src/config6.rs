//! The `Dhcp6` configuration a capture implies, in Kea's JSON: per link (a relay's
//! link-address, or the server's own link for direct clients, selected by `interface` as Kea
//! selects a subnet for a link-local source) a subnet holding the recorded addresses, a pool
//! spanning them, a pd-pool per delegated prefix with its recorded length, a reservation per
//! client DUID for what it was given (so the server under test gives what the recorded one
//! did), the options sent (always sent, as the recorded server sent them), the lifetimes and
//! T1/T2, and rapid commit when the recorded server answered a Solicit with a Reply. A
//! request no answer shows is met with a pool (and a pd-pool of the length its IA_PD hints)
//! that can answer it, and rapid commit when it asks for it.

use crate::Peer6;
use crate::v6::{AddressMap6, Item6, options_in};
use dhcplab_wire::v6::Message;
use dhcplab_wire::v6::catalogue::{MessageType, code};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// Options the server decides itself, that echo the client, or that belong to relays: not
/// configured.
const NOT_CONFIGURED: [u16; 20] = [
    code::CLIENT_ID,
    code::SERVER_ID,
    code::IA_NA,
    code::IA_TA,
    code::IA_ADDR,
    code::ORO,
    code::ELAPSED_TIME,
    code::RELAY_MSG,
    code::AUTH,
    code::UNICAST,
    code::STATUS_CODE,
    code::RAPID_COMMIT,
    code::INTERFACE_ID,
    code::RECONF_MSG,
    code::RECONF_ACCEPT,
    code::IA_PD,
    code::IA_PREFIX,
    code::CLIENT_FQDN,
    code::RELAY_ID,
    code::REMOTE_ID,
];

/// What a client was given: addresses, and prefixes with their lengths.
type Given = (Vec<Ipv6Addr>, Vec<(Ipv6Addr, u8)>);

/// What one link's subnet needs.
#[derive(Default)]
struct Subnet6 {
    /// The /64 (or the link's) the subnet is.
    prefix: Option<Ipv6Addr>,
    /// Relays' link-addresses outside it (Kea's `relay.ip-addresses`).
    relays: Vec<Ipv6Addr>,
    direct: bool,
    addresses: Vec<Ipv6Addr>,
    prefixes: Vec<(Ipv6Addr, u8)>,
    reservations: BTreeMap<Vec<u8>, Given>,
    options: Vec<(u16, Vec<u8>)>,
    from_reply: bool,
    lifetimes: Option<(u32, u32)>,
    timers: Option<(u32, u32)>,
    rapid_commit: bool,
    wants_na: bool,
    wants_pd: Option<u8>,
}

/// The /64 holding `a`.
fn slash64(a: Ipv6Addr) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(a) & !((1u128 << 64) - 1))
}

/// The link-address that selects a relayed request's subnet: that of the relay nearest the
/// client that is neither unspecified nor link-local (Kea's `CfgSubnets6::selectSubnet`).
pub(crate) fn link_of(m: &Message) -> Option<Ipv6Addr> {
    let mut links = Vec::new();
    let mut layer = m.clone();
    for _ in 0..dhcplab_wire::v6::MAX_DEPTH {
        let Message::Relay(r) = &layer else { break };
        links.push(r.link_address);
        match layer.relayed() {
            Ok(Some(inner)) => layer = inner,
            _ => break,
        }
    }
    links
        .into_iter()
        .rev()
        .find(|a| !a.is_unspecified() && !a.is_unicast_link_local())
}

/// The configuration, pretty-printed.
pub(crate) fn derive(items: &[Item6], peers: &[Peer6], map: &mut AddressMap6) -> String {
    // Per conversation: its link (None: direct), client DUID and the type of its request.
    let mut conv: BTreeMap<usize, (Option<Ipv6Addr>, Vec<u8>, u8)> = BTreeMap::new();
    let mut links: Vec<Option<Ipv6Addr>> = Vec::new();
    let mut subnets: Vec<Subnet6> = Vec::new();
    for item in items {
        let Item6::Send(s) = item else { continue };
        let Ok(outer) = Message::decode(&s.payload) else {
            continue;
        };
        let Ok(inner) = outer.innermost() else {
            continue;
        };
        let link = if peers.get(s.peer).is_some_and(|p| p.relay) {
            link_of(&outer)
        } else {
            None
        };
        let duid = inner
            .options()
            .get(code::CLIENT_ID)
            .map(|d| d.data.to_vec())
            .unwrap_or_default();
        let rapid = inner.options().rapid_commit().unwrap_or(false);
        conv.insert(s.conversation, (link, duid, inner.msg_type().0));
        let at = match links.iter().position(|l| *l == link) {
            Some(at) => at,
            None => {
                links.push(link);
                subnets.push(Subnet6 {
                    direct: link.is_none(),
                    ..Subnet6::default()
                });
                subnets.len() - 1
            }
        };
        let sub = &mut subnets[at];
        let o = inner.options();
        if o.get(code::IA_NA).is_some() {
            sub.wants_na = true;
        }
        if let Ok(pds) = o.ia_pd()
            && let Some(pd) = pds.first()
        {
            let hint = pd
                .options
                .get(code::IA_PREFIX)
                .and_then(|p| p.data.get(8).copied())
                .filter(|l| (49..=128).contains(l))
                .unwrap_or(56);
            sub.wants_pd.get_or_insert(hint);
        }
        if rapid && inner.msg_type() == MessageType::SOLICIT {
            // A request no answer shows is answered as it asks (RFC 8415 18.3.1).
            sub.rapid_commit = true;
        }
    }
    for item in items {
        let Item6::Answer(a) = item else { continue };
        let Some((link, duid, asked)) = conv.get(&a.conversation).cloned() else {
            continue;
        };
        let Some(at) = links.iter().position(|l| *l == link) else {
            continue;
        };
        let Some(inner) = Message::decode(&a.payload)
            .ok()
            .and_then(|m| m.innermost().ok())
        else {
            continue;
        };
        let sub = &mut subnets[at];
        let reply = inner.msg_type() == MessageType::REPLY;
        if asked == MessageType::SOLICIT.0 {
            sub.rapid_commit = reply;
        }
        let o = inner.options();
        let mut given: Given = (Vec::new(), Vec::new());
        let mut lifetimes = None;
        let mut timers = None;
        for ia in o.ia_na().unwrap_or_default() {
            timers.get_or_insert((ia.t1, ia.t2));
            for (c, s, e) in options_in(ia.options.as_bytes()) {
                let d = &ia.options.as_bytes()[s..e];
                if c == code::IA_ADDR && d.len() >= 24 {
                    let addr = Ipv6Addr::from(<[u8; 16]>::try_from(&d[..16]).unwrap_or_default());
                    let preferred = u32::from_be_bytes([d[16], d[17], d[18], d[19]]);
                    let valid = u32::from_be_bytes([d[20], d[21], d[22], d[23]]);
                    if valid > 0 {
                        lifetimes.get_or_insert((preferred, valid));
                        given.0.push(addr);
                    }
                }
            }
        }
        for ia in o.ia_pd().unwrap_or_default() {
            timers.get_or_insert((ia.t1, ia.t2));
            for (c, s, e) in options_in(ia.options.as_bytes()) {
                let d = &ia.options.as_bytes()[s..e];
                if c == code::IA_PREFIX && d.len() >= 25 {
                    let preferred = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
                    let valid = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
                    let len = d[8];
                    let prefix =
                        Ipv6Addr::from(<[u8; 16]>::try_from(&d[9..25]).unwrap_or_default());
                    if valid > 0 && len <= 128 {
                        lifetimes.get_or_insert((preferred, valid));
                        given.1.push((prefix, len));
                    }
                }
            }
        }
        for a in &given.0 {
            if !sub.addresses.contains(a) {
                sub.addresses.push(*a);
            }
        }
        for p in &given.1 {
            if !sub.prefixes.contains(p) {
                sub.prefixes.push(*p);
            }
        }
        if !given.0.is_empty() || !given.1.is_empty() {
            let r = sub.reservations.entry(duid).or_default();
            for a in given.0 {
                if !r.0.contains(&a) {
                    r.0.push(a);
                }
            }
            for p in given.1 {
                if !r.1.contains(&p) {
                    r.1.push(p);
                }
            }
        }
        let gives = lifetimes.is_some();
        if gives && (sub.lifetimes.is_none() || (reply && !sub.from_reply)) {
            sub.lifetimes = lifetimes;
            sub.timers = timers;
        }
        if sub.options.is_empty() || (reply && !sub.from_reply) {
            sub.from_reply = reply;
            sub.options = o.iter().filter(|x| !NOT_CONFIGURED.contains(&x.code)).fold(
                Vec::new(),
                |mut acc: Vec<(u16, Vec<u8>)>, x| {
                    if !acc.iter().any(|(c, _)| *c == x.code) {
                        acc.push((x.code, x.data.to_vec()));
                    }
                    acc
                },
            );
        }
    }
    let mut list = Vec::new();
    for (i, (link, sub)) in links.iter().zip(subnets.iter_mut()).enumerate() {
        let prefix = match (sub.addresses.first(), link) {
            (Some(a), Some(l)) if slash64(*a) != slash64(*l) => {
                sub.relays.push(*l);
                slash64(*a)
            }
            (Some(a), _) => slash64(*a),
            (None, Some(l)) => slash64(*l),
            (None, None) => slash64(map.fresh_block()),
        };
        sub.prefix = Some(prefix);
        let pool = match (sub.addresses.iter().min(), sub.addresses.iter().max()) {
            (Some(a), Some(b)) => format!("{a} - {b}"),
            _ => {
                let base = u128::from(prefix);
                format!(
                    "{} - {}",
                    Ipv6Addr::from(base | 0x100),
                    Ipv6Addr::from(base | 0x1ff)
                )
            }
        };
        let mut subnet = json!({
            "id": i + 1,
            "subnet": format!("{prefix}/64"),
        });
        if !sub.addresses.is_empty() || sub.wants_na {
            subnet["pools"] = json!([{ "pool": pool }]);
        }
        let mut pd_pools: Vec<Value> = sub
            .prefixes
            .iter()
            .map(|(p, len)| json!({ "prefix": p.to_string(), "prefix-len": len, "delegated-len": len }))
            .collect();
        if pd_pools.is_empty()
            && let Some(len) = sub.wants_pd
        {
            pd_pools.push(json!({
                "prefix": map.fresh_block().to_string(),
                "prefix-len": 48,
                "delegated-len": len,
            }));
        }
        if !pd_pools.is_empty() {
            subnet["pd-pools"] = Value::Array(pd_pools);
        }
        if sub.direct {
            subnet["interface"] = json!("eth0");
        }
        if !sub.relays.is_empty() {
            let list: Vec<String> = sub.relays.iter().map(Ipv6Addr::to_string).collect();
            subnet["relay"] = json!({ "ip-addresses": list });
        }
        if !sub.reservations.is_empty() {
            subnet["reservations"] = Value::Array(
                sub.reservations
                    .iter()
                    .filter(|(duid, _)| !duid.is_empty())
                    .map(|(duid, (addresses, prefixes))| {
                        let mut r = json!({ "duid": colon_hex(duid) });
                        if !addresses.is_empty() {
                            r["ip-addresses"] = json!(
                                addresses
                                    .iter()
                                    .map(Ipv6Addr::to_string)
                                    .collect::<Vec<_>>()
                            );
                        }
                        if !prefixes.is_empty() {
                            r["prefixes"] = json!(
                                prefixes
                                    .iter()
                                    .map(|(p, l)| format!("{p}/{l}"))
                                    .collect::<Vec<_>>()
                            );
                        }
                        r
                    })
                    .collect(),
            );
        }
        if !sub.options.is_empty() {
            subnet["option-data"] = Value::Array(
                sub.options
                    .iter()
                    .map(|(c, d)| {
                        json!({ "code": c, "data": crate::hex(d), "csv-format": false, "always-send": true })
                    })
                    .collect(),
            );
        }
        if let Some((preferred, valid)) = sub.lifetimes {
            subnet["preferred-lifetime"] = json!(preferred);
            subnet["valid-lifetime"] = json!(valid);
        }
        if let Some((t1, t2)) = sub.timers {
            subnet["renew-timer"] = json!(t1);
            subnet["rebind-timer"] = json!(t2);
        }
        if sub.rapid_commit {
            subnet["rapid-commit"] = json!(true);
        }
        list.push(subnet);
    }
    let config = json!({ "Dhcp6": {
        "interfaces-config": { "interfaces": [ "eth0" ] },
        "lease-database": { "type": "memfile", "lfc-interval": 0 },
        "subnet6": list,
    }});
    serde_json::to_string_pretty(&config).unwrap_or_default()
}

/// Bytes as Kea writes a DUID: hexadecimal pairs between colons.
fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
