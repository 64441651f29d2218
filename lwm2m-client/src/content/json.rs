//! LwM2M JSON (11543) for the content funnel, on the lwm2m-codec document reader and writer.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use lwm2m_codec::json::{Document, Number, Objlnk, Record, Value as JsonValue};
use lwm2m_codec::text;
use lwm2m_model::{
    DataType, Node, ObjectDefinition, ObjectInstance, ObjectLink, Path, Resource, ResourceValue,
    Value,
};

use super::{data_type_of, is_multiple, resource_path};
use crate::error::DmError;

/// Encodes a node with the base name of its path (`/3/0/0` for a single resource, `/3/0/7/`,
/// `/3/0/`, `/3/` otherwise) and names relative to it.
pub(super) fn encode(path: &Path, node: &Node) -> Result<Vec<u8>, DmError> {
    let mut records: Vec<Record<'_>> = Vec::new();
    let single = matches!(node, Node::Resource(r) if !r.is_multiple())
        || matches!(node, Node::ResourceInstance(_));
    let base = if single {
        format!("{path}")
    } else {
        format!("{path}/")
    };
    match node {
        Node::Object(object) => {
            for instance in object.instances() {
                for resource in instance.resources() {
                    push_resource(&mut records, &format!("{}/", instance.id()), resource);
                }
            }
        }
        Node::ObjectInstance(instance) => {
            for resource in instance.resources() {
                push_resource(&mut records, "", resource);
            }
        }
        Node::Resource(resource) => match resource.value() {
            ResourceValue::Single(v) => records.push(Record::new(None, json_value(v))),
            ResourceValue::Multiple(map) => {
                for (id, v) in map {
                    records.push(named(format!("{id}"), json_value(v)));
                }
            }
        },
        Node::ResourceInstance(ri) => records.push(Record::new(None, json_value(&ri.value))),
    }
    let doc = Document {
        base_name: Some(Cow::Owned(base)),
        base_time: None,
        records,
    };
    doc.encode_to_vec()
        .map_err(|e| DmError::internal(*path, format!("JSON encoding: {e}")))
}

fn named(name: String, value: JsonValue<'static>) -> Record<'static> {
    Record {
        name: Some(Cow::Owned(name)),
        value,
        time: None,
    }
}

fn push_resource(records: &mut Vec<Record<'_>>, prefix: &str, resource: &Resource) {
    match resource.value() {
        ResourceValue::Single(v) => {
            records.push(named(format!("{prefix}{}", resource.id()), json_value(v)));
        }
        ResourceValue::Multiple(map) => {
            for (ri, v) in map {
                records.push(named(
                    format!("{prefix}{}/{ri}", resource.id()),
                    json_value(v),
                ));
            }
        }
    }
}

fn json_value(value: &Value) -> JsonValue<'static> {
    match value {
        Value::String(s) => JsonValue::String(Cow::Owned(s.clone())),
        Value::Integer(i) | Value::Time(i) => JsonValue::Number(Number::Integer(*i)),
        Value::Float(f) => JsonValue::Number(Number::Float(*f)),
        Value::Boolean(b) => JsonValue::Boolean(*b),
        Value::Opaque(o) => JsonValue::String(Cow::Owned(text::format_opaque(o))),
        Value::Objlnk(l) => JsonValue::Objlnk(Objlnk::new(l.object_id, l.instance_id)),
    }
}

/// The entries of a document as (resource id, resource instance id, value), checked to lie
/// under `path`; `instance` receives each entry's object instance id.
type Entry = (u16, Option<u16>, Value);

fn entries(
    path: &Path,
    payload: &[u8],
    definition: &ObjectDefinition,
    mut instance: impl FnMut(u16) -> Result<(), DmError>,
) -> Result<Vec<Entry>, DmError> {
    let doc =
        Document::decode(payload).map_err(|e| DmError::bad_request(*path, format!("JSON: {e}")))?;
    let mut out = Vec::with_capacity(doc.records.len());
    for item in doc.paths() {
        let (name, record) = item.map_err(|e| DmError::bad_request(*path, format!("JSON: {e}")))?;
        if !name.starts_with(path.ids()) || name.depth() < 3 {
            return Err(DmError::bad_request(
                *path,
                format!(
                    "JSON entry {:?} is not a resource under the request path",
                    name.ids()
                ),
            ));
        }
        instance(name.instance().unwrap_or_default())?;
        let resource_id = name.resource().unwrap_or_default();
        let at = resource_path(path, resource_id);
        let value = value(
            &at,
            &record.value,
            data_type_of(definition, resource_id),
            definition.resource(resource_id).is_some(),
        )?;
        out.push((resource_id, name.resource_instance(), value));
    }
    Ok(out)
}

fn value(
    at: &Path,
    value: &JsonValue<'_>,
    data_type: DataType,
    known: bool,
) -> Result<Value, DmError> {
    let mismatch = || {
        DmError::bad_request(
            *at,
            format!("JSON {} value for a {data_type} resource", value.key()),
        )
    };
    if !known {
        // No definition: keep the JSON's own type.
        return Ok(match value {
            JsonValue::Number(Number::Integer(i)) => Value::Integer(*i),
            JsonValue::Number(Number::Float(f)) => Value::Float(*f),
            JsonValue::String(s) => Value::String(s.to_string()),
            JsonValue::Boolean(b) => Value::Boolean(*b),
            JsonValue::Objlnk(l) => Value::Objlnk(ObjectLink::new(l.object, l.instance)),
        });
    }
    Ok(match (data_type, value) {
        (DataType::Integer, JsonValue::Number(n)) => {
            Value::Integer(n.as_i64().ok_or_else(mismatch)?)
        }
        (DataType::Time, JsonValue::Number(n)) => Value::Time(n.as_i64().ok_or_else(mismatch)?),
        (DataType::Float, JsonValue::Number(n)) => Value::Float(n.as_f64()),
        (DataType::Boolean, JsonValue::Boolean(b)) => Value::Boolean(*b),
        (DataType::String, JsonValue::String(s)) => Value::String(s.to_string()),
        (DataType::Opaque, JsonValue::String(s)) => Value::Opaque(
            text::parse_opaque(s.as_bytes())
                .map_err(|e| DmError::bad_request(*at, format!("JSON base64: {e}")))?,
        ),
        (DataType::Objlnk, JsonValue::Objlnk(l)) => {
            Value::Objlnk(ObjectLink::new(l.object, l.instance))
        }
        // Leshan writes object links as strings.
        (DataType::Objlnk, JsonValue::String(s)) => {
            let l = Objlnk::parse(s)
                .map_err(|e| DmError::bad_request(*at, format!("JSON objlnk: {e}")))?;
            Value::Objlnk(ObjectLink::new(l.object, l.instance))
        }
        _ => return Err(mismatch()),
    })
}

/// Groups entries into resources, checking multiplicity against the definition.
fn resources(
    path: &Path,
    entries: Vec<Entry>,
    definition: &ObjectDefinition,
) -> Result<BTreeMap<u16, Resource>, DmError> {
    let mut out: BTreeMap<u16, Resource> = BTreeMap::new();
    for (id, ri, value) in entries {
        let at = resource_path(path, id);
        match (ri, is_multiple(definition, id)) {
            (None, Some(true)) | (Some(_), Some(false)) => {
                return Err(DmError::bad_request(
                    at,
                    "single/multiple instance mismatch with the definition",
                ));
            }
            (None, _) => {
                if out.insert(id, Resource::single(id, value)).is_some() {
                    return Err(DmError::bad_request(at, "resource given twice"));
                }
            }
            (Some(ri), _) => {
                let entry = out
                    .entry(id)
                    .or_insert_with(|| Resource::multiple(id, core::iter::empty::<(u16, Value)>()));
                match entry.value_mut() {
                    ResourceValue::Multiple(map) => {
                        if map.insert(ri, value).is_some() {
                            return Err(DmError::bad_request(
                                at,
                                format!("resource instance {ri} given twice"),
                            ));
                        }
                    }
                    ResourceValue::Single(_) => {
                        return Err(DmError::bad_request(
                            at,
                            "single/multiple instance mismatch",
                        ));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Decodes a Write payload at an instance or resource path.
pub(super) fn decode(
    path: &Path,
    payload: &[u8],
    definition: &ObjectDefinition,
) -> Result<Node, DmError> {
    let entries = entries(path, payload, definition, |_| Ok(()))?;
    let mut resources = resources(path, entries, definition)?;
    match path.resource_id() {
        Some(id) => {
            if let Some(r) = resources.remove(&id) {
                if resources.is_empty() {
                    return Ok(Node::Resource(r));
                }
            }
            // Empty payload for a multiple resource: the empty set.
            if resources.is_empty() && is_multiple(definition, id) == Some(true) {
                return Ok(Node::Resource(Resource::multiple(
                    id,
                    core::iter::empty::<(u16, Value)>(),
                )));
            }
            Err(DmError::bad_request(
                *path,
                "a resource Write carries that resource only",
            ))
        }
        None => Ok(Node::ObjectInstance(ObjectInstance::with_resources(
            path.instance_id().unwrap_or_default(),
            resources.into_values(),
        ))),
    }
}

/// Decodes a Create payload; the entries must all name one instance.
pub(super) fn decode_create(
    path: &Path,
    payload: &[u8],
    definition: &ObjectDefinition,
) -> Result<(Option<u16>, ObjectInstance), DmError> {
    let mut instance_id: Option<u16> = None;
    let entries = entries(path, payload, definition, |i| match instance_id {
        Some(existing) if existing != i => Err(DmError::bad_request(
            *path,
            "a Create carries one object instance",
        )),
        _ => {
            instance_id = Some(i);
            Ok(())
        }
    })?;
    let id = instance_id.unwrap_or_default();
    let at = path.child(id).unwrap_or(*path);
    let resources = resources(&at, entries, definition)?;
    Ok((
        instance_id,
        ObjectInstance::with_resources(id, resources.into_values()),
    ))
}
