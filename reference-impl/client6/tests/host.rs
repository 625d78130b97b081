//! Host events and commands: Confirm after link flap and resume (RFC 8415 18.2.3, 18.2.12),
//! Rebind for prefixes, Release (18.2.7), drop, Decline on a duplicate (18.2.8), and a
//! restart from the binding file.

mod common;

use common::*;
use dhcplab_client6::{Configuration, Event, HostEvent, IaKind, State, lease_file};
use dhcplab_wire::v6::{MessageType, code};
use std::cell::Cell;
use std::rc::Rc;

/// A good server whose answer to Confirm is chosen by the test: None for silence, else the
/// status code.
fn confirm_server(confirm: Rc<Cell<Option<u16>>>) -> Script {
    let mut good = good_server();
    Box::new(move |s: &Sent| match s.kind() {
        MessageType::CONFIRM => match confirm.get() {
            None => Vec::new(),
            Some(c) => vec![answer(
                s,
                MessageType::REPLY,
                &[(code::STATUS_CODE, status(c, "confirm"))],
            )],
        },
        _ => good(s),
    })
}

#[test]
fn confirm_after_link_flap_keeps_the_address_when_on_link() {
    let confirm = Rc::new(Cell::new(Some(0)));
    let mut lab = Lab::new(config(), None, confirm_server(confirm));
    lab.run_until(10.0);
    lab.host(100.0, HostEvent::LinkDown);
    lab.host(110.0, HostEvent::LinkUp);
    lab.run_until(120.0);
    let c = lab.sent_of(MessageType::CONFIRM);
    assert_eq!(c.len(), 1);
    // CNF_MAX_DELAY: within 1 s of link up. No Server ID, no ORO, the IA_NA's address.
    assert!(c[0].at >= 110.0 && c[0].at <= 111.0);
    assert!(!c[0].has(code::SERVER_ID));
    assert!(!c[0].has(code::ORO));
    assert_eq!(c[0].ia_na(), vec![(IAID, vec![ADDR])]);
    // dhcpagent: a Confirm answered Success takes INIT_REBOOT through dhcp_bound to
    // dhcp_bound_complete, which runs BOUND6 again (illumos request.c, bound.c).
    assert_eq!(lab.event_names(), vec!["BOUND6", "BOUND6"]);
    assert_eq!(lab.events[1].0, c[0].at);
    assert_eq!(lab.client.state(), State::Bound);
    assert_eq!(lab.configured.len(), 1);
    assert_eq!(lab.unconfigured.len(), 0, "the address stays");
}

#[test]
fn confirm_not_on_link_drops_and_starts_over() {
    let confirm = Rc::new(Cell::new(Some(4)));
    let mut lab = Lab::new(config(), None, confirm_server(confirm));
    lab.run_until(10.0);
    lab.host(100.0, HostEvent::Suspend);
    lab.host(400.0, HostEvent::Resume);
    lab.run_until(401.0);
    let confirm_at = lab.sent_of(MessageType::CONFIRM)[0].at;
    assert!((400.0..=401.0).contains(&confirm_at));
    lab.run_until(410.0);
    // NotOnLink: the address goes (DROP6), the binding file goes, and SARR starts over,
    // which the good server answers again.
    assert_eq!(lab.event_names(), vec!["BOUND6", "DROP6", "BOUND6"]);
    assert_eq!(lab.events[1].0, confirm_at);
    assert_eq!(lab.unconfigured[0].0, confirm_at);
    assert!(lab.forgotten >= 1);
    let solicits = lab.sent_of(MessageType::SOLICIT);
    assert_eq!(solicits.len(), 2);
    assert!(solicits[1].at >= confirm_at && solicits[1].at <= confirm_at + 1.0);
    assert_eq!(lab.client.state(), State::Bound);
}

#[test]
fn unanswered_confirm_keeps_the_address_after_cnf_max_rd() {
    let confirm = Rc::new(Cell::new(None));
    let mut lab = Lab::new(config(), None, confirm_server(confirm));
    lab.run_until(10.0);
    lab.host(100.0, HostEvent::LinkDown);
    lab.host(110.0, HostEvent::LinkUp);
    lab.run_until(200.0);
    let c = lab.sent_of(MessageType::CONFIRM);
    let times: Vec<f64> = c.iter().map(|s| s.at).collect();
    // CNF_TIMEOUT 1 s, CNF_MAX_RT 4 s, CNF_MAX_RD 10 s from the first Confirm.
    assert_backoff(&times, 1.0, 4.0, false);
    assert!(times.iter().all(|t| *t < times[0] + 10.0));
    assert!(times.len() >= 3);
    let ended = lab
        .logs
        .iter()
        .any(|(_, t)| t.contains("no answer to Confirm"));
    assert!(ended);
    assert_eq!(lab.client.state(), State::Bound);
    // dhcpagent's stop_init_reboot: no Reply to Confirm, the lease is used (dhcp_bound), and
    // BOUND6 runs again.
    assert_eq!(lab.event_names(), vec!["BOUND6", "BOUND6"]);
    assert_eq!(lab.configured.len(), 1);
    // T1 is still where it was: the Renew leaves at the old T1.
    let b = lab.sent_of(MessageType::REQUEST)[0].at;
    lab.run_until(b + f64::from(T1) + 1.0);
    assert_eq!(lab.sent_of(MessageType::RENEW)[0].at, b + f64::from(T1));
}

#[test]
fn link_up_with_a_delegated_prefix_rebinds_instead_of_confirming() {
    let mut c = config();
    c.na_iaids = Vec::new();
    c.pd_iaids = vec![3];
    let mut lab = Lab::new(c, None, good_server());
    lab.run_until(10.0);
    lab.host(100.0, HostEvent::LinkDown);
    lab.host(110.0, HostEvent::LinkUp);
    lab.run_until(111.0);
    // RFC 8415 18.2.12: Rebind, with the Confirm's parameters (within CNF_MAX_DELAY), no
    // Server ID, the prefix as a hint.
    assert!(lab.sent_of(MessageType::CONFIRM).is_empty());
    let r = lab.sent_of(MessageType::REBIND);
    assert_eq!(r.len(), 1);
    assert!(r[0].at >= 110.0 && r[0].at <= 111.0, "{}", r[0].at);
    assert!(!r[0].has(code::SERVER_ID));
    assert_eq!(r[0].ia_pd(), vec![(3, vec![(PREFIX, 56)])]);
    assert_eq!(lab.event_names(), vec!["BOUND6", "EXTEND6"]);
}

#[test]
fn nothing_is_sent_while_the_link_is_down_but_leases_still_expire() {
    let mut lab = Lab::new(config(), None, good_server());
    lab.run_until(10.0);
    let b = lab.sent_of(MessageType::REQUEST)[0].at;
    let before = lab.sent.len();
    lab.host(20.0, HostEvent::LinkDown);
    lab.run_until(b + f64::from(VALID) + 5.0);
    assert_eq!(lab.sent.len(), before);
    assert_eq!(lab.event_names(), vec!["BOUND6", "EXPIRE6"]);
    assert_eq!(lab.events[1].0, b + f64::from(VALID));
    assert_eq!(lab.client.state(), State::Init);
    lab.host(b + f64::from(VALID) + 10.0, HostEvent::LinkUp);
    lab.run_until(b + f64::from(VALID) + 20.0);
    assert_eq!(lab.event_names(), vec!["BOUND6", "EXPIRE6", "BOUND6"]);
}

#[test]
fn release_sends_release_with_rel_retransmission_then_release6() {
    let (script, up) = switchable();
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    up.set(false);
    lab.host(50.0, HostEvent::Release);
    // RFC 8415 18.2.7: the address stops being used at once, before any answer.
    assert!(lab.configured.is_empty());
    assert_eq!(lab.unconfigured[0].0, 50.0);
    assert!(lab.saved.is_none());
    assert_eq!(lab.client.state(), State::Releasing);
    lab.run_until(100.0);
    let r = lab.sent_of(MessageType::RELEASE);
    // REL_TIMEOUT 1 s, REL_MAX_RC 4: four transmissions, then the exchange ends.
    assert_eq!(r.len(), 4);
    assert_eq!(r[0].at, 50.0);
    let times: Vec<f64> = r.iter().map(|s| s.at).collect();
    assert_backoff(&times, 1.0, 0.0, false);
    assert_eq!(
        r[0].options().get(code::SERVER_ID).map(|o| o.data),
        Some(&SERVER_DUID[..])
    );
    assert_eq!(r[0].ia_na(), vec![(IAID, vec![ADDR])]);
    assert!(!r[0].has(code::ORO));
    assert_eq!(lab.event_names(), vec!["BOUND6", "RELEASE6"]);
    let released_at = lab.events[1].0;
    assert!(released_at > times[3] && released_at <= times[3] + 16.0 * 1.1 + 0.01);
    assert_eq!(lab.client.state(), State::Idle);
    assert_eq!(lab.client.poll_timeout(), None);
}

#[test]
fn release_answered_ends_at_once() {
    let mut lab = Lab::new(config(), None, good_server());
    lab.run_until(10.0);
    lab.host(50.0, HostEvent::Release);
    assert_eq!(lab.sent_of(MessageType::RELEASE).len(), 1);
    assert_eq!(lab.events.last(), Some(&(50.0, Event::Release6)));
    assert_eq!(lab.client.state(), State::Idle);
}

#[test]
fn drop_unconfigures_without_a_message_and_keeps_the_file() {
    let mut lab = Lab::new(config(), None, good_server());
    lab.run_until(10.0);
    let sent = lab.sent.len();
    lab.host(50.0, HostEvent::Drop);
    assert_eq!(lab.sent.len(), sent);
    assert_eq!(lab.event_names(), vec!["BOUND6", "DROP6"]);
    assert!(lab.configured.is_empty());
    assert!(
        lab.saved.is_some(),
        "the binding file stays for the next start"
    );
    assert_eq!(lab.forgotten, 0);
    assert_eq!(lab.client.state(), State::Idle);
}

#[test]
fn a_duplicate_address_is_declined_and_the_client_solicits_again() {
    let declined = Rc::new(Cell::new(0));
    let d = declined.clone();
    let mut good = good_server();
    let script: Script = Box::new(move |s: &Sent| {
        if s.kind() == MessageType::DECLINE {
            d.set(d.get() + 1);
        }
        good(s)
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    lab.host(20.0, HostEvent::Duplicate(ADDR));
    let dec = lab.sent_of(MessageType::DECLINE);
    // RFC 8415 18.2.8: Server ID, the IA with the declined address, multicast, at once.
    assert_eq!(dec.len(), 1);
    assert_eq!(dec[0].at, 20.0);
    assert_eq!(dec[0].ia_na(), vec![(IAID, vec![ADDR])]);
    assert_eq!(
        dec[0].options().get(code::SERVER_ID).map(|o| o.data),
        Some(&SERVER_DUID[..])
    );
    assert_eq!(dec[0].transmit.destination, MULTICAST);
    assert_eq!(declined.get(), 1);
    assert_eq!(
        lab.unconfigured[0],
        (
            20.0,
            Configuration {
                kind: IaKind::Na,
                address: ADDR,
                prefix_len: 128
            }
        )
    );
    lab.run_until(30.0);
    // Nothing was left: DROP6, then a new Solicit within SOL_MAX_DELAY, and a new binding.
    assert_eq!(lab.event_names(), vec!["BOUND6", "DROP6", "BOUND6"]);
    let solicits = lab.sent_of(MessageType::SOLICIT);
    assert!(solicits[1].at >= 20.0 && solicits[1].at <= 21.0);
    // An address that is not ours is not declined.
    lab.host(40.0, HostEvent::Duplicate(ADDR2));
    assert_eq!(lab.sent_of(MessageType::DECLINE).len(), 1);
}

#[test]
fn decline_retransmits_dec_max_rc_times() {
    let (script, up) = switchable();
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    up.set(false);
    lab.host(20.0, HostEvent::Duplicate(ADDR));
    lab.run_until(60.0);
    let times: Vec<f64> = lab
        .sent_of(MessageType::DECLINE)
        .iter()
        .map(|s| s.at)
        .collect();
    // DEC_TIMEOUT 1 s, DEC_MAX_RC 4.
    assert_eq!(times.len(), 4);
    assert_backoff(&times, 1.0, 0.0, false);
    assert!(lab.sent_of(MessageType::SOLICIT).len() >= 2);
}

#[test]
fn a_restart_confirms_the_saved_binding() {
    let mut lab = Lab::new(config(), None, good_server());
    lab.run_until(10.0);
    let saved = lab.saved.clone().expect("saved");
    // The file survives a round trip through its text.
    let text = lease_file::encode(&saved);
    assert_eq!(lease_file::decode(text.as_bytes()), Ok(saved.clone()));
    let mut lab2 = Lab::new(config(), Some(saved.clone()), good_server());
    lab2.run_until(5.0);
    // Confirm first (within CNF_MAX_DELAY), nothing configured until the answer; then BOUND6.
    assert_eq!(lab2.sent[0].kind(), MessageType::CONFIRM);
    assert!(lab2.sent[0].at <= 1.0);
    assert_eq!(lab2.event_names(), vec!["BOUND6"]);
    assert_eq!(lab2.configured.len(), 1);
    assert_eq!(lab2.client.binding(), Some(&saved));
    assert_eq!(lab2.client.state(), State::Bound);

    // A saved binding whose leases ended is forgotten and the client solicits.
    let mut old = saved.clone();
    old.ias[0].leases[0].valid_until = Some(t0() - std::time::Duration::from_secs(1));
    let lab3 = Lab::new(config(), Some(old), silent());
    assert_eq!(lab3.forgotten, 1);
    assert_eq!(lab3.client.state(), State::Soliciting);

    // An unanswered Confirm at start keeps the saved leases: configured, BOUND6.
    let mut lab4 = Lab::new(config(), Some(saved), silent());
    lab4.run_until(15.0);
    assert_eq!(lab4.event_names(), vec!["BOUND6"]);
    assert_eq!(lab4.configured.len(), 1);
}

#[test]
fn binding_file_faults_name_their_line() {
    let cases: [(&[u8], &str); 6] = [
        (b"nonsense\n", "line 1"),
        (b"dhcplab-binding6 1\nserver 0g\n", "line 2"),
        (b"dhcplab-binding6 1\nserver 0001\nlease 2001:db8::1/128 preferred infinite valid infinite\n", "line 3"),
        (b"dhcplab-binding6 1\nserver 0001\nia xx 1 renew infinite rebind infinite\n", "line 3"),
        (b"dhcplab-binding6 1\nserver 0001\nia na 1 renew 12 rebind infinite\n", "line 3"),
        (b"dhcplab-binding6 1\nunicast 2001:db8::1\n", "no \"server\" line"),
    ];
    for (bytes, want) in cases {
        let err = lease_file::decode(bytes).expect_err("bad file");
        assert!(err.to_string().contains(want), "{err} lacks {want}");
    }
    assert!(matches!(
        lease_file::decode(&[0xff, 0xfe]),
        Err(lease_file::BindingFileError::NotText(0))
    ));
    let ok = lease_file::decode(
        b"dhcplab-binding6 1\nserver 0001\nia pd 2 renew 5.5 rebind infinite\nlease 2001:db8:1::/56 preferred infinite valid 10.0\n",
    )
    .expect("good file");
    assert_eq!(ok.ias[0].kind, IaKind::Pd);
    assert_eq!(ok.ias[0].leases[0].prefix_len, 56);
    assert_eq!(ok.ias[0].rebind_at, None);
    assert_eq!(
        ok.ias[0].renew_at,
        Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(5500))
    );
}

#[test]
fn event_program_runs_one_at_a_time_and_is_signalled_as_configured() {
    use dhcplab_client6::{Action, Client, Order, Signal};
    use std::time::Duration;
    let mut c = config();
    c.program_term_after = Duration::from_secs(5);
    c.program_kill_after = Duration::from_secs(2);
    let mut client = Client::new(c, 9, None, t0());
    let mut good = good_server();
    let mut orders = Vec::new();
    let mut now = t0();
    // The program never exits by itself: BOUND6 runs, then gets SIGTERM at 5 s and SIGKILL 2 s
    // later; the next event (DROP6) waits for the run's end.
    for _ in 0..50 {
        while let Some(a) = client.poll_action() {
            match a {
                Action::Transmit(t) => {
                    let Ok(dhcplab_wire::v6::Message::Client(m)) =
                        dhcplab_wire::v6::Message::decode(&t.payload)
                    else {
                        panic!("client message");
                    };
                    let s = Sent {
                        at: secs(now),
                        transmit: t,
                        message: m,
                    };
                    for reply in good(&s) {
                        client.handle_datagram(now, &reply);
                    }
                }
                Action::Program(o) => orders.push((secs(now), o)),
                _ => {}
            }
        }
        match client.poll_timeout() {
            Some(t) if t <= at(20.0) => {
                now = t;
                client.handle_timeout(t);
            }
            _ => break,
        }
    }
    let bound = orders[0].0;
    assert_eq!(
        orders[0].1,
        Order::Run {
            run: 1,
            event: Event::Bound6
        }
    );
    client.handle_host(at(bound + 1.0), HostEvent::Drop);
    while let Some(a) = client.poll_action() {
        if let Action::Program(o) = a {
            orders.push((bound + 1.0, o));
        }
    }
    assert_eq!(
        orders[1..3],
        [
            (
                bound + 5.0,
                Order::Signal {
                    run: 1,
                    signal: Signal::Term
                }
            ),
            (
                bound + 7.0,
                Order::Signal {
                    run: 1,
                    signal: Signal::Kill
                }
            ),
        ]
    );
    assert_eq!(orders.len(), 3, "DROP6 waits for run 1 to end");
    client.handle_program_exit(at(bound + 8.0), 1);
    assert_eq!(
        client.poll_action(),
        Some(Action::Program(Order::Run {
            run: 2,
            event: Event::Drop6
        }))
    );
}

/// A good server that gives ADDR2 instead of ADDR once it got a Decline (as Kea, which holds a
/// declined address for decline-probation-period).
fn server_after_decline() -> Script {
    let mut declined = false;
    Box::new(move |s: &Sent| {
        let address = if declined { ADDR2 } else { ADDR };
        let ias = vec![(
            code::IA_NA,
            ia(IAID, T1, T2, &[ia_addr(address, PREFERRED, VALID)]),
        )];
        let ok = vec![(code::STATUS_CODE, status(0, "ok"))];
        match s.kind() {
            MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &ias)],
            MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &ias)],
            MessageType::DECLINE => {
                declined = true;
                vec![answer(s, MessageType::REPLY, &ok)]
            }
            _ => Vec::new(),
        }
    })
}

#[test]
fn bound6_waits_for_dad_and_a_duplicate_found_meanwhile_is_declined_without_events() {
    // dhcpagent reports BOUND6 from dhcp_bound_complete, once DAD is over on every new
    // address (illumos bound.c, agent.c rtsock_event); a duplicate found by then is declined
    // (send_declines) and the client starts over, with no BOUND6 or DROP6 for it.
    let mut lab = Lab::new(config(), None, server_after_decline());
    lab.in_use = vec![ADDR];
    lab.run_until(30.0);
    let dec = lab.sent_of(MessageType::DECLINE);
    assert_eq!(dec.len(), 1);
    assert_eq!(dec[0].ia_na(), vec![(IAID, vec![ADDR])]);
    assert_eq!(lab.event_names(), vec!["BOUND6"]);
    let requests = lab.sent_of(MessageType::REQUEST);
    assert_eq!(requests.len(), 2);
    assert_eq!(
        lab.events[0].0, requests[1].at,
        "BOUND6 for the second address"
    );
    let held: Vec<_> = lab.configured.iter().map(|c| c.address).collect();
    assert_eq!(held, vec![ADDR2]);
    assert_eq!(lab.client.state(), State::Bound);
}

#[test]
fn bound6_comes_when_dad_is_reported_else_after_the_dad_timeout() {
    let mut lab = Lab::new(config(), None, good_server());
    lab.dad = false;
    // Solicit within SOL_MAX_DELAY (1 s), Request after its first RT (at most 1.1 s).
    lab.run_until(2.2);
    let reply_at = lab.sent_of(MessageType::REQUEST)[0].at;
    assert_eq!(lab.configured.len(), 1, "configured at the Reply");
    assert!(lab.events.is_empty(), "no BOUND6 while DAD runs");
    assert_eq!(lab.client.state(), State::Bound);
    lab.host(reply_at + 1.5, HostEvent::DadDone(ADDR2));
    assert!(lab.events.is_empty(), "DAD of an address not ours");
    lab.host(reply_at + 1.5, HostEvent::DadDone(ADDR));
    assert_eq!(lab.event_names(), vec!["BOUND6"]);
    assert_eq!(lab.events[0].0, reply_at + 1.5);
    lab.host(reply_at + 2.0, HostEvent::DadDone(ADDR));
    assert_eq!(lab.events.len(), 1, "a second report changes nothing");

    // With no report, the address counts as unique after Config::dad_timeout.
    let mut lab = Lab::new(config(), None, good_server());
    lab.dad = false;
    lab.run_until(30.0);
    let reply_at = lab.sent_of(MessageType::REQUEST)[0].at;
    assert_eq!(lab.event_names(), vec!["BOUND6"]);
    let waited = lab.events[0].0 - reply_at;
    assert!(
        (waited - 3.0).abs() < 0.002,
        "BOUND6 {waited} s after the Reply"
    );
}

#[test]
fn one_duplicate_of_two_new_addresses_gives_bound6_for_the_other_and_no_loss6() {
    let mut c = config();
    c.na_iaids = vec![1, 2];
    let mut lab = Lab::new(c, None, good_server());
    lab.in_use = vec![nth(ADDR, 1)];
    lab.run_until(30.0);
    let dec = lab.sent_of(MessageType::DECLINE);
    assert_eq!(dec.len(), 1);
    assert_eq!(dec[0].ia_na(), vec![(2, vec![nth(ADDR, 1)])]);
    assert_eq!(lab.event_names(), vec!["BOUND6"]);
    let held: Vec<_> = lab.configured.iter().map(|c| c.address).collect();
    assert_eq!(held, vec![ADDR]);
}

#[test]
fn the_rebind_after_link_up_retransmits_as_a_confirm_and_keeps_the_prefix_unanswered() {
    // RFC 8415 18.2.12: the Rebind that checks a binding with delegated prefixes after link up
    // uses the Confirm's retransmission parameters (18.2.3, 7.6: CNF_TIMEOUT 1 s, CNF_MAX_RT
    // 4 s, CNF_MAX_RD 10 s), not REB_TIMEOUT 10 s up to the end of the valid lifetimes.
    let mut c = config();
    c.pd_iaids = vec![3];
    let (script, up) = switchable();
    let mut lab = Lab::new(c, None, script);
    lab.run_until(10.0);
    up.set(false);
    lab.host(100.0, HostEvent::LinkDown);
    lab.host(110.0, HostEvent::LinkUp);
    lab.run_until(200.0);
    let times: Vec<f64> = lab
        .sent_of(MessageType::REBIND)
        .iter()
        .map(|s| s.at)
        .collect();
    assert!(times[0] >= 110.0 && times[0] <= 111.0, "{times:?}");
    assert_backoff(&times, 1.0, 4.0, false);
    assert!(
        times.iter().all(|t| *t <= times[0] + 10.0),
        "no Rebind after CNF_MAX_RD: {times:?}"
    );
    assert!(times.len() >= 4, "{times:?}");
    // Unanswered: the leases are kept, as after an unanswered Confirm (BOUND6 again).
    assert_eq!(lab.event_names(), vec!["BOUND6", "BOUND6"]);
    assert_eq!(lab.configured.len(), 2);
    assert_eq!(lab.client.state(), State::Bound);
}

#[test]
fn a_second_release_order_does_not_cut_the_release_exchange_short() {
    // The control socket's release6 and then SIGTERM with RELEASE_ON_SIGTERM give two
    // Release orders: the first exchange keeps retransmitting (REL_MAX_RC) and ends with
    // RELEASE6 (RFC 8415 18.2.7).
    let (script, up) = switchable();
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    up.set(false);
    lab.host(50.0, HostEvent::Release);
    lab.host(50.5, HostEvent::Release);
    assert_eq!(lab.client.state(), State::Releasing);
    lab.run_until(100.0);
    assert_eq!(lab.sent_of(MessageType::RELEASE).len(), 4);
    assert_eq!(lab.event_names(), vec!["BOUND6", "RELEASE6"]);
    assert_eq!(lab.client.state(), State::Idle);
}

#[test]
fn two_duplicates_are_declined_together_and_the_first_is_not_forgotten() {
    // Both new addresses are found in use: the second Decline names both (RFC 8415 18.2.8
    // allows several addresses in one), so the first is still retransmitted when the server
    // is silent, and no event runs for addresses BOUND6 never announced.
    let mut c = config();
    c.na_iaids = vec![1, 2];
    let mut good = good_server();
    let script: Script = Box::new(move |s: &Sent| match s.kind() {
        MessageType::DECLINE => Vec::new(),
        _ => good(s),
    });
    let mut lab = Lab::new(c, None, script);
    lab.in_use = vec![ADDR, nth(ADDR, 1)];
    lab.run_until(2.2);
    // DEC_TIMEOUT 1 s, DEC_MAX_RC 4: over by 2.2 + 1.1 + 2.2 + 4.4 + 8.8.
    lab.run_until(19.0);
    let dec = lab.sent_of(MessageType::DECLINE);
    let last = dec.last().expect("a Decline");
    assert_eq!(
        last.ia_na(),
        vec![(1, vec![ADDR]), (2, vec![nth(ADDR, 1)])],
        "{:?}",
        dec.iter().map(|d| d.ia_na()).collect::<Vec<_>>()
    );
    assert!(dec.len() >= 4, "{}", dec.len());
    assert!(lab.events.is_empty(), "{:?}", lab.event_names());
    assert!(lab.configured.is_empty());
}
