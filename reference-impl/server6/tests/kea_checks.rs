//! Kea 2.2 behaviours that no other test pinned down (found by mutating the code in review).

mod common;

use common::*;
use dhcplab_server6::LeaseType;
use dhcplab_wire::v6::{MessageType, code};

/// Kea's `Dhcpv6Srv::sanityCheckDUID`: a Client Identifier of fewer than 3 bytes (2 for the
/// DUID type, 1 of identifier) drops the message; 3 bytes are enough whatever the type says
/// (RFC 8415 section 11: DUIDs are opaque; a 3-byte DUID-LL has no room for its hardware
/// type, and Kea serves it); more than 128 bytes drop it. All seen on kea-dhcp6 2.2.0 in
/// review: 3-byte, 6-byte (a DUID-LLT cut short) and 128-byte identifiers are answered, 129
/// and 131 bytes are not.
#[test]
fn a_client_identifier_shorter_than_three_bytes_drops_the_message() {
    let mut s = server(config());
    let solicit = |client_id: &[u8]| {
        let mut m = dhcplab_wire::v6::ClientMessage::new(MessageType::SOLICIT, 9);
        m.options.push(code::CLIENT_ID, client_id).expect("fits");
        m.options.push(code::IA_NA, &ia(1, &[])).expect("fits");
        dhcplab_wire::v6::Message::Client(m).encode()
    };
    assert!(transmits(&send(&mut s, at(0), 1, &solicit(&[0, 3]))).is_empty());
    assert_eq!(s.statistic("pkt6-receive-drop"), Some(1));
    for served in [&[0, 3, 1][..], &[0, 1, 0, 1, 0, 7], &[7; 128]] {
        assert_eq!(
            transmits(&send(&mut s, at(0), 1, &solicit(served))).len(),
            1,
            "{served:?}"
        );
    }
    for dropped in [&[7; 129][..], &[7; 131]] {
        assert!(transmits(&send(&mut s, at(0), 1, &solicit(dropped))).is_empty());
    }
    assert_eq!(s.statistic("pkt6-receive-drop"), Some(3));
}

/// Kea's `AllocEngine::reclaimExpiredLease` (lease affinity on): the reclaimed lease keeps its
/// client but loses its host name and DNS flags, in state expired-reclaimed (2).
#[test]
fn a_reclaimed_lease_loses_its_host_name_and_dns_flags() {
    let leases = lease_file(&[format!(
        "2001:db8:1::100,{},4000,{},1,3000,0,1,128,1,1,host.example.org,,0,,,",
        dhcplab_wire::v4::Hex(&duid(1)),
        T0 + 100,
    )]);
    let mut s = server_with(config(), leases);
    s.handle_timeout(at(110));
    let actions: Vec<_> = std::iter::from_fn(|| s.poll_action()).collect();
    let r = rows(&actions);
    assert_eq!(r.len(), 1, "{actions:?}");
    assert_eq!(r[0].state, 2);
    assert_eq!(r[0].duid, duid(1), "kept for lease affinity");
    assert_eq!(
        (r[0].hostname.as_str(), r[0].fqdn_fwd, r[0].fqdn_rev),
        ("", false, false)
    );
    let l = s.lease(LeaseType::Na, ip("2001:db8:1::100")).expect("kept");
    assert_eq!(l.hostname, "");
}

/// Kea 2.2's `Dhcpv6Srv::assignIA_NA` answers an IA_NA with its first lease only, even when
/// the client's binding holds two addresses (here from the lease file); a Renew
/// (`extendIA_NA`) lists them all.
#[test]
fn a_request_shows_one_address_of_a_binding_that_holds_two() {
    let row = |a: &str| {
        format!(
            "{a},{},4000,{},1,3000,0,1,128,0,0,,,0,,,",
            dhcplab_wire::v4::Hex(&duid(1)),
            T0 + 4000
        )
    };
    let leases = lease_file(&[row("2001:db8:1::150"), row("2001:db8:1::140")]);
    let mut s = server_with(config(), leases);
    let m = exchange(
        &mut s,
        at(1),
        1,
        &msg(MessageType::REQUEST, 1, &[sid(), (code::IA_NA, ia(1, &[]))]),
    )
    .expect("Reply");
    let shown: Vec<_> = addresses(&ia_nas(&m)[0]).into_iter().map(|a| a.0).collect();
    assert_eq!(shown, vec![ip("2001:db8:1::140")]);
    let m = exchange(
        &mut s,
        at(2),
        1,
        &msg(MessageType::RENEW, 1, &[sid(), (code::IA_NA, ia(1, &[]))]),
    )
    .expect("Reply");
    assert_eq!(addresses(&ia_nas(&m)[0]).len(), 2);
}

/// Kea's `Pkt::getMAC` tries a relay's Client Link-Layer Address option (RFC 6939) before the
/// client's DUID: a relayed client with a DUID-LL gets the relay's hardware address in its
/// lease, with source 8 (client address relay option).
#[test]
fn a_relay_link_layer_option_comes_before_the_duid_as_hardware_address() {
    let mut s = server(config());
    let request = msg(MessageType::REQUEST, 1, &[sid(), (code::IA_NA, ia(1, &[]))]);
    let relayed = relay(
        &request,
        0,
        "2001:db8:1::ff",
        "fe80::9",
        &[(
            code::CLIENT_LINKLAYER_ADDR,
            vec![0, 1, 2, 0, 0x5e, 0, 0x53, 7],
        )],
    );
    let actions = deliver(
        &mut s,
        at(0),
        std::net::SocketAddrV6::new(ip("2001:db8:1::ff"), 547, 0, 0),
        ip("2001:db8:1::1"),
        &relayed,
    );
    let r = rows(&actions);
    assert_eq!(r.len(), 1, "{actions:?}");
    let hw = r[0].hwaddr.clone().expect("a hardware address");
    assert_eq!(
        (hw.bytes, hw.htype, hw.source),
        (
            vec![2, 0, 0x5e, 0, 0x53, 7],
            1,
            dhcplab_memfile::HWADDR_SOURCE_CLIENT_ADDR_RELAY_OPTION
        )
    );
}

/// A deliberate difference from Kea 2.2, seen on kea-dhcp6 2.2.0 in review: with only
/// `valid-lifetime: 900` (the default preferred lifetime 3600 applies) Kea sends preferred
/// 3600 above valid 900, and T1/T2 1800/2880 from that preferred lifetime; RFC 8415 section
/// 21.6 has the client discard such an address. The reference server caps the preferred
/// lifetime at the valid one, so T1/T2 follow the capped value.
#[test]
fn a_preferred_lifetime_above_the_valid_one_is_capped() {
    let mut cfg = config();
    cfg.timers.base.valid_lifetime = Some(900);
    cfg.timers.preferred_lifetime = None;
    cfg.timers.base.renew_timer = None;
    cfg.timers.base.rebind_timer = None;
    let mut s = server(cfg);
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(MessageType::SOLICIT, 1, &[(code::IA_NA, ia(1, &[]))]),
    )
    .expect("Advertise");
    let na = &ia_nas(&m)[0];
    let (_, preferred, valid) = addresses(na)[0];
    assert_eq!((preferred, valid), (900, 900));
    assert_eq!((na.t1, na.t2), (450, 720));
}

/// The rows kea-dhcp6 2.2.0 appended in review for a bound, declined, and a bound, released
/// address (valid lifetime 900 there, 4000 here), byte for byte but for address, DUID and
/// times: the release row has valid AND preferred lifetime 0 and the lease's expiry, which is
/// its client's last transmission time (`Memfile_LeaseMgr::deleteLeaseInternal` zeroes both
/// lifetimes of a v6 lease); the decline row has DUID 00, no hardware address, preferred 0,
/// the probation period as valid lifetime and state 1.
/// ```text
/// 2001:db8:1::100,00,86400,1796180188,1,0,0,1,128,0,0,,,1,,,
/// 2001:db8:1::101,00:03:00:01:02:00:5e:00:53:02,0,1796093788,1,0,0,2,128,0,0,,02:00:5e:00:53:02,0,,1,2
/// ```
#[test]
fn release_and_decline_rows_are_kea_s_byte_for_byte() {
    let mut s = server(config());
    let declined = bind(&mut s, at(0), 1);
    let released = bind(&mut s, at(5), 2);
    while s.poll_action().is_some() {}
    let give_back = |t: MessageType, n: u8, a: std::net::Ipv6Addr| {
        msg(
            t,
            n,
            &[sid(), (code::IA_NA, ia(1, &[iaaddr(&a.to_string())]))],
        )
    };
    let decline = give_back(MessageType::DECLINE, 1, declined);
    let release = give_back(MessageType::RELEASE, 2, released);
    let d = rows(&send(&mut s, at(10), 1, &decline));
    let r = rows(&send(&mut s, at(20), 2, &release));
    assert_eq!(
        d.iter()
            .map(dhcplab_server6::Lease6::to_row)
            .collect::<Vec<_>>(),
        vec![format!(
            "{declined},00,86400,{},1,0,0,1,128,0,0,,,1,,,",
            T0 + 10 + 86400
        )]
    );
    assert_eq!(
        r.iter()
            .map(dhcplab_server6::Lease6::to_row)
            .collect::<Vec<_>>(),
        vec![format!(
            "{released},00:03:00:01:02:00:00:00:00:02,0,{},1,0,0,1,128,0,0,,02:00:00:00:00:02,0,,1,2",
            T0 + 5
        )]
    );
}
