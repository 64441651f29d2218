//! Plain text placeholder
