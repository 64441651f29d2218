//! LwM2M 1.0 JSON (content format 11543).
