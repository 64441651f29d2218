//! [`DmError`]: why a device-management operation did not succeed.

use lwm2m_codec::coap::Code;
use lwm2m_model::content::ContentError;
use lwm2m_model::Path;

/// A device-management operation failed: the client answered an error code, it did not answer,
/// the endpoint is not registered, or its payload could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DmError {
    /// No client with this endpoint name is registered.
    #[error("no client is registered with endpoint name {0:?}")]
    UnknownEndpoint(String),
    /// The path is not valid for this operation (e.g. Create on an instance).
    #[error("invalid path {path} for {operation}")]
    InvalidPath {
        /// The path given.
        path: Path,
        /// The operation.
        operation: &'static str,
    },
    /// The request could not be built (a node that does not encode for the path, bad execute
    /// arguments).
    #[error("the request cannot be built: {0}")]
    InvalidRequest(String),
    /// 4.00 Bad Request.
    #[error("the client answered 4.00 Bad Request for {0}")]
    BadRequest(Path),
    /// 4.01 Unauthorized (the access control refused it).
    #[error("the client answered 4.01 Unauthorized for {0}")]
    Unauthorized(Path),
    /// 4.04 Not Found.
    #[error("the client answered 4.04 Not Found for {0}")]
    NotFound(Path),
    /// 4.05 Method Not Allowed (the operation is not allowed on the target).
    #[error("the client answered 4.05 Method Not Allowed for {0}")]
    MethodNotAllowed(Path),
    /// 4.06 Not Acceptable (the client cannot answer in the requested format).
    #[error("the client answered 4.06 Not Acceptable for {0}")]
    NotAcceptable(Path),
    /// 4.15 Unsupported Content-Format.
    #[error("the client answered 4.15 Unsupported Content-Format for {0}")]
    UnsupportedContentFormat(Path),
    /// 5.00 Internal Server Error.
    #[error("the client answered 5.00 Internal Server Error for {0}")]
    InternalServerError(Path),
    /// Another error code.
    #[error("the client answered {code} for {path}")]
    Other {
        /// The code.
        code: Code,
        /// The request path.
        path: Path,
    },
    /// No response in time (the server's DM timeout, or the CoAP retransmissions ran out).
    #[error("no response from {endpoint} for {path} in time")]
    Timeout {
        /// The endpoint name.
        endpoint: String,
        /// The request path.
        path: Path,
    },
    /// The client is in queue mode and already has as many requests waiting as the queue
    /// holds.
    #[error("the request queue of {endpoint} is full")]
    QueueFull {
        /// The endpoint name.
        endpoint: String,
    },
    /// The client is in queue mode and did not wake up (Register or Update) before the queued
    /// request expired.
    #[error("{endpoint} did not wake up before the queued request for {path} expired")]
    QueueExpired {
        /// The endpoint name.
        endpoint: String,
        /// The request path.
        path: Path,
    },
    /// The exchange failed otherwise (RST, endpoint closed, table full).
    #[error("the exchange with {endpoint} failed: {message}")]
    Transport {
        /// The endpoint name.
        endpoint: String,
        /// What the transport reported.
        message: String,
    },
    /// The answer's payload does not decode.
    #[error("the payload for {path} does not decode: {error}")]
    Decode {
        /// The request path.
        path: Path,
        /// The decoder's error.
        error: ContentError,
    },
    /// The link-format answer of a Discover does not parse.
    #[error("the Discover answer for {path} is not valid link-format: {message}")]
    Links {
        /// The request path.
        path: Path,
        /// What is wrong.
        message: String,
    },
    /// The answer's Content-Format is not a value format the server reads.
    #[error("the answer for {path} has unsupported content format {format:?}")]
    ResponseFormat {
        /// The request path.
        path: Path,
        /// The Content-Format number (`None`: absent where one is needed).
        format: Option<u16>,
    },
}

impl DmError {
    /// The error for an error `code` answered to a request on `path`.
    pub fn from_code(code: Code, path: Path) -> DmError {
        match code {
            Code::BAD_REQUEST => DmError::BadRequest(path),
            Code::UNAUTHORIZED => DmError::Unauthorized(path),
            Code::NOT_FOUND => DmError::NotFound(path),
            Code::METHOD_NOT_ALLOWED => DmError::MethodNotAllowed(path),
            Code::NOT_ACCEPTABLE => DmError::NotAcceptable(path),
            Code::UNSUPPORTED_CONTENT_FORMAT => DmError::UnsupportedContentFormat(path),
            Code::INTERNAL_SERVER_ERROR => DmError::InternalServerError(path),
            code => DmError::Other { code, path },
        }
    }

    /// The CoAP code the client answered, for the errors that are one.
    pub fn code(&self) -> Option<Code> {
        Some(match self {
            DmError::BadRequest(_) => Code::BAD_REQUEST,
            DmError::Unauthorized(_) => Code::UNAUTHORIZED,
            DmError::NotFound(_) => Code::NOT_FOUND,
            DmError::MethodNotAllowed(_) => Code::METHOD_NOT_ALLOWED,
            DmError::NotAcceptable(_) => Code::NOT_ACCEPTABLE,
            DmError::UnsupportedContentFormat(_) => Code::UNSUPPORTED_CONTENT_FORMAT,
            DmError::InternalServerError(_) => Code::INTERNAL_SERVER_ERROR,
            DmError::Other { code, .. } => *code,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        let path = Path::parse("/3/0").unwrap();
        for code in [
            Code::BAD_REQUEST,
            Code::UNAUTHORIZED,
            Code::NOT_FOUND,
            Code::METHOD_NOT_ALLOWED,
            Code::NOT_ACCEPTABLE,
            Code::UNSUPPORTED_CONTENT_FORMAT,
            Code::INTERNAL_SERVER_ERROR,
            Code::CONFLICT,
        ] {
            assert_eq!(DmError::from_code(code, path).code(), Some(code));
        }
        assert_eq!(DmError::UnknownEndpoint("x".into()).code(), None);
        assert!(matches!(
            DmError::from_code(Code::NOT_FOUND, path),
            DmError::NotFound(p) if p == path
        ));
    }
}
