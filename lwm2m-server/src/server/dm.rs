//! Device management (digest §9): Read, Write, Write-Attributes, Execute, Create, Delete and
//! Discover on a registered client, by endpoint name.

use std::net::SocketAddr;
use std::sync::Arc;

use lwm2m_codec::coap::Code;
use lwm2m_codec::execute::ExecuteArgs;
use lwm2m_codec::link::LinkFormat;
use lwm2m_model::content::{self, Content, ContentFormat};
use lwm2m_model::{AttributeUpdate, Level, Node, Object, ObjectInstance, Path};
use lwm2m_transport::udp::Error as UdpError;
use lwm2m_transport::{ExchangeError, IncomingResponse, Request};

use super::{lock, DmError, ServerHandle};

/// How a Write changes the target (digest §9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// PUT: the target is replaced by the payload.
    Replace,
    /// POST: the payload's resources are added or changed, the others stay.
    Update,
}

/// One link of a Discover answer: a path and its attributes (`dim`, `pmin`, `ver`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredLink {
    /// The object, instance or resource (without the client's alternate root path).
    pub path: Path,
    /// The link's attributes in order, values unescaped.
    pub attributes: Vec<(String, Option<String>)>,
}

/// Where a request for an endpoint goes.
pub(super) struct Target {
    pub(super) endpoint: Arc<str>,
    pub(super) registration: crate::registration::RegistrationId,
    pub(super) peer: SocketAddr,
    root: String,
    json: bool,
    /// Binding `UQ`: requests wait for the client to wake up.
    pub(super) queue_mode: bool,
}

/// The parts of a request besides its method and path.
#[derive(Default)]
pub(super) struct Options {
    pub(super) accept: Option<ContentFormat>,
    pub(super) content_format: Option<ContentFormat>,
    pub(super) queries: Vec<String>,
    pub(super) payload: Vec<u8>,
}

impl ServerHandle {
    pub(super) fn target(&self, endpoint: &str) -> Result<Target, DmError> {
        let registrar = lock(&self.shared.registrar);
        let registration = registrar
            .by_endpoint(endpoint)
            .ok_or_else(|| DmError::UnknownEndpoint(endpoint.to_owned()))?;
        let links = registration.object_links();
        Ok(Target {
            endpoint: Arc::clone(registration.endpoint_arc()),
            registration: registration.id(),
            peer: registration.peer(),
            root: links.root_path().to_owned(),
            json: links.supports_json(),
            queue_mode: registration.is_queue_mode(),
        })
    }

    /// The format to ask for: the caller's, else JSON if the client advertised it on its root
    /// link (`ct=11543`), else TLV.
    pub(super) fn value_format(target: &Target, format: Option<ContentFormat>) -> ContentFormat {
        format.unwrap_or(if target.json {
            ContentFormat::Json
        } else {
            ContentFormat::Tlv
        })
    }

    pub(super) fn request(
        target: &Target,
        code: Code,
        path: &Path,
        options: Options,
    ) -> Result<Request, DmError> {
        let ids: Vec<String> = path.ids().iter().map(u16::to_string).collect();
        let request = Request::build(code, |b| {
            for segment in target.root.split('/').filter(|s| !s.is_empty()) {
                b.uri_path_segment(segment);
            }
            for id in &ids {
                b.uri_path_segment(id);
            }
            if let Some(format) = options.content_format {
                b.content_format(format.number());
            }
            if let Some(format) = options.accept {
                b.accept(format.number());
            }
            for query in &options.queries {
                b.uri_query(query);
            }
        })
        .map_err(|e| DmError::InvalidRequest(e.to_string()))?;
        Ok(request.with_payload(options.payload))
    }

    pub(super) fn transport_error(target: &Target, path: &Path, error: UdpError) -> DmError {
        match error {
            UdpError::Exchange(ExchangeError::Timeout { .. }) => DmError::Timeout {
                endpoint: target.endpoint.to_string(),
                path: *path,
            },
            error => DmError::Transport {
                endpoint: target.endpoint.to_string(),
                message: error.to_string(),
            },
        }
    }

    /// The address to send to now: a queue-mode client may have woken up from another one.
    pub(super) fn current_peer(&self, target: &Target) -> Result<SocketAddr, DmError> {
        if !target.queue_mode {
            return Ok(target.peer);
        }
        lock(&self.shared.registrar)
            .by_endpoint(&target.endpoint)
            .map(super::Registration::peer)
            .ok_or_else(|| DmError::UnknownEndpoint(target.endpoint.to_string()))
    }

    async fn exchange(
        &self,
        target: &Target,
        operation: &'static str,
        path: &Path,
        request: Request,
    ) -> Result<IncomingResponse, DmError> {
        let turn = self.wait_turn(target, operation, *path).await?;
        let peer = self.current_peer(target)?;
        let timeout = DmError::Timeout {
            endpoint: target.endpoint.to_string(),
            path: *path,
        };
        let answer = tokio::time::timeout(
            self.shared.timeout,
            self.shared.transport_for(peer).request(peer, request),
        )
        .await;
        if let (Some(turn), Err(_) | Ok(Err(_))) = (&turn, &answer) {
            turn.timed_out();
        }
        let response = answer
            .map_err(|_| timeout)?
            .map_err(|e| Self::transport_error(target, path, e))?;
        if response.code().is_success() {
            Ok(response)
        } else {
            Err(DmError::from_code(response.code(), *path))
        }
    }

    pub(super) fn decode(
        &self,
        response: &IncomingResponse,
        path: &Path,
        requested: ContentFormat,
    ) -> Result<Content, DmError> {
        let format = match response.content_format() {
            None => requested,
            Some(number) => match ContentFormat::from_number(number) {
                Some(format) if format != ContentFormat::LinkFormat => format,
                _ => {
                    return Err(DmError::ResponseFormat {
                        path: *path,
                        format: Some(number),
                    })
                }
            },
        };
        content::decode(format, path, response.body(), &self.shared.registry)
            .map_err(|error| DmError::Decode { path: *path, error })
    }

    fn encode(&self, format: ContentFormat, path: &Path, node: &Node) -> Result<Vec<u8>, DmError> {
        content::encode(format, path, node, &self.shared.registry)
            .map_err(|e| DmError::InvalidRequest(format!("{node:?} as {format:?} at {path}: {e}")))
    }

    /// Reads `path` (Read, digest §9.2) and decodes the answer with the server's object
    /// definitions. `format` defaults to JSON if the client advertised it, else TLV.
    pub async fn read(
        &self,
        endpoint: &str,
        path: Path,
        format: Option<ContentFormat>,
    ) -> Result<Content, DmError> {
        let target = self.target(endpoint)?;
        if path.is_root() {
            return Err(DmError::InvalidPath {
                path,
                operation: "Read",
            });
        }
        let format = Self::value_format(&target, format);
        let options = Options {
            accept: Some(format),
            ..Options::default()
        };
        let request = Self::request(&target, Code::GET, &path, options)?;
        let response = self.exchange(&target, "Read", &path, request).await?;
        self.decode(&response, &path, format)
    }

    /// Writes `node` to `path` (Write, digest §9.3): `Replace` is a PUT, `Update` a POST.
    /// `format` defaults to TLV.
    pub async fn write(
        &self,
        endpoint: &str,
        path: Path,
        node: &Node,
        mode: WriteMode,
        format: Option<ContentFormat>,
    ) -> Result<(), DmError> {
        let target = self.target(endpoint)?;
        if path.depth() < 2 {
            return Err(DmError::InvalidPath {
                path,
                operation: "Write",
            });
        }
        let format = format.unwrap_or(ContentFormat::Tlv);
        let options = Options {
            content_format: Some(format),
            payload: self.encode(format, &path, node)?,
            ..Options::default()
        };
        let code = match mode {
            WriteMode::Replace => Code::PUT,
            WriteMode::Update => Code::POST,
        };
        let request = Self::request(&target, code, &path, options)?;
        self.exchange(&target, "Write", &path, request)
            .await
            .map(drop)
    }

    /// Writes notification attributes (`pmin`, `pmax`, `gt`, `lt`, `st`) of `path`
    /// (Write-Attributes, digest §9.4).
    pub async fn write_attributes(
        &self,
        endpoint: &str,
        path: Path,
        attributes: &AttributeUpdate,
    ) -> Result<(), DmError> {
        let target = self.target(endpoint)?;
        if path.is_root() {
            return Err(DmError::InvalidPath {
                path,
                operation: "Write-Attributes",
            });
        }
        let options = Options {
            queries: attributes.to_query_items(),
            ..Options::default()
        };
        let request = Self::request(&target, Code::PUT, &path, options)?;
        self.exchange(&target, "Write-Attributes", &path, request)
            .await
            .map(drop)
    }

    /// Executes the resource at `path` with `arguments` in the TS syntax (`0='a',1`; empty for
    /// none) (Execute, digest §9.5).
    pub async fn execute(
        &self,
        endpoint: &str,
        path: Path,
        arguments: &str,
    ) -> Result<(), DmError> {
        let target = self.target(endpoint)?;
        if path.level() != Level::Resource {
            return Err(DmError::InvalidPath {
                path,
                operation: "Execute",
            });
        }
        // The parser's error already names the execute arguments and the offset.
        ExecuteArgs::parse(arguments.as_bytes())
            .map_err(|e| DmError::InvalidRequest(e.to_string()))?;
        let options = Options {
            payload: arguments.as_bytes().to_vec(),
            ..Options::default()
        };
        let request = Self::request(&target, Code::POST, &path, options)?;
        self.exchange(&target, "Execute", &path, request)
            .await
            .map(drop)
    }

    /// Creates `instance` in the object at `object` (Create, digest §9.6) and returns the new
    /// instance's path (the client's Location-Path, else the instance id sent). `format`
    /// defaults to TLV.
    pub async fn create(
        &self,
        endpoint: &str,
        object: Path,
        instance: ObjectInstance,
        format: Option<ContentFormat>,
    ) -> Result<Path, DmError> {
        let target = self.target(endpoint)?;
        let Some(object_id) = object
            .object_id()
            .filter(|_| object.level() == Level::Object)
        else {
            return Err(DmError::InvalidPath {
                path: object,
                operation: "Create",
            });
        };
        let instance_id = instance.id();
        let node = Node::Object(Object::with_instances(object_id, [instance]));
        let format = format.unwrap_or(ContentFormat::Tlv);
        let options = Options {
            content_format: Some(format),
            payload: self.encode(format, &object, &node)?,
            ..Options::default()
        };
        let request = Self::request(&target, Code::POST, &object, options)?;
        let response = self.exchange(&target, "Create", &object, request).await?;
        let located = response.message().ok().and_then(|m| {
            let segments: Vec<String> = m.location_path().ok()?.map(str::to_owned).collect();
            let ids: Option<Vec<u16>> = segments.iter().map(|s| s.parse().ok()).collect();
            Path::new(&ids?)
                .ok()
                .filter(|p| p.level() == Level::ObjectInstance)
        });
        match located {
            Some(path) => Ok(path),
            None => Path::object_instance(object_id, instance_id)
                .map_err(|e| DmError::InvalidRequest(e.to_string())),
        }
    }

    /// Deletes the object instance at `path` (Delete, digest §9.7).
    pub async fn delete(&self, endpoint: &str, path: Path) -> Result<(), DmError> {
        let target = self.target(endpoint)?;
        if path.level() != Level::ObjectInstance {
            return Err(DmError::InvalidPath {
                path,
                operation: "Delete",
            });
        }
        let request = Self::request(&target, Code::DELETE, &path, Options::default())?;
        self.exchange(&target, "Delete", &path, request)
            .await
            .map(drop)
    }

    /// Discovers `path` (Discover, digest §9.8): the instances, resources and attributes the
    /// client reports.
    pub async fn discover(
        &self,
        endpoint: &str,
        path: Path,
    ) -> Result<Vec<DiscoveredLink>, DmError> {
        let target = self.target(endpoint)?;
        if path.is_root() {
            return Err(DmError::InvalidPath {
                path,
                operation: "Discover",
            });
        }
        let options = Options {
            accept: Some(ContentFormat::LinkFormat),
            ..Options::default()
        };
        let request = Self::request(&target, Code::GET, &path, options)?;
        let response = self.exchange(&target, "Discover", &path, request).await?;
        let bad = |message: String| DmError::Links { path, message };
        let links = LinkFormat::parse(response.body()).map_err(|e| bad(e.to_string()))?;
        let mut out = Vec::new();
        for link in links.links() {
            let link_path = link
                .path_under(&target.root)
                .map_err(|e| bad(e.to_string()))?;
            let path = Path::new(link_path.ids()).map_err(|e| bad(e.to_string()))?;
            let attributes = link
                .attributes()
                .map(|a| {
                    (
                        a.name.to_owned(),
                        a.value.map(|v| v.unescaped().into_owned()),
                    )
                })
                .collect();
            out.push(DiscoveredLink { path, attributes });
        }
        Ok(out)
    }
}
