//! A test PKI made at run time (nothing private is committed): P-256 keys in the encodings the
//! DTLS configurations take, a self-signed test CA, and certificates it issues.
//!
//! Everything comes out as DER or PEM bytes (and the `openssl` values behind them), so each crate
//! wraps them in its own credential types; this crate does not depend on lwm2m-transport, whose
//! own tests use it too.
//!
//! ```
//! use lwm2m_test_support::pki::{Ca, Subject};
//!
//! let ca = Ca::new("lwm2m-rs test CA");
//! let server = ca.issue(Subject::new("lwm2m-server").ip_address("127.0.0.1"));
//! let device = ca.issue("urn:dev:1");
//! assert!(device.x509().verify(ca.certificate().key().pkey()).unwrap());
//! assert_ne!(server.der(), device.der());
//! assert_eq!(device.key().spki_der(), device.x509().public_key().unwrap().public_key_to_der().unwrap());
//! ```

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509Name, X509NameBuilder, X509};

/// How long a certificate is valid from now, in days: long enough for any test run.
const VALID_DAYS: u32 = 2;

/// A fresh P-256 key pair.
#[derive(Clone)]
pub struct KeyPair {
    key: PKey<Private>,
}

impl KeyPair {
    /// A new P-256 (`prime256v1`) key pair.
    ///
    /// # Panics
    /// When OpenSSL cannot generate one.
    pub fn generate() -> KeyPair {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("the P-256 group");
        let ec = EcKey::generate(&group).expect("a P-256 key");
        KeyPair {
            key: PKey::from_ec_key(ec).expect("an EC key as a PKey"),
        }
    }

    /// The key as an `openssl` value.
    pub fn pkey(&self) -> &PKey<Private> {
        &self.key
    }

    /// The public key as `SubjectPublicKeyInfo` DER (the raw public key of RFC 7250).
    ///
    /// # Panics
    /// When OpenSSL cannot encode it.
    pub fn spki_der(&self) -> Vec<u8> {
        self.key
            .public_key_to_der()
            .expect("SubjectPublicKeyInfo DER")
    }

    /// The private key as PKCS#8 DER.
    ///
    /// # Panics
    /// When OpenSSL cannot encode it.
    pub fn pkcs8_der(&self) -> Vec<u8> {
        self.key.private_key_to_pkcs8().expect("PKCS#8 DER")
    }

    /// The private key as RFC 5915 `ECPrivateKey` DER (the form of the LwM2M 1.0 examples).
    ///
    /// # Panics
    /// When OpenSSL cannot encode it.
    pub fn sec1_der(&self) -> Vec<u8> {
        self.key.private_key_to_der().expect("ECPrivateKey DER")
    }

    /// The private key as PKCS#8 PEM (`PRIVATE KEY`).
    ///
    /// # Panics
    /// When OpenSSL cannot encode it.
    pub fn pkcs8_pem(&self) -> Vec<u8> {
        self.key.private_key_to_pem_pkcs8().expect("PKCS#8 PEM")
    }

    /// The private key as RFC 5915 PEM (`EC PRIVATE KEY`, what libcoap's `-M` reads).
    ///
    /// # Panics
    /// When OpenSSL cannot encode it.
    pub fn sec1_pem(&self) -> Vec<u8> {
        self.key
            .ec_key()
            .and_then(|ec| ec.private_key_to_pem())
            .expect("EC PRIVATE KEY PEM")
    }
}

/// Who a certificate is for: a common name, optionally an organization after it and an IP
/// address for the `subjectAltName` extension (which then names DNS `localhost` too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject<'a> {
    common_name: &'a str,
    organization: Option<&'a str>,
    ip_address: Option<&'a str>,
}

impl<'a> Subject<'a> {
    /// A subject with only the common name (`CN=common_name`).
    pub fn new(common_name: &'a str) -> Subject<'a> {
        Subject {
            common_name,
            organization: None,
            ip_address: None,
        }
    }

    /// Adds `O=organization` after the common name.
    #[must_use]
    pub fn organization(self, organization: &'a str) -> Subject<'a> {
        Subject {
            organization: Some(organization),
            ..self
        }
    }

    /// Adds a `subjectAltName` extension with the IP address `ip` and DNS `localhost`.
    #[must_use]
    pub fn ip_address(self, ip: &'a str) -> Subject<'a> {
        Subject {
            ip_address: Some(ip),
            ..self
        }
    }

    fn name(&self) -> X509Name {
        let mut name = X509NameBuilder::new().expect("an X.509 name builder");
        name.append_entry_by_nid(Nid::COMMONNAME, self.common_name)
            .expect("a common name");
        if let Some(organization) = self.organization {
            name.append_entry_by_nid(Nid::ORGANIZATIONNAME, organization)
                .expect("an organization name");
        }
        name.build()
    }
}

impl<'a> From<&'a str> for Subject<'a> {
    fn from(common_name: &'a str) -> Subject<'a> {
        Subject::new(common_name)
    }
}

/// A certificate and the key pair it certifies.
#[derive(Clone)]
pub struct Issued {
    certificate: X509,
    key: KeyPair,
}

impl Issued {
    /// The certificate as an `openssl` value.
    pub fn x509(&self) -> &X509 {
        &self.certificate
    }

    /// The key pair the certificate certifies.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// The certificate as DER.
    ///
    /// # Panics
    /// When OpenSSL cannot encode it.
    pub fn der(&self) -> Vec<u8> {
        self.certificate.to_der().expect("certificate DER")
    }

    /// The certificate as PEM.
    ///
    /// # Panics
    /// When OpenSSL cannot encode it.
    pub fn pem(&self) -> Vec<u8> {
        self.certificate.to_pem().expect("certificate PEM")
    }
}

/// A self-signed test CA (P-256, `CA:TRUE`, may sign certificates and CRLs) that issues
/// end-entity certificates.
#[derive(Clone)]
pub struct Ca {
    own: Issued,
}

impl Ca {
    /// A new CA named `subject`, with a fresh key.
    pub fn new<'a>(subject: impl Into<Subject<'a>>) -> Ca {
        let key = KeyPair::generate();
        let subject = subject.into();
        let certificate = build(&subject, &key, None);
        Ca {
            own: Issued { certificate, key },
        }
    }

    /// The CA's own (self-signed) certificate and key.
    pub fn certificate(&self) -> &Issued {
        &self.own
    }

    /// The CA certificate as DER (a trust anchor).
    pub fn der(&self) -> Vec<u8> {
        self.own.der()
    }

    /// The CA certificate as PEM.
    pub fn pem(&self) -> Vec<u8> {
        self.own.pem()
    }

    /// An end-entity certificate for `subject` with a fresh key, signed by this CA.
    pub fn issue<'a>(&self, subject: impl Into<Subject<'a>>) -> Issued {
        let key = KeyPair::generate();
        let certificate = build(&subject.into(), &key, Some(&self.own));
        Issued { certificate, key }
    }
}

/// A certificate for `subject` and `key`, signed by `issuer`, or a self-signed CA without one.
fn build(subject: &Subject<'_>, key: &KeyPair, issuer: Option<&Issued>) -> X509 {
    let name = subject.name();
    let mut builder = X509::builder().expect("an X.509 builder");
    builder.set_version(2).expect("version 3");
    let mut serial = BigNum::new().expect("a bignum");
    serial
        .rand(64, MsbOption::MAYBE_ZERO, false)
        .expect("a random serial");
    builder
        .set_serial_number(&serial.to_asn1_integer().expect("an ASN.1 integer"))
        .expect("the serial");
    builder.set_subject_name(&name).expect("the subject");
    builder
        .set_issuer_name(issuer.map_or(&name, |ca| ca.certificate.subject_name()))
        .expect("the issuer");
    builder.set_pubkey(key.pkey()).expect("the public key");
    builder
        .set_not_before(&Asn1Time::days_from_now(0).expect("now"))
        .expect("not before");
    builder
        .set_not_after(&Asn1Time::days_from_now(VALID_DAYS).expect("a later day"))
        .expect("not after");
    if issuer.is_none() {
        let ca = BasicConstraints::new().critical().ca().build();
        builder
            .append_extension(ca.expect("basic constraints"))
            .expect("CA:TRUE");
        let usage = KeyUsage::new().key_cert_sign().crl_sign().build();
        builder
            .append_extension(usage.expect("key usage"))
            .expect("the CA key usage");
    }
    if let Some(ip) = subject.ip_address {
        let san = SubjectAlternativeName::new()
            .ip(ip)
            .dns("localhost")
            .build(&builder.x509v3_context(issuer.map(|ca| ca.certificate.as_ref()), None))
            .unwrap_or_else(|e| panic!("a subjectAltName for {ip}: {e}"));
        builder.append_extension(san).expect("the subjectAltName");
    }
    let signer = issuer.map_or(key, |ca| &ca.key);
    builder
        .sign(signer.pkey(), MessageDigest::sha256())
        .expect("a signature");
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::{X509StoreContext, X509};

    /// Whether `leaf` chains to `anchor` under OpenSSL's verification.
    fn chains(leaf: &X509, anchor: &X509) -> bool {
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(anchor.clone()).unwrap();
        let store = store.build();
        let mut context = X509StoreContext::new().unwrap();
        context
            .init(
                &store,
                leaf,
                &Stack::new().unwrap(),
                openssl::x509::X509StoreContextRef::verify_cert,
            )
            .unwrap()
    }

    fn subject_text(certificate: &X509) -> Vec<(String, String)> {
        certificate
            .subject_name()
            .entries()
            .map(|e| {
                (
                    e.object().nid().short_name().unwrap().to_owned(),
                    String::from_utf8(e.data().as_slice().to_vec()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn issued_certificates_chain_to_their_ca_only() {
        let ca = Ca::new("test CA");
        let stranger = Ca::new("stranger CA");
        let device = ca.issue("urn:dev:1");
        assert!(chains(device.x509(), ca.certificate().x509()));
        assert!(!chains(device.x509(), stranger.certificate().x509()));
        assert!(chains(ca.certificate().x509(), ca.certificate().x509()));
        assert_eq!(
            device.x509().issuer_name().to_der().unwrap(),
            ca.certificate().x509().subject_name().to_der().unwrap()
        );
    }

    #[test]
    fn subjects_hold_the_common_name_and_organization() {
        let ca = Ca::new(Subject::new("test CA").organization("lwm2m-rs tests"));
        assert_eq!(
            subject_text(ca.certificate().x509()),
            [
                ("CN".to_owned(), "test CA".to_owned()),
                ("O".to_owned(), "lwm2m-rs tests".to_owned())
            ]
        );
        let device = ca.issue("urn:dev:1");
        assert_eq!(
            subject_text(device.x509()),
            [("CN".to_owned(), "urn:dev:1".to_owned())]
        );
    }

    #[test]
    fn an_ip_address_goes_into_the_subject_alt_name() {
        let ca = Ca::new("test CA");
        let server = ca.issue(Subject::new("lwm2m-server").ip_address("127.0.0.1"));
        let names = server.x509().subject_alt_names().expect("a subjectAltName");
        let ips: Vec<&[u8]> = names.iter().filter_map(|n| n.ipaddress()).collect();
        let dns: Vec<&str> = names.iter().filter_map(|n| n.dnsname()).collect();
        assert_eq!(ips, [&[127, 0, 0, 1][..]]);
        assert_eq!(dns, ["localhost"]);
        assert!(ca.issue("urn:dev:1").x509().subject_alt_names().is_none());
    }

    #[test]
    fn only_the_ca_is_a_ca() {
        let ca = Ca::new("test CA");
        let device = ca.issue("urn:dev:1");
        let text = |c: &X509| String::from_utf8(c.to_text().unwrap()).unwrap();
        assert!(text(ca.certificate().x509()).contains("CA:TRUE"));
        assert!(!text(device.x509()).contains("CA:TRUE"));
    }

    #[test]
    fn key_encodings_decode_to_the_same_key() {
        let keys = KeyPair::generate();
        let spki = keys.spki_der();
        for private in [
            PKey::private_key_from_der(&keys.pkcs8_der()).unwrap(),
            PKey::private_key_from_der(&keys.sec1_der()).unwrap(),
            PKey::private_key_from_pem(&keys.pkcs8_pem()).unwrap(),
            PKey::private_key_from_pem(&keys.sec1_pem()).unwrap(),
        ] {
            assert_eq!(private.public_key_to_der().unwrap(), spki);
        }
        assert!(String::from_utf8(keys.pkcs8_pem())
            .unwrap()
            .contains("BEGIN PRIVATE KEY"));
        assert!(String::from_utf8(keys.sec1_pem())
            .unwrap()
            .contains("BEGIN EC PRIVATE KEY"));
        assert_ne!(KeyPair::generate().spki_der(), spki, "every key is fresh");
    }

    #[test]
    fn der_and_pem_are_the_same_certificate() {
        let ca = Ca::new("test CA");
        let device = ca.issue("urn:dev:1");
        assert_eq!(
            X509::from_pem(&device.pem()).unwrap().to_der().unwrap(),
            device.der()
        );
        assert_eq!(
            X509::from_der(&ca.der()).unwrap().to_pem().unwrap(),
            ca.pem()
        );
        assert_eq!(
            device
                .x509()
                .public_key()
                .unwrap()
                .public_key_to_der()
                .unwrap(),
            device.key().spki_der()
        );
    }
}
