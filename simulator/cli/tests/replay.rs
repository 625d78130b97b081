//! `dhcplab replay` and `dhcplab pcap2scenario` in virtual mode, as a user runs them: exit
//! codes, the report and its JSON, a changed configuration showing up as a divergence, the
//! scenario files written for three captures passing with `dhcplab run`, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dhcplab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("dhcplab runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The scenario `dhcplab pcap2scenario ARGS -o file` writes (it must exit 0).
fn pcap2scenario(args: &[&str], file: &str) -> String {
    let out = dhcplab(&[&["pcap2scenario"], args, &["-o", file]].concat());
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    std::fs::read_to_string(file).expect("written")
}

/// `dhcplab run file` passes the scenario `written` there from `capture`.
fn run_passes(capture: &str, file: &str, written: &str) {
    let run = dhcplab(&["run", file]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{capture}: {}\n{written}",
        text(&run)
    );
    assert!(text(&run).contains("1 passed, 0 failed"), "{}", text(&run));
}

#[test]
fn the_pcap2scenario_files_of_three_captures_pass_against_the_reference() {
    let dir = tempfile::tempdir().expect("tempdir");
    for capture in [
        "pcaps/public/wireshark-dhcp.pcap",
        "pcaps/public/charrua-dhcp.pcap",
        "pcaps/recorded/kea-dhclient.pcap",
    ] {
        let file = dir.path().join(
            Path::new(capture)
                .with_extension("toml")
                .file_name()
                .expect("name"),
        );
        let file = file.to_str().expect("utf-8");
        let written = pcap2scenario(&[capture], file);
        let expectations = written.matches("expect = \"message\"").count();
        let checks = written.matches("yiaddr = ").count();
        assert!(expectations >= 1 && checks >= 1, "{capture}: {written}");
        assert!(!written.contains("optional"), "{capture}: {written}");
        run_passes(capture, file, &written);
    }
}

/// The server side written as a scenario: the reference agent, answered with the recorded
/// answers, sends what the recorded clients sent (DORA; and for the kea capture the renewal
/// and the release the scenario asks for).
#[test]
fn the_server_side_pcap2scenario_files_pass_against_the_reference_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    for capture in [
        "pcaps/public/wireshark-dhcp.pcap",
        "pcaps/recorded/kea-dhclient.pcap",
    ] {
        let file = dir.path().join("server-side.toml");
        let file = file.to_str().expect("utf-8");
        let written = pcap2scenario(&[capture, "--role", "server"], file);
        assert!(written.contains("role = \"client\""), "{written}");
        assert!(written.contains("dhcp-requested-address = "), "{written}");
        run_passes(capture, file, &written);
    }
}

#[test]
fn a_replay_without_divergence_exits_0_and_a_changed_lifetime_shows_in_option_51() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("same.json");
    let out = dhcplab(&[
        "replay",
        "pcaps/recorded/kea-dhclient.pcap",
        "--json",
        json.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("3 answers recorded: 3 same"),
        "{}",
        text(&out)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("parses");
    assert_eq!(report["counts"]["same"], 3);

    let changed = dir.path().join("changed.json");
    let out = dhcplab(&[
        "replay",
        "pcaps/recorded/kea-dhclient.pcap",
        "--config",
        "pcaps/recorded/kea-dhclient-lifetime-60.json",
        "--json",
        changed.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&changed).expect("json")).expect("parses");
    let answers = report["conversations"][0]["answers"]
        .as_array()
        .expect("answers");
    assert_eq!(answers.len(), 3);
    for a in answers {
        assert_eq!(a["recorded"], a["got"], "{a}");
        assert_eq!(a["verdict"], "diverges", "{a}");
        assert_eq!(
            dhcplab_testkit::differences(a),
            ["option 51 dhcp-lease-time"],
            "{a}"
        );
    }
}

#[test]
fn a_divergence_exits_1_and_names_the_field() {
    let out = dhcplab(&[
        "replay",
        "pcaps/public/wireshark-dhcp.pcap",
        "--speed",
        "asap",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("siaddr: recorded 0.0.0.0, got 192.0.2.1"),
        "{}",
        text(&out)
    );
}

#[test]
fn input_that_cannot_be_replayed_exits_2_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"not a capture").expect("write");
    let bad_config = dir.path().join("bad.json");
    std::fs::write(&bad_config, b"{ \"Dhcp4\": ").expect("write");
    let cases: [(&[&str], &str); 5] = [
        (&["replay", "pcaps/missing.pcap"], "missing.pcap"),
        (&["replay", junk.to_str().expect("utf-8")], "junk.pcap"),
        (
            &[
                "replay",
                "pcaps/public/tcpdump-dhcpv6-ia-pd.pcap",
                "--role",
                "server",
            ],
            "the server side replays DHCPv4 only",
        ),
        (
            &[
                "replay",
                "pcaps/public/wireshark-dhcp.pcap",
                "--config",
                bad_config.to_str().expect("utf-8"),
            ],
            "not JSON",
        ),
        (
            &[
                "replay",
                "pcaps/public/wireshark-dhcp.pcap",
                "--role",
                "server",
                "--against",
                "kea",
            ],
            "plays against a client",
        ),
    ];
    for (args, says) in cases {
        let out = dhcplab(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
        assert!(!text(&out).contains("panicked"), "{args:?}: {}", text(&out));
    }
    let out = dhcplab(&[
        "replay",
        "pcaps/public/wireshark-dhcp.pcap",
        "--speed",
        "fast",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("original, asap or xN"),
        "{}",
        text(&out)
    );
}

/// DHCPv6 captures of the project's own copies (tcpdump's prefix delegation SARR, Kea's doubly
/// relayed Solicit) written by pcap2scenario pass with `dhcplab run` against the reference
/// server; the Request names the run's server through `$sid`, captured from its Advertise.
#[test]
fn the_v6_pcap2scenario_files_pass_against_the_reference() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (capture, expectations) in [
        ("pcaps/public/tcpdump-dhcpv6-ia-pd.pcap", 2),
        ("pcaps/public/kea-captureRelayed2xRSOO.pcap", 0),
    ] {
        let file = dir.path().join("v6.toml");
        let file = file.to_str().expect("utf-8");
        let written = pcap2scenario(&[capture], file);
        assert!(written.contains("\"Dhcp6\""), "{capture}: {written}");
        assert_eq!(
            written.matches("expect = \"message\"").count(),
            expectations,
            "{capture}: {written}"
        );
        if expectations > 0 {
            assert!(written.contains("serverid = \"$sid\""), "{written}");
            assert!(
                written.contains("\"ia-pd.iaprefix\" = \"2001:db8:a000:100::/56\""),
                "{written}"
            );
        }
        run_passes(capture, file, &written);
    }
}

/// A DHCPv6 replay: the same but for the server identifier with the derived configuration
/// (exit 0); with a `Dhcp6` configuration given whose pd-pool holds other prefixes, the
/// delegated prefix diverges (exit 1) and the report names the IA.
#[test]
fn a_v6_replay_exits_0_and_a_given_dhcp6_configuration_shows_in_the_ia() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("v6.json");
    let out = dhcplab(&[
        "replay",
        "pcaps/public/tcpdump-dhcpv6-ia-pd.pcap",
        "--json",
        json.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("parses");
    assert_eq!(report["counts"]["recorded"], 2);
    assert_eq!(report["counts"]["tolerated"], 2);

    let config = dir.path().join("dhcp6.json");
    std::fs::write(
        &config,
        r#"{ "Dhcp6": { "interfaces-config": { "interfaces": [ "eth0" ] },
  "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64", "interface": "eth0",
    "pd-pools": [ { "prefix": "2001:db8:b000::", "prefix-len": 48, "delegated-len": 56 } ] } ] } }"#,
    )
    .expect("write");
    let out = dhcplab(&[
        "replay",
        "pcaps/public/tcpdump-dhcpv6-ia-pd.pcap",
        "--config",
        config.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "IA_PD 0x02030405 prefixes: recorded 2001:db8:a000:100::/56 (2a00:1:1:100::/56 in the capture), got 2001:db8:b000::/56"
        ),
        "{}",
        text(&out)
    );
}
