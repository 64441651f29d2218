//! The `lwm2m-server` binary: an LwM2M 1.0 server on UDP with a durable registration store and
//! an HTTP API. `lwm2m-server --help` lists the flags; a TOML file (`--config`) can hold the
//! same settings (flags win).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use lwm2m_server::bootstrap::BootstrapServer;
use lwm2m_server::registration::{RateLimit, Registrar, RegistrarConfig};
use lwm2m_server::server::{Server, ServerBuilder};
use lwm2m_server::store::{BootstrapConfigStore, CredentialStore, RedbStore, SharedStore};
use serde::Deserialize;
use tracing_subscriber::EnvFilter;

/// An OMA LwM2M 1.0 server: registrations on CoAP/UDP, kept in a redb (or Redis) store, and an
/// HTTP API.
///
/// Logging follows `RUST_LOG` (default `info`: every registration, update, de-registration and
/// expiry).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// UDP address of the CoAP (LwM2M) endpoint [default: [::]:5683].
    #[arg(long, value_name = "ADDR")]
    coap_addr: Option<SocketAddr>,
    /// UDP address of the CoAP-over-DTLS endpoint; PSK keys come from the credential store
    /// (`/api/credentials`) [default: [::]:5684 if the store holds credentials at start, else
    /// no DTLS].
    #[arg(long, value_name = "ADDR")]
    dtls_addr: Option<SocketAddr>,
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
    /// TOML file with the same settings (`coap_addr`, `dtls_addr`, `data_dir`, `http_addr`,
    /// `object_definitions`, `store`, `bootstrap_addr`, `udp_sockets`, `udp_recv_buffer`,
    /// `register_rate_limit`, `register_rate_burst`); command-line flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// The settings a `--config` file may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    coap_addr: Option<SocketAddr>,
    dtls_addr: Option<SocketAddr>,
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let cli = Cli::parse();
    let file = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            toml::from_str::<FileConfig>(&text)
                .map_err(|e| format!("invalid config {}: {e}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let coap_addr = cli
        .coap_addr
        .or(file.coap_addr)
        .unwrap_or_else(|| SocketAddr::from(([0u16; 8], 5683)));
    let http_addr = cli
        .http_addr
        .or(file.http_addr)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let data_dir = cli
        .data_dir
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("./lwm2m-data"));
    let definitions = cli.object_definitions.or(file.object_definitions);
    let store = cli
        .store
        .or(file.store)
        .unwrap_or_else(|| "redb".to_owned());
    let bootstrap_addr = cli.bootstrap_addr.or(file.bootstrap_addr);

    let mut builder = Server::builder()
        .registrar(Registrar::builder().config(registrar_config(
            cli.register_rate_limit.or(file.register_rate_limit),
            cli.register_rate_burst.or(file.register_rate_burst),
        )?))
        .udp_sockets(usize::from(
            cli.udp_sockets.or(file.udp_sockets).unwrap_or(1),
        ));
    if let Some(bytes) = cli.udp_recv_buffer.or(file.udp_recv_buffer) {
        builder = builder.udp_recv_buffer(bytes);
    }
    if let Some(dir) = definitions {
        builder = builder.object_definitions(dir);
    }
    let (mut builder, store, secured, configs) = with_store(builder, &store, &data_dir)?;
    // DTLS when asked for, or on the standard port when some endpoint has credentials.
    let dtls_addr = cli
        .dtls_addr
        .or(file.dtls_addr)
        .or_else(|| secured.then(|| SocketAddr::from(([0u16; 8], 5684))));
    if let Some(addr) = dtls_addr {
        builder = builder.dtls(lwm2m_server::server::DtlsOptions::psk(addr));
    }
    let server = builder.bind(coap_addr).await?;
    let restored = server.handle().clients().len();
    tracing::info!(
        coap = %server.local_addr(),
        dtls = ?server.dtls_addr(),
        %store,
        restored,
        "LwM2M server listening"
    );

    let bootstrap = match bootstrap_addr {
        Some(addr) => {
            let bs = BootstrapServer::builder().store(configs).bind(addr).await?;
            tracing::info!(bootstrap = %bs.local_addr(), "bootstrap server listening");
            Some(bs)
        }
        None => None,
    };

    let listener = tokio::net::TcpListener::bind(http_addr).await?;
    tracing::info!(http = %listener.local_addr()?, "HTTP API listening");
    let app = lwm2m_server::http::router(server.handle());
    let http = axum::serve(listener, app).with_graceful_shutdown(shutdown_signal());
    if let Err(e) = http.await {
        tracing::error!(error = %e, "HTTP API failed");
    }
    tracing::info!("shutting down (registrations stay in the store)");
    // Dropping the last handle closes the redb store; every change was committed when made.
    if let Some(bs) = bootstrap {
        bs.shutdown().await;
    }
    server.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// Puts the store named by `--store` (`redb`, or a Redis URL) behind every store of the
/// server; returns the builder, a description of the store for the log, whether it holds
/// credentials, and the same store's bootstrap configurations for a bootstrap server.
fn with_store(
    builder: ServerBuilder,
    store: &str,
    data_dir: &Path,
) -> Result<Opened, Box<dyn std::error::Error>> {
    if store.starts_with("redis://") || store.starts_with("redis+unix://") {
        #[cfg(feature = "redis")]
        {
            let redis = lwm2m_server::store::RedisStore::open(store)
                .map_err(|e| format!("cannot open the Redis store {store}: {e}"))?;
            let secured = redis.has_credentials()?;
            let shared = SharedStore::new(redis);
            let configs: Box<dyn BootstrapConfigStore> = Box::new(shared.clone());
            return Ok((builder.store(shared), store.to_owned(), secured, configs));
        }
        #[cfg(not(feature = "redis"))]
        return Err(format!("{store}: this build has no Redis support (feature `redis`)").into());
    }
    if store != "redb" {
        return Err(format!("unknown store {store:?}: `redb` or a redis:// URL").into());
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let path = data_dir.join("registrations.redb");
    let redb = RedbStore::open(&path)?;
    let secured = redb.has_credentials()?;
    // One redb file (it opens once per process), shared by the server and the bootstrap server.
    let shared = SharedStore::new(redb);
    let configs: Box<dyn BootstrapConfigStore> = Box::new(shared.clone());
    Ok((
        builder.store(shared),
        path.display().to_string(),
        secured,
        configs,
    ))
}

/// What [`with_store`] opened: the builder with the store, its description for the log, whether
/// it holds credentials, and its bootstrap configurations.
type Opened = (ServerBuilder, String, bool, Box<dyn BootstrapConfigStore>);

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{registrar_config, Duration, RateLimit};

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
