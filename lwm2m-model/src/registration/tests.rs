use super::*;
use alloc::vec;

#[test]
fn vector_register() {
    let p = RegisterParams::parse(["ep=node1", "lt=300", "lwm2m=1.0", "b=U"]).unwrap();
    assert_eq!(p.endpoint(), "node1");
    assert_eq!(p.lifetime, 300);
    assert_eq!(p.lwm2m_version, Version::V1_0);
    assert_eq!(p.binding, BindingMode::Udp);
    assert_eq!(p.sms, None);
    assert_eq!(
        p.to_query_items(),
        ["ep=node1", "lt=300", "lwm2m=1.0", "b=U"]
    );
}

#[test]
fn vector_register_sms_udp() {
    let items = [
        "ep=node1",
        "lt=86400",
        "lwm2m=1.0",
        "b=US",
        "sms=447700900123",
    ];
    let p = RegisterParams::parse(items).unwrap();
    assert_eq!(p.binding, BindingMode::UdpSms);
    assert_eq!(p.sms.as_ref().map(Msisdn::as_str), Some("447700900123"));
    assert_eq!(p.to_query_items(), items);
}

#[test]
fn vector_update_and_bootstrap() {
    let u = UpdateParams::parse(["lt=6000"]).unwrap();
    assert_eq!(
        u,
        UpdateParams {
            lifetime: Some(6000),
            ..Default::default()
        }
    );
    assert_eq!(u.to_query_items(), ["lt=6000"]);
    let b = BootstrapParams::parse(["ep=node1"]).unwrap();
    assert_eq!(b.endpoint(), "node1");
    assert_eq!(b.to_query_items(), ["ep=node1"]);
}

#[test]
fn register_defaults_and_order() {
    let p = RegisterParams::parse(["b=UQ", "ep=urn:imei:490154203237518"]).unwrap();
    assert_eq!(p.lifetime, DEFAULT_LIFETIME);
    assert_eq!(p.lwm2m_version, Version::V1_0);
    assert_eq!(p.binding, BindingMode::UdpQueue);
    assert_eq!(p, {
        let mut q = RegisterParams::new("urn:imei:490154203237518").unwrap();
        q.binding = BindingMode::UdpQueue;
        q
    });
    // A newer version parses; rejecting it (4.12) is the server's separate check.
    let p = RegisterParams::parse(["ep=a", "lwm2m=1.1"]).unwrap();
    assert!(!p.lwm2m_version.is_supported_by(Version::V1_0));
}

#[test]
fn register_errors() {
    let err = |items: &[&str]| RegisterParams::parse(items).unwrap_err();
    assert_eq!(err(&["lt=300"]), RegistrationError::MissingEndpoint);
    assert_eq!(err(&[]), RegistrationError::MissingEndpoint);
    assert_eq!(
        err(&["ep=a", "Q"]),
        RegistrationError::Unknown { name: "Q".into() }
    );
    assert_eq!(
        err(&["ep=a", "ep=b"]),
        RegistrationError::Duplicate { name: "ep" }
    );
    assert_eq!(err(&["ep"]), RegistrationError::MissingValue { name: "ep" });
    assert_eq!(
        err(&["ep=a", "lt"]),
        RegistrationError::MissingValue { name: "lt" }
    );
    for bad in [
        "ep=",
        "lt=0",
        "lt=-1",
        "lt=abc",
        "lt=+5",
        "lt=4294967296",
        "lwm2m=1",
        "lwm2m=one",
        "b=u",
        "b=UQSQ",
        "b=USQ",
        "b=T",
        "b=",
        "sms=+447700900123",
        "sms=",
        "sms=1234567890123456",
        "sms=44 77",
    ] {
        let items = ["ep=x", bad];
        let items = if bad.starts_with("ep=") {
            &items[1..]
        } else {
            &items[..]
        };
        assert!(
            matches!(err(items), RegistrationError::InvalidValue { .. }),
            "{bad}"
        );
    }
    assert_eq!(
        err(&["ep=a", "b=UQSQ"]).to_string(),
        "invalid value \"UQSQ\" for b (expected one of U, UQ, S, SQ, US, UQS)"
    );
}

#[test]
fn lenient_keeps_unknown_parameters() {
    let p = RegisterParams::parse_lenient(["ep=a", "Q", "x=1"]).unwrap();
    assert_eq!(
        p.additional,
        vec![
            ("Q".to_string(), None),
            ("x".to_string(), Some("1".to_string()))
        ]
    );
    assert_eq!(
        p.to_query_items(),
        ["ep=a", "lt=86400", "lwm2m=1.0", "b=U", "Q", "x=1"]
    );
    assert_eq!(
        RegisterParams::parse_lenient(["ep=a", "lt=x"]).unwrap_err(),
        RegistrationError::InvalidValue {
            name: "lt",
            value: "x".into(),
            expected: "a lifetime of 1-4294967295 seconds"
        }
    );
}

#[test]
fn update_rules() {
    assert!(UpdateParams::parse(Vec::<&str>::new()).unwrap().is_empty());
    assert_eq!(
        UpdateParams::parse(["ep=a"]),
        Err(RegistrationError::NotAllowed { name: "ep" })
    );
    assert_eq!(
        UpdateParams::parse(["lwm2m=1.0"]),
        Err(RegistrationError::NotAllowed { name: "lwm2m" })
    );
    let u = UpdateParams::parse(["b=UQS", "sms=123", "lt=60"]).unwrap();
    assert_eq!(u.to_query_items(), ["lt=60", "b=UQS", "sms=123"]);
    let mut p = RegisterParams::new("a").unwrap();
    u.apply_to(&mut p);
    assert_eq!(p.lifetime, 60);
    assert_eq!(p.binding, BindingMode::UdpQueueSms);
    assert_eq!(p.sms, Some(Msisdn::new("123").unwrap()));
}

#[test]
fn bootstrap_rules() {
    assert_eq!(
        BootstrapParams::parse(Vec::<&str>::new()),
        Err(RegistrationError::MissingEndpoint)
    );
    assert_eq!(
        BootstrapParams::parse(["ep=a", "lt=5"]),
        Err(RegistrationError::NotAllowed { name: "lt" })
    );
    assert!(BootstrapParams::new("").is_err());
    assert_eq!(BootstrapParams::new("a").unwrap().endpoint(), "a");
}

#[test]
fn binding_modes() {
    for b in BindingMode::ALL {
        assert_eq!(BindingMode::parse(b.as_str()), Some(b));
        assert_eq!(b.to_string().parse::<BindingMode>(), Ok(b));
    }
    let flags = |b: BindingMode| (b.uses_udp(), b.uses_sms(), b.is_queue_mode());
    assert_eq!(flags(BindingMode::Udp), (true, false, false));
    assert_eq!(flags(BindingMode::UdpQueue), (true, false, true));
    assert_eq!(flags(BindingMode::Sms), (false, true, false));
    assert_eq!(flags(BindingMode::SmsQueue), (false, true, true));
    assert_eq!(flags(BindingMode::UdpSms), (true, true, false));
    assert_eq!(flags(BindingMode::UdpQueueSms), (true, true, true));
    assert_eq!(BindingMode::default(), BindingMode::Udp);
    assert!("UQSQ".parse::<BindingMode>().is_err());
}
