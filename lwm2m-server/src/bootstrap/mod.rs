//! The LwM2M bootstrap server (digest §7, Client-Initiated bootstrap).
//!
//! A client sends `POST /bs?ep=<name>`; the server looks up the endpoint's
//! [`BootstrapConfig`](crate::store::BootstrapConfig) (or the default one) in a
//! [`BootstrapConfigStore`](crate::store::BootstrapConfigStore), answers 2.04 and runs a session:
//! the configured Bootstrap-Deletes (`DELETE /` by default), Bootstrap-Writes of the Security,
//! Server and Access Control instances (TLV), then Bootstrap-Finish (`POST /bs`). Every answer
//! is checked (2.02 for a delete, 2.04 otherwise); a wrong code, no answer or a step timeout
//! fails the session, reported as a [`BootstrapEvent::Failed`] naming the step and the code.
//!
//! | request | answer |
//! |---|---|
//! | `POST /bs?ep=<name>`, CON, no payload, configuration found | 2.04, session starts (a running one of the endpoint is replaced) |
//! | no `ep`, empty or repeated `ep`, another parameter, a payload, NON, `ep` > 255 bytes | 4.00 |
//! | no configuration for the endpoint and no default | 4.00 (the TS code for an unknown endpoint) |
//! | another method on `/bs` | 4.05 |
//! | another path | 4.04 |
//! | the configuration cannot be read or encoded | 5.00 |
//! | [`BootstrapSettings::max_sessions`] sessions running | 5.03 |
//!
//! - [`Bootstrapper`]: the sans-IO core (requests in, [`Command`]s out, answers back);
//! - [`BootstrapServer`] / [`BootstrapHandle`]: its tokio driver on a UDP endpoint of its own;
//! - [`plan`]: a configuration as the session's requests;
//! - [`BootstrapEvent`], [`BootstrapStatus`], [`BootstrapEvents`] (a `Stream`).
//!
//! ```
//! use lwm2m_objects::{Security, Server};
//! use lwm2m_server::bootstrap::BootstrapServer;
//! use lwm2m_server::store::BootstrapConfig;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bs = BootstrapServer::builder().bind("127.0.0.1:0".parse()?).await?;
//! // Every client gets the server at 192.0.2.1 (short server id 101).
//! bs.handle().set_default_config(
//!     BootstrapConfig::new()
//!         .security(1, &Security {
//!             lwm2m_server_uri: "coap://192.0.2.1:5683".into(),
//!             security_mode: 3,
//!             short_server_id: Some(101),
//!             ..Security::default()
//!         })?
//!         .server(0, &Server {
//!             short_server_id: 101,
//!             lifetime: 300,
//!             binding: "U".into(),
//!             ..Server::default()
//!         })?,
//! )?;
//! assert_eq!(bs.handle().session_count(), 0);
//! bs.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod engine;
mod event;
mod plan;
mod request;
mod server;
mod stream;

pub use engine::{BootstrapSettings, Bootstrapper, Command, SessionKey, StepOutcome};
pub use event::{BootstrapEvent, BootstrapFailure, BootstrapStatus, FailureReason};
pub use plan::{plan, Operation, PlanError, Step};
pub use request::{
    check_bootstrap_request, parse_bootstrap_request, BootstrapRefusal, MAX_ENDPOINT_LEN,
};
pub use server::{BootstrapHandle, BootstrapServer, BootstrapServerBuilder};
pub use stream::BootstrapEvents;
