//! Building replies: the header copied from the query as RFC 2131 table 3 says, the options in
//! Kea's wire order (message type first, relay agent information last, the rest by code), and
//! where the reply goes (Kea's `Dhcpv4Srv::adjustRemoteAddr`).

use crate::{Interface, Transmit};
use dhcplab_wire::v4::{Message, MessageType, code};
use std::net::{Ipv4Addr, SocketAddrV4};

/// Smallest reply a BOOTP client must accept, and the size BOOTP replies are padded to.
pub(crate) const BOOTP_MIN_LEN: usize = 300;
/// Size every DHCP client must accept (RFC 2131 section 2).
const DEFAULT_MAX_SIZE: usize = 576;

/// Options of a reply, collected in any order and written in Kea's.
#[derive(Debug)]
pub(crate) struct Options {
    /// Per option, its code and where its data sits in `data`.
    list: Vec<(u8, std::ops::Range<usize>)>,
    /// The options' data, one after the other: one buffer for all of them.
    data: Vec<u8>,
}

impl Default for Options {
    fn default() -> Self {
        // Room for a usual reply's options at once.
        Self {
            list: Vec::with_capacity(16),
            data: Vec::with_capacity(128),
        }
    }
}

impl Options {
    /// Adds an option unless one of the same code is already there.
    pub fn add(&mut self, code: u8, data: &[u8]) {
        if !self.has(code) {
            let start = self.data.len();
            self.data.extend_from_slice(data);
            self.list.push((code, start..self.data.len()));
        }
    }

    pub fn has(&self, code: u8) -> bool {
        self.list.iter().any(|(c, _)| *c == code)
    }

    /// Removes the option of `code`, if there.
    pub fn remove(&mut self, code: u8) {
        self.list.retain(|(c, _)| *c != code);
    }

    /// Kea's order: 53 first, 82 last, the rest by code.
    fn ordered(&mut self) -> Vec<(u8, &[u8])> {
        let rank = |c: u8| match c {
            code::MESSAGE_TYPE => (0, c),
            code::RELAY_AGENT_INFO => (2, c),
            _ => (1, c),
        };
        self.list.sort_by_key(|(c, _)| rank(*c));
        self.list
            .iter()
            .map(|(c, r)| (*c, self.data.get(r.clone()).unwrap_or_default()))
            .collect()
    }
}

/// Options a reply keeps when it must shrink to fit the client's maximum message size.
const ESSENTIAL: [u8; 9] = [
    code::MESSAGE_TYPE,
    code::SERVER_ID,
    code::LEASE_TIME,
    code::RENEWAL_TIME,
    code::REBINDING_TIME,
    code::SUBNET_MASK,
    code::CLIENT_ID,
    code::RELAY_AGENT_INFO,
    code::OVERLOAD,
];

/// The reply to `query`: header fields per RFC 2131 table 3 (xid, flags, giaddr, htype, hlen
/// and chaddr copied; ciaddr kept in an ACK; hops 0, where Kea's `copyDefaultFields` copies
/// the query's), then `options`, trimmed to the client's maximum message size: options that
/// are not essential go first, from the last; then the Relay Agent Information option, which
/// RFC 3046 2.2 says is left out whole when it does not fit. `kind` is `None` for a BOOTP
/// reply (no message type; padded to 300 bytes); `inform` says the query is an INFORM.
///
/// Flags: a NAK through a relay asks it to broadcast (RFC 2131 4.3.2; Kea 2.2 copies the
/// client's flags instead), and so does an INFORM's ACK through a relay (Kea). An INFORM's ACK
/// that goes straight to the client has no relay fields.
pub(crate) fn build(
    query: &Message,
    inform: bool,
    kind: Option<MessageType>,
    yiaddr: Ipv4Addr,
    mut options: Options,
) -> Message {
    let mut m = Message::new(Message::BOOTREPLY, query.xid, [0; 6]);
    m.htype = query.htype;
    m.hlen = query.hlen;
    m.chaddr = query.chaddr;
    m.flags = query.flags;
    m.giaddr = query.giaddr;
    m.yiaddr = yiaddr;
    if matches!(kind, Some(MessageType::Ack) | None) {
        m.ciaddr = query.ciaddr;
    }
    let relayed = query.giaddr != Ipv4Addr::UNSPECIFIED;
    if relayed && kind == Some(MessageType::Nak) {
        m.flags |= Message::FLAG_BROADCAST;
    }
    if inform {
        if query.ciaddr == Ipv4Addr::UNSPECIFIED && relayed {
            m.flags |= Message::FLAG_BROADCAST;
        } else {
            m.giaddr = Ipv4Addr::UNSPECIFIED;
        }
    }
    let limit = max_size(query);
    let mut ordered = options.ordered();
    loop {
        let mut area = dhcplab_wire::v4::OptionArea::new();
        for (c, d) in &ordered {
            // Each value comes from a configuration or a query, so it fits RFC 3396 splitting.
            let _ = area.push_long(*c, d);
        }
        m.options = area;
        let len = m.encoded_len();
        if len <= limit || kind.is_none() {
            break;
        }
        let last_extra = ordered.iter().rposition(|(c, _)| !ESSENTIAL.contains(c));
        let relay_info = ordered
            .iter()
            .position(|(c, _)| *c == code::RELAY_AGENT_INFO);
        match last_extra.or(relay_info) {
            Some(i) => {
                ordered.remove(i);
            }
            None => break,
        }
    }
    if kind.is_none() {
        let len = m.encoded_len();
        if len < BOOTP_MIN_LEN {
            m.options.set_tail(vec![0; BOOTP_MIN_LEN - len]);
        }
    }
    m
}

/// The most a client accepts: option 57 when sent and at least 576, else 576.
fn max_size(query: &Message) -> usize {
    match query.max_message_size() {
        Ok(Some(n)) if usize::from(n) >= DEFAULT_MAX_SIZE => usize::from(n),
        _ => DEFAULT_MAX_SIZE,
    }
}

/// Where a reply of type `kind` goes (`inform`: the query is an INFORM), as Kea's
/// `adjustRemoteAddr` and `adjustIfaceData`:
/// - an INFORM's ACK to `ciaddr`, else to the relay, else to where the query came from;
/// - anything else to the relay on port 67; else to `ciaddr`; a NAK by broadcast; an offer or
///   ack by broadcast when the client sets the BROADCAST flag, else to its link address and
///   `yiaddr` without ARP; failing all that, to where the query came from.
///
/// RFC 2131 4.1 says a server broadcasts every NAK when `giaddr` is zero; Kea 2.2 unicasts a
/// NAK to `ciaddr`. The RFC is followed here.
pub(crate) fn transmit(
    query: &Message,
    inform: bool,
    reply: &Message,
    kind: Option<MessageType>,
    on: &Interface,
    source: SocketAddrV4,
) -> Transmit {
    let from = SocketAddrV4::new(on.address, dhcplab_wire::v4::SERVER_PORT);
    let client = |a: Ipv4Addr| SocketAddrV4::new(a, dhcplab_wire::v4::CLIENT_PORT);
    let relay = SocketAddrV4::new(query.giaddr, dhcplab_wire::v4::SERVER_PORT);
    let broadcast = (client(Ipv4Addr::BROADCAST), Some([0xff; 6]));
    let relayed = query.giaddr != Ipv4Addr::UNSPECIFIED && query.giaddr != Ipv4Addr::BROADCAST;
    let ciaddr = query.ciaddr != Ipv4Addr::UNSPECIFIED;
    let (destination, link_destination) = if inform {
        if ciaddr {
            (client(query.ciaddr), None)
        } else if relayed {
            (relay, None)
        } else {
            (client(*source.ip()), None)
        }
    } else if relayed {
        (relay, None)
    } else if kind == Some(MessageType::Nak) {
        broadcast
    } else if ciaddr {
        (client(query.ciaddr), None)
    } else if reply.yiaddr != Ipv4Addr::UNSPECIFIED {
        if query.broadcast() || !on.direct_response || query.htype != 1 || query.hlen != 6 {
            broadcast
        } else {
            let mut mac = [0; 6];
            mac.copy_from_slice(&query.chaddr[..6]);
            (client(reply.yiaddr), Some(mac))
        }
    } else {
        (client(*source.ip()), None)
    };
    Transmit {
        interface: on.index,
        source: from,
        destination,
        link_destination,
        payload: reply.encode(),
    }
}
