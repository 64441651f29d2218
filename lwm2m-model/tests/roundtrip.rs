//! Property tests: every text form this crate writes parses back to the same value, and every
//! parser survives arbitrary input.

use lwm2m_model::{
    AttributeChange, AttributeUpdate, BindingMode, DataType, DiscoverAttributes, Level, Msisdn,
    NotificationAttributes, ObjectLink, Path, Range, RegisterParams, UpdateParams, Version, MAX_ID,
};
use proptest::prelude::*;

fn id() -> impl Strategy<Value = u16> {
    prop_oneof![0..=MAX_ID, Just(0), Just(MAX_ID), 0u16..20]
}

fn path() -> impl Strategy<Value = Path> {
    prop::collection::vec(id(), 0..=4).prop_map(|ids| Path::new(&ids).unwrap())
}

/// A finite float that survives text round trips exactly (every finite f64 does with Rust's
/// shortest-representation formatting).
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        (-1000i32..1000).prop_map(f64::from),
        (-100_000i32..100_000).prop_map(|v| f64::from(v) / 10.0),
    ]
}

fn change<T: std::fmt::Debug + Clone + 'static>(
    value: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<AttributeChange<T>>> {
    prop_oneof![
        Just(None),
        Just(Some(AttributeChange::Unset)),
        value.prop_map(|v| Some(AttributeChange::Set(v))),
    ]
}

fn update() -> impl Strategy<Value = AttributeUpdate> {
    (
        change(any::<u32>()),
        change(any::<u32>()),
        change(number()),
        change(number()),
        change(number()),
    )
        .prop_map(|(pmin, pmax, gt, lt, st)| AttributeUpdate {
            pmin,
            pmax,
            gt,
            lt,
            st,
        })
}

fn binding() -> impl Strategy<Value = BindingMode> {
    prop::sample::select(BindingMode::ALL.to_vec())
}

proptest! {
    #[test]
    fn path_display_parse_round_trip(p in path()) {
        let text = p.to_string();
        prop_assert_eq!(Path::parse(&text), Ok(p));
        let segments: Vec<String> = p.ids().iter().map(u16::to_string).collect();
        prop_assert_eq!(Path::from_segments(segments.iter().map(String::as_bytes)), Ok(p));
        prop_assert_eq!(p.level().depth(), p.ids().len());
    }

    #[test]
    fn path_parent_child_and_order(p in path(), child in id()) {
        if let Some(parent) = p.parent() {
            prop_assert!(parent.is_ancestor_of(&p));
            prop_assert!(parent < p);
            prop_assert_eq!(parent.child(p.last_id().unwrap()), Ok(p));
        }
        if let Ok(c) = p.child(child) {
            prop_assert!(p.is_ancestor_of(&c));
            prop_assert!(p < c);
            prop_assert_eq!(c.parent(), Some(p));
            prop_assert_eq!(c.last_id(), Some(child));
        } else {
            prop_assert_eq!(p.level(), Level::ResourceInstance);
        }
    }

    #[test]
    fn path_order_matches_id_order(a in path(), b in path()) {
        prop_assert_eq!(a.cmp(&b), a.ids().cmp(b.ids()));
        prop_assert_eq!(a == b, a.to_string() == b.to_string());
    }

    #[test]
    fn path_parse_never_panics(text in "\\PC{0,40}") {
        if let Ok(p) = Path::parse(&text) {
            prop_assert_eq!(p.to_string(), text);
        }
    }

    #[test]
    fn path_parse_never_panics_on_path_like_text(text in "[/0-9a]{0,30}") {
        match Path::parse(&text) {
            Ok(p) => prop_assert_eq!(p.to_string(), text),
            Err(e) => prop_assert!(e.position <= text.len()),
        }
    }

    #[test]
    fn path_from_arbitrary_segments_never_panics(
        segments in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..7)
    ) {
        match Path::from_segments(segments.iter().map(Vec::as_slice)) {
            Ok(p) => prop_assert!(p.depth() <= segments.len()),
            Err(e) => prop_assert!(e.position < segments.len()),
        }
    }

    #[test]
    fn attribute_update_query_round_trip(u in update()) {
        let items = u.to_query_items();
        prop_assert_eq!(AttributeUpdate::parse(&items), Ok(u));
    }

    #[test]
    fn notification_attributes_query_round_trip(u in update()) {
        let attrs = NotificationAttributes::default().apply(&u);
        let parsed = AttributeUpdate::parse(attrs.to_query_items()).unwrap();
        prop_assert_eq!(NotificationAttributes::default().apply(&parsed), attrs);
    }

    #[test]
    fn discover_attributes_link_round_trip(
        u in update(),
        dim in prop::option::of(any::<u16>()),
        ver in prop::option::of((any::<u8>(), any::<u8>())),
    ) {
        let attrs = DiscoverAttributes {
            ver: ver.map(|(a, b)| Version::new(a, b)),
            dim,
            notification: NotificationAttributes::default().apply(&u),
        };
        let params = attrs.link_params();
        let back = DiscoverAttributes::from_link_params(params.iter().map(|(n, v)| (*n, Some(v.as_str()))));
        prop_assert_eq!(back, Ok(attrs));
    }

    #[test]
    fn validated_attributes_respect_the_rules(u in update(), level in 1usize..=3) {
        let level = [Level::Object, Level::ObjectInstance, Level::Resource][level - 1];
        if let Ok(a) = NotificationAttributes::default().write(&u, level, Some(DataType::Float)) {
            if let (Some(pmin), Some(pmax)) = (a.pmin, a.pmax) {
                prop_assert!(pmax >= pmin);
            }
            if let (Some(lt), Some(gt)) = (a.lt, a.gt) {
                prop_assert!(lt < gt);
                if let Some(st) = a.st {
                    prop_assert!(lt + 2.0 * st < gt);
                }
            }
            prop_assert!(a.st.is_none_or(|s| s >= 0.0));
            if level != Level::Resource {
                prop_assert!(a.gt.is_none() && a.lt.is_none() && a.st.is_none());
            }
        }
    }

    #[test]
    fn attribute_parse_never_panics(items in prop::collection::vec("\\PC{0,12}", 0..6)) {
        let _ = AttributeUpdate::parse(&items);
    }

    #[test]
    fn attribute_parse_never_panics_on_attribute_like_items(
        items in prop::collection::vec("(pmin|pmax|gt|lt|st|dim|ver)(=[-+.eE0-9a-z]{0,8})?", 0..6)
    ) {
        if let Ok(u) = AttributeUpdate::parse(&items) {
            prop_assert_eq!(AttributeUpdate::parse(u.to_query_items()), Ok(u));
        }
    }

    #[test]
    fn register_query_round_trip(
        ep in "[a-zA-Z0-9:\\-]{1,40}",
        lifetime in 1u32..,
        version in (any::<u8>(), any::<u8>()),
        b in binding(),
        sms in prop::option::of("[0-9]{1,15}"),
    ) {
        let mut params = RegisterParams::new(&ep).unwrap();
        params.lifetime = lifetime;
        params.lwm2m_version = Version::new(version.0, version.1);
        params.binding = b;
        params.sms = sms.map(|s| Msisdn::new(&s).unwrap());
        prop_assert_eq!(RegisterParams::parse(params.to_query_items()), Ok(params));
    }

    #[test]
    fn update_query_round_trip(
        lifetime in prop::option::of(1u32..),
        b in prop::option::of(binding()),
        sms in prop::option::of("[0-9]{1,15}"),
    ) {
        let update = UpdateParams { lifetime, binding: b, sms: sms.map(|s| Msisdn::new(&s).unwrap()) };
        prop_assert_eq!(UpdateParams::parse(update.to_query_items()), Ok(update));
    }

    #[test]
    fn registration_parse_never_panics(items in prop::collection::vec("\\PC{0,16}", 0..6)) {
        let _ = RegisterParams::parse(&items);
        let _ = RegisterParams::parse_lenient(&items);
        let _ = UpdateParams::parse(&items);
    }

    #[test]
    fn range_display_round_trip(min in any::<i64>(), span in any::<u32>()) {
        let max = min.saturating_add(i64::from(span));
        let r = Range::Integer { min, max };
        prop_assert_eq!(Range::parse(&r.to_string(), Some(DataType::Integer)), Ok(Some(r)));
    }

    #[test]
    fn range_parse_never_panics(text in "[-+. 0-9a-z,]{0,20}") {
        for t in DataType::ALL {
            if let Ok(Some(r)) = Range::parse(&text, Some(t)) {
                prop_assert_eq!(r.check(Some(t)), Ok(()));
            }
        }
    }

    #[test]
    fn object_link_round_trip(object_id in any::<u16>(), instance_id in any::<u16>()) {
        let link = ObjectLink::new(object_id, instance_id);
        prop_assert_eq!(link.to_string().parse(), Ok(link));
    }

    #[test]
    fn version_and_link_parse_never_panic(text in "\\PC{0,12}") {
        let _ = text.parse::<ObjectLink>();
        let _ = Version::parse(&text);
        let _ = BindingMode::parse(&text);
    }
}
