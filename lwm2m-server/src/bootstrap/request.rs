//! The Bootstrap-Request (`POST /bs?ep=<name>`, digest §7.2): what makes one valid, and the
//! code every refusal gets.

use lwm2m_codec::coap::{Code, Message, Type};
use lwm2m_model::{BootstrapParams, RegistrationError};

/// The longest endpoint client name accepted (bytes), as for Register.
pub const MAX_ENDPOINT_LEN: usize = 255;

/// Why a request to the bootstrap server was refused, with the code it gets
/// ([`code`](Self::code)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapRefusal {
    /// The path is not `/bs`: 4.04.
    #[error("no such resource (only /bs is served)")]
    NotFound,
    /// `/bs` with another method than POST: 4.05.
    #[error("method {method} is not allowed on /bs")]
    MethodNotAllowed {
        /// The method received.
        method: Code,
    },
    /// A non-confirmable Bootstrap-Request (it must be CON): 4.00.
    #[error("a Bootstrap-Request must be confirmable")]
    NonConfirmable,
    /// The options cannot be read (bad Uri-Path or Uri-Query bytes): 4.00.
    #[error("malformed options: {0}")]
    Malformed(String),
    /// `ep` is missing, empty, repeated, or another parameter is present: 4.00.
    #[error("invalid Bootstrap-Request parameters: {0}")]
    Parameters(RegistrationError),
    /// The endpoint name is longer than [`MAX_ENDPOINT_LEN`]: 4.00.
    #[error("endpoint client name of {len} bytes is longer than {MAX_ENDPOINT_LEN}")]
    EndpointTooLong {
        /// Its length.
        len: usize,
    },
    /// The request carries a payload (a Bootstrap-Request has none): 4.00.
    #[error("a Bootstrap-Request carries no payload ({len} bytes received)")]
    Payload {
        /// The payload length.
        len: usize,
    },
    /// No configuration for the endpoint and no default one: 4.00 (the code the TS gives for
    /// an unknown endpoint name).
    #[error("no bootstrap configuration for endpoint {endpoint:?} and no default")]
    UnknownEndpoint {
        /// The endpoint name.
        endpoint: String,
    },
    /// The configuration cannot be read from the store: 5.00.
    #[error("the bootstrap configuration of {endpoint:?} cannot be read: {message}")]
    Store {
        /// The endpoint name.
        endpoint: String,
        /// The store's error.
        message: String,
    },
    /// The configuration cannot be turned into requests (e.g. a write whose content does not
    /// fit its path): 5.00.
    #[error("the bootstrap configuration of {endpoint:?} is invalid: {message}")]
    InvalidConfig {
        /// The endpoint name.
        endpoint: String,
        /// What is wrong, and where.
        message: String,
    },
    /// As many sessions are running as allowed: 5.03 (the client retries later).
    #[error("{limit} bootstrap sessions are already running")]
    Busy {
        /// The session limit.
        limit: usize,
    },
}

impl BootstrapRefusal {
    /// The response code of the refusal.
    pub fn code(&self) -> Code {
        match self {
            BootstrapRefusal::NotFound => Code::NOT_FOUND,
            BootstrapRefusal::MethodNotAllowed { .. } => Code::METHOD_NOT_ALLOWED,
            BootstrapRefusal::NonConfirmable
            | BootstrapRefusal::Malformed(_)
            | BootstrapRefusal::Parameters(_)
            | BootstrapRefusal::EndpointTooLong { .. }
            | BootstrapRefusal::Payload { .. }
            | BootstrapRefusal::UnknownEndpoint { .. } => Code::BAD_REQUEST,
            BootstrapRefusal::Store { .. } | BootstrapRefusal::InvalidConfig { .. } => {
                Code::INTERNAL_SERVER_ERROR
            }
            BootstrapRefusal::Busy { .. } => Code::SERVICE_UNAVAILABLE,
        }
    }

    /// The endpoint name the refused request carried, when it was read.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            BootstrapRefusal::UnknownEndpoint { endpoint }
            | BootstrapRefusal::Store { endpoint, .. }
            | BootstrapRefusal::InvalidConfig { endpoint, .. } => Some(endpoint),
            _ => None,
        }
    }
}

/// Checks a request to the bootstrap server and returns the endpoint name of a valid
/// Bootstrap-Request.
///
/// ```
/// use lwm2m_codec::coap::{Code, Message, MessageBuilder, Type};
/// use lwm2m_server::bootstrap::parse_bootstrap_request;
///
/// let mut request = MessageBuilder::new(Type::Confirmable, Code::POST, 7);
/// request.uri_path("/bs").uri_queries("ep=node1");
/// let bytes = request.to_vec()?;
/// assert_eq!(parse_bootstrap_request(&Message::parse(&bytes)?).unwrap(), "node1");
///
/// let mut request = MessageBuilder::new(Type::Confirmable, Code::POST, 8);
/// request.uri_path("/bs");
/// let bytes = request.to_vec()?;
/// let refusal = parse_bootstrap_request(&Message::parse(&bytes)?).unwrap_err();
/// assert_eq!(refusal.code(), Code::BAD_REQUEST);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_bootstrap_request(message: &Message<'_>) -> Result<String, BootstrapRefusal> {
    check_bootstrap_request(
        message,
        message.ty() == Type::Confirmable,
        message.payload().len(),
    )
}

/// [`parse_bootstrap_request`] for a request whose options and body come apart (as the
/// transport delivers them): `confirmable` is its message type, `payload_len` its body length.
pub fn check_bootstrap_request(
    options: &Message<'_>,
    confirmable: bool,
    payload_len: usize,
) -> Result<String, BootstrapRefusal> {
    let malformed = |e: &dyn core::fmt::Display| BootstrapRefusal::Malformed(e.to_string());
    let mut path = options.uri_path().map_err(|e| malformed(&e))?;
    match (path.next(), path.next()) {
        (Some("bs"), None) => {}
        _ => return Err(BootstrapRefusal::NotFound),
    }
    if options.code() != Code::POST {
        return Err(BootstrapRefusal::MethodNotAllowed {
            method: options.code(),
        });
    }
    if !confirmable {
        return Err(BootstrapRefusal::NonConfirmable);
    }
    let query = options.uri_query().map_err(|e| malformed(&e))?;
    let params = BootstrapParams::parse(query).map_err(BootstrapRefusal::Parameters)?;
    let len = params.endpoint().len();
    if len > MAX_ENDPOINT_LEN {
        return Err(BootstrapRefusal::EndpointTooLong { len });
    }
    if payload_len > 0 {
        return Err(BootstrapRefusal::Payload { len: payload_len });
    }
    Ok(params.endpoint().to_owned())
}

#[cfg(test)]
mod tests {
    use lwm2m_codec::coap::MessageBuilder;
    use proptest::prelude::*;

    use super::*;

    fn parse(
        kind: Type,
        code: Code,
        path: &str,
        query: &[&str],
        payload: &[u8],
    ) -> Result<String, BootstrapRefusal> {
        let mut b = MessageBuilder::new(kind, code, 1);
        b.uri_path(path);
        for q in query {
            b.uri_query(q);
        }
        b.payload(payload);
        let bytes = b.to_vec().unwrap();
        parse_bootstrap_request(&Message::parse(&bytes).unwrap())
    }

    fn code(result: Result<String, BootstrapRefusal>) -> Code {
        result.unwrap_err().code()
    }

    #[test]
    fn a_valid_request_names_its_endpoint() {
        let ep = parse(
            Type::Confirmable,
            Code::POST,
            "/bs",
            &["ep=urn:imei:1"],
            b"",
        );
        assert_eq!(ep.unwrap(), "urn:imei:1");
    }

    #[test]
    fn every_refusal_has_its_code() {
        let con = Type::Confirmable;
        let cases: [(Result<String, BootstrapRefusal>, Code); 10] = [
            (parse(con, Code::POST, "/bs", &[], b""), Code::BAD_REQUEST),
            (
                parse(con, Code::POST, "/bs", &["ep="], b""),
                Code::BAD_REQUEST,
            ),
            (
                parse(con, Code::POST, "/bs", &["ep=a", "ep=b"], b""),
                Code::BAD_REQUEST,
            ),
            (
                parse(con, Code::POST, "/bs", &["ep=a", "lt=5"], b""),
                Code::BAD_REQUEST,
            ),
            (
                parse(con, Code::POST, "/bs", &["ep=a"], b"x"),
                Code::BAD_REQUEST,
            ),
            (
                parse(Type::NonConfirmable, Code::POST, "/bs", &["ep=a"], b""),
                Code::BAD_REQUEST,
            ),
            (
                parse(con, Code::GET, "/bs", &["ep=a"], b""),
                Code::METHOD_NOT_ALLOWED,
            ),
            (
                parse(con, Code::PUT, "/bs", &["ep=a"], b""),
                Code::METHOD_NOT_ALLOWED,
            ),
            (
                parse(con, Code::POST, "/rd", &["ep=a"], b""),
                Code::NOT_FOUND,
            ),
            (
                parse(con, Code::POST, "/bs/x", &["ep=a"], b""),
                Code::NOT_FOUND,
            ),
        ];
        for (i, (result, expected)) in cases.into_iter().enumerate() {
            assert_eq!(code(result), expected, "case {i}");
        }
        // A Uri-Query option holds at most 255 bytes, so a longer name cannot even be read.
        let long = format!("ep={}", "e".repeat(MAX_ENDPOINT_LEN + 1));
        let refusal = parse(con, Code::POST, "/bs", &[&long], b"").unwrap_err();
        assert!(
            matches!(refusal, BootstrapRefusal::Malformed(_)),
            "{refusal:?}"
        );
        assert_eq!(refusal.code(), Code::BAD_REQUEST);
        let longest = format!("ep={}", "e".repeat(252));
        assert_eq!(
            parse(con, Code::POST, "/bs", &[&longest], b"")
                .unwrap()
                .len(),
            252
        );
    }

    proptest! {
        #[test]
        fn arbitrary_messages_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(message) = Message::parse(&bytes) {
                match parse_bootstrap_request(&message) {
                    Ok(ep) => prop_assert!(!ep.is_empty()),
                    Err(refusal) => prop_assert!(refusal.code().class() >= 4),
                }
            }
        }

        #[test]
        fn arbitrary_queries_never_panic(query in proptest::collection::vec(".{0,12}", 0..4)) {
            let refs: Vec<&str> = query.iter().map(String::as_str).collect();
            match parse(Type::Confirmable, Code::POST, "/bs", &refs, b"") {
                Ok(ep) => prop_assert!(!ep.is_empty()),
                Err(refusal) => prop_assert_eq!(refusal.code(), Code::BAD_REQUEST),
            }
        }
    }
}
