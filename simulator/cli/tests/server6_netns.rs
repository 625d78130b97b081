//! The reference server daemon with a `Dhcp6` configuration in a network namespace serves real
//! DHCPv6 clients across a veth pair (duplicate address detection off in both namespaces, so
//! link-local addresses are usable at once): ISC `dhclient -6` gets an address from the pool,
//! the lease file has it in Kea's v6 format, `lease6-get` answers for it over the control
//! socket, and after a restart the server has the same DUID (its `kea-dhcp6-serverid` file is
//! read again) and the lease; perfdhcp -6 completes a bounded number of four-message exchanges
//! (every Request answered), as clients on the link and as a relay sending to the server's
//! global address. Needs root (CI runs as root) and the clients (ci/test installs them).

use dhcplab_adapters::clients::{Persistence, RealClient};
use dhcplab_adapters::clients6::bound_address6;
use dhcplab_memfile::{HEADER6, LeaseType, load6};
use dhcplab_testkit::netns::{Netns, Pair, Process, can_create_namespaces, have, wait_for};
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The served subnet and pool (RFC 3849 documentation prefix).
const POOL: (Ipv6Addr, Ipv6Addr) = (
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x100),
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0xfff),
);

fn write_config(dir: &Path) -> PathBuf {
    // The subnet is selected by the interface (`interface`), as kea-dhcp6 selects it for a
    // client that is on the link and sends from its link-local address.
    let config = serde_json::json!({ "Dhcp6": {
        "interfaces-config": { "interfaces": [ "v-srv" ] },
        "control-socket": { "socket-type": "unix", "socket-name": dir.join("ctl.sock") },
        "lease-database": { "type": "memfile", "lfc-interval": 0 },
        "preferred-lifetime": 3000, "valid-lifetime": 4000,
        "renew-timer": 1000, "rebind-timer": 2000,
        "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64", "interface": "v-srv",
            "pools": [ { "pool": format!("{} - {}", POOL.0, POOL.1) } ] } ],
        "loggers": [ { "name": "kea-dhcp6", "severity": "DEBUG",
            "output_options": [ { "output": dir.join("server.log") } ] } ]
    } });
    let path = dir.join("dhcplab6.json");
    std::fs::write(&path, config.to_string()).expect("write configuration");
    path
}

/// The pair of the test, with v-cli's link-local address usable: the veth peer is made before
/// the client namespace's `accept_dad=0` reaches it, so its link-local address starts
/// tentative (dhclient -6 exits with "no link-local IPv6 address", perfdhcp finds no address);
/// DAD is turned off on it and the link restarted, and the test waits until the address is
/// no longer tentative.
fn pair() -> Pair {
    let pair = Pair::new();
    let status = pair
        .client
        .command("sysctl")
        .args(["-qw", "net.ipv6.conf.v-cli.accept_dad=0"])
        .status()
        .expect("run sysctl");
    assert!(status.success(), "sysctl accept_dad on v-cli");
    pair.client.ip(&["link", "set", "v-cli", "down"]);
    pair.client.ip(&["link", "set", "v-cli", "up"]);
    let usable = wait_for(Duration::from_secs(5), || {
        let out = pair
            .client
            .command("ip")
            .args(["-6", "-o", "addr", "show", "dev", "v-cli", "scope", "link"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.contains("fe80::") && !out.contains("tentative")
    });
    assert!(usable, "v-cli has no usable link-local address");
    pair
}

fn start_server(pair: &Pair) -> Process {
    let config = write_config(&pair.dir);
    let mut c = pair.server.command(env!("CARGO_BIN_EXE_dhcplab"));
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

fn stop_server(mut server: Process, pair: &Pair) {
    server.signal("TERM");
    assert_eq!(
        server.wait_exit(Duration::from_secs(5)),
        Some(Some(0)),
        "server exit:\n{}",
        log(&pair.dir.join("server.out"))
    );
    assert!(!pair.dir.join("ctl.sock").exists());
}

fn log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("({}: {e})", path.display()))
}

fn ctl(dir: &Path, command: &str, args: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .arg("ctl")
        .arg(dir.join("ctl.sock"))
        .arg(command)
        .arg(args)
        .output()
        .expect("run dhcplab ctl");
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// Starts dhclient -6 on `v-cli`, its files under `dir`.
fn start_dhclient(client: &Netns, dir: &Path) -> Process {
    std::fs::create_dir_all(dir).expect("client directory");
    let in_ns = |program: &str| client.command(program);
    let command = RealClient::Dhclient
        .command6(dir, "v-cli", Persistence::Once, &in_ns)
        .expect("dhclient -6 command");
    Process::start(command, "dhclient -6", &dir.join("client.out"))
}

/// The option value dhclient -6 recorded in its lease file for `name` (`dhcp6.server-id`),
/// as bytes: dhclient writes it as colon hex without leading zeros.
fn leased_option(dir: &Path, name: &str) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string(dir.join("dhclient6.leases")).ok()?;
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with(&format!("option {name} ")))?;
    let value = line
        .trim()
        .trim_start_matches(&format!("option {name} "))
        .trim_end_matches(';');
    value
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

/// The server DUID file's colon hex as bytes.
fn duid_file(dir: &Path) -> Vec<u8> {
    log(&dir.join("kea-dhcp6-serverid"))
        .trim()
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).expect("colon hex"))
        .collect()
}

#[test]
fn serves_dhclient6_and_keeps_lease_and_duid_across_a_restart() {
    if !can_create_namespaces() || !have("dhclient") {
        return;
    }
    let pair = pair();
    let server = start_server(&pair);
    let dir = pair.dir.join("dhclient6");
    let mut client = start_dhclient(&pair.client, &dir);
    let context = |what: &str| {
        format!(
            "dhclient -6 with the reference server: {what}\n--- client:\n{}\n--- server:\n{}",
            log(&dir.join("client.out")),
            log(&pair.dir.join("server.log"))
        )
    };
    assert!(
        wait_for(Duration::from_secs(20), || bound_address6(&dir).is_some()),
        "{}",
        context("no address")
    );
    let address = bound_address6(&dir).expect("bound");
    assert!((POOL.0..=POOL.1).contains(&address), "{address}");
    // The lease was on disk before the Reply left: the file, in Kea's v6 format, has it.
    let text = log(&pair.dir.join("kea-leases6.csv"));
    assert_eq!(text.lines().next(), Some(HEADER6), "{text}");
    let leases = load6(&text).expect("Kea's DHCPv6 lease file");
    let lease = leases
        .leases
        .get(&address)
        .unwrap_or_else(|| panic!("{}", context("lease not in the file")));
    assert_eq!(lease.lease_type, LeaseType::Na);
    assert_eq!(
        (lease.valid_lifetime, lease.preferred_lifetime),
        (4000, 3000)
    );
    assert!(!lease.duid.is_empty());
    // The control socket answers for it (Kea's lease6-get by address).
    let got = ctl(
        &pair.dir,
        "lease6-get",
        &format!(r#"{{"ip-address": "{address}"}}"#),
    );
    assert_eq!(got["result"], 0, "{got}");
    assert_eq!(got["arguments"]["ip-address"], address.to_string());
    assert_eq!(got["arguments"]["type"], "IA_NA");
    // The server identified itself with the DUID of its file.
    let duid = duid_file(&pair.dir);
    assert_eq!(
        leased_option(&dir, "dhcp6.server-id").as_ref(),
        Some(&duid),
        "{}",
        context("server-id")
    );
    // Restart: the client stops without releasing, the server stops and starts again.
    client.signal("KILL");
    let _ = client.wait_exit(Duration::from_secs(5));
    stop_server(server, &pair);
    let server = start_server(&pair);
    assert_eq!(
        duid_file(&pair.dir),
        duid,
        "the DUID file is read, not replaced"
    );
    let got = ctl(
        &pair.dir,
        "lease6-get",
        &format!(r#"{{"ip-address": "{address}"}}"#),
    );
    assert_eq!(got["result"], 0, "the lease survives the restart: {got}");
    // The same client (same DUID and IAID, kept in its lease file) gets the same address,
    // from a server with the same server-id.
    std::fs::remove_file(dir.join("hook.log")).expect("a fresh event log");
    let _client = start_dhclient(&pair.client, &dir);
    assert!(
        wait_for(Duration::from_secs(20), || bound_address6(&dir).is_some()),
        "{}",
        context("no address after the restart")
    );
    assert_eq!(bound_address6(&dir), Some(address));
    assert_eq!(leased_option(&dir, "dhcp6.server-id"), Some(duid));
    stop_server(server, &pair);
}

/// Runs perfdhcp -6 from the client namespace for 300 four-message exchanges at 100/s (at
/// most 20 s), `extra` before its interface argument, and checks its report and the lease file:
/// every Request answered, one lease per client, every address from the pool.
fn perfdhcp6_against_the_server(pair: &Pair, extra: &[&str]) {
    let out = pair
        .client
        .command("timeout")
        .args([
            "30", "perfdhcp", "-6", "-r", "100", "-R", "1000000", "-n", "300", "-p", "20",
        ])
        .args(extra)
        .output()
        .expect("run perfdhcp");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let context = format!(
        "{report}\n{}\n--- server's messages other than its exchanges:\n{}",
        String::from_utf8_lossy(&out.stderr),
        log(&pair.dir.join("server.log"))
            .lines()
            .filter(|l| !l.contains("DEBUG"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let counts = |what: &str| -> Vec<u64> {
        report
            .lines()
            .filter(|l| l.trim_start().starts_with(what))
            .filter_map(|l| l.split_whitespace().nth(2)?.parse().ok())
            .collect()
    };
    let (sent, received) = (counts("sent packets:"), counts("received packets:"));
    assert_eq!(sent.len(), 2, "two exchanges reported: {context}");
    assert_eq!(sent[0], 300, "{context}");
    // perfdhcp 2.2 -6 -n N now and then counts one exchange of the N as dropped although the
    // answer left the server, against kea-dhcp6 2.2 as well (seen on this machine, same
    // topology: 300 sent, 299 Advertises counted, while the server's pkt6-advertise-sent is
    // 300; once the same for a Reply). So the server's own counters decide what it answered,
    // and perfdhcp's count may miss one answer of each kind, no more.
    assert!(received[0] + 1 >= sent[0], "Advertises: {context}");
    assert!(received[1] + 1 >= sent[1], "Replies: {context}");
    let stat = |name: &str| -> u64 {
        let got = ctl(
            &pair.dir,
            "statistic-get",
            &format!(r#"{{"name": "{name}"}}"#),
        );
        got["arguments"][name][0][0]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: {got}"))
    };
    assert_eq!(
        stat("pkt6-advertise-sent"),
        sent[0],
        "every Solicit answered: {context}"
    );
    assert_eq!(
        stat("pkt6-request-received"),
        sent[1],
        "every Request received: {context}"
    );
    assert_eq!(
        stat("pkt6-reply-sent"),
        sent[1],
        "every Request answered: {context}"
    );
    // One lease per client: perfdhcp draws each exchange's client (DUID) at random from a
    // million, so two of the 300 exchanges now and then share one.
    let leases = load6(&log(&pair.dir.join("kea-leases6.csv"))).expect("lease file");
    let requests = usize::try_from(sent[1]).expect("count");
    assert!(
        (requests - 10..=requests).contains(&leases.leases.len()),
        "{} leases for {requests} Requests",
        leases.leases.len()
    );
    assert!(
        leases.leases.keys().all(|a| (POOL.0..=POOL.1).contains(a)),
        "every address from the pool"
    );
}

#[test]
fn perfdhcp6_has_every_request_answered_and_leased() {
    if !can_create_namespaces() || !have("perfdhcp") {
        return;
    }
    let pair = pair();
    let server = start_server(&pair);
    // perfdhcp -6 sends to ff02::1:2 from v-cli's link-local address, as a client on the link.
    perfdhcp6_against_the_server(&pair, &["-l", "v-cli"]);
    stop_server(server, &pair);
}

#[test]
fn relayed_queries_to_the_servers_global_address_are_answered() {
    if !can_create_namespaces() || !have("perfdhcp") {
        return;
    }
    let pair = pair();
    pair.server
        .ip(&["addr", "add", "2001:db8:1::1/64", "dev", "v-srv", "nodad"]);
    pair.client
        .ip(&["addr", "add", "2001:db8:1::2/64", "dev", "v-cli", "nodad"]);
    let server = start_server(&pair);
    // perfdhcp -6 -A1 is a relay (RFC 8415 19): each query a Relay-forw from its global
    // address to the server's, whose Relay-repl must go back there, from the server's global
    // address; the subnet comes from the link-address.
    perfdhcp6_against_the_server(&pair, &["-A1", "-l", "v-cli", "2001:db8:1::1"]);
    stop_server(server, &pair);
}
