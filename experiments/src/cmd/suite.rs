//! The default suite (`experiment` with no arguments): a quick tour of every experiment,
//! sized to finish in about a minute of a release build on 2 cores, written to
//! `results/suite-<timestamp>/` with one `report.md`.

use std::path::PathBuf;

use serde::Serialize;

use crate::hitrate::{HitOptions, HitRow, SizeUnit, grid, run_cells};
use crate::mrc::{self, Method};
use crate::source::load;
use crate::sweep::WorkloadInput;
use crate::ui::Ui;
use crate::{RunError, output};

/// Arguments of the default suite.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct SuiteArgs {
    /// Seed of every engine and generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory (default: results/suite-<timestamp>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// A smaller deterministic suite (synthetic workloads of 10 000 keys and 200 000
    /// requests, no traces): what `tests/baselines/quick-suite` holds for `experiment regress`.
    #[arg(long)]
    pub quick: bool,
}

/// Real traces the suite replays when `../shared/traces` is present (file, why).
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

/// What the suite wrote.
#[derive(Debug)]
pub struct SuiteOutcome {
    /// The results directory.
    pub dir: PathBuf,
    /// Notes for the user (e.g. skipped parts).
    pub notes: Vec<String>,
}

/// Runs the suite.
pub fn run(args: &SuiteArgs, ui: &Ui) -> Result<SuiteOutcome, RunError> {
    let dir = super::out_dir(&args.out, "suite")?;
    let mut notes = Vec::new();
    // 1. Hit rates: a Zipfian workload, the same with half the keys volatile (where the
    //    volatile-* policies have something to evict), and real traces.
    let zipf = |text: &str| -> Result<WorkloadInput, RunError> {
        Ok(WorkloadInput::Synthetic {
            spec: text.parse().map_err(|e| RunError::Workload {
                name: text.into(),
                source: e,
            })?,
            keys: if args.quick { 10_000 } else { 100_000 },
            requests: if args.quick { 200_000 } else { 1_000_000 },
            seed: args.seed,
        })
    };
    let registry = &evictlab_engine::policy::registry::POLICIES;
    let no_volatile: Vec<_> = registry.iter().filter(|p| !p.volatile_only).collect();
    let ttl_policies: Vec<_> = registry
        .iter()
        .filter(|p| {
            p.volatile_only || ["allkeys-lru", "allkeys-lfu", "lru", "belady"].contains(&p.name)
        })
        .collect();
    let mut plan: Vec<(
        WorkloadInput,
        Vec<&'static evictlab_engine::policy::registry::PolicyInfo>,
    )> = vec![
        (zipf("zipf:0.99")?, no_volatile.clone()),
        (zipf("zipf:0.99,ttl=0.5:uniform:1000:30000")?, ttl_policies),
    ];
    match evictlab_workloads::trace::shared_traces_dir().filter(|_| !args.quick) {
        Some(root) => {
            for (rel, _) in SUITE_TRACES {
                let path = root.join(rel);
                let format = evictlab_workloads::detect(&path).map_err(|e| RunError::Workload {
                    name: rel.to_string(),
                    source: e,
                })?;
                plan.push((
                    WorkloadInput::Trace {
                        path,
                        format,
                        limit: None,
                    },
                    no_volatile.clone(),
                ));
            }
        }
        None if args.quick => {}
        None => {
            notes.push("../shared/traces not found: the suite ran synthetic workloads only".into())
        }
    }
    let spin = ui.spinner("loading workloads");
    let mut workloads = Vec::new();
    let mut cells = Vec::new();
    for (i, (input, policies)) in plan.iter().enumerate() {
        let mut w = load(input)?;
        w.ensure_next_access();
        workloads.push(w);
        for mut c in grid(
            1,
            policies,
            &[1, 5, 10],
            &[0.01, 0.05, 0.1, 0.2],
            SizeUnit::Fraction,
            &[args.seed],
        ) {
            c.workload = i;
            cells.push(c);
        }
    }
    spin.finish_and_clear();
    let bar = ui.bar(cells.len() as u64, "cells");
    bar.set_message("hit rates");
    let opts = HitOptions::default();
    let rows: Vec<HitRow> = super::with_threads(args.threads, || {
        run_cells(&workloads, &cells, &opts, &|| bar.inc(1))
    })??;
    bar.finish_and_clear();
    output::write_csv(&dir.join("hitrate.csv"), &rows)?;
    // 2. Miss-ratio curves: exact LRU against SHARDS on the Zipfian workload and the real
    //    traces (well under 3 s in a release build).
    let mrc_methods = [
        Method::Exact,
        Method::ShardsRate {
            rate: mrc::DEFAULT_RATE,
            adjust: true,
        },
        Method::ShardsSize {
            s_max: mrc::DEFAULT_SHARDS_SIZE,
            adjust: true,
        },
    ];
    let mrc_workloads: Vec<&crate::workload::Workload> = workloads
        .iter()
        .enumerate()
        .filter(|&(i, _)| i == 0 || i >= 2)
        .map(|(_, w)| w)
        .collect();
    let bar = ui.bar((mrc_workloads.len() * mrc_methods.len()) as u64, "curves");
    bar.set_message("miss-ratio curves");
    let mut mrc_rows = Vec::new();
    for w in mrc_workloads {
        let curves = super::mrc::curves(
            w,
            &mrc_methods,
            100,
            mrc::GridKind::Linear,
            args.seed,
            &|| bar.inc(1),
        )?;
        mrc_rows.extend(mrc::rows(w, &curves));
    }
    bar.finish_and_clear();
    mrc::write_csv(&dir.join("mrc.csv"), &mrc_rows)?;
    // 3. The HCL Cache scenario: metadata under each Redis policy.
    let hcl_rows = super::hcl::measure(&super::hcl::HclArgs::quick(args.seed), ui)?;
    output::write_csv(&dir.join("hcl.csv"), &hcl_rows)?;
    // 4. Memory realism: the quick frag preset, one worker process per allocator (this
    //    binary re-executed), into the same directory.
    if args.quick {
        notes.push(
            "--quick: memory realism (frag) skipped (it measures RSS: not deterministic)".into(),
        );
    } else if crate::frag::can_spawn_workers() {
        let cfg = crate::frag::FragConfig::quick(args.seed);
        let results = super::frag::run_into(&dir, &crate::alloc::Allocator::ALL, &cfg, ui)?;
        notes.extend(results.iter().map(super::frag::summary_line));
    } else {
        notes.push(
            "memory realism (frag) skipped: it re-executes the experiment binary per \
             allocator, and this process is not that binary"
                .into(),
        );
    }
    // 5. Snapshots: the quick COW preset, shrunk to a few seconds. Its cells fork worker
    //    processes from this thread, so the workloads are dropped first (the workers would
    //    inherit them) and the rayon work above has finished.
    drop(workloads);
    if args.quick {
        notes.push(
            "--quick: snapshots (cow) skipped (fork latency and COW are measurements of real \
             processes: not deterministic)"
                .into(),
        );
    } else {
        let mut cow = crate::cow::quick_args(&dir);
        cow.dataset = 16 << 20;
        cow.write_rates = vec![0, 50_000];
        cow.seed = args.seed;
        super::cow::run_cells(&cow, ui)?;
    }
    // The reference loop's speed, so `experiment regress` can judge requests_per_sec.
    crate::regress::write_timings(&dir)?;
    output::write_metadata(&dir, "suite", args.seed, args, &super::allocator_name())?;
    super::report::render(&dir, "evictlab: default suite")?;
    Ok(SuiteOutcome { dir, notes })
}
