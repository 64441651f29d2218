//! [`FirmwareObject`]: Firmware Update (5) with the LwM2M 1.0 state machine (digest §16).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::any::Any;

use lwm2m_codec::execute::ExecuteArgs;
use lwm2m_model::{ObjectDefinition, ObjectInstance, Path, Resource};
use lwm2m_objects::{FirmwareUpdate, TypedObject};

use super::{instance_path, ObjectHandler, WriteMode};
use crate::error::DmError;
use crate::firmware::{
    DeliveryMethod, FirmwareError, FirmwareSink, FirmwareState, PackageUri, Protocol, UpdateResult,
};

/// Package (`/5/0/0`).
pub const PACKAGE: u16 = 0;
/// Package URI (`/5/0/1`).
pub const PACKAGE_URI: u16 = 1;
/// Update (`/5/0/2`).
pub const UPDATE: u16 = 2;
/// State (`/5/0/3`).
pub const STATE: u16 = 3;
/// Update Result (`/5/0/5`).
pub const UPDATE_RESULT: u16 = 5;

/// Where the package being downloaded comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Push,
    Pull,
}

/// What the client has to do for the object next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Pull the package from this URI.
    Download(Box<PackageUri>),
    /// Install the package (Update was executed and answered).
    Apply,
}

/// How a pushed block went, for the response code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PushStep {
    /// More blocks are expected: 2.31 Continue.
    Continue,
    /// The package is complete (or was reset): 2.04.
    Complete,
}

/// Why a pushed block is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PushRefusal {
    /// 4.05: pushing is not enabled, or an update is running.
    NotAllowed,
    /// 4.00: a pull is in progress.
    Busy,
    /// 4.08: the block does not follow the previous one.
    OutOfOrder,
    /// The sink refused the package; the result is set.
    Sink(FirmwareError),
}

/// The Firmware Update object (5), instance 0, with the full LwM2M 1.0 state machine: push
/// (Package, block-wise), pull (Package URI), Update, State and Update Result. The image goes
/// to a [`FirmwareSink`] chunk by chunk.
///
/// | event | state | result |
/// |---|---|---|
/// | first Package block, or a valid Package URI | Downloading | 0 |
/// | last block stored and checked ([`FirmwareSink::finish`]) | Downloaded | 0 |
/// | a download or check error | Idle | 2-7, 9 |
/// | Execute Update (only in Downloaded, else 4.05) | Updating | 0 |
/// | [`FirmwareSink::apply`] succeeded | Idle | 1 |
/// | [`FirmwareSink::apply`] failed | Downloaded | 8 (or the error's) |
/// | Package `""` / `"\0"` or Package URI `""` (not while Updating: 4.05) | Idle | 0 |
///
/// A non-empty Package URI written while a package is downloading or downloaded is refused
/// with 4.00. Errors of the process itself (a bad URI, a lost connection, a failed check) are
/// not errors of the Write: they are reported through Update Result, which observers see
/// change along with State.
///
/// ```
/// use lwm2m_client::FirmwareObject;
/// use lwm2m_client::firmware::{FirmwareState, MemorySink, UpdateResult};
///
/// let fw = FirmwareObject::new(MemorySink::new()).with_package_info("app", "2.1.0");
/// assert_eq!(fw.state(), FirmwareState::Idle);
/// assert_eq!(fw.result(), UpdateResult::Initial);
/// assert!(fw.sink::<MemorySink>().unwrap().data().is_empty());
/// ```
pub struct FirmwareObject {
    sink: Box<dyn FirmwareSink>,
    state: FirmwareState,
    result: UpdateResult,
    package_uri: String,
    pkg_name: Option<String>,
    pkg_version: Option<String>,
    /// The listed protocols, one bit per `Protocol::value` (a fleet keeps thousands of these).
    protocols: u8,
    delivery: DeliveryMethod,
    source: Option<Source>,
    received: u64,
    action: Option<Action>,
}

impl core::fmt::Debug for FirmwareObject {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FirmwareObject")
            .field("state", &self.state)
            .field("result", &self.result)
            .field("package_uri", &self.package_uri)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl FirmwareObject {
    /// The object writing packages to `sink`; push and pull, with the protocols this build
    /// supports ([`Protocol::supported`]).
    pub fn new(sink: impl FirmwareSink) -> Self {
        FirmwareObject {
            sink: Box::new(sink),
            state: FirmwareState::Idle,
            result: UpdateResult::Initial,
            package_uri: String::new(),
            pkg_name: None,
            pkg_version: None,
            protocols: mask(&Protocol::supported()),
            delivery: DeliveryMethod::Both,
            source: None,
            received: 0,
            action: None,
        }
    }

    /// Lists these pull protocols in `/5/0/8` (only the listed ones are accepted in a Package
    /// URI; the others get result 9).
    #[must_use]
    pub fn with_protocols(mut self, protocols: &[Protocol]) -> Self {
        self.protocols = mask(protocols);
        self
    }

    /// Accepts only push, only pull, or both (`/5/0/9`).
    #[must_use]
    pub fn with_delivery(mut self, delivery: DeliveryMethod) -> Self {
        self.delivery = delivery;
        self
    }

    /// `PkgName` (`/5/0/6`) and `PkgVersion` (`/5/0/7`) of the running firmware.
    #[must_use]
    pub fn with_package_info(
        mut self,
        name: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        self.pkg_name = Some(name.into());
        self.pkg_version = Some(version.into());
        self
    }

    /// State (`/5/0/3`).
    pub fn state(&self) -> FirmwareState {
        self.state
    }

    /// Update Result (`/5/0/5`).
    pub fn result(&self) -> UpdateResult {
        self.result
    }

    /// Package URI (`/5/0/1`).
    pub fn package_uri(&self) -> &str {
        &self.package_uri
    }

    /// Bytes of the current package received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The pull protocols listed in `/5/0/8`, in increasing order.
    pub fn protocols(&self) -> Vec<Protocol> {
        [
            Protocol::Coap,
            Protocol::Coaps,
            Protocol::Http,
            Protocol::Https,
        ]
        .into_iter()
        .filter(|p| self.lists(*p))
        .collect()
    }

    fn lists(&self, protocol: Protocol) -> bool {
        self.protocols & bit(protocol) != 0
    }

    /// The sink, as its concrete type.
    pub fn sink<S: FirmwareSink>(&self) -> Option<&S> {
        let sink: &dyn Any = self.sink.as_ref();
        sink.downcast_ref::<S>()
    }

    /// The sink, as its concrete type, to change it.
    pub fn sink_mut<S: FirmwareSink>(&mut self) -> Option<&mut S> {
        let sink: &mut dyn Any = self.sink.as_mut();
        sink.downcast_mut::<S>()
    }

    /// Sets `PkgName` and `PkgVersion` (after an update installed a new firmware, say).
    pub fn set_package_info(&mut self, name: Option<String>, version: Option<String>) {
        self.pkg_name = name;
        self.pkg_version = version;
    }

    /// Cancels whatever is going on (except an update being installed) and returns to Idle
    /// with result 0, as writing an empty Package URI does. `false` while Updating.
    pub fn cancel(&mut self) -> bool {
        if self.state == FirmwareState::Updating {
            return false;
        }
        if self.state != FirmwareState::Idle || self.source.is_some() {
            self.sink.abort();
        }
        self.state = FirmwareState::Idle;
        self.result = UpdateResult::Initial;
        self.source = None;
        self.received = 0;
        self.action = None;
        true
    }

    /// The next chunk of a pulled package, from an external downloader (HTTP). Fails when no
    /// pull is in progress, or with the sink's error (the download then ends with its
    /// result).
    pub fn download_chunk(&mut self, data: &[u8]) -> Result<(), FirmwareError> {
        if self.state != FirmwareState::Downloading || self.source != Some(Source::Pull) {
            return Err(FirmwareError::ConnectionLost(
                "no package download in progress".into(),
            ));
        }
        if let Err(e) = self.sink.write_chunk(self.received, data) {
            self.fail(&e);
            return Err(e);
        }
        self.received = self.received.saturating_add(data.len() as u64);
        Ok(())
    }

    /// A pull ended: `Ok` when the whole package arrived (it is then checked), else the error
    /// that ended it. Ignored when no pull is in progress.
    pub fn download_finished(&mut self, outcome: Result<(), FirmwareError>) {
        if self.state != FirmwareState::Downloading || self.source != Some(Source::Pull) {
            return;
        }
        match outcome.and_then(|()| self.sink.finish()) {
            Ok(()) => {
                self.state = FirmwareState::Downloaded;
                self.source = None;
            }
            Err(e) => self.fail(&e),
        }
    }

    /// Whether a pull is in progress.
    pub(crate) fn pulling(&self) -> bool {
        self.state == FirmwareState::Downloading && self.source == Some(Source::Pull)
    }

    /// Whether a push is in progress.
    pub(crate) fn pushing(&self) -> bool {
        self.state == FirmwareState::Downloading && self.source == Some(Source::Push)
    }

    pub(crate) fn take_action(&mut self) -> Option<Action> {
        self.action.take()
    }

    /// A download or check failed: back to Idle with the error's result.
    pub(crate) fn fail(&mut self, error: &FirmwareError) {
        self.sink.abort();
        self.state = FirmwareState::Idle;
        self.result = error.result();
        self.source = None;
        self.received = 0;
    }

    fn start(&mut self, source: Source, size: Option<u64>) -> Result<(), FirmwareError> {
        if self.state == FirmwareState::Downloading {
            self.sink.abort();
        }
        self.state = FirmwareState::Downloading;
        self.result = UpdateResult::Initial;
        self.source = Some(source);
        self.received = 0;
        self.action = None;
        if let Err(e) = self.sink.begin(size) {
            self.fail(&e);
            return Err(e);
        }
        Ok(())
    }

    /// One Block1 block of a pushed package at byte `offset` (`size`: Size1, if announced).
    pub(crate) fn push_block(
        &mut self,
        offset: u64,
        data: &[u8],
        more: bool,
        size: Option<u64>,
    ) -> Result<PushStep, PushRefusal> {
        if !self.delivery.push() || self.state == FirmwareState::Updating {
            return Err(PushRefusal::NotAllowed);
        }
        if offset == 0 {
            if !more && is_reset(data) {
                self.cancel();
                return Ok(PushStep::Complete);
            }
            if self.pulling() {
                return Err(PushRefusal::Busy);
            }
            self.start(Source::Push, size).map_err(PushRefusal::Sink)?;
        } else if !self.pushing() {
            return Err(PushRefusal::OutOfOrder);
        } else if offset != self.received {
            let expected = self.received;
            self.fail(&FirmwareError::ConnectionLost(alloc::format!(
                "block at byte {offset}, expected {expected}"
            )));
            return Err(PushRefusal::OutOfOrder);
        }
        if let Err(e) = self.sink.write_chunk(offset, data) {
            self.fail(&e);
            return Err(PushRefusal::Sink(e));
        }
        self.received = offset.saturating_add(data.len() as u64);
        if more {
            return Ok(PushStep::Continue);
        }
        // The last block: the Write succeeded; a failed check shows in Update Result.
        match self.sink.finish() {
            Ok(()) => {
                self.state = FirmwareState::Downloaded;
                self.source = None;
            }
            Err(e) => self.fail(&e),
        }
        Ok(PushStep::Complete)
    }

    /// A whole package written at once (`PUT /5/0/0` without Block1, or inside an instance).
    fn write_package(&mut self, data: &[u8]) -> Result<(), DmError> {
        if !self.delivery.push() {
            return Err(DmError::MethodNotAllowed(path(PACKAGE)));
        }
        if is_reset(data) {
            self.cancel();
            return Ok(());
        }
        match self.push_block(0, data, false, Some(data.len() as u64)) {
            Ok(_) | Err(PushRefusal::Sink(_)) => Ok(()),
            Err(PushRefusal::Busy) => Err(DmError::bad_request(
                path(PACKAGE),
                "a package download from the Package URI is in progress",
            )),
            Err(PushRefusal::NotAllowed | PushRefusal::OutOfOrder) => {
                Err(DmError::MethodNotAllowed(path(PACKAGE)))
            }
        }
    }

    fn write_uri(&mut self, text: &str) -> Result<(), DmError> {
        if text.is_empty() {
            self.cancel();
            self.package_uri.clear();
            return Ok(());
        }
        if !self.delivery.pull() {
            return Err(DmError::MethodNotAllowed(path(PACKAGE_URI)));
        }
        if self.state != FirmwareState::Idle {
            return Err(DmError::bad_request(
                path(PACKAGE_URI),
                alloc::format!("a package is already {}", self.state),
            ));
        }
        self.package_uri = text.into();
        let uri = PackageUri::parse(text).and_then(|uri| {
            if self.lists(uri.scheme().protocol()) {
                Ok(uri)
            } else {
                Err(FirmwareError::UnsupportedProtocol(alloc::format!(
                    "{:?} is not in /5/0/8",
                    uri.scheme()
                )))
            }
        });
        match uri {
            Ok(uri) => {
                if self.start(Source::Pull, None).is_ok() {
                    self.action = Some(Action::Download(Box::new(uri)));
                }
            }
            // The state stays Idle; the server reads why in Update Result.
            Err(e) => self.result = e.result(),
        }
        Ok(())
    }

    /// Installs the package (Update was executed): Idle with result 1, or back to Downloaded
    /// with the error's result (8 for an update failure).
    pub(crate) fn apply(&mut self) {
        if self.state != FirmwareState::Updating {
            return;
        }
        match self.sink.apply() {
            Ok(()) => {
                self.state = FirmwareState::Idle;
                self.result = UpdateResult::Success;
                self.received = 0;
            }
            Err(e) => {
                self.state = FirmwareState::Downloaded;
                self.result = e.result();
            }
        }
    }
}

fn bit(protocol: Protocol) -> u8 {
    match protocol {
        Protocol::Coap => 1,
        Protocol::Coaps => 2,
        Protocol::Http => 4,
        Protocol::Https => 8,
    }
}

fn mask(protocols: &[Protocol]) -> u8 {
    protocols.iter().fold(0, |m, p| m | bit(*p))
}

/// A Package of nothing or a single null byte resets the state machine.
fn is_reset(data: &[u8]) -> bool {
    data.is_empty() || data == [0]
}

fn path(resource: u16) -> Path {
    Path::resource(5, 0, resource).unwrap_or(Path::ROOT)
}

impl ObjectHandler for FirmwareObject {
    fn definition(&self) -> &ObjectDefinition {
        FirmwareUpdate::DEFINITION
    }

    fn instances(&self) -> Vec<u16> {
        alloc::vec![0]
    }

    fn read(&self, instance: u16) -> Result<ObjectInstance, DmError> {
        if instance != 0 {
            return Err(DmError::NotFound(instance_path(5, instance)));
        }
        let protocols: lwm2m_objects::ResourceInstances<i64> = (0u16..)
            .zip(self.protocols().iter().map(|p| p.value()))
            .collect();
        let values = FirmwareUpdate {
            package: Vec::new(),
            package_uri: self.package_uri.as_str().into(),
            state: self.state.value(),
            update_result: self.result.value(),
            pkg_name: self.pkg_name.as_deref().map(Into::into),
            pkg_version: self.pkg_version.as_deref().map(Into::into),
            firmware_update_protocol_support: Some(protocols),
            firmware_update_delivery_method: self.delivery.value(),
        };
        let mut all = values.to_instance(0);
        // Package is write-only.
        all.remove(PACKAGE);
        Ok(all)
    }

    fn resources(&self, instance: u16) -> Vec<u16> {
        let mut ids: Vec<u16> = self
            .read(instance)
            .map(|i| i.resources().map(Resource::id).collect())
            .unwrap_or_default();
        ids.extend([PACKAGE, UPDATE]);
        ids.sort_unstable();
        ids
    }

    fn write(
        &mut self,
        instance: u16,
        resources: Vec<Resource>,
        _mode: WriteMode,
    ) -> Result<(), DmError> {
        if instance != 0 {
            return Err(DmError::NotFound(instance_path(5, instance)));
        }
        if self.state == FirmwareState::Updating {
            return Err(DmError::MethodNotAllowed(instance_path(5, 0)));
        }
        for resource in &resources {
            let value = resource.as_single();
            match resource.id() {
                PACKAGE => {
                    let data = value.and_then(|v| v.as_opaque()).ok_or_else(|| {
                        DmError::bad_request(path(PACKAGE), "Package is an opaque value")
                    })?;
                    self.write_package(data)?;
                }
                PACKAGE_URI => {
                    let text = value.and_then(|v| v.as_str()).ok_or_else(|| {
                        DmError::bad_request(path(PACKAGE_URI), "Package URI is a string")
                    })?;
                    self.write_uri(text)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn execute(
        &mut self,
        instance: u16,
        resource: u16,
        _arguments: &ExecuteArgs<'_>,
    ) -> Result<(), DmError> {
        if instance != 0 || resource != UPDATE {
            return Err(DmError::NotFound(path(resource)));
        }
        if self.state != FirmwareState::Downloaded {
            return Err(DmError::MethodNotAllowed(path(UPDATE)));
        }
        self.state = FirmwareState::Updating;
        self.result = UpdateResult::Initial;
        self.action = Some(Action::Apply);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
