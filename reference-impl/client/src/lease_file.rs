//! The lease file (`IF.dhc`): what the client keeps of a lease across restarts, so that on
//! start it confirms the lease with INIT-REBOOT instead of discovering (dhcpagent keeps the
//! ACK the same way). The file holds the ACK as received and the time its lease counts from;
//! every other field is read again from the ACK, so the two can never disagree.
//!
//! Text, so a person can read it:
//!
//! ```text
//! dhcplab-lease 1
//! acquired 1800000000.250000000
//! ack 0201060048f2...
//! ```

use crate::hex::{self, HexError};
use crate::{Lease, lease_from};
use dhcplab_wire::v4::Message;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The first line of a lease file of this version.
const HEADER: &str = "dhcplab-lease 1";

/// Why a lease file cannot be read, with the line where that shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseFileError {
    /// The file is not text.
    #[error("not a lease file: not UTF-8 text at byte {0}")]
    NotText(usize),
    /// The first line is not the header.
    #[error("line 1: not a lease file (expected {HEADER:?})")]
    Header,
    /// A line cannot be read.
    #[error("line {line}: {what}")]
    Line {
        /// Line number, from 1.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// A field is missing.
    #[error("no {0:?} line")]
    Missing(&'static str),
    /// The stored ACK does not decode, or is not an ACK or BOOTREPLY with an address.
    #[error("line {line}: the stored reply is unusable: {what}")]
    Reply {
        /// Line number of the `ack` line.
        line: usize,
        /// What is wrong.
        what: String,
    },
}

/// The lease file's text for `lease`.
pub fn encode(lease: &Lease) -> String {
    let since = lease
        .acquired
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    format!(
        "{HEADER}\nacquired {}.{:09}\nack {}\n",
        since.as_secs(),
        since.subsec_nanos(),
        hex::encode(&lease.ack)
    )
}

/// The lease a lease file holds.
pub fn decode(bytes: &[u8]) -> Result<Lease, LeaseFileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| LeaseFileError::NotText(e.valid_up_to()))?;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    if lines.next().map(|(_, l)| l.trim_end()) != Some(HEADER) {
        return Err(LeaseFileError::Header);
    }
    let mut acquired = None;
    let mut ack = None;
    for (line, text) in lines {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let (key, value) = text.split_once(' ').unwrap_or((text, ""));
        let bad = |what: String| LeaseFileError::Line { line, what };
        match key {
            "acquired" => acquired = Some(parse_time(value).map_err(bad)?),
            "ack" => ack = Some((line, parse_hex(value).map_err(bad)?)),
            other => return Err(bad(format!("unknown field {other:?}"))),
        }
    }
    let acquired = acquired.ok_or(LeaseFileError::Missing("acquired"))?;
    let (line, ack) = ack.ok_or(LeaseFileError::Missing("ack"))?;
    let unusable = |what: String| LeaseFileError::Reply { line, what };
    let m = Message::decode(&ack).map_err(|e| unusable(e.to_string()))?;
    if m.op != Message::BOOTREPLY || m.yiaddr.is_unspecified() {
        return Err(unusable("not a reply that gives an address".into()));
    }
    let kind = m.message_type().map_err(|e| unusable(e.to_string()))?;
    match kind {
        None => {
            let server = m.server_id().ok().flatten().unwrap_or(m.siaddr);
            let mut lease = lease_from(&m, server, acquired, &ack);
            lease.lease_time = None;
            Ok(lease)
        }
        Some(dhcplab_wire::v4::MessageType::Ack) => {
            let server = m
                .server_id()
                .ok()
                .flatten()
                .ok_or_else(|| unusable("an ACK without a server identifier".into()))?;
            Ok(lease_from(&m, server, acquired, &ack))
        }
        Some(k) => Err(unusable(format!("a {k:?}, not an ACK"))),
    }
}

fn parse_time(value: &str) -> Result<SystemTime, String> {
    let (secs, nanos) = value.split_once('.').unwrap_or((value, "0"));
    let bad = || format!("bad time {value:?} (seconds.nanoseconds since 1970)");
    let secs: u64 = secs.parse().map_err(|_| bad())?;
    if nanos.is_empty() || nanos.len() > 9 {
        return Err(bad());
    }
    let scaled: u32 = format!("{nanos:0<9}").parse().map_err(|_| bad())?;
    UNIX_EPOCH
        .checked_add(Duration::new(secs, scaled))
        .ok_or_else(bad)
}

/// The `ack` field's bytes; columns in faults count from the line's start ("ack " is 4).
fn parse_hex(value: &str) -> Result<Vec<u8>, String> {
    hex::decode(value).map_err(|e| match e {
        HexError::Odd => "odd number of hex digits".into(),
        HexError::Digit(at) => format!("bad hex digit at column {}", at + 5),
    })
}
