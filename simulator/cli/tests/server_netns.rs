//! The reference server daemon in a network namespace serves real clients (ISC dhclient,
//! busybox udhcpc, dhcpcd) across a veth pair: each gets an address from the pool, renews it
//! at T1 by unicast, and releases it; the server's lease file follows every step. It does so
//! too as an unprivileged user with only the capabilities of its systemd unit. Needs root
//! (CI runs as root) and the clients (ci/test installs them).

use dhcplab_memfile::rows4;
use dhcplab_testkit::clients::{self, RealClient, bound_address, client_dir, events};
use dhcplab_testkit::netns::{NOBODY, Pair, Process, can_create_namespaces, have, wait_for};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];

fn write_config(dir: &Path) -> std::path::PathBuf {
    let config = serde_json::json!({ "Dhcp4": {
        "interfaces-config": { "interfaces": [ "v-srv" ] },
        "control-socket": { "socket-type": "unix", "socket-name": dir.join("ctl.sock") },
        "lease-database": { "type": "memfile", "name": dir.join("leases4.csv"), "lfc-interval": 0 },
        "valid-lifetime": 12, "renew-timer": 3, "rebind-timer": 9,
        "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
            "pools": [ { "pool": "192.0.2.100 - 192.0.2.200" } ],
            "option-data": [ { "name": "routers", "data": "192.0.2.1" },
                             { "name": "domain-name-servers", "data": "192.0.2.1" } ] } ],
        "loggers": [ { "name": "kea-dhcp4", "severity": "DEBUG",
            "output_options": [ { "output": dir.join("server.log") } ] } ]
    } });
    let path = dir.join("dhcplab4.json");
    std::fs::write(&path, config.to_string()).expect("write configuration");
    path
}

/// Starts the server; with `unprivileged`, as the user nobody holding only the capabilities
/// of the systemd unit (and no way to gain others), in a directory nobody owns.
fn start_server(pair: &Pair, unprivileged: bool) -> Process {
    let config = write_config(&pair.dir);
    let mut c = if unprivileged {
        let unit = include_str!("../../../reference-impl/server-daemon/dhcplab-server.service");
        pair.server
            .command_as_nobody(unit, &pair.dir, Path::new(env!("CARGO_BIN_EXE_dhcplab")))
    } else {
        pair.server.command(env!("CARGO_BIN_EXE_dhcplab"))
    };
    c.args(["server", "-c"]).arg(&config);
    let mut server = Process::start(c, "dhcplab server", &pair.dir.join("server.out"));
    let socket = pair.dir.join("ctl.sock");
    let ready = wait_for(Duration::from_secs(10), || {
        socket.exists() || !server.running()
    });
    assert!(
        ready && server.running(),
        "the server did not start:\n{}",
        log(&pair.dir.join("server.out"))
    );
    server
}

fn log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("({}: {e})", path.display()))
}

/// Every row of the server's lease file, deleting rows included.
fn lease_rows(dir: &Path) -> Vec<dhcplab_memfile::Lease4> {
    let text = std::fs::read_to_string(dir.join("leases4.csv")).unwrap_or_default();
    rows4(&text)
        .map(|r| r.rows.into_iter().map(|(_, l)| l).collect())
        .unwrap_or_default()
}

fn serves(client: RealClient, unprivileged: bool) {
    if !can_create_namespaces() || !have(client.program()) {
        return;
    }
    let pair = Pair::new();
    let mut server = start_server(&pair, unprivileged);
    let dir = client_dir(&pair.dir, client);
    let mut running = clients::start(client, &pair.client, &dir, "v-cli");
    let context = |what: &str| {
        format!(
            "{} with the reference server: {what}\n--- client:\n{}\n--- hook events: {:?}\n--- server:\n{}",
            client.program(),
            log(&dir.join("client.out")),
            events(&dir)
                .iter()
                .map(|(e, _)| e.clone())
                .collect::<Vec<_>>(),
            log(&pair.dir.join("server.log"))
        )
    };
    assert!(
        wait_for(Duration::from_secs(20), || bound_address(&dir).is_some()),
        "{}",
        context("no lease")
    );
    let address = bound_address(&dir).expect("bound");
    assert!(
        (Ipv4Addr::new(192, 0, 2, 100)..=Ipv4Addr::new(192, 0, 2, 200)).contains(&address),
        "{address}"
    );
    assert!(
        pair.client
            .addresses("v-cli")
            .contains(&format!("{address}/24")),
        "{}",
        context(&format!(
            "{address}/24 is not on v-cli: {:?}",
            pair.client.addresses("v-cli")
        ))
    );
    // The lease was on disk before the ACK left: the file has it now, for this client.
    let rows = lease_rows(&pair.dir);
    let first = rows
        .iter()
        .find(|l| l.address == address)
        .unwrap_or_else(|| panic!("{}", context("lease not in the file")));
    assert_eq!(first.hwaddr, CLIENT_MAC.to_vec());
    assert_eq!(first.valid_lifetime, 12);
    // T1 is 3 s: the client renews by unicast to the server, which extends the lease. Busybox
    // udhcpc stretches short leases to two minutes; SIGUSR1 makes it renew now.
    if client == RealClient::Udhcpc {
        std::thread::sleep(Duration::from_secs(1));
        running.signal("USR1");
    }
    let renewed = wait_for(Duration::from_secs(12), || {
        lease_rows(&pair.dir)
            .iter()
            .filter(|l| l.address == address && l.valid_lifetime > 0)
            .count()
            >= 2
    });
    assert!(renewed, "{}", context("no renewal row within 12 s"));
    let rows = lease_rows(&pair.dir);
    let last = rows.iter().rfind(|l| l.address == address).expect("row");
    assert!(
        last.expire > first.expire,
        "renewal extends the lease: {first:?} then {last:?}"
    );
    // Release: the server deletes the lease (a row with valid lifetime 0).
    clients::release(client, &mut running, &pair.client, &dir, "v-cli");
    let released = wait_for(Duration::from_secs(10), || {
        lease_rows(&pair.dir)
            .iter()
            .rfind(|l| l.address == address)
            .is_some_and(|l| l.valid_lifetime == 0)
    });
    assert!(released, "{}", context("no release row"));
    // The server stops cleanly on SIGTERM and removes its control socket.
    server.signal("TERM");
    assert_eq!(
        server.wait_exit(Duration::from_secs(5)),
        Some(Some(0)),
        "{}",
        context("server exit")
    );
    assert!(!pair.dir.join("ctl.sock").exists());
    if unprivileged {
        let owner = std::os::unix::fs::MetadataExt::uid(
            &std::fs::metadata(pair.dir.join("leases4.csv")).expect("lease file"),
        );
        assert_eq!(owner, NOBODY, "the lease file is the unprivileged user's");
    }
}

/// The capabilities-only systemd unit's promise: as an unprivileged user with CAP_NET_RAW and
/// CAP_NET_BIND_SERVICE only, the server serves, renews and releases as root does.
#[test]
fn serves_udhcpc_with_the_units_capabilities_only() {
    serves(RealClient::Udhcpc, true);
}

#[test]
fn serves_dhclient() {
    serves(RealClient::Dhclient, false);
}

#[test]
fn serves_udhcpc() {
    serves(RealClient::Udhcpc, false);
}

#[test]
fn serves_dhcpcd() {
    serves(RealClient::Dhcpcd, false);
}
