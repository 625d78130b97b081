//! `dhcplab decode`: every DHCP message of a capture as a readable block.

use dhcplab_dissect::{DissectError, dissect_capture};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Decodes each file in turn; a file that cannot be read as a capture prints one line on
/// stderr and makes the exit code 2, after the other files are done.
pub fn run(files: &[PathBuf]) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    for path in files {
        if writeln!(out, "# {}", path.display()).is_err() {
            return ExitCode::SUCCESS;
        }
        match dissect_capture(path, &mut out) {
            Ok(_) => {}
            Err(DissectError::Capture(e)) => {
                let _ = out.flush();
                eprintln!("dhcplab decode: {}: {e}", path.display());
                failed = true;
            }
            // stdout closed (a pager quit, say): nothing more to print to.
            Err(DissectError::Output(_)) => return ExitCode::SUCCESS,
        }
    }
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
