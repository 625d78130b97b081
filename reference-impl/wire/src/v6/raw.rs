//! Crafts DHCPv6 packets byte by byte, malformed on purpose when a robustness test needs it.

use super::catalogue::MessageType;

/// Builds a DHCPv6 payload without any of the codec's checks: lengths that lie, cut headers
/// and truncation are all allowed.
#[derive(Debug, Clone, Default)]
pub struct RawBuilder {
    bytes: Vec<u8>,
}

impl RawBuilder {
    /// Starts a client/server message header (type and the low 24 bits of `xid`).
    pub fn new(msg_type: MessageType, xid: u32) -> Self {
        let mut bytes = vec![msg_type.0];
        bytes.extend_from_slice(&xid.to_be_bytes()[1..]);
        Self { bytes }
    }

    /// Starts a relay header.
    pub fn relay(
        msg_type: MessageType,
        hop_count: u8,
        link: std::net::Ipv6Addr,
        peer: std::net::Ipv6Addr,
    ) -> Self {
        let mut bytes = vec![msg_type.0, hop_count];
        bytes.extend_from_slice(&link.octets());
        bytes.extend_from_slice(&peer.octets());
        Self { bytes }
    }

    /// Appends an option whose length field is the data length cut to 16 bits.
    pub fn option(self, code: u16, data: &[u8]) -> Self {
        self.option_with_len(code, data.len() as u16, data)
    }

    /// Appends an option whose length field says `claimed`, whatever `data` holds.
    pub fn option_with_len(mut self, code: u16, claimed: u16, data: &[u8]) -> Self {
        self.bytes.extend_from_slice(&code.to_be_bytes());
        self.bytes.extend_from_slice(&claimed.to_be_bytes());
        self.bytes.extend_from_slice(data);
        self
    }

    /// Appends any bytes.
    pub fn bytes(mut self, bytes: &[u8]) -> Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// Cuts the packet to at most `len` bytes.
    pub fn truncate(mut self, len: usize) -> Self {
        self.bytes.truncate(len);
        self
    }

    /// The bytes built.
    pub fn build(self) -> Vec<u8> {
        self.bytes
    }
}
