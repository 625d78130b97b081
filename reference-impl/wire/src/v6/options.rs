//! DHCPv6 option lists: code (16 bits), length (16 bits), data; at top level, inside relay
//! messages and inside encapsulating options (IA_NA, IA Address, ...).

use crate::error::{ContentError, ContentErrorKind, DecodeError, DecodeErrorKind, OptionError};

/// One option instance as it stood on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionRef<'a> {
    /// Option code.
    pub code: u16,
    /// The option's data, without code and length.
    pub data: &'a [u8],
    /// Offset of the code field from the first byte of the outermost DHCPv6 payload.
    pub offset: usize,
}

impl OptionRef<'_> {
    /// Offset of the first data byte from the first byte of the outermost payload.
    pub fn data_offset(&self) -> usize {
        self.offset + 4
    }
}

/// Checks that `bytes` is a whole sequence of options; `base` places offsets in errors.
pub(crate) fn check_framing(bytes: &[u8], base: usize) -> Result<(), DecodeError> {
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let Some(header) = rest.first_chunk::<4>() else {
            let code = match rest {
                [a, b, ..] => u16::from_be_bytes([*a, *b]),
                [a] => u16::from(*a) << 8,
                [] => 0,
            };
            return Err(DecodeError::new(
                base + i,
                DecodeErrorKind::OptionHeaderTruncated {
                    code,
                    area: "options",
                },
            ));
        };
        let code = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let available = rest.len() - 4;
        if len > available {
            return Err(DecodeError::new(
                base + i,
                DecodeErrorKind::OptionOverrun {
                    code,
                    len,
                    available,
                    area: "options",
                },
            ));
        }
        i += 4 + len;
    }
    Ok(())
}

/// A borrowed, framing-checked option list and where it sits in the packet. Two views are
/// equal when their bytes are, wherever they sit.
#[derive(Debug, Clone, Copy)]
pub struct OptionsRef<'a> {
    bytes: &'a [u8],
    base: usize,
}

impl PartialEq for OptionsRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for OptionsRef<'_> {}

impl<'a> OptionsRef<'a> {
    /// Checks the framing of nested options held in an option's data at `data_offset`.
    pub fn parse_nested(bytes: &'a [u8], data_offset: usize) -> Result<Self, ContentError> {
        check_framing(bytes, data_offset).map_err(|e| {
            ContentError::new(
                e.offset - data_offset,
                ContentErrorKind::Nested(Box::new(e.kind)),
            )
        })?;
        Ok(Self {
            bytes,
            base: data_offset,
        })
    }

    /// Offset just past the list's last byte in the outermost payload.
    pub fn end_offset(&self) -> usize {
        self.base + self.bytes.len()
    }

    /// The wire bytes of the list.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The options in wire order.
    pub fn iter(&self) -> Iter<'a> {
        Iter {
            bytes: self.bytes,
            pos: 0,
            base: self.base,
        }
    }

    /// The first instance of `code`.
    pub fn get(&self, code: u16) -> Option<OptionRef<'a>> {
        self.iter().find(|o| o.code == code)
    }

    /// Every instance of `code`, in wire order.
    pub fn get_all(&self, code: u16) -> impl Iterator<Item = OptionRef<'a>> + 'a {
        self.iter().filter(move |o| o.code == code)
    }

    /// Reads the first instance of `code` with `parse`, placing a content fault in the packet.
    pub fn typed<T>(
        &self,
        code: u16,
        parse: impl FnOnce(&'a [u8], usize) -> Result<T, ContentError>,
    ) -> Result<Option<T>, OptionError> {
        match self.get(code) {
            None => Ok(None),
            Some(o) => parse(o.data, o.data_offset())
                .map(Some)
                .map_err(|e| e.locate(code, o.data_offset())),
        }
    }

    /// Reads every instance of `code` with `parse`, stopping at the first content fault.
    pub fn typed_all<T>(
        &self,
        code: u16,
        parse: impl Fn(&'a [u8], usize) -> Result<T, ContentError>,
    ) -> Result<Vec<T>, OptionError> {
        self.get_all(code)
            .map(|o| parse(o.data, o.data_offset()).map_err(|e| e.locate(code, o.data_offset())))
            .collect()
    }
}

/// Iterates a framing-checked option list.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = OptionRef<'a>;

    fn next(&mut self) -> Option<OptionRef<'a>> {
        let header = self.bytes.get(self.pos..)?.first_chunk::<4>()?;
        let code = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let data = self.bytes.get(self.pos + 4..self.pos + 4 + len)?;
        let offset = self.base + self.pos;
        self.pos += 4 + len;
        Some(OptionRef { code, data, offset })
    }
}

/// Why an option cannot be appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("option {code} has {len} bytes; a DHCPv6 option holds at most 65535")]
pub struct TooLong {
    /// Option code.
    pub code: u16,
    /// Data length asked for.
    pub len: usize,
}

/// An owned option list, kept as its wire bytes so equality is byte equality.
#[derive(Debug, Clone, Default)]
pub struct Options {
    bytes: Vec<u8>,
    /// Where the list sat in the packet it was decoded from, for offsets in errors; `None` for
    /// a list built here. Not part of the value: two lists with the same bytes are equal.
    base: Option<usize>,
}

impl PartialEq for Options {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Options {}

impl Options {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn decode(bytes: &[u8], base: usize) -> Result<Self, DecodeError> {
        check_framing(bytes, base)?;
        Ok(Self {
            bytes: bytes.to_vec(),
            base: Some(base),
        })
    }

    /// A view to read the options; offsets in it count from where the list was decoded, or
    /// from `default_base` for a list built here (a message passes its header length).
    pub fn view_at(&self, default_base: usize) -> OptionsRef<'_> {
        OptionsRef {
            bytes: &self.bytes,
            base: self.base.unwrap_or(default_base),
        }
    }

    /// Appends one option.
    pub fn push(&mut self, code: u16, data: &[u8]) -> Result<&mut Self, TooLong> {
        let len = u16::try_from(data.len()).map_err(|_| TooLong {
            code,
            len: data.len(),
        })?;
        // Appending keeps the offsets of options already there valid.
        self.bytes.extend_from_slice(&code.to_be_bytes());
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(data);
        Ok(self)
    }

    /// Removes every instance of `code`; returns how many there were.
    pub fn remove(&mut self, code: u16) -> usize {
        let mut kept = Options::new();
        let mut removed = 0;
        for o in self.view_at(0).iter() {
            if o.code == code {
                removed += 1;
            } else {
                // Data came from a valid list, so it fits.
                let _ = kept.push(o.code, o.data);
            }
        }
        self.bytes = kept.bytes;
        self.base = None;
        removed
    }

    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_faults() {
        assert_eq!(check_framing(&[0, 1, 0, 2, 9, 9], 4), Ok(()));
        let err = check_framing(&[0, 1, 0, 3, 9, 9], 4).expect_err("overrun");
        assert_eq!(err.offset, 4);
        let err = check_framing(&[0, 1, 0, 0, 0, 2], 4).expect_err("cut header");
        assert_eq!(err.offset, 8);
        assert!(matches!(
            err.kind,
            DecodeErrorKind::OptionHeaderTruncated { code: 2, .. }
        ));
    }

    #[test]
    fn push_remove() {
        let mut o = Options::new();
        o.push(1, &[1, 2])
            .and_then(|o| o.push(8, &[0, 0]))
            .and_then(|o| o.push(1, &[3]))
            .expect("push");
        assert_eq!(o.remove(1), 2);
        assert_eq!(o.as_bytes(), &[0, 8, 0, 2, 0, 0]);
        assert!(o.push(1, &vec![0; 70000]).is_err());
    }
}
