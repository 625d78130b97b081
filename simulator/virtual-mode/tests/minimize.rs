//! A failing randomized scenario shrinks to the smallest values and the fewest steps that
//! still fail at the same step, as a file that runs on its own.

use dhcplab_runner::Status;
use dhcplab_scenario::parse;
use dhcplab_virtual_mode::{Options, minimize, run};
use std::path::Path;

/// Fails whenever more than ten clients are drawn; the flap and the waits do not matter.
const TEMPLATE: &str = r#"
[vary]
clients = { min = 1, max = 30 }
loss = { min = 0.0, max = 0.3 }

[[host]]
name = "srv"
role = "server"
address = "192.0.2.1"
config = '''
{ "Dhcp4": { "interfaces-config": { "interfaces": [ "eth0" ] }, "valid-lifetime": 3600,
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.100 - 192.0.2.199" } ] } ] } }
'''

[[host]]
name = "c"
role = "client"
count = "${clients}"
link = { loss = "${loss}" }

[[step]]
at = "5m"
do = "link-down"
host = "srv"

[[step]]
after = "10s"
do = "link-up"
host = "srv"

[[step]]
at = "1h"
expect = "leases"
host = "srv"
count = { max = 10 }

[[step]]
after = "1m"
"#;

#[test]
fn a_failure_shrinks_to_the_smallest_values_and_steps_that_still_fail() {
    let template = parse(TEMPLATE, Path::new("scenarios/t/too-many.toml")).expect("reads");
    let seed = (1..100)
        .find(|s| template.draw(*s)[0] > 20.0 && template.draw(*s)[1] > 0.05)
        .expect("a seed that draws many clients and some loss");
    let values = template.draw(seed);
    let instance = template.instance(&values).expect("instance");
    let first = run(
        &instance,
        Options {
            seed,
            record: false,
        },
    );
    assert_eq!(first.status, Status::Failed, "{}", first.message);

    let m = minimize(&template, &values, seed).expect("it fails, so it minimizes");
    assert_eq!(
        m.values,
        vec![11.0, 0.0],
        "the fewest clients that fail, and no loss"
    );
    assert_eq!(m.steps_removed, 3, "only the failing expectation is left");
    assert_eq!(m.scenario.steps.len(), 1);
    assert!(
        m.message
            .contains("expected 0 to 10 active leases on srv, it has 11"),
        "{}",
        m.message
    );
    assert!(m.runs <= dhcplab_virtual_mode::MAX_RUNS);

    let file =
        parse(&m.scenario.source, Path::new("scenarios/t/min.toml")).expect("the file reads");
    assert!(
        file.vary.is_empty() && !m.scenario.source.contains("[vary]"),
        "nothing random left"
    );
    assert!(!m.scenario.source.contains("${"), "every value written in");
    let again = run(
        &file,
        Options {
            seed,
            record: false,
        },
    );
    assert_eq!(again.status, Status::Failed);
    assert_eq!(again.message, m.message);
}

#[test]
fn a_passing_run_does_not_minimize() {
    let template = parse(TEMPLATE, Path::new("t.toml")).expect("reads");
    assert!(minimize(&template, &[3.0, 0.0], 1).is_none());
}

#[test]
fn a_value_written_into_the_failing_step_still_shrinks() {
    let text = TEMPLATE
        .replace("192.0.2.100 - 192.0.2.199", "192.0.2.100 - 192.0.2.109")
        .replace("count = { max = 10 }", "count = { min = \"${clients}\" }");
    let template = parse(&text, Path::new("scenarios/t/pool.toml")).expect("reads");
    let seed = (1..100)
        .find(|s| template.draw(*s)[0] > 20.0)
        .expect("a seed that draws many clients");
    let m = minimize(&template, &template.draw(seed), seed).expect("fails: the pool holds 10");
    assert_eq!(m.values[0], 11.0, "{}", m.message);
    assert!(m.message.contains("it has 10"), "{}", m.message);
}
