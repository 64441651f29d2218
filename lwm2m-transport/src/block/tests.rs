use super::*;
use lwm2m_codec::coap::{MessageBuilder, Type};

fn key(n: u64) -> TransferKey {
    (PeerKey::for_tests(1), n)
}

fn limits() -> UploadLimits {
    UploadLimits {
        max_body: 1000,
        max_uploads: 2,
        lifetime: Duration::from_secs(247),
        szx: 6,
    }
}

fn input(num: u32, more: bool, szx: u8, payload: &[u8]) -> Block1In<'_> {
    Block1In {
        block: Block::new(num, more, szx).unwrap(),
        payload,
        content_format: Some(42),
        size1: None,
    }
}

#[test]
fn request_key_ignores_block_size_observe_and_format_options() {
    let mut a = MessageBuilder::new(Type::Confirmable, Code::GET, 1);
    a.uri_path("/3/0").observe(0).content_format(11542);
    let mut b = MessageBuilder::new(Type::NonConfirmable, Code::GET, 2);
    b.uri_path("/3/0")
        .block2(Block::new(3, false, 2).unwrap())
        .size2(0);
    let (a, b) = (a.to_vec().unwrap(), b.to_vec().unwrap());
    let (a, b) = (Message::parse(&a).unwrap(), Message::parse(&b).unwrap());
    assert_eq!(request_key(&a), request_key(&b));
    let mut c = MessageBuilder::new(Type::Confirmable, Code::GET, 1);
    c.uri_path("/3/1");
    let c = c.to_vec().unwrap();
    assert_ne!(request_key(&a), request_key(&Message::parse(&c).unwrap()));
    let mut d = MessageBuilder::new(Type::Confirmable, Code::PUT, 1);
    d.uri_path("/3/0");
    let d = d.to_vec().unwrap();
    assert_ne!(request_key(&a), request_key(&Message::parse(&d).unwrap()));
}

#[test]
fn etags_depend_on_content_only() {
    assert_eq!(etag(Code::CONTENT, b"abc"), etag(Code::CONTENT, b"abc"));
    assert_ne!(etag(Code::CONTENT, b"abc"), etag(Code::CONTENT, b"abd"));
    assert_ne!(etag(Code::CONTENT, b"abc"), etag(Code::CHANGED, b"abc"));
}

#[test]
fn slicing_blocks() {
    let body: Vec<u8> = (0..100).collect();
    assert_eq!(slice(&body, 0, 1), Some((&body[..32], true)));
    assert_eq!(slice(&body, 3, 1), Some((&body[96..], false)));
    assert_eq!(slice(&body, 4, 1), None);
    assert_eq!(
        slice(&body[..64], 2, 1),
        None,
        "a block starting at the end"
    );
    assert_eq!(slice(&[], 0, 0), Some((&[][..], false)));
    assert_eq!(slice(&body, u32::MAX, 6), None);
}

#[test]
fn budget_refuses_past_the_cap() {
    let mut b = Budget::new(10);
    assert!(b.try_reserve(6));
    assert!(!b.try_reserve(5));
    assert!(b.try_reserve(4));
    b.release(7);
    assert_eq!(b.used(), 3);
    assert!(!b.try_reserve(usize::MAX));
}

#[test]
fn uploads_reassemble_and_answer_continue() {
    let mut uploads = Uploads::new();
    let mut budget = Budget::new(10_000);
    let now = Instant::ZERO;
    let block = [7u8; 256];
    let out = uploads.receive(
        now,
        key(1),
        input(0, true, 4, &block),
        &limits(),
        &mut budget,
    );
    assert_eq!(
        out,
        Block1Outcome::Continue(Block::new(0, true, 4).unwrap())
    );
    assert_eq!(budget.used(), 256);
    let out = uploads.receive(
        now,
        key(1),
        input(1, false, 4, b"end"),
        &limits(),
        &mut budget,
    );
    let Block1Outcome::Complete(body) = out else {
        panic!("{out:?}")
    };
    assert_eq!(body.len(), 259);
    assert_eq!(&body[256..], b"end");
    assert_eq!((uploads.len(), budget.used()), (0, 0));
}

#[test]
fn uploads_ask_for_smaller_blocks_and_accept_renumbering() {
    let mut uploads = Uploads::new();
    let mut budget = Budget::new(10_000);
    let small = UploadLimits { szx: 2, ..limits() };
    let now = Instant::ZERO;
    let out = uploads.receive(
        now,
        key(1),
        input(0, true, 4, &[1; 256]),
        &small,
        &mut budget,
    );
    assert_eq!(
        out,
        Block1Outcome::Continue(Block::new(0, true, 2).unwrap())
    );
    // The client continues at byte 256 with 64-byte blocks: block 4.
    let out = uploads.receive(
        now,
        key(1),
        input(4, true, 2, &[2; 64]),
        &small,
        &mut budget,
    );
    assert_eq!(
        out,
        Block1Outcome::Continue(Block::new(4, true, 2).unwrap())
    );
    let out = uploads.receive(
        now,
        key(1),
        input(5, false, 2, &[3; 10]),
        &small,
        &mut budget,
    );
    assert!(matches!(out, Block1Outcome::Complete(b) if b.len() == 330));
}

#[test]
fn the_oldest_upload_is_evicted_when_full_and_idle_ones_expire() {
    let mut uploads = Uploads::new();
    let mut budget = Budget::new(10_000);
    for n in 0..3 {
        let now = Instant::from_secs(n);
        uploads.receive(
            now,
            key(n),
            input(0, true, 4, &[1; 256]),
            &limits(),
            &mut budget,
        );
    }
    assert_eq!(uploads.len(), 2);
    assert_eq!(budget.used(), 512);
    let out = uploads.receive(
        Instant::from_secs(3),
        key(0),
        input(1, true, 4, &[1; 256]),
        &limits(),
        &mut budget,
    );
    assert_eq!(
        out,
        Block1Outcome::Reject {
            code: Code::REQUEST_ENTITY_INCOMPLETE,
            size1: None
        }
    );
    // Key 2 gets another block at 100 s, so it outlives key 1.
    uploads.receive(
        Instant::from_secs(100),
        key(2),
        input(1, true, 4, &[1; 256]),
        &limits(),
        &mut budget,
    );
    uploads.expire(Instant::from_secs(250), &mut budget);
    assert_eq!((uploads.len(), budget.used()), (1, 512));
    uploads.expire(Instant::from_secs(400), &mut budget);
    assert_eq!((uploads.len(), budget.used()), (0, 0));
    assert!(uploads.next_deadline().is_none());
}

#[test]
fn block2_cache_respects_entry_and_byte_caps_and_refreshes_on_use() {
    let mut cache = Block2Cache::new(2, 100, Duration::from_secs(10));
    let body = |n: usize| Bytes::from(vec![0u8; n]);
    cache.insert(Instant::ZERO, key(1), Bytes::new(), body(40), [1; 8]);
    cache.insert(Instant::ZERO, key(2), Bytes::new(), body(40), [2; 8]);
    cache.insert(Instant::ZERO, key(3), Bytes::new(), body(40), [3; 8]);
    assert_eq!((cache.len(), cache.bytes()), (2, 80));
    assert!(
        cache.get(Instant::ZERO, key(1)).is_none(),
        "the oldest was evicted"
    );
    cache.insert(Instant::ZERO, key(4), Bytes::new(), body(90), [4; 8]);
    assert_eq!((cache.len(), cache.bytes()), (1, 90));
    cache.insert(Instant::ZERO, key(5), Bytes::new(), body(101), [5; 8]);
    assert!(
        cache.get(Instant::ZERO, key(5)).is_none(),
        "a body over the byte cap is not kept"
    );
    assert_eq!((cache.len(), cache.bytes()), (1, 90));
    cache.insert(Instant::ZERO, key(6), Bytes::new(), body(10), [6; 8]);
    assert_eq!(cache.len(), 2);
    assert_eq!(
        cache.get(Instant::from_secs(8), key(6)).map(|c| c.etag),
        Some([6; 8])
    );
    cache.expire(Instant::from_secs(12));
    assert_eq!(cache.len(), 1, "used at 8 s, so it lives until 18 s");
    cache.expire(Instant::from_secs(18));
    assert_eq!((cache.len(), cache.bytes()), (0, 0));
}
