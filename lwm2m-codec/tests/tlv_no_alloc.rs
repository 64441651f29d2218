//! The TLV reader, the primitive decoders and the writer into a fixed buffer allocate nothing
//! (allocation-counter installs a counting global allocator in this test binary).

use lwm2m_codec::text;
use lwm2m_codec::tlv::{self, records, validate, Kind, TlvWriter};
use std::hint::black_box;

const DEVICE_INSTANCE: [u8; 121] = [
    0xC8, 0x00, 0x14, 0x4F, 0x70, 0x65, 0x6E, 0x20, 0x4D, 0x6F, 0x62, 0x69, 0x6C, 0x65, 0x20, 0x41,
    0x6C, 0x6C, 0x69, 0x61, 0x6E, 0x63, 0x65, 0xC8, 0x01, 0x16, 0x4C, 0x69, 0x67, 0x68, 0x74, 0x77,
    0x65, 0x69, 0x67, 0x68, 0x74, 0x20, 0x4D, 0x32, 0x4D, 0x20, 0x43, 0x6C, 0x69, 0x65, 0x6E, 0x74,
    0xC8, 0x02, 0x09, 0x33, 0x34, 0x35, 0x30, 0x30, 0x30, 0x31, 0x32, 0x33, 0xC3, 0x03, 0x31, 0x2E,
    0x30, 0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05, 0x88, 0x07, 0x08, 0x42, 0x00, 0x0E, 0xD8,
    0x42, 0x01, 0x13, 0x88, 0x87, 0x08, 0x41, 0x00, 0x7D, 0x42, 0x01, 0x03, 0x84, 0xC1, 0x09, 0x64,
    0xC1, 0x0A, 0x0F, 0x83, 0x0B, 0x41, 0x00, 0x00, 0xC4, 0x0D, 0x51, 0x82, 0x42, 0x8F, 0xC6, 0x0E,
    0x2B, 0x30, 0x32, 0x3A, 0x30, 0x30, 0xC1, 0x10, 0x55,
];

/// Walks every record, descends into the multiple resources and decodes each value as its
/// Device-object type, plus every other primitive decoder on every value. Returns a checksum so
/// the work cannot be optimised away, and counts to prove the walk really happened.
fn walk(payload: &[u8]) -> (u64, usize, usize) {
    let mut sum = 0u64;
    let mut records_seen = 0;
    let mut strings = 0;
    for record in records(payload) {
        let record = record.expect("valid vector");
        records_seen += 1;
        match (record.kind, record.id) {
            (Kind::Resource, 0..=3 | 14 | 16) => {
                let s = record.as_str().expect("string");
                sum += s.len() as u64;
                strings += 1;
            }
            (Kind::Resource, 13) => sum = sum.wrapping_add(record.as_time().unwrap() as u64),
            (Kind::Resource, _) => sum = sum.wrapping_add(record.as_integer().unwrap() as u64),
            (Kind::MultipleResource, _) => {
                for instance in record.children().unwrap() {
                    let instance = instance.expect("valid vector");
                    records_seen += 1;
                    sum = sum.wrapping_add(instance.as_integer().unwrap() as u64);
                    sum = sum.wrapping_add(u64::from(instance.value_offset as u32));
                }
            }
            _ => unreachable!(),
        }
        // Every decoder, whatever the outcome (errors carry no heap data either).
        let _ = black_box(record.as_float());
        let _ = black_box(record.as_bool());
        let _ = black_box(record.as_objlnk());
        let _ = black_box(record.as_opaque());
        let _ = black_box(record.as_integer());
        let _ = black_box(record.as_str());
    }
    (sum, records_seen, strings)
}

#[test]
fn the_counter_is_live() {
    let info = allocation_counter::measure(|| {
        black_box(vec![1u8]);
    });
    assert_eq!(info.count_total, 1);
}

#[test]
fn walking_the_device_instance_allocates_nothing() {
    let mut result = (0, 0, 0);
    let info = allocation_counter::measure(|| {
        result = walk(black_box(&DEVICE_INSTANCE));
        assert_eq!(validate(black_box(&DEVICE_INSTANCE)), Ok(()));
    });
    assert_eq!(info.count_total, 0, "{info:?}");
    // 13 top-level records + 7 resource instances; 6 of them strings.
    assert_eq!((result.1, result.2), (20, 6));
    // Sanity: the checksum reflects decoded values (100 + 15 + the time are among them).
    assert!(result.0 > 1_367_491_215);
}

#[test]
fn errors_allocate_nothing() {
    let info = allocation_counter::measure(|| {
        for bad in [
            &[0x86, 0x02, 0x41, 0x7F, 0x07, 0x61, 0x01, 0x36, 0x01][..],
            &[0xC5, 0x05, 0x01, 0x02],
            &[0xC8, 0x05],
            &[0x41, 0x00, 0x01],
        ] {
            assert!(validate(black_box(bad)).is_err());
        }
        let r = records(&[0xC3, 0x05, 0x00, 0x00, 0x01])
            .next()
            .unwrap()
            .unwrap();
        assert!(r.as_integer().is_err());
        assert!(r.as_float().is_err());
        assert!(r.as_objlnk().is_err());
    });
    assert_eq!(info.count_total, 0, "{info:?}");
}

#[test]
fn writing_into_a_fixed_buffer_allocates_nothing() {
    let mut storage = [0u8; 121];
    let info = allocation_counter::measure(|| {
        let mut out: &mut [u8] = &mut storage;
        let mut w = TlvWriter::new(&mut out);
        let write = |w: &mut TlvWriter<'_, &mut [u8]>| -> Result<(), tlv::EncodeError> {
            w.string(0, "Open Mobile Alliance")?;
            w.string(1, "Lightweight M2M Client")?;
            w.string(2, "345000123")?;
            w.string(3, "1.0")?;
            w.multiple_resource(6, |w| {
                w.integer(0, 1)?;
                w.integer(1, 5)
            })?;
            w.multiple_resource(7, |w| {
                w.integer(0, 3800)?;
                w.integer(1, 5000)
            })?;
            w.multiple_resource(8, |w| {
                w.integer(0, 125)?;
                w.integer(1, 900)
            })?;
            w.integer(9, 100)?;
            w.integer(10, 15)?;
            w.multiple_resource(11, |w| w.integer(0, 0))?;
            w.time(13, 1_367_491_215)?;
            w.string(14, "+02:00")?;
            w.string(16, "U")
        };
        write(&mut w).unwrap();
        assert_eq!(w.bytes_written(), 121);
    });
    assert_eq!(info.count_total, 0, "{info:?}");
    assert_eq!(storage, DEVICE_INSTANCE);
}

#[test]
fn text_parsers_allocate_nothing() {
    let mut opaque = [0u8; 16];
    let info = allocation_counter::measure(|| {
        assert_eq!(text::parse_integer(black_box(b"-750")), Ok(-750));
        assert_eq!(text::parse_float(black_box(b"6.667e-11")), Ok(6.667e-11));
        assert_eq!(text::parse_bool(black_box(b"1")), Ok(true));
        assert_eq!(text::parse_objlnk(black_box(b"3:0")), Ok((3, 0)));
        assert_eq!(text::parse_string(black_box(b"U")), Ok("U"));
        assert_eq!(
            text::parse_opaque_into(black_box(b"AQIDBAU="), &mut opaque),
            Ok(5)
        );
        assert!(text::parse_integer(black_box(b"1.5")).is_err());
    });
    assert_eq!(info.count_total, 0, "{info:?}");
}
