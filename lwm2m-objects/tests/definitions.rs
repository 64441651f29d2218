//! The generated definitions are exactly the OMA XML files (read here at test time), minus the
//! description texts, and every generated module is consistent with its definition.

#[macro_use]
mod common;

use std::borrow::Cow;

use lwm2m_model::{ObjectDefinition, Registry};
use lwm2m_objects::*;

const XML_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/oma-objects");

/// The definition without its description texts, which the generator leaves out.
fn without_descriptions(definition: &ObjectDefinition) -> ObjectDefinition {
    let mut definition = definition.clone();
    definition.description = Cow::Borrowed("");
    for resource in definition.resources.to_mut() {
        resource.description = Cow::Borrowed("");
    }
    definition
}

#[test]
fn every_generated_definition_equals_the_xml() {
    let from_xml = Registry::load_dir(XML_DIR).unwrap();
    let generated = core_registry();
    let xml_ids: Vec<u16> = from_xml.objects().map(|d| d.id).collect();
    let generated_ids: Vec<u16> = generated.objects().map(|d| d.id).collect();
    assert_eq!(generated_ids, xml_ids);
    assert_eq!(
        generated_ids,
        [0, 1, 2, 3, 4, 5, 6, 7, 19, 3300, 3303, 3311, 3342]
    );
    for expected in from_xml.objects() {
        let actual = generated.get(expected.id).unwrap();
        assert_eq!(
            actual,
            &without_descriptions(expected),
            "object {}",
            expected.id
        );
        assert!(actual.description.is_empty());
        assert!(actual.resources.iter().all(|r| r.description.is_empty()));
    }
}

macro_rules! check_modules {
    ($($module:ident: $type:ident,)*) => {
        #[test]
        fn every_object_is_listed() {
            let listed = [$(<$type as TypedObject>::OBJECT_ID),*];
            let registered: Vec<u16> = core_registry().objects().map(|d| d.id).collect();
            assert_eq!(listed.to_vec(), registered);
        }

        #[test]
        fn modules_agree_with_their_definitions() {
            $({
                let definition: &'static ObjectDefinition = &$module::DEFINITION;
                assert_eq!($module::OBJECT_ID, definition.id);
                assert_eq!($module::VERSION, definition.version);
                assert_eq!(<$type as TypedObject>::OBJECT_ID, definition.id);
                assert!(std::ptr::eq(<$type as TypedObject>::DEFINITION, definition));
                // The registry holds the static itself, not a copy.
                let registry = core_registry();
                assert!(std::ptr::eq(registry.get(definition.id).unwrap(), definition));
                assert_eq!($module::ResourceId::ALL.len(), definition.resources.len());
                for (variant, resource) in $module::ResourceId::ALL.iter().zip(definition.resources.iter()) {
                    assert_eq!(variant.id(), resource.id);
                    assert_eq!(*variant as u16, resource.id);
                    assert_eq!($module::ResourceId::from_u16(resource.id), Some(*variant));
                    assert_eq!(variant.definition(), resource);
                }
                let unknown = (0..=u16::MAX).find(|id| definition.resource(*id).is_none()).unwrap();
                assert_eq!($module::ResourceId::from_u16(unknown), None);
            })*
        }
    };
}

for_each_object!(check_modules);

#[test]
fn core_names() {
    // The names the rest of the stack relies on.
    assert_eq!(security::ResourceId::Lwm2mServerUri.id(), 0);
    assert_eq!(security::ResourceId::SmsBindingSecretKeys.id(), 8);
    assert_eq!(security::ResourceId::ShortServerId.id(), 10);
    assert_eq!(server::ResourceId::RegistrationUpdateTrigger.id(), 8);
    assert_eq!(access_control::ResourceId::Acl.id(), 2);
    assert_eq!(device::ResourceId::Reboot.id(), 4);
    assert_eq!(device::ResourceId::ExtDevInfo.id(), 22);
    assert_eq!(firmware_update::ResourceId::PkgName.id(), 6);
    assert_eq!(light_control::ResourceId::OnOff.id(), 5850);
    assert_eq!(temperature::ResourceId::SensorValue.id(), 5700);
    assert_eq!(
        device::ResourceId::BatteryLevel
            .definition()
            .units
            .as_deref(),
        Some("%")
    );
}
