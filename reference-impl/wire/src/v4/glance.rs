//! A DHCPv4 message read in place: for code that looks at a few fields of every message on a
//! link (the simulator's checks) and would otherwise copy each one into a [`Message`].
//!
//! [`Message`]: crate::v4::Message

use super::area::{Area, CodeSet, Entries, Entry, split_area};
use super::catalogue::{MessageType, code};
use super::message::{COOKIE_OFFSET, MAGIC_COOKIE, OPTIONS_OFFSET};
use super::value::parse_addr;
use crate::scalar::{parse_u8, parse_u32};
use std::net::Ipv4Addr;

/// The common DHCP message, borrowed: the cookie, an options field framed up to END, no
/// option 52 and no code twice. Every such message decodes, and each of its options reads
/// here as [`Message::option`] reads it; any other message is left to [`Message::decode`]
/// ([`Glance::new`] gives `None`), so the two never disagree.
///
/// [`Message::option`]: crate::v4::Message::option
/// [`Message::decode`]: crate::v4::Message::decode
#[derive(Debug, Clone, Copy)]
pub struct Glance<'a> {
    header: &'a [u8; OPTIONS_OFFSET],
    /// The options field's entries, before END.
    entries: &'a [u8],
}

impl<'a> Glance<'a> {
    /// Reads `bytes` in place when it is the common message; `None` when it is not (too
    /// short, another cookie, an option area that does not frame, option 52, a code twice).
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        let header: &[u8; OPTIONS_OFFSET] = bytes.first_chunk()?;
        if header.get(COOKIE_OFFSET..) != Some(&MAGIC_COOKIE[..]) {
            return None;
        }
        let (entries, _) = split_area(bytes.get(OPTIONS_OFFSET..)?, Area::Options).ok()?;
        let mut seen = CodeSet::default();
        for entry in Entries::new(entries, Area::Options) {
            if let Entry::Option(o) = entry {
                if o.code == code::OVERLOAD || seen.contains(o.code) {
                    return None;
                }
                seen.insert(o.code);
            }
        }
        Some(Self { header, entries })
    }

    /// `op`: 1 (BOOTREQUEST) or 2 (BOOTREPLY).
    pub fn op(&self) -> u8 {
        self.header[0]
    }

    /// `ciaddr`.
    pub fn ciaddr(&self) -> Ipv4Addr {
        self.addr(12)
    }

    /// `yiaddr`.
    pub fn yiaddr(&self) -> Ipv4Addr {
        self.addr(16)
    }

    /// The first `hlen` bytes of `chaddr` (at most 16), as `Message::hardware_address` reads
    /// them.
    pub fn hardware_address(&self) -> &'a [u8] {
        let hlen = usize::from(self.header[2]).min(16);
        self.header.get(28..28 + hlen).unwrap_or_default()
    }

    /// The data of option `code`, if the message has it.
    pub fn option(&self, code: u8) -> Option<&'a [u8]> {
        Entries::new(self.entries, Area::Options).find_map(|e| match e {
            Entry::Option(o) if o.code == code => Some(o.data),
            _ => None,
        })
    }

    /// Option 53, as `Message::message_type` reads it; `None` also when it is malformed.
    pub fn message_type(&self) -> Option<MessageType> {
        parse_u8(self.option(code::MESSAGE_TYPE)?)
            .ok()
            .map(MessageType::from)
    }

    /// Option 50; `None` also when it is malformed.
    pub fn requested_ip(&self) -> Option<Ipv4Addr> {
        parse_addr(self.option(code::REQUESTED_IP)?).ok()
    }

    /// Option 51, seconds; `None` also when it is malformed.
    pub fn lease_time(&self) -> Option<u32> {
        parse_u32(self.option(code::LEASE_TIME)?).ok()
    }

    fn addr(&self, at: usize) -> Ipv4Addr {
        let octets: Option<[u8; 4]> = self.header.get(at..at + 4).and_then(|b| b.try_into().ok());
        octets.map_or(Ipv4Addr::UNSPECIFIED, Ipv4Addr::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v4::Message;
    use proptest::prelude::*;

    fn message() -> Message {
        let mut m = Message::new(Message::BOOTREPLY, 7, [2, 0, 0x5e, 0, 0x53, 1]);
        m.yiaddr = Ipv4Addr::new(192, 0, 2, 10);
        m.ciaddr = Ipv4Addr::new(192, 0, 2, 9);
        m.options
            .push(code::MESSAGE_TYPE, &[5])
            .and_then(|o| o.push(code::LEASE_TIME, &3600u32.to_be_bytes()))
            .and_then(|o| o.push(code::REQUESTED_IP, &[192, 0, 2, 10]))
            .expect("options fit");
        m
    }

    #[test]
    fn reads_what_decode_reads() {
        let bytes = message().encode();
        let g = Glance::new(&bytes).expect("a common message");
        assert_eq!(g.op(), Message::BOOTREPLY);
        assert_eq!(g.message_type(), Some(MessageType::Ack));
        assert_eq!(g.lease_time(), Some(3600));
        assert_eq!(g.requested_ip(), Some(Ipv4Addr::new(192, 0, 2, 10)));
        assert_eq!(g.yiaddr(), Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(g.ciaddr(), Ipv4Addr::new(192, 0, 2, 9));
        assert_eq!(g.hardware_address(), &[2, 0, 0x5e, 0, 0x53, 1]);
    }

    #[test]
    fn leaves_overloads_and_repeated_codes_to_decode() {
        let mut m = message();
        m.options.push(code::OVERLOAD, &[1]).expect("fits");
        assert!(Glance::new(&m.encode()).is_none());
        let mut m = message();
        m.options.push(code::MESSAGE_TYPE, &[7]).expect("fits");
        assert!(Glance::new(&m.encode()).is_none());
        let mut bytes = message().encode();
        bytes.pop();
        assert!(Glance::new(&bytes).is_none(), "no END");
    }

    proptest! {
        /// Whatever the bytes, a glance is had only of a message that decodes, and each field
        /// and option reads as the decoded message has it.
        #[test]
        fn agrees_with_decode(
            base in prop::collection::vec(any::<u8>(), 0..16),
            flips in prop::collection::vec((0usize..400, any::<u8>()), 0..6),
            cut in 0usize..400,
        ) {
            let mut bytes = message().encode();
            bytes.extend_from_slice(&base);
            for (at, value) in flips {
                if let Some(b) = bytes.get_mut(at) {
                    *b = value;
                }
            }
            bytes.truncate(cut.max(OPTIONS_OFFSET - 8));
            let Some(g) = Glance::new(&bytes) else {
                return Ok(());
            };
            let m = Message::decode(&bytes).expect("a glanced message decodes");
            prop_assert_eq!(g.op(), m.op);
            prop_assert_eq!(g.ciaddr(), m.ciaddr);
            prop_assert_eq!(g.yiaddr(), m.yiaddr);
            prop_assert_eq!(g.hardware_address(), m.hardware_address());
            prop_assert_eq!(g.message_type(), m.message_type().ok().flatten());
            prop_assert_eq!(g.requested_ip(), m.requested_ip().ok().flatten());
            prop_assert_eq!(g.lease_time(), m.lease_time().ok().flatten());
            for c in 1..=254u8 {
                let decoded = m.option(c).map(|o| o.data.into_owned());
                prop_assert_eq!(g.option(c), decoded.as_deref());
            }
        }
    }
}
