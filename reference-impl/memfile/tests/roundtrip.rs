//! Any lease written as a row reads back as the same lease.

use dhcplab_memfile::{HEADER4, HEADER6, HwAddr6, Lease4, Lease6, LeaseType, load4, load6, rows6};
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

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

fn lease6() -> impl Strategy<Value = Lease6> {
    (
        any::<u128>(),
        proptest::collection::vec(any::<u8>(), 1..20),
        (1u32.., any::<u64>(), any::<u32>(), any::<u32>()),
        (0u8..3, any::<u32>(), 0u8..=128),
        (any::<bool>(), any::<bool>()),
        "[ -~é,&\n\r\t\u{0}\u{7f}]{0,30}",
        proptest::option::of((
            proptest::collection::vec(any::<u8>(), 1..20),
            any::<u16>(),
            any::<u32>(),
        )),
        0u32..3,
        proptest::option::of("[a-z,&]{0,10}"),
    )
        .prop_map(
            |(
                addr,
                duid,
                (valid, expire, subnet, preferred),
                (kind, iaid, len),
                (fwd, rev),
                hostname,
                hw,
                state,
                note,
            )| {
                let lease_type = LeaseType::from_code(kind).expect("0 to 2");
                Lease6 {
                    address: Ipv6Addr::from(addr),
                    // The one-byte zero DUID is for declined leases only.
                    duid: if duid == [0] { vec![0, 1] } else { duid },
                    valid_lifetime: valid,
                    expire,
                    subnet_id: subnet,
                    preferred_lifetime: preferred,
                    lease_type,
                    iaid,
                    prefix_len: if lease_type == LeaseType::Pd {
                        len
                    } else {
                        128
                    },
                    fqdn_fwd: fwd,
                    fqdn_rev: rev,
                    hostname,
                    hwaddr: hw.map(|(bytes, htype, source)| HwAddr6 {
                        bytes,
                        htype,
                        source,
                    }),
                    state,
                    user_context: note.map(|n| serde_json::json!({ "note": n }).to_string()),
                }
            },
        )
}

proptest! {
    #[test]
    fn rows6_read_back(leases in proptest::collection::vec(lease6(), 1..10)) {
        let mut text = format!("{HEADER6}\n");
        for l in &leases {
            text.push_str(&l.to_row());
            text.push('\n');
        }
        let read = rows6(&text).expect("reads");
        prop_assert!(read.errors.is_empty() && read.warnings.is_empty(), "{:?}", read);
        let back: Vec<&Lease6> = read.rows.iter().map(|(_, l)| l).collect();
        prop_assert_eq!(back, leases.iter().collect::<Vec<_>>());
        // The last row of each address wins, whatever its lease type.
        let load = load6(&text).expect("loads");
        for l in &leases {
            let last = leases.iter().rev().find(|m| m.address == l.address).expect("present");
            prop_assert_eq!(load.leases.get(&l.address), Some(last));
        }
    }

    #[test]
    fn every_line_is_a_lease_or_an_error(text in "[0-9a-f:,\n&#x{}\"]{0,300}") {
        let load = load6(&format!("{HEADER6}\n{text}")).expect("the header is Kea's");
        let lines = text.split('\n').filter(|l| !l.is_empty()).count();
        prop_assert_eq!(load.rows + load.errors.len(), lines);
        let last_line = text.split('\n').count() + 1;
        prop_assert!(load.errors.iter().chain(&load.warnings).all(|e| (2..=last_line).contains(&e.line)));
    }
}
