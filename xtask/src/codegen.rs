//! `cargo xtask codegen [--check]`: regenerates `lwm2m-objects/src/generated/` from the OMA XML
//! files in `../shared/oma-objects/` (relative to the workspace root).
//!
//! The generator (`lwm2m_model::codegen`) formats with prettyplease; the files are then passed
//! through `rustfmt` so they are exactly what `cargo fmt` keeps, and `--check` compares them byte
//! for byte with the committed files.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lwm2m_model::codegen::Generator;

/// The object definition files that make up lwm2m-objects: the core objects 0-7, the
/// `BinaryAppDataContainer` (19) and the IPSO objects used in tests and examples.
const OBJECT_FILES: &[&str] = &[
    "0.xml", "1.xml", "2.xml", "3.xml", "4.xml", "5.xml", "6.xml", "7.xml", "19.xml", "3300.xml",
    "3303.xml", "3311.xml", "3342.xml",
];

/// Where the XML files are, relative to the workspace root.
const XML_DIR: &str = "../shared/oma-objects";

/// Where the generated modules go, relative to the workspace root.
const OUT_DIR: &str = "lwm2m-objects/src/generated";

/// Generates every file in memory: file name → contents.
fn generate(root: &Path) -> Result<BTreeMap<String, String>, String> {
    let xml_dir = root.join(XML_DIR);
    let mut generator = Generator::new()
        .objects_crate("crate")
        .generated_by("cargo xtask codegen");
    for file in OBJECT_FILES {
        generator = generator.object_file(xml_dir.join(file));
    }
    let generated = generator.generate().map_err(|e| e.to_string())?;
    let mut files = BTreeMap::new();
    for (name, code) in generated.files().map_err(|e| e.to_string())? {
        let formatted = rustfmt(root, &code).map_err(|e| format!("{name}: {e}"))?;
        files.insert(name, formatted);
    }
    Ok(files)
}

/// Formats Rust source with the toolchain's rustfmt, using the workspace's configuration.
fn rustfmt(root: &Path, code: &str) -> Result<String, String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start rustfmt: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("rustfmt has no stdin")?
        .write_all(code.as_bytes())
        .map_err(|e| format!("cannot feed rustfmt: {e}"))?;
    let output = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt failed: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "rustfmt failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("rustfmt wrote non-UTF-8: {e}"))
}

/// The `.rs` files now in the output directory.
fn existing_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))? {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Regenerates the files, or with `check` only compares them with what is on disk.
pub fn codegen(root: &Path, check: bool) -> Result<(), String> {
    let files = generate(root)?;
    let dir = root.join(OUT_DIR);
    let stale: Vec<PathBuf> = existing_files(&dir)?
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_none_or(|n| !files.contains_key(&*n.to_string_lossy()))
        })
        .collect();
    let changed: Vec<&String> = files
        .iter()
        .filter(|(name, code)| fs::read_to_string(dir.join(name)).ok().as_ref() != Some(*code))
        .map(|(name, _)| name)
        .collect();

    if check {
        if changed.is_empty() && stale.is_empty() {
            println!(
                "xtask codegen: {OUT_DIR} is up to date ({} files)",
                files.len()
            );
            return Ok(());
        }
        let mut problems: Vec<String> = changed
            .iter()
            .map(|name| format!("{OUT_DIR}/{name} differs from the generated code"))
            .collect();
        problems.extend(stale.iter().map(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            format!("{OUT_DIR}/{name} is not generated any more")
        }));
        return Err(format!(
            "generated code is out of date; run `cargo xtask codegen`:\n  {}",
            problems.join("\n  ")
        ));
    }

    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for name in &changed {
        let path = dir.join(name);
        fs::write(&path, &files[*name])
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("xtask codegen: wrote {OUT_DIR}/{name}");
    }
    for path in &stale {
        fs::remove_file(path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        println!("xtask codegen: removed {}", path.display());
    }
    println!(
        "xtask codegen: {} files, {} changed, {} removed",
        files.len(),
        changed.len(),
        stale.len()
    );
    Ok(())
}
