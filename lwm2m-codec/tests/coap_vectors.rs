//! Every CoAP vector of `test-vectors.md` §4 (31 messages, 6 malformed ones), the Block values
//! of §5 and the Uri-Query encodings of §7.
//!
//! Each well-formed vector is decoded and checked against its description, then built again from
//! that description with [`MessageBuilder`] and compared byte for byte; re-encoding the parsed
//! view ([`Message::to_builder`]) must give the same bytes too.

use lwm2m_codec::coap::{
    option, Block, CoapOption, Code, Message, MessageBuilder, MessageError, Rejection, Token, Type,
};

/// Bytes from the space-separated hex of the vector tables.
fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("vector hex"))
        .collect()
}

fn token(bytes: &[u8]) -> Token {
    Token::new(bytes).expect("vector token")
}

/// The builder reproduces the vector, and so does re-encoding the parsed view.
fn assert_encodes_to(builder: &MessageBuilder<'_>, bytes: &[u8]) {
    assert_eq!(
        builder.to_vec().expect("encode"),
        bytes,
        "built from the description"
    );
    assert_eq!(builder.encoded_len(), Ok(bytes.len()));
    let parsed = Message::parse(bytes).expect("parse");
    assert_eq!(
        parsed.to_builder().to_vec().expect("re-encode"),
        bytes,
        "re-encoded view"
    );
}

fn path<'a>(msg: &Message<'a>) -> Vec<&'a str> {
    msg.uri_path().expect("uri-path").collect()
}

fn query<'a>(msg: &Message<'a>) -> Vec<&'a str> {
    msg.uri_query().expect("uri-query").collect()
}

fn numbers(msg: &Message<'_>) -> Vec<u16> {
    msg.options().map(|o| o.number).collect()
}

#[test]
fn register() {
    let bytes = hex("44 02 12 34 A1 B2 C3 D4 B2 72 64 11 28 38 65 70 3D 6E 6F 64 65 31 06 6C 74 3D 33 30 30 09 6C 77 6D 32 6D 3D 31 2E 30 03 62 3D 55 FF 3C 2F 31 2F 30 3E 2C 3C 2F 33 2F 30 3E");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(msg.version(), 1);
    assert_eq!(msg.ty(), Type::Confirmable);
    assert_eq!(msg.code(), Code::POST);
    assert_eq!(msg.message_id(), 0x1234);
    assert_eq!(msg.token(), &[0xA1, 0xB2, 0xC3, 0xD4]);
    assert_eq!(path(&msg), ["rd"]);
    assert_eq!(query(&msg), ["ep=node1", "lt=300", "lwm2m=1.0", "b=U"]);
    assert_eq!(msg.content_format(), Ok(Some(40)));
    assert_eq!(msg.payload(), b"</1/0>,</3/0>");
    assert_eq!(numbers(&msg), [11, 12, 15, 15, 15, 15]);

    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 0x1234);
    // Added out of order on purpose: the builder sorts.
    b.content_format(40)
        .uri_queries("ep=node1&lt=300&lwm2m=1.0&b=U")
        .uri_path("/rd")
        .token(token(&[0xA1, 0xB2, 0xC3, 0xD4]))
        .payload(b"</1/0>,</3/0>");
    assert_encodes_to(&b, &bytes);
}

#[test]
fn register_response() {
    let bytes = hex("64 41 12 34 A1 B2 C3 D4 82 72 64 04 35 61 33 66");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(msg.ty(), Type::Acknowledgement);
    assert_eq!(msg.code(), Code::CREATED);
    assert_eq!(msg.message_id(), 0x1234);
    assert_eq!(msg.token(), &[0xA1, 0xB2, 0xC3, 0xD4]);
    assert!(msg.location_path().unwrap().eq(["rd", "5a3f"]));
    assert!(msg.payload().is_empty());

    let mut b = MessageBuilder::new(Type::Acknowledgement, Code::CREATED, 0x1234);
    b.token(token(&[0xA1, 0xB2, 0xC3, 0xD4]))
        .location_path("/rd/5a3f");
    assert_encodes_to(&b, &bytes);
}

#[test]
fn update_and_its_response() {
    let bytes = hex("41 02 12 35 01 B2 72 64 04 35 61 33 66");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(
        (msg.ty(), msg.code(), msg.message_id(), msg.token()),
        (Type::Confirmable, Code::POST, 0x1235, &[0x01][..])
    );
    assert_eq!(path(&msg), ["rd", "5a3f"]);
    assert_eq!(query(&msg), Vec::<&str>::new());
    assert!(msg.payload().is_empty());
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 0x1235);
    b.token(token(&[1])).uri_path("/rd/5a3f");
    assert_encodes_to(&b, &bytes);

    let response = hex("61 44 12 35 01");
    let msg_r = Message::parse(&response).unwrap();
    assert_eq!(
        (msg_r.ty(), msg_r.code(), msg_r.message_id(), msg_r.token()),
        (Type::Acknowledgement, Code::CHANGED, 0x1235, &[0x01][..])
    );
    assert_eq!(msg_r.options().count(), 0);
    assert_encodes_to(
        &MessageBuilder::piggybacked_response(&msg, Code::CHANGED),
        &response,
    );
}

#[test]
fn deregister() {
    let bytes = hex("41 04 12 36 02 B2 72 64 04 35 61 33 66");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(
        (msg.ty(), msg.code(), msg.message_id(), msg.token()),
        (Type::Confirmable, Code::DELETE, 0x1236, &[0x02][..])
    );
    assert_eq!(path(&msg), ["rd", "5a3f"]);
    let mut b = MessageBuilder::new(Type::Confirmable, Code::DELETE, 0x1236);
    b.token(token(&[2])).uri_path("/rd/5a3f");
    assert_encodes_to(&b, &bytes);
}

#[test]
fn bootstrap_request_and_finish() {
    let bytes = hex("40 02 00 01 B2 62 73 48 65 70 3D 6E 6F 64 65 31");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(
        (msg.ty(), msg.code(), msg.message_id()),
        (Type::Confirmable, Code::POST, 1)
    );
    assert!(msg.token().is_empty());
    assert_eq!(path(&msg), ["bs"]);
    assert_eq!(query(&msg), ["ep=node1"]);
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 1);
    b.uri_path("/bs").uri_query("ep=node1");
    assert_encodes_to(&b, &bytes);

    let finish = hex("41 02 01 00 10 B2 62 73");
    let msg = Message::parse(&finish).unwrap();
    assert_eq!(
        (msg.ty(), msg.code(), msg.message_id(), msg.token()),
        (Type::Confirmable, Code::POST, 0x0100, &[0x10][..])
    );
    assert_eq!(path(&msg), ["bs"]);
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 0x0100);
    b.token(token(&[0x10])).uri_path("bs");
    assert_encodes_to(&b, &finish);
}

#[test]
fn read_and_its_response() {
    let bytes = hex("41 01 00 02 0B B1 33 01 30 01 30");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(
        (msg.ty(), msg.code(), msg.message_id(), msg.token()),
        (Type::Confirmable, Code::GET, 2, &[0x0B][..])
    );
    assert_eq!(path(&msg), ["3", "0", "0"]);
    assert_eq!(msg.accept(), Ok(None));
    let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, 2);
    b.token(token(&[0x0B])).uri_path("/3/0/0");
    assert_encodes_to(&b, &bytes);

    let response =
        hex("61 45 00 02 0B C0 FF 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65");
    let msg_r = Message::parse(&response).unwrap();
    assert_eq!(
        (msg_r.ty(), msg_r.code(), msg_r.message_id(), msg_r.token()),
        (Type::Acknowledgement, Code::CONTENT, 2, &[0x0B][..])
    );
    assert_eq!(msg_r.content_format(), Ok(Some(0)));
    assert_eq!(msg_r.payload(), b"Open Mobile Alliance");
    let mut b = MessageBuilder::piggybacked_response(&msg, Code::CONTENT);
    b.content_format(0).payload(b"Open Mobile Alliance");
    assert_encodes_to(&b, &response);
}

#[test]
fn read_with_accept_tlv_and_discover() {
    let bytes = hex("41 01 00 03 0C B1 33 01 30 62 2D 16");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(
        (msg.code(), msg.message_id(), msg.token()),
        (Code::GET, 3, &[0x0C][..])
    );
    assert_eq!(path(&msg), ["3", "0"]);
    assert_eq!(msg.accept(), Ok(Some(11542)));
    let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, 3);
    b.token(token(&[0x0C])).accept(11542).uri_path("/3/0");
    assert_encodes_to(&b, &bytes);

    let discover = hex("41 01 00 04 0D B1 33 01 30 61 28");
    let msg = Message::parse(&discover).unwrap();
    assert_eq!(
        (msg.code(), msg.message_id(), msg.token()),
        (Code::GET, 4, &[0x0D][..])
    );
    assert_eq!(path(&msg), ["3", "0"]);
    assert_eq!(msg.accept(), Ok(Some(40)));
    let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, 4);
    b.token(token(&[0x0D])).uri_path("/3/0").accept(40);
    assert_encodes_to(&b, &discover);
}

#[test]
fn write_attributes() {
    let bytes =
        hex("41 03 00 05 0E B1 33 01 30 01 39 47 70 6D 69 6E 3D 31 30 07 70 6D 61 78 3D 36 30");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(
        (msg.code(), msg.message_id(), msg.token()),
        (Code::PUT, 5, &[0x0E][..])
    );
    assert_eq!(path(&msg), ["3", "0", "9"]);
    assert_eq!(query(&msg), ["pmin=10", "pmax=60"]);
    let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, 5);
    b.token(token(&[0x0E]))
        .uri_path("/3/0/9")
        .uri_queries("?pmin=10&pmax=60");
    assert_encodes_to(&b, &bytes);
}

#[test]
fn write_text() {
    let bytes = hex("41 03 00 06 0F B1 31 01 30 01 31 10 FF 33 36 30 30");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(
        (msg.code(), msg.message_id(), msg.token()),
        (Code::PUT, 6, &[0x0F][..])
    );
    assert_eq!(path(&msg), ["1", "0", "1"]);
    assert_eq!(msg.content_format(), Ok(Some(0)));
    assert_eq!(msg.payload(), b"3600");
    let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, 6);
    b.token(token(&[0x0F]))
        .uri_path("/1/0/1")
        .content_format(0)
        .payload(b"3600");
    assert_encodes_to(&b, &bytes);
}

#[test]
fn execute() {
    let bytes = hex("41 02 00 07 10 B1 33 01 30 01 34");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(
        (msg.code(), msg.message_id(), msg.token()),
        (Code::POST, 7, &[0x10][..])
    );
    assert_eq!(path(&msg), ["3", "0", "4"]);
    assert_eq!(msg.content_format(), Ok(None));
    assert!(msg.payload().is_empty());
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 7);
    b.token(token(&[0x10])).uri_path("/3/0/4");
    assert_encodes_to(&b, &bytes);
}

#[test]
fn observe_and_its_response() {
    let bytes = hex("42 01 00 08 CA FE 60 51 33 01 30 01 39");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(
        (msg.ty(), msg.code(), msg.message_id(), msg.token()),
        (Type::Confirmable, Code::GET, 8, &[0xCA, 0xFE][..])
    );
    assert_eq!(msg.observe(), Ok(Some(0)));
    assert_eq!(msg.option(option::OBSERVE), Some(&[][..]));
    assert_eq!(path(&msg), ["3", "0", "9"]);
    let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, 8);
    b.token(token(&[0xCA, 0xFE])).uri_path("/3/0/9").observe(0);
    assert_encodes_to(&b, &bytes);

    let response = hex("62 45 00 08 CA FE 61 01 60 FF 31 30 30");
    let msg_r = Message::parse(&response).unwrap();
    assert_eq!(
        (msg_r.ty(), msg_r.code(), msg_r.message_id()),
        (Type::Acknowledgement, Code::CONTENT, 8)
    );
    assert_eq!(msg_r.observe(), Ok(Some(1)));
    assert_eq!(msg_r.content_format(), Ok(Some(0)));
    assert_eq!(msg_r.payload(), b"100");
    let mut b = MessageBuilder::piggybacked_response(&msg, Code::CONTENT);
    b.observe(1).content_format(0).payload(b"100");
    assert_encodes_to(&b, &response);
}

#[test]
fn notifications() {
    let non = hex("52 45 70 01 CA FE 61 02 60 FF 38 37");
    let msg = Message::parse(&non).unwrap();
    assert_eq!(
        (msg.ty(), msg.code(), msg.message_id(), msg.token()),
        (
            Type::NonConfirmable,
            Code::CONTENT,
            0x7001,
            &[0xCA, 0xFE][..]
        )
    );
    assert_eq!(msg.observe(), Ok(Some(2)));
    assert_eq!(msg.content_format(), Ok(Some(0)));
    assert_eq!(msg.payload(), b"87");
    let mut b = MessageBuilder::new(Type::NonConfirmable, Code::CONTENT, 0x7001);
    b.token(token(&[0xCA, 0xFE]))
        .observe(2)
        .content_format(0)
        .payload(b"87");
    assert_encodes_to(&b, &non);

    let con = hex("42 45 70 02 CA FE 63 01 11 70 62 2D 16 FF C1 09 57");
    let msg = Message::parse(&con).unwrap();
    assert_eq!(
        (msg.ty(), msg.code(), msg.message_id()),
        (Type::Confirmable, Code::CONTENT, 0x7002)
    );
    assert_eq!(msg.observe(), Ok(Some(70000)));
    assert_eq!(msg.content_format(), Ok(Some(11542)));
    assert_eq!(msg.payload(), &[0xC1, 0x09, 0x57]);
    let mut b = MessageBuilder::new(Type::Confirmable, Code::CONTENT, 0x7002);
    b.token(token(&[0xCA, 0xFE]))
        .content_format(11542)
        .observe(70000)
        .payload(&[0xC1, 0x09, 0x57]);
    assert_encodes_to(&b, &con);
}

#[test]
fn cancel_observe() {
    let bytes = hex("42 01 00 09 CA FE 61 01 51 33 01 30 01 39");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(
        (msg.code(), msg.message_id(), msg.token()),
        (Code::GET, 9, &[0xCA, 0xFE][..])
    );
    assert_eq!(msg.observe(), Ok(Some(1)));
    assert_eq!(path(&msg), ["3", "0", "9"]);
    let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, 9);
    b.token(token(&[0xCA, 0xFE])).observe(1).uri_path("/3/0/9");
    assert_encodes_to(&b, &bytes);
}

#[test]
fn empty_messages() {
    for (text, ty, mid, builder) in [
        (
            "60 00 00 09",
            Type::Acknowledgement,
            0x0009,
            MessageBuilder::empty_ack(0x0009),
        ),
        (
            "70 00 70 01",
            Type::Reset,
            0x7001,
            MessageBuilder::reset(0x7001),
        ),
        (
            "40 00 00 42",
            Type::Confirmable,
            0x0042,
            MessageBuilder::ping(0x0042),
        ),
    ] {
        let bytes = hex(text);
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(
            (msg.ty(), msg.code(), msg.message_id()),
            (ty, Code::EMPTY, mid)
        );
        assert!(msg.token().is_empty() && msg.payload().is_empty());
        assert_eq!(msg.options().count(), 0);
        assert_encodes_to(&builder, &bytes);
    }
}

#[test]
fn block1_transfer() {
    let mut first = hex("41 03 01 00 20 B1 35 01 30 01 30 11 2A D1 02 0A FF");
    let payload = [0xAA; 64];
    first.extend_from_slice(&payload);
    let msg = Message::parse(&first).unwrap();
    assert_eq!(
        (msg.ty(), msg.code(), msg.message_id(), msg.token()),
        (Type::Confirmable, Code::PUT, 0x0100, &[0x20][..])
    );
    assert_eq!(path(&msg), ["5", "0", "0"]);
    assert_eq!(msg.content_format(), Ok(Some(42)));
    let block = msg.block1().unwrap().unwrap();
    assert_eq!(
        (block.num(), block.more(), block.szx(), block.size()),
        (0, true, 2, 64)
    );
    assert_eq!(msg.payload().len(), block.size() as usize);
    let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, 0x0100);
    b.token(token(&[0x20]))
        .block1(Block::new(0, true, 2).unwrap())
        .content_format(42)
        .uri_path("/5/0/0")
        .payload(&payload);
    assert_encodes_to(&b, &first);

    let cont = hex("61 5F 01 00 20 D1 0E 0A");
    let msg_c = Message::parse(&cont).unwrap();
    assert_eq!(
        (msg_c.ty(), msg_c.code(), msg_c.message_id()),
        (Type::Acknowledgement, Code::CONTINUE, 0x0100)
    );
    assert_eq!(msg_c.block1(), Ok(Some(block)));
    let mut b = MessageBuilder::piggybacked_response(&msg, Code::CONTINUE);
    b.block1(block);
    assert_encodes_to(&b, &cont);

    let last = hex("61 44 03 80 20 D2 0E 27 F3");
    let msg_l = Message::parse(&last).unwrap();
    assert_eq!(
        (msg_l.ty(), msg_l.code(), msg_l.message_id()),
        (Type::Acknowledgement, Code::CHANGED, 0x0380)
    );
    let block = msg_l.block1().unwrap().unwrap();
    assert_eq!((block.num(), block.more(), block.size()), (639, false, 128));
    assert_eq!(block.offset(), 81_792);
    let mut b = MessageBuilder::new(Type::Acknowledgement, Code::CHANGED, 0x0380);
    b.token(token(&[0x20]))
        .block1(Block::with_size(639, false, 128).unwrap());
    assert_encodes_to(&b, &last);
}

#[test]
fn block2_request() {
    let bytes = hex("41 01 02 00 21 B2 66 77 C1 16");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(
        (msg.code(), msg.message_id(), msg.token()),
        (Code::GET, 0x0200, &[0x21][..])
    );
    assert_eq!(path(&msg), ["fw"]);
    assert_eq!(msg.block2(), Ok(Some(Block::new(1, false, 6).unwrap())));
    assert_eq!(msg.block1(), Ok(None));
    let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, 0x0200);
    b.token(token(&[0x21]))
        .uri_path("/fw")
        .block2(Block::with_size(1, false, 1024).unwrap());
    assert_encodes_to(&b, &bytes);
}

#[test]
fn long_option_with_extended_length() {
    let bytes = hex("40 02 03 00 B2 72 64 4D 0E 65 70 3D 75 72 6E 3A 69 6D 65 69 3A 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!((msg.code(), msg.message_id()), (Code::POST, 0x0300));
    assert_eq!(path(&msg), ["rd"]);
    assert_eq!(query(&msg), ["ep=urn:imei:123456789012345"]);
    assert_eq!(query(&msg)[0].len(), 27);
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 0x0300);
    b.uri_path("/rd").uri_query("ep=urn:imei:123456789012345");
    assert_encodes_to(&b, &bytes);
}

#[test]
fn size1_after_content_format_with_extended_delta() {
    let bytes = hex("40 03 03 01 C1 2A D3 23 01 40 00");
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!((msg.code(), msg.message_id()), (Code::PUT, 0x0301));
    assert_eq!(msg.content_format(), Ok(Some(42)));
    assert_eq!(msg.size1(), Ok(Some(81_920)));
    assert_eq!(numbers(&msg), [12, 60]);
    let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, 0x0301);
    b.size1(81_920).content_format(42);
    assert_encodes_to(&b, &bytes);
}

#[test]
fn error_and_separate_responses() {
    let request = hex("41 01 00 02 0B B1 33 01 30 01 30");
    let request = Message::parse(&request).unwrap();
    for (text, code) in [
        ("61 84 00 02 0B", Code::NOT_FOUND),
        ("61 85 00 02 0B", Code::METHOD_NOT_ALLOWED),
    ] {
        let bytes = hex(text);
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(
            (msg.ty(), msg.code(), msg.message_id(), msg.token()),
            (Type::Acknowledgement, code, 2, &[0x0B][..])
        );
        assert!(msg.code().is_client_error());
        assert_encodes_to(
            &MessageBuilder::piggybacked_response(&request, code),
            &bytes,
        );
    }

    let separate = hex("41 45 55 55 0B C0 FF 31");
    let msg = Message::parse(&separate).unwrap();
    assert_eq!(
        (msg.ty(), msg.code(), msg.message_id(), msg.token()),
        (Type::Confirmable, Code::CONTENT, 0x5555, &[0x0B][..])
    );
    assert_eq!(msg.content_format(), Ok(Some(0)));
    assert_eq!(msg.payload(), b"1");
    let mut b = MessageBuilder::new(Type::Confirmable, Code::CONTENT, 0x5555);
    b.token(request.owned_token())
        .content_format(0)
        .payload(b"1");
    assert_encodes_to(&b, &separate);
}

#[test]
fn malformed_messages_are_rejected_with_the_right_reaction() {
    let mut tkl9 = hex("49 01 00 01");
    tkl9.extend_from_slice(&[0x11; 9]);
    let cases = [
        (
            tkl9,
            MessageError::TokenLengthReserved { length: 9 },
            Rejection::Reset { message_id: 1 },
        ),
        (
            hex("80 01 00 01"),
            MessageError::UnsupportedVersion { version: 2 },
            Rejection::Ignore,
        ),
        (
            hex("40 01 00 01 F0"),
            MessageError::OptionDeltaReserved { offset: 4 },
            Rejection::Reset { message_id: 1 },
        ),
        (
            hex("40 01 00 01 0F"),
            MessageError::OptionLengthReserved { offset: 4 },
            Rejection::Reset { message_id: 1 },
        ),
        (
            hex("40 01 00 01 FF"),
            MessageError::EmptyPayload { offset: 4 },
            Rejection::Reset { message_id: 1 },
        ),
        (
            hex("60 00 00 01 00"),
            MessageError::EmptyMessageNotEmpty { trailing: 1 },
            Rejection::Ignore,
        ),
    ];
    for (bytes, error, reaction) in cases {
        assert_eq!(Message::parse(&bytes), Err(error), "{bytes:02X?}");
        assert_eq!(Rejection::for_malformed(&bytes), reaction, "{bytes:02X?}");
        assert_eq!(
            error.header_readable(),
            !matches!(error, MessageError::UnsupportedVersion { .. })
        );
    }
    // Every TKL from 9 to 15 is reserved.
    for tkl in 9..=15u8 {
        let mut bytes = vec![0x40 | tkl, 0x01, 0x00, 0x01];
        bytes.extend_from_slice(&[0; 15]);
        assert_eq!(
            Message::parse(&bytes),
            Err(MessageError::TokenLengthReserved { length: tkl })
        );
    }
}

/// §5: value = NUM << 4 | M << 3 | SZX, written as a minimal uint.
#[test]
fn block_option_values() {
    let table: [(u32, bool, u8, u32, &str); 7] = [
        (0, false, 0, 0, ""),
        (0, true, 2, 10, "0A"),
        (1, false, 6, 22, "16"),
        (15, true, 6, 254, "FE"),
        (16, false, 6, 262, "01 06"),
        (639, false, 3, 10_227, "27 F3"),
        (4096, true, 6, 65_550, "01 00 0E"),
    ];
    for (num, more, szx, value, option_hex) in table {
        let block = Block::new(num, more, szx).unwrap();
        assert_eq!(block.value(), value);
        assert_eq!(Block::from_value(value), Ok(block));
        assert_eq!(block.size(), 16 << szx);
        assert_eq!(block.offset(), num * block.size());

        // Encoded in a message as Block2 and as Block1, then decoded again.
        let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, 1);
        b.block2(block).block1(block);
        let bytes = b.to_vec().unwrap();
        let msg = Message::parse(&bytes).unwrap();
        let expected = hex(option_hex);
        assert_eq!(msg.option(option::BLOCK2), Some(&expected[..]));
        assert_eq!(msg.option(option::BLOCK1), Some(&expected[..]));
        assert_eq!(msg.block2(), Ok(Some(block)));
        assert_eq!(msg.block1(), Ok(Some(block)));
    }
    assert_eq!(Block::new(639, false, 3).unwrap().offset(), 81_792);
    assert_eq!(Block::new(639, false, 3).unwrap().offset() + 128, 81_920);
}

/// §7: every query item is its own Uri-Query option, value as written, no percent-encoding.
#[test]
fn query_strings_become_one_option_per_item() {
    let rows: [(&str, &[&str]); 6] = [
        (
            "ep=node1&lt=300&lwm2m=1.0&b=U",
            &["ep=node1", "lt=300", "lwm2m=1.0", "b=U"],
        ),
        (
            "ep=node1&lt=86400&lwm2m=1.0&b=US&sms=447700900123",
            &[
                "ep=node1",
                "lt=86400",
                "lwm2m=1.0",
                "b=US",
                "sms=447700900123",
            ],
        ),
        ("lt=6000", &["lt=6000"]),
        (
            "pmin=10&pmax=60&gt=50&lt=42.2&st=0.5",
            &["pmin=10", "pmax=60", "gt=50", "lt=42.2", "st=0.5"],
        ),
        ("pmin", &["pmin"]),
        ("ep=node1", &["ep=node1"]),
    ];
    for (query_string, items) in rows {
        // Split by the builder ...
        let mut split = MessageBuilder::new(Type::Confirmable, Code::POST, 1);
        split.uri_path("/rd").uri_queries(query_string);
        // ... or added item by item: the same bytes.
        let mut one_by_one = MessageBuilder::new(Type::Confirmable, Code::POST, 1);
        one_by_one.uri_path("/rd");
        for item in items {
            one_by_one.uri_query(item);
        }
        let bytes = split.to_vec().unwrap();
        assert_eq!(one_by_one.to_vec().unwrap(), bytes);

        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(query(&msg), items.to_vec());
        let raw: Vec<CoapOption<'_>> = msg
            .options()
            .filter(|o| o.number == option::URI_QUERY)
            .collect();
        assert_eq!(raw.len(), items.len());
        for (opt, item) in raw.iter().zip(items) {
            assert_eq!(opt.value, item.as_bytes());
        }
    }

    // The bare `pmin` (unset) is a 4-byte option right after Uri-Path: delta 4, length 4.
    let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, 5);
    b.uri_path("/3/0/9").uri_query("pmin");
    assert_eq!(
        b.to_vec().unwrap(),
        hex("40 03 00 05 B1 33 01 30 01 39 44 70 6D 69 6E")
    );
}
