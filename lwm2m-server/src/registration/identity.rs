//! The [`IdentityCheck`] hook: binds endpoint names to the security identity of the peer.
//!
//! With DTLS, the server must check that the endpoint name of a Register matches the peer's
//! authenticated identity (PSK identity, certificate CN, or a lookup), and that an Update or
//! De-register comes from the identity that owns the registration. The tokio
//! [`Server`](crate::server::Server) installs its own check, bound to its credential store and
//! the DTLS session of each request; a registrar driven by other code uses this trait (over
//! plain UDP without credentials, [`AcceptAll`]).

use std::net::SocketAddr;

/// Which registration operation is being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationOperation {
    /// `POST /rd?ep=...`.
    Register,
    /// `POST /rd/{id}`.
    Update,
    /// `DELETE /rd/{id}`.
    Deregister,
}

/// The outcome of an [`IdentityCheck`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityVerdict {
    /// The peer may act for this endpoint.
    Accept,
    /// It may not: the request gets 4.03 Forbidden. (The TS table lists 4.00 for a Register
    /// whose name does not match the identity and 4.03 for "not allowed"; like Leshan, the
    /// registrar answers both with 4.03.)
    Reject,
}

/// Decides whether `peer` may register, update or de-register as `endpoint`.
///
/// Closures `Fn(SocketAddr, &str, RegistrationOperation) -> IdentityVerdict` implement it:
///
/// ```
/// use lwm2m_server::registration::{IdentityCheck, IdentityVerdict, RegistrationOperation};
/// // A toy policy: only endpoints named "urn:dev:*" may register.
/// let check = |_peer, endpoint: &str, _op| {
///     if endpoint.starts_with("urn:dev:") { IdentityVerdict::Accept } else { IdentityVerdict::Reject }
/// };
/// let peer = "10.0.0.1:5683".parse()?;
/// assert_eq!(check.check(peer, "urn:dev:1", RegistrationOperation::Register), IdentityVerdict::Accept);
/// assert_eq!(check.check(peer, "other", RegistrationOperation::Register), IdentityVerdict::Reject);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait IdentityCheck: Send {
    /// The verdict for this request.
    fn check(
        &self,
        peer: SocketAddr,
        endpoint: &str,
        operation: RegistrationOperation,
    ) -> IdentityVerdict;
}

/// Accepts every request: the policy for `NoSec` (plain UDP) deployments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AcceptAll;

impl IdentityCheck for AcceptAll {
    fn check(&self, _: SocketAddr, _: &str, _: RegistrationOperation) -> IdentityVerdict {
        IdentityVerdict::Accept
    }
}

impl<F> IdentityCheck for F
where
    F: Fn(SocketAddr, &str, RegistrationOperation) -> IdentityVerdict + Send,
{
    fn check(
        &self,
        peer: SocketAddr,
        endpoint: &str,
        operation: RegistrationOperation,
    ) -> IdentityVerdict {
        self(peer, endpoint, operation)
    }
}
