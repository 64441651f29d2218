//! The CoAP Content-Format numbers LwM2M 1.0 uses (RFC 7252 §12.3, LwM2M TS §6.4).
//!
//! [`ContentFormat::from_number`] is the input side: it also accepts the legacy pre-1.0 numbers
//! 1541-1544 that old clients still send. [`ContentFormat::number`] is the output side and only
//! ever yields the registered 1.0 numbers.

use core::fmt;

/// A content format an LwM2M peer can send or ask for.
///
/// ```
/// use lwm2m_codec::ContentFormat;
/// assert_eq!(ContentFormat::from_number(11542), Some(ContentFormat::Tlv));
/// assert_eq!(ContentFormat::from_number(1542), Some(ContentFormat::Tlv)); // legacy, input only
/// assert_eq!(ContentFormat::Tlv.number(), 11542);
/// assert_eq!(ContentFormat::from_number(50), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentFormat {
    /// `text/plain;charset=utf-8` (0): one single resource value as text.
    Text,
    /// `application/link-format` (40): CoRE link-format, for Register payloads and Discover.
    LinkFormat,
    /// `application/octet-stream` (42): one single Opaque resource as raw bytes.
    Opaque,
    /// `application/vnd.oma.lwm2m+tlv` (11542).
    Tlv,
    /// `application/vnd.oma.lwm2m+json` (11543): the LwM2M 1.0 JSON format.
    Json,
}

impl ContentFormat {
    /// Number of `text/plain;charset=utf-8`.
    pub const TEXT: u16 = 0;
    /// Number of `application/link-format`.
    pub const LINK_FORMAT: u16 = 40;
    /// Number of `application/octet-stream`.
    pub const OPAQUE: u16 = 42;
    /// Number of `application/vnd.oma.lwm2m+tlv`.
    pub const TLV: u16 = 11542;
    /// Number of `application/vnd.oma.lwm2m+json`.
    pub const JSON: u16 = 11543;
    /// Legacy (pre-1.0) number of `application/vnd.oma.lwm2m+text`; accepted on input only.
    pub const LEGACY_TEXT: u16 = 1541;
    /// Legacy (pre-1.0) number of `application/vnd.oma.lwm2m+tlv`; accepted on input only.
    pub const LEGACY_TLV: u16 = 1542;
    /// Legacy (pre-1.0) number of `application/vnd.oma.lwm2m+json`; accepted on input only.
    pub const LEGACY_JSON: u16 = 1543;
    /// Legacy (pre-1.0) number of `application/vnd.oma.lwm2m+opaque`; accepted on input only.
    pub const LEGACY_OPAQUE: u16 = 1544;

    /// Every format, in number order.
    pub const ALL: [ContentFormat; 5] = [
        ContentFormat::Text,
        ContentFormat::LinkFormat,
        ContentFormat::Opaque,
        ContentFormat::Tlv,
        ContentFormat::Json,
    ];

    /// Maps a Content-Format or Accept option value to a format, accepting the legacy numbers
    /// 1541-1544. Returns `None` for a number LwM2M 1.0 does not use (the caller answers 4.15 or
    /// 4.06).
    pub const fn from_number(number: u16) -> Option<Self> {
        match number {
            Self::TEXT | Self::LEGACY_TEXT => Some(Self::Text),
            Self::LINK_FORMAT => Some(Self::LinkFormat),
            Self::OPAQUE | Self::LEGACY_OPAQUE => Some(Self::Opaque),
            Self::TLV | Self::LEGACY_TLV => Some(Self::Tlv),
            Self::JSON | Self::LEGACY_JSON => Some(Self::Json),
            _ => None,
        }
    }

    /// The registered LwM2M 1.0 number of this format (never a legacy one).
    pub const fn number(self) -> u16 {
        match self {
            Self::Text => Self::TEXT,
            Self::LinkFormat => Self::LINK_FORMAT,
            Self::Opaque => Self::OPAQUE,
            Self::Tlv => Self::TLV,
            Self::Json => Self::JSON,
        }
    }

    /// The media type string, as used in `ct` link attributes' documentation and logs.
    pub const fn media_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain;charset=utf-8",
            Self::LinkFormat => "application/link-format",
            Self::Opaque => "application/octet-stream",
            Self::Tlv => "application/vnd.oma.lwm2m+tlv",
            Self::Json => "application/vnd.oma.lwm2m+json",
        }
    }
}

impl fmt::Display for ContentFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.media_type())
    }
}

impl TryFrom<u16> for ContentFormat {
    type Error = UnknownContentFormat;

    fn try_from(number: u16) -> Result<Self, Self::Error> {
        Self::from_number(number).ok_or(UnknownContentFormat(number))
    }
}

impl From<ContentFormat> for u16 {
    fn from(format: ContentFormat) -> u16 {
        format.number()
    }
}

/// A Content-Format number that LwM2M 1.0 does not use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "content format {0} is not one LwM2M 1.0 uses (0, 40, 42, 11542, 11543 or legacy 1541-1544)"
)]
pub struct UnknownContentFormat(pub u16);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_round_trips() {
        for f in ContentFormat::ALL {
            assert_eq!(ContentFormat::from_number(f.number()), Some(f));
            assert_eq!(ContentFormat::try_from(u16::from(f)), Ok(f));
        }
    }

    #[test]
    fn legacy_numbers_are_accepted_on_input_only() {
        assert_eq!(ContentFormat::from_number(1541), Some(ContentFormat::Text));
        assert_eq!(ContentFormat::from_number(1542), Some(ContentFormat::Tlv));
        assert_eq!(ContentFormat::from_number(1543), Some(ContentFormat::Json));
        assert_eq!(
            ContentFormat::from_number(1544),
            Some(ContentFormat::Opaque)
        );
        for f in ContentFormat::ALL {
            assert!(!(1541..=1544).contains(&f.number()));
        }
    }

    #[test]
    fn unknown_numbers_are_refused() {
        for n in [1, 41, 50, 60, 110, 112, 1540, 1545, 11541, 11544, u16::MAX] {
            assert_eq!(ContentFormat::try_from(n), Err(UnknownContentFormat(n)));
        }
    }
}
