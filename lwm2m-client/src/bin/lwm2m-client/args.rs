//! The command line: the clap flags, whose doc comments are the `--help` text, and the
//! parsers of their values.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// A simulated OMA LwM2M 1.0 device, or a fleet of them, talking CoAP over UDP without security.
///
/// Logs go to stderr; set their level with `RUST_LOG` (default `info`, e.g.
/// `RUST_LOG=lwm2m_client=debug`).
#[derive(Debug, Parser)]
#[command(name = "lwm2m-client", version)]
pub(crate) struct Args {
    /// Endpoint client name of the device (single-device mode).
    #[arg(long, default_value = "lwm2m-rs-device")]
    pub(crate) endpoint: String,

    /// LwM2M server URI: `coap://<ip>[:port]` (port 5683 by default), or `coaps://<ip>[:port]`
    /// (DTLS with `--psk-identity`/`--psk-key`, with `--certificate`, `--private-key` and
    /// `--server-certificate`, or with `--private-key` and `--server-public-key`; port 5684 by
    /// default).
    #[arg(long, default_value = "coap://127.0.0.1:5683")]
    pub(crate) server: String,

    /// `--server` is a Bootstrap-Server: the device starts with only its account (with the
    /// same security flags) and does client-initiated bootstrap (`POST /bs?ep=`), then
    /// registers with the servers it was given.
    #[arg(long)]
    pub(crate) bootstrap: bool,

    /// Short Server ID of the server account (1-65534).
    #[arg(long, default_value_t = 101, value_parser = clap::value_parser!(u16).range(1..=65534))]
    pub(crate) short_server_id: u16,

    /// Registration lifetime in seconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) lifetime: u32,

    /// Binding mode announced at registration: `U` (UDP) or `UQ` (UDP with queue mode: the
    /// client sleeps 93 s after its last exchange and wakes to send an Update).
    #[arg(long, value_enum, default_value_t = Binding::U)]
    pub(crate) binding: Binding,

    /// PSK identity for DTLS: needs a `coaps://` server and `--psk-key` (fleet mode: every
    /// device uses it).
    #[arg(long, requires = "psk_key")]
    pub(crate) psk_identity: Option<String>,

    /// PSK key for DTLS, in hexadecimal (e.g. `30313233`), with `--psk-identity`.
    #[arg(long, requires = "psk_identity", value_parser = parse_hex_key)]
    pub(crate) psk_key: Option<PskKey>,

    /// The device's X.509 certificate for DTLS (security mode 2), PEM or DER: needs a
    /// `coaps://` server, `--private-key` and `--server-certificate`; excludes `--psk-*`.
    /// The server binds it to the endpoint whose name is its CN.
    #[arg(long, requires_all = ["private_key", "server_certificate"], conflicts_with_all = ["psk_identity", "psk_key"])]
    pub(crate) certificate: Option<PathBuf>,

    /// The device's private key (EC P-256), PEM or DER (PKCS#8 or SEC1): the key of
    /// `--certificate`, or with `--server-public-key` the device's raw public key (its public
    /// half is what the server must hold for the endpoint).
    #[arg(long)]
    pub(crate) private_key: Option<PathBuf>,

    /// The certificate the server must present, or the CA certificate that issued it, PEM or
    /// DER (with `--certificate`).
    #[arg(long, requires = "certificate")]
    pub(crate) server_certificate: Option<PathBuf>,

    /// Raw public keys for DTLS (security mode 1, RFC 7250): the server's public key to pin,
    /// PEM (`PUBLIC KEY`) or DER (`SubjectPublicKeyInfo`). Needs a `coaps://` server and
    /// `--private-key`; excludes `--psk-*` and `--certificate`. Needs a build with
    /// `--features dtls-rpk` (OpenSSL >= 3.2, vendored).
    #[arg(long, requires = "private_key", conflicts_with_all = ["psk_identity", "psk_key", "certificate"])]
    pub(crate) server_public_key: Option<PathBuf>,

    /// Also trust this CA certificate (PEM, possibly several, or DER) for `https://` firmware
    /// downloads, besides the Mozilla roots; may be repeated. Needs a build with
    /// `--features https`.
    #[arg(long, value_name = "FILE")]
    pub(crate) firmware_ca: Vec<PathBuf>,

    /// Fleet mode: run this many independent devices in one process, each on its own UDP
    /// socket, named `<endpoint-prefix><k>` for k = 1..=N.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) count: u32,

    /// Endpoint name prefix of the devices in fleet mode (`--count` > 1).
    #[arg(long, default_value = "sim-")]
    pub(crate) endpoint_prefix: String,

    /// Stop after this many seconds (De-registering first); without it, run until Ctrl-C.
    #[arg(long)]
    pub(crate) duration: Option<u64>,

    /// Fleet mode: devices started per second, so that a fleet does not flood the server (and
    /// its socket buffer) with Registers all at once; 0 starts them all at once.
    #[arg(long, default_value_t = 1000)]
    pub(crate) ramp: u32,

    /// Seconds between two changes of the simulated values.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) update_interval: u64,

    /// Directory where firmware images pushed to `/5/0/0` or pulled from the Package URI
    /// (`coap://`, and `http(s)://` when built with the `http`/`https` features) are written,
    /// as `<endpoint>.bin`; executing Update logs the image and reports success.
    #[arg(long, default_value_os_t = std::env::temp_dir().join("lwm2m-client-firmware"))]
    pub(crate) firmware_dir: std::path::PathBuf,
}

/// The binding flag's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Binding {
    /// UDP.
    #[value(name = "U")]
    U,
    /// UDP with queue mode.
    #[value(name = "UQ")]
    Uq,
}

impl Binding {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Binding::U => "U",
            Binding::Uq => "UQ",
        }
    }
}

/// A pre-shared key, parsed from hexadecimal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PskKey(pub(crate) Vec<u8>);

fn parse_hex_key(text: &str) -> Result<PskKey, String> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return Err("a PSK key is a non-empty, even number of hexadecimal digits".into());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("`{text}` is not hexadecimal (at character {i})"))
        })
        .collect::<Result<Vec<u8>, String>>()
        .map(PskKey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn psk_keys_are_hexadecimal() {
        assert_eq!(parse_hex_key("00aF10"), Ok(PskKey(vec![0, 0xaf, 0x10])));
        assert!(parse_hex_key("").is_err());
        assert!(parse_hex_key("abc").is_err());
        assert!(parse_hex_key("0g").is_err());
        assert!(parse_hex_key("é1").is_err());
    }
}
