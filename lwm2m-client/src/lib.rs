//! # lwm2m-client
//!
//! The LwM2M 1.0 client façade: bootstrap, registration, device management with access control,
//! information reporting, queue mode and firmware update, plus a simulated device binary.
//!
//! **Status:** not written yet. This crate exists so the workspace has its final shape from the start;
//! see the project README's feature table for what works today.
#![no_std]
