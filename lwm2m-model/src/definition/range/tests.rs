use super::*;
use alloc::string::ToString;
use alloc::vec;

const I: Option<DataType> = Some(DataType::Integer);
const S: Option<DataType> = Some(DataType::String);
const O: Option<DataType> = Some(DataType::Opaque);
const F: Option<DataType> = Some(DataType::Float);

fn ok(text: &str, t: Option<DataType>) -> Range {
    Range::parse(text, t).unwrap().unwrap()
}

#[test]
fn every_range_in_the_shipped_xml() {
    assert_eq!(ok("0-100", I), Range::Integer { min: 0, max: 100 });
    assert_eq!(ok("0-255 bytes", S), Range::Length { min: 0, max: 255 });
    assert_eq!(ok("0..65535", I), Range::Integer { min: 0, max: 65535 });
    assert_eq!(ok("1..65534", I), Range::Integer { min: 1, max: 65534 });
    assert_eq!(ok("0..255", S), Range::Length { min: 0, max: 255 });
    assert_eq!(ok("1 bytes", I), Range::MaxBytes(1));
    assert_eq!(ok("32 bytes", S), Range::MaxBytes(32));
    assert_eq!(ok("6 bytes", O), Range::MaxBytes(6));
    assert_eq!(
        ok("16-32-48 bytes", O),
        Range::Lengths(Cow::Borrowed(&[16, 32, 48]))
    );
    assert_eq!(ok("16-bit", I), Range::Bits(16));
    let prose = "The possible values of Resource are listed in 5.3.1.1";
    assert_eq!(ok(prose, S), Range::Text(Cow::Borrowed(prose)));
    assert_eq!(Range::parse("", I), Ok(None));
    assert_eq!(Range::parse("  \n ", I), Ok(None));
}

#[test]
fn other_numeric_forms() {
    assert_eq!(ok("-40..85", I), Range::Integer { min: -40, max: 85 });
    assert_eq!(ok("-90--10", I), Range::Integer { min: -90, max: -10 });
    assert_eq!(ok("1 - 10", I), Range::Integer { min: 1, max: 10 });
    assert_eq!(ok("5", I), Range::Integer { min: 5, max: 5 });
    assert_eq!(
        ok("-90.0..90.0", F),
        Range::Float {
            min: -90.0,
            max: 90.0
        }
    );
    assert_eq!(ok("0-1", F), Range::Float { min: 0.0, max: 1.0 });
    assert_eq!(ok("8 bits", I), Range::Bits(8));
    assert_eq!(
        ok("0-100", Some(DataType::Time)),
        Range::Integer { min: 0, max: 100 }
    );
    // Numeric text on types without numeric meaning stays informative.
    assert_eq!(
        ok("0-1", Some(DataType::Boolean)),
        Range::Text(Cow::Borrowed("0-1"))
    );
    assert_eq!(ok("0-1", None), Range::Text(Cow::Borrowed("0-1")));
    assert_eq!(ok("U, UQ, S", S), Range::Text(Cow::Borrowed("U, UQ, S")));
    assert_eq!(
        ok("0: off, 1: on", I),
        Range::Text(Cow::Borrowed("0: off, 1: on"))
    );
}

#[test]
fn bad_numeric_ranges() {
    let err = |text: &str, t| Range::parse(text, t).unwrap_err();
    assert_eq!(err("10-5", I), RangeError::MinAboveMax);
    assert_eq!(err("0-", I), RangeError::BadBound);
    assert_eq!(err("..5", I), RangeError::BadBound);
    assert_eq!(err("1..", I), RangeError::BadBound);
    assert_eq!(err("1...5", I), RangeError::BadBound);
    assert_eq!(ok("-", I), Range::Text(Cow::Borrowed("-")));
    assert_eq!(err("1 2", I), RangeError::BadBound);
    assert_eq!(err("1-2-3", I), RangeError::TooManyBounds);
    assert_eq!(err("1.5-2", I), RangeError::NotAWholeNumber);
    assert_eq!(err("-1-5 bytes", S), RangeError::NotAWholeNumber);
    assert_eq!(err("9-1 bytes", O), RangeError::MinAboveMax);
    assert_eq!(err("99999999999999999999-1", I), RangeError::OutOfRange);
    assert_eq!(err("65-bit", I), RangeError::OutOfRange);
    assert_eq!(err("0-bit", I), RangeError::OutOfRange);
    assert_eq!(err("9 bytes", I), RangeError::OutOfRange);
    assert_eq!(err("16-bit", S), RangeError::UnitMismatch(DataType::String));
    assert_eq!(err("4 bytes", F), RangeError::UnitMismatch(DataType::Float));
    assert_eq!(err("2.0-1.0", F), RangeError::MinAboveMax);
    assert_eq!(err("1-2-3", S), RangeError::TooManyBounds);
    assert_eq!(err("16, -32 bytes", O), RangeError::NotAWholeNumber);
    assert_eq!(err("16,,32 bytes", O), RangeError::BadBound);
    assert_eq!(err("16, 3 2 bytes", O), RangeError::BadBound);
    assert_eq!(err("99999999999 bytes", O), RangeError::OutOfRange);
    assert_eq!(
        err("1, 2 bytes", I),
        RangeError::UnitMismatch(DataType::Integer)
    );
    assert_eq!(
        ok("16, 32 bytes", O),
        Range::Lengths(Cow::Borrowed(&[16, 32]))
    );
}

#[test]
fn display_parses_back() {
    let cases = [
        (Range::Integer { min: -5, max: 10 }, I),
        (
            Range::Float {
                min: -0.5,
                max: 1e3,
            },
            F,
        ),
        (Range::Length { min: 0, max: 255 }, S),
        (Range::Lengths(Cow::Owned(vec![16, 32])), O),
        (Range::MaxBytes(6), O),
        (Range::MaxBytes(2), I),
        (Range::Bits(16), I),
        (Range::Text(Cow::Borrowed("U, UQ")), S),
    ];
    for (range, t) in cases {
        let text = range.to_string();
        assert_eq!(ok(&text, t), range, "{text}");
        assert_eq!(range.check(t), Ok(()));
    }
}

#[test]
fn check_catches_inconsistent_static_ranges() {
    assert_eq!(
        Range::Integer { min: 5, max: 1 }.check(I),
        Err(RangeError::MinAboveMax)
    );
    assert_eq!(
        Range::Integer { min: 0, max: 1 }.check(S),
        Err(RangeError::UnitMismatch(DataType::String))
    );
    assert_eq!(
        Range::Float {
            min: f64::NAN,
            max: 1.0
        }
        .check(F),
        Err(RangeError::BadBound)
    );
    assert_eq!(
        Range::Length { min: 3, max: 1 }.check(S),
        Err(RangeError::MinAboveMax)
    );
    assert_eq!(
        Range::Lengths(Cow::Borrowed(&[])).check(O),
        Err(RangeError::BadBound)
    );
    assert_eq!(Range::Bits(0).check(I), Err(RangeError::OutOfRange));
    assert_eq!(Range::Bits(8).check(None), Err(RangeError::Untyped));
    assert_eq!(Range::MaxBytes(9).check(I), Err(RangeError::OutOfRange));
    assert_eq!(Range::MaxBytes(9).check(S), Ok(()));
    assert_eq!(
        Range::MaxBytes(1).check(Some(DataType::Boolean)),
        Err(RangeError::UnitMismatch(DataType::Boolean))
    );
    assert_eq!(Range::Text(Cow::Borrowed("x")).check(None), Ok(()));
}

#[test]
fn contains() {
    let r = Range::Integer { min: 0, max: 100 };
    assert!(r.contains(&Value::Integer(0)));
    assert!(r.contains(&Value::Integer(100)));
    assert!(!r.contains(&Value::Integer(101)));
    assert!(!r.contains(&Value::Integer(-1)));
    assert!(r.contains(&Value::Float(50.5)));
    assert!(r.contains(&Value::from("not constrained")));
    let f = Range::Float {
        min: -1.0,
        max: 1.0,
    };
    assert!(f.contains(&Value::Float(0.5)));
    assert!(!f.contains(&Value::Float(1.5)));
    assert!(!f.contains(&Value::Integer(2)));
    let l = Range::Length { min: 1, max: 3 };
    assert!(l.contains(&Value::from("abc")));
    assert!(!l.contains(&Value::from("")));
    assert!(!l.contains(&Value::from(&[0u8; 4][..])));
    let ls = Range::Lengths(Cow::Borrowed(&[16, 32]));
    assert!(ls.contains(&Value::from(&[0u8; 32][..])));
    assert!(!ls.contains(&Value::from(&[0u8; 20][..])));
    assert!(Range::MaxBytes(2).contains(&Value::from("ab")));
    assert!(!Range::MaxBytes(2).contains(&Value::from("abc")));
    assert!(Range::MaxBytes(1).contains(&Value::Integer(255)));
    assert!(!Range::MaxBytes(1).contains(&Value::Integer(256)));
    assert!(Range::MaxBytes(8).contains(&Value::Integer(i64::MAX)));
    assert!(Range::Bits(16).contains(&Value::Integer(65535)));
    assert!(!Range::Bits(16).contains(&Value::Integer(65536)));
    assert!(!Range::Bits(16).contains(&Value::Integer(-1)));
    assert!(Range::Bits(64).contains(&Value::Integer(i64::MAX)));
    assert!(Range::Text(Cow::Borrowed("x")).contains(&Value::Integer(-1)));
    assert!(Range::Bits(16).contains(&Value::from(true)));
}

#[test]
fn garbage_never_panics() {
    for text in [
        "-",
        "..",
        "- -",
        "1-",
        "+",
        "+-1",
        "1..-",
        "bytes",
        "-bit",
        " bit",
        "1e5",
        "٣",
        "1 bytes bytes",
        "--1",
        "1--",
        "1.-2",
        "1.2.3",
        "0..0..0 bytes",
    ] {
        for t in DataType::ALL {
            let _ = Range::parse(text, Some(t));
        }
        let _ = Range::parse(text, None);
    }
    assert_eq!(ok("bytes", S), Range::Text(Cow::Borrowed("bytes")));
}
