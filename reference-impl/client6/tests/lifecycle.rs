//! The binding's life against a scripted server: Renew at T1, Rebind at T2, expiry, partial
//! loss, status codes in Renew replies, prefix delegation, unicast (RFC 8415 18.2.4, 18.2.5,
//! 18.2.10), with dhcpagent's events.

mod common;

use common::*;
use dhcplab_client6::{Configuration, Event, IaKind, State};
use dhcplab_wire::v6::{MessageType, code};
use std::cell::Cell;
use std::rc::Rc;

fn bound_at(lab: &Lab) -> f64 {
    lab.sent_of(MessageType::REQUEST)[0].at
}

#[test]
fn renew_at_t1_extends() {
    let mut lab = Lab::new(config(), None, good_server());
    lab.run_until(10.0);
    let b = bound_at(&lab);
    lab.run_until(b + f64::from(T1) + 1.0);
    let renew = lab.sent_of(MessageType::RENEW);
    assert_eq!(renew.len(), 1);
    assert_eq!(renew[0].at, b + f64::from(T1));
    // RFC 8415 18.2.4: Server ID, the IA with its address, Elapsed Time 0, ORO; multicast
    // without a Server Unicast option.
    assert_eq!(
        renew[0].options().get(code::SERVER_ID).map(|o| o.data),
        Some(&SERVER_DUID[..])
    );
    assert_eq!(renew[0].ia_na(), vec![(IAID, vec![ADDR])]);
    assert_eq!(renew[0].elapsed(), 0);
    assert!(renew[0].has(code::ORO));
    assert_eq!(renew[0].transmit.destination, MULTICAST);
    assert_eq!(lab.event_names(), vec!["BOUND6", "EXTEND6"]);
    assert_eq!(lab.client.state(), State::Bound);
    // The new T1 counts from the Renew's Reply.
    let ia = lab
        .client
        .binding()
        .expect("b")
        .ia(IaKind::Na, IAID)
        .cloned();
    assert_eq!(
        ia.and_then(|i| i.renew_at),
        Some(at(renew[0].at + f64::from(T1)))
    );
    assert_eq!(lab.configured.len(), 1);
}

#[test]
fn silent_server_renew_then_rebind_then_expire_at_exact_times() {
    let (script, up) = switchable();
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    up.set(false);
    let b = bound_at(&lab);
    let (t1, t2, valid) = (b + f64::from(T1), b + f64::from(T2), b + f64::from(VALID));
    lab.run_until(valid + 0.5);
    let renews: Vec<f64> = lab
        .sent_of(MessageType::RENEW)
        .iter()
        .map(|s| s.at)
        .collect();
    let rebinds = lab.sent_of(MessageType::REBIND);
    // Renew: REN_TIMEOUT 10 s, REN_MAX_RT 600 s, MRD up to T2 (RFC 8415 18.2.4).
    assert_eq!(renews[0], t1);
    assert_backoff(&renews, 10.0, 600.0, false);
    assert!(renews.iter().all(|t| *t < t2));
    // Rebind at T2 exactly: no Server ID, multicast, REB_TIMEOUT 10 s, REB_MAX_RT 600 s.
    assert_eq!(rebinds[0].at, t2);
    assert!(!rebinds[0].has(code::SERVER_ID));
    assert_eq!(rebinds[0].ia_na(), vec![(IAID, vec![ADDR])]);
    let times: Vec<f64> = rebinds.iter().map(|s| s.at).collect();
    assert_backoff(&times, 10.0, 600.0, false);
    assert!(times.iter().all(|t| *t < valid));
    assert!(
        rebinds
            .iter()
            .all(|r| r.message.xid == rebinds[0].message.xid)
    );
    // Elapsed time counts from the Rebind's first message.
    assert_eq!(rebinds[0].elapsed(), 0);
    // The valid lifetime ends: the address goes, EXPIRE6, and a new Solicit.
    assert_eq!(lab.event_names(), vec!["BOUND6", "EXPIRE6"]);
    assert_eq!(lab.events[1].0, valid);
    assert!(lab.configured.is_empty());
    assert_eq!(lab.unconfigured.last().map(|u| u.0), Some(valid));
    assert!(lab.saved.is_none());
    assert_eq!(lab.client.state(), State::Soliciting);
    let solicits = lab.sent_of(MessageType::SOLICIT);
    assert!(solicits[1].at >= valid && solicits[1].at <= valid + 1.0);
}

#[test]
fn loss6_when_one_of_two_addresses_expires() {
    // Two IA_NAs; the server gives the second a shorter valid lifetime, then goes silent.
    let up = Rc::new(Cell::new(true));
    let flag = up.clone();
    let script: Script = Box::new(move |s: &Sent| {
        if !flag.get() {
            return Vec::new();
        }
        let ias = vec![
            (code::IA_NA, ia(1, 3000, 4000, &[ia_addr(ADDR, 5000, 6000)])),
            (code::IA_NA, ia(2, 300, 400, &[ia_addr(ADDR2, 500, 600)])),
        ];
        match s.kind() {
            MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &ias)],
            MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &ias)],
            _ => Vec::new(),
        }
    });
    let mut c = config();
    c.na_iaids = vec![1, 2];
    let mut lab = Lab::new(c, None, script);
    lab.run_until(10.0);
    assert_eq!(lab.configured.len(), 2);
    up.set(false);
    let b = bound_at(&lab);
    lab.run_until(b + 3000.5);
    // Renew at the second IA's T1 carries that IA alone (per-IA timers).
    let renew = lab.sent_of(MessageType::RENEW);
    assert_eq!(renew[0].at, b + 300.0);
    assert_eq!(renew[0].ia_na(), vec![(2, vec![ADDR2])]);
    assert_eq!(lab.sent_of(MessageType::REBIND)[0].at, b + 400.0);
    // ADDR2 expires at 600 s: LOSS6, ADDR stays.
    assert_eq!(lab.event_names(), vec!["BOUND6", "LOSS6"]);
    assert_eq!(lab.events[1].0, b + 600.0);
    assert_eq!(
        lab.configured,
        vec![Configuration {
            kind: IaKind::Na,
            address: ADDR,
            prefix_len: 128
        }]
    );
    assert_eq!(lab.client.state(), State::Renewing);
    let saved = lab.saved.as_ref().expect("saved");
    assert_eq!(saved.ias.len(), 1);
    assert_eq!(saved.ias[0].iaid, 1);
    // The first IA's T1 at 3000 s: a Renew for it.
    assert_eq!(
        lab.sent_of(MessageType::RENEW)
            .last()
            .map(|r| (r.at, r.ia_na())),
        Some((b + 3000.0, vec![(1, vec![ADDR])]))
    );
    lab.run_until(b + 6001.0);
    assert_eq!(lab.event_names(), vec!["BOUND6", "LOSS6", "EXPIRE6"]);
    assert_eq!(lab.events[2].0, b + 6000.0);
}

#[test]
fn a_renew_reply_with_valid_lifetime_zero_removes_that_address() {
    let renewed = Rc::new(Cell::new(false));
    let r = renewed.clone();
    let script: Script = Box::new(move |s: &Sent| {
        let both = vec![(
            code::IA_NA,
            ia(
                IAID,
                T1,
                T2,
                &[
                    ia_addr(ADDR, PREFERRED, VALID),
                    ia_addr(ADDR2, PREFERRED, VALID),
                ],
            ),
        )];
        match s.kind() {
            MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &both)],
            MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &both)],
            MessageType::RENEW => {
                r.set(true);
                vec![answer(
                    s,
                    MessageType::REPLY,
                    &[(
                        code::IA_NA,
                        ia(
                            IAID,
                            T1,
                            T2,
                            &[ia_addr(ADDR, PREFERRED, VALID), ia_addr(ADDR2, 0, 0)],
                        ),
                    )],
                )]
            }
            _ => Vec::new(),
        }
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    assert_eq!(lab.configured.len(), 2);
    let b = bound_at(&lab);
    lab.run_until(b + f64::from(T1) + 1.0);
    assert!(renewed.get());
    // The Renew names both; the Reply drops ADDR2: LOSS6, then EXTEND6 for ADDR.
    assert_eq!(
        lab.sent_of(MessageType::RENEW)[0].ia_na(),
        vec![(IAID, vec![ADDR, ADDR2])]
    );
    assert_eq!(lab.event_names(), vec!["BOUND6", "LOSS6", "EXTEND6"]);
    assert_eq!(lab.configured.len(), 1);
    assert_eq!(lab.configured[0].address, ADDR);
    assert_eq!(lab.unconfigured[0].1.address, ADDR2);
}

#[test]
fn no_binding_in_a_renew_reply_leads_to_a_request_for_that_ia() {
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &granted(s))],
        MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &granted(s))],
        MessageType::RENEW => vec![answer(
            s,
            MessageType::REPLY,
            &[(
                code::IA_NA,
                ia(IAID, 0, 0, &[option(code::STATUS_CODE, &status(3, "?"))]),
            )],
        )],
        _ => Vec::new(),
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    let b = bound_at(&lab);
    lab.run_until(b + f64::from(T1) + 1.0);
    // RFC 8415 18.2.10.1: NoBinding → Request with the IA (its address as a hint), same
    // server, at once; no more Renews.
    let requests = lab.sent_of(MessageType::REQUEST);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].at, b + f64::from(T1));
    assert_eq!(requests[1].ia_na(), vec![(IAID, vec![ADDR])]);
    assert_eq!(
        requests[1].options().get(code::SERVER_ID).map(|o| o.data),
        Some(&SERVER_DUID[..])
    );
    assert_eq!(lab.sent_of(MessageType::RENEW).len(), 1);
    assert_eq!(lab.event_names(), vec!["BOUND6", "EXTEND6"]);
    assert_eq!(lab.client.state(), State::Bound);
    assert_eq!(lab.configured.len(), 1);
}

#[test]
fn no_prefix_avail_on_renew_drops_the_prefix_and_asks_again() {
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &granted(s))],
        MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &granted(s))],
        MessageType::RENEW => vec![answer(
            s,
            MessageType::REPLY,
            &[
                (
                    code::IA_NA,
                    ia(IAID, T1, T2, &[ia_addr(ADDR, PREFERRED, VALID)]),
                ),
                (
                    code::IA_PD,
                    ia(
                        9,
                        0,
                        0,
                        &[option(code::STATUS_CODE, &status(6, "no prefix"))],
                    ),
                ),
            ],
        )],
        _ => Vec::new(),
    });
    let mut c = config();
    c.pd_iaids = vec![9];
    let mut lab = Lab::new(c, None, script);
    lab.run_until(10.0);
    // Solicit and Request carry the IA_PD too (RFC 8415 18.2.1, 18.2.2).
    assert_eq!(
        lab.sent_of(MessageType::SOLICIT)[0].ia_pd(),
        vec![(9, vec![])]
    );
    assert_eq!(
        lab.sent_of(MessageType::REQUEST)[0].ia_pd(),
        vec![(9, vec![(PREFIX, 56)])]
    );
    let pd = Configuration {
        kind: IaKind::Pd,
        address: PREFIX,
        prefix_len: 56,
    };
    assert!(lab.configured.contains(&pd));
    let b = bound_at(&lab);
    lab.run_until(b + f64::from(T1) + 0.5);
    let renew = &lab.sent_of(MessageType::RENEW)[0];
    assert_eq!(renew.ia_pd(), vec![(9, vec![(PREFIX, 56)])]);
    // The prefix goes at once (LOSS6: the address remains), the address is extended, and a
    // Request asks for a new prefix with no hint.
    assert_eq!(
        lab.event_names(),
        vec!["BOUND6", "LOSS6", "EXTEND6", "EXTEND6"]
    );
    assert_eq!(lab.unconfigured[0].1, pd);
    let requests = lab.sent_of(MessageType::REQUEST);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].ia_pd(), vec![(9, vec![])]);
    assert!(requests[1].ia_na().is_empty());
    // The good Request reply delegates the prefix again.
    assert!(lab.configured.contains(&pd));
    assert_eq!(lab.client.state(), State::Bound);
}

#[test]
fn t1_and_t2_of_zero_are_the_clients_choice() {
    let script: Script = Box::new(|s: &Sent| {
        let ias = vec![(code::IA_NA, ia(IAID, 0, 0, &[ia_addr(ADDR, 1000, 3000)]))];
        match s.kind() {
            MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &ias)],
            MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &ias)],
            _ => Vec::new(),
        }
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    let b = bound_at(&lab);
    let ia = lab
        .client
        .binding()
        .expect("b")
        .ia(IaKind::Na, IAID)
        .cloned()
        .expect("ia");
    // 0.5 and 0.8 of the shortest preferred lifetime (RFC 8415 14.2, 21.4).
    assert_eq!(ia.renew_at, Some(at(b + 500.0)));
    assert_eq!(ia.rebind_at, Some(at(b + 800.0)));
    lab.run_until(b + 801.0);
    assert_eq!(lab.sent_of(MessageType::RENEW)[0].at, b + 500.0);
    assert_eq!(lab.sent_of(MessageType::REBIND)[0].at, b + 800.0);
}

#[test]
fn renew_goes_to_the_server_unicast_address_and_falls_back_on_use_multicast() {
    let script: Script = Box::new(|s: &Sent| {
        let mut ias = granted(s);
        ias.push((code::UNICAST, SERVER_UNICAST.octets().to_vec()));
        match s.kind() {
            MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &ias)],
            MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &ias)],
            MessageType::RENEW if s.transmit.destination == SERVER_UNICAST => vec![answer(
                s,
                MessageType::REPLY,
                &[(code::STATUS_CODE, status(5, "multicast please"))],
            )],
            MessageType::RENEW => vec![answer(s, MessageType::REPLY, &granted(s))],
            _ => Vec::new(),
        }
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    assert_eq!(
        lab.client.binding().and_then(|b| b.server_unicast),
        Some(SERVER_UNICAST)
    );
    let b = bound_at(&lab);
    lab.run_until(b + f64::from(T1) + 1.0);
    let renews = lab.sent_of(MessageType::RENEW);
    // RFC 8415 18.2.4 / 21.12: unicast from the address held; UseMulticast (18.2.10): the
    // same Renew again by multicast from the link-local address.
    assert_eq!(renews.len(), 2);
    assert_eq!(renews[0].transmit.destination, SERVER_UNICAST);
    assert_eq!(renews[0].transmit.source, ADDR);
    assert_eq!(renews[1].transmit.destination, MULTICAST);
    assert_eq!(renews[1].transmit.source, dhcplab_client6::link_local(MAC));
    assert_eq!(renews[1].at, renews[0].at);
    assert_eq!(renews[1].message.xid, renews[0].message.xid);
    assert_eq!(lab.event_names(), vec!["BOUND6", "EXTEND6"]);
}

#[test]
fn prefix_only_binding_renews_and_expires() {
    let (script, up) = switchable();
    let mut c = config();
    c.na_iaids = Vec::new();
    c.pd_iaids = vec![4];
    let mut lab = Lab::new(c, None, script);
    lab.run_until(10.0);
    assert_eq!(
        lab.configured,
        vec![Configuration {
            kind: IaKind::Pd,
            address: PREFIX,
            prefix_len: 56
        }]
    );
    let b = bound_at(&lab);
    lab.run_until(b + f64::from(T1) + 1.0);
    assert_eq!(lab.event_names(), vec!["BOUND6", "EXTEND6"]);
    up.set(false);
    let renewed = lab.sent_of(MessageType::RENEW)[0].at;
    lab.run_until(renewed + f64::from(VALID) + 1.0);
    assert_eq!(lab.event_names(), vec!["BOUND6", "EXTEND6", "EXPIRE6"]);
    assert_eq!(lab.events[2].0, renewed + f64::from(VALID));
    assert_eq!(lab.events[2].1, Event::Expire6);
    assert!(lab.configured.is_empty());
}

/// A server that answers through `answer` (given each message and its number, from 1) and
/// stops after 80 messages, so that a client stuck in a loop of sending cannot hang the test;
/// with the count of messages it saw.
fn capped(mut answer: impl FnMut(&Sent, u32) -> Vec<Vec<u8>> + 'static) -> (Script, Rc<Cell<u32>>) {
    let count = Rc::new(Cell::new(0));
    let seen = count.clone();
    let script: Script = Box::new(move |s: &Sent| {
        seen.set(seen.get() + 1);
        if seen.get() > 80 {
            return Vec::new();
        }
        answer(s, seen.get())
    });
    (script, count)
}

/// An Advertise with `ias` to a Solicit, a Reply with them to a Request, Renew or Rebind.
fn offering(s: &Sent, ias: &[(u16, Vec<u8>)]) -> Vec<Vec<u8>> {
    match s.kind() {
        MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, ias)],
        MessageType::REQUEST | MessageType::RENEW | MessageType::REBIND => {
            vec![answer(s, MessageType::REPLY, ias)]
        }
        _ => Vec::new(),
    }
}

#[test]
fn a_deprecated_address_with_t1_and_t2_of_zero_does_not_renew_at_once() {
    // Preferred lifetime 0 (RFC 8415 21.6: deprecated, still valid 2000 s) and T1 = T2 = 0
    // (21.4: the client chooses): 0.5 and 0.8 of the shortest preferred lifetime would be 0,
    // a Renew at once after every Reply. The client takes the valid lifetime instead.
    let ias = vec![(code::IA_NA, ia(IAID, 0, 0, &[ia_addr(ADDR, 0, 2000)]))];
    let (script, count) = capped(move |s, _| offering(s, &ias));
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    assert_eq!(count.get(), 2, "Solicit and Request only: {:?}", lab.sent);
    let b = bound_at(&lab);
    let ia = lab
        .client
        .binding()
        .expect("b")
        .ia(IaKind::Na, IAID)
        .cloned()
        .expect("ia");
    assert_eq!(ia.renew_at, Some(at(b + 1000.0)));
    assert_eq!(ia.rebind_at, Some(at(b + 1600.0)));
}

#[test]
fn a_renew_reply_that_leaves_an_ia_out_is_retransmitted_not_answered_at_once() {
    // RFC 8415 18.2.10.1: an IA missing from the Reply to a Renew likely means the server does
    // not do that IA type; the client MUST rate-limit and MAY wait for the normal
    // retransmission (dhcpagent: "lease not updated; allow retransmit").
    let mut c = config();
    c.pd_iaids = vec![9];
    let na_only = vec![(
        code::IA_NA,
        ia(IAID, T1, T2, &[ia_addr(ADDR, PREFERRED, VALID)]),
    )];
    let mut granted_once = false;
    let (script, count) = capped(move |s, _| {
        let ias = if granted_once {
            na_only.clone()
        } else {
            granted(s)
        };
        granted_once |= s.kind() == MessageType::REQUEST;
        offering(s, &ias)
    });
    let mut lab = Lab::new(c, None, script);
    lab.run_until(10.0);
    let b = bound_at(&lab);
    lab.run_until(b + f64::from(T1) + 30.0);
    let renews = lab.sent_of(MessageType::RENEW);
    // REN_TIMEOUT 10 s, doubling: about 3 Renews in 30 s, never two at one instant.
    assert!(
        (2..=4).contains(&renews.len()),
        "{} Renews in 30 s; {} messages in all",
        renews.len(),
        count.get()
    );
    assert_backoff(
        &renews.iter().map(|r| r.at).collect::<Vec<_>>(),
        10.0,
        600.0,
        false,
    );
    // The prefix is still held (its valid lifetime runs), the address extended; EXTEND6
    // waits until every lease is updated, as dhcpagent's dhcp_bound.
    assert_eq!(lab.client.binding().expect("b").ias.len(), 2);
    assert_eq!(lab.event_names(), ["BOUND6"]);
    assert_eq!(lab.client.state(), State::Renewing);
}

#[test]
fn a_renew_reply_with_another_status_in_the_ia_is_retransmitted_not_answered_at_once() {
    // An IA answered with a status the client does not act on (here UnspecFail) updates
    // nothing: the Renew goes on at its retransmission times (RFC 8415 14.1 rate limit).
    let (script, count) = capped(|s, _| match s.kind() {
        MessageType::SOLICIT | MessageType::REQUEST => offering(s, &granted(s)),
        _ => offering(
            s,
            &[(
                code::IA_NA,
                ia(IAID, 0, 0, &[option(code::STATUS_CODE, &status(1, "busy"))]),
            )],
        ),
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    let b = bound_at(&lab);
    lab.run_until(b + f64::from(T1) + 30.0);
    let renews = lab.sent_of(MessageType::RENEW);
    assert!(
        (2..=4).contains(&renews.len()),
        "{} Renews in 30 s; {} messages in all",
        renews.len(),
        count.get()
    );
    assert_eq!(lab.configured.len(), 1, "the address stays");
}

#[test]
fn no_binding_to_renew_and_to_the_request_after_it_does_not_loop_at_once() {
    // A server that answers NoBinding to the Renew (RFC 8415 18.2.10.1: Request it again) and
    // then NoBinding to that Request too: the Request retransmits (REQ_TIMEOUT, REQ_MAX_RC)
    // instead of a Renew at once, and so on without end.
    let (script, _) = capped(|s, n| {
        let no_binding = vec![(
            code::IA_NA,
            ia(IAID, 0, 0, &[option(code::STATUS_CODE, &status(3, "who?"))]),
        )];
        match s.kind() {
            MessageType::SOLICIT => offering(s, &granted(s)),
            MessageType::REQUEST if n <= 2 => offering(s, &granted(s)),
            _ => offering(s, &no_binding),
        }
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    let b = bound_at(&lab);
    lab.run_until(b + f64::from(T1) + 60.0);
    let sent_after_t1 = lab
        .sent
        .iter()
        .filter(|s| s.at >= b + f64::from(T1))
        .count();
    // One Renew, then Requests 1, 2, 4, 8, 16, 30 s apart: about seven in a minute.
    assert!(
        sent_after_t1 <= 10,
        "{sent_after_t1} messages in the minute after T1: {:?}",
        lab.sent
            .iter()
            .map(|s| (s.at, s.kind()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        lab.configured.len(),
        1,
        "the address stays until it expires"
    );
}
