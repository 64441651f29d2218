//! [`CompactObjectLinks`]: the objects and object instances of a Register or Update payload
//! (digest §5, §8.1), kept compactly for as long as the registration lives.
//!
//! The payload (`</1/0>,</3/0>,</5>`, optionally with an alternate root path
//! `</lwm2m>;rt="oma.lwm2m"`, a JSON hint `</>;ct=11543` and object versions `</3303>;ver="1.1"`)
//! is read by the model's parser, [`lwm2m_model::ObjectLinks`], which ignores links outside the
//! LwM2M tree and refuses malformed ones (4.00). Its tree of maps is then packed into 4 bytes per
//! link. Links to the Security object (`/0`), which a client must not list, are dropped.

use core::fmt;

use lwm2m_codec::ContentFormat;
use lwm2m_model::{ObjectLinks, ObjectLinksError, Path, RootLink, Version};

/// The stored parts of [`CompactObjectLinks`]: packed entries, versions, root, content format.
pub(crate) type LinkParts<'a> = (
    &'a [u32],
    &'a [(u16, Version)],
    Option<&'a str>,
    Option<u16>,
);

/// 65535 is reserved (not an id); links using it are ignored.
const RESERVED_ID: u16 = u16::MAX;

/// The objects and object instances a client registered, plus what its payload says about them.
///
/// Entries are stored packed (4 bytes each), sorted and without duplicates, so a typical client
/// with 10 links costs 40 bytes of heap. An object appears as `/o` when it was listed without
/// instances, otherwise through its instances `/o/i`.
///
/// ```
/// use lwm2m_model::Path;
/// use lwm2m_server::registration::CompactObjectLinks;
///
/// let links = CompactObjectLinks::parse(br#"</>;ct=11543,</1/0>,</3/0>,</5>,</3303>;ver="1.1",</3303/0>"#, 64)?;
/// assert!(links.contains(Path::object_instance(3, 0)?));
/// assert!(links.contains(Path::object(5)?));
/// assert_eq!(links.instances(1).collect::<Vec<_>>(), [0]);
/// assert_eq!(links.object_version(3303).to_string(), "1.1");
/// assert!(links.supports_json());
/// assert_eq!(links.to_string(), r#"</>;ct=11543,</1/0>,</3/0>,</5>,</3303>;ver="1.1",</3303/0>"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct CompactObjectLinks {
    /// `object << 16 | (instance + 1)`, or `object << 16` for an object link, so an object
    /// sorts before its instances; sorted, unique.
    entries: Box<[u32]>,
    /// Objects whose version is not 1.0, sorted by object id.
    versions: Box<[(u16, Version)]>,
    /// The alternate root path (`/lwm2m`), `None` for `/`.
    root: Option<Box<str>>,
    /// The `ct` of the root link (11543 advertises JSON).
    content_format: Option<u16>,
}

/// Why a Register/Update payload was refused (the request gets 4.00 Bad Request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinksError {
    /// The payload is not a valid object-link list.
    #[error("{0}")]
    Invalid(#[from] ObjectLinksError),
    /// More links than the server accepts from one client.
    #[error("more than {limit} object links")]
    TooMany {
        /// The configured limit.
        limit: usize,
    },
}

impl CompactObjectLinks {
    /// Reads a Register/Update payload, accepting at most `max_links` object and instance links.
    pub fn parse(payload: &[u8], max_links: usize) -> Result<CompactObjectLinks, LinksError> {
        CompactObjectLinks::from_model(&ObjectLinks::parse(payload)?, max_links)
    }

    /// Packs parsed object links, refusing more than `max_links` object and instance links.
    pub fn from_model(
        links: &ObjectLinks,
        max_links: usize,
    ) -> Result<CompactObjectLinks, LinksError> {
        let mut entries = Vec::new();
        let mut versions = Vec::new();
        for (&object, registered) in links.objects.range(1..RESERVED_ID) {
            if let Some(version) = registered.version.filter(|v| *v != Version::V1_0) {
                versions.push((object, version));
            }
            let count = registered.instances.len().max(1);
            if entries.len() + count > max_links {
                return Err(LinksError::TooMany { limit: max_links });
            }
            if registered.instances.is_empty() {
                entries.push(pack(object, None));
            }
            entries.extend(
                registered
                    .instances
                    .iter()
                    .filter(|&&i| i != RESERVED_ID)
                    .map(|&i| pack(object, Some(i))),
            );
        }
        let root = links.alternate_path();
        Ok(CompactObjectLinks::from_parts(
            entries,
            versions,
            (!root.is_empty()).then(|| root.to_owned()),
            links.content_format(),
        ))
    }

    /// The links in the model's form (to write them as a payload, or to compare).
    pub fn to_model(&self) -> ObjectLinks {
        let mut links = ObjectLinks::default();
        if self.root.is_some() || self.content_format.is_some() {
            links.root = Some(RootLink {
                path: self.root.as_deref().unwrap_or("/").to_owned(),
                resource_type: self.root.is_some(),
                content_format: self.content_format,
            });
        }
        for &entry in &*self.entries {
            let object = links.objects.entry((entry >> 16) as u16).or_default();
            if let Some(instance) = instance_of(entry) {
                object.instances.insert(instance);
            }
        }
        for &(object, version) in &*self.versions {
            links.objects.entry(object).or_default().version = Some(version);
        }
        links
    }

    /// Links to exactly these object (`/o`) and object-instance (`/o/i`) paths; other levels,
    /// the root and the Security object are skipped.
    pub fn from_paths(paths: impl IntoIterator<Item = Path>) -> CompactObjectLinks {
        let mut entries: Vec<u32> = paths
            .into_iter()
            .filter_map(|p| match *p.ids() {
                [o] if o != 0 => Some(pack(o, None)),
                [o, i] if o != 0 => Some(pack(o, Some(i))),
                _ => None,
            })
            .collect();
        entries.sort_unstable();
        entries.dedup();
        CompactObjectLinks {
            entries: entries.into_boxed_slice(),
            ..CompactObjectLinks::default()
        }
    }

    /// The linked objects (`/o`) and object instances (`/o/i`), in ascending order.
    pub fn paths(&self) -> impl ExactSizeIterator<Item = Path> + '_ {
        self.entries.iter().map(|&e| unpack(e))
    }

    /// How many object and instance links there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the client listed no object at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether this exact `/o` or `/o/i` link is present.
    pub fn contains(&self, path: Path) -> bool {
        match *path.ids() {
            [o] => self.entries.binary_search(&pack(o, None)).is_ok(),
            [o, i] => self.entries.binary_search(&pack(o, Some(i))).is_ok(),
            _ => false,
        }
    }

    /// Whether the client listed the object (as `/o` or with an instance).
    pub fn has_object(&self, object: u16) -> bool {
        let start = self.entries.partition_point(|&e| e < pack(object, None));
        self.entries
            .get(start)
            .is_some_and(|&e| (e >> 16) as u16 == object)
    }

    /// The instance ids the client listed for an object, ascending.
    pub fn instances(&self, object: u16) -> impl Iterator<Item = u16> + '_ {
        let start = self.entries.partition_point(|&e| e < pack(object, None));
        self.entries
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(move |&&e| (e >> 16) as u16 == object)
            .filter_map(|&e| instance_of(e))
    }

    /// The object's version as advertised with `ver` (1.0 when absent).
    pub fn object_version(&self, object: u16) -> Version {
        self.versions
            .binary_search_by_key(&object, |(o, _)| *o)
            .ok()
            .and_then(|i| self.versions.get(i))
            .map_or(Version::V1_0, |(_, v)| *v)
    }

    /// Objects advertised with a version other than 1.0.
    pub fn versions(&self) -> impl ExactSizeIterator<Item = (u16, Version)> + '_ {
        self.versions.iter().copied()
    }

    /// The alternate root path every DM request must be prefixed with (`/lwm2m`), or `/`.
    pub fn root_path(&self) -> &str {
        self.root.as_deref().unwrap_or("/")
    }

    /// The `ct` the client put on its root link, if any.
    pub fn content_format(&self) -> Option<u16> {
        self.content_format
    }

    /// Whether the client advertised LwM2M JSON (`ct=11543`, or the legacy 1543, on the root link).
    pub fn supports_json(&self) -> bool {
        self.content_format.and_then(ContentFormat::from_number) == Some(ContentFormat::Json)
    }

    /// Heap bytes this value owns (for memory accounting).
    pub fn heap_size(&self) -> usize {
        self.entries.len() * size_of::<u32>()
            + self.versions.len() * size_of::<(u16, Version)>()
            + self.root.as_ref().map_or(0, |r| r.len())
    }

    /// Rebuilds the value from its stored parts (see [`CompactObjectLinks::to_parts`]); entries are
    /// re-sorted and de-duplicated, so any input gives a well-formed value.
    pub(crate) fn from_parts(
        mut entries: Vec<u32>,
        mut versions: Vec<(u16, Version)>,
        root: Option<String>,
        content_format: Option<u16>,
    ) -> CompactObjectLinks {
        entries.sort_unstable();
        entries.dedup();
        versions.sort_unstable_by_key(|(o, _)| *o);
        versions.dedup_by_key(|(o, _)| *o);
        CompactObjectLinks {
            entries: entries.into_boxed_slice(),
            versions: versions.into_boxed_slice(),
            root: root.map(String::into_boxed_str),
            content_format,
        }
    }

    /// The stored parts: packed entries, versions, root, content format.
    pub(crate) fn to_parts(&self) -> LinkParts<'_> {
        (
            &self.entries,
            &self.versions,
            self.root.as_deref(),
            self.content_format,
        )
    }
}

/// Formats the links as the model writes a Register payload: the root link first (when there is
/// an alternate path or a `ct`), then per object its `/o` link (when listed alone or with a
/// `ver`) and its instances.
impl fmt::Display for CompactObjectLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_model().to_vec().map_err(|_| fmt::Error)?;
        f.write_str(core::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for CompactObjectLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompactObjectLinks({self})")
    }
}

#[inline]
fn pack(object: u16, instance: Option<u16>) -> u32 {
    (u32::from(object) << 16) | instance.map_or(0, |i| u32::from(i) + 1)
}

#[inline]
fn instance_of(entry: u32) -> Option<u16> {
    (entry as u16).checked_sub(1)
}

fn unpack(entry: u32) -> Path {
    let object = (entry >> 16) as u16;
    let path = match instance_of(entry) {
        None => Path::object(object),
        Some(instance) => Path::object_instance(object, instance),
    };
    // Entries are only built from ids below 65535, which `Path` always accepts.
    path.unwrap_or(Path::ROOT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CompactObjectLinks, LinksError> {
        CompactObjectLinks::parse(text.as_bytes(), 1024)
    }

    fn paths(links: &CompactObjectLinks) -> Vec<String> {
        links.paths().map(|p| p.to_string()).collect()
    }

    #[test]
    fn test_vector_payloads() {
        let plain =
            parse("</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>").unwrap();
        assert_eq!(
            paths(&plain),
            ["/1/0", "/1/1", "/2/0", "/2/1", "/2/2", "/2/3", "/2/4", "/3/0", "/4/0", "/5"]
        );
        assert_eq!(plain.root_path(), "/");
        assert!(!plain.supports_json());

        let json = parse(
            "</>;ct=11543,</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>",
        )
        .unwrap();
        assert_eq!(paths(&json), paths(&plain));
        assert!(json.supports_json());
        assert_eq!(json.content_format(), Some(11543));

        let alternate = parse(concat!(
            r#"</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/1/1>,</lwm2m/2/0>,</lwm2m/2/1>,"#,
            "</lwm2m/2/2>,</lwm2m/2/3>,</lwm2m/2/4>,</lwm2m/3/0>,</lwm2m/4/0>,</lwm2m/5>"
        ))
        .unwrap();
        assert_eq!(paths(&alternate), paths(&plain));
        assert_eq!(alternate.root_path(), "/lwm2m");

        let versioned = parse(r#"</1/0>,</3/0>,</3303>;ver="1.1",</3303/0>"#).unwrap();
        assert_eq!(paths(&versioned), ["/1/0", "/3/0", "/3303/0"]);
        assert!(versioned.has_object(3303));
        assert_eq!(versioned.object_version(3303), Version::new(1, 1));
        assert_eq!(versioned.object_version(3), Version::V1_0);
        assert_eq!(
            parse("</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>").unwrap(),
            versioned
        );
    }

    #[test]
    fn leniency() {
        // Spaces after commas, the Security object, foreign links, duplicates.
        let links = parse(r#"</0/0>, </1/0>, </foo>;rt="x",</3/0>,</3/0>,</sensors/1>"#).unwrap();
        assert_eq!(paths(&links), ["/1/0", "/3/0"]);
        // Wakaama's root link carries rt and ct together.
        let wakaama = parse(r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>"#).unwrap();
        assert_eq!(wakaama.root_path(), "/");
        assert!(wakaama.supports_json());
        // Under an alternate root, plain links are foreign.
        let alt = parse(r#"</lwm2m/>;rt="oma.lwm2m";ct=11543,</3/0>,</lwm2m/1/0>"#).unwrap();
        assert_eq!(paths(&alt), ["/1/0"]);
        assert_eq!(alt.root_path(), "/lwm2m");
        assert!(alt.supports_json());
        assert!(parse("").unwrap().is_empty());
        assert_eq!(
            parse("</>;ct=1543,</3/0>").unwrap().content_format(),
            Some(1543)
        );
        assert!(parse("</>;ct=1543,</3/0>").unwrap().supports_json());
    }

    #[test]
    fn errors() {
        for bad in [
            "</1/0",
            "1/0",
            r#"</1/0>,</3>;rt="oma.lwm2m""#,
            r#"<lwm2m>;rt="oma.lwm2m""#,
            "</1/0>,</3303>;ver=x",
            "</>;ct=json,</1/0>",
            "</3/0/1>",
            "</65535>",
            "</2/65535>",
        ] {
            assert!(
                matches!(parse(bad), Err(LinksError::Invalid(_))),
                "{bad}: {:?}",
                parse(bad)
            );
        }
        assert_eq!(
            CompactObjectLinks::parse(b"</1/0>,</1/1>,</1/2>", 2),
            Err(LinksError::TooMany { limit: 2 })
        );
        assert!(CompactObjectLinks::parse(b"</1/0>,</1/1>,</1/2>", 3).is_ok());
    }

    #[test]
    fn queries() {
        let links = parse("</1/0>,</1/3>,</3/0>,</5>,</70>,</70/2>").unwrap();
        assert!(links.has_object(1) && links.has_object(5) && links.has_object(70));
        assert!(!links.has_object(2) && !links.has_object(4));
        assert_eq!(links.instances(1).collect::<Vec<_>>(), [0, 3]);
        assert_eq!(links.instances(5).count(), 0);
        assert_eq!(links.instances(70).collect::<Vec<_>>(), [2]);
        assert!(links.contains(Path::object(5).unwrap()));
        assert!(links.contains(Path::object_instance(70, 2).unwrap()));
        assert!(!links.contains(Path::object(1).unwrap()));
        assert!(!links.contains(Path::resource(3, 0, 1).unwrap()));
        assert_eq!(links.heap_size(), 5 * 4);
        assert_eq!(links.to_string(), "</1/0>,</1/3>,</3/0>,</5>,</70/2>");
    }

    #[test]
    fn display_round_trips() {
        for text in [
            r#"</lwm2m>;rt="oma.lwm2m";ct=11543,</lwm2m/1/0>,</lwm2m/3303>;ver="2.0""#,
            r#"</lwm2m>;rt="oma.lwm2m",</lwm2m/3303>;ver="2.0",</lwm2m/3303/4>"#,
            "</>;ct=11543,</1/0>",
            "</1/0>,</3/0>",
            "",
        ] {
            let links = parse(text).unwrap();
            assert_eq!(links.to_string(), text);
            assert_eq!(parse(&links.to_string()).unwrap(), links);
            assert_eq!(
                CompactObjectLinks::from_model(&links.to_model(), 1024).unwrap(),
                links
            );
        }
    }

    #[test]
    fn from_paths_and_parts() {
        let links = CompactObjectLinks::from_paths([
            Path::object_instance(3, 0).unwrap(),
            Path::object(0).unwrap(),
            Path::object_instance(1, 0).unwrap(),
            Path::ROOT,
            Path::resource(3, 0, 1).unwrap(),
            Path::object_instance(1, 0).unwrap(),
        ]);
        assert_eq!(paths(&links), ["/1/0", "/3/0"]);
        let (entries, versions, root, ct) = links.to_parts();
        let back = CompactObjectLinks::from_parts(
            entries.iter().rev().copied().collect(),
            versions.to_vec(),
            root.map(str::to_owned),
            ct,
        );
        assert_eq!(back, links);
    }
}
