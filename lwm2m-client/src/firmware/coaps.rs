//! The `coaps://` pull's credentials: the Security instance (`/0/x`) whose LwM2M Server URI
//! names the Package URI's host and port (digest §16: "for a coaps URI the client uses the
//! credentials of the matching Security object instance"), and what the transport below the
//! client is told about them ([`Client::firmware_dtls_credentials`],
//! [`Client::firmware_transport_failed`]).

use core::hash::Hash;

use lwm2m_objects::Security;
use lwm2m_transport::Instant;

use super::{FirmwareError, PackageUri};
use crate::client::Client;
use crate::config::DtlsCredentials;
use crate::object::TypedStore;

/// The Security instance a `coaps://` Package URI matches, as far as the download needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matched {
    /// Its Short Server ID, if it has one (a registered server's session is reused).
    pub(crate) ssid: Option<u16>,
    /// Its DTLS credentials.
    pub(crate) credentials: DtlsCredentials,
}

/// Whether a Server URI (`/0/x/0`) names the host and port of `uri`: the same host (an IP
/// address as the `url` crate normalises it, a name compared without case), the same port once
/// each side's scheme default is applied.
fn names_same_endpoint(server_uri: &str, uri: &PackageUri) -> bool {
    let Ok(server) = url::Url::parse(server_uri) else {
        return false;
    };
    let default = match server.scheme() {
        "coap" => 5683,
        "coaps" => 5684,
        _ => return false,
    };
    server
        .host_str()
        .is_some_and(|host| host.eq_ignore_ascii_case(uri.host()))
        && server.port().unwrap_or(default) == uri.port()
}

/// The Security instance for `uri` among `security`: LwM2M server instances are preferred to
/// the Bootstrap-Server's, and the lowest instance id wins among equals. `Err` says why none
/// is usable (none names the endpoint, or the one that does is `NoSec`).
pub(crate) fn matching_security(
    security: &TypedStore<Security>,
    uri: &PackageUri,
) -> Result<Matched, FirmwareError> {
    let mut candidates: alloc::vec::Vec<(u16, &Security)> = security
        .iter()
        .filter(|(_, s)| names_same_endpoint(&s.lwm2m_server_uri, uri))
        .collect();
    candidates.sort_by_key(|(id, s)| (s.bootstrap_server, *id));
    let Some((id, chosen)) = candidates.first() else {
        return Err(FirmwareError::InvalidUri(alloc::format!(
            "{}: no Security instance names {}:{}",
            uri.as_str(),
            uri.host(),
            uri.port()
        )));
    };
    let credentials = DtlsCredentials::from_security(
        chosen.security_mode,
        &chosen.public_key_or_identity,
        &chosen.server_public_key,
        &chosen.secret_key,
    )
    .ok_or_else(|| {
        FirmwareError::InvalidUri(alloc::format!(
            "{}: /0/{id} has no DTLS credentials (security mode {})",
            uri.as_str(),
            chosen.security_mode
        ))
    })?;
    let ssid = chosen
        .short_server_id
        .and_then(|v| u16::try_from(v).ok())
        .filter(|_| !chosen.bootstrap_server);
    Ok(Matched { ssid, credentials })
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// The DTLS credentials of the `coaps://` firmware download in progress, if it goes to
    /// `peer`: the transport under the client must encrypt what the client sends `peer` with
    /// them (the tokio runtime does). `None` when no `coaps://` download runs or it goes
    /// elsewhere; the LwM2M servers' own credentials are [`Client::dtls_credentials`].
    pub fn firmware_dtls_credentials(&self, peer: &P) -> Option<DtlsCredentials> {
        let task = self.firmware.as_ref()?;
        let (secure_peer, credentials) = task.secure.as_deref()?;
        (secure_peer == peer).then(|| credentials.clone())
    }

    /// The transport could not reach `peer` for the `coaps://` download (the DTLS handshake
    /// failed, or the credentials are refused by the DTLS library): the download in progress
    /// to `peer`, if any, fails with `error` (its Update Result). Anything else is ignored.
    pub fn firmware_transport_failed(&mut self, now: Instant, peer: &P, error: FirmwareError) {
        self.now = self.now.max(now);
        let ours = self
            .firmware
            .as_ref()
            .and_then(|t| t.secure.as_deref())
            .is_some_and(|(p, _)| p == peer);
        if ours {
            if let Some(task) = self.firmware.as_mut() {
                task.secure = None;
            }
            self.pull_failed(error);
        }
        self.process(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn security(uri: &str, mode: i64, bootstrap: bool, ssid: Option<i64>) -> Security {
        Security {
            lwm2m_server_uri: uri.into(),
            bootstrap_server: bootstrap,
            security_mode: mode,
            public_key_or_identity: alloc::format!("id-{uri}").into_bytes(),
            secret_key: b"key".to_vec(),
            short_server_id: ssid,
            ..Security::default()
        }
    }

    fn uri(text: &str) -> PackageUri {
        PackageUri::parse(text).unwrap()
    }

    #[test]
    fn the_same_host_and_port_match_with_scheme_defaults() {
        let u = uri("coaps://192.0.2.1/fw");
        assert!(names_same_endpoint("coaps://192.0.2.1", &u));
        assert!(names_same_endpoint("coaps://192.0.2.1:5684/", &u));
        assert!(!names_same_endpoint("coaps://192.0.2.1:5685", &u));
        assert!(
            !names_same_endpoint("coap://192.0.2.1", &u),
            "5683 is not 5684"
        );
        assert!(names_same_endpoint("coap://192.0.2.1:5684", &u));
        assert!(!names_same_endpoint("coaps://192.0.2.2", &u));
        assert!(!names_same_endpoint("http://192.0.2.1:5684", &u));
        assert!(!names_same_endpoint("", &u));
        assert!(!names_same_endpoint("not a uri", &u));
        let v6 = uri("coaps://[::1]:6000/fw");
        assert!(names_same_endpoint("coaps://[0:0::1]:6000", &v6));
        let named = uri("coaps://Repo.Example:6000/fw");
        assert!(names_same_endpoint("coaps://repo.example:6000", &named));
    }

    #[test]
    fn a_server_instance_is_preferred_and_its_credentials_used() {
        let store = TypedStore::with_instances([
            (0, security("coaps://192.0.2.1", 0, true, None)),
            (3, security("coaps://192.0.2.1", 0, false, Some(7))),
            (1, security("coaps://192.0.2.9", 0, false, Some(8))),
        ]);
        let matched = matching_security(&store, &uri("coaps://192.0.2.1/fw")).unwrap();
        assert_eq!(matched.ssid, Some(7));
        assert_eq!(
            matched.credentials,
            DtlsCredentials::Psk {
                identity: b"id-coaps://192.0.2.1".to_vec(),
                key: b"key".to_vec()
            }
        );
        // Only the Bootstrap-Server names it: its credentials, no server to reuse.
        let store = TypedStore::with_instances([(0, security("coaps://192.0.2.1", 2, true, None))]);
        let matched = matching_security(&store, &uri("coaps://192.0.2.1/fw")).unwrap();
        assert_eq!(matched.ssid, None);
        assert_eq!(matched.credentials.security_mode(), 2);
    }

    #[test]
    fn no_match_or_nosec_is_result_7() {
        let store = TypedStore::with_instances([
            (0, security("coaps://192.0.2.1", 3, false, Some(1))),
            (1, security("coaps://192.0.2.2", 0, false, Some(2))),
        ]);
        for text in ["coaps://192.0.2.1/fw", "coaps://192.0.2.3/fw"] {
            let e = matching_security(&store, &uri(text)).unwrap_err();
            assert_eq!(e.result(), crate::firmware::UpdateResult::InvalidUri, "{e}");
        }
        let empty = TypedStore::<Security>::new();
        assert!(matching_security(&empty, &uri("coaps://192.0.2.2/fw")).is_err());
    }
}
