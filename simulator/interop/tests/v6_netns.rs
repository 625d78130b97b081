//! DHCPv6 in TAP mode (issue 11): every namespace a lab makes has IPv6 on with duplicate
//! address detection off, the switch floods DHCPv6's multicast, and the DHCPv6 interop matrix
//! of Debian 12's real stacks (kea-dhcp6, ISC dhcpd -6, dnsmasq x dhclient -6, dhcpcd -6)
//! passes, with each stack's recorded differences from RFC 8415.

use dhcplab_adapters::clients::{Client, RealClient};
use dhcplab_adapters::servers::Server;
use dhcplab_frame::{Decoded, Link, LinkType};
use dhcplab_interop::v6::{ADVERTISE_WINDOW, HINT_LIFETIMES, HINT_TIMERS};
use dhcplab_interop::{CAPTURE, Check, Family, Verdict, run_pair6};
use dhcplab_tap::{Control, Lab};
use dhcplab_testkit::netns::{can_create_namespaces, have};
use dhcplab_vnet::{Fate, Sent};
use dhcplab_wire::v6::Message;
use std::process::Command;
use std::time::Duration;

const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x11];
const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x12];
/// The server's link address in the matrix's pairs.
const SERVER_MAC_OF_PAIRS: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];

/// A value under /proc/sys or /sys as the host's namespace sees it.
fn read_in(netns: &str, path: &str) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", netns, "cat", path])
        .output()
        .expect("cat");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn every_host_has_a_usable_link_local_address_at_once_and_dhcpv6_multicast_is_flooded() {
    if !can_create_namespaces() {
        return;
    }
    let mut lab = Lab::new();
    lab.add_host("srv", SERVER_MAC).expect("server host");
    lab.add_host("cli", CLIENT_MAC).expect("client host");
    // Straight after add_host, with no wait: DAD off means no tentative phase.
    for h in lab.hosts() {
        let ll = h.link_local().expect("a usable link-local address");
        assert_eq!(ll.segments()[0], 0xfe80, "{ll}");
        for (key, value) in [
            (format!("/proc/sys/net/ipv6/conf/{}/accept_dad", h.tap), "0"),
            (
                format!("/proc/sys/net/ipv6/conf/{}/dad_transmits", h.tap),
                "0",
            ),
            (
                format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", h.tap),
                "0",
            ),
            (
                "/proc/sys/net/ipv6/conf/default/accept_dad".to_string(),
                "0",
            ),
            ("/proc/sys/net/ipv6/conf/all/accept_dad".to_string(), "0"),
        ] {
            assert_eq!(read_in(&h.netns, &key), value, "{} {key}", h.netns);
        }
    }
    lab.start_switch(1, vec![Default::default(); 2])
        .expect("switch");
    let srv = &lab.hosts()[0];
    let rx = format!("/sys/class/net/{}/statistics/rx_packets", srv.tap);
    let before: u64 = read_in(&srv.netns, &rx).parse().expect("rx_packets");
    // A frame to All_DHCP_Relay_Agents_and_Servers (ff02::1:2, RFC 8415 section 7.1) is
    // Ethernet multicast 33:33:00:01:00:02 (RFC 2464 section 7): a group address, flooded.
    let mut frame = vec![0x33, 0x33, 0x00, 0x01, 0x00, 0x02];
    frame.extend_from_slice(&CLIENT_MAC);
    frame.extend_from_slice(&[0x86, 0xdd]);
    frame.extend_from_slice(&[0u8; 48]);
    assert!(lab.control(Control::Inject(1, frame.clone())), "injected");
    let captured = lab.captured();
    let sent = captured
        .iter()
        .find(|c| c.frame == frame)
        .map(|c| c.sent.clone())
        .expect("the switch saw the frame");
    assert!(
        matches!(&sent, Sent::Left(fates) if fates.iter().any(|(port, fate)| *port == 0 && matches!(fate, Fate::Arrives(_)))),
        "{sent:?}"
    );
    let arrived =
        dhcplab_adapters::wait_until(Duration::from_secs(2), Duration::from_millis(20), || {
            read_in(&srv.netns, &rx)
                .parse::<u64>()
                .is_ok_and(|n| n > before)
        });
    assert!(arrived, "the server's TAP device received the frame");
}

/// T1, T2, preferred and valid lifetime of every address the server gave (Advertise and
/// Reply, from its link address) in the capture at `path`.
fn served(path: &std::path::Path) -> Vec<(u32, u32, u32, u32)> {
    let mut out = Vec::new();
    for record in dhcplab_capture::CaptureReader::open(path).expect("capture") {
        let record = record.expect("record");
        let Ok(Decoded::Udp(u)) = dhcplab_frame::decode(LinkType::Ethernet, &record.data) else {
            continue;
        };
        let from_server =
            matches!(&u.link, Link::Ethernet { src, .. } if *src == SERVER_MAC_OF_PAIRS);
        let Ok(m) = Message::decode(u.payload) else {
            continue;
        };
        if !from_server || u.dhcp() != Some(dhcplab_frame::Dhcp::V6) {
            continue;
        }
        for ia in m.options().ia_na().expect("IA_NA") {
            for a in ia.options.ia_addresses().expect("IA Address") {
                out.push((ia.t1, ia.t2, a.preferred, a.valid));
            }
        }
    }
    out
}

/// One cell's expected verdicts, in check order: pass, or skip/fail with a part of the reason.
type Expected = [(&'static str, &'static str); 3];

const PASS: Expected = [("pass", ""), ("pass", ""), ("pass", "")];
/// dnsmasq serves leases of 2 minutes at least: T1 comes at 60 s, beyond the run.
const DNSMASQ: Expected = [
    ("pass", ""),
    ("skip", "shortest lease is 2 minutes"),
    ("pass", ""),
];

/// The v6 matrix of real stacks: every check passes (dnsmasq's renew is skipped: its shortest
/// lease is 2 minutes), each server ignores the clients' hints as RFC 8415 says it MUST, and
/// the capture shows the clients' recorded differences from RFC 8415:
/// - dhclient 4.4.3 sends T1 3600, T2 5400 and lifetimes 7200/7500 in its IA_NA (section 21.4
///   and 21.6: SHOULD be 0);
/// - dhcpcd 9.4.1 echoes the server's lifetimes in its Request, Renew and Release (section
///   21.6) and sends its Request on the first Advertise, within a millisecond, where the
///   Advertise has no preference 255 (section 18.2.9: MUST collect for the first RT, more
///   than 1 s): against kea-dhcp6 and dhcpd, not against dnsmasq, whose Advertise carries
///   preference 255.
///
/// The stacks without DHCPv6 in the lab (udhcpc, the reference stacks until they have an
/// adapter) are skipped with their reason.
#[test]
fn the_v6_matrix_of_real_stacks_passes_with_its_recorded_differences() {
    if !can_create_namespaces() {
        return;
    }
    for p in ["kea-dhcp6", "dhcpd", "dnsmasq", "dhclient", "dhcpcd"] {
        if !have(p) {
            return;
        }
    }
    let root = tempfile::tempdir().expect("tempdir");
    let mut unexpected = Vec::new();
    let mut report = String::new();
    for server in Server::ALL {
        for client in Client::ALL {
            let dir = root
                .path()
                .join(format!("{}-{}", server.name(), client.name()));
            std::fs::create_dir_all(&dir).expect("dir");
            let cell = run_pair6(server, client, &dir);
            assert_eq!(cell.family, Family::V6);
            let checks: Vec<Check> = cell.results.iter().map(|(k, _, _)| *k).collect();
            assert_eq!(checks, Check::ALL6);
            let skipped_for = match (server, client) {
                (Server::Reference, _) => Some("reference DHCPv6 server"),
                (_, Client::Reference) => Some("reference DHCPv6 client"),
                (_, Client::Real(RealClient::Udhcpc)) => Some("udhcpc has no DHCPv6"),
                _ => None,
            };
            let expected: Expected = match (skipped_for, server) {
                (Some(why), _) => [("skip", why); 3],
                (None, Server::Dnsmasq) => DNSMASQ,
                (None, _) => PASS,
            };
            for ((check, verdict, took), (want, why)) in cell.results.iter().zip(expected) {
                let (got, text) = match verdict {
                    Verdict::Pass => ("pass", ""),
                    Verdict::Skip(w) => ("skip", w.as_str()),
                    Verdict::Fail(w) => ("fail", w.as_str()),
                };
                report.push_str(&format!(
                    "{} x {} {}: {got} {:.1} s {text}\n",
                    server.name(),
                    client.name(),
                    check.name(),
                    took.as_secs_f64()
                ));
                if got != want || !text.contains(why) {
                    unexpected.push(format!(
                        "{} x {} {}: {got} {text:?}, expected {want} {why:?}",
                        server.name(),
                        client.name(),
                        check.name()
                    ));
                }
            }
            let starts: Vec<&str> = cell
                .findings
                .iter()
                .map(|f| {
                    [HINT_TIMERS, HINT_LIFETIMES, ADVERTISE_WINDOW]
                        .into_iter()
                        .find(|rfc| f.starts_with(rfc))
                        .unwrap_or(f)
                })
                .collect();
            let expected_findings: Vec<&str> = match (skipped_for, server, client) {
                (Some(_), _, _) => vec![],
                (None, _, Client::Real(RealClient::Dhclient)) => vec![HINT_TIMERS, HINT_LIFETIMES],
                (None, Server::Dnsmasq, _) => vec![HINT_LIFETIMES],
                (None, _, _) => vec![HINT_LIFETIMES, ADVERTISE_WINDOW],
            };
            for f in &cell.findings {
                report.push_str(&format!("  finding: {f}\n"));
            }
            if starts != expected_findings {
                unexpected.push(format!(
                    "{} x {} findings: {:?}",
                    server.name(),
                    client.name(),
                    cell.findings
                ));
            }
            if skipped_for.is_none() {
                // Every address the server gave carries the configured timers and lifetimes
                // (dnsmasq's: its 2-minute minimum, T1 half of it, T2 7/8), whatever the
                // client hinted: RFC 8415 section 21.4 and 21.6, "The server MUST ignore any
                // values in these fields in messages received from a client".
                let want = if server == Server::Dnsmasq {
                    (60, 105, 120, 120)
                } else {
                    (10, 16, 20, 30)
                };
                let given = served(&dir.join(CAPTURE));
                if given.is_empty() || given.iter().any(|g| *g != want) {
                    unexpected.push(format!(
                        "{} x {} gave (T1, T2, preferred, valid) {given:?}, expected {want:?}",
                        server.name(),
                        client.name()
                    ));
                }
            }
        }
    }
    eprintln!("{report}");
    assert!(unexpected.is_empty(), "{}\n{report}", unexpected.join("\n"));
}
