//! The link-format writer: Register payloads, Discover and Bootstrap-Discover answers.

use bytes::BufMut;
use core::fmt::Write as _;

use super::grammar::{is_name_char, is_target_char, is_token_char};
use super::{AttrValue, Entry};

/// Why a link list could not be written. Every check runs before anything of the item is
/// written, except [`LinkWriteError::BufferFull`], which can leave a partial item behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkWriteError {
    /// The output buffer has no room left (only fixed-size buffers run out).
    #[error("the output buffer is full (needed {needed} more bytes, {remaining} left)")]
    BufferFull {
        /// Bytes the writer tried to add.
        needed: usize,
        /// Bytes the buffer still had room for.
        remaining: usize,
    },
    /// An empty link target.
    #[error("a link target cannot be empty")]
    EmptyTarget,
    /// A link target with a character a target cannot hold (space, `<`, `>`, `"`, non-ASCII).
    #[error("byte {offset} of the link target cannot appear in a link target")]
    InvalidTarget {
        /// The offending character, counted in the target.
        offset: usize,
    },
    /// An attribute name that is empty or has a character outside the RFC 6690 `parmname` set.
    #[error("invalid attribute name")]
    InvalidName,
    /// A value written as a token that is empty or has a character outside `ptokenchar`.
    #[error("the attribute value is not a valid unquoted token")]
    InvalidToken,
    /// A raw quoted value with an unescaped `"` or a trailing lone `\`.
    #[error("the raw quoted attribute value has an unescaped '\"' or ends with a lone '\\'")]
    InvalidQuoted,
    /// A float that is NaN or infinite.
    #[error("an attribute value cannot be NaN or infinite")]
    NonFiniteNumber,
    /// An attribute before any link or bare item it could belong to.
    #[error("an attribute must follow a link")]
    NoLink,
    /// A bare `name=value` item after a link (they may only lead the list).
    #[error("a bare attribute item may only come before the first link")]
    BareAttributeAfterLink,
}

/// Writes a link-format list, one link or bare item at a time, straight into `out`.
///
/// Values LwM2M defines as strings (`rt`, `ver`, `lwm2m`) are quoted, numbers are not; floats
/// print in their shortest form without a trailing `.0` (`gt=50`, `lt=42.2`).
///
/// ```
/// use lwm2m_codec::link::LinkWriter;
/// let mut out = Vec::new();
/// let mut w = LinkWriter::new(&mut out);
/// w.link("/3/0/7")?.dim(8)?.pmin(10)?.pmax(60)?.gt(50.0)?.lt(42.2)?;
/// assert_eq!(out, b"</3/0/7>;dim=8;pmin=10;pmax=60;gt=50;lt=42.2");
///
/// let mut out = Vec::new();
/// let mut w = LinkWriter::new(&mut out);
/// w.lwm2m_version("1.0")?;
/// w.link_path("", &[0, 0])?.ssid(101)?;
/// w.link_path("", &[0, 1])?;
/// assert_eq!(out, br#"lwm2m="1.0",</0/0>;ssid=101,</0/1>"#);
/// # Ok::<(), lwm2m_codec::link::LinkWriteError>(())
/// ```
pub struct LinkWriter<'b, B: BufMut> {
    out: &'b mut B,
    items: usize,
    seen_link: bool,
}

impl<'b, B: BufMut> LinkWriter<'b, B> {
    /// A writer appending to `out`.
    pub fn new(out: &'b mut B) -> Self {
        LinkWriter {
            out,
            items: 0,
            seen_link: false,
        }
    }

    /// How many items (links and bare attributes) have been written.
    pub fn len(&self) -> usize {
        self.items
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// Starts a link `<target>`; attribute calls that follow belong to it.
    pub fn link(&mut self, target: &str) -> Result<&mut Self, LinkWriteError> {
        if target.is_empty() {
            return Err(LinkWriteError::EmptyTarget);
        }
        if let Some(offset) = target.bytes().position(|b| !is_target_char(b)) {
            return Err(LinkWriteError::InvalidTarget { offset });
        }
        self.separator()?;
        self.put(b"<")?;
        self.put(target.as_bytes())?;
        self.put(b">")?;
        self.seen_link = true;
        Ok(self)
    }

    /// Starts a link to an LwM2M path, `</root/o/i/...>`. `root` is an alternate root path such
    /// as `/lwm2m`, or `""` for none; no ids gives the root link itself (`</>` or `</lwm2m>`).
    pub fn link_path(&mut self, root: &str, ids: &[u16]) -> Result<&mut Self, LinkWriteError> {
        let root = root.strip_suffix('/').unwrap_or(root);
        if let Some(offset) = root.bytes().position(|b| !is_target_char(b)) {
            return Err(LinkWriteError::InvalidTarget { offset });
        }
        self.separator()?;
        self.put(b"<")?;
        self.put(root.as_bytes())?;
        if ids.is_empty() && root.is_empty() {
            self.put(b"/")?;
        }
        for &id in ids {
            self.put(b"/")?;
            self.put(DecimalText::new(u64::from(id)).as_bytes())?;
        }
        self.put(b">")?;
        self.seen_link = true;
        Ok(self)
    }

    /// Writes a bare `name[=value]` item (only before the first link).
    pub fn bare_attribute(
        &mut self,
        name: &str,
        value: Option<AttrValue<'_>>,
    ) -> Result<&mut Self, LinkWriteError> {
        if self.seen_link {
            return Err(LinkWriteError::BareAttributeAfterLink);
        }
        check_name(name)?;
        check_value(value)?;
        self.separator()?;
        self.name_value(name, value)?;
        Ok(self)
    }

    /// The LwM2M 1.0 Bootstrap-Discover version item, `lwm2m="1.0"`.
    pub fn lwm2m_version(&mut self, version: &str) -> Result<&mut Self, LinkWriteError> {
        if self.seen_link {
            return Err(LinkWriteError::BareAttributeAfterLink);
        }
        self.separator()?;
        self.put(b"lwm2m=")?;
        self.quoted(version)?;
        Ok(self)
    }

    /// Writes an entry read from another list, keeping values exactly as they were written.
    pub fn entry(&mut self, entry: &Entry<'_>) -> Result<&mut Self, LinkWriteError> {
        match entry {
            Entry::Attribute(a) => self.bare_attribute(a.name, a.value),
            Entry::Link(link) => {
                self.link(link.target())?;
                for a in link.attributes() {
                    self.attribute(a.name, a.value)?;
                }
                Ok(self)
            }
        }
    }

    /// Adds `;name` or `;name=value` to the current link, writing the value as given (a token
    /// bare, a quoted value between quotes with its escapes).
    pub fn attribute(
        &mut self,
        name: &str,
        value: Option<AttrValue<'_>>,
    ) -> Result<&mut Self, LinkWriteError> {
        self.check_in_link()?;
        check_name(name)?;
        check_value(value)?;
        self.put(b";")?;
        self.name_value(name, value)?;
        Ok(self)
    }

    /// Adds `;name=text`, quoting (and escaping) the text only if it is not a valid token.
    pub fn attribute_text(&mut self, name: &str, text: &str) -> Result<&mut Self, LinkWriteError> {
        if !text.is_empty() && text.bytes().all(is_token_char) {
            return self.attribute(name, Some(AttrValue::Token(text)));
        }
        self.attribute_quoted(name, text)
    }

    /// Adds `;name="text"`, escaping `"` and `\`.
    pub fn attribute_quoted(
        &mut self,
        name: &str,
        text: &str,
    ) -> Result<&mut Self, LinkWriteError> {
        self.check_in_link()?;
        check_name(name)?;
        self.put(b";")?;
        self.put(name.as_bytes())?;
        self.put(b"=")?;
        self.quoted(text)?;
        Ok(self)
    }

    /// Adds `;name=<unsigned integer>`.
    pub fn attribute_uint(&mut self, name: &str, value: u64) -> Result<&mut Self, LinkWriteError> {
        self.check_in_link()?;
        check_name(name)?;
        self.put(b";")?;
        self.put(name.as_bytes())?;
        self.put(b"=")?;
        self.put(DecimalText::new(value).as_bytes())?;
        Ok(self)
    }

    /// Adds `;name=<number>` in the shortest decimal form that reads back to the same `f64`,
    /// without exponent and without a trailing `.0`.
    pub fn attribute_float(&mut self, name: &str, value: f64) -> Result<&mut Self, LinkWriteError> {
        self.check_in_link()?;
        check_name(name)?;
        if !value.is_finite() {
            return Err(LinkWriteError::NonFiniteNumber);
        }
        self.put(b";")?;
        self.put(name.as_bytes())?;
        self.put(b"=")?;
        let mut sink = Sink {
            writer: &mut *self,
            error: None,
        };
        // `Display` for f64 is the shortest round-trip form; only a full buffer can fail.
        if write!(sink, "{value}").is_err() {
            return Err(sink.error.unwrap_or(LinkWriteError::NonFiniteNumber));
        }
        Ok(self)
    }

    /// `;ct=<content format>`.
    pub fn ct(&mut self, content_format: u16) -> Result<&mut Self, LinkWriteError> {
        self.attribute_uint("ct", content_format.into())
    }

    /// `;rt="<resource type>"` (always quoted, as in `rt="oma.lwm2m"`).
    pub fn rt(&mut self, resource_type: &str) -> Result<&mut Self, LinkWriteError> {
        self.attribute_quoted("rt", resource_type)
    }

    /// `;ver="<object version>"` (quoted, the LwM2M 1.0 style).
    pub fn ver(&mut self, version: &str) -> Result<&mut Self, LinkWriteError> {
        self.attribute_quoted("ver", version)
    }

    /// `;dim=<number of resource instances>`.
    pub fn dim(&mut self, dimension: u16) -> Result<&mut Self, LinkWriteError> {
        self.attribute_uint("dim", dimension.into())
    }

    /// `;pmin=<seconds>`.
    pub fn pmin(&mut self, seconds: u32) -> Result<&mut Self, LinkWriteError> {
        self.attribute_uint("pmin", seconds.into())
    }

    /// `;pmax=<seconds>`.
    pub fn pmax(&mut self, seconds: u32) -> Result<&mut Self, LinkWriteError> {
        self.attribute_uint("pmax", seconds.into())
    }

    /// `;gt=<number>`.
    pub fn gt(&mut self, value: f64) -> Result<&mut Self, LinkWriteError> {
        self.attribute_float("gt", value)
    }

    /// `;lt=<number>`.
    pub fn lt(&mut self, value: f64) -> Result<&mut Self, LinkWriteError> {
        self.attribute_float("lt", value)
    }

    /// `;st=<number>`.
    pub fn st(&mut self, value: f64) -> Result<&mut Self, LinkWriteError> {
        self.attribute_float("st", value)
    }

    /// `;ssid=<short server id>`.
    pub fn ssid(&mut self, short_server_id: u16) -> Result<&mut Self, LinkWriteError> {
        self.attribute_uint("ssid", short_server_id.into())
    }

    fn check_in_link(&self) -> Result<(), LinkWriteError> {
        if self.seen_link {
            Ok(())
        } else {
            Err(LinkWriteError::NoLink)
        }
    }

    fn separator(&mut self) -> Result<(), LinkWriteError> {
        if self.items > 0 {
            self.put(b",")?;
        }
        self.items += 1;
        Ok(())
    }

    fn name_value(
        &mut self,
        name: &str,
        value: Option<AttrValue<'_>>,
    ) -> Result<(), LinkWriteError> {
        self.put(name.as_bytes())?;
        match value {
            None => Ok(()),
            Some(AttrValue::Token(token)) => {
                self.put(b"=")?;
                self.put(token.as_bytes())
            }
            Some(AttrValue::Quoted(raw)) => {
                self.put(b"=\"")?;
                self.put(raw.as_bytes())?;
                self.put(b"\"")
            }
        }
    }

    fn quoted(&mut self, text: &str) -> Result<(), LinkWriteError> {
        self.put(b"\"")?;
        let mut rest = text;
        while let Some(i) = rest.find(['"', '\\']) {
            let (plain, tail) = rest.split_at(i);
            self.put(plain.as_bytes())?;
            self.put(b"\\")?;
            // `tail` starts with the ASCII quote or backslash just found.
            self.put(tail.get(..1).unwrap_or_default().as_bytes())?;
            rest = tail.get(1..).unwrap_or_default();
        }
        self.put(rest.as_bytes())?;
        self.put(b"\"")
    }

    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), LinkWriteError> {
        let remaining = self.out.remaining_mut();
        if remaining < bytes.len() {
            return Err(LinkWriteError::BufferFull {
                needed: bytes.len(),
                remaining,
            });
        }
        self.out.put_slice(bytes);
        Ok(())
    }
}

fn check_name(name: &str) -> Result<(), LinkWriteError> {
    if name.is_empty() || !name.bytes().all(is_name_char) {
        return Err(LinkWriteError::InvalidName);
    }
    Ok(())
}

fn check_value(value: Option<AttrValue<'_>>) -> Result<(), LinkWriteError> {
    match value {
        None => Ok(()),
        Some(AttrValue::Token(t)) if !t.is_empty() && t.bytes().all(is_token_char) => Ok(()),
        Some(AttrValue::Token(_)) => Err(LinkWriteError::InvalidToken),
        Some(AttrValue::Quoted(raw)) => {
            let mut bytes = raw.bytes();
            while let Some(b) = bytes.next() {
                match b {
                    b'"' => return Err(LinkWriteError::InvalidQuoted),
                    b'\\' if bytes.next().is_none() => return Err(LinkWriteError::InvalidQuoted),
                    _ => {}
                }
            }
            Ok(())
        }
    }
}

/// Adapts the writer to `core::fmt::Write` for float formatting, remembering a full buffer.
struct Sink<'w, 'b, B: BufMut> {
    writer: &'w mut LinkWriter<'b, B>,
    error: Option<LinkWriteError>,
}

impl<B: BufMut> core::fmt::Write for Sink<'_, '_, B> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.writer.put(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            core::fmt::Error
        })
    }
}

/// An unsigned integer in decimal, on the stack.
struct DecimalText {
    digits: [u8; 20],
    start: usize,
}

impl DecimalText {
    fn new(mut value: u64) -> Self {
        let mut text = DecimalText {
            digits: [0; 20],
            start: 20,
        };
        loop {
            text.start -= 1;
            if let Some(slot) = text.digits.get_mut(text.start) {
                *slot = b'0' + (value % 10) as u8;
            }
            value /= 10;
            if value == 0 || text.start == 0 {
                return text;
            }
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.digits.get(self.start..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn decimal_text() {
        assert_eq!(DecimalText::new(0).as_bytes(), b"0");
        assert_eq!(
            DecimalText::new(u64::MAX).as_bytes(),
            b"18446744073709551615"
        );
    }

    #[test]
    fn floats_have_no_trailing_zero() {
        let mut out = Vec::new();
        let mut w = LinkWriter::new(&mut out);
        w.link("/1/0/5")
            .unwrap()
            .gt(50.0)
            .unwrap()
            .lt(-0.5)
            .unwrap()
            .st(1e-7)
            .unwrap();
        assert_eq!(out, b"</1/0/5>;gt=50;lt=-0.5;st=0.0000001");
    }

    #[test]
    fn misuse_is_refused_before_writing() {
        let mut out = Vec::new();
        let mut w = LinkWriter::new(&mut out);
        assert_eq!(w.pmin(1).err(), Some(LinkWriteError::NoLink));
        assert_eq!(w.link("").err(), Some(LinkWriteError::EmptyTarget));
        assert_eq!(
            w.link("/a b").err(),
            Some(LinkWriteError::InvalidTarget { offset: 2 })
        );
        w.link("/1").unwrap();
        assert_eq!(w.gt(f64::NAN).err(), Some(LinkWriteError::NonFiniteNumber));
        assert_eq!(
            w.attribute("a;b", None).err(),
            Some(LinkWriteError::InvalidName)
        );
        assert_eq!(
            w.attribute("a", Some(AttrValue::Token("x,y"))).err(),
            Some(LinkWriteError::InvalidToken)
        );
        assert_eq!(
            w.attribute("a", Some(AttrValue::Quoted("x\"y"))).err(),
            Some(LinkWriteError::InvalidQuoted)
        );
        assert_eq!(
            w.attribute("a", Some(AttrValue::Quoted("x\\"))).err(),
            Some(LinkWriteError::InvalidQuoted)
        );
        assert_eq!(
            w.bare_attribute("lwm2m", None).err(),
            Some(LinkWriteError::BareAttributeAfterLink)
        );
        assert_eq!(out, b"</1>");
    }

    #[test]
    fn text_is_quoted_only_when_needed() {
        let mut out = Vec::new();
        let mut w = LinkWriter::new(&mut out);
        w.link_path("/lwm2m/", &[])
            .unwrap()
            .attribute_text("a", "plain")
            .unwrap()
            .attribute_text("b", "x,y \"q\" \\")
            .unwrap()
            .attribute_text("c", "")
            .unwrap();
        w.link_path("", &[]).unwrap();
        assert_eq!(
            core::str::from_utf8(&out).unwrap(),
            r#"</lwm2m>;a=plain;b="x,y \"q\" \\";c="",</>"#
        );
    }

    #[test]
    fn a_fixed_buffer_fills_without_panicking() {
        let mut storage = [0_u8; 8];
        let mut out: &mut [u8] = &mut storage;
        let mut w = LinkWriter::new(&mut out);
        w.link("/1/0").unwrap();
        assert!(matches!(
            w.gt(12345.678).err(),
            Some(LinkWriteError::BufferFull { .. })
        ));
    }
}
