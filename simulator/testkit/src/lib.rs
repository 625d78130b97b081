//! Fixtures for tests: the capture corpora and the DHCP payloads inside them, kea-dhcp4 for
//! interop checks, and network namespaces with real DHCP clients for daemon tests.
//!
//! Two corpora: the project's own `pcaps/` (always present) and the 60 public captures in
//! `../shared/pcaps` beside the clone (present in CI and on developers' machines). Tests that
//! use the shared corpus fail when it is missing under CI (`CI` set) and skip loudly elsewhere,
//! so a clone on its own still passes its tests without hiding a missing corpus in CI.

pub mod clients;
pub mod hooks;
pub mod netns;
pub mod servers;

use dhcplab_capture::{CaptureError, CaptureReader};
use dhcplab_frame::Decoded;
pub use dhcplab_frame::Dhcp;
use std::path::{Path, PathBuf};

/// The workspace root (the folder with the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The project's own captures.
pub fn own_pcaps() -> PathBuf {
    workspace_root().join("pcaps")
}

/// The shared public corpus: `$DHCPLAB_SHARED_PCAPS`, else `../shared/pcaps` beside the
/// workspace. `None` when it is not there and this is not CI.
///
/// # Panics
/// Under CI (`CI` set) when the corpus is missing: CI must see it.
pub fn shared_pcaps() -> Option<PathBuf> {
    let dir = std::env::var_os("DHCPLAB_SHARED_PCAPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/pcaps"));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the shared capture corpus is missing at {} (set DHCPLAB_SHARED_PCAPS)",
        dir.display()
    );
    eprintln!(
        "SKIPPED: shared capture corpus not found at {}",
        dir.display()
    );
    None
}

/// Every `.pcap`, `.pcapng` and `.cap` file under `dir`, sorted by path.
pub fn captures_under(dir: &Path) -> Vec<PathBuf> {
    files_under(dir, &["pcap", "pcapng", "cap"])
}

/// Every file under `dir` (its folders too) whose extension is one of `extensions`, sorted
/// by path.
pub fn files_under(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// One DHCP payload found in a capture.
#[derive(Debug, Clone)]
pub struct Payload {
    /// The capture it came from.
    pub file: PathBuf,
    /// Frame number in the capture, from 1.
    pub frame: u64,
    /// DHCPv4 or DHCPv6, by port.
    pub dhcp: Dhcp,
    /// The UDP payload.
    pub bytes: Vec<u8>,
}

/// Every DHCP payload in a capture, in order; frames that do not decode to UDP are skipped.
pub fn dhcp_payloads(file: &Path) -> Result<Vec<Payload>, CaptureError> {
    let mut out = Vec::new();
    for record in CaptureReader::open(file)? {
        let record = record?;
        let Some(link) = record.link_type else {
            continue;
        };
        if let Ok(Decoded::Udp(d)) = dhcplab_frame::decode(link, &record.data) {
            if let Some(dhcp) = d.dhcp() {
                out.push(Payload {
                    file: file.to_path_buf(),
                    frame: record.number,
                    dhcp,
                    bytes: d.payload.to_vec(),
                });
            }
        }
    }
    Ok(out)
}

pub mod kea;

/// What an answer of a `dhcplab replay --json` report differs in: the `what` of each of
/// its differences (`option 51 dhcp-lease-time`).
pub fn differences(answer: &serde_json::Value) -> Vec<&str> {
    answer["differences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["what"].as_str())
        .collect()
}
