//! Content-format benchmarks on the Device instance of the TS example (test-vectors §1.1 and §3):
//! decode into the typed `Device` and encode it back, in TLV (121 bytes) and JSON (390 bytes),
//! through the typed fast path and through the `Node` tree.
//!
//! `cargo bench -p lwm2m-model --bench content`
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lwm2m_model::content::{self, ContentFormat};
use lwm2m_model::Path;
use lwm2m_objects::{core_registry, Device};

const DEVICE_TLV: [u8; 121] = [
    0xC8, 0x00, 0x14, 0x4F, 0x70, 0x65, 0x6E, 0x20, 0x4D, 0x6F, 0x62, 0x69, 0x6C, 0x65, 0x20, 0x41,
    0x6C, 0x6C, 0x69, 0x61, 0x6E, 0x63, 0x65, 0xC8, 0x01, 0x16, 0x4C, 0x69, 0x67, 0x68, 0x74, 0x77,
    0x65, 0x69, 0x67, 0x68, 0x74, 0x20, 0x4D, 0x32, 0x4D, 0x20, 0x43, 0x6C, 0x69, 0x65, 0x6E, 0x74,
    0xC8, 0x02, 0x09, 0x33, 0x34, 0x35, 0x30, 0x30, 0x30, 0x31, 0x32, 0x33, 0xC3, 0x03, 0x31, 0x2E,
    0x30, 0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05, 0x88, 0x07, 0x08, 0x42, 0x00, 0x0E, 0xD8,
    0x42, 0x01, 0x13, 0x88, 0x87, 0x08, 0x41, 0x00, 0x7D, 0x42, 0x01, 0x03, 0x84, 0xC1, 0x09, 0x64,
    0xC1, 0x0A, 0x0F, 0x83, 0x0B, 0x41, 0x00, 0x00, 0xC4, 0x0D, 0x51, 0x82, 0x42, 0x8F, 0xC6, 0x0E,
    0x2B, 0x30, 0x32, 0x3A, 0x30, 0x30, 0xC1, 0x10, 0x55,
];

const DEVICE_JSON: &[u8] = br#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},{"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]}"#;

fn typed(c: &mut Criterion) {
    let target = Path::parse("/3/0").unwrap();
    let device: Device = content::decode_typed(ContentFormat::Tlv, &target, &DEVICE_TLV).unwrap();
    let mut group = c.benchmark_group("device typed");

    // A copy of the decoded value: its strings are inline and its multiple resources hold two
    // instances at most, so this allocates nothing (with `String`s and `BTreeMap`s it was 10
    // allocations, more than the whole decode costs now).
    group.bench_function("Device clone + drop", |b| {
        b.iter(|| black_box(&device).clone());
    });
    group.throughput(Throughput::Bytes(DEVICE_TLV.len() as u64));
    group.bench_function("TLV decode → Device", |b| {
        b.iter(|| {
            let d: Device =
                content::decode_typed(ContentFormat::Tlv, &target, black_box(&DEVICE_TLV)).unwrap();
            d
        });
    });
    let mut out = Vec::with_capacity(256);
    group.bench_function("Device → TLV encode (reused buffer)", |b| {
        b.iter(|| {
            out.clear();
            content::encode_typed_into(ContentFormat::Tlv, &target, black_box(&device), &mut out)
                .unwrap();
        });
    });
    group.bench_function("Device → TLV encode (new Vec)", |b| {
        b.iter(|| content::encode_typed(ContentFormat::Tlv, &target, black_box(&device)).unwrap());
    });

    group.throughput(Throughput::Bytes(DEVICE_JSON.len() as u64));
    group.bench_function("JSON decode → Device", |b| {
        b.iter(|| {
            let d: Device =
                content::decode_typed(ContentFormat::Json, &target, black_box(DEVICE_JSON))
                    .unwrap();
            d
        });
    });
    let mut out = Vec::with_capacity(512);
    group.bench_function("Device → JSON encode (reused buffer)", |b| {
        b.iter(|| {
            out.clear();
            content::encode_typed_into(ContentFormat::Json, &target, black_box(&device), &mut out)
                .unwrap();
        });
    });
    group.finish();
}

fn through_nodes(c: &mut Criterion) {
    let target = Path::parse("/3/0").unwrap();
    let registry = core_registry();
    let device: Device = content::decode_typed(ContentFormat::Tlv, &target, &DEVICE_TLV).unwrap();
    let node = device.to_instance_node(0);
    let mut group = c.benchmark_group("device via Node");

    group.throughput(Throughput::Bytes(DEVICE_TLV.len() as u64));
    group.bench_function("TLV decode → Node", |b| {
        b.iter(|| {
            content::decode(
                ContentFormat::Tlv,
                &target,
                black_box(&DEVICE_TLV),
                &registry,
            )
            .unwrap()
        });
    });
    group.bench_function("TLV decode → Node → Device", |b| {
        b.iter(|| {
            let content = content::decode(
                ContentFormat::Tlv,
                &target,
                black_box(&DEVICE_TLV),
                &registry,
            )
            .unwrap();
            Device::from_instance_node(&content.node).unwrap()
        });
    });
    let mut out = Vec::with_capacity(256);
    group.bench_function("Node → TLV encode", |b| {
        b.iter(|| {
            out.clear();
            content::encode_into(
                ContentFormat::Tlv,
                &target,
                black_box(&node),
                &registry,
                &mut out,
            )
            .unwrap();
        });
    });

    group.throughput(Throughput::Bytes(DEVICE_JSON.len() as u64));
    group.bench_function("JSON decode → Node", |b| {
        b.iter(|| {
            content::decode(
                ContentFormat::Json,
                &target,
                black_box(DEVICE_JSON),
                &registry,
            )
            .unwrap()
        });
    });
    let mut out = Vec::with_capacity(512);
    group.bench_function("Node → JSON encode", |b| {
        b.iter(|| {
            out.clear();
            content::encode_into(
                ContentFormat::Json,
                &target,
                black_box(&node),
                &registry,
                &mut out,
            )
            .unwrap();
        });
    });
    group.finish();
}

criterion_group!(benches, typed, through_nodes);
criterion_main!(benches);
