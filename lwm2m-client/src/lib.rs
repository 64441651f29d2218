//! # lwm2m-client
//!
//! The sans-IO core of an OMA LwM2M 1.0 client: registration with every configured server,
//! device management (Read, Discover, Write, Write-Attributes, Execute, Create, Delete) with
//! access control, and information reporting (Observe with `pmin`/`pmax`/`gt`/`lt`/`st`).
//!
//! | Type | Job |
//! |---|---|
//! | [`BootstrapConfig`] | the Bootstrap-Server account: client-initiated, server-initiated and fallback bootstrap |
//! | [`ClientBuilder`] | endpoint name, [`ServerAccount`]s (or factory Security/Server instances), objects, [`Timings`] |
//! | [`Client`] | the state machine; driven like a transport endpoint: `handle_datagram` / `handle_timeout` in, `poll_transmit` / `poll_event` / `poll_timeout` out |
//! | [`ObjectHandler`] | what a device developer implements per object (read, write, execute, create, delete; defaults answer 4.05) |
//! | [`TypedStore`] | an [`ObjectHandler`] over instances of a generated typed object (Server, Access Control, Location, ...) |
//! | [`DeviceObject`] | the Device object with Reboot, Factory Reset and Error Code behaviour |
//! | [`FirmwareObject`] | Firmware Update: push (Block1, streamed), pull (CoAP Block2; `CoAPS` Block2 with the `dtls` feature; HTTP(S) with the `http`/`https` features), the state machine; images go to a [`firmware::FirmwareSink`] |
//! | [`ClientEvent`] | registrations, executes (reboot!), writes, creates, deletes, observations |
//! | [`DmError`] | a refused operation with the response code the TS gives |
//!
//! The client does no IO and reads no clock. It owns a [`lwm2m_transport::Endpoint`] (CoAP
//! reliability, block-wise, observe) and talks to servers through it; a UDP driver moves the
//! datagrams, and tests run it on the transport's simulated network with virtual time.
//!
//! ```
//! use lwm2m_client::{ClientBuilder, DeviceObject, ServerAccount};
//! use lwm2m_codec::coap::Message;
//! use lwm2m_objects::Device;
//! use lwm2m_transport::Instant;
//!
//! let device = DeviceObject::new(Device { supported_binding_and_modes: "U".into(), ..Device::default() });
//! let mut client = ClientBuilder::new("node1")
//!     .server(ServerAccount::new(101, "server").lifetime(300))
//!     .object(device)
//!     .seed([1; 32])
//!     .build()?;
//!
//! // The first deadline is now: the Register goes out.
//! let now = client.poll_timeout().unwrap();
//! client.handle_timeout(now);
//! let register = client.poll_transmit().unwrap();
//! let msg = Message::parse(&register.contents)?;
//! assert!(msg.uri_path()?.eq(["rd"]));
//! assert!(msg.uri_query()?.eq(["ep=node1", "lt=300", "lwm2m=1.0", "b=U"]));
//! assert_eq!(msg.payload(), br#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>"#);
//! # let _ = Instant::ZERO;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Queue mode (binding `UQ`): after the awake time ([`Timings::awake_time`]) following its last
//! exchange the client sleeps ([`Client::is_sleeping`], [`ClientEvent::Sleeping`]) and drops
//! what arrives; it wakes ([`ClientEvent::Awake`]) when an Update is due or a notification is
//! ready, and sends an Update before the notifications. While a server is unreachable (a
//! notification or an Update timed out, the registration still valid) notifications are
//! stored, the newest value per observation (`/1/x/6`), and sent after the next accepted
//! Update.
//!
//! With the `tokio` feature (default), [`runtime`] drives a client on a UDP socket in a tokio
//! task, with DTLS (feature `dtls`, default) for `coaps://` servers whose Security instance
//! holds credentials ([`DtlsCredentials`], [`Client::dtls_credentials`]): a pre-shared key
//! (mode 0, [`ServerAccount::psk`]) on either backend; certificates (mode 2,
//! [`ServerAccount::certificate`]) on OpenSSL (feature `dtls-openssl`); raw public keys (mode 1,
//! [`ServerAccount::raw_public_key`]) on OpenSSL >= 3.2 (feature `dtls-rpk`). The backend is
//! OpenSSL with `dtls-openssl` (on with `cli`; tinydtls servers accept its hello), else
//! pure-Rust dimpl, which does PSK only (`runtime::ClientTask::dtls_backend` chooses).
//!
//! The runtime also pulls firmware from `coaps://` Package URIs: with the credentials of the
//! Security instance whose Server URI names the package's host and port
//! ([`Client::firmware_dtls_credentials`]), through the session of the server the client is
//! registered with at that address, or a session of its own, closed once the download ends. No
//! such instance, or one without usable credentials, is Update Result 7; a failed handshake,
//! result 4. The `lwm2m-client` binary (feature `cli`) is a simulated device, or a fleet of
//! them.
//!
//! Not in this crate: SMS (binding `S`), LwM2M 1.1 (TCP, `SenML`, the Send operation).

extern crate alloc;

mod access;
mod attributes;
mod bootstrap;
mod builder;
mod client;
mod config;
mod content;
mod dm;
mod error;
pub mod firmware;
mod object;
mod observe;
mod queue;
mod registration;
#[cfg(feature = "tokio")]
pub mod runtime;

pub use access::CREATE_INSTANCE;
pub use bootstrap::{BootstrapConfig, Resolver};
pub use builder::{parse_coap_uri, ClientBuilder};
pub use client::{Client, ClientEvent};
pub use config::{DtlsCredentials, ServerAccount, Timings};
pub use error::{ClientError, DmError};
pub use object::{DeviceObject, FirmwareObject, ObjectHandler, TypedStore, WriteMode};
