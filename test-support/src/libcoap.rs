//! Where libcoap's command-line tools are (Debian `libcoap3-bin`: `coap-client-openssl`,
//! `coap-server-openssl`, ...). `cargo xtask install` installs them; a test never skips for a
//! missing tool, it fails and says how to install it.

use std::ffi::OsStr;
use std::path::PathBuf;

/// The path of the libcoap tool `name`: the first file of that name in a `$PATH` directory.
///
/// # Panics
/// When no `$PATH` directory holds it, with a message saying to run `cargo xtask install`.
pub fn tool(name: &str) -> PathBuf {
    find(name, std::env::var_os("PATH").as_deref()).unwrap_or_else(|| {
        panic!("{name} is not installed: run `cargo xtask install` (Debian package libcoap3-bin)")
    })
}

/// The first file `name` in the directories of the search path `path`, if any.
fn find(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    path.into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use tempfile::tempdir;

    #[test]
    fn the_first_directory_holding_the_tool_wins() {
        let (first, second) = (tempdir().unwrap(), tempdir().unwrap());
        let (first, second) = (first.path(), second.path());
        std::fs::write(second.join("coap-tool"), b"").unwrap();
        let path = std::env::join_paths([first, second]).unwrap();
        assert_eq!(
            find("coap-tool", Some(&path)),
            Some(second.join("coap-tool"))
        );
        std::fs::write(first.join("coap-tool"), b"").unwrap();
        assert_eq!(
            find("coap-tool", Some(&path)),
            Some(first.join("coap-tool"))
        );
        // A directory of that name is not the tool.
        std::fs::create_dir(first.join("coap-dir")).unwrap();
        assert_eq!(find("coap-dir", Some(&path)), None);
    }

    #[test]
    fn no_search_path_finds_nothing() {
        assert_eq!(find("sh", None), None);
        assert_eq!(find("sh", Some(&OsString::new())), None);
    }

    #[test]
    #[should_panic(expected = "run `cargo xtask install`")]
    fn a_missing_tool_fails_with_the_install_hint() {
        let _ = tool("coap-no-such-tool-lwm2m-rs");
    }
}
