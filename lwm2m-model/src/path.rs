//! LwM2M paths: `/`, `/o`, `/o/i`, `/o/i/r` and `/o/i/r/ri`.
//!
//! A [`Path`] names a node of the object tree. It is the key every other part of the stack speaks:
//! requests carry one in their Uri-Path options, payloads are decoded relative to one, attributes and
//! access rights are stored per path.
//!
//! Two rules are enforced at construction, so code that holds a `Path` never re-checks them:
//! - a deeper id cannot exist without all shallower ones (a resource instance needs a resource, which
//!   needs an instance, which needs an object);
//! - every id is at most [`MAX_ID`] (65534). 65535 is reserved: the digest (§1.1) calls it `MAX_ID` for
//!   object instances, the Access Control object uses it as "the object itself", and the common
//!   implementations use it as the "no id" marker at every level, so it never names a real node.

use core::fmt;
use core::str::FromStr;

/// The largest id a path segment may carry. 65535 is reserved at every level.
pub const MAX_ID: u16 = 65534;

/// The depth of a path in the object tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `/`: the whole client (Bootstrap-Delete, Bootstrap-Discover).
    Root,
    /// `/o`: an object.
    Object,
    /// `/o/i`: an object instance.
    ObjectInstance,
    /// `/o/i/r`: a resource.
    Resource,
    /// `/o/i/r/ri`: a resource instance (only addressable in payloads in LwM2M 1.0).
    ResourceInstance,
}

impl Level {
    /// The number of ids a path of this level has (0 for the root, 4 for a resource instance).
    #[inline]
    pub const fn depth(self) -> usize {
        match self {
            Level::Root => 0,
            Level::Object => 1,
            Level::ObjectInstance => 2,
            Level::Resource => 3,
            Level::ResourceInstance => 4,
        }
    }

    const fn from_depth(depth: usize) -> Option<Level> {
        match depth {
            0 => Some(Level::Root),
            1 => Some(Level::Object),
            2 => Some(Level::ObjectInstance),
            3 => Some(Level::Resource),
            4 => Some(Level::ResourceInstance),
            _ => None,
        }
    }

    /// A lower-case English name, as used in error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Level::Root => "root",
            Level::Object => "object",
            Level::ObjectInstance => "object instance",
            Level::Resource => "resource",
            Level::ResourceInstance => "resource instance",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathErrorKind {
    /// The text form does not start with `/`.
    MissingLeadingSlash,
    /// A segment is empty (`//`, or a trailing `/`).
    EmptySegment,
    /// A segment holds something other than ASCII decimal digits.
    NotANumber,
    /// A segment has a leading zero (`/03`); only the canonical decimal form is accepted, so one
    /// node has exactly one name (which matters for access control and attribute storage).
    LeadingZero,
    /// An id is larger than [`MAX_ID`] (65535 is reserved).
    IdOutOfRange,
    /// The path has more than four ids.
    TooDeep,
}

impl fmt::Display for PathErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathErrorKind::MissingLeadingSlash => "path does not start with '/'",
            PathErrorKind::EmptySegment => "empty path segment",
            PathErrorKind::NotANumber => "path segment is not a decimal number",
            PathErrorKind::LeadingZero => "path segment has a leading zero",
            PathErrorKind::IdOutOfRange => "id is larger than 65534 (65535 is reserved)",
            PathErrorKind::TooDeep => "path has more than four ids",
        })
    }
}

/// A path that could not be parsed or built, and where.
///
/// `position` is the byte offset in the text form for [`Path::parse`], the 0-based index of the
/// Uri-Path segment for [`Path::from_segments`], and the 0-based index of the offending id for the
/// constructors that take ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("invalid LwM2M path at position {position}: {kind}")]
pub struct PathError {
    /// What is wrong.
    pub kind: PathErrorKind,
    /// Where (see the type documentation for the unit).
    pub position: usize,
}

impl PathError {
    const fn new(kind: PathErrorKind, position: usize) -> Self {
        PathError { kind, position }
    }
}

/// A path in the LwM2M object tree: the root, an object, an instance, a resource or a resource
/// instance.
///
/// Ordering is numeric and depth-first: a parent sorts before its children, and siblings sort by id
/// (`/3 < /3/0 < /3/0/1 < /3/0/10 < /3/1 < /4`).
///
/// ```
/// use lwm2m_model::{Level, Path};
///
/// let battery: Path = "/3/0/9".parse()?;
/// assert_eq!(battery.level(), Level::Resource);
/// assert_eq!(battery.object_id(), Some(3));
/// assert_eq!(battery.resource_id(), Some(9));
/// assert_eq!(battery.parent(), Some(Path::object_instance(3, 0)?));
/// assert!(Path::object(3)?.is_ancestor_of(&battery));
/// assert_eq!(battery.to_string(), "/3/0/9");
/// # Ok::<(), lwm2m_model::PathError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path {
    // Ids beyond `len` are always 0, so the derived Eq/Hash agree with the slice view.
    ids: [u16; 4],
    len: u8,
}

impl Path {
    /// The root path `/`.
    pub const ROOT: Path = Path {
        ids: [0; 4],
        len: 0,
    };

    /// Builds a path from up to four ids (an empty slice is the root).
    pub const fn new(ids: &[u16]) -> Result<Path, PathError> {
        if ids.len() > 4 {
            return Err(PathError::new(PathErrorKind::TooDeep, 4));
        }
        let mut out = [0u16; 4];
        let mut i = 0;
        while i < ids.len() {
            if ids[i] > MAX_ID {
                return Err(PathError::new(PathErrorKind::IdOutOfRange, i));
            }
            out[i] = ids[i];
            i += 1;
        }
        Ok(Path {
            ids: out,
            len: ids.len() as u8,
        })
    }

    /// `/o`.
    pub const fn object(object_id: u16) -> Result<Path, PathError> {
        Path::new(&[object_id])
    }

    /// `/o/i`.
    pub const fn object_instance(object_id: u16, instance_id: u16) -> Result<Path, PathError> {
        Path::new(&[object_id, instance_id])
    }

    /// `/o/i/r`.
    pub const fn resource(
        object_id: u16,
        instance_id: u16,
        resource_id: u16,
    ) -> Result<Path, PathError> {
        Path::new(&[object_id, instance_id, resource_id])
    }

    /// `/o/i/r/ri`.
    pub const fn resource_instance(
        object_id: u16,
        instance_id: u16,
        resource_id: u16,
        resource_instance_id: u16,
    ) -> Result<Path, PathError> {
        Path::new(&[object_id, instance_id, resource_id, resource_instance_id])
    }

    /// Parses the text form: `/`, `/3`, `/3/0`, `/3/0/1` or `/3/0/1/2`.
    ///
    /// Errors carry the byte offset of the offending segment.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let bytes = text.as_bytes();
        if bytes.first() != Some(&b'/') {
            return Err(PathError::new(PathErrorKind::MissingLeadingSlash, 0));
        }
        if bytes.len() == 1 {
            return Ok(Path::ROOT);
        }
        let mut path = Path::ROOT;
        let mut offset = 1;
        for segment in bytes[1..].split(|&b| b == b'/') {
            let id = parse_id(segment).map_err(|kind| PathError::new(kind, offset))?;
            path = path
                .push(id)
                .ok_or(PathError::new(PathErrorKind::TooDeep, offset))?;
            offset += segment.len() + 1;
        }
        Ok(path)
    }

    /// Builds a path from CoAP Uri-Path option values (one decimal id per option).
    ///
    /// No option, or a single empty option, is the root (some CoAP stacks encode `/` as one empty
    /// Uri-Path option). Errors carry the index of the offending segment.
    pub fn from_segments<'a, I>(segments: I) -> Result<Path, PathError>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut path = Path::ROOT;
        let mut iter = segments.into_iter().enumerate().peekable();
        if let Some((_, first)) = iter.peek() {
            if first.is_empty() {
                iter.next();
                return match iter.next() {
                    None => Ok(Path::ROOT),
                    Some(_) => Err(PathError::new(PathErrorKind::EmptySegment, 0)),
                };
            }
        }
        for (index, segment) in iter {
            let id = parse_id(segment).map_err(|kind| PathError::new(kind, index))?;
            path = path
                .push(id)
                .ok_or(PathError::new(PathErrorKind::TooDeep, index))?;
        }
        Ok(path)
    }

    /// The ids of this path, outermost first (empty for the root).
    #[inline]
    pub fn ids(&self) -> &[u16] {
        // `len` never exceeds 4 (every constructor checks it), `get` keeps this panic-free anyway.
        self.ids.get(..self.len as usize).unwrap_or(&[])
    }

    /// The level of this path.
    #[inline]
    pub const fn level(&self) -> Level {
        match Level::from_depth(self.len as usize) {
            Some(level) => level,
            None => Level::ResourceInstance,
        }
    }

    /// The number of ids (0 for the root).
    #[inline]
    pub const fn depth(&self) -> usize {
        self.len as usize
    }

    /// Whether this is the root path `/`.
    #[inline]
    pub const fn is_root(&self) -> bool {
        self.len == 0
    }

    #[inline]
    const fn id_at(&self, index: usize) -> Option<u16> {
        if index < self.len as usize && index < 4 {
            Some(self.ids[index])
        } else {
            None
        }
    }

    /// The object id, unless this is the root.
    #[inline]
    pub const fn object_id(&self) -> Option<u16> {
        self.id_at(0)
    }

    /// The object instance id, if the path is at least instance-deep.
    #[inline]
    pub const fn instance_id(&self) -> Option<u16> {
        self.id_at(1)
    }

    /// The resource id, if the path is at least resource-deep.
    #[inline]
    pub const fn resource_id(&self) -> Option<u16> {
        self.id_at(2)
    }

    /// The resource instance id, if the path is resource-instance-deep.
    #[inline]
    pub const fn resource_instance_id(&self) -> Option<u16> {
        self.id_at(3)
    }

    /// The last id of the path (the id of the node it names), unless this is the root.
    #[inline]
    pub fn last_id(&self) -> Option<u16> {
        self.ids().last().copied()
    }

    /// The parent path, unless this is the root.
    #[inline]
    pub fn parent(&self) -> Option<Path> {
        let len = self.len.checked_sub(1)?;
        let mut ids = self.ids;
        if let Some(slot) = ids.get_mut(len as usize) {
            *slot = 0;
        }
        Some(Path { ids, len })
    }

    /// The child path with the given id appended.
    ///
    /// Fails when the id is reserved (65535) or the path is already a resource instance.
    pub fn child(&self, id: u16) -> Result<Path, PathError> {
        if id > MAX_ID {
            return Err(PathError::new(
                PathErrorKind::IdOutOfRange,
                self.len as usize,
            ));
        }
        self.push(id)
            .ok_or(PathError::new(PathErrorKind::TooDeep, self.len as usize))
    }

    fn push(&self, id: u16) -> Option<Path> {
        let mut ids = self.ids;
        *ids.get_mut(self.len as usize)? = id;
        Some(Path {
            ids,
            len: self.len + 1,
        })
    }

    /// Whether `self` is a strict ancestor of `other` (`/3` is an ancestor of `/3/0/1`, not of `/3`).
    #[inline]
    pub fn is_ancestor_of(&self, other: &Path) -> bool {
        self.len < other.len && other.ids().starts_with(self.ids())
    }

    /// Whether `self` is `other` or one of its ancestors.
    #[inline]
    pub fn is_ancestor_or_self_of(&self, other: &Path) -> bool {
        self.len <= other.len && other.ids().starts_with(self.ids())
    }
}

fn parse_id(segment: &[u8]) -> Result<u16, PathErrorKind> {
    match segment {
        [] => return Err(PathErrorKind::EmptySegment),
        [b'0', _, ..] => {
            return Err(if segment.iter().all(u8::is_ascii_digit) {
                PathErrorKind::LeadingZero
            } else {
                PathErrorKind::NotANumber
            })
        }
        _ => {}
    }
    let mut value: u32 = 0;
    for &b in segment {
        if !b.is_ascii_digit() {
            return Err(PathErrorKind::NotANumber);
        }
        // Saturate instead of overflowing on absurdly long digit strings; anything above
        // MAX_ID is rejected below either way.
        value = value.saturating_mul(10).saturating_add(u32::from(b - b'0'));
    }
    match u16::try_from(value) {
        Ok(id) if id <= MAX_ID => Ok(id),
        _ => Err(PathErrorKind::IdOutOfRange),
    }
}

impl Default for Path {
    fn default() -> Self {
        Path::ROOT
    }
}

impl PartialOrd for Path {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Path {
    /// Lexicographic on the ids, so a prefix (the parent) sorts first.
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.ids().cmp(other.ids())
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str("/");
        }
        for id in self.ids() {
            write!(f, "/{id}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({self})")
    }
}

impl FromStr for Path {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Path::parse(s)
    }
}

impl TryFrom<&[u16]> for Path {
    type Error = PathError;

    fn try_from(ids: &[u16]) -> Result<Self, Self::Error> {
        Path::new(ids)
    }
}

#[cfg(test)]
mod tests;
