//! [`PackageUri`]: a Package URI (`/5/0/1`) parsed with the `url` crate and checked for a pull.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{FirmwareError, Protocol};

/// The scheme of a Package URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `coap://`
    Coap,
    /// `coaps://`
    Coaps,
    /// `http://`
    Http,
    /// `https://`
    Https,
}

impl Scheme {
    /// The protocol that serves it.
    pub const fn protocol(self) -> Protocol {
        match self {
            Scheme::Coap => Protocol::Coap,
            Scheme::Coaps => Protocol::Coaps,
            Scheme::Http => Protocol::Http,
            Scheme::Https => Protocol::Https,
        }
    }

    /// The port a URI of this scheme names when it names none.
    pub const fn default_port(self) -> u16 {
        match self {
            Scheme::Coap => 5683,
            Scheme::Coaps => 5684,
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A Package URI checked for a pull: a known scheme, a host, and (for CoAP) the decoded path
/// segments and query items that become Uri-Path and Uri-Query options.
///
/// ```
/// use lwm2m_client::firmware::{PackageUri, Scheme};
/// let uri = PackageUri::parse("coap://192.0.2.7:5685/fw/v2%20.bin?rev=3")?;
/// assert_eq!(uri.scheme(), Scheme::Coap);
/// assert_eq!(uri.authority(), "coap://192.0.2.7:5685");
/// assert_eq!(uri.path(), ["fw", "v2 .bin"]);
/// assert_eq!(uri.query(), ["rev=3"]);
/// assert!(PackageUri::parse("ftp://example.com/fw").is_err()); // result 9
/// assert!(PackageUri::parse("coap//nohost").is_err());        // result 7
/// # Ok::<(), lwm2m_client::firmware::FirmwareError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageUri {
    text: String,
    scheme: Scheme,
    authority: String,
    host: String,
    port: Option<u16>,
    path: Vec<String>,
    query: Vec<String>,
}

impl PackageUri {
    /// Parses `text`: [`FirmwareError::InvalidUri`] (result 7) if it is not an absolute URI
    /// with a host, [`FirmwareError::UnsupportedProtocol`] (result 9) for a scheme other
    /// than coap, coaps, http and https.
    pub fn parse(text: &str) -> Result<PackageUri, FirmwareError> {
        let invalid = |why: &str| FirmwareError::InvalidUri(alloc::format!("{text:?}: {why}"));
        let url = url::Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
        let scheme = match url.scheme() {
            "coap" => Scheme::Coap,
            "coaps" => Scheme::Coaps,
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => {
                return Err(FirmwareError::UnsupportedProtocol(alloc::format!(
                    "scheme {other:?} in {text:?}"
                )))
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("no host"))?;
        if url.fragment().is_some() {
            return Err(invalid("a fragment has no place in a package URI"));
        }
        let authority = match url.port() {
            Some(port) => alloc::format!("{}://{host}:{port}", url.scheme()),
            None => alloc::format!("{}://{host}", url.scheme()),
        };
        let mut path = Vec::new();
        if let Some(segments) = url.path_segments() {
            for segment in segments.filter(|s| !s.is_empty()) {
                let decoded = percent_encoding::percent_decode_str(segment)
                    .decode_utf8()
                    .map_err(|_| invalid("a path segment is not UTF-8"))?;
                path.push(decoded.into_owned());
            }
        }
        let mut query = Vec::new();
        if let Some(q) = url.query() {
            for item in q.split('&').filter(|s| !s.is_empty()) {
                let decoded = percent_encoding::percent_decode_str(item)
                    .decode_utf8()
                    .map_err(|_| invalid("a query item is not UTF-8"))?;
                query.push(decoded.into_owned());
            }
        }
        Ok(PackageUri {
            text: text.to_string(),
            scheme,
            authority,
            host: host.to_string(),
            port: url.port(),
            path,
            query,
        })
    }

    /// The URI as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// `scheme://host[:port]`, what a [`Resolver`](crate::Resolver) turns into a peer.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The host: an IP address as the `url` crate writes it (IPv6 in brackets, compressed), a
    /// name as written (`coap` is not a scheme whose names `url` lower-cases).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port: the one written, else the scheme's default (5683 for `coap`, 5684 for
    /// `coaps`, 80 for `http`, 443 for `https`).
    ///
    /// ```
    /// use lwm2m_client::firmware::PackageUri;
    /// assert_eq!(PackageUri::parse("coaps://[::1]/fw")?.port(), 5684);
    /// assert_eq!(PackageUri::parse("coaps://example.com:6000/fw")?.port(), 6000);
    /// # Ok::<(), lwm2m_client::firmware::FirmwareError>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(self.scheme.default_port())
    }

    /// The decoded path segments (Uri-Path options).
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The decoded query items (Uri-Query options).
    pub fn query(&self) -> &[String] {
        &self.query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_7_and_9_for_bad_uris() {
        for bad in [
            "",
            "no scheme",
            "coap://",
            "coap:///path",
            "http://h/x#frag",
            "coap://h/%FF",
        ] {
            let e = PackageUri::parse(bad).unwrap_err();
            assert_eq!(e.result().value(), 7, "{bad:?}: {e}");
        }
        for unsupported in ["ftp://h/x", "file:///tmp/x", "tftp://10.0.0.1/fw"] {
            let e = PackageUri::parse(unsupported).unwrap_err();
            assert_eq!(e.result().value(), 9, "{unsupported:?}: {e}");
        }
    }

    #[test]
    fn ipv6_hosts_and_default_ports() {
        let uri = PackageUri::parse("coap://[::1]/a/b").unwrap();
        assert_eq!(uri.authority(), "coap://[::1]");
        assert_eq!(uri.path(), ["a", "b"]);
        let uri = PackageUri::parse("https://example.com:8443/fw.bin").unwrap();
        assert_eq!(uri.scheme().protocol(), Protocol::Https);
        assert_eq!(uri.authority(), "https://example.com:8443");
        assert_eq!((uri.host(), uri.port()), ("example.com", 8443));
        let uri = PackageUri::parse("coaps://[::1]/fw").unwrap();
        assert_eq!((uri.host(), uri.port()), ("[::1]", 5684));
        let uri = PackageUri::parse("coap://Example.COM/fw").unwrap();
        assert_eq!((uri.host(), uri.port()), ("Example.COM", 5683));
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,80}") {
            let _ = PackageUri::parse(&text);
        }
    }
}
