//! Borrowed typed values and the definition look-ups every format shares.

use core::fmt;

use crate::definition::ObjectDefinition;
use crate::value::{DataType, ObjectLink, Value};

/// A typed value that borrows its text or bytes: what the decoders produce before anything is
/// copied, what typed objects hand to the encoders.
///
/// ```
/// use lwm2m_model::content::ValueRef;
/// use lwm2m_model::{DataType, Value};
///
/// let v = ValueRef::Integer(5);
/// assert_eq!(v.coerce(DataType::Float), Some(ValueRef::Float(5.0)));
/// assert_eq!(v.coerce(DataType::String), None);
/// assert_eq!(ValueRef::String("3:0").coerce(DataType::Objlnk).map(ValueRef::to_value),
///            Some(Value::Objlnk(lwm2m_model::ObjectLink::new(3, 0))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// UTF-8 text.
    String(&'a str),
    /// A signed integer.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Boolean(bool),
    /// Raw bytes.
    Opaque(&'a [u8]),
    /// Signed Unix time in seconds.
    Time(i64),
    /// An object link.
    Objlnk(ObjectLink),
}

impl<'a> ValueRef<'a> {
    /// The data type of the value.
    #[inline]
    pub const fn data_type(&self) -> DataType {
        match self {
            ValueRef::String(_) => DataType::String,
            ValueRef::Integer(_) => DataType::Integer,
            ValueRef::Float(_) => DataType::Float,
            ValueRef::Boolean(_) => DataType::Boolean,
            ValueRef::Opaque(_) => DataType::Opaque,
            ValueRef::Time(_) => DataType::Time,
            ValueRef::Objlnk(_) => DataType::Objlnk,
        }
    }

    /// An owned [`Value`] (copies text and bytes).
    #[inline]
    pub fn to_value(self) -> Value {
        match self {
            ValueRef::String(s) => Value::String(s.into()),
            ValueRef::Integer(v) => Value::Integer(v),
            ValueRef::Float(v) => Value::Float(v),
            ValueRef::Boolean(v) => Value::Boolean(v),
            ValueRef::Opaque(v) => Value::Opaque(v.to_vec()),
            ValueRef::Time(v) => Value::Time(v),
            ValueRef::Objlnk(v) => Value::Objlnk(v),
        }
    }

    /// Converts to `to` where nothing is lost, without allocating: the conversions of
    /// [`Value::convert`] (Integer ↔ Time, Integer → Float when exact, integral Float → Integer
    /// or Time, `"oid:iid"` String → Objlnk).
    // The casts are guarded exactly as in `Value::convert`.
    #[allow(clippy::cast_precision_loss, clippy::float_cmp)]
    pub fn coerce(self, to: DataType) -> Option<ValueRef<'a>> {
        const EXACT_FLOAT_INT: i64 = 1 << 53;
        const I64_BOUND: f64 = 9_223_372_036_854_775_808.0;
        if self.data_type() == to {
            return Some(self);
        }
        match (self, to) {
            (ValueRef::Integer(v), DataType::Time) => Some(ValueRef::Time(v)),
            (ValueRef::Time(v), DataType::Integer) => Some(ValueRef::Integer(v)),
            (ValueRef::Integer(v), DataType::Float)
                if (-EXACT_FLOAT_INT..=EXACT_FLOAT_INT).contains(&v) =>
            {
                Some(ValueRef::Float(v as f64))
            }
            (ValueRef::Float(v), DataType::Integer | DataType::Time)
                if (-I64_BOUND..I64_BOUND).contains(&v) && v == (v as i64) as f64 =>
            {
                Some(if to == DataType::Time {
                    ValueRef::Time(v as i64)
                } else {
                    ValueRef::Integer(v as i64)
                })
            }
            (ValueRef::String(s), DataType::Objlnk) => s.parse().ok().map(ValueRef::Objlnk),
            _ => None,
        }
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    #[inline]
    fn from(value: &'a Value) -> Self {
        match value {
            Value::String(s) => ValueRef::String(s),
            Value::Integer(v) => ValueRef::Integer(*v),
            Value::Float(v) => ValueRef::Float(*v),
            Value::Boolean(v) => ValueRef::Boolean(*v),
            Value::Opaque(v) => ValueRef::Opaque(v),
            Value::Time(v) => ValueRef::Time(*v),
            Value::Objlnk(v) => ValueRef::Objlnk(*v),
        }
    }
}

impl fmt::Display for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueRef::String(s) => write!(f, "{s:?}"),
            ValueRef::Integer(v) | ValueRef::Time(v) => write!(f, "{v}"),
            ValueRef::Float(v) => write!(f, "{v:?}"),
            ValueRef::Boolean(v) => write!(f, "{v}"),
            ValueRef::Opaque(v) => write!(f, "{} bytes", v.len()),
            ValueRef::Objlnk(v) => write!(f, "{v}"),
        }
    }
}

/// What the definitions say about one resource, as the decoders and encoders need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A resource with a value: its type and multiplicity.
    Typed { data_type: DataType, multiple: bool },
    /// An executable resource (no type) of the definition.
    Executable,
    /// The definition does not know the resource, or there is no definition.
    Unknown,
}

impl Slot {
    /// The slot of resource `resource` of `definition`.
    #[inline]
    pub(crate) fn of(definition: Option<&ObjectDefinition>, resource: u16) -> Slot {
        match definition.and_then(|d| d.resource(resource)) {
            Some(r) => match r.data_type {
                Some(data_type) => Slot::Typed {
                    data_type,
                    multiple: r.is_multiple(),
                },
                None => Slot::Executable,
            },
            None => Slot::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn coercions_match_value_convert() {
        let samples = [
            Value::from("3:0"),
            Value::from("x"),
            Value::Integer(5),
            Value::Integer(i64::MAX),
            Value::Float(2.0),
            Value::Float(2.5),
            Value::Float(f64::NAN),
            Value::Boolean(true),
            Value::Opaque(alloc::vec![1]),
            Value::Time(-3),
            Value::Objlnk(ObjectLink::NULL),
        ];
        for value in &samples {
            for to in DataType::ALL {
                let by_ref = ValueRef::from(value).coerce(to).map(ValueRef::to_value);
                let owned = value.clone().convert(to).ok();
                // NaN is never equal to itself; compare the outcome shape for it.
                if value.as_float().is_some_and(f64::is_nan) {
                    assert_eq!(by_ref.is_some(), owned.is_some());
                } else {
                    assert_eq!(by_ref, owned, "{value:?} to {to}");
                }
            }
        }
    }

    #[test]
    fn display_is_short() {
        assert_eq!(ValueRef::Opaque(&[1, 2]).to_string(), "2 bytes");
        assert_eq!(ValueRef::String("a").to_string(), "\"a\"");
        assert_eq!(ValueRef::Float(1.0).to_string(), "1.0");
        assert_eq!(ValueRef::Objlnk(ObjectLink::new(3, 0)).to_string(), "3:0");
    }
}
