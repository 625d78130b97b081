//! Short byte strings kept inline: hardware addresses and client identifiers are almost always
//! under 23 bytes, so a lease record needs no heap allocation for them.

use std::fmt;

const INLINE: usize = 22;

/// An immutable byte string of any length, stored inline up to 22 bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum ShortBytes {
    Inline { len: u8, data: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl ShortBytes {
    pub(crate) fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE {
            let mut data = [0; INLINE];
            data[..bytes.len()].copy_from_slice(bytes);
            Self::Inline {
                len: bytes.len() as u8,
                data,
            }
        } else {
            Self::Heap(bytes.into())
        }
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline { len, data } => &data[..usize::from(*len)],
            Self::Heap(b) => b,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

impl Default for ShortBytes {
    fn default() -> Self {
        Self::new(&[])
    }
}

impl fmt::Debug for ShortBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.as_slice().iter().map(|b| format!("{b:02x}")).collect();
        f.write_str(&parts.join(":"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_hold_their_bytes() {
        assert_eq!(std::mem::size_of::<ShortBytes>(), 24);
        for len in [0, 6, 22, 23, 255] {
            let v: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let b = ShortBytes::new(&v);
            assert_eq!(b.as_slice(), &v[..]);
            assert_eq!(matches!(b, ShortBytes::Inline { .. }), len <= 22);
        }
    }
}
