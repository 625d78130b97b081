//! Conversations found in real captures: every capture of the project and of the shared
//! corpus is read without panic, every frame accounted for; the ones replay starts from are
//! pinned by snapshots.

use dhcplab_capture::CaptureReader;
use dhcplab_conversations::{Found, find};
use dhcplab_testkit::{captures_under, own_pcaps, shared_pcaps};
use std::path::Path;

fn found(path: &Path) -> (Found, u64) {
    let records: Vec<_> = CaptureReader::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .collect();
    let read = records.iter().filter(|r| r.is_ok()).count() as u64;
    (find(records), read)
}

#[test]
fn every_capture_is_read_and_every_frame_accounted_for() {
    let mut files = captures_under(&own_pcaps());
    if let Some(shared) = shared_pcaps() {
        files.extend(captures_under(&shared));
    }
    assert!(files.len() > 60, "{} captures", files.len());
    let mut messages = 0;
    for f in &files {
        let (found, read) = found(f);
        let accounted =
            found.messages.len() as u64 + found.other_frames + found.skipped.len() as u64;
        assert_eq!(accounted, read, "{}", f.display());
        let in_conversations: usize = found.conversations.iter().map(|c| c.messages.len()).sum();
        assert_eq!(in_conversations, found.messages.len(), "{}", f.display());
        messages += found.messages.len();
    }
    assert!(messages > 500, "{messages} messages in all");
}

fn snapshot(name: &str, path: &Path) {
    let (found, read) = found(path);
    assert!(read > 0);
    insta::assert_snapshot!(name, found.summary());
}

#[test]
fn zeek_dhcp_every_v4_message_type() {
    snapshot("zeek-dhcp", &own_pcaps().join("public/zeek-dhcp.pcap"));
}

#[test]
fn kea_relayed_solicit_is_the_clients_through_two_relays() {
    snapshot(
        "kea-captureRelayed2xRSOO",
        &own_pcaps().join("public/kea-captureRelayed2xRSOO.pcap"),
    );
}

#[test]
fn tcpdump_prefix_delegation_is_one_conversation_per_transaction() {
    snapshot(
        "tcpdump-dhcpv6-ia-pd",
        &own_pcaps().join("public/tcpdump-dhcpv6-ia-pd.pcap"),
    );
}

#[test]
fn malformed_frames_are_skipped_with_where() {
    snapshot(
        "crafted-malformed",
        &own_pcaps().join("crafted/malformed.pcap"),
    );
}
