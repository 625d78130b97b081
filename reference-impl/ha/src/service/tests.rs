use super::*;
use std::time::Duration;

fn config(me: &str, mode: &str, extra: Value) -> HaConfig {
    let second = if mode == "load-balancing" {
        "secondary"
    } else {
        "standby"
    };
    let mut m = json!({
        "this-server-name": me, "mode": mode,
        "heartbeat-delay": 1000, "max-response-delay": 3000, "max-ack-delay": 1000,
        "max-unacked-clients": 2,
        "peers": [
            { "name": "server1", "url": "http://192.0.2.1:8000/", "role": "primary" },
            { "name": "server2", "url": "http://192.0.2.2:8000/", "role": second } ] });
    if let (Some(m), Value::Object(e)) = (m.as_object_mut(), extra) {
        m.extend(e);
    }
    HaConfig::parse(&json!({ "high-availability": [ m ] })).expect("valid")
}

/// Two services wired to each other, answering lease commands as an empty server would.
struct Pair {
    now: SystemTime,
    ha: [Ha; 2],
    up: [bool; 2],
    /// Seconds added to each one's clock.
    offset: [u64; 2],
    transitions: Vec<(usize, State)>,
    unparked: Vec<(usize, u64, bool)>,
}

impl Pair {
    fn new(mode: &str, extra: Value) -> Self {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        Pair {
            now,
            ha: [
                Ha::new(config("server1", mode, extra.clone()), now),
                Ha::new(config("server2", mode, extra), now),
            ],
            up: [true, true],
            offset: [0, 0],
            transitions: Vec::new(),
            unparked: Vec::new(),
        }
    }

    fn clock(&self, i: usize) -> SystemTime {
        self.now + Duration::from_secs(self.offset[i])
    }

    /// Moves time on by `d` in 100 ms steps, carrying requests at once.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.now += Duration::from_millis(100);
            for i in 0..2 {
                if self.up[i] {
                    let t = self.clock(i);
                    self.ha[i].handle_timeout(t);
                }
            }
            self.carry();
        }
    }

    fn carry(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..2 {
                let other = 1 - i;
                while let Some(r) = self.ha[i].poll_request() {
                    moved = true;
                    let answer = if self.up[other] {
                        Ok(self.serve(other, &r.body))
                    } else {
                        Err("connection refused".to_string())
                    };
                    let t = self.clock(i);
                    self.ha[i].handle_answer(t, r.id, answer);
                }
                while let Some(e) = self.ha[i].poll_effect() {
                    match e {
                        Effect::Transition { to, .. } => self.transitions.push((i, to)),
                        Effect::Unpark { ticket, send } => self.unparked.push((i, ticket, send)),
                        _ => {}
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn serve(&mut self, i: usize, body: &Value) -> Value {
        let t = self.clock(i);
        let name = body["command"].as_str().expect("a command");
        let empty = Map::new();
        let args = body
            .get("arguments")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let answer = match name {
            "lease4-update" | "lease4-del" => json!({ "result": 0, "text": "ok" }),
            "lease4-get-page" => json!({ "result": 3, "text": "0 IPv4 lease(s) found.",
                                         "arguments": { "leases": [], "count": 0 } }),
            "dhcp-disable" => {
                let p = args
                    .get("max-period")
                    .and_then(Value::as_u64)
                    .map(Duration::from_secs);
                self.ha[i].disable_by_partner(t, p);
                json!({ "result": 0, "text": "DHCPv4 service disabled." })
            }
            "dhcp-enable" => {
                self.ha[i].enable_by_partner();
                json!({ "result": 0, "text": "DHCP service successfully enabled" })
            }
            _ => self.ha[i]
                .handle_command(t, name, args)
                .expect("an HA command"),
        };
        json!([answer])
    }

    fn states(&self) -> [State; 2] {
        [self.ha[0].state(), self.ha[1].state()]
    }

    fn path(&self, i: usize) -> Vec<State> {
        self.transitions
            .iter()
            .filter(|(j, _)| *j == i)
            .map(|(_, s)| *s)
            .collect()
    }

    /// The standby (or secondary) sees `n` distinct clients of the primary's scope, each
    /// having waited `secs`.
    fn clients_wait(&mut self, n: u8, secs: u16) -> usize {
        let t = self.clock(1);
        (0..n)
            .filter(|k| {
                let mac = [2, 0, 0x5e, 0, 0x53, *k];
                !self.ha[1]
                    .accepts(
                        t,
                        &Client {
                            message_type: Some(1),
                            hwaddr: &mac,
                            client_id: None,
                            secs,
                        },
                    )
                    .in_scope
            })
            .count()
    }
}

#[test]
fn a_hot_standby_pair_comes_up_as_kea_does() {
    let mut p = Pair::new("hot-standby", json!({}));
    assert_eq!(p.states(), [State::Waiting, State::Waiting]);
    assert!(!p.ha[0].dhcp_enabled(p.now));
    p.run(Duration::from_secs(5));
    assert_eq!(p.states(), [State::HotStandby, State::HotStandby]);
    // Both waiting: the primary moves first.
    assert_eq!(p.path(0)[..2], [State::Syncing, State::Ready]);
    assert_eq!(p.path(1), [State::Syncing, State::Ready, State::HotStandby]);
    assert_eq!(p.ha[0].scopes(), ["server1"]);
    assert!(p.ha[1].scopes().is_empty());
    assert!(p.ha[0].dhcp_enabled(p.now) && p.ha[1].dhcp_enabled(p.now));
}

#[test]
fn the_standby_takes_over_only_after_max_response_delay_and_unacked_clients() {
    let mut p = Pair::new("hot-standby", json!({}));
    p.run(Duration::from_secs(5));
    p.up[0] = false;
    // Clients of the primary's scope are not the standby's, and count only once
    // communication is interrupted (3 s without contact).
    assert_eq!(p.clients_wait(5, 5), 5);
    p.run(Duration::from_secs(2));
    assert_eq!(p.states()[1], State::HotStandby, "not interrupted yet");
    p.run(Duration::from_secs(3));
    assert_eq!(
        p.states()[1],
        State::HotStandby,
        "interrupted, but no client is unacked"
    );
    // Two unacked clients are not more than max-unacked-clients (2); clients that waited
    // no longer than max-ack-delay (1 s) are not unacked.
    p.clients_wait(2, 2);
    p.clients_wait(4, 1);
    p.run(Duration::from_secs(2));
    assert_eq!(p.states()[1], State::HotStandby);
    p.clients_wait(3, 2);
    p.run(Duration::from_secs(2));
    assert_eq!(p.states()[1], State::PartnerDown);
    assert_eq!(p.ha[1].scopes(), ["server1"]);
    assert_eq!(
        p.clients_wait(3, 9),
        0,
        "the standby now serves the primary's clients"
    );
    // The primary returns: it syncs from the standby, which then goes back to hot-standby.
    p.ha[0] = Ha::new(config("server1", "hot-standby", json!({})), p.now);
    p.up[0] = true;
    p.run(Duration::from_secs(6));
    assert_eq!(p.states(), [State::HotStandby, State::HotStandby]);
    assert!(
        p.ha[1].dhcp_enabled(p.now),
        "the standby's partner disable ended"
    );
}

#[test]
fn load_balancing_splits_clients_by_the_rfc_3074_hash() {
    let mut p = Pair::new("load-balancing", json!({}));
    p.run(Duration::from_secs(5));
    assert_eq!(p.states(), [State::LoadBalancing, State::LoadBalancing]);
    let t = p.now;
    let mut served = [0, 0];
    for k in 0..=255u8 {
        let mac = [2, 0, 0x5e, 0, 0x53, k];
        let c = Client {
            message_type: Some(3),
            hwaddr: &mac,
            client_id: None,
            secs: 0,
        };
        let which: Vec<bool> = (0..2).map(|i| p.ha[i].accepts(t, &c).in_scope).collect();
        assert_ne!(which[0], which[1], "exactly one serves {mac:?}");
        served[usize::from(which[1])] += 1;
        assert_eq!(which[1], load_balance_hash(&mac) % 2 == 1);
    }
    assert!(served[0] > 96 && served[1] > 96, "{served:?}");
    // A client identifier wins over chaddr.
    let mac = [0x00, 0x0c, 0x01, 0x02, 0x03, 0x04];
    let c = Client {
        message_type: Some(1),
        hwaddr: &mac,
        client_id: None,
        secs: 0,
    };
    assert!(
        p.ha[1].accepts(t, &c).in_scope,
        "hash 131 is odd: the secondary's"
    );
}

#[test]
fn load_balancing_keeps_updates_in_communication_recovery_and_sends_them_back() {
    let mut p = Pair::new("load-balancing", json!({ "max-unacked-clients": 100 }));
    p.run(Duration::from_secs(5));
    p.up[1] = false;
    p.run(Duration::from_secs(5));
    assert_eq!(p.states()[0], State::CommunicationRecovery);
    let lease = json!({ "ip-address": "192.0.2.100", "hw-address": "02:00:5e:00:53:01",
                        "cltt": 1_800_000_000u64, "valid-lft": 600, "subnet-id": 1 });
    assert_eq!(
        p.ha[0].lease_updates(vec![lease.clone()], vec![]),
        None,
        "kept, not parked"
    );
    let mut deleted = lease.clone();
    deleted["ip-address"] = json!("192.0.2.101");
    assert_eq!(p.ha[0].lease_updates(vec![], vec![deleted]), None);
    assert_eq!(p.ha[0].backlog.len(), 2);
    p.up[1] = true;
    p.run(Duration::from_secs(3));
    assert_eq!(p.states(), [State::LoadBalancing, State::LoadBalancing]);
}

#[test]
fn a_lease_update_parks_the_reply_until_the_partner_acknowledges() {
    let mut p = Pair::new("hot-standby", json!({}));
    p.run(Duration::from_secs(5));
    let lease = json!({ "ip-address": "192.0.2.100", "hw-address": "02:00:5e:00:53:01",
                        "cltt": 1_800_000_000u64, "valid-lft": 600, "subnet-id": 1 });
    let t = p.now;
    let ticket = p.ha[0]
        .lease_updates(vec![lease.clone()], vec![])
        .expect("parked");
    let r = p.ha[0].poll_request().expect("an update");
    assert_eq!(r.body["command"], "lease4-update");
    assert_eq!(r.body["arguments"]["expire"], 1_800_000_600u64);
    assert_eq!(r.body["arguments"]["force-create"], true);
    assert!(r.body["arguments"].get("cltt").is_none());
    p.ha[0].handle_answer(t, r.id, Ok(json!([ { "result": 0, "text": "ok" } ])));
    p.carry();
    assert_eq!(p.unparked, [(0, ticket, true)]);
    // A failed update drops the reply and marks the partner unavailable.
    let ticket = p.ha[0].lease_updates(vec![lease], vec![]).expect("parked");
    let r = p.ha[0].poll_request().expect("an update");
    p.ha[0].handle_answer(t, r.id, Err("connection refused".into()));
    p.carry();
    assert_eq!(p.unparked[1], (0, ticket, false));
    assert_eq!(p.ha[0].partner_state(), PartnerState::Unavailable);
}

#[test]
fn a_clock_skew_over_60_seconds_terminates() {
    let mut p = Pair::new("hot-standby", json!({}));
    p.run(Duration::from_secs(5));
    p.offset[1] = 45;
    p.run(Duration::from_secs(2));
    assert_eq!(
        p.states(),
        [State::HotStandby, State::HotStandby],
        "45 s only warns"
    );
    p.offset[1] = 61;
    p.run(Duration::from_secs(2));
    assert_eq!(p.states()[0], State::Terminated);
    assert_eq!(p.ha[0].scopes(), ["server1"]);
    assert!(p.ha[0].dhcp_enabled(p.now));
}

#[test]
fn maintenance_hands_the_scopes_over() {
    let mut p = Pair::new("hot-standby", json!({}));
    p.run(Duration::from_secs(5));
    let t = p.now;
    let a = p.ha[1]
        .handle_command(t, "ha-maintenance-start", &Map::new())
        .expect("HA");
    assert_eq!(a["result"], 0);
    p.carry();
    assert_eq!(
        p.states(),
        [State::InMaintenance, State::PartnerInMaintenance]
    );
    assert!(!p.ha[0].dhcp_enabled(t));
    assert_eq!(p.ha[1].scopes(), ["server1"]);
    let a = p.ha[1]
        .handle_command(t, "ha-maintenance-cancel", &Map::new())
        .expect("HA");
    assert_eq!(a["result"], 0);
    p.carry();
    p.run(Duration::from_secs(2));
    assert_eq!(p.states(), [State::HotStandby, State::HotStandby]);
    // Refusals carry Kea's texts and codes.
    let args = json!({ "cancel": true });
    let a = p.ha[0].handle_command(t, "ha-maintenance-notify", args.as_object().expect("map"));
    assert_eq!(
        a.expect("HA")["text"],
        "Unable to cancel the maintenance for the server not in the in-maintenance state."
    );
    let a = p.ha[0].handle_command(
        t,
        "ha-scopes",
        json!({ "scopes": ["HA_server1"] })
            .as_object()
            .expect("map"),
    );
    assert_eq!(a.expect("HA")["result"], 1);
    assert_eq!(p.ha[0].handle_command(t, "lease4-get", &Map::new()), None);
}

#[test]
fn heartbeat_answers_carry_keas_fields() {
    let mut p = Pair::new("hot-standby", json!({}));
    p.run(Duration::from_secs(5));
    let a = p.ha[0]
        .handle_command(p.now, "ha-heartbeat", &Map::new())
        .expect("HA");
    assert_eq!(a["arguments"]["state"], "hot-standby");
    assert_eq!(a["arguments"]["scopes"], json!(["server1"]));
    assert_eq!(a["arguments"]["unsent-update-count"], 0);
    let t = dhcplab_utc::parse_http(a["arguments"]["date-time"].as_str().expect("text"));
    assert_eq!(t, Some(epoch(p.now)));
    let s = p.ha[1].status(p.now);
    assert_eq!(s[0]["ha-servers"]["local"]["role"], "standby");
    assert_eq!(s[0]["ha-servers"]["remote"]["last-state"], "hot-standby");
    assert_eq!(s[0]["ha-servers"]["remote"]["unacked-clients-left"], 3);
}

#[test]
fn kept_updates_go_back_one_at_a_time_in_order() {
    let mut p = Pair::new("load-balancing", json!({ "max-unacked-clients": 100 }));
    p.run(Duration::from_secs(5));
    p.up[1] = false;
    p.run(Duration::from_secs(5));
    let lease = |a: &str| {
        json!({ "ip-address": a, "hw-address": "02:00:5e:00:53:01",
                                  "cltt": 1_800_000_000u64, "valid-lft": 600, "subnet-id": 1 })
    };
    assert_eq!(
        p.ha[0].lease_updates(vec![], vec![lease("192.0.2.100")]),
        None
    );
    assert_eq!(
        p.ha[0].lease_updates(vec![lease("192.0.2.100")], vec![]),
        None
    );
    p.up[1] = true;
    // Carry requests by hand to see them one by one.
    let t = p.now + Duration::from_secs(2);
    p.ha[0].handle_timeout(t);
    let hb = p.ha[0].poll_request().expect("a heartbeat");
    let answer = p.serve(1, &hb.body);
    p.ha[0].handle_answer(t, hb.id, Ok(answer));
    let first = p.ha[0].poll_request().expect("the first kept update");
    assert_eq!(first.body["command"], "lease4-del");
    assert!(p.ha[0].poll_request().is_none(), "one at a time");
    // A lease committed meanwhile goes to the partner at once, with its reply held.
    assert!(
        p.ha[0]
            .lease_updates(vec![lease("192.0.2.102")], vec![])
            .is_some()
    );
    let direct = p.ha[0].poll_request().expect("sent at once");
    assert_eq!(direct.body["arguments"]["ip-address"], "192.0.2.102");
    p.ha[0].handle_answer(t, first.id, Ok(json!([{ "result": 0 }])));
    let second = p.ha[0].poll_request().expect("the second kept update");
    assert_eq!(second.body["command"], "lease4-update");
    p.ha[0].handle_answer(t, second.id, Ok(json!([{ "result": 0 }])));
    assert_eq!(p.ha[0].state(), State::LoadBalancing);
}

#[test]
fn a_sync_that_fails_waits_for_the_next_heartbeat_and_can_end_in_partner_down() {
    let mut p = Pair::new("hot-standby", json!({ "max-unacked-clients": 0 }));
    p.run(Duration::from_secs(5));
    // The standby restarts; the primary dies as the standby asks for the first page.
    let t = p.now;
    p.ha[1] = Ha::new(
        config(
            "server2",
            "hot-standby",
            json!({ "max-unacked-clients": 0 }),
        ),
        t,
    );
    let t = t + Duration::from_secs(1);
    p.ha[1].handle_timeout(t);
    let hb = p.ha[1].poll_request().expect("a heartbeat");
    let answer = p.serve(0, &hb.body);
    p.ha[1].handle_answer(t, hb.id, Ok(answer));
    assert_eq!(p.ha[1].state(), State::Syncing);
    let disable = p.ha[1].poll_request().expect("dhcp-disable");
    assert_eq!(disable.body["command"], "dhcp-disable");
    p.ha[1].handle_answer(t, disable.id, Err("connection refused".into()));
    let enable = p.ha[1]
        .poll_request()
        .expect("dhcp-enable after the failure");
    assert_eq!(enable.body["command"], "dhcp-enable");
    assert!(
        p.ha[1].poll_request().is_none(),
        "no retry before the next heartbeat"
    );
    assert_eq!(p.ha[1].partner_state(), PartnerState::Unavailable);
    assert!(p.ha[1].poll_timeout().is_some(), "the heartbeat goes on");
    // Heartbeats keep failing: once max-response-delay passed, partner-down.
    p.up[0] = false;
    p.ha[1].handle_answer(t, enable.id, Err("connection refused".into()));
    let mut now = t;
    for _ in 0..10 {
        now += Duration::from_secs(1);
        p.ha[1].handle_timeout(now);
        while let Some(r) = p.ha[1].poll_request() {
            p.ha[1].handle_answer(now, r.id, Err("connection refused".into()));
        }
    }
    assert_eq!(p.ha[1].state(), State::PartnerDown);
}

#[test]
fn a_reloaded_service_does_not_take_answers_meant_for_the_one_before() {
    let mut p = Pair::new("hot-standby", json!({}));
    p.run(Duration::from_secs(5));
    let lease = json!({ "ip-address": "192.0.2.100", "hw-address": "02:00:5e:00:53:01",
                        "cltt": 1_800_000_000u64, "valid-lft": 600, "subnet-id": 1 });
    let old_ticket = p.ha[0]
        .lease_updates(vec![lease.clone()], vec![])
        .expect("parked");
    let old = p.ha[0].poll_request().expect("update");
    let mut fresh = Ha::new(config("server1", "hot-standby", json!({})), p.now);
    fresh.continue_after(&p.ha[0]);
    // The old request's answer arrives at the new service: nothing is released.
    fresh.handle_answer(p.now, old.id, Ok(json!([{ "result": 0 }])));
    assert!(fresh.poll_effect().is_none());
    assert!(fresh.next_id > old.id && fresh.next_id > old_ticket);
}

#[test]
fn a_skewed_or_absurd_date_never_panics() {
    let mut p = Pair::new("hot-standby", json!({}));
    p.run(Duration::from_secs(5));
    let t = p.now + Duration::from_secs(2);
    p.ha[0].handle_timeout(t);
    let hb = p.ha[0].poll_request().expect("a heartbeat");
    let answer = json!([{ "result": 0, "arguments": {
        "state": "hot-standby", "date-time": "Mon, 30 Nov 9999 23:59:59 GMT",
        "unsent-update-count": i64::MIN } }]);
    p.ha[0].handle_answer(t, hb.id, Ok(answer));
    assert_eq!(p.ha[0].state(), State::Terminated);
}
