//! A DHCP load generator as a pure state machine: many simulated DHCPv4 clients (DORA, renewal,
//! release) or DHCPv6 clients (Solicit-Advertise-Request-Reply, Renew, Release) started at an
//! offered rate, open loop as perfdhcp does, whatever the server answers. It takes frames and
//! the time, and gives frames and its next deadline; a driver moves them through a TAP device
//! (or any Ethernet link) and reads the clock.
//!
//! What it counts is what a perfdhcp user reads (per exchange: sent, received, drops, their
//! ratio, orphans, min/avg/max delay) plus the latency percentiles perfdhcp lacks (p50, p99,
//! p99.9).
//!
//! Clients are numbered; client `i` has the link address `02:dc:00:II:II:II` (locally
//! administered, never seen outside the run's namespace) and, in DHCPv6, a DUID-LL of it. The
//! DHCPv6 clients share the generator's own link address and link-local source address, as
//! perfdhcp -6 does, so the server's kernel resolves one neighbor only. DHCPv4 renewals are
//! unicast from the client's address: the generator answers the server's ARP requests for
//! the addresses its clients hold, and in DHCPv6 Neighbor Solicitations for its own address.

pub mod histogram;
mod report;
mod v4;
mod v6;

pub use v6::link_local;

pub use histogram::Histogram;
pub use report::{Delays, ExchangeReport, Report};

use dhcplab_rng::Rng;
use std::collections::VecDeque;
use std::time::Duration;

/// The most clients a run simulates: client numbers fit the last three bytes of a link
/// address.
pub const MAX_CLIENTS: u32 = 1 << 24;

/// The IP version of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// DHCPv4: DORA, renewals and releases.
    V4,
    /// DHCPv6: SARR, Renews and Releases.
    V6,
}

/// What a run offers the server.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    /// DHCPv4 or DHCPv6.
    pub family: Family,
    /// Exchanges started per second (new DORA/SARR, renewals and releases together).
    pub rate: f64,
    /// How many distinct clients take turns (perfdhcp's -R).
    pub clients: u32,
    /// How long exchanges are started.
    pub duration: Duration,
    /// The share of started exchanges that renew a lease a client holds, in percent.
    pub renew_percent: u8,
    /// The share of started exchanges that release a lease a client holds, in percent.
    pub release_percent: u8,
    /// A message with no answer within this long is dropped (perfdhcp's default: 1 s).
    pub drop_after: Duration,
    /// The generator's own link address (DHCPv6 clients' source).
    pub mac: [u8; 6],
    /// The seed of transaction ids and of the choice between kinds of exchange.
    pub seed: u64,
}

/// Why a plan cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The rate is not a positive number.
    #[error("the rate must be a positive number of exchanges per second, not {0}")]
    Rate(f64),
    /// No clients, or more than the link addresses hold.
    #[error("clients must be between 1 and {MAX_CLIENTS}, not {0}")]
    Clients(u32),
    /// Renewals and releases together over 100%.
    #[error("renew ({renew}%) and release ({release}%) add up to more than 100%")]
    Shares {
        /// The renewal share.
        renew: u8,
        /// The release share.
        release: u8,
    },
    /// A run of no time.
    #[error("the duration must be positive")]
    Duration,
    /// Clients numbered past the link addresses there are.
    #[error("clients {first} to {first}+{clients} go past {MAX_CLIENTS} link addresses")]
    Numbering {
        /// The first client's number.
        first: u32,
        /// How many clients.
        clients: u32,
    },
}

/// How many conflicts are kept to show.
const MAX_SAMPLES: usize = 20;

/// An address granted to a client while another held it (the server leased it twice).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conflict {
    /// The address (DHCPv4 in the first four bytes).
    pub address: [u8; 16],
    /// The client that held it.
    pub holder: [u8; 6],
    /// The client it was granted to.
    pub granted_to: [u8; 6],
}

/// The exchanges counted apart, in perfdhcp's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    /// DISCOVER-OFFER or SOLICIT-ADVERTISE.
    First,
    /// REQUEST-ACK or REQUEST-REPLY, after the first.
    Second,
    /// A renewal: REQUEST-ACK from a bound client, RENEW-REPLY.
    Renew,
    /// A release: RELEASE (no answer in DHCPv4), RELEASE-REPLY.
    Release,
}

impl Exchange {
    const ALL: [Exchange; 4] = [
        Exchange::First,
        Exchange::Second,
        Exchange::Renew,
        Exchange::Release,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// Its name in perfdhcp's manner.
    pub fn name(self, family: Family) -> &'static str {
        match (self, family) {
            (Exchange::First, Family::V4) => "DISCOVER-OFFER",
            (Exchange::Second, Family::V4) => "REQUEST-ACK",
            (Exchange::Renew, Family::V4) => "REQUEST-ACK (renew)",
            (Exchange::Release, Family::V4) => "RELEASE",
            (Exchange::First, Family::V6) => "SOLICIT-ADVERTISE",
            (Exchange::Second, Family::V6) => "REQUEST-REPLY",
            (Exchange::Renew, Family::V6) => "RENEW-REPLY",
            (Exchange::Release, Family::V6) => "RELEASE-REPLY",
        }
    }
}

/// Counts of one exchange.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Messages sent.
    pub sent: u64,
    /// Answers received in time (NAKs and failure status codes too).
    pub received: u64,
    /// Answers that refused: DHCPNAK, or a DHCPv6 status code other than Success.
    pub refused: u64,
    /// Messages with no answer in time.
    pub drops: u64,
    /// Answers to no message waiting (late, or not ours).
    pub orphans: u64,
    /// Delays from the message to its answer.
    pub delays: Histogram,
}

/// Where a client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Discovering,
    Requesting,
    Bound,
    Renewing,
    Releasing,
}

/// One simulated client.
#[derive(Debug, Clone)]
struct Client {
    phase: Phase,
    xid: u32,
    /// When its message waiting for an answer left, in ns from the start.
    sent_at: u64,
    /// Counts its messages, so that a stale timeout is told apart.
    seq: u32,
    /// The address it holds or is offered (DHCPv4 in the first four bytes).
    addr: [u8; 16],
    /// The DHCPv4 server identifier it talks to.
    server: [u8; 4],
    /// Whether it ever held a lease.
    ever_bound: bool,
    /// Whether it holds a lease: its last answer granted `held`, and it has not released it
    /// (a dropped renewal keeps it; the server still has the lease).
    holds: bool,
    /// The address of the lease it holds.
    held: [u8; 16],
}

/// Something to send, in the order it was decided.
#[derive(Debug, Clone, Copy)]
enum Send {
    Discover(u32),
    Request(u32),
    Renew(u32),
    Release(u32),
}

/// The load generator.
#[derive(Debug)]
pub struct Load {
    plan: Plan,
    clients: Vec<Client>,
    counts: [Counts; 4],
    rng: Rng,
    started: u64,
    /// Starts that found every client busy.
    skipped: u64,
    next_client: u32,
    bound: VecDeque<u32>,
    sends: VecDeque<Send>,
    /// Frames answering the server's address resolution, ready to go.
    control: VecDeque<Vec<u8>>,
    /// (deadline, client, seq) of every message waiting for an answer, in deadline order.
    timeouts: VecDeque<(u64, u32, u32)>,
    /// The addresses clients hold (DHCPv4 in the first four bytes): for ARP, and for telling
    /// an address granted to two clients at once.
    holders: hashbrown::HashMap<[u8; 16], u32>,
    /// Addresses granted to a client while another held them, how many, and the first few.
    conflicts: u64,
    conflict_samples: Vec<Conflict>,
    /// The server's link address, learned from its first answer (DHCPv4 unicast).
    server_mac: Option<[u8; 6]>,
    /// The DHCPv6 server's DUID, learned from its first Advertise.
    server_duid: Option<Vec<u8>>,
    /// Frames received that are not DHCP answers, ARP or Neighbor Solicitations.
    other_frames: u64,
    last_now: u64,
    /// When the last exchange started, in ns from the start.
    last_start: u64,
    /// Clients that ever held a lease: the leases the server holds for them.
    ever_bound: u64,
    /// The number of the first client (its link address is [`client_mac`] of it).
    first: u32,
    /// Link addresses scattered over the clients' block ([`Load::scattered`]).
    scatter: Option<Scatter>,
}

/// A permutation of the numbers below `2^bits`: client `i` gets link address number
/// `first + permute(i)`, so consecutive clients have link addresses that look random.
#[derive(Debug, Clone, Copy)]
struct Scatter {
    mask: u32,
    key: u32,
}

/// Odd, so multiplying by it modulo a power of two is a permutation.
const SCATTER: u32 = 0x9e37_79b1;

/// SCATTER's inverse modulo 2^32, by Newton's iteration (each step doubles the bits that are
/// right), computed once at compile time: every frame the generator reads may need it.
const SCATTER_INVERSE: u32 = {
    let mut inverse = SCATTER;
    let mut step = 0;
    while step < 5 {
        inverse = inverse.wrapping_mul(2u32.wrapping_sub(SCATTER.wrapping_mul(inverse)));
        step += 1;
    }
    inverse
};

impl Scatter {
    fn permute(self, i: u32) -> u32 {
        ((i ^ self.key) & self.mask).wrapping_mul(SCATTER) & self.mask
    }

    fn unpermute(self, n: u32) -> u32 {
        ((n & self.mask).wrapping_mul(SCATTER_INVERSE) & self.mask) ^ (self.key & self.mask)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Client `i`'s link address.
pub fn client_mac(i: u32) -> [u8; 6] {
    let b = i.to_be_bytes();
    [0x02, 0xdc, 0x00, b[1], b[2], b[3]]
}

/// The client a link address names, if it is one of the generator's.
fn client_of(mac: &[u8]) -> Option<u32> {
    match mac {
        [0x02, 0xdc, 0x00, a, b, c, ..] => Some(u32::from_be_bytes([0, *a, *b, *c])),
        _ => None,
    }
}

impl Load {
    /// A generator for `plan`, its clients all idle.
    pub fn new(plan: Plan) -> Result<Self, PlanError> {
        if !(plan.rate.is_finite() && plan.rate > 0.0) {
            return Err(PlanError::Rate(plan.rate));
        }
        if plan.clients == 0 || plan.clients > MAX_CLIENTS {
            return Err(PlanError::Clients(plan.clients));
        }
        if u16::from(plan.renew_percent) + u16::from(plan.release_percent) > 100 {
            return Err(PlanError::Shares {
                renew: plan.renew_percent,
                release: plan.release_percent,
            });
        }
        if plan.duration.is_zero() {
            return Err(PlanError::Duration);
        }
        let idle = Client {
            phase: Phase::Idle,
            xid: 0,
            sent_at: 0,
            seq: 0,
            addr: [0; 16],
            server: [0; 4],
            ever_bound: false,
            holds: false,
            held: [0; 16],
        };
        Ok(Self {
            clients: vec![idle; plan.clients as usize],
            rng: Rng::new(plan.seed),
            plan,
            counts: Default::default(),
            started: 0,
            skipped: 0,
            next_client: 0,
            bound: VecDeque::new(),
            sends: VecDeque::new(),
            control: VecDeque::new(),
            timeouts: VecDeque::new(),
            holders: hashbrown::HashMap::new(),
            conflicts: 0,
            conflict_samples: Vec::new(),
            server_mac: None,
            server_duid: None,
            other_frames: 0,
            last_now: 0,
            last_start: 0,
            ever_bound: 0,
            first: 0,
            scatter: None,
        })
    }

    /// The same generator with its clients numbered from `first` instead of 0, so that two
    /// generators on one link (a flood of new clients beside clients that renew) have link
    /// addresses of their own and each ignores the other's answers.
    pub fn numbered_from(mut self, first: u32) -> Result<Self, PlanError> {
        if first
            .checked_add(self.plan.clients)
            .is_none_or(|end| end > MAX_CLIENTS)
        {
            return Err(PlanError::Numbering {
                first,
                clients: self.plan.clients,
            });
        }
        self.first = first;
        Ok(self)
    }

    /// The same generator with its clients' link addresses scattered, drawn by `key`, over
    /// the block of `2^k` numbers from `first` (`2^k` the clients rounded up to a power of two,
    /// of which `first` must be a multiple): a flood "from random MACs" that the generator
    /// still knows as its own.
    pub fn scattered(mut self, key: u32) -> Result<Self, PlanError> {
        let block = self.plan.clients.next_power_of_two();
        if self.first % block != 0
            || self
                .first
                .checked_add(block)
                .is_none_or(|e| e > MAX_CLIENTS)
        {
            return Err(PlanError::Numbering {
                first: self.first,
                clients: block,
            });
        }
        self.scatter = Some(Scatter {
            mask: block - 1,
            key,
        });
        Ok(self)
    }

    /// Client `i`'s link address.
    fn mac(&self, i: u32) -> [u8; 6] {
        let n = self.scatter.map_or(i, |s| s.permute(i));
        client_mac(self.first.wrapping_add(n))
    }

    /// The client of this generator a link address names.
    fn client_of(&self, mac: &[u8]) -> Option<u32> {
        client_of(mac)
            .and_then(|n| n.checked_sub(self.first))
            .map(|n| match self.scatter {
                Some(s) if n <= s.mask => s.unpermute(n),
                Some(_) => u32::MAX,
                None => n,
            })
            .filter(|&i| i < self.plan.clients)
    }

    /// The plan it runs.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// How many exchanges should have started by `now` (ns from the start).
    fn due(&self, now: u64) -> u64 {
        let until = now.min(nanos(self.plan.duration));
        (self.plan.rate * until as f64 / 1e9) as u64
    }

    /// Puts the next frame to send at `now` (time since the start of the run) into `buf` and
    /// returns its length; `None` when nothing is due. Answers to the server come first, then
    /// the exchanges the offered rate has made due.
    pub fn poll_transmit(&mut self, now: Duration, buf: &mut [u8]) -> Option<usize> {
        let now = nanos(now).max(self.last_now);
        self.last_now = now;
        self.expire(now);
        if let Some(frame) = self.control.pop_front() {
            let n = frame.len().min(buf.len());
            buf[..n].copy_from_slice(&frame[..n]);
            return Some(n);
        }
        loop {
            let send = match self.sends.pop_front() {
                Some(s) => s,
                None => {
                    if self.started >= self.due(now) {
                        return None;
                    }
                    self.started += 1;
                    self.last_start = now;
                    match self.start() {
                        Some(s) => s,
                        None => continue,
                    }
                }
            };
            if let Some(n) = self.build(send, now, buf) {
                return Some(n);
            }
        }
    }

    /// Decides the next exchange: a renewal or release of a held lease in their shares of
    /// the starts (when a client holds one), else a new DORA/SARR by the next free client.
    fn start(&mut self) -> Option<Send> {
        let draw = (self.rng.next_u32() % 100) as u8;
        let renew = self.plan.renew_percent;
        let release = self.plan.release_percent;
        if draw < renew.saturating_add(release) {
            if let Some(i) = self.take_bound() {
                return Some(if draw < renew {
                    Send::Renew(i)
                } else {
                    Send::Release(i)
                });
            }
        }
        let n = self.plan.clients;
        for _ in 0..n.min(64) {
            let i = self.next_client;
            self.next_client = (i + 1) % n;
            if matches!(self.clients[i as usize].phase, Phase::Idle | Phase::Bound) {
                self.clients[i as usize].xid = self.new_xid();
                return Some(Send::Discover(i));
            }
        }
        self.skipped += 1;
        None
    }

    /// A new transaction id: 32 bits in DHCPv4, 24 in DHCPv6.
    fn new_xid(&mut self) -> u32 {
        match self.plan.family {
            Family::V4 => self.rng.next_u32(),
            Family::V6 => self.rng.next_u32() & 0x00ff_ffff,
        }
    }

    /// The client bound longest, if any.
    fn take_bound(&mut self) -> Option<u32> {
        while let Some(i) = self.bound.pop_front() {
            if self.clients[i as usize].phase == Phase::Bound {
                return Some(i);
            }
        }
        None
    }

    /// Builds `send` into `buf`, marks its client waiting and counts it; `None` when it
    /// cannot be built (a renewal before the server's link address is known).
    fn build(&mut self, send: Send, now: u64, buf: &mut [u8]) -> Option<usize> {
        let (i, exchange, phase) = match send {
            Send::Discover(i) => (i, Exchange::First, Phase::Discovering),
            Send::Request(i) => (i, Exchange::Second, Phase::Requesting),
            Send::Renew(i) => (i, Exchange::Renew, Phase::Renewing),
            Send::Release(i) => (i, Exchange::Release, Phase::Releasing),
        };
        if matches!(send, Send::Renew(_) | Send::Release(_)) {
            self.clients[i as usize].xid = self.new_xid();
        }
        let frame = match self.plan.family {
            Family::V4 => v4::build(self, send),
            Family::V6 => v6::build(self, send),
        }?;
        let n = frame.len().min(buf.len());
        buf[..n].copy_from_slice(&frame[..n]);
        self.counts[exchange.index()].sent += 1;
        let c = &mut self.clients[i as usize];
        c.seq = c.seq.wrapping_add(1);
        c.sent_at = now;
        if send_waits(self.plan.family, send) {
            c.phase = phase;
            let deadline = now.saturating_add(nanos(self.plan.drop_after));
            self.timeouts.push_back((deadline, i, c.seq));
        } else {
            c.phase = Phase::Idle;
        }
        if let Send::Release(i) = send {
            self.unhold(i);
        }
        Some(n)
    }

    /// Counts as dropped every message whose answer is overdue at `now`.
    fn expire(&mut self, now: u64) {
        while let Some(&(deadline, i, seq)) = self.timeouts.front() {
            if deadline > now {
                break;
            }
            self.timeouts.pop_front();
            let c = &mut self.clients[i as usize];
            if c.seq != seq {
                continue;
            }
            let exchange = match c.phase {
                Phase::Discovering => Exchange::First,
                Phase::Requesting => Exchange::Second,
                Phase::Renewing => Exchange::Renew,
                Phase::Releasing => Exchange::Release,
                Phase::Idle | Phase::Bound => continue,
            };
            self.counts[exchange.index()].drops += 1;
            c.phase = Phase::Idle;
            c.seq = c.seq.wrapping_add(1);
        }
    }

    /// Takes a frame received at `now`.
    pub fn handle_frame(&mut self, now: Duration, frame: &[u8]) {
        let now = nanos(now).max(self.last_now);
        self.last_now = now;
        let taken = match self.plan.family {
            Family::V4 => v4::handle(self, now, frame),
            Family::V6 => v6::handle(self, now, frame),
        };
        if !taken {
            self.other_frames += 1;
        }
    }

    /// Counts an answer for client `i`, expected while it is in `phase`, and says whether it
    /// was waited for (else it is an orphan).
    fn answered(&mut self, i: u32, xid: u32, expected: Phase, now: u64) -> bool {
        let exchange = match expected {
            Phase::Discovering => Exchange::First,
            Phase::Requesting => Exchange::Second,
            Phase::Renewing => Exchange::Renew,
            _ => Exchange::Release,
        };
        let Some(c) = self.clients.get_mut(i as usize) else {
            self.counts[exchange.index()].orphans += 1;
            return false;
        };
        if c.phase != expected || c.xid != xid {
            self.counts[exchange.index()].orphans += 1;
            return false;
        }
        c.seq = c.seq.wrapping_add(1);
        let counts = &mut self.counts[exchange.index()];
        counts.received += 1;
        counts.delays.record(now.saturating_sub(c.sent_at));
        true
    }

    /// Client `i` holds its address: it may renew or release later.
    fn bind(&mut self, i: u32) {
        let c = &mut self.clients[i as usize];
        c.phase = Phase::Bound;
        if !c.ever_bound {
            c.ever_bound = true;
            self.ever_bound += 1;
        }
        let addr = c.addr;
        if c.holds && c.held != addr {
            self.unhold(i);
        }
        if let Some(j) = self.holders.insert(addr, i).filter(|&j| j != i) {
            let other = &mut self.clients[j as usize];
            if other.holds && other.held == addr {
                other.holds = false;
                self.conflicts += 1;
                if self.conflict_samples.len() < MAX_SAMPLES {
                    self.conflict_samples.push(Conflict {
                        address: addr,
                        holder: self.mac(j),
                        granted_to: self.mac(i),
                    });
                }
            }
        }
        let c = &mut self.clients[i as usize];
        c.holds = true;
        c.held = addr;
        self.bound.push_back(i);
    }

    /// Client `i` no longer holds its lease (it released it, or the server refused it).
    fn unhold(&mut self, i: u32) {
        let Some(c) = self.clients.get_mut(i as usize) else {
            return;
        };
        if c.holds {
            c.holds = false;
            if self.holders.get(&c.held) == Some(&i) {
                self.holders.remove(&c.held);
            }
        }
    }

    /// Client `i`'s exchange was refused or is over.
    fn idle(&mut self, i: u32, exchange: Exchange, refused: bool) {
        if refused {
            self.counts[exchange.index()].refused += 1;
            self.unhold(i);
        }
        if let Some(c) = self.clients.get_mut(i as usize) {
            c.phase = Phase::Idle;
        }
    }

    /// The leases clients hold now, by client link address: what the server must have.
    pub fn held_leases(&self) -> impl Iterator<Item = ([u8; 6], [u8; 16])> + '_ {
        self.clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.holds)
            .map(|(i, c)| (self.mac(i as u32), c.held))
    }

    /// How many times an address was granted to a client while another held it, and the
    /// first few of them.
    pub fn conflicts(&self) -> (u64, &[Conflict]) {
        (self.conflicts, &self.conflict_samples)
    }

    /// When it next has something to do (a start due, a message to give up on, the end), as
    /// time since the start; `None` once it has finished.
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.finished() {
            return None;
        }
        let mut next = self.timeouts.front().map(|t| t.0);
        let end = nanos(self.plan.duration);
        if self.started < self.due(end) {
            let at = ((self.started + 1) as f64 * 1e9 / self.plan.rate).ceil() as u64;
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        Some(Duration::from_nanos(next.unwrap_or(end)))
    }

    /// True once every exchange has started and every message has its answer or is dropped.
    pub fn finished(&self) -> bool {
        let end = nanos(self.plan.duration);
        self.sends.is_empty()
            && self.control.is_empty()
            && self.started >= self.due(end)
            && self.last_now >= end
            && self.timeouts.iter().all(|&(_, i, seq)| {
                self.clients[i as usize].seq != seq
                    || matches!(self.clients[i as usize].phase, Phase::Idle | Phase::Bound)
            })
    }

    /// The counts of `exchange`.
    pub fn counts(&self, exchange: Exchange) -> &Counts {
        &self.counts[exchange.index()]
    }

    /// Exchanges started so far.
    pub fn started(&self) -> u64 {
        self.started
    }

    /// Distinct clients that held a lease at some time: the leases the server made.
    pub fn leases_made(&self) -> u64 {
        self.ever_bound
    }

    /// Frames received that were neither answers nor address resolution.
    pub fn other_frames(&self) -> u64 {
        self.other_frames
    }

    /// Clients holding a lease now.
    pub fn holding(&self) -> usize {
        self.clients
            .iter()
            .filter(|c| c.phase == Phase::Bound || c.phase == Phase::Renewing)
            .count()
    }

    /// The report of the run so far, over `elapsed` of sending (or longer, when the last
    /// exchange started later: a generator that fell behind offered less than asked).
    pub fn report(&self, elapsed: Duration) -> Report {
        report::Report::of(self, elapsed)
    }
}

/// Whether `send` waits for an answer: everything but a DHCPv4 RELEASE.
fn send_waits(family: Family, send: Send) -> bool {
    !(family == Family::V4 && matches!(send, Send::Release(_)))
}

#[cfg(test)]
mod tests;
