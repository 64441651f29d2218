//! HTTP(S) firmware pull (feature `http`; `https` adds TLS): a blocking GET with ureq whose
//! body is streamed, chunk by chunk, into a callback. The tokio runtime runs it on a blocking
//! thread for every [`ClientEvent::FirmwareDownloadRequested`](crate::ClientEvent) and feeds
//! the chunks to [`Client::firmware_data`](crate::Client::firmware_data).
//!
//! `https://` servers are checked against the Mozilla roots by default; an [`HttpsTrust`]
//! adds the operator's own certificate authorities (a fleet's firmware server often has a
//! private CA), or trusts only those. Give it to [`download_with`], or to the runtime with
//! [`ClientTask::https_trust`](crate::runtime::ClientTask::https_trust).

use std::io::Read;
#[cfg(feature = "https")]
use std::sync::Arc;
use std::time::Duration;

use super::FirmwareError;

/// The certificate authorities an `https://` firmware download trusts. The default trusts the
/// Mozilla roots (webpki), as [`download`] does; [`with_ca_pem`](Self::with_ca_pem) and
/// [`with_ca_der`](Self::with_ca_der) add the operator's CA certificates (feature `https`),
/// and [`without_public_roots`](Self::without_public_roots) keeps only those.
///
/// Cloning is cheap (the certificates are shared), so one value can serve a whole fleet.
/// Without the `https` feature it holds nothing: `http://` needs no trust anchors.
///
/// ```
/// # #[cfg(feature = "https")] {
/// use lwm2m_client::firmware::http::{HttpsTrust, TrustError};
/// let trust = HttpsTrust::default();
/// assert_eq!(trust.ca_count(), 0);
/// assert!(trust.public_roots());
/// assert!(matches!(
///     trust.with_ca_pem(b"no PEM here"),
///     Err(TrustError::NoCertificate)
/// ));
/// # }
/// ```
#[derive(Clone)]
pub struct HttpsTrust {
    /// The operator's CA certificates, DER.
    #[cfg(feature = "https")]
    anchors: Arc<Vec<ureq::tls::Certificate<'static>>>,
    /// Whether the Mozilla roots are trusted as well.
    #[cfg(feature = "https")]
    public_roots: bool,
}

impl std::fmt::Debug for HttpsTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        #[cfg(feature = "https")]
        {
            f.debug_struct("HttpsTrust")
                .field("cas", &self.anchors.len())
                .field("public_roots", &self.public_roots)
                .finish()
        }
        #[cfg(not(feature = "https"))]
        {
            f.write_str("HttpsTrust")
        }
    }
}

impl Default for HttpsTrust {
    /// The Mozilla roots, no operator CA.
    fn default() -> Self {
        HttpsTrust {
            #[cfg(feature = "https")]
            anchors: Arc::default(),
            #[cfg(feature = "https")]
            public_roots: true,
        }
    }
}

/// A CA certificate given to [`HttpsTrust`] is not usable.
#[cfg(feature = "https")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The PEM text does not parse.
    #[error("the CA PEM does not parse: {0}")]
    Pem(String),
    /// The PEM text holds no `CERTIFICATE` block.
    #[error("the CA PEM holds no CERTIFICATE block")]
    NoCertificate,
    /// A certificate is not an X.509 certificate usable as a trust anchor.
    #[error("CA certificate {index} (0-based, in the order given) is not usable: {reason}")]
    Certificate {
        /// Its position among the certificates of this PEM text (0 for DER).
        index: usize,
        /// What the X.509 parser said.
        reason: String,
    },
}

#[cfg(feature = "https")]
impl HttpsTrust {
    /// Trusts the CA certificates of a PEM text too (every `CERTIFICATE` block; other blocks,
    /// such as a key, are skipped). Fails when there is none, or one is not an X.509
    /// certificate.
    pub fn with_ca_pem(self, pem: &[u8]) -> Result<Self, TrustError> {
        let mut found = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            // Other blocks (a key next to the certificate) are skipped.
            if let ureq::tls::PemItem::Certificate(certificate) =
                item.map_err(|e| TrustError::Pem(e.to_string()))?
            {
                found.push(certificate);
            }
        }
        if found.is_empty() {
            return Err(TrustError::NoCertificate);
        }
        found
            .into_iter()
            .enumerate()
            .try_fold(self, |trust, (index, certificate)| {
                trust.with_certificate(index, certificate)
            })
    }

    /// Trusts one DER CA certificate too. Fails when it is not an X.509 certificate.
    pub fn with_ca_der(self, der: impl Into<Vec<u8>>) -> Result<Self, TrustError> {
        let der: Vec<u8> = der.into();
        self.with_certificate(0, ureq::tls::Certificate::from_der(&der).to_owned())
    }

    /// Trusts only the CAs given with [`with_ca_pem`](Self::with_ca_pem) /
    /// [`with_ca_der`](Self::with_ca_der), not the Mozilla roots: a server certificate from a
    /// public CA then fails too (and with no CA given, every `https://` download fails).
    #[must_use]
    pub fn without_public_roots(mut self) -> Self {
        self.public_roots = false;
        self
    }

    /// How many operator CA certificates are trusted.
    pub fn ca_count(&self) -> usize {
        self.anchors.len()
    }

    /// Whether the Mozilla roots are trusted.
    pub fn public_roots(&self) -> bool {
        self.public_roots
    }

    fn with_certificate(
        mut self,
        index: usize,
        certificate: ureq::tls::Certificate<'static>,
    ) -> Result<Self, TrustError> {
        // rustls would drop an unparsable anchor silently at download time; check it now.
        rustls::RootCertStore::empty()
            .add(rustls::pki_types::CertificateDer::from(certificate.der()))
            .map_err(|e| TrustError::Certificate {
                index,
                reason: e.to_string(),
            })?;
        Arc::make_mut(&mut self.anchors).push(certificate);
        Ok(self)
    }

    /// What ureq checks the server against.
    fn root_certs(&self) -> ureq::tls::RootCerts {
        if self.anchors.is_empty() && self.public_roots {
            return ureq::tls::RootCerts::WebPki;
        }
        let public: &'static [rustls::pki_types::CertificateDer<'static>] = if self.public_roots {
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
        } else {
            &[]
        };
        public
            .iter()
            .map(|c| ureq::tls::Certificate::from_der(c.as_ref()))
            .chain(self.anchors.iter().cloned())
            .into()
    }
}

/// Bytes read from the body at a time.
const CHUNK: usize = 16 * 1024;

/// How long the connection and each read may take before the download counts as lost.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Downloads `uri` and hands the body to `chunk` in order (`chunk` returning an error stops
/// the download with that error). A refused or broken connection, a truncated body or a
/// timeout is [`FirmwareError::ConnectionLost`]; 404 / 410 is [`FirmwareError::InvalidUri`];
/// another non-2xx status is a lost connection as well. Redirects are followed.
///
/// ```no_run
/// use lwm2m_client::firmware::http::download;
/// let mut image = Vec::new();
/// download("http://127.0.0.1:8080/fw.bin", |data| {
///     image.extend_from_slice(data);
///     Ok(())
/// })?;
/// # Ok::<(), lwm2m_client::firmware::FirmwareError>(())
/// ```
pub fn download(
    uri: &str,
    chunk: impl FnMut(&[u8]) -> Result<(), FirmwareError>,
) -> Result<(), FirmwareError> {
    download_with(&HttpsTrust::default(), uri, chunk)
}

/// [`download`], checking an `https://` server's certificate against `trust` (an `http://`
/// download ignores it). A certificate that no trusted authority issued, or that names another
/// host, fails the TLS handshake: [`FirmwareError::ConnectionLost`], Update Result 4.
///
/// ```no_run
/// # #[cfg(feature = "https")] {
/// use lwm2m_client::firmware::http::{download_with, HttpsTrust};
/// let ca = std::fs::read("operator-ca.pem")?;
/// let trust = HttpsTrust::default().with_ca_pem(&ca)?.without_public_roots();
/// let mut image = Vec::new();
/// download_with(&trust, "https://fw.example.net/fw.bin", |data| {
///     image.extend_from_slice(data);
///     Ok(())
/// })?;
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn download_with(
    trust: &HttpsTrust,
    uri: &str,
    mut chunk: impl FnMut(&[u8]) -> Result<(), FirmwareError>,
) -> Result<(), FirmwareError> {
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(TIMEOUT))
        .timeout_recv_body(Some(TIMEOUT))
        .timeout_recv_response(Some(TIMEOUT))
        .http_status_as_error(false);
    #[cfg(feature = "https")]
    let config = config.tls_config(
        ureq::tls::TlsConfig::builder()
            .root_certs(trust.root_certs())
            .build(),
    );
    #[cfg(not(feature = "https"))]
    let _ = trust;
    let agent: ureq::Agent = config.build().into();
    let response = agent.get(uri).call().map_err(|e| error(uri, &e))?;
    let status = response.status();
    if !status.is_success() {
        let text = format!("{uri}: HTTP {status}");
        return Err(if status.as_u16() == 404 || status.as_u16() == 410 {
            FirmwareError::InvalidUri(text)
        } else {
            FirmwareError::ConnectionLost(text)
        });
    }
    let mut body = response.into_body();
    let mut reader = body.as_reader();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| FirmwareError::ConnectionLost(format!("{uri}: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        chunk(buf.get(..n).unwrap_or_default())?;
    }
}

fn error(uri: &str, e: &ureq::Error) -> FirmwareError {
    let text = format!("{uri}: {e}");
    match e {
        ureq::Error::BadUri(_) | ureq::Error::HostNotFound => FirmwareError::InvalidUri(text),
        ureq::Error::RequireHttpsOnly(_) => FirmwareError::UnsupportedProtocol(text),
        _ => FirmwareError::ConnectionLost(text),
    }
}
