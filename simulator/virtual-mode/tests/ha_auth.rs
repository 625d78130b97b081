//! HTTP basic authentication between HA peers in virtual mode: with the credentials the pair
//! agrees on they reach hot-standby (scenarios/ha-failover/basic-auth-between-peers.toml);
//! when the standby holds a wrong password for the primary, the primary answers its commands
//! 401 and runs none of them, so the pair never reaches hot-standby.

use dhcplab_runner::Status;
use dhcplab_virtual_mode::{Options, run};

const AGREED: &str = include_str!("../../../scenarios/ha-failover/basic-auth-between-peers.toml");

fn outcome(text: &str) -> dhcplab_runner::Outcome {
    let s = dhcplab_scenario::parse(text, std::path::Path::new("basic-auth.toml"))
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
