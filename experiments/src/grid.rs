//! The one cell grid: policies × `maxmemory-samples` × cache sizes (× seeds), with
//! fill-on-miss, and the engine options of the replays. `experiment hitrate`, `compare`,
//! `server`, the default suite and `experiment run` (the TOML spec) all take it from the same
//! definitions — [`GridArgs`] and [`EngineArgs`] are clap `Args` (flags) and serde structs
//! (spec fields) at once — and check it in one place ([`GridArgs::resolve`],
//! [`EngineArgs::options`]).

use evictlab_engine::config::Enforcement;
use evictlab_engine::policy::registry::{self, Family, PolicyInfo};
use serde::{Deserialize, Serialize};

use crate::hitrate::{Cell, HitOptions, SizeUnit};

/// A value of the grid that is not accepted: the field (spec field; the flag is `--` and the
/// field with dashes), the value and what is accepted.
#[derive(Debug, thiserror::Error)]
#[error("invalid value '{value}' for --{}: expected {expected}", .field.replace('_', "-"))]
pub struct GridError {
    /// The spec field, e.g. `sizes`.
    pub field: &'static str,
    /// The value.
    pub value: String,
    /// What is accepted.
    pub expected: String,
}

fn invalid(field: &'static str, value: impl ToString, expected: impl Into<String>) -> GridError {
    GridError {
        field,
        value: value.to_string(),
        expected: expected.into(),
    }
}

/// The grid's flags and spec fields.
#[derive(clap::Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridArgs {
    /// Policies: `all` or a comma-separated list (see `experiment list policies`).
    #[arg(
        long,
        value_name = "all|LIST",
        value_delimiter = ',',
        default_value = "all"
    )]
    #[serde(default = "default_policies", with = "one_or_many")]
    pub policies: Vec<String>,
    /// Cache sizes, comma-separated, in --size-unit.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "0.01,0.05,0.1,0.2"
    )]
    #[serde(with = "one_or_many")]
    pub sizes: Vec<f64>,
    /// Unit of --sizes: a fraction of the working set (distinct objects, or the sum of their
    /// first-seen sizes when the workload has sizes), bytes, or keys.
    #[arg(long, value_enum, default_value = "fraction")]
    #[serde(default = "default_size_unit")]
    pub size_unit: SizeUnit,
    /// `maxmemory-samples` values, comma-separated (sampled policies only).
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "5")]
    #[serde(default = "default_samples", with = "one_or_many")]
    pub samples: Vec<u32>,
    /// Fill the cache on a GET miss (cache-aside: GET, then SET of the object's size).
    /// On by default; `--fill-on-miss false` replays GETs only.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    #[serde(default = "default_true")]
    pub fill_on_miss: bool,
}

fn default_policies() -> Vec<String> {
    vec!["all".into()]
}
fn default_size_unit() -> SizeUnit {
    SizeUnit::Fraction
}
fn default_samples() -> Vec<u32> {
    vec![5]
}
fn default_true() -> bool {
    true
}

/// A checked grid.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The policies, in the order given (`all`: the registry's order).
    pub policies: Vec<&'static PolicyInfo>,
    /// `maxmemory-samples` values (sampled policies only).
    pub samples: Vec<u32>,
    /// Cache sizes.
    pub sizes: Vec<f64>,
    /// Unit of `sizes`.
    pub size_unit: SizeUnit,
    /// Fill on a GET miss.
    pub fill_on_miss: bool,
}

impl GridArgs {
    /// Checks every value: known policies, samples in 1..=64, at least one size, sizes
    /// positive (fractions at most 1).
    pub fn resolve(&self) -> Result<Grid, GridError> {
        let names: Vec<&str> = self
            .policies
            .iter()
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
            .collect();
        let policies: Vec<&'static PolicyInfo> = if names == ["all"] {
            evictlab_engine::Server::Redis.policies().collect()
        } else {
            names
                .iter()
                .map(|n| {
                    registry::find(n).ok_or_else(|| {
                        invalid(
                            "policies",
                            n,
                            format!(
                                "\"all\" or a list of: {}",
                                registry::names().collect::<Vec<_>>().join(", ")
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?
        };
        if policies.is_empty() {
            return Err(invalid("policies", "", "\"all\" or at least one policy"));
        }
        // An empty list would write an empty CSV and exit 0 (issue 12).
        if self.samples.is_empty() {
            return Err(invalid("samples", "[]", "at least one value"));
        }
        for &s in &self.samples {
            if !(1..=64).contains(&s) {
                return Err(invalid(
                    "samples",
                    s,
                    "integers in 1..=64 (maxmemory-samples)",
                ));
            }
        }
        if self.sizes.is_empty() {
            return Err(invalid("sizes", "", "at least one size"));
        }
        for &s in &self.sizes {
            if !(s.is_finite() && s > 0.0 && (self.size_unit != SizeUnit::Fraction || s <= 1.0)) {
                return Err(invalid(
                    "sizes",
                    s,
                    "positive numbers (fractions in (0, 1])",
                ));
            }
        }
        Ok(Grid {
            policies,
            samples: self.samples.clone(),
            sizes: self.sizes.clone(),
            size_unit: self.size_unit,
            fill_on_miss: self.fill_on_miss,
        })
    }
}

impl Grid {
    /// The cartesian product sizes × policies × samples × seeds for each of `n_workloads`
    /// workloads, in a fixed order (the cell index is stable across shards). `samples`
    /// applies to sampled policies only; others get one cell per size.
    pub fn cells(&self, n_workloads: usize, seeds: &[u64]) -> Vec<Cell> {
        let mut cells = Vec::new();
        for w in 0..n_workloads {
            for &size in &self.sizes {
                for &p in &self.policies {
                    let ss: Vec<Option<u32>> = if p.sampled {
                        self.samples.iter().map(|&s| Some(s)).collect()
                    } else {
                        vec![None]
                    };
                    for s in ss {
                        for &seed in seeds {
                            cells.push(Cell {
                                workload: w,
                                policy: p,
                                samples: s,
                                size,
                                size_unit: self.size_unit,
                                seed,
                            });
                        }
                    }
                }
            }
        }
        cells
    }

    /// For a real Redis server: `all` means Redis's eight policies, and every other policy
    /// must be one of them.
    pub fn redis_only(mut self, args: &GridArgs) -> Result<Grid, GridError> {
        if args.policies.iter().map(|p| p.trim()).eq(["all"]) {
            self.policies.retain(|p| p.family == Family::Redis);
        } else if let Some(p) = self.policies.iter().find(|p| p.family != Family::Redis) {
            return Err(invalid(
                "policies",
                p.name,
                format!(
                    "a Redis policy ({}): a real server has no {}",
                    registry::POLICIES
                        .iter()
                        .filter(|p| p.family == Family::Redis)
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(", "),
                    p.name
                ),
            ));
        }
        Ok(self)
    }
}

/// Memory-limit enforcement on the command line and in specs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnforcementArg {
    /// Evict until the write fits (a cache of N objects holds N), as simulators do.
    Strict,
    /// Redis's performEvictions: evict before each command while over the limit.
    Redis,
}

impl EnforcementArg {
    /// The engine's enforcement.
    pub fn engine(self) -> Enforcement {
        match self {
            EnforcementArg::Strict => Enforcement::Strict,
            EnforcementArg::Redis => Enforcement::Redis,
        }
    }
}

/// The engine options of every replay: enforcement and extra config lines.
#[derive(clap::Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineArgs {
    /// Memory-limit enforcement.
    #[arg(long, value_enum, default_value = "strict")]
    #[serde(default = "default_enforcement")]
    pub enforcement: EnforcementArg,
    /// Extra engine config line for every cell, e.g. `--config "lab-sampling uniform"`
    /// (repeatable).
    #[arg(long = "config", value_name = "LINE")]
    #[serde(default)]
    pub config: Vec<String>,
}

fn default_enforcement() -> EnforcementArg {
    EnforcementArg::Strict
}

impl EngineArgs {
    /// The options of the hit-rate runner, with the config lines checked on top of the
    /// defaults and `rate` (virtual requests per second) checked in range.
    pub fn options(&self, rate: f64, fill_on_miss: bool) -> Result<HitOptions, GridError> {
        if !evictlab_workloads::rate_in_range(rate) {
            return Err(invalid(
                "rate",
                format!("{rate:?}"),
                evictlab_workloads::RATE_RANGE,
            ));
        }
        // Config lines may not set what the grid sets per cell.
        crate::hitrate::check_config_lines(&self.config)
            .map_err(|e| invalid("config", self.config.join("; "), e.to_string()))?;
        let mut probe = evictlab_engine::Config::default();
        probe
            .apply_str(&self.config.join("\n"), None)
            .map_err(|e| invalid("config", self.config.join("; "), e.to_string()))?;
        Ok(HitOptions {
            rate,
            fill_on_miss,
            enforcement: self.enforcement.engine(),
            config_lines: self.config.clone(),
        })
    }
}

/// One value or a list in a spec (`sizes = 0.1` or `sizes = [0.1, 0.2]`); written back as
/// one value when there is one.
mod one_or_many {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }

    pub fn serialize<T: Serialize, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        match v {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(v) => v,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        grid: GridArgs,
        #[command(flatten)]
        engine: EngineArgs,
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Spec {
        #[serde(flatten)]
        grid: GridArgs,
        #[serde(flatten)]
        engine: EngineArgs,
    }

    #[test]
    fn flags_and_spec_fields_are_one_definition() {
        let cli = Cli::parse_from(["x", "--sizes", "0.1,0.2", "--policies", "lru,fifo"]);
        let spec: Spec =
            toml::from_str("sizes = [0.1, 0.2]\npolicies = [\"lru\", \"fifo\"]").unwrap();
        assert_eq!(cli.grid, spec.grid);
        assert_eq!(cli.engine, spec.engine);
        let one: Spec = toml::from_str("sizes = 0.1\nsamples = 3").unwrap();
        assert_eq!((one.grid.sizes, one.grid.samples), (vec![0.1], vec![3]));
        let e = toml::from_str::<Spec>("sizes = 0.1\nsize = 3").unwrap_err();
        assert!(e.to_string().contains("unknown field `size`"), "{e}");
    }

    #[test]
    fn every_check_names_the_value_and_what_is_accepted() {
        let cli = |args: &[&str]| {
            Cli::parse_from(std::iter::once("x").chain(args.iter().copied()))
                .grid
                .resolve()
        };
        let e = cli(&["--policies", "nope"]).unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("allkeys-lru"), "{e}");
        let e = cli(&["--samples", "0"]).unwrap_err().to_string();
        assert!(e.contains("--samples") && e.contains("1..=64"), "{e}");
        let e = cli(&["--sizes", "1.5"]).unwrap_err().to_string();
        assert!(e.contains("--sizes") && e.contains("1.5"), "{e}");
        assert!(cli(&["--sizes", "1.5", "--size-unit", "keys"]).is_ok());
        let e = cli(&["--policies", "lru"])
            .unwrap()
            .redis_only(&Cli::parse_from(["x", "--policies", "lru"]).grid)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lru") && e.contains("allkeys-lru"), "{e}");
        let engine = Cli::parse_from(["x", "--config", "no-such-parameter 1"]).engine;
        let e = engine.options(1.0, true).unwrap_err().to_string();
        assert!(
            e.contains("--config") && e.contains("no-such-parameter"),
            "{e}"
        );
        let e = engine.options(0.0, true).unwrap_err().to_string();
        assert!(e.contains("--rate"), "{e}");
    }

    #[test]
    fn cells_are_sizes_by_policies_by_samples_by_seeds() {
        let grid = Cli::parse_from(["x", "--policies", "allkeys-lru,lru", "--samples", "3,5"])
            .grid
            .resolve()
            .unwrap();
        let cells = grid.cells(2, &[1, 2]);
        // 2 workloads × 4 sizes × (2 samples of the sampled policy + 1) × 2 seeds.
        assert_eq!(cells.len(), 2 * 4 * 3 * 2);
        assert_eq!(
            (cells[0].policy.name, cells[0].samples, cells[0].seed),
            ("allkeys-lru", Some(3), 1)
        );
        assert_eq!((cells[4].policy.name, cells[4].samples), ("lru", None));
    }
}
