//! Makes a failing run of a randomized scenario smaller while it still fails at the same
//! step: each `[vary]` value goes to its smallest failing value (its minimum, else by
//! bisection for whole numbers, by halving for fractions), then every step the failure does
//! not need is dropped. The result is a fixed scenario file, nothing random left but the seed,
//! that a person can keep as a regression test.

use crate::{Options, Outcome, Status, run};
use dhcplab_scenario::Scenario;

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
    let options = Options {
        seed,
        keep_frames: false,
    };
    let runs = std::cell::Cell::new(0usize);
    let mut attempt = |s: &Scenario| -> Outcome {
        runs.set(runs.get() + 1);
        run(s, options)
    };
    let first = template.instance(values).ok()?;
    let outcome = attempt(&first);
    let failing = failing_block(&first, &outcome)?;
    let mut values = values.to_vec();
    let mut best = (first, outcome.message);

    let fails_with = |vals: &[f64], attempt: &mut dyn FnMut(&Scenario) -> Outcome| {
        let s = template.instance(vals).ok()?;
        let o = attempt(&s);
        (failing_block(&s, &o).as_deref() == Some(failing.as_str())).then_some((s, o.message))
    };
    for i in 0..values.len() {
        let v = &template.vary[i];
        let mut lo = v.min;
        let mut candidate = values.clone();
        candidate[i] = lo;
        if let Some(hit) = fails_with(&candidate, &mut attempt) {
            values = candidate;
            best = hit;
            continue;
        }
        let mut hi = values[i];
        for _ in 0..20 {
            let mid = if v.integer {
                if hi - lo <= 1.0 {
                    break;
                }
                ((lo + hi) / 2.0).floor()
            } else {
                (((lo + hi) / 2.0) * 10_000.0).round() / 10_000.0
            };
            if mid <= lo || mid >= hi || runs.get() >= MAX_RUNS {
                break;
            }
            candidate[i] = mid;
            match fails_with(&candidate, &mut attempt) {
                Some(hit) => {
                    hi = mid;
                    values = candidate.clone();
                    best = hit;
                }
                None => lo = mid,
            }
        }
        candidate[i] = hi;
    }

    let (mut scenario, mut message) = best;
    let total = scenario.steps.len();
    let mut k = scenario.steps.len();
    while k > 0 && runs.get() < MAX_RUNS {
        k -= 1;
        let Some(text) = without_step(&scenario, k) else {
            continue;
        };
        if is_failing_step(&scenario, k, &failing) {
            continue;
        }
        let Ok(smaller) = dhcplab_scenario::parse(&text, &scenario.file) else {
            continue;
        };
        let o = attempt(&smaller);
        if failing_block(&smaller, &o).as_deref() == Some(failing.as_str()) {
            scenario = smaller;
            message = o.message;
        }
    }
    let steps_removed = total - scenario.steps.len();
    Some(Minimized {
        scenario,
        values,
        steps_removed,
        message,
        runs: runs.get(),
    })
}

/// The text of the step a failed run stopped at; `None` when the run passed.
fn failing_block(s: &Scenario, o: &Outcome) -> Option<String> {
    if o.status != Status::Failed {
        return None;
    }
    let k = o.failed_step?;
    step_range(s, k).map(|(a, b)| lines(&s.source)[a..b].concat())
}

fn is_failing_step(s: &Scenario, k: usize, failing: &str) -> bool {
    step_range(s, k).is_some_and(|(a, b)| lines(&s.source)[a..b].concat() == failing)
}

fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The lines of step `k`: from its `[[step]]` header to the next top-level header (its own
/// `[step.x]` tables included).
fn step_range(s: &Scenario, k: usize) -> Option<(usize, usize)> {
    let all = lines(&s.source);
    let start = s.steps.get(k)?.place.line.checked_sub(1)?;
    let mut end = start + 1;
    while end < all.len() {
        let t = all[end].trim_start();
        if t.starts_with('[') && !t.starts_with("[step.") {
            break;
        }
        end += 1;
    }
    Some((start, end))
}

/// The scenario's text without step `k`.
fn without_step(s: &Scenario, k: usize) -> Option<String> {
    let (a, b) = step_range(s, k)?;
    let all = lines(&s.source);
    Some([&all[..a], &all[b..]].concat().concat())
}
