//! Replays of public captures against the reference server in virtual mode, their divergence
//! reports pinned by snapshots; and the scenario a replay writes reads back to the very bytes
//! it plans to send.

use dhcplab_replay::{Item, Options, plan, replay_virtual, scenario_of};
use dhcplab_scenario::{Act, What};

fn found(file: &str) -> dhcplab_conversations::Found {
    let path = dhcplab_testkit::own_pcaps().join("public").join(file);
    let reader = dhcplab_capture::CaptureReader::open(&path).expect("the capture opens");
    dhcplab_conversations::find(reader)
}

fn report(file: &str) -> String {
    let p = plan(&found(file), file, Options::default()).expect("a plan");
    let (report, _) = replay_virtual(&p).expect("the replay runs");
    report.text()
}

#[test]
fn wireshark_sample_dora() {
    insta::assert_snapshot!(report("wireshark-dhcp.pcap"));
}

#[test]
fn zeek_every_message_type() {
    insta::assert_snapshot!(report("zeek-dhcp.pcap"));
}

#[test]
fn charrua_init_reboot() {
    insta::assert_snapshot!(report("charrua-dhcp.pcap"));
}

#[test]
fn suricata_option_overload() {
    insta::assert_snapshot!(report("suricata-dhcp-option-52-overload.pcap"));
}

#[test]
fn suricata_option_overload_both() {
    insta::assert_snapshot!(report("suricata-dhcp-option-52-overload-both.pcap"));
}

#[test]
fn relayed_docsis_discover() {
    insta::assert_snapshot!(report("kea-captureRelayedDiscover.pcap"));
}

/// Every send of the scenario a replay writes carries exactly the bytes the plan rewrote, and
/// from and to the planned addresses: whether a request was written as fields and options or
/// as bytes, the file reads back to what the replay means to send.
#[test]
fn the_written_scenario_sends_the_planned_bytes() {
    let dir = dhcplab_testkit::own_pcaps();
    let mut checked = 0;
    for path in dhcplab_testkit::captures_under(&dir) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let reader = dhcplab_capture::CaptureReader::open(&path).expect("opens");
        let Ok(p) = plan(
            &dhcplab_conversations::find(reader),
            &name,
            Options::default(),
        ) else {
            continue;
        };
        let scenario =
            scenario_of(&p).unwrap_or_else(|e| panic!("{name}: {e}\n{}", p.scenario(false)));
        let planned: Vec<_> = p
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Send(s) => Some(s),
                Item::Answer(_) => None,
            })
            .collect();
        let written: Vec<_> = scenario
            .steps
            .iter()
            .filter_map(|s| match &s.what {
                What::Act(Act::Send(send)) => Some(send),
                _ => None,
            })
            .collect();
        assert_eq!(planned.len(), written.len(), "{name}");
        for (a, b) in planned.iter().zip(&written) {
            assert_eq!(a.payload, b.payload, "{name}: #{}", a.record);
            assert_eq!(Some(a.src), b.src, "{name}: #{}", a.record);
            assert_eq!(Some(a.dst), b.dst, "{name}: #{}", a.record);
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} sends checked");
}

/// No panic on any capture: the messages of every own capture, bytes damaged at random (the
/// seed fixed), are planned, written, replayed and compared, or refused with a reason.
#[test]
fn damaged_messages_are_replayed_or_refused_without_panic() {
    let mut rng = dhcplab_rng::Rng::new(8);
    let mut replayed = 0;
    for path in dhcplab_testkit::captures_under(&dhcplab_testkit::own_pcaps()) {
        let reader = dhcplab_capture::CaptureReader::open(&path).expect("opens");
        let found = dhcplab_conversations::find(reader);
        for _ in 0..20 {
            let mut damaged = found.clone();
            for m in &mut damaged.messages {
                for _ in 0..3 {
                    if m.payload.is_empty() {
                        break;
                    }
                    let at = rng.between(0, m.payload.len() as u64 - 1) as usize;
                    m.payload[at] = rng.next_u32() as u8;
                }
            }
            let Ok(p) = plan(&damaged, "damaged", Options::default()) else {
                continue;
            };
            let _ = p.scenario(true);
            if replay_virtual(&p).is_ok() {
                replayed += 1;
            }
        }
    }
    assert!(replayed > 50, "only {replayed} damaged captures replayed");
}

/// The server side: the recorded answers of the Wireshark DORA and of the TAP-recorded kea
/// capture, sent to the reference client in its own transactions, draw the recorded client's
/// requests: the same types, the same requested address and server identifier.
#[test]
fn the_server_side_draws_the_recorded_requests_from_the_reference_client() {
    for (file, dir) in [
        ("wireshark-dhcp.pcap", "public"),
        ("kea-dhclient.pcap", "recorded"),
    ] {
        let path = dhcplab_testkit::own_pcaps().join(dir).join(file);
        let reader = dhcplab_capture::CaptureReader::open(&path).expect("opens");
        let found = dhcplab_conversations::find(reader);
        let options = Options {
            side: dhcplab_replay::Side::Server,
            ..Options::default()
        };
        let p = plan(&found, file, options).expect("a plan");
        let (report, _) = replay_virtual(&p).expect("the replay runs");
        let text = report.text();
        let answers: Vec<_> = report
            .conversations
            .iter()
            .flat_map(|c| &c.answers)
            .collect();
        assert!(answers.len() >= 2, "{text}");
        for a in answers.iter().take(2) {
            assert_eq!(a.recorded, a.got, "{text}");
            assert!(!a.verdict.fails(), "{text}");
        }
        insta::assert_snapshot!(format!("server_side_{file}"), text);
    }
}
