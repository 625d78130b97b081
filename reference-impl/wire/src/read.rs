//! A bounds-checked cursor over option data; every read either succeeds or names the field.

use crate::error::{ContentError, ContentErrorKind};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Reads big-endian fields from an option's data, reporting the position of a short read.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ContentError> {
        let slice = self
            .pos
            .checked_add(n)
            .and_then(|end| self.data.get(self.pos..end));
        match slice {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(ContentError::new(
                self.pos,
                ContentErrorKind::Truncated { what },
            )),
        }
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], ContentError> {
        let s = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, ContentError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, ContentError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, ContentError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn addr4(&mut self, what: &'static str) -> Result<Ipv4Addr, ContentError> {
        Ok(Ipv4Addr::from(self.array::<4>(what)?))
    }

    pub(crate) fn addr6(&mut self, what: &'static str) -> Result<Ipv6Addr, ContentError> {
        Ok(Ipv6Addr::from(self.array::<16>(what)?))
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = self.data.get(self.pos..).unwrap_or_default();
        self.pos = self.data.len();
        s
    }
}

/// Fails unless `data` is exactly `n` bytes long.
pub(crate) fn exact_len(data: &[u8], n: usize, expected: &'static str) -> Result<(), ContentError> {
    if data.len() == n {
        Ok(())
    } else {
        Err(ContentError::new(
            0,
            ContentErrorKind::BadLength {
                len: data.len(),
                expected,
            },
        ))
    }
}

/// Fails unless `data` is a non-empty whole number of `unit`-byte items (or empty when allowed).
pub(crate) fn multiple_of(
    data: &[u8],
    unit: usize,
    allow_empty: bool,
    expected: &'static str,
) -> Result<(), ContentError> {
    if data.len() % unit == 0 && (allow_empty || !data.is_empty()) {
        Ok(())
    } else {
        Err(ContentError::new(
            0,
            ContentErrorKind::BadLength {
                len: data.len(),
                expected,
            },
        ))
    }
}
