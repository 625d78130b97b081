//! The scenario suite under `scenarios/` in virtual mode: every scenario passes for several
//! seeds, and a run repeats byte for byte.

use dhcplab_capture::CaptureReader;
use dhcplab_runner::Status;
use dhcplab_scenario::Scenario;
use dhcplab_virtual_mode::{Options, run};
use std::path::PathBuf;

fn suite() -> Vec<Scenario> {
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
    for s in suite().iter().filter(|s| !s.name.contains("churn")) {
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
