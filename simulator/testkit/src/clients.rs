//! Real DHCPv4 clients (ISC dhclient, busybox udhcpc, dhcpcd, run by `dhcplab-adapters`)
//! started in a namespace with every file in the test's directory and a hook script that logs
//! each event.

use crate::netns::{Netns, Process};
use std::path::{Path, PathBuf};

pub use dhcplab_adapters::clients::{Persistence, RealClient, bound_address, events};

/// Starts `client` on `iface` in `ns`, its files under `dir`; its output goes to `client.out`.
///
/// # Panics
/// When the hook or configuration cannot be written or the client cannot start.
pub fn start(client: RealClient, ns: &Netns, dir: &Path, iface: &str) -> Process {
    let in_ns = |program: &str| ns.command(program);
    let command = client
        .command(dir, iface, Persistence::Once, &in_ns)
        .unwrap_or_else(|e| panic!("{}: {e}", client.program()));
    Process::start(command, client.program(), &dir.join("client.out"))
}

/// Asks the running client to release its lease and stop: `dhclient -r`, SIGTERM to udhcpc
/// (started with -R), `dhcpcd -k` to dhcpcd.
pub fn release(client: RealClient, process: &mut Process, ns: &Netns, dir: &Path, iface: &str) {
    let in_ns = |program: &str| ns.command(program);
    match client.release_command(dir, iface, &in_ns) {
        Some(mut c) => {
            let _ = c.output();
        }
        None => process.signal("TERM"),
    }
}

/// The directory a client's files go in under a test's directory.
pub fn client_dir(test_dir: &Path, client: RealClient) -> PathBuf {
    test_dir.join(client.program())
}
