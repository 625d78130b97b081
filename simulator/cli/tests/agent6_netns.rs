//! The reference client daemon running DHCPv6 (`dhcplab agent -6 IF`) in a network namespace
//! against a real kea-dhcp6 2.2 across a veth pair (namespaces, veth and files from
//! dhcplab-testkit, all removed on exit, error and panic; duplicate address detection off in
//! both namespaces): the address goes on the interface as a /128 with the server's
//! lifetimes, a delegated prefix is held, the event program hears BOUND6 and then EXTEND6 at
//! T1, `dhcplab info -v6` reads DNSAddresses, ServerID, the address and the prefix from the
//! agent, and SIGTERM releases both (`.v6.RELEASE_ON_SIGTERM=yes`: Kea's lease file marks
//! them released) or drops the address (the default: the binding file stays, and the next
//! start confirms it); the control socket's release6 releases too; a link flap and SIGCONT
//! lead to Confirm; an address that DAD finds in use is declined; both families run on one
//! interface; with Kea's Server Unicast option the Renew goes by unicast from the address
//! held; rapid commit binds on the Solicit's Reply; information-only mode informs; the agent
//! waits for a tentative link-local address. Needs
//! root (CI runs as root) and kea-dhcp6 (ci/test installs it). Addresses: 2001:db8:1::/64,
//! prefixes from 2001:db8:8::/48, 192.0.2.0/24 and link-local.

use dhcplab_testkit::netns::{Pair, Process, can_create_namespaces, have, wait_for};
use dhcplab_testkit::servers::{self, Server};
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const DHCPLAB: &str = env!("CARGO_BIN_EXE_dhcplab");

/// Kea's lifetimes: short, so that T1 comes within seconds.
const PREFERRED: u32 = 30;
const VALID: u32 = 60;
const T1: u32 = 4;
const T2: u32 = 7;
/// The DNS server Kea gives (option 23).
const DNS: &str = "2001:db8:1::53";

/// The pool Kea gives addresses from.
const POOL: &str = "2001:db8:1::100 - 2001:db8:1::1ff";

/// kea-dhcp6 on v-srv with one subnet (addresses from `pool`) and the lease file `leases.csv`
/// in the pair's directory; started when it listens on port 547.
fn start_kea(pair: &Pair, pool: &str) -> Process {
    start_kea_on(pair, pool, "v-srv")
}

/// As [`start_kea`], with Kea's `interfaces` entry `interface`: `v-srv/ADDRESS` makes Kea
/// listen on that unicast address too, and it is then sent in the Server Unicast option
/// (Kea sends that option only as option-data, `unicast`, and as the client does not ask for it
/// in its ORO, with `always-send`).
fn start_kea_on(pair: &Pair, pool: &str, interface: &str) -> Process {
    pair.server
        .ip(&["addr", "add", "2001:db8:1::1/64", "dev", "v-srv", "nodad"]);
    let leases = pair.dir.join("leases.csv");
    let mut options = vec![serde_json::json!({ "name": "dns-servers", "data": DNS })];
    if let Some((_, unicast)) = interface.split_once('/') {
        options
            .push(serde_json::json!({ "name": "unicast", "data": unicast, "always-send": true }));
    }
    let config = serde_json::json!({ "Dhcp6": {
        "interfaces-config": { "interfaces": [interface] },
        "lease-database": { "type": "memfile", "persist": true, "name": leases, "lfc-interval": 0 },
        "server-id": { "type": "LLT", "persist": true, "htype": 1, "identifier": "02005e005302", "time": 700000000 },
        "data-directory": pair.dir,
        "preferred-lifetime": PREFERRED,
        "valid-lifetime": VALID,
        "renew-timer": T1,
        "rebind-timer": T2,
        "option-data": options,
        "subnet6": [ {
            "id": 1, "subnet": "2001:db8:1::/64", "interface": "v-srv", "rapid-commit": true,
            "pools": [ { "pool": pool } ],
            "pd-pools": [ { "prefix": "2001:db8:8::", "prefix-len": 48, "delegated-len": 56 } ]
        } ],
        "loggers": [ { "name": "kea-dhcp6", "severity": "DEBUG", "debuglevel": 40,
                       "output_options": [ { "output": pair.dir.join("kea6.log") } ] } ]
    } });
    let path = pair.dir.join("kea6.json");
    std::fs::write(&path, config.to_string()).expect("write Kea configuration");
    let mut c = pair.server.command("kea-dhcp6");
    c.arg("-c")
        .arg(&path)
        .env("KEA_PIDFILE_DIR", &pair.dir)
        .env("KEA_LOCKFILE_DIR", &pair.dir);
    let mut kea = Process::start(c, "kea-dhcp6", &pair.dir.join("kea6.out"));
    let listening = wait_for(Duration::from_secs(10), || {
        pair.server
            .command("ss")
            .args(["-Hlun", "sport = :547"])
            .output()
            .is_ok_and(|o| !o.stdout.is_empty())
    });
    assert!(
        listening && kea.running(),
        "kea-dhcp6 does not listen on port 547:\n{}",
        std::fs::read_to_string(pair.dir.join("kea6.log")).unwrap_or_default()
    );
    kea
}

/// The client side: the agent's files and process.
struct Agent {
    dir: PathBuf,
    process: Process,
}

/// An event program that appends "IF EVENT" to `events` in `dir`.
fn write_program(dir: &Path) {
    let script = format!(
        "#!/bin/sh\necho \"$1 $2\" >> {}\n",
        dir.join("events").display()
    );
    let path = dir.join("eventhook");
    std::fs::write(&path, script).expect("write event program");
    let status = Command::new("chmod")
        .arg("755")
        .arg(&path)
        .status()
        .expect("chmod");
    assert!(status.success());
}

impl Agent {
    /// Starts `dhcplab agent -f -d 1 -v -6 v-cli` with `defaults` and files in `dir`.
    fn start(pair: &Pair, dir: &Path, defaults: &str, log: &str) -> Self {
        Self::start_with(pair, dir, defaults, log, &["-6", "v-cli"])
    }

    /// Starts `dhcplab agent -f -d 1 -v INTERFACES...` with `defaults` and files in `dir`.
    fn start_with(pair: &Pair, dir: &Path, defaults: &str, log: &str, interfaces: &[&str]) -> Self {
        std::fs::create_dir_all(dir).expect("client dir");
        std::fs::write(dir.join("dhcpagent"), defaults).expect("write defaults");
        write_program(dir);
        let mut c = pair.client.command(DHCPLAB);
        c.args(["agent", "-f", "-d", "1", "-v", "--defaults"])
            .arg(dir.join("dhcpagent"))
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--event-program")
            .arg(dir.join("eventhook"))
            .arg("--control")
            .arg(dir.join("agent.sock"))
            .args(interfaces);
        let process = Process::start(c, "dhcplab agent -6", &dir.join(log));
        Self {
            dir: dir.to_path_buf(),
            process,
        }
    }

    fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("events"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn wait_event(&self, event: &str, count: usize, limit: Duration) -> bool {
        wait_for(limit, || {
            self.events().iter().filter(|e| *e == event).count() >= count
        })
    }

    /// `dhcplab info -v6 -i v-cli WHAT`: (exit code, lines printed).
    fn info(&self, what: &str) -> (Option<i32>, Vec<String>) {
        self.info_with(&[what])
    }

    /// `dhcplab info -v6 -i v-cli ARGS...`: (exit code, lines printed).
    fn info_with(&self, args: &[&str]) -> (Option<i32>, Vec<String>) {
        let out = Command::new(DHCPLAB)
            .args(["info", "-v6", "-i", "v-cli", "--control"])
            .arg(self.dir.join("agent.sock"))
            .args(args)
            .output()
            .expect("dhcplab info");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string)
                .collect(),
        )
    }
}

/// Everything a failure needs to be understood.
fn context(pair: &Pair, agent: &Agent, what: &str) -> String {
    let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    format!(
        "{what}\n--- events: {:?}\n--- agent:\n{}{}\n--- kea:\n{}",
        agent.events(),
        read(agent.dir.join("agent.out")),
        read(agent.dir.join("agent2.out")),
        read(pair.dir.join("kea6.log"))
    )
}

/// The pool addresses on v-cli with their `ip -6 addr` lines.
fn pool_addresses(pair: &Pair) -> Vec<(Ipv6Addr, String)> {
    let out = pair
        .client
        .command("ip")
        .args(["-6", "-o", "addr", "show", "dev", "v-cli"])
        .output()
        .expect("ip addr");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "inet6")?;
            let (a, len) = words.next()?.split_once('/')?;
            let a: Ipv6Addr = a.parse().ok()?;
            (len == "128" && a.segments()[..4] == [0x2001, 0xdb8, 1, 0]).then(|| (a, l.to_string()))
        })
        .collect()
}

/// A number after `word` in `line` (as `valid_lft 59sec`).
fn seconds_after(line: &str, word: &str) -> Option<u32> {
    let mut words = line.split_whitespace();
    words.find(|w| *w == word)?;
    words.next()?.trim_end_matches("sec").parse().ok()
}

/// The last row of Kea's lease file for `address`: its valid lifetime and state columns.
fn kea_row(pair: &Pair, address: Ipv6Addr) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(pair.dir.join("leases.csv")).ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (valid, state) = (column("valid_lifetime")?, column("state")?);
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .rev()
        .find(|row| row.first().and_then(|a| a.parse::<Ipv6Addr>().ok()) == Some(address))
        .and_then(|row| {
            Some((
                row.get(valid)?.parse().ok()?,
                (*row.get(state)?).to_string(),
            ))
        })
}

#[test]
fn agent6_binds_from_kea_extends_at_t1_answers_dhcpinfo_and_releases_on_sigterm() {
    if !can_create_namespaces() || !have("kea-dhcp6") {
        return;
    }
    let pair = Pair::new();
    let _kea = start_kea(&pair, POOL);
    let mut agent = Agent::start(
        &pair,
        &pair.dir.join("client"),
        "# dhcpagent's v6 parameter, and one IA_PD besides the IA_NA\n.v6.RELEASE_ON_SIGTERM=yes\n.v6.DHCPLAB_IA_PD=1\n",
        "agent.out",
    );
    assert!(
        agent.wait_event("v-cli BOUND6", 1, Duration::from_secs(20)),
        "{}",
        context(&pair, &agent, "no BOUND6")
    );
    let held = pool_addresses(&pair);
    assert_eq!(held.len(), 1, "{}", context(&pair, &agent, "one /128"));
    let (address, line) = held[0].clone();
    // The kernel holds the server's lifetimes (IFA_CACHEINFO): at most what Kea gave.
    let valid = seconds_after(&line, "valid_lft").expect("valid_lft");
    let preferred = seconds_after(&line, "preferred_lft").expect("preferred_lft");
    assert!(
        (VALID - 15..=VALID).contains(&valid) && preferred <= PREFERRED,
        "{line}"
    );

    // dhcpinfo -v6 answers from the Reply: the DNS server Kea was told to give, Kea's
    // DUID-LLT (type 1, hardware type 1, its time, its link address), and the address held.
    assert_eq!(agent.info("DNSAddresses"), (Some(0), vec![DNS.to_string()]));
    assert_eq!(agent.info("23"), (Some(0), vec![DNS.to_string()]));
    assert_eq!(
        agent.info("ServerID"),
        (Some(0), vec!["1,1,700000000,02:00:5e:00:53:02".to_string()])
    );
    assert_eq!(
        agent.info("Addresses"),
        (Some(0), vec![address.to_string()])
    );
    assert_eq!(agent.info("MsgType"), (Some(0), vec!["7".to_string()]));
    let (code, prefixes) = agent.info("Prefixes");
    assert_eq!(code, Some(0));
    assert_eq!(prefixes.len(), 1, "{prefixes:?}");
    let (prefix, len) = prefixes[0].split_once('/').expect("PREFIX/LEN");
    let prefix: Ipv6Addr = prefix.parse().expect("a prefix");
    assert_eq!(len, "56");
    assert_eq!(
        prefix.segments()[..3],
        [0x2001, 0xdb8, 8],
        "from Kea's pd-pool"
    );
    let log = std::fs::read_to_string(agent.dir.join("agent.out")).unwrap_or_default();
    assert!(
        log.contains(&format!("delegated prefix {prefix}/56 held")),
        "the prefix is held, not put on v-cli: {log}"
    );
    assert!(pool_addresses(&pair).iter().all(|(a, _)| *a == address));
    // Raw bytes (-c) and a line limit (-n), as dhcpinfo's: the DUID type (1) in two bytes.
    assert_eq!(
        agent.info_with(&["-c", "-n", "2", "ServerID"]),
        (Some(0), vec!["0x00".to_string(), "0x01".to_string()])
    );
    assert_eq!(agent.info("DNSSearch"), (Some(0), vec![]), "not given");

    // RFC 8415 18.2.4: Renew at T1 (4 s); the Reply extends the binding (EXTEND6) and the
    // kernel's lifetimes are renewed.
    assert!(
        agent.wait_event("v-cli EXTEND6", 1, Duration::from_secs(u64::from(T1) + 10)),
        "{}",
        context(&pair, &agent, "no EXTEND6 at T1")
    );
    let log = std::fs::read_to_string(agent.dir.join("agent.out")).unwrap_or_default();
    assert!(log.contains("sending RENEW to"), "{log}");

    // SIGTERM with RELEASE_ON_SIGTERM: Release, RELEASE6, the address goes, Kea's lease is
    // released (memfile writes the lease again with valid lifetime 0, Kea's
    // Memfile_LeaseMgr::deleteLease, when it is not kept as expired-reclaimed).
    agent.process.signal("TERM");
    assert_eq!(
        agent.process.wait_exit(Duration::from_secs(15)),
        Some(Some(0)),
        "{}",
        context(&pair, &agent, "the agent ends after SIGTERM")
    );
    assert!(agent.events().contains(&"v-cli RELEASE6".to_string()));
    assert!(pool_addresses(&pair).is_empty(), "address removed");
    let log = std::fs::read_to_string(agent.dir.join("agent.out")).unwrap_or_default();
    assert!(log.contains("sending RELEASE to ff02::1:2"), "{log}");
    let released = wait_for(Duration::from_secs(5), || {
        kea_row(&pair, address).is_some_and(|(valid, _)| valid == 0)
            && kea_row(&pair, prefix).is_some_and(|(valid, _)| valid == 0)
    });
    assert!(
        released,
        "Kea's lease file: {:?} {:?}\n{}",
        kea_row(&pair, address),
        kea_row(&pair, prefix),
        context(&pair, &agent, "lease released")
    );
    let state = agent.dir.join("state");
    assert!(
        !state.join("v-cli.dh6").exists(),
        "a released binding is forgotten"
    );
    assert!(state.join("duid").exists() && state.join("v-cli.iaid").exists());
}

#[test]
fn agent6_drops_on_sigterm_and_confirms_the_saved_binding_on_the_next_start() {
    if !can_create_namespaces() || !have("kea-dhcp6") {
        return;
    }
    let pair = Pair::new();
    let _kea = start_kea(&pair, POOL);
    let dir = pair.dir.join("client");
    let mut agent = Agent::start(&pair, &dir, "", "agent.out");
    assert!(
        agent.wait_event("v-cli BOUND6", 1, Duration::from_secs(20)),
        "{}",
        context(&pair, &agent, "no BOUND6")
    );
    let address = pool_addresses(&pair)
        .first()
        .map(|(a, _)| *a)
        .expect("an address");
    // Carrier lost and back (the peer's link flaps), then SIGCONT (the host was stopped, as a
    // suspended one is): each time the agent confirms the address (RFC 8415 18.2.12).
    let confirms = || {
        std::fs::read_to_string(dir.join("agent.out"))
            .unwrap_or_default()
            .matches("sending CONFIRM")
            .count()
    };
    // Down for 2 s: the kernel's linkwatch reports carrier changes up to a second late and
    // folds a shorter flap into one report of the final state.
    pair.server.ip(&["link", "set", "v-srv", "down"]);
    std::thread::sleep(Duration::from_secs(2));
    pair.server.ip(&["link", "set", "v-srv", "up"]);
    assert!(
        wait_for(Duration::from_secs(10), || confirms() >= 1),
        "{}",
        context(&pair, &agent, "no Confirm after the link came back")
    );
    let on_link = || {
        std::fs::read_to_string(dir.join("agent.out"))
            .unwrap_or_default()
            .matches("Confirm: the leases are on-link")
            .count()
    };
    assert!(
        wait_for(Duration::from_secs(10), || on_link() >= 1),
        "{}",
        context(&pair, &agent, "Kea confirms after the flap")
    );
    agent.process.signal("CONT");
    assert!(
        wait_for(Duration::from_secs(10), || confirms() >= 2),
        "{}",
        context(&pair, &agent, "no Confirm after SIGCONT")
    );
    assert!(
        wait_for(Duration::from_secs(10), || on_link() >= 2),
        "{}",
        context(&pair, &agent, "Kea confirms after SIGCONT")
    );
    assert_eq!(
        pool_addresses(&pair)
            .iter()
            .map(|(a, _)| *a)
            .collect::<Vec<_>>(),
        vec![address],
        "the address stays through a confirmed flap"
    );
    // Each Confirm answered Success gives BOUND6 again, as dhcpagent's INIT_REBOOT state
    // ends in dhcp_bound_complete.
    let bound6 = |agent: &Agent| {
        agent
            .events()
            .iter()
            .filter(|e| *e == "v-cli BOUND6")
            .count()
    };
    assert!(
        wait_for(Duration::from_secs(5), || bound6(&agent) == 3),
        "{:?}",
        agent.events()
    );
    // Without RELEASE_ON_SIGTERM the agent drops: DROP6, the address goes, the binding file
    // stays and Kea still holds the lease.
    agent.process.signal("TERM");
    assert_eq!(
        agent.process.wait_exit(Duration::from_secs(15)),
        Some(Some(0))
    );
    assert!(agent.events().contains(&"v-cli DROP6".to_string()));
    assert!(pool_addresses(&pair).is_empty());
    let binding = std::fs::read_to_string(dir.join("state/v-cli.dh6")).expect("binding kept");
    assert!(
        binding.contains(&format!("lease {address}/128")),
        "{binding}"
    );
    assert!(
        kea_row(&pair, address).is_some_and(|(valid, _)| valid == VALID),
        "Kea still holds it: {:?}",
        kea_row(&pair, address)
    );

    // The next start confirms it (RFC 8415 18.2.3, as after a reboot) and binds it again
    // without a Solicit; the DUID and IAID files make the client the same one to Kea.
    let before = bound6(&agent);
    let agent = Agent::start(&pair, &dir, "", "agent2.out");
    assert!(
        agent.wait_event("v-cli BOUND6", before + 1, Duration::from_secs(20)),
        "{}",
        context(&pair, &agent, "no BOUND6 after the restart")
    );
    let log = std::fs::read_to_string(dir.join("agent2.out")).unwrap_or_default();
    assert!(log.contains("sending CONFIRM"), "{log}");
    assert!(!log.contains("sending SOLICIT"), "{log}");
    assert_eq!(
        pool_addresses(&pair)
            .iter()
            .map(|(a, _)| *a)
            .collect::<Vec<_>>(),
        vec![address]
    );
    assert_eq!(
        agent.info("Addresses"),
        (Some(0), vec![address.to_string()])
    );
    assert_eq!(
        agent.info("DNSAddresses"),
        (Some(0), vec![DNS.to_string()]),
        "the saved Reply answers after a Confirm"
    );

    // `ifconfig v-cli inet6 dhcp release` through the control socket: Release, RELEASE6, the
    // address goes and Kea's lease is released, while the agent keeps running.
    let out = Command::new(DHCPLAB)
        .arg("ctl")
        .arg(dir.join("agent.sock"))
        .args(["release6", r#"{"interface": "v-cli"}"#])
        .output()
        .expect("dhcplab ctl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        agent.wait_event("v-cli RELEASE6", 1, Duration::from_secs(10)),
        "{}",
        context(&pair, &agent, "no RELEASE6 after release6")
    );
    assert!(pool_addresses(&pair).is_empty());
    assert!(
        wait_for(Duration::from_secs(5), || {
            kea_row(&pair, address).is_some_and(|(valid, _)| valid == 0)
        }),
        "Kea's lease: {:?}",
        kea_row(&pair, address)
    );
    assert_eq!(agent.info("Addresses"), (Some(1), vec![]), "nothing held");
}

#[test]
fn agent6_declines_an_address_that_duplicate_address_detection_finds_in_use() {
    if !can_create_namespaces() || !have("kea-dhcp6") {
        return;
    }
    let pair = Pair::new();
    // The only address of the pool is already the server's own (no DAD there), and the client
    // side runs DAD on new addresses: the kernel marks the address IFA_F_DADFAILED.
    pair.server
        .ip(&["addr", "add", "2001:db8:1::100/64", "dev", "v-srv", "nodad"]);
    let dad = pair
        .client
        .command("sysctl")
        .args([
            "-qw",
            "net.ipv6.conf.v-cli.accept_dad=1",
            "net.ipv6.conf.v-cli.dad_transmits=1",
        ])
        .status()
        .expect("sysctl");
    assert!(dad.success());
    let _kea = start_kea(&pair, "2001:db8:1::100 - 2001:db8:1::100");
    let dir = pair.dir.join("client");
    let agent = Agent::start(&pair, &dir, "", "agent.out");
    let address: Ipv6Addr = "2001:db8:1::100".parse().expect("ip");
    // RFC 8415 18.2.8: the client declines an address found in use; Kea then holds the
    // lease as declined (state 1) for its probation period.
    let declined = wait_for(Duration::from_secs(20), || {
        kea_row(&pair, address).is_some_and(|(_, state)| state == "1")
    });
    assert!(
        declined,
        "Kea's lease: {:?}\n{}",
        kea_row(&pair, address),
        context(&pair, &agent, "no Decline")
    );
    let log = std::fs::read_to_string(dir.join("agent.out")).unwrap_or_default();
    assert!(log.contains("sending DECLINE to ff02::1:2"), "{log}");
    assert!(
        wait_for(Duration::from_secs(5), || pool_addresses(&pair).is_empty()),
        "the duplicate address is taken off: {:?}",
        pool_addresses(&pair)
    );
    // dhcpagent reports BOUND6 only once DAD is over (dhcp_bound_complete): an address found
    // in use by then was never announced, so neither BOUND6 nor DROP6 runs for it.
    let events = agent.events();
    assert!(
        !events
            .iter()
            .any(|e| e == "v-cli BOUND6" || e == "v-cli DROP6"),
        "{events:?}"
    );
}

#[test]
fn agent_runs_both_families_on_one_interface() {
    if !can_create_namespaces() || !have("kea-dhcp6") {
        return;
    }
    let pair = Pair::new();
    let _kea = start_kea(&pair, POOL);
    let _v4 = servers::start(Server::Reference, &pair, Path::new(DHCPLAB), 600);
    let dir = pair.dir.join("client");
    let mut agent = Agent::start_with(&pair, &dir, "", "agent.out", &["-6", "v-cli", "v-cli"]);
    for event in ["v-cli BOUND", "v-cli BOUND6"] {
        assert!(
            agent.wait_event(event, 1, Duration::from_secs(20)),
            "{}",
            context(&pair, &agent, &format!("no {event}"))
        );
    }
    let v4 = pair.client.addresses("v-cli");
    assert!(
        v4.iter()
            .any(|a| a.starts_with("192.0.2.") && a.ends_with("/24")),
        "{v4:?}"
    );
    let v6 = pool_addresses(&pair);
    assert_eq!(v6.len(), 1, "{v6:?}");
    // Each family answers dhcpinfo from its own lease.
    assert_eq!(agent.info("DNSAddresses"), (Some(0), vec![DNS.to_string()]));
    let out = Command::new(DHCPLAB)
        .args(["info", "-i", "v-cli", "--control"])
        .arg(dir.join("agent.sock"))
        .arg("DNSserv")
        .output()
        .expect("dhcplab info");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "192.0.2.1");
    // The files of both: one DUID and IAID, a lease and a binding.
    let state = dir.join("state");
    for file in ["duid", "v-cli.iaid", "v-cli.dhc", "v-cli.dh6"] {
        assert!(state.join(file).exists(), "{file}");
    }
    // SIGTERM drops both (no RELEASE_ON_SIGTERM): DROP and DROP6, and the addresses go.
    agent.process.signal("TERM");
    assert_eq!(
        agent.process.wait_exit(Duration::from_secs(15)),
        Some(Some(0))
    );
    let events = agent.events();
    assert!(
        events.contains(&"v-cli DROP".to_string()) && events.contains(&"v-cli DROP6".to_string()),
        "{events:?}"
    );
    assert!(pool_addresses(&pair).is_empty());
    assert!(
        !pair
            .client
            .addresses("v-cli")
            .iter()
            .any(|a| a.starts_with("192.0.2."))
    );
}

#[test]
fn agent6_renews_by_unicast_when_the_server_sends_server_unicast() {
    if !can_create_namespaces() || !have("kea-dhcp6") {
        return;
    }
    let pair = Pair::new();
    let _kea = start_kea_on(&pair, POOL, "v-srv/2001:db8:1::1");
    // The /128 gives no route to the server's /64; on a real link a router advertisement
    // would.
    pair.client
        .ip(&["-6", "route", "add", "2001:db8:1::/64", "dev", "v-cli"]);
    let dir = pair.dir.join("client");
    let agent = Agent::start(&pair, &dir, "", "agent.out");
    assert!(
        agent.wait_event("v-cli BOUND6", 1, Duration::from_secs(20)),
        "{}",
        context(&pair, &agent, "no BOUND6")
    );
    let address = pool_addresses(&pair)
        .first()
        .map(|(a, _)| *a)
        .expect("an address");
    let binding = std::fs::read_to_string(dir.join("state/v-cli.dh6")).expect("binding");
    assert!(binding.contains("unicast 2001:db8:1::1"), "{binding}");
    // RFC 8415 18.2.4: with the Server Unicast option the Renew goes to that address, from
    // the address held; the Reply comes back to it.
    assert!(
        agent.wait_event("v-cli EXTEND6", 1, Duration::from_secs(u64::from(T1) + 10)),
        "{}",
        context(&pair, &agent, "no EXTEND6 by unicast")
    );
    let log = std::fs::read_to_string(dir.join("agent.out")).unwrap_or_default();
    assert!(log.contains("sending RENEW to 2001:db8:1::1"), "{log}");
    let kea = std::fs::read_to_string(pair.dir.join("kea6.log")).unwrap_or_default();
    assert!(
        kea.lines()
            .any(|l| l.contains("RENEW") && l.contains(&address.to_string())),
        "Kea heard the Renew from {address}"
    );
}

#[test]
fn agent6_binds_with_rapid_commit_and_informs_in_information_only_mode() {
    if !can_create_namespaces() || !have("kea-dhcp6") {
        return;
    }
    let pair = Pair::new();
    let _kea = start_kea(&pair, POOL);
    // RFC 8415 18.2.1 and 18.3.1: a Solicit with Rapid Commit to a server that allows it is
    // answered with a Reply; no Advertise, no Request.
    let dir = pair.dir.join("rapid");
    let mut agent = Agent::start(&pair, &dir, ".v6.DHCPLAB_RAPID_COMMIT=yes\n", "agent.out");
    assert!(
        agent.wait_event("v-cli BOUND6", 1, Duration::from_secs(20)),
        "{}",
        context(&pair, &agent, "no BOUND6 with rapid commit")
    );
    let log = std::fs::read_to_string(dir.join("agent.out")).unwrap_or_default();
    assert!(log.contains("sending SOLICIT"), "{log}");
    assert!(!log.contains("sending REQUEST"), "{log}");
    assert!(!log.contains("received ADVERTISE"), "{log}");
    assert_eq!(pool_addresses(&pair).len(), 1);
    agent.process.signal("TERM");
    assert_eq!(
        agent.process.wait_exit(Duration::from_secs(15)),
        Some(Some(0))
    );

    // Information-only (RFC 8415 18.2.6): an Information-request, INFORM6, no address, and
    // dhcpinfo answers from its Reply.
    let dir = pair.dir.join("inform");
    let agent = Agent::start(
        &pair,
        &dir,
        ".v6.DHCPLAB_INFORMATION_ONLY=yes\n",
        "agent.out",
    );
    assert!(
        agent.wait_event("v-cli INFORM6", 1, Duration::from_secs(20)),
        "{}",
        context(&pair, &agent, "no INFORM6")
    );
    let log = std::fs::read_to_string(dir.join("agent.out")).unwrap_or_default();
    assert!(log.contains("sending INFORMATION-REQUEST"), "{log}");
    assert!(!log.contains("sending SOLICIT"), "{log}");
    assert!(pool_addresses(&pair).is_empty());
    assert_eq!(agent.info("DNSAddresses"), (Some(0), vec![DNS.to_string()]));
    assert_eq!(agent.info("Addresses"), (Some(0), vec![]));
}

#[test]
fn agent6_waits_for_a_tentative_link_local_address() {
    if !can_create_namespaces() || !have("kea-dhcp6") {
        return;
    }
    let pair = Pair::new();
    let _kea = start_kea(&pair, POOL);
    // DAD on v-cli, two probes a second apart: after a down and up its new link-local address
    // is tentative for about two seconds (RFC 4862 5.4), and no datagram may leave from it.
    let dad = pair
        .client
        .command("sysctl")
        .args([
            "-qw",
            "net.ipv6.conf.v-cli.accept_dad=1",
            "net.ipv6.conf.v-cli.dad_transmits=2",
        ])
        .status()
        .expect("sysctl");
    assert!(dad.success());
    pair.client.ip(&["link", "set", "v-cli", "down"]);
    pair.client.ip(&["link", "set", "v-cli", "up"]);
    let dir = pair.dir.join("client");
    let agent = Agent::start(&pair, &dir, "", "agent.out");
    assert!(
        agent.wait_event("v-cli BOUND6", 1, Duration::from_secs(20)),
        "{}",
        context(&pair, &agent, "no BOUND6 after the wait")
    );
    // The leased address ran DAD too (about two seconds): BOUND6 waited until the kernel
    // cleared IFA_F_TENTATIVE, as dhcpagent waits for DAD before dhcp_bound_complete.
    let held = pool_addresses(&pair);
    assert!(
        !held.is_empty() && held.iter().all(|(_, line)| !line.contains("tentative")),
        "{held:?}"
    );
    let log = std::fs::read_to_string(dir.join("agent.out")).unwrap_or_default();
    assert!(!log.contains("taking it as unique"), "{log}");
    let waited = log
        .find("waiting for a usable link-local address")
        .expect("the agent waited");
    let usable = log.find("usable\n").expect("and went on");
    let solicit = log.find("sending SOLICIT").expect("a Solicit");
    assert!(waited < usable && usable < solicit, "{log}");
}
