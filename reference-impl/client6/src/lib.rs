//! The reference DHCPv6 client (RFC 8415) as a pure state machine, in the manner of Solaris
//! dhcpagent(1M).
//!
//! Like the DHCPv4 core (`dhcplab-client`) it never reads a clock, a socket or a file. The
//! driver feeds it received datagrams, timer expiries and host events (link down/up,
//! suspend/resume, release, drop, a duplicate address found by DAD), each with the time, and
//! carries out the [`Action`]s it returns; [`Client::poll_timeout`] says when it next needs the
//! clock. Transaction ids, the initial delays and the retransmission fuzz (RAND) come from the
//! seed given to [`Client::new`]. The event program runs through the v4 client's supervisor
//! ([`dhcplab_client::Programs`]), with dhcpagent's v6 event names.
//!
//! Exchanges retransmit exactly as RFC 8415 section 15 says with the parameters of 7.6 (see
//! [`timing`]). Choices where RFC 8415 and dhcpagent leave room:
//! - every Solicit, Confirm and Information-request exchange starts after its random delay
//!   (SOL_MAX_DELAY, CNF_MAX_DELAY, INF_MAX_DELAY), not only the first on the interface;
//! - lifetimes, T1 and T2 count from when the Reply arrives;
//! - Renew and Rebind carry the IAs whose T1 has passed (per-IA timers); Renew's MRD ends at
//!   the earliest T2 among them, Rebind's at the latest valid lifetime among them;
//! - an IA that a Renew or Rebind reply answers with NoBinding is asked for again with a
//!   Request (keeping its leases as hints); while a held IA is left out of the reply, or
//!   answered with nothing the client can take, the Renew or Rebind goes on retransmitting
//!   as if no reply had come, and EXTEND6 waits (RFC 8415 18.2.10.1: the client MUST
//!   rate-limit and MAY wait for the normal retransmission; dhcpagent's dhcp_bound: "lease not
//!   updated; allow retransmit"); one answered with NoAddrsAvail or
//!   NoPrefixAvail loses its leases at once and is asked for again with a Request, without
//!   hints; a Request reply with NoAddrsAvail/NoPrefixAvail for an IA gives that IA up;
//! - when every Advertise said NoAddrsAvail (or a Request got nothing), the client turns to an
//!   Information-request (INFORM6) and solicits again when the information refresh time ends;
//! - a Confirm with no answer keeps the leases (RFC 8415 18.2.3); at start, with a saved
//!   binding, the leases are then configured; a Confirm answered Success or unanswered gives
//!   BOUND6, after link up and resume too, as dhcpagent's INIT_REBOOT state does;
//! - a binding with any delegated prefix is re-validated with Rebind, not Confirm, with the
//!   Confirm's retransmission parameters, and with no answer its leases are kept as after an
//!   unanswered Confirm (RFC 8415 18.2.12);
//! - RELEASE6 runs when the Release exchange ends (reply, or REL_MAX_RC transmissions); the
//!   addresses go when it starts (RFC 8415 18.2.7 says stop using them at once);
//! - BOUND6 waits, as dhcpagent's PRE_BOUND state does (illumos bound.c, dhcp_bound then
//!   dhcp_bound_complete once no LIF waits for DAD), until duplicate address detection has
//!   finished on every address just configured: the driver reports each with
//!   [`HostEvent::DadDone`] or [`HostEvent::Duplicate`], and an address with no report after
//!   [`Config::dad_timeout`] counts as unique. A duplicate found then is declined without
//!   any event; BOUND6 comes for the addresses left, or, with none left, the client solicits
//!   again once the Decline is answered;
//! - leases removed while others remain give LOSS6; the last ones going give EXPIRE6 when they
//!   expired or the server took them, DROP6 when the client dropped them (drop command,
//!   NotOnLink, a duplicate address found after BOUND6). Leases that BOUND6 never announced
//!   give no LOSS6, EXPIRE6 or DROP6 when the server or DAD takes them; a drop command gives
//!   DROP6 whatever the state, as dhcpagent's dhcp_drop.

mod binding;
pub mod inittab6;
pub mod lease_file;
mod message;
pub mod timing;

pub use binding::{Binding, IaBinding, IaKind, Lease6};

pub use dhcplab_client::{Event, KILL_AFTER, Level, Order, Signal, TERM_AFTER};

use binding::{apply_ia, config_of, describe, held_ia, hints, holds, latest_valid, take_ia};
use dhcplab_client::Programs;
use dhcplab_rng::Rng;
use dhcplab_wire::v6::{Duid, MessageType};
use message::{Answer, IaOut, Outgoing};
use std::collections::VecDeque;
use std::net::Ipv6Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use timing::Params;

/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 7.1), where the client multicasts.
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// Status codes of RFC 8415 21.13 the client acts on.
pub mod status {
    /// Success.
    pub const SUCCESS: u16 = 0;
    /// Failure, reason unspecified.
    pub const UNSPEC_FAIL: u16 = 1;
    /// The server has no addresses for the IA.
    pub const NO_ADDRS_AVAIL: u16 = 2;
    /// The client's binding is unknown to the server.
    pub const NO_BINDING: u16 = 3;
    /// The prefix is not appropriate for the link.
    pub const NOT_ON_LINK: u16 = 4;
    /// The client must send by multicast.
    pub const USE_MULTICAST: u16 = 5;
    /// The server has no prefixes for the IA_PD.
    pub const NO_PREFIX_AVAIL: u16 = 6;
}

/// Seconds from 1970-01-01 to 2000-01-01, where DUID-LLT time counts from.
const DUID_EPOCH: Duration = Duration::from_secs(946_684_800);

/// How the client behaves on one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The interface's hardware (Ethernet) address, for a DUID-LLT when none is given.
    pub hardware_address: [u8; 6],
    /// The interface's link-local address, the source of multicast messages.
    pub link_local: Ipv6Addr,
    /// The DUID the driver keeps; `None` makes the client create a DUID-LLT and ask for it to
    /// be saved ([`Action::SaveDuid`]).
    pub duid: Option<Duid>,
    /// The IAIDs of the IA_NAs to ask for, one IA_NA each (none: no addresses).
    pub na_iaids: Vec<u32>,
    /// The IAIDs of the IA_PDs to ask for, one IA_PD each (none: no prefixes).
    pub pd_iaids: Vec<u32>,
    /// Ask for rapid commit (a Reply to the Solicit binds at once).
    pub rapid_commit: bool,
    /// The options asked for in the ORO (the codes RFC 8415 requires are added).
    pub oro: Vec<u16>,
    /// Only ask for configuration (Information-request), no addresses or prefixes.
    pub information_only: bool,
    /// How long a run of the event program may last before it gets SIGTERM.
    pub program_term_after: Duration,
    /// How long after SIGTERM a run of the event program gets SIGKILL.
    pub program_kill_after: Duration,
    /// How long BOUND6 waits for the driver's word on duplicate address detection
    /// ([`HostEvent::DadDone`], [`HostEvent::Duplicate`]) for an address just configured
    /// before taking the address as unique; zero for not waiting at all.
    pub dad_timeout: Duration,
}

/// The wait for DAD's outcome [`Config::new`] sets: Linux's DAD with its defaults (one
/// Neighbor Solicitation after a random delay of up to 1 s, then RetransTimer 1 s; RFC 4862
/// 5.4) is over within 2 s, so 3 s leaves it room.
pub const DAD_TIMEOUT: Duration = Duration::from_secs(3);

impl Config {
    /// Defaults for an interface with `hardware_address`: one IA_NA whose IAID comes from the
    /// address ([`default_iaid`]), no IA_PD, no rapid commit, ORO DNS servers (23) and domain
    /// search list (24), the EUI-64 link-local address.
    pub fn new(hardware_address: [u8; 6]) -> Self {
        Self {
            hardware_address,
            link_local: link_local(hardware_address),
            duid: None,
            na_iaids: vec![default_iaid(hardware_address)],
            pd_iaids: Vec::new(),
            rapid_commit: false,
            oro: vec![
                dhcplab_wire::v6::code::DNS_SERVERS,
                dhcplab_wire::v6::code::DOMAIN_LIST,
            ],
            information_only: false,
            program_term_after: TERM_AFTER,
            program_kill_after: KILL_AFTER,
            dad_timeout: DAD_TIMEOUT,
        }
    }
}

/// The IAID an interface gets unless the driver keeps another: the hardware address's last
/// four bytes, stable across restarts as RFC 8415 12 asks.
pub fn default_iaid(hardware_address: [u8; 6]) -> u32 {
    let [_, _, a, b, c, d] = hardware_address;
    u32::from_be_bytes([a, b, c, d])
}

/// The EUI-64 link-local address of `hardware_address` (RFC 4291 appendix A).
pub fn link_local(hardware_address: [u8; 6]) -> Ipv6Addr {
    let [a, b, c, d, e, f] = hardware_address;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        a ^ 0x02,
        b,
        c,
        0xff,
        0xfe,
        d,
        e,
        f,
    ])
}

/// The DUID-LLT (RFC 8415 11.2) for Ethernet `hardware_address` made at `now`.
pub fn duid_llt(hardware_address: [u8; 6], now: SystemTime) -> Duid {
    let since = now
        .duration_since(UNIX_EPOCH + DUID_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Duid::Llt {
        htype: 1,
        time: (since % (1 << 32)) as u32,
        addr: hardware_address.to_vec(),
    }
}

/// A datagram to send from port 546 to port 547.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The link-local address, or (to a server's unicast address) an address the client holds.
    pub source: Ipv6Addr,
    /// ff02::1:2, or the server's address from the Server Unicast option.
    pub destination: Ipv6Addr,
    /// The DHCPv6 message.
    pub payload: Vec<u8>,
}

/// An address (/128) or delegated prefix to add to or remove from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// An address (IA_NA) or a delegated prefix (IA_PD).
    pub kind: IaKind,
    /// The address or prefix.
    pub address: Ipv6Addr,
    /// 128 for an address.
    pub prefix_len: u8,
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a datagram.
    Transmit(Transmit),
    /// Add the address or prefix (then run DAD on an address; report a duplicate with
    /// [`HostEvent::Duplicate`]).
    Configure(Configuration),
    /// Remove the address or prefix.
    Unconfigure(Configuration),
    /// Write the binding file (see [`lease_file`]).
    SaveBinding(Binding),
    /// Remove the binding file.
    ForgetBinding,
    /// Keep this DUID and give it back in [`Config::duid`] from now on.
    SaveDuid(Duid),
    /// Run the event program with (interface, event), or signal a run, as the v4 client's
    /// supervisor orders; report a run's end with [`Client::handle_program_exit`].
    Program(Order),
    /// Log a message.
    Log {
        /// Its category, as dhcpagent's.
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
    /// The link has carrier again: Confirm (or Rebind) what is held.
    LinkUp,
    /// The host goes to sleep: nothing happens until [`HostEvent::Resume`].
    Suspend,
    /// The host woke up: Confirm (or Rebind) what is held.
    Resume,
    /// Give everything back to the server (Release) and stop.
    Release,
    /// Stop using everything without telling the server; the binding file is kept.
    Drop,
    /// DAD found this configured address in use: Decline it.
    Duplicate(Ipv6Addr),
    /// DAD on this configured address is over and found no other holder (Linux: the address
    /// lost IFA_F_TENTATIVE). Reports for addresses the client does not wait on are ignored.
    DadDone(Ipv6Addr),
}

/// The client's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the link before starting over.
    Init,
    /// Solicit sent (or about to be), collecting Advertises.
    Soliciting,
    /// Request sent.
    Requesting,
    /// Holding a binding, waiting for T1.
    Bound,
    /// Renew sent to the binding's server.
    Renewing,
    /// Rebind sent to any server.
    Rebinding,
    /// Confirm sent after link up, resume or start.
    Confirming,
    /// Release sent.
    Releasing,
    /// Decline sent.
    Declining,
    /// Information-request sent.
    Informing,
    /// Configuration obtained by Information-request; waiting for the refresh time.
    Informed,
    /// Done: released or dropped; nothing more happens.
    Idle,
}

impl State {
    /// The state's name, for logs and the simulator.
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "Init",
            State::Soliciting => "Soliciting",
            State::Requesting => "Requesting",
            State::Bound => "Bound",
            State::Renewing => "Renewing",
            State::Rebinding => "Rebinding",
            State::Confirming => "Confirming",
            State::Releasing => "Releasing",
            State::Declining => "Declining",
            State::Informing => "Informing",
            State::Informed => "Informed",
            State::Idle => "Idle",
        }
    }
}

/// The kind of exchange in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Solicit,
    Request,
    Confirm,
    Renew,
    Rebind,
    Release,
    Decline,
    InformationRequest,
}

impl Kind {
    fn msg_type(self) -> MessageType {
        match self {
            Kind::Solicit => MessageType::SOLICIT,
            Kind::Request => MessageType::REQUEST,
            Kind::Confirm => MessageType::CONFIRM,
            Kind::Renew => MessageType::RENEW,
            Kind::Rebind => MessageType::REBIND,
            Kind::Release => MessageType::RELEASE,
            Kind::Decline => MessageType::DECLINE,
            Kind::InformationRequest => MessageType::INFORMATION_REQUEST,
        }
    }

    fn state(self) -> State {
        match self {
            Kind::Solicit => State::Soliciting,
            Kind::Request => State::Requesting,
            Kind::Confirm => State::Confirming,
            Kind::Renew => State::Renewing,
            Kind::Rebind => State::Rebinding,
            Kind::Release => State::Releasing,
            Kind::Decline => State::Declining,
            Kind::InformationRequest => State::Informing,
        }
    }

    /// Whether the message carries an ORO (RFC 8415 18.2.1, .2, .4, .5, .6).
    fn has_oro(self) -> bool {
        matches!(
            self,
            Kind::Solicit | Kind::Request | Kind::Renew | Kind::Rebind | Kind::InformationRequest
        )
    }
}

/// One message exchange: a transaction id, its IAs, and where retransmission stands.
#[derive(Debug, Clone)]
struct Exchange {
    kind: Kind,
    xid: u32,
    params: Params,
    ias: Vec<IaOut>,
    server_id: Option<Vec<u8>>,
    unicast: Option<Ipv6Addr>,
    /// The first transmission's time (elapsed time counts from it).
    began: Option<SystemTime>,
    /// When the first RT ends (Solicit: Advertises are collected until then).
    first_rt_end: Option<SystemTime>,
    rt: Duration,
    sent: u32,
    /// The next transmission, or the end of the wait after the last.
    next: SystemTime,
    /// MRD's end, once known.
    deadline: Option<SystemTime>,
}

/// The DHCPv6 client of one interface.
#[derive(Debug)]
pub struct Client {
    config: Config,
    duid: Vec<u8>,
    rng: Rng,
    state: State,
    exchange: Option<Exchange>,
    binding: Option<Binding>,
    /// What is on the interface.
    configured: Vec<Configuration>,
    /// BOUND6 was given for the binding held.
    announced: bool,
    /// Addresses configured before BOUND6 whose DAD has not been reported yet, each with
    /// when it counts as unique anyway.
    tentative: Vec<(Ipv6Addr, SystemTime)>,
    /// The best Advertise so far in this Solicit exchange.
    best: Option<Answer>,
    /// An Advertise with no address or prefix came in this Solicit exchange.
    no_addrs: bool,
    refresh_at: Option<SystemTime>,
    /// The Reply to the last Information-request.
    informed: Option<Vec<u8>>,
    solicit: Params,
    inform: Params,
    link_up: bool,
    suspended: bool,
    programs: Programs,
    actions: VecDeque<Action>,
    ignored: u64,
}

impl Client {
    /// A client for one interface, starting at `now`. With a saved binding that still has
    /// leases it confirms them (or rebinds, with prefixes); else it solicits (or sends an
    /// Information-request in information-only mode).
    pub fn new(config: Config, seed: u64, saved: Option<Binding>, now: SystemTime) -> Self {
        let programs = Programs::new(config.program_term_after, config.program_kill_after);
        let mut actions = VecDeque::new();
        let duid = match &config.duid {
            Some(d) => d.clone(),
            None => {
                let d = duid_llt(config.hardware_address, now);
                actions.push_back(Action::SaveDuid(d.clone()));
                d
            }
        };
        let mut c = Self {
            config,
            duid: duid.to_bytes(),
            rng: Rng::new(seed),
            state: State::Init,
            exchange: None,
            binding: None,
            configured: Vec::new(),
            announced: false,
            tentative: Vec::new(),
            best: None,
            no_addrs: false,
            refresh_at: None,
            informed: None,
            solicit: timing::SOLICIT,
            inform: timing::INFORMATION_REQUEST,
            link_up: true,
            suspended: false,
            programs,
            actions,
            ignored: 0,
        };
        if c.config.information_only {
            c.start_inform(now);
            return c;
        }
        if let Some(mut b) = saved {
            for ia in &mut b.ias {
                ia.leases.retain(|l| l.valid_until.is_none_or(|v| v > now));
            }
            b.ias.retain(|ia| !ia.leases.is_empty());
            if b.is_empty() {
                c.log(
                    Level::Informational,
                    "saved binding has expired; soliciting",
                );
                c.actions.push_back(Action::ForgetBinding);
            } else {
                c.binding = Some(b);
                c.revalidate(now);
                return c;
            }
        }
        c.solicit(now);
        c
    }

    /// The last Reply that carried configuration, as received: the one that gave or last
    /// extended the binding held, else the answer to the last Information-request. This is
    /// what `dhcplab info -v6` reads options from (dhcpinfo answers from the last Reply).
    pub fn last_reply(&self) -> Option<&[u8]> {
        self.binding
            .as_ref()
            .and_then(|b| b.reply.as_deref())
            .or(self.informed.as_deref())
    }

    /// The state now.
    pub fn state(&self) -> State {
        self.state
    }

    /// The binding held (also while it is renewed or confirmed).
    pub fn binding(&self) -> Option<&Binding> {
        self.binding.as_ref()
    }

    /// The addresses and prefixes on the interface now.
    pub fn configured(&self) -> &[Configuration] {
        &self.configured
    }

    /// The DUID of the server the binding is with.
    pub fn server_duid(&self) -> Option<Duid> {
        self.binding
            .as_ref()
            .and_then(|b| Duid::parse(&b.server_id).ok())
    }

    /// The client's DUID, as sent in the Client Identifier option.
    pub fn duid(&self) -> &[u8] {
        &self.duid
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
        let expiry = self
            .binding
            .as_ref()
            .and_then(|b| b.leases().filter_map(|(_, _, l)| l.valid_until).min());
        let mut protocol = None;
        if self.link_up {
            protocol = match (&self.exchange, self.state) {
                (Some(x), _) => Some(x.next),
                (None, State::Bound) => self.next_renewal(),
                (None, State::Informed) => self.refresh_at,
                _ => None,
            };
        }
        let dad = self.tentative.iter().map(|(_, until)| *until).min();
        [expiry, protocol, dad, self.programs.deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The time has come for a timer.
    pub fn handle_timeout(&mut self, now: SystemTime) {
        if self.suspended {
            return;
        }
        let mut orders = VecDeque::new();
        self.programs.on_timeout(now, &mut orders);
        self.take(orders);
        self.expire_due(now);
        let waited: Vec<Ipv6Addr> = self
            .tentative
            .iter()
            .filter(|(_, until)| now >= *until)
            .map(|(a, _)| *a)
            .collect();
        for address in waited {
            self.log(
                Level::Informational,
                &format!("no DAD result for {address}: taking it as unique"),
            );
            self.dad_done(now, address);
        }
        if !self.link_up {
            return;
        }
        if self.exchange.as_ref().is_some_and(|x| now >= x.next) {
            return self.on_exchange_timer(now);
        }
        match self.state {
            State::Bound
                if self.exchange.is_none() && self.next_renewal().is_some_and(|t| now >= t) =>
            {
                self.start_renewal(now);
            }
            State::Informed if self.refresh_at.is_some_and(|t| now >= t) => {
                self.refresh_at = None;
                if self.config.information_only {
                    self.start_inform(now);
                } else {
                    self.solicit(now);
                }
            }
            _ => {}
        }
    }

    /// A run of the event program ended.
    pub fn handle_program_exit(&mut self, now: SystemTime, run: u64) {
        let mut orders = VecDeque::new();
        self.programs.exited(now, run, &mut orders);
        self.take(orders);
    }

    /// Something happened to the host, or the user asked for something.
    pub fn handle_host(&mut self, now: SystemTime, event: HostEvent) {
        match event {
            HostEvent::Suspend => self.suspended = true,
            HostEvent::Resume => {
                if std::mem::replace(&mut self.suspended, false) {
                    self.expire_due(now);
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
                    self.expire_due(now);
                    self.revalidate(now);
                }
            }
            HostEvent::Release => self.release(now),
            HostEvent::Drop => {
                self.remove_all(now, Event::Drop6, false);
                self.rest();
            }
            HostEvent::Duplicate(address) => self.decline(now, address),
            HostEvent::DadDone(address) => self.dad_done(now, address),
        }
    }

    /// A datagram arrived on port 546.
    pub fn handle_datagram(&mut self, now: SystemTime, payload: &[u8]) {
        if self.suspended || !self.link_up {
            return;
        }
        let Some(x) = self.exchange.clone() else {
            return self.ignore("a message with no exchange in progress");
        };
        let a = match message::read(payload, &self.duid) {
            Ok(a) => a,
            Err(why) => return self.ignore(&why),
        };
        if a.xid != x.xid || x.sent == 0 {
            return self.ignore(&format!("transaction id {:#08x} is not ours", a.xid));
        }
        if let Some(s) = &x.server_id
            && x.kind != Kind::Decline
            && x.kind != Kind::Release
            && *s != a.server_id
        {
            return self.ignore("a reply from another server");
        }
        self.take_max_rt(&a);
        match (x.kind, a.msg_type) {
            (Kind::Solicit, MessageType::ADVERTISE) => self.on_advertise(now, a),
            (Kind::Solicit, MessageType::REPLY) if self.config.rapid_commit && a.rapid_commit => {
                self.on_reply(now, &x, a, payload)
            }
            (Kind::Request | Kind::Renew | Kind::Rebind, MessageType::REPLY) => {
                self.on_reply(now, &x, a, payload)
            }
            (Kind::Confirm, MessageType::REPLY) => self.on_confirm_reply(now, &a),
            (Kind::Release, MessageType::REPLY) => self.finish_release(now),
            (Kind::Decline, MessageType::REPLY) => self.finish_decline(now),
            (Kind::InformationRequest, MessageType::REPLY) => {
                self.on_inform_reply(now, &a, payload)
            }
            (k, t) => self.ignore(&format!("a {t} during {k:?}")),
        }
    }

    fn on_exchange_timer(&mut self, now: SystemTime) {
        let Some(x) = self.exchange.clone() else {
            return;
        };
        if x.sent == 0 {
            return self.transmit(now);
        }
        if x.kind == Kind::Solicit {
            if let Some(best) = self.best.take() {
                return self.request(now, &best);
            }
            if self.no_addrs {
                self.log(
                    Level::Informational,
                    "no server has addresses or prefixes: asking for configuration only",
                );
                return self.start_inform(now);
            }
        }
        let counted_out = x.params.mrc > 0 && x.sent >= x.params.mrc;
        if counted_out || x.deadline.is_some_and(|d| now >= d) {
            return self.exchange_failed(now, &x);
        }
        self.transmit(now);
    }

    fn exchange_failed(&mut self, now: SystemTime, x: &Exchange) {
        self.exchange = None;
        match x.kind {
            Kind::Solicit | Kind::InformationRequest => {}
            Kind::Request => {
                self.log(Level::Warning, "no answer to Request");
                if self.holds_leases() {
                    self.back_to_bound(now);
                } else {
                    self.solicit(now);
                }
            }
            Kind::Confirm => {
                self.log(
                    Level::Informational,
                    "no answer to Confirm: keeping the leases (RFC 8415 18.2.3)",
                );
                self.rebound(now);
            }
            Kind::Rebind if x.params == timing::CONFIRM => {
                self.log(
                    Level::Informational,
                    "no answer to the Rebind that checks the link: keeping the leases, as for a Confirm (RFC 8415 18.2.3, 18.2.12)",
                );
                self.rebound(now);
            }
            Kind::Renew => {
                self.log(Level::Warning, "no answer to Renew by T2: rebinding");
                self.start_renewal(now);
            }
            Kind::Rebind => self.back_to_bound(now),
            Kind::Release => self.finish_release(now),
            Kind::Decline => self.finish_decline(now),
        }
    }

    /// Starts over: a Solicit for the configured IAs after SOL_MAX_DELAY.
    fn solicit(&mut self, now: SystemTime) {
        self.best = None;
        self.no_addrs = false;
        let ias = self.wanted_ias();
        self.start(now, Kind::Solicit, self.solicit, ias, None, None, None);
    }

    fn start_inform(&mut self, now: SystemTime) {
        self.refresh_at = None;
        self.start(
            now,
            Kind::InformationRequest,
            self.inform,
            Vec::new(),
            None,
            None,
            None,
        );
    }

    /// Every configured IA, empty.
    fn wanted_ias(&self) -> Vec<IaOut> {
        let na = self.config.na_iaids.iter().map(|&iaid| IaOut {
            kind: IaKind::Na,
            iaid,
            leases: Vec::new(),
        });
        let pd = self.config.pd_iaids.iter().map(|&iaid| IaOut {
            kind: IaKind::Pd,
            iaid,
            leases: Vec::new(),
        });
        na.chain(pd).collect()
    }

    /// Begins an exchange; its first message leaves after the kind's random delay.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        now: SystemTime,
        kind: Kind,
        params: Params,
        ias: Vec<IaOut>,
        server_id: Option<Vec<u8>>,
        unicast: Option<Ipv6Addr>,
        deadline: Option<SystemTime>,
    ) {
        let xid = self.rng.next_u32() & 0x00ff_ffff;
        let delay = timing::initial_delay(&params, &mut self.rng);
        self.state = kind.state();
        self.exchange = Some(Exchange {
            kind,
            xid,
            params,
            ias,
            server_id,
            unicast,
            began: None,
            first_rt_end: None,
            rt: Duration::ZERO,
            sent: 0,
            next: now + delay,
            deadline,
        });
        if delay.is_zero() && self.link_up && !self.suspended {
            self.transmit(now);
        }
    }

    /// Sends the exchange's message (again) and sets the next RT (RFC 8415 15).
    fn transmit(&mut self, now: SystemTime) {
        let Some(mut x) = self.exchange.take() else {
            return;
        };
        if x.sent == 0 {
            x.began = Some(now);
            x.rt = timing::first(&x.params, x.kind == Kind::Solicit, &mut self.rng);
            x.first_rt_end = Some(now + x.rt);
            if !x.params.mrd.is_zero() {
                x.deadline = Some(now + x.params.mrd);
            }
        } else {
            x.rt = timing::next(&x.params, x.rt, &mut self.rng);
        }
        let elapsed = x
            .began
            .and_then(|b| now.duration_since(b).ok())
            .unwrap_or_default();
        let elapsed_cs = u16::try_from(elapsed.as_millis() / 10).unwrap_or(u16::MAX);
        let payload = message::build(&Outgoing {
            msg_type: x.kind.msg_type(),
            xid: x.xid,
            client_id: &self.duid,
            server_id: x.server_id.as_deref(),
            ias: &x.ias,
            elapsed_cs,
            oro: x
                .kind
                .has_oro()
                .then(|| message::oro(&self.config.oro, x.kind.msg_type())),
            rapid_commit: x.kind == Kind::Solicit && self.config.rapid_commit,
        });
        let source = match x.unicast {
            Some(_) => self
                .configured
                .iter()
                .find(|c| c.kind == IaKind::Na)
                .map_or(self.config.link_local, |c| c.address),
            None => self.config.link_local,
        };
        self.actions.push_back(Action::Transmit(Transmit {
            source,
            destination: x.unicast.unwrap_or(ALL_DHCP_RELAY_AGENTS_AND_SERVERS),
            payload,
        }));
        x.sent += 1;
        x.next = now + x.rt;
        if let Some(d) = x.deadline {
            x.next = x.next.min(d.max(now));
        }
        self.exchange = Some(x);
    }

    /// RFC 8415 18.2.9 and 18.2.10: SOL_MAX_RT and INF_MAX_RT are taken from any Advertise
    /// or Reply for this client, even one without leases; values outside 60 ..= 86400 are
    /// ignored (21.24, 21.25).
    fn take_max_rt(&mut self, a: &Answer) {
        if let Some(s) = a.sol_max_rt.filter(|s| (60..=86_400).contains(s)) {
            self.solicit.mrt = Duration::from_secs(u64::from(s));
        }
        if let Some(s) = a.inf_max_rt.filter(|s| (60..=86_400).contains(s)) {
            self.inform.mrt = Duration::from_secs(u64::from(s));
        }
    }

    fn on_advertise(&mut self, now: SystemTime, a: Answer) {
        let collecting = self
            .exchange
            .as_ref()
            .and_then(|x| x.first_rt_end)
            .is_some_and(|end| now < end);
        if !a.has_leases() || a.status == Some(status::NO_ADDRS_AVAIL) {
            self.log(
                Level::Informational,
                "an Advertise with no addresses or prefixes (ignored for selection)",
            );
            self.no_addrs = true;
            if !collecting && self.best.is_none() {
                self.start_inform(now);
            }
            return;
        }
        self.log(
            Level::Debug,
            &format!("Advertise with preference {}", a.preference),
        );
        let better = self
            .best
            .as_ref()
            .is_none_or(|b| a.preference > b.preference);
        if better {
            self.best = Some(a);
        }
        let immediate = self.best.as_ref().is_some_and(|b| b.preference == 255);
        if immediate || !collecting {
            if let Some(best) = self.best.take() {
                self.request(now, &best);
            }
        }
    }

    /// Request the IAs the Advertise offered, with its leases as hints.
    fn request(&mut self, now: SystemTime, advertise: &Answer) {
        let ias = self
            .wanted_ias()
            .into_iter()
            .map(|mut ia| {
                if let Some(offered) = advertise
                    .ias
                    .iter()
                    .find(|o| o.kind == ia.kind && o.iaid == ia.iaid)
                {
                    ia.leases = hints(offered);
                }
                ia
            })
            .collect();
        self.start(
            now,
            Kind::Request,
            timing::REQUEST,
            ias,
            Some(advertise.server_id.clone()),
            None,
            None,
        );
    }

    /// A Reply to a Request, Renew, Rebind, or a rapid-commit Solicit (RFC 8415 18.2.10).
    fn on_reply(&mut self, now: SystemTime, x: &Exchange, a: Answer, payload: &[u8]) {
        match a.status.unwrap_or(status::SUCCESS) {
            status::SUCCESS => {}
            status::USE_MULTICAST if x.unicast.is_some() => {
                self.log(Level::Informational, "UseMulticast: sending by multicast");
                if let Some(b) = self.binding.as_mut() {
                    b.server_unicast = None;
                }
                if let Some(ex) = self.exchange.as_mut() {
                    ex.unicast = None;
                }
                return self.transmit(now);
            }
            status::NOT_ON_LINK => {
                self.log(Level::Warning, "NotOnLink: starting over");
                self.remove_all(now, Event::Drop6, true);
                return self.solicit(now);
            }
            code => {
                return self.ignore(&format!("a Reply with status {code}"));
            }
        }
        let renewal = matches!(x.kind, Kind::Renew | Kind::Rebind);
        let had_binding = self.binding.is_some();
        let mut binding = self.binding.take().unwrap_or(Binding {
            server_id: a.server_id.clone(),
            server_unicast: None,
            ias: Vec::new(),
            reply: None,
        });
        binding.server_id = a.server_id.clone();
        binding.server_unicast = a.unicast;
        binding.reply = Some(payload.to_vec());
        let mut removed = Vec::new();
        let mut again = Vec::new();
        let mut extended = false;
        let mut not_on_link = false;
        // A held IA this reply to a Renew, Rebind or Request (one that asks again for what
        // is held) did not update.
        let revisit = renewal || x.kind == Kind::Request;
        let mut stale = false;
        for sent in &x.ias {
            let got = a
                .ias
                .iter()
                .find(|ia| ia.kind == sent.kind && ia.iaid == sent.iaid);
            let code = got.and_then(|g| g.status).unwrap_or(status::SUCCESS);
            match (got, code) {
                (None, _) => stale |= revisit && holds(&binding, sent),
                (Some(_), status::NO_ADDRS_AVAIL | status::NO_PREFIX_AVAIL) => {
                    removed.extend(take_ia(&mut binding, sent.kind, sent.iaid));
                    if renewal {
                        again.push(IaOut {
                            leases: Vec::new(),
                            ..sent.clone()
                        });
                    }
                }
                (Some(_), status::NO_BINDING) if renewal => {
                    again.push(held_ia(&binding, sent));
                }
                (Some(_), status::NOT_ON_LINK) => {
                    not_on_link = true;
                    removed.extend(take_ia(&mut binding, sent.kind, sent.iaid));
                }
                (Some(g), status::SUCCESS) => {
                    let (r, e) = apply_ia(&mut binding, g, now);
                    removed.extend(r);
                    extended |= e;
                    stale |= revisit && !e && holds(&binding, sent);
                }
                (Some(_), code) => {
                    self.log(
                        Level::Warning,
                        &format!(
                            "IA {} answered with status {code}; left as it was",
                            sent.iaid
                        ),
                    );
                    stale |= revisit && holds(&binding, sent);
                }
            }
        }
        binding.ias.retain(|ia| !ia.leases.is_empty());
        let retransmit = stale && again.is_empty() && !not_on_link && !binding.is_empty();
        if !retransmit {
            self.exchange = None;
        }
        if binding.is_empty() {
            self.binding = None;
        } else {
            self.binding = Some(binding);
        }
        let lost = self.unconfigure_gone(&removed) && self.announced;
        if lost {
            let all_gone = self.binding.is_none();
            let event = match (all_gone, not_on_link) {
                (false, _) => Event::Loss6,
                (true, true) => Event::Drop6,
                (true, false) => Event::Expire6,
            };
            self.event(now, event);
        }
        if self.binding.is_some() {
            self.configure_held(
                now,
                extended && !retransmit && (had_binding || self.announced),
            );
            if let Some(b) = self.binding.clone() {
                self.actions.push_back(Action::SaveBinding(b));
            }
        } else {
            self.announced = false;
            self.tentative.clear();
            if had_binding {
                self.actions.push_back(Action::ForgetBinding);
            }
        }
        if not_on_link && self.binding.is_none() {
            return self.solicit(now);
        }
        if !again.is_empty() {
            let unicast = self.unicast_target();
            return self.start(
                now,
                Kind::Request,
                timing::REQUEST,
                again,
                Some(a.server_id),
                unicast,
                None,
            );
        }
        if retransmit {
            self.log(
                Level::Informational,
                "a lease was not updated: retransmitting",
            );
        } else if self.binding.is_some() {
            self.back_to_bound(now);
        } else if matches!(x.kind, Kind::Request | Kind::Solicit) {
            self.log(
                Level::Informational,
                "the server gave no addresses or prefixes: asking for configuration only",
            );
            self.start_inform(now);
        } else {
            self.solicit(now);
        }
    }

    fn on_confirm_reply(&mut self, now: SystemTime, a: &Answer) {
        match a.status.unwrap_or(status::SUCCESS) {
            status::SUCCESS => {
                self.exchange = None;
                self.log(Level::Informational, "Confirm: the leases are on-link");
                self.rebound(now);
            }
            status::NOT_ON_LINK => {
                self.exchange = None;
                self.log(Level::Warning, "Confirm: NotOnLink; starting over");
                self.remove_all(now, Event::Drop6, true);
                self.solicit(now);
            }
            code => self.ignore(&format!("a Reply to Confirm with status {code}")),
        }
    }

    fn on_inform_reply(&mut self, now: SystemTime, a: &Answer, payload: &[u8]) {
        self.exchange = None;
        self.informed = Some(payload.to_vec());
        self.state = State::Informed;
        let refresh = a
            .refresh
            .map_or(timing::IRT_DEFAULT, |s| Duration::from_secs(u64::from(s)))
            .max(timing::IRT_MINIMUM);
        self.refresh_at = (a.refresh != Some(u32::MAX)).then(|| now + refresh);
        self.log(Level::Informational, "configuration obtained");
        self.event(now, Event::Inform6);
    }

    /// Back from sleep or link loss (or at start with a saved binding): Rebind when a prefix
    /// is held, Confirm when only addresses are (RFC 8415 18.2.12); else start over.
    fn revalidate(&mut self, now: SystemTime) {
        match self.state {
            State::Idle | State::Releasing | State::Declining => return,
            _ => {}
        }
        let Some(b) = self.binding.clone() else {
            return if self.config.information_only {
                self.start_inform(now)
            } else {
                self.solicit(now)
            };
        };
        let ias: Vec<IaOut> = b.ias.iter().map(IaOut::from).collect();
        // RFC 8415 18.2.12: this Rebind retransmits as a Confirm does (CNF_MAX_DELAY,
        // CNF_TIMEOUT, CNF_MAX_RT, CNF_MAX_RD).
        let kind = if ias.iter().any(|ia| ia.kind == IaKind::Pd) {
            Kind::Rebind
        } else {
            Kind::Confirm
        };
        self.start(now, kind, timing::CONFIRM, ias, None, None, None);
    }

    /// T1 or T2 of some IAs has come: Renew them, or Rebind once one is past T2.
    fn start_renewal(&mut self, now: SystemTime) {
        let Some(b) = self.binding.clone() else {
            return self.solicit(now);
        };
        let due: Vec<&IaBinding> = b
            .ias
            .iter()
            .filter(|ia| ia.renew_at.is_some_and(|t| now >= t))
            .collect();
        if due.is_empty() {
            return self.back_to_bound(now);
        }
        let ias: Vec<IaOut> = due.iter().map(|ia| IaOut::from(*ia)).collect();
        let rebind = due.iter().any(|ia| ia.rebind_at.is_some_and(|t| now >= t));
        if rebind {
            let deadline = latest_valid(&b, &ias);
            self.start(now, Kind::Rebind, timing::REBIND, ias, None, None, deadline);
        } else {
            let deadline = due.iter().filter_map(|ia| ia.rebind_at).min();
            let unicast = self.unicast_target();
            self.start(
                now,
                Kind::Renew,
                timing::RENEW,
                ias,
                Some(b.server_id.clone()),
                unicast,
                deadline,
            );
        }
    }

    /// The server's unicast address when the client may use it: the server gave one and
    /// the client holds an address to send from.
    fn unicast_target(&self) -> Option<Ipv6Addr> {
        let held = self.configured.iter().any(|c| c.kind == IaKind::Na);
        self.binding
            .as_ref()
            .and_then(|b| b.server_unicast)
            .filter(|_| held)
    }

    fn next_renewal(&self) -> Option<SystemTime> {
        self.binding
            .as_ref()
            .and_then(|b| b.ias.iter().filter_map(|ia| ia.renew_at).min())
    }

    fn back_to_bound(&mut self, now: SystemTime) {
        self.exchange = None;
        if self.holds_leases() {
            self.state = State::Bound;
            if self.next_renewal().is_some_and(|t| now >= t) && self.link_up {
                self.start_renewal(now);
            }
        } else {
            self.solicit(now);
        }
    }

    fn holds_leases(&self) -> bool {
        self.binding.as_ref().is_some_and(|b| !b.is_empty())
    }

    /// Leases whose valid lifetime ended go: LOSS6 while others remain, else EXPIRE6 and a
    /// new Solicit.
    fn expire_due(&mut self, now: SystemTime) {
        let Some(b) = self.binding.as_mut() else {
            return;
        };
        let mut gone = Vec::new();
        for ia in &mut b.ias {
            ia.leases.retain(|l| {
                let ended = l.valid_until.is_some_and(|v| now >= v);
                if ended {
                    gone.push(config_of(ia.kind, l));
                }
                !ended
            });
        }
        b.ias.retain(|ia| !ia.leases.is_empty());
        if gone.is_empty() {
            return;
        }
        let empty = b.ias.is_empty();
        let kept = b.clone();
        self.log(Level::Warning, &format!("{} lease(s) expired", gone.len()));
        let lost = self.unconfigure_gone(&gone) && self.announced;
        if !empty {
            if lost {
                self.event(now, Event::Loss6);
            }
            self.announce_when_checked(now);
            self.actions.push_back(Action::SaveBinding(kept.clone()));
            if let Some(x) = self.exchange.as_mut() {
                for ia in &mut x.ias {
                    if let Some(k) = kept.ia(ia.kind, ia.iaid)
                        && matches!(x.kind, Kind::Renew | Kind::Rebind | Kind::Confirm)
                    {
                        ia.leases = k.leases.clone();
                    }
                }
            }
            return;
        }
        self.binding = None;
        self.announced = false;
        self.tentative.clear();
        self.actions.push_back(Action::ForgetBinding);
        if lost {
            self.event(now, Event::Expire6);
        }
        if matches!(
            self.state,
            State::Releasing | State::Declining | State::Idle
        ) {
            return;
        }
        if self.link_up {
            self.solicit(now);
        } else {
            self.exchange = None;
            self.state = State::Init;
        }
    }

    fn release(&mut self, now: SystemTime) {
        if self.state == State::Releasing {
            // A second order (release6, then SIGTERM): the exchange under way goes on.
            return;
        }
        let Some(b) = self.binding.take() else {
            return self.rest();
        };
        let ias = b.ias.iter().map(IaOut::from).collect();
        // RFC 8415 18.2.7: the leases are not used once the Release exchange begins.
        for c in std::mem::take(&mut self.configured) {
            self.actions.push_back(Action::Unconfigure(c));
        }
        self.announced = false;
        self.tentative.clear();
        self.actions.push_back(Action::ForgetBinding);
        self.start(
            now,
            Kind::Release,
            timing::RELEASE,
            ias,
            Some(b.server_id),
            None,
            None,
        );
    }

    fn finish_release(&mut self, now: SystemTime) {
        self.exchange = None;
        self.log(Level::Informational, "released");
        self.event(now, Event::Release6);
        self.rest();
    }

    /// DAD found `address` in use: it goes, and a Decline tells the server (RFC 8415 18.2.8).
    fn decline(&mut self, now: SystemTime, address: Ipv6Addr) {
        let Some(b) = self.binding.as_mut() else {
            return self.log(Level::Warning, &format!("duplicate {address} is not ours"));
        };
        let Some(ia) = b
            .ias
            .iter_mut()
            .find(|ia| ia.kind == IaKind::Na && ia.leases.iter().any(|l| l.address == address))
        else {
            return self.log(Level::Warning, &format!("duplicate {address} is not ours"));
        };
        let iaid = ia.iaid;
        let lease = ia.leases.iter().find(|l| l.address == address).cloned();
        ia.leases.retain(|l| l.address != address);
        b.ias.retain(|ia| !ia.leases.is_empty());
        let server_id = b.server_id.clone();
        let empty = b.ias.is_empty();
        self.log(
            Level::Error,
            &format!("{address} is in use by another host: declining it"),
        );
        let lost = self.unconfigure_gone(&[Configuration {
            kind: IaKind::Na,
            address,
            prefix_len: 128,
        }]);
        if empty {
            self.binding = None;
            self.actions.push_back(Action::ForgetBinding);
        } else if let Some(b) = self.binding.clone() {
            self.actions.push_back(Action::SaveBinding(b));
        }
        if lost && self.announced {
            self.event(now, if empty { Event::Drop6 } else { Event::Loss6 });
        }
        if empty {
            self.announced = false;
        }
        self.announce_when_checked(now);
        // Addresses a Decline under way names are declined again with this one, in one
        // message (RFC 8415 18.2.8 lets one Decline carry several).
        let mut ias = match &self.exchange {
            Some(x) if x.kind == Kind::Decline => x.ias.clone(),
            _ => Vec::new(),
        };
        match ias
            .iter_mut()
            .find(|o| o.kind == IaKind::Na && o.iaid == iaid)
        {
            Some(o) => o.leases.extend(lease),
            None => ias.push(IaOut {
                kind: IaKind::Na,
                iaid,
                leases: lease.into_iter().collect(),
            }),
        }
        self.start(
            now,
            Kind::Decline,
            timing::DECLINE,
            ias,
            Some(server_id),
            None,
            None,
        );
    }

    fn finish_decline(&mut self, now: SystemTime) {
        self.exchange = None;
        if self.holds_leases() {
            self.back_to_bound(now);
        } else {
            self.solicit(now);
        }
    }

    /// Configures every held lease not yet on the interface; BOUND6 for the first, else
    /// EXTEND6 when `extended`.
    fn configure_held(&mut self, now: SystemTime, extended: bool) {
        let Some(b) = self.binding.clone() else {
            return;
        };
        for (kind, _, l) in b.leases() {
            let c = config_of(kind, l);
            if !self.configured.contains(&c) {
                if kind == IaKind::Na && !self.announced && !self.config.dad_timeout.is_zero() {
                    self.tentative
                        .push((c.address, now + self.config.dad_timeout));
                }
                self.actions.push_back(Action::Configure(c.clone()));
                self.configured.push(c);
            }
        }
        if !self.announced {
            self.announce_when_checked(now);
        } else if extended {
            self.log(Level::Informational, &describe("extended", &b));
            self.event(now, Event::Extend6);
        }
    }

    /// The leases held are still good after a re-validation (Confirm answered Success, or not
    /// answered): configured, and BOUND6 again, as dhcpagent's INIT_REBOOT state goes
    /// through dhcp_bound to dhcp_bound_complete (illumos request.c accept_v6_message,
    /// init_reboot.c stop_init_reboot).
    fn rebound(&mut self, now: SystemTime) {
        self.announced = false;
        self.configure_held(now, false);
        self.back_to_bound(now);
    }

    /// DAD on `address` is over with no other holder found.
    fn dad_done(&mut self, now: SystemTime, address: Ipv6Addr) {
        let before = self.tentative.len();
        self.tentative.retain(|(a, _)| *a != address);
        if self.tentative.len() != before {
            self.announce_when_checked(now);
        }
    }

    /// BOUND6, once the binding held is not announced yet and no address configured for it
    /// waits for DAD (dhcpagent's dhcp_bound_complete).
    fn announce_when_checked(&mut self, now: SystemTime) {
        let configured = &self.configured;
        self.tentative
            .retain(|(a, _)| configured.iter().any(|c| c.address == *a));
        if self.announced || !self.tentative.is_empty() || self.configured.is_empty() {
            return;
        }
        let Some(b) = self.binding.clone() else {
            return;
        };
        self.announced = true;
        self.log(Level::Informational, &describe("bound to", &b));
        self.event(now, Event::Bound6);
    }

    /// Unconfigures the configured ones among `gone`; true when there was one.
    fn unconfigure_gone(&mut self, gone: &[Configuration]) -> bool {
        let mut any = false;
        for g in gone {
            if let Some(i) = self.configured.iter().position(|c| c == g) {
                let c = self.configured.remove(i);
                self.actions.push_back(Action::Unconfigure(c));
                any = true;
            }
        }
        any
    }

    /// Everything goes from the interface, with `event` when something was there; the
    /// binding file goes too when `forget` (a drop command keeps it for the next start).
    fn remove_all(&mut self, now: SystemTime, event: Event, forget: bool) {
        let had = !self.configured.is_empty();
        for c in std::mem::take(&mut self.configured) {
            self.actions.push_back(Action::Unconfigure(c));
        }
        if had {
            self.event(now, event);
        }
        self.announced = false;
        self.tentative.clear();
        if self.binding.take().is_some() && forget {
            self.actions.push_back(Action::ForgetBinding);
        }
    }

    fn rest(&mut self) {
        self.state = State::Idle;
        self.exchange = None;
        self.binding = None;
        self.informed = None;
        self.refresh_at = None;
    }

    fn event(&mut self, now: SystemTime, event: Event) {
        let mut orders = VecDeque::new();
        self.programs.push(now, event, &mut orders);
        self.take(orders);
    }

    fn take(&mut self, orders: VecDeque<Order>) {
        self.actions.extend(orders.into_iter().map(Action::Program));
    }

    fn ignore(&mut self, why: &str) {
        self.ignored += 1;
        self.log(Level::Warning, &format!("ignored: {why}"));
    }

    fn log(&mut self, level: Level, text: &str) {
        self.actions.push_back(Action::Log {
            level,
            text: text.to_string(),
        });
    }
}
