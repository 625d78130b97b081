//! The reference DHCP client as a daemon in the manner of Solaris dhcpagent(8):
//! `dhcplab agent [-a] [-d n] [-f] [-v] [-6 IF]... [IF...]`: DHCPv4 on each IF, DHCPv6 on each
//! `-6 IF` (both on an interface named both ways).
//!
//! A thin driver around the sans-IO core ([`dhcplab_client::Client`]), one per interface: it
//! reads /etc/default/dhcpagent (or the file given), the saved lease, DUID and IAID; opens
//! the interface's packet, UDP and ARP sockets (so it works before the interface has an
//! address); and then feeds the core what arrives and carries out what it asks: send,
//! probe, configure and unconfigure the address through rtnetlink, save or forget the lease,
//! run and signal the event program. Carrier changes are link down and up; SIGCONT (the
//! process was stopped, as a suspended host is) is a suspend and resume. SIGTERM (and SIGINT
//! or SIGQUIT) releases or drops every lease as RELEASE_ON_SIGTERM says, waits for the event
//! program, and exits. With `-a` (adopt) the agent takes over an interface that already has
//! its saved lease's address, as dhcpagent does for a diskless host: the address stays while
//! the lease is confirmed, and on SIGTERM addresses and leases are left as they are.
//!
//! DHCPv6 on an interface: the agent waits for a usable (non-tentative) link-local address,
//! binds port 546 on it ([`net6`]), and runs the v6 core ([`dhcplab_client6::Client`]) with the
//! `.v6.` settings of the configuration file ([`defaults6`]), the host's one DUID (file
//! `duid`, shared with DHCPv4), IAIDs from the interface's IAID (file `IF.iaid`: the n-th IA_NA
//! and the n-th IA_PD get IAID + n), and the binding file `IF.dh6`. Addresses go on the
//! interface as /128 with the server's lifetimes; BOUND6 waits until DAD is over on them
//! (IFA_F_TENTATIVE cleared, reported as [`dhcplab_client6::HostEvent::DadDone`]), and one
//! that DAD finds duplicate (IFA_F_DADFAILED) is declined. Carrier changes, SIGCONT and SIGTERM reach it as they reach DHCPv4, with
//! `.v6.RELEASE_ON_SIGTERM`; the event program runs for its events (BOUND6 .. LOSS6) with the
//! same supervisor and timeouts.

mod address;
pub mod control;
pub mod defaults6;
mod interface;
mod interface6;
mod log;
pub mod net;
pub mod net6;
mod program;
pub mod store;

use defaults6::Defaults6;
use dhcplab_client::defaults::{self, Defaults, Settings};
use dhcplab_client::{Client, Config, HostEvent, Level};
use dhcplab_client6::HostEvent as HostEvent6;
use dhcplab_packet_socket::{InterfaceInfo, interfaces};
use interface::{Interface, Order, StopWith};
use interface6::Interface6;
use log::Logger;
use net6::Link6;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store::Store;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// dhcpagent's configuration file.
pub const DEFAULTS_FILE: &str = "/etc/default/dhcpagent";
/// Where dhcpagent keeps lease, DUID and IAID files.
pub const STATE_DIR: &str = "/etc/dhcp";
/// dhcpagent's event program.
pub const EVENT_PROGRAM: &str = "/etc/dhcp/eventhook";
/// The agent's control socket, which `dhcplab info` asks.
pub const CONTROL_SOCKET: &str = "/run/dhcplab-agent.sock";

/// How the agent was asked to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The interfaces to configure with DHCPv4.
    pub interfaces: Vec<String>,
    /// The interfaces to configure with DHCPv6 (`-6 IF`).
    pub interfaces6: Vec<String>,
    /// The configuration file; `None` reads [`DEFAULTS_FILE`] when it exists.
    pub defaults: Option<PathBuf>,
    /// Lease, DUID and IAID files.
    pub state_dir: PathBuf,
    /// The event program.
    pub event_program: PathBuf,
    /// The control socket.
    pub control_socket: PathBuf,
    /// `-a`: adopt the saved lease's address when the interface has it, and leave addresses
    /// and leases in place when stopping.
    pub adopt: bool,
    /// `-d n`: debug level (0: none).
    pub debug: u8,
    /// `-f`: stay in the foreground and write messages to standard error.
    pub foreground: bool,
    /// `-v`: log every datagram sent and received.
    pub verbose: bool,
    /// When the event program gets SIGTERM, and how much later SIGKILL (55 s and 3 s unless
    /// set; shorter values serve tests).
    pub program_timeouts: Option<(Duration, Duration)>,
}

/// Why the agent could not run.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// No interface was named.
    #[error("no interface given")]
    NoInterface,
    /// The configuration file given cannot be read.
    #[error("{path}: {source}")]
    Defaults {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An interface does not exist.
    #[error("interface {0:?} does not exist")]
    NoSuchInterface(String),
    /// An interface has no usable IPv6 link-local address within [`LINK_LOCAL_WAIT`].
    #[error("interface {0:?} has no usable IPv6 link-local address (is IPv6 on, and DAD over?)")]
    NoLinkLocal(String),
    /// An interface's DHCPv6 socket cannot be opened.
    #[error("interface {name:?}: DHCPv6 socket on port 546: {source}")]
    Net6 {
        /// The interface.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An interface's sockets cannot be opened.
    #[error("interface {name:?}: {source}")]
    Net {
        /// The interface.
        name: String,
        /// Why.
        #[source]
        source: net::NetError,
    },
    /// The control socket cannot be bound (another agent may hold it).
    #[error("control socket {path}: {source}")]
    Control {
        /// The socket's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The state directory cannot be used.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// Something the agent needs from the system failed.
    #[error("{what}: {source}")]
    System {
        /// What was being done.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn system(what: &'static str) -> impl FnOnce(std::io::Error) -> AgentError {
    move |source| AgentError::System { what, source }
}

/// How long the agent waits at start for an interface's link-local address to become
/// usable (duplicate address detection takes about a second; RFC 4862 5.4).
pub const LINK_LOCAL_WAIT: Duration = Duration::from_secs(10);

/// How long BOUND6 waits for the kernel's word on DAD of a new address before taking it as
/// unique. The kernel reports the end of DAD (the DAD watcher, and a look right after adding
/// the address), so this only covers a report lost; it is longer than DAD with several probes
/// (dad_transmits) and the random delay before the first one.
pub const DAD_TIMEOUT6: Duration = Duration::from_secs(10);

/// Runs the agent until it is told to stop.
pub fn run(options: &Options) -> Result<(), AgentError> {
    if options.interfaces.is_empty() && options.interfaces6.is_empty() {
        return Err(AgentError::NoInterface);
    }
    let log = Arc::new(Logger::new(
        options.foreground,
        options.debug,
        options.verbose,
    ));
    let (defaults, defaults6) = read_defaults(options, &log)?;
    // Named interfaces must exist before the agent leaves the terminal, so a typo is an
    // error the caller sees.
    let known = interfaces().map_err(|e| system("listing interfaces")(std::io::Error::other(e)))?;
    if let Some(missing) = options
        .interfaces
        .iter()
        .chain(&options.interfaces6)
        .find(|n| !known.contains_key(*n))
    {
        return Err(AgentError::NoSuchInterface(missing.clone()));
    }
    if !options.foreground {
        nix::unistd::daemon(true, false).map_err(|e| system("becoming a daemon")(e.into()))?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(system("starting the runtime"))?;
    runtime.block_on(agent(options, &defaults, &defaults6, &known, log))
}

/// The configuration file, read for DHCPv4 and DHCPv6; its faults are logged with their line
/// and column.
fn read_defaults(options: &Options, log: &Logger) -> Result<(Defaults, Defaults6), AgentError> {
    let (path, required) = match &options.defaults {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULTS_FILE), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            log.log(
                Level::Informational,
                "",
                &format!("{}: not found; using built-in defaults", path.display()),
            );
            return Ok((Defaults::default(), Defaults6::default()));
        }
        Err(source) => return Err(AgentError::Defaults { path, source }),
    };
    let (defaults, mut faults) = defaults::parse(&text);
    let (defaults6, faults6) = defaults6::parse6(&text);
    faults.extend(faults6);
    faults.sort_by_key(|f| (f.line, f.column));
    for f in faults {
        log.log(Level::Warning, "", &format!("{}:{f}", path.display()));
    }
    Ok((defaults, defaults6))
}

async fn agent(
    options: &Options,
    defaults: &Defaults,
    defaults6: &Defaults6,
    known: &BTreeMap<String, InterfaceInfo>,
    log: Arc<Logger>,
) -> Result<(), AgentError> {
    let addresses = address::Addresses::new().map_err(system("opening rtnetlink"))?;
    let store = Store::new(&options.state_dir);
    let listener =
        control::bind(&options.control_socket).map_err(|source| AgentError::Control {
            path: options.control_socket.clone(),
            source,
        })?;
    let _socket_file = RemoveOnDrop(options.control_socket.clone());
    let mut names: Vec<&String> = Vec::new();
    for n in options.interfaces.iter().chain(&options.interfaces6) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let board: control::Board = Arc::new(Mutex::new(
        names
            .iter()
            .map(|n| ((*n).clone(), control::Snapshot::default()))
            .collect(),
    ));
    let slot_of = |name: &str| names.iter().position(|n| *n == name).unwrap_or(0);
    let surroundings = |info: &InterfaceInfo, slot| interface::Surroundings {
        name: info.name.clone(),
        index: info.index,
        addresses: addresses.clone(),
        store: store.clone(),
        programs: program::Programs::new(options.event_program.clone()),
        log: log.clone(),
        board: board.clone(),
        slot,
    };
    let mut senders = Senders::default();
    let mut tasks = Vec::new();
    for name in &options.interfaces {
        let slot = slot_of(name);
        let info = known
            .get(name)
            .ok_or_else(|| AgentError::NoSuchInterface(name.clone()))?;
        let settings = defaults.settings(name);
        let client = client_for(info, &settings, options, &store, known, &log)?;
        let link =
            net::Link::open(name, info.index, info.mac).map_err(|source| AgentError::Net {
                name: name.clone(),
                source,
            })?;
        let iface = Interface {
            client,
            link: Arc::new(link),
            at: surroundings(info, slot),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = StopWith::choose(options.adopt, settings.release_on_sigterm);
        senders.v4.push((info.index, tx, stop));
        tasks.push(tokio::spawn(iface.run(rx)));
    }
    for name in &options.interfaces6 {
        let info = known
            .get(name)
            .ok_or_else(|| AgentError::NoSuchInterface(name.clone()))?;
        let settings = defaults6.settings(name);
        let link_local = wait_link_local(&addresses, name, info.index, &log).await?;
        let link =
            Link6::open(name, info.index, link_local).map_err(|source| AgentError::Net6 {
                name: name.clone(),
                source,
            })?;
        let client = client6_for(info, link_local, &settings, options, &store, &log)?;
        let iface = Interface6 {
            client,
            link: Arc::new(link),
            at: surroundings(info, slot_of(name)),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = StopWith::choose(options.adopt, settings.release_on_sigterm);
        senders.v6.push((info.index, tx, stop));
        tasks.push(tokio::spawn(iface.run(rx)));
    }
    let control = {
        let board = board.clone();
        let log = log.clone();
        let path = options.control_socket.clone();
        let v4: Vec<(String, mpsc::UnboundedSender<Order<HostEvent>>)> = options
            .interfaces
            .iter()
            .cloned()
            .zip(senders.v4.iter().map(|(_, tx, _)| tx.clone()))
            .collect();
        let v6: Vec<(String, mpsc::UnboundedSender<Order<HostEvent6>>)> = options
            .interfaces6
            .iter()
            .cloned()
            .zip(senders.v6.iter().map(|(_, tx, _)| tx.clone()))
            .collect();
        let orders: control::Orders = Arc::new(move |name: &str, given| match given {
            control::Given::V4(event) => send_to(&v4, name, event),
            control::Given::V6(event) => send_to(&v6, name, event),
        });
        tokio::spawn(control::serve(listener, board, orders, move |e| {
            log.log(
                Level::Error,
                "",
                &format!("control socket {}: {e}", path.display()),
            );
        }))
    };
    let (link_tx, mut links) = mpsc::channel(16);
    let watcher = tokio::spawn(address::watch_links(link_tx));
    let (dad_tx, mut dad) = mpsc::channel(16);
    let dad_watcher = tokio::spawn(address::watch_dad(dad_tx));
    let mut term = signal(SignalKind::terminate()).map_err(system("SIGTERM handler"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(system("SIGINT handler"))?;
    let mut quit = signal(SignalKind::quit()).map_err(system("SIGQUIT handler"))?;
    let mut hup = signal(SignalKind::hangup()).map_err(system("SIGHUP handler"))?;
    let mut cont =
        signal(SignalKind::from_raw(nix::libc::SIGCONT)).map_err(system("SIGCONT handler"))?;
    let all_done = futures_util::future::join_all(tasks);
    tokio::pin!(all_done);
    loop {
        let stop = |signal: &str| {
            log.log(
                Level::Informational,
                "",
                &format!("received {signal}, shutting down"),
            );
            senders.stop();
        };
        tokio::select! {
            _ = &mut all_done => break,
            Some(_) = term.recv() => stop("SIGTERM"),
            Some(_) = int.recv() => stop("SIGINT"),
            Some(_) = quit.recv() => stop("SIGQUIT"),
            Some(_) = hup.recv() => log.log(Level::Informational, "", "SIGHUP ignored"),
            Some(_) = cont.recv() => {
                log.log(Level::Informational, "", "continued after a stop: leases are validated");
                senders.host(None, HostEvent::Suspend, HostEvent6::Suspend);
                senders.host(None, HostEvent::Resume, HostEvent6::Resume);
            }
            Some((index, carrier)) = links.recv() => {
                log.log(Level::Debug, "", &format!("interface index {index}: carrier {}", if carrier { "on" } else { "off" }));
                if carrier {
                    senders.host(Some(index), HostEvent::LinkUp, HostEvent6::LinkUp);
                } else {
                    senders.host(Some(index), HostEvent::LinkDown, HostEvent6::LinkDown);
                }
            }
            Some((index, address, outcome)) = dad.recv() => {
                senders.host6(index, match outcome {
                    address::Dad::Failed => HostEvent6::Duplicate(address),
                    address::Dad::Done => HostEvent6::DadDone(address),
                });
            }
        }
    }
    control.abort();
    watcher.abort();
    dad_watcher.abort();
    log.log(Level::Informational, "", "exiting");
    Ok(())
}

/// Removes the control socket's file when the agent ends, on error too.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An interface task's order channel, with the interface's index and how it stops.
type Sender<E> = (u32, mpsc::UnboundedSender<Order<E>>, StopWith);

/// The interface tasks' order channels: DHCPv4's and DHCPv6's.
#[derive(Default)]
struct Senders {
    v4: Vec<Sender<HostEvent>>,
    v6: Vec<Sender<HostEvent6>>,
}

impl Senders {
    /// Tells every interface (or the one with `index`) of a host event: `event` to DHCPv4
    /// tasks, `event6` to DHCPv6 ones.
    fn host(&self, index: Option<u32>, event: HostEvent, event6: HostEvent6) {
        let to = |i: &u32| index.is_none_or(|x| x == *i);
        for (i, tx, _) in &self.v4 {
            if to(i) {
                let _ = tx.send(Order::Host(event));
            }
        }
        for (i, tx, _) in &self.v6 {
            if to(i) {
                let _ = tx.send(Order::Host(event6));
            }
        }
    }

    /// Tells the DHCPv6 task of interface `index` of `event`.
    fn host6(&self, index: u32, event: HostEvent6) {
        for (i, tx, _) in &self.v6 {
            if *i == index {
                let _ = tx.send(Order::Host(event));
            }
        }
    }

    /// Tells every interface to stop.
    fn stop(&self) {
        for (_, tx, stop) in &self.v4 {
            let _ = tx.send(Order::Stop(*stop));
        }
        for (_, tx, stop) in &self.v6 {
            let _ = tx.send(Order::Stop(*stop));
        }
    }
}

/// Hands `event` to the task of interface `name` among `tasks`; false when there is none or it
/// has ended.
fn send_to<E>(tasks: &[(String, mpsc::UnboundedSender<Order<E>>)], name: &str, event: E) -> bool {
    tasks
        .iter()
        .find(|(n, _)| n == name)
        .is_some_and(|(_, tx)| tx.send(Order::Host(event)).is_ok())
}

/// The usable link-local address of interface `name` (index `index`), waited for at most
/// [`LINK_LOCAL_WAIT`].
async fn wait_link_local(
    addresses: &address::Addresses,
    name: &str,
    index: u32,
    log: &Logger,
) -> Result<std::net::Ipv6Addr, AgentError> {
    let until = tokio::time::Instant::now() + LINK_LOCAL_WAIT;
    let mut said = false;
    loop {
        let found = addresses
            .link_local(index)
            .await
            .map_err(|e| system("reading addresses")(std::io::Error::other(e)))?;
        if let Some(a) = found {
            if said {
                log.log(
                    Level::Informational,
                    name,
                    &format!("link-local address {a} usable"),
                );
            }
            return Ok(a);
        }
        if !said {
            said = true;
            log.log(
                Level::Informational,
                name,
                "waiting for a usable link-local address (duplicate address detection)",
            );
        }
        if tokio::time::Instant::now() >= until {
            return Err(AgentError::NoLinkLocal(name.to_string()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The DHCPv6 client of one interface, from the `.v6.` settings and the files.
fn client6_for(
    info: &InterfaceInfo,
    link_local: std::net::Ipv6Addr,
    settings: &defaults6::Settings6,
    options: &Options,
    store: &Store,
    log: &Logger,
) -> Result<dhcplab_client6::Client, AgentError> {
    let now = SystemTime::now();
    let name = info.name.as_str();
    let mut warn = |e: &store::StoreError| log.log(Level::Warning, name, &e.to_string());
    let mut config = dhcplab_client6::Config::new(info.mac);
    config.link_local = link_local;
    let made = || dhcplab_client6::duid_llt(info.mac, now).to_bytes();
    config.duid = match store.duid(made, &mut warn) {
        Ok(bytes) => match dhcplab_wire::v6::Duid::parse(&bytes) {
            Ok(d) => Some(d),
            Err(e) => {
                log.log(
                    Level::Error,
                    name,
                    &format!("the DUID file does not hold a DUID ({e}); a new one is made"),
                );
                None
            }
        },
        Err(e) => {
            log.log(Level::Error, name, &format!("{e}; a new DUID is made"));
            None
        }
    };
    let iaid = store.iaid(name, info.index, &mut warn)?;
    config.na_iaids = (0..u32::from(settings.ia_na))
        .map(|n| iaid.wrapping_add(n))
        .collect();
    config.pd_iaids = (0..u32::from(settings.ia_pd))
        .map(|n| iaid.wrapping_add(n))
        .collect();
    config.rapid_commit = settings.rapid_commit;
    config.dad_timeout = DAD_TIMEOUT6;
    config.information_only = settings.information_only;
    config.oro = settings.oro.clone();
    if let Some((term, kill)) = options.program_timeouts {
        config.program_term_after = term;
        config.program_kill_after = kill;
    }
    let saved = match store.load_binding(name) {
        Ok(b) => b,
        Err(e) => {
            log.log(
                Level::Error,
                name,
                &format!("{e}; the saved binding is ignored"),
            );
            None
        }
    };
    Ok(dhcplab_client6::Client::new(
        config,
        seed(info, now),
        saved,
        now,
    ))
}

/// The client of one interface, from the settings and the files.
fn client_for(
    info: &InterfaceInfo,
    settings: &Settings,
    options: &Options,
    store: &Store,
    known: &BTreeMap<String, InterfaceInfo>,
    log: &Logger,
) -> Result<Client, AgentError> {
    let now = SystemTime::now();
    let name = info.name.as_str();
    let mut warn = |e: &store::StoreError| log.log(Level::Warning, name, &e.to_string());
    let mut config = Config::new(info.mac);
    config.param_request_list = settings.param_request_list.clone();
    config.offer_wait = settings.offer_wait;
    if let Some((term, kill)) = options.program_timeouts {
        config.program_term_after = term;
        config.program_kill_after = kill;
    }
    if settings.request_hostname {
        config.hostname = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok());
    }
    let needs_iaid = settings.v4_default_iaid_duid
        || settings
            .client_id
            .as_ref()
            .is_some_and(|c| !matches!(c, defaults::ClientIdSpec::Raw(_)));
    let iaid = if needs_iaid {
        store.iaid(name, info.index, &mut warn)?
    } else {
        0
    };
    let mut duid_error = None;
    let mut agent_duid = || {
        store
            .duid(|| defaults::new_duid(info.mac, now), &mut |e| {
                log.log(Level::Warning, name, &e.to_string())
            })
            .unwrap_or_else(|e| {
                let fallback = defaults::new_duid(info.mac, now);
                duid_error = Some(e);
                fallback
            })
    };
    let mac_of = |n: &str| known.get(n).map(|i| i.mac);
    match settings.client_identifier(now, iaid, &mut agent_duid, &mac_of) {
        Ok(id) => config.client_id = id,
        Err(e) => log.log(
            Level::Warning,
            name,
            &format!("CLIENT_ID: {e}; no client identifier is sent"),
        ),
    }
    if let Some(e) = duid_error {
        log.log(Level::Error, name, &format!("{e}; the DUID is not kept"));
    }
    let saved = match store.load_lease(name) {
        Ok(l) => l,
        Err(e) => {
            log.log(
                Level::Error,
                name,
                &format!("{e}; the saved lease is ignored"),
            );
            None
        }
    };
    let on_interface = saved.as_ref().is_some_and(|l| {
        info.addresses
            .iter()
            .any(|(a, len)| *a == l.address && *len == l.prefix_len)
    });
    let mut client = Client::new(config, seed(info, now), saved, now);
    if options.adopt && on_interface && client.adopt() {
        log.log(
            Level::Informational,
            name,
            "adopted the address the interface already has",
        );
    }
    Ok(client)
}

/// A seed for transaction ids and retransmission fuzz that differs between runs and hosts.
fn seed(info: &InterfaceInfo, now: SystemTime) -> u64 {
    let nanos = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mac = info
        .mac
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    nanos ^ (u64::from(std::process::id()) << 32) ^ mac ^ u64::from(info.index)
}
