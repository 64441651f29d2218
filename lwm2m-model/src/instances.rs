//! [`ResourceInstances`]: the values of a multiple-instance resource in a typed struct, a small
//! map from resource instance id to value.
//!
//! Real multiple resources hold a handful of instances (the Device object's power sources, an
//! ACL's few servers), so the map is a sorted vector that keeps up to [`INLINE_INSTANCES`]
//! entries inline: decoding a typed instance then allocates nothing for them, where a `BTreeMap`
//! allocated a node per resource. Its API is the part of `BTreeMap`'s that typed code uses
//! (`get`, `insert`, `remove`, `iter` in id order, `keys`, `values`, `collect`, `From` an array).
//!
//! ```
//! use lwm2m_model::ResourceInstances;
//!
//! let mut voltages = ResourceInstances::from([(1, 5000), (0, 3800)]);
//! assert_eq!(voltages.get(0), Some(&3800));
//! assert_eq!(voltages.insert(3, 4100), None);
//! assert_eq!(voltages.keys().copied().collect::<Vec<_>>(), [0, 1, 3]);
//! assert_eq!(format!("{voltages:?}"), "{0: 3800, 1: 5000, 3: 4100}");
//! ```

use alloc::collections::BTreeMap;
use core::borrow::Borrow;
use core::fmt;
use core::iter::FusedIterator;

use smallvec::SmallVec;

/// How many resource instances a [`ResourceInstances`] holds without allocating.
pub const INLINE_INSTANCES: usize = 2;

/// The instances of a multiple-instance resource: resource instance id → value, in id order,
/// each id at most once. Up to [`INLINE_INSTANCES`] entries are stored inline.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceInstances<T> {
    /// Sorted by id, ids unique.
    entries: SmallVec<[(u16, T); INLINE_INSTANCES]>,
}

impl<T> ResourceInstances<T> {
    /// An empty set of instances (present, with no values).
    #[inline]
    pub fn new() -> Self {
        ResourceInstances {
            entries: SmallVec::new(),
        }
    }

    /// How many instances there are.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no instances.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where instance `id` is (`Ok`) or would go (`Err`).
    #[inline]
    fn position(&self, id: u16) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&id, |(k, _)| *k)
    }

    /// The value of instance `id` (given as `u16` or, as for a `BTreeMap`, `&u16`).
    #[inline]
    pub fn get(&self, id: impl Borrow<u16>) -> Option<&T> {
        let index = self.position(*id.borrow()).ok()?;
        self.entries.get(index).map(|(_, v)| v)
    }

    /// The value of instance `id`, to change it.
    #[inline]
    pub fn get_mut(&mut self, id: impl Borrow<u16>) -> Option<&mut T> {
        let index = self.position(*id.borrow()).ok()?;
        self.entries.get_mut(index).map(|(_, v)| v)
    }

    /// Whether instance `id` exists.
    #[inline]
    pub fn contains_key(&self, id: impl Borrow<u16>) -> bool {
        self.position(*id.borrow()).is_ok()
    }

    /// Sets instance `id` to `value`, returning its previous value.
    pub fn insert(&mut self, id: u16, value: T) -> Option<T> {
        match self.position(id) {
            Ok(index) => self
                .entries
                .get_mut(index)
                .map(|(_, old)| core::mem::replace(old, value)),
            Err(index) => {
                self.entries.insert(index, (id, value));
                None
            }
        }
    }

    /// Adds instance `id` unless it exists (then `value` is handed back). Ids that come in
    /// increasing order, as decoders see them, are appended without a search.
    #[inline]
    pub fn insert_new(&mut self, id: u16, value: T) -> Result<(), T> {
        match self.entries.last() {
            None => {}
            Some((last, _)) if *last < id => {}
            Some(_) => {
                let Err(index) = self.position(id) else {
                    return Err(value);
                };
                self.entries.insert(index, (id, value));
                return Ok(());
            }
        }
        self.entries.push((id, value));
        Ok(())
    }

    /// Removes instance `id`, returning its value.
    pub fn remove(&mut self, id: impl Borrow<u16>) -> Option<T> {
        let index = self.position(*id.borrow()).ok()?;
        Some(self.entries.remove(index).1)
    }

    /// Removes every instance.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Keeps the instances for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&u16, &mut T) -> bool) {
        self.entries.retain(|(id, v)| keep(id, v));
    }

    /// The instances in id order, as `(&id, &value)` like a `BTreeMap`'s.
    #[inline]
    pub fn iter(&self) -> Iter<'_, T> {
        Iter(self.entries.iter())
    }

    /// The instances in id order, with mutable values.
    #[inline]
    pub fn iter_mut(&mut self) -> IterMut<'_, T> {
        IterMut(self.entries.iter_mut())
    }

    /// The instance ids in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &u16> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(id, _)| id)
    }

    /// The values in id order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The values in id order, to change them.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The first instance (lowest id).
    pub fn first_key_value(&self) -> Option<(&u16, &T)> {
        self.entries.first().map(|(id, v)| (id, v))
    }

    /// The last instance (highest id).
    pub fn last_key_value(&self) -> Option<(&u16, &T)> {
        self.entries.last().map(|(id, v)| (id, v))
    }

    /// The instances as `(id, value)` pairs in id order.
    #[inline]
    pub fn as_slice(&self) -> &[(u16, T)] {
        &self.entries
    }
}

impl<T> Default for ResourceInstances<T> {
    fn default() -> Self {
        ResourceInstances::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for ResourceInstances<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<T> Extend<(u16, T)> for ResourceInstances<T> {
    /// Inserts every pair; a later value for an id replaces an earlier one, as in a `BTreeMap`.
    fn extend<I: IntoIterator<Item = (u16, T)>>(&mut self, iter: I) {
        for (id, value) in iter {
            if let Err(value) = self.insert_new(id, value) {
                self.insert(id, value);
            }
        }
    }
}

impl<T> FromIterator<(u16, T)> for ResourceInstances<T> {
    fn from_iter<I: IntoIterator<Item = (u16, T)>>(iter: I) -> Self {
        let mut out = ResourceInstances::new();
        out.extend(iter);
        out
    }
}

impl<T, const N: usize> From<[(u16, T); N]> for ResourceInstances<T> {
    fn from(pairs: [(u16, T); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<T> From<BTreeMap<u16, T>> for ResourceInstances<T> {
    fn from(map: BTreeMap<u16, T>) -> Self {
        ResourceInstances {
            entries: map.into_iter().collect(),
        }
    }
}

impl<T> From<ResourceInstances<T>> for BTreeMap<u16, T> {
    fn from(instances: ResourceInstances<T>) -> Self {
        instances.into_iter().collect()
    }
}

impl<T> IntoIterator for ResourceInstances<T> {
    type Item = (u16, T);
    type IntoIter = smallvec::IntoIter<[(u16, T); INLINE_INSTANCES]>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a ResourceInstances<T> {
    type Item = (&'a u16, &'a T);
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut ResourceInstances<T> {
    type Item = (&'a u16, &'a mut T);
    type IntoIter = IterMut<'a, T>;

    fn into_iter(self) -> IterMut<'a, T> {
        self.iter_mut()
    }
}

/// The instances of a [`ResourceInstances`] in id order ([`ResourceInstances::iter`]).
#[derive(Debug)]
pub struct Iter<'a, T>(core::slice::Iter<'a, (u16, T)>);

// Not derived: a derive would require `T: Clone`, which copying the slice iterator does not need.
impl<T> Clone for Iter<'_, T> {
    fn clone(&self) -> Self {
        Iter(self.0.clone())
    }
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = (&'a u16, &'a T);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(id, v)| (id, v))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<T> DoubleEndedIterator for Iter<'_, T> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(id, v)| (id, v))
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

impl<T> FusedIterator for Iter<'_, T> {}

/// The instances of a [`ResourceInstances`] in id order, with mutable values
/// ([`ResourceInstances::iter_mut`]).
#[derive(Debug)]
pub struct IterMut<'a, T>(core::slice::IterMut<'a, (u16, T)>);

impl<'a, T> Iterator for IterMut<'a, T> {
    type Item = (&'a u16, &'a mut T);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(id, v)| (&*id, v))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<T> DoubleEndedIterator for IterMut<'_, T> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(id, v)| (&*id, v))
    }
}

impl<T> ExactSizeIterator for IterMut<'_, T> {}

impl<T> FusedIterator for IterMut<'_, T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    // `get(&id)` is tested on purpose: it is how `BTreeMap` code calls it.
    #[allow(clippy::needless_borrows_for_generic_args)]
    fn map_operations_keep_ids_sorted_and_unique() {
        let mut m = ResourceInstances::new();
        assert!(m.is_empty());
        assert_eq!(m.insert(5, "e"), None);
        assert_eq!(m.insert(1, "a"), None);
        assert_eq!(m.insert(3, "c"), None);
        assert_eq!(m.insert(3, "C"), Some("c"));
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(3), Some(&"C"));
        assert_eq!(m.get(&4), None);
        assert_eq!(m.get(&5), Some(&"e"));
        assert!(m.contains_key(5));
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [1, 3, 5]);
        assert_eq!(m.values().copied().collect::<Vec<_>>(), ["a", "C", "e"]);
        assert_eq!(m.first_key_value(), Some((&1, &"a")));
        assert_eq!(m.last_key_value(), Some((&5, &"e")));
        if let Some(v) = m.get_mut(1) {
            *v = "A";
        }
        assert_eq!(m.remove(5), Some("e"));
        assert_eq!(m.remove(5), None);
        m.retain(|id, _| *id != 3);
        assert_eq!(m.as_slice(), [(1, "A")]);
        assert_eq!(format!("{m:?}"), r#"{1: "A"}"#);
        m.clear();
        assert_eq!(m, ResourceInstances::default());
    }

    #[test]
    fn insert_new_refuses_duplicates_in_any_order() {
        let mut m = ResourceInstances::new();
        assert_eq!(m.insert_new(4, 40), Ok(()));
        assert_eq!(m.insert_new(9, 90), Ok(()));
        assert_eq!(m.insert_new(2, 20), Ok(()));
        assert_eq!(m.insert_new(9, 91), Err(91));
        assert_eq!(m.insert_new(2, 21), Err(21));
        assert_eq!(m.as_slice(), [(2, 20), (4, 40), (9, 90)]);
    }

    #[test]
    fn conversions_match_btreemap() {
        let m = ResourceInstances::from([(2, 'b'), (0, 'a'), (2, 'c')]);
        let map = BTreeMap::from([(2, 'b'), (0, 'a'), (2, 'c')]);
        assert_eq!(BTreeMap::from(m.clone()), map);
        assert_eq!(ResourceInstances::from(map), m);
        let mut doubled = m.clone();
        for (_, v) in &mut doubled {
            *v = v.to_ascii_uppercase();
        }
        for v in doubled.values_mut() {
            *v = v.to_ascii_lowercase();
        }
        assert_eq!(doubled, m);
        assert_eq!(
            (&m).into_iter()
                .rev()
                .map(|(k, v)| (*k, *v))
                .collect::<Vec<_>>(),
            [(2, 'c'), (0, 'a')]
        );
        assert_eq!(m.into_iter().collect::<Vec<_>>(), [(0, 'a'), (2, 'c')]);
    }

    proptest! {
        #[test]
        fn behaves_like_a_btreemap(ops in proptest::collection::vec((0u16..12, any::<i32>(), any::<bool>()), 0..40)) {
            let mut ours = ResourceInstances::new();
            let mut theirs = BTreeMap::new();
            for (id, value, remove) in ops {
                if remove {
                    prop_assert_eq!(ours.remove(id), theirs.remove(&id));
                } else {
                    prop_assert_eq!(ours.insert(id, value), theirs.insert(id, value));
                }
                prop_assert_eq!(ours.get(id), theirs.get(&id));
            }
            prop_assert!(ours.iter().eq(theirs.iter()));
            prop_assert_eq!(ours.len(), theirs.len());
        }
    }
}
