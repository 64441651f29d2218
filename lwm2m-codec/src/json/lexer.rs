//! A small JSON tokenizer over validated UTF-8, borrowing strings from the input.
//!
//! It knows RFC 8259 exactly (strings with every escape, numbers, literals, nesting) but builds
//! nothing generic: the document reader asks for the token it expects next. Every error carries
//! the byte offset where it was found.

use alloc::borrow::Cow;
use alloc::string::String;
use core::str::FromStr;

use super::{JsonError, Number};

/// How deep unknown values may nest before the reader gives up (they are skipped recursively).
const MAX_SKIP_DEPTH: u32 = 64;

pub(super) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Lexer { text, pos: 0 }
    }

    #[inline]
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    fn byte_at(&self, pos: usize) -> Option<u8> {
        self.text.as_bytes().get(pos).copied()
    }

    /// The next byte after white space, without consuming it.
    #[inline]
    pub(super) fn peek(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.byte_at(self.pos) {
            self.pos += 1;
        }
        self.byte_at(self.pos)
    }

    fn unexpected(&mut self, expected: &'static str) -> JsonError {
        match self.peek() {
            None => JsonError::UnexpectedEnd { expected },
            Some(_) => JsonError::Syntax {
                offset: self.pos,
                expected,
            },
        }
    }

    /// Consumes `byte` (after white space) or reports what was expected.
    #[inline]
    pub(super) fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    /// After the top-level value: only white space may follow.
    pub(super) fn end(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(JsonError::TrailingCharacters { offset: self.pos }),
        }
    }

    /// Steps through the members of an object whose `{` has been consumed. `first` starts true.
    /// Returns the next key and its offset, with the `:` consumed, or `None` after the `}`.
    #[allow(
        clippy::inline_always,
        reason = "measured: without it the call and its by-memory result cost the typed JSON decode 9 % more instructions"
    )]
    #[inline(always)]
    pub(super) fn next_key(
        &mut self,
        first: &mut bool,
    ) -> Result<Option<(Cow<'a, str>, usize)>, JsonError> {
        match self.peek() {
            Some(b'}') => {
                self.pos += 1;
                return Ok(None);
            }
            Some(b',') if !*first => self.pos += 1,
            _ if *first => {}
            _ => return Err(self.unexpected("',' or '}' after an object member")),
        }
        *first = false;
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("a string key"));
        }
        let offset = self.pos;
        let key = self.string()?;
        self.expect(b':', "':' after a key")?;
        Ok(Some((key, offset)))
    }

    /// Steps through the elements of an array whose `[` has been consumed. Returns whether an
    /// element follows (positioned at it) or the `]` was consumed.
    #[inline]
    pub(super) fn next_element(&mut self, first: &mut bool) -> Result<bool, JsonError> {
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                return Ok(false);
            }
            Some(b',') if !*first => self.pos += 1,
            _ if *first => {}
            _ => return Err(self.unexpected("',' or ']' after an array element")),
        }
        *first = false;
        Ok(true)
    }

    /// Reads a string; the cursor must be on its opening quote (checked by the caller with
    /// [`Lexer::peek`]). Borrowed unless it contains escapes.
    #[allow(
        clippy::inline_always,
        reason = "measured: without it the call and its by-memory result cost the typed JSON decode 9 % more instructions"
    )]
    #[inline(always)]
    pub(super) fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let open = self.pos;
        let start = open + 1;
        let mut i = start;
        loop {
            match self.byte_at(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(self.text.get(start..i).unwrap_or_default()));
                }
                Some(b'\\') => return self.escaped_string(open, i),
                Some(0x00..=0x1F) => return Err(JsonError::ControlCharacter { offset: i }),
                Some(_) => i += 1,
                None => return Err(JsonError::UnterminatedString { offset: open }),
            }
        }
    }

    /// The rest of a string from its first backslash at `i`, decoded into an owned copy.
    #[cold]
    fn escaped_string(&mut self, open: usize, mut i: usize) -> Result<Cow<'a, str>, JsonError> {
        let start = open + 1;
        let mut owned = String::with_capacity(i - start + 16);
        owned.push_str(self.text.get(start..i).unwrap_or_default());
        loop {
            // `i` is on a backslash, or on the first byte of a plain run.
            match self.byte_at(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Owned(owned));
                }
                Some(b'\\') => {
                    i = self.escape(i, &mut owned)?;
                }
                Some(0x00..=0x1F) => return Err(JsonError::ControlCharacter { offset: i }),
                Some(_) => {
                    let run_start = i;
                    while let Some(b) = self.byte_at(i) {
                        if b == b'"' || b == b'\\' || b < 0x20 {
                            break;
                        }
                        i += 1;
                    }
                    owned.push_str(self.text.get(run_start..i).unwrap_or_default());
                }
                None => return Err(JsonError::UnterminatedString { offset: open }),
            }
        }
    }

    /// Decodes the escape at `at` (a backslash) into `out`; returns the position after it.
    fn escape(&self, at: usize, out: &mut String) -> Result<usize, JsonError> {
        let invalid = JsonError::InvalidEscape { offset: at };
        let c = match self.byte_at(at + 1).ok_or(invalid.clone())? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4(at + 2).ok_or(invalid.clone())?;
                let (code, next) = match high {
                    0xD800..=0xDBFF => {
                        // A high surrogate must be followed by an escaped low surrogate.
                        if self.byte_at(at + 6) != Some(b'\\') || self.byte_at(at + 7) != Some(b'u')
                        {
                            return Err(invalid);
                        }
                        let low = self.hex4(at + 8).ok_or(invalid.clone())?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(invalid);
                        }
                        (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), at + 12)
                    }
                    0xDC00..=0xDFFF => return Err(invalid),
                    _ => (high, at + 6),
                };
                out.push(char::from_u32(code).ok_or(invalid)?);
                return Ok(next);
            }
            _ => return Err(invalid),
        };
        out.push(c);
        Ok(at + 2)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.text.as_bytes().get(at..at + 4)?;
        digits.iter().try_fold(0_u32, |acc, &b| {
            let d = char::from(b).to_digit(16)?;
            Some(acc * 16 + d)
        })
    }

    /// Reads a number; the cursor must be on its first character.
    #[allow(
        clippy::inline_always,
        reason = "measured: without it the call and its by-memory result cost the typed JSON decode 9 % more instructions"
    )]
    #[inline(always)]
    pub(super) fn number(&mut self) -> Result<Number, JsonError> {
        let start = self.pos;
        let mut i = start;
        let negative = self.byte_at(i) == Some(b'-');
        if negative {
            i += 1;
        }
        let invalid = JsonError::InvalidNumber { offset: start };
        // Integer part: "0" or a non-zero digit followed by digits; accumulate while it fits.
        let mut magnitude: Option<u64> = Some(0);
        match self.byte_at(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while let Some(b @ b'0'..=b'9') = self.byte_at(i) {
                    magnitude = magnitude
                        .and_then(|m| m.checked_mul(10))
                        .and_then(|m| m.checked_add(u64::from(b - b'0')));
                    i += 1;
                }
            }
            _ => return Err(invalid),
        }
        let mut is_float = false;
        if self.byte_at(i) == Some(b'.') {
            i += 1;
            i = self.digits(i).ok_or(invalid.clone())?;
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.byte_at(i) {
            i += 1;
            if let Some(b'+' | b'-') = self.byte_at(i) {
                i += 1;
            }
            i = self.digits(i).ok_or(invalid)?;
            is_float = true;
        }
        self.pos = i;
        if !is_float {
            if let Some(m) = magnitude {
                if !negative {
                    if let Ok(v) = i64::try_from(m) {
                        return Ok(Number::Integer(v));
                    }
                } else if m <= 1 << 63 {
                    // -(2^63) is i64::MIN; the wrapping cast maps 2^63 onto it exactly.
                    return Ok(Number::Integer((m as i64).wrapping_neg()));
                }
            }
        }
        // A float, or an integer beyond i64 (it cannot be an LwM2M Integer; keep the nearest f64).
        let text = self.text.get(start..i).unwrap_or_default();
        match f64::from_str(text) {
            Ok(f) if f.is_finite() => Ok(Number::Float(f)),
            _ => Err(JsonError::NumberOutOfRange { offset: start }),
        }
    }

    /// One or more digits from `i`; returns the position after them.
    fn digits(&self, mut i: usize) -> Option<usize> {
        let start = i;
        while let Some(b'0'..=b'9') = self.byte_at(i) {
            i += 1;
        }
        (i > start).then_some(i)
    }

    /// Reads `true` or `false`; the cursor must be on `t` or `f`.
    pub(super) fn boolean(&mut self) -> Result<bool, JsonError> {
        let rest = self.text.get(self.pos..).unwrap_or_default();
        if rest.starts_with("true") {
            self.pos += 4;
            Ok(true)
        } else if rest.starts_with("false") {
            self.pos += 5;
            Ok(false)
        } else {
            Err(JsonError::Syntax {
                offset: self.pos,
                expected: "true or false",
            })
        }
    }

    /// Skips any value (an unknown key's), checking that it is well-formed JSON.
    pub(super) fn skip_value(&mut self) -> Result<(), JsonError> {
        self.skip_nested(0)
    }

    fn skip_nested(&mut self, depth: u32) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(b't' | b'f') => self.boolean().map(drop),
            Some(b'n')
                if self
                    .text
                    .get(self.pos..)
                    .is_some_and(|r| r.starts_with("null")) =>
            {
                self.pos += 4;
                Ok(())
            }
            Some(open @ (b'{' | b'[')) => {
                if depth >= MAX_SKIP_DEPTH {
                    return Err(JsonError::NestingTooDeep { offset: self.pos });
                }
                self.pos += 1;
                let mut first = true;
                if open == b'{' {
                    while self.next_key(&mut first)?.is_some() {
                        self.skip_nested(depth + 1)?;
                    }
                } else {
                    while self.next_element(&mut first)? {
                        self.skip_nested(depth + 1)?;
                    }
                }
                Ok(())
            }
            _ => Err(self.unexpected("a JSON value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> Result<Cow<'_, str>, JsonError> {
        Lexer::new(text).string()
    }

    fn number(text: &str) -> Result<Number, JsonError> {
        let mut lexer = Lexer::new(text);
        let n = lexer.number()?;
        assert_eq!(lexer.pos(), text.len(), "{text} not fully read");
        Ok(n)
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        assert!(matches!(string(r#""abc""#), Ok(Cow::Borrowed("abc"))));
        assert!(matches!(string(r#""""#), Ok(Cow::Borrowed(""))));
        assert_eq!(
            string(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\u20AC\ud83d\ude00z""#).unwrap(),
            "a\"b\\c/d\u{8}\u{c}\n\r\té€😀z"
        );
        assert!(matches!(string(r#""\u0041""#), Ok(Cow::Owned(s)) if s == "A"));
    }

    #[test]
    fn malformed_strings() {
        assert_eq!(
            string(r#""abc"#),
            Err(JsonError::UnterminatedString { offset: 0 })
        );
        assert_eq!(
            string(r#""a\"#),
            Err(JsonError::InvalidEscape { offset: 2 })
        );
        assert_eq!(
            string("\"a\u{1}\""),
            Err(JsonError::ControlCharacter { offset: 2 })
        );
        assert_eq!(
            string(r#""\x""#),
            Err(JsonError::InvalidEscape { offset: 1 })
        );
        assert_eq!(
            string(r#""\u12""#),
            Err(JsonError::InvalidEscape { offset: 1 })
        );
        assert_eq!(
            string(r#""\u12g4""#),
            Err(JsonError::InvalidEscape { offset: 1 })
        );
        assert_eq!(
            string(r#""\ud83d""#),
            Err(JsonError::InvalidEscape { offset: 1 })
        );
        assert_eq!(
            string(r#""\ud83d\u0041""#),
            Err(JsonError::InvalidEscape { offset: 1 })
        );
        assert_eq!(
            string(r#""\ude00""#),
            Err(JsonError::InvalidEscape { offset: 1 })
        );
        assert_eq!(
            string("\"\\n\u{1}\""),
            Err(JsonError::ControlCharacter { offset: 3 })
        );
        assert_eq!(
            string("\"\\n"),
            Err(JsonError::UnterminatedString { offset: 0 })
        );
    }

    #[test]
    fn numbers_keep_integers_exact() {
        assert_eq!(number("0"), Ok(Number::Integer(0)));
        assert_eq!(number("-0"), Ok(Number::Integer(0)));
        assert_eq!(number("9223372036854775807"), Ok(Number::Integer(i64::MAX)));
        assert_eq!(
            number("-9223372036854775808"),
            Ok(Number::Integer(i64::MIN))
        );
        assert_eq!(
            number("9223372036854775808"),
            Ok(Number::Float(9_223_372_036_854_775_808.0))
        );
        assert_eq!(
            number("-9223372036854775809"),
            Ok(Number::Float(-9.223_372_036_854_776e18))
        );
        assert_eq!(
            number("123456789012345678901234567890"),
            Ok(Number::Float(1.234_567_890_123_456_8e29))
        );
        assert_eq!(number("22.4"), Ok(Number::Float(22.4)));
        assert_eq!(number("-1.25"), Ok(Number::Float(-1.25)));
        assert_eq!(number("1.0"), Ok(Number::Float(1.0)));
        assert_eq!(number("1E3"), Ok(Number::Float(1000.0)));
        assert_eq!(number("5e-324"), Ok(Number::Float(5e-324)));
        assert_eq!(number("-0.0"), Ok(Number::Float(-0.0)));
    }

    #[test]
    fn malformed_numbers() {
        for bad in ["-", "+1", ".5", "1.", "1e", "1e+", "-a"] {
            assert_eq!(
                Lexer::new(bad).number(),
                Err(JsonError::InvalidNumber { offset: 0 }),
                "{bad}"
            );
        }
        assert_eq!(
            number("1e400"),
            Err(JsonError::NumberOutOfRange { offset: 0 })
        );
        // A leading zero ends the number; the reader then fails on the next character.
        let mut lexer = Lexer::new("01");
        assert_eq!(lexer.number(), Ok(Number::Integer(0)));
        assert_eq!(lexer.pos(), 1);
    }

    #[test]
    fn skipping_checks_and_bounds_nesting() {
        let mut lexer = Lexer::new(r#" {"a":[1,2.5,{"b":null,"c":[true,false,"x"]}],"d":{}} "#);
        assert_eq!(lexer.skip_value(), Ok(()));
        assert_eq!(lexer.end(), Ok(()));
        let deep = "[".repeat(65) + &"]".repeat(65);
        assert_eq!(
            Lexer::new(&deep).skip_value(),
            Err(JsonError::NestingTooDeep { offset: 64 })
        );
        let ok = "[".repeat(64) + &"]".repeat(64);
        assert_eq!(Lexer::new(&ok).skip_value(), Ok(()));
        assert_eq!(
            Lexer::new("[1,]").skip_value(),
            Err(JsonError::Syntax {
                offset: 3,
                expected: "a JSON value"
            })
        );
        assert_eq!(
            Lexer::new("{\"a\" 1}").skip_value(),
            Err(JsonError::Syntax {
                offset: 5,
                expected: "':' after a key"
            })
        );
        assert_eq!(
            Lexer::new("[1 2]").skip_value(),
            Err(JsonError::Syntax {
                offset: 3,
                expected: "',' or ']' after an array element"
            })
        );
        assert_eq!(
            Lexer::new("nul").skip_value(),
            Err(JsonError::Syntax {
                offset: 0,
                expected: "a JSON value"
            })
        );
        assert_eq!(
            Lexer::new("[").skip_value(),
            Err(JsonError::UnexpectedEnd {
                expected: "a JSON value"
            })
        );
    }
}
