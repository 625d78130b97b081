//! The event loop both families share: it feeds a sans-IO core (the DHCPv4 server
//! [`dhcplab_server::Server`] or the DHCPv6 server [`dhcplab_server6::Server`]) what arrives
//! (datagrams, control commands, timer expiries, signals, HA peer answers) and carries out what
//! the core asks (send, append a lease row, compact the lease file, stop), with the group
//! commit both cores' durability contract allows. [`Core`] is what differs between the cores,
//! [`LinkSocket`] between their sockets, [`Surroundings`] what only one family's daemon has
//! (HA peers and run-script for DHCPv4, the server DUID file for DHCPv6).

use crate::lease_file::{self, Durable, LeaseRecord, LeaseWriter};
use crate::{Command, DaemonError, control};
use dhcplab_kea_config::ConfigError;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};

/// One thing a core asks of the driver, in the words both cores share.
pub(crate) enum Step<T, L, E> {
    /// Send a datagram once every row queued before it is durable.
    Transmit(T),
    /// Append this lease's row to the lease file.
    Persist(L),
    /// Rewrite the lease file with the core's leases only (Kea's lease file cleanup).
    Compact,
    /// Stop the daemon.
    Shutdown,
    /// What only this family's daemon carries out ([`Surroundings::effect`]).
    Effect(E),
}

/// What the loop needs of a server core.
pub(crate) trait Core {
    /// A datagram as the family's sockets hand it over.
    type Received: Send + 'static;
    /// A datagram to send.
    type Transmit;
    /// A lease as its lease file row.
    type Lease: LeaseRecord;
    /// Actions the family's daemon carries out itself.
    type Effect;
    /// An HA partner's answer to a peer command.
    type PeerAnswer;
    /// Handles a received datagram.
    fn handle_received(&mut self, now: SystemTime, r: &Self::Received);
    /// Runs the timers due at `now`.
    fn handle_timeout(&mut self, now: SystemTime);
    /// The next deadline.
    fn poll_timeout(&self) -> Option<SystemTime>;
    /// The next action, in the core's order.
    fn poll_step(&mut self) -> Option<Step<Self::Transmit, Self::Lease, Self::Effect>>;
    /// The leases in force, for a compaction.
    fn leases(&self) -> Vec<Self::Lease>;
    /// The answer to a control command; `None` for `config-reload` (the driver reads the file
    /// and calls [`Core::reload`]).
    fn command(&mut self, now: SystemTime, text: &str) -> Option<serde_json::Value>;
    /// Applies the configuration file's text read again; the answer.
    fn reload(&mut self, now: SystemTime, text: &str) -> serde_json::Value;
    /// Tells the core `config-reload` was answered with `answer` (v4's `command_processed`
    /// hook point).
    fn reloaded_by_command(&mut self, _answer: &serde_json::Value) {}
    /// Hands the core an HA partner's answer.
    fn handle_peer_answer(&mut self, _now: SystemTime, _answer: Self::PeerAnswer) {}
}

/// The methods of [`Core`] that both cores have under the same names (`handle_datagram`,
/// `poll_action` with the same generic actions, `handle_command` ...), for an
/// `impl Core for` block: `$datagram` is the core's datagram type, `$action` its action enum,
/// `$outcome` its command outcome enum.
macro_rules! core_methods {
    ($server:ty, $datagram:ident, $action:ident, $outcome:ident) => {
        fn handle_received(&mut self, now: SystemTime, r: &Self::Received) {
            self.handle_datagram(
                now,
                $datagram {
                    interface: r.interface,
                    source: r.source,
                    destination: r.destination,
                    payload: &r.payload,
                },
            );
        }
        fn handle_timeout(&mut self, now: SystemTime) {
            <$server>::handle_timeout(self, now);
        }
        fn poll_timeout(&self) -> Option<SystemTime> {
            <$server>::poll_timeout(self)
        }
        fn poll_step(&mut self) -> Option<Step<Self::Transmit, Self::Lease, $action>> {
            Some(match self.poll_action()? {
                $action::Transmit(t) => Step::Transmit(t),
                $action::Persist(l) => Step::Persist(l),
                $action::CompactLeaseFile => Step::Compact,
                $action::Shutdown => Step::Shutdown,
                other => Step::Effect(other),
            })
        }
        fn leases(&self) -> Vec<Self::Lease> {
            <$server>::leases(self)
        }
        fn command(&mut self, now: SystemTime, text: &str) -> Option<serde_json::Value> {
            match self.handle_command(now, text) {
                $outcome::Answer(a) => Some(a),
                $outcome::ReloadFromFile => None,
            }
        }
        fn reload(&mut self, now: SystemTime, text: &str) -> serde_json::Value {
            <$server>::reload(self, now, text)
        }
    };
}
pub(crate) use core_methods;

/// `impl LinkSocket` for a family's link type whose `interface` has `name` and `index`, whose
/// transmit type has `interface` and `destination`, and which has inherent `receive` and
/// `send` of the trait's shapes.
macro_rules! link_socket {
    ($link:ty, $received:ty, $transmit:ty) => {
        impl crate::driver::LinkSocket for $link {
            type Received = $received;
            type Transmit = $transmit;
            fn name(&self) -> &str {
                &self.interface.name
            }
            fn index(&self) -> u32 {
                self.interface.index
            }
            fn transmit_interface(t: &$transmit) -> u32 {
                t.interface
            }
            fn transmit_destination(t: &$transmit) -> String {
                t.destination.to_string()
            }
            async fn receive(
                &self,
                out: tokio::sync::mpsc::Sender<$received>,
            ) -> std::io::Result<()> {
                <$link>::receive(self, out).await
            }
            fn send(&self, t: &$transmit) -> std::io::Result<()> {
                <$link>::send(self, t)
            }
        }
    };
}
pub(crate) use link_socket;

/// An interface's sockets, as the loop uses them.
pub(crate) trait LinkSocket: Send + Sync + 'static {
    /// A datagram received.
    type Received: Send + 'static;
    /// A datagram to send.
    type Transmit;
    /// The interface's name, for logs.
    fn name(&self) -> &str;
    /// The interface's index, which [`LinkSocket::transmit_interface`] names.
    fn index(&self) -> u32;
    /// The interface a datagram is to leave by.
    fn transmit_interface(t: &Self::Transmit) -> u32;
    /// Where a datagram is going, for logs.
    fn transmit_destination(t: &Self::Transmit) -> String;
    /// Reads datagrams for ever, handing each to `out`.
    fn receive(
        &self,
        out: mpsc::Sender<Self::Received>,
    ) -> impl std::future::Future<Output = std::io::Result<()>> + Send;
    /// Sends a datagram.
    fn send(&self, t: &Self::Transmit) -> std::io::Result<()>;
}

/// What one family's daemon has besides the core and its sockets.
pub(crate) trait Surroundings<C: Core> {
    /// Carries out an action only this family has.
    fn effect(&mut self, effect: C::Effect);
    /// The configuration in force may have changed (a reload or a command).
    async fn config_changed(&mut self, _server: &C) {}
}

/// A family's reader of a whole configuration text: the configuration and its JSON, or every
/// fault.
pub(crate) type Reader<T> = fn(&str) -> Result<(T, serde_json::Value), Vec<ConfigError>>;

/// Reads the configuration file at `path` with a family's reader; faults name the file.
pub(crate) fn read_config<T>(
    path: &Path,
    parse: Reader<T>,
) -> Result<(T, serde_json::Value), DaemonError> {
    let text = crate::read_config_text(path)?;
    parse(&text).map_err(|faults| DaemonError::Config {
        path: path.to_path_buf(),
        faults: faults
            .iter()
            .map(|f| format!("{}:{f}", path.display()))
            .collect(),
    })
}

/// Loads the lease file (when leases persist) and starts its writer.
pub(crate) fn open_lease_file<L: LeaseRecord>(
    persist: bool,
    path: &Path,
) -> Result<(Vec<L>, Option<LeaseWriter>), DaemonError> {
    if !persist {
        return Ok((Vec::new(), None));
    }
    let loaded = lease_file::load::<L>(path)?;
    for bad in &loaded.bad_rows {
        tracing::warn!("{}: {bad}; row skipped", path.display());
    }
    tracing::info!(
        "{}: {} leases loaded, {} bad rows skipped",
        path.display(),
        loaded.leases.len(),
        loaded.bad_rows.len()
    );
    Ok((loaded.leases, Some(LeaseWriter::start(path)?)))
}

/// Opens the control socket, when the configuration has one.
fn open_control(
    path: Option<&PathBuf>,
    commands: mpsc::Sender<Command>,
) -> Result<Option<control::Listener>, DaemonError> {
    path.map(|p| {
        control::listen(p, commands).map_err(|source| DaemonError::ControlSocket {
            path: p.clone(),
            source,
        })
    })
    .transpose()
}

/// Starts a receiving task per link, all feeding one channel.
fn spawn_receivers<L: LinkSocket>(links: &[Arc<L>]) -> mpsc::Receiver<L::Received> {
    let (tx, rx) = mpsc::channel::<L::Received>(4096);
    for link in links {
        let link = link.clone();
        let out = tx.clone();
        tokio::spawn(async move {
            if let Err(e) = link.receive(out).await {
                tracing::error!("receiving on {}: {e}", link.name());
            }
        });
    }
    rx
}

/// What the loop reads from and writes to besides signals and timers.
pub(crate) struct Io<C: Core, L> {
    /// The served interfaces' sockets.
    pub links: Vec<L>,
    /// The lease file's writer, when leases persist.
    pub writer: Option<LeaseWriter>,
    /// Where the control socket goes, when the configuration has one, and where its commands
    /// go. It is opened once the start's actions are carried out (v6: the server DUID file is
    /// written), so whoever sees the socket sees a started server; it is drained before the
    /// loop returns so `shutdown` is answered.
    pub control: Option<PathBuf>,
    /// Where the control socket's commands go.
    pub command_sender: mpsc::Sender<Command>,
    /// Commands from the control socket (and the HA peer endpoint).
    pub commands: mpsc::Receiver<Command>,
    /// HA partners' answers (a closed channel where there is no HA).
    pub peer_answers: mpsc::Receiver<C::PeerAnswer>,
}

/// Lease rows not yet handed to the writer, and replies held back until the rows of their own
/// message are on disk.
pub(crate) struct Held<T> {
    rows: String,
    replies: Vec<(u64, T)>,
    /// Control command answers waiting for the rows their command wrote (Kea answers
    /// `lease4-add` and the like once the lease is in the file).
    answers: Vec<(u64, oneshot::Sender<serde_json::Value>, serde_json::Value)>,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Self {
            rows: String::new(),
            replies: Vec::new(),
            answers: Vec::new(),
        }
    }
}

/// Runs the loop until a signal or the core stops it; the last rows are synced and the replies
/// waiting for them sent before it returns.
pub(crate) async fn serve<C, L, S>(
    config_path: &Path,
    server: &mut C,
    around: &mut S,
    io: Io<C, L>,
) -> Result<(), DaemonError>
where
    C: Core,
    L: LinkSocket<Received = C::Received, Transmit = C::Transmit>,
    S: Surroundings<C>,
{
    let links: Vec<Arc<L>> = io.links.into_iter().map(Arc::new).collect();
    let links = links.as_slice();
    let mut received = spawn_receivers(links);
    let (mut commands, mut peer_answers, mut writer) = (io.commands, io.peer_answers, io.writer);
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Runtime)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Runtime)?;
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Runtime)?;
    let mut durable = writer.as_ref().map(LeaseWriter::durable);
    let mut held = Held::default();
    tracing::info!("dhcplab server started, pid {}", std::process::id());
    // What the start asked for (v4: the HA service's first peer commands, scripts of
    // dhcp4_srv_configured; v6: the server DUID file).
    let mut stop = carry_out(server, around, writer.as_mut(), &mut held, false);
    let control = open_control(io.control.as_ref(), io.command_sender)?;
    while !stop {
        let deadline = server.poll_timeout();
        let sleep = deadline
            .map(|d| {
                d.duration_since(SystemTime::now())
                    .unwrap_or(Duration::ZERO)
            })
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); stop = true; }
            _ = int.recv() => { tracing::info!("SIGINT: stopping"); stop = true; }
            _ = hup.recv() => {
                let answer = reload(server, config_path);
                tracing::info!("SIGHUP: {answer}");
                around.config_changed(server).await;
            }
            changed = async { match durable.as_mut() { Some(d) => d.changed().await, None => std::future::pending().await } } => {
                if changed.is_err() {
                    stop = true;
                }
            }
            Some(first) = received.recv() => {
                let now = SystemTime::now();
                server.handle_received(now, &first);
                stop |= carry_out(server, around, writer.as_mut(), &mut held, false);
                // Group commit: take what else is waiting before syncing once.
                for _ in 0..255 {
                    match received.try_recv() {
                        Ok(r) => {
                            server.handle_received(now, &r);
                            stop |= carry_out(server, around, writer.as_mut(), &mut held, false);
                        }
                        Err(_) => break,
                    }
                }
            }
            Some(cmd) = commands.recv() => {
                let answer = answer_command(server, config_path, &cmd.text);
                stop |= carry_out(server, around, writer.as_mut(), &mut held, false);
                // The rows gathered this turn are the command's own: its answer waits for them.
                let after = match writer.as_ref() {
                    Some(w) if !held.rows.is_empty() => w.last_seq() + 1,
                    _ => 0,
                };
                held.answers.push((after, cmd.answer, answer));
                // config-set and config-reload may move or end HA.
                around.config_changed(server).await;
            }
            Some(answer) = peer_answers.recv() => {
                server.handle_peer_answer(SystemTime::now(), answer);
                // A reply the partner's acknowledgement releases covers rows an earlier
                // turn wrote: it waits until every row so far is on disk.
                stop |= carry_out(server, around, writer.as_mut(), &mut held, true);
            }
            _ = tokio::time::sleep(sleep) => {
                server.handle_timeout(SystemTime::now());
            }
        }
        stop |= carry_out(server, around, writer.as_mut(), &mut held, false);
        if let Some(w) = writer.as_mut() {
            if !held.rows.is_empty() {
                w.append(std::mem::take(&mut held.rows));
            }
        }
        release(
            links,
            &mut held,
            durable.as_ref().map(|d| d.borrow().clone()),
        )?;
    }
    if let Some(w) = writer.take() {
        let last = w.finish();
        release(links, &mut held, Some(last))?;
    }
    if let Some(c) = &control {
        c.drain(Duration::from_secs(2)).await;
    }
    Ok(())
}

/// Runs a command from the control socket or the HA peer endpoint; its answer. `config-reload`
/// reads the configuration file at `config_path` again.
pub(crate) fn answer_command<C: Core>(
    server: &mut C,
    config_path: &Path,
    text: &str,
) -> serde_json::Value {
    match server.command(SystemTime::now(), text) {
        Some(a) => a,
        None => {
            let answer = reload(server, config_path);
            server.reloaded_by_command(&answer);
            answer
        }
    }
}

/// Reads the configuration file again and hands it to the core; the answer.
fn reload<C: Core>(server: &mut C, path: &Path) -> serde_json::Value {
    match crate::read_config_text(path) {
        Ok(text) => server.reload(SystemTime::now(), &text),
        Err(e) => serde_json::json!({
            "result": 1,
            "text": format!("Config reload failed: {e}"),
        }),
    }
}

/// Carries out the actions of one call into the core: rows gathered for the writer (appended
/// once per loop turn, for group commit), replies held until the rows the same call returned
/// before them are on disk, as the cores' durability contract asks; a reply with no row of its
/// own (OFFER, NAK, Advertise) leaves at once. With `after_all_rows`, every reply waits for
/// every row persisted so far (replies held for the HA partner). Returns true when the core
/// asked to stop.
pub(crate) fn carry_out<C: Core, S: Surroundings<C>>(
    server: &mut C,
    around: &mut S,
    mut writer: Option<&mut LeaseWriter>,
    held: &mut Held<C::Transmit>,
    after_all_rows: bool,
) -> bool {
    let mut stop = false;
    let mut own_rows = false;
    while let Some(step) = server.poll_step() {
        match step {
            Step::Persist(lease) => {
                held.rows.push_str(&lease.to_row());
                held.rows.push('\n');
                own_rows = true;
            }
            Step::Transmit(t) => {
                // Rows still gathered go out as the writer's next job; rows already handed
                // over (before a compaction) are covered by its last one.
                let covered = own_rows || after_all_rows;
                let after = match writer.as_deref() {
                    Some(w) if covered && !held.rows.is_empty() => w.last_seq() + 1,
                    Some(w) if covered => w.last_seq(),
                    _ => 0,
                };
                held.replies.push((after, t));
            }
            Step::Compact => {
                if let Some(w) = writer.as_deref_mut() {
                    if !held.rows.is_empty() {
                        w.append(std::mem::take(&mut held.rows));
                    }
                    let seq = w.compact(&server.leases());
                    tracing::info!("lease file cleanup queued (job {seq})");
                }
            }
            Step::Shutdown => stop = true,
            Step::Effect(e) => around.effect(e),
        }
    }
    stop
}

/// Sends every held reply whose rows are durable.
fn release<L: LinkSocket>(
    links: &[Arc<L>],
    held: &mut Held<L::Transmit>,
    durable: Option<Durable>,
) -> Result<(), DaemonError> {
    let upto = match durable {
        None => u64::MAX,
        Some(Durable::UpTo(n)) => n,
        Some(Durable::Failed(e)) => return Err(DaemonError::LeaseWrite(e)),
    };
    let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut held.answers)
        .into_iter()
        .partition(|(seq, ..)| *seq <= upto);
    held.answers = waiting;
    for (_, to, answer) in ready {
        // The asker may have gone; the answer is then for nobody.
        let _ = to.send(answer);
    }
    let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut held.replies)
        .into_iter()
        .partition(|(seq, _)| *seq <= upto);
    held.replies = waiting;
    for (_, t) in ready {
        let index = L::transmit_interface(&t);
        match links.iter().find(|l| l.index() == index) {
            Some(link) => {
                if let Err(e) = link.send(&t) {
                    tracing::warn!(
                        "sending to {} on {}: {e}",
                        L::transmit_destination(&t),
                        link.name()
                    );
                }
            }
            None => tracing::warn!("reply for an unknown interface {index}"),
        }
    }
    Ok(())
}
