//! The reference DHCP servers as a daemon: `dhcplab server -c FILE`, with a `Dhcp4` map the
//! DHCPv4 server (as kea-dhcp4), with a `Dhcp6` map the DHCPv6 server (as kea-dhcp6).
//!
//! A thin driver around the sans-IO cores ([`dhcplab_server::Server`],
//! [`dhcplab_server6::Server`]): it reads the configuration and the lease file, opens the
//! sockets of the configured interfaces, and then feeds the core what arrives (datagrams,
//! control commands, timer expiries, signals) and carries out what the core asks (send, append
//! a lease row, compact the lease file, write the server DUID file, stop). One loop
//! ([`driver`]) serves both families.
//!
//! Replies wait for their lease rows: rows go to a writer thread that syncs once per batch
//! (group commit), and a reply leaves only when every row queued before it is on disk.
//! SIGTERM and SIGINT stop the daemon after the last rows are synced; SIGHUP reloads the
//! configuration file, as `config-reload` does.
//!
//! With high availability (`libdhcp_ha.so`, DHCPv4 only), the daemon carries the HA service's
//! peer commands over HTTP and answers the partner's at this server's own peer URL ([`peers`]).

mod control;
mod driver;
pub mod lease_file;
mod logging;
pub mod net;
pub mod net6;
pub mod peers;
mod scripts;
mod v4;
pub mod v6;

use dhcplab_kea_config::{dhcp4, dhcp6};
use std::path::{Path, PathBuf};
use tokio::sync::oneshot;

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
    /// The configuration file is not UTF-8 text; the place of its first bad byte.
    #[error(
        "{}:{line}:{column}: not UTF-8 text: byte {byte:#04x} at byte offset {offset}",
        path.display()
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Line of the bad byte, from 1.
        line: usize,
        /// Column of the bad byte, from 1, in characters.
        column: usize,
        /// Byte offset of the bad byte in the file.
        offset: usize,
        /// The bad byte.
        byte: u8,
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
    /// DHCPv6 sockets could not be opened.
    #[error(transparent)]
    Net6(#[from] net6::NetError),
    /// The DHCPv6 server DUID file could not be read or written.
    #[error("server DUID file {path}: {source}")]
    ServerIdFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
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

/// Which server a configuration file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A `Dhcp4` map: the DHCPv4 server, as kea-dhcp4.
    V4,
    /// A `Dhcp6` map: the DHCPv6 server, as kea-dhcp6.
    V6,
}

/// The family of a configuration file's text: [`Family::V6`] when its top level has a `Dhcp6`
/// map and no `Dhcp4` map, else [`Family::V4`] (whose reader then reports what is wrong, with
/// line and column, for a text that is not JSON or has neither map).
pub fn family(text: &str) -> Family {
    let root = dhcplab_kea_config::json::parse(text);
    let has = |key: &str| match root.as_ref().map(|r| &r.value) {
        Ok(dhcplab_kea_config::json::Value::Object(members)) => {
            members.iter().any(|(k, _)| k.name == key)
        }
        _ => false,
    };
    if has("Dhcp6") && !has("Dhcp4") {
        Family::V6
    } else {
        Family::V4
    }
}

/// Reads a configuration file's text, for starting, `-t` and reloading alike; a file that
/// is not UTF-8 is refused with the place of its first bad byte, so the user can find it.
pub fn read_config_text(path: &Path) -> Result<String, DaemonError> {
    let bytes = std::fs::read(path).map_err(|source| DaemonError::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let good = e.as_bytes().get(..offset).unwrap_or_default();
        let good = std::str::from_utf8(good).unwrap_or_default();
        let line_start = good.rfind('\n').map_or(0, |i| i + 1);
        DaemonError::NotUtf8 {
            path: path.to_path_buf(),
            line: good.matches('\n').count() + 1,
            column: good.get(line_start..).map_or(0, |l| l.chars().count()) + 1,
            offset,
            byte: e.as_bytes().get(offset).copied().unwrap_or_default(),
        }
    })
}

/// Runs the daemon until it is stopped; `Ok` after a clean stop. The configuration's family
/// ([`family`]) chooses the DHCPv4 or the DHCPv6 server.
pub fn run(options: &Options) -> Result<(), DaemonError> {
    let text = read_config_text(&options.config)?;
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(DaemonError::Runtime)
    };
    match family(&text) {
        Family::V4 => {
            let (config, json) = driver::read_config(&options.config, dhcp4::parse_document)?;
            let _log_guard = logging::init(&config.loggers, options.debug)?;
            runtime()?.block_on(v4::serve(options, config, json))
        }
        Family::V6 => {
            let (config, json) = driver::read_config(&options.config, dhcp6::parse_document)?;
            let _log_guard = logging::init(&config.loggers, options.debug)?;
            runtime()?.block_on(v6::serve(options, config, json))
        }
    }
}

/// A command from the control socket or the HA peer endpoint, with where its answer goes.
pub(crate) struct Command {
    text: String,
    answer: oneshot::Sender<serde_json::Value>,
}
