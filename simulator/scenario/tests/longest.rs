//! How long a scenario's steps can take: the bound TAP mode compares with --max-real-time.

use dhcplab_scenario::parse;
use std::path::Path;
use std::time::Duration;

const HOSTS: &str = r#"
[[host]]
name = "srv"
role = "server"
address = "192.0.2.1"
config = '{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ] } }'

[[host]]
name = "c1"
role = "client"
"#;

fn longest(steps: &str) -> Duration {
    parse(&format!("{HOSTS}{steps}"), Path::new("t/x.toml"))
        .expect("parses")
        .longest()
}

#[test]
fn windows_times_and_waits_add_up() {
    let steps = r#"
[[step]]
expect = "message"
from = "srv"
within = "10s"

[[step]]
at = "1m"
do = "link-down"
host = "c1"

[[step]]
expect = "nothing"
from = "c1"
within = "20s"

[[step]]
after = "5s"
expect = "events"
host = "c1"
events = []
"#;
    assert_eq!(longest(steps), Duration::from_secs(85));
}

#[test]
fn an_at_earlier_than_the_end_so_far_does_not_go_back() {
    let steps = r#"
[[step]]
expect = "message"
from = "srv"
within = "30s"

[[step]]
at = "10s"
expect = "message"
from = "c1"
within = "1s"
"#;
    assert_eq!(longest(steps), Duration::from_secs(31));
}
