//! The items of one generated object module: constants, `ResourceId`, `RESOURCES`, `DEFINITION`,
//! the typed struct and its conversions.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::literal::{self, int};
use super::names;
use super::Paths;
use crate::definition::{ObjectDefinition, ResourceDefinition};
use crate::value::DataType;

/// Names that generated code uses unqualified next to the struct (imports, prelude, its own
/// items); a struct may not take them.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "ResourceId",
    "Cow",
    "BTreeMap",
    "String",
    "CompactString",
    "ResourceInstances",
    "Vec",
    "DataType",
    "Multiplicity",
    "Node",
    "ObjectDefinition",
    "ObjectInstance",
    "ObjectLink",
    "Operations",
    "Range",
    "ResourceDefinition",
    "Version",
    "ObjectError",
    "TypedObject",
    "FieldError",
    "TypedInstance",
    "ValueRef",
    "ValueSink",
    "InstanceReader",
    "InstanceWriter",
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "Clone",
    "Copy",
    "Debug",
    "Default",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Hash",
];

/// The Rust names chosen for one object and its resources.
#[derive(Debug, Clone)]
pub(crate) struct ObjectNames {
    /// The struct, e.g. `Device`.
    pub type_name: String,
    /// The module, e.g. `device`.
    pub module: String,
    /// One `ResourceId` variant per resource, in definition order.
    pub variants: Vec<String>,
    /// One field name per resource, in definition order (executables have one but do not use it).
    pub fields: Vec<String>,
}

/// The struct name an object gets by default: its CamelCase name without a leading `LwM2M`
/// (`LWM2M Security` → `Security`), made to not clash with names the module uses.
pub(crate) fn default_type_name(definition: &ObjectDefinition) -> String {
    let mut words = names::words(&definition.name);
    if words.len() > 1
        && words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("lwm2m"))
    {
        words.remove(0);
    }
    let name = match names::camel(&words) {
        Some(n) if n.starts_with(|c: char| c.is_ascii_digit()) => format!("Object{n}"),
        Some(n) => n,
        None => format!("Object{}", definition.id),
    };
    if RESERVED_TYPE_NAMES.contains(&name.as_str()) || name == "Self" {
        format!("{name}Object")
    } else {
        name
    }
}

/// Whether a struct may not take this name.
pub(crate) fn is_reserved_type_name(name: &str) -> bool {
    RESERVED_TYPE_NAMES.contains(&name)
}

/// The module name for a struct name (`AccessControl` → `access_control`).
pub(crate) fn module_name(type_name: &str, object_id: u16) -> String {
    names::value_ident(type_name, "object", object_id)
}

/// Chooses every name of an object; clashes between resources get the resource id appended.
pub(crate) fn object_names(definition: &ObjectDefinition, type_name: String) -> ObjectNames {
    let mut variants_taken = Vec::new();
    let mut fields_taken = Vec::new();
    let mut variants = Vec::new();
    let mut fields = Vec::new();
    for resource in definition.resources.iter() {
        let id = format!("{}", resource.id);
        let variant = names::type_ident(&resource.name, "Resource", resource.id);
        variants.push(names::unique(&mut variants_taken, variant, &id));
        let field = names::value_ident(&resource.name, "resource", resource.id);
        fields.push(names::unique(&mut fields_taken, field, &format!("_{id}")));
    }
    ObjectNames {
        module: module_name(&type_name, definition.id),
        type_name,
        variants,
        fields,
    }
}

pub(crate) fn ident(name: &str) -> Ident {
    // Every name reaching here comes from `names` or was checked with `names::is_identifier`.
    Ident::new(name, Span::call_site())
}

/// Markdown inline code for text from the XML: one line, no backticks, so it can neither break
/// the doc comment nor be read as Markdown or HTML.
pub(crate) fn code(text: &str) -> String {
    let clean: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('`', "'");
    format!("`{clean}`")
}

fn rust_type(data_type: DataType) -> TokenStream {
    match data_type {
        DataType::String => quote!(CompactString),
        DataType::Integer | DataType::Time => quote!(i64),
        DataType::Float => quote!(f64),
        DataType::Boolean => quote!(bool),
        DataType::Opaque => quote!(Vec<u8>),
        DataType::Objlnk => quote!(ObjectLink),
    }
}

fn field_type(resource: &ResourceDefinition, data_type: DataType) -> TokenStream {
    let t = rust_type(data_type);
    let t = if resource.is_multiple() {
        quote!(ResourceInstances<#t>)
    } else {
        t
    };
    if resource.mandatory {
        t
    } else {
        quote!(Option<#t>)
    }
}

fn mandatory_word(mandatory: bool) -> &'static str {
    if mandatory {
        "mandatory"
    } else {
        "optional"
    }
}

/// The facts of a resource, for its doc comment (no description prose).
fn resource_doc(resource: &ResourceDefinition) -> String {
    let ops = if resource.operations.is_none() {
        "no operations".into()
    } else {
        format!("operations {}", resource.operations.as_str())
    };
    let mut doc = format!(
        "{} (resource {}): {}, {ops}, {}, {}.",
        code(&resource.name),
        resource.id,
        resource.data_type.map_or("executable", DataType::name),
        if resource.is_multiple() {
            "multiple instances"
        } else {
            "single instance"
        },
        mandatory_word(resource.mandatory),
    );
    if let Some(range) = &resource.range {
        let _ = write!(doc, " Range {}.", code(&format!("{range}")));
    }
    if let Some(units) = &resource.units {
        let _ = write!(doc, " Units {}.", code(units));
    }
    doc
}

/// The `use` items: only what the module refers to, so no import is unused.
fn imports(paths: &Paths, definition: &ObjectDefinition) -> TokenStream {
    let (model, objects, alloc) = (&paths.model, &paths.objects, &paths.alloc);
    let has = |f: &dyn Fn(&ResourceDefinition) -> bool| definition.resources.iter().any(f);
    let fields = |t: DataType| has(&|r: &ResourceDefinition| r.data_type == Some(t));
    let mut alloc_uses = vec_of([quote!(#alloc::borrow::Cow)]);
    if fields(DataType::Opaque) {
        alloc_uses.push(quote!(#alloc::vec::Vec));
    }
    let mut model_uses = Vec::new();
    if fields(DataType::String) {
        model_uses.push(quote!(CompactString));
    }
    model_uses.extend([quote!(DataType), quote!(Multiplicity), quote!(Node)]);
    model_uses.extend([quote!(ObjectDefinition), quote!(ObjectInstance)]);
    if fields(DataType::Objlnk) {
        model_uses.push(quote!(ObjectLink));
    }
    model_uses.push(quote!(Operations));
    if has(&|r: &ResourceDefinition| r.range.is_some()) {
        model_uses.push(quote!(Range));
    }
    model_uses.push(quote!(ResourceDefinition));
    if has(&|r: &ResourceDefinition| r.data_type.is_some() && r.is_multiple()) {
        model_uses.push(quote!(ResourceInstances));
    }
    model_uses.push(quote!(Version));
    quote! {
        #(use #alloc_uses;)*
        use #model::{#(#model_uses),*};
        use #model::content::{self, FieldError, TypedInstance, ValueRef, ValueSink};
        use #objects::support::{InstanceReader, InstanceWriter};
        use #objects::{ObjectError, TypedObject};
    }
}

/// Every item of the module of one object.
pub(crate) fn object_items(
    paths: &Paths,
    definition: &ObjectDefinition,
    names: &ObjectNames,
    source: &str,
) -> TokenStream {
    let imports = imports(paths, definition);
    let object_id = int(definition.id);
    let version = literal::version(definition.version);
    let type_ident = ident(&names.type_name);
    let title = format!(
        "object {} {} (version {})",
        definition.id,
        code(&definition.name),
        definition.version
    );

    let resource_count = definition.resources.len();
    let variants: Vec<Ident> = names.variants.iter().map(|v| ident(v)).collect();
    let variant_docs = definition.resources.iter().map(|r| doc(&resource_doc(r)));
    let ids: Vec<TokenStream> = definition.resources.iter().map(|r| int(r.id)).collect();
    let indexes = (0..resource_count).map(literal::index);
    let resource_literals = definition
        .resources
        .iter()
        .map(literal::resource_definition);

    let object_doc = doc(&format!("The id of {title}."));
    let version_doc = doc(&format!("The version of {title}."));
    let enum_doc = doc(&format!("The resources of {title}, by id."));
    let resources_doc = doc(&format!(
        "The resource definitions of {title}, in id order."
    ));
    let definition_doc = doc(&format!(
        "The definition of {title}, as in {} but without the description texts.",
        code(source)
    ));

    let name = literal::cow_str(&definition.name);
    let urn = literal::cow_str(&definition.urn);
    let empty = literal::cow_str("");
    let lwm2m_version = literal::version(definition.lwm2m_version);
    let multiplicity = literal::multiplicity(definition.multiplicity);
    let mandatory = definition.mandatory;
    let count = literal::index(resource_count);

    let typed = typed_struct(definition, names, &title);

    // `enum_variant_names` (and `struct_field_names` on the struct) are purely stylistic lints
    // that fire when every name of an object shares a word; the names come from the XML, so
    // generated code opts out of them item by item (item attributes survive `include!`, unlike
    // a module-level `#![allow]`).
    quote! {
        #imports

        #[doc = #object_doc]
        pub const OBJECT_ID: u16 = #object_id;

        #[doc = #version_doc]
        pub const VERSION: Version = #version;

        #[doc = #enum_doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u16)]
        #[allow(clippy::enum_variant_names)]
        pub enum ResourceId {
            #(
                #[doc = #variant_docs]
                #variants = #ids,
            )*
        }

        impl ResourceId {
            /// Every resource, in id order.
            pub const ALL: [ResourceId; #count] = [#(ResourceId::#variants),*];

            /// The resource with the given id, if the object defines it.
            #[must_use]
            pub const fn from_u16(id: u16) -> Option<ResourceId> {
                match id {
                    #(#ids => Some(ResourceId::#variants),)*
                    _ => None,
                }
            }

            /// The resource id.
            #[must_use]
            pub const fn id(self) -> u16 {
                self as u16
            }

            /// The resource's definition.
            #[must_use]
            pub fn definition(self) -> &'static ResourceDefinition {
                match self {
                    #(ResourceId::#variants => &RESOURCES[#indexes],)*
                }
            }
        }

        #[doc = #resources_doc]
        pub static RESOURCES: [ResourceDefinition; #count] = [#(#resource_literals),*];

        #[doc = #definition_doc]
        pub static DEFINITION: ObjectDefinition = ObjectDefinition {
            id: #object_id,
            name: #name,
            description: #empty,
            urn: #urn,
            version: #version,
            lwm2m_version: #lwm2m_version,
            multiplicity: #multiplicity,
            mandatory: #mandatory,
            resources: Cow::Borrowed(&RESOURCES),
        };

        #typed

        impl TypedObject for #type_ident {
            const OBJECT_ID: u16 = OBJECT_ID;
            const DEFINITION: &'static ObjectDefinition = &DEFINITION;

            fn to_instance(&self, instance_id: u16) -> ObjectInstance {
                #type_ident::to_instance(self, instance_id)
            }

            fn from_instance(instance: &ObjectInstance) -> Result<Self, ObjectError> {
                #type_ident::from_instance(instance)
            }
        }
    }
}

/// A doc attribute's text: `///` comments keep the space after the slashes.
fn doc(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(" {text}")
    }
}

/// For one field: its declaration, its initialiser in `from_instance` and its call in
/// `to_instance`.
fn field_code(
    resource: &ResourceDefinition,
    field: &str,
    data_type: DataType,
) -> (TokenStream, TokenStream, TokenStream) {
    let id = int(resource.id);
    let field = ident(field);
    let field_doc = doc(&resource_doc(resource));
    let ty = field_type(resource, data_type);
    let dt = literal::data_type(data_type);
    let (read, write) = match (resource.is_multiple(), resource.mandatory) {
        (false, true) => (quote!(mandatory), quote!(single(#id, #dt, &self.#field))),
        (false, false) => (
            quote!(optional),
            quote!(optional(#id, #dt, self.#field.as_ref())),
        ),
        (true, true) => (
            quote!(mandatory_multiple),
            quote!(multiple(#id, #dt, &self.#field)),
        ),
        (true, false) => (
            quote!(optional_multiple),
            quote!(optional_multiple(#id, #dt, self.#field.as_ref())),
        ),
    };
    (
        quote! {
            #[doc = #field_doc]
            pub #field: #ty,
        },
        quote!(#field: reader.#read(#id, #dt)?,),
        write,
    )
}

/// The struct and its inherent conversions.
fn typed_struct(definition: &ObjectDefinition, names: &ObjectNames, title: &str) -> TokenStream {
    let type_ident = ident(&names.type_name);

    let mut field_defs = Vec::new();
    let mut reads = Vec::new();
    let mut writes = Vec::new();
    let mut executables = Vec::new();
    let mut executable_docs = Vec::new();
    let mut all_default = true;
    let mut bools = 0;
    for (resource, field) in definition.resources.iter().zip(&names.fields) {
        let id = int(resource.id);
        let Some(data_type) = resource.data_type else {
            executables.push(id);
            executable_docs.push(format!(
                "{} ({}, {})",
                code(&resource.name),
                resource.id,
                mandatory_word(resource.mandatory)
            ));
            continue;
        };
        if resource.mandatory && !resource.is_multiple() && data_type == DataType::Objlnk {
            all_default = false;
        }
        if data_type == DataType::Boolean && !resource.is_multiple() {
            bools += 1;
        }
        let (field_def, read, write) = field_code(resource, field, data_type);
        field_defs.push(field_def);
        reads.push(read);
        writes.push(write);
    }

    let mut struct_doc = vec_of([
        format!("An instance of {title}: {}.", object_shape(definition)),
        String::new(),
        "One field per resource that holds a value: an `Option` when the resource is optional, \
         a `ResourceInstances` (resource instance id → value, in id order) when it has multiple \
         instances; strings are `CompactString`s, stored inline up to 24 bytes."
            .into(),
        String::new(),
    ]);
    if executable_docs.is_empty() {
        struct_doc.push("The object has no executable resources.".into());
    } else {
        struct_doc.push(format!(
            "Executable resources have no field (see [`ResourceId`]): {}.",
            executable_docs.join(", ")
        ));
    }
    let struct_doc = struct_doc.iter().map(|line| doc(line));
    let derive_default = all_default.then(|| quote!(Default,));
    let excessive_bools = (bools > 3).then(|| quote!(#[allow(clippy::struct_excessive_bools)]));

    let check_executables =
        (!executables.is_empty()).then(|| quote!(reader.executables(&[#(#executables),*])?;));
    let reader = if reads.is_empty() && executables.is_empty() {
        quote!(let _ = instance;)
    } else {
        quote!(let reader = InstanceReader::new(&DEFINITION, instance);)
    };

    let typed_instance = super::typed_instance::typed_instance(definition, names);

    quote! {
        #(#[doc = #struct_doc])*
        #[derive(Debug, Clone, PartialEq, #derive_default)]
        #[allow(clippy::struct_field_names)]
        #excessive_bools
        pub struct #type_ident {
            #(#field_defs)*
        }

        impl #type_ident {
            /// The object instance with the given id, holding every field that has a value.
            #[must_use]
            pub fn to_instance(&self, instance_id: u16) -> ObjectInstance {
                InstanceWriter::new(instance_id)
                    #(.#writes)*
                    .finish()
            }

            /// Reads an object instance.
            ///
            /// Every resource the definition knows is checked: mandatory resources must be
            /// present, values must have (or convert losslessly to) the resource's type, single
            /// and multiple resources must not be swapped, executable resources must hold no
            /// value. Resources the definition does not know are ignored, so an instance from a
            /// newer minor version of the object still reads.
            ///
            /// # Errors
            ///
            /// The first problem found (executables first, then by resource id), naming the
            /// object, instance and resource.
            pub fn from_instance(instance: &ObjectInstance) -> Result<Self, ObjectError> {
                #reader
                #check_executables
                Ok(#type_ident {
                    #(#reads)*
                })
            }

            /// [`to_instance`](Self::to_instance) as a [`Node`].
            #[must_use]
            pub fn to_instance_node(&self, instance_id: u16) -> Node {
                Node::ObjectInstance(self.to_instance(instance_id))
            }

            /// Reads an object instance node; see [`from_instance`](Self::from_instance).
            ///
            /// # Errors
            ///
            /// As [`from_instance`](Self::from_instance); any other kind of node is
            /// `ObjectErrorKind::NotAnInstance`.
            pub fn from_instance_node(node: &Node) -> Result<Self, ObjectError> {
                <Self as TypedObject>::from_instance_node(node)
            }
        }

        #typed_instance
    }
}

fn vec_of<T, const N: usize>(items: [T; N]) -> Vec<T> {
    items.into_iter().collect()
}

fn object_shape(definition: &ObjectDefinition) -> String {
    format!(
        "{}, {} object, URN {}",
        if definition.is_multiple() {
            "multiple instances"
        } else {
            "single instance"
        },
        mandatory_word(definition.mandatory),
        code(&definition.urn)
    )
}
