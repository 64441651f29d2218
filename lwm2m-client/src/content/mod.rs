//! The content funnel: every payload the device-management layer encodes or decodes goes through
//! [`encode`], [`decode`] and [`decode_create`], thin adapters over
//! [`lwm2m_model::content`] that turn its errors into [`DmError`]s and apply the client's
//! choices where the TS leaves room:
//!
//! - a Write in plain text or opaque to anything but one value (a single-instance resource, or
//!   one instance of a multiple resource; opaque: of type Opaque) is refused with 4.15 (the
//!   format cannot carry that target), before decoding;
//! - a Create payload is one Object-Instance TLV (the server picks the id) or bare Resource TLVs
//!   (the client picks it); JSON names the instance in its entry names.

use alloc::format;
use alloc::vec::Vec;

use lwm2m_codec::coap::Code;
use lwm2m_codec::ContentFormat;
use lwm2m_model::content::{self, ContentError};
use lwm2m_model::{DataType, Level, Node, ObjectInstance, Path, Registry};

use crate::error::DmError;

/// Encodes `node`, the content at `path`, in `format` (4.06 when the format cannot carry it).
pub(crate) fn encode(
    format: ContentFormat,
    path: &Path,
    node: &Node,
    registry: &Registry,
) -> Result<Vec<u8>, DmError> {
    content::encode(format, path, node, registry).map_err(|e| dm_error(format, path, &e))
}

/// Decodes a Write payload for `path` (an object instance or a resource): a
/// [`Node::ObjectInstance`] or a [`Node::Resource`].
pub(crate) fn decode(
    format: ContentFormat,
    path: &Path,
    payload: &[u8],
    registry: &Registry,
) -> Result<Node, DmError> {
    if matches!(
        format,
        ContentFormat::Text | ContentFormat::Opaque | ContentFormat::LinkFormat
    ) {
        // One value: a single resource, or one instance of a multiple resource.
        let single = registry.resource_at(path).filter(|r| match path.level() {
            Level::Resource => !r.is_multiple(),
            Level::ResourceInstance => r.is_multiple(),
            _ => false,
        });
        let carries = match (format, single) {
            (ContentFormat::Text, Some(_)) => true,
            (ContentFormat::Opaque, Some(r)) => r.data_type == Some(DataType::Opaque),
            _ => false,
        };
        if !carries {
            return Err(unsupported(format, path));
        }
    }
    content::decode(format, path, payload, registry)
        .map(|content| content.node)
        .map_err(|e| dm_error(format, path, &e))
}

/// Decodes the payload of a Create on `/o` (`path`): the requested instance id, if the payload
/// names one, and the instance's resources.
pub(crate) fn decode_create(
    format: ContentFormat,
    path: &Path,
    payload: &[u8],
    registry: &Registry,
) -> Result<(Option<u16>, ObjectInstance), DmError> {
    if !matches!(format, ContentFormat::Tlv | ContentFormat::Json) {
        return Err(unsupported(format, path));
    }
    let at_object = content::decode(format, path, payload, registry);
    match at_object {
        Ok(content) => match content.node {
            Node::Object(object) => {
                let mut instances = object.instances();
                match (instances.next(), instances.next()) {
                    (Some(instance), None) => Ok((Some(instance.id()), instance.clone())),
                    (None, _) => Ok((None, ObjectInstance::new(0))),
                    (Some(_), Some(_)) => Err(DmError::bad_request(
                        *path,
                        "a Create carries one object instance",
                    )),
                }
            }
            _ => Err(DmError::bad_request(*path, "unexpected payload shape")),
        },
        Err(first) if format == ContentFormat::Tlv => {
            // Bare Resource TLVs: decode them as the content of an instance.
            let at = path
                .child(0)
                .map_err(|e| DmError::bad_request(*path, format!("{e}")))?;
            match content::decode(format, &at, payload, registry) {
                Ok(content) => match content.node {
                    Node::ObjectInstance(instance) => Ok((None, instance)),
                    _ => Err(dm_error(format, path, &first)),
                },
                Err(_) => Err(dm_error(format, path, &first)),
            }
        }
        Err(e) => Err(dm_error(format, path, &e)),
    }
}

fn unsupported(format: ContentFormat, path: &Path) -> DmError {
    DmError::UnsupportedContentFormat {
        path: *path,
        format: Some(format.number()),
    }
}

/// The [`DmError`] with the code the model gives the content error.
fn dm_error(format: ContentFormat, path: &Path, e: &ContentError) -> DmError {
    match e.code() {
        Code::BAD_REQUEST => DmError::bad_request(*path, format!("{e}")),
        Code::NOT_ACCEPTABLE => DmError::NotAcceptable {
            path: *path,
            format: format.number(),
        },
        Code::UNSUPPORTED_CONTENT_FORMAT => unsupported(format, path),
        Code::METHOD_NOT_ALLOWED => DmError::MethodNotAllowed(*path),
        _ => DmError::internal(*path, format!("{e}")),
    }
}

#[cfg(test)]
mod tests;
