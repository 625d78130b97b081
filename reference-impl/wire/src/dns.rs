//! Domain names in DHCP options: RFC 1035 label encoding as used by DHCPv4 options 81 and 119
//! and DHCPv6 options 24, 39 and 64.

use crate::error::{ContentError, ContentErrorKind};
use std::fmt;

/// Longest encoded name RFC 1035 allows.
const MAX_NAME_LEN: usize = 255;

/// A domain name as a list of raw labels, kept as bytes so odd names survive a round trip.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainName {
    /// The labels, without length bytes.
    pub labels: Vec<Vec<u8>>,
    /// True when the name ended with the root label (fully qualified); false for a partial
    /// name (RFC 4702/4704 allow a client to send only its host label).
    pub absolute: bool,
}

impl DomainName {
    /// Builds a name from dotted text; a trailing dot or `absolute` makes it fully qualified.
    pub fn from_dotted(text: &str, absolute: bool) -> Result<Self, NameError> {
        let trimmed = text.strip_suffix('.');
        let absolute = absolute || trimmed.is_some();
        let body = trimmed.unwrap_or(text);
        let labels: Vec<Vec<u8>> = if body.is_empty() {
            Vec::new()
        } else {
            body.split('.').map(|l| l.as_bytes().to_vec()).collect()
        };
        let name = Self { labels, absolute };
        name.check()?;
        Ok(name)
    }

    fn check(&self) -> Result<(), NameError> {
        if self.labels.iter().any(|l| l.is_empty() || l.len() > 63) {
            return Err(NameError::BadLabel);
        }
        if self.encoded_len() > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        Ok(())
    }

    fn encoded_len(&self) -> usize {
        self.labels.iter().map(|l| l.len() + 1).sum::<usize>() + usize::from(self.absolute)
    }

    /// Appends the uncompressed wire form to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        for label in &self.labels {
            // `check` keeps labels at 63 bytes or fewer; names from the wire are at most 63 too.
            out.push(label.len() as u8);
            out.extend_from_slice(label);
        }
        if self.absolute {
            out.push(0);
        }
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, label) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &b in label {
                if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                    write!(f, "{}", b as char)?;
                } else {
                    write!(f, "\\{b:03}")?;
                }
            }
        }
        if self.absolute {
            f.write_str(".")?;
        }
        Ok(())
    }
}

/// Why a name given as text cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// An empty label or one longer than 63 bytes.
    #[error("a label is empty or longer than 63 bytes")]
    BadLabel,
    /// The encoded name is longer than 255 bytes.
    #[error("the name is longer than 255 bytes encoded")]
    TooLong,
}

fn bad(at: usize, why: &'static str) -> ContentError {
    ContentError::new(at, ContentErrorKind::BadName(why))
}

/// Reads one name starting at `start`, following compression pointers when `compression` is
/// set (pointers are offsets into `data`, as RFC 3397 defines for option 119). Returns the name
/// and the position just past it in the original sequence. A name that runs into the end of
/// `data` without a root label is partial (`absolute == false`).
fn read_name(
    data: &[u8],
    start: usize,
    compression: bool,
) -> Result<(DomainName, usize), ContentError> {
    let mut labels = Vec::new();
    let mut pos = start;
    let mut resume: Option<usize> = None;
    let mut jumps = 0usize;
    let mut total = 0usize;
    loop {
        let Some(&len) = data.get(pos) else {
            if resume.is_some() {
                return Err(bad(pos, "compression pointer leads past the data"));
            }
            return Ok((
                DomainName {
                    labels,
                    absolute: false,
                },
                pos,
            ));
        };
        match len {
            0 => {
                let next = resume.unwrap_or(pos + 1);
                return Ok((
                    DomainName {
                        labels,
                        absolute: true,
                    },
                    next,
                ));
            }
            1..=63 => {
                let label = data
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or_else(|| bad(pos, "label runs past the end of the data"))?;
                total += label.len() + 1;
                if total > MAX_NAME_LEN {
                    return Err(bad(pos, "name longer than 255 bytes"));
                }
                labels.push(label.to_vec());
                pos += 1 + usize::from(len);
            }
            0xc0..=0xff if compression => {
                let low = *data
                    .get(pos + 1)
                    .ok_or_else(|| bad(pos, "compression pointer cut off"))?;
                let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                jumps += 1;
                if target >= data.len() || jumps > data.len() {
                    return Err(bad(pos, "compression pointer out of range or looping"));
                }
                resume.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(bad(pos, "label length byte above 63")),
        }
    }
}

/// Reads a list of fully qualified names filling `data` (DHCPv4 option 119 with compression,
/// DHCPv6 option 24 without).
pub fn parse_name_list(data: &[u8], compression: bool) -> Result<Vec<DomainName>, ContentError> {
    let mut names = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let (name, next) = read_name(data, pos, compression)?;
        if !name.absolute {
            return Err(bad(pos, "name in a list lacks its root label"));
        }
        names.push(name);
        pos = next;
    }
    Ok(names)
}

/// Reads exactly one name, fully qualified or partial, that fills `data` (FQDN options).
pub fn parse_single_name(data: &[u8]) -> Result<DomainName, ContentError> {
    let (name, next) = read_name(data, 0, false)?;
    if next != data.len() {
        return Err(bad(next, "bytes after the end of the name"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_with_compression_pointer() {
        // "example.com." then "www" + pointer to offset 0.
        let mut data = vec![7];
        data.extend_from_slice(b"example");
        data.push(3);
        data.extend_from_slice(b"com");
        data.push(0);
        data.push(3);
        data.extend_from_slice(b"www");
        data.extend_from_slice(&[0xc0, 0x00]);
        let names = parse_name_list(&data, true).expect("valid list");
        let shown: Vec<String> = names.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["example.com.", "www.example.com."]);
        assert!(parse_name_list(&data, false).is_err());
    }

    #[test]
    fn pointer_loop_is_an_error_not_a_hang() {
        let data = [0xc0, 0x00];
        let err = parse_name_list(&data, true).expect_err("loop");
        assert_eq!(err.at, 0);
    }

    #[test]
    fn partial_name_round_trips() {
        let name = parse_single_name(b"\x04host").expect("partial");
        assert!(!name.absolute);
        let mut out = Vec::new();
        name.encode_into(&mut out);
        assert_eq!(out, b"\x04host");
        assert_eq!(
            DomainName::from_dotted("host.example.", false).map(|n| n.to_string()),
            Ok("host.example.".into())
        );
    }
}
