//! The client's side of the update process: [`FirmwareTask`] follows the
//! [`FirmwareObject`](crate::FirmwareObject) — reports its State and Update Result changes to
//! observers, pulls `coap://` and `coaps://` packages with one Block2 GET per block through the
//! client's endpoint (a `coaps://` one under the credentials of the matching Security instance,
//! which the transport below applies: [`Client::firmware_dtls_credentials`]), hands `http(s)://` pulls to the application
//! ([`ClientEvent::FirmwareDownloadRequested`]), times out a stalled push, and installs the
//! package once the Update's 2.04 is out.

use alloc::boxed::Box;
use alloc::string::String;
use core::hash::Hash;
use core::time::Duration;
use std::net::{SocketAddr, ToSocketAddrs};

use lwm2m_codec::coap::{option, Block, Code};
use lwm2m_model::Path;
use lwm2m_transport::{
    Endpoint, Event, ExchangeError, IncomingResponse, Instant, Request, RequestId,
};

use super::{FirmwareError, FirmwareState, PackageUri, Scheme, UpdateResult};
use crate::bootstrap::Resolver;
use crate::client::{Client, ClientEvent};
use crate::object::firmware::{Action, STATE, UPDATE_RESULT};
use crate::object::FirmwareObject;

/// Firmware Update is object 5, instance 0.
const OBJECT: u16 = 5;

/// A push with no block for this long is abandoned (result 4): `EXCHANGE_LIFETIME`.
pub(crate) const PUSH_TIMEOUT: Duration = Duration::from_secs(247);

/// A `coap://` pull in progress.
#[derive(Debug)]
struct CoapPull<P> {
    peer: P,
    uri: PackageUri,
    request: RequestId,
    szx: u8,
    etag: Option<Box<[u8]>>,
}

/// The update process state the client keeps next to its [`FirmwareObject`].
pub struct FirmwareTask<P> {
    resolve: Option<Resolver<P>>,
    /// What observers last saw.
    seen: (FirmwareState, UpdateResult),
    /// Boxed: most devices never pull, and a fleet holds thousands of tasks.
    coap: Option<Box<CoapPull<P>>>,
    /// The peer of the `coaps://` pull in progress and the credentials of its Security
    /// instance, for the transport's DTLS session.
    pub(super) secure: Option<Box<(P, crate::config::DtlsCredentials)>>,
    /// The id of the download handed to the application, while it runs.
    external: Option<u32>,
    next_external: u32,
    apply_at: Option<Instant>,
    push_deadline: Option<Instant>,
}

impl<P> core::fmt::Debug for FirmwareTask<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FirmwareTask")
            .field("seen", &self.seen)
            .field("coap", &self.coap.as_ref().map(|c| c.uri.as_str()))
            .field("external", &self.external)
            .finish_non_exhaustive()
    }
}

impl<P> FirmwareTask<P> {
    /// A task whose `coap://` URIs become peers through `resolve`.
    pub(crate) fn new(resolve: Option<Resolver<P>>) -> Self {
        FirmwareTask {
            resolve,
            seen: (FirmwareState::Idle, UpdateResult::Initial),
            coap: None,
            secure: None,
            external: None,
            next_external: 0,
            apply_at: None,
            push_deadline: None,
        }
    }

    /// The task for a client whose objects are `objects`, if object 5 is a [`FirmwareObject`]:
    /// then Package blocks reach the sink one by one, never reassembled.
    pub(crate) fn for_objects(
        objects: &alloc::collections::BTreeMap<u16, Box<dyn crate::ObjectHandler>>,
        resolve: Option<Resolver<P>>,
        endpoint: &mut Endpoint<P>,
    ) -> Option<Box<Self>>
    where
        P: Clone + Eq + Hash,
    {
        let handler: &dyn core::any::Any = objects.get(&OBJECT)?.as_ref();
        if !handler.is::<FirmwareObject>() {
            return None;
        }
        endpoint.stream_block1("/5/0/0");
        Some(Box::new(FirmwareTask::new(resolve)))
    }

    /// The next time the task needs [`Client::handle_timeout`].
    pub(crate) fn deadline(&self) -> Option<Instant> {
        [self.apply_at, self.push_deadline]
            .into_iter()
            .flatten()
            .min()
    }
}

/// A [`Resolver`] for UDP: `coap://host[:port]` (port 5683 by default) or
/// `coaps://host[:port]` (5684) to a socket address; a name is looked up with the system
/// resolver.
///
/// ```
/// use lwm2m_client::firmware::resolve_udp;
/// assert_eq!(resolve_udp("coap://127.0.0.1:5690"), Some("127.0.0.1:5690".parse().unwrap()));
/// assert_eq!(resolve_udp("coap://[::1]"), Some("[::1]:5683".parse().unwrap()));
/// assert_eq!(resolve_udp("coaps://[::1]"), Some("[::1]:5684".parse().unwrap()));
/// assert_eq!(resolve_udp("http://127.0.0.1"), None);
/// ```
pub fn resolve_udp(authority: &str) -> Option<SocketAddr> {
    let (rest, port) = match authority.strip_prefix("coap://") {
        Some(rest) => (rest, 5683),
        None => (authority.strip_prefix("coaps://")?, 5684),
    };
    let rest = rest.split('/').next().unwrap_or(rest);
    if let Ok(addr) = rest.parse::<SocketAddr>() {
        return Some(addr);
    }
    let host = rest.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    let with_port = if rest
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        String::from(rest)
    } else {
        alloc::format!("{rest}:{port}")
    };
    with_port.to_socket_addrs().ok()?.next()
}

fn state_path(resource: u16) -> Option<Path> {
    Path::resource(OBJECT, 0, resource).ok()
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// Follows the firmware object after every input: notifies State / Update Result changes,
    /// starts a requested download, schedules the installation.
    pub(crate) fn drive_firmware(&mut self, now: Instant) {
        let Some(fw) = self.object_mut::<FirmwareObject>(OBJECT) else {
            return;
        };
        let action = fw.take_action();
        let now_seen = (fw.state(), fw.result());
        let (pulling, pushing) = (fw.pulling(), fw.pushing());
        let task = self
            .firmware
            .get_or_insert_with(|| Box::new(FirmwareTask::new(None)));
        if !pulling {
            task.external = None;
            task.secure = None;
            if let Some(pull) = task.coap.take() {
                // Cancelled or failed: the late answer is not wanted.
                self.endpoint.cancel_request(now, pull.request).ok();
            }
        }
        let Some(task) = self.firmware.as_mut() else {
            return;
        };
        if !pushing {
            task.push_deadline = None;
        }
        if task.seen != now_seen {
            task.seen = now_seen;
            self.changed.extend(state_path(STATE));
            self.changed.extend(state_path(UPDATE_RESULT));
            self.events.push_back(ClientEvent::FirmwareStateChanged {
                state: now_seen.0,
                result: now_seen.1,
            });
        }
        match action {
            Some(Action::Download(uri)) => self.start_pull(now, *uri),
            Some(Action::Apply) => {
                if let Some(task) = self.firmware.as_mut() {
                    task.apply_at = Some(now);
                }
            }
            None => {}
        }
    }

    /// Timers of the update process: the installation after the Update's answer went out, and
    /// the abandonment of a stalled push.
    pub(crate) fn firmware_timeout(&mut self, now: Instant) {
        let Some(task) = self.firmware.as_mut() else {
            return;
        };
        let apply = task.apply_at.is_some_and(|at| at <= now);
        let stalled = task.push_deadline.is_some_and(|at| at <= now);
        if apply {
            task.apply_at = None;
        }
        if stalled {
            task.push_deadline = None;
        }
        let Some(fw) = self.object_mut::<FirmwareObject>(OBJECT) else {
            return;
        };
        if apply {
            fw.apply();
        }
        if stalled && fw.pushing() {
            fw.fail(&FirmwareError::ConnectionLost(
                "no Package block for EXCHANGE_LIFETIME".into(),
            ));
        }
    }

    /// The push got a block: the next one is due within [`PUSH_TIMEOUT`].
    pub(crate) fn firmware_push_alive(&mut self, now: Instant, more: bool) {
        let task = self
            .firmware
            .get_or_insert_with(|| Box::new(FirmwareTask::new(None)));
        task.push_deadline = more.then(|| now + PUSH_TIMEOUT);
    }

    fn start_pull(&mut self, now: Instant, uri: PackageUri) {
        if !matches!(uri.scheme(), Scheme::Coap | Scheme::Coaps) {
            let Some(task) = self.firmware.as_mut() else {
                return;
            };
            let id = task.next_external;
            task.next_external = task.next_external.wrapping_add(1);
            task.external = Some(id);
            self.events
                .push_back(ClientEvent::FirmwareDownloadRequested {
                    download: id,
                    uri: uri.as_str().into(),
                });
            return;
        }
        let peer = if uri.scheme() == Scheme::Coaps {
            match self.coaps_peer(&uri) {
                Ok((registered, credentials)) => {
                    let peer = registered.or_else(|| self.resolve_package(&uri));
                    if let (Some(task), Some(p)) = (self.firmware.as_mut(), peer.as_ref()) {
                        task.secure = Some(Box::new((p.clone(), credentials)));
                    }
                    peer
                }
                Err(e) => {
                    self.pull_failed(e);
                    return;
                }
            }
        } else {
            self.resolve_package(&uri)
        };
        let Some(peer) = peer else {
            self.pull_failed(FirmwareError::InvalidUri(alloc::format!(
                "cannot resolve {}",
                uri.authority()
            )));
            return;
        };
        let szx = Block::szx_for_size(self.endpoint.config().block_size).unwrap_or(Block::MAX_SZX);
        self.request_block(now, peer, uri, 0, szx, None);
    }

    /// The peer of a `coap(s)://` Package URI, through the firmware resolver.
    fn resolve_package(&self, uri: &PackageUri) -> Option<P> {
        let resolve = self.firmware.as_ref().and_then(|t| t.resolve)?;
        resolve(uri.authority())
    }

    /// For a `coaps://` Package URI: the credentials of the matching Security instance, and
    /// the peer of its server when the client is registered with it (the download then goes
    /// through that server's DTLS session).
    ///
    /// No matching instance, or one without DTLS credentials, is result 7 (invalid URI), not 9:
    /// `CoAPS` is listed in `/5/0/8`, so the protocol is supported; what is wrong is that the URI
    /// names an endpoint this device holds no credentials for. Retrying cannot help (result 4
    /// would invite a retry), and a Leshan or Anjay operator reading 7 checks the URI and the
    /// Security instances, which is the fix.
    fn coaps_peer(
        &self,
        uri: &PackageUri,
    ) -> Result<(Option<P>, crate::config::DtlsCredentials), FirmwareError> {
        let security = self
            .object::<crate::object::TypedStore<lwm2m_objects::Security>>(0)
            .ok_or_else(|| {
                FirmwareError::InvalidUri(alloc::format!(
                    "{}: no Security object to take DTLS credentials from",
                    uri.as_str()
                ))
            })?;
        let matched = super::coaps::matching_security(security, uri)?;
        let registered = matched.ssid.and_then(|ssid| {
            self.registrations
                .values()
                .find(|r| r.ssid == ssid)
                .map(|r| r.peer.clone())
        });
        Ok((registered, matched.credentials))
    }

    fn request_block(
        &mut self,
        now: Instant,
        peer: P,
        uri: PackageUri,
        num: u32,
        szx: u8,
        etag: Option<Box<[u8]>>,
    ) {
        let block = match Block::new(num, false, szx) {
            Ok(block) => block,
            Err(e) => {
                self.pull_failed(FirmwareError::NotEnoughFlash(alloc::format!(
                    "block {num}: {e}"
                )));
                return;
            }
        };
        let request = Request::build(Code::GET, |b| {
            for segment in uri.path() {
                b.uri_path_segment(segment);
            }
            for item in uri.query() {
                b.uri_query(item);
            }
        });
        let started = request
            .map_err(|e| FirmwareError::InvalidUri(alloc::format!("{e}")))
            .and_then(|r| {
                self.endpoint
                    .start_request(now, peer.clone(), r.with_block2(block))
                    .map_err(|e| FirmwareError::ConnectionLost(alloc::format!("{e}")))
            });
        match started {
            Ok(request) => {
                if let Some(task) = self.firmware.as_mut() {
                    task.coap = Some(Box::new(CoapPull {
                        peer,
                        uri,
                        request,
                        szx,
                        etag,
                    }));
                }
            }
            Err(e) => self.pull_failed(e),
        }
    }

    pub(super) fn pull_failed(&mut self, error: FirmwareError) {
        if let Some(fw) = self.object_mut::<FirmwareObject>(OBJECT) {
            fw.download_finished(Err(error));
        }
    }

    /// An endpoint event: `true` if it was the answer to a firmware block request.
    pub(crate) fn firmware_event(&mut self, now: Instant, event: &Event<P>) -> bool {
        match event {
            Event::Response { id, response, .. } => self.firmware_response(now, *id, Ok(response)),
            Event::RequestFailed { id, error, .. } => self.firmware_response(now, *id, Err(error)),
            _ => false,
        }
    }

    /// The outcome of one of the client's requests: `true` if it was a firmware block.
    fn firmware_response(
        &mut self,
        now: Instant,
        id: RequestId,
        result: Result<&IncomingResponse, &ExchangeError>,
    ) -> bool {
        let Some(task) = self.firmware.as_mut() else {
            return false;
        };
        if task.coap.as_ref().is_none_or(|c| c.request != id) {
            return false;
        }
        let Some(pull) = task.coap.take() else {
            return false;
        };
        match result {
            Err(e) => self.pull_failed(FirmwareError::ConnectionLost(alloc::format!(
                "{}: {e}",
                pull.uri.as_str()
            ))),
            Ok(response) => self.on_block(now, *pull, response),
        }
        true
    }

    fn on_block(&mut self, now: Instant, pull: CoapPull<P>, response: &IncomingResponse) {
        let code = response.code();
        if code != Code::CONTENT {
            let text = alloc::format!("{} answered {code}", pull.uri.as_str());
            self.pull_failed(if code == Code::NOT_FOUND {
                FirmwareError::InvalidUri(text)
            } else {
                FirmwareError::ConnectionLost(text)
            });
            return;
        }
        let Ok(msg) = response.message() else {
            self.pull_failed(FirmwareError::ConnectionLost("a malformed answer".into()));
            return;
        };
        let block = match msg.block2() {
            Ok(block) => block,
            Err(e) => {
                self.pull_failed(FirmwareError::ConnectionLost(alloc::format!("{e}")));
                return;
            }
        };
        let etag: Option<Box<[u8]>> = msg.option(option::ETAG).map(Box::from);
        let Some(fw) = self.object_mut::<FirmwareObject>(OBJECT) else {
            return;
        };
        let received = fw.received();
        if let Some(b) = block {
            let error = if u64::from(b.offset()) != received {
                Some("the server sent the wrong block")
            } else if b.num() > 0 && etag != pull.etag {
                Some("the package changed during the download (ETag)")
            } else if b.more() && response.body().len() != b.size() as usize {
                Some("a block is shorter than its size")
            } else {
                None
            };
            if let Some(reason) = error {
                fw.download_finished(Err(FirmwareError::ConnectionLost(reason.into())));
                return;
            }
        }
        if fw.download_chunk(response.body()).is_err() {
            return;
        }
        match block.filter(|b| b.more()) {
            None => fw.download_finished(Ok(())),
            Some(b) => {
                let next = fw.received() >> (b.szx() + 4);
                let Ok(num) = u32::try_from(next) else {
                    fw.download_finished(Err(FirmwareError::NotEnoughFlash(
                        "more than 2^20 blocks".into(),
                    )));
                    return;
                };
                let szx = b.szx().min(pull.szx);
                self.request_block(now, pull.peer, pull.uri, num, szx, etag);
            }
        }
    }

    /// The next chunk of the download `download` that the application runs for an
    /// `http(s)://` Package URI ([`ClientEvent::FirmwareDownloadRequested`]). An error means
    /// the download must stop: it was cancelled, or the sink refused the chunk (the result is
    /// then set).
    pub fn firmware_data(
        &mut self,
        now: Instant,
        download: u32,
        data: &[u8],
    ) -> Result<(), FirmwareError> {
        self.now = self.now.max(now);
        let current = self.firmware.as_ref().and_then(|t| t.external);
        let outcome = match self.object_mut::<FirmwareObject>(OBJECT) {
            Some(fw) if current == Some(download) => fw.download_chunk(data),
            _ => Err(FirmwareError::ConnectionLost(
                "the download was cancelled".into(),
            )),
        };
        self.process(now);
        outcome
    }

    /// The download `download` ended: `Ok` once every byte was given to
    /// [`firmware_data`](Self::firmware_data), else why it failed (connection lost: result 4;
    /// not found: result 7 ...).
    pub fn firmware_download_finished(
        &mut self,
        now: Instant,
        download: u32,
        outcome: Result<(), FirmwareError>,
    ) {
        self.now = self.now.max(now);
        let current = self.firmware.as_ref().and_then(|t| t.external);
        if current == Some(download) {
            if let Some(task) = self.firmware.as_mut() {
                task.external = None;
            }
            if let Some(fw) = self.object_mut::<FirmwareObject>(OBJECT) {
                fw.download_finished(outcome);
            }
        }
        self.process(now);
    }
}
