//! Every plain-text vector of test-vectors.md §2 (parse and format), and its rejections.

use lwm2m_codec::text::{self, TextError};
use lwm2m_codec::tlv::ValueType;

#[test]
fn string() {
    let payload = [
        0x4F, 0x70, 0x65, 0x6E, 0x20, 0x4D, 0x6F, 0x62, 0x69, 0x6C, 0x65, 0x20, 0x41, 0x6C, 0x6C,
        0x69, 0x61, 0x6E, 0x63, 0x65,
    ];
    assert_eq!(text::parse_string(&payload), Ok("Open Mobile Alliance"));
    let mut out = String::new();
    text::write_string(&mut out, "Open Mobile Alliance").unwrap();
    assert_eq!(out.as_bytes(), payload);
}

#[test]
fn integers() {
    assert_eq!(text::parse_integer(&[0x2D, 0x37, 0x35, 0x30]), Ok(-750));
    assert_eq!(
        text::format_integer(-750).as_bytes(),
        [0x2D, 0x37, 0x35, 0x30]
    );
    assert_eq!(text::parse_integer(b"86400"), Ok(86400));
    assert_eq!(text::format_integer(86400), "86400");
}

#[test]
fn floats() {
    assert_eq!(text::parse_float(b"23.5"), Ok(23.5));
    assert_eq!(text::format_float(23.5).unwrap(), "23.5");
    // The TS writes 6.667e-11 without an exponent; decoders should also accept the exponent.
    assert_eq!(text::parse_float(b"0.00000000006667"), Ok(6.667e-11));
    assert_eq!(text::parse_float(b"6.667e-11"), Ok(6.667e-11));
    assert_eq!(text::format_float(6.667e-11).unwrap(), "0.00000000006667");
}

#[test]
fn booleans() {
    assert_eq!(text::parse_bool(&[0x31]), Ok(true));
    assert_eq!(text::parse_bool(&[0x30]), Ok(false));
    assert_eq!(text::format_bool(true).as_bytes(), [0x31]);
    assert_eq!(text::format_bool(false).as_bytes(), [0x30]);
}

#[test]
fn time() {
    assert_eq!(text::parse_time(b"1476186613"), Ok(1_476_186_613));
    assert_eq!(text::format_time(1_476_186_613), "1476186613");
}

#[test]
fn opaque_is_padded_base64() {
    let rows: [(&[u8], &str); 4] = [
        (&[1, 2, 3, 4, 5], "AQIDBAU="),
        (&[0xAB, 0xCD, 0xEF], "q83v"),
        (
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
            "AAECAwQFBgcICQoLDA0ODw==",
        ),
        (&[], ""),
    ];
    for (bytes, b64) in rows {
        assert_eq!(text::parse_opaque(b64.as_bytes()).unwrap(), bytes, "{b64}");
        assert_eq!(text::format_opaque(bytes), b64);
        let mut out = vec![0u8; text::opaque_max_decoded_len(b64.len())];
        let n = text::parse_opaque_into(b64.as_bytes(), &mut out).unwrap();
        assert_eq!(&out[..n], bytes);
    }
}

#[test]
fn objlnks() {
    assert_eq!(text::parse_objlnk(b"3:0"), Ok((3, 0)));
    assert_eq!(text::format_objlnk(3, 0), "3:0");
    assert_eq!(text::parse_objlnk(b"65535:65535"), Ok((65535, 65535)));
    assert_eq!(text::format_objlnk(65535, 65535), "65535:65535");
}

#[test]
fn the_rejections() {
    assert_eq!(
        text::parse_integer(b"abc"),
        Err(TextError::UnexpectedByte {
            ty: ValueType::Integer,
            offset: 0,
            byte: b'a',
            expected: "a digit or '-'"
        })
    );
    assert_eq!(
        text::parse_integer(b"1.5"),
        Err(TextError::UnexpectedByte {
            ty: ValueType::Integer,
            offset: 1,
            byte: b'.',
            expected: "a digit"
        })
    );
    assert_eq!(
        text::parse_bool(b"2"),
        Err(TextError::UnexpectedByte {
            ty: ValueType::Boolean,
            offset: 0,
            byte: b'2',
            expected: "'0' or '1'"
        })
    );
    assert_eq!(
        text::parse_objlnk(b"3:"),
        Err(TextError::UnexpectedEnd {
            ty: ValueType::Objlnk,
            offset: 2,
            expected: "a digit"
        })
    );
    assert_eq!(
        text::parse_objlnk(b"70000:0"),
        Err(TextError::OutOfRange {
            ty: ValueType::Objlnk,
            offset: 0,
            range: "0 to 65535"
        })
    );
}

#[test]
fn more_rejections_the_brief_names() {
    assert_eq!(
        text::parse_integer(b""),
        Err(TextError::Empty {
            ty: ValueType::Integer
        })
    );
    assert!(matches!(
        text::parse_integer(b"99999999999999999999"),
        Err(TextError::OutOfRange {
            ty: ValueType::Integer,
            ..
        })
    ));
    for bad in ["nan", "NaN", "inf", "-inf", "infinity", "Infinity", ""] {
        assert!(text::parse_float(bad.as_bytes()).is_err(), "{bad}");
    }
    assert!(text::parse_string(b"\xC3\x28").is_err());
    assert_eq!(
        text::parse_integer(b"1.5").unwrap_err().to_string(),
        "Integer text: unexpected byte 0x2e at offset 1, expected a digit"
    );
}
