//! The notification attributes each server wrote (digest §10.2), per server and path, with the
//! inheritance rules of the TS.

use alloc::collections::BTreeMap;

use lwm2m_model::{Level, NotificationAttributes, Path};

/// Attributes by (short server id, path).
#[derive(Debug, Clone, Default)]
pub(crate) struct AttributeStore {
    map: BTreeMap<(u16, Path), NotificationAttributes>,
}

impl AttributeStore {
    /// The attributes set exactly at `path` by server `ssid`.
    pub(crate) fn at(&self, ssid: u16, path: &Path) -> NotificationAttributes {
        self.map.get(&(ssid, *path)).copied().unwrap_or_default()
    }

    /// Stores (or, when empty, removes) the attributes at `path`.
    pub(crate) fn set(&mut self, ssid: u16, path: Path, attributes: NotificationAttributes) {
        if attributes.is_empty() {
            self.map.remove(&(ssid, path));
        } else {
            self.map.insert((ssid, path), attributes);
        }
    }

    /// The effective attributes at `path` without the server defaults: for a resource instance,
    /// its own over its resource's; for a resource, resource over instance over object; for an instance, instance over object; for an object, its own.
    pub(crate) fn effective(&self, ssid: u16, path: &Path) -> NotificationAttributes {
        let level = |depth: usize| {
            path.ids()
                .get(..depth)
                .and_then(|ids| Path::new(ids).ok())
                .map(|p| self.at(ssid, &p))
                .unwrap_or_default()
        };
        let empty = NotificationAttributes::default();
        match path.level() {
            Level::Object => level(1),
            Level::ObjectInstance => {
                NotificationAttributes::effective(&level(1), &level(2), &empty)
            }
            Level::Resource => NotificationAttributes::effective(&level(1), &level(2), &level(3)),
            Level::ResourceInstance => level(4).or(&NotificationAttributes::effective(
                &level(1),
                &level(2),
                &level(3),
            )),
            Level::Root => empty,
        }
    }

    /// Drops every attribute at or under `path` (an instance was deleted), for every server.
    pub(crate) fn remove_under(&mut self, path: &Path) {
        self.map.retain(|(_, p), _| !path.is_ancestor_or_self_of(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Path {
        s.parse().unwrap()
    }

    #[test]
    fn inheritance_follows_the_ts_example() {
        // pmin=10 at /3, pmax=60 at /3/0, gt/lt at /3/0/7: effective at /3/0/7 is all four.
        let mut store = AttributeStore::default();
        let set = |pmin, pmax, gt, lt| NotificationAttributes {
            pmin,
            pmax,
            gt,
            lt,
            st: None,
        };
        store.set(1, p("/3"), set(Some(10), None, None, None));
        store.set(1, p("/3/0"), set(None, Some(60), None, None));
        store.set(1, p("/3/0/7"), set(None, None, Some(50.0), Some(42.2)));
        assert_eq!(
            store.effective(1, &p("/3/0/7")),
            set(Some(10), Some(60), Some(50.0), Some(42.2))
        );
        assert_eq!(
            store.effective(1, &p("/3/0")),
            set(Some(10), Some(60), None, None)
        );
        assert_eq!(
            store.effective(1, &p("/3")),
            set(Some(10), None, None, None)
        );
        // Another server sees none of it.
        assert!(store.effective(2, &p("/3/0/7")).is_empty());
        store.remove_under(&p("/3/0"));
        assert_eq!(
            store.effective(1, &p("/3/0/7")),
            set(Some(10), None, None, None)
        );
        store.set(1, p("/3"), NotificationAttributes::default());
        assert!(store.effective(1, &p("/3/0/7")).is_empty());
    }
}
