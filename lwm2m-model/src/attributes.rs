//! Attributes (digest §10.2): the notification attributes `pmin`, `pmax`, `gt`, `lt`, `st` that a
//! server writes with Write-Attributes, and the read-only `dim` and `ver` that Discover reports.
//!
//! A Write-Attributes request is parsed into an [`AttributeUpdate`] (each attribute set, unset, or
//! left alone: `?pmin=10` sets, a bare `?pmin` unsets), applied to the [`NotificationAttributes`]
//! stored for that server and path with [`NotificationAttributes::write`], which also validates the
//! result. Inheritance (resource over instance over object over the Server object defaults) is
//! [`NotificationAttributes::effective`] and [`NotificationAttributes::with_defaults`].
//!
//! Every [`AttributeError`] maps to 4.00 Bad Request.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::path::Level;
use crate::value::DataType;
use crate::version::Version;

/// A Write-Attributes or Discover attribute is invalid. Every variant maps to 4.00 Bad Request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttributeError {
    /// The attribute name is not one LwM2M 1.0 defines.
    #[error("unknown attribute {name:?}")]
    Unknown {
        /// The name as received.
        name: String,
    },
    /// `dim` and `ver` can be read (Discover) but not written.
    #[error("attribute {name} is read-only")]
    ReadOnly {
        /// The attribute name.
        name: &'static str,
    },
    /// The same attribute appears twice in one request.
    #[error("attribute {name} is given more than once")]
    Duplicate {
        /// The attribute name.
        name: &'static str,
    },
    /// The value does not parse.
    #[error("invalid value {value:?} for {name} (expected {expected})")]
    InvalidValue {
        /// The attribute name.
        name: &'static str,
        /// The value as received.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// Attributes cannot be written at this level (the root, or a resource instance).
    #[error("attributes cannot be written at the {0} level")]
    InvalidLevel(Level),
    /// `gt`, `lt` and `st` may only be set on resources.
    #[error("{name} can only be set on a resource, not at the {level} level")]
    NotAllowedAtLevel {
        /// The attribute name.
        name: &'static str,
        /// The level of the target path.
        level: Level,
    },
    /// `gt`, `lt` and `st` need an Integer or Float resource.
    #[error("{name} needs a numeric (Integer or Float) resource, not {}", type_name(*.data_type))]
    NotNumeric {
        /// The attribute name.
        name: &'static str,
        /// The resource's type (`None`: executable or unknown).
        data_type: Option<DataType>,
    },
    /// `st` is negative.
    #[error("st must not be negative (got {0})")]
    NegativeStep(f64),
    /// `pmax` is smaller than `pmin`.
    #[error("pmax ({pmax}) must not be smaller than pmin ({pmin})")]
    PmaxBelowPmin {
        /// The minimum period.
        pmin: u32,
        /// The maximum period.
        pmax: u32,
    },
    /// `lt` is not below `gt`.
    #[error("lt ({lt}) must be less than gt ({gt})")]
    LtNotBelowGt {
        /// The "less than" threshold.
        lt: f64,
        /// The "greater than" threshold.
        gt: f64,
    },
    /// `lt + 2·st` is not below `gt`.
    #[error("lt + 2*st ({lt} + 2*{st}) must be less than gt ({gt})")]
    StepTooLarge {
        /// The "less than" threshold.
        lt: f64,
        /// The step.
        st: f64,
        /// The "greater than" threshold.
        gt: f64,
    },
}

fn type_name(t: Option<DataType>) -> &'static str {
    t.map_or("a resource without a type", DataType::name)
}

/// The notification attributes stored at one level (object, instance or resource) for one server.
///
/// `None` means "not set at this level" (inheritance applies).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NotificationAttributes {
    /// Minimum period in seconds between two notifications.
    pub pmin: Option<u32>,
    /// Maximum period in seconds without a notification.
    pub pmax: Option<u32>,
    /// Notify when the value crosses this threshold upwards or downwards.
    pub gt: Option<f64>,
    /// Notify when the value crosses this threshold upwards or downwards.
    pub lt: Option<f64>,
    /// Notify when the value moved at least this much since the last notification.
    pub st: Option<f64>,
}

/// The change a Write-Attributes request makes to one attribute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttributeChange<T> {
    /// `name=value`: set it at this level.
    Set(T),
    /// `name` alone: remove it at this level (inheritance applies again).
    Unset,
}

impl<T: Copy> AttributeChange<T> {
    fn apply(change: Option<Self>, current: Option<T>) -> Option<T> {
        match change {
            None => current,
            Some(AttributeChange::Set(v)) => Some(v),
            Some(AttributeChange::Unset) => None,
        }
    }
}

/// A parsed Write-Attributes request: for each notification attribute, `None` when the request
/// does not mention it.
///
/// ```
/// use lwm2m_model::{AttributeChange, AttributeUpdate, DataType, Level, NotificationAttributes};
///
/// let update = AttributeUpdate::parse(["pmin=10", "pmax=60", "gt=50", "lt=42.2"])?;
/// assert_eq!(update.pmin, Some(AttributeChange::Set(10)));
/// let stored = NotificationAttributes::default().write(&update, Level::Resource, Some(DataType::Integer))?;
/// assert_eq!(stored.to_query_items(), ["pmin=10", "pmax=60", "gt=50", "lt=42.2"]);
///
/// // A bare name unsets the attribute at this level.
/// let stored = stored.write(&AttributeUpdate::parse(["pmin"])?, Level::Resource, Some(DataType::Integer))?;
/// assert_eq!(stored.pmin, None);
/// # Ok::<(), lwm2m_model::AttributeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AttributeUpdate {
    /// Change to `pmin`.
    pub pmin: Option<AttributeChange<u32>>,
    /// Change to `pmax`.
    pub pmax: Option<AttributeChange<u32>>,
    /// Change to `gt`.
    pub gt: Option<AttributeChange<f64>>,
    /// Change to `lt`.
    pub lt: Option<AttributeChange<f64>>,
    /// Change to `st`.
    pub st: Option<AttributeChange<f64>>,
}

/// Splits a Uri-Query item into its name and optional value.
fn split_item(item: &str) -> (&str, Option<&str>) {
    match item.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (item, None),
    }
}

fn parse_period(name: &'static str, value: &str) -> Result<u32, AttributeError> {
    // Plain digits only: no sign, no fraction, no exponent.
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(v) = value.parse() {
            return Ok(v);
        }
    }
    Err(AttributeError::InvalidValue {
        name,
        value: value.to_string(),
        expected: "a non-negative integer number of seconds (at most 4294967295)",
    })
}

fn parse_number(name: &'static str, value: &str) -> Result<f64, AttributeError> {
    // Decimal numbers, with an exponent tolerated (some servers print doubles that way); the
    // character check keeps out `inf`, `NaN` and the like that `f64::from_str` would accept.
    let plausible = value.bytes().any(|b| b.is_ascii_digit())
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    match value.parse::<f64>() {
        Ok(v) if plausible && v.is_finite() => Ok(v),
        _ => Err(AttributeError::InvalidValue {
            name,
            value: value.to_string(),
            expected: "a decimal number",
        }),
    }
}

fn set_once<T>(
    slot: &mut Option<AttributeChange<T>>,
    name: &'static str,
    change: AttributeChange<T>,
) -> Result<(), AttributeError> {
    if slot.is_some() {
        return Err(AttributeError::Duplicate { name });
    }
    *slot = Some(change);
    Ok(())
}

impl AttributeUpdate {
    /// Parses the Uri-Query items of a Write-Attributes request (`"pmin=10"`, `"pmin"` ...).
    ///
    /// Unknown names, `dim`/`ver` (read-only), duplicates and malformed values are errors; an empty
    /// value (`pmin=`) is malformed, not an unset.
    pub fn parse<I, S>(items: I) -> Result<AttributeUpdate, AttributeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut update = AttributeUpdate::default();
        for item in items {
            let (name, value) = split_item(item.as_ref());
            match name {
                "pmin" => {
                    let change = match value {
                        Some(v) => AttributeChange::Set(parse_period("pmin", v)?),
                        None => AttributeChange::Unset,
                    };
                    set_once(&mut update.pmin, "pmin", change)?;
                }
                "pmax" => {
                    let change = match value {
                        Some(v) => AttributeChange::Set(parse_period("pmax", v)?),
                        None => AttributeChange::Unset,
                    };
                    set_once(&mut update.pmax, "pmax", change)?;
                }
                "gt" | "lt" | "st" => {
                    let (name, slot) = match name {
                        "gt" => ("gt", &mut update.gt),
                        "lt" => ("lt", &mut update.lt),
                        _ => ("st", &mut update.st),
                    };
                    let change = match value {
                        Some(v) => AttributeChange::Set(parse_number(name, v)?),
                        None => AttributeChange::Unset,
                    };
                    set_once(slot, name, change)?;
                }
                "dim" => return Err(AttributeError::ReadOnly { name: "dim" }),
                "ver" => return Err(AttributeError::ReadOnly { name: "ver" }),
                other => {
                    return Err(AttributeError::Unknown {
                        name: other.to_string(),
                    })
                }
            }
        }
        Ok(update)
    }

    /// Whether the request changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == AttributeUpdate::default()
    }

    /// The Uri-Query items of this update, in the order pmin, pmax, gt, lt, st (`"pmin=10"` for a
    /// set, `"pmin"` for an unset).
    pub fn to_query_items(&self) -> Vec<String> {
        fn push<T: fmt::Display>(out: &mut Vec<String>, name: &str, c: Option<AttributeChange<T>>) {
            match c {
                None => {}
                Some(AttributeChange::Set(v)) => out.push(alloc::format!("{name}={v}")),
                Some(AttributeChange::Unset) => out.push(name.to_string()),
            }
        }
        let mut out = Vec::new();
        push(&mut out, "pmin", self.pmin);
        push(&mut out, "pmax", self.pmax);
        push(&mut out, "gt", self.gt);
        push(&mut out, "lt", self.lt);
        push(&mut out, "st", self.st);
        out
    }

    fn threshold_names(&self) -> impl Iterator<Item = &'static str> {
        [
            ("gt", self.gt.is_some()),
            ("lt", self.lt.is_some()),
            ("st", self.st.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, present)| present.then_some(n))
    }
}

impl NotificationAttributes {
    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        *self == NotificationAttributes::default()
    }

    /// These attributes with every unset one taken from `fallback` (the level above).
    #[must_use]
    pub fn or(&self, fallback: &NotificationAttributes) -> NotificationAttributes {
        NotificationAttributes {
            pmin: self.pmin.or(fallback.pmin),
            pmax: self.pmax.or(fallback.pmax),
            gt: self.gt.or(fallback.gt),
            lt: self.lt.or(fallback.lt),
            st: self.st.or(fallback.st),
        }
    }

    /// The effective attributes of a resource (digest §10.2): resource level over instance level
    /// over object level. For an instance or object observation pass empty lower levels.
    ///
    /// The Server object defaults are not included (Discover does not show them); add them with
    /// [`with_defaults`](Self::with_defaults) when scheduling notifications.
    pub fn effective(
        object: &NotificationAttributes,
        instance: &NotificationAttributes,
        resource: &NotificationAttributes,
    ) -> NotificationAttributes {
        resource.or(instance).or(object)
    }

    /// Fills an unset `pmin`/`pmax` from the Server object's Default Minimum/Maximum Period
    /// (`/1/x/2`, `/1/x/3`). Without those, `pmin` is 0 and there is no `pmax`.
    #[must_use]
    pub fn with_defaults(
        &self,
        default_pmin: Option<u32>,
        default_pmax: Option<u32>,
    ) -> NotificationAttributes {
        NotificationAttributes {
            pmin: self.pmin.or(default_pmin).or(Some(0)),
            pmax: self.pmax.or(default_pmax),
            ..*self
        }
    }

    /// Applies `update` without any check.
    #[must_use]
    pub fn apply(&self, update: &AttributeUpdate) -> NotificationAttributes {
        NotificationAttributes {
            pmin: AttributeChange::apply(update.pmin, self.pmin),
            pmax: AttributeChange::apply(update.pmax, self.pmax),
            gt: AttributeChange::apply(update.gt, self.gt),
            lt: AttributeChange::apply(update.lt, self.lt),
            st: AttributeChange::apply(update.st, self.st),
        }
    }

    /// Carries out a Write-Attributes request on the attributes stored at the target path: checks
    /// that the request fits the target (`level`; `data_type` of the resource, `None` for other
    /// levels or executables), applies it, and validates the merged result.
    ///
    /// On error nothing should be stored; the caller keeps `self`.
    pub fn write(
        &self,
        update: &AttributeUpdate,
        level: Level,
        data_type: Option<DataType>,
    ) -> Result<NotificationAttributes, AttributeError> {
        check_level(level)?;
        // gt/lt/st are resource-level attributes: even unsetting them elsewhere is refused.
        if let Some(name) = update.threshold_names().next() {
            if level != Level::Resource {
                return Err(AttributeError::NotAllowedAtLevel { name, level });
            }
        }
        let merged = self.apply(update);
        merged.validate(level, data_type)?;
        Ok(merged)
    }

    /// Checks the validity rules (digest §9.2) for attributes stored at `level` on a target whose
    /// resource type is `data_type`:
    /// - attributes live at object, instance or resource level only;
    /// - `gt`, `lt`, `st` only at resource level, on Integer or Float resources;
    /// - `st ≥ 0`; `pmax ≥ pmin`; `lt < gt`; `lt + 2·st < gt` when all three are set.
    pub fn validate(
        &self,
        level: Level,
        data_type: Option<DataType>,
    ) -> Result<(), AttributeError> {
        check_level(level)?;
        for (name, present) in [
            ("gt", self.gt.is_some()),
            ("lt", self.lt.is_some()),
            ("st", self.st.is_some()),
        ] {
            if !present {
                continue;
            }
            if level != Level::Resource {
                return Err(AttributeError::NotAllowedAtLevel { name, level });
            }
            if !data_type.is_some_and(DataType::is_numeric) {
                return Err(AttributeError::NotNumeric { name, data_type });
            }
        }
        if let Some(st) = self.st {
            if st.is_nan() || st < 0.0 {
                return Err(AttributeError::NegativeStep(st));
            }
        }
        if let (Some(pmin), Some(pmax)) = (self.pmin, self.pmax) {
            if pmax < pmin {
                return Err(AttributeError::PmaxBelowPmin { pmin, pmax });
            }
        }
        if let (Some(lt), Some(gt)) = (self.lt, self.gt) {
            // Written as `!(a < b)` so that a NaN (only possible when built by hand) fails too.
            #[allow(clippy::neg_cmp_op_on_partial_ord)]
            if !(lt < gt) {
                return Err(AttributeError::LtNotBelowGt { lt, gt });
            }
            if let Some(st) = self.st {
                #[allow(clippy::neg_cmp_op_on_partial_ord)]
                if !(lt + 2.0 * st < gt) {
                    return Err(AttributeError::StepTooLarge { lt, st, gt });
                }
            }
        }
        Ok(())
    }

    /// The Uri-Query items that set these attributes, in the order pmin, pmax, gt, lt, st.
    /// Numbers use their shortest exact decimal form (`gt=50`, `lt=42.2`).
    pub fn to_query_items(&self) -> Vec<String> {
        self.to_update().to_query_items()
    }

    /// The update that sets every attribute present here (and leaves the others alone).
    pub fn to_update(&self) -> AttributeUpdate {
        AttributeUpdate {
            pmin: self.pmin.map(AttributeChange::Set),
            pmax: self.pmax.map(AttributeChange::Set),
            gt: self.gt.map(AttributeChange::Set),
            lt: self.lt.map(AttributeChange::Set),
            st: self.st.map(AttributeChange::Set),
        }
    }
}

fn check_level(level: Level) -> Result<(), AttributeError> {
    match level {
        Level::Object | Level::ObjectInstance | Level::Resource => Ok(()),
        Level::Root | Level::ResourceInstance => Err(AttributeError::InvalidLevel(level)),
    }
}

/// The attributes a Discover response shows on one link: the read-only `ver` (objects) and `dim`
/// (multiple resources) plus notification attributes.
///
/// `Display` writes them as link parameters in the order ver, dim, pmin, pmax, gt, lt, st, e.g.
/// `;dim=8;pmin=10;pmax=60;gt=50;lt=42.2`, ready to follow a `</3/0/7>` link; `ver` is quoted
/// (`;ver="1.1"`) as in the LwM2M 1.0 examples.
///
/// ```
/// use lwm2m_model::{DiscoverAttributes, NotificationAttributes};
///
/// let attrs = DiscoverAttributes {
///     dim: Some(8),
///     notification: NotificationAttributes { pmin: Some(10), pmax: Some(60), gt: Some(50.0), lt: Some(42.2), st: None },
///     ..Default::default()
/// };
/// assert_eq!(format!("</3/0/7>{attrs}"), "</3/0/7>;dim=8;pmin=10;pmax=60;gt=50;lt=42.2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DiscoverAttributes {
    /// The object version, shown when it is not 1.0.
    pub ver: Option<Version>,
    /// The number of instances of a multiple resource (the TS range is 0-255; larger counts are
    /// carried rather than truncated).
    pub dim: Option<u16>,
    /// The notification attributes.
    pub notification: NotificationAttributes,
}

impl DiscoverAttributes {
    /// The attributes as (name, value) link parameters, in display order; `ver` is quoted.
    pub fn link_params(&self) -> Vec<(&'static str, String)> {
        let n = &self.notification;
        let mut out = Vec::new();
        if let Some(v) = self.ver {
            out.push(("ver", alloc::format!("\"{v}\"")));
        }
        if let Some(v) = self.dim {
            out.push(("dim", v.to_string()));
        }
        if let Some(v) = n.pmin {
            out.push(("pmin", v.to_string()));
        }
        if let Some(v) = n.pmax {
            out.push(("pmax", v.to_string()));
        }
        for (name, v) in [("gt", n.gt), ("lt", n.lt), ("st", n.st)] {
            if let Some(v) = v {
                out.push((name, v.to_string()));
            }
        }
        out
    }

    /// Reads the attributes of a Discover link from its parameters (name, optional value), as a
    /// link-format reader yields them. Quoted values (`ver="1.1"`) are unquoted; parameters this
    /// type does not know (`rt`, `ct`, `ssid` ...) are ignored, as a server must; known ones with a
    /// bad value or given twice are errors.
    pub fn from_link_params<'a, I>(params: I) -> Result<DiscoverAttributes, AttributeError>
    where
        I: IntoIterator<Item = (&'a str, Option<&'a str>)>,
    {
        let mut out = DiscoverAttributes::default();
        let mut notification_items: Vec<String> = Vec::new();
        let mut seen_ver = false;
        let mut seen_dim = false;
        for (name, value) in params {
            let value = value.map(unquote);
            let Some(known) = ["ver", "dim", "pmin", "pmax", "gt", "lt", "st"]
                .into_iter()
                .find(|&k| k == name)
            else {
                continue;
            };
            let v = value.ok_or(AttributeError::InvalidValue {
                name: known,
                value: String::new(),
                expected: "a value",
            })?;
            match known {
                "ver" => {
                    if core::mem::replace(&mut seen_ver, true) {
                        return Err(AttributeError::Duplicate { name: "ver" });
                    }
                    out.ver =
                        Some(Version::parse(v).map_err(|_| AttributeError::InvalidValue {
                            name: "ver",
                            value: v.to_string(),
                            expected: "a major.minor version",
                        })?);
                }
                "dim" => {
                    if core::mem::replace(&mut seen_dim, true) {
                        return Err(AttributeError::Duplicate { name: "dim" });
                    }
                    let dim = parse_period("dim", v)
                        .ok()
                        .and_then(|d| u16::try_from(d).ok());
                    out.dim = Some(dim.ok_or_else(|| AttributeError::InvalidValue {
                        name: "dim",
                        value: v.to_string(),
                        expected: "a resource instance count (0-65535)",
                    })?);
                }
                // The notification attributes go through the Write-Attributes parser, which also
                // catches duplicates.
                _ => notification_items.push(alloc::format!("{known}={v}")),
            }
        }
        let update = AttributeUpdate::parse(&notification_items)?;
        out.notification = NotificationAttributes::default().apply(&update);
        Ok(out)
    }
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
}

impl fmt::Display for DiscoverAttributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in self.link_params() {
            write!(f, ";{name}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
