//! The reference DHCPv4 server as a daemon: `dhcplab server -c FILE`.
//!
//! A thin driver around the sans-IO core ([`dhcplab_server::Server`]): it reads the
//! configuration and the lease file, opens the sockets of the configured interfaces, and then
//! feeds the core what arrives (datagrams, control commands, timer expiries, signals) and
//! carries out what the core asks (send, append a lease row, compact the lease file, stop).
//!
//! Replies wait for their lease rows: rows go to a writer thread that syncs once per batch
//! (group commit), and a reply leaves only when every row queued before it is on disk.
//! SIGTERM and SIGINT stop the daemon after the last rows are synced; SIGHUP reloads the
//! configuration file, as `config-reload` does.
//!
//! With high availability (`libdhcp_ha.so`), the daemon carries the HA service's peer commands
//! over HTTP and answers the partner's at this server's own peer URL ([`peers`]).

mod control;
pub mod lease_file;
mod logging;
pub mod net;
pub mod peers;

use dhcplab_kea_config::dhcp4;
use dhcplab_server::{Action, CommandOutcome, Datagram, Server, Transmit};
use lease_file::{Durable, LeaseWriter};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};

/// How the daemon was asked to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Kea configuration file.
    pub config: PathBuf,
    /// Log at debug level on standard error, whatever the configuration's loggers say.
    pub debug: bool,
}

/// Why the daemon stopped with a failure.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration file could not be read.
    #[error("{path}: {source}")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The configuration has faults; each names the file, line, column and JSON path.
    #[error("configuration not accepted:\n{}", .faults.join("\n"))]
    Config {
        /// The file.
        path: PathBuf,
        /// Every fault, as `file:line:column: path: what`.
        faults: Vec<String>,
    },
    /// The lease file cannot be used.
    #[error(transparent)]
    LeaseFile(#[from] lease_file::LeaseFileError),
    /// The lease file stopped accepting writes; replies that need a lease were not sent.
    #[error("lease file failed: {0}")]
    LeaseWrite(String),
    /// Sockets could not be opened.
    #[error(transparent)]
    Net(#[from] net::NetError),
    /// The control socket could not be opened.
    #[error("control socket {path}: {source}")]
    ControlSocket {
        /// The socket's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The runtime could not start or a signal could not be watched.
    #[error("runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// Logging could not be set up.
    #[error("logging: {0}")]
    Logging(String),
    /// The HA peer endpoint could not listen at this server's peer URL.
    #[error(transparent)]
    PeerEndpoint(#[from] peers::EndpointError),
}

/// Reads and checks the configuration file.
fn read_config(path: &Path) -> Result<(String, dhcp4::Dhcp4, serde_json::Value), DaemonError> {
    let text = std::fs::read_to_string(path).map_err(|source| DaemonError::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    let (config, json) = dhcp4::parse_document(&text).map_err(|faults| DaemonError::Config {
        path: path.to_path_buf(),
        faults: faults
            .iter()
            .map(|f| format!("{}:{f}", path.display()))
            .collect(),
    })?;
    Ok((text, config, json))
}

/// Where the lease file is: the configuration's `name`, else beside the configuration file
/// (never Kea's default under /var).
fn lease_file_path(config_path: &Path, config: &dhcp4::Dhcp4) -> PathBuf {
    config.lease_database.name.clone().unwrap_or_else(|| {
        config_path
            .parent()
            .unwrap_or(Path::new("."))
            .join("dhcplab-leases4.csv")
    })
}

/// Runs the daemon until it is stopped; `Ok` after a clean stop.
pub fn run(options: &Options) -> Result<(), DaemonError> {
    let (_, config, json) = read_config(&options.config)?;
    let _log_guard = logging::init(&config.loggers, options.debug)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    runtime.block_on(serve(options, config, json))
}

/// A command from the control socket or the HA peer endpoint, with where its answer goes.
pub(crate) struct Command {
    text: String,
    answer: oneshot::Sender<serde_json::Value>,
}

/// Lease rows not yet handed to the writer, and replies held back until the rows of their own
/// message are on disk.
#[derive(Default)]
struct Held {
    rows: String,
    replies: Vec<(u64, Transmit)>,
}

async fn serve(
    options: &Options,
    config: dhcp4::Dhcp4,
    json: serde_json::Value,
) -> Result<(), DaemonError> {
    let persist = config.lease_database.persist;
    let lease_path = lease_file_path(&options.config, &config);
    let leases = if persist {
        let loaded = lease_file::load(&lease_path)?;
        for bad in &loaded.bad_rows {
            tracing::warn!("{}: {bad}; row skipped", lease_path.display());
        }
        tracing::info!(
            "{}: {} leases loaded, {} bad rows skipped",
            lease_path.display(),
            loaded.leases.len(),
            loaded.bad_rows.len()
        );
        loaded.leases
    } else {
        Vec::new()
    };
    let mut writer = if persist {
        Some(LeaseWriter::start(&lease_path)?)
    } else {
        None
    };
    let links = net::open(&config.interfaces)?;
    let control_path = config.control_socket.as_ref().map(|c| c.path.clone());
    let loader = dhcplab_hook_loader::NativeLoader::new(dhcplab_hook_loader::Scripts::Run);
    let mut server = Server::with_loader(config, json, leases, SystemTime::now(), Box::new(loader))
        .map_err(|e| DaemonError::Config {
            path: options.config.clone(),
            faults: vec![format!("{}:{e}", options.config.display())],
        })?;
    server.set_process_id(std::process::id());
    for l in &links {
        tracing::info!(
            "serving {} ({}, index {}{})",
            l.interface.name,
            l.interface.address,
            l.interface.index,
            if l.interface.direct_response {
                ", raw"
            } else {
                ", udp"
            }
        );
        server.attach(l.interface.clone());
    }
    let links: Vec<std::sync::Arc<net::Link>> =
        links.into_iter().map(std::sync::Arc::new).collect();
    let (rx_tx, mut received) = mpsc::channel::<net::Received>(4096);
    for link in &links {
        let link = link.clone();
        let out = rx_tx.clone();
        tokio::spawn(async move {
            if let Err(e) = link.receive(out).await {
                tracing::error!("receiving on {}: {e}", link.interface.name);
            }
        });
    }
    drop(rx_tx);
    let (cmd_tx, mut commands) = mpsc::channel::<Command>(16);
    let cmd_tx_peers = cmd_tx.clone();
    let control = match &control_path {
        Some(p) => {
            Some(
                control::listen(p, cmd_tx).map_err(|source| DaemonError::ControlSocket {
                    path: p.clone(),
                    source,
                })?,
            )
        }
        None => None,
    };
    let mut endpoint = peers::Endpoint::new(cmd_tx_peers);
    endpoint.follow(peers::endpoint_address(&server)).await?;
    let (requester, mut peer_answers) = peers::Requester::new();
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Runtime)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Runtime)?;
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Runtime)?;
    let mut durable = writer.as_ref().map(LeaseWriter::durable);
    let mut held = Held::default();
    tracing::info!("dhcplab server started, pid {}", std::process::id());
    // What the start asked for: the HA service's first peer commands, scripts of
    // dhcp4_srv_configured.
    let mut stop = carry_out(&mut server, writer.as_mut(), &mut held, &requester);
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
                let answer = reload(&mut server, &options.config);
                tracing::info!("SIGHUP: {answer}");
                follow(&mut endpoint, &server).await;
            }
            changed = async { match durable.as_mut() { Some(d) => d.changed().await, None => std::future::pending().await } } => {
                if changed.is_err() {
                    stop = true;
                }
            }
            Some(first) = received.recv() => {
                let now = SystemTime::now();
                handle(&mut server, now, &first);
                stop |= carry_out(&mut server, writer.as_mut(), &mut held, &requester);
                // Group commit: take what else is waiting before syncing once.
                for _ in 0..255 {
                    match received.try_recv() {
                        Ok(r) => {
                            handle(&mut server, now, &r);
                            stop |= carry_out(&mut server, writer.as_mut(), &mut held, &requester);
                        }
                        Err(_) => break,
                    }
                }
            }
            Some(cmd) = commands.recv() => {
                let answer = answer_command(&mut server, &options.config, &cmd.text);
                let _ = cmd.answer.send(answer);
                // config-set and config-reload may move or end HA.
                follow(&mut endpoint, &server).await;
            }
            Some(answer) = peer_answers.recv() => {
                server.handle_peer_answer(SystemTime::now(), answer.id, answer.result);
                // A reply the partner's acknowledgement releases covers rows an earlier
                // turn wrote: it waits until every row so far is on disk.
                stop |= carry_out_with(&mut server, writer.as_mut(), &mut held, &requester, true);
            }
            _ = tokio::time::sleep(sleep) => {
                server.handle_timeout(SystemTime::now());
            }
        }
        stop |= carry_out(&mut server, writer.as_mut(), &mut held, &requester);
        if let Some(w) = writer.as_mut() {
            if !held.rows.is_empty() {
                w.append(std::mem::take(&mut held.rows));
            }
        }
        release(
            &links,
            &mut held,
            durable.as_ref().map(|d| d.borrow().clone()),
        )?;
    }
    if let Some(w) = writer.take() {
        let last = w.finish();
        release(&links, &mut held, Some(last))?;
    }
    if let Some(c) = &control {
        c.drain(Duration::from_secs(2)).await;
    }
    tracing::info!("dhcplab server stopped");
    Ok(())
}

fn handle(server: &mut Server, now: SystemTime, r: &net::Received) {
    server.handle_datagram(
        now,
        Datagram {
            interface: r.interface,
            source: r.source,
            destination: r.destination,
            payload: &r.payload,
        },
    );
}

/// Runs a command from the control socket or the HA peer endpoint; its answer. `config-reload`
/// reads the configuration file at `config_path` again.
fn answer_command(server: &mut Server, config_path: &Path, text: &str) -> serde_json::Value {
    match server.handle_command(SystemTime::now(), text) {
        CommandOutcome::Answer(a) => a,
        CommandOutcome::ReloadFromFile => {
            let answer = reload(server, config_path);
            server.command_processed("config-reload", None, &answer);
            answer
        }
    }
}

/// Moves or closes the HA peer endpoint as the configuration in force asks; a failure is
/// logged and the endpoint listens nowhere until the next reload.
async fn follow(endpoint: &mut peers::Endpoint, server: &Server) {
    if let Err(e) = endpoint.follow(peers::endpoint_address(server)).await {
        tracing::error!("{e}");
    }
}

fn reload(server: &mut Server, path: &Path) -> serde_json::Value {
    match std::fs::read_to_string(path) {
        Ok(text) => server.reload(SystemTime::now(), &text),
        Err(e) => serde_json::json!({
            "result": 1,
            "text": format!("Config reload failed: {}: {e}", path.display()),
        }),
    }
}

/// Carries out the actions of one call into the core: rows gathered for the writer (appended
/// once per loop turn, for group commit), replies held until the rows the same call returned
/// before them are on disk, as the core's durability contract asks; a reply with no row of its
/// own (OFFER, NAK, INFORM's ACK) leaves at once. Peer commands go out at once, each on a
/// task of its own. Returns true when the core asked to stop.
fn carry_out(
    server: &mut Server,
    writer: Option<&mut LeaseWriter>,
    held: &mut Held,
    peers: &peers::Requester,
) -> bool {
    carry_out_with(server, writer, held, peers, false)
}

/// [`carry_out`]; with `after_all_rows`, every reply waits for every row persisted so far,
/// not only for the rows of its own call (replies held for the HA partner).
fn carry_out_with(
    server: &mut Server,
    mut writer: Option<&mut LeaseWriter>,
    held: &mut Held,
    peers: &peers::Requester,
    after_all_rows: bool,
) -> bool {
    let mut stop = false;
    let mut own_rows = false;
    while let Some(action) = server.poll_action() {
        match action {
            Action::Persist(lease) => {
                held.rows.push_str(&lease.to_row());
                held.rows.push('\n');
                own_rows = true;
            }
            Action::Transmit(t) => {
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
            Action::CompactLeaseFile => {
                if let Some(w) = writer.as_deref_mut() {
                    if !held.rows.is_empty() {
                        w.append(std::mem::take(&mut held.rows));
                    }
                    let seq = w.compact(&server.leases());
                    tracing::info!("lease file cleanup queued (job {seq})");
                }
            }
            Action::Shutdown => stop = true,
            Action::RunScript(script) => run_script(&script),
            Action::PeerRequest(request) => peers.send(request),
            // The core logs HA_STATE_TRANSITION itself, through tracing, at INFO.
            Action::HaTransition(_) => {}
        }
    }
    stop
}

/// Starts the run-script hook's script as Kea does: the path as given (not looked up in
/// PATH), the hook point's name as its argument, Kea's variables as its whole environment,
/// the server's standard streams, not waited for. One thread reaps every script.
fn run_script(script: &dhcplab_server::hooks::Script) {
    let program = if script.program.contains('/') {
        PathBuf::from(&script.program)
    } else {
        Path::new(".").join(&script.program)
    };
    let spawned = std::process::Command::new(program)
        .args(&script.args)
        .env_clear()
        .envs(script.env.iter().map(|(k, v)| (k, v)))
        .spawn();
    match spawned {
        Ok(child) => reap(child),
        Err(e) => tracing::error!("run-script {}: {e}", script.program),
    }
}

/// Hands `child` to the thread that waits for the scripts the server started.
fn reap(child: std::process::Child) {
    use std::sync::{Mutex, OnceLock, mpsc};
    static REAPER: OnceLock<Mutex<mpsc::Sender<std::process::Child>>> = OnceLock::new();
    let sender = REAPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<std::process::Child>();
        std::thread::spawn(move || {
            let mut running: Vec<std::process::Child> = Vec::new();
            loop {
                match rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(c) => running.push(c),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                running.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
            }
        });
        Mutex::new(tx)
    });
    if let Ok(tx) = sender.lock() {
        let _ = tx.send(child);
    }
}

/// Sends every held reply whose rows are durable.
fn release(
    links: &[std::sync::Arc<net::Link>],
    held: &mut Held,
    durable: Option<Durable>,
) -> Result<(), DaemonError> {
    let upto = match durable {
        None => u64::MAX,
        Some(Durable::UpTo(n)) => n,
        Some(Durable::Failed(e)) => return Err(DaemonError::LeaseWrite(e)),
    };
    let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut held.replies)
        .into_iter()
        .partition(|(seq, _)| *seq <= upto);
    held.replies = waiting;
    for (_, t) in ready {
        match links.iter().find(|l| l.interface.index == t.interface) {
            Some(link) => {
                if let Err(e) = link.send(&t) {
                    tracing::warn!(
                        "sending to {} on {}: {e}",
                        t.destination,
                        link.interface.name
                    );
                }
            }
            None => tracing::warn!("reply for an unknown interface {}", t.interface),
        }
    }
    Ok(())
}
