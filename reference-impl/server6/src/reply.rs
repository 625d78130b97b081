//! Building replies as kea-dhcp6 lays them out: Kea keeps a message's options (and an IA's)
//! in a multimap keyed by option code, so they go on the wire in ascending code order, those
//! of one code in the order they were added. A relayed reply is wrapped in one Relay-repl per
//! Relay-forw, each echoing the relay's Interface-Id before the Relay Message option (Kea's
//! `Pkt6::copyRelayInfo` and `packUDP`).

use dhcplab_wire::v6::{ClientMessage, Message, MessageType, Options, RelayMessage, code};
use std::net::Ipv6Addr;

/// An option list built in any order and written sorted by code.
#[derive(Debug, Clone, Default)]
pub(crate) struct OptionList(Vec<(u16, Vec<u8>)>);

impl OptionList {
    pub fn push(&mut self, code: u16, data: Vec<u8>) {
        self.0.push((code, data));
    }

    pub fn has(&self, code: u16) -> bool {
        self.0.iter().any(|(c, _)| *c == code)
    }

    /// Removes every option of `code` (Kea's `setStatusCode` before adding the new one).
    pub fn remove(&mut self, code: u16) {
        self.0.retain(|(c, _)| *c != code);
    }

    /// The options sorted by code (stable), as bytes.
    fn sorted(&self) -> Vec<(u16, &[u8])> {
        let mut v: Vec<(u16, &[u8])> = self.0.iter().map(|(c, d)| (*c, d.as_slice())).collect();
        v.sort_by_key(|(c, _)| *c);
        v
    }

    /// The options' wire bytes, sorted by code.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (c, d) in self.sorted() {
            out.extend_from_slice(&c.to_be_bytes());
            // Options the server builds are short; an overlong one is cut to what fits.
            let d = &d[..d.len().min(usize::from(u16::MAX))];
            out.extend_from_slice(&(d.len() as u16).to_be_bytes());
            out.extend_from_slice(d);
        }
        out
    }

    fn into_options(self) -> Options {
        let mut o = Options::new();
        for (c, d) in self.sorted() {
            // Data the server built fits in an option: lengths are checked in `encode`'s way.
            let _ = o.push(c, &d[..d.len().min(usize::from(u16::MAX))]);
        }
        o
    }
}

/// Status Code option data (RFC 8415 21.13).
pub(crate) fn status(code: u16, message: &str) -> Vec<u8> {
    let mut d = code.to_be_bytes().to_vec();
    d.extend_from_slice(message.as_bytes());
    d
}

/// IA Address option data (RFC 8415 21.6), no options inside.
pub(crate) fn ia_address(a: Ipv6Addr, preferred: u32, valid: u32) -> Vec<u8> {
    let mut d = a.octets().to_vec();
    d.extend_from_slice(&preferred.to_be_bytes());
    d.extend_from_slice(&valid.to_be_bytes());
    d
}

/// IA Prefix option data (RFC 8415 21.22), no options inside.
pub(crate) fn ia_prefix(p: Ipv6Addr, len: u8, preferred: u32, valid: u32) -> Vec<u8> {
    let mut d = preferred.to_be_bytes().to_vec();
    d.extend_from_slice(&valid.to_be_bytes());
    d.push(len);
    d.extend_from_slice(&p.octets());
    d
}

/// An IA_NA or IA_PD of a reply.
#[derive(Debug, Clone)]
pub(crate) struct IaReply {
    pub code: u16,
    pub iaid: u32,
    pub t1: u32,
    pub t2: u32,
    pub options: OptionList,
}

impl IaReply {
    pub fn new(code: u16, iaid: u32) -> Self {
        Self {
            code,
            iaid,
            t1: 0,
            t2: 0,
            options: OptionList::default(),
        }
    }

    /// Adds a Status Code.
    pub fn status(&mut self, code: u16, message: &str) {
        self.options.push(code::STATUS_CODE, status(code, message));
    }

    /// Replaces any Status Code with this one.
    pub fn set_status(&mut self, code: u16, message: &str) {
        self.options.remove(code::STATUS_CODE);
        self.status(code, message);
    }

    pub fn data(&self) -> Vec<u8> {
        let mut d = self.iaid.to_be_bytes().to_vec();
        d.extend_from_slice(&self.t1.to_be_bytes());
        d.extend_from_slice(&self.t2.to_be_bytes());
        d.extend_from_slice(&self.options.encode());
        d
    }
}

/// The Relay Source Port option (RFC 8357): the relay listens on the query's source port.
pub(crate) const RELAY_SOURCE_PORT: u16 = 135;

/// What one relay layer of the query said, for the Relay-repl that answers it.
#[derive(Debug, Clone)]
pub(crate) struct RelayLayer {
    pub hop_count: u8,
    pub link_address: Ipv6Addr,
    pub peer_address: Ipv6Addr,
    pub interface_id: Option<Vec<u8>>,
    /// Relay Source Port option (RFC 8357) data, echoed as Kea's `copyRelayInfo` does.
    pub source_port: Option<Vec<u8>>,
}

/// The reply's bytes: the message, wrapped in a Relay-repl for each of `relays` (outermost
/// first, as they were unwrapped).
pub(crate) fn encode(
    msg_type: MessageType,
    xid: u32,
    options: OptionList,
    relays: &[RelayLayer],
) -> Vec<u8> {
    let mut m = ClientMessage::new(msg_type, xid);
    m.options = options.into_options();
    let mut bytes = Message::Client(m).encode();
    for layer in relays.iter().rev() {
        let mut o = OptionList::default();
        if let Some(id) = &layer.interface_id {
            o.push(code::INTERFACE_ID, id.clone());
        }
        if let Some(port) = &layer.source_port {
            o.push(RELAY_SOURCE_PORT, port.clone());
        }
        // The Relay Message goes last, after the relay's own options (Kea's packUDP).
        let mut options = o.into_options();
        let _ = options.push(
            code::RELAY_MSG,
            &bytes[..bytes.len().min(usize::from(u16::MAX))],
        );
        bytes = Message::Relay(RelayMessage {
            msg_type: MessageType::RELAY_REPL,
            hop_count: layer.hop_count,
            link_address: layer.link_address,
            peer_address: layer.peer_address,
            options,
        })
        .encode();
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_go_out_sorted_by_code_keeping_the_order_within_a_code() {
        let mut l = OptionList::default();
        l.push(25, vec![1]);
        l.push(2, vec![2]);
        l.push(3, vec![3]);
        l.push(2, vec![4]);
        assert_eq!(
            l.encode(),
            vec![0, 2, 0, 1, 2, 0, 2, 0, 1, 4, 0, 3, 0, 1, 3, 0, 25, 0, 1, 1]
        );
    }

    #[test]
    fn relay_layers_wrap_inside_out_with_interface_id_first() {
        let relays = [
            RelayLayer {
                hop_count: 1,
                link_address: Ipv6Addr::UNSPECIFIED,
                peer_address: "2001:db8:1::1".parse().expect("addr"),
                interface_id: None,
                source_port: None,
            },
            RelayLayer {
                hop_count: 0,
                link_address: "2001:db8:2::1".parse().expect("addr"),
                peer_address: "fe80::1".parse().expect("addr"),
                interface_id: Some(b"port7".to_vec()),
                source_port: None,
            },
        ];
        let bytes = encode(MessageType::REPLY, 5, OptionList::default(), &relays);
        let outer = Message::decode(&bytes).expect("decodes");
        assert_eq!(outer.msg_type(), MessageType::RELAY_REPL);
        let inner = outer.relayed().expect("valid").expect("present");
        let codes: Vec<u16> = inner.options().iter().map(|o| o.code).collect();
        assert_eq!(codes, vec![code::INTERFACE_ID, code::RELAY_MSG]);
        let reply = inner.relayed().expect("valid").expect("present");
        assert_eq!(reply.msg_type(), MessageType::REPLY);
    }
}
