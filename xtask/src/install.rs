//! Installs what the test suite needs on a fresh Debian machine with Rust.
//!
//! Every tool a test uses is installed here rather than skipped by the test: a missing peer is a
//! failed setup, never a silently passing test.

use std::process::Command;

/// Rust toolchain components the checks call.
const RUSTUP_COMPONENTS: &[&str] = &["rustfmt", "clippy"];

/// Debian packages the tests need, as (package, a binary it provides).
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    // The DTLS backend links the system OpenSSL through openssl-sys.
    ("libssl-dev", "/usr/include/openssl/ssl.h"),
    ("pkg-config", "pkg-config"),
    // Independent CoAP/DTLS peers for the interop tests.
    ("libcoap3-bin", "coap-client-openssl"),
];

/// Installs every prerequisite that is missing. Idempotent and quick when all is present.
pub fn test_prerequisites() -> Result<(), String> {
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
        .filter(|(_, probe)| !is_present(probe))
        .map(|(package, _)| *package)
        .collect();
    if !missing.is_empty() {
        run_as_root(&["apt-get", "update", "-q"])?;
        let mut args = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
        args.extend(&missing);
        run_as_root(&args)?;
    }
    Ok(())
}

/// A probe is either an absolute file path or a command name looked up on `PATH`.
fn is_present(probe: &str) -> bool {
    if probe.starts_with('/') {
        std::path::Path::new(probe).exists()
    } else {
        succeeds("sh", &["-c", &format!("command -v {probe}")])
    }
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a command as root: directly when we are root (CI, containers), else through `sudo`.
fn run_as_root(command: &[&str]) -> Result<(), String> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let mut full: Vec<&str> = Vec::with_capacity(command.len() + 2);
    if !is_root {
        full.extend(["sudo", "--preserve-env=DEBIAN_FRONTEND"]);
    }
    full.extend(command);
    let (program, args) = full.split_first().ok_or("empty command")?;
    run(program, args)
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
