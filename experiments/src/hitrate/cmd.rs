//! `experiment hitrate`: hit ratios of policies at cache sizes on one workload.

use std::path::{Path, PathBuf};

use evictlab_engine::policy::registry::PolicyInfo;
use evictlab_reports::Report;
use serde::Serialize;

use crate::experiment::{self, CsvFile, Experiment, Ran, SuiteRun, SuiteWorkload};
use crate::grid::{EngineArgs, Grid, GridArgs};
use crate::sweep::WorkloadInput;
use crate::workload::Workload;

use crate::hitrate::report as hitrate_report;
use crate::hitrate::{DEFAULT_RATE, HitOptions, HitRow, SizeUnit, run_cells};
use crate::source::{WorkloadArgs, load, open, scan};
use crate::ui::Ui;
use crate::{RunError, output};

/// Whether cells read the workload from memory or stream it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamArg {
    /// Stream when there is one cell, or when the requests would take more than 4 GiB in
    /// memory; load otherwise (cells then share one decoded copy).
    Auto,
    /// Every cell reads the source again in batches: memory independent of its length.
    Always,
    /// Load every request into memory once.
    Never,
}

/// In-memory size above which `--stream auto` streams (bytes of decoded requests).
const AUTO_STREAM_BYTES: u64 = 4 << 30;

/// Arguments of `experiment hitrate`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct HitrateArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub workload: WorkloadArgs,
    #[command(flatten)]
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub grid: GridArgs,
    /// Virtual requests per second when the trace has no timestamps (Redis's LRU clock has
    /// 1 s resolution, so this changes its choices).
    #[arg(long, value_name = "OPS", default_value_t = DEFAULT_RATE)]
    pub rate: f64,
    #[command(flatten)]
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub engine: EngineArgs,
    /// Seed of the engines (and of the generator).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `--out DIR` and `--overwrite`.
    #[command(flatten)]
    #[serde(flatten)]
    pub out: crate::outdir::OutArgs,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Stream the workload (each cell re-reads it in batches; memory does not grow with its
    /// length) or load it once. Results are identical.
    #[arg(long, value_enum, default_value = "auto")]
    pub stream: StreamArg,
}

/// Runs the sweep and writes `hitrate.csv`, `metadata.json`, plots and `report.md`;
/// returns the directory and the rows.
pub fn run(args: &HitrateArgs, ui: &Ui) -> Result<(PathBuf, Vec<HitRow>), RunError> {
    // The server profile the config lines select decides what the policy names mean.
    let grid = args.grid.resolve_for(args.engine.server()?)?;
    // Reject bad config lines before spending CPU.
    let opts = args.engine.options(args.rate, grid.fill_on_miss)?;
    let dir = crate::cmd::out_dir(&args.out, "hitrate")?;
    let input = args.workload.to_input(args.seed)?;
    let cells = grid.cells(1, &[args.seed]);
    let needs_next = grid.policies.iter().any(|p| p.needs_next_access);
    let stream = match args.stream {
        StreamArg::Never => false,
        StreamArg::Always | StreamArg::Auto => {
            let info = open(&input)?.info().clone();
            // Next-access indices are computed, or checked (a file's are never trusted
            // blindly: issue 12), over the whole trace in memory.
            let can = !needs_next;
            if args.stream == StreamArg::Always && !can {
                return Err(RunError::BadArgument {
                    flag: "--stream",
                    value: "always".into(),
                    expected: "auto or never: a policy needs next-access indices, which are \
                               computed or checked over the whole workload in memory",
                });
            }
            let big = info.len_hint.is_some_and(|n| {
                n.saturating_mul(evictlab_workloads::packed::TYPICAL_MAX_BYTES_PER_REQUEST)
                    > AUTO_STREAM_BYTES
            });
            can && (args.stream == StreamArg::Always || cells.len() == 1 || big)
        }
    };
    let spin = ui.spinner("loading workload");
    let w = if stream {
        spin.set_message("measuring the working set (streamed)");
        scan(&input)?
    } else {
        let mut w = load(&input)?;
        if needs_next {
            spin.set_message("next-access pre-pass");
            w.ensure_next_access();
        }
        w
    };
    spin.finish_and_clear();
    let bar = ui.bar(cells.len() as u64, "cells");
    bar.set_message(format!("hitrate {}", w.info.name));
    let ws = [w];
    let rows = crate::cmd::with_threads(args.threads, || {
        run_cells(&ws, &cells, &opts, &|| bar.inc(1))
    })??;
    bar.finish_and_clear();
    output::write_csv(&dir.join("hitrate.csv"), &rows)?;
    crate::regress::write_timings(&dir, crate::regress::HITRATE_REFERENCE)?;
    output::write_metadata(
        &dir,
        "hitrate",
        args.seed,
        args,
        &crate::cmd::allocator_name(),
    )?;
    let mut report = evictlab_reports::Report::new("evictlab: hit rates");
    hitrate_report::add_section(&mut report, &rows, &dir.join("plots"))?;
    report.write(&dir).map_err(|e| RunError::Report {
        message: e.to_string(),
    })?;
    Ok((dir.commit()?, rows))
}

/// `experiment hitrate` in the list of experiments.
#[derive(Debug)]
pub struct HitrateExperiment;

/// The suite's real traces (file under `../shared/traces`, why).
const SUITE_TRACES: &[(&str, &str)] = &[
    (
        "caffeine/cache2k/web07.trace",
        "application cache (product pages)",
    ),
    (
        "libcachesim/cloudPhysicsIO.oracleGeneral.bin",
        "block I/O with sizes (byte capacity)",
    ),
];

impl Experiment for HitrateExperiment {
    fn name(&self) -> &'static str {
        "hitrate"
    }

    fn about(&self) -> &'static str {
        "Hit ratio of eviction policies at cache sizes on a trace or a generated workload."
    }

    fn args(&self) -> clap::Command {
        experiment::args::<HitrateArgs>(self.name(), self.about())
    }

    fn run(&self, m: &clap::ArgMatches, ui: &Ui) -> Result<Ran, RunError> {
        let (dir, rows) = run(&experiment::parse(m)?, ui)?;
        Ok(Ran::wrote(
            format!("{} cells", rows.len()),
            &dir,
            "hitrate.csv",
        ))
    }

    fn files(&self) -> &'static [CsvFile] {
        const FILES: &[CsvFile] = &[CsvFile::deterministic(
            "hitrate.csv",
            &[
                "cell",
                "workload",
                "policy",
                "samples",
                "capacity",
                "capacity_unit",
                "capacity_fraction",
                "seed",
                "config",
            ],
        )];
        FILES
    }

    fn report(&self, report: &mut Report, dir: &Path) -> Result<bool, RunError> {
        let Some(rows) = experiment::read_if_present::<HitRow>(dir, "hitrate.csv")? else {
            return Ok(false);
        };
        hitrate_report::add_section(report, &rows, &dir.join("plots"))?;
        Ok(true)
    }

    /// A Zipfian workload, the same with half the keys volatile (where the volatile-*
    /// policies have something to evict), and real traces unless `--quick`.
    fn suite(&self, s: &mut SuiteRun) -> Result<(), RunError> {
        let zipf = |text: &str| -> Result<WorkloadInput, RunError> {
            Ok(WorkloadInput::Synthetic {
                spec: text.parse().map_err(|e| RunError::Workload {
                    name: text.into(),
                    source: e,
                })?,
                keys: if s.quick { 10_000 } else { 100_000 },
                requests: if s.quick { 200_000 } else { 1_000_000 },
                seed: s.seed,
            })
        };
        // The default server's policies (EchoVault's run under `lab-server echovault`).
        let registry = || evictlab_engine::Server::Redis.policies();
        let no_volatile: Vec<_> = registry().filter(|p| !p.volatile_only).collect();
        let ttl_policies: Vec<_> = registry()
            .filter(|p| {
                p.volatile_only || ["allkeys-lru", "allkeys-lfu", "lru", "belady"].contains(&p.name)
            })
            .collect();
        let mut plan: Vec<(WorkloadInput, bool, Vec<&'static PolicyInfo>)> = vec![
            (zipf("zipf:0.99")?, false, no_volatile.clone()),
            (
                zipf("zipf:0.99,ttl=0.5:uniform:1000:30000")?,
                true,
                ttl_policies,
            ),
        ];
        match evictlab_workloads::trace::shared_traces_dir().filter(|_| !s.quick) {
            Some(root) => {
                for (rel, _) in SUITE_TRACES {
                    let path = root.join(rel);
                    let format =
                        evictlab_workloads::detect(&path).map_err(|e| RunError::Workload {
                            name: rel.to_string(),
                            source: e,
                        })?;
                    plan.push((
                        WorkloadInput::Trace {
                            path,
                            format,
                            columns: None,
                            limit: None,
                        },
                        false,
                        no_volatile.clone(),
                    ));
                }
            }
            None if s.quick => {}
            None => s
                .notes
                .push("../shared/traces not found: the suite ran synthetic workloads only".into()),
        }
        let spin = s.ui.spinner("loading workloads");
        let mut workloads = Vec::new();
        let mut cells = Vec::new();
        for (i, (input, _, policies)) in plan.iter().enumerate() {
            let mut w = load(input)?;
            w.ensure_next_access();
            workloads.push(w);
            let grid = Grid {
                policies: policies.clone(),
                samples: vec![1, 5, 10],
                sizes: vec![0.01, 0.05, 0.1, 0.2],
                size_unit: SizeUnit::Fraction,
                fill_on_miss: true,
            };
            for mut c in grid.cells(1, &[s.seed]) {
                c.workload = i;
                cells.push(c);
            }
        }
        spin.finish_and_clear();
        let bar = s.ui.bar(cells.len() as u64, "cells");
        bar.set_message("hit rates");
        let opts = HitOptions::default();
        let ws: Vec<Workload> = workloads;
        let rows: Vec<HitRow> =
            crate::cmd::with_threads(s.threads, || run_cells(&ws, &cells, &opts, &|| bar.inc(1)))??;
        bar.finish_and_clear();
        output::write_csv(&s.dir.join("hitrate.csv"), &rows)?;
        s.workloads = ws
            .into_iter()
            .zip(plan.iter().map(|p| p.1))
            .map(|(workload, has_ttls)| SuiteWorkload { workload, has_ttls })
            .collect();
        Ok(())
    }
}
