//! Readers for option contents of fixed shape that DHCPv4 and DHCPv6 share: integers of one,
//! two and four bytes, no data at all, and "at least one byte".

use crate::error::ContentError;
use crate::read::{Reader, exact_len, multiple_of};

/// Reads a one-byte value.
pub fn parse_u8(data: &[u8]) -> Result<u8, ContentError> {
    exact_len(data, 1, "1 byte")?;
    Reader::new(data).u8("value")
}

/// Reads a 16-bit value.
pub fn parse_u16(data: &[u8]) -> Result<u16, ContentError> {
    exact_len(data, 2, "2 bytes")?;
    Reader::new(data).u16("value")
}

/// Reads a 32-bit value.
pub fn parse_u32(data: &[u8]) -> Result<u32, ContentError> {
    exact_len(data, 4, "4 bytes")?;
    Reader::new(data).u32("value")
}

/// Checks that an option that carries no data (rapid commit, say) has none.
pub fn parse_empty(data: &[u8]) -> Result<(), ContentError> {
    exact_len(data, 0, "no data")
}

/// Checks that data is not empty and returns it (names, code lists, sub-option lists).
pub fn parse_non_empty(data: &[u8]) -> Result<Vec<u8>, ContentError> {
    multiple_of(data, 1, false, "at least 1 byte")?;
    Ok(data.to_vec())
}
