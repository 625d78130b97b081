//! The captures under `pcaps/crafted/` are built here from the codec's builders, to cover what
//! no public capture shows (DHCPv4 rapid commit, RFC 3396 long options, RFC 4361 client IDs,
//! classless routes, nested relays with every IA type, deliberate framing faults).
//!
//! The test fails when a committed file differs from what this code builds; run it with
//! `DHCPLAB_REGENERATE=1` to rewrite the files after a deliberate change.

use dhcplab_capture::CaptureWriter;
use dhcplab_frame::{BROADCAST_MAC, encode_udp};
use dhcplab_testkit::own_pcaps;
use dhcplab_wire::dns::DomainName;
use dhcplab_wire::v4::{
    self, ClasslessRoute, ClientFqdn, ClientId, FqdnName, OptionArea, RawBuilder, code as c4,
};
use dhcplab_wire::v6::{self, ClientMessage, Duid, MessageType, Options, RelayMessage, code as c6};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];
const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0xfe];
/// 2026-01-01 00:00:00 UTC.
const T0: u64 = 1_767_225_600_000_000_000;

fn sock(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

/// Source, destination, source MAC, destination MAC, UDP payload.
type Frame = (SocketAddr, SocketAddr, [u8; 6], [u8; 6], Vec<u8>);

fn capture(frames: &[Frame]) -> Vec<u8> {
    let mut writer = CaptureWriter::new(Vec::new()).expect("header");
    for (i, (src, dst, smac, dmac, payload)) in frames.iter().enumerate() {
        let frame = encode_udp(*smac, *dmac, *src, *dst, 64, payload).expect("frame");
        writer
            .write(T0 + i as u64 * 1_000_000, &frame)
            .expect("write");
    }
    writer.into_inner()
}

fn v4_client(xid: u32, kind: u8) -> v4::Message {
    let mut m = v4::Message::new(v4::Message::BOOTREQUEST, xid, CLIENT_MAC);
    m.options.push(c4::MESSAGE_TYPE, &[kind]).expect("53");
    m
}

/// DHCPv4 rapid commit (RFC 4039): DISCOVER with option 80 answered by an ACK, with an RFC 4361
/// client identifier, a wire-format FQDN (RFC 4702), classless routes (RFC 3442) and a
/// compressed domain search list (RFC 3397).
fn v4_rapid_commit() -> Vec<u8> {
    let duid = Duid::Llt {
        htype: 1,
        time: 0x3039_0000,
        addr: CLIENT_MAC.to_vec(),
    };
    let client_id = ClientId::Duid {
        iaid: 0x5e00_5301,
        duid,
    }
    .to_bytes();
    let fqdn = ClientFqdn {
        flags: 0x01 | ClientFqdn::FLAG_E,
        rcode1: 0,
        rcode2: 0,
        name: FqdnName::Wire(DomainName::from_dotted("host1.example.com.", true).expect("name")),
    };
    let mut discover = v4_client(0x1234_5678, 1);
    discover.secs = 3;
    discover.flags = v4::Message::FLAG_BROADCAST;
    discover
        .options
        .push(c4::CLIENT_ID, &client_id)
        .and_then(|o| o.push(c4::RAPID_COMMIT, &[]))
        .and_then(|o| o.push(c4::CLIENT_FQDN, &fqdn.to_bytes()))
        .and_then(|o| o.push(c4::PARAMETER_REQUEST_LIST, &[1, 3, 6, 15, 119, 121]))
        .and_then(|o| o.push(c4::MAX_MESSAGE_SIZE, &1500u16.to_be_bytes()))
        .expect("options");
    let routes = [
        ClasslessRoute {
            destination: Ipv4Addr::new(198, 51, 100, 0),
            prefix_len: 24,
            router: Ipv4Addr::new(192, 0, 2, 1),
        },
        ClasslessRoute {
            destination: Ipv4Addr::UNSPECIFIED,
            prefix_len: 0,
            router: Ipv4Addr::new(192, 0, 2, 1),
        },
    ];
    // "example.com." then "lab.example.com." with a pointer to offset 0 (RFC 3397 4).
    let mut search = Vec::new();
    DomainName::from_dotted("example.com.", true)
        .expect("name")
        .encode_into(&mut search);
    search.extend_from_slice(&[3, b'l', b'a', b'b', 0xc0, 0x00]);
    let mut ack = v4::Message::new(v4::Message::BOOTREPLY, 0x1234_5678, CLIENT_MAC);
    ack.flags = v4::Message::FLAG_BROADCAST;
    ack.yiaddr = Ipv4Addr::new(192, 0, 2, 100);
    ack.options
        .push(c4::MESSAGE_TYPE, &[5])
        .and_then(|o| o.push(c4::SERVER_ID, &[192, 0, 2, 1]))
        .and_then(|o| o.push(c4::LEASE_TIME, &3600u32.to_be_bytes()))
        .and_then(|o| o.push(c4::RENEWAL_TIME, &1800u32.to_be_bytes()))
        .and_then(|o| o.push(c4::REBINDING_TIME, &3150u32.to_be_bytes()))
        .and_then(|o| o.push(c4::SUBNET_MASK, &[255, 255, 255, 0]))
        .and_then(|o| {
            o.push(
                c4::CLASSLESS_ROUTES,
                &ClasslessRoute::list_to_bytes(&routes),
            )
        })
        .and_then(|o| o.push(c4::DOMAIN_SEARCH, &search))
        .and_then(|o| o.push(c4::RAPID_COMMIT, &[]))
        .and_then(|o| o.push(c4::CLIENT_ID, &client_id))
        .expect("options");
    ack.options.set_tail(vec![0; 12]);
    capture(&[
        (
            sock("0.0.0.0:68"),
            sock("255.255.255.255:67"),
            CLIENT_MAC,
            BROADCAST_MAC,
            discover.encode(),
        ),
        (
            sock("192.0.2.1:67"),
            sock("255.255.255.255:68"),
            SERVER_MAC,
            BROADCAST_MAC,
            ack.encode(),
        ),
    ])
}

/// A relayed OFFER with option overload 3 (options in `file` and `sname`), an option longer
/// than 255 bytes split per RFC 3396, and relay agent information echoed (RFC 3046).
fn v4_overload_long_relay() -> Vec<u8> {
    let relay_info = v4::SubOption::list_to_bytes(&[
        v4::SubOption {
            code: 1,
            data: b"ge-0/0/1.100".to_vec(),
        },
        v4::SubOption {
            code: 2,
            data: vec![0x02, 0x00, 0x5e, 0x10, 0x00, 0x01],
        },
        v4::SubOption {
            code: 5,
            data: vec![192, 0, 2, 0],
        },
    ])
    .expect("sub-options");
    let mut discover = v4_client(0x0bad_cafe, 1);
    discover.hops = 1;
    discover.giaddr = Ipv4Addr::new(192, 0, 2, 254);
    discover
        .options
        .push(c4::RELAY_AGENT_INFO, &relay_info)
        .expect("82");
    let mut offer = v4::Message::new(v4::Message::BOOTREPLY, 0x0bad_cafe, CLIENT_MAC);
    offer.hops = 1;
    offer.giaddr = Ipv4Addr::new(192, 0, 2, 254);
    offer.yiaddr = Ipv4Addr::new(203, 0, 113, 50);
    let user_class: Vec<u8> = (0..300u16).map(|i| b'a' + (i % 26) as u8).collect();
    offer
        .options
        .push(c4::MESSAGE_TYPE, &[2])
        .and_then(|o| o.push(c4::SERVER_ID, &[192, 0, 2, 1]))
        .and_then(|o| o.push(c4::OVERLOAD, &[3]))
        .and_then(|o| o.push_long(c4::USER_CLASS, &user_class))
        .and_then(|o| o.push(c4::RELAY_AGENT_INFO, &relay_info))
        .expect("options");
    let mut file = OptionArea::new();
    file.push(c4::LEASE_TIME, &7200u32.to_be_bytes())
        .and_then(|o| o.push(c4::ROUTER, &[203, 0, 113, 1]))
        .and_then(|o| o.push(c4::HOST_NAME, b"client"))
        .expect("file options");
    offer.file = file.to_field().expect("file fits");
    let mut sname = OptionArea::new();
    sname
        .push(c4::HOST_NAME, b"-50")
        .and_then(|o| o.push(c4::DNS_SERVERS, &[192, 0, 2, 53]))
        .expect("sname options");
    offer.sname = sname.to_field().expect("sname fits");
    capture(&[
        (
            sock("192.0.2.254:67"),
            sock("192.0.2.1:67"),
            CLIENT_MAC,
            SERVER_MAC,
            discover.encode(),
        ),
        (
            sock("192.0.2.1:67"),
            sock("192.0.2.254:67"),
            SERVER_MAC,
            CLIENT_MAC,
            offer.encode(),
        ),
    ])
}

fn relay(
    inner: &v6::Message,
    msg_type: MessageType,
    link: &str,
    peer: &str,
    interface_id: &[u8],
) -> v6::Message {
    let mut options = Options::new();
    options
        .push(c6::INTERFACE_ID, interface_id)
        .and_then(|o| o.push(c6::RELAY_MSG, &inner.encode()))
        .expect("relay options");
    v6::Message::Relay(RelayMessage {
        msg_type,
        hop_count: 0,
        link_address: link.parse().expect("link"),
        peer_address: peer.parse().expect("peer"),
        options,
    })
}

fn ia(iaid: u32, t1: u32, t2: u32, inner: &[u8]) -> Vec<u8> {
    [
        &iaid.to_be_bytes()[..],
        &t1.to_be_bytes(),
        &t2.to_be_bytes(),
        inner,
    ]
    .concat()
}

/// A SOLICIT with IA_NA, IA_TA and IA_PD relayed twice, and the REPLY (rapid commit) relayed
/// back, with every DUID type, DNS servers and domain list (RFC 3646), FQDN (RFC 4704) and a
/// status code inside an IA.
fn v6_relayed_rapid_commit() -> Vec<u8> {
    let client_duid = Duid::Uuid([
        0x7d, 0x1e, 0x9c, 0x5a, 0, 1, 0x40, 0, 0x80, 0, 0, 0x5e, 0, 0x53, 0, 1,
    ]);
    let server_duid = Duid::En {
        enterprise: 2495,
        id: vec![0xde, 0xad, 0xbe, 0xef],
    };
    let mut solicit = ClientMessage::new(MessageType::SOLICIT, 0x00c0_ffee);
    let fqdn = v6::Fqdn {
        flags: 0x01,
        name: DomainName::from_dotted("host2", false).expect("partial"),
    };
    solicit
        .options
        .push(c6::CLIENT_ID, &client_duid.to_bytes())
        .and_then(|o| o.push(c6::ELAPSED_TIME, &150u16.to_be_bytes()))
        .and_then(|o| o.push(c6::RAPID_COMMIT, &[]))
        .and_then(|o| o.push(c6::ORO, &[0, 23, 0, 24, 0, 39]))
        .and_then(|o| o.push(c6::IA_NA, &ia(1, 0, 0, &[])))
        .and_then(|o| o.push(c6::IA_TA, &2u32.to_be_bytes()))
        .and_then(|o| o.push(c6::IA_PD, &ia(3, 0, 0, &[])))
        .and_then(|o| o.push(c6::CLIENT_FQDN, &fqdn.to_bytes()))
        .expect("solicit options");
    let solicit = v6::Message::Client(solicit);
    let inner_relay = relay(
        &solicit,
        MessageType::RELAY_FORW,
        "2001:db8:1::1",
        "fe80::200:5eff:fe00:5301",
        b"port-7",
    );
    let outer_relay = relay(
        &inner_relay,
        MessageType::RELAY_FORW,
        "2001:db8:2::1",
        "2001:db8:1::1",
        b"uplink",
    );

    let addr: Ipv6Addr = "2001:db8:1::100".parse().expect("addr");
    let iaaddr = [
        &addr.octets()[..],
        &1800u32.to_be_bytes(),
        &3600u32.to_be_bytes(),
    ]
    .concat();
    let temp: Ipv6Addr = "2001:db8:1::8:1".parse().expect("addr");
    let iataddr = [
        &temp.octets()[..],
        &600u32.to_be_bytes(),
        &1200u32.to_be_bytes(),
    ]
    .concat();
    let prefix: Ipv6Addr = "2001:db8:ff00::".parse().expect("prefix");
    let iaprefix = [
        &1800u32.to_be_bytes()[..],
        &3600u32.to_be_bytes(),
        &[56],
        &prefix.octets(),
    ]
    .concat();
    let opt = |code: u16, data: &[u8]| {
        [
            &code.to_be_bytes()[..],
            &(data.len() as u16).to_be_bytes(),
            data,
        ]
        .concat()
    };
    let status = opt(
        c6::STATUS_CODE,
        &[&0u16.to_be_bytes()[..], b"Assigned"].concat(),
    );
    let mut reply = ClientMessage::new(MessageType::REPLY, 0x00c0_ffee);
    let mut domains = Vec::new();
    DomainName::from_dotted("example.com.", true)
        .expect("name")
        .encode_into(&mut domains);
    DomainName::from_dotted("lab.example.com.", true)
        .expect("name")
        .encode_into(&mut domains);
    let dns: Vec<u8> = ["2001:db8::53", "2001:db8::35"]
        .iter()
        .flat_map(|a| a.parse::<Ipv6Addr>().expect("addr").octets())
        .collect();
    reply
        .options
        .push(c6::SERVER_ID, &server_duid.to_bytes())
        .and_then(|o| o.push(c6::CLIENT_ID, &client_duid.to_bytes()))
        .and_then(|o| o.push(c6::RAPID_COMMIT, &[]))
        .and_then(|o| {
            o.push(
                c6::IA_NA,
                &ia(
                    1,
                    1800,
                    2880,
                    &[opt(c6::IA_ADDR, &iaaddr), status.clone()].concat(),
                ),
            )
        })
        .and_then(|o| {
            o.push(
                c6::IA_TA,
                &[&2u32.to_be_bytes()[..], &opt(c6::IA_ADDR, &iataddr)].concat(),
            )
        })
        .and_then(|o| {
            o.push(
                c6::IA_PD,
                &ia(3, 1800, 2880, &opt(c6::IA_PREFIX, &iaprefix)),
            )
        })
        .and_then(|o| o.push(c6::DNS_SERVERS, &dns))
        .and_then(|o| o.push(c6::DOMAIN_LIST, &domains))
        .and_then(|o| {
            o.push(
                c6::CLIENT_FQDN,
                &[&[0x01][..], b"\x05host2\x07example\x03com\x00"].concat(),
            )
        })
        .expect("reply options");
    let reply = v6::Message::Client(reply);
    let inner_repl = relay(
        &reply,
        MessageType::RELAY_REPL,
        "2001:db8:1::1",
        "fe80::200:5eff:fe00:5301",
        b"port-7",
    );
    let outer_repl = relay(
        &inner_repl,
        MessageType::RELAY_REPL,
        "2001:db8:2::1",
        "2001:db8:1::1",
        b"uplink",
    );
    let ll = Duid::Ll {
        htype: 1,
        addr: CLIENT_MAC.to_vec(),
    };
    let mut information = ClientMessage::new(MessageType::INFORMATION_REQUEST, 0x0000_0042);
    information
        .options
        .push(c6::CLIENT_ID, &ll.to_bytes())
        .and_then(|o| o.push(c6::ORO, &[0, 23, 0, 24, 0, 32]))
        .expect("information-request");
    capture(&[
        (
            sock("[2001:db8:2::1]:547"),
            sock("[2001:db8::547]:547"),
            CLIENT_MAC,
            SERVER_MAC,
            outer_relay.encode(),
        ),
        (
            sock("[2001:db8::547]:547"),
            sock("[2001:db8:2::1]:547"),
            SERVER_MAC,
            CLIENT_MAC,
            outer_repl.encode(),
        ),
        (
            sock("[fe80::200:5eff:fe00:5301]:546"),
            sock("[ff02::1:2]:547"),
            CLIENT_MAC,
            [0x33, 0x33, 0, 1, 0, 2],
            v6::Message::Client(information).encode(),
        ),
    ])
}

/// An RFC 951 BOOTP exchange: no magic cookie, a 64-byte `vend` field, the boot file and
/// server name given as text.
fn v4_bootp_rfc951() -> Vec<u8> {
    let mut request = v4::Message::new(v4::Message::BOOTREQUEST, 0x0000_0951, CLIENT_MAC);
    request.vend = Some([0; 64]);
    let mut reply = v4::Message::new(v4::Message::BOOTREPLY, 0x0000_0951, CLIENT_MAC);
    reply.yiaddr = Ipv4Addr::new(192, 0, 2, 51);
    reply.siaddr = Ipv4Addr::new(192, 0, 2, 69);
    reply.sname[..11].copy_from_slice(b"boot-server");
    reply.file[..10].copy_from_slice(b"pxelinux.0");
    reply.vend = Some([0; 64]);
    capture(&[
        (
            sock("0.0.0.0:68"),
            sock("255.255.255.255:67"),
            CLIENT_MAC,
            BROADCAST_MAC,
            request.encode(),
        ),
        (
            sock("192.0.2.1:67"),
            sock("192.0.2.51:68"),
            SERVER_MAC,
            CLIENT_MAC,
            reply.encode(),
        ),
    ])
}

/// One fault per frame, each made on purpose with the raw builders.
fn malformed() -> Vec<u8> {
    let header = v4_client(0xfa17, 1);
    let v4s = [
        RawBuilder::from_header(&header)
            .cookie([0x63, 0x82, 0x53, 0x00])
            .option(53, &[1])
            .end()
            .build(),
        RawBuilder::from_header(&header)
            .magic()
            .option(53, &[1])
            .option(61, &[1, 2, 3])
            .build(),
        RawBuilder::from_header(&header)
            .magic()
            .option(53, &[1])
            .option_with_len(12, 40, b"short")
            .end()
            .build(),
        RawBuilder::from_header(&header)
            .magic()
            .option(53, &[1])
            .option(52, &[7])
            .end()
            .build(),
        RawBuilder::from_header(&header)
            .magic()
            .option(53, &[1])
            .option(51, &[0, 1, 0])
            .option(82, &[1, 9, 0])
            .end()
            .pad(4)
            .build(),
        RawBuilder::new().truncate(100).build(),
    ];
    let v6s = [
        v6::RawBuilder::new(MessageType::SOLICIT, 0xfa17)
            .option(c6::ELAPSED_TIME, &[0, 0])
            .bytes(&[0, 1, 0])
            .build(),
        v6::RawBuilder::new(MessageType::SOLICIT, 0xfa17)
            .option_with_len(c6::CLIENT_ID, 30, &[0, 3, 0, 1])
            .build(),
        v6::RawBuilder::new(MessageType::REQUEST, 0xfa17)
            .option(c6::IA_NA, &ia(1, 0, 0, &[0, 5, 0, 24, 0x20, 0x01]))
            .option(c6::ELAPSED_TIME, &[0])
            .build(),
        v6::RawBuilder::relay(
            MessageType::RELAY_FORW,
            0,
            Ipv6Addr::UNSPECIFIED,
            Ipv6Addr::UNSPECIFIED,
        )
        .option(c6::RELAY_MSG, &[1, 0, 0])
        .build(),
    ];
    let mut frames = Vec::new();
    for p in v4s {
        frames.push((
            sock("0.0.0.0:68"),
            sock("255.255.255.255:67"),
            CLIENT_MAC,
            BROADCAST_MAC,
            p,
        ));
    }
    for p in v6s {
        frames.push((
            sock("[fe80::1]:546"),
            sock("[ff02::1:2]:547"),
            CLIENT_MAC,
            [0x33, 0x33, 0, 1, 0, 2],
            p,
        ));
    }
    capture(&frames)
}

/// The crafted captures by file name.
pub fn crafted() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("v4-rapid-commit.pcap", v4_rapid_commit()),
        ("v4-bootp-rfc951.pcap", v4_bootp_rfc951()),
        ("v4-overload-long-relay.pcap", v4_overload_long_relay()),
        ("v6-relayed-rapid-commit.pcap", v6_relayed_rapid_commit()),
        ("malformed.pcap", malformed()),
    ]
}

#[test]
fn crafted_captures_are_current() {
    let dir = own_pcaps().join("crafted");
    let regenerate = std::env::var_os("DHCPLAB_REGENERATE").is_some();
    for (name, bytes) in crafted() {
        let path = dir.join(name);
        if regenerate {
            std::fs::write(&path, &bytes).expect("write crafted capture");
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{} differs from what the builders make; rerun with DHCPLAB_REGENERATE=1 if the change is meant",
            path.display()
        );
    }
}
