//! The seed corpora of the fuzz targets, collected from the project's files: shared by the
//! `seeds` example (which writes them for cargo-fuzz) and the proptest versions of the targets
//! (which mutate them), so both start from the same inputs.
//!
//! The DHCP payloads of the project's `pcaps/` and of the shared public captures
//! (`$DHCPLAB_SHARED_PCAPS`, else `../shared/pcaps`) seed the wire targets as they are and the
//! cores' targets as records (each payload alone, and each capture's payloads in order); the
//! capture files themselves seed `capture`; `scenarios/` and `conformance/` TOML files seed
//! `scenario`, and the Kea configurations inside them (`config = '''...'''`) seed
//! `kea_config`.

use dhcplab_fuzz_targets::{TARGETS, encode_records};
use dhcplab_testkit::{Dhcp, captures_under, files_under, own_pcaps, shared_pcaps, workspace_root};
use std::collections::BTreeMap;
use std::path::Path;

/// Captures larger than this seed `capture` only by their payloads' targets: libFuzzer's
/// inputs stay small enough to run quickly.
const MAX_CAPTURE_SEED: u64 = 256 * 1024;

/// The seeds of each target, by target name.
#[derive(Default)]
pub struct Seeds(pub BTreeMap<&'static str, Vec<Vec<u8>>>);

impl Seeds {
    /// Adds a seed of `target`.
    pub fn add(&mut self, target: &'static str, bytes: Vec<u8>) {
        self.0.entry(target).or_default().push(bytes);
    }

    /// Writes each target's seeds to `out/TARGET/`, named by a hash of their bytes.
    pub fn write(&self, out: &Path) -> std::io::Result<()> {
        for (name, _) in TARGETS {
            let dir = out.join(name);
            std::fs::create_dir_all(&dir)?;
            for bytes in self.0.get(name).into_iter().flatten() {
                std::fs::write(dir.join(format!("{:016x}", fnv1a(bytes))), bytes)?;
            }
        }
        Ok(())
    }
}

/// FNV-1a, 64 bits: a seed's file name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The DHCP payloads of `file` up to its first unreadable record, in order.
fn payloads(file: &Path) -> Vec<(Dhcp, Vec<u8>)> {
    let Ok(reader) = dhcplab_capture::CaptureReader::open(file) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for record in reader {
        let Ok(record) = record else {
            break;
        };
        let Some(link) = record.link_type else {
            continue;
        };
        if let Ok(dhcplab_frame::Decoded::Udp(d)) = dhcplab_frame::decode(link, &record.data)
            && let Some(dhcp) = d.dhcp()
        {
            out.push((dhcp, d.payload.to_vec()));
        }
    }
    out
}

/// The `'''`-quoted blocks of `text` that hold a Kea configuration.
fn kea_blocks(text: &str) -> Vec<String> {
    text.split("'''")
        .skip(1)
        .step_by(2)
        .filter(|b| b.contains("\"Dhcp4\"") || b.contains("\"Dhcp6\""))
        .map(str::to_owned)
        .collect()
}

/// Every seed of every target, collected from the project's files.
pub fn collect() -> Seeds {
    let mut seeds = Seeds::default();
    let mut files = captures_under(&own_pcaps());
    if let Some(shared) = shared_pcaps() {
        files.extend(captures_under(&shared));
    }
    for file in &files {
        if std::fs::metadata(file).is_ok_and(|m| m.len() <= MAX_CAPTURE_SEED)
            && let Ok(bytes) = std::fs::read(file)
        {
            seeds.add("capture", bytes);
        }
        let found = payloads(file);
        let mut v4: Vec<(u8, &[u8])> = Vec::new();
        let mut v6: Vec<(u8, &[u8])> = Vec::new();
        for (dhcp, bytes) in &found {
            let (wire, server, client, all) = match dhcp {
                Dhcp::V4 => ("wire_v4", "server4", "client4", &mut v4),
                Dhcp::V6 => ("wire_v6", "server6", "client6", &mut v6),
            };
            seeds.add(wire, bytes.clone());
            seeds.add(server, encode_records(0, &[(0, bytes)]));
            seeds.add(client, encode_records(0, &[(8, bytes)]));
            all.push((8, bytes));
        }
        for (server, client, all) in [("server4", "client4", &v4), ("server6", "client6", &v6)] {
            if all.len() > 1 {
                let all = &all[..all.len().min(32)];
                seeds.add(client, encode_records(0, all));
                let plain: Vec<(u8, &[u8])> = all.iter().map(|(_, b)| (0x10, *b)).collect();
                seeds.add(server, encode_records(0, &plain));
            }
        }
    }
    let root = workspace_root();
    for dir in ["scenarios", "conformance"] {
        for file in files_under(&root.join(dir), &["toml"]) {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            for block in kea_blocks(&text) {
                seeds.add("kea_config", block.into_bytes());
            }
            seeds.add("scenario", text.into_bytes());
        }
    }
    seeds
}
