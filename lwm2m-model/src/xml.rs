//! OMA DDF XML (the LwM2M object definition files of the OMA registry) → [`ObjectDefinition`].
//!
//! Parsing has three steps. quick-xml + serde read the document into plain optional string
//! fields, so that no field is rejected with a message the user cannot act on. A conversion step
//! then checks every field and builds the definition, naming the object and resource in each
//! error. Last, [`ObjectDefinition::validate`] applies the template rules (duplicate ids,
//! executable with a type, non-executable without one). Every error also names the file.
//!
//! Tolerated, because the registry files really look like this: a UTF-8 byte order mark, CRLF or
//! LF line endings, missing `LWM2MVersion`/`ObjectVersion` (1.0), empty `<Operations>` (Security
//! object: no operation for LwM2M Servers), empty `<Type>` for executables, self-closing empty
//! elements, unknown extra elements and attributes.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use std::path::Path as FsPath;

use serde::Deserialize;

use crate::definition::{
    DefinitionError, DefinitionErrorKind, Multiplicity, ObjectDefinition, Operations, Range,
    Registry, ResourceDefinition,
};
use crate::path::MAX_ID;
use crate::value::DataType;
use crate::version::Version;

/// An XML definition file could not be loaded; names the file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {kind}")]
pub struct XmlError {
    /// The file (its path as given, or the source name passed to [`parse_objects`]).
    pub file: String,
    /// What is wrong.
    pub kind: XmlErrorKind,
}

/// What is wrong with an XML definition file.
#[derive(Debug, thiserror::Error)]
pub enum XmlErrorKind {
    /// The file or directory could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not UTF-8.
    #[error("not valid UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The XML is malformed (truncated, unbalanced tags, duplicate elements ...).
    #[error("malformed XML: {0}")]
    Syntax(String),
    /// The document has no `<Object>` element.
    #[error("no <Object> element")]
    NoObject,
    /// An `<ObjectID>` is missing or not a number from 0 to 65534.
    #[error("invalid or missing <ObjectID> {0:?} (expected 0-65534)")]
    InvalidObjectId(String),
    /// A field or rule of the object template is violated (names object and resource).
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// Two files (or two objects of one file) define the same object id.
    #[error("object {object} is defined again (first in {first_file})")]
    DuplicateObject {
        /// The object id.
        object: u16,
        /// The file that defined it first.
        first_file: String,
    },
}

#[derive(Deserialize)]
struct XmlRoot {
    #[serde(rename = "Object", default)]
    objects: Vec<XmlObject>,
}

#[derive(Deserialize)]
struct XmlObject {
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(rename = "Description1")]
    description: Option<String>,
    #[serde(rename = "ObjectID")]
    id: Option<String>,
    #[serde(rename = "ObjectURN")]
    urn: Option<String>,
    #[serde(rename = "LWM2MVersion")]
    lwm2m_version: Option<String>,
    #[serde(rename = "ObjectVersion")]
    version: Option<String>,
    #[serde(rename = "MultipleInstances")]
    multiple: Option<String>,
    #[serde(rename = "Mandatory")]
    mandatory: Option<String>,
    #[serde(rename = "Resources")]
    resources: Option<XmlResources>,
}

#[derive(Deserialize)]
struct XmlResources {
    #[serde(rename = "Item", default)]
    items: Vec<XmlItem>,
}

#[derive(Deserialize)]
struct XmlItem {
    #[serde(rename = "@ID")]
    id: Option<String>,
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(rename = "Operations")]
    operations: Option<String>,
    #[serde(rename = "MultipleInstances")]
    multiple: Option<String>,
    #[serde(rename = "Mandatory")]
    mandatory: Option<String>,
    #[serde(rename = "Type")]
    data_type: Option<String>,
    #[serde(rename = "RangeEnumeration")]
    range: Option<String>,
    #[serde(rename = "Units")]
    units: Option<String>,
    #[serde(rename = "Description")]
    description: Option<String>,
}

/// Parses every `<Object>` of an OMA DDF XML document.
///
/// `source` names the document in errors (usually its file name). A leading byte order mark is
/// skipped. The definitions are validated; their resources are sorted by id.
///
/// ```
/// let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
/// <LWM2M><Object ObjectType="MODefinition">
///   <Name>Demo</Name><Description1/><ObjectID>32769</ObjectID>
///   <ObjectURN>urn:oma:lwm2m:x:32769</ObjectURN>
///   <MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory>
///   <Resources>
///     <Item ID="1"><Name>Go</Name><Operations>E</Operations><MultipleInstances>Single</MultipleInstances>
///       <Mandatory>Mandatory</Mandatory><Type></Type><RangeEnumeration/><Units/><Description/></Item>
///     <Item ID="0"><Name>Level</Name><Operations>RW</Operations><MultipleInstances>Single</MultipleInstances>
///       <Mandatory>Optional</Mandatory><Type>Integer</Type><RangeEnumeration>0-100</RangeEnumeration>
///       <Units>%</Units><Description>How full</Description></Item>
///   </Resources>
/// </Object></LWM2M>"#;
/// let objects = lwm2m_model::xml::parse_objects(xml, "demo.xml")?;
/// let demo = &objects[0];
/// assert_eq!(demo.version.to_string(), "1.0"); // absent ObjectVersion
/// assert_eq!(demo.resources[0].name, "Level"); // sorted by id
/// assert_eq!(demo.resources[1].data_type, None); // executable
/// # Ok::<(), lwm2m_model::xml::XmlError>(())
/// ```
pub fn parse_objects(xml: &str, source: &str) -> Result<Vec<ObjectDefinition>, XmlError> {
    let error = |kind| XmlError {
        file: source.to_string(),
        kind,
    };
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let root: XmlRoot =
        quick_xml::de::from_str(xml).map_err(|e| error(XmlErrorKind::Syntax(e.to_string())))?;
    if root.objects.is_empty() {
        return Err(error(XmlErrorKind::NoObject));
    }
    root.objects
        .into_iter()
        .map(|o| convert(o).map_err(&error))
        .collect()
}

/// Reads and parses one XML file.
pub fn load_file(path: impl AsRef<FsPath>) -> Result<Vec<ObjectDefinition>, XmlError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| XmlError {
        file: file.clone(),
        kind: XmlErrorKind::Io(e),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| XmlError {
        file: file.clone(),
        kind: XmlErrorKind::NotUtf8 {
            offset: e.utf8_error().valid_up_to(),
        },
    })?;
    parse_objects(&text, &file)
}

impl Registry {
    /// Loads every `*.xml` file of a directory (not recursive, in file-name order) into a new
    /// registry. Two files defining the same object id are an error.
    pub fn load_dir(dir: impl AsRef<FsPath>) -> Result<Registry, XmlError> {
        let dir = dir.as_ref();
        let io_error = |e| XmlError {
            file: dir.display().to_string(),
            kind: XmlErrorKind::Io(e),
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_error)? {
            let path = entry.map_err(io_error)?.path();
            let is_xml = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
            if is_xml && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let mut registry = Registry::new();
        let mut origin: BTreeMap<u16, String> = BTreeMap::new();
        for path in files {
            let file = path.display().to_string();
            for definition in load_file(&path)? {
                if let Some(first_file) = origin.get(&definition.id) {
                    return Err(XmlError {
                        file,
                        kind: XmlErrorKind::DuplicateObject {
                            object: definition.id,
                            first_file: first_file.clone(),
                        },
                    });
                }
                origin.insert(definition.id, file.clone());
                registry.insert(definition).map_err(|e| XmlError {
                    file: file.clone(),
                    kind: XmlErrorKind::Definition(e),
                })?;
            }
        }
        Ok(registry)
    }

    /// Parses an XML document and adds (or replaces) its objects; returns their ids.
    pub fn add_xml(&mut self, xml: &str, source: &str) -> Result<Vec<u16>, XmlError> {
        let definitions = parse_objects(xml, source)?;
        let ids = definitions.iter().map(|d| d.id).collect();
        for definition in definitions {
            self.insert(definition).map_err(|e| XmlError {
                file: source.to_string(),
                kind: XmlErrorKind::Definition(e),
            })?;
        }
        Ok(ids)
    }
}

/// The trimmed text of an element, `""` when absent or empty.
fn text(field: Option<&String>) -> &str {
    field.map_or("", |s| s.trim())
}

/// Descriptions keep their inner line breaks, normalised to LF.
fn description(field: Option<String>) -> Cow<'static, str> {
    let text = field.unwrap_or_default();
    let trimmed = text.trim();
    Cow::Owned(if trimmed.contains('\r') {
        trimmed.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        trimmed.to_string()
    })
}

fn parse_id(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|&id| id <= MAX_ID)
}

fn parse_version(field: Option<&String>, object: u16) -> Result<Version, DefinitionError> {
    match text(field) {
        "" => Ok(Version::V1_0),
        t => Version::parse(t).map_err(|_| {
            DefinitionError::object(object, DefinitionErrorKind::InvalidVersion(t.to_string()))
        }),
    }
}

fn parse_mandatory(text: &str) -> Option<bool> {
    match text {
        "Mandatory" => Some(true),
        "Optional" => Some(false),
        _ => None,
    }
}

fn convert(object: XmlObject) -> Result<ObjectDefinition, XmlErrorKind> {
    let id_text = text(object.id.as_ref());
    let id = parse_id(id_text).ok_or_else(|| XmlErrorKind::InvalidObjectId(id_text.to_string()))?;
    let err = |kind| DefinitionError::object(id, kind);

    let name = text(object.name.as_ref());
    if name.is_empty() {
        return Err(err(DefinitionErrorKind::MissingElement("Name")).into());
    }
    let urn = text(object.urn.as_ref());
    if urn.is_empty() {
        return Err(err(DefinitionErrorKind::MissingElement("ObjectURN")).into());
    }
    let multiple = text(object.multiple.as_ref());
    let multiplicity = Multiplicity::parse(multiple).ok_or_else(|| {
        err(DefinitionErrorKind::InvalidMultiplicity(
            multiple.to_string(),
        ))
    })?;
    let mandatory_text = text(object.mandatory.as_ref());
    let mandatory = parse_mandatory(mandatory_text).ok_or_else(|| {
        err(DefinitionErrorKind::InvalidMandatory(
            mandatory_text.to_string(),
        ))
    })?;
    let version = parse_version(object.version.as_ref(), id)?;
    let lwm2m_version = parse_version(object.lwm2m_version.as_ref(), id)?;
    let Some(resources) = object.resources else {
        return Err(err(DefinitionErrorKind::MissingElement("Resources")).into());
    };
    let mut resources = resources
        .items
        .into_iter()
        .map(|item| convert_item(id, item))
        .collect::<Result<Vec<_>, _>>()?;
    // Stable sort: duplicates stay adjacent and `validate` reports them.
    resources.sort_by_key(|r| r.id);

    let definition = ObjectDefinition {
        id,
        name: Cow::Owned(name.to_string()),
        description: description(object.description),
        urn: Cow::Owned(urn.to_string()),
        version,
        lwm2m_version,
        multiplicity,
        mandatory,
        resources: Cow::Owned(resources),
    };
    definition.validate()?;
    Ok(definition)
}

fn convert_item(object: u16, item: XmlItem) -> Result<ResourceDefinition, DefinitionError> {
    let id_text = text(item.id.as_ref());
    let Some(id) = parse_id(id_text) else {
        return Err(DefinitionError::object(
            object,
            DefinitionErrorKind::InvalidId(id_text.to_string()),
        ));
    };
    let err = |kind| DefinitionError::resource(object, id, kind);

    let name = text(item.name.as_ref());
    if name.is_empty() {
        return Err(err(DefinitionErrorKind::MissingElement("Name")));
    }
    let ops_text = text(item.operations.as_ref());
    let operations = Operations::parse(ops_text)
        .ok_or_else(|| err(DefinitionErrorKind::InvalidOperations(ops_text.to_string())))?;
    let multiple = text(item.multiple.as_ref());
    let multiplicity = Multiplicity::parse(multiple).ok_or_else(|| {
        err(DefinitionErrorKind::InvalidMultiplicity(
            multiple.to_string(),
        ))
    })?;
    let mandatory_text = text(item.mandatory.as_ref());
    let mandatory = parse_mandatory(mandatory_text).ok_or_else(|| {
        err(DefinitionErrorKind::InvalidMandatory(
            mandatory_text.to_string(),
        ))
    })?;
    let type_text = text(item.data_type.as_ref());
    let data_type = match type_text {
        "" => None,
        t => Some(
            DataType::from_name(t)
                .ok_or_else(|| err(DefinitionErrorKind::UnknownType(t.to_string())))?,
        ),
    };
    let range_text = text(item.range.as_ref());
    let range = Range::parse(range_text, data_type).map_err(|reason| {
        err(DefinitionErrorKind::BadRange {
            text: range_text.to_string(),
            reason,
        })
    })?;
    let units = match text(item.units.as_ref()) {
        "" => None,
        u => Some(Cow::Owned(u.to_string())),
    };
    Ok(ResourceDefinition {
        id,
        name: Cow::Owned(name.to_string()),
        operations,
        multiplicity,
        mandatory,
        data_type,
        range,
        units,
        description: description(item.description),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(object_fields: &str, items: &str) -> String {
        alloc::format!(
            "<LWM2M><Object ObjectType=\"MODefinition\">{object_fields}<Resources>{items}</Resources></Object></LWM2M>"
        )
    }

    const HEAD: &str =
        "<Name>T</Name><ObjectID>42</ObjectID><ObjectURN>urn:oma:lwm2m:oma:42</ObjectURN>\
        <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>";

    fn item(id: &str, ops: &str, ty: &str, range: &str) -> String {
        alloc::format!(
            "<Item ID=\"{id}\"><Name>R{id}</Name><Operations>{ops}</Operations>\
             <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>\
             <Type>{ty}</Type><RangeEnumeration>{range}</RangeEnumeration><Units/>\
             <Description>a\r\nb</Description></Item>"
        )
    }

    fn kind(xml: &str) -> XmlErrorKind {
        parse_objects(xml, "t.xml").unwrap_err().kind
    }

    fn def_kind(xml: &str) -> (u16, Option<u16>, DefinitionErrorKind) {
        match kind(xml) {
            XmlErrorKind::Definition(e) => (e.object, e.resource, e.kind),
            other => panic!("expected a definition error, got {other:?}"),
        }
    }

    #[test]
    fn minimal_object_with_bom_crlf_and_empty_elements() {
        let xml = alloc::format!(
            "\u{feff}<?xml version=\"1.0\"?>\r\n{}",
            doc(
                HEAD,
                &(item("1", "E", "", "") + &item("0", "", "Integer", "0-4"))
            )
        );
        let defs = parse_objects(&xml, "t.xml").unwrap();
        let d = &defs[0];
        assert_eq!(
            (d.id, d.name.as_ref(), d.urn.as_ref()),
            (42, "T", "urn:oma:lwm2m:oma:42")
        );
        assert_eq!(d.version, Version::V1_0);
        assert_eq!(d.lwm2m_version, Version::V1_0);
        assert_eq!(d.resources[0].operations, Operations::None);
        assert_eq!(
            d.resources[0].range,
            Some(Range::Integer { min: 0, max: 4 })
        );
        assert_eq!(d.resources[0].description, "a\nb");
        assert_eq!(d.resources[0].units, None);
        assert_eq!(d.resources[1].data_type, None);
        assert!(d.resources[1].is_executable());
    }

    #[test]
    fn field_errors_name_object_and_resource() {
        let one = |i: String| doc(HEAD, &i);
        assert_eq!(
            def_kind(&one(item("3", "R", "Unsigned", ""))),
            (
                42,
                Some(3),
                DefinitionErrorKind::UnknownType("Unsigned".into())
            )
        );
        assert_eq!(
            def_kind(&one(item("3", "RWX", "Integer", ""))),
            (
                42,
                Some(3),
                DefinitionErrorKind::InvalidOperations("RWX".into())
            )
        );
        assert_eq!(
            def_kind(&one(item("3", "E", "Integer", ""))),
            (
                42,
                Some(3),
                DefinitionErrorKind::ExecutableWithType(DataType::Integer)
            )
        );
        assert_eq!(
            def_kind(&one(item("3", "R", "", ""))),
            (42, Some(3), DefinitionErrorKind::MissingType)
        );
        assert_eq!(
            def_kind(&one(item("x", "R", "String", ""))),
            (42, None, DefinitionErrorKind::InvalidId("x".into()))
        );
        assert_eq!(
            def_kind(&one(item("65535", "R", "String", ""))),
            (42, None, DefinitionErrorKind::InvalidId("65535".into()))
        );
        assert_eq!(
            def_kind(&one(item("3", "R", "Integer", "9-1"))),
            (
                42,
                Some(3),
                DefinitionErrorKind::BadRange {
                    text: "9-1".into(),
                    reason: crate::RangeError::MinAboveMax
                }
            )
        );
        assert_eq!(
            def_kind(&one(
                item("3", "R", "Integer", "") + &item("3", "W", "String", "")
            )),
            (42, Some(3), DefinitionErrorKind::DuplicateResource)
        );
    }

    #[test]
    fn object_errors() {
        assert!(matches!(
            kind(&doc(&HEAD.replace(">42<", ">abc<"), "")),
            XmlErrorKind::InvalidObjectId(t) if t == "abc"
        ));
        assert!(matches!(
            kind(&doc(&HEAD.replace("<ObjectID>42</ObjectID>", ""), "")),
            XmlErrorKind::InvalidObjectId(t) if t.is_empty()
        ));
        assert_eq!(
            def_kind(&doc(&HEAD.replace("Single", "Many"), "")),
            (
                42,
                None,
                DefinitionErrorKind::InvalidMultiplicity("Many".into())
            )
        );
        assert_eq!(
            def_kind(&doc(&HEAD.replace(">Optional<", ">Maybe<"), "")),
            (
                42,
                None,
                DefinitionErrorKind::InvalidMandatory("Maybe".into())
            )
        );
        assert_eq!(
            def_kind(&doc(
                &(HEAD.to_string() + "<ObjectVersion>1.x</ObjectVersion>"),
                ""
            )),
            (42, None, DefinitionErrorKind::InvalidVersion("1.x".into()))
        );
        assert_eq!(
            def_kind(&doc(&HEAD.replace("<Name>T</Name>", ""), "")),
            (42, None, DefinitionErrorKind::MissingElement("Name"))
        );
        let no_resources = alloc::format!("<LWM2M><Object>{HEAD}</Object></LWM2M>");
        assert_eq!(
            def_kind(&no_resources),
            (42, None, DefinitionErrorKind::MissingElement("Resources"))
        );
        assert!(matches!(kind("<LWM2M></LWM2M>"), XmlErrorKind::NoObject));
        assert!(matches!(kind("<LWM2M><Object>"), XmlErrorKind::Syntax(_)));
        assert!(matches!(
            kind(""),
            XmlErrorKind::Syntax(_) | XmlErrorKind::NoObject
        ));
    }

    #[test]
    fn versions_and_several_objects() {
        let head =
            HEAD.to_string() + "<LWM2MVersion>1.1</LWM2MVersion><ObjectVersion>2.2</ObjectVersion>";
        let second = HEAD.replace(">42<", ">43<");
        let xml = alloc::format!(
            "<LWM2M><Object>{head}<Resources/></Object><Object>{second}<Resources></Resources></Object></LWM2M>"
        );
        let defs = parse_objects(&xml, "t.xml").unwrap();
        assert_eq!(defs.len(), 2);
        assert_eq!(defs[0].version, Version::new(2, 2));
        assert_eq!(defs[0].lwm2m_version, Version::new(1, 1));
        assert_eq!(defs[1].id, 43);
        assert!(defs[1].resources.is_empty());
    }

    #[test]
    fn error_message_names_the_file() {
        let err = parse_objects(&doc(HEAD, &item("7", "E", "String", "")), "x/7.xml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x/7.xml: object 42, resource 7: executable resource has type String (executable resources have no type)"
        );
    }
}
