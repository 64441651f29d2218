//! Fuzz target for the CoAP decoder: parse arbitrary bytes, walk every option and typed helper,
//! and when the parse succeeds rebuild the message field by field with the builder, re-parse it
//! and check both views agree (and that the re-encoding is byte-identical, since every CoAP
//! header and option encoding is unique).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lwm2m_codec::coap::{option, Header, Message, MessageBuilder, Rejection, Type};

fuzz_target!(|data: &[u8]| {
    let msg = match Message::parse(data) {
        Ok(msg) => msg,
        Err(error) => {
            assert!(error.offset() <= data.len());
            let _ = error.to_string();
            let reaction = Rejection::for_malformed(data);
            match Header::peek(data) {
                Ok(header) if header.ty == Type::Confirmable => {
                    assert!(error.header_readable());
                    assert_eq!(
                        reaction,
                        Rejection::Reset {
                            message_id: header.message_id
                        }
                    );
                }
                Ok(_) => assert_eq!(reaction, Rejection::Ignore),
                Err(_) => {
                    assert!(!error.header_readable());
                    assert_eq!(reaction, Rejection::Ignore);
                }
            }
            return;
        }
    };

    // Every accessor and typed helper, none may panic.
    let mut previous = 0u16;
    for opt in msg.options() {
        assert!(opt.number >= previous, "options out of order");
        previous = opt.number;
        let _ = (opt.as_str(), opt.as_uint(), opt.is_critical());
    }
    for strings in [
        msg.uri_path(),
        msg.uri_query(),
        msg.location_path(),
        msg.location_query(),
    ] {
        if let Ok(items) = strings {
            for item in items {
                assert!(item.len() <= 255);
            }
        }
    }
    let _ = (msg.content_format(), msg.accept(), msg.observe());
    let _ = (msg.block1(), msg.block2(), msg.size1(), msg.size2(), msg.max_age());
    if let Ok(Some(block)) = msg.block2() {
        assert!(block.szx() <= 6);
        let _ = (block.offset(), block.size(), block.next());
    }
    let _ = msg.uint_option(option::URI_PORT);
    let _ = msg.first_unknown_critical(option::is_known);
    let _ = format!("{msg:?}");

    // Rebuild from the fields, not from the raw bytes.
    let mut builder = MessageBuilder::new(msg.ty(), msg.code(), msg.message_id());
    builder.token(msg.owned_token()).payload(msg.payload());
    for opt in msg.options() {
        builder.option(opt.number, opt.value);
    }
    let rebuilt = builder.to_vec().expect("a parsed message is encodable");
    let again = Message::parse(&rebuilt).expect("a rebuilt message parses");
    assert_eq!(again.ty(), msg.ty());
    assert_eq!(again.code(), msg.code());
    assert_eq!(again.message_id(), msg.message_id());
    assert_eq!(again.token(), msg.token());
    assert_eq!(again.payload(), msg.payload());
    assert!(again.options().eq(msg.options()));
    assert_eq!(rebuilt, data);
});
