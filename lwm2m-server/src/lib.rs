//! # lwm2m-server
//!
//! The LwM2M 1.0 server side of lwm2m-rs:
//!
//! - [`registration`]: the Client Registration interface as a sans-IO state machine
//!   ([`Registrar`](registration::Registrar)): Register, Update, De-register on `/rd`, expiry on
//!   caller-supplied time with a grace period, events, per-source Register rate limiting, an
//!   identity-check hook, and a compact in-memory [`Registration`](registration::Registration)
//!   table indexed by id, endpoint name and address;
//! - [`store`]: store traits for registrations, observations, credentials and bootstrap
//!   configurations, in-memory implementations, a durable embedded store on redb (feature
//!   `redb`) and a Redis store (feature `redis`), so a restart loses no registration or
//!   observation;
//! - [`server`]: the tokio runtime ([`Server`](server::Server)): the typed async
//!   device-management and observation API ([`ServerHandle`](server::ServerHandle)), one event
//!   stream of registrations and notifications, queue mode for `UQ` clients, observations
//!   restored after a restart, and DTLS (feature `dtls`) with identities bound to endpoint
//!   names through the credential store;
//! - [`http`]: the HTTP API (axum) over a `ServerHandle`, served by the `lwm2m-server` binary;
//! - [`bootstrap`]: the bootstrap server, a sans-IO core
//!   ([`Bootstrapper`](bootstrap::Bootstrapper)) and its tokio driver
//!   ([`BootstrapServer`](bootstrap::BootstrapServer)), with configurations from a
//!   [`BootstrapConfigStore`](store::BootstrapConfigStore);
//! - [`Timestamp`]: the wall-clock time the sans-IO code is driven with.
//!
//! ```
//! # #[cfg(feature = "redb")] {
//! use lwm2m_codec::coap::{Code, Message, MessageBuilder, Type};
//! use lwm2m_server::registration::Registrar;
//! use lwm2m_server::store::{RedbStore, RegistrationStore};
//! use lwm2m_server::Timestamp;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("registrations.redb");
//! let now = Timestamp::from_unix_secs(1_700_000_000);
//! let mut register = MessageBuilder::new(Type::Confirmable, Code::POST, 1);
//! register.uri_path("/rd").uri_queries("ep=node1&lt=300").content_format(40).payload(b"</3/0>");
//! let bytes = register.to_vec()?;
//!
//! let id = {
//!     let mut registrar = Registrar::builder().store(RedbStore::open(&path)?).build(now)?;
//!     let answer = registrar.handle_request(now, "10.0.0.1:5683".parse()?, &Message::parse(&bytes)?);
//!     answer.location().unwrap()
//! }; // the server stops ...
//!
//! // ... and starts again: the registration is still there.
//! let registrar = Registrar::builder().store(RedbStore::open(&path)?).build(now)?;
//! assert_eq!(registrar.get(id).unwrap().endpoint(), "node1");
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bootstrap;
pub mod http;
pub mod registration;
pub mod server;
pub mod store;
mod time;

pub use time::Timestamp;
