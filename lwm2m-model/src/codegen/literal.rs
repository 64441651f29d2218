//! Rust expressions for definitions and numbers: the `static` struct literals of a generated
//! module.

use alloc::format;
use alloc::string::{String, ToString};

use proc_macro2::{Literal, Span, TokenStream};
use quote::quote;

use crate::definition::{Multiplicity, Operations, Range, ResourceDefinition};
use crate::value::DataType;
use crate::version::Version;

/// Groups the digits of a decimal number in threes (`1367491215` → `1_367_491_215`) when it has
/// more than five, as clippy's `unreadable_literal` asks. Fraction digits are grouped from the
/// decimal point on.
pub(crate) fn group_digits(digits: &str) -> String {
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let mut out = String::new();
    if int.len() > 5 {
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push('_');
            }
            out.push(c);
        }
    } else {
        out.push_str(int);
    }
    if let Some(frac) = frac {
        out.push('.');
        if frac.len() > 5 {
            for (i, c) in frac.chars().enumerate() {
                if i > 0 && i % 3 == 0 {
                    out.push('_');
                }
                out.push(c);
            }
        } else {
            out.push_str(frac);
        }
    }
    out
}

/// An integer expression (a negative number is a `-` followed by the literal).
pub(crate) fn int(value: impl Into<i128>) -> TokenStream {
    let value: i128 = value.into();
    let digits = group_digits(&value.unsigned_abs().to_string());
    let literal = unsuffixed(&digits);
    if value < 0 {
        quote!(-#literal)
    } else {
        literal
    }
}

/// A `usize` literal (array lengths and indexes).
pub(crate) fn index(value: usize) -> TokenStream {
    unsuffixed(&group_digits(&value.to_string()))
}

/// An unsuffixed number literal from its (validated) decimal text.
fn unsuffixed(text: &str) -> TokenStream {
    // `syn::LitInt`/`LitFloat` would panic on bad text; parsing a token stream cannot.
    text.parse::<TokenStream>().unwrap_or_default()
}

/// A float expression that reads back to exactly `value` (`value` is finite: ranges reject
/// infinities and NaN).
pub(crate) fn float(value: f64) -> TokenStream {
    // `{:?}` is the shortest text that round-trips, and always has a `.` or an exponent.
    let text = format!("{:?}", value.abs());
    let text = if text.contains('e') {
        text
    } else {
        group_digits(&text)
    };
    let literal = unsuffixed(&text);
    if value.is_sign_negative() {
        quote!(-#literal)
    } else {
        literal
    }
}

/// `Cow::Borrowed("text")`.
pub(crate) fn cow_str(text: &str) -> TokenStream {
    let literal = Literal::string(text);
    quote!(Cow::Borrowed(#literal))
}

/// `Version::new(major, minor)`.
pub(crate) fn version(version: Version) -> TokenStream {
    let (major, minor) = (int(version.major), int(version.minor));
    quote!(Version::new(#major, #minor))
}

/// `Multiplicity::…`.
pub(crate) fn multiplicity(multiplicity: Multiplicity) -> TokenStream {
    match multiplicity {
        Multiplicity::Single => quote!(Multiplicity::Single),
        Multiplicity::Multiple => quote!(Multiplicity::Multiple),
    }
}

/// `DataType::…`.
pub(crate) fn data_type(data_type: DataType) -> TokenStream {
    let variant = proc_macro2::Ident::new(data_type.name(), Span::call_site());
    quote!(DataType::#variant)
}

fn operations(operations: Operations) -> TokenStream {
    match operations {
        Operations::None => quote!(Operations::None),
        Operations::Read => quote!(Operations::Read),
        Operations::Write => quote!(Operations::Write),
        Operations::ReadWrite => quote!(Operations::ReadWrite),
        Operations::Execute => quote!(Operations::Execute),
    }
}

fn range(range: &Range) -> TokenStream {
    match range {
        Range::Integer { min, max } => {
            let (min, max) = (int(*min), int(*max));
            quote!(Range::Integer { min: #min, max: #max })
        }
        Range::Float { min, max } => {
            let (min, max) = (float(*min), float(*max));
            quote!(Range::Float { min: #min, max: #max })
        }
        Range::Length { min, max } => {
            let (min, max) = (int(*min), int(*max));
            quote!(Range::Length { min: #min, max: #max })
        }
        Range::Lengths(list) => {
            let items = list.iter().map(|&n| int(n));
            quote!(Range::Lengths(Cow::Borrowed(&[#(#items),*])))
        }
        Range::MaxBytes(n) => {
            let n = int(*n);
            quote!(Range::MaxBytes(#n))
        }
        Range::Bits(n) => {
            let n = int(*n);
            quote!(Range::Bits(#n))
        }
        Range::Text(text) => {
            let text = cow_str(text);
            quote!(Range::Text(#text))
        }
    }
}

/// `Some(value)` or `None`.
fn some_or_none(value: Option<TokenStream>) -> TokenStream {
    value.map_or_else(|| quote!(None), |v| quote!(Some(#v)))
}

/// The full `ResourceDefinition { .. }` literal, with an empty description.
pub(crate) fn resource_definition(resource: &ResourceDefinition) -> TokenStream {
    let id = int(resource.id);
    let name = cow_str(&resource.name);
    let ops = operations(resource.operations);
    let multiplicity = multiplicity(resource.multiplicity);
    let mandatory = resource.mandatory;
    let data_type = some_or_none(resource.data_type.map(data_type));
    let range = some_or_none(resource.range.as_ref().map(range));
    let units = some_or_none(resource.units.as_deref().map(cow_str));
    let description = cow_str("");
    quote! {
        ResourceDefinition {
            id: #id,
            name: #name,
            operations: #ops,
            multiplicity: #multiplicity,
            mandatory: #mandatory,
            data_type: #data_type,
            range: #range,
            units: #units,
            description: #description,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_grouping() {
        assert_eq!(group_digits("65534"), "65534");
        assert_eq!(group_digits("100000"), "100_000");
        assert_eq!(group_digits("1367491215"), "1_367_491_215");
        assert_eq!(
            group_digits("9223372036854775808"),
            "9_223_372_036_854_775_808"
        );
        assert_eq!(group_digits("43.918998"), "43.918_998");
        assert_eq!(group_digits("0.1234567"), "0.123_456_7");
        assert_eq!(group_digits("123456.5"), "123_456.5");
    }

    #[test]
    fn numbers_read_back() {
        assert_eq!(int(-5i64).to_string(), "- 5");
        assert_eq!(int(i64::MIN).to_string(), "- 9_223_372_036_854_775_808");
        assert_eq!(int(65534u16).to_string(), "65534");
        assert_eq!(float(-90.0).to_string(), "- 90.0");
        assert_eq!(float(1e-7).to_string(), "1e-7");
        assert_eq!(float(0.0).to_string(), "0.0");
        for v in [-90.0, 0.1, 43.918_998, 1e300, -2.5e-8, 123_456.5] {
            let text = float(v).to_string().replace(['_', ' '], "");
            assert_eq!(text.parse::<f64>().unwrap().to_bits(), v.to_bits());
        }
    }
}
