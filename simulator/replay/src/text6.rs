//! The DHCPv6 part of a plan written out as scenario text: the v6 server with its `Dhcp6`
//! configuration, a peer per recorded client and relay, a `send` step per request (typed:
//! type, xid or relay header, and each option's bytes in the recorded order, the server
//! identifier taken from the run's answer as `$sid`; the whole payload as bytes where a table
//! cannot hold the options), and an `expect` step per answer waited for or checked.

use crate::Plan;
use crate::v6::{Answer6, Plan6, Send6, options_in};
use dhcplab_scenario::format_duration;
use dhcplab_scenario::v6::{option6_code, option6_name};
use dhcplab_wire::v6::Message;
use dhcplab_wire::v6::catalogue::{self, Format, MessageType, code};
use std::fmt::Write as _;

/// The variable the run's server identifier is captured in.
pub(crate) const SERVER_ID_VAR: &str = "sid";

/// The server host and the peers.
pub(crate) fn hosts(out: &mut String, p: &Plan6) {
    crate::text::server_host(out, &p.server_name, &p.server, p.derived, &p.config);
    for peer in &p.peers {
        let address = peer.address.map(|a| a.to_string());
        crate::text::peer_host(
            out,
            (peer.relay, &peer.recorded),
            &peer.name,
            peer.mac,
            address,
        );
    }
}

/// A request's `send` step, `gap` after the step before.
pub(crate) fn send(out: &mut String, p: &Plan6, s: &Send6, gap: Option<std::time::Duration>) {
    out.push_str("[[step]]\n");
    if let Some(g) = gap.filter(|g| !g.is_zero()) {
        let _ = writeln!(out, "after = \"{}\"", format_duration(g));
    }
    let peer = &p.peers[s.peer];
    let to = if s.dst.ip().is_multicast() {
        "broadcast"
    } else {
        p.server_name.as_str()
    };
    let _ = writeln!(
        out,
        "do = \"send\"\nfrom = \"{}\"\nto = \"{to}\"\nsrc = \"{}\"\ndst = \"{}\"\nnote = \"#{} {}{}\"",
        peer.name,
        s.src,
        s.dst,
        s.record,
        if peer.relay { "RELAY-FORW of " } else { "" },
        s.kind
    );
    let typed = Message::decode(&s.payload)
        .ok()
        .and_then(|m| typed(&m, &s.payload, s.server_id));
    match typed {
        Some(text) => out.push_str(&text),
        None => {
            if s.server_id {
                out.push_str(
                    "# the recorded server identifier stays: an option repeats, which a table of\n\
                     # options cannot hold\n",
                );
            }
            let _ = writeln!(
                out,
                "[step.message]\npayload = \"0x{}\"",
                crate::hex(&s.payload)
            );
        }
    }
    out.push('\n');
}

/// A message as `[step.message]`: type, transaction id or relay header, and its options in
/// order, each as bytes (empty ones as `true`); the server identifier as `$sid` when
/// `server_id`. `None` when the options repeat a code or do not frame to the end.
fn typed(m: &Message, payload: &[u8], server_id: bool) -> Option<String> {
    let t = m.msg_type();
    let name = t.name()?;
    let mut out = format!("[step.message]\ntype = \"{name}\"\n");
    let body = match m {
        Message::Client(c) => {
            let _ = writeln!(out, "xid = {:#08x}", c.xid);
            payload.get(4..)?
        }
        Message::Relay(r) => {
            let _ = writeln!(
                out,
                "hops = {}\nlink-address = \"{}\"\npeer-address = \"{}\"",
                r.hop_count, r.link_address, r.peer_address
            );
            payload.get(34..)?
        }
    };
    let options = options_in(body);
    let framed = options.last().map_or(0, |(_, _, e)| *e);
    if framed != body.len() {
        return None;
    }
    let mut codes: Vec<u16> = options.iter().map(|(c, _, _)| *c).collect();
    codes.sort_unstable();
    codes.dedup();
    if codes.len() != options.len() {
        return None;
    }
    if options.is_empty() {
        return Some(out);
    }
    out.push_str("[step.message.options]\n");
    for (c, s, e) in options {
        let data = &body[s..e];
        let value = if c == code::SERVER_ID && server_id && !t.is_relay() {
            format!("\"${SERVER_ID_VAR}\"")
        } else if data.is_empty() {
            if catalogue::lookup(c).map(|(_, f)| f) != Some(Format::Empty) {
                return None;
            }
            "true".to_string()
        } else {
            format!("\"0x{}\"", crate::hex(data))
        };
        let _ = writeln!(out, "{} = {value}", key(c));
    }
    Some(out)
}

/// An option's key: Kea's name when it reads back to the code, else the code (quoted: TOML
/// keys are text).
fn key(c: u16) -> String {
    let name = option6_name(c);
    if option6_code(name) == Some(c) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        name.to_string()
    } else {
        format!("\"{c}\"")
    }
}

/// An answer's `expect` step: its transaction; with `checks`, its type and what it gives; the
/// run's server identifier captured when a later request names the server.
pub(crate) fn answer(
    out: &mut String,
    plan: &Plan,
    p: &Plan6,
    a: &Answer6,
    checks: bool,
    capture: bool,
) {
    let peer = &p.peers[a.peer].name;
    let xid = p.conversations[a.conversation].xid;
    let _ = writeln!(
        out,
        "[[step]]\nexpect = \"message\"\nfrom = \"{}\"\nto = \"{peer}\"\nwithin = \"{}\"\nnote = \"#{} {} (recorded)\"",
        p.server_name,
        format_duration(plan.options.wait),
        a.record,
        a.kind
    );
    let decoded = Message::decode(&a.payload).ok();
    let inner = decoded.as_ref().and_then(|m| m.innermost().ok());
    if !checks && !capture {
        out.push_str("optional = true\n");
    }
    if checks
        && let (Some(m), Some(i)) = (&decoded, &inner)
        && let (Some(outer), Some(inner_name)) = (m.msg_type().name(), i.msg_type().name())
    {
        let _ = writeln!(out, "type = \"{outer}\"");
        let _ = writeln!(out, "[step.fields]\nxid = {xid:#08x}");
        if m.msg_type().is_relay() {
            let _ = writeln!(out, "inner = \"{inner_name}\"");
        }
    } else {
        let _ = writeln!(out, "[step.fields]\nxid = {xid:#08x}");
    }
    if capture
        && inner
            .as_ref()
            .is_some_and(|i| i.options().get(code::SERVER_ID).is_some())
    {
        let _ = writeln!(out, "[step.capture]\n{SERVER_ID_VAR} = \"server-id\"");
    }
    if checks && let Some(i) = &inner {
        let checks = option_checks(i);
        if !checks.is_empty() {
            out.push_str("[step.options]\n");
            for line in checks {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out.push('\n');
}

/// The checks on an answer's client message: its status, each IA's IAID, T1, T2, status and
/// first address or prefix with its lifetimes, and every other option's bytes but the
/// identifiers (the client's is echoed, the server's is the run's own).
fn option_checks(m: &Message) -> Vec<String> {
    let mut out = Vec::new();
    let o = m.options();
    if let Ok(Some(s)) = o.status_code() {
        out.push(format!("status-code = \"{}\"", status(s.code)));
    }
    for (kind, lease, ias) in [
        ("ia-na", "iaaddr", o.ia_na().unwrap_or_default()),
        ("ia-pd", "iaprefix", o.ia_pd().unwrap_or_default()),
    ] {
        for (n, ia) in ias.iter().enumerate() {
            let head = if n == 0 {
                kind.to_string()
            } else {
                format!("{kind}[{}]", n + 1)
            };
            out.push(format!("\"{head}.iaid\" = {}", ia.iaid));
            out.push(format!("\"{head}.t1\" = {}", ia.t1));
            out.push(format!("\"{head}.t2\" = {}", ia.t2));
            if let Ok(Some(s)) = ia.options.status_code() {
                out.push(format!("\"{head}.status-code\" = \"{}\"", status(s.code)));
            }
            let first = match kind {
                "ia-na" => ia.options.ia_addresses().ok().and_then(|l| {
                    l.first()
                        .map(|a| (a.addr.to_string(), a.preferred, a.valid))
                }),
                _ => ia.options.ia_prefixes().ok().and_then(|l| {
                    l.first().map(|p| {
                        (
                            format!("{}/{}", p.prefix, p.prefix_len),
                            p.preferred,
                            p.valid,
                        )
                    })
                }),
            };
            if let Some((what, preferred, valid)) = first {
                out.push(format!("\"{head}.{lease}\" = \"{what}\""));
                out.push(format!("\"{head}.{lease}.preferred\" = {preferred}"));
                out.push(format!("\"{head}.{lease}.valid\" = {valid}"));
            }
        }
    }
    let mut seen = Vec::new();
    for x in o.iter() {
        if [
            code::CLIENT_ID,
            code::SERVER_ID,
            code::IA_NA,
            code::IA_PD,
            code::STATUS_CODE,
        ]
        .contains(&x.code)
            || seen.contains(&x.code)
        {
            continue;
        }
        seen.push(x.code);
        let addresses = matches!(
            catalogue::lookup(x.code).map(|(_, f)| f),
            Some(Format::Addr | Format::Addrs)
        ) && !x.data.is_empty()
            && x.data.len() % 16 == 0;
        let value = if x.data.is_empty() {
            "\"present\"".to_string()
        } else if addresses {
            // Address options are matched as addresses, not bytes.
            let list: Vec<String> = x
                .data
                .chunks_exact(16)
                .filter_map(|a| <[u8; 16]>::try_from(a).ok())
                .map(|a| std::net::Ipv6Addr::from(a).to_string())
                .collect();
            format!("\"{}\"", list.join(", "))
        } else {
            format!("\"0x{}\"", crate::hex(x.data))
        };
        out.push(format!("{} = {value}", key(x.code)));
    }
    out
}

/// A status code's name, else its number.
fn status(c: u16) -> String {
    catalogue::status_name(c).map_or_else(|| c.to_string(), str::to_string)
}

/// Whether a recorded answer is one a later request's server identifier comes from.
pub(crate) fn answers_with_server_id(a: &Answer6) -> bool {
    Message::decode(&a.payload)
        .ok()
        .and_then(|m| m.innermost().ok())
        .is_some_and(|i| {
            i.options().get(code::SERVER_ID).is_some()
                && [MessageType::ADVERTISE, MessageType::REPLY].contains(&i.msg_type())
        })
}
