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
    let name = file.rsplit('/').next().unwrap_or(file);
    Some(plan(&found(file)?, name, Options::default()).expect("a plan"))
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
    for ia in o.ia_na().unwrap_or_default() {
        out.extend(
            ia.options
                .ia_addresses()
                .unwrap_or_default()
                .iter()
                .map(|a| a.addr),
        );
    }
    for ia in o.ia_ta().unwrap_or_default() {
        out.extend(
            ia.options
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
