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
/// (started with -R), `dhcpcd -k` to dhcpcd. A client still running 5 s after the order is
/// given it once more: dhcpcd 9.4.1 now and then does not act on the first (seen in CI: no
/// line in its log, renewals going on).
pub fn release(client: RealClient, process: &mut Process, ns: &Netns, dir: &Path, iface: &str) {
    let in_ns = |program: &str| ns.command(program);
    let Some(mut first) = client.release_command(dir, iface, &in_ns) else {
        process.signal("TERM");
        return;
    };
    let _ = first.output();
    if !crate::netns::wait_for(std::time::Duration::from_secs(5), || !process.running()) {
        eprintln!(
            "{} still runs 5 s after its release order: ordered again",
            client.program()
        );
        if let Some(mut again) = client.release_command(dir, iface, &in_ns) {
            let _ = again.output();
        }
    }
}

/// The directory a client's files go in under a test's directory.
pub fn client_dir(test_dir: &Path, client: RealClient) -> PathBuf {
    test_dir.join(client.program())
}
