//! Fuzz target for the TLV reader, value decoders and writer.
//!
//! Walks every record at every level, decodes every value as every primitive type, and checks
//! that each value that decodes re-encodes to something that decodes to the same value. A
//! structurally valid payload is also rebuilt record by record with the writer and read back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lwm2m_codec::tlv::{self, records, validate, value, Kind, Record, Records, TlvWriter};

fn check_values(r: &Record<'_>) {
    if let Ok(v) = r.as_integer() {
        assert_eq!(
            value::decode_integer(value::encode_integer(v).as_slice()),
            Ok(v)
        );
    }
    if let Ok(v) = r.as_time() {
        assert_eq!(
            value::decode_time(value::encode_integer(v).as_slice()),
            Ok(v)
        );
    }
    if let Ok(v) = r.as_float() {
        let back = value::decode_float(value::encode_float(v).as_slice()).unwrap();
        assert_eq!(back.to_bits(), v.to_bits());
    }
    if let Ok(v) = r.as_bool() {
        assert_eq!(value::decode_bool(value::encode_bool(v).as_slice()), Ok(v));
    }
    if let Ok((o, i)) = r.as_objlnk() {
        assert_eq!(
            value::decode_objlnk(value::encode_objlnk(o, i).as_slice()),
            Ok((o, i))
        );
    }
    if let Ok(s) = r.as_str() {
        let bytes = tlv::to_vec(|w| w.string(r.id, s)).unwrap();
        assert_eq!(records(&bytes).next().unwrap().unwrap().as_str(), Ok(s));
    }
    let _ = r.as_opaque();
}

/// Walks and checks everything; returns whether every record at every level parsed.
fn walk(iter: Records<'_>, len: usize) -> bool {
    let mut ok = true;
    for r in iter {
        match r {
            Ok(r) => {
                assert!(r.value_offset + r.value.len() <= len);
                check_values(&r);
                if let Some(children) = r.children() {
                    ok &= walk(children, len);
                }
            }
            Err(e) => {
                assert!(e.offset() <= len);
                ok = false;
            }
        }
    }
    ok
}

/// Rewrites a valid payload with the writer (shortest forms, same structure).
fn rewrite(w: &mut TlvWriter<'_, Vec<u8>>, iter: Records<'_>) -> Result<(), tlv::EncodeError> {
    for r in iter {
        let r = r.expect("validated");
        match r.kind {
            Kind::ObjectInstance => {
                w.object_instance(r.id, |w| rewrite(w, r.children().expect("container")))?
            }
            Kind::MultipleResource => {
                w.multiple_resource(r.id, |w| rewrite(w, r.children().expect("container")))?
            }
            Kind::Resource | Kind::ResourceInstance => w.opaque(r.id, r.value)?,
        }
    }
    Ok(())
}

/// The (kind, id, data) leaves of a valid payload, in order, for comparing two encodings.
fn leaves<'a>(iter: Records<'a>, out: &mut Vec<(Kind, u16, &'a [u8])>) {
    for r in iter {
        let r = r.expect("validated");
        out.push((
            r.kind,
            r.id,
            if r.kind.is_container() { &[] } else { r.value },
        ));
        if let Some(children) = r.children() {
            leaves(children, out);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let ok = walk(records(data), data.len());
    assert_eq!(validate(data).is_ok(), ok);
    if ok {
        let rewritten = tlv::to_vec(|w| rewrite(w, records(data))).unwrap();
        assert!(rewritten.len() <= data.len());
        assert_eq!(validate(&rewritten), Ok(()));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        leaves(records(data), &mut a);
        leaves(records(&rewritten), &mut b);
        assert_eq!(a, b);
    }
});
