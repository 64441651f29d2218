//! The CoRE link-format strings of test-vectors.md section 6: parse each one to the described
//! links and attributes, and write the same content back byte for byte.

use lwm2m_codec::link::{AttrValue, Entry, Link, LinkError, LinkFormat, LinkPath, LinkWriter};

const REGISTER: &str = "</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>";
const REGISTER_JSON: &str =
    "</>;ct=11543,</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>";
const REGISTER_ROOT: &str = r#"</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/1/1>,</lwm2m/2/0>,</lwm2m/2/1>,</lwm2m/2/2>,</lwm2m/2/3>,</lwm2m/2/4>,</lwm2m/3/0>,</lwm2m/4/0>,</lwm2m/5>"#;
const REGISTER_VER: &str = r#"</1/0>,</3/0>,</3303>;ver="1.1",</3303/0>"#;
const DISCOVER_OBJECT: &str =
    "</3>;pmin=10,</3/0>,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/6>,</3/0/7>,</3/0/8>,</3/0/11>,</3/0/16>";
const DISCOVER_INSTANCE: &str = "</3/0>;pmax=60,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2,</3/0/8>;dim=8,</3/0/11>,</3/0/16>";
const DISCOVER_RESOURCE: &str = "</3/0/7>;dim=8;pmin=10;pmax=60;gt=50;lt=42.2";
const BOOTSTRAP_DISCOVER_SECURITY: &str = r#"lwm2m="1.0",</0/0>;ssid=101,</0/1>,</0/2>;ssid=102"#;
const BOOTSTRAP_DISCOVER_ALL: &str =
    r#"lwm2m="1.0",</0/0>;ssid=101,</0/1>,</1/0>;ssid=101,</3/0>,</5>,</4>"#;

/// The ids of every link, under `root`.
fn paths(text: &str, root: &str) -> Vec<Vec<u16>> {
    LinkFormat::parse_str(text)
        .unwrap()
        .links()
        .map(|l| l.path_under(root).unwrap().ids().to_vec())
        .collect()
}

fn written(f: impl FnOnce(&mut LinkWriter<'_, Vec<u8>>)) -> String {
    let mut out = Vec::new();
    f(&mut LinkWriter::new(&mut out));
    String::from_utf8(out).unwrap()
}

const TS_OBJECTS: [&[u16]; 10] = [
    &[1, 0],
    &[1, 1],
    &[2, 0],
    &[2, 1],
    &[2, 2],
    &[2, 3],
    &[2, 4],
    &[3, 0],
    &[4, 0],
    &[5],
];

#[test]
fn register_payload() {
    assert_eq!(paths(REGISTER, ""), TS_OBJECTS.map(<[u16]>::to_vec));
    let links = LinkFormat::parse_str(REGISTER).unwrap();
    assert!(links.links().all(|l| l.attributes().next().is_none()));
    let out = written(|w| {
        for ids in TS_OBJECTS {
            w.link_path("", ids).unwrap();
        }
    });
    assert_eq!(out, REGISTER);
}

#[test]
fn register_payload_advertising_json() {
    let links = LinkFormat::parse_str(REGISTER_JSON).unwrap();
    let root = links.links().next().unwrap();
    assert_eq!(root.target(), "/");
    assert_eq!(root.path().unwrap().depth(), 0);
    assert_eq!(root.value("ct").unwrap().as_u16(), Ok(11543));
    assert_eq!(
        paths(REGISTER_JSON, "")[1..],
        TS_OBJECTS.map(<[u16]>::to_vec)
    );
    let out = written(|w| {
        w.link("/").unwrap().ct(11543).unwrap();
        for ids in TS_OBJECTS {
            w.link_path("", ids).unwrap();
        }
    });
    assert_eq!(out, REGISTER_JSON);
}

#[test]
fn register_payload_with_alternate_path() {
    let links = LinkFormat::parse_str(REGISTER_ROOT).unwrap();
    let root = links
        .links()
        .find(|l| l.value("rt").is_some_and(|rt| rt == "oma.lwm2m"))
        .unwrap();
    assert_eq!(root.target(), "/lwm2m");
    assert!(root.value("rt").unwrap().is_quoted());
    let under = paths(REGISTER_ROOT, root.target());
    assert!(under[0].is_empty());
    assert_eq!(under[1..], TS_OBJECTS.map(<[u16]>::to_vec));
    // Without the root the links are not numeric paths.
    assert!(links.links().nth(1).unwrap().path().is_err());
    let segments: Vec<&str> = links.links().nth(1).unwrap().segments().collect();
    assert_eq!(segments, ["lwm2m", "1", "0"]);

    let out = written(|w| {
        w.link_path("/lwm2m", &[]).unwrap().rt("oma.lwm2m").unwrap();
        for ids in TS_OBJECTS {
            w.link_path("/lwm2m", ids).unwrap();
        }
    });
    assert_eq!(out, REGISTER_ROOT);
}

#[test]
fn register_payload_with_object_version() {
    let links = LinkFormat::parse_str(REGISTER_VER).unwrap();
    let object = links.links().nth(2).unwrap();
    assert_eq!(object.path().unwrap().ids(), &[3303]);
    assert_eq!(object.value("ver"), Some(AttrValue::Quoted("1.1")));
    assert_eq!(object.value("ver").unwrap().as_str(), Some("1.1"));
    let out = written(|w| {
        w.link("/1/0").unwrap();
        w.link("/3/0").unwrap();
        w.link("/3303").unwrap().ver("1.1").unwrap();
        w.link("/3303/0").unwrap();
    });
    assert_eq!(out, REGISTER_VER);
}

#[test]
fn discover_object() {
    let links = LinkFormat::parse_str(DISCOVER_OBJECT).unwrap();
    let first = links.links().next().unwrap();
    assert_eq!(first.value("pmin").unwrap().as_u32(), Ok(10));
    assert_eq!(links.links().count(), 11);
    assert_eq!(paths(DISCOVER_OBJECT, "")[10], [3, 0, 16]);
    let out = written(|w| {
        w.link_path("", &[3]).unwrap().pmin(10).unwrap();
        w.link_path("", &[3, 0]).unwrap();
        for r in [1, 2, 3, 4, 6, 7, 8, 11, 16] {
            w.link_path("", &[3, 0, r]).unwrap();
        }
    });
    assert_eq!(out, DISCOVER_OBJECT);
}

#[test]
fn discover_instance() {
    let links = LinkFormat::parse_str(DISCOVER_INSTANCE).unwrap();
    let all: Vec<Link<'_>> = links.links().collect();
    assert_eq!(all.len(), 10);
    assert_eq!(all[0].value("pmax").unwrap().as_u32(), Ok(60));
    let seven = all[6];
    assert_eq!(seven.path().unwrap().ids(), &[3, 0, 7]);
    assert_eq!(seven.value("dim").unwrap().as_u16(), Ok(8));
    assert_eq!(seven.value("gt").unwrap().as_f64(), Ok(50.0));
    assert_eq!(seven.value("lt").unwrap().as_f64(), Ok(42.2));
    let names: Vec<&str> = seven.attributes().map(|a| a.name).collect();
    assert_eq!(names, ["dim", "gt", "lt"]);

    let out = written(|w| {
        w.link("/3/0").unwrap().pmax(60).unwrap();
        for r in [1, 2, 3, 4] {
            w.link_path("", &[3, 0, r]).unwrap();
        }
        w.link("/3/0/6").unwrap().dim(8).unwrap();
        w.link("/3/0/7")
            .unwrap()
            .dim(8)
            .unwrap()
            .gt(50.0)
            .unwrap()
            .lt(42.2)
            .unwrap();
        w.link("/3/0/8").unwrap().dim(8).unwrap();
        w.link("/3/0/11").unwrap();
        w.link("/3/0/16").unwrap();
    });
    assert_eq!(out, DISCOVER_INSTANCE);
}

#[test]
fn discover_resource() {
    let links = LinkFormat::parse_str(DISCOVER_RESOURCE).unwrap();
    let link = links.links().next().unwrap();
    let attrs: Vec<(&str, String)> = link
        .attributes()
        .map(|a| (a.name, a.value.unwrap().raw().to_owned()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("dim", "8"),
            ("pmin", "10"),
            ("pmax", "60"),
            ("gt", "50"),
            ("lt", "42.2")
        ]
        .map(|(n, v)| (n, v.to_owned()))
    );
    let out = written(|w| {
        w.link("/3/0/7")
            .unwrap()
            .dim(8)
            .unwrap()
            .pmin(10)
            .unwrap()
            .pmax(60)
            .unwrap()
            .gt(50.0)
            .unwrap()
            .lt(42.2)
            .unwrap();
    });
    assert_eq!(out, DISCOVER_RESOURCE);
}

#[test]
fn bootstrap_discover_security() {
    let links = LinkFormat::parse_str(BOOTSTRAP_DISCOVER_SECURITY).unwrap();
    let entries: Vec<Entry<'_>> = links.entries().collect();
    assert_eq!(entries.len(), 4);
    let Entry::Attribute(version) = entries[0] else {
        panic!("the version item is not a link");
    };
    assert_eq!(version.name, "lwm2m");
    assert_eq!(version.value, Some(AttrValue::Quoted("1.0")));
    assert_eq!(
        links.bare_attribute("lwm2m").and_then(|a| a.value),
        Some(AttrValue::Token("1.0"))
    );
    assert_eq!(links.bare_attribute("ssid"), None);
    let ssids: Vec<(Vec<u16>, Option<u16>)> = links
        .links()
        .map(|l| {
            (
                l.path().unwrap().ids().to_vec(),
                l.value("ssid").map(|v| v.as_u16().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        ssids,
        [
            (vec![0, 0], Some(101)),
            (vec![0, 1], None),
            (vec![0, 2], Some(102))
        ]
    );
    let out = written(|w| {
        w.lwm2m_version("1.0").unwrap();
        w.link_path("", &[0, 0]).unwrap().ssid(101).unwrap();
        w.link_path("", &[0, 1]).unwrap();
        w.link_path("", &[0, 2]).unwrap().ssid(102).unwrap();
    });
    assert_eq!(out, BOOTSTRAP_DISCOVER_SECURITY);
}

#[test]
fn bootstrap_discover_all() {
    let links = LinkFormat::parse_str(BOOTSTRAP_DISCOVER_ALL).unwrap();
    assert_eq!(
        paths(BOOTSTRAP_DISCOVER_ALL, ""),
        vec![
            vec![0, 0],
            vec![0, 1],
            vec![1, 0],
            vec![3, 0],
            vec![5],
            vec![4]
        ]
    );
    let out = written(|w| {
        for entry in links.entries() {
            w.entry(&entry).unwrap();
        }
    });
    assert_eq!(out, BOOTSTRAP_DISCOVER_ALL);
}

#[test]
fn every_vector_is_reproduced_by_copying_its_entries() {
    for vector in [
        REGISTER,
        REGISTER_JSON,
        REGISTER_ROOT,
        REGISTER_VER,
        DISCOVER_OBJECT,
        DISCOVER_INSTANCE,
        DISCOVER_RESOURCE,
        BOOTSTRAP_DISCOVER_SECURITY,
        BOOTSTRAP_DISCOVER_ALL,
    ] {
        let out = written(|w| {
            for entry in LinkFormat::parse_str(vector).unwrap().entries() {
                w.entry(&entry).unwrap();
            }
        });
        assert_eq!(out, vector);
    }
}

#[test]
fn comma_inside_a_quoted_string_is_one_link() {
    let links = LinkFormat::parse_str(r#"</a>;title="x,y""#).unwrap();
    let all: Vec<Link<'_>> = links.links().collect();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].target(), "/a");
    assert_eq!(all[0].value("title").unwrap().as_str(), Some("x,y"));
}

#[test]
fn quoted_and_bare_versions_are_equal() {
    let quoted = LinkFormat::parse_str(r#"</3>;ver="1.1""#).unwrap();
    let bare = LinkFormat::parse_str("</3>;ver=1.1").unwrap();
    let (q, b) = (quoted.links().next().unwrap(), bare.links().next().unwrap());
    assert_eq!(q.value("ver"), b.value("ver"));
    assert_eq!(q, b);
    assert!(q.value("ver").unwrap().eq_str("1.1"));
}

#[test]
fn white_space_after_commas_as_in_the_ts() {
    let spaced = LinkFormat::parse_str(
        "</3/0>;pmax=60, </3/0/1>, </3/0/6>;dim=8, </3/0/7>;dim=8;gt=50;lt=42.2",
    )
    .unwrap();
    let compact = LinkFormat::parse_str(
        "</3/0>;pmax=60,</3/0/1>,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2",
    )
    .unwrap();
    assert!(spaced.entries().eq(compact.entries()));
    assert_eq!(spaced.links().count(), 4);
}

#[test]
fn the_1_1_root_link_version_form_is_also_read() {
    let links =
        LinkFormat::parse_str(r#"</>;lwm2m=1.1,</0/0>;ssid=101;uri="coap://s:5683""#).unwrap();
    let root = links.links().next().unwrap();
    assert_eq!(root.value("lwm2m").unwrap(), "1.1");
    let security = links.links().nth(1).unwrap();
    assert_eq!(
        security.value("uri").unwrap().as_str(),
        Some("coap://s:5683")
    );
    assert_eq!(
        LinkPath::parse(security.target()).unwrap().instance(),
        Some(0)
    );
}

#[test]
fn malformed_payloads_are_refused_with_offsets() {
    let cases: &[(&[u8], LinkError)] = &[
        (b"/1/0", LinkError::ExpectedLink { offset: 0 }),
        (b"</1/0>,/3/0", LinkError::ExpectedLink { offset: 7 }),
        (b"</1/0", LinkError::UnterminatedTarget { offset: 0 }),
        (b"</1/0>,<>", LinkError::EmptyTarget { offset: 7 }),
        (
            b"</1/0>;title=\"x,y",
            LinkError::UnterminatedQuotedString { offset: 13 },
        ),
        (b"</1/0>;;ct=1", LinkError::BadAttributeName { offset: 7 }),
        (
            b"</1/0>;ct=",
            LinkError::InvalidAttributeValue { offset: 10 },
        ),
        (b"</1/0> </3/0>", LinkError::GarbageAfterLink { offset: 7 }),
        (
            b"</1/0>;ct=1\"x\"",
            LinkError::GarbageAfterLink { offset: 11 },
        ),
        (
            b"</1/\x00>",
            LinkError::InvalidTargetCharacter { offset: 4 },
        ),
        (b"</1/0>,</\xc3>", LinkError::InvalidUtf8 { offset: 9 }),
    ];
    for (input, expected) in cases {
        assert_eq!(
            LinkFormat::parse(input).unwrap_err(),
            *expected,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    let err = LinkFormat::parse(b"</1/0>;;ct=1").unwrap_err();
    assert!(err.to_string().contains("byte 7"), "{err}");
}

#[test]
fn empty_payload_is_an_empty_list() {
    assert_eq!(LinkFormat::parse(b"").unwrap().entries().count(), 0);
}
