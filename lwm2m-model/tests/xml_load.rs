//! Loading the OMA object definitions shipped in `shared/oma-objects`, checking them against the
//! spec digest's tables, and rejecting corrupted copies with errors that name file, object and
//! resource.

#![cfg(feature = "xml")]

use std::borrow::Cow;
use std::fs;
use std::path::{Path, PathBuf};

use lwm2m_model::xml::{self, XmlError, XmlErrorKind};
use lwm2m_model::{
    DataType, DefinitionErrorKind, Multiplicity, ObjectDefinition, Operations, Range, RangeError,
    Registry, Version,
};
use proptest::prelude::*;

fn shared_dir() -> PathBuf {
    // The repository sits beside `shared/` (/work/<repo>/lwm2m-model -> /work/shared).
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

fn objects_dir() -> PathBuf {
    shared_dir().join("oma-objects")
}

fn xml_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(objects_dir())
        .expect("shared/oma-objects is readable")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
}

fn registry() -> Registry {
    Registry::load_dir(objects_dir()).expect("every shipped XML file loads")
}

#[test]
fn every_shipped_file_loads() {
    let reg = registry();
    let ids: Vec<u16> = reg.objects().map(|d| d.id).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4, 5, 6, 7, 19, 3300, 3303, 3311, 3342]);
    assert_eq!(xml_files().len(), 13);
    for file in xml_files() {
        let defs = xml::load_file(&file).unwrap();
        assert_eq!(defs.len(), 1, "{}", file.display());
        let stem: u16 = file.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        assert_eq!(defs[0].id, stem);
        assert_eq!(defs[0].version, Version::V1_0, "{}", file.display());
        assert_eq!(defs[0].lwm2m_version, Version::V1_0, "{}", file.display());
    }
}

/// One row of a digest §15 resource table.
struct DigestRow {
    id: u16,
    ops: Operations,
    multiple: bool,
    mandatory: bool,
    data_type: Option<DataType>,
}

/// Reads the resource tables of digest §15 (objects 0-7), with the object heading's
/// multiplicity and mandatory flag.
fn digest_tables() -> Vec<(u16, bool, bool, Vec<DigestRow>)> {
    let text = fs::read_to_string(shared_dir().join("spec/lwm2m-1.0.md")).unwrap();
    let mut out: Vec<(u16, bool, bool, Vec<DigestRow>)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#### /") {
            let id: u16 = rest.split_whitespace().next().unwrap().parse().unwrap();
            let multiple = rest.contains("(Multiple instance(s)");
            let mandatory = rest.contains(", Mandatory)");
            out.push((id, multiple, mandatory, Vec::new()));
            continue;
        }
        if line.starts_with("### ") && !out.is_empty() && line.contains("15.1") {
            break;
        }
        let Some(current) = out.last_mut() else {
            continue;
        };
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Ok(id) = cells[0].parse::<u16>() else {
            continue;
        };
        assert_eq!(cells.len(), 7, "{line}");
        current.3.push(DigestRow {
            id,
            ops: match cells[2] {
                "—" => Operations::None,
                other => Operations::parse(other).unwrap(),
            },
            multiple: cells[3] == "M",
            mandatory: cells[4] == "M",
            data_type: match cells[5] {
                "none" => None,
                t => Some(DataType::from_name(t).unwrap()),
            },
        });
    }
    out
}

#[test]
fn core_objects_match_the_digest_tables() {
    let reg = registry();
    let tables = digest_tables();
    assert_eq!(
        tables.iter().map(|t| t.0).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5, 6, 7]
    );
    for (id, multiple, mandatory, rows) in tables {
        let def = reg.get(id).unwrap();
        assert_eq!(def.is_multiple(), multiple, "object {id}");
        assert_eq!(def.mandatory, mandatory, "object {id}");
        assert_eq!(def.resources.len(), rows.len(), "object {id}");
        for (res, row) in def.resources.iter().zip(&rows) {
            let at = format!("/{id} resource {}", row.id);
            assert_eq!(res.id, row.id, "{at}");
            assert_eq!(res.operations, row.ops, "{at}");
            assert_eq!(res.is_multiple(), row.multiple, "{at}");
            assert_eq!(res.mandatory, row.mandatory, "{at}");
            assert_eq!(res.data_type, row.data_type, "{at}");
        }
    }
}

#[test]
fn notable_details() {
    let reg = registry();
    // Security: no operations for LwM2M Servers, but every resource is typed.
    let security = reg.get(0).unwrap();
    assert!(security
        .resources
        .iter()
        .all(|r| r.operations == Operations::None && r.data_type.is_some()));
    assert_eq!(
        security.resource(8).unwrap().range,
        Some(Range::Lengths(Cow::Borrowed(&[16, 32, 48])))
    );
    assert_eq!(
        security.resource(0).unwrap().range,
        Some(Range::Length { min: 0, max: 255 })
    );
    assert_eq!(
        security.resource(7).unwrap().range,
        Some(Range::MaxBytes(6))
    );
    // Firmware Update 1.0 has no resource 4.
    let fw = reg.get(5).unwrap();
    assert!(fw.resource(4).is_none());
    assert_eq!(
        fw.resources.iter().map(|r| r.id).collect::<Vec<_>>(),
        [0, 1, 2, 3, 5, 6, 7, 8, 9]
    );
    assert_eq!(
        fw.resource(1).unwrap().range,
        Some(Range::Length { min: 0, max: 255 })
    );
    // Device.
    let device = reg.get(3).unwrap();
    assert_eq!(device.name, "Device");
    assert_eq!(device.urn, "urn:oma:lwm2m:oma:3");
    assert_eq!(device.multiplicity, Multiplicity::Single);
    let battery = device.resource(9).unwrap();
    assert_eq!(battery.name, "Battery Level");
    assert_eq!(battery.range, Some(Range::Integer { min: 0, max: 100 }));
    assert_eq!(battery.units.as_deref(), Some("%"));
    assert!(battery
        .description
        .starts_with("Contains the current battery level"));
    assert!(device.resource(4).unwrap().is_executable());
    assert_eq!(
        device
            .mandatory_resources()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        [4, 11, 16]
    );
    // The ACL is a 16-bit value; the Binding range is prose.
    assert_eq!(reg.resource(2, 2).unwrap().range, Some(Range::Bits(16)));
    assert!(matches!(
        reg.resource(1, 7).unwrap().range,
        Some(Range::Text(_))
    ));
    // IPSO: 16-bit resource ids, URN class ext.
    assert_eq!(
        reg.resource(3303, 5700).unwrap().data_type,
        Some(DataType::Float)
    );
    assert_eq!(reg.get(3311).unwrap().urn, "urn:oma:lwm2m:ext:3311");
    assert_eq!(reg.resource(19, 1).unwrap().range, Some(Range::MaxBytes(1)));
    // Descriptions have LF line breaks only.
    for def in reg.objects() {
        assert!(!def.description.contains('\r'));
        assert!(def.resources.iter().all(|r| !r.description.contains('\r')));
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn crlf_and_bom_variants_load_identically() {
    let dir = tempfile::tempdir().unwrap();
    for file in xml_files() {
        let name = file.file_name().unwrap().to_str().unwrap();
        let original = xml::load_file(&file).unwrap();
        let text = fs::read_to_string(&file).unwrap();
        let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
        let toggled_bom = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => format!("\u{feff}{text}"),
        };
        for variant in [crlf, toggled_bom] {
            let path = write(dir.path(), name, &variant);
            assert_eq!(xml::load_file(&path).unwrap(), original, "{name}");
        }
    }
}

/// The byte ranges of every `<Item ...>...</Item>` and its id.
fn items(xml: &str) -> Vec<(std::ops::Range<usize>, u16)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = xml[from..].find("<Item ID=\"").map(|i| i + from) {
        let id_start = start + "<Item ID=\"".len();
        let id_end = id_start + xml[id_start..].find('"').unwrap();
        let end = start + xml[start..].find("</Item>").unwrap() + "</Item>".len();
        out.push((start..end, xml[id_start..id_end].parse().unwrap()));
        from = end;
    }
    out
}

/// The text of element `tag` inside `item` (`""` for an empty or self-closing element).
fn element(item: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    match item.find(&open) {
        Some(s) => {
            let s = s + open.len();
            let e = s + item[s..].find(&format!("</{tag}>")).unwrap();
            item[s..e].trim().to_string()
        }
        None => String::new(),
    }
}

/// `item` with element `tag` replaced by `<tag>value</tag>` (handles the self-closing form).
fn set_element(item: &str, tag: &str, value: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let replacement = format!("<{tag}>{value}</{tag}>");
    if let Some(s) = item.find(&open) {
        let e = s + item[s..].find(&close).unwrap() + close.len();
        return format!("{}{replacement}{}", &item[..s], &item[e..]);
    }
    for form in [format!("<{tag} />"), format!("<{tag}/>")] {
        if let Some(s) = item.find(&form) {
            return format!("{}{replacement}{}", &item[..s], &item[s + form.len()..]);
        }
    }
    panic!("no <{tag}> in item");
}

fn replace_item(xml: &str, range: &std::ops::Range<usize>, new_item: &str) -> String {
    format!("{}{new_item}{}", &xml[..range.start], &xml[range.end..])
}

/// Loads `text` as `name` from a fresh directory, both alone and through `Registry::load_dir`
/// beside good copies of the other files; both must fail with the same error.
fn load_corrupted(name: &str, text: &str) -> XmlError {
    let alone = tempfile::tempdir().unwrap();
    let path = write(alone.path(), name, text);
    let err = xml::load_file(&path).unwrap_err();
    assert!(err.file.ends_with(name), "{err}");

    let with_others = tempfile::tempdir().unwrap();
    for file in xml_files() {
        fs::copy(&file, with_others.path().join(file.file_name().unwrap())).unwrap();
    }
    write(with_others.path(), name, text);
    let dir_err = Registry::load_dir(with_others.path()).unwrap_err();
    assert!(dir_err.file.ends_with(name), "{dir_err}");
    assert_eq!(
        dir_err.to_string().replace(&dir_err.file, ""),
        err.to_string().replace(&err.file, "")
    );
    err
}

fn expect_definition_error(err: &XmlError, object: u16, resource: u16, kind: &DefinitionErrorKind) {
    let XmlErrorKind::Definition(def) = &err.kind else {
        panic!("expected a definition error, got {err}");
    };
    assert_eq!(
        (def.object, def.resource, &def.kind),
        (object, Some(resource), kind),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("object {object}, resource {resource}")),
        "{message}"
    );
}

#[test]
fn corrupted_copies_fail_with_precise_errors() {
    for file in xml_files() {
        let name = file.file_name().unwrap().to_str().unwrap();
        let text = fs::read_to_string(&file).unwrap();
        let object = xml::load_file(&file).unwrap()[0].id;
        let all_items = items(&text);
        assert!(all_items.len() >= 2, "{name}");
        let (first_range, first_id) = all_items[0].clone();
        let (second_range, _) = all_items[1].clone();
        let (typed_range, typed_id) = all_items
            .iter()
            .find(|(r, _)| !element(&text[r.clone()], "Type").is_empty())
            .cloned()
            .unwrap();
        let typed_item = &text[typed_range.clone()];
        let typed_as = DataType::from_name(&element(typed_item, "Type")).unwrap();

        // Duplicate resource id: the second item takes the first one's id.
        let second = &text[second_range.clone()];
        let id_attr = second.split('"').nth(1).unwrap();
        let dup = second.replacen(
            &format!("ID=\"{id_attr}\""),
            &format!("ID=\"{first_id}\""),
            1,
        );
        let err = load_corrupted(name, &replace_item(&text, &second_range, &dup));
        expect_definition_error(
            &err,
            object,
            first_id,
            &DefinitionErrorKind::DuplicateResource,
        );

        // Unknown type.
        let unknown = set_element(typed_item, "Type", "Complex");
        let err = load_corrupted(name, &replace_item(&text, &typed_range, &unknown));
        expect_definition_error(
            &err,
            object,
            typed_id,
            &DefinitionErrorKind::UnknownType("Complex".into()),
        );

        // An executable with a type.
        let exec = set_element(typed_item, "Operations", "E");
        let err = load_corrupted(name, &replace_item(&text, &typed_range, &exec));
        expect_definition_error(
            &err,
            object,
            typed_id,
            &DefinitionErrorKind::ExecutableWithType(typed_as),
        );

        // A bad numeric range on the first resource whose type gives ranges a meaning.
        let (ranged_range, ranged_id) = all_items
            .iter()
            .find(|(r, _)| {
                matches!(
                    element(&text[r.clone()], "Type").as_str(),
                    "String" | "Integer" | "Float" | "Opaque" | "Time"
                )
            })
            .cloned()
            .unwrap();
        let bad_range = set_element(&text[ranged_range.clone()], "RangeEnumeration", "10-5");
        let err = load_corrupted(name, &replace_item(&text, &ranged_range, &bad_range));
        expect_definition_error(
            &err,
            object,
            ranged_id,
            &DefinitionErrorKind::BadRange {
                text: "10-5".into(),
                reason: RangeError::MinAboveMax,
            },
        );

        // Truncated in the middle of the resources.
        let cut = all_items[all_items.len() / 2].0.start + 5;
        let err = load_corrupted(name, &text[..cut]);
        assert!(matches!(err.kind, XmlErrorKind::Syntax(_)), "{name}: {err}");
        assert!(err.to_string().contains(name));

        // And a broken first item tag, for good measure.
        let broken = replace_item(&text, &first_range, "<Item ID=\"0\"><Name>x</Nam></Item>");
        let err = load_corrupted(name, &broken);
        assert!(matches!(err.kind, XmlErrorKind::Syntax(_)), "{name}: {err}");
    }
}

#[test]
fn directory_errors() {
    let missing = objects_dir().join("does-not-exist");
    let err = Registry::load_dir(&missing).unwrap_err();
    assert!(matches!(err.kind, XmlErrorKind::Io(_)));
    assert!(err.file.ends_with("does-not-exist"));

    // The same object in two files.
    let dir = tempfile::tempdir().unwrap();
    let device = fs::read_to_string(objects_dir().join("3.xml")).unwrap();
    write(dir.path(), "a.xml", &device);
    write(dir.path(), "b.xml", &device);
    write(dir.path(), "notes.txt", "not xml, ignored");
    let err = Registry::load_dir(dir.path()).unwrap_err();
    assert!(err.file.ends_with("b.xml"), "{err}");
    assert!(
        matches!(&err.kind, XmlErrorKind::DuplicateObject { object: 3, first_file } if first_file.ends_with("a.xml"))
    );

    // Not UTF-8.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.xml"), b"<LWM2M>\xff</LWM2M>").unwrap();
    let err = Registry::load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(err.kind, XmlErrorKind::NotUtf8 { offset: 7 }),
        "{err}"
    );

    // An empty directory gives an empty registry.
    let dir = tempfile::tempdir().unwrap();
    assert!(Registry::load_dir(dir.path()).unwrap().is_empty());
}

#[test]
fn add_xml_replaces_definitions() {
    let mut reg = registry();
    let text = fs::read_to_string(objects_dir().join("3303.xml")).unwrap();
    let renamed = text.replace("<Name>Temperature</Name>", "<Name>Temp</Name>");
    assert_eq!(reg.add_xml(&renamed, "renamed.xml").unwrap(), [3303]);
    assert_eq!(reg.get(3303).unwrap().name, "Temp");
    assert_eq!(reg.len(), 13);
}

fn device_xml() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| fs::read_to_string(objects_dir().join("3.xml")).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Arbitrary text never panics the loader.
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = xml::parse_objects(&text, "fuzz.xml");
    }

    /// A real file with a slice cut out, or a byte replaced, either loads or fails cleanly.
    #[test]
    fn mutated_device_file_never_panics(
        a in 0usize..20_000,
        b in 0usize..20_000,
        replacement in "[<>/=\"a-zA-Z0-9 ]{0,3}",
    ) {
        let text = device_xml();
        let (lo, hi) = (a.min(b) % text.len(), a.max(b) % text.len());
        if text.is_char_boundary(lo) && text.is_char_boundary(hi) {
            let mutated = format!("{}{replacement}{}", &text[..lo], &text[hi..]);
            match xml::parse_objects(&mutated, "3.xml") {
                Ok(defs) => for d in defs { prop_assert!(d.validate().is_ok()); },
                Err(e) => prop_assert!(e.to_string().starts_with("3.xml: ")),
            }
        }
    }
}

#[test]
fn definitions_are_plain_data() {
    // Loaded definitions compare equal to clones and can be re-validated.
    let reg = registry();
    let defs: Vec<ObjectDefinition> = reg.objects().cloned().collect();
    for d in &defs {
        assert_eq!(d.validate(), Ok(()));
        assert_eq!(reg.get(d.id), Some(d));
    }
}
