//! `experiment hcl`: the HCL Cache scenario ([`scenario`]) under each
//! `maxmemory-policy`, at a memory limit set as a fraction of the scenario's own unlimited
//! peak, so the inconsistencies and OOM refusals HCL's documentation warns about are counted
//! per policy. Writes `hcl.csv` and a report section.

pub mod scenario;

use std::path::{Path, PathBuf};

use evictlab_reports::{Align, Report, Table, format};
use scenario::{HclConfig, HclMetrics};
use serde::{Deserialize, Serialize};

use crate::experiment::{self, CsvFile, Experiment, Ran, SuiteRun};
use crate::ui::Ui;
use crate::{RunError, output};

/// Arguments of `experiment hcl`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct HclArgs {
    /// Policies (registry names), comma-separated; `redis` = the eight Redis policies.
    #[arg(long, default_value = "redis")]
    pub policies: String,
    /// `maxmemory` as fractions of the scenario's peak `used_memory` without a limit,
    /// comma-separated.
    #[arg(long, default_value = "0.5,0.1", value_delimiter = ',')]
    pub memory_fractions: Vec<f64>,
    /// Distinct cache entries.
    #[arg(long, default_value_t = 20_000)]
    pub entries: u64,
    /// Distinct dependency ids.
    #[arg(long, default_value_t = 2_000)]
    pub deps: u64,
    /// Client operations.
    #[arg(long, default_value_t = 200_000)]
    pub ops: u64,
    /// Fraction of operations that invalidate a dependency id.
    #[arg(long, default_value_t = 0.01)]
    pub invalidate_ratio: f64,
    /// Low-memory maintenance trigger as a fraction of maxmemory (0 = off, the default, so
    /// the policy alone decides); HCL's job removes the soonest-expiring entries, here down
    /// to the trigger minus 5 points (e.g. 0.95).
    #[arg(long, default_value_t = 0.0)]
    pub low_memory_trigger: f64,
    /// Extra engine config line for every run (repeatable), e.g. `--config "lab-memory-mode
    /// redis"`: `maxmemory` is then a fraction of the unlimited peak of Redis 7.0's
    /// modelled `used_memory`. The grid's parameters (`maxmemory`, `maxmemory-policy`) and
    /// `lab-memory-mode allocator` (no allocator probe here) are refused.
    #[arg(long = "config", value_name = "LINE")]
    pub config: Vec<String>,
    /// Seed of the operation stream and the engine.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `--out DIR` and `--overwrite`.
    #[command(flatten)]
    #[serde(flatten)]
    pub out: crate::outdir::OutArgs,
}

impl HclArgs {
    /// The quick preset the default suite runs.
    pub fn quick(seed: u64) -> HclArgs {
        HclArgs {
            policies: "redis".into(),
            memory_fractions: vec![0.5, 0.1],
            entries: 5_000,
            deps: 500,
            ops: 50_000,
            invalidate_ratio: 0.01,
            low_memory_trigger: 0.0,
            config: Vec::new(),
            seed,
            out: Default::default(),
        }
    }
}

/// One row of `hcl.csv`: a policy at a memory limit, and what the scenario measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HclRow {
    /// `maxmemory-policy`.
    pub policy: String,
    /// `maxmemory` in the engine's memory mode (logical bytes unless `--config` sets
    /// `lab-memory-mode`).
    pub maxmemory: u64,
    /// `maxmemory` as a fraction of the unlimited run's peak.
    pub memory_fraction: f64,
    /// Low-memory maintenance trigger (fraction of maxmemory; 0 = job off).
    pub low_memory_trigger: f64,
    /// Seed.
    pub seed: u64,
    /// Client operations.
    pub ops: u64,
    /// GETs.
    pub gets: u64,
    /// GET hits.
    pub hits: u64,
    /// hits / gets.
    pub hit_ratio: f64,
    /// Invalidations by dependency id.
    pub invalidations: u64,
    /// Entries still live after an invalidation of one of their dependencies.
    pub missed_invalidations: u64,
    /// Hits on such entries.
    pub stale_reads: u64,
    /// Dependency-set members dangling after the final drain (permanent).
    pub dangling_dep_refs_after_drain: u64,
    /// missed_invalidations + dangling_dep_refs_after_drain.
    pub inconsistencies: u64,
    /// Commands refused with -OOM.
    pub oom_refusals: u64,
    /// Puts whose data HSET was refused.
    pub puts_refused: u64,
    /// Puts stored with some metadata refused.
    pub partial_puts: u64,
    /// Audits that found data but no maintenance zset (the index was evicted).
    pub maintenance_index_lost: u64,
    /// Entries removed by low-memory maintenance.
    pub low_memory_removed: u64,
    /// Engine evicted_keys.
    pub evicted_keys: u64,
    /// Engine expired_keys.
    pub expired_keys: u64,
    /// Data keys at the end.
    pub data_keys: u64,
    /// Metadata keys at the end.
    pub metadata_keys: u64,
}

fn row(policy: &str, maxmemory: u64, fraction: f64, args: &HclArgs, m: &HclMetrics) -> HclRow {
    HclRow {
        policy: policy.into(),
        maxmemory,
        memory_fraction: fraction,
        low_memory_trigger: args.low_memory_trigger,
        seed: args.seed,
        ops: m.ops,
        gets: m.gets,
        hits: m.hits,
        hit_ratio: if m.gets == 0 {
            0.0
        } else {
            m.hits as f64 / m.gets as f64
        },
        invalidations: m.invalidations,
        missed_invalidations: m.missed_invalidations,
        stale_reads: m.stale_reads,
        dangling_dep_refs_after_drain: m.dangling_dep_refs_after_drain,
        inconsistencies: m.inconsistencies(),
        oom_refusals: m.oom_refusals,
        puts_refused: m.puts_refused,
        partial_puts: m.partial_puts,
        maintenance_index_lost: m.maintenance_index_lost,
        low_memory_removed: m.low_memory_removed,
        evicted_keys: m.evicted_keys,
        expired_keys: m.expired_keys,
        data_keys: m.data_keys,
        metadata_keys: m.metadata_keys,
    }
}

fn policies(text: &str) -> Result<Vec<&'static str>, RunError> {
    use evictlab_engine::policy::registry::{Family, POLICIES};
    if text.trim() == "redis" {
        return Ok(POLICIES
            .iter()
            .filter(|p| p.family == Family::Redis)
            .map(|p| p.name)
            .collect());
    }
    Ok(crate::cmd::parse_policies(text)?
        .into_iter()
        .map(|p| p.name)
        .collect())
}

/// Checks `--config` lines: no grid parameter (`maxmemory`, `maxmemory-policy`, …: the
/// hit-rate rules), valid lines, and no `lab-memory-mode allocator` (no allocator probe).
fn check_config(lines: &[String]) -> Result<(), RunError> {
    crate::hitrate::check_config_lines(lines)?;
    let mut c = evictlab_engine::Config::default();
    c.apply_str(&lines.join("\n"), None)?;
    if c.memory_mode == evictlab_engine::MemoryMode::Allocator {
        return Err(RunError::BadArgument {
            flag: "--config",
            value: "lab-memory-mode allocator".into(),
            expected: "logical, keys or redis here: lab-memory-mode allocator needs the \
                       allocator probe, which only `experiment frag` and `tune` install",
        });
    }
    Ok(())
}

/// Runs the scenario for every policy and fraction; returns the rows (nothing written).
pub fn measure(args: &HclArgs, ui: &Ui) -> Result<Vec<HclRow>, RunError> {
    let bad = |flag: &'static str, value: String, expected: &'static str| RunError::BadArgument {
        flag,
        value,
        expected,
    };
    for &f in &args.memory_fractions {
        if !(f > 0.0 && f <= 1.0) {
            return Err(bad(
                "--memory-fractions",
                f.to_string(),
                "fractions in (0, 1]",
            ));
        }
    }
    if !(0.0..1.0).contains(&args.low_memory_trigger) {
        return Err(bad(
            "--low-memory-trigger",
            args.low_memory_trigger.to_string(),
            "a fraction in [0, 1); 0 turns the job off",
        ));
    }
    let names = policies(&args.policies)?;
    check_config(&args.config)?;
    let base = HclConfig {
        entries: args.entries,
        deps: args.deps,
        ops: args.ops,
        invalidate_ratio: args.invalidate_ratio,
        seed: args.seed,
        low_memory: (args.low_memory_trigger > 0.0).then(|| {
            (
                args.low_memory_trigger,
                (args.low_memory_trigger - 0.05).max(0.0),
            )
        }),
        extra_config: args.config.join("\n"),
        ..HclConfig::default()
    };
    let hcl_err = |e| RunError::Workload {
        name: "hcl".into(),
        source: e,
    };
    let bar = ui.bar(
        (1 + names.len() * args.memory_fractions.len()) as u64,
        "hcl runs",
    );
    bar.set_message("HCL scenario");
    // The unlimited run sets the scale.
    let unlimited = scenario::run(&HclConfig {
        maxmemory: 0,
        low_memory: None,
        policy: "noeviction".into(),
        ..base.clone()
    })
    .map_err(hcl_err)?;
    bar.inc(1);
    let mut rows = Vec::new();
    for &fraction in &args.memory_fractions {
        let maxmemory = ((unlimited.used_memory_peak_bytes as f64 * fraction) as u64).max(1);
        for name in &names {
            let m = scenario::run(&HclConfig {
                maxmemory,
                policy: (*name).into(),
                ..base.clone()
            })
            .map_err(hcl_err)?;
            rows.push(row(name, maxmemory, fraction, args, &m));
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(rows)
}

/// Runs `experiment hcl`: writes `hcl.csv`, `metadata.json` and `report.md`.
pub fn run(args: &HclArgs, ui: &Ui) -> Result<(PathBuf, Vec<HclRow>), RunError> {
    // The results directory first: a refused --out fails before any work.
    let dir = crate::cmd::out_dir(&args.out, "hcl")?;
    let rows = measure(args, ui)?;
    output::write_csv(&dir.join("hcl.csv"), &rows)?;
    output::write_metadata(&dir, "hcl", args.seed, args, &crate::cmd::allocator_name())?;
    crate::cmd::report::render(&dir, "evictlab: HCL Cache scenario")?;
    Ok((dir.commit()?, rows))
}

/// Adds the HCL section to a report from `hcl.csv` rows.
pub fn add_section(report: &mut Report, rows: &[HclRow], _plots: &Path) -> Result<(), RunError> {
    if rows.is_empty() {
        return Ok(());
    }
    let rerr = |e: evictlab_reports::ReportError| RunError::Report {
        message: e.to_string(),
    };
    report.heading(2, "The HCL Cache scenario: metadata under eviction");
    report.paragraph(
        "HCL Commerce keeps cached data in hashes with a TTL and its metadata (dependency \
         sets, maintenance sorted sets) without one, and requires `volatile-lru` so metadata \
         is never evicted. `missed invalidations` are entries still live after one of their \
         dependencies was invalidated (their dependency set had been evicted, or a put was \
         half refused); `dangling refs` are dependency-set members whose data is gone even \
         after a final drain; `OOM` counts commands refused because memory was full of keys \
         the policy may not evict.",
    );
    let mut t = Table::new([
        ("policy", Align::Left),
        ("maxmemory", Align::Right),
        ("hit ratio", Align::Right),
        ("missed invalidations", Align::Right),
        ("stale reads", Align::Right),
        ("dangling refs", Align::Right),
        ("OOM refusals", Align::Right),
        ("evicted keys", Align::Right),
    ]);
    for r in rows {
        t.push_row([
            r.policy.clone(),
            format!(
                "{} ({} of peak)",
                format::bytes_u64(r.maxmemory),
                format::percent(r.memory_fraction, 0)
            ),
            format::percent(r.hit_ratio, 2),
            format::count(r.missed_invalidations),
            format::count(r.stale_reads),
            format::count(r.dangling_dep_refs_after_drain),
            format::count(r.oom_refusals),
            format::count(r.evicted_keys),
        ])
        .map_err(rerr)?;
    }
    report.table(&t);
    let triggers: Vec<String> = rows
        .iter()
        .map(|r| {
            if r.low_memory_trigger > 0.0 {
                format!("on at {}", format::percent(r.low_memory_trigger, 0))
            } else {
                "off".to_string()
            }
        })
        .fold(Vec::new(), |mut v, t| {
            if !v.contains(&t) {
                v.push(t);
            }
            v
        });
    report.paragraph(format!(
        "Low-memory maintenance: {}. With it on, HCL's own job removes entries (data and \
         metadata together) before the policy has to evict.",
        triggers.join(", ")
    ));
    let worst_allkeys = rows
        .iter()
        .filter(|r| r.policy.starts_with("allkeys"))
        .max_by_key(|r| r.inconsistencies);
    let worst_volatile = rows
        .iter()
        .filter(|r| !r.policy.starts_with("allkeys") && r.oom_refusals > 0)
        .max_by_key(|r| r.oom_refusals);
    let mut s = String::new();
    if let Some(r) = worst_allkeys {
        s.push_str(&format!(
            "Under `{}` the cache ended with {} inconsistencies ({} missed invalidations, {} \
             dangling references) — metadata was evicted like data. ",
            r.policy,
            format::count(r.inconsistencies),
            format::count(r.missed_invalidations),
            format::count(r.dangling_dep_refs_after_drain)
        ));
    }
    if let Some(r) = worst_volatile {
        s.push_str(&format!(
            "Under `{}` {} commands were refused with -OOM ({} puts lost their data): \
             the policy could not free memory by evicting keys it may evict (for the \
             volatile policies: metadata has no TTL, so it stays and fills memory).",
            r.policy,
            format::count(r.oom_refusals),
            format::count(r.puts_refused)
        ));
    }
    if !s.is_empty() {
        report.paragraph(s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_run_shows_the_documented_effects() {
        let args = HclArgs {
            entries: 2_000,
            deps: 200,
            ops: 20_000,
            invalidate_ratio: 0.05,
            memory_fractions: vec![0.1],
            ..HclArgs::quick(7)
        };
        let rows = measure(&args, &Ui::hidden()).unwrap();
        assert_eq!(rows.len(), 8, "one row per Redis policy");
        let get = |p: &str| rows.iter().find(|r| r.policy == p).unwrap();
        // allkeys-lru may evict dependency sets: some invalidations must be missed.
        assert!(
            get("allkeys-lru").inconsistencies > 0,
            "{:?}",
            get("allkeys-lru")
        );
        // noeviction never evicts.
        assert_eq!(get("noeviction").evicted_keys, 0);
        assert!(get("noeviction").oom_refusals > 0);
        // volatile-lru never evicts metadata (no TTL): no missed invalidation.
        assert_eq!(get("volatile-lru").missed_invalidations, 0);
        // ... and when metadata fills memory, volatile-lru refuses writes.
        assert!(
            get("volatile-lru").oom_refusals > 0,
            "{:?}",
            get("volatile-lru")
        );
        // Same seed, same rows.
        assert_eq!(rows, measure(&args, &Ui::hidden()).unwrap());
    }

    #[test]
    fn bad_fraction_is_named() {
        let args = HclArgs {
            memory_fractions: vec![1.5],
            ..HclArgs::quick(1)
        };
        let e = measure(&args, &Ui::hidden()).unwrap_err().to_string();
        assert!(e.contains("--memory-fractions") && e.contains("1.5"), "{e}");
    }
}

/// `experiment hcl` in the list of experiments.
#[derive(Debug)]
pub struct HclExperiment;

impl Experiment for HclExperiment {
    fn name(&self) -> &'static str {
        "hcl"
    }

    fn about(&self) -> &'static str {
        "The HCL Cache scenario (data hashes with TTLs, metadata without) under each policy."
    }

    fn args(&self) -> clap::Command {
        experiment::args::<HclArgs>(self.name(), self.about())
    }

    fn run(&self, m: &clap::ArgMatches, ui: &Ui) -> Result<Ran, RunError> {
        let (dir, rows) = run(&experiment::parse(m)?, ui)?;
        Ok(Ran::wrote(format!("{} runs", rows.len()), &dir, "hcl.csv"))
    }

    fn files(&self) -> &'static [CsvFile] {
        const FILES: &[CsvFile] = &[CsvFile::deterministic("hcl.csv", &["policy", "seed"])];
        FILES
    }

    fn report(&self, report: &mut Report, dir: &Path) -> Result<bool, RunError> {
        let Some(rows) = experiment::read_if_present::<HclRow>(dir, "hcl.csv")? else {
            return Ok(false);
        };
        add_section(report, &rows, &dir.join("plots"))?;
        Ok(true)
    }

    /// The quick preset: metadata under each Redis policy.
    fn suite(&self, s: &mut SuiteRun) -> Result<(), RunError> {
        let rows = measure(&HclArgs::quick(s.seed), s.ui)?;
        output::write_csv(&s.dir.join("hcl.csv"), &rows)
    }
}
