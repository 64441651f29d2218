use super::*;
use alloc::string::ToString;
use alloc::vec::Vec;

fn p(s: &str) -> Path {
    Path::parse(s).unwrap()
}

#[test]
fn parses_every_level() {
    assert_eq!(p("/"), Path::ROOT);
    assert_eq!(p("/3").ids(), &[3]);
    assert_eq!(p("/3/0").ids(), &[3, 0]);
    assert_eq!(p("/3/0/1").ids(), &[3, 0, 1]);
    assert_eq!(p("/3/0/6/2").ids(), &[3, 0, 6, 2]);
    assert_eq!(p("/65534/65534").ids(), &[65534, 65534]);
    assert_eq!(p("/3/0/6/2").level(), Level::ResourceInstance);
    assert_eq!(p("/").level(), Level::Root);
}

#[test]
fn rejects_with_byte_offsets() {
    let err = |s: &str| Path::parse(s).unwrap_err();
    assert_eq!(
        err(""),
        PathError::new(PathErrorKind::MissingLeadingSlash, 0)
    );
    assert_eq!(
        err("3/0"),
        PathError::new(PathErrorKind::MissingLeadingSlash, 0)
    );
    assert_eq!(err("/3/"), PathError::new(PathErrorKind::EmptySegment, 3));
    assert_eq!(err("//"), PathError::new(PathErrorKind::EmptySegment, 1));
    assert_eq!(err("/3//1"), PathError::new(PathErrorKind::EmptySegment, 3));
    assert_eq!(err("/3/x"), PathError::new(PathErrorKind::NotANumber, 3));
    assert_eq!(err("/3/-1"), PathError::new(PathErrorKind::NotANumber, 3));
    assert_eq!(err("/3/+1"), PathError::new(PathErrorKind::NotANumber, 3));
    assert_eq!(err("/3/0/ 1"), PathError::new(PathErrorKind::NotANumber, 5));
    assert_eq!(err("/03"), PathError::new(PathErrorKind::LeadingZero, 1));
    assert_eq!(err("/0x3"), PathError::new(PathErrorKind::NotANumber, 1));
    assert_eq!(
        err("/3/65535"),
        PathError::new(PathErrorKind::IdOutOfRange, 3)
    );
    assert_eq!(
        err("/70000"),
        PathError::new(PathErrorKind::IdOutOfRange, 1)
    );
    assert_eq!(
        err("/99999999999999999999999"),
        PathError::new(PathErrorKind::IdOutOfRange, 1)
    );
    assert_eq!(err("/1/2/3/4/5"), PathError::new(PathErrorKind::TooDeep, 9));
}

#[test]
fn zero_is_a_valid_id() {
    assert_eq!(p("/0/0/0/0").ids(), &[0, 0, 0, 0]);
}

#[test]
fn from_segments() {
    let seg = |s: &[&str]| Path::from_segments(s.iter().map(|x| x.as_bytes()));
    assert_eq!(seg(&[]), Ok(Path::ROOT));
    assert_eq!(seg(&[""]), Ok(Path::ROOT));
    assert_eq!(seg(&["3", "0", "9"]), Ok(p("/3/0/9")));
    assert_eq!(
        seg(&["", "3"]),
        Err(PathError::new(PathErrorKind::EmptySegment, 0))
    );
    assert_eq!(
        seg(&["3", ""]),
        Err(PathError::new(PathErrorKind::EmptySegment, 1))
    );
    assert_eq!(
        seg(&["3", "a"]),
        Err(PathError::new(PathErrorKind::NotANumber, 1))
    );
    assert_eq!(
        seg(&["1", "2", "3", "4", "5"]),
        Err(PathError::new(PathErrorKind::TooDeep, 4))
    );
    assert_eq!(
        seg(&["65535"]),
        Err(PathError::new(PathErrorKind::IdOutOfRange, 0))
    );
}

#[test]
fn constructors_reject_reserved_ids() {
    assert_eq!(
        Path::object_instance(3, 65535),
        Err(PathError::new(PathErrorKind::IdOutOfRange, 1))
    );
    assert_eq!(
        Path::resource_instance(3, 0, 6, 65535),
        Err(PathError::new(PathErrorKind::IdOutOfRange, 3))
    );
    assert_eq!(
        Path::new(&[1, 2, 3, 4, 5]),
        Err(PathError::new(PathErrorKind::TooDeep, 4))
    );
    assert_eq!(Path::new(&[]), Ok(Path::ROOT));
}

#[test]
fn display() {
    for s in ["/", "/3", "/3/0", "/3/0/1", "/3/0/6/2", "/65534/0/5700"] {
        assert_eq!(p(s).to_string(), s);
    }
    assert_eq!(alloc::format!("{:?}", p("/3/0")), "Path(/3/0)");
}

#[test]
fn accessors_parent_child() {
    let ri = p("/3/0/6/2");
    assert_eq!(ri.object_id(), Some(3));
    assert_eq!(ri.instance_id(), Some(0));
    assert_eq!(ri.resource_id(), Some(6));
    assert_eq!(ri.resource_instance_id(), Some(2));
    assert_eq!(ri.last_id(), Some(2));
    assert_eq!(p("/3").instance_id(), None);
    assert_eq!(Path::ROOT.object_id(), None);
    assert_eq!(Path::ROOT.last_id(), None);
    assert_eq!(ri.parent(), Some(p("/3/0/6")));
    assert_eq!(p("/3").parent(), Some(Path::ROOT));
    assert_eq!(Path::ROOT.parent(), None);
    assert_eq!(Path::ROOT.child(3), Ok(p("/3")));
    assert_eq!(p("/3/0").child(9), Ok(p("/3/0/9")));
    assert_eq!(ri.child(1), Err(PathError::new(PathErrorKind::TooDeep, 4)));
    assert_eq!(
        p("/3").child(65535),
        Err(PathError::new(PathErrorKind::IdOutOfRange, 1))
    );
    // A parent equals the same path built directly (trailing ids are cleared).
    assert_eq!(p("/3/0/9").parent().unwrap().parent(), Some(p("/3")));
}

#[test]
fn ancestry() {
    assert!(Path::ROOT.is_ancestor_of(&p("/3")));
    assert!(p("/3").is_ancestor_of(&p("/3/0/1")));
    assert!(!p("/3").is_ancestor_of(&p("/3")));
    assert!(p("/3").is_ancestor_or_self_of(&p("/3")));
    assert!(!p("/3/0").is_ancestor_of(&p("/3/1/0")));
    assert!(!p("/3/0/1").is_ancestor_of(&p("/3/0")));
    assert!(!p("/30").is_ancestor_of(&p("/3/0")));
    assert!(!Path::ROOT.is_ancestor_of(&Path::ROOT));
}

#[test]
fn ordering_is_numeric_and_parent_first() {
    let mut v: Vec<Path> = [
        "/4", "/3/1", "/3/0/10", "/3/0/2", "/3/0", "/3", "/", "/3/0/2/0", "/10",
    ]
    .iter()
    .map(|s| p(s))
    .collect();
    v.sort();
    let sorted: Vec<_> = v.iter().map(ToString::to_string).collect();
    assert_eq!(
        sorted,
        ["/", "/3", "/3/0", "/3/0/2", "/3/0/2/0", "/3/0/10", "/3/1", "/4", "/10"]
    );
}

#[test]
fn level_depths() {
    for (depth, level) in [
        Level::Root,
        Level::Object,
        Level::ObjectInstance,
        Level::Resource,
        Level::ResourceInstance,
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(level.depth(), depth);
        assert_eq!(Path::new(&[1, 2, 3, 4][..depth]).unwrap().level(), level);
    }
    assert_eq!(Level::ObjectInstance.to_string(), "object instance");
}
