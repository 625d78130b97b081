//! What the scenario tests share: reading a file that must fail, and finding where a piece of
//! text is in it.

use dhcplab_scenario::{Place, ScenarioError, parse};
use std::path::Path;

/// The faults of a file that must not read, each as (line, column, message).
pub fn faults(text: &str) -> Vec<(usize, usize, String)> {
    let e: ScenarioError = parse(text, Path::new("scenarios/t/x.toml")).expect_err("faulty");
    e.faults
        .iter()
        .map(|f| (f.place.line, f.place.column, f.message.clone()))
        .collect()
}

/// The line and column of the first `needle` in `text`.
pub fn place_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("needle");
    let p = Place::of(text, offset);
    (p.line, p.column)
}
