//! Project automation for lwm2m-rs.
//!
//! ```text
//! cargo xtask ci         install what the tests need, then run every check CI runs
//! cargo xtask ci --quick the same without `cargo package` (faster while iterating)
//! cargo xtask install    install the test prerequisites only (Debian packages, the interop venv)
//! cargo xtask demo       the main job: the server with its defaults plus one simulated client
//! cargo xtask codegen    regenerate lwm2m-objects/src/generated/ from the OMA XML files
//! cargo xtask codegen --check
//!                        fail (listing the files) if the committed generated code is stale
//! ```
//!
//! `cargo xtask` is an alias (see `.cargo/config.toml`) for `cargo run -p xtask --`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

mod codegen;
mod demo;
mod install;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(args.iter().any(|a| a == "--quick")),
        Some("install") => install::test_prerequisites(&workspace_root()),
        Some("codegen") => codegen::codegen(&workspace_root(), args.iter().any(|a| a == "--check")),
        Some("demo") => demo::demo(&workspace_root(), seconds_flag(&args)),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci [--quick] | codegen [--check] | install | demo [--seconds N]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The value of `--seconds N`, if given and a number.
fn seconds_flag(args: &[String]) -> Option<u64> {
    args.iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
}

/// The root of the workspace (the parent of this crate's manifest directory).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// One check CI runs: a name and the command line.
struct Step {
    name: &'static str,
    program: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const fn step(name: &'static str, program: &'static str, args: &'static [&'static str]) -> Step {
    Step {
        name,
        program,
        args,
        env: &[],
    }
}

fn ci(quick: bool) -> Result<(), String> {
    install::test_prerequisites(&workspace_root())?;
    let mut steps = vec![
        step("format", "cargo", &["fmt", "--all", "--check"]),
        step(
            "generated code is up to date",
            "cargo",
            &["xtask", "codegen", "--check"],
        ),
        step(
            "clippy",
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
        ),
        step(
            "no_std + alloc build of lwm2m-codec, lwm2m-model and lwm2m-objects",
            "cargo",
            &[
                "build",
                "-p",
                "lwm2m-codec",
                "-p",
                "lwm2m-model",
                "-p",
                "lwm2m-objects",
                "--no-default-features",
            ],
        ),
        Step {
            name: "docs",
            program: "cargo",
            args: &["doc", "--workspace", "--no-deps", "--all-features"],
            env: &[("RUSTDOCFLAGS", "-D warnings")],
        },
        step(
            "fuzz targets build",
            "cargo",
            &["check", "--manifest-path", "fuzz/Cargo.toml", "--bins"],
        ),
    ];
    if !quick {
        // The example reads the OMA XML from `shared/` beside the checkout, which a packaged
        // copy cannot reach; it and the test-support crate are `publish = false` anyway.
        steps.push(step(
            "package",
            "cargo",
            &[
                "package",
                "--workspace",
                "--allow-dirty",
                "--exclude",
                "lwm2m-example-custom-object",
                "--exclude",
                "lwm2m-test-support",
            ],
        ));
    }
    // Tests last: their summary lines are the last thing CI prints.
    steps.push(step(
        "tests",
        "cargo",
        &["test", "--workspace", "--all-features"],
    ));

    let root = workspace_root();
    if !quick {
        forget_packaged_sources()?;
    }
    for s in &steps {
        run(&root, s)?;
    }
    println!("xtask ci: all {} checks passed", steps.len());
    Ok(())
}

/// The crates `cargo package --workspace` verifies against each other.
const PUBLISHED: [&str; 6] = [
    "lwm2m-codec",
    "lwm2m-model",
    "lwm2m-objects",
    "lwm2m-transport",
    "lwm2m-client",
    "lwm2m-server",
];

/// Removes this workspace's crates from cargo's registry caches. `cargo package --workspace`
/// verifies each crate against the others through a temporary local registry whose path (and so
/// cache key) is the same on every run; cargo does not unpack a crate again when the same name
/// and version is already in `$CARGO_HOME/registry/src`, so without this the verification builds
/// against the sources of an earlier run (seen here: a crate using an item its sibling had only
/// since gained failed to verify).
fn forget_packaged_sources() -> Result<(), String> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    for kind in ["src", "cache"] {
        let Ok(registries) = std::fs::read_dir(cargo_home.join("registry").join(kind)) else {
            continue;
        };
        for registry in registries.flatten() {
            let Ok(entries) = std::fs::read_dir(registry.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let ours = PUBLISHED.iter().any(|krate| {
                    name.strip_prefix(krate)
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(|version| version.starts_with(|c: char| c.is_ascii_digit()))
                });
                if !ours {
                    continue;
                }
                let path = entry.path();
                let removed = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

fn run(root: &Path, s: &Step) -> Result<(), String> {
    println!("\n==> {} ({} {})", s.name, s.program, s.args.join(" "));
    let started = Instant::now();
    let status = Command::new(s.program)
        .args(s.args)
        .envs(s.env.iter().copied())
        .current_dir(root)
        .status()
        .map_err(|e| format!("{}: cannot start {}: {e}", s.name, s.program))?;
    if status.success() {
        println!(
            "==> {} passed in {:.1} s",
            s.name,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    } else {
        Err(format!("{} failed ({status})", s.name))
    }
}
