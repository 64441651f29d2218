use super::*;
use alloc::format;
use alloc::vec;

const NUMERIC: Option<DataType> = Some(DataType::Integer);

fn parse(query: &str) -> Result<AttributeUpdate, AttributeError> {
    AttributeUpdate::parse(query.split('&'))
}

/// Write-Attributes on a numeric resource with nothing stored yet (test-vectors §7).
fn write_resource(query: &str) -> Result<NotificationAttributes, AttributeError> {
    NotificationAttributes::default().write(&parse(query)?, Level::Resource, NUMERIC)
}

#[test]
fn vector_set_all_five() {
    let update =
        AttributeUpdate::parse(["pmin=10", "pmax=60", "gt=50", "lt=42.2", "st=0.5"]).unwrap();
    assert_eq!(
        update,
        AttributeUpdate {
            pmin: Some(AttributeChange::Set(10)),
            pmax: Some(AttributeChange::Set(60)),
            gt: Some(AttributeChange::Set(50.0)),
            lt: Some(AttributeChange::Set(42.2)),
            st: Some(AttributeChange::Set(0.5)),
        }
    );
    let stored = NotificationAttributes::default()
        .write(&update, Level::Resource, NUMERIC)
        .unwrap();
    assert_eq!(
        stored.to_query_items(),
        ["pmin=10", "pmax=60", "gt=50", "lt=42.2", "st=0.5"]
    );
}

#[test]
fn vector_unset_pmin() {
    let update = AttributeUpdate::parse(["pmin"]).unwrap();
    assert_eq!(update.pmin, Some(AttributeChange::Unset));
    assert_eq!(update.to_query_items(), ["pmin"]);
    let stored = NotificationAttributes {
        pmin: Some(10),
        pmax: Some(60),
        ..Default::default()
    };
    let after = stored.write(&update, Level::ObjectInstance, None).unwrap();
    assert_eq!(
        after,
        NotificationAttributes {
            pmax: Some(60),
            ..Default::default()
        }
    );
}

#[test]
fn vector_validation_on_numeric_resource() {
    assert_eq!(
        write_resource("gt=50&lt=42.2").unwrap(),
        NotificationAttributes {
            gt: Some(50.0),
            lt: Some(42.2),
            ..Default::default()
        }
    );
    assert_eq!(
        write_resource("gt=10&lt=20"),
        Err(AttributeError::LtNotBelowGt { lt: 20.0, gt: 10.0 })
    );
    assert_eq!(
        write_resource("gt=50&lt=40&st=5"),
        Err(AttributeError::StepTooLarge {
            lt: 40.0,
            st: 5.0,
            gt: 50.0
        })
    );
    assert!(write_resource("gt=50&lt=40&st=4").is_ok());
    // st = 0 is allowed (digest: st >= 0).
    assert!(write_resource("st=0").is_ok());
    assert_eq!(
        write_resource("st=-1"),
        Err(AttributeError::NegativeStep(-1.0))
    );
    assert!(matches!(
        write_resource("pmin=-5"),
        Err(AttributeError::InvalidValue { name: "pmin", ref value, .. }) if value == "-5"
    ));
    assert!(matches!(
        write_resource("pmin=abc"),
        Err(AttributeError::InvalidValue { name: "pmin", ref value, .. }) if value == "abc"
    ));
    assert_eq!(
        write_resource("foo=1"),
        Err(AttributeError::Unknown { name: "foo".into() })
    );
    // `gt=5` sent to /3/0 (instance level).
    assert_eq!(
        NotificationAttributes::default().write(
            &parse("gt=5").unwrap(),
            Level::ObjectInstance,
            None
        ),
        Err(AttributeError::NotAllowedAtLevel {
            name: "gt",
            level: Level::ObjectInstance
        })
    );
}

#[test]
fn merged_state_is_validated() {
    // Stored lt=40 at the resource; a later gt=30 makes lt >= gt.
    let stored = write_resource("lt=40").unwrap();
    assert_eq!(
        stored.write(&parse("gt=30").unwrap(), Level::Resource, NUMERIC),
        Err(AttributeError::LtNotBelowGt { lt: 40.0, gt: 30.0 })
    );
    let stored = write_resource("pmin=10").unwrap();
    assert_eq!(
        stored.write(&parse("pmax=5").unwrap(), Level::Resource, NUMERIC),
        Err(AttributeError::PmaxBelowPmin { pmin: 10, pmax: 5 })
    );
    assert!(stored
        .write(&parse("pmax=10").unwrap(), Level::Resource, NUMERIC)
        .is_ok());
    // Unsetting pmin lifts the constraint.
    assert!(stored
        .write(&parse("pmin&pmax=5").unwrap(), Level::Resource, NUMERIC)
        .is_ok());
}

#[test]
fn levels_and_types() {
    let pmin = parse("pmin=1").unwrap();
    let none = NotificationAttributes::default();
    for level in [Level::Object, Level::ObjectInstance, Level::Resource] {
        assert!(none.write(&pmin, level, None).is_ok());
    }
    for level in [Level::Root, Level::ResourceInstance] {
        assert_eq!(
            none.write(&pmin, level, NUMERIC),
            Err(AttributeError::InvalidLevel(level))
        );
    }
    assert_eq!(
        none.write(&parse("lt").unwrap(), Level::Object, None),
        Err(AttributeError::NotAllowedAtLevel {
            name: "lt",
            level: Level::Object
        })
    );
    assert!(none
        .write(
            &parse("st=1").unwrap(),
            Level::Resource,
            Some(DataType::Float)
        )
        .is_ok());
    for t in [
        Some(DataType::String),
        Some(DataType::Time),
        Some(DataType::Boolean),
        None,
    ] {
        assert_eq!(
            none.write(&parse("st=1").unwrap(), Level::Resource, t),
            Err(AttributeError::NotNumeric {
                name: "st",
                data_type: t
            })
        );
    }
    // pmin/pmax are fine on any readable resource, numeric or not.
    assert!(none
        .write(&pmin, Level::Resource, Some(DataType::String))
        .is_ok());
}

#[test]
fn parse_errors() {
    let err = |q: &str| parse(q).unwrap_err();
    assert_eq!(
        err("pmin=1&pmin=2"),
        AttributeError::Duplicate { name: "pmin" }
    );
    assert_eq!(err("pmin&pmin"), AttributeError::Duplicate { name: "pmin" });
    assert_eq!(err("gt=1&gt"), AttributeError::Duplicate { name: "gt" });
    assert_eq!(err("dim=3"), AttributeError::ReadOnly { name: "dim" });
    assert_eq!(err("ver=1.1"), AttributeError::ReadOnly { name: "ver" });
    assert_eq!(
        err("PMIN=1"),
        AttributeError::Unknown {
            name: "PMIN".into()
        }
    );
    assert_eq!(
        err(""),
        AttributeError::Unknown {
            name: String::new()
        }
    );
    for bad in [
        "pmin=",
        "pmin=+5",
        "pmin=1.5",
        "pmin=4294967296",
        "pmax=1e3",
        "gt=",
        "gt=abc",
        "gt=inf",
        "gt=NaN",
        "lt=infinity",
        "st=1..2",
        "gt=1e400",
        "gt=-",
        "gt=.",
    ] {
        assert!(
            matches!(err(bad), AttributeError::InvalidValue { .. }),
            "{bad} should be an invalid value"
        );
    }
    assert_eq!(
        parse("pmin=4294967295").unwrap().pmin,
        Some(AttributeChange::Set(u32::MAX))
    );
    assert_eq!(
        parse("gt=-1.5e2").unwrap().gt,
        Some(AttributeChange::Set(-150.0))
    );
    assert_eq!(parse("gt=.5").unwrap().gt, Some(AttributeChange::Set(0.5)));
    assert!(AttributeUpdate::parse(Vec::<&str>::new())
        .unwrap()
        .is_empty());
}

#[test]
fn error_messages() {
    assert_eq!(
        AttributeError::NotNumeric {
            name: "gt",
            data_type: None
        }
        .to_string(),
        "gt needs a numeric (Integer or Float) resource, not a resource without a type"
    );
    assert_eq!(
        AttributeError::StepTooLarge {
            lt: 40.0,
            st: 5.0,
            gt: 50.0
        }
        .to_string(),
        "lt + 2*st (40 + 2*5) must be less than gt (50)"
    );
}

#[test]
fn inheritance_and_defaults() {
    let object = NotificationAttributes {
        pmin: Some(10),
        ..Default::default()
    };
    let instance = NotificationAttributes {
        pmax: Some(60),
        ..Default::default()
    };
    let resource = NotificationAttributes {
        gt: Some(50.0),
        lt: Some(42.2),
        ..Default::default()
    };
    let eff = NotificationAttributes::effective(&object, &instance, &resource);
    assert_eq!(
        eff,
        NotificationAttributes {
            pmin: Some(10),
            pmax: Some(60),
            gt: Some(50.0),
            lt: Some(42.2),
            st: None
        }
    );
    // The resource level wins over the instance level, which wins over the object level.
    let resource_pmin = NotificationAttributes {
        pmin: Some(1),
        ..Default::default()
    };
    let instance_pmin = NotificationAttributes {
        pmin: Some(5),
        ..Default::default()
    };
    assert_eq!(
        NotificationAttributes::effective(&object, &instance_pmin, &resource_pmin).pmin,
        Some(1)
    );
    assert_eq!(
        NotificationAttributes::effective(
            &object,
            &instance_pmin,
            &NotificationAttributes::default()
        )
        .pmin,
        Some(5)
    );
    // Server defaults fill only what no level set; without them pmin = 0 and no pmax.
    let none = NotificationAttributes::default();
    assert_eq!(none.with_defaults(Some(5), Some(300)).pmin, Some(5));
    assert_eq!(none.with_defaults(Some(5), Some(300)).pmax, Some(300));
    assert_eq!(none.with_defaults(None, None).pmin, Some(0));
    assert_eq!(none.with_defaults(None, None).pmax, None);
    assert_eq!(eff.with_defaults(Some(5), Some(300)).pmin, Some(10));
    assert!(none.is_empty());
    assert!(!eff.is_empty());
}

#[test]
fn discover_vectors() {
    // GET /3 -> </3>;pmin=10
    let object = DiscoverAttributes {
        notification: NotificationAttributes {
            pmin: Some(10),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(format!("</3>{object}"), "</3>;pmin=10");
    // GET /3/0 -> </3/0>;pmax=60, ..., </3/0/6>;dim=8, </3/0/7>;dim=8;gt=50;lt=42.2
    let instance = DiscoverAttributes {
        notification: NotificationAttributes {
            pmax: Some(60),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(format!("</3/0>{instance}"), "</3/0>;pmax=60");
    let six = DiscoverAttributes {
        dim: Some(8),
        ..Default::default()
    };
    assert_eq!(format!("</3/0/6>{six}"), "</3/0/6>;dim=8");
    let own = NotificationAttributes {
        gt: Some(50.0),
        lt: Some(42.2),
        ..Default::default()
    };
    let seven = DiscoverAttributes {
        dim: Some(8),
        notification: own,
        ..Default::default()
    };
    assert_eq!(format!("</3/0/7>{seven}"), "</3/0/7>;dim=8;gt=50;lt=42.2");
    // GET /3/0/7 -> effective attributes.
    let effective = DiscoverAttributes {
        dim: Some(8),
        notification: NotificationAttributes::effective(
            &object.notification,
            &instance.notification,
            &own,
        ),
        ..Default::default()
    };
    assert_eq!(
        format!("</3/0/7>{effective}"),
        "</3/0/7>;dim=8;pmin=10;pmax=60;gt=50;lt=42.2"
    );
    // Register/Discover object link with a version: </3303>;ver="1.1"
    let ver = DiscoverAttributes {
        ver: Some(Version::new(1, 1)),
        ..Default::default()
    };
    assert_eq!(format!("</3303>{ver}"), "</3303>;ver=\"1.1\"");
    assert_eq!(ver.link_params(), vec![("ver", "\"1.1\"".to_string())]);
    assert_eq!(
        format!("</3/0/1>{}", DiscoverAttributes::default()),
        "</3/0/1>"
    );
}

#[test]
fn discover_params_parse() {
    let parsed = DiscoverAttributes::from_link_params([
        ("dim", Some("8")),
        ("pmin", Some("10")),
        ("pmax", Some("60")),
        ("gt", Some("50")),
        ("lt", Some("42.2")),
        ("rt", Some("\"oma.lwm2m\"")),
    ])
    .unwrap();
    assert_eq!(parsed.dim, Some(8));
    assert_eq!(parsed.notification.lt, Some(42.2));
    assert_eq!(parsed.ver, None);
    let quoted = DiscoverAttributes::from_link_params([("ver", Some("\"1.1\""))]).unwrap();
    let bare = DiscoverAttributes::from_link_params([("ver", Some("1.1"))]).unwrap();
    assert_eq!(quoted, bare);
    assert_eq!(quoted.ver, Some(Version::new(1, 1)));
    let err = |p: &[(&str, Option<&str>)]| {
        DiscoverAttributes::from_link_params(p.iter().copied()).unwrap_err()
    };
    assert_eq!(
        err(&[("dim", Some("1")), ("dim", Some("2"))]),
        AttributeError::Duplicate { name: "dim" }
    );
    assert_eq!(
        err(&[("ver", Some("1.0")), ("ver", Some("1.1"))]),
        AttributeError::Duplicate { name: "ver" }
    );
    assert_eq!(
        err(&[("gt", Some("1")), ("gt", Some("2"))]),
        AttributeError::Duplicate { name: "gt" }
    );
    assert!(matches!(
        err(&[("pmin", None)]),
        AttributeError::InvalidValue { name: "pmin", .. }
    ));
    assert!(matches!(
        err(&[("dim", Some("x"))]),
        AttributeError::InvalidValue { name: "dim", .. }
    ));
    assert!(matches!(
        err(&[("dim", Some("65536"))]),
        AttributeError::InvalidValue { name: "dim", .. }
    ));
    assert!(matches!(
        err(&[("ver", Some("one"))]),
        AttributeError::InvalidValue { name: "ver", .. }
    ));
    // Round trip through the link form.
    let back = DiscoverAttributes::from_link_params(
        parsed
            .link_params()
            .iter()
            .map(|(n, v)| (*n, Some(v.as_str()))),
    )
    .unwrap();
    assert_eq!(back, parsed);
}
