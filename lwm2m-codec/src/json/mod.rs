//! LwM2M 1.0 JSON, content format 11543 (legacy 1543).
//!
//! This is the JSON of LwM2M 1.0 (TS §6.4.4), a dialect of an early `SenML` draft, **not** RFC 8428
//! `SenML`:
//!
//! ```json
//! {"bn":"/3/0/","bt":25462634,"e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"9","v":100,"t":-5}]}
//! ```
//!
//! * `bn` (optional): base name, a path prefix. `bt` (optional): base time.
//! * `e` (required): the entries. Each has an optional `n` (name, appended to `bn`), **exactly one**
//!   value key — `v` (number), `sv` (string; Opaque travels base64 here), `bv` (boolean) or `ov`
//!   (object link `"oid:iid"`) — and an optional `t` (time, relative to `bt`).
//! * Unknown keys, at the top or in an entry, are skipped: `SenML` reserves new keys for later
//!   versions and a reader that rejected them could never talk to a newer peer.
//!
//! Reading ([`Document::decode`]) borrows every string from the input unless JSON escapes force a
//! copy, and keeps integers exact ([`Number`]). Only the entry vector is allocated. Faults come
//! back as [`JsonError`]: malformed JSON with its byte offset, semantic faults (no `e`, zero or
//! two value keys, a bad object link) with the index of the entry.
//!
//! Writing ([`Document::encode`] or the streaming [`Writer`]) is deterministic and compact; it
//! reproduces the compact vectors of the LwM2M test-vector set byte for byte.
//!
//! Names are syntax only here: [`full_name`] joins `bn` and `n`, [`resolve_name`] turns the result
//! into 1-4 numeric ids. Checking that an entry lies under the request URI needs the request and
//! belongs to `lwm2m-model`.
//!
//! # Towards `SenML`
//! [`Record`], [`Value`], [`Number`] and [`Objlnk`] carry nothing JSON-specific: they are the
//! name/value/time triple every `SenML` flavour has. The LwM2M 1.1 formats (`SenML` JSON 110 and
//! `SenML` CBOR 112, with `vs`, `vb`, `vlo`, `vd` and a top-level array) can be added as sibling
//! modules that produce and consume the same records, so `lwm2m-model` maps records to nodes once.
//!
//! ```
//! use lwm2m_codec::json::{Document, Number, Value};
//! let doc = Document::decode(br#"{"bn":"/3/0/","e":[{"n":"9","v":100},{"n":"16","sv":"U"}]}"#)?;
//! assert_eq!(doc.base_name.as_deref(), Some("/3/0/"));
//! assert_eq!(doc.records[0].value, Value::Number(Number::Integer(100)));
//! assert_eq!(doc.path(1)?.ids(), &[3, 0, 16]);
//! assert_eq!(doc.encode_to_vec()?, br#"{"bn":"/3/0/","e":[{"n":"9","v":100},{"n":"16","sv":"U"}]}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
mod encode;
mod lexer;
mod name;
mod value;

use alloc::borrow::Cow;
use alloc::vec::Vec;
use bytes::BufMut;

pub use encode::{WriteError, Writer};
pub use name::{full_name, resolve_name, NameError, NamePath};
pub use value::{parse_objlnk, Number, Objlnk, ObjlnkError, Value};

/// One entry of the `e` array: a value, the name it is stored under, and an optional time.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    /// `n`: the name relative to the document's base name (absent when `bn` is the full name).
    pub name: Option<Cow<'a, str>>,
    /// The one value of the entry.
    pub value: Value<'a>,
    /// `t`: the time, relative to the document's base time.
    pub time: Option<Number>,
}

impl<'a> Record<'a> {
    /// An entry without a time.
    pub fn new(name: Option<&'a str>, value: Value<'a>) -> Self {
        Record {
            name: name.map(Cow::Borrowed),
            value,
            time: None,
        }
    }

    /// The numeric path of this entry under `base_name` (the document's `bn`).
    pub fn path(&self, base_name: Option<&str>) -> Result<NamePath, NameError> {
        resolve_name(base_name, self.name.as_deref())
    }

    /// A copy that owns its strings.
    pub fn into_owned(self) -> Record<'static> {
        Record {
            name: self.name.map(|n| Cow::Owned(n.into_owned())),
            value: self.value.into_owned(),
            time: self.time,
        }
    }
}

/// A whole LwM2M JSON document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document<'a> {
    /// `bn`: the base name, a path prefix such as `"/3/0/"`.
    pub base_name: Option<Cow<'a, str>>,
    /// `bt`: the base time every entry's `t` is relative to.
    pub base_time: Option<Number>,
    /// `e`: the entries, in document order.
    pub records: Vec<Record<'a>>,
}

impl<'a> Document<'a> {
    /// Decodes a document, borrowing its strings from `input`.
    ///
    /// ```
    /// use lwm2m_codec::json::{Document, JsonError};
    /// assert_eq!(Document::decode(br#"{"bn":"/3/0/"}"#), Err(JsonError::MissingEntries));
    /// assert!(matches!(
    ///     Document::decode(br#"{"e":[{"v":1},{"v":2,"sv":"x"}]}"#),
    ///     Err(JsonError::MultipleValues { entry: 1, first: "v", second: "sv" })
    /// ));
    /// ```
    pub fn decode(input: &'a [u8]) -> Result<Self, JsonError> {
        decode::decode(input)
    }

    /// Writes the document compactly and deterministically into `out`.
    ///
    /// On error `out` holds a partial document.
    pub fn encode<B: BufMut>(&self, out: &mut B) -> Result<(), WriteError> {
        let mut writer = Writer::new(out, self.base_name.as_deref(), self.base_time)?;
        for record in &self.records {
            writer.write_record(record)?;
        }
        writer.finish()
    }

    /// Writes the document into a new vector.
    pub fn encode_to_vec(&self) -> Result<Vec<u8>, WriteError> {
        // Rough per-entry size of typical documents, to avoid most regrowth.
        let mut out = Vec::with_capacity(16 + self.records.len() * 24);
        self.encode(&mut out)?;
        Ok(out)
    }

    /// The full name (`bn` + `n`) of entry `index`, or `None` if there is no such entry.
    pub fn full_name(&self, index: usize) -> Option<Cow<'_, str>> {
        let record = self.records.get(index)?;
        Some(full_name(self.base_name.as_deref(), record.name.as_deref()))
    }

    /// The numeric path of entry `index`.
    pub fn path(&self, index: usize) -> Result<NamePath, JsonError> {
        let record = self
            .records
            .get(index)
            .ok_or(JsonError::NoSuchEntry { entry: index })?;
        record
            .path(self.base_name.as_deref())
            .map_err(|source| JsonError::InvalidName {
                entry: index,
                source,
            })
    }

    /// Every entry with its numeric path, in document order; a name that is not a numeric path
    /// yields [`JsonError::InvalidName`] with the entry index.
    pub fn paths(&self) -> impl Iterator<Item = Result<(NamePath, &Record<'a>), JsonError>> + '_ {
        let base_name = self.base_name.as_deref();
        self.records.iter().enumerate().map(move |(entry, record)| {
            record
                .path(base_name)
                .map(|path| (path, record))
                .map_err(|source| JsonError::InvalidName { entry, source })
        })
    }

    /// The absolute time of entry `index`: `bt + t`, or whichever of the two is present.
    ///
    /// Integer times add exactly (saturating); otherwise the sum is a float.
    pub fn time(&self, index: usize) -> Option<Number> {
        let time = self.records.get(index)?.time;
        match (self.base_time, time) {
            (None, t) => t,
            (Some(bt), None) => Some(bt),
            (Some(Number::Integer(bt)), Some(Number::Integer(t))) => {
                Some(Number::Integer(bt.saturating_add(t)))
            }
            (Some(bt), Some(t)) => Some(Number::Float(bt.as_f64() + t.as_f64())),
        }
    }

    /// A copy that owns all its strings, detached from the input buffer.
    pub fn into_owned(self) -> Document<'static> {
        Document {
            base_name: self.base_name.map(|n| Cow::Owned(n.into_owned())),
            base_time: self.base_time,
            records: self.records.into_iter().map(Record::into_owned).collect(),
        }
    }
}

/// Why a payload is not a valid LwM2M JSON document (all map to CoAP 4.00 Bad Request).
///
/// Syntax faults carry the byte offset where they were found; semantic faults name the index
/// of the entry in `e`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonError {
    /// The payload is not UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// First byte that is not valid UTF-8.
        offset: usize,
    },
    /// The payload ends in the middle of the document.
    #[error("the document ends early; expected {expected}")]
    UnexpectedEnd {
        /// What should have come next.
        expected: &'static str,
    },
    /// A character that does not fit the JSON grammar at this point.
    #[error("malformed JSON at byte {offset}: expected {expected}")]
    Syntax {
        /// The unexpected character.
        offset: usize,
        /// What should have come instead.
        expected: &'static str,
    },
    /// A string without its closing quote.
    #[error("the string opened at byte {offset} is not terminated")]
    UnterminatedString {
        /// The opening quote.
        offset: usize,
    },
    /// An unknown escape, a bad `\u` escape or an unpaired surrogate.
    #[error("invalid escape sequence at byte {offset}")]
    InvalidEscape {
        /// The backslash.
        offset: usize,
    },
    /// A raw control character (below U+0020) inside a string.
    #[error("unescaped control character in a string at byte {offset}")]
    ControlCharacter {
        /// The control character.
        offset: usize,
    },
    /// A number that does not follow the JSON number grammar.
    #[error("malformed number at byte {offset}")]
    InvalidNumber {
        /// Start of the number.
        offset: usize,
    },
    /// A number too large for an `f64`.
    #[error("the number at byte {offset} is out of range")]
    NumberOutOfRange {
        /// Start of the number.
        offset: usize,
    },
    /// An unknown value nested more than 64 levels deep.
    #[error("the value at byte {offset} is nested too deeply")]
    NestingTooDeep {
        /// The bracket that went too deep.
        offset: usize,
    },
    /// Something after the end of the document.
    #[error("unexpected data after the document at byte {offset}")]
    TrailingCharacters {
        /// Start of the extra data.
        offset: usize,
    },
    /// A key of the wrong JSON type, e.g. `"bn":3` or `"bv":"true"`.
    #[error("the value of \"{key}\" at byte {offset} must be {expected}")]
    WrongType {
        /// Start of the offending value.
        offset: usize,
        /// The key it belongs to.
        key: &'static str,
        /// The JSON type the key needs.
        expected: &'static str,
    },
    /// The same key twice in one object.
    #[error("the key \"{key}\" at byte {offset} appears twice in the same object")]
    DuplicateKey {
        /// The second occurrence.
        offset: usize,
        /// The repeated key.
        key: &'static str,
    },
    /// The top-level object has no `e` array.
    #[error("the document has no \"e\" array of entries")]
    MissingEntries,
    /// An entry has none of `v`, `sv`, `bv`, `ov`.
    #[error("entry {entry} has no value (one of \"v\", \"sv\", \"bv\", \"ov\" is required)")]
    MissingValue {
        /// Index of the entry in `e`.
        entry: usize,
    },
    /// An entry has two different value keys.
    #[error("entry {entry} has two values, \"{first}\" and \"{second}\"; exactly one is allowed")]
    MultipleValues {
        /// Index of the entry in `e`.
        entry: usize,
        /// The value key seen first.
        first: &'static str,
        /// The value key seen second.
        second: &'static str,
    },
    /// An `ov` string is not `"oid:iid"`.
    #[error("entry {entry} has an invalid \"ov\" value: {source}")]
    InvalidObjlnk {
        /// Index of the entry in `e`.
        entry: usize,
        /// What is wrong with it.
        source: ObjlnkError,
    },
    /// An entry's full name is not a numeric path (from [`Document::path`] and [`Document::paths`]).
    #[error("entry {entry} has a name that is not a path /o/i/r/ri: {source}")]
    InvalidName {
        /// Index of the entry in `e`.
        entry: usize,
        /// What is wrong with it.
        source: NameError,
    },
    /// [`Document::path`] was asked for an entry the document does not have.
    #[error("the document has no entry {entry}")]
    NoSuchEntry {
        /// The index asked for.
        entry: usize,
    },
}
