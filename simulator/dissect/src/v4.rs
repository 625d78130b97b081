//! DHCPv4 blocks.

use crate::Outcome;
use dhcplab_frame::Dhcp;
use dhcplab_wire::v4::{Area, Entry, Hex, Message, OptionRef, OptionValue, Text, catalogue};
use std::fmt::Write;

pub(crate) fn dissect(payload: &[u8], out: &mut String) -> Outcome {
    let message = match Message::decode(payload) {
        Ok(m) => m,
        Err(e) => {
            let _ = writeln!(out, "DHCPv4 MALFORMED, {} bytes: {e}", payload.len());
            return Outcome::Malformed(Dhcp::V4);
        }
    };
    let kind = match message.message_type() {
        Ok(Some(t)) => t.to_string(),
        Ok(None) if message.vend.is_some() => "BOOTP (RFC 951)".into(),
        Ok(None) => "BOOTP (no message type)".into(),
        Err(_) => "(malformed message type)".into(),
    };
    let m = &message;
    let _ = writeln!(
        out,
        "DHCPv4 {kind}, xid {:#010x}, {} bytes",
        m.xid,
        payload.len()
    );
    let op = match m.op {
        Message::BOOTREQUEST => "BOOTREQUEST",
        Message::BOOTREPLY => "BOOTREPLY",
        _ => "unknown",
    };
    let _ = writeln!(
        out,
        "  op {} ({op})  htype {}  hlen {}  hops {}  secs {}  flags {:#06x}{}",
        m.op,
        m.htype,
        m.hlen,
        m.hops,
        m.secs,
        m.flags,
        if m.broadcast() { " (broadcast)" } else { "" }
    );
    let _ = writeln!(
        out,
        "  ciaddr {}  yiaddr {}  siaddr {}  giaddr {}",
        m.ciaddr, m.yiaddr, m.siaddr, m.giaddr
    );
    let _ = write!(out, "  chaddr {}", Hex(m.hardware_address()));
    if m.chaddr
        .get(m.hardware_address().len()..)
        .is_some_and(|rest| rest.iter().any(|b| *b != 0))
    {
        let _ = write!(out, "  (padding not zero: {})", Hex(&m.chaddr));
    }
    out.push('\n');
    let overload = m.overload();
    fixed_field(out, "sname", &m.sname, overload.is_some_and(|o| o.sname()));
    fixed_field(out, "file", &m.file, overload.is_some_and(|o| o.file()));
    if let Some(vend) = &m.vend {
        let shown = if vend.iter().all(|b| *b == 0) {
            "64 zero bytes".to_string()
        } else {
            Hex(vend).to_string()
        };
        let _ = writeln!(out, "  @236 vend (RFC 951, no magic cookie): {shown}");
        return Outcome::Message {
            protocol: Dhcp::V4,
            faults: 0,
        };
    }
    let _ = writeln!(out, "  @236 magic cookie 99.130.83.99");

    // Areas in RFC 3396 order; `file` and `sname` only when option 52 makes them areas.
    let mut seen = [0usize; 256];
    for area in [Area::Options, Area::File, Area::Sname] {
        if m.field_tail(area).is_none() {
            continue;
        }
        let mut pads: Option<(usize, usize)> = None;
        for entry in m.entries() {
            match entry {
                Entry::Pad { offset, area: a } if a == area => match &mut pads {
                    Some((_, n)) => *n += 1,
                    None => pads = Some((offset, 1)),
                },
                Entry::Option(o) if o.area == area => {
                    flush_pads(out, &mut pads);
                    let instance = &mut seen[usize::from(o.code)];
                    *instance += 1;
                    option_line(out, m, &o, *instance);
                }
                _ => {}
            }
        }
        flush_pads(out, &mut pads);
        end_line(out, m, area);
    }
    let faults = m.validate().len();
    Outcome::Message {
        protocol: Dhcp::V4,
        faults,
    }
}

fn fixed_field(out: &mut String, name: &str, bytes: &[u8], overloaded: bool) {
    if overloaded {
        let _ = writeln!(out, "  {name}: holds options (option 52), listed below");
        return;
    }
    let text_len = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    let (text, rest) = bytes.split_at(text_len);
    if text.is_empty() && rest.iter().all(|b| *b == 0) {
        let _ = writeln!(out, "  {name}: (empty)");
        return;
    }
    let _ = write!(out, "  {name}: {}", Text(text));
    if rest.iter().skip(1).any(|b| *b != 0) {
        let _ = write!(out, "  (bytes after the terminating NUL: {})", Hex(rest));
    }
    out.push('\n');
}

fn flush_pads(out: &mut String, pads: &mut Option<(usize, usize)>) {
    if let Some((offset, n)) = pads.take() {
        let _ = writeln!(out, "  @{offset} pad x{n}");
    }
}

fn end_line(out: &mut String, m: &Message, area: Area) {
    let (field_len, tail) = match area {
        Area::Options => (None, Some(m.options.tail())),
        Area::File => (Some(128), m.field_tail(area)),
        Area::Sname => (Some(64), m.field_tail(area)),
    };
    let Some(tail) = tail else {
        return;
    };
    let end = match field_len {
        Some(len) => area.base() + len - tail.len() - 1,
        None => area.base() + m.options.encoded_len() - tail.len() - 1,
    };
    let _ = write!(out, "  @{end} end of {}", area.name());
    if !tail.is_empty() {
        if tail.iter().all(|b| *b == 0) {
            let _ = write!(out, ", then {} zero bytes", tail.len());
        } else {
            let _ = write!(out, ", then {} bytes: {}", tail.len(), Hex(tail));
        }
    }
    out.push('\n');
}

fn option_line(out: &mut String, m: &Message, o: &OptionRef<'_>, instance: usize) {
    let name = catalogue::name(o.code);
    let _ = write!(
        out,
        "  @{} option {} {name}, {} bytes",
        o.offset,
        o.code,
        o.data.len()
    );
    if o.area != Area::Options {
        let _ = write!(out, " (in {})", o.area.name());
    }
    if instance > 1 {
        let _ = writeln!(out, ": {} (continues instance 1, RFC 3396)", Hex(o.data));
        return;
    }
    let instances = m.option(o.code).map_or(1, |d| d.instances());
    let joined = if instances > 1 {
        format!(" [value joined from {instances} instances]")
    } else {
        String::new()
    };
    match m.value(o.code) {
        Ok(Some(OptionValue::RelayAgent(subs))) => {
            let _ = writeln!(out, "{joined}:");
            for s in subs {
                let _ = writeln!(
                    out,
                    "      sub-option {} {}, {} bytes: {}",
                    s.code,
                    catalogue::relay_sub_option_name(s.code),
                    s.data.len(),
                    Hex(&s.data)
                );
            }
        }
        Ok(Some(OptionValue::VendorOptions(blocks))) => {
            let _ = writeln!(out, "{joined}:");
            for b in blocks {
                let _ = writeln!(out, "      enterprise {}", b.enterprise);
                for s in b.data {
                    let _ = writeln!(
                        out,
                        "        sub-option {}, {} bytes: {}",
                        s.code,
                        s.data.len(),
                        Hex(&s.data)
                    );
                }
            }
        }
        Ok(Some(value)) => {
            let _ = writeln!(out, "{joined}: {value}");
        }
        Ok(None) => {
            let _ = writeln!(out, ": {}", Hex(o.data));
        }
        Err(e) => {
            let _ = writeln!(out, "{joined}: {}\n      MALFORMED: {e}", Hex(o.data));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcplab_wire::v4::OptionArea;

    #[test]
    fn every_overloaded_area_gets_its_end_line_in_order() {
        let mut m = Message::new(Message::BOOTREPLY, 1, [2, 0, 0, 0, 0, 1]);
        m.options
            .push(53, &[2])
            .and_then(|o| o.push(52, &[3]))
            .expect("options");
        let mut file = OptionArea::new();
        file.push_pad().push_pad();
        m.file = file.to_field().expect("file");
        let mut sname = OptionArea::new();
        sname.push(12, b"host").expect("sname");
        m.sname = sname.to_field().expect("sname");
        let mut out = String::new();
        dissect(&m.encode(), &mut out);
        let tail: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.starts_with("  @243"))
            .collect();
        assert_eq!(
            tail,
            [
                "  @243 option 52 Option Overload, 1 bytes: 3 (file and sname hold options)",
                "  @246 end of options",
                "  @108 pad x2",
                "  @110 end of file, then 125 zero bytes",
                "  @44 option 12 Host Name, 4 bytes (in sname): \"host\"",
                "  @50 end of sname, then 57 zero bytes",
            ]
        );
    }
}
