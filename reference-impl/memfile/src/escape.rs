//! Kea's escaping of text columns (`CSVFile::escapeCharacters`): a byte becomes `&#x` and two
//! lowercase hex digits. Kea 2.2 escapes only `,` and `&`; this writer also escapes control
//! bytes and bytes above 0x7e, as later Kea versions do, so a newline in a host name cannot
//! split a row (Kea 2.2's reader decodes any `&#xNN`).

/// Escapes a text column.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b',' | b'&' | 0..0x20 | 0x7f.. => out.push_str(&format!("&#x{b:02x}")),
            b => out.push(char::from(b)),
        }
    }
    out
}

/// Reverses [`escape`]: `&#x` and two hex digits (either case) become that byte; anything else,
/// a malformed escape included, stays as it is.
pub fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let decoded = (b == b'&')
            .then(|| bytes.get(i + 1..i + 5))
            .flatten()
            .filter(|t| t.starts_with(b"#x"))
            .and_then(|t| std::str::from_utf8(&t[2..]).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 5;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_kea_writes_it() {
        assert_eq!(escape("a,b&c.example"), "a&#x2cb&#x26c.example");
        assert_eq!(unescape("a&#x2cb&#x26c.example"), "a,b&c.example");
        assert_eq!(unescape("A&#X2C&#x2Cz"), "A&#X2C,z");
        assert_eq!(unescape("&#xzz &#x2"), "&#xzz &#x2");
        assert_eq!(escape("a\nb\u{e9}"), "a&#x0ab&#xc3&#xa9");
        assert_eq!(unescape("a&#x0ab&#xc3&#xa9"), "a\nb\u{e9}");
    }

    proptest::proptest! {
        #[test]
        fn unescape_reverses_escape(text in ".{0,40}") {
            proptest::prop_assert_eq!(unescape(&escape(&text)), text);
        }
    }
}
