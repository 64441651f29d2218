//! HTTP(S) firmware pulls (feature `http`): each runs on a blocking thread and feeds its chunks
//! to the client task through the mailbox, waiting for each to be written (so the image never
//! piles up in memory ahead of the sink).

use std::sync::Arc;

use tokio::sync::oneshot;

use super::mailbox::{Command, Mailbox};
use crate::firmware::http::HttpsTrust;
use crate::firmware::FirmwareError;

/// Starts the download `download` of `uri` for the client behind `mailbox`, trusting `trust`.
pub(super) fn spawn_http_download(
    mailbox: Arc<Mailbox>,
    trust: HttpsTrust,
    download: u32,
    uri: String,
) {
    tokio::task::spawn_blocking(move || {
        let stopped = || FirmwareError::ConnectionLost("the client task stopped".into());
        let outcome = crate::firmware::http::download_with(&trust, &uri, |data| {
            let (tx, rx) = oneshot::channel();
            let data = data.to_vec();
            mailbox
                .post(Command::With(Box::new(move |client, now| {
                    let _ = tx.send(client.firmware_data(now, download, &data));
                })))
                .map_err(|_| stopped())?;
            rx.blocking_recv().map_err(|_| stopped())?
        });
        if let Err(error) = &outcome {
            tracing::warn!(%uri, %error, "firmware download failed");
        }
        let _ = mailbox.post(Command::With(Box::new(move |client, now| {
            client.firmware_download_finished(now, download, outcome);
        })));
    });
}
