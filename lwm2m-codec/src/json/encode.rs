//! The deterministic compact writer.
//!
//! Output is a pure function of the input: keys in the order `bn`, `bt`, `e` and, per entry, `n`,
//! the value key, `t`; no whitespace; integers as integers; floats in the shortest text that reads
//! back to the same `f64`, always with a `.` or an exponent so they read back as floats. That is
//! the form of the compact vectors in the test-vector document (Wakaama emits the same bytes).

use bytes::BufMut;
use core::fmt::Write as _;

use super::{Number, Objlnk, Record, Value};

/// Why a document could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The output buffer has no room left (only fixed-size buffers such as `&mut [u8]` run out).
    #[error("the output buffer is full (needed {needed} more bytes, {remaining} left)")]
    BufferFull {
        /// Bytes the writer tried to add.
        needed: usize,
        /// Bytes the buffer still had room for.
        remaining: usize,
    },
    /// A float is NaN or infinite, which JSON cannot express. `entry` is `None` for `bt`.
    #[error("{} is NaN or infinite, which JSON cannot express", match .entry { Some(_) => "an entry's number", None => "the base time" })]
    NonFiniteNumber {
        /// Index of the offending entry in `e`, or `None` when it is the base time.
        entry: Option<usize>,
    },
}

/// A streaming writer: writes the header, then one entry per [`Writer::record`], then
/// [`Writer::finish`] closes the document. Nothing is buffered besides what goes into `out`.
///
/// ```
/// use lwm2m_codec::json::{Number, Value, Writer};
/// let mut out = Vec::new();
/// let mut w = Writer::new(&mut out, Some("/3/0/7/"), None)?;
/// w.record(Some("0"), &Value::Number(Number::Integer(3800)), None)?;
/// w.record(Some("1"), &Value::Number(Number::Integer(5000)), None)?;
/// w.finish()?;
/// assert_eq!(out, br#"{"bn":"/3/0/7/","e":[{"n":"0","v":3800},{"n":"1","v":5000}]}"#);
/// # Ok::<(), lwm2m_codec::json::WriteError>(())
/// ```
pub struct Writer<'b, B: BufMut> {
    out: &'b mut B,
    entries: usize,
}

impl<'b, B: BufMut> Writer<'b, B> {
    /// Starts a document with the optional base name and base time.
    pub fn new(
        out: &'b mut B,
        base_name: Option<&str>,
        base_time: Option<Number>,
    ) -> Result<Self, WriteError> {
        let mut writer = Writer { out, entries: 0 };
        writer.put(b"{")?;
        let mut need_comma = false;
        if let Some(base_name) = base_name {
            writer.put(b"\"bn\":")?;
            writer.string(base_name)?;
            need_comma = true;
        }
        if let Some(base_time) = base_time {
            if need_comma {
                writer.put(b",")?;
            }
            writer.put(b"\"bt\":")?;
            writer.number(base_time, None)?;
            need_comma = true;
        }
        if need_comma {
            writer.put(b",")?;
        }
        writer.put(b"\"e\":[")?;
        Ok(writer)
    }

    /// Appends one entry: optional name, the value, optional time.
    pub fn record(
        &mut self,
        name: Option<&str>,
        value: &Value<'_>,
        time: Option<Number>,
    ) -> Result<&mut Self, WriteError> {
        let index = self.entries;
        self.put(if index == 0 { b"{" } else { b",{" })?;
        if let Some(name) = name {
            self.put(b"\"n\":")?;
            self.string(name)?;
            self.put(b",")?;
        }
        match value {
            Value::Number(n) => {
                self.put(b"\"v\":")?;
                self.number(*n, Some(index))?;
            }
            Value::String(s) => {
                self.put(b"\"sv\":")?;
                self.string(s)?;
            }
            Value::Boolean(b) => {
                self.put(b"\"bv\":")?;
                self.put(if *b { b"true" } else { b"false" })?;
            }
            Value::Objlnk(link) => {
                self.put(b"\"ov\":")?;
                self.objlnk(*link)?;
            }
        }
        if let Some(time) = time {
            self.put(b",\"t\":")?;
            self.number(time, Some(index))?;
        }
        self.put(b"}")?;
        self.entries = index.saturating_add(1);
        Ok(self)
    }

    /// Appends one entry from a [`Record`].
    pub fn write_record(&mut self, record: &Record<'_>) -> Result<&mut Self, WriteError> {
        self.record(record.name.as_deref(), &record.value, record.time)
    }

    /// Closes the entry array and the document.
    pub fn finish(mut self) -> Result<(), WriteError> {
        self.put(b"]}")
    }

    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.reserve_check(bytes.len())?;
        self.out.put_slice(bytes);
        Ok(())
    }

    #[inline]
    fn reserve_check(&self, needed: usize) -> Result<(), WriteError> {
        let remaining = self.out.remaining_mut();
        if remaining < needed {
            return Err(WriteError::BufferFull { needed, remaining });
        }
        Ok(())
    }

    fn number(&mut self, number: Number, entry: Option<usize>) -> Result<(), WriteError> {
        let mut text = NumberText::new();
        match number {
            Number::Integer(i) => text.integer(i),
            Number::Float(f) if f.is_finite() => text.float(f),
            Number::Float(_) => return Err(WriteError::NonFiniteNumber { entry }),
        }
        self.put(text.as_bytes())
    }

    fn objlnk(&mut self, link: Objlnk) -> Result<(), WriteError> {
        let mut text = NumberText::new();
        text.push(b'"');
        text.integer(link.object.into());
        text.push(b':');
        text.integer(link.instance.into());
        text.push(b'"');
        self.put(text.as_bytes())
    }

    fn string(&mut self, s: &str) -> Result<(), WriteError> {
        let bytes = s.as_bytes();
        let needs_escape = |b: &u8| *b < 0x20 || *b == b'"' || *b == b'\\';
        let Some(first) = bytes.iter().position(needs_escape) else {
            // The common case: one copy of the text between the quotes.
            self.reserve_check(bytes.len() + 2)?;
            self.out.put_u8(b'"');
            self.out.put_slice(bytes);
            self.out.put_u8(b'"');
            return Ok(());
        };
        self.put(b"\"")?;
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate().skip(first) {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0C => b"\\f",
                0x00..=0x1F => &[],
                _ => continue,
            };
            self.put(bytes.get(start..i).unwrap_or_default())?;
            if escape.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.put(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xF)],
                ])?;
            } else {
                self.put(escape)?;
            }
            start = i + 1;
        }
        self.put(bytes.get(start..).unwrap_or_default())?;
        self.put(b"\"")
    }
}

/// A stack buffer for one formatted number; 40 bytes hold any `i64` and any `f64` in Rust's
/// shortest debug form (at most 24 characters).
struct NumberText {
    buf: [u8; 40],
    len: usize,
}

impl NumberText {
    fn new() -> Self {
        NumberText {
            buf: [0; 40],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    fn integer(&mut self, value: i64) {
        let mut digits = [0_u8; 20];
        let mut n = value.unsigned_abs();
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if value < 0 {
            self.push(b'-');
        }
        for &d in digits.get(start..).unwrap_or_default() {
            self.push(d);
        }
    }

    /// Rust's `Debug` for `f64` is the shortest round-trip text, keeps `.0` on integral values
    /// and switches to exponent form outside 1e-4..1e16: every output is a valid JSON number.
    fn float(&mut self, value: f64) {
        // Cannot fail: the buffer is larger than the longest output.
        let _ = write!(self, "{value:?}");
    }
}

impl core::fmt::Write for NumberText {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn float_text(f: f64) -> Vec<u8> {
        let mut t = NumberText::new();
        t.float(f);
        t.as_bytes().to_vec()
    }

    #[test]
    fn floats_are_shortest_and_stay_floats() {
        assert_eq!(float_text(22.4), b"22.4");
        assert_eq!(float_text(-1.25), b"-1.25");
        assert_eq!(float_text(1.0), b"1.0");
        assert_eq!(float_text(-0.0), b"-0.0");
        assert_eq!(float_text(1e300), b"1e300");
        assert_eq!(float_text(1.5e-7), b"1.5e-7");
        assert_eq!(float_text(f64::MIN), b"-1.7976931348623157e308");
        assert_eq!(float_text(5e-324), b"5e-324");
    }

    #[test]
    fn integers_cover_the_whole_range() {
        for (i, text) in [
            (0_i64, "0"),
            (-1, "-1"),
            (i64::MAX, "9223372036854775807"),
            (i64::MIN, "-9223372036854775808"),
        ] {
            let mut t = NumberText::new();
            t.integer(i);
            assert_eq!(t.as_bytes(), text.as_bytes());
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out, Some("a\"b\\c\n\u{1}\u{7f}é"), None).unwrap();
        w.record(None, &Value::Boolean(false), None).unwrap();
        w.finish().unwrap();
        assert_eq!(
            core::str::from_utf8(&out).unwrap(),
            "{\"bn\":\"a\\\"b\\\\c\\n\\u0001\u{7f}é\",\"e\":[{\"bv\":false}]}"
        );
    }

    #[test]
    fn a_full_fixed_buffer_is_an_error_not_a_panic() {
        let mut storage = [0_u8; 10];
        let mut out: &mut [u8] = &mut storage;
        let result = Writer::new(&mut out, Some("/3/0/"), None).map(|_| ());
        assert!(matches!(result, Err(WriteError::BufferFull { .. })));
    }

    #[test]
    fn non_finite_numbers_are_refused_with_their_place() {
        let mut out = Vec::new();
        assert!(matches!(
            Writer::new(&mut out, None, Some(Number::Float(f64::NAN))).map(|_| ()),
            Err(WriteError::NonFiniteNumber { entry: None })
        ));
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out, None, None).unwrap();
        w.record(None, &Value::Boolean(true), None).unwrap();
        assert_eq!(
            w.record(None, &Value::Number(Number::Float(f64::INFINITY)), None)
                .map(|_| ()),
            Err(WriteError::NonFiniteNumber { entry: Some(1) })
        );
    }
}
