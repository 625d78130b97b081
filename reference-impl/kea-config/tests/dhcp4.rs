//! Reading `Dhcp4` configurations: a real Kea configuration from this project's Kea runs reads
//! with Kea's defaults filled in, and a faulty one reports every fault with its JSON path,
//! line and column.

use dhcplab_kea_config::dhcp4::{self, Identifier, SocketType};
use std::net::Ipv4Addr;

/// The configuration `../shared/realstacks/kea4-perf.json` gives kea-dhcp4 2.2, with comments.
const KEA_PERF: &str = r#"
// Kea 2.2 configuration used for the perfdhcp runs.
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "v-srv/198.18.0.1" ], "dhcp-socket-type": "raw" },
    "lease-database": { "type": "memfile", "persist": true, "name": "RUNDIR/kea-leases4.csv", "lfc-interval": 0 },
    "valid-lifetime": 3600, "renew-timer": 900, "rebind-timer": 1800,
    # One big subnet for load.
    "subnet4": [ { "id": 2, "subnet": "198.18.0.0/16",
                   "pools": [ { "pool": "198.18.1.0 - 198.18.255.254" } ],
                   "option-data": [ { "name": "routers", "data": "198.18.0.1" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                   "output_options": [ { "output": "RUNDIR/kea-dhcp4.log" } ] } ]
  }
}
"#;

#[test]
fn kea_perf_configuration_reads() {
    let c = dhcp4::parse(KEA_PERF).expect("valid");
    assert_eq!(c.interfaces.interfaces[0].name, "v-srv");
    assert_eq!(
        c.interfaces.interfaces[0].address,
        Some(Ipv4Addr::new(198, 18, 0, 1))
    );
    assert_eq!(c.interfaces.socket_type, SocketType::Raw);
    assert_eq!(c.lease_database.lfc_interval, 0);
    assert_eq!(c.timers.valid_lifetime, Some(3600));
    assert_eq!(c.timers.renew_timer, Some(900));
    assert!(c.match_client_id);
    assert!(!c.authoritative);
    let s = &c.subnets[0];
    assert_eq!((s.id, s.prefix.len), (2, 16));
    assert_eq!(s.pools[0].first, Ipv4Addr::new(198, 18, 1, 0));
    assert_eq!(s.pools[0].last, Ipv4Addr::new(198, 18, 255, 254));
    assert_eq!(s.option_data[0].code, 3);
    assert_eq!(s.option_data[0].data, vec![198, 18, 0, 1]);
    assert_eq!(c.expired_leases.hold_reclaimed_time, 3600);
    assert_eq!(c.loggers[0].severity, "WARN");
}

#[test]
fn prefix_pools_reservations_and_sockets() {
    let text = r#"{ "Dhcp4": {
        "authoritative": true,
        "control-socket": { "socket-type": "unix", "socket-name": "/tmp/dhcplab-test.sock" },
        "option-data": [ { "name": "domain-name-servers", "data": "192.0.2.53, 192.0.2.54", "always-send": true },
                         { "code": 252, "data": "http://wpad.example/wpad.dat" },
                         { "name": "vendor-encapsulated-options", "csv-format": false, "data": "01:02:03" } ],
        "subnet4": [ { "id": 7, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.128/25" } ],
                       "valid-lifetime": 600, "calculate-tee-times": true, "t1-percent": 0.4,
                       "relay": { "ip-addresses": [ "192.0.2.254" ] },
                       "reservations": [ { "hw-address": "02:00:5e:00:53:01", "ip-address": "192.0.2.10", "hostname": "printer" },
                                         { "client-id": "01:02:00:5e:00:53:02", "ip-address": "192.0.2.11" } ] } ]
    } }"#;
    let c = dhcp4::parse(text).expect("valid");
    assert!(c.authoritative);
    assert_eq!(
        c.control_socket.map(|s| s.path),
        Some("/tmp/dhcplab-test.sock".into())
    );
    assert_eq!(c.option_data[0].data, vec![192, 0, 2, 53, 192, 0, 2, 54]);
    assert!(c.option_data[0].always_send);
    assert_eq!(
        c.option_data[1].data,
        b"http://wpad.example/wpad.dat".to_vec()
    );
    assert_eq!(c.option_data[2].data, vec![1, 2, 3]);
    let s = &c.subnets[0];
    assert_eq!(
        (s.pools[0].first, s.pools[0].last),
        (Ipv4Addr::new(192, 0, 2, 128), Ipv4Addr::new(192, 0, 2, 255))
    );
    assert_eq!(s.timers.t1_percent, Some(0.4));
    assert_eq!(s.relays, vec![Ipv4Addr::new(192, 0, 2, 254)]);
    assert_eq!(
        s.reservations[0].identifier,
        Identifier::HwAddress(vec![2, 0, 0x5e, 0, 0x53, 1])
    );
    assert_eq!(
        s.reservations[1].identifier,
        Identifier::ClientId(vec![1, 2, 0, 0x5e, 0, 0x53, 2])
    );
    assert_eq!(s.reservations[0].hostname.as_deref(), Some("printer"));
}

#[test]
fn every_fault_is_reported_with_path_line_and_column() {
    let text = r#"{
  "Dhcp4": {
    "valid-lifetime": "long",
    "renew-timer": 2000, "rebind-timer": 1000,
    "hooks-libraries": [ { "parameters": {} }, { "library": "/x.so", "parameters": [ 1 ] } ],
    "subnet4": [
      { "id": 1, "subnet": "192.0.2.0/24",
        "pools": [ { "pool": "198.51.100.1 - 198.51.100.9" } ],
        "option-data": [ { "name": "routerz", "data": "192.0.2.1" },
                         { "name": "routers", "data": "192.0.2" } ],
        "colour": "blue" },
      { "id": 1, "subnet": "192.0.2.1/24" }
    ],
    "lease-database": { "type": "mysql" }
  }
}"#;
    let faults = dhcp4::parse(text).expect_err("faulty");
    let shown: Vec<String> = faults.iter().map(ToString::to_string).collect();
    let expect = [
        "3:23: Dhcp4.valid-lifetime: expected an integer from 0 to 4294967295, found a string",
        "4:20: Dhcp4.renew-timer: renew-timer 2000 is above rebind-timer 1000",
        "5:26: Dhcp4.hooks-libraries[0]: a hooks library needs \"library\": its path",
        "5:84: Dhcp4.hooks-libraries[1].parameters: parameters must be a map",
        "8:30: Dhcp4.subnet4[0].pools[0].pool: pool \"198.51.100.1 - 198.51.100.9\" is not inside the subnet",
        "9:36: Dhcp4.subnet4[0].option-data[0].name: \"routerz\" is not a standard DHCPv4 option name",
        "10:55: Dhcp4.subnet4[0].option-data[1].data: \"192.0.2\" is not an IPv4 address",
        "11:9: Dhcp4.subnet4[0].colour: unknown key",
        "12:28: Dhcp4.subnet4[1].subnet: 192.0.2.1/24 has host bits set",
        "14:33: Dhcp4.lease-database.type: lease database type \"mysql\" is not implemented (only memfile)",
    ];
    assert_eq!(shown, expect);
}

#[test]
fn hooks_libraries_keep_their_order_and_parameters() {
    let text = r#"{ "Dhcp4": { "parked-packet-limit": 4, "hooks-libraries": [
        { "library": "/opt/a.so", "parameters": { "name": "A", "n": [ 1, 2 ] } },
        { "library": "libdhcp_run_script.so" } ] } }"#;
    let c = dhcp4::parse(text).expect("valid");
    let names: Vec<&str> = c
        .hooks_libraries
        .iter()
        .map(|l| l.library.as_str())
        .collect();
    assert_eq!(names, ["/opt/a.so", "libdhcp_run_script.so"]);
    assert_eq!(
        c.hooks_libraries[0].parameters,
        serde_json::json!({ "name": "A", "n": [ 1, 2 ] })
    );
    assert_eq!(c.hooks_libraries[1].parameters, serde_json::Value::Null);
    assert_eq!(c.hooks_libraries[1].path, "Dhcp4.hooks-libraries[1]");
    assert_eq!(c.parked_packet_limit, 4);
    assert_eq!(
        dhcp4::parse(r#"{ "Dhcp4": { } }"#)
            .expect("valid")
            .parked_packet_limit,
        256
    );
}

#[test]
fn subnets_may_not_share_ids_or_addresses() {
    let text = r#"{ "Dhcp4": { "subnet4": [
        { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.10 - 192.0.2.20" } ] },
        { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.20 - 192.0.2.30" } ] } ] } }"#;
    let shown: Vec<String> = dhcp4::parse(text)
        .expect_err("faulty")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        [
            "3:9: Dhcp4.subnet4[1].id: subnet id 1 is also used by subnet4[0]",
            "3:9: Dhcp4.subnet4[1].subnet: the same prefix as subnet4[0]",
            "3:9: Dhcp4.subnet4[1].pools[0]: pool overlaps subnet4[0].pools[0]",
        ]
    );
    let within = r#"{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
        "pools": [ { "pool": "192.0.2.0/25" }, { "pool": "192.0.2.100 - 192.0.2.200" } ],
        "reservations": [ { "hw-address": "1:2:3:4:5:6", "ip-address": "198.51.100.1" } ] } ] } }"#;
    let shown: Vec<String> = dhcp4::parse(within)
        .expect_err("faulty")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        [
            "1:27: Dhcp4.subnet4[0].pools[1]: pool overlaps subnet4[0].pools[0]",
            "3:27: Dhcp4.subnet4[0].reservations[0].ip-address: 198.51.100.1 is not inside the subnet",
        ]
    );
}

#[test]
fn syntax_errors_and_wrong_roots() {
    let accepted = dhcp4::parse("{ \"Dhcp4\": { \"valid-lifetime\": 10, } }");
    assert!(accepted.is_ok(), "Kea 2.2 accepts a trailing comma");
    let err = dhcp4::parse("{ \"Dhcp4\": { \"valid-lifetime\": 10,, } }").expect_err("two commas");
    assert_eq!(err[0].to_string(), "1:35: (syntax): expected a quoted key");
    let err = dhcp4::parse("{ \"Dhcp6\": {} }").expect_err("no Dhcp4");
    assert!(err.iter().any(|e| e.message.contains("no Dhcp4")));
    let err = dhcp4::parse("[]").expect_err("array");
    assert!(err[0].message.contains("expected an object"));
}

proptest::proptest! {
    #[test]
    fn mutated_configurations_never_panic(edits in proptest::collection::vec((0usize..2000, proptest::char::any()), 1..6)) {
        let mut text: Vec<char> = KEA_PERF.chars().collect();
        for (at, c) in edits {
            let i = at % text.len();
            text[i] = c;
        }
        let text: String = text.into_iter().collect();
        if let Err(faults) = dhcp4::parse(&text) {
            proptest::prop_assert!(!faults.is_empty());
        }
    }
}
