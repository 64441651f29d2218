//! The [`coap_message`] traits for [`Message`], so handlers written against `coap-message` can read
//! LwM2M requests directly.

use coap_message::{MessageOption, ReadableMessage, WithSortedOptions};

use super::header::Code;
use super::message::Message;
use super::options::{CoapOption, Options};

impl coap_message::Code for Code {
    type Error = core::convert::Infallible;

    fn new(code: u8) -> Result<Code, core::convert::Infallible> {
        Ok(Code::from_u8(code))
    }
}

impl MessageOption for CoapOption<'_> {
    fn number(&self) -> u16 {
        self.number
    }

    fn value(&self) -> &[u8] {
        self.value
    }
}

impl ReadableMessage for Message<'_> {
    type Code = Code;
    type MessageOption<'b>
        = CoapOption<'b>
    where
        Self: 'b;
    type OptionsIter<'b>
        = Options<'b>
    where
        Self: 'b;

    fn code(&self) -> Code {
        Message::code(self)
    }

    fn options(&self) -> Options<'_> {
        Message::options(self)
    }

    fn payload(&self) -> &[u8] {
        Message::payload(self)
    }
}

/// Options come off the wire in ascending order.
impl WithSortedOptions for Message<'_> {}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use coap_message::{MessageOption, ReadableMessage};

    use super::*;

    /// Reads a message only through the generic trait, as a `coap-message` handler would.
    fn generic_summary<M: ReadableMessage>(msg: &M) -> (u8, Vec<(u16, Option<u32>)>, usize) {
        let options = msg
            .options()
            .map(|o| (o.number(), o.value_uint::<u32>()))
            .collect();
        (msg.code().into(), options, msg.payload().len())
    }

    #[test]
    fn trait_view_matches_inherent_view() {
        // CON PUT /1/0/1 CF=0 payload '3600'
        let bytes = [
            0x41, 0x03, 0x00, 0x06, 0x0F, 0xB1, 0x31, 0x01, 0x30, 0x01, 0x31, 0x10, 0xFF, 0x33,
            0x36, 0x30, 0x30,
        ];
        let msg = Message::parse(&bytes).unwrap();
        let (code, options, payload_len) = generic_summary(&msg);
        assert_eq!(code, 0x03);
        assert_eq!(
            options,
            [
                (11, Some(0x31)),
                (11, Some(0x30)),
                (11, Some(0x31)),
                (12, Some(0))
            ]
        );
        assert_eq!(payload_len, 4);
        let first = msg.options().next().unwrap();
        assert_eq!(first.value_str(), Some("1"));
        assert_eq!(<Code as coap_message::Code>::new(0x45), Ok(Code::CONTENT));
    }
}
