//! # lwm2m-server
//!
//! The LwM2M 1.0 server and bootstrap server façade: registration interface, typed async device
//! management and observation API, queue mode, security store, durable storage and a REST API.
//!
//! **Status:** not written yet. This crate exists so the workspace has its final shape from the start;
//! see the project README's feature table for what works today.
#![no_std]
