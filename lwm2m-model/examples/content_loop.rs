//! Runs one typed content operation on the TS Device instance in a plain loop, for measurements
//! that criterion's wall clock cannot give on a busy machine: user CPU time
//! (`/usr/bin/time -f %U`) or instruction counts (`valgrind --tool=callgrind`; run two loop
//! lengths and divide the difference of the counts by the difference of the lengths).
//!
//! `cargo build --profile bench -p lwm2m-model --example content_loop`, then
//! `target/release/examples/content_loop <tlv-dec|tlv-enc|json-dec|json-enc|clone> <count>`.
//! Each operation is the one of the `content` bench of the same name (see `benches/content.rs`).

use std::hint::black_box;

use lwm2m_model::content::{self, ContentFormat};
use lwm2m_model::Path;
use lwm2m_objects::Device;

/// The Device instance of test-vectors §1.1 in TLV (the `content` bench's input).
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

/// The same instance in LwM2M JSON (test-vectors §3).
const DEVICE_JSON: &[u8] = br#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},{"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]}"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(what), Some(Ok(count))) = (args.get(1), args.get(2).map(|n| n.parse::<usize>()))
    else {
        eprintln!("usage: content_loop <tlv-dec|tlv-enc|json-dec|json-enc|clone> <count>");
        std::process::exit(2);
    };
    let target = Path::parse("/3/0").unwrap();
    let device: Device = content::decode_typed(ContentFormat::Tlv, &target, &DEVICE_TLV).unwrap();
    let mut out = Vec::with_capacity(512);
    // One arm per operation with its format as a constant, as in the bench; unwrapped as there.
    for _ in 0..count {
        match what.as_str() {
            "tlv-dec" => {
                let d: Device =
                    content::decode_typed(ContentFormat::Tlv, &target, black_box(&DEVICE_TLV))
                        .unwrap();
                black_box(d);
            }
            "json-dec" => {
                let d: Device =
                    content::decode_typed(ContentFormat::Json, &target, black_box(DEVICE_JSON))
                        .unwrap();
                black_box(d);
            }
            "tlv-enc" => {
                out.clear();
                content::encode_typed_into(
                    ContentFormat::Tlv,
                    &target,
                    black_box(&device),
                    &mut out,
                )
                .unwrap();
                black_box(&out);
            }
            "json-enc" => {
                out.clear();
                content::encode_typed_into(
                    ContentFormat::Json,
                    &target,
                    black_box(&device),
                    &mut out,
                )
                .unwrap();
                black_box(&out);
            }
            "clone" => {
                black_box(black_box(&device).clone());
            }
            other => {
                eprintln!("unknown operation {other:?}");
                std::process::exit(2);
            }
        }
    }
}
