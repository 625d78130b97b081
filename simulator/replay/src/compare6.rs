//! The DHCPv6 part of the divergence report: each recorded answer beside the answer the
//! server under test gave in the same conversation (the k-th beside the k-th), compared
//! through every relay layer (hop count, link and peer address, Interface-Id echoed), then by
//! the client message's type, status, each IA (matched by type and IAID: T1, T2, status, its
//! addresses or prefixes and their lifetimes) and option by option. Addresses are shown as
//! the run has them, with the capture's beside them where the run moved them. Tolerated: the
//! server identifier when the recorded one is the recorded server's (the run's server
//! identifies itself), status texts (the code is what counts), and lifetimes and timers
//! when the configuration was given rather than derived.

use crate::compare::{ConversationReport, Counts, Difference, Got, Recorded, pair, worst};
use crate::v6::{Item6, Plan6, options_in};
use dhcplab_conversations::{Family, Found, Role};
use dhcplab_wire::v6::catalogue::{self, code};
use dhcplab_wire::v6::{Message, OptionValue};
use std::collections::HashMap;
use std::net::Ipv6Addr;

/// Compares the recorded DHCPv6 answers of `p` with those in `run`, tallying in `counts`.
pub(crate) fn compare(p: &Plan6, run: &Found, counts: &mut Counts) -> Vec<ConversationReport> {
    let one_sided = !p.items.iter().any(|i| matches!(i, Item6::Answer(_)));
    let items = p.items_by_conversation();
    let mut by_xid: HashMap<u32, Vec<&dhcplab_conversations::Message>> = HashMap::new();
    for m in run.messages.iter().filter(|m| m.family == Family::V6) {
        by_xid.entry(m.xid).or_default().push(m);
    }
    let mut out = Vec::new();
    for (ci, conv) in p.conversations.iter().enumerate() {
        let mut requests_recorded: Vec<u64> = Vec::new();
        let mut recorded: Vec<Recorded<'_>> = Vec::new();
        for item in &items[ci] {
            match item {
                Item6::Send(s) => requests_recorded.push(s.record),
                Item6::Answer(a) => {
                    if let Some(request) = requests_recorded.last() {
                        recorded.push((
                            requests_recorded.len() - 1,
                            *request,
                            a.record,
                            &a.payload,
                            &a.kind,
                        ));
                    }
                }
            }
        }
        let mut sent = 0;
        let mut got: Vec<Got<'_>> = Vec::new();
        for m in by_xid.get(&conv.xid).into_iter().flatten() {
            if m.sender == Role::Server {
                if sent > 0 {
                    got.push((sent - 1, &m.payload, &m.kind));
                }
            } else {
                sent += 1;
            }
        }
        let answers = pair(
            &recorded,
            &requests_recorded,
            (sent, &got),
            one_sided,
            counts,
            (&|ours, theirs| differences(p, ours, theirs), &|b| {
                holds(p, b)
            }),
        );
        let verdict = worst(&answers);
        let requests = items[ci]
            .iter()
            .filter_map(|i| match i {
                Item6::Send(s) => Some(format!("#{} {}", s.record, s.kind)),
                Item6::Answer(_) => None,
            })
            .collect();
        out.push(ConversationReport {
            client: p.peers[conv.client].name.clone(),
            recorded_xid: format!("{:#08x}", conv.recorded_xid),
            xid: format!("{:#08x}", conv.xid),
            requests,
            answers,
            verdict,
        });
    }
    out
}

/// An address of the run, with the capture's beside it when the run moved it.
fn shown_address(p: &Plan6, a: Ipv6Addr, len: Option<u8>) -> String {
    let with_len = |a: Ipv6Addr| len.map_or(a.to_string(), |l| format!("{a}/{l}"));
    match p.map.recorded(a) {
        Some(r) => format!("{} ({} in the capture)", with_len(a), with_len(r)),
        None => with_len(a),
    }
}

/// An option's data written out, or `(absent)`.
fn shown(c: u16, data: Option<&[u8]>) -> String {
    let Some(d) = data else {
        return "(absent)".to_string();
    };
    match catalogue::lookup(c).map(|(_, f)| f) {
        Some(f) => match OptionValue::parse(f, d, 0) {
            Ok(v) => v.to_string(),
            Err(_) => format!("0x{}", crate::hex(d)),
        },
        None => format!("0x{}", crate::hex(d)),
    }
}

fn status_of(o: &dhcplab_wire::v6::OptionsRef<'_>) -> Option<(u16, String)> {
    o.status_code()
        .ok()
        .flatten()
        .map(|s| (s.code, String::from_utf8_lossy(&s.message).into_owned()))
}

fn status_text(s: &Option<(u16, String)>) -> String {
    match s {
        None => "(absent)".to_string(),
        Some((c, _)) => format!("{c} {}", catalogue::status_name(*c).unwrap_or("(unnamed)")),
    }
}

struct Diffs<'a> {
    p: &'a Plan6,
    out: Vec<Difference>,
}

impl Diffs<'_> {
    fn push(&mut self, what: String, recorded: String, got: String, tolerated: Option<&str>) {
        if recorded != got {
            self.out.push(Difference {
                what,
                recorded,
                got,
                tolerated: tolerated.map(str::to_string),
            });
        }
    }

    /// Status codes: the code counts, the text is the server's own.
    fn status(&mut self, what: &str, r: Option<(u16, String)>, g: Option<(u16, String)>) {
        self.push(
            format!("{what} status code"),
            status_text(&r),
            status_text(&g),
            None,
        );
        if let (Some((a, ta)), Some((b, tb))) = (&r, &g)
            && a == b
        {
            self.push(
                format!("{what} status message"),
                format!("{ta:?}"),
                format!("{tb:?}"),
                Some("the status text is the server's own (RFC 8415 21.13)"),
            );
        }
    }

    /// A lifetime or timer: tolerated when the configuration was given.
    fn number(&mut self, what: String, r: u32, g: u32) {
        let tolerated = (!self.p.derived).then_some("the configuration given sets it");
        self.push(what, r.to_string(), g.to_string(), tolerated);
    }
}

/// The leases of an IA: address or prefix (with its length), preferred and valid lifetimes,
/// and status.
type Leases = Vec<(Ipv6Addr, Option<u8>, u32, u32, Option<(u16, String)>)>;

fn leases(kind: u16, ia: &dhcplab_wire::v6::OptionsRef<'_>) -> Leases {
    let bytes = ia.as_bytes();
    let mut out = Vec::new();
    for (c, s, e) in options_in(bytes) {
        let d = &bytes[s..e];
        let nested = |from: usize| {
            d.get(from..).and_then(|rest| {
                dhcplab_wire::v6::OptionsRef::parse_nested(rest, 0)
                    .ok()
                    .and_then(|o| status_of(&o))
            })
        };
        let u32_at = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        if kind != code::IA_PD && c == code::IA_ADDR && d.len() >= 24 {
            let a = <[u8; 16]>::try_from(&d[..16])
                .map(Ipv6Addr::from)
                .unwrap_or(Ipv6Addr::UNSPECIFIED);
            out.push((a, None, u32_at(16), u32_at(20), nested(24)));
        } else if kind == code::IA_PD && c == code::IA_PREFIX && d.len() >= 25 {
            let a = <[u8; 16]>::try_from(&d[9..25])
                .map(Ipv6Addr::from)
                .unwrap_or(Ipv6Addr::UNSPECIFIED);
            out.push((a, Some(d[8]), u32_at(0), u32_at(4), nested(25)));
        }
    }
    out
}

/// An IA: IAID, T1 and T2 (none for IA_TA), and the options inside.
type IaParts<'a> = (u32, Option<(u32, u32)>, dhcplab_wire::v6::OptionsRef<'a>);

/// An IA in words: T1, T2, status and each lease with its lifetimes.
fn ia_summary(p: &Plan6, kind: u16, ia: &IaParts<'_>) -> String {
    let mut text = String::new();
    if let Some((t1, t2)) = ia.1 {
        text.push_str(&format!("T1 {t1} T2 {t2}"));
    }
    if let Some(s) = status_of(&ia.2) {
        text.push_str(&format!(
            " status {} {:?}",
            status_text(&Some(s.clone())),
            s.1
        ));
    }
    for l in leases(kind, &ia.2) {
        text.push_str(&format!(
            " {} preferred {} valid {}",
            shown_address(p, l.0, l.1),
            l.2,
            l.3
        ));
    }
    text.trim_start().to_string()
}

/// The IAs of one kind.
fn ias<'a>(m: &'a Message, kind: u16) -> Vec<IaParts<'a>> {
    let o = m.options();
    match kind {
        code::IA_NA => o
            .ia_na()
            .unwrap_or_default()
            .into_iter()
            .map(|i| (i.iaid, Some((i.t1, i.t2)), i.options))
            .collect(),
        code::IA_PD => o
            .ia_pd()
            .unwrap_or_default()
            .into_iter()
            .map(|i| (i.iaid, Some((i.t1, i.t2)), i.options))
            .collect(),
        _ => o
            .ia_ta()
            .unwrap_or_default()
            .into_iter()
            .map(|i| (i.iaid, None, i.options))
            .collect(),
    }
}

fn differences(p: &Plan6, recorded: &[u8], got: &[u8]) -> Vec<Difference> {
    let mut d = Diffs { p, out: Vec::new() };
    let (Ok(mut r), Ok(mut g)) = (Message::decode(recorded), Message::decode(got)) else {
        d.push(
            "payload".into(),
            if Message::decode(recorded).is_ok() {
                "decodes"
            } else {
                "does not decode"
            }
            .into(),
            if Message::decode(got).is_ok() {
                "decodes"
            } else {
                "does not decode"
            }
            .into(),
            None,
        );
        return d.out;
    };
    // The relay layers, outermost first.
    let mut layer = 1;
    loop {
        d.push(
            format!("relay layer {layer} type"),
            r.msg_type().to_string(),
            g.msg_type().to_string(),
            None,
        );
        let (Message::Relay(rr), Message::Relay(gr)) = (&r, &g) else {
            break;
        };
        d.push(
            format!("relay layer {layer} hop count"),
            rr.hop_count.to_string(),
            gr.hop_count.to_string(),
            None,
        );
        d.push(
            format!("relay layer {layer} link-address"),
            shown_address(p, rr.link_address, None),
            shown_address(p, gr.link_address, None),
            None,
        );
        d.push(
            format!("relay layer {layer} peer-address"),
            shown_address(p, rr.peer_address, None),
            shown_address(p, gr.peer_address, None),
            None,
        );
        d.push(
            format!("relay layer {layer} option 18 interface-id"),
            shown(code::INTERFACE_ID, r.options().interface_id()),
            shown(code::INTERFACE_ID, g.options().interface_id()),
            None,
        );
        match (r.relayed(), g.relayed()) {
            (Ok(Some(a)), Ok(Some(b))) => {
                r = a;
                g = b;
                layer += 1;
            }
            _ => break,
        }
        if layer > dhcplab_wire::v6::MAX_DEPTH {
            break;
        }
    }
    if !d.out.is_empty() || r.msg_type().is_relay() {
        return d.out;
    }
    d.push(
        "type".into(),
        r.msg_type().to_string(),
        g.msg_type().to_string(),
        None,
    );
    if !d.out.is_empty() {
        return d.out;
    }
    d.status("message", status_of(&r.options()), status_of(&g.options()));
    for (kind, name) in [
        (code::IA_NA, "IA_NA"),
        (code::IA_TA, "IA_TA"),
        (code::IA_PD, "IA_PD"),
    ] {
        let (ri, gi) = (ias(&r, kind), ias(&g, kind));
        let mut iaids: Vec<u32> = ri.iter().chain(&gi).map(|(i, _, _)| *i).collect();
        iaids.dedup();
        iaids.sort_unstable();
        iaids.dedup();
        for iaid in iaids {
            let what = format!("{name} {iaid:#010x}");
            let (a, b) = (
                ri.iter().find(|x| x.0 == iaid),
                gi.iter().find(|x| x.0 == iaid),
            );
            let (Some(a), Some(b)) = (a, b) else {
                let side = |x: Option<&IaParts<'_>>| {
                    x.map_or("(absent)".to_string(), |x| ia_summary(p, kind, x))
                };
                d.push(what, side(a), side(b), None);
                continue;
            };
            if let (Some((t1a, t2a)), Some((t1b, t2b))) = (a.1, b.1) {
                d.number(format!("{what} T1"), t1a, t1b);
                d.number(format!("{what} T2"), t2a, t2b);
            }
            d.status(&what, status_of(&a.2), status_of(&b.2));
            let (la, lb) = (leases(kind, &a.2), leases(kind, &b.2));
            let list = |l: &Leases| {
                let v: Vec<String> = l.iter().map(|x| shown_address(p, x.0, x.1)).collect();
                if v.is_empty() {
                    "(none)".to_string()
                } else {
                    v.join(", ")
                }
            };
            let lease_name = if kind == code::IA_PD {
                "prefixes"
            } else {
                "addresses"
            };
            d.push(format!("{what} {lease_name}"), list(&la), list(&lb), None);
            for x in &la {
                if let Some(y) = lb.iter().find(|y| y.0 == x.0 && y.1 == x.1) {
                    let at = format!("{what} {}", shown_address(p, x.0, x.1));
                    d.number(format!("{at} preferred lifetime"), x.2, y.2);
                    d.number(format!("{at} valid lifetime"), x.3, y.3);
                    d.status(&at, x.4.clone(), y.4.clone());
                }
            }
        }
    }
    let mut codes: Vec<u16> = Vec::new();
    for o in r.options().iter().chain(g.options().iter()) {
        if !codes.contains(&o.code)
            && ![code::IA_NA, code::IA_TA, code::IA_PD, code::STATUS_CODE].contains(&o.code)
        {
            codes.push(o.code);
        }
    }
    for c in codes {
        let (a, b) = (
            r.options().get(c).map(|o| o.data),
            g.options().get(c).map(|o| o.data),
        );
        if a == b {
            continue;
        }
        let tolerated = (c == code::SERVER_ID
            && b.is_some()
            && a.is_some_and(|a| p.recorded_servers.iter().any(|s| s == a)))
        .then_some("the run's server identifies itself");
        d.push(
            format!("option {c} {}", dhcplab_scenario::v6::option6_name(c)),
            shown(c, a),
            shown(c, b),
            tolerated,
        );
    }
    d.out
}

/// An answer in a line: its type, each IA's leases, and its other options.
fn holds(p: &Plan6, payload: &[u8]) -> String {
    let Ok(outer) = Message::decode(payload) else {
        return format!("{} bytes that do not decode", payload.len());
    };
    let Ok(m) = outer.innermost() else {
        return format!("{} without the message it relays", outer.msg_type());
    };
    let mut layers = Vec::new();
    let mut layer = outer.clone();
    while let Message::Relay(r) = &layer {
        let id = layer.options().interface_id().map_or(String::new(), |i| {
            format!(" interface-id 0x{}", crate::hex(i))
        });
        layers.push(format!(
            "{} hops {} link-address {} peer-address {}{id}",
            r.msg_type,
            r.hop_count,
            shown_address(p, r.link_address, None),
            r.peer_address
        ));
        match layer.relayed() {
            Ok(Some(inner)) if layers.len() <= dhcplab_wire::v6::MAX_DEPTH => layer = inner,
            _ => break,
        }
    }
    layers.push(m.msg_type().to_string());
    let mut parts = vec![layers.join(" of ")];
    if let Some(s) = status_of(&m.options()) {
        parts.push(format!("status {}", status_text(&Some(s))));
    }
    for (kind, name) in [
        (code::IA_NA, "IA_NA"),
        (code::IA_TA, "IA_TA"),
        (code::IA_PD, "IA_PD"),
    ] {
        for ia in ias(&m, kind) {
            parts.push(format!(
                "{name} {:#010x} {}",
                ia.0,
                ia_summary(p, kind, &ia)
            ));
        }
    }
    let mut seen = Vec::new();
    for o in m.options().iter() {
        if [code::IA_NA, code::IA_TA, code::IA_PD, code::STATUS_CODE].contains(&o.code)
            || seen.contains(&o.code)
        {
            continue;
        }
        seen.push(o.code);
        parts.push(format!("{}={}", o.code, shown(o.code, Some(o.data))));
    }
    parts.join("; ")
}
