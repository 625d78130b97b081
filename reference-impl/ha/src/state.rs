//! Kea's HA states, with the names heartbeats and `status-get` show.

/// A state of the HA state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// A backup server: receives lease updates, serves nothing.
    Backup,
    /// Load balancing with the partner unreachable: updates are kept for later.
    CommunicationRecovery,
    /// Normal hot-standby operation.
    HotStandby,
    /// Normal load-balancing operation.
    LoadBalancing,
    /// Told by the partner it may be shut down: serves nothing.
    InMaintenance,
    /// The partner is down: this server serves every scope.
    PartnerDown,
    /// The partner is in maintenance: this server serves every scope.
    PartnerInMaintenance,
    /// The primary of a passive-backup setup.
    PassiveBackup,
    /// Synchronized, waiting for the partner to go to the normal state.
    Ready,
    /// Fetching the partner's leases.
    Syncing,
    /// Stopped by a clock skew over 60 s: serves its own scope, no heartbeats.
    Terminated,
    /// Starting, waiting to learn the partner's state.
    Waiting,
}

impl State {
    /// Every state.
    pub const ALL: [State; 12] = [
        State::Backup,
        State::CommunicationRecovery,
        State::HotStandby,
        State::LoadBalancing,
        State::InMaintenance,
        State::PartnerDown,
        State::PartnerInMaintenance,
        State::PassiveBackup,
        State::Ready,
        State::Syncing,
        State::Terminated,
        State::Waiting,
    ];

    /// Kea's name, as heartbeats carry it.
    pub fn name(self) -> &'static str {
        match self {
            State::Backup => "backup",
            State::CommunicationRecovery => "communication-recovery",
            State::HotStandby => "hot-standby",
            State::LoadBalancing => "load-balancing",
            State::InMaintenance => "in-maintenance",
            State::PartnerDown => "partner-down",
            State::PartnerInMaintenance => "partner-in-maintenance",
            State::PassiveBackup => "passive-backup",
            State::Ready => "ready",
            State::Syncing => "syncing",
            State::Terminated => "terminated",
            State::Waiting => "waiting",
        }
    }

    /// The state of a name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What this server knows of its partner's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerState {
    /// No contact yet (Kea logs UNDEFINED).
    Undefined,
    /// The last heartbeat or update failed.
    Unavailable,
    /// The state its last heartbeat answer gave.
    Known(State),
}

impl PartnerState {
    /// The name `status-get` and the logs use.
    pub fn name(self) -> &'static str {
        match self {
            PartnerState::Undefined => "undefined",
            PartnerState::Unavailable => "unavailable",
            PartnerState::Known(s) => s.name(),
        }
    }
}
