//! The three OpenSSL calls the safe `openssl` crate does not bind: `DTLSv1_get_timeout` and
//! `DTLSv1_handle_timeout` (macros over `SSL_ctrl`, needed to drive DTLS retransmission without a
//! socket) and `SSL_set_session` (marked unsafe there because the session must come from the
//! same context, which [`set_session`]'s callers guarantee).
//!
//! With the `dtls-rpk` feature (which links an OpenSSL >= 3.2 built from source) also the four
//! RFC 7250 calls of OpenSSL 3.2 that neither `openssl` nor `openssl-sys` bind:
//! `SSL_CTX_set1_client_cert_type`, `SSL_CTX_set1_server_cert_type`, `SSL_get0_peer_rpk` and
//! `X509_STORE_CTX_get0_rpk`. They are declared only under that feature: a system OpenSSL 3.0
//! lacks the symbols and would not link.
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

/// RFC 7250 certificate types (`TLSEXT_cert_type_*`).
#[cfg(feature = "dtls-rpk")]
pub(crate) mod cert_type {
    /// `TLSEXT_cert_type_x509`.
    pub(crate) const X509: u8 = 0;
    /// `TLSEXT_cert_type_rpk`.
    pub(crate) const RAW_PUBLIC_KEY: u8 = 2;
}

#[cfg(feature = "dtls-rpk")]
mod rpk {
    use foreign_types::ForeignTypeRef;
    use openssl::error::ErrorStack;
    use openssl::pkey::{PKeyRef, Public};
    use openssl::ssl::{SslContextBuilder, SslRef};
    use openssl::x509::X509StoreContextRef;
    use openssl_sys::{EVP_PKEY, SSL, SSL_CTX, X509_STORE_CTX};

    extern "C" {
        fn SSL_CTX_set1_client_cert_type(
            ctx: *mut SSL_CTX,
            val: *const libc::c_uchar,
            len: libc::size_t,
        ) -> libc::c_int;
        fn SSL_CTX_set1_server_cert_type(
            ctx: *mut SSL_CTX,
            val: *const libc::c_uchar,
            len: libc::size_t,
        ) -> libc::c_int;
        fn SSL_get0_peer_rpk(s: *const SSL) -> *mut EVP_PKEY;
        fn X509_STORE_CTX_get0_rpk(ctx: *const X509_STORE_CTX) -> *mut EVP_PKEY;
    }

    /// The certificate types this context accepts from clients and offers as a server (or asks of
    /// the server, as a client), in order of preference.
    pub(crate) fn set_cert_types(
        b: &mut SslContextBuilder,
        client: &[u8],
        server: &[u8],
    ) -> Result<(), ErrorStack> {
        // SAFETY: `b` owns a live SSL_CTX; both calls copy `len` bytes from the slices, which
        // outlive the calls.
        let (c, s) = unsafe {
            (
                SSL_CTX_set1_client_cert_type(b.as_ptr(), client.as_ptr(), client.len()),
                SSL_CTX_set1_server_cert_type(b.as_ptr(), server.as_ptr(), server.len()),
            )
        };
        if c == 1 && s == 1 {
            Ok(())
        } else {
            Err(ErrorStack::get())
        }
    }

    /// `SubjectPublicKeyInfo` DER of a borrowed `EVP_PKEY`, or `None` for a null pointer.
    ///
    /// # Safety
    /// `key` is null or points to an `EVP_PKEY` that stays alive for the call.
    unsafe fn spki(key: *mut EVP_PKEY) -> Option<Vec<u8>> {
        if key.is_null() {
            return None;
        }
        // SAFETY: non-null and alive per the contract; the reference does not outlive the call
        // and does not free the key (a `PKeyRef` borrows).
        let key = unsafe { PKeyRef::<Public>::from_ptr(key) };
        key.public_key_to_der().ok()
    }

    /// The raw public key the peer authenticated with (`SubjectPublicKeyInfo` DER), or `None`
    /// when it used a certificate or none.
    pub(crate) fn peer_rpk(ssl: &SslRef) -> Option<Vec<u8>> {
        // SAFETY: `ssl` is a live SSL; the "get0" key it returns is owned by the SSL (or its
        // session), which the borrow keeps alive while `spki` copies it out.
        unsafe { spki(SSL_get0_peer_rpk(ssl.as_ptr())) }
    }

    /// The raw public key being verified in a verify callback, or `None` when a certificate
    /// chain is being verified.
    pub(crate) fn store_rpk(ctx: &X509StoreContextRef) -> Option<Vec<u8>> {
        // SAFETY: `ctx` is the live store context of the running verification; the "get0" key
        // belongs to it and outlives the copy.
        unsafe { spki(X509_STORE_CTX_get0_rpk(ctx.as_ptr())) }
    }
}

#[cfg(feature = "dtls-rpk")]
pub(crate) use rpk::{peer_rpk, set_cert_types, store_rpk};
