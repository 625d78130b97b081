//! Bytes as lowercase hex digits with no separators: the form the lease file and the agent's
//! control socket carry an ACK in, and CLIENT_ID's `0x` form.

use std::fmt::Write as _;

/// Why text is not contiguous hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// An odd number of digits.
    #[error("odd number of hex digits")]
    Odd,
    /// The pair at this byte offset of the text is not two hex digits.
    #[error("bad hex digit at offset {0}")]
    Digit(usize),
}

/// `bytes` as two lowercase hex digits each.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The bytes `text` spells, two hex digits (either case) each, nothing else.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0 {
        return Err(HexError::Odd);
    }
    digits
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| match (value(pair[0]), value(pair[1])) {
            (Some(high), Some(low)) => Ok(high << 4 | low),
            _ => Err(HexError::Digit(i * 2)),
        })
        .collect()
}

fn value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_faults() {
        assert_eq!(encode(&[0, 0xab, 0x7f]), "00ab7f");
        assert_eq!(decode("00AB7f"), Ok(vec![0, 0xab, 0x7f]));
        assert_eq!(decode(""), Ok(vec![]));
        assert_eq!(decode("abc"), Err(HexError::Odd));
        assert_eq!(
            decode("00+1"),
            Err(HexError::Digit(2)),
            "no sign inside a pair"
        );
        assert_eq!(
            decode("0é"),
            Err(HexError::Odd),
            "é is two bytes: three in all"
        );
        assert_eq!(
            decode("é"),
            Err(HexError::Digit(0)),
            "two bytes, neither a digit"
        );
    }
}
