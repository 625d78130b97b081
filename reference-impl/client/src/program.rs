//! The event program's supervision, as dhcpagent does it: one run at a time per interface, in
//! event order; SIGTERM when a run lasts 55 s, SIGKILL 3 s later (both configurable, so a
//! daemon test in real time need not wait a minute). The DHCPv6 client core
//! (`dhcplab-client6`) runs its events through the same supervisor.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// How long a run may last before it gets SIGTERM.
pub const TERM_AFTER: Duration = Duration::from_secs(55);
/// How long after SIGTERM a run gets SIGKILL.
pub const KILL_AFTER: Duration = Duration::from_secs(3);

/// An event the client reports to its event program, by dhcpagent's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// An address was configured from a new lease.
    Bound,
    /// The lease was extended (renewed, rebound or re-validated).
    Extend,
    /// The lease expired; its address is gone.
    Expire,
    /// The lease was dropped (by command, on a NAK, or on SIGTERM without release); its
    /// address is gone.
    Drop,
    /// The lease was released to the server; its address is gone.
    Release,
    /// Configuration was obtained with DHCPINFORM.
    Inform,
    /// DHCPv6: a binding's addresses and prefixes are configured and DAD found no other
    /// holder of the addresses (dhcpagent's dhcp_bound_complete); also after a Confirm that
    /// kept them (link up, resume, restart).
    Bound6,
    /// DHCPv6: a Renew, Rebind or Request reply extended the binding.
    Extend6,
    /// DHCPv6: the last addresses and prefixes of the binding are gone (expired, or taken
    /// away by the server).
    Expire6,
    /// DHCPv6: the binding was dropped (by command, on stop, on NotOnLink, or for a duplicate
    /// address found after BOUND6); its addresses and prefixes are gone.
    Drop6,
    /// DHCPv6: the binding was released to the server; its addresses and prefixes are gone.
    Release6,
    /// DHCPv6: configuration was obtained with an Information-request.
    Inform6,
    /// DHCPv6: some, but not all, of the binding's addresses or prefixes were lost (one
    /// expired, or a reply took it away).
    Loss6,
}

impl Event {
    /// The name the event program gets as its second argument.
    pub fn name(self) -> &'static str {
        match self {
            Event::Bound => "BOUND",
            Event::Extend => "EXTEND",
            Event::Expire => "EXPIRE",
            Event::Drop => "DROP",
            Event::Release => "RELEASE",
            Event::Inform => "INFORM",
            Event::Bound6 => "BOUND6",
            Event::Extend6 => "EXTEND6",
            Event::Expire6 => "EXPIRE6",
            Event::Drop6 => "DROP6",
            Event::Release6 => "RELEASE6",
            Event::Inform6 => "INFORM6",
            Event::Loss6 => "LOSS6",
        }
    }
}

/// A signal for a run of the event program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM, when a run has lasted [`TERM_AFTER`] (or the configured time).
    Term,
    /// SIGKILL, [`KILL_AFTER`] (or the configured time) after SIGTERM.
    Kill,
}

/// What the supervisor asks of the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// Run the event program for `event`; the run is numbered `run`.
    Run {
        /// The run's number.
        run: u64,
        /// The event.
        event: Event,
    },
    /// Send `signal` to run `run`.
    Signal {
        /// The run's number.
        run: u64,
        /// The signal.
        signal: Signal,
    },
}

#[derive(Debug)]
struct Running {
    run: u64,
    term_at: SystemTime,
    kill_at: Option<SystemTime>,
    killed: bool,
}

/// The queue of events and the run in progress: one interface's event program supervisor.
#[derive(Debug)]
pub struct Programs {
    term_after: Duration,
    kill_after: Duration,
    queue: VecDeque<Event>,
    running: Option<Running>,
    runs: u64,
}

impl Programs {
    /// A supervisor that sends SIGTERM after `term_after` and SIGKILL `kill_after` later.
    pub fn new(term_after: Duration, kill_after: Duration) -> Self {
        Self {
            term_after,
            kill_after,
            queue: VecDeque::new(),
            running: None,
            runs: 0,
        }
    }

    /// Queues `event`; starts it when nothing runs.
    pub fn push(&mut self, now: SystemTime, event: Event, out: &mut VecDeque<Order>) {
        self.queue.push_back(event);
        self.start_next(now, out);
    }

    fn start_next(&mut self, now: SystemTime, out: &mut VecDeque<Order>) {
        if self.running.is_some() {
            return;
        }
        if let Some(event) = self.queue.pop_front() {
            self.runs += 1;
            self.running = Some(Running {
                run: self.runs,
                term_at: now + self.term_after,
                kill_at: None,
                killed: false,
            });
            out.push_back(Order::Run {
                run: self.runs,
                event,
            });
        }
    }

    /// Run `run` ended: the next event starts.
    pub fn exited(&mut self, now: SystemTime, run: u64, out: &mut VecDeque<Order>) {
        if self.running.as_ref().is_some_and(|r| r.run == run) {
            self.running = None;
            self.start_next(now, out);
        }
    }

    /// Signals a run that has lasted too long.
    pub fn on_timeout(&mut self, now: SystemTime, out: &mut VecDeque<Order>) {
        let Some(r) = self.running.as_mut() else {
            return;
        };
        match r.kill_at {
            None if now >= r.term_at => {
                r.kill_at = Some(r.term_at + self.kill_after);
                out.push_back(Order::Signal {
                    run: r.run,
                    signal: Signal::Term,
                });
            }
            Some(at) if now >= at && !r.killed => {
                r.killed = true;
                out.push_back(Order::Signal {
                    run: r.run,
                    signal: Signal::Kill,
                });
            }
            _ => {}
        }
    }

    /// When a run next needs a signal.
    pub fn deadline(&self) -> Option<SystemTime> {
        let r = self.running.as_ref()?;
        match r.kill_at {
            None => Some(r.term_at),
            Some(_) if r.killed => None,
            Some(at) => Some(at),
        }
    }
}
