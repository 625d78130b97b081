//! The agent's control socket, which `dhcplab info` asks: a unix socket that takes one JSON
//! request per connection and answers with one JSON object, in the manner of Kea's (`result`
//! 0 success, 1 error, 2 unknown command, 3 empty). Every request only reads, and dhcpinfo is
//! a command for every user, so the socket is open to all local users (mode 0666). A socket
//! another agent still answers on is not taken over.
//!
//! Requests: `{"command": "lease", "interface": "eth0"}` (the interface may be left out: the
//! first interface given to the agent that holds a lease) answers with the interface, its
//! state, and the lease's ACK in hex, from which the caller reads any option; `{"command":
//! "status"}` lists every interface with its state and address (and with DHCPv6, its v6 state
//! and addresses). `{"command": "lease6", "interface": "eth0"}` answers for DHCPv6 (the
//! interface may be left out: the first that holds a binding or configuration) with the v6
//! state, the last Reply that carried configuration in hex (`reply`, from which `dhcplab info
//! -v6` reads any option) and the leases held (`leases`: kind `na` or `pd`, address, prefix
//! length, and the seconds left of the preferred and valid lifetimes, null for infinite).
//!
//! Orders, as Solaris's `ifconfig IF dhcp release|drop|inform`, are taken only from root or
//! the agent's own user (the peer's credentials are read from the socket):
//! `{"command": "release", "interface": "eth0"}` gives the lease back (RELEASE), `"drop"`
//! stops using it without telling the server, `{"command": "inform", "interface": "eth0",
//! "address": "192.0.2.9"}` asks for configuration for an address set by other means. The
//! interface may be left out when the agent has one. For DHCPv6 (`ifconfig IF inet6 dhcp
//! release|drop`) the orders are `"release6"` (Release, RFC 8415 18.2.7) and `"drop6"`. Parameters may also come in
//! `"arguments"`, as `dhcplab ctl SOCKET release '{"interface": "eth0"}'` sends them.

use dhcplab_client::{HostEvent, Lease};
use dhcplab_client6::{Binding, HostEvent as HostEvent6, IaKind};
use serde_json::{Value, json};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

/// The longest request read.
const MAX_REQUEST: u64 = 64 * 1024;

/// What an interface shows the control socket.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The client's state, as `Bound`.
    pub state: String,
    /// The lease held.
    pub lease: Option<Lease>,
    /// DHCPv6, when the agent runs it on the interface.
    pub v6: Option<Snapshot6>,
}

/// What an interface's DHCPv6 client shows the control socket.
#[derive(Debug, Clone, Default)]
pub struct Snapshot6 {
    /// The client's state, as `Bound`.
    pub state: String,
    /// The binding held.
    pub binding: Option<Binding>,
    /// The last Reply that carried configuration.
    pub reply: Option<Vec<u8>>,
}

/// Every interface's snapshot, in the order the agent was given them.
pub type Board = Arc<Mutex<Vec<(String, Snapshot)>>>;

/// How long a connection may take to send its request.
const REQUEST_TIME: Duration = Duration::from_secs(5);

/// Binds the socket at `path`: a stale socket file is replaced, a live one (another agent
/// answers on it) is an `AddrInUse` error.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another agent answers on this control socket",
        ));
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(listener)
}

/// An order for an interface's DHCPv4 or DHCPv6 client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    /// For the DHCPv4 client.
    V4(HostEvent),
    /// For the DHCPv6 client.
    V6(HostEvent6),
}

/// Hands an order for the named interface to its task; false when no task takes it.
pub type Orders = Arc<dyn Fn(&str, Given) -> bool + Send + Sync>;

/// Whether a peer whose user is `peer_uid` (none when its credentials cannot be read) may
/// give orders to an agent running as `me`: root, or the agent's own user.
fn may_order(peer_uid: Option<u32>, me: u32) -> bool {
    peer_uid.is_some_and(|uid| uid == 0 || uid == me)
}

/// Answers connections on `listener` for ever; a failed accept (as when descriptors run out)
/// is reported through `warn` and retried after a pause.
pub async fn serve(
    listener: UnixListener,
    board: Board,
    orders: Orders,
    warn: impl Fn(&io::Error),
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                warn(&e);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let board = board.clone();
        let orders = orders.clone();
        let privileged = may_order(
            stream.peer_cred().ok().map(|c| c.uid()),
            nix::unistd::geteuid().as_raw(),
        );
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let answer = match tokio::time::timeout(REQUEST_TIME, read_request(read)).await {
                Ok(Ok(text)) => answer(&text, &board, privileged.then_some(&orders)),
                Ok(Err(e)) => json!({"result": 1, "text": format!("cannot read the request: {e}")}),
                Err(_) => json!({"result": 1, "text": "no request within 5 s"}),
            };
            let _ = write.write_all(format!("{answer}\n").as_bytes()).await;
        });
    }
}

/// Reads one request: up to a newline, or a whole JSON value without one (as `dhcplab ctl`
/// sends it, Kea's way, keeping the connection open for the answer), or what comes before the
/// peer stops writing; at most [`MAX_REQUEST`] bytes (a longer request is an error).
async fn read_request(read: impl AsyncRead + Unpin) -> io::Result<String> {
    let mut reader = read.take(MAX_REQUEST);
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = reader.read(&mut chunk).await?;
        bytes.extend_from_slice(&chunk[..n]);
        if n == 0 || request_complete(&bytes) {
            break;
        }
    }
    if bytes.len() as u64 >= MAX_REQUEST && !request_complete(&bytes) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the request is longer than {MAX_REQUEST} bytes"),
        ));
    }
    if let Some(end) = bytes.iter().position(|b| *b == b'\n') {
        bytes.truncate(end);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Whether `bytes` hold a whole request: a line, or a JSON value.
fn request_complete(bytes: &[u8]) -> bool {
    bytes.contains(&b'\n') || serde_json::from_slice::<Value>(bytes).is_ok()
}

/// The answer to request `text`; orders are carried out through `orders`, and refused when
/// the asker may not give them (none).
pub fn answer(text: &str, board: &Board, orders: Option<&Orders>) -> Value {
    let request: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return json!({"result": 1, "text": format!("not JSON: {e}")}),
    };
    let Ok(board) = board.lock() else {
        return json!({"result": 1, "text": "the agent's state is unavailable"});
    };
    // A parameter is read from the request itself or, as `dhcplab ctl` sends them, from its
    // "arguments".
    let param = |key: &str| {
        request
            .get(key)
            .or_else(|| request.pointer(&format!("/arguments/{key}")))
            .and_then(Value::as_str)
    };
    let interface = param("interface");
    match request.get("command").and_then(Value::as_str) {
        Some("status") => {
            let list: Vec<Value> = board
                .iter()
                .map(|(name, s)| {
                    let mut item = json!({"interface": name, "state": s.state,
                           "address": s.lease.as_ref().map(|l| l.address.to_string())});
                    if let Some(v6) = &s.v6 {
                        let held: Vec<String> = v6
                            .binding
                            .iter()
                            .flat_map(|b| b.leases())
                            .map(|(_, _, l)| format!("{}/{}", l.address, l.prefix_len))
                            .collect();
                        item["v6_state"] = v6.state.clone().into();
                        item["v6_addresses"] = held.into();
                    }
                    item
                })
                .collect();
            json!({"result": 0, "arguments": {"interfaces": list}})
        }
        Some("lease") => {
            let found = match interface {
                Some(name) => board.iter().find(|(n, _)| n == name),
                None => board.iter().find(|(_, s)| s.lease.is_some()),
            };
            match found {
                None => match interface {
                    Some(name) => {
                        json!({"result": 1, "text": format!("interface {name:?} is not under the agent's control")})
                    }
                    None => json!({"result": 3, "text": "no interface holds a lease"}),
                },
                Some((name, s)) => match &s.lease {
                    None => {
                        json!({"result": 3, "text": format!("{name} holds no lease"), "arguments": {"interface": name, "state": s.state}})
                    }
                    Some(l) => {
                        let ack = dhcplab_client::hex::encode(&l.ack);
                        json!({"result": 0, "arguments": {"interface": name, "state": s.state,
                               "address": l.address.to_string(), "ack": ack}})
                    }
                },
            }
        }
        Some("lease6") => lease6(&board, interface, SystemTime::now()),
        Some(command @ ("release" | "drop" | "inform" | "release6" | "drop6")) => {
            let Some(orders) = orders else {
                return json!({"result": 1, "text": format!("{command}: only root or the agent's user may give orders")});
            };
            let name = match (interface, board.as_slice()) {
                (Some(name), _) => name.to_string(),
                (None, [(only, _)]) => only.clone(),
                (None, _) => {
                    return json!({"result": 1, "text": format!("{command}: say which interface (\"interface\")")});
                }
            };
            if !board.iter().any(|(n, _)| *n == name) {
                return json!({"result": 1, "text": format!("interface {name:?} is not under the agent's control")});
            }
            let event = match command {
                "release" => Given::V4(HostEvent::Release),
                "drop" => Given::V4(HostEvent::Drop),
                "release6" => Given::V6(HostEvent6::Release),
                "drop6" => Given::V6(HostEvent6::Drop),
                _ => match param("address").map(str::parse::<std::net::Ipv4Addr>) {
                    Some(Ok(a)) => Given::V4(HostEvent::Inform(a)),
                    Some(Err(e)) => {
                        return json!({"result": 1, "text": format!("inform: \"address\": {e}")});
                    }
                    None => {
                        return json!({"result": 1, "text": "inform: give the interface's \"address\""});
                    }
                },
            };
            drop(board);
            if orders(&name, event) {
                json!({"result": 0, "text": format!("{command} ordered on {name}")})
            } else {
                json!({"result": 1, "text": format!("{name}: the interface's task has ended")})
            }
        }
        Some(other) => json!({"result": 2, "text": format!("unknown command {other:?}")}),
        None => json!({"result": 1, "text": "no \"command\""}),
    }
}

/// The answer to `lease6` for `interface` (or the first interface with DHCPv6 configuration)
/// at `now`.
fn lease6(board: &[(String, Snapshot)], interface: Option<&str>, now: SystemTime) -> Value {
    let has = |s: &Snapshot6| s.binding.is_some() || s.reply.is_some();
    let found = match interface {
        Some(name) => board.iter().find(|(n, _)| n == name),
        None => board.iter().find(|(_, s)| s.v6.as_ref().is_some_and(has)),
    };
    let Some((name, s)) = found else {
        return match interface {
            Some(name) => {
                json!({"result": 1, "text": format!("interface {name:?} is not under the agent's control")})
            }
            None => json!({"result": 3, "text": "no interface holds a DHCPv6 binding"}),
        };
    };
    let Some(v6) = &s.v6 else {
        return json!({"result": 1, "text": format!("the agent does not run DHCPv6 on {name}")});
    };
    if !has(v6) {
        return json!({"result": 3, "text": format!("{name} holds no DHCPv6 binding or configuration"),
                      "arguments": {"interface": name, "state": v6.state}});
    }
    let left =
        |t: Option<SystemTime>| t.map(|t| t.duration_since(now).unwrap_or_default().as_secs());
    let leases: Vec<Value> = v6
        .binding
        .iter()
        .flat_map(|b| b.leases())
        .map(|(kind, iaid, l)| {
            json!({"kind": match kind { IaKind::Na => "na", IaKind::Pd => "pd" }, "iaid": iaid,
                   "address": l.address.to_string(), "prefix_len": l.prefix_len,
                   "preferred": left(l.preferred_until), "valid": left(l.valid_until)})
        })
        .collect();
    json!({"result": 0, "arguments": {"interface": name, "state": v6.state,
           "reply": v6.reply.as_deref().map(dhcplab_client::hex::encode), "leases": leases}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(names: &[&str]) -> Board {
        Arc::new(Mutex::new(
            names
                .iter()
                .map(|n| (n.to_string(), Snapshot::default()))
                .collect(),
        ))
    }

    /// What orders were given, in order.
    type Record = Arc<Mutex<Vec<(String, Given)>>>;

    /// Orders that record what they were given, and whether the task took them.
    fn recorder(taken: bool) -> (Orders, Record) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let log = got.clone();
        let orders: Orders = Arc::new(move |name, event| {
            log.lock().expect("lock").push((name.to_string(), event));
            taken
        });
        (orders, got)
    }

    #[test]
    fn only_root_and_the_agents_own_user_may_give_orders() {
        assert!(may_order(Some(0), 1000));
        assert!(may_order(Some(1000), 1000));
        assert!(!may_order(Some(1001), 1000));
        assert!(!may_order(None, 1000));
        assert!(may_order(Some(0), 0));
    }

    #[test]
    fn orders_reach_the_named_interface_and_only_from_a_privileged_peer() {
        let (orders, got) = recorder(true);
        let b = board(&["eth0", "eth1"]);
        let refused = answer(r#"{"command": "release", "interface": "eth1"}"#, &b, None);
        assert_eq!(refused["result"], 1);
        assert!(refused["text"].as_str().unwrap_or("").contains("only root"));
        assert!(got.lock().expect("lock").is_empty());

        let ok = answer(
            r#"{"command": "release", "interface": "eth1"}"#,
            &b,
            Some(&orders),
        );
        assert_eq!(ok["result"], 0, "{ok}");
        let ok = answer(
            r#"{"command": "inform", "arguments": {"interface": "eth0", "address": "192.0.2.9"}}"#,
            &b,
            Some(&orders),
        );
        assert_eq!(ok["result"], 0, "{ok}");
        assert_eq!(
            *got.lock().expect("lock"),
            vec![
                ("eth1".to_string(), Given::V4(HostEvent::Release)),
                (
                    "eth0".to_string(),
                    Given::V4(HostEvent::Inform("192.0.2.9".parse().expect("ip")))
                ),
            ]
        );
    }

    #[test]
    fn an_order_without_a_clear_interface_or_address_is_refused_with_the_reason() {
        let (orders, got) = recorder(true);
        let two = board(&["eth0", "eth1"]);
        let cases = [
            (r#"{"command": "drop"}"#, "say which interface"),
            (
                r#"{"command": "drop", "interface": "eth9"}"#,
                "not under the agent's control",
            ),
            (
                r#"{"command": "inform", "interface": "eth0"}"#,
                "\"address\"",
            ),
            (
                r#"{"command": "inform", "interface": "eth0", "address": "192.0.2"}"#,
                "invalid",
            ),
        ];
        for (request, why) in cases {
            let a = answer(request, &two, Some(&orders));
            assert_eq!(a["result"], 1, "{request}: {a}");
            assert!(
                a["text"].as_str().unwrap_or("").contains(why),
                "{request}: {a}"
            );
        }
        assert!(got.lock().expect("lock").is_empty());

        let one = board(&["eth0"]);
        let a = answer(r#"{"command": "drop"}"#, &one, Some(&orders));
        assert_eq!(a["result"], 0, "{a}");
        let (gone, _) = recorder(false);
        let a = answer(r#"{"command": "drop"}"#, &one, Some(&gone));
        assert_eq!(a["result"], 1, "{a}");
        assert!(
            a["text"].as_str().unwrap_or("").contains("has ended"),
            "{a}"
        );
    }

    #[test]
    fn release6_and_drop6_reach_the_dhcpv6_client() {
        let (orders, got) = recorder(true);
        let b = board(&["eth0"]);
        let refused = answer(r#"{"command": "release6"}"#, &b, None);
        assert_eq!(refused["result"], 1, "{refused}");
        for request in [
            r#"{"command": "release6"}"#,
            r#"{"command": "drop6", "arguments": {"interface": "eth0"}}"#,
        ] {
            let a = answer(request, &b, Some(&orders));
            assert_eq!(a["result"], 0, "{request}: {a}");
        }
        assert_eq!(
            *got.lock().expect("lock"),
            vec![
                ("eth0".to_string(), Given::V6(HostEvent6::Release)),
                ("eth0".to_string(), Given::V6(HostEvent6::Drop)),
            ]
        );
    }

    #[test]
    fn lease6_answers_with_the_reply_and_the_leases_left() {
        use dhcplab_client6::{IaBinding, Lease6};
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let b = board(&["eth0", "eth1"]);
        let a = answer(r#"{"command": "lease6", "interface": "eth0"}"#, &b, None);
        assert_eq!(a["result"], 1, "{a}");
        assert!(
            a["text"]
                .as_str()
                .unwrap_or("")
                .contains("does not run DHCPv6"),
            "{a}"
        );
        let binding = Binding {
            server_id: vec![0, 1],
            server_unicast: None,
            reply: Some(vec![7, 1, 2, 3]),
            ias: vec![
                IaBinding {
                    kind: IaKind::Na,
                    iaid: 2,
                    renew_at: None,
                    rebind_at: None,
                    leases: vec![Lease6 {
                        address: "2001:db8::100".parse().expect("ip"),
                        prefix_len: 128,
                        preferred_until: Some(now + Duration::from_secs(30)),
                        valid_until: Some(now + Duration::from_secs(60)),
                    }],
                },
                IaBinding {
                    kind: IaKind::Pd,
                    iaid: 2,
                    renew_at: None,
                    rebind_at: None,
                    leases: vec![Lease6 {
                        address: "2001:db8:1::".parse().expect("ip"),
                        prefix_len: 56,
                        preferred_until: None,
                        valid_until: None,
                    }],
                },
            ],
        };
        {
            let mut locked = b.lock().expect("lock");
            locked[0].1.v6 = Some(Snapshot6::default());
            locked[1].1.v6 = Some(Snapshot6 {
                state: "Bound".into(),
                reply: binding.reply.clone(),
                binding: Some(binding),
            });
        }
        let locked = b.lock().expect("lock");
        let empty = lease6(&locked, Some("eth0"), now);
        assert_eq!(empty["result"], 3, "{empty}");
        // Without an interface: the first that holds something.
        let a = lease6(&locked, None, now);
        assert_eq!(a["result"], 0, "{a}");
        assert_eq!(
            a["arguments"],
            json!({"interface": "eth1", "state": "Bound", "reply": "07010203", "leases": [
                {"kind": "na", "iaid": 2, "address": "2001:db8::100", "prefix_len": 128,
                 "preferred": 30, "valid": 60},
                {"kind": "pd", "iaid": 2, "address": "2001:db8:1::", "prefix_len": 56,
                 "preferred": null, "valid": null}]})
        );
        drop(locked);
        let status = answer(r#"{"command": "status"}"#, &b, None);
        assert_eq!(
            status["arguments"]["interfaces"][1]["v6_addresses"],
            json!(["2001:db8::100/128", "2001:db8:1::/56"])
        );
    }

    #[test]
    fn a_request_ends_at_a_newline_or_with_a_whole_json_value() {
        assert!(request_complete(b"{\"command\": \"status\"}\n"));
        assert!(
            request_complete(b"{\"command\": \"status\"}"),
            "dhcplab ctl's form"
        );
        assert!(!request_complete(b"{\"command\": \"sta"));
        assert!(!request_complete(b""));
        let read = |bytes: &'static [u8]| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime")
                .block_on(read_request(bytes))
                .expect("read")
        };
        assert_eq!(
            read(b"{\"command\": \"status\"}\nmore"),
            "{\"command\": \"status\"}"
        );
        assert_eq!(
            read(b"{\"command\""),
            "{\"command\"",
            "the peer stopped writing"
        );
    }

    /// Reads one request from `bytes` as the socket's reader does.
    fn read_bytes(bytes: &[u8]) -> io::Result<String> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(read_request(bytes))
    }

    #[test]
    fn a_request_over_64_kib_is_refused_as_too_long() {
        // conformance/ROBUSTNESS.md, "Client agent control socket": it said "not JSON: EOF
        // while parsing" before.
        let mut long = b"{\"command\": \"status\", \"padding\": \"".to_vec();
        long.resize(70 * 1024, b'x');
        let err = read_bytes(&long).expect_err("too long");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(err.to_string(), "the request is longer than 65536 bytes");
        // A whole request of just under the bound is read.
        let mut fits = b"{\"command\": \"status\", \"padding\": \"".to_vec();
        fits.resize(64 * 1024 - 2, b'x');
        fits.extend_from_slice(b"\"}");
        assert_eq!(read_bytes(&fits).expect("read").len(), 64 * 1024);
    }

    #[test]
    fn deeply_nested_requests_are_refused_without_overflowing_the_stack() {
        // 30,000 levels fit in the bound: the request is read whole and refused by the JSON
        // reader's recursion limit, not by a stack overflow.
        let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
        let text = read_bytes(deep.as_bytes()).expect("read");
        let refused = answer(&text, &board(&["eth0"]), None);
        assert_eq!(refused["result"], 1);
        let said = refused["text"].as_str().unwrap_or("");
        assert!(
            said.starts_with("not JSON: recursion limit exceeded"),
            "{said}"
        );
        // 100,000 do not fit: the bound refuses them first.
        let err = read_bytes("[".repeat(100_000).as_bytes()).expect_err("too long");
        assert_eq!(err.to_string(), "the request is longer than 65536 bytes");
    }
}
