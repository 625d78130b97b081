//! DHCPv6 replays of the shared corpus's v6 captures (`../shared/pcaps`; skipped with a
//! message when it is missing, failing under CI): the plans (addresses in 2001:db8::/32,
//! relay layers kept, a Request's server identifier taken from the run), the scenarios they
//! write (read back to the very bytes planned; pinned by snapshots), and the comparison of
//! recorded answers with a run's.

use dhcplab_conversations::{Family, Found, Message as Seen, Role};
use dhcplab_replay::{Item6, Options, Plan, Verdict, compare, plan, scenario_of};
use dhcplab_scenario::{Act, What};
use dhcplab_wire::v6::{Message, code};
use std::collections::BTreeMap;
use std::net::{Ipv6Addr, SocketAddr};

/// The v6 captures the issue names, and the other v6 captures of the corpus's tcpdump set.
const CAPTURES: [&str; 8] = [
    "arkime/wireshark-dhcpv6.pcap",
    "kea-pkt-captures/captureDocsisRelayedSolicit.pcap",
    "kea-pkt-captures/captureeRouterRelayedSolicit.pcap",
    "kea-pkt-captures/captureRelayed2xRSOO.pcap",
    "tcpdump/dhcpv6-ia-pd.pcap",
    "tcpdump/dhcpv6-ia-ta.pcap",
    "tcpdump/dhcpv6-AFTR-Name-RFC6334.pcap",
    "tcpdump/dhcpv6-mud.pcap",
];

fn found(file: &str) -> Option<Found> {
    let path = dhcplab_testkit::shared_pcaps()?.join(file);
    let reader = dhcplab_capture::CaptureReader::open(&path).expect("the capture opens");
    Some(dhcplab_conversations::find(reader))
}

fn planned(file: &str) -> Option<Plan> {
    planned_with(file, Options::default())
}

fn planned_with(file: &str, options: Options) -> Option<Plan> {
    let name = file.rsplit('/').next().unwrap_or(file);
    Some(plan(&found(file)?, name, options).expect("a plan"))
}

/// The documentation prefix (RFC 3849), link-local and the relay multicast group.
fn allowed(a: Ipv6Addr) -> bool {
    let o = a.segments();
    (o[0] == 0x2001 && o[1] == 0xdb8) || a.is_unicast_link_local() || a.is_unspecified()
}

/// Every address a message holds in relay headers, IA addresses and IA prefixes.
fn addresses(m: &Message, out: &mut Vec<Ipv6Addr>) {
    if let Message::Relay(r) = m {
        out.push(r.link_address);
        out.push(r.peer_address);
        if let Ok(Some(inner)) = m.relayed() {
            addresses(&inner, out);
        }
        return;
    }
    let o = m.options();
    let ias = o.ia_na().unwrap_or_default().into_iter().map(|i| i.options);
    let tas = o.ia_ta().unwrap_or_default().into_iter().map(|i| i.options);
    for options in ias.chain(tas) {
        out.extend(
            options
                .ia_addresses()
                .unwrap_or_default()
                .iter()
                .map(|a| a.addr),
        );
    }
    for ia in o.ia_pd().unwrap_or_default() {
        out.extend(
            ia.options
                .ia_prefixes()
                .unwrap_or_default()
                .iter()
                .map(|p| p.prefix),
        );
    }
}

/// Each v6 capture plans: every request and answer is rewritten into 2001:db8::/32 (or
/// link-local), every client DUID of a link address gets the run's link address
/// (02:00:5e:..), transaction ids come from the seed, and a relayed request keeps its relay
/// layers (hop counts, Interface-Id) and goes from a peer in the relay's place.
#[test]
fn every_v6_capture_plans_into_the_documentation_ranges() {
    for file in CAPTURES {
        let Some(p) = planned(file) else { return };
        let p6 =
            p.v6.as_ref()
                .unwrap_or_else(|| panic!("{file}: a DHCPv6 part"));
        assert!(!p6.items.is_empty(), "{file}");
        for item in &p6.items {
            let (payload, conversation) = match item {
                Item6::Send(s) => (&s.payload, s.conversation),
                Item6::Answer(a) => (&a.payload, a.conversation),
            };
            let m = Message::decode(payload).expect("a planned message decodes");
            let mut seen = Vec::new();
            addresses(&m, &mut seen);
            for a in seen {
                assert!(allowed(a), "{file}: {a} outside the run's ranges");
            }
            let inner = m.innermost().expect("a client message inside");
            let Message::Client(c) = &inner else {
                panic!("{file}: innermost is a client message")
            };
            assert_eq!(c.xid, p6.conversations[conversation].xid, "{file}");
            if let Some(id) = inner.options().get(code::CLIENT_ID)
                && let [0, 3 | 1, 0, 1, ..] = id.data
            {
                assert_eq!(
                    &id.data[id.data.len() - 6..][..3],
                    &[0x02, 0x00, 0x5e],
                    "{file}"
                );
            }
        }
    }
    // The double relay: one peer in the outer relay's place sends both layers.
    let Some(p) = planned("kea-pkt-captures/captureRelayed2xRSOO.pcap") else {
        return;
    };
    let p6 = p.v6.expect("v6");
    let Some(Item6::Send(s)) = p6.items.first() else {
        panic!("a send first")
    };
    assert!(p6.peers[s.peer].relay);
    assert_eq!(s.dst, std::net::SocketAddrV6::new(p6.server, 547, 0, 0));
    let outer = Message::decode(&s.payload).expect("decodes");
    let Message::Relay(r) = &outer else {
        panic!("RELAY-FORW")
    };
    assert_eq!(r.hop_count, 1);
    assert!(outer.options().interface_id().is_some());
    let Ok(Some(Message::Relay(inner))) = outer.relayed() else {
        panic!("a second relay layer")
    };
    assert_eq!(inner.hop_count, 0);
    assert!(inner.options.view_at(0).get(66).is_some(), "RSOO kept");
}

/// Each send of a written v6 scenario (the replay's and pcap2scenario's) encodes, with the
/// server identifier the run captures, to exactly the planned bytes, from and to the planned
/// addresses; a Request and a Release name the server by `$sid`.
#[test]
fn the_written_v6_scenarios_send_the_planned_bytes() {
    let mut checked = 0;
    let mut by_variable = 0;
    for file in CAPTURES {
        let Some(p) = planned(file) else { return };
        let p6 = p.v6.as_ref().expect("v6");
        let mut vars = BTreeMap::new();
        if let Some(d) = p6.recorded_servers.first() {
            vars.insert("sid".to_string(), d.clone());
        }
        for checks in [false, true] {
            let text = p.scenario(checks);
            let scenario = dhcplab_scenario::parse(&text, std::path::Path::new(file))
                .unwrap_or_else(|e| panic!("{file}: {e}\n{text}"));
            let written: Vec<_> = scenario
                .steps
                .iter()
                .filter_map(|s| match &s.what {
                    What::Act(Act::Send6(send)) => Some(send),
                    _ => None,
                })
                .collect();
            let sends: Vec<_> = p6
                .items
                .iter()
                .filter_map(|i| match i {
                    Item6::Send(s) => Some(s),
                    Item6::Answer(_) => None,
                })
                .collect();
            assert_eq!(written.len(), sends.len(), "{file}");
            for (planned, w) in sends.iter().zip(&written) {
                let bytes = w.message.encode(&vars).expect("encodes");
                assert_eq!(bytes, planned.payload, "{file} #{}", planned.record);
                assert_eq!(w.src, planned.src, "{file} #{}", planned.record);
                assert_eq!(w.dst, planned.dst, "{file} #{}", planned.record);
                if planned.server_id {
                    assert!(w.message.vars().contains(&"sid"), "{file}");
                    by_variable += 1;
                }
                checked += 1;
            }
        }
        assert!(scenario_of(&p).is_ok(), "{file}");
    }
    assert_eq!(
        checked, 34,
        "every send of the eight captures, in both scenarios"
    );
    // wireshark-dhcpv6 (Request, Release), ia-pd, ia-ta, AFTR (Request), twice each.
    assert_eq!(by_variable, 10);
}

/// What `dhcplab pcap2scenario` writes for Wireshark's SARR with prefix delegation and for
/// the DOCSIS eRouter's relayed Solicit: the derived Dhcp6 configuration (a pd-pool of the
/// recorded delegated length, a reservation for the client's DUID, the recorded lifetimes
/// and timers; a subnet for the relay's link-address with rapid commit), the sends and the
/// checks on each recorded answer.
#[test]
fn written_v6_scenarios() {
    for file in [
        "arkime/wireshark-dhcpv6.pcap",
        "kea-pkt-captures/captureeRouterRelayedSolicit.pcap",
        "tcpdump/dhcpv6-AFTR-Name-RFC6334.pcap",
    ] {
        let Some(p) = planned(file) else { return };
        let name = file.rsplit('/').next().unwrap_or(file);
        insta::assert_snapshot!(format!("pcap2scenario_{name}"), p.scenario(true));
    }
}

/// A run's capture whose answers are the recorded ones with the run's server identifier
/// compares as the same but for that; a changed lifetime (named with the prefix as the run
/// and as the capture had it) and another status code diverge.
#[test]
fn recorded_v6_answers_compare_with_a_runs_option_by_option() {
    let Some(p) = planned("arkime/wireshark-dhcpv6.pcap") else {
        return;
    };
    let p6 = p.v6.as_ref().expect("v6");
    let recorded_id = p6.recorded_servers[0].clone();
    let run_id = vec![
        0, 1, 0, 1, 0x20, 0x30, 0x40, 0x50, 2, 0, 0x5e, 0, 0x53, 0x99,
    ];
    let run = |change: &dyn Fn(usize, Vec<u8>) -> Vec<u8>| {
        let mut f = Found::default();
        let mut answers = 0;
        for item in &p6.items {
            let (payload, sender, kind) = match item {
                Item6::Send(s) => (s.payload.clone(), Role::Client, s.kind.clone()),
                Item6::Answer(a) => {
                    let mut b = a.payload.clone();
                    let at = b
                        .windows(recorded_id.len())
                        .position(|w| w == recorded_id.as_slice())
                        .expect("the recorded server's id");
                    b[at..at + recorded_id.len()].copy_from_slice(&run_id);
                    answers += 1;
                    (change(answers, b), Role::Server, a.kind.clone())
                }
            };
            let xid = p6.conversations[item.conversation()].xid;
            f.messages.push(Seen {
                record: f.messages.len() as u64 + 1,
                at_ns: 0,
                family: Family::V6,
                src: SocketAddr::from(([0xfe80, 0, 0, 0, 0, 0, 0, 1], 547)),
                dst: SocketAddr::from(([0xfe80, 0, 0, 0, 0, 0, 0, 2], 546)),
                sender,
                kind,
                relayed: false,
                xid,
                client: dhcplab_conversations::ClientKey::Unknown,
                payload,
            });
        }
        f
    };
    assert_eq!(recorded_id.len(), run_id.len(), "a DUID-LLT both");
    let same = compare(&p, &run(&|_, b| b), "test", None);
    assert!(same.passed, "{}", same.text());
    assert_eq!(same.counts.recorded, 3);
    assert_eq!(same.counts.tolerated, 3, "{}", same.text());
    assert!(same.text().contains("the run's server identifies itself"));
    // The second answer (the Reply to the Request): preferred lifetime 4500 -> 4000.
    let changed = compare(
        &p,
        &run(&|n, mut b| {
            if n == 2 {
                let at = b
                    .windows(4)
                    .position(|w| w == 4500u32.to_be_bytes())
                    .expect("4500 s");
                b[at..at + 4].copy_from_slice(&4000u32.to_be_bytes());
            }
            b
        }),
        "test",
        None,
    );
    let text = changed.text();
    assert!(!changed.passed, "{text}");
    assert_eq!(changed.counts.diverges, 1, "{text}");
    assert!(
        text.contains(
            "IA_PD 0x27fe8f95 2001:db8:a000:fe00::/64 (2001:0:0:fe00::/64 in the capture) preferred lifetime: recorded 4500, got 4000"
        ),
        "{text}"
    );
    // The last answer (Release's Reply) with status NoBinding instead of Success.
    let status = compare(
        &p,
        &run(&|n, b| {
            if n != 3 {
                return b;
            }
            let m = Message::decode(&b).expect("decodes");
            let Message::Client(mut c) = m else {
                panic!("a client message")
            };
            c.options.remove(code::STATUS_CODE);
            c.options.push(code::STATUS_CODE, &[0, 3]).expect("fits");
            Message::Client(c).encode()
        }),
        "test",
        None,
    );
    let text = status.text();
    assert!(
        text.contains("message status code: recorded 0 Success, got 3 NoBinding"),
        "{text}"
    );
    let worst = status
        .conversations
        .iter()
        .map(|c| c.verdict)
        .find(|v| *v == Verdict::Diverges);
    assert!(worst.is_some(), "{text}");
}

/// The report of a replay against the reference server in virtual mode, and the run's own
/// DHCPv6 messages.
fn replayed(file: &str) -> Option<(dhcplab_replay::Report, Vec<Message>, Plan)> {
    replayed_with(file, Options::default())
}

fn replayed_with(
    file: &str,
    options: Options,
) -> Option<(dhcplab_replay::Report, Vec<Message>, Plan)> {
    let p = planned_with(file, options)?;
    let (report, outcome) = dhcplab_replay::replay_virtual(&p).expect("the replay runs");
    let pcap = outcome.timeline.pcap().expect("the run's capture");
    let reader = dhcplab_capture::CaptureReader::new(std::io::Cursor::new(pcap)).expect("reads");
    let run = dhcplab_conversations::find(reader)
        .messages
        .into_iter()
        .filter(|m| m.family == Family::V6 && m.sender == Role::Server)
        .filter_map(|m| Message::decode(&m.payload).ok())
        .collect();
    Some((report, run, p))
}

/// The differences of every answer, as `what` lines.
fn differences(report: &dhcplab_replay::Report) -> Vec<String> {
    report
        .conversations
        .iter()
        .flat_map(|c| &c.answers)
        .flat_map(|a| &a.differences)
        .filter(|d| d.tolerated.is_none())
        .map(|d| d.what.clone())
        .collect()
}

/// Wireshark's SARR with prefix delegation, then Release: the Request carries the run's
/// server identifier (taken from its Advertise), so the reference server answers it; the
/// Advertise and Reply give the recorded prefix (moved into 2001:db8:a000::/48) with the
/// recorded lifetimes and T1/T2 0, the same but for the server identifier. The Release's
/// Reply differs: the reference server, as Kea 2.2's `Dhcpv6Srv::releaseIA_PD`, answers the
/// released IA_PD with a Success status inside it ("Lease released. Thank you, please come
/// again."); the recorded server gave only the message's status (RFC 8415 18.3.7 asks for an
/// IA in the Reply only where the server has no binding, with NoBinding).
#[test]
fn wireshark_sarr_with_prefix_delegation_replays_against_the_reference() {
    let Some((report, _, _)) = replayed("arkime/wireshark-dhcpv6.pcap") else {
        return;
    };
    let text = report.text();
    let c = report.counts;
    assert_eq!(
        (c.recorded, c.tolerated, c.diverges, c.missing),
        (3, 2, 1, 0),
        "{text}"
    );
    assert_eq!(differences(&report), ["IA_PD 0x27fe8f95"], "{text}");
    assert!(
        text.contains("Lease released. Thank you, please come again."),
        "{text}"
    );
    assert!(report.stopped.is_none(), "{text}");
    insta::assert_snapshot!(text);
}

/// The DOCSIS 3.0 modem's Solicit, relayed with rapid commit and no recorded answer: the
/// derived configuration (a subnet for the relay's link-address, rapid commit) lets the
/// reference server answer with a Reply (RFC 8415 18.3.1) in a RELAY-REPL that echoes the
/// relay's Interface-Id and peer address, an address of the link-address's /64 in its IA_NA.
#[test]
fn docsis_relayed_solicit_is_answered_with_a_rapid_commit_reply() {
    let Some((report, run, p)) = replayed("kea-pkt-captures/captureDocsisRelayedSolicit.pcap")
    else {
        return;
    };
    let text = report.text();
    assert_eq!(report.counts.unrecorded, 1, "{text}");
    assert!(report.passed, "{text}");
    let [answer] = run.as_slice() else {
        panic!("one answer: {text}")
    };
    let p6 = p.v6.as_ref().expect("v6");
    let Some(Item6::Send(sent)) = p6.items.first() else {
        panic!("a send")
    };
    let request = Message::decode(&sent.payload).expect("decodes");
    let (Message::Relay(q), Message::Relay(a)) = (&request, answer) else {
        panic!("RELAY-FORW answered with RELAY-REPL: {text}")
    };
    assert_eq!(a.hop_count, q.hop_count);
    assert_eq!(a.link_address, q.link_address);
    assert_eq!(a.peer_address, q.peer_address);
    assert_eq!(
        answer.options().interface_id(),
        request.options().interface_id(),
        "Interface-Id echoed (RFC 8415 19.3.1)"
    );
    let reply = answer.innermost().expect("inner");
    assert_eq!(reply.msg_type(), dhcplab_wire::v6::MessageType::REPLY);
    assert!(reply.options().rapid_commit().expect("reads"));
    let ia = &reply.options().ia_na().expect("reads")[0];
    let address = ia.options.ia_addresses().expect("reads")[0].addr;
    assert_eq!(
        address.segments()[..4],
        q.link_address.segments()[..4],
        "{text}"
    );
}

/// The DOCSIS eRouter's relayed Solicit with rapid commit, IA_NA and IA_PD (hinting ::/56):
/// a Reply with an address of the link-address's /64 and a delegated /56.
#[test]
fn erouter_relayed_solicit_gets_an_address_and_a_56() {
    let Some((report, run, _)) = replayed("kea-pkt-captures/captureeRouterRelayedSolicit.pcap")
    else {
        return;
    };
    let text = report.text();
    assert!(report.passed, "{text}");
    assert_eq!(run.len(), 1, "{text}");
    let reply = run[0].innermost().expect("inner");
    assert_eq!(
        reply.msg_type(),
        dhcplab_wire::v6::MessageType::REPLY,
        "{text}"
    );
    let o = reply.options();
    assert_eq!(o.ia_na().expect("reads").len(), 1, "{text}");
    let pd = &o.ia_pd().expect("reads")[0];
    assert_eq!(
        pd.options.ia_prefixes().expect("reads")[0].prefix_len,
        56,
        "{text}"
    );
    insta::assert_snapshot!(text);
}

/// The doubly relayed Solicit (RSOO, Remote-Id, Interface-Id on the outer relay): the reference
/// server answers inside two RELAY-REPL layers, hop counts 1 then 0, the outer relay's
/// Interface-Id echoed, an address from the subnet of the outer relay's link-address (the
/// inner one is unspecified; Kea's `selectSubnet` takes the nearest specified one).
#[test]
fn doubly_relayed_solicit_is_answered_through_both_layers() {
    let Some((report, run, _)) = replayed("kea-pkt-captures/captureRelayed2xRSOO.pcap") else {
        return;
    };
    let text = report.text();
    assert!(report.passed, "{text}");
    let [answer] = run.as_slice() else {
        panic!("one answer: {text}")
    };
    let Message::Relay(outer) = answer else {
        panic!("RELAY-REPL: {text}")
    };
    assert_eq!(outer.hop_count, 1);
    assert!(answer.options().interface_id().is_some(), "{text}");
    let Ok(Some(Message::Relay(inner))) = answer.relayed() else {
        panic!("a second layer: {text}")
    };
    assert_eq!(inner.hop_count, 0);
    let advertise = answer.innermost().expect("inner");
    assert_eq!(
        advertise.msg_type(),
        dhcplab_wire::v6::MessageType::ADVERTISE
    );
    let ia = &advertise.options().ia_na().expect("reads")[0];
    let address = ia.options.ia_addresses().expect("reads")[0].addr;
    assert_eq!(address.segments()[..4], outer.link_address.segments()[..4]);
    insta::assert_snapshot!(text);
}

/// tcpdump's prefix delegation SARR and its AFTR-Name one (RFC 6334, with a preference and DNS
/// servers): every answer the same but for the server identifier.
#[test]
fn tcpdump_pd_and_aftr_captures_match_but_for_the_server_identifier() {
    for file in [
        "tcpdump/dhcpv6-ia-pd.pcap",
        "tcpdump/dhcpv6-AFTR-Name-RFC6334.pcap",
    ] {
        let Some((report, _, _)) = replayed(file) else {
            return;
        };
        let text = report.text();
        let c = report.counts;
        assert_eq!((c.recorded, c.tolerated), (2, 2), "{file}: {text}");
        assert!(report.passed, "{file}: {text}");
        for d in report
            .conversations
            .iter()
            .flat_map(|c| &c.answers)
            .flat_map(|a| &a.differences)
        {
            assert_eq!(d.what, "option 2 serverid", "{file}: {text}");
        }
    }
}

/// tcpdump's temporary-address SARR: the reference server, as Kea (which ignores IA_TA; see
/// dhcplab-server6's crate documentation), answers both without the IA_TA the recorded server
/// gave: two documented divergences.
#[test]
fn tcpdump_ia_ta_diverges_where_kea_ignores_temporary_addresses() {
    let Some((report, _, _)) = replayed("tcpdump/dhcpv6-ia-ta.pcap") else {
        return;
    };
    let text = report.text();
    assert_eq!(report.counts.diverges, 2, "{text}");
    assert_eq!(
        differences(&report),
        ["IA_TA 0x02030405", "IA_TA 0x02030405"],
        "{text}"
    );
}

/// The MUD capture: dhcpcd's relayed Solicit with rapid commit, sent five times (the
/// retransmissions of one transaction): each answered with a Reply giving the same address.
#[test]
fn mud_relayed_solicits_are_each_answered_with_the_same_address() {
    let Some((report, run, _)) = replayed("tcpdump/dhcpv6-mud.pcap") else {
        return;
    };
    let text = report.text();
    assert_eq!(report.counts.unrecorded, 5, "{text}");
    let addresses: Vec<Ipv6Addr> = run
        .iter()
        .map(|m| {
            let reply = m.innermost().expect("inner");
            assert_eq!(
                reply.msg_type(),
                dhcplab_wire::v6::MessageType::REPLY,
                "{text}"
            );
            reply.options().ia_na().expect("reads")[0]
                .options
                .ia_addresses()
                .expect("reads")[0]
                .addr
        })
        .collect();
    assert_eq!(addresses.len(), 5, "{text}");
    assert!(addresses.iter().all(|a| *a == addresses[0]), "{text}");
}

/// A capture mixing both families (arkime's synthetic one, its frames years apart, so played
/// as fast as answers come): the DHCPv4 and DHCPv6 conversations replay in one run, against a
/// v4 server `srv` and a v6 server `srv6`.
#[test]
fn a_capture_mixing_v4_and_v6_replays_both() {
    let options = Options {
        speed: dhcplab_replay::Speed::Asap,
        ..Options::default()
    };
    let Some((report, run, p)) = replayed_with("arkime/subset-dhcp_arkime_synthetic.pcap", options)
    else {
        return;
    };
    let text = report.text();
    assert!(!p.conversations.is_empty() && p.v6.is_some(), "{text}");
    assert!(p.scenario(false).contains("name = \"srv6\""));
    assert!(text.contains("got OFFER"), "{text}");
    assert!(text.contains("got ADVERTISE"), "{text}");
    assert!(!run.is_empty(), "{text}");
}

/// A plan of one of the project's own v6 copies (`pcaps/public`), with a configuration given.
fn own_with_config(file: &str, config: &str) -> Plan {
    let path = dhcplab_testkit::own_pcaps().join("public").join(file);
    let reader = dhcplab_capture::CaptureReader::open(&path).expect("the capture opens");
    let options = Options {
        config: Some(config.to_string()),
        ..Options::default()
    };
    plan(&dhcplab_conversations::find(reader), file, options).expect("a plan")
}

/// A `Dhcp6` configuration given that cannot serve the replay is warned about, saying where
/// the capture's addresses went: no subnet for the relay's (moved) link-address; no subnet
/// with an interface for clients on the server's link. One that fits draws no warning.
#[test]
fn a_given_dhcp6_configuration_that_cannot_serve_the_replay_is_warned_about() {
    let elsewhere = r#"{ "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64" } ] } }"#;
    let relayed = own_with_config("kea-captureRelayed2xRSOO.pcap", elsewhere);
    let w = relayed.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("no subnet for the relay's link-address 2001:db8:a000:1::")
            && w[0].contains("prefix 2001:888:db8::/48 -> 2001:db8:a000::/48"),
        "{w:?}"
    );
    let direct = own_with_config("tcpdump-dhcpv6-ia-pd.pcap", elsewhere);
    let w = direct.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("no subnet with an \"interface\""), "{w:?}");
    let fits = r#"{ "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db8:a000:1::/64" } ] } }"#;
    assert!(
        own_with_config("kea-captureRelayed2xRSOO.pcap", fits)
            .warnings()
            .is_empty()
    );
}

/// One configuration file holding both maps serves a capture of both families: the
/// `Dhcp4` map goes to the DHCPv4 server, the `Dhcp6` map to the DHCPv6 one.
#[test]
fn a_configuration_with_both_maps_goes_to_both_servers() {
    let Some(found) = found("arkime/subset-dhcp_arkime_synthetic.pcap") else {
        return;
    };
    let both = r#"{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ] },
      "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db8:dc::/64" } ] } }"#;
    let options = Options {
        config: Some(both.to_string()),
        ..Options::default()
    };
    let p = plan(&found, "mixed", options).expect("a plan");
    let v4: serde_json::Value = serde_json::from_str(&p.config).expect("json");
    let v6: serde_json::Value =
        serde_json::from_str(&p.v6.as_ref().expect("v6").config).expect("json");
    assert!(
        v4.get("Dhcp4").is_some() && v4.get("Dhcp6").is_none(),
        "{v4}"
    );
    assert!(
        v6.get("Dhcp6").is_some() && v6.get("Dhcp4").is_none(),
        "{v6}"
    );
    assert!(!p.derived && !p.v6.as_ref().expect("v6").derived);
}
