//! The server role: incoming requests from their arrival to the response (the notifier side of
//! Observe is in `notifier`).
//!
//! A request (after duplicate detection) either is answered here without the application — 4.02
//! for an unknown critical option, 2.31/4.08/4.13 for Block1 blocks, a later Block2 block from the
//! cache — or is delivered once as [`Event::Request`]. The application's response goes out
//! piggy-backed on the ACK, or separately if the empty ACK already left (after `empty_ack_delay`
//! or [`Endpoint::acknowledge`]). Bodies larger than the block size are split (Block2) and cached.

use core::hash::Hash;

use bytes::Bytes;

use lwm2m_codec::coap::{option, Block, BlockError, Code, Message, OptionError, Token, Type};

use super::reliable::Owner;
use super::{Endpoint, PeerKey, Timer};
use crate::block::{self, Block1In, Block1Outcome, TransferKey, UploadLimits};
use crate::error::EndpointError;
use crate::event::{Event, IncomingId, RelationEnd, RelationId};
use crate::message::{self, split_received, Extras, IncomingRequest, Response};
use crate::time::Instant;
use crate::timers::TimerKey;

/// An incoming request awaiting the application's response.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(super) peer: PeerKey,
    pub(super) mid: u16,
    pub(super) token: Token,
    pub(super) confirmable: bool,
    /// The empty ACK was sent: the response goes out separately.
    pub(super) acked: bool,
    /// Request key, for the Block2 cache.
    pub(super) key: u64,
    /// The final Block1 block of an upload, echoed in the response.
    pub(super) block1: Option<Block>,
    /// The Block2 option of the request (which block, and the size the peer wants).
    pub(super) block2: Option<Block>,
    /// GET with Observe = 0.
    pub(super) registration: bool,
    pub(super) timer: Option<TimerKey>,
}

impl Incoming {
    fn reply_to(&self) -> ReplyTo {
        ReplyTo {
            pk: self.peer,
            mid: self.mid,
            token: self.token,
            confirmable: self.confirmable,
            acked: self.acked,
        }
    }
}

/// Where and how a reply goes.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReplyTo {
    pub(super) pk: PeerKey,
    /// The request's message id (for a piggy-backed reply).
    pub(super) mid: u16,
    pub(super) token: Token,
    /// The request was Confirmable.
    pub(super) confirmable: bool,
    pub(super) acked: bool,
}

/// How a reply was sent.
#[derive(Debug, Clone, Copy)]
pub(super) enum Sent {
    Piggybacked,
    Separate { mid: u16, confirmable: bool },
}

/// The part of a body one message carries, with its Block2 options.
#[derive(Debug, Clone, Copy)]
pub(super) struct BodySlice {
    pub(super) block2: Option<Block>,
    pub(super) size2: Option<u32>,
    pub(super) etag: Option<[u8; 8]>,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// The response code for a malformed Block option: 4.00 for the reserved SZX 7 (RFC 7959 §2.2),
/// else 4.02 (an option with a bad value is unrecognised, RFC 7252 §5.4.3).
fn bad_block_code(error: &OptionError) -> Code {
    match error {
        OptionError::Block {
            error: BlockError::ReservedSzx,
            ..
        } => Code::BAD_REQUEST,
        _ => Code::BAD_OPTION,
    }
}

impl<P: Clone + Eq + Hash> Endpoint<P> {
    /// A new (not duplicate) request.
    pub(super) fn on_request(
        &mut self,
        now: Instant,
        pk: PeerKey,
        msg: &Message<'_>,
        confirmable: bool,
    ) {
        let to = ReplyTo {
            pk,
            mid: msg.message_id(),
            token: msg.owned_token(),
            confirmable,
            acked: false,
        };
        if msg.first_unknown_critical(option::is_known).is_some() {
            // RFC 7252 §5.4.1: 4.02 for a Confirmable request, silence for a Non-confirmable one.
            if confirmable {
                self.reply_code(now, to, Code::BAD_OPTION, None);
            }
            return;
        }
        let (block1, block2) = match (msg.block1(), msg.block2()) {
            (Ok(b1), Ok(b2)) => (b1, b2),
            (Err(e), _) | (_, Err(e)) => {
                if confirmable {
                    self.reply_code(now, to, bad_block_code(&e), None);
                }
                return;
            }
        };
        let observe = msg.observe().ok().flatten();
        let key = block::request_key(msg);
        let transfer = (pk, key);
        if let Some(b2) = block2.filter(|b| b.num() > 0 && block1.is_none()) {
            if self.serve_cached_block(now, to, transfer, b2) {
                return;
            }
        }
        let mut body = None;
        let mut echo1 = block1.map(|b| b.with_more(false));
        if let Some(b1) = block1 {
            if self.streams_block1(msg) {
                // Delivered as it is; the application answers 2.31 Continue or the final code.
                if b1.more() && msg.payload().len() != b1.size() as usize {
                    self.reply_code(now, to, Code::BAD_REQUEST, None);
                    return;
                }
                let szx = b1.szx().min(self.config.szx());
                echo1 = Block::new(b1.num(), b1.more(), szx).ok();
            } else {
                match self.receive_block1(now, to, transfer, b1, msg) {
                    Some(whole) => body = Some(whole),
                    None => return,
                }
            }
        }
        if observe == Some(1) {
            if let Some(&relation) = self.relations.by_token.get(&(pk, to.token)) {
                self.end_relation(relation, Some(RelationEnd::Deregistered));
            }
        }
        if self.incoming.len() >= self.config.limits.max_incoming {
            if confirmable {
                self.reply_code(now, to, Code::SERVICE_UNAVAILABLE, None);
            }
            return;
        }
        let Some(peer) = self.addr(pk) else {
            return;
        };
        let id = IncomingId(self.next_id());
        let timer = match self.config.empty_ack_delay {
            Some(delay) if confirmable && !delay.is_zero() => {
                Some(self.timers.insert(now + delay, Timer::EmptyAck(id)))
            }
            _ => None,
        };
        let (head, payload) = split_received(msg);
        self.incoming.insert(
            id,
            Incoming {
                peer: pk,
                mid: to.mid,
                token: to.token,
                confirmable,
                acked: false,
                key,
                block1: echo1,
                block2,
                registration: msg.code() == Code::GET && observe == Some(0),
                timer,
            },
        );
        self.peers.retain(pk);
        let lifetime = self.config.transmission.exchange_lifetime();
        self.incoming_expiry.push(now + lifetime, id, id.0);
        if confirmable && self.config.empty_ack_delay.is_some_and(|d| d.is_zero()) {
            self.send_empty_ack(id);
        }
        self.events.push_back(Event::Request {
            id,
            peer,
            request: IncomingRequest {
                head,
                body: body.unwrap_or(payload),
                confirmable,
            },
        });
    }

    /// Whether Block1 blocks of requests to this message's Uri-Path are delivered one by one.
    fn streams_block1(&self, msg: &Message<'_>) -> bool {
        !self.block1_streams.is_empty()
            && self.block1_streams.iter().any(|path| {
                msg.uri_path()
                    .is_ok_and(|segments| segments.eq(path.split('/')))
            })
    }

    /// One Block1 block: answered here (2.31 or an error) unless it completes the body, which is
    /// returned.
    fn receive_block1(
        &mut self,
        now: Instant,
        to: ReplyTo,
        transfer: TransferKey,
        block: Block,
        msg: &Message<'_>,
    ) -> Option<Bytes> {
        let input = Block1In {
            block,
            payload: msg.payload(),
            content_format: msg.content_format().ok().flatten(),
            size1: msg.size1().ok().flatten(),
        };
        let limits = UploadLimits {
            max_body: self.config.limits.max_body_size,
            max_uploads: self.config.limits.max_reassemblies,
            lifetime: self.config.transmission.exchange_lifetime(),
            szx: self.config.szx(),
        };
        match self
            .uploads
            .receive(now, transfer, input, &limits, &mut self.budget)
        {
            Block1Outcome::Continue(reply) => {
                let extras = Extras {
                    block1: Some(reply),
                    ..Extras::default()
                };
                let head = [0x40, Code::CONTINUE.to_u8(), 0, 0];
                let _ = self.reply(now, to, &head, &extras, &[], None, Owner::Response);
                None
            }
            Block1Outcome::Reject { code, size1 } => {
                self.reply_code(now, to, code, size1);
                None
            }
            Block1Outcome::Complete(whole) => Some(whole),
        }
    }

    /// Serves a later Block2 block of a cached body; `false` if nothing is cached.
    fn serve_cached_block(
        &mut self,
        now: Instant,
        to: ReplyTo,
        transfer: TransferKey,
        requested: Block,
    ) -> bool {
        let our_szx = self.config.szx();
        let Some(cached) = self.block2_cache.get(now, transfer) else {
            return false;
        };
        let (head, body, etag) = (cached.head.clone(), cached.body.clone(), cached.etag);
        let szx = requested.szx().min(our_szx);
        let num = requested.offset() >> (szx + 4);
        let block = block::slice(&body, num, szx)
            .and_then(|(chunk, more)| Some((chunk, Block::new(num, more, szx).ok()?)));
        match block {
            None => self.reply_code(now, to, Code::BAD_OPTION, None),
            Some((chunk, block)) => {
                let extras = Extras {
                    block2: Some(block),
                    etag: Some(&etag),
                    ..Extras::default()
                };
                let _ = self.reply(now, to, &head, &extras, chunk, None, Owner::Response);
            }
        }
        true
    }

    /// Sends a reply: piggy-backed if the request was Confirmable and not yet acknowledged,
    /// else as a separate message (Confirmable after an empty ACK, Non-confirmable for a
    /// Non-confirmable request, unless `confirmable` says otherwise).
    #[allow(clippy::too_many_arguments, reason = "an internal helper")]
    pub(super) fn reply(
        &mut self,
        now: Instant,
        to: ReplyTo,
        head: &[u8],
        extras: &Extras<'_>,
        payload: &[u8],
        confirmable: Option<bool>,
        owner: Owner,
    ) -> Result<Sent, EndpointError> {
        if to.confirmable && !to.acked {
            let bytes = message::encode(
                head,
                Type::Acknowledgement,
                to.mid,
                to.token,
                extras,
                payload,
            )?;
            self.dedup
                .set_reply(self.dedup_key(to.pk, to.mid), bytes.clone());
            self.transmit(to.pk, bytes);
            return Ok(Sent::Piggybacked);
        }
        let confirmable = confirmable.unwrap_or(to.confirmable);
        let ty = if confirmable {
            Type::Confirmable
        } else {
            Type::NonConfirmable
        };
        let mid = self.peers.next_mid(now, to.pk);
        let bytes = message::encode(head, ty, mid, to.token, extras, payload)?;
        if confirmable || matches!(owner, Owner::Notification(_)) {
            self.send_tracked(now, to.pk, mid, bytes, confirmable, owner);
        } else {
            self.transmit(to.pk, bytes);
        }
        Ok(Sent::Separate { mid, confirmable })
    }

    /// A reply with just a code (and Size1 for 4.13).
    fn reply_code(&mut self, now: Instant, to: ReplyTo, code: Code, size1: Option<u32>) {
        let extras = Extras {
            size1,
            ..Extras::default()
        };
        let head = [0x40, code.to_u8(), 0, 0];
        let _ = self.reply(now, to, &head, &extras, &[], None, Owner::Response);
    }

    /// Which part of `response`'s body goes into this message: all of it, or the requested (or
    /// first) Block2 block, in which case the body is cached for the blocks that follow.
    pub(super) fn slice_body(
        &mut self,
        now: Instant,
        transfer: TransferKey,
        requested: Option<Block>,
        response: &Response,
    ) -> Option<BodySlice> {
        let body = response.payload();
        let szx = requested.map_or(self.config.szx(), |b| b.szx().min(self.config.szx()));
        let later = requested.is_some_and(|b| b.num() > 0);
        if body.len() <= 1 << (szx + 4) && !later {
            return Some(BodySlice {
                block2: None,
                size2: None,
                etag: None,
                start: 0,
                end: body.len(),
            });
        }
        let etag = block::etag(response.code(), body);
        self.block2_cache.insert(
            now,
            transfer,
            response.template.head.clone(),
            body.clone(),
            etag,
        );
        let num = requested.map_or(0, |b| b.offset() >> (szx + 4));
        let (chunk, more) = block::slice(body, num, szx)?;
        // At most 2^20 blocks: a peer asking for tiny blocks of a huge body gets 4.02.
        let block2 = Block::new(num, more, szx).ok()?;
        let start = (num as usize) << (szx + 4);
        Some(BodySlice {
            block2: Some(block2),
            size2: if num == 0 {
                u32::try_from(body.len()).ok()
            } else {
                None
            },
            etag: Some(etag),
            start,
            end: start + chunk.len(),
        })
    }

    /// Sends the response to an incoming request (with Observe when it starts a relation).
    pub(super) fn send_response(
        &mut self,
        now: Instant,
        incoming: &Incoming,
        response: &Response,
        observe: Option<(u32, RelationId)>,
    ) -> Result<Sent, EndpointError> {
        let to = incoming.reply_to();
        let transfer = (incoming.peer, incoming.key);
        let Some(slice) = self.slice_body(now, transfer, incoming.block2, response) else {
            // A block past the end of the body (RFC 7959 §2.2).
            let head = [0x40, Code::BAD_OPTION.to_u8(), 0, 0];
            return self.reply(
                now,
                to,
                &head,
                &Extras::default(),
                &[],
                None,
                Owner::Response,
            );
        };
        let extras = Extras {
            observe: observe.map(|o| o.0),
            block1: incoming.block1,
            block2: slice.block2,
            size2: slice.size2,
            etag: slice.etag.as_ref().map(|e| &e[..]),
            ..Extras::default()
        };
        let payload = response
            .payload()
            .get(slice.start..slice.end)
            .unwrap_or(&[]);
        let owner = observe.map_or(Owner::Response, |o| Owner::Notification(o.1));
        self.reply(
            now,
            to,
            &response.template.head,
            &extras,
            payload,
            response.confirmable,
            owner,
        )
    }

    /// Removes an incoming request and its timer.
    pub(super) fn take_incoming(&mut self, id: IncomingId) -> Option<Incoming> {
        let incoming = self.incoming.remove(&id)?;
        self.cancel_timer(incoming.timer);
        self.peers.release(incoming.peer);
        Some(incoming)
    }

    pub(super) fn send_empty_ack(&mut self, id: IncomingId) {
        let Some(incoming) = self.incoming.get_mut(&id) else {
            return;
        };
        if !incoming.confirmable || incoming.acked {
            return;
        }
        incoming.acked = true;
        let (pk, mid, timer) = (incoming.peer, incoming.mid, incoming.timer.take());
        self.cancel_timer(timer);
        self.reply_empty(pk, Type::Acknowledgement, mid);
    }

    pub(super) fn on_empty_ack_timer(&mut self, id: IncomingId) {
        if let Some(incoming) = self.incoming.get_mut(&id) {
            incoming.timer = None;
        }
        self.send_empty_ack(id);
    }

    /// Forgets requests the application never answered (after `EXCHANGE_LIFETIME` the peer has
    /// long given up).
    pub(super) fn expire_incoming(&mut self, now: Instant) {
        while let Some((_, id, _)) = self.incoming_expiry.pop_due(now) {
            self.take_incoming(id);
        }
    }
}
