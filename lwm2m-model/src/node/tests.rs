use super::*;
use alloc::vec::Vec;

fn p(s: &str) -> Path {
    Path::parse(s).unwrap()
}

fn device() -> Object {
    Object::with_instances(
        3,
        [ObjectInstance::with_resources(
            0,
            [
                Resource::single(0, "Open Mobile Alliance"),
                Resource::multiple(6, [(0, 1), (1, 5)]),
                Resource::single(9, 100),
                Resource::multiple(11, [(0, 0)]),
            ],
        )],
    )
}

#[test]
fn maps_are_keyed_by_child_id_and_ordered() {
    let i = ObjectInstance::with_resources(
        0,
        [
            Resource::single(9, 1),
            Resource::single(2, 2),
            Resource::single(9, 3),
        ],
    );
    let ids: Vec<u16> = i.resources().map(Resource::id).collect();
    assert_eq!(ids, [2, 9]);
    assert_eq!(i.value(9), Some(&Value::Integer(3)));
    assert_eq!(i.len(), 2);
    assert!(!i.is_empty());
    let o = Object::with_instances(1, [ObjectInstance::new(5), ObjectInstance::new(2)]);
    let ids: Vec<u16> = o.instances().map(ObjectInstance::id).collect();
    assert_eq!(ids, [2, 5]);
    assert!(Object::new(5).is_empty());
}

#[test]
fn resource_accessors() {
    let r = Resource::multiple(6, [(1, 5), (0, 1)]);
    assert!(r.is_multiple());
    assert_eq!(r.as_single(), None);
    assert_eq!(r.instance(1), Some(&Value::Integer(5)));
    assert_eq!(r.instances().map(BTreeMap::len), Some(2));
    let s = Resource::single(9, 100);
    assert!(!s.is_multiple());
    assert_eq!(s.instance(0), None);
    assert_eq!(s.into_value(), ResourceValue::Single(Value::Integer(100)));
}

#[test]
fn get_by_path() {
    let node = Node::from(device());
    let at = p("/3");
    assert_eq!(node.get(&at, &at), Some(node.as_ref()));
    assert_eq!(
        node.get(&at, &p("/3/0")).map(|n| n.level()),
        Some(Level::ObjectInstance)
    );
    assert_eq!(
        node.get(&at, &p("/3/0/0")).and_then(|n| n.as_value()),
        Some(&Value::from("Open Mobile Alliance"))
    );
    assert_eq!(
        node.get(&at, &p("/3/0/6/1")).and_then(|n| n.as_value()),
        Some(&Value::Integer(5))
    );
    assert_eq!(node.get(&at, &p("/3/0/6")).and_then(|n| n.as_value()), None);
    assert_eq!(node.get(&at, &p("/3/1")), None);
    assert_eq!(node.get(&at, &p("/3/0/5")), None);
    assert_eq!(node.get(&at, &p("/3/0/9/0")), None);
    assert_eq!(node.get(&at, &p("/4/0")), None);
    assert_eq!(node.get(&p("/4"), &p("/4/0")), None);
    assert_eq!(node.get(&p("/3/0"), &p("/3/0")), None);
}

#[test]
fn insert_builds_the_tree() {
    let at = p("/3");
    let mut node = Node::from(Object::new(3));
    node.insert_value(&at, &p("/3/0/0"), Value::from("OMA"))
        .unwrap();
    node.insert_value(&at, &p("/3/0/7/1"), Value::from(5108))
        .unwrap();
    node.insert_value(&at, &p("/3/0/7/0"), Value::from(3800))
        .unwrap();
    node.insert_value(&at, &p("/3/0/0"), Value::from("OMA2"))
        .unwrap();
    let Node::Object(o) = &node else {
        panic!("not an object")
    };
    let inst = o.instance(0).unwrap();
    assert_eq!(inst.value(0), Some(&Value::from("OMA2")));
    let seven = inst.resource(7).unwrap();
    assert_eq!(
        seven
            .instances()
            .unwrap()
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(
        node.insert_value(&at, &p("/3/0/0/1"), Value::from(1)),
        Err(NodeError::MultiplicityMismatch(p("/3/0/0")))
    );
    assert_eq!(
        node.insert_value(&at, &p("/3/0"), Value::from(1)),
        Err(NodeError::NotAValuePath(p("/3/0")))
    );
    assert_eq!(
        node.insert_value(&at, &p("/4/0/0"), Value::from(1)),
        Err(NodeError::NotInside {
            at,
            target: p("/4/0/0")
        })
    );
    assert!(matches!(
        node.insert_value(&p("/3/0"), &p("/3/0/1"), Value::from(1)),
        Err(NodeError::ContextMismatch { .. })
    ));
}

#[test]
fn insert_into_resource_and_resource_instance_nodes() {
    let mut r = Node::from(Resource::multiple(6, Vec::<(u16, Value)>::new()));
    r.insert_value(&p("/3/0/6"), &p("/3/0/6/2"), Value::from(7))
        .unwrap();
    assert_eq!(
        r.get(&p("/3/0/6"), &p("/3/0/6/2")).unwrap().as_value(),
        Some(&Value::Integer(7))
    );
    r.insert_value(&p("/3/0/6"), &p("/3/0/6"), Value::from(8))
        .unwrap();
    assert_eq!(r, Node::from(Resource::single(6, 8)));

    let mut ri = Node::from(ResourceInstance {
        id: 2,
        value: Value::from(1),
    });
    ri.insert_value(&p("/3/0/6/2"), &p("/3/0/6/2"), Value::from(9))
        .unwrap();
    assert_eq!(
        ri.get(&p("/3/0/6/2"), &p("/3/0/6/2")).unwrap().as_value(),
        Some(&Value::Integer(9))
    );
    assert_eq!(ri.level(), Level::ResourceInstance);
    assert_eq!(ri.id(), 2);
}

#[test]
fn path_in_context() {
    let r = Node::from(Resource::single(9, 100));
    assert_eq!(r.path_in(&p("/3/0")), Ok(p("/3/0/9")));
    assert_eq!(
        r.path_in(&p("/3")),
        Err(NodeError::ContextMismatch {
            node: Level::Resource,
            id: 9,
            at: p("/3")
        })
    );
    let o = Node::from(Object::new(3));
    assert_eq!(o.path_in(&Path::ROOT), Ok(p("/3")));
    let bad = Node::from(ObjectInstance::new(65535));
    assert!(matches!(bad.path_in(&p("/3")), Err(NodeError::Path(_))));
}
