//! The server daemon without a network (no interfaces): its lease file (loaded with bad rows
//! reported by line and skipped, a foreign file refused and kept), its control socket through
//! `dhcplab ctl`, SIGHUP reload and SIGTERM stop; the lease file it writes loads in kea-dhcp4 2.2.
//! With a `Dhcp6` configuration: the v6 server, its Kea v6 lease file and server DUID file kept
//! across a restart, its lease6 commands.

use dhcplab_memfile::{HEADER4, HEADER6, load4, load6};
use dhcplab_testkit::kea::{KeaDhcp4, kea_available};
use dhcplab_testkit::netns::{Process, wait_for};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn config(dir: &Path, valid: u32) -> std::path::PathBuf {
    let text = serde_json::json!({ "Dhcp4": {
        "interfaces-config": { "interfaces": [] },
        "control-socket": { "socket-type": "unix", "socket-name": dir.join("ctl.sock") },
        "lease-database": { "type": "memfile", "name": dir.join("leases4.csv"), "lfc-interval": 0 },
        "valid-lifetime": valid,
        "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.100 - 192.0.2.200" } ] } ],
        "loggers": [ { "name": "kea-dhcp4", "severity": "INFO", "output_options": [ { "output": dir.join("server.log") } ] } ]
    } });
    write_config(dir, "dhcplab4.json", &text)
}

/// Writes a configuration as `dir/name`; its path.
fn write_config(dir: &Path, name: &str, config: &serde_json::Value) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, config.to_string()).expect("write configuration");
    path
}

fn start(dir: &Path) -> Process {
    start_with(dir, "dhcplab4.json")
}

/// Starts `dhcplab server -c DIR/CONFIG` and waits for its control socket.
fn start_with(dir: &Path, config: &str) -> Process {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dhcplab"));
    c.args(["server", "-c"]).arg(dir.join(config));
    let mut p = Process::start(c, "dhcplab server", &dir.join("server.out"));
    let sock = dir.join("ctl.sock");
    assert!(
        wait_for(Duration::from_secs(10), || sock.exists() || !p.running()) && p.running(),
        "not started: {}",
        std::fs::read_to_string(dir.join("server.out")).unwrap_or_default()
    );
    p
}

fn ctl(dir: &Path, command: &str, args: Option<&str>) -> (Option<i32>, serde_json::Value) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dhcplab"));
    c.arg("ctl").arg(dir.join("ctl.sock")).arg(command);
    if let Some(a) = args {
        c.arg(a);
    }
    let out = c.output().expect("run dhcplab ctl");
    let answer = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), answer)
}

#[test]
fn lease_file_bad_rows_are_reported_by_line_and_the_rest_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    config(dir.path(), 3600);
    let good = "192.0.2.150,02:00:00:00:00:01,,3600,4000000000,1,0,0,,0,";
    std::fs::write(
        dir.path().join("leases4.csv"),
        format!("{HEADER4}\n{good}\n192.0.2.151,zz:00,,3600,4000000000,1,0,0,,0,\nnot a row at all\n192.0.2.152,02:00:00:00:00:03,,3600,4000000000,1,0,0,,0,\n"),
    )
    .expect("write leases");
    let mut server = start(dir.path());
    let (code, all) = ctl(dir.path(), "lease4-get-all", None);
    assert_eq!(code, Some(0));
    let addresses: Vec<&str> = all["arguments"]["leases"]
        .as_array()
        .expect("leases")
        .iter()
        .filter_map(|l| l["ip-address"].as_str())
        .collect();
    assert_eq!(addresses, vec!["192.0.2.150", "192.0.2.152"]);
    let log = std::fs::read_to_string(dir.path().join("server.log")).expect("log");
    assert!(log.contains("line 3: column hwaddr"), "{log}");
    assert!(log.contains("line 4: "), "{log}");
    assert!(log.contains("2 leases loaded, 2 bad rows skipped"), "{log}");
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)), Some(Some(0)));
}

#[test]
fn a_file_that_is_not_a_lease_file_is_refused_and_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), 3600);
    std::fs::write(dir.path().join("leases4.csv"), "precious notes\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(["server", "-c"])
        .arg(&cfg)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Kea DHCPv4 lease file header"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("leases4.csv")).expect("read"),
        "precious notes\n"
    );
}

#[test]
fn control_socket_leases_reload_and_stop() {
    let dir = tempfile::tempdir().expect("tempdir");
    config(dir.path(), 3600);
    let mut server = start(dir.path());
    let mode = std::fs::metadata(dir.path().join("ctl.sock"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(mode.ok(), Some(0o600));
    let (code, added) = ctl(
        dir.path(),
        "lease4-add",
        Some(r#"{"ip-address": "192.0.2.120", "hw-address": "02:00:00:00:00:20"}"#),
    );
    assert_eq!(
        (code, added["result"].clone()),
        (Some(0), serde_json::json!(0)),
        "{added}"
    );
    // The row is on disk when the answer comes.
    let on_disk = load4(&std::fs::read_to_string(dir.path().join("leases4.csv")).expect("read"))
        .expect("lease file");
    assert_eq!(on_disk.leases.len(), 1);
    let (code, _) = ctl(
        dir.path(),
        "lease4-get",
        Some(r#"{"ip-address": "192.0.2.99"}"#),
    );
    assert_eq!(code, Some(0), "nothing found is not a failure");
    let (code, answer) = ctl(
        dir.path(),
        "lease4-add",
        Some(r#"{"ip-address": "bogus", "hw-address": "02"}"#),
    );
    assert_eq!(
        (code, answer["result"].clone()),
        (Some(1), serde_json::json!(1))
    );
    assert_eq!(ctl(dir.path(), "lease4-add", Some("{not json")).0, Some(2));
    // SIGHUP reads the file again: the new lifetime shows in config-get.
    config(dir.path(), 600);
    server.signal("HUP");
    assert!(wait_for(Duration::from_secs(5), || {
        ctl(dir.path(), "config-get", None).1["arguments"]["Dhcp4"]["valid-lifetime"] == 600
    }));
    let (_, reloaded) = ctl(dir.path(), "config-reload", None);
    assert_eq!(reloaded["text"], "Configuration successful.");
    // shutdown stops it like SIGTERM; the socket file goes with it.
    let (code, _) = ctl(dir.path(), "shutdown", None);
    assert_eq!(code, Some(0));
    assert_eq!(server.wait_exit(Duration::from_secs(5)), Some(Some(0)));
    assert!(!dir.path().join("ctl.sock").exists());
}

/// The fields of a lease in a `lease4-get-all` answer that the lease file carries, by address.
fn leases_by_address(answer: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    const FIELDS: [&str; 10] = [
        "hw-address",
        "client-id",
        "valid-lft",
        "cltt",
        "subnet-id",
        "fqdn-fwd",
        "fqdn-rev",
        "hostname",
        "state",
        "user-context",
    ];
    answer["arguments"]["leases"]
        .as_array()
        .expect("leases")
        .iter()
        .map(|l| {
            let fields = FIELDS
                .iter()
                .filter_map(|f| l.get(*f).map(|v| ((*f).to_string(), v.clone())))
                .collect::<serde_json::Map<_, _>>();
            (
                l["ip-address"].as_str().expect("ip-address").to_string(),
                serde_json::Value::Object(fields),
            )
        })
        .collect()
}

#[test]
fn a_lease_file_the_daemon_wrote_loads_in_kea() {
    if !kea_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    config(dir.path(), 3600);
    let mut server = start(dir.path());
    let adds = [
        r#"{"ip-address": "192.0.2.110", "hw-address": "02:00:5e:00:53:10", "hostname": "one"}"#,
        r#"{"ip-address": "192.0.2.111", "hw-address": "02:00:5e:00:53:11", "client-id": "01:02:00:5e:00:53:11", "hostname": "two,with comma", "valid-lft": 7200}"#,
        r#"{"ip-address": "192.0.2.112", "hw-address": "02:00:5e:00:53:12", "user-context": {"note": "a, \"quoted\" & more"}}"#,
        r#"{"ip-address": "192.0.2.113", "hw-address": "02:00:5e:00:53:13", "state": 1}"#,
        r#"{"ip-address": "192.0.2.114", "hw-address": "02:00:5e:00:53:14"}"#,
    ];
    for a in adds {
        assert_eq!(ctl(dir.path(), "lease4-add", Some(a)).0, Some(0), "{a}");
    }
    let (code, _) = ctl(
        dir.path(),
        "lease4-del",
        Some(r#"{"ip-address": "192.0.2.114"}"#),
    );
    assert_eq!(code, Some(0));
    let (code, ours) = ctl(dir.path(), "lease4-get-all", None);
    assert_eq!(code, Some(0));
    let ours = leases_by_address(&ours);
    assert_eq!(ours.len(), 4, "{ours:?}");
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)), Some(Some(0)));
    let kea = KeaDhcp4::start(dir.path(), &dir.path().join("leases4.csv"));
    let theirs =
        leases_by_address(&kea.command(&serde_json::json!({ "command": "lease4-get-all" })));
    assert_eq!(theirs, ours);
    assert_eq!(theirs["192.0.2.111"]["hostname"], "two,with comma");
    assert_eq!(
        theirs["192.0.2.112"]["user-context"]["note"],
        "a, \"quoted\" & more"
    );
    assert_eq!(theirs["192.0.2.113"]["state"], 1);
}

/// A `Dhcp6` configuration with no interfaces, its files in `dir`: the lease file and the
/// server DUID file at their default places (beside the configuration).
fn config6(dir: &Path, valid: u32) -> std::path::PathBuf {
    config6_lfc(dir, valid, 0)
}

/// [`config6`] with Kea's lease file cleanup every `lfc` seconds (0: never).
fn config6_lfc(dir: &Path, valid: u32, lfc: u32) -> std::path::PathBuf {
    let text = serde_json::json!({ "Dhcp6": {
        "interfaces-config": { "interfaces": [] },
        "control-socket": { "socket-type": "unix", "socket-name": dir.join("ctl.sock") },
        "lease-database": { "type": "memfile", "lfc-interval": lfc },
        "valid-lifetime": valid, "preferred-lifetime": valid / 2,
        "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64",
            "pools": [ { "pool": "2001:db8:1::100 - 2001:db8:1::1ff" } ],
            "pd-pools": [ { "prefix": "2001:db8:8000::", "prefix-len": 40, "delegated-len": 56 } ] } ],
        "loggers": [ { "name": "kea-dhcp6", "severity": "INFO", "output_options": [ { "output": dir.join("server.log") } ] } ]
    } });
    write_config(dir, "dhcplab6.json", &text)
}

fn start6(dir: &Path) -> Process {
    start_with(dir, "dhcplab6.json")
}

#[test]
fn a_dhcp6_configuration_runs_the_v6_server_with_keas_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    config6(dir.path(), 4000);
    let mut server = start6(dir.path());
    // kea-dhcp6 2.2 keeps its DUID in kea-dhcp6-serverid (DUID-LLT by default, RFC 8415
    // 11.2: type 1, hardware type, time, link-layer address) and its leases in
    // kea-leases6.csv; both are beside the configuration here, not under /var.
    let duid_file = dir.path().join("kea-dhcp6-serverid");
    let duid = std::fs::read_to_string(&duid_file).expect("the server DUID file is written");
    assert!(duid.starts_with("00:01:"), "a DUID-LLT: {duid:?}");
    // As Kea's DUIDFactory writes it: the DUID's text and no line end.
    assert!(
        !duid.ends_with('\n'),
        "no line end, as Kea writes it: {duid:?}"
    );
    let (code, commands) = ctl(dir.path(), "list-commands", None);
    assert_eq!(code, Some(0));
    assert!(
        commands["arguments"]
            .as_array()
            .expect("list")
            .contains(&serde_json::json!("lease6-get")),
        "{commands}"
    );
    let (code, added) = ctl(
        dir.path(),
        "lease6-add",
        Some(
            r#"{"ip-address": "2001:db8:1::120", "duid": "00:03:00:01:02:00:5e:00:53:20", "iaid": 7}"#,
        ),
    );
    assert_eq!(code, Some(0), "{added}");
    let (code, added) = ctl(
        dir.path(),
        "lease6-add",
        Some(
            r#"{"type": "IA_PD", "subnet-id": 1, "ip-address": "2001:db8:8000:100::", "prefix-len": 56, "duid": "00:03:00:01:02:00:5e:00:53:20", "iaid": 8}"#,
        ),
    );
    assert_eq!(code, Some(0), "{added}");
    // The rows are on disk, in Kea's v6 format, when the answers come.
    let text = std::fs::read_to_string(dir.path().join("kea-leases6.csv")).expect("lease file");
    assert_eq!(text.lines().next(), Some(HEADER6));
    let on_disk = load6(&text).expect("Kea's DHCPv6 lease file");
    assert_eq!(on_disk.leases.len(), 2, "{text}");
    let na = &on_disk.leases[&"2001:db8:1::120".parse().expect("address")];
    assert_eq!(
        (
            na.iaid,
            na.valid_lifetime,
            na.preferred_lifetime,
            na.prefix_len
        ),
        // lease6-add without preferred-lft gives the subnet's valid lifetime as the preferred
        // one, as Kea 2.2's Lease6Parser does.
        (7, 4000, 4000, 128)
    );
    let (code, got) = ctl(
        dir.path(),
        "lease6-get",
        Some(r#"{"ip-address": "2001:db8:1::120"}"#),
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        got["arguments"]["duid"], "00:03:00:01:02:00:5e:00:53:20",
        "{got}"
    );
    // SIGHUP reads the file again, config-reload too.
    config6(dir.path(), 600);
    server.signal("HUP");
    assert!(wait_for(Duration::from_secs(5), || {
        ctl(dir.path(), "config-get", None).1["arguments"]["Dhcp6"]["valid-lifetime"] == 600
    }));
    let (_, reloaded) = ctl(dir.path(), "config-reload", None);
    assert_eq!(reloaded["text"], "Configuration successful.");
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)), Some(Some(0)));
    assert!(!dir.path().join("ctl.sock").exists());
    // A restart loads the leases and keeps the DUID: the file is read, not rewritten.
    let mut server = start6(dir.path());
    let (code, all) = ctl(dir.path(), "lease6-get-all", None);
    assert_eq!(code, Some(0));
    let mut addresses: Vec<&str> = all["arguments"]["leases"]
        .as_array()
        .expect("leases")
        .iter()
        .filter_map(|l| l["ip-address"].as_str())
        .collect();
    addresses.sort_unstable();
    assert_eq!(addresses, vec!["2001:db8:1::120", "2001:db8:8000:100::"]);
    assert_eq!(std::fs::read_to_string(&duid_file).expect("read"), duid);
    let (code, _) = ctl(dir.path(), "shutdown", None);
    assert_eq!(code, Some(0));
    assert_eq!(server.wait_exit(Duration::from_secs(5)), Some(Some(0)));
}

#[test]
fn a_dhcpv4_lease_file_is_refused_by_the_v6_server_and_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config6(dir.path(), 3600);
    let v4 = format!("{HEADER4}\n");
    std::fs::write(dir.path().join("kea-leases6.csv"), &v4).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(["server", "-c"])
        .arg(&cfg)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kea-leases6.csv"), "{stderr}");
    assert!(stderr.contains("DHCPv6"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("kea-leases6.csv")).expect("read"),
        v4
    );
}

#[test]
fn the_v6_lease_file_is_cleaned_up_at_lfc_interval() {
    // Kea's lease file cleanup (lfc-interval): the file is rewritten with the leases in force
    // only, so a deleted lease's rows go and a changed lease keeps its last row.
    let dir = tempfile::tempdir().expect("tempdir");
    config6_lfc(dir.path(), 4000, 1);
    let mut server = start6(dir.path());
    let add = |n: u8| {
        format!(
            r#"{{"ip-address": "2001:db8:1::1{n:02x}", "duid": "00:03:00:01:02:00:5e:00:53:{n:02x}", "iaid": {n}}}"#
        )
    };
    for n in 1..=3 {
        assert_eq!(ctl(dir.path(), "lease6-add", Some(&add(n))).0, Some(0));
    }
    let (code, _) = ctl(
        dir.path(),
        "lease6-del",
        Some(r#"{"ip-address": "2001:db8:1::102"}"#),
    );
    assert_eq!(code, Some(0));
    let path = dir.path().join("kea-leases6.csv");
    let rows = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .count()
    };
    // Appending alone leaves five lines (header, three rows, the deleting row).
    assert!(
        wait_for(Duration::from_secs(5), || rows(&path) == 3),
        "cleaned up to the header and two leases:\n{}",
        std::fs::read_to_string(&path).unwrap_or_default()
    );
    let text = std::fs::read_to_string(&path).expect("read");
    let loaded = load6(&text).expect("Kea's v6 lease file");
    let mut addresses: Vec<String> = loaded.leases.keys().map(ToString::to_string).collect();
    addresses.sort();
    assert_eq!(addresses, vec!["2001:db8:1::101", "2001:db8:1::103"]);
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)), Some(Some(0)));
}

/// Runs `dhcplab ctl DIR/ctl.sock status-get` as the user `nobody` (uid and gid 65534): its
/// exit code and all it printed.
fn ctl_as_nobody(dir: &Path) -> (Option<i32>, String) {
    use std::os::unix::process::CommandExt;
    // A copy nobody may run wherever the build is (a target directory under /root is not).
    let binary = dir.join("dhcplab-ctl");
    if !binary.exists() {
        std::fs::copy(env!("CARGO_BIN_EXE_dhcplab"), &binary).expect("copy the binary");
    }
    let out = Command::new(&binary)
        .arg("ctl")
        .arg(dir.join("ctl.sock"))
        .arg("status-get")
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run dhcplab ctl as nobody");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_control_socket_serves_its_owner_and_root_only() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // Running as another user needs root; CI runs as root.
    if std::fs::metadata("/proc/self").map_or(true, |m| m.uid() != 0) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // Let every user reach the directory and run the binary, so only the socket decides.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    config(dir.path(), 3600);
    let mut p = start(dir.path());
    let sock = dir.path().join("ctl.sock");
    let mode = std::fs::metadata(&sock)
        .expect("socket")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let (code, text) = ctl_as_nobody(dir.path());
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("ermission denied"), "{text}");
    // Should the mode be widened (by hand, or in the moment between bind and chmod), the
    // server still refuses the other user by its credentials.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let (_, text) = ctl_as_nobody(dir.path());
    assert!(
        text.contains(
            "refused: this control socket serves its owner (uid 0) and root, not uid 65534"
        ),
        "{text}"
    );
    // Its owner is served as before.
    let (code, answer) = ctl(dir.path(), "status-get", None);
    assert_eq!(
        (code, &answer["result"]),
        (Some(0), &serde_json::json!(0)),
        "{answer}"
    );
    p.signal("TERM");
    assert!(p.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn idle_control_connections_past_the_limit_are_answered_busy() {
    let dir = tempfile::tempdir().expect("temp dir");
    config(dir.path(), 3600);
    let mut p = start(dir.path());
    let sock = dir.path().join("ctl.sock");
    let idle: Vec<std::os::unix::net::UnixStream> = (0..64)
        .map(|_| std::os::unix::net::UnixStream::connect(&sock).expect("connect"))
        .collect();
    // The server counts a connection once it accepted it: wait until the next is refused.
    let mut last = serde_json::Value::Null;
    let busy = wait_for(Duration::from_secs(5), || {
        last = ctl(dir.path(), "status-get", None).1;
        last["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("busy: 64 control connections are open"))
    });
    assert!(busy, "{last}");
    drop(idle);
    assert!(
        wait_for(Duration::from_secs(5), || ctl(
            dir.path(),
            "status-get",
            None
        )
        .0 == Some(0)),
        "served again once the idle connections closed"
    );
    p.signal("TERM");
    assert!(p.wait_exit(Duration::from_secs(10)).is_some());
}
