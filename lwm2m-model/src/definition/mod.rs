//! Object and resource definitions (the OMA object definition template, digest §1.2) and a
//! [`Registry`] of them.
//!
//! # Owned and `'static` definitions
//!
//! Definitions come from two places: OMA XML files loaded at run time (owned strings and vectors)
//! and code generated from the same XML (`lwm2m-objects`), which must cost nothing at start-up and
//! work without an allocator-heavy init on a device. Both use the *same* types: every string field
//! is a `Cow<'static, str>` and the resource list is a `Cow<'static, [ResourceDefinition]>`, and all
//! fields are public. Generated code therefore writes plain struct literals with `Cow::Borrowed`:
//!
//! ```
//! use std::borrow::Cow;
//! use lwm2m_model::{
//!     DataType, Multiplicity, ObjectDefinition, Operations, Range, Registry, ResourceDefinition,
//!     Version,
//! };
//!
//! static BATTERY_LEVEL: ResourceDefinition = ResourceDefinition {
//!     id: 9,
//!     name: Cow::Borrowed("Battery Level"),
//!     operations: Operations::Read,
//!     multiplicity: Multiplicity::Single,
//!     mandatory: false,
//!     data_type: Some(DataType::Integer),
//!     range: Some(Range::Integer { min: 0, max: 100 }),
//!     units: Some(Cow::Borrowed("%")),
//!     description: Cow::Borrowed("Contains the current battery level as a percentage"),
//! };
//!
//! static DEVICE: ObjectDefinition = ObjectDefinition {
//!     id: 3,
//!     name: Cow::Borrowed("Device"),
//!     description: Cow::Borrowed(""),
//!     urn: Cow::Borrowed("urn:oma:lwm2m:oma:3"),
//!     version: Version::V1_0,
//!     lwm2m_version: Version::V1_0,
//!     multiplicity: Multiplicity::Single,
//!     mandatory: true,
//!     resources: Cow::Borrowed(&[
//!         // `const fn` shorthand for the common case (no range, no units, no description):
//!         ResourceDefinition::new(4, "Reboot", Operations::Execute, None).mandatory(),
//!         // Statics cannot be read by other statics, so the literal is repeated here.
//!         ResourceDefinition {
//!             id: 9,
//!             name: Cow::Borrowed("Battery Level"),
//!             operations: Operations::Read,
//!             multiplicity: Multiplicity::Single,
//!             mandatory: false,
//!             data_type: Some(DataType::Integer),
//!             range: Some(Range::Integer { min: 0, max: 100 }),
//!             units: Some(Cow::Borrowed("%")),
//!             description: Cow::Borrowed(""),
//!         },
//!     ]),
//! };
//!
//! let mut registry = Registry::new();
//! registry.insert_static(&DEVICE)?; // validates, stores only the reference
//! assert_eq!(registry.resource(3, 9).map(|r| r.name.as_ref()), Some("Battery Level"));
//! assert_eq!(BATTERY_LEVEL.units.as_deref(), Some("%"));
//! # Ok::<(), lwm2m_model::DefinitionError>(())
//! ```
//!
//! Struct update syntax (`..ResourceDefinition::new(..)`) does not work in a `static`, because the
//! replaced `Cow` fields would have to be dropped at compile time; write every field instead (the
//! generator does). The `const fn` helpers [`ResourceDefinition::new`] with
//! [`multiple`](ResourceDefinition::multiple) / [`mandatory`](ResourceDefinition::mandatory) and
//! [`ObjectDefinition::new`] only touch `Copy` fields after construction, which is why they work.
//!
//! The resource list must be sorted by id without duplicates (lookups use binary search);
//! [`ObjectDefinition::validate`] checks that, and the [`Registry`] validates on insertion.

mod range;
mod registry;

pub use range::{Range, RangeError};
pub use registry::Registry;

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use core::fmt;

use crate::path::MAX_ID;
use crate::value::{DataType, Value};
use crate::version::Version;

/// The operations a LwM2M Server may perform on a resource.
///
/// The five values are the ones the OMA template allows (`R`, `W`, `RW`, `E` and empty); there is
/// no way to build another combination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Operations {
    /// Empty `<Operations>`: no operation for LwM2M Servers. Used by every resource of the
    /// Security object (0), which only the Bootstrap-Server (or factory/smartcard provisioning)
    /// writes and which the DM interface never exposes.
    #[default]
    None,
    /// `R`.
    Read,
    /// `W`.
    Write,
    /// `RW`.
    ReadWrite,
    /// `E`.
    Execute,
}

impl Operations {
    /// Parses the XML form: `R`, `W`, `RW`, `E` or the empty string.
    pub fn parse(text: &str) -> Option<Operations> {
        Some(match text {
            "" => Operations::None,
            "R" => Operations::Read,
            "W" => Operations::Write,
            "RW" => Operations::ReadWrite,
            "E" => Operations::Execute,
            _ => return None,
        })
    }

    /// The XML form (`""` for [`Operations::None`]).
    pub const fn as_str(self) -> &'static str {
        match self {
            Operations::None => "",
            Operations::Read => "R",
            Operations::Write => "W",
            Operations::ReadWrite => "RW",
            Operations::Execute => "E",
        }
    }

    /// Whether a LwM2M Server may Read (and Observe) the resource.
    #[inline]
    pub const fn can_read(self) -> bool {
        matches!(self, Operations::Read | Operations::ReadWrite)
    }

    /// Whether a LwM2M Server may Write the resource.
    #[inline]
    pub const fn can_write(self) -> bool {
        matches!(self, Operations::Write | Operations::ReadWrite)
    }

    /// Whether a LwM2M Server may Execute the resource.
    #[inline]
    pub const fn can_execute(self) -> bool {
        matches!(self, Operations::Execute)
    }

    /// Whether LwM2M Servers may do nothing at all with the resource (Security object).
    #[inline]
    pub const fn is_none(self) -> bool {
        matches!(self, Operations::None)
    }
}

impl fmt::Display for Operations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_none() {
            "none"
        } else {
            self.as_str()
        })
    }
}

/// Whether an object has one or several instances, or a resource one value or several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Multiplicity {
    /// `Single`.
    #[default]
    Single,
    /// `Multiple`.
    Multiple,
}

impl Multiplicity {
    /// Parses the XML form `Single` / `Multiple`.
    pub fn parse(text: &str) -> Option<Multiplicity> {
        match text {
            "Single" => Some(Multiplicity::Single),
            "Multiple" => Some(Multiplicity::Multiple),
            _ => None,
        }
    }

    /// The XML form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Multiplicity::Single => "Single",
            Multiplicity::Multiple => "Multiple",
        }
    }
}

/// The definition of one resource of an object.
///
/// All fields are public and `const`-constructible; see the [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDefinition {
    /// The resource id (0-65534).
    pub id: u16,
    /// The name, e.g. `"Battery Level"`.
    pub name: Cow<'static, str>,
    /// What LwM2M Servers may do with it.
    pub operations: Operations,
    /// Single value or multiple resource instances.
    pub multiplicity: Multiplicity,
    /// Whether every instance of the object must have this resource.
    pub mandatory: bool,
    /// The value type; `None` exactly for executable resources.
    pub data_type: Option<DataType>,
    /// The parsed `RangeEnumeration`, if any.
    pub range: Option<Range>,
    /// The units, e.g. `"%"`, if any.
    pub units: Option<Cow<'static, str>>,
    /// The description (may be empty; generated code may leave it out to save space).
    pub description: Cow<'static, str>,
}

impl ResourceDefinition {
    /// A single-instance, optional resource with no range, units or description.
    ///
    /// `data_type` must be `None` exactly when `operations` is [`Operations::Execute`]
    /// ([`ObjectDefinition::validate`] checks it).
    pub const fn new(
        id: u16,
        name: &'static str,
        operations: Operations,
        data_type: Option<DataType>,
    ) -> Self {
        ResourceDefinition {
            id,
            name: Cow::Borrowed(name),
            operations,
            multiplicity: Multiplicity::Single,
            mandatory: false,
            data_type,
            range: None,
            units: None,
            description: Cow::Borrowed(""),
        }
    }

    /// The same definition, as a multiple-instance resource.
    #[must_use]
    pub const fn multiple(mut self) -> Self {
        self.multiplicity = Multiplicity::Multiple;
        self
    }

    /// The same definition, as a mandatory resource.
    #[must_use]
    pub const fn mandatory(mut self) -> Self {
        self.mandatory = true;
        self
    }

    /// Whether the resource has multiple instances.
    #[inline]
    pub const fn is_multiple(&self) -> bool {
        matches!(self.multiplicity, Multiplicity::Multiple)
    }

    /// Whether the resource is executable.
    #[inline]
    pub const fn is_executable(&self) -> bool {
        self.operations.can_execute()
    }

    /// Whether `value` has this resource's type and satisfies its range.
    pub fn accepts(&self, value: &Value) -> bool {
        self.data_type == Some(value.data_type())
            && self.range.as_ref().is_none_or(|r| r.contains(value))
    }

    /// Checks the rules a single resource definition must follow (type iff not executable, a
    /// range that fits the type, an id that is not reserved).
    pub fn validate(&self, object_id: u16) -> Result<(), DefinitionError> {
        let err = |kind| DefinitionError::resource(object_id, self.id, kind);
        if self.id > MAX_ID {
            return Err(err(DefinitionErrorKind::InvalidId(self.id.to_string())));
        }
        match (self.operations.can_execute(), self.data_type) {
            (true, Some(t)) => return Err(err(DefinitionErrorKind::ExecutableWithType(t))),
            (false, None) => return Err(err(DefinitionErrorKind::MissingType)),
            _ => {}
        }
        if let Some(range) = &self.range {
            range.check(self.data_type).map_err(|reason| {
                err(DefinitionErrorKind::BadRange {
                    text: alloc::format!("{range}"),
                    reason,
                })
            })?;
        }
        Ok(())
    }
}

/// The definition of an object: its identity and its resources.
///
/// All fields are public and `const`-constructible; see the [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDefinition {
    /// The object id.
    pub id: u16,
    /// The name, e.g. `"Device"`.
    pub name: Cow<'static, str>,
    /// The object description (`Description1` in the XML).
    pub description: Cow<'static, str>,
    /// The URN, e.g. `"urn:oma:lwm2m:oma:3"`.
    pub urn: Cow<'static, str>,
    /// The object version (`ObjectVersion`, 1.0 when absent).
    pub version: Version,
    /// The LwM2M enabler version the object was written for (`LWM2MVersion`, 1.0 when absent).
    pub lwm2m_version: Version,
    /// Single or multiple instances.
    pub multiplicity: Multiplicity,
    /// Whether a client must implement the object.
    pub mandatory: bool,
    /// The resources, sorted by id without duplicates.
    pub resources: Cow<'static, [ResourceDefinition]>,
}

impl ObjectDefinition {
    /// A single-instance, optional object at version 1.0 with the given (sorted) resources and no
    /// description.
    pub const fn new(
        id: u16,
        name: &'static str,
        urn: &'static str,
        resources: &'static [ResourceDefinition],
    ) -> Self {
        ObjectDefinition {
            id,
            name: Cow::Borrowed(name),
            description: Cow::Borrowed(""),
            urn: Cow::Borrowed(urn),
            version: Version::V1_0,
            lwm2m_version: Version::V1_0,
            multiplicity: Multiplicity::Single,
            mandatory: false,
            resources: Cow::Borrowed(resources),
        }
    }

    /// The same definition, as a multiple-instance object.
    #[must_use]
    pub const fn multiple(mut self) -> Self {
        self.multiplicity = Multiplicity::Multiple;
        self
    }

    /// The same definition, as a mandatory object.
    #[must_use]
    pub const fn mandatory(mut self) -> Self {
        self.mandatory = true;
        self
    }

    /// The same definition with another object version.
    #[must_use]
    pub const fn with_version(mut self, version: Version) -> Self {
        self.version = version;
        self
    }

    /// Whether the object may have several instances.
    #[inline]
    pub const fn is_multiple(&self) -> bool {
        matches!(self.multiplicity, Multiplicity::Multiple)
    }

    /// A resource definition by id.
    #[inline]
    pub fn resource(&self, resource_id: u16) -> Option<&ResourceDefinition> {
        self.resources
            .binary_search_by_key(&resource_id, |r| r.id)
            .ok()
            .and_then(|i| self.resources.get(i))
    }

    /// The mandatory resources, in id order.
    pub fn mandatory_resources(&self) -> impl Iterator<Item = &ResourceDefinition> + '_ {
        self.resources.iter().filter(|r| r.mandatory)
    }

    /// Checks the whole definition: an id that is not reserved, resources sorted by id without
    /// duplicates, and every resource valid on its own (see [`ResourceDefinition::validate`]).
    pub fn validate(&self) -> Result<(), DefinitionError> {
        if self.id > MAX_ID {
            return Err(DefinitionError::object(
                self.id,
                DefinitionErrorKind::InvalidId(self.id.to_string()),
            ));
        }
        let mut previous: Option<u16> = None;
        for resource in self.resources.iter() {
            if let Some(prev) = previous {
                if resource.id == prev {
                    return Err(DefinitionError::resource(
                        self.id,
                        resource.id,
                        DefinitionErrorKind::DuplicateResource,
                    ));
                }
                if resource.id < prev {
                    return Err(DefinitionError::resource(
                        self.id,
                        resource.id,
                        DefinitionErrorKind::ResourcesNotSorted,
                    ));
                }
            }
            previous = Some(resource.id);
            resource.validate(self.id)?;
        }
        Ok(())
    }
}

/// A definition breaks a rule of the object template; says which object and resource.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct DefinitionError {
    /// The object id.
    pub object: u16,
    /// The resource id, when the problem is in a resource.
    pub resource: Option<u16>,
    /// What is wrong.
    pub kind: DefinitionErrorKind,
}

impl DefinitionError {
    /// An error about the object itself.
    pub const fn object(object: u16, kind: DefinitionErrorKind) -> Self {
        DefinitionError {
            object,
            resource: None,
            kind,
        }
    }

    /// An error about one resource of the object.
    pub const fn resource(object: u16, resource: u16, kind: DefinitionErrorKind) -> Self {
        DefinitionError {
            object,
            resource: Some(resource),
            kind,
        }
    }
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "object {}", self.object)?;
        if let Some(r) = self.resource {
            write!(f, ", resource {r}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// What is wrong with a definition.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DefinitionErrorKind {
    /// Two resources share an id.
    #[error("duplicate resource id")]
    DuplicateResource,
    /// The resource list is not sorted by id (only static definitions can be built that way).
    #[error("resources are not sorted by id")]
    ResourcesNotSorted,
    /// An executable resource has a data type (executables are typeless).
    #[error("executable resource has type {0} (executable resources have no type)")]
    ExecutableWithType(DataType),
    /// A non-executable resource has no data type.
    #[error("resource is not executable but has no type")]
    MissingType,
    /// The `Type` text is not a known data type.
    #[error("unknown type {0:?}")]
    UnknownType(String),
    /// The `Operations` text is not `R`, `W`, `RW`, `E` or empty.
    #[error("invalid operations {0:?} (expected R, W, RW, E or empty)")]
    InvalidOperations(String),
    /// The `MultipleInstances` text is not `Single` or `Multiple`.
    #[error("invalid MultipleInstances {0:?} (expected Single or Multiple)")]
    InvalidMultiplicity(String),
    /// The `Mandatory` text is not `Mandatory` or `Optional`.
    #[error("invalid Mandatory {0:?} (expected Mandatory or Optional)")]
    InvalidMandatory(String),
    /// An id is not a decimal number from 0 to 65534.
    #[error("invalid id {0:?} (expected 0-65534)")]
    InvalidId(String),
    /// A version is not `major.minor`.
    #[error("invalid version {0:?} (expected major.minor)")]
    InvalidVersion(String),
    /// A required element is missing.
    #[error("missing <{0}>")]
    MissingElement(&'static str),
    /// The `RangeEnumeration` is a malformed numeric range or does not fit the type.
    #[error("bad range {text:?}: {reason}")]
    BadRange {
        /// The range text.
        text: String,
        /// Why it is rejected.
        reason: RangeError,
    },
}

#[cfg(test)]
mod tests;
