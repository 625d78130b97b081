//! The fuzz targets under proptest, short enough for `ci/test`: each target gets every seed of
//! its corpus, every input `ci/fuzz` ever found failing (`fuzz/regressions/TARGET/`), and
//! PROPTEST_CASES (256 unless set) inputs made by editing a seed at random (bytes overwritten,
//! inserted and removed, the tail cut or extended) or drawn whole at random. A target fails by
//! panicking, which fails the test with the input that did it.

#[allow(dead_code)] // `Seeds::write` serves the seeds example only.
#[path = "../seeds/collect.rs"]
mod collect;

use dhcplab_fuzz_targets::TARGETS;
use dhcplab_testkit::workspace_root;
use proptest::prelude::*;
use std::sync::OnceLock;

/// The seeds of every target, collected once per test binary.
fn seeds(target: &str) -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<collect::Seeds> = OnceLock::new();
    SEEDS
        .get_or_init(collect::collect)
        .0
        .get(target)
        .map_or(&[], Vec::as_slice)
}

/// The function of the target named `name`.
fn target(name: &str) -> fn(&[u8]) {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no target {name}"))
}

/// One edit of a seed.
#[derive(Debug, Clone)]
enum Edit {
    /// The byte at this place (modulo the length) becomes this.
    Set(usize, u8),
    /// This byte goes in at this place.
    Insert(usize, u8),
    /// The byte at this place goes.
    Remove(usize),
    /// The input ends at this place.
    Cut(usize),
    /// These bytes go at the end.
    Extend(Vec<u8>),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Set(at, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Insert(at, b)),
        2 => any::<usize>().prop_map(Edit::Remove),
        1 => any::<usize>().prop_map(Edit::Cut),
        1 => proptest::collection::vec(any::<u8>(), 1..32).prop_map(Edit::Extend),
    ]
}

/// `seed` with `edits` applied in order.
fn edited(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for e in edits {
        let len = out.len();
        match e {
            Edit::Set(at, b) if len > 0 => out[at % len] = *b,
            Edit::Insert(at, b) => out.insert(at % (len + 1), *b),
            Edit::Remove(at) if len > 0 => {
                out.remove(at % len);
            }
            Edit::Cut(at) => out.truncate(at % (len + 1)),
            Edit::Extend(bytes) => out.extend_from_slice(bytes),
            Edit::Set(..) | Edit::Remove(_) => {}
        }
    }
    out
}

/// An input for `target`: a seed of its, edited, or (when it has none, or one time in eight)
/// bytes drawn at random.
fn input(target: &'static str) -> BoxedStrategy<Vec<u8>> {
    let seeds = seeds(target);
    let random = proptest::collection::vec(any::<u8>(), 0..1500);
    if seeds.is_empty() {
        return random.boxed();
    }
    let edited = (0..seeds.len(), proptest::collection::vec(edit(), 1..12))
        .prop_map(move |(i, edits)| edited(&seeds[i], &edits));
    prop_oneof![7 => edited, 1 => random].boxed()
}

/// Runs every seed of `name` and every regression input of it through the target.
fn seeds_and_regressions(name: &str) {
    let f = target(name);
    for seed in seeds(name) {
        f(seed);
    }
    let dir = workspace_root().join("fuzz/regressions").join(name);
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let bytes = std::fs::read(entry.path())
            .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        f(&bytes);
    }
}

macro_rules! fuzz_target_tests {
    ($($name:ident),* $(,)?) => {
        mod every_seed_and_regression {
            $(
                #[test]
                fn $name() {
                    super::seeds_and_regressions(stringify!($name));
                }
            )*
        }
        mod edited_seeds {
            use super::*;
            $(
                proptest! {
                    #[test]
                    fn $name(bytes in input(stringify!($name))) {
                        target(stringify!($name))(&bytes);
                    }
                }
            )*
        }
    };
}

fuzz_target_tests!(
    wire_v4, wire_v6, server4, server6, client4, client6, capture, scenario, kea_config,
);

#[test]
fn every_target_is_tested_here() {
    let here = [
        "wire_v4",
        "wire_v6",
        "server4",
        "server6",
        "client4",
        "client6",
        "capture",
        "scenario",
        "kea_config",
    ];
    let all: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(all, here);
}

#[test]
fn every_target_has_seeds_from_the_project() {
    for (name, _) in TARGETS {
        assert!(!seeds(name).is_empty(), "{name} has no seeds");
    }
}

#[test]
fn edits_apply_in_order_and_stay_in_bounds() {
    let seed = [1, 2, 3, 4];
    assert_eq!(edited(&seed, &[Edit::Set(5, 9)]), [1, 9, 3, 4]);
    assert_eq!(
        edited(&seed, &[Edit::Insert(0, 7), Edit::Remove(4)]),
        [7, 1, 2, 3]
    );
    assert_eq!(
        edited(&seed, &[Edit::Cut(2), Edit::Extend(vec![8])]),
        [1, 2, 8]
    );
    assert!(edited(&[], &[Edit::Set(3, 1), Edit::Remove(0)]).is_empty());
}
