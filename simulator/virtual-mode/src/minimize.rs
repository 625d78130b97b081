//! Makes a failing run of a randomized scenario smaller while it still fails at the same
//! step: each `[vary]` value goes to its smallest failing value (its minimum, else by
//! bisection for whole numbers, by halving for fractions), then every step the failure does not
//! need is dropped. The result is a fixed scenario file, nothing random left but the seed, that
//! a person can keep as a regression test.

use crate::{Options, run};
use dhcplab_runner::{Outcome, Status};
use dhcplab_scenario::Scenario;
use std::cell::Cell;

/// Runs the minimizer may make, at most.
pub const MAX_RUNS: usize = 200;

/// A smaller failing instance.
#[derive(Debug, Clone)]
pub struct Minimized {
    /// The fixed scenario; its `source` is the file text.
    pub scenario: Scenario,
    /// The values written into it, one per range.
    pub values: Vec<f64>,
    /// Steps left out of the original.
    pub steps_removed: usize,
    /// How the minimized run fails.
    pub message: String,
    /// Runs made while minimizing.
    pub runs: usize,
}

/// Minimizes a failing run of `template` (a scenario with `[vary]` ranges) at `values` and
/// `seed`; `None` when that run does not fail (or its instance cannot be built).
pub fn minimize(template: &Scenario, values: &[f64], seed: u64) -> Option<Minimized> {
    let runs = Cell::new(0usize);
    let attempt = |s: &Scenario| -> Outcome {
        runs.set(runs.get() + 1);
        run(
            s,
            Options {
                seed,
                record: false,
            },
        )
    };
    // A run fails "the same way" when it fails at the same step of the template; `orig` maps
    // the steps of a smaller scenario to the template's.
    let same = |o: &Outcome, orig: &[usize], target: usize| {
        o.status == Status::Failed
            && o.failed_step.and_then(|k| orig.get(k).copied()) == Some(target)
    };
    let first = template.instance(values).ok()?;
    let outcome = attempt(&first);
    if outcome.status != Status::Failed {
        return None;
    }
    let target = outcome.failed_step?;
    let all: Vec<usize> = (0..template.steps.len()).collect();
    let mut values = values.to_vec();
    let mut best = (first, outcome.message);

    let try_values = |vals: &[f64]| -> Option<(Scenario, String)> {
        let s = template.instance(vals).ok()?;
        let o = attempt(&s);
        same(&o, &all, target).then_some((s, o.message))
    };
    for i in 0..values.len() {
        let v = &template.vary[i];
        let mut candidate = values.clone();
        candidate[i] = v.min;
        if let Some(hit) = try_values(&candidate) {
            values = candidate;
            best = hit;
            continue;
        }
        let (mut lo, mut hi) = (v.min, values[i]);
        while runs.get() < MAX_RUNS {
            let mid = if v.integer {
                ((lo + hi) / 2.0).floor()
            } else {
                (((lo + hi) / 2.0) * 10_000.0).round() / 10_000.0
            };
            if mid <= lo || mid >= hi {
                break;
            }
            candidate[i] = mid;
            match try_values(&candidate) {
                Some(hit) => {
                    hi = mid;
                    values = candidate.clone();
                    best = hit;
                }
                None => lo = mid,
            }
        }
    }

    let (mut scenario, mut message) = best;
    let mut orig = all;
    let mut k = scenario.steps.len();
    while k > 0 && runs.get() < MAX_RUNS {
        k -= 1;
        if orig.get(k) == Some(&target) {
            continue;
        }
        let Some(text) = without_step(&scenario, k) else {
            continue;
        };
        let Ok(smaller) = dhcplab_scenario::parse(&text, &scenario.file) else {
            continue;
        };
        let mut kept = orig.clone();
        kept.remove(k);
        let o = attempt(&smaller);
        if same(&o, &kept, target) {
            scenario = smaller;
            message = o.message;
            orig = kept;
        }
    }
    Some(Minimized {
        steps_removed: template.steps.len() - scenario.steps.len(),
        scenario,
        values,
        message,
        runs: runs.get(),
    })
}

/// The scenario's text without step `k`: from its `[[step]]` header to the next table header
/// that is not one of its own `[step.x]` tables.
fn without_step(s: &Scenario, k: usize) -> Option<String> {
    let lines: Vec<&str> = s.source.split_inclusive('\n').collect();
    let start = s.steps.get(k)?.place.line.checked_sub(1)?;
    let mut end = start + 1;
    while end < lines.len() {
        match dhcplab_scenario::text::table_header(lines[end]) {
            Some(name) if !name.starts_with("step.") => break,
            _ => end += 1,
        }
    }
    Some(
        [&lines[..start], &lines[end.min(lines.len())..]]
            .concat()
            .concat(),
    )
}
