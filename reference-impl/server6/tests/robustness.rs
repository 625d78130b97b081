//! Edge inputs found in review: each once made the server panic or work without bound.

mod common;

use common::*;
use dhcplab_server6::CommandOutcome;
use dhcplab_wire::v6::{MessageType, code};
use proptest::prelude::*;

fn answer(s: &mut dhcplab_server6::Server, text: &str) -> serde_json::Value {
    match s.handle_command(at(1), text) {
        CommandOutcome::Answer(a) => a,
        other => panic!("unexpected {other:?}"),
    }
}

/// A pool spanning the whole address space (`::/0`, which Kea's parser accepts) has 2^128
/// addresses: the statistics saturate instead of overflowing.
#[test]
fn a_pool_of_the_whole_address_space_has_saturated_statistics() {
    let mut cfg = config();
    cfg.subnets[0].prefix = prefix("::/0");
    cfg.subnets[0].pools[0].first = ip("::");
    cfg.subnets[0].pools[0].last = ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    cfg.subnets[0].pd_pools[0].prefix = prefix("::/0");
    cfg.subnets[0].pd_pools[0].delegated_len = 128;
    let mut s = server(cfg);
    let a = answer(&mut s, r#"{"command": "statistic-get-all"}"#);
    assert_eq!(a["arguments"]["subnet[1].total-nas"][0][0], i64::MAX, "{a}");
    assert_eq!(a["arguments"]["subnet[1].total-pds"][0][0], i64::MAX, "{a}");
    let m = exchange(
        &mut s,
        at(2),
        1,
        &msg(MessageType::SOLICIT, 1, &[(code::IA_NA, ia(1, &[]))]),
    );
    assert!(m.is_some());
}

/// Values at the edges of what the configuration and lease file allow.
fn edge_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(u32::MAX),
        Just(u32::MAX - 1),
        any::<u32>()
    ]
}

fn edge_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(u64::from(u32::MAX)),
        any::<u64>()
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Lifetimes, timers, probation and reclamation settings at their extremes, a lease row of
    /// any lifetimes and expiry, and clocks far apart: no panic in a whole conversation.
    #[test]
    fn extreme_lifetimes_timers_and_lease_rows_never_panic(
        valid in edge_u32(), preferred in edge_u32(), renew in edge_u32(), rebind in edge_u32(),
        t1 in 0.0f64..2.0, t2 in 0.0f64..2.0, calculate in any::<bool>(),
        probation in edge_u32(), wait in edge_u32(), flush in edge_u32(), hold in edge_u32(),
        max_leases in edge_u32(), lfc in edge_u32(),
        row_valid in edge_u32(), row_expire in edge_u64(), row_pref in edge_u32(),
        later in edge_u32(),
    ) {
        let mut cfg = config();
        cfg.timers.base.valid_lifetime = Some(valid);
        cfg.timers.preferred_lifetime = Some(preferred);
        cfg.timers.base.renew_timer = Some(renew);
        cfg.timers.base.rebind_timer = Some(rebind);
        cfg.timers.base.t1_percent = Some(t1);
        cfg.timers.base.t2_percent = Some(t2);
        cfg.timers.base.calculate_tee_times = Some(calculate);
        if calculate {
            cfg.timers.base.renew_timer = None;
            cfg.timers.base.rebind_timer = None;
        }
        cfg.decline_probation_period = probation;
        cfg.expired_leases.reclaim_timer_wait_time = wait;
        cfg.expired_leases.flush_reclaimed_timer_wait_time = flush;
        cfg.expired_leases.hold_reclaimed_time = hold;
        cfg.expired_leases.max_reclaim_leases = max_leases;
        cfg.lease_database.lfc_interval = lfc;
        let leases = lease_file(&[
            format!("2001:db8:1::100,{},{row_valid},{row_expire},1,{row_pref},0,1,128,0,0,,,0,,,",
                    dhcplab_wire::v4::Hex(&duid(1))),
            format!("2001:db8:8000::,{},{row_valid},{row_expire},1,{row_pref},2,1,56,0,0,,,1,,,",
                    dhcplab_wire::v4::Hex(&duid(2))),
        ]);
        let mut s = server_with(cfg, leases);
        let ias = [(code::IA_NA, ia(1, &[iaaddr("2001:db8:1::100")])),
                   (code::IA_PD, ia(1, &[iaprefix("2001:db8:8000::/56")]))];
        for n in [1u8, 2] {
            let mut with_sid = ias.to_vec();
            with_sid.push(sid());
            for (t, o) in [(MessageType::SOLICIT, &ias[..]), (MessageType::REQUEST, &with_sid[..]),
                           (MessageType::RENEW, &with_sid[..]), (MessageType::REBIND, &ias[..]),
                           (MessageType::DECLINE, &with_sid[..]), (MessageType::RELEASE, &with_sid[..])] {
                let _ = send(&mut s, at(1), n, &msg(t, n, o));
            }
        }
        let _ = answer(&mut s, r#"{"command": "statistic-get-all"}"#);
        let _ = answer(&mut s, r#"{"command": "lease6-get-all"}"#);
        for secs in [2, u64::from(later), u64::from(later) * 2 + 10] {
            s.handle_timeout(at(secs));
            let _ = s.poll_timeout();
            while s.poll_action().is_some() {}
        }
        let _ = answer(&mut s, r#"{"command": "leases-reclaim", "arguments": {"remove": false}}"#);
    }
}

/// A query through 32 relays (the most the wire decoder unwraps, `MAX_DEPTH`) is answered
/// through all 32, each layer's hop count and Interface-Id echoed; one through 33 is dropped.
#[test]
fn thirty_two_relay_layers_are_answered_and_thirty_three_dropped() {
    let mut s = server(config());
    let inner = msg(MessageType::SOLICIT, 1, &[(code::IA_NA, ia(1, &[]))]);
    let mut bytes = inner.clone();
    for hop in 0..32u8 {
        bytes = relay(
            &bytes,
            hop,
            "2001:db8:1::ff",
            "fe80::9",
            &[(code::INTERFACE_ID, vec![hop])],
        );
    }
    let actions = deliver(
        &mut s,
        at(0),
        std::net::SocketAddrV6::new(ip("2001:db8:1::ff"), 547, 0, 0),
        ip("2001:db8:1::1"),
        &bytes,
    );
    let mut m = reply(&actions);
    for hop in (0..32u8).rev() {
        assert_eq!(m.msg_type(), MessageType::RELAY_REPL);
        assert_eq!(m.options().interface_id(), Some(&[hop][..]));
        m = m.relayed().expect("valid").expect("relayed");
    }
    assert_eq!(m.msg_type(), MessageType::ADVERTISE);
    let deeper = relay(&bytes, 32, "2001:db8:1::ff", "fe80::9", &[]);
    let actions = deliver(
        &mut s,
        at(0),
        std::net::SocketAddrV6::new(ip("2001:db8:1::ff"), 547, 0, 0),
        ip("2001:db8:1::1"),
        &deeper,
    );
    assert!(transmits(&actions).is_empty());
}

/// A Solicit with as many IA_NAs as a datagram holds, on a full pool: answered, each IA
/// with NoAddrsAvail, in bounded time.
#[test]
fn a_solicit_full_of_ias_on_a_full_pool_is_answered_quickly() {
    let mut cfg = config();
    cfg.subnets[0].pools[0].last = ip("2001:db8:1::7ff");
    let rows: Vec<String> = (0x100u16..=0x7ff)
        .map(|i| {
            format!(
                "2001:db8:1::{i:x},00:03:00:01:02:00:00:00:{:02x}:{:02x},4000,{},1,3000,0,1,128,0,0,,,0,,,",
                i >> 8,
                i & 0xff,
                common::T0 + 100_000
            )
        })
        .collect();
    let leases = lease_file(&rows);
    assert_eq!(leases.len(), 0x700);
    let mut s = server_with(cfg, leases);
    let ias: Vec<(u16, Vec<u8>)> = (0..4000u32).map(|i| (code::IA_NA, ia(i, &[]))).collect();
    let started = std::time::Instant::now();
    let m = exchange(&mut s, at(1), 1, &msg(MessageType::SOLICIT, 1, &ias)).expect("Advertise");
    assert_eq!(ia_nas(&m).len(), 4000);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// A JSON value of any shape, numbers at their edges included.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        prop_oneof![
            Just(0u64),
            Just(1),
            Just(u64::from(u32::MAX)),
            Just(u64::MAX),
            any::<u64>()
        ]
        .prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just("2001:db8:1::150".to_string()),
            Just("2001:db8:8000:100::".to_string()),
            Just("IA_PD".to_string()),
            Just("IA_NA".to_string()),
            Just("start".to_string()),
            Just("00:01:02".to_string()),
            Just("duid".to_string()),
            "[ -~]{0,12}",
        ]
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map("[a-z-]{1,8}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every command with arguments of any shape under Kea's argument names is answered, and
    /// the server still answers a Solicit afterwards.
    #[test]
    fn commands_with_arguments_of_any_shape_never_panic(
        command in 0usize..dhcplab_server6::COMMANDS.len(),
        values in proptest::collection::vec(json_value(), 14),
        present in proptest::collection::vec(any::<bool>(), 14),
    ) {
        let names = ["ip-address", "type", "duid", "iaid", "subnet-id", "prefix-len",
                     "valid-lft", "preferred-lft", "expire", "cltt", "state", "from", "limit",
                     "identifier-type"];
        let mut args = serde_json::Map::new();
        for ((name, value), on) in names.iter().zip(values).zip(present) {
            if on {
                args.insert((*name).to_string(), value);
            }
        }
        let name = dhcplab_server6::COMMANDS[command];
        if name == "shutdown" || name == "config-set" || name == "config-reload" {
            return Ok(());
        }
        let mut s = server(config());
        let _ = bind(&mut s, at(0), 1);
        let text = serde_json::json!({ "command": name, "arguments": args }).to_string();
        let outcome = s.handle_command(at(1), &text);
        let CommandOutcome::Answer(a) = outcome else { panic!("an answer") };
        prop_assert!(a["result"].is_i64(), "{a}");
        s.handle_timeout(at(20_000));
        while s.poll_action().is_some() {}
        let m = exchange(&mut s, at(20_001), 2, &msg(MessageType::SOLICIT, 2, &[(code::IA_NA, ia(1, &[]))]));
        prop_assert!(m.is_some() || name == "dhcp-disable");
    }
}
