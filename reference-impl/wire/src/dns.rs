//! Domain names in DHCP options: RFC 1035 label encoding as used by DHCPv4 options 81 and 119
//! and DHCPv6 options 24, 39 and 64.

use crate::error::{ContentError, ContentErrorKind};
use std::fmt;

/// Longest encoded name RFC 1035 allows (3.1), root octet included.
const MAX_NAME_LEN: usize = 255;
/// Most compression pointers one name may follow: a name has at most 127 labels.
const MAX_JUMPS: usize = 127;
/// Most bytes a list of names may expand to; a search list is far shorter, and the cap keeps a
/// hostile option of chained pointers from costing quadratic time and megabytes of text.
const MAX_LIST_EXPANSION: usize = 64 * 1024;

/// A domain name as a list of raw labels, kept as bytes so odd names survive a round trip.
/// Every label is 1 to 63 bytes and the encoded name at most 255 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainName {
    labels: Vec<Vec<u8>>,
    absolute: bool,
}

impl DomainName {
    /// Builds a name from raw labels; `absolute` ends it with the root label.
    pub fn new(labels: Vec<Vec<u8>>, absolute: bool) -> Result<Self, NameError> {
        let name = Self { labels, absolute };
        name.check()?;
        Ok(name)
    }

    /// The labels, without length bytes.
    pub fn labels(&self) -> &[Vec<u8>] {
        &self.labels
    }

    /// True when the name ends with the root label (fully qualified); false for a partial
    /// name (RFC 4702 and RFC 4704 let a client send only its host label).
    pub fn is_absolute(&self) -> bool {
        self.absolute
    }

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
        Self::new(labels, absolute)
    }

    fn check(&self) -> Result<(), NameError> {
        if self.labels.iter().any(|l| l.is_empty() || l.len() > 63) {
            return Err(NameError::BadLabel);
        }
        // Counted as if fully qualified, as the parser counts: a partial name gains a root
        // label when the server completes it.
        if self.encoded_len() + usize::from(!self.absolute) > MAX_NAME_LEN {
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
            // Labels are 1 to 63 bytes: `new` checks built names, the parser wire names.
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
    // The root octet counts towards the 255-byte limit (RFC 1035 3.1).
    let mut total = 1usize;
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
                if target >= data.len() || jumps > MAX_JUMPS {
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
    let mut expanded = 0usize;
    while pos < data.len() {
        let (name, next) = read_name(data, pos, compression)?;
        if !name.absolute {
            return Err(bad(pos, "name in a list lacks its root label"));
        }
        expanded += name.encoded_len();
        if expanded > MAX_LIST_EXPANSION {
            return Err(bad(pos, "names expand past 64 KiB"));
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
    fn chained_pointers_are_bounded() {
        // Name i is a pointer to name i-1: without a cap each name follows i pointers.
        let mut data = vec![1, b'a', 0];
        for i in 0..20_000u16 {
            let target = if i == 0 { 0 } else { 3 + 2 * (i - 1) };
            data.extend_from_slice(&(0xc000 | target).to_be_bytes());
        }
        let err = parse_name_list(&data, true).expect_err("bounded");
        assert!(matches!(err.kind, ContentErrorKind::BadName(_)));
        // 127 chained names still parse.
        assert_eq!(
            parse_name_list(&data[..3 + 2 * 127], true).map(|n| n.len()),
            Ok(128)
        );
    }

    #[test]
    fn root_octet_counts_towards_255() {
        // Four labels of 63 bytes and their length bytes make 256 octets with the root.
        let mut data = Vec::new();
        for _ in 0..4 {
            data.push(63);
            data.extend_from_slice(&[b'x'; 63]);
        }
        data.push(0);
        assert!(parse_name_list(&data, false).is_err());
        assert!(DomainName::new(vec![vec![b'x'; 63]; 4], true).is_err());
        assert!(DomainName::new(vec![vec![b'x'; 63]; 3], true).is_ok());
    }

    #[test]
    fn partial_name_round_trips() {
        let name = parse_single_name(b"\x04host").expect("partial");
        assert!(!name.is_absolute());
        let mut out = Vec::new();
        name.encode_into(&mut out);
        assert_eq!(out, b"\x04host");
        assert_eq!(
            DomainName::from_dotted("host.example.", false).map(|n| n.to_string()),
            Ok("host.example.".into())
        );
    }
}
