//! Memory per registration: the inline size of the types and the heap a registrar holds per
//! registration of a typical client (a 24-character IMEI endpoint name, 10 object links, an IPv4
//! address), measured with a counting allocator over 100 000 registrations. The figures are
//! printed (`cargo test -p lwm2m-server --test footprint -- --nocapture`); the test asserts the
//! 2 KiB budget only, never a time.

use core::time::Duration;
use std::net::SocketAddr;

use lwm2m_codec::coap::{Code, Message, MessageBuilder, Type};
use lwm2m_server::registration::{
    CompactObjectLinks, Registrar, RegistrarConfig, Registration, RegistrationEvent, RegistrationId,
};
use lwm2m_server::store::NoStore;
use lwm2m_server::Timestamp;

const CLIENTS: u32 = 100_000;
const LINKS: &[u8] = b"</1/0>,</2/0>,</2/1>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</3303/0>,</3303/1>";
const BUDGET: usize = 2 * 1024;

fn register_bytes(n: u32) -> Vec<u8> {
    let query = format!("ep=urn:imei:35693803{n:07}&lt=86400&lwm2m=1.0&b=U");
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, n as u16);
    b.uri_path("/rd")
        .uri_queries(&query)
        .content_format(40)
        .payload(LINKS);
    b.to_vec().unwrap()
}

fn peer(n: u32) -> SocketAddr {
    SocketAddr::from(([10, (n >> 16) as u8, (n >> 8) as u8, n as u8], 5683))
}

#[test]
fn a_typical_registration_fits_the_budget() {
    let now = Timestamp::from_unix_secs(1_700_000_000);
    let mut registrar = Registrar::builder()
        .config(RegistrarConfig {
            register_rate_limit: None,
            max_queued_events: 0,
            ..RegistrarConfig::default()
        })
        .store(NoStore)
        .seed([5; 32])
        .build(now)
        .unwrap();
    // Warm up the allocator-independent parts (thread-locals, lazy statics) outside the count.
    let warm = register_bytes(u32::MAX);
    let _ = registrar.handle_request(now, peer(0), &Message::parse(&warm).unwrap());

    let info = allocation_counter::measure(|| {
        for n in 0..CLIENTS {
            let bytes = register_bytes(n);
            let request = Message::parse(&bytes).unwrap();
            let answer = registrar.handle_request(
                now + Duration::from_millis(u64::from(n)),
                peer(n),
                &request,
            );
            assert_eq!(answer.code(), Code::CREATED);
        }
    });
    let table = registrar.registrations();
    assert_eq!(table.len(), CLIENTS as usize + 1);
    let sample = table.by_endpoint("urn:imei:356938030000042").unwrap();
    assert_eq!(sample.object_links().len(), 10);

    let measured = usize::try_from(info.bytes_current).unwrap() / CLIENTS as usize;
    let estimated = table.estimated_memory() / table.len();
    println!(
        "size_of::<Registration>()  = {} bytes",
        size_of::<Registration>()
    );
    println!(
        "size_of::<RegistrationId>() = {} bytes",
        size_of::<RegistrationId>()
    );
    println!(
        "size_of::<CompactObjectLinks>()   = {} bytes",
        size_of::<CompactObjectLinks>()
    );
    println!(
        "size_of::<RegistrationEvent>() = {} bytes",
        size_of::<RegistrationEvent>()
    );
    println!(
        "heap owned by one registration (Registration::heap_size) = {} bytes",
        sample.heap_size()
    );
    println!(
        "registrar heap per registration, measured over {CLIENTS} registrations = {measured} bytes \
         ({} allocations in all, peak {} bytes)",
        info.count_total, info.bytes_max
    );
    println!("registrar memory per registration, estimated from capacities = {estimated} bytes");
    assert!(measured <= BUDGET, "{measured} bytes per registration");
    assert!(estimated <= BUDGET, "{estimated} bytes per registration");
}

#[test]
fn inline_sizes_stay_compact() {
    // Guards against an accidental bloat of the types every registration holds.
    assert_eq!(size_of::<RegistrationId>(), 13);
    assert!(
        size_of::<CompactObjectLinks>() <= 56,
        "{}",
        size_of::<CompactObjectLinks>()
    );
    assert!(
        size_of::<Registration>() <= 192,
        "{}",
        size_of::<Registration>()
    );
    assert!(
        size_of::<RegistrationEvent>() <= 208,
        "{}",
        size_of::<RegistrationEvent>()
    );
}
