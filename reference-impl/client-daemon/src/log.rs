//! The agent's messages in dhcpagent's categories: critical, error, warning and
//! informational always; debug at `-d 1` and above; each datagram sent and received with
//! `-v`. In the foreground (`-f`) they go to standard error, else to syslog (facility
//! daemon) through /dev/log, and are lost when no syslog daemon listens, as dhcpagent's are.

use dhcplab_client::Level;
use std::io::Write;
use std::os::unix::net::UnixDatagram;

/// Where messages go and which are kept.
#[derive(Debug)]
pub struct Logger {
    syslog: Option<UnixDatagram>,
    debug: u8,
    verbose: bool,
}

impl Logger {
    /// A logger: to standard error when `foreground`, else to syslog.
    pub fn new(foreground: bool, debug: u8, verbose: bool) -> Self {
        let syslog = (!foreground)
            .then(|| {
                let s = UnixDatagram::unbound().ok()?;
                s.connect("/dev/log").ok()?;
                Some(s)
            })
            .flatten();
        Self {
            syslog,
            debug,
            verbose,
        }
    }

    /// True when `-v` asked for each datagram.
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// Logs `text` about interface `interface` (empty for the agent itself).
    pub fn log(&self, level: Level, interface: &str, text: &str) {
        if level == Level::Debug && self.debug == 0 {
            return;
        }
        let (name, severity) = match level {
            Level::Critical => ("critical", 2),
            Level::Error => ("error", 3),
            Level::Warning => ("warning", 4),
            Level::Informational => ("informational", 6),
            Level::Debug => ("debug", 7),
        };
        let line = if interface.is_empty() {
            format!("{name}: {text}")
        } else {
            format!("{name}: {interface}: {text}")
        };
        match &self.syslog {
            Some(s) => {
                // Facility daemon (3).
                let _ = s.send(
                    format!(
                        "<{}>dhcplab-agent[{}]: {line}",
                        3 * 8 + severity,
                        std::process::id()
                    )
                    .as_bytes(),
                );
            }
            None => {
                let _ = writeln!(std::io::stderr().lock(), "dhcplab agent: {line}");
            }
        }
    }
}
