//! Rust identifiers from OMA names: `"Supported Binding and Modes"` → `SupportedBindingAndModes`
//! / `supported_binding_and_modes`.
//!
//! Any name gives a valid, non-keyword identifier (a name with no usable character falls back to
//! the id), so name derivation never fails; clashes are resolved by the caller with the id.

use alloc::string::String;
use alloc::vec::Vec;

/// Strict and reserved keywords of Rust 2021 (and `gen`, reserved in 2024), which cannot be field
/// or module names.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Splits a name into words.
///
/// ASCII letters and digits make words; `(`, `)` and `'` vanish without splitting (`Key(s)` →
/// `Keys`); anything else separates words. Inside a word, a lower-case letter followed by an
/// upper-case one starts a new word (`ExtDevInfo` → `Ext Dev Info`), except in the protocol name
/// `LwM2M`.
pub(crate) fn words(name: &str) -> Vec<String> {
    let mut raw: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            current.push(c);
        } else if !matches!(c, '(' | ')' | '\'') && !current.is_empty() {
            raw.push(core::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        raw.push(current);
    }
    let mut words = Vec::new();
    for word in raw {
        if word.eq_ignore_ascii_case("lwm2m") {
            words.push(word);
            continue;
        }
        let mut part = String::new();
        let mut previous_lower = false;
        for c in word.chars() {
            if c.is_ascii_uppercase() && previous_lower && !part.is_empty() {
                words.push(core::mem::take(&mut part));
            }
            previous_lower = c.is_ascii_lowercase();
            part.push(c);
        }
        if !part.is_empty() {
            words.push(part);
        }
    }
    words
}

/// `UpperCamelCase` of the words (`URI` → `Uri`); `None` when there are no words.
pub(crate) fn camel(words: &[String]) -> Option<String> {
    if words.is_empty() {
        return None;
    }
    let mut out = String::new();
    for word in words {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    Some(out)
}

/// `snake_case` of the words; `None` when there are no words.
pub(crate) fn snake(words: &[String]) -> Option<String> {
    if words.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push('_');
        }
        out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    }
    Some(out)
}

/// A type or variant name: `prefix` is put in front of a name that starts with a digit, and the
/// name is `{prefix}{id}` when there are no words.
pub(crate) fn type_ident(name: &str, prefix: &str, id: u16) -> String {
    match camel(&words(name)) {
        Some(n) if n.starts_with(|c: char| c.is_ascii_digit()) => alloc::format!("{prefix}{n}"),
        Some(n) if n == "Self" => alloc::format!("{n}{prefix}"),
        Some(n) => n,
        None => alloc::format!("{prefix}{id}"),
    }
}

/// A field or module name: `prefix_` is put in front of a name that starts with a digit, `_` is
/// appended to a keyword, and the name is `{prefix}_{id}` when there are no words.
pub(crate) fn value_ident(name: &str, prefix: &str, id: u16) -> String {
    match snake(&words(name)) {
        Some(n) if n.starts_with(|c: char| c.is_ascii_digit()) => alloc::format!("{prefix}_{n}"),
        Some(n) if KEYWORDS.contains(&n.as_str()) => alloc::format!("{n}_"),
        Some(n) => n,
        None => alloc::format!("{prefix}_{id}"),
    }
}

/// Whether `text` is a plain Rust identifier that is not a keyword.
pub(crate) fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && text != "_"
        && text != "Self"
        && !KEYWORDS.contains(&text)
}

/// Returns `candidate`, with `suffix` appended (as often as needed) while `taken` already holds
/// it; records the result in `taken`.
pub(crate) fn unique(taken: &mut Vec<String>, candidate: String, suffix: &str) -> String {
    let suffix = if suffix.is_empty() { "_" } else { suffix };
    let mut name = candidate;
    while taken.contains(&name) {
        name.push_str(suffix);
    }
    taken.push(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camel_of(name: &str) -> String {
        type_ident(name, "Resource", 7)
    }

    fn snake_of(name: &str) -> String {
        value_ident(name, "resource", 7)
    }

    #[test]
    fn names_of_the_core_objects() {
        let cases = [
            ("LWM2M  Server URI", "Lwm2mServerUri", "lwm2m_server_uri"),
            (
                "SMS Binding Secret Key(s)",
                "SmsBindingSecretKeys",
                "sms_binding_secret_keys",
            ),
            (
                "LwM2M Server SMS Number",
                "Lwm2mServerSmsNumber",
                "lwm2m_server_sms_number",
            ),
            ("Bootstrap-Server", "BootstrapServer", "bootstrap_server"),
            ("ExtDevInfo", "ExtDevInfo", "ext_dev_info"),
            ("PkgName", "PkgName", "pkg_name"),
            ("On/Off", "OnOff", "on_off"),
            ("APN", "Apn", "apn"),
            (
                "Object Instance ID",
                "ObjectInstanceId",
                "object_instance_id",
            ),
            (
                "BinaryAppDataContainer",
                "BinaryAppDataContainer",
                "binary_app_data_container",
            ),
            (
                "Supported Binding and Modes",
                "SupportedBindingAndModes",
                "supported_binding_and_modes",
            ),
            ("IPv4 address", "Ipv4Address", "ipv4_address"),
        ];
        for (name, camel, snake) in cases {
            assert_eq!(camel_of(name), camel, "{name}");
            assert_eq!(snake_of(name), snake, "{name}");
        }
    }

    #[test]
    fn awkward_names_still_give_identifiers() {
        assert_eq!(camel_of("3D Position"), "Resource3dPosition");
        assert_eq!(snake_of("3D Position"), "resource_3d_position");
        assert_eq!(camel_of("--"), "Resource7");
        assert_eq!(snake_of("Ünïcödé"), "n_c_d");
        assert_eq!(snake_of("Type"), "type_");
        assert_eq!(snake_of("self"), "self_");
        assert_eq!(camel_of("self"), "SelfResource");
        assert_eq!(snake_of(""), "resource_7");
        for name in ["3D Position", "--", "Type", "self", "", "a b", "x(y)'z"] {
            assert!(is_identifier(&camel_of(name)), "{name}");
            assert!(is_identifier(&snake_of(name)), "{name}");
        }
    }

    #[test]
    fn identifier_check() {
        assert!(is_identifier("Device"));
        assert!(is_identifier("_x1"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("_"));
        assert!(!is_identifier("1a"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier("type"));
        assert!(!is_identifier("Self"));
    }

    #[test]
    fn clashes_get_the_suffix() {
        let mut taken = Vec::new();
        assert_eq!(unique(&mut taken, "OnTime".into(), "5852"), "OnTime");
        assert_eq!(unique(&mut taken, "OnTime".into(), "5853"), "OnTime5853");
        assert_eq!(
            unique(&mut taken, "OnTime".into(), "5853"),
            "OnTime58535853"
        );
        assert_eq!(unique(&mut taken, "x".into(), ""), "x");
        assert_eq!(unique(&mut taken, "x".into(), ""), "x_");
        assert_eq!(taken, ["OnTime", "OnTime5853", "OnTime58535853", "x", "x_"]);
    }
}
