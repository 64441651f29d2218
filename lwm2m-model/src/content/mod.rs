//! Payloads ↔ nodes: TLV, LwM2M JSON, plain text and opaque, typed by the object definitions
//! (digest §9.2 and §12).
//!
//! lwm2m-codec reads and writes the wire records; this module gives them meaning. A payload is
//! always decoded *for a request path* (the `target`), which says what shape to expect, and with
//! a [`Registry`], which says what type each resource has.
//!
//! | Target | TLV (11542) | JSON (11543) | Plain text (0) | Opaque (42) |
//! |---|---|---|---|---|
//! | `/o` | Object-Instance TLVs | `"bn":"/o/"` | ✗ | ✗ |
//! | `/o/i` | Resource TLVs (a wrapping Object-Instance TLV is accepted) | `"bn":"/o/i/"` | ✗ | ✗ |
//! | `/o/i/r` single | one Resource TLV | `"bn":"/o/i/r"` | the value | Opaque resources only |
//! | `/o/i/r` multiple | one Multiple-Resource TLV | `"bn":"/o/i/r/"` | ✗ | ✗ |
//! | `/o/i/r/ri` | Multiple-Resource TLV `r` ⊃ Resource-Instance TLV `ri` | `"bn":"/o/i/r/ri"` | the value | Opaque resources only |
//!
//! ✗ is [`ContentError::FormatNotForTarget`] (4.00) on decode and [`ContentError::NotAcceptable`]
//! (4.06) on encode; link-format (40) is not a value format at all (4.15 on decode, 4.06 on
//! encode). [`ContentError::code`] maps every error to its CoAP code.
//!
//! - [`decode`] returns a [`Content`]: the [`Node`] at the target, plus the paths decoded without
//!   a definition ([`Content::untyped`]: an unknown resource or object keeps its raw TLV bytes, or
//!   its JSON type, instead of failing the payload), the time of JSON notifications, and the
//!   instances of other objects a JSON object-link hierarchy carries.
//!   [`decode_timestamped`] returns one [`Content`] per time of a JSON time series.
//! - [`encode`] / [`encode_into`] write a node; values are converted to their resource's type
//!   where that loses nothing (an Integer for a Float resource). Output is deterministic: nodes
//!   hold ordered maps, and the JSON form is the compact one of the test vectors.
//! - [`decode_typed`] / [`encode_typed`] are the fast path for a [`TypedInstance`] (the generated
//!   structs of lwm2m-objects): no node tree in between.
//!
//! ```
//! use lwm2m_model::content::{self, ContentFormat};
//! use lwm2m_model::{DataType, Node, ObjectDefinition, Operations, Path, Registry, ResourceDefinition, Value};
//!
//! static RESOURCES: [ResourceDefinition; 2] = [
//!     ResourceDefinition::new(9, "Battery Level", Operations::Read, Some(DataType::Integer)),
//!     ResourceDefinition::new(13, "Current Time", Operations::ReadWrite, Some(DataType::Time)),
//! ];
//! static DEVICE: ObjectDefinition = ObjectDefinition::new(3, "Device", "urn:oma:lwm2m:oma:3", &RESOURCES);
//! let registry = Registry::from_static(&[&DEVICE])?;
//!
//! let target = Path::parse("/3/0")?;
//! let tlv = [0xC1, 0x09, 0x64, 0xC4, 0x0D, 0x51, 0x82, 0x42, 0x8F];
//! let content = content::decode(ContentFormat::Tlv, &target, &tlv, &registry)?;
//! let Node::ObjectInstance(instance) = &content.node else { unreachable!() };
//! assert_eq!(instance.value(9), Some(&Value::Integer(100)));
//! assert_eq!(instance.value(13), Some(&Value::Time(1_367_491_215)));
//!
//! let json = content::encode(ContentFormat::Json, &target, &content.node, &registry)?;
//! assert_eq!(json, br#"{"bn":"/3/0/","e":[{"n":"9","v":100},{"n":"13","v":1367491215}]}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod check;
mod error;
mod json;
mod text;
mod tlv;
mod typed;
mod value;

use alloc::vec::Vec;

use bytes::BufMut;

pub use error::{ContentError, FormatRule, Location, NodeProblem, RawPath};
pub use lwm2m_codec::ContentFormat;
pub use typed::{
    present, store, store_instance, store_mandatory, write_multiple, write_optional,
    write_optional_multiple, write_single, FieldError, FieldValue, TypedInstance, ValueSink,
};
pub use value::ValueRef;

use crate::definition::{ObjectDefinition, Registry};
use crate::node::{Node, Object, ObjectInstance, Resource, ResourceValue};
use crate::path::{Level, Path};

/// What a payload decoded to.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// The node at the request path.
    pub node: Node,
    /// Instances of other objects the payload carried because the target links to them through
    /// object links (the TS's JSON hierarchy with `"bn":"/"`), one [`Object`] per object id in
    /// id order. Empty for every other payload.
    pub linked: Vec<Object>,
    /// The resources (or, for a resource-instance target, the resource instance) decoded without
    /// a definition, sorted: the registry does not know the object or the resource, or the
    /// resource is executable. Their values are the raw bytes ([`Value::Opaque`](crate::Value))
    /// for TLV, plain text and opaque, and the JSON value's own type for JSON.
    pub untyped: Vec<Path>,
    /// The time of the values (`bt` + `t`) in a JSON payload: seconds, absolute when positive,
    /// relative to now when zero or negative (SenML). `None` when the payload has no time.
    pub time: Option<i64>,
}

impl Content {
    /// Content with just a node.
    pub fn new(node: Node) -> Self {
        Content {
            node,
            linked: Vec::new(),
            untyped: Vec::new(),
            time: None,
        }
    }

    fn with_untyped(node: Node, mut untyped: Vec<Path>) -> Self {
        untyped.sort_unstable();
        untyped.dedup();
        Content {
            untyped,
            ..Content::new(node)
        }
    }
}

/// Decodes `payload`, in `format`, as the content of `target`, typing values by `registry`.
///
/// A JSON time series (several times, as in notifications with stored values) is merged into one
/// node holding the newest value of each path, and [`Content::time`] is the newest time; use
/// [`decode_timestamped`] to get every sample.
///
/// ```
/// use lwm2m_model::content::{self, ContentFormat};
/// use lwm2m_model::{Node, Path, Registry, Value};
///
/// // Resource 30000 of object 3 is in no registry: its value stays raw.
/// let target = Path::parse("/3/0/30000")?;
/// let content = content::decode(ContentFormat::Tlv, &target, &[0xE1, 0x75, 0x30, 0x07], &Registry::new())?;
/// assert_eq!(content.untyped, [target]);
/// let Node::Resource(resource) = &content.node else { unreachable!() };
/// assert_eq!(resource.as_single(), Some(&Value::Opaque(vec![7])));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode(
    format: ContentFormat,
    target: &Path,
    payload: &[u8],
    registry: &Registry,
) -> Result<Content, ContentError> {
    match format {
        ContentFormat::Json => Ok(merge(json::decode(target, payload, registry)?)),
        _ => decode_single(format, target, payload, registry),
    }
}

fn decode_single(
    format: ContentFormat,
    target: &Path,
    payload: &[u8],
    registry: &Registry,
) -> Result<Content, ContentError> {
    match format {
        ContentFormat::Tlv => tlv::decode(target, payload, registry),
        ContentFormat::Text => text::decode_text(target, payload, registry),
        ContentFormat::Opaque => text::decode_opaque(target, payload, registry),
        ContentFormat::Json => Ok(merge(json::decode(target, payload, registry)?)),
        ContentFormat::LinkFormat => Err(ContentError::UnsupportedFormat { format }),
    }
}

/// Decodes like [`decode`], but returns one [`Content`] per distinct time of a JSON payload, in
/// the order the times first appear (each with its [`Content::time`]). Every other payload gives
/// exactly one [`Content`] without a time.
///
/// ```
/// use lwm2m_model::content::{self, ContentFormat};
/// use lwm2m_model::{Path, Registry, Value};
///
/// let payload = br#"{"bn":"/72/","bt":25462634,"e":[{"n":"1/2","v":22.4,"t":-5},{"n":"1/2","v":22.9,"t":-30}]}"#;
/// let samples = content::decode_timestamped(ContentFormat::Json, &Path::parse("/72")?, payload, &Registry::new())?;
/// let times: Vec<_> = samples.iter().map(|s| s.time).collect();
/// assert_eq!(times, [Some(25462629), Some(25462604)]);
/// let at = Path::parse("/72")?;
/// let value = samples[1].node.get(&at, &Path::parse("/72/1/2")?).and_then(|n| n.as_value());
/// assert_eq!(value, Some(&Value::Float(22.9)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_timestamped(
    format: ContentFormat,
    target: &Path,
    payload: &[u8],
    registry: &Registry,
) -> Result<Vec<Content>, ContentError> {
    match format {
        ContentFormat::Json => json::decode(target, payload, registry),
        _ => Ok(alloc::vec![decode_single(
            format, target, payload, registry
        )?]),
    }
}

/// Merges time groups oldest first (no time counts as 0, "now" in SenML), so each path keeps its
/// newest value.
fn merge(mut groups: Vec<Content>) -> Content {
    if groups.len() > 1 {
        groups.sort_by_key(|c| c.time.unwrap_or(0));
    }
    let mut groups = groups.into_iter();
    let Some(mut merged) = groups.next() else {
        // `json::decode` always returns at least one group; an empty object is the neutral answer.
        return Content::new(Node::Object(Object::new(0)));
    };
    for later in groups {
        merge_node(&mut merged.node, later.node);
        for object in later.linked {
            match merged.linked.iter_mut().find(|o| o.id() == object.id()) {
                Some(into) => merge_object(into, object),
                None => merged.linked.push(object),
            }
        }
        merged.linked.sort_by_key(Object::id);
        merged.untyped.extend(later.untyped);
        merged.time = later.time;
    }
    merged.untyped.sort_unstable();
    merged.untyped.dedup();
    merged
}

fn merge_node(into: &mut Node, from: Node) {
    match (into, from) {
        (Node::Object(into), Node::Object(from)) => merge_object(into, from),
        (Node::ObjectInstance(into), Node::ObjectInstance(from)) => merge_instance(into, from),
        (Node::Resource(into), Node::Resource(from)) => merge_resource(into, from),
        (into, from) => *into = from,
    }
}

fn merge_object(into: &mut Object, mut from: Object) {
    let ids: Vec<u16> = from.instances().map(ObjectInstance::id).collect();
    for id in ids {
        let Some(instance) = from.remove(id) else {
            continue;
        };
        match into.instance_mut(id) {
            Some(existing) => merge_instance(existing, instance),
            None => {
                into.insert(instance);
            }
        }
    }
}

fn merge_instance(into: &mut ObjectInstance, mut from: ObjectInstance) {
    let ids: Vec<u16> = from.resources().map(Resource::id).collect();
    for id in ids {
        let Some(resource) = from.remove(id) else {
            continue;
        };
        match into.resource_mut(id) {
            Some(existing) => merge_resource(existing, resource),
            None => {
                into.insert(resource);
            }
        }
    }
}

fn merge_resource(into: &mut Resource, from: Resource) {
    match (into.value_mut(), from.into_value()) {
        (ResourceValue::Multiple(into), ResourceValue::Multiple(from)) => into.extend(from),
        (slot, from) => *slot = from,
    }
}

/// Encodes `node`, the content of `target`, in `format`.
///
/// ```
/// use lwm2m_model::content::{self, ContentFormat};
/// use lwm2m_model::{Node, Path, Registry, Resource};
///
/// let target = Path::parse("/3/0/7")?;
/// let node = Node::Resource(Resource::multiple(7, [(0, 3800), (1, 5000)]));
/// let tlv = content::encode(ContentFormat::Tlv, &target, &node, &Registry::new())?;
/// assert_eq!(tlv, [0x88, 0x07, 0x08, 0x42, 0x00, 0x0E, 0xD8, 0x42, 0x01, 0x13, 0x88]);
/// // Plain text carries one value only: a Read of a multiple resource in text is 4.06.
/// let err = content::encode(ContentFormat::Text, &target, &node, &Registry::new()).unwrap_err();
/// assert_eq!(err.code(), lwm2m_codec::coap::Code::NOT_ACCEPTABLE);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode(
    format: ContentFormat,
    target: &Path,
    node: &Node,
    registry: &Registry,
) -> Result<Vec<u8>, ContentError> {
    let mut out = Vec::with_capacity(initial_capacity(format));
    encode_into(format, target, node, registry, &mut out)?;
    Ok(out)
}

/// Encodes like [`encode`], appending to `out` (a `Vec<u8>`, a `BytesMut`, a fixed `&mut [u8]`
/// ...). On error `out` may hold part of the payload.
pub fn encode_into<B: BufMut>(
    format: ContentFormat,
    target: &Path,
    node: &Node,
    registry: &Registry,
    out: &mut B,
) -> Result<(), ContentError> {
    if format == ContentFormat::LinkFormat {
        return Err(ContentError::NotAcceptable {
            format,
            target: *target,
            rule: FormatRule::NotAValueFormat,
        });
    }
    let definition = target.object_id().and_then(|o| registry.get(o));
    check::check_node(target, node, definition)?;
    match format {
        ContentFormat::Tlv => tlv::encode(target, node, definition, out),
        ContentFormat::Json => json::encode(target, node, definition, out),
        ContentFormat::Text => text::encode_text(target, node, definition, out),
        ContentFormat::Opaque => text::encode_opaque(target, node, definition, out),
        ContentFormat::LinkFormat => Ok(()),
    }
}

/// Decodes an instance payload for `target` (`/o/i`, where `o` is `T`'s object) straight into a
/// typed instance, without a node tree. TLV and JSON only (plain text and opaque carry one
/// value, not an instance).
///
/// Reads what [`decode`] followed by the struct's `from_instance` reads: resources the
/// definition does not know are skipped, every mandatory resource must be present
/// ([`ContentError::MissingMandatory`]), a value for an executable resource is
/// [`ContentError::ExecutableValue`], and a JSON payload with times is
/// [`ContentError::Timestamped`].
pub fn decode_typed<T: TypedInstance>(
    format: ContentFormat,
    target: &Path,
    payload: &[u8],
) -> Result<T, ContentError> {
    match format {
        ContentFormat::Tlv => tlv::decode_typed(target, payload),
        ContentFormat::Json => json::decode_typed(target, payload),
        ContentFormat::Text | ContentFormat::Opaque => Err(ContentError::FormatNotForTarget {
            format,
            target: *target,
            rule: FormatRule::SingleValueOnly,
        }),
        ContentFormat::LinkFormat => Err(ContentError::UnsupportedFormat { format }),
    }
}

/// Encodes a typed instance as the content of `target` (`/o/i`, where `o` is `T`'s object), in
/// TLV or JSON, without a node tree.
pub fn encode_typed<T: TypedInstance>(
    format: ContentFormat,
    target: &Path,
    value: &T,
) -> Result<Vec<u8>, ContentError> {
    let mut out = Vec::with_capacity(initial_capacity(format));
    encode_typed_into(format, target, value, &mut out)?;
    Ok(out)
}

/// Encodes like [`encode_typed`], appending to `out`.
pub fn encode_typed_into<T: TypedInstance, B: BufMut>(
    format: ContentFormat,
    target: &Path,
    value: &T,
    out: &mut B,
) -> Result<(), ContentError> {
    match format {
        ContentFormat::Tlv => tlv::encode_typed(target, value, out),
        ContentFormat::Json => json::encode_typed(target, value, out),
        ContentFormat::Text | ContentFormat::Opaque | ContentFormat::LinkFormat => {
            Err(ContentError::NotAcceptable {
                format,
                target: *target,
                rule: if format == ContentFormat::LinkFormat {
                    FormatRule::NotAValueFormat
                } else {
                    FormatRule::SingleValueOnly
                },
            })
        }
    }
}

/// A first buffer size that holds a typical instance without regrowing.
const fn initial_capacity(format: ContentFormat) -> usize {
    match format {
        ContentFormat::Tlv => 128,
        ContentFormat::Json => 512,
        _ => 32,
    }
}

/// Checks that `target` is an instance path of the typed object `definition` describes.
fn typed_target(target: &Path, definition: &ObjectDefinition) -> Result<(), ContentError> {
    if target.level() == Level::ObjectInstance && target.object_id() == Some(definition.id) {
        Ok(())
    } else {
        Err(ContentError::TypedTarget {
            target: *target,
            object: definition.id,
        })
    }
}
