//! The three OpenSSL calls the safe `openssl` crate does not bind: `DTLSv1_get_timeout` and
//! `DTLSv1_handle_timeout` (macros over `SSL_ctrl`, needed to drive DTLS retransmission without a
//! socket) and `SSL_set_session` (marked unsafe there because the session must come from the
//! same context, which [`set_session`]'s callers guarantee).
#![allow(unsafe_code)]

use core::time::Duration;

use foreign_types::ForeignTypeRef;
use openssl::error::ErrorStack;
use openssl::ssl::{SslRef, SslSessionRef};

/// `DTLS_CTRL_GET_TIMEOUT` from `ssl.h`.
const DTLS_CTRL_GET_TIMEOUT: libc::c_int = 73;
/// `DTLS_CTRL_HANDLE_TIMEOUT` from `ssl.h`.
const DTLS_CTRL_HANDLE_TIMEOUT: libc::c_int = 74;

/// `DTLSv1_get_timeout`: time left on the retransmission timer, or `None` if none runs.
pub(crate) fn get_timeout(ssl: &SslRef) -> Option<Duration> {
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    // SAFETY: `ssl` is a live SSL object borrowed for the call; DTLS_CTRL_GET_TIMEOUT writes one
    // `struct timeval` through the pointer, which points to a local of that type.
    let armed = unsafe {
        openssl_sys::SSL_ctrl(
            ssl.as_ptr(),
            DTLS_CTRL_GET_TIMEOUT,
            0,
            (&raw mut tv).cast::<libc::c_void>(),
        )
    };
    if armed <= 0 {
        return None;
    }
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u64::try_from(tv.tv_usec).unwrap_or(0);
    Some(Duration::from_secs(secs) + Duration::from_micros(micros))
}

/// `DTLSv1_handle_timeout`: retransmits the last flight if the timer expired. `Err` when the
/// library gave up (too many retransmissions). Takes `&SslRef` because `SslStream` lends no
/// `&mut SslRef`; the caller holds the stream mutably, so nothing else uses the object meanwhile.
pub(crate) fn handle_timeout(ssl: &SslRef) -> Result<bool, ()> {
    // SAFETY: `ssl` is a live SSL object; the caller has exclusive access to the stream owning it
    // for the duration of the call. This control takes no pointer argument.
    let result = unsafe {
        openssl_sys::SSL_ctrl(
            ssl.as_ptr(),
            DTLS_CTRL_HANDLE_TIMEOUT,
            0,
            core::ptr::null_mut(),
        )
    };
    match result {
        r if r < 0 => Err(()),
        0 => Ok(false),
        _ => Ok(true),
    }
}

/// `SSL_set_session`, to resume.
pub(crate) fn set_session(ssl: &mut SslRef, session: &SslSessionRef) -> Result<(), ErrorStack> {
    // SAFETY: the caller passes a session obtained from an SSL object of the same SSL_CTX (a
    // client configuration keeps its context and the sessions it produced together), which is
    // the requirement `SslRef::set_session` documents.
    unsafe { ssl.set_session(session) }
}
