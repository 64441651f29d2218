use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::definition::{Multiplicity, Operations, Range, ResourceDefinition};
use crate::value::DataType;
use crate::version::Version;

fn resource(id: u16, name: &str, data_type: Option<DataType>) -> ResourceDefinition {
    ResourceDefinition {
        id,
        name: Cow::Owned(name.into()),
        operations: if data_type.is_some() {
            Operations::ReadWrite
        } else {
            Operations::Execute
        },
        multiplicity: Multiplicity::Single,
        mandatory: false,
        data_type,
        range: None,
        units: None,
        description: Cow::Borrowed("prose that must not be copied"),
    }
}

fn object(id: u16, name: &str, resources: Vec<ResourceDefinition>) -> ObjectDefinition {
    ObjectDefinition {
        id,
        name: Cow::Owned(name.into()),
        description: Cow::Borrowed("object prose that must not be copied"),
        urn: Cow::Owned(format!("urn:oma:lwm2m:x:{id}")),
        version: Version::new(1, 1),
        lwm2m_version: Version::V1_0,
        multiplicity: Multiplicity::Multiple,
        mandatory: false,
        resources: Cow::Owned(resources),
    }
}

fn only_module(generator: &Generator) -> GeneratedModule {
    let generated = generator.generate().unwrap();
    assert_eq!(generated.modules().len(), 1);
    generated.modules()[0].clone()
}

const XML_HEAD: &str = r#"<LWM2M><Object ObjectType="MODefinition"><Name>Probe</Name>
<ObjectID>32771</ObjectID><ObjectURN>urn:oma:lwm2m:x:32771</ObjectURN>
<MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Resources>"#;

fn xml_item(id: u16, name: &str, ty: &str) -> String {
    format!(
        "<Item ID=\"{id}\"><Name>{name}</Name><Operations>R</Operations>\
         <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>\
         <Type>{ty}</Type><RangeEnumeration/><Units/><Description>x</Description></Item>"
    )
}

fn xml(items: &str) -> String {
    format!("{XML_HEAD}{items}</Resources></Object></LWM2M>")
}

#[test]
fn every_range_kind_and_number_is_written_exactly() {
    let mut resources = vec![
        resource(0, "Latitude", Some(DataType::Float)),
        resource(1, "Big", Some(DataType::Integer)),
        resource(2, "Key", Some(DataType::Opaque)),
        resource(3, "Short", Some(DataType::String)),
        resource(4, "Acl", Some(DataType::Integer)),
        resource(5, "Mode \"quoted\" \\ `tick`", Some(DataType::String)),
        resource(6, "Name", Some(DataType::String)),
    ];
    resources[0].range = Some(Range::Float {
        min: -90.0,
        max: 43.918_998,
    });
    resources[0].units = Some(Cow::Borrowed("°"));
    resources[1].range = Some(Range::Integer {
        min: i64::MIN,
        max: 1_367_491_215,
    });
    resources[2].range = Some(Range::Lengths(Cow::Owned(vec![16, 32, 48])));
    resources[3].range = Some(Range::MaxBytes(6));
    resources[4].range = Some(Range::Bits(16));
    resources[5].range = Some(Range::Text(Cow::Borrowed("U, `UQ`\n<b>S</b>")));
    resources[6].range = Some(Range::Length { min: 0, max: 255 });
    let module =
        only_module(&Generator::new().definition("mem", object(40000, "Ranges", resources)));
    let code = module.code();
    for expected in [
        "Range::Float {\n            min: -90.0,\n            max: 43.918_998,\n        }",
        "min: -9_223_372_036_854_775_808,",
        "max: 1_367_491_215,",
        "Range::Lengths(Cow::Borrowed(&[16, 32, 48]))",
        "Range::MaxBytes(6)",
        "Range::Bits(16)",
        r#"Range::Text(Cow::Borrowed("U, `UQ`\n<b>S</b>"))"#,
        "Range::Length { min: 0, max: 255 }",
        r#"name: Cow::Borrowed("Mode \"quoted\" \\ `tick`"),"#,
        r#"units: Some(Cow::Borrowed("°")),"#,
        // Doc text from the XML is one-line inline code without backticks.
        "/// `Mode \"quoted\" \\ 'tick'` (resource 5): String, operations RW, single instance, \
         optional. Range `U, 'UQ' <b>S</b>`.",
        "pub mode_quoted_tick: Option<CompactString>,",
        "ModeQuotedTick = 5,",
    ] {
        assert!(code.contains(expected), "missing {expected:?} in\n{code}");
    }
    assert!(!code.contains("prose"));
    assert!(code.contains("pub const VERSION: Version = Version::new(1, 1);"));
}

#[test]
fn fields_follow_multiplicity_and_mandatory() {
    let mut resources = vec![
        resource(0, "One", Some(DataType::Integer)),
        resource(1, "Maybe", Some(DataType::Time)),
        resource(2, "Many", Some(DataType::Objlnk)),
        resource(3, "Perhaps Many", Some(DataType::Opaque)),
        resource(4, "Go", None),
        resource(5, "Flag", Some(DataType::Boolean)),
    ];
    resources[0].mandatory = true;
    resources[2].mandatory = true;
    resources[2].multiplicity = Multiplicity::Multiple;
    resources[3].multiplicity = Multiplicity::Multiple;
    resources[4].mandatory = true;
    let code = only_module(&Generator::new().definition("mem", object(40001, "Shapes", resources)))
        .code()
        .to_string();
    for expected in [
        "pub one: i64,",
        "pub maybe: Option<i64>,",
        "pub many: ResourceInstances<ObjectLink>,",
        "pub perhaps_many: Option<ResourceInstances<Vec<u8>>>,",
        "pub flag: Option<bool>,",
        ".single(0, DataType::Integer, &self.one)",
        ".optional(1, DataType::Time, self.maybe.as_ref())",
        ".multiple(2, DataType::Objlnk, &self.many)",
        ".optional_multiple(3, DataType::Opaque, self.perhaps_many.as_ref())",
        "one: reader.mandatory(0, DataType::Integer)?,",
        "many: reader.mandatory_multiple(2, DataType::Objlnk)?,",
        "reader.executables(&[4])?;",
        "Executable resources have no field (see [`ResourceId`]): `Go` (4, mandatory).",
        "ResourceInstances,",
        "use ::alloc::vec::Vec;",
        "ObjectLink",
    ] {
        assert!(code.contains(expected), "missing {expected:?} in\n{code}");
    }
    assert!(!code.contains("pub go"), "executables have no field");
    // A mandatory single object link has no default value, so neither has the struct.
    assert!(code.contains("#[derive(Debug, Clone, PartialEq, Default)]"));
    let no_default = {
        let mut link = resource(0, "Link", Some(DataType::Objlnk));
        link.mandatory = true;
        only_module(&Generator::new().definition("mem", object(40002, "Linked", vec![link])))
    };
    assert!(no_default
        .code()
        .contains("#[derive(Debug, Clone, PartialEq)]\n"));
    assert!(
        !no_default.code().contains("{CompactString,"),
        "no unused import"
    );
    assert!(!no_default.code().contains("ResourceInstances,"));
}

#[test]
fn clashing_and_awkward_names() {
    let resources = vec![
        resource(5852, "On time", Some(DataType::Integer)),
        resource(5853, "On Time", Some(DataType::Integer)),
        resource(5854, "type", Some(DataType::String)),
        resource(5855, "***", Some(DataType::String)),
    ];
    let module =
        only_module(&Generator::new().definition("mem", object(40003, "Range", resources)));
    assert_eq!(
        module.type_name(),
        "RangeObject",
        "the struct may not shadow an import"
    );
    assert_eq!(module.module_name(), "range_object");
    let code = module.code();
    for expected in [
        "OnTime = 5852,",
        "OnTime5853 = 5853,",
        "pub on_time: Option<i64>,",
        "pub on_time_5853: Option<i64>,",
        "pub type_: Option<CompactString>,",
        "Resource5855 = 5855,",
        "pub resource_5855: Option<CompactString>,",
    ] {
        assert!(code.contains(expected), "missing {expected:?} in\n{code}");
    }
}

#[test]
fn type_names_and_modules() {
    let a = object(40004, "LWM2M Thing", vec![]);
    let b = object(40005, "LwM2M Thing", vec![]);
    let generated = Generator::new()
        .definition("a", a.clone())
        .definition("b", b.clone())
        .generate()
        .unwrap();
    let names: Vec<(&str, &str)> = generated
        .modules()
        .iter()
        .map(|m| (m.type_name(), m.module_name()))
        .collect();
    assert_eq!(names, [("Thing", "thing"), ("Thing40005", "thing40005")]);

    let renamed = only_module(
        &Generator::new()
            .definition("a", a.clone())
            .type_name(40004, "Gizmo"),
    );
    assert_eq!(
        (renamed.type_name(), renamed.module_name()),
        ("Gizmo", "gizmo")
    );
    assert_eq!(renamed.object_id(), 40004);
    assert_eq!(renamed.version(), Version::new(1, 1));
    assert_eq!(renamed.object_name(), "LWM2M Thing");
    assert_eq!(renamed.source(), "a");
    // An object without resources still gives a compilable conversion.
    assert!(renamed.code().contains("let _ = instance;"));

    let bad = Generator::new()
        .definition("a", a)
        .type_name(40004, "not a name")
        .generate()
        .unwrap_err();
    assert!(matches!(
        bad,
        CodegenError::InvalidOption {
            option: "type_name",
            ..
        }
    ));
}

#[test]
fn errors_name_the_file_object_and_resource() {
    let bad_type = Generator::new()
        .object_xml("probe.xml", xml(&xml_item(7, "Level", "Number")))
        .generate()
        .unwrap_err();
    assert_eq!(
        bad_type.to_string(),
        "probe.xml: object 32771, resource 7: unknown type \"Number\""
    );

    let missing = Generator::new()
        .object_file("/nonexistent/dir/9.xml")
        .generate()
        .unwrap_err();
    assert!(missing
        .to_string()
        .starts_with("/nonexistent/dir/9.xml: cannot read"));

    let twice = Generator::new()
        .object_xml("first.xml", xml(""))
        .object_xml("second.xml", xml(""))
        .generate()
        .unwrap_err();
    assert_eq!(
        twice.to_string(),
        "second.xml: object 32771 is already defined in first.xml"
    );

    assert!(matches!(
        Generator::new().generate().unwrap_err(),
        CodegenError::NoObjects
    ));

    let mut invalid = resource(3, "Go", None);
    invalid.data_type = Some(DataType::Integer);
    invalid.operations = Operations::Execute;
    let err = Generator::new()
        .definition("hand-made", object(40006, "Bad", vec![invalid]))
        .generate()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "hand-made: object 40006, resource 3: executable resource has type Integer \
         (executable resources have no type)"
    );

    for (generator, option) in [
        (Generator::new().model_crate("not a path"), "model_crate"),
        (Generator::new().objects_crate(""), "objects_crate"),
        (Generator::new().alloc_crate("::std::"), "alloc_crate"),
    ] {
        let err = generator
            .object_xml("probe.xml", xml(""))
            .generate()
            .unwrap_err();
        assert!(
            matches!(&err, CodegenError::InvalidOption { option: o, .. } if *o == option),
            "{err}"
        );
    }
}

#[test]
fn module_files_and_single_file() {
    let generated = Generator::new()
        .object_xml("probe.xml", xml(&xml_item(0, "Level", "Integer")))
        .definition("mem", object(40007, "Other Thing", vec![]))
        .generated_by("a test")
        .model_crate("crate::model")
        .alloc_crate("::std")
        .generate()
        .unwrap();
    let files = generated.files().unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["mod.rs", "probe.rs", "other_thing.rs"]);
    let mod_rs = &files[0].1;
    for expected in [
        "// @generated by a test from probe.xml, mem; do not edit\n",
        "/// Object 32771 `Probe` (version 1.0), generated from `probe.xml`.\npub mod probe;",
        "pub use self::probe::Probe;\npub use self::other_thing::OtherThing;",
        "pub static DEFINITIONS: [&crate::model::ObjectDefinition; 2] = [\n    \
         &self::probe::DEFINITION,",
    ] {
        assert!(
            mod_rs.contains(expected),
            "missing {expected:?} in\n{mod_rs}"
        );
    }
    let probe = &files[1].1;
    assert!(probe.starts_with(
        "// @generated by a test from probe.xml (object 32771 version 1.0); do not edit\n"
    ));
    assert!(probe.contains("use ::std::borrow::Cow;"));
    assert!(probe.contains("use crate::model::{"));

    let single = generated.single_file().unwrap();
    assert!(single.starts_with("// @generated by a test from probe.xml, mem; do not edit\n"));
    assert!(single.contains("pub mod probe {\n"));
    assert!(single.contains("pub mod other_thing {\n"));
    assert!(single.contains("pub static DEFINITIONS: [&crate::model::ObjectDefinition; 2] = ["));
    assert!(single.contains("&probe::DEFINITION"));
    assert!(single.contains("&other_thing::DEFINITION"));
    syn::parse_file(&single).unwrap();
    // Items are separated by blank lines.
    assert!(probe.contains(";\n\n/// The version of object 32771"));
}

#[test]
fn generate_module_and_determinism() {
    let definition = object(
        40008,
        "Once",
        vec![resource(1, "Value", Some(DataType::Float))],
    );
    let a = generate_module(&definition).unwrap();
    let b = generate_module(&definition).unwrap();
    assert_eq!(a, b);
    assert!(a.starts_with(
        "// @generated by lwm2m_model::codegen from Once (object 40008 version 1.1); do not edit\n"
    ));
    assert!(a.contains("pub struct Once {"));
}

#[test]
fn build_script_helper_writes_only_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("probe.xml");
    std::fs::write(&input, xml(&xml_item(3, "Level", "Integer"))).unwrap();
    let out = dir.path().join("objects.rs");
    build_rs([&input], &out).unwrap();
    let first = std::fs::read_to_string(&out).unwrap();
    assert!(
        first.starts_with("// @generated by lwm2m_model::codegen from probe.xml; do not edit\n")
    );
    assert!(first.contains("pub mod probe {"));
    let stamp = std::fs::metadata(&out).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    build_rs([&input], &out).unwrap();
    assert_eq!(std::fs::metadata(&out).unwrap().modified().unwrap(), stamp);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), first);

    let err = build_rs([&input], dir.path().join("missing/objects.rs")).unwrap_err();
    assert!(matches!(err, CodegenError::Write { .. }), "{err}");
    assert!(err.to_string().contains("missing/objects.rs"));
}

fn any_data_type() -> impl Strategy<Value = Option<DataType>> {
    prop_oneof![
        Just(None),
        prop::sample::select(DataType::ALL.to_vec()).prop_map(Some)
    ]
}

fn any_resource() -> impl Strategy<Value = (String, Option<DataType>, bool, bool, String)> {
    (
        any::<String>(),
        any_data_type(),
        any::<bool>(),
        any::<bool>(),
        any::<String>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the names, units and range texts, the generator produces code that parses (it
    /// parses every module itself and would return `CodegenError::Format`).
    #[test]
    fn any_names_give_valid_code(
        object_name in any::<String>(),
        items in prop::collection::btree_map(0u16..=MAX_ID_FOR_TESTS, any_resource(), 0..12),
    ) {
        let resources = items
            .into_iter()
            .map(|(id, (name, data_type, multiple, mandatory, text))| {
                let mut r = resource(id, &name, data_type);
                if multiple {
                    r.multiplicity = Multiplicity::Multiple;
                }
                r.mandatory = mandatory;
                r.units = Some(Cow::Owned(text.clone()));
                r.range = data_type.map(|_| Range::Text(Cow::Owned(text)));
                r
            })
            .collect();
        let generated = Generator::new()
            .definition("any", object(12345, &object_name, resources))
            .generate();
        prop_assert!(generated.is_ok(), "{:?}", generated.err());
        let generated = generated.unwrap();
        let module = &generated.modules()[0];
        prop_assert!(names::is_identifier(module.type_name()));
        prop_assert!(names::is_identifier(module.module_name()));
        prop_assert!(generated.single_file().is_ok());
    }
}

const MAX_ID_FOR_TESTS: u16 = crate::path::MAX_ID;
