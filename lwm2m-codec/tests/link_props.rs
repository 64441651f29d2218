//! Property tests of the link-format reader and writer.

use lwm2m_codec::link::{AttrValue, Entry, LinkFormat, LinkPath, LinkWriter};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum GenValue {
    None,
    Token(String),
    /// Written with `attribute_quoted`, i.e. quoted and escaped.
    Text(String),
}

#[derive(Debug, Clone)]
struct GenAttr {
    name: String,
    value: GenValue,
}

#[derive(Debug, Clone)]
struct GenLink {
    target: String,
    attrs: Vec<GenAttr>,
}

const NAME: &str = "[a-zA-Z0-9!#$&+.^_`|~*-]{1,8}";
const TOKEN: &str = "[a-zA-Z0-9!#$%&'()*+./:<=>?@^_`{|}~\\[\\]-]{1,12}";
const TARGET: &str = "/[a-zA-Z0-9._~:/?#@!$&'()*+,;=%-]{0,20}";

fn value() -> impl Strategy<Value = GenValue> {
    prop_oneof![
        Just(GenValue::None),
        TOKEN.prop_map(GenValue::Token),
        any::<String>().prop_map(GenValue::Text),
    ]
}

fn attr() -> impl Strategy<Value = GenAttr> {
    (NAME, value()).prop_map(|(name, value)| GenAttr { name, value })
}

fn link() -> impl Strategy<Value = GenLink> {
    (TARGET, proptest::collection::vec(attr(), 0..5))
        .prop_map(|(target, attrs)| GenLink { target, attrs })
}

fn write(bare: &[GenAttr], links: &[GenLink]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = LinkWriter::new(&mut out);
    for a in bare {
        match &a.value {
            GenValue::None => w.bare_attribute(&a.name, None).unwrap(),
            GenValue::Token(t) => w
                .bare_attribute(&a.name, Some(AttrValue::Token(t)))
                .unwrap(),
            // Bare items carry raw values; a text without quotes or backslashes is valid raw.
            GenValue::Text(t) => {
                let raw: String = t.chars().filter(|c| *c != '"' && *c != '\\').collect();
                w.bare_attribute(&a.name, Some(AttrValue::Quoted(&raw)))
                    .unwrap()
            }
        };
    }
    for l in links {
        w.link(&l.target).unwrap();
        for a in &l.attrs {
            match &a.value {
                GenValue::None => w.attribute(&a.name, None).unwrap(),
                GenValue::Token(t) => w.attribute(&a.name, Some(AttrValue::Token(t))).unwrap(),
                GenValue::Text(t) => w.attribute_quoted(&a.name, t).unwrap(),
            };
        }
    }
    out
}

fn matches(value: Option<AttrValue<'_>>, expected: &GenValue, bare: bool) -> bool {
    match (value, expected) {
        (None, GenValue::None) => true,
        (Some(AttrValue::Token(t)), GenValue::Token(e)) => t == e,
        (Some(v @ AttrValue::Quoted(_)), GenValue::Text(e)) if bare => {
            v.unescaped() == e.replace(['"', '\\'], "")
        }
        (Some(v @ AttrValue::Quoted(_)), GenValue::Text(e)) => v.unescaped() == *e,
        _ => false,
    }
}

proptest! {
    #[test]
    fn parse_inverts_write(
        bare in proptest::collection::vec(attr(), 0..2),
        links in proptest::collection::vec(link(), 0..8),
    ) {
        let bytes = write(&bare, &links);
        let parsed = LinkFormat::parse(&bytes).unwrap();
        let entries: Vec<Entry<'_>> = parsed.entries().collect();
        prop_assert_eq!(entries.len(), bare.len() + links.len());
        for (entry, expected) in entries.iter().zip(&bare) {
            let Entry::Attribute(a) = entry else { return Err(TestCaseError::fail("not bare")) };
            prop_assert_eq!(a.name, expected.name.as_str());
            prop_assert!(matches(a.value, &expected.value, true));
        }
        for (entry, expected) in entries[bare.len()..].iter().zip(&links) {
            let Entry::Link(l) = entry else { return Err(TestCaseError::fail("not a link")) };
            prop_assert_eq!(l.target(), expected.target.as_str());
            let attrs: Vec<_> = l.attributes().collect();
            prop_assert_eq!(attrs.len(), expected.attrs.len());
            for (a, e) in attrs.iter().zip(&expected.attrs) {
                prop_assert_eq!(a.name, e.name.as_str());
                prop_assert!(matches(a.value, &e.value, false), "{:?} vs {:?}", a.value, e.value);
            }
        }
        // Copying entries reproduces the bytes exactly.
        let mut copy = Vec::new();
        let mut w = LinkWriter::new(&mut copy);
        for entry in &entries {
            w.entry(entry).unwrap();
        }
        prop_assert_eq!(copy, bytes);
    }

    #[test]
    fn white_space_between_items_does_not_change_the_result(
        links in proptest::collection::vec(link(), 1..6),
        spaces in proptest::collection::vec("[ \t\r\n]{0,3}", 64),
    ) {
        // Targets and quoted values may hold ',' and ';'; insert blanks only at item
        // boundaries the writer produced, found by writing each piece separately.
        let mut spaced = String::new();
        let mut compact = String::new();
        let mut blanks = spaces.iter().cycle();
        for (i, l) in links.iter().enumerate() {
            let piece = String::from_utf8(write(&[], std::slice::from_ref(l))).unwrap();
            if i > 0 {
                compact.push(',');
                spaced.push_str(blanks.next().unwrap());
                spaced.push(',');
            }
            spaced.push_str(blanks.next().unwrap());
            compact.push_str(&piece);
            spaced.push_str(&piece);
        }
        spaced.push_str(blanks.next().unwrap());
        let a = LinkFormat::parse_str(&spaced).unwrap();
        let b = LinkFormat::parse_str(&compact).unwrap();
        prop_assert!(a.entries().eq(b.entries()));
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(links) = LinkFormat::parse(&bytes) {
            for entry in links.entries() {
                if let Entry::Link(l) = entry {
                    let _ = l.path();
                    let _ = l.segments().count();
                    let _ = l.attributes().count();
                }
            }
        }
    }

    #[test]
    fn link_like_text_never_panics_and_copies_exactly(
        pieces in proptest::collection::vec(
            prop::sample::select(&[
                "</3/0>", "</>", "<", ">", "/", ";", ",", ", ", " ", "=", "\"", "\\", "ct=11543",
                "ver=\"1.1\"", "lwm2m=\"1.0\"", "title=\"x,y\"", "a", "1.5", "obs", "\u{e9}",
            ][..]),
            0..16,
        )
    ) {
        let text = pieces.concat();
        if let Ok(links) = LinkFormat::parse_str(&text) {
            let mut copy = Vec::new();
            let mut w = LinkWriter::new(&mut copy);
            for entry in links.entries() {
                w.entry(&entry).unwrap();
                if let Entry::Link(l) = entry {
                    for a in l.attributes() {
                        if let Some(v) = a.value {
                            let _ = (v.unescaped(), v.as_u16(), v.as_f64());
                        }
                    }
                }
            }
            let reparsed = LinkFormat::parse(&copy).unwrap();
            prop_assert!(reparsed.entries().eq(links.entries()));
        }
    }

    #[test]
    fn numeric_paths_round_trip(root in "(/[a-z]{1,6}){0,2}", ids in proptest::collection::vec(any::<u16>(), 0..=4)) {
        let mut out = Vec::new();
        LinkWriter::new(&mut out).link_path(&root, &ids).unwrap();
        let links = LinkFormat::parse(&out).unwrap();
        let link = links.links().next().unwrap();
        prop_assert_eq!(link.path_under(&root).unwrap(), LinkPath::parse_under(link.target(), &root).unwrap());
        let path = link.path_under(&root).unwrap();
        prop_assert_eq!(path.ids(), &ids[..]);
    }

    #[test]
    fn floats_round_trip_through_attributes(value in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let mut out = Vec::new();
        LinkWriter::new(&mut out).link("/1/0/1").unwrap().gt(value).unwrap();
        let links = LinkFormat::parse(&out).unwrap();
        let gt = links.links().next().unwrap().value("gt").unwrap().as_f64().unwrap();
        prop_assert_eq!(gt.to_bits(), value.to_bits());
        prop_assert!(!String::from_utf8(out).unwrap().ends_with(".0"));
    }
}
