//! Every TLV vector of test-vectors.md §1: the whole objects and instances of §1.1 (decoded in full
//! and re-encoded byte for byte), the single values of §1.2 (decoded and encoded), the non-minimal
//! forms decoders must accept, the TS typos of the §1.1 errata, and the negative tests of §1.3.

use lwm2m_codec::tlv::{
    self, records, validate, EncodeError, Kind, Record, TlvError, TlvWriter, ValueError, ValueType,
};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// A decoded tree, for comparing whole payloads: (kind, id, value bytes or children).
#[derive(Debug, PartialEq)]
enum Node {
    Data(Kind, u16, Vec<u8>),
    Container(Kind, u16, Vec<Node>),
}

fn tree(iter: tlv::Records<'_>) -> Vec<Node> {
    iter.map(|r| {
        let r = r.unwrap();
        match r.children() {
            Some(children) => Node::Container(r.kind, r.id, tree(children)),
            None => Node::Data(r.kind, r.id, r.value.to_vec()),
        }
    })
    .collect()
}

fn res(id: u16, value: &[u8]) -> Node {
    Node::Data(Kind::Resource, id, value.to_vec())
}

fn inst(id: u16, value: &[u8]) -> Node {
    Node::Data(Kind::ResourceInstance, id, value.to_vec())
}

fn multi(id: u16, children: Vec<Node>) -> Node {
    Node::Container(Kind::MultipleResource, id, children)
}

fn obj_inst(id: u16, children: Vec<Node>) -> Node {
    Node::Container(Kind::ObjectInstance, id, children)
}

const DEVICE_INSTANCE: &str = "C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65 C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74 C8 02 09 33 34 35 30 30 30 31 32 33 C3 03 31 2E 30 86 06 41 00 01 41 01 05 88 07 08 42 00 0E D8 42 01 13 88 87 08 41 00 7D 42 01 03 84 C1 09 64 C1 0A 0F 83 0B 41 00 00 C4 0D 51 82 42 8F C6 0E 2B 30 32 3A 30 30 C1 10 55";

fn device_tree() -> Vec<Node> {
    vec![
        res(0, b"Open Mobile Alliance"),
        res(1, b"Lightweight M2M Client"),
        res(2, b"345000123"),
        res(3, b"1.0"),
        multi(6, vec![inst(0, &[1]), inst(1, &[5])]),
        multi(7, vec![inst(0, &[0x0E, 0xD8]), inst(1, &[0x13, 0x88])]),
        multi(8, vec![inst(0, &[0x7D]), inst(1, &[0x03, 0x84])]),
        res(9, &[100]),
        res(10, &[15]),
        multi(11, vec![inst(0, &[0])]),
        res(13, &[0x51, 0x82, 0x42, 0x8F]),
        res(14, b"+02:00"),
        res(16, b"U"),
    ]
}

fn write_device<B: bytes::BufMut>(w: &mut TlvWriter<'_, B>) -> Result<(), EncodeError> {
    w.string(0, "Open Mobile Alliance")?;
    w.string(1, "Lightweight M2M Client")?;
    w.string(2, "345000123")?;
    w.string(3, "1.0")?;
    w.multiple_resource(6, |w| {
        w.integer(0, 1)?;
        w.integer(1, 5)
    })?;
    w.multiple_resource(7, |w| {
        w.integer(0, 3800)?;
        w.integer(1, 5000)
    })?;
    w.multiple_resource(8, |w| {
        w.integer(0, 125)?;
        w.integer(1, 900)
    })?;
    w.integer(9, 100)?;
    w.integer(10, 15)?;
    w.multiple_resource(11, |w| w.integer(0, 0))?;
    w.time(13, 1_367_491_215)?;
    w.string(14, "+02:00")?;
    w.string(16, "U")
}

#[test]
fn device_instance_decodes_to_the_ts_values() {
    let bytes = hex(DEVICE_INSTANCE);
    assert_eq!(bytes.len(), 121);
    assert_eq!(validate(&bytes), Ok(()));
    assert_eq!(tree(records(&bytes)), device_tree());

    // And typed, the way a model layer reads it.
    let recs: Vec<Record<'_>> = records(&bytes).map(Result::unwrap).collect();
    assert_eq!(recs[0].as_str(), Ok("Open Mobile Alliance"));
    assert_eq!(recs[1].as_str(), Ok("Lightweight M2M Client"));
    assert_eq!(recs[3].as_str(), Ok("1.0"));
    let volts: Vec<(u16, i64)> = recs[5]
        .children()
        .unwrap()
        .map(|r| r.map(|r| (r.id, r.as_integer().unwrap())).unwrap())
        .collect();
    assert_eq!(volts, [(0, 3800), (1, 5000)]);
    assert_eq!(recs[7].as_integer(), Ok(100));
    assert_eq!(recs[10].as_time(), Ok(1_367_491_215));
    assert_eq!(recs[11].as_str(), Ok("+02:00"));
    assert_eq!(recs[12].as_str(), Ok("U"));
    assert_eq!((recs[12].offset, recs[12].value_offset), (118, 120));
}

#[test]
fn device_instance_encodes_byte_for_byte() {
    assert_eq!(tlv::to_vec(write_device).unwrap(), hex(DEVICE_INSTANCE));

    // Into a fixed slice through BufMut as well.
    let mut storage = [0u8; 121];
    let mut out: &mut [u8] = &mut storage;
    let mut w = TlvWriter::new(&mut out);
    write_device(&mut w).unwrap();
    assert_eq!(w.bytes_written(), 121);
    assert_eq!(storage.as_slice(), hex(DEVICE_INSTANCE));

    // One byte short is an error, not a panic.
    let mut storage = [0u8; 120];
    let mut out: &mut [u8] = &mut storage;
    assert!(matches!(
        write_device(&mut TlvWriter::new(&mut out)),
        Err(EncodeError::BufferFull { id: 16, .. })
    ));
}

#[test]
fn device_object_wraps_the_instance() {
    let bytes = hex(&format!("08 00 79 {DEVICE_INSTANCE}"));
    assert_eq!(bytes.len(), 124);
    assert_eq!(validate(&bytes), Ok(()));
    assert_eq!(tree(records(&bytes)), vec![obj_inst(0, device_tree())]);
    let encoded = tlv::to_vec(|w| w.object_instance(0, |w| write_device(w))).unwrap();
    assert_eq!(encoded, bytes);
}

#[test]
fn access_control_two_instances() {
    let bytes = hex("08 00 0E C1 00 01 C1 01 00 83 02 41 7F 07 C1 03 7F 08 02 12 C1 00 03 C1 01 00 87 02 41 7F 07 61 01 36 01 C1 03 7F");
    assert_eq!(bytes.len(), 38);
    assert_eq!(
        tree(records(&bytes)),
        vec![
            obj_inst(
                0,
                vec![
                    res(0, &[1]),
                    res(1, &[0]),
                    multi(2, vec![inst(127, &[7])]),
                    res(3, &[127]),
                ]
            ),
            obj_inst(
                2,
                vec![
                    res(0, &[3]),
                    res(1, &[0]),
                    multi(2, vec![inst(127, &[7]), inst(310, &[1])]),
                    res(3, &[127]),
                ]
            ),
        ]
    );
    let encoded = tlv::to_vec(|w| {
        w.object_instance(0, |w| {
            w.integer(0, 1)?;
            w.integer(1, 0)?;
            w.multiple_resource(2, |w| w.integer(127, 7))?;
            w.integer(3, 127)
        })?;
        w.object_instance(2, |w| {
            w.integer(0, 3)?;
            w.integer(1, 0)?;
            w.multiple_resource(2, |w| {
                w.integer(127, 7)?;
                w.integer(310, 1)
            })?;
            w.integer(3, 127)
        })
    })
    .unwrap();
    assert_eq!(encoded, bytes);
}

#[test]
fn server_one_instance() {
    let bytes = hex("08 00 0F C1 00 01 C4 01 00 01 51 80 C1 06 01 C1 07 55");
    let oi = records(&bytes).next().unwrap().unwrap();
    let values: Vec<Record<'_>> = oi.children().unwrap().map(Result::unwrap).collect();
    assert_eq!(values[0].as_integer(), Ok(1));
    assert_eq!(values[1].as_integer(), Ok(86400));
    assert_eq!(values[2].as_bool(), Ok(true));
    assert_eq!(values[3].as_str(), Ok("U"));
    let encoded = tlv::to_vec(|w| {
        w.object_instance(0, |w| {
            w.integer(0, 1)?;
            w.integer(1, 86400)?;
            w.boolean(6, true)?;
            w.string(7, "U")
        })
    })
    .unwrap();
    assert_eq!(encoded, bytes);
}

#[test]
fn object_65_instance_with_objlnk_multiple_resource() {
    let bytes = hex("88 00 0C 44 00 00 42 00 00 44 01 00 42 00 01 C8 01 0D 38 36 31 33 38 30 30 37 35 35 35 30 30 C4 02 12 34 56 78");
    assert_eq!(bytes.len(), 37);
    let recs: Vec<Record<'_>> = records(&bytes).map(Result::unwrap).collect();
    let links: Vec<(u16, (u16, u16))> = recs[0]
        .children()
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            (r.id, r.as_objlnk().unwrap())
        })
        .collect();
    assert_eq!(links, [(0, (0x42, 0)), (1, (0x42, 1))]);
    assert_eq!(recs[1].as_str(), Ok("8613800755500"));
    assert_eq!(recs[2].as_integer(), Ok(0x1234_5678));
    let encoded = tlv::to_vec(|w| {
        w.multiple_resource(0, |w| {
            w.objlnk(0, 0x42, 0)?;
            w.objlnk(1, 0x42, 1)
        })?;
        w.string(1, "8613800755500")?;
        w.integer(2, 0x1234_5678)
    })
    .unwrap();
    assert_eq!(encoded, bytes);
}

#[test]
fn object_66_two_instances_with_objlnk() {
    let bytes = hex("08 00 26 C8 00 0B 6D 79 53 65 72 76 69 63 65 20 31 C8 01 0F 49 6E 74 65 72 6E 65 74 2E 31 35 2E 32 33 34 C4 02 00 43 00 00 08 01 26 C8 00 0B 6D 79 53 65 72 76 69 63 65 20 32 C8 01 0F 49 6E 74 65 72 6E 65 74 2E 31 35 2E 32 33 35 C4 02 FF FF FF FF");
    assert_eq!(bytes.len(), 82);
    let mut seen = Vec::new();
    for oi in records(&bytes) {
        let oi = oi.unwrap();
        let r: Vec<Record<'_>> = oi.children().unwrap().map(Result::unwrap).collect();
        seen.push((
            oi.id,
            r[0].as_str().unwrap(),
            r[1].as_str().unwrap(),
            r[2].as_objlnk().unwrap(),
        ));
    }
    assert_eq!(
        seen,
        [
            (0, "myService 1", "Internet.15.234", (0x43, 0)),
            (1, "myService 2", "Internet.15.235", (65535, 65535)),
        ]
    );
    let encoded = tlv::to_vec(|w| {
        w.object_instance(0, |w| {
            w.string(0, "myService 1")?;
            w.string(1, "Internet.15.234")?;
            w.objlnk(2, 0x43, 0)
        })?;
        w.object_instance(1, |w| {
            w.string(0, "myService 2")?;
            w.string(1, "Internet.15.235")?;
            w.objlnk(2, 65535, 65535)
        })
    })
    .unwrap();
    assert_eq!(encoded, bytes);
}

#[test]
fn ts_typos_of_the_errata_are_rejected() {
    // Access Control with the printed `86 02`: the trailing `01` lands inside the object
    // instance after the multiple resource, and the last resource instance is cut short.
    let ac = hex("08 00 0E C1 00 01 C1 01 00 83 02 41 7F 07 C1 03 7F 08 02 12 C1 00 03 C1 01 00 86 02 41 7F 07 61 01 36 01 C1 03 7F");
    assert_eq!(
        validate(&ac),
        Err(TlvError::TruncatedValue {
            offset: 31,
            length: 1,
            available: 0
        })
    );
    // Server with the printed `08 00 0D`.
    let server = hex("08 00 0D C1 00 01 C4 01 00 01 51 80 C1 06 01 C1 07 55");
    assert_eq!(
        validate(&server),
        Err(TlvError::TruncatedHeader {
            offset: 15,
            needed: 2,
            available: 1
        })
    );
    // Object 66 with the printed `08 00 23`.
    let obj66 = hex("08 00 23 C8 00 0B 6D 79 53 65 72 76 69 63 65 20 31 C8 01 0F 49 6E 74 65 72 6E 65 74 2E 31 35 2E 32 33 34 C4 02 00 43 00 00");
    assert_eq!(
        validate(&obj66),
        Err(TlvError::TruncatedValue {
            offset: 35,
            length: 4,
            available: 1
        })
    );
    // Device with "Lightweigt" (21 bytes) under length 0x16.
    let device = hex(DEVICE_INSTANCE
        .replace("67 68 74 20 4D 32", "67 74 20 4D 32")
        .as_str());
    assert_eq!(device.len(), 120);
    assert!(validate(&device).is_err());
}

/// A §1.2 value, as the decoder should read it.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Opaque(Vec<u8>),
    Time(i64),
    Objlnk(u16, u16),
}

fn decode(record: &Record<'_>, expected: &V) -> V {
    match expected {
        V::Int(_) => V::Int(record.as_integer().unwrap()),
        V::Float(_) => V::Float(record.as_float().unwrap()),
        V::Bool(_) => V::Bool(record.as_bool().unwrap()),
        V::Str(_) => V::Str(record.as_str().unwrap().to_owned()),
        V::Opaque(_) => V::Opaque(record.as_opaque().unwrap().to_vec()),
        V::Time(_) => V::Time(record.as_time().unwrap()),
        V::Objlnk(..) => {
            let (o, i) = record.as_objlnk().unwrap();
            V::Objlnk(o, i)
        }
    }
}

fn encode(id: u16, v: &V) -> Vec<u8> {
    tlv::to_vec(|w| match v {
        V::Int(x) => w.integer(id, *x),
        V::Float(x) => w.float(id, *x),
        V::Bool(x) => w.boolean(id, *x),
        V::Str(x) => w.string(id, x),
        V::Opaque(x) => w.opaque(id, x),
        V::Time(x) => w.time(id, *x),
        V::Objlnk(o, i) => w.objlnk(id, *o, *i),
    })
    .unwrap()
}

fn single_value_rows() -> Vec<(&'static str, u16, V)> {
    vec![
        ("C1 05 00", 5, V::Int(0)),
        ("C1 05 01", 5, V::Int(1)),
        ("C1 05 7F", 5, V::Int(127)),
        ("C2 05 00 80", 5, V::Int(128)),
        ("C1 05 FF", 5, V::Int(-1)),
        ("C1 05 80", 5, V::Int(-128)),
        ("C2 05 FF 7F", 5, V::Int(-129)),
        ("C2 05 7F FF", 5, V::Int(32767)),
        ("C4 05 00 00 80 00", 5, V::Int(32768)),
        ("C2 05 FD 12", 5, V::Int(-750)),
        ("C4 05 00 01 51 80", 5, V::Int(86400)),
        ("C4 05 7F FF FF FF", 5, V::Int(2_147_483_647)),
        ("C8 05 08 00 00 00 00 80 00 00 00", 5, V::Int(2_147_483_648)),
        ("C8 05 08 80 00 00 00 00 00 00 00", 5, V::Int(i64::MIN)),
        ("C4 05 41 BC 00 00", 5, V::Float(23.5)),
        ("C4 05 BF A0 00 00", 5, V::Float(-1.25)),
        ("C4 05 00 00 00 00", 5, V::Float(0.0)),
        ("C8 05 08 40 36 66 66 66 66 66 66", 5, V::Float(22.4)),
        ("C8 05 08 40 45 F5 A1 B9 F9 8B 72", 5, V::Float(43.918_998)),
        ("C1 05 01", 5, V::Bool(true)),
        ("C1 05 00", 5, V::Bool(false)),
        ("C0 05", 5, V::Str(String::new())),
        ("C1 05 55", 5, V::Str("U".into())),
        ("C6 05 68 C3 A9 6C 6C 6F", 5, V::Str("héllo".into())),
        ("C5 05 01 02 03 04 05", 5, V::Opaque(vec![1, 2, 3, 4, 5])),
        ("C0 05", 5, V::Opaque(vec![])),
        ("C4 0D 51 82 42 8F", 13, V::Time(1_367_491_215)),
        ("C4 05 00 03 00 00", 5, V::Objlnk(3, 0)),
        ("C4 05 FF FF FF FF", 5, V::Objlnk(65535, 65535)),
        ("E4 16 44 41 BC 00 00", 5700, V::Float(23.5)),
        ("E1 16 DA 01", 5850, V::Bool(true)),
    ]
}

#[test]
fn every_single_value_row_decodes_and_encodes() {
    for (bytes, id, value) in single_value_rows() {
        let bytes = hex(bytes);
        let mut it = records(&bytes);
        let record = it.next().unwrap().unwrap();
        assert!(it.next().is_none(), "{bytes:02X?}");
        assert_eq!(
            (record.kind, record.id),
            (Kind::Resource, id),
            "{bytes:02X?}"
        );
        let got = decode(&record, &value);
        match (&got, &value) {
            (V::Float(a), V::Float(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{bytes:02X?}"),
            _ => assert_eq!(got, value, "{bytes:02X?}"),
        }
        assert_eq!(encode(id, &value), bytes, "{value:?}");
    }
}

#[test]
fn resource_instance_with_16_bit_id_inside_multiple_resource() {
    let bytes = hex("84 02 61 01 36 01");
    assert_eq!(tree(records(&bytes)), vec![multi(2, vec![inst(310, &[1])])]);
    let child = records(&bytes)
        .next()
        .unwrap()
        .unwrap()
        .children()
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(child.as_integer(), Ok(1));
    assert_eq!(
        tlv::to_vec(|w| w.multiple_resource(2, |w| w.integer(310, 1))).unwrap(),
        bytes
    );
}

#[test]
fn empty_containers() {
    let bytes = hex("80 0B");
    assert_eq!(tree(records(&bytes)), vec![multi(11, vec![])]);
    assert_eq!(
        tlv::to_vec(|w| w.multiple_resource(11, |_| Ok(()))).unwrap(),
        bytes
    );
    let bytes = hex("00 00");
    assert_eq!(tree(records(&bytes)), vec![obj_inst(0, vec![])]);
    assert_eq!(
        tlv::to_vec(|w| w.object_instance(0, |_| Ok(()))).unwrap(),
        bytes
    );
}

#[test]
fn object_instance_with_16_bit_id() {
    let bytes = hex("23 01 2C C1 00 01");
    assert_eq!(
        tree(records(&bytes)),
        vec![obj_inst(300, vec![res(0, &[1])])]
    );
    assert_eq!(
        tlv::to_vec(|w| w.object_instance(300, |w| w.integer(0, 1))).unwrap(),
        bytes
    );
}

#[test]
fn opaque_with_16_bit_length() {
    let value: Vec<u8> = (0..300u32).map(|i| (i % 256) as u8).collect();
    let mut bytes = hex("D0 00 01 2C");
    bytes.extend_from_slice(&value);
    let record = records(&bytes).next().unwrap().unwrap();
    assert_eq!(record.as_opaque(), Ok(value.as_slice()));
    assert_eq!(record.value_offset, 4);
    assert_eq!(tlv::to_vec(|w| w.opaque(0, &value)).unwrap(), bytes);
}

#[test]
fn opaque_with_24_bit_length() {
    let value = vec![0u8; 70000];
    let mut bytes = hex("D8 00 01 11 70");
    bytes.extend_from_slice(&value);
    let record = records(&bytes).next().unwrap().unwrap();
    assert_eq!(record.as_opaque().map(<[u8]>::len), Ok(70000));
    assert_eq!(record.value_offset, 5);
    assert_eq!(tlv::to_vec(|w| w.opaque(0, &value)).unwrap(), bytes);
}

#[test]
fn non_minimal_forms_decode() {
    let one = |s: &str| {
        let bytes = hex(s);
        let r = records(&bytes).next().unwrap().unwrap();
        (r.kind, r.id, r.value.to_vec())
    };
    // Integers in every allowed width.
    for s in [
        "C1 05 7F",
        "C2 05 00 7F",
        "C4 05 00 00 00 7F",
        "C8 05 08 00 00 00 00 00 00 00 7F",
    ] {
        let (_, _, v) = one(s);
        assert_eq!(tlv::value::decode_integer(&v), Ok(127), "{s}");
        assert_eq!(tlv::value::decode_time(&v), Ok(127), "{s}");
    }
    assert_eq!(
        tlv::value::decode_integer(&hex("FF FF FF FF FF FF FD 12")),
        Ok(-750)
    );
    // A float that fits binary32, sent as binary64.
    let (_, _, v) = one("C8 05 08 40 37 80 00 00 00 00 00");
    assert_eq!(tlv::value::decode_float(&v), Ok(23.5));
    // Length fields where an inline length would fit, and a 16-bit id where 8 bits would.
    for s in [
        "C8 05 01 01",
        "D0 05 00 01 01",
        "D8 05 00 00 01 01",
        "E1 00 05 01",
        "F8 00 05 00 00 01 01",
        "C9 05 01 01", // bits 2-0 must be ignored when a length field is present
    ] {
        assert_eq!(one(s), (Kind::Resource, 5, vec![1]), "{s}");
    }
    // Containers with length fields.
    let bytes = hex("88 0B 03 41 00 00");
    assert_eq!(tree(records(&bytes)), vec![multi(11, vec![inst(0, &[0])])]);
    let bytes = hex("10 00 00 03 C1 00 01");
    assert_eq!(tree(records(&bytes)), vec![obj_inst(0, vec![res(0, &[1])])]);
}

fn value_error(offset: usize, source: ValueError) -> TlvError {
    TlvError::Value { offset, source }
}

fn first(bytes: &[u8]) -> Record<'_> {
    records(bytes).next().unwrap().unwrap()
}

#[test]
fn negative_header_vectors_fail_with_the_specific_error() {
    let b = hex("C5 05 01 02");
    let expected = TlvError::TruncatedValue {
        offset: 0,
        length: 5,
        available: 2,
    };
    assert_eq!(records(&b).next(), Some(Err(expected)));
    assert_eq!(validate(&b), Err(expected));

    let b = hex("C8 05");
    let expected = TlvError::TruncatedHeader {
        offset: 0,
        needed: 3,
        available: 2,
    };
    assert_eq!(records(&b).next(), Some(Err(expected)));
    assert_eq!(validate(&b), Err(expected));
}

#[test]
fn negative_value_vectors_fail_with_the_specific_error() {
    let b = hex("C3 05 00 00 01");
    assert_eq!(
        first(&b).as_integer(),
        Err(value_error(
            2,
            ValueError::Length {
                ty: ValueType::Integer,
                found: 3,
                expected: "1, 2, 4 or 8"
            }
        ))
    );

    let b = hex("C2 05 00 01");
    assert_eq!(
        first(&b).as_bool(),
        Err(value_error(
            2,
            ValueError::Length {
                ty: ValueType::Boolean,
                found: 2,
                expected: "1"
            }
        ))
    );

    let b = hex("C1 05 02");
    assert_eq!(
        first(&b).as_bool(),
        Err(value_error(2, ValueError::Boolean { found: 2 }))
    );

    let b = hex("C3 05 00 00 00");
    assert_eq!(
        first(&b).as_objlnk(),
        Err(value_error(
            2,
            ValueError::Length {
                ty: ValueType::Objlnk,
                found: 3,
                expected: "4"
            }
        ))
    );

    let b = hex("C2 05 00 00");
    assert_eq!(
        first(&b).as_float(),
        Err(value_error(
            2,
            ValueError::Length {
                ty: ValueType::Float,
                found: 2,
                expected: "4 or 8"
            }
        ))
    );
}

#[test]
fn negative_container_vectors_fail_with_the_specific_error() {
    let b = hex("08 00 03 C1 00");
    let expected = TlvError::TruncatedValue {
        offset: 0,
        length: 3,
        available: 2,
    };
    assert_eq!(records(&b).next(), Some(Err(expected)));
    assert_eq!(validate(&b), Err(expected));

    // The TS typo: the multiple resource itself parses, but its last instance is cut short and
    // the trailing `01` is not a whole record.
    let b = hex("86 02 41 7F 07 61 01 36 01");
    assert_eq!(
        validate(&b),
        Err(TlvError::TruncatedValue {
            offset: 5,
            length: 1,
            available: 0
        })
    );
    let mut top = records(&b);
    let mr = top.next().unwrap().unwrap();
    assert_eq!(
        (mr.kind, mr.id, mr.value.len()),
        (Kind::MultipleResource, 2, 6)
    );
    assert_eq!(
        top.next(),
        Some(Err(TlvError::TruncatedHeader {
            offset: 8,
            needed: 2,
            available: 1
        }))
    );
    assert_eq!(top.next(), None);
    let children: Vec<_> = mr.children().unwrap().collect();
    assert_eq!(children.len(), 2);
    assert!(children[0].is_ok());
    assert_eq!(
        children[1],
        Err(TlvError::TruncatedValue {
            offset: 5,
            length: 1,
            available: 0
        })
    );
}

#[test]
fn errors_read_well() {
    let b = hex("C1 05 02");
    assert_eq!(
        first(&b).as_bool().unwrap_err().to_string(),
        "TLV value at byte 2: Boolean value is 0x02, expected 0x00 or 0x01"
    );
    assert_eq!(
        validate(&hex("C8 05")).unwrap_err().to_string(),
        "TLV record at byte 0: its header needs 3 bytes but only 2 remain"
    );
}
