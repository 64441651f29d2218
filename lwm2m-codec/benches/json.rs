//! LwM2M JSON and link-format benchmarks.
//!
//! The JSON input is the 390-byte Read /3/0 document of the test-vector set (section 3); Wakaama's
//! C decoder takes 1342 ns for it. The link-format input is a typical Register payload.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lwm2m_codec::json::{Document, Number, Value, Writer};
use lwm2m_codec::link::{Entry, LinkFormat};

const DEVICE: &[u8] = br#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},{"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]}"#;

const REGISTER: &[u8] = br#"</lwm2m>;rt="oma.lwm2m";ct=11543,</lwm2m/1/0>,</lwm2m/1/1>,</lwm2m/2/0>,</lwm2m/2/1>,</lwm2m/2/2>,</lwm2m/2/3>,</lwm2m/2/4>,</lwm2m/3/0>,</lwm2m/4/0>,</lwm2m/5>,</lwm2m/3303>;ver="1.1",</lwm2m/3303/0>"#;

/// The plain values of the Device instance, as an object implementation would hand them out.
const STRINGS: [(&str, &str); 6] = [
    ("0", "Open Mobile Alliance"),
    ("1", "Lightweight M2M Client"),
    ("2", "345000123"),
    ("3", "1.0"),
    ("14", "+02:00"),
    ("16", "U"),
];
const INTEGERS: [(&str, i64); 10] = [
    ("6/0", 1),
    ("6/1", 5),
    ("7/0", 3800),
    ("7/1", 5000),
    ("8/0", 125),
    ("8/1", 900),
    ("9", 100),
    ("10", 15),
    ("11/0", 0),
    ("13", 1_367_491_215),
];

fn encode_device(out: &mut Vec<u8>) {
    let mut w = Writer::new(out, Some("/3/0/"), None).unwrap();
    for (name, text) in &STRINGS[..4] {
        w.record(Some(name), &Value::from(*text), None).unwrap();
    }
    for (name, n) in INTEGERS {
        w.record(Some(name), &Value::Number(Number::Integer(n)), None)
            .unwrap();
    }
    for (name, text) in &STRINGS[4..] {
        w.record(Some(name), &Value::from(*text), None).unwrap();
    }
    w.finish().unwrap();
}

fn json(c: &mut Criterion) {
    let mut out = Vec::with_capacity(512);
    encode_device(&mut out);
    assert_eq!(out, DEVICE, "the bench must write the vector");

    let mut group = c.benchmark_group("json");
    group.throughput(Throughput::Bytes(DEVICE.len() as u64));
    group.bench_function("decode_device_instance", |b| {
        b.iter(|| {
            let doc = Document::decode(black_box(DEVICE)).unwrap();
            let mut sum = 0_usize;
            for (path, record) in doc.paths().map(Result::unwrap) {
                sum += path.depth();
                match &record.value {
                    Value::Number(n) => sum += n.as_i64().unwrap_or(0) as usize,
                    Value::String(s) => sum += s.len(),
                    Value::Boolean(b) => sum += usize::from(*b),
                    Value::Objlnk(l) => sum += usize::from(l.object),
                }
            }
            black_box(sum)
        });
    });
    group.bench_function("encode_device_instance", |b| {
        b.iter(|| {
            out.clear();
            encode_device(black_box(&mut out));
            black_box(out.len())
        });
    });
    group.finish();

    let mut group = c.benchmark_group("link");
    group.throughput(Throughput::Bytes(REGISTER.len() as u64));
    group.bench_function("parse_register_payload", |b| {
        b.iter(|| {
            let links = LinkFormat::parse(black_box(REGISTER)).unwrap();
            let mut sum = 0_usize;
            for entry in links.entries() {
                if let Entry::Link(link) = entry {
                    sum += link.segments().count();
                    for attribute in link.attributes() {
                        sum += attribute.name.len();
                    }
                }
            }
            black_box(sum)
        });
    });
    group.finish();
}

criterion_group!(benches, json);
criterion_main!(benches);
