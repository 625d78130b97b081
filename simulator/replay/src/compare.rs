//! The divergence report: each recorded answer beside the answer the server under test gave
//! to the same request in the run, compared by type, address fields and options (joined per
//! RFC 3396, so how an option is split or placed does not count; order only as a note), with
//! the differences a server may choose for itself marked tolerated: the server identifier
//! when it is the run's server, a lease time inside the configured lifetimes, T1/T2 inside
//! the lease, option overload.

use crate::{Item, Plan};
use dhcplab_conversations::{Family, Found, Role};
use dhcplab_kea_config::options4;
use dhcplab_wire::v4::catalogue::code;
use dhcplab_wire::v4::{Hex, Message};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;

/// How an answer compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The same, difference for difference.
    Same,
    /// Only tolerated differences.
    Tolerated,
    /// A difference that is not tolerated.
    Diverges,
    /// The server under test did not answer.
    Missing,
    /// The server under test answered where the recorded server did not.
    Unexpected,
    /// The request was not sent: the run stopped before it.
    NotSent,
    /// The capture holds no answer of any server to compare with (it shows one side only).
    Unrecorded,
}

impl Verdict {
    fn name(self) -> &'static str {
        match self {
            Verdict::Same => "same",
            Verdict::Tolerated => "same but for tolerated differences",
            Verdict::Diverges => "diverges",
            Verdict::Missing => "none came",
            Verdict::Unexpected => "unexpected answer",
            Verdict::NotSent => "not sent (the run stopped before it)",
            Verdict::Unrecorded => "the capture holds no answers to compare with",
        }
    }

    /// Whether it counts against the stack.
    pub fn fails(self) -> bool {
        !matches!(
            self,
            Verdict::Same | Verdict::Tolerated | Verdict::Unrecorded
        )
    }
}

/// One difference between a recorded answer and the stack's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The field or option (`yiaddr`, `option 51 dhcp-lease-time`, `type`).
    pub what: String,
    /// The recorded value (rewritten into the run), or `(absent)`.
    pub recorded: String,
    /// The stack's value, or `(absent)`.
    pub got: String,
    /// Why it is tolerated, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated: Option<String>,
}

/// A recorded answer (or an answer only the stack gave) and how the stack's compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// The recorded answer's frame number (`None` for an unexpected answer).
    pub record: Option<u64>,
    /// The frame number of the recorded message it follows: the request it answers (client
    /// side), the answer before it (server side).
    pub request: Option<u64>,
    /// The recorded type (`None` for an unexpected answer).
    pub recorded: Option<String>,
    /// The stack's type (`None` when it did not answer).
    pub got: Option<String>,
    /// How they compare.
    pub verdict: Verdict,
    /// Field by field, option by option.
    pub differences: Vec<Difference>,
    /// What the stack's answer held, when there was no recorded one to compare it with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holds: Option<String>,
}

/// One replayed conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationReport {
    /// The client's peer name.
    pub client: String,
    /// Transaction id in the capture.
    pub recorded_xid: String,
    /// Transaction id in the run.
    pub xid: String,
    /// The requests sent (`#1 DISCOVER`).
    pub requests: Vec<String>,
    /// The answers, in order.
    pub answers: Vec<Answer>,
    /// The worst verdict of its answers (`same` when it had none and none came).
    pub verdict: Verdict,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The capture.
    pub capture: String,
    /// What is compared: the server's `answers` (the capture's client side played) or the
    /// client's `requests` (its server side played).
    pub compared: String,
    /// The stack under test.
    pub against: String,
    /// Where the capture's addresses went.
    pub mapping: Vec<String>,
    /// What was not replayed, and why.
    pub left_out: Vec<String>,
    /// Per conversation.
    pub conversations: Vec<ConversationReport>,
    /// How the run ended, when it stopped early (an answer a client waited for never came).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Answers per verdict.
    pub counts: Counts,
    /// Nothing diverges beyond the tolerated differences (what the exit status says).
    pub passed: bool,
}

/// Answers per verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Answers recorded.
    pub recorded: usize,
    /// The same.
    pub same: usize,
    /// The same but for tolerated differences.
    pub tolerated: usize,
    /// Diverging.
    pub diverges: usize,
    /// Not answered.
    pub missing: usize,
    /// Answered where the recorded server was silent.
    pub unexpected: usize,
    /// Requests the run never sent.
    pub not_sent: usize,
    /// Answers the capture has nothing to compare with.
    pub unrecorded: usize,
}

impl Report {
    fn new(
        plan: &Plan,
        compared: &str,
        against: &str,
        conversations: Vec<ConversationReport>,
        stopped: Option<String>,
        counts: Counts,
    ) -> Report {
        let c = counts;
        let passed = c.diverges + c.missing + c.unexpected + c.not_sent == 0 && stopped.is_none();
        Report {
            capture: plan.capture.clone(),
            compared: compared.into(),
            against: against.to_string(),
            mapping: plan.mapping(),
            left_out: plan.left_out.clone(),
            conversations,
            stopped,
            counts,
            passed,
        }
    }

    /// The report for people: the mapping, a line per conversation, a line per answer with
    /// its differences beneath, and a summary line.
    pub fn text(&self) -> String {
        let mut out = format!("replay of {} against {}\n", self.capture, self.against);
        for line in &self.mapping {
            let _ = writeln!(out, "  {line}");
        }
        for line in &self.left_out {
            let _ = writeln!(out, "  left out: {line}");
        }
        for (i, c) in self.conversations.iter().enumerate() {
            let diverging = c.answers.iter().filter(|a| a.verdict.fails()).count();
            let _ = writeln!(
                out,
                "conversation {}: {} {}, xid {} -> {}: {}, {}",
                i + 1,
                c.client,
                c.requests.join(" "),
                c.recorded_xid,
                c.xid,
                counted(c.answers.len(), &self.compared),
                if diverging == 0 {
                    "no divergence".to_string()
                } else {
                    format!("{diverging} diverging")
                }
            );
            for a in &c.answers {
                let recorded = match (a.record, &a.recorded) {
                    (Some(r), Some(k)) => format!("#{r} {k}"),
                    _ => "(nothing recorded)".to_string(),
                };
                let request = a.request.map_or(String::new(), |r| format!(" to #{r}"));
                let got = a.got.as_deref().unwrap_or("nothing");
                let _ = writeln!(
                    out,
                    "  {recorded}{request}: got {got}: {}",
                    a.verdict.name()
                );
                if let Some(h) = &a.holds {
                    let _ = writeln!(out, "      {h}");
                }
                for d in &a.differences {
                    let tolerated = d
                        .tolerated
                        .as_ref()
                        .map_or(String::new(), |t| format!(" (tolerated: {t})"));
                    let _ = writeln!(
                        out,
                        "      {}: recorded {}, got {}{tolerated}",
                        d.what, d.recorded, d.got
                    );
                }
            }
        }
        if let Some(s) = &self.stopped {
            let _ = writeln!(out, "the run stopped: {s}");
        }
        let c = self.counts;
        let _ = writeln!(
            out,
            "summary: {}, {} recorded: {} same, {} tolerated, {} diverge, {} missing; {} unexpected, {} unrecorded, {} not sent",
            counted(self.conversations.len(), "conversations"),
            counted(c.recorded, &self.compared),
            c.same,
            c.tolerated,
            c.diverges,
            c.missing,
            c.unexpected,
            c.unrecorded,
            c.not_sent
        );
        out
    }
}

/// `n` and a plural noun, singular for one.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {}", noun.strip_suffix('s').unwrap_or(noun))
    } else {
        format!("{n} {noun}")
    }
}

/// A recorded answer: the index of the request it follows, the request's frame number, its
/// own frame number, payload and type.
pub(crate) type Recorded<'a> = (usize, u64, u64, &'a [u8], &'a str);

/// An answer of the stack: the index of the run's request it follows, its payload and type.
pub(crate) type Got<'a> = (usize, &'a [u8], &'a str);

/// How to compare a recorded answer with the stack's, and how to show one with no recorded
/// answer beside it.
pub(crate) type Judges<'a> = (
    &'a dyn Fn(&[u8], &[u8]) -> Vec<Difference>,
    &'a dyn Fn(&[u8]) -> String,
);

/// The answers of one conversation: the k-th recorded answer beside the k-th the stack gave
/// (`got`: the index of the run's request each follows, payload and type, after `sent`
/// requests), each tallied in `counts`; a recorded answer to a request the run never sent is
/// not sent, one with nothing beside it missing; the stack's answers left over are
/// unexpected, or unrecorded when the capture holds no answer at all (`one_sided`).
pub(crate) fn pair(
    recorded: &[Recorded<'_>],
    requests_recorded: &[u64],
    (sent, got): (usize, &[Got<'_>]),
    one_sided: bool,
    counts: &mut Counts,
    (differ, show): Judges<'_>,
) -> Vec<Answer> {
    let mut answers = Vec::new();
    let mut theirs = got.iter();
    for &(k, request, record, ours, kind) in recorded {
        counts.recorded += 1;
        let mut answer = Answer {
            record: Some(record),
            request: Some(request),
            recorded: Some(kind.to_string()),
            got: None,
            verdict: Verdict::NotSent,
            differences: Vec::new(),
            holds: None,
        };
        if k < sent {
            match theirs.next() {
                Some((_, payload, got_kind)) => {
                    answer.differences = differ(ours, payload);
                    answer.verdict = verdict_of(&answer.differences);
                    answer.got = Some(got_kind.to_string());
                }
                None => answer.verdict = Verdict::Missing,
            }
        }
        tally(counts, answer.verdict);
        answers.push(answer);
    }
    for (k, payload, got_kind) in theirs {
        let extra = Answer {
            record: None,
            request: requests_recorded.get(*k).copied(),
            recorded: None,
            got: Some(got_kind.to_string()),
            verdict: if one_sided {
                Verdict::Unrecorded
            } else {
                Verdict::Unexpected
            },
            differences: Vec::new(),
            holds: Some(show(payload)),
        };
        tally(counts, extra.verdict);
        answers.push(extra);
    }
    answers
}

/// How an answer compares with the one recorded: diverging when a difference is not
/// tolerated.
pub(crate) fn verdict_of(differences: &[Difference]) -> Verdict {
    if differences.iter().any(|d| d.tolerated.is_none()) {
        Verdict::Diverges
    } else if differences.is_empty() {
        Verdict::Same
    } else {
        Verdict::Tolerated
    }
}

/// Compares the recorded answers of `plan` with those in `run` (the run's own capture, read
/// by the conversation finder), conversation by conversation: the k-th answer of the stack
/// beside the k-th recorded one, whichever retransmission each answered. `stopped` is why
/// the run ended early, if it did.
pub fn compare(plan: &Plan, run: &Found, against: &str, stopped: Option<String>) -> Report {
    let lifetimes = lifetimes(&plan.config);
    let one_sided = !plan.items.iter().any(|i| matches!(i, Item::Answer(_)));
    let items = plan.items_by_conversation();
    // The run's DHCPv4 messages by transaction, read once (a capture may hold thousands).
    let mut by_xid: HashMap<u32, Vec<&dhcplab_conversations::Message>> = HashMap::new();
    for m in run.messages.iter().filter(|m| m.family == Family::V4) {
        by_xid.entry(m.xid).or_default().push(m);
    }
    let mut conversations = Vec::new();
    let mut counts = Counts::default();
    for (ci, conv) in plan.conversations.iter().enumerate() {
        let mut requests_recorded: Vec<u64> = Vec::new();
        let mut recorded: Vec<Recorded<'_>> = Vec::new();
        for item in &items[ci] {
            match item {
                Item::Send(s) => requests_recorded.push(s.record),
                Item::Answer(a) => {
                    if let Some(request) = requests_recorded.last() {
                        let k = requests_recorded.len() - 1;
                        recorded.push((k, *request, a.record, &a.payload, &a.kind));
                    }
                }
            }
        }
        // The run's requests of this transaction, and its answers with the index of the
        // request each follows.
        let mut sent = 0;
        let mut got: Vec<Got<'_>> = Vec::new();
        for m in by_xid.get(&conv.xid).into_iter().flatten() {
            if m.payload.first() == Some(&Message::BOOTREQUEST) {
                sent += 1;
            } else if m.sender == Role::Server && sent > 0 {
                got.push((sent - 1, &m.payload, &m.kind));
            }
        }
        let answers = pair(
            &recorded,
            &requests_recorded,
            (sent, &got),
            one_sided,
            &mut counts,
            (
                &|ours, theirs| differences(plan, lifetimes, ours, theirs),
                &holds,
            ),
        );
        let verdict = worst(&answers);
        let requests = items[ci]
            .iter()
            .filter_map(|i| match i {
                Item::Send(s) => Some(format!("#{} {}", s.record, s.kind)),
                Item::Answer(_) => None,
            })
            .collect();
        conversations.push(ConversationReport {
            client: plan.peers[conv.client].name.clone(),
            requests,
            recorded_xid: format!("{:#010x}", conv.recorded_xid),
            xid: format!("{:#010x}", conv.xid),
            answers,
            verdict,
        });
    }
    if let Some(p6) = &plan.v6 {
        conversations.extend(crate::compare6::compare(p6, run, &mut counts));
    }
    Report::new(plan, "answers", against, conversations, stopped, counts)
}

/// The lifetimes a configuration allows: the smallest and largest of `valid-lifetime`,
/// `min-valid-lifetime` and `max-valid-lifetime` at any level (Kea's default 7200 when none).
fn lifetimes(config: &str) -> (u64, u64) {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(config) else {
        return (7200, 7200);
    };
    let mut values = Vec::new();
    let mut look = |v: &serde_json::Value| {
        for key in ["valid-lifetime", "min-valid-lifetime", "max-valid-lifetime"] {
            if let Some(n) = v.get(key).and_then(serde_json::Value::as_u64) {
                values.push(n);
            }
        }
    };
    let dhcp4 = &json["Dhcp4"];
    look(dhcp4);
    for s in dhcp4["subnet4"].as_array().into_iter().flatten() {
        look(s);
    }
    match (values.iter().min(), values.iter().max()) {
        (Some(lo), Some(hi)) => (*lo, *hi),
        _ => (7200, 7200),
    }
}

fn differences(plan: &Plan, lifetimes: (u64, u64), recorded: &[u8], got: &[u8]) -> Vec<Difference> {
    let (r, g) = match (Message::decode(recorded), Message::decode(got)) {
        (Ok(r), Ok(g)) => (r, g),
        (r, g) => {
            return if recorded == got {
                Vec::new()
            } else {
                vec![Difference {
                    what: "payload".into(),
                    recorded: decodes(r.err()),
                    got: decodes(g.err()),
                    tolerated: None,
                }]
            };
        }
    };
    let mut out = Vec::new();
    let diff = |out: &mut Vec<Difference>, what: &str, a: String, b: String| {
        if a != b {
            out.push(Difference {
                what: what.into(),
                recorded: a,
                got: b,
                tolerated: None,
            });
        }
    };
    diff(&mut out, "type", kind(&r), kind(&g));
    if !out.is_empty() {
        return out;
    }
    for (name, a, b) in [
        ("yiaddr", r.yiaddr, g.yiaddr),
        ("ciaddr", r.ciaddr, g.ciaddr),
        ("siaddr", r.siaddr, g.siaddr),
        ("giaddr", r.giaddr, g.giaddr),
    ] {
        diff(&mut out, name, a.to_string(), b.to_string());
    }
    diff(
        &mut out,
        "chaddr",
        Hex(r.hardware_address()).to_string(),
        Hex(g.hardware_address()).to_string(),
    );
    diff(
        &mut out,
        "broadcast flag",
        r.broadcast().to_string(),
        g.broadcast().to_string(),
    );
    for (name, a, b, overloaded) in [
        (
            "sname",
            &r.sname[..],
            &g.sname[..],
            r.field_tail(dhcplab_wire::v4::Area::Sname).is_some()
                || g.field_tail(dhcplab_wire::v4::Area::Sname).is_some(),
        ),
        (
            "file",
            &r.file[..],
            &g.file[..],
            r.field_tail(dhcplab_wire::v4::Area::File).is_some()
                || g.field_tail(dhcplab_wire::v4::Area::File).is_some(),
        ),
    ] {
        if !overloaded {
            diff(&mut out, name, field_text(a), field_text(b));
        }
    }
    let got_lease = g.lease_time().ok().flatten();
    for c in crate::codes(&[&r, &g], &[code::MESSAGE_TYPE]) {
        let (a, b) = (r.option(c), g.option(c));
        if a.as_ref().map(|d| &d.data) == b.as_ref().map(|d| &d.data) {
            continue;
        }
        let number = |m: &Message| {
            m.option(c).filter(|d| d.data.len() == 4).map(|d| {
                u64::from(u32::from_be_bytes([
                    d.data[0], d.data[1], d.data[2], d.data[3],
                ]))
            })
        };
        let tolerated = match c {
            code::SERVER_ID => (b.as_ref().map(|d| d.data.as_ref())
                == Some(&plan.server.octets()[..]))
            .then(|| "the run's server identifies itself".to_string()),
            code::LEASE_TIME => match (number(&r), number(&g)) {
                (Some(x), Some(y))
                    if (lifetimes.0..=lifetimes.1).contains(&x)
                        && (lifetimes.0..=lifetimes.1).contains(&y) =>
                {
                    Some(format!(
                        "both inside the configured lifetimes {}-{} s",
                        lifetimes.0, lifetimes.1
                    ))
                }
                _ => None,
            },
            code::RENEWAL_TIME | code::REBINDING_TIME => match (number(&g), got_lease) {
                (Some(t), Some(l)) if t < u64::from(l) => {
                    Some("a timer inside the lease".to_string())
                }
                _ => None,
            },
            code::OVERLOAD => Some("where options sit is the server's choice".to_string()),
            _ => None,
        };
        out.push(Difference {
            what: format!("option {c} {}", options4::name_of(c).unwrap_or("(unnamed)")),
            recorded: shown(&r, c),
            got: shown(&g, c),
            tolerated,
        });
    }
    out
}

/// Option `c` of `m` written out, or `(absent)`.
fn shown(m: &Message, c: u8) -> String {
    match (m.option(c), m.value(c)) {
        (None, _) => "(absent)".to_string(),
        (Some(_), Ok(Some(v))) => v.to_string(),
        (Some(d), _) => format!("0x{}", crate::hex(&d.data)),
    }
}

/// The type of a DHCPv4 message, or BOOTREQUEST/BOOTREPLY for BOOTP.
fn kind(m: &Message) -> String {
    match m.message_type().ok().flatten() {
        Some(t) => t.to_string(),
        None if m.op == Message::BOOTREQUEST => "BOOTREQUEST".to_string(),
        None => "BOOTREPLY".to_string(),
    }
}

/// An answer in a line: its address and options with their values.
fn holds(payload: &[u8]) -> String {
    let Ok(m) = Message::decode(payload) else {
        return format!("{} bytes that do not decode", payload.len());
    };
    let options: Vec<String> = crate::codes(&[&m], &[code::MESSAGE_TYPE])
        .iter()
        .map(|c| match m.value(*c) {
            Ok(Some(v)) => format!("{c}={v}"),
            _ => format!("{c}"),
        })
        .collect();
    format!("yiaddr {}; options {}", m.yiaddr, options.join("; "))
}

fn decodes(e: Option<dhcplab_wire::DecodeError>) -> String {
    e.map_or_else(
        || "decodes".to_string(),
        |e| format!("does not decode: {e}"),
    )
}

/// A `sname` or `file` field as text, up to its first NUL.
fn field_text(bytes: &[u8]) -> String {
    match crate::until_nul(bytes) {
        [] => "(empty)".to_string(),
        text => format!("{:?}", String::from_utf8_lossy(text)),
    }
}

/// The server side's report: the client under test's requests in the run, in order, beside
/// the recorded client's. What a client must get right against these answers is compared
/// (type, `ciaddr`, and in a REQUEST the requested address and server identifier); what it
/// chooses for itself (parameter list, identifiers, host name, vendor class, flags, hints in
/// a DISCOVER) is listed as tolerated.
pub fn requests(plan: &Plan, run: &Found, against: &str, stopped: Option<String>) -> Report {
    let theirs: Vec<(&[u8], &str)> = run
        .messages
        .iter()
        .filter(|m| m.family == Family::V4 && m.payload.first() == Some(&Message::BOOTREQUEST))
        .map(|m| (m.payload.as_slice(), m.kind.as_str()))
        .collect();
    let mut next = 0;
    let mut counts = Counts::default();
    let mut conversations = Vec::new();
    let items = plan.items_by_conversation();
    for (ci, conv) in plan.conversations.iter().enumerate() {
        let mut answers = Vec::new();
        let mut after: Option<u64> = None;
        let mut requests = Vec::new();
        for item in &items[ci] {
            match item {
                Item::Answer(a) => after = Some(a.record),
                Item::Send(s) => {
                    requests.push(format!("#{} {}", s.record, s.kind));
                    counts.recorded += 1;
                    // The client's next request of the recorded type; what it sent before
                    // that (a retransmission, a message the recorded client did not send) is
                    // listed as unexpected.
                    let same_kind = theirs[next.min(theirs.len())..]
                        .iter()
                        .position(|(_, k)| *k == s.kind)
                        .map(|j| next + j);
                    if let Some(j) = same_kind {
                        for (payload, kind) in &theirs[next..j] {
                            let extra = unexpected(after, payload, kind);
                            tally(&mut counts, extra.verdict);
                            answers.push(extra);
                        }
                        next = j;
                    }
                    let answer = match theirs.get(next) {
                        Some((payload, kind)) => {
                            next += 1;
                            let differences = request_differences(&s.payload, payload);
                            let verdict = verdict_of(&differences);
                            Answer {
                                record: Some(s.record),
                                request: after,
                                recorded: Some(s.kind.clone()),
                                got: Some(kind.to_string()),
                                verdict,
                                differences,
                                holds: None,
                            }
                        }
                        None => Answer {
                            record: Some(s.record),
                            request: after,
                            recorded: Some(s.kind.clone()),
                            got: None,
                            verdict: Verdict::Missing,
                            differences: Vec::new(),
                            holds: None,
                        },
                    };
                    tally(&mut counts, answer.verdict);
                    answers.push(answer);
                }
            }
        }
        if ci + 1 == plan.conversations.len() {
            for (payload, kind) in theirs.iter().skip(next) {
                let extra = unexpected(after, payload, kind);
                tally(&mut counts, extra.verdict);
                answers.push(extra);
            }
        }
        let verdict = worst(&answers);
        conversations.push(ConversationReport {
            client: "c1".to_string(),
            recorded_xid: format!("{:#010x}", conv.recorded_xid),
            xid: "the client's".to_string(),
            requests,
            answers,
            verdict,
        });
    }
    Report::new(plan, "requests", against, conversations, stopped, counts)
}

/// A request of the client under test with no recorded one beside it.
fn unexpected(after: Option<u64>, payload: &[u8], kind: &str) -> Answer {
    Answer {
        record: None,
        request: after,
        recorded: None,
        got: Some(kind.to_string()),
        verdict: Verdict::Unexpected,
        differences: Vec::new(),
        holds: Some(holds(payload)),
    }
}

pub(crate) fn tally(counts: &mut Counts, verdict: Verdict) {
    match verdict {
        Verdict::Same => counts.same += 1,
        Verdict::Tolerated => counts.tolerated += 1,
        Verdict::Diverges => counts.diverges += 1,
        Verdict::Missing => counts.missing += 1,
        Verdict::Unexpected => counts.unexpected += 1,
        Verdict::NotSent => counts.not_sent += 1,
        Verdict::Unrecorded => counts.unrecorded += 1,
    }
}

/// The worst verdict of some answers (`same` when none).
pub(crate) fn worst(answers: &[Answer]) -> Verdict {
    answers
        .iter()
        .map(|a| a.verdict)
        .find(|v| v.fails())
        .or_else(|| {
            answers
                .iter()
                .map(|a| a.verdict)
                .find(|v| *v == Verdict::Tolerated)
        })
        .unwrap_or(Verdict::Same)
}

/// A client's request beside the recorded one.
fn request_differences(recorded: &[u8], got: &[u8]) -> Vec<Difference> {
    let (Ok(r), Ok(g)) = (Message::decode(recorded), Message::decode(got)) else {
        return vec![Difference {
            what: "payload".into(),
            recorded: "decodes".into(),
            got: "does not decode".into(),
            tolerated: None,
        }];
    };
    let own = Some("the client's own choice".to_string());
    let mut out = Vec::new();
    let mut diff = |what: &str, a: String, b: String, tolerated: Option<String>| {
        if a != b {
            out.push(Difference {
                what: what.into(),
                recorded: a,
                got: b,
                tolerated,
            });
        }
    };
    diff("type", kind(&r), kind(&g), None);
    diff("ciaddr", r.ciaddr.to_string(), g.ciaddr.to_string(), None);
    diff(
        "broadcast flag",
        r.broadcast().to_string(),
        g.broadcast().to_string(),
        own.clone(),
    );
    for c in crate::codes(&[&r, &g], &[code::MESSAGE_TYPE]) {
        let (a, b) = (r.option(c), g.option(c));
        if a.as_ref().map(|d| &d.data) == b.as_ref().map(|d| &d.data) {
            continue;
        }
        // A REQUEST must name the address (and, selecting, the server) it takes; elsewhere
        // these are hints (RFC 2131 table 5).
        let tolerated = match c {
            code::REQUESTED_IP | code::SERVER_ID if kind(&r) == "REQUEST" => None,
            _ => own.clone(),
        };
        diff(
            &format!("option {c} {}", options4::name_of(c).unwrap_or("(unnamed)")),
            shown(&r, c),
            shown(&g, c),
            tolerated,
        );
    }
    out
}
