//! `dhcplab server`: `-t FILE` checks a Kea `Dhcp4` configuration as `kea-dhcp4 -t` does,
//! printing every fault with file, line, column and JSON path; running the server (`-c FILE`)
//! arrives with issue 4's daemon.

use dhcplab_kea_config::dhcp4;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `dhcplab server`.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Args {
    /// Check the configuration file and exit.
    #[arg(short = 't', value_name = "FILE")]
    test: Option<PathBuf>,
    /// Run the server with the configuration file.
    #[arg(short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> ExitCode {
    if let Some(path) = &args.test {
        return check(path);
    }
    eprintln!(
        "dhcplab server -c: the server daemon is not built yet (tracked in issue 4); -t checks a configuration"
    );
    ExitCode::from(crate::NOT_BUILT)
}

fn check(path: &PathBuf) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("dhcplab server: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    match dhcp4::parse(&text) {
        Ok(c) => {
            let pools: usize = c.subnets.iter().map(|s| s.pools.len()).sum();
            let reservations: usize = c.subnets.iter().map(|s| s.reservations.len()).sum();
            println!(
                "{}: configuration OK ({} subnets, {pools} pools, {reservations} reservations)",
                path.display(),
                c.subnets.len()
            );
            ExitCode::SUCCESS
        }
        Err(faults) => {
            for fault in &faults {
                eprintln!("{}:{fault}", path.display());
            }
            eprintln!(
                "{}: {} faults; configuration not accepted",
                path.display(),
                faults.len()
            );
            ExitCode::from(2)
        }
    }
}
