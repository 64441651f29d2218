//! TLV → [`Node`] and TLV → [`TypedInstance`].

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use lwm2m_codec::tlv::{records, Kind, Record, Records, TlvError};

use super::value_ref;
use crate::content::error::{ContentError, Location, RawPath};
use crate::content::typed::{field_error, ResourceCursor, Seen, TypedInstance};
use crate::content::value::Slot;
use crate::content::{typed_target, Content, ValueRef};
use crate::definition::{ObjectDefinition, Registry};
use crate::node::{Node, Object, ObjectInstance, Resource, ResourceInstance};
use crate::path::{Level, Path};
use crate::value::Value;

/// Decodes a TLV payload for `target` (not the root).
pub(crate) fn decode(
    target: &Path,
    payload: &[u8],
    registry: &Registry,
) -> Result<Content, ContentError> {
    let mut decoder = Decoder {
        target: *target,
        definition: target.object_id().and_then(|o| registry.get(o)),
        untyped: Vec::new(),
    };
    let node = match target.level() {
        Level::Root => return Err(ContentError::RootTarget),
        Level::Object => Node::Object(decoder.object(payload)?),
        Level::ObjectInstance => Node::ObjectInstance(decoder.instance(payload)?),
        Level::Resource => Node::Resource(decoder.resource_target(payload)?),
        Level::ResourceInstance => {
            Node::ResourceInstance(decoder.resource_instance_target(payload)?)
        }
    };
    Ok(Content::with_untyped(node, decoder.untyped))
}

/// Refuses the reserved id 65535 (found at `offset`) under `parent`.
#[inline]
fn check_id(parent: &Path, id: u16, offset: usize) -> Result<(), ContentError> {
    if id == u16::MAX {
        return Err(ContentError::ReservedId {
            parent: *parent,
            location: Location::Byte(offset),
        });
    }
    Ok(())
}

/// The path of child `id` of `parent`, for ids [`check_id`] accepted. Built only where it is
/// needed (errors, untyped values): building paths for every record costs more than the rest of
/// the walk.
#[inline]
fn child(parent: &Path, id: u16) -> Path {
    parent.child(id).unwrap_or(*parent)
}

#[cold]
fn tlv_error_at(at: Path, source: TlvError) -> ContentError {
    ContentError::Tlv { at, source }
}

#[inline]
fn tlv_error(at: Path) -> impl Fn(TlvError) -> ContentError {
    move |source| tlv_error_at(at, source)
}

/// A TLV error under child `id` of `parent` (the path is built only when there is an error).
#[inline]
fn tlv_error_in(parent: Path, id: u16) -> impl Fn(TlvError) -> ContentError {
    move |source| tlv_error_at(child(&parent, id), source)
}

fn unexpected(target: &Path, record: &Record<'_>) -> ContentError {
    ContentError::UnexpectedRecord {
        target: *target,
        offset: record.offset,
        kind: record.kind,
    }
}

/// The records of a container (empty for a data record, which callers rule out first).
#[inline]
fn children<'a>(record: &Record<'a>) -> Records<'a> {
    record.children().unwrap_or(Records::new(&[]))
}

/// The records of an instance payload: the bare resource records, or the children of the one
/// Object-Instance record with the instance's id that may wrap them (digest §12.4).
fn instance_records<'a>(instance: &Path, payload: &'a [u8]) -> Result<Records<'a>, ContentError> {
    let mut all = records(payload);
    // The type byte tells the wrapped form apart without parsing the first record twice.
    if payload.first().map(|&b| Kind::from_type_byte(b)) != Some(Kind::ObjectInstance) {
        return Ok(all);
    }
    let Some(Ok(first)) = all.clone().next() else {
        // An error the caller's iteration reports.
        return Ok(all);
    };
    if Some(first.id) != instance.instance_id() {
        return Err(ContentError::NotUnderTarget {
            target: *instance,
            found: RawPath::new(&[instance.object_id().unwrap_or_default(), first.id]),
            location: Location::Byte(first.offset),
        });
    }
    all.next();
    if let Some(next) = all.next() {
        let next = next.map_err(tlv_error(*instance))?;
        return Err(unexpected(instance, &next));
    }
    Ok(children(&first))
}

struct Decoder<'r> {
    target: Path,
    definition: Option<&'r ObjectDefinition>,
    untyped: Vec<Path>,
}

impl Decoder<'_> {
    fn object(&mut self, payload: &[u8]) -> Result<Object, ContentError> {
        let mut object = Object::new(self.target.object_id().unwrap_or_default());
        for record in records(payload) {
            let record = record.map_err(tlv_error(self.target))?;
            if record.kind != Kind::ObjectInstance {
                return Err(unexpected(&self.target, &record));
            }
            check_id(&self.target, record.id, record.offset)?;
            let path = child(&self.target, record.id);
            let instance = self.resources(&path, children(&record))?;
            if object.insert(instance).is_some() {
                return Err(ContentError::Duplicate {
                    path,
                    location: Location::Byte(record.offset),
                });
            }
        }
        Ok(object)
    }

    fn instance(&mut self, payload: &[u8]) -> Result<ObjectInstance, ContentError> {
        let target = self.target;
        self.resources(&target, instance_records(&target, payload)?)
    }

    fn resources(
        &mut self,
        instance_path: &Path,
        records: Records<'_>,
    ) -> Result<ObjectInstance, ContentError> {
        let mut instance = ObjectInstance::new(instance_path.instance_id().unwrap_or_default());
        for record in records {
            let record = record.map_err(tlv_error(*instance_path))?;
            if record.kind == Kind::ObjectInstance {
                return Err(unexpected(instance_path, &record));
            }
            let resource = self.resource(instance_path, &record)?;
            if instance.insert(resource).is_some() {
                return Err(ContentError::Duplicate {
                    path: child(instance_path, record.id),
                    location: Location::Byte(record.offset),
                });
            }
        }
        Ok(instance)
    }

    /// One Resource or Multiple-Resource record of the instance at `instance_path`.
    fn resource(
        &mut self,
        instance_path: &Path,
        record: &Record<'_>,
    ) -> Result<Resource, ContentError> {
        check_id(instance_path, record.id, record.offset)?;
        let is_multiple = record.kind == Kind::MultipleResource;
        let data_type = match Slot::of(self.definition, record.id) {
            Slot::Typed {
                data_type,
                multiple,
            } => {
                if multiple != is_multiple {
                    return Err(ContentError::Multiplicity {
                        path: child(instance_path, record.id),
                        expected_multiple: multiple,
                        location: Location::Byte(record.offset),
                    });
                }
                Some(data_type)
            }
            Slot::Executable | Slot::Unknown => {
                self.untyped.push(child(instance_path, record.id));
                None
            }
        };
        let value = |record: &Record<'_>| match data_type {
            Some(t) => value_ref(record, t).map(ValueRef::to_value),
            None => record.as_opaque().map(Value::from),
        };
        if !is_multiple {
            return Ok(Resource::single(
                record.id,
                value(record).map_err(tlv_error_in(*instance_path, record.id))?,
            ));
        }
        let path = child(instance_path, record.id);
        let mut instances = BTreeMap::new();
        for instance in children(record) {
            let instance = instance.map_err(tlv_error(path))?;
            check_id(&path, instance.id, instance.offset)?;
            let v = value(&instance).map_err(tlv_error_in(path, instance.id))?;
            if instances.insert(instance.id, v).is_some() {
                return Err(ContentError::Duplicate {
                    path: child(&path, instance.id),
                    location: Location::Byte(instance.offset),
                });
            }
        }
        Ok(Resource::multiple(record.id, instances))
    }

    fn resource_target(&mut self, payload: &[u8]) -> Result<Resource, ContentError> {
        let target = self.target;
        let instance_path = target.parent().unwrap_or(target);
        let mut all = records(payload);
        let Some(first) = all.next() else {
            return Err(ContentError::MissingValue { target });
        };
        let first = first.map_err(tlv_error(target))?;
        check_one_record(&target, &first, all)?;
        self.resource(&instance_path, &first)
    }

    fn resource_instance_target(
        &mut self,
        payload: &[u8],
    ) -> Result<ResourceInstance, ContentError> {
        let target = self.target;
        let resource_path = target.parent().unwrap_or(target);
        let resource_id = target.resource_id().unwrap_or_default();
        let record = resource_instance_record(&target, payload)?;
        let value = match Slot::of(self.definition, resource_id) {
            Slot::Typed {
                data_type,
                multiple: true,
            } => value_ref(&record, data_type).map(ValueRef::to_value),
            Slot::Typed {
                multiple: false, ..
            } => {
                return Err(ContentError::Multiplicity {
                    path: resource_path,
                    expected_multiple: false,
                    location: Location::Byte(record.offset),
                })
            }
            Slot::Executable | Slot::Unknown => {
                self.untyped.push(target);
                record.as_opaque().map(Value::from)
            }
        };
        Ok(ResourceInstance {
            id: record.id,
            value: value.map_err(tlv_error(target))?,
        })
    }
}

/// Checks that `first` is the record a resource payload for `target` needs and that nothing
/// follows it.
fn check_one_record(
    target: &Path,
    first: &Record<'_>,
    mut rest: Records<'_>,
) -> Result<(), ContentError> {
    if !matches!(first.kind, Kind::Resource | Kind::MultipleResource) {
        return Err(unexpected(target, first));
    }
    let parent = target.parent().unwrap_or(*target);
    if Some(first.id) != target.resource_id() {
        return Err(not_under(target, &parent, first));
    }
    match rest.next() {
        None => Ok(()),
        Some(next) => {
            let next = next.map_err(tlv_error(*target))?;
            Err(if next.id == first.id {
                ContentError::Duplicate {
                    path: *target,
                    location: Location::Byte(next.offset),
                }
            } else {
                not_under(target, &parent, &next)
            })
        }
    }
}

fn not_under(target: &Path, parent: &Path, record: &Record<'_>) -> ContentError {
    let mut ids = [0u16; 4];
    let depth = parent.depth().min(3);
    for (slot, id) in ids.iter_mut().zip(parent.ids()) {
        *slot = *id;
    }
    if let Some(slot) = ids.get_mut(depth) {
        *slot = record.id;
    }
    ContentError::NotUnderTarget {
        target: *target,
        found: RawPath::new(ids.get(..=depth).unwrap_or_default()),
        location: Location::Byte(record.offset),
    }
}

/// The one Resource-Instance record of a payload for `/o/i/r/ri`: bare, or inside the
/// Multiple-Resource record `r`.
fn resource_instance_record<'a>(
    target: &Path,
    payload: &'a [u8],
) -> Result<Record<'a>, ContentError> {
    let resource_path = target.parent().unwrap_or(*target);
    let resource_id = target.resource_id().unwrap_or_default();
    let bare = payload
        .first()
        .is_some_and(|b| Kind::from_type_byte(*b) == Kind::ResourceInstance);
    let inner = if bare {
        // A synthetic container over the whole payload lets the codec's reader (which refuses
        // Resource-Instance records at the top level) walk it with offsets unchanged.
        Record {
            kind: Kind::MultipleResource,
            id: resource_id,
            value: payload,
            offset: 0,
            value_offset: 0,
        }
    } else {
        let mut all = records(payload);
        let Some(first) = all.next() else {
            return Err(ContentError::MissingValue { target: *target });
        };
        let first = first.map_err(tlv_error(resource_path))?;
        check_one_record(&resource_path, &first, all)?;
        if first.kind != Kind::MultipleResource {
            return Err(unexpected(target, &first));
        }
        first
    };
    let mut instances = children(&inner);
    let Some(record) = instances.next() else {
        return Err(ContentError::MissingValue { target: *target });
    };
    let record = record.map_err(tlv_error(resource_path))?;
    check_one_record_instance(target, &record, instances)?;
    Ok(record)
}

fn check_one_record_instance(
    target: &Path,
    record: &Record<'_>,
    mut rest: Records<'_>,
) -> Result<(), ContentError> {
    let resource_path = target.parent().unwrap_or(*target);
    if Some(record.id) != target.resource_instance_id() {
        return Err(not_under(target, &resource_path, record));
    }
    match rest.next() {
        None => Ok(()),
        Some(next) => {
            let next = next.map_err(tlv_error(resource_path))?;
            Err(if next.id == record.id {
                ContentError::Duplicate {
                    path: *target,
                    location: Location::Byte(next.offset),
                }
            } else {
                not_under(target, &resource_path, &next)
            })
        }
    }
}

/// Decodes an instance payload for `target` (`/o/i`, `o` being `T`'s object) straight into `T`.
pub(crate) fn decode_typed<T: TypedInstance>(
    target: &Path,
    payload: &[u8],
) -> Result<T, ContentError> {
    let definition = T::definition();
    typed_target(target, definition)?;
    let mut out = T::empty();
    let mut seen = Seen::new();
    let mut cursor = ResourceCursor::new();
    for record in instance_records(target, payload)? {
        let record = record.map_err(tlv_error(*target))?;
        if record.kind == Kind::ObjectInstance {
            return Err(unexpected(target, &record));
        }
        check_id(target, record.id, record.offset)?;
        let path = || child(target, record.id);
        let location = Location::Byte(record.offset);
        let Some(index) = cursor.find(definition, record.id) else {
            // Unknown resources are skipped, as `from_instance` skips them; their structure is
            // still checked so that garbage is refused the same way on both paths.
            for instance in children(&record) {
                instance.map_err(tlv_error_in(*target, record.id))?;
            }
            continue;
        };
        if !seen.mark(index) {
            return Err(ContentError::Duplicate {
                path: path(),
                location,
            });
        }
        let Some(resource) = definition.resources.get(index) else {
            continue;
        };
        let Some(data_type) = resource.data_type else {
            return Err(ContentError::ExecutableValue {
                path: path(),
                location,
            });
        };
        let is_multiple = record.kind == Kind::MultipleResource;
        if resource.is_multiple() != is_multiple {
            return Err(ContentError::Multiplicity {
                path: path(),
                expected_multiple: resource.is_multiple(),
                location,
            });
        }
        if !is_multiple {
            let value = value_ref(&record, data_type).map_err(tlv_error_in(*target, record.id))?;
            out.set_value(record.id, value)
                .map_err(|e| field_error(e, path(), location))?;
            continue;
        }
        out.set_multiple(record.id)
            .map_err(|e| field_error(e, path(), location))?;
        for instance in children(&record) {
            let instance = instance.map_err(tlv_error_in(*target, record.id))?;
            if instance.id == u16::MAX {
                check_id(&path(), instance.id, instance.offset)?;
            }
            let location = Location::Byte(instance.offset);
            let instance_path = || child(&path(), instance.id);
            let value = value_ref(&instance, data_type)
                .map_err(|source| tlv_error_at(instance_path(), source))?;
            out.set_instance_value(record.id, instance.id, value)
                .map_err(|e| field_error(e, instance_path(), location))?;
        }
    }
    if let Some(missing) = seen.missing_mandatory(definition) {
        return Err(ContentError::MissingMandatory {
            path: target.child(missing).unwrap_or(*target),
        });
    }
    Ok(out)
}
