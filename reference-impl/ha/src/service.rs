//! One server's HA service: the state machine of Kea's HAService, its failure detection
//! (CommunicationState4), its query filter and the peer commands it sends and answers.

use crate::config::{BasicAuth, HaConfig, Mode, Peer, Role};
use crate::hash::load_balance_hash;
use crate::state::{PartnerState, State};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long Kea's HA HTTP client waits for an answer (TIMEOUT_DEFAULT_HTTP_CLIENT_REQUEST).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A clock skew over this many seconds is logged.
const SKEW_WARN: u64 = 30;
/// A clock skew over this many seconds stops the service (terminated).
const SKEW_TERMINATE: u64 = 60;
/// Kea's result codes.
const SUCCESS: i64 = 0;
const ERROR: i64 = 1;
const UNSUPPORTED: i64 = 2;
const EMPTY: i64 = 3;
/// The result of a refused ha-maintenance-notify.
const MAINTENANCE_NOT_ALLOWED: i64 = 1001;
/// Transitions one run of the state machine may make: each state handler moves on at most
/// once, so a longer chain is a loop.
const MAX_TRANSITIONS: usize = 16;

/// A peer command to POST to a partner: `{"command": ..., "service": ["dhcp4"], ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The number its answer must carry back ([`Ha::handle_answer`]).
    pub id: u64,
    /// The peer's name.
    pub peer: String,
    /// The peer's address (the host of its `url`).
    pub host: IpAddr,
    /// The peer's port.
    pub port: u16,
    /// The command.
    pub body: Value,
    /// How long the driver waits for the answer before it reports a failure.
    pub timeout: Duration,
    /// The `Authorization` header the peer requires, from its `basic-auth-*` parameters.
    pub authorization: Option<String>,
}

/// What the server must do besides sending requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The reply parked under `ticket` ([`Ha::lease_updates`]) may leave (`send`) or must be
    /// dropped, because the partner did not acknowledge its lease updates.
    Unpark {
        /// The ticket.
        ticket: u64,
        /// Send it (true) or drop it.
        send: bool,
    },
    /// Leases of a page the partner sent while syncing, as lease4-get-page shows them:
    /// each is taken unless the server holds the address with a later `cltt`.
    Merge(Vec<Value>),
    /// The state changed (Kea's HA_STATE_TRANSITION).
    Transition {
        /// The state left.
        from: State,
        /// The state entered.
        to: State,
        /// The partner's state as last known.
        partner: PartnerState,
    },
    /// Something to log as a warning (a clock skew).
    Warning(String),
}

/// What the query filter decided about a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// This server answers it.
    pub in_scope: bool,
    /// The class Kea's HA library gives it: `HA_` and the name of the server whose scope it
    /// is in, which pools may be limited to (`client-class`); none when it has no key.
    pub class: Option<String>,
}

/// A client query, as the query filter and the failure detection see it.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    /// The DHCP message type (option 53), if any.
    pub message_type: Option<u8>,
    /// `chaddr`, `hlen` bytes of it.
    pub hwaddr: &'a [u8],
    /// Option 61's data, type byte included.
    pub client_id: Option<&'a [u8]>,
    /// The `secs` field.
    pub secs: u16,
}

#[derive(Debug, Clone)]
enum Pending {
    Heartbeat,
    Update {
        ticket: Option<u64>,
    },
    Sync(SyncStep),
    Backlog,
    /// An answer nobody waits for (dhcp-enable after a failed sync, ha-reset).
    Ignored,
    MaintenanceNotify {
        cancel: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncStep {
    Disable,
    Page,
    Notify,
}

#[derive(Debug, Clone, Default)]
struct Ticket {
    outstanding: usize,
    failed: bool,
}

/// A lease update kept in communication-recovery.
#[derive(Debug, Clone)]
struct Delayed {
    delete: bool,
    lease: Value,
}

/// One server's HA service.
#[derive(Debug)]
pub struct Ha {
    config: HaConfig,
    state: State,
    /// The state before in-maintenance or partner-in-maintenance, to go back to on cancel.
    before_maintenance: Option<State>,
    /// partner-down was entered by ha-maintenance-start: serve every scope.
    maintenance_start: bool,
    partner_state: PartnerState,
    partner_scopes: Vec<String>,
    partner_unsent: Option<i64>,
    partner_unsent_before: Option<i64>,
    /// Partner's clock minus ours, in whole seconds, at the last heartbeat.
    skew: i64,
    last_skew_warning: Option<SystemTime>,
    last_poke: SystemTime,
    scopes: BTreeSet<String>,
    /// DHCP service as this server's state sets it.
    service_enabled: bool,
    /// dhcp-disable from the partner (origin ha-partner): until when (`None`: no limit).
    partner_disabled: crate::Disable,
    sync_complete_notified: bool,
    /// Clients seen while communication is interrupted, and whether each is unacked.
    clients: BTreeMap<(Vec<u8>, Vec<u8>), bool>,
    analyzed: u64,
    heartbeat_at: Option<SystemTime>,
    heartbeat_in_flight: bool,
    sync: Option<Option<String>>,
    unsent_update_count: i64,
    backlog: Vec<Delayed>,
    overflown: bool,
    /// The kept updates being sent, one at a time, when contact came back.
    flushing: Option<VecDeque<Delayed>>,
    tickets: BTreeMap<u64, Ticket>,
    pending: BTreeMap<u64, Pending>,
    next_id: u64,
    requests: VecDeque<Request>,
    effects: VecDeque<Effect>,
}

fn epoch(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn answer(result: i64, text: &str) -> Value {
    json!({ "result": result, "text": text })
}

fn command(name: &str, arguments: Option<Value>) -> Value {
    let mut c = json!({ "command": name, "service": [ "dhcp4" ] });
    if let Some(a) = arguments {
        c["arguments"] = a;
    }
    c
}

/// Whether Kea balances messages of this type between the servers (its HA types).
fn balanced(c: &Client<'_>) -> bool {
    matches!(c.message_type, Some(1 | 3 | 4 | 7 | 8))
}

/// Why a peer's answer is not a success.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    /// No answer (the driver's reason), or not an answer of Kea's form.
    Failed(String),
    /// An answer with this result code (neither 0 nor 3).
    Code(i64),
}

/// The answer map of a peer's answer: the first of a list (the Control Agent's form), or the
/// map itself.
fn answer_map(answer: &Value) -> Option<&Value> {
    match answer {
        Value::Array(l) => l.first(),
        other => Some(other),
    }
}

/// The arguments of a peer's successful answer (result 0 or 3), or why it is not one.
fn verify(answer: Result<Value, String>) -> Result<Option<Value>, Refusal> {
    let answer = answer.map_err(Refusal::Failed)?;
    let a = answer_map(&answer).ok_or_else(|| Refusal::Failed("empty answer list".into()))?;
    let code = a
        .get("result")
        .and_then(Value::as_i64)
        .ok_or_else(|| Refusal::Failed("answer without a 'result'".into()))?;
    if code != SUCCESS && code != EMPTY {
        return Err(Refusal::Code(code));
    }
    Ok(a.get("arguments").cloned())
}

impl Ha {
    /// The service of a server started (or reconfigured) at `now`, in the waiting state;
    /// the first heartbeat goes after `heartbeat-delay`.
    pub fn new(config: HaConfig, now: SystemTime) -> Self {
        let mut ha = Ha {
            config,
            state: State::Waiting,
            before_maintenance: None,
            maintenance_start: false,
            partner_state: PartnerState::Undefined,
            partner_scopes: Vec::new(),
            partner_unsent: None,
            partner_unsent_before: None,
            skew: 0,
            last_skew_warning: None,
            last_poke: now,
            scopes: BTreeSet::new(),
            service_enabled: false,
            partner_disabled: crate::Disable::default(),
            sync_complete_notified: false,
            clients: BTreeMap::new(),
            analyzed: 0,
            heartbeat_at: None,
            heartbeat_in_flight: false,
            sync: None,
            unsent_update_count: 0,
            backlog: Vec::new(),
            overflown: false,
            flushing: None,
            tickets: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_id: 1,
            requests: VecDeque::new(),
            effects: VecDeque::new(),
        };
        ha.run(now);
        ha
    }

    /// Goes on numbering requests and tickets after `previous` (the service a reload
    /// replaced), so that a late answer to one of its requests matches nothing here.
    pub fn continue_after(&mut self, previous: &Ha) {
        self.next_id = self.next_id.max(previous.next_id);
    }

    /// The configuration.
    pub fn config(&self) -> &HaConfig {
        &self.config
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The partner's state as last known.
    pub fn partner_state(&self) -> PartnerState {
        self.partner_state
    }

    /// The scopes (server names) this server serves.
    pub fn scopes(&self) -> Vec<String> {
        self.scopes.iter().cloned().collect()
    }

    /// Whether the DHCP service is on: the state allows it and the partner has not disabled
    /// it (a partner's dhcp-disable ends by itself after its `max-period`).
    pub fn dhcp_enabled(&self, now: SystemTime) -> bool {
        self.service_enabled && !self.partner_disabled.active(now)
    }

    /// Whether a peer command whose `Authorization` header is `header` may be run: always,
    /// unless this server's own peer entry has `basic-auth-*` credentials, which it must
    /// carry (as Kea's HA listener requires them).
    pub fn authorizes(&self, header: Option<&str>) -> bool {
        self.config
            .this_server()
            .basic_auth
            .as_ref()
            .is_none_or(|a| a.admits(header))
    }

    /// When the service next needs the clock.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        self.heartbeat_at
    }

    /// The next peer command to send.
    pub fn poll_request(&mut self) -> Option<Request> {
        self.requests.pop_front()
    }

    /// The next effect to carry out.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// Runs the heartbeat timer if it is due.
    pub fn handle_timeout(&mut self, now: SystemTime) {
        if self.heartbeat_at.is_some_and(|t| t <= now) {
            self.heartbeat_at = None;
            if let Some(partner) = self.config.partner().cloned() {
                self.heartbeat_in_flight = true;
                self.send(
                    &partner,
                    command("ha-heartbeat", None),
                    Pending::Heartbeat,
                    REQUEST_TIMEOUT,
                );
            }
        }
    }

    /// Kea's buffer4_receive callout, the query filter: whether this server answers
    /// `client`, and the class it gives the query. A query for the partner's scope while
    /// communication is interrupted counts towards failure detection.
    pub fn accepts(&mut self, now: SystemTime, client: &Client<'_>) -> Verdict {
        let scope = self.scope_of(client).and_then(|i| self.config.peers.get(i));
        // A message that is not balanced is always served; a balanced one without a key never.
        let in_scope = !balanced(client) || scope.is_some_and(|p| self.scopes.contains(&p.name));
        let class = scope.map(|p| format!("HA_{}", p.name));
        if !in_scope && self.interrupted(now) {
            self.analyze(client);
        }
        Verdict { in_scope, class }
    }

    /// The index of the peer whose scope the query is in; `None` when it has no key.
    /// DISCOVER, REQUEST, DECLINE, RELEASE and INFORM are balanced by their client's key;
    /// other messages go to the primary's scope.
    fn scope_of(&self, c: &Client<'_>) -> Option<usize> {
        if !balanced(c) {
            return Some(0);
        }
        let key = match c.client_id {
            Some(id) if !id.is_empty() => id,
            _ => c.hwaddr,
        };
        if key.is_empty() {
            return None;
        }
        Some(if self.config.mode == Mode::LoadBalancing {
            usize::from(load_balance_hash(key) % 2)
        } else {
            0
        })
    }

    fn interrupted(&self, now: SystemTime) -> bool {
        now.duration_since(self.last_poke)
            .is_ok_and(|d| d > self.config.max_response_delay)
    }

    /// Kea's CommunicationState4::analyzeMessage.
    fn analyze(&mut self, c: &Client<'_>) {
        self.analyzed += 1;
        let mut secs = c.secs;
        // Some clients (Windows) send secs in little-endian order.
        if secs > 255 && secs & 0xff == 0 {
            secs = secs.swap_bytes();
        }
        let unacked = u64::from(secs) * 1000 > self.config.max_ack_delay.as_millis() as u64;
        let key = (c.hwaddr.to_vec(), c.client_id.unwrap_or_default().to_vec());
        let entry = self.clients.entry(key).or_insert(false);
        *entry |= unacked;
    }

    fn unacked(&self) -> usize {
        self.clients.values().filter(|u| **u).count()
    }

    fn failure_detected(&self) -> bool {
        let max = self.config.max_unacked_clients;
        max == 0 || self.unacked() > max as usize
    }

    fn poke(&mut self, now: SystemTime) {
        self.last_poke = now;
        self.clients.clear();
        self.analyzed = 0;
    }

    /// Kea's HAService::shouldPartnerDown.
    fn should_partner_down(&self, now: SystemTime) -> bool {
        if !self.interrupted(now) {
            return false;
        }
        let me = self.config.this_server().role;
        if self.dhcp_enabled(now)
            && (self.config.mode == Mode::LoadBalancing || me == Role::Standby)
        {
            return self.failure_detected();
        }
        true
    }

    fn should_terminate(&mut self, now: SystemTime) -> bool {
        if self.skew.unsigned_abs() > SKEW_TERMINATE {
            self.effects.push_back(Effect::Warning(format!(
                "HA_HIGH_CLOCK_SKEW_CAUSES_TERMINATION {}",
                self.skew_text()
            )));
            return true;
        }
        if self.skew.unsigned_abs() > SKEW_WARN
            && self.last_skew_warning.is_none_or(|t| {
                now.duration_since(t)
                    .is_ok_and(|d| d >= Duration::from_secs(60))
            })
        {
            self.last_skew_warning = Some(now);
            self.effects.push_back(Effect::Warning(format!(
                "HA_HIGH_CLOCK_SKEW {}, please synchronize clocks!",
                self.skew_text()
            )));
        }
        false
    }

    fn skew_text(&self) -> String {
        let way = if self.skew < 0 { "behind" } else { "ahead" };
        format!("partner's clock is {}s {way}", self.skew.unsigned_abs())
    }

    fn normal_state(&self) -> State {
        match self.config.mode {
            Mode::LoadBalancing => State::LoadBalancing,
            Mode::HotStandby => State::HotStandby,
            Mode::PassiveBackup => State::PassiveBackup,
        }
    }

    /// Kea's isPartnerStateInvalid: the partner runs a mode this server does not.
    fn partner_state_invalid(&self) -> bool {
        let lb = self.config.mode == Mode::LoadBalancing;
        match self.partner_state {
            PartnerState::Known(State::CommunicationRecovery | State::LoadBalancing) => !lb,
            PartnerState::Known(State::HotStandby) => self.config.mode != Mode::HotStandby,
            _ => false,
        }
    }

    fn schedule_heartbeat(&mut self, now: SystemTime) {
        let delay = self.config.heartbeat_delay;
        if delay.is_zero()
            || self.heartbeat_at.is_some()
            || self.heartbeat_in_flight
            || self.sync.is_some()
            || self.config.partner().is_none()
        {
            return;
        }
        self.heartbeat_at = Some(now + delay);
    }

    /// Runs the state machine until a state handler stays where it is.
    fn run(&mut self, now: SystemTime) {
        for _ in 0..MAX_TRANSITIONS {
            match self.next_state(now) {
                Some(next) if next != self.state => self.transition(next),
                _ => return,
            }
        }
    }

    /// The state handler of the current state: where to go, if anywhere.
    fn next_state(&mut self, now: SystemTime) -> Option<State> {
        use PartnerState::{Known, Unavailable};
        let me = self.config.this_server().role;
        let partner = self.partner_state;
        match self.state {
            State::Backup | State::PassiveBackup | State::Terminated => None,
            State::InMaintenance => {
                self.schedule_heartbeat(now);
                None
            }
            State::Waiting => {
                if me == Role::Backup {
                    return Some(State::Backup);
                }
                if self.config.mode == Mode::PassiveBackup {
                    return Some(State::PassiveBackup);
                }
                self.schedule_heartbeat(now);
                if self.should_terminate(now) {
                    return Some(State::Terminated);
                }
                // A partner in a mode this server does not run: stay waiting.
                if self.partner_state_invalid() {
                    return None;
                }
                let onwards = if self.config.sync_leases {
                    State::Syncing
                } else {
                    State::Ready
                };
                match partner {
                    Known(
                        State::HotStandby
                        | State::LoadBalancing
                        | State::CommunicationRecovery
                        | State::InMaintenance
                        | State::PartnerDown
                        | State::PartnerInMaintenance
                        | State::Ready,
                    ) => Some(onwards),
                    Known(State::Waiting) if me == Role::Primary => Some(onwards),
                    Unavailable if self.should_partner_down(now) => Some(State::PartnerDown),
                    _ => None,
                }
            }
            State::Syncing => {
                if self.should_terminate(now) {
                    return Some(State::Terminated);
                }
                match partner {
                    Known(State::Terminated) => Some(State::Terminated),
                    Unavailable if self.should_partner_down(now) => Some(State::PartnerDown),
                    Known(_) if self.sync.is_none() => {
                        self.start_sync();
                        None
                    }
                    _ => {
                        self.schedule_heartbeat(now);
                        None
                    }
                }
            }
            State::Ready => {
                self.schedule_heartbeat(now);
                if self.should_terminate(now) {
                    return Some(State::Terminated);
                }
                if self.partner_state_invalid() {
                    return Some(State::Waiting);
                }
                match partner {
                    Known(
                        State::HotStandby | State::LoadBalancing | State::CommunicationRecovery,
                    ) => Some(self.normal_state()),
                    Known(State::InMaintenance) => Some(State::PartnerInMaintenance),
                    Known(State::PartnerInMaintenance) => Some(State::InMaintenance),
                    Known(State::Ready) if me == Role::Primary => Some(self.normal_state()),
                    Known(State::Terminated) => Some(State::Terminated),
                    Unavailable if self.should_partner_down(now) => Some(State::PartnerDown),
                    _ => None,
                }
            }
            State::HotStandby | State::LoadBalancing | State::CommunicationRecovery => {
                self.schedule_heartbeat(now);
                if self.should_terminate(now) {
                    return Some(State::Terminated);
                }
                if self.partner_state_invalid() {
                    return Some(State::Waiting);
                }
                let recovering = self.state == State::CommunicationRecovery;
                match partner {
                    Known(State::InMaintenance) => Some(State::PartnerInMaintenance),
                    Known(State::PartnerDown) => Some(State::Waiting),
                    Known(State::PartnerInMaintenance) => Some(State::InMaintenance),
                    Known(State::Terminated) => Some(State::Terminated),
                    Unavailable if self.should_partner_down(now) => Some(State::PartnerDown),
                    Unavailable
                        if !recovering
                            && self.config.mode == Mode::LoadBalancing
                            && self.config.delayed_updates_limit > 0 =>
                    {
                        Some(State::CommunicationRecovery)
                    }
                    Known(State::Waiting | State::Syncing | State::Ready)
                        if recovering && self.overflown =>
                    {
                        Some(State::Waiting)
                    }
                    Known(State::LoadBalancing | State::CommunicationRecovery) if recovering => {
                        self.recover()
                    }
                    _ => None,
                }
            }
            State::PartnerDown => {
                self.schedule_heartbeat(now);
                if self.should_terminate(now) {
                    return Some(State::Terminated);
                }
                match partner {
                    Known(
                        State::HotStandby
                        | State::LoadBalancing
                        | State::CommunicationRecovery
                        | State::PartnerDown
                        | State::PartnerInMaintenance,
                    ) => Some(State::Waiting),
                    // The partner synced from us; if it sent updates we never saw since,
                    // sync again.
                    Known(State::Ready) => {
                        if self.partner_unsent != self.partner_unsent_before {
                            Some(State::Waiting)
                        } else {
                            Some(self.normal_state())
                        }
                    }
                    Known(State::Terminated) => Some(State::Terminated),
                    _ => None,
                }
            }
            State::PartnerInMaintenance => {
                self.schedule_heartbeat(now);
                if self.should_terminate(now) {
                    return Some(State::Terminated);
                }
                (partner == Unavailable).then_some(State::PartnerDown)
            }
        }
    }

    fn transition(&mut self, to: State) {
        let from = self.state;
        self.effects.push_back(Effect::Transition {
            from,
            to,
            partner: self.partner_state,
        });
        self.state = to;
        if from == State::CommunicationRecovery {
            self.backlog.clear();
            self.overflown = false;
            self.flushing = None;
        }
        let me = self.config.this_server().clone();
        let failover = || -> BTreeSet<String> {
            self.config
                .peers
                .iter()
                .filter(|p| matches!(p.role, Role::Primary | Role::Secondary))
                .map(|p| p.name.clone())
                .collect()
        };
        let default: BTreeSet<String> = if matches!(me.role, Role::Primary | Role::Secondary) {
            BTreeSet::from([me.name.clone()])
        } else {
            BTreeSet::new()
        };
        self.scopes = match to {
            State::HotStandby
            | State::LoadBalancing
            | State::CommunicationRecovery
            | State::PassiveBackup
            | State::Terminated => default,
            State::PartnerDown if self.maintenance_start || me.auto_failover => failover(),
            State::PartnerDown => default,
            State::PartnerInMaintenance => failover(),
            _ => BTreeSet::new(),
        };
        self.maintenance_start = false;
        self.service_enabled = matches!(
            to,
            State::LoadBalancing
                | State::HotStandby
                | State::CommunicationRecovery
                | State::PartnerDown
                | State::PartnerInMaintenance
                | State::PassiveBackup
                | State::Terminated
        );
        if matches!(to, State::HotStandby | State::LoadBalancing) && self.sync_complete_notified {
            self.sync_complete_notified = false;
            self.partner_disabled.clear();
        }
        if to == State::Terminated {
            self.heartbeat_at = None;
        }
    }

    fn send(&mut self, peer: &Peer, body: Value, pending: Pending, timeout: Duration) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, pending);
        self.requests.push_back(Request {
            id,
            peer: peer.name.clone(),
            host: peer.host,
            port: peer.port,
            body,
            timeout,
            authorization: peer.basic_auth.as_ref().map(BasicAuth::header),
        });
        id
    }

    fn send_to_partner(&mut self, body: Value, pending: Pending, timeout: Duration) {
        if let Some(p) = self.config.partner().cloned() {
            self.send(&p, body, pending, timeout);
        }
    }

    fn start_sync(&mut self) {
        self.heartbeat_at = None;
        self.sync = Some(None);
        self.sync_disable();
    }

    fn sync_disable(&mut self) {
        let period = (self.config.sync_timeout.as_secs()).max(1);
        let body = command(
            "dhcp-disable",
            Some(json!({ "origin": "ha-partner", "max-period": period })),
        );
        self.send_to_partner(body, Pending::Sync(SyncStep::Disable), REQUEST_TIMEOUT);
    }

    fn sync_step(&mut self, now: SystemTime, step: SyncStep, result: Result<Value, String>) {
        match (step, verify(result)) {
            (SyncStep::Disable, Ok(_)) => {
                let from = self
                    .sync
                    .clone()
                    .flatten()
                    .unwrap_or_else(|| "start".into());
                let body = command(
                    "lease4-get-page",
                    Some(json!({ "from": from, "limit": self.config.sync_page_limit })),
                );
                let timeout = self.config.sync_timeout;
                self.send_to_partner(body, Pending::Sync(SyncStep::Page), timeout);
            }
            (SyncStep::Page, Ok(args)) => {
                let leases: Vec<Value> = args
                    .as_ref()
                    .and_then(|a| a.get("leases"))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let last = leases
                    .last()
                    .and_then(|l| l.get("ip-address"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let full = leases.len() >= self.config.sync_page_limit as usize;
                self.effects.push_back(Effect::Merge(leases));
                match last {
                    Some(last) if full => {
                        self.sync = Some(Some(last));
                        self.sync_disable();
                    }
                    _ => self.send_to_partner(
                        command("ha-sync-complete-notify", None),
                        Pending::Sync(SyncStep::Notify),
                        REQUEST_TIMEOUT,
                    ),
                }
            }
            (SyncStep::Notify, Ok(_)) => self.sync_done(now, true),
            // A partner without ha-sync-complete-notify: enable its service as Kea 2.2 does.
            (SyncStep::Notify, Err(Refusal::Code(UNSUPPORTED))) => {
                self.enable_partner();
                self.sync_done(now, true);
            }
            (_, Err(_)) => {
                // Kea's synchronize() failed: the partner counts as unavailable until the
                // next heartbeat says otherwise, and the sync is tried again after it.
                self.enable_partner();
                self.partner_state = PartnerState::Unavailable;
                self.sync_done(now, false);
            }
        }
    }

    fn enable_partner(&mut self) {
        let body = command("dhcp-enable", Some(json!({ "origin": "ha-partner" })));
        self.send_to_partner(body, Pending::Ignored, REQUEST_TIMEOUT);
    }

    fn sync_done(&mut self, now: SystemTime, ok: bool) {
        self.sync = None;
        if ok && self.state == State::Syncing {
            self.transition(State::Ready);
        }
        self.schedule_heartbeat(now);
        self.run(now);
    }

    /// communication-recovery with the partner back: send the kept updates, or ask the
    /// partner to resync when they overflowed.
    fn recover(&mut self) -> Option<State> {
        if self.overflown {
            self.send_to_partner(command("ha-reset", None), Pending::Ignored, REQUEST_TIMEOUT);
            return Some(State::Waiting);
        }
        if self.flushing.is_some() {
            return None;
        }
        if self.backlog.is_empty() {
            return Some(State::LoadBalancing);
        }
        // In the order kept, one at a time, as Kea sends them.
        self.flushing = Some(std::mem::take(&mut self.backlog).into());
        self.flush_next();
        None
    }

    /// Sends the next kept update; false when none is left.
    fn flush_next(&mut self) -> bool {
        let Some(d) = self.flushing.as_mut().and_then(VecDeque::pop_front) else {
            return false;
        };
        let name = if d.delete {
            "lease4-del"
        } else {
            "lease4-update"
        };
        self.send_to_partner(
            command(name, Some(d.lease)),
            Pending::Backlog,
            REQUEST_TIMEOUT,
        );
        true
    }

    /// Sends the lease changes a reply commits to the peers that get updates (Kea's
    /// leases4_committed callout); `leases` and `deleted` are lease4-get maps with `cltt`.
    /// `Some(ticket)`: park the reply until [`Effect::Unpark`] with this ticket.
    pub fn lease_updates(&mut self, leases: Vec<Value>, deleted: Vec<Value>) -> Option<u64> {
        if !self.config.send_lease_updates || (leases.is_empty() && deleted.is_empty()) {
            return None;
        }
        let me = self.config.this_server().name.clone();
        let peers: Vec<Peer> = self
            .config
            .peers
            .iter()
            .filter(|p| p.name != me)
            .cloned()
            .collect();
        let ticket = self.next_id;
        self.next_id += 1;
        let mut awaited = 0;
        for peer in peers {
            let active = peer.role != Role::Backup;
            let recovering = self.state == State::CommunicationRecovery;
            if active && recovering && self.flushing.is_none() {
                for (delete, list) in [(true, &deleted), (false, &leases)] {
                    for l in list {
                        if self.backlog.len() >= self.config.delayed_updates_limit as usize {
                            self.overflown = true;
                        } else {
                            self.backlog.push(Delayed {
                                delete,
                                lease: update_arguments(l, !delete),
                            });
                        }
                    }
                }
                continue;
            }
            // While the kept updates go out, new ones go too (the partner is back).
            let sends = !active
                || (recovering && self.flushing.is_some())
                || matches!(
                    self.state,
                    State::HotStandby | State::LoadBalancing | State::PartnerInMaintenance
                );
            if !sends {
                if active {
                    self.unsent_update_count = self.unsent_update_count.checked_add(1).unwrap_or(1);
                }
                continue;
            }
            let wait = active || self.config.wait_backup_ack;
            let t = wait.then_some(ticket);
            for l in &deleted {
                let body = command("lease4-del", Some(update_arguments(l, false)));
                self.send(&peer, body, Pending::Update { ticket: t }, REQUEST_TIMEOUT);
                awaited += usize::from(wait);
            }
            for l in &leases {
                let body = command("lease4-update", Some(update_arguments(l, true)));
                self.send(&peer, body, Pending::Update { ticket: t }, REQUEST_TIMEOUT);
                awaited += usize::from(wait);
            }
        }
        (awaited > 0).then(|| {
            self.tickets.insert(
                ticket,
                Ticket {
                    outstanding: awaited,
                    failed: false,
                },
            );
            ticket
        })
    }

    /// Takes the answer to request `id`: the partner's JSON answer, or why there is none
    /// (connection refused, timeout, not HTTP or not JSON).
    pub fn handle_answer(&mut self, now: SystemTime, id: u64, result: Result<Value, String>) {
        let Some(pending) = self.pending.remove(&id) else {
            return;
        };
        match pending {
            Pending::Heartbeat => self.heartbeat_answer(now, result),
            Pending::Update { ticket } => {
                let ok = verify(result).is_ok();
                if ok {
                    self.poke(now);
                } else if ticket.is_some() {
                    self.partner_state = PartnerState::Unavailable;
                }
                if let Some(t) = ticket {
                    self.settle(t, ok);
                }
                if !ok && ticket.is_some() {
                    self.run(now);
                }
            }
            Pending::Sync(step) => self.sync_step(now, step, result),
            Pending::Backlog => {
                if self.state != State::CommunicationRecovery || self.flushing.is_none() {
                    return;
                }
                if verify(result).is_err() {
                    // The partner resyncs from scratch (Kea's ha-reset), and so does this
                    // server.
                    self.send_to_partner(
                        command("ha-reset", None),
                        Pending::Ignored,
                        REQUEST_TIMEOUT,
                    );
                    self.transition(State::Waiting);
                    self.run(now);
                } else if !self.flush_next() {
                    self.transition(State::LoadBalancing);
                    self.run(now);
                }
            }
            Pending::MaintenanceNotify { cancel } => {
                if cancel {
                    return;
                }
                let code = result
                    .as_ref()
                    .ok()
                    .and_then(answer_map)
                    .and_then(|m| m.get("result"))
                    .and_then(Value::as_i64);
                match code {
                    Some(SUCCESS) => {
                        self.before_maintenance = Some(self.state);
                        self.transition(State::PartnerInMaintenance);
                    }
                    Some(MAINTENANCE_NOT_ALLOWED) => {
                        self.effects.push_back(Effect::Warning(format!(
                            "Unable to transition to the partner-in-maintenance state. The partner server responded with {}",
                            result.map(|a| a.to_string()).unwrap_or_default()
                        )));
                    }
                    _ => {
                        self.maintenance_start = true;
                        self.transition(State::PartnerDown);
                    }
                }
            }
            Pending::Ignored => {}
        }
    }

    fn settle(&mut self, ticket: u64, ok: bool) {
        let Some(t) = self.tickets.get_mut(&ticket) else {
            return;
        };
        t.outstanding = t.outstanding.saturating_sub(1);
        if !ok && !t.failed {
            t.failed = true;
            self.effects.push_back(Effect::Unpark {
                ticket,
                send: false,
            });
        }
        if t.outstanding == 0 {
            let failed = t.failed;
            self.tickets.remove(&ticket);
            if !failed {
                self.effects
                    .push_back(Effect::Unpark { ticket, send: true });
            }
        }
    }

    fn heartbeat_answer(&mut self, now: SystemTime, result: Result<Value, String>) {
        self.heartbeat_in_flight = false;
        let parsed = verify(result).map_err(|_| "no answer").and_then(|args| {
            let args = args.ok_or("heartbeat answer without arguments")?;
            let state = args
                .get("state")
                .and_then(Value::as_str)
                .and_then(State::from_name)
                .ok_or("heartbeat answer without a valid 'state'")?;
            let time = args
                .get("date-time")
                .and_then(Value::as_str)
                .and_then(dhcplab_utc::parse_http)
                .ok_or("heartbeat answer without a valid 'date-time'")?;
            let unsent = match args.get("unsent-update-count") {
                None => None,
                Some(v) => Some(
                    v.as_i64()
                        .ok_or("'unsent-update-count' is not an integer")?,
                ),
            };
            let scopes: Vec<String> = args
                .get("scopes")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Ok((state, time, unsent, scopes))
        });
        match parsed {
            Ok((state, time, unsent, scopes)) => {
                self.partner_state = PartnerState::Known(state);
                self.partner_scopes = scopes;
                self.partner_unsent_before = self.partner_unsent.or(unsent);
                self.partner_unsent = unsent;
                self.skew = time.saturating_sub(epoch(now));
                self.poke(now);
            }
            Err(_) => {
                self.partner_state = PartnerState::Unavailable;
                if self.state == State::PartnerDown && self.sync_complete_notified {
                    // HA_SYNCED_PARTNER_UNAVAILABLE: the partner synced and went away.
                    self.sync_complete_notified = false;
                    self.partner_disabled.clear();
                }
            }
        }
        if self.state != State::Terminated {
            self.schedule_heartbeat(now);
        }
        self.run(now);
    }

    /// Answers a peer or administrator command of the HA library, or `None` when `name` is
    /// not one (the server answers it). `args` is the command's `arguments` map.
    pub fn handle_command(
        &mut self,
        now: SystemTime,
        name: &str,
        args: &Map<String, Value>,
    ) -> Option<Value> {
        Some(match name {
            "ha-heartbeat" => json!({
                "result": SUCCESS,
                "text": "HA peer status returned.",
                "arguments": {
                    "state": self.state.name(),
                    "date-time": dhcplab_utc::format_http(epoch(now)),
                    "scopes": self.scopes(),
                    "unsent-update-count": self.unsent_update_count,
                }
            }),
            "ha-scopes" => self.set_scopes(args),
            "ha-continue" => answer(SUCCESS, "HA state machine is not paused."),
            "ha-reset" => {
                if self.state == State::Waiting {
                    answer(SUCCESS, "HA state machine already in WAITING state.")
                } else {
                    self.transition(State::Waiting);
                    self.run(now);
                    answer(SUCCESS, "HA state machine reset.")
                }
            }
            "ha-maintenance-start" => self.maintenance_start(),
            "ha-maintenance-notify" => self.maintenance_notify(now, args),
            "ha-maintenance-cancel" => {
                if self.state != State::PartnerInMaintenance {
                    answer(
                        ERROR,
                        "Unable to cancel maintenance request because the server is not in the partner-in-maintenance state.",
                    )
                } else {
                    self.send_to_partner(
                        command("ha-maintenance-notify", Some(json!({ "cancel": true }))),
                        Pending::MaintenanceNotify { cancel: true },
                        REQUEST_TIMEOUT,
                    );
                    let back = self.before_maintenance.take().unwrap_or(State::Waiting);
                    self.transition(back);
                    self.run(now);
                    answer(SUCCESS, "Server maintenance successfully canceled.")
                }
            }
            "ha-sync-complete-notify" => {
                if self.state == State::PartnerDown {
                    self.sync_complete_notified = true;
                } else {
                    self.partner_disabled.clear();
                }
                answer(
                    SUCCESS,
                    "Server successfully notified about the synchronization completion.",
                )
            }
            _ => return None,
        })
    }

    /// dhcp-disable from the partner (origin `ha-partner`), for `max_period` when given.
    pub fn disable_by_partner(&mut self, now: SystemTime, max_period: Option<Duration>) {
        self.partner_disabled.set(now, max_period);
    }

    /// dhcp-enable from the partner (origin `ha-partner`).
    pub fn enable_by_partner(&mut self) {
        self.partner_disabled.clear();
    }

    fn set_scopes(&mut self, args: &Map<String, Value>) -> Value {
        let Some(list) = args.get("scopes") else {
            return answer(ERROR, "'scopes' is mandatory for the 'ha-scopes' command");
        };
        let Some(list) = list.as_array() else {
            return answer(ERROR, "'scopes' must be a list in the 'ha-scopes' command");
        };
        let mut scopes = BTreeSet::new();
        for s in list {
            let Some(s) = s.as_str() else {
                return answer(
                    ERROR,
                    "scope name must be a string in the 'scopes' argument",
                );
            };
            if !self.config.peers.iter().any(|p| p.name == s) {
                return answer(
                    ERROR,
                    &format!(
                        "invalid server name specified '{s}' while enabling/disabling HA scopes"
                    ),
                );
            }
            scopes.insert(s.to_string());
        }
        self.scopes = scopes;
        answer(SUCCESS, "New HA scopes configured.")
    }

    /// ha-maintenance-start. Kea waits for the partner's answer before it answers; here the
    /// notification goes out and the answer says so, and the transition follows the
    /// partner's answer (partner-in-maintenance, or partner-down when it does not answer).
    fn maintenance_start(&mut self) -> Value {
        if matches!(
            self.state,
            State::Backup | State::InMaintenance | State::PartnerInMaintenance | State::Terminated
        ) {
            return answer(
                ERROR,
                &format!(
                    "Unable to transition the server from the {} to partner-in-maintenance state.",
                    self.state.name()
                ),
            );
        }
        self.send_to_partner(
            command("ha-maintenance-notify", Some(json!({ "cancel": false }))),
            Pending::MaintenanceNotify { cancel: false },
            REQUEST_TIMEOUT,
        );
        answer(
            SUCCESS,
            "The partner is being notified: this server goes to partner-in-maintenance when it agrees, to partner-down when it does not answer.",
        )
    }

    fn maintenance_notify(&mut self, now: SystemTime, args: &Map<String, Value>) -> Value {
        let Some(cancel) = args.get("cancel").and_then(Value::as_bool) else {
            return answer(
                ERROR,
                "'cancel' is mandatory for the 'ha-maintenance-notify' command",
            );
        };
        if cancel {
            if self.state != State::InMaintenance {
                return answer(
                    ERROR,
                    "Unable to cancel the maintenance for the server not in the in-maintenance state.",
                );
            }
            let back = self.before_maintenance.take().unwrap_or(State::Waiting);
            self.transition(back);
            self.run(now);
            return answer(SUCCESS, "Server maintenance canceled.");
        }
        if matches!(
            self.state,
            State::Backup | State::PartnerInMaintenance | State::Terminated
        ) {
            return answer(
                MAINTENANCE_NOT_ALLOWED,
                &format!(
                    "Unable to transition the server from the {} to in-maintenance state.",
                    self.state.name()
                ),
            );
        }
        if self.state != State::InMaintenance {
            self.before_maintenance = Some(self.state);
            self.transition(State::InMaintenance);
        }
        answer(SUCCESS, "Server is in-maintenance state.")
    }

    /// The `high-availability` part of `status-get`, as Kea 2.2 shows it.
    pub fn status(&self, now: SystemTime) -> Value {
        let me = self.config.this_server();
        let mut servers = json!({
            "local": { "role": me.role.name(), "scopes": self.scopes(), "state": self.state.name() }
        });
        if let Some(p) = self.config.partner() {
            let unacked = self.unacked();
            let max = self.config.max_unacked_clients as usize;
            let age = now
                .duration_since(self.last_poke)
                .map_or(0, |d| d.as_secs());
            servers["remote"] = json!({
                "age": age,
                "analyzed-packets": self.analyzed,
                "communication-interrupted": self.interrupted(now),
                "connecting-clients": self.clients.len(),
                "in-touch": self.partner_state != PartnerState::Undefined,
                "last-scopes": self.partner_scopes,
                "last-state": self.partner_state.name(),
                "role": p.role.name(),
                "unacked-clients": unacked,
                "unacked-clients-left": (max + 1).saturating_sub(unacked),
            });
        }
        json!([ { "ha-mode": self.config.mode.name(), "ha-servers": servers } ])
    }
}

/// A lease4-get map made the arguments of lease4-update (`force_create`) or lease4-del:
/// `cltt` replaced by `expire` (Kea's CommandCreator).
fn update_arguments(lease: &Value, force_create: bool) -> Value {
    let mut m = lease.as_object().cloned().unwrap_or_default();
    if let Some(cltt) = m.remove("cltt").and_then(|c| c.as_u64()) {
        let valid = m.get("valid-lft").and_then(Value::as_u64).unwrap_or(0);
        m.insert("expire".into(), json!(cltt + valid));
    }
    if force_create {
        m.insert("force-create".into(), json!(true));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests;
