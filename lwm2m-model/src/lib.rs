//! # lwm2m-model
//!
//! The semantic layer of lwm2m-rs: `Path` (`/o/i/r/ri`), `Value` and `DataType`, the `Node` tree,
//! object and resource definitions with a `Registry`, OMA DDF XML loading, content-format encoding and
//! decoding of nodes (TLV, LwM2M JSON, plain text, opaque), notification attributes and registration
//! parameters. Builds on lwm2m-codec.
//!
//! **Status:** not written yet. This crate exists so the workspace has its final shape from the start;
//! see the project README's feature table for what works today.
#![no_std]
