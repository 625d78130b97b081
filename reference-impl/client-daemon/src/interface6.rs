//! One interface's DHCPv6 client under the agent: the core ([`dhcplab_client6::Client`]) fed
//! with what its sockets hear, its timer, event program exits, carrier changes, signals and
//! duplicate addresses found by DAD, and its actions carried out: addresses (/128, with the
//! lifetimes the server gave) through rtnetlink, the binding and DUID files, the event program.
//! A delegated prefix is held and reported, but put on no interface: where it goes is the
//! business of the event program or the administrator, as with dhcpagent.

use crate::address::Dad;
use crate::control::Snapshot6;
use crate::interface::{Order, Surroundings, sleep_until};
use crate::net6::Link6;
use dhcplab_client::Level;
use dhcplab_client6::{Action, Binding, Client, Configuration, HostEvent, IaKind, State};
use dhcplab_wire::v6::Message;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;

/// An interface's DHCPv6 client and everything it needs.
pub struct Interface6 {
    /// The client core.
    pub client: Client,
    /// Sockets.
    pub link: Arc<Link6>,
    /// Everything else, as for the other family.
    pub at: Surroundings,
}

impl Interface6 {
    /// Runs until the agent stops it and the client has nothing left to do.
    pub async fn run(mut self, mut orders: mpsc::UnboundedReceiver<Order<HostEvent>>) {
        let (exit_tx, mut exits) = mpsc::unbounded_channel::<u64>();
        let mut buf = vec![0u8; 65_536];
        let mut stopping = false;
        let link = self.link.clone();
        loop {
            self.carry_out(&exit_tx).await;
            if stopping
                && self.client.state() == State::Idle
                && self.client.poll_timeout().is_none()
            {
                return;
            }
            tokio::select! {
                received = link.receive(&mut buf) => match received {
                    Ok(p) => {
                        self.at.heard(|| describe(&p));
                        self.client.handle_datagram(SystemTime::now(), &p);
                    }
                    Err(e) => self.at.receive_failed(&e).await,
                },
                () = sleep_until(self.client.poll_timeout()) => {
                    self.client.handle_timeout(SystemTime::now());
                }
                Some(run) = exits.recv() => {
                    self.at.programs.ended(run);
                    self.client.handle_program_exit(SystemTime::now(), run);
                }
                order = orders.recv(), if !stopping => {
                    stopping = !matches!(order, Some(Order::Host(_)));
                    match Order::event(order, HostEvent::Release, HostEvent::Drop) {
                        Some(e) => self.client.handle_host(SystemTime::now(), e),
                        None => return,
                    }
                }
            }
        }
    }

    /// Carries out every action the client has queued, and publishes its state.
    async fn carry_out(&mut self, exit_tx: &mpsc::UnboundedSender<u64>) {
        while let Some(action) = self.client.poll_action() {
            match action {
                Action::Transmit(t) => {
                    self.at.sending(|| describe(&t.payload), &t.destination);
                    let sent = self.link.transmit(&t).await;
                    self.at.sent(sent, &t.destination);
                }
                Action::Configure(c) => self.configure(&c).await,
                Action::Unconfigure(c) => self.unconfigure(&c).await,
                Action::SaveBinding(b) => {
                    self.at
                        .report(self.at.store.save_binding(&self.at.name, &b));
                    self.renew_lifetimes(&b).await;
                }
                Action::ForgetBinding => {
                    self.at.report(self.at.store.forget_binding(&self.at.name));
                }
                Action::SaveDuid(d) => {
                    self.at.report(self.at.store.save_duid(&d.to_bytes()));
                }
                Action::Program(order) => {
                    if let Some(run) =
                        self.at
                            .programs
                            .carry(order, &self.at.name, exit_tx, &self.at.log)
                    {
                        self.client.handle_program_exit(SystemTime::now(), run);
                    }
                }
                Action::Log { level, text } => self.at.log.log(level, &self.at.name, &text),
            }
        }
        if let Ok(mut board) = self.at.board.lock()
            && let Some((_, slot)) = board.get_mut(self.at.slot)
        {
            slot.v6 = Some(Snapshot6 {
                state: self.client.state().name().to_string(),
                binding: self.client.binding().cloned(),
                reply: self.client.last_reply().map(<[u8]>::to_vec),
            });
        }
    }

    /// Puts an address on the interface with the lifetimes its binding gives, and tells the
    /// client at once when DAD has nothing left to do (off on the interface, or the address
    /// was there already); else the DAD watcher reports it when the kernel does.
    async fn configure(&mut self, c: &Configuration) {
        if c.kind == IaKind::Pd {
            self.at.log.log(
                Level::Informational,
                &self.at.name,
                &format!(
                    "delegated prefix {}/{} held (put on no interface)",
                    c.address, c.prefix_len
                ),
            );
            return;
        }
        let lifetimes = self
            .client
            .binding()
            .and_then(|b| lifetimes(b, c, SystemTime::now()));
        if let Err(e) = self
            .at
            .addresses
            .add(
                self.at.index,
                IpAddr::V6(c.address),
                c.prefix_len,
                lifetimes,
            )
            .await
        {
            self.at.log.log(
                Level::Error,
                &self.at.name,
                &format!("configure {}/{}: {e}", c.address, c.prefix_len),
            );
            return;
        }
        let event = match self.at.addresses.dad(self.at.index, c.address).await {
            Ok(Some(Dad::Done)) => HostEvent::DadDone(c.address),
            Ok(Some(Dad::Failed)) => HostEvent::Duplicate(c.address),
            Ok(None) => return,
            Err(e) => {
                return self.at.log.log(
                    Level::Error,
                    &self.at.name,
                    &format!("DAD state of {}: {e}", c.address),
                );
            }
        };
        self.client.handle_host(SystemTime::now(), event);
    }

    /// Takes an address off the interface.
    async fn unconfigure(&self, c: &Configuration) {
        if c.kind == IaKind::Pd {
            self.at.log.log(
                Level::Informational,
                &self.at.name,
                &format!("delegated prefix {}/{} given up", c.address, c.prefix_len),
            );
            return;
        }
        if let Err(e) = self
            .at
            .addresses
            .remove(self.at.index, IpAddr::V6(c.address))
            .await
        {
            self.at.log.log(
                Level::Error,
                &self.at.name,
                &format!("unconfigure {}: {e}", c.address),
            );
        }
    }

    /// Gives the configured addresses the lifetimes of binding `b` (after a Renew or Rebind
    /// the kernel would otherwise remove them when the old valid lifetime ends).
    async fn renew_lifetimes(&self, b: &Binding) {
        let configured: Vec<Configuration> = self
            .client
            .configured()
            .iter()
            .filter(|c| c.kind == IaKind::Na)
            .cloned()
            .collect();
        for c in configured {
            let Some(l) = lifetimes(b, &c, SystemTime::now()) else {
                continue;
            };
            if let Err(e) = self
                .at
                .addresses
                .add(self.at.index, IpAddr::V6(c.address), c.prefix_len, Some(l))
                .await
            {
                self.at.log.log(
                    Level::Error,
                    &self.at.name,
                    &format!("lifetimes of {}: {e}", c.address),
                );
            }
        }
    }
}

/// The (preferred, valid) lifetimes left at `now` of `c` in binding `b`, in seconds as
/// IFA_CACHEINFO takes them (`u32::MAX` is infinite, the valid one at least 1); `None` when
/// `b` does not hold `c`.
pub fn lifetimes(b: &Binding, c: &Configuration, now: SystemTime) -> Option<(u32, u32)> {
    let (_, _, l) = b
        .leases()
        .find(|(kind, _, l)| *kind == c.kind && l.address == c.address)?;
    let left = |t: Option<SystemTime>| match t {
        None => u32::MAX,
        Some(t) => {
            let secs = t.duration_since(now).unwrap_or_default().as_secs();
            u32::try_from(secs)
                .unwrap_or(u32::MAX - 1)
                .min(u32::MAX - 1)
        }
    };
    // The kernel refuses a valid lifetime of 0 and a preferred one above the valid one.
    let valid = left(l.valid_until).max(1);
    Some((left(l.preferred_until).min(valid), valid))
}

/// A datagram named for `-v` messages: its DHCPv6 message type, or what is wrong.
fn describe(payload: &[u8]) -> String {
    match Message::decode(payload) {
        Ok(m) => {
            let t = m.msg_type();
            t.name()
                .map_or_else(|| format!("message type {}", t.0), str::to_string)
        }
        Err(e) => format!("{} bytes that do not decode ({e})", payload.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcplab_client6::{IaBinding, Lease6};
    use std::net::Ipv6Addr;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn kernel_lifetimes_are_what_is_left_of_the_leases() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let a: Ipv6Addr = "2001:db8::100".parse().expect("ip");
        let b: Ipv6Addr = "2001:db8::101".parse().expect("ip");
        let lease = |address, preferred: Option<u64>, valid: Option<u64>| Lease6 {
            address,
            prefix_len: 128,
            preferred_until: preferred.map(|s| now + Duration::from_secs(s)),
            valid_until: valid.map(|s| now + Duration::from_secs(s)),
        };
        let binding = Binding {
            server_id: vec![0, 1],
            server_unicast: None,
            reply: None,
            ias: vec![IaBinding {
                kind: IaKind::Na,
                iaid: 1,
                renew_at: None,
                rebind_at: None,
                leases: vec![lease(a, Some(30), Some(60)), lease(b, None, None)],
            }],
        };
        let c = |address| Configuration {
            kind: IaKind::Na,
            address,
            prefix_len: 128,
        };
        assert_eq!(lifetimes(&binding, &c(a), now), Some((30, 60)));
        assert_eq!(
            lifetimes(&binding, &c(a), now + Duration::from_secs(45)),
            Some((0, 15)),
            "a deprecated address keeps its valid time"
        );
        assert_eq!(
            lifetimes(&binding, &c(b), now),
            Some((u32::MAX, u32::MAX)),
            "infinite (RFC 8415 7.7: 0xffffffff)"
        );
        let other = Configuration {
            kind: IaKind::Pd,
            ..c(a)
        };
        assert_eq!(lifetimes(&binding, &other, now), None);
    }
}
