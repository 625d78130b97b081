//! The lease file (`IF.dhc`): a lease written and read back is the same lease, a client
//! started from it confirms it with INIT-REBOOT, and a damaged file is an error that says
//! where, never a panic.

mod common;

use common::*;
use dhcplab_client::State;
use dhcplab_client::lease_file::{LeaseFileError, decode, encode};
use dhcplab_wire::v4::MessageType;
use proptest::prelude::*;

fn bound_lease() -> dhcplab_client::Lease {
    let mut lab = Lab::with_lease(3600, None);
    lab.run_until(10.0);
    lab.saved.clone().expect("the client saved its lease")
}

#[test]
fn a_lease_written_reads_back_equal() {
    let lease = bound_lease();
    let text = encode(&lease);
    assert!(text.starts_with("dhcplab-lease 1\nacquired 1800000003.000000000\nack 0201"));
    assert_eq!(decode(text.as_bytes()), Ok(lease));
}

#[test]
fn a_client_started_from_the_file_confirms_the_lease() {
    let lease = decode(encode(&bound_lease()).as_bytes()).expect("decode");
    let mut lab = Lab::new(&server_config(3600, None), Lab::config(), 2, Some(lease));
    lab.run_until(5.0);
    let address = lab.saved.as_ref().map(|l| l.address);
    let sent: Vec<String> = lab.sent().into_iter().map(|(_, k, _)| k).collect();
    assert!(
        !sent.is_empty() && sent.iter().all(|k| k == "REQUEST"),
        "{sent:?}"
    );
    for w in lab.sent_of(MessageType::Request) {
        // INIT-REBOOT (RFC 2131 4.3.2): no server id, ciaddr zero, the address in option 50.
        assert_eq!(w.message.server_id(), Ok(None));
        assert!(w.message.ciaddr.is_unspecified());
        assert_eq!(w.message.requested_ip().ok().flatten(), address);
    }
    // This server has no record of the lease and stays silent (RFC 2131 4.3.2).
    assert_eq!(lab.state(), State::Rebooting);
}

#[test]
fn damaged_files_say_what_and_where() {
    let good = encode(&bound_lease());
    let cases: Vec<(String, LeaseFileError)> = vec![
        ("hello\n".into(), LeaseFileError::Header),
        (
            good.replace("acquired 1800000003.000000000", "acquired soon"),
            LeaseFileError::Line {
                line: 2,
                what: "bad time \"soon\" (seconds.nanoseconds since 1970)".into(),
            },
        ),
        (
            good.replace("ack 02", "ack 0g"),
            LeaseFileError::Line {
                line: 3,
                what: "bad hex digit at column 5".into(),
            },
        ),
        (
            good.lines().take(2).collect::<Vec<_>>().join("\n"),
            LeaseFileError::Missing("ack"),
        ),
        (
            format!("{good}colour blue\n"),
            LeaseFileError::Line {
                line: 4,
                what: "unknown field \"colour\"".into(),
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(decode(text.as_bytes()), Err(expected), "{text}");
    }
    // Cut inside the options: the newline and 40 hex digits (20 bytes) go.
    let truncated = &good[..good.len() - 41];
    assert!(matches!(
        decode(truncated.as_bytes()),
        Err(LeaseFileError::Reply { line: 3, .. })
    ));
    assert_eq!(
        decode(b"dhcplab-lease 1\n\xff"),
        Err(LeaseFileError::NotText(16))
    );
}

#[test]
fn a_stored_offer_is_not_a_lease() {
    let lease = bound_lease();
    let mut ack = lease.ack.to_vec();
    // Option 53 follows the cookie at 236..240 in the reference server's replies.
    let at = ack
        .windows(3)
        .position(|w| w == [53, 1, 5])
        .expect("option 53 = ACK");
    ack[at + 2] = 2;
    let mut offer = lease;
    offer.ack = ack.into();
    assert!(matches!(
        decode(encode(&offer).as_bytes()),
        Err(LeaseFileError::Reply { what, .. }) if what == "a Offer, not an ACK"
    ));
}

proptest! {
    #[test]
    fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode(&bytes);
        let mut with_header = b"dhcplab-lease 1\n".to_vec();
        with_header.extend_from_slice(&bytes);
        let _ = decode(&with_header);
    }
}

#[test]
fn an_adopted_lease_is_extended_not_configured_again() {
    let lease = bound_lease();
    let mut lab = Lab::new(
        &server_config(3600, None),
        Lab::config(),
        3,
        Some(lease.clone()),
    );
    // The lab has already carried out the first actions; adoption comes before any answer.
    assert!(lab.client.adopt());
    lab.configured = Some(lease.address);
    lab.run_until(60.0);
    assert!(
        !lab.actions
            .iter()
            .any(|(_, a)| matches!(a, dhcplab_client::Action::Configure(_))),
        "the adopted address is not configured again"
    );
    assert_eq!(
        lab.configured,
        Some(lease.address),
        "and stays while unconfirmed"
    );
    assert!(
        !lab.event_names().contains(&"BOUND"),
        "{:?}",
        lab.event_names()
    );
}
