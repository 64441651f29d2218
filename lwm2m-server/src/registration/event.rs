//! [`RegistrationEvent`]: what the registrar tells the application.

use super::Registration;

/// A change to the set of registrations, from [`Registrar::poll_event`](super::Registrar::poll_event).
///
/// Every event has already been written to the store when it is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationEvent {
    /// A client registered. If its endpoint was registered already, the old registration was
    /// replaced: its observations are void and must be set up again.
    Registered {
        /// The new registration.
        registration: Registration,
        /// The registration it replaced, if any.
        replaced: Option<Box<Registration>>,
    },
    /// A client sent an Update (parameters, links or address may have changed; the lifetime
    /// restarted).
    Updated {
        /// The registration before the Update.
        previous: Box<Registration>,
        /// The registration after it.
        current: Registration,
    },
    /// A client de-registered.
    Deregistered {
        /// The registration, now gone.
        registration: Registration,
    },
    /// A registration's lifetime (plus the grace period) ran out without an Update.
    Expired {
        /// The registration, now gone.
        registration: Registration,
    },
}

impl RegistrationEvent {
    /// The registration the event is about (the new one for `Registered`, the current one for
    /// `Updated`).
    pub fn registration(&self) -> &Registration {
        match self {
            RegistrationEvent::Registered { registration, .. }
            | RegistrationEvent::Deregistered { registration }
            | RegistrationEvent::Expired { registration } => registration,
            RegistrationEvent::Updated { current, .. } => current,
        }
    }
}
