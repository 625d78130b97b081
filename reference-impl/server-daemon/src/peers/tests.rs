//! Peer commands and the peer endpoint on real loopback TCP.

use super::*;
use crate::{Held, answer_command, carry_out};
use dhcplab_ha::{PartnerState, State};
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Instant, SystemTime};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A loopback port nobody listens on (bound, then released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind((LOOPBACK, 0)).expect("bind");
    l.local_addr().expect("address").port()
}

fn heartbeat() -> Value {
    json!({ "command": "ha-heartbeat", "service": [ "dhcp4" ] })
}

fn request_to(port: u16, timeout: Duration) -> Request {
    Request {
        id: 7,
        peer: "server2".into(),
        host: LOOPBACK,
        port,
        body: heartbeat(),
        timeout,
    }
}

/// Reads what the other side sends until it closes.
async fn read_to_end(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got))
        .await
        .expect("closed in time")
        .expect("read");
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends `bytes` to `addr`, then nothing more, and returns everything the endpoint answers
/// before closing.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    s.shutdown().await.expect("half close");
    read_to_end(&mut s).await
}

#[tokio::test]
async fn an_answered_request_comes_back_as_its_json_body() {
    let listener = TcpListener::bind((LOOPBACK, 0)).await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let answer = json!({ "result": 0, "text": "HA peer status returned." });
    let canned = http::response(&answer);
    let peer = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        let got = read_message(&mut s).await.expect("a whole request");
        s.write_all(&canned).await.expect("write");
        got
    });
    let (requester, mut answers) = Requester::new();
    requester.send(request_to(port, Duration::from_secs(5)));
    let back = tokio::time::timeout(Duration::from_secs(5), answers.recv())
        .await
        .expect("in time")
        .expect("an answer");
    assert_eq!(back.id, 7);
    assert_eq!(back.result, Ok(json!([answer])));
    let got = peer.await.expect("peer task");
    assert_eq!(got.start, "POST / HTTP/1.1");
    assert_eq!(got.body, heartbeat());
}

#[tokio::test]
async fn a_refused_connection_is_an_error_at_once() {
    let port = free_port();
    let started = Instant::now();
    let result = exchange(&request_to(port, Duration::from_secs(5))).await;
    assert!(
        matches!(result, Err(PeerError::Connect { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    // Through the requester, the core gets the reason as text.
    let (requester, mut answers) = Requester::new();
    requester.send(request_to(port, Duration::from_secs(5)));
    let back = answers.recv().await.expect("an answer");
    let reason = back.result.expect_err("refused");
    assert!(reason.contains("connecting to 127.0.0.1"), "{reason}");
}

#[tokio::test]
async fn a_peer_that_never_answers_times_out_after_the_request_timeout() {
    let listener = TcpListener::bind((LOOPBACK, 0)).await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let _silent = tokio::spawn(async move {
        let (s, _) = listener.accept().await.expect("accept");
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    });
    let started = Instant::now();
    let result = exchange(&request_to(port, Duration::from_millis(200))).await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(PeerError::Timeout { .. })),
        "{result:?}"
    );
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn an_error_status_is_an_error_named_by_its_status() {
    let listener = TcpListener::bind((LOOPBACK, 0)).await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        for reply in [
            &b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"[..],
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{x}",
            b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n[]",
        ] {
            let (mut s, _) = listener.accept().await.expect("accept");
            let _ = read_message(&mut s).await;
            s.write_all(reply).await.expect("write");
        }
    });
    let r = request_to(port, Duration::from_secs(5));
    let e = exchange(&r).await.expect_err("500");
    assert!(e.to_string().contains("500 Internal Server Error"), "{e}");
    let e = exchange(&r).await.expect_err("401");
    assert!(matches!(e, PeerError::Status { .. }), "{e:?}");
    let e = exchange(&r).await.expect_err("not JSON");
    assert!(
        matches!(
            e,
            PeerError::Answer {
                source: ReadError::Body { .. },
                ..
            }
        ),
        "{e:?}"
    );
    let e = exchange(&r).await.expect_err("cut short");
    assert!(
        matches!(
            e,
            PeerError::Answer {
                source: ReadError::Closed(_),
                ..
            }
        ),
        "{e:?}"
    );
}

/// A Kea configuration whose HA (hot standby) makes `me` a peer of the other, both on
/// loopback at the given ports.
fn ha_config(me: &str, port1: u16, port2: u16) -> String {
    json!({ "Dhcp4": {
        "hooks-libraries": [
            { "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so",
              "parameters": { "high-availability": [ {
                "this-server-name": me, "mode": "hot-standby",
                "heartbeat-delay": 1000, "max-response-delay": 3000,
                "max-ack-delay": 1000, "max-unacked-clients": 0,
                "peers": [
                    { "name": "server1", "url": format!("http://127.0.0.1:{port1}/"),
                      "role": "primary" },
                    { "name": "server2", "url": format!("http://127.0.0.1:{port2}/"),
                      "role": "standby" } ] } ] } } ],
        "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
            "pools": [ { "pool": "192.0.2.100 - 192.0.2.200" } ] } ] } })
    .to_string()
}

fn server(text: &str) -> Server {
    let (config, json) = dhcplab_kea_config::dhcp4::parse_document(text).expect("valid config");
    Server::new(config, json, Vec::new(), SystemTime::now()).expect("server")
}

/// Answers one command from the endpoint as the daemon's loop does, carrying out what it
/// asks.
async fn answer_one(
    server: &mut Server,
    commands: &mut mpsc::Receiver<Command>,
    requester: &Requester,
) {
    let cmd = tokio::time::timeout(Duration::from_secs(5), commands.recv())
        .await
        .expect("a command in time")
        .expect("a command");
    let answer = answer_command(server, Path::new("/nonexistent/kea.conf"), &cmd.text);
    let _ = cmd.answer.send(answer);
    carry_out(server, None, &mut Held::default(), requester);
}

#[tokio::test]
async fn the_endpoint_answers_a_posted_heartbeat_with_the_servers_state() {
    let (port1, port2) = (free_port(), free_port());
    let mut server = server(&ha_config("server1", port1, port2));
    let addr = endpoint_address(&server).expect("HA configured");
    assert_eq!(addr, SocketAddr::new(LOOPBACK, port1));
    let (tx, mut commands) = mpsc::channel(16);
    let mut endpoint = Endpoint::new(tx);
    endpoint.follow(Some(addr)).await.expect("listening");
    assert_eq!(endpoint.local_addr(), Some(addr));
    let (requester, _answers) = Requester::new();

    let client =
        tokio::spawn(async move { raw(addr, &http::request("127.0.0.1", &heartbeat())).await });
    answer_one(&mut server, &mut commands, &requester).await;
    let got = client.await.expect("client task");
    let (message, used) = http::parse(got.as_bytes())
        .expect("HTTP")
        .expect("a whole answer");
    assert_eq!(used, got.len(), "nothing after the answer");
    assert_eq!(message.status(), Some(200));
    let list = message.body.as_array().expect("a list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["result"], 0, "{}", message.body);
    assert_eq!(list[0]["arguments"]["state"], "waiting");
}

#[tokio::test]
async fn the_endpoint_refuses_what_is_not_a_post_of_json() {
    let (tx, mut commands) = mpsc::channel(16);
    let mut endpoint = Endpoint::new(tx);
    endpoint
        .follow(Some(SocketAddr::new(LOOPBACK, 0)))
        .await
        .expect("listening");
    let addr = endpoint.local_addr().expect("bound");
    let bad = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    for bytes in [
        &b"GARBAGE\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost x\r\n\r\n",
        b"POST / HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n{x}",
        b"POST / HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
        // Cut short: the body is not all there when the partner stops sending.
        b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}",
        // A head over 8 KiB.
        &[0xff; 8 * 1024 + 1],
    ] {
        assert_eq!(
            raw(addr, bytes).await,
            bad,
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
    assert!(
        commands.try_recv().is_err(),
        "no command reached the server"
    );
}

#[tokio::test]
async fn the_endpoint_follows_the_configuration() {
    let (tx, _commands) = mpsc::channel(16);
    let mut endpoint = Endpoint::new(tx);
    let first = SocketAddr::new(LOOPBACK, free_port());
    endpoint.follow(Some(first)).await.expect("listening");
    TcpStream::connect(first).await.expect("open");
    // The same address again: the listener stays.
    endpoint.follow(Some(first)).await.expect("still listening");
    TcpStream::connect(first).await.expect("still open");
    // Another port: the old one is closed.
    let second = SocketAddr::new(LOOPBACK, free_port());
    endpoint.follow(Some(second)).await.expect("moved");
    TcpStream::connect(second).await.expect("open");
    TcpStream::connect(first).await.expect_err("closed");
    // The same port on another address: the old socket is released before the bind.
    let wildcard = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), second.port());
    endpoint.follow(Some(wildcard)).await.expect("rebound");
    TcpStream::connect(second)
        .await
        .expect("open on every address");
    // No HA any more: nothing listens.
    endpoint.follow(None).await.expect("closed");
    TcpStream::connect(second).await.expect_err("closed");
    assert_eq!(endpoint.local_addr(), None);
    // An address this host does not have: an error, and the next call tries again.
    let foreign = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 8000);
    let e = endpoint.follow(Some(foreign)).await.expect_err("not ours");
    assert!(e.to_string().contains("192.0.2.1:8000"), "{e}");
    endpoint.follow(Some(first)).await.expect("listening again");
    TcpStream::connect(first).await.expect("open");
}

#[tokio::test]
async fn two_servers_exchange_a_heartbeat_through_requester_and_endpoint() {
    let (port1, port2) = (free_port(), free_port());
    let mut one = server(&ha_config("server1", port1, port2));
    let mut two = server(&ha_config("server2", port1, port2));
    let (tx, mut commands) = mpsc::channel(16);
    let mut endpoint = Endpoint::new(tx);
    endpoint
        .follow(endpoint_address(&two))
        .await
        .expect("server2 listening");
    let (requester, mut answers) = Requester::new();
    let (requester2, _answers2) = Requester::new();
    let mut held = Held::default();
    carry_out(&mut one, None, &mut held, &requester);
    // The first heartbeat goes after heartbeat-delay.
    one.handle_timeout(SystemTime::now() + Duration::from_secs(2));
    carry_out(&mut one, None, &mut held, &requester);
    answer_one(&mut two, &mut commands, &requester2).await;
    let back = tokio::time::timeout(Duration::from_secs(5), answers.recv())
        .await
        .expect("in time")
        .expect("an answer");
    assert!(back.result.is_ok(), "{:?}", back.result);
    one.handle_peer_answer(SystemTime::now(), back.id, back.result);
    carry_out(&mut one, None, &mut held, &requester);
    let ha = one.ha().expect("HA");
    assert_eq!(ha.partner_state(), PartnerState::Known(State::Waiting));
}
