//! Fuzz target for the LwM2M JSON reader: decode, walk every entry, and when decoding succeeds
//! re-encode, decode again and compare.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lwm2m_codec::json::{Document, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Document::decode(data) else {
        return;
    };
    for (index, item) in doc.paths().enumerate() {
        let _ = doc.full_name(index);
        let _ = doc.time(index);
        if let Ok((path, record)) = item {
            assert!((1..=4).contains(&path.depth()));
            match &record.value {
                Value::Number(n) => {
                    let _ = (n.as_i64(), n.as_f64());
                }
                Value::String(s) => assert!(s.len() <= data.len()),
                Value::Boolean(_) | Value::Objlnk(_) => {}
            }
        }
    }
    let bytes = doc.encode_to_vec().expect("a decoded document is always writable");
    let again = Document::decode(&bytes).expect("the writer's output decodes");
    assert_eq!(again, doc);
    assert_eq!(again.encode_to_vec().expect("writable"), bytes);
});
