//! Runs of the event program, as dhcpagent starts them: `PROGRAM IF EVENT` with argv[0]
//! `eventhook`, standard input, output and error on /dev/null, the agent's environment. Each
//! run gets its own process group, so the TERM and KILL the client orders reach whatever the
//! program started too. A program that does not exist or is not executable is not run, and
//! the run counts as ended at once.

use crate::log::Logger;
use dhcplab_client::{Event, Level, Order, Signal};
use nix::sys::signal::{Signal as NixSignal, killpg};
use nix::unistd::{AccessFlags, Pid, access};
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::sync::mpsc;

/// The event program and its runs in progress.
#[derive(Debug)]
pub struct Programs {
    path: PathBuf,
    running: HashMap<u64, Pid>,
}

impl Programs {
    /// Runs of the program at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            running: HashMap::new(),
        }
    }

    /// Starts run `run` for `event` on `interface`; its number goes to `exits` when it ends.
    /// `Ok(false)` when there is no program to run.
    pub fn start(
        &mut self,
        run: u64,
        interface: &str,
        event: Event,
        exits: mpsc::UnboundedSender<u64>,
    ) -> io::Result<bool> {
        if access(&self.path, AccessFlags::X_OK).is_err() {
            return Ok(false);
        }
        let mut child = tokio::process::Command::new(&self.path)
            .arg0("eventhook")
            .args([interface, event.name()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
            self.running.insert(run, Pid::from_raw(pid));
        }
        tokio::spawn(async move {
            let _ = child.wait().await;
            let _ = exits.send(run);
        });
        Ok(true)
    }

    /// Carries out `order` of interface `interface`'s client, logging what fails; the run that
    /// counts as ended at once (no program, or it could not start), which the client must be
    /// told of.
    pub fn carry(
        &mut self,
        order: Order,
        interface: &str,
        exits: &mpsc::UnboundedSender<u64>,
        log: &Logger,
    ) -> Option<u64> {
        match order {
            Order::Run { run, event } => match self.start(run, interface, event, exits.clone()) {
                Ok(true) => None,
                Ok(false) => Some(run),
                Err(e) => {
                    log.log(
                        Level::Error,
                        interface,
                        &format!("event program for {}: {e}", event.name()),
                    );
                    Some(run)
                }
            },
            Order::Signal { run, signal } => {
                log.log(
                    Level::Warning,
                    interface,
                    &format!("event program still running: sending {signal:?}"),
                );
                if let Err(e) = self.signal(run, signal) {
                    log.log(
                        Level::Error,
                        interface,
                        &format!("signal event program: {e}"),
                    );
                }
                None
            }
        }
    }

    /// Run `run` ended.
    pub fn ended(&mut self, run: u64) {
        self.running.remove(&run);
    }

    /// Sends `signal` to run `run`'s process group.
    pub fn signal(&self, run: u64, signal: Signal) -> nix::Result<()> {
        let Some(pid) = self.running.get(&run) else {
            return Ok(());
        };
        let signal = match signal {
            Signal::Term => NixSignal::SIGTERM,
            Signal::Kill => NixSignal::SIGKILL,
        };
        killpg(*pid, signal)
    }
}
