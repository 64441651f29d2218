//! `lwm2m-client`: a simulated LwM2M 1.0 device (or a fleet of them) with live values.
//!
//! Each device carries Security (0), Server (1), Device (3), Connectivity Monitoring (4),
//! Firmware Update (5, idle), Location (6) and Connectivity Statistics (7). Battery, memory,
//! time, radio and position values change every few seconds through the change-reporting API,
//! so a server's observations fire.
//!
//! ```text
//! lwm2m-client --server coap://127.0.0.1:5683 --endpoint dev1
//! lwm2m-client --count 1000 --endpoint-prefix sim- --duration 60
//! lwm2m-client --server coaps://127.0.0.1:5684 --private-key dev.pem --server-public-key srv.pub
//! ```

mod args;
mod fleet;
mod security;
mod sim;

use std::net::SocketAddr;
use std::process::ExitCode;

use args::Args;
use clap::Parser;
#[cfg(feature = "http")]
use lwm2m_client::firmware::http::HttpsTrust;
use lwm2m_client::parse_coap_uri;
use sim::DtlsKeys;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let setup = match check(&args) {
        Ok(checked) => checked,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fleet::run(&args, &setup)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What the flags set up for every device.
#[derive(Debug)]
struct Setup {
    /// The server's address.
    server: SocketAddr,
    /// The DTLS keys (not a PSK).
    keys: Option<DtlsKeys>,
    /// The CAs of `https://` firmware downloads.
    #[cfg(feature = "http")]
    https_trust: HttpsTrust,
}

/// The server address, the keys and trust anchors, once the flags make sense for what this
/// client can do.
fn check(args: &Args) -> Result<Setup, String> {
    if args.psk_identity.as_deref() == Some("") {
        return Err("--psk-identity must not be empty".into());
    }
    let secure = args.server.starts_with("coaps://");
    if args.psk_identity.is_some() && !secure {
        return Err("--psk-identity/--psk-key need a coaps:// server".into());
    }
    if args.certificate.is_some() && !secure {
        return Err("--certificate needs a coaps:// server".into());
    }
    if args.server_public_key.is_some() && !cfg!(feature = "dtls-rpk") {
        return Err(
            "--server-public-key (DTLS raw public keys, security mode 1) needs \
             lwm2m-client built with `--features dtls-rpk`"
                .into(),
        );
    }
    if args.server_public_key.is_some() && !secure {
        return Err("--server-public-key needs a coaps:// server".into());
    }
    if !args.firmware_ca.is_empty() && !cfg!(feature = "https") {
        return Err(
            "--firmware-ca (https:// firmware downloads) needs lwm2m-client built \
             with `--features https`"
                .into(),
        );
    }
    if secure
        && args.psk_identity.is_none()
        && args.certificate.is_none()
        && args.server_public_key.is_none()
    {
        return Err(
            "a coaps:// server needs --psk-identity and --psk-key, or --certificate, \
             --private-key and --server-certificate, or --private-key and --server-public-key"
                .into(),
        );
    }
    if args.count == 1 && args.endpoint.is_empty() {
        return Err("--endpoint must not be empty".into());
    }
    std::fs::create_dir_all(&args.firmware_dir)
        .map_err(|e| format!("cannot create {}: {e}", args.firmware_dir.display()))?;
    let server = parse_coap_uri(&args.server).map_err(|e| e.to_string())?;
    Ok(Setup {
        server,
        keys: security::dtls_keys(args)?,
        #[cfg(feature = "https")]
        https_trust: security::https_trust(args)?,
        #[cfg(all(feature = "http", not(feature = "https")))]
        https_trust: HttpsTrust::default(),
    })
}
