//! The node tree: objects, object instances, resources and resource instances with their values.
//!
//! A [`Node`] is what a Read returns and a Write carries: the content at one [`Path`]. Children live
//! in ordered maps keyed by id, so iteration (and therefore encoding) is deterministic and sorted.
//! A child's id is private and only set at construction; the maps are only filled through methods
//! that key a child by its own id, so a map key and the id it stores can never disagree.
//!
//! A node does not know the path of its parent (a Resource read from `/3/0/9` is just resource 9);
//! the path is context the caller holds. [`Node::path_in`], [`Node::get`] and
//! [`Node::insert_value`] take that context explicitly.

use alloc::collections::btree_map::{self, BTreeMap};

use crate::path::{Level, Path, PathError};
use crate::value::Value;

/// A node operation could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// The context path given for a node does not fit it (wrong level, or its last id is not the
    /// node's id).
    #[error("a {node} node with id {id} cannot sit at {at}")]
    ContextMismatch {
        /// The level of the node.
        node: Level,
        /// The node's id.
        id: u16,
        /// The context path that was given.
        at: Path,
    },
    /// The target path is not inside the node.
    #[error("{target} is not inside the node at {at}")]
    NotInside {
        /// The node's path.
        at: Path,
        /// The requested path.
        target: Path,
    },
    /// A value can only be placed at a resource or resource instance path.
    #[error("a value cannot be placed at {0}: it is not a resource or resource instance path")]
    NotAValuePath(Path),
    /// The tree holds a single resource where a multiple resource is needed, or the reverse.
    #[error("resource {0} already exists with the other multiplicity (single vs multiple)")]
    MultiplicityMismatch(Path),
    /// A node id (65535) cannot be expressed as a path.
    #[error(transparent)]
    Path(#[from] PathError),
}

/// A resource instance: one entry of a multiple resource, addressed alone.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceInstance {
    /// The resource instance id.
    pub id: u16,
    /// Its value.
    pub value: Value,
}

/// The content of a resource: one value, or a map of resource instances.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceValue {
    /// A single-instance resource.
    Single(Value),
    /// A multiple-instance resource: resource instance id → value (possibly empty).
    Multiple(BTreeMap<u16, Value>),
}

/// A resource with its id and content.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    id: u16,
    value: ResourceValue,
}

impl Resource {
    /// A single-instance resource.
    pub fn single(id: u16, value: impl Into<Value>) -> Self {
        Resource {
            id,
            value: ResourceValue::Single(value.into()),
        }
    }

    /// A multiple-instance resource from (resource instance id, value) pairs; a later duplicate id
    /// replaces an earlier one.
    pub fn multiple<I, V>(id: u16, instances: I) -> Self
    where
        I: IntoIterator<Item = (u16, V)>,
        V: Into<Value>,
    {
        Resource {
            id,
            value: ResourceValue::Multiple(
                instances.into_iter().map(|(k, v)| (k, v.into())).collect(),
            ),
        }
    }

    /// The resource id.
    #[inline]
    pub const fn id(&self) -> u16 {
        self.id
    }

    /// The content.
    #[inline]
    pub const fn value(&self) -> &ResourceValue {
        &self.value
    }

    /// The content, mutably (the id stays fixed).
    #[inline]
    pub fn value_mut(&mut self) -> &mut ResourceValue {
        &mut self.value
    }

    /// Consumes the resource, returning its content.
    #[inline]
    pub fn into_value(self) -> ResourceValue {
        self.value
    }

    /// Whether this is a multiple-instance resource.
    #[inline]
    pub const fn is_multiple(&self) -> bool {
        matches!(self.value, ResourceValue::Multiple(_))
    }

    /// The value of a single-instance resource.
    #[inline]
    pub fn as_single(&self) -> Option<&Value> {
        match &self.value {
            ResourceValue::Single(v) => Some(v),
            ResourceValue::Multiple(_) => None,
        }
    }

    /// The instances of a multiple-instance resource.
    #[inline]
    pub fn instances(&self) -> Option<&BTreeMap<u16, Value>> {
        match &self.value {
            ResourceValue::Single(_) => None,
            ResourceValue::Multiple(m) => Some(m),
        }
    }

    /// One instance value of a multiple-instance resource.
    #[inline]
    pub fn instance(&self, id: u16) -> Option<&Value> {
        self.instances()?.get(&id)
    }
}

/// An object instance: its id and its resources, ordered by resource id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectInstance {
    id: u16,
    resources: BTreeMap<u16, Resource>,
}

impl ObjectInstance {
    /// An instance with no resources.
    pub const fn new(id: u16) -> Self {
        ObjectInstance {
            id,
            resources: BTreeMap::new(),
        }
    }

    /// An instance from its resources; a later resource with a duplicate id replaces an earlier one.
    pub fn with_resources(id: u16, resources: impl IntoIterator<Item = Resource>) -> Self {
        let mut instance = ObjectInstance::new(id);
        for r in resources {
            instance.insert(r);
        }
        instance
    }

    /// The instance id.
    #[inline]
    pub const fn id(&self) -> u16 {
        self.id
    }

    /// Adds or replaces a resource (keyed by its own id); returns the one it replaced.
    pub fn insert(&mut self, resource: Resource) -> Option<Resource> {
        self.resources.insert(resource.id, resource)
    }

    /// Removes a resource.
    pub fn remove(&mut self, resource_id: u16) -> Option<Resource> {
        self.resources.remove(&resource_id)
    }

    /// A resource by id.
    #[inline]
    pub fn resource(&self, resource_id: u16) -> Option<&Resource> {
        self.resources.get(&resource_id)
    }

    /// A resource by id, mutably (its id stays fixed).
    #[inline]
    pub fn resource_mut(&mut self, resource_id: u16) -> Option<&mut Resource> {
        self.resources.get_mut(&resource_id)
    }

    /// The value of a single-instance resource.
    #[inline]
    pub fn value(&self, resource_id: u16) -> Option<&Value> {
        self.resource(resource_id)?.as_single()
    }

    /// The resources in id order.
    #[inline]
    pub fn resources(&self) -> btree_map::Values<'_, u16, Resource> {
        self.resources.values()
    }

    /// The number of resources.
    #[inline]
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether the instance has no resources.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}

/// An object: its id and its instances, ordered by instance id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    id: u16,
    instances: BTreeMap<u16, ObjectInstance>,
}

impl Object {
    /// An object with no instances.
    pub const fn new(id: u16) -> Self {
        Object {
            id,
            instances: BTreeMap::new(),
        }
    }

    /// An object from its instances; a later instance with a duplicate id replaces an earlier one.
    pub fn with_instances(id: u16, instances: impl IntoIterator<Item = ObjectInstance>) -> Self {
        let mut object = Object::new(id);
        for i in instances {
            object.insert(i);
        }
        object
    }

    /// The object id.
    #[inline]
    pub const fn id(&self) -> u16 {
        self.id
    }

    /// Adds or replaces an instance (keyed by its own id); returns the one it replaced.
    pub fn insert(&mut self, instance: ObjectInstance) -> Option<ObjectInstance> {
        self.instances.insert(instance.id, instance)
    }

    /// Removes an instance.
    pub fn remove(&mut self, instance_id: u16) -> Option<ObjectInstance> {
        self.instances.remove(&instance_id)
    }

    /// An instance by id.
    #[inline]
    pub fn instance(&self, instance_id: u16) -> Option<&ObjectInstance> {
        self.instances.get(&instance_id)
    }

    /// An instance by id, mutably (its id stays fixed).
    #[inline]
    pub fn instance_mut(&mut self, instance_id: u16) -> Option<&mut ObjectInstance> {
        self.instances.get_mut(&instance_id)
    }

    /// The instances in id order.
    #[inline]
    pub fn instances(&self) -> btree_map::Values<'_, u16, ObjectInstance> {
        self.instances.values()
    }

    /// The number of instances.
    #[inline]
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Whether the object has no instances.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }
}

/// The content at one path: an object, an object instance, a resource or a resource instance.
///
/// ```
/// use lwm2m_model::{Node, ObjectInstance, Path, Resource, Value};
///
/// let at = Path::object_instance(3, 0)?;
/// let mut node = Node::from(ObjectInstance::new(0));
/// node.insert_value(&at, &Path::resource(3, 0, 0)?, Value::from("Open Mobile Alliance"))?;
/// node.insert_value(&at, &Path::resource_instance(3, 0, 7, 1)?, Value::from(5108))?;
///
/// let voltage = node.get(&at, &Path::resource_instance(3, 0, 7, 1)?).unwrap();
/// assert_eq!(voltage.as_value(), Some(&Value::Integer(5108)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `/o`.
    Object(Object),
    /// `/o/i`.
    ObjectInstance(ObjectInstance),
    /// `/o/i/r`.
    Resource(Resource),
    /// `/o/i/r/ri`.
    ResourceInstance(ResourceInstance),
}

/// A borrowed view of some node inside a tree (see [`Node::get`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NodeRef<'a> {
    /// An object.
    Object(&'a Object),
    /// An object instance.
    ObjectInstance(&'a ObjectInstance),
    /// A resource.
    Resource(&'a Resource),
    /// A resource instance: its id and value.
    ResourceInstance {
        /// The resource instance id.
        id: u16,
        /// The value.
        value: &'a Value,
    },
}

impl<'a> NodeRef<'a> {
    /// The value, for a single resource or a resource instance.
    pub fn as_value(&self) -> Option<&'a Value> {
        match *self {
            NodeRef::Resource(r) => r.as_single(),
            NodeRef::ResourceInstance { value, .. } => Some(value),
            NodeRef::Object(_) | NodeRef::ObjectInstance(_) => None,
        }
    }

    /// The level of the referenced node.
    pub const fn level(&self) -> Level {
        match self {
            NodeRef::Object(_) => Level::Object,
            NodeRef::ObjectInstance(_) => Level::ObjectInstance,
            NodeRef::Resource(_) => Level::Resource,
            NodeRef::ResourceInstance { .. } => Level::ResourceInstance,
        }
    }
}

impl Node {
    /// The id of the node at its own level.
    pub const fn id(&self) -> u16 {
        match self {
            Node::Object(o) => o.id,
            Node::ObjectInstance(i) => i.id,
            Node::Resource(r) => r.id,
            Node::ResourceInstance(ri) => ri.id,
        }
    }

    /// The level of the node.
    pub const fn level(&self) -> Level {
        match self {
            Node::Object(_) => Level::Object,
            Node::ObjectInstance(_) => Level::ObjectInstance,
            Node::Resource(_) => Level::Resource,
            Node::ResourceInstance(_) => Level::ResourceInstance,
        }
    }

    /// A borrowed view of the whole node.
    pub fn as_ref(&self) -> NodeRef<'_> {
        match self {
            Node::Object(o) => NodeRef::Object(o),
            Node::ObjectInstance(i) => NodeRef::ObjectInstance(i),
            Node::Resource(r) => NodeRef::Resource(r),
            Node::ResourceInstance(ri) => NodeRef::ResourceInstance {
                id: ri.id,
                value: &ri.value,
            },
        }
    }

    /// The node's full path, given the path of its parent (the root for an object, `/o` for an
    /// instance, `/o/i` for a resource, `/o/i/r` for a resource instance).
    pub fn path_in(&self, parent: &Path) -> Result<Path, NodeError> {
        if parent.depth() + 1 != self.level().depth() {
            return Err(NodeError::ContextMismatch {
                node: self.level(),
                id: self.id(),
                at: *parent,
            });
        }
        Ok(parent.child(self.id())?)
    }

    fn check_context(&self, at: &Path) -> Result<(), NodeError> {
        if at.level() != self.level() || at.last_id() != Some(self.id()) {
            return Err(NodeError::ContextMismatch {
                node: self.level(),
                id: self.id(),
                at: *at,
            });
        }
        Ok(())
    }

    /// Looks up `target` inside this node, which sits at `at`.
    ///
    /// Returns `None` when `at` does not fit the node, `target` is not `at` or below it, or nothing
    /// exists there.
    pub fn get(&self, at: &Path, target: &Path) -> Option<NodeRef<'_>> {
        self.check_context(at).ok()?;
        if !at.is_ancestor_or_self_of(target) {
            return None;
        }
        let rest = target.ids().get(at.depth()..)?;
        let mut current = self.as_ref();
        for &id in rest {
            current = match current {
                NodeRef::Object(o) => NodeRef::ObjectInstance(o.instance(id)?),
                NodeRef::ObjectInstance(i) => NodeRef::Resource(i.resource(id)?),
                NodeRef::Resource(r) => NodeRef::ResourceInstance {
                    id,
                    value: r.instance(id)?,
                },
                NodeRef::ResourceInstance { .. } => return None,
            };
        }
        Some(current)
    }

    /// Places `value` at `target` (a resource or resource instance path at or below `at`, the path
    /// of this node), creating the instances and resources on the way.
    ///
    /// A resource path sets a single-instance resource (replacing whatever was there); a resource
    /// instance path adds or replaces one entry of a multiple resource. Putting an instance into an
    /// existing single resource is a [`NodeError::MultiplicityMismatch`].
    pub fn insert_value(
        &mut self,
        at: &Path,
        target: &Path,
        value: Value,
    ) -> Result<(), NodeError> {
        self.check_context(at)?;
        if !at.is_ancestor_or_self_of(target) {
            return Err(NodeError::NotInside {
                at: *at,
                target: *target,
            });
        }
        let Some(resource_id) = target.resource_id() else {
            return Err(NodeError::NotAValuePath(*target));
        };
        let resource_instance_id = target.resource_instance_id();
        let resource_path = if resource_instance_id.is_some() {
            target.parent().unwrap_or(*target)
        } else {
            *target
        };
        let resource: &mut Resource = match self {
            Node::Object(object) => {
                let instance_id = target.instance_id().unwrap_or_default();
                let instance = object
                    .instances
                    .entry(instance_id)
                    .or_insert_with(|| ObjectInstance::new(instance_id));
                resource_entry(instance, resource_id)
            }
            Node::ObjectInstance(instance) => resource_entry(instance, resource_id),
            Node::Resource(resource) => resource,
            Node::ResourceInstance(ri) => {
                // `at` == `target` here (a resource instance has no children).
                ri.value = value;
                return Ok(());
            }
        };
        match (resource_instance_id, &mut resource.value) {
            (None, slot) => *slot = ResourceValue::Single(value),
            (Some(ri), ResourceValue::Multiple(map)) => {
                map.insert(ri, value);
            }
            (Some(_), ResourceValue::Single(_)) => {
                return Err(NodeError::MultiplicityMismatch(resource_path))
            }
        }
        Ok(())
    }
}

fn resource_entry(instance: &mut ObjectInstance, id: u16) -> &mut Resource {
    // A new resource starts as an empty multiple resource: `insert_value` either adds an instance
    // to it or overwrites it with a single value straight away.
    instance.resources.entry(id).or_insert_with(|| Resource {
        id,
        value: ResourceValue::Multiple(BTreeMap::new()),
    })
}

impl From<Object> for Node {
    fn from(v: Object) -> Self {
        Node::Object(v)
    }
}

impl From<ObjectInstance> for Node {
    fn from(v: ObjectInstance) -> Self {
        Node::ObjectInstance(v)
    }
}

impl From<Resource> for Node {
    fn from(v: Resource) -> Self {
        Node::Resource(v)
    }
}

impl From<ResourceInstance> for Node {
    fn from(v: ResourceInstance) -> Self {
        Node::ResourceInstance(v)
    }
}

#[cfg(test)]
mod tests;
