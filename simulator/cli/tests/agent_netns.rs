//! The reference client daemon (`dhcplab agent`) in a network namespace gets a lease from
//! the reference server, kea-dhcp4, ISC dhcpd and dnsmasq across a veth pair: the address and
//! default route go on the interface, the event program hears BOUND, `dhcplab info` reads the
//! lease's options, and SIGTERM releases (or drops) it. Also: a damaged lease file is
//! reported and ignored, a dropped lease is confirmed with INIT-REBOOT on the next start, and
//! an event program that hangs gets SIGTERM and then SIGKILL (with shortened times). The agent
//! does all this too as an unprivileged user with only the capabilities of its systemd unit.
//! Needs root (CI runs as root) and the servers (ci/test installs them).

use dhcplab_testkit::netns::{NOBODY, Pair, Process, can_create_namespaces, wait_for};
use dhcplab_testkit::servers::{self, Server};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const DHCPLAB: &str = env!("CARGO_BIN_EXE_dhcplab");

/// The client side of a test: its files, the agent, and what the event program saw.
struct Agent {
    dir: PathBuf,
    process: Process,
}

/// An event program that appends "IF EVENT" to `events` in its directory; for BOUND it then
/// hangs (noting a SIGTERM) when `hang` is true.
fn write_program(dir: &Path, hang: bool) -> PathBuf {
    let events = dir.join("events");
    let hang = if hang {
        "if [ \"$2\" = BOUND ]; then sleep 1000 & echo $! > \"$(dirname \"$0\")/child.pid\"; while :; do sleep 0.1; done; fi"
    } else {
        ""
    };
    let script = format!(
        "#!/bin/sh\ntrap 'echo \"$2 got TERM\" >> {e}' TERM\necho \"$1 $2\" >> {e}\n{hang}\n",
        e = events.display()
    );
    let path = dir.join("eventhook");
    std::fs::write(&path, script).expect("write event program");
    Command::new("chmod")
        .arg("755")
        .arg(&path)
        .status()
        .expect("chmod");
    path
}

impl Agent {
    /// Starts `dhcplab agent -f -d 1 -v` on v-cli with `defaults` as its configuration file
    /// and files in `dir`.
    fn start(pair: &Pair, dir: &Path, defaults: &str, extra: &[&str]) -> Self {
        Self::start_as(pair, dir, defaults, extra, false)
    }

    /// [`Agent::start`]; with `unprivileged`, as the user nobody holding only the
    /// capabilities of the systemd unit (and no way to gain others), in a directory it owns.
    fn start_as(
        pair: &Pair,
        dir: &Path,
        defaults: &str,
        extra: &[&str],
        unprivileged: bool,
    ) -> Self {
        std::fs::create_dir_all(dir).expect("client dir");
        std::fs::write(dir.join("dhcpagent"), defaults).expect("write defaults");
        let mut c = if unprivileged {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pair.dir, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            let unit = include_str!("../../../reference-impl/client-daemon/dhcplab-agent@.service");
            pair.client.command_as_nobody(unit, dir, Path::new(DHCPLAB))
        } else {
            pair.client.command(DHCPLAB)
        };
        c.args(["agent", "-f", "-d", "1", "-v", "--defaults"])
            .arg(dir.join("dhcpagent"))
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--event-program")
            .arg(dir.join("eventhook"))
            .arg("--control")
            .arg(dir.join("agent.sock"))
            .args(extra)
            .arg("v-cli");
        let process = Process::start(c, "dhcplab agent", &dir.join("agent.out"));
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

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("agent.out")).unwrap_or_default()
    }

    /// `dhcplab info -i v-cli WHAT`: (exit code, lines printed).
    fn info(&self, what: &str) -> (Option<i32>, Vec<String>) {
        let out = Command::new(DHCPLAB)
            .args(["info", "-i", "v-cli", "--control"])
            .arg(self.dir.join("agent.sock"))
            .arg(what)
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

    /// Waits for event `event` (as "v-cli EVENT"), at most `limit`.
    fn wait_event(&self, event: &str, limit: Duration) -> bool {
        wait_for(limit, || self.events().iter().any(|e| e == event))
    }
}

fn context(pair: &Pair, agent: &Agent, what: &str) -> String {
    format!(
        "{what}\n--- events: {:?}\n--- agent:\n{}\n--- server:\n{}",
        agent.events(),
        agent.output(),
        std::fs::read_to_string(pair.dir.join("server.out")).unwrap_or_default()
    )
}

/// The lease address on v-cli, if one from the pool is there.
fn leased(pair: &Pair) -> Option<Ipv4Addr> {
    pair.client.addresses("v-cli").iter().find_map(|a| {
        let (ip, len) = a.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        (len == "24"
            && (Ipv4Addr::new(192, 0, 2, 100)..=Ipv4Addr::new(192, 0, 2, 200)).contains(&ip))
        .then_some(ip)
    })
}

fn default_route(pair: &Pair) -> String {
    let out = pair
        .client
        .command("ip")
        .args(["-4", "route", "show", "default"])
        .output()
        .expect("ip route");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The agent gets a lease from `server`, shows it through `dhcplab info`, and releases it on
/// SIGTERM (RELEASE_ON_SIGTERM=yes).
fn gets_a_lease_from(server: Server) {
    gets_a_lease_as(server, false);
}

/// The whole life of a lease from `server`; with `unprivileged`, the agent runs as nobody
/// with the capabilities of its systemd unit only.
fn gets_a_lease_as(server: Server, unprivileged: bool) {
    if !can_create_namespaces() || !servers::available(server) {
        return;
    }
    let pair = Pair::new();
    let _server = servers::start(server, &pair, Path::new(DHCPLAB), 600);
    let dir = pair.dir.join("client");
    std::fs::create_dir_all(&dir).expect("client dir");
    write_program(&dir, false);
    let mut agent = Agent::start_as(
        &pair,
        &dir,
        "RELEASE_ON_SIGTERM=yes\nOFFER_WAIT=1\nPARAM_REQUEST_LIST=Subnet,Router,DNSserv,LeaseTim\n",
        &[],
        unprivileged,
    );
    assert!(
        agent.wait_event("v-cli BOUND", Duration::from_secs(30)),
        "{}",
        context(&pair, &agent, "no BOUND")
    );
    let address = leased(&pair)
        .unwrap_or_else(|| panic!("{}", context(&pair, &agent, "no pool address on v-cli")));
    // Metric 1000 + the interface's index: one default route per interface.
    let route = default_route(&pair);
    let metric = route
        .strip_prefix("default via 192.0.2.1 dev v-cli proto dhcp metric ")
        .and_then(|m| m.parse::<u32>().ok());
    assert!(
        metric.is_some_and(|m| m > 1000),
        "{route}\n{}",
        context(&pair, &agent, "default route")
    );
    assert_eq!(agent.info("ServerID"), (Some(0), vec!["192.0.2.1".into()]));
    assert_eq!(agent.info("Router"), (Some(0), vec!["192.0.2.1".into()]));
    assert_eq!(agent.info("6"), (Some(0), vec!["192.0.2.1".into()]));
    assert_eq!(
        agent.info("Subnet"),
        (Some(0), vec!["255.255.255.0".into()])
    );
    assert_eq!(agent.info("yiaddr"), (Some(0), vec![address.to_string()]));
    let (code, lease_time) = agent.info("LeaseTim");
    assert_eq!(code, Some(0));
    assert_eq!(lease_time, ["600"]);
    assert_eq!(agent.info("NoSuchName").0, Some(2));
    assert_eq!(
        agent.info("TFTPsrvN"),
        (Some(0), vec![]),
        "an option the lease does not carry prints nothing"
    );
    assert!(dir.join("state/v-cli.dhc").exists(), "lease file");
    if unprivileged {
        let owner = std::os::unix::fs::MetadataExt::uid(
            &std::fs::metadata(dir.join("state/v-cli.dhc")).expect("lease file"),
        );
        assert_eq!(owner, NOBODY, "the lease file is the unprivileged user's");
    }
    if server == Server::Reference {
        // A second agent on the same control socket is refused; the first keeps it.
        let out = pair
            .client
            .command(DHCPLAB)
            .args(["agent", "-f", "--state-dir"])
            .arg(pair.dir.join("other"))
            .arg("--control")
            .arg(dir.join("agent.sock"))
            .arg("v-cli")
            .output()
            .expect("second agent");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("another agent answers on this control socket"),
            "{err}"
        );
        assert_eq!(agent.info("ServerID"), (Some(0), vec!["192.0.2.1".into()]));
    }
    agent.process.signal("TERM");
    let exit = agent.process.wait_exit(Duration::from_secs(15));
    assert_eq!(
        exit,
        Some(Some(0)),
        "{}",
        context(&pair, &agent, "exit after SIGTERM")
    );
    assert_eq!(agent.events(), ["v-cli BOUND", "v-cli RELEASE"]);
    assert_eq!(leased(&pair), None, "the address is gone after RELEASE");
    assert!(
        !dir.join("state/v-cli.dhc").exists(),
        "RELEASE forgets the lease file"
    );
    assert!(
        agent.output().contains("sending RELEASE to 192.0.2.1"),
        "{}",
        context(&pair, &agent, "RELEASE is unicast to the server")
    );
    assert!(
        wait_for(Duration::from_secs(5), || released(server, &pair, address)),
        "{}",
        context(&pair, &agent, "the server did not take the RELEASE")
    );
}

/// True when `server`'s lease file shows `address` given back.
fn released(server: Server, pair: &Pair, address: Ipv4Addr) -> bool {
    let read = |name: &str| std::fs::read_to_string(pair.dir.join(name)).unwrap_or_default();
    let ip = address.to_string();
    match server {
        // Kea and the reference server delete the lease: its last row has lifetime 0.
        Server::Reference | Server::Kea => dhcplab_memfile::rows4(&read("leases4.csv"))
            .ok()
            .and_then(|r| r.rows.into_iter().rev().find(|(_, l)| l.address == address))
            .is_some_and(|(_, l)| l.valid_lifetime == 0),
        // dhcpd appends the lease again in state free.
        Server::Dhcpd => read("dhcpd.leases")
            .rsplit(&format!("lease {ip} {{"))
            .next()
            .is_some_and(|last| last.contains("binding state free;")),
        // dnsmasq rewrites its file without the lease.
        Server::Dnsmasq => {
            pair.dir.join("dnsmasq.leases").exists()
                && !read("dnsmasq.leases").contains(&format!(" {ip} "))
        }
    }
}

#[test]
fn gets_a_lease_from_the_reference_server() {
    gets_a_lease_from(Server::Reference);
}

/// The capabilities-only systemd unit's promise: as an unprivileged user with CAP_NET_RAW,
/// CAP_NET_BIND_SERVICE and CAP_NET_ADMIN only, the agent binds, configures the interface and
/// its route, answers `dhcplab info`, and releases on SIGTERM as it does as root.
#[test]
fn gets_a_lease_with_the_units_capabilities_only() {
    gets_a_lease_as(Server::Reference, true);
}

#[test]
fn gets_a_lease_from_kea() {
    gets_a_lease_from(Server::Kea);
}

#[test]
fn gets_a_lease_from_isc_dhcpd() {
    gets_a_lease_from(Server::Dhcpd);
}

#[test]
fn gets_a_lease_from_dnsmasq() {
    gets_a_lease_from(Server::Dnsmasq);
}

/// A damaged lease file is reported and ignored; with V4_DEFAULT_IAID_DUID the client
/// identifier is RFC 4361's, from the DUID and IAID files the agent writes; SIGTERM without
/// RELEASE_ON_SIGTERM drops the lease and keeps the file; the next start confirms it with
/// INIT-REBOOT and gets the same address; with `-a` SIGTERM leaves the address, and the next
/// agent with `-a` adopts it (EXTEND, not BOUND).
#[test]
fn damaged_lease_file_drop_init_reboot_and_adopt() {
    if !can_create_namespaces() {
        return;
    }
    let pair = Pair::new();
    let _server = servers::start(Server::Reference, &pair, Path::new(DHCPLAB), 600);
    let dir = pair.dir.join("client");
    std::fs::create_dir_all(dir.join("state")).expect("state dir");
    std::fs::write(dir.join("state/v-cli.dhc"), b"\x00\x01garbage").expect("damaged file");
    write_program(&dir, false);
    let defaults = "OFFER_WAIT=1\nV4_DEFAULT_IAID_DUID=yes\n";
    let mut agent = Agent::start(&pair, &dir, defaults, &[]);
    assert!(
        agent.wait_event("v-cli BOUND", Duration::from_secs(30)),
        "{}",
        context(&pair, &agent, "no BOUND")
    );
    let duid = std::fs::read(dir.join("state/duid")).expect("DUID file");
    assert_eq!(&duid[..4], [0, 1, 0, 1], "DUID-LLT, Ethernet");
    assert_eq!(
        &duid[8..],
        [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01],
        "v-cli's MAC"
    );
    let iaid = std::fs::read(dir.join("state/v-cli.iaid")).expect("IAID file");
    assert_eq!(iaid.len(), 4);
    let leases = std::fs::read_to_string(pair.dir.join("leases4.csv")).expect("server leases");
    let rows = dhcplab_memfile::rows4(&leases).expect("lease rows").rows;
    let client_id = &rows.first().expect("a row").1.client_id;
    assert_eq!(
        client_id,
        &[&[255][..], &iaid, &duid].concat(),
        "RFC 4361 client id"
    );
    assert!(
        agent
            .output()
            .contains("v-cli.dhc: line 1: not a lease file (expected \"dhcplab-lease 1\"); the saved lease is ignored"),
        "{}",
        context(&pair, &agent, "the damaged file is reported")
    );
    let address = leased(&pair).expect("address");
    agent.process.signal("TERM");
    assert_eq!(
        agent.process.wait_exit(Duration::from_secs(15)),
        Some(Some(0))
    );
    assert_eq!(agent.events(), ["v-cli BOUND", "v-cli DROP"]);
    assert_eq!(leased(&pair), None, "DROP takes the address off");
    assert!(
        dir.join("state/v-cli.dhc").exists(),
        "DROP keeps the lease file"
    );
    std::fs::remove_file(dir.join("events")).expect("clear events");
    let mut again = Agent::start(&pair, &dir, defaults, &["-a"]);
    assert!(
        again.wait_event("v-cli BOUND", Duration::from_secs(30)),
        "{}",
        context(&pair, &again, "no BOUND after restart")
    );
    assert_eq!(leased(&pair), Some(address), "the saved lease is confirmed");
    let out = again.output();
    assert!(
        out.contains("sending REQUEST to 255.255.255.255") && !out.contains("sending DISCOVER"),
        "{}",
        context(&pair, &again, "INIT-REBOOT, not DISCOVER")
    );
    // With -a, SIGTERM leaves the address and the lease as they are.
    again.process.signal("TERM");
    assert_eq!(
        again.process.wait_exit(Duration::from_secs(15)),
        Some(Some(0))
    );
    assert_eq!(again.events(), ["v-cli BOUND"]);
    assert_eq!(leased(&pair), Some(address), "-a leaves the address");
    // And a new agent with -a adopts it: the lease is confirmed and extended, not bound anew.
    std::fs::remove_file(dir.join("events")).expect("clear events");
    let adopting = Agent::start(&pair, &dir, defaults, &["-a"]);
    assert!(
        adopting.wait_event("v-cli EXTEND", Duration::from_secs(30)),
        "{}",
        context(&pair, &adopting, "no EXTEND after adopting")
    );
    assert_eq!(adopting.events(), ["v-cli EXTEND"]);
    assert!(
        adopting
            .output()
            .contains("adopted the address the interface already has")
    );
}

/// An event program that hangs on BOUND gets SIGTERM after the first timeout and SIGKILL
/// after the second (1 s and 1 s here; 55 s and 3 s by default), the whole process group
/// with it; the next event then runs.
#[test]
fn a_hanging_event_program_gets_term_then_kill() {
    if !can_create_namespaces() {
        return;
    }
    let pair = Pair::new();
    let _server = servers::start(Server::Reference, &pair, Path::new(DHCPLAB), 600);
    let dir = pair.dir.join("client");
    std::fs::create_dir_all(&dir).expect("client dir");
    let program = write_program(&dir, true);
    let mut agent = Agent::start(
        &pair,
        &dir,
        "OFFER_WAIT=1\nRELEASE_ON_SIGTERM=yes\n",
        &["--event-timeouts", "1,1"],
    );
    assert!(
        agent.wait_event("BOUND got TERM", Duration::from_secs(30)),
        "{}",
        context(&pair, &agent, "no SIGTERM for the hanging program")
    );
    let killed = wait_for(Duration::from_secs(10), || {
        agent.output().contains("sending Kill")
    });
    assert!(killed, "{}", context(&pair, &agent, "no SIGKILL"));
    let gone = wait_for(Duration::from_secs(5), || {
        // The shell runs as "sh PROGRAM v-cli BOUND"; the agent's own command line names
        // the program too, but not followed by the event.
        !Command::new("pgrep")
            .arg("-f")
            .arg(format!("{} v-cli BOUND", program.display()))
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    assert!(gone, "the program is gone after SIGKILL");
    // Its child, in the same process group, went with it (a zombie counts as gone).
    let child = std::fs::read_to_string(dir.join("child.pid")).expect("child pid");
    let stat = format!("/proc/{}/stat", child.trim());
    let child_gone = wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(&stat).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        })
    });
    assert!(
        child_gone,
        "the program's child survived SIGKILL of the group"
    );
    agent.process.signal("TERM");
    assert_eq!(
        agent.process.wait_exit(Duration::from_secs(15)),
        Some(Some(0))
    );
    assert_eq!(
        agent.events(),
        ["v-cli BOUND", "BOUND got TERM", "v-cli RELEASE"],
        "{}",
        context(&pair, &agent, "event order")
    );
    let out = agent.output();
    let term = out.find("sending Term").expect("TERM logged");
    let kill = out.find("sending Kill").expect("KILL logged");
    assert!(term < kill);
}
