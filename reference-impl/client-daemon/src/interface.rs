//! One interface under the agent's control: the client core fed with what its sockets hear,
//! its timer, probe results, event program exits, carrier changes and signals, and its
//! actions carried out.

use crate::address::Addresses;
use crate::control::Board;
use crate::log::Logger;
use crate::net::Link;
use crate::program::Programs;
use crate::store::Store;
use dhcplab_client::{Action, Client, HostEvent, Level, Order as ProgramOrder, State};
use dhcplab_wire::v4::Message;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;

/// What the agent tells an interface's task; `E` is its client's host event type (DHCPv4's
/// or DHCPv6's).
#[derive(Debug, Clone, Copy)]
pub enum Order<E> {
    /// Something happened to the host (carrier, suspend and resume), or an order came.
    Host(E),
    /// The agent is stopping: release, drop, or leave the lease as it is (`-a`).
    Stop(StopWith),
}

impl<E> Order<E> {
    /// The host event to hand the client for `order` (the next one from the task's channel):
    /// the event itself, or for a stop the client's `release` or `drop` event; `None` when the
    /// task is to end at once (`-a` leaves everything, or the channel closed).
    pub fn event(order: Option<Self>, release: E, drop: E) -> Option<E> {
        match order? {
            Order::Host(e) => Some(e),
            Order::Stop(StopWith::Release) => Some(release),
            Order::Stop(StopWith::Drop) => Some(drop),
            Order::Stop(StopWith::Leave) => None,
        }
    }
}

/// Waits until `at` (for ever when `None`): a client's next timer.
pub async fn sleep_until(at: Option<SystemTime>) {
    match at {
        Some(at) => {
            let d = at.duration_since(SystemTime::now()).unwrap_or_default();
            tokio::time::sleep(d).await;
        }
        None => std::future::pending().await,
    }
}

/// What an interface's task has besides its client and sockets, the same for both families.
pub struct Surroundings {
    /// Name.
    pub name: String,
    /// Kernel index.
    pub index: u32,
    /// Netlink.
    pub addresses: Addresses,
    /// Files.
    pub store: Store,
    /// Event program runs.
    pub programs: Programs,
    /// Messages.
    pub log: Arc<Logger>,
    /// Where the control socket reads this interface's state.
    pub board: Board,
    /// This interface's slot on the board.
    pub slot: usize,
}

impl Surroundings {
    /// With `-v`, logs a datagram received, named by `what`.
    pub fn heard(&self, what: impl FnOnce() -> String) {
        if self.log.verbose() {
            self.log.log(
                Level::Informational,
                &self.name,
                &format!("received {}", what()),
            );
        }
    }

    /// With `-v`, logs a datagram about to be sent to `to`, named by `what`.
    pub fn sending(&self, what: impl FnOnce() -> String, to: &dyn std::fmt::Display) {
        if self.log.verbose() {
            self.log.log(
                Level::Informational,
                &self.name,
                &format!("sending {} to {to}", what()),
            );
        }
    }

    /// Logs the error of a file the store could not read or write.
    pub fn report(&self, result: Result<(), crate::store::StoreError>) {
        if let Err(e) = result {
            self.log.log(Level::Error, &self.name, &e.to_string());
        }
    }

    /// Logs a failed send to `to`.
    pub fn sent(&self, result: std::io::Result<()>, to: &dyn std::fmt::Display) {
        if let Err(e) = result {
            self.log
                .log(Level::Error, &self.name, &format!("send to {to}: {e}"));
        }
    }

    /// Logs a failed receive, and pauses a little so a socket that keeps failing does not
    /// spin.
    pub async fn receive_failed(&self, e: &std::io::Error) {
        self.log
            .log(Level::Error, &self.name, &format!("receive: {e}"));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// How an interface ends when the agent stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWith {
    /// RELEASE_ON_SIGTERM: give the lease back.
    Release,
    /// The default: stop using the lease, keep the lease file.
    Drop,
    /// `-a`: leave the address and the lease as they are.
    Leave,
}

/// An interface and everything its client needs.
pub struct Interface {
    /// The client core.
    pub client: Client,
    /// Sockets.
    pub link: Arc<Link>,
    /// Everything else, as for the other family.
    pub at: Surroundings,
}

impl StopWith {
    /// How an interface ends: left as it is with `-a` (`adopt`), else released when
    /// RELEASE_ON_SIGTERM says so, else dropped.
    pub fn choose(adopt: bool, release_on_sigterm: bool) -> Self {
        if adopt {
            StopWith::Leave
        } else if release_on_sigterm {
            StopWith::Release
        } else {
            StopWith::Drop
        }
    }
}

impl Interface {
    /// Runs until the agent stops it and the client has nothing left to do.
    pub async fn run(mut self, mut orders: mpsc::UnboundedReceiver<Order<HostEvent>>) {
        let (probe_tx, mut probes) = mpsc::unbounded_channel::<(Ipv4Addr, bool)>();
        let (exit_tx, mut exits) = mpsc::unbounded_channel::<u64>();
        let mut buf = vec![0u8; 65_536];
        let mut stopping = false;
        let link = self.link.clone();
        loop {
            self.carry_out(&probe_tx, &exit_tx).await;
            if stopping
                && self.client.state() == State::Idle
                && self.client.poll_timeout().is_none()
            {
                return;
            }
            tokio::select! {
                received = link.receive(&mut buf) => match received {
                    Ok(payloads) => {
                        for p in payloads {
                            self.at.heard(|| describe(&p));
                            self.client.handle_datagram(SystemTime::now(), &p);
                        }
                    }
                    Err(e) => self.at.receive_failed(&e).await,
                },
                () = sleep_until(self.client.poll_timeout()) => {
                    self.client.handle_timeout(SystemTime::now());
                }
                Some((address, in_use)) = probes.recv() => {
                    self.client.handle_probe(SystemTime::now(), address, in_use);
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
    async fn carry_out(
        &mut self,
        probe_tx: &mpsc::UnboundedSender<(Ipv4Addr, bool)>,
        exit_tx: &mpsc::UnboundedSender<u64>,
    ) {
        while let Some(action) = self.client.poll_action() {
            match action {
                Action::Transmit(t) => {
                    self.at.sending(|| describe(&t.payload), &t.destination);
                    let sent = self.link.transmit(&t).await;
                    self.at.sent(sent, &t.destination);
                }
                Action::Probe(address) => {
                    let link = self.link.clone();
                    let tx = probe_tx.clone();
                    let log = self.at.log.clone();
                    let name = self.at.name.clone();
                    tokio::spawn(async move {
                        let in_use = link.probe(address).await.unwrap_or_else(|e| {
                            log.log(
                                Level::Error,
                                &name,
                                &format!("ARP probe of {address}: {e}; taken as free"),
                            );
                            false
                        });
                        let _ = tx.send((address, in_use));
                    });
                }
                Action::Configure(c) => {
                    if let Err(e) = self.at.addresses.configure(self.at.index, &c).await {
                        self.at.log.log(
                            Level::Error,
                            &self.at.name,
                            &format!("configure {}/{}: {e}", c.address, c.prefix_len),
                        );
                    }
                }
                Action::Unconfigure(c) => {
                    if let Err(e) = self.at.addresses.unconfigure(self.at.index, &c).await {
                        self.at.log.log(
                            Level::Error,
                            &self.at.name,
                            &format!("unconfigure {}: {e}", c.address),
                        );
                    }
                }
                Action::SaveLease(lease) => {
                    self.at
                        .report(self.at.store.save_lease(&self.at.name, &lease));
                }
                Action::ForgetLease => {
                    self.at.report(self.at.store.forget_lease(&self.at.name));
                }
                Action::RunProgram { run, event } => {
                    self.program(ProgramOrder::Run { run, event }, exit_tx);
                }
                Action::SignalProgram { run, signal } => {
                    self.program(ProgramOrder::Signal { run, signal }, exit_tx);
                }
                Action::Log { level, text } => self.at.log.log(level, &self.at.name, &text),
            }
        }
        if let Ok(mut board) = self.at.board.lock()
            && let Some((_, slot)) = board.get_mut(self.at.slot)
        {
            slot.state = format!("{:?}", self.client.state());
            slot.lease = self.client.lease().cloned();
        }
    }
}

impl Interface {
    /// Carries out an order for the event program.
    fn program(&mut self, order: ProgramOrder, exit_tx: &mpsc::UnboundedSender<u64>) {
        if let Some(run) = self
            .at
            .programs
            .carry(order, &self.at.name, exit_tx, &self.at.log)
        {
            self.client.handle_program_exit(SystemTime::now(), run);
        }
    }
}

/// A datagram named for `-v` messages: its DHCP message type, or BOOTP, or what is wrong.
fn describe(payload: &[u8]) -> String {
    match Message::decode(payload) {
        Ok(m) => match m.message_type() {
            Ok(Some(kind)) => format!("{kind:?}").to_uppercase(),
            Ok(None) if m.op == Message::BOOTREPLY => "BOOTREPLY".into(),
            Ok(None) => "BOOTREQUEST".into(),
            Err(e) => format!("a message with a bad type ({e})"),
        },
        Err(e) => format!("{} bytes that do not decode ({e})", payload.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_becomes_the_clients_release_or_drop_and_adopt_leaves_everything() {
        let event = |o| Order::event(o, "release", "drop");
        assert_eq!(event(Some(Order::Host("link up"))), Some("link up"));
        assert_eq!(event(Some(Order::Stop(StopWith::Release))), Some("release"));
        assert_eq!(event(Some(Order::Stop(StopWith::Drop))), Some("drop"));
        assert_eq!(event(Some(Order::Stop(StopWith::Leave))), None);
        assert_eq!(event(None), None, "the agent is gone");
        assert_eq!(StopWith::choose(true, true), StopWith::Leave);
        assert_eq!(StopWith::choose(false, true), StopWith::Release);
        assert_eq!(StopWith::choose(false, false), StopWith::Drop);
    }
}
