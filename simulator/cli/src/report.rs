//! `dhcplab report merge`: joins the JSON of the parts of a split conformance run
//! (`--partition K/N` on N machines) into one result, with the same summary, files and exit
//! code as a whole run. Parts of different runs, or a missing or doubled part, are refused.

use crate::conformance::{Outputs, verdict, write_outputs};
use dhcplab_report::{merge, sections};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `dhcplab report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Merge the JSON of every part of a split conformance run.
    Merge {
        /// The parts' JSON files (`dhcplab conformance --partition K/N --json FILE`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        outputs: Outputs,
    },
}

/// Runs `dhcplab report`.
pub fn run(args: &Args) -> ExitCode {
    let Command::Merge { files, outputs } = &args.command;
    let mut parts = Vec::new();
    for f in files {
        match merge::read(f) {
            Ok((info, suite)) => parts.push((f.clone(), info, suite)),
            Err(e) => {
                eprintln!("dhcplab report merge: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let (info, suite) = match merge::merge(parts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("dhcplab report merge: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", sections::table(&suite));
    println!(
        "{} {} checks of {} selected, from {} parts",
        suite.cases.len(),
        info.tests.name(),
        info.selected,
        files.len()
    );
    let written = write_outputs(&info, &suite, outputs, "dhcplab report merge");
    verdict(&suite, !written)
}
