//! The command line and the `--config` TOML file: the same settings, flags win.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use lwm2m_server::registration::{RateLimit, RegistrarConfig};
use serde::Deserialize;

use crate::dtls::DtlsFiles;

/// An OMA LwM2M 1.0 server: registrations on CoAP/UDP, kept in a redb (or Redis) store, and an
/// HTTP API.
///
/// Logging follows `RUST_LOG` (default `info`: every registration, update, de-registration and
/// expiry).
#[derive(Debug, Parser)]
#[command(version)]
pub(crate) struct Cli {
    /// UDP address of the CoAP (LwM2M) endpoint [default: [::]:5683].
    #[arg(long, value_name = "ADDR")]
    coap_addr: Option<SocketAddr>,
    /// UDP address of the CoAP-over-DTLS endpoint; PSK keys come from the credential store
    /// (`/api/credentials`) [default: [::]:5684 if the store holds credentials at start or any
    /// --dtls-certificate/--dtls-raw-public-key is given, else no DTLS].
    #[arg(long, value_name = "ADDR")]
    dtls_addr: Option<SocketAddr>,
    /// The DTLS server's certificate chain (PEM, leaf first) for X.509 clients (security mode
    /// 2, whose certificate CN is their endpoint name); needs --dtls-private-key and
    /// --dtls-client-ca.
    #[arg(long, value_name = "PEM_FILE")]
    dtls_certificate: Option<PathBuf>,
    /// The private key of --dtls-certificate (PEM or DER; PKCS#8 or EC).
    #[arg(long, value_name = "KEY_FILE")]
    dtls_private_key: Option<PathBuf>,
    /// CA certificates that client certificates must chain to (PEM, one or a bundle); repeat
    /// the flag for several files. Required with --dtls-certificate.
    #[arg(long, value_name = "PEM_FILE")]
    dtls_client_ca: Vec<PathBuf>,
    /// The DTLS server's own key for raw-public-key clients (RFC 7250, security mode 1; PEM or
    /// DER, EC P-256). Its public key (SPKI, hex) is logged at start for the clients' /0/x/4.
    /// Needs a build with `--features dtls-rpk`.
    #[arg(long, value_name = "KEY_FILE")]
    dtls_raw_public_key: Option<PathBuf>,
    /// Directory of the redb registration store (created if missing) [default: ./lwm2m-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// TCP address of the HTTP API [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    http_addr: Option<SocketAddr>,
    /// Directory of extra OMA object definition XML files, added to the core objects.
    #[arg(long, value_name = "DIR")]
    object_definitions: Option<PathBuf>,
    /// Where registrations, observations, credentials and bootstrap configurations live:
    /// `redb` (the embedded store in --data-dir, the default) or a Redis URL
    /// (`redis://host:port/db`, shared by several server nodes).
    #[arg(long, value_name = "STORE")]
    store: Option<String>,
    /// UDP address of a bootstrap server to run as well, with configurations from the same
    /// store (none runs without it).
    #[arg(long, value_name = "ADDR")]
    bootstrap_addr: Option<SocketAddr>,
    /// UDP sockets of the CoAP endpoint, bound to its port with `SO_REUSEPORT` and read in
    /// parallel (clients are spread over them by address) [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    udp_sockets: Option<u16>,
    /// Receive buffer of each CoAP socket in bytes (`SO_RCVBUF`; Linux caps it at
    /// `net.core.rmem_max`) [default: the system's].
    #[arg(long, value_name = "BYTES")]
    udp_recv_buffer: Option<usize>,
    /// Registers per second one IP address may send after a burst of
    /// `--register-rate-burst` (a flood guard); 0 turns the limit off, e.g. for a fleet
    /// behind one NAT [default: 1].
    #[arg(long, value_name = "PER_SECOND")]
    register_rate_limit: Option<u32>,
    /// Registers one IP address may send at once before `--register-rate-limit` applies
    /// [default: 10].
    #[arg(long, value_name = "N")]
    register_rate_burst: Option<u32>,
    /// TOML file with the same settings (`coap_addr`, `dtls_addr`, `dtls_certificate`,
    /// `dtls_private_key`, `dtls_client_ca` (a list of files), `dtls_raw_public_key`,
    /// `data_dir`, `http_addr`, `object_definitions`, `store`, `bootstrap_addr`, `udp_sockets`,
    /// `udp_recv_buffer`, `register_rate_limit`, `register_rate_burst`); command-line flags
    /// override it (any --dtls-client-ca replaces the file's list).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// The settings a `--config` file may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    coap_addr: Option<SocketAddr>,
    dtls_addr: Option<SocketAddr>,
    dtls_certificate: Option<PathBuf>,
    dtls_private_key: Option<PathBuf>,
    #[serde(default)]
    dtls_client_ca: Vec<PathBuf>,
    dtls_raw_public_key: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    http_addr: Option<SocketAddr>,
    object_definitions: Option<PathBuf>,
    store: Option<String>,
    bootstrap_addr: Option<SocketAddr>,
    udp_sockets: Option<u16>,
    udp_recv_buffer: Option<usize>,
    register_rate_limit: Option<u32>,
    register_rate_burst: Option<u32>,
}

/// The settings the binary runs with: the flags over the `--config` file over the defaults.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) coap_addr: SocketAddr,
    /// `None`: DTLS only if the store holds credentials or `dtls` names own credentials.
    pub(crate) dtls_addr: Option<SocketAddr>,
    pub(crate) dtls: DtlsFiles,
    pub(crate) data_dir: PathBuf,
    pub(crate) http_addr: SocketAddr,
    pub(crate) object_definitions: Option<PathBuf>,
    pub(crate) store: String,
    pub(crate) bootstrap_addr: Option<SocketAddr>,
    pub(crate) udp_sockets: u16,
    pub(crate) udp_recv_buffer: Option<usize>,
    pub(crate) registrar: RegistrarConfig,
}

impl Settings {
    /// Reads `--config` if given and merges it under the flags.
    pub(crate) fn new(cli: Cli) -> Result<Settings, Box<dyn std::error::Error>> {
        let file = match &cli.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .map_err(|e| format!("invalid config {}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        Settings::merge(cli, file)
    }

    fn merge(cli: Cli, file: FileConfig) -> Result<Settings, Box<dyn std::error::Error>> {
        let dtls = DtlsFiles {
            certificate: cli.dtls_certificate.or(file.dtls_certificate),
            private_key: cli.dtls_private_key.or(file.dtls_private_key),
            client_ca: if cli.dtls_client_ca.is_empty() {
                file.dtls_client_ca
            } else {
                cli.dtls_client_ca
            },
            raw_public_key: cli.dtls_raw_public_key.or(file.dtls_raw_public_key),
        };
        Ok(Settings {
            coap_addr: cli
                .coap_addr
                .or(file.coap_addr)
                .unwrap_or_else(|| SocketAddr::from(([0u16; 8], 5683))),
            dtls_addr: cli.dtls_addr.or(file.dtls_addr),
            dtls,
            data_dir: cli
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./lwm2m-data")),
            http_addr: cli
                .http_addr
                .or(file.http_addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            object_definitions: cli.object_definitions.or(file.object_definitions),
            store: cli
                .store
                .or(file.store)
                .unwrap_or_else(|| "redb".to_owned()),
            bootstrap_addr: cli.bootstrap_addr.or(file.bootstrap_addr),
            udp_sockets: cli.udp_sockets.or(file.udp_sockets).unwrap_or(1),
            udp_recv_buffer: cli.udp_recv_buffer.or(file.udp_recv_buffer),
            registrar: registrar_config(
                cli.register_rate_limit.or(file.register_rate_limit),
                cli.register_rate_burst.or(file.register_rate_burst),
            )?,
        })
    }
}

/// The registrar's settings: the defaults with the per-source Register limit of the flags
/// (`rate` Registers per second after a burst of `burst`; a rate of 0 turns the limit off).
fn registrar_config(
    rate: Option<u32>,
    burst: Option<u32>,
) -> Result<RegistrarConfig, Box<dyn std::error::Error>> {
    let mut config = RegistrarConfig::default();
    let default = config.register_rate_limit.unwrap_or_default();
    config.register_rate_limit = match rate {
        Some(0) => None,
        Some(rate) => Some(RateLimit {
            interval: Duration::from_secs(1) / rate,
            burst: burst.unwrap_or(default.burst),
            ..default
        }),
        None => Some(RateLimit {
            burst: burst.unwrap_or(default.burst),
            ..default
        }),
    };
    if config
        .register_rate_limit
        .is_some_and(|limit| limit.burst == 0)
    {
        return Err("--register-rate-burst must be at least 1".into());
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::Parser;

    use super::{registrar_config, Cli, Duration, FileConfig, RateLimit, Settings};

    #[test]
    fn dtls_files_come_from_the_flags_over_the_config_file() {
        let file: FileConfig = toml::from_str(
            r#"
            dtls_certificate = "file-cert.pem"
            dtls_private_key = "file-key.pem"
            dtls_client_ca = ["ca-1.pem", "ca-2.pem"]
            dtls_raw_public_key = "file-rpk.pem"
            "#,
        )
        .unwrap();
        let cli = Cli::parse_from(["lwm2m-server", "--dtls-certificate", "flag-cert.pem"]);
        let settings = Settings::merge(cli, file).unwrap();
        let dtls = &settings.dtls;
        assert_eq!(dtls.certificate, Some(PathBuf::from("flag-cert.pem")));
        assert_eq!(dtls.private_key, Some(PathBuf::from("file-key.pem")));
        assert_eq!(
            dtls.client_ca,
            [PathBuf::from("ca-1.pem"), PathBuf::from("ca-2.pem")]
        );
        assert_eq!(dtls.raw_public_key, Some(PathBuf::from("file-rpk.pem")));

        let file: FileConfig = toml::from_str(r#"dtls_client_ca = ["ca-1.pem"]"#).unwrap();
        let cli = Cli::parse_from([
            "lwm2m-server",
            "--dtls-client-ca",
            "a.pem",
            "--dtls-client-ca",
            "b.pem",
        ]);
        let settings = Settings::merge(cli, file).unwrap();
        assert_eq!(
            settings.dtls.client_ca,
            [PathBuf::from("a.pem"), PathBuf::from("b.pem")]
        );
        let none = Settings::merge(Cli::parse_from(["lwm2m-server"]), FileConfig::default());
        assert!(!none.unwrap().dtls.any());
    }

    #[test]
    fn the_register_rate_flags_set_the_per_source_limit() {
        let default = registrar_config(None, None).unwrap();
        assert_eq!(default.register_rate_limit, Some(RateLimit::default()));
        assert_eq!(
            registrar_config(Some(0), Some(5))
                .unwrap()
                .register_rate_limit,
            None
        );
        let limit = registrar_config(Some(500), Some(20_000))
            .unwrap()
            .register_rate_limit
            .unwrap();
        assert_eq!(limit.interval, Duration::from_millis(2));
        assert_eq!(limit.burst, 20_000);
        let burst_only = registrar_config(None, Some(3))
            .unwrap()
            .register_rate_limit
            .unwrap();
        assert_eq!(
            (burst_only.burst, burst_only.interval),
            (3, Duration::from_secs(1))
        );
        let error = registrar_config(Some(10), Some(0)).unwrap_err();
        assert!(
            error.to_string().contains("--register-rate-burst"),
            "{error}"
        );
    }
}
