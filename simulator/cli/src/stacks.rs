//! `dhcplab stacks`: every DHCP stack dhcplab knows, whether it is installed here, its version,
//! and the features a scenario may require of it.

use dhcplab_stacks::{Presence, STACKS};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `dhcplab stacks`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also write the list as JSON to this file (`-` for standard output, instead of the table).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Prints the table (and writes the JSON); exit 0, or 2 when the JSON cannot be written.
pub fn run(args: &Args) -> ExitCode {
    let found: Vec<_> = STACKS.iter().map(|s| (s, s.presence())).collect();
    let json =
        serde_json::to_string_pretty(&dhcplab_stacks::json(&found)).unwrap_or_default() + "\n";
    if let Some(path) = &args.json {
        if path.as_os_str() == "-" {
            print!("{json}");
            return ExitCode::SUCCESS;
        }
        if let Err(e) = std::fs::write(path, &json) {
            eprintln!("dhcplab stacks: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    println!(
        "{:<10} {:<7} {:<10} {:<24} {:<18} features",
        "stack", "role", "version", "program", "package"
    );
    for (s, p) in &found {
        let (version, program) = match p {
            Presence::BuiltIn { version } => (version.clone(), "built in (dhcplab)".to_string()),
            Presence::Installed { path, version } => (
                version.clone().unwrap_or_else(|| "?".into()),
                path.display().to_string(),
            ),
            Presence::Missing => ("-".into(), format!("{} not installed", s.program)),
        };
        println!(
            "{:<10} {:<7} {:<10} {:<24} {:<18} {}",
            s.name,
            s.role.name(),
            version,
            program,
            if s.package.is_empty() { "-" } else { s.package },
            s.features.join(", ")
        );
    }
    ExitCode::SUCCESS
}
