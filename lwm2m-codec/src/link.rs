//! CoRE link-format (RFC 6690), content format 40.
