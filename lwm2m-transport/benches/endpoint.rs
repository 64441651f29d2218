//! Throughput of the sans-IO engine alone: a client and a server endpoint joined by in-memory
//! queues, 64 requests in flight, no network or syscalls. This bounds what a driver can reach.

use std::hint::black_box;

use criterion::{criterion_main, Criterion, Throughput};
use lwm2m_codec::coap::Code;
use lwm2m_transport::{Config, Endpoint, Event, Instant, Request, Response};

const IN_FLIGHT: usize = 64;
const EXCHANGES: usize = 10_000;

fn config() -> Config {
    let mut config = Config::default();
    config.transmission.nstart = IN_FLIGHT;
    config.limits.max_dedup_entries = 4_096;
    config
}

/// Runs `EXCHANGES` GET/2.05 exchanges with `IN_FLIGHT` outstanding at a time.
fn run(
    client: &mut Endpoint<u8>,
    server: &mut Endpoint<u8>,
    now: &mut Instant,
    request: &Request,
    response: &Response,
) {
    let mut started = 0;
    let mut done = 0;
    while started < IN_FLIGHT {
        client.start_request(*now, 2, request.clone()).unwrap();
        started += 1;
    }
    while done < EXCHANGES {
        *now += core::time::Duration::from_micros(10);
        while let Some(t) = client.poll_transmit() {
            server.handle_datagram(*now, 1, &t.contents);
        }
        while let Some(event) = server.poll_event() {
            if let Event::Request { id, .. } = event {
                server.respond(*now, id, response.clone()).unwrap();
            }
        }
        while let Some(t) = server.poll_transmit() {
            client.handle_datagram(*now, 2, &t.contents);
        }
        while let Some(event) = client.poll_event() {
            if let Event::Response { response, .. } = event {
                black_box(response);
                done += 1;
                if started < EXCHANGES {
                    client.start_request(*now, 2, request.clone()).unwrap();
                    started += 1;
                }
            }
        }
    }
}

fn exchanges(c: &mut Criterion) {
    let request = Request::build(Code::GET, |b| {
        b.uri_path("/3/0/9").accept(11542);
    })
    .unwrap();
    let response = Response::build(Code::CONTENT, |b| {
        b.content_format(0);
    })
    .unwrap()
    .with_payload(&b"100"[..]);
    let mut group = c.benchmark_group("endpoint");
    group.throughput(Throughput::Elements(EXCHANGES as u64));
    group.bench_function("get_2.05_64_in_flight", |b| {
        let mut client: Endpoint<u8> = Endpoint::new(config(), [1; 32]).unwrap();
        let mut server: Endpoint<u8> = Endpoint::new(config(), [2; 32]).unwrap();
        let mut now = Instant::ZERO;
        b.iter(|| run(&mut client, &mut server, &mut now, &request, &response));
    });
    group.finish();
}

/// A private module, because `criterion_group!` emits a `pub fn` that cannot carry a doc comment.
mod group {
    criterion::criterion_group!(endpoint, super::exchanges);
}

criterion_main!(group::endpoint);
