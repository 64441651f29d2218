//! Plain-text formatters: typed value in, text out.

use alloc::string::String;
use core::fmt::{self, Write};

use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use bytes::BufMut;

use super::error::TextError;

/// Adapts a [`BufMut`] to [`core::fmt::Write`], so the `write_*` formatters can write into a
/// CoAP payload buffer directly. Writing more than the buffer has room for fails with
/// [`fmt::Error`] instead of panicking.
///
/// ```
/// use lwm2m_codec::text::{write_objlnk, BufMutWriter};
/// let mut payload = Vec::new();
/// write_objlnk(&mut BufMutWriter(&mut payload), 3, 0)?;
/// assert_eq!(payload, b"3:0");
/// # Ok::<(), core::fmt::Error>(())
/// ```
#[derive(Debug)]
pub struct BufMutWriter<'a, B: BufMut>(pub &'a mut B);

impl<B: BufMut> Write for BufMutWriter<'_, B> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.0.remaining_mut() < s.len() {
            return Err(fmt::Error);
        }
        self.0.put_slice(s.as_bytes());
        Ok(())
    }
}

/// Writes an Integer in decimal (`-750`).
#[inline]
pub fn write_integer<W: Write + ?Sized>(out: &mut W, v: i64) -> fmt::Result {
    write!(out, "{v}")
}

/// Writes a Time as its Unix seconds in decimal.
#[inline]
pub fn write_time<W: Write + ?Sized>(out: &mut W, unix_seconds: i64) -> fmt::Result {
    write_integer(out, unix_seconds)
}

/// Writes a finite Float in the shortest decimal form that parses back to the same value,
/// without an exponent (`6.667e-11` → `0.00000000006667`, `23.0` → `23`, `-0.0` → `-0`).
/// NaN and the infinities have no text form and are an error.
#[inline]
pub fn write_float<W: Write + ?Sized>(out: &mut W, v: f64) -> Result<(), TextError> {
    if !v.is_finite() {
        return Err(TextError::NotFinite { value: v });
    }
    // `Display` for f64 is the shortest round-trip form and never uses exponent notation.
    write!(out, "{v}")?;
    Ok(())
}

/// Writes a Boolean as `0` or `1`.
#[inline]
pub fn write_bool<W: Write + ?Sized>(out: &mut W, v: bool) -> fmt::Result {
    out.write_str(if v { "1" } else { "0" })
}

/// Writes an Objlnk as `{object}:{instance}`.
#[inline]
pub fn write_objlnk<W: Write + ?Sized>(out: &mut W, object: u16, instance: u16) -> fmt::Result {
    write!(out, "{object}:{instance}")
}

/// Writes a String as itself.
#[inline]
pub fn write_string<W: Write + ?Sized>(out: &mut W, v: &str) -> fmt::Result {
    out.write_str(v)
}

/// Writes Opaque bytes as padded standard base64, without an intermediate buffer.
#[inline]
pub fn write_opaque<W: Write + ?Sized>(out: &mut W, v: &[u8]) -> fmt::Result {
    write!(out, "{}", Base64Display::new(v, &STANDARD))
}

fn to_string(f: impl FnOnce(&mut String) -> fmt::Result) -> String {
    let mut s = String::new();
    // Writing to a String only fails if a Display impl lies; ours do not.
    let _ = f(&mut s);
    s
}

/// [`write_integer`] into a new `String`.
pub fn format_integer(v: i64) -> String {
    to_string(|s| write_integer(s, v))
}

/// [`write_time`] into a new `String`.
pub fn format_time(unix_seconds: i64) -> String {
    to_string(|s| write_time(s, unix_seconds))
}

/// [`write_float`] into a new `String`; NaN and the infinities are an error.
pub fn format_float(v: f64) -> Result<String, TextError> {
    let mut s = String::new();
    write_float(&mut s, v)?;
    Ok(s)
}

/// [`write_bool`] into a new `String`.
pub fn format_bool(v: bool) -> String {
    to_string(|s| write_bool(s, v))
}

/// [`write_objlnk`] into a new `String`.
pub fn format_objlnk(object: u16, instance: u16) -> String {
    to_string(|s| write_objlnk(s, object, instance))
}

/// [`write_opaque`] into a new `String` (base64).
pub fn format_opaque(v: &[u8]) -> String {
    to_string(|s| write_opaque(s, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_never_use_exponents() {
        assert_eq!(format_float(6.667e-11).unwrap(), "0.00000000006667");
        assert_eq!(format_float(1e21).unwrap(), "1000000000000000000000");
        assert_eq!(format_float(23.0).unwrap(), "23");
        assert_eq!(format_float(-0.0).unwrap(), "-0");
        let tiny = format_float(f64::from_bits(1)).unwrap();
        assert!(tiny.starts_with("0.000") && tiny.ends_with('5') && !tiny.contains('e'));
        assert!(!format_float(f64::MAX).unwrap().contains('e'));
        assert!(matches!(
            format_float(f64::NAN),
            Err(TextError::NotFinite { .. })
        ));
        assert!(matches!(
            format_float(f64::NEG_INFINITY),
            Err(TextError::NotFinite { .. })
        ));
    }

    #[test]
    fn buf_mut_writer_stops_at_capacity() {
        let mut storage = [0u8; 3];
        let mut slice: &mut [u8] = &mut storage;
        assert_eq!(write_integer(&mut BufMutWriter(&mut slice), -75), Ok(()));
        let mut slice: &mut [u8] = &mut storage;
        assert_eq!(
            write_integer(&mut BufMutWriter(&mut slice), -750),
            Err(fmt::Error)
        );
        let mut slice: &mut [u8] = &mut storage;
        assert_eq!(
            write_float(&mut BufMutWriter(&mut slice), 23.25),
            Err(TextError::Write)
        );
    }

    #[test]
    fn the_small_types() {
        assert_eq!(format_integer(i64::MIN), "-9223372036854775808");
        assert_eq!(format_time(1_476_186_613), "1476186613");
        assert_eq!(format_bool(true), "1");
        assert_eq!(format_bool(false), "0");
        assert_eq!(format_objlnk(65535, 65535), "65535:65535");
        assert_eq!(format_opaque(&[]), "");
        assert_eq!(format_opaque(&[1, 2, 3, 4, 5]), "AQIDBAU=");
        let mut s = String::new();
        write_string(&mut s, "héllo").unwrap();
        assert_eq!(s, "héllo");
    }
}
