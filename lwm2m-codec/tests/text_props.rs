//! Property tests of the plain-text codec: format → parse is the identity for every primitive,
//! parse → format → parse is stable, the lenient float grammar agrees with a reference parser,
//! and no input panics any parser.

use lwm2m_codec::text::{self, BufMutWriter};
use proptest::prelude::*;

proptest! {
    #[test]
    fn integers_and_times_round_trip(v in any::<i64>()) {
        let s = text::format_integer(v);
        prop_assert_eq!(text::parse_integer(s.as_bytes()), Ok(v));
        prop_assert_eq!(s.as_str(), v.to_string());
        prop_assert_eq!(text::parse_time(text::format_time(v).as_bytes()), Ok(v));
    }

    #[test]
    fn finite_floats_round_trip_without_exponents(bits in any::<u64>()) {
        let v = f64::from_bits(bits);
        prop_assume!(v.is_finite());
        let s = text::format_float(v).unwrap();
        prop_assert!(s.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'.'), "{}", s);
        prop_assert_eq!(text::parse_float(s.as_bytes()).unwrap().to_bits(), bits);
    }

    #[test]
    fn non_finite_floats_have_no_text(sign in any::<bool>(), mantissa in 0u64..(1 << 52)) {
        // Exponent all ones: the infinities (mantissa 0) and every NaN.
        let bits = (u64::from(sign) << 63) | (0x7FF << 52) | mantissa;
        let v = f64::from_bits(bits);
        prop_assert!(!v.is_finite());
        prop_assert!(text::format_float(v).is_err());
    }

    #[test]
    fn booleans_objlnks_strings_opaques_round_trip(
        b in any::<bool>(), o in any::<u16>(), i in any::<u16>(),
        s in ".{0,40}", d in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        prop_assert_eq!(text::parse_bool(text::format_bool(b).as_bytes()), Ok(b));
        prop_assert_eq!(text::parse_objlnk(text::format_objlnk(o, i).as_bytes()), Ok((o, i)));
        prop_assert_eq!(text::parse_string(s.as_bytes()), Ok(s.as_str()));
        let b64 = text::format_opaque(&d);
        prop_assert_eq!(b64.len() % 4, 0);
        prop_assert_eq!(text::parse_opaque(b64.as_bytes()), Ok(d.clone()));
        let mut out = vec![0u8; text::opaque_max_decoded_len(b64.len())];
        let n = text::parse_opaque_into(b64.as_bytes(), &mut out).unwrap();
        prop_assert_eq!(&out[..n], d.as_slice());
        // The same text through a BufMut.
        let mut payload = Vec::new();
        text::write_opaque(&mut BufMutWriter(&mut payload), &d).unwrap();
        prop_assert_eq!(payload, b64.into_bytes());
    }

    #[test]
    fn decimal_integers_agree_with_core(s in "-?[0-9]{1,19}") {
        prop_assert_eq!(text::parse_integer(s.as_bytes()).ok(), s.parse::<i64>().ok());
    }

    #[test]
    fn lenient_floats_agree_with_core(
        s in "[+-]?([0-9]{1,20}(\\.[0-9]{0,20})?|\\.[0-9]{1,20})([eE][+-]?[0-9]{1,3})?"
    ) {
        let reference: f64 = s.parse().unwrap();
        match text::parse_float(s.as_bytes()) {
            Ok(v) => prop_assert_eq!(v.to_bits(), reference.to_bits()),
            Err(_) => prop_assert!(reference.is_infinite(), "{} rejected", s),
        }
    }

    #[test]
    fn objlnk_text_agrees_with_a_reference(a in 0u32..100_000, b in 0u32..100_000) {
        let s = format!("{a}:{b}");
        let expected = u16::try_from(a).ok().zip(u16::try_from(b).ok());
        prop_assert_eq!(text::parse_objlnk(s.as_bytes()).ok(), expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_reparse_stably(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(v) = text::parse_integer(&bytes) {
            prop_assert_eq!(text::parse_integer(text::format_integer(v).as_bytes()), Ok(v));
        }
        if let Ok(v) = text::parse_time(&bytes) {
            prop_assert_eq!(text::parse_time(text::format_time(v).as_bytes()), Ok(v));
        }
        if let Ok(v) = text::parse_float(&bytes) {
            let again = text::parse_float(text::format_float(v).unwrap().as_bytes()).unwrap();
            prop_assert_eq!(again.to_bits(), v.to_bits());
        }
        if let Ok(v) = text::parse_bool(&bytes) {
            prop_assert_eq!(text::parse_bool(text::format_bool(v).as_bytes()), Ok(v));
        }
        if let Ok((o, i)) = text::parse_objlnk(&bytes) {
            prop_assert_eq!(text::parse_objlnk(text::format_objlnk(o, i).as_bytes()), Ok((o, i)));
        }
        if let Ok(s) = text::parse_string(&bytes) {
            prop_assert_eq!(s.as_bytes(), bytes.as_slice());
        }
        if let Ok(d) = text::parse_opaque(&bytes) {
            // Canonical base64 only: the text is exactly what the formatter writes.
            let canonical = text::format_opaque(&d);
            prop_assert_eq!(canonical.as_bytes(), bytes.as_slice());
        }
        let mut out = [0u8; 48];
        let _ = text::parse_opaque_into(&bytes, &mut out);
    }

    #[test]
    fn number_like_garbage_never_panics(s in "[-+0-9.eE:a-z =]{0,24}") {
        let b = s.as_bytes();
        let _ = (text::parse_integer(b), text::parse_time(b), text::parse_float(b));
        let _ = (text::parse_bool(b), text::parse_objlnk(b), text::parse_opaque(b));
    }
}
