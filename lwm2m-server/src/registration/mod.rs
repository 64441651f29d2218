//! The Client Registration interface (digest §8), sans-IO.
//!
//! | item | job |
//! |---|---|
//! | [`Registrar`] | the state machine: Register / Update / De-register on `/rd`, expiry, events, write-through to a store |
//! | [`Registration`], [`RegistrationId`], [`CompactObjectLinks`] | one registered client, its `/rd/{id}` handle, its object links |
//! | [`RegistrationTable`] | registrations indexed by id, endpoint name and peer address, with O(log n) expiry |
//! | [`RegistrationEvent`] | Registered, Updated, Deregistered, Expired |
//! | [`RegistrationResponse`], [`Refusal`] | the answer and the reason a request failed, mapped to CoAP codes |
//! | [`IdentityCheck`] | the hook binding endpoint names to DTLS identities |
//! | [`RegistrarConfig`], [`RateLimit`] | lifetimes' grace period, strictness, limits, the per-source Register rate limit |
//!
//! ## Choices where the TS leaves room
//!
//! - **Expiry**: a registration is removed when `last Register/Update + lt + expiry_grace` has
//!   passed. The grace period (default 93 s = `MAX_TRANSMIT_WAIT`) covers a Confirmable Update sent
//!   just before the lifetime ends that needs its retransmissions to get through.
//! - **Unknown Register parameters** are kept on the registration (Leshan's behaviour) unless
//!   [`UnknownParameters::Reject`] is set; Update is strict (4.00 for `ep`, `lwm2m`, unknown names).
//! - **Missing `lt`, `lwm2m`, `b`** default to 86400, 1.0 and `U`; a `lwm2m` of another major or a
//!   newer minor gets 4.12.
//! - **Content-Format**: a payload must be link-format (40), else 4.00 (4.15 is not in the TS's
//!   table for this interface); a missing Content-Format is taken as link-format.
//! - **Identity mismatch** gets 4.03, as in Leshan (the TS table lists 4.00 for a name that does
//!   not match the certificate/PSK identity and 4.03 for "not allowed").
//! - **Flood protection**: Registers beyond the per-source budget get 5.03 Service Unavailable with
//!   Max-Age = seconds until the next one is allowed (or 4.29, RFC 8516, if configured). CoAP 1.0
//!   has no "too many requests" code; 5.03 + Max-Age is RFC 7252's "retry after".
//! - Non-confirmable Register/Update get 4.00 (as in Leshan); a Register without payload gets 4.00
//!   (the object links are mandatory).

mod batch;
mod config;
mod event;
mod handlers;
mod id;
mod identity;
mod links;
mod rate_limit;
mod record;
mod registrar;
mod response;
mod table;

pub use batch::{StagedCommit, StoreWrite};
pub use config::{RateLimit, RateLimitKey, RateLimitResponse, RegistrarConfig, UnknownParameters};
pub use event::RegistrationEvent;
pub use id::{InvalidRegistrationId, RegistrationId};
pub use identity::{AcceptAll, IdentityCheck, IdentityVerdict, RegistrationOperation};
pub use links::{CompactObjectLinks, LinksError};
pub use record::Registration;
pub use registrar::{Registrar, RegistrarBuilder, RegistrarError, RegistrarStats};
pub use response::{Refusal, RegistrationResponse};
pub use table::{IdInUse, RegistrationTable};
