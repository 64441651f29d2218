//! Read, Observe and Discover.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::hash::Hash;

use lwm2m_codec::coap::{Code, Message};
use lwm2m_codec::ContentFormat;
use lwm2m_model::{
    AccessRights, DiscoverAttributes, Level, Node, Object, ObjectInstance, Path,
    ResourceDefinition, ResourceInstance, ResourceValue, Value, Version,
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
            Node::ResourceInstance(ri) => match ri.value {
                Value::Opaque(_) => ContentFormat::Opaque,
                _ => ContentFormat::Text,
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
            Level::ResourceInstance => {
                let value = self.resource_instance_value(ssid, path, check_access)?;
                Ok(Node::ResourceInstance(ResourceInstance {
                    id: path.resource_instance_id().unwrap_or_default(),
                    value,
                }))
            }
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

    /// The value of resource instance `path` (`/o/i/r/ri`): 4.04 when the instance, the
    /// resource or the resource instance does not exist (a single resource has no instances),
    /// 4.01 without the Read right, 4.05 when the resource is not readable.
    pub(crate) fn resource_instance_value(
        &self,
        ssid: u16,
        path: &Path,
        check_access: bool,
    ) -> Result<Value, DmError> {
        let resource = self.multiple_resource(ssid, path, check_access, AccessRights::READ)?;
        if !resource.operations.can_read() {
            return Err(DmError::MethodNotAllowed(*path));
        }
        let instance = path.instance_id().unwrap_or_default();
        let value = self
            .handler(path)?
            .read_resource(instance, resource.id)
            .map_err(|e| match e {
                DmError::NotFound(_) => DmError::NotFound(*path),
                other => other,
            })?;
        let ri = path.resource_instance_id().unwrap_or_default();
        value.instance(ri).cloned().ok_or(DmError::NotFound(*path))
    }

    /// The definition of the multiple resource that holds resource instance `path`, after the
    /// checks every operation on `/o/i/r/ri` shares: the object instance exists, the resource is
    /// defined and multiple (4.04), and, with `check_access`, server `ssid` has `needed` on the
    /// instance (4.01).
    pub(crate) fn multiple_resource(
        &self,
        ssid: u16,
        path: &Path,
        check_access: bool,
        needed: AccessRights,
    ) -> Result<ResourceDefinition, DmError> {
        self.check_instance(path)?;
        let resource = self.resource_definition(path)?;
        if !resource.is_multiple() {
            return Err(DmError::NotFound(*path));
        }
        if check_access {
            self.require(ssid, path, needed)?;
        }
        Ok(resource)
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
        let links = match path.level() {
            Level::Root => return Err(DmError::MethodNotAllowed(*path)),
            Level::ResourceInstance => self.discover_resource_instance(ssid, path)?,
            Level::Object => self.discover_object(ssid, path)?,
            Level::ObjectInstance => self.discover_instance(ssid, path)?,
            Level::Resource => self.discover_resource(ssid, path)?,
        };
        let mut out = String::new();
        for (at, attributes) in links {
            if !out.is_empty() {
                out.push(',');
            }
            let _ = write!(out, "<{at}>{attributes}");
        }
        Ok(Reply::content(ContentFormat::LinkFormat, out.into_bytes()))
    }

    /// The number of instances of multiple resource `resource` (`None` for a single one).
    fn dim(&self, path: &Path, instance: u16, resource: u16) -> Option<u16> {
        let handler = self.handler(path).ok()?;
        if !handler
            .definition()
            .resource(resource)
            .is_some_and(ResourceDefinition::is_multiple)
        {
            return None;
        }
        match handler.read_resource(instance, resource).ok()?.value() {
            ResourceValue::Multiple(m) => u16::try_from(m.len()).ok(),
            ResourceValue::Single(_) => None,
        }
    }

    /// `/o`: the object with its own attributes (and `ver`), then every instance and resource.
    fn discover_object(&self, ssid: u16, path: &Path) -> Result<Vec<Link>, DmError> {
        let handler = self.handler(path)?;
        let version = handler.definition().version;
        let mut links = vec![(
            *path,
            DiscoverAttributes {
                ver: (version != Version::V1_0).then_some(version),
                dim: None,
                notification: self.attributes.at(ssid, path),
            },
        )];
        for instance in handler.instances() {
            let at = child(path, instance)?;
            links.push((at, DiscoverAttributes::default()));
            for resource in handler.resources(instance) {
                links.push((child(&at, resource)?, DiscoverAttributes::default()));
            }
        }
        Ok(links)
    }

    /// `/o/i`: the instance with its attributes, then each resource with its own and `dim`.
    fn discover_instance(&self, ssid: u16, path: &Path) -> Result<Vec<Link>, DmError> {
        self.check_instance(path)?;
        let handler = self.handler(path)?;
        let instance = path.instance_id().unwrap_or_default();
        let mut links = vec![(
            *path,
            DiscoverAttributes {
                notification: self.attributes.at(ssid, path),
                ..DiscoverAttributes::default()
            },
        )];
        for resource in handler.resources(instance) {
            let at = child(path, resource)?;
            links.push((
                at,
                DiscoverAttributes {
                    ver: None,
                    dim: self.dim(path, instance, resource),
                    notification: self.attributes.at(ssid, &at),
                },
            ));
        }
        Ok(links)
    }

    /// `/o/i/r`: one link with `dim` and the effective (inherited) attributes.
    fn discover_resource(&self, ssid: u16, path: &Path) -> Result<Vec<Link>, DmError> {
        self.check_instance(path)?;
        let resource = self.resource_definition(path)?;
        let instance = path.instance_id().unwrap_or_default();
        if !self
            .handler(path)?
            .resources(instance)
            .contains(&resource.id)
        {
            return Err(DmError::NotFound(*path));
        }
        Ok(vec![(
            *path,
            DiscoverAttributes {
                ver: None,
                dim: self.dim(path, instance, resource.id),
                notification: self.attributes.effective(ssid, path),
            },
        )])
    }
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// `/o/i/r/ri`: one link with the effective attributes (resource instance over resource
    /// over instance over object).
    fn discover_resource_instance(&self, ssid: u16, path: &Path) -> Result<Vec<Link>, DmError> {
        // Discover needs no access right, only an existing resource instance.
        let resource = self.multiple_resource(ssid, path, false, AccessRights::NONE)?;
        let instance = path.instance_id().unwrap_or_default();
        let ri = path.resource_instance_id().unwrap_or_default();
        let exists = self
            .handler(path)?
            .read_resource(instance, resource.id)
            .ok()
            .is_some_and(|r| r.instance(ri).is_some());
        if !exists {
            return Err(DmError::NotFound(*path));
        }
        Ok(vec![(
            *path,
            DiscoverAttributes {
                ver: None,
                dim: None,
                notification: self.attributes.effective(ssid, path),
            },
        )])
    }
}

/// One Discover link: the path and its attributes.
type Link = (Path, DiscoverAttributes);

fn child(path: &Path, id: u16) -> Result<Path, DmError> {
    path.child(id)
        .map_err(|e| DmError::internal(*path, format!("{e}")))
}
