//! `dhcplab clean`: removes what killed runs left behind: every `dhcplab-` network namespace,
//! with the processes in it (their TAP devices go with them), and the hook files of virtual
//! runs whose process is gone.

use std::process::ExitCode;

/// Removes the leftovers and names each namespace removed.
pub fn run() -> ExitCode {
    let removed = dhcplab_tap::clean();
    for ns in &removed {
        println!("removed namespace {ns}");
    }
    let dirs = dhcplab_runner::hookfiles::clean_hook_dirs(&std::env::temp_dir());
    for d in &dirs {
        println!("removed directory {}", d.display());
    }
    if removed.is_empty() && dirs.is_empty() {
        println!("nothing to clean");
    }
    ExitCode::SUCCESS
}
