//! Writes the seed corpora of the fuzz targets, one folder per target under OUTDIR:
//! `cargo run -p dhcplab-fuzz-targets --example seeds -- OUTDIR`. Seeds are named by a hash of
//! their bytes, so a payload seen twice is written once; `seeds/collect.rs` says where they
//! come from.

#[path = "../seeds/collect.rs"]
mod collect;

use dhcplab_fuzz_targets::TARGETS;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: seeds OUTDIR");
        return ExitCode::from(2);
    };
    let seeds = collect::collect();
    if let Err(e) = seeds.write(&out) {
        eprintln!("{}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    for (name, _) in TARGETS {
        let n = seeds.0.get(name).map_or(0, Vec::len);
        println!("{name}: {n} seeds");
    }
    ExitCode::SUCCESS
}
