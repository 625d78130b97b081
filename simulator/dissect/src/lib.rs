//! Turns captured frames into readable blocks of text: one block per DHCP message, every field
//! and option on its own line with its byte offset in the DHCP payload, typed values where the
//! codec knows the option, and the codec's typed error where the packet is malformed.
//!
//! `dhcplab decode` prints these blocks; replay and conformance reports reuse them.

mod v4;
mod v6;

pub use dhcplab_utc::format_utc;

use dhcplab_capture::{CaptureError, CaptureReader, Record};
use dhcplab_frame::{Checksum, Decoded, Dhcp, Link, UdpDatagram};
use std::fmt::Write;
use std::path::Path;

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A DHCP message that decoded; `faults` counts content faults in its options.
    Message {
        /// The protocol.
        protocol: Dhcp,
        /// Options whose content is malformed.
        faults: usize,
    },
    /// A DHCP payload whose framing is malformed.
    Malformed(Dhcp),
    /// A frame that could not be decoded down to UDP.
    BadFrame,
    /// Not DHCP, or a link type this tool does not read.
    Other,
}

/// Counts of outcomes over a capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// DHCPv4 messages that decoded.
    pub v4: usize,
    /// DHCPv6 messages that decoded.
    pub v6: usize,
    /// DHCP payloads whose framing is malformed.
    pub malformed: usize,
    /// Messages that decoded but carry malformed option contents.
    pub with_faults: usize,
    /// Frames that could not be decoded down to UDP.
    pub bad_frames: usize,
    /// Frames that are not DHCP.
    pub other: usize,
}

impl Summary {
    /// Adds one outcome.
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Message { protocol, faults } => {
                match protocol {
                    Dhcp::V4 => self.v4 += 1,
                    Dhcp::V6 => self.v6 += 1,
                }
                if faults > 0 {
                    self.with_faults += 1;
                }
            }
            Outcome::Malformed(_) => self.malformed += 1,
            Outcome::BadFrame => self.bad_frames += 1,
            Outcome::Other => self.other += 1,
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} DHCPv4 and {} DHCPv6 messages decoded ({} with malformed options), {} malformed DHCP payloads, \
             {} undecodable frames, {} other frames",
            self.v4, self.v6, self.with_faults, self.malformed, self.bad_frames, self.other
        )
    }
}

/// Why a capture could not be dissected to its end.
#[derive(Debug, thiserror::Error)]
pub enum DissectError {
    /// The capture could not be read (not a capture, truncated, I/O).
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The output could not be written (a closed pipe, say).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

/// Writes the blocks of every record of the capture at `path`, then a summary line; a capture
/// cut short still gets its blocks and summary before the error is returned.
pub fn dissect_capture(
    path: &Path,
    out: &mut impl std::io::Write,
) -> Result<Summary, DissectError> {
    let reader = CaptureReader::open(path)?;
    let mut summary = Summary::default();
    let mut block = String::new();
    let mut failure = None;
    for item in reader {
        match item {
            Ok(record) => {
                block.clear();
                summary.add(dissect_record(&record, &mut block));
                out.write_all(block.as_bytes())?;
            }
            Err(e) => failure = Some(e),
        }
    }
    writeln!(out, "# {summary}\n")?;
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(summary),
    }
}

/// Appends the block for one record to `out` when it holds DHCP or cannot be decoded, and says
/// what it was. Frames that are plainly not DHCP add nothing.
pub fn dissect_record(record: &Record, out: &mut String) -> Outcome {
    let Some(link_type) = record.link_type else {
        return Outcome::Other;
    };
    let heading = format!(
        "Frame {}  {}  {} bytes",
        record.number,
        format_utc(record.timestamp_ns),
        record.data.len()
    );
    let datagram = match dhcplab_frame::decode(link_type, &record.data) {
        Ok(Decoded::Udp(d)) => d,
        Ok(Decoded::Other(_)) => return Outcome::Other,
        Err(e) => {
            let _ = writeln!(out, "{heading}\n  frame not decodable: {e}\n");
            return Outcome::BadFrame;
        }
    };
    let Some(protocol) = datagram.dhcp() else {
        return Outcome::Other;
    };
    let _ = writeln!(out, "{heading}");
    write_frame(&datagram, out);
    let outcome = match protocol {
        Dhcp::V4 => v4::dissect(datagram.payload, out),
        Dhcp::V6 => v6::dissect(datagram.payload, out),
    };
    out.push('\n');
    outcome
}

fn write_frame(d: &UdpDatagram<'_>, out: &mut String) {
    match &d.link {
        Link::Ethernet { src, dst, vlans } => {
            let _ = write!(out, "  Ethernet {} -> {}", mac(src), mac(dst));
            for vlan in vlans {
                let _ = write!(out, "  vlan {vlan}");
            }
            out.push('\n');
        }
        Link::Cooked { src } => {
            let _ = writeln!(out, "  Linux cooked, from {}", mac(src));
        }
        Link::None => {}
    }
    let ip = if d.src.is_ipv4() { "IPv4" } else { "IPv6" };
    let _ = write!(
        out,
        "  {ip} {} -> {}  hop limit {}",
        d.src, d.dst, d.hop_limit
    );
    if let Some(c) = d.ip_checksum {
        let _ = write!(out, "  IP checksum {}", checksum(c));
    }
    let _ = writeln!(out, "  UDP checksum {}", checksum(d.udp_checksum));
}

fn checksum(c: Checksum) -> String {
    match c {
        Checksum::Valid => "ok".into(),
        Checksum::Absent => "none".into(),
        Checksum::Invalid { found, expected } => {
            format!("BAD ({found:#06x}, expected {expected:#06x})")
        }
    }
}

fn mac(bytes: &[u8]) -> String {
    dhcplab_wire::v4::Hex(bytes).to_string()
}
