//! Hooks libraries in the core: order, next-step statuses with Kea's meaning per hook point,
//! run-script's environment, and reloads. The libraries are fakes that record their calls.

mod common;

use common::{Client, at, config, drain, eth0, send};
use dhcplab_hooks::{Call, HookPoint, Library, NextStep};
use dhcplab_server::hooks::{Loader, Script};
use dhcplab_server::{Action, Server, ServerError};
use dhcplab_wire::v4::MessageType;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

type Log = Arc<Mutex<Vec<String>>>;

/// A library that logs "NAME hook" for every call and sets the status its parameters give
/// per hook point: `{"name": "A", "next-step": {"lease4_select": "SKIP"}, "context": {...}}`.
#[derive(Debug)]
struct Fake {
    name: String,
    steps: serde_json::Value,
    context: Option<String>,
    log: Log,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.log
            .lock()
            .expect("valid")
            .push(format!("{} unload", self.name));
    }
}

impl Library for Fake {
    fn name(&self) -> &str {
        &self.name
    }

    fn implements(&self, _point: HookPoint) -> bool {
        true
    }

    fn call(&mut self, call: &mut Call<'_>) -> Result<(), String> {
        self.log
            .lock()
            .expect("valid")
            .push(format!("{} {}", self.name, call.point));
        if let Some(step) = self.steps.get(call.point.name()).and_then(|s| s.as_str()) {
            call.next_step = match step {
                "CONTINUE" => NextStep::Continue,
                "SKIP" => NextStep::Skip,
                "DROP" => NextStep::Drop,
                _ => NextStep::Park,
            };
        }
        if call.point == HookPoint::Lease4Select {
            call.lease_context.clone_from(&self.context);
        }
        Ok(())
    }
}

/// Loads [`Fake`]s; a library named "fail" does not load.
#[derive(Debug, Clone, Default)]
struct FakeLoader {
    log: Log,
}

impl Loader for FakeLoader {
    fn load(
        &mut self,
        library: &str,
        parameters: &serde_json::Value,
        _index: u32,
    ) -> Result<Box<dyn Library>, String> {
        if library == "fail" {
            return Err("load() returned 1".into());
        }
        let name = parameters["name"].as_str().unwrap_or("?").to_string();
        self.log.lock().expect("log").push(format!("{name} load"));
        Ok(Box::new(Fake {
            name,
            steps: parameters["next-step"].clone(),
            context: parameters.get("context").map(|c| c.to_string()),
            log: self.log.clone(),
        }))
    }

    fn check_script(&mut self, path: &str) -> Result<(), String> {
        if path.contains("missing") {
            Err(format!("File not found: {path}"))
        } else {
            Ok(())
        }
    }
}

/// `hooks-libraries` with one fake per (name, next-step map).
fn hooks(libs: &[(&str, &str)]) -> String {
    let list: Vec<String> = libs
        .iter()
        .map(|(name, steps)| {
            format!(
                r#"{{ "library": "/lab/{name}.so", "parameters": {{ "name": "{name}", "next-step": {{ {steps} }} }} }}"#
            )
        })
        .collect();
    format!(r#""hooks-libraries": [ {} ]"#, list.join(", "))
}

fn server(text: &str) -> (Server, Log) {
    let loader = FakeLoader::default();
    let log = loader.log.clone();
    let (c, json) = dhcplab_kea_config::dhcp4::parse_document(text).expect("config");
    let mut s = Server::with_loader(c, json, Vec::new(), at(0), Box::new(loader)).expect("starts");
    s.attach(eth0());
    (s, log)
}

fn taken(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().expect("log"))
}

const POOL: &str = "192.0.2.100 - 192.0.2.199";
const SID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

#[test]
fn every_library_is_called_at_every_hook_point_in_configuration_order() {
    let (mut s, log) = server(&config(
        POOL,
        "",
        &hooks(&[("A", ""), ("B", ""), ("C", "")]),
    ));
    assert_eq!(
        taken(&log),
        [
            "A load",
            "B load",
            "C load",
            "A dhcp4_srv_configured",
            "B dhcp4_srv_configured",
            "C dhcp4_srv_configured"
        ]
    );
    Client::new(1).dora(&mut s, at(1));
    let order = |points: &[&str]| -> Vec<String> {
        points
            .iter()
            .flat_map(|p| ["A", "B", "C"].map(|l| format!("{l} {p}")))
            .collect()
    };
    let discover = [
        "buffer4_receive",
        "pkt4_receive",
        "subnet4_select",
        "lease4_select",
        "pkt4_send",
        "buffer4_send",
    ];
    let request = [
        "buffer4_receive",
        "pkt4_receive",
        "subnet4_select",
        "lease4_select",
        "leases4_committed",
        "pkt4_send",
        "buffer4_send",
    ];
    let mut want = order(&discover);
    want.extend(order(&request));
    assert_eq!(taken(&log), want);
}

#[test]
fn the_last_library_to_set_a_status_wins() {
    // SKIP then CONTINUE: the address is given.
    let (mut s, _) = server(&config(
        POOL,
        "",
        &hooks(&[
            ("A", r#""lease4_select": "SKIP""#),
            ("B", r#""lease4_select": "CONTINUE""#),
        ]),
    ));
    let offer = send(&mut s, at(1), &Client::new(1).discover());
    assert_eq!(offer.reply().1.yiaddr, Ipv4Addr::new(192, 0, 2, 100));

    // CONTINUE then SKIP: nothing to offer, and a REQUEST is NAKed (Kea's lease4_select SKIP).
    let (mut s, _) = server(&config(
        POOL,
        "",
        &hooks(&[
            ("A", r#""lease4_select": "CONTINUE""#),
            ("B", r#""lease4_select": "SKIP""#),
        ]),
    ));
    let c = Client::new(1);
    assert!(send(&mut s, at(1), &c.discover()).silent());
    let nak = send(&mut s, at(1), &c.select(Ipv4Addr::new(192, 0, 2, 100), SID));
    assert_eq!(nak.reply().1.message_type(), Ok(Some(MessageType::Nak)));
    assert!(s.lease(Ipv4Addr::new(192, 0, 2, 100)).is_none());
}

#[test]
fn drop_at_pkt4_receive_stops_the_query_but_every_library_still_runs() {
    let (mut s, log) = server(&config(
        POOL,
        "",
        &hooks(&[("A", r#""pkt4_receive": "DROP""#), ("B", "")]),
    ));
    taken(&log);
    assert!(send(&mut s, at(1), &Client::new(1).discover()).silent());
    assert_eq!(
        taken(&log),
        [
            "A buffer4_receive",
            "B buffer4_receive",
            "A pkt4_receive",
            "B pkt4_receive"
        ]
    );
}

#[test]
fn skip_at_lease4_renew_keeps_the_lease_as_it_was_and_still_acks() {
    let (mut s, _) = server(&config(
        POOL,
        "",
        &hooks(&[("A", r#""lease4_renew": "SKIP""#)]),
    ));
    let c = Client::new(1);
    let ack = c.dora(&mut s, at(1));
    let before = s.lease(ack.yiaddr).expect("lease");
    let renew = send(&mut s, at(1000), &c.renew(ack.yiaddr));
    assert_eq!(renew.reply().1.message_type(), Ok(Some(MessageType::Ack)));
    assert!(renew.rows.is_empty(), "no row written: {:?}", renew.rows);
    assert_eq!(s.lease(ack.yiaddr), Some(before));
}

#[test]
fn skip_at_lease4_release_keeps_the_lease_and_drop_at_leases4_committed_sends_nothing() {
    let (mut s, _) = server(&config(
        POOL,
        "",
        &hooks(&[("A", r#""lease4_release": "SKIP""#)]),
    ));
    let c = Client::new(1);
    let ack = c.dora(&mut s, at(1));
    send(&mut s, at(2), &c.release(ack.yiaddr, SID));
    assert!(s.lease(ack.yiaddr).is_some());

    let (mut s, _) = server(&config(
        POOL,
        "",
        &hooks(&[("A", r#""leases4_committed": "DROP""#)]),
    ));
    let offer = send(&mut s, at(1), &c.discover());
    let yiaddr = offer.reply().1.yiaddr;
    let request = send(&mut s, at(1), &c.select(yiaddr, SID));
    assert!(request.silent(), "no ACK after DROP");
    assert!(
        s.lease(yiaddr).is_some(),
        "the lease is committed all the same"
    );
}

#[test]
fn a_context_set_at_lease4_select_is_stored_with_the_lease() {
    let text = config(
        POOL,
        "",
        r#""hooks-libraries": [ { "library": "/lab/tag.so", "parameters": { "name": "T", "context": { "tag": "blue" } } } ]"#,
    );
    let (mut s, _) = server(&text);
    let ack = Client::new(1).dora(&mut s, at(1));
    let lease = s.lease(ack.yiaddr).expect("lease");
    assert_eq!(lease.user_context.as_deref(), Some(r#"{"tag":"blue"}"#));
}

fn scripts(out: &common::Outcome) -> Vec<Script> {
    out.other
        .iter()
        .filter_map(|a| match a {
            Action::RunScript(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn env<'a>(s: &'a Script, name: &str) -> &'a str {
    s.env
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {:?}", s.env))
}

#[test]
fn run_script_gets_keas_variables_for_each_hook_point() {
    let text = config(
        POOL,
        "",
        r#""hooks-libraries": [ { "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_run_script.so", "parameters": { "name": "/lab/script", "sync": false } } ]"#,
    );
    let (mut s, _) = server(&text);
    let c = Client::new(7);
    let offer = send(&mut s, at(1), &c.discover());
    assert!(scripts(&offer).is_empty(), "no script for a DISCOVER");
    let yiaddr = offer.reply().1.yiaddr;
    let ack = send(&mut s, at(1), &c.select(yiaddr, SID));
    let runs = scripts(&ack);
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!(r.program, "/lab/script");
    assert_eq!(r.args, ["leases4_committed"]);
    assert_eq!(env(r, "QUERY4_TYPE"), "DHCPREQUEST");
    assert_eq!(env(r, "QUERY4_TXID"), (0x1007_u32).to_string());
    assert_eq!(env(r, "QUERY4_HWADDR"), "02:00:00:00:00:07");
    assert_eq!(env(r, "QUERY4_HWADDR_TYPE"), "1");
    assert_eq!(env(r, "QUERY4_RELAYED"), "false");
    assert_eq!(env(r, "QUERY4_IFACE_NAME"), "eth0");
    assert_eq!(env(r, "LEASES4_SIZE"), "1");
    assert_eq!(env(r, "LEASES4_AT0_ADDRESS"), "192.0.2.100");
    assert_eq!(env(r, "LEASES4_AT0_STATE"), "default");
    assert_eq!(env(r, "LEASES4_AT0_VALID_LIFETIME"), "3600");
    assert_eq!(env(r, "LEASES4_AT0_CLIENT_ID"), "");
    assert_eq!(env(r, "DELETED_LEASES4_SIZE"), "0");
    assert!(
        r.env
            .iter()
            .all(|(k, _)| !k.starts_with("QUERY4_OPTION_82"))
    );

    let renew = send(&mut s, at(1800), &c.renew(yiaddr));
    let runs = scripts(&renew);
    let hooks: Vec<&str> = runs.iter().map(|r| r.args[0].as_str()).collect();
    assert_eq!(hooks, ["lease4_renew", "leases4_committed"]);
    assert_eq!(env(&runs[0], "SUBNET4_NAME"), "192.0.2.0/24");
    assert_eq!(env(&runs[0], "SUBNET4_PREFIX_LEN"), "24");
    assert_eq!(env(&runs[0], "PKT4_HWADDR"), "02:00:00:00:00:07");
    assert_eq!(env(&runs[0], "LEASE4_ADDRESS"), "192.0.2.100");
    assert_eq!(env(&runs[0], "QUERY4_CIADDR"), "192.0.2.100");

    let release = send(&mut s, at(1801), &c.release(yiaddr, SID));
    let hooks: Vec<String> = scripts(&release)
        .iter()
        .map(|r| r.args[0].clone())
        .collect();
    assert_eq!(hooks, ["lease4_release", "leases4_committed"]);
    let committed = &scripts(&release)[1];
    assert_eq!(env(committed, "LEASES4_SIZE"), "0");
    assert_eq!(env(committed, "DELETED_LEASES4_SIZE"), "1");
    assert_eq!(env(committed, "DELETED_LEASES4_AT0_ADDRESS"), "192.0.2.100");
}

#[test]
fn run_script_runs_at_expiry_and_not_after_an_earlier_skip() {
    let text = config(
        POOL,
        "",
        r#""valid-lifetime": 60, "expired-leases-processing": { "reclaim-timer-wait-time": 10, "flush-reclaimed-timer-wait-time": 0 },
           "hooks-libraries": [ { "library": "libdhcp_run_script.so", "parameters": { "name": "/lab/script" } } ]"#,
    )
    .replace(r#""valid-lifetime": 3600, "#, "");
    let (mut s, _) = server(&text);
    Client::new(1).dora(&mut s, at(1));
    drain(&mut s);
    s.handle_timeout(at(70));
    let out = drain(&mut s);
    let runs = scripts(&out);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].args, ["lease4_expire"]);
    assert_eq!(env(&runs[0], "LEASE4_ADDRESS"), "192.0.2.100");
    assert_eq!(env(&runs[0], "REMOVE_LEASE"), "true");

    // A library before run-script that sets SKIP at lease4_release: no script (Kea's
    // run_script returns at once), and the lease stays.
    let text = config(
        POOL,
        "",
        r#""hooks-libraries": [ { "library": "/lab/a.so", "parameters": { "name": "A", "next-step": { "lease4_release": "SKIP" } } },
                               { "library": "libdhcp_run_script.so", "parameters": { "name": "/lab/script" } } ]"#,
    );
    let (mut s, _) = server(&text);
    let c = Client::new(1);
    let ack = c.dora(&mut s, at(1));
    let release = send(&mut s, at(2), &c.release(ack.yiaddr, SID));
    assert!(scripts(&release).is_empty());
    assert!(s.lease(ack.yiaddr).is_some());
}

#[test]
fn reload_unloads_last_first_and_loads_the_new_order() {
    let (mut s, log) = server(&config(POOL, "", &hooks(&[("A", ""), ("B", "")])));
    taken(&log);
    let (c, json) = dhcplab_kea_config::dhcp4::parse_document(&config(
        POOL,
        "",
        &hooks(&[("B", ""), ("A", "")]),
    ))
    .expect("valid");
    s.reconfigure(at(5), c, json).expect("reconfigured");
    assert_eq!(
        taken(&log),
        [
            "B unload",
            "A unload",
            "B load",
            "A load",
            "B dhcp4_srv_configured",
            "A dhcp4_srv_configured"
        ]
    );
    // Without the list, every library is unloaded (Kea would keep them).
    let (c, json) =
        dhcplab_kea_config::dhcp4::parse_document(&config(POOL, "", "")).expect("valid");
    s.reconfigure(at(6), c, json).expect("reconfigured");
    assert_eq!(taken(&log), ["A unload", "B unload"]);
    send(&mut s, at(7), &Client::new(1).discover());
    assert!(taken(&log).is_empty());
}

#[test]
fn a_library_that_fails_to_load_keeps_the_old_configuration_and_libraries() {
    let (mut s, log) = server(&config(POOL, "", &hooks(&[("A", "")])));
    taken(&log);
    let bad = config(
        "192.0.2.10 - 192.0.2.20",
        "",
        r#""hooks-libraries": [ { "library": "/lab/b.so", "parameters": { "name": "B" } }, { "library": "fail" } ]"#,
    );
    let (c, json) = dhcplab_kea_config::dhcp4::parse_document(&bad).expect("valid");
    let err = s.reconfigure(at(5), c, json).expect_err("refused");
    assert!(
        matches!(&err, ServerError::Hooks(h) if h.path == "Dhcp4.hooks-libraries[1]"),
        "{err}"
    );
    assert_eq!(
        taken(&log),
        [
            "A unload",
            "B load",
            "B unload",
            "A load",
            "A dhcp4_srv_configured"
        ]
    );
    // The old pool and library are in force.
    let offer = send(&mut s, at(6), &Client::new(1).discover());
    assert_eq!(offer.reply().1.yiaddr, Ipv4Addr::new(192, 0, 2, 100));
    assert!(taken(&log).contains(&"A pkt4_receive".to_string()));

    // As config-set: result 1 with Kea's words.
    let answer = s.handle_command(
        at(7),
        &format!(r#"{{ "command": "config-set", "arguments": {bad} }}"#),
    );
    let dhcplab_server::CommandOutcome::Answer(a) = answer else {
        panic!("an answer")
    };
    assert_eq!(a["result"], 1);
    assert!(
        a["text"]
            .as_str()
            .expect("valid")
            .starts_with("One or more hook libraries failed to load"),
        "{a}"
    );
}

#[test]
fn a_run_script_without_its_script_does_not_load_and_refused_configurations_do_not_start() {
    let text = config(
        POOL,
        "",
        r#""hooks-libraries": [ { "library": "libdhcp_run_script.so", "parameters": { "name": "/lab/missing" } } ]"#,
    );
    let (c, json) = dhcplab_kea_config::dhcp4::parse_document(&text).expect("valid");
    let err = Server::with_loader(c, json, Vec::new(), at(0), Box::new(FakeLoader::default()))
        .expect_err("refused");
    assert!(
        err.to_string().contains("File not found: /lab/missing"),
        "{err}"
    );

    let (c, json) = dhcplab_kea_config::dhcp4::parse_document(&config(
        POOL,
        "",
        &hooks(&[("A", r#""dhcp4_srv_configured": "DROP""#)]),
    ))
    .expect("valid");
    let err = Server::with_loader(c, json, Vec::new(), at(0), Box::new(FakeLoader::default()))
        .expect_err("refused");
    assert_eq!(err, ServerError::RefusedByHook);

    // The default loader loads no native code.
    let (c, json) =
        dhcplab_kea_config::dhcp4::parse_document(&config(POOL, "", &hooks(&[("A", "")])))
            .expect("valid");
    assert!(matches!(
        Server::new(c, json, Vec::new(), at(0)),
        Err(ServerError::Hooks(_))
    ));
}

#[test]
fn kea_libraries_the_server_stands_in_for_are_inert_and_bad_ha_parameters_are_refused() {
    let text = config(
        POOL,
        "",
        r#""hooks-libraries": [ { "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so" },
                               { "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_stat_cmds.so" } ]"#,
    );
    let (mut s, _) = server(&text);
    Client::new(1).dora(&mut s, at(1));
    let text = config(
        POOL,
        "",
        r#""hooks-libraries": [ { "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so" } ]"#,
    );
    let (c, json) = dhcplab_kea_config::dhcp4::parse_document(&text).expect("valid");
    let err = Server::new(c, json, Vec::new(), at(0)).expect_err("refused");
    assert!(
        err.to_string().contains(
            "failed to configure High Availability hooks library: high-availability: missing parameter 'high-availability'"
        ),
        "{err}"
    );
}

#[test]
fn command_processed_runs_after_each_command() {
    let (mut s, log) = server(&config(POOL, "", &hooks(&[("A", ""), ("B", "")])));
    taken(&log);
    s.handle_command(at(1), r#"{ "command": "status-get" }"#);
    s.handle_command(at(1), r#"{ "command": "no-such-command" }"#);
    assert_eq!(
        taken(&log),
        [
            "A command_processed",
            "B command_processed",
            "A command_processed",
            "B command_processed"
        ]
    );
}

#[test]
fn run_script_writes_option_82_and_its_sub_options_as_kea_does() {
    let text = config(
        POOL,
        "",
        r#""hooks-libraries": [ { "library": "libdhcp_run_script.so", "parameters": { "name": "/lab/script" } } ]"#,
    );
    let (mut s, _) = server(&text);
    let c = Client::new(1);
    let offer = send(&mut s, at(1), &c.discover());
    let mut request = c.select(offer.reply().1.yiaddr, SID);
    // Circuit id "eth1", remote id 0x0102.
    request
        .options
        .push(82, &[1, 4, b'e', b't', b'h', b'1', 2, 2, 1, 2])
        .expect("82");
    let runs = scripts(&send(&mut s, at(1), &request));
    assert_eq!(env(&runs[0], "QUERY4_OPTION_82"), "0x01046574683102020102");
    assert_eq!(env(&runs[0], "QUERY4_OPTION_82_SUB_OPTION_1"), "0x65746831");
    assert_eq!(env(&runs[0], "QUERY4_OPTION_82_SUB_OPTION_2"), "0x0102");
}

#[test]
fn skip_at_lease4_recover_keeps_a_declined_address_reclaimed_instead_of_deleted() {
    let text = |steps: &str| config(POOL, "", &hooks(&[("A", steps)]));
    for (steps, kept) in [(r#""lease4_recover": "SKIP""#, true), ("", false)] {
        let (mut s, log) = server(&text(steps));
        let c = Client::new(1);
        let ack = c.dora(&mut s, at(1));
        send(&mut s, at(2), &c.decline(ack.yiaddr, SID));
        taken(&log);
        s.handle_timeout(at(86_500));
        drain(&mut s);
        assert_eq!(taken(&log), ["A lease4_expire", "A lease4_recover"]);
        let lease = s.lease(ack.yiaddr);
        if kept {
            assert_eq!(lease.map(|l| l.state), Some(2), "expired-reclaimed");
        } else {
            assert!(lease.is_none(), "recovered: deleted");
        }
    }
}
