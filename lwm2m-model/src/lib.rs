//! # lwm2m-model
//!
//! The semantic layer of lwm2m-rs: the vocabulary every other crate speaks.
//!
//! | Module | What it holds |
//! |---|---|
//! | [`path`] | [`Path`] `/`, `/o`, `/o/i`, `/o/i/r`, `/o/i/r/ri`: parsing (text and Uri-Path), ordering, ancestry |
//! | [`value`] | [`Value`] and [`DataType`] (executables are typeless: `Option<DataType>`), [`ObjectLink`] |
//! | [`node`] | the [`Node`] tree: [`Object`] / [`ObjectInstance`] / [`Resource`] / [`ResourceInstance`] in ordered maps |
//! | [`instances`] | [`ResourceInstances`], the small sorted map typed structs hold multiple resources in; [`CompactString`] (re-exported from `compact_str`), their inline string |
//! | [`definition`] | [`ObjectDefinition`], [`ResourceDefinition`] (const-constructible), [`Operations`], [`Range`], the [`Registry`] |
//! | [`xml`] (feature `xml`) | OMA DDF XML → definitions, [`Registry::load_dir`] |
//! | `codegen` (feature `codegen`) | definitions → Rust modules with typed structs (for `cargo xtask codegen` and build scripts) |
//! | [`content`] | payloads ↔ nodes in TLV, LwM2M JSON, plain text and opaque, typed by the definitions; the typed fast path ([`content::TypedInstance`]); errors with their CoAP codes |
//! | [`attributes`] | notification attributes (`pmin`, `pmax`, `gt`, `lt`, `st`), Write-Attributes parsing and validation, inheritance, Discover `dim`/`ver` |
//! | [`registration`] | Register / Update / Bootstrap-Request query parameters, [`BindingMode`], the object-link payload [`ObjectLinks`] |
//! | [`access`] | [`AccessRights`] of the Access Control object's ACL |
//! | [`version`] | [`Version`] `major.minor` |
//!
//! The wire formats themselves (TLV records, JSON documents, link-format) are lwm2m-codec's; this
//! crate gives them meaning.
//!
//! ## Features
//!
//! - `std` (default): `std::error::Error` for every error type.
//! - `xml` (default, implies `std`): OMA XML loading with quick-xml + serde.
//! - `codegen` (implies `xml`): Rust code generation from definitions (quote, syn, prettyplease).
//!
//! With `default-features = false` the crate is `no_std` and needs only `alloc`.
//!
//! ```
//! use lwm2m_model::{AttributeUpdate, DataType, Level, NotificationAttributes, Path};
//!
//! // A server asks to be told about the battery level at most every 10 s and at least every 60 s.
//! let path: Path = "/3/0/9".parse()?;
//! let update = AttributeUpdate::parse(["pmin=10", "pmax=60"])?;
//! let stored = NotificationAttributes::default().write(&update, path.level(), Some(DataType::Integer))?;
//! assert_eq!((stored.pmin, stored.pmax), (Some(10), Some(60)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod access;
pub mod attributes;
#[cfg(feature = "codegen")]
pub mod codegen;
pub mod content;
pub mod definition;
pub mod instances;
pub mod node;
pub mod path;
pub mod registration;
pub mod value;
pub mod version;
#[cfg(feature = "xml")]
pub mod xml;

pub use access::{AccessError, AccessRights};
pub use attributes::{
    AttributeChange, AttributeError, AttributeUpdate, DiscoverAttributes, NotificationAttributes,
};
/// The string type of typed structs: short strings (up to 24 bytes) are stored inline, without an
/// allocation. Re-exported from `compact_str`.
pub use compact_str::CompactString;
pub use definition::{
    DefinitionError, DefinitionErrorKind, Multiplicity, ObjectDefinition, Operations, Range,
    RangeError, Registry, ResourceDefinition,
};
pub use instances::ResourceInstances;
pub use node::{
    Node, NodeError, NodeRef, Object, ObjectInstance, Resource, ResourceInstance, ResourceValue,
};
pub use path::{Level, Path, PathError, PathErrorKind, MAX_ID};
pub use registration::{
    BindingMode, BootstrapParams, Msisdn, ObjectLinks, ObjectLinksError, RegisterParams,
    RegisteredObject, RegistrationError, RootLink, UpdateParams, DEFAULT_LIFETIME,
};
pub use value::{ConversionError, DataType, ObjectLink, ObjectLinkError, Value};
pub use version::{Version, VersionError};
