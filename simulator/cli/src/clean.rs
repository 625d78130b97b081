//! `dhcplab clean`: removes what killed runs left behind: every `dhcplab-` network namespace,
//! with the processes in it (their TAP devices go with them).

use std::process::ExitCode;

/// Removes the leftovers and names each namespace removed.
pub fn run() -> ExitCode {
    let removed = dhcplab_tap::clean();
    for ns in &removed {
        println!("removed namespace {ns}");
    }
    if removed.is_empty() {
        println!("nothing to clean");
    }
    ExitCode::SUCCESS
}
