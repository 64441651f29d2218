//! The error of converting between a [`Node`](lwm2m_model::Node) and a typed object.

use core::fmt;

use lwm2m_model::{DataType, Level};

/// A node does not fit a typed object; says which object, instance and resource.
///
/// ```
/// use lwm2m_model::{ObjectInstance, Resource};
/// use lwm2m_objects::{Device, ObjectErrorKind};
///
/// // Battery Level (/3/0/9) is an Integer, and Error Code (11) and Supported Binding (16) are
/// // mandatory; the first problem found is reported (executables first, then by resource id).
/// let instance = ObjectInstance::with_resources(0, [Resource::single(9, "full")]);
/// let err = Device::from_instance(&instance).unwrap_err();
/// assert_eq!((err.instance, err.resource), (Some(0), Some(9)));
/// assert_eq!(err.to_string(), "/3/0/9 (Battery Level): expected Integer, found String");
/// assert!(matches!(err.kind, ObjectErrorKind::WrongType { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ObjectError {
    /// The object id of the typed object.
    pub object: u16,
    /// The object instance, when the problem is inside one.
    pub instance: Option<u16>,
    /// The resource, when the problem is in one.
    pub resource: Option<u16>,
    /// The resource's name from the object definition, when the resource is defined.
    pub resource_name: Option<&'static str>,
    /// What is wrong.
    pub kind: ObjectErrorKind,
}

impl ObjectError {
    /// An error about the object or node as a whole.
    pub const fn object(object: u16, kind: ObjectErrorKind) -> Self {
        ObjectError {
            object,
            instance: None,
            resource: None,
            resource_name: None,
            kind,
        }
    }
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.object)?;
        match (self.instance, self.resource) {
            (Some(i), Some(r)) => write!(f, "/{i}/{r}")?,
            (Some(i), None) => write!(f, "/{i}")?,
            (None, Some(r)) => write!(f, ", resource {r}")?,
            (None, None) => {}
        }
        if let Some(name) = self.resource_name {
            write!(f, " ({name})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// What is wrong with the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ObjectErrorKind {
    /// The node is not an object instance (typed objects convert from `/o/i` nodes).
    #[error("expected an object instance node, found a {0} node")]
    NotAnInstance(Level),
    /// An object node has another object id.
    #[error("the node belongs to object {0}")]
    WrongObject(u16),
    /// A mandatory resource is missing.
    #[error("mandatory resource is missing")]
    MissingMandatory,
    /// A value has a type that does not convert losslessly to the resource's type.
    #[error("expected {expected}, found {found}{}", at_instance(*.resource_instance))]
    WrongType {
        /// The resource instance, for a multiple resource.
        resource_instance: Option<u16>,
        /// The resource's type.
        expected: DataType,
        /// The value's type.
        found: DataType,
    },
    /// The resource is single-instance but the node holds resource instances.
    #[error("single-instance resource holds resource instances")]
    ExpectedSingle,
    /// The resource is multiple-instance but the node holds a single value.
    #[error("multiple-instance resource holds a single value")]
    ExpectedMultiple,
    /// The node holds a value for an executable resource, which has none.
    #[error("executable resource cannot hold a value")]
    ExecutableHasValue,
    /// A value is outside the resource's range (only reported by
    /// [`TypedObject::validate`](crate::TypedObject::validate)).
    #[error("value is outside the range of the resource{}", at_instance(*.resource_instance))]
    OutOfRange {
        /// The resource instance, for a multiple resource.
        resource_instance: Option<u16>,
    },
}

/// The " at resource instance N" suffix of a message, or nothing.
fn at_instance(resource_instance: Option<u16>) -> AtInstance {
    AtInstance(resource_instance)
}

struct AtInstance(Option<u16>);

impl fmt::Display for AtInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ri) => write!(f, " in resource instance {ri}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn messages_name_the_place() {
        let at = |instance, resource, resource_name, kind| ObjectError {
            object: 3,
            instance,
            resource,
            resource_name,
            kind,
        };
        let cases = [
            (
                ObjectError::object(3, ObjectErrorKind::NotAnInstance(Level::Resource)),
                "/3: expected an object instance node, found a resource node",
            ),
            (
                ObjectError::object(3, ObjectErrorKind::WrongObject(4)),
                "/3: the node belongs to object 4",
            ),
            (
                at(
                    Some(0),
                    Some(16),
                    Some("Supported Binding and Modes"),
                    ObjectErrorKind::MissingMandatory,
                ),
                "/3/0/16 (Supported Binding and Modes): mandatory resource is missing",
            ),
            (
                at(
                    Some(0),
                    Some(7),
                    None,
                    ObjectErrorKind::WrongType {
                        resource_instance: Some(2),
                        expected: DataType::Integer,
                        found: DataType::Opaque,
                    },
                ),
                "/3/0/7: expected Integer, found Opaque in resource instance 2",
            ),
            (
                at(Some(1), None, None, ObjectErrorKind::ExpectedSingle),
                "/3/1: single-instance resource holds resource instances",
            ),
            (
                at(Some(0), Some(11), None, ObjectErrorKind::ExpectedMultiple),
                "/3/0/11: multiple-instance resource holds a single value",
            ),
            (
                at(
                    Some(0),
                    Some(4),
                    Some("Reboot"),
                    ObjectErrorKind::ExecutableHasValue,
                ),
                "/3/0/4 (Reboot): executable resource cannot hold a value",
            ),
            (
                at(
                    None,
                    Some(9),
                    None,
                    ObjectErrorKind::OutOfRange {
                        resource_instance: None,
                    },
                ),
                "/3, resource 9: value is outside the range of the resource",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }
}
