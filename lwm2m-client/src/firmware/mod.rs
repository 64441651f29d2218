//! Firmware Update (object 5, digest §16): the vocabulary of the update process and where the
//! image goes.
//!
//! - [`FirmwareState`] and [`UpdateResult`]: the values of State (`/5/0/3`) and Update Result
//!   (`/5/0/5`);
//! - [`FirmwareSink`]: what the device developer implements: the image arrives in order, chunk
//!   by chunk (`begin`, `write_chunk`, `finish` or `abort`), and `apply` installs it. The client
//!   never holds a whole image in memory. [`FileSink`] writes it to a file, [`MemorySink`] keeps
//!   it in memory (for tests and small images);
//! - [`FirmwareError`]: why a sink or a download failed, each variant mapped to its Update
//!   Result;
//! - [`PackageUri`]: a Package URI (`/5/0/1`) checked for the pull;
//! - with the `http` feature, `http::download`: a blocking HTTP(S) GET streamed into a
//!   callback (the tokio runtime uses it for `http://` and `https://` Package URIs).
//!
//! The object itself is [`FirmwareObject`](crate::FirmwareObject); the client streams Block1
//! pushes (`PUT /5/0/0`) into it block by block and pulls `coap://` and `coaps://` URIs with
//! one Block2 GET per block (`pull`; for `coaps://` the DTLS credentials are those of the
//! Security instance whose Server URI names the package's host and port, `coaps`).

mod coaps;
#[cfg(feature = "http")]
pub mod http;
mod pull;
mod push;
mod sink;
mod uri;

use alloc::string::String;
use core::fmt;

pub use pull::{resolve_udp, FirmwareTask};
pub use sink::{FileSink, MemorySink};
pub use uri::{PackageUri, Scheme};

/// State (`/5/0/3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FirmwareState {
    /// 0: before a download, or after a successful update.
    #[default]
    Idle,
    /// 1: the package is arriving.
    Downloading,
    /// 2: the whole package is stored and checked; Update may be executed.
    Downloaded,
    /// 3: the package is being installed.
    Updating,
}

impl FirmwareState {
    /// The resource value.
    pub const fn value(self) -> i64 {
        match self {
            FirmwareState::Idle => 0,
            FirmwareState::Downloading => 1,
            FirmwareState::Downloaded => 2,
            FirmwareState::Updating => 3,
        }
    }
}

impl fmt::Display for FirmwareState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FirmwareState::Idle => "idle",
            FirmwareState::Downloading => "downloading",
            FirmwareState::Downloaded => "downloaded",
            FirmwareState::Updating => "updating",
        })
    }
}

/// Update Result (`/5/0/5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UpdateResult {
    /// 0: initial value; set again whenever a download or an update starts.
    #[default]
    Initial,
    /// 1: firmware updated successfully.
    Success,
    /// 2: not enough flash memory for the package.
    NotEnoughFlash,
    /// 3: out of RAM during the download.
    OutOfRam,
    /// 4: connection lost during the download.
    ConnectionLost,
    /// 5: integrity check failure of the package.
    IntegrityCheckFailure,
    /// 6: unsupported package type.
    UnsupportedPackageType,
    /// 7: invalid URI.
    InvalidUri,
    /// 8: firmware update failed.
    UpdateFailed,
    /// 9: unsupported protocol (URI scheme).
    UnsupportedProtocol,
}

impl UpdateResult {
    /// The resource value (0-9).
    pub const fn value(self) -> i64 {
        match self {
            UpdateResult::Initial => 0,
            UpdateResult::Success => 1,
            UpdateResult::NotEnoughFlash => 2,
            UpdateResult::OutOfRam => 3,
            UpdateResult::ConnectionLost => 4,
            UpdateResult::IntegrityCheckFailure => 5,
            UpdateResult::UnsupportedPackageType => 6,
            UpdateResult::InvalidUri => 7,
            UpdateResult::UpdateFailed => 8,
            UpdateResult::UnsupportedProtocol => 9,
        }
    }
}

/// A pull protocol, as listed in Firmware Update Protocol Support (`/5/0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// 0: CoAP (RFC 7252) with Block2.
    Coap,
    /// 1: CoAP over DTLS.
    Coaps,
    /// 2: HTTP/1.1.
    Http,
    /// 3: HTTP/1.1 over TLS.
    Https,
}

impl Protocol {
    /// The resource value.
    pub const fn value(self) -> i64 {
        match self {
            Protocol::Coap => 0,
            Protocol::Coaps => 1,
            Protocol::Http => 2,
            Protocol::Https => 3,
        }
    }

    /// What this build pulls by itself: CoAP through the client's own endpoint; `CoAPS` with the
    /// `dtls` feature (the tokio runtime opens, or reuses, a DTLS session under the matching
    /// Security instance's credentials); HTTP with the `http` feature and HTTPS with `https`,
    /// through the tokio runtime.
    pub fn supported() -> alloc::vec::Vec<Protocol> {
        let mut list = alloc::vec![Protocol::Coap];
        if cfg!(feature = "dtls") {
            list.push(Protocol::Coaps);
        }
        if cfg!(feature = "http") {
            list.push(Protocol::Http);
        }
        if cfg!(feature = "https") {
            list.push(Protocol::Https);
        }
        list
    }
}

/// Firmware Update Delivery Method (`/5/0/9`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeliveryMethod {
    /// 0: only pull (Package URI).
    PullOnly,
    /// 1: only push (Package).
    PushOnly,
    /// 2: both.
    #[default]
    Both,
}

impl DeliveryMethod {
    /// The resource value.
    pub const fn value(self) -> i64 {
        match self {
            DeliveryMethod::PullOnly => 0,
            DeliveryMethod::PushOnly => 1,
            DeliveryMethod::Both => 2,
        }
    }

    /// Whether Package (`/5/0/0`) writes are accepted.
    pub const fn push(self) -> bool {
        !matches!(self, DeliveryMethod::PullOnly)
    }

    /// Whether Package URI (`/5/0/1`) writes start a download.
    pub const fn pull(self) -> bool {
        !matches!(self, DeliveryMethod::PushOnly)
    }
}

/// Why a firmware download, check or installation failed. Each variant is reported to the
/// server as an Update Result ([`FirmwareError::result`]); the text is for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FirmwareError {
    /// Result 2: the package does not fit the storage.
    #[error("not enough storage for the package: {0}")]
    NotEnoughFlash(String),
    /// Result 3: out of memory while downloading.
    #[error("out of memory while downloading: {0}")]
    OutOfRam(String),
    /// Result 4: the download broke off (refused, reset, timed out, truncated, a block missing).
    #[error("connection lost while downloading: {0}")]
    ConnectionLost(String),
    /// Result 5: the package failed its integrity check.
    #[error("integrity check failed: {0}")]
    IntegrityCheckFailure(String),
    /// Result 6: the package is of a type this device cannot install.
    #[error("unsupported package type: {0}")]
    UnsupportedPackageType(String),
    /// Result 7: the Package URI is not a valid URI (or names nothing).
    #[error("invalid package URI: {0}")]
    InvalidUri(String),
    /// Result 9: the Package URI's scheme is not supported.
    #[error("unsupported protocol: {0}")]
    UnsupportedProtocol(String),
    /// Result 8: installing the package failed.
    #[error("firmware update failed: {0}")]
    UpdateFailed(String),
}

impl FirmwareError {
    /// The Update Result reported for this error.
    ///
    /// ```
    /// use lwm2m_client::firmware::{FirmwareError, UpdateResult};
    /// let e = FirmwareError::IntegrityCheckFailure("bad CRC".into());
    /// assert_eq!(e.result(), UpdateResult::IntegrityCheckFailure);
    /// assert_eq!(e.result().value(), 5);
    /// ```
    pub const fn result(&self) -> UpdateResult {
        match self {
            FirmwareError::NotEnoughFlash(_) => UpdateResult::NotEnoughFlash,
            FirmwareError::OutOfRam(_) => UpdateResult::OutOfRam,
            FirmwareError::ConnectionLost(_) => UpdateResult::ConnectionLost,
            FirmwareError::IntegrityCheckFailure(_) => UpdateResult::IntegrityCheckFailure,
            FirmwareError::UnsupportedPackageType(_) => UpdateResult::UnsupportedPackageType,
            FirmwareError::InvalidUri(_) => UpdateResult::InvalidUri,
            FirmwareError::UnsupportedProtocol(_) => UpdateResult::UnsupportedProtocol,
            FirmwareError::UpdateFailed(_) => UpdateResult::UpdateFailed,
        }
    }

    /// A storage error as the sink saw it: a full disk is "not enough flash", running out of
    /// memory is "out of RAM", anything else is reported as "not enough flash" too (the
    /// package could not be stored).
    pub fn from_io(error: &std::io::Error) -> FirmwareError {
        let text = alloc::format!("{error}");
        match error.kind() {
            std::io::ErrorKind::OutOfMemory => FirmwareError::OutOfRam(text),
            _ => FirmwareError::NotEnoughFlash(text),
        }
    }
}

/// Where a firmware image goes, chunk by chunk, and how it is installed.
///
/// The client calls, for one package: [`begin`](Self::begin), then
/// [`write_chunk`](Self::write_chunk) with consecutive offsets starting at 0, then
/// [`finish`](Self::finish) (check the package: integrity, type) — or [`abort`](Self::abort)
/// at any point when the download is cancelled or fails. After a successful `finish` the
/// package waits until a server executes Update, and then [`apply`](Self::apply) installs it.
///
/// A device developer implements it over its flash (an update partition, a file); every error
/// becomes an Update Result the server sees ([`FirmwareError::result`]).
///
/// ```
/// use lwm2m_client::firmware::{FirmwareError, FirmwareSink};
///
/// /// Counts the bytes and checks a trailing XOR byte.
/// #[derive(Default)]
/// struct XorChecked { len: u64, xor: u8, last: u8 }
///
/// impl FirmwareSink for XorChecked {
///     fn begin(&mut self, _size: Option<u64>) -> Result<(), FirmwareError> {
///         *self = XorChecked::default();
///         Ok(())
///     }
///     fn write_chunk(&mut self, offset: u64, data: &[u8]) -> Result<(), FirmwareError> {
///         assert_eq!(offset, self.len);
///         for &b in data { self.xor ^= self.last; self.last = b; }
///         self.len += data.len() as u64;
///         Ok(())
///     }
///     fn finish(&mut self) -> Result<(), FirmwareError> {
///         if self.len > 0 && self.xor == self.last { Ok(()) }
///         else { Err(FirmwareError::IntegrityCheckFailure("XOR mismatch".into())) }
///     }
///     fn abort(&mut self) {}
///     fn apply(&mut self) -> Result<(), FirmwareError> { Ok(()) }
/// }
///
/// let mut sink = XorChecked::default();
/// sink.begin(None)?;
/// sink.write_chunk(0, &[1, 2])?;
/// sink.write_chunk(2, &[3])?;
/// sink.finish()?; // 1 ^ 2 == 3
/// # Ok::<(), FirmwareError>(())
/// ```
pub trait FirmwareSink: core::any::Any + Send {
    /// A new package starts (the previous one, if any, is dropped). `size` is the announced
    /// total size when known (Block1 Size1, HTTP Content-Length, CoAP Size2): refuse with
    /// [`FirmwareError::NotEnoughFlash`] if it cannot fit.
    fn begin(&mut self, size: Option<u64>) -> Result<(), FirmwareError>;

    /// The bytes at `offset` (consecutive: each call starts where the previous one ended).
    fn write_chunk(&mut self, offset: u64, data: &[u8]) -> Result<(), FirmwareError>;

    /// The whole package has arrived: make it durable and check it.
    fn finish(&mut self) -> Result<(), FirmwareError>;

    /// The download was cancelled or failed: drop what was written.
    fn abort(&mut self);

    /// Installs the downloaded package (Update was executed). On a device this usually ends
    /// in a reboot; `Ok` means the new firmware is in place.
    fn apply(&mut self) -> Result<(), FirmwareError>;
}
