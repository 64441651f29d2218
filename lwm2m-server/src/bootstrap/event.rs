//! What a bootstrap server reports: [`BootstrapEvent`]s as sessions progress, and the last
//! known [`BootstrapStatus`] of each endpoint.

use core::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use lwm2m_codec::coap::Code;

use super::plan::Operation;
use super::request::BootstrapRefusal;
use crate::Timestamp;

/// Why a bootstrap session failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureReason {
    /// The client answered the step with this code instead of the expected one.
    Rejected(Code),
    /// No answer came: the transport gave up (timeout, reset) with this error.
    NoResponse(String),
    /// The session's step timeout passed without an answer.
    Timeout,
    /// A new Bootstrap-Request of the same endpoint replaced the session.
    Restarted,
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::Rejected(code) => write!(f, "the client answered {code}"),
            FailureReason::NoResponse(error) => write!(f, "no answer: {error}"),
            FailureReason::Timeout => f.write_str("no answer within the step timeout"),
            FailureReason::Restarted => f.write_str("replaced by a new Bootstrap-Request"),
        }
    }
}

/// A session failure: at which step (1-based), doing what, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step {step} ({operation}) failed: {reason}")]
pub struct BootstrapFailure {
    /// The failed step, 1-based.
    pub step: usize,
    /// What the step does.
    pub operation: Operation,
    /// Why it failed.
    pub reason: FailureReason,
}

/// Something a bootstrap server reports. Steps are numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BootstrapEvent {
    /// A Bootstrap-Request was accepted (2.04) and a session started.
    Started {
        /// The endpoint name.
        endpoint: Arc<str>,
        /// Where the client is.
        peer: SocketAddr,
        /// How many steps the session has (the last is Bootstrap-Finish).
        steps: usize,
        /// Whether the default configuration is used (the endpoint has none of its own).
        default_config: bool,
    },
    /// A step was answered with its success code.
    StepSucceeded {
        /// The endpoint name.
        endpoint: Arc<str>,
        /// The step, 1-based.
        step: usize,
        /// What it did.
        operation: Operation,
    },
    /// The session failed; the client will retry its Bootstrap-Request after its back-off.
    Failed {
        /// The endpoint name.
        endpoint: Arc<str>,
        /// Where and why.
        failure: BootstrapFailure,
    },
    /// The client accepted Bootstrap-Finish: it now registers with the configured servers.
    Finished {
        /// The endpoint name.
        endpoint: Arc<str>,
    },
    /// A request was refused (see [`BootstrapRefusal::code`] for the code sent).
    Refused {
        /// Who sent it.
        peer: SocketAddr,
        /// Why.
        refusal: BootstrapRefusal,
    },
}

impl BootstrapEvent {
    /// The endpoint the event is about, when known.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            BootstrapEvent::Started { endpoint, .. }
            | BootstrapEvent::StepSucceeded { endpoint, .. }
            | BootstrapEvent::Failed { endpoint, .. }
            | BootstrapEvent::Finished { endpoint } => Some(endpoint),
            BootstrapEvent::Refused { refusal, .. } => refusal.endpoint(),
        }
    }
}

/// The last known state of an endpoint's bootstrap.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BootstrapStatus {
    /// A session is running; `done` steps of `steps` have succeeded.
    Running {
        /// Where the client is.
        peer: SocketAddr,
        /// Steps answered with success so far.
        done: usize,
        /// Steps in all.
        steps: usize,
    },
    /// The last session finished at this time.
    Finished {
        /// When the client accepted Bootstrap-Finish.
        at: Timestamp,
    },
    /// The last session failed.
    Failed {
        /// When.
        at: Timestamp,
        /// Where and why.
        failure: BootstrapFailure,
    },
}
