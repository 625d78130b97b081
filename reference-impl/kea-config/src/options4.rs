//! Kea's `option-data` for DHCPv4: option names as Kea spells them, and the text of `data`
//! turned into option bytes by the option's format (`csv-format: true`) or as hex.

use dhcplab_wire::dns::DomainName;
use dhcplab_wire::v4::ClasslessRoute;
use dhcplab_wire::v4::catalogue::{self, Format};
use std::net::Ipv4Addr;

pub use crate::common::hex;

/// Kea's names of the standard DHCPv4 options (Kea ARM, "DHCPv4 Option Definitions").
const KEA_NAMES: &[(&str, u8)] = &[
    ("subnet-mask", 1),
    ("time-offset", 2),
    ("routers", 3),
    ("time-servers", 4),
    ("name-servers", 5),
    ("domain-name-servers", 6),
    ("log-servers", 7),
    ("cookie-servers", 8),
    ("lpr-servers", 9),
    ("impress-servers", 10),
    ("resource-location-servers", 11),
    ("host-name", 12),
    ("boot-size", 13),
    ("merit-dump", 14),
    ("domain-name", 15),
    ("swap-server", 16),
    ("root-path", 17),
    ("extensions-path", 18),
    ("ip-forwarding", 19),
    ("non-local-source-routing", 20),
    ("policy-filter", 21),
    ("max-dgram-reassembly", 22),
    ("default-ip-ttl", 23),
    ("path-mtu-aging-timeout", 24),
    ("path-mtu-plateau-table", 25),
    ("interface-mtu", 26),
    ("all-subnets-local", 27),
    ("broadcast-address", 28),
    ("perform-mask-discovery", 29),
    ("mask-supplier", 30),
    ("router-discovery", 31),
    ("router-solicitation-address", 32),
    ("static-routes", 33),
    ("trailer-encapsulation", 34),
    ("arp-cache-timeout", 35),
    ("ieee802-3-encapsulation", 36),
    ("default-tcp-ttl", 37),
    ("tcp-keepalive-interval", 38),
    ("tcp-keepalive-garbage", 39),
    ("nis-domain", 40),
    ("nis-servers", 41),
    ("ntp-servers", 42),
    ("vendor-encapsulated-options", 43),
    ("netbios-name-servers", 44),
    ("netbios-dd-server", 45),
    ("netbios-node-type", 46),
    ("netbios-scope", 47),
    ("font-servers", 48),
    ("x-display-manager", 49),
    ("dhcp-requested-address", 50),
    ("dhcp-lease-time", 51),
    ("dhcp-option-overload", 52),
    ("dhcp-message-type", 53),
    ("dhcp-server-identifier", 54),
    ("dhcp-parameter-request-list", 55),
    ("dhcp-message", 56),
    ("dhcp-max-message-size", 57),
    ("dhcp-renewal-time", 58),
    ("dhcp-rebinding-time", 59),
    ("vendor-class-identifier", 60),
    ("dhcp-client-identifier", 61),
    ("nisplus-domain-name", 64),
    ("nisplus-servers", 65),
    ("tftp-server-name", 66),
    ("boot-file-name", 67),
    ("mobile-ip-home-agent", 68),
    ("smtp-server", 69),
    ("pop-server", 70),
    ("nntp-server", 71),
    ("www-server", 72),
    ("finger-server", 73),
    ("irc-server", 74),
    ("streettalk-server", 75),
    ("streettalk-directory-assistance-server", 76),
    ("user-class", 77),
    ("fqdn", 81),
    ("dhcp-agent-options", 82),
    ("client-system", 93),
    ("client-ndi", 94),
    ("uuid-guid", 97),
    ("pcode", 100),
    ("tcode", 101),
    ("v6-only-preferred", 108),
    ("subnet-selection", 118),
    ("domain-search", 119),
    ("classless-static-route", 121),
    ("vivco-suboptions", 124),
    ("vivso-suboptions", 125),
];

/// The code of a standard option named as Kea names it.
pub fn code_of(name: &str) -> Option<u8> {
    KEA_NAMES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Kea's name of a standard option.
pub fn name_of(code: u8) -> Option<&'static str> {
    KEA_NAMES.iter().find(|(_, c)| *c == code).map(|(n, _)| *n)
}

fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim)
}

fn addr(text: &str) -> Result<Ipv4Addr, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an IPv4 address"))
}

fn addrs(text: &str, allow_empty: bool) -> Result<Vec<u8>, String> {
    if text.trim().is_empty() {
        return if allow_empty {
            Ok(Vec::new())
        } else {
            Err("needs at least one address".into())
        };
    }
    let mut out = Vec::new();
    for item in items(text) {
        out.extend_from_slice(&addr(item)?.octets());
    }
    Ok(out)
}

fn int<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not an integer in range for this option"))
}

fn names(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for item in items(text) {
        let name = DomainName::from_dotted(item, true).map_err(|e| format!("{item:?}: {e}"))?;
        name.encode_into(&mut out);
    }
    Ok(out)
}

/// Kea's text form of classless routes: `198.51.100.0/24 - 192.0.2.1, 0.0.0.0/0 - 192.0.2.1`.
fn classless_routes(text: &str) -> Result<Vec<u8>, String> {
    let mut routes = Vec::new();
    for item in items(text) {
        let (prefix, router) = item
            .split_once('-')
            .ok_or_else(|| format!("route {item:?} is not \"prefix/len - router\""))?;
        let (dest, len) = prefix
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("route {item:?} lacks /length"))?;
        let prefix_len: u8 = int(len)?;
        if prefix_len > 32 {
            return Err(format!("route {item:?}: prefix length above 32"));
        }
        routes.push(ClasslessRoute {
            destination: addr(dest.trim())?,
            prefix_len,
            router: addr(router.trim())?,
        });
    }
    Ok(ClasslessRoute::list_to_bytes(&routes))
}

/// Turns the `data` text of a standard option into option bytes, as Kea reads it with
/// `csv-format: true`. Formats Kea reads as binary take hex here too.
pub fn csv(code: u8, text: &str) -> Result<Vec<u8>, String> {
    let Some((_, format)) = catalogue::lookup(code) else {
        return hex(text);
    };
    Ok(match format {
        Format::Empty if text.trim().is_empty() => Vec::new(),
        Format::Empty => return Err("this option carries no data".into()),
        Format::Addr => addr(text.trim())?.octets().to_vec(),
        Format::Addrs => addrs(text, false)?,
        Format::AddrsOrEmpty => addrs(text, true)?,
        Format::AddrPairs => {
            let bytes = addrs(text, false)?;
            if bytes.len() % 8 != 0 {
                return Err("needs pairs of addresses".into());
            }
            bytes
        }
        Format::U8 | Format::MessageType => vec![int::<u8>(text)?],
        Format::Overload => match int::<u8>(text)? {
            v @ 1..=3 => vec![v],
            _ => return Err("option overload is 1, 2 or 3".into()),
        },
        Format::U16 => int::<u16>(text)?.to_be_bytes().to_vec(),
        Format::U32 | Format::Seconds | Format::Lifetime | Format::EpochTime => {
            int::<u32>(text)?.to_be_bytes().to_vec()
        }
        Format::I32 => int::<i32>(text)?.to_be_bytes().to_vec(),
        Format::U16s => {
            let mut out = Vec::new();
            for item in items(text) {
                out.extend_from_slice(&int::<u16>(item)?.to_be_bytes());
            }
            out
        }
        Format::ParamList => items(text).map(int::<u8>).collect::<Result<_, _>>()?,
        Format::Bool => match text.trim() {
            "true" | "1" => vec![1],
            "false" | "0" => vec![0],
            other => return Err(format!("{other:?} is not true, false, 1 or 0")),
        },
        Format::Text => text.as_bytes().to_vec(),
        Format::DomainSearch => names(text)?,
        Format::ClasslessRoutes if text.contains('/') => classless_routes(text)?,
        // Kea defines vivso-suboptions as the enterprise number, sub-options encapsulated.
        Format::VendorOptions
            if !text.trim().is_empty() && text.trim().bytes().all(|b| b.is_ascii_digit()) =>
        {
            int::<u32>(text)?.to_be_bytes().to_vec()
        }
        Format::ClasslessRoutes
        | Format::Bytes
        | Format::ClientId
        | Format::RelayAgent
        | Format::ClientFqdn
        | Format::VendorClasses
        | Format::VendorOptions => hex(text)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kea_text_forms() {
        assert_eq!(
            csv(3, "192.0.2.1, 192.0.2.2"),
            Ok(vec![192, 0, 2, 1, 192, 0, 2, 2])
        );
        assert_eq!(csv(51, "3600"), Ok(vec![0, 0, 0x0e, 0x10]));
        assert_eq!(csv(2, "-3600"), Ok((-3600i32).to_be_bytes().to_vec()));
        assert_eq!(csv(19, "true"), Ok(vec![1]));
        assert_eq!(csv(15, "example.org"), Ok(b"example.org".to_vec()));
        assert_eq!(
            csv(119, "example.org"),
            Ok(b"\x07example\x03org\x00".to_vec())
        );
        assert_eq!(
            csv(121, "198.51.100.0/24 - 192.0.2.1, 0.0.0.0/0 - 192.0.2.1"),
            Ok(vec![24, 198, 51, 100, 192, 0, 2, 1, 0, 192, 0, 2, 1])
        );
        assert_eq!(
            csv(121, "18 c6 33 64 c0 00 02 01"),
            Ok(vec![0x18, 0xc6, 0x33, 0x64, 0xc0, 0, 2, 1])
        );
        assert_eq!(csv(43, "0x010203"), Ok(vec![1, 2, 3]));
        assert_eq!(hex("1:2:3:4:5:6"), Ok(vec![1, 2, 3, 4, 5, 6]));
        assert_eq!(hex("02 00 5e"), Ok(vec![2, 0, 0x5e]));
        assert_eq!(hex("abc"), Ok(vec![0x0a, 0xbc]));
        assert!(hex("+f").is_err());
        assert!(hex("1::2").is_err());
        assert_eq!(csv(125, "4491"), Ok(vec![0, 0, 0x11, 0x8b]));
        assert!(csv(3, "192.0.2").is_err());
        assert!(csv(23, "300").is_err());
        assert!(csv(43, "xyz").is_err());
        assert_eq!(code_of("domain-name-servers"), Some(6));
        assert_eq!(name_of(121), Some("classless-static-route"));
    }

    #[test]
    fn names_and_codes_agree_with_the_wire_catalogue() {
        for (name, code) in KEA_NAMES {
            assert!(
                catalogue::lookup(*code).is_some(),
                "{name} ({code}) not in the wire catalogue"
            );
        }
    }
}
