//! Virtual mode: a scenario's hosts run in one process on the virtual network, in virtual
//! time. Servers are the reference server core, clients the reference client core, peers send
//! what the scenario crafts. The clock jumps from one deadline to the next, so a week of lease
//! life takes milliseconds, and everything random comes from the seed: the same seed, scenario
//! and build give the same timeline and the same pcap bytes.
//!
//! Whatever its steps say, a run fails when two clients configure one address while they can
//! reach each other, when it gets stuck (hosts working without time passing), or when it goes
//! past [`MAX_VIRTUAL_TIME`] or [`MAX_WORK`].
//!
//! What virtual mode simplifies, on purpose:
//! - ARP is answered from the table of addresses hosts hold (as if every cache were warm), and
//!   an ARP probe is answered at once, by a host that can reach the prober;
//! - a broadcast reaches only the hosts with a socket on its UDP port;
//! - the event program exits as soon as it starts;
//! - the pcap records each frame once, when it is put on the link, not once per receiver.

mod matcher;
mod minimize;
mod world;

pub use matcher::{Seen, check, kind_of, passes, show, value};
pub use minimize::{MAX_RUNS, Minimized, minimize};

use dhcplab_client::HostEvent;
use dhcplab_scenario::{
    Act, AddrRef, Expect, Filter, Scenario, Step, To, What, When, format_duration,
};
use dhcplab_timeline::{Entry, Timeline};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use world::{Node, World};

/// Virtual time zero: 2027-01-15 08:00:00 UTC, a fixed instant so runs repeat.
pub const START_SECS: u64 = 1_800_000_000;
/// The longest run: a step later than this fails the scenario.
pub const MAX_VIRTUAL_TIME: Duration = dhcplab_scenario::MAX_DURATION;
pub use world::MAX_WORK;

/// How a run is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The seed for every random draw.
    pub seed: u64,
    /// Record the run on the timeline (frames, events, actions, checks), for the pcap and the
    /// ladder.
    pub record: bool,
}

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every expectation held.
    Passed,
    /// An expectation failed, or an invariant broke.
    Failed,
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Passed or failed.
    pub status: Status,
    /// Why it failed (step, line, expected, seen), or a one-line summary when it passed.
    pub message: String,
    /// Virtual time the run covered.
    pub covered: Duration,
    /// Steps carried out.
    pub steps_done: usize,
    /// The index of the step that failed, or after which an invariant broke.
    pub failed_step: Option<usize>,
    /// Everything that happened.
    pub timeline: Timeline,
}

/// Runs `scenario` in virtual time.
pub fn run(scenario: &Scenario, options: Options) -> Outcome {
    let start = UNIX_EPOCH + Duration::from_secs(START_SECS);
    let keep_log = scenario.steps.iter().any(|s| {
        matches!(
            s.what,
            What::Expect(Expect::Message { .. } | Expect::Nothing { .. })
        )
    });
    let mut r = Runner {
        world: World::new(scenario, options.seed, start, options.record, keep_log),
        vars: BTreeMap::new(),
        cursor: 0,
        step_end: start,
    };
    let mut failure = None;
    let mut done = 0;
    for (n, step) in scenario.steps.iter().enumerate() {
        if let Err(why) = r.step(step) {
            let why = r.world.stuck.clone().unwrap_or(why);
            let text = format!("step {} (line {}): {why}", n + 1, step.place.line);
            r.world.timeline.push(
                r.world.now,
                Entry::Check {
                    passed: false,
                    text: text.clone(),
                },
            );
            failure = Some((n, text));
            break;
        }
        done += 1;
        if let Some(v) = r.world.violations.first() {
            failure = Some((
                n,
                format!("after step {} (line {}): {v}", n + 1, step.place.line),
            ));
            break;
        }
        if let Some(s) = &r.world.stuck {
            failure = Some((n, s.clone()));
            break;
        }
    }
    let covered = r.world.offset();
    let failed_step = failure.as_ref().map(|(n, _)| *n);
    let (status, message) = match failure {
        Some((_, f)) => (Status::Failed, f),
        None => (
            Status::Passed,
            format!(
                "{} steps, {} frames, {} virtual time",
                done,
                r.world.timeline.frames_seen,
                format_duration(covered)
            ),
        ),
    };
    Outcome {
        status,
        message,
        covered,
        steps_done: done,
        failed_step,
        timeline: r.world.timeline,
    }
}

struct Runner {
    world: World,
    vars: BTreeMap<String, Vec<u8>>,
    /// Messages before this index in the log have been matched past.
    cursor: usize,
    /// When the step before ended.
    step_end: SystemTime,
}

impl Runner {
    fn step(&mut self, step: &Step) -> Result<(), String> {
        let t = match step.when {
            When::Now => self.step_end,
            When::At(d) => self.world.start + d,
            When::After(d) => self.step_end + d,
        };
        let end = |e: Option<Duration>| e.unwrap_or_default() > MAX_VIRTUAL_TIME;
        let window = match &step.what {
            What::Expect(Expect::Message { window, .. }) => window.within,
            What::Expect(Expect::Nothing { within, .. }) => *within,
            _ => Duration::ZERO,
        };
        if end(t.duration_since(self.world.start).ok().map(|d| d + window)) {
            return Err(format!(
                "the step reaches past {}, the longest run virtual mode makes",
                format_duration(MAX_VIRTUAL_TIME)
            ));
        }
        if t < self.world.now {
            return Err(format!(
                "at {} is in the past: the run is already at {}",
                format_duration(t.duration_since(self.world.start).unwrap_or_default()),
                format_duration(self.world.offset())
            ));
        }
        self.world.run_until(t, &mut |_| false);
        if let Some(note) = &step.note {
            self.world.timeline.push(
                t,
                Entry::Action {
                    hosts: Vec::new(),
                    text: note.clone(),
                },
            );
        }
        match &step.what {
            What::Wait => {}
            What::Act(a) => self.act(a)?,
            What::Expect(e) => self.expect(e, t)?,
        }
        self.step_end = self.world.now;
        Ok(())
    }

    fn index(&self, name: &str) -> Result<usize, String> {
        self.world
            .index(name)
            .ok_or_else(|| format!("no host {name:?}"))
    }

    fn indices(&self, names: &[String]) -> Result<Vec<usize>, String> {
        names.iter().map(|n| self.index(n)).collect()
    }

    fn action(&mut self, hosts: &[usize], text: String) {
        self.world.timeline.push(
            self.world.now,
            Entry::Action {
                hosts: hosts.to_vec(),
                text,
            },
        );
    }

    fn act(&mut self, a: &Act) -> Result<(), String> {
        match a {
            Act::Start(h) | Act::Stop(h) | Act::Kill(h) | Act::Restart(h) => {
                let ids = self.indices(h)?;
                let verb = match a {
                    Act::Start(_) => "start",
                    Act::Stop(_) => "stop",
                    Act::Kill(_) => "kill",
                    _ => "restart",
                };
                self.action(&ids, format!("{verb} {}", h.join(", ")));
                for i in ids {
                    match a {
                        Act::Start(_) => self.world.start_host(i),
                        Act::Stop(_) => self.world.stop_host(i, true),
                        Act::Kill(_) => self.world.stop_host(i, false),
                        _ => {
                            self.world.stop_host(i, true);
                            self.world.start_host(i);
                        }
                    }
                }
            }
            Act::LinkDown(h) | Act::LinkUp(h) => {
                let up = matches!(a, Act::LinkUp(_));
                let ids = self.indices(h)?;
                self.action(
                    &ids,
                    format!("link {} {}", if up { "up" } else { "down" }, h.join(", ")),
                );
                for i in ids {
                    self.world.segment.set_carrier(i, up);
                    self.world.client_host_event(
                        i,
                        if up {
                            HostEvent::LinkUp
                        } else {
                            HostEvent::LinkDown
                        },
                    );
                }
            }
            Act::Suspend(h) | Act::Resume(h) => {
                let suspend = matches!(a, Act::Suspend(_));
                let ids = self.indices(h)?;
                self.action(
                    &ids,
                    format!(
                        "{} {}",
                        if suspend { "suspend" } else { "resume" },
                        h.join(", ")
                    ),
                );
                for i in ids {
                    self.world.suspend(i, suspend);
                }
            }
            Act::Release(h) | Act::Drop(h) => {
                let release = matches!(a, Act::Release(_));
                let ids = self.indices(h)?;
                self.action(
                    &ids,
                    format!(
                        "{} {}",
                        if release { "release" } else { "drop" },
                        h.join(", ")
                    ),
                );
                for i in ids {
                    self.world.client_host_event(
                        i,
                        if release {
                            HostEvent::Release
                        } else {
                            HostEvent::Drop
                        },
                    );
                }
            }
            Act::Inform { host, address } => {
                let i = self.index(host)?;
                self.action(&[i], format!("inform {host} {address}"));
                self.world.client_host_event(i, HostEvent::Inform(*address));
            }
            Act::Partition(h) => {
                let ids = self.indices(h)?;
                self.action(&ids, format!("partition {}", h.join(" | ")));
                self.world.segment.partition(&ids);
            }
            Act::Heal(h) => {
                let ids = self.indices(h)?;
                if ids.is_empty() {
                    self.action(&[], "heal every partition".into());
                    self.world.segment.heal_all();
                } else {
                    self.action(&ids, format!("heal {}", h.join(", ")));
                    self.world.segment.heal(&ids);
                }
            }
            Act::Faults { hosts, faults } => {
                let ids = self.indices(hosts)?;
                self.action(&ids, format!("faults on {}: {faults}", hosts.join(", ")));
                for i in ids {
                    self.world.segment.set_faults(i, *faults);
                }
            }
            Act::Send(s) => {
                let i = self.index(&s.from)?;
                let (dst_mac, dst_ip) = match &s.to {
                    To::Broadcast => (dhcplab_frame::BROADCAST_MAC, Ipv4Addr::BROADCAST),
                    To::Host(h) => {
                        let j = self.index(h)?;
                        let ip = self.world.address_of(j).unwrap_or(Ipv4Addr::BROADCAST);
                        (self.world.macs[j], ip)
                    }
                };
                let w = &mut self.world;
                let (sport, dport) = if s.request { (68, 67) } else { (67, 68) };
                let src =
                    SocketAddrV4::new(w.address_of(i).unwrap_or(Ipv4Addr::UNSPECIFIED), sport);
                w.send(
                    i,
                    Some(dst_mac),
                    src,
                    SocketAddrV4::new(dst_ip, dport),
                    &s.payload,
                );
            }
            Act::Reconfigure { host, config } => {
                let i = self.index(host)?;
                self.action(&[i], format!("reconfigure {host}"));
                let now = self.world.now;
                if let Node::Server(s) = &mut self.world.nodes[i] {
                    s.config = (**config).clone();
                    if let Some(core) = s.core.as_mut() {
                        core.reconfigure(now, config.dhcp4.clone(), config.json.clone());
                    }
                }
            }
        }
        Ok(())
    }

    fn addr(&self, a: &AddrRef) -> Result<Ipv4Addr, String> {
        match a {
            AddrRef::Literal(a) => Ok(*a),
            AddrRef::Var(v) => match self.vars.get(v).map(|b| <[u8; 4]>::try_from(b.as_slice())) {
                Some(Ok(b)) => Ok(Ipv4Addr::from(b)),
                Some(Err(_)) => Err(format!("${v} is not an address")),
                None => Err(format!("${v} was never captured")),
            },
        }
    }

    fn pass(&mut self, text: String) {
        self.world
            .timeline
            .push(self.world.now, Entry::Check { passed: true, text });
    }

    fn expect(&mut self, e: &Expect, t: SystemTime) -> Result<(), String> {
        let at_ns =
            |w: &World, s: SystemTime| s.duration_since(w.start).unwrap_or_default().as_nanos();
        match e {
            Expect::Message {
                filter,
                window,
                checks,
                capture,
            } => {
                let from = at_ns(&self.world, t);
                let earliest = at_ns(&self.world, t + window.not_before);
                let deadline = t + window.within;
                let what = describe_filter(filter);
                let mut scan = self.cursor;
                let mut near_misses: Vec<String> = Vec::new();
                let mut found = None;
                let vars = self.vars.clone();
                self.world.run_until(deadline, &mut |w| {
                    while scan < w.log.len() {
                        let s = &w.log[scan];
                        scan += 1;
                        if s.at_ns < from || !passes(filter, s) {
                            continue;
                        }
                        let faults: Vec<String> =
                            checks.iter().filter_map(|c| check(s, c, &vars)).collect();
                        if faults.is_empty() {
                            found = Some(scan - 1);
                            return true;
                        }
                        if near_misses.len() < 3 {
                            near_misses.push(format!(
                                "{} at {}: {}",
                                dhcplab_timeline::describe_message(&s.message),
                                clock(s.at_ns),
                                faults.join("; ")
                            ));
                        }
                    }
                    false
                });
                let Some(k) = found else {
                    let seen = if near_misses.is_empty() {
                        "none came".to_string()
                    } else {
                        format!("saw {}", near_misses.join(" | "))
                    };
                    return Err(format!(
                        "expected {what} within {} of {}: {seen}",
                        format_duration(window.within),
                        clock(from)
                    ));
                };
                let s = self.world.log[k].clone();
                if s.at_ns < earliest {
                    return Err(format!(
                        "expected {what} no earlier than {} after {}, but it came at {}",
                        format_duration(window.not_before),
                        clock(from),
                        clock(s.at_ns)
                    ));
                }
                for (var, target) in capture {
                    match value(&s, *target) {
                        Some(v) => {
                            self.vars.insert(var.clone(), v);
                        }
                        None => {
                            return Err(format!("capture {var}: {target} is absent in the {what}"));
                        }
                    }
                }
                self.cursor = k + 1;
                self.pass(format!(
                    "{what}: {} at {}",
                    dhcplab_timeline::describe_message(&s.message),
                    clock(s.at_ns)
                ));
                Ok(())
            }
            Expect::Nothing { filter, within } => {
                let from = at_ns(&self.world, t);
                let what = describe_filter(filter);
                let mut scan = self.cursor;
                let mut hit = None;
                let held = !self.world.run_until(t + *within, &mut |w| {
                    while scan < w.log.len() {
                        let s = &w.log[scan];
                        scan += 1;
                        if s.at_ns >= from && passes(filter, s) {
                            hit = Some(format!(
                                "{} at {}",
                                dhcplab_timeline::describe_message(&s.message),
                                clock(s.at_ns)
                            ));
                            return true;
                        }
                    }
                    false
                });
                if !held {
                    return Err(format!(
                        "expected no {what} for {} after {}, but saw {}",
                        format_duration(*within),
                        clock(from),
                        hit.unwrap_or_default()
                    ));
                }
                self.pass(format!("no {what} for {}", format_duration(*within)));
                Ok(())
            }
            Expect::Events { host, events } => {
                let i = self.index(host)?;
                let got = match &self.world.nodes[i] {
                    Node::Client(c) => c.events.clone(),
                    _ => Vec::new(),
                };
                if &got != events {
                    return Err(format!(
                        "expected events of {host} [{}], got [{}]",
                        events.join(", "),
                        got.join(", ")
                    ));
                }
                self.pass(format!("events of {host}: [{}]", got.join(", ")));
                Ok(())
            }
            Expect::Client {
                host,
                state,
                address,
            } => {
                let i = self.index(host)?;
                let Node::Client(c) = &self.world.nodes[i] else {
                    return Err(format!("{host} is not a client"));
                };
                let now_state = match &c.core {
                    Some(core) => state_name(core.state()),
                    None => "stopped".to_string(),
                };
                let configured = c.configured;
                if let Some(want) = state
                    && *want != now_state
                {
                    return Err(format!("expected {host} {want}, it is {now_state}"));
                }
                if let Some(want) = address {
                    let want = match want {
                        None => None,
                        Some(a) => Some(self.addr(a)?),
                    };
                    if want != configured {
                        let show = |a: Option<Ipv4Addr>| {
                            a.map_or("no address".to_string(), |a| a.to_string())
                        };
                        return Err(format!(
                            "expected {host} with {}, it has {}",
                            show(want),
                            show(configured)
                        ));
                    }
                }
                self.pass(format!(
                    "{host} {now_state}{}",
                    configured.map_or(String::new(), |a| format!(" with {a}"))
                ));
                Ok(())
            }
            Expect::Lease {
                host,
                address,
                state,
                owner,
            } => {
                let i = self.index(host)?;
                let a = self.addr(address)?;
                let (got, lease) = self.world.lease_state(i, a)?;
                if got != *state {
                    return Err(format!(
                        "expected {host}'s lease of {a} {}, it is {}",
                        state.name(),
                        got.name()
                    ));
                }
                if let Some(o) = owner {
                    let j = self.index(o)?;
                    let mac = self.world.macs[j];
                    if lease.as_ref().is_none_or(|l| l.hwaddr != mac) {
                        return Err(format!("expected {host}'s lease of {a} to belong to {o}"));
                    }
                }
                self.pass(format!("{host}: lease of {a} {}", got.name()));
                Ok(())
            }
            Expect::Leases { host, min, max } => {
                let i = self.index(host)?;
                let n = self.world.active_leases(i)?;
                if n < *min || n > *max {
                    let want = if min == max {
                        min.to_string()
                    } else {
                        format!("{min} to {max}")
                    };
                    return Err(format!(
                        "expected {want} active leases on {host}, it has {n}"
                    ));
                }
                self.pass(format!("{host}: {n} active leases"));
                Ok(())
            }
        }
    }
}

/// A client state as scenarios name it (`init-reboot`).
fn state_name(s: dhcplab_client::State) -> String {
    let debug = format!("{s:?}");
    let mut out = String::new();
    for (k, ch) in debug.chars().enumerate() {
        if ch.is_uppercase() && k > 0 {
            out.push('-');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

/// `+1h2m3.004s`-style time since the start, from nanoseconds.
fn clock(ns: u128) -> String {
    format!(
        "+{}",
        format_duration(Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
    )
}

/// The messages a filter looks at, in words: `ACK from srv to c1`, `message from c1`.
fn describe_filter(f: &Filter) -> String {
    let mut s = f.kind.map_or("message".to_string(), |k| k.to_string());
    if let Some(from) = &f.from {
        s.push_str(&format!(" from {from}"));
    }
    match &f.to {
        Some(To::Broadcast) => s.push_str(" to broadcast"),
        Some(To::Host(h)) => s.push_str(&format!(" to {h}")),
        None => {}
    }
    s
}
