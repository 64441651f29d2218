//! # lwm2m-model
//!
//! The semantic layer of lwm2m-rs: the vocabulary every other crate speaks.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod definition;
pub mod node;
pub mod path;
pub mod value;
pub mod version;

pub use definition::{
    DefinitionError, DefinitionErrorKind, Multiplicity, ObjectDefinition, Operations, Range,
    RangeError, Registry, ResourceDefinition,
};
pub use node::{Node, NodeError, NodeRef, Object, ObjectInstance, Resource, ResourceInstance, ResourceValue};
pub use path::{Level, Path, PathError, PathErrorKind, MAX_ID};
pub use value::{ConversionError, DataType, ObjectLink, ObjectLinkError, Value};
pub use version::{Version, VersionError};
