//! Recorded differences of real stacks (`[[differs]]`): how they are read, what a bad record
//! is told, and what they make of a run's outcome.

use dhcplab_scenario::{Verdict, parse};
use std::path::Path;

const HOSTS: &str = r#"
[[host]]
name = "srv"
role = "server"
address = "192.0.2.1"
config = '{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ] } }'

[[host]]
name = "c1"
role = "client"

[[step]]
expect = "message"
from = "srv"
within = "10s"

[[step]]
expect = "nothing"
from = "c1"
within = "29s"
"#;

const RECORDS: &str = r#"
[[differs]]
stack = "kea"
step = 1
saw = "but saw OFFER"
why = "kea answers a DISCOVER cut short"

[[differs]]
stack = "dhclient"
step = 2
saw = "but saw REQUEST"
why = "dhclient fuzzes T1"
sometimes = true
"#;

#[test]
fn a_failure_as_recorded_differs_and_any_other_outcome_stands() {
    let s = parse(&format!("{HOSTS}{RECORDS}"), Path::new("t/x.toml")).expect("parses");
    assert_eq!(s.differs.len(), 2);
    assert_eq!(s.differs[0].place.line, 22);
    let kea = ["kea", "reference"];
    match s.verdict(&kea, Some(0), "expected no message, but saw OFFER at +1s") {
        Verdict::Differs(d) => assert_eq!(d.why, "kea answers a DISCOVER cut short"),
        other => panic!("{other:?}"),
    }
    // Another step, other text, or another stack: the failure stands.
    assert_eq!(s.verdict(&kea, Some(1), "but saw OFFER"), Verdict::AsRun);
    assert_eq!(s.verdict(&kea, Some(0), "none came"), Verdict::AsRun);
    assert_eq!(
        s.verdict(&["reference", "reference"], Some(0), "but saw OFFER"),
        Verdict::AsRun
    );
    // A pass where a stack always differs: the record is stale.
    assert!(matches!(s.verdict(&kea, None, "ok"), Verdict::Gone(d) if d.stack == "kea"));
    // A pass where the difference shows only sometimes is a pass.
    let dhclient = ["reference", "dhclient"];
    assert_eq!(s.verdict(&dhclient, None, "ok"), Verdict::AsRun);
    assert!(matches!(
        s.verdict(&dhclient, Some(1), "expected no message from c1, but saw REQUEST"),
        Verdict::Differs(d) if d.sometimes
    ));
}

#[test]
fn a_bad_record_is_told_where() {
    let bad = r#"
[[differs]]
stack = "reference"
step = 1
saw = "x"
why = "y"

[[differs]]
stack = "kea"
step = 3
saw = "x"
why = "y"

[[differs]]
stack = "kea"
step = 1
saw = "x"
why = " "
"#;
    let e = parse(&format!("{HOSTS}{bad}"), Path::new("t/x.toml")).expect_err("bad records");
    let text = e.to_string();
    assert!(
        text.contains("t/x.toml:23:9: stack \"reference\""),
        "{text}"
    );
    assert!(
        text.contains("t/x.toml:30:8: step 3: the scenario has steps 1 to 2"),
        "{text}"
    );
    assert!(
        text.contains("t/x.toml:38:7: why must not be empty"),
        "{text}"
    );
}
