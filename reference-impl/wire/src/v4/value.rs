//! Typed views of DHCPv4 option contents.
//!
//! Every parser takes an option's data alone and fails with a [`ContentError`] positioned in
//! that data; structured values also encode back to bytes so builders need no second format.

use super::catalogue::{self, Format, MessageType};
use crate::dns::{self, DomainName};
use crate::error::{ContentError, ContentErrorKind};
use crate::read::{Reader, exact_len, multiple_of};
use crate::scalar::{parse_non_empty, parse_u8, parse_u16, parse_u32};
use crate::v6::Duid;
use std::fmt;
use std::net::Ipv4Addr;

/// The value of option 52: which fixed fields carry more options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overload {
    /// The `file` field (value 1).
    File,
    /// The `sname` field (value 2).
    Sname,
    /// Both fields (value 3).
    Both,
}

impl Overload {
    /// Reads option 52's data.
    pub fn parse(data: &[u8]) -> Result<Self, ContentError> {
        exact_len(data, 1, "1 byte")?;
        match data.first() {
            Some(1) => Ok(Overload::File),
            Some(2) => Ok(Overload::Sname),
            Some(3) => Ok(Overload::Both),
            other => Err(ContentError::new(
                0,
                ContentErrorKind::BadValue {
                    what: "overload value",
                    value: other.copied().unwrap_or_default().into(),
                },
            )),
        }
    }

    /// True when the `file` field carries options.
    pub fn file(self) -> bool {
        matches!(self, Overload::File | Overload::Both)
    }

    /// True when the `sname` field carries options.
    pub fn sname(self) -> bool {
        matches!(self, Overload::Sname | Overload::Both)
    }

    /// The option's one data byte.
    pub fn to_byte(self) -> u8 {
        match self {
            Overload::File => 1,
            Overload::Sname => 2,
            Overload::Both => 3,
        }
    }
}

/// Option 61: RFC 2132's type-and-identifier, or RFC 4361's IAID and DUID (type 255).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientId {
    /// Type 1..=254: a hardware type (ARP numbering) and its address. Built with type 0 or
    /// 255 it encodes bytes that read back as `Opaque` or `Duid`.
    Hardware {
        /// ARP hardware type.
        htype: u8,
        /// The address bytes.
        addr: Vec<u8>,
    },
    /// Type 0: an identifier that is not a hardware address (a name, say).
    Opaque(Vec<u8>),
    /// Type 255 (RFC 4361): an IAID and a DUID, as a DHCPv6 client would use.
    Duid {
        /// Identity association identifier.
        iaid: u32,
        /// The DUID.
        duid: Duid,
    },
}

impl ClientId {
    /// Reads option 61's data.
    pub fn parse(data: &[u8]) -> Result<Self, ContentError> {
        let mut r = Reader::new(data);
        let kind = r.u8("identifier type")?;
        match kind {
            255 => {
                let iaid = r.u32("IAID")?;
                let start = r.pos();
                let duid =
                    Duid::parse(r.rest()).map_err(|e| ContentError::new(start + e.at, e.kind))?;
                Ok(ClientId::Duid { iaid, duid })
            }
            _ if r.is_empty() => Err(ContentError::new(
                0,
                ContentErrorKind::BadLength {
                    len: data.len(),
                    expected: "at least 2 bytes (RFC 2132 9.14)",
                },
            )),
            0 => Ok(ClientId::Opaque(r.rest().to_vec())),
            htype => Ok(ClientId::Hardware {
                htype,
                addr: r.rest().to_vec(),
            }),
        }
    }

    /// The option's data bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            ClientId::Hardware { htype, addr } => [&[*htype][..], addr].concat(),
            ClientId::Opaque(id) => [&[0][..], id].concat(),
            ClientId::Duid { iaid, duid } => {
                [&[255][..], &iaid.to_be_bytes(), &duid.to_bytes()].concat()
            }
        }
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientId::Hardware { htype, addr } => write!(f, "hwtype {htype}, {}", Hex(addr)),
            ClientId::Opaque(id) => write!(f, "type 0, {}", Text(id)),
            ClientId::Duid { iaid, duid } => write!(f, "IAID {iaid:#010x}, DUID {duid}"),
        }
    }
}

/// A code-length-value sub-option (option 82 sub-options, option 125 vendor options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubOption {
    /// Sub-option code.
    pub code: u8,
    /// Sub-option data.
    pub data: Vec<u8>,
}

impl SubOption {
    /// Reads a sequence of sub-options filling `data` (no PAD or END inside).
    pub fn parse_list(data: &[u8]) -> Result<Vec<SubOption>, ContentError> {
        let mut r = Reader::new(data);
        let mut out = Vec::new();
        while !r.is_empty() {
            let code = r.u8("sub-option code")?;
            let len = r.u8("sub-option length")?;
            let value = r.take(len.into(), "sub-option data")?;
            out.push(SubOption {
                code,
                data: value.to_vec(),
            });
        }
        Ok(out)
    }

    /// The wire form of a sequence of sub-options; `None` when one is longer than 255 bytes.
    pub fn list_to_bytes(list: &[SubOption]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for s in list {
            out.push(s.code);
            out.push(u8::try_from(s.data.len()).ok()?);
            out.extend_from_slice(&s.data);
        }
        Some(out)
    }
}

/// One route of option 121 (RFC 3442).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClasslessRoute {
    /// Destination network (bits past the prefix are zero).
    pub destination: Ipv4Addr,
    /// Prefix length, 0 to 32.
    pub prefix_len: u8,
    /// Router for the destination.
    pub router: Ipv4Addr,
}

impl ClasslessRoute {
    /// Reads option 121's data.
    pub fn parse_list(data: &[u8]) -> Result<Vec<ClasslessRoute>, ContentError> {
        let mut r = Reader::new(data);
        let mut out = Vec::new();
        while !r.is_empty() {
            let at = r.pos();
            let prefix_len = r.u8("prefix length")?;
            if prefix_len > 32 {
                return Err(ContentError::new(
                    at,
                    ContentErrorKind::BadValue {
                        what: "prefix length",
                        value: prefix_len.into(),
                    },
                ));
            }
            let significant = usize::from(prefix_len).div_ceil(8);
            let mut dest = [0u8; 4];
            dest[..significant].copy_from_slice(r.take(significant, "destination")?);
            let router = r.addr4("router")?;
            out.push(ClasslessRoute {
                destination: Ipv4Addr::from(dest),
                prefix_len,
                router,
            });
        }
        Ok(out)
    }

    /// The wire form of a list of routes; a prefix length above 32 is written as 32, and
    /// destination bits past the prefix are not written (they read back as zero).
    pub fn list_to_bytes(routes: &[ClasslessRoute]) -> Vec<u8> {
        let mut out = Vec::new();
        for route in routes {
            let len = route.prefix_len.min(32);
            let significant = usize::from(len).div_ceil(8);
            out.push(len);
            out.extend_from_slice(&route.destination.octets()[..significant]);
            out.extend_from_slice(&route.router.octets());
        }
        out
    }
}

impl fmt::Display for ClasslessRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} via {}",
            self.destination, self.prefix_len, self.router
        )
    }
}

/// The name in option 81: wire-encoded when the E flag is set, ASCII otherwise (RFC 4702 2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FqdnName {
    /// Canonical wire format (E flag set).
    Wire(DomainName),
    /// Deprecated ASCII encoding (E flag clear), kept as sent.
    Ascii(Vec<u8>),
}

/// Option 81 (RFC 4702).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFqdn {
    /// Flags: S (0x01), O (0x02), E (0x04), N (0x08).
    pub flags: u8,
    /// RCODE1, deprecated, sent as 0 or 255.
    pub rcode1: u8,
    /// RCODE2, deprecated, sent as 0 or 255.
    pub rcode2: u8,
    /// The name.
    pub name: FqdnName,
}

impl ClientFqdn {
    /// The E flag: the name is in wire format.
    pub const FLAG_E: u8 = 0x04;

    /// Reads option 81's data.
    pub fn parse(data: &[u8]) -> Result<Self, ContentError> {
        let mut r = Reader::new(data);
        let flags = r.u8("flags")?;
        let rcode1 = r.u8("RCODE1")?;
        let rcode2 = r.u8("RCODE2")?;
        let rest = r.rest();
        let name = if flags & Self::FLAG_E != 0 {
            let name =
                dns::parse_single_name(rest).map_err(|e| ContentError::new(3 + e.at, e.kind))?;
            FqdnName::Wire(name)
        } else {
            FqdnName::Ascii(rest.to_vec())
        };
        Ok(Self {
            flags,
            rcode1,
            rcode2,
            name,
        })
    }

    /// The option's data bytes; the E flag is written to match the name's form, so the bytes
    /// always read back as this value's name.
    pub fn to_bytes(&self) -> Vec<u8> {
        let flags = match self.name {
            FqdnName::Wire(_) => self.flags | Self::FLAG_E,
            FqdnName::Ascii(_) => self.flags & !Self::FLAG_E,
        };
        let mut out = vec![flags, self.rcode1, self.rcode2];
        match &self.name {
            FqdnName::Wire(name) => name.encode_into(&mut out),
            FqdnName::Ascii(text) => out.extend_from_slice(text),
        }
        out
    }
}

impl fmt::Display for ClientFqdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flags {:#04x}", self.flags)?;
        for (bit, name) in [(0x08, 'N'), (0x04, 'E'), (0x02, 'O'), (0x01, 'S')] {
            if self.flags & bit != 0 {
                write!(f, " {name}")?;
            }
        }
        write!(f, ", rcode1 {}, rcode2 {}, name ", self.rcode1, self.rcode2)?;
        match &self.name {
            FqdnName::Wire(name) => write!(f, "{name}"),
            FqdnName::Ascii(text) => write!(f, "{} (ASCII)", Text(text)),
        }
    }
}

/// One enterprise's block of option 124 or 125 (RFC 3925).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorBlock<T> {
    /// IANA enterprise number.
    pub enterprise: u32,
    /// Option 124: the opaque vendor class data; option 125: the vendor's sub-options.
    pub data: T,
}

fn parse_vendor_blocks<T>(
    data: &[u8],
    inner: impl Fn(&[u8]) -> Result<T, ContentError>,
) -> Result<Vec<VendorBlock<T>>, ContentError> {
    let mut r = Reader::new(data);
    let mut out = Vec::new();
    if data.is_empty() {
        return Err(ContentError::new(
            0,
            ContentErrorKind::BadLength {
                len: 0,
                expected: "at least 5 bytes (RFC 3925)",
            },
        ));
    }
    while !r.is_empty() {
        let enterprise = r.u32("enterprise number")?;
        let len = r.u8("vendor data length")?;
        let start = r.pos();
        let block = r.take(len.into(), "vendor data")?;
        let data = inner(block).map_err(|e| ContentError::new(start + e.at, e.kind))?;
        out.push(VendorBlock { enterprise, data });
    }
    Ok(out)
}

/// Reads one IPv4 address.
pub fn parse_addr(data: &[u8]) -> Result<Ipv4Addr, ContentError> {
    exact_len(data, 4, "4 bytes")?;
    Reader::new(data).addr4("address")
}

/// Reads a list of IPv4 addresses, which must not be empty unless `allow_empty`.
pub fn parse_addrs(data: &[u8], allow_empty: bool) -> Result<Vec<Ipv4Addr>, ContentError> {
    let expected = if allow_empty {
        "a multiple of 4"
    } else {
        "a non-zero multiple of 4"
    };
    multiple_of(data, 4, allow_empty, expected)?;
    Ok(data
        .chunks_exact(4)
        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
        .collect())
}

/// Any known option's content, read by the format [`catalogue::lookup`] gives for its code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum OptionValue {
    Empty,
    Addr(Ipv4Addr),
    Addrs(Vec<Ipv4Addr>),
    AddrPairs(Vec<(Ipv4Addr, Ipv4Addr)>),
    U8(u8),
    U16(u16),
    U32(u32),
    Seconds(u32),
    Lifetime(u32),
    EpochTime(u32),
    I32(i32),
    U16s(Vec<u16>),
    Bool(bool),
    Text(Vec<u8>),
    Bytes(Vec<u8>),
    MessageType(MessageType),
    Overload(Overload),
    ParamList(Vec<u8>),
    ClientId(ClientId),
    RelayAgent(Vec<SubOption>),
    ClasslessRoutes(Vec<ClasslessRoute>),
    ClientFqdn(ClientFqdn),
    DomainSearch(Vec<DomainName>),
    VendorClasses(Vec<VendorBlock<Vec<u8>>>),
    VendorOptions(Vec<VendorBlock<Vec<SubOption>>>),
}

impl OptionValue {
    /// Reads `data` as `format`.
    pub fn parse(format: Format, data: &[u8]) -> Result<Self, ContentError> {
        use OptionValue as V;
        Ok(match format {
            Format::Empty => {
                exact_len(data, 0, "no data")?;
                V::Empty
            }
            Format::Addr => V::Addr(parse_addr(data)?),
            Format::Addrs => V::Addrs(parse_addrs(data, false)?),
            Format::AddrsOrEmpty => V::Addrs(parse_addrs(data, true)?),
            Format::AddrPairs => {
                multiple_of(data, 8, false, "a non-zero multiple of 8")?;
                let list = parse_addrs(data, false)?;
                V::AddrPairs(list.chunks_exact(2).map(|p| (p[0], p[1])).collect())
            }
            Format::U8 => V::U8(parse_u8(data)?),
            Format::Bool => match parse_u8(data)? {
                0 => V::Bool(false),
                1 => V::Bool(true),
                v => {
                    return Err(ContentError::new(
                        0,
                        ContentErrorKind::BadValue {
                            what: "boolean",
                            value: v.into(),
                        },
                    ));
                }
            },
            Format::U16 => V::U16(parse_u16(data)?),
            Format::U32 => V::U32(parse_u32(data)?),
            Format::Seconds => V::Seconds(parse_u32(data)?),
            Format::Lifetime => V::Lifetime(parse_u32(data)?),
            Format::EpochTime => V::EpochTime(parse_u32(data)?),
            Format::I32 => V::I32(parse_u32(data)? as i32),
            Format::U16s => {
                multiple_of(data, 2, false, "a non-zero multiple of 2")?;
                V::U16s(
                    data.chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect(),
                )
            }
            Format::Text => V::Text(data.to_vec()),
            Format::Bytes => V::Bytes(data.to_vec()),
            Format::MessageType => V::MessageType(MessageType::from(parse_u8(data)?)),
            Format::Overload => V::Overload(Overload::parse(data)?),
            Format::ParamList => V::ParamList(parse_non_empty(data)?),
            Format::ClientId => V::ClientId(ClientId::parse(data)?),
            Format::RelayAgent => V::RelayAgent(SubOption::parse_list(&parse_non_empty(data)?)?),
            Format::ClasslessRoutes => {
                V::ClasslessRoutes(ClasslessRoute::parse_list(&parse_non_empty(data)?)?)
            }
            Format::ClientFqdn => V::ClientFqdn(ClientFqdn::parse(data)?),
            Format::DomainSearch => V::DomainSearch(dns::parse_name_list(data, true)?),
            Format::VendorClasses => {
                V::VendorClasses(parse_vendor_blocks(data, |b| Ok(b.to_vec()))?)
            }
            Format::VendorOptions => {
                V::VendorOptions(parse_vendor_blocks(data, SubOption::parse_list)?)
            }
        })
    }
}

/// Formats bytes as colon-separated hex.
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        // Digit by digit: servers write link addresses into every hook call's arguments.
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(':')?;
            }
            f.write_char(char::from(DIGITS[usize::from(b >> 4)]))?;
            f.write_char(char::from(DIGITS[usize::from(b & 15)]))?;
        }
        Ok(())
    }
}

/// Formats bytes as a quoted string, escaping anything that is not printable ASCII.
pub struct Text<'a>(pub &'a [u8]);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for &b in self.0 {
            match b {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                0x20..=0x7e => write!(f, "{}", b as char)?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_str("\"")
    }
}

/// Formats a lease or lifetime in seconds, where 0xffffffff means infinite (RFC 2131 3.3,
/// RFC 8415 7.7).
pub struct Lifetime(pub u32);

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == u32::MAX {
            return f.write_str("infinite");
        }
        write!(f, "{}", Seconds(self.0))
    }
}

/// Formats a duration in seconds with a human reading.
pub struct Seconds(pub u32);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0)?;
        let (d, h, m, s) = (
            self.0 / 86400,
            self.0 / 3600 % 24,
            self.0 / 60 % 60,
            self.0 % 60,
        );
        if self.0 >= 60 {
            f.write_str(" (")?;
            let mut parts = Vec::new();
            for (v, unit) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
                if v > 0 {
                    parts.push(format!("{v}{unit}"));
                }
            }
            write!(f, "{})", parts.join(" "))?;
        }
        Ok(())
    }
}

fn join<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use OptionValue as V;
        match self {
            V::Empty => f.write_str("(no data)"),
            V::Addr(a) => write!(f, "{a}"),
            V::Addrs(list) => join(f, list),
            V::AddrPairs(pairs) => {
                let shown: Vec<String> = pairs.iter().map(|(a, b)| format!("{a} -> {b}")).collect();
                join(f, &shown)
            }
            V::U8(v) => write!(f, "{v}"),
            V::U16(v) => write!(f, "{v}"),
            V::U32(v) => write!(f, "{v}"),
            V::Seconds(v) => write!(f, "{}", Seconds(*v)),
            V::Lifetime(v) => write!(f, "{}", Lifetime(*v)),
            V::EpochTime(v) => write!(f, "{v} (seconds since 1970-01-01 UTC)"),
            V::I32(v) => write!(f, "{v}"),
            V::U16s(list) => join(f, list),
            V::Bool(b) => write!(f, "{b}"),
            V::Text(t) => write!(f, "{}", Text(t)),
            V::Bytes(b) => write!(f, "{}", Hex(b)),
            V::MessageType(t) => write!(f, "{t}"),
            V::Overload(o) => write!(
                f,
                "{} ({})",
                o.to_byte(),
                match o {
                    Overload::File => "file holds options",
                    Overload::Sname => "sname holds options",
                    Overload::Both => "file and sname hold options",
                }
            ),
            V::ParamList(codes) => {
                let shown: Vec<String> = codes
                    .iter()
                    .map(|c| format!("{c} {}", catalogue::name(*c)))
                    .collect();
                join(f, &shown)
            }
            V::ClientId(id) => write!(f, "{id}"),
            V::RelayAgent(subs) => {
                let shown: Vec<String> = subs
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {} = {}",
                            s.code,
                            catalogue::relay_sub_option_name(s.code),
                            Hex(&s.data)
                        )
                    })
                    .collect();
                join(f, &shown)
            }
            V::ClasslessRoutes(routes) => join(f, routes),
            V::ClientFqdn(fqdn) => write!(f, "{fqdn}"),
            V::DomainSearch(names) => join(f, names),
            V::VendorClasses(blocks) => {
                let shown: Vec<String> = blocks
                    .iter()
                    .map(|b| format!("enterprise {}: {}", b.enterprise, Hex(&b.data)))
                    .collect();
                join(f, &shown)
            }
            V::VendorOptions(blocks) => {
                let shown: Vec<String> = blocks
                    .iter()
                    .map(|b| {
                        let subs: Vec<String> = b
                            .data
                            .iter()
                            .map(|s| format!("{}={}", s.code, Hex(&s.data)))
                            .collect();
                        format!("enterprise {}: [{}]", b.enterprise, subs.join(", "))
                    })
                    .collect();
                join(f, &shown)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classless_routes_round_trip_and_reject_bad_width() {
        let routes = vec![
            ClasslessRoute {
                destination: Ipv4Addr::new(0, 0, 0, 0),
                prefix_len: 0,
                router: Ipv4Addr::new(192, 0, 2, 1),
            },
            ClasslessRoute {
                destination: Ipv4Addr::new(198, 51, 100, 0),
                prefix_len: 24,
                router: Ipv4Addr::new(192, 0, 2, 2),
            },
            ClasslessRoute {
                destination: Ipv4Addr::new(203, 0, 113, 128),
                prefix_len: 25,
                router: Ipv4Addr::new(192, 0, 2, 3),
            },
        ];
        let bytes = ClasslessRoute::list_to_bytes(&routes);
        assert_eq!(&bytes[..5], &[0, 192, 0, 2, 1]);
        assert_eq!(ClasslessRoute::parse_list(&bytes), Ok(routes));
        let err =
            ClasslessRoute::parse_list(&[33, 1, 2, 3, 4, 5, 6, 7, 8, 9]).expect_err("width 33");
        assert_eq!(err.at, 0);
        let err =
            ClasslessRoute::parse_list(&[24, 198, 51, 100, 192, 0]).expect_err("short router");
        assert_eq!(err.at, 4);
    }

    #[test]
    fn client_id_forms() {
        assert_eq!(
            ClientId::parse(&[1, 0, 0x0b, 0x82, 1, 0xfc, 0x42]),
            Ok(ClientId::Hardware {
                htype: 1,
                addr: vec![0, 0x0b, 0x82, 1, 0xfc, 0x42]
            })
        );
        let rfc4361 = [255, 0, 0, 0, 7, 0, 3, 0, 1, 2, 4, 6, 8, 10, 12];
        let id = ClientId::parse(&rfc4361).expect("4361");
        assert!(matches!(id, ClientId::Duid { iaid: 7, .. }));
        assert_eq!(id.to_bytes(), rfc4361);
        assert!(ClientId::parse(&[1]).is_err());
        assert_eq!(ClientId::parse(&[255, 0, 0]).map_err(|e| e.at), Err(1));
    }

    #[test]
    fn fqdn_wire_and_ascii() {
        let wire = [0x05, 0, 0, 4, b'h', b'o', b's', b't', 0];
        let fqdn = ClientFqdn::parse(&wire).expect("wire");
        assert_eq!(
            fqdn.to_string(),
            "flags 0x05 E S, rcode1 0, rcode2 0, name host."
        );
        assert_eq!(fqdn.to_bytes(), wire);
        let mismatched = ClientFqdn {
            flags: fqdn.flags & !ClientFqdn::FLAG_E,
            ..fqdn.clone()
        };
        assert_eq!(ClientFqdn::parse(&mismatched.to_bytes()), Ok(fqdn));
        let ascii = ClientFqdn::parse(&[0, 255, 255, b'h']).expect("ascii");
        assert_eq!(ascii.name, FqdnName::Ascii(b"h".to_vec()));
        assert_eq!(
            ClientFqdn::parse(&[4, 0, 0, 9, b'x']).map_err(|e| e.at),
            Err(3)
        );
    }

    #[test]
    fn vendor_blocks_detect_truncation() {
        let ok = [0, 0, 0x0d, 0xe9, 3, 1, 1, 7];
        let v = OptionValue::parse(Format::VendorOptions, &ok).expect("valid");
        assert_eq!(v.to_string(), "enterprise 3561: [1=07]");
        let err = OptionValue::parse(Format::VendorOptions, &[0, 0, 0x0d]).expect_err("short");
        assert_eq!(err.at, 0);
    }

    #[test]
    fn seconds_reading() {
        assert_eq!(Seconds(86400).to_string(), "86400 s (1d)");
        assert_eq!(Seconds(3661).to_string(), "3661 s (1h 1m 1s)");
        assert_eq!(Lifetime(u32::MAX).to_string(), "infinite");
        assert_eq!(Lifetime(60).to_string(), "60 s (1m)");
        assert_eq!(
            Seconds(u32::MAX).to_string(),
            "4294967295 s (49710d 6h 28m 15s)"
        );
    }
}
