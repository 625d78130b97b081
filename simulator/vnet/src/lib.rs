//! The virtual network of virtual mode: one Ethernet segment that hosts attach to by port,
//! with a fault model per port, driven by virtual time and a seed.
//!
//! Like the cores it carries frames for, the segment never reads a clock: [`Segment::transmit`]
//! takes the time a frame leaves, [`Segment::poll_timeout`] says when the next one arrives, and
//! [`Segment::poll_delivery`] hands out arrivals due at a given time, in a fixed order (arrival
//! time, then the order they were scheduled in). Every random draw comes from the segment's
//! seed, so a run repeats byte for byte.
//!
//! The model:
//! - a broadcast or multicast frame goes to every other port; a unicast frame to the port that
//!   owns the destination link address, and nowhere when no port does;
//! - a frame from port A to port B meets A's faults on the way out and B's on the way in: each
//!   side may lose it, delays and jitter add, either side may duplicate or reorder it;
//! - a port without carrier neither sends nor receives; a partition between two ports drops
//!   every frame between them, both ways;
//! - [`Fate`]s say what became of each copy, for the timeline.

use dhcplab_rng::Rng;
use hashbrown::HashMap;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

/// A host's attachment to the segment.
pub type Port = usize;

/// How a port's link misbehaves. The default is a perfect link.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Faults {
    /// Probability that a frame is lost on this link (0 to 1).
    pub loss: f64,
    /// Fixed delay a frame takes on this link.
    pub delay: Duration,
    /// Extra delay, drawn evenly from zero to this, per frame.
    pub jitter: Duration,
    /// Probability that a frame arrives twice.
    pub duplicate: f64,
    /// Probability that a frame is held back, so frames sent after it may arrive first.
    pub reorder: f64,
}

impl std::fmt::Display for Faults {
    /// `loss 10%, delay 5ms, jitter 20ms, duplicate 5%, reorder 20%`, or `none`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        for (name, p) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
        ] {
            if p > 0.0 {
                parts.push(format!("{name} {}%", (p * 1000.0).round() / 10.0));
            }
        }
        for (name, d) in [("delay", self.delay), ("jitter", self.jitter)] {
            if !d.is_zero() {
                parts.push(format!("{name} {d:?}"));
            }
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// How long a reordered frame is held back at most, on top of its delay.
pub const REORDER_HOLD: Duration = Duration::from_millis(50);
/// How long after the original a duplicate arrives.
pub const DUPLICATE_GAP: Duration = Duration::from_micros(100);

/// What became of one copy of a frame, for one receiving port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// It arrives at this time.
    Arrives(SystemTime),
    /// A duplicate arrives at this time too.
    Duplicated(SystemTime),
    /// It was lost on the sender's or the receiver's link.
    Lost,
    /// A partition is between sender and receiver.
    Partitioned,
    /// The receiver has no carrier.
    NoCarrier,
}

/// What [`Segment::transmit`] did with a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The sender has no carrier: the frame never left.
    NoCarrier,
    /// A unicast frame to a link address no port owns.
    NoSuchHost,
    /// The frame left; per receiving port, what became of it.
    Left(Vec<(Port, Fate)>),
}

/// A frame arriving at a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The receiving port.
    pub port: Port,
    /// The port that sent it.
    pub from: Port,
    /// The Ethernet frame, shared by every copy of a broadcast.
    pub frame: Rc<[u8]>,
}

#[derive(Debug, Clone)]
struct PortState {
    mac: [u8; 6],
    faults: Faults,
    carrier: bool,
}

/// An arrival waiting in the queue, ordered by time, then by scheduling order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: SystemTime,
    seq: u64,
    port: Port,
    from: Port,
    frame: Rc<[u8]>,
}

/// The segment.
#[derive(Debug)]
pub struct Segment {
    ports: Vec<PortState>,
    /// Looked up for every unicast frame, never iterated.
    by_mac: HashMap<[u8; 6], Port>,
    /// Groups of ports cut off from each other: two ports in one group cannot reach each other.
    partitions: Vec<BTreeSet<Port>>,
    queue: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    rng: Rng,
}

impl Segment {
    /// An empty segment whose faults draw from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            ports: Vec::new(),
            by_mac: HashMap::new(),
            partitions: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            rng: Rng::fork(seed, "segment"),
        }
    }

    /// Attaches a host with link address `mac` and the faults of its link; it has carrier.
    pub fn attach(&mut self, mac: [u8; 6], faults: Faults) -> Port {
        self.ports.push(PortState {
            mac,
            faults,
            carrier: true,
        });
        let port = self.ports.len() - 1;
        self.by_mac.entry(mac).or_insert(port);
        port
    }

    /// The link address of `port`.
    pub fn mac(&self, port: Port) -> Option<[u8; 6]> {
        self.ports.get(port).map(|p| p.mac)
    }

    /// The port that owns `mac`.
    pub fn port_of(&self, mac: [u8; 6]) -> Option<Port> {
        self.by_mac.get(&mac).copied()
    }

    /// Replaces the faults of `port`'s link.
    pub fn set_faults(&mut self, port: Port, faults: Faults) {
        if let Some(p) = self.ports.get_mut(port) {
            p.faults = faults;
        }
    }

    /// The faults of `port`'s link.
    pub fn faults(&self, port: Port) -> Faults {
        self.ports.get(port).map(|p| p.faults).unwrap_or_default()
    }

    /// Gives or takes carrier on `port`. Frames already on their way to it are lost when it
    /// loses carrier.
    pub fn set_carrier(&mut self, port: Port, up: bool) {
        if let Some(p) = self.ports.get_mut(port) {
            p.carrier = up;
        }
        if !up {
            self.drop_pending_to(port);
        }
    }

    /// True when `port` has carrier.
    pub fn carrier(&self, port: Port) -> bool {
        self.ports.get(port).is_some_and(|p| p.carrier)
    }

    /// True when a frame from `a` can reach `b` at all: both have carrier and no partition is
    /// between them (faults aside).
    pub fn reachable(&self, a: Port, b: Port) -> bool {
        self.carrier(a) && self.carrier(b) && !self.partitioned(a, b)
    }

    fn partitioned(&self, a: Port, b: Port) -> bool {
        self.partitions
            .iter()
            .any(|g| g.contains(&a) && g.contains(&b))
    }

    /// Cuts every pair of `ports` off from each other, both ways.
    pub fn partition(&mut self, ports: &[Port]) {
        let group: BTreeSet<Port> = ports.iter().copied().collect();
        if group.len() > 1 {
            self.partitions.push(group);
        }
    }

    /// Joins `ports` to everyone again: they leave every partition.
    pub fn heal(&mut self, ports: &[Port]) {
        for g in &mut self.partitions {
            for p in ports {
                g.remove(p);
            }
        }
        self.partitions.retain(|g| g.len() > 1);
    }

    /// Removes every partition.
    pub fn heal_all(&mut self) {
        self.partitions.clear();
    }

    /// Puts `frame` on the segment from `from` at `now`.
    pub fn transmit(&mut self, now: SystemTime, from: Port, frame: Vec<u8>) -> Sent {
        let all: Vec<Port> = (0..self.ports.len()).collect();
        self.transmit_to(now, from, frame, &all)
    }

    /// Puts `frame` on the segment from `from` at `now`; a broadcast goes only to `listeners`
    /// (the hosts that would read it: on a real link the others drop it unread, and a thousand
    /// clients need not each be handed every DISCOVER).
    pub fn transmit_to(
        &mut self,
        now: SystemTime,
        from: Port,
        frame: impl Into<Rc<[u8]>>,
        listeners: &[Port],
    ) -> Sent {
        let Some(sender) = self.ports.get(from).cloned() else {
            return Sent::NoSuchHost;
        };
        if !sender.carrier {
            return Sent::NoCarrier;
        }
        let frame: Rc<[u8]> = frame.into();
        let dst: [u8; 6] = match frame.get(..6).and_then(|d| d.try_into().ok()) {
            Some(d) => d,
            None => return Sent::NoSuchHost,
        };
        let owner;
        let receivers: &[Port] = if dst[0] & 1 == 1 {
            listeners
        } else {
            match self.port_of(dst) {
                Some(p) if p != from => {
                    owner = [p];
                    &owner
                }
                _ => return Sent::NoSuchHost,
            }
        };
        let mut fates = Vec::with_capacity(receivers.len());
        for &to in receivers {
            if to == from || to >= self.ports.len() {
                continue;
            }
            let fate = self.route(now, from, &sender.faults, to, &frame);
            fates.push((to, fate));
        }
        Sent::Left(fates)
    }

    fn route(
        &mut self,
        now: SystemTime,
        from: Port,
        out: &Faults,
        to: Port,
        frame: &Rc<[u8]>,
    ) -> Fate {
        let receiver = self.ports[to].clone();
        if self.partitioned(from, to) {
            return Fate::Partitioned;
        }
        if !receiver.carrier {
            return Fate::NoCarrier;
        }
        let inn = receiver.faults;
        if self.rng.chance(out.loss) || self.rng.chance(inn.loss) {
            return Fate::Lost;
        }
        let mut at = now + out.delay + inn.delay;
        at += self.draw_up_to(out.jitter) + self.draw_up_to(inn.jitter);
        if self.rng.chance(out.reorder) || self.rng.chance(inn.reorder) {
            at += self.draw_up_to(REORDER_HOLD);
        }
        self.schedule(at, to, from, Rc::clone(frame));
        if self.rng.chance(out.duplicate) || self.rng.chance(inn.duplicate) {
            let again = at + DUPLICATE_GAP;
            self.schedule(again, to, from, Rc::clone(frame));
            return Fate::Duplicated(at);
        }
        Fate::Arrives(at)
    }

    fn draw_up_to(&mut self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        let ns = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.between(0, ns))
    }

    fn schedule(&mut self, at: SystemTime, port: Port, from: Port, frame: Rc<[u8]>) {
        self.seq += 1;
        self.queue.push(Reverse(Pending {
            at,
            seq: self.seq,
            port,
            from,
            frame,
        }));
    }

    /// When the next frame arrives, if one is on its way.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        self.queue.peek().map(|Reverse(p)| p.at)
    }

    /// The next frame due at or before `now`, in arrival order.
    pub fn poll_delivery(&mut self, now: SystemTime) -> Option<Delivery> {
        if self.queue.peek().is_some_and(|Reverse(p)| p.at <= now) {
            let Reverse(p) = self.queue.pop()?;
            return Some(Delivery {
                port: p.port,
                from: p.from,
                frame: p.frame,
            });
        }
        None
    }

    /// Drops every frame on its way to `port` (it lost carrier, or its host is gone).
    pub fn drop_pending_to(&mut self, port: Port) {
        let kept: Vec<_> = self
            .queue
            .drain()
            .filter(|Reverse(p)| p.port != port)
            .collect();
        self.queue = kept.into_iter().collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const A: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const B: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const C: [u8; 6] = [2, 0, 0, 0, 0, 3];

    fn frame(dst: [u8; 6], src: [u8; 6], tag: u8) -> Vec<u8> {
        let mut f = dst.to_vec();
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x08, 0x00, tag]);
        f
    }

    fn t(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000) + Duration::from_millis(ms)
    }

    fn drain(s: &mut Segment, until: SystemTime) -> Vec<(Port, u8)> {
        let mut out = Vec::new();
        while let Some(d) = s.poll_delivery(until) {
            out.push((d.port, d.frame[14]));
        }
        out
    }

    fn three(seed: u64, faults: Faults) -> (Segment, Port, Port, Port) {
        let mut s = Segment::new(seed);
        let a = s.attach(A, faults);
        let b = s.attach(B, Faults::default());
        let c = s.attach(C, Faults::default());
        (s, a, b, c)
    }

    #[test]
    fn faults_read_as_words() {
        assert_eq!(Faults::default().to_string(), "none");
        let f = Faults {
            loss: 0.1,
            delay: Duration::from_millis(5),
            ..Faults::default()
        };
        assert_eq!(f.to_string(), "loss 10%, delay 5ms");
    }

    #[test]
    fn broadcast_goes_only_to_ports_that_listen() {
        let (mut s, a, _, c) = three(1, Faults::default());
        let Sent::Left(fates) = s.transmit_to(t(0), a, frame([0xff; 6], A, 1), &[c]) else {
            panic!("sent");
        };
        assert_eq!(fates, vec![(c, Fate::Arrives(t(0)))]);
    }

    #[test]
    fn broadcast_reaches_every_other_port_and_unicast_only_its_owner() {
        let (mut s, a, b, c) = three(1, Faults::default());
        assert!(
            matches!(s.transmit(t(0), a, frame([0xff; 6], A, 1)), Sent::Left(f) if f.len() == 2)
        );
        s.transmit(t(0), a, frame(C, A, 2));
        assert_eq!(
            s.transmit(t(0), a, frame([2, 9, 9, 9, 9, 9], A, 3)),
            Sent::NoSuchHost
        );
        assert_eq!(drain(&mut s, t(0)), vec![(b, 1), (c, 1), (c, 2)]);
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn delay_holds_frames_until_due_and_keeps_their_order() {
        let (mut s, a, b, _) = three(
            1,
            Faults {
                delay: Duration::from_millis(10),
                ..Faults::default()
            },
        );
        s.transmit(t(0), a, frame(B, A, 1));
        s.transmit(t(1), a, frame(B, A, 2));
        assert_eq!(s.poll_timeout(), Some(t(10)));
        assert!(drain(&mut s, t(9)).is_empty());
        assert_eq!(drain(&mut s, t(11)), vec![(b, 1), (b, 2)]);
    }

    #[test]
    fn carrier_and_partitions_stop_frames_both_ways() {
        let (mut s, a, b, c) = three(1, Faults::default());
        s.partition(&[b, a]);
        let Sent::Left(fates) = s.transmit(t(0), a, frame([0xff; 6], A, 1)) else {
            panic!("sent");
        };
        assert_eq!(
            fates,
            vec![(b, Fate::Partitioned), (c, Fate::Arrives(t(0)))]
        );
        assert!(!s.reachable(a, b) && s.reachable(a, c));
        s.partition(&[a, b, c]);
        s.heal(&[c]);
        assert!(!s.reachable(a, b) && s.reachable(a, c) && s.reachable(b, c));
        s.heal(&[a]);
        assert!(s.reachable(a, b));
        s.partition(&[a, b]);
        s.heal_all();
        s.set_carrier(c, false);
        assert!(!s.reachable(a, c));
        assert_eq!(s.transmit(t(0), c, frame(A, C, 2)), Sent::NoCarrier);
        let Sent::Left(fates) = s.transmit(t(0), a, frame(C, A, 3)) else {
            panic!("sent");
        };
        assert_eq!(fates, vec![(c, Fate::NoCarrier)]);
    }

    #[test]
    fn losing_carrier_drops_frames_in_flight() {
        let (mut s, a, b, _) = three(
            1,
            Faults {
                delay: Duration::from_millis(5),
                ..Faults::default()
            },
        );
        s.transmit(t(0), a, frame(B, A, 1));
        s.set_carrier(b, false);
        s.set_carrier(b, true);
        assert!(drain(&mut s, t(10)).is_empty());
    }

    #[test]
    fn loss_duplication_and_reordering_follow_their_rates_and_the_seed() {
        let faults = Faults {
            loss: 0.3,
            duplicate: 0.2,
            reorder: 0.5,
            jitter: Duration::from_millis(3),
            ..Faults::default()
        };
        let run = |seed| {
            let (mut s, a, _, _) = three(seed, faults);
            let mut fates = Vec::new();
            for i in 0..2000u64 {
                if let Sent::Left(f) = s.transmit(t(i), a, frame(B, A, i as u8)) {
                    fates.extend(f);
                }
            }
            let arrivals = drain(&mut s, t(10_000));
            (fates, arrivals)
        };
        let (fates, arrivals) = run(5);
        let lost = fates.iter().filter(|(_, f)| *f == Fate::Lost).count();
        let dup = fates
            .iter()
            .filter(|(_, f)| matches!(f, Fate::Duplicated(_)))
            .count();
        assert!((500..700).contains(&lost), "lost {lost}");
        assert!((200..370).contains(&dup), "duplicated {dup}");
        assert_eq!(arrivals.len(), 2000 - lost + dup);
        let tags: Vec<u8> = arrivals.iter().map(|(_, tag)| *tag).collect();
        assert!(
            tags.windows(2).any(|w| w[1] < w[0] && w[0] != 255),
            "some frames overtake others"
        );
        assert_eq!(run(5), run(5), "same seed, same fates and arrivals");
        assert_ne!(run(5).0, run(6).0);
    }
}
