//! DHCPv6 in virtual mode beyond the scenario suite: the run's own invariant on two servers
//! that share a pool, segments without a relay between them, duplicate address detection
//! only against hosts the client can reach, and UDP/IPv6 frames on the link.

use dhcplab_runner::{Outcome, Status};
use dhcplab_virtual_mode::{Options, run};

fn outcome(text: &str, seed: u64) -> Outcome {
    let s = dhcplab_scenario::parse(text, std::path::Path::new("t/v6.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    run(&s, Options { seed, record: true })
}

/// A DHCPv6 server named `name` with address `address` on `segment`, serving the one pool
/// 2001:db8:1::100-1ff to directly connected clients.
fn server(name: &str, address: &str, segment: &str) -> String {
    format!(
        r#"
[[host]]
name = "{name}"
role = "server"
address = "{address}"
segment = "{segment}"
config = '''
{{ "Dhcp6": {{ "interfaces-config": {{ "interfaces": [ "eth0" ] }},
  "subnet6": [ {{ "id": 1, "subnet": "2001:db8:1::/64", "interface": "eth0",
    "pools": [ {{ "pool": "2001:db8:1::100 - 2001:db8:1::1ff" }} ] }} ] }} }}
'''
"#
    )
}

#[test]
fn two_v6_servers_leasing_one_address_to_two_clients_break_the_invariant() {
    // c1 sees only srv1, c2 only srv2: each server gives its first address, to another DUID.
    let text = format!(
        r#"{}{}
[[host]]
name = "c"
role = "client"
family = "v6"
count = 2

[[step]]
do = "partition"
hosts = ["c1", "srv2"]

[[step]]
do = "partition"
hosts = ["c2", "srv1"]

[[step]]
at = "1m"
expect = "leases"
host = "srv1"
count = 1
"#,
        server("srv1", "2001:db8:1::1", "lan"),
        server("srv2", "2001:db8:1::2", "lan")
    );
    let o = outcome(&text, 1);
    assert_eq!(o.status, Status::Failed, "{}", o.message);
    assert!(
        o.message.contains("2001:db8:1::100") && o.message.contains("DUID"),
        "the broken invariant names the address and the clients: {}",
        o.message
    );
}

#[test]
fn a_server_on_another_segment_is_out_of_reach_without_a_relay() {
    let text = format!(
        r#"{}
[[host]]
name = "c1"
role = "client"
family = "v6"

[[step]]
expect = "nothing"
from = "srv"
within = "30s"

[[step]]
expect = "client"
host = "c1"
state = "soliciting"
address = "none"
"#,
        server("srv", "2001:db8:1::1", "core")
    );
    let o = outcome(&text, 1);
    assert_eq!(o.status, Status::Passed, "{}", o.message);
    // The same hosts on one segment bind: what kept them apart was the segment.
    let o = outcome(&text.replace("\"core\"", "\"lan\""), 1);
    assert_eq!(o.status, Status::Failed);
    assert!(o.message.contains("from srv"), "{}", o.message);
}

/// Duplicate address detection answers only for holders the client reaches: a squatter cut
/// off by a partition does not make the client Decline.
#[test]
fn dad_reports_a_duplicate_only_for_a_holder_the_client_can_reach() {
    let text = |partitioned: bool| {
        let cut = if partitioned {
            "[[step]]\ndo = \"partition\"\nhosts = [\"squatter\", \"c1\"]\n"
        } else {
            ""
        };
        format!(
            r#"{}
[[host]]
name = "squatter"
role = "peer"
address = "2001:db8:1::100"

[[host]]
name = "c1"
role = "client"
family = "v6"

{cut}
[[step]]
at = "10s"
expect = "client"
host = "c1"
state = "bound"
address = "2001:db8:1::100"
"#,
            server("srv", "2001:db8:1::1", "lan")
        )
    };
    let o = outcome(&text(true), 1);
    assert_eq!(o.status, Status::Passed, "{}", o.message);
    let o = outcome(&text(false), 1);
    assert_eq!(o.status, Status::Failed);
    assert!(
        o.message.contains("2001:db8:1::101"),
        "the client declined ::100 and holds the next one: {}",
        o.message
    );
}

/// The DHCPv6 frames of a relayed run: UDP over IPv6 (EtherType 0x86dd), the client's
/// multicast to 33:33:00:01:00:02 from its link-local address, and the same bytes for the
/// same seed.
#[test]
fn v6_frames_are_udp_over_ipv6_from_link_local_addresses_and_repeat_byte_for_byte() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/relay/v6-relayed-solicit-through-two-relays.toml");
    let s = dhcplab_scenario::load(&root).unwrap_or_else(|e| panic!("{e}"));
    let play = |seed| {
        run(&s, Options { seed, record: true })
            .timeline
            .pcap()
            .expect("pcap")
    };
    let a = play(7);
    assert_eq!(a, play(7), "same seed, same pcap");
    let o = run(
        &s,
        Options {
            seed: 7,
            record: true,
        },
    );
    assert_eq!(o.status, Status::Passed, "{}", o.message);
    let frames: Vec<&Vec<u8>> = o
        .timeline
        .entries
        .iter()
        .filter_map(|(_, e)| match e {
            dhcplab_timeline::Entry::Frame { frame, .. } => Some(frame),
            _ => None,
        })
        .collect();
    assert_eq!(
        frames.len(),
        12,
        "Solicit, Request and their answers, each over 3 hops"
    );
    assert!(frames.iter().all(|f| f[12..14] == [0x86, 0xdd]));
    let solicit = frames[0];
    assert_eq!(solicit[..6], [0x33, 0x33, 0, 1, 0, 2]);
    assert_eq!(
        solicit[21], 1,
        "a link-scoped multicast goes with hop limit 1"
    );
    // IPv6 source fe80::/64 (bytes 22..38 of the frame), destination ff02::1:2.
    assert_eq!(solicit[22..24], [0xfe, 0x80]);
    assert_eq!(
        solicit[38..54],
        "ff02::1:2"
            .parse::<std::net::Ipv6Addr>()
            .expect("group")
            .octets()
    );
    assert_ne!(a, play(8), "another seed, other transaction ids");
}

#[test]
fn dad_is_over_at_once_so_bound6_comes_with_the_reply() {
    // The client core waits for each new address's DAD outcome before BOUND6 (dhcpagent's
    // PRE_BOUND), at most its DAD timeout (3 s). Virtual mode does DAD at once, so it must
    // say so at once: the event program runs for BOUND6 within the Reply's millisecond.
    let text = format!(
        r#"{}
[[host]]
name = "c1"
role = "client"
family = "v6"

[[step]]
expect = "message"
from = "srv"
type = "REPLY"
within = "5s"

[[step]]
after = "1ms"
expect = "events"
host = "c1"
events = ["BOUND6"]
"#,
        server("srv", "2001:db8:1::1", "lan")
    );
    let o = outcome(&text, 1);
    assert_eq!(o.status, Status::Passed, "{}", o.message);
}
