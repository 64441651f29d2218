//! Proves the link-format reader allocates nothing: parsing a Register payload and a Discover
//! answer, then walking every link, every path segment and every attribute (including numeric
//! conversions and escape-free string access) happens inside `allocation_counter::measure`.

use lwm2m_codec::link::{Entry, LinkFormat};

const REGISTER: &[u8] = br#"</lwm2m>;rt="oma.lwm2m";ct=11543,</lwm2m/1/0>,</lwm2m/1/1>,</lwm2m/2/0>,</lwm2m/2/1>,</lwm2m/2/2>,</lwm2m/2/3>,</lwm2m/2/4>,</lwm2m/3/0>,</lwm2m/4/0>,</lwm2m/5>,</lwm2m/3303>;ver="1.1",</lwm2m/3303/0>"#;
const DISCOVER: &[u8] = b"</3/0>;pmax=60, </3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2,</3/0/8>;dim=8,</3/0/11>,</3/0/16>";
const BOOTSTRAP_DISCOVER: &[u8] =
    br#"lwm2m="1.0",</0/0>;ssid=101,</0/1>,</1/0>;ssid=101,</3/0>,</5>,</4>"#;

/// Touches everything a server does with a payload and returns a checksum of what it saw, so
/// the work cannot be optimised away and the test can check it really walked the payload.
fn walk(payload: &[u8]) -> (usize, usize, usize, u64) {
    let links = LinkFormat::parse(payload).expect("valid payload");
    let (mut n_links, mut n_segments, mut n_attributes, mut sum) = (0, 0, 0, 0_u64);
    for entry in links.entries() {
        match entry {
            Entry::Link(link) => {
                n_links += 1;
                for segment in link.segments() {
                    n_segments += 1;
                    sum += segment.len() as u64;
                }
                if let Ok(path) = link.path_under("/lwm2m").or_else(|_| link.path()) {
                    sum += path.ids().iter().map(|&id| u64::from(id)).sum::<u64>();
                }
                for attribute in link.attributes() {
                    n_attributes += 1;
                    sum += attribute.name.len() as u64;
                    if let Some(value) = attribute.value {
                        sum += value.as_str().map_or(0, str::len) as u64;
                        sum += u64::from(value.as_u32().unwrap_or(0));
                        sum += value.as_f64().unwrap_or(0.0) as u64;
                        sum += u64::from(value.eq_str("1.1"));
                    }
                }
            }
            Entry::Attribute(attribute) => {
                n_attributes += 1;
                sum += attribute.value.and_then(|v| v.as_str()).map_or(0, str::len) as u64;
            }
        }
    }
    (n_links, n_segments, n_attributes, sum)
}

#[test]
fn parsing_and_walking_link_format_allocates_nothing() {
    let mut seen = Vec::with_capacity(3);
    let info = allocation_counter::measure(|| {
        for payload in [REGISTER, DISCOVER, BOOTSTRAP_DISCOVER] {
            let result = walk(std::hint::black_box(payload));
            // `seen` has room reserved; pushing into it does not allocate.
            seen.push(result);
        }
    });
    assert_eq!(info.count_total, 0, "allocations: {info:?}");
    assert_eq!(info.bytes_total, 0);

    // The walk really visited everything.
    assert_eq!(seen[0].0, 13);
    // /lwm2m, nine /lwm2m/o/i, /lwm2m/5, /lwm2m/3303, /lwm2m/3303/0
    assert_eq!(seen[0].1, 1 + 9 * 3 + 2 + 2 + 3);
    assert_eq!(seen[0].2, 3);
    assert_eq!(seen[1].0, 10);
    assert_eq!(seen[1].2, 6);
    assert_eq!(seen[2].0, 6);
    assert_eq!(seen[2].2, 3);
}

#[test]
fn the_counter_does_see_allocations() {
    // Guards against a counter that reports 0 for everything.
    let info = allocation_counter::measure(|| {
        let v: Vec<u8> = std::hint::black_box(Vec::with_capacity(16));
        drop(v);
    });
    assert_eq!(info.count_total, 1);
}
