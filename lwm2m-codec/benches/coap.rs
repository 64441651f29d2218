//! CoAP codec benchmarks on a realistic LwM2M Register request of about 150 bytes: CON POST /rd
//! with an IMEI endpoint name, lifetime, version and binding queries, Content-Format 40 and a
//! link-format payload.
//!
//! Run with `cargo bench -p lwm2m-codec --bench coap`.

use std::hint::black_box;

use criterion::{criterion_main, Criterion, Throughput};
use lwm2m_codec::coap::{Code, Message, MessageBuilder, Token, Type};
use lwm2m_codec::ContentFormat;

const TOKEN: [u8; 8] = [0x5A, 0x17, 0xC3, 0x9E, 0x01, 0x42, 0xBE, 0xEF];
const QUERY: &str = "ep=urn:imei:123456789012345&lt=86400&lwm2m=1.0&b=U";
const LINKS: &[u8] = b"</>;ct=11543,</1/0>,</1/1>,</2/0>,</2/1>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>";

fn register_builder() -> MessageBuilder<'static> {
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 0x1234);
    b.token(Token::new(&TOKEN).expect("8-byte token"))
        .uri_path("/rd")
        .uri_queries(QUERY)
        .content_format(ContentFormat::LINK_FORMAT)
        .payload(LINKS);
    b
}

/// Parses and touches every option, the token and the payload: what a server does first with
/// every datagram.
fn parse_and_read_all_options(bytes: &[u8]) -> usize {
    let msg = Message::parse(bytes).expect("valid register");
    let mut acc = msg.token().len() + msg.payload().len() + usize::from(msg.message_id());
    for opt in msg.options() {
        acc += usize::from(opt.number) + opt.value.len();
    }
    acc
}

/// Parses and reads the request through the typed helpers (UTF-8 checked path and queries).
fn parse_typed(bytes: &[u8]) -> usize {
    let msg = Message::parse(bytes).expect("valid register");
    let mut acc = msg.uri_path().expect("path").map(str::len).sum::<usize>();
    acc += msg.uri_query().expect("query").map(str::len).sum::<usize>();
    acc += usize::from(msg.content_format().expect("cf").unwrap_or(0));
    acc + msg.payload().len()
}

fn benches(c: &mut Criterion) {
    let register = register_builder().to_vec().expect("encodable");
    assert!(
        (140..=160).contains(&register.len()),
        "fixture should be about 150 bytes, is {}",
        register.len()
    );
    assert_eq!(parse_and_read_all_options(&register), {
        let m = Message::parse(&register).unwrap();
        m.token().len()
            + m.payload().len()
            + 0x1234
            + m.options()
                .map(|o| usize::from(o.number) + o.value.len())
                .sum::<usize>()
    });

    let mut group = c.benchmark_group("coap");
    group.throughput(Throughput::Bytes(register.len() as u64));
    group.bench_function("parse_register_read_all_options", |b| {
        b.iter(|| parse_and_read_all_options(black_box(&register)));
    });
    group.bench_function("parse_register_typed_helpers", |b| {
        b.iter(|| parse_typed(black_box(&register)));
    });
    let mut out = Vec::with_capacity(256);
    group.bench_function("encode_register", |b| {
        b.iter(|| {
            out.clear();
            black_box(register_builder())
                .write_to(&mut out)
                .expect("encodable");
            black_box(out.len())
        });
    });
    group.bench_function("encode_register_to_vec", |b| {
        b.iter(|| black_box(register_builder()).to_vec().expect("encodable"));
    });
    group.finish();
}

/// A private module, because `criterion_group!` emits a `pub fn` that cannot carry a doc comment.
mod group {
    criterion::criterion_group!(coap, super::benches);
}

criterion_main!(group::coap);
