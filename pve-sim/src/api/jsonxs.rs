//! JSON request bodies decoded as pve-http-server does it (`decode_json` of
//! Perl's JSON::XS 4): the same values, and on malformed input the same
//! message, byte offset and `(before "...")` excerpt, since PVE answers with
//! that text as a 500.

use serde_json::{Map, Number, Value};

/// A decoding failure: JSON::XS's `die` text without the `at FILE line N.`.
pub type DecodeError = String;

/// `decode_json(bytes)`: any JSON value (JSON::XS 4 allows non-references
/// at the top).
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut d = Decoder { s: bytes, cur: 0 };
    let result = d.value().and_then(|v| {
        d.ws();
        if d.cur == d.s.len() {
            Ok(v)
        } else {
            Err("garbage after JSON object")
        }
    });
    result.map_err(|reason| {
        let before = if d.cur >= d.s.len() {
            "(end of string)".to_string()
        } else {
            display(&d.s[d.cur..])
        };
        format!(
            "{reason}, at character offset {} (before \"{before}\")",
            d.cur
        )
    })
}

struct Decoder<'a> {
    s: &'a [u8],
    cur: usize,
}

type Step<T> = Result<T, &'static str>;

impl Decoder<'_> {
    /// The byte at the cursor; 0 past the end (JSON::XS NUL-terminates).
    fn peek(&self) -> u8 {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> u8 {
        self.s.get(self.cur + n).copied().unwrap_or(0)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), b' ' | b'\n' | b'\r' | b'\t') {
            self.cur += 1;
        }
    }

    fn expect(&mut self, ch: u8, err: &'static str) -> Step<()> {
        if self.peek() != ch {
            return Err(err);
        }
        self.cur += 1;
        Ok(())
    }

    fn value(&mut self) -> Step<Value> {
        self.ws();
        match self.peek() {
            b'"' => {
                self.cur += 1;
                self.string().map(Value::String)
            }
            b'[' => {
                self.cur += 1;
                self.array()
            }
            b'{' => {
                self.cur += 1;
                self.object()
            }
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true", Value::Bool(true), "'true' expected"),
            b'f' => self.literal("false", Value::Bool(false), "'false' expected"),
            b'n' => self.literal("null", Value::Null, "'null' expected"),
            _ => Err("malformed JSON string, neither tag, array, object, number, string or atom"),
        }
    }

    fn literal(&mut self, word: &str, v: Value, err: &'static str) -> Step<Value> {
        if self.s[self.cur..].starts_with(word.as_bytes()) {
            self.cur += word.len();
            Ok(v)
        } else {
            Err(err)
        }
    }

    fn array(&mut self) -> Step<Value> {
        let mut items = Vec::new();
        self.ws();
        if self.peek() == b']' {
            self.cur += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                b']' => {
                    self.cur += 1;
                    return Ok(Value::Array(items));
                }
                b',' => self.cur += 1,
                _ => return Err(", or ] expected while parsing array"),
            }
        }
    }

    fn object(&mut self) -> Step<Value> {
        let mut map = Map::new();
        self.ws();
        if self.peek() == b'}' {
            self.cur += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.ws();
            self.expect(b'"', "'\"' expected")?;
            let key = self.string()?;
            self.ws();
            self.expect(b':', "':' expected")?;
            let value = self.value()?;
            map.insert(key, value);
            self.ws();
            match self.peek() {
                b'}' => {
                    self.cur += 1;
                    return Ok(Value::Object(map));
                }
                b',' => self.cur += 1,
                _ => return Err(", or } expected while parsing object/hash"),
            }
        }
    }

    fn hex4(&mut self) -> Step<u32> {
        let mut v = 0;
        for i in 0..4 {
            let d = char::from(self.peek_at(i))
                .to_digit(16)
                .ok_or("exactly four hexadecimal digits expected")?;
            v = v * 16 + d;
        }
        self.cur += 4;
        Ok(v)
    }

    /// After the opening quote, through the closing one.
    fn string(&mut self) -> Step<String> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let ch = self.peek();
            self.cur += 1;
            match ch {
                b'"' => break,
                b'\\' => {
                    let esc = self.peek();
                    let plain = match esc {
                        b'\\' | b'/' | b'"' => Some(esc),
                        b'b' => Some(0x08),
                        b't' => Some(b'\t'),
                        b'n' => Some(b'\n'),
                        b'f' => Some(0x0c),
                        b'r' => Some(b'\r'),
                        _ => None,
                    };
                    if let Some(b) = plain {
                        self.cur += 1;
                        out.push(b);
                    } else if esc == b'u' {
                        self.cur += 1;
                        let c = self.unicode_escape()?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    } else {
                        self.cur -= 1;
                        return Err("illegal backslash escape sequence in string");
                    }
                }
                0x20..=0x7f => out.push(ch),
                0x80.. => {
                    self.cur -= 1;
                    let len = utf8_len(&self.s[self.cur..])
                        .ok_or("malformed UTF-8 character in JSON string")?;
                    out.extend_from_slice(&self.s[self.cur..self.cur + len]);
                    self.cur += len;
                }
                0 => {
                    self.cur -= 1;
                    return Err("unexpected end of string while parsing JSON string");
                }
                _ => {
                    self.cur -= 1;
                    return Err("invalid character encountered while parsing JSON string");
                }
            }
        }
        // Every piece was checked to be UTF-8 above.
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// `\uXXXX` (after the `u`), with a surrogate pair's second half.
    fn unicode_escape(&mut self) -> Step<char> {
        let hi = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&hi) {
            if self.peek() != b'\\' || self.peek_at(1) != b'u' {
                return Err("missing low surrogate character in surrogate pair");
            }
            self.cur += 2;
            let lo = self.hex4()?;
            if !(0xdc00..0xe000).contains(&lo) {
                return Err("surrogate pair expected");
            }
            0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
        } else if (0xdc00..0xe000).contains(&hi) {
            return Err("missing high surrogate character in surrogate pair");
        } else {
            hi
        };
        Ok(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    fn number(&mut self) -> Step<Value> {
        let start = self.cur;
        let mut float = false;
        if self.peek() == b'-' {
            self.cur += 1;
        }
        if self.peek() == b'0' {
            self.cur += 1;
            if self.peek().is_ascii_digit() {
                return Err(
                    "malformed number (leading zero must not be followed by another digit)",
                );
            }
        } else if !self.peek().is_ascii_digit() {
            return Err("malformed number (no digits after initial minus)");
        } else {
            self.digits();
        }
        if self.peek() == b'.' {
            self.cur += 1;
            if !self.peek().is_ascii_digit() {
                return Err("malformed number (no digits after decimal point)");
            }
            self.digits();
            float = true;
        }
        if matches!(self.peek(), b'e' | b'E') {
            self.cur += 1;
            if matches!(self.peek(), b'-' | b'+') {
                self.cur += 1;
            }
            if !self.peek().is_ascii_digit() {
                return Err("malformed number (no digits after exp sign)");
            }
            self.digits();
            float = true;
        }
        let text = String::from_utf8_lossy(&self.s[start..self.cur]);
        if !float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Number(i.into()));
            }
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Value::Number(u.into()));
            }
        }
        let f: f64 = text.parse().unwrap_or(0.0);
        Ok(Number::from_f64(f).map_or(Value::Null, Value::Number))
    }

    fn digits(&mut self) {
        while self.peek().is_ascii_digit() {
            self.cur += 1;
        }
    }
}

/// The length of the UTF-8 character starting `s`, if it is one.
fn utf8_len(s: &[u8]) -> Option<usize> {
    let len = match s.first()? {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let head = s.get(..len)?;
    std::str::from_utf8(head).ok().map(|_| len)
}

/// Perl's `pv_uni_display(.., 20, UNI_DISPLAY_QQ)` of what follows the
/// error: printable ASCII as is, `\\` doubled, `\t \n \r \f \a \e` as
/// escapes, anything else `\x{HEX}`; cut after 20 characters of output
/// with `...`.
fn display(rest: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < rest.len() {
        if out.len() >= 20 {
            out.push_str("...");
            break;
        }
        let b = rest[i];
        // Perl steps by the lead byte's announced length, valid or not.
        let skip = match b {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            0xf8..=0xfb => 5,
            0xfc..=0xfd => 6,
            0xfe => 7,
            0xff => 13,
            _ => 1,
        };
        let code = if b < 0x80 {
            u32::from(b)
        } else {
            match rest
                .get(i..i + skip)
                .and_then(|c| std::str::from_utf8(c).ok())
            {
                Some(c) => c.chars().next().map_or(0xfffd, u32::from),
                None => 0xfffd,
            }
        };
        match code {
            0x07 => out.push_str("\\a"),
            0x09 => out.push_str("\\t"),
            0x0a => out.push_str("\\n"),
            0x0c => out.push_str("\\f"),
            0x0d => out.push_str("\\r"),
            0x1b => out.push_str("\\e"),
            0x5c => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{{{code:x}}}")),
        }
        i += skip;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(s: &str) -> String {
        decode(s.as_bytes()).unwrap_err()
    }

    #[test]
    fn values_as_json_xs_reads_them() {
        assert_eq!(
            decode(br#" {"a": [1, -2, 1.5, true, null, "\u00e9\ud83d\ude00"]} "#).unwrap(),
            json!({"a": [1, -2, 1.5, true, null, "é😀"]})
        );
        assert_eq!(decode(b"\"x\"").unwrap(), json!("x"));
    }

    /// The texts Perl's JSON::XS 4.04 gives for these inputs.
    #[test]
    fn errors_as_json_xs_words_them() {
        let cases = [
            (
                "{bad",
                r#"'"' expected, at character offset 1 (before "bad")"#,
            ),
            (
                "",
                r#"malformed JSON string, neither tag, array, object, number, string or atom, at character offset 0 (before "(end of string)")"#,
            ),
            (
                r#"{"a""#,
                r#"':' expected, at character offset 4 (before "(end of string)")"#,
            ),
            (
                r#"{"a":1"#,
                r#", or } expected while parsing object/hash, at character offset 6 (before "(end of string)")"#,
            ),
            (
                r#"{"a":1}x"#,
                r#"garbage after JSON object, at character offset 7 (before "x")"#,
            ),
            (
                "[1,2",
                r#", or ] expected while parsing array, at character offset 4 (before "(end of string)")"#,
            ),
            (
                r#"{"a":tru}"#,
                r#"'true' expected, at character offset 5 (before "tru}")"#,
            ),
            (
                r#"{"a":01}"#,
                r#"malformed number (leading zero must not be followed by another digit), at character offset 6 (before "1}")"#,
            ),
            (
                r#"{"a":1e}"#,
                r#"malformed number (no digits after exp sign), at character offset 7 (before "}")"#,
            ),
            (
                "{\"a\":\"\x01\"}",
                r#"invalid character encountered while parsing JSON string, at character offset 6 (before "\x{1}"}")"#,
            ),
            (
                r#"{"a":"\q"}"#,
                r#"illegal backslash escape sequence in string, at character offset 6 (before "\\q"}")"#,
            ),
            (
                r#"{"a":"\u12"}"#,
                r#"exactly four hexadecimal digits expected, at character offset 8 (before "12"}")"#,
            ),
            (
                r#"{"a":"\ud800"}"#,
                r#"missing low surrogate character in surrogate pair, at character offset 12 (before ""}")"#,
            ),
            (
                r#"{"a":"\ud83d\u0041"}"#,
                r#"surrogate pair expected, at character offset 18 (before ""}")"#,
            ),
            (
                "{\"a\":\"\tb\"}",
                r#"invalid character encountered while parsing JSON string, at character offset 6 (before "\tb"}")"#,
            ),
            (
                r#"{"abcdefghijklmnopqrstuvwxyz0123456789" 1}"#,
                r#"':' expected, at character offset 40 (before "1}")"#,
            ),
            (
                r#"{"a" "0123456789abcdefghij"}"#,
                r#"':' expected, at character offset 5 (before ""0123456789abcdefghi...")"#,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(err(input), want, "{input:?}");
        }
        assert_eq!(
            decode(b"{\"a\":\"\xff\"}").unwrap_err(),
            r#"malformed UTF-8 character in JSON string, at character offset 6 (before "\x{fffd}")"#
        );
        assert_eq!(
            decode("{\"éééééééééééé\" 1}".as_bytes()).unwrap_err(),
            r#"':' expected, at character offset 28 (before "1}")"#
        );
    }
}
