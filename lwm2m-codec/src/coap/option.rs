//! CoAP option numbers (values from the `coap-numbers` crate) and what RFC 7252 §5.4/§5.10,
//! RFC 7641 and RFC 7959 say about each: format, allowed length, repeatability.
//!
//! ```
//! use lwm2m_codec::coap::option::{self, Format};
//! assert_eq!(option::URI_PATH, 11);
//! assert!(option::is_critical(option::URI_PATH));
//! assert!(!option::is_critical(option::OBSERVE));
//! let info = option::info(option::CONTENT_FORMAT).unwrap();
//! assert_eq!((info.format, info.max_len, info.repeatable), (Format::Uint, 2, false));
//! ```

macro_rules! numbers {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        $($(#[$doc])* pub const $name: u16 = coap_numbers::option::$name;)*
    };
}

numbers! {
    /// If-Match (1): critical, repeatable, opaque 0-8.
    IF_MATCH;
    /// Uri-Host (3): critical, string 1-255; normally absent in LwM2M.
    URI_HOST;
    /// `ETag` (4): elective, repeatable, opaque 1-8; optional with Block2.
    ETAG;
    /// If-None-Match (5): critical, empty.
    IF_NONE_MATCH;
    /// Observe (6, RFC 7641): elective, uint 0-3; 0 registers, 1 deregisters, else a sequence
    /// number.
    OBSERVE;
    /// Uri-Port (7): critical, uint 0-2.
    URI_PORT;
    /// Location-Path (8): elective, repeatable, string 0-255; the registration handle `rd/…`
    /// and the path of a created instance.
    LOCATION_PATH;
    /// Uri-Path (11): critical, repeatable, string 0-255; one option per path segment.
    URI_PATH;
    /// Content-Format (12): elective, uint 0-2.
    CONTENT_FORMAT;
    /// Max-Age (14): elective, uint 0-4; 60 s when absent.
    MAX_AGE;
    /// Uri-Query (15): critical, repeatable, string 0-255; one option per `key=value` item.
    URI_QUERY;
    /// Accept (17): critical, uint 0-2.
    ACCEPT;
    /// Location-Query (20): elective, repeatable, string 0-255.
    LOCATION_QUERY;
    /// Block2 (23, RFC 7959): critical, uint 0-3; block-wise response payloads.
    BLOCK2;
    /// Block1 (27, RFC 7959): critical, uint 0-3; block-wise request payloads.
    BLOCK1;
    /// Size2 (28, RFC 7959): elective, uint 0-4; total size of the response body.
    SIZE2;
    /// Proxy-Uri (35): critical, string 1-1034.
    PROXY_URI;
    /// Proxy-Scheme (39): critical, string 1-255.
    PROXY_SCHEME;
    /// Size1 (60): elective, uint 0-4; total size of the request body, or the largest
    /// acceptable one in a 4.13 response.
    SIZE1;
}

/// The value format of an option (RFC 7252 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Always zero-length.
    Empty,
    /// Raw bytes.
    Opaque,
    /// Big-endian unsigned integer without leading zeros (receivers accept them anyway).
    Uint,
    /// UTF-8 text.
    String,
}

/// What the RFCs define for one option number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionInfo {
    /// Registered name.
    pub name: &'static str,
    /// Value format.
    pub format: Format,
    /// Shortest allowed value.
    pub min_len: u16,
    /// Longest allowed value.
    pub max_len: u16,
    /// Whether the option may occur more than once.
    pub repeatable: bool,
}

const fn info_of(
    name: &'static str,
    format: Format,
    min_len: u16,
    max_len: u16,
    repeatable: bool,
) -> OptionInfo {
    OptionInfo {
        name,
        format,
        min_len,
        max_len,
        repeatable,
    }
}

/// Format, length range and repeatability of the options this crate knows (the RFC 7252 set plus
/// Observe, Block1/2 and Size2), or `None` for any other number.
pub const fn info(number: u16) -> Option<OptionInfo> {
    use Format::{Empty, Opaque, String, Uint};
    Some(match number {
        IF_MATCH => info_of("If-Match", Opaque, 0, 8, true),
        URI_HOST => info_of("Uri-Host", String, 1, 255, false),
        ETAG => info_of("ETag", Opaque, 1, 8, true),
        IF_NONE_MATCH => info_of("If-None-Match", Empty, 0, 0, false),
        OBSERVE => info_of("Observe", Uint, 0, 3, false),
        URI_PORT => info_of("Uri-Port", Uint, 0, 2, false),
        LOCATION_PATH => info_of("Location-Path", String, 0, 255, true),
        URI_PATH => info_of("Uri-Path", String, 0, 255, true),
        CONTENT_FORMAT => info_of("Content-Format", Uint, 0, 2, false),
        MAX_AGE => info_of("Max-Age", Uint, 0, 4, false),
        URI_QUERY => info_of("Uri-Query", String, 0, 255, true),
        ACCEPT => info_of("Accept", Uint, 0, 2, false),
        LOCATION_QUERY => info_of("Location-Query", String, 0, 255, true),
        BLOCK2 => info_of("Block2", Uint, 0, 3, false),
        BLOCK1 => info_of("Block1", Uint, 0, 3, false),
        SIZE2 => info_of("Size2", Uint, 0, 4, false),
        PROXY_URI => info_of("Proxy-Uri", String, 1, 1034, false),
        PROXY_SCHEME => info_of("Proxy-Scheme", String, 1, 255, false),
        SIZE1 => info_of("Size1", Uint, 0, 4, false),
        _ => return None,
    })
}

/// Whether this crate knows the option (see [`info`]); a ready-made `known` predicate for
/// [`Message::first_unknown_critical`](super::Message::first_unknown_critical).
pub const fn is_known(number: u16) -> bool {
    info(number).is_some()
}

/// The registered name of any IANA-registered option number.
pub fn name(number: u16) -> Option<&'static str> {
    coap_numbers::option::to_name(number)
}

/// Critical options (odd numbers) must be understood: an unrecognised one in a Confirmable
/// request earns 4.02 Bad Option (RFC 7252 §5.4.1).
#[inline]
pub const fn is_critical(number: u16) -> bool {
    number & 1 == 1
}

/// Unsafe-to-forward options (bit 1 set): a proxy that does not know one must not forward the
/// message (RFC 7252 §5.4.2).
#[inline]
pub const fn is_unsafe(number: u16) -> bool {
    number & 2 == 2
}

/// `NoCacheKey` options: not part of a cache key (RFC 7252 §5.4.2).
#[inline]
pub const fn is_no_cache_key(number: u16) -> bool {
    number & 0x1E == 0x1C
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_registered_ones() {
        let expected = [
            (IF_MATCH, 1),
            (URI_HOST, 3),
            (ETAG, 4),
            (IF_NONE_MATCH, 5),
            (OBSERVE, 6),
            (URI_PORT, 7),
            (LOCATION_PATH, 8),
            (URI_PATH, 11),
            (CONTENT_FORMAT, 12),
            (MAX_AGE, 14),
            (URI_QUERY, 15),
            (ACCEPT, 17),
            (LOCATION_QUERY, 20),
            (BLOCK2, 23),
            (BLOCK1, 27),
            (SIZE2, 28),
            (PROXY_URI, 35),
            (PROXY_SCHEME, 39),
            (SIZE1, 60),
        ];
        for (number, value) in expected {
            assert_eq!(number, value);
            let info = info(number).unwrap();
            assert_eq!(Some(info.name), name(number));
            assert!(info.min_len <= info.max_len);
        }
        assert_eq!(info(2000), None);
        assert!(!is_known(65535));
    }

    #[test]
    fn properties_follow_the_number_bits() {
        assert!(is_critical(URI_PATH) && is_unsafe(URI_PATH));
        assert!(!is_critical(CONTENT_FORMAT) && !is_unsafe(CONTENT_FORMAT));
        assert!(is_critical(BLOCK1) && is_unsafe(BLOCK1));
        assert!(is_no_cache_key(SIZE1) && is_no_cache_key(SIZE2));
        assert!(!is_no_cache_key(ETAG));
    }
}
