//! Control commands with Kea's names, result codes and texts (Kea 2.2's lease_cmds).

mod common;

use common::*;
use dhcplab_server6::{Action, CommandOutcome, LeaseType, Server};
use serde_json::{Value, json};

fn run(s: &mut Server, text: &str) -> Value {
    match s.handle_command(at(100), text) {
        CommandOutcome::Answer(a) => a,
        other => panic!("an answer expected: {other:?}"),
    }
}

fn cmd(s: &mut Server, name: &str, args: Value) -> Value {
    run(
        s,
        &json!({ "command": name, "arguments": args }).to_string(),
    )
}

#[test]
fn lease6_add_get_update_del_round_trip() {
    let mut s = server(config());
    let a = cmd(
        &mut s,
        "lease6-add",
        json!({ "ip-address": "2001:db8:1::150", "duid": "00:03:00:01:02:00:00:00:00:09",
                "iaid": 5, "hw-address": "02:00:00:00:00:09", "valid-lft": 600 }),
    );
    assert_eq!(
        a,
        json!({ "result": 0, "text": "Lease for address 2001:db8:1::150, subnet-id 1 added." })
    );
    let rows: Vec<_> = std::iter::from_fn(|| s.poll_action()).collect();
    assert!(matches!(&rows[..], [Action::Persist(l)] if l.valid_lifetime == 600));
    let dup = cmd(
        &mut s,
        "lease6-add",
        json!({ "ip-address": "2001:db8:1::150", "duid": "01:02:03", "iaid": 1 }),
    );
    assert_eq!(
        dup,
        json!({ "result": 1, "text": "IPv6 lease already exists." })
    );

    let got = cmd(
        &mut s,
        "lease6-get",
        json!({ "ip-address": "2001:db8:1::150" }),
    );
    assert_eq!(got["result"], 0);
    assert_eq!(got["text"], "IPv6 lease found.");
    let l = &got["arguments"];
    assert_eq!(l["type"], "IA_NA");
    assert_eq!(l["iaid"], 5);
    assert_eq!(l["duid"], "00:03:00:01:02:00:00:00:00:09");
    assert_eq!(l["hw-address"], "02:00:00:00:00:09");
    assert_eq!(l["valid-lft"], 600);
    // Kea 2.2's Lease6Parser: no `preferred-lft` gives the subnet's valid lifetime (4000),
    // whatever `valid-lft` says.
    assert_eq!(l["preferred-lft"], 4000);
    assert_eq!(l["cltt"], common::T0 + 100);
    assert!(l.get("prefix-len").is_none(), "only prefixes show a length");

    let by_id = cmd(
        &mut s,
        "lease6-get",
        json!({ "identifier-type": "duid", "identifier": "00:03:00:01:02:00:00:00:00:09",
                "iaid": 5, "subnet-id": 1 }),
    );
    assert_eq!(by_id["arguments"]["ip-address"], "2001:db8:1::150");

    let upd = cmd(
        &mut s,
        "lease6-update",
        json!({ "ip-address": "2001:db8:1::150", "duid": "00:03:00:01:02:00:00:00:00:09",
                "iaid": 5, "hostname": "Host.Example.org" }),
    );
    assert_eq!(upd, json!({ "result": 0, "text": "IPv6 lease updated." }));
    assert_eq!(
        s.lease(LeaseType::Na, ip("2001:db8:1::150"))
            .expect("kept")
            .hostname,
        "host.example.org"
    );

    let del = cmd(
        &mut s,
        "lease6-del",
        json!({ "ip-address": "2001:db8:1::150" }),
    );
    assert_eq!(del, json!({ "result": 0, "text": "IPv6 lease deleted." }));
    let again = cmd(
        &mut s,
        "lease6-del",
        json!({ "ip-address": "2001:db8:1::150" }),
    );
    assert_eq!(
        again,
        json!({ "result": 3, "text": "IPv6 lease not found." })
    );
    let none = cmd(
        &mut s,
        "lease6-get",
        json!({ "ip-address": "2001:db8:1::150" }),
    );
    assert_eq!(none, json!({ "result": 3, "text": "Lease not found." }));
}

#[test]
fn prefix_leases_need_a_length_and_show_it() {
    let mut s = server(config());
    let bad = cmd(
        &mut s,
        "lease6-add",
        json!({ "ip-address": "2001:db8:8000:100::", "type": "IA_PD", "duid": "01:02:03", "iaid": 1 }),
    );
    assert_eq!(bad["result"], 1);
    let ok = cmd(
        &mut s,
        "lease6-add",
        json!({ "ip-address": "2001:db8:8000:100::", "type": "IA_PD", "prefix-len": 56,
                "duid": "01:02:03", "iaid": 1, "subnet-id": 1 }),
    );
    assert_eq!(ok["result"], 0);
    let got = cmd(
        &mut s,
        "lease6-get",
        json!({ "ip-address": "2001:db8:8000:100::", "type": "IA_PD" }),
    );
    assert_eq!(
        (
            got["arguments"]["type"].clone(),
            got["arguments"]["prefix-len"].clone()
        ),
        (json!("IA_PD"), json!(56))
    );
}

#[test]
fn lease_listing_commands() {
    let mut s = server(config());
    bind(&mut s, at(0), 1);
    bind(&mut s, at(0), 2);
    let all = cmd(&mut s, "lease6-get-all", json!({ "subnets": [1] }));
    assert_eq!(all["text"], "2 IPv6 lease(s) found.");
    let none = cmd(&mut s, "lease6-get-all", json!({ "subnets": [7] }));
    assert_eq!(none["result"], 3);
    let page = cmd(
        &mut s,
        "lease6-get-page",
        json!({ "from": "start", "limit": 1 }),
    );
    assert_eq!(page["arguments"]["count"], 1);
    assert_eq!(
        page["arguments"]["leases"][0]["ip-address"],
        "2001:db8:1::100"
    );
    let next = cmd(
        &mut s,
        "lease6-get-page",
        json!({ "from": "2001:db8:1::100", "limit": 5 }),
    );
    assert_eq!(
        next["arguments"]["leases"][0]["ip-address"],
        "2001:db8:1::101"
    );
    let by_duid = cmd(
        &mut s,
        "lease6-get-by-duid",
        json!({ "duid": "00:03:00:01:02:00:00:00:00:02" }),
    );
    assert_eq!(by_duid["text"], "1 IPv6 lease(s) found.");
    let wipe = cmd(&mut s, "lease6-wipe", json!({ "subnet-id": 1 }));
    assert_eq!(
        wipe,
        json!({ "result": 0, "text": "Deleted 2 IPv6 lease(s) from subnet(s) 1" })
    );
    assert_eq!(s.lease_count(), 0);
}

#[test]
fn statistics_count_packets_and_leases_under_kea_names() {
    let mut s = server(config());
    bind(&mut s, at(0), 1);
    let all = run(&mut s, r#"{"command": "statistic-get-all"}"#);
    let v = |n: &str| all["arguments"][n][0][0].clone();
    assert_eq!(v("pkt6-received"), 2);
    assert_eq!(v("pkt6-solicit-received"), 1);
    assert_eq!(v("pkt6-request-received"), 1);
    assert_eq!(v("pkt6-advertise-sent"), 1);
    assert_eq!(v("pkt6-reply-sent"), 1);
    assert_eq!(v("subnet[1].total-nas"), 256);
    assert_eq!(v("subnet[1].assigned-nas"), 1);
    assert_eq!(v("subnet[1].total-pds"), 256);
    assert_eq!(v("subnet[1].assigned-pds"), 0);
    assert_eq!(v("cumulative-assigned-nas"), 1);
    assert_eq!(v("subnet[1].cumulative-assigned-nas"), 1);
    let one = cmd(
        &mut s,
        "statistic-get",
        json!({ "name": "pkt6-reply-sent" }),
    );
    assert_eq!(one["arguments"].as_object().map(|m| m.len()), Some(1));
}

#[test]
fn server_commands_and_faults() {
    let mut s = server(config());
    let list = run(&mut s, r#"{"command": "list-commands"}"#);
    assert!(
        list["arguments"]
            .as_array()
            .expect("list")
            .contains(&json!("lease6-get-by-duid"))
    );
    assert_eq!(
        run(&mut s, r#"{"command": "status-get"}"#)["arguments"]["uptime"],
        100
    );
    assert_eq!(run(&mut s, r#"{"command": "lease4-get"}"#)["result"], 2);
    assert_eq!(run(&mut s, "not json")["result"], 1);
    assert_eq!(
        cmd(&mut s, "leases-reclaim", json!({}))["text"],
        "Missing mandatory 'remove' parameter."
    );
    assert_eq!(
        cmd(&mut s, "config-set", json!({}))["text"],
        "Missing mandatory 'Dhcp6' parameter."
    );
    assert_eq!(
        cmd(
            &mut s,
            "lease6-add",
            json!({ "ip-address": "192.0.2.1", "duid": "01:02:03", "iaid": 1 })
        )["text"],
        "Invalid IPv6 address specified: 192.0.2.1"
    );
    // The driver reads the file again.
    assert_eq!(
        s.handle_command(at(1), r#"{"command": "config-reload"}"#),
        CommandOutcome::ReloadFromFile
    );
    assert_eq!(
        run(&mut s, r#"{"command": "shutdown"}"#)["text"],
        "Shutting down."
    );
    assert_eq!(s.poll_action(), Some(Action::Shutdown));
}

#[test]
fn config_set_and_config_test_read_kea_s_dhcp6_language() {
    let mut s = server(config());
    let a = bind(&mut s, at(0), 1);
    let dhcp6 = json!({
        "interfaces-config": { "interfaces": [ "eth0" ] },
        "lease-database": { "type": "memfile", "name": "/nonexistent/leases6.csv", "lfc-interval": 0 },
        "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64", "interface": "eth0",
                       "pools": [ { "pool": "2001:db8:1::100-2001:db8:1::1ff" } ] } ]
    });
    let t = cmd(&mut s, "config-test", json!({ "Dhcp6": dhcp6.clone() }));
    assert_eq!(t["result"], 0, "{t}");
    let bad = cmd(&mut s, "config-test", json!({ "Dhcp6": { "subnet6": 3 } }));
    assert_eq!(bad["result"], 1);
    let set = cmd(&mut s, "config-set", json!({ "Dhcp6": dhcp6 }));
    assert_eq!(
        set,
        json!({ "result": 0, "text": "Configuration successful." })
    );
    // Leases stay across the new configuration.
    assert!(s.lease(LeaseType::Na, a).is_some());
    let got = run(&mut s, r#"{"command": "config-get"}"#);
    assert_eq!(got["arguments"]["Dhcp6"]["subnet6"][0]["interface"], "eth0");
}

#[test]
fn dhcp_disable_stops_answering_until_enabled_or_the_period_ends() {
    let mut s = server(config());
    let solicit = msg(
        dhcplab_wire::v6::MessageType::SOLICIT,
        1,
        &[(dhcplab_wire::v6::code::IA_NA, ia(1, &[]))],
    );
    let d = cmd(&mut s, "dhcp-disable", json!({ "max-period": 30 }));
    assert_eq!(
        d,
        json!({ "result": 0, "text": "DHCPv6 service disabled." })
    );
    assert!(exchange(&mut s, at(110), 1, &solicit).is_none());
    // Nothing is counted while disabled (Kea's DHCP6_PACKET_DROP_DHCP_DISABLED).
    assert_eq!(s.statistic("pkt6-received"), Some(0));
    // max-period 30 s from 100: answering again at 130.
    assert!(exchange(&mut s, at(130), 1, &solicit).is_some());
    cmd(&mut s, "dhcp-disable", json!({}));
    assert!(exchange(&mut s, at(140), 1, &solicit).is_none());
    let e = cmd(&mut s, "dhcp-enable", json!({}));
    assert_eq!(
        e,
        json!({ "result": 0, "text": "DHCP service successfully enabled" })
    );
    assert!(exchange(&mut s, at(150), 1, &solicit).is_some());
    assert_eq!(
        cmd(&mut s, "dhcp-disable", json!({ "origin": "ha-partner" }))["result"],
        1
    );
}

/// Kea 2.2's lease6-add (lease_cmds `getLease6` of the parser) finds a subnet from the address
/// only for an address lease: a prefix lease without `subnet-id` (or with 0) is refused, even
/// when the prefix lies in a subnet (seen on kea-dhcp6 2.2, see config-types-ready.md).
#[test]
fn a_prefix_lease_without_a_subnet_id_is_refused_as_kea_does() {
    let mut s = server(config());
    for subnet in [json!(null), json!(0)] {
        let mut args = json!({ "ip-address": "2001:db8:1:0:8000::", "type": "IA_PD",
                               "prefix-len": 80, "duid": "01:02:03", "iaid": 1 });
        if !subnet.is_null() {
            args["subnet-id"] = subnet;
        }
        let a = cmd(&mut s, "lease6-add", args);
        assert_eq!(
            (a["result"].clone(), a["text"].clone()),
            (
                json!(1),
                json!(
                    "Subnet-id is 0 or not specified. This is allowed for address leases only, not prefix leases."
                )
            )
        );
    }
    assert_eq!(s.lease_count(), 0);
    // An address lease still finds its subnet from the address.
    let a = cmd(
        &mut s,
        "lease6-add",
        json!({ "ip-address": "2001:db8:1::150", "duid": "01:02:03", "iaid": 1 }),
    );
    assert_eq!(a["result"], 0, "{a}");
    assert_eq!(
        s.lease(LeaseType::Na, ip("2001:db8:1::150"))
            .expect("added")
            .subnet_id,
        1
    );
}

/// Kea 2.2's `Lease6Parser` (lease_cmds): without `preferred-lft` a lease gets the subnet's
/// valid lifetime as preferred lifetime; a DNS flag needs a host name; a prefix cannot be
/// added declined.
#[test]
fn lease6_add_reads_its_arguments_as_kea_2_2_does() {
    let mut s = server(config());
    let a = cmd(
        &mut s,
        "lease6-add",
        json!({ "ip-address": "2001:db8:1::150", "duid": "01:02:03", "iaid": 1 }),
    );
    assert_eq!(a["result"], 0, "{a}");
    let l = s
        .lease(LeaseType::Na, ip("2001:db8:1::150"))
        .expect("added");
    assert_eq!((l.preferred_lifetime, l.valid_lifetime), (4000, 4000));
    let a = cmd(
        &mut s,
        "lease6-add",
        json!({ "ip-address": "2001:db8:1::151", "duid": "01:02:03", "iaid": 2, "fqdn-fwd": true }),
    );
    assert_eq!(
        a["text"],
        "No hostname specified and either forward or reverse fqdn was set to true."
    );
    let a = cmd(
        &mut s,
        "lease6-add",
        json!({ "ip-address": "2001:db8:8000:100::", "type": "IA_PD", "prefix-len": 56,
                "duid": "01:02:03", "iaid": 1, "subnet-id": 1, "state": 1 }),
    );
    assert_eq!(a["text"], "Invalid declined state for PD prefix.");
    assert_eq!(s.lease_count(), 1);
}
