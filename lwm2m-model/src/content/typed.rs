//! The typed fast path: decoding a payload straight into a typed object instance (a generated
//! struct such as `lwm2m_objects::Device`) and encoding one, without building a [`Node`] tree.
//!
//! The decoders type every value by the object's definition and hand it over as a borrowed
//! [`ValueRef`]; the struct copies what it keeps. Generated structs hold strings as
//! [`CompactString`] and multiple resources as [`ResourceInstances`], which store short strings
//! (up to 24 bytes) and up to two instances inline: a typical instance decodes without an
//! allocation (opaque fields and longer strings or lists still allocate). The encoders take the struct's values through a [`ValueSink`]. `lwm2m_model::codegen` implements
//! [`TypedInstance`] for every generated struct with the helpers of this module; a hand-written
//! implementation uses the same ones.
//!
//! A typed decode reads what [`decode`](super::decode) followed by the struct's
//! `from_instance` would: resources the definition does not know are skipped, a value for an
//! executable resource is refused, and every mandatory resource must be present.
//!
//! [`Node`]: crate::Node
// `#[inline(always)]` is used where profiling showed a `Result` or value returned through memory
// (a store-forwarding stall per record) or a dispatch on a variant known at the call site.
#![allow(clippy::inline_always)]

use alloc::string::String;
use alloc::vec::Vec;

use compact_str::CompactString;

use super::error::{ContentError, Location};
use super::ValueRef;
use crate::definition::ObjectDefinition;
use crate::instances::ResourceInstances;
use crate::path::Path;
use crate::value::{DataType, ObjectLink};

/// Why a typed object did not take a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FieldError {
    /// The object has no field for this resource (or not of this multiplicity).
    #[error("no field for this resource")]
    NoField,
    /// The value's type does not fit the field.
    #[error("the value does not fit the field's type")]
    WrongType,
    /// The resource instance already has a value.
    #[error("the resource instance already has a value")]
    Duplicate,
}

/// An object instance as a Rust struct that the content codecs read and write directly.
///
/// The decoders call [`set_value`](Self::set_value) for each single-instance resource,
/// [`set_multiple`](Self::set_multiple) once for each multiple resource (also one with no
/// instances) followed by [`set_instance_value`](Self::set_instance_value) for each of its
/// instances, always with a value of the resource's own data type. They never call them for
/// resources the definition does not know or for executables, and they check duplicates of
/// single resources and mandatory presence themselves.
pub trait TypedInstance: Sized {
    /// The definition the values are typed by.
    fn definition() -> &'static ObjectDefinition;

    /// The instance the decoders start from: optional fields absent, multiple resources empty,
    /// mandatory single fields at a placeholder the decode overwrites (or refuses to return).
    fn empty() -> Self;

    /// Stores the value of single-instance resource `resource`.
    fn set_value(&mut self, resource: u16, value: ValueRef<'_>) -> Result<(), FieldError>;

    /// Marks multiple-instance resource `resource` as present, with no instances yet.
    fn set_multiple(&mut self, resource: u16) -> Result<(), FieldError>;

    /// Stores instance `instance` of multiple-instance resource `resource`.
    fn set_instance_value(
        &mut self,
        resource: u16,
        instance: u16,
        value: ValueRef<'_>,
    ) -> Result<(), FieldError>;

    /// Hands every value to `sink` in resource id order: [`ValueSink::value`] for each present
    /// single resource, [`ValueSink::values`] for each present multiple resource.
    fn write_values<S: ValueSink>(&self, sink: &mut S) -> Result<(), S::Error>;
}

/// Where a [`TypedInstance`] writes its values (an encoder).
pub trait ValueSink {
    /// The encoder's error.
    type Error;

    /// One single-instance resource.
    fn value(&mut self, resource: u16, value: ValueRef<'_>) -> Result<(), Self::Error>;

    /// One multiple-instance resource with its instances in id order (possibly none). The
    /// iterator may be walked more than once (TLV measures a container before writing it).
    fn values<'v, I>(&mut self, resource: u16, values: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, ValueRef<'v>)> + Clone;
}

/// A Rust type that holds resource values: the field types of generated structs.
///
/// | Data type | Rust type |
/// |---|---|
/// | String | [`CompactString`] (generated structs) or [`String`] |
/// | Integer, Time | [`i64`] |
/// | Float | [`f64`] |
/// | Boolean | [`bool`] |
/// | Opaque | [`Vec<u8>`] |
/// | Objlnk | [`ObjectLink`] |
pub trait FieldValue: Sized {
    /// The field value, if `value` has the type's data type (Integer or Time for `i64`).
    fn from_value_ref(value: ValueRef<'_>) -> Option<Self>;

    /// The value, as data type `data_type` (which tells Integer from Time for `i64`).
    fn to_value_ref(&self, data_type: DataType) -> ValueRef<'_>;
}

impl FieldValue for String {
    #[inline]
    fn from_value_ref(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::String(s) => Some(String::from(s)),
            _ => None,
        }
    }

    #[inline(always)]
    fn to_value_ref(&self, _: DataType) -> ValueRef<'_> {
        ValueRef::String(self)
    }
}

impl FieldValue for CompactString {
    #[inline]
    fn from_value_ref(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::String(s) => Some(CompactString::new(s)),
            _ => None,
        }
    }

    #[inline(always)]
    fn to_value_ref(&self, _: DataType) -> ValueRef<'_> {
        ValueRef::String(self)
    }
}

impl FieldValue for i64 {
    #[inline]
    fn from_value_ref(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Integer(v) | ValueRef::Time(v) => Some(v),
            _ => None,
        }
    }

    #[inline(always)]
    fn to_value_ref(&self, data_type: DataType) -> ValueRef<'_> {
        if data_type == DataType::Time {
            ValueRef::Time(*self)
        } else {
            ValueRef::Integer(*self)
        }
    }
}

impl FieldValue for f64 {
    #[inline]
    fn from_value_ref(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Float(v) => Some(v),
            _ => None,
        }
    }

    #[inline(always)]
    fn to_value_ref(&self, _: DataType) -> ValueRef<'_> {
        ValueRef::Float(*self)
    }
}

impl FieldValue for bool {
    #[inline]
    fn from_value_ref(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Boolean(v) => Some(v),
            _ => None,
        }
    }

    #[inline(always)]
    fn to_value_ref(&self, _: DataType) -> ValueRef<'_> {
        ValueRef::Boolean(*self)
    }
}

impl FieldValue for Vec<u8> {
    #[inline]
    fn from_value_ref(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Opaque(v) => Some(v.to_vec()),
            _ => None,
        }
    }

    #[inline(always)]
    fn to_value_ref(&self, _: DataType) -> ValueRef<'_> {
        ValueRef::Opaque(self)
    }
}

impl FieldValue for ObjectLink {
    #[inline]
    fn from_value_ref(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Objlnk(v) => Some(v),
            _ => None,
        }
    }

    #[inline(always)]
    fn to_value_ref(&self, _: DataType) -> ValueRef<'_> {
        ValueRef::Objlnk(*self)
    }
}

/// Stores a value in an optional single-resource field.
#[inline]
pub fn store<T: FieldValue>(field: &mut Option<T>, value: ValueRef<'_>) -> Result<(), FieldError> {
    *field = Some(T::from_value_ref(value).ok_or(FieldError::WrongType)?);
    Ok(())
}

/// Stores a value in a mandatory single-resource field.
#[inline]
pub fn store_mandatory<T: FieldValue>(
    field: &mut T,
    value: ValueRef<'_>,
) -> Result<(), FieldError> {
    *field = T::from_value_ref(value).ok_or(FieldError::WrongType)?;
    Ok(())
}

/// Stores one resource instance in a multiple-resource field.
#[inline]
pub fn store_instance<T: FieldValue>(
    field: &mut ResourceInstances<T>,
    instance: u16,
    value: ValueRef<'_>,
) -> Result<(), FieldError> {
    let value = T::from_value_ref(value).ok_or(FieldError::WrongType)?;
    field
        .insert_new(instance, value)
        .map_err(|_| FieldError::Duplicate)
}

/// The instances of an optional multiple-resource field, made present (empty) if it was absent.
#[inline]
pub fn present<T>(field: &mut Option<ResourceInstances<T>>) -> &mut ResourceInstances<T> {
    field.get_or_insert_with(ResourceInstances::new)
}

// The write helpers are always inlined: the generated `write_values` then hands each encoder a
// value whose variant is a constant, and the encoder's dispatch on it folds away.

/// Writes a mandatory single-resource field.
#[inline(always)]
pub fn write_single<S: ValueSink, T: FieldValue>(
    sink: &mut S,
    resource: u16,
    data_type: DataType,
    field: &T,
) -> Result<(), S::Error> {
    sink.value(resource, field.to_value_ref(data_type))
}

/// Writes an optional single-resource field if it has a value.
#[inline(always)]
pub fn write_optional<S: ValueSink, T: FieldValue>(
    sink: &mut S,
    resource: u16,
    data_type: DataType,
    field: Option<&T>,
) -> Result<(), S::Error> {
    match field {
        Some(v) => sink.value(resource, v.to_value_ref(data_type)),
        None => Ok(()),
    }
}

/// Writes a mandatory multiple-resource field (also when it has no instances).
#[inline(always)]
pub fn write_multiple<S: ValueSink, T: FieldValue>(
    sink: &mut S,
    resource: u16,
    data_type: DataType,
    field: &ResourceInstances<T>,
) -> Result<(), S::Error> {
    sink.values(
        resource,
        field
            .iter()
            .map(move |(&ri, v)| (ri, v.to_value_ref(data_type))),
    )
}

/// Writes an optional multiple-resource field if it is present.
#[inline(always)]
pub fn write_optional_multiple<S: ValueSink, T: FieldValue>(
    sink: &mut S,
    resource: u16,
    data_type: DataType,
    field: Option<&ResourceInstances<T>>,
) -> Result<(), S::Error> {
    match field {
        Some(map) => write_multiple(sink, resource, data_type, map),
        None => Ok(()),
    }
}

/// Maps a typed object's refusal: a duplicate is the payload's fault, anything else the object's.
pub(crate) fn field_error(error: FieldError, path: Path, location: Location) -> ContentError {
    match error {
        FieldError::Duplicate => ContentError::Duplicate { path, location },
        FieldError::NoField | FieldError::WrongType => ContentError::FieldRejected { path },
    }
}

/// Which resources of a definition a typed decode has seen, by their index in the definition:
/// duplicates are refused and missing mandatory resources reported at the end.
pub(crate) struct Seen {
    /// Bits for the first 128 resources: no allocation for any real object.
    low: u128,
    /// Bits for the rest, allocated only for definitions with more than 128 resources.
    high: Vec<u64>,
}

impl Seen {
    pub(crate) const fn new() -> Self {
        Seen {
            low: 0,
            high: Vec::new(),
        }
    }

    /// Marks resource number `index` of the definition; `false` if it was already marked.
    #[inline]
    pub(crate) fn mark(&mut self, index: usize) -> bool {
        if let Some(bit) = 1u128.checked_shl(index as u32).filter(|_| index < 128) {
            let fresh = self.low & bit == 0;
            self.low |= bit;
            return fresh;
        }
        let rest = index - 128;
        let word = rest / 64;
        if self.high.len() <= word {
            self.high.resize(word + 1, 0);
        }
        let bit = 1u64 << (rest % 64);
        match self.high.get_mut(word) {
            Some(w) => {
                let fresh = *w & bit == 0;
                *w |= bit;
                fresh
            }
            None => true,
        }
    }

    #[inline]
    pub(crate) fn contains(&self, index: usize) -> bool {
        if index < 128 {
            return self.low & (1u128 << index) != 0;
        }
        let rest = index - 128;
        self.high
            .get(rest / 64)
            .is_some_and(|w| w & (1u64 << (rest % 64)) != 0)
    }

    /// The first mandatory resource with a value type that was not seen.
    pub(crate) fn missing_mandatory(&self, definition: &ObjectDefinition) -> Option<u16> {
        definition
            .resources
            .iter()
            .enumerate()
            .find(|(i, r)| r.mandatory && r.data_type.is_some() && !self.contains(*i))
            .map(|(_, r)| r.id)
    }
}

/// Finds resources in a definition (sorted by id) for ids that mostly come in increasing order,
/// as they do in TLV and JSON payloads: a short scan forward from the last hit, and a binary
/// search otherwise (which mispredicts on almost every step).
pub(crate) struct ResourceCursor {
    next: usize,
}

impl ResourceCursor {
    /// How far to scan forward before falling back to the binary search.
    const SCAN: usize = 4;

    pub(crate) const fn new() -> Self {
        ResourceCursor { next: 0 }
    }

    /// The index of resource `id` in `definition`, if it has it.
    #[inline]
    pub(crate) fn find(&mut self, definition: &ObjectDefinition, id: u16) -> Option<usize> {
        let resources = &definition.resources;
        let ahead = resources.get(self.next..).unwrap_or_default();
        for (offset, resource) in ahead.iter().take(Self::SCAN).enumerate() {
            if resource.id == id {
                self.next += offset + 1;
                return Some(self.next - 1);
            }
            if resource.id > id {
                break;
            }
        }
        let index = resources.binary_search_by_key(&id, |r| r.id).ok()?;
        self.next = index + 1;
        Some(index)
    }
}

#[cfg(test)]
pub(crate) mod test_object;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_round_trips_in_tlv_and_json() {
        use super::test_object::Test;
        use crate::content::{decode_typed, encode_typed, ContentFormat};
        let target = Path::object_instance(40001, 2).unwrap();
        let value = Test {
            name: "t".into(),
            count: Some(-2),
            samples: Some(ResourceInstances::from([(0, 1.5), (7, -0.25)])),
            since: Some(1_700_000_000),
        };
        let tlv = encode_typed(ContentFormat::Tlv, &target, &value).unwrap();
        assert_eq!(
            tlv,
            [
                0xC1, 0x00, b't', 0xC1, 0x01, 0xFE, 0x88, 0x03, 0x0C, 0x44, 0x00, 0x3F, 0xC0, 0x00,
                0x00, 0x44, 0x07, 0xBE, 0x80, 0x00, 0x00, 0xC4, 0x04, 0x65, 0x53, 0xF1, 0x00
            ]
        );
        assert_eq!(
            decode_typed::<Test>(ContentFormat::Tlv, &target, &tlv),
            Ok(value.clone())
        );
        let json = encode_typed(ContentFormat::Json, &target, &value).unwrap();
        assert_eq!(
            core::str::from_utf8(&json).unwrap(),
            r#"{"bn":"/40001/2/","e":[{"n":"0","sv":"t"},{"n":"1","v":-2},{"n":"3/0","v":1.5},{"n":"3/7","v":-0.25},{"n":"4","v":1700000000}]}"#
        );
        assert_eq!(
            decode_typed::<Test>(ContentFormat::Json, &target, &json),
            Ok(value)
        );
        // The mandatory name is missing.
        assert_eq!(
            decode_typed::<Test>(ContentFormat::Tlv, &target, &[0xC1, 0x01, 0x05]),
            Err(ContentError::MissingMandatory {
                path: Path::resource(40001, 2, 0).unwrap()
            })
        );
        // A value for the executable resource 2.
        assert_eq!(
            decode_typed::<Test>(ContentFormat::Tlv, &target, &[0xC1, 0x00, b'a', 0xC0, 0x02])
                .map_err(|e| e.code()),
            Err(lwm2m_codec::coap::Code::METHOD_NOT_ALLOWED)
        );
    }

    #[test]
    fn field_values_take_their_own_type_only() {
        assert_eq!(i64::from_value_ref(ValueRef::Time(3)), Some(3));
        assert_eq!(i64::from_value_ref(ValueRef::Float(3.0)), None);
        assert_eq!(3i64.to_value_ref(DataType::Time), ValueRef::Time(3));
        assert_eq!(
            String::from_value_ref(ValueRef::String("a")),
            Some("a".into())
        );
        assert_eq!(bool::from_value_ref(ValueRef::Integer(1)), None);
        assert_eq!(
            Vec::<u8>::from_value_ref(ValueRef::Opaque(&[1])),
            Some(alloc::vec![1])
        );
        assert_eq!(
            ObjectLink::from_value_ref(ValueRef::Objlnk(ObjectLink::NULL)),
            Some(ObjectLink::NULL)
        );
        assert_eq!(f64::from_value_ref(ValueRef::Float(0.5)), Some(0.5));
    }

    #[test]
    fn store_helpers_report_duplicates_and_types() {
        let mut map = ResourceInstances::new();
        assert_eq!(store_instance(&mut map, 1, ValueRef::Integer(5)), Ok(()));
        assert_eq!(
            store_instance(&mut map, 1, ValueRef::Integer(6)),
            Err(FieldError::Duplicate)
        );
        assert_eq!(
            store_instance::<i64>(&mut map, 2, ValueRef::Boolean(true)),
            Err(FieldError::WrongType)
        );
        let mut field: Option<String> = None;
        assert_eq!(
            store(&mut field, ValueRef::Integer(1)),
            Err(FieldError::WrongType)
        );
        assert_eq!(field, None);
    }

    #[test]
    fn cursor_finds_in_any_order() {
        let definition = &test_object::DEFINITION;
        let mut cursor = ResourceCursor::new();
        for id in [0, 1, 3, 4, 9, 2, 0, 4, 4, 1] {
            let expected = definition.resources.iter().position(|r| r.id == id);
            assert_eq!(cursor.find(definition, id), expected, "id {id}");
        }
    }

    #[test]
    fn seen_marks_any_index() {
        let mut seen = Seen::new();
        for i in [0, 5, 127, 128, 200, 1000] {
            assert!(!seen.contains(i));
            assert!(seen.mark(i));
            assert!(!seen.mark(i));
            assert!(seen.contains(i));
        }
        assert!(!seen.contains(129));
        assert_eq!(
            Seen::new().missing_mandatory(&test_object::DEFINITION),
            Some(0)
        );
        let mut name_seen = Seen::new();
        name_seen.mark(0);
        assert_eq!(name_seen.missing_mandatory(&test_object::DEFINITION), None);
    }
}
