//! The document grammar on top of the tokenizer: `{"bn":..,"bt":..,"e":[{..},..]}`.
//!
//! Hand-written rather than serde-derived because it is about three times faster on the Device
//! instance (`serde_json`'s generic string and key handling dominated), it reports semantic faults
//! with the entry index without a second pass, and its errors carry byte offsets.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use super::lexer::Lexer;
use super::{Document, JsonError, Number, Objlnk, Record, Value};

/// Decodes a whole LwM2M JSON document; see [`Document::decode`].
pub(super) fn decode(input: &[u8]) -> Result<Document<'_>, JsonError> {
    let text = core::str::from_utf8(input).map_err(|e| JsonError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    let mut lexer = Lexer::new(text);
    lexer.expect(b'{', "'{' opening the document")?;
    let mut base_name = None;
    let mut base_time = None;
    let mut records = None;
    let mut first = true;
    while let Some((key, offset)) = lexer.next_key(&mut first)? {
        match &*key {
            "bn" => {
                check_unique(base_name.is_some(), offset, "bn")?;
                base_name = Some(string(&mut lexer, "bn")?);
            }
            "bt" => {
                check_unique(base_time.is_some(), offset, "bt")?;
                base_time = Some(number(&mut lexer, "bt")?);
            }
            "e" => {
                check_unique(records.is_some(), offset, "e")?;
                let remaining = text.len().saturating_sub(lexer.pos());
                records = Some(entries(&mut lexer, remaining)?);
            }
            // Forward compatibility: keys of later versions (and entry keys written at the top
            // level) are skipped, as SenML asks of unknown fields.
            _ => lexer.skip_value()?,
        }
    }
    lexer.end()?;
    Ok(Document {
        base_name,
        base_time,
        records: records.ok_or(JsonError::MissingEntries)?,
    })
}

fn entries<'a>(lexer: &mut Lexer<'a>, remaining: usize) -> Result<Vec<Record<'a>>, JsonError> {
    if lexer.peek() != Some(b'[') {
        return Err(wrong_type(lexer, "e", "an array"));
    }
    lexer.expect(b'[', "an array")?;
    // Real entries take 15-40 bytes; guessing from the length sizes the vector in one allocation
    // for typical documents, and the cap keeps a hostile long string from reserving much.
    let mut records = Vec::with_capacity((remaining / 16).clamp(1, 256));
    let mut first = true;
    while lexer.next_element(&mut first)? {
        entry(lexer, &mut records)?;
    }
    Ok(records)
}

/// Reads one entry and appends it to `records` (pushing here rather than returning the record
/// lets it be built in place instead of copied out of a `Result`).
#[inline]
fn entry<'a>(lexer: &mut Lexer<'a>, records: &mut Vec<Record<'a>>) -> Result<(), JsonError> {
    let index = records.len();
    if lexer.peek() != Some(b'{') {
        return Err(wrong_type(lexer, "e", "an array of entry objects"));
    }
    lexer.expect(b'{', "an entry object")?;
    let mut name = None;
    let mut time = None;
    let mut value: Option<Value<'a>> = None;
    let mut first = true;
    while let Some((key, offset)) = lexer.next_key(&mut first)? {
        let key: &'static str = match &*key {
            "n" => {
                check_unique(name.is_some(), offset, "n")?;
                name = Some(string(lexer, "n")?);
                continue;
            }
            "t" => {
                check_unique(time.is_some(), offset, "t")?;
                time = Some(number(lexer, "t")?);
                continue;
            }
            "v" => "v",
            "sv" => "sv",
            "bv" => "bv",
            "ov" => "ov",
            _ => {
                lexer.skip_value()?;
                continue;
            }
        };
        if let Some(first) = &value {
            let first = first.key();
            check_unique(first == key, offset, key)?;
            return Err(JsonError::MultipleValues {
                entry: index,
                first,
                second: key,
            });
        }
        value = Some(match key {
            "v" => Value::Number(number(lexer, "v")?),
            "sv" => Value::String(string(lexer, "sv")?),
            "bv" => match lexer.peek() {
                Some(b't' | b'f') => Value::Boolean(lexer.boolean()?),
                _ => return Err(wrong_type(lexer, "bv", "true or false")),
            },
            _ => {
                let text = string(lexer, "ov")?;
                let link = Objlnk::parse(&text).map_err(|source| JsonError::InvalidObjlnk {
                    entry: index,
                    source,
                })?;
                Value::Objlnk(link)
            }
        });
    }
    let value = value.ok_or(JsonError::MissingValue { entry: index })?;
    records.push(Record { name, value, time });
    Ok(())
}

#[inline]
fn string<'a>(lexer: &mut Lexer<'a>, key: &'static str) -> Result<Cow<'a, str>, JsonError> {
    if lexer.peek() == Some(b'"') {
        lexer.string()
    } else {
        Err(wrong_type(lexer, key, "a string"))
    }
}

#[allow(
    clippy::inline_always,
    reason = "measured: out of line, the 11 numbers of the Device document cost a call each"
)]
#[inline(always)]
fn number(lexer: &mut Lexer<'_>, key: &'static str) -> Result<Number, JsonError> {
    if let Some(b'-' | b'0'..=b'9') = lexer.peek() {
        lexer.number()
    } else {
        Err(wrong_type(lexer, key, "a number"))
    }
}

fn wrong_type(lexer: &mut Lexer<'_>, key: &'static str, expected: &'static str) -> JsonError {
    match lexer.peek() {
        None => JsonError::UnexpectedEnd { expected },
        Some(_) => JsonError::WrongType {
            offset: lexer.pos(),
            key,
            expected,
        },
    }
}

#[inline]
fn check_unique(seen: bool, offset: usize, key: &'static str) -> Result<(), JsonError> {
    if seen {
        Err(JsonError::DuplicateKey { offset, key })
    } else {
        Ok(())
    }
}
