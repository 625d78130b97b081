//! Hooks libraries at the DHCPv6 hook points: Kea's names, the next-step statuses with Kea's
//! meaning per hook point, the arguments libraries get, and run-script's DHCPv6 variables.
//! The libraries are fakes that record their calls.

mod common;

use common::*;
use dhcplab_hooks::{Call, HookPoint, Library, NextStep};
use dhcplab_kea_config::dhcp6::{Dhcp6, HookLibrary};
use dhcplab_server6::hooks::{Loader, Script};
use dhcplab_server6::{Action, LeaseType, Server, ServerError};
use dhcplab_wire::v6::{MessageType, code};
use std::sync::{Arc, Mutex};

/// (hook point, JSON arguments) of every call.
type Log = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// A library that records its calls and sets the status its parameters give per hook point:
/// `{"next-step": {"lease6_select": "SKIP"}}`.
#[derive(Debug)]
struct Fake {
    steps: serde_json::Value,
    log: Log,
}

impl Library for Fake {
    fn name(&self) -> &str {
        "fake"
    }

    fn implements(&self, _point: HookPoint) -> bool {
        true
    }

    fn call(&mut self, call: &mut Call<'_>) -> Result<(), String> {
        let args = serde_json::from_str(call.arguments.to_str().expect("UTF-8"))
            .expect("the arguments are JSON");
        self.log
            .lock()
            .expect("log")
            .push((call.point.name().to_string(), args));
        if let Some(step) = self.steps.get(call.point.name()).and_then(|s| s.as_str()) {
            call.next_step = NextStep::from_name(step).expect("a status");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
struct FakeLoader {
    log: Log,
}

impl Loader for FakeLoader {
    fn load(
        &mut self,
        _library: &str,
        parameters: &serde_json::Value,
        _index: u32,
    ) -> Result<Box<dyn Library>, String> {
        Ok(Box::new(Fake {
            steps: parameters["next-step"].clone(),
            log: self.log.clone(),
        }))
    }

    fn check_script(&mut self, _path: &str) -> Result<(), String> {
        Ok(())
    }
}

fn library(file: &str, parameters: serde_json::Value) -> HookLibrary {
    HookLibrary {
        library: file.into(),
        parameters,
        path: "Dhcp6.hooks-libraries[0]".into(),
        pos: Default::default(),
    }
}

fn hooked(mut cfg: Dhcp6, steps: serde_json::Value) -> (Server, Log) {
    cfg.hooks_libraries = vec![library(
        "/lab/fake.so",
        serde_json::json!({ "next-step": steps }),
    )];
    let loader = FakeLoader::default();
    let log = loader.log.clone();
    let mut s = Server::with_loader(
        cfg,
        serde_json::json!({}),
        vec![],
        Some(SERVER_ID_FILE),
        at(0),
        Box::new(loader),
    )
    .expect("starts");
    s.attach(eth0());
    (s, log)
}

fn points(log: &Log) -> Vec<String> {
    log.lock()
        .expect("log")
        .iter()
        .map(|(p, _)| p.clone())
        .collect()
}

#[test]
fn a_request_passes_kea_s_hook_points_in_order_with_their_arguments() {
    let (mut s, log) = hooked(config(), serde_json::json!({}));
    assert_eq!(points(&log), vec!["dhcp6_srv_configured"]);
    log.lock().expect("log").clear();
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(MessageType::REQUEST, 1, &[sid(), (code::IA_NA, ia(3, &[]))]),
    );
    assert!(m.is_some());
    assert_eq!(
        points(&log),
        vec![
            "buffer6_receive",
            "pkt6_receive",
            "subnet6_select",
            "lease6_select",
            "leases6_committed",
            "pkt6_send",
            "buffer6_send"
        ]
    );
    let calls = log.lock().expect("log").clone();
    assert_eq!(
        calls[2].1["subnet6"],
        serde_json::json!({ "id": 1, "subnet": "2001:db8:1::/64" })
    );
    assert_eq!(calls[3].1["fake_allocation"], false);
    assert_eq!(calls[3].1["lease6"]["ip-address"], "2001:db8:1::100");
    assert_eq!(calls[3].1["ia_na"]["iaid"], 3);
    assert_eq!(calls[4].1["leases6"][0]["iaid"], 3);
    assert_eq!(calls[4].1["deleted_leases6"], serde_json::json!([]));
}

#[test]
fn statuses_have_kea_s_meaning_per_hook_point() {
    // lease6_select SKIP: no lease, NoAddrsAvail.
    let (mut s, _) = hooked(config(), serde_json::json!({ "lease6_select": "SKIP" }));
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(MessageType::REQUEST, 1, &[sid(), (code::IA_NA, ia(1, &[]))]),
    )
    .expect("Reply");
    assert_eq!(
        status(ia_nas(&m)[0].options.status_code().expect("ok")).map(|s| s.0),
        Some(2)
    );
    assert_eq!(s.lease_count(), 0);
    // subnet6_select SKIP: no subnet.
    let (mut s, _) = hooked(config(), serde_json::json!({ "subnet6_select": "SKIP" }));
    let m = exchange(
        &mut s,
        at(0),
        1,
        &msg(MessageType::SOLICIT, 1, &[(code::IA_NA, ia(1, &[]))]),
    )
    .expect("Advertise");
    assert_eq!(
        status(ia_nas(&m)[0].options.status_code().expect("ok")),
        Some((2, "Server could not select subnet for this client".into()))
    );
    // pkt6_receive SKIP, leases6_committed DROP, buffer6_send SKIP: no answer.
    for steps in [
        serde_json::json!({ "pkt6_receive": "SKIP" }),
        serde_json::json!({ "leases6_committed": "DROP" }),
        serde_json::json!({ "pkt6_send": "DROP" }),
        serde_json::json!({ "buffer6_send": "SKIP" }),
    ] {
        let (mut s, _) = hooked(config(), steps.clone());
        let m = exchange(
            &mut s,
            at(0),
            1,
            &msg(MessageType::REQUEST, 1, &[sid(), (code::IA_NA, ia(1, &[]))]),
        );
        assert!(m.is_none(), "{steps}");
    }
    // leases6_committed PARK: the reply is held, the lease is committed.
    let (mut s, _) = hooked(config(), serde_json::json!({ "leases6_committed": "PARK" }));
    assert!(
        exchange(
            &mut s,
            at(0),
            1,
            &msg(MessageType::REQUEST, 1, &[sid(), (code::IA_NA, ia(1, &[]))])
        )
        .is_none()
    );
    assert_eq!((s.parked(), s.lease_count()), (1, 1));
}

#[test]
fn release_and_decline_callouts_can_keep_the_lease() {
    let (mut s, log) = hooked(
        config(),
        serde_json::json!({ "lease6_release": "SKIP", "lease6_decline": "DROP" }),
    );
    let a = bind(&mut s, at(0), 1);
    let m = exchange(
        &mut s,
        at(1),
        1,
        &msg(
            MessageType::RELEASE,
            1,
            &[sid(), (code::IA_NA, ia(1, &[iaaddr(&a.to_string())]))],
        ),
    )
    .expect("Reply");
    // Kea's releaseIA_NA: a callout's SKIP is the server failing to release.
    assert_eq!(
        status(ia_nas(&m)[0].options.status_code().expect("ok")),
        Some((1, "Server failed to release a lease".into()))
    );
    assert!(s.lease(LeaseType::Na, a).is_some());
    let none = exchange(
        &mut s,
        at(2),
        1,
        &msg(
            MessageType::DECLINE,
            1,
            &[sid(), (code::IA_NA, ia(1, &[iaaddr(&a.to_string())]))],
        ),
    );
    assert!(none.is_none(), "lease6_decline DROP drops the Decline");
    assert_eq!(s.lease(LeaseType::Na, a).expect("kept").state, 0);
    assert!(points(&log).contains(&"lease6_decline".to_string()));
}

#[test]
fn renew_and_rebind_call_their_own_hook_points() {
    let (mut s, log) = hooked(config(), serde_json::json!({ "lease6_renew": "SKIP" }));
    let a = bind(&mut s, at(0), 1);
    log.lock().expect("log").clear();
    let _ = exchange(
        &mut s,
        at(100),
        1,
        &msg(
            MessageType::RENEW,
            1,
            &[sid(), (code::IA_NA, ia(1, &[iaaddr(&a.to_string())]))],
        ),
    );
    // SKIP: answered, but the lease is not extended in the store.
    assert_eq!(
        s.lease(LeaseType::Na, a).expect("kept").expire,
        common::T0 + 4000
    );
    let _ = exchange(
        &mut s,
        at(200),
        1,
        &msg(
            MessageType::REBIND,
            1,
            &[(code::IA_NA, ia(1, &[iaaddr(&a.to_string())]))],
        ),
    );
    assert_eq!(
        s.lease(LeaseType::Na, a).expect("kept").expire,
        common::T0 + 200 + 4000
    );
    let p = points(&log);
    assert!(p.contains(&"lease6_renew".to_string()) && p.contains(&"lease6_rebind".to_string()));
}

#[test]
fn run_script_gets_kea_s_dhcpv6_variables() {
    let mut cfg = config();
    cfg.hooks_libraries = vec![library(
        "/usr/lib/kea/hooks/libdhcp_run_script.so",
        serde_json::json!({ "name": "/lab/script.sh" }),
    )];
    let mut s = server(cfg);
    let actions = send(
        &mut s,
        at(0),
        1,
        &msg(MessageType::REQUEST, 1, &[sid(), (code::IA_NA, ia(1, &[]))]),
    );
    let scripts: Vec<&Script> = actions
        .iter()
        .filter_map(|a| match a {
            Action::RunScript(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(scripts.len(), 1);
    assert_eq!(scripts[0].args, vec!["leases6_committed"]);
    let env: std::collections::HashMap<_, _> = scripts[0].env.iter().cloned().collect();
    assert_eq!(env["QUERY6_TYPE"], "REQUEST");
    assert_eq!(env["QUERY6_CLIENT_ID"], "00:03:00:01:02:00:00:00:00:01");
    assert_eq!(env["LEASES6_SIZE"], "1");
    assert_eq!(env["LEASES6_AT0_ADDRESS"], "2001:db8:1::100");
    assert_eq!(env["LEASES6_AT0_TYPE"], "IA_NA");
    assert_eq!(env["LEASES6_AT0_STATE"], "default");
    assert_eq!(env["DELETED_LEASES6_SIZE"], "0");
    // The run-script action comes before the reply, after the lease row.
    assert!(matches!(actions[0], Action::Persist(_)));
    assert!(matches!(actions[1], Action::RunScript(_)));
    assert!(matches!(actions[2], Action::Transmit(_)));
}

#[test]
fn a_refusing_dhcp6_srv_configured_and_the_ha_library_stop_the_start() {
    let mut cfg = config();
    cfg.hooks_libraries = vec![library(
        "/lab/fake.so",
        serde_json::json!({ "next-step": { "dhcp6_srv_configured": "DROP" } }),
    )];
    let refused = Server::with_loader(
        cfg,
        serde_json::json!({}),
        vec![],
        None,
        at(0),
        Box::new(FakeLoader::default()),
    );
    assert_eq!(refused.err(), Some(ServerError::RefusedByHook));
    let mut cfg = config();
    cfg.hooks_libraries = vec![library("libdhcp_ha.so", serde_json::json!({}))];
    assert!(Server::new(cfg, serde_json::json!({}), vec![], None, at(0)).is_err());
}

#[test]
fn expiry_calls_lease6_expire() {
    let (mut s, log) = hooked(config(), serde_json::json!({ "lease6_expire": "SKIP" }));
    let a = bind(&mut s, at(0), 1);
    log.lock().expect("log").clear();
    s.handle_timeout(at(4010));
    assert_eq!(points(&log), vec!["lease6_expire"]);
    // SKIP: the callout took the lease as reclaimed; the server leaves it.
    assert_eq!(s.lease(LeaseType::Na, a).expect("kept").state, 0);
}
