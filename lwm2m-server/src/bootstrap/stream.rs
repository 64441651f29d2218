//! [`BootstrapEvents`]: a subscription to a bootstrap server's events, as a [`Stream`].

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use super::event::BootstrapEvent;

/// The subscribers of a bootstrap server. A subscriber that falls `capacity` events behind
/// misses the newer ones (counted in [`BootstrapEvents::missed`]); the server never waits.
#[derive(Debug)]
pub(super) struct Subscribers {
    senders: Mutex<Vec<Subscriber>>,
    capacity: usize,
}

#[derive(Debug)]
struct Subscriber {
    sender: mpsc::Sender<BootstrapEvent>,
    missed: Arc<AtomicU64>,
}

impl Subscribers {
    pub(super) fn new(capacity: usize) -> Self {
        Subscribers {
            senders: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
        }
    }

    pub(super) fn subscribe(&self) -> BootstrapEvents {
        let (sender, receiver) = mpsc::channel(self.capacity);
        let missed = Arc::new(AtomicU64::new(0));
        self.senders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Subscriber {
                sender,
                missed: Arc::clone(&missed),
            });
        BootstrapEvents { receiver, missed }
    }

    pub(super) fn publish(&self, event: &BootstrapEvent) {
        let mut senders = self.senders.lock().unwrap_or_else(PoisonError::into_inner);
        senders.retain(|s| match s.sender.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                s.missed.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }

    /// Ends every subscription (their streams end once drained).
    pub(super) fn close(&self) {
        self.senders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// The events of a bootstrap server from the moment of subscription, as a [`Stream`] (or with
/// [`next`](Self::next)). It ends when the server stops.
#[derive(Debug)]
pub struct BootstrapEvents {
    receiver: mpsc::Receiver<BootstrapEvent>,
    missed: Arc<AtomicU64>,
}

impl BootstrapEvents {
    /// The next event; `None` once the server has stopped.
    pub async fn next(&mut self) -> Option<BootstrapEvent> {
        self.receiver.recv().await
    }

    /// How many events were dropped because this subscriber fell behind.
    pub fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }
}

impl Stream for BootstrapEvents {
    type Item = BootstrapEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<BootstrapEvent>> {
        self.receiver.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(ep: &str) -> BootstrapEvent {
        BootstrapEvent::Finished {
            endpoint: ep.into(),
        }
    }

    #[tokio::test]
    async fn slow_subscribers_miss_events_and_closed_ones_are_dropped() {
        let subscribers = Subscribers::new(2);
        let mut events = subscribers.subscribe();
        let gone = subscribers.subscribe();
        drop(gone);
        for ep in ["a", "b", "c"] {
            subscribers.publish(&finished(ep));
        }
        assert_eq!(events.missed(), 1);
        assert_eq!(subscribers.senders.lock().unwrap().len(), 1);
        assert_eq!(events.next().await, Some(finished("a")));
        // Through the Stream trait.
        let next = std::future::poll_fn(|cx| Pin::new(&mut events).poll_next(cx)).await;
        assert_eq!(next, Some(finished("b")));
        subscribers.close();
        assert_eq!(events.next().await, None);
    }
}
