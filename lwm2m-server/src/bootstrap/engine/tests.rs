use lwm2m_codec::coap::{MessageBuilder, Type};
use lwm2m_objects::{Security, Server};
use proptest::prelude::*;

use super::*;
use crate::store::BootstrapConfig;

const T0: Timestamp = Timestamp::from_unix_secs(1_700_000_000);

fn peer() -> SocketAddr {
    "10.0.0.1:5683".parse().unwrap()
}

fn request(ep: &str) -> Vec<u8> {
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 1);
    b.uri_path("/bs").uri_query(ep);
    b.to_vec().unwrap()
}

fn config() -> BootstrapConfig {
    BootstrapConfig::new()
        .security(
            1,
            &Security {
                lwm2m_server_uri: "coap://10.0.0.9:5683".into(),
                security_mode: 3,
                short_server_id: Some(101),
                ..Security::default()
            },
        )
        .unwrap()
        .server(
            0,
            &Server {
                short_server_id: 101,
                lifetime: 300,
                binding: "U".into(),
                ..Server::default()
            },
        )
        .unwrap()
}

fn bootstrapper(configs: &[(&str, BootstrapConfig)]) -> Bootstrapper {
    let mut store = MemoryBootstrapConfigStore::default();
    for (ep, config) in configs {
        store.put(ep, config.clone()).unwrap();
    }
    Bootstrapper::new(store)
}

fn ask(bs: &mut Bootstrapper, now: Timestamp, ep: &str) -> Code {
    let bytes = request(&format!("ep={ep}"));
    bs.handle_request(now, peer(), &Message::parse(&bytes).unwrap())
        .code()
}

fn events(bs: &mut Bootstrapper) -> Vec<BootstrapEvent> {
    std::iter::from_fn(|| bs.poll_event()).collect()
}

fn answer_all(bs: &mut Bootstrapper, now: Timestamp) -> Vec<Operation> {
    let mut done = Vec::new();
    while let Some(command) = bs.poll_command() {
        done.push(command.operation);
        let code = command.operation.success_code();
        bs.handle_response(
            now,
            &command.session,
            command.step,
            StepOutcome::Answered(code),
        );
    }
    done
}

#[test]
fn a_whole_session_in_order() {
    let mut bs = bootstrapper(&[("node1", config())]);
    assert_eq!(ask(&mut bs, T0, "node1"), Code::CHANGED);
    assert_eq!(bs.session_count(), 1);
    let done = answer_all(&mut bs, T0);
    let names: Vec<String> = done.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "Bootstrap-Delete /",
            "Bootstrap-Write /0/1",
            "Bootstrap-Write /1/0",
            "Bootstrap-Finish"
        ]
    );
    let events = events(&mut bs);
    assert_eq!(events.len(), 6);
    assert!(matches!(
        &events[0],
        BootstrapEvent::Started { endpoint, steps: 4, default_config: false, .. } if &**endpoint == "node1"
    ));
    for (i, event) in events[1..5].iter().enumerate() {
        assert!(
            matches!(event, BootstrapEvent::StepSucceeded { step, .. } if *step == i + 1),
            "{event:?}"
        );
    }
    assert!(matches!(&events[5], BootstrapEvent::Finished { endpoint } if &**endpoint == "node1"));
    assert_eq!(bs.session_count(), 0);
    assert_eq!(
        bs.status("node1"),
        Some(&BootstrapStatus::Finished { at: T0 })
    );
    assert_eq!(bs.poll_timeout(), None);
}

#[test]
fn the_default_configuration_serves_unknown_endpoints_and_none_is_a_bad_request() {
    let mut bs = bootstrapper(&[("node1", config())]);
    assert_eq!(ask(&mut bs, T0, "stranger"), Code::BAD_REQUEST);
    assert!(matches!(
        &events(&mut bs)[..],
        [BootstrapEvent::Refused { refusal: BootstrapRefusal::UnknownEndpoint { endpoint }, .. }] if endpoint == "stranger"
    ));
    bs.store_mut()
        .put_default_config(BootstrapConfig::new())
        .unwrap();
    assert_eq!(ask(&mut bs, T0, "stranger"), Code::CHANGED);
    assert!(matches!(
        &events(&mut bs)[..],
        [BootstrapEvent::Started {
            steps: 2,
            default_config: true,
            ..
        }]
    ));
}

#[test]
fn a_rejected_step_fails_the_session_naming_step_and_code() {
    let mut bs = bootstrapper(&[("node1", config())]);
    ask(&mut bs, T0, "node1");
    let delete = bs.poll_command().unwrap();
    bs.handle_response(T0, &delete.session, 1, StepOutcome::Answered(Code::DELETED));
    let write = bs.poll_command().unwrap();
    assert_eq!(write.step, 2);
    let later = T0 + Duration::from_secs(1);
    bs.handle_response(
        later,
        &write.session,
        2,
        StepOutcome::Answered(Code::BAD_REQUEST),
    );
    assert!(bs.poll_command().is_none());
    let failure = BootstrapFailure {
        step: 2,
        operation: Operation::Write(lwm2m_model::Path::parse("/0/1").unwrap()),
        reason: FailureReason::Rejected(Code::BAD_REQUEST),
    };
    assert_eq!(
        failure.to_string(),
        "step 2 (Bootstrap-Write /0/1) failed: the client answered 4.00 Bad Request"
    );
    let events = events(&mut bs);
    assert_eq!(
        events.last(),
        Some(&BootstrapEvent::Failed {
            endpoint: "node1".into(),
            failure: failure.clone()
        })
    );
    assert_eq!(
        bs.status("node1"),
        Some(&BootstrapStatus::Failed { at: later, failure })
    );
    assert_eq!(bs.session_count(), 0);
}

#[test]
fn no_answer_and_step_timeout_fail_the_session() {
    let mut bs = bootstrapper(&[("a", config()), ("b", config())]);
    ask(&mut bs, T0, "a");
    let first = bs.poll_command().unwrap();
    bs.handle_response(
        T0,
        &first.session,
        1,
        StepOutcome::NoResponse("timeout".into()),
    );
    assert!(matches!(
        events(&mut bs).last(),
        Some(BootstrapEvent::Failed {
            failure: BootstrapFailure {
                step: 1,
                reason: FailureReason::NoResponse(_),
                ..
            },
            ..
        })
    ));

    ask(&mut bs, T0, "b");
    let deadline = bs.poll_timeout().unwrap();
    assert_eq!(deadline, T0 + bs.settings().step_timeout);
    let just_before = bs
        .settings()
        .step_timeout
        .saturating_sub(Duration::from_millis(1));
    bs.handle_timeout(T0 + just_before);
    assert_eq!(bs.session_count(), 1);
    bs.handle_timeout(deadline);
    assert_eq!(bs.session_count(), 0);
    assert!(matches!(
        events(&mut bs).last(),
        Some(BootstrapEvent::Failed {
            failure: BootstrapFailure {
                step: 1,
                reason: FailureReason::Timeout,
                ..
            },
            ..
        })
    ));
    // The late answer changes nothing.
    let stale = bs.poll_command().unwrap();
    bs.handle_response(
        deadline,
        &stale.session,
        1,
        StepOutcome::Answered(Code::DELETED),
    );
    assert!(bs.poll_command().is_none());
    assert!(events(&mut bs).is_empty());
}

#[test]
fn a_second_request_restarts_the_session_and_stale_answers_are_ignored() {
    let mut bs = bootstrapper(&[("node1", config())]);
    ask(&mut bs, T0, "node1");
    let old = bs.poll_command().unwrap();
    assert!(bs.is_current(&old.session));
    assert_eq!(ask(&mut bs, T0, "node1"), Code::CHANGED);
    assert!(!bs.is_current(&old.session));
    assert_eq!(bs.session_count(), 1);
    let events = events(&mut bs);
    assert!(matches!(
        &events[1],
        BootstrapEvent::Failed {
            failure: BootstrapFailure {
                step: 1,
                reason: FailureReason::Restarted,
                ..
            },
            ..
        }
    ));
    assert!(matches!(&events[2], BootstrapEvent::Started { .. }));
    // The old session's answer is ignored; the new session starts from step 1 again.
    bs.handle_response(T0, &old.session, 1, StepOutcome::Answered(Code::DELETED));
    let new = bs.poll_command().unwrap();
    assert_eq!(new.step, 1);
    assert_ne!(new.session, old.session);
    assert!(bs.poll_command().is_none());
    // An answer for a step other than the current one is ignored too.
    bs.handle_response(T0, &new.session, 3, StepOutcome::Answered(Code::CHANGED));
    assert!(bs.poll_command().is_none());
    bs.handle_response(T0, &new.session, 1, StepOutcome::Answered(Code::DELETED));
    assert_eq!(bs.poll_command().unwrap().step, 2);
}

#[test]
fn sessions_are_bounded() {
    let mut bs = bootstrapper(&[]).with_settings(BootstrapSettings::default().max_sessions(2));
    bs.store_mut().put_default_config(config()).unwrap();
    assert_eq!(ask(&mut bs, T0, "a"), Code::CHANGED);
    assert_eq!(ask(&mut bs, T0, "b"), Code::CHANGED);
    assert_eq!(ask(&mut bs, T0, "c"), Code::SERVICE_UNAVAILABLE);
    // A restart of a running endpoint is still allowed at the limit.
    assert_eq!(ask(&mut bs, T0, "a"), Code::CHANGED);
    assert_eq!(bs.session_count(), 2);
}

#[test]
fn the_status_table_is_bounded() {
    let mut bs = bootstrapper(&[]).with_settings(BootstrapSettings::default().status_capacity(2));
    bs.store_mut()
        .put_default_config(BootstrapConfig::default())
        .unwrap();
    for ep in ["a", "b", "c"] {
        ask(&mut bs, T0, ep);
        answer_all(&mut bs, T0);
    }
    assert_eq!(bs.status("a"), None);
    assert!(bs.status("b").is_some() && bs.status("c").is_some());
}

#[test]
fn an_unencodable_configuration_is_an_internal_error() {
    let bad = BootstrapConfig::default().write(
        lwm2m_model::Path::parse("/1/0").unwrap(),
        lwm2m_model::Node::from(lwm2m_model::Resource::single(1, 5)),
    );
    let mut bs = bootstrapper(&[("node1", bad)]);
    assert_eq!(ask(&mut bs, T0, "node1"), Code::INTERNAL_SERVER_ERROR);
    assert_eq!(bs.session_count(), 0);
}

proptest! {
    /// Garbage requests and random outcomes in any order never panic, and sessions never
    /// exceed the limit.
    #[test]
    fn arbitrary_traffic_never_panics(
        script in proptest::collection::vec((0u8..4, any::<u8>(), proptest::collection::vec(any::<u8>(), 0..24)), 0..40)
    ) {
        let mut bs = bootstrapper(&[("a", config())]).with_settings(BootstrapSettings::default().max_sessions(2));
        bs.store_mut().put_default_config(BootstrapConfig::new()).unwrap();
        let mut now = T0;
        let mut pending: Vec<Command> = Vec::new();
        for (kind, byte, bytes) in script {
            now = now + Duration::from_secs(u64::from(byte));
            match kind {
                0 => {
                    if let Ok(message) = Message::parse(&bytes) {
                        let _ = bs.handle_request(now, peer(), &message);
                    }
                }
                1 => {
                    let ep = ["a", "b", "c", ""][usize::from(byte % 4)];
                    let _ = ask(&mut bs, now, ep);
                }
                2 => {
                    if !pending.is_empty() {
                        let command = pending.remove(usize::from(byte) % pending.len());
                        let outcome = if byte % 3 == 0 {
                            StepOutcome::NoResponse("x".into())
                        } else {
                            StepOutcome::Answered(Code::from_u8(byte))
                        };
                        bs.handle_response(now, &command.session, command.step, outcome);
                    }
                }
                _ => bs.handle_timeout(now),
            }
            pending.extend(std::iter::from_fn(|| bs.poll_command()));
            prop_assert!(bs.session_count() <= 2);
            let _ = events(&mut bs);
        }
    }
}
