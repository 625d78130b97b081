//! Typed errors of the codec: framing faults stop a decode, content faults belong to one option.

/// Why a message's framing could not be decoded, and at which byte of the packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {kind}")]
pub struct DecodeError {
    /// Offset from the first byte of the DHCP payload where the fault was found.
    pub offset: usize,
    /// What was wrong there.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    pub(crate) fn new(offset: usize, kind: DecodeErrorKind) -> Self {
        Self { offset, kind }
    }
}

/// The kinds of framing fault a decoder reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// The packet ends before a fixed-size part is complete.
    #[error("packet ends {available} bytes into the {what}, which needs {needed}")]
    Truncated {
        /// The part that was cut off.
        what: &'static str,
        /// Bytes that part needs.
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// A DHCPv4 packet whose vendor area does not start with 99.130.83.99.
    #[error("magic cookie is {found:02x?}, not [63, 82, 53, 63]")]
    BadCookie {
        /// The four bytes found where the cookie belongs.
        found: [u8; 4],
    },
    /// An option's code or length field is cut off by the end of its area.
    #[error("option {code} has no room for its length field in the {area}")]
    OptionHeaderTruncated {
        /// Option code.
        code: u16,
        /// Which area: `options`, `file`, `sname` (v4) or `options` (v6).
        area: &'static str,
    },
    /// An option's length runs past the end of its area.
    #[error("option {code} claims {len} bytes but only {available} remain in the {area}")]
    OptionOverrun {
        /// Option code.
        code: u16,
        /// Length the option claims.
        len: usize,
        /// Bytes left in the area after the length field.
        available: usize,
        /// Which area the option is in.
        area: &'static str,
    },
    /// A DHCPv4 option area without the END option (RFC 2131 section 4.1).
    #[error("the {area} area has no END option (255)")]
    MissingEnd {
        /// Which area lacks END.
        area: &'static str,
    },
    /// Option 52 (overload) whose length or value is not 1 byte of 1, 2 or 3 (RFC 2132 9.3).
    #[error("option 52 (overload) must be one byte of 1, 2 or 3; found {found:02x?}")]
    BadOverload {
        /// The option's data.
        found: Vec<u8>,
    },
}

/// Why one option's content could not be read as its type, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("option {code}, at byte {offset}: {kind}")]
pub struct OptionError {
    /// Option code (DHCPv4 codes fit in a byte).
    pub code: u16,
    /// Offset of the faulty byte from the first byte of the outermost DHCP payload.
    pub offset: usize,
    /// What was wrong.
    pub kind: ContentErrorKind,
}

/// A content fault at a position relative to the start of an option's data.
///
/// Parsers of option contents work on the data alone; the message that owns the option turns
/// this into an [`OptionError`] with an absolute offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {at} of the data: {kind}")]
pub struct ContentError {
    /// Offset of the fault from the first byte of the option data.
    pub at: usize,
    /// What was wrong.
    pub kind: ContentErrorKind,
}

impl ContentError {
    pub(crate) fn new(at: usize, kind: ContentErrorKind) -> Self {
        Self { at, kind }
    }

    /// Places this fault in a packet: `data_offset` is where the option data starts.
    pub fn locate(self, code: u16, data_offset: usize) -> OptionError {
        OptionError {
            code,
            offset: data_offset + self.at,
            kind: self.kind,
        }
    }
}

/// The kinds of content fault a typed view reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentErrorKind {
    /// The data length does not fit the option's format.
    #[error("length {len} does not fit: {expected}")]
    BadLength {
        /// Actual data length.
        len: usize,
        /// What the format needs, in words.
        expected: &'static str,
    },
    /// A field runs past the end of the option data.
    #[error("the {what} runs past the end of the data")]
    Truncated {
        /// The field that is cut off.
        what: &'static str,
    },
    /// A field holds a value its format forbids.
    #[error("{what} {value} is not allowed")]
    BadValue {
        /// The field.
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// A domain name that does not follow RFC 1035 encoding.
    #[error("bad domain name: {0}")]
    BadName(&'static str),
    /// An option where its RFC does not allow it, or a required one missing.
    #[error("{0}")]
    Placement(&'static str),
    /// Options or relay messages nested deeper than a reader follows.
    #[error("nested deeper than {0} levels")]
    TooDeep(usize),
    /// Options nested inside this option are not well framed.
    #[error("nested options: {0}")]
    Nested(Box<DecodeErrorKind>),
}
