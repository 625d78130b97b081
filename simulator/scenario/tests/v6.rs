//! The DHCPv6 part of the language: v6 servers, clients and relays on segments, v6 message
//! types, checks and captures of IA paths, crafted v6 messages; and every fault of it placed
//! at its line and column.

mod common;

use common::{faults, place_of};
use dhcplab_scenario::v6::{Header6, Leaf6};
use dhcplab_scenario::{
    Act, AddrRef, Expect, Family, IaKind, Kind, LeaseOf, Path6, PrefixRef, Role, Target, To, What,
    parse,
};
use dhcplab_wire::v6::{Message, MessageType, code};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::path::Path;

const HOSTS: &str = r#"
[[host]]
name = "srv"
role = "server"
address = "2001:db8::1"
segment = "core"
config = '''
{ "Dhcp6": { "interfaces-config": { "interfaces": [ "eth0" ] },
  "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64",
    "pools": [ { "pool": "2001:db8:1::100 - 2001:db8:1::1ff" } ],
    "pd-pools": [ { "prefix": "2001:db8:8::", "prefix-len": 48, "delegated-len": 56 } ] } ] } }
'''

[[host]]
name = "r2"
role = "relay"
segments = ["mid", "core"]
upstream = "srv"
link-address = "2001:db8:2::1"
address = "2001:db8::2"

[[host]]
name = "r1"
role = "relay"
segments = ["lan", "mid"]
upstream = "r2"
link-address = "2001:db8:1::1"
interface-id = "eth1"

[[host]]
name = "c"
role = "client"
family = "v6"
count = 2
ia-na = 2
ia-pd = 1
rapid-commit = true
request = [23, 24, 82]

[[host]]
name = "old"
role = "client"
segment = "v4lan"

[[host]]
name = "scripted"
role = "peer"
address = "2001:db8:1::99"
"#;

const STEPS: &str = r#"
[[step]]
expect = "message"
from = "c1"
type = "SOLICIT"
within = "10s"
[step.fields]
dst = "ff02::1:2"
[step.options]
ia-na = "present"
oro = [23, 24, 82]
rapid-commit = "present"
elapsed-time = { max = 100 }

[[step]]
expect = "message"
from = "r2"
to = "srv"
type = "RELAY-FORW"
within = "1s"
[step.fields]
hops = 1
link-address = "2001:db8:2::1"
inner = "SOLICIT"
[step.options]
client-id = "present"

[[step]]
expect = "message"
from = "srv"
type = "RELAY-REPL"
within = "1s"
[step.options]
ia-na.iaaddr = "2001:db8:1::/64"
"ia-na[2].iaaddr.valid" = { min = 60 }
ia-pd.iaprefix = "2001:db8:8::/48"
status-code = "Success"
ia-pd.status-code = "absent"
[step.capture]
a = "ia-na.iaaddr"
p = "ia-pd.iaprefix"
duid = "client-id"
x = "xid"
iaid = "ia-pd.iaid"

[[step]]
expect = "client"
host = "c1"
state = "bound"
address = "$a"
prefix = "$p"

[[step]]
expect = "lease"
host = "srv"
prefix = "$p"
to = "c1"

[[step]]
expect = "lease"
host = "srv"
address = "2001:db8:1::1ff"
state = "absent"

[[step]]
do = "send"
from = "scripted"
to = "c2"
[step.message]
type = "REPLY"
xid = "$x"
[step.message.options]
client-id = "$duid"
server-id = "0x000100011c39cf88080027fe8f95"
ia-pd = { iaid = "$iaid", t1 = 0, t2 = 0, iaprefix = { prefix = "2001:db8:8::/56", preferred = 0, valid = 0 }, status-code = { code = "NoPrefixAvail", message = "gone" } }
dns-servers = "2001:db8::53"
ia-na = [ { iaid = 1, t1 = 1800, t2 = 2880, iaaddr = [ { address = "2001:db8:1::100", preferred = 1800, valid = 3600 }, { address = "2001:db8:1::101" } ] }, { iaid = 2, iaaddr = { address = "2001:db8:1::102", valid = 60 } } ]
rapid-commit = true
preference = 255
domain-search = "example.com, lab.example.com"

[[step]]
expect = "message"
from = "old"
type = "REQUEST"
within = "5s"

[[step]]
expect = "message"
from = "c2"
type = "REQUEST"
within = "5s"

[[step]]
expect = "client"
host = "c2"
prefix = "none"
"#;

#[test]
fn a_v6_topology_with_two_relays_reads() {
    let text = format!("{HOSTS}{STEPS}");
    let s = parse(&text, Path::new("scenarios/v6/good.toml")).expect("reads");
    let srv = s.host("srv").expect("srv");
    let Role::Server6(v6) = &srv.role else {
        panic!("srv is a DHCPv6 server: {:?}", srv.role)
    };
    assert_eq!(v6.address, "2001:db8::1".parse::<Ipv6Addr>().expect("addr"));
    let subnet = &v6.config.dhcp6.subnets[0];
    assert_eq!(
        (subnet.prefix.network, subnet.prefix.len),
        ("2001:db8:1::".parse().expect("addr"), 64)
    );
    assert_eq!(subnet.pd_pools[0].delegated_len, 56);
    assert_eq!(srv.segment, "core");
    assert_eq!(srv.family(), Some(Family::V6));
    let r1 = s.host("r1").expect("r1");
    let Role::Relay(r) = &r1.role else {
        panic!("r1 is a relay")
    };
    assert_eq!(
        (r.client_side.as_str(), r.server_side.as_str()),
        ("lan", "mid")
    );
    assert_eq!(r1.segments(), vec!["lan", "mid"]);
    assert_eq!(r.upstream, "r2");
    assert_eq!(r.interface_id.as_deref(), Some(&b"eth1"[..]));
    assert_eq!(r.address, None);
    let Role::Client6(c) = &s.host("c2").expect("c2").role else {
        panic!("c2 is a DHCPv6 client")
    };
    assert_eq!((c.ia_na, c.ia_pd, c.rapid_commit), (2, 1, true));
    assert_eq!(c.request, vec![23, 24, 82]);
    assert_eq!(c.group.as_deref(), Some("c"));
    assert_eq!(s.host("c1").expect("c1").segment, "lan");
    // Every host has its link-local address from its MAC (RFC 4291 appendix A).
    let c1 = s.host("c1").expect("c1");
    assert_eq!(c1.mac, [2, 0, 0x5e, 0, 0x53, 4]);
    assert_eq!(
        c1.link_local(),
        "fe80::5eff:fe00:5304".parse::<Ipv6Addr>().expect("addr")
    );
    assert!(matches!(s.host("old").expect("old").role, Role::Client(_)));

    let Some(What::Expect(Expect::Message { filter, checks, .. })) =
        s.steps.first().map(|s| &s.what)
    else {
        panic!("a message step")
    };
    assert_eq!(filter.kind, Some(Kind::Dhcp6(MessageType::SOLICIT)));
    let oro = checks
        .iter()
        .find(|c| c.target.to_string() == "oro")
        .expect("oro");
    assert_eq!(
        oro.matcher,
        dhcplab_scenario::Matcher::Bytes(vec![0, 23, 0, 24, 0, 82])
    );
    let What::Expect(Expect::Message {
        checks, capture, ..
    }) = &s.steps[2].what
    else {
        panic!("a message step")
    };
    let targets: Vec<String> = checks.iter().map(|c| c.target.to_string()).collect();
    assert_eq!(
        targets,
        [
            "ia-na.iaaddr",
            "ia-na[2].iaaddr.valid",
            "ia-pd.iaprefix",
            "ia-pd.status-code",
            "status-code"
        ]
    );
    // A status code by name is its number (RFC 8415 21.13: Success is 0).
    assert_eq!(checks[4].matcher, dhcplab_scenario::Matcher::Int(0));
    assert!(capture.contains(&(
        "p".to_string(),
        Target::Option6(Path6 {
            ia: Some((IaKind::Pd, 1)),
            leaf: Leaf6::Lease
        })
    )));
    let What::Expect(Expect::Client {
        address, prefix, ..
    }) = &s.steps[3].what
    else {
        panic!("a client step")
    };
    assert_eq!(address, &Some(Some(AddrRef::Var("a".into()))));
    assert_eq!(prefix, &Some(Some(PrefixRef::Var("p".into()))));
    let What::Expect(Expect::Lease { of, owner, .. }) = &s.steps[4].what else {
        panic!("a lease step")
    };
    assert_eq!(of, &LeaseOf::Prefix(PrefixRef::Var("p".into())));
    assert_eq!(owner.as_deref(), Some("c1"));
    // REQUEST is a type of both versions: the sending host says which.
    let kind = |n: usize| match &s.steps[n].what {
        What::Expect(Expect::Message { filter, .. }) => filter.kind,
        _ => None,
    };
    assert_eq!(
        kind(7),
        Some(Kind::Dhcp(dhcplab_wire::v4::MessageType::Request))
    );
    assert_eq!(kind(8), Some(Kind::Dhcp6(MessageType::REQUEST)));
}

#[test]
fn a_crafted_v6_answer_takes_captured_values_when_it_is_sent() {
    let text = format!("{HOSTS}{STEPS}");
    let s = parse(&text, Path::new("scenarios/v6/good.toml")).expect("reads");
    let What::Act(Act::Send6(send)) = &s.steps[6].what else {
        panic!("a v6 send: {:?}", s.steps[6].what)
    };
    assert_eq!(send.to, To::Host("c2".into()));
    // A server's answer goes from its link-local address, port 547, to the client's
    // link-local address, port 546 (RFC 8415 7.2).
    let c2 = s.host("c2").expect("c2");
    let peer = s.host("scripted").expect("peer");
    assert_eq!(*send.src.ip(), peer.link_local());
    assert_eq!(send.src.port(), 547);
    assert_eq!(*send.dst.ip(), c2.link_local());
    assert_eq!(send.dst.port(), 546);
    assert!(matches!(
        send.message.header,
        Header6::Client { kind: 7, .. }
    ));
    let mut vars = BTreeMap::new();
    vars.insert("x".to_string(), vec![0xab, 0xcd, 0xef]);
    vars.insert("duid".to_string(), vec![0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 5]);
    vars.insert("iaid".to_string(), vec![0, 0, 0, 7]);
    let bytes = send.message.encode(&vars).expect("encodes");
    let m = Message::decode(&bytes).expect("decodes");
    assert!(m.validate().is_empty(), "{:?}", m.validate());
    let Message::Client(c) = &m else {
        panic!("a client message")
    };
    assert_eq!((c.msg_type, c.xid), (MessageType::REPLY, 0x00ab_cdef));
    let o = m.options();
    assert_eq!(
        o.get(code::CLIENT_ID).map(|x| x.data.to_vec()),
        vars.get("duid").cloned()
    );
    assert_eq!(o.get(code::SERVER_ID).map(|x| x.data.len()), Some(14));
    let pd = o.ia_pd().expect("ia_pd");
    assert_eq!((pd[0].iaid, pd[0].t1, pd[0].t2), (7, 0, 0));
    let prefix = pd[0].options.get(code::IA_PREFIX).expect("iaprefix");
    let prefix = dhcplab_wire::v6::IaPrefix::parse(prefix.data, 0).expect("parses");
    assert_eq!(
        (prefix.prefix, prefix.prefix_len, prefix.valid),
        ("2001:db8:8::".parse().expect("addr"), 56, 0)
    );
    let status = pd[0].options.status_code().expect("ok").expect("status");
    assert_eq!((status.code, status.message.as_slice()), (6, &b"gone"[..]));
    assert_eq!(
        o.dns_servers().expect("ok"),
        Some(vec!["2001:db8::53".parse().expect("addr")])
    );
    let na = o.ia_na().expect("ia_na");
    assert_eq!((na[0].iaid, na[0].t1, na[0].t2), (1, 1800, 2880));
    let addrs: Vec<(Ipv6Addr, u32)> = na[0]
        .options
        .get_all(code::IA_ADDR)
        .map(|a| {
            let a = dhcplab_wire::v6::IaAddress::parse(a.data, 0).expect("iaaddr");
            (a.addr, a.valid)
        })
        .collect();
    assert_eq!(
        addrs,
        vec![
            ("2001:db8:1::100".parse().expect("addr"), 3600),
            ("2001:db8:1::101".parse().expect("addr"), 0)
        ]
    );
    // A list of tables is one option each: two IA_NAs.
    assert_eq!(na.len(), 2);
    assert_eq!(na[1].iaid, 2);
    assert!(o.rapid_commit().expect("ok"));
    assert_eq!(o.preference().expect("ok"), Some(255));
    let names: Vec<String> = o
        .domain_list()
        .expect("ok")
        .expect("present")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[1].starts_with("lab.example.com"), "{names:?}");
    // A captured IAID of the wrong length is refused when the step runs.
    vars.insert("iaid".to_string(), vec![7]);
    assert!(send.message.encode(&vars).is_err());
}

/// The place right after `needle` in `text`.
fn after(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).expect("needle") + needle.len();
    let p = dhcplab_scenario::Place::of(text, at);
    (p.line, p.column)
}

/// The scenario with `extra` after the hosts.
fn with(extra: &str) -> String {
    format!("{HOSTS}{extra}")
}

#[test]
fn keys_of_one_version_on_a_host_of_the_other_are_faults() {
    let text = with(
        "
[[host]]
name = \"v6c\"
role = \"client\"
family = \"v6\"
bootp = true
hostname = \"x\"

[[host]]
name = \"v4c\"
role = \"client\"
ia-pd = 1
duid = \"0x00030001020304050607\"

[[host]]
name = \"v5\"
role = \"client\"
family = \"v5\"

[[host]]
name = \"s2\"
role = \"server\"
family = \"v6\"
address = \"2001:db8::9\"
config = '{ \"Dhcp6\": { } }'
",
    );
    let f = faults(&text);
    let want = [
        (
            place_of(&text, "true\nhostname"),
            "bootp is for DHCPv4 clients (this one is family = \"v6\")",
        ),
        (
            place_of(&text, "\"x\""),
            "hostname is for DHCPv4 clients (this one is family = \"v6\")",
        ),
        (
            place_of(&text, "1\nduid"),
            "ia-pd is for DHCPv6 clients (family = \"v6\") only",
        ),
        (
            place_of(&text, "\"0x0003"),
            "duid is for DHCPv6 clients (family = \"v6\") only",
        ),
        (
            after(&text, "name = \"v5\"\nrole = \"client\"\nfamily = "),
            "family \"v5\": expected \"v4\" or \"v6\"",
        ),
        (
            place_of(&text, "\"v6\"\naddress = \"2001:db8::9\""),
            "family is for clients only (a server's is its config's: a Dhcp4 or a Dhcp6 map)",
        ),
    ];
    let got: Vec<((usize, usize), &str)> =
        f.iter().map(|(l, c, m)| ((*l, *c), m.as_str())).collect();
    for w in want {
        assert!(got.contains(&(w.0, w.1)), "{w:?} not in {got:?}");
    }
    assert_eq!(f.len(), 6, "{f:?}");
}

#[test]
fn v6_addresses_and_subnets_outside_2001_db8_are_refused() {
    let text = r#"
[[host]]
name = "srv"
role = "server"
address = "2001:db9::1"
config = '''
{ "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db9:1::/64" } ] } }
'''

[[host]]
name = "srv2"
role = "server"
address = "192.0.2.1"
config = '{ "Dhcp6": { } }'

[[host]]
name = "p"
role = "peer"
address = "fd00::1"
"#;
    let f = faults(text);
    assert_eq!(
        f,
        vec![
            (
                place_of(text, "\"2001:db9::1\"").0,
                place_of(text, "\"2001:db9::1\"").1,
                "2001:db9::1 is outside the range a run may use (2001:db8::/32)".to_string()
            ),
            (
                place_of(text, "\"2001:db9:1::/64\"").0,
                place_of(text, "\"2001:db9:1::/64\"").1,
                "server config: Dhcp6.subnet6[0].subnet: 2001:db9:1::/64 is outside the range a run may use (2001:db8::/32)".to_string()
            ),
            (
                place_of(text, "\"192.0.2.1\"").0,
                place_of(text, "\"192.0.2.1\"").1,
                "\"192.0.2.1\": a DHCPv6 server's address is an IPv6 address".to_string()
            ),
            (
                place_of(text, "\"fd00::1\"").0,
                place_of(text, "\"fd00::1\"").1,
                "fd00::1 is outside the range a run may use (2001:db8::/32)".to_string()
            ),
        ]
    );
}

#[test]
fn relays_are_checked() {
    let base = r#"
[[host]]
name = "srv"
role = "server"
address = "2001:db8::1"
segment = "core"
config = '{ "Dhcp6": { } }'

[[host]]
name = "srv4"
role = "server"
address = "192.0.2.1"
segment = "core"
config = '{ "Dhcp4": { } }'
"#;
    let text = format!(
        r#"{base}
[[host]]
name = "ra"
role = "relay"
segments = ["lan", "mid"]
upstream = "srv"
link-address = "2001:db8:1::1"

[[host]]
name = "rb"
role = "relay"
segments = ["lan", "core"]
upstream = "srv4"
link-address = "2001:db8:1::1"

[[host]]
name = "rc"
role = "relay"
segments = ["x", "y"]
upstream = "rd"
link-address = "2001:db8:1::1"

[[host]]
name = "rd"
role = "relay"
segments = ["y", "x"]
upstream = "rc"
link-address = "2001:db8:1::1"
"#
    );
    let f = faults(&text);
    let at = |name: &str| place_of(&text, &format!("[[host]]\nname = \"{name}\"")).0 + 1;
    let msgs: Vec<(usize, String)> = f.iter().map(|(l, _, m)| (*l, m.clone())).collect();
    assert_eq!(
        msgs,
        vec![
            (at("ra") - 1, "relay \"ra\": upstream \"srv\" is on segment \"core\", not on this relay's server side \"mid\"".to_string()),
            (at("rb") - 1, "relay \"rb\": upstream \"srv4\" is not a DHCPv6 server or relay".to_string()),
            (at("rc") - 1, "relay \"rc\": relays forward to each other in a loop: rc -> rd -> rc".to_string()),
            (at("rd") - 1, "relay \"rd\": relays forward to each other in a loop: rd -> rc -> rd".to_string()),
        ]
    );
    let text = format!(
        r#"{base}
[[host]]
name = "re"
role = "relay"
segment = "lan"

[[host]]
name = "rf"
role = "relay"
segments = ["lan"]

[[host]]
name = "rg"
role = "relay"
segments = ["lan", "core"]
link-address = "2001:db8:1::1"

[[host]]
name = "p"
role = "peer"
upstream = "srv"
"#
    );
    let f = faults(&text);
    let got: Vec<(usize, usize, &str)> = f.iter().map(|(l, c, m)| (*l, *c, m.as_str())).collect();
    let p = |needle: &str| place_of(&text, needle);
    assert_eq!(
        got,
        vec![
            (
                p("\"lan\"\n").0,
                p("\"lan\"\n").1,
                "a relay sits on two segments: give segments = [\"client-side\", \"server-side\"]"
            ),
            (
                p("[\"lan\"]").0,
                p("[\"lan\"]").1,
                "segments is two names: the clients' side, then the server's"
            ),
            (
                p("[[host]]\nname = \"rg\"").0,
                1,
                "a relay needs upstream: the server or relay it forwards to"
            ),
            (
                p("upstream = \"srv\"").0,
                p("upstream = \"srv\"").1 + 11,
                "upstream is for relays only"
            ),
        ]
    );
}

#[test]
fn v6_steps_are_checked() {
    let text = with(
        r#"
[[step]]
expect = "message"
type = "REQUEST"
within = "1s"

[[step]]
expect = "message"
from = "c1"
type = "DISCOVER"
within = "1s"

[[step]]
expect = "message"
from = "c1"
type = "SOLICIT"
within = "1s"
[step.fields]
yiaddr = "2001:db8::1"
link-address = "2001:db8::1"

[[step]]
expect = "message"
from = "srv"
type = "REPLY"
within = "1s"
[step.options]
ia-na.iaprefix = "present"
status-code = "Fine"
ia-pd.iaprefix = "2001:db8:8::1"

[[step]]
expect = "client"
host = "c1"
state = "selecting"

[[step]]
expect = "client"
host = "old"
prefix = "2001:db8:8::/56"

[[step]]
do = "inform"
host = "c1"
address = "2001:db8:1::5"

[[step]]
expect = "lease"
host = "srv"
address = "2001:db8:1::5"
prefix = "2001:db8:8::/56"
"#,
    );
    let f = faults(&text);
    let got: Vec<(usize, usize, &str)> = f.iter().map(|(l, c, m)| (*l, *c, m.as_str())).collect();
    let p = |needle: &str| place_of(&text, needle);
    let want: Vec<((usize, usize), &str)> = vec![
        (
            p("\"REQUEST\"\nwithin"),
            "REQUEST is a DHCPv4 and a DHCPv6 type: give from or to a host of one version to say which",
        ),
        (
            p("\"DISCOVER\""),
            "DISCOVER is a DHCPv4 message, and \"c1\" speaks DHCPv6",
        ),
        (
            p("\"2001:db8::1\"\nlink-address"),
            "a DHCPv6 message has no field yiaddr",
        ),
        (
            p("\"2001:db8::1\"\n\n"),
            "link-address is a field of RELAY-FORW and RELAY-REPL, not of SOLICIT",
        ),
        // A dotted key's fault is at the key: TOML gives the value no place of its own.
        (
            p("ia-na.iaprefix"),
            "\"ia-na.iaprefix\": ia-na has iaid, t1, t2, status-code, iaaddr, iaaddr.valid, iaaddr.preferred",
        ),
        (
            p("\"Fine\""),
            "\"Fine\" is not a status code: Success, UnspecFail, NoAddrsAvail, NoBinding, NotOnLink, UseMulticast, NoPrefixAvail, or a number",
        ),
        (
            p("ia-pd.iaprefix"),
            "\"2001:db8:8::1\": a delegated prefix is matched by a prefix (2001:db8:8::/56)",
        ),
        (
            p("\"selecting\""),
            "unknown DHCPv6 client state \"selecting\": expected one of init, soliciting, requesting, bound, renewing, rebinding, confirming, declining, releasing, informing, informed, idle, stopped",
        ),
        (
            p("\"2001:db8:8::/56\"\n\n[[step]]\ndo"),
            "prefix is for DHCPv6 clients; \"old\" is a DHCPv4 client",
        ),
        (
            p("\"c1\"\naddress = \"2001:db8:1::5\""),
            "inform is for DHCPv4 clients; \"c1\" is a DHCPv6 client (information-only = true makes it send Information-request)",
        ),
        (
            after(&text, "address = \"2001:db8:1::5\"\nprefix = "),
            "a lease is of an address or of a prefix, not both",
        ),
    ];
    let want: Vec<(usize, usize, &str)> = want.into_iter().map(|((l, c), m)| (l, c, m)).collect();
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for w in &want {
        assert!(got.contains(w), "{w:?} not in {got:#?}");
    }
}

#[test]
fn crafted_v6_messages_are_checked() {
    let text = with(
        r#"
[[step]]
do = "send"
from = "scripted"
to = "srv"
[step.message]
type = "SOLICIT"
ciaddr = "192.0.2.1"
xid = 16777216

[[step]]
do = "send"
from = "scripted"
to = "srv"
[step.message]
type = "RENEW"
[step.message.options]
no-such = 1
ia-pd = { iaid = 1, color = "red" }
rapid-commit = false
"#,
    );
    let f = faults(&text);
    let got: Vec<(usize, usize, &str)> = f.iter().map(|(l, c, m)| (*l, *c, m.as_str())).collect();
    let p = |needle: &str| place_of(&text, needle);
    let want = vec![
        (
            p("\"192.0.2.1\"").0,
            p("\"192.0.2.1\"").1,
            "ciaddr is a DHCPv4 field; this message is DHCPv6",
        ),
        (
            p("1\nia-pd").0,
            p("1\nia-pd").1,
            "unknown DHCPv6 option \"no-such\": give its code or Kea's name (clientid, ia-na, dns-servers, ...)",
        ),
        (
            p("\"red\"").0,
            p("\"red\"").1,
            "ia-pd takes iaid, t1, t2, iaprefix and status-code, not color",
        ),
        (
            p("false").0,
            p("false").1,
            "rapid-commit has no data: write rapid-commit = true (to leave it out, leave it out)",
        ),
    ];
    assert_eq!(got, want);
    // The xid fault comes once the v4 field is gone.
    let text = text.replace("ciaddr = \"192.0.2.1\"\n", "");
    let f = faults(&text);
    assert!(
        f.iter().any(|(_, _, m)| m
            == "a DHCPv6 xid is a number from 0 to 16777215, or \"$name\" for a captured one"),
        "{f:?}"
    );
}

#[test]
fn a_v4_scenario_reads_as_before() {
    // With no DHCPv6 host, a type without hosts is DHCPv4's, as it always was.
    let text = r#"
[[host]]
name = "c1"
role = "client"

[[step]]
expect = "message"
type = "REQUEST"
within = "1s"
[step.fields]
yiaddr = "192.0.2.5"
"#;
    let s = parse(text, Path::new("t/v4.toml")).expect("reads");
    let What::Expect(Expect::Message { filter, .. }) = &s.steps[0].what else {
        panic!("a message step")
    };
    assert_eq!(
        filter.kind,
        Some(Kind::Dhcp(dhcplab_wire::v4::MessageType::Request))
    );
    assert_eq!(s.hosts[0].family(), Some(Family::V4));
    assert_eq!(s.hosts[0].segment, "lan");
}

#[test]
fn a_bad_dhcp6_configuration_is_placed_inside_the_scenario_file() {
    let text = r#"
[[host]]
name = "srv"
role = "server"
address = "2001:db8::1"
config = '''
{ "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64",
    "pools": [ { "pool": "2001:db8:2::100 - 2001:db8:2::1ff" } ] } ],
  "valid-lifetime": "long" } }
'''
"#;
    // Kea's own checks (dhcplab_kea_config::dhcp6) come first, at their JSON path and place.
    let p = |needle: &str| place_of(text, needle);
    assert_eq!(
        faults(text),
        vec![
            (
                p("\"2001:db8:2::100").0,
                p("\"2001:db8:2::100").1,
                "server config: Dhcp6.subnet6[0].pools[0].pool: pool \"2001:db8:2::100 - 2001:db8:2::1ff\" is not inside the subnet".to_string()
            ),
            (
                p("\"long\"").0,
                p("\"long\"").1,
                "server config: Dhcp6.valid-lifetime: expected an integer from 0 to 4294967295, found a string".to_string()
            )
        ]
    );
    // Once it reads, the lab's range: a prefix pool outside 2001:db8::/32 (Kea does not ask
    // a prefix pool to be inside its subnet).
    let text = text
        .replace("\"valid-lifetime\": \"long\"", "\"valid-lifetime\": 600")
        .replace(
            "\"pools\": [ { \"pool\": \"2001:db8:2::100 - 2001:db8:2::1ff\" } ]",
            "\"pd-pools\": [ { \"prefix\": \"2001:db9:8::\", \"prefix-len\": 48, \"delegated-len\": 56 } ]",
        );
    assert_eq!(
        faults(&text),
        vec![(
            place_of(&text, "\"2001:db9:8::\"").0,
            place_of(&text, "\"2001:db9:8::\"").1,
            "server config: Dhcp6.subnet6[0].pd-pools[0].prefix: 2001:db9:8:: is outside the range a run may use (2001:db8::/32)".to_string()
        )]
    );
}

/// `extra` after the hosts has exactly one fault, `message`, at the first `at` in `extra`.
fn only_fault(extra: &str, at: &str, message: &str) {
    let text = with(extra);
    let offset = HOSTS.len() + extra.find(at).expect("needle in extra");
    let p = dhcplab_scenario::Place::of(&text, offset);
    assert_eq!(
        faults(&text),
        vec![(p.line, p.column, message.to_string())],
        "{extra}"
    );
}

#[test]
fn every_host_fault_is_placed() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[[host]]\nname = \"x\"\nrole = \"client\"\nsegment = \"a b\"\n",
            "\"a b\"",
            "segment name \"a b\": use letters, digits, '-' and '_'",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"relay\"\nsegments = [\"mid\", \"mid\"]\nupstream = \"srv\"\nlink-address = \"2001:db8:1::1\"\n",
            "\"mid\"]",
            "a relay's two segments must differ",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"relay\"\nsegments = [\"lan\", \"core\"]\nupstream = \"srv\"\n",
            "[[host]]",
            "a relay needs link-address: the address (2001:db8::/32) that names its clients' link in Relay-forw",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"relay\"\nsegments = [\"lan\", \"core\"]\nupstream = \"srv\"\nlink-address = \"2001:db8:1::1\"\ninterface-id = \"\"\n",
            "\"\"\n",
            "an Interface-Id has at least one byte",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"relay\"\nsegments = [\"lan\", \"core\"]\nupstream = \"srv\"\nlink-address = \"fe80::1\"\n",
            "\"fe80::1\"",
            "fe80::1 is outside the range a run may use (2001:db8::/32)",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"relay\"\nsegments = [\"lan\", \"core\"]\nupstream = \"srv\"\nlink-address = \"2001:db8:1::1\"\nclock = \"+1s\"\n",
            "\"+1s\"",
            "clock is for servers only",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"relay\"\nsegments = [\"lan\", \"core\"]\nupstream = \"nobody\"\nlink-address = \"2001:db8:1::1\"\n",
            "[[host]]",
            "relay \"x\": no host named \"nobody\"",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"relay\"\nsegments = [\"lan\", \"core\"]\nupstream = \"r1\"\nlink-address = \"2001:db8:1::1\"\n",
            "[[host]]",
            "relay \"x\": upstream \"r1\" has its clients' side on segment \"lan\", not on this relay's server side \"core\"",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"client\"\nfamily = \"v6\"\nia-na = 9\n",
            "9\n",
            "ia-na is how many to ask for, 0 to 8",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"client\"\nfamily = \"v6\"\ninformation-only = true\nia-pd = 1\n",
            "1\n",
            "an information-only client asks for no IA (RFC 8415 18.2.6): leave out ia-na and ia-pd",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"client\"\nfamily = \"v6\"\nia-na = 0\n",
            "\"x\"",
            "a DHCPv6 client asks for an IA_NA or an IA_PD (ia-na, ia-pd), or is information-only",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"client\"\nfamily = \"v6\"\nduid = \"0x0001\"\n",
            "\"0x0001\"",
            "a DUID is 3 to 130 bytes (RFC 8415 11.1): a 2-byte type and its data",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"client\"\nfamily = \"v6\"\nrequest = [23, 0]\n",
            "0]",
            "an option code is 1 to 65535",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"client\"\nfamily = \"v6\"\noffer-wait = \"3s\"\n",
            "\"3s\"",
            "offer-wait is for DHCPv4 clients (this one is family = \"v6\")",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"peer\"\nrapid-commit = true\n",
            "true",
            "rapid-commit is for DHCPv6 clients (family = \"v6\") only",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"peer\"\nlink-address = \"2001:db8:1::1\"\n",
            "\"2001:db8:1::1\"",
            "link-address is for relays only",
        ),
        (
            "[[host]]\nname = \"x\"\nrole = \"server\"\naddress = \"2001:db8::5\"\nconfig = '{ \"Dhcp6\": { } }'\nrequest = [23]\n",
            "[23]",
            "request is for DHCPv6 clients (family = \"v6\") only",
        ),
    ];
    for (extra, at, message) in cases {
        only_fault(extra, at, message);
    }
}

const SEND: &str = "[[step]]\ndo = \"send\"\nfrom = \"scripted\"\nto = \"srv\"\n[step.message]\n";

#[test]
fn every_crafted_message_fault_is_placed() {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!("{SEND}type = \"SOLICIT\"\npayload = \"0x01\"\n"),
            "\"0x01\"",
            "payload gives the whole message: type cannot go with it",
        ),
        (
            format!("{SEND}xid = 1\nhops = 2\n"),
            "[step.message]",
            "a DHCPv6 message needs type (SOLICIT, REPLY, RELAY-FORW, ...)",
        ),
        (
            format!("{SEND}type = \"RELAY-FORW\"\nxid = 5\n"),
            "5\n",
            "a relay message has no xid (it has hops, link-address and peer-address)",
        ),
        (
            format!("{SEND}type = \"SOLICIT\"\nhops = 1\n"),
            "1\n",
            "hops is a field of RELAY-FORW and RELAY-REPL, not of SOLICIT",
        ),
        (
            format!("{SEND}type = \"RELAY-FORW\"\nlink-address = \"2001:db9::1\"\n"),
            "\"2001:db9::1\"",
            "2001:db9::1 is outside the range a run may use (2001:db8::/32)",
        ),
        (
            format!("{SEND}type = \"SOLICIT\"\n[step.message.options]\nia-na = {{ iaid = 1, t1 = -1 }}\n"),
            "-1",
            "ia-na: t1 is a number from 0 to 4294967295",
        ),
        // A fault inside a list of IAs written over several lines is placed at its part
        // (the second IA's address), not at the list's first line.
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nia-na = [ {{ iaid = 1, iaaddr = {{ address = \"2001:db8:1::1\" }} }},\n  {{ iaid = 2, iaaddr = [ {{ address = \"2001:db8:1::2\" }}, {{ address = \"2001:db9::2\" }} ] }} ]\n"),
            "\"2001:db9::2\"",
            "2001:db9::2 is outside the range a run may use (2001:db8::/32)",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nia-pd = [ {{ iaid = 1 }},\n  {{ iaid = 2, iaprefix = {{ prefix = \"2001:db8:8::/56\", status-code = {{ code = \"Nope\" }} }} }} ]\n"),
            "\"Nope\"",
            "\"Nope\" is not a status code: Success, UnspecFail, NoAddrsAvail, NoBinding, NotOnLink, UseMulticast, NoPrefixAvail, or a number",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nia-na = [ {{ iaid = 1 }},\n  {{ iaid = 2, iaaddr = {{ address = \"2001:db8:1::2\", valid = 1, color = 2 }} }} ]\n"),
            "2 }",
            "iaaddr takes address, preferred, valid, status-code, not color",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nia-na = {{ iaaddr = {{ valid = 1 }} }}\n"),
            "{ valid",
            "iaaddr needs address = \"2001:db8::...\"",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nia-pd = {{ iaprefix = {{ valid = 1 }} }}\n"),
            "{ valid",
            "iaprefix needs prefix = \"2001:db8:8::/56\"",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nstatus-code = {{ message = \"m\" }}\n"),
            "{ message",
            "status-code needs code (Success, NoPrefixAvail, ..., or a number)",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nstatus-code = {{ code = 0, message = 7 }}\n"),
            "{ code",
            "a status message is text",
        ),
        (
            format!("{SEND}type = \"SOLICIT\"\n[step.message.options]\noro = [23, 70000]\n"),
            "[23",
            "oro is a list of numbers from 0 to 65535",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nunicast = \"2001:db8::1, 2001:db8::2\"\n"),
            "\"2001:db8::1, ",
            "unicast is one address",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\ndns-servers = \"2001:db9::53\"\n"),
            "\"2001:db9::53\"",
            "2001:db9::53 is outside the range a run may use (2001:db8::/32)",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\ndomain-search = \"a..b\"\n"),
            "\"a..b\"",
            "domain-search: \"a..b\" is not a domain name: a label is empty or longer than 63 bytes",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nclientid = 5\n"),
            "5\n",
            "clientid is not a number: give its bytes as \"0x...\"",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\npreference = 256\n"),
            "256",
            "256 does not fit preference's 1 bytes",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nclientid = [1, 300]\n"),
            "[1",
            "a list is of byte values (0 to 255)",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nclientid = \"$nope\"\n"),
            "\"$nope\"",
            "$nope is used before any step captures it",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[step.message.options]\nia-na = {{ status-code = \"Bad\" }}\n"),
            "\"Bad\"",
            "\"Bad\" is not a status code: Success, UnspecFail, NoAddrsAvail, NoBinding, NotOnLink, UseMulticast, NoPrefixAvail, or a number",
        ),
        (
            format!("{SEND}type = \"REPLY\"\n[[step.message.raw-options]]\ncode = 70000\ndata = \"0x01\"\n"),
            "70000",
            "a number from 0 to 65535",
        ),
        (
            "[[step]]\ndo = \"send\"\nfrom = \"scripted\"\nto = \"srv\"\nsrc = \"[2001:db9::1]:547\"\n[step.message]\ntype = \"SOLICIT\"\n".to_string(),
            "\"[2001",
            "2001:db9::1 is outside the range a run may use (2001:db8::/32)",
        ),
        (
            "[[step]]\ndo = \"send\"\nfrom = \"scripted\"\nto = \"srv\"\ndst = \"ff02::1:2\"\n[step.message]\ntype = \"SOLICIT\"\n".to_string(),
            "\"ff02",
            "\"ff02::1:2\" is not an IPv6 address and port ([2001:db8::1]:547)",
        ),
    ];
    for (extra, at, message) in &cases {
        only_fault(extra, at, message);
    }
}

#[test]
fn every_v6_step_fault_is_placed() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[[step]]\nexpect = \"message\"\nwithin = \"1s\"\n[step.options]\nia-na = \"present\"\n",
            "\"present\"",
            "ia-na: give type, or from or to a host of one version, so that the option can be read as DHCPv4's or DHCPv6's",
        ),
        (
            "[[step]]\nexpect = \"message\"\nwithin = \"1s\"\n[step.fields]\nlink-address = \"2001:db8::1\"\n",
            "\"2001",
            "link-address: give type, or from or to a host of one version, so that the field can be read",
        ),
        (
            "[[step]]\nexpect = \"message\"\nfrom = \"srv\"\nwithin = \"1s\"\n[step.options]\nxid = 1\n",
            "1\n",
            "xid is a field: check it in [step.fields]",
        ),
        (
            "[[step]]\nexpect = \"message\"\nfrom = \"srv\"\ntype = \"HELLO\"\nwithin = \"1s\"\n",
            "\"HELLO\"",
            "unknown message type \"HELLO\" (DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM, ...; SOLICIT, ADVERTISE, REQUEST, RENEW, REBIND, REPLY, RELAY-FORW, ...)",
        ),
        (
            "[[step]]\nexpect = \"message\"\nfrom = \"srv\"\nwithin = \"1s\"\n[step.options]\noro = [1, 70000]\n",
            "[1,",
            "a list of option codes (0 to 65535)",
        ),
        (
            "[[step]]\nexpect = \"message\"\nfrom = \"srv\"\nwithin = \"1s\"\n[step.options]\n\"ia-na.iaaddr\" = \"nope\"\n",
            "\"nope\"",
            "\"nope\" is not an IPv6 address or prefix",
        ),
        (
            "[[step]]\nexpect = \"client\"\nhost = \"c1\"\nnot-address = \"192.0.2.9\"\n",
            "\"192.0.2.9\"",
            "\"192.0.2.9\" is not an IPv6 address",
        ),
        (
            "[[step]]\nexpect = \"lease\"\nhost = \"srv\"\naddress = \"2001:db8:1::100\"\nnot-address = \"2001:db8:1::101\"\n",
            "\"2001:db8:1::101\"",
            "\"lease\" does not use not-address (it takes: host, address, prefix, state, to)",
        ),
        (
            "[[step]]\nexpect = \"message\"\nfrom = \"srv\"\nwithin = \"1s\"\n[step.capture]\nq = \"ia-ta.iaaddr\"\n",
            "\"ia-ta",
            "\"ia-ta.iaaddr\": only ia-na and ia-pd have parts (ia-na.iaaddr, ia-pd[2].iaprefix)",
        ),
        (
            "[[step]]\nexpect = \"client\"\nhost = \"c1\"\nprefix = \"2001:db8:8::\"\n",
            "\"2001",
            "\"2001:db8:8::\" is not an IPv6 prefix (2001:db8:8::/56)",
        ),
        (
            "[[step]]\nexpect = \"client\"\nhost = \"c1\"\nprefix = \"2001:db9:8::/56\"\n",
            "\"2001",
            "2001:db9:8:: is outside the range a run may use (2001:db8::/32)",
        ),
        (
            "[[step]]\nexpect = \"client\"\nhost = \"c1\"\naddress = \"192.0.2.1\"\n",
            "\"192",
            "\"192.0.2.1\" is not an IPv6 address",
        ),
        (
            "[[step]]\nexpect = \"lease\"\nhost = \"srv\"\n",
            "[[step]]",
            "expect = \"lease\" needs address (or prefix, for a delegated prefix)",
        ),
        (
            "[[step]]\nexpect = \"lease\"\nhost = \"srv\"\nprefix = \"$nope\"\n",
            "\"$nope\"",
            "$nope is used before any step captures it",
        ),
        (
            "[[step]]\ndo = \"reconfigure\"\nhost = \"srv\"\nconfig = '{ \"Dhcp6\": { } }'\n",
            "\"srv\"",
            "reconfigure is for DHCPv4 servers yet; \"srv\" is a DHCPv6 server",
        ),
        (
            "[[step]]\nexpect = \"events\"\nhost = \"c1\"\nevents = [\"BOUND6\"]\nprefix = \"none\"\n",
            "\"none\"",
            "\"events\" does not use prefix (it takes: host, events)",
        ),
    ];
    for (extra, at, message) in cases {
        only_fault(extra, at, message);
    }
}

#[test]
fn the_readme_documents_every_field_a_step_can_check() {
    // Every field name the language reads (DHCPv4's and DHCPv6's) is in scenarios/README.md,
    // so a user finds each one there.
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/README.md"),
    )
    .expect("scenarios/README.md");
    let missing: Vec<&str> = dhcplab_scenario::Field::ALL
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !readme.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "not in the README: {missing:?}");
}
