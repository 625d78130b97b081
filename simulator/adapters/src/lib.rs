//! How to run each DHCP stack in a host's namespace, as ../shared/realstacks.md records them
//! working on Debian 12: the configuration files it needs (all written in the run's
//! directory, never /etc or /var), the command line, how to tell it is ready without fixed
//! sleeps, how a client reports its events (a hook script that logs each one), and how a client
//! releases its lease.
//!
//! Namespaces are the caller's: every function takes `in_ns`, which makes a [`Command`] that
//! runs a program inside the host's namespace (`ip netns exec NS PROGRAM`), so the same
//! adapters serve the veth pairs of the daemon tests and the TAP hosts of TAP mode.

pub mod clients;
pub mod clients6;
pub mod leasefiles;
pub mod servers;
pub mod servers6;
pub mod translate;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Makes a command that runs a program inside the host's namespace.
pub type InNamespace<'a> = &'a dyn Fn(&str) -> Command;

/// Why a stack could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// A configuration file or hook could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The server does not read Kea's configuration language.
    #[error("{0} does not read Kea's configuration")]
    NotKea(&'static str),
    /// A Kea configuration cannot be said faithfully in the server's own configuration.
    #[error("cannot translate {0}")]
    Untranslatable(#[from] translate::Untranslatable),
    /// The server reads Kea's configuration itself: there is nothing to translate.
    #[error("{0} reads Kea's configuration itself")]
    NotTranslated(&'static str),
    /// A server's file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A server's lease file does not read as its format says.
    #[error("{path}: {source}")]
    LeaseFile {
        /// The file.
        path: String,
        /// What is wrong, and where.
        source: leasefiles::LeaseFileError,
    },
    /// The Kea configuration given has no `Dhcp4` map.
    #[error("the Kea configuration has no Dhcp4 map")]
    NoDhcp4,
    /// The Kea configuration given has no `Dhcp6` map.
    #[error("the Kea configuration has no Dhcp6 map")]
    NoDhcp6,
    /// The stack does not take part in DHCPv6 in the lab: why.
    #[error("no DHCPv6: {0}")]
    NoV6(&'static str),
    /// A DHCPv6 address given to a stack is outside 2001:db8::/32 (the lab's only global
    /// addresses) or outside the server's /64.
    #[error("{0} is outside 2001:db8::/32 or outside the server's /64")]
    Outside6(std::net::Ipv6Addr),
    /// DHCPv6 lifetimes out of order (RFC 8415 section 21.4 and 21.6 want T1 ≤ T2 ≤ preferred
    /// ≤ valid).
    #[error(
        "lifetimes out of order: T1 {t1} s, T2 {t2} s, preferred {preferred} s, valid {valid} s (T1 <= T2 <= preferred <= valid)"
    )]
    Lifetimes {
        /// T1.
        t1: u32,
        /// T2.
        t2: u32,
        /// The preferred lifetime.
        preferred: u32,
        /// The valid lifetime.
        valid: u32,
    },
    /// A control socket's path is longer than a unix socket address takes.
    #[error(
        "the control socket {path} is {len} bytes long, more than a unix socket takes ({MAX_SOCKET_PATH}): use a shorter directory"
    )]
    SocketPath {
        /// The path.
        path: String,
        /// Its length in bytes.
        len: usize,
    },
    /// kea-dhcp4 loads the high availability hook (`libdhcp_ha.so`), but its parameters do not
    /// say where this server's control agent is to listen (its own peer's `url`).
    #[error("libdhcp_ha.so parameters: {0}")]
    HaParameters(String),
    /// The `url` of this server's own HA peer is not one a control agent can listen on.
    #[error(
        "libdhcp_ha.so parameters: the url {url:?} of peer {peer:?}: {reason}; the control agent listens on http://ADDRESS:PORT/"
    )]
    HaUrl {
        /// The url.
        url: String,
        /// The peer's `name` (this server's `this-server-name`).
        peer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The longest path a unix socket address holds (`sun_path` is 108 bytes with its NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// `path`, when a unix socket can be bound there.
fn socket_path(path: std::path::PathBuf) -> Result<std::path::PathBuf, AdapterError> {
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(AdapterError::SocketPath {
            path: path.display().to_string(),
            len,
        });
    }
    Ok(path)
}

/// Checks `ready` every `poll` until it holds or `limit` has passed, and says whether it held:
/// how a stack's readiness or a client's lease is waited for, without fixed sleeps.
pub fn wait_until(limit: Duration, poll: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(poll);
    }
}

/// Sends `request` to the control socket at `socket` (a Kea-style server's or the reference
/// agent's) and reads the whole answer, waiting at most `timeout` for each read.
pub fn exchange(socket: &Path, timeout: Duration, request: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(timeout))?;
    // A server may answer and close before it has read the whole request (a refusal): its
    // answer is still there to read when the write fails.
    let written = stream.write_all(request.as_bytes());
    let mut answer = String::new();
    let read = stream.read_to_string(&mut answer);
    match (written, read) {
        (Err(_), Ok(_)) if !answer.is_empty() => Ok(answer),
        (Err(e), _) | (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(_)) => Ok(answer),
    }
}

fn write(path: &Path, text: impl AsRef<[u8]>) -> Result<(), AdapterError> {
    std::fs::write(path, text).map_err(|source| AdapterError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn make_dir(path: &Path) -> Result<(), AdapterError> {
    std::fs::create_dir_all(path).map_err(|source| AdapterError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn executable(path: &Path) -> Result<(), AdapterError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|source| {
        AdapterError::Write {
            path: path.display().to_string(),
            source,
        }
    })
}

/// A path as a command-line argument.
fn arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
