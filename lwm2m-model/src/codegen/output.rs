//! What a [`Generator`](super::Generator) run produces: formatted modules, laid out as a module
//! tree ([`GeneratedObjects::files`]) or as one file for `include!`
//! ([`GeneratedObjects::single_file`]).

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::{emit, literal, CodegenError};
use crate::version::Version;

pub(super) fn format_items(items: TokenStream, what: &str) -> Result<String, CodegenError> {
    let file = syn::parse2::<syn::File>(items).map_err(|e| CodegenError::Format {
        what: what.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(separate_items(&prettyplease::unparse(&file)))
}

/// Puts a blank line between consecutive items, which prettyplease writes back to back: before
/// a line that starts an item (doc comment, attribute, `pub`, `impl`, `fn`, `const`, `static`,
/// `use` after something else) when the line before it, at the same indentation, ends one.
fn separate_items(code: &str) -> String {
    const STARTS: &[&str] = &[
        "///", "#[", "pub ", "impl ", "fn ", "const ", "static ", "mod ",
    ];
    let mut out = String::with_capacity(code.len() + code.len() / 16);
    let mut previous: Option<&str> = None;
    for line in code.lines() {
        if let Some(prev) = previous {
            let indent = |l: &str| l.len() - l.trim_start().len();
            let trimmed = line.trim_start();
            let prev_trimmed = prev.trim_start();
            let ends_item = (prev_trimmed.ends_with('}') || prev_trimmed.ends_with(';'))
                && !prev_trimmed.starts_with("//");
            let starts_item = STARTS.iter().any(|s| trimmed.starts_with(s))
                && !(prev_trimmed.starts_with("pub use ") && trimmed.starts_with("pub use "));
            if ends_item && starts_item && indent(prev) == indent(line) {
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
        previous = Some(line);
    }
    out
}

/// The generated code of one object.
#[derive(Debug, Clone)]
pub struct GeneratedModule {
    pub(super) object_id: u16,
    pub(super) version: Version,
    pub(super) object_name: String,
    pub(super) source: String,
    pub(super) module_name: String,
    pub(super) type_name: String,
    pub(super) items: TokenStream,
    pub(super) code: String,
}

impl GeneratedModule {
    /// The object id.
    pub fn object_id(&self) -> u16 {
        self.object_id
    }

    /// The object version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The object's name in its definition.
    pub fn object_name(&self) -> &str {
        &self.object_name
    }

    /// The source it came from (the XML file name, or the name given with the definition).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The module name, e.g. `device`.
    pub fn module_name(&self) -> &str {
        &self.module_name
    }

    /// The struct name, e.g. `Device`.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The formatted module file: the `// @generated` header line, then the items.
    pub fn code(&self) -> &str {
        &self.code
    }

    fn doc(&self) -> String {
        format!(
            " Object {} {} (version {}), generated from {}.",
            self.object_id,
            emit::code(&self.object_name),
            self.version,
            emit::code(&self.source)
        )
    }
}

/// The generated modules of a [`Generator`](super::Generator) run, to write as files or as one file.
#[derive(Debug, Clone)]
pub struct GeneratedObjects {
    pub(super) modules: Vec<GeneratedModule>,
    pub(super) generated_by: String,
    pub(super) model: TokenStream,
}

impl GeneratedObjects {
    /// The modules, in object id order.
    pub fn modules(&self) -> &[GeneratedModule] {
        &self.modules
    }

    /// `pub static DEFINITIONS: [&ObjectDefinition; N]` over the modules' definitions.
    fn definitions_item(&self, modules_path: &TokenStream) -> TokenStream {
        let model = &self.model;
        let count = literal::index(self.modules.len());
        let modules = self.modules.iter().map(|m| {
            let module = Ident::new(&m.module_name, Span::call_site());
            quote!(&#modules_path #module::DEFINITION)
        });
        quote! {
            /// The definitions of every generated object, in object id order.
            pub static DEFINITIONS: [&#model::ObjectDefinition; #count] = [#(#modules),*];
        }
    }

    fn sources(&self) -> String {
        let mut sources: Vec<&str> = self.modules.iter().map(|m| m.source.as_str()).collect();
        sources.dedup();
        sources.join(", ")
    }

    /// A module tree: `mod.rs` (declaring each object module, re-exporting each struct, and
    /// `DEFINITIONS`) and one `<module>.rs` per object, as (file name, contents) pairs.
    pub fn files(&self) -> Result<Vec<(String, String)>, CodegenError> {
        let declarations = self.modules.iter().map(|m| {
            let doc = m.doc();
            let module = Ident::new(&m.module_name, Span::call_site());
            let type_name = Ident::new(&m.type_name, Span::call_site());
            (
                quote! {
                    #[doc = #doc]
                    pub mod #module;
                },
                quote!(pub use self::#module::#type_name;),
            )
        });
        let (mods, uses): (Vec<_>, Vec<_>) = declarations.unzip();
        let definitions = self.definitions_item(&quote!(self::));
        let header = format!(
            "// @generated by {} from {}; do not edit\n",
            self.generated_by,
            self.sources()
        );
        let mod_rs = header + &format_items(quote!(#(#mods)* #(#uses)* #definitions), "mod.rs")?;
        let mut files = alloc::vec![("mod.rs".to_string(), mod_rs)];
        files.extend(
            self.modules
                .iter()
                .map(|m| (format!("{}.rs", m.module_name), m.code.clone())),
        );
        Ok(files)
    }

    /// Everything in one file, each object in an inline `pub mod`, plus `DEFINITIONS`: what a
    /// build script writes to `OUT_DIR` for `include!`.
    pub fn single_file(&self) -> Result<String, CodegenError> {
        let modules = self.modules.iter().map(|m| {
            let doc = m.doc();
            let module = Ident::new(&m.module_name, Span::call_site());
            let items = &m.items;
            quote! {
                #[doc = #doc]
                pub mod #module {
                    #items
                }
            }
        });
        let definitions = self.definitions_item(&TokenStream::new());
        let header = format!(
            "// @generated by {} from {}; do not edit\n",
            self.generated_by,
            self.sources()
        );
        Ok(header + &format_items(quote!(#(#modules)* #definitions), "the single file")?)
    }
}
