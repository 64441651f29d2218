//! # lwm2m-objects
//!
//! Typed Rust structs for the OMA LwM2M objects 0-7 and common IPSO objects, generated from the OMA
//! XML definitions by `cargo xtask codegen`, with conversions to and from the lwm2m-model `Node` tree.
//!
//! **Status:** not written yet. This crate exists so the workspace has its final shape from the start;
//! see the project README's feature table for what works today.
#![no_std]
