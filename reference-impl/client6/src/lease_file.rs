//! The binding file (`IF.dhc6`): what the client keeps of a DHCPv6 binding across restarts, so
//! that on start it confirms (or rebinds) instead of soliciting. Text, so a person can read it;
//! times are seconds since 1970 with nine decimals, or `infinite`:
//!
//! ```text
//! dhcplab-binding6 1
//! server 000100011c39cf88080027fe8f95
//! unicast 2001:db8::1
//! ia na 1 renew 1800000900.000000000 rebind 1800001440.000000000
//! lease 2001:db8::100/128 preferred 1800001800.000000000 valid 1800003600.500000000
//! ia pd 2 renew infinite rebind infinite
//! lease 2001:db8:1::/56 preferred infinite valid infinite
//! ```
//!
//! `lease` lines belong to the `ia` line above them; `unicast` is optional, and so is a last
//! `reply HEX` line: the last Reply that gave or extended the binding, as received.

use crate::{Binding, IaBinding, IaKind, Lease6};
use dhcplab_client::hex;
use std::fmt::Write;
use std::net::Ipv6Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The first line of a binding file of this version.
const HEADER: &str = "dhcplab-binding6 1";

/// Why a binding file cannot be read, with the line where that shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingFileError {
    /// The file is not text.
    #[error("not a binding file: not UTF-8 text at byte {0}")]
    NotText(usize),
    /// The first line is not the header.
    #[error("line 1: not a binding file (expected {HEADER:?})")]
    Header,
    /// A line cannot be read.
    #[error("line {line}: {what}")]
    Line {
        /// Line number, from 1.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// There is no `server` line.
    #[error("no \"server\" line")]
    NoServer,
}

/// The binding file's text for `binding`.
pub fn encode(binding: &Binding) -> String {
    let mut out = format!("{HEADER}\nserver {}\n", hex::encode(&binding.server_id));
    if let Some(u) = binding.server_unicast {
        let _ = writeln!(out, "unicast {u}");
    }
    for ia in &binding.ias {
        let kind = match ia.kind {
            IaKind::Na => "na",
            IaKind::Pd => "pd",
        };
        let _ = writeln!(
            out,
            "ia {kind} {} renew {} rebind {}",
            ia.iaid,
            time(ia.renew_at),
            time(ia.rebind_at)
        );
        for l in &ia.leases {
            let _ = writeln!(
                out,
                "lease {}/{} preferred {} valid {}",
                l.address,
                l.prefix_len,
                time(l.preferred_until),
                time(l.valid_until)
            );
        }
    }
    if let Some(r) = &binding.reply {
        let _ = writeln!(out, "reply {}", hex::encode(r));
    }
    out
}

/// The binding a binding file holds.
pub fn decode(bytes: &[u8]) -> Result<Binding, BindingFileError> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| BindingFileError::NotText(e.valid_up_to()))?;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    if lines.next().map(|(_, l)| l.trim_end()) != Some(HEADER) {
        return Err(BindingFileError::Header);
    }
    let mut server_id = None;
    let mut server_unicast = None;
    let mut ias: Vec<IaBinding> = Vec::new();
    let mut reply = None;
    for (line, text) in lines {
        let words: Vec<&str> = text.split_whitespace().collect();
        let bad = |what: String| BindingFileError::Line { line, what };
        match words.as_slice() {
            [] => {}
            ["server", h] => {
                server_id = Some(hex::decode(h).map_err(|e| bad(format!("server: {e}")))?)
            }
            ["reply", h] => reply = Some(hex::decode(h).map_err(|e| bad(format!("reply: {e}")))?),
            ["unicast", a] => {
                server_unicast = Some(
                    a.parse::<Ipv6Addr>()
                        .map_err(|_| bad(format!("bad address {a:?}")))?,
                )
            }
            ["ia", kind, iaid, "renew", renew, "rebind", rebind] => {
                let kind = match *kind {
                    "na" => IaKind::Na,
                    "pd" => IaKind::Pd,
                    other => return Err(bad(format!("IA kind {other:?} (na or pd)"))),
                };
                ias.push(IaBinding {
                    kind,
                    iaid: iaid
                        .parse()
                        .map_err(|_| bad(format!("bad IAID {iaid:?}")))?,
                    renew_at: parse_time(renew).map_err(bad)?,
                    rebind_at: parse_time(rebind).map_err(bad)?,
                    leases: Vec::new(),
                });
            }
            ["lease", prefix, "preferred", preferred, "valid", valid] => {
                let (address, prefix_len) = parse_prefix(prefix).map_err(bad)?;
                let ia = ias
                    .last_mut()
                    .ok_or_else(|| bad("a lease before any ia line".into()))?;
                ia.leases.push(Lease6 {
                    address,
                    prefix_len,
                    preferred_until: parse_time(preferred).map_err(bad)?,
                    valid_until: parse_time(valid).map_err(bad)?,
                });
            }
            _ => return Err(bad(format!("cannot read {:?}", text.trim()))),
        }
    }
    Ok(Binding {
        server_id: server_id.ok_or(BindingFileError::NoServer)?,
        server_unicast,
        ias,
        reply,
    })
}

fn time(t: Option<SystemTime>) -> String {
    match t {
        None => "infinite".into(),
        Some(t) => {
            let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
            format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
        }
    }
}

/// `infinite`, or seconds since 1970 with a decimal fraction of one to nine digits.
fn parse_time(s: &str) -> Result<Option<SystemTime>, String> {
    if s == "infinite" {
        return Ok(None);
    }
    let bad = || format!("bad time {s:?} (seconds.fraction since 1970, or infinite)");
    let (secs, fraction) = s.split_once('.').ok_or_else(bad)?;
    let secs: u64 = secs.parse().map_err(|_| bad())?;
    if fraction.is_empty() || fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let nanos: u32 = format!("{fraction:0<9}").parse().map_err(|_| bad())?;
    UNIX_EPOCH
        .checked_add(Duration::new(secs, nanos))
        .map(Some)
        .ok_or_else(bad)
}

fn parse_prefix(s: &str) -> Result<(Ipv6Addr, u8), String> {
    let bad = || format!("bad address/length {s:?}");
    let (a, l) = s.split_once('/').ok_or_else(bad)?;
    let address = a.parse().map_err(|_| bad())?;
    let len: u8 = l.parse().ok().filter(|l| *l <= 128).ok_or_else(bad)?;
    Ok((address, len))
}
