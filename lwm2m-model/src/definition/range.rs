//! The `RangeEnumeration` of a resource definition, parsed.
//!
//! The OMA schema types the field as free text, and the registry uses it for numeric bounds
//! (`0-100`, `1..65534`), byte lengths (`0-255 bytes`, `6 bytes`, `16-32-48 bytes`), bit widths
//! (`16-bit`) and prose (`The possible values ... are listed in 5.3.1.1`). The rule applied here:
//!
//! - text made only of digits, signs, dots, dashes and spaces (optionally followed by the unit
//!   `bytes`/`byte` or `-bit`/`bit`; with `bytes`, commas too: `16, 32 bytes`) is a *numeric
//!   range* and must be well-formed, else
//!   [`RangeError`]: `10-5`, `0-`, `1..2..3` are mistakes, not prose;
//! - anything else is kept verbatim as [`Range::Text`] (informative, never enforced).
//!
//! A numeric range means value bounds for Integer, Time and Float resources and byte-length bounds
//! for String and Opaque resources. On Boolean, Objlnk and executable resources numeric ranges have
//! no meaning and are kept as text.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;
use core::num::IntErrorKind;

use crate::value::{DataType, Value};

/// A parsed `RangeEnumeration`.
///
/// Every variant can be built in a `const`/`static` (the list and the text are `Cow<'static, _>`).
#[derive(Debug, Clone, PartialEq)]
pub enum Range {
    /// Inclusive value bounds of an Integer or Time resource (`0-100`, `1..65534`).
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// Inclusive value bounds of a Float resource (`-90.0..90.0`).
    Float {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// Inclusive byte-length bounds of a String or Opaque resource (`0-255 bytes`, or `0..255` on
    /// a String).
    Length {
        /// Shortest allowed length in bytes.
        min: u32,
        /// Longest allowed length in bytes.
        max: u32,
    },
    /// One of several allowed byte lengths of a String or Opaque resource (`16-32-48 bytes`, or
    /// `16, 32, 48 bytes`, the form `Display` writes).
    Lengths(Cow<'static, [u32]>),
    /// `N bytes`: at most N bytes for a String or Opaque resource; for an Integer resource, an
    /// unsigned value that fits in N bytes.
    MaxBytes(u32),
    /// `N-bit`: an unsigned Integer value that fits in N bits (`16-bit` for the ACL).
    Bits(u8),
    /// Anything else: an enumeration or prose, kept verbatim and never enforced.
    Text(Cow<'static, str>),
}

/// What is wrong with a numeric `RangeEnumeration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// A bound is missing (`0-`, `..5`) or is not a number.
    #[error("a bound is missing or is not a number")]
    BadBound,
    /// More than two bounds outside the byte-length list form (`1-2-3`).
    #[error("too many bounds (only `N bytes` lists may have more than two)")]
    TooManyBounds,
    /// The lower bound is above the upper bound.
    #[error("the lower bound is above the upper bound")]
    MinAboveMax,
    /// A decimal bound on an Integer/Time resource, or a negative or fractional byte length.
    #[error("the bound must be a whole number (and non-negative for a length)")]
    NotAWholeNumber,
    /// A bound does not fit the value type (beyond i64, u32 lengths, or 64 bits).
    #[error("a bound is out of range for the type")]
    OutOfRange,
    /// The range (or its unit, `bytes` or `bit`) does not fit the resource type.
    #[error("this kind of range does not fit a {0} resource")]
    UnitMismatch(DataType),
    /// A numeric range on a resource without a type (an executable).
    #[error("a numeric range on a resource without a type")]
    Untyped,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    None,
    Bytes,
    Bits,
}

impl Range {
    /// Parses a `RangeEnumeration` for a resource of the given type (`None` for executables).
    ///
    /// Returns `Ok(None)` for empty (or all-blank) text.
    ///
    /// ```
    /// use lwm2m_model::{DataType, Range};
    ///
    /// assert_eq!(Range::parse("0-100", Some(DataType::Integer)), Ok(Some(Range::Integer { min: 0, max: 100 })));
    /// assert_eq!(Range::parse("0..255", Some(DataType::String)), Ok(Some(Range::Length { min: 0, max: 255 })));
    /// assert_eq!(Range::parse("16-bit", Some(DataType::Integer)), Ok(Some(Range::Bits(16))));
    /// assert!(Range::parse("10-5", Some(DataType::Integer)).is_err());
    /// ```
    pub fn parse(text: &str, data_type: Option<DataType>) -> Result<Option<Range>, RangeError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let Some((body, unit)) = split_numeric(text) else {
            return Ok(Some(Range::Text(Cow::Owned(text.into()))));
        };
        let Some(data_type) = data_type.filter(|t| {
            matches!(
                t,
                DataType::Integer
                    | DataType::Time
                    | DataType::Float
                    | DataType::String
                    | DataType::Opaque
            )
        }) else {
            return Ok(Some(Range::Text(Cow::Owned(text.into()))));
        };
        if body.contains(',') {
            // Only `N, M, ... bytes` gets here (see `split_numeric`).
            if !matches!(data_type, DataType::String | DataType::Opaque) {
                return Err(RangeError::UnitMismatch(data_type));
            }
            let list = body
                .split(',')
                .map(|n| parse_length(n.trim()))
                .collect::<Result<Vec<u32>, _>>()?;
            return Ok(Some(Range::Lengths(Cow::Owned(list))));
        }
        let bounds = split_bounds(body)?;
        let range = match (unit, data_type) {
            (Unit::Bits, DataType::Integer | DataType::Time) => {
                let [n] = bounds.as_slice() else {
                    return Err(RangeError::TooManyBounds);
                };
                let bits = parse_length(n)?;
                match u8::try_from(bits) {
                    Ok(b @ 1..=64) => Range::Bits(b),
                    _ => return Err(RangeError::OutOfRange),
                }
            }
            (Unit::Bytes, DataType::Integer | DataType::Time) => {
                let [n] = bounds.as_slice() else {
                    return Err(RangeError::TooManyBounds);
                };
                match parse_length(n)? {
                    b @ 1..=8 => Range::MaxBytes(b),
                    _ => return Err(RangeError::OutOfRange),
                }
            }
            (Unit::Bytes, DataType::String | DataType::Opaque) => match bounds.as_slice() {
                [n] => Range::MaxBytes(parse_length(n)?),
                [a, b] => length_range(a, b)?,
                list => Range::Lengths(Cow::Owned(
                    list.iter()
                        .map(|n| parse_length(n))
                        .collect::<Result<Vec<u32>, _>>()?,
                )),
            },
            (Unit::Bits | Unit::Bytes, t) => return Err(RangeError::UnitMismatch(t)),
            (Unit::None, DataType::String | DataType::Opaque) => match bounds.as_slice() {
                [n] => Range::MaxBytes(parse_length(n)?),
                [a, b] => length_range(a, b)?,
                _ => return Err(RangeError::TooManyBounds),
            },
            (Unit::None, DataType::Float) => {
                let (min, max) = match bounds.as_slice() {
                    [n] => (parse_float(n)?, parse_float(n)?),
                    [a, b] => (parse_float(a)?, parse_float(b)?),
                    _ => return Err(RangeError::TooManyBounds),
                };
                if min > max {
                    return Err(RangeError::MinAboveMax);
                }
                Range::Float { min, max }
            }
            (Unit::None, _) => {
                let (min, max) = match bounds.as_slice() {
                    [n] => (parse_int(n)?, parse_int(n)?),
                    [a, b] => (parse_int(a)?, parse_int(b)?),
                    _ => return Err(RangeError::TooManyBounds),
                };
                if min > max {
                    return Err(RangeError::MinAboveMax);
                }
                Range::Integer { min, max }
            }
        };
        Ok(Some(range))
    }

    /// Checks that the range is consistent and fits a resource of the given type (used to validate
    /// hand-written or generated definitions, which do not go through [`Range::parse`]).
    pub fn check(&self, data_type: Option<DataType>) -> Result<(), RangeError> {
        let fits = |types: &[DataType]| data_type.is_some_and(|t| types.contains(&t));
        let int_types = [DataType::Integer, DataType::Time];
        let byte_types = [DataType::String, DataType::Opaque];
        match self {
            Range::Text(_) => Ok(()),
            Range::Integer { min, max } => {
                if !fits(&int_types) {
                    return Err(mismatch(data_type));
                }
                if min > max {
                    return Err(RangeError::MinAboveMax);
                }
                Ok(())
            }
            Range::Float { min, max } => {
                if !fits(&[DataType::Float]) {
                    return Err(mismatch(data_type));
                }
                if !(min.is_finite() && max.is_finite()) {
                    return Err(RangeError::BadBound);
                }
                if min > max {
                    return Err(RangeError::MinAboveMax);
                }
                Ok(())
            }
            Range::Length { min, max } => {
                if !fits(&byte_types) {
                    return Err(mismatch(data_type));
                }
                if min > max {
                    return Err(RangeError::MinAboveMax);
                }
                Ok(())
            }
            Range::Lengths(list) => {
                if !fits(&byte_types) {
                    return Err(mismatch(data_type));
                }
                if list.is_empty() {
                    return Err(RangeError::BadBound);
                }
                Ok(())
            }
            Range::MaxBytes(n) => {
                if fits(&byte_types) {
                    Ok(())
                } else if fits(&int_types) {
                    if (1..=8).contains(n) {
                        Ok(())
                    } else {
                        Err(RangeError::OutOfRange)
                    }
                } else {
                    Err(mismatch(data_type))
                }
            }
            Range::Bits(n) => {
                if !fits(&int_types) {
                    return Err(mismatch(data_type));
                }
                if (1..=64).contains(n) {
                    Ok(())
                } else {
                    Err(RangeError::OutOfRange)
                }
            }
        }
    }

    /// Whether `value` satisfies the range.
    ///
    /// Only the constraint the range expresses is checked: a value of a type the range does not
    /// constrain passes (type checking is the definition's job, see
    /// [`ResourceDefinition::accepts`](crate::ResourceDefinition::accepts)), and text ranges always
    /// pass.
    pub fn contains(&self, value: &Value) -> bool {
        let byte_len = match value {
            Value::String(s) => Some(s.len()),
            Value::Opaque(b) => Some(b.len()),
            _ => None,
        };
        let int = match value {
            Value::Integer(v) | Value::Time(v) => Some(*v),
            _ => None,
        };
        match self {
            Range::Text(_) => true,
            Range::Integer { min, max } => match value {
                // Bounds beyond 2^53 round to the nearest float; good enough for a float value
                // checked against an integer range.
                #[allow(clippy::cast_precision_loss)]
                Value::Float(f) => *f >= *min as f64 && *f <= *max as f64,
                _ => int.is_none_or(|v| (*min..=*max).contains(&v)),
            },
            Range::Float { min, max } => value.as_number().is_none_or(|v| v >= *min && v <= *max),
            Range::Length { min, max } => {
                byte_len.is_none_or(|n| n >= *min as usize && n <= *max as usize)
            }
            Range::Lengths(list) => byte_len.is_none_or(|n| list.iter().any(|&l| l as usize == n)),
            Range::MaxBytes(n) => match (byte_len, int) {
                (Some(len), _) => len <= *n as usize,
                (None, Some(v)) => fits_unsigned_bits(v, n.saturating_mul(8)),
                (None, None) => true,
            },
            Range::Bits(n) => int.is_none_or(|v| fits_unsigned_bits(v, u32::from(*n))),
        }
    }
}

fn mismatch(data_type: Option<DataType>) -> RangeError {
    data_type.map_or(RangeError::Untyped, RangeError::UnitMismatch)
}

fn fits_unsigned_bits(v: i64, bits: u32) -> bool {
    if v < 0 {
        return false;
    }
    bits >= 63 || v < (1i64 << bits)
}

/// Splits numeric range text into (body, unit); `None` when the text is prose.
fn split_numeric(text: &str) -> Option<(&str, Unit)> {
    let (body, unit) = if let Some(b) = text
        .strip_suffix("bytes")
        .or_else(|| text.strip_suffix("byte"))
    {
        (b.trim_end(), Unit::Bytes)
    } else if let Some(b) = text
        .strip_suffix("bits")
        .or_else(|| text.strip_suffix("bit"))
    {
        let b = b.trim_end();
        (b.strip_suffix('-').unwrap_or(b).trim_end(), Unit::Bits)
    } else {
        (text, Unit::None)
    };
    let numeric = !body.is_empty()
        && body.bytes().any(|b| b.is_ascii_digit())
        && body.bytes().all(|b| {
            b.is_ascii_digit()
                || matches!(b, b'-' | b'+' | b'.' | b' ' | b'\t')
                || (b == b',' && unit == Unit::Bytes)
        });
    numeric.then_some((body, unit))
}

/// Splits `a-b`, `a..b`, `a - b`, `-5..-1`, `16-32-48` into bound tokens.
fn split_bounds(body: &str) -> Result<Vec<&str>, RangeError> {
    let bytes = body.as_bytes();
    let mut bounds = Vec::new();
    let mut i = 0;
    loop {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        // A bound: optional sign, digits, optional fraction.
        let start = i;
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let digits_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == digits_start {
            return Err(RangeError::BadBound);
        }
        if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        bounds.push(body.get(start..i).ok_or(RangeError::BadBound)?);
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        match (bytes.get(i), bytes.get(i + 1)) {
            (None, _) => break,
            (Some(b'.'), Some(b'.')) => i += 2,
            (Some(b'-'), _) => i += 1,
            _ => return Err(RangeError::BadBound),
        }
    }
    Ok(bounds)
}

fn int_error(e: &core::num::ParseIntError) -> RangeError {
    match e.kind() {
        IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => RangeError::OutOfRange,
        _ => RangeError::BadBound,
    }
}

fn parse_int(token: &str) -> Result<i64, RangeError> {
    if token.contains('.') {
        return Err(RangeError::NotAWholeNumber);
    }
    token.parse().map_err(|e| int_error(&e))
}

fn parse_float(token: &str) -> Result<f64, RangeError> {
    let v: f64 = token.parse().map_err(|_| RangeError::BadBound)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(RangeError::OutOfRange)
    }
}

fn parse_length(token: &str) -> Result<u32, RangeError> {
    if token.contains('.') || token.starts_with('-') {
        return Err(RangeError::NotAWholeNumber);
    }
    token.parse().map_err(|e| int_error(&e))
}

fn length_range(a: &str, b: &str) -> Result<Range, RangeError> {
    let (min, max) = (parse_length(a)?, parse_length(b)?);
    if min > max {
        return Err(RangeError::MinAboveMax);
    }
    Ok(Range::Length { min, max })
}

impl fmt::Display for Range {
    /// A canonical text form that [`Range::parse`] reads back to the same range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range::Integer { min, max } => write!(f, "{min}..{max}"),
            Range::Float { min, max } => write!(f, "{min}..{max}"),
            Range::Length { min, max } => write!(f, "{min}..{max} bytes"),
            Range::Lengths(list) => {
                for (i, n) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}")?;
                }
                f.write_str(" bytes")
            }
            Range::MaxBytes(n) => write!(f, "{n} bytes"),
            Range::Bits(n) => write!(f, "{n}-bit"),
            Range::Text(t) => f.write_str(t),
        }
    }
}

#[cfg(test)]
mod tests;
