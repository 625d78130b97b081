//! The scenario suite under `scenarios/` in virtual mode: every scenario passes for several
//! seeds, and a run repeats byte for byte.

use dhcplab_capture::CaptureReader;
use dhcplab_runner::Status;
use dhcplab_scenario::Scenario;
use dhcplab_virtual_mode::{Options, run};
use std::path::PathBuf;

/// Every scenario, with the example hook libraries built for `${hooks}`.
fn suite() -> Vec<Scenario> {
    dhcplab_testkit::hooks::examples_dir();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let files = dhcplab_scenario::discover(&root).expect("scenarios folder");
    assert!(files.len() >= 20, "the suite has {} scenarios", files.len());
    files
        .iter()
        .map(|f| dhcplab_scenario::load(f).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn every_scenario_passes_for_several_seeds() {
    for s in suite() {
        for seed in [1, 2, 3] {
            let o = run(
                &s,
                Options {
                    seed,
                    record: false,
                },
            );
            assert_eq!(
                o.status,
                Status::Passed,
                "{} seed {seed}: {}",
                s.name,
                o.message
            );
            assert_eq!(o.steps_done, s.steps.len(), "{}", s.name);
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_pcap_bytes() {
    let suite = suite();
    let v6 = suite
        .iter()
        .filter(|s| s.requires.iter().any(|r| r == "v6"))
        .count();
    assert!(v6 >= 15, "DHCPv6 scenarios are checked too: {v6}");
    for s in suite.iter().filter(|s| !s.name.contains("churn")) {
        let a = run(
            s,
            Options {
                seed: 7,
                record: true,
            },
        )
        .timeline
        .pcap()
        .expect("pcap");
        let b = run(
            s,
            Options {
                seed: 7,
                record: true,
            },
        )
        .timeline
        .pcap()
        .expect("pcap");
        assert_eq!(a, b, "{}", s.name);
        let records = CaptureReader::new(std::io::Cursor::new(a))
            .expect("a pcap")
            .count();
        assert!(records > 0, "{} has frames", s.name);
    }
}

#[test]
fn another_seed_gives_another_run_where_faults_are_drawn() {
    let s = suite()
        .into_iter()
        .find(|s| s.name == "robustness/lossy-link-still-binds")
        .expect("the lossy scenario");
    let a = run(
        &s,
        Options {
            seed: 1,
            record: true,
        },
    )
    .timeline
    .pcap()
    .expect("pcap");
    let b = run(
        &s,
        Options {
            seed: 2,
            record: true,
        },
    )
    .timeline
    .pcap()
    .expect("pcap");
    assert_ne!(a, b);
}

/// An optional message that never comes lets the run go on (the ladder notes it); the same
/// step without `optional` fails the run there.
#[test]
fn an_optional_message_that_never_comes_lets_the_run_go_on() {
    let file = |optional: &str| {
        format!(
            r#"
[[host]]
name = "srv"
role = "server"
address = "192.0.2.1"
config = '''
{{ "Dhcp4": {{ "interfaces-config": {{ "interfaces": [ "eth0" ] }},
  "subnet4": [ {{ "id": 1, "subnet": "192.0.2.0/24", "pools": [ {{ "pool": "192.0.2.100 - 192.0.2.199" }} ] }} ] }} }}
'''

[[host]]
name = "c1"
role = "client"

[[step]]
expect = "message"
from = "srv"
type = "NAK"
within = "1s"
{optional}

[[step]]
expect = "message"
from = "srv"
type = "ACK"
within = "20s"
"#
        )
    };
    let run = |text: &str| {
        let s =
            dhcplab_scenario::parse(text, std::path::Path::new("t/optional.toml")).expect("reads");
        dhcplab_virtual_mode::run(
            &s,
            dhcplab_virtual_mode::Options {
                seed: 1,
                record: true,
            },
        )
    };
    let went_on = run(&file("optional = true"));
    assert_eq!(
        went_on.status,
        dhcplab_runner::Status::Passed,
        "{}",
        went_on.message
    );
    assert_eq!(went_on.steps_done, 2);
    let stopped = run(&file(""));
    assert_eq!(stopped.status, dhcplab_runner::Status::Failed);
    assert_eq!(stopped.failed_step, Some(0), "{}", stopped.message);
}

#[test]
fn the_readme_states_the_run_bounds_the_code_keeps() {
    // scenarios/README.md tells users how much one run may do; it must say what the code
    // enforces (it said 50 million after the budget became 20 million).
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/README.md"),
    )
    .expect("scenarios/README.md");
    let text = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let millions = dhcplab_virtual_mode::MAX_WORK / 1_000_000;
    assert!(
        text.contains(&format!("({millions} million frames and timers)")),
        "the README does not state MAX_WORK = {}",
        dhcplab_virtual_mode::MAX_WORK
    );
    let days = dhcplab_runner::MAX_VIRTUAL_TIME.as_secs() / 86_400;
    assert!(text.contains(&format!("at most {days} days of virtual time")));
}
