//! Nodes and typed instances ↔ LwM2M 1.0 JSON (11543), digest §12.5.
//!
//! **Decoding** concatenates `bn` and each `n` into a path; every entry must name a resource or
//! resource instance under the request path (test-vectors §3: otherwise 4.00). The one exception
//! is the TS's object-link hierarchy (`"bn":"/"` in a Read of `/65/0` also carrying `/66/0/...`):
//! entries of instances reachable from the target through Objlnk values are accepted and returned
//! in [`Content::linked`](super::Content::linked). Values are typed by the resource's definition:
//! `v` → Integer, Float or Time; `sv` → String, or Opaque as base64; `bv` → Boolean; `ov` →
//! Objlnk (an `"oid:iid"` in `sv` too, as Leshan writes it; `FFFF:FFFF` is the null link). A
//! resource the registry does not know keeps the JSON's own type (`v` → Integer or Float, `sv` →
//! String ...). Times (`bt` + `t`) are kept: entries are grouped by time.
//!
//! **Encoding** is the compact form of the test vectors: `bn` is the request path, with a
//! trailing `/` for objects, instances and multiple resources; `n` is the rest (`"6/0"`), absent
//! for a single resource or resource instance. A multiple resource with no instances, and an
//! instance with no resources, have no entry (JSON cannot express them), so they read back
//! absent.

mod decode;
mod encode;
mod typed;

pub(super) use decode::decode;
pub(super) use encode::{encode, encode_typed};
pub(super) use typed::decode_typed;

/// A path or name of at most 32 ASCII bytes (`/65534/65534/65534/65534/` is 25), built without
/// allocating.
pub(super) struct NameBuf {
    buf: [u8; 32],
    len: usize,
}

impl NameBuf {
    pub(super) const fn new() -> Self {
        NameBuf {
            buf: [0; 32],
            len: 0,
        }
    }

    #[inline]
    pub(super) fn push(&mut self, byte: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    #[inline]
    pub(super) fn push_id(&mut self, id: u16) {
        let mut digits = [0u8; 5];
        let mut n = id;
        let mut start = digits.len();
        loop {
            start -= 1;
            if let Some(d) = digits.get_mut(start) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || start == 0 {
                break;
            }
        }
        for &d in digits.get(start..).unwrap_or_default() {
            self.push(d);
        }
    }

    /// `/a/b/c` for the ids.
    pub(super) fn path(ids: &[u16]) -> Self {
        let mut name = NameBuf::new();
        for &id in ids {
            name.push(b'/');
            name.push_id(id);
        }
        name
    }

    #[inline]
    pub(super) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(super) fn as_str(&self) -> &str {
        // Only ASCII digits and '/' are ever pushed.
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::NameBuf;

    #[test]
    fn names() {
        assert_eq!(NameBuf::path(&[3, 0]).as_str(), "/3/0");
        assert_eq!(
            NameBuf::path(&[65534, 65534, 65534, 65534]).as_str(),
            "/65534/65534/65534/65534"
        );
        let mut n = NameBuf::new();
        n.push_id(0);
        n.push(b'/');
        n.push_id(10);
        assert_eq!(n.as_str(), "0/10");
        n.truncate(1);
        assert_eq!((n.as_str(), n.len()), ("0", 1));
        assert_eq!(NameBuf::path(&[]).as_str(), "");
    }
}
