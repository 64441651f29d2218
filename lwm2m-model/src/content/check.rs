//! Checks a node against its target path and its definition before any format writes it, so the
//! writers never meet a value they cannot type.

use crate::content::error::{ContentError, NodeProblem};
use crate::content::value::{Slot, ValueRef};
use crate::definition::ObjectDefinition;
use crate::node::{Node, ObjectInstance, Resource, ResourceValue};
use crate::path::{Path, MAX_ID};
use crate::value::Value;

/// Checks that `node` sits at `target` (not the root) and fits `definition`: child ids are not
/// reserved, multiplicities match, every value converts losslessly to its resource's type, and no
/// executable holds a value. Resources the definition does not know pass as they are.
pub(crate) fn check_node(
    target: &Path,
    node: &Node,
    definition: Option<&ObjectDefinition>,
) -> Result<(), ContentError> {
    if target.is_root() {
        return Err(ContentError::RootTarget);
    }
    if node.level() != target.level() || target.last_id() != Some(node.id()) {
        return Err(ContentError::InvalidNode {
            path: *target,
            problem: NodeProblem::Placement {
                level: node.level(),
                id: node.id(),
            },
        });
    }
    match node {
        Node::Object(object) => {
            for instance in object.instances() {
                let path = child(target, instance.id())?;
                check_instance(&path, instance, definition)?;
            }
            Ok(())
        }
        Node::ObjectInstance(instance) => check_instance(target, instance, definition),
        Node::Resource(resource) => {
            check_resource(&target.parent().unwrap_or(*target), resource, definition)
        }
        Node::ResourceInstance(instance) => {
            let resource_id = target.resource_id().unwrap_or_default();
            match Slot::of(definition, resource_id) {
                Slot::Typed {
                    multiple: false, ..
                } => Err(ContentError::InvalidNode {
                    path: *target,
                    problem: NodeProblem::Multiplicity {
                        expected_multiple: false,
                    },
                }),
                slot => check_value(target, slot, &instance.value),
            }
        }
    }
}

fn child(parent: &Path, id: u16) -> Result<Path, ContentError> {
    parent.child(id).map_err(|_| ContentError::InvalidNode {
        path: *parent,
        problem: NodeProblem::ReservedId,
    })
}

fn check_instance(
    path: &Path,
    instance: &ObjectInstance,
    definition: Option<&ObjectDefinition>,
) -> Result<(), ContentError> {
    for resource in instance.resources() {
        check_resource(path, resource, definition)?;
    }
    Ok(())
}

fn check_resource(
    instance_path: &Path,
    resource: &Resource,
    definition: Option<&ObjectDefinition>,
) -> Result<(), ContentError> {
    let path = child(instance_path, resource.id())?;
    let slot = Slot::of(definition, resource.id());
    if let Slot::Typed { multiple, .. } = slot {
        if multiple != resource.is_multiple() {
            return Err(ContentError::InvalidNode {
                path,
                problem: NodeProblem::Multiplicity {
                    expected_multiple: multiple,
                },
            });
        }
    }
    match resource.value() {
        ResourceValue::Single(value) => check_value(&path, slot, value),
        ResourceValue::Multiple(instances) => {
            if instances.contains_key(&u16::MAX) {
                return Err(ContentError::InvalidNode {
                    path,
                    problem: NodeProblem::ReservedId,
                });
            }
            for (&ri, value) in instances {
                // `ri` is at most MAX_ID here, so the path exists.
                let at = path.child(ri.min(MAX_ID)).unwrap_or(path);
                check_value(&at, slot, value)?;
            }
            Ok(())
        }
    }
}

fn check_value(path: &Path, slot: Slot, value: &Value) -> Result<(), ContentError> {
    match slot {
        Slot::Typed { data_type, .. } => {
            if ValueRef::from(value).coerce(data_type).is_none() {
                return Err(ContentError::InvalidNode {
                    path: *path,
                    problem: NodeProblem::Type {
                        expected: data_type,
                        found: value.data_type(),
                    },
                });
            }
            Ok(())
        }
        Slot::Executable => Err(ContentError::InvalidNode {
            path: *path,
            problem: NodeProblem::Executable,
        }),
        Slot::Unknown => Ok(()),
    }
}

/// The value of resource `resource_id` as its definition types it (after [`check_node`], the
/// conversion cannot fail; a value of an unknown resource keeps its own type).
#[inline]
pub(crate) fn resource_value<'v>(
    definition: Option<&ObjectDefinition>,
    resource_id: u16,
    value: &'v Value,
) -> ValueRef<'v> {
    let value = ValueRef::from(value);
    match Slot::of(definition, resource_id) {
        Slot::Typed { data_type, .. } => value.coerce(data_type).unwrap_or(value),
        Slot::Executable | Slot::Unknown => value,
    }
}
