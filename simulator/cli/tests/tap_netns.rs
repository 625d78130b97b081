//! TAP mode's network (issue 7, first part): hosts in namespaces of their own, each with a TAP
//! device whose frames only this process switches. A real client (busybox udhcpc) gets a lease
//! from the reference server across the switch, every frame is captured, and nothing of the
//! run is left once it is dropped or cleaned.

use dhcplab_tap::{Lab, PREFIX};
use dhcplab_testkit::netns::{can_create_namespaces, have, wait_for};
use dhcplab_wire::v4::{Message, MessageType};
use std::process::{Command, Stdio};
use std::time::Duration;

const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];
const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x02];

fn namespaces() -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn udhcpc_gets_a_lease_from_the_reference_server_through_the_switch() {
    if !can_create_namespaces() || !have("udhcpc") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lab = Lab::new();
    lab.add_host("srv", SERVER_MAC).expect("server host");
    lab.add_host("cli", CLIENT_MAC).expect("client host");
    lab.start_switch(1, vec![Default::default(); 2])
        .expect("switch");
    let run = lab.run().to_string();
    let (srv, cli) = (&lab.hosts()[0], &lab.hosts()[1]);
    assert!(srv.netns.starts_with(PREFIX) && srv.netns.contains(&run));
    assert!(srv.tap.len() <= 15, "{}", srv.tap);
    srv.ip(&["addr", "add", "192.0.2.1/24", "dev", &srv.tap])
        .expect("server address");

    let config = serde_json::json!({ "Dhcp4": {
        "interfaces-config": { "interfaces": [ srv.tap ], "dhcp-socket-type": "raw" },
        "lease-database": { "type": "memfile", "name": dir.path().join("leases4.csv"), "lfc-interval": 0 },
        "valid-lifetime": 600,
        "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
            "pools": [ { "pool": "192.0.2.100 - 192.0.2.200" } ],
            "option-data": [ { "name": "routers", "data": "192.0.2.1" } ] } ]
    } });
    let path = dir.path().join("dhcp4.json");
    std::fs::write(&path, config.to_string()).expect("config");
    let mut server = srv
        .command(env!("CARGO_BIN_EXE_dhcplab"))
        .args(["server", "-c"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("server.out")).expect("log"))
        .spawn()
        .expect("server starts");

    let hook = dir.path().join("hook.sh");
    let events = dir.path().join("events");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\necho \"$1 ${{ip:-}}\" >> {}\n", events.display()),
    )
    .expect("hook");
    Command::new("chmod")
        .arg("+x")
        .arg(&hook)
        .status()
        .expect("chmod");
    let mut client = cli
        .command("udhcpc")
        .args([
            "-f", "-q", "-n", "-t", "10", "-T", "1", "-i", &cli.tap, "-s",
        ])
        .arg(&hook)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("udhcpc starts");

    let bound = wait_for(Duration::from_secs(20), || {
        std::fs::read_to_string(&events)
            .is_ok_and(|e| e.lines().any(|l| l.starts_with("bound 192.0.2.")))
    });
    let _ = client.kill();
    let _ = client.wait();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        bound,
        "udhcpc events: {:?}\nserver: {}",
        std::fs::read_to_string(&events).unwrap_or_default(),
        std::fs::read_to_string(dir.path().join("server.out")).unwrap_or_default()
    );

    let kinds: Vec<(bool, MessageType)> = lab
        .captured()
        .iter()
        .filter_map(|(_, frame)| {
            match dhcplab_frame::decode(dhcplab_frame::LinkType::Ethernet, frame) {
                Ok(dhcplab_frame::Decoded::Udp(u)) => Message::decode(u.payload).ok(),
                _ => None,
            }
        })
        .filter_map(|m| Some((m.hardware_address() == CLIENT_MAC, m.message_type().ok()??)))
        .collect();
    for kind in [
        MessageType::Discover,
        MessageType::Offer,
        MessageType::Request,
        MessageType::Ack,
    ] {
        assert!(
            kinds.iter().any(|(ours, k)| *ours && *k == kind),
            "{kind:?} was switched: {kinds:?}"
        );
    }

    drop(lab);
    assert!(
        !namespaces().iter().any(|n| n.contains(&run)),
        "the run's namespaces are gone"
    );
}

#[test]
fn dhcplab_clean_removes_the_namespaces_and_processes_of_a_killed_run() {
    if !can_create_namespaces() {
        return;
    }
    let name = format!("{PREFIX}killed{}", std::process::id());
    assert!(
        Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip")
            .success()
    );
    let mut sleeper = Command::new("ip")
        .args(["netns", "exec", &name, "sleep", "600"])
        .spawn()
        .expect("a process in it");
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .arg("clean")
        .output()
        .expect("clean");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&name));
    assert!(!namespaces().contains(&name));
    let ended = wait_for(Duration::from_secs(5), || {
        sleeper.try_wait().is_ok_and(|s| s.is_some())
    });
    assert!(ended, "the process in it was killed");
}

/// One cell of the DORA matrix across the switch: `server` on one TAP host, `client` on the
/// other; the client's hook reports a bound address from the pool, and the address is on its
/// TAP device. Returns why it failed.
fn dora(
    server: dhcplab_adapters::servers::Server,
    client: dhcplab_adapters::clients::RealClient,
) -> Result<(), String> {
    use dhcplab_adapters::servers::{ServerSetup, listening};
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut lab = Lab::new();
    lab.add_host("srv", SERVER_MAC).map_err(|e| e.to_string())?;
    lab.add_host("cli", CLIENT_MAC).map_err(|e| e.to_string())?;
    lab.start_switch(1, vec![Default::default(); 2])
        .map_err(|e| e.to_string())?;
    let (srv, cli) = (&lab.hosts()[0], &lab.hosts()[1]);
    srv.ip(&["addr", "add", "192.0.2.1/24", "dev", &srv.tap])
        .map_err(|e| e.to_string())?;
    let setup = ServerSetup {
        iface: srv.tap.clone(),
        address: "192.0.2.1".parse().map_err(|_| "address")?,
        pool: (
            "192.0.2.100".parse().map_err(|_| "pool")?,
            "192.0.2.200".parse().map_err(|_| "pool")?,
        ),
        lease: 600,
        dir: dir.path().join("server"),
        dhcplab: env!("CARGO_BIN_EXE_dhcplab").into(),
    };
    std::fs::create_dir_all(&setup.dir).map_err(|e| e.to_string())?;
    let in_srv = |p: &str| srv.command(p);
    let in_cli = |p: &str| cli.command(p);
    let log = |name: &str| std::fs::File::create(dir.path().join(name)).map_err(|e| e.to_string());
    let mut s = server
        .command(&setup, &in_srv)
        .map_err(|e| e.to_string())?
        .stdout(log("server.out")?)
        .stderr(log("server.err")?)
        .spawn()
        .map_err(|e| e.to_string())?;
    let ready = wait_for(Duration::from_secs(10), || listening(&in_srv));
    let client_dir = dir.path().join("client");
    let mut c = client
        .command(&client_dir, &cli.tap, &in_cli)
        .map_err(|e| e.to_string())?
        .stdout(log("client.out")?)
        .stderr(log("client.err")?)
        .spawn()
        .map_err(|e| e.to_string())?;
    let bound = ready
        && wait_for(Duration::from_secs(20), || {
            dhcplab_adapters::clients::bound_address(&client_dir).is_some()
        });
    let address = dhcplab_adapters::clients::bound_address(&client_dir);
    let on_device = Command::new("ip")
        .args([
            "-n", &cli.netns, "-4", "-o", "addr", "show", "dev", &cli.tap,
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let _ = c.kill();
    let _ = c.wait();
    let _ = s.kill();
    let _ = s.wait();
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap_or_default();
    match address {
        Some(a)
            if bound && a.octets()[..3] == [192, 0, 2] && on_device.contains(&format!("{a}/")) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "ready {ready}, bound {address:?}, on device {on_device:?}\nserver: {}{}\nclient: {}{}\nevents: {:?}",
            read("server.out"),
            read("server.err"),
            read("client.out"),
            read("client.err"),
            dhcplab_adapters::clients::events(&client_dir)
                .iter()
                .map(|(e, _)| e.clone())
                .collect::<Vec<_>>()
        )),
    }
}

#[test]
fn every_server_binds_every_real_client_across_the_switch() {
    use dhcplab_adapters::clients::RealClient;
    use dhcplab_adapters::servers::Server;
    if !can_create_namespaces() {
        return;
    }
    let mut failures = Vec::new();
    let mut cells = 0;
    for server in Server::ALL {
        if server != Server::Reference && !have(server.program()) {
            continue;
        }
        for client in RealClient::ALL {
            if !have(client.program()) {
                continue;
            }
            cells += 1;
            if let Err(why) = dora(server, client) {
                failures.push(format!("{} x {}: {why}", server.name(), client.program()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
