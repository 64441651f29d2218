//! Installs what the test suite needs on a fresh Debian machine with Rust.
//!
//! Every tool a test uses is installed here rather than skipped by the test: a missing peer is a
//! failed setup, never a silently passing test.
//!
//! - Debian packages: libcoap's command-line peers, what building aiocoap's DTLS extra needs, and
//!   the Redis server of lwm2m-server's Redis store tests.
//! - A Python virtual environment with aiocoap at [`INTEROP_VENV`] (inside the workspace), which
//!   the interop tests of lwm2m-transport use as `<venv>/bin/python`. The environment variable
//!   `LWM2M_INTEROP_VENV` points the tests (and this installer) somewhere else.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Rust toolchain components the checks call.
const RUSTUP_COMPONENTS: &[&str] = &["rustfmt", "clippy"];

/// Debian packages the tests need, as (package, a shell test that succeeds when it is
/// installed). Only packages whose test fails are installed.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    // The DTLS backend (feature dtls-openssl) links the system OpenSSL through openssl-sys.
    ("libssl-dev", "test -e /usr/include/openssl/ssl.h"),
    // libcoap 4.3 peers for lwm2m-transport/tests/interop_*.rs and dtls_interop.rs.
    (
        "libcoap3-bin",
        "command -v coap-server-notls && command -v coap-client-notls && command -v coap-client-openssl",
    ),
    // `python3 -m venv` (ensurepip), and the build of DTLSSocket (aiocoap[tinydtls]) from source:
    // a C compiler, the Python headers and tinydtls' autotools build.
    ("python3-venv", "python3 -c 'import ensurepip'"),
    ("python3-dev", "command -v python3-config"),
    ("build-essential", "command -v cc && command -v make"),
    ("autoconf", "command -v autoconf"),
    ("automake", "command -v automake"),
    ("libtool", "command -v libtoolize"),
    ("pkg-config", "command -v pkg-config"),
    // The Redis server that lwm2m-server/tests/redis_store.rs starts (feature `redis`).
    ("redis-server", "command -v redis-server"),
];

/// The virtual environment of the interop tests, relative to the workspace root.
pub const INTEROP_VENV: &str = "target/interop-venv";

/// What `pip install` gets into the venv, pinned so a test run is reproducible. (The
/// `linkheader` extra is empty since aiocoap 0.4.17, which parses links itself.)
const PYTHON_PACKAGES: &[&str] = &["aiocoap[tinydtls,linkheader]==0.4.17"];

/// The module imports that prove [`PYTHON_PACKAGES`] is installed.
const PYTHON_PROBE: &str = "import aiocoap, aiocoap.transports.tinydtls, DTLSSocket";

/// Installs every prerequisite that is missing. Idempotent and quick when all is present.
pub fn test_prerequisites(root: &Path) -> Result<(), String> {
    for component in RUSTUP_COMPONENTS {
        let probe = match *component {
            "rustfmt" => ["fmt", "--version"],
            _ => ["clippy", "--version"],
        };
        if !succeeds("cargo", &probe) {
            run("rustup", &["component", "add", component])?;
        }
    }
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(_, test)| !is_present(test))
        .map(|(package, _)| *package)
        .collect();
    if !missing.is_empty() {
        apt_get(&["update", "-q"])?;
        let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
        args.extend(&missing);
        apt_get(&args)?;
    }
    python_venv(&interop_venv(root))
}

/// Where the interop venv lives: `$LWM2M_INTEROP_VENV`, else [`INTEROP_VENV`] in the workspace.
pub fn interop_venv(root: &Path) -> PathBuf {
    std::env::var_os("LWM2M_INTEROP_VENV")
        .filter(|v| !v.is_empty())
        .map_or_else(|| root.join(INTEROP_VENV), PathBuf::from)
}

/// Creates the venv (if needed) and installs the Python peers into it (if they do not import).
fn python_venv(venv: &Path) -> Result<(), String> {
    let python = venv.join("bin").join("python");
    let python_str = python.to_string_lossy().into_owned();
    if python.exists() && succeeds(&python_str, &["-c", PYTHON_PROBE]) {
        return Ok(());
    }
    if !python.exists() {
        let venv_str = venv.to_string_lossy().into_owned();
        run("python3", &["-m", "venv", &venv_str])?;
    }
    let mut args = vec![
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ];
    args.extend(PYTHON_PACKAGES);
    run(&python_str, &args)?;
    if succeeds(&python_str, &["-c", PYTHON_PROBE]) {
        Ok(())
    } else {
        Err(format!(
            "{python_str} cannot import the interop peers after installing them ({PYTHON_PROBE})"
        ))
    }
}

/// Whether a package's shell test succeeds.
fn is_present(test: &str) -> bool {
    succeeds("sh", &["-c", &format!("({test}) >/dev/null 2>&1")])
}

/// `apt-get`, through `sudo` unless this process already runs as root.
fn apt_get(args: &[&str]) -> Result<(), String> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if is_root {
        run("apt-get", args)
    } else {
        let mut sudo_args = vec!["apt-get"];
        sudo_args.extend(args);
        run("sudo", &sudo_args)
    }
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    println!("install: {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed ({status})", args.join(" ")))
    }
}
