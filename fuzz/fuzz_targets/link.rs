//! Fuzz target for the link-format reader: parse, walk every link, segment and attribute, and
//! when parsing succeeds write the entries again, parse that and compare.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lwm2m_codec::link::{Entry, LinkFormat, LinkWriter};

fuzz_target!(|data: &[u8]| {
    let Ok(links) = LinkFormat::parse(data) else {
        return;
    };
    let mut copy = Vec::new();
    let mut writer = LinkWriter::new(&mut copy);
    for entry in links.entries() {
        if let Entry::Link(link) = entry {
            let _ = link.segments().count();
            let _ = link.path();
            let _ = link.path_under("/lwm2m");
            for attribute in link.attributes() {
                if let Some(value) = attribute.value {
                    let _ = (value.unescaped(), value.as_u16(), value.as_u32(), value.as_f64());
                }
            }
        }
        writer.entry(&entry).expect("a parsed entry is always writable");
    }
    let again = LinkFormat::parse(&copy).expect("the writer's output parses");
    assert!(again.entries().eq(links.entries()));
});
