//! Parsing a CoAP message and reading all of it allocates nothing; neither does encoding it into
//! a caller-provided buffer. `allocation-counter` installs a counting global allocator in this
//! test binary.

use lwm2m_codec::coap::{option, Block, Code, Message, MessageBuilder, Token, Type};

/// The Register vector of test-vectors.md §4 plus a Block1 request, together covering every
/// typed accessor.
const REGISTER: &[u8] = &[
    0x44, 0x02, 0x12, 0x34, 0xA1, 0xB2, 0xC3, 0xD4, 0xB2, 0x72, 0x64, 0x11, 0x28, 0x38, 0x65, 0x70,
    0x3D, 0x6E, 0x6F, 0x64, 0x65, 0x31, 0x06, 0x6C, 0x74, 0x3D, 0x33, 0x30, 0x30, 0x09, 0x6C, 0x77,
    0x6D, 0x32, 0x6D, 0x3D, 0x31, 0x2E, 0x30, 0x03, 0x62, 0x3D, 0x55, 0xFF, 0x3C, 0x2F, 0x31, 0x2F,
    0x30, 0x3E, 0x2C, 0x3C, 0x2F, 0x33, 0x2F, 0x30, 0x3E,
];

/// CON PUT /5/0/0, CF 42, Block1 0/1/64, Size1 81920, Observe 70000, payload 4 bytes.
const BLOCK1_PUT: &[u8] = &[
    0x41, 0x03, 0x01, 0x00, 0x20, 0x63, 0x01, 0x11, 0x70, 0x51, 0x35, 0x01, 0x30, 0x01, 0x30, 0x11,
    0x2A, 0xD1, 0x02, 0x0A, 0xD3, 0x14, 0x01, 0x40, 0x00, 0xFF, 0xAA, 0xBB, 0xCC, 0xDD,
];

/// Reads every part of the message through every accessor and folds it into a number, so the
/// optimiser cannot drop any of the work.
fn read_all(bytes: &[u8]) -> usize {
    let msg = Message::parse(bytes).expect("valid message");
    let mut acc = usize::from(msg.message_id()) + usize::from(msg.code().to_u8());
    acc += usize::from(msg.ty().bits()) + usize::from(msg.version());
    acc += msg.token().len() + msg.owned_token().len() + msg.payload().len();
    for opt in msg.options() {
        acc += usize::from(opt.number) + opt.value.len();
        acc += opt.as_uint().map_or(0, |v| v as usize);
        acc += opt.as_str().map_or(0, str::len);
    }
    acc += msg
        .uri_path()
        .expect("uri-path")
        .map(str::len)
        .sum::<usize>();
    acc += msg
        .uri_query()
        .expect("uri-query")
        .map(str::len)
        .sum::<usize>();
    acc += msg.location_path().expect("location-path").count();
    acc += msg.options_of(option::URI_QUERY).count();
    acc += msg.option(option::URI_PATH).map_or(0, <[u8]>::len);
    acc += usize::from(msg.content_format().expect("cf").unwrap_or(0));
    acc += usize::from(msg.accept().expect("accept").unwrap_or(0));
    acc += msg.observe().expect("observe").unwrap_or(0) as usize;
    acc += msg
        .block1()
        .expect("block1")
        .map_or(0, |b| b.offset() as usize);
    acc += msg
        .block2()
        .expect("block2")
        .map_or(0, |b| b.size() as usize);
    acc += msg.size1().expect("size1").unwrap_or(0) as usize;
    acc += msg.size2().expect("size2").unwrap_or(0) as usize;
    acc += msg.max_age().expect("max-age").unwrap_or(0) as usize;
    acc += msg
        .uint_option(option::URI_PORT)
        .expect("uri-port")
        .unwrap_or(0) as usize;
    acc += msg
        .first_unknown_critical(option::is_known)
        .map_or(0, usize::from);
    acc
}

#[test]
fn parsing_and_reading_every_option_allocates_nothing() {
    // Warm-up outside the measurement (lazy statics, if any, are not the codec's doing).
    let expected = (read_all(REGISTER), read_all(BLOCK1_PUT));
    let mut got = (0, 0);
    let info = allocation_counter::measure(|| {
        got = (
            std::hint::black_box(read_all(std::hint::black_box(REGISTER))),
            std::hint::black_box(read_all(std::hint::black_box(BLOCK1_PUT))),
        );
    });
    assert_eq!(got, expected);
    assert_eq!(info.count_total, 0, "{info:?}");
    assert_eq!(info.bytes_total, 0, "{info:?}");
}

#[test]
fn reading_the_block1_request_sees_its_options() {
    // Guards the fixture above: it must exercise the typed accessors it claims to.
    let msg = Message::parse(BLOCK1_PUT).unwrap();
    assert_eq!(msg.block1(), Ok(Some(Block::new(0, true, 2).unwrap())));
    assert_eq!(msg.size1(), Ok(Some(81_920)));
    assert_eq!(msg.observe(), Ok(Some(70_000)));
    assert!(msg.uri_path().unwrap().eq(["5", "0", "0"]));
    assert_eq!(msg.content_format(), Ok(Some(42)));
}

#[test]
fn rejecting_malformed_input_allocates_nothing() {
    let malformed: [&[u8]; 6] = [
        &[0x49, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[0x80, 0x01, 0x00, 0x01],
        &[0x40, 0x01, 0x00, 0x01, 0xF0],
        &[0x40, 0x01, 0x00, 0x01, 0x0F],
        &[0x40, 0x01, 0x00, 0x01, 0xFF],
        &[0x60, 0x00, 0x00, 0x01, 0x00],
    ];
    let mut rejected = 0;
    let info = allocation_counter::measure(|| {
        for bytes in malformed {
            if std::hint::black_box(Message::parse(std::hint::black_box(bytes))).is_err() {
                rejected += 1;
            }
        }
    });
    assert_eq!(rejected, 6);
    assert_eq!(info.count_total, 0, "{info:?}");
}

#[test]
fn encoding_into_a_slice_allocates_nothing() {
    let mut buf = [0u8; 128];
    let mut written = 0;
    let info = allocation_counter::measure(|| {
        let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 0x1234);
        b.token(Token::new(&[0xA1, 0xB2, 0xC3, 0xD4]).unwrap())
            .content_format(40)
            .uri_path("/rd")
            .uri_queries("ep=node1&lt=300&lwm2m=1.0&b=U")
            .payload(b"</1/0>,</3/0>");
        written = b.write_to(&mut &mut buf[..]).unwrap();
    });
    assert_eq!(&buf[..written], REGISTER);
    assert_eq!(info.count_total, 0, "{info:?}");
}

#[test]
fn the_counter_is_live_in_this_binary() {
    // Without this, a zero count could also mean the counting allocator is not installed.
    let info = allocation_counter::measure(|| {
        let msg = Message::parse(REGISTER).unwrap();
        std::hint::black_box(msg.to_builder().to_vec().unwrap());
    });
    assert_eq!(
        info.count_total, 1,
        "to_vec allocates exactly its output: {info:?}"
    );
    assert_eq!(info.bytes_total, REGISTER.len() as u64);
}
