//! # lwm2m-objects
//!
//! Typed Rust structs for the OMA LwM2M objects 0-7, the `BinaryAppDataContainer` (19) and the IPSO
//! objects 3300, 3303, 3311 and 3342, generated from the OMA XML definitions by
//! `cargo xtask codegen`, with conversions to and from the lwm2m-model [`Node`](lwm2m_model::Node) tree.
//!
//! | Object | Struct | Module |
//! |---|---|---|
//! | 0 LWM2M Security | [`Security`] | [`security`] |
//! | 1 LwM2M Server | [`Server`] | [`server`] |
//! | 2 LwM2M Access Control | [`AccessControl`] | [`access_control`] |
//! | 3 Device | [`Device`] | [`device`] |
//! | 4 Connectivity Monitoring | [`ConnectivityMonitoring`] | [`connectivity_monitoring`] |
//! | 5 Firmware Update | [`FirmwareUpdate`] | [`firmware_update`] |
//! | 6 Location | [`Location`] | [`location`] |
//! | 7 Connectivity Statistics | [`ConnectivityStatistics`] | [`connectivity_statistics`] |
//! | 19 `BinaryAppDataContainer` | [`BinaryAppDataContainer`] | [`binary_app_data_container`] |
//! | 3300 Generic Sensor | [`GenericSensor`] | [`generic_sensor`] |
//! | 3303 Temperature | [`Temperature`] | [`temperature`] |
//! | 3311 Light Control | [`LightControl`] | [`light_control`] |
//! | 3342 On/Off switch | [`OnOffSwitch`] | [`on_off_switch`] |
//!
//! Each module holds `OBJECT_ID`, `VERSION`, a `ResourceId` enum, the definition as a `static`
//! (`DEFINITION`, so no XML is read at run time) and the struct, which implements
//! [`TypedObject`]. [`core_registry`] is a [`Registry`] of all of them.
//!
//! Field types: String → [`CompactString`] (inline up to 24 bytes), Integer and Time → `i64`,
//! Float → `f64`, Boolean → `bool`, Opaque → `Vec<u8>`, Objlnk →
//! [`ObjectLink`](lwm2m_model::ObjectLink); `Option<T>` for optional resources,
//! [`ResourceInstances<T>`] (resource instance id → value, a small sorted map with a `BTreeMap`-like
//! API) for multiple resources. Executable resources have no field. A typed decode of a typical
//! instance allocates nothing for its fields.
//!
//! ```
//! use lwm2m_model::{Node, Value};
//! use lwm2m_objects::{Device, ObjectErrorKind, ResourceInstances};
//!
//! let device = Device {
//!     manufacturer: Some("Open Mobile Alliance".into()),
//!     error_code: ResourceInstances::from([(0, 0)]),
//!     supported_binding_and_modes: "U".into(),
//!     ..Device::default()
//! };
//! let node = device.to_instance_node(0);
//! assert_eq!(Device::from_instance_node(&node)?, device);
//!
//! // A Write carrying Battery Level as text is rejected with the resource it concerns.
//! let Node::ObjectInstance(mut instance) = node else { unreachable!() };
//! instance.insert(lwm2m_model::Resource::single(9, Value::from("100")));
//! let err = Device::from_instance(&instance).unwrap_err();
//! assert_eq!(err.resource, Some(9));
//! assert!(matches!(err.kind, ObjectErrorKind::WrongType { .. }));
//! # Ok::<(), lwm2m_objects::ObjectError>(())
//! ```
//!
//! Crates with objects of their own generate the same kind of module from their build script with
//! `lwm2m_model::codegen::build_rs` (feature `codegen` of lwm2m-model); the generated code
//! uses [`support`], [`ObjectError`] and [`TypedObject`] from this crate.
//!
//! ## Features
//!
//! - `std` (default): `std::error::Error` for the model's error types.
//!
//! Without it the crate is `no_std` and needs only `alloc`.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod error;
mod generated;
pub mod support;
mod typed;

pub use error::{ObjectError, ObjectErrorKind};
pub use generated::*;
pub use lwm2m_model::{CompactString, ResourceInstances};
pub use typed::TypedObject;

use lwm2m_model::Registry;

/// A registry of the definitions of every object of this crate (the `static`s of the generated
/// modules; nothing is copied or parsed).
///
/// ```
/// let registry = lwm2m_objects::core_registry();
/// assert_eq!(registry.len(), 13);
/// assert_eq!(registry.resource(3, 9).map(|r| r.name.as_ref()), Some("Battery Level"));
/// ```
pub fn core_registry() -> Registry {
    let mut registry = Registry::new();
    for definition in generated::DEFINITIONS {
        // The generator only emits definitions that passed validation, and the tests check that
        // every one is here; a failure cannot happen, and skipping beats panicking.
        registry.insert_static(definition).ok();
    }
    registry
}
