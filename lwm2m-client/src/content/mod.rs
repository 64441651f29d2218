//! The content funnel: [`Node`] ⇄ payload bytes for TLV, LwM2M JSON, plain text and opaque.
//!
//! Every encode and decode of the device-management layer goes through [`encode`] and
//! [`decode`] (and [`decode_create`] for the payload of a Create). This is the one file to change
//! when `lwm2m_model::content` takes over the job: the DM layer sees nothing else.
//!
//! Decoding needs the object definition (TLV carries no types; text needs the resource type);
//! encoding does not (a [`Value`] knows its type). A resource the definition does not know is
//! decoded as Opaque (TLV) or as the JSON value's natural type, and the DM layer decides what to
//! do with it. Every fault is a [`DmError`] with the code the TS gives: 4.00 for a payload that
//! does not match its format or the resource types, 4.15 for a format that cannot carry the
//! target, 4.06 (on encode) for an Accept that cannot be produced.

mod json;
mod text;
mod tlv;

use alloc::vec::Vec;

use lwm2m_codec::ContentFormat;
use lwm2m_model::{DataType, Level, Node, ObjectDefinition, ObjectInstance, Path, Value};

use crate::error::DmError;

/// Encodes `node`, the content at `path`, in `format`.
///
/// Text and opaque only carry a single-instance resource (opaque only an Opaque one); anything
/// else is [`DmError::NotAcceptable`].
pub(crate) fn encode(format: ContentFormat, path: &Path, node: &Node) -> Result<Vec<u8>, DmError> {
    match format {
        ContentFormat::Tlv => tlv::encode(path, node),
        ContentFormat::Json => json::encode(path, node),
        ContentFormat::Text => text::encode(path, node),
        ContentFormat::Opaque => match single_value(node) {
            Some(Value::Opaque(bytes)) => Ok(bytes.clone()),
            _ => Err(not_acceptable(path, format)),
        },
        ContentFormat::LinkFormat => Err(not_acceptable(path, format)),
    }
}

/// Decodes a Write payload for `path` (an object instance or a resource of `definition`): an
/// [`Node::ObjectInstance`] or a [`Node::Resource`].
pub(crate) fn decode(
    format: ContentFormat,
    path: &Path,
    payload: &[u8],
    definition: &ObjectDefinition,
) -> Result<Node, DmError> {
    match (format, path.level()) {
        (ContentFormat::Tlv, Level::ObjectInstance | Level::Resource) => {
            tlv::decode(path, payload, definition)
        }
        (ContentFormat::Json, Level::ObjectInstance | Level::Resource) => {
            json::decode(path, payload, definition)
        }
        (ContentFormat::Text | ContentFormat::Opaque, Level::Resource) => {
            text::decode(format, path, payload, definition)
        }
        _ => Err(unsupported(path, format)),
    }
}

/// Decodes the payload of a Create on `/o` (`path`): the requested instance id, if the payload
/// names one, and the instance's resources.
pub(crate) fn decode_create(
    format: ContentFormat,
    path: &Path,
    payload: &[u8],
    definition: &ObjectDefinition,
) -> Result<(Option<u16>, ObjectInstance), DmError> {
    match format {
        ContentFormat::Tlv => tlv::decode_create(path, payload, definition),
        ContentFormat::Json => json::decode_create(path, payload, definition),
        _ => Err(unsupported(path, format)),
    }
}

/// The value of a single-instance resource node.
fn single_value(node: &Node) -> Option<&Value> {
    match node {
        Node::Resource(r) => r.as_single(),
        Node::ResourceInstance(ri) => Some(&ri.value),
        Node::Object(_) | Node::ObjectInstance(_) => None,
    }
}

fn not_acceptable(path: &Path, format: ContentFormat) -> DmError {
    DmError::NotAcceptable {
        path: *path,
        format: format.number(),
    }
}

fn unsupported(path: &Path, format: ContentFormat) -> DmError {
    DmError::UnsupportedContentFormat {
        path: *path,
        format: Some(format.number()),
    }
}

/// The data type a decoder should read resource `resource_id` as: the definition's, Opaque for
/// an unknown (or executable) resource.
fn data_type_of(definition: &ObjectDefinition, resource_id: u16) -> DataType {
    definition
        .resource(resource_id)
        .and_then(|r| r.data_type)
        .unwrap_or(DataType::Opaque)
}

/// Whether the definition declares resource `resource_id` as multiple-instance (`None`: unknown).
fn is_multiple(definition: &ObjectDefinition, resource_id: u16) -> Option<bool> {
    definition.resource(resource_id).map(|r| r.is_multiple())
}

/// The resource path `path` (an instance or resource path) with resource `id`.
fn resource_path(path: &Path, id: u16) -> Path {
    let object = path.object_id().unwrap_or_default();
    let instance = path.instance_id().unwrap_or_default();
    Path::resource(object, instance, id).unwrap_or(*path)
}

#[cfg(test)]
mod tests;
