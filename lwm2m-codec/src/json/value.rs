//! The format-neutral pieces of a record: numbers that keep integer precision, values, object links.

use alloc::borrow::Cow;
use core::fmt;

/// A JSON number as LwM2M needs it: integers stay exact 64-bit integers, everything else is a float.
///
/// JSON has one number type, but an LwM2M Integer resource is a signed 64-bit value and
/// 9223372036854775807 does not survive a trip through `f64`. The decoder therefore keeps every
/// number written without a fraction or exponent and inside the `i64` range as [`Number::Integer`].
/// A number written with a fraction or an exponent (`22.4`, `1.0`, `1e3`) is a [`Number::Float`],
/// and so is an integer outside the `i64` range (it cannot be an LwM2M Integer, and the nearest
/// `f64` is the most useful thing to keep; `lwm2m-model` rejects it where an Integer is expected).
///
/// ```
/// use lwm2m_codec::json::Number;
/// assert_eq!(Number::Integer(3800).as_i64(), Some(3800));
/// assert_eq!(Number::Float(22.4).as_f64(), 22.4);
/// assert_eq!(Number::Float(5.0).as_i64(), Some(5));
/// assert_eq!(Number::Float(5.5).as_i64(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// A number written without fraction or exponent that fits an `i64`.
    Integer(i64),
    /// Any other number. The writer refuses NaN and the infinities (JSON cannot express them).
    Float(f64),
}

impl Number {
    /// The value as an `i64` if it is an integer or a float with an exact integer value in range.
    #[inline]
    #[allow(clippy::float_cmp, clippy::cast_precision_loss)] // exactness is the point here
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Number::Integer(i) => Some(i),
            Number::Float(f) => {
                // 2^63 is exactly representable; every float in [-2^63, 2^63) with no fraction
                // converts to i64 without loss.
                const LIMIT: f64 = 9_223_372_036_854_775_808.0;
                // (`f64::fract` needs std; the cast truncates, so a round trip tests for a fraction.)
                if (-LIMIT..LIMIT).contains(&f) && (f as i64) as f64 == f {
                    Some(f as i64)
                } else {
                    None
                }
            }
        }
    }

    /// The value as an `f64` (an integer beyond 2^53 loses precision here).
    #[inline]
    #[allow(clippy::cast_precision_loss)] // documented: this is the lossy view
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Integer(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    /// Whether the number can be written as JSON (every integer, finite floats).
    #[inline]
    pub fn is_finite(self) -> bool {
        match self {
            Number::Integer(_) => true,
            Number::Float(f) => f.is_finite(),
        }
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Self {
        Number::Integer(value)
    }
}

impl From<i32> for Number {
    fn from(value: i32) -> Self {
        Number::Integer(value.into())
    }
}

impl From<u32> for Number {
    fn from(value: u32) -> Self {
        Number::Integer(value.into())
    }
}

impl From<f64> for Number {
    fn from(value: f64) -> Self {
        Number::Float(value)
    }
}

/// An object link (`Objlnk`): an object ID and an object instance ID.
///
/// On the wire of LwM2M JSON it is the string `"oid:iid"`; see [`Objlnk::parse`] for the accepted
/// spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Objlnk {
    /// The object ID.
    pub object: u16,
    /// The object instance ID.
    pub instance: u16,
}

impl Objlnk {
    /// The null link `65535:65535` ("no instance is linked").
    pub const NULL: Objlnk = Objlnk {
        object: u16::MAX,
        instance: u16::MAX,
    };

    /// A link to instance `instance` of object `object`.
    pub const fn new(object: u16, instance: u16) -> Self {
        Objlnk { object, instance }
    }

    /// Parses the `"oid:iid"` text of an `ov` value.
    ///
    /// Each half is a decimal number 0-65535. The TS prints the null link in hex as `FFFF:FFFF`, so
    /// a half spelled `FFFF` (any letter case) is read as 65535 too; no other hex is accepted.
    ///
    /// ```
    /// use lwm2m_codec::json::Objlnk;
    /// assert_eq!(Objlnk::parse("66:0"), Ok(Objlnk::new(66, 0)));
    /// assert_eq!(Objlnk::parse("65535:65535"), Ok(Objlnk::NULL));
    /// assert_eq!(Objlnk::parse("FFFF:FFFF"), Ok(Objlnk::NULL));
    /// assert!(Objlnk::parse("66").is_err());
    /// assert!(Objlnk::parse("66:65536").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, ObjlnkError> {
        let (object, instance) = text.split_once(':').ok_or(ObjlnkError::MissingColon)?;
        Ok(Objlnk {
            object: parse_half(object).ok_or(ObjlnkError::BadObject)?,
            instance: parse_half(instance).ok_or(ObjlnkError::BadInstance)?,
        })
    }

    /// The pair `(object, instance)`.
    pub const fn to_pair(self) -> (u16, u16) {
        (self.object, self.instance)
    }

    /// Whether this is the null link `65535:65535`.
    pub const fn is_null(self) -> bool {
        self.object == u16::MAX && self.instance == u16::MAX
    }
}

impl From<(u16, u16)> for Objlnk {
    fn from((object, instance): (u16, u16)) -> Self {
        Objlnk { object, instance }
    }
}

impl fmt::Display for Objlnk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.object, self.instance)
    }
}

/// Parses the `"oid:iid"` text of an `ov` value into `(object, instance)`; see [`Objlnk::parse`].
///
/// ```
/// assert_eq!(lwm2m_codec::json::parse_objlnk("3:0"), Ok((3, 0)));
/// ```
pub fn parse_objlnk(text: &str) -> Result<(u16, u16), ObjlnkError> {
    Objlnk::parse(text).map(Objlnk::to_pair)
}

fn parse_half(text: &str) -> Option<u16> {
    if text.eq_ignore_ascii_case("FFFF") {
        return Some(u16::MAX);
    }
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Why an `ov` text is not an object link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ObjlnkError {
    /// There is no `:` between the two halves.
    #[error("an object link is \"oid:iid\", but there is no ':'")]
    MissingColon,
    /// The part before the `:` is not a number 0-65535.
    #[error("the object ID of an object link must be a decimal number 0-65535")]
    BadObject,
    /// The part after the `:` is not a number 0-65535.
    #[error("the instance ID of an object link must be a decimal number 0-65535")]
    BadInstance,
}

/// The value of one record: exactly one of the four LwM2M JSON value keys.
///
/// The mapping to LwM2M data types needs the object definition and is `lwm2m-model`'s job:
/// Integer, Float and Time travel as [`Value::Number`], String and Opaque (base64) as
/// [`Value::String`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `"v"`: a number.
    Number(Number),
    /// `"sv"`: a string, borrowed from the input unless it contained JSON escapes.
    String(Cow<'a, str>),
    /// `"bv"`: a boolean.
    Boolean(bool),
    /// `"ov"`: an object link.
    Objlnk(Objlnk),
}

impl Value<'_> {
    /// The JSON key this value is written under (`"v"`, `"sv"`, `"bv"` or `"ov"`).
    pub const fn key(&self) -> &'static str {
        match self {
            Value::Number(_) => "v",
            Value::String(_) => "sv",
            Value::Boolean(_) => "bv",
            Value::Objlnk(_) => "ov",
        }
    }

    /// A copy that owns its string, detached from the input buffer.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Number(n) => Value::Number(n),
            Value::String(s) => Value::String(Cow::Owned(s.into_owned())),
            Value::Boolean(b) => Value::Boolean(b),
            Value::Objlnk(l) => Value::Objlnk(l),
        }
    }
}

impl From<Number> for Value<'_> {
    fn from(value: Number) -> Self {
        Value::Number(value)
    }
}

impl From<bool> for Value<'_> {
    fn from(value: bool) -> Self {
        Value::Boolean(value)
    }
}

impl From<Objlnk> for Value<'_> {
    fn from(value: Objlnk) -> Self {
        Value::Objlnk(value)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(value: &'a str) -> Self {
        Value::String(Cow::Borrowed(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_i64_is_exact_or_none() {
        assert_eq!(Number::Integer(i64::MAX).as_i64(), Some(i64::MAX));
        assert_eq!(
            Number::Float(-9_223_372_036_854_775_808.0).as_i64(),
            Some(i64::MIN)
        );
        assert_eq!(Number::Float(9_223_372_036_854_775_808.0).as_i64(), None);
        assert_eq!(Number::Float(f64::NAN).as_i64(), None);
        assert_eq!(Number::Float(f64::INFINITY).as_i64(), None);
        assert_eq!(Number::Float(-0.5).as_i64(), None);
    }

    #[test]
    fn objlnk_spellings() {
        assert_eq!(Objlnk::parse("0:0"), Ok(Objlnk::new(0, 0)));
        assert_eq!(Objlnk::parse("ffff:FFFF"), Ok(Objlnk::NULL));
        assert_eq!(Objlnk::parse("00066:00001"), Ok(Objlnk::new(66, 1)));
        assert_eq!(Objlnk::parse(""), Err(ObjlnkError::MissingColon));
        assert_eq!(Objlnk::parse(":1"), Err(ObjlnkError::BadObject));
        assert_eq!(Objlnk::parse("1:"), Err(ObjlnkError::BadInstance));
        assert_eq!(Objlnk::parse("+1:1"), Err(ObjlnkError::BadObject));
        assert_eq!(Objlnk::parse("1:-1"), Err(ObjlnkError::BadInstance));
        assert_eq!(Objlnk::parse("1:2:3"), Err(ObjlnkError::BadInstance));
        assert_eq!(Objlnk::parse("FF:0"), Err(ObjlnkError::BadObject));
        assert_eq!(Objlnk::parse("000001:0"), Err(ObjlnkError::BadObject));
        assert!(Objlnk::NULL.is_null());
        assert_eq!(Objlnk::new(3, 0).to_string(), "3:0");
    }
}
