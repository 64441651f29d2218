//! OMA TLV, content format 11542 (and the legacy 1542), LwM2M 1.0 TS §6.4.3.
//!
//! A TLV payload is a flat sequence of records. Each record has a kind, a 8- or 16-bit identifier
//! and a value; the value of an [`Kind::ObjectInstance`] or [`Kind::MultipleResource`] record is
//! itself a sequence of records (at most three levels: object instance ⊃ multiple resource ⊃
//! resource instance).
//!
//! - [`Records`] (alias [`TlvReader`]) is a zero-allocation iterator of borrowed [`Record`]s;
//!   [`Record::children`] descends into containers, and every error carries the byte offset in
//!   the *original* payload, however deep it was found.
//! - [`validate`] checks a whole payload, containers included, without looking at values.
//! - [`value`] holds the primitive codecs (Integer, Float, Boolean, Time, Objlnk, String, Opaque);
//!   [`Record`] has typed accessors built on them.
//! - [`TlvWriter`] writes records into any [`bytes::BufMut`], always in the shortest form, and
//!   sizes containers by running their closure in a measuring pass first.
//!
//! ```
//! use lwm2m_codec::tlv::{self, Kind};
//!
//! // Read /3/0/7 of the TS example: a multiple resource with two Integer instances.
//! let payload = [0x88, 0x07, 0x08, 0x42, 0x00, 0x0E, 0xD8, 0x42, 0x01, 0x13, 0x88];
//! let mut volts = Vec::new();
//! for record in tlv::records(&payload) {
//!     let record = record?;
//!     assert_eq!((record.kind, record.id), (Kind::MultipleResource, 7));
//!     for instance in record.children().into_iter().flatten() {
//!         let instance = instance?;
//!         volts.push((instance.id, instance.as_integer()?));
//!     }
//! }
//! assert_eq!(volts, [(0, 3800), (1, 5000)]);
//!
//! // And back, byte for byte.
//! let encoded = tlv::to_vec(|w| {
//!     w.multiple_resource(7, |w| {
//!         w.integer(0, 3800)?;
//!         w.integer(1, 5000)
//!     })
//! })?;
//! assert_eq!(encoded, payload);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod reader;
pub mod value;
mod writer;

use core::fmt;

pub use error::{EncodeError, TlvError};
pub use reader::{records, validate, Record, Records, TlvReader};
pub use value::{ValueError, ValueType};
pub use writer::{to_vec, TlvWriter};

/// The largest value a TLV record can carry: its length field is at most 24 bits wide.
pub const MAX_VALUE_LEN: usize = 0x00FF_FFFF;

/// What a TLV record identifies (bits 7-6 of its type byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `00`: an object instance; the value holds Resource and Multiple-Resource records.
    ObjectInstance,
    /// `01`: one instance of a multiple resource; the value is data. Only valid inside a
    /// [`Kind::MultipleResource`].
    ResourceInstance,
    /// `10`: a multiple resource; the value holds Resource-Instance records (possibly none).
    MultipleResource,
    /// `11`: a single-instance resource with its value.
    Resource,
}

impl Kind {
    /// Decodes the two kind bits (bits 7-6 of the type byte).
    #[inline]
    pub const fn from_type_byte(type_byte: u8) -> Self {
        match type_byte >> 6 {
            0 => Kind::ObjectInstance,
            1 => Kind::ResourceInstance,
            2 => Kind::MultipleResource,
            _ => Kind::Resource,
        }
    }

    /// The kind bits, already shifted into place in a type byte.
    #[inline]
    pub const fn type_bits(self) -> u8 {
        match self {
            Kind::ObjectInstance => 0x00,
            Kind::ResourceInstance => 0x40,
            Kind::MultipleResource => 0x80,
            Kind::Resource => 0xC0,
        }
    }

    /// Whether the value of a record of this kind is a sequence of records rather than data.
    #[inline]
    pub const fn is_container(self) -> bool {
        matches!(self, Kind::ObjectInstance | Kind::MultipleResource)
    }

    /// Whether a record of kind `child` may appear directly inside `parent` (`None`: at the top
    /// level of a payload).
    ///
    /// The TS allows Resource-Instance records only inside a Multiple Resource, a Multiple
    /// Resource holds nothing else, and an Object Instance holds Resources and Multiple Resources.
    /// This is what bounds the nesting depth to three.
    #[inline]
    pub const fn may_contain(parent: Option<Kind>, child: Kind) -> bool {
        match parent {
            None => !matches!(child, Kind::ResourceInstance),
            Some(Kind::ObjectInstance) => {
                matches!(child, Kind::Resource | Kind::MultipleResource)
            }
            Some(Kind::MultipleResource) => matches!(child, Kind::ResourceInstance),
            Some(Kind::Resource | Kind::ResourceInstance) => false,
        }
    }

    /// The LwM2M name of this kind, as used in error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::ObjectInstance => "object instance",
            Kind::ResourceInstance => "resource instance",
            Kind::MultipleResource => "multiple resource",
            Kind::Resource => "resource",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn kind_bits_round_trip() {
        for kind in [
            Kind::ObjectInstance,
            Kind::ResourceInstance,
            Kind::MultipleResource,
            Kind::Resource,
        ] {
            assert_eq!(Kind::from_type_byte(kind.type_bits() | 0x3F), kind);
        }
    }

    #[test]
    fn nesting_rules_follow_the_ts() {
        use Kind::{MultipleResource, ObjectInstance, Resource, ResourceInstance};
        assert!(Kind::may_contain(None, ObjectInstance));
        assert!(Kind::may_contain(None, Resource));
        assert!(Kind::may_contain(None, MultipleResource));
        assert!(!Kind::may_contain(None, ResourceInstance));
        assert!(Kind::may_contain(Some(ObjectInstance), Resource));
        assert!(Kind::may_contain(Some(ObjectInstance), MultipleResource));
        assert!(!Kind::may_contain(Some(ObjectInstance), ObjectInstance));
        assert!(!Kind::may_contain(Some(ObjectInstance), ResourceInstance));
        assert!(Kind::may_contain(Some(MultipleResource), ResourceInstance));
        assert!(!Kind::may_contain(Some(MultipleResource), Resource));
        assert!(!Kind::may_contain(Some(Resource), Resource));
        assert!(!Kind::may_contain(Some(ResourceInstance), Resource));
    }
}
