//! `experiment tune`: from a workload, a RAM budget, a write rate and persistence settings to
//! measured recommendations (`maxmemory`, policy and `maxmemory-samples`, THP and
//! `vm.overcommit_memory`, forkless / AOF-only / replica alternatives).
//!
//! Three measurements, each written to a CSV in the results directory:
//!
//! 1. **Memory** ([`measure_memory`], `tune_memory.csv`): in a forked child, the process RSS
//!    before any data (the base footprint), after a fill of materialized values, after
//!    deleting a random half and after refilling with mixed sizes; the fragmentation ratio is
//!    `(rss − base) / used_memory` (Redis's `mem_fragmentation_ratio` is `rss / used`; the
//!    base is split out here because it does not scale with the data). Kept in one small
//!    function so an `experiments::frag` module can replace it.
//! 2. **Copy-on-write** (`cow.csv`, `cow_timeseries.csv`): [`crate::cow`] at the stated
//!    write rate for a few scaled-down dataset sizes, THP off and on, fork and forkless; then
//!    a linear least-squares fit of peak COW, fork latency, save time and forkless overhead
//!    against the RSS at the fork (`tune_fit.csv`, with residuals), extrapolated to the RSS
//!    the recommended `maxmemory` implies. Linear is the right form for uniform writes during
//!    a save whose duration grows with the data: `P·(1 − e^(−rate·T/P))` with `T ∝ P`.
//! 3. **Hit ratio** (`hitrate.csv`, `tune_policy.csv`): every registry policy (samples 1, 3,
//!    5 and 10 for the sampled ones; three engine seeds for them, one for the deterministic
//!    ones) at cache sizes around the key count the recommended `maxmemory` holds, and Belady.
//!
//! The derived figures (maxmemory, headrooms, save intervals, gaps) go to
//! `tune_recommendation.csv`; [`crate::tune::report`] writes `tuning-report.md` citing every
//! number through `tune_citations.csv`.

mod budget;
pub mod cmd;
mod fit;
mod memory;
pub mod model;
mod policy;
pub mod report;

use budget::budget_step;
pub use budget::save_interval_secs;
use fit::cow_step;
pub use fit::{Line, fit_line, fit_origin};
use memory::memory_step;
pub use memory::{SystemSettings, measure_memory, system_settings};
pub use policy::{best_at_budget, decision_size, recommendable};
use policy::{policy_recs, policy_step};

use std::path::{Path, PathBuf};

use evictlab_engine::config::SaveRule;
use serde::{Deserialize, Serialize};

use crate::cow::{CowRow, Distribution};
use crate::source::load;
use crate::sweep::WorkloadInput;
use crate::ui::Ui;
use crate::{RunError, output};

/// Everything `experiment tune` needs (built from the command line by `cmd::tune`).
#[derive(Clone, Debug)]
pub struct TuneParams {
    /// The workload.
    pub workload: WorkloadInput,
    /// RAM budget of the box, bytes.
    pub ram: u64,
    /// Writes per second in production.
    pub write_rate: u64,
    /// `save` points (empty: no RDB snapshots).
    pub save_rules: Vec<SaveRule>,
    /// `appendonly yes`.
    pub appendonly: bool,
    /// `appendfsync` (always, everysec, no).
    pub appendfsync: String,
    /// Results directory.
    pub out: PathBuf,
    /// Seed.
    pub seed: u64,
    /// Scaled-down dataset sizes for the COW runs (value bytes).
    pub dataset_sizes: Vec<u64>,
    /// Bytes per value (default: the workload's mean object size, else 1 KiB).
    pub value_size: Option<u64>,
    /// Keys in the real keyspace (default: the workload's distinct keys).
    pub keyspace: Option<u64>,
    /// Emulated disk bandwidth of the snapshot writer, bytes/s.
    pub disk_bandwidth: u64,
    /// Other memory to keep free (client output buffers, replication backlog), bytes.
    pub reserve: u64,
    /// Key distribution of the writes during a save.
    pub write_distribution: Distribution,
    /// Value bytes of the fragmentation measurement.
    pub memory_dataset: u64,
    /// Engine seeds for the sampled policies.
    pub seeds: u32,
    /// `--config` lines of the memory model that turns `maxmemory` into keys
    /// ([`model::model_config`]).
    pub config_lines: Vec<String>,
}

/// One row of `tune_memory.csv`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemRow {
    /// `empty`, `fill`, `delete-half` or `refill-mixed`.
    pub phase: String,
    /// Keys live.
    pub keys: u64,
    /// Mean value size of the fill.
    pub value_size: u64,
    /// Engine `used_memory` (key + value + per-entry overhead, as Redis counts).
    pub used_memory_bytes: u64,
    /// Process RSS.
    pub rss_bytes: u64,
    /// RSS before any data (base footprint).
    pub base_rss_bytes: u64,
    /// `(rss − base) / used` (NaN-free: 0 when used is 0).
    pub frag_ratio: f64,
    /// `used / keys`.
    pub used_per_key_bytes: f64,
}

/// One row of `tune_fit.csv`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FitRow {
    /// `cow_peak_bytes`, `fork_usec`, `save_ms` or `extra_memory_peak_bytes`.
    pub quantity: String,
    /// `fork` or `forkless`.
    pub snapshot: String,
    /// `off` or `on`.
    pub thp: String,
    /// `point` (a measurement), `fit` (the line) or `extrapolation` (the line at the target).
    pub kind: String,
    /// RSS at the fork (x), bytes.
    pub x_bytes: f64,
    /// Measured value (points).
    pub y: f64,
    /// The line at x.
    pub fitted: f64,
    /// y − fitted (points).
    pub residual: f64,
    /// Slope (per byte of RSS).
    pub slope: f64,
    /// Intercept.
    pub intercept: f64,
    /// Coefficient of determination.
    pub r2: f64,
    /// Points in the fit.
    pub n: u64,
}

/// One row of `tune_policy.csv`: a (policy, samples) at one size, over seeds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyRow {
    /// Policy.
    pub policy: String,
    /// `redis`, `research` or `oracle`.
    pub family: String,
    /// `maxmemory-samples` (0 for non-sampled).
    pub samples: u32,
    /// `budget` (the size the recommended maxmemory holds), `half` or `double`.
    pub size: String,
    /// Cache size as a fraction of the workload's working set.
    pub fraction: f64,
    /// Capacity in the cell's unit.
    pub capacity: u64,
    /// Seeds run.
    pub seeds: u64,
    /// Mean hit ratio.
    pub hit_ratio: f64,
    /// Lowest over seeds.
    pub hit_ratio_min: f64,
    /// Highest over seeds.
    pub hit_ratio_max: f64,
    /// Belady − this, percentage points.
    pub gap_to_belady_pp: f64,
}

/// One row of `tune_recommendation.csv`: a derived figure and how it was derived.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecRow {
    /// Name (unique).
    pub name: String,
    /// Value.
    pub value: f64,
    /// Unit.
    pub unit: String,
    /// Formula or source.
    pub derivation: String,
}

/// What a tune run measured and derived.
#[derive(Clone, Debug, Default)]
pub struct TuneOutcome {
    /// The directory.
    pub dir: PathBuf,
    /// `tune_memory.csv` rows.
    pub memory: Vec<MemRow>,
    /// `cow.csv` rows.
    pub cow: Vec<CowRow>,
    /// `tune_fit.csv` rows.
    pub fits: Vec<FitRow>,
    /// `tune_policy.csv` rows.
    pub policies: Vec<PolicyRow>,
    /// `tune_recommendation.csv` rows.
    pub recs: Vec<RecRow>,
    /// The workload's name.
    pub workload: String,
    /// System settings read at the start.
    pub system: SystemSettings,
    /// The parameters.
    pub params_text: Vec<(String, String)>,
}

impl TuneOutcome {
    /// A derived figure by name.
    pub fn rec(&self, name: &str) -> Option<f64> {
        self.recs.iter().find(|r| r.name == name).map(|r| r.value)
    }
}

fn io_err(path: &Path, e: std::io::Error) -> RunError {
    RunError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn report_err(m: impl std::fmt::Display) -> RunError {
    RunError::Report {
        message: m.to_string(),
    }
}

pub fn run(p: &TuneParams, ui: &Ui) -> Result<TuneOutcome, RunError> {
    std::fs::create_dir_all(&p.out).map_err(|e| io_err(&p.out, e))?;
    if p.dataset_sizes.is_empty() {
        return Err(RunError::BadArgument {
            flag: "--dataset-sizes",
            value: String::new(),
            expected: "a comma-separated list of sizes, e.g. 64mb,128mb,256mb",
        });
    }
    let model_cfg = model::model_config(&p.config_lines)?;
    let system = system_settings();
    // The workload's shape (then dropped: the forked workers below would inherit it).
    let spin = ui.spinner("loading workload");
    let (name, objects, mean_size, has_sizes, charge) = {
        let w = load(&p.workload)?;
        let ws = w.working_set;
        let mean = if w.info.has_sizes && ws.objects > 0 {
            Some(ws.bytes / ws.objects)
        } else {
            None
        };
        // Without sizes in the workload, every value is the --value-size (else 1 KiB).
        let size = p
            .value_size
            .or(if w.info.has_sizes { None } else { Some(1024) });
        let charge = model::key_charge(&w, size, &model_cfg)?;
        (
            w.info.name.clone(),
            ws.objects,
            mean,
            w.info.has_sizes,
            charge,
        )
    };
    spin.finish_and_clear();
    let value_size = p.value_size.or(mean_size).unwrap_or(1024).max(1);
    let keyspace = p.keyspace.unwrap_or(objects).max(1);

    let memory = memory_step(p, value_size, ui)?;
    let (cow, fits) = cow_step(p, value_size, ui)?;
    let (mut recs, f0) = budget_step(
        p,
        value_size,
        keyspace,
        &system,
        &memory,
        &cow,
        &fits,
        (charge, &model_cfg),
    );
    let prows = policy_step(p, f0, ui)?;
    policy_recs(&prows, &mut recs);
    if let Some(m) = system.overcommit_memory {
        recs.push(RecRow {
            name: "overcommit_memory".into(),
            value: m as f64,
            unit: "mode".into(),
            derivation: "/proc/sys/vm/overcommit_memory".into(),
        });
    }
    output::write_csv(&p.out.join("tune_recommendation.csv"), &recs)?;
    let mut params_text = vec![
        ("workload".to_string(), name.clone()),
        ("ram".into(), p.ram.to_string()),
        ("write rate".into(), p.write_rate.to_string()),
        (
            "save".into(),
            if p.save_rules.is_empty() {
                "\"\"".into()
            } else {
                p.save_rules
                    .iter()
                    .map(|r| format!("{} {}", r.seconds, r.changes))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
        ),
        (
            "appendonly".into(),
            if p.appendonly {
                format!("yes (appendfsync {})", p.appendfsync)
            } else {
                "no".into()
            },
        ),
    ];
    if has_sizes {
        params_text.push(("object sizes".into(), "from the trace".into()));
    }
    Ok(TuneOutcome {
        dir: p.out.clone(),
        memory: memory.rows,
        cow,
        fits: fits.rows,
        policies: prows,
        recs,
        workload: name,
        system,
        params_text,
    })
}

#[cfg(test)]
mod tests {
    use super::fit::max_rss;
    use super::*;

    #[test]
    fn least_squares_recovers_a_line_and_reports_residual_quality() {
        let pts: Vec<(f64, f64)> = (1..=5).map(|i| (i as f64, 3.0 + 2.0 * i as f64)).collect();
        let l = fit_line(&pts);
        assert!((l.slope - 2.0).abs() < 1e-12 && (l.intercept - 3.0).abs() < 1e-12);
        assert!((l.r2 - 1.0).abs() < 1e-12);
        let noisy = [(1.0, 1.0), (2.0, 3.0), (3.0, 2.0)];
        let l = fit_line(&noisy);
        assert!(l.r2 < 1.0 && l.r2 > 0.0);
        let o = fit_origin(&[(1.0, 2.0), (2.0, 4.0)]);
        assert!((o.slope - 2.0).abs() < 1e-12 && o.intercept == 0.0);
    }

    #[test]
    fn save_points_fire_at_the_later_of_seconds_and_changes() {
        let rules = [
            SaveRule {
                seconds: 900,
                changes: 1,
            },
            SaveRule {
                seconds: 300,
                changes: 100,
            },
            SaveRule {
                seconds: 60,
                changes: 10_000,
            },
        ];
        // 100 writes/s: 10000 changes take 100 s, so the 60 s point fires after 100 s.
        assert_eq!(save_interval_secs(&rules, 100), Some(100.0));
        assert_eq!(save_interval_secs(&rules, 1_000_000), Some(60.0));
        assert_eq!(save_interval_secs(&rules, 0), None);
        assert_eq!(save_interval_secs(&[], 10), None);
    }

    #[test]
    fn headroom_solves_rss_plus_cow_equal_to_ram() {
        let cow = Line {
            slope: 0.25,
            intercept: 1000.0,
            r2: 1.0,
            n: 3,
        };
        let x = max_rss(10_000.0, 500.0, &cow);
        assert!((x + cow.at(x) + 500.0 - 10_000.0).abs() < 1e-6);
        // A negative line (no COW) leaves everything but the reserve.
        let none = Line {
            slope: 0.0,
            intercept: -5.0,
            r2: 1.0,
            n: 3,
        };
        assert_eq!(max_rss(10_000.0, 500.0, &none), 9_500.0);
    }
}
