//! [`Node`] → TLV and [`TypedInstance`] → TLV.
// `#[inline(always)]` is used where profiling showed a `Result` or value returned through memory
// (a store-forwarding stall per record) or a dispatch on a variant known at the call site.
#![allow(clippy::inline_always)]

use bytes::BufMut;
use lwm2m_codec::tlv::{EncodeError, TlvWriter};

use crate::content::check::resource_value;
use crate::content::typed::{TypedInstance, ValueSink};
use crate::content::{typed_target, ContentError, ValueRef};
use crate::definition::ObjectDefinition;
use crate::node::{Node, ObjectInstance, Resource, ResourceValue};
use crate::path::Path;

/// Writes `node` (already checked against `target` and the definition) as TLV.
pub(crate) fn encode<B: BufMut>(
    target: &Path,
    node: &Node,
    definition: Option<&ObjectDefinition>,
    out: &mut B,
) -> Result<(), ContentError> {
    let mut w = TlvWriter::new(out);
    match node {
        Node::Object(object) => {
            for instance in object.instances() {
                w.object_instance(instance.id(), |w| resources(w, instance, definition))?;
            }
        }
        Node::ObjectInstance(instance) => resources(&mut w, instance, definition)?,
        Node::Resource(resource) => write_resource(&mut w, resource, definition)?,
        Node::ResourceInstance(instance) => {
            let resource_id = target.resource_id().unwrap_or_default();
            let value = resource_value(definition, resource_id, &instance.value);
            w.multiple_resource(resource_id, |w| write_value(w, instance.id, value))?;
        }
    }
    Ok(())
}

fn resources<B: BufMut>(
    w: &mut TlvWriter<'_, B>,
    instance: &ObjectInstance,
    definition: Option<&ObjectDefinition>,
) -> Result<(), EncodeError> {
    for resource in instance.resources() {
        write_resource(w, resource, definition)?;
    }
    Ok(())
}

#[inline]
fn write_resource<B: BufMut>(
    w: &mut TlvWriter<'_, B>,
    resource: &Resource,
    definition: Option<&ObjectDefinition>,
) -> Result<(), EncodeError> {
    let id = resource.id();
    match resource.value() {
        ResourceValue::Single(value) => write_value(w, id, resource_value(definition, id, value)),
        ResourceValue::Multiple(instances) => w.multiple_resource(id, |w| {
            for (&ri, value) in instances {
                write_value(w, ri, resource_value(definition, id, value))?;
            }
            Ok(())
        }),
    }
}

/// Writes one data record (a Resource, or a Resource Instance inside a multiple resource).
// Always inlined: at the typed call sites the variant is known, and the `match` (an indirect
// jump on a value just stored to memory) disappears.
#[inline(always)]
fn write_value<B: BufMut>(
    w: &mut TlvWriter<'_, B>,
    id: u16,
    value: ValueRef<'_>,
) -> Result<(), EncodeError> {
    match value {
        ValueRef::String(v) => w.string(id, v),
        ValueRef::Integer(v) => w.integer(id, v),
        ValueRef::Float(v) => w.float(id, v),
        ValueRef::Boolean(v) => w.boolean(id, v),
        ValueRef::Opaque(v) => w.opaque(id, v),
        ValueRef::Time(v) => w.time(id, v),
        ValueRef::Objlnk(v) => w.objlnk(id, v.object_id, v.instance_id),
    }
}

/// The TLV writer as a [`ValueSink`] for typed instances.
struct Sink<'w, 'b, B: BufMut>(&'w mut TlvWriter<'b, B>);

impl<B: BufMut> ValueSink for Sink<'_, '_, B> {
    type Error = EncodeError;

    #[inline(always)]
    fn value(&mut self, resource: u16, value: ValueRef<'_>) -> Result<(), EncodeError> {
        write_value(self.0, resource, value)
    }

    #[inline]
    fn values<'v, I>(&mut self, resource: u16, values: I) -> Result<(), EncodeError>
    where
        I: Iterator<Item = (u16, ValueRef<'v>)> + Clone,
    {
        self.0.multiple_resource(resource, |w| {
            for (ri, value) in values.clone() {
                write_value(w, ri, value)?;
            }
            Ok(())
        })
    }
}

/// Writes the resources of a typed instance for `target` (`/o/i`, `o` being `T`'s object).
pub(crate) fn encode_typed<T: TypedInstance, B: BufMut>(
    target: &Path,
    value: &T,
    out: &mut B,
) -> Result<(), ContentError> {
    typed_target(target, T::definition())?;
    let mut w = TlvWriter::new(out);
    value.write_values(&mut Sink(&mut w))?;
    Ok(())
}
