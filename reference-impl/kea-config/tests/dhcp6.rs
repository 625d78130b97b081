//! Reading `Dhcp6` configurations: a full Kea 2.2 configuration (which kea-dhcp6 2.2 -t
//! accepts, given interfaces of these names) reads with Kea's defaults filled in, and every
//! fault is reported with its JSON path, line and column.

use dhcplab_kea_config::dhcp6::{self, DuidType, Identifier6, Prefix6, ServerId};
use std::net::Ipv6Addr;

fn addr(text: &str) -> Ipv6Addr {
    text.parse().expect("test address")
}

fn faults(text: &str) -> Vec<String> {
    dhcp6::parse(text)
        .expect_err("faulty")
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Two links: one directly connected (eth1), one behind relays (interface-id).
const FULL: &str = r#"// A DHCPv6 server for two links: one directly connected, one behind relays.
{
  "Dhcp6": {
    "interfaces-config": { "interfaces": [ "eth1", "eth2/2001:db8:1::1" ] },
    "server-id": { "type": "EN", "enterprise-id": 2495, "identifier": "0a0b0c0d", "persist": true },
    "data-directory": "/tmp/dhcplab-kea6",
    "control-socket": { "socket-type": "unix", "socket-name": "/tmp/dhcplab-kea6.sock" },
    "lease-database": { "type": "memfile", "persist": true, "name": "/tmp/dhcplab-kea6/leases6.csv", "lfc-interval": 3600 },
    "expired-leases-processing": { "reclaim-timer-wait-time": 5, "hold-reclaimed-time": 1800 },
    "decline-probation-period": 3600,
    "preferred-lifetime": 3000, "valid-lifetime": 4000,
    "renew-timer": 1000, "rebind-timer": 2000,
    /* Options for every subnet. */
    "option-data": [
      { "name": "dns-servers", "data": "2001:db8::53, 2001:db8::54" },
      { "name": "domain-search", "data": "example.org, lab.example.org" },
      { "name": "sntp-servers", "data": "2001:db8::123" },
      { "name": "information-refresh-time", "data": "86400" },
      { "name": "new-posix-timezone", "data": "EST5EDT4,M3.2.0/02:00,M11.1.0/02:00" },
      { "name": "new-tzdb-timezone", "data": "Europe/Zurich" },
      { "code": 7, "data": "0a", "csv-format": false, "always-send": true }
    ],
    "subnet6": [
      {
        "id": 1,
        "subnet": "2001:db8:1::/64",
        "interface": "eth1",
        "rapid-commit": true,
        "calculate-tee-times": true, "t1-percent": 0.4, "t2-percent": 0.7,
        "pools": [ { "pool": "2001:db8:1::100 - 2001:db8:1::1ff" },
                   { "pool": "2001:db8:1::1:0/112",
                     "option-data": [ { "name": "preference", "data": "255" } ] } ],
        "pd-pools": [ { "prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56,
                        "option-data": [ { "name": "sip-server-addr", "data": "2001:db8::5060" } ] } ],
        "option-data": [ { "name": "unicast", "data": "2001:db8:1::1" } ],
        "reservations": [
          { "duid": "00:03:00:01:02:00:5e:00:53:01", "ip-addresses": [ "2001:db8:1::10" ],
            "prefixes": [ "2001:db8:9000:100::/56" ], "hostname": "printer",
            "option-data": [ { "name": "sntp-servers", "data": "2001:db8::124" } ] },
          { "hw-address": "02:00:5e:00:53:02", "ip-addresses": [ "2001:db8:1::11", "2001:db8:1::12" ] }
        ]
      },
      {
        "id": 2,
        "subnet": "2001:db8:2::/64",
        "interface-id": "ge-0/0/1.100",
        "relay": { "ip-addresses": [ "2001:db8:2::fe" ] },
        "preferred-lifetime": 600, "valid-lifetime": 900,
        "pools": [ { "pool": "2001:db8:2::1000 - 2001:db8:2::1fff" } ],
        "pd-pools": [ { "prefix": "2001:db8:a000::", "prefix-len": 40, "delegated-len": 60 } ]
      }
    ],
    "hooks-libraries": [ { "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so" } ],
    "loggers": [ { "name": "kea-dhcp6", "severity": "INFO", "debuglevel": 0,
                   "output_options": [ { "output": "stdout", "pattern": "%-5p %m\n" } ] } ]
  }
}
"#;

#[test]
fn full_configuration_reads() {
    let (c, json) = dhcp6::parse_document(FULL).expect("valid");
    assert_eq!(json["Dhcp6"]["subnet6"][1]["interface-id"], "ge-0/0/1.100");
    let names: Vec<(&str, Option<Ipv6Addr>)> = c
        .interfaces
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i.address))
        .collect();
    assert_eq!(
        names,
        [("eth1", None), ("eth2", Some(addr("2001:db8:1::1")))]
    );
    assert_eq!(
        c.server_id,
        ServerId {
            kind: DuidType::En,
            identifier: vec![0x0a, 0x0b, 0x0c, 0x0d],
            time: 0,
            htype: 0,
            enterprise_id: 2495,
            persist: true,
        }
    );
    assert_eq!(c.data_directory, Some("/tmp/dhcplab-kea6".into()));
    assert_eq!(
        c.control_socket.map(|s| s.path),
        Some("/tmp/dhcplab-kea6.sock".into())
    );
    assert_eq!(c.lease_database.lfc_interval, 3600);
    assert_eq!(c.expired_leases.reclaim_timer_wait_time, 5);
    assert_eq!(c.expired_leases.hold_reclaimed_time, 1800);
    assert_eq!(c.expired_leases.flush_reclaimed_timer_wait_time, 25);
    assert_eq!(c.decline_probation_period, 3600);
    assert_eq!(c.timers.preferred_lifetime, Some(3000));
    assert_eq!(c.timers.base.valid_lifetime, Some(4000));
    assert_eq!(
        (c.timers.base.renew_timer, c.timers.base.rebind_timer),
        (Some(1000), Some(2000))
    );
    assert!(!c.rapid_commit);

    let codes: Vec<u16> = c.option_data.iter().map(|o| o.code).collect();
    assert_eq!(codes, [23, 24, 31, 32, 41, 42, 7]);
    let mut dns = addr("2001:db8::53").octets().to_vec();
    dns.extend_from_slice(&addr("2001:db8::54").octets());
    assert_eq!(c.option_data[0].data, dns);
    assert_eq!(
        c.option_data[1].data,
        b"\x07example\x03org\x00\x03lab\x07example\x03org\x00".to_vec()
    );
    assert_eq!(c.option_data[3].data, 86400u32.to_be_bytes().to_vec());
    assert_eq!(c.option_data[5].data, b"Europe/Zurich".to_vec());
    assert_eq!(
        (
            c.option_data[6].data.as_slice(),
            c.option_data[6].always_send
        ),
        (&[0x0a][..], true)
    );

    let s = &c.subnets[0];
    assert_eq!(
        (s.id, s.prefix.to_string()),
        (1, "2001:db8:1::/64".to_string())
    );
    assert_eq!(
        (s.interface.as_deref(), s.rapid_commit),
        (Some("eth1"), Some(true))
    );
    assert_eq!(
        (s.pools[0].first, s.pools[0].last),
        (addr("2001:db8:1::100"), addr("2001:db8:1::1ff"))
    );
    assert_eq!(
        (s.pools[1].first, s.pools[1].last),
        (addr("2001:db8:1::1:0"), addr("2001:db8:1::1:ffff"))
    );
    assert_eq!(s.pools[1].option_data[0].data, vec![255]);
    let pd = &s.pd_pools[0];
    assert_eq!(
        (pd.prefix, pd.delegated_len),
        (
            Prefix6 {
                network: addr("2001:db8:8000::"),
                len: 48
            },
            56
        )
    );
    assert_eq!(pd.option_data[0].code, 22);
    assert_eq!(
        s.option_data[0].data,
        addr("2001:db8:1::1").octets().to_vec()
    );
    let r = &s.reservations[0];
    assert_eq!(
        r.identifier,
        Identifier6::Duid(vec![0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 1])
    );
    assert_eq!(r.addresses, [addr("2001:db8:1::10")]);
    assert_eq!(r.prefixes[0].to_string(), "2001:db8:9000:100::/56");
    assert_eq!(r.hostname.as_deref(), Some("printer"));
    assert_eq!(r.option_data[0].code, 31);
    assert_eq!(
        s.reservations[1].identifier,
        Identifier6::HwAddress(vec![2, 0, 0x5e, 0, 0x53, 2])
    );
    assert_eq!(s.reservations[1].addresses.len(), 2);
    // The subnet's own times over the global ones; Kea's defaults for the rest.
    let times = s.timers.over(&c.timers).resolve();
    assert_eq!((times.valid, times.preferred), (4000, 3000));
    assert_eq!((times.renew, times.rebind), (Some(1000), Some(2000)));
    assert_eq!((times.t1_percent, times.t2_percent), (0.4, 0.7));

    let s = &c.subnets[1];
    assert_eq!(s.interface, None);
    assert_eq!(s.interface_id.as_deref(), Some(&b"ge-0/0/1.100"[..]));
    assert_eq!(s.relays, [addr("2001:db8:2::fe")]);
    assert_eq!(s.rapid_commit, None);
    let times = s.timers.over(&c.timers).resolve();
    assert_eq!((times.valid, times.preferred), (900, 600));
    assert_eq!(s.pd_pools[0].prefix.len, 40);

    assert_eq!(c.hooks_libraries.len(), 1);
    assert_eq!(c.hooks_libraries[0].path, "Dhcp6.hooks-libraries[0]");
    assert_eq!(
        (c.loggers[0].name.as_str(), c.loggers[0].outputs.as_slice()),
        ("kea-dhcp6", &["stdout".to_string()][..])
    );
}

/// Kea 2.2's defaults, as `config-get` of a kea-dhcp6 2.2 started with an empty Dhcp6 map
/// (and no interfaces) shows them.
#[test]
fn kea_defaults() {
    let c =
        dhcp6::parse(r#"{ "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64" } ] } }"#)
            .expect("valid");
    let times = c.subnets[0].timers.over(&c.timers).resolve();
    assert_eq!((times.valid, times.preferred), (7200, 3600));
    assert_eq!((times.renew, times.rebind), (None, None));
    assert!(times.calculate_tee_times);
    assert_eq!((times.t1_percent, times.t2_percent), (0.5, 0.8));
    assert_eq!(c.decline_probation_period, 86400);
    assert_eq!(c.parked_packet_limit, 256);
    assert_eq!(c.server_id, ServerId::default());
    assert_eq!(
        (c.server_id.kind, c.server_id.persist),
        (DuidType::Llt, true)
    );
    assert_eq!(c.data_directory, None);
    assert_eq!(c.lease_database.lfc_interval, 3600);
    assert_eq!(c.expired_leases.max_reclaim_time, 250);
    assert!(!c.rapid_commit && c.subnets[0].rapid_commit.is_none());
    assert!(c.interfaces.interfaces.is_empty());
}

#[test]
fn root_interfaces_timers_and_server_id_faults() {
    let text = r#"{
  "Dhcp4": { },
  "Dhcp6": {
    "interfaces-config": { "interfaces": [ "eth0/192.0.2.1" ], "dhcp-socket-type": "udp" },
    "rapid-commit": true,
    "preferred-lifetime": 5000, "valid-lifetime": 4000,
    "renew-timer": 3000, "rebind-timer": 2000,
    "decline-probation-period": -1,
    "server-id": { "type": "DUID", "identifier": "01:02:03", "htype": 70000, "colour": 1 },
    "option-data": [ { "name": "ntp-server", "data": "" },
                     { "name": "dns-servers", "data": "192.0.2.53" },
                     { "name": "dns-servers", "code": 24, "data": "2001:db8::53" },
                     { "space": "dhcp4", "code": 6, "data": "192.0.2.53" },
                     { "data": "01" } ],
    "shared-networks": [ ],
    "colour": "blue"
  }
}"#;
    assert_eq!(
        faults(text),
        [
            "2:3: Dhcp4: not supported by dhcplab: this is a DHCPv6 server configuration",
            "4:44: Dhcp6.interfaces-config.interfaces[0]: \"192.0.2.1\" is not an IPv6 address",
            "4:64: Dhcp6.interfaces-config.dhcp-socket-type: not supported by dhcplab: a DHCPv4 key: DHCPv6 always uses UDP sockets",
            "5:5: Dhcp6.rapid-commit: not supported by dhcplab: not a Dhcp6 key in Kea 2.2 (kea-dhcp6 refuses it): set rapid-commit per subnet",
            "6:27: Dhcp6.preferred-lifetime: preferred-lifetime 5000 is above valid-lifetime 4000",
            "7:20: Dhcp6.renew-timer: renew-timer 3000 is above rebind-timer 2000",
            "8:33: Dhcp6.decline-probation-period: expected an integer from 0 to 4294967295, found -1",
            "9:28: Dhcp6.server-id.type: \"DUID\" is not LLT, EN or LL",
            "9:50: Dhcp6.server-id.identifier: \"01:02:03\" is not an even number of hex digits (Kea takes no colons here)",
            "9:71: Dhcp6.server-id.htype: expected an integer from 0 to 65535, found 70000",
            "9:78: Dhcp6.server-id.colour: unknown key",
            "10:32: Dhcp6.option-data[0].name: \"ntp-server\" is not a standard DHCPv6 option name",
            "11:55: Dhcp6.option-data[1].data: \"192.0.2.53\" is not an IPv6 address",
            "12:22: Dhcp6.option-data[2]: name means option 23 but code says 24",
            "13:22: Dhcp6.option-data[3].space: option space \"dhcp4\" is not implemented (only dhcp6)",
            "14:22: Dhcp6.option-data[4]: option-data needs a name or a code",
            "15:5: Dhcp6.shared-networks: not supported by dhcplab: shared networks are not implemented",
            "16:5: Dhcp6.colour: unknown key",
        ]
    );
}

#[test]
fn subnet_pool_and_pd_pool_faults() {
    let text = r#"{ "Dhcp6": { "subnet6": [
  { "subnet": "2001:db8:1::/64", "interface": "eth0", "interface-id": "port-1",
    "pools": [ { "pool": "2001:db8:2::1 - 2001:db8:2::9" },
               { "pool": "2001:db8:1::9 - 2001:db8:1::1" },
               { "pool": "2001:db8:1::x" },
               { "option-data": [ ] },
               { "pool": "2001:db8:1::/112", "client-class": "x" } ],
    "pd-pools": [ { "prefix-len": 48 },
                  { "prefix": "2001:db8:8000::1", "prefix-len": 48, "delegated-len": 56 },
                  { "prefix": "2001:db8:8000::", "prefix-len": 56, "delegated-len": 48 },
                  { "prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 129 },
                  { "prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 64,
                    "excluded-prefix": "2001:db8:8000::", "excluded-prefix-len": 72 } ],
    "reservation-mode": "all" },
  { "id": 2 },
  { "id": 3, "subnet": "2001:db8:3::1/64" },
  { "id": 4, "subnet": "2001:db8:4::" }
] } }"#;
    assert_eq!(
        faults(text),
        [
            "2:3: Dhcp6.subnet6[0]: a subnet needs an \"id\" (dhcplab does not number subnets itself)",
            "2:71: Dhcp6.subnet6[0].interface-id: interface (eth0, for directly connected clients) and interface-id (for relayed ones) cannot both be given",
            "3:26: Dhcp6.subnet6[0].pools[0].pool: pool \"2001:db8:2::1 - 2001:db8:2::9\" is not inside the subnet",
            "4:26: Dhcp6.subnet6[0].pools[1].pool: \"2001:db8:1::9 - 2001:db8:1::1\": the first address is above the last",
            "5:26: Dhcp6.subnet6[0].pools[2].pool: \"2001:db8:1::x\" is not address/length",
            "6:16: Dhcp6.subnet6[0].pools[3]: a pool needs \"pool\"",
            "7:46: Dhcp6.subnet6[0].pools[4].client-class: not supported by dhcplab: client classification is not implemented",
            "8:19: Dhcp6.subnet6[0].pd-pools[0]: a pd-pool needs \"prefix\"",
            "8:19: Dhcp6.subnet6[0].pd-pools[0]: a pd-pool needs \"delegated-len\"",
            "9:31: Dhcp6.subnet6[0].pd-pools[1].prefix: 2001:db8:8000::1/48 has host bits set",
            "10:85: Dhcp6.subnet6[0].pd-pools[2].delegated-len: delegated-len 48 is shorter than prefix-len 56",
            "11:85: Dhcp6.subnet6[0].pd-pools[3].delegated-len: expected an integer from 1 to 128, found 129",
            "13:21: Dhcp6.subnet6[0].pd-pools[4].excluded-prefix: not supported by dhcplab: excluded prefixes (PD_EXCLUDE, RFC 6603) are not implemented",
            "13:59: Dhcp6.subnet6[0].pd-pools[4].excluded-prefix-len: not supported by dhcplab: excluded prefixes (PD_EXCLUDE, RFC 6603) are not implemented",
            "14:5: Dhcp6.subnet6[0].reservation-mode: not supported by dhcplab: reservation modes are not implemented",
            "15:3: Dhcp6.subnet6[1]: a subnet needs \"subnet\"",
            "16:24: Dhcp6.subnet6[2].subnet: 2001:db8:3::1/64 has host bits set",
            "17:24: Dhcp6.subnet6[3].subnet: \"2001:db8:4::\" is not address/length",
        ]
    );
}

#[test]
fn reservation_faults() {
    let text = r#"{ "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64", "reservations": [
  { "duid": "01:02:03", "hw-address": "02:00:5e:00:53:01", "hostname": "a" },
  { "ip-addresses": [ "2001:db8:1::1" ] },
  { "duid": "0g", "hostname": "b" },
  { "duid": "01:02:04", "ip-addresses": [ "2001:db8:2::1", "2001:db8:1::x" ], "prefixes": [ "2001:db8:9::/129" ] },
  { "duid": "01:02:05", "ip-addresses": [ "2001:db8:1::5" ], "prefixes": [ "2001:db8:9::/56" ] },
  { "duid": "01:02:05", "ip-addresses": [ "2001:db8:1::5" ], "prefixes": [ "2001:db8:9::/56" ] },
  { "hw-address": "02:00:5e:00:53:07" },
  { "hw-address": "02:00:5e:00:53:08", "hostname": "", "flex-id": "'x'" }
] } ] } }"#;
    assert_eq!(
        faults(text),
        [
            "2:3: Dhcp6.subnet6[0].reservations[0]: a reservation takes one identifier, not both duid and hw-address",
            "3:3: Dhcp6.subnet6[0].reservations[1]: a reservation needs duid or hw-address",
            "4:13: Dhcp6.subnet6[0].reservations[2].duid: \"0g\" is not hex bytes",
            "5:43: Dhcp6.subnet6[0].reservations[3].ip-addresses[0]: 2001:db8:2::1 is not inside the subnet",
            "5:60: Dhcp6.subnet6[0].reservations[3].ip-addresses[1]: \"2001:db8:1::x\" is not an IPv6 address",
            "5:93: Dhcp6.subnet6[0].reservations[3].prefixes[0]: \"129\" is not a prefix length",
            "7:3: Dhcp6.subnet6[0].reservations[5]: the same client as reservations[4]",
            "7:43: Dhcp6.subnet6[0].reservations[5].ip-addresses[0]: 2001:db8:1::5/128 is also reserved by reservations[4]",
            "7:76: Dhcp6.subnet6[0].reservations[5].prefixes[0]: 2001:db8:9::/56 is also reserved by reservations[4]",
            "8:3: Dhcp6.subnet6[0].reservations[6]: a reservation needs something to reserve: ip-addresses, prefixes, hostname or option-data",
            "9:52: Dhcp6.subnet6[0].reservations[7].hostname: an empty hostname",
            "9:56: Dhcp6.subnet6[0].reservations[7].flex-id: not supported by dhcplab: reservations match duid and hw-address only",
        ]
    );
}

#[test]
fn subnets_may_not_share_ids_prefixes_or_pools() {
    let text = r#"{ "Dhcp6": { "subnet6": [
  { "id": 1, "subnet": "2001:db8:1::/64", "pools": [ { "pool": "2001:db8:1::10 - 2001:db8:1::20" } ],
    "pd-pools": [ { "prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56 } ] },
  { "id": 1, "subnet": "2001:db8:1::/64", "pools": [ { "pool": "2001:db8:1::20 - 2001:db8:1::30" } ],
    "pd-pools": [ { "prefix": "2001:db8:8000:100::", "prefix-len": 56, "delegated-len": 64 } ] },
  { "id": 3, "subnet": "2001:db8:3::/64",
    "pools": [ { "pool": "2001:db8:3::/120" }, { "pool": "2001:db8:3::ff - 2001:db8:3::1ff" } ] }
] } }"#;
    assert_eq!(
        faults(text),
        [
            "4:3: Dhcp6.subnet6[1].id: subnet id 1 is also used by subnet6[0]",
            "4:3: Dhcp6.subnet6[1].subnet: the same prefix as subnet6[0]",
            "4:3: Dhcp6.subnet6[1].pools[0]: pool overlaps subnet6[0].pools[0]",
            "4:3: Dhcp6.subnet6[1].pd-pools[0]: pd-pool overlaps subnet6[0].pd-pools[0]",
            "6:3: Dhcp6.subnet6[2].pools[1]: pool overlaps subnet6[2].pools[0]",
        ]
    );
    // Prefix pools outside the subnet, and a reserved prefix outside it, are fine (Kea
    // routes delegated prefixes to the client; they are not on its link).
    let outside = r#"{ "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64",
        "pd-pools": [ { "prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 64 } ],
        "reservations": [ { "duid": "01:02", "prefixes": [ "2001:db8:9000::/56" ] } ] } ] } }"#;
    assert!(dhcp6::parse(outside).is_ok());
}

#[test]
fn syntax_errors_and_wrong_roots() {
    let err = dhcp6::parse("{ \"Dhcp6\": { \"valid-lifetime\": 10,, } }").expect_err("two commas");
    assert_eq!(err[0].to_string(), "1:35: (syntax): expected a quoted key");
    assert_eq!(
        faults("{ \"Dhcp4\": {} }"),
        ["1:1: Dhcp6: the file has no Dhcp6 map"]
    );
    assert_eq!(
        faults("[]"),
        ["1:1: (syntax): expected an object, found an array"]
    );
    assert_eq!(
        faults("{ \"Dhcp6\": { \"subnet6\": {} } }"),
        ["1:25: Dhcp6.subnet6: expected an array, found an object"]
    );
}

proptest::proptest! {
    #[test]
    fn mutated_configurations_never_panic(edits in proptest::collection::vec((0usize..6000, proptest::char::any()), 1..6)) {
        let mut text: Vec<char> = FULL.chars().collect();
        for (at, c) in edits {
            let i = at % text.len();
            text[i] = c;
        }
        let text: String = text.into_iter().collect();
        if let Err(faults) = dhcp6::parse(&text) {
            proptest::prop_assert!(!faults.is_empty());
            proptest::prop_assert!(faults.windows(2).all(|w| w[0].pos.offset <= w[1].pos.offset));
        }
    }
}
