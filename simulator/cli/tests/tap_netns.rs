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
        .filter_map(
            |c| match dhcplab_frame::decode(dhcplab_frame::LinkType::Ethernet, &c.frame) {
                Ok(dhcplab_frame::Decoded::Udp(u)) => Message::decode(u.payload).ok(),
                _ => None,
            },
        )
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

/// What the interop matrix gives on Debian 12's stacks: every check passes, but for two
/// recorded differences. dnsmasq cannot renew within the run (its shortest lease is 2 min).
/// dhcpcd 9.4.1 now and then loses its RELEASE when it has not yet learned the server's link
/// address (against dnsmasq, where the skipped renew would have taught it): it unicasts the
/// RELEASE, then removes its address and routes while ARP is pending, and whether the ARP
/// reply wins that race varies from run to run. That cell may pass, or fail for that reason
/// and no other.
#[test]
fn the_interop_matrix_passes_but_for_its_recorded_differences() {
    if !can_create_namespaces() {
        return;
    }
    for p in [
        "kea-dhcp4",
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
    let json = dir.path().join("matrix.json");
    let html = dir.path().join("matrix.html");
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(["matrix", "--json"])
        .arg(&json)
        .arg("--html")
        .arg(&html)
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
        for k in c["checks"].as_array().expect("checks") {
            let (check, verdict, why) = (
                k["check"].as_str().unwrap_or("?"),
                k["verdict"].as_str().unwrap_or("?"),
                k["why"].as_str().unwrap_or(""),
            );
            let expected = match (server, client, check) {
                ("dnsmasq", _, "renew") => verdict == "skip" && why.contains("2 minutes"),
                ("dnsmasq", "dhcpcd", "release") => {
                    verdict == "pass" || (verdict == "fail" && why.contains("ARP request"))
                }
                _ => verdict == "pass",
            };
            if !expected {
                unexpected.push(format!("{server} x {client} {check}: {verdict} {why}"));
            }
        }
    }
    assert!(unexpected.is_empty(), "{}\n{stdout}", unexpected.join("\n"));
    let failed = cells.iter().any(|c| c["passed"] == false);
    assert_eq!(
        out.status.code(),
        Some(if failed { 1 } else { 0 }),
        "exit 1 when a check failed, 0 when none did\n{stdout}"
    );
    assert!(
        stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("reference  DRL")),
        "{stdout}"
    );
    let page = std::fs::read_to_string(&html).expect("html");
    for server in ["reference", "kea", "dhcpd", "dnsmasq"] {
        assert!(page.contains(&format!("<tr><th>{server}</th>")), "{page}");
    }
    assert!(page.contains("class=\"pass\"") && page.contains("class=\"skip\""));
}

/// What a run of `dhcplab matrix` under `dir` may leave: its namespaces, its TAP devices in
/// the default namespace, and processes whose command line names `dir`.
fn leftovers(dir: &std::path::Path) -> Vec<String> {
    let mut left: Vec<String> = namespaces()
        .into_iter()
        .filter(|n| n.starts_with(PREFIX))
        .collect();
    let links = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    left.extend(
        links
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .filter(|n| n.starts_with("dl") && n.contains('t'))
            .map(|n| format!("link {n}")),
    );
    let procs = Command::new("pgrep")
        .args(["-a", "-f"])
        .arg(dir)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    left.extend(procs.lines().map(|p| format!("process {p}")));
    left
}

/// Starts `dhcplab matrix` for the reference server and udhcpc, files under `dir`.
fn start_matrix(dir: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args([
            "matrix",
            "--server",
            "reference",
            "--client",
            "udhcpc",
            "--dir",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("matrix starts")
}

/// Twenty runs killed with SIGKILL at random moments of their first 3 s (building the network,
/// starting the server, the client binding) leave namespaces and processes behind, and
/// `dhcplab clean` removes every one.
#[test]
fn dhcplab_clean_leaves_nothing_after_twenty_runs_killed_at_random_moments() {
    if !can_create_namespaces() || !have("udhcpc") {
        return;
    }
    assert!(
        leftovers(std::path::Path::new("/nonexistent-dhcplab")).is_empty(),
        "nothing is left before the test"
    );
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    let mut rng = dhcplab_rng::Rng::new(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut left_behind = 0;
    for run in 0..20 {
        let run_dir = dir.path().join(format!("run{run}"));
        let mut m = start_matrix(&run_dir);
        std::thread::sleep(Duration::from_millis(rng.between(0, 3000)));
        m.kill().expect("SIGKILL");
        m.wait().expect("reaped");
        left_behind += leftovers(&run_dir).len();
    }
    assert!(
        left_behind > 0,
        "killed runs leave something for clean to remove (seed {seed})"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .arg("clean")
        .output()
        .expect("clean");
    assert_eq!(out.status.code(), Some(0));
    let gone = wait_for(Duration::from_secs(5), || leftovers(dir.path()).is_empty());
    assert!(
        gone,
        "seed {seed}: left after clean: {:?}",
        leftovers(dir.path())
    );
}

/// Ctrl-C (SIGINT) or SIGTERM at a random moment of a run removes its namespaces and stacks
/// before it exits: nothing is left, with no `dhcplab clean`.
#[test]
fn an_interrupted_run_removes_what_it_made() {
    if !can_create_namespaces() || !have("udhcpc") {
        return;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    let mut rng = dhcplab_rng::Rng::new(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    for (run, signal) in ["-INT", "-TERM", "-INT", "-TERM"].into_iter().enumerate() {
        let run_dir = dir.path().join(format!("run{run}"));
        let mut m = start_matrix(&run_dir);
        std::thread::sleep(Duration::from_millis(rng.between(200, 3000)));
        let sent = Command::new("kill")
            .args([signal, &m.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = m.wait().expect("reaped");
        assert!(
            matches!(status.code(), Some(130 | 143)),
            "seed {seed} run {run}: {status:?}"
        );
        assert_eq!(
            leftovers(&run_dir),
            Vec::<String>::new(),
            "seed {seed} run {run} ({signal})"
        );
    }
}

/// A short directory name for the run of `server` and `client` (`ref-ref`): the stacks' unix
/// sockets under it have 107 bytes at most.
fn short_name(server: &str, client: &str) -> String {
    let short = |s: &str| s.chars().take(3).collect::<String>();
    format!("{}-{}", short(server), short(client))
}

/// Whether the scenario `name` (as results name it: `topic/file`) is a DHCPv6 one (its file
/// is named `v6-*`).
fn is_v6(name: &str) -> bool {
    name.rsplit('/')
        .next()
        .is_some_and(|n| n.starts_with("v6-"))
}

/// The scenario features TAP mode runs (`requires`): what a skip for a feature may not name.
/// Written here, not read from dhcplab_tap_mode::FEATURES, so that a feature dropped from TAP
/// mode fails the test.
const TAP_RUNS: [&str; 4] = ["short-lifetimes", "v6", "pd", "rapid-commit"];

/// Whether TAP mode had reason to skip the scenario `name` (under scenarios/) with `message`
/// on `client`, read from the scenario file itself: it requires a feature TAP mode does not
/// run (and the message names it), it takes more real time than the run's 2 minutes (checked
/// first, as TAP mode does), or it
/// asks a DHCPv6 client for what only the reference agent is told (more than one IA_NA, an
/// IA_PD, rapid commit, information-only, a DUID) and `client` is a real one.
fn skip_is_justified(root: &std::path::Path, name: &str, message: &str, client: &str) -> bool {
    let path = root.join("scenarios").join(format!("{name}.toml"));
    let scenario = dhcplab_scenario::load(&path).expect("the skipped scenario loads");
    if scenario.longest() > Duration::from_secs(120) {
        return message.contains("more than 2m (--max-real-time)");
    }
    let missing = scenario
        .requires
        .iter()
        .find(|r| !TAP_RUNS.contains(&r.as_str()));
    if let Some(r) = missing {
        return message.contains(&format!("requires {r}"));
    }
    let asks_the_agent_only = scenario.hosts.iter().any(|h| {
        matches!(&h.role, dhcplab_scenario::Role::Client6(c)
            if c.ia_na != 1 || c.ia_pd != 0 || c.rapid_commit || c.information_only
                || c.duid.is_some())
    });
    client != "reference"
        && asks_the_agent_only
        && message.contains("which TAP mode gives only the reference agent")
}

/// Every scenario of lease expiry, suspend/resume and link flaps (and the robustness ones that
/// fit in real time), DHCPv4 and DHCPv6, runs in TAP mode on three pairs of stacks: the
/// reference server with the reference agent, kea-dhcp4/kea-dhcp6 with the reference agent,
/// and kea with dhclient (short lifetimes, ten scenarios at a time, the three runs side by
/// side: they share no namespace). Each passes, or fails exactly as a `[[differs]]` record of
/// its file says that stack does (the runner turns anything else into a failure, a record that
/// no longer holds included): none on the reference stacks for DHCPv4, kea's two (a truncated
/// DISCOVER, the renumbering NAK) with the reference agent. Of the DHCPv4 scenarios only the
/// churn week and the long randomized robustness runs are skipped; a DHCPv6 scenario is
/// skipped only for what its own file shows ([`skip_is_justified`]).
#[test]
fn the_lease_expiry_suspend_resume_and_link_flap_scenarios_pass_in_tap_mode() {
    if !can_create_namespaces() || !have("kea-dhcp4") || !have("dhclient") {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let topics = ["lease-expiry", "suspend-resume", "link-flap", "robustness"];
    let dir = tempfile::tempdir().expect("tempdir");
    let pairs = [
        ("reference", "reference"),
        ("kea", "reference"),
        ("kea", "dhclient"),
    ];
    let runs: Vec<(&str, &str, std::process::Child)> = pairs
        .into_iter()
        .map(|(server, client)| {
            let name = short_name(server, client);
            let child = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
                .current_dir(&root)
                .args([
                    "run", "--mode", "tap", "--server", server, "--client", client,
                ])
                .args(["--jobs", "10", "--json"])
                .arg(dir.path().join(format!("{name}.json")))
                .arg("--artifacts")
                .arg(dir.path().join(&name))
                .args(topics.map(|t| format!("scenarios/{t}")))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("dhcplab run");
            (server, client, child)
        })
        .collect();
    let skipped_everywhere = [
        "lease-expiry/churn-1000-clients-7-days",
        "robustness/lossy-link-still-binds",
        "robustness/random-clients-loss-and-lifetimes",
    ];
    for (server, client, child) in runs {
        let out = child.wait_with_output().expect("dhcplab run ends");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let pair = format!("{server} + {client}");
        let json = dir
            .path()
            .join(format!("{}.json", short_name(server, client)));
        let results: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).expect("results")).expect("json");
        let mut skipped = Vec::new();
        let mut differs = Vec::new();
        let (mut ran, mut ran6) = (0, 0);
        for r in results["results"].as_array().expect("results") {
            let name = r["name"].as_str().unwrap_or("?").to_string();
            let message = r["message"].as_str().unwrap_or("");
            let count = if is_v6(&name) { &mut ran6 } else { &mut ran };
            match r["status"].as_str() {
                Some("passed") => *count += 1,
                Some("differs") => {
                    *count += 1;
                    assert!(
                        message.contains(" differs as line ") && message.contains("[step "),
                        "{pair}: {name}: {message}"
                    );
                    differs.push(name);
                }
                Some("skipped") if is_v6(&name) => assert!(
                    skip_is_justified(&root, &name, message, client),
                    "{pair}: {name} skipped: {message}"
                ),
                Some("skipped") => {
                    assert!(
                        !message.is_empty(),
                        "{pair}: {name} skipped without a reason"
                    );
                    skipped.push(name);
                }
                other => panic!("{pair}: {name} {other:?}: {message}\n{stdout}"),
            }
        }
        assert_eq!(skipped, skipped_everywhere, "{pair}\n{stdout}");
        assert_eq!(ran, 21, "{pair}\n{stdout}");
        assert!(ran6 >= 5, "{pair}: {ran6} DHCPv6 scenarios ran\n{stdout}");
        differs.retain(|d| !is_v6(d));
        match (server, client) {
            ("reference", _) => assert!(differs.is_empty(), "{differs:?}"),
            (_, "reference") => assert_eq!(
                differs,
                [
                    "robustness/malformed-requests-get-no-answer",
                    "suspend-resume/nak-on-resume-after-renumbering"
                ],
                "{stdout}"
            ),
            // kea's two, and dhclient's own: those recorded without `sometimes` every time,
            // the others in some runs.
            _ => {
                for always in [
                    "robustness/malformed-requests-get-no-answer",
                    "suspend-resume/nak-on-resume-after-renumbering",
                    "lease-expiry/rebind-at-t2",
                    "link-flap/server-side-flap",
                    "link-flap/flap-during-selecting",
                    "robustness/address-in-use-is-declined",
                    "suspend-resume/resume-after-expiry",
                ] {
                    assert!(differs.iter().any(|d| d == always), "{always}\n{stdout}");
                }
            }
        }
        assert_eq!(out.status.code(), Some(0), "{pair}\n{stdout}");
        let pcap = dir
            .path()
            .join(short_name(server, client))
            .join("link-flap/flap-while-bound/capture.pcap");
        assert!(
            std::fs::metadata(&pcap).is_ok_and(|m| m.len() > 24),
            "{pair}: the switch's capture is written"
        );
    }
}

/// Runs `dhcplab replay pcaps/recorded/kea-dhclient.pcap` with `args` and a JSON report:
/// its exit status, its output and the report.
fn replay_kea_capture(args: &[&str]) -> (Option<i32>, String, serde_json::Value) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .current_dir(&root)
        .args(["replay", "pcaps/recorded/kea-dhclient.pcap"])
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("dhcplab replay");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json report")).expect("parses");
    (out.status.code(), text, report)
}

/// Issue 8: a capture TAP mode recorded of kea-dhcp4 serving dhclient replays against kea and
/// against the reference server in TAP mode with no divergence at all; with a configuration
/// whose lifetime differs, every answer of kea keeps its type and differs in option 51 only.
#[test]
fn a_recorded_kea_capture_replays_against_kea_and_the_reference_in_tap_mode() {
    if !can_create_namespaces() || !have("kea-dhcp4") {
        return;
    }
    for against in ["kea", "reference"] {
        let (code, text, report) =
            replay_kea_capture(&["--mode", "tap", "--speed", "x4", "--against", against]);
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains(&format!("against {against} (tap mode)")),
            "{text}"
        );
        assert_eq!(report["counts"]["same"], 3, "{text}");
    }

    let (code, text, report) = replay_kea_capture(&[
        "--mode",
        "tap",
        "--speed",
        "x4",
        "--against",
        "kea",
        "--config",
        "pcaps/recorded/kea-dhclient-lifetime-60.json",
    ]);
    assert_eq!(code, Some(1), "{text}");
    let answers = report["conversations"][0]["answers"]
        .as_array()
        .expect("answers");
    assert_eq!(answers.len(), 3, "{text}");
    for a in answers {
        assert_eq!(a["recorded"], a["got"], "{text}");
        assert_eq!(
            dhcplab_testkit::differences(a),
            ["option 51 dhcp-lease-time"],
            "{text}"
        );
    }
    assert!(
        namespaces().iter().all(|n| !n.starts_with(PREFIX)),
        "{:?}",
        namespaces()
    );
}

/// Issue 8, the server side: the recorded kea answers, sent to dhclient in its own
/// transactions, draw exactly the requests dhclient sent when it was recorded (DISCOVER,
/// REQUEST, the renewal, and the RELEASE the run asks for).
#[test]
fn the_recorded_server_side_draws_dhclients_recorded_requests_in_tap_mode() {
    if !can_create_namespaces() || !have("dhclient") {
        return;
    }
    let (code, text, report) = replay_kea_capture(&["--role", "server", "--against", "dhclient"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(report["compared"], "requests", "{text}");
    assert_eq!(report["counts"]["recorded"], 4, "{text}");
    assert_eq!(report["counts"]["same"], 4, "{text}");
}

/// What one `dhcplab run --mode tap` of a scenario folder gave: scenario names by result,
/// the skip reasons, and its terminal output.
struct SuiteRun {
    server: &'static str,
    client: &'static str,
    by_status: std::collections::BTreeMap<String, Vec<String>>,
    skipped_because: Vec<(String, String)>,
    stdout: String,
}

impl SuiteRun {
    fn count(&self, status: &str) -> usize {
        self.by_status.get(status).map_or(0, Vec::len)
    }
}

/// Runs the scenario files or folders `paths` in TAP mode once with the reference server and
/// once with kea-dhcp4, side by side, `jobs` scenarios at a time each, the reference client on
/// client hosts.
fn run_suite_on_both(paths: &[&str], jobs: &str) -> Vec<SuiteRun> {
    run_suite(
        &[("reference", "reference"), ("kea", "reference")],
        paths,
        jobs,
    )
}

/// Runs the scenario files or folders `paths` in TAP mode once per (server, client) pair of
/// `pairs`, side by side, `jobs` scenarios at a time each.
fn run_suite(pairs: &[(&'static str, &'static str)], paths: &[&str], jobs: &str) -> Vec<SuiteRun> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("tempdir");
    let runs: Vec<(&'static str, &'static str, String, std::process::Child)> = pairs
        .iter()
        .enumerate()
        .map(|(k, &(server, client))| {
            // A short directory: the stacks' unix sockets under it have 107 bytes at most.
            let name = format!("r{k}");
            let child = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
                .current_dir(&root)
                .args(["run", "--mode", "tap", "--server", server])
                .args(["--client", client, "--jobs", jobs, "--json"])
                .arg(dir.path().join(format!("{name}.json")))
                .arg("--artifacts")
                .arg(dir.path().join(&name))
                .args(paths)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("dhcplab run");
            (server, client, name, child)
        })
        .collect();
    runs.into_iter()
        .map(|(server, client, name, child)| {
            let out = child.wait_with_output().expect("dhcplab run ends");
            let json = dir.path().join(format!("{name}.json"));
            let results: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&json).expect("results")).expect("json");
            let mut run = SuiteRun {
                server,
                client,
                by_status: Default::default(),
                skipped_because: Vec::new(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            };
            for r in results["results"].as_array().expect("results") {
                let name = r["name"].as_str().unwrap_or("?").to_string();
                let status = r["status"].as_str().unwrap_or("?").to_string();
                if status == "skipped" {
                    let message = r["message"].as_str().unwrap_or("").to_string();
                    run.skipped_because.push((name.clone(), message));
                }
                run.by_status.entry(status).or_default().push(name);
            }
            run
        })
        .collect()
}

/// The hook-ordering suite in TAP mode, side by side on the reference daemon (which loads the
/// example libraries in its namespace) and on kea-dhcp4 (with its own run-script hook),
/// both with the reference agent. The reference runs every scenario and passes them all; Kea
/// runs the run-script and client-event ones (the others list dhcplab's libraries, which
/// it cannot load, and are skipped with that reason), and fails only as the failed-reload
/// scenario records: Kea 2.2 goes on without its libraries after such a reload.
#[test]
fn the_hook_ordering_scenarios_pass_in_tap_mode_on_the_reference_and_on_kea() {
    if !can_create_namespaces() || !have("kea-dhcp4") {
        return;
    }
    dhcplab_testkit::hooks::examples_dir();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for mut run in run_suite_on_both(&["scenarios/hook-ordering"], "10") {
        let server = run.server;
        for (name, message) in &run.skipped_because {
            assert!(
                message.contains("which kea-dhcp4 cannot load")
                    || (is_v6(name) && skip_is_justified(&root, name, message, "reference")),
                "{server}: {name}: {message}"
            );
        }
        // The DHCPv4 scenarios are counted here; the DHCPv6 ones may only be skipped for what
        // their files show (checked above), and none may fail.
        assert!(
            !run.by_status
                .get("failed")
                .is_some_and(|f| f.iter().any(|n| is_v6(n))),
            "{server}: {:?}\n{}",
            run.by_status,
            run.stdout
        );
        for names in run.by_status.values_mut() {
            names.retain(|n| !is_v6(n));
        }
        run.by_status.retain(|_, names| !names.is_empty());
        let (by_status, stdout) = (&run.by_status, &run.stdout);
        match server {
            "reference" => {
                assert_eq!(run.count("passed"), 19, "{by_status:?}\n{stdout}");
                assert_eq!(by_status.len(), 1, "{by_status:?}\n{stdout}");
            }
            _ => {
                assert_eq!(run.count("passed"), 8, "{by_status:?}\n{stdout}");
                assert_eq!(
                    by_status.get("differs").cloned().unwrap_or_default(),
                    ["hook-ordering/run-script-kept-when-a-reload-fails"],
                    "{stdout}"
                );
                assert_eq!(run.count("skipped"), 10, "{by_status:?}\n{stdout}");
                assert_eq!(run.count("failed"), 0, "{by_status:?}\n{stdout}");
            }
        }
    }
}

/// The HA failover scenarios short enough for real time, on a pair of reference daemons and on
/// a pair of kea-dhcp4, each with its kea-ctrl-agent (Kea 2.2 carries HA commands through
/// it): the pairs come up, the standby takes over from a killed primary, the primary comes
/// back and syncs, load balancing splits clients by the RFC 3074 hash as Kea does, and a
/// partition between the peers gives no address twice, and load-balancing peers that lose each
/// other keep their updates and send them on return. Both pairs run side by side.
#[test]
fn the_ha_failover_scenarios_pass_in_tap_mode_on_reference_and_kea_pairs() {
    if !can_create_namespaces() || !have("kea-dhcp4") || !have("kea-ctrl-agent") {
        return;
    }
    let scenarios = [
        "ha-failover/primary-killed",
        "ha-failover/primary-returns",
        "ha-failover/load-balancing-split-by-hash",
        "ha-failover/partition-between-peers",
        "ha-failover/communication-recovery-queues-updates",
    ];
    let paths: Vec<String> = scenarios
        .iter()
        .map(|s| format!("scenarios/{s}.toml"))
        .collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    for run in run_suite_on_both(&paths, "5") {
        let (server, by_status, stdout) = (run.server, &run.by_status, &run.stdout);
        let mut passed = by_status.get("passed").cloned().unwrap_or_default();
        passed.sort();
        let mut want: Vec<String> = scenarios.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(passed, want, "{server}: {by_status:?}\n{stdout}");
    }
}

/// DHCPv6 in TAP mode (issue 11): short v6 scenarios (Solicit/Advertise/Request/Reply and
/// Release, rapid commit both ways, Renew at T1 per IA against a scripted server, Renew, Rebind
/// and expiry against a silent server, Confirm after a link flap and after a resume when the
/// link was renumbered, a server restart) on the reference pair, on kea-dhcp6 with the
/// reference agent and on dhclient -6 against the reference server, three runs side by side.
/// Each passes, or differs exactly as a `[[differs]]` record of its file says (the runner
/// fails anything else); dhclient -6 skips only the scenarios asking what TAP mode tells the
/// reference agent alone (rapid commit, two IA_NAs), with that reason.
#[test]
fn the_dhcpv6_scenarios_pass_in_tap_mode_on_reference_kea_dhcp6_and_dhclient() {
    if !can_create_namespaces() || !have("kea-dhcp6") || !have("dhclient") {
        return;
    }
    let scenarios = [
        "dhcpv6/v6-release-frees-the-lease",
        "dhcpv6/v6-rapid-commit-allowed",
        "dhcpv6/v6-rapid-commit-not-allowed",
        "lease-expiry/v6-renew-at-t1-per-ia",
        "lease-expiry/v6-ia-na-expires-when-the-server-is-silent",
        "link-flap/v6-confirm-after-flap-not-on-link",
        "suspend-resume/v6-confirm-after-resume-not-on-link",
        "robustness/v6-server-restart-keeps-leases",
    ];
    let only_the_agent = [
        "dhcpv6/v6-rapid-commit-allowed",
        "dhcpv6/v6-rapid-commit-not-allowed",
        "lease-expiry/v6-renew-at-t1-per-ia",
    ];
    let paths: Vec<String> = scenarios
        .iter()
        .map(|s| format!("scenarios/{s}.toml"))
        .collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let pairs = [
        ("reference", "reference"),
        ("kea", "reference"),
        ("reference", "dhclient"),
    ];
    for run in run_suite(&pairs, &paths, "4") {
        let pair = format!("{} + {}", run.server, run.client);
        let (by_status, stdout) = (&run.by_status, &run.stdout);
        assert_eq!(run.count("failed"), 0, "{pair}: {by_status:?}\n{stdout}");
        let mut skipped: Vec<&str> = run
            .skipped_because
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        skipped.sort_unstable();
        for (name, message) in &run.skipped_because {
            assert!(
                message.contains("which TAP mode gives only the reference agent, not dhclient -6"),
                "{pair}: {name}: {message}"
            );
        }
        let ran = run.count("passed") + run.count("differs");
        if run.client == "reference" {
            assert!(skipped.is_empty(), "{pair}: {skipped:?}");
            assert_eq!(ran, scenarios.len(), "{pair}: {by_status:?}\n{stdout}");
        } else {
            assert_eq!(skipped, only_the_agent, "{pair}\n{stdout}");
            assert_eq!(
                ran,
                scenarios.len() - only_the_agent.len(),
                "{pair}: {by_status:?}\n{stdout}"
            );
        }
        if run.server == "reference" && run.client == "reference" {
            assert_eq!(run.count("differs"), 0, "{pair}: {by_status:?}\n{stdout}");
        }
    }
}

/// DHCPv4 scenarios on ISC dhcpd and on dnsmasq, each given a translation of the scenario's
/// Kea configuration, with the reference agent, both runs side by side: a release, a renewal
/// at T1, a link flap, a NAK after renumbering (the server restarts on its new
/// configuration), a server restart that keeps its leases (read from dhcpd.leases and
/// dnsmasq's lease file), a declined address, malformed requests. Each passes, differs exactly
/// as a `[[differs]]` record of its file says (the runner fails anything else), or is
/// skipped for what the stack lacks, with that reason: dnsmasq's shortest lease and its
/// declined leases, and the expired and reclaimed lease states neither server keeps.
#[test]
fn short_dhcpv4_scenarios_pass_in_tap_mode_on_dhcpd_and_dnsmasq() {
    if !can_create_namespaces() || !have("dhcpd") || !have("dnsmasq") {
        return;
    }
    let scenarios = [
        "lease-expiry/release-frees-the-address-at-once",
        "lease-expiry/renew-at-t1",
        "lease-expiry/reclaim-at-the-right-second",
        "link-flap/flap-while-bound",
        "suspend-resume/nak-on-resume-after-renumbering",
        "suspend-resume/server-restarted-while-suspended",
        "robustness/address-in-use-is-declined",
        "robustness/malformed-requests-get-no-answer",
    ];
    let paths: Vec<String> = scenarios
        .iter()
        .map(|s| format!("scenarios/{s}.toml"))
        .collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let pairs = [("dhcpd", "reference"), ("dnsmasq", "reference")];
    let names = |list: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    for run in run_suite(&pairs, &paths, "8") {
        let (server, stdout) = (run.server, &run.stdout);
        let (passed, differs, skipped): (&[&str], &[&str], &[(&str, &str)]) = match server {
            "dhcpd" => (
                &[
                    "lease-expiry/release-frees-the-address-at-once",
                    "lease-expiry/renew-at-t1",
                    "link-flap/flap-while-bound",
                    "suspend-resume/nak-on-resume-after-renumbering",
                    "suspend-resume/server-restarted-while-suspended",
                    "robustness/address-in-use-is-declined",
                ],
                &["robustness/malformed-requests-get-no-answer"],
                &[(
                    "lease-expiry/reclaim-at-the-right-second",
                    "asks for a lease expired or reclaimed, which dhcpd does not have",
                )],
            ),
            _ => (
                &[
                    "lease-expiry/release-frees-the-address-at-once",
                    "link-flap/flap-while-bound",
                    "suspend-resume/nak-on-resume-after-renumbering",
                    "suspend-resume/server-restarted-while-suspended",
                ],
                &["robustness/malformed-requests-get-no-answer"],
                &[
                    (
                        "robustness/address-in-use-is-declined",
                        "asks for a declined lease, which dnsmasq does not have",
                    ),
                    (
                        "lease-expiry/renew-at-t1",
                        "Dhcp4/valid-lifetime, which TAP mode cannot give dnsmasq: 60 s: dnsmasq gives no lease shorter than 120 s",
                    ),
                    (
                        "lease-expiry/reclaim-at-the-right-second",
                        "Dhcp4/valid-lifetime, which TAP mode cannot give dnsmasq: 20 s",
                    ),
                ],
            ),
        };
        let got = |status: &str| -> Vec<String> {
            let mut v = run.by_status.get(status).cloned().unwrap_or_default();
            v.sort();
            v
        };
        assert_eq!(got("passed"), names(passed), "{server}: {stdout}");
        assert_eq!(got("differs"), names(differs), "{server}: {stdout}");
        assert_eq!(got("failed"), names(&[]), "{server}: {stdout}");
        let want_skipped: Vec<&str> = skipped.iter().map(|(n, _)| *n).collect();
        assert_eq!(got("skipped"), names(&want_skipped), "{server}: {stdout}");
        for (name, message) in &run.skipped_because {
            let why = skipped
                .iter()
                .find(|(n, _)| n == name)
                .map_or("?", |(_, w)| *w);
            assert!(message.contains(why), "{server}: {name}: {message}");
        }
    }
}
