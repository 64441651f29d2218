//! Firmware Update push on the simulated network: a scripted server writes a 200 KiB image to
//! `/5/0/0` with Block1, observes State and Update Result, executes Update; plus the refusals
//! (wrong state, wrong format) and garbage blocks.

mod common;

use std::time::Duration;

use common::{get, observe, req, Harness, Setup, OPAQUE, TEXT};
use lwm2m_client::firmware::{FirmwareState, MemorySink, UpdateResult};
use lwm2m_client::{ClientEvent, FirmwareObject};
use lwm2m_codec::coap::{Block, Code, Message, MessageBuilder, Type};
use lwm2m_transport::{IncomingResponse, Request};

/// A deterministic image whose every offset differs from its neighbours.
fn image(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 10) as u8)
        .collect()
}

fn harness(sink: MemorySink) -> Harness {
    let mut h = Harness::with(Setup {
        extra: vec![Box::new(move |b| b.object(FirmwareObject::new(sink)))],
        ..Setup::default()
    });
    h.register_all();
    h
}

fn firmware(h: &mut Harness) -> &FirmwareObject {
    h.client().object::<FirmwareObject>(5).unwrap()
}

fn put_package(body: &[u8]) -> Request {
    req(Code::PUT, "/5/0/0", Some(OPAQUE), &[], body)
}

fn execute_update() -> Request {
    req(Code::POST, "/5/0/2", None, &[], b"")
}

/// The text values of the notifications of observation `id` so far.
fn values(h: &Harness, id: lwm2m_transport::RequestId) -> Vec<String> {
    h.state
        .notifications
        .iter()
        .filter(|(_, n, _)| *n == id)
        .map(|(_, _, r)| String::from_utf8(r.body().to_vec()).unwrap())
        .collect()
}

fn code(r: &IncomingResponse) -> Code {
    r.code()
}

#[test]
fn a_200_kib_block1_push_streams_to_the_sink_and_update_installs_it() {
    let mut h = harness(MemorySink::new());
    let state_obs = h.start(0, observe("/5/0/3", 0, Some(TEXT)));
    let first = h.wait(state_obs);
    assert_eq!(first.body().as_ref(), b"0");
    let result_obs = h.start(0, observe("/5/0/5", 0, Some(TEXT)));
    assert_eq!(h.wait(result_obs).body().as_ref(), b"0");

    let data = image(200 * 1024);
    let write = h.request(0, put_package(&data));
    assert_eq!(code(&write), Code::CHANGED);
    let fw = firmware(&mut h);
    assert_eq!(fw.state(), FirmwareState::Downloaded);
    let sink = fw.sink::<MemorySink>().unwrap();
    assert!(
        sink.data() == data.as_slice(),
        "the sink got exactly the image"
    );
    assert_eq!(sink.writes(), 200, "one write per 1 KiB block");
    // The client never reassembled the upload.
    assert_eq!(h.client().endpoint().stats().reassembly_bytes, 0);
    h.run_for(Duration::from_secs(1));
    assert_eq!(values(&h, state_obs), ["1", "2"]);

    let executed = h.request(0, execute_update());
    assert_eq!(code(&executed), Code::CHANGED);
    h.run_for(Duration::from_secs(1));
    let fw = firmware(&mut h);
    assert_eq!(
        (fw.state(), fw.result()),
        (FirmwareState::Idle, UpdateResult::Success)
    );
    assert_eq!(fw.sink::<MemorySink>().unwrap().applied(), [data]);
    assert_eq!(values(&h, state_obs), ["1", "2", "3", "0"]);
    assert_eq!(values(&h, result_obs), ["1"]);
    let changes: Vec<(FirmwareState, UpdateResult)> = h
        .events()
        .filter_map(|e| match e {
            ClientEvent::FirmwareStateChanged { state, result } => Some((*state, *result)),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        [
            (FirmwareState::Downloading, UpdateResult::Initial),
            (FirmwareState::Downloaded, UpdateResult::Initial),
            (FirmwareState::Updating, UpdateResult::Initial),
            (FirmwareState::Idle, UpdateResult::Success),
        ]
    );
    // Read State and Update Result as the server would after the update.
    assert_eq!(
        h.request(0, get("/5/0/3", Some(TEXT))).body().as_ref(),
        b"0"
    );
    assert_eq!(
        h.request(0, get("/5/0/5", Some(TEXT))).body().as_ref(),
        b"1"
    );
}

#[test]
fn update_outside_downloaded_is_4_05_and_changes_nothing() {
    let mut h = harness(MemorySink::new());
    assert_eq!(
        code(&h.request(0, execute_update())),
        Code::METHOD_NOT_ALLOWED
    );
    assert_eq!(firmware(&mut h).state(), FirmwareState::Idle);
    // Package is write-only.
    assert_eq!(
        code(&h.request(0, get("/5/0/0", Some(OPAQUE)))),
        Code::METHOD_NOT_ALLOWED
    );
}

#[test]
fn a_failed_install_returns_to_downloaded_with_result_8() {
    let mut h = harness(MemorySink::new().failing_apply());
    assert_eq!(
        code(&h.request(0, put_package(&image(3000)))),
        Code::CHANGED
    );
    assert_eq!(code(&h.request(0, execute_update())), Code::CHANGED);
    h.run_for(Duration::from_secs(1));
    let fw = firmware(&mut h);
    assert_eq!(
        (fw.state(), fw.result()),
        (FirmwareState::Downloaded, UpdateResult::UpdateFailed)
    );
}

#[test]
fn empty_or_null_package_resets_to_idle() {
    let mut h = harness(MemorySink::new());
    assert_eq!(
        code(&h.request(0, put_package(&image(5000)))),
        Code::CHANGED
    );
    assert_eq!(firmware(&mut h).state(), FirmwareState::Downloaded);
    assert_eq!(code(&h.request(0, put_package(&[0]))), Code::CHANGED);
    let fw = firmware(&mut h);
    assert_eq!(
        (fw.state(), fw.result()),
        (FirmwareState::Idle, UpdateResult::Initial)
    );
    assert!(fw.sink::<MemorySink>().unwrap().data().is_empty());
}

#[test]
fn a_sink_that_runs_out_of_room_stops_the_push_with_4_13_and_result_2() {
    let mut h = harness(MemorySink::with_capacity_limit(10 * 1024));
    let answer = h.request(0, put_package(&image(50 * 1024)));
    assert_eq!(code(&answer), Code::REQUEST_ENTITY_TOO_LARGE);
    let fw = firmware(&mut h);
    assert_eq!(
        (fw.state(), fw.result()),
        (FirmwareState::Idle, UpdateResult::NotEnoughFlash)
    );
}

#[test]
fn a_package_in_text_format_is_4_15() {
    let mut h = harness(MemorySink::new());
    let answer = h.request(0, req(Code::PUT, "/5/0/0", Some(TEXT), &[], &image(4000)));
    assert_eq!(code(&answer), Code::UNSUPPORTED_CONTENT_FORMAT);
    assert_eq!(firmware(&mut h).state(), FirmwareState::Idle);
}

/// A raw Block1 block from server 0 (its own message id and token).
fn block(mid: u16, block: Option<Block>, size1: Option<u32>, payload: &[u8]) -> Vec<u8> {
    let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, mid);
    b.token(lwm2m_codec::coap::Token::from_u64(
        0x0F00_0000 + u64::from(mid),
    ))
    .uri_path("/5/0/0")
    .content_format(OPAQUE);
    if let Some(block) = block {
        b.block1(block);
    }
    if let Some(size) = size1 {
        b.size1(size);
    }
    b.payload(payload);
    b.to_vec().unwrap()
}

fn answer_code(bytes: &[u8]) -> (Code, Option<Block>) {
    let msg = Message::parse(bytes).unwrap();
    (msg.code(), msg.block1().unwrap())
}

#[test]
fn garbage_blocks_are_refused_and_never_panic() {
    let mut h = harness(MemorySink::with_capacity_limit(64 * 1024));
    // A block out of nowhere: 4.08.
    let reply = h.exchange(
        0,
        &block(1, Some(Block::new(5, true, 0).unwrap()), None, &[1; 16]),
    );
    assert_eq!(answer_code(&reply).0, Code::REQUEST_ENTITY_INCOMPLETE);
    // The reserved SZX 7: 4.00 from the transport.
    let mut raw = block(2, Some(Block::new(0, true, 6).unwrap()), None, &[1; 1024]);
    let opt = raw.iter().position(|&b| b == 0x0e).unwrap();
    raw[opt] = 0x0f;
    let reply = h.exchange(0, &raw);
    assert_eq!(answer_code(&reply).0, Code::BAD_REQUEST);
    // A short non-final block: 4.00.
    let reply = h.exchange(
        0,
        &block(3, Some(Block::new(0, true, 6).unwrap()), None, &[1; 10]),
    );
    assert_eq!(answer_code(&reply).0, Code::BAD_REQUEST);
    // A good start, then a skipped block: 4.08, download abandoned with result 4.
    let reply = h.exchange(
        0,
        &block(4, Some(Block::new(0, true, 0).unwrap()), None, &[2; 16]),
    );
    assert_eq!(
        answer_code(&reply),
        (Code::CONTINUE, Some(Block::new(0, true, 0).unwrap()))
    );
    assert_eq!(firmware(&mut h).state(), FirmwareState::Downloading);
    let reply = h.exchange(
        0,
        &block(5, Some(Block::new(2, true, 0).unwrap()), None, &[2; 16]),
    );
    assert_eq!(answer_code(&reply).0, Code::REQUEST_ENTITY_INCOMPLETE);
    let fw = firmware(&mut h);
    assert_eq!(
        (fw.state(), fw.result()),
        (FirmwareState::Idle, UpdateResult::ConnectionLost)
    );
    // Oversize announced in Size1: 4.13, result 2.
    let reply = h.exchange(
        0,
        &block(
            6,
            Some(Block::new(0, true, 0).unwrap()),
            Some(1 << 30),
            &[3; 16],
        ),
    );
    assert_eq!(answer_code(&reply).0, Code::REQUEST_ENTITY_TOO_LARGE);
    assert_eq!(firmware(&mut h).result(), UpdateResult::NotEnoughFlash);
    // A single final block 0 is a whole package.
    let reply = h.exchange(
        0,
        &block(7, Some(Block::new(0, false, 6).unwrap()), None, &[4; 700]),
    );
    assert_eq!(answer_code(&reply).0, Code::CHANGED);
    assert_eq!(firmware(&mut h).state(), FirmwareState::Downloaded);
    // Random blocks of random numbers never panic and always get an answer.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for mid in 100..400u16 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let num = (seed % 8) as u32;
        let more = seed & 0x100 != 0;
        let szx = ((seed >> 12) % 7) as u8;
        let len = ((seed >> 20) % 80) as usize;
        let bytes = block(
            mid,
            Some(Block::new(num, more, szx).unwrap()),
            None,
            &vec![5; len],
        );
        let reply = h.exchange(0, &bytes);
        assert!(answer_code(&reply).0.is_response());
    }
    // The client still works.
    assert_eq!(
        code(&h.request(0, get("/5/0/3", Some(TEXT)))),
        Code::CONTENT
    );
}

#[test]
fn a_stalled_push_is_abandoned_with_result_4() {
    let mut h = harness(MemorySink::new());
    let reply = h.exchange(
        0,
        &block(1, Some(Block::new(0, true, 6).unwrap()), None, &[1; 1024]),
    );
    assert_eq!(answer_code(&reply).0, Code::CONTINUE);
    h.run_for(Duration::from_secs(300));
    let fw = firmware(&mut h);
    assert_eq!(
        (fw.state(), fw.result()),
        (FirmwareState::Idle, UpdateResult::ConnectionLost)
    );
}

#[test]
fn a_whole_package_without_block1_is_written_at_once() {
    let mut h = harness(MemorySink::new());
    let data = image(900);
    let reply = h.exchange(0, &block(9, None, None, &data));
    assert_eq!(answer_code(&reply).0, Code::CHANGED);
    let fw = firmware(&mut h);
    assert_eq!(fw.state(), FirmwareState::Downloaded);
    assert_eq!(fw.sink::<MemorySink>().unwrap().data(), data.as_slice());
}

#[test]
fn a_push_with_post_as_in_the_ts_example_works_too() {
    let mut h = harness(MemorySink::new());
    let data = image(10 * 1024 + 5);
    let answer = h.request(0, req(Code::POST, "/5/0/0", Some(OPAQUE), &[], &data));
    assert_eq!(code(&answer), Code::CHANGED);
    let fw = firmware(&mut h);
    assert_eq!(fw.state(), FirmwareState::Downloaded);
    assert!(fw.sink::<MemorySink>().unwrap().data() == data.as_slice());
}
