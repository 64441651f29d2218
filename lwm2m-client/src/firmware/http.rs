//! HTTP(S) firmware pull (feature `http`; `https` adds TLS): a blocking GET with ureq whose
//! body is streamed, chunk by chunk, into a callback. The tokio runtime runs it on a blocking
//! thread for every [`ClientEvent::FirmwareDownloadRequested`](crate::ClientEvent) and feeds
//! the chunks to [`Client::firmware_data`](crate::Client::firmware_data).

use std::io::Read;
use std::time::Duration;

use super::FirmwareError;

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
    mut chunk: impl FnMut(&[u8]) -> Result<(), FirmwareError>,
) -> Result<(), FirmwareError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(TIMEOUT))
        .timeout_recv_body(Some(TIMEOUT))
        .timeout_recv_response(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
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
