//! [`StoreError`].

use super::RecordError;

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage backend failed (I/O, a corrupt database file, a lost connection).
    #[error("store backend failed to {operation}: {source}")]
    Backend {
        /// What the store was doing, e.g. "commit".
        operation: &'static str,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A record could not be encoded or decoded.
    #[error("record {key}: {source}")]
    Record {
        /// The record's key.
        key: String,
        /// Why.
        #[source]
        source: RecordError,
    },
    /// The change contradicts what is stored (e.g. a PSK identity already bound to another
    /// endpoint).
    #[error("conflict: {0}")]
    Conflict(String),
    /// An in-memory store's lock was poisoned by a panic in another thread.
    #[error("the store's lock is poisoned")]
    Poisoned,
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend(
        operation: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Backend {
            operation,
            source: Box::new(source),
        }
    }
}
