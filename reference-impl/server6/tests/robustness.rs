//! Edge inputs found in review: each once made the server panic or work without bound.

mod common;

use common::*;
use dhcplab_server6::CommandOutcome;
use dhcplab_wire::v6::{MessageType, code};

fn answer(s: &mut dhcplab_server6::Server, text: &str) -> serde_json::Value {
    match s.handle_command(at(1), text) {
        CommandOutcome::Answer(a) => a,
        other => panic!("unexpected {other:?}"),
    }
}

/// A pool spanning the whole address space (`::/0`, which Kea's parser accepts) has 2^128
/// addresses: the statistics saturate instead of overflowing.
#[test]
fn a_pool_of_the_whole_address_space_has_saturated_statistics() {
    let mut cfg = config();
    cfg.subnets[0].prefix = prefix("::/0");
    cfg.subnets[0].pools[0].first = ip("::");
    cfg.subnets[0].pools[0].last = ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    cfg.subnets[0].pd_pools[0].prefix = prefix("::/0");
    cfg.subnets[0].pd_pools[0].delegated_len = 128;
    let mut s = server(cfg);
    let a = answer(&mut s, r#"{"command": "statistic-get-all"}"#);
    assert_eq!(a["arguments"]["subnet[1].total-nas"][0][0], i64::MAX, "{a}");
    assert_eq!(a["arguments"]["subnet[1].total-pds"][0][0], i64::MAX, "{a}");
    let m = exchange(
        &mut s,
        at(2),
        1,
        &msg(MessageType::SOLICIT, 1, &[(code::IA_NA, ia(1, &[]))]),
    );
    assert!(m.is_some());
}
