//! Plain-text parsers: payload bytes in, typed value out.

use alloc::vec::Vec;
use base64::engine::general_purpose::STANDARD;
use base64::{DecodeError, DecodeSliceError, Engine as _};

use super::error::TextError;
use crate::tlv::ValueType;

const DIGIT: &str = "a digit";

/// Parses an Integer: an optional `-` then decimal digits, within `i64`. A leading `+`,
/// whitespace, a fraction (`1.5`) or an exponent are rejected.
///
/// ```
/// use lwm2m_codec::text::{parse_integer, TextError};
/// assert_eq!(parse_integer(b"-9223372036854775808"), Ok(i64::MIN));
/// assert!(matches!(parse_integer(b"abc"), Err(TextError::UnexpectedByte { offset: 0, .. })));
/// ```
pub fn parse_integer(text: &[u8]) -> Result<i64, TextError> {
    parse_signed(ValueType::Integer, text)
}

/// Parses a Time: Unix seconds, written like an Integer.
pub fn parse_time(text: &[u8]) -> Result<i64, TextError> {
    parse_signed(ValueType::Time, text)
}

fn parse_signed(ty: ValueType, text: &[u8]) -> Result<i64, TextError> {
    let negative = match text.first() {
        None => return Err(TextError::Empty { ty }),
        Some(b'-') => true,
        Some(_) => false,
    };
    let start = usize::from(negative);
    if text.len() == start {
        return Err(TextError::UnexpectedEnd {
            ty,
            offset: start,
            expected: DIGIT,
        });
    }
    let out_of_range = TextError::OutOfRange {
        ty,
        offset: 0,
        range: "-9223372036854775808 to 9223372036854775807",
    };
    let mut acc: i64 = 0;
    for (offset, &byte) in text.iter().enumerate().skip(start) {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return Err(TextError::UnexpectedByte {
                ty,
                offset,
                byte,
                expected: if offset == 0 { "a digit or '-'" } else { DIGIT },
            });
        }
        // Accumulating negatives reaches i64::MIN, whose magnitude i64 cannot hold.
        acc = acc
            .checked_mul(10)
            .and_then(|a| {
                if negative {
                    a.checked_sub(i64::from(digit))
                } else {
                    a.checked_add(i64::from(digit))
                }
            })
            .ok_or(out_of_range)?;
    }
    Ok(acc)
}

/// Counts the ASCII digits at the start of `text`.
#[inline]
fn digit_run(text: &[u8]) -> usize {
    text.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// The byte at `offset` as an "unexpected" error, or the end of text.
fn unexpected(ty: ValueType, text: &[u8], offset: usize, expected: &'static str) -> TextError {
    match text.get(offset) {
        Some(&byte) => TextError::UnexpectedByte {
            ty,
            offset,
            byte,
            expected,
        },
        None => TextError::UnexpectedEnd {
            ty,
            offset,
            expected,
        },
    }
}

/// Parses a Float: `[+|-] digits [. digits] [(e|E) [+|-] digits]`, where either the integer or
/// the fraction digits may be missing but not both. The result is correctly rounded; a value
/// beyond the `f64` range is an error, one below it rounds to zero. `nan` and `inf` are rejected.
///
/// ```
/// use lwm2m_codec::text::parse_float;
/// assert_eq!(parse_float(b"0.00000000006667"), Ok(6.667e-11));
/// assert_eq!(parse_float(b"6.667e-11"), Ok(6.667e-11));
/// assert!(parse_float(b"nan").is_err());
/// ```
pub fn parse_float(text: &[u8]) -> Result<f64, TextError> {
    const TY: ValueType = ValueType::Float;
    if text.is_empty() {
        return Err(TextError::Empty { ty: TY });
    }
    let mut i = usize::from(matches!(text.first(), Some(b'+' | b'-')));
    let int_digits = digit_run(text.get(i..).unwrap_or_default());
    i += int_digits;
    let mut frac_digits = 0;
    if text.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = digit_run(text.get(i..).unwrap_or_default());
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return Err(unexpected(TY, text, i, DIGIT));
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = digit_run(text.get(i..).unwrap_or_default());
        if exp_digits == 0 {
            return Err(unexpected(TY, text, i, "an exponent digit"));
        }
        i += exp_digits;
    }
    if let Some(&byte) = text.get(i) {
        return Err(TextError::UnexpectedByte {
            ty: TY,
            offset: i,
            byte,
            expected: "a digit, '.', 'e' or the end",
        });
    }
    // The grammar above is ASCII and a subset of what core's parser accepts.
    let value = core::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or(TextError::UnexpectedByte {
            ty: TY,
            offset: 0,
            byte: text.first().copied().unwrap_or_default(),
            expected: "a decimal number",
        })?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(TextError::OutOfRange {
            ty: TY,
            offset: 0,
            range: "magnitude at most 1.7976931348623157e308",
        })
    }
}

/// Parses a Boolean: exactly `0` (false) or `1` (true).
pub fn parse_bool(text: &[u8]) -> Result<bool, TextError> {
    const TY: ValueType = ValueType::Boolean;
    match *text {
        [] => Err(TextError::Empty { ty: TY }),
        [b'0'] => Ok(false),
        [b'1'] => Ok(true),
        [b'0' | b'1', byte, ..] => Err(TextError::UnexpectedByte {
            ty: TY,
            offset: 1,
            byte,
            expected: "the end",
        }),
        [byte, ..] => Err(TextError::UnexpectedByte {
            ty: TY,
            offset: 0,
            byte,
            expected: "'0' or '1'",
        }),
    }
}

/// Parses one decimal `u16` of an Objlnk starting at `start`; returns it and the end offset.
fn objlnk_part(text: &[u8], start: usize) -> Result<(u16, usize), TextError> {
    const TY: ValueType = ValueType::Objlnk;
    let digits = text.get(start..).unwrap_or_default();
    let len = digit_run(digits);
    if len == 0 {
        return Err(unexpected(TY, text, start, DIGIT));
    }
    let mut acc: u16 = 0;
    for &b in digits.iter().take(len) {
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_add(u16::from(b - b'0')))
            .ok_or(TextError::OutOfRange {
                ty: TY,
                offset: start,
                range: "0 to 65535",
            })?;
    }
    Ok((acc, start + len))
}

/// Parses an Objlnk `{object}:{instance}`, each a decimal number from 0 to 65535. The null link
/// is `65535:65535`.
///
/// ```
/// use lwm2m_codec::text::{parse_objlnk, TextError};
/// assert_eq!(parse_objlnk(b"65535:65535"), Ok((65535, 65535)));
/// assert!(matches!(parse_objlnk(b"3:"), Err(TextError::UnexpectedEnd { offset: 2, .. })));
/// assert!(matches!(parse_objlnk(b"70000:0"), Err(TextError::OutOfRange { offset: 0, .. })));
/// ```
pub fn parse_objlnk(text: &[u8]) -> Result<(u16, u16), TextError> {
    const TY: ValueType = ValueType::Objlnk;
    if text.is_empty() {
        return Err(TextError::Empty { ty: TY });
    }
    let (object, colon) = objlnk_part(text, 0)?;
    if text.get(colon) != Some(&b':') {
        return Err(unexpected(TY, text, colon, "a digit or ':'"));
    }
    let (instance, end) = objlnk_part(text, colon + 1)?;
    if let Some(&byte) = text.get(end) {
        return Err(TextError::UnexpectedByte {
            ty: TY,
            offset: end,
            byte,
            expected: "a digit or the end",
        });
    }
    Ok((object, instance))
}

/// Parses a String: the payload itself, which must be UTF-8. Borrows from the payload; the
/// empty payload is the empty string.
pub fn parse_string(text: &[u8]) -> Result<&str, TextError> {
    core::str::from_utf8(text).map_err(|e| TextError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })
}

fn base64_error(text: &[u8], e: &DecodeError) -> TextError {
    match *e {
        DecodeError::InvalidByte(offset, byte) => TextError::Base64Byte { offset, byte },
        DecodeError::InvalidLength(symbols) => TextError::Base64Length { symbols },
        DecodeError::InvalidLastSymbol(offset, byte) => {
            TextError::Base64LastSymbol { offset, byte }
        }
        DecodeError::InvalidPadding => TextError::Base64Padding { offset: text.len() },
    }
}

/// Parses an Opaque: base64 with the RFC 4648 standard alphabet and `=` padding, in canonical
/// form (no stray bits in the last symbol). The empty payload is the empty value.
///
/// ```
/// use lwm2m_codec::text::parse_opaque;
/// assert_eq!(parse_opaque(b"q83v"), Ok(vec![0xAB, 0xCD, 0xEF]));
/// assert!(parse_opaque(b"AQIDBAU").is_err()); // padding is required
/// ```
pub fn parse_opaque(text: &[u8]) -> Result<Vec<u8>, TextError> {
    STANDARD.decode(text).map_err(|e| base64_error(text, &e))
}

/// An upper bound on the bytes [`parse_opaque_into`] writes for a `text_len`-byte payload.
pub const fn opaque_max_decoded_len(text_len: usize) -> usize {
    text_len.div_ceil(4) * 3
}

/// Parses an Opaque like [`parse_opaque`], into `out` without allocating; returns the number of
/// bytes written. `out` needs at most [`opaque_max_decoded_len`] bytes.
pub fn parse_opaque_into(text: &[u8], out: &mut [u8]) -> Result<usize, TextError> {
    STANDARD.decode_slice(text, out).map_err(|e| match e {
        DecodeSliceError::DecodeError(e) => base64_error(text, &e),
        DecodeSliceError::OutputSliceTooSmall => TextError::OutputTooSmall {
            capacity: out.len(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_edges() {
        assert_eq!(parse_integer(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_integer(b"-0"), Ok(0));
        assert_eq!(parse_integer(b"007"), Ok(7));
        assert!(matches!(
            parse_integer(b"9223372036854775808"),
            Err(TextError::OutOfRange { offset: 0, .. })
        ));
        assert!(matches!(
            parse_integer(b"-9223372036854775809"),
            Err(TextError::OutOfRange { .. })
        ));
        assert_eq!(
            parse_integer(b"-"),
            Err(TextError::UnexpectedEnd {
                ty: ValueType::Integer,
                offset: 1,
                expected: DIGIT
            })
        );
        assert!(matches!(
            parse_integer(b"+1"),
            Err(TextError::UnexpectedByte {
                offset: 0,
                byte: b'+',
                ..
            })
        ));
        assert!(matches!(
            parse_integer(b"1 "),
            Err(TextError::UnexpectedByte { offset: 1, .. })
        ));
        assert!(matches!(
            parse_time(b""),
            Err(TextError::Empty {
                ty: ValueType::Time
            })
        ));
    }

    #[test]
    fn float_grammar() {
        for (text, value) in [
            ("23.5", 23.5_f64),
            ("+1", 1.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("-0", -0.0),
            ("1E3", 1000.0),
            ("1e+3", 1000.0),
            ("2.5e-3", 0.0025),
            ("1e-400", 0.0),
        ] {
            let got = parse_float(text.as_bytes()).unwrap();
            assert_eq!(got.to_bits(), value.to_bits(), "{text}");
        }
        for (text, offset) in [
            ("nan", 0),
            ("inf", 0),
            ("-infinity", 1),
            (".", 1),
            ("-", 1),
            ("1e", 2),
            ("1e+", 3),
            ("1.2.3", 3),
            ("0x10", 1),
            ("1 ", 1),
        ] {
            let err = parse_float(text.as_bytes()).unwrap_err();
            let found = match err {
                TextError::UnexpectedByte { offset, .. }
                | TextError::UnexpectedEnd { offset, .. } => offset,
                other => panic!("{text}: {other:?}"),
            };
            assert_eq!(found, offset, "{text}");
        }
        assert!(matches!(
            parse_float(b"1e309"),
            Err(TextError::OutOfRange { .. })
        ));
    }

    #[test]
    fn booleans_and_objlnks() {
        assert!(matches!(
            parse_bool(b"10"),
            Err(TextError::UnexpectedByte { offset: 1, .. })
        ));
        assert!(matches!(
            parse_bool(b"true"),
            Err(TextError::UnexpectedByte { offset: 0, .. })
        ));
        assert!(matches!(parse_objlnk(b""), Err(TextError::Empty { .. })));
        assert!(matches!(
            parse_objlnk(b":0"),
            Err(TextError::UnexpectedByte { offset: 0, .. })
        ));
        assert!(matches!(
            parse_objlnk(b"3"),
            Err(TextError::UnexpectedEnd { offset: 1, .. })
        ));
        assert!(matches!(
            parse_objlnk(b"3:0:1"),
            Err(TextError::UnexpectedByte { offset: 3, .. })
        ));
        assert!(matches!(
            parse_objlnk(b"3:65536"),
            Err(TextError::OutOfRange { offset: 2, .. })
        ));
        assert!(matches!(
            parse_objlnk(b"-3:0"),
            Err(TextError::UnexpectedByte { offset: 0, .. })
        ));
    }

    #[test]
    fn base64_errors_have_offsets() {
        assert_eq!(
            parse_opaque(b"AQ!D"),
            Err(TextError::Base64Byte {
                offset: 2,
                byte: b'!'
            })
        );
        assert_eq!(
            parse_opaque(b"q83"),
            Err(TextError::Base64Padding { offset: 3 })
        );
        assert!(matches!(
            parse_opaque(b"AR=="),
            Err(TextError::Base64LastSymbol { offset: 1, .. })
        ));
        assert!(matches!(
            parse_opaque(b"A"),
            Err(TextError::Base64Length { .. } | TextError::Base64Padding { .. })
        ));
        let mut out = [0u8; 2];
        assert_eq!(
            parse_opaque_into(b"q83v", &mut out),
            Err(TextError::OutputTooSmall { capacity: 2 })
        );
        let mut out = [0u8; 3];
        assert_eq!(parse_opaque_into(b"q83v", &mut out), Ok(3));
        assert_eq!(out, [0xAB, 0xCD, 0xEF]);
        assert_eq!(opaque_max_decoded_len(8), 6);
        assert_eq!(opaque_max_decoded_len(0), 0);
    }

    #[test]
    fn strings_must_be_utf8() {
        assert_eq!(parse_string(b""), Ok(""));
        assert_eq!(
            parse_string(b"ok\xFF"),
            Err(TextError::InvalidUtf8 { offset: 2 })
        );
    }
}
