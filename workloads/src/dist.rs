//! Value-size and TTL distributions: `fixed:N`, `uniform:MIN:MAX`, `normal:MEAN:SD`,
//! `lognormal:MU:SIGMA`, `pareto:SCALE:SHAPE`, `exp:MEAN` (continuous ones from
//! `rand_distr`, rounded to the nearest integer and clamped to the caller's range).

use rand::Rng;
use rand_distr::Distribution;

/// A distribution of non-negative integers (bytes or milliseconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dist {
    /// Always `N`.
    Fixed(u64),
    /// Uniform integers in `MIN..=MAX`.
    Uniform {
        /// Smallest value.
        min: u64,
        /// Largest value.
        max: u64,
    },
    /// Normal with mean and standard deviation (then rounded and clamped).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// Log-normal: `exp(N(mu, sigma))` (median `e^mu`).
    LogNormal {
        /// Mean of the logarithm.
        mu: f64,
        /// Standard deviation of the logarithm.
        sigma: f64,
    },
    /// Pareto (type I) with minimum `scale` and tail index `shape`.
    Pareto {
        /// The minimum value.
        scale: f64,
        /// The tail index α.
        shape: f64,
    },
    /// Exponential with the given mean.
    Exp {
        /// The mean.
        mean: f64,
    },
}

/// The accepted forms, for error messages.
pub const DIST_FORMS: &str =
    "fixed:N, uniform:MIN:MAX, normal:MEAN:SD, lognormal:MU:SIGMA, pareto:SCALE:SHAPE, exp:MEAN";

/// Why a distribution string was refused.
pub(crate) type DistError = &'static str;

impl Dist {
    /// Parses `kind:p1[:p2]`.
    pub fn parse(s: &str) -> Result<Dist, DistError> {
        let mut it = s.split(':');
        let kind = it.next().unwrap_or("");
        let params: Vec<&str> = it.collect();
        let f = |i: usize| -> Result<f64, DistError> {
            let v: f64 = params
                .get(i)
                .ok_or("missing parameter")?
                .trim()
                .parse()
                .map_err(|_| "parameter is not a number")?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err("parameter is not finite")
            }
        };
        let u = |i: usize| -> Result<u64, DistError> {
            params
                .get(i)
                .ok_or("missing parameter")?
                .trim()
                .parse()
                .map_err(|_| "parameter is not a non-negative integer")
        };
        let want = |n: usize| -> Result<(), DistError> {
            if params.len() == n {
                Ok(())
            } else {
                Err("wrong number of parameters")
            }
        };
        let d = match kind {
            "fixed" => {
                want(1)?;
                Dist::Fixed(u(0)?)
            }
            "uniform" => {
                want(2)?;
                let (min, max) = (u(0)?, u(1)?);
                if min > max {
                    return Err("MIN is above MAX");
                }
                Dist::Uniform { min, max }
            }
            "normal" => {
                want(2)?;
                let (mean, sd) = (f(0)?, f(1)?);
                if sd < 0.0 {
                    return Err("SD is negative");
                }
                Dist::Normal { mean, sd }
            }
            "lognormal" => {
                want(2)?;
                let (mu, sigma) = (f(0)?, f(1)?);
                if sigma < 0.0 {
                    return Err("SIGMA is negative");
                }
                Dist::LogNormal { mu, sigma }
            }
            "pareto" => {
                want(2)?;
                let (scale, shape) = (f(0)?, f(1)?);
                if scale <= 0.0 || shape <= 0.0 {
                    return Err("SCALE and SHAPE must be positive");
                }
                Dist::Pareto { scale, shape }
            }
            "exp" => {
                want(1)?;
                let mean = f(0)?;
                if mean <= 0.0 {
                    return Err("MEAN must be positive");
                }
                Dist::Exp { mean }
            }
            _ => return Err("unknown distribution"),
        };
        Ok(d)
    }

    /// True when every draw is the same value.
    pub fn is_constant(&self) -> bool {
        matches!(self, Dist::Fixed(_)) || matches!(self, Dist::Uniform { min, max } if min == max)
    }

    /// A sampler for this distribution whose draws are clamped to `lo..=hi`.
    pub fn sampler(&self, lo: u64, hi: u64) -> DistSampler {
        let kind = match *self {
            Dist::Fixed(v) => Kind::Fixed(v.clamp(lo, hi)),
            Dist::Uniform { min, max } => Kind::Uniform(min, max),
            // The parameters were validated by `parse`; the fallbacks are unreachable for
            // parsed specs and keep construction total for hand-built values.
            Dist::Normal { mean, sd } => rand_distr::Normal::new(mean, sd)
                .map_or(Kind::Fixed(mean.max(0.0) as u64), Kind::Normal),
            Dist::LogNormal { mu, sigma } => rand_distr::LogNormal::new(mu, sigma)
                .map_or(Kind::Fixed(mu.exp() as u64), Kind::LogNormal),
            Dist::Pareto { scale, shape } => rand_distr::Pareto::new(scale, shape)
                .map_or(Kind::Fixed(scale as u64), Kind::Pareto),
            Dist::Exp { mean } => {
                rand_distr::Exp::new(1.0 / mean).map_or(Kind::Fixed(mean as u64), Kind::Exp)
            }
        };
        DistSampler { kind, lo, hi }
    }
}

impl std::fmt::Display for Dist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dist::Fixed(v) => write!(f, "fixed:{v}"),
            Dist::Uniform { min, max } => write!(f, "uniform:{min}:{max}"),
            Dist::Normal { mean, sd } => write!(f, "normal:{mean}:{sd}"),
            Dist::LogNormal { mu, sigma } => write!(f, "lognormal:{mu}:{sigma}"),
            Dist::Pareto { scale, shape } => write!(f, "pareto:{scale}:{shape}"),
            Dist::Exp { mean } => write!(f, "exp:{mean}"),
        }
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Fixed(u64),
    Uniform(u64, u64),
    Normal(rand_distr::Normal<f64>),
    LogNormal(rand_distr::LogNormal<f64>),
    Pareto(rand_distr::Pareto<f64>),
    Exp(rand_distr::Exp<f64>),
}

/// Draws from a [`Dist`], clamped to a range.
#[derive(Clone, Debug)]
pub struct DistSampler {
    kind: Kind,
    lo: u64,
    hi: u64,
}

impl DistSampler {
    /// One value in `lo..=hi`.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let x = match &self.kind {
            Kind::Fixed(v) => return *v,
            Kind::Uniform(a, b) => {
                // Lemire's multiply-shift; the bias is below 2^-64 · span, negligible.
                let span = b - a;
                if span == u64::MAX {
                    rng.next_u64()
                } else {
                    a + ((rng.next_u64() as u128 * (span as u128 + 1)) >> 64) as u64
                }
            }
            Kind::Normal(d) => round(d.sample(rng)),
            Kind::LogNormal(d) => round(d.sample(rng)),
            Kind::Pareto(d) => round(d.sample(rng)),
            Kind::Exp(d) => round(d.sample(rng)),
        };
        x.clamp(self.lo, self.hi)
    }
}

fn round(x: f64) -> u64 {
    // `as` saturates: negative → 0, huge → u64::MAX; NaN → 0.
    x.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn parses_and_prints_every_form() {
        for s in [
            "fixed:100",
            "uniform:1:10",
            "normal:1000:100",
            "lognormal:7:1",
            "pareto:100:1.5",
            "exp:60000",
        ] {
            let d = Dist::parse(s).unwrap();
            assert_eq!(d.to_string(), s);
        }
        assert_eq!(Dist::parse("uniform:5:1"), Err("MIN is above MAX"));
        assert_eq!(Dist::parse("zipf:1"), Err("unknown distribution"));
        assert_eq!(Dist::parse("fixed"), Err("wrong number of parameters"));
        assert_eq!(
            Dist::parse("fixed:x"),
            Err("parameter is not a non-negative integer")
        );
        assert_eq!(
            Dist::parse("pareto:0:1"),
            Err("SCALE and SHAPE must be positive")
        );
    }

    #[test]
    fn sample_means_are_right_and_clamped() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let n = 200_000;
        let mean = |d: &str, lo: u64, hi: u64, rng: &mut Xoshiro256PlusPlus| {
            let s = Dist::parse(d).unwrap().sampler(lo, hi);
            (0..n).map(|_| s.sample(rng) as f64).sum::<f64>() / n as f64
        };
        // Uniform 1..=10: mean 5.5.
        assert!((mean("uniform:1:10", 0, u64::MAX, &mut rng) - 5.5).abs() < 0.05);
        // Exponential mean 1000.
        assert!((mean("exp:1000", 0, u64::MAX, &mut rng) - 1000.0).abs() < 15.0);
        // Log-normal(7, 1): mean e^(7.5) = 1808.
        assert!((mean("lognormal:7:1", 0, u64::MAX, &mut rng) - 1808.0).abs() < 30.0);
        // Pareto(100, 3): mean 100·3/2 = 150.
        assert!((mean("pareto:100:3", 0, u64::MAX, &mut rng) - 150.0).abs() < 3.0);
        // Normal(−50, 1) clamped to ≥ 1: always 1.
        assert_eq!(mean("normal:-50:1", 1, 10, &mut rng), 1.0);
    }
}
