//! # lwm2m-transport
//!
//! The CoAP engine of lwm2m-rs: a sans-IO endpoint (message layer with retransmission and
//! deduplication, block-wise transfer, observe) and thin tokio drivers over UDP and DTLS 1.2.
//!
//! **Status:** not written yet. This crate exists so the workspace has its final shape from the start;
//! see the project README's feature table for what works today.
#![no_std]
