//! LwM2M JSON → [`Node`] (grouped by time), and the value typing the typed decoder shares.
// `#[inline(always)]` is used where profiling showed a `Result` or value returned through memory
// (a store-forwarding stall per record) or a dispatch on a variant known at the call site.
#![allow(clippy::inline_always)]

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use lwm2m_codec::json::{Document, JsonError, NamePath, Number, Objlnk, Value as JsonValue};
use lwm2m_codec::text;

use crate::content::error::{ContentError, Location, RawPath};
use crate::content::value::Slot;
use crate::content::{Content, ValueRef};
use crate::definition::{ObjectDefinition, Registry};
use crate::node::{Node, Object, ObjectInstance, Resource, ResourceInstance, ResourceValue};
use crate::path::{Level, Path};
use crate::value::{DataType, ObjectLink, Value};

/// One entry with its resolved name and time.
struct Entry<'d, 'a> {
    index: usize,
    name: NamePath,
    value: &'d JsonValue<'a>,
}

/// Decodes a JSON payload for `target` (not the root) into one [`Content`] per distinct time, in
/// the order the times first appear (a payload without times gives exactly one).
pub(crate) fn decode(
    target: &Path,
    payload: &[u8],
    registry: &Registry,
) -> Result<Vec<Content>, ContentError> {
    if target.is_root() {
        return Err(ContentError::RootTarget);
    }
    let document = Document::decode(payload)?;
    let base_name = document.base_name.as_deref();
    let mut groups: Vec<(Option<i64>, Vec<Entry<'_, '_>>)> = Vec::new();
    let mut group_of_time: BTreeMap<Option<i64>, usize> = BTreeMap::new();
    for (index, record) in document.records.iter().enumerate() {
        let name = record
            .path(base_name)
            .map_err(|source| JsonError::InvalidName {
                entry: index,
                source,
            })?;
        let time = match document.time(index) {
            None => None,
            Some(time) => Some(time.as_i64().ok_or(ContentError::InvalidTime {
                location: Location::Entry(index),
            })?),
        };
        let group = *group_of_time.entry(time).or_insert_with(|| {
            groups.push((time, Vec::new()));
            groups.len() - 1
        });
        if let Some((_, entries)) = groups.get_mut(group) {
            entries.push(Entry {
                index,
                name,
                value: &record.value,
            });
        }
    }
    if groups.is_empty() {
        // `{"e":[]}`: no values, which is still an answer for an object or an instance.
        groups.push((None, Vec::new()));
    }
    groups
        .into_iter()
        .map(|(time, entries)| {
            let mut builder = Builder {
                target: *target,
                registry,
                object: Object::new(target.object_id().unwrap_or_default()),
                untyped: Vec::new(),
            };
            let linked = builder.place_all(entries)?;
            let node = builder.target_node()?;
            let mut content = Content::with_untyped(node, builder.untyped);
            content.linked = linked;
            content.time = time;
            Ok(content)
        })
        .collect()
}

/// Whether `name` names a resource or resource instance at or under `target`.
#[inline]
fn is_under(target: &Path, name: &NamePath) -> bool {
    name.depth() >= 3 && name.starts_with(target.ids())
}

pub(super) fn not_under(target: &Path, ids: &[u16], index: usize) -> ContentError {
    ContentError::NotUnderTarget {
        target: *target,
        found: RawPath::new(ids),
        location: Location::Entry(index),
    }
}

/// The resource path and, for a resource instance, its path, of a name of depth 3 or 4.
fn value_paths(ids: &[u16], index: usize) -> Result<(Path, Option<Path>), ContentError> {
    let location = Location::Entry(index);
    let mut path = Path::ROOT;
    for &id in ids.iter().take(3) {
        path = path.child(id).map_err(|_| ContentError::ReservedId {
            parent: path,
            location,
        })?;
    }
    let instance = match ids.get(3) {
        Some(&ri) => Some(path.child(ri).map_err(|_| ContentError::ReservedId {
            parent: path,
            location,
        })?),
        None => None,
    };
    Ok((path, instance))
}

/// The path of the first `depth` ids of a name whose ids [`value_paths`] accepts.
pub(super) fn name_path(ids: &[u16], depth: usize) -> Path {
    Path::new(ids.get(..depth).unwrap_or_default()).unwrap_or(Path::ROOT)
}

/// Refuses a name holding the reserved id 65535, without building paths for the others.
#[inline]
pub(super) fn check_name_ids(ids: &[u16], index: usize) -> Result<(), ContentError> {
    if ids.contains(&u16::MAX) {
        value_paths(ids, index)?;
    }
    Ok(())
}

struct Builder<'r> {
    target: Path,
    registry: &'r Registry,
    /// Everything under the target's object.
    object: Object,
    untyped: Vec<Path>,
}

impl Builder<'_> {
    /// Places every entry; returns the linked instances of other objects (the hierarchy form).
    fn place_all(&mut self, entries: Vec<Entry<'_, '_>>) -> Result<Vec<Object>, ContentError> {
        let definition = self.target.object_id().and_then(|o| self.registry.get(o));
        let mut outside: BTreeMap<(u16, u16), Vec<Entry<'_, '_>>> = BTreeMap::new();
        for entry in entries {
            if is_under(&self.target, &entry.name) {
                place(&mut self.object, definition, &entry, &mut self.untyped)?;
            } else if entry.name.depth() >= 3 && !self.in_target_instance(&entry.name) {
                let key = (
                    entry.name.object(),
                    entry.name.instance().unwrap_or_default(),
                );
                outside.entry(key).or_default().push(entry);
            } else {
                return Err(not_under(&self.target, entry.name.ids(), entry.index));
            }
        }
        if outside.is_empty() {
            return Ok(Vec::new());
        }
        self.linked(outside)
    }

    /// Whether `name` lies in the target's own object instance (so not in a linked one).
    fn in_target_instance(&self, name: &NamePath) -> bool {
        match (self.target.object_id(), self.target.instance_id()) {
            (Some(object), Some(instance)) => {
                name.object() == object && name.instance() == Some(instance)
            }
            _ => false,
        }
    }

    /// Accepts the instances reachable from the target through object links, breadth first (the
    /// TS walks the hierarchy that way), and refuses any entry left over.
    fn linked(
        &mut self,
        mut outside: BTreeMap<(u16, u16), Vec<Entry<'_, '_>>>,
    ) -> Result<Vec<Object>, ContentError> {
        let mut queue = alloc::collections::VecDeque::new();
        for instance in self.object.instances() {
            links_of(instance, &mut queue);
        }
        let mut linked: BTreeMap<u16, Object> = BTreeMap::new();
        while let Some(link) = queue.pop_front() {
            let Some(entries) = outside.remove(&(link.object_id, link.instance_id)) else {
                continue;
            };
            let definition = self.registry.get(link.object_id);
            let object = linked
                .entry(link.object_id)
                .or_insert_with(|| Object::new(link.object_id));
            for entry in &entries {
                place(object, definition, entry, &mut self.untyped)?;
            }
            if let Some(instance) = object.instance(link.instance_id) {
                links_of(instance, &mut queue);
            }
        }
        let first_left = outside.values().flatten().min_by_key(|entry| entry.index);
        if let Some(entry) = first_left {
            return Err(not_under(&self.target, entry.name.ids(), entry.index));
        }
        Ok(linked.into_values().collect())
    }

    /// The node at the target, taken out of the object the entries were placed in.
    fn target_node(&mut self) -> Result<Node, ContentError> {
        let target = self.target;
        let instance_id = target.instance_id().unwrap_or_default();
        let resource_id = target.resource_id().unwrap_or_default();
        let missing = ContentError::MissingValue { target };
        match target.level() {
            Level::Root => Err(ContentError::RootTarget),
            Level::Object => Ok(Node::Object(core::mem::take(&mut self.object))),
            Level::ObjectInstance => Ok(Node::ObjectInstance(
                self.object
                    .remove(instance_id)
                    .unwrap_or(ObjectInstance::new(instance_id)),
            )),
            Level::Resource => {
                let resource = self
                    .object
                    .instance_mut(instance_id)
                    .and_then(|i| i.remove(resource_id));
                if let Some(resource) = resource {
                    return Ok(Node::Resource(resource));
                }
                let definition = self.registry.get(target.object_id().unwrap_or_default());
                match Slot::of(definition, resource_id) {
                    // A multiple resource with no instances has no entry in JSON.
                    Slot::Typed { multiple: true, .. } => Ok(Node::Resource(Resource::multiple(
                        resource_id,
                        core::iter::empty::<(u16, Value)>(),
                    ))),
                    _ => Err(missing),
                }
            }
            Level::ResourceInstance => {
                let id = target.resource_instance_id().unwrap_or_default();
                let value = self
                    .object
                    .instance_mut(instance_id)
                    .and_then(|i| i.resource_mut(resource_id))
                    .and_then(|r| match r.value_mut() {
                        ResourceValue::Multiple(map) => map.remove(&id),
                        ResourceValue::Single(_) => None,
                    });
                match value {
                    Some(value) => Ok(Node::ResourceInstance(ResourceInstance { id, value })),
                    None => Err(missing),
                }
            }
        }
    }
}

/// Collects the (non-null) object links an instance holds.
fn links_of(instance: &ObjectInstance, queue: &mut alloc::collections::VecDeque<ObjectLink>) {
    for resource in instance.resources() {
        match resource.value() {
            ResourceValue::Single(Value::Objlnk(link)) if !link.is_null() => queue.push_back(*link),
            ResourceValue::Multiple(map) => queue.extend(
                map.values()
                    .filter_map(Value::as_objlnk)
                    .filter(|l| !l.is_null()),
            ),
            ResourceValue::Single(_) => {}
        }
    }
}

/// Places one entry (of depth 3 or 4) into `object`, typed by `definition`.
fn place(
    object: &mut Object,
    definition: Option<&ObjectDefinition>,
    entry: &Entry<'_, '_>,
    untyped: &mut Vec<Path>,
) -> Result<(), ContentError> {
    let location = Location::Entry(entry.index);
    let (path, instance_path) = value_paths(entry.name.ids(), entry.index)?;
    let resource_id = entry.name.resource().unwrap_or_default();
    let value = match Slot::of(definition, resource_id) {
        Slot::Typed {
            data_type,
            multiple,
        } => {
            if multiple != instance_path.is_some() {
                return Err(ContentError::Multiplicity {
                    path,
                    expected_multiple: multiple,
                    location,
                });
            }
            let mut scratch = Vec::new();
            typed_value(
                entry.value,
                data_type,
                &mut scratch,
                entry.name.ids(),
                location,
            )?
            .to_value()
        }
        Slot::Executable | Slot::Unknown => {
            untyped.push(path);
            untyped_value(entry.value)
        }
    };
    let instance_id = entry.name.instance().unwrap_or_default();
    if object.instance(instance_id).is_none() {
        object.insert(ObjectInstance::new(instance_id));
    }
    let Some(instance) = object.instance_mut(instance_id) else {
        return Ok(());
    };
    match entry.name.resource_instance() {
        None => match instance.resource(resource_id) {
            None => {
                instance.insert(Resource::single(resource_id, value));
                Ok(())
            }
            Some(existing) if existing.is_multiple() => Err(ContentError::Multiplicity {
                path,
                expected_multiple: true,
                location,
            }),
            Some(_) => Err(ContentError::Duplicate { path, location }),
        },
        Some(ri) => {
            if instance.resource(resource_id).is_none() {
                instance.insert(Resource::multiple(
                    resource_id,
                    core::iter::empty::<(u16, Value)>(),
                ));
            }
            match instance.resource_mut(resource_id).map(Resource::value_mut) {
                Some(ResourceValue::Multiple(map)) => {
                    if map.insert(ri, value).is_some() {
                        return Err(ContentError::Duplicate {
                            path: instance_path.unwrap_or(path),
                            location,
                        });
                    }
                    Ok(())
                }
                _ => Err(ContentError::Multiplicity {
                    path,
                    expected_multiple: false,
                    location,
                }),
            }
        }
    }
}

fn found(value: &JsonValue<'_>) -> &'static str {
    match value {
        JsonValue::Number(_) => "a number (v)",
        JsonValue::String(_) => "a string (sv)",
        JsonValue::Boolean(_) => "a boolean (bv)",
        JsonValue::Objlnk(_) => "an object link (ov)",
    }
}

/// The value of an entry typed as `data_type`; Opaque base64 is decoded into `scratch`.
///
/// `ids` (the entry's name, already checked for reserved ids) only become a path for an error.
// Always inlined: a `Result` returned through memory costs a store-forwarding stall per entry.
#[inline(always)]
pub(super) fn typed_value<'v>(
    value: &'v JsonValue<'_>,
    data_type: DataType,
    scratch: &'v mut Vec<u8>,
    ids: &[u16],
    location: Location,
) -> Result<ValueRef<'v>, ContentError> {
    let path = || name_path(ids, ids.len());
    let mismatch = |found: &'static str| ContentError::TypeMismatch {
        path: path(),
        expected: data_type,
        found,
        location,
    };
    Ok(match (data_type, value) {
        (DataType::Integer | DataType::Time, JsonValue::Number(n)) => {
            let v = n
                .as_i64()
                .ok_or_else(|| mismatch("a number that is not a whole 64-bit integer"))?;
            if data_type == DataType::Time {
                ValueRef::Time(v)
            } else {
                ValueRef::Integer(v)
            }
        }
        (DataType::Float, JsonValue::Number(n)) => ValueRef::Float(n.as_f64()),
        (DataType::Boolean, JsonValue::Boolean(b)) => ValueRef::Boolean(*b),
        (DataType::String, JsonValue::String(s)) => ValueRef::String(s),
        (DataType::Opaque, JsonValue::String(s)) => {
            let bytes = s.as_bytes();
            scratch.clear();
            scratch.resize(text::opaque_max_decoded_len(bytes.len()), 0);
            let len =
                text::parse_opaque_into(bytes, scratch).map_err(|source| ContentError::Text {
                    at: path(),
                    location,
                    source,
                })?;
            scratch.truncate(len);
            ValueRef::Opaque(scratch)
        }
        (DataType::Objlnk, JsonValue::Objlnk(link)) => {
            ValueRef::Objlnk(ObjectLink::new(link.object, link.instance))
        }
        // Leshan writes object links as strings in "sv".
        (DataType::Objlnk, JsonValue::String(s)) => {
            let link = Objlnk::parse(s)
                .map_err(|_| mismatch("a string (sv) that is not an object link"))?;
            ValueRef::Objlnk(ObjectLink::new(link.object, link.instance))
        }
        (_, other) => return Err(mismatch(found(other))),
    })
}

/// The value of an entry for a resource without a definition: the JSON's own type.
fn untyped_value(value: &JsonValue<'_>) -> Value {
    match value {
        JsonValue::Number(Number::Integer(v)) => Value::Integer(*v),
        JsonValue::Number(Number::Float(v)) => Value::Float(*v),
        JsonValue::String(s) => Value::String((**s).into()),
        JsonValue::Boolean(b) => Value::Boolean(*b),
        JsonValue::Objlnk(link) => Value::Objlnk(ObjectLink::new(link.object, link.instance)),
    }
}
