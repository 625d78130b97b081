//! High availability in the server: two cores wired to each other through their peer
//! commands, as the drivers carry them. What the HA state machine does alone is tested in
//! dhcplab-ha; here, what the server does with it: replies held for the partner's
//! acknowledgement, lease updates and pages applied to the lease store, the service turned
//! off by state and by dhcp-disable, the commands the partner calls.

mod common;

use common::{Client, at, config, drain, eth0, send};
use dhcplab_server::{Action, Server};
use dhcplab_wire::v4::MessageType;
use serde_json::{Value, json};
use std::net::Ipv4Addr;
use std::time::SystemTime;

const POOL: &str = "192.0.2.100 - 192.0.2.199";

fn ha_config(me: &str) -> String {
    let hooks = format!(
        r#""hooks-libraries": [ {{ "library": "libdhcp_lease_cmds.so" }}, {{ "library": "libdhcp_ha.so",
          "parameters": {{ "high-availability": [ {{ "this-server-name": "{me}", "mode": "hot-standby",
            "heartbeat-delay": 1000, "max-response-delay": 3000, "max-unacked-clients": 0,
            "sync-page-limit": 2,
            "peers": [ {{ "name": "server1", "url": "http://192.0.2.1:8000/", "role": "primary" }},
                       {{ "name": "server2", "url": "http://192.0.2.2:8000/", "role": "standby" }} ] }} ] }} }} ]"#
    );
    config(POOL, "", &hooks)
}

fn ha_server(me: &str, now: SystemTime) -> Server {
    let (c, json) = dhcplab_kea_config::dhcp4::parse_document(&ha_config(me)).expect("valid");
    let mut s = Server::new(c, json, Vec::new(), now).expect("starts");
    let mut i = eth0();
    if me == "server2" {
        i.address = Ipv4Addr::new(192, 0, 2, 2);
    }
    s.attach(i);
    s
}

/// Two servers; requests between them are carried at once; `up[i]` false: refused.
struct Pair {
    s: [Server; 2],
    up: [bool; 2],
    /// Replies each sent, by message type.
    sent: [Vec<MessageType>; 2],
}

impl Pair {
    fn new() -> Self {
        Pair {
            s: [ha_server("server1", at(0)), ha_server("server2", at(0))],
            up: [true, true],
            sent: [Vec::new(), Vec::new()],
        }
    }

    /// Carries every action until none is left.
    fn settle(&mut self, now: SystemTime) {
        loop {
            let mut moved = false;
            for i in 0..2 {
                while let Some(a) = self.s[i].poll_action() {
                    moved = true;
                    match a {
                        Action::PeerRequest(r) => {
                            let other = 1 - i;
                            let answer = if self.up[other] {
                                let a = self.s[other].handle_command(now, &r.body.to_string());
                                match a {
                                    dhcplab_server::CommandOutcome::Answer(v) => Ok(json!([v])),
                                    other => panic!("{other:?}"),
                                }
                            } else {
                                Err("connection refused".to_string())
                            };
                            self.s[i].handle_peer_answer(now, r.id, answer);
                        }
                        Action::Transmit(t) => {
                            let m = dhcplab_wire::v4::Message::decode(&t.payload).expect("decodes");
                            if let Ok(Some(k)) = m.message_type() {
                                self.sent[i].push(k);
                            }
                        }
                        _ => {}
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn run(&mut self, from: u64, to: u64) {
        for t in from..=to {
            for i in 0..2 {
                if self.up[i] {
                    self.s[i].handle_timeout(at(t));
                }
            }
            self.settle(at(t));
        }
    }

    fn state(&self, i: usize) -> &'static str {
        self.s[i].ha().expect("HA").state().name()
    }
}

fn command(s: &mut Server, now: SystemTime, text: &str) -> Value {
    match s.handle_command(now, text) {
        dhcplab_server::CommandOutcome::Answer(v) => v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn waiting_servers_do_not_answer_and_the_pair_comes_up() {
    let mut p = Pair::new();
    let c = Client::new(1);
    assert!(
        send(&mut p.s[0], at(0), &c.discover()).silent(),
        "waiting: DHCP is off"
    );
    p.run(1, 4);
    assert_eq!((p.state(0), p.state(1)), ("hot-standby", "hot-standby"));
    let status = command(&mut p.s[1], at(4), r#"{ "command": "status-get" }"#);
    let ha = &status["arguments"]["high-availability"][0];
    assert_eq!(ha["ha-mode"], "hot-standby");
    assert_eq!(ha["ha-servers"]["local"]["state"], "hot-standby");
    assert_eq!(ha["ha-servers"]["remote"]["last-state"], "hot-standby");
    let list = command(&mut p.s[0], at(4), r#"{ "command": "list-commands" }"#);
    assert!(
        list["arguments"]
            .as_array()
            .expect("list")
            .contains(&json!("ha-heartbeat"))
    );
}

#[test]
fn an_ack_waits_for_the_partners_acknowledgement_and_is_dropped_without_it() {
    let mut p = Pair::new();
    p.run(1, 4);
    let c = Client::new(1);
    let offer = send(&mut p.s[0], at(5), &c.discover());
    let (_, o) = offer.reply();
    let yiaddr = o.yiaddr;
    // The standby does not answer the primary's client.
    assert!(send(&mut p.s[1], at(5), &c.discover()).silent());
    let out = send(
        &mut p.s[0],
        at(5),
        &c.select(yiaddr, Ipv4Addr::new(192, 0, 2, 1)),
    );
    assert!(out.sent.is_empty(), "held: {out:?}");
    assert!(
        matches!(&out.other[..], [Action::PeerRequest(r)] if r.body["command"] == "lease4-update")
    );
    // Carry the update: the standby stores the lease, and the ACK leaves.
    let Action::PeerRequest(r) = &out.other[0] else {
        unreachable!()
    };
    let answer = command(&mut p.s[1], at(5), &r.body.to_string());
    assert_eq!(answer["text"], "IPv4 lease updated.");
    p.s[0].handle_peer_answer(at(5), r.id, Ok(json!([answer])));
    let out = drain(&mut p.s[0]);
    assert_eq!(
        out.reply().1.message_type().expect("type"),
        Some(MessageType::Ack)
    );
    let held = p.s[1].lease(yiaddr).expect("the standby has the lease");
    assert_eq!(held.hwaddr, c.mac.to_vec());
    // A refused update: no ACK, and the partner counts as unavailable.
    let c2 = Client::new(2);
    let (_, o2) = send(&mut p.s[0], at(6), &c2.discover()).reply().clone();
    let out = send(
        &mut p.s[0],
        at(6),
        &c2.select(o2.yiaddr, Ipv4Addr::new(192, 0, 2, 1)),
    );
    let Some(Action::PeerRequest(r)) = out.other.first() else {
        panic!("{out:?}")
    };
    p.s[0].handle_peer_answer(at(6), r.id, Err("connection refused".into()));
    assert!(drain(&mut p.s[0]).silent());
    assert_eq!(
        p.s[0].ha().expect("HA").partner_state(),
        dhcplab_ha::PartnerState::Unavailable
    );
}

#[test]
fn a_returning_server_syncs_page_by_page_and_the_partner_is_disabled_meanwhile() {
    let mut p = Pair::new();
    p.run(1, 4);
    for n in 1..=5 {
        let c = Client::new(n);
        let (_, o) = send(&mut p.s[0], at(5), &c.discover()).reply().clone();
        let m = c.select(o.yiaddr, Ipv4Addr::new(192, 0, 2, 1));
        let bytes = m.encode();
        p.s[0].handle_datagram(
            at(5),
            dhcplab_server::Datagram {
                interface: 1,
                source: std::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
                destination: Ipv4Addr::BROADCAST,
                payload: &bytes,
            },
        );
        p.settle(at(5));
    }
    assert_eq!(
        p.sent[0].iter().filter(|k| **k == MessageType::Ack).count(),
        5
    );
    assert_eq!(p.s[1].lease_count(), 5);
    // The standby comes back empty and syncs 5 leases in pages of 2.
    p.s[1] = ha_server("server2", at(10));
    let mut pages = 0;
    let mut disabled_during_sync = false;
    for t in 10..=14 {
        p.s[0].handle_timeout(at(t));
        p.s[1].handle_timeout(at(t));
        while let Some(a) = p.s[1].poll_action() {
            if let Action::PeerRequest(r) = a {
                if r.body["command"] == "lease4-get-page" {
                    pages += 1;
                    let c = Client::new(9);
                    disabled_during_sync |= send(&mut p.s[0], at(t), &c.discover()).silent();
                }
                let answer = command(&mut p.s[0], at(t), &r.body.to_string());
                p.s[1].handle_peer_answer(at(t), r.id, Ok(json!([answer])));
            }
        }
        p.settle(at(t));
    }
    assert_eq!(pages, 3, "2 + 2 + 1 leases");
    assert!(disabled_during_sync, "dhcp-disable before each page");
    assert_eq!(p.s[1].lease_count(), 5);
    assert_eq!((p.state(0), p.state(1)), ("hot-standby", "hot-standby"));
    let c = Client::new(9);
    assert!(
        !send(&mut p.s[0], at(15), &c.discover()).silent(),
        "enabled again"
    );
}

#[test]
fn lease_commands_the_partner_calls() {
    let mut s = common::server(&config(POOL, "", ""));
    let update = r#"{ "command": "lease4-update", "arguments": { "ip-address": "192.0.2.150",
        "hw-address": "02:00:5e:00:53:01", "subnet-id": 1, "valid-lft": 600, "expire": 1800000600 } }"#;
    let a = command(&mut s, at(0), update);
    assert_eq!(a["result"], 1, "{a}");
    assert_eq!(
        a["text"],
        "failed to update the lease with address 192.0.2.150 - no such lease"
    );
    let forced = update.replace(
        "\"expire\": 1800000600",
        "\"expire\": 1800000600, \"force-create\": true",
    );
    assert_eq!(command(&mut s, at(0), &forced)["result"], 0);
    assert_eq!(
        s.lease(Ipv4Addr::new(192, 0, 2, 150))
            .expect("added")
            .cltt(),
        1_800_000_000
    );
    let page = command(
        &mut s,
        at(0),
        r#"{ "command": "lease4-get-page", "arguments": { "from": "start", "limit": 10 } }"#,
    );
    assert_eq!(page["arguments"]["count"], 1);
    let page = command(
        &mut s,
        at(0),
        r#"{ "command": "lease4-get-page", "arguments": { "from": "192.0.2.150", "limit": 10 } }"#,
    );
    assert_eq!(page["result"], 3);
    let a = command(
        &mut s,
        at(0),
        r#"{ "command": "lease4-get-page", "arguments": { "from": "start", "limit": 0 } }"#,
    );
    assert_eq!(a["result"], 1);
    // dhcp-disable by an administrator, for 5 s.
    let a = command(
        &mut s,
        at(0),
        r#"{ "command": "dhcp-disable", "arguments": { "max-period": 5 } }"#,
    );
    assert_eq!(a["text"], "DHCPv4 service disabled.");
    let c = Client::new(2);
    assert!(send(&mut s, at(1), &c.discover()).silent());
    assert!(
        !send(&mut s, at(6), &c.discover()).silent(),
        "max-period ended"
    );
    let a = command(
        &mut s,
        at(7),
        r#"{ "command": "dhcp-disable", "arguments": { "origin": "ha-partner" } }"#,
    );
    assert_eq!(a["result"], 1, "no HA: {a}");
}
