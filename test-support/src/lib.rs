//! Helpers shared by the test suites of the lwm2m-rs crates (never published; the crates take it
//! as a path dev-dependency, which `cargo package` strips).
//!
//! - module `peers` (feature `peers`): the interop venv's Python and a guard around a peer
//!   process whose JSON report lines a test reads as they come.
//! - module `pki` (feature `pki`): a test CA, certificates and P-256 keys made fresh for each run.
//! - module `libcoap` (feature `libcoap`): where libcoap's command-line tools are.
//!
//! All features are on by default (so `cargo test -p lwm2m-test-support` tests them all); each crate
//! takes only the ones it uses, with `default-features = false`.
//!
//! Everything here fails the calling test by panicking, with a message saying what went wrong
//! (and, for a missing tool, that `cargo xtask install` installs it): a test never skips.

#[cfg(feature = "libcoap")]
pub mod libcoap;
#[cfg(feature = "peers")]
pub mod peers;
#[cfg(feature = "pki")]
pub mod pki;
