//! One outgoing exchange ([`Outgoing`]) and the decisions that depend on it alone: which message
//! its current step sends (first request, next Block1 block, next Block2 request, Observe = 1
//! deregistration, ping) and what a response means for it (RFC 7959 §2.3-2.5 on the requester
//! side). The event loop around it is in `requester`.

use bytes::Bytes;
use lwm2m_codec::coap::{Block, BuildError, Code, Message, Token, Type};

use super::PeerKey;
use crate::config::Config;
use crate::error::ExchangeError;
use crate::event::RequestId;
use crate::message::{self, Extras, Request};
use crate::timers::TimerKey;

/// How often a Block1 upload restarts with smaller blocks after 4.13 before the 4.13 is
/// delivered as the response.
pub(super) const MAX_RESTARTS: u8 = 4;

/// What an outgoing exchange is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A request of the application.
    Normal,
    /// An empty Confirmable message.
    Ping,
    /// A GET with Observe = 0: a 2.xx response with Observe establishes an observation.
    Observe,
    /// The GET with Observe = 1 of `cancel_observation`.
    CancelObserve,
    /// Internal: fetches the remaining blocks of a notification (or of the registration response
    /// when `registration`), delivered under the observation's id.
    Fetch {
        observation: RequestId,
        registration: bool,
    },
}

/// Progress of a Block1 upload: the block in flight starts at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Block1Tx {
    pub(super) offset: usize,
    pub(super) szx: u8,
}

/// A Block2 download: the head of the first block and the body so far; the next block starts at
/// `body.len()`.
#[derive(Debug)]
pub(super) struct Block2Rx {
    pub(super) head: Bytes,
    pub(super) body: Vec<u8>,
    pub(super) szx: u8,
    pub(super) etag: Option<Token>,
}

#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(super) peer: PeerKey,
    pub(super) token: Token,
    pub(super) request: Request,
    pub(super) kind: Kind,
    /// Waiting in the peer queue for an NSTART slot.
    pub(super) queued: bool,
    /// The message id of the request message in flight (tracked by the message layer).
    pub(super) mid: Option<u16>,
    /// The response-wait timer (after an empty ACK, or for a Non-confirmable request).
    pub(super) wait: Option<TimerKey>,
    pub(super) block1: Option<Block1Tx>,
    pub(super) block2: Option<Block2Rx>,
    pub(super) restarts: u8,
}

/// What a response means for its exchange.
pub(super) enum Step {
    /// Stale or not for the message in flight: keep waiting.
    Ignore,
    Fail(ExchangeError),
    /// Send this Block1 block next (the flag marks a restart).
    Block1(Block1Tx, bool),
    /// Part of a Block2 download.
    Block2,
    /// The final response.
    Done,
}

impl Outgoing {
    pub(super) fn new(peer: PeerKey, token: Token, request: Request, kind: Kind) -> Outgoing {
        Outgoing {
            peer,
            token,
            request,
            kind,
            queued: true,
            mid: None,
            wait: None,
            block1: None,
            block2: None,
            restarts: 0,
        }
    }

    /// Whether the application knows this exchange (internal fetches are hidden).
    pub(crate) fn is_public(&self) -> bool {
        !matches!(self.kind, Kind::Fetch { .. })
    }

    /// Encodes the message for the current step with this message id.
    pub(super) fn encode(&self, mid: u16, config: &Config) -> Result<(Bytes, bool), BuildError> {
        if self.kind == Kind::Ping {
            return Ok((message::empty(Type::Confirmable, mid), true));
        }
        let ty = if self.request.confirmable {
            Type::Confirmable
        } else {
            Type::NonConfirmable
        };
        let body = self.request.payload();
        let mut extras = Extras::default();
        let payload: &[u8] = if let Some(tx) = self.block1 {
            let end = tx.offset.saturating_add(1 << (tx.szx + 4)).min(body.len());
            let more = end < body.len();
            let offset = u32::try_from(tx.offset).unwrap_or(u32::MAX);
            extras.block1 = Block::at_offset(offset, more, tx.szx).ok();
            if tx.offset == 0 {
                extras.size1 = u32::try_from(body.len()).ok();
            }
            body.get(tx.offset..end).unwrap_or(&[])
        } else if let Some(rx) = &self.block2 {
            let num = u32::try_from(rx.body.len() >> (rx.szx + 4)).unwrap_or(u32::MAX);
            extras.block2 = Block::new(num, false, rx.szx).ok();
            extras.strip_observe = true;
            &[]
        } else {
            if self.kind == Kind::CancelObserve {
                extras.observe = Some(1);
            }
            let szx = config.szx();
            if let Some(block) = self.request.block2 {
                extras.block2 = Some(block);
            } else if config.early_block2_negotiation
                && szx < Block::MAX_SZX
                && self.request.code() == Code::GET
            {
                extras.block2 = Block::new(0, false, szx).ok();
            }
            body
        };
        let bytes = message::encode(
            &self.request.template.head,
            ty,
            mid,
            self.token,
            &extras,
            payload,
        )?;
        Ok((bytes, ty == Type::Confirmable))
    }

    /// Decides what a response means (RFC 7959 §2.3-2.5 for the Block1 side).
    pub(super) fn next_step(&self, msg: &Message<'_>) -> Step {
        let code = msg.code();
        let echoed = msg.block1().ok().flatten();
        if let Some(tx) = self.block1 {
            let total = self.request.payload().len();
            let sent_num = (tx.offset >> (tx.szx + 4)) as u32;
            if code == Code::CONTINUE {
                let Some(echo) = echoed else {
                    return Step::Fail(ExchangeError::BlockProtocol {
                        reason: "2.31 Continue without Block1",
                    });
                };
                if echo.num() != sent_num {
                    return Step::Ignore;
                }
                let next = tx.offset.saturating_add(1 << (tx.szx + 4)).min(total);
                if next >= total {
                    return Step::Fail(ExchangeError::BlockProtocol {
                        reason: "2.31 Continue after the last block",
                    });
                }
                // The server may ask for smaller blocks; continue at the byte offset reached.
                let szx = echo.szx().min(tx.szx);
                return Step::Block1(Block1Tx { offset: next, szx }, false);
            }
            if code == Code::REQUEST_ENTITY_TOO_LARGE && self.restarts < MAX_RESTARTS {
                if let Some(echo) = echoed.filter(|e| e.szx() < tx.szx) {
                    let restart = Block1Tx {
                        offset: 0,
                        szx: echo.szx(),
                    };
                    return Step::Block1(restart, true);
                }
            }
            if echoed.is_some_and(|e| e.num() != sent_num) {
                return Step::Ignore;
            }
        } else if code == Code::REQUEST_ENTITY_TOO_LARGE
            && self.block2.is_none()
            && !self.request.payload().is_empty()
            && self.restarts < MAX_RESTARTS
        {
            // 4.13 with a Block1 option hints at a block-wise retry with that size.
            if let Some(echo) = echoed {
                let restart = Block1Tx {
                    offset: 0,
                    szx: echo.szx(),
                };
                return Step::Block1(restart, true);
            }
        }
        if self.request.block2.is_some() && self.block1.is_none() {
            // One block asked for by the application: delivered as it is.
            return Step::Done;
        }
        let block2 = if code.is_success() {
            msg.block2().ok().flatten()
        } else {
            None
        };
        if self.block2.is_some() || block2.is_some_and(Block::more) {
            Step::Block2
        } else {
            Step::Done
        }
    }
}
