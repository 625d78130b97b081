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
