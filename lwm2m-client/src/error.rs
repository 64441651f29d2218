//! The errors of the client: [`DmError`], the outcome of a refused device-management operation,
//! which carries the CoAP response code the TS gives for it, and [`ClientError`], what the
//! builder and the API refuse.

use alloc::string::String;

use lwm2m_codec::coap::Code;
use lwm2m_model::Path;

/// Why a device-management or information-reporting request is refused; every variant maps to
/// the response code of the TS tables (digest §9.1, §11) through [`DmError::code`].
///
/// Object implementations return these from their [`ObjectHandler`](crate::ObjectHandler)
/// methods; the default methods return [`DmError::MethodNotAllowed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DmError {
    /// 4.00: the request or its payload is malformed, or a value does not fit the resource.
    #[error("bad request at {path}: {reason}")]
    BadRequest {
        /// The target of the request.
        path: Path,
        /// What is wrong.
        reason: String,
    },
    /// 4.01: the server has no access right for this operation (or is not registered).
    #[error("server {ssid} may not do this on {path}")]
    Unauthorized {
        /// The short server id of the requesting server (0 when unknown).
        ssid: u16,
        /// The target.
        path: Path,
    },
    /// 4.04: the object, instance or resource does not exist.
    #[error("{0} not found")]
    NotFound(Path),
    /// 4.05: the operation is not allowed on this target.
    #[error("operation not allowed on {0}")]
    MethodNotAllowed(Path),
    /// 4.06: the requested (Accept) format cannot be produced for this target.
    #[error("cannot produce content format {format} for {path}")]
    NotAcceptable {
        /// The target.
        path: Path,
        /// The Accept option value.
        format: u16,
    },
    /// 4.15: the payload's Content-Format is not supported for this target.
    #[error("content format {format:?} not supported for {path}")]
    UnsupportedContentFormat {
        /// The target.
        path: Path,
        /// The Content-Format option value (`None`: absent where one is needed).
        format: Option<u16>,
    },
    /// 5.00: anything else (an encoder failed, an object implementation fault).
    #[error("internal error at {path}: {reason}")]
    Internal {
        /// The target.
        path: Path,
        /// What failed.
        reason: String,
    },
}

impl DmError {
    /// A [`DmError::BadRequest`] with a reason.
    pub fn bad_request(path: Path, reason: impl Into<String>) -> DmError {
        DmError::BadRequest {
            path,
            reason: reason.into(),
        }
    }

    /// A [`DmError::Internal`] with a reason.
    pub fn internal(path: Path, reason: impl Into<String>) -> DmError {
        DmError::Internal {
            path,
            reason: reason.into(),
        }
    }

    /// The CoAP response code for this error.
    ///
    /// ```
    /// use lwm2m_client::DmError;
    /// use lwm2m_codec::coap::Code;
    /// use lwm2m_model::Path;
    ///
    /// let path = Path::resource(3, 0, 4)?;
    /// assert_eq!(DmError::MethodNotAllowed(path).code(), Code::METHOD_NOT_ALLOWED);
    /// assert_eq!(DmError::NotFound(path).code(), Code::NOT_FOUND);
    /// # Ok::<(), lwm2m_model::PathError>(())
    /// ```
    pub const fn code(&self) -> Code {
        match self {
            DmError::BadRequest { .. } => Code::BAD_REQUEST,
            DmError::Unauthorized { .. } => Code::UNAUTHORIZED,
            DmError::NotFound(_) => Code::NOT_FOUND,
            DmError::MethodNotAllowed(_) => Code::METHOD_NOT_ALLOWED,
            DmError::NotAcceptable { .. } => Code::NOT_ACCEPTABLE,
            DmError::UnsupportedContentFormat { .. } => Code::UNSUPPORTED_CONTENT_FORMAT,
            DmError::Internal { .. } => Code::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What the [`ClientBuilder`](crate::ClientBuilder) or a [`Client`](crate::Client) call refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The endpoint client name is empty.
    #[error("the endpoint client name must not be empty")]
    EmptyEndpointName,
    /// No LwM2M server account is configured.
    #[error("at least one LwM2M server account is needed")]
    NoServer,
    /// Two server accounts share a short server id.
    #[error("short server id {0} is configured twice")]
    DuplicateServer(u16),
    /// A short server id outside 1-65534.
    #[error("short server id {0} is outside 1-65534")]
    InvalidShortServerId(i64),
    /// A lifetime of zero seconds, or one that does not fit 32 bits.
    #[error("server {ssid}: lifetime {lifetime} is not a positive 32-bit number of seconds")]
    InvalidLifetime {
        /// The server.
        ssid: u16,
        /// The lifetime given.
        lifetime: i64,
    },
    /// A binding this client does not support (1.0 UDP: `U` or `UQ`).
    #[error("server {ssid}: binding {binding:?} is not supported (use U or UQ)")]
    UnsupportedBinding {
        /// The server.
        ssid: u16,
        /// The binding given.
        binding: String,
    },
    /// A server URI that is not `coap://<ip>[:port]`.
    #[error("server URI {uri:?}: {reason}")]
    InvalidServerUri {
        /// The URI.
        uri: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A Security instance for a server account has no Server instance with the same short
    /// server id, or the reverse.
    #[error("server {0} has a Server instance but no Security instance (or the reverse)")]
    UnpairedServer(u16),
    /// Two object implementations for one object id, or one for an object the client manages
    /// itself (0, 1, 2).
    #[error("object {0} is registered twice or is managed by the client itself")]
    DuplicateObject(u16),
    /// A mandatory object (3 Device) is missing.
    #[error("mandatory object {0} is missing")]
    MissingObject(u16),
    /// An object implementation's definition is invalid.
    #[error("object {0}: invalid definition: {1}")]
    InvalidDefinition(u16, String),
    /// The transport endpoint could not be created.
    #[error("transport: {0}")]
    Transport(String),
    /// A typed object instance does not convert (wrong type, missing mandatory resource).
    #[error("object instance: {0}")]
    Object(String),
}
