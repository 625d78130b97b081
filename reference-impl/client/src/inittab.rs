//! DHCPv4 option names and types as Solaris /etc/dhcp/inittab gives them, for
//! PARAM_REQUEST_LIST entries written by name and for printing options the way dhcpinfo(1)
//! does: values separated by spaces, a newline after every `granularity` values.

/// How an option's bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// IPv4 addresses, dotted quad.
    Ip,
    /// Text.
    Ascii,
    /// Raw bytes, printed as `0xNN`.
    Octet,
    /// Unsigned integers of 1, 2 or 4 bytes.
    Unsigned(u8),
    /// Signed integers of 4 bytes.
    Signed32,
}

/// One inittab entry: a DHCPv4 option a client can ask about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// dhcpinfo's name, as `LeaseTim`.
    pub name: &'static str,
    /// The option code.
    pub code: u8,
    /// How the value is read.
    pub kind: Kind,
    /// How many values make one printed line (2 for address pairs, else 1).
    pub granularity: u8,
}

const fn e(name: &'static str, code: u8, kind: Kind, granularity: u8) -> Entry {
    Entry {
        name,
        code,
        kind,
        granularity,
    }
}

use Kind::{Ascii, Ip, Octet, Signed32, Unsigned};

/// The STANDARD options of inittab that dhcpinfo may print.
pub const TABLE: &[Entry] = &[
    e("Subnet", 1, Ip, 1),
    e("UTCoffst", 2, Signed32, 1),
    e("Router", 3, Ip, 1),
    e("Timeserv", 4, Ip, 1),
    e("IEN116ns", 5, Ip, 1),
    e("DNSserv", 6, Ip, 1),
    e("Logserv", 7, Ip, 1),
    e("Cookie", 8, Ip, 1),
    e("Lprserv", 9, Ip, 1),
    e("Impress", 10, Ip, 1),
    e("Resource", 11, Ip, 1),
    e("Hostname", 12, Ascii, 1),
    e("Bootsize", 13, Unsigned(2), 1),
    e("Dumpfile", 14, Ascii, 1),
    e("DNSdmain", 15, Ascii, 1),
    e("Swapserv", 16, Ip, 1),
    e("Rootpath", 17, Ascii, 1),
    e("ExtendP", 18, Ascii, 1),
    e("IpFwdF", 19, Unsigned(1), 1),
    e("NLrouteF", 20, Unsigned(1), 1),
    e("PFilter", 21, Ip, 2),
    e("MaxIpSiz", 22, Unsigned(2), 1),
    e("IpTTL", 23, Unsigned(1), 1),
    e("PathTO", 24, Unsigned(4), 1),
    e("PathTbl", 25, Unsigned(2), 1),
    e("MTU", 26, Unsigned(2), 1),
    e("SameMtuF", 27, Unsigned(1), 1),
    e("Broadcst", 28, Ip, 1),
    e("MaskDscF", 29, Unsigned(1), 1),
    e("MaskSupF", 30, Unsigned(1), 1),
    e("RDiscvyF", 31, Unsigned(1), 1),
    e("RSolictS", 32, Ip, 1),
    e("StaticRt", 33, Ip, 2),
    e("TrailerF", 34, Unsigned(1), 1),
    e("ArpTimeO", 35, Unsigned(4), 1),
    e("EthEncap", 36, Unsigned(1), 1),
    e("TcpTTL", 37, Unsigned(1), 1),
    e("TcpKaInt", 38, Unsigned(4), 1),
    e("TcpKaGbF", 39, Unsigned(1), 1),
    e("NISdmain", 40, Ascii, 1),
    e("NISservs", 41, Ip, 1),
    e("NTPservs", 42, Ip, 1),
    e("Vendor", 43, Octet, 1),
    e("NetBNms", 44, Ip, 1),
    e("NetBDsts", 45, Ip, 1),
    e("NetBNdT", 46, Unsigned(1), 1),
    e("NetBScop", 47, Ascii, 1),
    e("XFontSrv", 48, Ip, 1),
    e("XDispMgr", 49, Ip, 1),
    e("ReqIP", 50, Ip, 1),
    e("LeaseTim", 51, Unsigned(4), 1),
    e("OptOvrld", 52, Unsigned(1), 1),
    e("DHCPType", 53, Unsigned(1), 1),
    e("ServerID", 54, Ip, 1),
    e("ReqList", 55, Octet, 1),
    e("Message", 56, Ascii, 1),
    e("DHCP_MTU", 57, Unsigned(2), 1),
    e("T1Time", 58, Unsigned(4), 1),
    e("T2Time", 59, Unsigned(4), 1),
    e("ClassID", 60, Ascii, 1),
    e("ClientID", 61, Octet, 1),
    e("NW_dmain", 62, Ascii, 1),
    e("NWIPOpts", 63, Octet, 1),
    e("NIS+dom", 64, Ascii, 1),
    e("NIS+serv", 65, Ip, 1),
    e("TFTPsrvN", 66, Ascii, 1),
    e("OptBootF", 67, Ascii, 1),
    e("MblIPAgt", 68, Ip, 1),
    e("SMTPserv", 69, Ip, 1),
    e("POP3serv", 70, Ip, 1),
    e("NNTPserv", 71, Ip, 1),
    e("WWWservs", 72, Ip, 1),
    e("Fingersv", 73, Ip, 1),
    e("IRCservs", 74, Ip, 1),
    e("STservs", 75, Ip, 1),
    e("STDAservs", 76, Ip, 1),
    e("UserClas", 77, Ascii, 1),
    e("SLP_DA", 78, Octet, 1),
    e("SLP_SS", 79, Octet, 1),
    e("ClientFQDN", 81, Octet, 1),
    e("AgentOpt", 82, Octet, 1),
    e("FQDN", 89, Octet, 1),
];

/// The entry named `name` (case-insensitive, as inittab lookups are).
pub fn by_name(name: &str) -> Option<&'static Entry> {
    TABLE.iter().find(|e| e.name.eq_ignore_ascii_case(name))
}

/// The entry for option `code`.
pub fn by_code(code: u8) -> Option<&'static Entry> {
    TABLE.iter().find(|e| e.code == code)
}

/// Why an option's bytes do not fit its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("option {code} has {len} bytes, which is not a whole number of {what}")]
pub struct ValueError {
    /// The option code.
    pub code: u8,
    /// Its length.
    pub len: usize,
    /// What the bytes should hold.
    pub what: &'static str,
}

/// The values of option `code` as dhcpinfo prints them: one string per value. Options not in
/// the table are raw bytes (as dhcpinfo's `-c`).
pub fn values(code: u8, data: &[u8]) -> Result<Vec<String>, ValueError> {
    let kind = by_code(code).map_or(Octet, |e| e.kind);
    let wrong = |what| ValueError {
        code,
        len: data.len(),
        what,
    };
    Ok(match kind {
        Ip => {
            if data.is_empty() || data.len() % 4 != 0 {
                return Err(wrong("IPv4 addresses"));
            }
            data.chunks_exact(4)
                .map(|c| format!("{}.{}.{}.{}", c[0], c[1], c[2], c[3]))
                .collect()
        }
        Ascii => String::from_utf8_lossy(data)
            .split(' ')
            .map(str::to_string)
            .collect(),
        Octet => data.iter().map(|b| format!("0x{b:02X}")).collect(),
        Unsigned(width) => {
            let width = usize::from(width);
            if data.is_empty() || data.len() % width != 0 {
                return Err(wrong("integers of the option's width"));
            }
            data.chunks_exact(width)
                .map(|c| {
                    c.iter()
                        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
                        .to_string()
                })
                .collect()
        }
        Signed32 => {
            let bytes: [u8; 4] = data.try_into().map_err(|_| wrong("4-byte integers"))?;
            vec![i32::from_be_bytes(bytes).to_string()]
        }
    })
}

/// Values laid out as dhcpinfo prints them: `granularity` values a line, `limit` lines at
/// most.
pub fn lines(code: u8, values: &[String], limit: Option<usize>) -> Vec<String> {
    let per = usize::from(by_code(code).map_or(1, |e| e.granularity)).max(1);
    values
        .chunks(per)
        .map(|c| c.join(" "))
        .take(limit.unwrap_or(usize::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_are_unique() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert_ne!(a.code, b.code);
                assert!(!a.name.eq_ignore_ascii_case(b.name));
            }
        }
    }

    #[test]
    fn values_print_as_dhcpinfo_does() {
        let v = |code, data: &[u8]| values(code, data).map(|v| lines(code, &v, None));
        assert_eq!(
            v(3, &[192, 0, 2, 1, 192, 0, 2, 2]),
            Ok(vec!["192.0.2.1".into(), "192.0.2.2".into()])
        );
        assert_eq!(
            v(33, &[198, 51, 100, 0, 192, 0, 2, 1]),
            Ok(vec!["198.51.100.0 192.0.2.1".into()])
        );
        assert_eq!(v(51, &[0, 0, 14, 16]), Ok(vec!["3600".into()]));
        assert_eq!(v(2, &[0xff, 0xff, 0xf1, 0xf0]), Ok(vec!["-3600".into()]));
        assert_eq!(
            v(15, b"example.com lab"),
            Ok(vec!["example.com".into(), "lab".into()])
        );
        assert_eq!(v(61, &[1, 2]), Ok(vec!["0x01".into(), "0x02".into()]));
        assert_eq!(
            v(3, &[192, 0, 2]),
            Err(ValueError {
                code: 3,
                len: 3,
                what: "IPv4 addresses"
            })
        );
        assert_eq!(by_name("leasetim").map(|e| e.code), Some(51));
        assert_eq!(
            lines(6, &["a".into(), "b".into(), "c".into()], Some(2)),
            ["a", "b"]
        );
    }
}
