//! The DHCPv6 core driven through its public API with crafted client messages, each reply
//! checked in full: type, identifiers, IAs, addresses and prefixes, lifetimes, T1/T2, status
//! codes, relay wrapping.

mod common;

use common::*;
use dhcplab_kea_config::dhcp6::Identifier6;
use dhcplab_server6::{Action, LeaseType};
use dhcplab_wire::v6::{Message, MessageType, code};
use std::net::SocketAddrV6;

const SOLICIT: MessageType = MessageType::SOLICIT;
const REQUEST: MessageType = MessageType::REQUEST;
const RENEW: MessageType = MessageType::RENEW;
const REBIND: MessageType = MessageType::REBIND;

/// The option codes of a message, in wire order.
fn codes(m: &Message) -> Vec<u16> {
    m.options().iter().map(|o| o.code).collect()
}

#[test]
fn solicit_is_advertised_from_the_pool_and_nothing_is_stored() {
    let mut s = server(config());
    let actions = send(
        &mut s,
        at(0),
        1,
        &msg(SOLICIT, 1, &[(code::IA_NA, ia(7, &[]))]),
    );
    assert!(rows(&actions).is_empty(), "an Advertise stores nothing");
    let t = transmits(&actions);
    assert_eq!(t.len(), 1);
    // RFC 8415 18.3.9 / Kea: to the client's address at port 546, from our link-local.
    assert_eq!(t[0].destination, SocketAddrV6::new(client_ll(1), 546, 0, 0));
    assert_eq!(t[0].source, SocketAddrV6::new(ip("fe80::1"), 547, 0, 0));
    let m = Message::decode(&t[0].payload).expect("decodes");
    assert_eq!(m.msg_type(), MessageType::ADVERTISE);
    let Message::Client(c) = &m else {
        panic!("a client message")
    };
    assert_eq!(c.xid, 0x1001);
    // Kea writes options in code order: client-id, server-id, IA_NA.
    assert_eq!(
        codes(&m),
        vec![code::CLIENT_ID, code::SERVER_ID, code::IA_NA]
    );
    assert_eq!(
        m.options().get(code::CLIENT_ID).expect("client id").data,
        duid(1)
    );
    assert_eq!(
        m.options().get(code::SERVER_ID).expect("server id").data,
        server_duid()
    );
    let ias = ia_nas(&m);
    assert_eq!((ias[0].iaid, ias[0].t1, ias[0].t2), (7, 1000, 2000));
    assert_eq!(
        addresses(&ias[0]),
        vec![(ip("2001:db8:1::100"), 3000, 4000)]
    );
    assert_eq!(status(ias[0].options.status_code().expect("ok")), None);
    assert_eq!(s.leases(), vec![]);
}

#[test]
fn request_commits_the_lease_and_its_row_goes_before_the_reply() {
    let mut s = server(config());
    let actions = send(
        &mut s,
        at(5),
        1,
        &msg(
            REQUEST,
            1,
            &[sid(), (code::IA_NA, ia(7, &[iaaddr("2001:db8:1::100")]))],
        ),
    );
    assert!(matches!(actions[0], Action::Persist(_)));
    assert!(matches!(actions[1], Action::Transmit(_)));
    let m = reply(&actions);
    assert_eq!(m.msg_type(), MessageType::REPLY);
    assert_eq!(
        addresses(&ia_nas(&m)[0]),
        vec![(ip("2001:db8:1::100"), 3000, 4000)]
    );
    let l = s
        .lease(LeaseType::Na, ip("2001:db8:1::100"))
        .expect("stored");
    assert_eq!(l.duid, duid(1));
    assert_eq!((l.iaid, l.subnet_id, l.prefix_len), (7, 1, 128));
    assert_eq!((l.preferred_lifetime, l.valid_lifetime), (3000, 4000));
    assert_eq!(l.expire, common::T0 + 5 + 4000);
    // Kea's getMAC: the hardware address comes from the DUID-LL.
    let hw = l.hwaddr.expect("hardware address");
    assert_eq!(hw.bytes, vec![2, 0, 0, 0, 0, 1]);
    assert_eq!(hw.source, dhcplab_memfile::HWADDR_SOURCE_DUID);
    assert_eq!(
        rows(&actions),
        vec![
            s.lease(LeaseType::Na, ip("2001:db8:1::100"))
                .expect("stored")
        ]
    );
}

#[test]
fn rapid_commit_is_honoured_only_when_the_subnet_allows_it() {
    // RFC 8415 18.3.1 and Kea's processSolicit: Reply with Rapid Commit, leases committed.
    let mut cfg = config();
    cfg.subnets[0].rapid_commit = Some(true);
    let mut s = server(cfg);
    let solicit = msg(
        SOLICIT,
        1,
        &[(code::RAPID_COMMIT, vec![]), (code::IA_NA, ia(1, &[]))],
    );
    let actions = send(&mut s, at(0), 1, &solicit);
    let m = reply(&actions);
    assert_eq!(m.msg_type(), MessageType::REPLY);
    assert_eq!(
        codes(&m),
        vec![
            code::CLIENT_ID,
            code::SERVER_ID,
            code::IA_NA,
            code::RAPID_COMMIT
        ]
    );
    assert_eq!(rows(&actions).len(), 1);
    assert!(s.lease(LeaseType::Na, ip("2001:db8:1::100")).is_some());

    // Off (the default): an Advertise without Rapid Commit, nothing stored.
    let mut s = server(config());
    let actions = send(&mut s, at(0), 1, &solicit);
    let m = reply(&actions);
    assert_eq!(m.msg_type(), MessageType::ADVERTISE);
    assert!(m.options().get(code::RAPID_COMMIT).is_none());
    assert!(rows(&actions).is_empty());
}

#[test]
fn tee_times_are_computed_from_the_preferred_lifetime_when_not_configured() {
    // Kea 2.2's setTeeTimes: calculate-tee-times defaults to true for DHCPv6, 0.5 and 0.8.
    let mut cfg = config();
    cfg.timers.base.renew_timer = None;
    cfg.timers.base.rebind_timer = None;
    let mut s = server(cfg);
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(SOLICIT, 1, &[(code::IA_NA, ia(1, &[]))]),
    )
    .expect("Advertise");
    let i = &ia_nas(&m)[0];
    assert_eq!((i.t1, i.t2), (1500, 2400));

    // Off, with a renew-timer not below T2 (0): T1 is 0 too.
    let mut cfg = config();
    cfg.timers.base.rebind_timer = None;
    cfg.timers.base.calculate_tee_times = Some(false);
    let mut s = server(cfg);
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(SOLICIT, 1, &[(code::IA_NA, ia(1, &[]))]),
    )
    .expect("Advertise");
    let i = &ia_nas(&m)[0];
    assert_eq!((i.t1, i.t2), (0, 0));
}

#[test]
fn several_ias_get_distinct_addresses_and_a_prefix() {
    let mut s = server(config());
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(
            REQUEST,
            1,
            &[
                sid(),
                (code::IA_PD, ia(9, &[])),
                (code::IA_NA, ia(1, &[])),
                (code::IA_NA, ia(2, &[])),
            ],
        ),
    )
    .expect("Reply");
    // IA_NAs first (code 3), then the IA_PD (25), whatever the query's order.
    assert_eq!(
        codes(&m),
        vec![
            code::CLIENT_ID,
            code::SERVER_ID,
            code::IA_NA,
            code::IA_NA,
            code::IA_PD
        ]
    );
    let nas = ia_nas(&m);
    assert_eq!(addresses(&nas[0])[0].0, ip("2001:db8:1::100"));
    assert_eq!(addresses(&nas[1])[0].0, ip("2001:db8:1::101"));
    let pds = ia_pds(&m);
    assert_eq!((pds[0].iaid, pds[0].t1, pds[0].t2), (9, 1000, 2000));
    assert_eq!(
        prefixes(&pds[0]),
        vec![(ip("2001:db8:8000::"), 56, 3000, 4000)]
    );
    let l = s
        .lease(LeaseType::Pd, ip("2001:db8:8000::"))
        .expect("stored");
    assert_eq!((l.prefix_len, l.iaid), (56, 9));
    assert_eq!(s.leases().len(), 3);
}

#[test]
fn hints_are_taken_when_free_and_in_a_pool() {
    let mut s = server(config());
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(
            SOLICIT,
            1,
            &[
                (code::IA_NA, ia(1, &[iaaddr("2001:db8:1::1a0")])),
                (code::IA_NA, ia(2, &[iaaddr("2001:db8:99::1")])),
                (code::IA_PD, ia(3, &[iaprefix("2001:db8:8000:4200::/56")])),
            ],
        ),
    )
    .expect("Advertise");
    let nas = ia_nas(&m);
    assert_eq!(addresses(&nas[0])[0].0, ip("2001:db8:1::1a0"));
    // Outside every pool: the next free address instead.
    assert_eq!(addresses(&nas[1])[0].0, ip("2001:db8:1::100"));
    assert_eq!(prefixes(&ia_pds(&m)[0])[0].0, ip("2001:db8:8000:4200::"));
}

#[test]
fn exhausted_pools_answer_no_addrs_avail_and_no_prefix_avail() {
    let mut cfg = config();
    cfg.subnets[0].pools[0].last = ip("2001:db8:1::100");
    cfg.subnets[0].pd_pools[0].prefix = prefix("2001:db8:8000::/56");
    let mut s = server(cfg);
    let first = exchange(
        &mut s,
        at(0),
        1,
        &msg(
            REQUEST,
            1,
            &[sid(), (code::IA_NA, ia(1, &[])), (code::IA_PD, ia(2, &[]))],
        ),
    )
    .expect("Reply");
    assert_eq!(addresses(&ia_nas(&first)[0]).len(), 1);
    let m = exchange(
        &mut s,
        at(1),
        2,
        &msg(
            SOLICIT,
            2,
            &[(code::IA_NA, ia(1, &[])), (code::IA_PD, ia(2, &[]))],
        ),
    )
    .expect("Advertise");
    let na = &ia_nas(&m)[0];
    assert_eq!((na.t1, na.t2), (0, 0));
    assert!(addresses(na).is_empty());
    assert_eq!(
        status(na.options.status_code().expect("ok")),
        Some((2, "Sorry, no address could be allocated.".into()))
    );
    let pd = &ia_pds(&m)[0];
    assert_eq!(
        status(pd.options.status_code().expect("ok")),
        Some((6, "Sorry, no prefixes could be allocated.".into()))
    );
}

#[test]
fn no_subnet_for_the_client_gives_status_codes_in_each_ia() {
    let mut cfg = config();
    cfg.subnets[0].interface = Some("eth9".into());
    let mut s = server(cfg);
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(
            SOLICIT,
            1,
            &[(code::IA_NA, ia(1, &[])), (code::IA_PD, ia(2, &[]))],
        ),
    )
    .expect("Advertise");
    assert_eq!(
        status(ia_nas(&m)[0].options.status_code().expect("ok")),
        Some((2, "Server could not select subnet for this client".into()))
    );
    assert_eq!(
        status(ia_pds(&m)[0].options.status_code().expect("ok")),
        Some((6, "Sorry, no subnet available.".into()))
    );
}

#[test]
fn renew_extends_the_binding_and_lists_foreign_addresses_with_zero_lifetimes() {
    let mut s = server(config());
    let a = bind(&mut s, at(0), 1);
    // Kea's extendIA_NA: the lease is extended; the other address the client sent is not
    // its own, so it comes back with lifetimes 0.
    let actions = send(
        &mut s,
        at(1000),
        1,
        &msg(
            RENEW,
            1,
            &[
                sid(),
                (
                    code::IA_NA,
                    ia(1, &[iaaddr(&a.to_string()), iaaddr("2001:db8:1::1f0")]),
                ),
            ],
        ),
    );
    assert_eq!(rows(&actions).len(), 1);
    let m = reply(&actions);
    assert_eq!(m.msg_type(), MessageType::REPLY);
    let i = &ia_nas(&m)[0];
    assert_eq!((i.t1, i.t2), (1000, 2000));
    assert_eq!(
        addresses(i),
        vec![(a, 3000, 4000), (ip("2001:db8:1::1f0"), 0, 0)]
    );
    assert_eq!(
        s.lease(LeaseType::Na, a).expect("lease").expire,
        common::T0 + 1000 + 4000
    );
}

#[test]
fn renew_of_an_unknown_binding_allocates_as_kea_does() {
    // RFC 8415 18.3.4 lets the server create a binding; Kea's renewLeases6 does, taking the
    // client's address when it is free.
    let mut s = server(config());
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(
            RENEW,
            1,
            &[sid(), (code::IA_NA, ia(4, &[iaaddr("2001:db8:1::150")]))],
        ),
    )
    .expect("Reply");
    assert_eq!(
        addresses(&ia_nas(&m)[0]),
        vec![(ip("2001:db8:1::150"), 3000, 4000)]
    );
    // Another client's address is not given: a new one, and the asked one with lifetimes 0.
    let m = exchange(
        &mut s,
        at(1),
        2,
        &msg(
            RENEW,
            2,
            &[sid(), (code::IA_NA, ia(4, &[iaaddr("2001:db8:1::150")]))],
        ),
    )
    .expect("Reply");
    assert_eq!(
        addresses(&ia_nas(&m)[0]),
        vec![
            (ip("2001:db8:1::100"), 3000, 4000),
            (ip("2001:db8:1::150"), 0, 0)
        ]
    );
}

#[test]
fn a_lease_outside_the_pools_after_reconfiguration_is_given_up_on_rebind() {
    let mut s = server(config());
    let a = bind(&mut s, at(0), 1);
    let mut cfg = config();
    cfg.subnets[0].pools[0].first = ip("2001:db8:1::300");
    cfg.subnets[0].pools[0].last = ip("2001:db8:1::3ff");
    s.reconfigure(at(10), cfg, serde_json::json!({}))
        .expect("reconfigured");
    let actions = send(
        &mut s,
        at(20),
        1,
        &msg(
            REBIND,
            1,
            &[(code::IA_NA, ia(1, &[iaaddr(&a.to_string())]))],
        ),
    );
    let m = reply(&actions);
    assert_eq!(
        addresses(&ia_nas(&m)[0]),
        vec![(ip("2001:db8:1::300"), 3000, 4000), (a, 0, 0)]
    );
    let r = rows(&actions);
    assert_eq!(
        (r[0].address, r[0].valid_lifetime),
        (a, 0),
        "the old lease is deleted"
    );
    assert!(s.lease(LeaseType::Na, a).is_none());
}

#[test]
fn rebind_without_a_subnet_is_no_binding_for_ia_na_and_discarded_for_ia_pd() {
    let mut cfg = config();
    cfg.subnets[0].interface = Some("eth9".into());
    let mut s = server(cfg);
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(
            REBIND,
            1,
            &[(code::IA_NA, ia(1, &[iaaddr("2001:db8:1::100")]))],
        ),
    )
    .expect("Reply");
    assert_eq!(
        status(ia_nas(&m)[0].options.status_code().expect("ok")),
        Some((3, "Sorry, no known leases for this duid/iaid.".into()))
    );
    // Kea's extendIA_PD throws DHCPv6DiscardMessageError for a Rebind it cannot place.
    let none = exchange(
        &mut s,
        at(0),
        1,
        &msg(
            REBIND,
            1,
            &[(code::IA_PD, ia(1, &[iaprefix("2001:db8:8000::/56")]))],
        ),
    );
    assert!(none.is_none());
    let renew = exchange(
        &mut s,
        at(0),
        1,
        &msg(
            RENEW,
            1,
            &[
                sid(),
                (code::IA_PD, ia(1, &[iaprefix("2001:db8:8000::/56")])),
            ],
        ),
    )
    .expect("Reply");
    assert_eq!(
        status(ia_pds(&renew)[0].options.status_code().expect("ok")),
        Some((3, "Sorry, no known PD leases for this duid/iaid.".into()))
    );
}

#[test]
fn release_deletes_the_lease_and_sums_up_per_ia_and_overall() {
    let mut s = server(config());
    let a = bind(&mut s, at(0), 1);
    let actions = send(
        &mut s,
        at(10),
        1,
        &msg(
            MessageType::RELEASE,
            1,
            &[
                sid(),
                (code::IA_NA, ia(1, &[iaaddr(&a.to_string())])),
                (code::IA_NA, ia(2, &[iaaddr("2001:db8:1::1ee")])),
            ],
        ),
    );
    let r = rows(&actions);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].address, r[0].valid_lifetime, r[0].expire),
        (a, 0, common::T0)
    );
    assert!(s.lease(LeaseType::Na, a).is_none());
    let m = reply(&actions);
    let ias = ia_nas(&m);
    assert_eq!(
        status(ias[0].options.status_code().expect("ok")),
        Some((0, "Lease released. Thank you, please come again.".into()))
    );
    assert_eq!(
        status(ias[1].options.status_code().expect("ok")),
        Some((
            3,
            "Sorry, no known leases for this duid/iaid, can't release.".into()
        ))
    );
    // One IA failed: the message's status is NoBinding.
    assert_eq!(
        status(m.options().status_code().expect("ok")),
        Some((3, "Summary status for all processed IA_NAs".into()))
    );
}

#[test]
fn release_of_another_clients_address_is_refused() {
    let mut s = server(config());
    let a = bind(&mut s, at(0), 1);
    let m = exchange(
        &mut s,
        at(1),
        2,
        &msg(
            MessageType::RELEASE,
            2,
            &[sid(), (code::IA_NA, ia(1, &[iaaddr(&a.to_string())]))],
        ),
    )
    .expect("Reply");
    assert_eq!(
        status(ia_nas(&m)[0].options.status_code().expect("ok")),
        Some((
            3,
            "This address does not belong to you, you can't release it".into()
        ))
    );
    assert!(s.lease(LeaseType::Na, a).is_some());
}

#[test]
fn decline_puts_the_address_in_probation_and_the_next_client_gets_another() {
    let mut s = server(config());
    let a = bind(&mut s, at(0), 1);
    let actions = send(
        &mut s,
        at(10),
        1,
        &msg(
            MessageType::DECLINE,
            1,
            &[sid(), (code::IA_NA, ia(1, &[iaaddr(&a.to_string())]))],
        ),
    );
    let m = reply(&actions);
    assert_eq!(
        codes(&m),
        vec![code::CLIENT_ID, code::SERVER_ID, code::IA_NA]
    );
    assert_eq!(
        status(ia_nas(&m)[0].options.status_code().expect("ok")),
        Some((
            0,
            "Lease declined. Hopefully the next one will be better.".into()
        ))
    );
    // Kea's Lease6::decline: empty DUID (one zero byte), no hardware address, preferred 0,
    // valid the probation period.
    let l = s.lease(LeaseType::Na, a).expect("kept");
    assert_eq!(
        (l.state, l.duid.clone(), l.hwaddr.clone()),
        (1, vec![0], None)
    );
    assert_eq!((l.preferred_lifetime, l.valid_lifetime), (0, 86400));
    assert_eq!(l.expire, common::T0 + 10 + 86400);
    assert_eq!(rows(&actions), vec![l]);
    let other = bind(&mut s, at(20), 2);
    assert_ne!(other, a);
    assert_eq!(s.statistic("subnet[1].declined-addresses"), Some(1));
}

#[test]
fn confirm_answers_on_link_not_on_link_or_nothing() {
    let mut s = server(config());
    let confirm = |addrs: &[&str]| {
        let inner: Vec<_> = addrs.iter().map(|a| iaaddr(a)).collect();
        msg(MessageType::CONFIRM, 1, &[(code::IA_NA, ia(1, &inner))])
    };
    let m = exchange(&mut s, at(0), 1, &confirm(&["2001:db8:1::1234"])).expect("Reply");
    assert_eq!(m.msg_type(), MessageType::REPLY);
    assert_eq!(
        status(m.options().status_code().expect("ok")),
        Some((0, "All addresses are on-link".into()))
    );
    assert!(ia_nas(&m).is_empty(), "Kea's Confirm reply holds no IA");
    let m = exchange(
        &mut s,
        at(0),
        1,
        &confirm(&["2001:db8:1::5", "2001:db8:2::5"]),
    )
    .expect("Reply");
    assert_eq!(
        status(m.options().status_code().expect("ok")),
        Some((4, "Address 2001:db8:2::5 is not on link.".into()))
    );
    // RFC 8415 18.3.3: no addresses, no reply.
    assert!(exchange(&mut s, at(0), 1, &confirm(&[])).is_none());
    // Processed without an answer: Kea counts no drop.
    assert_eq!(s.statistic("pkt6-receive-drop"), Some(0));
    let mut cfg = config();
    cfg.subnets[0].interface = None;
    let mut s = server(cfg);
    let m = exchange(&mut s, at(0), 1, &confirm(&["2001:db8:1::5"])).expect("Reply");
    assert_eq!(
        status(m.options().status_code().expect("ok")),
        Some((4, "No subnet selected".into()))
    );
}

#[test]
fn information_request_gets_options_only_and_must_be_multicast() {
    let mut cfg = config();
    let dns = ip("2001:db8::53").octets().to_vec();
    cfg.option_data = vec![option(code::DNS_SERVERS, &dns, false)];
    let mut s = server(cfg);
    let mut ireq = dhcplab_wire::v6::ClientMessage::new(MessageType::INFORMATION_REQUEST, 9);
    ireq.options.push(code::ORO, &[0, 23, 0, 24]).expect("fits");
    let bytes = Message::Client(ireq).encode();
    let m = exchange(&mut s, at(0), 1, &bytes).expect("Reply");
    assert_eq!(m.msg_type(), MessageType::REPLY);
    // No client identifier sent, none back; the domain list (24) is not configured.
    assert_eq!(codes(&m), vec![code::SERVER_ID, code::DNS_SERVERS]);
    assert_eq!(
        m.options().dns_servers().expect("ok"),
        Some(vec![ip("2001:db8::53")])
    );
    // Kea's testUnicast: an Information-request to our unicast address is dropped.
    let actions = deliver(
        &mut s,
        at(1),
        SocketAddrV6::new(ip("2001:db8:1::77"), 546, 0, 0),
        ip("2001:db8:1::1"),
        &bytes,
    );
    assert!(actions.is_empty());
}

#[test]
fn unicast_request_is_answered_from_the_address_it_was_sent_to() {
    let mut s = server(config());
    let actions = deliver(
        &mut s,
        at(0),
        SocketAddrV6::new(ip("2001:db8:1::77"), 546, 0, 0),
        ip("2001:db8:1::1"),
        &msg(REQUEST, 1, &[sid(), (code::IA_NA, ia(1, &[]))]),
    );
    let t = transmits(&actions);
    // Kea accepts unicast Requests (it never sends UseMulticast, RFC 8415 18.4 lets it).
    assert_eq!(
        t[0].source,
        SocketAddrV6::new(ip("2001:db8:1::1"), 547, 0, 0)
    );
    assert_eq!(
        t[0].destination,
        SocketAddrV6::new(ip("2001:db8:1::77"), 546, 0, 0)
    );
}

#[test]
fn server_identifier_and_client_identifier_checks_drop_as_kea_does() {
    let mut s = server(config());
    let other = (code::SERVER_ID, vec![0, 2, 0, 0, 0, 9, 1, 2, 3]);
    let ia1 = (code::IA_NA, ia(1, &[]));
    // testServerID: someone else's server identifier.
    assert!(
        exchange(
            &mut s,
            at(0),
            1,
            &msg(REQUEST, 1, &[other.clone(), ia1.clone()])
        )
        .is_none()
    );
    assert!(
        exchange(
            &mut s,
            at(0),
            1,
            &msg(MessageType::INFORMATION_REQUEST, 1, &[other])
        )
        .is_none()
    );
    // sanityCheck: Request without one, Solicit with ours.
    assert!(
        exchange(
            &mut s,
            at(0),
            1,
            &msg(REQUEST, 1, std::slice::from_ref(&ia1))
        )
        .is_none()
    );
    assert!(exchange(&mut s, at(0), 1, &msg(SOLICIT, 1, &[sid(), ia1.clone()])).is_none());
    // No client identifier.
    let mut bare = dhcplab_wire::v6::ClientMessage::new(SOLICIT, 1);
    bare.options.push(code::IA_NA, &ia(1, &[])).expect("fits");
    assert!(exchange(&mut s, at(0), 1, &Message::Client(bare).encode()).is_none());
    // Two client identifiers.
    assert!(
        exchange(
            &mut s,
            at(0),
            1,
            &msg(SOLICIT, 1, &[(code::CLIENT_ID, duid(2)), ia1.clone()])
        )
        .is_none()
    );
    // A server's own message type.
    assert!(exchange(&mut s, at(0), 1, &msg(MessageType::ADVERTISE, 1, &[ia1])).is_none());
    assert_eq!(s.statistic("pkt6-receive-drop"), Some(7));
    assert_eq!(s.statistic("pkt6-advertise-received"), Some(1));
    assert_eq!(s.statistic("pkt6-sent"), Some(0));
}

#[test]
fn relayed_solicit_is_answered_through_the_relay_with_its_interface_id() {
    let mut cfg = config();
    let mut s2 = subnet1();
    s2.id = 2;
    s2.prefix = prefix("2001:db8:2::/64");
    s2.pools[0].first = ip("2001:db8:2::100");
    s2.pools[0].last = ip("2001:db8:2::1ff");
    s2.pd_pools.clear();
    s2.interface = None;
    s2.interface_id = Some(b"port-7".to_vec());
    cfg.subnets.push(s2);
    let mut s = server(cfg);
    let inner = msg(SOLICIT, 1, &[(code::IA_NA, ia(1, &[]))]);
    // The link-address names subnet 1's link, but the Interface-Id wins (Kea).
    let forw = relay(
        &inner,
        0,
        "2001:db8:1::ff",
        "fe80::1:1",
        &[(code::INTERFACE_ID, b"port-7".to_vec())],
    );
    let actions = deliver(
        &mut s,
        at(0),
        SocketAddrV6::new(ip("2001:db8:1::ff"), 547, 0, 0),
        ip("2001:db8:1::1"),
        &forw,
    );
    let t = transmits(&actions);
    assert_eq!(
        t[0].destination,
        SocketAddrV6::new(ip("2001:db8:1::ff"), 547, 0, 0)
    );
    let m = Message::decode(&t[0].payload).expect("decodes");
    let Message::Relay(r) = &m else {
        panic!("a Relay-repl")
    };
    assert_eq!(r.msg_type, MessageType::RELAY_REPL);
    assert_eq!(
        (r.hop_count, r.link_address, r.peer_address),
        (0, ip("2001:db8:1::ff"), ip("fe80::1:1"))
    );
    assert_eq!(codes(&m), vec![code::INTERFACE_ID, code::RELAY_MSG]);
    assert_eq!(m.options().interface_id(), Some(&b"port-7"[..]));
    let adv = m.innermost().expect("inner");
    assert_eq!(adv.msg_type(), MessageType::ADVERTISE);
    assert_eq!(addresses(&ia_nas(&adv)[0])[0].0, ip("2001:db8:2::100"));
    // A relay that gives no usable link-address (unspecified) makes Kea place the query as
    // a direct one, by the receiving interface (eth0: subnet 1); the Interface-Id is unused.
    let forw = relay(
        &inner,
        0,
        "::",
        "fe80::1:1",
        &[(code::INTERFACE_ID, b"port-7".to_vec())],
    );
    let actions = deliver(
        &mut s,
        at(0),
        SocketAddrV6::new(ip("fe80::ff"), 547, 0, 0),
        ip("fe80::1"),
        &forw,
    );
    let adv = reply(&actions).innermost().expect("inner");
    assert_eq!(addresses(&ia_nas(&adv)[0])[0].0, ip("2001:db8:1::100"));
}

#[test]
fn double_relay_is_answered_with_two_layers_and_selected_by_the_inner_link_address() {
    let mut cfg = config();
    cfg.subnets[0].interface = None;
    let mut s2 = subnet1();
    s2.id = 2;
    s2.prefix = prefix("2001:db8:2::/64");
    s2.pools[0].first = ip("2001:db8:2::100");
    s2.pools[0].last = ip("2001:db8:2::1ff");
    s2.pd_pools.clear();
    s2.interface = None;
    cfg.subnets.push(s2);
    let mut s = server(cfg);
    let inner = msg(REQUEST, 1, &[sid(), (code::IA_NA, ia(1, &[]))]);
    // The relay next to the client is on 2001:db8:2::/64; the second relay's link is
    // subnet 1's: the one nearest the client counts (Kea's initSelector).
    let first = relay(
        &inner,
        0,
        "2001:db8:2::1",
        "fe80::99",
        &[(code::INTERFACE_ID, b"a".to_vec())],
    );
    let second = relay(&first, 1, "2001:db8:1::2", "2001:db8:2::1", &[]);
    let actions = deliver(
        &mut s,
        at(0),
        SocketAddrV6::new(ip("2001:db8:1::2"), 547, 0, 0),
        ip("2001:db8:1::1"),
        &second,
    );
    let m = reply(&actions);
    let Message::Relay(outer) = &m else {
        panic!("a Relay-repl")
    };
    assert_eq!(
        (outer.hop_count, outer.link_address),
        (1, ip("2001:db8:1::2"))
    );
    assert!(m.options().interface_id().is_none());
    let mid = m.relayed().expect("ok").expect("inner relay");
    let Message::Relay(mid_r) = &mid else {
        panic!("a second Relay-repl")
    };
    assert_eq!((mid_r.hop_count, mid_r.peer_address), (0, ip("fe80::99")));
    assert_eq!(mid.options().interface_id(), Some(&b"a"[..]));
    let rep = mid.relayed().expect("ok").expect("reply");
    assert_eq!(rep.msg_type(), MessageType::REPLY);
    assert_eq!(addresses(&ia_nas(&rep)[0])[0].0, ip("2001:db8:2::100"));
    assert_eq!(
        s.lease(LeaseType::Na, ip("2001:db8:2::100"))
            .expect("stored")
            .subnet_id,
        2
    );
}

#[test]
fn relay_ip_addresses_select_the_subnet_and_relay_source_port_is_honoured() {
    let mut cfg = config();
    cfg.subnets[0].interface = None;
    cfg.subnets[0].relays = vec![ip("2001:db8:77::1")];
    let mut s = server(cfg);
    let inner = msg(SOLICIT, 1, &[(code::IA_NA, ia(1, &[]))]);
    // RFC 8357 Relay Source Port (135): the reply goes to the relay's source port.
    let forw = relay(&inner, 0, "2001:db8:77::1", "fe80::5", &[(135, vec![0, 0])]);
    let actions = deliver(
        &mut s,
        at(0),
        SocketAddrV6::new(ip("2001:db8:77::1"), 10547, 0, 0),
        ip("2001:db8:1::1"),
        &forw,
    );
    let t = transmits(&actions);
    assert_eq!(t[0].destination.port(), 10547);
    // Kea's copyRelayInfo echoes the option, after Interface-Id (none here).
    let repl = Message::decode(&t[0].payload).expect("ok");
    assert_eq!(codes(&repl), vec![135, code::RELAY_MSG]);
    let adv = Message::decode(&t[0].payload)
        .expect("ok")
        .innermost()
        .expect("inner");
    assert_eq!(addresses(&ia_nas(&adv)[0])[0].0, ip("2001:db8:1::100"));
}

#[test]
fn reservations_by_duid_and_hardware_address() {
    let mut cfg = config();
    cfg.subnets[0].reservations = vec![
        reservation(
            Identifier6::Duid(duid(1)),
            &["2001:db8:1::aa"],
            &["2001:db8:9::/56"],
            vec![],
        ),
        // Client 2's hardware address is in its DUID-LL.
        reservation(
            Identifier6::HwAddress(vec![2, 0, 0, 0, 0, 2]),
            &["2001:db8:1::bb"],
            &[],
            vec![],
        ),
        // Client 3 sends a DUID-EN: only the relay's option 79 shows its hardware address.
        reservation(
            Identifier6::HwAddress(vec![2, 0, 0, 0, 0, 3]),
            &["2001:db8:1::cc"],
            &[],
            vec![],
        ),
    ];
    cfg.subnets[0].relays = vec![ip("2001:db8:1::ff")];
    let mut s = server(cfg);
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(
            SOLICIT,
            1,
            &[(code::IA_NA, ia(1, &[])), (code::IA_PD, ia(2, &[]))],
        ),
    )
    .expect("Advertise");
    assert_eq!(addresses(&ia_nas(&m)[0])[0].0, ip("2001:db8:1::aa"));
    assert_eq!(
        prefixes(&ia_pds(&m)[0])[0],
        (ip("2001:db8:9::"), 56, 3000, 4000)
    );
    let m = exchange(
        &mut s,
        at(0),
        2,
        &msg(SOLICIT, 2, &[(code::IA_NA, ia(1, &[]))]),
    )
    .expect("Advertise");
    assert_eq!(addresses(&ia_nas(&m)[0])[0].0, ip("2001:db8:1::bb"));
    let mut en = dhcplab_wire::v6::ClientMessage::new(SOLICIT, 3);
    en.options
        .push(code::CLIENT_ID, &[0, 2, 0, 0, 0x09, 0xbf, 3, 3, 3])
        .expect("fits");
    en.options.push(code::IA_NA, &ia(1, &[])).expect("fits");
    let forw = relay(
        &Message::Client(en).encode(),
        0,
        "2001:db8:1::ff",
        "fe80::3",
        &[(code::CLIENT_LINKLAYER_ADDR, vec![0, 1, 2, 0, 0, 0, 0, 3])],
    );
    let actions = deliver(
        &mut s,
        at(0),
        SocketAddrV6::new(ip("2001:db8:1::ff"), 547, 0, 0),
        ip("2001:db8:1::1"),
        &forw,
    );
    let adv = reply(&actions).innermost().expect("inner");
    assert_eq!(addresses(&ia_nas(&adv)[0])[0].0, ip("2001:db8:1::cc"));
    // A reserved address is never given to another client as a hint.
    let m = exchange(
        &mut s,
        at(0),
        4,
        &msg(
            SOLICIT,
            4,
            &[(code::IA_NA, ia(1, &[iaaddr("2001:db8:1::aa")]))],
        ),
    )
    .expect("Advertise");
    assert_eq!(addresses(&ia_nas(&m)[0])[0].0, ip("2001:db8:1::100"));
}

#[test]
fn requested_options_come_from_the_most_specific_level_and_always_send_without_asking() {
    let dns = |last: u16| {
        std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)
            .octets()
            .to_vec()
    };
    let mut cfg = config();
    cfg.option_data = vec![
        option(code::DNS_SERVERS, &dns(1), false),
        option(code::PREFERENCE, &[255], true),
    ];
    cfg.subnets[0].option_data = vec![option(code::DNS_SERVERS, &dns(2), false)];
    cfg.subnets[0].pools[0].option_data = vec![option(code::DNS_SERVERS, &dns(3), false)];
    cfg.subnets[0].reservations = vec![reservation(
        Identifier6::Duid(duid(1)),
        &["2001:db8:1::aa"],
        &[],
        vec![option(code::DNS_SERVERS, &dns(4), false)],
    )];
    let mut s = server(cfg);
    let oro = (code::ORO, vec![0, 23]);
    let dns_of = |n: u8, s: &mut dhcplab_server6::Server| {
        let m = exchange(
            s,
            at(0),
            n,
            &msg(SOLICIT, n, &[oro.clone(), (code::IA_NA, ia(1, &[]))]),
        )
        .expect("Advertise");
        assert_eq!(
            m.options().preference().expect("ok"),
            Some(255),
            "always-send"
        );
        m.options().dns_servers().expect("ok").expect("present")[0]
    };
    // Reservation, then the pool of the address given.
    assert_eq!(dns_of(1, &mut s), ip("2001:db8::4"));
    assert_eq!(dns_of(2, &mut s), ip("2001:db8::3"));
    // Not asked for: not sent.
    let m = exchange(
        &mut s,
        at(0),
        5,
        &msg(SOLICIT, 5, &[(code::IA_NA, ia(1, &[]))]),
    )
    .expect("Advertise");
    assert!(m.options().get(code::DNS_SERVERS).is_none());
}

#[test]
fn expired_leases_are_reclaimed_kept_for_affinity_then_flushed() {
    let mut s = server(config());
    let a = bind(&mut s, at(0), 1);
    // reclaim-timer-wait-time 10 s: runs at 10, 20, ...; the lease expires at 4000.
    assert_eq!(s.poll_timeout(), Some(at(10)));
    s.handle_timeout(at(4010));
    let r: Vec<_> = std::iter::from_fn(|| s.poll_action()).collect();
    let r = rows(&r);
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].address, r[0].state), (a, 2));
    assert_eq!(s.statistic("reclaimed-leases"), Some(1));
    // The same client comes back: lease affinity gives it the same address.
    let again = bind(&mut s, at(4020), 1);
    assert_eq!(again, a);
    // A reclaimed lease is flushed after hold-reclaimed-time (3600 s).
    s.handle_timeout(at(20000));
    s.handle_timeout(at(20100));
    let _ = std::iter::from_fn(|| s.poll_action()).count();
    s.handle_timeout(at(30000));
    s.handle_timeout(at(30025));
    let _ = std::iter::from_fn(|| s.poll_action()).count();
    assert!(s.lease(LeaseType::Na, a).is_none());
}

#[test]
fn a_declined_address_returns_after_probation() {
    let mut cfg = config();
    cfg.decline_probation_period = 100;
    let mut s = server(cfg);
    let a = bind(&mut s, at(0), 1);
    let _ = send(
        &mut s,
        at(10),
        1,
        &msg(
            MessageType::DECLINE,
            1,
            &[sid(), (code::IA_NA, ia(1, &[iaaddr(&a.to_string())]))],
        ),
    );
    s.handle_timeout(at(120));
    let actions: Vec<_> = std::iter::from_fn(|| s.poll_action()).collect();
    let r = rows(&actions);
    assert_eq!(
        (r[0].address, r[0].valid_lifetime),
        (a, 0),
        "recovered: deleted"
    );
    assert_eq!(s.statistic("reclaimed-declined-addresses"), Some(1));
    assert!(s.lease(LeaseType::Na, a).is_none());
}

#[test]
fn leases_loaded_at_start_are_renewed() {
    let mut s = server(config());
    let a = bind(&mut s, at(0), 1);
    let leases = s.leases();
    let mut s = server_with(config(), leases);
    let m = exchange(
        &mut s,
        at(500),
        1,
        &msg(
            RENEW,
            1,
            &[sid(), (code::IA_NA, ia(1, &[iaaddr(&a.to_string())]))],
        ),
    )
    .expect("Reply");
    assert_eq!(addresses(&ia_nas(&m)[0]), vec![(a, 3000, 4000)]);
}

#[test]
fn a_new_server_duid_is_handed_to_the_driver_to_keep() {
    let mut s = dhcplab_server6::Server::new(config(), serde_json::json!({}), vec![], None, at(0))
        .expect("starts");
    let Some(Action::WriteServerId(text)) = s.poll_action() else {
        panic!("the DUID file to write")
    };
    assert_eq!(
        dhcplab_kea_config::common::hex(&text).expect("hex"),
        s.server_duid()
    );
    // DUID-LLT, Ethernet, time since 2000-01-01.
    assert_eq!(&s.server_duid()[..4], &[0, 1, 0, 1]);
    let secs = u32::from_be_bytes(s.server_duid()[4..8].try_into().expect("4 bytes"));
    assert_eq!(u64::from(secs), common::T0 - 946_684_800);
}

#[test]
fn malformed_datagrams_are_counted_as_parse_failures() {
    let mut s = server(config());
    for bad in [
        vec![],
        vec![1, 2],
        dhcplab_wire::v6::RawBuilder::new(SOLICIT, 1)
            .option_with_len(1, 40, &[0, 1])
            .build(),
        // An IA_NA too short for its header.
        msg(SOLICIT, 1, &[(code::IA_NA, vec![0, 0, 0, 1])]),
    ] {
        assert!(exchange(&mut s, at(0), 1, &bad).is_none());
    }
    assert_eq!(s.statistic("pkt6-parse-failed"), Some(4));
    assert_eq!(s.statistic("pkt6-receive-drop"), Some(4));
}

#[test]
fn a_kea_configuration_text_drives_the_server() {
    let text = r#"{ "Dhcp6": {
        "interfaces-config": { "interfaces": [ "eth0" ] },
        "preferred-lifetime": 3000, "valid-lifetime": 4000,
        "lease-database": { "type": "memfile", "name": "/nonexistent/leases6.csv", "lfc-interval": 0 },
        "option-data": [ { "name": "dns-servers", "data": "2001:db8::53" } ],
        "subnet6": [ {
            "id": 1, "subnet": "2001:db8:1::/64", "interface": "eth0", "rapid-commit": true,
            "pools": [ { "pool": "2001:db8:1::100-2001:db8:1::1ff" } ],
            "pd-pools": [ { "prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56 } ],
            "reservations": [ { "duid": "00:03:00:01:02:00:00:00:00:07", "ip-addresses": [ "2001:db8:1::77" ],
                                "hostname": "seven" } ]
        } ]
    } }"#;
    let (cfg, json) =
        dhcplab_kea_config::dhcp6::parse_document(text).expect("Kea's language reads");
    let mut s = dhcplab_server6::Server::new(cfg, json, vec![], Some(SERVER_ID_FILE), at(0))
        .expect("starts");
    s.attach(eth0());
    let m = exchange(
        &mut s,
        at(0),
        7,
        &msg(
            SOLICIT,
            7,
            &[
                (code::RAPID_COMMIT, vec![]),
                (code::ORO, vec![0, 23]),
                (code::IA_NA, ia(1, &[])),
                (code::IA_PD, ia(2, &[])),
            ],
        ),
    )
    .expect("Reply");
    assert_eq!(m.msg_type(), MessageType::REPLY);
    // Kea 2.2's defaults: calculate-tee-times on, T1 = 0.5 and T2 = 0.8 of 3000 s.
    let na = &ia_nas(&m)[0];
    assert_eq!((na.t1, na.t2), (1500, 2400));
    assert_eq!(addresses(na), vec![(ip("2001:db8:1::77"), 3000, 4000)]);
    assert_eq!(
        prefixes(&ia_pds(&m)[0])[0],
        (ip("2001:db8:8000::"), 56, 3000, 4000)
    );
    assert_eq!(
        m.options().dns_servers().expect("ok"),
        Some(vec![ip("2001:db8::53")])
    );
    // The reservation's host name goes into the lease (no Client FQDN option sent).
    let l = s
        .lease(LeaseType::Na, ip("2001:db8:1::77"))
        .expect("committed");
    assert_eq!(l.hostname, "seven");
    let answer = s.handle_command(at(1), r#"{"command": "config-get"}"#);
    let dhcplab_server6::CommandOutcome::Answer(a) = answer else {
        panic!("an answer")
    };
    assert_eq!(a["arguments"]["Dhcp6"]["subnet6"][0]["id"], 1);
}

#[test]
fn hardware_addresses_come_from_the_relays_as_kea_finds_them() {
    // Kea's Pkt::getMAC order: the DUID, the EUI-64 of a link-local address (here the peer
    // address of the relay next to the client), option 79, Remote-Id, a CMTS's CM MAC.
    let mut cfg = config();
    cfg.subnets[0].interface = None;
    cfg.subnets[0].reservations = vec![
        reservation(
            Identifier6::HwAddress(vec![0x00, 0x11, 0x22, 0x33, 0x44, 0x55]),
            &["2001:db8:1::e1"],
            &[],
            vec![],
        ),
        reservation(
            Identifier6::HwAddress(vec![0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01]),
            &["2001:db8:1::e2"],
            &[],
            vec![],
        ),
        reservation(
            Identifier6::HwAddress(vec![0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02]),
            &["2001:db8:1::e3"],
            &[],
            vec![],
        ),
    ];
    let mut s = server(cfg);
    let en_solicit = |n: u8| {
        let mut m = dhcplab_wire::v6::ClientMessage::new(SOLICIT, u32::from(n));
        m.options
            .push(code::CLIENT_ID, &[0, 2, 0, 0, 0x09, 0xbf, n, n])
            .expect("fits");
        m.options.push(code::IA_NA, &ia(1, &[])).expect("fits");
        Message::Client(m).encode()
    };
    let through =
        |s: &mut dhcplab_server6::Server, inner: Vec<u8>, peer: &str, opts: &[(u16, Vec<u8>)]| {
            let forw = relay(&inner, 0, "2001:db8:1::ff", peer, opts);
            let actions = deliver(
                s,
                at(0),
                SocketAddrV6::new(ip("2001:db8:1::ff"), 547, 0, 0),
                ip("2001:db8:1::1"),
                &forw,
            );
            let adv = reply(&actions).innermost().expect("inner");
            addresses(&ia_nas(&adv)[0])[0].0
        };
    // EUI-64 peer address fe80::211:22ff:fe33:4455 is MAC 00:11:22:33:44:55 (u bit flipped
    // back); fe80::11:22ff:fe33:4455, with the u bit clear, is no EUI-64 to Kea.
    assert_eq!(
        through(&mut s, en_solicit(1), "fe80::211:22ff:fe33:4455", &[]),
        ip("2001:db8:1::e1")
    );
    assert_eq!(
        through(&mut s, en_solicit(4), "fe80::11:22ff:fe33:4455", &[]),
        ip("2001:db8:1::100")
    );
    // Remote-Id: enterprise number, then the address.
    let rid = vec![0, 0, 0x0d, 0xe9, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01];
    assert_eq!(
        through(&mut s, en_solicit(2), "fe80::2", &[(code::REMOTE_ID, rid)]),
        ip("2001:db8:1::e2")
    );
    // A CMTS's CableLabs vendor option with the cable modem MAC (sub-option 1026).
    let mut vendor = vec![0, 0, 0x11, 0x8b];
    vendor.extend_from_slice(&[0x04, 0x02, 0, 6, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02]);
    assert_eq!(
        through(
            &mut s,
            en_solicit(3),
            "fe80::3",
            &[(code::VENDOR_OPTS, vendor)]
        ),
        ip("2001:db8:1::e3")
    );
}
