//! Property tests of the LwM2M JSON reader and writer.

use std::borrow::Cow;

use lwm2m_codec::json::{resolve_name, Document, Number, Objlnk, Record, Value};
use proptest::prelude::*;

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::Integer),
        // Small integers are the common case and worth their own weight.
        (-1000_i64..1000).prop_map(Number::Integer),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Number::Float),
        (-1000.0_f64..1000.0).prop_map(Number::Float),
    ]
}

fn value() -> impl Strategy<Value = Value<'static>> {
    prop_oneof![
        number().prop_map(Value::Number),
        any::<String>().prop_map(|s| Value::String(Cow::Owned(s))),
        any::<bool>().prop_map(Value::Boolean),
        any::<(u16, u16)>().prop_map(|l| Value::Objlnk(Objlnk::from(l))),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{1,5}(/[0-9]{1,5}){0,3}", any::<String>(),]
}

fn record() -> impl Strategy<Value = Record<'static>> {
    (
        proptest::option::of(name()),
        value(),
        proptest::option::of(number()),
    )
        .prop_map(|(name, value, time)| Record {
            name: name.map(Cow::Owned),
            value,
            time,
        })
}

fn document() -> impl Strategy<Value = Document<'static>> {
    (
        proptest::option::of(prop_oneof!["/[0-9]{1,5}/([0-9]{1,5}/)?", any::<String>()]),
        proptest::option::of(number()),
        proptest::collection::vec(record(), 0..12),
    )
        .prop_map(|(base_name, base_time, records)| Document {
            base_name: base_name.map(Cow::Owned),
            base_time,
            records,
        })
}

/// Numbers compare by bits so that -0.0 and 0.0 are told apart.
fn same_numbers(a: &Document<'_>, b: &Document<'_>) -> bool {
    fn bits(n: Option<Number>) -> Option<(bool, u64)> {
        n.map(|n| match n {
            Number::Integer(i) => (true, i as u64),
            Number::Float(f) => (false, f.to_bits()),
        })
    }
    bits(a.base_time) == bits(b.base_time)
        && a.records.iter().zip(&b.records).all(|(x, y)| {
            bits(x.time) == bits(y.time)
                && match (&x.value, &y.value) {
                    (Value::Number(p), Value::Number(q)) => bits(Some(*p)) == bits(Some(*q)),
                    _ => true,
                }
        })
}

proptest! {
    #[test]
    fn decode_inverts_encode(doc in document()) {
        let bytes = doc.encode_to_vec().unwrap();
        let back = Document::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &doc);
        prop_assert!(same_numbers(&back, &doc));
        // Encoding is deterministic: the decoded document writes the same bytes.
        prop_assert_eq!(back.encode_to_vec().unwrap(), bytes);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Document::decode(&bytes);
    }

    #[test]
    fn decoding_json_like_text_never_panics_and_reencodes_stably(
        pieces in proptest::collection::vec(
            prop::sample::select(&[
                "{", "}", "[", "]", ",", ":", " ", "\"e\":", "\"bn\":\"/3/0/\"", "\"bt\":10",
                "\"n\":\"1\"", "\"v\":1", "\"v\":-2.5e3", "\"sv\":\"x\"", "\"sv\":\"\\u00e9\\n\"",
                "\"bv\":true", "\"ov\":\"1:2\"", "\"t\":-5", "\"x\":null", "\"", "\\", "0", "\u{e9}",
            ][..]),
            0..24,
        )
    ) {
        let text = pieces.concat();
        if let Ok(doc) = Document::decode(text.as_bytes()) {
            let bytes = doc.encode_to_vec().unwrap();
            prop_assert_eq!(Document::decode(&bytes).unwrap(), doc);
        }
    }

    #[test]
    fn decoding_mutated_documents_never_panics(
        doc in document(),
        cut in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = doc.encode_to_vec().unwrap();
        if !bytes.is_empty() {
            let i = cut.index(bytes.len());
            bytes[i] = byte;
            let _ = Document::decode(&bytes);
            bytes.truncate(i);
            prop_assert!(Document::decode(&bytes).is_err());
        }
    }

    #[test]
    fn any_split_of_a_path_resolves_to_its_ids(ids in proptest::collection::vec(any::<u16>(), 1..=4), cut in any::<prop::sample::Index>()) {
        let full = ids.iter().fold(String::new(), |mut s, id| {
            s.push('/');
            s.push_str(&id.to_string());
            s
        });
        let (bn, n) = full.split_at(cut.index(full.len() + 1));
        let path = resolve_name(Some(bn), Some(n)).unwrap();
        prop_assert_eq!(path.ids(), &ids[..]);
    }

    #[test]
    fn objlnk_text_round_trips(object in any::<u16>(), instance in any::<u16>()) {
        let link = Objlnk::new(object, instance);
        prop_assert_eq!(Objlnk::parse(&link.to_string()), Ok(link));
    }
}
