//! The client core against the reference server core on one virtual link, in virtual time:
//! every datagram is delivered at once, timers fire in order, the event program exits at once
//! unless told to hang, and ARP probes answer from a set of addresses in use.
#![allow(dead_code)]

use dhcplab_client::{Action, Client, Config, Event, HostEvent, Lease, Signal, State};
use dhcplab_server::{Datagram, Interface, Server};
use dhcplab_wire::v4::{Message, MessageType};
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Virtual time zero: 2027-01-15 08:00:00 UTC.
pub const T0: u64 = 1_800_000_000;
/// The client's hardware address.
pub const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];
/// The server's address.
pub const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// The time `secs` seconds after [`T0`].
pub fn at(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0) + Duration::from_secs_f64(secs)
}

/// Seconds since [`T0`], to the millisecond.
pub fn secs(t: SystemTime) -> f64 {
    let d = t.duration_since(UNIX_EPOCH).expect("after 1970") - Duration::from_secs(T0);
    (d.as_millis() as f64) / 1000.0
}

/// A server configuration: one subnet 192.0.2.0/24, pool .100-.109, the given lifetimes.
pub fn server_config(valid: u32, timers: Option<(u32, u32)>) -> String {
    let timers = timers.map_or(String::new(), |(t1, t2)| {
        format!(r#""renew-timer": {t1}, "rebind-timer": {t2},"#)
    });
    format!(
        r#"{{ "Dhcp4": {{
            "interfaces-config": {{ "interfaces": [ "eth0" ] }},
            "valid-lifetime": {valid}, {timers}
            "lease-database": {{ "type": "memfile", "name": "/nonexistent/leases4.csv", "lfc-interval": 0 }},
            "subnet4": [ {{ "id": 1, "subnet": "192.0.2.0/24", "pools": [ {{ "pool": "192.0.2.100 - 192.0.2.109" }} ],
                "option-data": [ {{ "name": "routers", "data": "192.0.2.1" }} ] }} ]
        }} }}"#
    )
}

/// A message seen on the link.
#[derive(Debug, Clone)]
pub struct Wire {
    /// Seconds since T0.
    pub at: f64,
    /// From the client (true) or the server.
    pub from_client: bool,
    /// Destination address.
    pub to: Ipv4Addr,
    /// The message.
    pub message: Message,
}

impl Wire {
    /// "DISCOVER", "REQUEST", ... or "BOOTREQUEST"/"BOOTREPLY".
    pub fn kind(&self) -> String {
        match self.message.message_type() {
            Ok(Some(k)) => format!("{k:?}").to_uppercase(),
            _ if self.from_client => "BOOTREQUEST".into(),
            _ => "BOOTREPLY".into(),
        }
    }
}

/// The link, the two cores, and what happened.
pub struct Lab {
    pub now: SystemTime,
    pub client: Client,
    pub server: Server,
    /// The server answers (false: it is cut off).
    pub server_up: bool,
    /// Addresses an ARP probe finds in use.
    pub in_use: BTreeSet<Ipv4Addr>,
    /// The event program never exits by itself.
    pub program_hangs: bool,
    pub wire: Vec<Wire>,
    pub events: Vec<(f64, Event)>,
    pub signals: Vec<(f64, u64, Signal)>,
    pub actions: Vec<(f64, Action)>,
    /// The address configured on the client's interface.
    pub configured: Option<Ipv4Addr>,
    /// The lease file's content.
    pub saved: Option<Lease>,
}

impl Lab {
    /// A lab at T0 with a server from `server_text` and a client from `config`, `seed` and a
    /// saved lease; the client's first actions are carried out.
    pub fn new(server_text: &str, config: Config, seed: u64, saved: Option<Lease>) -> Self {
        Self::start(server_text, config, seed, saved, true)
    }

    /// A lab whose server never answers, from the first message on.
    pub fn without_server(config: Config, seed: u64) -> Self {
        Self::start(&server_config(3600, None), config, seed, None, false)
    }

    fn start(
        server_text: &str,
        config: Config,
        seed: u64,
        saved: Option<Lease>,
        server_up: bool,
    ) -> Self {
        let now = at(0.0);
        let (cfg, json) = dhcplab_kea_config::dhcp4::parse_document(server_text)
            .unwrap_or_else(|e| panic!("server configuration: {e:?}"));
        let mut server = Server::new(cfg, json, Vec::new(), now).expect("server starts");
        server.attach(Interface {
            index: 1,
            name: "eth0".into(),
            address: SERVER,
            direct_response: true,
        });
        let client = Client::new(config, seed, saved.clone(), now);
        let mut lab = Self {
            now,
            client,
            server,
            server_up,
            in_use: BTreeSet::new(),
            program_hangs: false,
            wire: Vec::new(),
            events: Vec::new(),
            signals: Vec::new(),
            actions: Vec::new(),
            configured: None,
            saved,
        };
        lab.settle();
        lab
    }

    /// dhcpagent's defaults for [`MAC`].
    pub fn config() -> Config {
        Config::new(MAC)
    }

    /// A lab with the default client against a server of lease `valid` s and T1/T2 given.
    pub fn with_lease(valid: u32, timers: Option<(u32, u32)>) -> Self {
        Self::new(&server_config(valid, timers), Self::config(), 1, None)
    }

    /// Carries out every action until nothing is left at this instant.
    pub fn settle(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(a) = self.client.poll_action() {
                progressed = true;
                self.client_action(a);
            }
            while let Some(a) = self.server.poll_action() {
                progressed = true;
                if let dhcplab_server::Action::Transmit(t) = a {
                    let message = Message::decode(&t.payload).expect("server sends decodable");
                    self.wire.push(Wire {
                        at: secs(self.now),
                        from_client: false,
                        to: *t.destination.ip(),
                        message,
                    });
                    self.client.handle_datagram(self.now, &t.payload);
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn client_action(&mut self, a: Action) {
        let now = self.now;
        self.actions.push((secs(now), a.clone()));
        match a {
            Action::Transmit(t) => {
                let message = Message::decode(&t.payload).expect("client sends decodable");
                self.wire.push(Wire {
                    at: secs(now),
                    from_client: true,
                    to: t.destination,
                    message,
                });
                if self.server_up {
                    self.server.handle_datagram(
                        now,
                        Datagram {
                            interface: 1,
                            source: SocketAddrV4::new(t.source, 68),
                            destination: t.destination,
                            payload: &t.payload,
                        },
                    );
                }
            }
            Action::Probe(address) => {
                let in_use = self.in_use.contains(&address);
                self.client.handle_probe(now, address, in_use);
            }
            Action::Configure(c) => {
                assert_eq!(self.configured, None, "configured twice without removal");
                self.configured = Some(c.address);
            }
            Action::Unconfigure(c) => {
                assert_eq!(
                    self.configured,
                    Some(c.address),
                    "removed what was not there"
                );
                self.configured = None;
            }
            Action::SaveLease(l) => self.saved = Some(l),
            Action::ForgetLease => self.saved = None,
            Action::RunProgram { run, event } => {
                self.events.push((secs(now), event));
                if !self.program_hangs {
                    self.client.handle_program_exit(now, run);
                }
            }
            Action::SignalProgram { run, signal } => {
                self.signals.push((secs(now), run, signal));
                if signal == Signal::Kill {
                    self.client.handle_program_exit(now, run);
                }
            }
            Action::Log { .. } => {}
        }
    }

    /// Runs timers in order up to `until` (seconds since T0), the clock ending there.
    pub fn run_until(&mut self, until: f64) {
        let end = at(until);
        loop {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    if self.client.poll_timeout().is_some_and(|c| c <= self.now) {
                        self.client.handle_timeout(self.now);
                    }
                    if self.server.poll_timeout().is_some_and(|s| s <= self.now) {
                        self.server.handle_timeout(self.now);
                    }
                    self.settle();
                }
                _ => break,
            }
        }
        self.now = self.now.max(end);
    }

    /// A host event at `when` (seconds since T0), after running timers up to then.
    pub fn host(&mut self, when: f64, event: HostEvent) {
        self.run_until(when);
        self.client.handle_host(self.now, event);
        self.settle();
    }

    /// The client's messages: (time, kind, destination).
    pub fn sent(&self) -> Vec<(f64, String, Ipv4Addr)> {
        self.wire
            .iter()
            .filter(|w| w.from_client)
            .map(|w| (w.at, w.kind(), w.to))
            .collect()
    }

    /// The client's messages of one kind.
    pub fn sent_of(&self, kind: MessageType) -> Vec<&Wire> {
        self.wire
            .iter()
            .filter(|w| w.from_client && w.message.message_type() == Ok(Some(kind)))
            .collect()
    }

    /// The events' names in order.
    pub fn event_names(&self) -> Vec<&'static str> {
        self.events.iter().map(|(_, e)| e.name()).collect()
    }

    pub fn state(&self) -> State {
        self.client.state()
    }
}
