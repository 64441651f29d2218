//! Nodes and typed instances ↔ OMA TLV (11542), digest §12.4.
//!
//! Shapes by request path (the TS table):
//!
//! | Path | Payload |
//! |---|---|
//! | `/o` | one Object-Instance TLV per instance (none for an object without instances) |
//! | `/o/i` | the Resource and Multiple-Resource TLVs; on input also one Object-Instance TLV with id `i` wrapping them |
//! | `/o/i/r` | one Resource TLV, or one Multiple-Resource TLV (also with 0 or 1 instances) |
//! | `/o/i/r/ri` | one Multiple-Resource TLV `r` holding the one Resource-Instance TLV `ri`; on input also the bare Resource-Instance TLV |
//!
//! Values are typed by the resource's definition (an Integer's 1/2/4/8 bytes, a Float's 4/8 ...);
//! records of resources the registry does not know (or of executables) are kept as their raw
//! bytes in [`Value::Opaque`](crate::Value::Opaque) and listed in
//! [`Content::untyped`](super::Content::untyped). Decoding walks the codec's record iterator and
//! builds the node directly; the only copies are the strings and byte strings the node owns.
// `#[inline(always)]` is used where profiling showed a `Result` or value returned through memory
// (a store-forwarding stall per record) or a dispatch on a variant known at the call site.
#![allow(clippy::inline_always)]

mod decode;
mod encode;

pub(super) use decode::{decode, decode_typed};
pub(super) use encode::{encode, encode_typed};

use lwm2m_codec::tlv::{Record, TlvError};

use super::ValueRef;
use crate::value::{DataType, ObjectLink};

/// The value of a data record, typed as `data_type`; borrows strings and bytes from the payload.
// Always inlined: returned through memory, the `Result` costs a store-forwarding stall per
// record, more than the decoding itself.
#[inline(always)]
pub(super) fn value_ref<'a>(
    record: &Record<'a>,
    data_type: DataType,
) -> Result<ValueRef<'a>, TlvError> {
    Ok(match data_type {
        DataType::String => ValueRef::String(record.as_str()?),
        DataType::Integer => ValueRef::Integer(record.as_integer()?),
        DataType::Float => ValueRef::Float(record.as_float()?),
        DataType::Boolean => ValueRef::Boolean(record.as_bool()?),
        DataType::Opaque => ValueRef::Opaque(record.as_opaque()?),
        DataType::Time => ValueRef::Time(record.as_time()?),
        DataType::Objlnk => {
            let (object, instance) = record.as_objlnk()?;
            ValueRef::Objlnk(ObjectLink::new(object, instance))
        }
    })
}
