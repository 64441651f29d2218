//! The DTLS endpoint's own credentials, read from the files the flags name: the server's
//! certificate chain and key with the CAs client certificates must chain to (X.509, security
//! mode 2), and its raw key (RFC 7250, security mode 1). Everything is loaded and checked
//! before anything binds, and every error names the flag and the file.

use std::path::{Path, PathBuf};

use lwm2m_server::server::DtlsOptions;
use lwm2m_transport::dtls::{Certificate, CertifiedKey, ConfigError, PrivateKey, ServerConfig};

/// The files of the DTLS flags (or their TOML keys), as given.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct DtlsFiles {
    /// `--dtls-certificate`: the server's certificate chain (PEM, leaf first; or one DER
    /// certificate).
    pub(crate) certificate: Option<PathBuf>,
    /// `--dtls-private-key`: the certificate's key (PEM or DER).
    pub(crate) private_key: Option<PathBuf>,
    /// `--dtls-client-ca`: trust anchors for client certificates (each file PEM, one or more
    /// certificates; or one DER certificate).
    pub(crate) client_ca: Vec<PathBuf>,
    /// `--dtls-raw-public-key`: the server's own key for raw public keys (PEM or DER).
    pub(crate) raw_public_key: Option<PathBuf>,
}

/// Why the DTLS credentials cannot be used; each names the flag and the file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DtlsSetupError {
    #[error(
        "--dtls-certificate {} needs --dtls-private-key: the file with the certificate's \
         private key",
        .0.display()
    )]
    CertificateWithoutKey(PathBuf),
    #[error(
        "--dtls-private-key {} needs --dtls-certificate: the certificate chain of that key",
        .0.display()
    )]
    KeyWithoutCertificate(PathBuf),
    #[error(
        "--dtls-certificate {} needs at least one --dtls-client-ca: the CA certificates that \
         client certificates must chain to",
        .0.display()
    )]
    NoClientCa(PathBuf),
    #[error(
        "--dtls-client-ca {} is only used with --dtls-certificate (and --dtls-private-key): \
         give the server's certificate too",
        .0.display()
    )]
    ClientCaWithoutCertificate(PathBuf),
    #[error(
        "--dtls-raw-public-key {}: this lwm2m-server is built without raw public keys; build \
         it with `--features dtls-rpk` (OpenSSL >= 3.2, vendored)",
        .0.display()
    )]
    RawPublicKeyUnsupported(PathBuf),
    #[error(
        "--dtls-raw-public-key {} is not the key of --dtls-certificate {}: with both, the \
         server has one key for both modes; give --dtls-raw-public-key the --dtls-private-key \
         file {}",
        .raw_key.display(),
        .certificate.display(),
        .key.display()
    )]
    RawKeyIsNotTheCertificateKey {
        raw_key: PathBuf,
        certificate: PathBuf,
        key: PathBuf,
    },
    #[error("{flag} {}: cannot read it: {source}", .path.display())]
    Read {
        flag: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{flag} {}: not a usable {what}: {source}", .path.display())]
    Invalid {
        flag: &'static str,
        path: PathBuf,
        what: &'static str,
        source: ConfigError,
    },
    #[error(
        "--dtls-private-key {} does not fit --dtls-certificate {}: {source}",
        .key.display(),
        .certificate.display()
    )]
    Mismatch {
        certificate: PathBuf,
        key: PathBuf,
        source: ConfigError,
    },
}

/// The loaded credentials, ready for [`DtlsOptions`].
#[derive(Debug, Default)]
pub(crate) struct DtlsCredentials {
    /// The server's certificate chain and key, and the client trust anchors.
    pub(crate) certificate: Option<(CertifiedKey, Vec<Certificate>)>,
    /// The server's raw key.
    pub(crate) raw_public_key: Option<PrivateKey>,
}

impl DtlsFiles {
    /// Whether any own credential is configured (which starts the DTLS endpoint by itself).
    pub(crate) fn any(&self) -> bool {
        self.certificate.is_some()
            || self.private_key.is_some()
            || !self.client_ca.is_empty()
            || self.raw_public_key.is_some()
    }

    /// Reads and checks every file: flags that need each other, PEM/DER syntax, the key
    /// matching the certificate, a raw key this build can use, and (with both) the raw key
    /// being the certificate's key.
    pub(crate) fn load(&self) -> Result<DtlsCredentials, DtlsSetupError> {
        let certificate = match (&self.certificate, &self.private_key) {
            (None, None) => {
                if let Some(ca) = self.client_ca.first() {
                    return Err(DtlsSetupError::ClientCaWithoutCertificate(ca.clone()));
                }
                None
            }
            (Some(cert), None) => return Err(DtlsSetupError::CertificateWithoutKey(cert.clone())),
            (None, Some(key)) => return Err(DtlsSetupError::KeyWithoutCertificate(key.clone())),
            (Some(cert), Some(key)) => Some(load_certificate(cert, key, &self.client_ca)?),
        };
        let raw_public_key = match &self.raw_public_key {
            None => None,
            Some(path) if !cfg!(feature = "dtls-rpk") => {
                return Err(DtlsSetupError::RawPublicKeyUnsupported(path.clone()))
            }
            Some(path) => Some(load_raw_key(path)?),
        };
        if let (Some((_, _, own)), Some(raw), Some(raw_path), Some(cert), Some(key)) = (
            &certificate,
            &raw_public_key,
            &self.raw_public_key,
            &self.certificate,
            &self.private_key,
        ) {
            // OpenSSL holds one P-256 key per context: the certificate's serves raw keys too.
            if own.public_key_der().ok() != raw.public_key_der().ok() {
                return Err(DtlsSetupError::RawKeyIsNotTheCertificateKey {
                    raw_key: raw_path.clone(),
                    certificate: cert.clone(),
                    key: key.clone(),
                });
            }
        }
        Ok(DtlsCredentials {
            certificate: certificate.map(|(own, anchors, _)| (own, anchors)),
            raw_public_key,
        })
    }
}

impl DtlsCredentials {
    /// The modes the endpoint serves, for the log: PSK always.
    pub(crate) fn modes(&self) -> String {
        let mut modes = vec!["PSK"];
        if self.certificate.is_some() {
            modes.push("X.509");
        }
        if self.raw_public_key.is_some() {
            modes.push("RPK");
        }
        modes.join(", ")
    }

    /// The server's raw public key (`SubjectPublicKeyInfo` DER) in hex: what clients need as
    /// `/0/x/4` in security mode 1.
    pub(crate) fn raw_public_key_hex(&self) -> Option<String> {
        let key = self.raw_public_key.as_ref()?;
        // `load` built a configuration with this key, so its public half is known to exist.
        key.public_key_der().ok().map(hex::encode)
    }

    /// The listener's options on `addr`.
    pub(crate) fn options(self, addr: std::net::SocketAddr) -> DtlsOptions {
        let mut options = DtlsOptions::psk(addr);
        if let Some((own, anchors)) = self.certificate {
            options = options.with_certificate(own, anchors);
        }
        if let Some(own) = self.raw_public_key {
            options = options.with_raw_public_key(own);
        }
        options
    }
}

/// A PSK store that knows no identity: the checks below build configurations only to validate
/// the own credentials, and a server configuration always carries the PSK store.
fn no_psk(_: &[u8]) -> Option<Vec<u8>> {
    None
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, DtlsSetupError> {
    std::fs::read(path).map_err(|source| DtlsSetupError::Read {
        flag,
        path: path.to_owned(),
        source,
    })
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Every certificate of a PEM file, or the one certificate of a DER file.
fn certificates(flag: &'static str, path: &Path) -> Result<Vec<Certificate>, DtlsSetupError> {
    let bytes = read(flag, path)?;
    let loaded = if is_pem(&bytes) {
        Certificate::chain_from_pem(&bytes)
    } else {
        Certificate::from_der(&bytes).map(|c| vec![c])
    };
    loaded.map_err(|source| DtlsSetupError::Invalid {
        flag,
        path: path.to_owned(),
        what: "certificate (PEM or DER)",
        source,
    })
}

/// A private key from a PEM or DER file.
fn private_key(flag: &'static str, path: &Path) -> Result<PrivateKey, DtlsSetupError> {
    let bytes = read(flag, path)?;
    let loaded = if is_pem(&bytes) {
        PrivateKey::from_pem(&bytes)
    } else {
        PrivateKey::from_der(&bytes)
    };
    loaded.map_err(|source| DtlsSetupError::Invalid {
        flag,
        path: path.to_owned(),
        what: "private key (PEM or DER: PKCS#8 or EC)",
        source,
    })
}

fn load_certificate(
    cert: &Path,
    key: &Path,
    client_ca: &[PathBuf],
) -> Result<(CertifiedKey, Vec<Certificate>, PrivateKey), DtlsSetupError> {
    let chain = certificates("--dtls-certificate", cert)?;
    let private = private_key("--dtls-private-key", key)?;
    if client_ca.is_empty() {
        return Err(DtlsSetupError::NoClientCa(cert.to_owned()));
    }
    let mut anchors = Vec::new();
    for path in client_ca {
        anchors.extend(certificates("--dtls-client-ca", path)?);
    }
    let mismatch = |source| DtlsSetupError::Mismatch {
        certificate: cert.to_owned(),
        key: key.to_owned(),
        source,
    };
    let own = CertifiedKey::new(chain, private.clone()).map_err(mismatch)?;
    // Building a configuration is where the backend checks that the key is the leaf's.
    ServerConfig::builder()
        .psk_store(no_psk)
        .certificate(own.clone())
        .client_trust_anchors(anchors.clone())
        .build()
        .map_err(mismatch)?;
    Ok((own, anchors, private))
}

fn load_raw_key(path: &Path) -> Result<PrivateKey, DtlsSetupError> {
    const FLAG: &str = "--dtls-raw-public-key";
    let own = private_key(FLAG, path)?;
    let invalid = |source| DtlsSetupError::Invalid {
        flag: FLAG,
        path: path.to_owned(),
        what: "raw key (an EC P-256 private key)",
        source,
    };
    own.public_key_der().map_err(invalid)?;
    ServerConfig::builder()
        .psk_store(no_psk)
        .raw_public_keys(own.clone(), |_: &[u8]| true)
        .build()
        .map_err(invalid)?;
    Ok(own)
}

#[cfg(test)]
mod tests {
    use super::{DtlsFiles, DtlsSetupError};
    use std::path::PathBuf;

    #[test]
    fn flags_that_need_each_other_are_refused_before_any_file_is_read() {
        let files = DtlsFiles {
            certificate: Some(PathBuf::from("server.pem")),
            ..DtlsFiles::default()
        };
        assert!(files.any());
        let error = files.load().unwrap_err();
        assert!(matches!(error, DtlsSetupError::CertificateWithoutKey(_)));
        assert!(error.to_string().contains("server.pem"), "{error}");
        let files = DtlsFiles {
            private_key: Some(PathBuf::from("server.key")),
            ..DtlsFiles::default()
        };
        assert!(matches!(
            files.load().unwrap_err(),
            DtlsSetupError::KeyWithoutCertificate(_)
        ));
        let files = DtlsFiles {
            client_ca: vec![PathBuf::from("ca.pem")],
            ..DtlsFiles::default()
        };
        assert!(matches!(
            files.load().unwrap_err(),
            DtlsSetupError::ClientCaWithoutCertificate(_)
        ));
    }

    #[test]
    fn no_files_means_psk_only() {
        let files = DtlsFiles::default();
        assert!(!files.any());
        let loaded = files.load().unwrap();
        assert_eq!(loaded.modes(), "PSK");
        assert_eq!(loaded.raw_public_key_hex(), None);
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let files = DtlsFiles {
            certificate: Some(missing.clone()),
            private_key: Some(missing.clone()),
            client_ca: vec![missing.clone()],
            raw_public_key: None,
        };
        let error = files.load().unwrap_err();
        assert!(matches!(error, DtlsSetupError::Read { .. }), "{error}");
        let text = error.to_string();
        assert!(text.contains("--dtls-certificate"), "{text}");
        assert!(text.contains(&missing.display().to_string()), "{text}");
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
        let files = DtlsFiles {
            certificate: Some(garbage.clone()),
            private_key: Some(garbage.clone()),
            client_ca: vec![garbage],
            raw_public_key: None,
        };
        let error = files.load().unwrap_err();
        assert!(
            matches!(
                error,
                DtlsSetupError::Invalid {
                    flag: "--dtls-certificate",
                    ..
                }
            ),
            "{error}"
        );
    }
}
