//! [`EventStream`]: every [`ServerEvent`] as one `Stream`.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::{broadcast, watch};

use super::ServerEvent;

/// All the server's events (registrations, wake-ups, notifications, queued requests) as a
/// [`Stream`], from [`ServerHandle::event_stream`](super::ServerHandle::event_stream).
///
/// A subscriber that falls more than the event capacity behind skips the oldest events it
/// missed (they are counted in [`lagged`](Self::lagged)) rather than stalling the server. The
/// stream ends when the server stops.
pub struct EventStream {
    inner: Pin<Box<dyn Stream<Item = (ServerEvent, u64)> + Send>>,
    lagged: u64,
}

impl core::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventStream")
            .field("lagged", &self.lagged)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    pub(super) fn new(
        receiver: broadcast::Receiver<ServerEvent>,
        stopped: watch::Receiver<bool>,
    ) -> EventStream {
        let state = (receiver, stopped);
        let inner = futures_util::stream::unfold(state, |(mut receiver, mut stopped)| async move {
            let mut skipped = 0;
            loop {
                let received = tokio::select! {
                    received = receiver.recv() => received,
                    // The server stopped (or is gone): end, so that e.g. an HTTP server's
                    // graceful shutdown is not held up by an open event stream.
                    _ = stopped.wait_for(|stopped| *stopped) => return None,
                };
                match received {
                    Ok(event) => return Some(((event, skipped), (receiver, stopped))),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "an event subscriber fell behind");
                        skipped += n;
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        EventStream {
            inner: Box::pin(inner),
            lagged: 0,
        }
    }

    /// The next event; `None` once the server has stopped.
    pub async fn next(&mut self) -> Option<ServerEvent> {
        futures_util::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// How many events this subscriber missed because it was too slow.
    pub fn lagged(&self) -> u64 {
        self.lagged
    }
}

impl Stream for EventStream {
    type Item = ServerEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ServerEvent>> {
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some((event, skipped))) => {
                self.lagged += skipped;
                Poll::Ready(Some(event))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
