//! The lease files of ISC dhcpd (`dhcpd.leases`) and dnsmasq (its `--dhcp-leasefile`), read
//! into one form, so that a scenario's lease expectations can be checked on those servers as
//! on Kea's memfile.

use std::net::Ipv4Addr;

/// A lease as a server's file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLease {
    /// The leased address.
    pub address: Ipv4Addr,
    /// The client's hardware address; empty when the file has none.
    pub hwaddr: Vec<u8>,
    /// The client identifier; empty when the client sent none.
    pub client_id: Vec<u8>,
    /// The client's host name; empty when none.
    pub hostname: String,
    /// When it began, seconds since 1970, when the file says (dnsmasq's does not).
    pub starts: Option<u64>,
    /// When it ends, seconds since 1970; `None`: never.
    pub ends: Option<u64>,
    /// Its binding state.
    pub binding: Binding,
}

/// A lease's binding state, as dhcpd names them (dnsmasq's file holds only bound leases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// Leased to the client (until `ends`).
    Active,
    /// Ran out, and the server has taken it back.
    Expired,
    /// Declined by a client or found in use: not lent until it is reclaimed.
    Abandoned,
    /// Free for anyone: never leased, released, or reset.
    Free,
}

/// Why a lease file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseFileError {
    /// What is wrong, and on which line (counted from 1).
    #[error("line {line}: {why}")]
    Syntax {
        /// The line.
        line: usize,
        /// What is wrong there.
        why: String,
    },
}

fn syntax(line: usize, why: impl Into<String>) -> LeaseFileError {
    LeaseFileError::Syntax {
        line,
        why: why.into(),
    }
}

/// A token of dhcpd's lease file, with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(Vec<u8>),
    Open,
    Close,
    End,
}

/// Splits dhcpd's lease file into tokens: words, quoted strings (with dhcpd's octal and
/// character escapes), braces and semicolons; `#` comments are dropped.
fn tokens(text: &str) -> Result<Vec<(usize, Token)>, LeaseFileError> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => {
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            '{' => out.push((line, Token::Open)),
            '}' => out.push((line, Token::Close)),
            ';' => out.push((line, Token::End)),
            '"' => {
                let at = line;
                let mut bytes = Vec::new();
                loop {
                    match chars.next() {
                        None => return Err(syntax(at, "a string is not closed")),
                        Some('"') => break,
                        Some('\\') => {
                            match chars.next() {
                                Some(d @ '0'..='7') => {
                                    let mut n = d.to_digit(8).unwrap_or(0);
                                    for _ in 0..2 {
                                        if let Some(d) = chars.peek().and_then(|c| c.to_digit(8)) {
                                            n = n * 8 + d;
                                            chars.next();
                                        }
                                    }
                                    bytes.push(u8::try_from(n).map_err(|_| {
                                        syntax(line, format!("\\{n:o} is not a byte"))
                                    })?);
                                }
                                Some('n') => bytes.push(b'\n'),
                                Some('t') => bytes.push(b'\t'),
                                Some(c) => {
                                    let mut buf = [0u8; 4];
                                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                                }
                                None => return Err(syntax(at, "a string is not closed")),
                            }
                        }
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            let mut buf = [0u8; 4];
                            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
                out.push((at, Token::Text(bytes)));
            }
            c => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || "{};\"#".contains(n) {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                out.push((line, Token::Word(word)));
            }
        }
    }
    Ok(out)
}

/// Days from 1970-01-01 to the civil date `y-m-d` (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A dhcpd time: `W YYYY/MM/DD HH:MM:SS` (UTC), `epoch N`, or `never` (None).
fn dhcpd_time(words: &[String], line: usize) -> Result<Option<u64>, LeaseFileError> {
    let bad = || syntax(line, format!("{:?} is not a dhcpd time", words.join(" ")));
    match words {
        [never] if never == "never" => Ok(None),
        [epoch, n] if epoch == "epoch" => n.parse().map(Some).map_err(|_| bad()),
        [_weekday, date, time] => {
            let d: Vec<i64> = date
                .split('/')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| bad())?;
            let t: Vec<i64> = time
                .split(':')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| bad())?;
            let ([y, mo, da], [h, mi, s]) = (d.as_slice(), t.as_slice()) else {
                return Err(bad());
            };
            if !(1..=12).contains(mo) || !(1..=31).contains(da) || *h > 23 || *mi > 59 || *s > 60 {
                return Err(bad());
            }
            let secs = days_from_civil(*y, *mo, *da) * 86_400 + h * 3600 + mi * 60 + s;
            u64::try_from(secs).map(Some).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

/// Colon-separated hex bytes (`02:00:5e:00:53:02`, also single digits as dhcpd writes them).
fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    s.split(':')
        .map(|p| {
            (!p.is_empty() && p.len() <= 2)
                .then(|| u8::from_str_radix(p, 16).ok())
                .flatten()
        })
        .collect()
}

/// Reads ISC dhcpd's lease file (`dhcpd.leases(5)`): its `lease A.B.C.D { ... }` entries,
/// the last entry of each address winning (dhcpd appends a new entry for every change);
/// other entries (`host`, `server-duid`, `failover peer`, ...) are passed over.
pub fn parse_dhcpd(text: &str) -> Result<Vec<FileLease>, LeaseFileError> {
    let toks = tokens(text)?;
    let mut leases: Vec<FileLease> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let (line, tok) = &toks[i];
        match tok {
            Token::Word(w) if w == "lease" => {
                let address = match toks.get(i + 1) {
                    Some((_, Token::Word(a))) => a
                        .parse::<Ipv4Addr>()
                        .map_err(|_| syntax(*line, format!("{a:?} is not an IPv4 address")))?,
                    _ => return Err(syntax(*line, "lease without an address")),
                };
                if !matches!(toks.get(i + 2), Some((_, Token::Open))) {
                    return Err(syntax(*line, "lease without '{'"));
                }
                let (lease, next) = lease_body(&toks, i + 3, address, *line)?;
                leases.retain(|l| l.address != address);
                leases.push(lease);
                i = next;
            }
            Token::Close => return Err(syntax(*line, "'}' without '{'")),
            _ => i = skip_statement(&toks, i)?,
        }
    }
    Ok(leases)
}

/// The index after the statement starting at `i`: up to its `;`, or its block's `}`.
fn skip_statement(toks: &[(usize, Token)], mut i: usize) -> Result<usize, LeaseFileError> {
    let start = toks.get(i).map_or(0, |t| t.0);
    let mut depth = 0usize;
    while let Some((line, t)) = toks.get(i) {
        i += 1;
        match t {
            Token::Open => depth += 1,
            Token::Close if depth == 0 => return Err(syntax(*line, "'}' without '{'")),
            Token::Close => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            Token::End if depth == 0 => return Ok(i),
            _ => {}
        }
    }
    Err(syntax(
        start,
        "a statement is not ended (';' or '}' missing)",
    ))
}

/// Reads a lease's statements from `i` (after its `{`) to its `}`: the lease and the index
/// after the `}`.
fn lease_body(
    toks: &[(usize, Token)],
    mut i: usize,
    address: Ipv4Addr,
    at: usize,
) -> Result<(FileLease, usize), LeaseFileError> {
    let mut lease = FileLease {
        address,
        hwaddr: Vec::new(),
        client_id: Vec::new(),
        hostname: String::new(),
        starts: None,
        ends: None,
        binding: Binding::Free,
    };
    loop {
        let Some((line, tok)) = toks.get(i) else {
            return Err(syntax(
                at,
                format!("lease {address} is not closed ('}}' missing)"),
            ));
        };
        let line = *line;
        match tok {
            Token::Close => return Ok((lease, i + 1)),
            Token::Word(_) => {}
            _ => {
                i = skip_statement(toks, i)?;
                continue;
            }
        }
        let end = skip_statement(toks, i)?;
        let statement = &toks[i..end];
        i = end;
        if statement.iter().any(|(_, t)| *t == Token::Open) {
            continue; // `on expiry { ... }` and the like.
        }
        let words: Vec<String> = statement
            .iter()
            .filter_map(|(_, t)| match t {
                Token::Word(w) => Some(w.clone()),
                _ => None,
            })
            .collect();
        let text = statement.iter().find_map(|(_, t)| match t {
            Token::Text(b) => Some(b.clone()),
            _ => None,
        });
        match words.first().map(String::as_str) {
            Some("starts") => lease.starts = dhcpd_time(&words[1..], line)?,
            Some("ends") => lease.ends = dhcpd_time(&words[1..], line)?,
            Some("binding") => {
                let state = words.get(2).map_or("", String::as_str);
                lease.binding = match state {
                    "active" => Binding::Active,
                    "expired" => Binding::Expired,
                    "abandoned" => Binding::Abandoned,
                    "free" | "released" | "reset" | "backup" | "bootp" => Binding::Free,
                    other => {
                        return Err(syntax(line, format!("unknown binding state {other:?}")));
                    }
                };
            }
            Some("hardware") => {
                let hex = words.get(2).map_or("", String::as_str);
                lease.hwaddr = hex_bytes(hex)
                    .ok_or_else(|| syntax(line, format!("{hex:?} is not a hardware address")))?;
            }
            Some("uid") => {
                lease.client_id = match (text, words.get(1)) {
                    (Some(b), _) => b,
                    (None, Some(hex)) => hex_bytes(hex).ok_or_else(|| {
                        syntax(line, format!("{hex:?} is not a client identifier"))
                    })?,
                    (None, None) => return Err(syntax(line, "uid without a value")),
                };
            }
            Some("client-hostname") => {
                lease.hostname = String::from_utf8_lossy(&text.unwrap_or_default()).into_owned();
            }
            _ => {}
        }
    }
}

/// Reads dnsmasq's lease file: a line per DHCPv4 lease, `EXPIRY MAC ADDRESS HOSTNAME
/// CLIENT-ID` (expiry in seconds since 1970, 0 for a lease that never ends; `*` for no host
/// name or client identifier). DHCPv6 leases (after the `duid` line) are passed over.
pub fn parse_dnsmasq(text: &str) -> Result<Vec<FileLease>, LeaseFileError> {
    let mut leases: Vec<FileLease> = Vec::new();
    for (n, row) in text.lines().enumerate() {
        let line = n + 1;
        let fields: Vec<&str> = row.split_whitespace().collect();
        match fields.as_slice() {
            [] => continue,
            ["duid", ..] => continue,
            [_, _, ip, ..] if ip.contains(':') => continue,
            [expiry, mac, ip, host] | [expiry, mac, ip, host, _] => {
                let ends: u64 = expiry
                    .parse()
                    .map_err(|_| syntax(line, format!("{expiry:?} is not an expiry time")))?;
                // A hardware type other than Ethernet's comes first: `6-aa:bb:...`.
                let hex = mac.split_once('-').map_or(*mac, |(_, m)| m);
                let hwaddr = hex_bytes(hex)
                    .ok_or_else(|| syntax(line, format!("{mac:?} is not a hardware address")))?;
                let address: Ipv4Addr = ip
                    .parse()
                    .map_err(|_| syntax(line, format!("{ip:?} is not an IPv4 address")))?;
                let client_id = match fields.get(4) {
                    None | Some(&"*") => Vec::new(),
                    Some(c) => hex_bytes(c)
                        .ok_or_else(|| syntax(line, format!("{c:?} is not a client identifier")))?,
                };
                leases.retain(|l| l.address != address);
                leases.push(FileLease {
                    address,
                    hwaddr,
                    client_id,
                    hostname: if *host == "*" {
                        String::new()
                    } else {
                        (*host).to_string()
                    },
                    starts: None,
                    ends: (ends != 0).then_some(ends),
                    binding: Binding::Active,
                });
            }
            _ => {
                return Err(syntax(
                    line,
                    format!(
                        "{} fields, where dnsmasq writes EXPIRY MAC ADDRESS HOSTNAME CLIENT-ID",
                        fields.len()
                    ),
                ));
            }
        }
    }
    Ok(leases)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DHCPD: &str = r#"# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

server-duid "\000\001\000\001*\242\233\031\002\000^\000S\001";

lease 192.0.2.100 {
  starts 2 2026/12/01 04:31:25;
  ends 2 2026/12/01 05:31:25;
  cltt 2 2026/12/01 04:31:25;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 02:00:5e:00:53:02;
  uid "\001\002\000^\000S\002";
  set vendor-class-identifier = "dhcplab; {odd}";
  client-hostname "c1";
}
lease 192.0.2.101 {
  starts 2 2026/12/01 04:31:30;
  ends never;
  binding state abandoned;
  hardware ethernet 2:0:5e:0:53:3;
  uid 01:02:00:5e:00:53:03;
  on expiry { set x = "y"; }
}
lease 192.0.2.100 {
  starts 2 2026/12/01 04:31:25;
  ends epoch 1796099495; # Tue Dec 01 04:31:35 2026
  tstp 2 2026/12/01 04:31:35;
  binding state free;
  hardware ethernet 02:00:5e:00:53:02;
}
"#;

    #[test]
    fn dhcpd_leases_are_read_and_the_last_entry_of_an_address_wins() {
        let leases = parse_dhcpd(DHCPD).expect("read");
        assert_eq!(leases.len(), 2);
        let l101 = &leases[0];
        assert_eq!(l101.address, Ipv4Addr::new(192, 0, 2, 101));
        assert_eq!(l101.binding, Binding::Abandoned);
        assert_eq!(l101.ends, None);
        assert_eq!(l101.hwaddr, [2, 0, 0x5e, 0, 0x53, 3]);
        assert_eq!(l101.client_id, [1, 2, 0, 0x5e, 0, 0x53, 3]);
        let l100 = &leases[1];
        assert_eq!(l100.address, Ipv4Addr::new(192, 0, 2, 100));
        assert_eq!(l100.binding, Binding::Free);
        assert_eq!(l100.ends, Some(1_796_099_495));
        // 2026-12-01 04:31:25 UTC.
        assert_eq!(l100.starts, Some(1_796_099_485));
    }

    #[test]
    fn an_active_dhcpd_lease_keeps_its_client() {
        let first = DHCPD.split("lease 192.0.2.101").next().expect("first part");
        let leases = parse_dhcpd(first).expect("read");
        let l = &leases[0];
        assert_eq!(l.binding, Binding::Active);
        assert_eq!(l.ends, Some(1_796_099_485 + 3600));
        assert_eq!(l.client_id, [1, 2, 0, 0x5e, 0, 0x53, 2]);
        assert_eq!(l.hostname, "c1");
    }

    #[test]
    fn a_malformed_dhcpd_file_is_an_error_with_its_line() {
        let cases = [
            ("lease 192.0.2.300 {\n}\n", 1, "not an IPv4 address"),
            (
                "\nlease 192.0.2.1 {\n  starts 2 2026/13/01 00:00:00;\n}\n",
                3,
                "not a dhcpd time",
            ),
            (
                "lease 192.0.2.1 {\n  binding state sleepy;\n}\n",
                2,
                "unknown binding state",
            ),
            (
                "lease 192.0.2.1 {\n  binding state active;\n",
                1,
                "not closed",
            ),
            (
                "lease 192.0.2.1 {\n  uid \"\\001;\n}\n",
                2,
                "string is not closed",
            ),
            ("}\n", 1, "without '{'"),
            (
                "lease 192.0.2.1 {\n hardware ethernet zz:00;\n}\n",
                2,
                "not a hardware address",
            ),
            ("lease 192.0.2.1\n", 1, "without '{'"),
            ("authoring-byte-order little-endian\n", 1, "not ended"),
        ];
        for (text, line, why) in cases {
            let e = parse_dhcpd(text).expect_err(text);
            let LeaseFileError::Syntax { line: l, why: w } = &e;
            assert_eq!(*l, line, "{text}: {e}");
            assert!(w.contains(why), "{text}: {e}");
        }
        assert_eq!(parse_dhcpd(""), Ok(Vec::new()));
    }

    #[test]
    fn dnsmasq_leases_are_read_one_a_line() {
        let text = "1764567085 02:00:5e:00:53:02 192.0.2.100 c1 01:02:00:5e:00:53:02\n\
                    0 02:00:5e:00:53:03 192.0.2.101 * *\n\
                    duid 00:01:00:01:2a:a2:9b:19:02:00:5e:00:53:01\n\
                    1764567085 1234 2001:db8::100 * 00:01:00:01\n";
        let leases = parse_dnsmasq(text).expect("read");
        assert_eq!(leases.len(), 2);
        assert_eq!(leases[0].address, Ipv4Addr::new(192, 0, 2, 100));
        assert_eq!(leases[0].ends, Some(1_764_567_085));
        assert_eq!(leases[0].hostname, "c1");
        assert_eq!(leases[0].client_id, [1, 2, 0, 0x5e, 0, 0x53, 2]);
        assert_eq!(leases[0].binding, Binding::Active);
        assert_eq!(leases[1].ends, None);
        assert!(leases[1].client_id.is_empty() && leases[1].hostname.is_empty());
    }

    #[test]
    fn a_malformed_dnsmasq_file_is_an_error_with_its_line() {
        let cases = [
            (
                "soon 02:00:5e:00:53:02 192.0.2.100 * *\n",
                1,
                "not an expiry time",
            ),
            (
                "\n1 02:00:5e:00:53:02 192.0.2.999 * *\n",
                2,
                "not an IPv4 address",
            ),
            (
                "1 02:00:5e:00:53:0g 192.0.2.1 * *\n",
                1,
                "not a hardware address",
            ),
            ("1 02:00:5e:00:53:02\n", 1, "2 fields"),
            (
                "1 02:00:5e:00:53:02 192.0.2.1 * xyz\n",
                1,
                "not a client identifier",
            ),
        ];
        for (text, line, why) in cases {
            let e = parse_dnsmasq(text).expect_err(text);
            let LeaseFileError::Syntax { line: l, why: w } = &e;
            assert_eq!(*l, line, "{text}: {e}");
            assert!(w.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn civil_dates_count_days_from_1970() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 12, 1), 20_788);
    }
}
