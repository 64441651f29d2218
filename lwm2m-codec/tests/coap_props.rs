//! Property tests of the CoAP codec: build → parse gives back every field; parsing arbitrary bytes
//! never panics, and whatever parses re-encodes to the very same bytes.

use lwm2m_codec::coap::{
    option, Block, CoapOption, Code, Header, Message, MessageBuilder, MessageError, Rejection,
    Token, Type,
};
use proptest::prelude::*;

fn any_type() -> impl Strategy<Value = Type> {
    prop::sample::select(Type::ALL.to_vec())
}

/// Option numbers: mostly the ones LwM2M uses, sometimes anything up to 65535.
fn any_option_number() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop::sample::select(vec![
            option::OBSERVE, option::LOCATION_PATH, option::URI_PATH, option::CONTENT_FORMAT,
            option::URI_QUERY, option::ACCEPT, option::BLOCK2, option::BLOCK1, option::SIZE1,
        ]),
        1 => any::<u16>(),
        1 => 0u16..300,
    ]
}

/// Values of 0-12 bytes (inline length), 13-268 (one extended byte) and 269+ (two).
fn any_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..13),
        2 => prop::collection::vec(any::<u8>(), 13..269),
        1 => prop::collection::vec(any::<u8>(), 269..700),
    ]
}

#[derive(Debug, Clone)]
struct Spec {
    ty: Type,
    code: u8,
    message_id: u16,
    token: Vec<u8>,
    options: Vec<(u16, Vec<u8>)>,
    payload: Vec<u8>,
}

fn any_spec() -> impl Strategy<Value = Spec> {
    (
        any_type(),
        1u8..=255,
        any::<u16>(),
        prop::collection::vec(any::<u8>(), 0..=8),
        prop::collection::vec((any_option_number(), any_value()), 0..24),
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(ty, code, message_id, token, options, payload)| Spec {
            ty,
            code,
            message_id,
            token,
            options,
            payload,
        })
}

/// Walks everything a receiver might look at; none of it may panic.
fn read_everything(msg: &Message<'_>) -> usize {
    let mut seen = msg.token().len() + msg.payload().len();
    for opt in msg.options() {
        seen += opt.value.len();
        let _ = (opt.as_str(), opt.as_uint(), opt.is_critical());
    }
    for number in [
        option::URI_PATH,
        option::URI_QUERY,
        option::LOCATION_PATH,
        option::LOCATION_QUERY,
    ] {
        seen += msg.options_of(number).count();
    }
    if let Ok(segments) = msg.uri_path() {
        seen += segments.map(str::len).sum::<usize>();
    }
    if let Ok(items) = msg.uri_query() {
        seen += items.count();
    }
    if let Ok(segments) = msg.location_path() {
        seen += segments.count();
    }
    if let Ok(items) = msg.location_query() {
        seen += items.count();
    }
    let _ = (msg.content_format(), msg.accept(), msg.observe());
    let _ = (msg.block1(), msg.block2(), msg.size1(), msg.size2());
    let _ = (msg.max_age(), msg.uint_option(option::URI_PORT));
    let _ = msg.first_unknown_critical(option::is_known);
    let _ = (
        msg.header(),
        msg.owned_token(),
        msg.version(),
        msg.as_bytes(),
    );
    let _ = format!("{msg:?}");
    seen
}

proptest! {
    #[test]
    fn build_then_parse_gives_back_every_field(spec in any_spec()) {
        let mut builder = MessageBuilder::new(spec.ty, Code::from_u8(spec.code), spec.message_id);
        builder.token(Token::new(&spec.token).unwrap()).payload(&spec.payload);
        for (number, value) in &spec.options {
            builder.option(*number, value);
        }
        let bytes = builder.to_vec().unwrap();
        prop_assert_eq!(builder.encoded_len(), Ok(bytes.len()));

        let msg = Message::parse(&bytes).unwrap();
        prop_assert_eq!(msg.version(), 1);
        prop_assert_eq!(msg.ty(), spec.ty);
        prop_assert_eq!(msg.code().to_u8(), spec.code);
        prop_assert_eq!(msg.message_id(), spec.message_id);
        prop_assert_eq!(msg.token(), &spec.token[..]);
        prop_assert_eq!(msg.payload(), &spec.payload[..]);

        // Options come back sorted by number, repeated ones in the order they were added.
        let mut expected = spec.options.clone();
        expected.sort_by_key(|(number, _)| *number);
        let got: Vec<(u16, Vec<u8>)> = msg.options().map(|o| (o.number, o.value.to_vec())).collect();
        prop_assert_eq!(got, expected);

        // The parsed view re-encodes to the same bytes.
        prop_assert_eq!(msg.to_builder().to_vec().unwrap(), bytes.clone());
        // And the slice writer agrees with the vector writer.
        let mut buf = vec![0u8; bytes.len()];
        let written = builder.write_to(&mut &mut buf[..]).unwrap();
        prop_assert_eq!(&buf[..written], &bytes[..]);
    }

    #[test]
    fn typed_options_round_trip(
        path in prop::collection::vec("[a-z0-9]{0,12}", 1..6),
        query in prop::collection::vec("[a-z]{1,6}(=[a-zA-Z0-9.:]{0,30})?", 0..6),
        content_format in any::<u16>(),
        accept in prop::option::of(any::<u16>()),
        observe in prop::option::of(0u32..1 << 24),
        block in prop::option::of((0u32..=Block::MAX_NUM, any::<bool>(), 0u8..=6)),
        size1 in prop::option::of(any::<u32>()),
    ) {
        let joined = format!("/{}", path.join("/"));
        let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, 7);
        b.uri_path(&joined).content_format(content_format);
        for item in &query {
            b.uri_query(item);
        }
        if let Some(a) = accept { b.accept(a); }
        if let Some(o) = observe { b.observe(o); }
        let block = block.map(|(num, more, szx)| Block::new(num, more, szx).unwrap());
        if let Some(block) = block { b.block2(block).block1(block); }
        if let Some(s) = size1 { b.size1(s); }
        let bytes = b.to_vec().unwrap();
        let msg = Message::parse(&bytes).unwrap();

        // RFC 7252 §6.4: "/" alone means no Uri-Path option at all.
        let expected_path: Vec<&str> = if joined == "/" { vec![] } else { path.iter().map(String::as_str).collect() };
        prop_assert_eq!(msg.uri_path().unwrap().collect::<Vec<_>>(), expected_path);
        prop_assert_eq!(msg.uri_query().unwrap().collect::<Vec<_>>(), query.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(msg.content_format(), Ok(Some(content_format)));
        prop_assert_eq!(msg.accept(), Ok(accept));
        prop_assert_eq!(msg.observe(), Ok(observe));
        prop_assert_eq!(msg.block1(), Ok(block));
        prop_assert_eq!(msg.block2(), Ok(block));
        prop_assert_eq!(msg.size1(), Ok(size1));
        // Uints are minimal: no leading zero byte, and 0 is empty.
        for opt in msg.options().filter(|o| o.number != option::URI_PATH && o.number != option::URI_QUERY) {
            prop_assert!(opt.value.first() != Some(&0), "{:?}", opt);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_reencode_exactly(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_arbitrary(&bytes)?;
    }

    /// Same, with a version-1 header and a plausible token length so the option parser is reached
    /// far more often.
    #[test]
    fn arbitrary_bodies_never_panic(
        ty in 0u8..4, tkl in 0u8..=8, code in any::<u8>(), mid in any::<u16>(),
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = vec![0x40 | (ty << 4) | tkl, code];
        bytes.extend_from_slice(&mid.to_be_bytes());
        bytes.extend_from_slice(&body);
        check_arbitrary(&bytes)?;
    }

    #[test]
    fn block_values_round_trip(value in any::<u32>()) {
        match Block::from_value(value) {
            Ok(block) => {
                prop_assert_eq!(block.value(), value);
                prop_assert!(block.szx() <= 6 && block.num() <= Block::MAX_NUM);
                prop_assert_eq!(block.offset(), block.num() * block.size());
                prop_assert_eq!(Block::new(block.num(), block.more(), block.szx()), Ok(block));
            }
            Err(_) => prop_assert!(value > 0x00FF_FFFF || value & 7 == 7),
        }
    }

    #[test]
    fn tokens_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..12), n in any::<u64>()) {
        match Token::new(&bytes) {
            Ok(token) => prop_assert_eq!(token.as_slice(), &bytes[..]),
            Err(e) => prop_assert!(bytes.len() > 8 && e.length == bytes.len()),
        }
        let t = Token::from_u64(n);
        let mut be = [0u8; 8];
        be[8 - t.len()..].copy_from_slice(t.as_slice());
        prop_assert_eq!(u64::from_be_bytes(be), n);
    }
}

fn check_arbitrary(bytes: &[u8]) -> Result<(), TestCaseError> {
    match Message::parse(bytes) {
        Ok(msg) => {
            read_everything(&msg);
            // Every header/option encoding is unique, so a valid message re-encodes exactly.
            prop_assert_eq!(msg.to_builder().to_vec().unwrap(), bytes.to_vec());
            let options: Vec<CoapOption<'_>> = msg.options().collect();
            prop_assert!(options.windows(2).all(|w| w[0].number <= w[1].number));
        }
        Err(error) => {
            prop_assert!(error.offset() <= bytes.len());
            let _ = error.to_string();
            // The RST-or-drop decision agrees with the error.
            let reaction = Rejection::for_malformed(bytes);
            match Header::peek(bytes) {
                Ok(h) if h.ty == Type::Confirmable => {
                    prop_assert!(error.header_readable());
                    prop_assert_eq!(
                        reaction,
                        Rejection::Reset {
                            message_id: h.message_id
                        }
                    );
                }
                Ok(_) => prop_assert_eq!(reaction, Rejection::Ignore),
                Err(e) => {
                    prop_assert!(!error.header_readable());
                    prop_assert_eq!(e, error);
                    prop_assert_eq!(reaction, Rejection::Ignore);
                }
            }
            let too_short = matches!(error, MessageError::TooShort { .. });
            prop_assert_eq!(too_short, bytes.len() < 4);
        }
    }
    Ok(())
}
