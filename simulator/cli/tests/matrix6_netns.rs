//! `dhcplab matrix --v6` (issue 11): the DHCPv6 interop matrix in TAP mode, every server
//! (the reference server, kea-dhcp6, ISC dhcpd -6, dnsmasq) against every client (the
//! reference agent, dhclient -6, udhcpc, dhcpcd -6), its verdicts, findings, table and HTML,
//! and an interrupted run's cleanup.

use dhcplab_frame::{Decoded, Link, LinkType};
use dhcplab_interop::v6::{ADVERTISE_WINDOW, HINT_LIFETIMES, HINT_TIMERS};
use dhcplab_testkit::netns::{can_create_namespaces, have};
use dhcplab_wire::v6::Message;
use std::process::Command;

/// The server's link address in every pair (dhcplab-interop's).
const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];

/// T1, T2, preferred and valid lifetime of every address the server gave (in its Advertise
/// and Reply messages) in the capture at `path`.
fn served(path: &std::path::Path) -> Vec<(u32, u32, u32, u32)> {
    let mut out = Vec::new();
    for record in dhcplab_capture::CaptureReader::open(path).expect("capture") {
        let record = record.expect("record");
        let Ok(Decoded::Udp(u)) = dhcplab_frame::decode(LinkType::Ethernet, &record.data) else {
            continue;
        };
        let from_server = matches!(&u.link, Link::Ethernet { src, .. } if *src == SERVER_MAC);
        if !from_server || u.dhcp() != Some(dhcplab_frame::Dhcp::V6) {
            continue;
        }
        let Ok(m) = Message::decode(u.payload) else {
            continue;
        };
        for ia in m.options().ia_na().expect("IA_NA") {
            for a in ia.options.ia_addresses().expect("IA Address") {
                out.push((ia.t1, ia.t2, a.preferred, a.valid));
            }
        }
    }
    out
}

/// The DHCPv6 matrix on Debian 12's stacks and the reference ones: every check passes but
/// dnsmasq's renew (skipped: its shortest lease is 2 minutes) and udhcpc's (no DHCPv6, every
/// check skipped). Every server, the reference one included, gives the configured timers and
/// lifetimes whatever the client hinted (RFC 8415 section 21.4 and 21.6: "The server MUST
/// ignore any values in these fields in messages received from a client"). The capture shows
/// the clients' recorded differences from RFC 8415:
/// - dhclient 4.4.3 sends T1 3600, T2 5400 and lifetimes 7200/7500 in its IA_NA (section
///   21.4 and 21.6: SHOULD be 0);
/// - dhcpcd 9.4.1 echoes the server's lifetimes in its Request, Renew and Release (section
///   21.6) and sends its Request on the first Advertise, within milliseconds, where that
///   Advertise has no preference 255 (section 18.2.9: MUST collect for the first RT, more
///   than 1 s): against every server but dnsmasq, whose Advertise carries preference 255;
/// - the reference agent: none.
#[test]
fn the_v6_matrix_passes_with_its_recorded_differences() {
    if !can_create_namespaces() {
        return;
    }
    for p in [
        "kea-dhcp6",
        "dhcpd",
        "dnsmasq",
        "dhclient",
        "udhcpc",
        "dhcpcd",
    ] {
        if !have(p) {
            return;
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (json, html, run) = (
        dir.path().join("m.json"),
        dir.path().join("m.html"),
        dir.path().join("run"),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(["matrix", "--v6", "--json"])
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .arg("--dir")
        .arg(&run)
        .output()
        .expect("matrix");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let cells: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("parses");
    let cells = cells.as_array().expect("cells");
    assert_eq!(cells.len(), 16, "4 servers x 4 clients\n{stdout}");
    let mut unexpected = Vec::new();
    for c in cells {
        let (server, client) = (
            c["server"].as_str().unwrap_or("?"),
            c["client"].as_str().unwrap_or("?"),
        );
        assert_eq!(c["family"], "v6");
        let checks: Vec<&str> = c["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .map(|k| k["check"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(checks, ["sarr", "renew", "release"], "{server} x {client}");
        for k in c["checks"].as_array().expect("checks") {
            let (check, verdict, why) = (
                k["check"].as_str().unwrap_or("?"),
                k["verdict"].as_str().unwrap_or("?"),
                k["why"].as_str().unwrap_or(""),
            );
            let expected = match (server, client, check) {
                (_, "udhcpc", _) => verdict == "skip" && why.contains("udhcpc has no DHCPv6"),
                ("dnsmasq", _, "renew") => verdict == "skip" && why.contains("2 minutes"),
                _ => verdict == "pass",
            };
            if !expected {
                unexpected.push(format!("{server} x {client} {check}: {verdict} {why}"));
            }
        }
        let findings: Vec<&str> = c["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|f| f.as_str())
            .map(|f| {
                [HINT_TIMERS, HINT_LIFETIMES, ADVERTISE_WINDOW]
                    .into_iter()
                    .find(|rfc| f.starts_with(rfc))
                    .unwrap_or(f)
            })
            .collect();
        let expected_findings = match (server, client) {
            (_, "dhclient") => vec![HINT_TIMERS, HINT_LIFETIMES],
            ("dnsmasq", "dhcpcd") => vec![HINT_LIFETIMES],
            (_, "dhcpcd") => vec![HINT_LIFETIMES, ADVERTISE_WINDOW],
            _ => vec![],
        };
        if findings != expected_findings {
            unexpected.push(format!("{server} x {client} findings: {}", c["findings"]));
        }
        if client != "udhcpc" {
            // dnsmasq's lifetimes: its 2-minute minimum, T1 half of it, T2 7/8.
            let want = if server == "dnsmasq" {
                (60, 105, 120, 120)
            } else {
                (10, 16, 20, 30)
            };
            let given = served(&run.join(format!("{server}-{client}/capture.pcap")));
            if given.is_empty() || given.iter().any(|g| *g != want) {
                unexpected.push(format!(
                    "{server} x {client} gave (T1, T2, preferred, valid) {given:?}, expected {want:?}"
                ));
            }
        }
    }
    assert!(unexpected.is_empty(), "{}\n{stdout}", unexpected.join("\n"));
    assert_eq!(out.status.code(), Some(0), "no check failed\n{stdout}");
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .take(6)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        ["server", "reference", "dhclient", "udhcpc", "dhcpcd"]
    );
    assert_eq!(rows[1], ["reference", "SRL", "SRL", "---", "SRL"]);
    assert_eq!(rows[2], ["kea", "SRL", "SRL", "---", "SRL"]);
    assert_eq!(rows[3], ["dhcpd", "SRL", "SRL", "---", "SRL"]);
    assert_eq!(rows[4], ["dnsmasq", "S-L", "S-L", "---", "S-L"]);
    assert!(
        stdout.contains("\nS sarr, R renew, L release: passed; - skipped; x failed\n"),
        "{stdout}"
    );
    let page = std::fs::read_to_string(&html).expect("html");
    assert!(page.contains("<h1>Interop matrix (DHCPv6)</h1>"), "{page}");
    // A dhclient cell's two findings, their RFC text on hover.
    assert!(
        page.contains("<span class=\"finding\" title=\"RFC 8415 section 21.4: &quot;In a message sent by a client")
            && page.contains(">2 finding(s)</span>"),
        "{page}"
    );
    for server in ["reference", "kea", "dhcpd", "dnsmasq"] {
        assert!(page.contains(&format!("<tr><th>{server}</th>")), "{page}");
    }
}

/// What a run under `dir` may leave: the lab's namespaces (every `dhcplab-` one: the netns
/// tests run one at a time), TAP devices in the default namespace, and processes naming `dir`.
fn left_by(dir: &std::path::Path) -> Vec<String> {
    let text = |program: &str, args: &[&std::ffi::OsStr]| {
        Command::new(program)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let mut left: Vec<String> = text("ip", &["netns".as_ref(), "list".as_ref()])
        .lines()
        .filter(|l| l.starts_with(dhcplab_tap::PREFIX))
        .map(str::to_string)
        .collect();
    left.extend(
        text("ip", &["-o".as_ref(), "link".as_ref()])
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .filter(|n| n.starts_with("dl"))
            .map(|n| format!("link {n}")),
    );
    left.extend(
        text("pgrep", &["-a".as_ref(), "-f".as_ref(), dir.as_os_str()])
            .lines()
            .map(|p| format!("process {p}")),
    );
    left
}

/// Ctrl-C (or SIGTERM) while the DHCPv6 stacks run (building the network, kea-dhcp6 starting,
/// dhcpcd soliciting, the wait for T1) removes the run's namespaces, TAP devices and stacks
/// before `dhcplab matrix --v6` exits with 128 + the signal.
#[test]
fn an_interrupted_v6_run_removes_what_it_made() {
    if !can_create_namespaces() || !have("kea-dhcp6") || !have("dhcpcd") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (run, (signal, after_ms)) in [("-INT", 300), ("-TERM", 1500), ("-INT", 4000)]
        .into_iter()
        .enumerate()
    {
        let run_dir = dir.path().join(format!("run{run}"));
        let mut m = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
            .args([
                "matrix", "--v6", "--server", "kea6", "--client", "dhcpcd", "--dir",
            ])
            .arg(&run_dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("matrix starts");
        std::thread::sleep(std::time::Duration::from_millis(after_ms));
        let sent = Command::new("kill")
            .args([signal, &m.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = m.wait().expect("reaped");
        assert!(
            matches!(status.code(), Some(130 | 143)),
            "run {run} ({signal} after {after_ms} ms): {status:?}"
        );
        assert_eq!(
            left_by(&run_dir),
            Vec::<String>::new(),
            "run {run} ({signal} after {after_ms} ms)"
        );
    }
}
