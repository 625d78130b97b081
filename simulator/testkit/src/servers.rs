//! DHCPv4 servers on the server side of a [`Pair`], for client daemon tests: the reference
//! server, kea-dhcp4, ISC dhcpd and dnsmasq (run by `dhcplab-adapters`), each with every file
//! in the pair's directory, serving 192.0.2.100-200 on `v-srv` with router and DNS server
//! 192.0.2.1, and ready when they listen on port 67.

use crate::netns::{Pair, Process, SERVER_ADDRESS, have, wait_for};
use dhcplab_adapters::servers::{self as adapter, ServerSetup};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

/// A DHCPv4 server a client test can run against.
pub use adapter::Server;

/// Starts `server` in `pair`'s server namespace with leases of `lease` seconds (at least two
/// minutes for dnsmasq, whose shortest lease that is); `dhcplab` is the binary under test. Its
/// output goes to `server.out` in the pair's directory.
///
/// # Panics
/// When it cannot be set up or does not start listening within 10 s; the message holds its
/// output.
pub fn start(server: Server, pair: &Pair, dhcplab: &Path, lease: u32) -> Process {
    let d = &pair.dir;
    let setup = ServerSetup {
        iface: "v-srv".into(),
        address: SERVER_ADDRESS
            .parse()
            .unwrap_or(Ipv4Addr::new(192, 0, 2, 1)),
        pool: (Ipv4Addr::new(192, 0, 2, 100), Ipv4Addr::new(192, 0, 2, 200)),
        lease,
        dir: d.clone(),
        dhcplab: dhcplab.to_path_buf(),
    };
    let in_ns = |program: &str| pair.server.command(program);
    let command = server
        .command(&setup, &in_ns)
        .unwrap_or_else(|e| panic!("{}: {e}", server.program()));
    let out = d.join("server.out");
    let mut process = Process::start(command, server.program(), &out);
    let listening = wait_for(Duration::from_secs(10), || {
        !process.running() || server.ready(d, 0, &in_ns)
    });
    assert!(
        listening && process.running(),
        "{} did not start:\n{}\n{}",
        server.program(),
        std::fs::read_to_string(&out).unwrap_or_default(),
        server
            .log(d)
            .and_then(|l| std::fs::read_to_string(l).ok())
            .unwrap_or_default()
    );
    process
}

/// True when `server` can run here (see [`have`]); the reference server always can.
pub fn available(server: Server) -> bool {
    server == Server::Reference || have(server.program())
}
