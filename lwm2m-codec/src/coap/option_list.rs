//! The option list of a [`MessageBuilder`](super::MessageBuilder): entries kept sorted by number
//! as they are inserted (stable, so repeated options keep their order), the first 16 in an inline
//! array and only beyond that on the heap.

use alloc::vec::Vec;

/// Options kept in the builder without allocating.
pub(crate) const INLINE_OPTIONS: usize = 16;

/// Longest value the 14 + 2-byte extended length can express: 65535 + 269.
pub(crate) const MAX_OPTION_LEN: usize = 65_535 + 269;

/// An option value: borrowed bytes, or a `uint` encoded into the entry itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'v> {
    Borrowed(&'v [u8]),
    /// Big-endian bytes; the value is `bytes[start..]` (minimal: no leading zero bytes).
    Uint {
        bytes: [u8; 4],
        start: u8,
    },
}

impl Value<'_> {
    pub(crate) fn uint(value: u32) -> Value<'static> {
        Value::Uint {
            bytes: value.to_be_bytes(),
            start: (value.leading_zeros() / 8) as u8,
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Value::Borrowed(bytes) => bytes,
            Value::Uint { bytes, start } => bytes.get(usize::from(*start)..).unwrap_or(&[]),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry<'v> {
    pub(crate) number: u16,
    pub(crate) value: Value<'v>,
}

const VACANT: Entry<'static> = Entry {
    number: 0,
    value: Value::Borrowed(&[]),
};

/// The builder's options, sorted by number (stable: equal numbers keep their insertion order).
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "the inline array is the point: no allocation for up to 16 options"
)]
pub(crate) enum OptionList<'v> {
    Inline {
        entries: [Entry<'v>; INLINE_OPTIONS],
        len: usize,
    },
    Spilled(Vec<Entry<'v>>),
}

impl<'v> OptionList<'v> {
    pub(crate) const fn new() -> OptionList<'v> {
        OptionList::Inline {
            entries: [VACANT; INLINE_OPTIONS],
            len: 0,
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[Entry<'v>] {
        match self {
            OptionList::Inline { entries, len } => entries.get(..*len).unwrap_or(&[]),
            OptionList::Spilled(entries) => entries,
        }
    }

    /// Inserts after every entry with a number ≤ `entry.number`; appending in order is O(log n).
    #[inline]
    pub(crate) fn insert(&mut self, entry: Entry<'v>) {
        let slice = self.as_slice();
        // Options are mostly added in order: then the insertion point is the end.
        let pos = match slice.last() {
            Some(last) if last.number > entry.number => {
                slice.partition_point(|e| e.number <= entry.number)
            }
            _ => slice.len(),
        };
        match self {
            OptionList::Inline { entries, len } if *len < INLINE_OPTIONS => {
                let end = *len;
                if pos < end {
                    entries.copy_within(pos..end, pos + 1);
                }
                if let Some(slot) = entries.get_mut(pos) {
                    *slot = entry;
                    *len += 1;
                }
            }
            OptionList::Inline { entries, len } => {
                let mut spilled = Vec::with_capacity(2 * INLINE_OPTIONS);
                spilled.extend_from_slice(entries.get(..*len).unwrap_or(&[]));
                spilled.insert(pos, entry);
                *self = OptionList::Spilled(spilled);
            }
            OptionList::Spilled(entries) => entries.insert(pos, entry),
        }
    }

    /// Removes every entry with this number.
    #[inline]
    pub(crate) fn remove(&mut self, number: u16) {
        let slice = self.as_slice();
        let start = slice.partition_point(|e| e.number < number);
        let end = slice.partition_point(|e| e.number <= number);
        if start == end {
            return;
        }
        match self {
            OptionList::Inline { entries, len } => {
                if let Some(tail) = entries.get_mut(start..*len) {
                    tail.rotate_left(end - start);
                    *len -= end - start;
                }
            }
            OptionList::Spilled(entries) => {
                entries.drain(start..end);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;

    #[test]
    fn uints_are_minimal() {
        for (value, expected) in [
            (0u32, &[][..]),
            (1, &[1][..]),
            (0x100, &[1, 0][..]),
            (0x0100_0000, &[1, 0, 0, 0][..]),
        ] {
            assert_eq!(Value::uint(value).as_slice(), expected);
        }
    }

    #[test]
    fn insertion_is_sorted_and_stable_inline_and_spilled() {
        let mut list = OptionList::new();
        let numbers = [15u16, 11, 12, 11, 60, 15, 0, 65535, 11];
        for (i, &number) in numbers.iter().cycle().take(40).enumerate() {
            list.insert(Entry {
                number,
                value: Value::uint(i as u32),
            });
            let slice = list.as_slice();
            assert_eq!(slice.len(), i + 1);
            assert!(slice.windows(2).all(|w| w[0].number <= w[1].number));
            // Equal numbers keep insertion order: their values (the insertion index) ascend.
            let index = |e: &Entry<'_>| {
                e.value
                    .as_slice()
                    .iter()
                    .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
            };
            assert!(slice
                .windows(2)
                .all(|w| w[0].number != w[1].number || index(&w[0]) < index(&w[1])));
        }
        assert!(matches!(list, OptionList::Spilled(_)));
        list.remove(11);
        assert!(list.as_slice().iter().all(|e| e.number != 11));
        let numbers_left: Vec<u16> = list.as_slice().iter().map(|e| e.number).collect();
        assert_eq!(numbers_left.len(), 40 - 14);
    }

    #[test]
    fn remove_keeps_the_inline_list_compact() {
        let mut list = OptionList::new();
        for number in [4u16, 11, 11, 12, 15] {
            list.insert(Entry {
                number,
                value: Value::Borrowed(b"x"),
            });
        }
        list.remove(11);
        let numbers: Vec<u16> = list.as_slice().iter().map(|e| e.number).collect();
        assert_eq!(numbers, [4, 12, 15]);
        list.remove(99);
        assert_eq!(list.as_slice().len(), 3);
        assert!(matches!(list, OptionList::Inline { .. }));
    }
}
