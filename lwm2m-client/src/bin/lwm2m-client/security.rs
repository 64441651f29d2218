//! The DTLS credentials and `https://` trust anchors of the flags: key and certificate files
//! (PEM or DER) read into the DER the transport takes, for certificates (security mode 2), raw
//! public keys (mode 1) and the `--firmware-ca` roots.

use std::path::Path;

#[cfg(feature = "https")]
use lwm2m_client::firmware::http::HttpsTrust;
use lwm2m_transport::dtls::{Certificate, PrivateKey};

use crate::args::Args;
use crate::sim::{CertificateKeys, DtlsKeys, RawPublicKeys};

/// Reads a PEM or DER file: the DER of its certificate (`key` false) or private key.
fn read_der(path: &Path, key: bool) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let pem = bytes.starts_with(b"-----BEGIN");
    let der = match (pem, key) {
        (true, false) => Certificate::from_pem(&bytes).map(|c| c.der().to_vec()),
        (true, true) => PrivateKey::from_pem(&bytes).map(|k| k.pkcs8_der().to_vec()),
        (false, false) => Certificate::from_der(&bytes).map(|c| c.der().to_vec()),
        (false, true) => PrivateKey::from_der(&bytes).map(|k| k.pkcs8_der().to_vec()),
    };
    der.map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a public key file, PEM (`PUBLIC KEY`) or DER: its `SubjectPublicKeyInfo` DER.
fn read_public_key(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let key = if bytes.starts_with(b"-----BEGIN") {
        openssl::pkey::PKey::public_key_from_pem(&bytes)
    } else {
        openssl::pkey::PKey::public_key_from_der(&bytes)
    };
    key.and_then(|k| k.public_key_to_der())
        .map_err(|e| format!("{}: not a public key: {e}", path.display()))
}

/// The key files of `--certificate`, `--private-key` and `--server-certificate`, or of
/// `--private-key` and `--server-public-key`.
pub(crate) fn dtls_keys(args: &Args) -> Result<Option<DtlsKeys>, String> {
    let Some(private_key) = &args.private_key else {
        return Ok(None);
    };
    if let (Some(certificate), Some(server_certificate)) =
        (&args.certificate, &args.server_certificate)
    {
        return Ok(Some(DtlsKeys::Certificate(CertificateKeys {
            certificate: read_der(certificate, false)?,
            private_key: read_der(private_key, true)?,
            server_certificate: read_der(server_certificate, false)?,
        })));
    }
    let Some(server_public_key) = &args.server_public_key else {
        return Err("--private-key needs --certificate or --server-public-key".into());
    };
    let private = read_der(private_key, true)?;
    let public_key = PrivateKey::from_der(&private)
        .and_then(|k| k.public_key_der())
        .map_err(|e| format!("{}: {e}", private_key.display()))?;
    Ok(Some(DtlsKeys::RawPublicKey(RawPublicKeys {
        public: public_key,
        private,
        server: read_public_key(server_public_key)?,
    })))
}

/// The trust anchors of `--firmware-ca` for `https://` firmware downloads.
#[cfg(feature = "https")]
pub(crate) fn https_trust(args: &Args) -> Result<HttpsTrust, String> {
    args.firmware_ca
        .iter()
        .try_fold(HttpsTrust::default(), |trust, path| {
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let trust = if bytes.starts_with(b"-----BEGIN") {
                trust.with_ca_pem(&bytes)
            } else {
                trust.with_ca_der(bytes)
            };
            trust.map_err(|e| format!("--firmware-ca {}: {e}", path.display()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;
    use clap::Parser;

    /// A self-signed P-256 certificate and its key, as (certificate DER, PEM; key PKCS#8 DER, PEM).
    fn self_signed() -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
        use openssl::{ec, hash, nid::Nid, pkey::PKey, x509};
        let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
        let mut name = x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, "dev").unwrap();
        let name = name.build();
        let mut b = x509::X509::builder().unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.sign(&key, hash::MessageDigest::sha256()).unwrap();
        let cert = b.build();
        (
            cert.to_der().unwrap(),
            cert.to_pem().unwrap(),
            key.private_key_to_pkcs8().unwrap(),
            key.private_key_to_pem_pkcs8().unwrap(),
        )
    }

    #[test]
    fn certificate_files_are_pem_or_der() {
        let dir = std::env::temp_dir().join(format!("lwm2m-client-certs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_der, cert_pem, key_der, key_pem) = self_signed();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let (c_der, c_pem) = (write("c.der", &cert_der), write("c.pem", &cert_pem));
        let (k_der, k_pem) = (write("k.der", &key_der), write("k.pem", &key_pem));
        assert_eq!(read_der(&c_der, false).unwrap(), cert_der);
        assert_eq!(read_der(&c_pem, false).unwrap(), cert_der);
        assert_eq!(read_der(&k_der, true).unwrap(), key_der);
        assert_eq!(read_der(&k_pem, true).unwrap(), key_der);
        // A key is not a certificate, and a missing file names itself.
        assert!(read_der(&k_der, false).unwrap_err().contains("k.der"));
        assert!(read_der(&dir.join("none"), false)
            .unwrap_err()
            .contains("cannot read"));

        let path = |p: &Path| p.to_str().unwrap().to_owned();
        let flags = |server: &str| {
            Args::try_parse_from([
                "lwm2m-client".to_owned(),
                "--server".into(),
                server.into(),
                "--certificate".into(),
                path(&c_pem),
                "--private-key".into(),
                path(&k_der),
                "--server-certificate".into(),
                path(&c_der),
                "--firmware-dir".into(),
                path(&dir),
            ])
            .unwrap()
        };
        let keys = check(&flags("coaps://127.0.0.1:5684")).unwrap().keys;
        let Some(DtlsKeys::Certificate(keys)) = keys else {
            panic!("{keys:?}")
        };
        assert_eq!(
            (keys.certificate, keys.private_key, keys.server_certificate),
            (cert_der.clone(), key_der, cert_der)
        );
        assert!(check(&flags("coap://127.0.0.1:5683"))
            .unwrap_err()
            .contains("coaps://"));
        // Mutually exclusive with a PSK; the three flags go together.
        assert!(Args::try_parse_from([
            "lwm2m-client",
            "--certificate",
            "c",
            "--private-key",
            "k",
            "--server-certificate",
            "s",
            "--psk-identity",
            "i",
            "--psk-key",
            "00"
        ])
        .is_err());
        assert!(Args::try_parse_from(["lwm2m-client", "--certificate", "c"]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn raw_public_key_flags_read_the_keys_or_name_the_feature() {
        let dir = std::env::temp_dir().join(format!("lwm2m-client-rpk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_der, _, key_der, key_pem) = self_signed();
        let key = openssl::pkey::PKey::private_key_from_der(&key_der).unwrap();
        let spki = key.public_key_to_der().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path.to_str().unwrap().to_owned()
        };
        let key_file = write("k.pem", &key_pem);
        let pub_pem = write("s.pem", &key.public_key_to_pem().unwrap());
        let pub_der = write("s.der", &spki);
        let cert_file = write("c.der", &cert_der);
        let flags = |server: &str, server_key: &str| {
            Args::try_parse_from([
                "lwm2m-client",
                "--server",
                server,
                "--private-key",
                &key_file,
                "--server-public-key",
                server_key,
                "--firmware-dir",
                dir.to_str().unwrap(),
            ])
            .unwrap()
        };
        let checked = check(&flags("coaps://127.0.0.1:5684", &pub_pem));
        if cfg!(feature = "dtls-rpk") {
            let expected = RawPublicKeys {
                public: spki.clone(),
                private: key_der.clone(),
                server: spki.clone(),
            };
            assert_eq!(
                checked.unwrap().keys,
                Some(DtlsKeys::RawPublicKey(expected.clone()))
            );
            let der = check(&flags("coaps://127.0.0.1:5684", &pub_der)).unwrap();
            assert_eq!(der.keys, Some(DtlsKeys::RawPublicKey(expected)));
            // A certificate is not a public key file; a plain server is refused.
            let error = check(&flags("coaps://127.0.0.1:5684", &cert_file)).unwrap_err();
            assert!(error.contains("not a public key"), "{error}");
            let error = check(&flags("coap://127.0.0.1:5683", &pub_pem)).unwrap_err();
            assert!(error.contains("coaps://"), "{error}");
        } else {
            let error = checked.unwrap_err();
            assert!(error.contains("--features dtls-rpk"), "{error}");
        }
        // Exclusive with a certificate and a PSK; it needs the private key.
        for extra in [["--certificate", "c"], ["--psk-identity", "i"]] {
            let mut argv = vec!["lwm2m-client", "--private-key", "k"];
            argv.extend(["--server-public-key", "s", "--server-certificate", "s"]);
            argv.extend(extra);
            argv.extend(["--psk-key", "00"]);
            assert!(Args::try_parse_from(argv).is_err());
        }
        assert!(Args::try_parse_from(["lwm2m-client", "--server-public-key", "s"]).is_err());
        // A private key alone says what it lacks.
        let alone = Args::try_parse_from([
            "lwm2m-client",
            "--server",
            "coaps://127.0.0.1:5684",
            "--private-key",
            &key_file,
            "--psk-identity",
            "i",
            "--psk-key",
            "00",
            "--firmware-dir",
            dir.to_str().unwrap(),
        ])
        .unwrap();
        let error = check(&alone).unwrap_err();
        assert!(error.contains("--server-public-key"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn firmware_ca_files_are_read_or_name_the_feature() {
        let dir = std::env::temp_dir().join(format!("lwm2m-client-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_der, cert_pem, key_der, _) = self_signed();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path.to_str().unwrap().to_owned()
        };
        let (pem, der, key) = (
            write("ca.pem", &cert_pem),
            write("ca.der", &cert_der),
            write("k.der", &key_der),
        );
        let flags = |cas: &[&str]| {
            let mut argv = vec!["lwm2m-client", "--firmware-dir", dir.to_str().unwrap()];
            for ca in cas {
                argv.extend(["--firmware-ca", ca]);
            }
            check(&Args::try_parse_from(argv).unwrap())
        };
        #[cfg(feature = "https")]
        {
            let trust = flags(&[&pem, &der]).unwrap().https_trust;
            assert_eq!((trust.ca_count(), trust.public_roots()), (2, true));
            let error = flags(&[&key]).unwrap_err();
            assert!(error.contains("k.der"), "{error}");
        }
        #[cfg(not(feature = "https"))]
        for ca in [&pem, &der, &key] {
            let error = flags(&[ca]).unwrap_err();
            assert!(error.contains("--features https"), "{error}");
        }
        assert!(flags(&[]).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
