//! The record of one run: every frame put on the link (with what became of it on the way to
//! each host), every client event, every action on hosts and links, every check and its
//! result, each at its time. Both modes write one; the artifacts are drawn from it:
//! [`Timeline::pcap`] (classic pcap, nanosecond timestamps) and [`ladder::html`] (a ladder
//! diagram, one column per host, as one self-contained HTML file).

pub mod ladder;

use dhcplab_capture::{CaptureWriter, WriteError};
use dhcplab_frame::{Decoded, LinkType};
use dhcplab_wire::v4::{Message, catalogue::code};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where a frame was addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// Every host.
    Broadcast,
    /// One host, by its column.
    Host(usize),
    /// A link address no host owns.
    Nowhere,
}

/// What became of a frame on its way to one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// It arrived after this long.
    Arrived(Duration),
    /// It arrived twice.
    Duplicated,
    /// A link lost it.
    Lost,
    /// A partition stopped it.
    Partitioned,
    /// The receiver had no carrier.
    NoCarrier,
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A frame put on the link.
    Frame {
        /// The sender's column.
        from: usize,
        /// Where it was addressed.
        to: Dest,
        /// The Ethernet frame.
        frame: Vec<u8>,
        /// Its DHCP message in a few words ([`describe`]).
        label: String,
        /// What became of it, per receiving host; none when it never left.
        fates: Vec<(usize, Fate)>,
    },
    /// A client event (BOUND, EXTEND, ...), or a note about one host (started, killed).
    Event {
        /// The host's column.
        host: usize,
        /// What.
        text: String,
    },
    /// An action on hosts or links (link down, partition, faults, suspend).
    Action {
        /// The columns of the hosts it touched.
        hosts: Vec<usize>,
        /// What.
        text: String,
    },
    /// An expectation and its result.
    Check {
        /// True when it held.
        passed: bool,
        /// What was expected (and seen, when it failed).
        text: String,
    },
}

/// The record of one run.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// When the run began (time zero of the ladder's clock).
    pub start: SystemTime,
    /// The hosts, one column each, in order.
    pub hosts: Vec<String>,
    /// What happened, in order.
    pub entries: Vec<(SystemTime, Entry)>,
    /// When false, nothing is kept (a run whose artifacts nobody asked for); frames are
    /// still counted.
    pub record: bool,
    /// Frames seen, kept or not.
    pub frames_seen: u64,
    /// Entries not kept because the record reached [`MAX_ENTRIES`].
    pub entries_dropped: u64,
}

/// Entries a timeline keeps at most (about 400 MB of frames): past it the record, and so the
/// pcap, stops, and the ladder says how much is missing.
pub const MAX_ENTRIES: usize = 1_000_000;

impl Timeline {
    /// An empty record of a run over `hosts`, starting at `start`.
    pub fn new(start: SystemTime, hosts: Vec<String>, record: bool) -> Self {
        Self {
            start,
            hosts,
            entries: Vec::new(),
            record,
            frames_seen: 0,
            entries_dropped: 0,
        }
    }

    /// Adds an entry at `at`, when the timeline records and is not full.
    pub fn push(&mut self, at: SystemTime, entry: Entry) {
        if matches!(entry, Entry::Frame { .. }) {
            self.frames_seen += 1;
        }
        if !self.record {
            return;
        }
        if self.entries.len() >= MAX_ENTRIES {
            self.entries_dropped += 1;
            return;
        }
        self.entries.push((at, entry));
    }

    /// The frames as a classic pcap file with nanosecond timestamps, in the order they were
    /// put on the link: the same run gives the same bytes.
    pub fn pcap(&self) -> Result<Vec<u8>, WriteError> {
        let mut w = CaptureWriter::new(Vec::new())?;
        for (at, e) in &self.entries {
            if let Entry::Frame { frame, .. } = e {
                let ns = at
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
                w.write(ns, frame)?;
            }
        }
        Ok(w.into_inner())
    }

    /// `at` as time since the start of the run.
    pub fn offset(&self, at: SystemTime) -> Duration {
        at.duration_since(self.start).unwrap_or_default()
    }
}

/// A DHCP message in a few words for the ladder and for failure reports: its type and the
/// options that tell one exchange from another (`ACK 192.0.2.100 lease 1h sid 192.0.2.1`).
pub fn describe(frame: &[u8]) -> String {
    let Ok(Decoded::Udp(u)) = dhcplab_frame::decode(LinkType::Ethernet, frame) else {
        return "(not a UDP frame)".into();
    };
    let m = match Message::decode(u.payload) {
        Ok(m) => m,
        Err(e) => return format!("MALFORMED ({e})"),
    };
    describe_message(&m)
}

/// [`describe`] for a decoded message.
pub fn describe_message(m: &Message) -> String {
    let mut out = match m.message_type() {
        Ok(Some(t)) => t.to_string(),
        Ok(None) if m.op == Message::BOOTREPLY => "BOOTREPLY".into(),
        Ok(None) => "BOOTREQUEST".into(),
        Err(_) => "(bad type)".into(),
    };
    let zero = std::net::Ipv4Addr::UNSPECIFIED;
    if m.yiaddr != zero {
        out.push_str(&format!(" {}", m.yiaddr));
    } else if m.ciaddr != zero {
        out.push_str(&format!(" ciaddr {}", m.ciaddr));
    }
    if let Ok(Some(r)) = m.requested_ip() {
        out.push_str(&format!(" req {r}"));
    }
    if let Ok(Some(l)) = m.lease_time() {
        out.push_str(&format!(
            " lease {}",
            dhcplab_scenario::format_duration(Duration::from_secs(l.into()))
        ));
    }
    if let Ok(Some(s)) = m.server_id() {
        out.push_str(&format!(" sid {s}"));
    }
    if let Some(text) = m.option(code::MESSAGE) {
        out.push_str(&format!(" \"{}\"", String::from_utf8_lossy(&text.data)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcplab_capture::CaptureReader;
    use dhcplab_wire::v4::MessageType;

    fn ack_frame() -> Vec<u8> {
        let mut m = Message::new(Message::BOOTREPLY, 7, [2, 0, 0x5e, 0, 0x53, 1]);
        m.yiaddr = "192.0.2.100".parse().expect("addr");
        m.options
            .push(53, &[u8::from(MessageType::Ack)])
            .expect("push");
        m.options.push(51, &3600u32.to_be_bytes()).expect("push");
        m.options.push(54, &[192, 0, 2, 1]).expect("push");
        dhcplab_frame::encode_udp(
            [2, 0, 0x5e, 0, 0x53, 0xfe],
            [0xff; 6],
            "192.0.2.1:67".parse().expect("addr"),
            "255.255.255.255:68".parse().expect("addr"),
            64,
            &m.encode(),
        )
        .expect("frame")
    }

    #[test]
    fn describe_names_type_address_lease_and_server() {
        assert_eq!(
            describe(&ack_frame()),
            "ACK 192.0.2.100 lease 1h sid 192.0.2.1"
        );
        assert_eq!(describe(&[1, 2, 3]), "(not a UDP frame)");
    }

    #[test]
    fn pcap_holds_kept_frames_with_nanosecond_times() {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut t = Timeline::new(start, vec!["srv".into(), "c1".into()], true);
        let at = start + Duration::from_nanos(1_500);
        t.push(
            at,
            Entry::Frame {
                from: 0,
                to: Dest::Broadcast,
                frame: ack_frame(),
                label: String::new(),
                fates: vec![],
            },
        );
        t.push(
            at,
            Entry::Event {
                host: 1,
                text: "BOUND".into(),
            },
        );
        let bytes = t.pcap().expect("pcap");
        let records: Vec<_> = CaptureReader::new(std::io::Cursor::new(bytes))
            .expect("reader")
            .collect::<Result<_, _>>()
            .expect("records");
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].timestamp_ns, 1_800_000_000_000_001_500);
        let mut off = Timeline::new(start, vec![], false);
        off.push(
            at,
            Entry::Frame {
                from: 0,
                to: Dest::Broadcast,
                frame: ack_frame(),
                label: String::new(),
                fates: vec![],
            },
        );
        assert_eq!((off.entries.len(), off.frames_seen), (0, 1));
    }
}
