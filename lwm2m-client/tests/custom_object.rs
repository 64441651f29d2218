//! A device developer's own object: an `ObjectHandler` that implements only what applies
//! (here a thermometer, IPSO 3303: read, and Execute of Reset Min and Max), served with every
//! other operation refused with 4.05, and observed through `Client::update_object`.

mod common;

use std::time::Duration;

use common::*;
use lwm2m_client::{ClientEvent, DmError, ObjectHandler};
use lwm2m_codec::coap::Code;
use lwm2m_codec::execute::ExecuteArgs;
use lwm2m_model::{ObjectDefinition, ObjectInstance, Resource};
use lwm2m_objects::{Temperature, TypedObject};

/// Reset Min and Max Measured Values.
const RESET: u16 = 5605;

struct Thermometer {
    celsius: f64,
    min: f64,
    max: f64,
}

impl Thermometer {
    fn set(&mut self, celsius: f64) {
        self.celsius = celsius;
        self.min = self.min.min(celsius);
        self.max = self.max.max(celsius);
    }
}

impl ObjectHandler for Thermometer {
    fn definition(&self) -> &ObjectDefinition {
        Temperature::DEFINITION
    }

    fn instances(&self) -> Vec<u16> {
        vec![0]
    }

    fn read(&self, _instance: u16) -> Result<ObjectInstance, DmError> {
        Ok(ObjectInstance::with_resources(
            0,
            [
                Resource::single(5700, self.celsius),
                Resource::single(5601, self.min),
                Resource::single(5602, self.max),
                Resource::single(5701, "Cel"),
            ],
        ))
    }

    fn execute(
        &mut self,
        _instance: u16,
        resource: u16,
        _arguments: &ExecuteArgs<'_>,
    ) -> Result<(), DmError> {
        assert_eq!(
            resource, RESET,
            "the client only executes executable resources"
        );
        self.min = self.celsius;
        self.max = self.celsius;
        Ok(())
    }
}

fn harness() -> Harness {
    let setup = Setup {
        extra: vec![Box::new(|b| {
            b.object(Thermometer {
                celsius: 21.5,
                min: 21.5,
                max: 21.5,
            })
        })],
        ..Setup::default()
    };
    let mut h = Harness::with(setup);
    h.register_all();
    h
}

fn set(h: &mut Harness, celsius: f64) {
    let now = h.now();
    h.client()
        .update_object::<Thermometer, _>(now, 3303, |t| t.set(celsius))
        .unwrap();
}

#[test]
fn a_custom_object_is_registered_read_executed_and_observed() {
    let mut h = harness();
    let register = h.state.rd.iter().find(|r| r.is_register()).unwrap();
    assert!(String::from_utf8_lossy(&register.payload).ends_with(",</3303/0>"));
    assert_eq!(text(&h.request(0, get("/3303/0/5700", None))), "21.5");
    let r = h.request(0, get("/3303/0", Some(TLV)));
    assert_eq!(
        r.body().as_ref(),
        hex("E4 15 E1 41 AC 00 00 E4 15 E2 41 AC 00 00 E4 16 44 41 AC 00 00 E3 16 45 43 65 6C")
    );
    // Units are read-only; Create and Delete are 4.05 by the handler's defaults.
    assert_eq!(
        h.request(0, req(Code::PUT, "/3303/0/5701", Some(TEXT), &[], b"K"))
            .code(),
        Code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        h.request(0, req(Code::DELETE, "/3303/0", None, &[], b""))
            .code(),
        Code::METHOD_NOT_ALLOWED
    );
    let create = req(
        Code::POST,
        "/3303",
        Some(TLV),
        &[],
        &hex("08 01 07 E4 16 44 41 AC 00 00"),
    );
    assert_eq!(h.request(0, create).code(), Code::METHOD_NOT_ALLOWED);
    // Discover lists the resources with values (5605 is an optional executable: not listed).
    assert_eq!(
        text(&h.request(0, get("/3303/0", Some(LINK)))),
        "</3303/0>,</3303/0/5601>,</3303/0/5602>,</3303/0/5700>,</3303/0/5701>"
    );
    // Observe the value; changes reported by the application are notified.
    let id = h.start(0, observe("/3303/0/5700", 0, None));
    assert_eq!(text(&h.wait(id)), "21.5");
    set(&mut h, 25.0);
    h.run_for(Duration::from_secs(1));
    set(&mut h, 19.0);
    h.run_for(Duration::from_secs(1));
    let values: Vec<String> = h
        .state
        .notifications
        .iter()
        .map(|(_, _, r)| text(r))
        .collect();
    assert_eq!(values, ["25", "19"]);
    assert_eq!(text(&h.request(0, get("/3303/0/5602", None))), "25");
    // Execute Reset Min and Max.
    assert_eq!(
        h.request(0, req(Code::POST, "/3303/0/5605", None, &[], b""))
            .code(),
        Code::CHANGED
    );
    assert_eq!(text(&h.request(0, get("/3303/0/5602", None))), "19");
    assert!(h.events().any(
        |e| matches!(e, ClientEvent::Executed { path, .. } if path.to_string() == "/3303/0/5605")
    ));
}

/// An object in version 1.1, with no instance yet.
struct Versioned(ObjectDefinition);

impl ObjectHandler for Versioned {
    fn definition(&self) -> &ObjectDefinition {
        &self.0
    }

    fn instances(&self) -> Vec<u16> {
        Vec::new()
    }
}

#[test]
fn object_versions_are_announced_and_discovered() {
    let definition = Temperature::DEFINITION
        .clone()
        .with_version(lwm2m_model::Version::new(1, 1));
    let setup = Setup {
        location: false,
        extra: vec![Box::new(move |b| b.object(Versioned(definition)))],
        ..Setup::default()
    };
    let mut h = Harness::with(setup);
    h.register_all();
    let register = h.state.rd.iter().find(|r| r.is_register()).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&register.payload),
        r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3303>;ver="1.1""#
    );
    assert_eq!(
        text(&h.request(0, get("/3303", Some(LINK)))),
        r#"</3303>;ver="1.1""#
    );
    // An object without instances reads as an empty payload.
    let r = h.request(0, get("/3303", None));
    assert_eq!((r.code(), r.body().len()), (Code::CONTENT, 0));
}
