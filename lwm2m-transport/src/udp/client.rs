//! The client role of the async API: [`Handle::request`], [`Handle::observe`] with its
//! [`Observation`] stream, and [`Handle::ping`].

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use tokio::sync::{mpsc, oneshot};

use super::command::{Command, ObserveStart};
use super::error::Error;
use super::routes::Routes;
use crate::error::{EndpointError, ExchangeError};
use crate::event::RequestId;
use crate::message::{IncomingResponse, Request};

/// What the handles of one endpoint share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) drivers: Vec<mpsc::UnboundedSender<Command>>,
    /// Several-socket mode only.
    pub(crate) routes: Option<Arc<Routes>>,
    pub(crate) local_addr: SocketAddr,
    pub(crate) feed_capacity: usize,
    next_key: AtomicU64,
}

impl Shared {
    pub(crate) fn new(
        drivers: Vec<mpsc::UnboundedSender<Command>>,
        routes: Option<Arc<Routes>>,
        local_addr: SocketAddr,
        feed_capacity: usize,
    ) -> Shared {
        Shared {
            drivers,
            routes,
            local_addr,
            feed_capacity,
            next_key: AtomicU64::new(1),
        }
    }
}

/// A cloneable handle to send requests through a [`UdpEndpoint`](super::UdpEndpoint), from any
/// task. Many requests may be in flight at once (towards one peer, as many as NSTART allows;
/// the rest wait in the endpoint's queue).
///
/// Dropping a handle does not stop the endpoint; [`UdpEndpoint::close`](super::UdpEndpoint::close)
/// does, after which every call returns [`Error::Closed`].
#[derive(Debug, Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// The local address of the endpoint's socket(s).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Sends `request` to `peer` and waits for the whole response (Block2 bodies reassembled,
    /// Block1 uploads sent block by block).
    ///
    /// Any response code is a response: a 4.04 is `Ok`. `Err` means no response
    /// ([`Error::Exchange`]: timeout, RST, ...), a refusal of the endpoint ([`Error::Endpoint`]:
    /// a table is full), or a closed endpoint. Dropping the future abandons the exchange.
    pub async fn request(
        &self,
        peer: SocketAddr,
        request: Request,
    ) -> Result<IncomingResponse, Error> {
        let (driver, key) = self.route(peer)?;
        let (reply, answer) = oneshot::channel();
        driver
            .send(Command::Request {
                peer,
                request,
                key,
                reply,
            })
            .map_err(|_| Error::Closed)?;
        Outcome::new(driver, key, answer).await
    }

    /// Registers an observation (sends `request` with Observe = 0, whatever its Observe option
    /// was) and waits for the first response.
    ///
    /// The returned [`Observation`] holds that response and streams the notifications that
    /// follow. If the notifier answered without Observe (it does not support observation, or
    /// the response is an error), [`Observation::is_established`] is false and the stream is
    /// empty.
    pub async fn observe(&self, peer: SocketAddr, request: Request) -> Result<Observation, Error> {
        let request = with_observe(request, 0)?;
        let (driver, key) = self.route(peer)?;
        let feed = Arc::new(Feed::new(self.shared.feed_capacity));
        let (reply, answer) = oneshot::channel();
        driver
            .send(Command::Observe {
                peer,
                request,
                key,
                reply,
                feed: Arc::clone(&feed),
            })
            .map_err(|_| Error::Closed)?;
        let start: ObserveStart = Outcome::new(driver, key, answer).await?;
        Ok(Observation {
            id: start.id,
            response: start.response,
            established: start.established,
            feed,
            driver: driver.clone(),
            active: start.established,
        })
    }

    /// Sends a CoAP ping (an empty Confirmable message) and waits for the peer's RST or ACK.
    pub async fn ping(&self, peer: SocketAddr) -> Result<(), Error> {
        let (driver, key) = self.route(peer)?;
        let (reply, answer) = oneshot::channel();
        driver
            .send(Command::Ping { peer, key, reply })
            .map_err(|_| Error::Closed)?;
        Outcome::new(driver, key, answer).await
    }

    /// The driver that owns `peer`, and a fresh key for a cancellable command.
    fn route(&self, peer: SocketAddr) -> Result<(&mpsc::UnboundedSender<Command>, u64), Error> {
        let key = self.shared.next_key.fetch_add(1, Ordering::Relaxed);
        let index = self
            .shared
            .routes
            .as_ref()
            .map_or(0, |routes| routes.owner(peer, routes.proposal(peer)));
        let driver = self.shared.drivers.get(index).ok_or(Error::Closed)?;
        Ok((driver, key))
    }
}

/// `request` with its Observe option set to `value` (0 registers, 1 deregisters).
fn with_observe(request: Request, value: u32) -> Result<Request, Error> {
    if request.observe() == Some(value) {
        return Ok(request);
    }
    let Ok(message) = request.message() else {
        // Cannot happen: the request's head was encoded by `Request` itself.
        return Ok(request);
    };
    let mut builder = message.to_builder();
    builder.remove_option(lwm2m_codec::coap::option::OBSERVE);
    builder.observe(value);
    let confirmable = request.is_confirmable();
    let payload = request.payload().clone();
    Ok(Request::from_builder(&builder)
        .map_err(|e| Error::Endpoint(EndpointError::Build(e)))?
        .with_payload(payload)
        .with_confirmable(confirmable))
}

/// Awaits a driver's answer; if dropped first, tells the driver to abandon the exchange.
struct Outcome<'a, T> {
    driver: &'a mpsc::UnboundedSender<Command>,
    key: u64,
    answer: oneshot::Receiver<Result<T, Error>>,
    done: bool,
}

impl<'a, T> Outcome<'a, T> {
    fn new(
        driver: &'a mpsc::UnboundedSender<Command>,
        key: u64,
        answer: oneshot::Receiver<Result<T, Error>>,
    ) -> Outcome<'a, T> {
        Outcome {
            driver,
            key,
            answer,
            done: false,
        }
    }
}

impl<T> Future for Outcome<'_, T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match Pin::new(&mut this.answer).poll(cx) {
            Poll::Ready(result) => {
                this.done = true;
                Poll::Ready(result.unwrap_or(Err(Error::Closed)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for Outcome<'_, T> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.driver.send(Command::Cancel { key: self.key });
        }
    }
}

/// One item of an [`Observation`] stream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Notification {
    /// A fresh notification (stale, re-ordered ones are dropped, RFC 7641 §3.4).
    Value(IncomingResponse),
    /// The notifier ended the observation with this final response (an error code, or a
    /// response without Observe). It is the last item.
    Ended(IncomingResponse),
    /// The observation failed (e.g. the rest of a block-wise notification could not be
    /// fetched). It is the last item.
    Failed(ExchangeError),
}

/// An observation (observer side): the registration's response, then a stream of
/// [`Notification`]s.
///
/// Read it with [`next`](Self::next) or as a [`Stream`]. Dropping it cancels the observation
/// reactively (a GET with Observe = 1, RFC 7641 §3.6); [`cancel`](Self::cancel) does the same
/// and returns the notifier's answer.
///
/// A consumer that falls behind loses the oldest unread notifications (the stream keeps the
/// newest `Builder::notification_buffer` ones): an observer wants the current state, not a
/// backlog.
#[derive(Debug)]
pub struct Observation {
    id: RequestId,
    response: IncomingResponse,
    established: bool,
    feed: Arc<Feed>,
    driver: mpsc::UnboundedSender<Command>,
    /// The observation still exists in the endpoint (drop must cancel it).
    active: bool,
}

impl Observation {
    /// The id the endpoint gave the observe request.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// The response to the registration (the first state of the resource, if established).
    pub fn response(&self) -> &IncomingResponse {
        &self.response
    }

    /// Whether the notifier accepted the observation (its response carried Observe).
    pub fn is_established(&self) -> bool {
        self.established
    }

    /// The next notification, or `None` when the observation is over.
    pub async fn next(&mut self) -> Option<Notification> {
        poll_fn(|cx| self.feed.poll_next(cx)).await
    }

    /// Notifications the stream dropped because the consumer was too slow.
    pub fn dropped(&self) -> u64 {
        self.feed.dropped()
    }

    /// Cancels the observation reactively and returns the notifier's answer to the
    /// deregistration (usually its current state, without Observe).
    ///
    /// An observation that was never established, or has ended, has nothing to cancel:
    /// `Err(Endpoint(UnknownRequest))`.
    pub async fn cancel(mut self) -> Result<IncomingResponse, Error> {
        if !self.active || self.feed.is_closed() {
            return Err(Error::Endpoint(EndpointError::UnknownRequest(self.id)));
        }
        self.active = false;
        let (reply, answer) = oneshot::channel();
        self.driver
            .send(Command::CancelObservation {
                id: self.id,
                reply: Some(reply),
            })
            .map_err(|_| Error::Closed)?;
        answer.await.unwrap_or(Err(Error::Closed))
    }
}

impl Stream for Observation {
    type Item = Notification;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Notification>> {
        self.feed.poll_next(cx)
    }
}

impl Drop for Observation {
    fn drop(&mut self) {
        if self.active && !self.feed.is_closed() {
            let _ = self.driver.send(Command::CancelObservation {
                id: self.id,
                reply: None,
            });
        }
    }
}

/// The notifications of one observation, between the driver and the [`Observation`]: a queue
/// that keeps the newest `capacity` items.
#[derive(Debug)]
pub(crate) struct Feed {
    inner: Mutex<FeedInner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct FeedInner {
    items: VecDeque<Notification>,
    closed: bool,
    dropped: u64,
    waker: Option<Waker>,
}

impl Feed {
    pub(crate) fn new(capacity: usize) -> Feed {
        Feed {
            inner: Mutex::new(FeedInner::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FeedInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a notification (dropping the oldest unread one when full); a final one closes.
    pub(crate) fn push(&self, item: Notification) {
        let waker = {
            let mut inner = self.lock();
            if inner.closed {
                return;
            }
            if inner.items.len() >= self.capacity {
                inner.items.pop_front();
                inner.dropped += 1;
            }
            inner.closed = !matches!(item, Notification::Value(_));
            inner.items.push_back(item);
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Ends the stream after the queued items.
    pub(crate) fn close(&self) {
        let waker = {
            let mut inner = self.lock();
            inner.closed = true;
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Notification>> {
        let mut inner = self.lock();
        if let Some(item) = inner.items.pop_front() {
            return Poll::Ready(Some(item));
        }
        if inner.closed {
            return Poll::Ready(None);
        }
        match &mut inner.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::IncomingResponse;
    use bytes::Bytes;

    fn response(byte: u8) -> IncomingResponse {
        IncomingResponse {
            head: Bytes::from_static(&[0x60, 0x45, 0, 1]),
            body: Bytes::from(vec![byte]),
        }
    }

    #[tokio::test]
    async fn a_full_feed_keeps_the_newest_and_ends_after_the_final_item() {
        let feed = Feed::new(2);
        for byte in 0..4 {
            feed.push(Notification::Value(response(byte)));
        }
        feed.push(Notification::Ended(response(9)));
        feed.push(Notification::Value(response(10)));
        assert_eq!(feed.dropped(), 3);
        let mut seen = Vec::new();
        while let Some(item) = poll_fn(|cx| feed.poll_next(cx)).await {
            seen.push(item);
        }
        assert_eq!(
            seen,
            [
                Notification::Value(response(3)),
                Notification::Ended(response(9))
            ]
        );
        assert!(feed.is_closed());
    }

    #[test]
    fn with_observe_sets_the_option_and_keeps_the_rest() {
        let request = Request::build(lwm2m_codec::coap::Code::GET, |b| {
            b.uri_path("/3/0").observe(1).accept(11542);
        })
        .unwrap()
        .with_confirmable(false);
        let observe = with_observe(request, 0).unwrap();
        assert_eq!(observe.observe(), Some(0));
        assert!(!observe.is_confirmable());
        let message = observe.message().unwrap();
        assert!(message.uri_path().unwrap().eq(["3", "0"]));
        assert_eq!(message.accept().unwrap(), Some(11542));
    }
}
