//! The SPEC parser's pieces: one token at a time (generator, distributions, mixes, phases),
//! each error naming the SPEC, the token, the problem and what is accepted.

use super::*;

pub(super) struct Ctx<'a> {
    pub(super) spec: &'a str,
}

impl Ctx<'_> {
    pub(super) fn err(
        &self,
        token: &str,
        problem: &'static str,
        accepted: impl Into<String>,
    ) -> WorkloadError {
        WorkloadError::Spec {
            spec: self.spec.to_string(),
            token: token.to_string(),
            problem,
            accepted: accepted.into(),
        }
    }

    pub(super) fn f64_in(
        &self,
        token: &str,
        v: &str,
        lo: f64,
        hi: f64,
        what: &str,
    ) -> Result<f64, WorkloadError> {
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x >= lo && x <= hi => Ok(x),
            _ => Err(self.err(
                token,
                "not a number in range",
                format!("{what} in {lo}..={hi}"),
            )),
        }
    }

    pub(super) fn exponent(&self, token: &str, v: &str) -> Result<f64, WorkloadError> {
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
            _ => Err(self.err(
                token,
                "bad Zipf exponent",
                "a finite number S > 0 (e.g. 0.99, 1, 1.2)",
            )),
        }
    }

    pub(super) fn point(&self, token: &str, v: &str) -> Result<Point, WorkloadError> {
        let v = v.trim();
        let accepted = "a request index (500000) or a time with a unit (1500ms, 30s, 2m, 1h)";
        let (num, mult) = if let Some(n) = v.strip_suffix("ms") {
            (n, Some(1))
        } else if let Some(n) = v.strip_suffix('s') {
            (n, Some(1000))
        } else if let Some(n) = v.strip_suffix('m') {
            (n, Some(60_000))
        } else if let Some(n) = v.strip_suffix('h') {
            (n, Some(3_600_000))
        } else {
            (v, None)
        };
        let n: u64 = num
            .parse()
            .map_err(|_| self.err(token, "bad point", accepted))?;
        Ok(match mult {
            None => Point::Request(n),
            Some(m) => Point::TimeMs(
                n.checked_mul(m)
                    .ok_or_else(|| self.err(token, "time too large", accepted))?,
            ),
        })
    }

    pub(super) fn dist(&self, token: &str, v: &str) -> Result<Dist, WorkloadError> {
        Dist::parse(v.trim()).map_err(|p| self.err(token, p, DIST_FORMS))
    }

    /// A popularity kind with parameters; presets are refused here (`allow_presets`
    /// false) inside `phase=`.
    pub(super) fn kind(
        &self,
        token: &str,
        allow_presets: bool,
    ) -> Result<(Popularity, Option<[f64; 6]>), WorkloadError> {
        let mut parts = token.split(':');
        let name = parts.next().unwrap_or("").trim();
        let params: Vec<&str> = parts.collect();
        let nparams = |max: usize| -> Result<(), WorkloadError> {
            if params.len() > max {
                Err(self.err(token, "too many parameters", registry::generator_names()))
            } else {
                Ok(())
            }
        };
        let s_or_default = |i: usize| -> Result<f64, WorkloadError> {
            match params.get(i) {
                Some(v) => self.exponent(token, v),
                None => Ok(YCSB_ZIPFIAN_CONSTANT),
            }
        };
        let ycsb = |mix: &str| MIX_PRESETS.iter().find(|m| m.name == mix).map(|m| m.ratios);
        let scrambled = Popularity::ScrambledZipf {
            s: YCSB_ZIPFIAN_CONSTANT,
        };
        let (pop, mix) = match name {
            "uniform" => {
                nparams(0)?;
                (Popularity::Uniform, None)
            }
            "zipf" => {
                nparams(1)?;
                (
                    Popularity::Zipf {
                        s: s_or_default(0)?,
                    },
                    None,
                )
            }
            "scrambled-zipf" => {
                nparams(1)?;
                (
                    Popularity::ScrambledZipf {
                        s: s_or_default(0)?,
                    },
                    None,
                )
            }
            "latest" => {
                nparams(1)?;
                (
                    Popularity::Latest {
                        s: s_or_default(0)?,
                    },
                    None,
                )
            }
            "hotspot" => {
                nparams(2)?;
                if params.len() == 1 {
                    return Err(self.err(
                        token,
                        "give both fractions or none",
                        "hotspot or hotspot:DATA_FRACTION:OPS_FRACTION",
                    ));
                }
                let (d, o) = if params.len() == 2 {
                    (
                        self.f64_in(token, params[0], 0.0, 1.0, "DATA_FRACTION")?,
                        self.f64_in(token, params[1], 0.0, 1.0, "OPS_FRACTION")?,
                    )
                } else {
                    (YCSB_HOTSPOT_DATA_FRACTION, YCSB_HOTSPOT_OPS_FRACTION)
                };
                (
                    Popularity::Hotspot {
                        data_fraction: d,
                        ops_fraction: o,
                    },
                    None,
                )
            }
            "loop" => {
                nparams(0)?;
                (Popularity::Loop, None)
            }
            "ycsb-a" | "ycsb-b" | "ycsb-c" | "ycsb-e" | "ycsb-f" if allow_presets => {
                nparams(0)?;
                (scrambled, ycsb(name))
            }
            "ycsb-d" if allow_presets => {
                nparams(0)?;
                (
                    Popularity::Latest {
                        s: YCSB_ZIPFIAN_CONSTANT,
                    },
                    ycsb(name),
                )
            }
            _ => {
                return Err(self.err(
                    token,
                    "unknown generator",
                    if allow_presets {
                        registry::generator_names()
                    } else {
                        "uniform, zipf:S, scrambled-zipf:S, hotspot:D:O, latest:S, loop".into()
                    },
                ));
            }
        };
        Ok((pop, mix))
    }
}
