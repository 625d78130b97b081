//! `dhcplab ctl SOCKET COMMAND [ARGUMENTS]`: sends one command to a Kea-style control socket
//! (the reference servers', kea-dhcp4's or kea-dhcp6's) and prints the answer, as kea-shell
//! does.
//!
//! Exit codes: 0 when the answer's result is 0 (success) or 3 (nothing found); 1 when it is 1
//! (error) or 2 (unsupported); 2 when the arguments are not JSON or the socket cannot be
//! reached.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `dhcplab ctl`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The control socket's path.
    socket: PathBuf,
    /// The command, as `lease4-get-all` or `lease6-get`.
    command: String,
    /// The command's arguments: a JSON map.
    arguments: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> ExitCode {
    let mut request = serde_json::json!({ "command": args.command });
    if let Some(text) = &args.arguments {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v @ serde_json::Value::Object(_)) => request["arguments"] = v,
            Ok(_) => {
                eprintln!(
                    "dhcplab ctl: the arguments must be a JSON map, as {{\"ip-address\": \"192.0.2.10\"}}"
                );
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!(
                    "dhcplab ctl: the arguments are not JSON: line {}, column {}: {e}",
                    e.line(),
                    e.column()
                );
                return ExitCode::from(2);
            }
        }
    }
    let timeout = Duration::from_secs(args.timeout);
    let answer = match dhcplab_adapters::exchange(&args.socket, timeout, &request.to_string()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("dhcplab ctl: {}: {e}", args.socket.display());
            return ExitCode::from(2);
        }
    };
    match serde_json::from_str::<serde_json::Value>(&answer) {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or(answer));
            match v.get("result").and_then(serde_json::Value::as_i64) {
                Some(0 | 3) => ExitCode::SUCCESS,
                _ => ExitCode::from(1),
            }
        }
        Err(_) => {
            println!("{answer}");
            eprintln!("dhcplab ctl: the answer is not JSON");
            ExitCode::from(1)
        }
    }
}
