//! The run-script hook's scripts as the daemon runs them. Kea starts each and waits for none;
//! a script that hangs is never stopped, and under load one hangs per lease event until the
//! machine runs out of processes. The reference server bounds them: a script still running
//! after [`Bounds::term_after`] gets SIGTERM, its process group SIGKILL [`Bounds::kill_after`]
//! later (each script leads its own group, so what it started goes too), and at most
//! [`Bounds::max_running`] run at once: one more is not started, and the log says so.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How often the reaper looks at the scripts running.
const POLL: Duration = Duration::from_millis(100);

/// The limits on scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    /// How long a script may run before SIGTERM.
    pub term_after: Duration,
    /// How long after SIGTERM its process group gets SIGKILL.
    pub kill_after: Duration,
    /// Scripts running at once.
    pub max_running: usize,
}

impl Default for Bounds {
    /// 60 s, then 5 s, and 256 at once: a script that tells a lease to another system has a
    /// minute; 256 hung at once mean the script is broken, not slow.
    fn default() -> Self {
        Self {
            term_after: Duration::from_secs(60),
            kill_after: Duration::from_secs(5),
            max_running: 256,
        }
    }
}

/// Why a script was not started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScriptError {
    /// [`Bounds::max_running`] scripts still run.
    #[error("not started: {0} scripts are still running")]
    TooMany(usize),
    /// The program could not be started.
    #[error("{0}")]
    Spawn(#[from] std::io::Error),
}

/// A script started, as the reaper follows it.
struct Running {
    child: Child,
    started: Instant,
    termed: bool,
}

/// Starts scripts and stops those that overstay; one thread follows them all.
pub(crate) struct Reaper {
    bounds: Bounds,
    running: Arc<AtomicUsize>,
    started: Mutex<mpsc::Sender<Running>>,
}

impl Reaper {
    /// A reaper with `bounds`, and its thread.
    pub(crate) fn new(bounds: Bounds) -> Self {
        let (tx, rx) = mpsc::channel::<Running>();
        let running = Arc::new(AtomicUsize::new(0));
        let count = running.clone();
        std::thread::spawn(move || follow(&rx, bounds, &count));
        Self {
            bounds,
            running,
            started: Mutex::new(tx),
        }
    }

    /// Starts `command` in a process group of its own, unless too many scripts run; its
    /// process id.
    pub(crate) fn start(&self, mut command: Command) -> Result<u32, ScriptError> {
        let now = self.running.load(Ordering::SeqCst);
        if now >= self.bounds.max_running {
            return Err(ScriptError::TooMany(now));
        }
        let child = command.process_group(0).spawn()?;
        let pid = child.id();
        self.running.fetch_add(1, Ordering::SeqCst);
        if let Ok(tx) = self.started.lock() {
            let _ = tx.send(Running {
                child,
                started: Instant::now(),
                termed: false,
            });
        }
        Ok(pid)
    }
}

/// The reaper's thread: reaps scripts that ended, signals those that overstay.
fn follow(rx: &mpsc::Receiver<Running>, bounds: Bounds, count: &AtomicUsize) {
    let mut running: Vec<Running> = Vec::new();
    loop {
        match rx.recv_timeout(POLL) {
            Ok(r) => running.push(r),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) if running.is_empty() => return,
            Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
        running.retain_mut(|r| {
            if !matches!(r.child.try_wait(), Ok(None)) {
                count.fetch_sub(1, Ordering::SeqCst);
                return false;
            }
            let age = r.started.elapsed();
            let group = Pid::from_raw(i32::try_from(r.child.id()).unwrap_or(i32::MAX));
            if age >= bounds.term_after + bounds.kill_after {
                tracing::warn!(
                    "run-script: script {} killed: still running {:?} after SIGTERM",
                    r.child.id(),
                    bounds.kill_after
                );
                let _ = killpg(group, Signal::SIGKILL);
            } else if age >= bounds.term_after && !r.termed {
                tracing::warn!(
                    "run-script: script {} still running after {:?}: SIGTERM",
                    r.child.id(),
                    bounds.term_after
                );
                let _ = killpg(group, Signal::SIGTERM);
                r.termed = true;
            }
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: u32) -> bool {
        // A zombie is reaped by the reaper's thread; until then /proc shows state Z.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    }

    fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        done()
    }

    fn sh(script: &str) -> Command {
        let mut c = Command::new("/bin/sh");
        c.args(["-c", script]);
        c
    }

    const SHORT: Bounds = Bounds {
        term_after: Duration::from_millis(300),
        kill_after: Duration::from_millis(300),
        max_running: 2,
    };

    #[test]
    fn a_hung_script_is_terminated() {
        let r = Reaper::new(SHORT);
        let pid = r.start(sh("exec sleep 100")).expect("started");
        assert!(alive(pid));
        assert!(wait_until(Duration::from_secs(5), || !alive(pid)));
        assert!(wait_until(Duration::from_secs(5), || r
            .running
            .load(Ordering::SeqCst)
            == 0));
    }

    #[test]
    fn a_script_ignoring_sigterm_is_killed_with_what_it_started() {
        let r = Reaper::new(SHORT);
        let dir = tempfile::tempdir().expect("temp dir");
        let pidfile = dir.path().join("child.pid");
        let pid = r
            .start(sh(&format!(
                "trap '' TERM; sleep 100 & echo $! > {}; wait",
                pidfile.display()
            )))
            .expect("started");
        assert!(wait_until(Duration::from_secs(5), || pidfile.exists()));
        let child: u32 = wait_until(Duration::from_secs(5), || {
            std::fs::read_to_string(&pidfile).is_ok_and(|t| t.trim().parse::<u32>().is_ok())
        })
        .then(|| std::fs::read_to_string(&pidfile).ok())
        .flatten()
        .and_then(|t| t.trim().parse().ok())
        .expect("the script's child");
        assert!(wait_until(Duration::from_secs(5), || !alive(pid)));
        assert!(wait_until(Duration::from_secs(5), || !alive(child)));
    }

    #[test]
    fn scripts_past_the_limit_are_not_started() {
        let r = Reaper::new(Bounds {
            term_after: Duration::from_secs(30),
            ..SHORT
        });
        let a = r.start(sh("exec sleep 5")).expect("first");
        let b = r.start(sh("exec sleep 5")).expect("second");
        assert!(matches!(
            r.start(sh("exec sleep 5")),
            Err(ScriptError::TooMany(2))
        ));
        for pid in [a, b] {
            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        assert!(wait_until(Duration::from_secs(5), || r
            .running
            .load(Ordering::SeqCst)
            == 0));
        assert!(r.start(sh("exit 0")).is_ok());
    }
}
