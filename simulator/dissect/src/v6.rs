//! DHCPv6 blocks, relay messages and encapsulated options indented under their parent.

use crate::Outcome;
use dhcplab_frame::Dhcp;
use dhcplab_wire::v4::Hex;
use dhcplab_wire::v6::{MAX_DEPTH, Message, OptionValue, OptionsRef, catalogue};
use std::fmt::Write;

pub(crate) fn dissect(payload: &[u8], out: &mut String) -> Outcome {
    match Message::decode(payload) {
        Ok(m) => {
            message(out, &m, payload.len(), 0);
            Outcome::Message {
                protocol: Dhcp::V6,
                faults: m.validate().len(),
            }
        }
        Err(e) => {
            let _ = writeln!(out, "DHCPv6 MALFORMED, {} bytes: {e}", payload.len());
            Outcome::Malformed(Dhcp::V6)
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("    ");
    }
}

fn message(out: &mut String, m: &Message, len: usize, depth: usize) {
    indent(out, depth);
    match m {
        Message::Client(c) => {
            let _ = writeln!(
                out,
                "DHCPv6 {}, xid {:#08x}, {len} bytes",
                c.msg_type, c.xid
            );
        }
        Message::Relay(r) => {
            let _ = writeln!(
                out,
                "DHCPv6 {}, hop count {}, link-address {}, peer-address {}, {len} bytes",
                r.msg_type, r.hop_count, r.link_address, r.peer_address
            );
        }
    }
    options(out, m.options(), depth);
}

fn options(out: &mut String, list: OptionsRef<'_>, depth: usize) {
    for o in list.iter() {
        indent(out, depth);
        let _ = write!(
            out,
            "  @{} option {} {}, {} bytes",
            o.offset,
            o.code,
            catalogue::name(o.code),
            o.data.len()
        );
        let Some((_, format)) = catalogue::lookup(o.code) else {
            let _ = writeln!(out, ": {}", Hex(o.data));
            continue;
        };
        match OptionValue::parse(format, o.data, o.data_offset()) {
            Err(e) => {
                let _ = writeln!(out, ": {}", Hex(o.data));
                indent(out, depth);
                let _ = writeln!(
                    out,
                    "      MALFORMED: {}",
                    e.locate(o.code, o.data_offset())
                );
            }
            Ok(value) => {
                let _ = writeln!(out, ": {value}");
                if depth + 1 >= MAX_DEPTH {
                    if value.nested().is_some()
                        || matches!(
                            value,
                            OptionValue::RelayMessage(_) | OptionValue::VendorOpts { .. }
                        )
                    {
                        indent(out, depth + 1);
                        let _ =
                            writeln!(out, "  (nested deeper than {MAX_DEPTH} levels, not shown)");
                    }
                    continue;
                }
                if let OptionValue::RelayMessage(inner) = &value {
                    message(out, inner, o.data.len(), depth + 1);
                } else if let Some(nested) = value.nested() {
                    options(out, nested, depth + 1);
                } else if let Some(subs) = value.sub_options() {
                    for s in subs.iter() {
                        indent(out, depth + 1);
                        let _ = writeln!(
                            out,
                            "  @{} sub-option {}, {} bytes: {}",
                            s.offset,
                            s.code,
                            s.data.len(),
                            Hex(s.data)
                        );
                    }
                }
            }
        }
    }
}
