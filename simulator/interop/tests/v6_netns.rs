//! DHCPv6 in TAP mode (issue 11): every namespace a lab makes has IPv6 on with duplicate
//! address detection off, and the switch floods DHCPv6's multicast. The DHCPv6 interop matrix
//! itself is tested through `dhcplab matrix --v6` (simulator/cli/tests/matrix6_netns.rs).

use dhcplab_tap::{Control, Lab};
use dhcplab_testkit::netns::can_create_namespaces;
use dhcplab_vnet::{Fate, Sent};
use std::process::Command;
use std::time::Duration;

const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x11];
const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x12];

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
