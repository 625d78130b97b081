//! DHCPv4 option areas: the options field, and the `file` and `sname` fields when option 52
//! overloads them. An area is a sequence of PAD and code-length-value options closed by END,
//! followed by whatever bytes the sender left after END.

use crate::error::{DecodeError, DecodeErrorKind};

/// Which part of a DHCPv4 message an option area occupies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// The variable-length options field after the magic cookie.
    Options,
    /// The 128-byte `file` field, used for options when option 52 says so.
    File,
    /// The 64-byte `sname` field, used for options when option 52 says so.
    Sname,
}

impl Area {
    /// Short lower-case name used in errors and dissections.
    pub fn name(self) -> &'static str {
        match self {
            Area::Options => "options",
            Area::File => "file",
            Area::Sname => "sname",
        }
    }

    /// Offset of the area's first byte in a DHCPv4 message.
    pub fn base(self) -> usize {
        match self {
            Area::Options => super::message::OPTIONS_OFFSET,
            Area::File => super::message::FILE_OFFSET,
            Area::Sname => super::message::SNAME_OFFSET,
        }
    }
}

/// One item of an option area, as it stood on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    /// A PAD byte (code 0) before END.
    Pad {
        /// Offset of the byte in the message.
        offset: usize,
        /// The area the byte sits in.
        area: Area,
    },
    /// A code-length-value option.
    Option(OptionRef<'a>),
}

/// One option instance as it stood on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionRef<'a> {
    /// Option code, never 0 or 255.
    pub code: u8,
    /// The option's data, without code and length.
    pub data: &'a [u8],
    /// Offset of the code byte in the message.
    pub offset: usize,
    /// The area the option sits in.
    pub area: Area,
}

impl OptionRef<'_> {
    /// Offset of the first data byte in the message.
    pub fn data_offset(&self) -> usize {
        self.offset + 2
    }
}

/// Checks the framing of an area and splits it into entries (before END) and tail (after END).
pub(crate) fn split_area(bytes: &[u8], area: Area) -> Result<(&[u8], &[u8]), DecodeError> {
    let base = area.base();
    let mut i = 0;
    loop {
        let Some(&code) = bytes.get(i) else {
            return Err(DecodeError::new(
                base + i,
                DecodeErrorKind::MissingEnd { area: area.name() },
            ));
        };
        match code {
            0 => i += 1,
            255 => {
                let (entries, rest) = bytes.split_at(i);
                return Ok((entries, rest.get(1..).unwrap_or_default()));
            }
            _ => {
                let Some(&len) = bytes.get(i + 1) else {
                    return Err(DecodeError::new(
                        base + i,
                        DecodeErrorKind::OptionHeaderTruncated {
                            code: code.into(),
                            area: area.name(),
                        },
                    ));
                };
                let available = bytes.len() - (i + 2);
                if usize::from(len) > available {
                    return Err(DecodeError::new(
                        base + i,
                        DecodeErrorKind::OptionOverrun {
                            code: code.into(),
                            len: len.into(),
                            available,
                            area: area.name(),
                        },
                    ));
                }
                i += 2 + usize::from(len);
            }
        }
    }
}

/// Bytes an area built option by option reserves at its first option: a DHCP message's
/// options usually fit.
const FIRST_RESERVE: usize = 128;

/// Iterates the entries of an area whose framing was checked by `split_area`.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    bytes: &'a [u8],
    pos: usize,
    area: Area,
}

impl<'a> Entries<'a> {
    pub(crate) fn new(bytes: &'a [u8], area: Area) -> Self {
        Self {
            bytes,
            pos: 0,
            area,
        }
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        let offset = self.area.base() + self.pos;
        let code = *self.bytes.get(self.pos)?;
        if code == 0 {
            self.pos += 1;
            return Some(Entry::Pad {
                offset,
                area: self.area,
            });
        }
        let len = usize::from(*self.bytes.get(self.pos + 1)?);
        let data = self.bytes.get(self.pos + 2..self.pos + 2 + len)?;
        self.pos += 2 + len;
        Some(Entry::Option(OptionRef {
            code,
            data,
            offset,
            area: self.area,
        }))
    }
}

/// [`OptionArea::single`] found more than one instance, or an overload: the instances must be
/// joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Repeated;

/// Why an option area cannot be built as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Codes 0 and 255 are PAD and END, not options.
    #[error("code {0} is PAD or END, not an option")]
    ReservedCode(u8),
    /// One option instance holds at most 255 bytes; use `push_long` to split (RFC 3396).
    #[error("option {code} has {len} bytes; one instance holds at most 255")]
    TooLong {
        /// Option code.
        code: u8,
        /// Data length asked for.
        len: usize,
    },
    /// The area does not fit the fixed-size field it is meant for.
    #[error("the area needs {needed} bytes but the field holds {capacity}")]
    FieldTooSmall {
        /// Encoded size of the area.
        needed: usize,
        /// Size of the field.
        capacity: usize,
    },
}

/// An owned option area: its entries in wire order, END implied, and the bytes after END.
///
/// The entries are kept as their wire bytes, so equality is byte equality and encoding is a copy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionArea {
    entries: Vec<u8>,
    tail: Vec<u8>,
    /// Which codes `entries` holds, one bit each: a lookup of an absent code reads no entry.
    /// A function of `entries`, so equality stays byte equality.
    codes: CodeSet,
}

/// A set of option codes, one bit per code: a membership test reads one word, where a list
/// of codes (a parameter request list, say) is searched from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CodeSet([u64; 4]);

impl FromIterator<u8> for CodeSet {
    fn from_iter<I: IntoIterator<Item = u8>>(codes: I) -> Self {
        let mut set = Self::default();
        for code in codes {
            set.insert(code);
        }
        set
    }
}

impl CodeSet {
    fn of(entries: &[u8]) -> Self {
        let mut codes = Self::default();
        for entry in Entries::new(entries, Area::Options) {
            if let Entry::Option(o) = entry {
                codes.insert(o.code);
            }
        }
        codes
    }

    /// Adds `code`.
    pub fn insert(&mut self, code: u8) {
        if let Some(word) = self.0.get_mut(usize::from(code >> 6)) {
            *word |= 1 << (code & 63);
        }
    }

    /// Whether `code` is in the set.
    pub fn contains(self, code: u8) -> bool {
        self.0
            .get(usize::from(code >> 6))
            .is_some_and(|word| word & (1 << (code & 63)) != 0)
    }
}

impl OptionArea {
    /// An empty area: just END when encoded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes an area from the bytes of its field; the area's kind places offsets in errors.
    pub fn decode(bytes: &[u8], area: Area) -> Result<Self, DecodeError> {
        let (entries, tail) = split_area(bytes, area)?;
        Ok(Self {
            entries: entries.to_vec(),
            tail: tail.to_vec(),
            codes: CodeSet::of(entries),
        })
    }

    /// The entries in wire order, with offsets as if the area sat in the options field.
    pub fn entries(&self) -> Entries<'_> {
        Entries::new(&self.entries, Area::Options)
    }

    pub(crate) fn entries_in(&self, area: Area) -> Entries<'_> {
        Entries::new(&self.entries, area)
    }

    /// The one instance of `code` in this area as (offset of its code byte in the area, data),
    /// read in one tight pass; `Err` when `code` appears more than once or `also` (option 52,
    /// which brings other areas in) appears at all: the caller must then join instances.
    pub(crate) fn single(&self, code: u8, also: u8) -> Result<Option<(usize, &[u8])>, Repeated> {
        if !self.codes.contains(code) && !self.codes.contains(also) {
            return Ok(None);
        }
        let bytes = self.entries.as_slice();
        let mut found = None;
        let mut i = 0;
        while let Some(&c) = bytes.get(i) {
            if c == 0 {
                i += 1;
                continue;
            }
            let len = usize::from(bytes.get(i + 1).copied().unwrap_or(0));
            if c == code || c == also {
                if c == also || found.is_some() {
                    return Err(Repeated);
                }
                found = bytes.get(i + 2..i + 2 + len).map(|d| (i, d));
            }
            i += 2 + len;
        }
        Ok(found)
    }

    /// The options (PAD left out) in wire order.
    pub fn options(&self) -> impl Iterator<Item = OptionRef<'_>> {
        self.entries().filter_map(|e| match e {
            Entry::Option(o) => Some(o),
            Entry::Pad { .. } => None,
        })
    }

    /// Data of the first instance of `code` in this area.
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.options().find(|o| o.code == code).map(|o| o.data)
    }

    /// Bytes after END (often PAD fill to the BOOTP minimum of 300 bytes).
    pub fn tail(&self) -> &[u8] {
        &self.tail
    }

    /// Replaces the bytes after END.
    pub fn set_tail(&mut self, tail: Vec<u8>) {
        self.tail = tail;
    }

    /// Appends one option instance.
    pub fn push(&mut self, code: u8, data: &[u8]) -> Result<&mut Self, BuildError> {
        if code == 0 || code == 255 {
            return Err(BuildError::ReservedCode(code));
        }
        let len = u8::try_from(data.len()).map_err(|_| BuildError::TooLong {
            code,
            len: data.len(),
        })?;
        if self.entries.capacity() == 0 {
            // The first option makes room for a usual message's options at once, rather than
            // growing the buffer option by option.
            self.entries.reserve(FIRST_RESERVE);
        }
        self.entries.push(code);
        self.entries.push(len);
        self.entries.extend_from_slice(data);
        self.codes.insert(code);
        Ok(self)
    }

    /// Appends an option of any length, split into 255-byte instances as RFC 3396 says.
    pub fn push_long(&mut self, code: u8, data: &[u8]) -> Result<&mut Self, BuildError> {
        if data.is_empty() {
            return self.push(code, data);
        }
        for chunk in data.chunks(255) {
            self.push(code, chunk)?;
        }
        Ok(self)
    }

    /// Appends one PAD byte.
    pub fn push_pad(&mut self) -> &mut Self {
        self.entries.push(0);
        self
    }

    /// Removes every instance of `code`; returns how many there were.
    pub fn remove(&mut self, code: u8) -> usize {
        let (entries, removed) = self.rewrite(code, &[]);
        self.codes = CodeSet::of(&entries);
        self.entries = entries;
        removed
    }

    /// Replaces every instance of `code` by one instance (split per RFC 3396 when long),
    /// placed where the first one stood, or appended when there was none. PADs stay.
    pub fn set(&mut self, code: u8, data: &[u8]) -> Result<&mut Self, BuildError> {
        let mut value = OptionArea::new();
        value.push_long(code, data)?;
        let (mut entries, removed) = self.rewrite(code, &value.entries);
        if removed == 0 {
            entries.extend_from_slice(&value.entries);
        }
        self.codes = CodeSet::of(&entries);
        self.entries = entries;
        Ok(self)
    }

    /// The entries with every instance of `code` dropped and `replacement` (wire bytes) put
    /// where the first one stood; also returns how many instances there were.
    fn rewrite(&self, code: u8, replacement: &[u8]) -> (Vec<u8>, usize) {
        let mut out = Vec::with_capacity(self.entries.len() + replacement.len());
        let mut removed = 0;
        for entry in self.entries() {
            match entry {
                Entry::Pad { .. } => out.push(0),
                Entry::Option(o) if o.code == code => {
                    if removed == 0 {
                        out.extend_from_slice(replacement);
                    }
                    removed += 1;
                }
                Entry::Option(o) => {
                    let start = o.offset - Area::Options.base();
                    out.extend_from_slice(
                        self.entries
                            .get(start..start + 2 + o.data.len())
                            .unwrap_or_default(),
                    );
                }
            }
        }
        (out, removed)
    }

    /// Number of bytes the area takes when encoded (entries, END, tail).
    pub fn encoded_len(&self) -> usize {
        self.entries.len() + 1 + self.tail.len()
    }

    /// Appends the wire form to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.entries);
        out.push(255);
        out.extend_from_slice(&self.tail);
    }

    /// Encodes the area into a fixed-size field (`file` or `sname` under option 52); the bytes
    /// after END up to the field's size are the tail, zero-filled where the tail is short.
    pub fn to_field<const N: usize>(&self) -> Result<[u8; N], BuildError> {
        let needed = self.encoded_len();
        if needed > N {
            return Err(BuildError::FieldTooSmall {
                needed,
                capacity: N,
            });
        }
        let mut out = Vec::with_capacity(N);
        self.encode_into(&mut out);
        out.resize(N, 0);
        let mut field = [0u8; N];
        field.copy_from_slice(&out);
        Ok(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `single` must answer, by reading every option.
    fn naive(area: &OptionArea, code: u8, also: u8) -> Result<Option<(usize, Vec<u8>)>, Repeated> {
        let hits: Vec<_> = area.options().filter(|o| o.code == code).collect();
        if hits.len() > 1 || area.options().any(|o| o.code == also) {
            return Err(Repeated);
        }
        Ok(hits
            .first()
            .map(|o| (o.offset - Area::Options.base(), o.data.to_vec())))
    }

    proptest! {
        /// The code set follows every way an area changes: decoded, pushed, removed, set.
        #[test]
        fn single_agrees_with_reading_every_option(
            pushes in proptest::collection::vec((1u8..255, proptest::collection::vec(any::<u8>(), 0..4)), 0..12),
            removed in 1u8..255,
            set in (1u8..255, proptest::collection::vec(any::<u8>(), 0..4)),
            pad in any::<bool>(),
        ) {
            let mut area = OptionArea::new();
            for (code, data) in &pushes {
                area.push(*code, data).expect("push");
                if pad {
                    area.push_pad();
                }
            }
            let mut wire = area.entries.clone();
            wire.push(255);
            let decoded = OptionArea::decode(&wire, Area::Options).expect("decode");
            let mut removed_area = area.clone();
            removed_area.remove(removed);
            let mut set_area = area.clone();
            set_area.set(set.0, &set.1).expect("set");
            for a in [&area, &decoded, &removed_area, &set_area] {
                for code in 1u8..255 {
                    let got = a.single(code, 52).map(|f| f.map(|(at, d)| (at, d.to_vec())));
                    prop_assert_eq!(got, naive(a, code, 52), "code {}", code);
                }
            }
        }
    }

    #[test]
    fn framing_faults_carry_offsets() {
        let err = OptionArea::decode(&[53, 1, 1], Area::Options).expect_err("no END");
        assert_eq!(err.offset, 240 + 3);
        assert!(matches!(err.kind, DecodeErrorKind::MissingEnd { .. }));
        let err = OptionArea::decode(&[0, 53, 5, 1, 255], Area::File).expect_err("overrun");
        assert_eq!(err.offset, 108 + 1);
        let err = OptionArea::decode(&[0, 0, 53], Area::Sname).expect_err("cut header");
        assert_eq!(err.offset, 44 + 2);
    }

    #[test]
    fn set_replaces_in_place_and_remove_counts() {
        let mut area = OptionArea::new();
        area.push(53, &[1])
            .and_then(|a| a.push(61, &[1, 2]))
            .and_then(|a| a.push(53, &[3]))
            .expect("push");
        area.set(53, &[5]).expect("set");
        let codes: Vec<(u8, Vec<u8>)> = area.options().map(|o| (o.code, o.data.to_vec())).collect();
        assert_eq!(codes, vec![(53, vec![5]), (61, vec![1, 2])]);
        assert_eq!(area.remove(61), 1);
        assert_eq!(area.remove(61), 0);
        assert_eq!(area.push(0, &[]).err(), Some(BuildError::ReservedCode(0)));
        assert!(matches!(
            area.push(12, &[0; 256]),
            Err(BuildError::TooLong { .. })
        ));
    }

    #[test]
    fn long_option_splits_and_field_fits() {
        let mut area = OptionArea::new();
        area.push_long(77, &[7; 300]).expect("long");
        let lens: Vec<usize> = area.options().map(|o| o.data.len()).collect();
        assert_eq!(lens, [255, 45]);
        assert!(area.to_field::<128>().is_err());
        let mut small = OptionArea::new();
        small.push(3, &[192, 0, 2, 1]).expect("push");
        let field = small.to_field::<64>().expect("fits");
        assert_eq!(&field[..7], &[3, 4, 192, 0, 2, 1, 255]);
        let back = OptionArea::decode(&field, Area::Sname).expect("decode");
        assert_eq!(back.get(3), Some(&[192, 0, 2, 1][..]));
        assert_eq!(back.tail().len(), 57);
    }
}
