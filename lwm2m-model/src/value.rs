//! Resource values and their data types (digest §1.3, TS Appendix C).
//!
//! [`Value`] is the owned, typed value of a single resource or resource instance; [`DataType`] is the
//! type an object definition gives a resource. Executable resources have no type: definitions hold an
//! `Option<DataType>` that is `None` exactly for them, so there is no "none" data type to mishandle.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

/// The data type of a readable/writable resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataType {
    /// UTF-8 text.
    String,
    /// Signed integer of up to 64 bits.
    Integer,
    /// IEEE-754 binary32 or binary64.
    Float,
    /// `true` / `false`.
    Boolean,
    /// Raw bytes.
    Opaque,
    /// Signed Unix time in seconds.
    Time,
    /// Object link: (object id, instance id).
    Objlnk,
}

impl DataType {
    /// Every data type, in the order of the TS table.
    pub const ALL: [DataType; 7] = [
        DataType::String,
        DataType::Integer,
        DataType::Float,
        DataType::Boolean,
        DataType::Opaque,
        DataType::Time,
        DataType::Objlnk,
    ];

    /// The name used in the OMA XML `<Type>` element (`"Integer"`, `"Objlnk"` ...).
    pub const fn name(self) -> &'static str {
        match self {
            DataType::String => "String",
            DataType::Integer => "Integer",
            DataType::Float => "Float",
            DataType::Boolean => "Boolean",
            DataType::Opaque => "Opaque",
            DataType::Time => "Time",
            DataType::Objlnk => "Objlnk",
        }
    }

    /// Parses an OMA XML type name (exact, case-sensitive, as the schema enumerates them).
    ///
    /// The empty name of executable resources is not a data type: it returns `None`, like any
    /// unknown name; callers decide what an empty `<Type>` means.
    pub fn from_name(name: &str) -> Option<DataType> {
        DataType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether the type is numeric in the sense of the notification attributes `gt`, `lt` and `st`
    /// (digest §9.2: Integer or Float).
    #[inline]
    pub const fn is_numeric(self) -> bool {
        matches!(self, DataType::Integer | DataType::Float)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An object link value: a reference to object instance `/object_id/instance_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectLink {
    /// The object id.
    pub object_id: u16,
    /// The object instance id.
    pub instance_id: u16,
}

impl ObjectLink {
    /// The null link `65535:65535`, meaning "no instance".
    pub const NULL: ObjectLink = ObjectLink {
        object_id: u16::MAX,
        instance_id: u16::MAX,
    };

    /// Builds a link.
    #[inline]
    pub const fn new(object_id: u16, instance_id: u16) -> Self {
        ObjectLink {
            object_id,
            instance_id,
        }
    }

    /// Whether this is the null link `65535:65535`.
    #[inline]
    pub const fn is_null(&self) -> bool {
        self.object_id == u16::MAX && self.instance_id == u16::MAX
    }
}

impl fmt::Display for ObjectLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.object_id, self.instance_id)
    }
}

/// The text form of an object link is not `{oid}:{iid}` with two decimal 16-bit numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid object link at byte {offset}: expected \"<object id>:<instance id>\" with ids 0-65535"
)]
pub struct ObjectLinkError {
    /// Byte offset of the first offending character (or of the end of the input).
    pub offset: usize,
}

impl FromStr for ObjectLink {
    type Err = ObjectLinkError;

    /// Parses `"3:0"`; both ids are plain decimal numbers from 0 to 65535.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some(colon) = s.find(':') else {
            return Err(ObjectLinkError { offset: s.len() });
        };
        let (left, right) = (&s[..colon], &s[colon + 1..]);
        let object_id = parse_u16(left).map_err(|o| ObjectLinkError { offset: o })?;
        let instance_id = parse_u16(right).map_err(|o| ObjectLinkError {
            offset: colon + 1 + o,
        })?;
        Ok(ObjectLink::new(object_id, instance_id))
    }
}

/// Parses a plain decimal u16; on failure returns the offset of the offending byte.
fn parse_u16(s: &str) -> Result<u16, usize> {
    if s.is_empty() {
        return Err(0);
    }
    let mut value: u32 = 0;
    for (i, b) in s.bytes().enumerate() {
        if !b.is_ascii_digit() {
            return Err(i);
        }
        value = value * 10 + u32::from(b - b'0');
        if value > u32::from(u16::MAX) {
            return Err(i);
        }
    }
    u16::try_from(value).map_err(|_| 0)
}

/// A typed resource value.
///
/// `PartialEq` compares floats with IEEE semantics (a NaN is not equal to itself).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// UTF-8 text.
    String(String),
    /// A signed integer.
    Integer(i64),
    /// A float (always held as binary64; encoders choose the wire width).
    Float(f64),
    /// A boolean.
    Boolean(bool),
    /// Raw bytes.
    Opaque(Vec<u8>),
    /// Signed Unix time in seconds.
    Time(i64),
    /// An object link.
    Objlnk(ObjectLink),
}

/// A value cannot be converted to the requested data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot convert a {from} value to {to}")]
pub struct ConversionError {
    /// The type of the value.
    pub from: DataType,
    /// The requested type.
    pub to: DataType,
}

impl Value {
    /// The data type of this value.
    #[inline]
    pub const fn data_type(&self) -> DataType {
        match self {
            Value::String(_) => DataType::String,
            Value::Integer(_) => DataType::Integer,
            Value::Float(_) => DataType::Float,
            Value::Boolean(_) => DataType::Boolean,
            Value::Opaque(_) => DataType::Opaque,
            Value::Time(_) => DataType::Time,
            Value::Objlnk(_) => DataType::Objlnk,
        }
    }

    /// The text, if this is a String value.
    #[inline]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an Integer value.
    #[inline]
    pub const fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Integer(v) => Some(*v),
            _ => None,
        }
    }

    /// The float, if this is a Float value.
    #[inline]
    pub const fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// The number as a float, if this is an Integer or Float value (for comparing against the
    /// `gt`/`lt`/`st` notification attributes). Integers beyond 2^53 lose precision.
    #[inline]
    #[allow(clippy::cast_precision_loss)] // documented above
    pub const fn as_number(&self) -> Option<f64> {
        match self {
            Value::Integer(v) => Some(*v as f64),
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// The boolean, if this is a Boolean value.
    #[inline]
    pub const fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(v) => Some(*v),
            _ => None,
        }
    }

    /// The bytes, if this is an Opaque value.
    #[inline]
    pub fn as_opaque(&self) -> Option<&[u8]> {
        match self {
            Value::Opaque(v) => Some(v),
            _ => None,
        }
    }

    /// The seconds, if this is a Time value.
    #[inline]
    pub const fn as_time(&self) -> Option<i64> {
        match self {
            Value::Time(v) => Some(*v),
            _ => None,
        }
    }

    /// The link, if this is an Objlnk value.
    #[inline]
    pub const fn as_objlnk(&self) -> Option<ObjectLink> {
        match self {
            Value::Objlnk(v) => Some(*v),
            _ => None,
        }
    }

    /// Converts the value to another data type where no information is lost.
    ///
    /// Allowed: any type to itself; Integer ↔ Time; Integer → Float when exact (|v| ≤ 2^53);
    /// Float → Integer when the float is integral and in range; String → Objlnk when the text is
    /// `"oid:iid"` (Leshan sends object links as JSON strings). Everything else is an error.
    ///
    /// ```
    /// use lwm2m_model::{DataType, ObjectLink, Value};
    ///
    /// assert_eq!(Value::Integer(1_700_000_000).convert(DataType::Time)?, Value::Time(1_700_000_000));
    /// assert_eq!(Value::Float(3.0).convert(DataType::Integer)?, Value::Integer(3));
    /// assert!(Value::Float(3.5).convert(DataType::Integer).is_err());
    /// assert_eq!(
    ///     Value::from("3:0").convert(DataType::Objlnk)?,
    ///     Value::Objlnk(ObjectLink::new(3, 0))
    /// );
    /// # Ok::<(), lwm2m_model::ConversionError>(())
    /// ```
    // The casts below are guarded: integers within ±2^53 are exact floats, and the float → integer
    // arm only accepts values whose round trip through i64 is exact.
    #[allow(clippy::cast_precision_loss, clippy::float_cmp)]
    pub fn convert(self, to: DataType) -> Result<Value, ConversionError> {
        const EXACT_FLOAT_INT: i64 = 1 << 53;
        // 2^63 as f64; every integral float strictly between ±2^63 fits an i64.
        const I64_BOUND: f64 = 9_223_372_036_854_775_808.0;
        let from = self.data_type();
        let err = ConversionError { from, to };
        if from == to {
            return Ok(self);
        }
        match (self, to) {
            (Value::Integer(v), DataType::Time) => Ok(Value::Time(v)),
            (Value::Time(v), DataType::Integer) => Ok(Value::Integer(v)),
            (Value::Integer(v), DataType::Float)
                if (-EXACT_FLOAT_INT..=EXACT_FLOAT_INT).contains(&v) =>
            {
                Ok(Value::Float(v as f64))
            }
            (Value::Float(v), DataType::Integer | DataType::Time)
                if (-I64_BOUND..I64_BOUND).contains(&v) && v == (v as i64) as f64 =>
            {
                let int = v as i64;
                Ok(if to == DataType::Time {
                    Value::Time(int)
                } else {
                    Value::Integer(int)
                })
            }
            (Value::String(s), DataType::Objlnk) => s.parse().map(Value::Objlnk).map_err(|_| err),
            _ => Err(err),
        }
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.into())
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}

macro_rules! from_small_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Integer(i64::from(v))
            }
        }
    )*};
}
from_small_int!(i8, i16, i32, u8, u16, u32);

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Opaque(v)
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Opaque(v.to_vec())
    }
}

impl From<ObjectLink> for Value {
    fn from(v: ObjectLink) -> Self {
        Value::Objlnk(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn type_names_round_trip() {
        for t in DataType::ALL {
            assert_eq!(DataType::from_name(t.name()), Some(t));
            assert_eq!(t.to_string(), t.name());
        }
        assert_eq!(DataType::from_name(""), None);
        assert_eq!(DataType::from_name("integer"), None);
        assert_eq!(DataType::from_name("Unsigned Integer"), None);
        assert!(DataType::Integer.is_numeric());
        assert!(DataType::Float.is_numeric());
        assert!(!DataType::Time.is_numeric());
        assert!(!DataType::String.is_numeric());
    }

    #[test]
    fn data_type_of_values() {
        let cases = [
            (Value::from("x"), DataType::String),
            (Value::from(-750i32), DataType::Integer),
            (Value::from(23.5), DataType::Float),
            (Value::from(true), DataType::Boolean),
            (Value::from(&[1u8, 2][..]), DataType::Opaque),
            (Value::Time(1_367_491_215), DataType::Time),
            (Value::from(ObjectLink::new(3, 0)), DataType::Objlnk),
        ];
        for (v, t) in cases {
            assert_eq!(v.data_type(), t);
        }
    }

    #[test]
    fn accessors() {
        assert_eq!(Value::from("a").as_str(), Some("a"));
        assert_eq!(Value::from(5u8).as_integer(), Some(5));
        assert_eq!(Value::from(5u8).as_number(), Some(5.0));
        assert_eq!(Value::from(2.5f32).as_float(), Some(2.5));
        assert_eq!(Value::from(2.5).as_number(), Some(2.5));
        assert_eq!(Value::from(false).as_bool(), Some(false));
        assert_eq!(Value::from(vec![9u8]).as_opaque(), Some(&[9u8][..]));
        assert_eq!(Value::Time(7).as_time(), Some(7));
        assert_eq!(
            Value::from(ObjectLink::NULL).as_objlnk(),
            Some(ObjectLink::NULL)
        );
        assert_eq!(Value::from("a").as_integer(), None);
        assert_eq!(Value::Time(7).as_integer(), None);
        assert_eq!(Value::from(true).as_number(), None);
    }

    #[test]
    fn object_links() {
        assert!(ObjectLink::NULL.is_null());
        assert!(!ObjectLink::new(65535, 0).is_null());
        assert_eq!(ObjectLink::new(3, 0).to_string(), "3:0");
        assert_eq!("3:0".parse(), Ok(ObjectLink::new(3, 0)));
        assert_eq!("65535:65535".parse(), Ok(ObjectLink::NULL));
        assert_eq!(
            "3".parse::<ObjectLink>(),
            Err(ObjectLinkError { offset: 1 })
        );
        assert_eq!(
            ":0".parse::<ObjectLink>(),
            Err(ObjectLinkError { offset: 0 })
        );
        assert_eq!(
            "3:".parse::<ObjectLink>(),
            Err(ObjectLinkError { offset: 2 })
        );
        assert_eq!(
            "3:x".parse::<ObjectLink>(),
            Err(ObjectLinkError { offset: 2 })
        );
        assert_eq!(
            "65536:0".parse::<ObjectLink>(),
            Err(ObjectLinkError { offset: 4 })
        );
        assert_eq!(
            "3:0:1".parse::<ObjectLink>(),
            Err(ObjectLinkError { offset: 3 })
        );
        assert_eq!(
            "-3:0".parse::<ObjectLink>(),
            Err(ObjectLinkError { offset: 0 })
        );
    }

    #[test]
    fn conversions() {
        let c = |v: Value, t| v.convert(t);
        assert_eq!(c(Value::Time(5), DataType::Integer), Ok(Value::Integer(5)));
        assert_eq!(c(Value::Integer(5), DataType::Float), Ok(Value::Float(5.0)));
        assert_eq!(
            c(Value::Integer(i64::MAX), DataType::Float),
            Err(ConversionError {
                from: DataType::Integer,
                to: DataType::Float
            })
        );
        assert_eq!(c(Value::Float(-2.0), DataType::Time), Ok(Value::Time(-2)));
        assert!(c(Value::Float(f64::NAN), DataType::Integer).is_err());
        assert!(c(Value::Float(f64::INFINITY), DataType::Integer).is_err());
        assert!(c(Value::Float(1e19), DataType::Integer).is_err());
        assert!(c(Value::Float(9_223_372_036_854_775_808.0), DataType::Integer).is_err());
        assert_eq!(
            c(
                Value::Float(-9_223_372_036_854_775_808.0),
                DataType::Integer
            ),
            Ok(Value::Integer(i64::MIN))
        );
        assert_eq!(
            c(Value::Float(0.5), DataType::Integer),
            Err(ConversionError {
                from: DataType::Float,
                to: DataType::Integer
            })
        );
        assert!(c(Value::from("3-0"), DataType::Objlnk).is_err());
        assert!(c(Value::from(true), DataType::Integer).is_err());
        assert!(c(Value::from("1"), DataType::Integer).is_err());
        assert_eq!(c(Value::from("x"), DataType::String), Ok(Value::from("x")));
    }
}
