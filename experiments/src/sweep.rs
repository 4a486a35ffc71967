//! Declarative sweeps: `experiment run SPEC.toml`, `--shard I/N`, `experiment merge`.
//!
//! A spec lists values; the sweep is their cartesian product (workloads × sizes × policies ×
//! samples × seeds, in that nesting order, giving each cell a stable index). The whole spec
//! is validated before anything runs: unknown fields, unknown policy names, bad config
//! lines, unparsable workload specs, missing trace files and unknown formats are errors
//! naming the field, the value and what is accepted.
//!
//! Sharding: `--shard I/N` runs the cells whose index `i` has `i % N == I` (round-robin, so
//! shards get similar mixes of slow and fast cells) and writes them with their global
//! index; `merge` checks that every shard ran the same resolved spec, that together they
//! cover every cell exactly once, and writes the rows sorted by index — byte-identical to a
//! single-machine run (apart from the `requests_per_sec` timing column).
//!
//! ```toml
//! name = "zipf-vs-trace"
//! seeds = [1]                      # one value or a list, for every list field
//! policies = "all"                 # or ["allkeys-lru", "lru", "belady"]
//! samples = [1, 5, 10]             # maxmemory-samples, for sampled policies only
//! sizes = [0.01, 0.1]
//! size_unit = "fraction"           # fraction | bytes | keys
//! rate = 100000                    # virtual requests/s for workloads without timestamps
//! fill_on_miss = true
//! enforcement = "strict"           # strict | redis
//! config = ["lab-sampling dict"]   # extra engine config lines, applied to every cell
//!
//! [[workloads]]
//! spec = "zipf:0.99"
//! keys = 100000
//! requests = 1000000
//!
//! [[workloads]]
//! trace = "../shared/traces/caffeine/lirs/sprite.trace"
//! format = "lirs"                  # optional: detected from the file name
//! ```

use std::path::{Path, PathBuf};

use evictlab_workloads::{CsvColumns, TraceFormat, TraceOptions, WorkloadSpec};
use serde::{Deserialize, Serialize};

use crate::grid::{EngineArgs, GridArgs, GridError};
use crate::hitrate::{Cell, HitOptions};

/// A single value or a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// One value.
    One(T),
    /// Several values.
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    /// The values as a list.
    pub fn to_vec(&self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// A sweep specification (the TOML file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Name (used in the results directory name).
    pub name: String,
    /// Engine seeds.
    #[serde(default = "default_seeds")]
    pub seeds: OneOrMany<u64>,
    /// Policies, samples, sizes, size unit, fill-on-miss: the fields of [`GridArgs`].
    #[serde(flatten)]
    pub grid: GridArgs,
    /// Virtual requests per second for workloads without timestamps.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Enforcement and extra engine config lines: the fields of [`EngineArgs`].
    #[serde(flatten)]
    pub engine: EngineArgs,
    /// The workloads.
    pub workloads: Vec<WorkloadEntry>,
}

/// One workload of a sweep: a generator SPEC or a trace file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadEntry {
    /// A generator SPEC (as `--workload`).
    pub spec: Option<String>,
    /// Distinct keys for a generator.
    pub keys: Option<u64>,
    /// Requests for a generator.
    pub requests: Option<u64>,
    /// A trace file (relative paths are relative to the spec file).
    pub trace: Option<PathBuf>,
    /// The trace format name (detected from the file name when absent).
    pub format: Option<String>,
    /// Replay only the first N requests of the trace.
    pub limit: Option<u64>,
}

fn default_seeds() -> OneOrMany<u64> {
    OneOrMany::One(1)
}
fn default_rate() -> f64 {
    crate::hitrate::DEFAULT_RATE
}

/// A spec error: names the file, the field and the value, and what is accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The spec file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// TOML syntax or schema error (unknown field, wrong type) with its position.
    #[error("{path}: {message}")]
    Parse {
        /// The spec file.
        path: PathBuf,
        /// toml's message (line, column, and for unknown fields the expected ones).
        message: String,
    },
    /// A value is not accepted.
    #[error("{}{}: field `{field}`: invalid value {value:?}: expected {expected}", .path.display(), line_suffix(*.line))]
    Invalid {
        /// The spec file.
        path: PathBuf,
        /// 1-based line of the field in the file (0 = not found, e.g. a default value).
        line: u64,
        /// Field path, e.g. `workloads[1].format`.
        field: String,
        /// The value.
        value: String,
        /// What is accepted.
        expected: String,
    },
}

fn line_suffix(line: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

/// The 1-based line where `field` (a path such as `rate` or `workloads[1].format`) is set
/// in a spec's text: the first line starting with its last key followed by `=`, after the
/// `index + 1`-th `[[table]]` header when the path has an index; 0 when not found.
fn field_line(text: &str, field: &str) -> u64 {
    let (table, key) = match field.split_once('.') {
        Some((t, k)) => (Some(t), k),
        None => (None, field),
    };
    let mut in_scope = table.is_none();
    let mut seen = 0usize;
    let (tname, want) = match table.and_then(|t| t.split_once('[')) {
        Some((name, idx)) => (name, idx.trim_end_matches(']').parse::<usize>().ok()),
        None => (table.unwrap_or(""), None),
    };
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            let header = l.trim_matches(|c| c == '[' || c == ']').trim();
            in_scope = if table.is_none() {
                false
            } else if header == tname {
                seen += 1;
                want.is_none_or(|w| seen == w + 1)
            } else {
                false
            };
            continue;
        }
        if in_scope
            && let Some(rest) = l.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return i as u64 + 1;
        }
    }
    0
}

/// The top-level fields of a spec: its own and those of [`GridArgs`] and [`EngineArgs`]
/// (read from their clap definitions, the same structs the spec flattens in).
fn spec_fields() -> Vec<String> {
    use clap::Args;
    let mut fields: Vec<String> = ["name", "seeds", "rate", "workloads"]
        .map(String::from)
        .to_vec();
    for c in [
        GridArgs::augment_args(clap::Command::new("grid")),
        EngineArgs::augment_args(clap::Command::new("engine")),
    ] {
        fields.extend(c.get_arguments().map(|a| a.get_id().to_string()));
    }
    fields
}

/// A workload after validation, ready to load.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkloadInput {
    /// A generator.
    Synthetic {
        /// Parsed spec.
        spec: WorkloadSpec,
        /// Distinct keys.
        keys: u64,
        /// Requests.
        requests: u64,
        /// Seed of the generator.
        seed: u64,
    },
    /// A trace file.
    Trace {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: TraceFormat,
        /// `libcachesim-csv` columns given with the format (`libcachesim-csv:obj-id-col=…`);
        /// `None`: found from the header (other formats take none).
        columns: Option<CsvColumns>,
        /// First N requests only.
        limit: Option<u64>,
    },
}

/// A validated sweep.
#[derive(Debug)]
pub struct Sweep {
    /// The spec as written (after defaults), for `spec.resolved.toml`.
    pub spec: SweepSpec,
    /// Workloads in spec order.
    pub workloads: Vec<WorkloadInput>,
    /// Every cell, in index order.
    pub cells: Vec<Cell>,
    /// Options shared by every cell.
    pub options: HitOptions,
}

impl SweepSpec {
    /// Reads and validates a spec file.
    pub fn load(path: &Path) -> Result<Sweep, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let parse = |e: toml::de::Error| SpecError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        // Unknown fields first, with the accepted ones (serde reports a missing required
        // field before an unknown one once the grid's fields are flattened in).
        let table: toml::Table = toml::from_str(&text).map_err(parse)?;
        let known = spec_fields();
        if let Some(k) = table.keys().find(|k| !known.contains(k)) {
            return Err(SpecError::Invalid {
                path: path.to_path_buf(),
                line: field_line(&text, k),
                field: k.clone(),
                value: "(unknown field)".into(),
                expected: format!("one of {}", known.join(", ")),
            });
        }
        let spec: SweepSpec = toml::from_str(&text).map_err(parse)?;
        let base = path.parent().unwrap_or(Path::new("."));
        spec.validate(path, base).map_err(|e| match e {
            SpecError::Invalid {
                path,
                line: 0,
                field,
                value,
                expected,
            } => SpecError::Invalid {
                line: field_line(&text, &field),
                path,
                field,
                value,
                expected,
            },
            e => e,
        })
    }

    /// Validates everything and expands the grid.
    pub fn validate(self, file: &Path, base: &Path) -> Result<Sweep, SpecError> {
        let invalid = |field: &str, value: &str, expected: String| SpecError::Invalid {
            path: file.to_path_buf(),
            line: 0,
            field: field.to_string(),
            value: value.to_string(),
            expected,
        };
        let grid_error = |e: GridError| invalid(e.field, &e.value, e.expected);
        let server = self.engine.server().map_err(grid_error)?;
        let grid = self.grid.resolve_for(server).map_err(grid_error)?;
        // An empty seed list would write an empty CSV and exit 0 (issue 12).
        if self.seeds.to_vec().is_empty() {
            return Err(invalid("seeds", "[]", "at least one value".into()));
        }
        let options = self
            .engine
            .options(self.rate, grid.fill_on_miss)
            .map_err(grid_error)?;
        // Workloads.
        if self.workloads.is_empty() {
            return Err(invalid(
                "workloads",
                "[]",
                "at least one [[workloads]] entry".into(),
            ));
        }
        let seeds = self.seeds.to_vec();
        let mut workloads = Vec::new();
        for (i, w) in self.workloads.iter().enumerate() {
            let field = |f: &str| format!("workloads[{i}].{f}");
            let input = match (&w.spec, &w.trace) {
                (Some(s), None) => {
                    let spec: WorkloadSpec =
                        s.parse().map_err(|e: evictlab_workloads::WorkloadError| {
                            invalid(&field("spec"), s, e.to_string())
                        })?;
                    let keys = w.keys.ok_or_else(|| {
                        invalid(
                            &field("keys"),
                            "missing",
                            "a number of distinct keys".into(),
                        )
                    })?;
                    let requests = w.requests.filter(|&r| r > 0).ok_or_else(|| {
                        invalid(
                            &field("requests"),
                            &w.requests.map_or("missing".into(), |r| r.to_string()),
                            "a positive number of requests".into(),
                        )
                    })?;
                    if w.format.is_some() || w.limit.is_some() {
                        return Err(invalid(
                            &field("format"),
                            "set",
                            "format/limit only with `trace`".into(),
                        ));
                    }
                    WorkloadInput::Synthetic {
                        spec,
                        keys,
                        requests,
                        seed: seeds[0],
                    }
                }
                (None, Some(t)) => {
                    let path = if t.is_absolute() {
                        t.clone()
                    } else {
                        base.join(t)
                    };
                    if !path.exists() {
                        return Err(invalid(
                            &field("trace"),
                            &path.display().to_string(),
                            "an existing file".into(),
                        ));
                    }
                    let (format, columns) = match &w.format {
                        Some(f) => {
                            let o = TraceOptions::parse(f)
                                .map_err(|e| invalid(&field("format"), f, e.to_string()))?;
                            (o.format.unwrap_or(TraceFormat::LibCacheSimCsv), o.columns)
                        }
                        None => (
                            evictlab_workloads::detect(&path).map_err(|e| {
                                invalid(&field("format"), "(detected)", e.to_string())
                            })?,
                            None,
                        ),
                    };
                    if w.limit == Some(0) {
                        return Err(invalid(
                            &field("limit"),
                            "0",
                            "a positive number of requests (or no limit)".into(),
                        ));
                    }
                    if w.keys.is_some() || w.requests.is_some() {
                        return Err(invalid(
                            &field("keys"),
                            "set",
                            "keys/requests only with `spec`".into(),
                        ));
                    }
                    WorkloadInput::Trace {
                        path,
                        format,
                        columns,
                        limit: w.limit,
                    }
                }
                _ => {
                    return Err(invalid(
                        &format!("workloads[{i}]"),
                        "",
                        "exactly one of `spec` (with keys, requests) or `trace`".into(),
                    ));
                }
            };
            workloads.push(input);
        }
        let cells = grid.cells(workloads.len(), &seeds);
        Ok(Sweep {
            spec: self,
            workloads,
            cells,
            options,
        })
    }
}

/// A shard selector `I/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard (0-based).
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let err = || format!("invalid shard {s:?}: expected I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(err)?;
        let index: usize = i.trim().parse().map_err(|_| err())?;
        let count: usize = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether cell `i` belongs to this shard.
    pub fn owns(&self, i: usize) -> bool {
        i % self.count == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Sweep, SpecError> {
        let spec: SweepSpec = toml::from_str(text).map_err(|e| SpecError::Parse {
            path: "t.toml".into(),
            message: e.to_string(),
        })?;
        spec.validate(Path::new("t.toml"), Path::new("."))
    }

    #[test]
    fn expands_the_cartesian_product() {
        let s = parse(
            r#"
            name = "t"
            policies = ["allkeys-lru", "lru"]
            samples = [1, 5, 10]
            sizes = [0.1, 0.2]
            seeds = [1, 2]
            [[workloads]]
            spec = "zipf:0.9"
            keys = 100
            requests = 1000
            "#,
        )
        .unwrap();
        // sizes × (allkeys-lru × 3 samples + lru × 1) × seeds
        assert_eq!(s.cells.len(), 2 * (3 + 1) * 2);
    }

    #[test]
    fn rejects_unknown_fields_and_names_with_the_choices() {
        // Unknown fields are found by `Sweep::load` (before serde, which would report a
        // missing field first), with the accepted ones.
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("t.toml");
        std::fs::write(
            &f,
            "name = \"t\"\nsizes = 0.1\nwat = 1\n[[workloads]]\nspec = \"uniform\"\nkeys = 1\nrequests = 1\n",
        )
        .unwrap();
        let e = SweepSpec::load(&f).unwrap_err().to_string();
        assert!(e.contains("wat") && e.contains("policies"), "{e}");
        let e = parse("name = \"t\"\nsizes = 0.1\npolicies = [\"lru\", \"lruu\"]\n[[workloads]]\nspec = \"uniform\"\nkeys = 1\nrequests = 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lruu") && e.contains("allkeys-lru") && e.contains("volatile-ttl"),
            "{e}"
        );
        let e = parse("name = \"t\"\nsizes = 0.1\nconfig = [\"maxmemory-samples 100\"]\n[[workloads]]\nspec = \"uniform\"\nkeys = 1\nrequests = 1\n")
            .unwrap_err()
            .to_string();
        // The grid sets maxmemory-samples: a config line may not (issue 12).
        assert!(
            e.contains("maxmemory-samples") && e.contains("`samples`"),
            "{e}"
        );
        let e = parse("name = \"t\"\nsizes = 0.1\n[[workloads]]\nspec = \"zipff:1\"\nkeys = 1\nrequests = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("workloads[0].spec"), "{e}");
        let e = parse("name = \"t\"\nsizes = 0.1\n[[workloads]]\ntrace = \"/nonexistent\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("workloads[0].trace"), "{e}");
    }

    #[test]
    fn shards_partition_the_cells() {
        let shards: Vec<Shard> = (0..3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        for i in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.owns(i)).count(), 1);
        }
        assert!("3/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }
}
