//! DHCPv6 option names and types as Solaris /etc/dhcp/inittab6 gives them (illumos
//! usr/src/cmd/cmd-inet/etc/dhcp/inittab6), for `.v6.PARAM_REQUEST_LIST` entries written by
//! name and for printing the options of a Reply the way `dhcpinfo -v6` does: one value a line.
//! Names are matched without regard to case, as dhcpinfo matches them.

use dhcplab_wire::dns::parse_name_list;
use dhcplab_wire::v6::Duid;
use std::fmt::Write;
use std::net::Ipv6Addr;

/// How an option's bytes are read (inittab6's types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind6 {
    /// A DUID, printed in dhcpagent's CLIENT_ID forms: `1,HWTYPE,TIME,LLA`, `2,ENTERPRISE,HEX`,
    /// `3,HWTYPE,LLA`, `TYPE,HEX` (LLA as colon-separated hex).
    Duid,
    /// Unsigned integers of 1, 2, 3 or 4 bytes.
    Unsigned(u8),
    /// IPv6 addresses.
    Ipv6,
    /// Domain names in DNS wire form (RFC 1035 3.1), uncompressed.
    Domain,
    /// Raw bytes, printed as `0xNN`.
    Octet,
    /// No data: its presence means yes.
    Bool,
}

/// One inittab6 entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry6 {
    /// dhcpinfo's name, as `DNSAddresses`.
    pub name: &'static str,
    /// The option code, or for a field its byte offset in the message.
    pub code: u16,
    /// How the value is read.
    pub kind: Kind6,
}

const fn e(name: &'static str, code: u16, kind: Kind6) -> Entry6 {
    Entry6 { name, code, kind }
}

use Kind6::{Bool, Domain, Duid as DuidKind, Ipv6, Octet, Unsigned};

/// The STANDARD options of inittab6.
pub const TABLE6: &[Entry6] = &[
    e("ClientID", 1, DuidKind),
    e("ServerID", 2, DuidKind),
    e("Preference", 7, Unsigned(1)),
    e("Unicast", 12, Ipv6),
    e("Status", 13, Unsigned(2)),
    e("RapidCommit", 14, Bool),
    e("UserClass", 15, Octet),
    e("VendorClass", 16, Octet),
    e("Reconfigure", 19, Unsigned(1)),
    e("SIPNames", 21, Domain),
    e("SIPAddresses", 22, Ipv6),
    e("DNSAddresses", 23, Ipv6),
    e("DNSSearch", 24, Domain),
    e("NISServers", 27, Ipv6),
    e("NIS+Servers", 28, Ipv6),
    e("NISDomain", 29, Domain),
    e("NIS+Domain", 30, Domain),
    e("SNTPServers", 31, Ipv6),
    e("InfoRefresh", 32, Unsigned(4)),
    e("BCMCDomain", 33, Domain),
    e("BCMCAddresses", 34, Ipv6),
    e("Geoconf", 36, Octet),
    e("RemoteID", 37, Octet),
    e("Subscriber", 38, Octet),
    e("ClientFQDN", 39, Octet),
];

/// The FIELD entries of inittab6 a client's Reply has (the relay fields are never in one):
/// the code is the byte offset.
pub const FIELDS6: &[Entry6] = &[e("MsgType", 0, Unsigned(1)), e("TransId", 1, Unsigned(3))];

/// The option named `name` (any case).
pub fn by_name(name: &str) -> Option<&'static Entry6> {
    TABLE6.iter().find(|e| e.name.eq_ignore_ascii_case(name))
}

/// The option with `code`.
pub fn by_code(code: u16) -> Option<&'static Entry6> {
    TABLE6.iter().find(|e| e.code == code)
}

/// The message field named `name` (any case).
pub fn field_by_name(name: &str) -> Option<&'static Entry6> {
    FIELDS6.iter().find(|e| e.name.eq_ignore_ascii_case(name))
}

/// Why an option's bytes do not fit its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("option {code} ({len} bytes) is not {what}")]
pub struct ValueError6 {
    /// The option code.
    pub code: u16,
    /// Its length.
    pub len: usize,
    /// What the bytes should hold.
    pub what: &'static str,
}

/// The values of option `code` as dhcpinfo prints them, one string a line. Options not in
/// the table are raw bytes (as dhcpinfo's `-c`).
pub fn values6(code: u16, data: &[u8]) -> Result<Vec<String>, ValueError6> {
    let kind = by_code(code).map_or(Octet, |e| e.kind);
    read(kind, data).map_err(|what| ValueError6 {
        code,
        len: data.len(),
        what,
    })
}

/// `data` read as `kind`; what it should hold when it does not.
pub fn read(kind: Kind6, data: &[u8]) -> Result<Vec<String>, &'static str> {
    Ok(match kind {
        Ipv6 => {
            if data.is_empty() || data.len() % 16 != 0 {
                return Err("a list of IPv6 addresses");
            }
            data.chunks_exact(16)
                .filter_map(|c| <[u8; 16]>::try_from(c).ok())
                .map(|b| Ipv6Addr::from(b).to_string())
                .collect()
        }
        Domain => parse_name_list(data, false)
            .map_err(|_| "a list of domain names")?
            .iter()
            .map(|n| n.to_string().trim_end_matches('.').to_string())
            .collect(),
        Unsigned(width) => {
            if data.len() != usize::from(width) {
                return Err("an integer of the option's width");
            }
            let n = data.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            vec![n.to_string()]
        }
        Bool => {
            if !data.is_empty() {
                return Err("empty");
            }
            Vec::new()
        }
        Octet => data.iter().map(|b| format!("0x{b:02X}")).collect(),
        DuidKind => vec![duid(data).ok_or("a DUID")?],
    })
}

/// A DUID in dhcpagent's CLIENT_ID forms.
fn duid(data: &[u8]) -> Option<String> {
    let colons = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let hex = |bytes: &[u8]| {
        bytes.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        })
    };
    Some(match Duid::parse(data).ok()? {
        Duid::Llt { htype, time, addr } => format!("1,{htype},{time},{}", colons(&addr)),
        Duid::En { enterprise, id } => format!("2,{enterprise},{}", hex(&id)),
        Duid::Ll { htype, addr } => format!("3,{htype},{}", colons(&addr)),
        Duid::Uuid(uuid) => format!("4,{}", hex(&uuid)),
        Duid::Other { kind, data } => format!("{kind},{}", hex(&data)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_are_unique_and_found_in_any_case() {
        for (i, a) in TABLE6.iter().enumerate() {
            for b in &TABLE6[i + 1..] {
                assert_ne!(a.code, b.code);
                assert!(!a.name.eq_ignore_ascii_case(b.name));
            }
        }
        assert_eq!(by_name("dnsaddresses").map(|e| e.code), Some(23));
        assert_eq!(by_name("DNSSearch").map(|e| e.code), Some(24));
        assert_eq!(by_code(2).map(|e| e.name), Some("ServerID"));
        assert_eq!(field_by_name("transid").map(|e| e.code), Some(1));
        assert!(by_name("Bogus").is_none());
    }

    #[test]
    fn values_print_one_per_line() {
        let mut two = Vec::new();
        two.extend_from_slice(&"2001:db8::53".parse::<Ipv6Addr>().expect("ip").octets());
        two.extend_from_slice(&"2001:db8::54".parse::<Ipv6Addr>().expect("ip").octets());
        assert_eq!(
            values6(23, &two),
            Ok(vec!["2001:db8::53".into(), "2001:db8::54".into()])
        );
        // RFC 3646 section 4 and RFC 8415 section 10: names in DNS wire form, uncompressed.
        let names = b"\x07example\x03com\x00\x04test\x00";
        assert_eq!(
            values6(24, names),
            Ok(vec!["example.com".into(), "test".into()])
        );
        assert_eq!(values6(32, &[0, 0, 0x0e, 0x10]), Ok(vec!["3600".into()]));
        assert_eq!(values6(14, &[]), Ok(vec![]));
        assert_eq!(
            values6(200, &[1, 0xab]),
            Ok(vec!["0x01".into(), "0xAB".into()])
        );
    }

    #[test]
    fn duids_print_in_dhcpagents_client_id_forms() {
        let llt = [0, 1, 0, 1, 0x2f, 0, 0, 1, 2, 0, 0x5e, 0, 0x53, 1];
        assert_eq!(
            values6(1, &llt),
            Ok(vec!["1,1,788529153,02:00:5e:00:53:01".into()])
        );
        assert_eq!(
            values6(2, &[0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 2]),
            Ok(vec!["3,1,02:00:5e:00:53:02".into()])
        );
        assert_eq!(
            values6(2, &[0, 2, 0, 0, 0x09, 0x15, 0xab, 0xcd]),
            Ok(vec!["2,2325,ABCD".into()])
        );
    }

    #[test]
    fn bytes_that_do_not_fit_are_an_error_that_names_the_option() {
        let e = values6(23, &[0; 15]).expect_err("15 bytes");
        assert_eq!(
            e.to_string(),
            "option 23 (15 bytes) is not a list of IPv6 addresses"
        );
        assert!(values6(24, b"\x07exam").is_err());
        assert!(values6(32, &[1, 2]).is_err());
        assert!(values6(14, &[1]).is_err());
        assert!(values6(2, &[0]).is_err());
    }
}
