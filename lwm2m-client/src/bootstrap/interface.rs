//! The commands of a bootstrap session, from the Bootstrap-Server only: Bootstrap-Write (`PUT`
//! on `/o`, `/o/i`, `/o/i/r`), Bootstrap-Delete (`DELETE /`, `/o`, `/o/i`), Bootstrap-Discover
//! (`GET` with Accept 40 on `/` and `/o`) and Bootstrap-Finish (`POST /bs`).
//!
//! Access rights and the writability of resources do not apply here (digest §7.3); the
//! Bootstrap-Server's own Security instance and the Device instance are never deleted (§7.4).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::hash::Hash;

use lwm2m_codec::coap::{option, Code, Message};
use lwm2m_codec::ContentFormat;
use lwm2m_model::{Level, Node, ObjectInstance, Path, Resource, Version};
use lwm2m_objects::{Security, Server};
use lwm2m_transport::{IncomingId, IncomingRequest, Instant, Response};

use crate::client::Client;
use crate::content;
use crate::error::DmError;
use crate::object::{TypedStore, WriteMode};

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// A request from the Bootstrap-Server is a bootstrap command; `false` when `peer` is not
    /// the Bootstrap-Server (or the account is gone), so the DM layer handles the request.
    pub(crate) fn on_bootstrap_request(
        &mut self,
        now: Instant,
        id: IncomingId,
        peer: &P,
        request: &IncomingRequest,
    ) -> bool {
        let from_bs = self
            .bootstrap
            .as_ref()
            .is_some_and(|b| &b.config.peer == peer);
        if !from_bs || !self.has_bootstrap_account() {
            return false;
        }
        let Ok(msg) = request.message() else {
            self.endpoint
                .respond(now, id, Response::new(Code::BAD_REQUEST))
                .ok();
            return true;
        };
        let segments: Vec<&[u8]> = msg.options_of(option::URI_PATH).collect();
        if msg.code() == Code::POST && segments == [b"bs"] {
            self.bootstrap_finish(now, id);
            return true;
        }
        self.touch_session(now);
        let outcome = Path::from_segments(segments.iter().copied())
            .map_err(|e| DmError::bad_request(Path::ROOT, format!("Uri-Path: {e}")))
            .and_then(|path| self.bootstrap_command(&path, &msg, request.body()));
        let response = match outcome {
            Ok(response) => response,
            Err(e) => Response::new(bootstrap_code(&e)),
        };
        self.endpoint.respond(now, id, response).ok();
        true
    }

    fn bootstrap_command(
        &mut self,
        path: &Path,
        msg: &Message<'_>,
        body: &[u8],
    ) -> Result<Response, DmError> {
        let accept = msg.accept().ok().flatten();
        match msg.code() {
            Code::PUT => self.bootstrap_write(path, msg, body),
            Code::DELETE => self.bootstrap_delete(path),
            Code::GET if accept == Some(ContentFormat::LINK_FORMAT) => {
                let links = self.bootstrap_discover(path)?;
                Response::build(Code::CONTENT, |b| {
                    b.content_format(ContentFormat::LINK_FORMAT);
                })
                .map(|r| r.with_payload(links.into_bytes()))
                .map_err(|e| DmError::internal(*path, format!("{e}")))
            }
            _ => Err(DmError::bad_request(
                *path,
                "the bootstrap interface has Write, Delete, Discover and Finish",
            )),
        }
    }

    /// Bootstrap-Write: creates instances as needed; unknown and executable resources are
    /// ignored.
    fn bootstrap_write(
        &mut self,
        path: &Path,
        msg: &Message<'_>,
        body: &[u8],
    ) -> Result<Response, DmError> {
        let object_id = path
            .object_id()
            .ok_or_else(|| DmError::bad_request(*path, "Bootstrap-Write needs an object"))?;
        if path.level() == Level::ResourceInstance {
            return Err(DmError::bad_request(
                *path,
                "LwM2M 1.0 writes no resource instances",
            ));
        }
        if !self.objects.contains_key(&object_id) {
            return Err(DmError::bad_request(*path, "object not supported"));
        }
        let format = match msg.content_format() {
            Ok(Some(n)) => {
                ContentFormat::from_number(n).ok_or(DmError::UnsupportedContentFormat {
                    path: *path,
                    format: Some(n),
                })?
            }
            Ok(None) => {
                return Err(DmError::bad_request(
                    *path,
                    "a Write needs a Content-Format",
                ))
            }
            Err(e) => return Err(DmError::bad_request(*path, format!("Content-Format: {e}"))),
        };
        let node = content::decode(format, path, body, &self.registry)?;
        let instances: Vec<ObjectInstance> = match node {
            Node::Object(object) => object.instances().cloned().collect(),
            Node::ObjectInstance(instance) => alloc::vec![instance],
            Node::Resource(resource) => {
                let id = path.instance_id().unwrap_or_default();
                alloc::vec![ObjectInstance::with_resources(id, [resource])]
            }
            Node::ResourceInstance(_) => {
                return Err(DmError::bad_request(*path, "unexpected payload shape"))
            }
        };
        for instance in &instances {
            self.bootstrap_write_instance(object_id, instance)?;
        }
        self.objects_changed = true;
        self.changed.push(*path);
        Response::build(Code::CHANGED, |_| {}).map_err(|e| DmError::internal(*path, format!("{e}")))
    }

    fn bootstrap_write_instance(
        &mut self,
        object_id: u16,
        instance: &ObjectInstance,
    ) -> Result<(), DmError> {
        let Some(handler) = self.objects.get_mut(&object_id) else {
            return Err(DmError::bad_request(Path::ROOT, "object not supported"));
        };
        let definition = handler.definition();
        let resources: Vec<Resource> = instance
            .resources()
            .filter(|r| {
                definition
                    .resource(r.id())
                    .is_some_and(|d| !d.is_executable())
            })
            .cloned()
            .collect();
        let id = instance.id();
        let at = crate::object::instance_path(object_id, id);
        let outcome = if handler.instances().contains(&id) {
            handler.write(id, resources, WriteMode::Update)
        } else {
            handler.create(ObjectInstance::with_resources(id, resources))
        };
        // The bootstrap interface knows only 4.00 and 4.15 for a Write.
        outcome.map_err(|e| match e {
            DmError::UnsupportedContentFormat { .. } | DmError::BadRequest { .. } => e,
            other => DmError::bad_request(at, format!("{other}")),
        })
    }

    /// Bootstrap-Delete of `/`, `/o` or `/o/i`.
    fn bootstrap_delete(&mut self, path: &Path) -> Result<Response, DmError> {
        let targets: Vec<(u16, u16)> = match path.level() {
            Level::Root => self
                .objects
                .iter()
                .flat_map(|(&o, h)| h.instances().into_iter().map(move |i| (o, i)))
                .collect(),
            Level::Object => {
                let o = path.object_id().unwrap_or_default();
                let handler = self
                    .objects
                    .get(&o)
                    .ok_or_else(|| DmError::bad_request(*path, "object not supported"))?;
                handler.instances().into_iter().map(|i| (o, i)).collect()
            }
            Level::ObjectInstance => {
                let o = path.object_id().unwrap_or_default();
                let i = path.instance_id().unwrap_or_default();
                if o == 3 {
                    return Err(DmError::bad_request(*path, "the Device instance stays"));
                }
                let exists = self
                    .objects
                    .get(&o)
                    .is_some_and(|h| h.instances().contains(&i));
                if !exists {
                    return Err(DmError::bad_request(*path, "no such instance"));
                }
                alloc::vec![(o, i)]
            }
            Level::Resource | Level::ResourceInstance => {
                return Err(DmError::bad_request(
                    *path,
                    "Bootstrap-Delete targets instances",
                ))
            }
        };
        for (o, i) in targets {
            if o == 3 || (o == 0 && self.is_bootstrap_security(i)) {
                continue;
            }
            let Some(handler) = self.objects.get_mut(&o) else {
                continue;
            };
            // Objects whose implementation cannot delete keep their instances.
            if handler.delete(i).is_ok() {
                let at = crate::object::instance_path(o, i);
                self.attributes.remove_under(&at);
                self.changed.push(at);
                self.objects_changed = true;
            }
        }
        Response::build(Code::DELETED, |_| {}).map_err(|e| DmError::internal(*path, format!("{e}")))
    }

    fn is_bootstrap_security(&self, instance: u16) -> bool {
        self.object::<TypedStore<Security>>(0)
            .and_then(|s| s.get(instance))
            .is_some_and(|s| s.bootstrap_server)
    }

    /// Bootstrap-Discover of `/` or `/o`: `lwm2m="1.0"`, then each object's instances (or
    /// `</o>` without instances), Security and Server instances of a server account with
    /// `ssid`.
    pub(crate) fn bootstrap_discover(&self, path: &Path) -> Result<String, DmError> {
        let objects: Vec<u16> = match path.level() {
            Level::Root => self.objects.keys().copied().collect(),
            Level::Object => {
                let o = path.object_id().unwrap_or_default();
                if !self.objects.contains_key(&o) {
                    return Err(DmError::NotFound(*path));
                }
                alloc::vec![o]
            }
            _ => {
                return Err(DmError::bad_request(
                    *path,
                    "Bootstrap-Discover targets / or an object",
                ))
            }
        };
        let mut out = String::from("lwm2m=\"1.0\"");
        for o in objects {
            let Some(handler) = self.objects.get(&o) else {
                continue;
            };
            let version = handler.definition().version;
            let instances = handler.instances();
            if instances.is_empty() || version != Version::V1_0 {
                let _ = write!(out, ",</{o}>");
                if version != Version::V1_0 {
                    let _ = write!(out, ";ver=\"{version}\"");
                }
            }
            for i in instances {
                let _ = write!(out, ",</{o}/{i}>");
                if let Some(ssid) = self.ssid_of(o, i) {
                    let _ = write!(out, ";ssid={ssid}");
                }
            }
        }
        Ok(out)
    }

    /// The Short Server ID of a Security (non-bootstrap) or Server instance.
    fn ssid_of(&self, object: u16, instance: u16) -> Option<i64> {
        match object {
            0 => {
                self.object::<TypedStore<Security>>(0)?
                    .get(instance)
                    .filter(|s| !s.bootstrap_server)?
                    .short_server_id
            }
            1 => Some(
                self.object::<TypedStore<Server>>(1)?
                    .get(instance)?
                    .short_server_id,
            ),
            _ => None,
        }
    }

    /// Bootstrap-Finish: 2.04 and the new accounts when the configuration is consistent, 4.06
    /// otherwise (the session stays open for a fix); 4.00 outside a session.
    fn bootstrap_finish(&mut self, now: Instant, id: IncomingId) {
        if !self.in_session() {
            self.endpoint
                .respond(now, id, Response::new(Code::BAD_REQUEST))
                .ok();
            return;
        }
        if let Ok(accounts) = self.configured_accounts() {
            self.endpoint
                .respond(now, id, Response::new(Code::CHANGED))
                .ok();
            self.apply_accounts(now, &accounts);
            self.bootstrap_succeeded();
        } else {
            // The Bootstrap-Server may fix the configuration and finish again.
            self.touch_session(now);
            self.endpoint
                .respond(now, id, Response::new(Code::NOT_ACCEPTABLE))
                .ok();
        }
    }
}

/// The bootstrap interface's code for an error: its table has 4.00, 4.04 (Discover) and 4.15.
fn bootstrap_code(e: &DmError) -> Code {
    match e {
        DmError::NotFound(_) => Code::NOT_FOUND,
        DmError::UnsupportedContentFormat { .. } => Code::UNSUPPORTED_CONTENT_FORMAT,
        DmError::Internal { .. } => Code::INTERNAL_SERVER_ERROR,
        _ => Code::BAD_REQUEST,
    }
}
