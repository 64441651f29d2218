//! The RFC 6690 grammar, as one cursor both the validating pass and the iterators use.
//!
//! Validation and iteration run the same code: [`super::LinkFormat::parse`] drives [`next_entry`]
//! to the end and reports the first error; the iterators drive it again over known-good text, so
//! the error arms there are unreachable and simply end the iteration.

use super::{AttrValue, Attribute, Entry, Link, LinkError};

/// A byte position in the text being parsed. Every position the cursor stops at is next to an
/// ASCII byte, so slicing the `&str` there is always on a character boundary.
#[derive(Clone, Copy)]
pub(super) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    #[inline]
    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.text.get(start..end).unwrap_or_default()
    }

    /// Skips the white space the TS examples put after commas (and some peers around `;`).
    #[inline]
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
    }

    /// Advances over bytes matching `allowed` and returns how many there were.
    #[inline]
    fn take_while(&mut self, allowed: fn(u8) -> bool) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(allowed) {
            self.pos += 1;
        }
        self.pos - start
    }
}

const NAME: u8 = 1;
const TOKEN: u8 = 2;
const TARGET: u8 = 4;

/// Character classes by byte, built at compile time: the grammar checks every byte of a payload
/// against one of these sets, and a table lookup beats scanning a list of punctuation.
static CLASSES: [u8; 256] = {
    const fn set(table: &mut [u8; 256], chars: &[u8], class: u8) {
        let mut i = 0;
        while i < chars.len() {
            table[chars[i] as usize] |= class;
            i += 1;
        }
    }
    let mut table = [0_u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            table[b] = NAME | TOKEN;
        }
        // Printable ASCII except those a URI-reference never holds unescaped and that would
        // confuse a reader (`<`, `>`, `"`); space and controls are excluded by the range.
        if c >= 0x21 && c <= 0x7E && c != b'<' && c != b'>' && c != b'"' {
            table[b] |= TARGET;
        }
        b += 1;
    }
    // `parmname`: RFC 8288 token characters, plus `*` for the `title*` style of RFC 8187.
    set(&mut table, b"!#$&+-.^_`|~*", NAME);
    // `ptokenchar` of RFC 6690: the characters of an unquoted attribute value.
    set(&mut table, b"!#$%&'()*+-./:<=>?@[]^_`{|}~", TOKEN);
    table
};

/// Whether `b` may appear in an attribute name.
#[inline]
pub(super) fn is_name_char(b: u8) -> bool {
    CLASSES[usize::from(b)] & NAME != 0
}

/// Whether `b` may appear in an unquoted attribute value.
#[inline]
pub(super) fn is_token_char(b: u8) -> bool {
    CLASSES[usize::from(b)] & TOKEN != 0
}

/// Whether `b` may appear between `<` and `>`.
#[inline]
pub(super) fn is_target_char(b: u8) -> bool {
    CLASSES[usize::from(b)] & TARGET != 0
}

/// Reads the next entry. `first` is true before the first entry (no comma expected), `bare_ok`
/// while no link has been seen (the LwM2M 1.0 `lwm2m="1.0"` item may only lead the list).
/// Returns `None` at the end of the text.
pub(super) fn next_entry<'a>(
    cursor: &mut Cursor<'a>,
    first: bool,
    bare_ok: bool,
) -> Result<Option<Entry<'a>>, LinkError> {
    cursor.skip_ws();
    let Some(byte) = cursor.peek() else {
        return Ok(None);
    };
    if !first {
        if byte != b',' {
            return Err(LinkError::GarbageAfterLink { offset: cursor.pos });
        }
        cursor.pos += 1;
        cursor.skip_ws();
    }
    match cursor.peek() {
        Some(b'<') => link(cursor).map(|l| Some(Entry::Link(l))),
        Some(b) if bare_ok && is_name_char(b) => {
            attribute(cursor).map(|a| Some(Entry::Attribute(a)))
        }
        _ => Err(LinkError::ExpectedLink { offset: cursor.pos }),
    }
}

fn link<'a>(cursor: &mut Cursor<'a>) -> Result<Link<'a>, LinkError> {
    let open = cursor.pos;
    cursor.pos += 1;
    cursor.take_while(is_target_char);
    let target = cursor.slice(open + 1, cursor.pos);
    match cursor.peek() {
        Some(b'>') => {}
        None => return Err(LinkError::UnterminatedTarget { offset: open }),
        Some(_) => return Err(LinkError::InvalidTargetCharacter { offset: cursor.pos }),
    }
    if target.is_empty() {
        return Err(LinkError::EmptyTarget { offset: open });
    }
    cursor.pos += 1;
    let params_start = cursor.pos;
    while next_attribute(cursor)?.is_some() {}
    Ok(Link {
        target,
        params: cursor.slice(params_start, cursor.pos),
    })
}

/// Reads `;name[=value]` if the next non-blank character is `;`; otherwise leaves the cursor
/// where it was (before any white space) and returns `None`.
pub(super) fn next_attribute<'a>(
    cursor: &mut Cursor<'a>,
) -> Result<Option<Attribute<'a>>, LinkError> {
    let before = cursor.pos;
    cursor.skip_ws();
    if cursor.peek() != Some(b';') {
        cursor.pos = before;
        return Ok(None);
    }
    cursor.pos += 1;
    cursor.skip_ws();
    attribute(cursor).map(Some)
}

fn attribute<'a>(cursor: &mut Cursor<'a>) -> Result<Attribute<'a>, LinkError> {
    let start = cursor.pos;
    if cursor.take_while(is_name_char) == 0 {
        return Err(LinkError::BadAttributeName { offset: start });
    }
    let name = cursor.slice(start, cursor.pos);
    if cursor.peek() != Some(b'=') {
        return Ok(Attribute { name, value: None });
    }
    cursor.pos += 1;
    let value_start = cursor.pos;
    let value = if cursor.peek() == Some(b'"') {
        cursor.pos += 1;
        loop {
            match cursor.peek() {
                Some(b'"') => break,
                // A quoted-pair: the next byte is literal, whatever it is.
                Some(b'\\') if cursor.pos + 1 < cursor.text.len() => cursor.pos += 2,
                Some(_) => cursor.pos += 1,
                None => {
                    return Err(LinkError::UnterminatedQuotedString {
                        offset: value_start,
                    })
                }
            }
        }
        let raw = cursor.slice(value_start + 1, cursor.pos);
        cursor.pos += 1;
        AttrValue::Quoted(raw)
    } else {
        if cursor.take_while(is_token_char) == 0 {
            return Err(LinkError::InvalidAttributeValue {
                offset: value_start,
            });
        }
        AttrValue::Token(cursor.slice(value_start, cursor.pos))
    };
    Ok(Attribute {
        name,
        value: Some(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_classes_match_the_rfc_sets() {
        for b in 0..=255_u8 {
            let alnum = b.is_ascii_alphanumeric();
            assert_eq!(
                is_name_char(b),
                alnum || b"!#$&+-.^_`|~*".contains(&b),
                "{b}"
            );
            assert_eq!(
                is_token_char(b),
                alnum || b"!#$%&'()*+-./:<=>?@[]^_`{|}~".contains(&b),
                "{b}"
            );
            assert_eq!(
                is_target_char(b),
                (0x21..=0x7E).contains(&b) && !b"<>\"".contains(&b),
                "{b}"
            );
        }
    }
}
