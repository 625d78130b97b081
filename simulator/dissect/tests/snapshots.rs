//! The decode output of every capture under `pcaps/` is pinned by a snapshot: a change in
//! what `dhcplab decode` prints for them shows up as a snapshot diff to review.

use dhcplab_dissect::dissect_capture;
use dhcplab_testkit::{captures_under, own_pcaps};

#[test]
fn decode_output_of_own_captures() {
    let root = own_pcaps();
    let files = captures_under(&root);
    assert!(
        files.len() >= 12,
        "expected the crafted and public captures, found {}",
        files.len()
    );
    for file in files {
        let name = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string()
            .replace(['/', '.'], "_");
        let mut out = Vec::new();
        let summary = dissect_capture(&file, &mut out).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            summary.v4 + summary.v6 + summary.malformed > 0,
            "{name}: no DHCP found"
        );
        insta::assert_snapshot!(name, String::from_utf8_lossy(&out));
    }
}
