//! Every fault in a scenario file is reported with its line and column, all of them in one go.

mod common;

use common::{faults, place_of};
use dhcplab_scenario::parse;
use std::path::Path;

const SERVER: &str = r#"
[[host]]
name = "srv"
role = "server"
address = "192.0.2.1"
config = '''
{ "Dhcp4": { "interfaces-config": { "interfaces": [ "eth0" ] },
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.100 - 192.0.2.199" } ] } ] } }
'''

[[host]]
name = "c1"
role = "client"
"#;

#[test]
fn a_good_file_reads() {
    let text = format!(
        "{SERVER}\n[[step]]\nexpect = \"message\"\nfrom = \"srv\"\ntype = \"ACK\"\nwithin = \"10s\"\n"
    );
    let s = parse(&text, Path::new("scenarios/lease-expiry/good.toml")).expect("reads");
    assert_eq!(s.name, "lease-expiry/good");
    assert_eq!(s.hosts.len(), 2);
    assert_eq!(s.steps.len(), 1);
}

#[test]
fn toml_syntax_and_unknown_keys_are_placed() {
    let f = faults("[[host]]\nname = \"a\"\nrole = \n");
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].0, f[0].1 > 1), (3, true), "{f:?}");
    let text = format!("{SERVER}\n[[step]]\nexpectt = \"message\"\n");
    let f = faults(&text);
    assert!(f[0].2.contains("expectt"), "{f:?}");
    assert_eq!(f[0].0, place_of(&text, "expectt").0);
}

#[test]
fn each_bad_value_gets_its_own_fault_at_its_place() {
    let text = format!(
        "{SERVER}
[[step]]
at = \"10 minutes\"

[[step]]
do = \"link-down\"
host = \"c9\"

[[step]]
expect = \"client\"
host = \"c1\"
address = \"$lease\"

[[step]]
expect = \"message\"
from = \"srv\"
type = \"ACKK\"
within = \"1s\"

[[step]]
expect = \"message\"
within = \"1s\"
[step.options]
no-such-option = 1
[step.fields]
yiaddr = \"present\"
"
    );
    let f = faults(&text);
    let want = [
        ("\"10 minutes\"", "is not a duration"),
        ("\"c9\"", "no host named \"c9\""),
        ("\"$lease\"", "$lease is used before any step captures it"),
        ("\"ACKK\"", "unknown message type"),
        ("\"present\"", "present and absent are for options"),
        ("1\n[step.fields]", "unknown option \"no-such-option\""),
    ];
    assert_eq!(f.len(), want.len(), "{f:#?}");
    for (needle, message) in want {
        let (line, column) = place_of(&text, needle);
        assert!(
            f.iter()
                .any(|(l, c, m)| *l == line && *c == column && m.contains(message)),
            "{message:?} at {line}:{column} in {f:#?}"
        );
    }
}

#[test]
fn a_bad_kea_configuration_is_placed_inside_the_scenario_file() {
    let text = "[[host]]\nname = \"srv\"\nrole = \"server\"\naddress = \"192.0.2.1\"\nconfig = '''\n{ \"Dhcp4\": { \"valid-lifetime\": \"long\" } }\n'''\n";
    let f = faults(text);
    assert_eq!(f.len(), 1, "{f:?}");
    let (line, column) = place_of(text, "\"long\"");
    assert_eq!((f[0].0, f[0].1), (line, column), "{f:?}");
    assert!(f[0].2.contains("Dhcp4.valid-lifetime"), "{f:?}");
}

#[test]
fn hosts_are_checked() {
    let f = faults(
        "[[host]]\nname = \"a\"\nrole = \"router\"\n\n[[host]]\nname = \"b\"\nrole = \"client\"\ncount = 0\n\n[[host]]\nname = \"s\"\nrole = \"server\"\n",
    );
    let messages: Vec<&str> = f.iter().map(|x| x.2.as_str()).collect();
    assert!(
        messages.iter().any(|m| m.contains("role \"router\"")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("count is a number")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("a server needs an address")),
        "{messages:?}"
    );
    assert_eq!(f[0].0, 3);
}

#[test]
fn groups_expand_and_name_their_members() {
    let text = format!(
        "{SERVER}\n[[host]]\nname = \"g\"\nrole = \"client\"\ncount = 3\n\n[[step]]\ndo = \"release\"\nhost = \"g\"\n"
    );
    let s = parse(&text, Path::new("x.toml")).expect("reads");
    let names: Vec<&str> = s.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["srv", "c1", "g1", "g2", "g3"]);
    let macs: std::collections::BTreeSet<_> = s.hosts.iter().map(|h| h.mac).collect();
    assert_eq!(macs.len(), 5, "every host has its own link address");
    let f = faults(&format!(
        "{text}\n[[step]]\nexpect = \"events\"\nhost = \"g\"\nevents = []\n"
    ));
    assert!(f[0].2.contains("is a group"), "{f:?}");
}

#[test]
fn keys_a_step_does_not_read_and_loose_ranges_are_faults() {
    let text = format!(
        "{SERVER}
[[step]]
expect = \"nothing\"
from = \"srv\"
within = \"5s\"
not-before = \"1s\"

[[step]]
do = \"link-down\"
host = \"c1\"
state = \"bound\"

[[step]]
expect = \"leases\"
host = \"srv\"
count = {{ mn = 3 }}

[[step]]
expect = \"leases\"
host = \"srv\"
count = {{ min = 5, max = 1 }}
"
    );
    let f = faults(&text);
    let messages: Vec<&str> = f.iter().map(|x| x.2.as_str()).collect();
    assert_eq!(f.len(), 4, "{messages:#?}");
    assert!(
        messages[0].contains("\"nothing\" does not use not-before"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("\"link-down\" does not use state"),
        "{messages:?}"
    );
    assert!(messages[2].contains("unknown key \"mn\""), "{messages:?}");
    assert!(messages[3].contains("max is below its min"), "{messages:?}");
    assert_eq!((f[0].0, f[0].1), place_of(&text, "\"1s\""));
}

#[test]
fn a_send_takes_endpoints_padding_and_options_in_order_and_their_faults_are_placed() {
    let peer = "[[host]]\nname = \"p\"\nrole = \"peer\"\n";
    let text = format!(
        "{SERVER}\n{peer}\n[[step]]\ndo = \"send\"\nfrom = \"p\"\nsrc = \"0.0.0.0:68\"\ndst = \"192.0.2.1:67\"\n[step.message]\ntype = \"DISCOVER\"\npadding = 3\n[step.message.options]\n61 = \"0x01\"\n12 = \"h\"\n55 = [1, 3]\n"
    );
    let s = parse(&text, Path::new("scenarios/t/send.toml")).expect("reads");
    let dhcplab_scenario::What::Act(dhcplab_scenario::Act::Send(send)) = &s.steps[0].what else {
        panic!("a send");
    };
    assert_eq!(send.src, Some("0.0.0.0:68".parse().expect("endpoint")));
    assert_eq!(send.dst, Some("192.0.2.1:67".parse().expect("endpoint")));
    assert_eq!(&send.payload[send.payload.len() - 3..], [0, 0, 0]);
    let m = dhcplab_wire::v4::Message::decode(&send.payload).expect("decodes");
    let codes: Vec<u8> = m.options().map(|o| o.code).collect();
    assert_eq!(codes, [53, 61, 12, 55], "in the order written");

    let bad = format!(
        "{SERVER}\n{peer}\n[[step]]\ndo = \"send\"\nfrom = \"p\"\nsrc = \"0.0.0.0\"\n[step.message]\ntype = \"DISCOVER\"\n"
    );
    let f = faults(&bad);
    assert!(f[0].2.contains("address and port"), "{f:?}");
    assert_eq!(f[0].0, place_of(&bad, "\"0.0.0.0\"").0);
}

#[test]
fn an_optional_message_may_not_capture_and_only_messages_are_optional() {
    let text = format!(
        "{SERVER}\n[[step]]\nexpect = \"message\"\nfrom = \"srv\"\nwithin = \"1s\"\noptional = true\n[step.capture]\nx = \"yiaddr\"\n"
    );
    let f = faults(&text);
    assert!(f[0].2.contains("optional message cannot capture"), "{f:?}");
    let text = format!(
        "{SERVER}\n[[step]]\nexpect = \"nothing\"\nfrom = \"srv\"\nwithin = \"1s\"\noptional = true\n"
    );
    let f = faults(&text);
    assert!(f[0].2.contains("does not use optional"), "{f:?}");
}

#[test]
fn a_crafted_answer_takes_the_xid_and_chaddr_a_step_captured() {
    let peer = "[[host]]\nname = \"p\"\nrole = \"peer\"\n";
    let text = format!(
        "{SERVER}\n{peer}\n[[step]]\nexpect = \"message\"\nfrom = \"c1\"\nwithin = \"30s\"\n[step.capture]\nx = \"xid\"\nhw = \"chaddr\"\n\n[[step]]\ndo = \"send\"\nfrom = \"p\"\nto = \"c1\"\n[step.message]\nop = 2\ntype = \"OFFER\"\nxid = \"$x\"\nchaddr = \"$hw\"\n"
    );
    let s = parse(&text, Path::new("scenarios/t/answer.toml")).expect("reads");
    let dhcplab_scenario::What::Act(dhcplab_scenario::Act::Send(send)) = &s.steps[1].what else {
        panic!("a send");
    };
    assert_eq!(
        send.vars,
        [
            (dhcplab_scenario::CHADDR_OFFSET, "hw".to_string()),
            (dhcplab_scenario::XID_OFFSET, "x".to_string())
        ]
    );
    let early = format!(
        "{SERVER}\n{peer}\n[[step]]\ndo = \"send\"\nfrom = \"p\"\n[step.message]\nxid = \"$x\"\n"
    );
    let f = faults(&early);
    assert!(
        f[0].2.contains("$x is used before any step captures it"),
        "{f:?}"
    );
    let wrong = format!(
        "{SERVER}\n{peer}\n[[step]]\ndo = \"send\"\nfrom = \"p\"\n[step.message]\nxid = 1.5\n"
    );
    assert!(
        faults(&wrong)[0].2.contains("xid is a number"),
        "{:?}",
        faults(&wrong)
    );
}

#[test]
fn a_whole_payload_takes_no_other_field_but_captured_ones() {
    let peer = "[[host]]\nname = \"p\"\nrole = \"peer\"\n";
    let text = format!(
        "{SERVER}\n{peer}\n[[step]]\ndo = \"send\"\nfrom = \"p\"\n[step.message]\npayload = \"0x0101\"\npadding = 3\nxid = 7\n"
    );
    let f = faults(&text);
    assert!(
        f[0].2.contains("padding, a numeric xid cannot go with it"),
        "{f:?}"
    );
    assert_eq!(f[0].0, place_of(&text, "payload").0);
}

#[test]
fn addresses_outside_the_lab_ranges_are_refused_where_they_are_written() {
    let server = |address: &str, subnet: &str| {
        format!(
            "[[host]]\nname = \"srv\"\nrole = \"server\"\naddress = \"{address}\"\nconfig = '''\n{{ \"Dhcp4\": {{ \"interfaces-config\": {{ \"interfaces\": [ \"eth0\" ] }},\n  \"subnet4\": [ {{ \"id\": 1, \"subnet\": \"{subnet}\" }} ] }} }}\n'''\n"
        )
    };
    let f = faults(&server("10.0.0.1", "192.0.2.0/24"));
    assert!(
        f[0].2.starts_with("10.0.0.1 is outside the ranges"),
        "{f:?}"
    );
    let f = faults(&server("192.0.2.1", "10.0.0.0/24"));
    assert!(
        f[0].2.contains("Dhcp4.subnet4[0] (10.0.0.0/24) outside"),
        "{f:?}"
    );
    let ok = server("192.0.2.1", "192.0.2.0/24");
    let text = format!("{ok}\n[[host]]\nname = \"p\"\nrole = \"peer\"\naddress = \"8.8.8.8\"\n");
    let f = faults(&text);
    assert!(f[0].2.starts_with("8.8.8.8 is outside"), "{f:?}");
    assert_eq!(f[0].0, place_of(&text, "\"8.8.8.8\"").0);
    let text = format!(
        "{ok}\n[[host]]\nname = \"p\"\nrole = \"peer\"\n\n[[step]]\ndo = \"send\"\nfrom = \"p\"\ndst = \"1.1.1.1:67\"\nsrc = \"0.0.0.0:68\"\n[step.message]\ntype = \"DISCOVER\"\n"
    );
    let f = faults(&text);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].2.starts_with("1.1.1.1 is outside"), "{f:?}");
}

#[test]
fn hook_expectations_name_known_hook_points_and_refused_only_on_reconfigure() {
    let text = format!(
        r#"{SERVER}
[[step]]
expect = "hook-calls"
host = "srv"
calls = ["A load", "A pkt4_recieve", "Apkt4_receive"]

[[step]]
expect = "script"
host = "srv"
runs = ["leases4_comitted", {{ hook = "lease4_renew", env = {{ LEASE4_ADDRESS = "$nothing" }} }}, {{ hook = "lease4_release", envv = {{}} }}, 7]

[[step]]
do = "start"
host = "c1"
refused = true
"#
    );
    let f = faults(&text);
    let at = |needle: &str| place_of(&text, needle);
    let has = |needle: &str, words: &str| {
        let (line, column) = at(needle);
        assert!(
            f.iter()
                .any(|(l, c, m)| (*l, *c) == (line, column) && m.contains(words)),
            "{needle}: {words}: {f:?}"
        );
    };
    has(r#""A pkt4_recieve""#, "hook point of Kea's");
    has(r#""Apkt4_receive""#, "LIBRARY HOOK");
    has(r#""leases4_comitted""#, "is not a hook point of Kea's");
    has(
        r#"{ hook = "lease4_renew""#,
        "$nothing is used before any step captures it",
    );
    has(r#"{ hook = "lease4_release""#, "unknown key \"envv\"");
    has("7]", "a run is a hook point's name");
    has("true", "\"start\" does not use refused");
}
