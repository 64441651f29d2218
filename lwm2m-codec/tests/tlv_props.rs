//! Property tests of the TLV codec: every primitive and every record shape survives
//! encode → decode, the encoder is minimal, non-minimal forms decode, and no input panics.

use lwm2m_codec::tlv::{self, records, validate, value, Kind, Records, TlvError, TlvWriter};
use proptest::prelude::*;

/// A payload tree the way the TS allows it: top-level object instances, resources and
/// multiple resources; object instances hold resources and multiple resources.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Resource(u16, Vec<u8>),
    Multiple(u16, Vec<(u16, Vec<u8>)>),
    Instance(u16, Vec<Item>),
}

fn id() -> impl Strategy<Value = u16> {
    prop_oneof![0u16..=255, any::<u16>()]
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..=8),
        2 => proptest::collection::vec(any::<u8>(), 0..=300),
        1 => (250usize..=70_000).prop_map(|n| vec![0xA5; n]),
    ]
}

fn resource_item() -> impl Strategy<Value = Item> {
    prop_oneof![
        (id(), data()).prop_map(|(i, d)| Item::Resource(i, d)),
        (
            id(),
            proptest::collection::vec((id(), proptest::collection::vec(any::<u8>(), 0..=20)), 0..5)
        )
            .prop_map(|(i, c)| Item::Multiple(i, c)),
    ]
}

fn top_item() -> impl Strategy<Value = Item> {
    prop_oneof![
        2 => resource_item(),
        1 => (id(), proptest::collection::vec(resource_item(), 0..4))
            .prop_map(|(i, c)| Item::Instance(i, c)),
    ]
}

fn payload() -> impl Strategy<Value = Vec<Item>> {
    proptest::collection::vec(top_item(), 0..5)
}

fn write_items<B: bytes::BufMut>(
    w: &mut TlvWriter<'_, B>,
    items: &[Item],
) -> Result<(), tlv::EncodeError> {
    for item in items {
        match item {
            Item::Resource(i, d) => w.opaque(*i, d)?,
            Item::Multiple(i, c) => w.multiple_resource(*i, |w| {
                for (ri, d) in c {
                    w.opaque(*ri, d)?;
                }
                Ok(())
            })?,
            Item::Instance(i, c) => w.object_instance(*i, |w| write_items(w, c))?,
        }
    }
    Ok(())
}

fn read_items(iter: Records<'_>) -> Result<Vec<Item>, TlvError> {
    let mut out = Vec::new();
    for r in iter {
        let r = r?;
        out.push(match r.kind {
            Kind::Resource => Item::Resource(r.id, r.as_opaque()?.to_vec()),
            Kind::MultipleResource => {
                let mut c = Vec::new();
                for ri in r.children().unwrap() {
                    let ri = ri?;
                    assert_eq!(ri.kind, Kind::ResourceInstance);
                    c.push((ri.id, ri.value.to_vec()));
                }
                Item::Multiple(r.id, c)
            }
            Kind::ObjectInstance => Item::Instance(r.id, read_items(r.children().unwrap())?),
            Kind::ResourceInstance => unreachable!("rejected at the top level"),
        });
    }
    Ok(out)
}

/// The minimal header size for a record, computed independently of the writer.
fn header_len(id: u16, len: usize) -> usize {
    1 + if id > 255 { 2 } else { 1 }
        + match len {
            0..=7 => 0,
            8..=0xFF => 1,
            0x100..=0xFFFF => 2,
            _ => 3,
        }
}

fn encoded_len(items: &[Item]) -> usize {
    items
        .iter()
        .map(|item| {
            let (i, content) = match item {
                Item::Resource(i, d) => (*i, d.len()),
                Item::Multiple(i, c) => (
                    *i,
                    c.iter()
                        .map(|(ri, d)| header_len(*ri, d.len()) + d.len())
                        .sum(),
                ),
                Item::Instance(i, c) => (*i, encoded_len(c)),
            };
            header_len(i, content) + content
        })
        .sum()
}

/// Writes one resource record with an explicit header form: identifier width and length-field
/// size (0 = inline), for checking that decoders accept non-minimal forms.
fn resource_with_form(id: u16, wide_id: bool, length_size: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![0xC0 | if wide_id { 0x20 } else { 0 } | (length_size << 3)];
    if length_size == 0 {
        out[0] |= value.len() as u8;
    }
    if wide_id {
        out.extend_from_slice(&id.to_be_bytes());
    } else {
        out.push(id as u8);
    }
    let len = (value.len() as u32).to_be_bytes();
    out.extend_from_slice(&len[4 - usize::from(length_size)..]);
    out.extend_from_slice(value);
    out
}

/// Every decoder on every value of every record, recursively; must never panic. Returns whether
/// the structure walk saw an error.
fn walk_everything(iter: Records<'_>, len: usize) -> bool {
    let mut failed = false;
    for r in iter {
        match r {
            Ok(r) => {
                assert!(r.value_offset + r.value.len() <= len);
                let _ = (r.as_integer(), r.as_time(), r.as_float(), r.as_bool());
                let _ = (r.as_objlnk(), r.as_str(), r.as_opaque());
                if let Some(children) = r.children() {
                    failed |= walk_everything(children, len);
                }
            }
            Err(e) => {
                assert!(e.offset() <= len, "{e:?} beyond {len}");
                failed = true;
            }
        }
    }
    failed
}

proptest! {
    #[test]
    fn integers_round_trip_in_the_shortest_form(id in id(), v in any::<i64>()) {
        let bytes = tlv::to_vec(|w| w.integer(id, v)).unwrap();
        let r = records(&bytes).next().unwrap().unwrap();
        prop_assert_eq!(r.as_integer(), Ok(v));
        let shortest = [1usize, 2, 4, 8].into_iter().find(|&n| {
            n == 8 || (v >= -(1i64 << (8 * n - 1)) && v < (1i64 << (8 * n - 1)))
        }).unwrap();
        prop_assert_eq!(r.value.len(), shortest);
        prop_assert_eq!(bytes.len(), header_len(id, shortest) + shortest);
    }

    #[test]
    fn times_round_trip(id in id(), v in any::<i64>()) {
        let bytes = tlv::to_vec(|w| w.time(id, v)).unwrap();
        prop_assert_eq!(records(&bytes).next().unwrap().unwrap().as_time(), Ok(v));
    }

    #[test]
    fn floats_round_trip_bit_for_bit(id in id(), bits in any::<u64>()) {
        let v = f64::from_bits(bits);
        let bytes = tlv::to_vec(|w| w.float(id, v)).unwrap();
        let r = records(&bytes).next().unwrap().unwrap();
        prop_assert_eq!(r.as_float().unwrap().to_bits(), bits);
        let exact_in_f32 = !v.is_nan() && f64::from(v as f32).to_bits() == bits;
        prop_assert_eq!(r.value.len(), if exact_in_f32 { 4 } else { 8 });
    }

    #[test]
    fn binary32_floats_take_four_bytes(id in id(), bits in any::<u32>()) {
        let v = f32::from_bits(bits);
        prop_assume!(!v.is_nan());
        let bytes = tlv::to_vec(|w| w.float(id, f64::from(v))).unwrap();
        let r = records(&bytes).next().unwrap().unwrap();
        prop_assert_eq!(r.value, &bits.to_be_bytes()[..]);
    }

    #[test]
    fn booleans_objlnks_strings_opaques_round_trip(
        id in id(), b in any::<bool>(), o in any::<u16>(), i in any::<u16>(),
        s in ".{0,40}", d in data(),
    ) {
        let bytes = tlv::to_vec(|w| {
            w.boolean(id, b)?;
            w.objlnk(id, o, i)?;
            w.string(id, &s)?;
            w.opaque(id, &d)
        }).unwrap();
        let recs: Vec<_> = records(&bytes).map(Result::unwrap).collect();
        prop_assert_eq!(recs.len(), 4);
        prop_assert_eq!(recs[0].as_bool(), Ok(b));
        prop_assert_eq!(recs[1].as_objlnk(), Ok((o, i)));
        prop_assert_eq!(recs[2].as_str(), Ok(s.as_str()));
        prop_assert_eq!(recs[3].as_opaque(), Ok(d.as_slice()));
        prop_assert!(recs.iter().all(|r| r.id == id && r.kind == Kind::Resource));
    }

    #[test]
    fn payload_trees_round_trip_minimally(items in payload()) {
        let bytes = tlv::to_vec(|w| write_items(w, &items)).unwrap();
        prop_assert_eq!(bytes.len(), encoded_len(&items));
        prop_assert_eq!(validate(&bytes), Ok(()));
        prop_assert_eq!(read_items(records(&bytes)), Ok(items));
    }

    #[test]
    fn every_cut_of_a_single_record_is_rejected(item in top_item(), cut in any::<prop::sample::Index>()) {
        let bytes = tlv::to_vec(|w| write_items(w, std::slice::from_ref(&item))).unwrap();
        let cut = cut.index(bytes.len());
        prop_assert!(validate(&bytes[..cut]).is_err() || cut == 0);
    }

    #[test]
    fn non_minimal_integers_decode(v in any::<i64>(), width in prop::sample::select(vec![1usize, 2, 4, 8])) {
        let full = v.to_be_bytes();
        let shortest = value::integer_len(v);
        prop_assume!(width >= shortest);
        let bytes = &full[8 - width..];
        prop_assert_eq!(value::decode_integer(bytes), Ok(v));
        prop_assert_eq!(value::decode_time(bytes), Ok(v));
    }

    #[test]
    fn non_minimal_headers_decode(
        id in id(), d in proptest::collection::vec(any::<u8>(), 0..=300),
        wide in any::<bool>(), size in 0u8..=3,
    ) {
        let wide = wide || id > 255;
        let fits = match size { 0 => d.len() <= 7, 1 => d.len() <= 255, _ => true };
        prop_assume!(fits);
        let bytes = resource_with_form(id, wide, size, &d);
        let r = records(&bytes).next().unwrap().unwrap();
        prop_assert_eq!((r.kind, r.id, r.value), (Kind::Resource, id, d.as_slice()));
        prop_assert_eq!(validate(&bytes), Ok(()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let failed = walk_everything(records(&bytes), bytes.len());
        prop_assert_eq!(validate(&bytes).is_err(), failed);
        for v in [&bytes[..], &bytes[..bytes.len().min(8)]] {
            let _ = (value::decode_integer(v), value::decode_float(v), value::decode_bool(v));
            let _ = (value::decode_objlnk(v), value::decode_string(v), value::decode_time(v));
        }
    }

    #[test]
    fn structured_garbage_never_panics(
        items in payload(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = tlv::to_vec(|w| write_items(w, &items)).unwrap();
        prop_assume!(!bytes.is_empty());
        for (at, b) in flips {
            let at = at.index(bytes.len());
            bytes[at] = b;
        }
        let failed = walk_everything(records(&bytes), bytes.len());
        prop_assert_eq!(validate(&bytes).is_err(), failed);
    }
}
