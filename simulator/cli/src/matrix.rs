//! `dhcplab matrix`: every installed server against every installed client across the TAP
//! switch, each pair through the interop checks (DORA, renew, release; with `--v6` the DHCPv6
//! forms of the stacks through SARR, renew, release, the stacks without DHCPv6 shown skipped
//! with the reason). Needs root. Exit 0 when
//! no check failed, 1 when one did, 2 on bad arguments or when the network cannot be built.
//! Ctrl-C (or SIGTERM, SIGHUP) removes the namespaces and stacks of the pair running, then
//! exits with 128 + the signal's number.

use dhcplab_adapters::clients::Client;
use dhcplab_adapters::servers::Server;
use dhcplab_interop::Verdict;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `dhcplab matrix`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only these servers (reference, kea, dhcpd, dnsmasq; with --v6 kea is kea-dhcp6, also
    /// named kea6 as `dhcplab stacks` lists it); default: every installed one.
    #[arg(long = "server", value_name = "NAME")]
    servers: Vec<String>,
    /// Only these clients (reference, dhclient, udhcpc, dhcpcd); default: every installed one.
    #[arg(long = "client", value_name = "NAME")]
    clients: Vec<String>,
    /// Write the matrix as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the matrix as one HTML page to this file.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// DHCPv6: the reference server, kea-dhcp6, dhcpd -6 and dnsmasq against the reference agent,
    /// dhclient -6 and dhcpcd -6 (udhcpc has no DHCPv6: skipped).
    #[arg(long)]
    v6: bool,
    /// Keep every stack's files (configurations, leases, logs) under DIR.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

fn installed(program: &str) -> bool {
    dhcplab_stacks::locate(program).is_some()
}

/// The name `dhcplab stacks` gives the DHCPv6 form of `server` (`kea6` for kea-dhcp6), by
/// its program.
fn v6_stack_name(server: Server) -> Option<&'static str> {
    let program = server.program6();
    dhcplab_stacks::STACKS
        .iter()
        .find(|s| s.role == dhcplab_stacks::Role::Server && s.program == program)
        .map(|s| s.name)
}

/// Runs the matrix.
pub fn run(args: &Args) -> ExitCode {
    if let Err(e) = dhcplab_tap::remove_on_interrupt() {
        eprintln!("dhcplab matrix: {e}");
        return ExitCode::from(2);
    }
    let pick_servers: Result<Vec<Server>, String> = if args.servers.is_empty() {
        Ok(Server::ALL
            .into_iter()
            .filter(|s| {
                *s == Server::Reference
                    || if args.v6 {
                        installed(s.program6())
                    } else {
                        installed(s.program())
                    }
            })
            .collect())
    } else {
        args.servers
            .iter()
            .map(|n| {
                Server::ALL
                    .into_iter()
                    .find(|s| s.name() == n || (args.v6 && v6_stack_name(*s) == Some(n)))
                    .ok_or_else(|| {
                        format!("unknown server {n:?}: reference, kea, dhcpd or dnsmasq")
                    })
            })
            .collect()
    };
    let pick_clients: Result<Vec<Client>, String> = if args.clients.is_empty() {
        Ok(Client::ALL
            .into_iter()
            .filter(|c| match c {
                Client::Reference => true,
                Client::Real(r) => installed(r.program()),
            })
            .collect())
    } else {
        args.clients
            .iter()
            .map(|n| {
                Client::ALL
                    .into_iter()
                    .find(|c| c.name() == n)
                    .ok_or_else(|| {
                        format!("unknown client {n:?}: reference, dhclient, udhcpc or dhcpcd")
                    })
            })
            .collect()
    };
    let (servers, clients) = match (pick_servers, pick_clients) {
        (Ok(s), Ok(c)) => (s, c),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("dhcplab matrix: {e}");
            return ExitCode::from(2);
        }
    };
    // Without --dir, a private directory of our own (mode 0700, a name nobody could take
    // first), removed at the end and on an interrupt.
    let temp = match &args.dir {
        Some(_) => None,
        None => match tempfile::Builder::new().prefix("dhcplab-matrix-").tempdir() {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("dhcplab matrix: cannot make a directory for the run: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let root = match (&args.dir, &temp) {
        (Some(d), _) => d.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => return ExitCode::from(2),
    };
    if temp.is_some() {
        dhcplab_tap::remove_dir_on_interrupt(&root);
    }
    let dhcplab = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("dhcplab matrix: cannot find this binary: {e}");
            return ExitCode::from(2);
        }
    };
    let mut cells = Vec::new();
    for s in &servers {
        for c in &clients {
            let dir = dhcplab_interop::pair_dir(&root, *s, *c);
            // A pair starts from nothing: no lease a client or server kept from a run before.
            if dir.exists()
                && let Err(e) = std::fs::remove_dir_all(&dir)
            {
                eprintln!("dhcplab matrix: {}: {e}", dir.display());
                return ExitCode::from(2);
            }
            if let Err(e) = std::fs::create_dir_all(&dir) {
                eprintln!("dhcplab matrix: {}: {e}", dir.display());
                return ExitCode::from(2);
            }
            eprintln!("{} x {} ...", s.name(), c.name());
            cells.push(if args.v6 {
                dhcplab_interop::run_pair6(*s, *c, &dhcplab, &dir)
            } else {
                dhcplab_interop::run_pair(*s, *c, &dhcplab, &dir)
            });
        }
    }
    drop(temp);
    print!("{}", dhcplab_interop::table(&cells, &servers, &clients));
    let mut failed_write = false;
    let json =
        serde_json::to_string_pretty(&dhcplab_interop::json(&cells)).unwrap_or_default() + "\n";
    for (path, text) in [
        (&args.json, json),
        (
            &args.html,
            dhcplab_interop::html(&cells, &servers, &clients),
        ),
    ] {
        if let Some(p) = path
            && let Err(e) = std::fs::write(p, text)
        {
            eprintln!("dhcplab matrix: {}: {e}", p.display());
            failed_write = true;
        }
    }
    let network = cells.iter().any(|c| {
        c.results
            .iter()
            .any(|(_, v, _)| matches!(v, Verdict::Fail(w) if w.starts_with(dhcplab_interop::NETWORK_FAILED)))
    });
    if network || failed_write {
        ExitCode::from(2)
    } else if cells.iter().all(dhcplab_interop::Cell::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
