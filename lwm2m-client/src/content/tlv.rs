//! TLV (11542) for the content funnel, on the lwm2m-codec reader and writer.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

use lwm2m_codec::tlv::{self, Kind, Record, Records, TlvError, TlvWriter};
use lwm2m_model::{
    DataType, Node, ObjectDefinition, ObjectInstance, ObjectLink, Path, Resource, ResourceValue,
    Value,
};

use super::{data_type_of, is_multiple, resource_path};
use crate::error::DmError;

/// Encodes a node: an object as Object-Instance TLVs, an instance as its resources, a resource as
/// one Resource or Multiple-Resource TLV.
pub(super) fn encode(path: &Path, node: &Node) -> Result<Vec<u8>, DmError> {
    let result = tlv::to_vec(|w| match node {
        Node::Object(object) => {
            for instance in object.instances() {
                w.object_instance(instance.id(), |w| write_resources(w, instance))?;
            }
            Ok(())
        }
        Node::ObjectInstance(instance) => write_resources(w, instance),
        Node::Resource(resource) => write_resource(w, resource),
        Node::ResourceInstance(ri) => w.multiple_resource(path.resource_id().unwrap_or(0), |w| {
            write_value(w, ri.id, &ri.value)
        }),
    });
    result.map_err(|e| DmError::internal(*path, format!("TLV encoding: {e}")))
}

fn write_resources(
    w: &mut TlvWriter<'_, Vec<u8>>,
    instance: &ObjectInstance,
) -> Result<(), tlv::EncodeError> {
    for resource in instance.resources() {
        write_resource(w, resource)?;
    }
    Ok(())
}

fn write_resource(
    w: &mut TlvWriter<'_, Vec<u8>>,
    resource: &Resource,
) -> Result<(), tlv::EncodeError> {
    match resource.value() {
        ResourceValue::Single(v) => write_value(w, resource.id(), v),
        ResourceValue::Multiple(map) => w.multiple_resource(resource.id(), |w| {
            for (&id, v) in map {
                write_value(w, id, v)?;
            }
            Ok(())
        }),
    }
}

fn write_value(
    w: &mut TlvWriter<'_, Vec<u8>>,
    id: u16,
    value: &Value,
) -> Result<(), tlv::EncodeError> {
    match value {
        Value::String(s) => w.string(id, s),
        Value::Integer(i) => w.integer(id, *i),
        Value::Float(f) => w.float(id, *f),
        Value::Boolean(b) => w.boolean(id, *b),
        Value::Opaque(o) => w.opaque(id, o),
        Value::Time(t) => w.time(id, *t),
        Value::Objlnk(l) => w.objlnk(id, l.object_id, l.instance_id),
    }
}

fn bad(path: &Path, e: &TlvError) -> DmError {
    DmError::bad_request(*path, format!("TLV: {e}"))
}

/// Decodes a Write payload at an instance or resource path.
pub(super) fn decode(
    path: &Path,
    payload: &[u8],
    definition: &ObjectDefinition,
) -> Result<Node, DmError> {
    let records = collect(path, tlv::records(payload))?;
    match path.resource_id() {
        Some(resource_id) => {
            let [record] = records.as_slice() else {
                return Err(DmError::bad_request(
                    *path,
                    "a resource Write carries exactly one Resource TLV",
                ));
            };
            if record.id != resource_id || record.kind == Kind::ObjectInstance {
                return Err(DmError::bad_request(
                    *path,
                    format!(
                        "the TLV is {} {}, not resource {resource_id}",
                        record.kind.name(),
                        record.id
                    ),
                ));
            }
            Ok(Node::Resource(resource(path, record, definition)?))
        }
        None => {
            let instance_id = path.instance_id().unwrap_or_default();
            // Resource TLVs, or one Object-Instance TLV with the same id wrapping them.
            let inner = match records.as_slice() {
                [wrapper] if wrapper.kind == Kind::ObjectInstance => {
                    if wrapper.id != instance_id {
                        return Err(DmError::bad_request(
                            *path,
                            format!("the payload is for instance {}", wrapper.id),
                        ));
                    }
                    children(path, wrapper)?
                }
                _ => records,
            };
            Ok(Node::ObjectInstance(instance(
                path,
                instance_id,
                &inner,
                definition,
            )?))
        }
    }
}

/// Decodes a Create payload: one Object-Instance TLV (with the requested id) or bare resources.
pub(super) fn decode_create(
    path: &Path,
    payload: &[u8],
    definition: &ObjectDefinition,
) -> Result<(Option<u16>, ObjectInstance), DmError> {
    let records = collect(path, tlv::records(payload))?;
    match records.as_slice() {
        [wrapper] if wrapper.kind == Kind::ObjectInstance => {
            let at = path
                .child(wrapper.id)
                .map_err(|e| DmError::bad_request(*path, format!("{e}")))?;
            let inner = children(path, wrapper)?;
            Ok((
                Some(wrapper.id),
                instance(&at, wrapper.id, &inner, definition)?,
            ))
        }
        _ if records.iter().any(|r| r.kind == Kind::ObjectInstance) => Err(DmError::bad_request(
            *path,
            "a Create carries one object instance",
        )),
        _ => Ok((None, instance(path, 0, &records, definition)?)),
    }
}

fn collect<'a>(path: &Path, records: Records<'a>) -> Result<Vec<Record<'a>>, DmError> {
    records.map(|r| r.map_err(|e| bad(path, &e))).collect()
}

fn children<'a>(path: &Path, record: &Record<'a>) -> Result<Vec<Record<'a>>, DmError> {
    match record.children() {
        Some(records) => collect(path, records),
        None => Ok(Vec::new()),
    }
}

fn instance(
    path: &Path,
    id: u16,
    records: &[Record<'_>],
    definition: &ObjectDefinition,
) -> Result<ObjectInstance, DmError> {
    let mut out = ObjectInstance::new(id);
    for record in records {
        if record.kind == Kind::ObjectInstance {
            return Err(DmError::bad_request(
                *path,
                "an object instance inside an object instance",
            ));
        }
        if out.insert(resource(path, record, definition)?).is_some() {
            return Err(DmError::bad_request(
                resource_path(path, record.id),
                "resource given twice",
            ));
        }
    }
    Ok(out)
}

fn resource(
    path: &Path,
    record: &Record<'_>,
    definition: &ObjectDefinition,
) -> Result<Resource, DmError> {
    let at = resource_path(path, record.id);
    let data_type = data_type_of(definition, record.id);
    match (record.kind, is_multiple(definition, record.id)) {
        (Kind::Resource, Some(true)) | (Kind::MultipleResource, Some(false)) => Err(
            DmError::bad_request(at, "single/multiple instance mismatch with the definition"),
        ),
        (Kind::Resource, _) => Ok(Resource::single(record.id, value(&at, record, data_type)?)),
        (Kind::MultipleResource, _) => {
            let mut map = BTreeMap::new();
            for child in children(&at, record)? {
                if map
                    .insert(child.id, value(&at, &child, data_type)?)
                    .is_some()
                {
                    return Err(DmError::bad_request(
                        at,
                        format!("resource instance {} given twice", child.id),
                    ));
                }
            }
            Ok(Resource::multiple(record.id, map))
        }
        (Kind::ObjectInstance | Kind::ResourceInstance, _) => Err(DmError::bad_request(
            at,
            format!("unexpected {} TLV", record.kind.name()),
        )),
    }
}

fn value(at: &Path, record: &Record<'_>, data_type: DataType) -> Result<Value, DmError> {
    let v = match data_type {
        DataType::String => record.as_str().map(Value::from),
        DataType::Integer => record.as_integer().map(Value::Integer),
        DataType::Float => record.as_float().map(Value::Float),
        DataType::Boolean => record.as_bool().map(Value::Boolean),
        DataType::Opaque => record.as_opaque().map(Value::from),
        DataType::Time => record.as_time().map(Value::Time),
        DataType::Objlnk => record
            .as_objlnk()
            .map(|(o, i)| Value::Objlnk(ObjectLink::new(o, i))),
    };
    v.map_err(|e| bad(at, &e))
}
