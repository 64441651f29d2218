//! The LwM2M JSON vectors of test-vectors.md section 3: decode each one to the described values,
//! write the same values back byte for byte, and reject the negative cases with the right error.

use std::borrow::Cow;

use lwm2m_codec::json::{
    full_name, resolve_name, Document, JsonError, NameError, Number, Objlnk, ObjlnkError, Record,
    Value, Writer,
};

const DEVICE: &str = r#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},{"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]}"#;
const SINGLE: &str = r#"{"bn":"/3/0/0","e":[{"sv":"Open Mobile Alliance"}]}"#;
const SINGLE_SPLIT: &str = r#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"}]}"#;
const MULTIPLE: &str = r#"{"bn":"/3/0/7/","e":[{"n":"0","v":3800},{"n":"1","v":5000}]}"#;
const TYPED: &str = r#"{"bn":"/1024/0/","e":[{"n":"0","bv":true},{"n":"1","v":-1.25},{"n":"2","ov":"3:0"},{"n":"3","sv":"AQIDBAU="},{"n":"4","v":1476186613}]}"#;
const HISTORICAL: &str = r#"{"bn":"/72/","bt":25462634,"e":[{"n":"1/2","v":22.4,"t":-5},{"n":"1/2","v":22.9,"t":-30},{"n":"1/2","v":24.1,"t":-50}]}"#;
const HIERARCHY: &str = r#"{"bn":"/","e":[{"n":"65/0/0/0","ov":"66:0"},{"n":"65/0/0/1","ov":"66:1"},{"n":"65/0/1","sv":"8613800755500"},{"n":"65/0/2","v":1},{"n":"66/0/0","sv":"myService1"},{"n":"66/0/1","sv":"Internet.15.234"},{"n":"66/0/2","ov":"67:0"},{"n":"66/1/0","sv":"myService2"},{"n":"66/1/1","sv":"Internet.15.235"},{"n":"66/1/2","ov":"FFFF:FFFF"},{"n":"67/0/0","sv":"85.76.76.84"},{"n":"67/0/1","sv":"85.76.255.255"}]}"#;

fn int(i: i64) -> Value<'static> {
    Value::Number(Number::Integer(i))
}

fn text(s: &str) -> Value<'_> {
    Value::String(Cow::Borrowed(s))
}

/// Every entry as (numeric path, value), via the documented name resolution.
fn resolved<'d>(doc: &'d Document<'_>) -> Vec<(Vec<u16>, &'d Value<'d>)> {
    doc.paths()
        .map(|item| {
            let (path, record) = item.expect("every vector name resolves");
            (path.ids().to_vec(), &record.value)
        })
        .collect()
}

#[test]
fn device_instance_decodes_to_the_described_values() {
    assert_eq!(DEVICE.len(), 390);
    let doc = Document::decode(DEVICE.as_bytes()).unwrap();
    assert_eq!(doc.base_name.as_deref(), Some("/3/0/"));
    assert_eq!(doc.base_time, None);
    let expected: Vec<(Vec<u16>, Value<'_>)> = vec![
        (vec![3, 0, 0], text("Open Mobile Alliance")),
        (vec![3, 0, 1], text("Lightweight M2M Client")),
        (vec![3, 0, 2], text("345000123")),
        (vec![3, 0, 3], text("1.0")),
        (vec![3, 0, 6, 0], int(1)),
        (vec![3, 0, 6, 1], int(5)),
        (vec![3, 0, 7, 0], int(3800)),
        (vec![3, 0, 7, 1], int(5000)),
        (vec![3, 0, 8, 0], int(125)),
        (vec![3, 0, 8, 1], int(900)),
        (vec![3, 0, 9], int(100)),
        (vec![3, 0, 10], int(15)),
        (vec![3, 0, 11, 0], int(0)),
        (vec![3, 0, 13], int(1_367_491_215)),
        (vec![3, 0, 14], text("+02:00")),
        (vec![3, 0, 16], text("U")),
    ];
    let got = resolved(&doc);
    assert_eq!(got.len(), expected.len());
    for ((path, value), (want_path, want_value)) in got.iter().zip(&expected) {
        assert_eq!(path, want_path);
        assert_eq!(*value, want_value);
    }
    // Nothing needed escaping, so every string borrows from the input.
    for record in &doc.records {
        assert!(matches!(record.name, Some(Cow::Borrowed(_))));
        if let Value::String(s) = &record.value {
            assert!(matches!(s, Cow::Borrowed(_)));
        }
        assert_eq!(record.time, None);
    }
    assert_eq!(doc.full_name(4).as_deref(), Some("/3/0/6/0"));
}

#[test]
fn device_instance_is_written_byte_for_byte() {
    let doc = Document::decode(DEVICE.as_bytes()).unwrap();
    assert_eq!(doc.encode_to_vec().unwrap(), DEVICE.as_bytes());

    // The same bytes from plain values through the streaming writer.
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out, Some("/3/0/"), None).unwrap();
    for (name, value) in [
        ("0", text("Open Mobile Alliance")),
        ("1", text("Lightweight M2M Client")),
        ("2", text("345000123")),
        ("3", text("1.0")),
        ("6/0", int(1)),
        ("6/1", int(5)),
        ("7/0", int(3800)),
        ("7/1", int(5000)),
        ("8/0", int(125)),
        ("8/1", int(900)),
        ("9", int(100)),
        ("10", int(15)),
        ("11/0", int(0)),
        ("13", int(1_367_491_215)),
        ("14", text("+02:00")),
        ("16", text("U")),
    ] {
        w.record(Some(name), &value, None).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), DEVICE);
}

#[test]
fn both_forms_of_a_single_resource_read_resolve_to_3_0_0() {
    for vector in [SINGLE, SINGLE_SPLIT] {
        let doc = Document::decode(vector.as_bytes()).unwrap();
        assert_eq!(doc.records.len(), 1);
        assert_eq!(
            resolved(&doc),
            vec![(vec![3, 0, 0], &text("Open Mobile Alliance"))]
        );
        assert_eq!(doc.full_name(0).as_deref(), Some("/3/0/0"));
        assert_eq!(doc.encode_to_vec().unwrap(), vector.as_bytes());
    }
    let doc = Document::decode(SINGLE.as_bytes()).unwrap();
    assert_eq!(doc.records[0].name, None);
}

#[test]
fn multiple_resource_read() {
    let doc = Document::decode(MULTIPLE.as_bytes()).unwrap();
    assert_eq!(
        resolved(&doc),
        vec![
            (vec![3, 0, 7, 0], &int(3800)),
            (vec![3, 0, 7, 1], &int(5000))
        ]
    );
    assert_eq!(doc.encode_to_vec().unwrap(), MULTIPLE.as_bytes());
}

#[test]
fn typed_values() {
    assert_eq!(TYPED.len(), 135);
    let doc = Document::decode(TYPED.as_bytes()).unwrap();
    assert_eq!(
        resolved(&doc),
        vec![
            (vec![1024, 0, 0], &Value::Boolean(true)),
            (vec![1024, 0, 1], &Value::Number(Number::Float(-1.25))),
            (vec![1024, 0, 2], &Value::Objlnk(Objlnk::new(3, 0))),
            (vec![1024, 0, 3], &text("AQIDBAU=")),
            (vec![1024, 0, 4], &int(1_476_186_613)),
        ]
    );
    assert_eq!(doc.encode_to_vec().unwrap(), TYPED.as_bytes());
}

#[test]
fn historical_values_with_base_time() {
    let doc = Document::decode(HISTORICAL.as_bytes()).unwrap();
    assert_eq!(doc.base_time, Some(Number::Integer(25_462_634)));
    let values: Vec<_> = doc.records.iter().map(|r| r.value.clone()).collect();
    assert_eq!(
        values,
        [22.4, 22.9, 24.1].map(|f| Value::Number(Number::Float(f)))
    );
    for (i, path) in doc.paths().enumerate() {
        assert_eq!(path.unwrap().0.ids(), &[72, 1, 2], "entry {i}");
    }
    let times: Vec<_> = (0..3).map(|i| doc.time(i)).collect();
    assert_eq!(
        times,
        [25_462_629, 25_462_604, 25_462_584].map(|t| Some(Number::Integer(t)))
    );
    assert_eq!(doc.encode_to_vec().unwrap(), HISTORICAL.as_bytes());
}

#[test]
fn object_link_hierarchy_accepts_the_hex_null_link() {
    let doc = Document::decode(HIERARCHY.as_bytes()).unwrap();
    let got = resolved(&doc);
    assert_eq!(got.len(), 12);
    assert_eq!(
        got[0],
        (vec![65, 0, 0, 0], &Value::Objlnk(Objlnk::new(66, 0)))
    );
    assert_eq!(
        got[1],
        (vec![65, 0, 0, 1], &Value::Objlnk(Objlnk::new(66, 1)))
    );
    assert_eq!(got[2], (vec![65, 0, 1], &text("8613800755500")));
    assert_eq!(got[3], (vec![65, 0, 2], &int(1)));
    assert_eq!(got[6], (vec![66, 0, 2], &Value::Objlnk(Objlnk::new(67, 0))));
    assert_eq!(got[9], (vec![66, 1, 2], &Value::Objlnk(Objlnk::NULL)));
    assert_eq!(got[11], (vec![67, 0, 1], &text("85.76.255.255")));

    // The writer prints the null link in decimal, as implementations usually do; that form
    // decodes to the same document.
    let decimal = HIERARCHY.replace("FFFF:FFFF", "65535:65535");
    assert_eq!(doc.encode_to_vec().unwrap(), decimal.as_bytes());
    assert_eq!(Document::decode(decimal.as_bytes()).unwrap(), doc);
}

#[test]
fn the_pretty_printed_ts_form_decodes_like_the_compact_one() {
    let pretty = "{\r\n  \"bn\" : \"/3/0/\",\n  \"e\" : [\n    {\"n\":\"0\", \"sv\":\"Open Mobile Alliance\"},\n\t{ \"n\" : \"9\" , \"v\" : 100 }\n  ]\n}\n";
    let doc = Document::decode(pretty.as_bytes()).unwrap();
    assert_eq!(
        doc.encode_to_vec().unwrap(),
        br#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"9","v":100}]}"#
    );
}

#[test]
fn negative_missing_e() {
    assert_eq!(
        Document::decode(br#"{"bn":"/3/0/"}"#),
        Err(JsonError::MissingEntries)
    );
    assert_eq!(Document::decode(b"{}"), Err(JsonError::MissingEntries));
}

#[test]
fn negative_two_value_keys_name_the_entry() {
    let err = Document::decode(
        br#"{"bn":"/3/0/","e":[{"n":"0","sv":"a"},{"n":"1","v":1},{"n":"2","bv":true},{"n":"3","v":1,"sv":"x"}]}"#,
    )
    .unwrap_err();
    assert_eq!(
        err,
        JsonError::MultipleValues {
            entry: 3,
            first: "v",
            second: "sv"
        }
    );
    assert!(err.to_string().contains("entry 3"), "{err}");
    assert_eq!(
        Document::decode(br#"{"e":[{"ov":"1:2","bv":false}]}"#),
        Err(JsonError::MultipleValues {
            entry: 0,
            first: "ov",
            second: "bv"
        })
    );
    // The same value key twice is a repeated key, reported where the second one is.
    assert_eq!(
        Document::decode(br#"{"e":[{"v":1,"v":2}]}"#),
        Err(JsonError::DuplicateKey {
            offset: 13,
            key: "v"
        })
    );
}

#[test]
fn negative_entry_without_value() {
    assert_eq!(
        Document::decode(br#"{"bn":"/3/0/","e":[{"n":"0","sv":"a"},{"n":"1","t":5}]}"#),
        Err(JsonError::MissingValue { entry: 1 })
    );
    assert_eq!(
        Document::decode(br#"{"e":[{}]}"#),
        Err(JsonError::MissingValue { entry: 0 })
    );
}

#[test]
fn negative_names_that_do_not_resolve() {
    // Not a numeric path at all: rejected by the syntax helpers, with the entry index.
    let doc = Document::decode(br#"{"bn":"/3/0/","e":[{"n":"0","v":1},{"n":"x","v":1}]}"#).unwrap();
    assert_eq!(
        doc.paths().nth(1).unwrap().unwrap_err(),
        JsonError::InvalidName {
            entry: 1,
            source: NameError::NotNumeric { offset: 5 }
        }
    );
    let doc = Document::decode(br#"{"bn":"/3/0/","e":[{"n":"1/2/3","v":1}]}"#).unwrap();
    assert!(matches!(
        doc.path(0),
        Err(JsonError::InvalidName {
            entry: 0,
            source: NameError::TooDeep { .. }
        })
    ));
    // A numeric path outside the request URI: lwm2m-model checks it with `starts_with`.
    let doc = Document::decode(br#"{"bn":"/3/1/","e":[{"n":"0","v":1}]}"#).unwrap();
    let path = doc.path(0).unwrap();
    assert!(!path.starts_with(&[3, 0]));
    assert!(path.starts_with(&[3, 1]));
}

#[test]
fn negative_invalid_object_link() {
    assert_eq!(
        Document::decode(br#"{"e":[{"v":1},{"ov":"66-0"}]}"#),
        Err(JsonError::InvalidObjlnk {
            entry: 1,
            source: ObjlnkError::MissingColon
        })
    );
    assert_eq!(
        Document::decode(br#"{"e":[{"ov":"66:70000"}]}"#),
        Err(JsonError::InvalidObjlnk {
            entry: 0,
            source: ObjlnkError::BadInstance
        })
    );
}

fn rejects(input: &[u8], expected: &JsonError) {
    assert_eq!(
        &Document::decode(input).unwrap_err(),
        expected,
        "{}",
        String::from_utf8_lossy(input)
    );
}

fn syntax(offset: usize, expected: &'static str) -> JsonError {
    JsonError::Syntax { offset, expected }
}

fn wrong(offset: usize, key: &'static str, expected: &'static str) -> JsonError {
    JsonError::WrongType {
        offset,
        key,
        expected,
    }
}

#[test]
fn structural_errors_carry_byte_offsets() {
    let opening = "'{' opening the document";
    let after_member = "',' or '}' after an object member";
    rejects(b"", &JsonError::UnexpectedEnd { expected: opening });
    rejects(b"[]", &syntax(0, opening));
    rejects(
        br#"{"e":[]"#,
        &JsonError::UnexpectedEnd {
            expected: after_member,
        },
    );
    rejects(
        br#"{"e":[]}x"#,
        &JsonError::TrailingCharacters { offset: 8 },
    );
    rejects(br#"{"e":[],}"#, &syntax(8, "a string key"));
    rejects(br#"{"e":[{"v":01}]}"#, &syntax(12, after_member));
    rejects(
        br#"{"bn":"/","bn":"/","e":[]}"#,
        &JsonError::DuplicateKey {
            offset: 10,
            key: "bn",
        },
    );
    rejects(
        br#"{"e":[],"e":[]}"#,
        &JsonError::DuplicateKey {
            offset: 8,
            key: "e",
        },
    );
    rejects(
        br#"{"e":[{"n":"1","n":"2","v":1}]}"#,
        &JsonError::DuplicateKey {
            offset: 15,
            key: "n",
        },
    );
    // Unknown values are skipped with bounded recursion: 64 levels pass, 65 do not.
    let nested = |depth: usize| {
        format!(
            r#"{{"x":{}{},"e":[]}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    assert!(Document::decode(nested(64).as_bytes()).is_ok());
    rejects(
        nested(65).as_bytes(),
        &JsonError::NestingTooDeep { offset: 5 + 64 },
    );
}

#[test]
fn wrong_types_carry_byte_offsets() {
    let entries = "an array of entry objects";
    rejects(br#"{"e":[{"v":1},]}"#, &wrong(14, "e", entries));
    rejects(br#"{"e":[1]}"#, &wrong(6, "e", entries));
    rejects(br#"{"e":{}}"#, &wrong(5, "e", "an array"));
    rejects(br#"{"bn":3,"e":[]}"#, &wrong(6, "bn", "a string"));
    rejects(br#"{"bt":"1","e":[]}"#, &wrong(6, "bt", "a number"));
    rejects(
        br#"{"e":[{"bv":"true"}]}"#,
        &wrong(12, "bv", "true or false"),
    );
    rejects(br#"{"e":[{"v":true}]}"#, &wrong(11, "v", "a number"));
    rejects(br#"{"e":[{"ov":null}]}"#, &wrong(12, "ov", "a string"));
}

#[test]
fn bad_scalars_carry_byte_offsets() {
    rejects(
        br#"{"e":[{"v":1e999}]}"#,
        &JsonError::NumberOutOfRange { offset: 11 },
    );
    rejects(
        br#"{"e":[{"v":-}]}"#,
        &JsonError::InvalidNumber { offset: 11 },
    );
    rejects(
        br#"{"e":[{"sv":"a}]}"#,
        &JsonError::UnterminatedString { offset: 12 },
    );
    rejects(
        br#"{"e":[{"sv":"\q"}]}"#,
        &JsonError::InvalidEscape { offset: 13 },
    );
    rejects(
        b"{\"e\":[{\"sv\":\"\n\"}]}",
        &JsonError::ControlCharacter { offset: 13 },
    );
    rejects(
        b"{\"e\":[{\"sv\":\"\xff\"}]}",
        &JsonError::InvalidUtf8 { offset: 13 },
    );
    let err = Document::decode(br#"{"e":[{"v":-}]}"#).unwrap_err();
    assert_eq!(err.to_string(), "malformed number at byte 11");
}

#[test]
fn unknown_keys_are_skipped() {
    let doc = Document::decode(
        br#"{"ver":2,"bn":"/3/0/","x":{"a":[1,{"b":null}]},"e":[{"n":"9","ut":"%","v":100,"vlo":"1:2"}],"n":"top"}"#,
    )
    .unwrap();
    assert_eq!(doc.records, vec![Record::new(Some("9"), int(100))]);
}

#[test]
fn integers_keep_full_precision() {
    let doc = Document::decode(
        br#"{"e":[{"v":9223372036854775807},{"v":-9223372036854775808},{"v":9223372036854775808},{"v":1.0}]}"#,
    )
    .unwrap();
    let values: Vec<_> = doc.records.iter().map(|r| r.value.clone()).collect();
    assert_eq!(
        values,
        vec![
            int(i64::MAX),
            int(i64::MIN),
            Value::Number(Number::Float(9_223_372_036_854_775_808.0)),
            Value::Number(Number::Float(1.0)),
        ]
    );
    assert_eq!(
        doc.encode_to_vec().unwrap(),
        br#"{"e":[{"v":9223372036854775807},{"v":-9223372036854775808},{"v":9.223372036854776e18},{"v":1.0}]}"#
    );
}

#[test]
fn escapes_force_an_owned_copy_only_where_needed() {
    let input = br#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open \"Mobile\" Alliance \u00e9"},{"n":"1","sv":"plain"}]}"#;
    let doc = Document::decode(input).unwrap();
    assert!(
        matches!(&doc.records[0].value, Value::String(Cow::Owned(s)) if s == "Open \"Mobile\" Alliance é")
    );
    assert!(matches!(
        &doc.records[1].value,
        Value::String(Cow::Borrowed("plain"))
    ));
    // The writer escapes only what JSON requires; non-ASCII stays UTF-8.
    assert_eq!(
        doc.encode_to_vec().unwrap(),
        r#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open \"Mobile\" Alliance é"},{"n":"1","sv":"plain"}]}"#.as_bytes()
    );
    let owned: Document<'static> = doc.clone().into_owned();
    assert_eq!(owned, doc);
}

#[test]
fn name_helpers() {
    assert_eq!(full_name(Some("/"), Some("65/0/0/0")), "/65/0/0/0");
    assert_eq!(
        resolve_name(Some("/"), Some("65/0/0/0")).unwrap().ids(),
        &[65, 0, 0, 0]
    );
    // Without bn, n is the full path.
    let doc = Document::decode(br#"{"e":[{"n":"/3/0/1","sv":"x"}]}"#).unwrap();
    assert_eq!(doc.path(0).unwrap().ids(), &[3, 0, 1]);
    assert_eq!(doc.path(1), Err(JsonError::NoSuchEntry { entry: 1 }));
}
