//! Crafts DHCPv4 packets byte by byte, malformed on purpose when a robustness test needs it.

use super::message::{MAGIC_COOKIE, Message};

/// Builds a DHCPv4 payload without any of the checks the codec makes: wrong cookies, lengths
/// that lie, missing END and truncation are all allowed.
#[derive(Debug, Clone, Default)]
pub struct RawBuilder {
    bytes: Vec<u8>,
}

impl RawBuilder {
    /// Starts with the fixed header of a BOOTREQUEST from an Ethernet client, all else zero,
    /// and no cookie yet.
    pub fn new() -> Self {
        Self::from_header(&Message::new(Message::BOOTREQUEST, 0, [0; 6]))
    }

    /// Starts with the fixed header of `message` and no cookie yet.
    pub fn from_header(message: &Message) -> Self {
        let mut bytes = Vec::with_capacity(300);
        message.encode_header(&mut bytes);
        Self { bytes }
    }

    /// Appends four cookie bytes, [`MAGIC_COOKIE`] or anything else.
    pub fn cookie(mut self, cookie: [u8; 4]) -> Self {
        self.bytes.extend_from_slice(&cookie);
        self
    }

    /// Appends the right cookie.
    pub fn magic(self) -> Self {
        self.cookie(MAGIC_COOKIE)
    }

    /// Appends an option whose length byte is the data length, cut to its low 8 bits (so a
    /// 256-byte option claims 0 bytes: a malformed packet on purpose).
    pub fn option(self, code: u8, data: &[u8]) -> Self {
        self.option_with_len(code, data.len() as u8, data)
    }

    /// Appends an option whose length byte says `claimed`, whatever `data` holds.
    pub fn option_with_len(mut self, code: u8, claimed: u8, data: &[u8]) -> Self {
        self.bytes.push(code);
        self.bytes.push(claimed);
        self.bytes.extend_from_slice(data);
        self
    }

    /// Appends `n` PAD bytes.
    pub fn pad(mut self, n: usize) -> Self {
        self.bytes.resize(self.bytes.len() + n, 0);
        self
    }

    /// Appends END.
    pub fn end(mut self) -> Self {
        self.bytes.push(255);
        self
    }

    /// Appends any bytes.
    pub fn bytes(mut self, bytes: &[u8]) -> Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// Overwrites the byte at `offset` of a packet at least that long; beyond the end it
    /// does nothing (grow the packet first with `bytes` or `pad`).
    pub fn set_byte(mut self, offset: usize, value: u8) -> Self {
        if let Some(b) = self.bytes.get_mut(offset) {
            *b = value;
        }
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
