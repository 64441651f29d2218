//! Plain text (content format 0) and opaque (42) primitives.
