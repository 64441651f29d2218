//! Plain text (content format 0) and opaque (42) single values, TS §6.4.1-6.4.2 and Appendix C.
//!
//! A plain-text payload carries one value of a single-instance resource, written as:
//!
//! | type | text | parser | formatter |
//! |---|---|---|---|
//! | Integer | `-750` (optional `-`, decimal digits) | [`parse_integer`] | [`write_integer`] |
//! | Float | `23.5`, `0.00000000006667`; exponents accepted on input | [`parse_float`] | [`write_float`] |
//! | Boolean | `0` / `1` | [`parse_bool`] | [`write_bool`] |
//! | Time | Unix seconds as an Integer | [`parse_time`] | [`write_time`] |
//! | Objlnk | `3:0` | [`parse_objlnk`] | [`write_objlnk`] |
//! | String | the UTF-8 text itself | [`parse_string`] | [`write_string`] |
//! | Opaque | base64, RFC 4648 standard alphabet, padded | [`parse_opaque`] | [`write_opaque`] |
//!
//! Parsers take the payload bytes, borrow where they can and reject anything but the exact form,
//! with a [`TextError`] that names the byte offset (no surrounding whitespace, no trailing
//! newline). Floats are the one lenient case, as the TS asks: a leading `+`, a missing integer or
//! fraction part (`.5`, `5.`) and an exponent (`6.667e-11`) are accepted; `nan` and `inf` are not.
//!
//! Formatters write into any [`core::fmt::Write`] (a `String`, or a [`bytes::BufMut`] through
//! [`BufMutWriter`]); the `format_*` functions return a new `String`. Floats are written in the
//! shortest decimal form that parses back to the same `f64`, never with an exponent
//! (`6.667e-11` becomes `0.00000000006667`, `23.0` becomes `23`).
//!
//! The opaque content format (42) is the raw resource bytes with no encoding at all: the
//! payload *is* the value, so it needs no codec here.
//!
//! ```
//! use lwm2m_codec::text;
//!
//! assert_eq!(text::parse_integer(b"-750")?, -750);
//! assert_eq!(text::parse_float(b"6.667e-11")?, 6.667e-11);
//! assert_eq!(text::format_float(6.667e-11)?, "0.00000000006667");
//! assert_eq!(text::parse_objlnk(b"3:0")?, (3, 0));
//! assert_eq!(text::parse_opaque(b"AQIDBAU=")?, [1, 2, 3, 4, 5]);
//! assert!(text::parse_integer(b"1.5").is_err());
//! # Ok::<(), text::TextError>(())
//! ```

mod error;
mod format;
mod parse;

pub use error::TextError;
pub use format::{
    format_bool, format_float, format_integer, format_objlnk, format_opaque, format_time,
    write_bool, write_float, write_integer, write_objlnk, write_opaque, write_string, write_time,
    BufMutWriter,
};
pub use parse::{
    opaque_max_decoded_len, parse_bool, parse_float, parse_integer, parse_objlnk, parse_opaque,
    parse_opaque_into, parse_string, parse_time,
};
