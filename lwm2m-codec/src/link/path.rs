//! Link targets as LwM2M paths: segments, an alternate root, numeric ids.

/// The `/`-separated segments of a link target, without the leading `/`; the root `/` has none.
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    /// What is left to split; `None` once the last segment was returned.
    rest: Option<&'a str>,
}

impl<'a> Segments<'a> {
    /// The segments of `target`.
    ///
    /// ```
    /// use lwm2m_codec::link::Segments;
    /// assert!(Segments::new("/lwm2m/3/0").eq(["lwm2m", "3", "0"]));
    /// assert!(Segments::new("/3//0/").eq(["3", "", "0", ""]));
    /// assert_eq!(Segments::new("/").count(), 0);
    /// ```
    pub fn new(target: &'a str) -> Self {
        let rest = target.strip_prefix('/').unwrap_or(target);
        Segments {
            rest: (!rest.is_empty()).then_some(rest),
        }
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        // A byte search: `str::split` with a char pattern costs a `memcmp` call per match.
        if let Some(i) = rest.bytes().position(|b| b == b'/') {
            self.rest = Some(rest.get(i + 1..).unwrap_or_default());
            rest.get(..i)
        } else {
            self.rest = None;
            Some(rest)
        }
    }
}

/// Strips an alternate root path (the `</lwm2m>;rt="oma.lwm2m"` of a Register payload) from a
/// target. The root must match whole segments; `""` and `"/"` mean "no alternate root".
///
/// Returns the rest, which is empty or starts with `/`, or `None` if `target` is not under `root`.
///
/// ```
/// use lwm2m_codec::link::strip_root;
/// assert_eq!(strip_root("/lwm2m/3/0", "/lwm2m"), Some("/3/0"));
/// assert_eq!(strip_root("/lwm2m", "/lwm2m/"), Some(""));
/// assert_eq!(strip_root("/lwm2mx/3", "/lwm2m"), None);
/// assert_eq!(strip_root("/3/0", "/"), Some("/3/0"));
/// ```
pub fn strip_root<'t>(target: &'t str, root: &str) -> Option<&'t str> {
    let root = root.strip_suffix('/').unwrap_or(root);
    let rest = target.strip_prefix(root)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// A link target read as an LwM2M path: 0 ids (the root `</>`), `/o`, `/o/i`, `/o/i/r` or
/// `/o/i/r/ri`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LinkPath {
    ids: [u16; 4],
    len: u8,
}

impl LinkPath {
    /// Parses a target such as `/3/0/7`. `""` and `"/"` are the root (no ids).
    ///
    /// ```
    /// use lwm2m_codec::link::{LinkPath, LinkPathError};
    /// assert_eq!(LinkPath::parse("/3/0/7")?.ids(), &[3, 0, 7]);
    /// assert_eq!(LinkPath::parse("/")?.depth(), 0);
    /// assert_eq!(LinkPath::parse("/3/a"), Err(LinkPathError::NotNumeric { offset: 3 }));
    /// # Ok::<(), LinkPathError>(())
    /// ```
    pub fn parse(target: &str) -> Result<Self, LinkPathError> {
        let mut path = LinkPath::default();
        if target.is_empty() || target == "/" {
            return Ok(path);
        }
        if !target.starts_with('/') {
            return Err(LinkPathError::NotAbsolute);
        }
        let mut offset = 1;
        for segment in Segments::new(target) {
            if segment.is_empty() {
                return Err(LinkPathError::EmptySegment { offset });
            }
            let mut id: u32 = 0;
            for (i, b) in segment.bytes().enumerate() {
                if !b.is_ascii_digit() {
                    return Err(LinkPathError::NotNumeric { offset: offset + i });
                }
                id = id * 10 + u32::from(b - b'0');
                if id > u32::from(u16::MAX) {
                    return Err(LinkPathError::IdOutOfRange { offset });
                }
            }
            let slot = path
                .ids
                .get_mut(usize::from(path.len))
                .ok_or(LinkPathError::TooDeep { offset })?;
            // Checked against u16::MAX digit by digit above.
            *slot = id as u16;
            path.len += 1;
            offset += segment.len() + 1;
        }
        Ok(path)
    }

    /// Parses `target` after stripping the alternate root `root` (see [`strip_root`]).
    pub fn parse_under(target: &str, root: &str) -> Result<Self, LinkPathError> {
        let rest = strip_root(target, root).ok_or(LinkPathError::NotUnderRoot)?;
        // Offsets in errors count from the start of the whole target.
        let shift = target.len() - rest.len();
        LinkPath::parse(rest).map_err(|e| e.shifted(shift))
    }

    /// The ids, object first (0 to 4 of them).
    #[inline]
    pub fn ids(&self) -> &[u16] {
        self.ids.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// How many ids there are (0 for the root).
    #[inline]
    pub fn depth(&self) -> usize {
        usize::from(self.len)
    }

    /// The object id, unless this is the root.
    #[inline]
    pub fn object(&self) -> Option<u16> {
        self.ids().first().copied()
    }

    /// The object instance id, when present.
    #[inline]
    pub fn instance(&self) -> Option<u16> {
        self.ids().get(1).copied()
    }

    /// The resource id, when present.
    #[inline]
    pub fn resource(&self) -> Option<u16> {
        self.ids().get(2).copied()
    }

    /// The resource instance id, when present.
    #[inline]
    pub fn resource_instance(&self) -> Option<u16> {
        self.ids().get(3).copied()
    }
}

/// Why a link target is not an LwM2M path. Offsets count bytes of the target (without `<`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkPathError {
    /// The target does not start with `/`.
    #[error("the link target is not an absolute path")]
    NotAbsolute,
    /// The target is not under the alternate root path it was checked against.
    #[error("the link target is not under the alternate root path")]
    NotUnderRoot,
    /// `//` or a trailing `/`.
    #[error("empty path segment at byte {offset} of the link target")]
    EmptySegment {
        /// Where the missing id should be.
        offset: usize,
    },
    /// A segment with a character other than a digit.
    #[error("byte {offset} of the link target is not a digit")]
    NotNumeric {
        /// The offending character.
        offset: usize,
    },
    /// An id above 65535.
    #[error("the id at byte {offset} of the link target is larger than 65535")]
    IdOutOfRange {
        /// Start of the id.
        offset: usize,
    },
    /// More than four ids.
    #[error("the link target has more than 4 ids (the fifth starts at byte {offset})")]
    TooDeep {
        /// Start of the fifth id.
        offset: usize,
    },
}

impl LinkPathError {
    fn shifted(self, by: usize) -> Self {
        match self {
            LinkPathError::EmptySegment { offset } => LinkPathError::EmptySegment {
                offset: offset + by,
            },
            LinkPathError::NotNumeric { offset } => LinkPathError::NotNumeric {
                offset: offset + by,
            },
            LinkPathError::IdOutOfRange { offset } => LinkPathError::IdOutOfRange {
                offset: offset + by,
            },
            LinkPathError::TooDeep { offset } => LinkPathError::TooDeep {
                offset: offset + by,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(LinkPath::parse("").unwrap().depth(), 0);
        assert_eq!(LinkPath::parse("/5").unwrap().object(), Some(5));
        let p = LinkPath::parse("/65535/0/00007/1").unwrap();
        assert_eq!(p.ids(), &[65535, 0, 7, 1]);
        assert_eq!(p.resource_instance(), Some(1));
        assert_eq!(LinkPath::parse("/0000000000001").unwrap().ids(), &[1]);
        assert_eq!(LinkPath::parse("3/0"), Err(LinkPathError::NotAbsolute));
        assert_eq!(
            LinkPath::parse("/3//0"),
            Err(LinkPathError::EmptySegment { offset: 3 })
        );
        assert_eq!(
            LinkPath::parse("/3/0/"),
            Err(LinkPathError::EmptySegment { offset: 5 })
        );
        assert_eq!(
            LinkPath::parse("/3/65536"),
            Err(LinkPathError::IdOutOfRange { offset: 3 })
        );
        assert_eq!(
            LinkPath::parse("/1/2/3/4/5"),
            Err(LinkPathError::TooDeep { offset: 9 })
        );
    }

    #[test]
    fn alternate_root() {
        assert_eq!(
            LinkPath::parse_under("/lwm2m/3/0", "/lwm2m").unwrap().ids(),
            &[3, 0]
        );
        assert_eq!(
            LinkPath::parse_under("/lwm2m", "/lwm2m").unwrap().depth(),
            0
        );
        assert_eq!(
            LinkPath::parse_under("/3/0", "/lwm2m"),
            Err(LinkPathError::NotUnderRoot)
        );
        assert_eq!(
            LinkPath::parse_under("/lwm2m/3/x", "/lwm2m"),
            Err(LinkPathError::NotNumeric { offset: 9 })
        );
        assert_eq!(LinkPath::parse_under("/a/b/3", "/a/b").unwrap().ids(), &[3]);
    }
}
