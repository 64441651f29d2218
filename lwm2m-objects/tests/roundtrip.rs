//! For every generated object: random valid instances survive struct → Node → struct, and the
//! node they came from is rebuilt exactly.

#[macro_use]
mod common;

use std::fmt::Debug;

use lwm2m_model::{Node, ObjectInstance, Resource, Value};
use lwm2m_objects::*;
use proptest::prelude::*;

use common::valid_instance;

fn check<T: TypedObject + PartialEq + Debug>(
    instance: &ObjectInstance,
) -> Result<(), TestCaseError> {
    let typed = T::from_instance(instance);
    prop_assert!(typed.is_ok(), "{:?}", typed.err());
    let typed = typed.unwrap();
    // Node → struct → Node is the identity on valid instances ...
    prop_assert_eq!(&typed.to_instance(instance.id()), instance);
    // ... and struct → Node → struct too, through either API.
    let node = typed.to_instance_node(instance.id());
    prop_assert_eq!(&T::from_instance_node(&node).unwrap(), &typed);
    let object = T::to_object([(instance.id(), &typed)]);
    let instances = T::from_object(&object).unwrap();
    prop_assert_eq!(instances.get(&instance.id()), Some(&typed));

    // Resources the definition does not know are ignored (newer minor versions add some).
    let mut extended = instance.clone();
    let unknown = (0..=u16::MAX)
        .rev()
        .find(|id| T::DEFINITION.resource(*id).is_none())
        .unwrap();
    extended.insert(Resource::single(unknown, Value::from("extension")));
    prop_assert_eq!(&T::from_instance(&extended).unwrap(), &typed);
    prop_assert!(matches!(node, Node::ObjectInstance(_)));
    Ok(())
}

macro_rules! roundtrip_tests {
    ($($module:ident: $type:ident,)*) => {
        proptest! {
            $(
                #[test]
                fn $module(instance in valid_instance(&$module::DEFINITION)) {
                    check::<$type>(&instance)?;
                }
            )*
        }
    };
}

for_each_object!(roundtrip_tests);
