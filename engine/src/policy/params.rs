//! Typed policy parameters: each policy declares its `lab-policy-param`s as [`ParamSpec`]s
//! (name, type, default, accepted range, one line of doc); the config layer checks every
//! `lab-policy-param NAME VALUE` line against them ([`super::registry::check_param`]), the
//! engine resolves the chosen policy's values ([`super::PolicyInfo::resolve`]) and the
//! policy's builder reads them typed from [`ParamValues`]. Nothing here reads
//! [`crate::Config`]: the config layer depends on the registry, never the reverse.

use std::fmt;

/// The type of a parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamType {
    /// A finite decimal number within `range`.
    Float(Range),
    /// An integer within `lo..=hi`.
    Int {
        /// Smallest accepted value.
        lo: i64,
        /// Largest accepted value.
        hi: i64,
    },
    /// A flag: `yes`/`no` (also `1`/`0`).
    Bool,
}

/// An interval of floats; each end is open or closed, `hi` may be `f64::INFINITY`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// Lower end.
    pub lo: f64,
    /// Whether `lo` itself is accepted.
    pub lo_closed: bool,
    /// Upper end (`f64::INFINITY`: unbounded).
    pub hi: f64,
    /// Whether `hi` itself is accepted.
    pub hi_closed: bool,
}

impl Range {
    /// `(lo, hi)`.
    pub const fn open(lo: f64, hi: f64) -> Range {
        Range {
            lo,
            lo_closed: false,
            hi,
            hi_closed: false,
        }
    }
    /// `[lo, hi]`.
    pub const fn closed(lo: f64, hi: f64) -> Range {
        Range {
            lo,
            lo_closed: true,
            hi,
            hi_closed: true,
        }
    }
    /// `(lo, hi]`.
    pub const fn open_closed(lo: f64, hi: f64) -> Range {
        Range {
            lo,
            lo_closed: false,
            hi,
            hi_closed: true,
        }
    }
    /// `[lo, ∞)`.
    pub const fn at_least(lo: f64) -> Range {
        Range {
            lo,
            lo_closed: true,
            hi: f64::INFINITY,
            hi_closed: false,
        }
    }

    /// Whether `v` (finite) lies in the interval.
    pub fn contains(&self, v: f64) -> bool {
        let above = if self.lo_closed {
            v >= self.lo
        } else {
            v > self.lo
        };
        let below = if self.hi_closed {
            v <= self.hi
        } else {
            v < self.hi
        };
        v.is_finite() && above && below
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hi == f64::INFINITY {
            let op = if self.lo_closed { ">=" } else { ">" };
            return write!(f, "{op} {}", self.lo);
        }
        let l = if self.lo_closed { '[' } else { '(' };
        let r = if self.hi_closed { ']' } else { ')' };
        write!(f, "{l}{}, {}{r}", self.lo, self.hi)
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamType::Float(r) => write!(f, "a number {r}"),
            ParamType::Int { lo, hi } => write!(f, "an integer in {lo}..={hi}"),
            ParamType::Bool => f.write_str("yes or no (1 or 0)"),
        }
    }
}

/// A parameter's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamValue {
    /// Of a [`ParamType::Float`].
    Float(f64),
    /// Of a [`ParamType::Int`].
    Int(i64),
    /// Of a [`ParamType::Bool`].
    Bool(bool),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Bool(v) => f.write_str(if *v { "yes" } else { "no" }),
        }
    }
}

/// One declared parameter of a policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamSpec {
    /// The name after `lab-policy-param`.
    pub name: &'static str,
    /// Type and accepted range.
    pub ty: ParamType,
    /// The value when the parameter is not given.
    pub default: ParamValue,
    /// One line: what it controls (and where the default comes from).
    pub doc: &'static str,
}

impl ParamSpec {
    /// A float parameter accepting `range`.
    pub const fn float(name: &'static str, default: f64, range: Range, doc: &'static str) -> Self {
        ParamSpec {
            name,
            ty: ParamType::Float(range),
            default: ParamValue::Float(default),
            doc,
        }
    }
    /// An integer parameter accepting `lo..=hi`.
    pub const fn int(
        name: &'static str,
        default: i64,
        lo: i64,
        hi: i64,
        doc: &'static str,
    ) -> Self {
        ParamSpec {
            name,
            ty: ParamType::Int { lo, hi },
            default: ParamValue::Int(default),
            doc,
        }
    }
    /// A yes/no parameter.
    pub const fn flag(name: &'static str, default: bool, doc: &'static str) -> Self {
        ParamSpec {
            name,
            ty: ParamType::Bool,
            default: ParamValue::Bool(default),
            doc,
        }
    }

    /// Parses and range-checks `text`; the error says what is accepted.
    pub fn parse(&self, text: &str) -> Result<ParamValue, String> {
        let t = text.trim();
        let v = match self.ty {
            ParamType::Float(r) => t
                .parse::<f64>()
                .ok()
                .filter(|&v| r.contains(v))
                .map(ParamValue::Float),
            ParamType::Int { lo, hi } => t
                .parse::<i64>()
                .ok()
                .filter(|v| (lo..=hi).contains(v))
                .map(ParamValue::Int),
            ParamType::Bool => match t.to_ascii_lowercase().as_str() {
                "yes" | "1" => Some(ParamValue::Bool(true)),
                "no" | "0" => Some(ParamValue::Bool(false)),
                _ => None,
            },
        };
        v.ok_or_else(|| self.ty.to_string())
    }
}

/// A `lab-policy-param` that cannot be used: names the parameter, the value and what is
/// accepted (converted to a [`crate::config::ConfigError`] by the config layer).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid value '{value}' for 'lab-policy-param {name}': expected {expected}")]
pub struct ParamError {
    /// The parameter name given.
    pub name: String,
    /// The value given.
    pub value: String,
    /// What is accepted (a range, or the parameters the policy takes).
    pub expected: String,
}

/// The resolved values of a policy's parameters, in declaration order (defaults filled in).
#[derive(Clone, Debug, PartialEq)]
pub struct ParamValues {
    values: Vec<(&'static str, ParamValue)>,
}

impl ParamValues {
    /// Every declared parameter at its default.
    pub fn defaults(specs: &[ParamSpec]) -> ParamValues {
        ParamValues {
            values: specs.iter().map(|s| (s.name, s.default)).collect(),
        }
    }

    /// Resolves `given` (`NAME VALUE` pairs) against `specs`; a name not in `specs` or a
    /// value out of range is an error naming it. `policy` is named in the errors.
    pub fn resolve(
        policy: &str,
        specs: &[ParamSpec],
        given: &[(String, String)],
    ) -> Result<ParamValues, ParamError> {
        let mut out = ParamValues::defaults(specs);
        for (name, value) in given {
            let Some(i) = specs.iter().position(|s| s.name == name) else {
                let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
                return Err(ParamError {
                    name: name.clone(),
                    value: value.clone(),
                    expected: if names.is_empty() {
                        format!("no parameters: policy '{policy}' takes none")
                    } else {
                        format!("one of: {} (policy '{policy}')", names.join(", "))
                    },
                });
            };
            out.values[i].1 = specs[i].parse(value).map_err(|expected| ParamError {
                name: name.clone(),
                value: value.clone(),
                expected: format!("{expected} (policy '{policy}')"),
            })?;
        }
        Ok(out)
    }

    fn get(&self, name: &str) -> ParamValue {
        match self.values.iter().find(|(n, _)| *n == name) {
            Some((_, v)) => *v,
            // A builder asking for a parameter its policy does not declare is a bug in the
            // policy file, caught by the registry's every-policy-builds test.
            None => panic!("policy parameter '{name}' is not declared"),
        }
    }

    /// The float parameter `name` (declared with [`ParamSpec::float`]).
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            ParamValue::Float(v) => v,
            other => panic!("policy parameter '{name}' is {other:?}, not a float"),
        }
    }

    /// The integer parameter `name` (declared with [`ParamSpec::int`]).
    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            ParamValue::Int(v) => v,
            other => panic!("policy parameter '{name}' is {other:?}, not an integer"),
        }
    }

    /// The flag `name` (declared with [`ParamSpec::flag`]).
    pub fn flag(&self, name: &str) -> bool {
        match self.get(name) {
            ParamValue::Bool(v) => v,
            other => panic!("policy parameter '{name}' is {other:?}, not a flag"),
        }
    }

    /// `(name, value)` in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, ParamValue)> + '_ {
        self.values.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec::float("ratio", 0.5, Range::open(0.0, 1.0), "a share"),
        ParamSpec::int("bits", 1, 1, 8, "counter bits"),
        ParamSpec::flag("door", false, "a doorkeeper"),
        ParamSpec::float("mult", 2.0, Range::at_least(0.0), "a multiple"),
    ];

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_given_values_resolve_typed() {
        let v = ParamValues::resolve("p", SPECS, &[]).unwrap();
        assert_eq!(
            (v.float("ratio"), v.int("bits"), v.flag("door")),
            (0.5, 1, false)
        );
        let v = ParamValues::resolve(
            "p",
            SPECS,
            &given(&[
                ("ratio", "0.25"),
                ("bits", "8"),
                ("door", "yes"),
                ("mult", "0"),
            ]),
        )
        .unwrap();
        assert_eq!(
            (
                v.float("ratio"),
                v.int("bits"),
                v.flag("door"),
                v.float("mult")
            ),
            (0.25, 8, true, 0.0)
        );
    }

    #[test]
    fn bad_values_name_the_parameter_the_value_and_the_range() {
        for (name, value, expected) in [
            ("ratio", "1", "a number (0, 1)"),
            ("ratio", "0", "a number (0, 1)"),
            ("ratio", "NaN", "a number (0, 1)"),
            ("bits", "9", "an integer in 1..=8"),
            ("bits", "1.5", "an integer in 1..=8"),
            ("door", "maybe", "yes or no"),
            ("mult", "inf", "a number >= 0"),
            ("mult", "-1", "a number >= 0"),
        ] {
            let e = ParamValues::resolve("p", SPECS, &given(&[(name, value)])).unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains(&format!("'{value}'"))
                    && text.contains(name)
                    && text.contains(expected)
                    && text.contains("policy 'p'"),
                "{text}"
            );
        }
        let e = ParamValues::resolve("p", SPECS, &given(&[("nope", "1")])).unwrap_err();
        assert!(e.expected.contains("ratio, bits, door, mult"), "{e}");
        let e = ParamValues::resolve("q", &[], &given(&[("nope", "1")])).unwrap_err();
        assert!(e.expected.contains("takes none"), "{e}");
    }

    #[test]
    #[should_panic(expected = "not declared")]
    fn reading_an_undeclared_parameter_is_a_bug() {
        ParamValues::defaults(SPECS).float("other");
    }
}
