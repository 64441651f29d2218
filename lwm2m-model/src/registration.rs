//! Client Registration interface parameters (digest §8): the Uri-Query of Register
//! (`ep`, `lt`, `lwm2m`, `b`, `sms`), of Update (`lt`, `b`, `sms`) and of Bootstrap-Request (`ep`).
//!
//! Parsing is for the server side (every [`RegistrationError`] maps to 4.00 Bad Request; an
//! unsupported `lwm2m` version is a separate 4.12 check with [`Version::is_supported_by`]); writing
//! is for the client side. The object-link payload of Register/Update is [`ObjectLinks`].

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use crate::version::Version;

mod object_links;

pub use object_links::{
    ObjectLinks, ObjectLinksError, RegisteredObject, RootLink, LWM2M_RESOURCE_TYPE,
};

/// The lifetime a server assumes when Register has no `lt` (seconds).
pub const DEFAULT_LIFETIME: u32 = 86_400;

/// A registration query is invalid. Every variant maps to 4.00 Bad Request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// Register or Bootstrap-Request without `ep`.
    #[error("missing endpoint client name (ep)")]
    MissingEndpoint,
    /// A parameter LwM2M 1.0 does not define for this request.
    #[error("unknown parameter {name:?}")]
    Unknown {
        /// The name as received.
        name: String,
    },
    /// A known parameter that this request may not carry (`ep` or `lwm2m` in an Update).
    #[error("parameter {name} is not allowed in this request")]
    NotAllowed {
        /// The parameter name.
        name: &'static str,
    },
    /// The same parameter appears twice.
    #[error("parameter {name} is given more than once")]
    Duplicate {
        /// The parameter name.
        name: &'static str,
    },
    /// A parameter has no `=value`.
    #[error("parameter {name} has no value")]
    MissingValue {
        /// The parameter name.
        name: &'static str,
    },
    /// A value does not parse.
    #[error("invalid value {value:?} for {name} (expected {expected})")]
    InvalidValue {
        /// The parameter name.
        name: &'static str,
        /// The value as received.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
}

/// The binding mode (`b` parameter, Server `/1/x/7`; digest §8.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BindingMode {
    /// `U`: UDP, always reachable (the default).
    #[default]
    Udp,
    /// `UQ`: UDP with queue mode.
    UdpQueue,
    /// `S`: SMS, always reachable.
    Sms,
    /// `SQ`: SMS with queue mode.
    SmsQueue,
    /// `US`: UDP and SMS, both always reachable.
    UdpSms,
    /// `UQS`: UDP in queue mode plus SMS always reachable.
    UdpQueueSms,
}

impl BindingMode {
    /// Every binding mode.
    pub const ALL: [BindingMode; 6] = [
        BindingMode::Udp,
        BindingMode::UdpQueue,
        BindingMode::Sms,
        BindingMode::SmsQueue,
        BindingMode::UdpSms,
        BindingMode::UdpQueueSms,
    ];

    /// The wire form: `U`, `UQ`, `S`, `SQ`, `US` or `UQS`.
    pub const fn as_str(self) -> &'static str {
        match self {
            BindingMode::Udp => "U",
            BindingMode::UdpQueue => "UQ",
            BindingMode::Sms => "S",
            BindingMode::SmsQueue => "SQ",
            BindingMode::UdpSms => "US",
            BindingMode::UdpQueueSms => "UQS",
        }
    }

    /// Parses the wire form (exact, upper case); `UQSQ`, `USQ` and the 1.1 modes are rejected.
    pub fn parse(text: &str) -> Option<BindingMode> {
        BindingMode::ALL.into_iter().find(|b| b.as_str() == text)
    }

    /// Whether the server may use UDP.
    pub const fn uses_udp(self) -> bool {
        !matches!(self, BindingMode::Sms | BindingMode::SmsQueue)
    }

    /// Whether the server may use SMS.
    pub const fn uses_sms(self) -> bool {
        !matches!(self, BindingMode::Udp | BindingMode::UdpQueue)
    }

    /// Whether the client is in queue mode (the server must hold requests while it sleeps).
    pub const fn is_queue_mode(self) -> bool {
        matches!(
            self,
            BindingMode::UdpQueue | BindingMode::SmsQueue | BindingMode::UdpQueueSms
        )
    }
}

impl fmt::Display for BindingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BindingMode {
    type Err = RegistrationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BindingMode::parse(s).ok_or_else(|| invalid("b", s, BINDING_EXPECTED))
    }
}

const BINDING_EXPECTED: &str = "one of U, UQ, S, SQ, US, UQS";

/// An MSISDN (the `sms` parameter): 1 to 15 decimal digits, without a leading `+`
/// (3GPP TS 23.003 / E.164).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Msisdn(String);

impl Msisdn {
    /// Validates an MSISDN.
    pub fn new(digits: &str) -> Result<Msisdn, RegistrationError> {
        if (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Msisdn(digits.to_string()))
        } else {
            Err(invalid(
                "sms",
                digits,
                "an MSISDN of 1-15 digits without '+'",
            ))
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid(name: &'static str, value: &str, expected: &'static str) -> RegistrationError {
    RegistrationError::InvalidValue {
        name,
        value: value.to_string(),
        expected,
    }
}

fn parse_lifetime(value: &str) -> Result<u32, RegistrationError> {
    let ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<u32>() {
        Ok(v) if ok && v > 0 => Ok(v),
        _ => Err(invalid("lt", value, "a lifetime of 1-4294967295 seconds")),
    }
}

fn parse_endpoint(value: &str) -> Result<String, RegistrationError> {
    if value.is_empty() {
        return Err(invalid("ep", value, "a non-empty endpoint client name"));
    }
    Ok(value.to_string())
}

/// The parameters a query may carry, parsed generically; each request type then checks which
/// ones it allows.
#[derive(Default)]
struct Query {
    ep: Option<String>,
    lt: Option<u32>,
    lwm2m: Option<Version>,
    b: Option<BindingMode>,
    sms: Option<Msisdn>,
    unknown: Vec<(String, Option<String>)>,
}

fn parse_query<I, S>(items: I, lenient: bool) -> Result<Query, RegistrationError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    fn once<T>(slot: &mut Option<T>, name: &'static str, v: T) -> Result<(), RegistrationError> {
        if slot.is_some() {
            return Err(RegistrationError::Duplicate { name });
        }
        *slot = Some(v);
        Ok(())
    }
    let mut q = Query::default();
    for item in items {
        let item = item.as_ref();
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (item, None),
        };
        let known = ["ep", "lt", "lwm2m", "b", "sms"]
            .into_iter()
            .find(|&k| k == name);
        let Some(known) = known else {
            if lenient {
                q.unknown
                    .push((name.to_string(), value.map(ToString::to_string)));
                continue;
            }
            return Err(RegistrationError::Unknown {
                name: name.to_string(),
            });
        };
        let value = value.ok_or(RegistrationError::MissingValue { name: known })?;
        match known {
            "ep" => once(&mut q.ep, "ep", parse_endpoint(value)?)?,
            "lt" => once(&mut q.lt, "lt", parse_lifetime(value)?)?,
            "lwm2m" => {
                let v = Version::parse(value)
                    .map_err(|_| invalid("lwm2m", value, "a major.minor version such as 1.0"))?;
                once(&mut q.lwm2m, "lwm2m", v)?;
            }
            "b" => {
                let b = BindingMode::parse(value)
                    .ok_or_else(|| invalid("b", value, BINDING_EXPECTED))?;
                once(&mut q.b, "b", b)?;
            }
            _ => once(&mut q.sms, "sms", Msisdn::new(value)?)?,
        }
    }
    Ok(q)
}

/// The parameters of a Register request.
///
/// ```
/// use lwm2m_model::{BindingMode, RegisterParams};
///
/// let params = RegisterParams::parse(["ep=node1", "lt=300", "lwm2m=1.0", "b=U"])?;
/// assert_eq!(params.endpoint(), "node1");
/// assert_eq!(params.lifetime, 300);
/// assert_eq!(params.binding, BindingMode::Udp);
/// assert_eq!(params.to_query_items(), ["ep=node1", "lt=300", "lwm2m=1.0", "b=U"]);
/// # Ok::<(), lwm2m_model::RegistrationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterParams {
    endpoint: String,
    /// `lt`: the registration lifetime in seconds ([`DEFAULT_LIFETIME`] when absent).
    pub lifetime: u32,
    /// `lwm2m`: the client's LwM2M version (1.0 when absent).
    pub lwm2m_version: Version,
    /// `b`: the binding mode (`U` when absent).
    pub binding: BindingMode,
    /// `sms`: the client's MSISDN, if any.
    pub sms: Option<Msisdn>,
    /// Parameters LwM2M 1.0 does not define, kept by [`RegisterParams::parse_lenient`] (name,
    /// optional value); always empty after [`RegisterParams::parse`].
    pub additional: Vec<(String, Option<String>)>,
}

impl RegisterParams {
    /// Parameters with the given endpoint name and every other parameter at its default.
    pub fn new(endpoint: &str) -> Result<RegisterParams, RegistrationError> {
        Ok(RegisterParams {
            endpoint: parse_endpoint(endpoint)?,
            lifetime: DEFAULT_LIFETIME,
            lwm2m_version: Version::V1_0,
            binding: BindingMode::Udp,
            sms: None,
            additional: Vec::new(),
        })
    }

    /// The endpoint client name (never empty).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Parses the Uri-Query items of a Register request, strictly (an unknown parameter is an
    /// error, as the TS says).
    pub fn parse<I, S>(items: I) -> Result<RegisterParams, RegistrationError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::from_query(parse_query(items, false)?)
    }

    /// Parses like [`parse`](Self::parse) but keeps unknown parameters in
    /// [`additional`](Self::additional) instead of failing (what servers such as Leshan do).
    pub fn parse_lenient<I, S>(items: I) -> Result<RegisterParams, RegistrationError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::from_query(parse_query(items, true)?)
    }

    fn from_query(q: Query) -> Result<RegisterParams, RegistrationError> {
        Ok(RegisterParams {
            endpoint: q.ep.ok_or(RegistrationError::MissingEndpoint)?,
            lifetime: q.lt.unwrap_or(DEFAULT_LIFETIME),
            lwm2m_version: q.lwm2m.unwrap_or(Version::V1_0),
            binding: q.b.unwrap_or_default(),
            sms: q.sms,
            additional: q.unknown,
        })
    }

    /// The Uri-Query items: `ep`, `lt`, `lwm2m` and `b` always (a robust client sends them all),
    /// `sms` when set, then any additional parameters.
    pub fn to_query_items(&self) -> Vec<String> {
        let mut out = alloc::vec![
            alloc::format!("ep={}", self.endpoint),
            alloc::format!("lt={}", self.lifetime),
            alloc::format!("lwm2m={}", self.lwm2m_version),
            alloc::format!("b={}", self.binding),
        ];
        if let Some(sms) = &self.sms {
            out.push(alloc::format!("sms={sms}"));
        }
        for (name, value) in &self.additional {
            out.push(match value {
                Some(v) => alloc::format!("{name}={v}"),
                None => name.clone(),
            });
        }
        out
    }
}

/// The parameters of an Update request: only what changed since the last Register/Update.
///
/// ```
/// use lwm2m_model::UpdateParams;
///
/// let update = UpdateParams::parse(["lt=6000"])?;
/// assert_eq!(update.lifetime, Some(6000));
/// assert!(UpdateParams::parse(Vec::<&str>::new())?.is_empty());
/// # Ok::<(), lwm2m_model::RegistrationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateParams {
    /// New `lt`, if it changed.
    pub lifetime: Option<u32>,
    /// New `b`, if it changed.
    pub binding: Option<BindingMode>,
    /// New `sms`, if it changed.
    pub sms: Option<Msisdn>,
}

impl UpdateParams {
    /// Parses the Uri-Query items of an Update request (`ep` and `lwm2m` are not allowed).
    pub fn parse<I, S>(items: I) -> Result<UpdateParams, RegistrationError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let q = parse_query(items, false)?;
        if q.ep.is_some() {
            return Err(RegistrationError::NotAllowed { name: "ep" });
        }
        if q.lwm2m.is_some() {
            return Err(RegistrationError::NotAllowed { name: "lwm2m" });
        }
        Ok(UpdateParams {
            lifetime: q.lt,
            binding: q.b,
            sms: q.sms,
        })
    }

    /// Whether the update carries no parameter (it only refreshes the lifetime).
    pub fn is_empty(&self) -> bool {
        self.lifetime.is_none() && self.binding.is_none() && self.sms.is_none()
    }

    /// The Uri-Query items, in the order `lt`, `b`, `sms`.
    pub fn to_query_items(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(lt) = self.lifetime {
            out.push(alloc::format!("lt={lt}"));
        }
        if let Some(b) = self.binding {
            out.push(alloc::format!("b={b}"));
        }
        if let Some(sms) = &self.sms {
            out.push(alloc::format!("sms={sms}"));
        }
        out
    }

    /// Applies the update to the parameters of the registration.
    pub fn apply_to(&self, params: &mut RegisterParams) {
        if let Some(lt) = self.lifetime {
            params.lifetime = lt;
        }
        if let Some(b) = self.binding {
            params.binding = b;
        }
        if let Some(sms) = &self.sms {
            params.sms = Some(sms.clone());
        }
    }
}

/// The parameters of a Bootstrap-Request (`POST /bs?ep=...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapParams {
    endpoint: String,
}

impl BootstrapParams {
    /// Parameters for the given endpoint name.
    pub fn new(endpoint: &str) -> Result<BootstrapParams, RegistrationError> {
        Ok(BootstrapParams {
            endpoint: parse_endpoint(endpoint)?,
        })
    }

    /// The endpoint client name (never empty).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Parses the Uri-Query items of a Bootstrap-Request: exactly `ep`.
    pub fn parse<I, S>(items: I) -> Result<BootstrapParams, RegistrationError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let q = parse_query(items, false)?;
        for (present, name) in [
            (q.lt.is_some(), "lt"),
            (q.lwm2m.is_some(), "lwm2m"),
            (q.b.is_some(), "b"),
            (q.sms.is_some(), "sms"),
        ] {
            if present {
                return Err(RegistrationError::NotAllowed { name });
            }
        }
        Ok(BootstrapParams {
            endpoint: q.ep.ok_or(RegistrationError::MissingEndpoint)?,
        })
    }

    /// The Uri-Query items: `ep=...`.
    pub fn to_query_items(&self) -> Vec<String> {
        alloc::vec![alloc::format!("ep={}", self.endpoint)]
    }
}

#[cfg(test)]
mod tests;
