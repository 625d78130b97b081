//! The server's side of high availability ([`dhcplab_ha`]): what the HA service asks of the
//! server (replies held until the partner acknowledges their lease updates, leases merged
//! while syncing, peer commands to send) and the lease commands the partner calls
//! (lease4-update, lease4-get-page), as Kea's libdhcp_lease_cmds.so answers them.
//!
//! Differences from Kea 2.2:
//! - a reply waiting for the partner's acknowledgement has passed its pkt4_send and
//!   buffer4_send callouts already (Kea runs them when it unparks the reply);
//! - ha-maintenance-start answers at once, and the state follows the partner's answer.

use crate::control::lease_json;
use crate::process::Held;
use crate::{Action, Server};
use dhcplab_ha::{Effect, Ha};
use dhcplab_memfile::Lease4;
use serde_json::Value;
use std::time::SystemTime;

/// A change of HA state, for the driver's log and the simulator's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The state left.
    pub from: dhcplab_ha::State,
    /// The state entered.
    pub to: dhcplab_ha::State,
    /// The partner's state as last known.
    pub partner: dhcplab_ha::PartnerState,
}

impl Server {
    /// The HA service, when `libdhcp_ha.so` is configured.
    pub fn ha(&self) -> Option<&Ha> {
        self.ha.as_ref()
    }

    /// Takes the answer to an [`Action::PeerRequest`]: the peer's JSON answer, or why there
    /// is none (refused, timed out, not HTTP, not JSON).
    pub fn handle_peer_answer(&mut self, now: SystemTime, id: u64, answer: Result<Value, String>) {
        if let Some(ha) = self.ha.as_mut() {
            ha.handle_answer(now, id, answer);
        }
        self.drain_ha(now);
    }

    /// Whether the DHCP service is on: not disabled by dhcp-disable, and allowed by the HA
    /// state.
    pub(crate) fn service_enabled(&self, now: SystemTime) -> bool {
        !self.user_disabled.active(now) && self.ha.as_ref().is_none_or(|h| h.dhcp_enabled(now))
    }

    /// Starts the HA service the configuration asks for (again, after a reload: Kea's HA
    /// service restarts in the waiting state), dropping the replies the old one held.
    pub(crate) fn start_ha(&mut self, now: SystemTime) {
        self.held.clear();
        let previous = self.ha.take();
        let before = previous.as_ref().map(|h| (h.state(), h.partner_state()));
        self.ha = self.hooks.ha.clone().map(|c| {
            let mut ha = Ha::new(c, now);
            if let Some(p) = &previous {
                ha.continue_after(p);
            }
            ha
        });
        if let (Some((from, partner)), Some(_)) = (before, &self.ha)
            && from != dhcplab_ha::State::Waiting
        {
            // The service restarts: the log shows where it came from.
            let to = dhcplab_ha::State::Waiting;
            self.announce(Transition { from, to, partner });
        }
        self.drain_ha(now);
    }

    /// Turns what the HA service asks for into actions.
    pub(crate) fn drain_ha(&mut self, now: SystemTime) {
        let Some(ha) = self.ha.as_mut() else {
            return;
        };
        let mut requests = Vec::new();
        let mut effects = Vec::new();
        while let Some(r) = ha.poll_request() {
            requests.push(r);
        }
        while let Some(e) = ha.poll_effect() {
            effects.push(e);
        }
        for r in requests {
            self.actions.push_back(Action::PeerRequest(r));
        }
        for e in effects {
            match e {
                Effect::Unpark { ticket, send } => {
                    if let Some(Some(held)) = self.held.remove(&ticket) {
                        if send {
                            crate::process::release_held(self, now, held);
                        } else {
                            tracing::warn!(
                                "HA_LEASE_UPDATE_FAILED: the partner did not acknowledge; the reply is dropped"
                            );
                        }
                    }
                }
                Effect::Merge(leases) => self.merge(now, &leases),
                Effect::Transition { from, to, partner } => {
                    self.announce(Transition { from, to, partner });
                }
                Effect::Warning(w) => tracing::warn!("{w}"),
            }
        }
    }

    /// Logs a transition as Kea does and tells the driver.
    fn announce(&mut self, t: Transition) {
        tracing::info!(
            "HA_STATE_TRANSITION server transitions from {} to {} state, partner state is {}",
            t.from.name().to_uppercase(),
            t.to.name().to_uppercase(),
            t.partner.name().to_uppercase()
        );
        self.actions.push_back(Action::HaTransition(t));
    }

    /// Sends the lease changes a query committed to the partner (Kea's leases4_committed
    /// callout of the HA library) and holds `reply` until the partner acknowledges them; the
    /// reply to send now, if it need not wait.
    pub(crate) fn hold_for_partner(
        &mut self,
        now: SystemTime,
        leases: &[Lease4],
        deleted: &[Lease4],
        reply: Option<Held>,
    ) -> Option<Held> {
        let Some(ha) = self.ha.as_mut() else {
            return reply;
        };
        let ticket = ha.lease_updates(
            leases.iter().map(lease_json).collect(),
            deleted.iter().map(lease_json).collect(),
        );
        let out = match ticket {
            Some(t) => {
                self.held.insert(t, reply);
                None
            }
            None => reply,
        };
        self.drain_ha(now);
        out
    }

    /// Takes the leases of a page the partner sent: an address held with a later or equal
    /// `cltt` keeps its lease (Kea's synchronization skips stale leases); leases held only
    /// here stay.
    fn merge(&mut self, now: SystemTime, leases: &[Value]) {
        for l in leases {
            let Some(args) = l.as_object() else {
                continue;
            };
            match self.lease_from_args(args, now) {
                Ok(lease) => {
                    let newer = self
                        .leases
                        .get(lease.address)
                        .is_none_or(|mine| mine.cltt() < lease.cltt());
                    if newer {
                        if let Err(e) = self.commit(lease) {
                            tracing::warn!("HA lease sync: lease not taken: {e}");
                        }
                    }
                }
                Err(e) => tracing::warn!("HA lease sync: {}", e.0),
            }
        }
    }
}
