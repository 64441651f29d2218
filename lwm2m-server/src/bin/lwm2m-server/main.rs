//! The `lwm2m-server` binary: an LwM2M 1.0 server on UDP with a durable registration store and
//! an HTTP API. `lwm2m-server --help` lists the flags; a TOML file (`--config`) can hold the
//! same settings (flags win).

mod config;
mod dtls;

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use lwm2m_server::bootstrap::BootstrapServer;
use lwm2m_server::registration::Registrar;
use lwm2m_server::server::{Server, ServerBuilder};
use lwm2m_server::store::{BootstrapConfigStore, CredentialStore, RedbStore, SharedStore};
use tracing_subscriber::EnvFilter;

use config::{Cli, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The message itself (not its `Debug` form): it names the flag and the file.
            eprintln!("lwm2m-server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::new(cli)?;
    // The own DTLS credentials are read and checked before the store opens or anything binds.
    let own = settings.dtls.load()?;

    let mut builder = Server::builder()
        .registrar(Registrar::builder().config(settings.registrar))
        .udp_sockets(usize::from(settings.udp_sockets));
    if let Some(bytes) = settings.udp_recv_buffer {
        builder = builder.udp_recv_buffer(bytes);
    }
    if let Some(dir) = settings.object_definitions {
        builder = builder.object_definitions(dir);
    }
    let (mut builder, store, secured, configs) =
        with_store(builder, &settings.store, &settings.data_dir)?;
    // DTLS when asked for, or on the standard port when some endpoint has credentials or the
    // server was given its own certificate or raw key.
    let dtls_addr = settings
        .dtls_addr
        .or_else(|| (secured || settings.dtls.any()).then(|| SocketAddr::from(([0u16; 8], 5684))));
    if let Some(addr) = dtls_addr {
        let modes = own.modes();
        if let Some(spki) = own.raw_public_key_hex() {
            tracing::info!(
                public_key = %spki,
                "DTLS raw public key of this server (SubjectPublicKeyInfo DER, hex): give it \
                 to raw-public-key clients as their /0/x/4"
            );
        }
        if let Some((own, anchors)) = &own.certificate {
            tracing::info!(
                certificate = ?own.leaf(),
                client_cas = anchors.len(),
                "DTLS certificate of this server"
            );
        }
        tracing::info!(%modes, "DTLS modes");
        builder = builder.dtls(own.options(addr));
    }
    let server = builder.bind(settings.coap_addr).await?;
    let restored = server.handle().clients().len();
    tracing::info!(
        coap = %server.local_addr(),
        dtls = ?server.dtls_addr(),
        %store,
        restored,
        "LwM2M server listening"
    );

    let bootstrap = match settings.bootstrap_addr {
        Some(addr) => {
            let bs = BootstrapServer::builder().store(configs).bind(addr).await?;
            tracing::info!(bootstrap = %bs.local_addr(), "bootstrap server listening");
            Some(bs)
        }
        None => None,
    };

    let listener = tokio::net::TcpListener::bind(settings.http_addr).await?;
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
