//! What `play` asks of a network for DHCPv6 steps, on a scripted network: crafted v6
//! datagrams go out with the addresses, ports and link address RFC 8415 gives them and the
//! values captured before; client and lease expectations read addresses, prefixes and v6
//! lease rows. This is the contract a mode implements for DHCPv6 hosts.

use dhcplab_client::HostEvent;
use dhcplab_memfile::{Lease6, LeaseType, STATE_DEFAULT};
use dhcplab_runner::{
    ClientView, LeaseKey, LeaseRecord, Network, Payload, Seen, Status, hookfiles, play,
};
use dhcplab_scenario::{LeaseState, Scenario, ServerConfig, parse};
use dhcplab_timeline::Timeline;
use dhcplab_vnet::Faults;
use dhcplab_wire::v6::{ClientMessage, Message, MessageType, code};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A datagram a host was asked to send.
#[derive(Debug, Clone, PartialEq)]
struct Injected {
    from: usize,
    dst_mac: [u8; 6],
    src: SocketAddr,
    dst: SocketAddr,
    payload: Vec<u8>,
}

/// A network whose log, client and leases are given by the test.
struct Scripted {
    start: SystemTime,
    now: SystemTime,
    names: Vec<String>,
    macs: Vec<[u8; 6]>,
    log: Vec<Seen>,
    timeline: Timeline,
    injected: Vec<Injected>,
    view: ClientView,
    leases: Vec<(LeaseKey, LeaseRecord)>,
    /// How long a partition or a heal takes, as real time takes a while to carry one out.
    action_takes: Duration,
}

impl Scripted {
    fn new(
        s: &Scenario,
        log: Vec<Seen>,
        view: ClientView,
        leases: Vec<(LeaseKey, LeaseRecord)>,
    ) -> Self {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        Self {
            start,
            now: start,
            names: s.hosts.iter().map(|h| h.name.clone()).collect(),
            macs: s.hosts.iter().map(|h| h.mac).collect(),
            log,
            timeline: Timeline::new(start, Vec::new(), false),
            injected: Vec::new(),
            view,
            leases,
            action_takes: Duration::ZERO,
        }
    }
}

impl Network for Scripted {
    fn start(&self) -> SystemTime {
        self.start
    }
    fn now(&self) -> SystemTime {
        self.now
    }
    fn run_until(&mut self, target: SystemTime, done: &mut dyn FnMut(&[Seen]) -> bool) -> bool {
        self.now = self.now.max(target);
        done(&self.log)
    }
    fn log(&self) -> &[Seen] {
        &self.log
    }
    fn timeline(&mut self) -> &mut Timeline {
        &mut self.timeline
    }
    fn violation(&self) -> Option<String> {
        None
    }
    fn stuck(&self) -> Option<String> {
        None
    }
    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
    fn mac(&self, i: usize) -> [u8; 6] {
        self.macs[i]
    }
    fn address_of(&self, _: usize) -> Option<std::net::Ipv4Addr> {
        None
    }
    fn start_host(&mut self, _: usize) -> Result<(), String> {
        Ok(())
    }
    fn stop_host(&mut self, _: usize, _: bool) {}
    fn carrier(&mut self, _: usize, _: bool) {}
    fn suspend(&mut self, _: usize, _: bool) {}
    fn host_event(&mut self, _: usize, _: HostEvent) -> Result<(), String> {
        Ok(())
    }
    fn partition(&mut self, _: &[usize]) {
        self.now += self.action_takes;
    }
    fn heal(&mut self, _: &[usize]) {
        self.now += self.action_takes;
    }
    fn set_faults(&mut self, _: usize, _: Faults) {}
    fn inject(
        &mut self,
        i: usize,
        dst_mac: [u8; 6],
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) {
        self.injected.push(Injected {
            from: i,
            dst_mac,
            src,
            dst,
            payload: payload.to_vec(),
        });
    }
    fn reconfigure(&mut self, _: usize, _: &ServerConfig) -> Result<(), String> {
        Ok(())
    }
    fn events(&self, _: usize) -> Vec<String> {
        Vec::new()
    }
    fn client(&self, _: usize) -> Option<ClientView> {
        Some(self.view.clone())
    }
    fn lease_state(
        &self,
        _: usize,
        of: LeaseKey,
    ) -> Result<(LeaseState, Option<LeaseRecord>), String> {
        let found = self
            .leases
            .iter()
            .find(|(k, _)| *k == of)
            .map(|(_, l)| l.clone());
        Ok(dhcplab_runner::lease_state(found, 1_800_000_000))
    }
    fn active_leases(&self, _: usize) -> Result<u64, String> {
        Ok(self.leases.len() as u64)
    }
    fn hook_calls(&self, _: usize) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }
    fn command(&mut self, _: usize, _: &str) -> Result<serde_json::Value, String> {
        Ok(serde_json::json!({ "result": 0 }))
    }
    fn ha_state(&self, _: usize) -> Result<String, String> {
        Err("no HA".into())
    }
    fn script_runs(&self, _: usize) -> Result<Vec<hookfiles::ScriptRun>, String> {
        Ok(Vec::new())
    }
}

const SCENARIO: &str = r#"
[[host]]
name = "srv"
role = "server"
address = "2001:db8::1"
config = '''{ "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64" } ] } }'''

[[host]]
name = "c1"
role = "client"
family = "v6"
ia-pd = 1

[[host]]
name = "p"
role = "peer"

[[step]]
do = "send"
from = "p"
to = "broadcast"
[step.message]
type = "SOLICIT"
xid = 0x0a0b0c
[step.message.options]
client-id = "0x00030001020000005303"
ia-na = { iaid = 1 }
elapsed-time = 0

[[step]]
expect = "message"
from = "srv"
type = "ADVERTISE"
within = "2s"
[step.capture]
x = "xid"
a = "ia-na.iaaddr"
pfx = "ia-pd.iaprefix"
duid = "clientid"

[[step]]
do = "send"
from = "p"
to = "c1"
[step.message]
type = "REPLY"
xid = "$x"
[step.message.options]
client-id = "$duid"
ia-pd = { iaid = 9, iaprefix = { prefix = "$pfx", valid = 600 } }

[[step]]
expect = "client"
host = "c1"
state = "bound"
address = "$a"
prefix = "$pfx"

[[step]]
expect = "lease"
host = "srv"
prefix = "$pfx"
to = "c1"
"#;

fn advertise() -> Message {
    let mut m = ClientMessage::new(MessageType::ADVERTISE, 0x00ab_cdef);
    let addr: Ipv6Addr = "2001:db8:1::100".parse().expect("addr");
    let mut iaaddr = addr.octets().to_vec();
    iaaddr.extend(1800u32.to_be_bytes());
    iaaddr.extend(3600u32.to_be_bytes());
    let mut ia_na = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 24];
    ia_na.extend(iaaddr);
    let mut iaprefix = Vec::new();
    iaprefix.extend(1800u32.to_be_bytes());
    iaprefix.extend(3600u32.to_be_bytes());
    iaprefix.push(56);
    iaprefix.extend("2001:db8:8::".parse::<Ipv6Addr>().expect("addr").octets());
    let mut ia_pd = vec![0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 26, 0, 25];
    ia_pd.extend(iaprefix);
    m.options
        .push(code::CLIENT_ID, &[0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 2])
        .and_then(|o| o.push(code::IA_NA, &ia_na))
        .and_then(|o| o.push(code::IA_PD, &ia_pd))
        .expect("push");
    Message::Client(m)
}

fn seen_advertise() -> Seen {
    Seen {
        at_ns: 300_000_000,
        from: "srv".into(),
        to: Some("c1".into()),
        broadcast: false,
        src: "fe80::5eff:fe00:5301".parse::<IpAddr>().expect("addr"),
        dst: "fe80::5eff:fe00:5302".parse::<IpAddr>().expect("addr"),
        message: Payload::V6(advertise()),
        chaddr_host: None,
    }
}

fn pd_lease(duid: Vec<u8>) -> LeaseRecord {
    LeaseRecord::V6(Lease6 {
        address: "2001:db8:8::".parse().expect("addr"),
        duid,
        valid_lifetime: 3600,
        expire: 1_800_003_600,
        subnet_id: 1,
        preferred_lifetime: 1800,
        lease_type: LeaseType::Pd,
        iaid: 9,
        prefix_len: 56,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: String::new(),
        hwaddr: None,
        state: STATE_DEFAULT,
        user_context: None,
    })
}

fn bound_view() -> ClientView {
    ClientView {
        state: "bound".into(),
        address: None,
        addresses6: vec!["2001:db8:1::100".parse().expect("addr")],
        prefixes: vec![("2001:db8:8::".parse().expect("addr"), 56)],
    }
}

#[test]
fn v6_steps_send_capture_and_check_through_the_network() {
    let s = parse(SCENARIO, Path::new("t/v6.toml")).expect("reads");
    let c1_mac = s.host("c1").expect("c1").mac;
    // The server's lease belongs to c1 by a DUID-LL made from its link address (RFC 8415
    // 11.4: type 3, hardware type 1, the address).
    let duid_ll = [&[0, 3, 0, 1][..], &c1_mac].concat();
    let prefix = LeaseKey::Prefix("2001:db8:8::".parse().expect("addr"), 56);
    let mut net = Scripted::new(
        &s,
        vec![seen_advertise()],
        bound_view(),
        vec![(prefix, pd_lease(duid_ll))],
    );
    let o = play(&s, &mut net);
    assert_eq!(o.status, Status::Passed, "{}", o.message);
    assert_eq!(net.injected.len(), 2);
    let peer = s.host("p").expect("p");
    // A client's message goes to ff02::1:2 port 547, on 33:33:00:01:00:02 (RFC 2464 7), from
    // the sender's link-local address port 546 (RFC 8415 7).
    let solicit = &net.injected[0];
    assert_eq!(solicit.from, 2);
    assert_eq!(solicit.dst_mac, [0x33, 0x33, 0, 1, 0, 2]);
    assert_eq!(solicit.src, SocketAddr::new(peer.link_local().into(), 546));
    assert_eq!(solicit.dst, "[ff02::1:2]:547".parse().expect("addr"));
    let m = Message::decode(&solicit.payload).expect("decodes");
    assert_eq!(m.msg_type(), MessageType::SOLICIT);
    assert!(matches!(&m, Message::Client(c) if c.xid == 0x0a0b0c));
    // An answer to a client goes to its link-local address and link address, port 546, in
    // the transaction it captured, with the captured DUID and prefix.
    let reply = &net.injected[1];
    assert_eq!(reply.dst_mac, c1_mac);
    assert_eq!(
        reply.dst,
        SocketAddr::new(s.host("c1").expect("c1").link_local().into(), 546)
    );
    assert_eq!(reply.src.port(), 547);
    let m = Message::decode(&reply.payload).expect("decodes");
    assert!(
        matches!(&m, Message::Client(c) if c.xid == 0xab_cdef && c.msg_type == MessageType::REPLY)
    );
    assert_eq!(
        m.options().get(code::CLIENT_ID).map(|o| o.data.to_vec()),
        Some(vec![0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 2])
    );
    let pd = m.options().ia_pd().expect("ia_pd");
    let p = pd[0].options.get(code::IA_PREFIX).expect("iaprefix");
    let p = dhcplab_wire::v6::IaPrefix::parse(p.data, 0).expect("parses");
    assert_eq!((p.prefix_len, p.valid), (56, 600));
    assert_eq!(p.prefix, "2001:db8:8::".parse::<Ipv6Addr>().expect("addr"));
}

#[test]
fn v6_state_expectations_say_what_the_client_and_server_hold() {
    let s = parse(SCENARIO, Path::new("t/v6.toml")).expect("reads");
    // The client holds another prefix: the client step fails and says what it holds.
    let mut view = bound_view();
    view.prefixes = vec![("2001:db8:9::".parse().expect("addr"), 56)];
    let mut net = Scripted::new(&s, vec![seen_advertise()], view, Vec::new());
    let o = play(&s, &mut net);
    assert_eq!(o.status, Status::Failed);
    assert_eq!(o.failed_step, Some(3));
    assert!(
        o.message
            .ends_with("expected c1 with 2001:db8:8::/56, it has 2001:db8:9::/56"),
        "{}",
        o.message
    );
    // The lease is there, but another client's (its DUID is not made from c1's address).
    let prefix = LeaseKey::Prefix("2001:db8:8::".parse().expect("addr"), 56);
    let mut net = Scripted::new(
        &s,
        vec![seen_advertise()],
        bound_view(),
        vec![(
            prefix,
            pd_lease(vec![0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 0x99]),
        )],
    );
    let o = play(&s, &mut net);
    assert_eq!(o.failed_step, Some(4));
    assert!(
        o.message
            .ends_with("expected srv's lease of 2001:db8:8::/56 to belong to c1"),
        "{}",
        o.message
    );
    // No lease at all.
    let mut net = Scripted::new(&s, vec![seen_advertise()], bound_view(), Vec::new());
    let o = play(&s, &mut net);
    assert!(
        o.message
            .ends_with("expected srv's lease of 2001:db8:8::/56 active, it is absent"),
        "{}",
        o.message
    );
}

#[test]
fn a_crafted_message_no_datagram_carries_fails_its_step() {
    // A UDP datagram over IPv6 carries at most 65,527 bytes (RFC 8200 3: a 16-bit payload
    // length, less the UDP header); over IPv4 65,507. A larger crafted payload cannot be
    // framed, so its step fails instead of passing with nothing sent.
    let hosts = r#"
[[host]]
name = "srv"
role = "server"
address = "192.0.2.1"
config = '''{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ] } }'''

[[host]]
name = "c"
role = "client"
family = "v6"

[[host]]
name = "p"
role = "peer"
"#;
    for (to, size, max) in [("c", 65_528, 65_527), ("srv", 65_508, 65_507)] {
        let send = |size: usize| {
            format!(
                "{hosts}\n[[step]]\ndo = \"send\"\nfrom = \"p\"\nto = \"{to}\"\n[step.message]\npayload = \"0x{}\"\n",
                "01".repeat(size)
            )
        };
        let s = parse(&send(size), Path::new("t/big.toml")).expect("reads");
        let mut net = Scripted::new(&s, Vec::new(), bound_view(), Vec::new());
        let o = play(&s, &mut net);
        assert_eq!(o.failed_step, Some(0), "to {to}: {}", o.message);
        assert!(
            o.message.ends_with(&format!(
                "the crafted message has {size} bytes; a UDP datagram carries at most {max}"
            )),
            "to {to}: {}",
            o.message
        );
        assert!(net.injected.is_empty());
        // One byte less goes out.
        let s = parse(&send(max), Path::new("t/big.toml")).expect("reads");
        let mut net = Scripted::new(&s, Vec::new(), bound_view(), Vec::new());
        assert_eq!(play(&s, &mut net).status, Status::Passed);
        assert_eq!(net.injected.len(), 1);
        assert_eq!(net.injected[0].payload.len(), max);
    }
}

#[test]
fn not_address_holds_only_while_the_client_does_not_hold_it() {
    // Partial loss (one of two addresses gone) is the client keeping one address and not
    // the other: `address` says what it holds, `not-address` what it must not.
    let text = r#"
[[host]]
name = "c1"
role = "client"
family = "v6"
ia-na = 2

[[step]]
expect = "client"
host = "c1"
address = "2001:db8:1::100"
not-address = "2001:db8:1::101"
"#;
    let s = parse(text, Path::new("t/gone.toml")).expect("reads");
    let mut net = Scripted::new(&s, Vec::new(), bound_view(), Vec::new());
    let o = play(&s, &mut net);
    assert_eq!(o.status, Status::Passed, "{}", o.message);
    let mut view = bound_view();
    view.addresses6
        .push("2001:db8:1::101".parse().expect("addr"));
    let mut net = Scripted::new(&s, Vec::new(), view, Vec::new());
    let o = play(&s, &mut net);
    assert_eq!(o.failed_step, Some(0));
    assert!(
        o.message.ends_with(
            "expected c1 without 2001:db8:1::101, it has 2001:db8:1::100, 2001:db8:1::101"
        ),
        "{}",
        o.message
    );
}

/// An Advertise, then a partition and a heal that take 0.8 s each to carry out, then a
/// second Advertise `after` the first, which the scenario wants 19.9 to 20.1 s after it.
fn second_advertise_after_slow_actions(after: Duration) -> dhcplab_runner::Outcome {
    let hosts = SCENARIO.split("[[step]]").next().unwrap_or_default();
    let steps = r#"
[[step]]
expect = "message"
from = "srv"
type = "ADVERTISE"
within = "2s"

[[step]]
do = "partition"
hosts = ["srv", "c1"]

[[step]]
do = "heal"
hosts = ["srv"]

[[step]]
expect = "message"
from = "srv"
type = "ADVERTISE"
not-before = "19.9s"
within = "20.1s"
"#;
    let s = parse(&format!("{hosts}{steps}"), Path::new("t/slow.toml")).expect("reads");
    let first = seen_advertise();
    let second = Seen {
        at_ns: first.at_ns + after.as_nanos(),
        ..first.clone()
    };
    let mut net = Scripted::new(&s, vec![first, second], bound_view(), Vec::new());
    net.action_takes = Duration::from_millis(800);
    play(&s, &mut net)
}

#[test]
fn a_lower_bound_counts_from_the_scenarios_time_not_from_when_slow_actions_ended() {
    let o = second_advertise_after_slow_actions(Duration::from_secs(20));
    assert_eq!(o.status, Status::Passed, "{}", o.message);
    // Early is still early: 19.5 s after the first.
    let o = second_advertise_after_slow_actions(Duration::from_millis(19_500));
    assert_eq!(o.status, Status::Failed, "{}", o.message);
    assert!(
        o.message
            .contains("no earlier than 19.9s after +300ms, but it came at +19.8s"),
        "{}",
        o.message
    );
}
