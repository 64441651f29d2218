//! LwM2M JSON → [`TypedInstance`]: the typed fast path, with entry names resolved against a base
//! name read once.
// `#[inline(always)]` where a `Result` would otherwise be returned through memory per entry.
#![allow(clippy::inline_always)]

use alloc::vec::Vec;

use lwm2m_codec::json::{resolve_name, Document, JsonError, NamePath};

use super::decode::{check_name_ids, name_path, not_under, typed_value};
use crate::content::error::{ContentError, Location};
use crate::content::typed::{field_error, ResourceCursor, Seen, TypedInstance};
use crate::content::typed_target;
use crate::path::Path;

/// The ids of an entry name: 1 to 4 of them, object first, 16 bits each with the object in the
/// low bits. Packed in one register, like the codec's resolver does: copying an array of `u16`s
/// written one by one reads them back with a wide load, a store-forwarding stall per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ids {
    packed: u64,
    len: u8,
}

impl Ids {
    fn of(path: &NamePath) -> Self {
        let mut packed = 0;
        for (k, id) in path.ids().iter().enumerate() {
            packed |= u64::from(*id) << (16 * k);
        }
        Ids {
            packed,
            len: path.depth() as u8,
        }
    }

    /// Id number `k` (0 is the object id).
    #[inline]
    fn get(self, k: u32) -> u16 {
        (self.packed >> (16 * k)) as u16
    }

    /// The ids as an array and how many of them are used, for the error paths.
    fn unpacked(self) -> ([u16; 4], usize) {
        (
            [self.get(0), self.get(1), self.get(2), self.get(3)],
            usize::from(self.len),
        )
    }
}

/// Entry names resolved as [`resolve_name`] does (`bn` + `n` read as one path), but with the base
/// name parsed once per document instead of once per entry.
struct Names<'d> {
    base_name: Option<&'d str>,
    /// The ids of `bn` when it is a valid path followed by one `/` (`"/3/0/"`, the usual form):
    /// `bn` + `n` is then exactly these ids followed by those of `n`, when `n` is one or more
    /// ids separated by single slashes.
    prefix: Option<Ids>,
}

impl<'d> Names<'d> {
    fn new(base_name: Option<&'d str>) -> Self {
        let prefix = base_name
            .and_then(|bn| bn.strip_suffix('/'))
            .and_then(|path| resolve_name(Some(path), None).ok())
            .map(|path| Ids::of(&path));
        Names { base_name, prefix }
    }

    /// The ids of entry `index`, named `name`.
    #[inline(always)]
    fn resolve(&self, name: Option<&str>, index: usize) -> Result<Ids, ContentError> {
        if let (Some(prefix), Some(name)) = (self.prefix, name) {
            if let Some(ids) = append(prefix, name.as_bytes()) {
                return Ok(ids);
            }
        }
        self.resolve_slow(name, index)
    }

    /// Anything but the usual form, including every invalid name: the codec's resolver, which
    /// reports a fault with its offset.
    #[cold]
    #[inline(never)]
    fn resolve_slow(&self, name: Option<&str>, index: usize) -> Result<Ids, ContentError> {
        match resolve_name(self.base_name, name) {
            Ok(path) => Ok(Ids::of(&path)),
            Err(source) => Err(JsonError::InvalidName {
                entry: index,
                source,
            }
            .into()),
        }
    }
}

/// `prefix` followed by the ids of `name` (`id *("/" id)`, ids 0-65535, 4 ids in all at most),
/// or `None` when `name` is not of that form.
#[inline]
fn append(prefix: Ids, name: &[u8]) -> Option<Ids> {
    let Ids {
        mut packed,
        mut len,
    } = prefix;
    let mut current: Option<u32> = None;
    let mut push = |current: Option<u32>| -> Option<()> {
        if len >= 4 {
            return None;
        }
        packed |= u64::from(current?) << (16 * u32::from(len));
        len += 1;
        Some(())
    };
    for &byte in name {
        match byte {
            b'0'..=b'9' => {
                let id = current.unwrap_or(0) * 10 + u32::from(byte - b'0');
                if id > u32::from(u16::MAX) {
                    return None;
                }
                current = Some(id);
            }
            b'/' => push(current.take())?,
            _ => return None,
        }
    }
    push(current)?;
    Some(Ids { packed, len })
}

/// Decodes an instance payload for `target` (`/o/i`, `o` being `T`'s object) straight into `T`.
pub(crate) fn decode_typed<T: TypedInstance>(
    target: &Path,
    payload: &[u8],
) -> Result<T, ContentError> {
    let definition = T::definition();
    typed_target(target, definition)?;
    let (object_id, instance_id) = (definition.id, target.instance_id());
    let document = Document::decode(payload)?;
    if document.base_time.is_some() || document.records.iter().any(|r| r.time.is_some()) {
        return Err(ContentError::Timestamped);
    }
    let names = Names::new(document.base_name.as_deref());
    let mut out = T::empty();
    let mut seen = Seen::new();
    let mut cursor = ResourceCursor::new();
    let mut scratch = Vec::new();
    for (index, record) in document.records.iter().enumerate() {
        let packed = names.resolve(record.name.as_deref(), index)?;
        let (array, depth) = packed.unpacked();
        let ids = array.get(..depth).unwrap_or_default();
        let under = packed.get(0) == object_id && Some(packed.get(1)) == instance_id;
        let (resource_id, instance) = match packed.len {
            3 if under => (packed.get(2), None),
            4 if under => (packed.get(2), Some(packed.get(3))),
            _ => return Err(not_under(target, ids, index)),
        };
        let location = Location::Entry(index);
        if packed.packed & 0xFFFF_0000_0000 == 0xFFFF_0000_0000 || instance == Some(u16::MAX) {
            // 65535 is reserved (the object and instance ids matched the target's, so they are not).
            check_name_ids(ids, index)?;
        }
        let path = || name_path(ids, 3);
        let Some(resource_index) = cursor.find(definition, resource_id) else {
            continue;
        };
        let Some(resource) = definition.resources.get(resource_index) else {
            continue;
        };
        let Some(data_type) = resource.data_type else {
            return Err(ContentError::ExecutableValue {
                path: path(),
                location,
            });
        };
        if resource.is_multiple() != instance.is_some() {
            return Err(ContentError::Multiplicity {
                path: path(),
                expected_multiple: resource.is_multiple(),
                location,
            });
        }
        let value = typed_value(&record.value, data_type, &mut scratch, ids, location)?;
        let fresh = seen.mark(resource_index);
        match instance {
            None if !fresh => {
                return Err(ContentError::Duplicate {
                    path: path(),
                    location,
                })
            }
            None => out
                .set_value(resource_id, value)
                .map_err(|e| field_error(e, path(), location))?,
            Some(ri) => {
                if fresh {
                    out.set_multiple(resource_id)
                        .map_err(|e| field_error(e, path(), location))?;
                }
                out.set_instance_value(resource_id, ri, value)
                    .map_err(|e| field_error(e, name_path(ids, 4), location))?;
            }
        }
    }
    if let Some(missing) = seen.missing_mandatory(definition) {
        return Err(ContentError::MissingMandatory {
            path: target.child(missing).unwrap_or(*target),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the codec resolves, as `Ids`.
    fn reference(bn: Option<&str>, n: Option<&str>) -> Option<Ids> {
        resolve_name(bn, n).ok().map(|path| Ids::of(&path))
    }

    #[test]
    fn names_resolve_like_the_codec() {
        for (bn, n) in [
            (Some("/3/0/"), Some("6/0")),
            (Some("/3/0/"), Some("13")),
            (Some("/3/0/"), Some("/6")),
            (Some("/3/0/"), Some("6/")),
            (Some("/3/0/"), Some("")),
            (Some("/3/0/"), None),
            (Some("/3/0/"), Some("1/2/3")),
            (Some("/3/0/"), Some("65536")),
            (Some("/3/0/"), Some("65535")),
            (Some("/3/0//"), Some("1")),
            (Some("3/0/"), Some("1")),
            (Some("/"), Some("3/0/1")),
            (None, Some("/3/0/1")),
            (Some("/3/0/1"), None),
            (Some("/3/x/"), Some("1")),
        ] {
            let names = Names::new(bn);
            assert_eq!(
                names.resolve(n, 0).ok(),
                reference(bn, n),
                "bn {bn:?} n {n:?}"
            );
        }
        assert_eq!(
            Names::new(Some("/3/0/")).resolve(Some("6/"), 2),
            Err(ContentError::from(JsonError::InvalidName {
                entry: 2,
                source: resolve_name(Some("/3/0/"), Some("6/")).unwrap_err()
            }))
        );
    }

    proptest! {
        #[test]
        fn any_name_resolves_like_the_codec(
            bn in proptest::option::of("[/0-9x]{0,12}"),
            n in proptest::option::of("[/0-9]{0,10}|[0-9]{5,6}"),
        ) {
            let names = Names::new(bn.as_deref());
            let ours = names.resolve(n.as_deref(), 7);
            let theirs = resolve_name(bn.as_deref(), n.as_deref());
            match theirs {
                Ok(_) => prop_assert_eq!(ours.ok(), reference(bn.as_deref(), n.as_deref())),
                Err(source) => prop_assert_eq!(
                    ours,
                    Err(ContentError::from(JsonError::InvalidName { entry: 7, source }))
                ),
            }
        }
    }
}
