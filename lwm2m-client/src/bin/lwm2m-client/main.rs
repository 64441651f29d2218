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

mod sim;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
#[cfg(feature = "http")]
use lwm2m_client::firmware::http::HttpsTrust;
use lwm2m_client::parse_coap_uri;
use lwm2m_client::runtime::{ClientHandle, ClientTask, RuntimeEvent};
use lwm2m_client::ClientEvent;
use lwm2m_transport::dtls::{Certificate, PrivateKey};
use sim::{build_client, simulate, Account, CertificateKeys, DtlsKeys, RawPublicKeys};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing_subscriber::EnvFilter;

/// A simulated OMA LwM2M 1.0 device, or a fleet of them, talking CoAP over UDP without security.
///
/// Logs go to stderr; set their level with `RUST_LOG` (default `info`, e.g.
/// `RUST_LOG=lwm2m_client=debug`).
#[derive(Debug, Parser)]
#[command(name = "lwm2m-client", version)]
struct Args {
    /// Endpoint client name of the device (single-device mode).
    #[arg(long, default_value = "lwm2m-rs-device")]
    endpoint: String,

    /// LwM2M server URI: `coap://<ip>[:port]` (port 5683 by default), or `coaps://<ip>[:port]`
    /// (DTLS with `--psk-identity`/`--psk-key`, with `--certificate`, `--private-key` and
    /// `--server-certificate`, or with `--private-key` and `--server-public-key`; port 5684 by
    /// default).
    #[arg(long, default_value = "coap://127.0.0.1:5683")]
    server: String,

    /// Short Server ID of the server account (1-65534).
    #[arg(long, default_value_t = 101, value_parser = clap::value_parser!(u16).range(1..=65534))]
    short_server_id: u16,

    /// Registration lifetime in seconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    lifetime: u32,

    /// Binding mode announced at registration: `U` (UDP) or `UQ` (UDP with queue mode: the
    /// client sleeps 93 s after its last exchange and wakes to send an Update).
    #[arg(long, value_enum, default_value_t = Binding::U)]
    binding: Binding,

    /// PSK identity for DTLS: needs a `coaps://` server and `--psk-key` (fleet mode: every
    /// device uses it).
    #[arg(long, requires = "psk_key")]
    psk_identity: Option<String>,

    /// PSK key for DTLS, in hexadecimal (e.g. `30313233`), with `--psk-identity`.
    #[arg(long, requires = "psk_identity", value_parser = parse_hex_key)]
    psk_key: Option<PskKey>,

    /// The device's X.509 certificate for DTLS (security mode 2), PEM or DER: needs a
    /// `coaps://` server, `--private-key` and `--server-certificate`; excludes `--psk-*`.
    /// The server binds it to the endpoint whose name is its CN.
    #[arg(long, requires_all = ["private_key", "server_certificate"], conflicts_with_all = ["psk_identity", "psk_key"])]
    certificate: Option<PathBuf>,

    /// The device's private key (EC P-256), PEM or DER (PKCS#8 or SEC1): the key of
    /// `--certificate`, or with `--server-public-key` the device's raw public key (its public
    /// half is what the server must hold for the endpoint).
    #[arg(long)]
    private_key: Option<PathBuf>,

    /// The certificate the server must present, or the CA certificate that issued it, PEM or
    /// DER (with `--certificate`).
    #[arg(long, requires = "certificate")]
    server_certificate: Option<PathBuf>,

    /// Raw public keys for DTLS (security mode 1, RFC 7250): the server's public key to pin,
    /// PEM (`PUBLIC KEY`) or DER (`SubjectPublicKeyInfo`). Needs a `coaps://` server and
    /// `--private-key`; excludes `--psk-*` and `--certificate`. Needs a build with
    /// `--features dtls-rpk` (OpenSSL >= 3.2, vendored).
    #[arg(long, requires = "private_key", conflicts_with_all = ["psk_identity", "psk_key", "certificate"])]
    server_public_key: Option<PathBuf>,

    /// Also trust this CA certificate (PEM, possibly several, or DER) for `https://` firmware
    /// downloads, besides the Mozilla roots; may be repeated. Needs a build with
    /// `--features https`.
    #[arg(long, value_name = "FILE")]
    firmware_ca: Vec<PathBuf>,

    /// Fleet mode: run this many independent devices in one process, each on its own UDP
    /// socket, named `<endpoint-prefix><k>` for k = 1..=N.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    count: u32,

    /// Endpoint name prefix of the devices in fleet mode (`--count` > 1).
    #[arg(long, default_value = "sim-")]
    endpoint_prefix: String,

    /// Stop after this many seconds (De-registering first); without it, run until Ctrl-C.
    #[arg(long)]
    duration: Option<u64>,

    /// Fleet mode: devices started per second, so that a fleet does not flood the server (and
    /// its socket buffer) with Registers all at once; 0 starts them all at once.
    #[arg(long, default_value_t = 1000)]
    ramp: u32,

    /// Seconds between two changes of the simulated values.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    update_interval: u64,

    /// Directory where firmware images pushed to `/5/0/0` or pulled from the Package URI
    /// (`coap://`, and `http(s)://` when built with the `http`/`https` features) are written,
    /// as `<endpoint>.bin`; executing Update logs the image and reports success.
    #[arg(long, default_value_os_t = std::env::temp_dir().join("lwm2m-client-firmware"))]
    firmware_dir: std::path::PathBuf,
}

/// The binding flag's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Binding {
    /// UDP.
    #[value(name = "U")]
    U,
    /// UDP with queue mode.
    #[value(name = "UQ")]
    Uq,
}

impl Binding {
    fn as_str(self) -> &'static str {
        match self {
            Binding::U => "U",
            Binding::Uq => "UQ",
        }
    }
}

/// A pre-shared key, parsed from hexadecimal.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PskKey(Vec<u8>);

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
    match runtime.block_on(run(&args, &setup)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs what a server did to device `device` (1-based).
fn log_device_event(device: usize, event: &ClientEvent) {
    match event {
        ClientEvent::Executed { path, .. } => tracing::info!(device, %path, "executed"),
        ClientEvent::Written { path, .. } => tracing::info!(device, %path, "written"),
        ClientEvent::FirmwareStateChanged { state, result } => {
            tracing::info!(device, %state, result = result.value(), "firmware update");
        }
        _ => {}
    }
}

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
fn dtls_keys(args: &Args) -> Result<Option<DtlsKeys>, String> {
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
fn https_trust(args: &Args) -> Result<HttpsTrust, String> {
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
        keys: dtls_keys(args)?,
        #[cfg(feature = "https")]
        https_trust: https_trust(args)?,
        #[cfg(all(feature = "http", not(feature = "https")))]
        https_trust: HttpsTrust::default(),
    })
}

/// The server account every device gets from the flags.
fn account_of<'a>(args: &'a Args, keys: Option<&'a DtlsKeys>) -> Account<'a> {
    Account {
        short_server_id: args.short_server_id,
        lifetime: args.lifetime,
        binding: args.binding.as_str(),
        psk: args
            .psk_identity
            .as_deref()
            .zip(args.psk_key.as_ref())
            .map(|(identity, key)| (identity.as_bytes(), key.0.as_slice())),
        keys,
        firmware_dir: &args.firmware_dir,
    }
}

/// The endpoint name of device `k` (1-based).
fn endpoint_name(args: &Args, k: u32) -> String {
    if args.count == 1 {
        args.endpoint.clone()
    } else {
        format!("{}{k}", args.endpoint_prefix)
    }
}

async fn run(args: &Args, setup: &Setup) -> Result<(), String> {
    let server = setup.server;
    let count = args.count as usize;
    let rss_before = resident_bytes();
    let (events_tx, mut events) = mpsc::channel::<RuntimeEvent>(count.clamp(64, 4096));
    let local: SocketAddr = match server.ip() {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let account = account_of(args, setup.keys.as_ref());
    let mut handles = Vec::with_capacity(count);
    let started = tokio::time::Instant::now();
    for k in 1..=args.count {
        if args.ramp > 0 && k > 1 {
            let due = Duration::from_secs(u64::from(k - 1)) / args.ramp;
            tokio::time::sleep_until(started + due).await;
        }
        let name = endpoint_name(args, k);
        let client = build_client(&account, &name, server, k)?;
        let socket = UdpSocket::bind(local).await.map_err(|e| {
            format!(
                "cannot bind a UDP socket for device {k} ({e}); for large fleets raise `ulimit -n`"
            )
        })?;
        let (task, handle) = ClientTask::new(client, socket);
        #[cfg(feature = "http")]
        let task = task.https_trust(setup.https_trust.clone());
        // The task logs its own failure; spawning `run` directly keeps each task small.
        drop(tokio::spawn(
            task.events(k as usize - 1, events_tx.clone()).run(),
        ));
        handles.push(handle);
    }
    drop(events_tx);
    tracing::info!(
        devices = count,
        server = %server,
        lifetime = args.lifetime,
        binding = args.binding.as_str(),
        "started"
    );

    let simulation = tokio::spawn(simulate(
        handles.clone(),
        Duration::from_secs(args.update_interval),
    ));
    let stop_at = args
        .duration
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let mut registered = vec![false; count];
    let mut registered_count = 0usize;
    let mut memory_reported = false;
    let step = (count / 10).max(1);
    let stop = sleep_until(stop_at);
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(stop, interrupted);
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(RuntimeEvent { client, event }) = event else { break };
                match event {
                    ClientEvent::Registered { location, .. } => {
                        if let Some(slot) = registered.get_mut(client).filter(|r| !**r) {
                            *slot = true;
                            registered_count += 1;
                            if count == 1 {
                                tracing::info!(location = %location, "registered 1/1");
                            } else if registered_count.is_multiple_of(step) || registered_count == count {
                                tracing::info!("registered {registered_count}/{count}");
                            }
                        }
                    }
                    ClientEvent::Deregistered { .. } => {
                        if let Some(slot) = registered.get_mut(client).filter(|r| **r) {
                            *slot = false;
                            registered_count -= 1;
                        }
                    }
                    other => log_device_event(client + 1, &other),
                }
                if !memory_reported && registered_count == count {
                    memory_reported = true;
                    report_memory(rss_before, count);
                }
            }
            () = &mut stop => {
                tracing::info!("duration elapsed");
                break;
            }
            _ = &mut interrupted => {
                tracing::info!("interrupted");
                break;
            }
        }
    }
    simulation.abort();
    shutdown(handles, &mut events, registered_count).await;
    Ok(())
}

/// De-registers every device (in parallel, each waiting at most 5 s).
async fn shutdown(
    handles: Vec<ClientHandle>,
    events: &mut mpsc::Receiver<RuntimeEvent>,
    registered: usize,
) {
    let count = handles.len();
    let mut stopping = JoinSet::new();
    for handle in handles {
        stopping.spawn(async move { handle.shutdown(Duration::from_secs(5)).await.is_ok() });
    }
    let mut stopped = 0usize;
    let mut deregistered = 0usize;
    let mut count_event = |event: Option<RuntimeEvent>| {
        if let Some(RuntimeEvent {
            event: ClientEvent::Deregistered { .. },
            ..
        }) = event
        {
            deregistered += 1;
        }
    };
    // The events are read while the devices stop, so that a full channel drops none.
    let mut open = true;
    loop {
        tokio::select! {
            done = stopping.join_next() => match done {
                Some(done) => stopped += usize::from(matches!(done, Ok(true))),
                None => break,
            },
            event = events.recv(), if open => {
                open = event.is_some();
                count_event(event);
            }
        }
    }
    while let Ok(event) = events.try_recv() {
        count_event(Some(event));
    }
    tracing::info!("deregistered {deregistered}/{registered}; stopped {stopped}/{count}");
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Resident memory of this process, from `/proc/self/statm` (Linux; 4 KiB pages assumed).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn report_memory(before: Option<u64>, count: usize) {
    let (Some(before), Some(after)) = (before, resident_bytes()) else {
        tracing::info!("memory: RSS not available on this system");
        return;
    };
    let delta = after.saturating_sub(before);
    let per_device = delta / u64::try_from(count.max(1)).unwrap_or(u64::MAX);
    tracing::info!(
        "memory: {:.1} KiB per device (RSS {} KiB -> {} KiB, delta {} KiB over {count} devices)",
        f64::from(u32::try_from(per_device).unwrap_or(u32::MAX)) / 1024.0,
        before / 1024,
        after / 1024,
        delta / 1024,
    );
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

    #[test]
    fn fleet_devices_get_prefixed_names() {
        let args = Args::parse_from(["lwm2m-client", "--count", "3", "--endpoint-prefix", "x-"]);
        assert_eq!(endpoint_name(&args, 2), "x-2");
        let args = Args::parse_from(["lwm2m-client", "--endpoint", "solo"]);
        assert_eq!(endpoint_name(&args, 1), "solo");
        assert!(check(&args).is_ok());
    }
}
