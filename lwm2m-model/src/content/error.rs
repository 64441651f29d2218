//! Why a payload could not be decoded or a node encoded, and the CoAP code each failure maps to.

use core::fmt;

use lwm2m_codec::coap::Code;
use lwm2m_codec::json::{JsonError, WriteError};
use lwm2m_codec::text::TextError;
use lwm2m_codec::tlv::{EncodeError, Kind, TlvError};
use lwm2m_codec::ContentFormat;

use crate::path::{Level, Path};
use crate::value::DataType;

/// Where in a payload a problem was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// A byte offset in a TLV or plain-text payload.
    Byte(usize),
    /// The index of an entry in the `e` array of a JSON payload.
    Entry(usize),
    /// The payload as a whole (nothing more precise applies).
    Payload,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Byte(offset) => write!(f, "byte {offset}"),
            Location::Entry(index) => write!(f, "entry {index}"),
            Location::Payload => f.write_str("the payload"),
        }
    }
}

/// The ids a payload named, which need not form a valid [`Path`] (an id may be the reserved
/// 65535): shown in errors about records and entries that lie outside the request path.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawPath {
    ids: [u16; 4],
    len: u8,
}

impl RawPath {
    /// The first (at most four) ids of `ids`.
    pub fn new(ids: &[u16]) -> Self {
        let mut raw = RawPath {
            ids: [0; 4],
            len: 0,
        };
        for (slot, &id) in raw.ids.iter_mut().zip(ids) {
            *slot = id;
            raw.len += 1;
        }
        raw
    }

    /// The ids, object first.
    pub fn ids(&self) -> &[u16] {
        self.ids.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl From<Path> for RawPath {
    fn from(path: Path) -> Self {
        RawPath::new(path.ids())
    }
}

impl fmt::Display for RawPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == 0 {
            return f.write_str("/");
        }
        for id in self.ids() {
            write!(f, "/{id}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RawPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The rule of TS §6.4 (digest §9.2, §12.1) a format and target combination breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatRule {
    /// Link-format (40) lists links for Register and Discover; it carries no values.
    NotAValueFormat,
    /// Plain text and opaque carry exactly one value: a single-instance resource or one resource
    /// instance.
    SingleValueOnly,
    /// Opaque carries only resources of type Opaque.
    OpaqueOnly,
    /// TLV payloads hold one object; instances of other objects (the JSON `"bn":"/"` hierarchy
    /// of object links) cannot be written in it.
    OneObjectOnly,
}

impl fmt::Display for FormatRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FormatRule::NotAValueFormat => "link-format carries links, not values",
            FormatRule::SingleValueOnly => {
                "it carries exactly one value (a single-instance resource or one resource instance)"
            }
            FormatRule::OpaqueOnly => "it only carries resources of type Opaque",
            FormatRule::OneObjectOnly => "it cannot carry instances of other objects",
        })
    }
}

/// Why a node cannot be encoded: it does not fit its path or its definition. The node was built
/// by the caller, so these are internal errors (5.00), not the peer's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeProblem {
    /// The node is not at the level of the target path, or its id is not the path's last id.
    Placement {
        /// The node's level.
        level: Level,
        /// The node's id.
        id: u16,
    },
    /// A child id is 65535, which no path can name.
    ReservedId,
    /// The definition says multiple (`true`) or single (`false`) and the node holds the other.
    Multiplicity {
        /// Whether the definition says multiple.
        expected_multiple: bool,
    },
    /// A value cannot be converted losslessly to the resource's type.
    Type {
        /// The resource's data type.
        expected: DataType,
        /// The value's data type.
        found: DataType,
    },
    /// The definition says the resource is executable: it has no value to encode.
    Executable,
}

impl fmt::Display for NodeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeProblem::Placement { level, id } => {
                write!(f, "a {level} node with id {id} does not sit there")
            }
            NodeProblem::ReservedId => f.write_str("a child has the reserved id 65535"),
            NodeProblem::Multiplicity { expected_multiple } => f.write_str(if *expected_multiple {
                "the definition says multiple instances but the node holds a single value"
            } else {
                "the definition says single instance but the node holds resource instances"
            }),
            NodeProblem::Type { expected, found } => {
                write!(f, "a {found} value cannot be written as {expected}")
            }
            NodeProblem::Executable => f.write_str("executable resources have no value"),
        }
    }
}

/// A payload could not be decoded, or a node could not be encoded.
///
/// Every variant says what is wrong and where (the path, and the byte offset or JSON entry);
/// [`ContentError::code`] gives the CoAP response code the digest (§9.1, §11, §12.1) assigns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    /// Decoding a format that carries no values (link-format). **4.15** Unsupported
    /// Content-Format (digest §12.1: "a Write or Create in a format the client does not support").
    #[error(
        "content format {format} cannot be decoded into values: {}",
        FormatRule::NotAValueFormat
    )]
    UnsupportedFormat {
        /// The format of the payload.
        format: ContentFormat,
    },
    /// The payload's format cannot carry what the request path names (plain text for an
    /// instance, opaque for an Integer resource). **4.00** Bad Request (digest §11, Write:
    /// "data does not match the format").
    #[error("a {format} payload cannot be decoded for {target}: {rule}")]
    FormatNotForTarget {
        /// The format of the payload.
        format: ContentFormat,
        /// The request path.
        target: Path,
        /// The rule it breaks.
        rule: FormatRule,
    },
    /// The requested format cannot express the node. **4.06** Not Acceptable (digest §9.2 Read:
    /// "Read /o/i with Accept: 0 → 4.06"; §12.1: "if the client cannot produce that format").
    #[error("{target} cannot be encoded as {format}: {rule}")]
    NotAcceptable {
        /// The requested format.
        format: ContentFormat,
        /// The path being encoded.
        target: Path,
        /// The rule it breaks.
        rule: FormatRule,
    },
    /// The root path `/` names no content: payloads are decoded and encoded for an object, an
    /// instance, a resource or a resource instance. **4.00**.
    #[error("content formats carry objects, instances and resources, not the root path /")]
    RootTarget,
    /// The TLV payload is malformed, or a value does not fit its resource's type (digest §12.4:
    /// "lengths that do not fit the type → 4.00"). **4.00**.
    #[error("TLV payload for {at}: {source}")]
    Tlv {
        /// The deepest path known when the fault was found.
        at: Path,
        /// The fault, with its byte offset.
        source: TlvError,
    },
    /// The JSON payload is malformed (test-vectors §3: missing `e`, two value keys → 4.00).
    /// **4.00**.
    #[error("JSON payload: {source}")]
    Json {
        /// The fault, with its byte offset or entry index.
        source: JsonError,
    },
    /// A plain-text value, or the base64 of an Opaque value in JSON, does not parse. **4.00**.
    #[error("value of {at} at {location}: {source}")]
    Text {
        /// The resource or resource instance.
        at: Path,
        /// The JSON entry, or [`Location::Payload`] for a plain-text payload (whose offsets are in
        /// `source`).
        location: Location,
        /// The fault.
        source: TextError,
    },
    /// A TLV record of a kind the request path does not allow there (an Object Instance in a
    /// resource payload, a Resource where `/o` needs Object Instances). **4.00**.
    #[error(
        "TLV record at byte {offset}: a {kind} record does not belong in a payload for {target}"
    )]
    UnexpectedRecord {
        /// The request path.
        target: Path,
        /// The record's type byte.
        offset: usize,
        /// The record's kind.
        kind: Kind,
    },
    /// A TLV record or JSON entry that does not name a resource or resource instance under the
    /// request path (test-vectors §3 negative test). **4.00**.
    #[error(
        "{location} names {found}, which is not a resource or resource instance under {target}"
    )]
    NotUnderTarget {
        /// The request path.
        target: Path,
        /// The ids the payload named.
        found: RawPath,
        /// The record or entry.
        location: Location,
    },
    /// A TLV record or JSON entry uses the reserved id 65535 (digest §1.1). **4.00**.
    #[error("{location}: id 65535 under {parent} is reserved")]
    ReservedId {
        /// The path the id is appended to.
        parent: Path,
        /// The record or entry.
        location: Location,
    },
    /// A single-instance resource sent as a multiple resource, or the reverse (digest §12.4: a
    /// multiple resource is always a Multiple-Resource TLV). **4.00**.
    #[error("{location}: {path} is a {} resource but the payload holds {}",
        if *.expected_multiple { "multiple-instance" } else { "single-instance" },
        if *.expected_multiple { "a single value" } else { "resource instances" })]
    Multiplicity {
        /// The resource.
        path: Path,
        /// Whether the definition says multiple.
        expected_multiple: bool,
        /// The record or entry.
        location: Location,
    },
    /// A JSON value key that does not fit the resource's type (`"sv"` for an Integer, a fraction
    /// for an Integer). **4.00**.
    #[error("{location}: {path} is {expected} but the value is {found}")]
    TypeMismatch {
        /// The resource or resource instance.
        path: Path,
        /// The resource's type.
        expected: DataType,
        /// What the payload holds, in words (`"a string (sv)"`).
        found: &'static str,
        /// The entry.
        location: Location,
    },
    /// The same resource, resource instance or object instance twice in one payload (at one
    /// time, for JSON). **4.00**.
    #[error("{location}: {path} appears twice")]
    Duplicate {
        /// The repeated path.
        path: Path,
        /// The second occurrence.
        location: Location,
    },
    /// A payload for a resource or resource instance path holds no value. **4.00**.
    #[error("the payload holds no value for {target}")]
    MissingValue {
        /// The request path.
        target: Path,
    },
    /// A JSON time (`bt` + `t`) that is not a whole number of seconds. **4.00**.
    #[error("{location}: the time is not a whole number of seconds")]
    InvalidTime {
        /// The entry.
        location: Location,
    },
    /// A typed decode found no value for a mandatory resource (digest §9.2 Create: "all
    /// mandatory resources must be present (4.00 otherwise)"). **4.00**.
    #[error("the payload has no value for the mandatory resource {path}")]
    MissingMandatory {
        /// The resource.
        path: Path,
    },
    /// A typed decode found a value for an executable resource (digest §9.2 Write: a resource
    /// that is not writable refuses the whole Write). **4.05** Method Not Allowed.
    #[error("{location}: {path} is executable and cannot hold a value")]
    ExecutableValue {
        /// The resource.
        path: Path,
        /// The record or entry.
        location: Location,
    },
    /// A typed decode of a JSON payload with times (`bt`/`t`): a typed object holds one value per
    /// resource; [`decode_timestamped`](super::decode_timestamped) returns every sample. **4.00**.
    #[error("the JSON payload carries times; decode it with content::decode_timestamped")]
    Timestamped,
    /// The node does not fit its path or its definition. **5.00** Internal Server Error (the
    /// node comes from the application, not from the peer).
    #[error("cannot encode {path}: {problem}")]
    InvalidNode {
        /// Where the problem is.
        path: Path,
        /// What it is.
        problem: NodeProblem,
    },
    /// A typed object refused a value typed by its own definition (a hand-written
    /// [`TypedInstance`](super::TypedInstance) that disagrees with its definition). **5.00**.
    #[error("the typed object refused the value of {path}")]
    FieldRejected {
        /// The resource or resource instance.
        path: Path,
    },
    /// A typed instance decoded or encoded at a path that is not an instance of its object.
    /// **5.00** (the caller picked the path).
    #[error("a typed instance of object {object} is decoded and encoded at /{object}/<instance>, not at {target}")]
    TypedTarget {
        /// The path given.
        target: Path,
        /// The typed instance's object.
        object: u16,
    },
    /// The TLV writer failed (a value over 16 MiB, a full fixed-size buffer). **5.00**.
    #[error("TLV encoding failed: {source}")]
    TlvWrite {
        /// The writer's error.
        source: EncodeError,
    },
    /// The JSON writer failed (a NaN or infinite Float, a full fixed-size buffer). **5.00**.
    #[error("JSON encoding failed: {source}")]
    JsonWrite {
        /// The writer's error.
        source: WriteError,
    },
    /// Plain-text formatting failed (a NaN or infinite Float, a full buffer). **5.00**.
    #[error("plain-text encoding of {at} failed: {source}")]
    TextWrite {
        /// The resource or resource instance.
        at: Path,
        /// The formatter's error.
        source: TextError,
    },
}

impl ContentError {
    /// The CoAP response code a LwM2M client answers this error with (see each variant for the
    /// digest section it follows).
    ///
    /// | Code | Variants |
    /// |---|---|
    /// | 4.00 Bad Request | malformed or mistyped payloads, payloads outside the request path, missing mandatory resources |
    /// | 4.05 Method Not Allowed | [`ExecutableValue`](Self::ExecutableValue) |
    /// | 4.06 Not Acceptable | [`NotAcceptable`](Self::NotAcceptable) (encoding a Read in a format that cannot carry it) |
    /// | 4.15 Unsupported Content-Format | [`UnsupportedFormat`](Self::UnsupportedFormat) (decoding link-format) |
    /// | 5.00 Internal Server Error | nodes that do not fit their definition, writer failures |
    ///
    /// 4.04 Not Found never comes from here: a payload for an object or resource the registry does
    /// not know decodes with raw values ([`Content::untyped`](super::Content::untyped)), and
    /// whether the target exists is the object layer's question.
    ///
    /// ```
    /// use lwm2m_codec::coap::Code;
    /// use lwm2m_model::content::{self, ContentFormat};
    /// use lwm2m_model::{Path, Registry};
    ///
    /// let err = content::decode(ContentFormat::LinkFormat, &Path::parse("/3/0")?, b"</3/0>", &Registry::new())
    ///     .unwrap_err();
    /// assert_eq!(err.code(), Code::UNSUPPORTED_CONTENT_FORMAT);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn code(&self) -> Code {
        match self {
            ContentError::UnsupportedFormat { .. } => Code::UNSUPPORTED_CONTENT_FORMAT,
            ContentError::NotAcceptable { .. } => Code::NOT_ACCEPTABLE,
            ContentError::ExecutableValue { .. } => Code::METHOD_NOT_ALLOWED,
            ContentError::InvalidNode { .. }
            | ContentError::FieldRejected { .. }
            | ContentError::TypedTarget { .. }
            | ContentError::TlvWrite { .. }
            | ContentError::JsonWrite { .. }
            | ContentError::TextWrite { .. } => Code::INTERNAL_SERVER_ERROR,
            ContentError::FormatNotForTarget { .. }
            | ContentError::RootTarget
            | ContentError::Tlv { .. }
            | ContentError::Json { .. }
            | ContentError::Text { .. }
            | ContentError::UnexpectedRecord { .. }
            | ContentError::NotUnderTarget { .. }
            | ContentError::ReservedId { .. }
            | ContentError::Multiplicity { .. }
            | ContentError::TypeMismatch { .. }
            | ContentError::Duplicate { .. }
            | ContentError::MissingValue { .. }
            | ContentError::InvalidTime { .. }
            | ContentError::MissingMandatory { .. }
            | ContentError::Timestamped => Code::BAD_REQUEST,
        }
    }
}

impl From<JsonError> for ContentError {
    fn from(source: JsonError) -> Self {
        ContentError::Json { source }
    }
}

impl From<EncodeError> for ContentError {
    fn from(source: EncodeError) -> Self {
        ContentError::TlvWrite { source }
    }
}

impl From<WriteError> for ContentError {
    fn from(source: WriteError) -> Self {
        ContentError::JsonWrite { source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn raw_paths_show_reserved_ids() {
        assert_eq!(RawPath::new(&[3, 65535]).to_string(), "/3/65535");
        assert_eq!(RawPath::new(&[]).to_string(), "/");
        assert_eq!(RawPath::new(&[1, 2, 3, 4, 5]).ids(), &[1, 2, 3, 4]);
        let path = Path::resource(3, 0, 9).unwrap();
        assert_eq!(RawPath::from(path).ids(), path.ids());
    }

    #[test]
    fn messages_name_the_place() {
        let target = Path::object_instance(3, 0).unwrap();
        let e = ContentError::NotUnderTarget {
            target,
            found: RawPath::new(&[4, 0, 1]),
            location: Location::Entry(2),
        };
        assert_eq!(
            e.to_string(),
            "entry 2 names /4/0/1, which is not a resource or resource instance under /3/0"
        );
        assert_eq!(e.code(), Code::BAD_REQUEST);
        let e = ContentError::Multiplicity {
            path: Path::resource(3, 0, 7).unwrap(),
            expected_multiple: true,
            location: Location::Byte(4),
        };
        assert_eq!(
            e.to_string(),
            "byte 4: /3/0/7 is a multiple-instance resource but the payload holds a single value"
        );
        let e = ContentError::NotAcceptable {
            format: ContentFormat::Text,
            target,
            rule: FormatRule::SingleValueOnly,
        };
        assert_eq!(e.code(), Code::NOT_ACCEPTABLE);
        assert!(e
            .to_string()
            .starts_with("/3/0 cannot be encoded as text/plain"));
        let e = ContentError::InvalidNode {
            path: target,
            problem: NodeProblem::Type {
                expected: DataType::Integer,
                found: DataType::String,
            },
        };
        assert_eq!(
            e.to_string(),
            "cannot encode /3/0: a String value cannot be written as Integer"
        );
        assert_eq!(e.code(), Code::INTERNAL_SERVER_ERROR);
    }
}
