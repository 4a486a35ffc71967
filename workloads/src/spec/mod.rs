//! Workload SPEC strings: the one syntax `--workload` takes everywhere.
//!
//! ```text
//! SPEC    := KIND[:PARAM[:PARAM]] ( ',' NAME '=' VALUE )*
//! ```
//!
//! `KIND` is a generator from [`crate::registry::GENERATORS`] (`uniform`, `zipf:S`,
//! `scrambled-zipf:S`, `hotspot:DATA_FRACTION:OPS_FRACTION`, `latest:S`, `loop`, or a YCSB
//! preset `ycsb-a` … `ycsb-f`); options are listed in [`crate::registry::OPTIONS`]:
//!
//! * op mix — `read=`, `update=` (alias `write=`), `insert=`, `delete=`, `rmw=`, `scan=`
//!   ratios in 0..=1, or `mix=PRESET` (`read-only`, `write-50`, `write-90`, `ycsb-a` …
//!   `ycsb-f`). Ratios not given are 0, except: `read=R` alone means `update = 1 - R`; if
//!   `read` is not given it takes what the others leave. When `read` and others are given
//!   they must sum to 1. Explicit ratios replace a YCSB preset's mix.
//! * `size=DIST` (bytes; `fixed:N`, `uniform:MIN:MAX`, `normal:MEAN:SD`,
//!   `lognormal:MU:SIGMA`, `pareto:SCALE:SHAPE`, `exp:MEAN`), stable per key unless
//!   `size-per=request`;
//! * `ttl=FRACTION:DIST` — that fraction of keys is volatile, TTL in ms from DIST;
//! * `arrival=constant:RATE` or `arrival=poisson:RATE` (requests per second);
//! * `phase=AT:KIND[:PARAMS]` (repeatable) — popularity changes at request index `AT` or at a
//!   time `AT` written with a unit (`30s`, `1500ms`, `2m`, `1h`; needs `arrival`);
//! * `shift=EVERY:KEYS` — every `EVERY` requests (or time) the popular keys move by `KEYS`
//!   ids (hot-set drift);
//! * `scan-len=DIST` — keys per scan (default `uniform:1:100`, YCSB's `maxscanlength`).
//!
//! Example: `zipf:0.99,read=0.9,size=lognormal:7:1,ttl=0.3:uniform:1000:60000,arrival=poisson:100000`.
//!
//! [`WorkloadSpec`] prints back in a canonical form (presets expanded) that parses to the
//! same spec; it (de)serializes as that string.

mod parse;

use parse::Ctx;

use std::fmt;
use std::str::FromStr;

use crate::dist::{DIST_FORMS, Dist};
use crate::registry::{self, MIX_PRESETS};
use crate::{RequestSource, WorkloadError};

/// Key popularity: which key a request goes to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Popularity {
    /// Every key equally likely.
    Uniform,
    /// Zipf, exponent `s`; key id = 0-based rank.
    Zipf {
        /// Exponent (> 0).
        s: f64,
    },
    /// YCSB's scrambled Zipfian: key = FNV-1a-64(rank) mod keys.
    ScrambledZipf {
        /// Exponent (> 0).
        s: f64,
    },
    /// YCSB hotspot.
    Hotspot {
        /// Fraction of keys that are hot (the lowest ids).
        data_fraction: f64,
        /// Fraction of requests that go to hot keys.
        ops_fraction: f64,
    },
    /// YCSB latest: Zipf over recency.
    Latest {
        /// Exponent (> 0).
        s: f64,
    },
    /// Sequential loop over all keys.
    Loop,
}

/// YCSB's default Zipfian constant (`ZipfianGenerator.ZIPFIAN_CONSTANT` = 0.99).
pub const YCSB_ZIPFIAN_CONSTANT: f64 = 0.99;
/// YCSB `hotspotdatafraction` default.
pub const YCSB_HOTSPOT_DATA_FRACTION: f64 = 0.2;
/// YCSB `hotspotopnfraction` default.
pub const YCSB_HOTSPOT_OPS_FRACTION: f64 = 0.8;
/// YCSB `maxscanlength` default (scan lengths uniform in 1..=100).
pub const YCSB_MAX_SCAN_LENGTH: u64 = 100;
/// Largest value size drawn: Redis's `proto-max-bulk-len` default, 512 MB.
pub const MAX_VALUE_SIZE: u64 = 512 * 1024 * 1024;
/// The value size when the spec gives none (and traces without sizes use): 1, as
/// libCacheSim counts objects without a size.
pub const DEFAULT_VALUE_SIZE: u32 = 1;

impl fmt::Display for Popularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Popularity::Uniform => write!(f, "uniform"),
            Popularity::Zipf { s } => write!(f, "zipf:{s}"),
            Popularity::ScrambledZipf { s } => write!(f, "scrambled-zipf:{s}"),
            Popularity::Hotspot {
                data_fraction,
                ops_fraction,
            } => write!(f, "hotspot:{data_fraction}:{ops_fraction}"),
            Popularity::Latest { s } => write!(f, "latest:{s}"),
            Popularity::Loop => write!(f, "loop"),
        }
    }
}

/// A point in a stream: a request index or a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// The 0-based index of a request.
    Request(u64),
    /// A time in ms from the start.
    TimeMs(u64),
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Point::Request(n) => write!(f, "{n}"),
            Point::TimeMs(t) => write!(f, "{t}ms"),
        }
    }
}

/// A popularity phase: from `at` on, keys follow `popularity`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Phase {
    /// Where it starts.
    pub at: Point,
    /// The popularity from then on.
    pub popularity: Popularity,
}

/// Op ratios (sum 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mix {
    /// GET.
    pub read: f64,
    /// SET of an existing key.
    pub update: f64,
    /// SET of a new key.
    pub insert: f64,
    /// DEL.
    pub delete: f64,
    /// GET then SET of the same key.
    pub rmw: f64,
    /// GETs of consecutive keys.
    pub scan: f64,
}

impl Mix {
    /// 100 % reads.
    pub const READ_ONLY: Mix = Mix::from_array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);

    const fn from_array(a: [f64; 6]) -> Mix {
        Mix {
            read: a[0],
            update: a[1],
            insert: a[2],
            delete: a[3],
            rmw: a[4],
            scan: a[5],
        }
    }

    /// `[read, update, insert, delete, rmw, scan]`.
    pub fn to_array(&self) -> [f64; 6] {
        [
            self.read,
            self.update,
            self.insert,
            self.delete,
            self.rmw,
            self.scan,
        ]
    }
}

const RATIO_NAMES: [&str; 6] = ["read", "update", "insert", "delete", "rmw", "scan"];

/// Volatile keys.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TtlSpec {
    /// Fraction of keys with a TTL (chosen by a hash of the key: stable).
    pub fraction: f64,
    /// TTL in ms.
    pub dist: Dist,
}

/// Arrival process.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arrival {
    /// Evenly spaced at `rate` requests per second.
    Constant {
        /// Requests per second.
        rate: f64,
    },
    /// Poisson process: exponential gaps with mean `1/rate` s.
    Poisson {
        /// Requests per second.
        rate: f64,
    },
}

/// Hot-set drift.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shift {
    /// Period.
    pub every: Point,
    /// Key ids moved per period.
    pub keys: u64,
}

/// A parsed workload spec. Build a stream with [`WorkloadSpec::build`].
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadSpec {
    /// Popularity at the start.
    pub popularity: Popularity,
    /// Later popularity phases, in order.
    pub phases: Vec<Phase>,
    /// Op mix.
    pub mix: Mix,
    /// Value sizes (`None`: [`DEFAULT_VALUE_SIZE`] and `has_sizes = false`).
    pub size: Option<Dist>,
    /// Draw a size for every request instead of one per key.
    pub size_per_request: bool,
    /// Volatile keys.
    pub ttl: Option<TtlSpec>,
    /// Arrival times (`None`: all 0, `has_time = false`).
    pub arrival: Option<Arrival>,
    /// Hot-set drift.
    pub shift: Option<Shift>,
    /// Keys per scan.
    pub scan_len: Dist,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            popularity: Popularity::Uniform,
            phases: Vec::new(),
            mix: Mix::READ_ONLY,
            size: None,
            size_per_request: false,
            ttl: None,
            arrival: None,
            shift: None,
            scan_len: Dist::Uniform {
                min: 1,
                max: YCSB_MAX_SCAN_LENGTH,
            },
        }
    }
}

impl WorkloadSpec {
    /// Parses a SPEC string (see the module docs).
    pub fn parse(spec: &str) -> Result<WorkloadSpec, WorkloadError> {
        let cx = Ctx { spec };
        let mut tokens = spec.split(',').map(str::trim);
        let first = tokens.next().unwrap_or("");
        if first.is_empty() {
            return Err(cx.err(first, "empty spec", registry::generator_names()));
        }
        let (popularity, preset_mix) = cx.kind(first, true)?;
        let mut out = WorkloadSpec {
            popularity,
            ..WorkloadSpec::default()
        };
        let mut ratios: [Option<f64>; 6] = [None; 6];
        let mut mix_preset: Option<[f64; 6]> = None;
        let mut seen: Vec<&str> = Vec::new();
        for token in tokens {
            let Some((name, value)) = token.split_once('=') else {
                return Err(cx.err(token, "expected NAME=VALUE", registry::option_names()));
            };
            let name = name.trim();
            let canonical = if name == "write" { "update" } else { name };
            if canonical != "phase" && seen.contains(&canonical) {
                return Err(cx.err(token, "option given twice", registry::option_names()));
            }
            seen.push(canonical);
            match canonical {
                "read" | "update" | "insert" | "delete" | "rmw" | "scan" => {
                    let i = RATIO_NAMES
                        .iter()
                        .position(|n| *n == canonical)
                        .unwrap_or(0);
                    ratios[i] = Some(cx.f64_in(token, value, 0.0, 1.0, "a ratio")?);
                }
                "mix" => {
                    let m = MIX_PRESETS
                        .iter()
                        .find(|m| m.name == value.trim())
                        .ok_or_else(|| cx.err(token, "unknown mix", registry::mix_names()))?;
                    mix_preset = Some(m.ratios);
                }
                "size" => out.size = Some(cx.dist(token, value)?),
                "size-per" => {
                    out.size_per_request = match value.trim() {
                        "key" => false,
                        "request" => true,
                        _ => return Err(cx.err(token, "unknown value", "key, request")),
                    }
                }
                "scan-len" => {
                    let d = cx.dist(token, value)?;
                    out.scan_len = d;
                }
                "ttl" => {
                    let (frac, dist) = value.split_once(':').ok_or_else(|| {
                        cx.err(
                            token,
                            "expected FRACTION:DIST",
                            format!("FRACTION in 0..=1, DIST one of {DIST_FORMS}"),
                        )
                    })?;
                    out.ttl = Some(TtlSpec {
                        fraction: cx.f64_in(token, frac, 0.0, 1.0, "FRACTION")?,
                        dist: cx.dist(token, dist)?,
                    });
                }
                "arrival" => {
                    let accepted =
                        format!("constant:RATE or poisson:RATE, RATE {}", crate::RATE_RANGE);
                    let (kind, rate) = value
                        .split_once(':')
                        .ok_or_else(|| cx.err(token, "expected KIND:RATE", accepted.clone()))?;
                    let rate = match rate.trim().parse::<f64>() {
                        Ok(r) if crate::rate_in_range(r) => r,
                        _ => return Err(cx.err(token, "rate out of range", accepted.clone())),
                    };
                    out.arrival = Some(match kind.trim() {
                        "constant" => Arrival::Constant { rate },
                        "poisson" => Arrival::Poisson { rate },
                        _ => return Err(cx.err(token, "unknown arrival process", accepted)),
                    });
                }
                "phase" => {
                    let (at, kind) = value.split_once(':').ok_or_else(|| {
                        cx.err(
                            token,
                            "expected AT:KIND",
                            "AT:KIND[:PARAMS], e.g. phase=500000:zipf:1.2",
                        )
                    })?;
                    let at = cx.point(token, at)?;
                    let (popularity, _) = cx.kind(kind, false)?;
                    out.phases.push(Phase { at, popularity });
                }
                "shift" => {
                    let accepted = "EVERY:KEYS, e.g. shift=100000:500 or shift=10s:500";
                    let (every, keys) = value
                        .split_once(':')
                        .ok_or_else(|| cx.err(token, "expected EVERY:KEYS", accepted))?;
                    let every = cx.point(token, every)?;
                    if matches!(every, Point::Request(0) | Point::TimeMs(0)) {
                        return Err(cx.err(token, "EVERY must be positive", accepted));
                    }
                    let keys = keys
                        .trim()
                        .parse()
                        .map_err(|_| cx.err(token, "bad KEYS", accepted))?;
                    out.shift = Some(Shift { every, keys });
                }
                _ => return Err(cx.err(token, "unknown option", registry::option_names())),
            }
        }
        // Resolve the mix.
        let explicit = ratios.iter().any(Option::is_some);
        if explicit && mix_preset.is_some() {
            return Err(cx.err(
                "mix",
                "give either mix= or ratios, not both",
                registry::mix_names(),
            ));
        }
        let mix = if explicit {
            let given: f64 = ratios.iter().flatten().sum();
            let mut r = ratios.map(|x| x.unwrap_or(0.0));
            match (ratios[0], ratios[1..].iter().any(Option::is_some)) {
                (Some(read), false) => r[1] = 1.0 - read,
                (None, _) => {
                    if given > 1.0 + 1e-9 {
                        return Err(cx.err(
                            spec,
                            "ratios sum above 1",
                            "ratios summing to at most 1",
                        ));
                    }
                    r[0] = (1.0 - given).max(0.0);
                }
                (Some(_), true) => {
                    if (given - 1.0).abs() > 1e-6 {
                        return Err(cx.err(
                            spec,
                            "ratios with read= must sum to 1",
                            "ratios summing to 1",
                        ));
                    }
                }
            }
            Mix::from_array(r)
        } else {
            Mix::from_array(
                mix_preset
                    .or(preset_mix)
                    .unwrap_or(Mix::READ_ONLY.to_array()),
            )
        };
        out.mix = mix;
        // Cross-checks.
        let time_points = out
            .phases
            .iter()
            .map(|p| p.at)
            .chain(out.shift.map(|s| s.every))
            .any(|p| matches!(p, Point::TimeMs(_)));
        if time_points && out.arrival.is_none() {
            return Err(cx.err(
                spec,
                "a time point needs arrival times",
                "arrival=constant:RATE or arrival=poisson:RATE, or request indexes",
            ));
        }
        for w in out.phases.windows(2) {
            let ordered = match (w[0].at, w[1].at) {
                (Point::Request(a), Point::Request(b)) | (Point::TimeMs(a), Point::TimeMs(b)) => {
                    a < b
                }
                _ => false,
            };
            if !ordered {
                return Err(cx.err(
                    spec,
                    "phases must be in increasing order, all by request index or all by time",
                    "phase=AT:KIND with increasing AT",
                ));
            }
        }
        Ok(out)
    }

    /// Builds the stream: `keys` initial keys (ids `0..keys`), exactly `requests` requests,
    /// everything random drawn from `seed`.
    pub fn build(
        &self,
        keys: u64,
        requests: u64,
        seed: u64,
    ) -> Result<Box<dyn RequestSource>, WorkloadError> {
        Ok(Box::new(self.generator(keys, requests, seed)?))
    }

    /// As [`WorkloadSpec::build`], with the concrete type (no virtual call per batch).
    pub fn generator(
        &self,
        keys: u64,
        requests: u64,
        seed: u64,
    ) -> Result<crate::Synthetic, WorkloadError> {
        crate::Synthetic::new(self, keys, requests, seed)
    }
}

impl FromStr for WorkloadSpec {
    type Err = WorkloadError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WorkloadSpec::parse(s)
    }
}

impl fmt::Display for WorkloadSpec {
    /// The canonical form: presets expanded, defaults omitted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.popularity)?;
        if self.mix != Mix::READ_ONLY {
            for (name, r) in RATIO_NAMES.iter().zip(self.mix.to_array()) {
                if r > 0.0 || *name == "read" {
                    write!(f, ",{name}={r}")?;
                }
            }
        }
        if let Some(d) = &self.size {
            write!(f, ",size={d}")?;
        }
        if self.size_per_request {
            write!(f, ",size-per=request")?;
        }
        if let Some(t) = &self.ttl {
            write!(f, ",ttl={}:{}", t.fraction, t.dist)?;
        }
        match self.arrival {
            Some(Arrival::Constant { rate }) => write!(f, ",arrival=constant:{rate}")?,
            Some(Arrival::Poisson { rate }) => write!(f, ",arrival=poisson:{rate}")?,
            None => {}
        }
        if self.scan_len != WorkloadSpec::default().scan_len {
            write!(f, ",scan-len={}", self.scan_len)?;
        }
        if let Some(s) = &self.shift {
            write!(f, ",shift={}:{}", s.every, s.keys)?;
        }
        for p in &self.phases {
            write!(f, ",phase={}:{}", p.at, p.popularity)?;
        }
        Ok(())
    }
}

impl serde::Serialize for WorkloadSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for WorkloadSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        WorkloadSpec::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> WorkloadSpec {
        WorkloadSpec::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn bad(s: &str) -> (String, String) {
        match WorkloadSpec::parse(s) {
            Err(WorkloadError::Spec {
                token, accepted, ..
            }) => (token, accepted),
            other => panic!("{s}: expected a spec error, got {other:?}"),
        }
    }

    #[test]
    fn parses_kinds_with_defaults() {
        assert_eq!(p("uniform").popularity, Popularity::Uniform);
        assert_eq!(p("zipf:1.2").popularity, Popularity::Zipf { s: 1.2 });
        assert_eq!(p("zipf").popularity, Popularity::Zipf { s: 0.99 });
        assert_eq!(
            p("scrambled-zipf:0.9").popularity,
            Popularity::ScrambledZipf { s: 0.9 }
        );
        assert_eq!(
            p("hotspot").popularity,
            Popularity::Hotspot {
                data_fraction: 0.2,
                ops_fraction: 0.8
            }
        );
        assert_eq!(
            p("hotspot:0.1:0.9").popularity,
            Popularity::Hotspot {
                data_fraction: 0.1,
                ops_fraction: 0.9
            }
        );
        assert_eq!(p("latest").popularity, Popularity::Latest { s: 0.99 });
        assert_eq!(p("loop").popularity, Popularity::Loop);
    }

    #[test]
    fn resolves_mixes() {
        let m = p("zipf:1,read=0.9").mix;
        assert_eq!((m.read, m.update), (0.9, 1.0 - 0.9));
        let m = p("zipf:1,delete=0.01,update=0.2").mix;
        assert!((m.read - 0.79).abs() < 1e-12 && m.delete == 0.01 && m.update == 0.2);
        let m = p("zipf:1,write=0.3").mix;
        assert!((m.read - 0.7).abs() < 1e-12 && m.update == 0.3);
        let m = p("uniform,mix=write-90").mix;
        assert_eq!((m.read, m.update), (0.1, 0.9));
        let d = p("ycsb-d");
        assert_eq!(d.popularity, Popularity::Latest { s: 0.99 });
        assert_eq!((d.mix.read, d.mix.insert), (0.95, 0.05));
        let e = p("ycsb-e");
        assert_eq!((e.mix.scan, e.mix.insert), (0.95, 0.05));
        // Explicit ratios replace a preset's mix.
        assert_eq!(p("ycsb-a,read=1").mix, Mix::READ_ONLY);
        assert_eq!(p("ycsb-c").mix, Mix::READ_ONLY);
    }

    #[test]
    fn canonical_form_round_trips() {
        for s in [
            "zipf:0.99,read=0.9,size=lognormal:7:1,ttl=0.3:uniform:1000:60000,arrival=poisson:100000",
            "ycsb-a",
            "ycsb-e,scan-len=uniform:1:10",
            "hotspot:0.1:0.9,mix=write-50,size=pareto:100:1.5,size-per=request",
            "latest:1.1,insert=0.05,delete=0.01,shift=1000:10,phase=5000:uniform,phase=9000:zipf:1.3",
            "uniform,arrival=constant:1000,phase=30s:zipf:1",
            "loop",
        ] {
            let spec = p(s);
            let printed = spec.to_string();
            assert_eq!(p(&printed), spec, "{s} -> {printed}");
        }
        assert_eq!(
            p("ycsb-b").to_string(),
            "scrambled-zipf:0.99,read=0.95,update=0.05"
        );
    }

    #[test]
    fn bad_tokens_are_named_with_what_is_accepted() {
        let (t, a) = bad("zipfian:0.99");
        assert_eq!(t, "zipfian:0.99");
        assert!(a.contains("scrambled-zipf") && a.contains("hotspot"), "{a}");
        let (t, a) = bad("zipf:0");
        assert_eq!(t, "zipf:0");
        assert!(a.contains("S > 0"));
        let (t, a) = bad("zipf:-1");
        assert_eq!((t.as_str(), a.contains("S > 0")), ("zipf:-1", true));
        let (t, a) = bad("uniform,reed=0.5");
        assert_eq!(t, "reed=0.5");
        assert!(a.contains("read=RATIO") && a.contains("ttl=FRACTION:DIST"));
        let (t, a) = bad("uniform,size=zipf:3");
        assert_eq!(t, "size=zipf:3");
        assert!(a.contains("lognormal:MU:SIGMA"));
        let (t, _) = bad("uniform,read=1.5");
        assert_eq!(t, "read=1.5");
        let (t, a) = bad("uniform,mix=heavy");
        assert_eq!(t, "mix=heavy");
        assert!(a.contains("write-90"));
        bad("uniform,read=0.5,delete=0.1"); // does not sum to 1
        bad("uniform,update=0.7,delete=0.5"); // above 1
        bad("uniform,read=0.5,mix=ycsb-a");
        bad("uniform,phase=10s:zipf"); // a time without arrival
        bad("uniform,phase=10:zipf,phase=5:uniform"); // out of order
        bad("uniform,phase=10:ycsb-a"); // no presets in phases
        bad("uniform,read=0.5,read=0.6");
        bad("uniform,ttl=2:fixed:10");
        bad("uniform,arrival=poisson:0");
        bad("hotspot:0.5");
        bad("");
        bad("zipf:1:2");
    }

    #[test]
    fn serde_uses_the_string_form() {
        let spec = p("zipf:1.2,read=0.5");
        let json = format!("\"{spec}\"");
        // A minimal check through the Deserialize impl via a string deserializer.
        let de: serde::de::value::StrDeserializer<serde::de::value::Error> =
            serde::de::IntoDeserializer::into_deserializer(json.trim_matches('"'));
        let back = <WorkloadSpec as serde::Deserialize>::deserialize(de).unwrap();
        assert_eq!(back, spec);
    }
}
