//! The [`TypedObject`] trait every generated object struct implements.

use alloc::collections::BTreeMap;

use lwm2m_model::{Node, Object, ObjectDefinition, ObjectInstance, ResourceValue};

use crate::error::{ObjectError, ObjectErrorKind};

/// A Rust struct that is one instance of a LwM2M object, convertible to and from the [`Node`]
/// tree.
///
/// Generated for every object by `cargo xtask codegen` (and by
/// `lwm2m_model::codegen` in third-party build scripts). Conversions check every resource the
/// definition knows (presence of mandatory resources, type, single vs multiple, no value on
/// executables) and ignore resources it does not know; ranges are only checked by
/// [`validate`](TypedObject::validate).
///
/// ```
/// use lwm2m_objects::{Server, TypedObject};
///
/// let server = Server {
///     short_server_id: 1,
///     lifetime: 86400,
///     default_minimum_period: None,
///     default_maximum_period: None,
///     disable_timeout: None,
///     notification_storing_when_disabled_or_offline: true,
///     binding: "U".into(),
/// };
/// let object = Server::to_object([(0, &server)]);
/// let back = Server::from_object(&object)?;
/// assert_eq!(back.get(&0), Some(&server));
/// assert_eq!(Server::DEFINITION.name, "LwM2M Server");
/// # Ok::<(), lwm2m_objects::ObjectError>(())
/// ```
pub trait TypedObject: Sized {
    /// The object id.
    const OBJECT_ID: u16;

    /// The object definition the struct was generated from.
    const DEFINITION: &'static ObjectDefinition;

    /// The instance with the given id, holding every field that has a value.
    fn to_instance(&self, instance_id: u16) -> ObjectInstance;

    /// Reads an instance; see the trait documentation for what is checked.
    fn from_instance(instance: &ObjectInstance) -> Result<Self, ObjectError>;

    /// [`to_instance`](TypedObject::to_instance) as a [`Node`].
    fn to_instance_node(&self, instance_id: u16) -> Node {
        Node::ObjectInstance(self.to_instance(instance_id))
    }

    /// Reads an object instance node; any other kind of node is
    /// [`ObjectErrorKind::NotAnInstance`].
    fn from_instance_node(node: &Node) -> Result<Self, ObjectError> {
        match node {
            Node::ObjectInstance(instance) => Self::from_instance(instance),
            other => Err(ObjectError::object(
                Self::OBJECT_ID,
                ObjectErrorKind::NotAnInstance(other.level()),
            )),
        }
    }

    /// An object holding the given instances.
    fn to_object<'a, I>(instances: I) -> Object
    where
        I: IntoIterator<Item = (u16, &'a Self)>,
        Self: 'a,
    {
        Object::with_instances(
            Self::OBJECT_ID,
            instances.into_iter().map(|(id, t)| t.to_instance(id)),
        )
    }

    /// Reads every instance of an object, by instance id. An object with another id is
    /// [`ObjectErrorKind::WrongObject`].
    fn from_object(object: &Object) -> Result<BTreeMap<u16, Self>, ObjectError> {
        if object.id() != Self::OBJECT_ID {
            return Err(ObjectError::object(
                Self::OBJECT_ID,
                ObjectErrorKind::WrongObject(object.id()),
            ));
        }
        object
            .instances()
            .map(|instance| Ok((instance.id(), Self::from_instance(instance)?)))
            .collect()
    }

    /// Checks every value against its resource's range (the `RangeEnumeration` of the
    /// definition; text ranges are never enforced).
    fn validate(&self) -> Result<(), ObjectError> {
        let instance = self.to_instance(0);
        for resource in instance.resources() {
            let Some(definition) = Self::DEFINITION.resource(resource.id()) else {
                continue;
            };
            let Some(range) = &definition.range else {
                continue;
            };
            let bad = match resource.value() {
                ResourceValue::Single(v) => (!range.contains(v)).then_some(None),
                ResourceValue::Multiple(values) => values
                    .iter()
                    .find(|(_, v)| !range.contains(v))
                    .map(|(&ri, _)| Some(ri)),
            };
            if let Some(resource_instance) = bad {
                return Err(ObjectError {
                    object: Self::OBJECT_ID,
                    instance: None,
                    resource: Some(resource.id()),
                    resource_name: Some(definition.name.as_ref()),
                    kind: ObjectErrorKind::OutOfRange { resource_instance },
                });
            }
        }
        Ok(())
    }
}
