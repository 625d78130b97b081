//! `dhcplab bench` in TAP mode: the server alone in a namespace, the generator on its TAP
//! device. At a modest rate every stack answers every exchange: DORA, unicast renewals (the
//! generator answers the server's ARP for its clients' addresses) and releases in DHCPv4,
//! SARR, Renew and Release in DHCPv6 (the generator answers the server's Neighbor
//! Solicitation). Killed with SIGKILL under load, a server keeps every lease it acknowledged;
//! flooded with DISCOVERs, it goes on answering renewals. The run leaves no namespace behind,
//! nor does one interrupted (SIGINT, SIGTERM) at any moment of a crash run.
//! Needs root (CI runs as root) and the real stacks (ci/test installs them).

use dhcplab_testkit::netns::{can_create_namespaces, have};
use std::process::Command;

/// The namespaces named `dhcplab-` now.
fn namespaces() -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("dhcplab-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `dhcplab bench` with `args` and checks every exchange that expects an answer got
/// all of them, and that each kind in `kinds` took place.
fn answers_everything(args: &[&str], kinds: &[&str]) {
    let before = namespaces();
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .arg("bench")
        .args(args)
        .args([
            "--duration",
            "2",
            "--renew",
            "20",
            "--release",
            "10",
            "--json",
            "-",
        ])
        .output()
        .expect("run dhcplab bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{args:?}: {text}");
    let json: serde_json::Value = stdout
        .find("\n{")
        .and_then(|at| serde_json::from_str(&stdout[at + 1..]).ok())
        .unwrap_or_else(|| panic!("JSON in {text}"));
    let trial = &json["trials"][0];
    let exchanges = trial["report"]["exchanges"].as_array().expect("exchanges");
    for kind in kinds {
        let e = exchanges
            .iter()
            .find(|e| e["name"] == *kind)
            .unwrap_or_else(|| panic!("{args:?}: no {kind} in {text}"));
        assert!(e["sent"].as_u64() > Some(0), "{args:?} {kind}: {e}");
        if e["answered"] == true {
            assert_eq!(e["received"], e["sent"], "{args:?} {kind}: {text}");
            assert_eq!(e["drops"], 0, "{args:?} {kind}: {text}");
        }
    }
    assert!(
        trial["server"]["cpu_seconds"].as_f64() > Some(0.0),
        "{text}"
    );
    let left: Vec<String> = namespaces()
        .into_iter()
        .filter(|n| !before.contains(n))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

const V4: [&str; 4] = [
    "DISCOVER-OFFER",
    "REQUEST-ACK",
    "REQUEST-ACK (renew)",
    "RELEASE",
];
const V6: [&str; 4] = [
    "SOLICIT-ADVERTISE",
    "REQUEST-REPLY",
    "RENEW-REPLY",
    "RELEASE-REPLY",
];

#[test]
fn every_dhcpv4_stack_answers_every_exchange_of_a_modest_load() {
    if !can_create_namespaces() {
        return;
    }
    answers_everything(&["--server", "reference", "--rate", "2000"], &V4);
    for (stack, program, rate) in [
        ("kea", "kea-dhcp4", "1000"),
        ("kea-mt", "kea-dhcp4", "1000"),
        ("dhcpd", "dhcpd", "100"),
        ("dnsmasq", "dnsmasq", "100"),
    ] {
        if have(program) {
            answers_everything(&["--server", stack, "--rate", rate], &V4);
        }
    }
}

#[test]
fn every_dhcpv6_stack_answers_every_exchange_of_a_modest_load() {
    if !can_create_namespaces() {
        return;
    }
    answers_everything(&["--server", "reference", "--v6", "--rate", "2000"], &V6);
    for (stack, program, rate) in [("kea", "kea-dhcp6", "1000"), ("dhcpd", "dhcpd", "200")] {
        if have(program) {
            answers_everything(&["--server", stack, "--v6", "--rate", rate], &V6);
        }
    }
}

#[test]
fn a_search_in_tap_mode_ends_by_itself_and_names_its_reason() {
    if !can_create_namespaces() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args([
            "bench",
            "--server",
            "reference",
            "--max",
            "--rate",
            "4000",
            "--duration",
            "1",
            "--json",
            "-",
        ])
        .output()
        .expect("run dhcplab bench --max");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json: serde_json::Value = stdout
        .find("\n{")
        .and_then(|at| serde_json::from_str(&stdout[at + 1..]).ok())
        .unwrap_or_else(|| panic!("JSON in {stdout}"));
    let trials = json["trials"].as_array().expect("trials");
    assert!(!trials.is_empty() && trials.len() <= 14, "{stdout}");
    let stopped = json["stopped"].as_str().expect("a reason");
    assert!(
        stopped.contains("within 5%")
            || stopped.contains("generator")
            || stopped.contains("trials"),
        "{stopped}"
    );
    // The result is the highest rate of a sustained trial.
    let highest = trials
        .iter()
        .filter(|t| t["sustained"] == true)
        .filter_map(|t| t["report"]["rate_asked"].as_f64())
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
    assert_eq!(json["max_rate"].as_f64(), highest, "{stdout}");
}

/// Runs `dhcplab bench` with `args` and `--json -`: exit code, the JSON, and all it printed.
fn bench_json(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let before = namespaces();
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .arg("bench")
        .args(args)
        .args(["--json", "-"])
        .output()
        .expect("run dhcplab bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let json = stdout
        .find("\n{")
        .and_then(|at| serde_json::from_str(&stdout[at + 1..]).ok())
        .unwrap_or_else(|| panic!("{args:?}: JSON in {text}"));
    let left: Vec<String> = namespaces()
        .into_iter()
        .filter(|n| !before.contains(n))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    (out.status.code(), json, text)
}

/// Checks a crash run found no violation over `kills` kills, each checking some leases.
fn no_lease_lost(args: &[&str], kills: usize) {
    let (code, json, text) = bench_json(args);
    assert_eq!(code, Some(0), "{args:?}: {text}");
    assert_eq!(json["violations"], 0, "{text}");
    let run = json["run"]["kills"].as_array().expect("kills");
    assert_eq!(run.len(), kills, "{text}");
    for k in run {
        assert!(k["check"]["checked"].as_u64() > Some(0), "{k}");
        assert_eq!(k["check"]["missing"], 0, "{k}");
        assert_eq!(k["check"]["double_leased"], 0, "{k}");
        assert!(k["answering_after_seconds"].as_f64().is_some(), "{k}");
    }
}

#[test]
fn a_server_killed_under_load_keeps_every_lease_it_acknowledged() {
    if !can_create_namespaces() {
        return;
    }
    let load = [
        "--clients",
        "1000",
        "--rate",
        "1000",
        "--renew",
        "40",
        "--release",
        "10",
        "--kills",
        "4",
    ];
    no_lease_lost(&[&["--server", "reference"][..], &load].concat(), 4);
    no_lease_lost(&[&["--server", "reference", "--v6"][..], &load].concat(), 4);
    if have("kea-dhcp4") {
        no_lease_lost(&[&["--server", "kea"][..], &load].concat(), 4);
    }
}

#[test]
fn the_crash_check_finds_the_leases_of_a_server_that_keeps_none() {
    if !can_create_namespaces() {
        return;
    }
    let (code, json, text) = bench_json(&[
        "--server",
        "reference",
        "--no-persist",
        "--clients",
        "500",
        "--rate",
        "1000",
        "--kills",
        "2",
    ]);
    assert_eq!(code, Some(1), "{text}");
    let kills = json["run"]["kills"].as_array().expect("kills");
    let checked = kills[0]["check"]["checked"].as_u64().expect("checked");
    assert!(checked > 0, "{text}");
    // Nothing persisted: every lease a client held is missing from the (empty) file.
    assert_eq!(
        kills[0]["check"]["missing"].as_u64(),
        Some(checked),
        "{text}"
    );
    assert_eq!(kills[0]["file_rows"], 0, "{text}");
    assert!(json["violations"].as_u64() >= Some(checked), "{text}");
}

#[test]
fn a_discover_flood_exhausts_the_pool_and_leaves_renewals_answered() {
    if !can_create_namespaces() {
        return;
    }
    let (code, json, text) =
        bench_json(&["--server", "reference", "--flood", "6000", "--rate", "3000"]);
    assert_eq!(code, Some(0), "{text}");
    let f = &json["flood"];
    assert_eq!(f["discovers"], 6000, "{text}");
    // The pool (256, less the 100 renewing clients' leases) runs out: most DISCOVERs go
    // unoffered, and the flood never takes more than the pool.
    let pool = f["pool"].as_u64().expect("pool");
    let taken = f["flood_leases"].as_u64().expect("flood leases");
    assert!(taken > 0 && taken + 100 <= pool, "{text}");
    assert!(f["offers"].as_u64() < Some(1000), "{text}");
    // The renewing clients were served throughout: nothing of theirs unanswered or refused.
    // (Answers are counted over the flood's time, so those to exchanges started just before
    // it count too: they may outnumber what was sent during it.)
    assert!(f["renewals_sent"].as_u64() > Some(0), "{text}");
    assert_eq!(f["renewals_dropped"], 0, "{text}");
    assert_eq!(f["renewals_refused"], 0, "{text}");
    assert_eq!(f["again_dropped"], 0, "{text}");
    assert!(
        f["renewals_acked"].as_u64() >= f["renewals_sent"].as_u64(),
        "{text}"
    );
    assert!(f["rss_after_kib"].as_u64() > Some(0), "{text}");
}

/// The run directories of `dhcplab bench` in the temporary directory now.
fn bench_dirs() -> Vec<String> {
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("dhcplab-") && n.contains("-bench-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Processes whose command line holds `text`.
fn processes_with(text: &str) -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-a", "-f", text])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    out.lines().map(str::to_owned).collect()
}

#[test]
fn a_crash_run_interrupted_at_any_moment_leaves_nothing() {
    if !can_create_namespaces() {
        return;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    let mut rng = dhcplab_rng::Rng::new(seed);
    for (run, signal) in ["-INT", "-TERM", "-INT", "-TERM"].into_iter().enumerate() {
        let (ns, dirs) = (namespaces(), bench_dirs());
        let mut b = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
            .args(["bench", "--server", "reference", "--rate", "1000"])
            .args(["--clients", "500", "--kills", "100"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("dhcplab bench starts");
        std::thread::sleep(std::time::Duration::from_millis(rng.between(100, 4000)));
        let sent = Command::new("kill")
            .args([signal, &b.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = b.wait().expect("reaped");
        assert!(
            matches!(status.code(), Some(130 | 143)),
            "seed {seed} run {run}: {status:?}"
        );
        let new_ns: Vec<String> = namespaces()
            .into_iter()
            .filter(|n| !ns.contains(n))
            .collect();
        let new_dirs: Vec<String> = bench_dirs()
            .into_iter()
            .filter(|d| !dirs.contains(d))
            .collect();
        assert!(new_ns.is_empty(), "seed {seed} run {run}: {new_ns:?}");
        assert!(new_dirs.is_empty(), "seed {seed} run {run}: {new_dirs:?}");
        let servers = processes_with("-bench-");
        assert!(servers.is_empty(), "seed {seed} run {run}: {servers:?}");
    }
}
