//! Fuzz target for the plain-text parsers and formatters.
//!
//! Every parser runs on the input; each value that parses is formatted and parsed again and must
//! come back equal (bit for bit for floats; base64 must be canonical, so it reformats exactly).
#![no_main]
use libfuzzer_sys::fuzz_target;
use lwm2m_codec::text;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = text::parse_integer(data) {
        assert_eq!(
            text::parse_integer(text::format_integer(v).as_bytes()),
            Ok(v)
        );
    }
    if let Ok(v) = text::parse_time(data) {
        assert_eq!(text::parse_time(text::format_time(v).as_bytes()), Ok(v));
    }
    if let Ok(v) = text::parse_float(data) {
        assert!(v.is_finite());
        let s = text::format_float(v).unwrap();
        assert!(!s.contains(['e', 'E']));
        assert_eq!(
            text::parse_float(s.as_bytes()).unwrap().to_bits(),
            v.to_bits()
        );
    }
    if let Ok(v) = text::parse_bool(data) {
        assert_eq!(text::format_bool(v).as_bytes(), data);
    }
    if let Ok((o, i)) = text::parse_objlnk(data) {
        assert_eq!(
            text::parse_objlnk(text::format_objlnk(o, i).as_bytes()),
            Ok((o, i))
        );
    }
    if let Ok(s) = text::parse_string(data) {
        assert_eq!(s.as_bytes(), data);
    }
    if let Ok(bytes) = text::parse_opaque(data) {
        assert_eq!(text::format_opaque(&bytes).as_bytes(), data);
        let mut out = vec![0u8; text::opaque_max_decoded_len(data.len())];
        let n = text::parse_opaque_into(data, &mut out).unwrap();
        assert_eq!(&out[..n], bytes.as_slice());
    } else {
        let mut out = [0u8; 64];
        assert!(text::parse_opaque_into(data, &mut out).is_err());
    }
});
