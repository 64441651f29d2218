//! Read, Observe and Discover.

use alloc::format;
use alloc::string::String;
use core::hash::Hash;

use lwm2m_codec::coap::{Code, Message};
use lwm2m_codec::ContentFormat;
use lwm2m_model::{
    AccessRights, DiscoverAttributes, Level, Node, Object, ObjectInstance, Path, ResourceValue,
    Value, Version,
};
use lwm2m_transport::{IncomingId, Instant, Response};

use super::Reply;
use crate::client::Client;
use crate::content;
use crate::error::DmError;

/// The format of a Read answer: the Accept option's (4.06 for a number LwM2M does not know),
/// else text (opaque for an Opaque value) for a single resource and TLV for the rest.
fn response_format(
    accept: Option<u16>,
    path: &Path,
    node: &Node,
) -> Result<ContentFormat, DmError> {
    match accept {
        Some(n) => match ContentFormat::from_number(n) {
            Some(ContentFormat::LinkFormat) | None => Err(DmError::NotAcceptable {
                path: *path,
                format: n,
            }),
            Some(format) => Ok(format),
        },
        None => Ok(match node {
            Node::Resource(r) => match r.value() {
                ResourceValue::Single(Value::Opaque(_)) => ContentFormat::Opaque,
                ResourceValue::Single(_) => ContentFormat::Text,
                ResourceValue::Multiple(_) => ContentFormat::Tlv,
            },
            _ => ContentFormat::Tlv,
        }),
    }
}

fn accept_of(msg: &Message<'_>, path: &Path) -> Result<Option<u16>, DmError> {
    msg.accept()
        .map_err(|e| DmError::bad_request(*path, format!("Accept: {e}")))
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// The content at `path` as server `ssid` may read it: an object lists the instances the
    /// server may read; an instance its readable resources. With `check_access` false the
    /// instance-level access check is left to the caller (notifications).
    pub(crate) fn read_node(
        &self,
        ssid: u16,
        path: &Path,
        check_access: bool,
    ) -> Result<Node, DmError> {
        let handler = self.handler(path)?;
        let definition = handler.definition();
        let readable = |instance: ObjectInstance| {
            let id = instance.id();
            ObjectInstance::with_resources(
                id,
                instance
                    .resources()
                    .filter(|r| {
                        definition
                            .resource(r.id())
                            .is_some_and(|d| d.operations.can_read())
                    })
                    .cloned()
                    .collect::<alloc::vec::Vec<_>>(),
            )
        };
        match path.level() {
            Level::Root => Err(DmError::MethodNotAllowed(*path)),
            Level::ResourceInstance => Err(DmError::bad_request(
                *path,
                "LwM2M 1.0 addresses objects, instances and resources",
            )),
            Level::Object => {
                let object_id = path.object_id().unwrap_or_default();
                let mut object = Object::new(object_id);
                for id in handler.instances() {
                    if !self
                        .rights(ssid, object_id, id)
                        .contains(AccessRights::READ)
                    {
                        continue;
                    }
                    object.insert(readable(handler.read(id)?));
                }
                Ok(Node::Object(object))
            }
            Level::ObjectInstance => {
                self.check_instance(path)?;
                if check_access {
                    self.require(ssid, path, AccessRights::READ)?;
                }
                let id = path.instance_id().unwrap_or_default();
                Ok(Node::ObjectInstance(readable(handler.read(id)?)))
            }
            Level::Resource => {
                self.check_instance(path)?;
                let resource = self.resource_definition(path)?;
                if check_access {
                    self.require(ssid, path, AccessRights::READ)?;
                }
                if !resource.operations.can_read() {
                    return Err(DmError::MethodNotAllowed(*path));
                }
                let instance = path.instance_id().unwrap_or_default();
                let value = handler.read_resource(instance, resource.id)?;
                if value.id() != resource.id {
                    return Err(DmError::internal(
                        *path,
                        "the object returned another resource",
                    ));
                }
                Ok(Node::Resource(value))
            }
        }
    }

    /// Read: the content in the Accept format (or the default one).
    pub(super) fn read(&self, ssid: u16, path: &Path, msg: &Message<'_>) -> Result<Reply, DmError> {
        let accept = accept_of(msg, path)?;
        let node = self.read_node(ssid, path, true)?;
        let format = response_format(accept, path, &node)?;
        let payload = content::encode(format, path, &node, &self.registry)?;
        Ok(Reply::content(format, payload))
    }

    /// Observe: a Read whose answer opens an observation.
    pub(super) fn observe(
        &mut self,
        now: Instant,
        id: IncomingId,
        ssid: u16,
        path: Path,
        msg: &Message<'_>,
    ) {
        let answer = accept_of(msg, &path).and_then(|accept| {
            if path.level() == Level::Root {
                return Err(DmError::MethodNotAllowed(path));
            }
            let node = self.read_node(ssid, &path, true)?;
            let format = response_format(accept, &path, &node)?;
            let payload = content::encode(format, &path, &node, &self.registry)?;
            Ok((node, format, payload))
        });
        match answer {
            Ok((node, format, payload)) => {
                let response = Reply::content(format, payload).into_response();
                match self.endpoint.accept_observation(now, id, response) {
                    Ok(relation) => self.start_observation(now, relation, ssid, path, format, node),
                    Err(_) => {
                        self.endpoint
                            .respond(now, id, Response::new(Code::INTERNAL_SERVER_ERROR))
                            .ok();
                    }
                }
            }
            Err(e) => {
                self.endpoint.respond(now, id, Response::new(e.code())).ok();
            }
        }
    }

    /// Discover: links with attributes (digest §9.2); no access right needed.
    pub(super) fn discover(&self, ssid: u16, path: &Path) -> Result<Reply, DmError> {
        let handler = self.handler(path)?;
        let definition = handler.definition();
        let dim = |instance: u16, resource: u16| -> Option<u16> {
            let r = handler.read_resource(instance, resource).ok()?;
            match r.value() {
                ResourceValue::Multiple(m) => u16::try_from(m.len()).ok(),
                ResourceValue::Single(_) => None,
            }
        };
        let multiple = |resource: u16| {
            definition
                .resource(resource)
                .is_some_and(|d| d.is_multiple())
        };
        let mut out = String::new();
        let mut link = |path: &Path, attributes: DiscoverAttributes| {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&format!("<{path}>{attributes}"));
        };
        match path.level() {
            Level::Root => return Err(DmError::MethodNotAllowed(*path)),
            Level::ResourceInstance => {
                return Err(DmError::bad_request(
                    *path,
                    "Discover targets objects, instances and resources",
                ))
            }
            Level::Object => {
                let ver = (definition.version != Version::V1_0).then_some(definition.version);
                link(
                    path,
                    DiscoverAttributes {
                        ver,
                        dim: None,
                        notification: self.attributes.at(ssid, path),
                    },
                );
                for instance in handler.instances() {
                    let at = path
                        .child(instance)
                        .map_err(|e| DmError::internal(*path, format!("{e}")))?;
                    link(&at, DiscoverAttributes::default());
                    for resource in handler.resources(instance) {
                        let r = at
                            .child(resource)
                            .map_err(|e| DmError::internal(*path, format!("{e}")))?;
                        link(&r, DiscoverAttributes::default());
                    }
                }
            }
            Level::ObjectInstance => {
                self.check_instance(path)?;
                let instance = path.instance_id().unwrap_or_default();
                link(
                    path,
                    DiscoverAttributes {
                        notification: self.attributes.at(ssid, path),
                        ..DiscoverAttributes::default()
                    },
                );
                for resource in handler.resources(instance) {
                    let r = path
                        .child(resource)
                        .map_err(|e| DmError::internal(*path, format!("{e}")))?;
                    link(
                        &r,
                        DiscoverAttributes {
                            ver: None,
                            dim: if multiple(resource) {
                                dim(instance, resource)
                            } else {
                                None
                            },
                            notification: self.attributes.at(ssid, &r),
                        },
                    );
                }
            }
            Level::Resource => {
                self.check_instance(path)?;
                let resource = self.resource_definition(path)?;
                let instance = path.instance_id().unwrap_or_default();
                if !handler.resources(instance).contains(&resource.id) {
                    return Err(DmError::NotFound(*path));
                }
                link(
                    path,
                    DiscoverAttributes {
                        ver: None,
                        dim: if resource.is_multiple() {
                            dim(instance, resource.id)
                        } else {
                            None
                        },
                        notification: self.attributes.effective(ssid, path),
                    },
                );
            }
        }
        Ok(Reply::content(ContentFormat::LinkFormat, out.into_bytes()))
    }
}
