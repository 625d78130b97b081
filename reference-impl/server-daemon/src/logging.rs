//! Logging as the configuration's `loggers` ask: the first logger's severity and output
//! (`stdout`, `stderr`, or a file, appended to). Kea's `syslog` outputs go to standard error.

use crate::DaemonError;
use dhcplab_kea_config::dhcp4::Logger;
use std::fs::OpenOptions;
use std::sync::Mutex;
use tracing::level_filters::LevelFilter;

/// Keeps logging set up while held.
pub(crate) struct Guard;

/// Sets up the global subscriber; `debug` forces debug level on standard error.
pub(crate) fn init(loggers: &[Logger], debug: bool) -> Result<Guard, DaemonError> {
    let logger = loggers.first();
    let level = if debug {
        LevelFilter::DEBUG
    } else {
        match logger.map(|l| l.severity.as_str()) {
            Some("FATAL" | "ERROR") => LevelFilter::ERROR,
            Some("WARN") => LevelFilter::WARN,
            Some("DEBUG") => LevelFilter::DEBUG,
            Some("NONE") => LevelFilter::OFF,
            _ => LevelFilter::INFO,
        }
    };
    let output = if debug {
        None
    } else {
        logger.and_then(|l| l.outputs.first()).cloned()
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false);
    let result = match output.as_deref() {
        Some("stdout") => builder
            .with_writer(std::io::stdout)
            .with_ansi(false)
            .try_init(),
        None | Some("stderr") => builder.with_writer(std::io::stderr).try_init(),
        Some(s) if s.starts_with("syslog") => builder.with_writer(std::io::stderr).try_init(),
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| DaemonError::Logging(format!("{path}: {e}")))?;
            builder
                .with_writer(Mutex::new(file))
                .with_ansi(false)
                .try_init()
        }
    };
    // Set up already (a test running two servers in one process): keep the first.
    let _ = result;
    Ok(Guard)
}
