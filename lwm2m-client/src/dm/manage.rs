//! Execute, Create and Delete.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::hash::Hash;

use lwm2m_codec::coap::{Code, Message};
use lwm2m_codec::execute::ExecuteArgs;
use lwm2m_codec::ContentFormat;
use lwm2m_model::{AccessRights, Level, ObjectInstance, Path, Resource};
use lwm2m_objects::Server;

use super::{content_format, Reply};
use crate::client::{Client, ClientEvent};
use crate::content;
use crate::error::DmError;
use crate::object::TypedStore;

/// Disable (`/1/x/4`).
const SERVER_DISABLE: u16 = 4;
/// Registration Update Trigger (`/1/x/8`).
const SERVER_UPDATE_TRIGGER: u16 = 8;

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// Execute `POST /o/i/r` with optional text arguments.
    pub(super) fn execute(
        &mut self,
        ssid: u16,
        path: &Path,
        msg: &Message<'_>,
        body: &[u8],
    ) -> Result<Reply, DmError> {
        if (path.object_id(), path.resource_id()) == (Some(5), Some(0)) {
            // A firmware Package pushed with POST (as the TS example does) is a Write.
            return self.write(ssid, path, msg, body);
        }
        self.check_instance(path)?;
        let resource = self.resource_definition(path)?;
        self.require(ssid, path, AccessRights::EXECUTE)?;
        if !resource.is_executable() {
            return Err(DmError::MethodNotAllowed(*path));
        }
        match content_format(msg, path)? {
            None | Some(ContentFormat::Text) => {}
            Some(other) => {
                return Err(DmError::UnsupportedContentFormat {
                    path: *path,
                    format: Some(other.number()),
                })
            }
        }
        let arguments = ExecuteArgs::parse(body)
            .map_err(|e| DmError::bad_request(*path, format!("Execute arguments: {e}")))?;
        let instance = path.instance_id().unwrap_or_default();
        self.handler_mut(path)?
            .execute(instance, resource.id, &arguments)?;
        if path.object_id() == Some(1) {
            self.on_server_execute(instance, resource.id);
        }
        let arguments: Vec<(u8, Option<String>)> = arguments
            .iter()
            .map(|a| (a.digit(), a.value().map(String::from)))
            .collect();
        self.events.push_back(ClientEvent::Executed {
            ssid,
            path: *path,
            arguments,
        });
        Ok(Reply::empty(Code::CHANGED))
    }

    /// Disable and Registration Update Trigger of a Server instance.
    fn on_server_execute(&mut self, instance: u16, resource: u16) {
        let Some(target) = self
            .server_store()
            .and_then(|s| s.get(instance))
            .and_then(|s| u16::try_from(s.short_server_id).ok())
        else {
            return;
        };
        match resource {
            SERVER_UPDATE_TRIGGER => {
                if let Some(r) = self.registrations.get_mut(&target) {
                    r.request_update();
                }
            }
            SERVER_DISABLE => self.pending_disable.push(target),
            _ => {}
        }
    }

    /// What must wait until the response is out: Disable de-registers the server and keeps it
    /// silent for its Disable Timeout.
    pub(super) fn after_response(&mut self, now: lwm2m_transport::Instant) {
        for ssid in core::mem::take(&mut self.pending_disable) {
            let timeout = self
                .object::<TypedStore<Server>>(1)
                .and_then(|s| s.iter().find(|(_, s)| s.short_server_id == i64::from(ssid)))
                .and_then(|(_, s)| s.disable_timeout)
                .and_then(|t| u64::try_from(t).ok())
                .unwrap_or(86_400);
            let until = now + core::time::Duration::from_secs(timeout);
            self.deregister(now, ssid, Some(until));
        }
    }

    /// Create `POST /o` with a TLV or JSON instance.
    pub(super) fn create(
        &mut self,
        ssid: u16,
        path: &Path,
        msg: &Message<'_>,
        body: &[u8],
    ) -> Result<Reply, DmError> {
        let handler = self.handler(path)?;
        let object_id = path.object_id().unwrap_or_default();
        let format = content_format(msg, path)?
            .ok_or_else(|| DmError::bad_request(*path, "a Create needs a Content-Format"))?;
        self.require(ssid, path, AccessRights::CREATE)?;
        let definition = handler.definition();
        let (requested, decoded) = content::decode_create(format, path, body, &self.registry)?;
        let existing = handler.instances();
        let id = match requested {
            Some(id) => id,
            None if definition.is_multiple() => (0..=lwm2m_model::MAX_ID)
                .find(|id| !existing.contains(id))
                .ok_or_else(|| DmError::bad_request(*path, "no free instance id"))?,
            None => 0,
        };
        if id > lwm2m_model::MAX_ID {
            return Err(DmError::bad_request(*path, "instance id 65535 is reserved"));
        }
        if existing.contains(&id) {
            return Err(DmError::bad_request(
                *path,
                format!("instance {id} already exists"),
            ));
        }
        if !definition.is_multiple() && (id != 0 || !existing.is_empty()) {
            return Err(DmError::bad_request(
                *path,
                "a single-instance object has only instance 0",
            ));
        }
        // Unknown and executable resources are ignored; every writable mandatory one is needed.
        let resources: Vec<Resource> = decoded
            .resources()
            .filter(|r| {
                definition
                    .resource(r.id())
                    .is_some_and(|d| !d.is_executable())
            })
            .cloned()
            .collect();
        for d in definition.mandatory_resources() {
            if d.operations.can_write() && !resources.iter().any(|r| r.id() == d.id) {
                return Err(DmError::bad_request(
                    *path,
                    format!("mandatory resource {} ({}) is missing", d.id, d.name),
                ));
            }
        }
        let instance = ObjectInstance::with_resources(id, resources);
        self.handler_mut(path)?.create(instance)?;
        let created = Path::object_instance(object_id, id)
            .map_err(|e| DmError::internal(*path, format!("{e}")))?;
        self.add_access_instance(ssid, object_id, id);
        self.objects_changed = true;
        self.changed.push(*path);
        self.events.push_back(ClientEvent::Created {
            ssid,
            path: created,
        });
        Ok(Reply {
            location: Some(created),
            ..Reply::empty(Code::CREATED)
        })
    }

    /// Delete `DELETE /o/i`.
    pub(super) fn delete(&mut self, ssid: u16, path: &Path) -> Result<Reply, DmError> {
        if path.level() != Level::ObjectInstance {
            if path.object_id() == Some(0) {
                return Err(DmError::NotFound(*path));
            }
            return Err(DmError::MethodNotAllowed(*path));
        }
        self.check_instance(path)?;
        let object_id = path.object_id().unwrap_or_default();
        let instance = path.instance_id().unwrap_or_default();
        if object_id == 3 {
            return Err(DmError::MethodNotAllowed(*path));
        }
        self.require(ssid, path, AccessRights::DELETE)?;
        self.handler_mut(path)?.delete(instance)?;
        self.remove_access_instance(object_id, instance);
        self.attributes.remove_under(path);
        self.objects_changed = true;
        self.changed.push(*path);
        self.events
            .push_back(ClientEvent::Deleted { ssid, path: *path });
        Ok(Reply::empty(Code::DELETED))
    }
}
