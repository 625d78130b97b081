//! Solicit, Advertise selection, Request, rapid commit and Information-request against a
//! scripted server: exact message contents, retransmission bounds (RFC 8415 15, 7.6), events.

mod common;

use common::*;
use dhcplab_client6::{Client, Config, Event, IaKind, State, duid_llt};
use dhcplab_wire::v6::{Duid, MessageType, code};

#[test]
fn solicit_waits_its_delay_and_retransmits_per_section_15() {
    let mut lab = Lab::new(config(), None, silent());
    lab.run_until(20_000.0);
    let s = lab.sent_of(MessageType::SOLICIT);
    // RFC 8415 18.2.1: the first Solicit waits a random delay in 0 ..= SOL_MAX_DELAY (1 s).
    assert!(s[0].at <= 1.0, "first Solicit at {}", s[0].at);
    let times: Vec<f64> = s.iter().map(|s| s.at).collect();
    // IRT SOL_TIMEOUT 1 s, the first RAND strictly positive; MRT SOL_MAX_RT 3600 s.
    assert_backoff(&times, 1.0, 3600.0, true);
    assert!(
        times.windows(2).any(|w| w[1] - w[0] >= 3240.0),
        "reached MRT"
    );
    // One transaction id for the exchange; Elapsed Time counts centiseconds from the first.
    for m in &s {
        assert_eq!(m.message.xid, s[0].message.xid);
        let cs = ((m.at - s[0].at) * 1000.0).round() as u32 / 10;
        assert_eq!(u32::from(m.elapsed()), cs.min(0xffff));
        assert_eq!(m.transmit.destination, MULTICAST);
        assert_eq!(m.transmit.source, dhcplab_client6::link_local(MAC));
    }
    assert_eq!(s.last().map(|m| m.elapsed()), Some(0xffff));
    // RFC 8415 18.2.1: Client ID, IA_NA, Elapsed Time, ORO with SOL_MAX_RT; no Server ID,
    // no Rapid Commit unless configured.
    let first = &s[0];
    assert_eq!(
        first.options().client_id(),
        Ok(Some(Duid::Ll {
            htype: 1,
            addr: MAC.to_vec()
        }))
    );
    assert_eq!(first.ia_na(), vec![(IAID, vec![])]);
    assert!(first.ia_pd().is_empty());
    assert_eq!(
        first.options().oro(),
        Ok(Some(vec![
            code::DNS_SERVERS,
            code::DOMAIN_LIST,
            code::SOL_MAX_RT
        ]))
    );
    assert!(!first.has(code::SERVER_ID));
    assert!(!first.has(code::RAPID_COMMIT));
    assert_eq!(lab.client.state(), State::Soliciting);
}

#[test]
fn sarr_binds_the_advertised_address_after_the_first_rt() {
    let mut lab = Lab::new(config(), None, good_server());
    lab.run_until(10.0);
    let solicit = lab.sent_of(MessageType::SOLICIT);
    let request = lab.sent_of(MessageType::REQUEST);
    assert_eq!(solicit.len(), 1);
    assert_eq!(request.len(), 1);
    // RFC 8415 18.2.1: Advertises are collected for the first RT (1.0 < RT <= 1.1 s).
    let waited = request[0].at - solicit[0].at;
    assert!(
        waited > 1.0 && waited <= 1.1,
        "Request {waited} s after Solicit"
    );
    // 18.2.2: new transaction, Server ID of the chosen server, the offered address as a hint.
    assert_ne!(request[0].message.xid, solicit[0].message.xid);
    assert_eq!(request[0].elapsed(), 0);
    assert_eq!(
        request[0].options().get(code::SERVER_ID).map(|o| o.data),
        Some(&SERVER_DUID[..])
    );
    assert_eq!(request[0].ia_na(), vec![(IAID, vec![ADDR])]);
    assert!(request[0].has(code::ORO));
    assert_eq!(lab.client.state(), State::Bound);
    assert_eq!(lab.event_names(), vec!["BOUND6"]);
    assert_eq!(lab.configured.len(), 1);
    assert_eq!(lab.configured[0].address, ADDR);
    assert_eq!(lab.configured[0].prefix_len, 128);
    assert_eq!(lab.configured[0].kind, IaKind::Na);
    let b = lab.client.binding().expect("bound");
    assert_eq!(b.server_id, SERVER_DUID.to_vec());
    let ia = b.ia(IaKind::Na, IAID).expect("IA");
    let bound_at = request[0].at;
    assert_eq!(ia.renew_at, Some(at(bound_at + f64::from(T1))));
    assert_eq!(ia.rebind_at, Some(at(bound_at + f64::from(T2))));
    assert_eq!(
        ia.leases[0].valid_until,
        Some(at(bound_at + f64::from(VALID)))
    );
    assert_eq!(
        ia.leases[0].preferred_until,
        Some(at(bound_at + f64::from(PREFERRED)))
    );
    assert_eq!(lab.saved.as_ref(), Some(b));
    assert_eq!(
        lab.client.server_duid().map(|d| d.to_bytes()),
        Some(SERVER_DUID.to_vec())
    );
}

#[test]
fn the_highest_preference_wins_and_255_is_taken_at_once() {
    // Two servers answer; the second with preference 50 beats the first's 10 (RFC 8415
    // 18.2.9).
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT => {
            let ias = granted(s);
            let mut low = ias.clone();
            low.push((code::PREFERENCE, vec![10]));
            let mut high = ias;
            high.push((code::PREFERENCE, vec![50]));
            vec![
                answer_from(s, MessageType::ADVERTISE, &OTHER_DUID, &low),
                answer(s, MessageType::ADVERTISE, &high),
            ]
        }
        MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &granted(s))],
        _ => Vec::new(),
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(5.0);
    let r = lab.sent_of(MessageType::REQUEST);
    assert_eq!(
        r[0].options().get(code::SERVER_ID).map(|o| o.data),
        Some(&SERVER_DUID[..])
    );
    assert!(r[0].at - lab.sent[0].at > 1.0);

    // Preference 255: the Request leaves at once, with no wait for the first RT.
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT => {
            let mut ias = granted(s);
            ias.push((code::PREFERENCE, vec![255]));
            vec![answer(s, MessageType::ADVERTISE, &ias)]
        }
        MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &granted(s))],
        _ => Vec::new(),
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(5.0);
    let solicit = lab.sent_of(MessageType::SOLICIT);
    let request = lab.sent_of(MessageType::REQUEST);
    assert_eq!(request[0].at, solicit[0].at);
    assert_eq!(lab.client.state(), State::Bound);
}

#[test]
fn advertises_without_addresses_do_not_win_and_alone_lead_to_information_request() {
    // One server says NoAddrsAvail, another offers: the offer is taken (RFC 8415 18.2.9).
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT => vec![
            answer_from(
                s,
                MessageType::ADVERTISE,
                &OTHER_DUID,
                &[
                    (code::STATUS_CODE, status(2, "none")),
                    (code::PREFERENCE, vec![200]),
                ],
            ),
            answer(s, MessageType::ADVERTISE, &granted(s)),
        ],
        MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &granted(s))],
        _ => Vec::new(),
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(5.0);
    assert_eq!(lab.client.state(), State::Bound);
    assert_eq!(
        lab.client.binding().map(|b| b.server_id.clone()),
        Some(SERVER_DUID.to_vec())
    );

    // Every Advertise says NoAddrsAvail (in the IA): an Information-request, INFORM6.
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT => vec![answer(
            s,
            MessageType::ADVERTISE,
            &[(
                code::IA_NA,
                ia(IAID, 0, 0, &[option(code::STATUS_CODE, &status(2, "none"))]),
            )],
        )],
        MessageType::INFORMATION_REQUEST => vec![answer(
            s,
            MessageType::REPLY,
            &[
                (code::DNS_SERVERS, SERVER_UNICAST.octets().to_vec()),
                (
                    code::INFORMATION_REFRESH_TIME,
                    3600u32.to_be_bytes().to_vec(),
                ),
            ],
        )],
        _ => Vec::new(),
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(10.0);
    let solicit = lab.sent_of(MessageType::SOLICIT);
    let inform = lab.sent_of(MessageType::INFORMATION_REQUEST);
    assert_eq!(solicit.len(), 1);
    assert_eq!(inform.len(), 1);
    assert!(lab.sent_of(MessageType::REQUEST).is_empty());
    // INF_MAX_DELAY: it waits at most 1 s after the first RT ends.
    let gap = inform[0].at - solicit[0].at;
    assert!(gap > 1.0 && gap <= 2.1, "{gap}");
    // RFC 8415 18.2.6: no IA, no Server ID; the ORO asks for the refresh time, SOL_MAX_RT
    // and INF_MAX_RT.
    assert!(inform[0].ia_na().is_empty());
    assert!(!inform[0].has(code::SERVER_ID));
    let oro = inform[0].options().oro().expect("oro").expect("present");
    for c in [
        code::DNS_SERVERS,
        code::INFORMATION_REFRESH_TIME,
        code::SOL_MAX_RT,
        code::INF_MAX_RT,
    ] {
        assert!(oro.contains(&c), "ORO lacks {c}");
    }
    assert_eq!(lab.event_names(), vec!["INFORM6"]);
    assert_eq!(lab.client.state(), State::Informed);
    // At the refresh time (3600 s) the client tries for addresses again.
    let informed_at = inform[0].at;
    lab.run_until(informed_at + 3599.0);
    assert_eq!(lab.sent_of(MessageType::SOLICIT).len(), 1);
    lab.run_until(informed_at + 3610.0);
    let again = lab.sent_of(MessageType::SOLICIT);
    assert_eq!(again.len(), 2);
    assert!(again[1].at >= informed_at + 3600.0 && again[1].at <= informed_at + 3601.0);
}

#[test]
fn information_only_mode_asks_for_configuration_and_refreshes() {
    let mut c = config();
    c.information_only = true;
    let mut lab = Lab::new(c, None, good_server());
    lab.run_until(2.0);
    assert!(lab.sent_of(MessageType::SOLICIT).is_empty());
    let inform = lab.sent_of(MessageType::INFORMATION_REQUEST);
    assert_eq!(inform.len(), 1);
    assert!(inform[0].at <= 1.0);
    assert_eq!(lab.event_names(), vec!["INFORM6"]);
    // No refresh time given: IRT_DEFAULT, 86400 s (RFC 8415 21.23).
    lab.run_until(inform[0].at + 86_399.0);
    assert_eq!(lab.sent_of(MessageType::INFORMATION_REQUEST).len(), 1);
    lab.run_until(inform[0].at + 86_402.0);
    assert_eq!(lab.sent_of(MessageType::INFORMATION_REQUEST).len(), 2);
    assert_eq!(lab.event_names(), vec!["INFORM6", "INFORM6"]);
}

#[test]
fn information_request_retransmits_up_to_inf_max_rt() {
    let mut c = config();
    c.information_only = true;
    let mut lab = Lab::new(c, None, silent());
    lab.run_until(20_000.0);
    let times: Vec<f64> = lab
        .sent_of(MessageType::INFORMATION_REQUEST)
        .iter()
        .map(|s| s.at)
        .collect();
    // INF_TIMEOUT 1 s, INF_MAX_RT 3600 s, MRC and MRD 0.
    assert_backoff(&times, 1.0, 3600.0, false);
    assert!(times.len() > 12);
}

#[test]
fn rapid_commit_binds_on_the_solicit_reply() {
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT if s.has(code::RAPID_COMMIT) => {
            let mut ias = granted(s);
            ias.push((code::RAPID_COMMIT, Vec::new()));
            vec![answer(s, MessageType::REPLY, &ias)]
        }
        MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &granted(s))],
        MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &granted(s))],
        _ => Vec::new(),
    });
    let mut c = config();
    c.rapid_commit = true;
    let mut lab = Lab::new(c, None, script);
    lab.run_until(5.0);
    // RFC 8415 18.2.1 / 21.14: one Solicit with Rapid Commit, bound at once, no Request.
    assert_eq!(lab.sent.len(), 1);
    assert!(lab.sent[0].has(code::RAPID_COMMIT));
    assert_eq!(lab.client.state(), State::Bound);
    assert_eq!(lab.events, vec![(lab.sent[0].at, Event::Bound6)]);

    // The server does not do rapid commit: it advertises, and the client goes on with SARR.
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &granted(s))],
        MessageType::REQUEST => vec![answer(s, MessageType::REPLY, &granted(s))],
        _ => Vec::new(),
    });
    let mut c = config();
    c.rapid_commit = true;
    let mut lab = Lab::new(c, None, script);
    lab.run_until(5.0);
    assert_eq!(lab.sent_of(MessageType::REQUEST).len(), 1);
    assert!(!lab.sent_of(MessageType::REQUEST)[0].has(code::RAPID_COMMIT));
    assert_eq!(lab.client.state(), State::Bound);

    // A Reply without Rapid Commit answering a Solicit is not a binding (RFC 8415 18.2.1).
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT => vec![answer(s, MessageType::REPLY, &granted(s))],
        _ => Vec::new(),
    });
    let mut c = config();
    c.rapid_commit = true;
    let mut lab = Lab::new(c, None, script);
    lab.run_until(5.0);
    assert_eq!(lab.client.state(), State::Soliciting);
    assert!(lab.client.ignored() >= 1);
}

#[test]
fn request_retransmits_ten_times_then_solicits_again() {
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &granted(s))],
        _ => Vec::new(),
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(400.0);
    let first = lab.sent_of(MessageType::REQUEST)[0].message.xid;
    let r: Vec<Sent> = lab
        .sent_of(MessageType::REQUEST)
        .into_iter()
        .filter(|s| s.message.xid == first)
        .collect();
    // REQ_MAX_RC 10, REQ_TIMEOUT 1 s, REQ_MAX_RT 30 s; all one transaction.
    assert_eq!(r.len(), 10);
    let times: Vec<f64> = r.iter().map(|s| s.at).collect();
    assert_backoff(&times, 1.0, 30.0, false);
    assert!(r.iter().all(|m| m.message.xid == r[0].message.xid));
    // After the tenth, one more RT, then a new Solicit.
    let solicits = lab.sent_of(MessageType::SOLICIT);
    assert!(solicits.len() >= 2);
    assert!(solicits[1].at > times[9] + 27.0 && solicits[1].at <= times[9] + 33.0 + 1.0);
}

#[test]
fn a_request_reply_with_not_on_link_or_no_addresses_is_not_a_binding() {
    // NotOnLink in the IA: the client solicits again (RFC 8415 18.2.10.1).
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &granted(s))],
        MessageType::REQUEST => vec![answer(
            s,
            MessageType::REPLY,
            &[(
                code::IA_NA,
                ia(IAID, 0, 0, &[option(code::STATUS_CODE, &status(4, "off"))]),
            )],
        )],
        _ => Vec::new(),
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(4.0);
    let solicits = lab.sent_of(MessageType::SOLICIT);
    let request = &lab.sent_of(MessageType::REQUEST)[0];
    assert!(solicits.len() >= 2);
    // SOL_MAX_DELAY after the Reply, no more.
    assert!(solicits[1].at >= request.at && solicits[1].at <= request.at + 1.0);
    assert!(lab.events.is_empty());
    assert!(lab.configured.is_empty());
    assert_eq!(lab.client.state(), State::Soliciting);

    // NoAddrsAvail for the only IA: nothing to get, so configuration only (INFORM6).
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &granted(s))],
        MessageType::REQUEST => vec![answer(
            s,
            MessageType::REPLY,
            &[(
                code::IA_NA,
                ia(IAID, 0, 0, &[option(code::STATUS_CODE, &status(2, "none"))]),
            )],
        )],
        MessageType::INFORMATION_REQUEST => vec![answer(s, MessageType::REPLY, &[])],
        _ => Vec::new(),
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(5.0);
    assert_eq!(lab.event_names(), vec!["INFORM6"]);
    assert!(lab.configured.is_empty());
}

#[test]
fn replies_not_for_this_client_are_ignored() {
    let mut lab = Lab::new(config(), None, silent());
    lab.run_until(0.5);
    lab.run_until(1.0);
    let s = lab.sent_of(MessageType::SOLICIT)[0].clone();
    let good = answer(&s, MessageType::ADVERTISE, &granted(&s));
    let mut wrong_xid = good.clone();
    wrong_xid[3] ^= 1;
    let no_server = {
        let mut m = dhcplab_wire::v6::ClientMessage::new(MessageType::ADVERTISE, s.message.xid);
        m.options
            .push(
                code::CLIENT_ID,
                s.options().get(code::CLIENT_ID).expect("cid").data,
            )
            .expect("push");
        dhcplab_wire::v6::Message::Client(m).encode()
    };
    let other_client = {
        let mut m = dhcplab_wire::v6::ClientMessage::new(MessageType::ADVERTISE, s.message.xid);
        m.options
            .push(code::CLIENT_ID, &[0, 3, 0, 1, 9, 9, 9, 9, 9, 9])
            .and_then(|o| o.push(code::SERVER_ID, &SERVER_DUID))
            .expect("push");
        dhcplab_wire::v6::Message::Client(m).encode()
    };
    for (i, bad) in [
        wrong_xid,
        no_server,
        other_client,
        vec![2, 0],
        good[..9].to_vec(),
    ]
    .iter()
    .enumerate()
    {
        lab.client.handle_datagram(at(s.at + 0.01), bad);
        assert_eq!(lab.client.ignored(), i as u64 + 1);
    }
    lab.drain();
    assert_eq!(lab.client.state(), State::Soliciting);
    // The good one still works afterwards.
    lab.client.handle_datagram(at(s.at + 0.02), &good);
    lab.run_until(s.at + 1.2);
    assert_eq!(lab.sent_of(MessageType::REQUEST).len(), 1);
}

#[test]
fn without_a_duid_the_client_makes_a_duid_llt_and_asks_to_keep_it() {
    let mut c = Config::new(MAC);
    c.duid = None;
    let lab = Lab::new(c, None, silent());
    let want = duid_llt(MAC, t0());
    assert_eq!(lab.duid_saved, Some(want.clone()));
    // DUID-LLT time counts seconds from 2000-01-01 UTC (RFC 8415 11.2).
    assert_eq!(
        want,
        Duid::Llt {
            htype: 1,
            time: 1_800_000_000 - 946_684_800,
            addr: MAC.to_vec()
        }
    );
    let client = Client::new(Config::new(MAC), 1, None, t0());
    assert_eq!(client.duid(), &want.to_bytes()[..]);
    // The default IAID comes from the interface: the hardware address's last four bytes.
    assert_eq!(Config::new(MAC).na_iaids, vec![IAID]);
    assert_eq!(dhcplab_client6::default_iaid(MAC), IAID);
}

#[test]
fn sol_max_rt_from_the_server_caps_later_solicits() {
    // The first Solicit gets an Advertise with no addresses but SOL_MAX_RT 60 (RFC 8415
    // 18.2.9: taken even from such an Advertise); the Information-request's Reply sets the
    // refresh to 600 s; from then on the server is silent.
    let script: Script = Box::new(|s: &Sent| match s.kind() {
        MessageType::SOLICIT if s.elapsed() == 0 && s.at < 2.0 => vec![answer(
            s,
            MessageType::ADVERTISE,
            &[
                (code::STATUS_CODE, status(2, "none")),
                (code::SOL_MAX_RT, 60u32.to_be_bytes().to_vec()),
            ],
        )],
        MessageType::INFORMATION_REQUEST => vec![answer(
            s,
            MessageType::REPLY,
            &[(
                code::INFORMATION_REFRESH_TIME,
                600u32.to_be_bytes().to_vec(),
            )],
        )],
        _ => Vec::new(),
    });
    let mut lab = Lab::new(config(), None, script);
    lab.run_until(2000.0);
    let later: Vec<f64> = lab
        .sent_of(MessageType::SOLICIT)
        .iter()
        .skip(1)
        .map(|s| s.at)
        .collect();
    assert!(later[0] >= 600.0 && later[0] <= 604.0, "{}", later[0]);
    assert_backoff(&later, 1.0, 60.0, true);
    assert!(later.windows(2).any(|w| w[1] - w[0] >= 54.0));
}
