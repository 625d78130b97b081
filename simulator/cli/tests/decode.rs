//! `dhcplab decode` as a user runs it: every capture of both corpora exits 0 with one block
//! per DHCP payload; malformed payloads print their typed error with its offset; a truncated,
//! empty, missing or non-capture file gives one line on stderr and exit code 2, never a panic.

use dhcplab_testkit::{captures_under, dhcp_payloads, own_pcaps, shared_pcaps};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn decode(files: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .arg("decode")
        .args(files)
        .output()
        .expect("run dhcplab")
}

fn all_captures() -> Vec<PathBuf> {
    let mut files = captures_under(&own_pcaps());
    if let Some(shared) = shared_pcaps() {
        files.extend(captures_under(&shared));
    }
    files
}

/// Top-level blocks: lines that start a DHCP message (nested relayed messages are indented).
fn blocks(stdout: &str) -> usize {
    stdout
        .lines()
        .filter(|l| l.starts_with("DHCPv4 ") || l.starts_with("DHCPv6 "))
        .count()
}

#[test]
fn every_capture_decodes_with_one_block_per_dhcp_payload() {
    let files = all_captures();
    assert!(files.len() >= 11);
    for file in &files {
        let out = decode(&[file]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}: {stderr}", file.display());
        assert!(stderr.is_empty(), "{}: {stderr}", file.display());
        let expected = dhcp_payloads(file).expect("readable").len();
        assert_eq!(blocks(&stdout), expected, "{}", file.display());
        assert!(
            stdout
                .lines()
                .rev()
                .find(|l| !l.is_empty())
                .is_some_and(|l| l.starts_with("# ")),
            "{}: no summary",
            file.display()
        );
    }
}

#[test]
fn malformed_payloads_show_typed_errors_with_offsets() {
    let file = own_pcaps().join("crafted/malformed.pcap");
    let out = decode(&[&file]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = [
        "DHCPv4 MALFORMED, 244 bytes: at byte 236: magic cookie is [63, 82, 53, 00], not [63, 82, 53, 63]",
        "DHCPv4 MALFORMED, 248 bytes: at byte 248: the options area has no END option (255)",
        "DHCPv4 MALFORMED, 251 bytes: at byte 243: option 12 claims 40 bytes but only 6 remain in the options",
        "      MALFORMED: option 51, at byte 245: length 3 does not fit: 4 bytes",
        "DHCPv6 MALFORMED, 12 bytes: at byte 4: option 1 claims 30 bytes but only 4 remain in the options",
        "      MALFORMED: option 3, at byte 20: nested options: option 5 claims 24 bytes but only 2 remain in the options",
    ];
    for line in expected {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing line: {line}\n{stdout}"
        );
    }
    // Decoding went on after each fault: the last frame is there too.
    assert!(stdout.contains("Frame 10 "));
}

fn expect_one_line_error(path: &Path, needle: &str) {
    let out = decode(&[path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn bad_files_give_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read(own_pcaps().join("public/zeek-dhcp.pcap")).expect("read");
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &good[..good.len() / 2]).expect("write");
    expect_one_line_error(&cut, "truncated");
    // The records before the cut were still printed.
    assert!(blocks(&String::from_utf8_lossy(&decode(&[&cut]).stdout)) > 0);
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "this is not a capture at all\n").expect("write");
    expect_one_line_error(&text, "not a pcap or pcapng file");
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").expect("write");
    expect_one_line_error(&empty, "truncated");
    let header_only = dir.path().join("header.pcap");
    std::fs::write(&header_only, &good[..10]).expect("write");
    expect_one_line_error(&header_only, "truncated");
    expect_one_line_error(&dir.path().join("missing.pcap"), "No such file");
    expect_one_line_error(dir.path(), "cannot read capture");
}

#[test]
fn a_bad_file_does_not_stop_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("x.txt");
    std::fs::write(&text, "nope").expect("write");
    let good = own_pcaps().join("public/zeek-dhcp.pcap");
    let out = decode(&[&text, &good]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(blocks(&String::from_utf8_lossy(&out.stdout)), 9);
}

#[test]
fn corrupted_captures_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for source in captures_under(&own_pcaps()) {
        let original = std::fs::read(&source).expect("read");
        for round in 0..8 {
            let mut bytes = original.clone();
            for _ in 0..(1 + round * 4) {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = next() as u8;
            }
            let path = dir.path().join("mutated.pcap");
            std::fs::write(&path, &bytes).expect("write");
            let out = decode(&[&path]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                matches!(out.status.code(), Some(0 | 2)),
                "{}: {stderr}",
                source.display()
            );
            assert!(
                !stderr.contains("panicked"),
                "{}: {stderr}",
                source.display()
            );
        }
    }
}
