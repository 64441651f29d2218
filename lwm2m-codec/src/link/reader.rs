//! The zero-copy reader: a validated view and the iterators over it.

use super::grammar::{next_attribute, next_entry, Cursor};
use super::{AttrValue, LinkError, LinkPath, LinkPathError, Segments};

/// A validated link-format payload. Parsing checks the whole text once; iterating afterwards
/// cannot fail and never allocates.
///
/// ```
/// use lwm2m_codec::link::{Entry, LinkFormat};
/// let links = LinkFormat::parse(br#"lwm2m="1.0",</0/0>;ssid=101,</0/1>"#)?;
/// let mut entries = links.entries();
/// let Some(Entry::Attribute(version)) = entries.next() else { panic!() };
/// assert_eq!(version.name, "lwm2m");
/// let Some(Entry::Link(link)) = entries.next() else { panic!() };
/// assert_eq!(link.target(), "/0/0");
/// assert_eq!(link.value("ssid").map(|v| v.as_u16()), Some(Ok(101)));
/// assert_eq!(links.links().count(), 2);
/// # Ok::<(), lwm2m_codec::link::LinkError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkFormat<'a> {
    text: &'a str,
}

impl<'a> LinkFormat<'a> {
    /// Validates a payload (UTF-8, then the link-format grammar). An empty payload is an empty
    /// list.
    pub fn parse(payload: &'a [u8]) -> Result<Self, LinkError> {
        let text = core::str::from_utf8(payload).map_err(|e| LinkError::InvalidUtf8 {
            offset: e.valid_up_to(),
        })?;
        Self::parse_str(text)
    }

    /// Validates link-format text.
    pub fn parse_str(text: &'a str) -> Result<Self, LinkError> {
        let mut cursor = Cursor::new(text);
        let mut first = true;
        let mut seen_link = false;
        while let Some(entry) = next_entry(&mut cursor, first, !seen_link)? {
            first = false;
            seen_link |= matches!(entry, Entry::Link(_));
        }
        Ok(LinkFormat { text })
    }

    /// The whole text.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// Every entry in order: the leading bare attributes (if any), then the links.
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            cursor: Cursor::new(self.text),
            first: true,
            seen_link: false,
            done: false,
        }
    }

    /// The links only.
    pub fn links(&self) -> impl Iterator<Item = Link<'a>> + Clone + 'a {
        self.entries().filter_map(|entry| match entry {
            Entry::Link(link) => Some(link),
            Entry::Attribute(_) => None,
        })
    }

    /// The leading bare item called `name` (an LwM2M 1.0 Bootstrap-Discover answer starts with
    /// `lwm2m="1.0"`).
    pub fn bare_attribute(&self, name: &str) -> Option<Attribute<'a>> {
        self.entries()
            .map_while(|entry| match entry {
                Entry::Attribute(a) => Some(a),
                Entry::Link(_) => None,
            })
            .find(|a| a.name == name)
    }
}

/// One item of a link-format list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    /// `<target>;attributes`.
    Link(Link<'a>),
    /// A bare `name=value` item before the first link. RFC 6690 has no such thing, but an
    /// LwM2M 1.0 Bootstrap-Discover answer starts with `lwm2m="1.0"`.
    Attribute(Attribute<'a>),
}

/// One link: its target and its attributes, both borrowed from the payload.
///
/// Two links are equal when their targets are equal and their attributes are pairwise equal
/// (white space and the quoting of values do not matter).
#[derive(Debug, Clone, Copy, Eq)]
pub struct Link<'a> {
    pub(super) target: &'a str,
    /// The text after `>`: `;name=value` items (already validated).
    pub(super) params: &'a str,
}

impl<'a> Link<'a> {
    /// The URI-reference between `<` and `>`, e.g. `/3/0`.
    #[inline]
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The attributes in order (a name may repeat; RFC 6690 allows that).
    #[inline]
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            cursor: Cursor::new(self.params),
        }
    }

    /// The first attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<Attribute<'a>> {
        self.attributes().find(|a| a.name == name)
    }

    /// The value of the first attribute called `name` (`None` if absent or valueless).
    pub fn value(&self, name: &str) -> Option<AttrValue<'a>> {
        self.attribute(name).and_then(|a| a.value)
    }

    /// Whether the link has an attribute called `name`.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes().any(|a| a.name == name)
    }

    /// The `/`-separated segments of the target.
    #[inline]
    pub fn segments(&self) -> Segments<'a> {
        Segments::new(self.target)
    }

    /// The target as numeric LwM2M ids (the root `</>` has none).
    pub fn path(&self) -> Result<LinkPath, LinkPathError> {
        LinkPath::parse(self.target)
    }

    /// The target as numeric ids under an alternate root path such as `/lwm2m`.
    pub fn path_under(&self, root: &str) -> Result<LinkPath, LinkPathError> {
        LinkPath::parse_under(self.target, root)
    }
}

impl PartialEq for Link<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target && self.attributes().eq(other.attributes())
    }
}

/// One attribute: a name and an optional value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The parameter name, e.g. `pmin`.
    pub name: &'a str,
    /// The value; `None` for a bare name such as `obs`.
    pub value: Option<AttrValue<'a>>,
}

impl<'a> From<Attribute<'a>> for (&'a str, Option<AttrValue<'a>>) {
    fn from(attribute: Attribute<'a>) -> Self {
        (attribute.name, attribute.value)
    }
}

/// Iterator over the entries of a [`LinkFormat`].
#[derive(Clone)]
pub struct Entries<'a> {
    cursor: Cursor<'a>,
    first: bool,
    seen_link: bool,
    done: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        if self.done {
            return None;
        }
        // The text was validated, so an error cannot happen here; ending is the safe answer.
        if let Ok(Some(entry)) = next_entry(&mut self.cursor, self.first, !self.seen_link) {
            self.first = false;
            self.seen_link |= matches!(entry, Entry::Link(_));
            Some(entry)
        } else {
            self.done = true;
            None
        }
    }
}

impl core::fmt::Debug for Entries<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Entries")
            .field("offset", &self.cursor.pos())
            .finish_non_exhaustive()
    }
}

/// Iterator over the attributes of a [`Link`].
#[derive(Clone)]
pub struct Attributes<'a> {
    cursor: Cursor<'a>,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    #[inline]
    fn next(&mut self) -> Option<Attribute<'a>> {
        next_attribute(&mut self.cursor).ok().flatten()
    }
}

impl core::fmt::Debug for Attributes<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Attributes")
            .field("offset", &self.cursor.pos())
            .finish_non_exhaustive()
    }
}
