//! JSON with Kea's comments, parsed into values that remember their position.
//!
//! RFC 8259 JSON otherwise, except that a comma before a closing bracket or brace is accepted,
//! as Kea 2.2 accepts it with a warning. Duplicate keys are kept in order; the configuration
//! reader refuses them, as Kea 2.2 does. Columns count characters (Kea counts bytes).
//! Nesting is limited to [`MAX_DEPTH`] so a hostile file cannot exhaust the stack.

use std::fmt;

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 128;

/// A place in the text: 1-based line and column (in characters), and the byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, counted in characters.
    pub column: usize,
    /// Byte offset from the start of the text.
    pub offset: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A JSON value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    /// The value.
    pub value: Value,
    /// Where its first character is.
    pub pos: Pos,
}

/// An object member's key and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key, unescaped.
    pub name: String,
    /// Where its opening quote is.
    pub pos: Pos,
}

/// A JSON value whose children keep their positions.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as its text, so integers of any size and exact decimals survive; read it with
    /// [`Value::as_u64`], [`Value::as_i64`] or [`Value::as_f64`].
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Spanned>),
    /// An object's members in file order.
    Object(Vec<(Key, Spanned)>),
}

impl Value {
    /// A short name of the value's type for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// The number as an unsigned integer, when it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.parse().ok(),
            _ => None,
        }
    }

    /// The number as a signed integer, when it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.parse().ok(),
            _ => None,
        }
    }

    /// The number as a float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.parse().ok(),
            _ => None,
        }
    }
}

impl Spanned {
    /// The value as `serde_json` sees it, positions and comments dropped (what Kea's
    /// `config-get` gives back). A number whose text `serde_json` cannot hold (beyond 64-bit
    /// integers and doubles) becomes a string of its text.
    pub fn to_serde(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => serde_json::from_str::<serde_json::Number>(n)
                .map_or_else(|_| J::String(n.clone()), J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::Array(items) => J::Array(items.iter().map(Spanned::to_serde).collect()),
            Value::Object(members) => J::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_serde()))
                    .collect(),
            ),
        }
    }
}

/// Why a text is not JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct ParseError {
    /// Where the fault is.
    pub pos: Pos,
    /// What is wrong, in words.
    pub message: String,
}

/// Parses a whole text as one JSON value with comments allowed.
pub fn parse(text: &str) -> Result<Spanned, ParseError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        i: 0,
        line: 1,
        line_start: 0,
        column_cache: std::cell::Cell::new((0, 0)),
    };
    p.skip_blank()?;
    let value = p.value(0)?;
    p.skip_blank()?;
    if p.i < p.bytes.len() {
        return Err(p.error("text after the end of the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    i: usize,
    line: usize,
    line_start: usize,
    /// The last column computed, as (byte offset, characters from the line start), so a long
    /// line is counted once rather than once per value (which would be quadratic).
    column_cache: std::cell::Cell<(usize, usize)>,
}

impl Parser<'_> {
    fn pos(&self) -> Pos {
        let (mut at, mut chars) = self.column_cache.get();
        if at < self.line_start || at > self.i {
            (at, chars) = (self.line_start, 0);
        }
        chars += self.text.get(at..self.i).map_or(0, |s| s.chars().count());
        self.column_cache.set((self.i, chars));
        Pos {
            line: self.line,
            column: chars + 1,
            offset: self.i,
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            pos: self.pos(),
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        if b == b'\n' {
            self.line += 1;
            self.line_start = self.i;
        }
        Some(b)
    }

    /// Skips whitespace and comments.
    fn skip_blank(&mut self) -> Result<(), ParseError> {
        loop {
            match (self.peek(), self.bytes.get(self.i + 1).copied()) {
                (Some(b' ' | b'\t' | b'\n' | b'\r'), _) => {
                    self.bump();
                }
                (Some(b'#'), _) | (Some(b'/'), Some(b'/')) => {
                    while !matches!(self.peek(), None | Some(b'\n')) {
                        self.bump();
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match (self.peek(), self.bytes.get(self.i + 1).copied()) {
                            (None, _) => {
                                return Err(ParseError {
                                    pos: start,
                                    message: "comment opened here is never closed".into(),
                                });
                            }
                            (Some(b'*'), Some(b'/')) => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            _ => {
                                self.bump();
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Spanned, ParseError> {
        let pos = self.pos();
        let value = match self.peek() {
            None => return Err(self.error("the text ends where a value should be")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.word("true", Value::Bool(true))?,
            Some(b'f') => self.word("false", Value::Bool(false))?,
            Some(b'n') => self.word("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => {
                let shown: String = self
                    .text
                    .get(self.i..)
                    .unwrap_or_default()
                    .chars()
                    .take(1)
                    .collect();
                return Err(self.error(format!("unexpected {shown:?} where a value should be")));
            }
        };
        Ok(Spanned { value, pos })
    }

    fn word(&mut self, word: &str, value: Value) -> Result<Value, ParseError> {
        if self.bytes.get(self.i..self.i + word.len()) == Some(word.as_bytes()) {
            self.i += word.len();
            Ok(value)
        } else {
            Err(self.error(format!("expected `{word}`")))
        }
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i > from
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else if !digits(self) {
            return Err(self.error("a number needs digits"));
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.error("a decimal point needs digits after it"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.error("an exponent needs digits"));
            }
        }
        Ok(Value::Number(
            self.text.get(start..self.i).unwrap_or_default().to_string(),
        ))
    }

    fn string(&mut self) -> Result<String, ParseError> {
        let open = self.pos();
        self.bump();
        let mut out = String::new();
        loop {
            let rest = self.text.get(self.i..).unwrap_or_default();
            let Some(c) = rest.chars().next() else {
                return Err(ParseError {
                    pos: open,
                    message: "string opened here is never closed".into(),
                });
            };
            match c {
                '"' => {
                    self.i += 1;
                    return Ok(out);
                }
                '\\' => {
                    self.i += 1;
                    out.push(self.escape()?);
                }
                '\n' | '\r' => return Err(self.error("a string may not span lines")),
                c if (c as u32) < 0x20 => return Err(self.error("control character in a string")),
                c => {
                    self.i += c.len_utf8();
                    out.push(c);
                }
            }
        }
    }

    fn escape(&mut self) -> Result<char, ParseError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.i += 1;
                let high = self.hex4()?;
                if (0xd800..0xdc00).contains(&high) {
                    if self.bytes.get(self.i..self.i + 2) != Some(b"\\u") {
                        return Err(self.error("a high surrogate must be followed by a low one"));
                    }
                    self.i += 2;
                    let low = self.hex4()?;
                    if !(0xdc00..0xe000).contains(&low) {
                        return Err(self.error("a high surrogate must be followed by a low one"));
                    }
                    let code = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
                    return char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"));
                }
                return char::from_u32(high)
                    .ok_or_else(|| self.error("invalid \\u escape (lone surrogate)"));
            }
            _ => return Err(self.error("unknown escape in a string")),
        };
        self.i += 1;
        Ok(c)
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self
            .text
            .get(self.i..self.i + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("\\u needs four hex digits"))?;
        let value =
            u32::from_str_radix(digits, 16).map_err(|_| self.error("\\u needs four hex digits"))?;
        self.i += 4;
        Ok(value)
    }

    fn enter(&self, depth: usize) -> Result<usize, ParseError> {
        if depth >= MAX_DEPTH {
            Err(self.error(format!("nested deeper than {MAX_DEPTH} levels")))
        } else {
            Ok(depth + 1)
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        let depth = self.enter(depth)?;
        self.bump();
        let mut items = Vec::new();
        self.skip_blank()?;
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_blank()?;
            items.push(self.value(depth)?);
            self.skip_blank()?;
            if self.closes(b']', "expected `,` or `]` after an array item")? {
                return Ok(Value::Array(items));
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        let depth = self.enter(depth)?;
        self.bump();
        let mut members = Vec::new();
        self.skip_blank()?;
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_blank()?;
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a quoted key"));
            }
            let pos = self.pos();
            let name = self.string()?;
            self.skip_blank()?;
            if self.peek() != Some(b':') {
                return Err(self.error(format!("expected `:` after the key {name:?}")));
            }
            self.bump();
            self.skip_blank()?;
            let value = self.value(depth)?;
            members.push((Key { name, pos }, value));
            self.skip_blank()?;
            if self.closes(b'}', "expected `,` or `}` after an object member")? {
                return Ok(Value::Object(members));
            }
        }
    }

    /// After an item: `,` goes on (true only when `close` follows the comma, which Kea 2.2
    /// accepts with a warning), `close` ends the container, anything else is `fault`.
    fn closes(&mut self, close: u8, fault: &str) -> Result<bool, ParseError> {
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                self.skip_blank()?;
                let trailing = self.peek() == Some(close);
                if trailing {
                    self.i += 1;
                }
                Ok(trailing)
            }
            Some(c) if c == close => {
                self.i += 1;
                Ok(true)
            }
            _ => Err(self.error(fault)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kea_comments_and_positions() {
        let text = "# Kea config\n{\n  // a comment\n  \"Dhcp4\": { /* block\n comment */ \"valid-lifetime\": 4000 }\n}\n";
        let v = parse(text).expect("parses");
        let Value::Object(top) = &v.value else {
            panic!("object")
        };
        assert_eq!(top[0].0.name, "Dhcp4");
        assert_eq!(
            top[0].0.pos,
            Pos {
                line: 4,
                column: 3,
                offset: 32
            }
        );
        let Value::Object(dhcp4) = &top[0].1.value else {
            panic!("object")
        };
        assert_eq!(dhcp4[0].0.name, "valid-lifetime");
        assert_eq!((dhcp4[0].0.pos.line, dhcp4[0].0.pos.column), (5, 13));
        assert_eq!(dhcp4[0].1.value.as_u64(), Some(4000));
    }

    #[test]
    fn errors_say_where() {
        let err = parse("{\n  \"a\": 1,\n  \"b\" 2\n}").expect_err("missing colon");
        assert_eq!((err.pos.line, err.pos.column), (3, 7));
        assert!(
            parse("{\"a\": [1, 2,], }").is_ok(),
            "Kea accepts trailing commas"
        );
        let err = parse("{\"a\": [1, 2,,]}").expect_err("double comma");
        assert_eq!(err.pos.column, 13);
        let err = parse("/* open").expect_err("unclosed comment");
        assert_eq!(err.pos.column, 1);
        let err = parse("\"h\u{e9}llo").expect_err("unclosed string");
        assert_eq!(err.to_string(), "1:1: string opened here is never closed");
        let err = parse("[\"é\", x]").expect_err("bad value");
        assert_eq!(err.pos.column, 7);
    }

    #[test]
    fn strings_and_numbers() {
        let v =
            parse(r#"["a\"b\\\u00e9\ud83d\ude00", -0.5e3, 18446744073709551615]"#).expect("parses");
        let Value::Array(items) = v.value else {
            panic!("array")
        };
        assert_eq!(items[0].value, Value::String("a\"b\\é😀".into()));
        assert_eq!(items[1].value.as_f64(), Some(-500.0));
        assert_eq!(items[2].value.as_u64(), Some(u64::MAX));
        assert!(parse("01").is_err());
        assert!(parse("\"\\ud800\"").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        let err = parse(&deep).expect_err("too deep");
        assert!(err.message.contains("deeper"));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn a_long_line_costs_linear_time() {
        // 200,000 values on one line: quadratic column counting would take minutes.
        let text = format!("[{}1]", "1,".repeat(200_000));
        let v = parse(&text).expect("parses");
        let Value::Array(items) = v.value else {
            panic!("array")
        };
        assert_eq!(items.last().map(|i| i.pos.column), Some(400_002));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "[\\[\\]{}\",:0-9a-z#/*\\\\ \n-]{0,60}") {
            let _ = parse(&text);
        }
    }
}
