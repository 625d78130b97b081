//! The DHCPv4/BOOTP message (RFC 951, RFC 2131): fixed header, magic cookie and option areas.

use super::area::{Area, Entries, Entry, OptionArea, OptionRef, split_area};
use super::catalogue::{self, MessageType, code};
use super::value::{
    ClasslessRoute, ClientFqdn, ClientId, OptionValue, Overload, SubOption, parse_addr, parse_addrs,
};
use crate::dns::{self, DomainName};
use crate::error::{ContentError, ContentErrorKind, DecodeError, DecodeErrorKind, OptionError};
use crate::scalar::{parse_empty, parse_non_empty, parse_u8, parse_u16, parse_u32};
use std::borrow::Cow;
use std::net::Ipv4Addr;

/// The magic cookie that starts the options field (RFC 2131 section 3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
pub(crate) const SNAME_OFFSET: usize = 44;
pub(crate) const FILE_OFFSET: usize = 108;
pub(crate) const COOKIE_OFFSET: usize = 236;
pub(crate) const OPTIONS_OFFSET: usize = 240;
/// Size of an RFC 951 BOOTP packet, whose 64-byte `vend` field need not start with the cookie.
const RFC951_LEN: usize = 300;

/// A DHCPv4 or BOOTP message, lossless: `Message::decode(b)?.encode() == b` for every `b`
/// that decodes.
///
/// The fixed fields are public and hold any value the wire can carry. `sname` and `file` stay
/// raw even when option 52 puts options in them; [`Message::options`] reads them from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// 1 = BOOTREQUEST, 2 = BOOTREPLY.
    pub op: u8,
    /// Hardware address type (ARP numbering; 1 = Ethernet).
    pub htype: u8,
    /// Hardware address length.
    pub hlen: u8,
    /// Relay hops.
    pub hops: u8,
    /// Transaction ID.
    pub xid: u32,
    /// Seconds since the client began acquisition or renewal.
    pub secs: u16,
    /// Flags; bit 15 is BROADCAST.
    pub flags: u16,
    /// Client IP address (when the client can answer ARP).
    pub ciaddr: Ipv4Addr,
    /// "Your" (client) address offered or assigned.
    pub yiaddr: Ipv4Addr,
    /// Next server address.
    pub siaddr: Ipv4Addr,
    /// Relay agent address.
    pub giaddr: Ipv4Addr,
    /// Client hardware address field, all 16 bytes.
    pub chaddr: [u8; 16],
    /// Server host name field, raw.
    pub sname: [u8; 64],
    /// Boot file name field, raw.
    pub file: [u8; 128],
    /// The `vend` field of an RFC 951 BOOTP packet that carries no magic cookie (a 300-byte
    /// packet whose bytes 236..240 are not 99.130.83.99). `None` for DHCP and RFC 1497 BOOTP,
    /// whose vendor area is the cookie and `options`. When set, `options` is not encoded.
    pub vend: Option<[u8; 64]>,
    /// The options field after the magic cookie, as it stands: methods on the area see this
    /// field only. [`Message::options`] and [`Message::option`] see every area, `file` and
    /// `sname` included when option 52 overloads them, joined per RFC 3396.
    pub options: OptionArea,
}

/// An option's value with RFC 3396 concatenation applied: every instance of the code, from the
/// options field, then `file`, then `sname`, joined in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionData<'a> {
    /// Option code.
    pub code: u8,
    /// The joined data.
    pub data: Cow<'a, [u8]>,
    first_offset: usize,
    more: Vec<(usize, usize)>,
}

impl OptionData<'_> {
    /// Offset in the message of the first data byte of the first instance.
    pub fn offset(&self) -> usize {
        self.first_offset
    }

    /// How many instances were joined.
    pub fn instances(&self) -> usize {
        1 + self.more.len()
    }

    /// Places a content fault found in the joined data at its byte in the message.
    pub fn locate(&self, err: ContentError) -> OptionError {
        let (start, offset) = self
            .more
            .iter()
            .rev()
            .find(|(start, _)| *start <= err.at)
            .copied()
            .unwrap_or((0, self.first_offset));
        ContentError::new(err.at - start, err.kind).locate(self.code.into(), offset)
    }
}

impl Message {
    /// `op` of a client's message.
    pub const BOOTREQUEST: u8 = 1;
    /// `op` of a server's message.
    pub const BOOTREPLY: u8 = 2;
    /// The BROADCAST bit of `flags`.
    pub const FLAG_BROADCAST: u16 = 0x8000;

    /// A message with an Ethernet hardware address, zeroed fields and an empty options field.
    pub fn new(op: u8, xid: u32, mac: [u8; 6]) -> Self {
        let mut chaddr = [0u8; 16];
        chaddr[..6].copy_from_slice(&mac);
        Self {
            op,
            htype: 1,
            hlen: 6,
            hops: 0,
            xid,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr,
            sname: [0; 64],
            file: [0; 128],
            vend: None,
            options: OptionArea::new(),
        }
    }

    /// Decodes a UDP payload, checking header length, cookie and the framing of every option
    /// area (the options field, and `file`/`sname` when option 52 overloads them). A packet of
    /// exactly 300 bytes without the cookie is RFC 951 BOOTP and keeps its `vend` bytes raw;
    /// any other packet without the cookie is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let header: &[u8; OPTIONS_OFFSET] = match bytes.first_chunk() {
            Some(h) => h,
            None if bytes.len() < COOKIE_OFFSET => {
                return Err(DecodeError::new(
                    bytes.len(),
                    DecodeErrorKind::Truncated {
                        what: "BOOTP header",
                        needed: COOKIE_OFFSET,
                        available: bytes.len(),
                    },
                ));
            }
            None => {
                return Err(DecodeError::new(
                    bytes.len(),
                    DecodeErrorKind::Truncated {
                        what: "magic cookie",
                        needed: 4,
                        available: bytes.len() - COOKIE_OFFSET,
                    },
                ));
            }
        };
        let cookie: [u8; 4] = sub(header, COOKIE_OFFSET);
        let rfc951_vend = (bytes.len() == RFC951_LEN)
            .then(|| {
                bytes
                    .get(COOKIE_OFFSET..)
                    .and_then(|v| <[u8; 64]>::try_from(v).ok())
            })
            .flatten();
        let (vend, options) = match rfc951_vend {
            _ if cookie == MAGIC_COOKIE => {
                let area = bytes.get(OPTIONS_OFFSET..).unwrap_or_default();
                (None, OptionArea::decode(area, Area::Options)?)
            }
            Some(vend) => (Some(vend), OptionArea::new()),
            None => {
                return Err(DecodeError::new(
                    COOKIE_OFFSET,
                    DecodeErrorKind::BadCookie { found: cookie },
                ));
            }
        };
        let message = Self {
            op: header[0],
            htype: header[1],
            hlen: header[2],
            hops: header[3],
            xid: u32::from_be_bytes(sub(header, 4)),
            secs: u16::from_be_bytes(sub(header, 8)),
            flags: u16::from_be_bytes(sub(header, 10)),
            ciaddr: Ipv4Addr::from(sub::<4>(header, 12)),
            yiaddr: Ipv4Addr::from(sub::<4>(header, 16)),
            siaddr: Ipv4Addr::from(sub::<4>(header, 20)),
            giaddr: Ipv4Addr::from(sub::<4>(header, 24)),
            chaddr: sub(header, 28),
            sname: sub(header, SNAME_OFFSET),
            file: sub(header, FILE_OFFSET),
            vend,
            options,
        };
        if let Some(overload) = message.overload_checked()? {
            if overload.file() {
                split_area(&message.file, Area::File)?;
            }
            if overload.sname() {
                split_area(&message.sname, Area::Sname)?;
            }
        }
        Ok(message)
    }

    /// Reads option 52 from the options field, failing as a framing fault when it is malformed.
    fn overload_checked(&self) -> Result<Option<Overload>, DecodeError> {
        let mut instances = self
            .options
            .entries_in(Area::Options)
            .filter_map(|e| match e {
                Entry::Option(o) if o.code == code::OVERLOAD => Some(o),
                _ => None,
            });
        let Some(first) = instances.next() else {
            return Ok(None);
        };
        let data: Cow<'_, [u8]> = match instances.next() {
            None => Cow::Borrowed(first.data),
            Some(second) => Cow::Owned(
                [first, second]
                    .into_iter()
                    .chain(instances)
                    .flat_map(|o| o.data.iter().copied())
                    .collect(),
            ),
        };
        Overload::parse(&data).map(Some).map_err(|_| {
            DecodeError::new(
                first.offset,
                DecodeErrorKind::BadOverload {
                    found: data.into_owned(),
                },
            )
        })
    }

    /// The message's wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_header(&mut out);
        match &self.vend {
            Some(vend) => out.extend_from_slice(vend),
            None => {
                out.extend_from_slice(&MAGIC_COOKIE);
                self.options.encode_into(&mut out);
            }
        }
        out
    }

    /// The length of [`Message::encode`]'s output, without encoding.
    pub fn encoded_len(&self) -> usize {
        match &self.vend {
            Some(vend) => COOKIE_OFFSET + vend.len(),
            None => OPTIONS_OFFSET + self.options.encoded_len(),
        }
    }

    /// Appends the 236-byte fixed header (everything before the cookie).
    pub(crate) fn encode_header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.op, self.htype, self.hlen, self.hops]);
        out.extend_from_slice(&self.xid.to_be_bytes());
        out.extend_from_slice(&self.secs.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        for addr in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            out.extend_from_slice(&addr.octets());
        }
        out.extend_from_slice(&self.chaddr);
        out.extend_from_slice(&self.sname);
        out.extend_from_slice(&self.file);
    }

    /// The client hardware address: the first `hlen` bytes of `chaddr` (at most 16).
    pub fn hardware_address(&self) -> &[u8] {
        &self.chaddr[..usize::from(self.hlen).min(16)]
    }

    /// True when the BROADCAST flag is set.
    pub fn broadcast(&self) -> bool {
        self.flags & Self::FLAG_BROADCAST != 0
    }

    /// Which fixed fields option 52 turns into option areas; `None` when it is absent or
    /// malformed (a decoded message never has a malformed one).
    pub fn overload(&self) -> Option<Overload> {
        self.overload_checked().ok().flatten()
    }

    /// Every entry of every option area, in RFC 3396 order: the options field, then `file`,
    /// then `sname` when overloaded. An overloaded field whose framing is broken (possible only
    /// in a message built by hand) contributes nothing.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        let overload = self.overload();
        self.options
            .entries_in(Area::Options)
            .chain(overloaded_field(
                overload.is_some_and(Overload::file),
                &self.file,
                Area::File,
            ))
            .chain(overloaded_field(
                overload.is_some_and(Overload::sname),
                &self.sname,
                Area::Sname,
            ))
    }

    /// Every option instance in RFC 3396 order, PAD left out.
    pub fn options(&self) -> impl Iterator<Item = OptionRef<'_>> {
        self.entries().filter_map(|e| match e {
            Entry::Option(o) => Some(o),
            Entry::Pad { .. } => None,
        })
    }

    /// The bytes after END in an option area: always for the options field, and for `file` or
    /// `sname` when option 52 makes them areas (`None` otherwise).
    pub fn field_tail(&self, area: Area) -> Option<&[u8]> {
        let (on, bytes): (bool, &[u8]) = match area {
            Area::Options => return Some(self.options.tail()),
            Area::File => (self.overload().is_some_and(Overload::file), &self.file),
            Area::Sname => (self.overload().is_some_and(Overload::sname), &self.sname),
        };
        on.then(|| split_area(bytes, area).ok().map(|(_, tail)| tail))
            .flatten()
    }

    /// The value of `code` with every instance joined (RFC 3396), or `None` when absent.
    /// Option 52 counts only in the options field, where RFC 2131 4.1 puts it.
    pub fn option(&self, code: u8) -> Option<OptionData<'_>> {
        // The common case in one pass over the options field: no option 52 (so no other
        // area) and one instance at most (so nothing to join).
        match self.options.single(code, code::OVERLOAD) {
            Ok(found) => found.map(|(at, data)| OptionData {
                code,
                data: Cow::Borrowed(data),
                first_offset: Area::Options.base() + at + 2,
                more: Vec::new(),
            }),
            Err(_) => self.option_joined(code),
        }
    }

    /// [`Message::option`] across every area, instances joined.
    fn option_joined(&self, code: u8) -> Option<OptionData<'_>> {
        let mut instances = self
            .options()
            .filter(|o| o.code == code && (code != code::OVERLOAD || o.area == Area::Options));
        let first = instances.next()?;
        let mut data = Cow::Borrowed(first.data);
        let mut more = Vec::new();
        for next in instances {
            more.push((data.len(), next.data_offset()));
            data.to_mut().extend_from_slice(next.data);
        }
        Some(OptionData {
            code,
            data,
            first_offset: first.data_offset(),
            more,
        })
    }

    /// Reads `code` with `parse`, placing any content fault in the message.
    pub fn typed<T>(
        &self,
        code: u8,
        parse: impl FnOnce(&[u8]) -> Result<T, ContentError>,
    ) -> Result<Option<T>, OptionError> {
        match self.option(code) {
            None => Ok(None),
            Some(d) => parse(&d.data).map(Some).map_err(|e| d.locate(e)),
        }
    }

    /// Reads any option the catalogue knows as its typed value; `Ok(None)` when absent or when
    /// the code is not in the catalogue.
    pub fn value(&self, code: u8) -> Result<Option<OptionValue>, OptionError> {
        match catalogue::lookup(code) {
            Some((_, format)) => self.typed(code, |d| OptionValue::parse(format, d)),
            None => Ok(None),
        }
    }

    /// Every content fault in the known options, one per option code, and option 52 found
    /// outside the options field.
    pub fn validate(&self) -> Vec<OptionError> {
        let mut seen = [false; 256];
        let mut faults = Vec::new();
        for option in self.options() {
            if option.code == code::OVERLOAD && option.area != Area::Options {
                faults.push(OptionError {
                    code: code::OVERLOAD.into(),
                    offset: option.offset,
                    kind: ContentErrorKind::Placement(
                        "option 52 belongs in the options field (RFC 2131 4.1)",
                    ),
                });
                continue;
            }
            let slot = &mut seen[usize::from(option.code)];
            if !*slot {
                *slot = true;
                if let Err(e) = self.value(option.code) {
                    faults.push(e);
                }
            }
        }
        faults
    }

    /// Option 53.
    pub fn message_type(&self) -> Result<Option<MessageType>, OptionError> {
        self.typed(code::MESSAGE_TYPE, |d| parse_u8(d).map(MessageType::from))
    }

    /// Option 54.
    pub fn server_id(&self) -> Result<Option<Ipv4Addr>, OptionError> {
        self.typed(code::SERVER_ID, parse_addr)
    }

    /// Option 50.
    pub fn requested_ip(&self) -> Result<Option<Ipv4Addr>, OptionError> {
        self.typed(code::REQUESTED_IP, parse_addr)
    }

    /// Option 1.
    pub fn subnet_mask(&self) -> Result<Option<Ipv4Addr>, OptionError> {
        self.typed(code::SUBNET_MASK, parse_addr)
    }

    /// Option 3.
    pub fn routers(&self) -> Result<Option<Vec<Ipv4Addr>>, OptionError> {
        self.typed(code::ROUTER, |d| parse_addrs(d, false))
    }

    /// Option 6.
    pub fn dns_servers(&self) -> Result<Option<Vec<Ipv4Addr>>, OptionError> {
        self.typed(code::DNS_SERVERS, |d| parse_addrs(d, false))
    }

    /// Option 51, seconds.
    pub fn lease_time(&self) -> Result<Option<u32>, OptionError> {
        self.typed(code::LEASE_TIME, parse_u32)
    }

    /// Option 58 (T1), seconds.
    pub fn renewal_time(&self) -> Result<Option<u32>, OptionError> {
        self.typed(code::RENEWAL_TIME, parse_u32)
    }

    /// Option 59 (T2), seconds.
    pub fn rebinding_time(&self) -> Result<Option<u32>, OptionError> {
        self.typed(code::REBINDING_TIME, parse_u32)
    }

    /// Option 12, as sent.
    pub fn host_name(&self) -> Result<Option<Vec<u8>>, OptionError> {
        self.typed(code::HOST_NAME, parse_non_empty)
    }

    /// Option 15, as sent.
    pub fn domain_name(&self) -> Result<Option<Vec<u8>>, OptionError> {
        self.typed(code::DOMAIN_NAME, parse_non_empty)
    }

    /// Option 60, as sent.
    pub fn vendor_class_id(&self) -> Result<Option<Vec<u8>>, OptionError> {
        self.typed(code::VENDOR_CLASS_ID, parse_non_empty)
    }

    /// Option 55: the codes the client asks for, in its order.
    pub fn parameter_request_list(&self) -> Result<Option<Vec<u8>>, OptionError> {
        self.typed(code::PARAMETER_REQUEST_LIST, parse_non_empty)
    }

    /// Option 57.
    pub fn max_message_size(&self) -> Result<Option<u16>, OptionError> {
        self.typed(code::MAX_MESSAGE_SIZE, parse_u16)
    }

    /// Option 61 (RFC 2132, RFC 4361).
    pub fn client_id(&self) -> Result<Option<ClientId>, OptionError> {
        self.typed(code::CLIENT_ID, ClientId::parse)
    }

    /// Option 82's sub-options (RFC 3046).
    pub fn relay_agent_info(&self) -> Result<Option<Vec<SubOption>>, OptionError> {
        self.typed(code::RELAY_AGENT_INFO, |d| {
            SubOption::parse_list(&parse_non_empty(d)?)
        })
    }

    /// Option 121 (RFC 3442).
    pub fn classless_routes(&self) -> Result<Option<Vec<ClasslessRoute>>, OptionError> {
        self.typed(code::CLASSLESS_ROUTES, |d| {
            ClasslessRoute::parse_list(&parse_non_empty(d)?)
        })
    }

    /// Option 81 (RFC 4702).
    pub fn client_fqdn(&self) -> Result<Option<ClientFqdn>, OptionError> {
        self.typed(code::CLIENT_FQDN, ClientFqdn::parse)
    }

    /// Option 119 (RFC 3397).
    pub fn domain_search(&self) -> Result<Option<Vec<DomainName>>, OptionError> {
        self.typed(code::DOMAIN_SEARCH, |d| dns::parse_name_list(d, true))
    }

    /// Option 80 (RFC 4039): present, with no data.
    pub fn rapid_commit(&self) -> Result<bool, OptionError> {
        self.typed(code::RAPID_COMMIT, parse_empty)
            .map(|v| v.is_some())
    }
}

/// The entries of an overloaded fixed field, or nothing when it is not overloaded or broken.
fn overloaded_field(on: bool, bytes: &[u8], area: Area) -> impl Iterator<Item = Entry<'_>> {
    on.then(|| split_area(bytes, area).ok())
        .flatten()
        .map(|(entries, _)| Entries::new(entries, area))
        .into_iter()
        .flatten()
}

/// Copies `N` bytes at `at` out of the fixed header (whose length the caller has checked).
fn sub<const N: usize>(header: &[u8; OPTIONS_OFFSET], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = header.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v4::RawBuilder;

    fn discover() -> Message {
        let mut m = Message::new(Message::BOOTREQUEST, 0x3d1d, [0, 0x0b, 0x82, 1, 0xfc, 0x42]);
        m.options
            .push(code::MESSAGE_TYPE, &[1])
            .and_then(|o| o.push(code::CLIENT_ID, &[1, 0, 0x0b, 0x82, 1, 0xfc, 0x42]))
            .and_then(|o| o.push(code::PARAMETER_REQUEST_LIST, &[1, 3, 6, 42]))
            .expect("push");
        m
    }

    #[test]
    fn encode_decode_round_trip() {
        let m = discover();
        let bytes = m.encode();
        assert_eq!(bytes.len(), 240 + 3 + 9 + 6 + 1);
        assert_eq!(Message::decode(&bytes), Ok(m.clone()));
        assert_eq!(m.message_type(), Ok(Some(MessageType::Discover)));
        assert_eq!(m.hardware_address(), &[0, 0x0b, 0x82, 1, 0xfc, 0x42]);
    }

    #[test]
    fn header_faults() {
        let err = Message::decode(&[1; 100]).expect_err("short");
        assert_eq!(err.offset, 100);
        let bytes = RawBuilder::from_header(&discover())
            .cookie([0; 4])
            .end()
            .build();
        let err = Message::decode(&bytes).expect_err("cookie");
        assert_eq!(
            err,
            DecodeError::new(236, DecodeErrorKind::BadCookie { found: [0; 4] })
        );
        let bytes = RawBuilder::from_header(&discover())
            .cookie(MAGIC_COOKIE)
            .option(53, &[1])
            .build();
        assert!(matches!(
            Message::decode(&bytes).map_err(|e| e.kind),
            Err(DecodeErrorKind::MissingEnd { .. })
        ));
    }

    #[test]
    fn rfc951_bootp_without_cookie_keeps_its_vend_bytes() {
        let mut m = Message::new(Message::BOOTREPLY, 7, [2, 0, 0, 0, 0, 1]);
        m.yiaddr = Ipv4Addr::new(192, 0, 2, 7);
        let mut vend = [0u8; 64];
        vend[..4].copy_from_slice(b"VEND");
        m.vend = Some(vend);
        let bytes = m.encode();
        assert_eq!(bytes.len(), 300);
        assert_eq!(Message::decode(&bytes), Ok(m.clone()));
        assert_eq!(m.message_type(), Ok(None));
        // Any other length without the cookie is not RFC 951 and is refused.
        let err = Message::decode(&bytes[..299]).expect_err("299 bytes");
        assert!(matches!(err.kind, DecodeErrorKind::BadCookie { .. }));
    }

    #[test]
    fn overload_areas_are_read_in_rfc3396_order() {
        let mut m = discover();
        m.options.push(code::OVERLOAD, &[3]).expect("52");
        m.options.push(code::HOST_NAME, b"fea").expect("12");
        let mut file = OptionArea::new();
        file.push(code::HOST_NAME, b"nor").expect("12");
        m.file = file.to_field().expect("file");
        let mut sname = OptionArea::new();
        sname.push(code::DOMAIN_NAME, b"example").expect("15");
        m.sname = sname.to_field().expect("sname");
        let bytes = m.encode();
        let back = Message::decode(&bytes).expect("decode");
        assert_eq!(back, m);
        assert_eq!(back.host_name(), Ok(Some(b"feanor".to_vec())));
        assert_eq!(back.option(code::HOST_NAME).map(|d| d.instances()), Some(2));
        let areas: Vec<Area> = back.options().map(|o| o.area).collect();
        assert_eq!(areas.last(), Some(&Area::Sname));
        assert_eq!(back.field_tail(Area::File).map(<[u8]>::len), Some(128 - 6));
        // A broken area inside `file` is a framing fault with its offset in the message.
        let mut broken = m.clone();
        broken.file[0] = 12;
        broken.file[1] = 200;
        let err = Message::decode(&broken.encode()).expect_err("file overrun");
        assert_eq!(err.offset, 108);
    }

    #[test]
    fn content_fault_in_second_instance_is_located_there() {
        let mut m = discover();
        // RFC 3396: one route in the first instance, a route of width 33 in the second.
        m.options
            .push(code::CLASSLESS_ROUTES, &[24, 198, 51, 100, 192, 0, 2, 1])
            .and_then(|o| o.push(code::CLASSLESS_ROUTES, &[33, 1, 2, 3, 4, 5, 6, 7, 8]))
            .expect("push");
        let bytes = m.encode();
        let second = bytes
            .windows(3)
            .rposition(|w| w == [121, 9, 33])
            .expect("second instance");
        let err = m.classless_routes().expect_err("width 33");
        assert_eq!(err.code, 121);
        assert_eq!(err.offset, second + 2);
        assert_eq!(m.validate(), vec![err]);
        // A length fault concerns the joined value and points at its first instance.
        let mut m = discover();
        m.options
            .push(code::ROUTER, &[192, 0, 2, 1])
            .and_then(|o| o.push(code::ROUTER, &[192, 0]))
            .expect("push");
        let first = m.option(code::ROUTER).map(|d| d.offset());
        assert_eq!(m.routers().map_err(|e| e.offset).err(), first);
    }

    #[test]
    fn option_52_outside_the_options_field_is_a_fault_not_a_value() {
        let mut m = discover();
        m.options.push(code::OVERLOAD, &[1]).expect("52");
        let mut file = OptionArea::new();
        file.push(code::OVERLOAD, &[2]).expect("52 in file");
        m.file = file.to_field().expect("fits");
        let m = Message::decode(&m.encode()).expect("decode");
        assert_eq!(m.overload(), Some(Overload::File));
        assert_eq!(
            m.option(code::OVERLOAD).map(|d| d.data.into_owned()),
            Some(vec![1])
        );
        let faults = m.validate();
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].offset, 108);
        assert!(matches!(faults[0].kind, ContentErrorKind::Placement(_)));
    }

    #[test]
    fn bad_overload_value_is_a_framing_fault() {
        let mut m = discover();
        m.options.push(code::OVERLOAD, &[7]).expect("52");
        let err = Message::decode(&m.encode()).expect_err("bad 52");
        assert!(matches!(err.kind, DecodeErrorKind::BadOverload { .. }));
    }
}
