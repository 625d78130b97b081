//! The DHCPv6 message (RFC 8415 section 8 and 9): client/server form and relay form.

use super::catalogue::{self, MessageType};
use super::options::{Options, OptionsRef};
use super::value::OptionValue;
use crate::error::{ContentErrorKind, DecodeError, DecodeErrorKind, OptionError};
use std::net::Ipv6Addr;

/// How deep `validate` and dissectors follow nested options and relay messages.
pub const MAX_DEPTH: usize = 32;

/// A client or server message: type, 24-bit transaction ID, options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMessage {
    /// Message type; never RELAY-FORW or RELAY-REPL (those are [`RelayMessage`]s).
    pub msg_type: MessageType,
    /// Transaction ID; only the low 24 bits go on the wire.
    pub xid: u32,
    /// The options.
    pub options: Options,
}

/// A RELAY-FORW or RELAY-REPL message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayMessage {
    /// RELAY-FORW or RELAY-REPL.
    pub msg_type: MessageType,
    /// Number of relays the message has passed.
    pub hop_count: u8,
    /// Address that identifies the client's link.
    pub link_address: Ipv6Addr,
    /// Address of the client or relay the message came from.
    pub peer_address: Ipv6Addr,
    /// The options, the relayed message among them.
    pub options: Options,
}

/// A DHCPv6 message, lossless: `Message::decode(b)?.encode() == b` for every `b` that decodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Any message but the two relay types.
    Client(ClientMessage),
    /// RELAY-FORW or RELAY-REPL.
    Relay(RelayMessage),
}

const CLIENT_HEADER: usize = 4;
const RELAY_HEADER: usize = 34;

impl ClientMessage {
    /// A message with no options.
    pub fn new(msg_type: MessageType, xid: u32) -> Self {
        Self {
            msg_type,
            xid: xid & 0x00ff_ffff,
            options: Options::new(),
        }
    }
}

impl Message {
    /// Decodes a UDP payload, checking the header and the framing of the top-level options.
    /// Options inside options (IA_NA, relay message, ...) are checked when read.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_at(bytes, 0)
    }

    /// Decodes a message that sits at `base` in an outer payload, so offsets point there.
    pub(crate) fn decode_at(bytes: &[u8], base: usize) -> Result<Self, DecodeError> {
        let truncated = |what, needed| {
            DecodeError::new(
                base + bytes.len(),
                DecodeErrorKind::Truncated {
                    what,
                    needed,
                    available: bytes.len(),
                },
            )
        };
        let Some(&first) = bytes.first() else {
            return Err(truncated("message header", CLIENT_HEADER));
        };
        let msg_type = MessageType(first);
        if msg_type.is_relay() {
            let header: &[u8; RELAY_HEADER] = bytes
                .first_chunk()
                .ok_or_else(|| truncated("relay header", RELAY_HEADER))?;
            let mut link = [0u8; 16];
            link.copy_from_slice(&header[2..18]);
            let mut peer = [0u8; 16];
            peer.copy_from_slice(&header[18..34]);
            Ok(Message::Relay(RelayMessage {
                msg_type,
                hop_count: header[1],
                link_address: Ipv6Addr::from(link),
                peer_address: Ipv6Addr::from(peer),
                options: Options::decode(
                    bytes.get(RELAY_HEADER..).unwrap_or_default(),
                    base + RELAY_HEADER,
                )?,
            }))
        } else {
            let header: &[u8; CLIENT_HEADER] = bytes
                .first_chunk()
                .ok_or_else(|| truncated("message header", CLIENT_HEADER))?;
            Ok(Message::Client(ClientMessage {
                msg_type,
                xid: u32::from_be_bytes([0, header[1], header[2], header[3]]),
                options: Options::decode(
                    bytes.get(CLIENT_HEADER..).unwrap_or_default(),
                    base + CLIENT_HEADER,
                )?,
            }))
        }
    }

    /// The message's wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RELAY_HEADER + self.options().as_bytes().len());
        self.encode_header(&mut out);
        out.extend_from_slice(self.options().as_bytes());
        out
    }

    /// Appends the header (4 or 34 bytes).
    pub(crate) fn encode_header(&self, out: &mut Vec<u8>) {
        match self {
            Message::Client(m) => {
                out.push(m.msg_type.0);
                out.extend_from_slice(&m.xid.to_be_bytes()[1..]);
            }
            Message::Relay(m) => {
                out.push(m.msg_type.0);
                out.push(m.hop_count);
                out.extend_from_slice(&m.link_address.octets());
                out.extend_from_slice(&m.peer_address.octets());
            }
        }
    }

    /// The message type.
    pub fn msg_type(&self) -> MessageType {
        match self {
            Message::Client(m) => m.msg_type,
            Message::Relay(m) => m.msg_type,
        }
    }

    /// The top-level options.
    pub fn options(&self) -> OptionsRef<'_> {
        match self {
            Message::Client(m) => m.options.view_at(CLIENT_HEADER),
            Message::Relay(m) => m.options.view_at(RELAY_HEADER),
        }
    }

    /// The message a relay message carries (option 9), or `None` for a client message or a
    /// relay message without one.
    pub fn relayed(&self) -> Result<Option<Message>, OptionError> {
        match self {
            Message::Client(_) => Ok(None),
            Message::Relay(_) => self.options().relay_message(),
        }
    }

    /// The client's message inside any number of relay layers (at most [`MAX_DEPTH`]); a
    /// relay message without a Relay Message option is an error.
    pub fn innermost(&self) -> Result<Message, OptionError> {
        let mut current = self.clone();
        for _ in 0..MAX_DEPTH {
            match (&current, current.relayed()?) {
                (_, Some(inner)) => current = inner,
                (Message::Client(_), None) => return Ok(current),
                (Message::Relay(_), None) => {
                    return Err(OptionError {
                        code: catalogue::code::RELAY_MSG,
                        offset: current.options().end_offset(),
                        kind: ContentErrorKind::Placement(
                            "relay message without a Relay Message option",
                        ),
                    });
                }
            }
        }
        let at = current
            .options()
            .get(catalogue::code::RELAY_MSG)
            .map_or(0, |o| o.offset);
        Err(OptionError {
            code: catalogue::code::RELAY_MSG,
            offset: at,
            kind: ContentErrorKind::TooDeep(MAX_DEPTH),
        })
    }

    /// Every content fault in known options, nested options and relayed messages included.
    pub fn validate(&self) -> Vec<OptionError> {
        let mut faults = Vec::new();
        validate_list(self.options(), 0, &mut faults);
        faults
    }
}

fn validate_list(list: OptionsRef<'_>, depth: usize, faults: &mut Vec<OptionError>) {
    for option in list.iter() {
        let Some((_, format)) = catalogue::lookup(option.code) else {
            continue;
        };
        if depth >= MAX_DEPTH {
            faults.push(OptionError {
                code: option.code,
                offset: option.offset,
                kind: ContentErrorKind::TooDeep(MAX_DEPTH),
            });
            return;
        }
        match OptionValue::parse(format, option.data, option.data_offset()) {
            Err(e) => faults.push(e.locate(option.code, option.data_offset())),
            Ok(OptionValue::RelayMessage(inner)) => {
                validate_list(inner.options(), depth + 1, faults)
            }
            Ok(value) => {
                if let Some(nested) = value.nested() {
                    validate_list(nested, depth + 1, faults);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v6::{RawBuilder, code};

    fn solicit() -> Message {
        let mut m = ClientMessage::new(MessageType::SOLICIT, 0x00ab_cdef);
        m.options
            .push(code::CLIENT_ID, &[0, 3, 0, 1, 2, 4, 6, 8, 10, 12])
            .and_then(|o| o.push(code::ELAPSED_TIME, &[0, 0]))
            .and_then(|o| o.push(code::IA_NA, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]))
            .expect("push");
        Message::Client(m)
    }

    #[test]
    fn client_round_trip_and_typed_access() {
        let m = solicit();
        let bytes = m.encode();
        assert_eq!(&bytes[..4], &[1, 0xab, 0xcd, 0xef]);
        assert_eq!(Message::decode(&bytes), Ok(m.clone()));
        let ias = m.options().ia_na().expect("ia_na");
        assert_eq!(ias.len(), 1);
        assert_eq!(ias[0].iaid, 1);
        assert!(m.validate().is_empty());
    }

    #[test]
    fn relay_nesting_and_offsets() {
        let inner = solicit().encode();
        let mut relay = RelayMessage {
            msg_type: MessageType::RELAY_FORW,
            hop_count: 0,
            link_address: "2001:db8::1".parse().expect("addr"),
            peer_address: "fe80::1".parse().expect("addr"),
            options: Options::new(),
        };
        relay
            .options
            .push(code::INTERFACE_ID, b"eth0")
            .and_then(|o| o.push(code::RELAY_MSG, &inner))
            .expect("push");
        let outer = Message::Relay(relay);
        let bytes = outer.encode();
        let back = Message::decode(&bytes).expect("decode");
        assert_eq!(back, outer);
        assert_eq!(back.innermost(), Ok(solicit()));
        // Offsets of options in the relayed message point into the outer payload.
        let relayed = back.relayed().expect("ok").expect("some");
        let client_id = relayed.options().get(code::CLIENT_ID).expect("client id");
        assert_eq!(&bytes[client_id.offset..client_id.offset + 2], &[0, 1]);
    }

    #[test]
    fn nested_faults_are_found_by_validate() {
        let bytes = RawBuilder::new(MessageType::SOLICIT, 7)
            .option(
                code::IA_NA,
                &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 24, 0, 0],
            )
            .build();
        let m = Message::decode(&bytes).expect("framing is fine");
        let faults = m.validate();
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].code, code::IA_NA);
        assert_eq!(faults[0].offset, 4 + 4 + 12);
    }

    #[test]
    fn built_messages_report_offsets_in_their_own_bytes() {
        let mut client = ClientMessage::new(MessageType::REQUEST, 1);
        client.options.push(code::ELAPSED_TIME, &[0]).expect("push");
        let m = Message::Client(client);
        let faults = m.validate();
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].offset, 4 + 4);
        assert_eq!(
            Message::decode(&m.encode()).map(|d| d.validate()),
            Ok(faults)
        );
        let relay = Message::Relay(RelayMessage {
            msg_type: MessageType::RELAY_FORW,
            hop_count: 0,
            link_address: Ipv6Addr::UNSPECIFIED,
            peer_address: Ipv6Addr::UNSPECIFIED,
            options: Options::new(),
        });
        let err = relay.innermost().expect_err("no relay message option");
        assert_eq!(err.offset, 34);
        assert!(matches!(err.kind, ContentErrorKind::Placement(_)));
    }

    #[test]
    fn equal_options_are_equal_wherever_they_sit() {
        let m = solicit();
        let relayed = Message::decode(
            &Message::Relay(RelayMessage {
                msg_type: MessageType::RELAY_FORW,
                hop_count: 0,
                link_address: Ipv6Addr::UNSPECIFIED,
                peer_address: Ipv6Addr::UNSPECIFIED,
                options: {
                    let mut o = Options::new();
                    o.push(code::RELAY_MSG, &m.encode()).expect("push");
                    o
                },
            })
            .encode(),
        )
        .map(|r| r.relayed())
        .expect("decode")
        .expect("valid")
        .expect("present");
        assert_eq!(relayed.options().ia_na(), m.options().ia_na());
        assert_ne!(
            relayed.options().get(code::IA_NA).map(|o| o.offset),
            m.options().get(code::IA_NA).map(|o| o.offset)
        );
    }

    #[test]
    fn header_faults() {
        assert_eq!(Message::decode(&[]).map_err(|e| e.offset), Err(0));
        assert_eq!(Message::decode(&[1, 2]).map_err(|e| e.offset), Err(2));
        assert_eq!(Message::decode(&[12; 20]).map_err(|e| e.offset), Err(20));
        let err = Message::decode(
            &RawBuilder::new(MessageType::REPLY, 1)
                .option_with_len(13, 40, &[0, 0])
                .build(),
        )
        .expect_err("overrun");
        assert_eq!(err.offset, 4);
    }

    #[test]
    fn deep_relay_nesting_is_bounded() {
        let mut bytes = solicit().encode();
        for _ in 0..(MAX_DEPTH + 2) {
            let mut relay = RelayMessage {
                msg_type: MessageType::RELAY_FORW,
                hop_count: 0,
                link_address: Ipv6Addr::UNSPECIFIED,
                peer_address: Ipv6Addr::UNSPECIFIED,
                options: Options::new(),
            };
            relay.options.push(code::RELAY_MSG, &bytes).expect("fits");
            bytes = Message::Relay(relay).encode();
        }
        let m = Message::decode(&bytes).expect("decode");
        assert!(matches!(
            m.innermost().map_err(|e| e.kind),
            Err(ContentErrorKind::TooDeep(_))
        ));
        assert!(
            m.validate()
                .iter()
                .any(|e| matches!(e.kind, ContentErrorKind::TooDeep(_)))
        );
    }
}
