//! The object-link payload of Register and Update (digest §5 item 1, §8.1): the objects and
//! object instances a client has, in CoRE link-format.
//!
//! ```text
//! </lwm2m>;rt="oma.lwm2m";ct=11543,</lwm2m/1/0>,</lwm2m/3/0>,</lwm2m/5>,</lwm2m/3303>;ver="1.1",</lwm2m/3303/0>
//! ```
//!
//! Reading is lenient where the digest asks it to be: links outside the LwM2M tree (not under
//! the alternate path, or whose first segment is not a number, such as `</sensors/temp>`),
//! unknown attributes and bare attribute items are ignored. Links that start like an object id
//! but are not `/o` or `/o/i` with ids 0-65534 are errors (4.00 Bad Request), as are a `ver` that
//! is not `major.minor` and a `ct` that is not a number.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use bytes::BufMut;
use lwm2m_codec::link::{
    strip_root, Link, LinkError, LinkFormat, LinkPath, LinkPathError, LinkWriteError, LinkWriter,
    Segments,
};

use crate::path::MAX_ID;
use crate::version::Version;

/// The `rt` value that marks the root (alternate path) link.
pub const LWM2M_RESOURCE_TYPE: &str = "oma.lwm2m";

/// Why a Register/Update payload is not a valid object-link list. A server answers 4.00.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectLinksError {
    /// The payload is not link-format.
    #[error("the object links are not valid link-format: {0}")]
    Syntax(#[from] LinkError),
    /// A link under the LwM2M tree whose path is not numeric ids.
    #[error("link <{target}>: {source}")]
    InvalidPath {
        /// The link target.
        target: String,
        /// What is wrong with it.
        source: LinkPathError,
    },
    /// A link to a resource (or deeper) or to the reserved id 65535: Register lists objects and
    /// object instances only.
    #[error("link <{target}> is not an object /o or an object instance /o/i with ids 0-65534")]
    NotAnObjectOrInstance {
        /// The link target.
        target: String,
    },
    /// A `ver` that is not `major.minor`.
    #[error("link <{target}>: ver={value:?} is not a major.minor version")]
    InvalidVersion {
        /// The link target.
        target: String,
        /// The value as written.
        value: String,
    },
    /// A `ct` on the root link that is not a content-format number.
    #[error("root link: ct={value:?} is not a content-format number")]
    InvalidContentFormat {
        /// The value as written.
        value: String,
    },
    /// An alternate path with a numeric segment (the TS forbids them: `/3` could not be told
    /// apart from object 3), or two different root links.
    #[error("invalid alternate path <{path}>")]
    InvalidAlternatePath {
        /// The root link's target.
        path: String,
    },
}

/// The root link: `</>` or the alternate path, e.g. `</lwm2m>;rt="oma.lwm2m";ct=11543`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootLink {
    /// The path every DM request is prefixed with, e.g. `/lwm2m`; `/` for none.
    pub path: String,
    /// Whether the link carries `rt="oma.lwm2m"` (an alternate path always does).
    pub resource_type: bool,
    /// `ct`: the content format the client supports for all objects (11543 announces JSON).
    pub content_format: Option<u16>,
}

/// What a Register/Update payload says about one object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegisteredObject {
    /// `ver` on the object link; `None` means 1.0.
    pub version: Option<Version>,
    /// The object instances, in id order (empty for an object listed as `</o>` alone).
    pub instances: BTreeSet<u16>,
}

/// The object links of a Register or Update payload.
///
/// ```
/// use lwm2m_model::registration::ObjectLinks;
/// use lwm2m_model::Version;
///
/// let payload = br#"</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/3/0>,</lwm2m/5>,</lwm2m/3303>;ver="1.1",</lwm2m/3303/0>"#;
/// let links = ObjectLinks::parse(payload)?;
/// assert_eq!(links.alternate_path(), "/lwm2m");
/// assert_eq!(links.objects[&3303].version, Some(Version::new(1, 1)));
/// assert!(links.objects[&5].instances.is_empty());
/// assert_eq!(links.instances().collect::<Vec<_>>(), [(1, 0), (3, 0), (3303, 0)]);
/// assert_eq!(links.to_vec()?, payload);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectLinks {
    /// The root link, if the payload has one.
    pub root: Option<RootLink>,
    /// The objects by id.
    pub objects: BTreeMap<u16, RegisteredObject>,
}

impl ObjectLinks {
    /// Parses a Register/Update payload.
    pub fn parse(payload: &[u8]) -> Result<ObjectLinks, ObjectLinksError> {
        let links = LinkFormat::parse(payload)?;
        let root = root_link(&links)?;
        let alternate = root.as_ref().map_or("", |r| r.path.as_str());
        let mut objects: BTreeMap<u16, RegisteredObject> = BTreeMap::new();
        for link in links.links() {
            let Some(rest) = strip_root(link.target(), alternate) else {
                // Not in the LwM2M tree: some other resource of the client.
                continue;
            };
            let first = Segments::new(rest).next().unwrap_or_default();
            if !first.bytes().all(|b| b.is_ascii_digit()) {
                // `</sensors/temp>`: not an object link either.
                continue;
            }
            let path = LinkPath::parse(rest).map_err(|source| ObjectLinksError::InvalidPath {
                target: link.target().to_string(),
                source,
            })?;
            let not_object = || ObjectLinksError::NotAnObjectOrInstance {
                target: link.target().to_string(),
            };
            if path.ids().iter().any(|&id| id > MAX_ID) {
                return Err(not_object());
            }
            match *path.ids() {
                [] => {}
                [object] => {
                    let entry = objects.entry(object).or_default();
                    if let Some(version) = version_of(&link)? {
                        entry.version = Some(version);
                    }
                }
                [object, instance] => {
                    objects
                        .entry(object)
                        .or_default()
                        .instances
                        .insert(instance);
                }
                _ => return Err(not_object()),
            }
        }
        Ok(ObjectLinks { root, objects })
    }

    /// The alternate path (`/lwm2m`), or `""` when requests go to `/o/i/r` directly.
    pub fn alternate_path(&self) -> &str {
        match &self.root {
            Some(root) if root.path != "/" => &root.path,
            _ => "",
        }
    }

    /// `ct` of the root link: the content format the client supports for every object.
    pub fn content_format(&self) -> Option<u16> {
        self.root.as_ref().and_then(|r| r.content_format)
    }

    /// Every object instance, as (object id, instance id), in order.
    pub fn instances(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        self.objects
            .iter()
            .flat_map(|(&o, object)| object.instances.iter().map(move |&i| (o, i)))
    }

    /// Adds an object instance (and its object).
    pub fn insert_instance(&mut self, object: u16, instance: u16) {
        self.objects
            .entry(object)
            .or_default()
            .instances
            .insert(instance);
    }

    /// Writes the payload: the root link first (if any), then per object in id order the object
    /// link (when it has a `ver` or no instance) and its instance links.
    pub fn write<B: BufMut>(&self, out: &mut B) -> Result<(), LinkWriteError> {
        let mut w = LinkWriter::new(out);
        let alternate = self.alternate_path();
        if let Some(root) = &self.root {
            w.link_path(alternate, &[])?;
            if root.resource_type {
                w.rt(LWM2M_RESOURCE_TYPE)?;
            }
            if let Some(ct) = root.content_format {
                w.ct(ct)?;
            }
        }
        for (&id, object) in &self.objects {
            if object.version.is_some() || object.instances.is_empty() {
                w.link_path(alternate, &[id])?;
                if let Some(version) = object.version {
                    let mut text = String::new();
                    // Writing to a String cannot fail.
                    let _ = core::fmt::write(&mut text, format_args!("{version}"));
                    w.ver(&text)?;
                }
            }
            for &instance in &object.instances {
                w.link_path(alternate, &[id, instance])?;
            }
        }
        Ok(())
    }

    /// The payload as a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, LinkWriteError> {
        let mut out = Vec::new();
        self.write(&mut out)?;
        Ok(out)
    }
}

/// The root link: the one with `rt="oma.lwm2m"` (two different ones are an error), else a plain
/// `</>` (which then may carry `ct`).
fn root_link(links: &LinkFormat<'_>) -> Result<Option<RootLink>, ObjectLinksError> {
    let mut tagged: Option<Link<'_>> = None;
    let mut plain: Option<Link<'_>> = None;
    for link in links.links() {
        if link
            .value("rt")
            .is_some_and(|v| v.eq_str(LWM2M_RESOURCE_TYPE))
        {
            match &tagged {
                Some(first) if first.target() != link.target() => {
                    return Err(ObjectLinksError::InvalidAlternatePath {
                        path: link.target().to_string(),
                    })
                }
                Some(_) => {}
                None => tagged = Some(link),
            }
        } else if link.target() == "/" && plain.is_none() {
            plain = Some(link);
        }
    }
    let resource_type = tagged.is_some();
    let Some(link) = tagged.or(plain) else {
        return Ok(None);
    };
    let path = link.target();
    if !path.starts_with('/')
        || Segments::new(path).any(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ObjectLinksError::InvalidAlternatePath {
            path: path.to_string(),
        });
    }
    let content_format = match link.value("ct") {
        None => None,
        Some(v) => Some(
            v.as_u16()
                .map_err(|_| ObjectLinksError::InvalidContentFormat {
                    value: v.raw().to_string(),
                })?,
        ),
    };
    let path = match path.strip_suffix('/') {
        Some("") | None => path.to_string(),
        Some(trimmed) => trimmed.to_string(),
    };
    Ok(Some(RootLink {
        path,
        resource_type,
        content_format,
    }))
}

/// The `ver` of an object link (quoted or not, as the digest asks).
fn version_of(link: &Link<'_>) -> Result<Option<Version>, ObjectLinksError> {
    let Some(value) = link.value("ver") else {
        return Ok(None);
    };
    let text = value.unescaped();
    Version::parse(&text)
        .map(Some)
        .map_err(|_| ObjectLinksError::InvalidVersion {
            target: link.target().to_string(),
            value: value.raw().to_string(),
        })
}
