//! [`RegistrationResponse`]: the registrar's answer, and [`Refusal`]: why a request failed.

use core::time::Duration;

use lwm2m_codec::coap::{BuildError, Code, Message, MessageBuilder, MessageError, OptionError};
use lwm2m_model::{RegistrationError, Version};
use lwm2m_transport::Response;

use super::{LinksError, RateLimitResponse, RegistrationId};
use crate::store::StoreError;

/// Why a registration-interface request was refused. [`Refusal::code`] gives the CoAP code the
/// digest (§8, §11) prescribes.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The request is not for the registration interface (not under `/rd`), e.g. a
    /// Bootstrap-Request: 4.04.
    #[error("no registration resource at this path")]
    NotRegistrationInterface,
    /// `/rd/{id}` names no registration (never made, expired, or de-registered): 4.04.
    #[error("unknown registration")]
    UnknownRegistration,
    /// A method the resource does not support: 4.05.
    #[error("method {method} not allowed on the registration interface")]
    MethodNotAllowed {
        /// The request code.
        method: Code,
    },
    /// The request's header or options do not parse: 4.00.
    #[error("malformed request: {0}")]
    MalformedMessage(#[from] MessageError),
    /// A Non-confirmable Register or Update: 4.00.
    #[error("Register and Update must be Confirmable")]
    NotConfirmable,
    /// An option that cannot be read (Uri-Path or Uri-Query not UTF-8, a bad Content-Format): 4.00.
    #[error("malformed option: {0}")]
    BadOption(#[from] OptionError),
    /// A payload with a Content-Format other than link-format (40): 4.00.
    #[error("content format {0} is not application/link-format (40)")]
    ContentFormat(u16),
    /// A bad query parameter: 4.00.
    #[error("{0}")]
    Parameters(#[from] RegistrationError),
    /// More unknown parameters than the registrar keeps: 4.00.
    #[error("more than {limit} unknown parameters")]
    TooManyParameters {
        /// The configured limit.
        limit: usize,
    },
    /// An endpoint name longer than the registrar accepts: 4.00.
    #[error("endpoint name of {len} bytes exceeds the limit of {limit}")]
    EndpointTooLong {
        /// Its length.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A Register without object links: 4.00.
    #[error("Register without object links")]
    MissingObjectLinks,
    /// The object links do not parse: 4.00.
    #[error("{0}")]
    CompactObjectLinks(#[from] LinksError),
    /// The client's LwM2M version is not supported: 4.12.
    #[error("LwM2M version {client} is not supported (server: {server})")]
    UnsupportedVersion {
        /// The `lwm2m` parameter.
        client: Version,
        /// The registrar's supported version.
        server: Version,
    },
    /// The [`IdentityCheck`](super::IdentityCheck) refused the peer: 4.03.
    #[error("the peer's security identity may not act for this endpoint")]
    IdentityMismatch,
    /// Too many Registers from this source: 5.03 (or 4.29) with Max-Age.
    #[error("too many Register requests from this source; retry in {} ms", retry_after.as_millis())]
    RateLimited {
        /// When the source may try again.
        retry_after: Duration,
        /// The code to answer with.
        response: RateLimitResponse,
    },
    /// The registrar holds its maximum number of registrations: 5.03.
    #[error("the server holds its maximum of {limit} registrations")]
    Full {
        /// The configured limit.
        limit: usize,
    },
    /// A state the registrar never gets into (kept so no code path panics): 5.00.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// The change could not be written to the store, so it was not made: 5.00.
    #[error("registration store: {0}")]
    Store(#[from] StoreError),
}

/// 4.29 Too Many Requests (RFC 8516).
const TOO_MANY_REQUESTS: Code = Code::from_u8((4 << 5) | 0x1D);

/// Max-Age of a 5.03 for a full server (seconds).
const FULL_RETRY_SECONDS: u32 = 60;

impl Refusal {
    /// The response code.
    pub fn code(&self) -> Code {
        match self {
            Refusal::NotRegistrationInterface | Refusal::UnknownRegistration => Code::NOT_FOUND,
            Refusal::MethodNotAllowed { .. } => Code::METHOD_NOT_ALLOWED,
            Refusal::MalformedMessage(_)
            | Refusal::NotConfirmable
            | Refusal::BadOption(_)
            | Refusal::ContentFormat(_)
            | Refusal::Parameters(_)
            | Refusal::TooManyParameters { .. }
            | Refusal::EndpointTooLong { .. }
            | Refusal::MissingObjectLinks
            | Refusal::CompactObjectLinks(_) => Code::BAD_REQUEST,
            Refusal::UnsupportedVersion { .. } => Code::PRECONDITION_FAILED,
            Refusal::IdentityMismatch => Code::FORBIDDEN,
            Refusal::RateLimited {
                response: RateLimitResponse::TooManyRequests,
                ..
            } => TOO_MANY_REQUESTS,
            Refusal::RateLimited { .. } | Refusal::Full { .. } => Code::SERVICE_UNAVAILABLE,
            Refusal::Store(_) | Refusal::Internal(_) => Code::INTERNAL_SERVER_ERROR,
        }
    }

    /// The Max-Age the answer carries (seconds until a retry may succeed), if any.
    pub fn max_age(&self) -> Option<u32> {
        match self {
            Refusal::RateLimited { retry_after, .. } => {
                // Rounded up: retrying after a rounded-down Max-Age would be refused again.
                let secs = retry_after.as_millis().div_ceil(1_000).max(1);
                Some(u32::try_from(secs).unwrap_or(u32::MAX))
            }
            Refusal::Full { .. } => Some(FULL_RETRY_SECONDS),
            _ => None,
        }
    }
}

/// The registrar's answer to one request: a code, the Location-Path of a new registration, and
/// Max-Age for a rate-limited one.
///
/// Turn it into a transport [`Response`] with [`to_response`](Self::to_response), or into the
/// bytes of a piggy-backed ACK with [`write_piggybacked`](Self::write_piggybacked).
#[derive(Debug)]
pub struct RegistrationResponse {
    code: Code,
    location: Option<RegistrationId>,
    refusal: Option<Refusal>,
    diagnostic: bool,
}

impl RegistrationResponse {
    pub(crate) fn success(code: Code, location: Option<RegistrationId>) -> RegistrationResponse {
        RegistrationResponse {
            code,
            location,
            refusal: None,
            diagnostic: false,
        }
    }

    pub(crate) fn refused(refusal: Refusal, diagnostic: bool) -> RegistrationResponse {
        RegistrationResponse {
            code: refusal.code(),
            location: None,
            refusal: Some(refusal),
            diagnostic,
        }
    }

    /// The response code: 2.01, 2.04, 2.02, or the error code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The id of a new registration (the answer to a successful Register).
    pub fn location(&self) -> Option<RegistrationId> {
        self.location
    }

    /// Why the request was refused, if it was.
    pub fn refusal(&self) -> Option<&Refusal> {
        self.refusal.as_ref()
    }

    /// Max-Age, when the answer carries one.
    pub fn max_age(&self) -> Option<u32> {
        self.refusal.as_ref().and_then(Refusal::max_age)
    }

    fn diagnostic_text(&self) -> Option<String> {
        let refusal = self.refusal.as_ref()?;
        (self.diagnostic && self.code.is_client_error()).then(|| refusal.to_string())
    }

    fn fill<'a>(&self, builder: &mut MessageBuilder<'a>, id_text: &'a str, diagnostic: &'a str) {
        if self.location.is_some() {
            builder.location_path("rd").location_path(id_text);
        }
        if let Some(max_age) = self.max_age() {
            builder.max_age(max_age);
        }
        if !diagnostic.is_empty() {
            builder.payload(diagnostic.as_bytes());
        }
    }

    /// The response for [`Endpoint::respond`](lwm2m_transport::Endpoint::respond).
    pub fn to_response(&self) -> Response {
        let id = self.location;
        let id_text = id.as_ref().map_or("", RegistrationId::as_str);
        let diagnostic = self.diagnostic_text().unwrap_or_default();
        Response::build(self.code, |b| self.fill(b, id_text, &diagnostic))
            // Two short Location-Path options, a uint and a short payload always encode.
            .unwrap_or_else(|_| Response::new(self.code))
    }

    /// The bytes of a piggy-backed response (an ACK with its message id and token) to a
    /// Confirmable `request`.
    pub fn write_piggybacked(&self, request: &Message<'_>) -> Result<Vec<u8>, BuildError> {
        let id = self.location;
        let id_text = id.as_ref().map_or("", RegistrationId::as_str);
        let diagnostic = self.diagnostic_text().unwrap_or_default();
        let mut builder = MessageBuilder::piggybacked_response(request, self.code);
        self.fill(&mut builder, id_text, &diagnostic);
        builder.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_digest() {
        let cases: [(Refusal, &str); 8] = [
            (Refusal::NotRegistrationInterface, "4.04"),
            (Refusal::UnknownRegistration, "4.04"),
            (Refusal::MethodNotAllowed { method: Code::GET }, "4.05"),
            (Refusal::MissingObjectLinks, "4.00"),
            (
                Refusal::UnsupportedVersion {
                    client: Version::new(1, 1),
                    server: Version::V1_0,
                },
                "4.12",
            ),
            (Refusal::IdentityMismatch, "4.03"),
            (Refusal::Full { limit: 1 }, "5.03"),
            (
                Refusal::RateLimited {
                    retry_after: Duration::from_millis(1),
                    response: RateLimitResponse::TooManyRequests,
                },
                "4.29",
            ),
        ];
        for (refusal, code) in cases {
            let c = refusal.code();
            assert_eq!(
                format!("{}.{:02}", c.class(), c.detail()),
                code,
                "{refusal}"
            );
        }
    }

    #[test]
    fn max_age_rounds_up() {
        let limited = |ms| Refusal::RateLimited {
            retry_after: Duration::from_millis(ms),
            response: RateLimitResponse::ServiceUnavailable,
        };
        assert_eq!(limited(1).max_age(), Some(1));
        assert_eq!(limited(1_000).max_age(), Some(1));
        assert_eq!(limited(1_001).max_age(), Some(2));
        assert_eq!(limited(0).max_age(), Some(1));
        assert_eq!(Refusal::MissingObjectLinks.max_age(), None);
    }

    #[test]
    fn responses_carry_location_max_age_and_diagnostics() {
        let id = RegistrationId::parse("5a3f").unwrap();
        let created = RegistrationResponse::success(Code::CREATED, Some(id)).to_response();
        let msg = created.message().unwrap();
        assert!(msg.location_path().unwrap().eq(["rd", "5a3f"]));
        assert!(created.payload().is_empty());

        let limited = RegistrationResponse::refused(
            Refusal::RateLimited {
                retry_after: Duration::from_secs(3),
                response: RateLimitResponse::ServiceUnavailable,
            },
            true,
        );
        let r = limited.to_response();
        assert_eq!(r.code(), Code::SERVICE_UNAVAILABLE);
        assert_eq!(r.message().unwrap().max_age(), Ok(Some(3)));
        // 5.xx answers carry no diagnostic text.
        assert!(r.payload().is_empty());

        let bad = RegistrationResponse::refused(Refusal::MissingObjectLinks, true).to_response();
        assert_eq!(bad.payload().as_ref(), b"Register without object links");
        let quiet = RegistrationResponse::refused(Refusal::MissingObjectLinks, false).to_response();
        assert!(quiet.payload().is_empty());
    }
}
