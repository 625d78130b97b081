//! A server in virtual time and scripted clients for the core's tests.
#![allow(dead_code)]

use dhcplab_server::{Action, Datagram, Interface, Lease4, Server, Transmit};
use dhcplab_wire::v4::{Message, MessageType, code};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Virtual time zero of every test: 2027-01-15 08:00:00 UTC.
pub const T0: u64 = 1_800_000_000;

/// The time `secs` seconds after [`T0`].
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

/// The server's interface: index 1, `eth0`, 192.0.2.1.
pub fn eth0() -> Interface {
    Interface {
        index: 1,
        name: "eth0".into(),
        address: Ipv4Addr::new(192, 0, 2, 1),
        direct_response: true,
    }
}

/// A Dhcp4 configuration with one subnet 192.0.2.0/24 (id 1) and the pool given, plus extra
/// subnet keys (a JSON fragment without braces, may be empty) and extra global keys.
pub fn config(pool: &str, subnet_extra: &str, global_extra: &str) -> String {
    let sep = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            format!(", {s}")
        }
    };
    format!(
        r#"{{ "Dhcp4": {{
            "interfaces-config": {{ "interfaces": [ "eth0" ] }},
            "valid-lifetime": 3600, "renew-timer": 1800, "rebind-timer": 3150,
            "lease-database": {{ "type": "memfile", "name": "/nonexistent/leases4.csv", "lfc-interval": 0 }},
            "subnet4": [ {{ "id": 1, "subnet": "192.0.2.0/24", "pools": [ {{ "pool": "{pool}" }} ],
                "option-data": [ {{ "name": "routers", "data": "192.0.2.1" }},
                                 {{ "name": "domain-name-servers", "data": "192.0.2.53" }},
                                 {{ "name": "ntp-servers", "data": "192.0.2.123" }} ]{} }} ]{}
        }} }}"#,
        sep(subnet_extra),
        sep(global_extra)
    )
}

/// A server from `text`, started at `now` with `leases`, serving [`eth0`].
pub fn server_with(text: &str, leases: Vec<Lease4>, now: SystemTime) -> Server {
    let (config, json) = dhcplab_kea_config::dhcp4::parse_document(text)
        .unwrap_or_else(|e| panic!("test configuration: {e:?}"));
    let mut s = Server::new(config, json, leases, now).expect("server starts");
    s.attach(eth0());
    s
}

/// A server from `text` with no leases, started at [`T0`].
pub fn server(text: &str) -> Server {
    server_with(text, Vec::new(), at(0))
}

/// What the server did with one input.
#[derive(Debug, Default)]
pub struct Outcome {
    pub sent: Vec<(Transmit, Message)>,
    pub rows: Vec<Lease4>,
    pub other: Vec<Action>,
}

impl Outcome {
    /// The one reply, or a panic that shows what happened instead.
    pub fn reply(&self) -> &(Transmit, Message) {
        assert_eq!(self.sent.len(), 1, "expected one reply, got {self:?}");
        &self.sent[0]
    }

    pub fn silent(&self) -> bool {
        self.sent.is_empty()
    }
}

/// Drains the server's actions, checking that every row comes before the reply it covers.
pub fn drain(server: &mut Server) -> Outcome {
    let mut out = Outcome::default();
    while let Some(a) = server.poll_action() {
        match a {
            Action::Transmit(t) => {
                let m = Message::decode(&t.payload).expect("the server sends decodable messages");
                out.sent.push((t, m));
            }
            Action::Persist(l) => {
                assert!(out.sent.is_empty(), "a row after the reply it covers");
                out.rows.push(l)
            }
            other => out.other.push(other),
        }
    }
    out
}

/// Feeds `msg` from `source` (to the broadcast address) at `now`.
pub fn send_from(
    server: &mut Server,
    now: SystemTime,
    msg: &Message,
    source: SocketAddrV4,
) -> Outcome {
    let bytes = msg.encode();
    server.handle_datagram(
        now,
        Datagram {
            interface: 1,
            source,
            destination: Ipv4Addr::BROADCAST,
            payload: &bytes,
        },
    );
    drain(server)
}

/// Feeds `msg` from a client without an address at `now`.
pub fn send(server: &mut Server, now: SystemTime, msg: &Message) -> Outcome {
    let source = if msg.ciaddr == Ipv4Addr::UNSPECIFIED {
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68)
    } else {
        SocketAddrV4::new(msg.ciaddr, 68)
    };
    send_from(server, now, msg, source)
}

/// A scripted client.
#[derive(Debug, Clone)]
pub struct Client {
    pub mac: [u8; 6],
    pub client_id: Option<Vec<u8>>,
    pub xid: u32,
}

impl Client {
    /// A client with MAC 02:00:00:00:00:nn and no client identifier.
    pub fn new(n: u8) -> Self {
        Self {
            mac: [2, 0, 0, 0, 0, n],
            client_id: None,
            xid: 0x1000 + u32::from(n),
        }
    }

    /// The same client, sending option 61 (type 1 + MAC).
    pub fn with_client_id(mut self) -> Self {
        let mut id = vec![1];
        id.extend_from_slice(&self.mac);
        self.client_id = Some(id);
        self
    }

    pub fn message(&self, kind: MessageType) -> Message {
        let mut m = Message::new(Message::BOOTREQUEST, self.xid, self.mac);
        m.options
            .push(code::MESSAGE_TYPE, &[u8::from(kind)])
            .expect("53");
        if let Some(id) = &self.client_id {
            m.options.push(code::CLIENT_ID, id).expect("61");
        }
        m.options
            .push(code::PARAMETER_REQUEST_LIST, &[1, 3, 6, 42, 51, 54, 58, 59])
            .expect("55");
        m
    }

    pub fn discover(&self) -> Message {
        self.message(MessageType::Discover)
    }

    pub fn discover_requesting(&self, address: Ipv4Addr) -> Message {
        let mut m = self.discover();
        m.options
            .push(code::REQUESTED_IP, &address.octets())
            .expect("50");
        m
    }

    /// REQUEST in SELECTING for `address` from `server_id`.
    pub fn select(&self, address: Ipv4Addr, server_id: Ipv4Addr) -> Message {
        let mut m = self.message(MessageType::Request);
        m.options
            .push(code::REQUESTED_IP, &address.octets())
            .expect("50");
        m.options
            .push(code::SERVER_ID, &server_id.octets())
            .expect("54");
        m
    }

    /// REQUEST in INIT-REBOOT.
    pub fn reboot(&self, address: Ipv4Addr) -> Message {
        let mut m = self.message(MessageType::Request);
        m.options
            .push(code::REQUESTED_IP, &address.octets())
            .expect("50");
        m
    }

    /// REQUEST in RENEWING or REBINDING (ciaddr set).
    pub fn renew(&self, address: Ipv4Addr) -> Message {
        let mut m = self.message(MessageType::Request);
        m.ciaddr = address;
        m
    }

    pub fn release(&self, address: Ipv4Addr, server_id: Ipv4Addr) -> Message {
        let mut m = self.message(MessageType::Release);
        m.ciaddr = address;
        m.options
            .push(code::SERVER_ID, &server_id.octets())
            .expect("54");
        m
    }

    pub fn decline(&self, address: Ipv4Addr, server_id: Ipv4Addr) -> Message {
        let mut m = self.message(MessageType::Decline);
        m.options
            .push(code::REQUESTED_IP, &address.octets())
            .expect("50");
        m.options
            .push(code::SERVER_ID, &server_id.octets())
            .expect("54");
        m
    }

    pub fn inform(&self, address: Ipv4Addr) -> Message {
        let mut m = self.message(MessageType::Inform);
        m.ciaddr = address;
        m
    }

    /// DISCOVER, then REQUEST of the offered address; returns the ACK.
    pub fn dora(&self, server: &mut Server, now: SystemTime) -> Message {
        let offer = send(server, now, &self.discover());
        let (_, o) = offer.reply();
        assert_eq!(o.message_type(), Ok(Some(MessageType::Offer)));
        let sid = o.server_id().expect("54").expect("server id");
        let ack = send(server, now, &self.select(o.yiaddr, sid));
        let (_, a) = ack.reply();
        assert_eq!(a.message_type(), Ok(Some(MessageType::Ack)), "{a:?}");
        a.clone()
    }
}

/// The codes of a message's options in wire order.
pub fn codes(m: &Message) -> Vec<u8> {
    m.options().map(|o| o.code).collect()
}
