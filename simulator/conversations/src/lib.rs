//! The DHCP conversations in a capture, what replay and pcap2scenario start from: every DHCPv4
//! and DHCPv6 message, who sent it (client, server or relay), grouped into conversations by
//! client and transaction — DHCPv4 by hardware address and xid (the conversation known by its
//! client identifier, option 61, when a message gives one); DHCPv6 by client DUID and transaction id, read from the innermost message of
//! relay nesting. A frame that does not decode is reported with its record and byte offset
//! and skipped; nothing in a capture makes this panic.

mod defrag;

pub use defrag::{Fragment, Reassembler};

use dhcplab_capture::{CaptureError, Record};
use dhcplab_frame::{Decoded, Dhcp, FrameErrorKind, LinkType};
use dhcplab_wire::{v4, v6};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// DHCPv4 or DHCPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// DHCPv4 and BOOTP.
    V4,
    /// DHCPv6.
    V6,
}

/// Who sent a message, as the capture shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A client (a BOOTREQUEST from port 68, a DHCPv6 client message).
    Client,
    /// A server (a BOOTREPLY from a server's address, ADVERTISE, REPLY, RELAY-REPL).
    Server,
    /// A relay agent (a BOOTREQUEST from port 67, a BOOTREPLY from the giaddr, RELAY-FORW).
    Relay,
}

/// How a conversation's client is known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientKey {
    /// DHCPv4 client identifier (option 61), its bytes.
    ClientId(Vec<u8>),
    /// DHCPv4 hardware type and address (`chaddr` cut to `hlen`).
    Hardware(u8, Vec<u8>),
    /// DHCPv6 client DUID.
    Duid(Vec<u8>),
    /// None given (a DHCPv6 message without a client identifier).
    Unknown,
}

/// One DHCP message of the capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its frame's number in the capture, from 1.
    pub record: u64,
    /// Capture time, nanoseconds since 1970.
    pub at_ns: i128,
    /// DHCPv4 or DHCPv6.
    pub family: Family,
    /// UDP source.
    pub src: SocketAddr,
    /// UDP destination.
    pub dst: SocketAddr,
    /// Who sent it.
    pub sender: Role,
    /// Its type's name (`DISCOVER`, `SOLICIT`, `RELAY-FORW`, `BOOTREQUEST`), of the
    /// innermost message for a DHCPv6 relay message.
    pub kind: String,
    /// It went through a relay (giaddr set; DHCPv6 relay nesting).
    pub relayed: bool,
    /// The transaction it belongs to (xid; DHCPv6 transaction id of the innermost message).
    pub xid: u32,
    /// Its client.
    pub client: ClientKey,
    /// The UDP payload, as captured.
    pub payload: Vec<u8>,
}

/// A conversation: one client's messages of one transaction, with the answers to them, in
/// capture order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// DHCPv4 or DHCPv6.
    pub family: Family,
    /// Its client.
    pub client: ClientKey,
    /// Its transaction id.
    pub xid: u32,
    /// Its messages, as indices into [`Found::messages`].
    pub messages: Vec<usize>,
}

/// A frame skipped because it could not be read as what its ports say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its frame's number, from 1.
    pub record: u64,
    /// Why, with the byte offset where it went wrong when known.
    pub why: String,
}

/// What a capture holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// Every DHCP message, in capture order.
    pub messages: Vec<Message>,
    /// The conversations, in the order of their first message.
    pub conversations: Vec<Conversation>,
    /// Frames that are not DHCP (ARP, other UDP, ...).
    pub other_frames: u64,
    /// Frames skipped, with the reason.
    pub skipped: Vec<Skipped>,
    /// Why reading stopped early (a capture cut short), if it did.
    pub stopped: Option<String>,
}

impl Found {
    /// The addresses that sent as `role`, each once, in order of first appearance.
    pub fn addresses(&self, role: Role) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = Vec::new();
        for m in self.messages.iter().filter(|m| m.sender == role) {
            if !out.contains(&m.src.ip()) {
                out.push(m.src.ip());
            }
        }
        out
    }

    /// A listing for people and snapshots: a line per conversation (family, client, xid, then
    /// each message as sender and type, `+relay` when relayed), then the counts.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for c in &self.conversations {
            let client = match &c.client {
                ClientKey::ClientId(b) => format!("id {}", hex(b)),
                ClientKey::Hardware(t, b) => format!("hw {t}/{}", hex(b)),
                ClientKey::Duid(b) => format!("duid {}", hex(b)),
                ClientKey::Unknown => "unknown".to_string(),
            };
            let family = match c.family {
                Family::V4 => "v4",
                Family::V6 => "v6",
            };
            let steps: Vec<String> = c
                .messages
                .iter()
                .filter_map(|&i| self.messages.get(i))
                .map(|m| {
                    let who = match m.sender {
                        Role::Client => "C",
                        Role::Server => "S",
                        Role::Relay => "R",
                    };
                    let relayed = if m.relayed { "+relay" } else { "" };
                    format!("#{} {who}:{}{relayed}", m.record, m.kind)
                })
                .collect();
            out.push_str(&format!(
                "{family} {client} xid {:#010x}: {}\n",
                c.xid,
                steps.join(" ")
            ));
        }
        for s in &self.skipped {
            out.push_str(&format!("skipped #{}: {}\n", s.record, s.why));
        }
        if let Some(why) = &self.stopped {
            out.push_str(&format!("stopped: {why}\n"));
        }
        out.push_str(&format!(
            "{} messages in {} conversations; clients {}, servers {:?}, relays {:?}; {} other frames, {} skipped\n",
            self.messages.len(),
            self.conversations.len(),
            self.clients().len(),
            self.addresses(Role::Server),
            self.addresses(Role::Relay),
            self.other_frames,
            self.skipped.len()
        ));
        out
    }

    /// The clients, each once, in order of first appearance.
    pub fn clients(&self) -> Vec<&ClientKey> {
        let mut out: Vec<&ClientKey> = Vec::new();
        for c in &self.conversations {
            if !out.contains(&&c.client) {
                out.push(&c.client);
            }
        }
        out
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads every record and finds the conversations: a record that cannot be read ends the
/// reading (what came before is kept, and `stopped` says why); a frame that cannot be decoded
/// is skipped with the reason.
pub fn find(records: impl IntoIterator<Item = Result<Record, CaptureError>>) -> Found {
    let mut found = Found::default();
    let mut by_key: BTreeMap<(Family, ClientKey, u32), usize> = BTreeMap::new();
    let mut fragments = Reassembler::default();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                found.stopped = Some(e.to_string());
                break;
            }
        };
        let Some((message, group)) = classify(&record, &mut fragments, &mut found) else {
            continue;
        };
        let key = (message.family, group, message.xid);
        let index = found.messages.len();
        match by_key.get(&key) {
            Some(&c) => {
                let conversation = &mut found.conversations[c];
                conversation.messages.push(index);
                if matches!(
                    conversation.client,
                    ClientKey::Hardware(..) | ClientKey::Unknown
                ) {
                    conversation.client = message.client.clone();
                }
            }
            None => {
                by_key.insert(key, found.conversations.len());
                found.conversations.push(Conversation {
                    family: message.family,
                    client: message.client.clone(),
                    xid: message.xid,
                    messages: vec![index],
                });
            }
        }
        found.messages.push(message);
    }
    for record in fragments.incomplete() {
        found.skipped.push(Skipped {
            record,
            why: "IPv4 fragments of a datagram whose other fragments the capture does not hold"
                .into(),
        });
    }
    found
}

/// The DHCP message of `record` and the key its conversation is grouped by, if it holds one;
/// what it holds otherwise is counted or recorded as skipped in `found`. A DHCPv4 message is
/// grouped by its hardware address, which every message of a transaction carries (a server
/// need not echo the client identifier, RFC 6842 came late); the conversation is then known by
/// the client identifier when any of its messages gives one.
fn classify(
    record: &Record,
    fragments: &mut Reassembler,
    found: &mut Found,
) -> Option<(Message, ClientKey)> {
    let Some(link) = record.link_type else {
        skip(
            found,
            record,
            format!("link type {} is not read", record.linktype),
        );
        return None;
    };
    match dhcplab_frame::decode(link, &record.data) {
        Err(e) if e.kind == FrameErrorKind::Fragment => {
            let packet = record.data.get(e.offset..).unwrap_or_default();
            match fragments.add(record.number, packet) {
                Fragment::Complete(whole) => read(record, LinkType::RawIpv4, &whole, found),
                Fragment::Waiting => None,
                Fragment::Bad(why) => {
                    skip(
                        found,
                        record,
                        format!("at byte {} of the frame: {why}", e.offset),
                    );
                    None
                }
            }
        }
        _ => read(record, link, &record.data, found),
    }
}

fn skip(found: &mut Found, record: &Record, why: String) {
    found.skipped.push(Skipped {
        record: record.number,
        why,
    });
}

/// The DHCP message in `data` (the record's frame, or a datagram reassembled from it and the
/// fragments before it).
fn read(
    record: &Record,
    link: LinkType,
    data: &[u8],
    found: &mut Found,
) -> Option<(Message, ClientKey)> {
    let udp = match dhcplab_frame::decode(link, data) {
        Ok(Decoded::Udp(u)) => u,
        Ok(Decoded::Other(_)) => {
            found.other_frames += 1;
            return None;
        }
        Err(e) => {
            skip(found, record, e.to_string());
            return None;
        }
    };
    let family = match udp.dhcp() {
        Some(Dhcp::V4) => Family::V4,
        Some(Dhcp::V6) => Family::V6,
        None => {
            found.other_frames += 1;
            return None;
        }
    };
    let start = udp.payload_offset;
    let read = match family {
        Family::V4 => v4_message(udp.payload, udp.src, udp.dst)
            .map_err(|e| format!("DHCPv4 (from byte {start} of the frame): {e}")),
        Family::V6 => v6_message(udp.payload, udp.src)
            .map_err(|e| format!("DHCPv6 (from byte {start} of the frame): {e}")),
    };
    match read {
        Ok((sender, kind, relayed, xid, client, group)) => Some((
            Message {
                record: record.number,
                at_ns: record.timestamp_ns,
                family,
                src: udp.src,
                dst: udp.dst,
                sender,
                kind,
                relayed,
                xid,
                client,
                payload: udp.payload.to_vec(),
            },
            group,
        )),
        Err(why) => {
            skip(found, record, why);
            None
        }
    }
}

/// Sender, type name, relayed, transaction id, client and grouping key of a message.
type Classified = (Role, String, bool, u32, ClientKey, ClientKey);

fn v4_message(payload: &[u8], src: SocketAddr, dst: SocketAddr) -> Result<Classified, String> {
    let m = v4::Message::decode(payload).map_err(|e| e.to_string())?;
    let relayed = !m.giaddr.is_unspecified();
    let sender = match (m.op, src.port(), dst.port()) {
        (1, 67, _) => Role::Relay,
        (1, _, _) => Role::Client,
        (_, _, 67) => Role::Server,
        _ if relayed && src.ip() == IpAddr::V4(m.giaddr) => Role::Relay,
        _ => Role::Server,
    };
    let kind = match m.message_type() {
        Ok(Some(t)) => t.to_string(),
        Ok(None) if m.op == 1 => "BOOTREQUEST".to_string(),
        Ok(None) => "BOOTREPLY".to_string(),
        Err(e) => return Err(e.to_string()),
    };
    let hardware = ClientKey::Hardware(m.htype, m.hardware_address().to_vec());
    let client = match m.option(61) {
        Some(id) if !id.data.is_empty() => ClientKey::ClientId(id.data.into_owned()),
        _ => hardware.clone(),
    };
    Ok((sender, kind, relayed, m.xid, client, hardware))
}

fn v6_message(payload: &[u8], src: SocketAddr) -> Result<Classified, String> {
    let outer = v6::Message::decode(payload).map_err(|e| e.to_string())?;
    let outer_type = outer.msg_type();
    let inner = outer.innermost().map_err(|e| e.to_string())?;
    let relayed = outer_type.is_relay();
    let sender = if outer_type == v6::MessageType::RELAY_FORW {
        Role::Relay
    } else if outer_type == v6::MessageType::RELAY_REPL {
        Role::Server
    } else if src.port() == 546 {
        Role::Client
    } else {
        match inner.msg_type() {
            t if t == v6::MessageType::ADVERTISE
                || t == v6::MessageType::REPLY
                || t == v6::MessageType::RECONFIGURE =>
            {
                Role::Server
            }
            _ => Role::Client,
        }
    };
    let inner_type = inner.msg_type();
    let kind = inner_type
        .name()
        .map_or_else(|| format!("type {}", inner_type.0), str::to_string);
    let (xid, client) = match &inner {
        v6::Message::Client(c) => (
            c.xid,
            match inner.options().client_id() {
                Ok(Some(d)) => ClientKey::Duid(d.to_bytes()),
                _ => ClientKey::Unknown,
            },
        ),
        v6::Message::Relay(_) => (0, ClientKey::Unknown),
    };
    Ok((sender, kind, relayed, xid, client.clone(), client))
}
