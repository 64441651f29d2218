//! Block-wise transfer state (RFC 7959) on the server side, plus helpers both roles share:
//!
//! - [`request_key`]: which requests belong to the same block-wise transfer (same method and
//!   options, ignoring Block1/Block2/Size1/Size2/Observe/Content-Format);
//! - [`Uploads`]: Block1 bodies being reassembled, answering 2.31 / 4.08 / 4.13 / 5.03;
//! - [`Block2Cache`]: bodies of large responses, to serve later Block2 blocks without asking the
//!   application again, each tagged with an `ETag` derived from its content;
//! - [`Budget`]: the global byte cap shared by every reassembly in both directions.
//!
//! The client side (sending Block1, fetching Block2) lives with the outgoing exchanges in
//! `endpoint::requester`.

use core::time::Duration;
use std::collections::HashMap;

use bytes::Bytes;
use lwm2m_codec::coap::{option, Block, Code, Message};

use crate::endpoint::PeerKey;
use crate::time::Instant;
use crate::timers::ExpiryQueue;

/// A request key hash: transfers are matched by (peer, key).
pub(crate) type TransferKey = (PeerKey, u64);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[inline]
fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// Hash of the method and of every option that identifies the resource and request, so the blocks
/// of one transfer (which differ only in Block1/Block2/Size1/Size2 and, for a notification's
/// follow-up GETs, Observe) map to the same key. Content-Format is left out so a change between
/// Block1 blocks is detected and answered 4.08 rather than starting a new transfer.
pub(crate) fn request_key(msg: &Message<'_>) -> u64 {
    let mut hash = fnv(FNV_OFFSET, &[msg.code().to_u8()]);
    for opt in msg.options() {
        if matches!(
            opt.number,
            option::BLOCK1
                | option::BLOCK2
                | option::SIZE1
                | option::SIZE2
                | option::OBSERVE
                | option::CONTENT_FORMAT
        ) {
            continue;
        }
        hash = fnv(hash, &opt.number.to_be_bytes());
        hash = fnv(hash, &(opt.value.len() as u32).to_be_bytes());
        hash = fnv(hash, opt.value);
    }
    hash
}

/// An `ETag` that identifies a body's content: the same body always gets the same tag, so a body
/// that drops out of the cache and is produced again by the application still matches.
pub(crate) fn etag(code: Code, body: &[u8]) -> [u8; 8] {
    fnv(fnv(FNV_OFFSET, &[code.to_u8()]), body).to_be_bytes()
}

/// Block `num` of `2^(szx+4)` bytes of `body` and whether more follow; `None` if the block starts
/// past the end (an empty body has one empty block 0).
pub(crate) fn slice(body: &[u8], num: u32, szx: u8) -> Option<(&[u8], bool)> {
    let size = 1usize << (szx + 4);
    let start = usize::try_from(num).ok()?.checked_mul(size)?;
    if start > body.len() || (start == body.len() && start > 0) {
        return None;
    }
    let end = start.saturating_add(size).min(body.len());
    Some((body.get(start..end)?, end < body.len()))
}

/// The global cap on reassembly memory.
#[derive(Debug)]
pub(crate) struct Budget {
    used: usize,
    max: usize,
}

impl Budget {
    pub(crate) fn new(max: usize) -> Budget {
        Budget { used: 0, max }
    }

    /// Claims `bytes`; `false` (and nothing claimed) if that would exceed the cap.
    pub(crate) fn try_reserve(&mut self, bytes: usize) -> bool {
        match self.used.checked_add(bytes) {
            Some(total) if total <= self.max => {
                self.used = total;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn release(&mut self, bytes: usize) {
        self.used = self.used.saturating_sub(bytes);
    }

    pub(crate) fn used(&self) -> usize {
        self.used
    }
}

/// What to answer a Block1 block with.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Block1Outcome {
    /// 2.31 Continue with this Block1 value.
    Continue(Block),
    /// The last block arrived: the whole body.
    Complete(Bytes),
    /// An error response, with Size1 for 4.13.
    Reject { code: Code, size1: Option<u32> },
}

#[derive(Debug)]
struct Upload {
    body: Vec<u8>,
    content_format: Option<u16>,
    expires: Instant,
    stamp: u64,
}

/// The caps and lifetime [`Uploads::receive`] applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UploadLimits {
    pub(crate) max_body: usize,
    pub(crate) max_uploads: usize,
    pub(crate) lifetime: Duration,
    /// Our preferred size exponent: a peer sending larger blocks is asked to use this one.
    pub(crate) szx: u8,
}

/// One Block1 block as received.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block1In<'a> {
    pub(crate) block: Block,
    pub(crate) payload: &'a [u8],
    pub(crate) content_format: Option<u16>,
    pub(crate) size1: Option<u32>,
}

/// Block1 bodies being reassembled on the server side, keyed by (peer, request key).
#[derive(Debug)]
pub(crate) struct Uploads {
    map: HashMap<TransferKey, Upload>,
    queue: ExpiryQueue<TransferKey>,
}

impl Uploads {
    pub(crate) fn new() -> Uploads {
        Uploads {
            map: HashMap::new(),
            queue: ExpiryQueue::new(),
        }
    }

    /// Takes one block of an upload (RFC 7959 §2.3, §2.5 and the 4.08/4.13 rules of §2.9).
    pub(crate) fn receive(
        &mut self,
        now: Instant,
        key: TransferKey,
        input: Block1In<'_>,
        limits: &UploadLimits,
        budget: &mut Budget,
    ) -> Block1Outcome {
        let Block1In {
            block,
            payload,
            content_format,
            size1,
        } = input;
        let too_large = Block1Outcome::Reject {
            code: Code::REQUEST_ENTITY_TOO_LARGE,
            size1: Some(u32::try_from(limits.max_body).unwrap_or(u32::MAX)),
        };
        if block.num() == 0 {
            self.remove(key, budget);
            if size1.is_some_and(|s| usize::try_from(s).map_or(true, |s| s > limits.max_body)) {
                return too_large;
            }
        }
        if block.more() && payload.len() != block.size() as usize {
            self.remove(key, budget);
            return Block1Outcome::Reject {
                code: Code::BAD_REQUEST,
                size1: None,
            };
        }
        if block.num() == 0 && !block.more() {
            if payload.len() > limits.max_body {
                return too_large;
            }
            return Block1Outcome::Complete(Bytes::copy_from_slice(payload));
        }
        if block.num() == 0 {
            self.start(now, key, content_format, size1, limits, budget);
        }
        let incomplete = Block1Outcome::Reject {
            code: Code::REQUEST_ENTITY_INCOMPLETE,
            size1: None,
        };
        let Some(upload) = self.map.get_mut(&key) else {
            return incomplete;
        };
        let offset = block.offset() as usize;
        if upload.content_format != content_format || offset != upload.body.len() {
            self.remove(key, budget);
            return incomplete;
        }
        if offset.saturating_add(payload.len()) > limits.max_body {
            self.remove(key, budget);
            return too_large;
        }
        if !budget.try_reserve(payload.len()) {
            self.remove(key, budget);
            return Block1Outcome::Reject {
                code: Code::SERVICE_UNAVAILABLE,
                size1: None,
            };
        }
        upload.body.extend_from_slice(payload);
        upload.expires = now + limits.lifetime;
        if block.more() {
            let szx = block.szx().min(limits.szx);
            return match Block::new(block.num(), true, szx) {
                Ok(reply) => Block1Outcome::Continue(reply),
                Err(_) => incomplete,
            };
        }
        let Some(done) = self.map.remove(&key) else {
            return incomplete;
        };
        budget.release(done.body.len());
        Block1Outcome::Complete(Bytes::from(done.body))
    }

    fn start(
        &mut self,
        now: Instant,
        key: TransferKey,
        content_format: Option<u16>,
        size1: Option<u32>,
        limits: &UploadLimits,
        budget: &mut Budget,
    ) {
        while self.map.len() >= limits.max_uploads {
            let Some((_, old, stamp)) = self.queue.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|u| u.stamp == stamp) {
                self.remove(old, budget);
            }
        }
        let capacity = size1.map_or(0, |s| (s as usize).min(limits.max_body));
        let stamp = self.queue.next_stamp();
        let expires = now + limits.lifetime;
        self.queue.push(expires, key, stamp);
        self.map.insert(
            key,
            Upload {
                body: Vec::with_capacity(capacity),
                content_format,
                expires,
                stamp,
            },
        );
    }

    fn remove(&mut self, key: TransferKey, budget: &mut Budget) {
        if let Some(upload) = self.map.remove(&key) {
            budget.release(upload.body.len());
        }
    }

    /// Drops uploads with no block for their lifetime.
    pub(crate) fn expire(&mut self, now: Instant, budget: &mut Budget) {
        while let Some((_, key, stamp)) = self.queue.pop_due(now) {
            let Some(upload) = self.map.get(&key) else {
                continue;
            };
            if upload.stamp != stamp {
                continue;
            }
            if upload.expires <= now {
                self.remove(key, budget);
            } else {
                self.queue.push(upload.expires, key, stamp);
            }
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.queue.next()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// A response body kept to serve its later blocks.
#[derive(Debug)]
pub(crate) struct Cached {
    /// The response template head (code and options).
    pub(crate) head: Bytes,
    pub(crate) body: Bytes,
    pub(crate) etag: [u8; 8],
    expires: Instant,
    stamp: u64,
}

/// Large response bodies by (peer, request key), so Block2 requests for later blocks are answered
/// from here (RFC 7959 §2.4).
#[derive(Debug)]
pub(crate) struct Block2Cache {
    map: HashMap<TransferKey, Cached>,
    queue: ExpiryQueue<TransferKey>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
    lifetime: Duration,
}

impl Block2Cache {
    pub(crate) fn new(max_entries: usize, max_bytes: usize, lifetime: Duration) -> Block2Cache {
        Block2Cache {
            map: HashMap::new(),
            queue: ExpiryQueue::new(),
            bytes: 0,
            max_entries,
            max_bytes,
            lifetime,
        }
    }

    /// Stores a body (replacing the one under the same key), evicting the oldest entries to stay
    /// within the caps. A body larger than the byte cap is not stored.
    pub(crate) fn insert(
        &mut self,
        now: Instant,
        key: TransferKey,
        head: Bytes,
        body: Bytes,
        etag: [u8; 8],
    ) {
        self.remove(key);
        if body.len() > self.max_bytes {
            return;
        }
        while self.map.len() >= self.max_entries || self.bytes + body.len() > self.max_bytes {
            let Some((_, old, stamp)) = self.queue.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|c| c.stamp == stamp) {
                self.remove(old);
            }
        }
        let stamp = self.queue.next_stamp();
        let expires = now + self.lifetime;
        self.queue.push(expires, key, stamp);
        self.bytes += body.len();
        self.map.insert(
            key,
            Cached {
                head,
                body,
                etag,
                expires,
                stamp,
            },
        );
    }

    /// The cached body for `key`, its lifetime extended (a slow download keeps it alive).
    pub(crate) fn get(&mut self, now: Instant, key: TransferKey) -> Option<&Cached> {
        let cached = self.map.get_mut(&key)?;
        cached.expires = now + self.lifetime;
        Some(cached)
    }

    fn remove(&mut self, key: TransferKey) {
        if let Some(old) = self.map.remove(&key) {
            self.bytes -= old.body.len();
        }
    }

    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some((_, key, stamp)) = self.queue.pop_due(now) {
            let Some(cached) = self.map.get(&key) else {
                continue;
            };
            if cached.stamp != stamp {
                continue;
            }
            if cached.expires <= now {
                self.remove(key);
            } else {
                self.queue.push(cached.expires, key, stamp);
            }
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.queue.next()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests;
