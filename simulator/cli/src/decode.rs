//! `dhcplab decode`: every DHCP message of a capture as a readable block.

use dhcplab_capture::CaptureReader;
use dhcplab_dissect::{dissect_record, Summary};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Decodes each file in turn; a file that cannot be read as a capture prints one line on
/// stderr and makes the exit code 2, after the other files are done.
pub fn run(files: &[PathBuf]) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    for path in files {
        match decode_file(path, &mut out) {
            Ok(()) => {}
            Err(Failure::Capture(e)) => {
                let _ = out.flush();
                eprintln!("dhcplab decode: {}: {e}", path.display());
                failed = true;
            }
            // stdout closed (a pager quit, say): nothing more to print to.
            Err(Failure::Output) => return ExitCode::SUCCESS,
        }
    }
    if failed { ExitCode::from(2) } else { ExitCode::SUCCESS }
}

enum Failure {
    Capture(dhcplab_capture::CaptureError),
    Output,
}

fn decode_file(path: &Path, out: &mut impl Write) -> Result<(), Failure> {
    let reader = CaptureReader::open(path).map_err(Failure::Capture)?;
    let mut summary = Summary::default();
    let mut block = String::new();
    let mut result = Ok(());
    if writeln!(out, "# {}", path.display()).is_err() {
        return Err(Failure::Output);
    }
    for item in reader {
        match item {
            Ok(record) => {
                block.clear();
                summary.add(dissect_record(&record, &mut block));
                if out.write_all(block.as_bytes()).is_err() {
                    return Err(Failure::Output);
                }
            }
            Err(e) => {
                result = Err(Failure::Capture(e));
                break;
            }
        }
    }
    if writeln!(out, "# {summary}\n").is_err() {
        return Err(Failure::Output);
    }
    result
}
