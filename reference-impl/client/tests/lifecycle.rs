//! The client's life in virtual time against the reference server: exact message times and
//! event sequences (RFC 2131 4.4, dhcpagent's events).

mod common;

use common::*;
use dhcplab_client::{Event, HostEvent, Signal, State};
use dhcplab_wire::v4::{MessageType, code};
use std::net::Ipv4Addr;

const BCAST: Ipv4Addr = Ipv4Addr::BROADCAST;
const FIRST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

fn kinds(lab: &Lab) -> Vec<(f64, String, Ipv4Addr)> {
    lab.sent()
}

fn s(k: &str) -> String {
    k.to_string()
}

#[test]
fn discover_bound_renew_rebind_expire_at_exact_times() {
    let mut lab = Lab::with_lease(3600, Some((1800, 3150)));
    lab.run_until(10.0);
    assert_eq!(lab.state(), State::Bound);
    assert_eq!(lab.configured, Some(FIRST));
    // RENEW at T1 (1,800 s after the REQUEST left at 3 s, OFFER_WAIT), answered.
    lab.run_until(1900.0);
    lab.server_up = false;
    lab.run_until(6000.0);
    let expected = vec![
        (0.0, s("DISCOVER"), BCAST),
        (3.0, s("REQUEST"), BCAST),
        (1803.0, s("REQUEST"), SERVER),
        // T1 of the renewed lease; then half the time to T2 (4,953 s), at least 60 s.
        (3603.0, s("REQUEST"), SERVER),
        (4278.0, s("REQUEST"), SERVER),
        (4615.5, s("REQUEST"), SERVER),
        (4784.25, s("REQUEST"), SERVER),
        (4868.625, s("REQUEST"), SERVER),
        (4928.625, s("REQUEST"), SERVER),
        // T2: REBINDING, broadcast; half the time to the end (5,403 s), at least 60 s.
        (4953.0, s("REQUEST"), BCAST),
        (5178.0, s("REQUEST"), BCAST),
        (5290.5, s("REQUEST"), BCAST),
        (5350.5, s("REQUEST"), BCAST),
        // The lease ends: EXPIRE and a new DISCOVER at once.
        (5403.0, s("DISCOVER"), BCAST),
    ];
    let got: Vec<_> = kinds(&lab).into_iter().take(expected.len()).collect();
    assert_eq!(got, expected);
    assert_eq!(lab.event_names(), vec!["BOUND", "EXTEND", "EXPIRE"]);
    assert_eq!(lab.events[2].0, 5403.0);
    assert_eq!(lab.configured, None);
    assert_eq!(lab.saved, None);
    // RENEWING unicasts with ciaddr and neither 50 nor 54; REBINDING broadcasts the same.
    let requests = lab.sent_of(MessageType::Request);
    for r in &requests[2..] {
        assert_eq!(r.message.ciaddr, FIRST);
        assert!(r.message.option(code::REQUESTED_IP).is_none());
        assert!(r.message.option(code::SERVER_ID).is_none());
    }
    // SELECTING's REQUEST carries 50 and 54 and the DISCOVER's xid.
    assert_eq!(requests[0].message.requested_ip(), Ok(Some(FIRST)));
    assert_eq!(requests[0].message.server_id(), Ok(Some(SERVER)));
    assert_eq!(
        requests[0].message.xid,
        lab.sent_of(MessageType::Discover)[0].message.xid
    );
    // ... and the DISCOVER's secs (RFC 2131 4.4.1), not the 3 s the exchange has run.
    assert_eq!(
        requests[0].message.secs,
        lab.sent_of(MessageType::Discover)[0].message.secs
    );
}

#[test]
fn t1_and_t2_default_to_half_and_seven_eighths() {
    let mut lab = Lab::with_lease(1000, None);
    lab.run_until(505.0);
    let lease = lab.client.lease().expect("lease").clone();
    assert_eq!(lease.t1.as_secs(), 500);
    assert_eq!(lease.t2.as_secs(), 875);
    let renew: Vec<_> = kinds(&lab).into_iter().filter(|k| k.2 == SERVER).collect();
    assert_eq!(renew, vec![(503.0, s("REQUEST"), SERVER)]);
}

#[test]
fn suspend_past_t1_then_resume_revalidates_with_init_reboot() {
    let mut lab = Lab::with_lease(3600, Some((1800, 3150)));
    lab.host(100.0, HostEvent::Suspend);
    lab.run_until(2000.0);
    assert_eq!(kinds(&lab).len(), 2, "nothing is sent while asleep");
    lab.host(2000.0, HostEvent::Resume);
    let last = lab.wire.iter().rfind(|w| w.from_client).expect("sent");
    assert_eq!(
        (last.at, last.kind(), last.to),
        (2000.0, s("REQUEST"), BCAST)
    );
    assert_eq!(last.message.ciaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(last.message.requested_ip(), Ok(Some(FIRST)));
    assert!(last.message.option(code::SERVER_ID).is_none());
    assert_eq!(lab.state(), State::Bound);
    assert_eq!(lab.event_names(), vec!["BOUND", "EXTEND"]);
    assert_eq!(lab.configured, Some(FIRST));
    // The confirmed lease counts from the INIT-REBOOT: next RENEW at 3,800 s.
    lab.run_until(3801.0);
    assert_eq!(kinds(&lab).last(), Some(&(3800.0, s("REQUEST"), SERVER)));
}

#[test]
fn suspend_past_expiry_then_resume_expires_and_starts_over() {
    let mut lab = Lab::with_lease(3600, Some((1800, 3150)));
    lab.host(100.0, HostEvent::Suspend);
    lab.host(4000.0, HostEvent::Resume);
    assert_eq!(lab.events[1], (4000.0, Event::Expire));
    lab.run_until(4010.0);
    assert_eq!(lab.event_names(), vec!["BOUND", "EXPIRE", "BOUND"]);
    let after: Vec<_> = kinds(&lab).into_iter().skip(2).collect();
    assert_eq!(
        after,
        vec![
            (4000.0, s("DISCOVER"), BCAST),
            (4003.0, s("REQUEST"), BCAST)
        ]
    );
    assert!(lab.configured.is_some());
}

#[test]
fn link_flap_while_bound_revalidates() {
    let mut lab = Lab::with_lease(3600, Some((1800, 3150)));
    lab.host(100.0, HostEvent::LinkDown);
    lab.host(110.0, HostEvent::LinkUp);
    assert_eq!(kinds(&lab).last(), Some(&(110.0, s("REQUEST"), BCAST)));
    assert_eq!(lab.event_names(), vec!["BOUND", "EXTEND"]);
    assert_eq!(lab.configured, Some(FIRST));
}

#[test]
fn lease_ends_while_the_link_is_down_and_discovery_waits_for_carrier() {
    let mut lab = Lab::with_lease(600, Some((300, 525)));
    lab.host(100.0, HostEvent::LinkDown);
    lab.run_until(2000.0);
    assert_eq!(kinds(&lab).len(), 2, "nothing is sent without carrier");
    assert_eq!(lab.events[1], (603.0, Event::Expire));
    assert_eq!(lab.configured, None);
    lab.host(2000.0, HostEvent::LinkUp);
    assert_eq!(kinds(&lab).last(), Some(&(2000.0, s("DISCOVER"), BCAST)));
}

#[test]
fn nak_to_init_reboot_drops_the_lease_and_starts_over() {
    // An authoritative server NAKs an INIT-REBOOT for an address the client does not hold
    // (a non-authoritative one stays silent, as Kea).
    let text = server_config(3600, Some((1800, 3150))).replace(
        r#""valid-lifetime""#,
        r#""authoritative": true, "valid-lifetime""#,
    );
    let mut lab = Lab::new(&text, Lab::config(), 1, None);
    lab.host(100.0, HostEvent::Suspend);
    // Meanwhile the address went to another client.
    let del = r#"{ "command": "lease4-del", "arguments": { "ip-address": "192.0.2.100" } }"#;
    let add = r#"{ "command": "lease4-add", "arguments": { "ip-address": "192.0.2.100", "hw-address": "02:00:5e:00:53:99" } }"#;
    for c in [del, add] {
        let answer = lab.server.handle_command(lab.now, c);
        assert!(
            format!("{answer:?}").contains("\"result\": Number(0)"),
            "{c}: {answer:?}"
        );
    }
    lab.settle();
    lab.host(200.0, HostEvent::Resume);
    let replies: Vec<_> = lab
        .wire
        .iter()
        .filter(|w| !w.from_client)
        .map(|w| w.kind())
        .collect();
    assert_eq!(replies, vec!["OFFER", "ACK", "NAK", "OFFER"]);
    assert_eq!(lab.event_names(), vec!["BOUND", "DROP"]);
    lab.run_until(210.0);
    assert_eq!(lab.event_names(), vec!["BOUND", "DROP", "BOUND"]);
    assert_ne!(lab.configured, Some(FIRST));
    assert!(lab.configured.is_some());
    let after: Vec<_> = kinds(&lab).into_iter().skip(2).collect();
    assert_eq!(
        after,
        vec![
            (200.0, s("REQUEST"), BCAST),
            (200.0, s("DISCOVER"), BCAST),
            (203.0, s("REQUEST"), BCAST)
        ]
    );
}

#[test]
fn a_saved_lease_is_confirmed_at_start() {
    let mut first = Lab::with_lease(3600, Some((1800, 3150)));
    first.run_until(10.0);
    let saved = first.saved.clone().expect("saved lease");
    // The same server (it still has the lease), a new client process at 20 s.
    let mut lab = first;
    lab.client = dhcplab_client::Client::new(Lab::config(), 2, Some(saved), at(20.0));
    lab.configured = None;
    lab.now = at(20.0);
    lab.settle();
    let last: Vec<_> = kinds(&lab).into_iter().skip(2).collect();
    assert_eq!(last, vec![(20.0, s("REQUEST"), BCAST)]);
    assert_eq!(lab.state(), State::Bound);
    assert_eq!(lab.configured, Some(FIRST));
    assert_eq!(lab.event_names(), vec!["BOUND", "BOUND"]);
}

#[test]
fn address_in_use_is_declined_then_discovery_waits_ten_seconds() {
    // The probe happens when the ACK comes, at 3 s (after OFFER_WAIT).
    let mut lab = Lab::with_lease(3600, None);
    lab.in_use.insert(FIRST);
    lab.run_until(30.0);
    let sent = kinds(&lab);
    assert_eq!(
        sent,
        vec![
            (0.0, s("DISCOVER"), BCAST),
            (3.0, s("REQUEST"), BCAST),
            (3.0, s("DECLINE"), BCAST),
            (13.0, s("DISCOVER"), BCAST),
            (16.0, s("REQUEST"), BCAST),
        ]
    );
    let decline = &lab.sent_of(MessageType::Decline)[0].message;
    assert_eq!(decline.requested_ip(), Ok(Some(FIRST)));
    assert_eq!(decline.server_id(), Ok(Some(SERVER)));
    assert_eq!(lab.event_names(), vec!["BOUND"]);
    assert_eq!(lab.configured, Some(Ipv4Addr::new(192, 0, 2, 101)));
}

#[test]
fn release_unicasts_and_the_server_forgets() {
    let mut lab = Lab::with_lease(3600, None);
    lab.host(50.0, HostEvent::Release);
    let r = &lab.sent_of(MessageType::Release)[0];
    assert_eq!((r.at, r.to, r.message.ciaddr), (50.0, SERVER, FIRST));
    assert_eq!(r.message.server_id(), Ok(Some(SERVER)));
    assert_eq!(lab.event_names(), vec!["BOUND", "RELEASE"]);
    assert_eq!((lab.configured, lab.saved.is_none()), (None, true));
    assert_eq!(lab.state(), State::Idle);
    assert_eq!(lab.client.poll_timeout(), None);
    let all = lab
        .server
        .handle_command(lab.now, r#"{ "command": "lease4-get-all" }"#);
    assert!(
        format!("{all:?}").contains("\"leases\": Array []"),
        "{all:?}"
    );
}

#[test]
fn drop_keeps_the_lease_file() {
    let mut lab = Lab::with_lease(3600, None);
    lab.host(50.0, HostEvent::Drop);
    assert_eq!(lab.event_names(), vec!["BOUND", "DROP"]);
    assert_eq!(lab.configured, None);
    assert!(lab.saved.is_some());
    assert!(lab.sent_of(MessageType::Release).is_empty());
}

#[test]
fn inform_asks_for_configuration_only() {
    let mut lab = Lab::with_lease(3600, None);
    lab.host(50.0, HostEvent::Release);
    lab.host(60.0, HostEvent::Inform(Ipv4Addr::new(192, 0, 2, 50)));
    let i = &lab.sent_of(MessageType::Inform)[0];
    assert_eq!(i.message.ciaddr, Ipv4Addr::new(192, 0, 2, 50));
    assert_eq!(lab.event_names(), vec!["BOUND", "RELEASE", "INFORM"]);
}

#[test]
fn bootp_mode_gets_a_permanent_lease_and_no_renewal() {
    let mut config = Lab::config();
    config.bootp = true;
    let mut lab = Lab::new(&server_config(3600, None), config, 1, None);
    lab.run_until(100_000.0);
    assert_eq!(kinds(&lab), vec![(0.0, s("BOOTREQUEST"), BCAST)]);
    assert_eq!(lab.event_names(), vec!["BOUND"]);
    assert_eq!(lab.client.lease().and_then(|l| l.lease_time), None);
    assert_eq!(lab.client.poll_timeout(), None);
    assert!(lab.wire[0].message.encode().len() >= 300);
}

#[test]
fn a_hanging_event_program_gets_term_at_55_s_and_kill_at_58_s_and_events_wait() {
    let mut lab = Lab::new(&server_config(40, Some((20, 35))), Lab::config(), 1, None);
    lab.program_hangs = true;
    lab.run_until(120.0);
    // BOUND at 3 s hangs; the EXTEND of the renewal at 23 s waits until the run is killed.
    assert_eq!(
        lab.signals,
        vec![
            (58.0, 1, Signal::Term),
            (61.0, 1, Signal::Kill),
            (116.0, 2, Signal::Term),
            (119.0, 2, Signal::Kill)
        ]
    );
    assert_eq!(lab.events[0], (3.0, Event::Bound));
    assert_eq!(lab.events[1], (61.0, Event::Extend));
    assert!(lab.events.iter().skip(2).all(|(t, _)| *t >= 119.0));
}

#[test]
fn every_message_but_release_and_decline_carries_the_vendor_class_and_discover_dhcpagents_list() {
    let mut lab = Lab::with_lease(3600, Some((1800, 3150)));
    lab.host(2000.0, HostEvent::Release);
    assert_eq!(lab.sent_of(MessageType::Release).len(), 1);
    for w in lab.wire.iter().filter(|w| w.from_client) {
        // RFC 2131 table 5: MUST NOT in a DECLINE or RELEASE.
        let want = match w.message.message_type() {
            Ok(Some(MessageType::Release | MessageType::Decline)) => None,
            _ => Some(b"dhcplab".to_vec()),
        };
        assert_eq!(w.message.vendor_class_id(), Ok(want), "{}", w.kind());
    }
    let d = &lab.sent_of(MessageType::Discover)[0].message;
    assert_eq!(
        d.parameter_request_list(),
        Ok(Some(vec![1, 3, 6, 12, 15, 28, 43]))
    );
}

#[test]
fn same_seed_same_messages() {
    let run = |seed| {
        let mut lab = Lab::without_server(Lab::config(), seed);
        lab.run_until(200.0);
        lab.wire
            .iter()
            .map(|w| (w.at, w.message.encode()))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}
