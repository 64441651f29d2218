//! Plain text (0) and opaque (42) for the content funnel: one single-instance resource value.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use lwm2m_codec::{text, ContentFormat};
use lwm2m_model::{DataType, Node, ObjectDefinition, ObjectLink, Path, Resource, Value};

use super::{not_acceptable, single_value, unsupported};
use crate::error::DmError;

/// Writes a single value as text.
pub(super) fn encode(path: &Path, node: &Node) -> Result<Vec<u8>, DmError> {
    let Some(value) = single_value(node) else {
        return Err(not_acceptable(path, ContentFormat::Text));
    };
    let out: String = match value {
        Value::String(s) => s.clone(),
        Value::Integer(i) => text::format_integer(*i),
        Value::Time(t) => text::format_time(*t),
        Value::Float(f) => text::format_float(*f)
            .map_err(|e| DmError::internal(*path, format!("text encoding: {e}")))?,
        Value::Boolean(b) => text::format_bool(*b),
        Value::Opaque(o) => text::format_opaque(o),
        Value::Objlnk(l) => text::format_objlnk(l.object_id, l.instance_id),
    };
    Ok(out.into_bytes())
}

/// Reads a single value for resource `path` from text or opaque.
pub(super) fn decode(
    format: ContentFormat,
    path: &Path,
    payload: &[u8],
    definition: &ObjectDefinition,
) -> Result<Node, DmError> {
    let resource_id = path.resource_id().unwrap_or_default();
    let Some(resource) = definition.resource(resource_id) else {
        return Err(DmError::NotFound(*path));
    };
    if resource.is_multiple() {
        // A multiple resource needs TLV or JSON.
        return Err(unsupported(path, format));
    }
    let data_type = resource.data_type.unwrap_or(DataType::Opaque);
    if format == ContentFormat::Opaque {
        if data_type != DataType::Opaque {
            return Err(unsupported(path, format));
        }
        return Ok(Node::Resource(Resource::single(
            resource_id,
            payload.to_vec(),
        )));
    }
    let bad = |e: text::TextError| DmError::bad_request(*path, format!("text: {e}"));
    let value = match data_type {
        DataType::String => Value::from(text::parse_string(payload).map_err(bad)?),
        DataType::Integer => Value::Integer(text::parse_integer(payload).map_err(bad)?),
        DataType::Float => Value::Float(text::parse_float(payload).map_err(bad)?),
        DataType::Boolean => Value::Boolean(text::parse_bool(payload).map_err(bad)?),
        DataType::Opaque => Value::Opaque(text::parse_opaque(payload).map_err(bad)?),
        DataType::Time => Value::Time(text::parse_time(payload).map_err(bad)?),
        DataType::Objlnk => {
            let (o, i) = text::parse_objlnk(payload).map_err(bad)?;
            Value::Objlnk(ObjectLink::new(o, i))
        }
    };
    Ok(Node::Resource(Resource::single(resource_id, value)))
}
