//! `impl TypedInstance` for a generated struct: the arms that store decoded values in its fields
//! and the calls that hand its fields to an encoder (see `lwm2m_model::content::typed`).

use alloc::vec::Vec;

use proc_macro2::TokenStream;
use quote::quote;

use super::emit::{ident, ObjectNames};
use super::literal::{self, int};
use crate::definition::{ObjectDefinition, ResourceDefinition};
use crate::value::DataType;

/// The value a field starts from in `TypedInstance::empty` (a mandatory single Objlnk, which has
/// no `Default`, starts as the null link).
fn empty_value(resource: &ResourceDefinition, data_type: DataType) -> TokenStream {
    if !resource.mandatory {
        return quote!(None);
    }
    if resource.is_multiple() {
        return quote!(ResourceInstances::new());
    }
    match data_type {
        DataType::String => quote!(CompactString::default()),
        DataType::Integer | DataType::Time => quote!(0),
        DataType::Float => quote!(0.0),
        DataType::Boolean => quote!(false),
        DataType::Opaque => quote!(Vec::new()),
        DataType::Objlnk => quote!(ObjectLink::NULL),
    }
}

/// The per-resource pieces of `impl TypedInstance`.
#[derive(Default)]
struct TypedArms {
    empty_fields: Vec<TokenStream>,
    singles: Vec<TokenStream>,
    multiples: Vec<TokenStream>,
    multiple_instances: Vec<TokenStream>,
    writes: Vec<TokenStream>,
}

fn typed_arms(definition: &ObjectDefinition, names: &ObjectNames) -> TypedArms {
    let mut empty_fields = Vec::new();
    let mut singles = Vec::new();
    let mut multiples = Vec::new();
    // Mandatory multiple fields are always present: their arms share one `Ok(())`.
    let mut mandatory_multiples = Vec::new();
    let mut multiple_instances = Vec::new();
    let mut writes = Vec::new();
    for (resource, field) in definition.resources.iter().zip(&names.fields) {
        let Some(data_type) = resource.data_type else {
            continue;
        };
        let id = int(resource.id);
        let field = ident(field);
        let dt = literal::data_type(data_type);
        let empty = empty_value(resource, data_type);
        empty_fields.push(quote!(#field: #empty,));
        match (resource.is_multiple(), resource.mandatory) {
            (false, true) => {
                singles.push(quote!(#id => content::store_mandatory(&mut self.#field, value),));
                writes.push(quote!(content::write_single(sink, #id, #dt, &self.#field)?;));
            }
            (false, false) => {
                singles.push(quote!(#id => content::store(&mut self.#field, value),));
                writes
                    .push(quote!(content::write_optional(sink, #id, #dt, self.#field.as_ref())?;));
            }
            (true, true) => {
                mandatory_multiples.push(id.clone());
                multiple_instances.push(
                    quote!(#id => content::store_instance(&mut self.#field, instance, value),),
                );
                writes.push(quote!(content::write_multiple(sink, #id, #dt, &self.#field)?;));
            }
            (true, false) => {
                multiples.push(quote! {
                    #id => {
                        content::present(&mut self.#field);
                        Ok(())
                    }
                });
                multiple_instances.push(quote! {
                    #id => content::store_instance(content::present(&mut self.#field), instance, value),
                });
                writes.push(quote! {
                    content::write_optional_multiple(sink, #id, #dt, self.#field.as_ref())?;
                });
            }
        }
    }
    if !mandatory_multiples.is_empty() {
        multiples.push(quote!(#(#mandatory_multiples)|* => Ok(()),));
    }
    TypedArms {
        empty_fields,
        singles,
        multiples,
        multiple_instances,
        writes,
    }
}

/// `impl TypedInstance`: the content codecs' direct path between payloads and the struct.
pub(crate) fn typed_instance(definition: &ObjectDefinition, names: &ObjectNames) -> TokenStream {
    let type_ident = ident(&names.type_name);
    let TypedArms {
        empty_fields,
        singles,
        multiples,
        multiple_instances,
        writes,
    } = typed_arms(definition, names);
    // Objects without single (or multiple) resources get a body that names every parameter
    // once, rather than a one-arm `match` or unused parameters.
    let no_field = quote!(Err(FieldError::NoField));
    let set_value = if singles.is_empty() {
        quote! {
            let _ = (resource, value);
            #no_field
        }
    } else {
        quote! {
            match resource {
                #(#singles)*
                _ => #no_field,
            }
        }
    };
    let (set_multiple, set_instance_value) = if multiples.is_empty() {
        (
            quote! {
                let _ = resource;
                #no_field
            },
            quote! {
                let _ = (resource, instance, value);
                #no_field
            },
        )
    } else {
        (
            quote! {
                match resource {
                    #(#multiples)*
                    _ => #no_field,
                }
            },
            quote! {
                match resource {
                    #(#multiple_instances)*
                    _ => #no_field,
                }
            },
        )
    };
    let write_values = if writes.is_empty() {
        quote!(let _ = sink;)
    } else {
        quote!(#(#writes)*)
    };
    quote! {
        impl TypedInstance for #type_ident {
            fn definition() -> &'static ObjectDefinition {
                &DEFINITION
            }

            fn empty() -> Self {
                #type_ident {
                    #(#empty_fields)*
                }
            }

            #[inline]
            fn set_value(&mut self, resource: u16, value: ValueRef<'_>) -> Result<(), FieldError> {
                #set_value
            }

            #[inline]
            fn set_multiple(&mut self, resource: u16) -> Result<(), FieldError> {
                #set_multiple
            }

            #[inline]
            fn set_instance_value(
                &mut self,
                resource: u16,
                instance: u16,
                value: ValueRef<'_>,
            ) -> Result<(), FieldError> {
                #set_instance_value
            }

            fn write_values<S: ValueSink>(&self, sink: &mut S) -> Result<(), S::Error> {
                #write_values
                Ok(())
            }
        }
    }
}
