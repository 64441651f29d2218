//! OMA TLV (content format 11542).
