//! `dhcplab bench --mode virtual`: the load generator against the reference server core in
//! process. Every exchange started is answered, renewals and releases take their shares, the
//! JSON says so, and what virtual mode cannot run is refused with the reason.

use std::process::Command;

fn bench(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .arg("bench")
        .args(args)
        .args(["--json", "-"])
        .output()
        .expect("run dhcplab bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // The JSON follows the report on standard output.
    let json = stdout
        .find("\n{")
        .and_then(|at| serde_json::from_str(&stdout[at + 1..]).ok())
        .unwrap_or(serde_json::Value::Null);
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code(), json, text)
}

fn exchange<'a>(trial: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    trial["report"]["exchanges"]
        .as_array()
        .and_then(|e| e.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("exchange {name} in {trial}"))
}

#[test]
fn every_dora_renewal_and_release_is_answered_by_the_reference_core() {
    let (code, json, text) = bench(&[
        "--server",
        "reference",
        "--mode",
        "virtual",
        "--rate",
        "5000",
        "--duration",
        "2",
        "--clients",
        "3000",
        "--renew",
        "20",
        "--release",
        "10",
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(json["mode"], "virtual");
    let t = &json["trials"][0];
    assert_eq!(t["report"]["started"], 10_000, "{t}");
    let first = exchange(t, "DISCOVER-OFFER");
    let second = exchange(t, "REQUEST-ACK");
    let renew = exchange(t, "REQUEST-ACK (renew)");
    let release = exchange(t, "RELEASE");
    assert_eq!(first["sent"], second["received"], "{t}");
    assert_eq!(first["drops"], 0);
    let renewals = renew["sent"].as_u64().expect("renewals");
    assert!(
        (1500..2500).contains(&renewals),
        "{renewals} renewals of 10,000"
    );
    assert_eq!(renew["received"], renewals);
    assert_eq!(renew["refused"], 0);
    assert!(release["sent"].as_u64().expect("releases") > 500);
    assert!(text.contains("***Statistics for: REQUEST-ACK***"), "{text}");
    assert!(text.contains("p99.9 delay:"), "{text}");
}

#[test]
fn dhcpv6_sarr_is_answered_by_the_reference_core() {
    let (code, json, text) = bench(&[
        "--server",
        "reference",
        "--mode",
        "virtual",
        "--v6",
        "--rate",
        "5000",
        "--duration",
        "1",
        "--renew",
        "20",
        "--release",
        "20",
    ]);
    assert_eq!(code, Some(0), "{text}");
    let t = &json["trials"][0];
    for name in [
        "SOLICIT-ADVERTISE",
        "REQUEST-REPLY",
        "RENEW-REPLY",
        "RELEASE-REPLY",
    ] {
        let e = exchange(t, name);
        assert!(e["sent"].as_u64().expect("sent") > 0, "{name}: {e}");
        assert_eq!(e["sent"], e["received"], "{name}: {e}");
        assert_eq!(e["refused"], 0, "{name}: {e}");
    }
}

#[test]
fn a_search_in_virtual_mode_stops_where_the_core_needs_more_than_one_core() {
    let (code, json, text) = bench(&[
        "--server",
        "reference",
        "--mode",
        "virtual",
        "--max",
        "--rate",
        "20000",
        "--duration",
        "1",
    ]);
    let trials = json["trials"].as_array().expect("trials");
    assert!(!trials.is_empty() && trials.len() <= 14, "{text}");
    // In virtual time nothing is dropped: a rate fails only when the core's time for it did
    // not fit in one core, and the result is the highest rate that did.
    let mut highest: Option<f64> = None;
    for t in trials {
        let cpu = t["server"]["cpu_percent"].as_f64().expect("cpu");
        let rate = t["report"]["rate_asked"].as_f64().expect("rate");
        assert_eq!(t["report"]["worst_drops_percent"], 0.0, "{t}");
        assert_eq!(t["sustained"] == true, cpu < 100.0, "{t}");
        if cpu < 100.0 {
            highest = Some(highest.map_or(rate, |h| h.max(rate)));
        }
    }
    assert_eq!(json["max_rate"].as_f64(), highest, "{text}");
    assert_eq!(code, Some(if highest.is_some() { 0 } else { 1 }), "{text}");
}

#[test]
fn what_cannot_run_is_refused_with_the_reason() {
    let (code, _, text) = bench(&["--server", "kea", "--mode", "virtual", "--rate", "10"]);
    assert_eq!(code, Some(2));
    assert!(
        text.contains("virtual mode runs the reference server's core"),
        "{text}"
    );
    let (code, _, text) = bench(&["--server", "bind", "--rate", "10"]);
    assert_eq!(code, Some(2));
    assert!(text.contains("unknown server \"bind\""), "{text}");
    let (code, _, text) = bench(&["--server", "reference", "--rate", "10", "--duration", "601"]);
    assert_eq!(code, Some(2));
    assert!(text.contains("--duration 601"), "{text}");
    let (code, _, text) = bench(&[
        "--server",
        "reference",
        "--mode",
        "virtual",
        "--rate",
        "10",
        "--renew",
        "70",
        "--release",
        "40",
    ]);
    assert_eq!(code, Some(2));
    assert!(text.contains("add up to more than 100%"), "{text}");
}
