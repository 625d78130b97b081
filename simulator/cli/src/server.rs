//! `dhcplab server`: `-t FILE` checks a Kea configuration as `kea-dhcp4 -t` or `kea-dhcp6 -t`
//! does (a `Dhcp6` map is the DHCPv6 server's, else it is the DHCPv4 server's), printing every
//! fault with file, line, column and JSON path (hooks libraries are opened and their version
//! checked, not run); `-c FILE` runs the reference server of that family with it until
//! SIGTERM.

use dhcplab_kea_config::dhcp4;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `dhcplab server`.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false, id = "mode")]
pub struct Args {
    /// Check the configuration file and exit.
    #[arg(short = 't', value_name = "FILE", group = "mode")]
    test: Option<PathBuf>,
    /// Run the server with the configuration file.
    #[arg(short = 'c', value_name = "FILE", group = "mode")]
    config: Option<PathBuf>,
    /// Log at debug level on standard error.
    #[arg(short = 'd')]
    debug: bool,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> ExitCode {
    if let Some(path) = &args.test {
        return check(path);
    }
    // No transparent huge pages for the daemon: mimalloc asks for them on its arenas, and each
    // 2 MiB page the server touches then stays resident: 317 bytes per lease at 60,000 leases
    // with them, 167-175 without (159 on glibc's malloc). Where the call fails, the system's
    // setting stays.
    let _ = nix::sys::prctl::set_thp_disable(true);
    let Some(config) = &args.config else {
        return ExitCode::from(2);
    };
    let options = dhcplab_server_daemon::Options {
        config: config.clone(),
        debug: args.debug,
    };
    match dhcplab_server_daemon::run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dhcplab server: {e}");
            ExitCode::from(match e {
                dhcplab_server_daemon::DaemonError::ReadConfig { .. }
                | dhcplab_server_daemon::DaemonError::NotUtf8 { .. }
                | dhcplab_server_daemon::DaemonError::Config { .. } => 2,
                _ => 1,
            })
        }
    }
}

/// `--check`: parses the configuration and reports its errors without serving.
fn check(path: &Path) -> ExitCode {
    let text = match dhcplab_server_daemon::read_config_text(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("dhcplab server: {e}");
            return ExitCode::from(2);
        }
    };
    if dhcplab_server_daemon::family(&text) == dhcplab_server_daemon::Family::V6 {
        return check6(path, &text);
    }
    match dhcp4::parse(&text) {
        Ok(c) => {
            let mut loader = dhcplab_hook_loader::CheckingLoader;
            if let Err(e) = dhcplab_server::hooks::check(&c.hooks_libraries, &mut loader) {
                eprintln!("{}:{e}", path.display());
                eprintln!("{}: configuration not accepted", path.display());
                return ExitCode::from(2);
            }
            let pools: usize = c.subnets.iter().map(|s| s.pools.len()).sum();
            let reservations: usize = c.subnets.iter().map(|s| s.reservations.len()).sum();
            println!(
                "{}: configuration OK ({} subnets, {pools} pools, {reservations} reservations)",
                path.display(),
                c.subnets.len()
            );
            ExitCode::SUCCESS
        }
        Err(faults) => refused(path, faults.iter().map(ToString::to_string)),
    }
}

/// `-t` of a `Dhcp6` file.
fn check6(path: &Path, text: &str) -> ExitCode {
    match dhcplab_server_daemon::v6::check(text) {
        Ok(c) => {
            println!(
                "{}: configuration OK ({} subnets, {} pools, {} pd-pools, {} reservations)",
                path.display(),
                c.subnets,
                c.pools,
                c.pd_pools,
                c.reservations
            );
            ExitCode::SUCCESS
        }
        Err(faults) => refused(path, faults.into_iter()),
    }
}

/// Prints every fault, each after the file's name, and the count; exit code 2.
fn refused(path: &Path, faults: impl Iterator<Item = String>) -> ExitCode {
    let mut n = 0;
    for fault in faults {
        eprintln!("{}:{fault}", path.display());
        n += 1;
    }
    eprintln!("{}: {n} faults; configuration not accepted", path.display());
    ExitCode::from(2)
}
