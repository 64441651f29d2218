//! CoAP message wire format (RFC 7252 §3) with the options LwM2M uses.
