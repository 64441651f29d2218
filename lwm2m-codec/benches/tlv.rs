//! TLV and plain-text benchmarks on the TS Device instance (test-vectors.md §1.1, 121 bytes).
//!
//! - `tlv/walk_device_instance`: iterate every record, descend into the multiple resources and
//!   decode each value as its Device-object type (strings borrowed, UTF-8 checked).
//! - `tlv/encode_device_instance`: write the same 121 bytes from plain variables, into a reused
//!   `Vec` (cleared each time) and into a stack array.
//! - `text/*`: parse and format an Integer and a Float.

use criterion::{black_box, criterion_main, Criterion, Throughput};
use lwm2m_codec::text;
use lwm2m_codec::tlv::{self, records, EncodeError, Kind, TlvWriter};

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

/// The Device instance's values, held the way an application would hold them.
struct Device {
    manufacturer: &'static str,
    model: &'static str,
    serial: &'static str,
    firmware: &'static str,
    power_sources: [i64; 2],
    voltages: [i64; 2],
    currents: [i64; 2],
    battery: i64,
    memory_free: i64,
    error_codes: [i64; 1],
    time: i64,
    utc_offset: &'static str,
    binding: &'static str,
}

const DEVICE: Device = Device {
    manufacturer: "Open Mobile Alliance",
    model: "Lightweight M2M Client",
    serial: "345000123",
    firmware: "1.0",
    power_sources: [1, 5],
    voltages: [3800, 5000],
    currents: [125, 900],
    battery: 100,
    memory_free: 15,
    error_codes: [0],
    time: 1_367_491_215,
    utc_offset: "+02:00",
    binding: "U",
};

fn instances<B: bytes::BufMut>(
    w: &mut TlvWriter<'_, B>,
    values: &[i64],
) -> Result<(), EncodeError> {
    for (i, v) in (0u16..).zip(values) {
        w.integer(i, *v)?;
    }
    Ok(())
}

fn write_device<B: bytes::BufMut>(w: &mut TlvWriter<'_, B>, d: &Device) -> Result<(), EncodeError> {
    w.string(0, d.manufacturer)?;
    w.string(1, d.model)?;
    w.string(2, d.serial)?;
    w.string(3, d.firmware)?;
    w.multiple_resource(6, |w| instances(w, &d.power_sources))?;
    w.multiple_resource(7, |w| instances(w, &d.voltages))?;
    w.multiple_resource(8, |w| instances(w, &d.currents))?;
    w.integer(9, d.battery)?;
    w.integer(10, d.memory_free)?;
    w.multiple_resource(11, |w| instances(w, &d.error_codes))?;
    w.time(13, d.time)?;
    w.string(14, d.utc_offset)?;
    w.string(16, d.binding)
}

/// Decodes every value of the Device instance; returns a checksum.
fn walk(payload: &[u8]) -> Result<u64, tlv::TlvError> {
    let mut sum = 0u64;
    for record in records(payload) {
        let record = record?;
        match (record.kind, record.id) {
            (Kind::Resource, 0..=3 | 14 | 16) => sum += record.as_str()?.len() as u64,
            (Kind::Resource, 13) => sum = sum.wrapping_add(record.as_time()? as u64),
            (Kind::MultipleResource, _) => {
                for instance in record.children().into_iter().flatten() {
                    sum = sum.wrapping_add(instance?.as_integer()? as u64);
                }
            }
            _ => sum = sum.wrapping_add(record.as_integer()? as u64),
        }
    }
    Ok(sum)
}

fn tlv_benches(c: &mut Criterion) {
    // Fail loudly rather than benchmark the wrong thing.
    let mut check = Vec::new();
    write_device(&mut TlvWriter::new(&mut check), &DEVICE).expect("encodes");
    assert_eq!(check, DEVICE_INSTANCE);
    assert!(walk(&DEVICE_INSTANCE).is_ok());

    let mut group = c.benchmark_group("tlv");
    group.throughput(Throughput::Bytes(DEVICE_INSTANCE.len() as u64));
    group.bench_function("walk_device_instance", |b| {
        b.iter(|| walk(black_box(&DEVICE_INSTANCE)));
    });
    group.bench_function("validate_device_instance", |b| {
        b.iter(|| tlv::validate(black_box(&DEVICE_INSTANCE)));
    });
    let mut out = Vec::with_capacity(256);
    group.bench_function("encode_device_instance", |b| {
        b.iter(|| {
            out.clear();
            write_device(&mut TlvWriter::new(&mut out), black_box(&DEVICE)).map(|()| out.len())
        });
    });
    group.bench_function("encode_device_instance_to_array", |b| {
        b.iter(|| {
            let mut storage = [0u8; 121];
            let mut slice: &mut [u8] = &mut storage;
            write_device(&mut TlvWriter::new(&mut slice), black_box(&DEVICE))?;
            Ok::<_, EncodeError>(storage)
        });
    });
    group.finish();
}

fn text_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("text");
    group.bench_function("parse_integer", |b| {
        b.iter(|| text::parse_integer(black_box(b"-1476186613")));
    });
    group.bench_function("parse_float", |b| {
        b.iter(|| text::parse_float(black_box(b"0.00000000006667")));
    });
    let mut s = String::with_capacity(64);
    group.bench_function("format_integer", |b| {
        b.iter(|| {
            s.clear();
            text::write_integer(&mut s, black_box(-1_476_186_613)).map(|()| s.len())
        });
    });
    group.bench_function("format_float", |b| {
        b.iter(|| {
            s.clear();
            text::write_float(&mut s, black_box(6.667e-11)).map(|()| s.len())
        });
    });
    group.finish();
}

// In a private module: `criterion_group!` defines an undocumented `pub fn`.
mod groups {
    criterion::criterion_group!(benches, super::tlv_benches, super::text_benches);
}
criterion_main!(groups::benches);
