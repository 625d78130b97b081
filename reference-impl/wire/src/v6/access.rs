//! Typed accessors for the options RFC 8415 and its companions define, on any option list:
//! a message's, an IA's, or an address's.

use super::catalogue::code;
use super::message::Message;
use super::options::OptionsRef;
use super::value::{self, Duid, Fqdn, Ia, IaAddress, IaPrefix, IaTa, StatusCode};
use crate::dns::{self, DomainName};
use crate::error::{ContentError, ContentErrorKind, OptionError};
use crate::scalar::{parse_empty, parse_u8, parse_u16, parse_u32};
use std::net::Ipv6Addr;

impl<'a> OptionsRef<'a> {
    /// Client Identifier (1).
    pub fn client_id(&self) -> Result<Option<Duid>, OptionError> {
        self.typed(code::CLIENT_ID, |d, _| Duid::parse(d))
    }

    /// Server Identifier (2).
    pub fn server_id(&self) -> Result<Option<Duid>, OptionError> {
        self.typed(code::SERVER_ID, |d, _| Duid::parse(d))
    }

    /// Every IA_NA (3).
    pub fn ia_na(&self) -> Result<Vec<Ia<'a>>, OptionError> {
        self.typed_all(code::IA_NA, Ia::parse)
    }

    /// Every IA_TA (4).
    pub fn ia_ta(&self) -> Result<Vec<IaTa<'a>>, OptionError> {
        self.typed_all(code::IA_TA, IaTa::parse)
    }

    /// Every IA_PD (25).
    pub fn ia_pd(&self) -> Result<Vec<Ia<'a>>, OptionError> {
        self.typed_all(code::IA_PD, Ia::parse)
    }

    /// Every IA Address (5) in this list (an IA's options).
    pub fn ia_addresses(&self) -> Result<Vec<IaAddress<'a>>, OptionError> {
        self.typed_all(code::IA_ADDR, IaAddress::parse)
    }

    /// Every IA Prefix (26) in this list (an IA_PD's options).
    pub fn ia_prefixes(&self) -> Result<Vec<IaPrefix<'a>>, OptionError> {
        self.typed_all(code::IA_PREFIX, IaPrefix::parse)
    }

    /// Option Request (6).
    pub fn oro(&self) -> Result<Option<Vec<u16>>, OptionError> {
        self.typed(code::ORO, |d, _| value::parse_codes(d))
    }

    /// Preference (7).
    pub fn preference(&self) -> Result<Option<u8>, OptionError> {
        self.typed(code::PREFERENCE, |d, _| parse_u8(d))
    }

    /// Elapsed Time (8), hundredths of a second.
    pub fn elapsed_time(&self) -> Result<Option<u16>, OptionError> {
        self.typed(code::ELAPSED_TIME, |d, _| parse_u16(d))
    }

    /// Relay Message (9), decoded.
    pub fn relay_message(&self) -> Result<Option<Message>, OptionError> {
        self.typed(code::RELAY_MSG, |d, at| {
            Message::decode_at(d, at).map_err(|e| {
                ContentError::new(e.offset - at, ContentErrorKind::Nested(Box::new(e.kind)))
            })
        })
    }

    /// Server Unicast (12).
    pub fn unicast(&self) -> Result<Option<Ipv6Addr>, OptionError> {
        self.typed(code::UNICAST, |d, _| {
            crate::read::exact_len(d, 16, "16 bytes")?;
            crate::read::Reader::new(d).addr6("address")
        })
    }

    /// Status Code (13).
    pub fn status_code(&self) -> Result<Option<StatusCode>, OptionError> {
        self.typed(code::STATUS_CODE, |d, _| StatusCode::parse(d))
    }

    /// Rapid Commit (14): present, with no data.
    pub fn rapid_commit(&self) -> Result<bool, OptionError> {
        self.typed(code::RAPID_COMMIT, |d, _| parse_empty(d))
            .map(|v| v.is_some())
    }

    /// Reconfigure Accept (20): present, with no data.
    pub fn reconfigure_accept(&self) -> Result<bool, OptionError> {
        self.typed(code::RECONF_ACCEPT, |d, _| parse_empty(d))
            .map(|v| v.is_some())
    }

    /// User Class (15) items.
    pub fn user_class(&self) -> Result<Option<Vec<Vec<u8>>>, OptionError> {
        self.typed(code::USER_CLASS, |d, _| value::parse_length_prefixed(d))
    }

    /// Interface-Id (18), as sent.
    pub fn interface_id(&self) -> Option<&'a [u8]> {
        self.get(code::INTERFACE_ID).map(|o| o.data)
    }

    /// DNS Recursive Name Server (23, RFC 3646).
    pub fn dns_servers(&self) -> Result<Option<Vec<Ipv6Addr>>, OptionError> {
        self.typed(code::DNS_SERVERS, |d, _| value::parse_addrs(d))
    }

    /// Domain Search List (24, RFC 3646).
    pub fn domain_list(&self) -> Result<Option<Vec<DomainName>>, OptionError> {
        self.typed(code::DOMAIN_LIST, |d, _| dns::parse_name_list(d, false))
    }

    /// Information Refresh Time (32), seconds.
    pub fn information_refresh_time(&self) -> Result<Option<u32>, OptionError> {
        self.typed(code::INFORMATION_REFRESH_TIME, |d, _| parse_u32(d))
    }

    /// Client FQDN (39, RFC 4704).
    pub fn fqdn(&self) -> Result<Option<Fqdn>, OptionError> {
        self.typed(code::CLIENT_FQDN, |d, _| Fqdn::parse(d))
    }

    /// SOL_MAX_RT (82), seconds.
    pub fn sol_max_rt(&self) -> Result<Option<u32>, OptionError> {
        self.typed(code::SOL_MAX_RT, |d, _| parse_u32(d))
    }

    /// INF_MAX_RT (83), seconds.
    pub fn inf_max_rt(&self) -> Result<Option<u32>, OptionError> {
        self.typed(code::INF_MAX_RT, |d, _| parse_u32(d))
    }
}
