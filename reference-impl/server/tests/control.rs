//! Control commands answer as kea-dhcp4 2.2 with its lease commands hook answered on this
//! project's machine (texts and result codes), and change leases and configuration as Kea does.

mod common;

use common::*;
use dhcplab_server::{Action, CommandOutcome};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::net::Ipv4Addr;

fn ask(s: &mut dhcplab_server::Server, secs: u64, command: Value) -> Value {
    match s.handle_command(at(secs), &command.to_string()) {
        CommandOutcome::Answer(v) => v,
        other => panic!("{other:?}"),
    }
}

const POOL: &str = "192.0.2.100 - 192.0.2.109";

#[test]
fn list_status_version_and_unknown() {
    let mut s = server(&config(POOL, "", ""));
    s.set_process_id(4242);
    let list = ask(&mut s, 0, json!({"command": "list-commands"}));
    assert_eq!(list["result"], 0);
    assert!(list.get("text").is_none());
    let names: Vec<&str> = list["arguments"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for c in [
        "config-get",
        "config-reload",
        "config-set",
        "config-test",
        "lease4-add",
        "lease4-del",
        "lease4-get",
        "lease4-get-all",
        "lease4-wipe",
        "leases-reclaim",
        "list-commands",
        "shutdown",
        "statistic-get-all",
        "status-get",
    ] {
        assert!(names.contains(&c), "{c} missing from {names:?}");
    }
    let status = ask(&mut s, 30, json!({"command": "status-get"}));
    assert_eq!(status["arguments"]["pid"], 4242);
    assert_eq!(status["arguments"]["uptime"], 30);
    assert_eq!(status["arguments"]["reload"], 30);
    assert_eq!(
        ask(&mut s, 0, json!({"command": "foo"})),
        json!({"result": 2, "text": "'foo' command not supported."})
    );
    assert_eq!(ask(&mut s, 0, json!([1, 2]))["result"], 1);
    assert_eq!(ask(&mut s, 0, json!({"arguments": {}}))["result"], 1);
    let CommandOutcome::Answer(garbage) = s.handle_command(at(0), "garbage") else {
        panic!()
    };
    assert_eq!(garbage["result"], 1);
    assert_eq!(
        s.handle_command(at(0), r#"{"command": "config-reload"}"#),
        CommandOutcome::ReloadFromFile
    );
}

#[test]
fn lease_commands_answer_as_kea() {
    let mut s = server(&config(POOL, "", ""));
    let added = ask(
        &mut s,
        0,
        json!({"command": "lease4-add", "arguments": {
        "ip-address": "192.0.2.10", "hw-address": "1a:1b:1c:1d:1e:1f", "client-id": "ff:00:01",
        "valid-lft": 4000, "hostname": "A,B&C.Example", "user-context": {"a": 1}}}),
    );
    assert_eq!(
        added,
        json!({"result": 0, "text": "Lease for address 192.0.2.10, subnet-id 1 added."})
    );
    let rows = drain(&mut s).rows;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].hostname, "a,b&c.example",
        "Kea stores host names in lower case"
    );
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.10", "hw-address": "1a:1b:1c:1d:1e:1f"}})
        ),
        json!({"result": 1, "text": "IPv4 lease already exists."})
    );
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-add", "arguments": {"ip-address": "172.16.0.1", "hw-address": "1a:1b:1c:1d:1e:1f"}})
        )["text"],
        "subnet-id not specified and failed to find a subnet for address 172.16.0.1"
    );
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.11"}})
        )["text"],
        "missing parameter 'hw-address'"
    );
    assert_eq!(
        ask(&mut s, 0, json!({"command": "lease4-add"}))["text"],
        "no parameters specified for the command"
    );
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.11", "hw-address": "01:02:03:04:05:06", "state": 3}})
        )["text"],
        "Invalid state value: 3, supported values are: 0 (default), 1 (declined) and 2 (expired-reclaimed)"
    );
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.11", "hw-address": "01:02:03:04:05:06", "expire": 5, "valid-lft": 10}})
        )["text"],
        "expiration time must be greater than valid lifetime for address 192.0.2.11"
    );
    // Kea 2.2's Lease4Parser: an expiry of 0 is not positive; one equal to the lifetime is
    // accepted (a client last seen at the epoch).
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.11", "hw-address": "01:02:03:04:05:06", "expire": 0}})
        )["text"],
        "expiration time must be positive for address 192.0.2.11"
    );
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.12", "hw-address": "01:02:03:04:05:07", "expire": 10, "valid-lft": 10}})
        )["result"],
        0
    );
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-del", "arguments": {"ip-address": "192.0.2.12"}})
        )["result"],
        0
    );
    let _ = drain(&mut s);
    // Kea 2.2's Lease4Parser: a DNS flag without a host name is refused.
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.11", "hw-address": "01:02:03:04:05:06", "fqdn-rev": true}})
        )["text"],
        "No hostname specified and either forward or reverse fqdn was set to true."
    );

    let got = ask(
        &mut s,
        0,
        json!({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.10"}}),
    );
    assert_eq!(
        got,
        json!({"result": 0, "text": "IPv4 lease found.", "arguments": {
        "client-id": "ff:00:01", "cltt": T0, "fqdn-fwd": false, "fqdn-rev": false, "hostname": "a,b&c.example",
        "hw-address": "1a:1b:1c:1d:1e:1f", "ip-address": "192.0.2.10", "state": 0, "subnet-id": 1,
        "user-context": {"a": 1}, "valid-lft": 4000}})
    );
    let by_id = ask(
        &mut s,
        0,
        json!({"command": "lease4-get", "arguments": {"identifier-type": "client-id", "identifier": "ff:00:01", "subnet-id": 1}}),
    );
    assert_eq!(by_id["arguments"], got["arguments"]);
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.99"}})
        ),
        json!({"result": 3, "text": "Lease not found."})
    );
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-get", "arguments": {"identifier-type": "hw-address", "identifier": "01"}})
        )["text"],
        "Mandatory 'subnet-id' parameter missing."
    );
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-get", "arguments": {"ip-address": "bogus"}})
        )["text"],
        "Failed to convert string to address 'bogus': Invalid argument"
    );
    assert_eq!(
        ask(&mut s, 0, json!({"command": "lease4-get"}))["text"],
        "Parameters missing or are not a map."
    );

    let all = ask(&mut s, 0, json!({"command": "lease4-get-all"}));
    assert_eq!(
        (all["result"].clone(), all["text"].clone()),
        (json!(0), json!("1 IPv4 lease(s) found."))
    );
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-get-all", "arguments": {"subnets": [2]}})
        ),
        json!({"result": 3, "text": "0 IPv4 lease(s) found.", "arguments": {"leases": []}})
    );
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "lease4-get-all", "arguments": {}})
        )["text"],
        "'subnets' parameter not specified"
    );

    assert_eq!(
        ask(
            &mut s,
            1,
            json!({"command": "lease4-del", "arguments": {"ip-address": "192.0.2.10"}})
        ),
        json!({"result": 0, "text": "IPv4 lease deleted."})
    );
    let rows = drain(&mut s).rows;
    assert_eq!(
        (rows[0].valid_lifetime, rows[0].expire),
        (0, T0),
        "deleted: lifetime 0, expiry = cltt"
    );
    assert_eq!(
        ask(
            &mut s,
            1,
            json!({"command": "lease4-del", "arguments": {"ip-address": "192.0.2.10"}})
        ),
        json!({"result": 3, "text": "IPv4 lease not found."})
    );

    for n in 1..=3 {
        Client::new(n).dora(&mut s, at(2));
    }
    assert_eq!(
        ask(
            &mut s,
            3,
            json!({"command": "lease4-wipe", "arguments": {"subnet-id": 1}})
        ),
        json!({"result": 0, "text": "Deleted 3 IPv4 lease(s) from subnet(s) 1"})
    );
    assert_eq!(drain(&mut s).rows.len(), 3);
    assert_eq!(
        ask(&mut s, 3, json!({"command": "lease4-wipe"})),
        json!({"result": 3, "text": "Deleted 0 IPv4 lease(s) from subnet(s) 1"})
    );
    assert_eq!(
        ask(&mut s, 3, json!({"command": "leases-reclaim"}))["text"],
        "Missing mandatory 'remove' parameter."
    );
    assert_eq!(
        ask(
            &mut s,
            3,
            json!({"command": "leases-reclaim", "arguments": {"remove": 1}})
        )["text"],
        "'remove' parameter expected to be a boolean."
    );
}

#[test]
fn statistics_count_packets_and_addresses() {
    let mut s = server(&config(POOL, "", ""));
    Client::new(1).dora(&mut s, at(5));
    let c = Client::new(2);
    let a = c.dora(&mut s, at(6)).yiaddr;
    send(&mut s, at(7), &c.decline(a, Ipv4Addr::new(192, 0, 2, 1)));
    let stats = ask(&mut s, 8, json!({"command": "statistic-get-all"}));
    assert_eq!(stats["result"], 0);
    let v = |name: &str| stats["arguments"][name][0][0].clone();
    assert_eq!(v("pkt4-received"), 5);
    assert_eq!(v("pkt4-discover-received"), 2);
    assert_eq!(v("pkt4-request-received"), 2);
    assert_eq!(v("pkt4-decline-received"), 1);
    assert_eq!(v("pkt4-offer-sent"), 2);
    assert_eq!(v("pkt4-ack-sent"), 2);
    assert_eq!(v("pkt4-sent"), 4);
    assert_eq!(v("subnet[1].total-addresses"), 10);
    // A declined address still counts as assigned until reclaimed (Kea 2.2).
    assert_eq!(v("subnet[1].assigned-addresses"), 2);
    assert_eq!(v("subnet[1].declined-addresses"), 1);
    assert_eq!(v("declined-addresses"), 1);
    assert_eq!(v("cumulative-assigned-addresses"), 2);
    assert_eq!(
        stats["arguments"]["pkt4-received"][0][1],
        "2027-01-15 08:00:07.000000"
    );
    let one = ask(
        &mut s,
        8,
        json!({"command": "statistic-get", "arguments": {"name": "pkt4-ack-sent"}}),
    );
    assert_eq!(one["arguments"]["pkt4-ack-sent"][0][0], 2);
}

#[test]
fn config_test_set_get_and_reload() {
    let mut s = server(&config(POOL, "", ""));
    let other = json!({"Dhcp4": {"subnet4": [{"id": 7, "subnet": "198.51.100.0/24",
        "pools": [{"pool": "198.51.100.10 - 198.51.100.20"}]}]}});
    assert_eq!(
        ask(
            &mut s,
            0,
            json!({"command": "config-test", "arguments": other})
        )["result"],
        0
    );
    let bad = json!({"Dhcp4": {"subnet4": [{"id": 7, "subnet": "198.51.100.0/24", "pools": [{"pool": "192.0.2.1 - 192.0.2.5"}]}], "bogus": 1}});
    let answer = ask(
        &mut s,
        0,
        json!({"command": "config-test", "arguments": bad}),
    );
    assert_eq!(answer["result"], 1);
    let text = answer["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("Dhcp4.subnet4[0].pools[0].pool") && text.contains("Dhcp4.bogus"),
        "{text}"
    );
    assert_eq!(
        ask(&mut s, 0, json!({"command": "config-set"}))["text"],
        "Missing mandatory 'arguments' parameter."
    );
    assert_eq!(
        ask(&mut s, 0, json!({"command": "config-set", "arguments": {}}))["text"],
        "Missing mandatory 'Dhcp4' parameter."
    );
    assert_eq!(
        ask(
            &mut s,
            10,
            json!({"command": "config-set", "arguments": other.clone()})
        ),
        json!({"result": 0, "text": "Configuration successful."})
    );
    assert_eq!(
        ask(&mut s, 10, json!({"command": "config-get"}))["arguments"],
        other
    );
    assert_eq!(
        ask(&mut s, 15, json!({"command": "status-get"}))["arguments"]["reload"],
        5
    );
    // A reload with a broken file keeps the configuration in force.
    let answer = s.reload(at(20), "{ \"Dhcp4\": { \"subnet4\": 3 } }");
    assert_eq!(answer["result"], 1);
    assert_eq!(s.config().subnets[0].id, 7);
    assert_eq!(
        s.reload(at(20), &config(POOL, "", "")),
        json!({"result": 0, "text": "Configuration successful."})
    );
    assert_eq!(s.config().subnets[0].id, 1);
}

#[test]
fn shutdown_asks_the_driver_to_stop() {
    let mut s = server(&config(POOL, "", ""));
    assert_eq!(
        ask(&mut s, 0, json!({"command": "shutdown"})),
        json!({"result": 0, "text": "Shutting down."})
    );
    assert_eq!(s.poll_action(), Some(Action::Shutdown));
}

proptest! {
    /// Any text on the control socket gets a JSON answer with a result code; nothing panics.
    #[test]
    fn any_command_text_is_answered(text in ".{0,200}", name in prop::sample::select(vec![
        "lease4-add", "lease4-get", "lease4-del", "lease4-wipe", "lease4-get-all", "leases-reclaim",
        "config-set", "config-test", "statistic-get", "status-get"]), args in any::<Vec<(String, i64)>>()) {
        let mut s = server(&config(POOL, "", ""));
        if let CommandOutcome::Answer(a) = s.handle_command(at(0), &text) {
            prop_assert!(a["result"].is_i64());
        }
        let map: serde_json::Map<String, Value> = args.into_iter().map(|(k, v)| (k, json!(v))).collect();
        let cmd = json!({"command": name, "arguments": map}).to_string();
        if let CommandOutcome::Answer(a) = s.handle_command(at(0), &cmd) {
            prop_assert!(a["result"].is_i64());
        }
    }
}
