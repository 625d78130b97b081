//! Kea's `option-data` for DHCPv6: the standard option names of the `dhcp6` space as Kea 2.2
//! spells them (`STANDARD_V6_OPTION_DEFINITIONS` in `src/lib/dhcp/std_option_defs.h`), and the
//! text of `data` turned into option bytes by the option's Kea type (`csv-format: true`).

use crate::common::hex;
use dhcplab_wire::dns::DomainName;
use std::net::Ipv6Addr;

/// One field of a Kea option definition (`OptionDataType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// `uint8`.
    U8,
    /// `uint16`.
    U16,
    /// `uint32`.
    U32,
    /// `ipv6-address`.
    Addr,
    /// `ipv6-prefix`: `address/length`, written as the length and the prefix's bytes.
    Prefix,
    /// `fqdn`: a fully qualified name in wire form.
    Fqdn,
    /// `string`: the text's bytes, not empty.
    Text,
    /// `tuple`: a 2-byte length and the text (DHCPv6 tuples).
    Tuple,
    /// `binary`: hex.
    Binary,
}

/// A Kea option type: nothing, one field, an array of one field, or a record of fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `empty`.
    Empty,
    /// One value.
    One(Field),
    /// One or more values, comma-separated.
    Array(Field),
    /// A record: one comma-separated value per field.
    Record(&'static [Field]),
}

use Field::*;
use Kind::*;

/// Kea 2.2's standard DHCPv6 options: name, code, type.
const KEA_OPTIONS6: &[(&str, u16, Kind)] = &[
    ("clientid", 1, One(Binary)),
    ("serverid", 2, One(Binary)),
    ("ia-na", 3, Record(&[U32, U32, U32])),
    ("ia-ta", 4, One(U32)),
    ("iaaddr", 5, Record(&[Addr, U32, U32])),
    ("oro", 6, Array(U16)),
    ("preference", 7, One(U8)),
    ("elapsed-time", 8, One(U16)),
    ("relay-msg", 9, One(Binary)),
    ("auth", 11, One(Binary)),
    ("unicast", 12, One(Addr)),
    ("status-code", 13, Record(&[U16, Text])),
    ("rapid-commit", 14, Empty),
    ("user-class", 15, One(Binary)),
    ("vendor-class", 16, Record(&[U32, Binary])),
    ("vendor-opts", 17, One(U32)),
    ("interface-id", 18, One(Binary)),
    ("reconf-msg", 19, One(U8)),
    ("reconf-accept", 20, Empty),
    ("sip-server-dns", 21, Array(Fqdn)),
    ("sip-server-addr", 22, Array(Addr)),
    ("dns-servers", 23, Array(Addr)),
    ("domain-search", 24, Array(Fqdn)),
    ("ia-pd", 25, Record(&[U32, U32, U32])),
    ("iaprefix", 26, Record(&[U32, U32, U8, Addr])),
    ("nis-servers", 27, Array(Addr)),
    ("nisp-servers", 28, Array(Addr)),
    ("nis-domain-name", 29, Array(Fqdn)),
    ("nisp-domain-name", 30, Array(Fqdn)),
    ("sntp-servers", 31, Array(Addr)),
    ("information-refresh-time", 32, One(U32)),
    ("bcmcs-server-dns", 33, Array(Fqdn)),
    ("bcmcs-server-addr", 34, Array(Addr)),
    ("geoconf-civic", 36, Record(&[U8, U16, Binary])),
    ("remote-id", 37, Record(&[U32, Binary])),
    ("subscriber-id", 38, One(Binary)),
    ("client-fqdn", 39, Record(&[U8, Fqdn])),
    ("pana-agent", 40, Array(Addr)),
    ("new-posix-timezone", 41, One(Text)),
    ("new-tzdb-timezone", 42, One(Text)),
    ("ero", 43, Array(U16)),
    ("lq-query", 44, Record(&[U8, Addr])),
    ("client-data", 45, Empty),
    ("clt-time", 46, One(U32)),
    ("lq-relay-data", 47, Record(&[Addr, Binary])),
    ("lq-client-link", 48, Array(Addr)),
    ("v6-lost", 51, One(Fqdn)),
    ("capwap-ac-v6", 52, Array(Addr)),
    ("relay-id", 53, One(Binary)),
    ("v6-access-domain", 57, One(Fqdn)),
    ("sip-ua-cs-list", 58, Array(Fqdn)),
    ("bootfile-url", 59, One(Text)),
    ("bootfile-param", 60, Array(Tuple)),
    ("client-arch-type", 61, Array(U16)),
    ("nii", 62, Record(&[U8, U8, U8])),
    ("aftr-name", 64, One(Fqdn)),
    ("erp-local-domain-name", 65, One(Fqdn)),
    ("rsoo", 66, Empty),
    ("pd-exclude", 67, One(Prefix)),
    ("rdnss-selection", 74, Record(&[Addr, U8, Fqdn])),
    ("client-linklayer-addr", 79, One(Binary)),
    ("link-address", 80, One(Addr)),
    ("solmax-rt", 82, One(U32)),
    ("inf-max-rt", 83, One(U32)),
    ("dhcpv4-message", 87, One(Binary)),
    ("dhcp4o6-server-addr", 88, Array(Addr)),
    ("s46-cont-mape", 94, Empty),
    ("s46-cont-mapt", 95, Empty),
    ("s46-cont-lw", 96, Empty),
    ("v6-captive-portal", 103, One(Text)),
    ("relay-source-port", 135, One(U16)),
    ("ipv6-address-andsf", 143, Array(Addr)),
];

/// The code of a standard option named as Kea names it.
pub fn code_of(name: &str) -> Option<u16> {
    KEA_OPTIONS6
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, c, _)| *c)
}

/// Kea's name of a standard option.
pub fn name_of(code: u16) -> Option<&'static str> {
    KEA_OPTIONS6
        .iter()
        .find(|(_, c, _)| *c == code)
        .map(|(n, _, _)| *n)
}

fn int<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not an integer in range for this option"))
}

/// Appends one field's value, read from its text, to `out`.
fn field(kind: Field, text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let text = text.trim();
    match kind {
        U8 => out.push(int::<u8>(text)?),
        U16 => out.extend_from_slice(&int::<u16>(text)?.to_be_bytes()),
        U32 => out.extend_from_slice(&int::<u32>(text)?.to_be_bytes()),
        Addr => out.extend_from_slice(&address(text)?.octets()),
        Prefix => {
            let (addr, len) = text
                .split_once('/')
                .ok_or_else(|| format!("{text:?} is not address/length"))?;
            let len: u8 = int(len)?;
            if len > 128 {
                return Err(format!("{text:?}: prefix length above 128"));
            }
            out.push(len);
            let bytes = address(addr)?.octets();
            out.extend_from_slice(bytes.get(..usize::from(len).div_ceil(8)).unwrap_or(&[]));
        }
        Fqdn => DomainName::from_dotted(text, true)
            .map_err(|e| format!("{text:?}: {e}"))?
            .encode_into(out),
        Text if text.is_empty() => return Err("the text may not be empty".into()),
        Text => out.extend_from_slice(text.as_bytes()),
        Tuple => {
            let len = u16::try_from(text.len()).map_err(|_| "the text is too long")?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        Binary => out.extend_from_slice(&hex(text)?),
    }
    Ok(())
}

fn address(text: &str) -> Result<Ipv6Addr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{:?} is not an IPv6 address", text.trim()))
}

/// Turns the `data` text of a standard option into option bytes, as Kea reads it with
/// `csv-format: true`: values separated by commas, one per field of a record or per item of
/// an array. An option Kea does not define takes hex.
pub fn csv(code: u16, text: &str) -> Result<Vec<u8>, String> {
    let Some((_, _, kind)) = KEA_OPTIONS6.iter().find(|(_, c, _)| *c == code) else {
        return hex(text);
    };
    let mut out = Vec::new();
    match kind {
        Empty if text.trim().is_empty() => {}
        Empty => return Err("this option carries no data".into()),
        One(f) => field(*f, text, &mut out)?,
        // Kea 2.2 accepts an empty array (`"dns-servers"` with `""` is an empty option).
        Array(_) if text.trim().is_empty() => {}
        Array(f) => {
            for item in text.split(',') {
                field(*f, item, &mut out)?;
            }
        }
        Record(fields) => {
            let items: Vec<&str> = text.split(',').collect();
            if items.len() != fields.len() {
                return Err(format!(
                    "needs {} comma-separated values, found {}",
                    fields.len(),
                    items.len()
                ));
            }
            for (f, item) in fields.iter().zip(items) {
                field(*f, item, &mut out)?;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kea_text_forms() {
        let mut two = "2001:db8::53"
            .parse::<Ipv6Addr>()
            .expect("addr")
            .octets()
            .to_vec();
        two.extend_from_slice(&"2001:db8::54".parse::<Ipv6Addr>().expect("addr").octets());
        assert_eq!(csv(23, "2001:db8::53, 2001:db8::54"), Ok(two));
        assert_eq!(
            csv(24, "example.org, b.example"),
            Ok(b"\x07example\x03org\x00\x01b\x07example\x00".to_vec())
        );
        assert_eq!(csv(7, "255"), Ok(vec![255]));
        assert!(csv(7, "256").is_err());
        assert_eq!(csv(32, "3600"), Ok(vec![0, 0, 0x0e, 0x10]));
        assert_eq!(csv(41, "EST5EDT4"), Ok(b"EST5EDT4".to_vec()));
        assert!(csv(41, "").is_err());
        assert_eq!(csv(13, "0, ok"), Ok(vec![0, 0, b'o', b'k']));
        assert!(csv(13, "0").is_err());
        assert_eq!(csv(60, "a,bc"), Ok(vec![0, 1, b'a', 0, 2, b'b', b'c']));
        assert_eq!(
            csv(67, "2001:db8:1::/48"),
            Ok(vec![48, 0x20, 0x01, 0x0d, 0xb8, 0, 1])
        );
        assert_eq!(csv(14, ""), Ok(vec![]));
        assert!(csv(14, "1").is_err());
        assert_eq!(
            csv(37, "4491, 0a0b"),
            Ok(vec![0, 0, 0x11, 0x8b, 0x0a, 0x0b])
        );
        assert!(csv(12, "192.0.2.1").is_err());
        assert_eq!(csv(23, ""), Ok(vec![]));
        assert_eq!(csv(999, "01:02"), Ok(vec![1, 2]));
        assert_eq!(code_of("sntp-servers"), Some(31));
        assert_eq!(name_of(12), Some("unicast"));
        // Kea 2.2 has no ntp-server (56) definition; it came later.
        assert_eq!(code_of("ntp-server"), None);
    }

    #[test]
    fn names_and_codes_are_unique() {
        for (i, (name, code, _)) in KEA_OPTIONS6.iter().enumerate() {
            assert!(
                KEA_OPTIONS6[i + 1..]
                    .iter()
                    .all(|(n, c, _)| n != name && c != code),
                "{name} ({code}) twice"
            );
        }
    }
}
