//! The reference DHCPv4 client as a pure state machine, in the manner of Solaris dhcpagent(1M).
//!
//! It never reads a clock, a socket or a file. The driver (the agent daemon, or the simulator
//! in virtual time) feeds it received datagrams, timer expiries, host events (link down/up,
//! suspend/resume, release, drop, inform), ARP probe results and event program exits, each
//! with the time, and carries out the [`Action`]s it returns. [`Client::poll_timeout`] says
//! when it next needs the clock. Randomness (transaction ids, retransmission fuzz) comes from
//! the seed given to [`Client::new`], so a run in virtual time repeats exactly.
//!
//! States follow RFC 2131 section 4.4. Choices where RFC 2131 and dhcpagent leave room:
//! - the first DISCOVER leaves at once; offers are collected for `offer_wait` (dhcpagent's
//!   OFFER_WAIT, 3 s) after it, and the first one received is taken;
//! - lease times count from when the REQUEST that got the ACK was sent (RFC 2131 4.4.1);
//! - an INIT-REBOOT that gets no answer keeps a lease that has not expired (RFC 2131 4.4.2
//!   allows it); at start, with nothing configured yet, it starts over instead;
//! - a NAK that takes a configured address away runs DROP, so the event program hears of
//!   every address that goes.

mod backoff;
pub mod defaults;
pub mod hex;
pub mod inittab;
pub mod lease_file;
mod message;
mod program;

pub use backoff::{FIRST as FIRST_RETRANSMISSION, LONGEST as LONGEST_RETRANSMISSION};
pub use program::{Event, KILL_AFTER, Order, Programs, Signal, TERM_AFTER};

use dhcplab_rng::Rng;
use dhcplab_wire::v4::{Message, MessageType};
use message::Kind;
use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

/// How long the client waits after a DECLINE before it discovers again (RFC 2131 3.1.5).
pub const DECLINE_WAIT: Duration = Duration::from_secs(10);
/// The shortest wait between retransmissions in RENEWING and REBINDING (RFC 2131 4.4.5).
pub const RENEW_RETRY_MIN: Duration = Duration::from_secs(60);
/// Retransmissions of a REQUEST in REQUESTING before the client starts over.
const REQUEST_RETRIES: u32 = 4;
/// Retransmissions of an INIT-REBOOT REQUEST before the client stops waiting for an answer.
const REBOOT_RETRIES: u32 = 2;

/// How the client behaves, as /etc/default/dhcpagent says for one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The interface's hardware (Ethernet) address, for `chaddr`.
    pub hardware_address: [u8; 6],
    /// Option 61 as sent (CLIENT_ID), or none.
    pub client_id: Option<Vec<u8>>,
    /// Option 55 (PARAM_REQUEST_LIST).
    pub param_request_list: Vec<u8>,
    /// Option 12 sent in REQUESTs (REQUEST_HOSTNAME with the host's name), or none.
    pub hostname: Option<String>,
    /// Option 60, sent in every message.
    pub vendor_class: Vec<u8>,
    /// How long offers are collected after a DISCOVER (OFFER_WAIT).
    pub offer_wait: Duration,
    /// BOOTP instead of DHCP: one BOOTREQUEST, an infinite lease, no renewal.
    pub bootp: bool,
    /// Probe an offered address with ARP (RFC 5227) before using it.
    pub probe: bool,
    /// How long a run of the event program may last before it gets SIGTERM.
    pub program_term_after: Duration,
    /// How long after SIGTERM a run of the event program gets SIGKILL.
    pub program_kill_after: Duration,
    /// Emit [`Action::Log`]s. A driver that drops them (the simulator's virtual mode) turns
    /// this off, so their text is not made for nothing.
    pub log: bool,
}

impl Config {
    /// dhcpagent's defaults for an interface with `hardware_address`.
    pub fn new(hardware_address: [u8; 6]) -> Self {
        Self {
            hardware_address,
            client_id: None,
            param_request_list: vec![1, 3, 6, 12, 15, 28, 43],
            hostname: None,
            vendor_class: b"dhcplab".to_vec(),
            offer_wait: Duration::from_secs(3),
            bootp: false,
            probe: true,
            program_term_after: TERM_AFTER,
            program_kill_after: KILL_AFTER,
            log: true,
        }
    }
}

/// A lease the client holds, with the ACK it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The leased address (`yiaddr`).
    pub address: Ipv4Addr,
    /// The server (option 54; `siaddr` for BOOTP), where RENEWs and RELEASEs go.
    pub server: Ipv4Addr,
    /// The prefix length from option 1, else the address class's.
    pub prefix_len: u8,
    /// Routers from option 3.
    pub routers: Vec<Ipv4Addr>,
    /// When the REQUEST that got the ACK was sent: lease times count from here.
    pub acquired: SystemTime,
    /// Option 51; `None` for an infinite (permanent) lease.
    pub lease_time: Option<Duration>,
    /// When to renew, counted from `acquired`: option 58, else half the lease.
    pub t1: Duration,
    /// When to rebind, counted from `acquired`: option 59, else 7/8 of the lease.
    pub t2: Duration,
    /// The ACK (or BOOTREPLY) as received, shared by the copies of the lease (the one held,
    /// the one saved).
    pub ack: std::sync::Arc<[u8]>,
}

impl Lease {
    /// When the lease ends; `None` when it is permanent.
    pub fn expires(&self) -> Option<SystemTime> {
        self.lease_time.and_then(|d| self.acquired.checked_add(d))
    }

    /// True when the lease has ended at `now`.
    pub fn expired(&self, now: SystemTime) -> bool {
        self.expires().is_some_and(|e| now >= e)
    }

    /// The ACK decoded, for reading its options.
    pub fn message(&self) -> Option<Message> {
        Message::decode(&self.ack).ok()
    }
}

/// A datagram to send from port 68 to port 67.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// 255.255.255.255 (broadcast on the link, from 0.0.0.0 or the configured address) or a
    /// server's address (unicast from `source`).
    pub destination: Ipv4Addr,
    /// The source address: 0.0.0.0 before an address is configured.
    pub source: Ipv4Addr,
    /// The DHCP message.
    pub payload: Vec<u8>,
}

/// An address configuration to apply to or remove from the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// The address.
    pub address: Ipv4Addr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Default routers, in preference order.
    pub routers: Vec<Ipv4Addr>,
}

/// The category of a log message, as dhcpagent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The client cannot go on.
    Critical,
    /// Something failed.
    Error,
    /// Input was ignored or something looks wrong.
    Warning,
    /// A state change.
    Informational,
    /// Detail for debugging.
    Debug,
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a datagram.
    Transmit(Transmit),
    /// Check with ARP whether an address is in use; answer with [`Client::handle_probe`].
    Probe(Ipv4Addr),
    /// Configure the address on the interface.
    Configure(Configuration),
    /// Remove the address from the interface.
    Unconfigure(Configuration),
    /// Write the lease file (`IF.dhc`).
    SaveLease(Lease),
    /// Remove the lease file.
    ForgetLease,
    /// Run the event program with (interface, event); report its end with
    /// [`Client::handle_program_exit`].
    RunProgram {
        /// The run's number.
        run: u64,
        /// The event.
        event: Event,
    },
    /// Signal a run of the event program.
    SignalProgram {
        /// The run's number.
        run: u64,
        /// The signal.
        signal: Signal,
    },
    /// Log a message.
    Log {
        /// Its category.
        level: Level,
        /// The text.
        text: String,
    },
}

/// Something that happened to the host or was asked of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostEvent {
    /// The link lost carrier.
    LinkDown,
    /// The link has carrier again.
    LinkUp,
    /// The host goes to sleep: nothing happens until [`HostEvent::Resume`].
    Suspend,
    /// The host woke up.
    Resume,
    /// Give the lease back to the server and stop (RELEASE).
    Release,
    /// Stop using the lease without telling the server (DROP); the lease file is kept.
    Drop,
    /// Get configuration for an address configured by other means (DHCPINFORM).
    Inform(Ipv4Addr),
}

/// The client's state (RFC 2131 figure 5, plus where dhcpagent rests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// About to discover.
    Init,
    /// DISCOVER sent, collecting offers.
    Selecting,
    /// REQUEST for an offer sent.
    Requesting,
    /// Checking with ARP that the acknowledged address is free.
    Probing,
    /// Waiting after a DECLINE.
    Declined,
    /// Holding a lease, waiting for T1.
    Bound,
    /// Unicasting REQUESTs to the lease's server.
    Renewing,
    /// Broadcasting REQUESTs to any server.
    Rebinding,
    /// About to confirm a known lease.
    InitReboot,
    /// INIT-REBOOT REQUEST sent.
    Rebooting,
    /// DHCPINFORM sent.
    Informing,
    /// Done: released, dropped, or informed; nothing more happens.
    Idle,
}

/// The exchange in progress: one transaction id, the time it began (for `secs`), how many
/// times its message went out, and the `secs` of its last DISCOVER, which the REQUEST that
/// follows repeats (RFC 2131 4.4.1).
#[derive(Debug, Clone)]
struct Exchange {
    xid: u32,
    began: SystemTime,
    sent: u32,
    last_sent: SystemTime,
    discover_secs: u16,
}

/// An offer kept while selecting.
#[derive(Debug, Clone)]
struct Offer {
    address: Ipv4Addr,
    server: Ipv4Addr,
}

/// The DHCPv4 client of one interface.
#[derive(Debug)]
pub struct Client {
    config: Config,
    rng: Rng,
    state: State,
    exchange: Option<Exchange>,
    /// When the state's timer fires (retransmission, T1, T2, selection, end of a wait).
    timer: Option<SystemTime>,
    offers: Vec<Offer>,
    /// The offer being requested, or the lease being confirmed.
    requested: Option<Offer>,
    /// The ACK being probed, with when its REQUEST left.
    probing: Option<Lease>,
    lease: Option<Lease>,
    /// The address on the interface, if any.
    configured: Option<Configuration>,
    link_up: bool,
    suspended: bool,
    informing: Option<Ipv4Addr>,
    programs: Programs,
    actions: VecDeque<Action>,
    /// The event program runner's orders being taken, the buffer kept from one to the next.
    orders: VecDeque<Order>,
    ignored: u64,
}

impl Client {
    /// A client for one interface, starting at `now`: with a saved lease that has not
    /// expired it confirms it (INIT-REBOOT), else it discovers.
    pub fn new(config: Config, seed: u64, saved: Option<Lease>, now: SystemTime) -> Self {
        let programs = Programs::new(config.program_term_after, config.program_kill_after);
        let mut c = Self {
            config,
            rng: Rng::new(seed),
            state: State::Init,
            exchange: None,
            timer: None,
            offers: Vec::new(),
            requested: None,
            probing: None,
            lease: None,
            configured: None,
            link_up: true,
            suspended: false,
            informing: None,
            programs,
            actions: VecDeque::new(),
            orders: VecDeque::new(),
            ignored: 0,
        };
        match saved {
            Some(l) if !l.expired(now) && l.lease_time.is_some() && !c.config.bootp => {
                c.lease = Some(l);
                c.reboot(now);
            }
            Some(l) => {
                let why = if l.expired(now) {
                    "has expired"
                } else {
                    "is permanent (BOOTP), so it is asked for again"
                };
                c.log(
                    Level::Informational,
                    &format!("saved lease of {} {why}; discovering", l.address),
                );
                c.actions.push_back(Action::ForgetLease);
                c.discover(now);
            }
            None => c.discover(now),
        }
        c
    }

    /// Takes the saved lease's address as already on the interface (dhcpagent's `-a`, for a
    /// host whose boot configured it): confirming the lease then extends it (EXTEND) instead
    /// of configuring the address again, and an unanswered confirmation keeps it. The
    /// driver calls this right after [`Client::new`] when it sees the address there; false
    /// when there is no lease to adopt.
    pub fn adopt(&mut self) -> bool {
        let Some(l) = &self.lease else {
            return false;
        };
        self.configured = Some(Configuration {
            address: l.address,
            prefix_len: l.prefix_len,
            routers: l.routers.clone(),
        });
        true
    }

    /// The state now.
    pub fn state(&self) -> State {
        self.state
    }

    /// The lease held, if any (also while it is being renewed or confirmed).
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    /// Received datagrams ignored so far (not for this client, malformed, unexpected).
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// The next action for the driver.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Client::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        if self.suspended {
            return None;
        }
        let protocol = if self.link_up {
            self.timer
        } else {
            // Without carrier only the lease's end matters.
            self.lease.as_ref().and_then(Lease::expires)
        };
        match (protocol, self.programs.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        }
    }

    /// The time has come for a timer.
    pub fn handle_timeout(&mut self, now: SystemTime) {
        if self.suspended {
            return;
        }
        let mut orders = std::mem::take(&mut self.orders);
        self.programs.on_timeout(now, &mut orders);
        self.take(orders);
        if !self.link_up {
            if self.lease.as_ref().is_some_and(|l| l.expired(now)) {
                self.expire(now);
            }
            return;
        }
        if self.timer.is_some_and(|t| now >= t) {
            self.timer = None;
            self.on_timer(now);
        }
    }

    /// A run of the event program ended.
    pub fn handle_program_exit(&mut self, now: SystemTime, run: u64) {
        let mut orders = std::mem::take(&mut self.orders);
        self.programs.exited(now, run, &mut orders);
        self.take(orders);
    }

    /// The ARP probe of `address` found it in use (`in_use`) or free.
    pub fn handle_probe(&mut self, now: SystemTime, address: Ipv4Addr, in_use: bool) {
        if self.state != State::Probing {
            return;
        }
        let Some(lease) = self.probing.take() else {
            return;
        };
        if lease.address != address {
            self.probing = Some(lease);
            return;
        }
        if in_use {
            self.log(
                Level::Warning,
                &format!("{address} is in use on the link: declining it"),
            );
            let xid = self.rng.next_u32();
            let m = message::build(
                &self.config,
                Kind::Decline {
                    address,
                    server: lease.server,
                },
                xid,
                0,
            );
            self.send(Ipv4Addr::BROADCAST, Ipv4Addr::UNSPECIFIED, m);
            self.exchange = None;
            self.state = State::Declined;
            self.timer = Some(now + DECLINE_WAIT);
        } else {
            self.bind(now, lease);
        }
    }

    /// Something happened to the host, or the user asked for something.
    pub fn handle_host(&mut self, now: SystemTime, event: HostEvent) {
        match event {
            HostEvent::Suspend => self.suspended = true,
            HostEvent::Resume => {
                if std::mem::replace(&mut self.suspended, false) {
                    self.revalidate(now);
                }
            }
            HostEvent::LinkDown => {
                if self.link_up {
                    self.link_up = false;
                    self.log(Level::Informational, "link down");
                }
            }
            HostEvent::LinkUp => {
                if !self.link_up {
                    self.link_up = true;
                    self.log(Level::Informational, "link up");
                    self.revalidate(now);
                }
            }
            HostEvent::Release => self.release(now),
            HostEvent::Drop => {
                if self.lease.is_some() {
                    self.unconfigure();
                    self.event(now, Event::Drop);
                }
                self.rest();
            }
            HostEvent::Inform(_) if self.lease.is_some() => {
                self.log(Level::Error, "INFORM refused: the interface holds a lease");
            }
            HostEvent::Inform(address) => {
                self.informing = Some(address);
                self.lease = None;
                self.start_exchange(now);
                self.state = State::Informing;
                self.send_current(now);
            }
        }
    }

    /// A datagram arrived on port 68.
    pub fn handle_datagram(&mut self, now: SystemTime, payload: &[u8]) {
        if self.suspended || !self.link_up {
            return;
        }
        let m = match Message::decode(payload) {
            Ok(m) => m,
            Err(e) => return self.ignore(&format!("malformed reply: {e}")),
        };
        if m.op != Message::BOOTREPLY {
            return self.ignore("not a BOOTREPLY");
        }
        let Some(x) = &self.exchange else {
            return self.ignore("a reply with no exchange in progress");
        };
        if m.xid != x.xid {
            return self.ignore(&format!("xid {:#010x} is not ours", m.xid));
        }
        if m.htype != 1 || m.hardware_address() != self.config.hardware_address {
            return self.ignore("chaddr is not ours");
        }
        let kind = match m.message_type() {
            Ok(k) => k,
            Err(e) => return self.ignore(&format!("bad message type: {e}")),
        };
        let server = m.server_id().ok().flatten();
        match (kind, self.config.bootp) {
            (None, true) => self.on_bootreply(now, &m, payload),
            (None, false) => self.ignore("a BOOTP reply to a DHCP client"),
            (Some(k), _) if server.is_none() && k != MessageType::Nak => {
                self.ignore(&format!("{k:?} without a server identifier"))
            }
            (Some(MessageType::Offer), false) => {
                if let Some(server) = server {
                    self.on_offer(now, &m, server);
                }
            }
            (Some(MessageType::Ack), false) => {
                if let Some(server) = server {
                    self.on_ack(now, &m, server, payload);
                }
            }
            (Some(MessageType::Nak), false) => self.on_nak(now, server),
            (Some(k), _) => self.ignore(&format!("unexpected {k:?}")),
        }
    }

    fn on_timer(&mut self, now: SystemTime) {
        match self.state {
            State::Init | State::Declined => self.discover(now),
            State::Selecting => {
                if self.offers.is_empty() {
                    self.send_current(now);
                } else {
                    self.select(now);
                }
            }
            State::Requesting => {
                if self
                    .exchange
                    .as_ref()
                    .is_some_and(|x| x.sent > REQUEST_RETRIES)
                {
                    self.log(Level::Warning, "no answer to REQUEST: starting over");
                    self.discover(now);
                } else {
                    self.send_current(now);
                }
            }
            State::InitReboot => self.reboot(now),
            State::Rebooting => {
                if self
                    .exchange
                    .as_ref()
                    .is_some_and(|x| x.sent > REBOOT_RETRIES)
                {
                    self.reboot_unanswered(now);
                } else {
                    self.send_current(now);
                }
            }
            State::Bound => self.renew(now),
            State::Renewing | State::Rebinding => self.renewal_timer(now),
            State::Informing => self.send_current(now),
            State::Probing | State::Idle => {}
        }
    }

    /// Starts over: DISCOVER now (a BOOTREQUEST in BOOTP mode).
    fn discover(&mut self, now: SystemTime) {
        self.offers.clear();
        self.requested = None;
        self.probing = None;
        self.state = State::Selecting;
        self.start_exchange(now);
        self.send_current(now);
    }

    /// INIT-REBOOT: confirm the lease held with a broadcast REQUEST.
    fn reboot(&mut self, now: SystemTime) {
        let Some(l) = &self.lease else {
            return self.discover(now);
        };
        self.requested = Some(Offer {
            address: l.address,
            server: l.server,
        });
        self.state = State::Rebooting;
        self.start_exchange(now);
        self.send_current(now);
    }

    /// Back from sleep or link loss: a permanent lease stays; an expired one ends; any other
    /// is confirmed with the server (dhcpagent validates non-permanent leases on resume).
    fn revalidate(&mut self, now: SystemTime) {
        match self.state {
            State::Idle => return,
            State::Informing => return self.send_current(now),
            _ => {}
        }
        match &self.lease {
            Some(l) if l.lease_time.is_none() => {}
            Some(l) if l.expired(now) => self.expire(now),
            Some(_) => self.reboot(now),
            None => self.discover(now),
        }
    }

    /// No answer to INIT-REBOOT: keep a configured lease that still runs, else start over.
    fn reboot_unanswered(&mut self, now: SystemTime) {
        match (self.lease.clone(), &self.configured) {
            (Some(l), Some(_)) if !l.expired(now) => {
                self.log(
                    Level::Informational,
                    "no answer to INIT-REBOOT: keeping the lease until it ends",
                );
                self.exchange = None;
                self.arm_lease_timers(now, &l);
            }
            _ => {
                self.log(
                    Level::Informational,
                    "no answer to INIT-REBOOT: discovering",
                );
                if self.lease.take().is_some() && self.configured.is_none() {
                    self.actions.push_back(Action::ForgetLease);
                }
                self.discover(now);
            }
        }
    }

    fn on_offer(&mut self, now: SystemTime, m: &Message, server: Ipv4Addr) {
        if self.state != State::Selecting {
            return self.ignore("an OFFER when not selecting");
        }
        if m.yiaddr.is_unspecified() {
            return self.ignore("an OFFER without an address");
        }
        if self.config.log {
            self.log(
                Level::Debug,
                &format!("offer of {} from {server}", m.yiaddr),
            );
        }
        self.offers.push(Offer {
            address: m.yiaddr,
            server,
        });
        let select_at = self
            .exchange
            .as_ref()
            .map_or(now, |x| x.began + self.config.offer_wait);
        if now >= select_at {
            self.select(now);
        } else if self.offers.len() == 1 {
            self.timer = Some(select_at);
        }
    }

    /// Takes the first offer: REQUEST it, same transaction id, broadcast.
    fn select(&mut self, now: SystemTime) {
        let offer = self.offers.remove(0);
        self.offers.clear();
        self.requested = Some(offer);
        self.state = State::Requesting;
        if let Some(x) = self.exchange.as_mut() {
            x.sent = 0;
        }
        self.send_current(now);
    }

    fn on_ack(&mut self, now: SystemTime, m: &Message, server: Ipv4Addr, payload: &[u8]) {
        let acquired = self.exchange.as_ref().map_or(now, |x| x.last_sent);
        match self.state {
            State::Requesting | State::Rebooting => {
                let expected = self.requested.as_ref().map(|o| o.address);
                if expected != Some(m.yiaddr) {
                    return self.ignore(&format!(
                        "ACK for {} when {} was asked for",
                        m.yiaddr,
                        expected.unwrap_or(Ipv4Addr::UNSPECIFIED)
                    ));
                }
            }
            State::Renewing | State::Rebinding => {
                if self.lease.as_ref().map(|l| l.address) != Some(m.yiaddr) {
                    return self.ignore("ACK for another address while renewing");
                }
            }
            State::Informing => {
                self.exchange = None;
                self.timer = None;
                self.state = State::Idle;
                return self.event(now, Event::Inform);
            }
            _ => return self.ignore("an ACK with no request outstanding"),
        }
        let lease = lease_from(m, server, acquired, payload);
        let known = self
            .configured
            .as_ref()
            .is_some_and(|c| c.address == lease.address);
        self.probe_or_bind(now, lease, !known);
    }

    fn on_bootreply(&mut self, now: SystemTime, m: &Message, payload: &[u8]) {
        if self.state != State::Selecting || m.yiaddr.is_unspecified() {
            return self.ignore("an unexpected BOOTREPLY");
        }
        let server = m.server_id().ok().flatten().unwrap_or(m.siaddr);
        let acquired = self.exchange.as_ref().map_or(now, |x| x.last_sent);
        let mut lease = lease_from(m, server, acquired, payload);
        lease.lease_time = None;
        self.probe_or_bind(now, lease, true);
    }

    /// A new address is probed with ARP first when the configuration asks for it (`new`:
    /// not the address already configured); else the lease is taken at once.
    fn probe_or_bind(&mut self, now: SystemTime, lease: Lease, new: bool) {
        if self.config.probe && new {
            self.state = State::Probing;
            self.timer = None;
            self.actions.push_back(Action::Probe(lease.address));
            self.probing = Some(lease);
        } else {
            self.bind(now, lease);
        }
    }

    fn on_nak(&mut self, now: SystemTime, server: Option<Ipv4Addr>) {
        match self.state {
            State::Requesting | State::Rebooting | State::Renewing | State::Rebinding => {}
            _ => return self.ignore("a NAK with no request outstanding"),
        }
        self.log(
            Level::Warning,
            &format!(
                "NAK from {}: starting over",
                server.map_or("a server".to_string(), |s| s.to_string())
            ),
        );
        if self.configured.is_some() {
            self.unconfigure();
            self.event(now, Event::Drop);
        }
        if self.lease.take().is_some() {
            self.actions.push_back(Action::ForgetLease);
        }
        self.discover(now);
    }

    /// Takes `lease`: configure (when new), save, BOUND or EXTEND, timers.
    fn bind(&mut self, now: SystemTime, lease: Lease) {
        let wanted = Configuration {
            address: lease.address,
            prefix_len: lease.prefix_len,
            routers: lease.routers.clone(),
        };
        let extend = self.configured.as_ref() == Some(&wanted);
        if !extend {
            if self.configured.is_some() {
                self.unconfigure();
            }
            self.actions.push_back(Action::Configure(wanted.clone()));
            self.configured = Some(wanted);
        }
        self.actions.push_back(Action::SaveLease(lease.clone()));
        if self.config.log {
            self.log(
                Level::Informational,
                &format!(
                    "{} {} from {}{}",
                    if extend { "extended" } else { "bound to" },
                    lease.address,
                    lease.server,
                    lease
                        .lease_time
                        .map_or(", permanent".to_string(), |d| format!(
                            " for {} s",
                            d.as_secs()
                        ))
                ),
            );
        }
        self.exchange = None;
        self.requested = None;
        self.lease = Some(lease.clone());
        self.event(now, if extend { Event::Extend } else { Event::Bound });
        self.arm_lease_timers(now, &lease);
    }

    /// BOUND, RENEWING or REBINDING as `now` falls in the lease, with the matching timer.
    fn arm_lease_timers(&mut self, now: SystemTime, lease: &Lease) {
        if lease.lease_time.is_none() {
            self.state = State::Bound;
            self.timer = None;
            return;
        }
        let Some(t1) = lease.acquired.checked_add(lease.t1) else {
            self.state = State::Bound;
            self.timer = None;
            return;
        };
        if now < t1 {
            self.state = State::Bound;
            self.timer = Some(t1);
        } else {
            self.state = State::Bound;
            self.renew(now);
        }
    }

    /// T1: RENEWING, unicast to the lease's server.
    fn renew(&mut self, now: SystemTime) {
        self.state = State::Renewing;
        self.start_exchange(now);
        self.renewal_timer(now);
    }

    /// In RENEWING or REBINDING: move on at T2 or the lease's end, else (re)send and wait
    /// half the time left to the next of those, at least a minute (RFC 2131 4.4.5).
    fn renewal_timer(&mut self, now: SystemTime) {
        let Some(l) = self.lease.clone() else {
            return self.discover(now);
        };
        let (Some(expires), Some(t2)) = (l.expires(), l.acquired.checked_add(l.t2)) else {
            return self.arm_lease_timers(now, &l);
        };
        if now >= expires {
            return self.expire(now);
        }
        if self.state == State::Renewing && now >= t2 {
            self.state = State::Rebinding;
            self.start_exchange(now);
        }
        let limit = if self.state == State::Renewing {
            t2
        } else {
            expires
        };
        self.send_current(now);
        let left = limit.duration_since(now).unwrap_or(Duration::ZERO);
        let wait = (left / 2).max(RENEW_RETRY_MIN).min(left);
        self.timer = Some(now + wait);
    }

    /// The lease ended: the address goes, EXPIRE, and discovery starts over.
    fn expire(&mut self, now: SystemTime) {
        self.log(Level::Warning, "lease expired");
        self.unconfigure();
        self.lease = None;
        self.actions.push_back(Action::ForgetLease);
        self.event(now, Event::Expire);
        if self.link_up {
            self.discover(now);
        } else {
            self.state = State::Init;
            self.exchange = None;
            self.timer = None;
        }
    }

    fn release(&mut self, now: SystemTime) {
        if let (Some(l), Some(c)) = (self.lease.clone(), self.configured.clone()) {
            let xid = self.rng.next_u32();
            let m = message::build(
                &self.config,
                Kind::Release {
                    address: c.address,
                    server: l.server,
                },
                xid,
                0,
            );
            self.send(l.server, c.address, m);
            self.unconfigure();
            self.actions.push_back(Action::ForgetLease);
            self.lease = None;
            self.event(now, Event::Release);
        }
        self.rest();
    }

    fn rest(&mut self) {
        self.state = State::Idle;
        self.exchange = None;
        self.timer = None;
        self.lease = None;
    }

    fn unconfigure(&mut self) {
        if let Some(c) = self.configured.take() {
            self.actions.push_back(Action::Unconfigure(c));
        }
    }

    fn start_exchange(&mut self, now: SystemTime) {
        self.exchange = Some(Exchange {
            xid: self.rng.next_u32(),
            began: now,
            sent: 0,
            last_sent: now,
            discover_secs: 0,
        });
    }

    /// Sends the state's message (again) and arms the retransmission timer.
    fn send_current(&mut self, now: SystemTime) {
        if !self.link_up {
            return;
        }
        let Some(x) = self.exchange.clone() else {
            return;
        };
        let mut secs = u16::try_from(now.duration_since(x.began).unwrap_or_default().as_secs())
            .unwrap_or(u16::MAX);
        let source = self
            .configured
            .as_ref()
            .map_or(Ipv4Addr::UNSPECIFIED, |c| c.address);
        let (kind, destination, src) = match self.state {
            State::Selecting if self.config.bootp => (Kind::Bootp, Ipv4Addr::BROADCAST, source),
            State::Selecting => (
                Kind::Discover {
                    requested: self.lease.as_ref().map(|l| l.address),
                },
                Ipv4Addr::BROADCAST,
                Ipv4Addr::UNSPECIFIED,
            ),
            State::Requesting => match &self.requested {
                Some(o) => (
                    Kind::Select {
                        address: o.address,
                        server: o.server,
                    },
                    Ipv4Addr::BROADCAST,
                    Ipv4Addr::UNSPECIFIED,
                ),
                None => return,
            },
            State::Rebooting => match &self.requested {
                Some(o) => (
                    Kind::Reboot { address: o.address },
                    Ipv4Addr::BROADCAST,
                    Ipv4Addr::UNSPECIFIED,
                ),
                None => return,
            },
            State::Renewing => match &self.lease {
                Some(l) => (Kind::Renew { address: l.address }, l.server, l.address),
                None => return,
            },
            State::Rebinding => match &self.lease {
                Some(l) => (
                    Kind::Renew { address: l.address },
                    Ipv4Addr::BROADCAST,
                    l.address,
                ),
                None => return,
            },
            State::Informing => match self.informing {
                Some(a) => (Kind::Inform { address: a }, Ipv4Addr::BROADCAST, a),
                None => return,
            },
            _ => return,
        };
        match kind {
            // "The DHCPREQUEST message MUST use the same value in the DHCP message header's
            // 'secs' field ... as the original DHCPDISCOVER message" (RFC 2131 4.4.1).
            Kind::Select { .. } => secs = x.discover_secs,
            Kind::Discover { .. } => {
                if let Some(x) = self.exchange.as_mut() {
                    x.discover_secs = secs;
                }
            }
            _ => {}
        }
        let m = message::build(&self.config, kind, x.xid, secs);
        self.send(destination, src, m);
        let attempt = x.sent;
        if let Some(x) = self.exchange.as_mut() {
            x.sent += 1;
            x.last_sent = now;
        }
        if !matches!(self.state, State::Renewing | State::Rebinding) {
            self.timer = Some(now + backoff::delay(attempt, &mut self.rng));
        }
    }

    fn send(&mut self, destination: Ipv4Addr, source: Ipv4Addr, m: Message) {
        self.actions.push_back(Action::Transmit(Transmit {
            destination,
            source,
            payload: m.encode(),
        }));
    }

    fn event(&mut self, now: SystemTime, event: Event) {
        let mut orders = std::mem::take(&mut self.orders);
        self.programs.push(now, event, &mut orders);
        self.take(orders);
    }

    /// Turns the event program runner's orders into actions; keeps the emptied buffer for the
    /// next ones.
    fn take(&mut self, mut orders: VecDeque<Order>) {
        for o in orders.drain(..) {
            self.actions.push_back(match o {
                Order::Run { run, event } => Action::RunProgram { run, event },
                Order::Signal { run, signal } => Action::SignalProgram { run, signal },
            });
        }
        self.orders = orders;
    }

    fn ignore(&mut self, why: &str) {
        self.ignored += 1;
        self.log(Level::Warning, &format!("ignored: {why}"));
    }

    fn log(&mut self, level: Level, text: &str) {
        if !self.config.log {
            return;
        }
        self.actions.push_back(Action::Log {
            level,
            text: text.to_string(),
        });
    }
}

/// The lease an ACK gives: T1 and T2 from options 58/59 when they are sane (T1 < T2 < lease),
/// else 1/2 and 7/8 of the lease.
pub(crate) fn lease_from(
    m: &Message,
    server: Ipv4Addr,
    acquired: SystemTime,
    payload: &[u8],
) -> Lease {
    let lease_time = match m.lease_time().ok().flatten() {
        None | Some(u32::MAX) => None,
        Some(s) => Some(Duration::from_secs(u64::from(s))),
    };
    let (t1, t2) = match lease_time {
        None => (Duration::MAX, Duration::MAX),
        Some(d) => {
            let t1 = m
                .renewal_time()
                .ok()
                .flatten()
                .map(|s| Duration::from_secs(u64::from(s)));
            let t2 = m
                .rebinding_time()
                .ok()
                .flatten()
                .map(|s| Duration::from_secs(u64::from(s)));
            let t2 = t2.filter(|t| *t < d).unwrap_or(d * 7 / 8);
            let t1 = t1.filter(|t| *t < t2).unwrap_or((d / 2).min(t2));
            (t1, t2)
        }
    };
    let prefix_len = match m.subnet_mask().ok().flatten() {
        Some(mask)
            if u32::from(mask).leading_ones() > 0
                && u32::from(mask).leading_ones() + u32::from(mask).trailing_zeros() == 32 =>
        {
            u32::from(mask).leading_ones() as u8
        }
        _ => match m.yiaddr.octets()[0] {
            0..=127 => 8,
            128..=191 => 16,
            _ => 24,
        },
    };
    Lease {
        address: m.yiaddr,
        server,
        prefix_len,
        routers: m.routers().ok().flatten().unwrap_or_default(),
        acquired,
        lease_time,
        t1,
        t2,
        ack: payload.into(),
    }
}
