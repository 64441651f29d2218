//! Property tests for Execute arguments: writing then parsing is the identity, and arbitrary bytes
//! never panic the parser.

use lwm2m_codec::execute::{write_arguments, Argument, ExecuteArgs};
use proptest::prelude::*;

fn value_strategy() -> impl Strategy<Value = String> {
    // CHAR = %x21 / %x23-26 / %x28-5B / %x5D-7E
    proptest::string::string_regex("[!#-&(-\\[\\]-~]{0,24}").expect("valid regex")
}

proptest! {
    #[test]
    fn write_then_parse_is_identity(
        args in proptest::collection::vec((0u8..=9, proptest::option::of(value_strategy())), 0..8)
    ) {
        let built: Vec<Argument<'_>> = args
            .iter()
            .map(|(d, v)| Argument::new(*d, v.as_deref()).expect("generated within the grammar"))
            .collect();
        let mut out = Vec::new();
        write_arguments(&mut out, &built);
        let parsed = ExecuteArgs::parse(&out).expect("our own output parses");
        prop_assert_eq!(parsed.iter().collect::<Vec<_>>(), built);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(args) = ExecuteArgs::parse(&bytes) {
            // Whatever parses must re-encode to the same bytes (the grammar has one spelling).
            let collected: Vec<_> = args.iter().collect();
            let mut out = Vec::new();
            write_arguments(&mut out, &collected);
            prop_assert_eq!(out, bytes);
        }
    }

    #[test]
    fn near_miss_payloads_never_panic(s in "[0-9,=' a\\\\\"]{0,20}") {
        let _ = ExecuteArgs::parse(s.as_bytes()).map(|a| a.iter().count());
    }
}
