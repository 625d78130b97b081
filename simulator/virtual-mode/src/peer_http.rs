//! HA peer commands between servers on the virtual link: each request is an HTTP/1.1 POST on
//! its own TCP connection, sent as real TCP segments through the segment, so partitions,
//! loss and carrier cut it as they cut DHCP, and the pcap shows it (Wireshark decodes it as
//! HTTP with "Decode As" on the peer port).
//!
//! The TCP is the least that carries one request and its answer: handshake, data in segments
//! of at most [`MSS`] bytes, FIN. Nothing is retransmitted and only the next expected segment
//! is taken: a lost, duplicated or reordered segment leaves the exchange to its timeout, which
//! the HA service then sees as a failed request, as Kea's HTTP client reports a timeout (a
//! duplicate never runs a command twice). A stopped server's host answers a SYN with RST
//! (connection refused at once); a suspended one takes nothing and answers nothing, and learns
//! of its own timeouts when it resumes.

use crate::world::{Node, World};
use dhcplab_frame::tcp::{Flags, Segment, decode_tcp, encode_tcp};
use dhcplab_server::CommandOutcome;
use dhcplab_timeline::{Dest, Entry};
use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::time::SystemTime;

/// The most data one segment carries (Ethernet's 1500 bytes less the IPv4 and TCP headers).
const MSS: usize = 1460;
/// The first ephemeral port.
const FIRST_PORT: u16 = 49_152;

/// One request on its connection.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// The request's id in the asking server's HA service.
    id: u64,
    client: usize,
    server: usize,
    client_addr: SocketAddrV4,
    server_addr: SocketAddrV4,
    request: Vec<u8>,
    /// The answer's bytes the client has, and the request's bytes the server has.
    answer_got: Vec<u8>,
    request_got: Vec<u8>,
    /// The client has sent its request (the first SYN-ACK came).
    established: bool,
    /// The server has answered.
    answered: bool,
    client_isn: u32,
    server_isn: u32,
    deadline: SystemTime,
    label: String,
}

/// The exchanges in flight, by the client's address and port.
#[derive(Debug, Default)]
pub(crate) struct Exchanges {
    open: BTreeMap<SocketAddrV4, Exchange>,
    next_port: u32,
}

impl Exchanges {
    /// The earliest timeout.
    pub(crate) fn deadline(&self) -> Option<SystemTime> {
        self.open.values().map(|e| e.deadline).min()
    }
}

impl World {
    /// Opens a connection for server `i`'s peer request.
    pub(crate) fn peer_request(&mut self, i: usize, r: dhcplab_ha::Request) {
        let now = self.now;
        let label = r.body["command"].as_str().unwrap_or("?").to_string();
        let (Some(from), std::net::IpAddr::V4(to_ip)) = (self.address_of(i), r.host) else {
            self.peer_failed(i, r.id, "the reference server's HA peers are IPv4");
            return;
        };
        let server = self.owners_of(to_ip);
        // The next ephemeral port no exchange of this host holds.
        let mut client_addr = SocketAddrV4::new(from, FIRST_PORT);
        for _ in 0..=16_384 {
            let port = FIRST_PORT + (self.exchanges.next_port % 16_384) as u16;
            self.exchanges.next_port = self.exchanges.next_port.wrapping_add(1);
            client_addr = SocketAddrV4::new(from, port);
            if !self.exchanges.open.contains_key(&client_addr) {
                break;
            }
        }
        if self.exchanges.open.contains_key(&client_addr) {
            self.peer_failed(i, r.id, "no free port for an HA peer connection");
            return;
        }
        let server_addr = SocketAddrV4::new(to_ip, r.port);
        let Some(server) = server else {
            // No ARP answer: nothing leaves, and the connection times out.
            self.note(
                i,
                &format!("no ARP answer for {to_ip}: HTTP {label} not sent"),
            );
            self.exchanges.open.insert(
                client_addr,
                Exchange {
                    id: r.id,
                    client: i,
                    server: i,
                    client_addr,
                    server_addr,
                    request: Vec::new(),
                    answer_got: Vec::new(),
                    request_got: Vec::new(),
                    established: false,
                    answered: false,
                    client_isn: 0,
                    server_isn: 0,
                    deadline: now + r.timeout,
                    label,
                },
            );
            return;
        };
        let body =
            dhcplab_ha::http::request(&r.host.to_string(), &r.body, r.authorization.as_deref());
        let seed = r.id.wrapping_mul(2_654_435_761) as u32;
        let e = Exchange {
            id: r.id,
            client: i,
            server,
            client_addr,
            server_addr,
            request: body,
            answer_got: Vec::new(),
            request_got: Vec::new(),
            established: false,
            answered: false,
            client_isn: seed,
            server_isn: seed.rotate_left(16),
            deadline: now + r.timeout,
            label,
        };
        let syn = Segment {
            src: client_addr,
            dst: server_addr,
            seq: e.client_isn,
            ack: 0,
            flags: Flags {
                syn: true,
                ..Flags::default()
            },
            payload: &[],
        };
        self.exchanges.open.insert(client_addr, e);
        self.put_segment(i, server, &syn, "TCP SYN");
    }

    /// Fails every exchange whose timeout has passed.
    pub(crate) fn expire_exchanges(&mut self) {
        let now = self.now;
        let due: Vec<SocketAddrV4> = self
            .exchanges
            .open
            .iter()
            .filter(|(_, e)| e.deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in due {
            // A suspended server learns of its timeouts when it resumes.
            let asker = self.exchanges.open.get(&k).map(|e| e.client);
            if asker.is_some_and(|c| self.suspended(c)) {
                if let Some(e) = self.exchanges.open.get_mut(&k) {
                    e.deadline = now + std::time::Duration::from_secs(1);
                }
                continue;
            }
            if let Some(e) = self.exchanges.open.remove(&k) {
                let why = format!("HTTP {}: timed out", e.label);
                self.peer_failed(e.client, e.id, &why);
            }
        }
    }

    /// Takes a TCP segment delivered to host `port`; false when the frame is not TCP.
    pub(crate) fn deliver_tcp(&mut self, port: usize, frame: &[u8]) -> bool {
        let Some(seg) = decode_tcp(frame) else {
            return false;
        };
        let f = seg.flags;
        // To the client side of an exchange?
        if let Some(e) = self.exchanges.open.get(&seg.dst)
            && e.client == port
        {
            let (server, client_addr, server_addr) = (e.server, e.client_addr, e.server_addr);
            if self.suspended(port) {
                return true;
            }
            if f.rst {
                if let Some(e) = self.exchanges.open.remove(&seg.dst) {
                    self.peer_failed(port, e.id, &format!("HTTP {}: connection refused", e.label));
                }
                return true;
            }
            if f.syn && f.ack {
                let Some(e) = self.exchanges.open.get_mut(&seg.dst) else {
                    return true;
                };
                if e.established {
                    return true;
                }
                e.established = true;
                let request = e.request.clone();
                let (cseq, sseq) = (e.client_isn.wrapping_add(1), e.server_isn.wrapping_add(1));
                let chunks = request.chunks(MSS).count();
                for (n, chunk) in request.chunks(MSS).enumerate() {
                    let s = Segment {
                        src: client_addr,
                        dst: server_addr,
                        seq: cseq.wrapping_add((n * MSS) as u32),
                        ack: sseq,
                        flags: Flags {
                            ack: true,
                            psh: n + 1 == chunks,
                            ..Flags::default()
                        },
                        payload: chunk,
                    };
                    let label = if n == 0 {
                        format!("HTTP POST {}", self.exchange_label(&seg.dst))
                    } else {
                        "TCP data".into()
                    };
                    self.put_segment(port, server, &s, &label);
                }
                return true;
            }
            if !seg.payload.is_empty() {
                let done = {
                    let Some(e) = self.exchanges.open.get_mut(&seg.dst) else {
                        return true;
                    };
                    let expected = e
                        .server_isn
                        .wrapping_add(1)
                        .wrapping_add(e.answer_got.len() as u32);
                    if seg.seq != expected {
                        return true;
                    }
                    e.answer_got.extend_from_slice(seg.payload);
                    dhcplab_ha::http::parse(&e.answer_got)
                };
                let Some(e) = self.exchanges.open.remove(&seg.dst) else {
                    return true;
                };
                let result = match done {
                    Ok(None) => {
                        self.exchanges.open.insert(seg.dst, e);
                        return true;
                    }
                    Ok(Some((m, _))) if m.status() == Some(200) => Ok(m.body),
                    Ok(Some((m, _))) => Err(format!("HTTP {}: {}", e.label, m.start)),
                    Err(err) => Err(format!("HTTP {}: {err}", e.label)),
                };
                let fin = Segment {
                    src: client_addr,
                    dst: server_addr,
                    seq: e.client_isn.wrapping_add(1 + e.request.len() as u32),
                    ack: seg
                        .seq
                        .wrapping_add(seg.payload.len() as u32 + u32::from(f.fin)),
                    flags: Flags {
                        ack: true,
                        fin: true,
                        ..Flags::default()
                    },
                    payload: &[],
                };
                self.put_segment(port, server, &fin, "TCP FIN");
                self.peer_answer(port, e.id, result);
            }
            return true;
        }
        // To the server side: a SYN, request data, or the client's FIN.
        self.serve_tcp(port, &seg);
        true
    }

    fn exchange_label(&self, key: &SocketAddrV4) -> String {
        self.exchanges
            .open
            .get(key)
            .map(|e| e.label.clone())
            .unwrap_or_default()
    }

    fn serve_tcp(&mut self, port: usize, seg: &Segment<'_>) {
        let f = seg.flags;
        let listening = match &self.nodes[port] {
            Node::Server(s) => {
                if s.suspended {
                    return;
                }
                s.core.as_ref().and_then(|c| c.ha()).is_some_and(|h| {
                    let me = h.config().this_server();
                    me.port == seg.dst.port()
                })
            }
            _ => false,
        };
        let client = self.exchanges.open.get(&seg.src).map(|e| e.client);
        let Some(client) = client else {
            // The FIN of a finished exchange, or a stray segment: acknowledge a FIN.
            if f.fin
                && let Some(to) = self.owners_of(*seg.src.ip())
            {
                let ack = Segment {
                    src: seg.dst,
                    dst: seg.src,
                    seq: seg.ack,
                    ack: seg.seq.wrapping_add(1),
                    flags: Flags {
                        ack: true,
                        ..Flags::default()
                    },
                    payload: &[],
                };
                self.put_segment(port, to, &ack, "TCP ACK");
            }
            return;
        };
        if f.syn {
            let Some(e) = self.exchanges.open.get(&seg.src) else {
                return;
            };
            let reply = if listening {
                Segment {
                    src: seg.dst,
                    dst: seg.src,
                    seq: e.server_isn,
                    ack: seg.seq.wrapping_add(1),
                    flags: Flags {
                        syn: true,
                        ack: true,
                        ..Flags::default()
                    },
                    payload: &[],
                }
            } else {
                Segment {
                    src: seg.dst,
                    dst: seg.src,
                    seq: 0,
                    ack: seg.seq.wrapping_add(1),
                    flags: Flags {
                        rst: true,
                        ack: true,
                        ..Flags::default()
                    },
                    payload: &[],
                }
            };
            let label = if listening {
                "TCP SYN, ACK"
            } else {
                "TCP RST (connection refused)"
            };
            self.put_segment(port, client, &reply, label);
            return;
        }
        if seg.payload.is_empty() || !listening {
            return;
        }
        let parsed = {
            let Some(e) = self.exchanges.open.get_mut(&seg.src) else {
                return;
            };
            let expected = e
                .client_isn
                .wrapping_add(1)
                .wrapping_add(e.request_got.len() as u32);
            if e.answered || seg.seq != expected {
                return;
            }
            e.request_got.extend_from_slice(seg.payload);
            let parsed = dhcplab_ha::http::parse(&e.request_got);
            if !matches!(parsed, Ok(None)) {
                e.answered = true;
            }
            parsed
        };
        let answer = match parsed {
            Ok(None) => return,
            Ok(Some((m, _))) if !self.admits(port, m.authorization.as_deref()) => None,
            Ok(Some((m, _))) => Some(self.peer_command(port, &m.body)),
            Err(e) => {
                Some(serde_json::json!({ "result": 1, "text": format!("bad HTTP request: {e}") }))
            }
        };
        let Some(e) = self.exchanges.open.get(&seg.src) else {
            return;
        };
        let (bytes, text) = match answer {
            Some(answer) => (
                dhcplab_ha::http::response(&answer),
                format!(
                    "HTTP 200 {} result {}",
                    e.label,
                    answer
                        .get("result")
                        .map_or_else(String::new, ToString::to_string)
                ),
            ),
            None => (
                dhcplab_ha::http::unauthorized(),
                format!("HTTP 401 {}: not the credentials required", e.label),
            ),
        };
        let (sseq, cack) = (
            e.server_isn.wrapping_add(1),
            e.client_isn.wrapping_add(1 + e.request.len() as u32),
        );
        let chunks = bytes.chunks(MSS).count();
        for (n, chunk) in bytes.chunks(MSS).enumerate() {
            let last = n + 1 == chunks;
            let s = Segment {
                src: seg.dst,
                dst: seg.src,
                seq: sseq.wrapping_add((n * MSS) as u32),
                ack: cack,
                flags: Flags {
                    ack: true,
                    psh: last,
                    fin: last,
                    ..Flags::default()
                },
                payload: chunk,
            };
            let label = if n == 0 {
                text.clone()
            } else {
                "TCP data".into()
            };
            self.put_segment(port, client, &s, &label);
        }
    }

    /// Whether server `i` runs a peer command whose `Authorization` header is `header`: its
    /// HA service says (a server without HA runs every command).
    fn admits(&self, i: usize, header: Option<&str>) -> bool {
        match &self.nodes[i] {
            Node::Server(s) => s
                .core
                .as_ref()
                .and_then(|c| c.ha())
                .is_none_or(|h| h.authorizes(header)),
            _ => true,
        }
    }

    /// Runs a peer command on server `i`, as its control channel would.
    fn peer_command(&mut self, i: usize, body: &serde_json::Value) -> serde_json::Value {
        let now = self.clock_of(i);
        let answer = match &mut self.nodes[i] {
            Node::Server(s) => match s.core.as_mut() {
                Some(core) => match core.handle_command(now, &body.to_string()) {
                    CommandOutcome::Answer(a) => a,
                    CommandOutcome::ReloadFromFile => {
                        serde_json::json!({ "result": 1, "text": "config-reload is not a peer command" })
                    }
                },
                None => serde_json::json!({ "result": 1, "text": "server not running" }),
            },
            _ => serde_json::json!({ "result": 1, "text": "not a server" }),
        };
        self.drain_server(i);
        self.rearm(i);
        answer
    }

    fn peer_answer(&mut self, i: usize, id: u64, result: Result<serde_json::Value, String>) {
        let now = self.clock_of(i);
        if let Node::Server(s) = &mut self.nodes[i]
            && let Some(core) = s.core.as_mut()
        {
            core.handle_peer_answer(now, id, result);
        }
        self.drain_server(i);
        self.rearm(i);
    }

    fn peer_failed(&mut self, i: usize, id: u64, why: &str) {
        self.note(i, why);
        self.peer_answer(i, id, Err(why.to_string()));
    }

    /// Frames a segment from host `from` to host `to` and puts it on the link.
    fn put_segment(&mut self, from: usize, to: usize, seg: &Segment<'_>, label: &str) {
        let now = self.now;
        let Ok(frame) = encode_tcp(self.macs[from], self.macs[to], seg) else {
            self.note(from, &format!("cannot frame {label}"));
            return;
        };
        let sent = self.segment.transmit_to(now, from, frame.as_slice(), &[]);
        if sent == dhcplab_vnet::Sent::NoCarrier {
            self.note(from, &format!("no carrier: {label} not sent"));
            return;
        }
        let fates = dhcplab_runner::fates(&sent, now);
        self.timeline.push(
            now,
            Entry::Frame {
                from,
                to: Dest::Host(to),
                frame,
                label: label.to_string(),
                fates,
            },
        );
    }

    fn suspended(&self, i: usize) -> bool {
        matches!(&self.nodes[i], Node::Server(s) if s.suspended)
    }

    /// Drops the exchanges server `i` asked for (it stopped): nobody waits for them.
    pub(crate) fn forget_exchanges(&mut self, i: usize) {
        self.exchanges.open.retain(|_, e| e.client != i);
    }
}
