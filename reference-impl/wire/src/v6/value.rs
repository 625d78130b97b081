//! Typed views of DHCPv6 option contents.
//!
//! Parsers of encapsulating options take the data's offset in the packet too, so options found
//! inside them report faults at their place in the outermost payload.

use super::catalogue::{self, Format};
use super::message::Message;
use super::options::OptionsRef;
use crate::dns::{self, DomainName};
use crate::error::{ContentError, ContentErrorKind};
use crate::read::{Reader, exact_len, multiple_of};
use crate::scalar::{parse_empty, parse_u8, parse_u16, parse_u32};
use crate::v4::{Hex, Lifetime, Seconds, Text};
use std::fmt;
use std::net::Ipv6Addr;

/// A DHCP Unique Identifier (RFC 8415 section 11, RFC 6355).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Duid {
    /// Type 1: link-layer address plus time.
    Llt {
        /// Hardware type (IANA ARP numbering).
        htype: u16,
        /// Seconds since 2000-01-01 00:00 UTC, modulo 2^32.
        time: u32,
        /// Link-layer address.
        addr: Vec<u8>,
    },
    /// Type 2: enterprise number plus identifier.
    En {
        /// IANA enterprise number.
        enterprise: u32,
        /// Vendor-assigned identifier.
        id: Vec<u8>,
    },
    /// Type 3: link-layer address.
    Ll {
        /// Hardware type.
        htype: u16,
        /// Link-layer address.
        addr: Vec<u8>,
    },
    /// Type 4: a UUID (RFC 6355).
    Uuid([u8; 16]),
    /// Any other type, kept as sent.
    Other {
        /// DUID type.
        kind: u16,
        /// Bytes after the type.
        data: Vec<u8>,
    },
}

impl Duid {
    /// Longest DUID, type included (RFC 8415 11.1).
    pub const MAX_LEN: usize = 130;

    /// Reads a DUID filling `data`.
    pub fn parse(data: &[u8]) -> Result<Self, ContentError> {
        if data.len() > Self::MAX_LEN {
            return Err(ContentError::new(
                0,
                ContentErrorKind::BadLength {
                    len: data.len(),
                    expected: "at most 130 bytes (RFC 8415 11.1)",
                },
            ));
        }
        let mut r = Reader::new(data);
        let kind = r.u16("DUID type")?;
        let duid = match kind {
            1 => Duid::Llt {
                htype: r.u16("hardware type")?,
                time: r.u32("time")?,
                addr: r.rest().to_vec(),
            },
            2 => Duid::En {
                enterprise: r.u32("enterprise number")?,
                id: r.rest().to_vec(),
            },
            3 => Duid::Ll {
                htype: r.u16("hardware type")?,
                addr: r.rest().to_vec(),
            },
            4 => {
                let uuid = r.array::<16>("UUID")?;
                if !r.is_empty() {
                    return Err(ContentError::new(
                        0,
                        ContentErrorKind::BadLength {
                            len: data.len(),
                            expected: "18 bytes for DUID-UUID",
                        },
                    ));
                }
                Duid::Uuid(uuid)
            }
            kind => Duid::Other {
                kind,
                data: r.rest().to_vec(),
            },
        };
        Ok(duid)
    }

    /// The DUID's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Duid::Llt { htype, time, addr } => [
                &1u16.to_be_bytes()[..],
                &htype.to_be_bytes(),
                &time.to_be_bytes(),
                addr,
            ]
            .concat(),
            Duid::En { enterprise, id } => {
                [&2u16.to_be_bytes()[..], &enterprise.to_be_bytes(), id].concat()
            }
            Duid::Ll { htype, addr } => {
                [&3u16.to_be_bytes()[..], &htype.to_be_bytes(), addr].concat()
            }
            Duid::Uuid(uuid) => [&4u16.to_be_bytes()[..], uuid].concat(),
            Duid::Other { kind, data } => [&kind.to_be_bytes()[..], data].concat(),
        }
    }
}

impl fmt::Display for Duid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Duid::Llt { htype, time, addr } => {
                write!(f, "DUID-LLT hwtype {htype} time {time} {}", Hex(addr))
            }
            Duid::En { enterprise, id } => {
                write!(f, "DUID-EN enterprise {enterprise} id {}", Hex(id))
            }
            Duid::Ll { htype, addr } => write!(f, "DUID-LL hwtype {htype} {}", Hex(addr)),
            Duid::Uuid(uuid) => write!(f, "DUID-UUID {}", Hex(uuid)),
            Duid::Other { kind, data } => write!(f, "DUID type {kind} {}", Hex(data)),
        }
    }
}

/// IA_NA or IA_PD (RFC 8415 21.4, 21.21).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ia<'a> {
    /// Identity association identifier.
    pub iaid: u32,
    /// Renewal time, seconds.
    pub t1: u32,
    /// Rebinding time, seconds.
    pub t2: u32,
    /// Options inside the IA (addresses or prefixes, status code).
    pub options: OptionsRef<'a>,
}

impl<'a> Ia<'a> {
    /// Reads IA_NA or IA_PD data at `data_offset` in the packet.
    pub fn parse(data: &'a [u8], data_offset: usize) -> Result<Self, ContentError> {
        let mut r = Reader::new(data);
        let iaid = r.u32("IAID")?;
        let t1 = r.u32("T1")?;
        let t2 = r.u32("T2")?;
        let options = nested(&mut r, data_offset)?;
        Ok(Self {
            iaid,
            t1,
            t2,
            options,
        })
    }
}

/// IA_TA (RFC 8415 21.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaTa<'a> {
    /// Identity association identifier.
    pub iaid: u32,
    /// Options inside the IA.
    pub options: OptionsRef<'a>,
}

impl<'a> IaTa<'a> {
    /// Reads IA_TA data at `data_offset` in the packet.
    pub fn parse(data: &'a [u8], data_offset: usize) -> Result<Self, ContentError> {
        let mut r = Reader::new(data);
        let iaid = r.u32("IAID")?;
        let options = nested(&mut r, data_offset)?;
        Ok(Self { iaid, options })
    }
}

/// IA Address (RFC 8415 21.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaAddress<'a> {
    /// The address.
    pub addr: Ipv6Addr,
    /// Preferred lifetime, seconds.
    pub preferred: u32,
    /// Valid lifetime, seconds.
    pub valid: u32,
    /// Options inside (status code).
    pub options: OptionsRef<'a>,
}

impl<'a> IaAddress<'a> {
    /// Reads IA Address data at `data_offset` in the packet.
    pub fn parse(data: &'a [u8], data_offset: usize) -> Result<Self, ContentError> {
        let mut r = Reader::new(data);
        let addr = r.addr6("address")?;
        let preferred = r.u32("preferred lifetime")?;
        let valid = r.u32("valid lifetime")?;
        let options = nested(&mut r, data_offset)?;
        Ok(Self {
            addr,
            preferred,
            valid,
            options,
        })
    }
}

/// IA Prefix (RFC 8415 21.22).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaPrefix<'a> {
    /// Preferred lifetime, seconds.
    pub preferred: u32,
    /// Valid lifetime, seconds.
    pub valid: u32,
    /// Prefix length in bits.
    pub prefix_len: u8,
    /// The prefix.
    pub prefix: Ipv6Addr,
    /// Options inside (status code).
    pub options: OptionsRef<'a>,
}

impl<'a> IaPrefix<'a> {
    /// Reads IA Prefix data at `data_offset` in the packet.
    pub fn parse(data: &'a [u8], data_offset: usize) -> Result<Self, ContentError> {
        let mut r = Reader::new(data);
        let preferred = r.u32("preferred lifetime")?;
        let valid = r.u32("valid lifetime")?;
        let at = r.pos();
        let prefix_len = r.u8("prefix length")?;
        if prefix_len > 128 {
            return Err(ContentError::new(
                at,
                ContentErrorKind::BadValue {
                    what: "prefix length",
                    value: prefix_len.into(),
                },
            ));
        }
        let prefix = r.addr6("prefix")?;
        let options = nested(&mut r, data_offset)?;
        Ok(Self {
            preferred,
            valid,
            prefix_len,
            prefix,
            options,
        })
    }
}

/// Reads the rest of `r` as nested options whose first byte is `r.pos()` into the data.
fn nested<'a>(r: &mut Reader<'a>, data_offset: usize) -> Result<OptionsRef<'a>, ContentError> {
    let start = r.pos();
    OptionsRef::parse_nested(r.rest(), data_offset + start)
        .map_err(|e| ContentError::new(start + e.at, e.kind))
}

/// Status Code (RFC 8415 21.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCode {
    /// The code; 0 is Success.
    pub code: u16,
    /// The message, UTF-8 by the RFC, kept as sent.
    pub message: Vec<u8>,
}

impl StatusCode {
    /// Reads Status Code data.
    pub fn parse(data: &[u8]) -> Result<Self, ContentError> {
        let mut r = Reader::new(data);
        Ok(Self {
            code: r.u16("status code")?,
            message: r.rest().to_vec(),
        })
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = catalogue::status_name(self.code).unwrap_or("unknown");
        write!(f, "{} {name} {}", self.code, Text(&self.message))
    }
}

/// Client FQDN (RFC 4704).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fqdn {
    /// Flags: S (0x01), O (0x02), N (0x04).
    pub flags: u8,
    /// The name, fully qualified or partial.
    pub name: DomainName,
}

impl Fqdn {
    /// Reads Client FQDN data.
    pub fn parse(data: &[u8]) -> Result<Self, ContentError> {
        let mut r = Reader::new(data);
        let flags = r.u8("flags")?;
        let name =
            dns::parse_single_name(r.rest()).map_err(|e| ContentError::new(1 + e.at, e.kind))?;
        Ok(Self { flags, name })
    }

    /// The option's data bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.flags];
        self.name.encode_into(&mut out);
        out
    }
}

/// Reads a list of items each led by a 16-bit length (user class, boot file parameters).
pub fn parse_length_prefixed(data: &[u8]) -> Result<Vec<Vec<u8>>, ContentError> {
    let mut r = Reader::new(data);
    let mut out = Vec::new();
    while !r.is_empty() {
        let len = r.u16("item length")?;
        out.push(r.take(len.into(), "item")?.to_vec());
    }
    Ok(out)
}

/// Reads a list of option codes (ORO, ERO).
pub fn parse_codes(data: &[u8]) -> Result<Vec<u16>, ContentError> {
    multiple_of(data, 2, true, "a multiple of 2")?;
    Ok(data
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect())
}

/// Reads a list of IPv6 addresses (at least one).
pub fn parse_addrs(data: &[u8]) -> Result<Vec<Ipv6Addr>, ContentError> {
    multiple_of(data, 16, false, "a non-zero multiple of 16")?;
    let mut r = Reader::new(data);
    let mut out = Vec::with_capacity(data.len() / 16);
    while !r.is_empty() {
        out.push(r.addr6("address")?);
    }
    Ok(out)
}

/// Any known option's content, read by the format [`catalogue::lookup`] gives for its code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum OptionValue<'a> {
    Empty,
    Duid(Duid),
    Ia(Ia<'a>),
    IaTa(IaTa<'a>),
    IaAddress(IaAddress<'a>),
    IaPrefix(IaPrefix<'a>),
    Codes(Vec<u16>),
    U8(u8),
    Elapsed(u16),
    Seconds(u32),
    Lifetime(u32),
    U16s(Vec<u16>),
    Addr(Ipv6Addr),
    Addrs(Vec<Ipv6Addr>),
    Text(&'a [u8]),
    Bytes(&'a [u8]),
    StatusCode(StatusCode),
    RelayMessage(Box<Message>),
    Items(Vec<Vec<u8>>),
    VendorClass {
        enterprise: u32,
        items: Vec<Vec<u8>>,
    },
    VendorOpts {
        enterprise: u32,
        options: OptionsRef<'a>,
    },
    DomainList(Vec<DomainName>),
    DomainName(DomainName),
    Fqdn(Fqdn),
    RemoteId {
        enterprise: u32,
        id: &'a [u8],
    },
    LinkLayerAddress {
        htype: u16,
        addr: &'a [u8],
    },
    Nested(OptionsRef<'a>),
    SubOptions(OptionsRef<'a>),
}

impl<'a> OptionValue<'a> {
    /// Reads `data`, found at `data_offset` in the packet, as `format`.
    pub fn parse(format: Format, data: &'a [u8], data_offset: usize) -> Result<Self, ContentError> {
        use OptionValue as V;
        let mut r = Reader::new(data);
        Ok(match format {
            Format::Empty => {
                parse_empty(data)?;
                V::Empty
            }
            Format::Duid => V::Duid(Duid::parse(data)?),
            Format::Ia => V::Ia(Ia::parse(data, data_offset)?),
            Format::IaTa => V::IaTa(IaTa::parse(data, data_offset)?),
            Format::IaAddress => V::IaAddress(IaAddress::parse(data, data_offset)?),
            Format::IaPrefix => V::IaPrefix(IaPrefix::parse(data, data_offset)?),
            Format::Codes => V::Codes(parse_codes(data)?),
            Format::U8 => V::U8(parse_u8(data)?),
            Format::Elapsed => V::Elapsed(parse_u16(data)?),
            Format::Seconds => V::Seconds(parse_u32(data)?),
            Format::Lifetime => V::Lifetime(parse_u32(data)?),
            Format::U16s => {
                multiple_of(data, 2, false, "a non-zero multiple of 2")?;
                V::U16s(parse_codes(data)?)
            }
            Format::Addr => {
                exact_len(data, 16, "16 bytes")?;
                V::Addr(r.addr6("address")?)
            }
            Format::Addrs => V::Addrs(parse_addrs(data)?),
            Format::Text => V::Text(data),
            Format::Bytes => V::Bytes(data),
            Format::StatusCode => V::StatusCode(StatusCode::parse(data)?),
            Format::RelayMessage => V::RelayMessage(Box::new(
                Message::decode_at(data, data_offset).map_err(|e| {
                    ContentError::new(
                        e.offset - data_offset,
                        ContentErrorKind::Nested(Box::new(e.kind)),
                    )
                })?,
            )),
            Format::UserClass => V::Items(parse_length_prefixed(data)?),
            Format::VendorClass => {
                let enterprise = r.u32("enterprise number")?;
                let start = r.pos();
                let items = parse_length_prefixed(r.rest())
                    .map_err(|e| ContentError::new(start + e.at, e.kind))?;
                V::VendorClass { enterprise, items }
            }
            Format::VendorOpts => {
                let enterprise = r.u32("enterprise number")?;
                V::VendorOpts {
                    enterprise,
                    options: nested(&mut r, data_offset)?,
                }
            }
            Format::DomainList => V::DomainList(dns::parse_name_list(data, false)?),
            Format::DomainName => {
                let name = dns::parse_single_name(data)?;
                if !name.is_absolute() {
                    return Err(ContentError::new(
                        data.len(),
                        ContentErrorKind::BadName("name lacks its root label"),
                    ));
                }
                V::DomainName(name)
            }
            Format::Fqdn => V::Fqdn(Fqdn::parse(data)?),
            Format::RemoteId => V::RemoteId {
                enterprise: r.u32("enterprise number")?,
                id: r.rest(),
            },
            Format::LinkLayerAddress => V::LinkLayerAddress {
                htype: r.u16("hardware type")?,
                addr: r.rest(),
            },
            Format::Nested => V::Nested(nested(&mut r, data_offset)?),
            Format::SubOptions => V::SubOptions(nested(&mut r, data_offset)?),
        })
    }

    /// DHCPv6 options nested in this value, in the global code space, for dissectors and
    /// validators that walk them.
    pub fn nested(&self) -> Option<OptionsRef<'a>> {
        match self {
            OptionValue::Ia(ia) => Some(ia.options),
            OptionValue::IaTa(ia) => Some(ia.options),
            OptionValue::IaAddress(a) => Some(a.options),
            OptionValue::IaPrefix(p) => Some(p.options),
            OptionValue::Nested(options) => Some(*options),
            _ => None,
        }
    }

    /// Sub-options in a code space of their own (a vendor's, NTP's): framed like options but
    /// not to be read with this crate's catalogue.
    pub fn sub_options(&self) -> Option<OptionsRef<'a>> {
        match self {
            OptionValue::VendorOpts { options, .. } | OptionValue::SubOptions(options) => {
                Some(*options)
            }
            _ => None,
        }
    }
}

/// One line for a value; nested options and relayed messages are left to the caller.
impl fmt::Display for OptionValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use OptionValue as V;
        let list = |f: &mut fmt::Formatter<'_>, items: Vec<String>| f.write_str(&items.join(", "));
        match self {
            V::Empty => f.write_str("(no data)"),
            V::Duid(d) => write!(f, "{d}"),
            V::Ia(ia) => write!(
                f,
                "IAID {:#010x}, T1 {}, T2 {}",
                ia.iaid,
                Lifetime(ia.t1),
                Lifetime(ia.t2)
            ),
            V::IaTa(ia) => write!(f, "IAID {:#010x}", ia.iaid),
            V::IaAddress(a) => write!(
                f,
                "{}, preferred {}, valid {}",
                a.addr,
                Lifetime(a.preferred),
                Lifetime(a.valid)
            ),
            V::IaPrefix(p) => write!(
                f,
                "{}/{}, preferred {}, valid {}",
                p.prefix,
                p.prefix_len,
                Lifetime(p.preferred),
                Lifetime(p.valid)
            ),
            V::Codes(codes) => list(
                f,
                codes
                    .iter()
                    .map(|c| format!("{c} {}", catalogue::name(*c)))
                    .collect(),
            ),
            V::U8(v) => write!(f, "{v}"),
            V::Elapsed(u16::MAX) => f.write_str("more than 655.34 s"),
            V::Elapsed(v) => write!(f, "{}.{:02} s", v / 100, v % 100),
            V::Seconds(v) => write!(f, "{}", Seconds(*v)),
            V::Lifetime(v) => write!(f, "{}", Lifetime(*v)),
            V::U16s(v) => list(f, v.iter().map(ToString::to_string).collect()),
            V::Addr(a) => write!(f, "{a}"),
            V::Addrs(v) => list(f, v.iter().map(ToString::to_string).collect()),
            V::Text(t) => write!(f, "{}", Text(t)),
            V::Bytes(b) => write!(f, "{}", Hex(b)),
            V::StatusCode(s) => write!(f, "{s}"),
            V::RelayMessage(m) => write!(f, "{} message", m.msg_type()),
            V::Items(items) => list(f, items.iter().map(|i| Text(i).to_string()).collect()),
            V::VendorClass { enterprise, items } => {
                write!(f, "enterprise {enterprise}: ")?;
                list(f, items.iter().map(|i| Text(i).to_string()).collect())
            }
            V::VendorOpts { enterprise, .. } => write!(f, "enterprise {enterprise}"),
            V::DomainList(names) => list(f, names.iter().map(ToString::to_string).collect()),
            V::DomainName(name) => write!(f, "{name}"),
            V::Fqdn(fqdn) => write!(f, "flags {:#04x}, name {}", fqdn.flags, fqdn.name),
            V::RemoteId { enterprise, id } => write!(f, "enterprise {enterprise}, id {}", Hex(id)),
            V::LinkLayerAddress { htype, addr } => write!(f, "hwtype {htype}, {}", Hex(addr)),
            V::Nested(_) => f.write_str("(options follow)"),
            V::SubOptions(_) => f.write_str("(sub-options follow)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duid_forms_round_trip() {
        let llt = [
            0, 1, 0, 1, 0x1c, 0x39, 0xcf, 0x88, 8, 0, 0x27, 0xfe, 0x8f, 0x95,
        ];
        let duid = Duid::parse(&llt).expect("llt");
        assert!(matches!(duid, Duid::Llt { htype: 1, .. }));
        assert_eq!(duid.to_bytes(), llt);
        let uuid: Vec<u8> = [&[0, 4][..], &[7; 16]].concat();
        assert_eq!(Duid::parse(&uuid).map(|d| d.to_bytes()), Ok(uuid.clone()));
        assert!(Duid::parse(&uuid[..17]).is_err());
        assert_eq!(Duid::parse(&[0]).map_err(|e| e.at), Err(0));
        let long: Vec<u8> = [&[0, 2, 0, 0, 0, 9][..], &[1; 125]].concat();
        assert!(Duid::parse(&long).is_err());
        assert!(Duid::parse(&long[..130]).is_ok());
    }

    #[test]
    fn ia_with_bad_nested_option_points_into_it() {
        // IAID, T1, T2, then an IA Address header claiming 24 bytes with 4 present.
        let data = [
            0, 0, 0, 1, 0, 0, 0, 10, 0, 0, 0, 20, 0, 5, 0, 24, 1, 2, 3, 4,
        ];
        let err = Ia::parse(&data, 100).expect_err("nested overrun");
        assert_eq!(err.at, 12);
        assert!(matches!(err.kind, ContentErrorKind::Nested(_)));
    }

    #[test]
    fn prefix_length_over_128_is_refused() {
        let mut data = vec![0, 0, 0, 1, 0, 0, 0, 2, 129];
        data.extend_from_slice(&[0; 16]);
        assert_eq!(IaPrefix::parse(&data, 0).map_err(|e| e.at), Err(8));
    }
}
