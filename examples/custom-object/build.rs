//! Generates the typed IPSO Temperature object (3303) from the OMA XML into `OUT_DIR`, the way a
//! third-party crate adds objects of its own.

use std::env;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let (Some(manifest_dir), Some(out_dir)) =
        (env::var_os("CARGO_MANIFEST_DIR"), env::var_os("OUT_DIR"))
    else {
        eprintln!("CARGO_MANIFEST_DIR and OUT_DIR must be set (run through cargo)");
        return ExitCode::FAILURE;
    };
    let xml = PathBuf::from(manifest_dir).join("../../../shared/oma-objects/3303.xml");
    let out = PathBuf::from(out_dir).join("objects.rs");
    // `build_rs` prints `cargo:rerun-if-changed` for the XML file.
    match lwm2m_model::codegen::build_rs([&xml], &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot generate the objects: {e}");
            ExitCode::FAILURE
        }
    }
}
