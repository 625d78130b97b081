//! Any lease written as a row reads back as the same lease.

use dhcplab_memfile::{HEADER4, Lease4, load4};
use proptest::prelude::*;
use std::net::Ipv4Addr;

fn lease() -> impl Strategy<Value = Lease4> {
    (
        any::<u32>(),
        proptest::collection::vec(any::<u8>(), 1..20),
        proptest::collection::vec(any::<u8>(), 0..20),
        (
            1u32..,
            any::<u64>(),
            any::<u32>(),
            any::<bool>(),
            any::<bool>(),
        ),
        "[ -~é,&\n\r\t\u{0}\u{7f}]{0,30}",
        0u32..3,
        proptest::option::of("[a-z,&]{0,10}"),
    )
        .prop_map(
            |(
                addr,
                hwaddr,
                client_id,
                (valid, expire, subnet, fwd, rev),
                hostname,
                state,
                note,
            )| Lease4 {
                address: Ipv4Addr::from(addr),
                hwaddr,
                client_id,
                valid_lifetime: valid,
                expire,
                subnet_id: subnet,
                fqdn_fwd: fwd,
                fqdn_rev: rev,
                hostname,
                state,
                user_context: note.map(|n| serde_json::json!({ "note": n }).to_string()),
            },
        )
}

proptest! {
    #[test]
    fn rows_read_back(leases in proptest::collection::vec(lease(), 1..10)) {
        let mut text = format!("{HEADER4}\n");
        for l in &leases {
            text.push_str(&l.to_row());
            text.push('\n');
        }
        let load = load4(&text).expect("loads");
        prop_assert!(load.errors.is_empty(), "{:?}", load.errors);
        prop_assert_eq!(load.rows, leases.len());
        // The last row of each address wins.
        for l in &leases {
            let last = leases.iter().rev().find(|m| m.address == l.address).expect("present");
            prop_assert_eq!(load.leases.get(&l.address), Some(last));
        }
    }
}
