//! Attribute values: borrowed raw, unescaped and converted only on request.

use alloc::borrow::Cow;
use alloc::string::String;
use core::str::FromStr;

/// The value of a link attribute, exactly as written.
///
/// LwM2M peers write the same value quoted or not (`ver="1.1"` and `ver=1.1`), so comparisons
/// and conversions look at the content and ignore the quoting:
///
/// ```
/// use lwm2m_codec::link::AttrValue;
/// assert_eq!(AttrValue::Quoted("1.1"), AttrValue::Token("1.1"));
/// assert_eq!(AttrValue::Quoted(r#"a\"b"#).unescaped(), "a\"b");
/// assert_eq!(AttrValue::Token("60").as_u32(), Ok(60));
/// assert_eq!(AttrValue::Quoted("42.2").as_f64(), Ok(42.2));
/// ```
#[derive(Debug, Clone, Copy, Eq)]
pub enum AttrValue<'a> {
    /// An unquoted `ptoken` such as `60`, `42.2` or `11543`.
    Token(&'a str),
    /// The text between the quotes of a quoted string, with its `\` escapes still in place.
    Quoted(&'a str),
}

impl<'a> AttrValue<'a> {
    /// The text as written: a token, or the inside of the quotes with escapes intact.
    #[inline]
    pub fn raw(&self) -> &'a str {
        match *self {
            AttrValue::Token(s) | AttrValue::Quoted(s) => s,
        }
    }

    /// Whether the value was written in quotes.
    #[inline]
    pub fn is_quoted(&self) -> bool {
        matches!(self, AttrValue::Quoted(_))
    }

    /// The content as a borrowed string, or `None` if it holds `\` escapes (then use
    /// [`AttrValue::unescaped`]). Every value LwM2M defines is escape-free.
    #[inline]
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            AttrValue::Token(s) => Some(s),
            AttrValue::Quoted(s) if !s.contains('\\') => Some(s),
            AttrValue::Quoted(_) => None,
        }
    }

    /// The content with escapes resolved; allocates only if there is a `\`.
    pub fn unescaped(&self) -> Cow<'a, str> {
        match self.as_str() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(self.chars().collect::<String>()),
        }
    }

    /// The characters of the content with escapes resolved, without allocating.
    pub fn chars(&self) -> Unescaped<'a> {
        Unescaped {
            chars: self.raw().chars(),
            quoted: self.is_quoted(),
        }
    }

    /// Whether the content equals `text` (escapes resolved, quoting ignored).
    pub fn eq_str(&self, text: &str) -> bool {
        match self.as_str() {
            Some(s) => s == text,
            None => self.chars().eq(text.chars()),
        }
    }

    /// The content as an unsigned decimal integer 0-65535 (e.g. `ct`, `ssid`, `dim`).
    pub fn as_u16(&self) -> Result<u16, AttrValueError> {
        u16::try_from(self.as_u64()?).map_err(|_| AttrValueError::OutOfRange)
    }

    /// The content as an unsigned decimal integer that fits 32 bits (e.g. `pmin`, `pmax`).
    pub fn as_u32(&self) -> Result<u32, AttrValueError> {
        u32::try_from(self.as_u64()?).map_err(|_| AttrValueError::OutOfRange)
    }

    /// The content as an unsigned decimal integer (digits only, no sign).
    pub fn as_u64(&self) -> Result<u64, AttrValueError> {
        let text = self.as_str().ok_or(AttrValueError::NotAnInteger)?;
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AttrValueError::NotAnInteger);
        }
        u64::from_str(text).map_err(|_| AttrValueError::OutOfRange)
    }

    /// The content as a decimal number (e.g. `gt`, `lt`, `st`): `-?digits[.digits][e[+-]digits]`.
    /// `inf`, `NaN` and other spellings Rust's float parser would take are refused.
    pub fn as_f64(&self) -> Result<f64, AttrValueError> {
        let text = self.as_str().ok_or(AttrValueError::NotANumber)?;
        if !is_decimal_number(text) {
            return Err(AttrValueError::NotANumber);
        }
        let value = f64::from_str(text).map_err(|_| AttrValueError::NotANumber)?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(AttrValueError::OutOfRange)
        }
    }
}

impl PartialEq for AttrValue<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self.as_str(), other.as_str()) {
            (Some(a), Some(b)) => a == b,
            _ => self.chars().eq(other.chars()),
        }
    }
}

impl PartialEq<str> for AttrValue<'_> {
    fn eq(&self, other: &str) -> bool {
        self.eq_str(other)
    }
}

impl PartialEq<&str> for AttrValue<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.eq_str(other)
    }
}

fn is_decimal_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == bytes.len()
}

/// The characters of an attribute value with `\x` quoted-pairs resolved to `x`.
#[derive(Debug, Clone)]
pub struct Unescaped<'a> {
    chars: core::str::Chars<'a>,
    quoted: bool,
}

impl Iterator for Unescaped<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        match self.chars.next()? {
            // A well-formed quoted string never ends in a lone backslash; keep it if it does.
            '\\' if self.quoted => Some(self.chars.next().unwrap_or('\\')),
            c => Some(c),
        }
    }
}

/// Why an attribute value is not the number asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttrValueError {
    /// Not a plain unsigned decimal integer.
    #[error("the attribute value is not an unsigned decimal integer")]
    NotAnInteger,
    /// Not a decimal number.
    #[error("the attribute value is not a decimal number")]
    NotANumber,
    /// A number too large for the requested type.
    #[error("the attribute value is out of range")]
    OutOfRange,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(AttrValue::Token("65535").as_u16(), Ok(65535));
        assert_eq!(
            AttrValue::Token("65536").as_u16(),
            Err(AttrValueError::OutOfRange)
        );
        assert_eq!(
            AttrValue::Token("99999999999999999999").as_u64(),
            Err(AttrValueError::OutOfRange)
        );
        assert_eq!(
            AttrValue::Token("-1").as_u32(),
            Err(AttrValueError::NotAnInteger)
        );
        assert_eq!(
            AttrValue::Token("").as_u32(),
            Err(AttrValueError::NotAnInteger)
        );
        assert_eq!(
            AttrValue::Quoted("1\\0").as_u32(),
            Err(AttrValueError::NotAnInteger)
        );
        assert_eq!(AttrValue::Token("-0.5").as_f64(), Ok(-0.5));
        assert_eq!(AttrValue::Token("1e3").as_f64(), Ok(1000.0));
        assert_eq!(
            AttrValue::Token("1e999").as_f64(),
            Err(AttrValueError::OutOfRange)
        );
        for bad in [
            "inf", "NaN", "+1", ".5", "5.", "1e", "1e+", "--1", "0x10", "1.2.3", "",
        ] {
            assert_eq!(
                AttrValue::Token(bad).as_f64(),
                Err(AttrValueError::NotANumber),
                "{bad}"
            );
        }
    }

    #[test]
    fn escapes_and_equality() {
        let v = AttrValue::Quoted(r"x\,y\\z");
        assert_eq!(v.as_str(), None);
        assert_eq!(v.unescaped(), "x,y\\z");
        assert!(v.eq_str("x,y\\z"));
        assert_eq!(v, AttrValue::Token("x,y\\z"));
        assert_ne!(AttrValue::Quoted("1.1"), AttrValue::Token("1.0"));
        // A backslash in a token is an ordinary character.
        assert_eq!(AttrValue::Token(r"a\b").unescaped(), r"a\b");
        assert!(matches!(
            AttrValue::Quoted("1.0").unescaped(),
            Cow::Borrowed("1.0")
        ));
    }
}
