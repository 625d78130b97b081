//! The server configuration a capture implies, in Kea's JSON: per subnet that addresses were
//! given from, a pool spanning them, a reservation per client for the address it was given
//! (so the server under test hands out what the recorded one did), the options the recorded
//! server sent (sent whether asked for or not, as it did), its lifetime and timers, and the
//! boot fields it filled (`next-server`, `server-hostname`, `boot-file-name`).

use crate::Item;
use crate::map::{AddressMap, Net};
use dhcplab_wire::v4::catalogue::code;
use dhcplab_wire::v4::{Hex, Message};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Options the server under test decides itself, or that echo the client: not configured.
const NOT_CONFIGURED: [u8; 14] = [
    code::PAD,
    code::SUBNET_MASK,
    code::HOST_NAME,
    code::REQUESTED_IP,
    code::LEASE_TIME,
    code::OVERLOAD,
    code::MESSAGE_TYPE,
    code::SERVER_ID,
    code::PARAMETER_REQUEST_LIST,
    code::MAX_MESSAGE_SIZE,
    code::RENEWAL_TIME,
    code::REBINDING_TIME,
    code::CLIENT_ID,
    code::RELAY_AGENT_INFO,
];

#[derive(Default)]
struct Subnet {
    addresses: Vec<Ipv4Addr>,
    reservations: BTreeMap<Ipv4Addr, [u8; 6]>,
    options: Vec<(u8, Vec<u8>)>,
    lifetime: Option<u32>,
    t1: Option<u32>,
    t2: Option<u32>,
    from_ack: bool,
    relays: Vec<Ipv4Addr>,
    next_server: Option<Ipv4Addr>,
    server_hostname: Option<String>,
    boot_file_name: Option<String>,
}

/// A `sname` or `file` field as configuration text: up to its first NUL, when printable.
fn field_text(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(crate::until_nul(bytes)).ok()?;
    (!text.is_empty() && text.bytes().all(|b| (0x20..0x7f).contains(&b))).then(|| text.to_string())
}

/// The configuration, pretty-printed.
pub(crate) fn derive(items: &[Item], map: &AddressMap) -> String {
    // Kea echoes the client identifier (RFC 6842); a recorded server that did not is followed.
    let with_id: Vec<usize> = items
        .iter()
        .filter_map(|i| match i {
            Item::Send(s) => Message::decode(&s.payload)
                .ok()
                .filter(|m| m.option(code::CLIENT_ID).is_some())
                .map(|_| s.conversation),
            Item::Answer(_) => None,
        })
        .collect();
    let mut echo = true;
    // A recorded server that ACKed an INIT-REBOOT request it had not seen the lease of acted
    // as Kea's authoritative server does (a server that is not stays silent, RFC 2131 4.3.2).
    let mut authoritative = false;
    let mut last_request: BTreeMap<usize, (bool, Ipv4Addr)> = BTreeMap::new();
    let mut granted: Vec<Ipv4Addr> = Vec::new();
    let mut subnets: BTreeMap<Net, Subnet> = BTreeMap::new();
    for (_, lab) in &map.subnets {
        subnets.entry(*lab).or_default();
    }
    for item in items {
        let a = match item {
            Item::Send(s) => {
                if let Ok(m) = Message::decode(&s.payload) {
                    let init_reboot = m.ciaddr.is_unspecified()
                        && m.server_id().ok().flatten().is_none()
                        && m.message_type()
                            .ok()
                            .flatten()
                            .map(|t| t.to_string())
                            .as_deref()
                            == Some("REQUEST");
                    let asked = m.requested_ip().ok().flatten().unwrap_or(m.ciaddr);
                    last_request.insert(s.conversation, (init_reboot, asked));
                }
                continue;
            }
            Item::Answer(a) => a,
        };
        let Ok(m) = Message::decode(&a.payload) else {
            continue;
        };
        let kind = m.message_type().ok().flatten().map(|t| t.to_string());
        if kind.as_deref() == Some("ACK") {
            if let Some((true, asked)) = last_request.get(&a.conversation)
                && !granted.contains(asked)
            {
                authoritative = true;
            }
            granted.push(m.yiaddr);
        }
        if with_id.contains(&a.conversation) && m.option(code::CLIENT_ID).is_none() {
            echo = false;
        }
        let Some(net) = subnets.keys().copied().find(|n| n.contains(m.yiaddr)) else {
            continue;
        };
        let ack = kind.as_deref() == Some("ACK");
        let s = subnets.entry(net).or_default();
        // A relay whose giaddr is outside the subnet it was served from: Kea's relay list.
        if !m.giaddr.is_unspecified() && !net.contains(m.giaddr) && !s.relays.contains(&m.giaddr) {
            s.relays.push(m.giaddr);
        }
        if !s.addresses.contains(&m.yiaddr) {
            s.addresses.push(m.yiaddr);
        }
        if let Ok(owner) = <[u8; 6]>::try_from(m.hardware_address())
            && !s.reservations.values().any(|mac| *mac == owner)
        {
            s.reservations.entry(m.yiaddr).or_insert(owner);
        }
        if s.next_server.is_none() && !m.siaddr.is_unspecified() {
            s.next_server = Some(m.siaddr);
        }
        if s.options.is_empty() || (ack && !s.from_ack) {
            s.from_ack = ack;
            s.options = Vec::new();
            for o in m.options() {
                if NOT_CONFIGURED.contains(&o.code) || s.options.iter().any(|(c, _)| *c == o.code) {
                    continue;
                }
                // Kea's option-data holds at most 255 bytes: a longer (RFC 3396) option is left
                // to show up in the report.
                if let Some(data) = m.option(o.code).filter(|d| d.data.len() <= 255) {
                    s.options.push((o.code, data.data.into_owned()));
                }
            }
            s.server_hostname = m
                .field_tail(dhcplab_wire::v4::Area::Sname)
                .is_none()
                .then(|| field_text(&m.sname))
                .flatten();
            s.boot_file_name = m
                .field_tail(dhcplab_wire::v4::Area::File)
                .is_none()
                .then(|| field_text(&m.file))
                .flatten();
            s.lifetime = m.lease_time().ok().flatten();
            s.t1 = m.renewal_time().ok().flatten();
            s.t2 = m.rebinding_time().ok().flatten();
        }
    }
    let mut list = Vec::new();
    for (id, (net, s)) in subnets.iter().enumerate() {
        let (first, last) = match (s.addresses.iter().min(), s.addresses.iter().max()) {
            (Some(a), Some(b)) => (*a, *b),
            _ => pool_of(*net),
        };
        let mut subnet = json!({
            "id": id + 1,
            "subnet": net.to_string(),
            "pools": [ { "pool": format!("{first} - {last}") } ],
        });
        if !s.reservations.is_empty() {
            subnet["reservations"] = Value::Array(
                s.reservations
                    .iter()
                    .map(|(a, mac)| json!({ "hw-address": Hex(mac).to_string(), "ip-address": a.to_string() }))
                    .collect(),
            );
        }
        if !s.options.is_empty() {
            subnet["option-data"] = Value::Array(
                s.options
                    .iter()
                    .map(|(c, d)| {
                        json!({ "code": c, "data": crate::hex(d), "csv-format": false, "always-send": true })
                    })
                    .collect(),
            );
        }
        if let Some(a) = s.next_server {
            subnet["next-server"] = json!(a.to_string());
        }
        if let Some(t) = &s.server_hostname {
            subnet["server-hostname"] = json!(t);
        }
        if let Some(t) = &s.boot_file_name {
            subnet["boot-file-name"] = json!(t);
        }
        if !s.relays.is_empty() {
            let list: Vec<String> = s.relays.iter().map(Ipv4Addr::to_string).collect();
            subnet["relay"] = json!({ "ip-addresses": list });
        }
        for (key, value) in [
            ("valid-lifetime", s.lifetime),
            ("renew-timer", s.t1),
            ("rebind-timer", s.t2),
        ] {
            if let Some(v) = value {
                subnet[key] = json!(v);
            }
        }
        list.push(subnet);
    }
    let mut config = json!({ "Dhcp4": {
        "interfaces-config": { "interfaces": [ "eth0" ] },
        "lease-database": { "type": "memfile", "lfc-interval": 0 },
        "subnet4": list,
    }});
    if !echo {
        config["Dhcp4"]["echo-client-id"] = json!(false);
    }
    if authoritative {
        config["Dhcp4"]["authoritative"] = json!(true);
    }
    serde_json::to_string_pretty(&config).unwrap_or_default()
}

/// A pool for a subnet no address was given from: its second quarter and third quarter of
/// host numbers (.64 - .191 of a /24), clear of the server at the top.
fn pool_of(net: Net) -> (Ipv4Addr, Ipv4Addr) {
    let size = 1u64 << (32 - u32::from(net.len));
    let (first, last) = ((size / 4).max(1), (size * 3 / 4).saturating_sub(1).max(1));
    (net.nth(first), net.nth(last))
}
