//! Device management and the request side of information reporting (digest §9, §10.1): each
//! incoming request is classified into an operation, checked (target, access rights, formats)
//! and carried out on the object handlers; the outcome is a response with the TS's code.
//!
//! | request | operation | module |
//! |---|---|---|
//! | GET + Observe 0 / 1 | Observe / cancel + Read | [`read`] |
//! | GET + Accept 40 | Discover | [`read`] |
//! | GET | Read | [`read`] |
//! | PUT with payload | Write (replace) | [`write`] |
//! | PUT with Uri-Query only | Write-Attributes | [`write`] |
//! | POST `/o/i` | Write (partial update) | [`write`] |
//! | POST `/o/i/r` | Execute | [`manage`] |
//! | POST `/o` | Create | [`manage`] |
//! | DELETE `/o/i` | Delete | [`manage`] |
//!
//! A resource instance (`/o/i/r/ri` of a multiple resource) takes Read, Observe, Discover,
//! Write (`PUT`, replacing that one instance) and Write-Attributes (the resource-level set);
//! 4.04 when it does not exist (a single resource has none), 4.05 for the other methods.

mod manage;
mod read;
mod write;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::hash::Hash;

use lwm2m_codec::coap::{option, Code, Message};
use lwm2m_codec::ContentFormat;
use lwm2m_model::{Level, Path, ResourceDefinition};
use lwm2m_transport::{IncomingId, IncomingRequest, Instant, Response};

use crate::client::Client;
use crate::error::DmError;
use crate::object::ObjectHandler;

/// What a successful operation answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) code: Code,
    pub(crate) format: Option<u16>,
    pub(crate) payload: Vec<u8>,
    pub(crate) location: Option<Path>,
}

impl Reply {
    fn empty(code: Code) -> Reply {
        Reply {
            code,
            format: None,
            payload: Vec::new(),
            location: None,
        }
    }

    fn content(format: ContentFormat, payload: Vec<u8>) -> Reply {
        Reply {
            code: Code::CONTENT,
            format: Some(format.number()),
            payload,
            location: None,
        }
    }

    fn into_response(self) -> Response {
        let location: Vec<String> = self
            .location
            .map(|p| p.ids().iter().map(|id| format!("{id}")).collect())
            .unwrap_or_default();
        let built = Response::build(self.code, |b| {
            for segment in &location {
                b.option(option::LOCATION_PATH, segment.as_bytes());
            }
            if let Some(format) = self.format {
                b.content_format(format);
            }
        });
        match built {
            Ok(r) => r.with_payload(self.payload),
            Err(_) => Response::new(Code::INTERNAL_SERVER_ERROR),
        }
    }
}

/// The operation a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Read,
    Observe,
    Discover,
    Write,
    WriteAttributes,
    Execute,
    Create,
    Delete,
}

fn classify(msg: &Message<'_>, body_empty: bool, path: &Path) -> Result<Operation, DmError> {
    let observe = msg.observe().ok().flatten();
    let accept = msg.accept().ok().flatten();
    let has_format = msg.has_option(option::CONTENT_FORMAT);
    let has_query = msg.has_option(option::URI_QUERY);
    match msg.code() {
        Code::GET if observe == Some(0) => Ok(Operation::Observe),
        Code::GET if accept == Some(ContentFormat::LINK_FORMAT) => Ok(Operation::Discover),
        Code::GET => Ok(Operation::Read),
        Code::PUT if body_empty && !has_format && has_query => Ok(Operation::WriteAttributes),
        Code::PUT => Ok(Operation::Write),
        Code::POST => match path.level() {
            Level::Object => Ok(Operation::Create),
            Level::ObjectInstance => Ok(Operation::Write),
            Level::Resource => Ok(Operation::Execute),
            Level::Root | Level::ResourceInstance => Err(DmError::MethodNotAllowed(*path)),
        },
        Code::DELETE => Ok(Operation::Delete),
        _ => Err(DmError::MethodNotAllowed(*path)),
    }
}

/// The Content-Format of a request: `None` when absent, an error (4.15) for a number LwM2M
/// does not know.
fn content_format(msg: &Message<'_>, path: &Path) -> Result<Option<ContentFormat>, DmError> {
    match msg.content_format() {
        Ok(None) => Ok(None),
        Ok(Some(n)) => {
            ContentFormat::from_number(n)
                .map(Some)
                .ok_or(DmError::UnsupportedContentFormat {
                    path: *path,
                    format: Some(n),
                })
        }
        Err(e) => Err(DmError::bad_request(*path, format!("Content-Format: {e}"))),
    }
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// An incoming request: from a registered server, it is carried out; from anyone else it is
    /// refused with 4.01.
    pub(crate) fn on_request(
        &mut self,
        now: Instant,
        id: IncomingId,
        peer: &P,
        request: &IncomingRequest,
    ) {
        let Some(ssid) = self.server_of(peer) else {
            self.endpoint
                .respond(now, id, Response::new(Code::UNAUTHORIZED))
                .ok();
            return;
        };
        let Ok(msg) = request.message() else {
            self.endpoint
                .respond(now, id, Response::new(Code::BAD_REQUEST))
                .ok();
            return;
        };
        let parsed = Path::from_segments(msg.options_of(option::URI_PATH))
            .map_err(|e| DmError::bad_request(Path::ROOT, format!("Uri-Path: {e}")));
        let operation = parsed
            .clone()
            .and_then(|path| classify(&msg, request.body().is_empty(), &path).map(|op| (path, op)));
        let (path, operation) = match operation {
            Ok(v) => v,
            Err(e) => {
                self.endpoint.respond(now, id, Response::new(e.code())).ok();
                return;
            }
        };
        if operation == Operation::Observe {
            self.observe(now, id, ssid, path, &msg);
            return;
        }
        let body = request.body().clone();
        let outcome = match operation {
            Operation::Read | Operation::Observe => self.read(ssid, &path, &msg),
            Operation::Discover => self.discover(ssid, &path),
            Operation::Write => self.write(ssid, &path, &msg, &body),
            Operation::WriteAttributes => self.write_attributes(ssid, &path, &msg),
            Operation::Execute => self.execute(ssid, &path, &msg, &body),
            Operation::Create => self.create(ssid, &path, &msg, &body),
            Operation::Delete => self.delete(ssid, &path),
        };
        let response = match outcome {
            Ok(reply) => reply.into_response(),
            Err(e) => Response::new(e.code()),
        };
        self.endpoint.respond(now, id, response).ok();
        // Actions that must follow the response (Execute of Disable, Registration Update Trigger).
        self.after_response(now);
    }

    /// The handler of `path`'s object; the Security object is never visible (4.04).
    fn handler(&self, path: &Path) -> Result<&dyn ObjectHandler, DmError> {
        match path.object_id() {
            None => Err(DmError::MethodNotAllowed(*path)),
            Some(0) => Err(DmError::NotFound(*path)),
            Some(id) => self
                .objects
                .get(&id)
                .map(AsRef::as_ref)
                .ok_or(DmError::NotFound(*path)),
        }
    }

    fn handler_mut(&mut self, path: &Path) -> Result<&mut dyn ObjectHandler, DmError> {
        match path.object_id() {
            None => Err(DmError::MethodNotAllowed(*path)),
            Some(0) => Err(DmError::NotFound(*path)),
            Some(id) => self
                .objects
                .get_mut(&id)
                .map(AsMut::as_mut)
                .ok_or(DmError::NotFound(*path)),
        }
    }

    /// 4.04 unless the instance of `path` exists.
    fn check_instance(&self, path: &Path) -> Result<(), DmError> {
        let handler = self.handler(path)?;
        let instance = path.instance_id().unwrap_or_default();
        if handler.instances().contains(&instance) {
            Ok(())
        } else {
            Err(DmError::NotFound(*path))
        }
    }

    /// The definition of the resource of `path` (4.04 if the object does not define it).
    fn resource_definition(&self, path: &Path) -> Result<ResourceDefinition, DmError> {
        let handler = self.handler(path)?;
        let resource = path.resource_id().unwrap_or_default();
        handler
            .definition()
            .resource(resource)
            .cloned()
            .ok_or(DmError::NotFound(*path))
    }
}
