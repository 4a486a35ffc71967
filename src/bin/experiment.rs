//! `experiment`: the evictlab command line. Parses arguments and dispatches to
//! `evictlab_experiments::cmd`; all behaviour lives in the library crates.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use evictlab_experiments::cmd;
use evictlab_experiments::ui::Ui;

/// Counts live heap bytes (the engine's `used_memory` in allocator memory mode) and serves
/// the heap from glibc, jemalloc or mimalloc as `EVICTLAB_ALLOCATOR` says (read once).
#[global_allocator]
static GLOBAL: evictlab_experiments::alloc::LabAllocator =
    evictlab_experiments::alloc::LabAllocator;

/// A laboratory for what a Redis-style in-memory store does at its memory limit.
///
/// With no subcommand, runs the quick default suite and writes results/suite-<timestamp>/.
#[derive(Parser, Debug)]
#[command(name = "experiment", version, about, long_about = None, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    suite: cmd::suite::SuiteArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Hit ratio of eviction policies at cache sizes on a trace or a generated workload.
    Hitrate(cmd::hitrate::HitrateArgs),
    /// LRU miss-ratio curve: exact in one pass (stack distances) and SHARDS sampling.
    Mrc(cmd::mrc::MrcArgs),
    /// Run a declarative sweep (TOML), optionally one shard of it.
    Run(cmd::sweep::RunArgs),
    /// Merge the result directories of a sharded sweep into one.
    Merge(cmd::sweep::MergeArgs),
    /// Fork vs forkless snapshots under writes: copy-on-write measured, ground truth, model.
    Cow(cmd::cow::CowCmdArgs),
    /// From a workload and a RAM budget to maxmemory, policy, THP and overcommit advice.
    Tune(cmd::tune::TuneArgs),
    /// The HCL Cache scenario (data hashes with TTLs, metadata without) under each policy.
    Hcl(cmd::hcl::HclArgs),
    /// Write a generated workload as the lab's CSV or libCacheSim's oracleGeneral.
    Export(cmd::export::ExportArgs),
    /// List registered policies, workload generators, trace formats or config parameters.
    List {
        /// What to list.
        #[arg(value_enum)]
        what: cmd::list::ListWhat,
    },
    /// Re-render the plots and report.md of a results directory from its CSVs.
    Report(cmd::report::ReportArgs),
    /// Used memory vs RSS per allocator: fill, delete, refill, eviction churn, idle,
    /// active defragmentation; per-key overhead.
    Frag(cmd::frag::FragArgs),
    /// The default suite (same as running with no subcommand).
    Suite(cmd::suite::SuiteArgs),
    /// Replay the workload against a real Redis-protocol server (server.csv; --bgsave: cow.csv).
    Server(cmd::server::ServerArgs),
    /// The engine and a real server on the same workload, policy and size (compare.csv).
    Compare(cmd::compare::CompareArgs),
    /// Compare a results directory with a baseline; exits 1 on a regression.
    Regress(cmd::regress::RegressArgs),
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    let ui = Ui::terminal();
    match cli.command {
        None => suite(&cli.suite, &ui),
        Some(Command::Suite(args)) => suite(&args, &ui),
        Some(Command::Hitrate(args)) => {
            let (dir, rows) = cmd::hitrate::run(&args, &ui).context("hitrate")?;
            println!(
                "{} cells; wrote {}",
                rows.len(),
                dir.join("hitrate.csv").display()
            );
            println!("report: {}", dir.join("report.md").display());
            Ok(())
        }
        Some(Command::Mrc(args)) => {
            let (dir, rows) = cmd::mrc::run(&args, &ui).context("mrc")?;
            println!(
                "{} points; wrote {}",
                rows.len(),
                dir.join("mrc.csv").display()
            );
            println!("report: {}", dir.join("report.md").display());
            Ok(())
        }
        Some(Command::Run(args)) => {
            let out = cmd::sweep::run(&args, &ui)
                .with_context(|| format!("sweep {}", args.spec.display()))?;
            match out.dir {
                None => println!("{}: valid, {} cells", args.spec.display(), out.total_cells),
                Some(dir) => println!(
                    "ran {} of {} cells; wrote {}",
                    out.cells_run,
                    out.total_cells,
                    dir.display()
                ),
            }
            Ok(())
        }
        Some(Command::Merge(args)) => {
            let dir = cmd::sweep::merge(&args).context("merge")?;
            println!(
                "merged {} directories into {}",
                args.dirs.len(),
                dir.display()
            );
            Ok(())
        }
        Some(Command::Cow(args)) => {
            let s = cmd::cow::run(&args, &ui).context("cow")?;
            for l in s.log.iter().filter(|l| l.starts_with("WARNING")) {
                eprintln!("{l}");
            }
            let ms = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1}"));
            println!(
                "{} snapshots; fork ms/GiB THP off {}, THP on {}; wrote {}",
                s.rows.len(),
                ms(s.fork_ms_per_gb_thp_off),
                ms(s.fork_ms_per_gb_thp_on),
                s.csv.display()
            );
            if let Some(dir) = s.csv.parent() {
                println!("report: {}", dir.join("report.md").display());
            }
            Ok(())
        }
        Some(Command::Tune(args)) => {
            let (o, path) = cmd::tune::run(&args, &ui).context("tune")?;
            if let Some(m) = o.rec("maxmemory_bytes") {
                println!("maxmemory {}mb", (m / 1048576.0).floor());
            }
            println!("wrote {}", path.display());
            Ok(())
        }
        Some(Command::Hcl(args)) => {
            let (dir, rows) = cmd::hcl::run(&args, &ui).context("hcl")?;
            println!(
                "{} runs; wrote {}",
                rows.len(),
                dir.join("hcl.csv").display()
            );
            println!("report: {}", dir.join("report.md").display());
            Ok(())
        }
        Some(Command::Export(args)) => {
            let n = cmd::export::run(&args)
                .with_context(|| format!("export to {}", args.out.display()))?;
            println!("wrote {n} requests to {}", args.out.display());
            Ok(())
        }
        Some(Command::List { what }) => {
            print!("{}", cmd::list::render(what));
            Ok(())
        }
        Some(Command::Frag(args)) => {
            match cmd::frag::run(&args, &ui).context("frag")? {
                cmd::frag::FragOutcome::Worker => {}
                cmd::frag::FragOutcome::Ran { dir, summary } => {
                    for line in summary {
                        println!("{line}");
                    }
                    println!("wrote {}", dir.join("frag.csv").display());
                    println!("report: {}", dir.join("report.md").display());
                }
            }
            Ok(())
        }
        Some(Command::Server(args)) => {
            let (dir, out) = cmd::server::run(&args, &ui).context("server")?;
            println!(
                "{} cells, {} BGSAVE rows; wrote {}",
                out.rows.len(),
                out.cow.len(),
                dir.join("server.csv").display()
            );
            println!("report: {}", dir.join("report.md").display());
            Ok(())
        }
        Some(Command::Compare(args)) => {
            let (dir, rows) = cmd::compare::run(&args, &ui).context("compare")?;
            for r in &rows {
                println!(
                    "{:<16} samples {:<4} {:>6} match {:<5} engine {:.4} server {:.4} diff {:+.2} pp",
                    r.policy,
                    r.samples.map_or("-".to_string(), |s| s.to_string()),
                    r.capacity_fraction,
                    r.matching,
                    r.engine_hit_ratio,
                    r.server_hit_ratio,
                    r.diff_pp
                );
            }
            println!("wrote {}", dir.join("compare.csv").display());
            println!("report: {}", dir.join("report.md").display());
            Ok(())
        }
        Some(Command::Regress(args)) => {
            let out = cmd::regress::run(&args).context("regress")?;
            print!("{}", out.table());
            match out.regressions() {
                0 => {
                    println!("no regression");
                    Ok(())
                }
                n => anyhow::bail!("{n} regression(s) against {}", args.baseline.display()),
            }
        }
        Some(Command::Report(args)) => {
            let path = cmd::report::run(&args)
                .with_context(|| format!("report {}", args.dir.display()))?;
            println!("wrote {}", path.display());
            Ok(())
        }
    }
}

fn suite(args: &cmd::suite::SuiteArgs, ui: &Ui) -> Result<()> {
    let started = std::time::Instant::now();
    let out = cmd::suite::run(args, ui).context("default suite")?;
    for n in &out.notes {
        eprintln!("note: {n}");
    }
    println!(
        "suite finished in {:.1} s; wrote {}",
        started.elapsed().as_secs_f64(),
        out.dir.join("report.md").display()
    );
    Ok(())
}
