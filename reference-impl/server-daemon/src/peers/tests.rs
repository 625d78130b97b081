//! Peer commands and the peer endpoint on real loopback TCP.

use super::*;
use crate::driver::{Held, answer_command};
use crate::v4::Around;

/// Carries out what the core asks as the daemon's loop does, peer commands sent with
/// `requester`, no lease file.
fn carry_out(
    server: &mut Server,
    held: &mut Held<dhcplab_server::Transmit>,
    requester: &Requester,
) -> bool {
    let mut around = Around::requester_only(requester.clone());
    crate::driver::carry_out(server, &mut around, None, held, false)
}
use dhcplab_ha::{PartnerState, State};
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
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
        authorization: None,
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
        let (s, _) = listener.accept().await.expect("accept");
        let mut c = Connection::new(s);
        let got = c.read_message().await.expect("a whole request");
        c.stream.write_all(&canned).await.expect("write");
        got.message
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
            let (s, _) = listener.accept().await.expect("accept");
            let mut c = Connection::new(s);
            let _ = c.read_message().await;
            c.stream.write_all(reply).await.expect("write");
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
    carry_out(server, &mut Held::default(), requester);
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
        tokio::spawn(
            async move { raw(addr, &http::request("127.0.0.1", &heartbeat(), None)).await },
        );
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
async fn the_endpoint_runs_only_commands_with_the_credentials_it_requires() {
    let (port1, port2) = (free_port(), free_port());
    let mut server = server(&ha_config("server1", port1, port2));
    let addr = endpoint_address(&server).expect("HA configured");
    let (tx, mut commands) = mpsc::channel(16);
    let mut endpoint = Endpoint::new(tx);
    let auth = dhcplab_ha::BasicAuth {
        user: "ha".into(),
        password: "s3cret".into(),
    };
    endpoint.require(Some(auth.clone()));
    endpoint.follow(Some(addr)).await.expect("listening");
    let (requester, _answers) = Requester::new();
    let wrong = dhcplab_ha::BasicAuth {
        password: "guess".into(),
        ..auth.clone()
    };
    for header in [None, Some(wrong.header())] {
        let got = raw(
            addr,
            &http::request("127.0.0.1", &heartbeat(), header.as_deref()),
        )
        .await;
        let (message, _) = http::parse(got.as_bytes())
            .expect("HTTP")
            .expect("a whole answer");
        assert_eq!(message.status(), Some(401), "{got}");
        assert!(got.contains("WWW-Authenticate: Basic"), "{got}");
    }
    assert!(
        commands.try_recv().is_err(),
        "no command reached the server"
    );
    let header = auth.header();
    let client = tokio::spawn(async move {
        raw(
            addr,
            &http::request("127.0.0.1", &heartbeat(), Some(&header)),
        )
        .await
    });
    answer_one(&mut server, &mut commands, &requester).await;
    let got = client.await.expect("client task");
    let (message, _) = http::parse(got.as_bytes())
        .expect("HTTP")
        .expect("a whole answer");
    assert_eq!(message.status(), Some(200), "{got}");
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
    let bad = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
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
    carry_out(&mut one, &mut held, &requester);
    // The first heartbeat goes after heartbeat-delay.
    one.handle_timeout(SystemTime::now() + Duration::from_secs(2));
    carry_out(&mut one, &mut held, &requester);
    answer_one(&mut two, &mut commands, &requester2).await;
    let back = tokio::time::timeout(Duration::from_secs(5), answers.recv())
        .await
        .expect("in time")
        .expect("an answer");
    assert!(back.result.is_ok(), "{:?}", back.result);
    one.handle_peer_answer(SystemTime::now(), back.id, back.result);
    carry_out(&mut one, &mut held, &requester);
    let ha = one.ha().expect("HA");
    assert_eq!(ha.partner_state(), PartnerState::Known(State::Waiting));
}

/// A test peer on loopback that counts the connections it accepts and answers each request
/// on them with `answer`, keeping each connection open for more.
struct CountingPeer {
    port: u16,
    accepted: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

fn ok_answer() -> Value {
    json!({ "result": 0, "text": "HA peer status returned." })
}

impl CountingPeer {
    async fn start() -> Self {
        let listener = TcpListener::bind((LOOPBACK, 0)).await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (a, r) = (accepted.clone(), requests.clone());
        tokio::spawn(async move {
            loop {
                let (s, _) = listener.accept().await.expect("accept");
                a.fetch_add(1, Ordering::SeqCst);
                let r = r.clone();
                tokio::spawn(async move {
                    let mut c = Connection::new(s);
                    while c.read_message().await.is_ok() {
                        r.fetch_add(1, Ordering::SeqCst);
                        let bytes = http::response(&ok_answer());
                        if c.stream.write_all(&bytes).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self {
            port,
            accepted,
            requests,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn requests_to_one_peer_reuse_one_connection() {
    let peer = CountingPeer::start().await;
    let (requester, mut answers) = Requester::new();
    let r = request_to(peer.port, Duration::from_secs(5));
    for _ in 0..3 {
        let body = requester.exchange(&r).await.expect("answered");
        assert_eq!(body, json!([ok_answer()]));
    }
    // Through send too, as the daemon does, on a clone: the clones share the connections.
    let clone = requester.clone();
    for _ in 0..2 {
        clone.send(r.clone());
        let back = tokio::time::timeout(Duration::from_secs(5), answers.recv())
            .await
            .expect("in time")
            .expect("an answer");
        assert_eq!(back.result, Ok(json!([ok_answer()])));
    }
    assert_eq!(peer.requests.load(Ordering::SeqCst), 5);
    assert_eq!(peer.accepted(), 1, "one connection for every request");
}

#[tokio::test]
async fn concurrent_requests_to_one_peer_run_on_connections_of_their_own() {
    // A peer that answers only once it holds two requests: requests queued behind one
    // connection would never be answered.
    let listener = TcpListener::bind((LOOPBACK, 0)).await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (s, _) = listener.accept().await.expect("accept");
            counted.fetch_add(1, Ordering::SeqCst);
            let mut c = Connection::new(s);
            c.read_message().await.expect("a request");
            held.push(c);
            if held.len() == 2 {
                for mut c in held.drain(..) {
                    tokio::spawn(async move {
                        loop {
                            let bytes = http::response(&ok_answer());
                            c.stream.write_all(&bytes).await.expect("write");
                            if c.read_message().await.is_err() {
                                break;
                            }
                        }
                    });
                }
            }
        }
    });
    let (requester, _answers) = Requester::new();
    let r = request_to(port, Duration::from_secs(5));
    let (one, two) = tokio::join!(requester.exchange(&r), requester.exchange(&r));
    assert!(one.is_ok() && two.is_ok(), "{one:?} {two:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    // Both went back to the pool: more requests, concurrent or not, open none.
    let (one, two) = tokio::join!(requester.exchange(&r), requester.exchange(&r));
    assert!(one.is_ok() && two.is_ok(), "{one:?} {two:?}");
    requester.exchange(&r).await.expect("answered");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_burst_of_requests_to_one_peer_shares_at_most_pool_connections() {
    let peer = CountingPeer::start().await;
    let (requester, mut answers) = Requester::new();
    let r = request_to(peer.port, Duration::from_secs(5));
    let burst = 5 * POOL;
    for _ in 0..burst {
        requester.send(r.clone());
    }
    for _ in 0..burst {
        let back = tokio::time::timeout(Duration::from_secs(5), answers.recv())
            .await
            .expect("in time")
            .expect("an answer");
        assert_eq!(back.result, Ok(json!([ok_answer()])));
    }
    assert_eq!(peer.requests.load(Ordering::SeqCst), burst);
    let accepted = peer.accepted();
    assert!((1..=POOL).contains(&accepted), "{accepted} connections");
    // A request waiting for a connection still times out by its own timeout.
    let listener = TcpListener::bind((LOOPBACK, 0)).await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (s, _) = listener.accept().await.expect("accept");
            held.push(s);
        }
    });
    let slow = request_to(port, Duration::from_millis(300));
    let started = Instant::now();
    let mut all = tokio::task::JoinSet::new();
    for _ in 0..=POOL {
        let (requester, slow) = (requester.clone(), slow.clone());
        all.spawn(async move { requester.exchange(&slow).await });
    }
    while let Some(result) = all.join_next().await {
        let result = result.expect("task");
        assert!(
            matches!(result, Err(PeerError::Timeout { .. })),
            "{result:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A peer that plays `script` on the connections it accepts, one entry per connection:
/// for each request on it, the bytes it answers, or `None` to close the connection (after
/// reading the request); out of replies, it closes the connection. Returns its port and how
/// many connections it accepted.
async fn scripted_peer(script: Vec<Vec<Option<Vec<u8>>>>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((LOOPBACK, 0)).await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    tokio::spawn(async move {
        for replies in script {
            let (s, _) = listener.accept().await.expect("accept");
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut c = Connection::new(s);
                for reply in replies {
                    if c.read_message().await.is_err() {
                        return;
                    }
                    match reply {
                        Some(bytes) => c.stream.write_all(&bytes).await.expect("write"),
                        None => return,
                    }
                }
            });
        }
        // No more connections are accepted (the listener stays open).
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(listener);
    });
    (port, accepted)
}

#[tokio::test]
async fn a_connection_the_peer_closed_is_replaced_by_a_new_one() {
    let ok = http::response(&ok_answer());
    // First connection: one answer, then closed when idle (before the next request).
    // Second: one answer, then closed as the next request arrives, unanswered.
    // Third: answers.
    let (port, accepted) = scripted_peer(vec![
        vec![Some(ok.clone())],
        vec![Some(ok.clone()), None],
        vec![Some(ok.clone()), Some(ok.clone())],
    ])
    .await;
    let (requester, _answers) = Requester::new();
    let r = request_to(port, Duration::from_secs(5));
    requester.exchange(&r).await.expect("first");
    // Let the close of the first connection arrive.
    tokio::time::sleep(Duration::from_millis(100)).await;
    requester
        .exchange(&r)
        .await
        .expect("second, on a new connection");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    // The second connection is closed on the request itself: retried once, on a third.
    requester.exchange(&r).await.expect("third, retried");
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    requester.exchange(&r).await.expect("fourth, on the third");
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn no_retry_when_the_answer_was_started_or_the_connection_was_new() {
    let ok = http::response(&ok_answer());
    let half = ok.get(..ok.len() / 2).expect("half").to_vec();
    // First: one answer, then half an answer and a close. Second: a new connection closed on
    // its first request. Third: would answer, but must not be needed.
    let (port, accepted) = scripted_peer(vec![
        vec![Some(ok.clone()), Some(half)],
        vec![None],
        vec![Some(ok.clone())],
    ])
    .await;
    let (requester, _answers) = Requester::new();
    let r = request_to(port, Duration::from_secs(5));
    requester.exchange(&r).await.expect("first");
    // Half an answer, then the close: an error.
    let e = requester.exchange(&r).await.expect_err("cut short");
    assert!(
        matches!(
            e,
            PeerError::Answer {
                source: ReadError::Closed(n),
                ..
            } if n > 0
        ),
        "{e:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "not retried");
    // Nothing was kept: a new connection, closed unanswered, is an error, not retried.
    let e = requester.exchange(&r).await.expect_err("closed unanswered");
    assert!(
        matches!(
            e,
            PeerError::Answer {
                source: ReadError::Closed(0) | ReadError::Io(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "not retried");
}

#[tokio::test]
async fn an_answer_that_says_close_is_not_reused() {
    let close = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]".to_vec();
    let old = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n[]".to_vec();
    let ok = http::response(&ok_answer());
    // Each connection would answer again, but the requester must not ask it.
    let (port, accepted) = scripted_peer(vec![
        vec![Some(close), Some(ok.clone())],
        vec![Some(old), Some(ok.clone())],
        vec![Some(ok.clone()), Some(ok.clone())],
    ])
    .await;
    let (requester, _answers) = Requester::new();
    let r = request_to(port, Duration::from_secs(5));
    assert_eq!(requester.exchange(&r).await.expect("close"), json!([]));
    assert_eq!(requester.exchange(&r).await.expect("HTTP/1.0"), json!([]));
    requester.exchange(&r).await.expect("kept");
    requester.exchange(&r).await.expect("on the kept one");
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_error_status_closes_the_connection() {
    let error = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec();
    let ok = http::response(&ok_answer());
    let (port, accepted) = scripted_peer(vec![
        vec![Some(error), Some(ok.clone())],
        vec![Some(ok.clone())],
    ])
    .await;
    let (requester, _answers) = Requester::new();
    let r = request_to(port, Duration::from_secs(5));
    let e = requester.exchange(&r).await.expect_err("500");
    assert!(matches!(e, PeerError::Status { .. }), "{e:?}");
    requester.exchange(&r).await.expect("on a new connection");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[test]
fn keep_alive_follows_the_version_and_the_connection_header() {
    for (bytes, keep) in [
        (&b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"[..], true),
        (b"POST / HTTP/1.1\r\nHost: x\r\n\r\n{}", true),
        (b"POST / HTTP/1.1\r\nconnection:  Close\r\n\r\n", false),
        (
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n\r\n",
            false,
        ),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
        (b"POST / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
        (b"POST / HTTP/2\r\n\r\n", false),
        // The body is not looked at.
        (b"HTTP/1.1 200 OK\r\n\r\nConnection: close\r\n\r\n", true),
    ] {
        assert_eq!(
            keeps_alive(bytes),
            keep,
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[tokio::test]
async fn the_endpoint_answers_several_commands_on_one_connection() {
    let (port1, port2) = (free_port(), free_port());
    let mut server = server(&ha_config("server1", port1, port2));
    let addr = endpoint_address(&server).expect("HA configured");
    let (tx, mut commands) = mpsc::channel(16);
    let mut endpoint = Endpoint::new(tx);
    endpoint.follow(Some(addr)).await.expect("listening");
    let (requester, _answers) = Requester::new();
    let mut c = Connection::new(TcpStream::connect(addr).await.expect("connect"));
    let request = http::request("127.0.0.1", &heartbeat(), None);

    // Two commands, one after the other's answer.
    for _ in 0..2 {
        c.stream.write_all(&request).await.expect("write");
        answer_one(&mut server, &mut commands, &requester).await;
        let got = c.read_message().await.expect("an answer");
        assert_eq!(got.message.status(), Some(200));
        assert!(got.keep_alive);
        assert_eq!(got.message.body[0]["arguments"]["state"], "waiting");
    }
    // Two at once (pipelined): answered in turn.
    let mut two = request.clone();
    two.extend_from_slice(&request);
    c.stream.write_all(&two).await.expect("write");
    for _ in 0..2 {
        answer_one(&mut server, &mut commands, &requester).await;
        let got = c.read_message().await.expect("an answer");
        assert_eq!(got.message.status(), Some(200));
    }
    // A command that asks for the close: answered, then closed.
    let last = String::from_utf8(request).expect("text").replacen(
        "\r\n\r\n",
        "\r\nConnection: close\r\n\r\n",
        1,
    );
    c.stream.write_all(last.as_bytes()).await.expect("write");
    answer_one(&mut server, &mut commands, &requester).await;
    let got = c.read_message().await.expect("an answer");
    assert_eq!(got.message.status(), Some(200));
    let end = tokio::time::timeout(Duration::from_secs(5), c.read_message())
        .await
        .expect("closed in time");
    assert!(matches!(end, Err(ReadError::Closed(0))), "{end:?}");
}

#[tokio::test]
async fn requester_and_endpoint_share_one_connection_for_many_heartbeats() {
    let (port1, port2) = (free_port(), free_port());
    let mut two = server(&ha_config("server2", port1, port2));
    let (tx, mut commands) = mpsc::channel(16);
    let mut endpoint = Endpoint::new(tx);
    endpoint
        .follow(endpoint_address(&two))
        .await
        .expect("server2 listening");
    let (requester, _answers) = Requester::new();
    let (requester2, _answers2) = Requester::new();
    let r = request_to(port2, Duration::from_secs(5));
    for _ in 0..5 {
        let (answer, ()) = tokio::join!(
            requester.exchange(&r),
            answer_one(&mut two, &mut commands, &requester2)
        );
        let answer = answer.expect("answered");
        assert_eq!(answer[0]["result"], 0, "{answer}");
    }
    let peers = requester.pool.lock();
    let kept = peers
        .get(&SocketAddr::new(LOOPBACK, port2))
        .map(|p| p.idle.len());
    assert_eq!(kept, Some(1), "one connection, kept");
}
