//! Write (replace and partial update) and Write-Attributes.

use alloc::format;
use alloc::vec::Vec;
use core::hash::Hash;

use lwm2m_codec::coap::{Code, Message};
use lwm2m_model::{
    AccessRights, AttributeUpdate, BindingMode, Level, Node, Path, Resource, ResourceValue,
};

use super::{content_format, Reply};
use crate::client::{Client, ClientEvent};
use crate::content;
use crate::error::DmError;
use crate::object::WriteMode;

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// Write: `PUT /o/i` replaces the instance, `PUT /o/i/r` the resource, `POST /o/i` updates.
    pub(super) fn write(
        &mut self,
        ssid: u16,
        path: &Path,
        msg: &Message<'_>,
        body: &[u8],
    ) -> Result<Reply, DmError> {
        match path.level() {
            Level::ResourceInstance if msg.code() == Code::PUT => {
                return self.write_resource_instance(ssid, path, msg, body);
            }
            // A partial update (POST) of a resource instance is no operation.
            Level::Root | Level::Object | Level::ResourceInstance => {
                return Err(DmError::MethodNotAllowed(*path))
            }
            Level::ObjectInstance | Level::Resource => {}
        }
        self.handler(path)?;
        let format = content_format(msg, path)?
            .ok_or_else(|| DmError::bad_request(*path, "a Write needs a Content-Format"))?;
        self.check_instance(path)?;
        if path.level() == Level::Resource {
            let resource = self.resource_definition(path)?;
            self.require(ssid, path, AccessRights::WRITE)?;
            if !resource.operations.can_write() {
                return Err(DmError::MethodNotAllowed(*path));
            }
        } else {
            self.require(ssid, path, AccessRights::WRITE)?;
        }
        if let Some(reply) = self.write_package_block(ssid, path, msg, body) {
            return reply;
        }
        let handler = self.handler(path)?;
        let definition = handler.definition();
        let node = content::decode(format, path, body, &self.registry)?;
        let resources: Vec<Resource> = match node {
            Node::ObjectInstance(instance) => instance.resources().cloned().collect(),
            Node::Resource(resource) => alloc::vec![resource],
            Node::Object(_) | Node::ResourceInstance(_) => {
                return Err(DmError::bad_request(*path, "unexpected payload shape"))
            }
        };
        // Every resource must be known and writable, or nothing is written.
        for r in &resources {
            let at = path
                .parent()
                .filter(|_| path.level() == Level::Resource)
                .unwrap_or(*path)
                .child(r.id())
                .map_err(|e| DmError::bad_request(*path, format!("{e}")))?;
            match definition.resource(r.id()) {
                None => return Err(DmError::NotFound(at)),
                Some(d) if !d.operations.can_write() => return Err(DmError::MethodNotAllowed(at)),
                Some(_) => {}
            }
        }
        if path.object_id() == Some(1) {
            check_server_values(path, &resources)?;
        }
        let mode = match (msg.code(), path.level()) {
            (Code::PUT, Level::ObjectInstance) => WriteMode::ReplaceInstance,
            (Code::PUT, _) => WriteMode::ReplaceResources,
            _ => WriteMode::Update,
        };
        let instance = path.instance_id().unwrap_or_default();
        self.handler_mut(path)?.write(instance, resources, mode)?;
        self.changed.push(*path);
        self.events
            .push_back(ClientEvent::Written { ssid, path: *path });
        Ok(Reply::empty(Code::CHANGED))
    }

    /// `PUT /o/i/r/ri`: replaces the value of one existing instance of a multiple resource; the
    /// other instances are kept.
    fn write_resource_instance(
        &mut self,
        ssid: u16,
        path: &Path,
        msg: &Message<'_>,
        body: &[u8],
    ) -> Result<Reply, DmError> {
        self.handler(path)?;
        let format = content_format(msg, path)?
            .ok_or_else(|| DmError::bad_request(*path, "a Write needs a Content-Format"))?;
        let definition = self.multiple_resource(ssid, path, true, AccessRights::WRITE)?;
        if !definition.operations.can_write() {
            return Err(DmError::MethodNotAllowed(*path));
        }
        let instance = path.instance_id().unwrap_or_default();
        let ri = path.resource_instance_id().unwrap_or_default();
        let mut resource = self
            .handler(path)?
            .read_resource(instance, definition.id)
            .map_err(|e| match e {
                DmError::NotFound(_) => DmError::NotFound(*path),
                other => other,
            })?;
        let value = match content::decode(format, path, body, &self.registry)? {
            Node::ResourceInstance(written) if written.id == ri => written.value,
            _ => return Err(DmError::bad_request(*path, "unexpected payload shape")),
        };
        match resource.value_mut() {
            ResourceValue::Multiple(instances) => match instances.get_mut(&ri) {
                Some(slot) => *slot = value,
                None => return Err(DmError::NotFound(*path)),
            },
            ResourceValue::Single(_) => return Err(DmError::NotFound(*path)),
        }
        self.handler_mut(path)?.write(
            instance,
            alloc::vec![resource],
            WriteMode::ReplaceResources,
        )?;
        self.changed.push(*path);
        self.events
            .push_back(ClientEvent::Written { ssid, path: *path });
        Ok(Reply::empty(Code::CHANGED))
    }

    /// A Block1 block of a firmware Package (`/5/0/0`), streamed to the firmware sink.
    fn write_package_block(
        &mut self,
        ssid: u16,
        path: &Path,
        msg: &Message<'_>,
        body: &[u8],
    ) -> Option<Result<Reply, DmError>> {
        if (path.object_id(), path.resource_id(), path.level())
            != (Some(5), Some(0), Level::Resource)
        {
            return None;
        }
        let block = msg.block1().ok().flatten()?;
        let answer = match self.firmware_push(path, msg, block, body)? {
            Ok(answer) => answer,
            Err(e) => return Some(Err(e)),
        };
        if answer.complete {
            self.changed.push(*path);
            self.events
                .push_back(ClientEvent::Written { ssid, path: *path });
        }
        Some(Ok(Reply::empty(answer.code)))
    }

    /// Write-Attributes: `PUT` with the attributes as Uri-Query items and no payload.
    pub(super) fn write_attributes(
        &mut self,
        ssid: u16,
        path: &Path,
        msg: &Message<'_>,
    ) -> Result<Reply, DmError> {
        let data_type = match path.level() {
            Level::Root => return Err(DmError::MethodNotAllowed(*path)),
            Level::ResourceInstance => {
                self.resource_instance_value(ssid, path, true)?;
                self.resource_definition(path)?.data_type
            }
            Level::Object => {
                self.handler(path)?;
                None
            }
            Level::ObjectInstance => {
                self.check_instance(path)?;
                self.require(ssid, path, AccessRights::READ)?;
                None
            }
            Level::Resource => {
                self.check_instance(path)?;
                let resource = self.resource_definition(path)?;
                self.require(ssid, path, AccessRights::READ)?;
                resource.data_type
            }
        };
        let items = msg
            .uri_query()
            .map_err(|e| DmError::bad_request(*path, format!("Uri-Query: {e}")))?;
        let update = AttributeUpdate::parse(items)
            .map_err(|e| DmError::bad_request(*path, format!("{e}")))?;
        let stored = self.attributes.at(ssid, path);
        // A resource instance takes the attributes of a resource (the model knows LwM2M 1.0's
        // three levels; 1.1 gives `/o/i/r/ri` the resource-level set).
        let level = match path.level() {
            Level::ResourceInstance => Level::Resource,
            level => level,
        };
        let written = stored
            .write(&update, level, data_type)
            .map_err(|e| DmError::bad_request(*path, format!("{e}")))?;
        self.attributes.set(ssid, *path, written);
        Ok(Reply::empty(Code::CHANGED))
    }
}

/// The Server object values the client acts on must make sense: a positive 32-bit lifetime, a
/// binding this client supports (`U` or `UQ`).
fn check_server_values(path: &Path, resources: &[Resource]) -> Result<(), DmError> {
    for r in resources {
        match (r.id(), r.as_single()) {
            (1, Some(value)) => {
                let ok = value
                    .as_integer()
                    .is_some_and(|l| l > 0 && u32::try_from(l).is_ok());
                if !ok {
                    return Err(DmError::bad_request(
                        *path,
                        "the lifetime must be 1-4294967295 s",
                    ));
                }
            }
            (7, Some(value)) => {
                let ok = value
                    .as_str()
                    .and_then(BindingMode::parse)
                    .is_some_and(|b| matches!(b, BindingMode::Udp | BindingMode::UdpQueue));
                if !ok {
                    return Err(DmError::bad_request(
                        *path,
                        "this client supports the bindings U and UQ",
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}
