//! CoRE link-format (RFC 6690), content format 40, as LwM2M uses it.
//!
//! LwM2M carries link-format in three places: the Register/Update payload (the client's objects
//! and instances, `</1/0>,</3/0>,</5>`), the Discover answer (links with `pmin`, `pmax`, `gt`, `lt`,
//! `st`, `dim`, `ver`), and the Bootstrap-Discover answer, which in 1.0 starts with a bare
//! `lwm2m="1.0"` item that is not a link at all ([`Entry::Attribute`]).
//!
//! Reading is zero-copy and allocation-free: [`LinkFormat::parse`] validates the payload once,
//! then [`LinkFormat::entries`] hands out [`Link`]s whose target and [`Attribute`]s borrow from the
//! payload. Quoted values come back raw ([`AttrValue::Quoted`]) and are unescaped only on request.
//! Commas and semicolons inside quoted strings do not split anything, and white space after
//! commas and around `;` (as in the TS examples) is accepted.
//!
//! Writing ([`LinkWriter`]) reproduces the LwM2M forms byte for byte: strings LwM2M defines as
//! quoted are quoted, numbers are bare, floats have no trailing `.0`.
//!
//! ```
//! use lwm2m_codec::link::{LinkFormat, LinkPath};
//! let payload = br#"</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/3/0>,</lwm2m/5>"#;
//! let links = LinkFormat::parse(payload)?;
//! let root = links.links().find(|l| l.value("rt").is_some_and(|v| v == "oma.lwm2m"));
//! let root = root.map_or("", |l| l.target());
//! let objects: Vec<LinkPath> = links
//!     .links()
//!     .filter_map(|l| l.path_under(root).ok())
//!     .filter(|p| p.depth() > 0)
//!     .collect();
//! assert_eq!(objects[0].ids(), &[1, 0]);
//! assert_eq!(objects[2].ids(), &[5]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod grammar;
mod path;
mod reader;
mod value;
mod writer;

pub use path::{strip_root, LinkPath, LinkPathError, Segments};
pub use reader::{Attribute, Attributes, Entries, Entry, Link, LinkFormat};
pub use value::{AttrValue, AttrValueError, Unescaped};
pub use writer::{LinkWriteError, LinkWriter};

/// Why a payload is not valid link-format. Every offset is a byte offset into the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The payload is not UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// First byte that is not valid UTF-8.
        offset: usize,
    },
    /// An item does not start with `<` (or, before the first link, with an attribute name).
    #[error("expected '<' starting a link at byte {offset}")]
    ExpectedLink {
        /// Where the link should start.
        offset: usize,
    },
    /// `<` without a matching `>`.
    #[error("the link target opened at byte {offset} has no closing '>'")]
    UnterminatedTarget {
        /// The `<`.
        offset: usize,
    },
    /// `<>`.
    #[error("the link target at byte {offset} is empty")]
    EmptyTarget {
        /// The `<`.
        offset: usize,
    },
    /// A character a target cannot hold inside `<...>`: white space, control, non-ASCII, `<`, `"`.
    #[error("byte {offset} cannot appear in a link target")]
    InvalidTargetCharacter {
        /// The offending byte.
        offset: usize,
    },
    /// A quoted string without its closing `"`.
    #[error("the quoted string opened at byte {offset} is not terminated")]
    UnterminatedQuotedString {
        /// The opening `"`.
        offset: usize,
    },
    /// An attribute with an empty name or a character not allowed in one.
    #[error("expected an attribute name at byte {offset}")]
    BadAttributeName {
        /// Where the name should start.
        offset: usize,
    },
    /// `name=` followed by nothing usable as a value.
    #[error("invalid or empty attribute value at byte {offset}")]
    InvalidAttributeValue {
        /// Just after the `=`.
        offset: usize,
    },
    /// Something other than `;`, `,` or the end after a link or attribute.
    #[error("unexpected character at byte {offset}: expected ';', ',' or the end")]
    GarbageAfterLink {
        /// The unexpected character.
        offset: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn error(text: &str) -> LinkError {
        LinkFormat::parse_str(text).unwrap_err()
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(error("/3/0>"), LinkError::ExpectedLink { offset: 0 });
        assert_eq!(error("</3/0"), LinkError::UnterminatedTarget { offset: 0 });
        assert_eq!(
            error("</1>,</3 />"),
            LinkError::InvalidTargetCharacter { offset: 8 }
        );
        assert_eq!(error("</1>,<>"), LinkError::EmptyTarget { offset: 5 });
        assert_eq!(
            error("</\u{e9}>"),
            LinkError::InvalidTargetCharacter { offset: 2 }
        );
        assert_eq!(
            error(r#"</a>;title="x,y"#),
            LinkError::UnterminatedQuotedString { offset: 11 }
        );
        assert_eq!(
            error(r#"</a>;title="x\""#),
            LinkError::UnterminatedQuotedString { offset: 11 }
        );
        assert_eq!(error("</a>;=1"), LinkError::BadAttributeName { offset: 5 });
        assert_eq!(error("</a>;"), LinkError::BadAttributeName { offset: 5 });
        assert_eq!(
            error("</a>;ct="),
            LinkError::InvalidAttributeValue { offset: 8 }
        );
        assert_eq!(
            error("</a>;ct=,</b>"),
            LinkError::InvalidAttributeValue { offset: 8 }
        );
        assert_eq!(error("</a>x"), LinkError::GarbageAfterLink { offset: 4 });
        assert_eq!(
            error("</a>;ct=1 2"),
            LinkError::GarbageAfterLink { offset: 10 }
        );
        assert_eq!(error("</a>,"), LinkError::ExpectedLink { offset: 5 });
        assert_eq!(error("</a>,,</b>"), LinkError::ExpectedLink { offset: 5 });
        assert_eq!(
            error("</a>,lwm2m=\"1.0\""),
            LinkError::ExpectedLink { offset: 5 }
        );
        assert_eq!(
            LinkFormat::parse(b"</a>,</\xff>"),
            Err(LinkError::InvalidUtf8 { offset: 7 })
        );
    }

    #[test]
    fn quoted_strings_hide_separators() {
        let links = LinkFormat::parse_str(r#"</a>;title="x,y;z\"w",</b>"#).unwrap();
        let all: Vec<Link<'_>> = links.links().collect();
        assert_eq!(all.len(), 2);
        let title = all[0].value("title").unwrap();
        assert_eq!(title.raw(), r#"x,y;z\"w"#);
        assert_eq!(title.unescaped(), r#"x,y;z"w"#);
    }

    #[test]
    fn white_space_is_tolerated_between_items() {
        let spaced =
            LinkFormat::parse_str(" </3/0> ; pmax=60 ,\r\n\t</3/0/1>;obs , </5> ").unwrap();
        let compact = LinkFormat::parse_str("</3/0>;pmax=60,</3/0/1>;obs,</5>").unwrap();
        assert!(spaced.entries().eq(compact.entries()));
        assert_eq!(LinkFormat::parse_str("  ").unwrap().entries().count(), 0);
    }

    #[test]
    fn valueless_attributes_and_repeated_names() {
        let links = LinkFormat::parse_str("</3/0/1>;obs;rt=a;rt=b").unwrap();
        let link = links.links().next().unwrap();
        assert_eq!(link.value("obs"), None);
        assert_eq!(link.attribute("obs").map(|a| a.value), Some(None));
        assert_eq!(link.value("rt"), Some(AttrValue::Token("a")));
        assert_eq!(link.attributes().count(), 3);
        assert!(link.has_attribute("obs"));
        assert!(!link.has_attribute("ob"));
        let (name, value) = link.attributes().nth(2).unwrap().into();
        assert_eq!((name, value), ("rt", Some(AttrValue::Token("b"))));
    }
}
