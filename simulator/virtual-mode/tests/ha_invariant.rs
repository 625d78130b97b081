//! The run's own check on HA pairs: no address leased to two clients at once, by the
//! servers' lease tables or by the ACKs on the link. Two servers that share a pool without HA
//! must break it; the HA scenarios (under scenarios/ha-failover) must not, peers killed again
//! and again included, unless the peers lose their lease files. Peers with the credentials
//! they agree on reach hot-standby; when the standby holds a wrong password for the primary,
//! the primary answers its commands 401 and runs none of them, and the pair never gets there.

use dhcplab_runner::Status;
use dhcplab_virtual_mode::{Options, run};

/// Two servers on one pool, each reachable by one of two clients only: without HA they
/// know nothing of each other; with HA (load balancing, pools not split) they do.
fn rivals(ha: bool) -> String {
    let server = |name: &str, address: &str| {
        let hooks = if ha {
            format!(
                r#""hooks-libraries": [ {{ "library": "libdhcp_ha.so", "parameters": {{ "high-availability": [ {{
                  "this-server-name": "{name}", "mode": "load-balancing",
                  "heartbeat-delay": 2000, "max-response-delay": 6000,
                  "peers": [ {{ "name": "server1", "url": "http://192.0.2.1:8000/", "role": "primary" }},
                             {{ "name": "server2", "url": "http://192.0.2.2:8000/", "role": "secondary" }} ] }} ] }} }} ],"#
            )
        } else {
            String::new()
        };
        format!(
            r#"
[[host]]
name = "{name}"
role = "server"
address = "{address}"
config = '''
{{ "Dhcp4": {{ "interfaces-config": {{ "interfaces": [ "eth0" ] }}, "valid-lifetime": 600, {hooks}
  "subnet4": [ {{ "id": 1, "subnet": "192.0.2.0/24",
                  "pools": [ {{ "pool": "192.0.2.100 - 192.0.2.199" }} ] }} ] }} }}
'''
"#
        )
    };
    format!(
        r#"
[scenario]
description = "two servers on one pool"
{}{}
[[host]]
name = "c"
role = "client"
count = 2
start = "10s"
probe = false

# c1 sees only server1, c2 only server2: each server gives its first address.
[[step]]
do = "partition"
hosts = ["c1", "server2"]

[[step]]
do = "partition"
hosts = ["c2", "server1"]

# Without HA each server leases to the client it sees; with HA only server1's client (c1 and
# c2 both hash to server1) is served, by server1: one lease.
[[step]]
at = "1m"
expect = "leases"
host = "server1"
count = 1
"#,
        server("server1", "192.0.2.1"),
        server("server2", "192.0.2.2")
    )
}

fn outcome(text: &str) -> dhcplab_runner::Outcome {
    let s = dhcplab_scenario::parse(text, std::path::Path::new("rivals.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    run(
        &s,
        Options {
            seed: 1,
            record: true,
        },
    )
}

#[test]
fn two_servers_without_ha_on_one_pool_break_the_invariant() {
    let o = outcome(&rivals(false));
    assert_eq!(o.status, Status::Failed, "{}", o.message);
    // Each view of the link finds it: the lease tables, the ACKs, the interfaces.
    let failed: Vec<String> = o
        .timeline
        .entries
        .iter()
        .filter_map(|(_, e)| match e {
            dhcplab_timeline::Entry::Check {
                passed: false,
                text,
            } => Some(text.clone()),
            _ => None,
        })
        .collect();
    for want in [
        "server2 leased 192.0.2.100 to 02:00:5e:00:53:04 while server1 leases it to 02:00:5e:00:53:03",
        "server2 ACKed 192.0.2.100 to 02:00:5e:00:53:04 while 02:00:5e:00:53:03 holds it",
        "c2 configured 192.0.2.100 while c1 has it",
    ] {
        assert!(
            failed.iter().any(|f| f.starts_with(want)),
            "{want}: {failed:?}"
        );
    }
}

#[test]
fn the_same_servers_in_load_balancing_keep_it() {
    let o = outcome(&rivals(true));
    assert_eq!(o.status, Status::Passed, "{}", o.message);
}

/// The hot-standby pair whose peers are killed twenty times, one at a time, under churn.
const KILLED: &str =
    include_str!("../../../scenarios/ha-failover/peers-killed-twenty-times-under-churn.toml");

#[test]
fn peers_killed_one_at_a_time_under_churn_lose_no_lease() {
    let o = outcome(KILLED);
    assert_eq!(o.status, Status::Passed, "{}", o.message);
}

#[test]
fn the_same_peers_killed_together_without_lease_files_double_lease() {
    // The check's negative case: both peers keep their leases in memory only and die at
    // once, so nothing survives for the sync; the clients still hold their leases.
    let mut text = KILLED.replace(
        r#""lfc-interval": 0 }"#,
        r#""lfc-interval": 0, "persist": false }"#,
    );
    for act in ["kill", "start"] {
        for host in ["server1", "server2"] {
            text = text.replace(
                &format!("do = \"{act}\"\nhost = \"{host}\""),
                &format!("do = \"{act}\"\nhosts = [\"server1\", \"server2\"]"),
            );
        }
    }
    let o = outcome(&text);
    assert_eq!(o.status, Status::Failed, "{}", o.message);
    assert!(
        o.message.contains(" while ") && o.message.contains("holds it"),
        "{}",
        o.message
    );
}

/// The HA pair of scenarios/ha-failover/basic-auth-between-peers.toml: HTTP basic
/// authentication between the peers.
const AGREED: &str = include_str!("../../../scenarios/ha-failover/basic-auth-between-peers.toml");

#[test]
fn peers_with_the_agreed_credentials_reach_hot_standby() {
    let o = outcome(AGREED);
    assert_eq!(o.status, Status::Passed, "{}", o.message);
}

#[test]
fn a_peer_with_a_wrong_password_is_refused() {
    // The second server's entry for server1: the password server2 sends to server1.
    let at = AGREED
        .rfind("\"primary-secret\"")
        .expect("server2's entry for server1");
    let text = format!(
        "{}\"wrong\"{}",
        &AGREED[..at],
        &AGREED[at + "\"primary-secret\"".len()..]
    );
    let o = outcome(&text);
    assert_eq!(o.status, Status::Failed, "{}", o.message);
    assert!(o.message.contains("hot-standby"), "{}", o.message);
    let refused = o.timeline.entries.iter().any(|(_, e)| {
        format!("{e:?}").contains("HTTP 401 ha-heartbeat: not the credentials required")
    });
    assert!(refused, "no 401 in the timeline");
}
