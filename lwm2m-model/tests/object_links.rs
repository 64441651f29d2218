//! The Register/Update object-link payload: test-vectors §6 byte for byte, the lenient reading
//! the digest asks for, and errors for bad paths.

use lwm2m_model::registration::{ObjectLinks, ObjectLinksError, RegisteredObject, RootLink};
use lwm2m_model::Version;
use proptest::prelude::*;

const PLAIN: &str = "</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>";
const JSON_HINT: &str =
    "</>;ct=11543,</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>";
const ALTERNATE: &str = r#"</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/1/1>,</lwm2m/2/0>,</lwm2m/2/1>,</lwm2m/2/2>,</lwm2m/2/3>,</lwm2m/2/4>,</lwm2m/3/0>,</lwm2m/4/0>,</lwm2m/5>"#;
const VERSIONED: &str = r#"</1/0>,</3/0>,</3303>;ver="1.1",</3303/0>"#;

fn parse(text: &str) -> ObjectLinks {
    ObjectLinks::parse(text.as_bytes()).unwrap()
}

#[test]
fn vectors_read_and_write_back_byte_for_byte() {
    for text in [PLAIN, JSON_HINT, ALTERNATE, VERSIONED] {
        let links = parse(text);
        assert_eq!(links.to_vec().unwrap(), text.as_bytes(), "{text}");
    }
}

#[test]
fn vectors_mean_what_they_say() {
    let plain = parse(PLAIN);
    assert_eq!(plain.root, None);
    assert_eq!(plain.alternate_path(), "");
    assert_eq!(
        plain.instances().collect::<Vec<_>>(),
        [
            (1, 0),
            (1, 1),
            (2, 0),
            (2, 1),
            (2, 2),
            (2, 3),
            (2, 4),
            (3, 0),
            (4, 0)
        ]
    );
    assert_eq!(plain.objects[&5], RegisteredObject::default());

    let hint = parse(JSON_HINT);
    assert_eq!(hint.content_format(), Some(11543));
    assert_eq!(hint.alternate_path(), "");
    assert_eq!(hint.objects, plain.objects);

    let alternate = parse(ALTERNATE);
    assert_eq!(
        alternate.root,
        Some(RootLink {
            path: "/lwm2m".into(),
            resource_type: true,
            content_format: None
        })
    );
    assert_eq!(alternate.alternate_path(), "/lwm2m");
    assert_eq!(alternate.objects, plain.objects);

    let versioned = parse(VERSIONED);
    assert_eq!(versioned.objects[&3303].version, Some(Version::new(1, 1)));
    assert_eq!(versioned.objects[&3].version, None);
}

#[test]
fn lenient_reading() {
    // Unquoted ver, spaces after commas, unknown attributes and foreign links are fine; the
    // Wakaama root link carries rt and ct together.
    let links = parse(
        r#"</>;rt="oma.lwm2m";ct=11543, </3303>;ver=1.1;foo=bar, </3303/0>;title="x,y", </sensors/temp>"#,
    );
    assert_eq!(links.content_format(), Some(11543));
    assert_eq!(links.objects[&3303].version, Some(Version::new(1, 1)));
    assert_eq!(links.instances().collect::<Vec<_>>(), [(3303, 0)]);
    // With an alternate path, links outside it are not LwM2M objects.
    let links = parse(r#"</lwm2m>;rt="oma.lwm2m",</lwm2m/3/0>,</other/1/0>"#);
    assert_eq!(links.instances().collect::<Vec<_>>(), [(3, 0)]);
    assert!(parse("").objects.is_empty());
    // Writing back a lenient payload gives the canonical form.
    assert_eq!(
        parse("</3/0>, </1/0>, </1/0>").to_vec().unwrap(),
        b"</1/0>,</3/0>"
    );
}

#[test]
fn errors() {
    let err = |text: &str| ObjectLinks::parse(text.as_bytes()).unwrap_err();
    assert!(matches!(err("</3/0"), ObjectLinksError::Syntax(_)));
    assert!(matches!(
        err("</3/x>"),
        ObjectLinksError::InvalidPath { .. }
    ));
    assert!(matches!(
        err("</3/0/1>"),
        ObjectLinksError::NotAnObjectOrInstance { .. }
    ));
    assert!(matches!(
        err("</3/65535>"),
        ObjectLinksError::NotAnObjectOrInstance { .. }
    ));
    assert!(matches!(
        err(r#"</3>;ver="one""#),
        ObjectLinksError::InvalidVersion { .. }
    ));
    assert!(matches!(
        err("</>;ct=json"),
        ObjectLinksError::InvalidContentFormat { .. }
    ));
    assert!(matches!(
        err(r#"</lwm2m/3>;rt="oma.lwm2m""#),
        ObjectLinksError::InvalidAlternatePath { .. }
    ));
    assert!(matches!(
        err(r#"</a>;rt="oma.lwm2m",</b>;rt="oma.lwm2m""#),
        ObjectLinksError::InvalidAlternatePath { .. }
    ));
    assert_eq!(
        err("</3/0/1>").to_string(),
        "link </3/0/1> is not an object /o or an object instance /o/i with ids 0-65534"
    );
}

fn any_links() -> impl Strategy<Value = ObjectLinks> {
    let object = (
        prop::option::of((0u8..10, 0u8..10).prop_map(|(a, b)| Version::new(a, b))),
        prop::collection::btree_set(0u16..=65534, 0..4),
    )
        .prop_map(|(version, instances)| RegisteredObject { version, instances });
    let root = prop::option::of(prop_oneof![
        (any::<bool>(), prop::option::of(any::<u16>())).prop_map(|(resource_type, ct)| RootLink {
            path: "/".into(),
            resource_type,
            content_format: ct,
        }),
        prop::option::of(any::<u16>()).prop_map(|ct| RootLink {
            path: "/lwm2m".into(),
            resource_type: true,
            content_format: ct,
        }),
    ]);
    (
        root,
        prop::collection::btree_map(0u16..=65534, object, 0..6),
    )
        .prop_map(|(root, objects)| ObjectLinks { root, objects })
}

proptest! {
    #[test]
    fn written_links_parse_back(links in any_links()) {
        let bytes = links.to_vec().unwrap();
        let mut expected = links.clone();
        // A plain `</>` without rt and ct says nothing and is written as `</>`, read as a root.
        if let Some(root) = &mut expected.root {
            if root.path == "/" && !root.resource_type && root.content_format.is_none() {
                prop_assert_eq!(&bytes[..3], b"</>");
            }
            root.resource_type |= root.path != "/";
        }
        prop_assert_eq!(ObjectLinks::parse(&bytes).unwrap(), expected);
    }

    #[test]
    fn arbitrary_payloads_never_panic(payload in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = ObjectLinks::parse(&payload);
    }

    #[test]
    fn link_like_payloads_never_panic(text in r#"(</[0-9a-z/]{0,8}>(;[a-z]{1,3}(=("[^"]{0,4}"|[0-9.]{1,5}))?){0,2},?){0,5}"#) {
        if let Ok(links) = ObjectLinks::parse(text.as_bytes()) {
            prop_assert!(links.to_vec().is_ok());
        }
    }
}
