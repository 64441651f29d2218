use lwm2m_codec::coap::Code;

use super::*;
use crate::firmware::MemorySink;

fn fw() -> FirmwareObject {
    FirmwareObject::new(MemorySink::new()).with_protocols(&[Protocol::Coap, Protocol::Http])
}

fn write_uri(fw: &mut FirmwareObject, uri: &str) -> Result<(), DmError> {
    fw.write(
        0,
        alloc::vec![Resource::single(PACKAGE_URI, uri)],
        WriteMode::ReplaceResources,
    )
}

fn write_package(fw: &mut FirmwareObject, data: &[u8]) -> Result<(), DmError> {
    fw.write(
        0,
        alloc::vec![Resource::single(PACKAGE, data.to_vec())],
        WriteMode::ReplaceResources,
    )
}

fn execute(fw: &mut FirmwareObject) -> Result<(), DmError> {
    fw.execute(0, UPDATE, &ExecuteArgs::parse(b"").unwrap())
}

#[test]
fn push_in_blocks_then_update_succeeds() {
    let mut fw = fw();
    assert_eq!(
        fw.push_block(0, b"abcd", true, Some(6)),
        Ok(PushStep::Continue)
    );
    assert_eq!(fw.state(), FirmwareState::Downloading);
    assert_eq!(fw.push_block(4, b"ef", false, None), Ok(PushStep::Complete));
    assert_eq!(fw.state(), FirmwareState::Downloaded);
    assert_eq!(fw.sink::<MemorySink>().unwrap().data(), b"abcdef");
    execute(&mut fw).unwrap();
    assert_eq!(fw.state(), FirmwareState::Updating);
    assert_eq!(fw.take_action(), Some(Action::Apply));
    fw.apply();
    assert_eq!(fw.state(), FirmwareState::Idle);
    assert_eq!(fw.result(), UpdateResult::Success);
    assert_eq!(
        fw.sink::<MemorySink>().unwrap().applied(),
        [b"abcdef".to_vec()]
    );
}

#[test]
fn update_is_refused_outside_downloaded() {
    let mut fw = fw();
    let e = execute(&mut fw).unwrap_err();
    assert_eq!(e.code(), Code::METHOD_NOT_ALLOWED);
    fw.push_block(0, b"abcd", true, None).unwrap();
    assert_eq!(
        execute(&mut fw).unwrap_err().code(),
        Code::METHOD_NOT_ALLOWED
    );
    assert_eq!(fw.state(), FirmwareState::Downloading);
}

#[test]
fn a_failed_apply_goes_back_to_downloaded_with_result_8() {
    let mut fw = FirmwareObject::new(MemorySink::new().failing_apply());
    write_package(&mut fw, b"image").unwrap();
    assert_eq!(fw.state(), FirmwareState::Downloaded);
    execute(&mut fw).unwrap();
    fw.apply();
    assert_eq!(fw.state(), FirmwareState::Downloaded);
    assert_eq!(fw.result(), UpdateResult::UpdateFailed);
}

#[test]
fn empty_package_null_byte_or_empty_uri_reset_to_idle() {
    for reset in [&b""[..], &[0u8][..]] {
        let mut fw = fw();
        write_package(&mut fw, b"image").unwrap();
        assert_eq!(fw.state(), FirmwareState::Downloaded);
        write_package(&mut fw, reset).unwrap();
        assert_eq!(fw.state(), FirmwareState::Idle);
        assert_eq!(fw.result(), UpdateResult::Initial);
    }
    let mut fw = fw();
    write_uri(&mut fw, "coap://192.0.2.1/fw").unwrap();
    assert_eq!(fw.state(), FirmwareState::Downloading);
    write_uri(&mut fw, "").unwrap();
    assert_eq!(fw.state(), FirmwareState::Idle);
    assert_eq!(fw.package_uri(), "");
}

#[test]
fn writes_while_updating_get_4_05() {
    let mut fw = fw();
    write_package(&mut fw, b"image").unwrap();
    execute(&mut fw).unwrap();
    assert_eq!(
        write_uri(&mut fw, "").unwrap_err().code(),
        Code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        fw.push_block(0, b"x", false, None),
        Err(PushRefusal::NotAllowed)
    );
    assert!(!fw.cancel());
    assert_eq!(fw.state(), FirmwareState::Updating);
}

#[test]
fn bad_uri_is_7_unsupported_scheme_is_9_state_stays_idle() {
    let mut fw = fw();
    write_uri(&mut fw, "coap//nohost").unwrap();
    assert_eq!(
        (fw.state(), fw.result()),
        (FirmwareState::Idle, UpdateResult::InvalidUri)
    );
    write_uri(&mut fw, "ftp://192.0.2.1/fw").unwrap();
    assert_eq!(fw.result(), UpdateResult::UnsupportedProtocol);
    // Listed protocols only: this object lists CoAP and HTTP, not CoAPS.
    write_uri(&mut fw, "coaps://192.0.2.1/fw").unwrap();
    assert_eq!(fw.result(), UpdateResult::UnsupportedProtocol);
    assert_eq!(fw.state(), FirmwareState::Idle);
    assert_eq!(fw.take_action(), None);
}

#[test]
fn a_new_uri_while_busy_is_refused_with_4_00() {
    let mut fw = fw();
    write_uri(&mut fw, "http://192.0.2.1/fw").unwrap();
    assert!(matches!(fw.take_action(), Some(Action::Download(_))));
    let e = write_uri(&mut fw, "http://192.0.2.1/other").unwrap_err();
    assert_eq!(e.code(), Code::BAD_REQUEST);
    // A push cannot start while pulling either.
    assert_eq!(fw.push_block(0, b"abc", true, None), Err(PushRefusal::Busy));
    fw.download_chunk(b"abc").unwrap();
    fw.download_finished(Ok(()));
    assert_eq!(fw.state(), FirmwareState::Downloaded);
    assert_eq!(fw.sink::<MemorySink>().unwrap().data(), b"abc");
}

#[test]
fn out_of_order_blocks_abort_with_connection_lost() {
    let mut fw = fw();
    assert_eq!(
        fw.push_block(16, b"x", true, None),
        Err(PushRefusal::OutOfOrder)
    );
    assert_eq!(fw.state(), FirmwareState::Idle);
    fw.push_block(0, &[1; 16], true, None).unwrap();
    assert_eq!(
        fw.push_block(48, &[1; 16], true, None),
        Err(PushRefusal::OutOfOrder)
    );
    assert_eq!(fw.state(), FirmwareState::Idle);
    assert_eq!(fw.result(), UpdateResult::ConnectionLost);
    assert!(fw.sink::<MemorySink>().unwrap().data().is_empty());
}

#[test]
fn sink_errors_become_results() {
    let mut fw = FirmwareObject::new(MemorySink::with_capacity_limit(10));
    assert!(matches!(
        fw.push_block(0, &[1; 8], true, Some(100)),
        Err(PushRefusal::Sink(FirmwareError::NotEnoughFlash(_)))
    ));
    assert_eq!(
        (fw.state(), fw.result()),
        (FirmwareState::Idle, UpdateResult::NotEnoughFlash)
    );
    fw.push_block(0, &[1; 8], true, None).unwrap();
    assert!(fw.push_block(8, &[1; 8], false, None).is_err());
    assert_eq!(fw.result(), UpdateResult::NotEnoughFlash);

    let mut fw = FirmwareObject::new(MemorySink::new().with_integrity_check(|d| {
        if d.starts_with(b"FW") {
            Ok(())
        } else {
            Err("no FW header".into())
        }
    }));
    write_package(&mut fw, b"XXimage").unwrap();
    assert_eq!(
        (fw.state(), fw.result()),
        (FirmwareState::Idle, UpdateResult::IntegrityCheckFailure)
    );
    write_package(&mut fw, b"FWimage").unwrap();
    assert_eq!(fw.state(), FirmwareState::Downloaded);
}

#[test]
fn read_lists_state_result_protocols_and_hides_the_package() {
    let fw = fw().with_package_info("app", "1.2");
    let instance = fw.read(0).unwrap();
    assert!(instance.resource(PACKAGE).is_none());
    assert_eq!(instance.value(STATE), Some(&0i64.into()));
    assert_eq!(instance.value(UPDATE_RESULT), Some(&0i64.into()));
    let protocols = instance.resource(8).unwrap().instances().unwrap();
    let values: Vec<lwm2m_model::Value> = protocols.values().cloned().collect();
    assert_eq!(values, [0i64.into(), 2i64.into()]);
    assert_eq!(instance.value(9), Some(&2i64.into()));
    assert_eq!(fw.resources(0), [0, 1, 2, 3, 5, 6, 7, 8, 9]);
    assert_eq!(fw.read(1).unwrap_err().code(), Code::NOT_FOUND);
}

#[test]
fn delivery_method_limits_push_and_pull() {
    let mut fw = fw().with_delivery(DeliveryMethod::PullOnly);
    assert_eq!(
        write_package(&mut fw, b"image").unwrap_err().code(),
        Code::METHOD_NOT_ALLOWED
    );
    let mut fw = self::fw().with_delivery(DeliveryMethod::PushOnly);
    assert_eq!(
        write_uri(&mut fw, "coap://192.0.2.1/x").unwrap_err().code(),
        Code::METHOD_NOT_ALLOWED
    );
}

proptest::proptest! {
    /// Any sequence of blocks (numbers, sizes, flags) leaves a consistent state and never
    /// panics; whatever reaches Downloaded is exactly the bytes of consecutive blocks.
    #[test]
    fn arbitrary_block_sequences_never_panic(
        blocks in proptest::collection::vec((0u64..200, 0usize..40, proptest::bool::ANY), 0..30)
    ) {
        let mut fw = FirmwareObject::new(MemorySink::with_capacity_limit(150));
        for (offset, len, more) in blocks {
            let data = alloc::vec![0xA5u8; len];
            let _ = fw.push_block(offset, &data, more, None);
            match fw.state() {
                FirmwareState::Downloading => proptest::prop_assert!(fw.pushing()),
                FirmwareState::Downloaded => {
                    proptest::prop_assert!(fw.sink::<MemorySink>().unwrap().is_finished());
                }
                _ => {}
            }
        }
    }
}

#[test]
fn coaps_is_listed_and_pulled_with_dtls() {
    let mut fw = FirmwareObject::new(MemorySink::new());
    assert_eq!(
        fw.protocols().contains(&Protocol::Coaps),
        cfg!(feature = "dtls")
    );
    assert!(fw.protocols().contains(&Protocol::Coap));
    write_uri(&mut fw, "coaps://192.0.2.1:5690/fw.bin").unwrap();
    if cfg!(feature = "dtls") {
        assert_eq!(fw.state(), FirmwareState::Downloading);
        match fw.take_action() {
            Some(Action::Download(uri)) => {
                assert_eq!((uri.host(), uri.port()), ("192.0.2.1", 5690));
                assert_eq!(uri.path(), ["fw.bin"]);
            }
            other => panic!("expected a download, got {other:?}"),
        }
    } else {
        assert_eq!(
            (fw.state(), fw.result()),
            (FirmwareState::Idle, UpdateResult::UnsupportedProtocol)
        );
    }
}
