//! Execute arguments: the text payload of an LwM2M Execute (`POST /o/i/r`), LwM2M 1.0 §5.4.5.
//!
//! ```text
//! arglist = arg *( "," arg )
//! arg     = DIGIT [ "=" "'" *CHAR "'" ]
//! CHAR    = %x21 / %x23-26 / %x28-5B / %x5D-7E   ; printable ASCII but space, '"', '\'' and '\\'
//! ```
//!
//! The grammar is small and regular, so it is written with `nom` combinators: [`ExecuteArgs::parse`]
//! validates the whole payload once, then [`ExecuteArgs::iter`] re-reads it lazily and hands out
//! borrowed values; nothing is allocated.
//!
//! ```
//! use lwm2m_codec::execute::ExecuteArgs;
//!
//! let args = ExecuteArgs::parse(b"7,0='https://www.oma.org'")?;
//! let parsed: Vec<_> = args.iter().map(|a| (a.digit(), a.value())).collect();
//! assert_eq!(parsed, [(7, None), (0, Some("https://www.oma.org"))]);
//! assert!(ExecuteArgs::parse(b"1='a b'").is_err()); // space is not allowed in a value
//! # Ok::<(), lwm2m_codec::execute::ExecuteArgsError>(())
//! ```

use bytes::BufMut;
use nom::bytes::complete::{tag, take_while};
use nom::character::complete::satisfy;
use nom::combinator::{cut, map, opt};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

/// One argument of an Execute: a digit `0`-`9` and an optional value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argument<'a> {
    digit: u8,
    value: Option<&'a str>,
}

impl<'a> Argument<'a> {
    /// Builds an argument, checking the digit (0-9) and every character of the value.
    pub fn new(digit: u8, value: Option<&'a str>) -> Result<Self, ArgumentError> {
        if digit > 9 {
            return Err(ArgumentError::Digit(digit));
        }
        if let Some(v) = value {
            if let Some((index, byte)) = v.bytes().enumerate().find(|&(_, b)| !is_value_char(b)) {
                return Err(ArgumentError::ValueCharacter { index, byte });
            }
        }
        Ok(Self { digit, value })
    }

    /// The argument number, 0-9.
    pub fn digit(&self) -> u8 {
        self.digit
    }

    /// The value between the quotes, if the argument has one.
    pub fn value(&self) -> Option<&'a str> {
        self.value
    }
}

/// A validated Execute payload; iterate it with [`ExecuteArgs::iter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecuteArgs<'a> {
    payload: &'a [u8],
}

impl<'a> ExecuteArgs<'a> {
    /// Validates an Execute payload. An empty payload has no arguments.
    pub fn parse(payload: &'a [u8]) -> Result<Self, ExecuteArgsError> {
        let mut rest = payload;
        if !rest.is_empty() {
            loop {
                let offset = payload.len() - rest.len();
                let (after, _) = argument(rest).map_err(|_| error_at(payload, offset))?;
                rest = after;
                match rest.split_first() {
                    None => break,
                    Some((b',', after_comma)) => rest = after_comma,
                    Some((&byte, _)) => {
                        return Err(ExecuteArgsError::Unexpected {
                            offset: payload.len() - rest.len(),
                            byte,
                            expected: "',' between arguments",
                        })
                    }
                }
            }
        }
        Ok(Self { payload })
    }

    /// The arguments in payload order.
    pub fn iter(&self) -> Arguments<'a> {
        Arguments { rest: self.payload }
    }

    /// Whether the payload has no arguments.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }

    /// The first argument with this digit, if any.
    pub fn get(&self, digit: u8) -> Option<Argument<'a>> {
        self.iter().find(|a| a.digit == digit)
    }
}

impl<'a> IntoIterator for &ExecuteArgs<'a> {
    type Item = Argument<'a>;
    type IntoIter = Arguments<'a>;

    fn into_iter(self) -> Arguments<'a> {
        self.iter()
    }
}

/// Iterator over the arguments of a validated [`ExecuteArgs`].
#[derive(Debug, Clone)]
pub struct Arguments<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Arguments<'a> {
    type Item = Argument<'a>;

    fn next(&mut self) -> Option<Argument<'a>> {
        // The payload was validated by `ExecuteArgs::parse`, so a failure here cannot happen; ending
        // the iteration is the safe answer if it ever did.
        let (rest, arg) = argument(self.rest).ok()?;
        self.rest = rest.strip_prefix(b",").unwrap_or(rest);
        Some(arg)
    }
}

impl core::iter::FusedIterator for Arguments<'_> {}

/// Writes Execute arguments as a payload (`0,1='x'`).
///
/// ```
/// use lwm2m_codec::execute::{write_arguments, Argument};
/// let mut out = Vec::new();
/// write_arguments(&mut out, &[Argument::new(2, Some("10.3"))?, Argument::new(5, None)?]);
/// assert_eq!(out, b"2='10.3',5");
/// # Ok::<(), lwm2m_codec::execute::ArgumentError>(())
/// ```
pub fn write_arguments<B: BufMut>(out: &mut B, args: &[Argument<'_>]) {
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_u8(b'0' + arg.digit);
        if let Some(v) = arg.value {
            out.put_slice(b"='");
            out.put_slice(v.as_bytes());
            out.put_u8(b'\'');
        }
    }
}

/// Why an Execute payload was refused (the server answers 4.00 Bad Request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExecuteArgsError {
    /// A byte that does not fit the grammar at this point.
    #[error(
        "execute arguments: unexpected byte 0x{byte:02x} at offset {offset}, expected {expected}"
    )]
    Unexpected {
        /// Byte offset in the payload.
        offset: usize,
        /// The byte found.
        byte: u8,
        /// What the grammar allows here.
        expected: &'static str,
    },
    /// The payload ended inside an argument.
    #[error("execute arguments: payload ends at offset {offset} inside an argument, expected {expected}")]
    UnexpectedEnd {
        /// Byte offset (the payload length).
        offset: usize,
        /// What the grammar needed next.
        expected: &'static str,
    },
}

/// Why an [`Argument`] could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ArgumentError {
    /// The argument number is not a single digit.
    #[error("execute argument number {0} is not a single digit 0-9")]
    Digit(u8),
    /// The value holds a character the grammar forbids.
    #[error("execute argument value: byte 0x{byte:02x} at index {index} is not allowed (printable ASCII except space, '\"', '\\'' and '\\\\')")]
    ValueCharacter {
        /// Index in the value.
        index: usize,
        /// The byte found.
        byte: u8,
    },
}

/// CHAR of the grammar: printable ASCII except space, `"`, `'` and `\`.
fn is_value_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x26 | 0x28..=0x5B | 0x5D..=0x7E)
}

/// `arg = DIGIT [ "=" "'" *CHAR "'" ]`
fn argument(input: &[u8]) -> IResult<&[u8], Argument<'_>> {
    let digit = map(satisfy(|c| c.is_ascii_digit()), |c| c as u8 - b'0');
    // `cut`: once '=' is seen the quoted value is required; without it `opt` would quietly
    // backtrack and the error would be reported at the '=' instead of where the value goes wrong.
    let value = preceded(
        tag(&b"="[..]),
        cut(delimited(
            tag(&b"'"[..]),
            take_while(is_value_char),
            tag(&b"'"[..]),
        )),
    );
    map((digit, opt(value)), |(digit, value)| Argument {
        digit,
        // Every CHAR is ASCII, so the slice is valid UTF-8.
        value: value.map(|v: &[u8]| core::str::from_utf8(v).unwrap_or_default()),
    })
    .parse(input)
}

/// Finds the precise place and reason an argument starting at `start` failed to parse.
fn error_at(payload: &[u8], start: usize) -> ExecuteArgsError {
    let rest = &payload[start..];
    let at = |i: usize, expected: &'static str| match rest.get(i) {
        Some(&byte) => ExecuteArgsError::Unexpected {
            offset: start + i,
            byte,
            expected,
        },
        None => ExecuteArgsError::UnexpectedEnd {
            offset: payload.len(),
            expected,
        },
    };
    if !rest.first().is_some_and(u8::is_ascii_digit) {
        return at(0, "an argument digit 0-9");
    }
    // A digit followed by '=' must continue with a quoted value.
    if rest.get(2) != Some(&b'\'') {
        return at(2, "\"'\" opening the value");
    }
    let closing = 3 + rest[3..].iter().take_while(|&&b| is_value_char(b)).count();
    at(closing, "a value character or \"'\" closing the value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn parsed(payload: &str) -> Vec<(u8, Option<&str>)> {
        ExecuteArgs::parse(payload.as_bytes())
            .unwrap()
            .iter()
            .map(|a| (a.digit(), a.value()))
            .collect()
    }

    #[test]
    fn test_vector_rows_parse() {
        assert!(parsed("").is_empty());
        assert_eq!(parsed("5"), [(5, None)]);
        assert_eq!(parsed("2='10.3'"), [(2, Some("10.3"))]);
        assert_eq!(
            parsed("7,0='https://www.oma.org'"),
            [(7, None), (0, Some("https://www.oma.org"))]
        );
        assert_eq!(
            parsed("0,1,2,3,4"),
            [(0, None), (1, None), (2, None), (3, None), (4, None)]
        );
        assert_eq!(parsed("1=''"), [(1, Some(""))]);
    }

    #[test]
    fn test_vector_rejections_name_the_offset() {
        let err = |p: &str| ExecuteArgs::parse(p.as_bytes()).unwrap_err();
        // "10": the argument is a single digit, so '0' must be a comma.
        assert_eq!(
            err("10"),
            ExecuteArgsError::Unexpected {
                offset: 1,
                byte: b'0',
                expected: "',' between arguments"
            }
        );
        // "1='a b'": space inside the value.
        assert_eq!(
            err("1='a b'"),
            ExecuteArgsError::Unexpected {
                offset: 4,
                byte: b' ',
                expected: "a value character or \"'\" closing the value"
            }
        );
        // "1=abc": the value must be quoted.
        assert_eq!(
            err("1=abc"),
            ExecuteArgsError::Unexpected {
                offset: 2,
                byte: b'a',
                expected: "\"'\" opening the value"
            }
        );
    }

    #[test]
    fn garbage_is_refused_with_a_precise_error() {
        for (payload, offset) in [
            (&b","[..], 0),
            (b"1,", 2),
            (b"a", 0),
            (b"1=", 2),
            (b"1='abc", 6),
            (b"1='\"'", 3),
            (b"1='\\'", 3),
            (b"\xff", 0),
            (b"1=''x", 4),
        ] {
            let e = ExecuteArgs::parse(payload).unwrap_err();
            let found = match e {
                ExecuteArgsError::Unexpected { offset, .. }
                | ExecuteArgsError::UnexpectedEnd { offset, .. } => offset,
            };
            assert_eq!(found, offset, "{payload:?}: {e}");
        }
    }

    #[test]
    fn write_then_parse_is_identity() {
        let args = [
            Argument::new(0, None).unwrap(),
            Argument::new(9, Some("https://x.y/z?a=1&b=[2]")).unwrap(),
        ];
        let mut out = Vec::new();
        write_arguments(&mut out, &args);
        let back: Vec<_> = ExecuteArgs::parse(&out).unwrap().iter().collect();
        assert_eq!(back, args);
    }

    #[test]
    fn bad_arguments_cannot_be_built() {
        assert_eq!(Argument::new(10, None), Err(ArgumentError::Digit(10)));
        assert_eq!(
            Argument::new(1, Some("a'b")),
            Err(ArgumentError::ValueCharacter {
                index: 1,
                byte: b'\''
            })
        );
    }
}
