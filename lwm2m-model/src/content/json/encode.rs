//! [`Node`] → LwM2M JSON and [`TypedInstance`] → LwM2M JSON, in the compact form of the test
//! vectors.

use alloc::borrow::Cow;

use bytes::BufMut;
use lwm2m_codec::json::{Number, Objlnk, Value as JsonValue, WriteError, Writer};
use lwm2m_codec::text;

use super::NameBuf;
use crate::content::check::resource_value;
use crate::content::typed::{TypedInstance, ValueSink};
use crate::content::{typed_target, ContentError, ValueRef};
use crate::definition::ObjectDefinition;
use crate::node::{Node, Resource, ResourceValue};
use crate::path::Path;

/// The JSON form of a typed value (Opaque becomes base64, the one allocation).
#[inline]
fn json_value(value: ValueRef<'_>) -> JsonValue<'_> {
    match value {
        ValueRef::String(s) => JsonValue::String(Cow::Borrowed(s)),
        ValueRef::Integer(v) | ValueRef::Time(v) => JsonValue::Number(Number::Integer(v)),
        ValueRef::Float(v) => JsonValue::Number(Number::Float(v)),
        ValueRef::Boolean(v) => JsonValue::Boolean(v),
        ValueRef::Opaque(v) => JsonValue::String(Cow::Owned(text::format_opaque(v))),
        ValueRef::Objlnk(v) => JsonValue::Objlnk(Objlnk::new(v.object_id, v.instance_id)),
    }
}

/// The base name for `target`: the path, with a trailing `/` when entries carry names.
fn base_name(target: &Path, with_names: bool) -> NameBuf {
    let mut name = NameBuf::path(target.ids());
    if with_names {
        name.push(b'/');
    }
    name
}

/// Writes `node` (already checked against `target` and the definition) as JSON.
pub(crate) fn encode<B: BufMut>(
    target: &Path,
    node: &Node,
    definition: Option<&ObjectDefinition>,
    out: &mut B,
) -> Result<(), ContentError> {
    let single_value = match node {
        Node::Resource(resource) => !resource.is_multiple(),
        Node::ResourceInstance(_) => true,
        Node::Object(_) | Node::ObjectInstance(_) => false,
    };
    let base = base_name(target, !single_value);
    let mut w = Writer::new(out, Some(base.as_str()), None)?;
    match node {
        Node::Object(object) => {
            for instance in object.instances() {
                let mut name = NameBuf::new();
                name.push_id(instance.id());
                name.push(b'/');
                for resource in instance.resources() {
                    entries(&mut w, &mut name, resource, definition)?;
                }
            }
        }
        Node::ObjectInstance(instance) => {
            let mut name = NameBuf::new();
            for resource in instance.resources() {
                entries(&mut w, &mut name, resource, definition)?;
            }
        }
        Node::Resource(resource) => match resource.value() {
            ResourceValue::Single(value) => {
                let value = resource_value(definition, resource.id(), value);
                w.record(None, &json_value(value), None)?;
            }
            ResourceValue::Multiple(instances) => {
                let mut name = NameBuf::new();
                for (&ri, value) in instances {
                    name.truncate(0);
                    name.push_id(ri);
                    let value = resource_value(definition, resource.id(), value);
                    w.record(Some(name.as_str()), &json_value(value), None)?;
                }
            }
        },
        Node::ResourceInstance(instance) => {
            let resource_id = target.resource_id().unwrap_or_default();
            let value = resource_value(definition, resource_id, &instance.value);
            w.record(None, &json_value(value), None)?;
        }
    }
    w.finish()?;
    Ok(())
}

/// The entries of one resource; `name` holds the prefix (`""` or `"i/"`) and is restored.
fn entries<B: BufMut>(
    w: &mut Writer<'_, B>,
    name: &mut NameBuf,
    resource: &Resource,
    definition: Option<&ObjectDefinition>,
) -> Result<(), WriteError> {
    let prefix = name.len();
    name.push_id(resource.id());
    match resource.value() {
        ResourceValue::Single(value) => {
            let value = resource_value(definition, resource.id(), value);
            w.record(Some(name.as_str()), &json_value(value), None)?;
        }
        ResourceValue::Multiple(instances) => {
            name.push(b'/');
            let resource_prefix = name.len();
            for (&ri, value) in instances {
                name.truncate(resource_prefix);
                name.push_id(ri);
                let value = resource_value(definition, resource.id(), value);
                w.record(Some(name.as_str()), &json_value(value), None)?;
            }
        }
    }
    name.truncate(prefix);
    Ok(())
}

/// The JSON writer as a [`ValueSink`] for typed instances (names `r` and `r/ri`).
struct Sink<'w, 'b, B: BufMut>(&'w mut Writer<'b, B>);

impl<B: BufMut> ValueSink for Sink<'_, '_, B> {
    type Error = WriteError;

    #[inline]
    fn value(&mut self, resource: u16, value: ValueRef<'_>) -> Result<(), WriteError> {
        let mut name = NameBuf::new();
        name.push_id(resource);
        self.0
            .record(Some(name.as_str()), &json_value(value), None)
            .map(|_| ())
    }

    #[inline]
    fn values<'v, I>(&mut self, resource: u16, values: I) -> Result<(), WriteError>
    where
        I: Iterator<Item = (u16, ValueRef<'v>)> + Clone,
    {
        let mut name = NameBuf::new();
        name.push_id(resource);
        name.push(b'/');
        let prefix = name.len();
        for (ri, value) in values {
            name.truncate(prefix);
            name.push_id(ri);
            self.0
                .record(Some(name.as_str()), &json_value(value), None)?;
        }
        Ok(())
    }
}

/// Writes a typed instance for `target` (`/o/i`, `o` being `T`'s object): `"bn":"/o/i/"`.
pub(crate) fn encode_typed<T: TypedInstance, B: BufMut>(
    target: &Path,
    value: &T,
    out: &mut B,
) -> Result<(), ContentError> {
    typed_target(target, T::definition())?;
    let base = base_name(target, true);
    let mut w = Writer::new(out, Some(base.as_str()), None)?;
    value.write_values(&mut Sink(&mut w))?;
    w.finish()?;
    Ok(())
}
