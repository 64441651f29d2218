//! Entry names: `bn` + `n`, and their numeric path segments.
//!
//! This is syntax only. Whether a path resolves *under the request URI*, and whether it names a
//! resource or resource instance of a known object, is `lwm2m-model`'s check: it compares
//! [`NamePath::ids`] with the request path.

use alloc::borrow::Cow;
use alloc::string::String;

/// The numeric path an entry name resolves to: 1 to 4 ids, `/o`, `/o/i`, `/o/i/r` or `/o/i/r/ri`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NamePath {
    ids: [u16; 4],
    len: u8,
}

impl NamePath {
    /// The ids, object first (1 to 4 of them).
    #[inline]
    pub fn ids(&self) -> &[u16] {
        self.ids.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// How many ids the path has (1-4).
    #[inline]
    pub fn depth(&self) -> usize {
        usize::from(self.len)
    }

    /// The object id.
    #[inline]
    pub fn object(&self) -> u16 {
        self.ids[0]
    }

    /// The object instance id, when the path has one.
    #[inline]
    pub fn instance(&self) -> Option<u16> {
        self.ids().get(1).copied()
    }

    /// The resource id, when the path has one.
    #[inline]
    pub fn resource(&self) -> Option<u16> {
        self.ids().get(2).copied()
    }

    /// The resource instance id, when the path has one.
    #[inline]
    pub fn resource_instance(&self) -> Option<u16> {
        self.ids().get(3).copied()
    }

    /// Whether `prefix` (a request path as ids) is this path or one of its ancestors.
    ///
    /// ```
    /// use lwm2m_codec::json::resolve_name;
    /// let path = resolve_name(Some("/3/0/"), Some("7/1"))?;
    /// assert!(path.starts_with(&[3, 0]));
    /// assert!(path.starts_with(&[3, 0, 7, 1]));
    /// assert!(!path.starts_with(&[3, 1]));
    /// # Ok::<(), lwm2m_codec::json::NameError>(())
    /// ```
    pub fn starts_with(&self, prefix: &[u16]) -> bool {
        self.ids().starts_with(prefix)
    }
}

/// Why a full entry name is not a numeric LwM2M path. Offsets count bytes of the full name
/// (`bn` followed by `n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The full name has no id at all (`""` or `"/"`).
    #[error("the name is empty; it must be a path such as /3/0/1")]
    Empty,
    /// Two slashes in a row, or a trailing slash with no `n` after it.
    #[error("empty path segment at byte {offset} of the name")]
    EmptySegment {
        /// Where the missing id should be.
        offset: usize,
    },
    /// A character that is neither a digit nor `/`.
    #[error("byte {offset} of the name is not a digit or '/'")]
    NotNumeric {
        /// The offending character.
        offset: usize,
    },
    /// An id above 65535.
    #[error("the id starting at byte {offset} of the name is larger than 65535")]
    IdOutOfRange {
        /// Start of the id.
        offset: usize,
    },
    /// A fifth id: LwM2M paths are at most /o/i/r/ri.
    #[error("the name has more than 4 ids (the fifth starts at byte {offset})")]
    TooDeep {
        /// Start of the fifth id.
        offset: usize,
    },
}

/// The full name of an entry: `base_name` followed by `name`, as the TS defines it.
///
/// Borrows when one side is absent or empty; allocates only to join two non-empty parts.
///
/// ```
/// use lwm2m_codec::json::full_name;
/// assert_eq!(full_name(Some("/3/0/"), Some("6/0")), "/3/0/6/0");
/// assert_eq!(full_name(Some("/3/0/0"), None), "/3/0/0");
/// assert_eq!(full_name(None, Some("/3/0/0")), "/3/0/0");
/// ```
pub fn full_name<'n>(base_name: Option<&'n str>, name: Option<&'n str>) -> Cow<'n, str> {
    match (base_name.unwrap_or(""), name.unwrap_or("")) {
        (base, "") => Cow::Borrowed(base),
        ("", name) => Cow::Borrowed(name),
        (base, name) => {
            let mut joined = String::with_capacity(base.len() + name.len());
            joined.push_str(base);
            joined.push_str(name);
            Cow::Owned(joined)
        }
    }
}

/// Resolves `base_name` + `name` to numeric ids without building the joined string.
///
/// The grammar is `["/"] id *("/" id)` with 1 to 4 ids of 0-65535; the leading slash is optional
/// because a name without `bn` is sometimes written relative (`"3/0/0"`). Both forms of a single
/// resource read resolve the same way:
///
/// ```
/// use lwm2m_codec::json::{resolve_name, NameError};
/// assert_eq!(resolve_name(Some("/3/0/0"), None)?.ids(), &[3, 0, 0]);
/// assert_eq!(resolve_name(Some("/3/0/"), Some("0"))?.ids(), &[3, 0, 0]);
/// assert_eq!(resolve_name(Some("/3/0/"), None), Err(NameError::EmptySegment { offset: 5 }));
/// assert_eq!(resolve_name(Some("/3/x"), None), Err(NameError::NotNumeric { offset: 3 }));
/// # Ok::<(), NameError>(())
/// ```
pub fn resolve_name(base_name: Option<&str>, name: Option<&str>) -> Result<NamePath, NameError> {
    let mut parser = NameParser {
        packed: 0,
        len: 0,
        current: None,
        segment_start: 0,
        offset: 0,
    };
    parser.feed(base_name.unwrap_or("").as_bytes())?;
    parser.feed(name.unwrap_or("").as_bytes())?;
    parser.finish()
}

/// The state of reading `bn` then `n` as one string, without joining them.
struct NameParser {
    /// The ids read so far, 16 bits each, first id in the low bits. Kept in one register
    /// rather than an array: this runs once per entry on the decode path.
    packed: u64,
    len: u8,
    /// The id being read, if any digit of it has been seen.
    current: Option<u32>,
    segment_start: usize,
    /// Offset of the next byte in the joined name.
    offset: usize,
}

impl NameParser {
    #[inline]
    fn feed(&mut self, bytes: &[u8]) -> Result<(), NameError> {
        for &byte in bytes {
            match byte {
                b'/' if self.offset == 0 => self.segment_start = 1,
                b'/' => {
                    self.push()?;
                    self.segment_start = self.offset + 1;
                }
                b'0'..=b'9' => {
                    let id = self.current.unwrap_or(0) * 10 + u32::from(byte - b'0');
                    if id > u32::from(u16::MAX) {
                        return Err(NameError::IdOutOfRange {
                            offset: self.segment_start,
                        });
                    }
                    self.current = Some(id);
                }
                _ => {
                    return Err(NameError::NotNumeric {
                        offset: self.offset,
                    })
                }
            }
            self.offset += 1;
        }
        Ok(())
    }

    #[inline]
    fn push(&mut self) -> Result<(), NameError> {
        let id = self.current.take().ok_or(NameError::EmptySegment {
            offset: self.offset,
        })?;
        if self.len >= 4 {
            return Err(NameError::TooDeep {
                offset: self.segment_start,
            });
        }
        self.packed |= u64::from(id) << (16 * u32::from(self.len));
        self.len += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<NamePath, NameError> {
        if self.current.is_none() && self.len == 0 {
            return Err(NameError::Empty);
        }
        self.push()?;
        let p = self.packed;
        Ok(NamePath {
            ids: [
                p as u16,
                (p >> 16) as u16,
                (p >> 32) as u16,
                (p >> 48) as u16,
            ],
            len: self.len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_split_of_the_same_path_resolves_alike() {
        let full = "/3/0/7/1";
        for cut in 0..=full.len() {
            let (bn, n) = full.split_at(cut);
            let path = resolve_name(Some(bn), Some(n)).unwrap();
            assert_eq!(path.ids(), &[3, 0, 7, 1], "split at {cut}");
            assert_eq!(path.resource_instance(), Some(1));
        }
    }

    #[test]
    fn depths_one_to_four() {
        assert_eq!(resolve_name(None, Some("3")).unwrap().ids(), &[3]);
        assert_eq!(resolve_name(Some("/"), Some("3/0")).unwrap().depth(), 2);
        let p = resolve_name(Some("/65535/65535/65535/"), Some("65535")).unwrap();
        assert_eq!(p.ids(), &[65535; 4]);
        assert_eq!(p.object(), 65535);
        assert_eq!(p.instance(), Some(65535));
        assert_eq!(p.resource(), Some(65535));
    }

    #[test]
    fn malformed_names() {
        assert_eq!(resolve_name(None, None), Err(NameError::Empty));
        assert_eq!(resolve_name(Some("/"), None), Err(NameError::Empty));
        assert_eq!(
            resolve_name(Some("//3"), None),
            Err(NameError::EmptySegment { offset: 1 })
        );
        assert_eq!(
            resolve_name(Some("/3/0/"), Some("/1")),
            Err(NameError::EmptySegment { offset: 5 })
        );
        assert_eq!(
            resolve_name(Some("/3/65536"), None),
            Err(NameError::IdOutOfRange { offset: 3 })
        );
        assert_eq!(
            resolve_name(Some("/3/0/1/2/"), Some("3")),
            Err(NameError::TooDeep { offset: 9 })
        );
        assert_eq!(
            resolve_name(Some("/3/0/"), Some("-1")),
            Err(NameError::NotNumeric { offset: 5 })
        );
        assert_eq!(
            resolve_name(Some("/3/0/"), Some("é")),
            Err(NameError::NotNumeric { offset: 5 })
        );
    }

    #[test]
    fn full_name_joins_only_when_needed() {
        assert!(matches!(
            full_name(Some("/3/0/"), None),
            Cow::Borrowed("/3/0/")
        ));
        assert!(matches!(
            full_name(Some(""), Some("/3")),
            Cow::Borrowed("/3")
        ));
        assert!(matches!(full_name(Some("/3/"), Some("0")), Cow::Owned(_)));
        assert_eq!(full_name(None, None), "");
    }
}
