//! Installs what the test suite needs on a fresh Debian machine with Rust.
//!
//! Every tool a test uses is installed here rather than skipped by the test: a missing peer is a
//! failed setup, never a silently passing test.

use std::process::Command;

/// Rust toolchain components the checks call.
const RUSTUP_COMPONENTS: &[&str] = &["rustfmt", "clippy"];

/// Debian packages the tests need, as (package, a binary it provides).
const DEBIAN_PACKAGES: &[(&str, &str)] = &[];

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
        .filter(|(_, binary)| !succeeds("sh", &["-c", &format!("command -v {binary}")]))
        .map(|(package, _)| *package)
        .collect();
    if !missing.is_empty() {
        run("apt-get", &["update", "-q"])?;
        let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
        args.extend(&missing);
        run("apt-get", &args)?;
    }
    Ok(())
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
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed ({status})", args.join(" ")))
    }
}
