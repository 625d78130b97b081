//! A plan written out as a scenario file: the server with its configuration, a peer per
//! recorded client and relay, and a step per request (typed fields and options where they
//! encode back to the same bytes, else the payload as bytes) and per answer waited for or
//! checked.

use crate::v6::Item6;
use crate::{Item, Plan, text6};
use dhcplab_kea_config::options4;
use dhcplab_scenario::format_duration;
use dhcplab_wire::v4::catalogue::{self, Format, code};
use dhcplab_wire::v4::{Hex, Message};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// A step of either family, in capture order.
enum Step<'a> {
    V4(&'a Item),
    V6(&'a Item6),
}

impl Step<'_> {
    fn at_ns(&self) -> i128 {
        match self {
            Step::V4(Item::Send(s)) => s.at_ns,
            Step::V4(Item::Answer(a)) => a.at_ns,
            Step::V6(i) => i.at_ns(),
        }
    }
}

pub(crate) fn scenario(plan: &Plan, checks: bool) -> String {
    let mut out = String::new();
    let written_by = if checks {
        "dhcplab pcap2scenario"
    } else {
        "dhcplab replay"
    };
    let families = match (plan.conversations.is_empty(), plan.v6.is_some()) {
        (false, true) => "DHCPv4 and DHCPv6",
        (true, true) => "DHCPv6",
        _ => "DHCPv4",
    };
    let _ = writeln!(
        out,
        "# The {families} conversations of {}, re-enacted: written by {written_by}.",
        plan.capture
    );
    if checks {
        out.push_str(
            "# Each request is sent as recorded; each recorded answer is expected, with its type,\n\
             # address and options (edit what the server under test may choose itself).\n",
        );
    }
    header(&mut out, plan);
    if !plan.conversations.is_empty() {
        server_host(&mut out, "srv", &plan.server, plan.derived, &plan.config);
        for p in &plan.peers {
            let address = p.address.map(|a| a.to_string());
            peer_host(&mut out, (p.relay, &p.recorded), &p.name, p.mac, address);
        }
    }
    if let Some(p6) = &plan.v6 {
        text6::hosts(&mut out, p6);
    }
    let mut steps: Vec<Step<'_>> = plan.items.iter().map(Step::V4).collect();
    if let Some(p6) = &plan.v6 {
        steps.extend(p6.items.iter().map(Step::V6));
    }
    steps.sort_by_key(Step::at_ns);
    let mut previous: Option<i128> = None;
    let mut last_was_wait = false;
    for (n, step) in steps.iter().enumerate() {
        match step {
            Step::V4(Item::Send(s)) => {
                let gap = previous.map(|p| gap(plan, p, s.at_ns));
                previous = Some(s.at_ns);
                last_was_wait = false;
                out.push_str("[[step]]\n");
                if let Some(g) = gap.filter(|g| !g.is_zero()) {
                    let _ = writeln!(out, "after = \"{}\"", format_duration(g));
                }
                let peer = &plan.peers[s.peer];
                let to = if s.dst.ip().is_broadcast() {
                    "broadcast"
                } else {
                    "srv"
                };
                let _ = writeln!(
                    out,
                    "do = \"send\"\nfrom = \"{}\"\nto = \"{to}\"\nsrc = \"{}\"\ndst = \"{}\"\nnote = \"#{} {}\"",
                    peer.name, s.src, s.dst, s.record, s.kind
                );
                message(&mut out, &s.payload, peer.mac);
                out.push('\n');
            }
            Step::V4(Item::Answer(a)) if checks || a.waited => {
                previous = Some(a.at_ns);
                last_was_wait = true;
                let peer = &plan.peers[a.peer].name;
                let xid = plan.conversations[a.conversation].xid;
                let _ = writeln!(
                    out,
                    "[[step]]\nexpect = \"message\"\nfrom = \"srv\"\nto = \"{peer}\"\nwithin = \"{}\"\nnote = \"#{} {} (recorded)\"",
                    format_duration(plan.options.wait),
                    a.record,
                    a.kind
                );
                if checks {
                    expectation(&mut out, plan, &a.payload, xid);
                } else {
                    let _ = writeln!(out, "optional = true\n[step.fields]\nxid = {xid:#010x}");
                }
                out.push('\n');
            }
            Step::V4(Item::Answer(_)) => {}
            Step::V6(Item6::Send(s)) => {
                let gap = previous.map(|p| gap(plan, p, s.at_ns));
                previous = Some(s.at_ns);
                last_was_wait = false;
                if let Some(p6) = &plan.v6 {
                    text6::send(&mut out, p6, s, gap);
                }
            }
            Step::V6(Item6::Answer(a)) => {
                let Some(p6) = &plan.v6 else { continue };
                // The run's server identifier is taken from the answer right before a
                // request that names the server (a capture cannot come from an optional
                // step, so that answer must come).
                let capture = a.waited
                    && text6::answers_with_server_id(a)
                    && steps[n + 1..].iter().find_map(|st| match st {
                        Step::V6(Item6::Send(s)) if s.peer == a.peer => Some(s.server_id),
                        _ => None,
                    }) == Some(true);
                if checks || a.waited {
                    previous = Some(a.at_ns);
                    last_was_wait = true;
                    text6::answer(&mut out, plan, p6, a, checks, capture);
                }
            }
        }
    }
    if !last_was_wait {
        let _ = writeln!(
            out,
            "# time for the last answers\n[[step]]\nafter = \"{}\"",
            format_duration(plan.options.wait)
        );
    }
    out
}

/// A server host with its configuration.
pub(crate) fn server_host(
    out: &mut String,
    name: &str,
    address: &dyn std::fmt::Display,
    derived: bool,
    config: &str,
) {
    let _ = writeln!(
        out,
        "[[host]]\nname = \"{name}\"\nrole = \"server\"\naddress = \"{address}\""
    );
    if derived {
        out.push_str("# configuration derived from the recorded answers\n");
    }
    let _ = writeln!(out, "config = {}\n", multi_line(config.trim()));
}

/// A scripted peer standing in for a recorded client or relay (`who`: it is a relay, and who
/// it was in the capture).
pub(crate) fn peer_host(
    out: &mut String,
    (relay, recorded): (bool, &str),
    name: &str,
    mac: [u8; 6],
    address: Option<String>,
) {
    let _ = writeln!(
        out,
        "# {} {recorded} in the capture\n[[host]]\nname = \"{name}\"\nrole = \"peer\"\nmac = \"{}\"",
        if relay { "relay" } else { "client" },
        Hex(&mac)
    );
    if let Some(a) = address {
        let _ = writeln!(out, "address = \"{a}\"");
    }
    out.push('\n');
}

/// The mapping, what is left out, and the `[scenario]` table.
fn header(out: &mut String, plan: &Plan) {
    out.push_str("# The capture's addresses, as the run has them:\n");
    for line in plan.mapping() {
        let _ = writeln!(out, "#   {line}");
    }
    for line in &plan.left_out {
        let _ = writeln!(out, "# left out: {line}");
    }
    let _ = writeln!(
        out,
        "\n[scenario]\ndescription = {}\nseed = {}\n",
        quote(&format!("re-enactment of {}", plan.capture)),
        plan.options.seed
    );
}

/// The server side: the recorded server as a peer at the server's address, the client under
/// test as `c1`; each recorded request is waited for (its transaction id captured), each
/// recorded answer sent to it after the recorded pause, in its transaction, to its hardware
/// address, without the recorded client identifier.
pub(crate) fn server_side(plan: &Plan, checks: bool) -> String {
    let mut out = format!(
        "# The DHCPv4 server side of {}, re-enacted against a client under test: written by dhcplab replay --role server.\n",
        plan.capture
    );
    header(&mut out, plan);
    let mac = plan
        .peers
        .first()
        .map_or([0x02, 0, 0x5e, 0, 0x53, 0x11], |p| p.mac);
    let _ = writeln!(
        out,
        "# the recorded server\n[[host]]\nname = \"srv\"\nrole = \"peer\"\naddress = \"{}\"\n\n# the client under test\n[[host]]\nname = \"c1\"\nrole = \"client\"\nmac = \"{}\"\n",
        plan.server,
        Hex(&mac)
    );
    let mut requests = 0;
    let mut previous: Option<i128> = None;
    for item in &plan.items {
        match item {
            Item::Send(s) => {
                requests += 1;
                // The client under test keeps its own time (offer wait, T1 of the lease it was
                // given), whatever the speed: half as long again as the recorded client took,
                // and 10 s more.
                let took = previous
                    .and_then(|p| u64::try_from(s.at_ns.saturating_sub(p)).ok())
                    .map(Duration::from_nanos)
                    .unwrap_or_default();
                let within = if requests == 1 {
                    plan.options.wait.max(Duration::from_secs(30))
                } else {
                    took + took / 2 + plan.options.wait.max(Duration::from_secs(10))
                };
                previous = Some(s.at_ns);
                // A release is the user's doing, not the protocol's: the run asks for it.
                if s.kind == "RELEASE" {
                    out.push_str("# the recorded client was told to release\n[[step]]\n");
                    let pause = paced(plan, took);
                    if !pause.is_zero() {
                        let _ = writeln!(out, "after = \"{}\"", format_duration(pause));
                    }
                    out.push_str("do = \"release\"\nhosts = [\"c1\"]\n\n");
                }
                let _ = writeln!(
                    out,
                    "[[step]]\nexpect = \"message\"\nfrom = \"c1\"\ntype = \"{}\"\nwithin = \"{}\"\nnote = \"#{} {} (recorded)\"\n[step.capture]\nx{requests} = \"xid\"",
                    s.kind,
                    format_duration(within),
                    s.record,
                    s.kind
                );
                if requests == 1 {
                    out.push_str("hw = \"chaddr\"\n");
                }
                if checks {
                    request_checks(&mut out, &s.payload, &s.kind);
                }
                out.push('\n');
            }
            Item::Answer(a) if requests > 0 => {
                let g = previous.map(|p| gap(plan, p, a.at_ns)).unwrap_or_default();
                previous = Some(a.at_ns);
                out.push_str("[[step]]\n");
                if !g.is_zero() {
                    let _ = writeln!(out, "after = \"{}\"", format_duration(g));
                }
                let mut payload = a.payload.clone();
                let mut dst = a.dst;
                if let Ok(mut m) = Message::decode(&a.payload) {
                    // The client under test is on the server's link: a relayed answer goes
                    // to it directly, as the relay would have sent it on, without giaddr and
                    // option 82; the recorded client identifier is not its own.
                    let relayed = !m.giaddr.is_unspecified();
                    if relayed {
                        dst = if m.broadcast() {
                            SocketAddrV4::new(Ipv4Addr::BROADCAST, 68)
                        } else {
                            SocketAddrV4::new(m.yiaddr, 68)
                        };
                        m.giaddr = Ipv4Addr::UNSPECIFIED;
                        m.options.remove(code::RELAY_AGENT_INFO);
                    }
                    if m.options.remove(code::CLIENT_ID) > 0 || relayed {
                        payload = m.encode();
                    }
                }
                let to = if dst.ip().is_broadcast() {
                    "broadcast"
                } else {
                    "c1"
                };
                let _ = writeln!(
                    out,
                    "do = \"send\"\nfrom = \"srv\"\nto = \"{to}\"\nsrc = \"{}:67\"\ndst = \"{}\"\nnote = \"#{} {}\"",
                    plan.server, dst, a.record, a.kind
                );
                let vars = (format!("$x{requests}"), "$hw".to_string());
                message_with(&mut out, &payload, [0; 6], Some(&vars));
                out.push('\n');
            }
            Item::Answer(_) => {}
        }
    }
    let _ = writeln!(
        out,
        "# time for the client's last requests\n[[step]]\nafter = \"{}\"",
        format_duration(plan.options.wait)
    );
    out
}

/// What a client under test must send as the recorded one did (RFC 2131 table 5): `ciaddr`,
/// and in a REQUEST the address it asks for and the server it names.
fn request_checks(out: &mut String, payload: &[u8], kind: &str) {
    let Ok(m) = Message::decode(payload) else {
        return;
    };
    if !m.ciaddr.is_unspecified() {
        let _ = writeln!(out, "[step.fields]\nciaddr = \"{}\"", m.ciaddr);
    }
    if kind != "REQUEST" {
        return;
    }
    let wanted: Vec<(u8, Ipv4Addr)> = [code::REQUESTED_IP, code::SERVER_ID]
        .into_iter()
        .filter_map(|c| {
            let d = m.option(c)?;
            Some((
                c,
                Ipv4Addr::from(<[u8; 4]>::try_from(d.data.as_ref()).ok()?),
            ))
        })
        .collect();
    if !wanted.is_empty() {
        out.push_str("[step.options]\n");
        for (c, a) in wanted {
            let _ = writeln!(out, "{} = \"{a}\"", key(c));
        }
    }
}

/// The pause before a step recorded at `to_ns` after one recorded at `from_ns`, at the plan's
/// speed, in whole milliseconds.
pub(crate) fn gap(plan: &Plan, from_ns: i128, to_ns: i128) -> Duration {
    let ns = u64::try_from(to_ns.saturating_sub(from_ns)).unwrap_or(0);
    paced(plan, Duration::from_nanos(ns))
}

/// A recorded pause at the plan's speed, in whole milliseconds.
fn paced(plan: &Plan, d: Duration) -> Duration {
    let scaled = plan.options.speed.scale(d);
    Duration::from_millis(u64::try_from(scaled.as_millis()).unwrap_or(u64::MAX))
}

/// A request as `[step.message]`: typed when that encodes to the same bytes.
fn message(out: &mut String, payload: &[u8], peer_mac: [u8; 6]) {
    message_with(out, payload, peer_mac, None);
}

/// A message as `[step.message]`, with `xid` and `chaddr` taken from the variables named
/// when given.
fn message_with(
    out: &mut String,
    payload: &[u8],
    peer_mac: [u8; 6],
    vars: Option<&(String, String)>,
) {
    let typed = Message::decode(payload)
        .ok()
        .and_then(|m| typed_message(&m, payload, peer_mac, vars));
    match typed {
        Some(text) => out.push_str(&text),
        None => {
            out.push_str(
                "# as bytes: the fields and options do not encode back to the recorded bytes\n\
                 # (padding, overloaded fields, split options or bytes after END)\n",
            );
            let _ = writeln!(
                out,
                "[step.message]\npayload = \"0x{}\"",
                crate::hex(payload)
            );
            if let Some((xid, chaddr)) = vars {
                let _ = writeln!(out, "xid = \"{xid}\"\nchaddr = \"{chaddr}\"");
            }
        }
    }
}

fn typed_message(
    m: &Message,
    payload: &[u8],
    peer_mac: [u8; 6],
    vars: Option<&(String, String)>,
) -> Option<String> {
    let mac = <[u8; 6]>::try_from(&m.chaddr[..6]).ok()?;
    let mut again = Message::new(m.op, m.xid, mac);
    again.htype = m.htype;
    again.hlen = m.hlen;
    again.hops = m.hops;
    again.secs = m.secs;
    again.flags = m.flags;
    again.ciaddr = m.ciaddr;
    again.yiaddr = m.yiaddr;
    again.siaddr = m.siaddr;
    again.giaddr = m.giaddr;
    let codes = crate::codes(&[m], &[]);
    for c in &codes {
        let data = m.option(*c)?;
        again.options.push_long(*c, &data.data).ok()?;
    }
    let encoded = again.encode();
    let padding = payload.len().checked_sub(encoded.len())?;
    if !payload.starts_with(&encoded) || payload[encoded.len()..].iter().any(|b| *b != 0) {
        return None;
    }
    let mut out = String::from("[step.message]\n");
    let kind = m.message_type().ok().flatten();
    if let Some(t) = kind {
        let _ = writeln!(out, "type = \"{t}\"");
    }
    if m.op != Message::BOOTREQUEST || kind.is_none() {
        let _ = writeln!(out, "op = {}", m.op);
    }
    match vars {
        Some((xid, _)) => {
            let _ = writeln!(out, "xid = \"{xid}\"");
        }
        None => {
            let _ = writeln!(out, "xid = {:#010x}", m.xid);
        }
    }
    for (name, value, default) in [
        ("htype", u32::from(m.htype), 1),
        ("hlen", u32::from(m.hlen), 6),
        ("hops", u32::from(m.hops), 0),
        ("secs", u32::from(m.secs), 0),
        ("flags", u32::from(m.flags), 0),
    ] {
        if value != default {
            let _ = writeln!(out, "{name} = {value}");
        }
    }
    for (name, a) in [
        ("ciaddr", m.ciaddr),
        ("yiaddr", m.yiaddr),
        ("siaddr", m.siaddr),
        ("giaddr", m.giaddr),
    ] {
        if !a.is_unspecified() {
            let _ = writeln!(out, "{name} = \"{a}\"");
        }
    }
    match vars {
        Some((_, chaddr)) => {
            let _ = writeln!(out, "chaddr = \"{chaddr}\"");
        }
        None if mac != peer_mac => {
            let _ = writeln!(out, "chaddr = \"{}\"", Hex(&mac));
        }
        None => {}
    }
    if padding > 0 {
        let _ = writeln!(out, "padding = {padding}");
    }
    let options: Vec<u8> = codes
        .into_iter()
        .filter(|c| kind.is_none() || *c != code::MESSAGE_TYPE)
        .collect();
    if !options.is_empty() {
        out.push_str("[step.message.options]\n");
        for c in options {
            let data = m.option(c)?;
            let _ = writeln!(out, "{} = {}", key(c), send_value(c, &data.data));
        }
    }
    Some(out)
}

/// The checks on a recorded answer: type, transaction, address, and each option.
fn expectation(out: &mut String, plan: &Plan, payload: &[u8], xid: u32) {
    let Ok(m) = Message::decode(payload) else {
        let _ = writeln!(
            out,
            "# the recorded answer does not decode: only its transaction is checked\n[step.fields]\nxid = {xid:#010x}"
        );
        return;
    };
    match m.message_type().ok().flatten() {
        Some(t) => {
            let _ = writeln!(out, "type = \"{t}\"");
        }
        None => out.push_str("type = \"BOOTREPLY\"\n"),
    }
    let _ = writeln!(out, "[step.fields]\nxid = {xid:#010x}");
    if !m.yiaddr.is_unspecified() {
        let _ = writeln!(out, "yiaddr = \"{}\"", m.yiaddr);
    }
    for (name, a) in [("siaddr", m.siaddr), ("giaddr", m.giaddr)] {
        if !a.is_unspecified() {
            let _ = writeln!(out, "{name} = \"{a}\"");
        }
    }
    let codes = crate::codes(&[&m], &[code::MESSAGE_TYPE, code::OVERLOAD]);
    if codes.is_empty() {
        return;
    }
    out.push_str("[step.options]\n");
    for c in codes {
        let Some(data) = m.option(c) else { continue };
        let value = if c == code::SERVER_ID {
            format!("\"{}\"", plan.server)
        } else {
            check_value(c, &data.data)
        };
        let _ = writeln!(out, "{} = {value}", key(c));
    }
}

/// An option's key: Kea's name when it has one that reads back to the code, else the code.
fn key(c: u8) -> String {
    match options4::name_of(c) {
        Some(n) if options4::code_of(n) == Some(c) => n.to_string(),
        _ => c.to_string(),
    }
}

fn format_of(c: u8) -> Option<Format> {
    catalogue::lookup(c).map(|(_, f)| f)
}

/// A number when the option's format is one and the width fits.
fn number(c: u8, data: &[u8]) -> Option<u64> {
    let width = match format_of(c)? {
        Format::U8 | Format::Bool => 1,
        Format::U16 => 2,
        Format::U32 | Format::Seconds | Format::Lifetime => 4,
        _ => return None,
    };
    (data.len() == width).then(|| data.iter().fold(0u64, |n, b| n << 8 | u64::from(*b)))
}

fn addresses(c: u8, data: &[u8]) -> Option<String> {
    let fits = matches!(
        format_of(c)?,
        Format::Addr | Format::Addrs | Format::AddrsOrEmpty
    ) && !data.is_empty()
        && data.len() % 4 == 0;
    fits.then(|| {
        data.chunks_exact(4)
            .map(|a| Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// Text a crafted message's option reads back as the same bytes.
fn plain_text(data: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(data).ok()?;
    let safe = !s.is_empty()
        && s.bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        && !s.starts_with("0x")
        && (!s.contains(':') || s.contains('.'))
        && s != "present"
        && s != "absent"
        && !s.starts_with('$');
    safe.then_some(s)
}

fn send_value(c: u8, data: &[u8]) -> String {
    if let Some(n) = number(c, data) {
        return n.to_string();
    }
    if let Some(a) = addresses(c, data) {
        return format!("\"{a}\"");
    }
    if format_of(c) == Some(Format::ParamList) && !data.is_empty() {
        let list: Vec<String> = data.iter().map(u8::to_string).collect();
        return format!("[{}]", list.join(", "));
    }
    if format_of(c) == Some(Format::Text)
        && let Some(t) = plain_text(data)
    {
        return format!("\"{t}\"");
    }
    format!("\"0x{}\"", crate::hex(data))
}

fn check_value(c: u8, data: &[u8]) -> String {
    if let Some(n) = number(c, data) {
        return n.to_string();
    }
    if let Some(a) = addresses(c, data) {
        return format!("\"{a}\"");
    }
    match plain_text(data).filter(|_| format_of(c) == Some(Format::Text)) {
        Some(t) => format!("\"0x{}\" # \"{t}\"", crate::hex(data)),
        None => format!("\"0x{}\"", crate::hex(data)),
    }
}

/// A TOML multi-line string holding `text`: literal when it can be, else basic with escapes.
pub(crate) fn multi_line(text: &str) -> String {
    if text.contains("'''") {
        let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"\"\"\n{escaped}\n\"\"\"")
    } else {
        format!("'''\n{text}\n'''")
    }
}

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}
