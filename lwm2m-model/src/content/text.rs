//! Single values ↔ plain text (0) and opaque (42), digest §12.2-12.3.
//!
//! Both carry exactly one value: a single-instance resource (`/o/i/r`) or one resource instance
//! (`/o/i/r/ri`). Plain text writes the value in its text form (Opaque as base64); opaque is the
//! raw bytes of an Opaque resource. A resource the registry does not know keeps the payload bytes
//! as [`Value::Opaque`] (listed in [`Content::untyped`](super::Content::untyped)); encoding such
//! a value as text writes it as an Opaque (base64), since a node does not remember how a value
//! was received.

use bytes::BufMut;
use lwm2m_codec::text::{self, BufMutWriter, TextError};
use lwm2m_codec::ContentFormat;

use crate::content::check::resource_value;
use crate::content::error::{FormatRule, Location};
use crate::content::value::Slot;
use crate::content::{Content, ContentError, ValueRef};
use crate::definition::{ObjectDefinition, Registry};
use crate::node::{Node, Resource, ResourceInstance, ResourceValue};
use crate::path::{Level, Path};
use crate::value::{DataType, ObjectLink, Value};

/// What a single-value payload is for: the resource's slot, refusing targets that hold more than
/// one value.
fn single_value_slot(
    format: ContentFormat,
    target: &Path,
    registry: &Registry,
) -> Result<Slot, ContentError> {
    let not_for_target = |rule| ContentError::FormatNotForTarget {
        format,
        target: *target,
        rule,
    };
    let level = target.level();
    if !matches!(level, Level::Resource | Level::ResourceInstance) {
        return Err(if level == Level::Root {
            ContentError::RootTarget
        } else {
            not_for_target(FormatRule::SingleValueOnly)
        });
    }
    let slot = Slot::of(
        target.object_id().and_then(|o| registry.get(o)),
        target.resource_id().unwrap_or_default(),
    );
    match (slot, level) {
        (Slot::Typed { multiple: true, .. }, Level::Resource) => {
            Err(not_for_target(FormatRule::SingleValueOnly))
        }
        (
            Slot::Typed {
                multiple: false, ..
            },
            Level::ResourceInstance,
        ) => Err(ContentError::Multiplicity {
            path: target.parent().unwrap_or(*target),
            expected_multiple: false,
            location: Location::Payload,
        }),
        _ => Ok(slot),
    }
}

/// The node of a single value at `target` (a resource or resource instance path).
fn single_node(target: &Path, value: Value) -> Node {
    match target.resource_instance_id() {
        Some(id) => Node::ResourceInstance(ResourceInstance { id, value }),
        None => Node::Resource(Resource::single(
            target.resource_id().unwrap_or_default(),
            value,
        )),
    }
}

/// Decodes a plain-text payload for `target`.
pub(crate) fn decode_text(
    target: &Path,
    payload: &[u8],
    registry: &Registry,
) -> Result<Content, ContentError> {
    let slot = single_value_slot(ContentFormat::Text, target, registry)?;
    let Slot::Typed { data_type, .. } = slot else {
        return Ok(Content::with_untyped(
            single_node(target, Value::Opaque(payload.to_vec())),
            alloc::vec![*target],
        ));
    };
    let value = parse(payload, data_type).map_err(|source| ContentError::Text {
        at: *target,
        location: Location::Payload,
        source,
    })?;
    Ok(Content::new(single_node(target, value)))
}

fn parse(payload: &[u8], data_type: DataType) -> Result<Value, TextError> {
    Ok(match data_type {
        DataType::String => Value::String(text::parse_string(payload)?.into()),
        DataType::Integer => Value::Integer(text::parse_integer(payload)?),
        DataType::Float => Value::Float(text::parse_float(payload)?),
        DataType::Boolean => Value::Boolean(text::parse_bool(payload)?),
        DataType::Opaque => Value::Opaque(text::parse_opaque(payload)?),
        DataType::Time => Value::Time(text::parse_time(payload)?),
        DataType::Objlnk => {
            let (object, instance) = text::parse_objlnk(payload)?;
            Value::Objlnk(ObjectLink::new(object, instance))
        }
    })
}

/// Decodes an opaque payload for `target`, which must be an Opaque resource (or unknown).
pub(crate) fn decode_opaque(
    target: &Path,
    payload: &[u8],
    registry: &Registry,
) -> Result<Content, ContentError> {
    let node = single_node(target, Value::Opaque(payload.to_vec()));
    match single_value_slot(ContentFormat::Opaque, target, registry)? {
        Slot::Typed {
            data_type: DataType::Opaque,
            ..
        } => Ok(Content::new(node)),
        Slot::Typed { .. } => Err(ContentError::FormatNotForTarget {
            format: ContentFormat::Opaque,
            target: *target,
            rule: FormatRule::OpaqueOnly,
        }),
        Slot::Executable | Slot::Unknown => Ok(Content::with_untyped(node, alloc::vec![*target])),
    }
}

/// The one value of a node for a single-value format, typed by its definition; the error for a
/// node holding several values.
fn single_value<'n>(
    format: ContentFormat,
    target: &Path,
    node: &'n Node,
    definition: Option<&ObjectDefinition>,
) -> Result<ValueRef<'n>, ContentError> {
    let resource_id = target.resource_id().unwrap_or_default();
    let value = match node {
        Node::Resource(resource) => match resource.value() {
            ResourceValue::Single(value) => value,
            ResourceValue::Multiple(_) => {
                return Err(ContentError::NotAcceptable {
                    format,
                    target: *target,
                    rule: FormatRule::SingleValueOnly,
                })
            }
        },
        Node::ResourceInstance(instance) => &instance.value,
        Node::Object(_) | Node::ObjectInstance(_) => {
            return Err(ContentError::NotAcceptable {
                format,
                target: *target,
                rule: FormatRule::SingleValueOnly,
            })
        }
    };
    Ok(resource_value(definition, resource_id, value))
}

/// Writes `node` (already checked) as plain text.
pub(crate) fn encode_text<B: BufMut>(
    target: &Path,
    node: &Node,
    definition: Option<&ObjectDefinition>,
    out: &mut B,
) -> Result<(), ContentError> {
    let value = single_value(ContentFormat::Text, target, node, definition)?;
    let mut w = BufMutWriter(out);
    let written = match value {
        ValueRef::String(s) => text::write_string(&mut w, s).map_err(TextError::from),
        ValueRef::Integer(v) => text::write_integer(&mut w, v).map_err(TextError::from),
        ValueRef::Float(v) => text::write_float(&mut w, v),
        ValueRef::Boolean(v) => text::write_bool(&mut w, v).map_err(TextError::from),
        ValueRef::Opaque(v) => text::write_opaque(&mut w, v).map_err(TextError::from),
        ValueRef::Time(v) => text::write_time(&mut w, v).map_err(TextError::from),
        ValueRef::Objlnk(v) => {
            text::write_objlnk(&mut w, v.object_id, v.instance_id).map_err(TextError::from)
        }
    };
    written.map_err(|source| ContentError::TextWrite {
        at: *target,
        source,
    })
}

/// Writes `node` (already checked) as opaque: the bytes of an Opaque value.
pub(crate) fn encode_opaque<B: BufMut>(
    target: &Path,
    node: &Node,
    definition: Option<&ObjectDefinition>,
    out: &mut B,
) -> Result<(), ContentError> {
    let resource_id = target.resource_id().unwrap_or_default();
    let not_opaque = ContentError::NotAcceptable {
        format: ContentFormat::Opaque,
        target: *target,
        rule: FormatRule::OpaqueOnly,
    };
    if let Slot::Typed { data_type, .. } = Slot::of(definition, resource_id) {
        if data_type != DataType::Opaque {
            return Err(not_opaque);
        }
    }
    let ValueRef::Opaque(bytes) = single_value(ContentFormat::Opaque, target, node, definition)?
    else {
        return Err(not_opaque);
    };
    if out.remaining_mut() < bytes.len() {
        return Err(ContentError::TextWrite {
            at: *target,
            source: TextError::Write,
        });
    }
    out.put_slice(bytes);
    Ok(())
}
