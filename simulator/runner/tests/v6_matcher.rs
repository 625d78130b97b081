//! Checks and captures on real DHCPv6 datagrams: captures from pcaps/ decoded as a mode
//! decodes what it sees, then matched as scenario steps match.

use dhcplab_capture::CaptureReader;
use dhcplab_runner::{Payload, Seen, check, kind_of, passes, show, value};
use dhcplab_scenario::{Check, Field, Filter, Kind, Matcher, Path6, Place, Target};
use dhcplab_wire::v6::MessageType;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The DHCPv6 messages of a capture under pcaps/, as a mode logs them.
fn seen_in(name: &str) -> Vec<Seen> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../pcaps")
        .join(name);
    let mut out = Vec::new();
    for r in CaptureReader::open(&path).expect("opens") {
        let r = r.expect("record");
        let Some(lt) = r.link_type else { continue };
        let Ok(dhcplab_frame::Decoded::Udp(u)) = dhcplab_frame::decode(lt, &r.data) else {
            continue;
        };
        if ![546, 547].contains(&u.dst.port()) {
            continue;
        }
        let m = Payload::from_udp(u.src, u.dst, u.payload).expect("decodes");
        assert_eq!(m.family(), dhcplab_scenario::Family::V6);
        out.push(Seen {
            at_ns: 0,
            from: "x".into(),
            to: None,
            broadcast: u.dst.ip().is_multicast(),
            src: u.src.ip(),
            dst: u.dst.ip(),
            message: m,
            chaddr_host: None,
        });
    }
    out
}

fn path(text: &str) -> Target {
    Target::Option6(Path6::parse(text).expect(text))
}

fn c(target: Target, matcher: Matcher) -> Check {
    Check {
        target,
        matcher,
        place: Place { line: 9, column: 1 },
    }
}

fn text(t: &str) -> Matcher {
    Matcher::Text(t.to_string())
}

/// Whether every check holds on `seen`, with the failures when not.
fn holds(seen: &Seen, checks: &[Check], vars: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    checks
        .iter()
        .filter_map(|ch| check(seen, ch, vars))
        .collect()
}

#[test]
fn prefix_delegation_exchange_from_tcpdump() {
    let log = seen_in("public/tcpdump-dhcpv6-ia-pd.pcap");
    assert_eq!(log.len(), 4);
    let kinds: Vec<Option<Kind>> = log.iter().map(|s| kind_of(&s.message)).collect();
    assert_eq!(
        kinds,
        [
            MessageType::SOLICIT,
            MessageType::ADVERTISE,
            MessageType::REQUEST,
            MessageType::REPLY
        ]
        .map(|t| Some(Kind::Dhcp6(t)))
    );
    let (solicit, advertise, request, reply) = (&log[0], &log[1], &log[2], &log[3]);
    let none = BTreeMap::new();
    assert_eq!(
        holds(
            solicit,
            &[
                c(Target::Field(Field::Dst), text("ff02::1:2")),
                c(Target::Field(Field::Src), text("fe80::/10")),
                c(path("oro"), Matcher::Bytes(vec![0, 23, 0, 24])),
                c(path("ia-pd"), Matcher::Present),
                c(path("ia-na"), Matcher::Absent),
                c(path("ia-pd.iaid"), Matcher::Int(0x0203_0405)),
                c(path("ia-pd.t1"), Matcher::Int(3600)),
                c(path("ia-pd.t2"), Matcher::Int(5400)),
                c(path("elapsed-time"), Matcher::Int(0)),
                c(path("clientid"), text("00:03:00:01:00:01:02:03:04:05")),
            ],
            &none
        ),
        Vec::<String>::new()
    );
    // The delegated prefix reads as prefix/length and matches the prefixes it lies in.
    let p = path("ia-pd.iaprefix");
    let got = value(advertise, p).expect("iaprefix");
    assert_eq!(show(p, &got), "2a00:1:1:100::/56");
    assert_eq!(
        holds(
            advertise,
            &[
                c(p, text("2a00:1::/32")),
                c(p, text("2a00:1:1:100::/56")),
                c(path("ia-pd.iaprefix.length"), Matcher::Int(56)),
                c(path("ia-pd.iaprefix.valid"), Matcher::Int(7200)),
                c(path("ia-pd.iaprefix.preferred"), Matcher::Int(4500)),
                c(path("status-code"), Matcher::Absent),
                c(path("preference"), Matcher::Absent),
            ],
            &none
        ),
        Vec::<String>::new()
    );
    // A prefix longer than the delegated one does not hold it (RFC 8415 21.22: the prefix
    // is its length's bits); nor does another one.
    assert_eq!(
        holds(
            advertise,
            &[c(p, text("2a00:1:1:100::/64")), c(p, text("2001:db8::/32"))],
            &none
        ),
        vec![
            "ia-pd.iaprefix is 2a00:1:1:100::/56, expected 2a00:1:1:100::/64 (line 9)".to_string(),
            "ia-pd.iaprefix is 2a00:1:1:100::/56, expected 2001:db8::/32 (line 9)".to_string()
        ]
    );
    // Captures: the server's DUID from the ADVERTISE is the one the REQUEST names, and the
    // REPLY answers the REQUEST's transaction.
    let mut vars = BTreeMap::new();
    vars.insert(
        "sid".to_string(),
        value(advertise, path("serverid")).expect("serverid"),
    );
    vars.insert(
        "x".to_string(),
        value(request, Target::Field(Field::Xid)).expect("xid"),
    );
    assert_eq!(vars["x"], vec![0x12, 0xb0, 0x8a]);
    assert_eq!(
        holds(
            request,
            &[c(path("serverid"), Matcher::Var("sid".into()))],
            &vars
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        holds(
            reply,
            &[c(Target::Field(Field::Xid), Matcher::Var("x".into()))],
            &vars
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        holds(
            advertise,
            &[c(Target::Field(Field::Xid), Matcher::Var("x".into()))],
            &vars
        ),
        vec!["xid is 14803091, expected $x = 1224842 (line 9)".to_string()]
    );
}

#[test]
fn filters_tell_the_versions_apart() {
    let log = seen_in("public/tcpdump-dhcpv6-ia-pd.pcap");
    let kind = |k: Kind| Filter {
        from: None,
        to: None,
        kind: Some(k),
    };
    let request = &log[2];
    assert!(passes(&kind(Kind::Dhcp6(MessageType::REQUEST)), request));
    // A DHCPv4 REQUEST is not a DHCPv6 one, though both have the name.
    assert!(!passes(
        &kind(Kind::Dhcp(dhcplab_wire::v4::MessageType::Request)),
        request
    ));
    assert!(!passes(&kind(Kind::BootRequest), request));
    // A DHCPv4 option or field is absent from a DHCPv6 message.
    assert_eq!(value(request, Target::Option(53)), None);
    assert_eq!(value(request, Target::Field(Field::Yiaddr)), None);
    assert_eq!(value(request, Target::Field(Field::Hops)), None);
}

#[test]
fn a_doubly_relayed_rapid_commit_exchange() {
    let log = seen_in("crafted/v6-relayed-rapid-commit.pcap");
    let (forw, repl) = (&log[0], &log[1]);
    let none = BTreeMap::new();
    // Relay fields are the outermost relay's; options are the client message's, inside
    // both relays (RFC 8415 9).
    assert_eq!(
        holds(
            forw,
            &[
                c(Target::Field(Field::Hops), Matcher::Int(0)),
                c(Target::Field(Field::LinkAddress), text("2001:db8:2::1")),
                c(Target::Field(Field::PeerAddress), text("2001:db8:1::1")),
                c(Target::Field(Field::InterfaceId), text("uplink")),
                c(Target::Field(Field::Inner), text("SOLICIT")),
                c(Target::Field(Field::Dst), text("2001:db8::547")),
                c(path("rapid-commit"), Matcher::Present),
                c(path("oro"), Matcher::Bytes(vec![0, 23, 0, 24, 0, 39])),
                c(path("ia-pd.iaid"), Matcher::Int(3)),
                c(path("interface-id"), Matcher::Absent),
            ],
            &none
        ),
        Vec::<String>::new()
    );
    let dns = path("dns-servers");
    let servers = show(dns, &value(repl, dns).expect("dns"));
    assert_eq!(servers, "2001:db8::53,2001:db8::35");
    assert!(
        show(
            path("domain-search"),
            &value(repl, path("domain-search")).expect("search")
        )
        .contains("lab.example.com")
    );
    assert_eq!(
        holds(
            repl,
            &[
                c(Target::Field(Field::Inner), text("REPLY")),
                c(path("rapid-commit"), Matcher::Present),
                c(path("ia-na.iaaddr"), text("2001:db8:1::100")),
                c(path("ia-na.iaaddr"), text("2001:db8:1::/64")),
                c(path("ia-na.t1"), Matcher::Int(1800)),
                c(
                    path("ia-na.iaaddr.valid"),
                    Matcher::Range {
                        min: Some(3600),
                        max: Some(3600)
                    }
                ),
                c(path("ia-na.status-code"), text("Success")),
                c(path("ia-na.status-code"), Matcher::Int(0)),
                c(path("ia-na[2]"), Matcher::Absent),
                c(path("ia-pd.iaprefix"), text("2001:db8:ff00::/56")),
                c(path("status-code"), Matcher::Absent),
                c(dns, text("2001:db8::53, 2001:db8::35")),
            ],
            &none
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        holds(
            repl,
            &[
                c(path("ia-na.t1"), Matcher::Int(1)),
                c(path("ia-na.status-code"), text("NoAddrsAvail")),
                c(Target::Field(Field::Inner), text("ADVERTISE")),
            ],
            &none
        ),
        vec![
            "ia-na.t1 is 1800, expected 1 (line 9)".to_string(),
            "ia-na.status-code is Success, expected NoAddrsAvail (line 9)".to_string(),
            "inner is REPLY, expected ADVERTISE (line 9)".to_string(),
        ]
    );
}

#[test]
fn kea_twice_relayed_solicit_reaches_the_client_message() {
    let log = seen_in("public/kea-captureRelayed2xRSOO.pcap");
    let forw = &log[0];
    assert_eq!(forw.message.describe(), "RELAY-FORW (hops 1, SOLICIT)");
    assert_eq!(
        holds(
            forw,
            &[
                c(Target::Field(Field::Hops), Matcher::Int(1)),
                c(Target::Field(Field::LinkAddress), text("2001:888:db8:1::")),
                c(
                    Target::Field(Field::PeerAddress),
                    text("fe80::200:21ff:fe5c:18a9")
                ),
                c(Target::Field(Field::Inner), text("SOLICIT")),
                c(path("ia-na.t1"), Matcher::Int(u64::from(u32::MAX))),
                c(path("ia-na.iaaddr"), Matcher::Absent),
                c(path("elapsed-time"), Matcher::Int(0)),
            ],
            &BTreeMap::new()
        ),
        Vec::<String>::new()
    );
}

#[test]
fn the_ports_say_the_version() {
    let v6 = &seen_in("public/tcpdump-dhcpv6-ia-pd.pcap")[0];
    let Payload::V6(m) = &v6.message else {
        panic!("a DHCPv6 message")
    };
    let bytes = m.encode();
    let at = |a: &str| a.parse::<std::net::SocketAddr>().expect("addr");
    // On DHCPv6's ports they are DHCPv6; on DHCPv4's they are read as DHCPv4, and do not
    // decode; on other ports they are no DHCP at all.
    assert_eq!(
        Payload::from_udp(at("[fe80::1]:546"), at("[ff02::1:2]:547"), &bytes),
        Some(v6.message.clone())
    );
    assert_eq!(
        Payload::from_udp(at("192.0.2.1:68"), at("192.0.2.2:67"), &bytes),
        None
    );
    assert_eq!(
        Payload::from_udp(at("[fe80::1]:5000"), at("[fe80::2]:5001"), &bytes),
        None
    );
}

#[test]
fn a_left_out_status_code_reads_success_where_its_message_or_ia_is() {
    // RFC 8415 21.13: a message (or IA) without a Status Code option has the status
    // Success. tcpdump's PD Reply carries none, in the message or in its IA_PD.
    let log = seen_in("public/tcpdump-dhcpv6-ia-pd.pcap");
    let reply = &log[3];
    let none = BTreeMap::new();
    assert_eq!(value(reply, path("status-code")), None);
    assert_eq!(value(reply, path("ia-pd.status-code")), None);
    assert_eq!(
        holds(
            reply,
            &[
                c(path("status-code"), text("Success")),
                c(path("status-code"), Matcher::Int(0)),
                c(path("ia-pd.status-code"), text("Success")),
                // present and absent still ask about the option itself.
                c(path("status-code"), Matcher::Absent),
                c(path("ia-pd.status-code"), Matcher::Absent),
            ],
            &none
        ),
        Vec::<String>::new()
    );
    // No IA_NA, no status of one; another status is not read as Success; a status written
    // by name is reported by name.
    assert_eq!(
        holds(
            reply,
            &[
                c(path("ia-na.status-code"), text("Success")),
                c(path("ia-pd[2].status-code"), Matcher::Int(0)),
                c(path("ia-pd.status-code"), text("NoPrefixAvail")),
                c(path("status-code"), Matcher::Int(6)),
                c(path("status-code"), Matcher::Present),
            ],
            &none
        ),
        vec![
            "ia-na.status-code is absent, expected Success (line 9)".to_string(),
            "ia-pd[2].status-code is absent, expected Success (line 9)".to_string(),
            "ia-pd.status-code is Success, expected NoPrefixAvail (line 9)".to_string(),
            "status-code is Success, expected NoPrefixAvail (line 9)".to_string(),
            "status-code is absent, expected present (line 9)".to_string(),
        ]
    );
}
